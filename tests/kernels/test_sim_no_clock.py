"""``run_exec``/``run_sim`` with ``end_ns = NO_CLOCK`` (one part of a replay cut in time) take no
end-of-run clock step: a working entry stays working; the real end's clock step then settles it."""
from __future__ import annotations

import numpy as np

from liqcore._jit import sim
from liqcore.config import Params
from liqcore.execution.replay import at_end, new_replay
from liqcore.types import EVENT_DTYPE, Kind, SymbolRegistry

T0 = 1_700_000_000_000_000_000
S = 1_000_000_000


def _prints():
    ev = np.zeros(100, dtype=EVENT_DTYPE)
    ev["ts_event"] = T0 + np.arange(100) * (S // 10)
    ev["ts_recv"] = ev["ts_event"]
    ev["price"], ev["qty"], ev["side"], ev["kind"] = 100.0, 1.0, 1, int(Kind.TRADE)
    return ev


def _run(end_ns):
    p = Params.from_mapping({"offset": "1%", "entry-timeout": "60s"})
    par, st, port, ledger, counts = new_replay(p, SymbolRegistry([("bybit", "XUSDT")]), 1, 1.0, 4)
    one = np.ones(1, np.int64)
    sim.run_sim(_prints(), one * (T0 + S), one * 10, one * 0, one * 1, one * 7, st, port, par, ledger, counts, end_ns)
    return st, port, par, ledger, counts


def test_no_clock_leaves_the_working_entry_and_the_real_end_settles_it():
    st, port, par, ledger, counts = _run(sim.NO_CLOCK)
    assert at_end(st)[1].sum() == 1 and counts[0, sim.C_UNFILLED] == 0  # resting: nothing settled
    assert int(port[0]["day"]) > 0  # no clock step to a time of its own (the loss-limit day stays put)
    # the next part (no prints) with the real end: the entry times out there, as in one whole run
    z = np.zeros(0, np.int64)
    sim.run_sim(np.zeros(0, dtype=EVENT_DTYPE), z, z, z, z, z, st, port, par, ledger, counts, T0 + 3600 * S)
    whole = _run(T0 + 3600 * S)
    assert at_end(st)[1].sum() == 0 and counts[0, sim.C_UNFILLED] == 1
    assert np.array_equal(counts, whole[4]) and st.tobytes() == whole[0].tobytes()
