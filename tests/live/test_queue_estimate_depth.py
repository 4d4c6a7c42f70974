"""The live queue-position estimate with the L2 depth (``--book depth``) is the backtest kernel's queue at depth:
on random L2 markets (snapshot runs, levels resized, cancelled and refilled behind the best, gaps, prints at and
through levels, with and without top-of-book rows), fed event by event, its size ahead, the displayed size at the
entry's level and the traded size equal the kernel's after every event, and it calls the fill on the event the
kernel fills the entry."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs
from kernels.test_queue_depth_property import TICK, depth_market, signals_behind
from live.test_queue_estimate import _compare
from simdata import MS, S

from liqcore.live.queue_estimate import QueueEstimate
from liqcore.strategies import NEVER, sort_signals

pytestmark = pytest.mark.property


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


@settings(deadline=None, max_examples=12)
@given(seed=hs.integers(0, 2**32 - 1), n_sym=hs.integers(1, 2), latency=hs.sampled_from([0, 20 * MS, 1 * S]),
       model=hs.sampled_from([0.0, 2.0]), unseen=hs.sampled_from([0, 1]), quotes=hs.booleans(), gaps=hs.booleans())
def test_the_estimate_at_depth_is_the_kernels_queue_state_event_by_event(seed, n_sym, latency, model, unseen, quotes,
                                                                         gaps):
    ev = depth_market(seed, 50, n_sym, quotes=quotes, gaps=gaps)
    _compare(ev, _one_per_symbol(seed + 1, ev, n_sym), n_sym, latency, model, 1.0 / TICK, unseen, depth=True)


def test_scripted_depth_markets_are_compared_at_every_event():
    n = 0
    for seed in range(25):
        ev = depth_market(seed, 50, 1, quotes=seed % 2 == 0, gaps=seed % 3 == 0)
        n += _compare(ev, _one_per_symbol(seed + 1, ev, 1), 1, 0, 2.0, 1.0 / TICK, 0, depth=True)
    assert n > 150  # event-by-event comparisons made


def _book_of_four_bids() -> QueueEstimate:
    """A risk-averse estimate with depth whose book is a snapshot run: bids 100.0 (2), 99.9 (1), 99.8 (3), 99.7 (5),
    an ask 100.1 (4); a top-of-book row then ends the run (the top of book no longer moves the queue)."""
    from liqcore.types import Flag, Side

    qe = QueueEstimate(1, ticks=[0.1], queue_model="risk-averse", timeout_ns=10**15)
    qe.use_depth()
    snap = int(Flag.SNAPSHOT)
    for px, q in ((100.0, 2.0), (99.9, 1.0), (99.8, 3.0), (99.7, 5.0)):
        qe.on_depth(0, 1, int(Side.BUY), px, q, snap)
    qe.on_depth(0, 1, int(Side.SELL), 100.1, 4.0, snap)
    qe.on_quote(0, 2, int(Side.BUY), 100.0, 2.0)
    return qe


def test_a_level_refilled_behind_keeps_the_entrys_place():
    """The entry joins behind the 5 shown at its level (3 ticks behind the best); the level is cancelled down to
    1 (risk-averse: 1 ahead) and refilled to 9 (behind it); prints of 1.5 at its price fill it."""
    from liqcore.types import Side

    qe = _book_of_four_bids()
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


@pytest.mark.parametrize("ask, crossed", [(99.7, True), (99.5, True), (99.8, False)])
def test_an_ask_at_or_through_the_entry_has_it_filled_at_that_row(ask, crossed):
    """The fill model's ``depth cross``: a depth row that puts size on the other side at or through the resting
    entry's price fills it (no print); an ask above it does not."""
    from liqcore.types import Side

    qe = _book_of_four_bids()
    qe.on_order_rested(0, 3, "c0", "buy", 99.7)
    for px in (100.0, 99.9, 99.8):  # the bids above are pulled, then an ask comes down
        qe.on_depth(0, 4, int(Side.BUY), px, 0.0, 0)
    qe.on_depth(0, 5, int(Side.SELL), ask, 1.0, 0)
    est = qe.estimate(0, 5)
    assert est["model_filled"] is crossed
    assert (qe.orders[0]["model_fill_ns"] == 5) is crossed
