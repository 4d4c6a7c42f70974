# cython: language_level=3
"""Point-in-time z-scores against a rolling baseline.

``RollingZScore(n)``: ``update(x)`` scores ``x`` against the mean and POPULATION standard deviation
(ddof=0, as the seed strategy computes it) of the previous ``n`` values, then adds ``x`` to the
baseline; ``x`` is never part of its own baseline.

``BucketZScore(bucket_ns, n_buckets)``: values are summed into epoch-aligned buckets
``[k B, (k + 1) B)`` with ``k = floor(ts / B)``; when a bucket closes its total is scored against the
totals of the previous ``n_buckets`` closed buckets (empty buckets count as 0) and joins them.

Rules shared by both:

* fewer than ``min_count`` baseline values: NaN;
* a flat baseline (every value equal, tracked exactly by the length of the trailing run of equal
  values) or a standard deviation that rounds to 0: 0.0 (``z = std > 0 ? (x - mean) / std : 0``);
* a quotient beyond the float range is clamped to +/-DBL_MAX: the result is never inf;
* values must be finite with ``|x| <= 1e150`` so that squared deviations stay finite;
* instances are not thread-safe (the batch paths run without the GIL): one per thread.

Mean and variance are kept by Welford's update (sliding form once the baseline is full) and
recomputed exactly (corrected two-pass) after every ``n`` replacements, and also whenever a bound on
the accumulated rounding of the running updates (the sum of their magnitudes) could reach 1e-9 of
the current spread, as happens when a value far from the rest leaves the baseline. Amortised O(1)
per update; the z-scores agree with numpy's two-pass mean/std to about 1e-9 relative.
"""
cimport cython
from libc.float cimport DBL_MAX
from libc.math cimport NAN, copysign, fabs, isfinite, sqrt
from libc.stdint cimport INT64_MIN, int64_t
from libc.stdlib cimport free, malloc

import numpy as np

#: largest accepted magnitude of an input value (its squared deviations must stay finite)
MAX_ABS = 1e150


cdef extern from *:
    # error-bound slack: 4 eps * err_m2 <= 1e-9 m2  and  (2 eps * err_mean)^2 <= (1e-9)^2 m2 / count
    """
    #define LQ_RZ_M2_SLACK (1e-9 / (4.0 * 2.220446049250313e-16))
    #define LQ_RZ_MEAN_SLACK ((1e-9 / (2.0 * 2.220446049250313e-16)) * (1e-9 / (2.0 * 2.220446049250313e-16)))
    """
    const double _M2_SLACK "LQ_RZ_M2_SLACK"
    const double _MEAN_SLACK "LQ_RZ_MEAN_SLACK"


cdef inline bint _ok(double x) noexcept nogil:
    return fabs(x) <= 1e150  # False for NaN and inf too


# ---- rolling baseline ----------------------------------------------------------------------------

cdef RZState* rz_new(Py_ssize_t n, Py_ssize_t min_count) noexcept nogil:
    cdef RZState* s
    if n < 1 or n > (<Py_ssize_t>1 << 40):
        return NULL
    s = <RZState*>malloc(sizeof(RZState))
    if s == NULL:
        return NULL
    s.ring = <double*>malloc(n * sizeof(double))
    if s.ring == NULL:
        free(s)
        return NULL
    s.n = n
    s.min_count = min_count
    rz_clear(s)
    return s


cdef void rz_free(RZState* s) noexcept nogil:
    if s != NULL:
        free(s.ring)
        free(s)


cdef void rz_clear(RZState* s) noexcept nogil:
    s.count = 0
    s.head = 0
    s.mean = 0.0
    s.m2 = 0.0
    s.last = 0.0
    s.run = 0
    s.since_exact = 0
    s.err_mean = 0.0
    s.err_m2 = 0.0


cdef void _rz_exact(RZState* s) noexcept nogil:
    """Corrected two-pass mean and sum of squared deviations over the ring."""
    cdef Py_ssize_t i
    cdef double total = 0.0, d, sd = 0.0, sq = 0.0
    for i in range(s.count):
        total += s.ring[i]
    s.mean = total / s.count
    for i in range(s.count):
        d = s.ring[i] - s.mean
        sd += d
        sq += d * d
    s.m2 = sq - sd * sd / s.count
    if s.m2 < 0.0:
        s.m2 = 0.0
    s.since_exact = 0
    s.err_mean = 0.0
    s.err_m2 = 0.0


cdef inline void _rz_guard(RZState* s) noexcept nogil:
    """Recompute exactly when the accumulated rounding of the running updates could exceed 1e-9
    of the standard deviation (in mean) or of the variance (in m2), e.g. after a value far from
    the others left the baseline."""
    if s.err_m2 > _M2_SLACK * s.m2 or s.err_mean * s.err_mean * s.count > _MEAN_SLACK * s.m2:
        _rz_exact(s)


cdef void rz_push(RZState* s, double x) noexcept nogil:
    cdef double d, d2, old, new_mean
    if s.count > 0 and x == s.last:
        s.run += 1
    else:
        s.run = 1
    s.last = x
    if s.count < s.n:
        s.ring[(s.head + s.count) % s.n] = x
        s.count += 1
        d = x - s.mean
        s.mean += d / s.count
        d2 = d * (x - s.mean)
        s.m2 += d2
        if s.m2 < 0.0:
            s.m2 = 0.0
        s.err_mean += fabs(d) / s.count
        s.err_m2 += fabs(d2)
        _rz_guard(s)
        return
    old = s.ring[s.head]
    s.ring[s.head] = x
    s.head += 1
    if s.head == s.n:
        s.head = 0
    d = x - old
    new_mean = s.mean + d / s.n
    d2 = d * (x - new_mean + old - s.mean)
    s.m2 += d2
    s.err_mean += fabs(d) / s.n
    s.err_m2 += fabs(d) * (fabs(x - new_mean) + fabs(old - s.mean))
    s.mean = new_mean
    if s.m2 < 0.0:
        s.m2 = 0.0
    s.since_exact += 1
    if s.since_exact >= s.n:
        _rz_exact(s)
    else:
        _rz_guard(s)


cdef double rz_std(RZState* s) noexcept nogil:
    if s.count == 0:
        return NAN
    if s.run >= s.count:
        return 0.0
    return sqrt(s.m2 / s.count)


cdef double rz_z(RZState* s, double x) noexcept nogil:
    cdef double std, z
    if s.count < s.min_count or s.count == 0:
        return NAN
    if s.run >= s.count:
        return 0.0
    std = sqrt(s.m2 / s.count)
    if not (std > 0.0):
        return 0.0
    z = (x - s.mean) / std
    if not isfinite(z):
        return copysign(DBL_MAX, z)
    return z


# ---- time buckets --------------------------------------------------------------------------------

@cython.cdivision(True)
cdef inline int64_t _floor_div(int64_t a, int64_t b) noexcept nogil:
    cdef int64_t q = a // b  # C semantics (truncation toward zero) in every build mode
    if (a % b != 0) and (a < 0):
        q -= 1
    return q


cdef BZState* bz_new(int64_t bucket_ns, Py_ssize_t n_buckets, Py_ssize_t min_count) noexcept nogil:
    cdef BZState* s
    if bucket_ns < 1:
        return NULL
    s = <BZState*>malloc(sizeof(BZState))
    if s == NULL:
        return NULL
    s.base = rz_new(n_buckets, min_count)
    if s.base == NULL:
        free(s)
        return NULL
    s.bucket_ns = bucket_ns
    bz_clear(s)
    return s


cdef void bz_free(BZState* s) noexcept nogil:
    if s != NULL:
        rz_free(s.base)
        free(s)


cdef void bz_clear(BZState* s) noexcept nogil:
    s.started = False
    s.now = INT64_MIN
    s.k_open = 0
    s.open_total = 0.0
    s.late = 0
    rz_clear(s.base)


cdef double bz_advance(BZState* s, int64_t ts) noexcept nogil:
    cdef int64_t k, gaps, i
    cdef double z
    if not s.started:
        s.started = True
        s.now = ts
        s.k_open = _floor_div(ts, s.bucket_ns)
        s.open_total = 0.0
        return NAN
    if ts < s.now:
        s.late += 1
        ts = s.now
    s.now = ts
    k = _floor_div(ts, s.bucket_ns)
    if k <= s.k_open:
        return NAN
    z = rz_z(s.base, s.open_total)
    rz_push(s.base, s.open_total)
    # the empty buckets in between close as 0; more than n_buckets of them leave an all-zero
    # baseline, which further zeros do not change
    gaps = k - s.k_open - 1
    if gaps > s.base.n:
        gaps = s.base.n
    for i in range(gaps):
        rz_push(s.base, 0.0)
    s.k_open = k
    s.open_total = 0.0
    return z


cdef double bz_push(BZState* s, int64_t ts, double value) noexcept nogil:
    cdef double z = bz_advance(s, ts)
    s.open_total += value
    return z


cdef double bz_current_z(BZState* s) noexcept nogil:
    if not s.started:
        return NAN
    return rz_z(s.base, s.open_total)


# ---- Python classes ------------------------------------------------------------------------------

def _check_count(str name, Py_ssize_t n, object min_count):
    """Validate the baseline size; return min_count (default: min(2, n))."""
    if n < 1 or n > (1 << 40):
        raise ValueError(f"{name} must be in [1, 2**40], got {n}")
    if min_count is None:
        return min(2, n)
    if not 1 <= min_count <= n:
        raise ValueError(f"min_count must be in [1, {name}={n}], got {min_count}")
    return min_count


@cython.final
cdef class RollingZScore:
    """RollingZScore(n, min_count=None)
--

    z-score of each value against the mean/population std of the previous ``n`` values.

    ``update(x)`` returns the z-score of ``x`` (NaN while fewer than ``min_count`` values precede it (default
    ``min(2, n)``),
    0.0 for a flat baseline) and then adds ``x`` to the baseline.
    """

    def __cinit__(self, Py_ssize_t n, min_count=None):
        self._s = NULL
        min_count = _check_count("n", n, min_count)
        self._s = rz_new(n, min_count)
        if self._s == NULL:
            raise MemoryError("RollingZScore: cannot allocate the baseline")

    def __dealloc__(self):
        rz_free(self._s)
        self._s = NULL

    cpdef double update(self, double x) except? -1.0:
        """Score ``x`` against the baseline of the previous values, then add it."""
        cdef double z
        if not _ok(x):
            raise ValueError(f"x must be finite with |x| <= 1e150, got {x}")
        z = rz_z(self._s, x)
        rz_push(self._s, x)
        return z

    def score(self, double x):
        """The z-score ``x`` would get now, without adding it."""
        if not _ok(x):
            raise ValueError(f"x must be finite with |x| <= 1e150, got {x}")
        return rz_z(self._s, x)

    def update_many(self, values):
        """``update`` over every value in order; the z-scores as a float64 array. The array is
        validated first (ValueError naming the index; the state is left untouched)."""
        cdef const double[:] x = _as_1d(values, np.float64, "x")
        cdef Py_ssize_t n = x.shape[0]
        cdef Py_ssize_t i, bad = -1
        cdef RZState* s = self._s
        out_arr = np.empty(n, dtype=np.float64)
        cdef double[::1] out = out_arr
        with nogil:
            for i in range(n):
                if not _ok(x[i]):
                    bad = i
                    break
            if bad < 0:
                for i in range(n):
                    out[i] = rz_z(s, x[i])
                    rz_push(s, x[i])
        if bad >= 0:
            raise ValueError(f"x[{bad}] must be finite with |x| <= 1e150, got {x[bad]}")
        return out_arr

    @property
    def n(self):
        return self._s.n

    @property
    def min_count(self):
        return self._s.min_count

    @property
    def mean(self):
        """Mean of the baseline (NaN when empty)."""
        if self._s.count == 0:
            return NAN
        if self._s.run >= self._s.count:
            return self._s.last
        return self._s.mean

    @property
    def std(self):
        """Population standard deviation of the baseline (NaN when empty, 0.0 when flat)."""
        return rz_std(self._s)

    def values(self):
        """The baseline values, oldest first."""
        cdef RZState* s = self._s
        cdef Py_ssize_t i
        out = np.empty(s.count, dtype=np.float64)
        for i in range(s.count):
            out[i] = s.ring[(s.head + i) % s.n]
        return out

    def __len__(self):
        return self._s.count

    def clear(self):
        rz_clear(self._s)

    def __repr__(self):
        return f"RollingZScore(n={self._s.n}, min_count={self._s.min_count}, len={self._s.count})"


cdef int _check_ts(BZState* s, int64_t ts_ns) except -1:
    if s.started and ts_ns < s.now:
        raise ValueError(f"ts_ns {ts_ns} is older than the latest time {s.now}")
    return 0


@cython.final
cdef class BucketZScore:
    """BucketZScore(bucket_ns, n_buckets, min_count=None)
--

    z-score of epoch-aligned bucket totals against the previous ``n_buckets`` closed buckets.

    ``push(ts_ns, value)`` first closes every bucket that ended at or before ``ts_ns`` (empty ones
    as 0) and returns the z-score of the bucket that was open before the call (NaN if none closed or
    the baseline is shorter than ``min_count``); then adds ``value`` to the bucket holding ``ts_ns``.
    ``advance(ts_ns)`` closes buckets the same way without adding. ``current_z(ts_ns)`` advances the
    clock to ``ts_ns`` and scores the open bucket's total so far.
    """

    def __cinit__(self, int64_t bucket_ns, Py_ssize_t n_buckets, min_count=None):
        self._s = NULL
        if bucket_ns < 1:
            raise ValueError(f"bucket_ns must be >= 1, got {bucket_ns}")
        min_count = _check_count("n_buckets", n_buckets, min_count)
        self._s = bz_new(bucket_ns, n_buckets, min_count)
        if self._s == NULL:
            raise MemoryError("BucketZScore: cannot allocate the baseline")

    def __dealloc__(self):
        bz_free(self._s)
        self._s = NULL

    cpdef double push(self, int64_t ts_ns, double value) except? -1.0:
        """Close finished buckets (returning the z of the one open before), then add ``value``."""
        if not _ok(value):
            raise ValueError(f"value must be finite with |value| <= 1e150, got {value}")
        _check_ts(self._s, ts_ns)
        return bz_push(self._s, ts_ns, value)

    cpdef double advance(self, int64_t ts_ns) except? -1.0:
        """Move the clock; returns the z of the bucket closed by this call, NaN when none closed."""
        _check_ts(self._s, ts_ns)
        return bz_advance(self._s, ts_ns)

    def current_z(self, int64_t ts_ns):
        """Advance to ``ts_ns`` and return the z of the open bucket's total so far."""
        _check_ts(self._s, ts_ns)
        bz_advance(self._s, ts_ns)
        return bz_current_z(self._s)

    def push_many(self, ts_ns, values):
        """``push`` over every event in order; the returned z per event as a float64 array. A
        timestamp older than the latest time is clamped to it and counted in ``late``. The arrays
        are validated first (ValueError naming the index; the state is left untouched)."""
        cdef const int64_t[:] ts = _as_1d_int(ts_ns, "ts")
        cdef const double[:] value = _as_1d(values, np.float64, "value")
        cdef Py_ssize_t n = ts.shape[0]
        cdef Py_ssize_t i, bad = -1
        cdef BZState* s = self._s
        if value.shape[0] != n:
            raise ValueError(f"ts and value must have the same length, got {n} and {value.shape[0]}")
        out_arr = np.empty(n, dtype=np.float64)
        cdef double[::1] out = out_arr
        with nogil:
            for i in range(n):
                if not _ok(value[i]):
                    bad = i
                    break
            if bad < 0:
                for i in range(n):
                    out[i] = bz_push(s, ts[i], value[i])
        if bad >= 0:
            raise ValueError(f"value[{bad}] must be finite with |value| <= 1e150, got {value[bad]}")
        return out_arr

    @property
    def bucket_ns(self):
        return self._s.bucket_ns

    @property
    def n_buckets(self):
        return self._s.base.n

    @property
    def now(self):
        """The latest time seen, None before the first push/advance."""
        return self._s.now if self._s.started else None

    @property
    def bucket_start_ns(self):
        """Start of the open bucket, None before the first push/advance."""
        return self._s.k_open * self._s.bucket_ns if self._s.started else None

    @property
    def open_total(self):
        return self._s.open_total

    @property
    def late(self):
        """Batch events older than the latest time (clamped to it)."""
        return self._s.late

    def baseline(self):
        """Totals of the closed buckets in the baseline, oldest first."""
        cdef RZState* b = self._s.base
        cdef Py_ssize_t i
        out = np.empty(b.count, dtype=np.float64)
        for i in range(b.count):
            out[i] = b.ring[(b.head + i) % b.n]
        return out

    def clear(self):
        bz_clear(self._s)

    def __repr__(self):
        return (
            f"BucketZScore(bucket_ns={self._s.bucket_ns}, n_buckets={self._s.base.n}, "
            f"min_count={self._s.base.min_count})"
        )
