"""The one-pass figures of a file's rows (liqcore._libs.reading) vs their twin (pysrc.eventscan): an event
array's ranges, neighbour steps (int64 extremes, where the differences wrap), order, clock-guard count and
unknown receive times, on contiguous rows and strided views, with the guard off and at any skew; the usual
file's time test judged from those figures equals validate's own; and the clock index's search of one
section, on strided time columns of a partition's rows, sorted and not."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore._libs.reading import clock_witness, event_scan
from liqcore.dataset.write import _ROW_DTYPE
from liqcore.types import EVENT_DTYPE
from liqcore.validate import (FILE_TIME_MAX_NS, MAX_TIME_JUMP_NS, TIME_MIN_NS, _usual_times,
                              usual_times_scanned)
from liqcore.venues.common import RECV_CLOCK_MIN_NS, RECV_UNKNOWN
from pysrc import eventscan as twin

pytestmark = pytest.mark.property

I64 = np.iinfo(np.int64)
T0 = 1_722_470_400_000_000_000  # 2024-08-01
_TIME = st.one_of(
    st.integers(T0 - 10**12, T0 + 10**12),  # a day's clock
    st.integers(I64.min, I64.max),  # anything, the extremes included (the steps wrap)
    st.sampled_from([RECV_UNKNOWN, 0, RECV_CLOCK_MIN_NS - 1, RECV_CLOCK_MIN_NS, TIME_MIN_NS - 1, TIME_MIN_NS,
                     FILE_TIME_MAX_NS, FILE_TIME_MAX_NS + 1, I64.min, I64.max]))


@st.composite
def _events(draw, max_n=40):
    n = draw(st.integers(0, max_n))
    a = np.zeros(n, EVENT_DTYPE)
    smooth = draw(st.booleans())  # a file's clock: close neighbours, mostly in order
    if smooth and n:
        t = T0 + np.cumsum(np.array(draw(st.lists(st.integers(-10**9, 10**11), min_size=n, max_size=n)), np.int64))
        a["ts_event"] = t
        a["ts_recv"] = t + np.array(draw(st.lists(st.integers(-10**10, 10**10), min_size=n, max_size=n)), np.int64)
    else:
        a["ts_event"] = draw(st.lists(_TIME, min_size=n, max_size=n))
        a["ts_recv"] = draw(st.lists(_TIME, min_size=n, max_size=n))
    a["kind"] = draw(st.lists(st.integers(-128, 127), min_size=n, max_size=n))
    a["venue"] = draw(st.lists(st.integers(-128, 127), min_size=n, max_size=n))
    a["symbol_id"] = draw(st.lists(st.integers(-2**31, 2**31 - 1), min_size=n, max_size=n))
    if draw(st.booleans()):  # a strided view
        a = a[::draw(st.integers(1, 3))]
    return a


_SKEW = st.one_of(st.none(), st.integers(-10**12, 10**12), st.just(5_000_000_000))


@settings(max_examples=400, deadline=None)
@given(_events(), _SKEW)
def test_event_scan_equals_its_twin(ev, skew):
    got = event_scan(ev, skew)
    assert got == twin.event_scan(ev, skew)
    assert tuple(got._fields) == tuple(twin.EventScan._fields)


@settings(max_examples=400, deadline=None)
@given(_events(), st.booleans(), st.sampled_from([MAX_TIME_JUMP_NS, 10**9, 0, None]))
def test_the_usual_time_test_from_the_scan_equals_validates(ev, calendar, jump):
    want = _usual_times(ev["ts_event"], ev["ts_recv"], jump, FILE_TIME_MAX_NS, calendar)
    assert usual_times_scanned(event_scan(ev), jump, FILE_TIME_MAX_NS, calendar) == want


def test_the_guard_count_is_drop_futures():
    from liqcore.venues.common import drop_future

    ev = np.zeros(4, EVENT_DTYPE)
    ev["ts_recv"] = [T0, T0, RECV_UNKNOWN, RECV_CLOCK_MIN_NS - 1]
    ev["ts_event"] = [T0 + 5_000_000_001, T0 + 5_000_000_000, T0 + 10**12, T0]
    kept, n = drop_future(ev, 5_000_000_000)
    assert n == 1 and event_scan(ev, 5_000_000_000).n_future == 1
    assert event_scan(ev).n_future == 0 and event_scan(ev).n_recv_unknown == 1
    with pytest.raises(ValueError):
        event_scan(np.zeros(3, np.int64))


@st.composite
def _section(draw):
    n = draw(st.integers(0, 30))
    rows = np.zeros(n, _ROW_DTYPE)  # packed 43-byte rows: the time columns are unaligned strided views
    te = np.array(draw(st.lists(st.integers(0, 50), min_size=n, max_size=n)), np.int64)
    if draw(st.integers(0, 5)):  # sorted, as a section is written (else: the search says None)
        te = np.sort(te)
    rows["ts_event_ns"] = te
    rows["ts_recv_ns"] = te + np.array(draw(st.lists(st.integers(-5, 20), min_size=n, max_size=n)), np.int64)
    m = draw(st.integers(0, 12))
    r_te = np.array(draw(st.lists(st.integers(-2, 52), min_size=m, max_size=m)), np.int64)
    r_tr = r_te + np.array(draw(st.lists(st.integers(-5, 25), min_size=m, max_size=m)), np.int64)
    return rows, r_te, r_tr


@settings(max_examples=500, deadline=None)
@given(_section())
def test_clock_witness_equals_its_twin(sec):
    rows, r_te, r_tr = sec
    te, tr = rows["ts_event_ns"], rows["ts_recv_ns"]
    got, want = clock_witness(te, tr, r_te, r_tr), twin.clock_witness(te, tr, r_te, r_tr)
    if want is None:
        assert got is None
        return
    assert got is not None
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    # and by brute force: the row with the latest event time (the last of equal ones) stamped after r_te and
    # received before r_tr
    for q in range(len(r_te)):
        cand = [j for j in range(len(te)) if te[j] > r_te[q] and tr[j] < r_tr[q]]
        if cand:
            j = max(cand, key=lambda j: (te[j], j))
            assert (got[0][q], got[1][q]) == (te[j], tr[j])
        else:
            assert got[0][q] == twin.NONE


def test_clock_witness_on_real_sizes_equals_its_twin():
    """A day's worth of quote rows (12 M here scaled to 2 M) and a few hundred liquidations."""
    rng = np.random.default_rng(5)
    n = 2_000_000
    rows = np.zeros(n, _ROW_DTYPE)
    te = np.sort(T0 + rng.integers(0, 86_400 * 10**9, n))
    rows["ts_event_ns"] = te
    rows["ts_recv_ns"] = te + rng.integers(1_000_000, 60_000_000, n)
    r_te = np.sort(T0 + rng.integers(0, 86_400 * 10**9, 300))
    r_tr = r_te + rng.integers(100_000_000, 600_000_000, 300)  # (a liquidation feed slower than the book)
    got = clock_witness(rows["ts_event_ns"], rows["ts_recv_ns"], r_te, r_tr)
    want = twin.clock_witness(rows["ts_event_ns"], rows["ts_recv_ns"], r_te, r_tr)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert (got[0] != twin.NONE).sum() > 250
