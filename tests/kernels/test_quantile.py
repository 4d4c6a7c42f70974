"""RollingQuantile: the Cython kernel against its pysrc twin, numpy and pandas."""
from __future__ import annotations

import csv
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore._libs.detection import RollingQuantile
from pysrc.quantile import RollingQuantile as RefQuantile


def numpy_rolling(x: np.ndarray, window: int, q: float) -> np.ndarray:
    """The quantile of x[max(0, i-window+1) : i+1] for every i, by numpy (the definition)."""
    return np.array(
        [np.quantile(x[max(0, i - window + 1) : i + 1], q, method="linear") for i in range(len(x))]
    )


# values: ties, tiny, huge, negative, ordinary
_special = st.sampled_from([0.0, -0.0, 1.0, 1.0, 1.0, 2.5, -3.0, 1e-12, -1e-12, 1e300, -1e300, 1e-300])
_ordinary = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
_huge = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False, allow_infinity=False)
values = st.lists(st.one_of(_special, _ordinary, _huge), min_size=0, max_size=300)
qs = st.one_of(st.sampled_from([0.0, 1.0, 0.5, 0.95, 0.05, 0.99]), st.floats(0.0, 1.0))
windows = st.one_of(st.sampled_from([1, 2, 3]), st.integers(1, 400))


@pytest.mark.property
@given(xs=values, window=windows, q=qs)
def test_kernel_matches_numpy_and_twin_exactly(xs, window, q):
    x = np.array(xs, dtype=np.float64)
    rq = RollingQuantile(window, q)
    got = rq.update_many(x)
    want = numpy_rolling(x, window, q)
    # the kernel uses numpy's own interpolation (_lerp, both branches) on the same order statistics,
    # so the results are bit-identical
    np.testing.assert_array_equal(got, want)
    twin = RefQuantile(window, q).update_many(x)
    np.testing.assert_array_equal(got, twin)
    rq._check()
    assert len(rq) == min(window, len(x))
    np.testing.assert_array_equal(rq.values(), x[max(0, len(x) - window) :])


@pytest.mark.property
@given(xs=values, window=windows, q=qs)
def test_update_and_update_many_agree(xs, window, q):
    a = RollingQuantile(window, q)
    b = RollingQuantile(window, q)
    per_event = np.array([a.update(v) for v in xs], dtype=np.float64)
    batch = b.update_many(np.array(xs, dtype=np.float64))
    np.testing.assert_array_equal(per_event, batch)
    if xs:
        assert a.value == per_event[-1]
    else:
        assert math.isnan(a.value)


@pytest.mark.property
@given(
    pool=st.lists(st.floats(-100, 100), min_size=1, max_size=4),
    idx=st.lists(st.integers(0, 3), min_size=1, max_size=400),
    window=windows,
    q=qs,
)
def test_heavy_ties(pool, idx, window, q):
    """Streams drawn from a handful of distinct values (many exact ties)."""
    x = np.array([pool[i % len(pool)] for i in idx], dtype=np.float64)
    rq = RollingQuantile(window, q)
    np.testing.assert_array_equal(rq.update_many(x), numpy_rolling(x, window, q))
    rq._check()


@pytest.mark.property
@given(
    xs=st.lists(st.floats(0, 1e7), min_size=1, max_size=500),
    window=st.integers(1, 200),
    q=qs,
)
def test_against_pandas_rolling(xs, window, q):
    """pandas interpolates as ``lo + (hi - lo) * frac``; numpy's _lerp switches to
    ``hi - (hi - lo) * (1 - frac)`` for frac >= 0.5, so the two may differ by rounding (a few ulp).  Below the
    smallest normal float that rounding is the whole value (between 0 and 5e-324 at frac 0.5 one form gives 0,
    the other 5e-324): an absolute difference under 2.2e-308 is not a difference."""
    pd = pytest.importorskip("pandas")
    x = np.array(xs, dtype=np.float64)
    want = pd.Series(x).rolling(window, min_periods=1).quantile(q, interpolation="linear").to_numpy()
    got = RollingQuantile(window, q).update_many(x)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=np.finfo(np.float64).tiny)


@pytest.mark.property
@given(
    xs=st.lists(_ordinary, min_size=1, max_size=200),
    ys=st.lists(_ordinary, min_size=1, max_size=200),
    window=windows,
    q=qs,
)
def test_clear_restarts_from_empty(xs, ys, window, q):
    rq = RollingQuantile(window, q)
    rq.update_many(np.array(xs))
    rq.clear()
    assert len(rq) == 0 and math.isnan(rq.value)
    np.testing.assert_array_equal(rq.update_many(np.array(ys)), numpy_rolling(np.array(ys), window, q))


def test_window_larger_than_stream_and_window_one():
    x = np.array([5.0, 1.0, 3.0])
    np.testing.assert_array_equal(RollingQuantile(10, 0.5).update_many(x), [5.0, 3.0, 3.0])
    np.testing.assert_array_equal(RollingQuantile(1, 0.95).update_many(x), x)


def test_known_values():
    rq = RollingQuantile(3, 0.5)
    assert [rq.update(v) for v in (1.0, 2.0, 3.0, 4.0)] == [1.0, 1.5, 2.0, 3.0]
    rq = RollingQuantile(4, 1.0)
    assert [rq.update(v) for v in (1.0, 7.0, 3.0, 2.0, 0.0, 0.0)] == [1.0, 7.0, 7.0, 7.0, 7.0, 3.0]
    rq = RollingQuantile(4, 0.0)
    assert [rq.update(v) for v in (1.0, 7.0, 3.0, 2.0, 9.0)] == [1.0, 1.0, 1.0, 1.0, 2.0]


def test_huge_values_match_numpy_exactly():
    x = np.array([1e300, -1e300, 1e300, 1e-12, -1e300, 1e300, 1.7e308, -1.7e308] * 5)
    for q in (0.0, 0.3, 0.5, 0.95, 1.0):
        with np.errstate(over="ignore", invalid="ignore"):
            want = numpy_rolling(x, 5, q)
        np.testing.assert_array_equal(RollingQuantile(5, q).update_many(x), want)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_input_is_rejected(bad):
    rq = RollingQuantile(10, 0.5)
    rq.update(1.0)
    with pytest.raises(ValueError, match="x must be finite"):
        rq.update(bad)
    with pytest.raises(ValueError, match=r"x\[1\]"):
        rq.update_many(np.array([2.0, bad, 3.0]))
    assert len(rq) == 1 and rq.value == 1.0  # the failed batch left the state untouched
    with pytest.raises(ValueError, match="x must be finite"):
        RefQuantile(10, 0.5).update(bad)


@pytest.mark.parametrize("cls", [RollingQuantile, RefQuantile])
def test_bad_parameters(cls):
    with pytest.raises(ValueError, match="window"):
        cls(0, 0.5)
    with pytest.raises(ValueError, match="window"):
        cls(-3, 0.5)
    for q in (-0.01, 1.01, math.nan):
        with pytest.raises(ValueError, match="q must be"):
            cls(10, q)


def test_state_size_and_pickle():
    rq = RollingQuantile(1000, 0.95)
    assert rq.nbytes <= 40 * 1024
    x = np.random.default_rng(3).lognormal(10, 2, size=1500)
    rq.update_many(x)
    clone = pickle.loads(pickle.dumps(rq))
    assert clone.value == rq.value and len(clone) == 1000
    assert clone.update(5.0) == rq.update(5.0)
    assert "window=1000" in repr(rq)


def test_strided_input():
    x = np.arange(40, dtype=np.float64)[::-3]
    np.testing.assert_array_equal(RollingQuantile(4, 0.95).update_many(x), numpy_rolling(x, 4, 0.95))


def test_real_binance_notionals(real_data):
    """Rolling P95 of real Binance liquidation notionals (usd_size column) equals numpy's."""
    notionals = []
    for path in sorted(real_data.glob("*/binance.csv")):
        with path.open(newline="") as fh:
            for row in csv.reader(fh):
                if len(row) >= 12:
                    try:
                        notionals.append(float(row[11]))
                    except ValueError:
                        continue
    x = np.array(notionals)
    assert len(x) > 1000
    for window in (100, 1000):
        rq = RollingQuantile(window, 0.95)
        np.testing.assert_array_equal(rq.update_many(x), numpy_rolling(x, window, 0.95))
        rq._check()


def test_update_many_accepts_sequences():
    rq = RollingQuantile(3, 0.5)
    np.testing.assert_array_equal(rq.update_many([3, 1, 2, 10]), [3.0, 2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match="1-d"):
        rq.update_many([[1.0, 2.0]])


@pytest.mark.parametrize("window,q", [(1000, 0.95), (37, 0.5), (2, 0.3), (500, 1.0), (500, 0.0)])
def test_long_stream_spot_checks(window, q):
    """300k events (heavy tails, runs of ties, level shifts): spot-checked against numpy and the
    heap invariants verified at the end."""
    rng = np.random.default_rng(window)
    n = 300_000
    x = rng.lognormal(8, 2.5, n)
    x[rng.random(n) < 0.2] = 1000.0  # ties
    x[100_000:150_000] *= 1e6  # level shift up, then back down
    x[200_000:200_500] = 5.0  # a flat run longer than small windows
    rq = RollingQuantile(window, q)
    got = rq.update_many(x)
    for i in np.concatenate([rng.integers(0, n, 300), [n - 1, 149_999, 150_000, 200_499]]):
        want = np.quantile(x[max(0, i - window + 1) : i + 1], q, method="linear")
        assert got[i] == want, (i, got[i], want)
    rq._check()


@pytest.mark.property
@settings(max_examples=25, deadline=None)
@given(runs=st.lists(st.tuples(st.sampled_from([-1, 0, 1]), st.integers(1, 1500), st.floats(0.001, 100.0)),
                     min_size=1, max_size=4),
       window=st.integers(260, 1500), q=st.one_of(st.sampled_from([0.95, 0.99, 1.0, 0.5]), st.floats(0.3, 1.0)),
       ties=st.integers(0, 5))
def test_monotone_runs_match_numpy_and_keep_the_invariants(runs, window, q, ties):
    """Long rising, falling and flat runs (every value a new extreme: the low side's bound moves at every few
    pushes, the larger values poured back and refilled) with windows large enough for the pour-backs (a low side
    past 256 values): each quantile is numpy's, the heaps' invariants hold every 97 pushes and at the end."""
    x, at = [], 1000.0
    for direction, n, step in runs:
        for _ in range(n):
            at += direction * step
            x.append(round(at, ties))  # (rounded: runs of equal values too)
    x = np.array(x, dtype=np.float64)
    rq = RollingQuantile(window, q)
    got = np.empty(len(x))
    for i, v in enumerate(x.tolist()):
        got[i] = rq.update(v)
        if i % 97 == 0:
            rq._check()
    rq._check()
    np.testing.assert_array_equal(got, numpy_rolling(x, window, q))


def test_update_is_a_plain_c_method():
    """``update`` is called per event from Python: bound, it must be a builtin method taking one positional
    argument (the interpreter's direct METH_O call), not a Python-level function object wrapped in a bound method
    (an extra call layer; benches/bench_quantile.py measures the call)."""
    bound = RollingQuantile(10, 0.5).update
    assert type(bound) is type(len), type(bound)  # builtin_function_or_method
    with pytest.raises(TypeError):
        bound(x=1.0)  # no keyword parsing
    with pytest.raises(TypeError):
        bound(1.0, 2.0)


@pytest.mark.property
@given(
    xs=st.lists(st.one_of(st.sampled_from([0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324]), _ordinary), max_size=300),
    window=windows,
    q=qs,
)
def test_update_results_bit_for_bit(xs, window, q):
    """``update`` hands back the float object of the previous call while the quantile keeps its bits: every
    result must still carry the bits ``update_many`` gives (0.0 and -0.0 told apart)."""
    a = RollingQuantile(window, q)
    per_event = np.array([a.update(v) for v in xs], dtype=np.float64)
    batch = RollingQuantile(window, q).update_many(np.array(xs, dtype=np.float64))
    np.testing.assert_array_equal(per_event.view(np.int64), batch.view(np.int64))


def test_update_reuses_the_result_object_while_the_quantile_stands():
    rq = RollingQuantile(5, 0.5)
    first = rq.update(2.0)
    assert rq.update(2.0) is first  # same quantile: no new float object
    same = rq.update(7.0)
    assert same == 2.0 and same is first  # median of (2, 2, 7) is still 2.0
    assert rq.update(7.0) == 4.5  # median of (2, 2, 7, 7)
    one = RollingQuantile(1, 0.5)
    assert math.copysign(1.0, one.update(0.0)) == 1.0
    assert math.copysign(1.0, one.update(-0.0)) == -1.0  # equal to 0.0, yet a different value


def _segments_stream(segments, seed):
    """A stream made of runs: rising and falling ramps (the low side's largest values leave or arrive in a
    row), flat runs (ties) and noise, each at its own level."""
    rng = np.random.default_rng(seed)
    parts = []
    for kind, n, level in segments:
        base = 10.0 ** level
        if kind == "up":
            parts.append(base * (1.0 + np.cumsum(rng.random(n))))
        elif kind == "down":
            parts.append(base * (1.0 + np.cumsum(rng.random(n))[::-1]))
        elif kind == "flat":
            parts.append(np.full(n, base))
        else:
            parts.append(base * rng.lognormal(0.0, 1.5, n))
    return np.concatenate(parts)


@pytest.mark.property
@settings(max_examples=60, deadline=None)
@given(
    segments=st.lists(
        st.tuples(st.sampled_from(["up", "down", "flat", "noise"]), st.integers(1, 700), st.integers(-3, 6)),
        min_size=1,
        max_size=5,
    ),
    window=st.one_of(st.integers(1, 40), st.integers(100, 700)),
    q=st.one_of(st.sampled_from([0.95, 0.99, 0.5, 0.0, 1.0]), st.floats(0.0, 1.0)),
    seed=st.integers(0, 2**32 - 1),
)
def test_trends_and_level_shifts_match_the_twin(segments, window, q, seed):
    """Long monotone runs empty the small max-heap below the split again and again (refills from the unordered
    part) and, rising, grow it past its bound (poured back and refilled); windows of hundreds of values make
    both happen. Every result equals the twin's, bit for bit, and the invariants hold after every push."""
    x = _segments_stream(segments, seed)
    rq = RollingQuantile(window, q)
    twin = RefQuantile(window, q)
    got = np.empty(len(x))
    for i, v in enumerate(x.tolist()):
        got[i] = rq.update(v)
        rq._check()
    want = twin.update_many(x)
    np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))
    np.testing.assert_array_equal(rq.update_many(x[::-1]), twin.update_many(x[::-1]))
    np.testing.assert_array_equal(rq.values(), twin.values())


def _numpy_rolling_fast(x: np.ndarray, window: int, q: float) -> np.ndarray:
    """numpy_rolling by blocks of full windows (np.quantile along an axis: the same partition and _lerp)."""
    from numpy.lib.stride_tricks import sliding_window_view

    head = numpy_rolling(x[: window - 1], window, q)
    full = sliding_window_view(x, window)
    blocks = [np.quantile(full[i : i + 2000], q, axis=1, method="linear") for i in range(0, len(full), 2000)]
    return np.concatenate([head, *blocks])


@pytest.mark.parametrize("window,q", [(1000, 0.95), (1000, 0.99), (300, 0.5), (150, 0.95), (1000, 0.05)])
def test_ramps_refill_and_repartition(window, q):
    """Rising ramps longer than the window (every new value above the bound: the small heap grows past its size
    and is poured back, again and again), falling ramps (the largest values leave in a row: the small heap
    empties and is refilled from the unordered part), noise between them: equal to numpy's quantile of every
    window, invariants checked along the way."""
    rng = np.random.default_rng(window + int(q * 100))
    parts = []
    for n in (3000, 2500, 1700, 900, 400, 60):
        parts += [np.cumsum(rng.random(n)) + 1.0, np.cumsum(rng.random(n))[::-1] + 1.0, rng.lognormal(8, 2, n)]
    x = np.concatenate(parts)
    rq = RollingQuantile(window, q)
    got = np.concatenate([rq.update_many(chunk) for chunk in np.array_split(x, 40) if rq._check()])
    np.testing.assert_array_equal(got, _numpy_rolling_fast(x, window, q))
    rq._check()


@pytest.mark.parametrize("window,q", [(1500, 0.95), (700, 0.5), (300, 0.99)])
def test_monotone_runs_then_random_values_match_the_twin_after_every_push(window, q):
    """Long falling and rising runs (refills one after another, the small heap growing) and random values after them
    (refills rare again): bit for bit the twin after every push, the invariants checked after every push."""
    rng = np.random.default_rng(window)
    parts = []
    for n in (2 * window, window):
        parts += [np.cumsum(rng.random(n))[::-1] + 1.0, np.cumsum(rng.random(n)) + 1.0, rng.lognormal(8, 2, n)]
    parts.append(np.cumsum(rng.random(window))[::-1] + 1.0)
    x = np.concatenate(parts)
    rq = RollingQuantile(window, q)
    twin = RefQuantile(window, q)
    for i, v in enumerate(x.tolist()):
        got = rq.update(v)
        want = twin.update(v)
        assert np.float64(got).view(np.int64) == np.float64(want).view(np.int64), (i, got, want)
        rq._check()
