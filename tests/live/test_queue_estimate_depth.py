"""The live queue-position estimate with the L2 depth (``--book depth``) is the backtest kernel's queue at depth:
on random L2 markets (snapshot runs, levels resized, cancelled and refilled behind the best, gaps, prints at and
through levels, with and without top-of-book rows), fed event by event, its size ahead, the displayed size at the
entry's level and the traded size equal the kernel's after every event, and it calls the fill on the event the
kernel fills the entry."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from kernels.test_queue_depth_property import TICK, depth_market, signals_behind
from simdata import MS, S, param_array, param_rows

from liqcore.live.queue_estimate import QueueEstimate
from liqcore.strategies import NEVER, sort_signals
from liqcore.types import Kind

pytestmark = pytest.mark.property


def _kernel(ev, sig, rows, end_ns=None):
    from liqcore._jit import sim

    n = len(rows)
    st = sim.new_state(n)
    port = sim.new_port(1.0, 0.0, 0.0, n, 0.1)
    ledger = np.zeros(len(sig) + 1, dtype=sim.LEDGER_DTYPE)
    counts = np.zeros((n, sim.N_COUNTS), dtype=np.int64)
    end = int(ev["ts_recv"][-1]) if end_ns is None else int(end_ns)
    sig = sig[sig["ev_idx"] < len(ev)] if len(ev) else sig[:0]
    sim.run_exec(ev, sig, st, port, param_array(rows), ledger, counts, end, *sim.new_depth(n))
    return counts, st


def _one_per_symbol(seed, ev, n_sym):
    """One post-only limit per symbol, 0-20 ticks behind, no exit: each one's fate is the queue's alone."""
    sig = signals_behind(seed, ev, n_sym, 4 * n_sym)
    _, first = np.unique(sig["symbol_id"], return_index=True)
    sig = sig[np.sort(first)].copy()
    sig["take_profit"] = 0.0
    sig["stop_loss"] = 0.0
    sig["entry_timeout_ns"] = -1
    sig["exit_ns"] = NEVER
    return sort_signals(sig)


def _compare(ev, sig, n_sym, latency, model, unseen) -> int:
    from liqcore._jit import sim

    grid = 1.0 / TICK
    rows = param_rows(n_sym, order_latency_ns=latency, entry_timeout_ns=10**15, hold_timeout_ns=0,
                      max_ref_age_ns=10**15, queue=1, queue_pow=model, grid=grid, queue_unseen=unseen)
    qe = QueueEstimate(n_sym, ticks=[TICK] * n_sym, queue_model="risk-averse" if model == 0 else f"prob:{model:g}",
                       unseen="empty" if unseen else "seen", timeout_ns=10**15)
    qe.use_depth()
    arrive = {int(g["symbol_id"]): (int(g["ts_ns"]) + latency, g) for g in sig}
    rested, done, checked = set(), set(), 0
    for k in range(len(ev)):
        e = ev[k]
        t = int(e["ts_recv"])
        pending = [s for s, (ta, g) in arrive.items() if s not in rested and ta <= t and k > int(g["ev_idx"])]
        if pending:  # the kernel settles an arrival due by t before this event: its state then
            counts, st_at = _kernel(ev[:k], sig, rows, end_ns=t)
            for sid in pending:
                ta, g = arrive[sid]
                if st_at[sid]["status"] == sim.RESTING:
                    qe.on_order_rested(sid, ta, f"c{sid}", "buy" if g["direction"] > 0 else "sell",
                                       float(st_at[sid]["limit_price"]), decision_ns=int(g["ts_ns"]))
                else:  # refused by the post-only check: it never rests
                    done.add(sid)
                rested.add(sid)
        sid = int(e["symbol_id"])
        filled = False
        if e["kind"] == Kind.QUOTE:
            qe.on_quote(sid, t, int(e["side"]), float(e["price"]), float(e["qty"]))
        elif e["kind"] == Kind.DEPTH:
            qe.on_depth(sid, t, int(e["side"]), float(e["price"]), float(e["qty"]), int(e["flags"]))
        elif e["kind"] == Kind.TRADE:
            filled = qe.on_trade(sid, t, float(e["price"]), float(e["qty"]), int(e["side"]))
        _, st = _kernel(ev[: k + 1], sig, rows)
        for s in rested - done:
            est = qe.estimate(s, t)
            kern = st[s]
            if kern["status"] == sim.OPEN:  # the kernel filled it on this event: so does the estimate
                assert est is not None and est["model_filled"] and filled and s == sid, (k, s, est)
                done.add(s)
                continue
            assert kern["status"] == sim.RESTING and not est["model_filled"], (k, s)
            if int(kern["d_pend"]):
                continue  # a snapshot run in progress: the kernel moves the queue at the symbol's next row
            ahead = float(kern["q_ahead"])
            assert (est["ahead"] is None) == (ahead == math.inf), (k, s, est, ahead)
            if est["ahead"] is not None:
                assert est["ahead"] == max(ahead, 0.0), (k, s, est, ahead)
            assert est["level"] == float(kern["q_level"]), (k, s)
            assert float(qe.st[s]["q_traded"]) == float(kern["q_traded"]), (k, s)
            checked += 1
    return checked


@settings(deadline=None, max_examples=12)
@given(seed=hs.integers(0, 2**32 - 1), n_sym=hs.integers(1, 2), latency=hs.sampled_from([0, 20 * MS, 1 * S]),
       model=hs.sampled_from([0.0, 2.0]), unseen=hs.sampled_from([0, 1]), quotes=hs.booleans(), gaps=hs.booleans())
def test_the_estimate_at_depth_is_the_kernels_queue_state_event_by_event(seed, n_sym, latency, model, unseen, quotes,
                                                                         gaps):
    ev = depth_market(seed, 50, n_sym, quotes=quotes, gaps=gaps)
    _compare(ev, _one_per_symbol(seed + 1, ev, n_sym), n_sym, latency, model, unseen)


def test_scripted_depth_markets_are_compared_at_every_event():
    n = 0
    for seed in range(25):
        ev = depth_market(seed, 50, 1, quotes=seed % 2 == 0, gaps=seed % 3 == 0)
        n += _compare(ev, _one_per_symbol(seed + 1, ev, 1), 1, 0, 2.0, 0)
    assert n > 150  # event-by-event comparisons made


def test_a_level_refilled_behind_keeps_the_entrys_place():
    """The entry joins behind the 5 shown at its level (3 ticks behind the best); the level is cancelled down to
    1 (risk-averse: 1 ahead) and refilled to 9 (behind it); prints of 1.5 at its price fill it."""
    from liqcore.types import Flag, Side

    qe = QueueEstimate(1, ticks=[0.1], queue_model="risk-averse", timeout_ns=10**15)
    qe.use_depth()
    snap = int(Flag.SNAPSHOT)
    for px, q in ((100.0, 2.0), (99.9, 1.0), (99.8, 3.0), (99.7, 5.0)):
        qe.on_depth(0, 1, int(Side.BUY), px, q, snap)
    qe.on_depth(0, 1, int(Side.SELL), 100.1, 4.0, snap)
    qe.on_quote(0, 2, int(Side.BUY), 100.0, 2.0)  # the run ends; the top of book no longer moves the queue
    est = qe.on_order_rested(0, 3, "c0", "buy", 99.7)
    assert est["ahead"] == 5.0 and est["level"] == 5.0
    qe.on_depth(0, 4, int(Side.BUY), 99.7, 1.0, 0)
    assert qe.estimate(0, 4)["ahead"] == 1.0
    qe.on_depth(0, 5, int(Side.BUY), 99.7, 9.0, 0)
    qe.on_quote(0, 6, int(Side.BUY), 99.7, 0.1)  # a top-of-book row at its price says nothing with depth
    assert qe.estimate(0, 6)["ahead"] == 1.0
    assert not qe.on_trade(0, 7, 99.7, 1.0, int(Side.SELL))  # exactly the queue ahead: a tie, not a fill
    assert qe.on_trade(0, 8, 99.7, 0.5, int(Side.SELL))
    assert qe.on_end(0, 9, "filled")["book"] == "depth"
