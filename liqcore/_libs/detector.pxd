# The liquidation-cascade detector: per-symbol C state and the CascadeDetector extension type.
# Other Cython modules may cimport CascadeDetector and call `process` (nogil) per event; records
# land in the detector's record buffer (`recs`, `n_recs`), which every public call resets first.
from libc.stdint cimport int8_t, int32_t, int64_t

from liqcore._libs.events cimport CascadeRecord, Event
from liqcore._libs.quantile cimport RQState


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
