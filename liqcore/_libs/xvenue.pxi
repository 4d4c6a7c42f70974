# cython: language_level=3
"""Instrument scope: the cascade rule counted across the venues of one instrument.

The per-venue half is :class:`liqcore._libs.detection.CascadeDetector` itself: its ``run(events,
marks=, thresholds=)`` says for every event whether it was kept, a liquidation, or a LARGE one
against its own (venue, symbol) rolling P95, and that threshold.  :func:`detect` is the cross-venue
half: the 2-in-60 s rule over the large liquidations of every venue of a group (an instrument),
``group[symbol_id]`` naming each symbol's group.  The full specification is the reference twin
``pysrc/xvenue.py``; records are ``CASCADE_DTYPE`` rows whose ``symbol_id`` and ``venue`` are those of
the liquidation that fired first, so one venue's data in its own group gives the detector's records
byte for byte.  Each ended cascade also gives one :data:`SHARE_DTYPE` row per venue in it.

The windows are queues of event indices linked through two ``next`` arrays (one pass over the
input, no per-group allocation): a group's recent liquidations and its large ones.
"""
cimport cython
from libc.math cimport NAN
from libc.stdint cimport INT64_MIN, int8_t, int32_t, int64_t, uint32_t

from liqcore._libs.events cimport (
    END_EXPIRED, END_FLUSH, END_GAP, END_NONE, KIND_GAP, REC_CONFIRMED,
    REC_ENDED, SIDE_LONG, CascadeRecord, Event, dominant_of,
)

import numpy as np

from liqcore.types import CASCADE_DTYPE

#: one row per (cascade, venue) when a cascade ends: that venue's part of it
SHARE_DTYPE = np.dtype([
    ("cascade_id", "<i4"),
    ("venue", "i1"),
    ("symbol_id", "<i4"),
    ("n_events", "<i4"),
    ("n_large", "<i4"),
    ("long_notional", "<f8"),
    ("short_notional", "<f8"),
    ("first_large_ns", "<i8"),
    ("first_large_recv_ns", "<i8"),
], align=True)

cdef enum:
    NV = 16  # venue codes 0..15

MAX_VENUES = 16


@cython.boundscheck(False)
@cython.wraparound(False)
cdef class _Run:
    cdef const Event[::1] ev
    cdef const int8_t[::1] mk
    cdef const double[::1] th
    cdef int64_t W
    cdef int64_t k
    cdef int64_t off
    cdef int64_t[::1] tc          # clamped time of each liquidation
    cdef int64_t[::1] nx_r        # next liquidation of the same group's window (-1: none)
    cdef int64_t[::1] nx_l        # next large liquidation of the same group's window
    # per group
    cdef int64_t[::1] clock
    cdef uint32_t[::1] vmask
    cdef int64_t[::1] r_head, r_tail, l_head, l_tail, l_n
    cdef int8_t[::1] active
    cdef int32_t[::1] cid, c_sid, c_nev, c_nlg
    cdef int8_t[::1] c_venue
    cdef int64_t[::1] c_start, c_confirm, c_recv, c_last
    cdef double[::1] c_long, c_short, c_thr
    # per group x venue shares of the active cascade
    cdef int32_t[:, ::1] s_sid, s_nev, s_nlg
    cdef double[:, ::1] s_long, s_short
    cdef int64_t[:, ::1] s_first, s_first_recv
    cdef CascadeRecord[::1] recs
    cdef Py_ssize_t n_recs
    cdef list shares
    cdef int32_t next_id
    cdef int64_t late, cascades

    cdef void emit(self, Py_ssize_t g, int8_t kind, int64_t emit_ns, int64_t index, int8_t reason):
        cdef CascadeRecord* r = &self.recs[self.n_recs]
        r.start_ns = self.c_start[g]
        r.confirm_ns = self.c_confirm[g]
        r.confirm_recv_ns = self.c_recv[g]
        r.end_ns = self.c_last[g]
        r.emit_ns = emit_ns
        r.event_index = index
        r.long_notional = self.c_long[g]
        r.short_notional = self.c_short[g]
        r.threshold = self.c_thr[g]
        r.n_events = self.c_nev[g]
        r.n_large = self.c_nlg[g]
        r.symbol_id = self.c_sid[g]
        r.cascade_id = self.cid[g]
        r.record = kind
        r.dominant = dominant_of(self.c_long[g], self.c_short[g])
        r.venue = self.c_venue[g]
        r.end_reason = reason
        r._pad = 0
        self.n_recs += 1

    cdef void end(self, Py_ssize_t g, int64_t emit_ns, int64_t index, int8_t reason):
        cdef int v
        self.emit(g, REC_ENDED, emit_ns, index, reason)
        self.active[g] = 0
        for v in range(NV):
            if self.s_nev[g, v] > 0:
                self.shares.append((self.cid[g], v, self.s_sid[g, v], self.s_nev[g, v], self.s_nlg[g, v],
                                    self.s_long[g, v], self.s_short[g, v], self.s_first[g, v],
                                    self.s_first_recv[g, v]))

    cdef void expire(self, Py_ssize_t g, int64_t t, int64_t index):
        if self.active[g] and t > self.c_last[g] + self.W:
            self.end(g, t, index, END_EXPIRED)

    cdef void gap_one(self, Py_ssize_t g, int64_t t, int64_t index):
        self.expire(g, t, index)
        if self.active[g]:
            self.end(g, t, index, END_GAP)
        self.r_head[g] = -1
        self.r_tail[g] = -1
        self.l_head[g] = -1
        self.l_tail[g] = -1
        self.l_n[g] = 0

    cdef void share(self, Py_ssize_t g, Py_ssize_t i):
        cdef int v = self.ev[i].venue
        cdef double notional = self.ev[i].price * self.ev[i].qty
        if self.s_nev[g, v] == 0:
            self.s_sid[g, v] = self.ev[i].symbol_id
        self.s_nev[g, v] += 1
        if self.ev[i].side == SIDE_LONG:
            self.s_long[g, v] += notional
        else:
            self.s_short[g, v] += notional
        if self.mk[i] == 3:
            self.s_nlg[g, v] += 1
            if self.s_first[g, v] == -1:
                self.s_first[g, v] = self.tc[i]
                self.s_first_recv[g, v] = self.ev[i].ts_recv

    cdef void clear_shares(self, Py_ssize_t g):
        cdef int v
        for v in range(NV):
            self.s_sid[g, v] = 0
            self.s_nev[g, v] = 0
            self.s_nlg[g, v] = 0
            self.s_long[g, v] = 0.0
            self.s_short[g, v] = 0.0
            self.s_first[g, v] = -1
            self.s_first_recv[g, v] = -1

    cdef void liquidation(self, Py_ssize_t g, Py_ssize_t i, int64_t t, int64_t index):
        cdef bint large = self.mk[i] == 3
        cdef double notional = self.ev[i].price * self.ev[i].qty
        cdef int64_t cut = t - self.W, j, start, h
        cdef double long_n = 0.0, short_n = 0.0
        cdef int32_t n_events = 0
        self.tc[i] = t
        # the window (t - W, t]
        h = self.r_head[g]
        while h != -1 and self.tc[h] <= cut:
            h = self.nx_r[h]
        self.r_head[g] = h
        if h == -1:
            self.r_tail[g] = -1
        self.nx_r[i] = -1
        if self.r_tail[g] != -1:
            self.nx_r[self.r_tail[g]] = i
        else:
            self.r_head[g] = i
        self.r_tail[g] = i
        if large:
            h = self.l_head[g]
            while h != -1 and self.tc[h] <= cut:
                h = self.nx_l[h]
                self.l_n[g] -= 1
            self.l_head[g] = h
            if h == -1:
                self.l_tail[g] = -1
            self.nx_l[i] = -1
            if self.l_tail[g] != -1:
                self.nx_l[self.l_tail[g]] = i
            else:
                self.l_head[g] = i
            self.l_tail[g] = i
            self.l_n[g] += 1
        if self.active[g]:
            if self.ev[i].side == SIDE_LONG:
                self.c_long[g] += notional
            else:
                self.c_short[g] += notional
            self.c_nev[g] += 1
            if large:
                self.c_last[g] = t
                self.c_nlg[g] += 1
            self.share(g, i)
            return
        if large and self.l_n[g] >= self.k:
            j = self.l_head[g]
            start = self.tc[j]
            self.clear_shares(g)
            h = self.r_head[g]
            while h != -1:
                if self.tc[h] >= start:
                    if self.ev[h].side == SIDE_LONG:
                        long_n += self.ev[h].price * self.ev[h].qty
                    else:
                        short_n += self.ev[h].price * self.ev[h].qty
                    n_events += 1
                    self.share(g, h)
                h = self.nx_r[h]
            self.active[g] = 1
            self.cid[g] = self.next_id
            self.next_id += 1
            self.c_start[g] = start
            self.c_confirm[g] = t
            self.c_recv[g] = self.ev[i].ts_recv
            self.c_last[g] = t
            self.c_long[g] = long_n
            self.c_short[g] = short_n
            self.c_thr[g] = self.th[i]
            self.c_nev[g] = n_events
            self.c_nlg[g] = <int32_t>self.l_n[g]
            self.c_sid[g] = self.ev[j].symbol_id
            self.c_venue[g] = self.ev[j].venue
            self.cascades += 1
            self.emit(g, REC_CONFIRMED, t, index, END_NONE)


@cython.boundscheck(False)
@cython.wraparound(False)
def detect(events, marks, thresholds, group, int64_t window_ns, int64_t min_large, bint flush=False,
           int64_t index_offset=0, flush_ns=None):
    """``(records, shares, counts)``: the instrument-scope cascades of ``events`` given the per-venue
    detector's ``marks`` and ``thresholds`` and ``group[symbol_id]`` (see the module and
    ``pysrc/xvenue.py``).  ``counts``: late, cascades, records.  ``flush_ns``: the time the flush
    ends the active cascades at (default: the latest event time seen in ``events``)."""
    from liqcore.types import EVENT_DTYPE

    if not isinstance(events, np.ndarray) or events.ndim != 1 or events.dtype != EVENT_DTYPE:
        raise ValueError("events: expected a 1-D numpy array of liqcore.types.EVENT_DTYPE")
    cdef Py_ssize_t n = len(events), i, g, G
    marks = np.ascontiguousarray(marks, dtype=np.int8)
    thresholds = np.ascontiguousarray(thresholds, dtype=np.float64)
    if marks.shape != (n,) or thresholds.shape != (n,):
        raise ValueError("marks, thresholds: one per event")
    if window_ns <= 0:
        raise ValueError(f"window_ns: must be > 0; got {window_ns}")
    if min_large < 1:
        raise ValueError(f"min_large: must be >= 1; got {min_large}")
    grp = np.ascontiguousarray(group, dtype=np.int64)
    kept = marks != 0
    sids = events["symbol_id"][kept]
    if sids.size and int(sids.max()) >= len(grp):
        raise ValueError(f"group: no group for symbol_id {int(sids.max())} (group has {len(grp)} entries)")
    vs = events["venue"][kept]
    if vs.size and (int(vs.min()) < 0 or int(vs.max()) >= NV):
        raise ValueError(f"venue: instrument scope takes venue codes 0..{NV - 1}")
    if grp.size and int(grp.min()) < 0:
        raise ValueError("group: group ids must be >= 0")
    G = int(grp.max()) + 1 if grp.size else 0
    cdef const int64_t[::1] gr = grp
    cdef _Run s = _Run()
    s.ev = np.ascontiguousarray(events)
    s.mk = marks
    s.th = thresholds
    s.W = window_ns
    s.k = min_large
    s.off = index_offset
    s.tc = np.zeros(n, dtype=np.int64)
    s.nx_r = np.full(n, -1, dtype=np.int64)
    s.nx_l = np.full(n, -1, dtype=np.int64)
    s.clock = np.full(G, INT64_MIN, dtype=np.int64)
    s.vmask = np.zeros(G, dtype=np.uint32)
    s.r_head = np.full(G, -1, dtype=np.int64)
    s.r_tail = np.full(G, -1, dtype=np.int64)
    s.l_head = np.full(G, -1, dtype=np.int64)
    s.l_tail = np.full(G, -1, dtype=np.int64)
    s.l_n = np.zeros(G, dtype=np.int64)
    s.active = np.zeros(G, dtype=np.int8)
    s.cid = np.zeros(G, dtype=np.int32)
    s.c_sid = np.zeros(G, dtype=np.int32)
    s.c_nev = np.zeros(G, dtype=np.int32)
    s.c_nlg = np.zeros(G, dtype=np.int32)
    s.c_venue = np.zeros(G, dtype=np.int8)
    s.c_start = np.zeros(G, dtype=np.int64)
    s.c_confirm = np.zeros(G, dtype=np.int64)
    s.c_recv = np.zeros(G, dtype=np.int64)
    s.c_last = np.zeros(G, dtype=np.int64)
    s.c_long = np.zeros(G, dtype=np.float64)
    s.c_short = np.zeros(G, dtype=np.float64)
    s.c_thr = np.zeros(G, dtype=np.float64)
    s.s_sid = np.zeros((G, NV), dtype=np.int32)
    s.s_nev = np.zeros((G, NV), dtype=np.int32)
    s.s_nlg = np.zeros((G, NV), dtype=np.int32)
    s.s_long = np.zeros((G, NV), dtype=np.float64)
    s.s_short = np.zeros((G, NV), dtype=np.float64)
    s.s_first = np.full((G, NV), -1, dtype=np.int64)
    s.s_first_recv = np.full((G, NV), -1, dtype=np.int64)
    cdef Py_ssize_t n_large = int(np.count_nonzero(marks == 3))
    out = np.zeros(2 * n_large + 1, dtype=CASCADE_DTYPE)
    s.recs = out
    s.n_recs = 0
    s.shares = []
    s.next_id = 0
    s.late = s.cascades = 0
    cdef int64_t now = INT64_MIN, t, index
    cdef int8_t m
    cdef int32_t sid
    cdef uint32_t vbit
    for i in range(n):
        m = s.mk[i]
        if m == 0:
            continue
        t = s.ev[i].ts_event
        index = index_offset + i
        if t > now:
            now = t
        sid = s.ev[i].symbol_id
        vbit = (<uint32_t>1) << s.ev[i].venue
        if sid == -1:  # a venue-wide gap: every group that has seen the venue
            for g in range(G):
                if s.vmask[g] & vbit:
                    if t > s.clock[g]:
                        s.clock[g] = t
                    s.gap_one(g, s.clock[g], index)
            continue
        g = gr[sid]
        s.vmask[g] |= vbit
        if t < s.clock[g]:
            s.late += 1
            t = s.clock[g]
        s.clock[g] = t
        s.expire(g, t, index)
        if s.ev[i].kind == KIND_GAP:
            s.gap_one(g, t, index)
            continue
        if m == 2 or m == 3:
            s.liquidation(g, i, t, index)
    if flush:
        if flush_ns is not None:
            now = flush_ns
        elif now == INT64_MIN:
            now = 0
        for g in range(G):
            if s.active[g]:
                s.end(g, now, -1, END_FLUSH)
    records = out[:s.n_recs].copy()
    shares = _pack(s.shares)
    return records, shares, {"late": int(s.late), "cascades": int(s.cascades), "records": int(s.n_recs)}


def _pack(rows):
    """SHARE_DTYPE rows with zeroed padding (the bytes of two equal results are equal)."""
    out = np.zeros(len(rows), dtype=SHARE_DTYPE)
    if rows:
        for name, col in zip(SHARE_DTYPE.names, zip(*rows)):
            out[name] = col
    return out
