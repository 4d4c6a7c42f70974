"""Numba kernels of the feature store against their pysrc twins (ties, equal values, empty ranges,
huge values, NaN history)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from liqcore._jit.features import history_transform, range_max
from pysrc.features import history_transform as ref_history_transform
from pysrc.features import range_max as ref_range_max

finite = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False)
small = st.sampled_from([0.0, 1.0, -1.0, 2.5, 1e-300, 7.0])


@pytest.mark.property
@given(st.lists(st.one_of(finite, small), max_size=300), st.lists(st.tuples(st.integers(-5, 310), st.integers(-5, 310)),
                                                                  max_size=60), st.integers(1, 40))
def test_range_max_matches_twin(values, ranges, block):
    v = np.array(values, dtype=np.float64)
    lo = np.array([a for a, _ in ranges], dtype=np.int64)
    hi = np.array([b for _, b in ranges], dtype=np.int64)
    np.testing.assert_array_equal(range_max(v, lo, hi, block), ref_range_max(v, lo, hi, block))


@pytest.mark.property
def test_range_max_edges():
    v = np.array([3.0, 3.0, 1.0, 5.0, 5.0])
    np.testing.assert_array_equal(range_max(v, [0, 2, 3, 4, 0], [2, 3, 3, 1, 5]), [3.0, 1.0, np.nan, np.nan, 5.0])
    assert np.isnan(range_max(np.zeros(0), [0], [3])[0])


hist_values = st.one_of(st.just(float("nan")), st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
                        st.sampled_from([0.0, 1.0, 1.0, -2.0]))


@pytest.mark.property
@given(st.lists(hist_values, min_size=0, max_size=200), st.lists(st.integers(-3, 205), max_size=30),
       st.integers(-3, 7).filter(lambda s: s != 0), st.integers(1, 40), st.integers(0, 5))
def test_history_transform_matches_twin(src, idx0, stride, m, code):
    s = np.array(src, dtype=np.float64)
    i = np.array(idx0, dtype=np.int64)
    got, cnt = history_transform(s, i, stride, m, code)
    want, wcnt = ref_history_transform(s, i, stride, m, code)
    np.testing.assert_array_equal(cnt, wcnt)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, equal_nan=True)


@pytest.mark.property
def test_history_transform_flat_ties_and_huge():
    # flat history: z = 0, std = 0; ties count half in the rank
    s = np.array([5.0] * 10 + [7.0])
    z, c = history_transform(s, [10], 1, 10, 0)
    assert z[0] == 0.0 and c[0] == 10
    assert history_transform(s, [10], 1, 10, 2)[0][0] == 0.0
    assert history_transform(np.array([1.0, 2.0, 2.0, 2.0]), [3], 1, 3, 5)[0][0] == pytest.approx((1 + 1.0) / 3)
    # huge but finite: z stays finite
    s = np.array([1e150, -1e150, 1e150, -1e150, 0.0])
    z, _ = history_transform(s, [4], 1, 4, 0)
    assert np.isfinite(z[0])
    # no valid history: NaN and count 0
    z, c = history_transform(np.array([np.nan, np.nan, 1.0]), [2], 1, 5, 0)
    assert np.isnan(z[0]) and c[0] == 0


@pytest.mark.property
@given(st.lists(st.integers(-50, 50), max_size=200), st.lists(st.integers(-60, 60), max_size=200), st.booleans())
def test_search_right_matches_twin_and_numpy(a, v, sort_queries):
    from liqcore._jit.features import search_right
    from pysrc.features import search_right as ref_search_right

    arr = np.sort(np.array(a, dtype=np.int64))  # ties: equal timestamps
    q = np.array(sorted(v) if sort_queries else v, dtype=np.int64)
    got = search_right(arr, q)
    np.testing.assert_array_equal(got, ref_search_right(arr, q))
    np.testing.assert_array_equal(got, np.searchsorted(arr, q, side="right"))


@pytest.mark.property
def test_search_right_extremes():
    from liqcore._jit.features import search_right

    big = np.iinfo(np.int64)
    a = np.array([big.min, 0, 0, 0, big.max], dtype=np.int64)
    q = np.array([big.min, -1, 0, 1, big.max, big.min, big.max], dtype=np.int64)
    np.testing.assert_array_equal(search_right(a, q), np.searchsorted(a, q, side="right"))
    assert search_right(np.zeros(0, np.int64), q).tolist() == [0] * len(q)
