# cython: language_level=3
"""Exact sliding-window quantile with ``numpy.quantile(method="linear")`` semantics.

The last ``window`` values, numbered by ring slot in arrival order, are split into two heaps: a
max-heap ``low`` holding the ``floor(h) + 1`` smallest values and a min-heap ``high``
holding the rest, where ``h = (n - 1) * q`` is numpy's virtual index for ``n`` values. The tops of
the two heaps are then the order statistics ``sorted[floor(h)]`` and ``sorted[floor(h) + 1]`` and the
quantile is numpy's ``_lerp`` between them. The heaps store the values themselves next to their ring
slots (no indirection on comparisons); ``pos`` maps every ring slot (arrival order) to its place in
a heap so the value leaving the window is replaced in place: each push is O(log N), each read O(1).

Once the window is full, a push overwrites the oldest slot, re-sifts it inside its heap and swaps
the two heap tops when they cross. While the window fills, the new value goes into the heap on its
side of the split and one top moves across when the target size of ``low`` changes.
"""
cimport cython
from libc.math cimport NAN, floor, isfinite
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp

import numpy as np


# ---- max-heap `low` (values low_v, ring slots low_s) ----------------------------------------------

cdef inline void _low_set(RQState* s, Py_ssize_t i, double v, int slot) noexcept nogil:
    s.low_v[i] = v
    s.low_s[i] = slot
    s.pos[slot] = <int>i


cdef void _low_up(RQState* s, Py_ssize_t i) noexcept nogil:
    cdef double v = s.low_v[i]
    cdef int slot = s.low_s[i]
    cdef Py_ssize_t parent
    while i > 0:
        parent = (i - 1) >> 1
        if s.low_v[parent] >= v:
            break
        _low_set(s, i, s.low_v[parent], s.low_s[parent])
        i = parent
    _low_set(s, i, v, slot)


cdef void _low_down(RQState* s, Py_ssize_t i) noexcept nogil:
    cdef double v = s.low_v[i]
    cdef int slot = s.low_s[i]
    cdef Py_ssize_t n = s.n_low
    cdef Py_ssize_t c
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and s.low_v[c + 1] > s.low_v[c]:
            c += 1
        if s.low_v[c] <= v:
            break
        _low_set(s, i, s.low_v[c], s.low_s[c])
        i = c
    _low_set(s, i, v, slot)


# ---- min-heap `high` (values high_v, ring slots high_s) -------------------------------------------

cdef inline void _high_set(RQState* s, Py_ssize_t i, double v, int slot) noexcept nogil:
    s.high_v[i] = v
    s.high_s[i] = slot
    s.pos[slot] = -(<int>i) - 1


cdef void _high_up(RQState* s, Py_ssize_t i) noexcept nogil:
    cdef double v = s.high_v[i]
    cdef int slot = s.high_s[i]
    cdef Py_ssize_t parent
    while i > 0:
        parent = (i - 1) >> 1
        if s.high_v[parent] <= v:
            break
        _high_set(s, i, s.high_v[parent], s.high_s[parent])
        i = parent
    _high_set(s, i, v, slot)


cdef void _high_down(RQState* s, Py_ssize_t i) noexcept nogil:
    cdef double v = s.high_v[i]
    cdef int slot = s.high_s[i]
    cdef Py_ssize_t n = s.n_high
    cdef Py_ssize_t c
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and s.high_v[c + 1] < s.high_v[c]:
            c += 1
        if s.high_v[c] >= v:
            break
        _high_set(s, i, s.high_v[c], s.high_s[c])
        i = c
    _high_set(s, i, v, slot)


# ---- moves between the heaps ---------------------------------------------------------------------

cdef inline void _low_push(RQState* s, double v, int slot) noexcept nogil:
    s.n_low += 1
    _low_set(s, s.n_low - 1, v, slot)
    _low_up(s, s.n_low - 1)


cdef inline void _high_push(RQState* s, double v, int slot) noexcept nogil:
    s.n_high += 1
    _high_set(s, s.n_high - 1, v, slot)
    _high_up(s, s.n_high - 1)


cdef inline void _low_to_high(RQState* s) noexcept nogil:
    cdef double v = s.low_v[0]
    cdef int slot = s.low_s[0]
    s.n_low -= 1
    if s.n_low > 0:
        _low_set(s, 0, s.low_v[s.n_low], s.low_s[s.n_low])
        _low_down(s, 0)
    _high_push(s, v, slot)


cdef inline void _high_to_low(RQState* s) noexcept nogil:
    cdef double v = s.high_v[0]
    cdef int slot = s.high_s[0]
    s.n_high -= 1
    if s.n_high > 0:
        _high_set(s, 0, s.high_v[s.n_high], s.high_s[s.n_high])
        _high_down(s, 0)
    _low_push(s, v, slot)


cdef inline Py_ssize_t _target_low(Py_ssize_t n, double q) noexcept nogil:
    """Size of the lower heap for ``n`` values: floor((n - 1) q) + 1, capped at n."""
    cdef double h = <double>(n - 1) * q
    cdef Py_ssize_t lo
    if n <= 0:
        return 0
    lo = <Py_ssize_t>floor(h)
    if lo > n - 1:
        lo = n - 1
    if lo < 0:
        lo = 0
    return lo + 1


cdef inline void _set_weight(RQState* s) noexcept nogil:
    """numpy's virtual index h = (n - 1) q and weight t = h - floor(h) for the current count."""
    cdef Py_ssize_t n = s.count
    cdef double h
    if n == 0:
        s.interp = False
        s.t = 0.0
        return
    h = <double>(n - 1) * s.q
    s.interp = h < <double>(n - 1)
    s.t = h - floor(h)


cdef inline void _fix_tops(RQState* s) noexcept nogil:
    """Restore max(low) <= min(high) after one value changed (one swap of the tops suffices)."""
    cdef double a, b
    cdef int sa, sb
    if s.n_low > 0 and s.n_high > 0:
        a = s.low_v[0]
        b = s.high_v[0]
        if a > b:
            sa = s.low_s[0]
            sb = s.high_s[0]
            _low_set(s, 0, b, sb)
            _high_set(s, 0, a, sa)
            _low_down(s, 0)
            _high_down(s, 0)


cdef inline double _slot_value(RQState* s, Py_ssize_t slot) noexcept nogil:
    cdef int p = s.pos[slot]
    if p >= 0:
        return s.low_v[p]
    return s.high_v[-p - 1]


# ---- C API ---------------------------------------------------------------------------------------

cdef RQState* rq_new(Py_ssize_t window, double q) noexcept nogil:
    cdef RQState* s
    cdef Py_ssize_t tl
    if window < 1 or window > 0x7FFFFFF0 or not (q >= 0.0 and q <= 1.0):
        return NULL
    s = <RQState*>malloc(sizeof(RQState))
    if s == NULL:
        return NULL
    tl = _target_low(window, q)
    s.window = window
    s.q = q
    # sizes are monotone while the window fills; one extra entry covers the insert-then-rebalance
    s.cap_low = tl + 1
    s.cap_high = window - tl + 1
    s.pos = <int*>malloc(window * sizeof(int))
    s.low_v = <double*>malloc(s.cap_low * sizeof(double))
    s.low_s = <int*>malloc(s.cap_low * sizeof(int))
    s.high_v = <double*>malloc(s.cap_high * sizeof(double))
    s.high_s = <int*>malloc(s.cap_high * sizeof(int))
    if s.pos == NULL or s.low_v == NULL or s.low_s == NULL or s.high_v == NULL or s.high_s == NULL:
        rq_free(s)
        return NULL
    rq_clear(s)
    return s


cdef void rq_free(RQState* s) noexcept nogil:
    if s == NULL:
        return
    free(s.pos)
    free(s.low_v)
    free(s.low_s)
    free(s.high_v)
    free(s.high_s)
    free(s)


cdef void rq_clear(RQState* s) noexcept nogil:
    s.count = 0
    s.head = 0
    s.n_low = 0
    s.n_high = 0
    _set_weight(s)


cdef void rq_push(RQState* s, double x) noexcept nogil:
    cdef Py_ssize_t slot, target
    cdef int p
    cdef double old
    if s.count == s.window:
        # overwrite the oldest value in place and re-sift it inside its heap
        slot = s.head
        s.head += 1
        if s.head == s.window:
            s.head = 0
        p = s.pos[slot]
        if p >= 0:
            old = s.low_v[p]
            s.low_v[p] = x
            if x > old:
                _low_up(s, p)
            elif x < old:
                _low_down(s, p)
        else:
            p = -p - 1
            old = s.high_v[p]
            s.high_v[p] = x
            if x < old:
                _high_up(s, p)
            elif x > old:
                _high_down(s, p)
        _fix_tops(s)
        return
    # window still filling: slots are used in order 0 .. window-1 and head stays at 0
    slot = s.count
    s.count += 1
    if s.n_low > 0 and x <= s.low_v[0]:
        _low_push(s, x, <int>slot)
    else:
        _high_push(s, x, <int>slot)
    target = _target_low(s.count, s.q)
    while s.n_low > target:
        _low_to_high(s)
    while s.n_low < target:
        _high_to_low(s)
    _set_weight(s)


cdef double rq_value(RQState* s) noexcept nogil:
    cdef double t, a, b, d
    if s.count == 0:
        return NAN
    a = s.low_v[0]
    if not s.interp:
        return a
    b = s.high_v[0]
    t = s.t
    # numpy's _lerp, branch for branch
    d = b - a
    if t >= 0.5:
        return b - d * (1.0 - t)
    return a + d * t


cdef Py_ssize_t rq_size(RQState* s) noexcept nogil:
    return s.count


cdef Py_ssize_t rq_nbytes(RQState* s) noexcept nogil:
    return (<Py_ssize_t>sizeof(RQState) + s.window * <Py_ssize_t>sizeof(int)
            + (s.cap_low + s.cap_high) * <Py_ssize_t>(sizeof(double) + sizeof(int)))


def _as_1d(obj, dtype, str name):
    """``obj`` as a 1-d array of ``dtype`` (no copy when it already is one)."""
    arr = np.asarray(obj, dtype=dtype)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-d, got shape {arr.shape}")
    return arr


# ---- Python class --------------------------------------------------------------------------------

@cython.final
@cython.binding(False)  # methods are plain C methods: `update` is a direct METH_O call, no cyfunction layer
cdef class RollingQuantile:
    """Exact ``q`` quantile (numpy ``method="linear"``) of the last ``window`` values.

    ``update(x)`` pushes ``x`` (evicting the oldest value once ``window`` values are held) and
    returns the quantile of the window after the push. O(log window) per update, O(1) per read.
    An instance is not thread-safe (``update_many`` runs without the GIL): one per thread.
    """

    def __cinit__(self, Py_ssize_t window, double q):
        self._s = NULL
        self._last_v = NAN  # no quantile handed out yet (a push never gives NaN)
        self._last = NAN
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        if window > 0x7FFFFFF0:
            raise ValueError(f"window must be <= {0x7FFFFFF0}, got {window}")
        if not (q >= 0.0 and q <= 1.0):
            raise ValueError(f"q must be in [0, 1], got {q}")
        self._s = rq_new(window, q)
        if self._s == NULL:
            raise MemoryError("RollingQuantile: cannot allocate the window")

    def __dealloc__(self):
        rq_free(self._s)
        self._s = NULL

    @cython.always_allow_keywords(False)  # (one positional argument: the METH_O call, no keyword parsing)
    def update(self, double x):
        """Push ``x`` and return the quantile of the window after the push."""
        cdef double v
        if not isfinite(x):
            raise ValueError(f"x must be finite, got {x}")
        rq_push(self._s, x)
        v = rq_value(self._s)
        # most pushes leave the quantile as it was: hand back the float object made for it then (bit for bit
        # the same value, -0.0 kept apart from 0.0) instead of allocating a new one per call
        if memcmp(&v, &self._last_v, sizeof(double)) != 0:
            self._last = v
            self._last_v = v
        return self._last

    def update_many(self, values):
        """Push every value of ``values`` (a 1-d float array or sequence) in order; return the
        quantile after each push (float64 array).

        The whole array is validated first: a non-finite value raises ValueError naming its index
        and leaves the state untouched.
        """
        cdef const double[:] x = _as_1d(values, np.float64, "x")
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
        """Bytes of memory owned by the state (struct + slot index + two heaps of values and slots)."""
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
            out[i] = _slot_value(s, (s.head + i) % s.window)
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
            if s.pos[s.low_s[i]] != i:
                raise AssertionError("pos index out of sync (low)")
            if i and s.low_v[(i - 1) >> 1] < s.low_v[i]:
                raise AssertionError("max-heap order broken")
        for i in range(s.n_high):
            if s.pos[s.high_s[i]] != -i - 1:
                raise AssertionError("pos index out of sync (high)")
            if i and s.high_v[(i - 1) >> 1] > s.high_v[i]:
                raise AssertionError("min-heap order broken")
        if s.n_low and s.n_high and s.low_v[0] > s.high_v[0]:
            raise AssertionError("max(low) > min(high)")
        if s.n_low > s.cap_low or s.n_high > s.cap_high:
            raise AssertionError("heap over capacity")
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
