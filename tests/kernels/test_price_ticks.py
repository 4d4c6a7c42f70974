"""Prices in ticks: the execution model and the queue kernel compare maker prices as tick indices on the
symbol's price grid, never as floats.  A price given as float32 (300.2 -> 300.20001220703125) or computed
(30020 x 0.01 -> 300.20000000000005) is the tick 30020 at every boundary: at the best (the queue joins
behind the size displayed there, a print there is AT the limit), one tick through (fills), one tick away
(nothing); and the post-only check.  The kernel and its pysrc twin agree on every case."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pysrc import execmodel as twin
from simdata import MS, S, param_array, param_rows

from liqcore.strategies import empty_signals
from liqcore.types import EVENT_DTYPE, Kind, Side

T0 = 1_700_000_000 * S
GRID = 100.0  # ticks per unit of price: tick 0.01

#: three spellings of tick k's price
SPELL = {
    "exact": lambda k: k / 100,
    "computed": lambda k: k * 0.01,
    "float32": lambda k: float(np.float32(k / 100)),
}


def _events(rows):
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (ts, kind, side, px, qty) in enumerate(rows):
        ev[i] = (T0 + ts, T0 + ts, px, qty, 0, side, kind, 2, 0)
    return ev


L = 30020  # the limit's tick


def _run(ev, direction, rule, grid=GRID):
    """(status 'rejected' | fill time | inf, queue ahead at the end) of one post-only limit decided after
    the first event, its reference print one tick above (a buy) / below (a sell) the tick L, with the
    offset that puts the limit at L (computed in floats, then on the grid)."""
    from liqcore._jit import sim

    sig = empty_signals(1)
    sig[0]["ts_ns"], sig[0]["ev_idx"], sig[0]["direction"] = T0, 0, direction
    sig[0]["offset"] = 1.0 / (L + direction)
    sig[0]["take_profit"] = sig[0]["stop_loss"] = 0.0
    rows = param_rows(1, order_latency_ns=1 * MS, entry_timeout_ns=10**15, hold_timeout_ns=0, max_ref_age_ns=10**15,
                      touch=int(rule == "touch"), queue=int(rule == "queue"), grid=grid)
    st = sim.new_state(1)
    port = sim.new_port(1.0, 0.0, 0.0, 1, 0.1)
    ledger = np.zeros(2, dtype=sim.LEDGER_DTYPE)
    counts = np.zeros((1, sim.N_COUNTS), dtype=np.int64)
    end = int(ev["ts_recv"][-1])
    sim.run_exec(ev, sig, st, port, param_array(rows), ledger, counts, end)
    ref = twin.simulate(ev, sig, rows, equity=1.0, daily_loss=0.0, weekly_loss=0.0, max_symbols=1, size=0.1,
                        end_ns=end)
    if counts[0, sim.C_REJECTED]:
        got = "rejected"
    elif st[0]["status"] == sim.OPEN:
        got = int(st[0]["entry_ns"]) - T0
    else:
        got = math.inf
    want = "rejected" if ref.counts[0]["rejected"] else (
        ref.states[0].entry_ns - T0 if ref.states[0].status == twin.OPEN else math.inf)
    assert got == want, (got, want)  # the twin in step
    return got, float(st[0]["q_ahead"])


def _market(spell_ref, spell_book, spell_print, direction, print_tick, sizes=(1.0, 2.5)):
    """The limit at tick L: a reference print one tick off it on the other side (``spell_ref``), the best on
    the limit's side at L with 3.0 displayed and the other side one tick off (``spell_book``), then prints
    of ``sizes`` at ``print_tick`` (``spell_print``), one a second."""
    bid, ask = (L, L + 1) if direction > 0 else (L - 1, L)
    taker = Side.SELL if direction > 0 else Side.BUY
    rows = [(0, Kind.TRADE, -taker + 7, SPELL[spell_ref](L + direction), 1.0),
            (0, Kind.QUOTE, Side.BUY, SPELL[spell_book](bid), 3.0),
            (0, Kind.QUOTE, Side.SELL, SPELL[spell_book](ask), 3.0)]
    for j, q in enumerate(sizes):
        rows.append(((j + 1) * S, Kind.TRADE, taker, SPELL[spell_print](print_tick), q))
    return _events(rows)


SPELLS = [(a, b, c) for a in SPELL for b in SPELL for c in SPELL]


@pytest.mark.parametrize("direction", [1, -1])
@pytest.mark.parametrize("spells", SPELLS, ids=["-".join(s) for s in SPELLS])
def test_at_the_best_the_queue_decides_whatever_the_float_spelling(spells, direction):
    ev = _market(*spells, direction, 30020)
    # the limit joins behind the 3.0 displayed at its tick: 1.0 then 2.5 traded there -> fills on the second
    got, _ = _run(ev, direction, "queue")
    assert got == 2 * S
    assert _run(ev, direction, "touch")[0] == 1 * S  # a print AT the limit: touch fills at once
    assert _run(ev, direction, "through")[0] == math.inf  # ... through never


@pytest.mark.parametrize("direction", [1, -1])
@pytest.mark.parametrize("spells", SPELLS, ids=["-".join(s) for s in SPELLS])
def test_one_tick_through_fills_and_one_tick_away_does_not(spells, direction):
    through = _market(*spells, direction, 30020 - direction)
    away = _market(*spells, direction, 30020 + direction)
    for rule in ("through", "touch", "queue"):
        assert _run(through, direction, rule)[0] == 1 * S, rule
        assert _run(away, direction, rule)[0] == math.inf, rule


@pytest.mark.parametrize("direction", [1, -1])
@pytest.mark.parametrize("spell", list(SPELL))
def test_post_only_check_on_ticks(spell, direction):
    """A limit at the tick of the opposite best crosses it: rejected (queue: the quote in force), whatever
    float spells that best; one tick off it rests."""
    taker = Side.SELL if direction > 0 else Side.BUY
    for opp, want_rejected in ((L, True), (L + direction, False)):
        bid, ask = (L - 1, opp) if direction > 0 else (opp, L + 1)
        ev = _events([(0, Kind.TRADE, taker, SPELL["computed"](L + direction), 1.0),
                      (0, Kind.QUOTE, Side.BUY, SPELL[spell](bid), 3.0),
                      (0, Kind.QUOTE, Side.SELL, SPELL[spell](ask), 3.0),
                      (1 * S, Kind.TRADE, taker, SPELL[spell](L + 5 * direction), 1.0)])
        got, _ = _run(ev, direction, "queue")
        assert (got == "rejected") is want_rejected, (opp, got)
