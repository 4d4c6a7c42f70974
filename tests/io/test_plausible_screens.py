"""The block-wise screens of the usual file (liqcore.validate: ``_usual_times``, ``_usual_prices``,
``_natural_pairs``; liqcore.io.base: ``_reordered``), which answer without the rules' masks of every row, give
exactly the general rules' answer: the same masks and counts with the screens as with the screens switched
off, over blocks of a few rows (steps and pairs across a block's edge), on books laid out as a reader writes
them and otherwise, trades, marks, two symbols, empty sides, steps just under and over the price rule's."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import liqcore.validate as V
from liqcore.io.base import _reordered
from liqcore.types import EVENT_DTYPE, Kind

T0 = 1_722_470_400_000_000_000  # 2024-08-01, ns
DAY = 86_400 * 10**9
#: a step in log price just under and just over the price rule's candidate step (log(10) / 10)
EDGE = float(np.log(10.0)) / 10


@st.composite
def _events(draw):
    n = draw(st.integers(1, 40))
    book = draw(st.booleans())  # a book as a reader writes it: bid, ask, bid, ask... of one update each
    kinds = [int(Kind.QUOTE)] if book else draw(st.lists(st.sampled_from(
        [int(Kind.QUOTE), int(Kind.TRADE), int(Kind.LIQUIDATION), int(Kind.MARK), int(Kind.FUNDING)]),
        min_size=1, max_size=3))
    steps = draw(st.lists(st.sampled_from([0, 0, 1, 10**6, 10**9, 2 * 3600 * 10**9, DAY + 1, 3 * DAY, -3 * DAY]),
                          min_size=n, max_size=n))
    # the calendar's days, a relative clock (a simulation's), or past the file bound
    t0 = draw(st.sampled_from([T0, T0, T0, 10**9, V.FILE_TIME_MAX_NS - 10**9]))
    moves = draw(st.lists(st.sampled_from([0.0, 0.0, 1e-4, -1e-4, EDGE * 0.999, -EDGE * 0.999, EDGE * 1.001,
                                           np.log(20.0), -np.log(20.0)]), min_size=n, max_size=n))
    ev = np.zeros(2 * n if book else n, EVENT_DTYPE)
    ts = t0 + np.cumsum(np.asarray(steps, dtype=np.int64))
    price = 64_000.0 * np.exp(np.cumsum(moves))
    if draw(st.booleans()):  # a time out of the calendar, a receive time that is no clock reading
        ts[draw(st.integers(0, n - 1))] = draw(st.sampled_from([10**9, 5 * 10**18]))
    recv = ts + 1_000_000
    if draw(st.booleans()):
        recv[draw(st.integers(0, n - 1))] = draw(st.sampled_from([-1, 5, 5 * 10**18]))
    if book:
        spread = np.asarray(draw(st.lists(st.sampled_from([0.5, 0.5, 0.0, -0.5]), min_size=n, max_size=n)))
        ev["ts_event"][0::2] = ev["ts_event"][1::2] = ts
        ev["ts_recv"][0::2] = ev["ts_recv"][1::2] = recv
        ev["price"][0::2], ev["price"][1::2] = price, price + spread
        ev["side"][0::2], ev["side"][1::2] = 3, 4
        ev["qty"] = 1.0
        ev["kind"] = int(Kind.QUOTE)
    else:
        ev["ts_event"], ev["ts_recv"], ev["price"] = ts, recv, price
        ev["kind"] = [draw(st.sampled_from(kinds)) for _ in range(n)]
        ev["side"] = [draw(st.sampled_from([1, 2, 3, 4])) for _ in range(n)]
        ev["qty"] = [draw(st.sampled_from([0.001, 1.0, 5.0, 1e4, 1e12])) for _ in range(n)]
    for _ in range(draw(st.integers(0, 2))):  # faults: an empty side, a price that is no number, a symbol
        i = draw(st.integers(0, len(ev) - 1))
        what = draw(st.sampled_from(["empty", "nan", "zero", "symbol", "swap", "recv", "time", "side", "size",
                                     "cut"]))
        if what == "empty":
            ev["qty"][i], ev["price"][i] = 0.0, np.nan
        elif what == "size":  # an empty side with its price (not judged, not in the reference's window)
            ev["qty"][i] = 0.0
        elif what == "cut" and len(ev) > 1:  # a book's last update without its ask
            ev = ev[:-1]
        elif what == "nan":
            ev["price"][i] = np.nan
        elif what == "zero":
            ev["price"][i] = 0.0
        elif what == "symbol":
            ev["symbol_id"][i] = 1
        elif what in ("recv", "time"):  # one row of an update a tick apart from the other
            ev["ts_recv" if what == "recv" else "ts_event"][i] += 1
        elif what == "side":
            ev["side"][i] = 7 - ev["side"][i] if ev["side"][i] in (3, 4) else 3
        elif i + 1 < len(ev):
            ev[[i, i + 1]] = ev[[i + 1, i]]
    return ev


def _general(monkeypatch, fn, *args, **kw):
    with monkeypatch.context() as m:
        m.setattr(V, "_usual_times", lambda *a, **k: False)
        m.setattr(V, "_usual_prices", lambda *a, **k: None)
        m.setattr(V, "_natural_pairs", lambda *a, **k: None)
        return fn(*args, **kw)


@pytest.mark.property
def test_screens_answer_as_the_general_rules(monkeypatch):
    hits = {"times": 0, "prices": 0, "pairs": 0}

    @settings(max_examples=400, deadline=None)
    @given(_events(), st.sampled_from([1, 2, 3, 7, 1 << 20]))
    def check(ev, block):
        with monkeypatch.context() as m:
            m.setattr(V, "_SCREEN_BLOCK", block)
            hits["times"] += V._usual_times(ev["ts_event"], ev["ts_recv"], V.MAX_TIME_JUMP_NS, V.FILE_TIME_MAX_NS,
                                            True)
            hits["prices"] += V._usual_prices(ev, V.DEFAULT_PLAUSIBILITY) is not None
            hits["pairs"] += V._natural_pairs(ev, block) is not None
            for calendar in (True, False):
                fast = V.implausible_times(ev["ts_event"], ev["ts_recv"], calendar=calendar)
                slow = _general(monkeypatch, V.implausible_times, ev["ts_event"], ev["ts_recv"], calendar=calendar)
                assert fast.tolist() == slow.tolist()
            fast = V.implausible_times(ev["ts_event"])
            assert fast.tolist() == _general(monkeypatch, V.implausible_times, ev["ts_event"]).tolist()
            p1, n1 = V.implausible_values(ev)
            p2, n2 = _general(monkeypatch, V.implausible_values, ev)
            assert p1.tolist() == p2.tolist() and n1.tolist() == n2.tolist()
            c1 = V.crossed_quotes(ev, block)
            assert c1.tolist() == _general(monkeypatch, V.crossed_quotes, ev, block).tolist()

    check()
    assert min(hits.values()) > 0  # each screen answered some of the examples itself


def test_a_second_symbol_is_judged_among_its_own_events():
    """Two symbols: each price judged against its own symbol's neighbours, however small the steps between rows
    of the file (the second symbol's two events, a long drift of the first apart, are x20 apart)."""
    n = 400
    ev = np.zeros(n, EVENT_DTYPE)
    ev["ts_event"] = T0 + np.arange(n, dtype=np.int64) * 10**6
    ev["ts_recv"] = ev["ts_event"] + 5
    ev["price"] = 100.0 * np.exp(np.linspace(0.0, np.log(20.0), n))  # steps of under 1 %
    ev["qty"], ev["kind"], ev["side"] = 1.0, int(Kind.TRADE), 1
    ev["symbol_id"][[0, 1, n - 1]] = 1
    assert V._usual_prices(ev, V.DEFAULT_PLAUSIBILITY) is None
    pbad, _ = V.implausible_values(ev)
    assert pbad[n - 1]  # x20 its own symbol's other events


def test_a_price_step_of_the_rule_is_still_caught_in_a_book():
    """A day's book, laid out as a reader writes it, whose bid jumps x1000 for one update in the middle of a
    block: the screens let it through to the rule, which marks it."""
    n = 3000
    ev = np.zeros(2 * n, EVENT_DTYPE)
    ts = T0 + np.arange(n, dtype=np.int64) * 10**6
    ev["ts_event"][0::2] = ev["ts_event"][1::2] = ts
    ev["ts_recv"] = ev["ts_event"] + 5
    ev["price"][0::2], ev["price"][1::2] = 100.0, 100.5
    ev["side"][0::2], ev["side"][1::2] = 3, 4
    ev["qty"], ev["kind"] = 1.0, int(Kind.QUOTE)
    assert V._usual_prices(ev, V.DEFAULT_PLAUSIBILITY) == 0
    ev["price"][2 * 1500] = 100_000.0
    assert V._usual_prices(ev, V.DEFAULT_PLAUSIBILITY) is None
    pbad, _ = V.implausible_values(ev)
    assert np.flatnonzero(pbad).tolist() == [3000]
    crossed = V.crossed_quotes(ev)
    assert np.flatnonzero(crossed).tolist() == [3000, 3001]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 30), max_size=60), st.sampled_from([1, 2, 3, 7, 1 << 20]))
def test_reordered_counts_as_the_running_maximum(ts, block):
    t = np.asarray(ts, dtype=np.int64)
    want = int(np.count_nonzero(t[1:] < np.maximum.accumulate(t)[:-1])) if len(t) > 1 else 0
    assert _reordered(t, block) == want
    s = np.sort(t)
    assert _reordered(s, block) == 0


def test_empty_sides_are_left_out_of_the_reference():
    """A long stretch of empty sides of the book (size 0) whose prices drift x20 in small steps: the non-empty
    quotes on either side are judged against each other (x20 apart), not through the empty ones."""
    n = 400
    ev = np.zeros(n, EVENT_DTYPE)
    ev["ts_event"] = T0 + np.arange(n, dtype=np.int64) * 10**6
    ev["ts_recv"] = ev["ts_event"] + 5
    ev["price"] = 100.0 * np.exp(np.linspace(0.0, np.log(20.0), n))
    ev["qty"], ev["kind"], ev["side"] = 0.0, int(Kind.QUOTE), 3
    ev["qty"][:3] = ev["qty"][-3:] = 1.0
    assert V._usual_prices(ev, V.DEFAULT_PLAUSIBILITY) is None
    pbad, _ = V.implausible_values(ev)
    assert pbad[-3:].any()


def test_a_first_time_a_day_after_the_rest_is_a_stray():
    """Times that step back by days once, at the start: the first is the stray (the screen of the usual file
    does not take a step back for none)."""
    ts = np.array([T0, T0 - 3 * DAY, T0 - 3 * DAY + 1, T0 - 3 * DAY + 2], dtype=np.int64)
    assert not V._usual_times(ts, None, V.MAX_TIME_JUMP_NS, V.FILE_TIME_MAX_NS, True)
    assert V.implausible_times(ts).tolist() == [True, False, False, False]
    assert V.implausible_times(ts[::-1].copy()).tolist() == [False, False, False, True]


def test_a_receive_time_before_2000_among_clock_readings_is_a_slip():
    """A file of calendar times whose receive times are clock readings: one before 2000 (a millisecond stamp read as
    nanoseconds, or 1) is implausible -- it was kept and replayed first. Alone (every receive time before 2000: test
    stamps, sequence numbers), or the unknown mark (-1), it stays unjudged; so does a relative clock's file."""
    ts = T0 + np.arange(6, dtype=np.int64) * 1_000_000_000
    tr = ts + 5
    for slip in (1, 1_722_470_400_000, 0):
        r = tr.copy()
        r[3] = slip
        assert V.implausible_times(ts, r).tolist() == [False, False, False, True, False, False]
        assert not V.implausible_times(ts, r, calendar=False).any()
    r = tr.copy()
    r[3] = -1
    assert not V.implausible_times(ts, r).any()
    assert not V.implausible_times(ts, np.arange(6, dtype=np.int64)).any()  # every one a sequence number
