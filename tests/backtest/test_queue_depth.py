"""The queue at depth (``--fill queue`` with DEPTH rows: the L2 book): an order behind the best joins the
queue at its own level, behind the size the depth shows there when it arrives; prints there consume that
queue; a fall in the level's size follows the queue model, a rise goes behind it.  On hand-made markets
where the queue behind the best decides, against the top-of-book rule and negative controls."""
from __future__ import annotations

import numpy as np
import pytest

from simdata import MS, S, param_array, param_rows

from liqcore._jit import sim
from liqcore.strategies import empty_signals, sort_signals
from liqcore.types import EVENT_DTYPE, Flag, Kind, Side

TICK = 0.1
T0 = 1_700_000_000 * S
EPISODE = 3600 * S
LEVEL = 99.5  # where the entry rests: 5 ticks behind the best bid of 100.0 (offset 0.5 %)
QUEUE = 10.0  # the size the depth shows at LEVEL when the order arrives


class Tape:
    def __init__(self):
        self.rows = []

    def add(self, t, kind, side, px, qty, flags=0):
        self.rows.append((t, t, px, qty, 0, int(side), int(kind), 2, int(flags)))

    def depth(self, t, side, px, qty, flags=0):
        self.add(t, Kind.DEPTH, side, px, qty, flags)

    def quote(self, t, bid, bid_qty, ask, ask_qty):
        self.add(t, Kind.QUOTE, Side.BUY, bid, bid_qty)
        self.add(t, Kind.QUOTE, Side.SELL, ask, ask_qty)

    def trade(self, t, side, px, qty):
        self.add(t, Kind.TRADE, side, px, qty)

    def events(self, kinds=None):
        ev = np.array(self.rows, dtype=EVENT_DTYPE)
        if kinds is not None:
            ev = ev[np.isin(ev["kind"], [int(k) for k in kinds])]
        order = np.argsort(ev["ts_recv"], kind="stable")
        return np.ascontiguousarray(ev[order])


def episodes_market(n: int, *, queue=QUEUE, scale_level=1.0, refill=False, quotes=True):
    """``n`` episodes of one symbol.  Each: a snapshot (bids 100.0 down to 99.0, ``queue`` x ``scale_level``
    at LEVEL), a print at 100.0 (the reference), a long entry decided 1 ms later at LEVEL; the bids above
    LEVEL are then pulled (LEVEL becomes the best), and sellers print at LEVEL: more than ``queue`` in even
    episodes, less in odd ones.  ``refill``: while the order rests (before LEVEL is the best) the level is
    cancelled down to 2 and refilled to 30: a venue keeps the order's place (2 ahead of it); the prints
    then total 5.  ``quotes``: the top of book as QUOTE rows too (what a top-of-book feed shows)."""
    tp = Tape()
    sig = empty_signals(n)
    for i in range(n):
        t = T0 + i * EPISODE
        lvl_qty = queue * scale_level
        bids = {round(100.0 - k * TICK, 1): (lvl_qty if round(100.0 - k * TICK, 1) == LEVEL else 3.0) for k in range(11)}
        for px, q in bids.items():
            tp.depth(t, Side.BUY, px, q, Flag.SNAPSHOT)
        for k in range(1, 11):
            tp.depth(t, Side.SELL, round(100.0 + k * TICK, 1), 3.0, Flag.SNAPSHOT)
        if quotes:
            tp.quote(t, 100.0, 3.0, 100.1, 3.0)
        tp.trade(t + 1 * MS, Side.BUY, 100.0, 0.5)
        sig[i]["ts_ns"] = t + 2 * MS
        sig[i]["symbol_id"] = 0
        sig[i]["direction"] = 1
        sig[i]["offset"] = 0.005
        sig[i]["take_profit"] = 0.0  # no exit but the timeout: one trade per episode
        sig[i]["stop_loss"] = 0.0
        sig[i]["tag"] = i
        u = t + 1 * S
        if refill:
            tp.depth(u, Side.BUY, LEVEL, 2.0)
            tp.depth(u + 1 * S, Side.BUY, LEVEL, 30.0)
            u += 2 * S
        # the bids above LEVEL pulled: LEVEL is the best bid
        for k in range(5):
            tp.depth(u + k * MS, Side.BUY, round(100.0 - k * TICK, 1), 0.0)
        best_qty = 30.0 if refill else lvl_qty
        if quotes:
            tp.quote(u + 5 * MS, LEVEL, best_qty, round(LEVEL + TICK, 1), 3.0)
        total = 5.0 if refill else (queue + 2.0 if i % 2 == 0 else max(queue - 2.0, 1.0))
        v = u + 1 * S
        for j, q in enumerate((total / 2, total / 2)):
            tp.trade(v + j * S, Side.SELL, LEVEL, q)
            left = max((30.0 if refill else lvl_qty) - total / 2 * (j + 1), 0.0)
            tp.depth(v + j * S + 1, Side.BUY, LEVEL, left)
            if quotes:
                tp.quote(v + j * S + 1, LEVEL, left, round(LEVEL + TICK, 1), 3.0)
        # the market comes back up before the next episode; prints above the order do not touch it
        tp.trade(t + 30 * S, Side.BUY, 100.2, 0.1)
    tp.trade(T0 + n * EPISODE, Side.BUY, 100.2, 0.1)  # after the hold timeout: the last position closes
    return tp, sort_signals(sig)


def run(ev, sig, *, depth: bool, model=0.0, latency=50 * MS):
    rows = param_rows(1, order_latency_ns=latency, entry_timeout_ns=600 * S, hold_timeout_ns=1200 * S,
                      cooldown_ns=0, max_ref_age_ns=10 * S, queue=1, queue_pow=model, grid=1.0 / TICK)
    st = sim.new_state(1)
    port = sim.new_port(1.0, 0.0, 0.0, 1, 0.1)
    ledger = np.zeros(len(sig) + 1, dtype=sim.LEDGER_DTYPE)
    counts = np.zeros((1, sim.N_COUNTS), dtype=np.int64)
    book = sim.new_depth(1) if depth else ()
    sim.run_exec(ev, sig, st, port, param_array(rows), ledger, counts, int(ev["ts_recv"][-1]) + EPISODE, *book)
    led = ledger[: port[0]["n_trades"]]
    return led, counts


def filled_episodes(led):
    return sorted(int(c) for c in led["cascade_id"])


@pytest.mark.parametrize("model", [0.0, 2.0])
def test_with_depth_exactly_the_even_episodes_fill(model):
    tp, sig = episodes_market(8)
    led, counts = run(tp.events(), sig, depth=True, model=model)
    assert filled_episodes(led) == [0, 2, 4, 6]
    assert (led["fill_rule"] == 1).all()  # the depth decided each fill
    assert not led["entry_ns"].tolist() == []
    assert np.allclose(led["queue_ahead"], QUEUE)  # the size at its level when it arrived
    assert np.allclose(led["entry_price"], LEVEL)
    assert counts[0, sim.C_UNFILLED] == 4


def test_depth_without_quotes_gives_the_same_fills():
    tp, sig = episodes_market(8, quotes=False)
    led, _ = run(tp.events(), sig, depth=True)
    assert filled_episodes(led) == [0, 2, 4, 6]


def test_control_a_level_a_million_times_larger_fills_none():
    tp, sig = episodes_market(8, scale_level=1e6)
    led, counts = run(tp.events(), sig, depth=True)
    assert len(led) == 0 and counts[0, sim.C_UNFILLED] == 8


def test_control_an_empty_level_fills_at_its_first_print():
    tp, sig = episodes_market(4, queue=0.0)
    ev = tp.events()
    led, _ = run(ev, sig, depth=True)
    assert filled_episodes(led) == [0, 1, 2, 3]
    first_at_level = [int(ev["ts_recv"][(ev["kind"] == Kind.TRADE) & (ev["price"] == LEVEL)
                                         & (ev["ts_recv"] >= T0 + i * EPISODE)][0]) for i in range(4)]
    assert led["entry_ns"].tolist() == first_at_level


def test_refill_behind_keeps_the_orders_place():
    tp, sig = episodes_market(4, refill=True)
    with_depth, _ = run(tp.events(), sig, depth=True)
    # 2 ahead after the cancellations; the refill went behind: 5 traded there fills every episode
    assert filled_episodes(with_depth) == [0, 1, 2, 3]
    assert (with_depth["fill_rule"] == 1).all()
    # the top-of-book rule counts the 30 shown when the level becomes the best: none fills
    top, counts = run(tp.events(kinds=[Kind.TRADE, Kind.QUOTE]), sig, depth=False)
    assert len(top) == 0 and counts[0, sim.C_UNFILLED] == 4


def test_without_depth_rows_the_top_of_book_rule_is_unchanged():
    tp, sig = episodes_market(8)
    ev = tp.events(kinds=[Kind.TRADE, Kind.QUOTE])
    a, ca = run(ev, sig, depth=False)
    b, cb = run(ev, sig, depth=True)  # books given, no DEPTH row: the same replay
    assert a.tobytes() == b.tobytes() and (ca == cb).all()
    assert (a["fill_rule"] == 0).all() and filled_episodes(a) == [0, 2, 4, 6]


def test_offset_zero_joins_at_the_best():
    tp, sig = episodes_market(2)
    sig["offset"] = 0.0  # at the best bid (100.0), 3 ahead: the level is pulled, the prints below fill it
    ev = tp.events()
    led, counts = run(ev, sig, depth=True)
    assert counts[0, sim.C_REJECTED] == 0 and filled_episodes(led) == [0, 1]
    # a print below the limit filled it, whatever its queue: the rule is the print's (-1), not the queue's
    assert np.allclose(led["entry_price"], 100.0) and (led["fill_rule"] == -1).all()
    below = [int(ev["ts_recv"][(ev["kind"] == Kind.TRADE) & (ev["price"] < 100.0)
                                & (ev["ts_recv"] >= T0 + i * EPISODE)][0]) for i in range(2)]
    assert led["entry_ns"].tolist() == below


def test_a_gap_makes_the_queue_unknown_until_the_next_snapshot():
    tp, sig = episodes_market(1)
    ev = tp.events()
    # a gap right after the order arrives: the level's size is unknown; the next snapshot lists LEVEL at 1
    t_gap = T0 + 500 * MS
    extra = np.zeros(3, dtype=EVENT_DTYPE)
    extra[0] = (t_gap, t_gap, 0.0, 0.0, 0, Side.NONE, Kind.DEPTH, 2, int(Flag.DEPTH_GAP))
    extra[1] = (t_gap + 1, t_gap + 1, LEVEL, 1.0, 0, Side.BUY, Kind.DEPTH, 2, int(Flag.SNAPSHOT))
    extra[2] = (t_gap + 1, t_gap + 1, 100.1, 3.0, 0, Side.SELL, Kind.DEPTH, 2, int(Flag.SNAPSHOT))
    ev2 = np.concatenate([ev, extra])
    ev2 = ev2[np.argsort(ev2["ts_recv"], kind="stable")]
    led, _ = run(np.ascontiguousarray(ev2), sig, depth=True)
    # the snapshot says 1 at LEVEL: the queue ahead falls to 1 (risk-averse), and the 8 printed fill it
    assert filled_episodes(led) == [0]


# ---- a depth row that crosses the resting order (the rule ``depth cross``) ------------------------------
def _with(ev, rows):
    """``ev`` with extra DEPTH rows ``(t, side, price, qty, flags)``, in receive-time order (an extra row
    after the market's rows of the same time)."""
    extra = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for k, (t, side, px, qty, flags) in enumerate(rows):
        extra[k] = (t, t, px, qty, 0, int(side), Kind.DEPTH, 2, int(flags))
    out = np.concatenate([ev, extra])
    return np.ascontiguousarray(out[np.argsort(out["ts_recv"], kind="stable")])


# episode 1 (odd: its prints at LEVEL stay below the queue) after the bids above LEVEL are pulled, before
# its first print at LEVEL
T_CROSS = T0 + EPISODE + 1 * S + 100 * MS


def test_an_ask_at_the_limit_fills_the_resting_buy_at_that_row_without_a_print():
    tp, sig = episodes_market(2)
    ev = _with(tp.events(), [(T_CROSS, Side.SELL, LEVEL, 0.7, 0)])
    led, counts = run(ev, sig, depth=True)
    assert filled_episodes(led) == [0, 1]
    one = led[led["cascade_id"] == 1][0]
    assert int(one["entry_ns"]) == T_CROSS and one["entry_price"] == pytest.approx(LEVEL)
    assert int(one["fill_rule"]) == sim.D_RULE_CROSSED and counts[0, sim.C_UNFILLED] == 0
    assert int(led[led["cascade_id"] == 0][0]["fill_rule"]) == 1  # the even one: the queue at depth, as before


def test_an_ask_through_the_limit_fills_it_too():
    tp, sig = episodes_market(2)
    led, _ = run(_with(tp.events(), [(T_CROSS, Side.SELL, round(LEVEL - 3 * TICK, 1), 2.0, 0)]), sig, depth=True)
    assert filled_episodes(led) == [0, 1] and int(led[led["cascade_id"] == 1][0]["entry_ns"]) == T_CROSS


@pytest.mark.parametrize("why, rows", [
    ("an ask one tick above the limit", [(T_CROSS, Side.SELL, round(LEVEL + TICK, 1), 5.0, 0)]),
    ("an ask removed at the limit (size 0)", [(T_CROSS, Side.SELL, LEVEL, 0.0, 0)]),
    ("a bid at the limit (the order's own side)", [(T_CROSS, Side.BUY, LEVEL, 50.0, 0)]),
    ("the book unknown after a gap", [(T_CROSS - 1, Side.NONE, 0.0, 0.0, int(Flag.DEPTH_GAP)),
                                      (T_CROSS, Side.SELL, LEVEL, 0.7, 0)]),
    ("after the entry's timeout", [(T0 + EPISODE + 2 * MS + 50 * MS + 600 * S + 1, Side.SELL, LEVEL, 0.7, 0)]),
])
def test_controls_rows_that_do_not_cross_a_resting_order_fill_nothing(why, rows):
    tp, sig = episodes_market(2)
    led, counts = run(_with(tp.events(), rows), sig, depth=True)
    assert filled_episodes(led) == [0], why
    assert counts[0, sim.C_UNFILLED] == 1, why


def test_without_depth_a_crossing_quote_fills_nothing():
    """The top-of-book rule is unchanged: a QUOTE ask at the limit is not a fill (fills on prints only)."""
    tp, sig = episodes_market(2)
    tp.add(T_CROSS, Kind.QUOTE, Side.SELL, LEVEL, 0.7)  # the best ask down to the limit, the bid left as it is
    led, _ = run(tp.events(kinds=[Kind.TRADE, Kind.QUOTE]), sig, depth=False)
    assert filled_episodes(led) == [0]


def test_a_bid_at_the_take_profit_fills_it_at_that_row():
    tp, sig = episodes_market(1)
    sig["take_profit"] = 0.001  # a SELL limit at 99.5 x 1.001 -> 99.6 (the tick at or above)
    ev = tp.events()
    led, _ = run(ev, sig, depth=True)
    assert len(led) == 1 and int(led[0]["exit_reason"]) == sim.TAKE_PROFIT  # the print at 100.2 goes through
    fill = int(led[0]["entry_ns"])
    t_bid = fill + 200 * MS
    led2, _ = run(_with(ev, [(t_bid, Side.BUY, 99.6, 1.0, 0)]), sig, depth=True)
    assert int(led2[0]["exit_ns"]) == t_bid and int(led2[0]["exit_reason"]) == sim.TAKE_PROFIT
    assert led2[0]["exit_price"] == pytest.approx(99.6)
    # a bid one tick below the take-profit: not crossed; the print at 100.2 closes it as before
    led3, _ = run(_with(ev, [(t_bid, Side.BUY, 99.5, 1.0, 0)]), sig, depth=True)
    assert int(led3[0]["exit_ns"]) == int(led[0]["exit_ns"])


# ---- --partial on --------------------------------------------------------------------------------------
ORDER = 20.0  # base units: a notional of 20 x LEVEL


def run_partial(ev, sig, *, depth=True, partial=1, lot=0.0):
    rows = param_rows(1, order_latency_ns=50 * MS, entry_timeout_ns=600 * S, hold_timeout_ns=1200 * S,
                      cooldown_ns=0, max_ref_age_ns=10 * S, queue=1, grid=1.0 / TICK, partial=partial, lot=lot)
    st = sim.new_state(1)
    port = sim.new_port(1.0, 0.0, 0.0, 1, 0.1, notional=ORDER * LEVEL, leverage=0.0)
    ledger = np.zeros(len(sig) + 1, dtype=sim.LEDGER_DTYPE)
    counts = np.zeros((1, sim.N_COUNTS), dtype=np.int64)
    book = sim.new_depth(1) if depth else ()
    sim.run_exec(ev, sig, st, port, param_array(rows), ledger, counts, int(ev["ts_recv"][-1]) + EPISODE, *book)
    return ledger[: port[0]["n_trades"]], counts


def _plus_trades(ev, rows):
    extra = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for k, (t, px, qty) in enumerate(rows):
        extra[k] = (t, t, px, qty, 0, int(Side.SELL), Kind.TRADE, 2, 0)
    out = np.concatenate([ev, extra])
    return np.ascontiguousarray(out[np.argsort(out["ts_recv"], kind="stable")])


def test_partial_on_fills_the_part_printed_beyond_the_queue():
    """Even episode: 10 ahead, prints of 6 + 6 at the level: 2 of the order's 20 fill on the second print; the
    position is those 2 (exits for them); the rest rests until the take-profit closes the position."""
    tp, sig = episodes_market(2)
    ev = tp.events()
    led, counts = run_partial(ev, sig)
    assert filled_episodes(led) == [0]
    r = led[0]
    assert int(r["fills"]) == 1 and r["filled"] == pytest.approx(2.0 / ORDER)
    assert r["notional"] == pytest.approx(2.0 * LEVEL) and int(r["fill_rule"]) == 1
    whole, _ = run_partial(ev, sig, partial=0)  # off: the whole order on that print, as before
    assert int(whole[0]["entry_ns"]) == int(r["entry_ns"]) and whole[0]["filled"] == 1.0
    assert whole[0]["notional"] == pytest.approx(ORDER * LEVEL) and int(whole[0]["fills"]) == 1
    assert r["ret"] == pytest.approx(whole[0]["ret"])  # the same prices: the return per unit is the same


T_MORE = T0 + 5 * S  # after episode 0's partial fill (at T0 + 3 s), before its take-profit (T0 + 30 s)


@pytest.mark.parametrize("what, rows, filled, fills", [
    ("a print of 5 at the level", [(T_MORE, LEVEL, 5.0)], 7.0, 2),
    ("prints of 5 and 30 at the level", [(T_MORE, LEVEL, 5.0), (T_MORE + S, LEVEL, 30.0)], ORDER, 3),
    ("a print through the level", [(T_MORE, round(LEVEL - TICK, 1), 0.1)], ORDER, 2),
])
def test_the_rest_fills_on_later_prints(what, rows, filled, fills):
    tp, sig = episodes_market(1)
    led, _ = run_partial(_plus_trades(tp.events(), rows), sig)
    r = led[0]
    assert r["filled"] == pytest.approx(filled / ORDER), what
    assert int(r["fills"]) == fills and r["notional"] == pytest.approx(filled * LEVEL), what


def test_the_rest_fills_on_a_depth_row_crossing_it():
    tp, sig = episodes_market(1)
    led, _ = run_partial(_with(tp.events(), [(T_MORE, Side.SELL, LEVEL, 1.0, 0)]), sig)
    assert led[0]["filled"] == 1.0 and int(led[0]["fills"]) == 2


def test_the_rest_is_cancelled_at_the_entry_timeout():
    """A print at the level after the entry's timeout (600 s after arrival) fills nothing more."""
    tp, sig = episodes_market(1)
    sig["take_profit"] = 0.5  # no take-profit within the episode: the position stays open
    late = T0 + 2 * MS + 50 * MS + 600 * S + 1 * S
    led, _ = run_partial(_plus_trades(tp.events(), [(late, LEVEL, 50.0)]), sig)
    assert led[0]["filled"] == pytest.approx(2.0 / ORDER) and int(led[0]["fills"]) == 1
    early, _ = run_partial(_plus_trades(tp.events(), [(late - 2 * S, LEVEL, 50.0)]), sig)  # control: in time
    assert early[0]["filled"] == 1.0


def test_partial_fills_go_down_to_the_lot():
    """With a lot of 5, the 2 printed beyond the queue is less than a lot: nothing fills yet; the next print
    of 5 at the level (the queue ahead now -2 - 5 = 7 beyond) fills 5."""
    tp, sig = episodes_market(1)
    led, _ = run_partial(tp.events(), sig, lot=5.0)
    assert len(led) == 0
    led, _ = run_partial(_plus_trades(tp.events(), [(T_MORE, LEVEL, 5.0)]), sig, lot=5.0)
    assert int(led[0]["entry_ns"]) == T_MORE and led[0]["notional"] == pytest.approx(5.0 * LEVEL)
    assert led[0]["filled"] == pytest.approx(5.0 / ORDER)


@pytest.mark.parametrize("model", [0.0, 2.0])
def test_a_print_through_the_limit_is_named_print_not_the_queue(model):
    """The odd episodes' prints at LEVEL leave part of the queue ahead; then a seller prints a tick through
    LEVEL, which fills the order whatever its queue: its ``fill_rule`` is -1 (``print``, docs/explanation/fill-model.md), not
    the queue at depth (1), which the even episodes' fills (the queue traded away at LEVEL) keep; the pysrc
    twin says the same, field for field."""
    from pysrc import execmodel as twin
    from simdata import assert_matches_twin

    tp, sig = episodes_market(6)
    for i in range(1, 6, 2):  # after the odd episode's two prints at LEVEL (1 s and 2 s after the pull)
        tp.trade(T0 + i * EPISODE + 1 * S + 5 * MS + 3 * S, Side.SELL, round(LEVEL - TICK, 1), 0.3)
    ev = tp.events()
    led, counts = run(ev, sig, depth=True, model=model)
    assert filled_episodes(led) == list(range(6))
    rules = {int(r["cascade_id"]): int(r["fill_rule"]) for r in led}
    assert rules == {0: 1, 1: -1, 2: 1, 3: -1, 4: 1, 5: -1}, rules
    assert {sim.FILL_RULE_NAMES[v] for v in rules.values()} == {"queue (depth)", "print"}
    rows = param_rows(1, order_latency_ns=50 * MS, entry_timeout_ns=600 * S, hold_timeout_ns=1200 * S,
                      cooldown_ns=0, max_ref_age_ns=10 * S, queue=1, queue_pow=model, grid=1.0 / TICK)
    st = sim.new_state(1)
    port = sim.new_port(1.0, 0.0, 0.0, 1, 0.1)
    ledger = np.zeros(len(sig) + 1, dtype=sim.LEDGER_DTYPE)
    cts = np.zeros((1, sim.N_COUNTS), dtype=np.int64)
    end = int(ev["ts_recv"][-1]) + EPISODE
    sim.run_exec(ev, sig, st, port, param_array(rows), ledger, cts, end, *sim.new_depth(1))
    ref = twin.simulate(ev, sig, rows, equity=1.0, daily_loss=0.0, weekly_loss=0.0, max_symbols=1, size=0.1,
                        end_ns=end, depth=True)
    assert_matches_twin(ledger[: port[0]["n_trades"]], cts, st, ref, 1)
    assert [r["fill_rule"] for r in ref.ledger] == [rules[int(r["cascade_id"])] for r in ref.ledger]
