# cython: language_level=3
"""The first-passage questions the window plan asks of a month's block table
(:mod:`liqcore.backtest.passage`, :func:`liqcore.backtest.row_groups._quotes_quiet`), each one forward walk
from a binary search's place that stops at the answer: :func:`first_loud`, the first block past a receive time
whose price range can reach a live order's or position's level (the first passage), and :func:`quotes_reach`,
whether a quote block of a span can reach an open position's take-profit.

The block table is sorted by its blocks' first receive times (``tr_min``), so the first block in table order
that can reach a level is the one with the earliest first receive time: the numpy passes these replace (a mask
over every block up to the order's deadline or the next signal, then ``argmin``) walked every block of a span
that may be days long; this walks up to the answer.  Prices on the price grid as the simulator compares them
(``floor(price x grid + 0.5)``, the price itself with no grid); a price that is not a number reaches every level
(no comparison with it holds), as in the numpy passes.

The specification is the reference twin ``pysrc/passage.py`` (the numpy passes); the property tests hold the two
equal.
"""
from libc.math cimport floor
from libc.stdint cimport int64_t


cdef inline double _tk(double x, double grid) noexcept nogil:
    return floor(x * grid + 0.5) if grid > 0.0 else x


cdef inline bint _quiet(int mode, double lo, double hi, double lvl, double tp, double grid) noexcept nogil:
    if mode == 0:  # an open long: above its stop, below its take-profit
        return lo > lvl and _tk(hi, grid) < tp
    if mode == 1:  # an open short: below its stop, above its take-profit
        return hi < lvl and _tk(lo, grid) > tp
    if mode == 2:  # a resting buy limit (``tp``: its price on the grid): every price above it
        return _tk(lo, grid) > tp
    return _tk(hi, grid) < tp  # a resting sell limit: every price below it


cdef Py_ssize_t _first_loud(const int64_t[:] tr_min, const int64_t[:] tr_max, const double[:] p_min,
                            const double[:] p_max, Py_ssize_t i, int64_t b, int64_t end, int mode, double lvl,
                            double tp, double grid) noexcept nogil:
    cdef Py_ssize_t n = tr_min.shape[0]
    while i < n and tr_min[i] < end:
        if tr_max[i] >= b and not _quiet(mode, p_min[i], p_max[i], lvl, tp, grid):
            return i
        i += 1
    return -1


def first_loud(const int64_t[:] tr_min, const int64_t[:] tr_max, const double[:] p_min, const double[:] p_max,
               Py_ssize_t i0, int64_t b, int64_t end, int mode, double lvl, double tp, double grid):
    """The first block ``i >= i0`` with ``tr_min[i] < end`` and ``tr_max[i] >= b`` whose price range
    ``[p_min[i], p_max[i]]`` is not quiet for ``mode`` (0: an open long with stop ``lvl`` and take-profit ``tp``
    on the grid; 1: an open short; 2: a resting buy limit at ``tp`` on the grid; 3: a resting sell limit), or -1.
    ``i0``: the caller's binary search (no block before it meets ``b``)."""
    if not (tr_max.shape[0] == tr_min.shape[0] == p_min.shape[0] == p_max.shape[0]):
        raise ValueError("first_loud: the block columns differ in length")
    cdef Py_ssize_t k
    with nogil:
        k = _first_loud(tr_min, tr_max, p_min, p_max, i0 if i0 > 0 else 0, b, end, mode, lvl, tp, grid)
    return k


cdef bint _quotes_reach(const int64_t[:] tr_min, const int64_t[:] tr_max, const double[:] p_min,
                        const double[:] p_max, const int64_t[:] kind, Py_ssize_t i, int64_t a, int64_t b, bint up,
                        double tp, double grid) noexcept nogil:
    cdef Py_ssize_t n = tr_min.shape[0]
    while i < n and tr_min[i] < b:
        if tr_max[i] >= a and kind[i] == 7:
            if up:
                if not (_tk(p_max[i], grid) < tp):
                    return True
            elif not (_tk(p_min[i], grid) > tp):
                return True
        i += 1
    return False


def quotes_reach(const int64_t[:] tr_min, const int64_t[:] tr_max, const double[:] p_min, const double[:] p_max,
                 const int64_t[:] kind, Py_ssize_t i0, int64_t a, int64_t b, bint up, double tp, double grid):
    """Whether a block ``i >= i0`` of ``kind`` 7 (QUOTE) with ``tr_min[i] < b`` and ``tr_max[i] >= a`` can reach
    take-profit ``tp`` (on the grid): ``up`` (a long's) its highest price on the grid not below it, else (a
    short's) its lowest not above it."""
    if not (tr_max.shape[0] == tr_min.shape[0] == p_min.shape[0] == p_max.shape[0] == kind.shape[0]):
        raise ValueError("quotes_reach: the block columns differ in length")
    cdef bint got
    with nogil:
        got = _quotes_reach(tr_min, tr_max, p_min, p_max, kind, i0 if i0 > 0 else 0, a, b, up, tp, grid)
    return bool(got)
