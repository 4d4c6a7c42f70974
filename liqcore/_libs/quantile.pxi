# cython: language_level=3
"""Exact sliding-window quantile with ``numpy.quantile(method="linear")`` semantics.

For ``n`` values numpy's virtual index is ``h = (n - 1) * q``; the quantile is numpy's ``_lerp`` between the
order statistics ``sorted[floor(h)]`` and ``sorted[floor(h) + 1]``. The last ``window`` values, numbered by
ring slot in arrival order, are split into the ``floor(h) + 1`` smallest (the low side) and the rest, a
min-heap ``H``; the quantile is then ``lerp(max(low), min(H))``. The low side is itself split at a bound
``lim``: a max-heap ``B`` of its largest values, all ``>= lim``, and an unordered array ``U`` of the others, all
``<= lim``, so ``max(low)`` is the top of ``B``. Every stored value sits next to its ring slot and ``pos`` maps
each ring slot to its tier and place, so the value leaving the window is found in O(1).

Once the window is full a push overwrites the oldest slot. The common case, a value leaving ``U`` and a value
``<= lim`` arriving, is one store: the new value takes the old one's place in ``U``. Otherwise the values move
between the tiers with O(log) heap steps and the two tops are swapped when they cross. When ``B`` runs empty
while ``U`` is not, one pass over ``U`` moves its ``REFILL`` largest values into ``B`` (``lim`` becomes the
smallest of them); when ``B`` grows past ``B_MAX`` (a level shift upwards) it keeps its ``REFILL`` largest
values and pours the others into ``U`` (``lim`` rises to the smallest kept), so ``B`` stays a small heap.
"""
cimport cython
from libc.math cimport INFINITY, NAN, floor, isfinite
from libc.stdlib cimport free, malloc
from libc.string cimport memcmp

import numpy as np

cdef enum:
    REFILL = 64     # values a refill moves from U into B
    B_MAX = 256     # B at this size at a push: pour it back into U and refill (a level shift upwards)
    # pos[slot] = (index << 2) | tier
    T_U = 0
    T_B = 1
    T_H = 2


# ---- U: the unordered smaller values of the low side (u_v, u_s), all <= lim ----------------------

cdef inline void _u_set(RQState* s, Py_ssize_t i, double v, int slot) noexcept nogil:
    s.u_v[i] = v
    s.u_s[i] = slot
    s.pos[slot] = i << 2


cdef inline void _u_append(RQState* s, double v, int slot) noexcept nogil:
    _u_set(s, s.n_u, v, slot)
    s.n_u += 1


cdef inline void _u_remove(RQState* s, Py_ssize_t i) noexcept nogil:
    s.n_u -= 1
    if i != s.n_u:
        _u_set(s, i, s.u_v[s.n_u], s.u_s[s.n_u])


# ---- B: max-heap of the larger values of the low side (b_v, b_s), all >= lim --------------------

cdef inline void _b_set(RQState* s, Py_ssize_t i, double v, int slot) noexcept nogil:
    s.b_v[i] = v
    s.b_s[i] = slot
    s.pos[slot] = (i << 2) | T_B


cdef void _b_up(RQState* s, Py_ssize_t i) noexcept nogil:
    cdef double v = s.b_v[i]
    cdef int slot = s.b_s[i]
    cdef Py_ssize_t parent
    while i > 0:
        parent = (i - 1) >> 1
        if s.b_v[parent] >= v:
            break
        _b_set(s, i, s.b_v[parent], s.b_s[parent])
        i = parent
    _b_set(s, i, v, slot)


cdef void _b_down(RQState* s, Py_ssize_t i) noexcept nogil:
    cdef double v = s.b_v[i]
    cdef int slot = s.b_s[i]
    cdef Py_ssize_t n = s.n_b
    cdef Py_ssize_t c
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and s.b_v[c + 1] > s.b_v[c]:
            c += 1
        if s.b_v[c] <= v:
            break
        _b_set(s, i, s.b_v[c], s.b_s[c])
        i = c
    _b_set(s, i, v, slot)


cdef void _b_remove(RQState* s, Py_ssize_t i) noexcept nogil:
    """Take entry ``i`` out of B (the last entry fills its place and is sifted)."""
    cdef int slot
    s.n_b -= 1
    if i != s.n_b:
        slot = s.b_s[s.n_b]
        _b_set(s, i, s.b_v[s.n_b], slot)
        _b_up(s, i)
        _b_down(s, s.pos[slot] >> 2)


# ---- H: min-heap of the values above the low side (h_v, h_s) --------------------------------------

cdef inline void _h_set(RQState* s, Py_ssize_t i, double v, int slot) noexcept nogil:
    s.h_v[i] = v
    s.h_s[i] = slot
    s.pos[slot] = (i << 2) | T_H


cdef void _h_up(RQState* s, Py_ssize_t i) noexcept nogil:
    cdef double v = s.h_v[i]
    cdef int slot = s.h_s[i]
    cdef Py_ssize_t parent
    while i > 0:
        parent = (i - 1) >> 1
        if s.h_v[parent] <= v:
            break
        _h_set(s, i, s.h_v[parent], s.h_s[parent])
        i = parent
    _h_set(s, i, v, slot)


cdef void _h_down(RQState* s, Py_ssize_t i) noexcept nogil:
    cdef double v = s.h_v[i]
    cdef int slot = s.h_s[i]
    cdef Py_ssize_t n = s.n_h
    cdef Py_ssize_t c
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and s.h_v[c + 1] < s.h_v[c]:
            c += 1
        if s.h_v[c] >= v:
            break
        _h_set(s, i, s.h_v[c], s.h_s[c])
        i = c
    _h_set(s, i, v, slot)


cdef void _h_remove(RQState* s, Py_ssize_t i) noexcept nogil:
    """Take entry ``i`` out of H (the last entry fills its place and is sifted)."""
    cdef int slot
    s.n_h -= 1
    if i != s.n_h:
        slot = s.h_s[s.n_h]
        _h_set(s, i, s.h_v[s.n_h], slot)
        _h_up(s, i)
        _h_down(s, s.pos[slot] >> 2)


cdef inline void _h_push(RQState* s, double v, int slot) noexcept nogil:
    s.n_h += 1
    _h_set(s, s.n_h - 1, v, slot)
    _h_up(s, s.n_h - 1)


# ---- the bound between U and B ---------------------------------------------------------------------

cdef double _select(RQState* s, const double* v, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    """The ``k`` (``1 <= k <= n``) largest of ``v[:n]`` into the refill's scratch (``sel_v``, ``sel_i``: value
    and index, a min-heap) -> the smallest of them. Every value not selected is <= it (each was below the heap's
    minimum when passed or pushed out, and that minimum only rises)."""
    cdef double* sel_v = s.sel_v
    cdef int* sel_i = s.sel_i
    cdef Py_ssize_t j
    for j in range(k):
        sel_v[j] = v[j]
        sel_i[j] = <int>j
    j = k // 2
    while j > 0:
        j -= 1
        _sel_down(sel_v, sel_i, k, j)
    for j in range(k, n):
        if v[j] > sel_v[0]:
            sel_v[0] = v[j]
            sel_i[0] = <int>j
            _sel_down(sel_v, sel_i, k, 0)
    return sel_v[0]


cdef void _heapify_b(RQState* s) noexcept nogil:
    """B's entries made a max-heap, each slot's place noted."""
    cdef Py_ssize_t j = s.n_b // 2
    while j > 0:
        j -= 1
        _b_down(s, j)
    for j in range(s.n_b):
        s.pos[s.b_s[j]] = (j << 2) | T_B


cdef void _refill(RQState* s) noexcept nogil:
    """B is empty: move the ``REFILL`` largest values of U (all of U when it holds fewer) into B; ``lim`` becomes
    the smallest value moved."""
    cdef Py_ssize_t k = s.n_u if s.n_u < REFILL else REFILL
    cdef Py_ssize_t j, m = 0
    cdef int slot
    if k == 0:
        return
    s.lim = _select(s, s.u_v, s.n_u, k)
    # the selected marked through their slots (pos -1: each gets its place in B below), then U compacted in one
    # pass, in order, the selected moved to B (a sort of their indexes and a removal each were O(k^2))
    for j in range(k):
        s.pos[s.u_s[s.sel_i[j]]] = -1
    for j in range(s.n_u):
        slot = s.u_s[j]
        if s.pos[slot] == -1:
            s.b_v[s.n_b] = s.u_v[j]
            s.b_s[s.n_b] = slot
            s.n_b += 1
        else:
            if m != j:
                _u_set(s, m, s.u_v[j], slot)
            m += 1
    s.n_u = m
    _heapify_b(s)


cdef inline void _sel_down(double* v, int* ix, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    cdef double x = v[i]
    cdef int xi = ix[i]
    cdef Py_ssize_t c
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and v[c + 1] < v[c]:
            c += 1
        if v[c] >= x:
            break
        v[i] = v[c]
        ix[i] = ix[c]
        i = c
    v[i] = x
    ix[i] = xi


cdef void _repartition(RQState* s) noexcept nogil:
    """B has grown past B_MAX: keep its REFILL largest values and pour the others into U (lim rises to the smallest
    kept). Every value of U is <= lim <= each of B's, so those are the low side's REFILL largest: what pouring all
    of B back and refilling from U selects, found among B's values alone (a pass over B, not over the whole low
    side: on a rising stream a pour-back comes every ``B_MAX - REFILL`` pushes)."""
    cdef Py_ssize_t k = s.n_b if s.n_b < REFILL else REFILL
    cdef Py_ssize_t j, n = s.n_b, m = 0
    cdef int slot
    if k == 0:
        return
    s.lim = _select(s, s.b_v, n, k)
    for j in range(k):  # (marked through their slots, as a refill marks them)
        s.pos[s.b_s[s.sel_i[j]]] = -1
    for j in range(n):  # the kept to B's front, in place (m <= j), the others into U
        slot = s.b_s[j]
        if s.pos[slot] == -1:
            s.b_v[m] = s.b_v[j]
            s.b_s[m] = slot
            m += 1
        else:
            _u_append(s, s.b_v[j], slot)
    s.n_b = m
    _heapify_b(s)


cdef inline void _b_push(RQState* s, double v, int slot) noexcept nogil:
    """Put ``v`` (>= lim) into B."""
    if s.n_b >= B_MAX:
        _repartition(s)
        if v <= s.lim:  # the bound rose above v: it now belongs to U
            _u_append(s, v, slot)
            return
    s.n_b += 1
    _b_set(s, s.n_b - 1, v, slot)
    _b_up(s, s.n_b - 1)


cdef inline void _low_insert(RQState* s, double v, int slot) noexcept nogil:
    """Put ``v`` into the low side (U when ``v <= lim``, else B). The low side is empty only while the window
    is (then lim is -inf), so a value put in U always has B above it."""
    if v > s.lim:
        _b_push(s, v, slot)
    else:
        _u_append(s, v, slot)


# ---- moves between the low side and H ------------------------------------------------------------

cdef void _low_to_high(RQState* s) noexcept nogil:
    """Move max(low) (the top of B) into H."""
    cdef double v = s.b_v[0]
    cdef int slot = s.b_s[0]
    _b_remove(s, 0)
    _h_push(s, v, slot)
    if s.n_b == 0 and s.n_u > 0:
        _refill(s)


cdef void _high_to_low(RQState* s) noexcept nogil:
    """Move min(H) into the low side."""
    cdef double v = s.h_v[0]
    cdef int slot = s.h_s[0]
    _h_remove(s, 0)
    _low_insert(s, v, slot)


cdef inline Py_ssize_t _target_low(Py_ssize_t n, double q) noexcept nogil:
    """Size of the low side for ``n`` values: floor((n - 1) q) + 1, capped at n."""
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


cdef void _fix_tops(RQState* s) noexcept nogil:
    """Restore max(low) <= min(H) after one value changed (one swap of the tops suffices; both are >= lim)."""
    cdef double a, b
    cdef int sa, sb
    if s.n_b > 0 and s.n_h > 0:
        a = s.b_v[0]
        b = s.h_v[0]
        if a > b:
            sa = s.b_s[0]
            sb = s.h_s[0]
            _b_set(s, 0, b, sb)
            _h_set(s, 0, a, sa)
            _b_down(s, 0)
            _h_down(s, 0)


cdef inline double _slot_value(RQState* s, Py_ssize_t slot) noexcept nogil:
    cdef Py_ssize_t p = s.pos[slot]
    cdef Py_ssize_t tier = p & 3
    if tier == T_U:
        return s.u_v[p >> 2]
    if tier == T_B:
        return s.b_v[p >> 2]
    return s.h_v[p >> 2]


cdef void _push_full(RQState* s, double x, Py_ssize_t slot, Py_ssize_t p) noexcept nogil:
    """The window is full and ``x`` replaces slot ``slot`` (at ``p``), other than U to U (see rq_push)."""
    cdef Py_ssize_t i = p >> 2
    cdef Py_ssize_t tier = p & 3
    cdef double old
    if tier == T_U:
        # x > lim: into B
        _u_remove(s, i)
        _b_push(s, x, <int>slot)
    elif tier == T_B:
        if x > s.lim:
            old = s.b_v[i]
            s.b_v[i] = x
            if x > old:
                _b_up(s, i)
            elif x < old:
                _b_down(s, i)
        else:
            _b_remove(s, i)
            _u_append(s, x, <int>slot)
            if s.n_b == 0:
                _refill(s)
    else:
        if x > s.lim:
            old = s.h_v[i]
            s.h_v[i] = x
            if x < old:
                _h_up(s, i)
            elif x > old:
                _h_down(s, i)
        else:
            # x joins U; the largest of the low side (the top of B, >= x) takes the freed place in H
            _h_remove(s, i)
            _u_append(s, x, <int>slot)
            _low_to_high(s)
    _fix_tops(s)


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
    s.pos = <Py_ssize_t*>malloc(window * sizeof(Py_ssize_t))
    s.u_v = <double*>malloc(s.cap_low * sizeof(double))
    s.u_s = <int*>malloc(s.cap_low * sizeof(int))
    s.cap_b = s.cap_low if s.cap_low < B_MAX else B_MAX  # B never holds more than B_MAX
    s.b_v = <double*>malloc(s.cap_b * sizeof(double))
    s.b_s = <int*>malloc(s.cap_b * sizeof(int))
    s.h_v = <double*>malloc(s.cap_high * sizeof(double))
    s.h_s = <int*>malloc(s.cap_high * sizeof(int))
    s.sel_v = <double*>malloc(REFILL * sizeof(double))
    s.sel_i = <int*>malloc(REFILL * sizeof(int))
    if (s.pos == NULL or s.u_v == NULL or s.u_s == NULL or s.b_v == NULL or s.b_s == NULL or s.h_v == NULL
            or s.h_s == NULL or s.sel_v == NULL or s.sel_i == NULL):
        rq_free(s)
        return NULL
    rq_clear(s)
    return s


cdef void rq_free(RQState* s) noexcept nogil:
    if s == NULL:
        return
    free(s.pos)
    free(s.u_v)
    free(s.u_s)
    free(s.b_v)
    free(s.b_s)
    free(s.h_v)
    free(s.h_s)
    free(s.sel_v)
    free(s.sel_i)
    free(s)


cdef void rq_clear(RQState* s) noexcept nogil:
    s.count = 0
    s.head = 0
    s.n_u = 0
    s.n_b = 0
    s.n_h = 0
    s.lim = -INFINITY
    _set_weight(s)


cdef void rq_push(RQState* s, double x) noexcept nogil:
    cdef Py_ssize_t slot, target, p
    if s.count == s.window:
        slot = s.head
        s.head += 1
        if s.head == s.window:
            s.head = 0
        p = s.pos[slot]
        if (p & 3) == T_U and x <= s.lim:
            # the common case: the new value takes the old one's place in U (max(low) and H unchanged)
            s.u_v[p >> 2] = x
            return
        _push_full(s, x, slot, p)
        return
    # window still filling: slots are used in order 0 .. window-1 and head stays at 0
    slot = s.count
    s.count += 1
    if s.n_b > 0 and x <= s.b_v[0]:
        _low_insert(s, x, <int>slot)
    else:
        _h_push(s, x, <int>slot)
    target = _target_low(s.count, s.q)
    while s.n_u + s.n_b > target:
        _low_to_high(s)
    while s.n_u + s.n_b < target:
        _high_to_low(s)
    _set_weight(s)


cdef double rq_value(RQState* s) noexcept nogil:
    cdef double t, a, b, d
    if s.count == 0:
        return NAN
    a = s.b_v[0]
    if not s.interp:
        return a
    b = s.h_v[0]
    t = s.t
    # numpy's _lerp, branch for branch
    d = b - a
    if t >= 0.5:
        return b - d * (1.0 - t)
    return a + d * t


cdef Py_ssize_t rq_size(RQState* s) noexcept nogil:
    return s.count


cdef Py_ssize_t rq_nbytes(RQState* s) noexcept nogil:
    return (<Py_ssize_t>sizeof(RQState) + s.window * <Py_ssize_t>sizeof(Py_ssize_t)
            + (s.cap_low + s.cap_b + s.cap_high + REFILL) * <Py_ssize_t>(sizeof(double) + sizeof(int)))


# ---- Python class --------------------------------------------------------------------------------

@cython.final
@cython.binding(False)  # methods are plain C methods: `update` is a direct METH_O call, no cyfunction layer
# each method's docstring opens with its text signature (``name($self, ...)`` then ``--``): Python reads it as
# the method's signature (``inspect.signature``, ``help``, the API reference); the embedded one is not readable
@cython.embedsignature(False)
cdef class RollingQuantile:
    """RollingQuantile(window, q)
--

    Exact ``q`` quantile (numpy ``method="linear"``) of the last ``window`` values.

    ``update(x)`` pushes ``x`` (evicting the oldest value once ``window`` values are held) and
    returns the quantile of the window after the push. O(1) for most updates (a value leaving and one
    arriving below the bound), O(log window) heap steps otherwise, now and then one pass over the lower values
    (a refill of the small heap); O(1) per read.
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
        """update($self, x, /)
--

        Push ``x`` and return the quantile of the window after the push."""
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
        """update_many($self, values)
--

        Push every value of ``values`` (a 1-d float array or sequence) in order; return the
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
        """How many values the window holds at most (the oldest leaves at the next push once it is full)."""
        return self._s.window

    @property
    def q(self):
        """The quantile computed, in [0, 1] (0.5: the median)."""
        return self._s.q

    @property
    def nbytes(self):
        """Bytes of memory owned by the state (struct + slot index + U, B, H and the refill scratch, values and
        slots)."""
        return rq_nbytes(self._s)

    def __len__(self):
        return rq_size(self._s)

    def clear(self):
        """clear($self)
--

        Forget every value (capacity and q are kept)."""
        rq_clear(self._s)

    def values(self):
        """values($self)
--

        The values in the window, oldest first (a copy)."""
        cdef RQState* s = self._s
        cdef Py_ssize_t i
        out = np.empty(s.count, dtype=np.float64)
        for i in range(s.count):
            out[i] = _slot_value(s, (s.head + i) % s.window)
        return out

    def _check(self):
        """Verify the invariants; raises AssertionError naming the broken one (tests)."""
        cdef RQState* s = self._s
        cdef Py_ssize_t i
        if s.n_u + s.n_b + s.n_h != s.count:
            raise AssertionError("tier sizes do not add up to count")
        if s.count and s.n_u + s.n_b != _target_low(s.count, s.q):
            raise AssertionError("low side size differs from floor((n-1)q)+1")
        if s.n_u > 0 and s.n_b == 0:
            raise AssertionError("B empty while U is not")
        if s.n_u > s.cap_low or s.n_b > s.cap_b or s.n_h > s.cap_high:
            raise AssertionError("tier over capacity")
        for i in range(s.n_u):
            if s.pos[s.u_s[i]] != (i << 2) | T_U:
                raise AssertionError("pos index out of sync (U)")
            if not s.u_v[i] <= s.lim:
                raise AssertionError("a value of U above lim")
        for i in range(s.n_b):
            if s.pos[s.b_s[i]] != (i << 2) | T_B:
                raise AssertionError("pos index out of sync (B)")
            if not s.b_v[i] >= s.lim:
                raise AssertionError("a value of B below lim")
            if i and s.b_v[(i - 1) >> 1] < s.b_v[i]:
                raise AssertionError("max-heap order broken (B)")
        for i in range(s.n_h):
            if s.pos[s.h_s[i]] != (i << 2) | T_H:
                raise AssertionError("pos index out of sync (H)")
            if i and s.h_v[(i - 1) >> 1] > s.h_v[i]:
                raise AssertionError("min-heap order broken (H)")
        if s.n_b and s.n_h and s.b_v[0] > s.h_v[0]:
            raise AssertionError("max(low) > min(H)")
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
