"""The plausibility rule's shortcuts for the usual file (one symbol, one kind, every time a clock
reading) give exactly the general rule's answer: the same rows, judged with a second symbol or an
out-of-calendar event beside them (which forces the general, grouping path), are judged alike."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.types import EVENT_DTYPE, Kind
from liqcore.validate import implausible_times, implausible_values

T0 = 1_722_470_400_000_000_000  # 2024-08-01, ns


def _events(steps, prices, qtys, kind=Kind.TRADE, sid=0):
    n = len(steps)
    ev = np.zeros(n, EVENT_DTYPE)
    ev["ts_event"] = T0 + np.cumsum(np.asarray(steps, dtype=np.int64))
    ev["ts_recv"] = ev["ts_event"] + 1_000_000
    ev["price"] = prices
    ev["qty"] = qtys
    ev["kind"] = int(kind)
    ev["symbol_id"] = sid
    ev["side"] = 3
    return ev


@st.composite
def _stream(draw):
    n = draw(st.integers(3, 60))
    # pauses from none (equal times) to hours (a new reference segment), strays of days
    steps = draw(st.lists(st.sampled_from([0, 1, 10**6, 10**9, 2 * 3600 * 10**9, 3 * 86_400 * 10**9]),
                          min_size=n, max_size=n))
    base = draw(st.sampled_from([0.0001, 1.0, 64_000.0, 1e9]))
    factors = draw(st.lists(st.sampled_from([1.0, 1.0, 1.0, 1.001, 0.999, 20.0, 0.02, 1e6]), min_size=n, max_size=n))
    qtys = draw(st.lists(st.sampled_from([0.001, 1.0, 5.0, 1e4, 1e12]), min_size=n, max_size=n))
    return _events(steps, base * np.asarray(factors), qtys)


@settings(max_examples=200, deadline=None)
@given(_stream())
def test_one_symbol_values_equal_the_grouped_rule(ev):
    other = _events([1] * 5, [3.0] * 5, [1.0] * 5, sid=9)
    p1, n1 = implausible_values(ev)
    p2, n2 = implausible_values(np.concatenate([ev, other]))
    assert p1.tolist() == p2[:len(ev)].tolist()
    assert n1.tolist() == n2[:len(ev)].tolist()


@settings(max_examples=200, deadline=None)
@given(_stream())
def test_clock_times_equal_the_general_rule(ev):
    late = ev[-1:].copy()
    late["ts_event"] = 10**9  # 1970: outside the calendar, so the general path runs
    both = np.concatenate([ev, late])
    fast = implausible_times(ev["ts_event"], ev["ts_recv"])
    general = implausible_times(both["ts_event"], both["ts_recv"])
    assert general[-1]
    assert fast.tolist() == general[:len(ev)].tolist()


def test_the_shortcuts_still_catch_a_stray_price_and_time():
    ev = _events([10**9] * 40, [100.0] * 40, [1.0] * 40)
    ev["price"][20] = 100_000.0  # x1000 off the neighbours
    ev["ts_event"][30] += 30 * 86_400 * 10**9  # a month away from both neighbours
    pbad, _ = implausible_values(ev)
    assert np.flatnonzero(pbad).tolist() == [20]
    assert np.flatnonzero(implausible_times(ev["ts_event"], ev["ts_recv"])).tolist() == [30]


@settings(max_examples=200, deadline=None)
@given(_stream(), st.lists(st.booleans(), min_size=60, max_size=60))
def test_a_book_alone_is_judged_as_beside_trades(ev, empty):
    """A file of quotes only (no notional judged, the shortcut that keeps none) gets the rule's answer
    for the same rows judged beside another symbol's trades (the grouping path, notionals computed)."""
    ev["kind"] = int(Kind.QUOTE)
    ev["qty"][np.asarray(empty[:len(ev)])] = 0.0  # empty sides of the book: not judged
    other = _events([1] * 5, [3.0] * 5, [1.0] * 5, sid=9)
    p1, n1 = implausible_values(ev)
    p2, n2 = implausible_values(np.concatenate([ev, other]))
    assert p1.tolist() == p2[:len(ev)].tolist()
    assert n1.tolist() == n2[:len(ev)].tolist() and not n1.any()
