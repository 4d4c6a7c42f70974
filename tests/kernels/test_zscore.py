"""RollingZScore and BucketZScore: the Cython kernels against their pysrc twins and numpy."""
from __future__ import annotations

import csv
import math
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from liqcore._libs.detection import BucketZScore, RollingZScore
from pysrc.zscore import BucketZScore as RefBucket
from pysrc.zscore import RollingZScore as RefRolling
from pysrc.zscore import zscore as ref_zscore

_special = st.sampled_from([0.0, -0.0, 1.0, 1.0, 1.0, 2.0, -3.0, 1e-12, -1e-12, 1e12, 1e150, -1e150])
_ordinary = st.floats(-1e6, 1e6)
values = st.lists(st.one_of(_special, _ordinary, _special), min_size=0, max_size=250)


def well_conditioned(base: np.ndarray) -> bool:
    """A baseline whose variance is not lost in rounding: std > 1e-4 * max|value|, and std > 1e-150
    so that squared deviations stay normal doubles (below that the variance is subnormal and has
    lost most of its digits in any implementation, numpy's included)."""
    if len(base) < 2:
        return False
    scale = float(np.max(np.abs(base)))
    std = float(np.std(base))
    return std > 1e-4 * scale and std > 1e-150


def assert_z_close(got: float, want: float, base: np.ndarray) -> None:
    """Exact agreement on NaN (short baseline) and 0.0 (flat baseline); otherwise equality within
    the rounding of a running mean/variance when the baseline is well conditioned, and finiteness
    (never inf, never NaN) when it is not."""
    if math.isnan(want):
        assert math.isnan(got)
        return
    assert math.isfinite(got)
    if want == 0.0 and len(base) and base.min() == base.max():
        assert got == 0.0
        return
    if well_conditioned(base):
        assert math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-6), (got, want)


@pytest.mark.property
@given(xs=values, n=st.one_of(st.sampled_from([1, 2, 3]), st.integers(1, 60)), min_count=st.integers(1, 3))
def test_rolling_matches_twin(xs, n, min_count):
    min_count = min(min_count, n)
    x = np.array(xs, dtype=np.float64)
    got = RollingZScore(n, min_count).update_many(x)
    want = RefRolling(n, min_count).update_many(x)
    for i in range(len(x)):
        base = x[max(0, i - n) : i]
        assert_z_close(got[i], want[i], base)
        # point in time: the twin's value is the definition over the PREVIOUS n values
        assert (math.isnan(want[i]) and math.isnan(ref_zscore(x[i], base, min_count))) or want[i] == ref_zscore(
            x[i], base, min_count
        )


@pytest.mark.property
@given(xs=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=400), n=st.integers(2, 50))
def test_rolling_well_conditioned_against_numpy(xs, n):
    """On ordinary streams every finite z equals (x - mean) / std of numpy within 1e-6."""
    x = np.array(xs)
    rz = RollingZScore(n)
    for i, v in enumerate(x):
        z = rz.update(v)
        base = x[max(0, i - n) : i]
        if len(base) < 2:
            assert math.isnan(z)
        elif base.min() == base.max():
            assert z == 0.0
        elif well_conditioned(base):
            want = (v - base.mean()) / base.std()
            assert math.isclose(z, want, rel_tol=1e-6, abs_tol=1e-6)
        else:
            assert math.isfinite(z)


@pytest.mark.property
@given(xs=values, n=st.integers(1, 40))
def test_update_and_update_many_agree(xs, n):
    a, b = RollingZScore(n), RollingZScore(n)
    per_event = np.array([a.update(v) for v in xs], dtype=np.float64)
    np.testing.assert_array_equal(per_event, b.update_many(np.array(xs, dtype=np.float64)))
    np.testing.assert_array_equal(a.values(), np.array(xs[-n:] if xs else [], dtype=np.float64))


def test_rolling_known_values_and_flat_baseline():
    rz = RollingZScore(3)
    out = [rz.update(v) for v in (1.0, 1.0, 1.0, 2.0, 5.0)]
    assert math.isnan(out[0]) and math.isnan(out[1])
    assert out[2] == 0.0  # flat baseline [1, 1]
    assert out[3] == 0.0  # flat baseline [1, 1, 1]: never inf
    assert math.isclose(out[4], (5.0 - 4.0 / 3.0) / np.std([1.0, 1.0, 2.0]))
    # 0.1 repeated: numpy's mean is not exactly 0.1, the flat rule still gives exactly 0
    rz = RollingZScore(5)
    for _ in range(5):
        rz.update(0.1)
    assert rz.std == 0.0 and rz.mean == 0.1
    assert rz.update(7.0) == 0.0


def test_rolling_min_count_and_window_one():
    rz = RollingZScore(1, min_count=1)
    out = rz.update_many(np.array([3.0, 4.0, -2.0]))
    assert math.isnan(out[0]) and out[1] == 0.0 and out[2] == 0.0  # a single value is flat
    rz = RollingZScore(10, min_count=4)
    out = rz.update_many(np.arange(6, dtype=np.float64))
    assert np.isnan(out[:4]).all() and np.isfinite(out[4:]).all()


def test_rolling_never_inf():
    rz = RollingZScore(2)
    rz.update(0.0)
    rz.update(1e-158)  # std 5e-159: 1e150 / std is beyond the float range
    z = rz.update(1e150)
    assert z == sys.float_info.max
    assert RefRolling(2).update_many([0.0, 1e-158, 1e150])[-1] == sys.float_info.max
    rz = RollingZScore(2)
    rz.update_many(np.array([0.0, 1e-300]))  # the variance underflows to 0: treated as flat
    assert rz.update(1e150) == 0.0


def test_rolling_long_stream_stays_accurate():
    """Welford drift is bounded: after 200k updates with a level shift the z matches numpy."""
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.normal(1e6, 1.0, 100_000), rng.normal(0.0, 1.0, 100_000)])
    n = 500
    got = RollingZScore(n).update_many(x)
    for i in rng.integers(n, len(x), 200):
        base = x[i - n : i]
        assert math.isclose(got[i], (x[i] - base.mean()) / base.std(), rel_tol=1e-7, abs_tol=1e-7)


@pytest.mark.parametrize("cls", [RollingZScore, RefRolling])
def test_rolling_bad_input(cls):
    with pytest.raises(ValueError, match="n must be"):
        cls(0)
    with pytest.raises(ValueError, match="n must be"):
        cls(1 << 62)
    with pytest.raises(ValueError, match="min_count"):
        cls(5, min_count=0)
    with pytest.raises(ValueError, match="min_count"):
        cls(5, min_count=6)
    rz = cls(5)
    for bad in (math.nan, math.inf, -math.inf, 1e151):
        with pytest.raises(ValueError, match="x must be finite"):
            rz.update(bad)
    rz.update(1.0)
    with pytest.raises(ValueError, match=r"x\[2\]"):
        rz.update_many(np.array([1.0, 2.0, math.nan]))
    assert len(rz) == 1


# ---- buckets -------------------------------------------------------------------------------------

B = 1_000


@st.composite
def bucket_streams(draw, max_size=150):
    n = draw(st.integers(0, max_size))
    start = draw(st.integers(-(10**12), 10**15))
    dts = draw(
        st.lists(
            st.one_of(st.sampled_from([0, 0, 1, B - 1, B, B + 1, 50 * B, 10**12]), st.integers(0, 3 * B)),
            min_size=n,
            max_size=n,
        )
    )
    ts = np.cumsum([start] + dts)[1:].astype(np.int64) if n else np.empty(0, np.int64)
    vals = np.array(
        draw(st.lists(st.one_of(st.sampled_from([0.0, 1.0, 5.0, 1e-12]), st.floats(0, 1e7)), min_size=n, max_size=n))
    )
    return ts, vals


def bucket_definition(ts, vals, bucket_ns, n_buckets, min_count):
    """For each push, the z of the bucket it closes (if any): bucket totals over the whole span,
    each scored against the previous n_buckets totals (empty buckets as 0)."""
    out = []
    totals: dict[int, float] = {}
    k_open = None
    for t, v in zip(ts, vals):
        k = t // bucket_ns
        z = math.nan
        if k_open is not None and k > k_open:
            lo = k_open - n_buckets
            base = [totals.get(j, 0.0) for j in range(max(lo, first_k), k_open)]
            z = ref_zscore(totals.get(k_open, 0.0), base, min_count)
        if k_open is None:
            first_k = k
        k_open = k if k_open is None else max(k, k_open)
        totals[k] = totals.get(k, 0.0) + v
        out.append(z)
    return out


@pytest.mark.property
@given(data=bucket_streams(), n_buckets=st.sampled_from([1, 2, 5, 20]), min_count=st.integers(1, 2))
def test_buckets_match_twin_and_definition(data, n_buckets, min_count):
    ts, vals = data
    min_count = min(min_count, n_buckets)
    got = BucketZScore(B, n_buckets, min_count).push_many(ts, vals)
    twin = RefBucket(B, n_buckets, min_count)
    definition = bucket_definition(ts.tolist(), vals.tolist(), B, n_buckets, min_count)
    for i in range(len(ts)):
        base = twin.baseline()  # the baseline that scores the bucket closed by push i
        w = twin.push(int(ts[i]), float(vals[i]))
        d = definition[i]
        assert (math.isnan(w) and math.isnan(d)) or w == d, (i, w, d)
        assert_z_close(got[i], w, base)


@pytest.mark.property
@given(data=bucket_streams(), n_buckets=st.sampled_from([1, 3, 10]))
def test_bucket_per_event_matches_batch(data, n_buckets):
    ts, vals = data
    a, b, ref = BucketZScore(B, n_buckets), BucketZScore(B, n_buckets), RefBucket(B, n_buckets)
    batch = b.push_many(ts, vals)
    for i in range(len(ts)):
        z = a.push(int(ts[i]), float(vals[i]))
        ref.push(int(ts[i]), float(vals[i]))
        assert (math.isnan(z) and math.isnan(batch[i])) or z == batch[i]
        assert a.bucket_start_ns == ref.bucket_start_ns
        assert a.open_total == ref.open_total
    np.testing.assert_array_equal(a.baseline(), ref.baseline())


def test_bucket_known_sequence():
    bz = BucketZScore(10, 3)
    out = [bz.push(t, v) for t, v in [(0, 1.0), (5, 1.0), (10, 2.0), (25, 3.0), (31, 0.0)]]
    # bucket 0 (total 2) closes with an empty baseline; bucket 1 (2) with one value; bucket 2 (3)
    # against the flat [2, 2]
    assert math.isnan(out[0]) and math.isnan(out[1]) and math.isnan(out[2]) and math.isnan(out[3])
    assert out[4] == 0.0
    np.testing.assert_array_equal(bz.baseline(), [2.0, 2.0, 3.0])
    assert bz.bucket_start_ns == 30 and bz.open_total == 0.0
    # bucket 3 (total 0) scored against [2, 2, 3]; then 6 empty buckets leave [0, 0, 0]
    z = bz.push(100, 7.0)
    assert math.isclose(z, (0.0 - 7.0 / 3.0) / np.std([2.0, 2.0, 3.0]))
    np.testing.assert_array_equal(bz.baseline(), [0.0, 0.0, 0.0])
    assert bz.current_z(105) == 0.0  # flat all-zero baseline
    z = bz.current_z(110)  # bucket 10 (total 7) closed against [0, 0, 0]
    np.testing.assert_array_equal(bz.baseline(), [0.0, 0.0, 7.0])
    assert math.isclose(bz.advance(125), 0.0 - np.mean([0, 0, 7.0]) / np.std([0, 0, 7.0]))


def test_bucket_negative_timestamps_align_to_epoch():
    bz = BucketZScore(10, 5)
    bz.push(-1, 1.0)
    assert bz.bucket_start_ns == -10
    bz.push(0, 1.0)
    assert bz.bucket_start_ns == 0
    np.testing.assert_array_equal(bz.baseline(), [1.0])


def test_bucket_huge_gap_is_cheap():
    bz = BucketZScore(1, 1000)
    bz.push(0, 5.0)
    bz.push(10**18, 1.0)  # 1e18 empty buckets: bounded work
    np.testing.assert_array_equal(bz.baseline(), np.zeros(1000))


def test_bucket_batch_clamps_late_events():
    ts = np.array([0, 15, 12, 25, 9, 31], np.int64)
    vals = np.ones(6)
    bz = BucketZScore(10, 4, min_count=1)
    got = bz.push_many(ts, vals)
    assert bz.late == 2
    ref = RefBucket(10, 4, min_count=1)
    np.testing.assert_array_equal(got, ref.push_many(ts, vals))
    again = BucketZScore(10, 4, min_count=1).push_many(np.maximum.accumulate(ts), vals)
    np.testing.assert_array_equal(got, again)
    np.testing.assert_array_equal(bz.baseline(), [1.0, 2.0, 2.0])


@pytest.mark.parametrize("cls", [BucketZScore, RefBucket])
def test_bucket_bad_input(cls):
    with pytest.raises(ValueError, match="bucket_ns"):
        cls(0, 5)
    with pytest.raises(ValueError, match="n_buckets"):
        cls(10, 0)
    with pytest.raises(ValueError, match="min_count"):
        cls(10, 3, min_count=4)
    bz = cls(10, 3)
    with pytest.raises(ValueError, match="value must be finite"):
        bz.push(0, math.nan)
    bz.push(50, 1.0)
    with pytest.raises(ValueError, match="ts_ns .* older"):
        bz.push(49, 1.0)
    with pytest.raises(ValueError, match="ts_ns .* older"):
        bz.advance(10)
    with pytest.raises(ValueError, match="ts_ns .* older"):
        bz.current_z(10)
    with pytest.raises(ValueError, match=r"value\[1\]"):
        bz.push_many(np.array([60, 70]), np.array([1.0, math.inf]))
    with pytest.raises(ValueError, match="same length"):
        bz.push_many(np.array([60, 70]), np.array([1.0]))
    assert bz.open_total == 1.0 and bz.now == 50


def test_real_liquidation_minute_buckets(real_data):
    """1-minute liquidation notional z-scores on a real recording: kernel == twin (well
    conditioned baselines) and every z is finite or NaN."""
    path = real_data / "binance-forceorder-2025-01" / "binance.csv"
    seen = set()
    rows = []
    with path.open(newline="") as fh:
        for r in csv.reader(fh):
            key = tuple(r)
            if key in seen:
                continue
            seen.add(key)
            rows.append((int(r[10]) * 1_000_000, float(r[11])))
    rows.sort()
    ts = np.array([r[0] for r in rows], np.int64)
    vals = np.array([r[1] for r in rows])
    bucket = 60 * 10**9
    got = BucketZScore(bucket, 30).push_many(ts, vals)
    want = RefBucket(bucket, 30).push_many(ts, vals)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    assert ok.sum() > 20
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-9, atol=1e-9)
    assert not np.isinf(got).any()


def test_batches_accept_sequences():
    np.testing.assert_array_equal(
        RollingZScore(3).update_many([1, 1, 1, 2]), RollingZScore(3).update_many(np.array([1.0, 1.0, 1.0, 2.0]))
    )
    for cls in (BucketZScore, RefBucket):
        got = cls(10, 3, min_count=1).push_many([0, 10, 20], [1, 2, 3])
        assert math.isnan(got[0]) and math.isnan(got[1]) and got[2] == 0.0
        with pytest.raises(ValueError, match="ts must be an integer array"):
            cls(10, 3).push_many([0.5], [1.0])


def test_subnormal_variance_stays_finite():
    """A baseline spread so small that squared deviations are subnormal (found by hypothesis): the
    z-score loses digits but stays finite and keeps its sign, in the kernel and the twin alike."""
    from liqcore._libs.detection import RollingZScore as K
    from pysrc.zscore import RollingZScore as T

    for cls in (K, T):
        z = cls(2)
        z.update(0.0)
        z.update(3.73444442e-161)
        got = z.update(0.0)
        assert math.isfinite(got) and -1.1 < got < -0.9
