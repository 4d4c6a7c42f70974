"""Under the queue rule the window read leaves undecoded the quote row groups of a step in which an open
position's take-profit cannot be reached by any quote (:func:`liqcore.backtest.row_groups._quotes_quiet`),
and reads the book in force back at the next step that decodes quotes.  The proof, on the simulator
itself: an open position replayed through prints and quotes short of its take-profit ends in the same
state, ledger, counts and portfolio as through the prints alone, but for the book in force, which is
the last quote's; a quote at the take-profit's tick does move its queue (the bound is tight).  Then the
rule on the row groups' statistics (side, grid, records, replacement queued), and the default read
equal to the full replay with the skip taken."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore._jit import sim
from liqcore.codes import TAKE_PROFIT
from liqcore.config import Params
from liqcore.execution.replay import new_replay
from liqcore.types import EVENT_DTYPE, Kind, SymbolRegistry

T0 = 1_700_000_000_000_000_000
S = 1_000_000_000
_BOOK = ("bid", "bid_qty", "ask", "ask_qty", "d_quotes")  # d_quotes: the symbol has top-of-book rows


def _open(side: int, tp: float, sl: float, q_ahead: float, grid: float, hold_s: float):
    p = Params.from_mapping({"fill": "queue"})
    par, stt, port, ledger, counts = new_replay(p, SymbolRegistry([("bybit", "XUSDT")]), 1, 10_000.0, 8)
    par["grid"][0] = grid
    sim.set_open(stt, 0, side, T0, 100.0, tp, sl, 100.0, T0 + int(hold_s * S), 0.0)
    stt[0]["q_ahead"], stt[0]["q_level"], stt[0]["q_traded"] = q_ahead, 0.0 if q_ahead == np.inf else q_ahead, 0.0
    stt[0]["bid"], stt[0]["bid_qty"], stt[0]["ask"], stt[0]["ask_qty"] = 99.9, 1.0, 100.1, 1.0
    stt[0]["last_price"] = 100.0
    return par, stt, port, ledger, counts


def _replay(ev, state):
    par, stt, port, ledger, counts = (x.copy() for x in state)
    z = np.zeros(0, np.int64)
    sim.run_sim(ev, z, z, z, z, z, stt, port, par, ledger, counts, sim.NO_CLOCK)
    return stt, port, ledger, counts


def _events(trades, quotes):
    """Trade rows ``(t, price, qty)`` and quote rows ``(t, side, price, qty)`` (side 3: the best bid), in
    receive-time order, trades after quotes of their time (as a read gives them)."""
    rows = [(t, 1, 2, p, q) for t, p, q in trades] + [(t, 0, sd, p, q) for t, sd, p, q in quotes]
    rows.sort(key=lambda r: (r[0], r[1]))
    ev = np.zeros(len(rows), EVENT_DTYPE)
    for i, (t, is_trade, sd, p, q) in enumerate(rows):
        ev[i]["ts_event"] = ev[i]["ts_recv"] = T0 + int(t * S)
        ev[i]["kind"] = int(Kind.TRADE) if is_trade else int(Kind.QUOTE)
        ev[i]["side"] = 1 if is_trade else sd
        ev[i]["price"], ev[i]["qty"] = p, q
    return ev


_prices = st.integers(-6, 6).map(lambda k: round(100.0 + 0.1 * k, 1))  # (a tenth: often at the levels)


@settings(max_examples=300, deadline=None)
@given(side=st.sampled_from([1, -1]), tp_off=st.integers(1, 5), sl_off=st.integers(1, 5),
       q_ahead=st.sampled_from([np.inf, 0.0, 0.5, 3.0]), grid=st.sampled_from([0.0, 10.0, 100.0]),
       hold_s=st.floats(1, 200), trades=st.lists(st.tuples(st.floats(0.5, 300), _prices, st.floats(0.1, 4)),
                                                  max_size=40),
       quotes=st.lists(st.tuples(st.floats(0.5, 300), st.sampled_from([3, 4]), _prices, st.floats(0, 5)),
                       min_size=1, max_size=40))
def test_quotes_short_of_an_open_positions_take_profit_change_only_the_book(side, tp_off, sl_off, q_ahead, grid,
                                                                             hold_s, trades, quotes):
    """Whatever the prints (stop, take-profit, timer) and the queue ahead of the take-profit, quotes whose
    prices all stay short of it on the grid (a long's below, a short's above: as the row groups'
    statistics prove it for a span) leave the replay as the prints alone leave it, the book aside;
    the book in force at the end is the last bid and ask quoted, what the next step reads back."""
    tp, sl = round(100.0 + side * 0.1 * tp_off, 1), round(100.0 - side * 0.1 * sl_off, 1)
    state = _open(side, tp, sl, q_ahead, grid, hold_s)

    def tk(x):
        return np.floor(x * grid + 0.5) if grid > 0 else x

    quotes = [q for q in quotes if (tk(q[2]) < tk(tp) if side > 0 else tk(q[2]) > tk(tp))]
    with_q = _replay(_events(trades, quotes), state)
    without = _replay(_events(trades, []), state)
    for a, b in zip(with_q[1:], without[1:]):  # portfolio, ledger, counts
        assert a.tobytes() == b.tobytes()
    for f in with_q[0].dtype.names:
        if f not in _BOOK:
            assert np.array_equal(with_q[0][f], without[0][f], equal_nan=True), f
    ev = _events(trades, quotes)
    for sd, col in ((3, "bid"), (4, "ask")):
        rows = ev[(ev["kind"] == int(Kind.QUOTE)) & (ev["side"] == sd)]
        if len(rows):
            assert with_q[0][0][col] == rows[-1]["price"] and with_q[0][0][col + "_qty"] == rows[-1]["qty"]


def test_a_quote_at_the_take_profits_tick_moves_its_queue():
    """The bound is tight: an ask quoted at a long's take-profit shows the size ahead of it (unknown
    until then), and a print at the take-profit then fills it; without the quote it does not."""
    state = _open(1, 100.5, 99.0, np.inf, 0.0, 3600)
    trades = [(2.0, 100.5, 10.0)]
    with_q = _replay(_events(trades, [(1.0, 4, 100.5, 5.0)]), state)
    without = _replay(_events(trades, []), state)
    assert int(with_q[1][0]["n_trades"]) == 1 and with_q[2][0]["exit_reason"] == TAKE_PROFIT
    assert int(without[1][0]["n_trades"]) == 0 and int(without[0][0]["status"]) == sim.OPEN


class _Clock:
    def __init__(self, p_min, p_max, has_quotes=(True,)):
        n = len(p_min)
        self.book = True
        self.g = {"tr_min": np.full(n, T0, np.int64), "tr_max": np.full(n, T0 + 100 * S, np.int64),
                  "p_min": np.asarray(p_min, float), "p_max": np.asarray(p_max, float),
                  "has_quotes": np.asarray(has_quotes, bool)}


class _Cell:
    def __init__(self, side, tp, grid=0.0, status=sim.OPEN, q_on=0):
        self.st = sim.new_state(1)
        self.st[0]["status"], self.st[0]["side"], self.st[0]["tp_price"], self.st[0]["q_on"] = status, side, tp, q_on
        self.par = np.zeros(1, [("grid", "<f8")])
        self.par["grid"][0] = grid
        self.carry = None


def test_the_quote_groups_of_a_step_are_quiet_only_short_of_the_take_profit():
    from liqcore.backtest.row_groups import _quotes_quiet as quiet

    none = np.zeros(0, np.int64)
    a, b = T0 + 10 * S, T0 + 20 * S
    assert quiet(_Clock([99.0], [100.4]), _Cell(1, 100.5), a, b, none)
    assert not quiet(_Clock([99.0], [100.5]), _Cell(1, 100.5), a, b, none)  # an ask may sit at the target
    assert not quiet(_Clock([99.0], [100.496]), _Cell(1, 100.5, grid=100.0), a, b, none)  # its tick on the grid
    assert quiet(_Clock([99.0], [100.494]), _Cell(1, 100.5, grid=100.0), a, b, none)
    assert quiet(_Clock([99.6], [101.0]), _Cell(-1, 99.5), a, b, none)  # a short: the bids above its target
    assert not quiet(_Clock([99.5], [101.0]), _Cell(-1, 99.5), a, b, none)
    assert quiet(_Clock([99.0], [101.0], has_quotes=(False,)), _Cell(1, 100.5), a, b, none)  # trades only
    assert not quiet(_Clock([99.0], [100.4]), _Cell(1, 100.5), a, b, np.asarray([a + S]))  # a signal decided in it
    assert not quiet(_Clock([99.0], [100.4]), _Cell(1, 100.5, q_on=1), a, b, none)  # a replacement queued
    assert not quiet(_Clock([99.0], [100.4]), _Cell(1, 100.5, status=sim.RESTING), a, b, none)  # an entry working
    assert not quiet(_Clock([99.0, 99.0], [100.4, 100.6], has_quotes=(True, True)), _Cell(1, 100.5), a, b, none)
    far = _Clock([99.0, 99.0], [100.4, 100.6], has_quotes=(True, True))
    far.g["tr_min"][1], far.g["tr_max"][1] = b, b + S  # received from the step's end on: not its concern
    assert quiet(far, _Cell(1, 100.5), a, b, none)


def test_default_read_skips_quiet_quote_groups_and_equals_the_full_replay(tmp_path_factory, monkeypatch):
    """A wide take-profit (1%) keeps open positions' quotes short of it for whole steps: the window read
    decodes trades only there (``_quotes_quiet`` said so at least once), and the ledger (queue positions
    included), counts and cascade records are the full replay's."""
    import liqcore.backtest.windows as W
    from tests.backtest.test_backtest_default_read import _equal, _late_dataset

    path = _late_dataset(tmp_path_factory, 5, 3.0, 20.0, 700, book=True)
    said = []
    real = W._quotes_quiet

    def spy(*a):
        said.append(real(*a))
        return said[-1]

    monkeypatch.setattr(W, "_quotes_quiet", spy)
    for params in ({"fill": "queue", "take-profit": "1%"},
                   {"fill": "queue", "take-profit": "0.3%", "queue-model": "prob:2", "hold-timeout": "4h"}):
        full, dflt = _equal(path, Params.from_mapping(params))
        assert dflt.read["path"] == "windows" and len(full.trades()) > 0
    assert any(said), "no step left its quotes undecoded"
