# Exact sliding-window quantile (numpy method="linear") by an indexed double heap.
# C-level API (cimported by the detector) + the RollingQuantile extension type.
# The function signatures below are the interface other kernels rely on; the struct's fields are
# private to quantile.pyx.

cdef struct RQState:
    Py_ssize_t window      # capacity N
    double q               # quantile in [0, 1]
    Py_ssize_t count       # values currently in the window (<= window)
    Py_ssize_t head        # ring slot of the oldest value
    int* pos               # ring slot -> heap position (>= 0: low heap index, < 0: -(high index) - 1)
    double* low_v          # max-heap of the smaller values ...
    int* low_s             # ... and their ring slots
    double* high_v         # min-heap of the larger values ...
    int* high_s            # ... and their ring slots
    Py_ssize_t n_low
    Py_ssize_t n_high
    Py_ssize_t cap_low     # allocated entries of each heap
    Py_ssize_t cap_high
    double t               # interpolation weight for the current count (numpy's gamma)
    bint interp            # False when the quantile is the top of `low` alone

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
