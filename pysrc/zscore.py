"""Reference twins of ``liqcore._libs.detection``: point-in-time z-scores, written for clarity.

A z-score compares a value with the mean and POPULATION standard deviation (ddof=0) of a baseline
that never contains the value itself:

* fewer than ``min_count`` baseline values -> NaN;
* a flat baseline (all values equal) or a std of 0 -> 0.0 (``z = std > 0 ? (x - mean) / std : 0``);
* a quotient beyond the float range is clamped to +/-DBL_MAX (never inf);
* inputs must be finite with ``|x| <= 1e150``.

The baseline statistics here are recomputed with numpy from the stored values at every step.
"""
from __future__ import annotations

import math
import sys
from collections import deque

import numpy as np

MAX_ABS = 1e150


def _check_value(name: str, x: float) -> float:
    x = float(x)
    if not abs(x) <= MAX_ABS:
        raise ValueError(f"{name} must be finite with |{name}| <= 1e150, got {x}")
    return x


def zscore(x: float, baseline, min_count: int = 2) -> float:
    """z-score of ``x`` against ``baseline`` under the rules of this module."""
    base = np.asarray(baseline, dtype=np.float64)
    if len(base) == 0 or len(base) < min_count:
        return math.nan
    if base.min() == base.max():
        return 0.0
    mean = float(np.mean(base))
    std = float(np.std(base))  # ddof=0
    if not std > 0.0:
        return 0.0
    z = (x - mean) / std
    if math.isinf(z):
        return math.copysign(sys.float_info.max, z)
    return z


def _check_count(name: str, n: int, min_count: int | None) -> int:
    """Validate the baseline size; return min_count (default: min(2, n))."""
    if n < 1 or n > (1 << 40):
        raise ValueError(f"{name} must be in [1, 2**40], got {n}")
    if min_count is None:
        return min(2, n)
    if not 1 <= min_count <= n:
        raise ValueError(f"min_count must be in [1, {name}={n}], got {min_count}")
    return int(min_count)


class RollingZScore:
    """z-score of each value against the previous ``n`` values."""

    def __init__(self, n: int, min_count: int | None = None) -> None:
        self.min_count = _check_count("n", n, min_count)
        self.n = int(n)
        self._base: deque[float] = deque(maxlen=self.n)

    def score(self, x: float) -> float:
        """The z-score ``x`` would get now, without adding it."""
        return zscore(_check_value("x", x), self._base, self.min_count)

    def update(self, x: float) -> float:
        """Score ``x`` against the baseline of the previous values, then add it."""
        z = self.score(x)
        self._base.append(float(x))
        return z

    def update_many(self, x) -> np.ndarray:
        arr = np.asarray(x, dtype=np.float64)
        for i, v in enumerate(arr):
            if not abs(v) <= MAX_ABS:
                raise ValueError(f"x[{i}] must be finite with |x| <= 1e150, got {v}")
        return np.array([self.update(v) for v in arr], dtype=np.float64)

    @property
    def mean(self) -> float:
        return float(np.mean(self._base)) if self._base else math.nan

    @property
    def std(self) -> float:
        if not self._base:
            return math.nan
        return 0.0 if min(self._base) == max(self._base) else float(np.std(self._base))

    def values(self) -> np.ndarray:
        return np.array(self._base, dtype=np.float64)

    def __len__(self) -> int:
        return len(self._base)

    def clear(self) -> None:
        self._base.clear()


class BucketZScore:
    """z-score of epoch-aligned bucket totals (``floor(ts / bucket_ns)``) against the totals of the
    previous ``n_buckets`` closed buckets, empty buckets counting as 0."""

    def __init__(self, bucket_ns: int, n_buckets: int, min_count: int | None = None) -> None:
        if bucket_ns < 1:
            raise ValueError(f"bucket_ns must be >= 1, got {bucket_ns}")
        self.min_count = _check_count("n_buckets", n_buckets, min_count)
        self.bucket_ns = int(bucket_ns)
        self.n_buckets = int(n_buckets)
        self.clear()

    def clear(self) -> None:
        self._closed: deque[float] = deque(maxlen=self.n_buckets)
        self.now: int | None = None
        self._k_open: int | None = None
        self.open_total = 0.0
        self.late = 0

    @property
    def bucket_start_ns(self) -> int | None:
        return None if self._k_open is None else self._k_open * self.bucket_ns

    def _advance(self, ts: int) -> float:
        if self.now is None:
            self.now = ts
            self._k_open = ts // self.bucket_ns  # Python // is floor division
            return math.nan
        if ts < self.now:
            self.late += 1
            ts = self.now
        self.now = ts
        k = ts // self.bucket_ns
        if k <= self._k_open:
            return math.nan
        z = zscore(self.open_total, self._closed, self.min_count)
        self._closed.append(self.open_total)
        # empty buckets close as 0; n_buckets of them already leave an all-zero baseline
        for _ in range(min(k - self._k_open - 1, self.n_buckets)):
            self._closed.append(0.0)
        self._k_open = k
        self.open_total = 0.0
        return z

    def _check_ts(self, ts_ns: int) -> None:
        if self.now is not None and ts_ns < self.now:
            raise ValueError(f"ts_ns {ts_ns} is older than the latest time {self.now}")

    def push(self, ts_ns: int, value: float) -> float:
        """Close finished buckets (returning the z of the one open before), then add ``value``."""
        value = _check_value("value", value)
        self._check_ts(ts_ns)
        z = self._advance(int(ts_ns))
        self.open_total += value
        return z

    def advance(self, ts_ns: int) -> float:
        self._check_ts(ts_ns)
        return self._advance(int(ts_ns))

    def current_z(self, ts_ns: int) -> float:
        self._check_ts(ts_ns)
        self._advance(int(ts_ns))
        return zscore(self.open_total, self._closed, self.min_count)

    def push_many(self, ts, value) -> np.ndarray:
        ts = np.asarray(ts)
        if ts.ndim != 1:
            raise ValueError(f"ts must be 1-d, got shape {ts.shape}")
        if ts.size and ts.dtype.kind not in "iu":
            raise ValueError(f"ts must be an integer array, got dtype {ts.dtype}")
        ts = ts.astype(np.int64, copy=False)
        value = np.asarray(value, dtype=np.float64)
        if len(ts) != len(value):
            raise ValueError(f"ts and value must have the same length, got {len(ts)} and {len(value)}")
        for i, v in enumerate(value):
            if not abs(v) <= MAX_ABS:
                raise ValueError(f"value[{i}] must be finite with |value| <= 1e150, got {v}")
        out = np.empty(len(ts), dtype=np.float64)
        for i in range(len(ts)):
            out[i] = self._advance(int(ts[i]))
            self.open_total += float(value[i])
        return out

    def baseline(self) -> np.ndarray:
        return np.array(self._closed, dtype=np.float64)
