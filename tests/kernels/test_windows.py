"""TimeWindow: the Cython kernel against its pysrc twin and a brute-force definition of (t - W, t]."""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from liqcore._libs.detection import SNAPSHOT_DTYPE, TimeWindow
from liqcore.types import Side
from pysrc.windows import TimeWindow as RefWindow

W = 1_000


def brute_force(ts, side, value, window_ns):
    """Counts and exact sums (math.fsum) of the events in (t_i - W, t_i] after each push i."""
    out = []
    for i in range(len(ts)):
        t = ts[i]
        live = [j for j in range(i + 1) if t - window_ns < ts[j] <= t]
        longs = [value[j] for j in live if side[j] in (Side.LONG, Side.BUY)]
        shorts = [value[j] for j in live if side[j] in (Side.SHORT, Side.SELL)]
        out.append(
            (len(longs), len(shorts), len(live), math.fsum(longs), math.fsum(shorts),
             math.fsum(value[j] for j in live))
        )
    return out


# increments: equal timestamps, exactly W, just under/over W, long gaps
_dt = st.one_of(
    st.sampled_from([0, 0, 1, W - 1, W, W + 1, 10 * W, 10**12]),
    st.integers(0, 3 * W),
)
_value = st.one_of(
    st.sampled_from([0.0, 1.0, 1.0, 1e-12, 1e300, -1e300, 2.5e6]),
    st.floats(-1e9, 1e9),
)


@st.composite
def streams(draw, max_size=200):
    n = draw(st.integers(0, max_size))
    start = draw(st.integers(-(10**15), 2 * 10**18))
    dts = draw(st.lists(_dt, min_size=n, max_size=n))
    ts = np.cumsum([start] + dts)[1:].astype(np.int64) if n else np.empty(0, np.int64)
    side = np.array(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)), dtype=np.int8)
    value = np.array(draw(st.lists(_value, min_size=n, max_size=n)), dtype=np.float64)
    return ts, side, value


def _snap_tuples(arr):
    return [tuple(r) for r in arr.tolist()]


@pytest.mark.property
@given(data=streams(), window_ns=st.sampled_from([1, 2, W, 7 * W]))
def test_kernel_matches_twin_bitwise_and_definition(data, window_ns):
    ts, side, value = data
    kw = TimeWindow(window_ns, capacity=0)
    got = kw.push_many(ts, side, value)
    assert got.dtype == SNAPSHOT_DTYPE
    twin = RefWindow(window_ns).push_many(ts, side, value)
    assert _snap_tuples(got) == _snap_tuples(twin)
    want = brute_force(ts.tolist(), side.tolist(), value.tolist(), window_ns)
    scale = np.cumsum(np.abs(value)) if len(value) else value
    for i, (g, w) in enumerate(zip(got.tolist(), want)):
        assert g[:3] == w[:3], i
        tol = 1e-12 * (i + 1) * scale[i]
        for k in (3, 4, 5):
            assert abs(g[k] - w[k]) <= tol, (i, k, g, w)
    assert kw.late == 0


@pytest.mark.property
@given(data=streams(), window_ns=st.sampled_from([1, W, 5 * W]))
def test_per_event_api_matches_batch(data, window_ns):
    ts, side, value = data
    a = TimeWindow(window_ns)
    b = TimeWindow(window_ns)
    ref = RefWindow(window_ns)
    snaps = b.push_many(ts, side, value)
    for i in range(len(ts)):
        a.push(int(ts[i]), int(side[i]), float(value[i]))
        ref.push(int(ts[i]), int(side[i]), float(value[i]))
        row = (a.count_long, a.count_short, a.count, a.sum_long, a.sum_short, a.sum)
        assert row == tuple(snaps[i].tolist())
        assert row == (ref.count_long, ref.count_short, ref.count, ref.sum_long, ref.sum_short, ref.sum)
        assert a.now == ref.now == int(ts[i])
        assert a.oldest_ts() == ref.oldest_ts()


@pytest.mark.property
@given(
    ts=st.lists(st.integers(0, 50 * W), min_size=1, max_size=150),
    side=st.data(),
    window_ns=st.sampled_from([W, 3 * W]),
)
def test_batch_clamps_late_events_and_counts_them(ts, side, window_ns):
    """Unsorted timestamps: a late event joins the window at the latest time seen."""
    n = len(ts)
    sides = np.array(side.draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)), dtype=np.int8)
    ts = np.array(ts, dtype=np.int64)
    vals = np.arange(1, n + 1, dtype=np.float64)
    kw = TimeWindow(window_ns)
    got = kw.push_many(ts, sides, vals)
    clamped = np.maximum.accumulate(ts)
    assert kw.late == int(np.sum(ts < clamped))
    ref = RefWindow(window_ns)
    assert _snap_tuples(ref.push_many(ts, sides, vals)) == _snap_tuples(got)
    assert ref.late == kw.late
    # same as feeding the clamped timestamps in order
    again = TimeWindow(window_ns).push_many(clamped, sides, vals)
    assert _snap_tuples(again) == _snap_tuples(got)


def test_exactly_w_apart_is_out_and_equal_timestamps_are_in():
    tw = TimeWindow(W)
    tw.push(100, Side.LONG, 1.0)
    tw.push(100, Side.SHORT, 2.0)
    tw.push(100 + W - 1, Side.BUY, 4.0)
    assert (tw.count, tw.count_long, tw.count_short, tw.sum) == (3, 2, 1, 7.0)
    tw.push(100 + W, Side.SELL, 8.0)  # the two events at t=100 are exactly W older: out
    assert (tw.count, tw.count_long, tw.count_short) == (2, 1, 1)
    assert (tw.sum_long, tw.sum_short, tw.sum) == (4.0, 8.0, 12.0)
    tw.advance(100 + 2 * W - 1)
    assert (tw.count, tw.sum_long, tw.sum_short) == (1, 0.0, 8.0)
    tw.advance(100 + 2 * W)
    assert tw.count == 0 and tw.sum == 0.0 and tw.oldest_ts() is None


def test_empty_window_sums_are_exactly_zero_after_a_gap():
    tw = TimeWindow(W)
    for i, v in enumerate([0.1, 0.2, 0.3, 1e300, -1e300, 1e-12]):
        tw.push(i, Side.LONG if i % 2 else Side.SHORT, v)
    tw.advance(10**15)
    assert (tw.count, tw.sum_long, tw.sum_short, tw.sum) == (0, 0.0, 0.0, 0.0)
    assert math.copysign(1.0, tw.sum_long) == 1.0


def test_none_side_counts_in_totals_only():
    tw = TimeWindow(W)
    tw.push(0, Side.NONE, 5.0)
    tw.push(1, Side.LONG, 1.0)
    assert (tw.count, tw.count_long, tw.count_short, tw.sum, tw.sum_long) == (2, 1, 0, 6.0, 1.0)


def test_buffer_grows_without_cap():
    tw = TimeWindow(W, capacity=0)
    n = 100_000
    snaps = tw.push_many(np.zeros(n, np.int64), np.full(n, Side.BUY, np.int8), np.ones(n))
    assert tw.count == n and tw.capacity >= n and snaps["count"][-1] == n
    assert snaps["sum_long"][-1] == float(n)
    tw.push(W, Side.SELL, 2.0)
    assert (tw.count, tw.sum) == (1, 2.0)


def test_long_stream_periodic_recompute_matches_twin():
    """More than 65536 expiries: the exact recomputation happens in both, identically."""
    rng = np.random.default_rng(7)
    n = 150_000
    ts = np.cumsum(rng.integers(0, 40, n)).astype(np.int64)
    side = rng.integers(0, 5, n).astype(np.int8)
    value = rng.lognormal(8, 3, n) * rng.choice([-1.0, 1.0], n)
    got = TimeWindow(W).push_many(ts, side, value)
    ref = RefWindow(W).push_many(ts, side, value)
    assert np.array_equal(got, ref)
    # spot-check the definition
    for i in rng.integers(0, n, 20):
        live = (ts[: i + 1] > ts[i] - W)
        assert got["count"][i] == live.sum()
        assert math.isclose(got["sum"][i], math.fsum(value[: i + 1][live]), rel_tol=1e-9, abs_tol=1e-6)


@pytest.mark.parametrize("cls", [TimeWindow, RefWindow])
def test_bad_input(cls):
    with pytest.raises(ValueError, match="window_ns"):
        cls(0)
    for cap in (-1, 1 << 62):
        with pytest.raises(ValueError, match="capacity"):
            cls(W, capacity=cap)
    tw = cls(W)
    with pytest.raises(ValueError, match="side"):
        tw.push(0, 7, 1.0)
    with pytest.raises(ValueError, match="value"):
        tw.push(0, Side.LONG, math.nan)
    with pytest.raises(ValueError, match="value"):
        tw.push(0, Side.LONG, math.inf)
    tw.push(10, Side.LONG, 1.0)
    with pytest.raises(ValueError, match="ts_ns .* older"):
        tw.push(9, Side.LONG, 1.0)
    with pytest.raises(ValueError, match="ts_ns .* older"):
        tw.advance(9)
    with pytest.raises(ValueError, match=r"side\[1\]"):
        tw.push_many(np.array([11, 12]), np.array([1, 9], np.int8), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match=r"value\[0\]"):
        tw.push_many(np.array([11]), np.array([1], np.int8), np.array([math.nan]))
    with pytest.raises(ValueError, match="same length"):
        tw.push_many(np.array([11, 12]), np.array([1], np.int8), np.array([1.0, 1.0]))
    # failed calls left the state untouched
    assert (tw.count, tw.sum, tw.now) == (1, 1.0, 10)


def test_real_binance_liquidations_per_side(real_data):
    """60 s per-side liquidation notionals on a real recording: kernel == twin, counts == definition."""
    path = real_data / "binance-forceorder-2025-12" / "binance.csv"
    rows = []
    with path.open(newline="") as fh:
        for r in csv.reader(fh):
            rows.append((int(r[10]) * 1_000_000, Side.LONG if r[1] == "SELL" else Side.SHORT, float(r[11])))
    rows.sort(key=lambda r: r[0])
    ts = np.array([r[0] for r in rows], np.int64)
    side = np.array([r[1] for r in rows], np.int8)
    value = np.array([r[2] for r in rows])
    window = 60 * 10**9
    got = TimeWindow(window).push_many(ts, side, value)
    assert np.array_equal(got, RefWindow(window).push_many(ts, side, value))
    left = np.searchsorted(ts, ts - window, side="right")
    right = np.searchsorted(ts, ts, side="right")
    # within a run of equal timestamps the snapshot is taken after each push
    idx = np.arange(len(ts))
    np.testing.assert_array_equal(got["count"], idx + 1 - left)
    assert (right >= idx + 1).all()
    assert got["count"].max() > 1


@pytest.mark.parametrize("cls", [TimeWindow, RefWindow])
def test_batch_accepts_sequences_and_event_fields_but_not_lossy_casts(cls):
    from liqcore.types import Kind, make_events

    ev = make_events(
        ts_event=np.array([0, 10, W], np.int64),
        side=np.array([Side.LONG, Side.SELL, Side.BUY], np.int8),
        qty=np.array([1.0, 2.0, 3.0]),
        kind=Kind.LIQUIDATION,
    )
    a = cls(W).push_many(ev["ts_event"], ev["side"], ev["qty"])  # strided field views
    b = cls(W).push_many([0, 10, W], [1, 4, 3], [1, 2, 3])  # plain lists
    assert _snap_tuples(a) == _snap_tuples(b)
    assert tuple(a[-1].tolist()) == (1, 1, 2, 3.0, 2.0, 5.0)
    with pytest.raises(ValueError, match="side must be an integer array"):
        cls(W).push_many([0], [1.5], [1.0])
    with pytest.raises(ValueError, match="ts must be an integer array"):
        cls(W).push_many([0.5], [1], [1.0])
    with pytest.raises(ValueError, match=r"side\[0\]"):
        cls(W).push_many([0], [257], [1.0])  # not wrapped to int8 (257 -> 1)
    with pytest.raises(ValueError, match="1-d"):
        cls(W).push_many([[0]], [[1]], [[1.0]])
