"""Property tests of the order latency's way back (``inbound_ns``) and the engine's exits
(``engine_exits``) in the execution model: the Numba kernel against the pysrc twin, and what the way back
may and may not change.

* The bot learns of an entry fill ``inbound_ns`` after it: a timed exit (hold timeout, max hold, signal
  exit, replacement) closes no earlier than that.
* Venue-held exits (``engine_exits`` 0: the take-profit / stop-loss attached to the order) are not delayed
  by the bot: without timed exits, any way back gives the same trades as none.
* The engine's exits (``engine_exits`` 1) act only from the fill + inbound + the exit order's way out.
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

from tests.kernels.test_execmodel_property import _rows, _same, kernel, params_st, port_st, random_signals

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
    rows = _with(p, n_sym, inbound, engine)
    ledger, counts, pt, st, _ = kernel(ev, sig, rows, **port)
    ref = twin.simulate(ev, sig, rows, equity=1.0, end_ns=int(ev["ts_recv"][-1]), **port)
    assert len(ledger) == len(ref.ledger)
    for got, want in zip(ledger, ref.ledger):
        for name, value in want.items():
            assert _same(got[name], value), (name, got[name], value)
    for sid in range(n_sym):
        assert dict(zip(twin.COUNT_NAMES, counts[sid].tolist())) == ref.counts[sid]
        for f in ("status", "seen_ns", "hold_deadline_ns", "exit_due_ns", "peak", "entry_price"):
            assert _same(st[sid][f], getattr(ref.states[sid], f)), (sid, f)
    assert pt[0]["equity"] == ref.equity


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
    """No timed exit (no hold timeout, max hold, signal exit or replacement): the way back changes nothing
    when the venue holds the exits."""
    ev, _ = random_market(seed, n_events=400, n_symbols=n_sym)
    sig = random_signals(seed + 1, ev, n_sym, n_sig)
    sig["max_hold_ns"] = 0  # 0: none
    sig["exit_ns"] = NEVER
    p = {**p, "hold_timeout_ns": 0}
    port = {**port, "replace": False, "replace_same": False}
    a = kernel(ev, sig, _with(p, n_sym, 0, 0), **port)
    b = kernel(ev, sig, _with(p, n_sym, inbound, 0), **port)
    assert a[0].tobytes() == b[0].tobytes() and np.array_equal(a[1], b[1])


@settings(deadline=None, max_examples=100)
@given(seed=hs.integers(0, 2**32 - 1), p=params_st, port=port_st, n_sym=hs.integers(1, 3),
       n_sig=hs.integers(0, 60))
def test_a_way_back_of_one_nanosecond_moves_no_timed_exit_past_the_next_print(seed, p, port, n_sym, n_sig):
    """Monotone in the way back: a timed exit under a way back of 0 and of 1 ns happens on the same print,
    unless the fill and the exit were on the same nanosecond."""
    ev, _ = random_market(seed, n_events=400, n_symbols=n_sym)
    sig = random_signals(seed + 1, ev, n_sym, n_sig)
    a = kernel(ev, sig, _with(p, n_sym, 0, 0), **port)[0]
    b = kernel(ev, sig, _with(p, n_sym, 1, 0), **port)[0]
    if not ((a["exit_ns"] == a["entry_ns"]).any() or (b["exit_ns"] == b["entry_ns"]).any()):
        assert a.tobytes() == b.tobytes()
