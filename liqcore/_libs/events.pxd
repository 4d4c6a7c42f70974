# The Cython mirror of liqcore.types.EVENT_DTYPE and CASCADE_DTYPE (40-byte and 96-byte aligned records).
# tests/test_contract.py checks offsets and sizes against the numpy dtypes.
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t

cdef enum:
    SIDE_NONE = 0
    SIDE_LONG = 1
    SIDE_SHORT = 2
    SIDE_BUY = 3
    SIDE_SELL = 4

cdef enum:
    KIND_LIQUIDATION = 1
    KIND_TRADE = 2
    KIND_MARK = 3
    KIND_FUNDING = 4
    KIND_GAP = 5
    KIND_OPEN_INTEREST = 6
    KIND_QUOTE = 7
    KIND_DEPTH = 8

cdef enum:
    DOM_MIXED = 0
    DOM_LONG = 1
    DOM_SHORT = 2

cdef enum:
    REC_CONFIRMED = 1
    REC_ENDED = 2

cdef enum:
    END_NONE = 0
    END_EXPIRED = 1
    END_GAP = 2
    END_FLUSH = 3

cdef packed struct Event:
    int64_t ts_event
    int64_t ts_recv
    double price
    double qty
    int32_t symbol_id
    int8_t side
    int8_t kind
    int8_t venue
    uint8_t flags

cdef packed struct CascadeRecord:
    int64_t start_ns
    int64_t confirm_ns
    int64_t confirm_recv_ns
    int64_t end_ns
    int64_t emit_ns
    int64_t event_index
    double long_notional
    double short_notional
    double threshold
    int32_t n_events
    int32_t n_large
    int32_t symbol_id
    int32_t cascade_id
    int8_t record
    int8_t dominant
    int8_t venue
    int8_t end_reason
    int32_t _pad


cdef inline int8_t dominant_of(double long_n, double short_n) noexcept nogil:
    # the side that dominates a cascade's notional (ties: mixed); liqcore.types.dominant_of is its twin
    if long_n > short_n:
        return DOM_LONG
    if short_n > long_n:
        return DOM_SHORT
    return DOM_MIXED
