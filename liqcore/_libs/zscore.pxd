# Point-in-time z-scores against a rolling baseline (population std, ddof=0).
# C-level API (for other kernels) + the RollingZScore and BucketZScore extension types.
# Struct fields are private to zscore.pyx; use the functions.
from libc.stdint cimport int64_t

cdef struct RZState:
    Py_ssize_t n           # baseline capacity
    Py_ssize_t min_count   # fewer baseline values than this: z is NaN
    Py_ssize_t count
    Py_ssize_t head        # ring slot of the oldest value
    double* ring
    double mean            # Welford running mean and sum of squared deviations
    double m2
    double last            # newest value
    int64_t run            # length of the trailing run of values equal to `last`
    Py_ssize_t since_exact # replacements since the last exact (two-pass) recomputation
    double err_mean        # sums of the magnitudes of the running updates since the last exact
    double err_m2          # recomputation (bounds on the rounding error of mean and m2)

cdef RZState* rz_new(Py_ssize_t n, Py_ssize_t min_count) noexcept nogil   # NULL on failure
cdef void rz_free(RZState* s) noexcept nogil
cdef void rz_clear(RZState* s) noexcept nogil
cdef double rz_z(RZState* s, double x) noexcept nogil      # z of x against the baseline (no push)
cdef void rz_push(RZState* s, double x) noexcept nogil     # add x to the baseline
cdef double rz_std(RZState* s) noexcept nogil              # NaN when empty

cdef struct BZState:
    int64_t bucket_ns
    bint started
    int64_t now
    int64_t k_open         # index floor(ts / bucket_ns) of the open bucket
    double open_total
    Py_ssize_t late
    RZState* base          # totals of the last n_buckets closed buckets

cdef BZState* bz_new(int64_t bucket_ns, Py_ssize_t n_buckets, Py_ssize_t min_count) noexcept nogil
cdef void bz_free(BZState* s) noexcept nogil
cdef void bz_clear(BZState* s) noexcept nogil
# move the clock to ts (clamped to now and counted as late when older); z of the bucket closed by
# this call that was open before it, NaN when none closed
cdef double bz_advance(BZState* s, int64_t ts) noexcept nogil
cdef double bz_push(BZState* s, int64_t ts, double value) noexcept nogil
cdef double bz_current_z(BZState* s) noexcept nogil

cdef class RollingZScore:
    cdef RZState* _s
    cpdef double update(self, double x) except? -1.0

cdef class BucketZScore:
    cdef BZState* _s
    cpdef double push(self, int64_t ts_ns, double value) except? -1.0
    cpdef double advance(self, int64_t ts_ns) except? -1.0
