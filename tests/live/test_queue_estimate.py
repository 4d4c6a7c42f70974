"""The live queue-position estimate (liqcore.live.queue_estimate) is the backtest kernel's queue state: on
scripted top-of-book and trade streams, fed event by event, its size ahead, the displayed size at the
price and the traded size equal the kernel's after every event, and it calls the fill on the event the
kernel fills the entry; its chance of a fill follows the Poisson rule it documents."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from kernels.test_queue_fills import TICK, book_market, one_order_per_symbol
from simdata import MS, S, param_array, param_rows

from liqcore.live.queue_estimate import QueueEstimate, poisson_at_least
from liqcore.types import Kind, Side

pytestmark = pytest.mark.core  # needs no extra: CI also runs it in the lean environment


def run(ev, sig, rows, end_ns=None, depth=False):
    """The kernel over ``ev`` with the signals decided by then; the clock settles arrivals due by ``end_ns``
    (``depth``: with the depth books, DEPTH rows the L2 book)."""
    from liqcore._jit import sim

    n = len(rows)
    st = sim.new_state(n)
    port = sim.new_port(1.0, 0.0, 0.0, n, 0.1)
    ledger = np.zeros(len(sig) + 1, dtype=sim.LEDGER_DTYPE)
    counts = np.zeros((n, sim.N_COUNTS), dtype=np.int64)
    end = int(ev["ts_recv"][-1]) if end_ns is None else int(end_ns)
    if len(ev):
        sig = sig[(sig["ev_idx"] < len(ev))]
    else:
        sig = sig[:0]
    sim.run_exec(ev, sig, st, port, param_array(rows), ledger, counts, end, *(sim.new_depth(n) if depth else ()))
    return ledger[: port[0]["n_trades"]], counts, port, st


def _compare(ev, sig, n_sym, latency, model, grid, unseen, depth=False):
    """Feed the stream to the estimate and, prefix by prefix, to the kernel; the number of event-by-event
    comparisons made (a symbol's entry compared from its rest to its fill).  ``depth``: the queue at depth (the
    estimate's :meth:`use_depth`, the kernel given its depth books)."""
    from liqcore._jit import sim

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
        if pending:  # the kernel settles an arrival due by t before this event: its state then
            _, counts, _, st_at = run(ev[:k], sig, rows, end_ns=t, depth=depth)
            for sid in pending:
                ta, g = arrive[sid]
                if st_at[sid]["status"] == sim.RESTING:
                    side = "buy" if g["direction"] > 0 else "sell"
                    qe.on_order_rested(sid, ta, f"c{sid}", side, float(st_at[sid]["limit_price"]),
                                       decision_ns=int(g["ts_ns"]))
                else:  # refused by the post-only check: it never rests, nothing to estimate
                    assert counts[sid, sim.C_REJECTED] == 1
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
        _, counts, _, st = run(ev[: k + 1], sig, rows, depth=depth)
        for s in rested - done:
            est = qe.estimate(s, t)
            kern = st[s]
            if kern["status"] == sim.OPEN:  # the kernel filled it on this event: so does the estimate
                assert est is not None and est["model_filled"], (k, s)
                assert filled and s == sid
                done.add(s)
                continue
            assert kern["status"] == sim.RESTING and not est["model_filled"]
            if int(kern["d_pend"]):
                continue  # a snapshot run in progress: the kernel moves the queue at the symbol's next row
            ahead = float(kern["q_ahead"])
            assert (est["ahead"] is None) == (ahead == math.inf), (k, s, est, ahead)
            if est["ahead"] is not None:
                assert est["ahead"] == max(ahead, 0.0), (k, s, est, ahead)
            assert est["level"] == float(kern["q_level"])
            assert float(qe.st[s]["q_traded"]) == float(kern["q_traded"])
            checked += 1
    return checked


@settings(deadline=None, max_examples=15)
@given(seed=hs.integers(0, 2**32 - 1), n_sym=hs.integers(1, 3), latency=hs.sampled_from([0, 20 * MS, 1 * S]),
       model=hs.sampled_from([0.0, 2.0]), grid=hs.sampled_from([0.0, 100.0]), unseen=hs.sampled_from([0, 1]),
       consistent=hs.booleans())
def test_the_estimate_is_the_kernels_queue_state_event_by_event(seed, n_sym, latency, model, grid, unseen, consistent):
    ev = book_market(seed, 60, n_sym, consistent=consistent)
    sig = one_order_per_symbol(seed + 1, ev, n_sym)
    _compare(ev, sig, n_sym, latency, model, grid, unseen)


def test_a_scripted_book_is_compared_at_every_event():
    """One fixed stream where the entry rests behind displayed size, the queue is eaten by prints and
    shrunk by quotes, and then fills: the comparison runs at every event in between."""
    n = 0
    for seed in range(40):
        ev = book_market(seed, 60, 1, consistent=True)
        sig = one_order_per_symbol(seed + 1, ev, 1)
        n += _compare(ev, sig, 1, 0, 2.0, 100.0, 0)
    assert n > 200  # event-by-event comparisons made over the scripted streams


def test_the_chance_of_a_fill_is_the_poisson_tail_of_the_prints_needed():
    qe = QueueEstimate(1, ticks=[TICK], timeout_ns=10 * S)
    t = 1_000 * S
    qe.on_quote(0, t, int(Side.BUY), 100.0, 3.0)
    qe.on_quote(0, t, int(Side.SELL), 100.01, 4.0)
    for j in range(6):  # 6 sell prints of 1.0 in the last minute: 0.1 per second hitting the bid
        qe.on_trade(0, t + j * S, 100.02, 1.0, int(Side.SELL))
    t += 6 * S
    est = qe.on_order_rested(0, t, "c0", "buy", 100.0, decision_ns=t)
    assert est["ahead"] == 3.0 and est["level"] == 3.0
    # 4 prints of mean size 1.0 needed (more than 3.0 ahead) within 10 s at 0.1 per second
    lam = 0.1 * 10
    want = 1.0 - sum(math.exp(-lam) * lam**j / math.factorial(j) for j in range(4))
    assert est["fill_chance"] == pytest.approx(want, rel=1e-9)
    assert not qe.on_trade(0, t + 1, 100.0, 3.0, int(Side.SELL))  # eats the queue ahead, no fill yet
    assert qe.estimate(0, t + 1)["ahead"] == 0.0
    assert qe.on_trade(0, t + 2, 100.0, 0.5, int(Side.SELL))  # more than the queue traded: the model fills
    end = qe.on_end(0, t + 3, "filled")
    assert end["model_fill_ns"] == t + 2 and end["ahead_at_rest"] == 3.0 and end["outcome"] == "filled"
    assert qe.estimate(0, t + 4) is None


def test_the_poisson_tail_is_exact_without_scipy():
    """poisson_at_least(k, mean) = P(N >= k): the exact sums on small cases, and scipy's poisson.sf(k - 1)
    (where scipy is installed) to 1e-12 over tails from 1e-300 to 1, means from 1e-6 to 6,000."""
    assert poisson_at_least(0, 3.0) == 1.0 and poisson_at_least(-2, 3.0) == 1.0
    assert poisson_at_least(1, 0.0) == 0.0
    for lam in (0.1, 1.0, 7.5, 40.0):
        for k in (1, 2, 5, 12, 60):
            want = 1.0 - math.fsum(math.exp(-lam) * lam**j / math.factorial(j) for j in range(k))
            assert poisson_at_least(k, lam) == pytest.approx(want, rel=1e-9, abs=1e-15)
    scipy_stats = pytest.importorskip("scipy.stats")
    for lam in (1e-6, 0.01, 0.5, 1.0, 9.9, 10.0, 100.0, 1000.0, 6000.0):
        for k in (1, 2, 3, 10, 50, 100, 1000, 5000, 6100):
            assert poisson_at_least(k, lam) == pytest.approx(float(scipy_stats.poisson.sf(k - 1, lam)),
                                                             rel=1e-9, abs=1e-12), (k, lam)
