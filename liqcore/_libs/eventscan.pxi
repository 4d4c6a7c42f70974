# cython: language_level=3
"""One pass over rows for the figures the load and the writer ask of every file, where numpy would make one
pass per figure over a strided field of 40-byte records.

* :func:`event_scan`: of ``EVENT_DTYPE`` rows, in one pass: the range of the event and receive times, of
  the kinds, venues and symbol ids; the largest fall and rise between neighbours in each time column
  (differences in int64 arithmetic, wrapping as numpy's do); whether the event times never go down; how
  many rows the clock guard drops (a receive time that is a clock reading, from 2000 on, and an event
  time more than ``max_skew_ns`` after it; None: the guard is off, 0 dropped); how many rows carry no
  receive time (-1).  An :class:`EventScan`.
* :func:`clock_witness`: the clock index's search (:mod:`liqcore.dataset.clock`) over one section of a
  partition file: for each rare row ``(r_te, r_tr)``, the last row stamped after ``r_te`` and received
  before ``r_tr`` -- the one with the latest event time, the last of equal ones -- as ``(w_te, w_tr)``,
  ``NONE`` (the smallest int64) where there is none; None when the section's event times go down.  One
  backward pass over the section with the rare rows taken by falling receive time, then a binary search
  per rare row.

The specification is the numpy twin ``pysrc/eventscan.py``; the property tests hold the two equal.
"""
from collections import namedtuple

cimport cython
from libc.stdint cimport INT64_MIN, int8_t, int32_t, int64_t, uint64_t

import numpy as np

from liqcore._libs.events cimport Event
from liqcore.types import EVENT_DTYPE

# receive times before 2000-01-01 are not clock readings (liqcore.venues.common.RECV_CLOCK_MIN_NS); -1: no
# receive time recorded (RECV_UNKNOWN); the clock index's "none" (liqcore.dataset.clock.NONE)
cdef int64_t RECV_CLOCK_MIN = 946684800000000000
cdef int64_t RECV_UNKNOWN = -1
cdef int64_t NONE = INT64_MIN

EventScan = namedtuple("EventScan", [
    "n", "te_min", "te_max", "tr_min", "tr_max", "te_step_min", "te_step_max", "tr_step_min", "tr_step_max",
    "te_sorted", "kind_min", "kind_max", "venue_min", "venue_max", "sid_min", "sid_max", "n_future",
    "n_recv_unknown"])


cdef inline int64_t _sub(int64_t a, int64_t b) noexcept nogil:
    # a - b wrapping as numpy's int64 arithmetic does (no signed overflow in C)
    return <int64_t>(<uint64_t>a - <uint64_t>b)


cdef inline void _step(int64_t d, bint first, int64_t *lo, int64_t *hi) noexcept nogil:
    # the smallest and largest neighbour step so far (the first step sets both)
    if first:
        lo[0] = d
        hi[0] = d
    elif d < lo[0]:
        lo[0] = d
    elif d > hi[0]:
        hi[0] = d


@cython.boundscheck(False)
@cython.wraparound(False)
def event_scan(events, max_skew_ns=None):
    """``events`` (``EVENT_DTYPE``, contiguous or a strided view) -> :class:`EventScan` (see the module)."""
    if events.dtype != EVENT_DTYPE:
        raise ValueError("eventscan: events are not EVENT_DTYPE rows")
    cdef const Event[:] ev = events
    cdef Py_ssize_t i, n = ev.shape[0]
    if n == 0:
        return EventScan(0, 0, 0, 0, 0, 0, 0, 0, 0, True, 0, 0, 0, 0, 0, 0, 0, 0)
    cdef bint guard = max_skew_ns is not None
    cdef int64_t skew = int(max_skew_ns) if guard else 0
    cdef const Event *e = &ev[0]
    cdef int64_t te_min = e.ts_event, te_max = e.ts_event, tr_min = e.ts_recv, tr_max = e.ts_recv
    cdef int64_t ds_min = 0, ds_max = 0, dr_min = 0, dr_max = 0
    cdef int64_t prev_te = e.ts_event, prev_tr = e.ts_recv, te, tr
    cdef int8_t k_min = e.kind, k_max = e.kind, v_min = e.venue, v_max = e.venue
    cdef int32_t s_min = e.symbol_id, s_max = e.symbol_id
    cdef bint sorted_ = True
    cdef Py_ssize_t n_future = 0, n_unknown = 0
    with nogil:
        for i in range(n):
            e = &ev[i]
            te = e.ts_event
            tr = e.ts_recv
            if i:
                if te < prev_te:
                    sorted_ = False
                _step(_sub(te, prev_te), i == 1, &ds_min, &ds_max)
                _step(_sub(tr, prev_tr), i == 1, &dr_min, &dr_max)
                if te < te_min:
                    te_min = te
                elif te > te_max:
                    te_max = te
                if tr < tr_min:
                    tr_min = tr
                elif tr > tr_max:
                    tr_max = tr
                if e.kind < k_min:
                    k_min = e.kind
                elif e.kind > k_max:
                    k_max = e.kind
                if e.venue < v_min:
                    v_min = e.venue
                elif e.venue > v_max:
                    v_max = e.venue
                if e.symbol_id < s_min:
                    s_min = e.symbol_id
                elif e.symbol_id > s_max:
                    s_max = e.symbol_id
            if guard and tr >= RECV_CLOCK_MIN and _sub(te, tr) > skew:
                n_future += 1
            if tr == RECV_UNKNOWN:
                n_unknown += 1
            prev_te = te
            prev_tr = tr
    return EventScan(n, te_min, te_max, tr_min, tr_max, ds_min, ds_max, dr_min, dr_max, bool(sorted_), k_min,
                     k_max, v_min, v_max, s_min, s_max, n_future, n_unknown)


@cython.boundscheck(False)
@cython.wraparound(False)
def clock_witness(te, tr, r_te, r_tr):
    """One section's times ``te``, ``tr`` (int64, strided views allowed) and the rare rows' ``r_te``, ``r_tr``
    -> ``(w_te, w_tr)``, or None when ``te`` goes down (see the module)."""
    cdef const int64_t[:] te_ = te
    cdef const int64_t[:] tr_ = tr
    if te_.shape[0] != tr_.shape[0]:
        raise ValueError("eventscan: te and tr differ in length")
    rte = np.ascontiguousarray(r_te, dtype=np.int64)
    rtr = np.ascontiguousarray(r_tr, dtype=np.int64)
    if len(rte) != len(rtr):
        raise ValueError("eventscan: r_te and r_tr differ in length")
    cdef Py_ssize_t n = te_.shape[0], m = len(rte), j, q, lo, hi, mid, qi = 0
    w_te = np.full(m, NONE, np.int64)
    w_tr = np.full(m, NONE, np.int64)
    at = np.full(m, -1, np.int64)
    order = np.ascontiguousarray(np.argsort(rtr, kind="stable")[::-1], dtype=np.int64)  # falling receive time
    cdef const int64_t[::1] rte_ = rte
    cdef const int64_t[::1] rtr_ = rtr
    cdef const int64_t[::1] ord_ = order
    cdef int64_t[::1] at_ = at
    cdef int64_t[::1] wte_ = w_te
    cdef int64_t[::1] wtr_ = w_tr
    cdef bint sorted_ = True
    cdef int64_t t
    with nogil:
        j = n - 1
        while j >= 0:
            if j < n - 1 and te_[j] > te_[j + 1]:
                sorted_ = False
                break
            t = tr_[j]
            while qi < m and t < rtr_[ord_[qi]]:  # the last row received before r_tr: this one
                at_[ord_[qi]] = j
                qi += 1
            j -= 1
        if sorted_:
            for q in range(m):
                j = at_[q]
                if j < 0:
                    continue
                lo = 0  # the first row stamped after r_te
                hi = n
                while lo < hi:
                    mid = (lo + hi) // 2
                    if te_[mid] <= rte_[q]:
                        lo = mid + 1
                    else:
                        hi = mid
                if j >= lo:
                    wte_[q] = te_[j]
                    wtr_[q] = tr_[j]
    if not sorted_:
        return None
    return w_te, w_tr
