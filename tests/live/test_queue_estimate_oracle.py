"""The live queue-position estimate (liqcore.live.queue_estimate) against an independent oracle: the pysrc twin
of the fill model (``pysrc/execmodel.py`` and ``pysrc/depthbook.py``, the queue rule written again in plain
Python from docs/explanation/fill-model.md, "The queue rule", sharing no code with the kernel the estimate calls).  The
other tests of the estimate compare it with the kernel, which moves the queue with the very functions the
estimate calls (``_q_join``, ``_q_move``, ``_q_hit``, ``_d_row``): a mistake in one of those would pass them.
Here, fed event by event on the same top-of-book and L2 streams, the estimate's size ahead, displayed size at
its price and traded size equal the oracle's after every event, and it calls the fill on the event where the
oracle fills the entry."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from kernels.test_queue_depth_property import TICK as DEPTH_TICK
from kernels.test_queue_depth_property import depth_market
from kernels.test_queue_fills import book_market, one_order_per_symbol
from live.test_queue_estimate_depth import _one_per_symbol
from pysrc import execmodel as twin
from simdata import MS, S, param_rows

from liqcore.live.queue_estimate import QueueEstimate
from liqcore.types import Kind

pytestmark = pytest.mark.core


def _oracle(ev, sig, rows, end_ns, depth):
    """The twin replayed over ``ev`` with the signals decided by then, the clock at ``end_ns`` (arrivals due by
    then settled, as the kernel's end of input does) -> its Model."""
    sig = sig[sig["ev_idx"] < len(ev)] if len(ev) else sig[:0]
    return twin.simulate(ev, sig, rows, equity=1.0, daily_loss=0.0, weekly_loss=0.0, max_symbols=len(rows),
                         size=0.1, end_ns=int(end_ns), depth=depth)


def compare_with_oracle(ev, sig, n_sym, latency, model, grid, unseen, depth=False):
    """Feed the stream to the estimate and, prefix by prefix, to the oracle -> the event-by-event comparisons
    made (a symbol's entry compared from its rest to its fill)."""
    rows = param_rows(n_sym, order_latency_ns=latency, entry_timeout_ns=10**15, hold_timeout_ns=0,
                      max_ref_age_ns=10**15, queue=1, queue_pow=model, grid=grid, queue_unseen=unseen)
    qe = QueueEstimate(n_sym, ticks=[1.0 / grid if grid else 0.0] * n_sym,
                       queue_model="risk-averse" if model == 0 else f"prob:{model:g}",
                       unseen="empty" if unseen else "seen", timeout_ns=10**15)
    if depth:
        qe.use_depth()
    arrive = {int(g["symbol_id"]): (int(g["ts_ns"]) + latency, g) for g in sig}
    rested, done, checked = set(), set(), 0
    for k in range(len(ev)):
        e = ev[k]
        t = int(e["ts_recv"])
        pending = [s for s, (ta, g) in arrive.items() if s not in rested and ta <= t and k > int(g["ev_idx"])]
        if pending:  # the oracle settles an arrival due by t before this event: its state then
            m = _oracle(ev[:k], sig, rows, t, depth)
            for sid in pending:
                ta, g = arrive[sid]
                o = m.states[sid]
                if o.status == twin.RESTING:
                    qe.on_order_rested(sid, ta, f"c{sid}", "buy" if g["direction"] > 0 else "sell",
                                       float(o.limit_price), decision_ns=int(g["ts_ns"]))
                else:  # refused by the post-only check: it never rests, nothing to estimate
                    assert m.counts[sid]["rejected"] == 1
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
        m = _oracle(ev[: k + 1], sig, rows, t, depth)
        for s in rested - done:
            est = qe.estimate(s, t)
            o = m.states[s]
            if o.status == twin.OPEN:  # the oracle filled it on this event: so does the estimate
                assert est is not None and est["model_filled"], (k, s)
                assert (filled or e["kind"] == Kind.DEPTH) and s == sid
                done.add(s)
                continue
            assert o.status == twin.RESTING and not est["model_filled"], (k, s, o.status, est)
            if o.d_pend:
                continue  # a snapshot run in progress: the queue moves at the symbol's next row
            ahead = float(o.q_ahead)
            assert (est["ahead"] is None) == (ahead == math.inf), (k, s, est, ahead)
            if est["ahead"] is not None:
                assert est["ahead"] == max(ahead, 0.0), (k, s, est, ahead)
            assert est["level"] == float(o.q_level), (k, s, est, o.q_level)
            assert float(qe.st[s]["q_traded"]) == float(o.q_traded), (k, s)
            checked += 1
    return checked


@settings(deadline=None, max_examples=10)
@given(seed=hs.integers(0, 2**32 - 1), n_sym=hs.integers(1, 2), latency=hs.sampled_from([0, 20 * MS, 1 * S]),
       model=hs.sampled_from([0.0, 2.0]), grid=hs.sampled_from([0.0, 100.0]), unseen=hs.sampled_from([0, 1]),
       consistent=hs.booleans())
def test_the_estimate_is_the_oracles_queue_on_top_of_book(seed, n_sym, latency, model, grid, unseen, consistent):
    ev = book_market(seed, 40, n_sym, consistent=consistent)
    compare_with_oracle(ev, one_order_per_symbol(seed + 1, ev, n_sym), n_sym, latency, model, grid, unseen)


@settings(deadline=None, max_examples=8)
@given(seed=hs.integers(0, 2**32 - 1), latency=hs.sampled_from([0, 20 * MS]), model=hs.sampled_from([0.0, 2.0]),
       unseen=hs.sampled_from([0, 1]), quotes=hs.booleans(), gaps=hs.booleans())
def test_the_estimate_is_the_oracles_queue_at_depth(seed, latency, model, unseen, quotes, gaps):
    ev = depth_market(seed, 60, 1, quotes=quotes, gaps=gaps)
    compare_with_oracle(ev, _one_per_symbol(seed + 1, ev, 1), 1, latency, model, 1.0 / DEPTH_TICK, unseen, depth=True)


def test_scripted_streams_are_compared_at_every_event():
    """Fixed streams where entries rest behind displayed size, queues are eaten by prints and moved by quotes
    and depth rows, and fill: the comparison runs at every event in between, under both queue models."""
    n = 0
    for seed in range(12):
        ev = book_market(seed, 50, 1, consistent=True)
        n += compare_with_oracle(ev, one_order_per_symbol(seed + 1, ev, 1), 1, 0, 2.0 if seed % 2 else 0.0, 100.0, 0)
    m = 0
    for seed in range(12):
        ev = depth_market(seed, 40, 1, quotes=seed % 2 == 0, gaps=seed % 3 == 0)
        m += compare_with_oracle(ev, _one_per_symbol(seed + 1, ev, 1), 1, 0, 2.0 if seed % 4 < 2 else 0.0,
                                 1.0 / DEPTH_TICK, 0, depth=True)
    assert n > 80 and m > 80, (n, m)  # event-by-event comparisons made
