"""The window plan's first-passage walks of a block table (liqcore._libs.reading) against their twin (pysrc.passage:
the numpy masks quiet_until and _quotes_quiet ran before): random block tables sorted by first receive time with
ties, empty and zero-length spans, prices on and off the price grid, NaN prices, every mode; the columns as the
backtest hands them (field views of one structured table) and as contiguous arrays.  Negative controls: a walk that
forgets the grid, or a table not in receive order, gives another answer."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from liqcore._libs.reading import first_loud, quotes_reach
from pysrc import passage as twin

pytestmark = pytest.mark.property

_DT = [("group", "<i8"), ("tr_min", "<i8"), ("tr_max", "<i8"), ("p_min", "<f8"), ("p_max", "<f8"), ("kind", "<i8")]
_PX = st.one_of(st.sampled_from([99.0, 99.5, 99.95, 100.0, 100.04, 100.05, 100.5, 101.0]), st.floats(98.0, 102.0),
                st.just(float("nan")))


@st.composite
def _table(draw, max_n=40):
    n = draw(st.integers(0, max_n))
    t0 = np.sort(np.array(draw(st.lists(st.integers(0, 60), min_size=n, max_size=n)), np.int64))
    span = np.array(draw(st.lists(st.integers(0, 8), min_size=n, max_size=n)), np.int64)
    a = np.array(draw(st.lists(_PX, min_size=n, max_size=n)), np.float64)
    c = np.array(draw(st.lists(_PX, min_size=n, max_size=n)), np.float64)
    t = np.zeros(n, _DT)
    t["tr_min"], t["tr_max"] = t0 + 1_700_000_000_000_000_000, t0 + span + 1_700_000_000_000_000_000
    t["p_min"], t["p_max"] = np.fmin(a, c), np.fmax(a, c)
    t["p_min"][np.isnan(a)] = np.nan  # (a block whose low is not a number)
    t["kind"] = draw(st.lists(st.sampled_from([6, 7]), min_size=n, max_size=n)) if n else []
    return t


_ARGS = dict(t=_table(), b=st.integers(-2, 70), until=st.integers(-2, 80), mode=st.integers(0, 3),
             lvl=_PX, level=_PX, grid=st.sampled_from([0.0, -1.0, 10.0, 20.0, 100.0, 0.5]),
             contiguous=st.booleans(), from_zero=st.booleans())


def _cols(t, contiguous):
    cols = [t[f] for f in ("tr_min", "tr_max", "p_min", "p_max", "kind")]
    return [np.ascontiguousarray(c) for c in cols] if contiguous else cols


def _tk(x, grid):
    return np.floor(x * grid + 0.5) if grid > 0.0 else x


def _span(t, a: int, b: int, from_zero: bool) -> tuple:
    """The drawn span's ends as receive times, and the walk's start: 0, or the caller's binary search (the first
    block whose first receive time is within the widest block's span before ``a``)."""
    base = 1_700_000_000_000_000_000
    a, b = base + a, base + b
    span = int((t["tr_max"] - t["tr_min"]).max(initial=0))
    return a, b, 0 if from_zero else int(np.searchsorted(t["tr_min"], a - span, "left"))


@given(**_ARGS)
def test_first_loud_is_the_numpy_masks_answer(t, b, until, mode, lvl, level, grid, contiguous, from_zero):
    b, until, i0 = _span(t, b, until, from_zero)
    tr_min, tr_max, p_min, p_max, _kind = _cols(t, contiguous)
    level = float(_tk(level, grid))
    got = first_loud(tr_min, tr_max, p_min, p_max, i0, b, until, mode, lvl, level, grid)
    assert got == twin.first_loud(tr_min, tr_max, p_min, p_max, i0, b, until, mode, lvl, level, grid)
    assert got == twin.first_loud(tr_min, tr_max, p_min, p_max, 0, b, until, mode, lvl, level, grid)  # (i0: exact)
    if got >= 0:  # what it answers: a loud block meeting [b, until), none loud before it in the table
        assert t["tr_min"][got] < until and t["tr_max"][got] >= b


@given(**_ARGS)
def test_quotes_reach_is_the_numpy_masks_answer(t, b, until, mode, lvl, level, grid, contiguous, from_zero):
    a, b, i0 = _span(t, b, until, from_zero)
    cols = _cols(t, contiguous)
    tp = float(_tk(level, grid))
    up = mode % 2 == 0
    got = quotes_reach(*cols, i0, a, b, up, tp, grid)
    assert got == twin.quotes_reach(*cols, i0, a, b, up, tp, grid) == twin.quotes_reach(*cols, 0, a, b, up, tp, grid)


def test_a_walk_that_forgets_the_grid_or_the_order_answers_otherwise():
    """Negative controls: the same questions asked without the grid, or of a table not sorted by first receive
    time, are answered differently -- the equality above can fail."""
    t = np.zeros(3, _DT)
    t["tr_min"], t["tr_max"] = [10, 20, 30], [15, 25, 35]
    t["p_min"], t["p_max"] = [100.04, 101.0, 99.0], [100.2, 101.5, 100.5]
    t["kind"] = 7
    cols = _cols(t, False)
    # a resting buy at 100.0 on a grid of 0.1: 100.04 is 100.0 on the grid (reached); off the grid it is above it
    assert first_loud(*cols[:4], 0, 0, 100, 2, 0.0, float(_tk(100.0, 10.0)), 10.0) == 0
    assert first_loud(*cols[:4], 0, 0, 100, 2, 0.0, 100.0, 0.0) == 2
    assert quotes_reach(*cols, 0, 0, 100, False, float(_tk(100.0, 10.0)), 10.0)
    assert not quotes_reach(*cols[:4], cols[4], 0, 0, 25, False, 100.0, 0.0)
    # out of receive order: the walk stops at the first block past the span, numpy's masks look at all
    u = t[[1, 2]].copy()
    u["tr_min"], u["tr_max"] = [30, 10], [35, 15]  # (the quiet block first, the loud one, earlier, after it)
    ucols = _cols(u, True)
    assert first_loud(*ucols[:4], 0, 0, 25, 2, 0.0, 100.0, 0.0) == -1
    assert twin.first_loud(*ucols[:4], 0, 0, 25, 2, 0.0, 100.0, 0.0) == 1


def test_columns_of_other_lengths_are_refused():
    t = np.zeros(4, _DT)
    cols = _cols(t, True)
    with pytest.raises(ValueError, match="differ in length"):
        first_loud(cols[0], cols[1][:3], cols[2], cols[3], 0, 0, 10, 0, 0.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="differ in length"):
        quotes_reach(cols[0], cols[1], cols[2], cols[3], cols[4][:2], 0, 0, 10, True, 1.0, 0.0)
