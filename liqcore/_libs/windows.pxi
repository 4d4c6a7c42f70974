# cython: language_level=3
"""Per-side counts and sums over a right-closed time window ``(t - W, t]``.

Sides are folded into two buckets: "long" = ``Side.LONG`` (a liquidated long position) and
``Side.BUY`` (a taker buy); "short" = ``Side.SHORT`` and ``Side.SELL``. ``Side.NONE`` events count in
the totals only. An entry stamped ``ts`` is in the window at time ``t`` iff ``t - W < ts <= t``: two
events exactly ``W`` apart are never in the window together, events with equal timestamps always are.

Time only moves forward. The per-event API raises ValueError for a timestamp older than the latest
one seen; the batch API clamps such a late event to the latest time (it joins the window "now") and
counts it in ``late``.

Entries live in a ring buffer that doubles when full (no fixed cap). Sums are running sums: a
bucket's sum is reset to exactly 0 when it empties and all sums are recomputed from the entries
after every 65536 expiries, so rounding drift stays bounded on endless streams.
"""
cimport cython
from libc.math cimport isfinite
from libc.stdint cimport INT64_MIN, int8_t, int64_t
from libc.stdlib cimport free, malloc

import numpy as np

cdef enum:
    _RECOMPUTE_EVERY = 65536  # expiries between exact recomputations of the sums

#: dtype of the per-event snapshots returned by TimeWindow.push_many
SNAPSHOT_DTYPE = np.dtype(
    [
        ("count_long", np.int64),
        ("count_short", np.int64),
        ("count", np.int64),
        ("sum_long", np.float64),
        ("sum_short", np.float64),
        ("sum", np.float64),
    ]
)

cdef packed struct Snapshot:
    int64_t count_long
    int64_t count_short
    int64_t count
    double sum_long
    double sum_short
    double sum


cdef int tw_bucket(int side) noexcept nogil:
    if side == 0:
        return TW_BUCKET_NONE
    if side == 1 or side == 3:
        return TW_BUCKET_LONG
    if side == 2 or side == 4:
        return TW_BUCKET_SHORT
    return -1


cdef TWState* tw_new(int64_t window_ns, Py_ssize_t capacity) noexcept nogil:
    cdef TWState* s
    cdef Py_ssize_t cap = 16
    if window_ns < 1 or capacity > (<Py_ssize_t>1 << 40):
        return NULL
    while cap < capacity:
        cap <<= 1
    s = <TWState*>malloc(sizeof(TWState))
    if s == NULL:
        return NULL
    s.buf = <TWEntry*>malloc(cap * sizeof(TWEntry))
    if s.buf == NULL:
        free(s)
        return NULL
    s.cap = cap
    s.window_ns = window_ns
    tw_clear(s)
    return s


cdef void tw_free(TWState* s) noexcept nogil:
    if s != NULL:
        free(s.buf)
        free(s)


cdef void tw_clear(TWState* s) noexcept nogil:
    cdef int b
    s.now = INT64_MIN
    s.started = False
    s.head = 0
    s.count = 0
    for b in range(3):
        s.counts[b] = 0
        s.sums[b] = 0.0
    s.removals = 0
    s.late = 0


cdef void _recompute(TWState* s) noexcept nogil:
    cdef Py_ssize_t i
    cdef TWEntry* e
    s.sums[0] = 0.0
    s.sums[1] = 0.0
    s.sums[2] = 0.0
    for i in range(s.count):
        e = &s.buf[(s.head + i) & (s.cap - 1)]
        s.sums[e.bucket] += e.value
    s.removals = 0


cdef void tw_advance(TWState* s, int64_t ts) noexcept nogil:
    cdef int64_t cutoff
    cdef TWEntry* e
    cdef int b
    if s.started and ts < s.now:
        return
    s.now = ts
    s.started = True
    # expire ts' <= ts - W (saturating: nothing is older than INT64_MIN)
    if ts < INT64_MIN + s.window_ns:
        return
    cutoff = ts - s.window_ns
    while s.count > 0:
        e = &s.buf[s.head]
        if e.ts > cutoff:
            break
        b = e.bucket
        s.counts[b] -= 1
        if s.counts[b] == 0:
            s.sums[b] = 0.0
        else:
            s.sums[b] -= e.value
        s.head = (s.head + 1) & (s.cap - 1)
        s.count -= 1
        s.removals += 1
    if s.removals >= _RECOMPUTE_EVERY:
        _recompute(s)


cdef int _grow(TWState* s) noexcept nogil:
    cdef Py_ssize_t new_cap = s.cap * 2
    cdef TWEntry* nb = <TWEntry*>malloc(new_cap * sizeof(TWEntry))
    cdef Py_ssize_t i
    if nb == NULL:
        return -1
    for i in range(s.count):
        nb[i] = s.buf[(s.head + i) & (s.cap - 1)]
    free(s.buf)
    s.buf = nb
    s.cap = new_cap
    s.head = 0
    return 0


cdef int tw_push(TWState* s, int64_t ts, int bucket, double value) noexcept nogil:
    cdef TWEntry* e
    if s.started and ts < s.now:
        s.late += 1
        ts = s.now
    tw_advance(s, ts)
    if s.count == s.cap:
        if _grow(s) != 0:
            return -1
    e = &s.buf[(s.head + s.count) & (s.cap - 1)]
    e.ts = ts
    e.value = value
    e.bucket = <int8_t>bucket
    s.count += 1
    s.counts[bucket] += 1
    s.sums[bucket] += value
    return 0


@cython.final
cdef class TimeWindow:
    """TimeWindow(window_ns, capacity=16)
--

    Counts and sums per side over the right-closed window ``(t - window_ns, t]``.

    ``push(ts_ns, side, value)`` adds an event (after expiring what left the window at ``ts_ns``);
    ``advance(ts_ns)`` only moves the clock. Side LONG/BUY count as "long", SHORT/SELL as "short",
    NONE in the totals only. Not thread-safe (``push_many`` runs without the GIL): one per thread.
    """

    def __cinit__(self, int64_t window_ns, Py_ssize_t capacity=16):
        self._s = NULL
        if window_ns < 1:
            raise ValueError(f"window_ns must be >= 1, got {window_ns}")
        if capacity < 0 or capacity > (1 << 40):
            raise ValueError(f"capacity must be in [0, 2**40], got {capacity}")
        self._s = tw_new(window_ns, capacity)
        if self._s == NULL:
            raise MemoryError("TimeWindow: cannot allocate the buffer")

    def __dealloc__(self):
        tw_free(self._s)
        self._s = NULL

    cpdef void push(self, int64_t ts_ns, int side, double value) except *:
        """Add an event at ``ts_ns``; ValueError for an unknown side, a non-finite value or a
        timestamp older than the latest one seen."""
        cdef int b = tw_bucket(side)
        if b < 0:
            raise ValueError(f"side must be a liqcore.types.Side (0..4), got {side}")
        if not isfinite(value):
            raise ValueError(f"value must be finite, got {value}")
        if self._s.started and ts_ns < self._s.now:
            raise ValueError(f"ts_ns {ts_ns} is older than the window's latest time {self._s.now}")
        if tw_push(self._s, ts_ns, b, value) != 0:
            raise MemoryError("TimeWindow: cannot grow the buffer")

    cpdef void advance(self, int64_t ts_ns) except *:
        """Move the clock to ``ts_ns`` and expire entries stamped ``<= ts_ns - window_ns``."""
        if self._s.started and ts_ns < self._s.now:
            raise ValueError(f"ts_ns {ts_ns} is older than the window's latest time {self._s.now}")
        tw_advance(self._s, ts_ns)

    def push_many(self, ts_ns, sides, values):
        """Push every event in order; return a structured array (``SNAPSHOT_DTYPE``) with the counts
        and sums right after each push. Late timestamps are clamped to the latest time and counted
        in ``late``. Arrays are validated first (ValueError naming the field and index); a failed
        call leaves the state untouched."""
        cdef const int64_t[:] ts = _as_1d_int(ts_ns, "ts")
        cdef const int64_t[:] side = _as_1d_int(sides, "side")
        cdef const double[:] value = _as_1d(values, np.float64, "value")
        cdef Py_ssize_t n = ts.shape[0]
        cdef Py_ssize_t i, bad = -1
        cdef int bad_kind = 0
        cdef int rc = 0
        cdef TWState* s = self._s
        if side.shape[0] != n or value.shape[0] != n:
            raise ValueError(
                f"ts, side and value must have the same length, got {n}, {side.shape[0]}, {value.shape[0]}"
            )
        out_arr = np.empty(n, dtype=SNAPSHOT_DTYPE)
        cdef Snapshot[::1] out = out_arr
        with nogil:
            for i in range(n):
                if side[i] < -128 or side[i] > 127 or tw_bucket(<int>side[i]) < 0:
                    bad = i
                    bad_kind = 1
                    break
                if not isfinite(value[i]):
                    bad = i
                    bad_kind = 2
                    break
            if bad < 0:
                for i in range(n):
                    if tw_push(s, ts[i], tw_bucket(<int>side[i]), value[i]) != 0:
                        rc = -1
                        break
                    out[i].count_long = s.counts[1]
                    out[i].count_short = s.counts[2]
                    out[i].count = s.count
                    out[i].sum_long = s.sums[1]
                    out[i].sum_short = s.sums[2]
                    out[i].sum = s.sums[0] + s.sums[1] + s.sums[2]
        if bad_kind == 1:
            raise ValueError(f"side[{bad}] must be a liqcore.types.Side (0..4), got {side[bad]}")
        if bad_kind == 2:
            raise ValueError(f"value[{bad}] must be finite, got {value[bad]}")
        if rc != 0:
            raise MemoryError("TimeWindow: cannot grow the buffer")
        return out_arr

    @property
    def window_ns(self):
        return self._s.window_ns

    @property
    def now(self):
        """The latest time seen (push or advance), None before the first one."""
        return self._s.now if self._s.started else None

    @property
    def count(self):
        """Events in the window (all sides)."""
        return self._s.count

    @property
    def count_long(self):
        return self._s.counts[1]

    @property
    def count_short(self):
        return self._s.counts[2]

    @property
    def sum(self):
        """Sum of the values in the window (all sides)."""
        return self._s.sums[0] + self._s.sums[1] + self._s.sums[2]

    @property
    def sum_long(self):
        return self._s.sums[1]

    @property
    def sum_short(self):
        return self._s.sums[2]

    @property
    def late(self):
        """Batch events whose timestamp was older than the latest time (clamped to it)."""
        return self._s.late

    @property
    def capacity(self):
        """Current ring buffer capacity (grows by doubling)."""
        return self._s.cap

    @property
    def nbytes(self):
        return <Py_ssize_t>sizeof(TWState) + self._s.cap * <Py_ssize_t>sizeof(TWEntry)

    def oldest_ts(self):
        """Timestamp of the oldest entry in the window, None when empty."""
        return self._s.buf[self._s.head].ts if self._s.count else None

    def __len__(self):
        return self._s.count

    def clear(self):
        """Drop every entry and forget the clock."""
        tw_clear(self._s)

    def __repr__(self):
        return (
            f"TimeWindow(window_ns={self._s.window_ns}, count={self._s.count}, "
            f"sum_long={self._s.sums[1]!r}, sum_short={self._s.sums[2]!r})"
        )

