"""Property tests of the order latency's way back (``inbound_ns``) and the engine's exits
(``engine_exits``) in the execution model: the Numba kernel against the pysrc twin, and what the way back
may and may not change.

* The bot learns of an entry fill ``inbound_ns`` after it: a timed exit (hold timeout, max hold, signal
  exit, replacement) closes no earlier than that.
* Venue-held exits (``engine_exits`` 0: the take-profit / stop-loss attached to the order) are not delayed
  by the bot: without timed exits, any way back gives the same trades as none.
* The engine's exits (``engine_exits`` 1) act only from the fill + inbound + the exit order's way out.
* An entry rejected or cancelled is heard of ``inbound_ns`` later: a signal before then finds it busy.
* ``inbound_ns`` 0 and ``engine_exits`` 0 are the fields' zero values, which every other kernel test runs
  with: those tests pin that the model without a way back is unchanged."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from pysrc import execmodel as twin
from simdata import MS, S, random_market

from liqcore.codes import MAX_HOLD, REPLACED, SIGNAL_EXIT, TIMEOUT
from liqcore.strategies import NEVER

from tests.kernels.test_execmodel_property import (_rows, _same, kernel, kernel_equals_twin, params_st, port_st,
                                                   random_signals)

pytestmark = pytest.mark.property

TIMED = (TIMEOUT, MAX_HOLD, SIGNAL_EXIT, REPLACED)
inbound_st = hs.sampled_from([0, 1 * MS, 50 * MS, 2 * S, 30 * S, 600 * S])


def _with(p, n, inbound, engine):
    rows = _rows(p, n)
    for r in rows:
        r["inbound_ns"] = inbound
        r["engine_exits"] = engine
    return rows


@settings(deadline=None, max_examples=150)
@given(seed=hs.integers(0, 2**32 - 1), p=params_st, port=port_st, n_sym=hs.integers(1, 3),
       n_sig=hs.integers(0, 60), inbound=inbound_st, engine=hs.sampled_from([0, 1]))
def test_kernel_matches_twin_with_a_way_back(seed, p, port, n_sym, n_sig, inbound, engine):
    ev, _ = random_market(seed, n_events=400, n_symbols=n_sym)
    sig = random_signals(seed + 1, ev, n_sym, n_sig)
    kernel_equals_twin(ev, sig, _with(p, n_sym, inbound, engine), port, n_sym,
                       ("status", "seen_ns", "free_ns", "hold_deadline_ns", "exit_due_ns", "peak", "entry_price"))


@settings(deadline=None, max_examples=150)
@given(seed=hs.integers(0, 2**32 - 1), p=params_st, port=port_st, n_sym=hs.integers(1, 3),
       n_sig=hs.integers(0, 60), inbound=inbound_st, engine=hs.sampled_from([0, 1]))
def test_no_exit_before_the_bot_can_act(seed, p, port, n_sym, n_sig, inbound, engine):
    ev, _ = random_market(seed, n_events=400, n_symbols=n_sym)
    sig = random_signals(seed + 1, ev, n_sym, n_sig)
    rows = _with(p, n_sym, inbound, engine)
    ledger, *_ = kernel(ev, sig, rows, **port)
    for t in ledger:
        sid = int(t["symbol_id"])
        seen = int(t["entry_ns"]) + inbound
        if int(t["exit_reason"]) in TIMED:
            assert int(t["exit_ns"]) >= seen, t
        elif engine:  # the engine's take-profit / stop: its exit order left once the fill was seen
            assert int(t["exit_ns"]) >= seen + int(rows[sid]["order_latency_ns"]), t


@settings(deadline=None, max_examples=150)
@given(seed=hs.integers(0, 2**32 - 1), p=params_st, port=port_st, n_sym=hs.integers(1, 3),
       n_sig=hs.integers(0, 60), inbound=inbound_st)
def test_venue_exits_are_not_delayed_by_the_way_back(seed, p, port, n_sym, n_sig, inbound):
    """No timed exit (no hold timeout, max hold, signal exit or replacement): a position opened at the same
    time with and without a way back closes at the same time, at the same price, for the same reason when
    the venue holds the exits (which positions open may differ: a signal the bot makes before it has heard
    that its last entry ended is busy)."""
    ev, _ = random_market(seed, n_events=400, n_symbols=n_sym)
    sig = random_signals(seed + 1, ev, n_sym, n_sig)
    sig["max_hold_ns"] = 0  # 0: none
    sig["exit_ns"] = NEVER
    p = {**p, "hold_timeout_ns": 0}
    port = {**port, "replace": False, "replace_same": False}
    a = kernel(ev, sig, _with(p, n_sym, 0, 0), **port)[0]
    b = kernel(ev, sig, _with(p, n_sym, inbound, 0), **port)[0]
    back = {(int(t["symbol_id"]), int(t["cascade_id"]), int(t["entry_ns"])): t for t in b}
    for t in a:
        u = back.get((int(t["symbol_id"]), int(t["cascade_id"]), int(t["entry_ns"])))
        if u is not None:
            assert (int(u["exit_ns"]), int(u["exit_reason"])) == (int(t["exit_ns"]), int(t["exit_reason"]))
            assert _same(u["exit_price"], t["exit_price"])


@pytest.mark.parametrize("how", ["rejected", "cancelled"])
@pytest.mark.parametrize("model", ["kernel", "twin"])
def test_a_signal_before_the_bot_hears_its_entry_ended_is_busy(how, model):
    """A buy limit at the last print is refused as post-only at its arrival (or, with an offset, rests and
    is cancelled at its 1 s entry timeout); a second signal 20 ms after that: placed with no way back,
    busy under a 50 ms way back, placed again under one of 10 ms."""
    from liqcore.strategies import empty_signals, sort_signals
    from liqcore.types import EVENT_DTYPE, Kind

    t0 = 1_700_000_000 * S
    ev = np.zeros(3, EVENT_DTYPE)
    ev["kind"] = Kind.TRADE
    ev["ts_recv"] = ev["ts_event"] = [t0, t0 + 10 * S, t0 + 20 * S]
    ev["price"] = 100.0
    ev["qty"] = 1.0
    end = 50 * MS if how == "rejected" else 1 * S  # arrival (rejection) / entry deadline (from the decision)
    sig = empty_signals(2)
    sig["ts_ns"] = [t0, t0 + end + 20 * MS]
    sig["ev_idx"] = [0, 0]
    sig["direction"] = 1
    sig["offset"] = 0.0 if how == "rejected" else 0.01
    sig["entry_timeout_ns"] = -1
    sig["tag"] = [1, 2]
    sig = sort_signals(sig)
    for inbound, busy in ((0, 0), (50 * MS, 1), (10 * MS, 0)):
        rows = [dict(r, inbound_ns=inbound, engine_exits=0)
                for r in _rows({**_BASE, "entry_timeout_ns": 1 * S}, 1)]
        if model == "kernel":
            from liqcore._jit import sim

            counts = kernel(ev, sig, rows)[1]
            got = {n: int(counts[0][i]) for i, n in enumerate(sim.COUNT_NAMES)}
        else:
            got = twin.simulate(ev, sig, rows, equity=1.0, end_ns=int(ev["ts_recv"][-1])).counts[0]
        assert got["busy"] == busy and got["orders"] == 2 - busy, (inbound, got)
        assert got["rejected" if how == "rejected" else "unfilled"] >= 1


_BASE = {"offset": 0.0, "take_profit": 0.0015, "stop_loss": 0.0025, "entry_timeout_ns": 1 * S,
         "hold_timeout_ns": 900 * S, "cooldown_ns": 0, "max_ref_age_ns": 600 * S, "order_latency_ns": 50 * MS,
         "touch": 0, "maker_fee": 2e-4, "taker_fee": 5.5e-4, "slippage": 0.0, "trail": 0.0, "daily_trades": 0,
         "hours": (-1, -1)}
