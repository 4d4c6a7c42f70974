# Right-closed time window (t - W, t] with per-side counts and sums, on a growable ring buffer.
# C-level API (for other kernels) + the TimeWindow extension type. Struct fields are private to
# windows.pyx; use the functions.
from libc.stdint cimport int8_t, int64_t

cdef enum:
    TW_BUCKET_NONE = 0     # Side.NONE: counted in the totals only
    TW_BUCKET_LONG = 1     # Side.LONG (liquidated long) and Side.BUY (taker buy)
    TW_BUCKET_SHORT = 2    # Side.SHORT (liquidated short) and Side.SELL (taker sell)

cdef struct TWEntry:
    int64_t ts
    double value
    int8_t bucket

cdef struct TWState:
    int64_t window_ns
    int64_t now            # latest time seen (push or advance); valid when started
    bint started
    TWEntry* buf           # ring buffer, capacity cap (a power of two)
    Py_ssize_t cap
    Py_ssize_t head        # slot of the oldest entry
    Py_ssize_t count
    Py_ssize_t counts[3]   # per bucket
    double sums[3]         # per bucket (running; reset when a bucket empties, recomputed periodically)
    Py_ssize_t removals    # expiries since the last exact recompute
    Py_ssize_t late        # batch pushes whose timestamp was older than `now` (clamped to `now`)

cdef TWState* tw_new(int64_t window_ns, Py_ssize_t capacity) noexcept nogil   # NULL on failure
cdef void tw_free(TWState* s) noexcept nogil
cdef void tw_clear(TWState* s) noexcept nogil
cdef int tw_bucket(int side) noexcept nogil            # Side value -> bucket, -1 when not a Side
cdef void tw_advance(TWState* s, int64_t ts) noexcept nogil   # ts < now: no-op
# push at max(ts, now) (late pushes are clamped and counted); -1 when the buffer cannot grow
cdef int tw_push(TWState* s, int64_t ts, int bucket, double value) noexcept nogil

cdef class TimeWindow:
    cdef TWState* _s
    cpdef void push(self, int64_t ts_ns, int side, double value) except *
    cpdef void advance(self, int64_t ts_ns) except *
