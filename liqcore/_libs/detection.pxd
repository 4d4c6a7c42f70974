# The C-level declarations of the detection unit (detection.pyx: the rolling quantile, the time
# windows, the z-scores, the cascade detector and the cross-venue rule, compiled as one module):
# the structs and functions one kernel calls in another, and the extension types' fields.

# ---- quantile.pxi ----
# Exact sliding-window quantile (numpy method="linear"): a min-heap above the split, a small max-heap and an
# unordered array below it, indexed by ring slot.
# C-level API (cimported by the detector) + the RollingQuantile extension type.
# The function signatures below are the interface other kernels rely on; the struct's fields are
# private to quantile.pxi.

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

# ---- windows.pxi ----
# Right-closed time window (t - W, t] with per-side counts and sums, on a growable ring buffer.
# C-level API (for other kernels) + the TimeWindow extension type. Struct fields are private to
# windows.pxi; use the functions.
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

# ---- zscore.pxi ----
# Point-in-time z-scores against a rolling baseline (population std, ddof=0).
# C-level API (for other kernels) + the RollingZScore and BucketZScore extension types.
# Struct fields are private to zscore.pxi; use the functions.
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

# ---- detector.pxi ----
# The liquidation-cascade detector: per-symbol C state and the CascadeDetector extension type.
# Other Cython modules may cimport CascadeDetector and call `process` (nogil) per event; records
# land in the detector's record buffer (`recs`, `n_recs`), which every public call resets first.
from libc.stdint cimport int8_t, int32_t, int64_t

from liqcore._libs.events cimport CascadeRecord, Event


cdef struct LiqEntry:
    int64_t ts               # event time (clamped)
    double signed_notional   # +notional for a LONG liquidation, -notional for a SHORT one


cdef struct SymState:
    # hot: read on every event of the symbol (the first cache lines)
    int64_t clock            # latest event time of the symbol (INT64_MIN: none yet)
    int64_t seen             # liquidations seen, seeded ones included
    double thr               # threshold in force (valid when has_thr)
    int64_t thr_time         # event time of the last threshold computation
    double* hist             # ring of the last N notionals (the history, always current)
    Py_ssize_t hist_head     # next write slot of hist
    Py_ssize_t pending       # newest values of hist not yet pushed into rq (<= N)
    LiqEntry* lq             # recent liquidations in (t - W, t], capacity a power of two
    Py_ssize_t lq_cap
    Py_ssize_t lq_head
    Py_ssize_t lq_n
    int64_t* lg_ts           # large liquidation times in (t - W, t], capacity a power of two
    Py_ssize_t lg_cap
    Py_ssize_t lg_head
    Py_ssize_t lg_n
    int64_t last_large
    bint has_thr
    bint active
    int8_t venue
    # the active cascade
    int32_t n_events
    int32_t n_large
    double long_n
    double short_n
    # cold
    Py_ssize_t hist_cap      # N
    RQState* rq              # the threshold history (last N notionals) once synced
    int32_t cid
    int64_t start
    int64_t confirm
    int64_t confirm_recv
    int64_t confirm_index
    double thr_confirm
    # plausibility (liqcore.validate): the reference price and the run of events disagreeing with it
    double ref               # last accepted trade, mark or liquidation price (0: none yet)
    int64_t ref_time         # its event time (a reference older than reference_age_ns is none)
    double off_ref           # price of the current disagreement run
    int32_t off_n            # events in that run


cdef enum:
    # process() result codes (>= 0: records emitted by the event)
    ERR_SYMBOL = -1
    ERR_KIND = -2
    ERR_PRICE = -3
    ERR_QTY = -4
    ERR_NOTIONAL = -5
    ERR_SIDE = -6
    ERR_IMPLAUSIBLE_PRICE = -7      # price off the symbol's reference by more than price_factor
    ERR_IMPLAUSIBLE_NOTIONAL = -8   # notional above max_notional or notional_multiple x threshold
    ERR_TIME = -9                   # run(): a time from 2100 on, or a stray far from both neighbours
    ERR_MEMORY = -100
    N_SKIP = 9


cdef class CascadeDetector:
    cdef readonly double quantile
    cdef readonly Py_ssize_t history
    cdef readonly int64_t min_history
    cdef readonly int64_t refresh_ns
    cdef readonly int64_t window_ns
    cdef readonly int64_t min_large
    cdef SymState** syms
    cdef Py_ssize_t n_syms          # allocated slots in syms (ids < n_syms may still be NULL)
    cdef Py_ssize_t n_known         # non-NULL states
    cdef Py_ssize_t n_active
    cdef CascadeRecord* recs
    cdef Py_ssize_t n_recs
    cdef Py_ssize_t cap_recs
    cdef int32_t next_id
    cdef int64_t now                # latest event time seen (INT64_MIN: none)
    cdef int64_t seq                # update() calls so far (the event_index of update)
    cdef int8_t last_mark           # what process() made of its event: MARK_* (run's ``marks=``)
    cdef double last_thr            # the threshold in force for that liquidation (NaN: none)
    cdef int64_t c_events, c_processed, c_liquidations, c_large, c_late, c_cascades, c_records
    cdef int64_t c_skip[9]
    cdef readonly double price_factor
    cdef readonly double max_notional
    cdef readonly double notional_multiple
    cdef readonly int32_t reanchor
    cdef readonly int64_t max_time_jump_ns
    cdef readonly int64_t reference_age_ns

    cdef SymState* state(self, int32_t symbol_id) noexcept nogil
    cdef int process(self, int64_t ts_event, int64_t ts_recv, int32_t symbol_id, int8_t venue,
                     int8_t kind, int8_t side, double price, double qty, int64_t index) noexcept nogil
    cdef int check(self, int32_t symbol_id, int8_t kind, int8_t side, double price,
                   double qty) noexcept nogil
    cdef int judge(self, int32_t symbol_id, int8_t kind, double price, double qty, int64_t t) noexcept nogil
    cdef int end_expired(self, int64_t now_ns) noexcept nogil
    cdef int end_all(self, int64_t ts_ns) noexcept nogil
    cdef int _emit(self, SymState* st, int32_t symbol_id, int8_t record, int64_t emit_ns,
                   int64_t index, int8_t reason) noexcept nogil
    cdef int _end(self, SymState* st, int32_t symbol_id, int64_t emit_ns, int64_t index,
                  int8_t reason) noexcept nogil
    cdef int _expire(self, SymState* st, int32_t symbol_id, int64_t t, int64_t index) noexcept nogil
    cdef int _gap_one(self, SymState* st, int32_t symbol_id, int64_t t, int64_t index) noexcept nogil
