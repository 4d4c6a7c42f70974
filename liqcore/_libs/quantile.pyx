# cython: language_level=3
"""Exact sliding-window quantile with ``numpy.quantile(method="linear")`` semantics.

The state keeps the last ``window`` values in a ring buffer and splits them into two heaps of ring
slots: a max-heap ``low`` holding the ``floor(h) + 1`` smallest values and a min-heap ``high``
holding the rest, where ``h = (n - 1) * q`` is numpy's virtual index for ``n`` values. The tops of
the two heaps are then the order statistics ``sorted[floor(h)]`` and ``sorted[floor(h) + 1]`` and the
quantile is numpy's ``_lerp`` between them. ``pos`` maps every ring slot to its place in a heap so
the value leaving the window is replaced in place: each push is O(log N), each read O(1).

Once the window is full, a push overwrites the oldest slot, re-sifts it inside its heap and swaps
the two heap tops when they cross. While the window fills, the new value goes into the heap on its
side of the split and one top moves across when the target size of ``low`` changes.
"""
cimport cython
from libc.math cimport NAN, floor, isfinite
from libc.stdlib cimport free, malloc

import numpy as np


cdef inline double _val(RQState* s, int slot) noexcept nogil:
    return s.ring[slot]


# ---- max-heap `low` ------------------------------------------------------------------------------

cdef inline void _low_set(RQState* s, Py_ssize_t i, int slot) noexcept nogil:
    s.low[i] = slot
    s.pos[slot] = <int>i


cdef void _low_up(RQState* s, Py_ssize_t i) noexcept nogil:
    cdef int slot = s.low[i]
    cdef double v = s.ring[slot]
    cdef Py_ssize_t parent
    while i > 0:
        parent = (i - 1) >> 1
        if s.ring[s.low[parent]] >= v:
            break
        _low_set(s, i, s.low[parent])
        i = parent
    _low_set(s, i, slot)


cdef void _low_down(RQState* s, Py_ssize_t i) noexcept nogil:
    cdef int slot = s.low[i]
    cdef double v = s.ring[slot]
    cdef Py_ssize_t n = s.n_low
    cdef Py_ssize_t c
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and s.ring[s.low[c + 1]] > s.ring[s.low[c]]:
            c += 1
        if s.ring[s.low[c]] <= v:
            break
        _low_set(s, i, s.low[c])
        i = c
    _low_set(s, i, slot)


# ---- min-heap `high` -----------------------------------------------------------------------------

cdef inline void _high_set(RQState* s, Py_ssize_t i, int slot) noexcept nogil:
    s.high[i] = slot
    s.pos[slot] = -(<int>i) - 1


cdef void _high_up(RQState* s, Py_ssize_t i) noexcept nogil:
    cdef int slot = s.high[i]
    cdef double v = s.ring[slot]
    cdef Py_ssize_t parent
    while i > 0:
        parent = (i - 1) >> 1
        if s.ring[s.high[parent]] <= v:
            break
        _high_set(s, i, s.high[parent])
        i = parent
    _high_set(s, i, slot)


cdef void _high_down(RQState* s, Py_ssize_t i) noexcept nogil:
    cdef int slot = s.high[i]
    cdef double v = s.ring[slot]
    cdef Py_ssize_t n = s.n_high
    cdef Py_ssize_t c
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and s.ring[s.high[c + 1]] < s.ring[s.high[c]]:
            c += 1
        if s.ring[s.high[c]] >= v:
            break
        _high_set(s, i, s.high[c])
        i = c
    _high_set(s, i, slot)


# ---- moves between the heaps ---------------------------------------------------------------------

cdef inline void _low_push(RQState* s, int slot) noexcept nogil:
    s.n_low += 1
    _low_set(s, s.n_low - 1, slot)
    _low_up(s, s.n_low - 1)


cdef inline void _high_push(RQState* s, int slot) noexcept nogil:
    s.n_high += 1
    _high_set(s, s.n_high - 1, slot)
    _high_up(s, s.n_high - 1)


cdef inline int _low_pop(RQState* s) noexcept nogil:
    cdef int top = s.low[0]
    s.n_low -= 1
    if s.n_low > 0:
        _low_set(s, 0, s.low[s.n_low])
        _low_down(s, 0)
    return top


cdef inline int _high_pop(RQState* s) noexcept nogil:
    cdef int top = s.high[0]
    s.n_high -= 1
    if s.n_high > 0:
        _high_set(s, 0, s.high[s.n_high])
        _high_down(s, 0)
    return top


cdef inline Py_ssize_t _target_low(Py_ssize_t n, double q) noexcept nogil:
    """Size of the lower heap for ``n`` values: floor((n - 1) q) + 1, capped at n."""
    cdef double h = <double>(n - 1) * q
    cdef Py_ssize_t lo = <Py_ssize_t>floor(h)
    if lo > n - 1:
        lo = n - 1
    if lo < 0:
        lo = 0
    return lo + 1


cdef inline void _fix_tops(RQState* s) noexcept nogil:
    """Restore max(low) <= min(high) after one value changed (one swap of the tops suffices)."""
    cdef int a, b
    if s.n_low > 0 and s.n_high > 0:
        a = s.low[0]
        b = s.high[0]
        if s.ring[a] > s.ring[b]:
            _low_set(s, 0, b)
            _high_set(s, 0, a)
            _low_down(s, 0)
            _high_down(s, 0)


# ---- C API ---------------------------------------------------------------------------------------

cdef RQState* rq_new(Py_ssize_t window, double q) noexcept nogil:
    cdef RQState* s
    if window < 1 or window > 0x7FFFFFFF:
        return NULL
    s = <RQState*>malloc(sizeof(RQState))
    if s == NULL:
        return NULL
    s.window = window
    s.q = q
    s.ring = <double*>malloc(window * sizeof(double))
    s.pos = <int*>malloc(window * sizeof(int))
    s.low = <int*>malloc(window * sizeof(int))
    s.high = <int*>malloc(window * sizeof(int))
    if s.ring == NULL or s.pos == NULL or s.low == NULL or s.high == NULL:
        rq_free(s)
        return NULL
    rq_clear(s)
    return s


cdef void rq_free(RQState* s) noexcept nogil:
    if s == NULL:
        return
    free(s.ring)
    free(s.pos)
    free(s.low)
    free(s.high)
    free(s)


cdef void rq_clear(RQState* s) noexcept nogil:
    s.count = 0
    s.head = 0
    s.n_low = 0
    s.n_high = 0


cdef void rq_push(RQState* s, double x) noexcept nogil:
    cdef Py_ssize_t slot, target
    cdef int p
    if s.count == s.window:
        # overwrite the oldest value in place and re-sift it inside its heap
        slot = s.head
        s.head += 1
        if s.head == s.window:
            s.head = 0
        s.ring[slot] = x
        p = s.pos[slot]
        if p >= 0:
            _low_up(s, p)
            _low_down(s, s.pos[slot])
        else:
            _high_up(s, -p - 1)
            _high_down(s, -s.pos[slot] - 1)
        _fix_tops(s)
        return
    # window still filling: slots are used in order 0 .. window-1 and head stays at 0
    slot = s.count
    s.ring[slot] = x
    s.count += 1
    if s.n_low > 0 and x <= s.ring[s.low[0]]:
        _low_push(s, <int>slot)
    else:
        _high_push(s, <int>slot)
    target = _target_low(s.count, s.q)
    while s.n_low > target:
        _high_push(s, _low_pop(s))
    while s.n_low < target:
        _low_push(s, _high_pop(s))


cdef double rq_value(RQState* s) noexcept nogil:
    cdef Py_ssize_t n = s.count
    cdef double h, t, a, b, d
    cdef Py_ssize_t lo
    if n == 0:
        return NAN
    h = <double>(n - 1) * s.q
    a = s.ring[s.low[0]]
    if h >= <double>(n - 1) or s.n_high == 0:
        return a
    lo = <Py_ssize_t>floor(h)
    t = h - <double>lo
    b = s.ring[s.high[0]]
    # numpy's _lerp, branch for branch
    d = b - a
    if t >= 0.5:
        return b - d * (1.0 - t)
    return a + d * t


cdef Py_ssize_t rq_size(RQState* s) noexcept nogil:
    return s.count


cdef Py_ssize_t rq_nbytes(RQState* s) noexcept nogil:
    return <Py_ssize_t>sizeof(RQState) + s.window * <Py_ssize_t>(sizeof(double) + 3 * sizeof(int))


# ---- Python class --------------------------------------------------------------------------------

@cython.final
cdef class RollingQuantile:
    """Exact ``q`` quantile (numpy ``method="linear"``) of the last ``window`` values.

    ``update(x)`` pushes ``x`` (evicting the oldest value once ``window`` values are held) and
    returns the quantile of the window after the push. O(log window) per update, O(1) per read.
    """

    def __cinit__(self, Py_ssize_t window, double q):
        self._s = NULL
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        if window > 0x7FFFFFFF:
            raise ValueError(f"window must be < 2**31, got {window}")
        if not (q >= 0.0 and q <= 1.0):
            raise ValueError(f"q must be in [0, 1], got {q}")
        self._s = rq_new(window, q)
        if self._s == NULL:
            raise MemoryError("RollingQuantile: cannot allocate the window")

    def __dealloc__(self):
        rq_free(self._s)
        self._s = NULL

    cpdef double update(self, double x) except? -1.0:
        """Push ``x`` and return the quantile of the window after the push."""
        if not isfinite(x):
            raise ValueError(f"x must be finite, got {x}")
        rq_push(self._s, x)
        return rq_value(self._s)

    def update_many(self, const double[:] x):
        """Push every value of ``x`` in order; return the quantile after each push (float64 array).

        The whole array is validated first: a non-finite value raises ValueError naming its index
        and leaves the state untouched.
        """
        cdef Py_ssize_t n = x.shape[0]
        cdef Py_ssize_t i
        out_arr = np.empty(n, dtype=np.float64)
        cdef double[::1] out = out_arr
        cdef RQState* s = self._s
        cdef Py_ssize_t bad = -1
        with nogil:
            for i in range(n):
                if not isfinite(x[i]):
                    bad = i
                    break
            if bad < 0:
                for i in range(n):
                    rq_push(s, x[i])
                    out[i] = rq_value(s)
        if bad >= 0:
            raise ValueError(f"x[{bad}] must be finite, got {x[bad]}")
        return out_arr

    @property
    def value(self):
        """The current quantile (NaN when empty)."""
        return rq_value(self._s)

    @property
    def window(self):
        return self._s.window

    @property
    def q(self):
        return self._s.q

    @property
    def nbytes(self):
        """Bytes of memory owned by the state (struct + ring + index + two heaps)."""
        return rq_nbytes(self._s)

    def __len__(self):
        return rq_size(self._s)

    def clear(self):
        """Forget every value (capacity and q are kept)."""
        rq_clear(self._s)

    def values(self):
        """The values in the window, oldest first (a copy)."""
        cdef RQState* s = self._s
        cdef Py_ssize_t i
        out = np.empty(s.count, dtype=np.float64)
        for i in range(s.count):
            out[i] = s.ring[(s.head + i) % s.window]
        return out

    def _check(self):
        """Verify the heap invariants; raises AssertionError naming the broken one (tests)."""
        cdef RQState* s = self._s
        cdef Py_ssize_t i
        if s.n_low + s.n_high != s.count:
            raise AssertionError("heap sizes do not add up to count")
        if s.count and s.n_low != _target_low(s.count, s.q):
            raise AssertionError("low heap size differs from floor((n-1)q)+1")
        for i in range(s.n_low):
            if s.pos[s.low[i]] != i:
                raise AssertionError("pos index out of sync (low)")
            if i and s.ring[s.low[(i - 1) >> 1]] < s.ring[s.low[i]]:
                raise AssertionError("max-heap order broken")
        for i in range(s.n_high):
            if s.pos[s.high[i]] != -i - 1:
                raise AssertionError("pos index out of sync (high)")
            if i and s.ring[s.high[(i - 1) >> 1]] > s.ring[s.high[i]]:
                raise AssertionError("min-heap order broken")
        if s.n_low and s.n_high and s.ring[s.low[0]] > s.ring[s.high[0]]:
            raise AssertionError("max(low) > min(high)")
        return True

    def __repr__(self):
        return f"RollingQuantile(window={self._s.window}, q={self._s.q!r}, len={self._s.count})"

    def __reduce__(self):
        return (_rebuild, (self._s.window, self._s.q, self.values()))


def _rebuild(window, q, values):
    rq = RollingQuantile(window, q)
    if len(values):
        rq.update_many(np.ascontiguousarray(values, dtype=np.float64))
    return rq
