# cython: language_level=3
"""Exposes the C layout of the Cython structs so tests can compare it with the numpy dtypes."""
from liqcore._libs.events cimport Event, CascadeRecord

def event_layout():
    cdef Event e
    cdef char* base = <char*>&e
    return {
        "itemsize": sizeof(Event),
        "ts_event": <char*>&e.ts_event - base,
        "ts_recv": <char*>&e.ts_recv - base,
        "price": <char*>&e.price - base,
        "qty": <char*>&e.qty - base,
        "symbol_id": <char*>&e.symbol_id - base,
        "side": <char*>&e.side - base,
        "kind": <char*>&e.kind - base,
        "venue": <char*>&e.venue - base,
        "flags": <char*>&e.flags - base,
    }

def cascade_layout():
    cdef CascadeRecord r
    cdef char* base = <char*>&r
    return {
        "itemsize": sizeof(CascadeRecord),
        "start_ns": <char*>&r.start_ns - base,
        "confirm_ns": <char*>&r.confirm_ns - base,
        "confirm_recv_ns": <char*>&r.confirm_recv_ns - base,
        "end_ns": <char*>&r.end_ns - base,
        "emit_ns": <char*>&r.emit_ns - base,
        "event_index": <char*>&r.event_index - base,
        "long_notional": <char*>&r.long_notional - base,
        "short_notional": <char*>&r.short_notional - base,
        "threshold": <char*>&r.threshold - base,
        "n_events": <char*>&r.n_events - base,
        "n_large": <char*>&r.n_large - base,
        "symbol_id": <char*>&r.symbol_id - base,
        "cascade_id": <char*>&r.cascade_id - base,
        "record": <char*>&r.record - base,
        "dominant": <char*>&r.dominant - base,
        "venue": <char*>&r.venue - base,
        "end_reason": <char*>&r.end_reason - base,
        "_pad": <char*>&r._pad - base,
    }
