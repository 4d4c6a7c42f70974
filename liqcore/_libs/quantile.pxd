# Exact sliding-window quantile (numpy method="linear"): a min-heap above the split, a small max-heap and an
# unordered array below it, indexed by ring slot.
# C-level API (cimported by the detector) + the RollingQuantile extension type.
# The function signatures below are the interface other kernels rely on; the struct's fields are
# private to quantile.pyx.

cdef struct RQState:
    Py_ssize_t window      # capacity N
    double q               # quantile in [0, 1]
    Py_ssize_t count       # values currently in the window (<= window)
    Py_ssize_t head        # ring slot of the oldest value
    Py_ssize_t* pos        # ring slot -> (index << 2) | tier (0: U, 1: B, 2: H)
    double* u_v            # U: the smaller values of the low side, unordered, all <= lim ...
    int* u_s               # ... and their ring slots
    double* b_v            # B: max-heap of the larger values of the low side, all >= lim ...
    int* b_s               # ... and their ring slots
    double* h_v            # H: min-heap of the values above the low side ...
    int* h_s               # ... and their ring slots
    Py_ssize_t n_u
    Py_ssize_t n_b
    Py_ssize_t n_h
    double lim             # the bound between U and B (-inf while the low side is empty)
    double* sel_v          # scratch of a refill: the largest values of U found so far ...
    int* sel_i             # ... and their indexes in U
    Py_ssize_t cap_low     # allocated entries: U (the whole low side), B, H
    Py_ssize_t cap_b
    Py_ssize_t cap_high
    double t               # interpolation weight for the current count (numpy's gamma)
    bint interp            # False when the quantile is the top of the low side alone

cdef RQState* rq_new(Py_ssize_t window, double q) noexcept nogil   # NULL: no memory, or window/q invalid
cdef void rq_free(RQState* s) noexcept nogil
cdef void rq_clear(RQState* s) noexcept nogil
cdef void rq_push(RQState* s, double x) noexcept nogil             # x must be finite
cdef double rq_value(RQState* s) noexcept nogil                    # NaN when empty
cdef Py_ssize_t rq_size(RQState* s) noexcept nogil
cdef Py_ssize_t rq_nbytes(RQState* s) noexcept nogil               # heap bytes owned by the state

cdef class RollingQuantile:
    cdef RQState* _s
    cdef object _last      # the float object update() last returned ...
    cdef double _last_v    # ... and its value (returned again while the quantile has the same bits)
