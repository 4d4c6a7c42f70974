# cython: language_level=3
"""Liquidation-cascade detector: the per-(venue, symbol) cascade state machine.

Semantics (the readable twin ``pysrc/detector.py`` is the full specification, record for record):

* Threshold: per symbol, the ``quantile`` (numpy ``method="linear"``) of the notionals
  (``price * qty``) of the last ``history`` liquidations BEFORE the event.  It is computed at the
  first liquidation once ``max(min_history, 1)`` were seen (seeded values count), then recomputed at
  a liquidation whose time is ``>= refresh_ns`` after the last computation (``refresh_ns == 0``:
  every liquidation), frozen in between.  ``notional >= threshold`` makes a liquidation large.
* Cascade: at a large liquidation at ``t``, ``L`` = the symbol's large liquidations with time in
  ``(t - W, t]``; ``len(L) >= min_large`` with no active cascade CONFIRMS one at ``t``, ``start =
  min(L)``, notionals and ``n_events`` over all the symbol's liquidations in ``[start, t]``,
  ``n_large = len(L)``.  While active every liquidation adds its notional (long or short side) and
  one event, every large one moves ``last_large`` and adds to ``n_large``.  Dominant: LONG if
  long > short notional, SHORT if the reverse, MIXED on a tie.
* End: any event of the symbol (or :meth:`CascadeDetector.tick`) with time ``> last_large + W``
  ENDS it (EXPIRED) before the event itself is processed (so that event may start the next one).
  A GAP event of the symbol, or of its whole venue (``symbol_id == -1``), ends it (GAP) and clears
  the symbol's cluster window (a cascade never spans a feed gap; the threshold history is kept).
  :meth:`CascadeDetector.flush` ends every active cascade (FLUSH).  ``end = last_large``.
* Late events (time older than the symbol's latest event): counted in ``late``; their time is
  clamped to the symbol's latest time for every window and refresh purpose; a late liquidation
  still joins the threshold history and may be large.  The window arithmetic therefore only ever
  sees non-decreasing times per symbol.
* Bad input (a liquidation with NaN/inf/non-positive price or qty, an overflowing notional, a side
  other than LONG/SHORT; a negative symbol_id other than a venue-wide GAP's -1, or one >= 2**24; an
  unknown kind): :meth:`CascadeDetector.update` raises ValueError naming the field, and
  :meth:`CascadeDetector.run` counts it by reason and skips it; neither changes any state for it.
* Quotes (top of book, kind QUOTE) are no liquidations: like a mark they advance the clock and,
  when the side is not empty (qty > 0), are judged and move the reference price; never large.
* Implausible events (``liqcore.validate``): a liquidation, trade, mark or quote whose price is more than
  ``price_factor`` above or below the symbol's reference (its last accepted liquidation, trade, mark or quote
  price, if not older than ``reference_age_ns`` (1 hour); ``reanchor`` events in a row that disagree with it but agree with each other move it, the
  last of them accepted), or a liquidation or trade whose notional exceeds ``max_notional`` or (a
  liquidation) ``notional_multiple`` x the threshold in force, is counted (``skipped_implausible_price``
  / ``skipped_implausible_notional``) and skipped by ``update`` and ``run`` alike: never large, never
  part of a cascade.  ``run`` also skips (``skipped_time``) an event stamped from 2100 on (a fixed bound: a batch reads
  the same on any day), or one
  further than ``max_time_jump_ns`` from the previous kept event and from the next one while those
  two agree (a stray time that would make everything after it late).

Per-symbol state is allocated on a symbol's first event, by ``symbol_id``, in a growable array of
pointers: about 28 KB at ``history=1000`` (the rolling quantile of ``liqcore._libs.detection`` plus a
ring of the last N notionals) and two small rings that grow with the number of liquidations inside
one window.  Notionals are appended to the ring on every liquidation and pushed into the rolling
quantile in one burst when a threshold is computed (at most N of them): the same values as pushing
each one at once, with the symbol's heap touched only at refresh time.

``event_index`` of a record: the index of its event in the ``run`` input (plus ``index_offset``),
or the sequence number of the ``update`` call (from 0); ``-1`` for ``tick``, ``gap`` and ``flush``.

Why one module: the cascade state machine and its per-symbol state are one extension: its cdef structs
and inline functions would cross a module boundary only through a ``.pxd`` and calls the hot path pays
for.
"""
cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.math cimport NAN, isfinite
from libc.stdint cimport INT64_MIN, int8_t, int32_t, int64_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcpy, memset

from liqcore._libs.events cimport (
    END_EXPIRED, END_FLUSH, END_GAP, END_NONE, KIND_GAP,
    KIND_LIQUIDATION, KIND_MARK, KIND_OPEN_INTEREST, KIND_QUOTE, KIND_TRADE, REC_CONFIRMED, REC_ENDED, SIDE_LONG, SIDE_SHORT,
    CascadeRecord, Event, dominant_of,
)

import time

import numpy as np

from liqcore.types import CASCADE_DTYPE, EVENT_DTYPE

cdef extern from "assert.h":
    # compiled out by NDEBUG (release build); active in the LIQCORE_DEBUG=1 build
    void c_assert "assert"(bint cond) nogil

cdef enum:
    MAX_SYMBOLS = 1 << 24
    RING0 = 8
    # per-event marks of ``run(marks=...)``: what the detector made of each input event
    MARK_SKIPPED = 0
    MARK_PROCESSED = 1   # kept, not a liquidation (or a GAP)
    MARK_LIQUIDATION = 2  # a liquidation below its symbol's threshold (or before it has one)
    MARK_LARGE = 3       # a large liquidation

#: ``run(marks=...)`` codes, by name (the instrument-scope detector reads them)
MARKS = {"skipped": 0, "processed": 1, "liquidation": 2, "large": 3}

#: skip reasons in check order, matching pysrc.detector.SKIP_REASONS (index = -code - 1)
SKIP_REASONS = ("symbol", "kind", "price", "qty", "notional", "side", "implausible_price", "implausible_notional",
                "time")


# ---- per-symbol state ----------------------------------------------------------------------------

cdef SymState* _sym_new(Py_ssize_t history, double q) noexcept nogil:
    cdef SymState* st = <SymState*>calloc(1, sizeof(SymState))
    if st == NULL:
        return NULL
    st.rq = rq_new(history, q)
    st.hist = <double*>malloc(history * sizeof(double))
    st.hist_cap = history
    st.lq = <LiqEntry*>malloc(RING0 * sizeof(LiqEntry))
    st.lg_ts = <int64_t*>malloc(RING0 * sizeof(int64_t))
    st.lq_cap = RING0
    st.lg_cap = RING0
    st.clock = INT64_MIN
    st.thr = NAN
    if st.rq == NULL or st.hist == NULL or st.lq == NULL or st.lg_ts == NULL:
        _sym_free(st)
        return NULL
    return st


cdef void _sym_free(SymState* st) noexcept nogil:
    if st == NULL:
        return
    rq_free(st.rq)
    free(st.hist)
    free(st.lq)
    free(st.lg_ts)
    free(st)


cdef Py_ssize_t _sym_nbytes(SymState* st) noexcept nogil:
    return (<Py_ssize_t>sizeof(SymState) + rq_nbytes(st.rq) + st.hist_cap * <Py_ssize_t>sizeof(double)
            + st.lq_cap * <Py_ssize_t>sizeof(LiqEntry)
            + st.lg_cap * <Py_ssize_t>sizeof(int64_t))


cdef inline void _hist_push(SymState* st, double x) noexcept nogil:
    """Append a notional to the history ring; it reaches the quantile state at the next sync."""
    cdef Py_ssize_t n = st.hist_cap
    c_assert(st.hist_head >= 0 and st.hist_head < n)
    st.hist[st.hist_head] = x
    st.hist_head += 1
    if st.hist_head == n:
        st.hist_head = 0
    if st.pending < n:
        st.pending += 1


cdef void _hist_sync(SymState* st) noexcept nogil:
    """Push the pending notionals, oldest first, into the rolling quantile.  Only the last N values
    matter (the window holds N), so at most N are pushed; done in one burst while the symbol's
    quantile state is hot in cache, and only when a threshold is computed."""
    cdef Py_ssize_t n = st.hist_cap
    cdef Py_ssize_t i = st.hist_head - st.pending
    if i < 0:
        i += n
    while st.pending > 0:
        c_assert(i >= 0 and i < n)
        rq_push(st.rq, st.hist[i])
        i += 1
        if i == n:
            i = 0
        st.pending -= 1


cdef int _lq_push(SymState* st, int64_t t, double signed_notional) noexcept nogil:
    """Append to the recent-liquidation ring, doubling it when full. -1 on allocation failure."""
    cdef Py_ssize_t cap = st.lq_cap, i, j
    cdef LiqEntry* grown
    if st.lq_n == cap:
        grown = <LiqEntry*>malloc(2 * cap * sizeof(LiqEntry))
        if grown == NULL:
            return -1
        for i in range(cap):
            grown[i] = st.lq[(st.lq_head + i) & (cap - 1)]
        free(st.lq)
        st.lq = grown
        st.lq_head = 0
        st.lq_cap = cap = 2 * cap
    j = (st.lq_head + st.lq_n) & (cap - 1)
    c_assert(j >= 0 and j < cap)
    st.lq[j].ts = t
    st.lq[j].signed_notional = signed_notional
    st.lq_n += 1
    return 0


cdef int _lg_push(SymState* st, int64_t t) noexcept nogil:
    """Append to the large-liquidation ring, doubling it when full. -1 on allocation failure."""
    cdef Py_ssize_t cap = st.lg_cap, i
    cdef int64_t* nts
    if st.lg_n == cap:
        nts = <int64_t*>malloc(2 * cap * sizeof(int64_t))
        if nts == NULL:
            return -1
        for i in range(cap):
            nts[i] = st.lg_ts[(st.lg_head + i) & (cap - 1)]
        free(st.lg_ts)
        st.lg_ts = nts
        st.lg_head = 0
        st.lg_cap = cap = 2 * cap
    i = (st.lg_head + st.lg_n) & (cap - 1)
    c_assert(i >= 0 and i < cap)
    st.lg_ts[i] = t
    st.lg_n += 1
    return 0


cdef inline void _lq_prune(SymState* st, int64_t cut) noexcept nogil:
    """Drop recent liquidations with time <= cut."""
    while st.lq_n > 0 and st.lq[st.lq_head].ts <= cut:
        st.lq_head = (st.lq_head + 1) & (st.lq_cap - 1)
        st.lq_n -= 1


cdef inline void _lg_prune(SymState* st, int64_t cut) noexcept nogil:
    """Drop large-liquidation times <= cut."""
    while st.lg_n > 0 and st.lg_ts[st.lg_head] <= cut:
        st.lg_head = (st.lg_head + 1) & (st.lg_cap - 1)
        st.lg_n -= 1


# ---- the detector --------------------------------------------------------------------------------

@cython.final
cdef class CascadeDetector:
    """CascadeDetector(quantile=0.95, history=1000, min_history=100, refresh_ns=3600000000000, window_ns=60000000000, min_large=2, price_factor=10.0, max_notional=10000000000.0, notional_multiple=10000.0, reanchor=3, max_time_jump_ns=86400000000000, reference_age_ns=3600000000000)
--

    Per-(venue, symbol) liquidation-cascade detector; thousands of symbols in one object.

    ``update(...)`` per event (returns the number of records emitted, read them with
    :meth:`last_records` / :meth:`pop_records`), ``run(events)`` for a whole EVENT_DTYPE array
    without the GIL, ``tick``/``gap``/``flush`` for clock ticks, feed gaps and the end of input.
    Records are :data:`liqcore.types.CASCADE_DTYPE` rows.  Every public call first forgets the
    records of the previous call, so a live loop never accumulates them.  One detector belongs to one
    thread at a time (``run`` releases the GIL while it mutates the state).
    """

    def __cinit__(self, double quantile=0.95, Py_ssize_t history=1000, int64_t min_history=100,
                  int64_t refresh_ns=3_600_000_000_000, int64_t window_ns=60_000_000_000,
                  int64_t min_large=2, double price_factor=10.0, double max_notional=1e10,
                  double notional_multiple=10_000.0, int reanchor=3,
                  int64_t max_time_jump_ns=86_400_000_000_000, int64_t reference_age_ns=3_600_000_000_000):
        self.syms = NULL
        self.recs = NULL
        if not price_factor > 1.0:
            raise ValueError(f"price_factor: must be > 1; got {price_factor!r}")
        if not max_notional > 0.0:
            raise ValueError(f"max_notional: must be > 0; got {max_notional!r}")
        if not notional_multiple > 1.0:
            raise ValueError(f"notional_multiple: must be > 1; got {notional_multiple!r}")
        if reanchor < 1:
            raise ValueError(f"reanchor: must be >= 1; got {reanchor!r}")
        if max_time_jump_ns <= 0:
            raise ValueError(f"max_time_jump_ns: must be > 0; got {max_time_jump_ns!r}")
        if reference_age_ns <= 0:
            raise ValueError(f"reference_age_ns: must be > 0; got {reference_age_ns!r}")
        self.reference_age_ns = reference_age_ns
        self.price_factor = price_factor
        self.max_notional = max_notional
        self.notional_multiple = notional_multiple
        self.reanchor = reanchor
        self.max_time_jump_ns = max_time_jump_ns
        if not (quantile >= 0.0 and quantile <= 1.0):
            raise ValueError(f"quantile: must be within [0, 1]; got {quantile!r}")
        if history < 1 or history > 0x7FFFFFFF:
            raise ValueError(f"history: must be in [1, 2**31); got {history!r}")
        if min_history < 0:
            raise ValueError(f"min_history: must be >= 0; got {min_history!r}")
        if refresh_ns < 0:
            raise ValueError(f"refresh_ns: must be >= 0; got {refresh_ns!r}")
        if window_ns <= 0:
            raise ValueError(f"window_ns: must be > 0; got {window_ns!r}")
        if min_large < 1:
            raise ValueError(f"min_large: must be >= 1; got {min_large!r}")
        self.quantile = quantile
        self.history = history
        self.min_history = min_history
        self.refresh_ns = refresh_ns
        self.window_ns = window_ns
        self.min_large = min_large
        self.n_syms = 0
        self.n_known = 0
        self.n_active = 0
        self.cap_recs = 16
        self.recs = <CascadeRecord*>PyMem_Malloc(self.cap_recs * sizeof(CascadeRecord))
        if self.recs == NULL:
            raise MemoryError()
        self.n_recs = 0
        self.next_id = 0
        self.now = INT64_MIN
        self.seq = 0
        self.c_events = self.c_processed = self.c_liquidations = self.c_large = 0
        self.c_late = self.c_cascades = self.c_records = 0
        memset(self.c_skip, 0, sizeof(self.c_skip))
        self.last_mark = MARK_SKIPPED
        self.last_thr = NAN

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.syms != NULL:
            for i in range(self.n_syms):
                _sym_free(self.syms[i])
            free(self.syms)
            self.syms = NULL
        PyMem_Free(self.recs)
        self.recs = NULL

    @classmethod
    def from_params(cls, params):
        """A detector with the detector parameters of a :class:`liqcore.config.Params` (or any object with those
        attributes); a mapping or None is one line saying how to make one."""
        if params is None or hasattr(params, "keys") or isinstance(params, (str, bytes, list, tuple)):
            raise ValueError(f"params: expected a Params (liqcore.Params.from_mapping(...) makes one of a mapping, "
                             f"liqcore.Params() the defaults); got {type(params).__name__}")
        return cls(quantile=params.quantile, history=params.history, min_history=params.min_history,
                   refresh_ns=params.refresh_ns, window_ns=params.window_ns, min_large=params.min_large,
                   **_plausibility(params))

    # ---- C level ---------------------------------------------------------------------------------

    cdef SymState* state(self, int32_t symbol_id) noexcept nogil:
        """The symbol's state, allocated on first use (NULL on allocation failure)."""
        cdef Py_ssize_t n, i
        cdef SymState** grown
        cdef SymState* st
        if symbol_id >= self.n_syms:
            n = self.n_syms * 2 if self.n_syms else 64
            if n <= symbol_id:
                n = <Py_ssize_t>symbol_id + 1
            grown = <SymState**>realloc(self.syms, n * sizeof(SymState*))
            if grown == NULL:
                return NULL
            for i in range(self.n_syms, n):
                grown[i] = NULL
            self.syms = grown
            self.n_syms = n
        st = self.syms[symbol_id]
        if st == NULL:
            st = _sym_new(self.history, self.quantile)
            if st == NULL:
                return NULL
            self.syms[symbol_id] = st
            self.n_known += 1
        return st

    cdef int _emit(self, SymState* st, int32_t symbol_id, int8_t record, int64_t emit_ns,
                   int64_t index, int8_t reason) noexcept nogil:
        cdef CascadeRecord* r
        cdef CascadeRecord* grown
        if self.n_recs == self.cap_recs:
            grown = <CascadeRecord*>realloc(self.recs, 2 * self.cap_recs * sizeof(CascadeRecord))
            if grown == NULL:
                return -1
            self.recs = grown
            self.cap_recs *= 2
        c_assert(self.n_recs < self.cap_recs)
        r = &self.recs[self.n_recs]
        r.start_ns = st.start
        r.confirm_ns = st.confirm
        r.confirm_recv_ns = st.confirm_recv
        r.end_ns = st.last_large
        r.emit_ns = emit_ns
        r.event_index = index
        r.long_notional = st.long_n
        r.short_notional = st.short_n
        r.threshold = st.thr_confirm
        r.n_events = st.n_events
        r.n_large = st.n_large
        r.symbol_id = symbol_id
        r.cascade_id = st.cid
        r.record = record
        r.dominant = dominant_of(st.long_n, st.short_n)
        r.venue = st.venue
        r.end_reason = reason
        r._pad = 0
        self.n_recs += 1
        self.c_records += 1
        return 0

    cdef int _end(self, SymState* st, int32_t symbol_id, int64_t emit_ns, int64_t index,
                         int8_t reason) noexcept nogil:
        st.active = False
        self.n_active -= 1
        return self._emit(st, symbol_id, REC_ENDED, emit_ns, index, reason)

    cdef int _expire(self, SymState* st, int32_t symbol_id, int64_t t, int64_t index) noexcept nogil:
        if st.active and t > st.last_large + self.window_ns:
            return self._end(st, symbol_id, t, index, END_EXPIRED)
        return 0

    cdef int _gap_one(self, SymState* st, int32_t symbol_id, int64_t t, int64_t index) noexcept nogil:
        if self._expire(st, symbol_id, t, index) < 0:
            return -1
        if st.active and self._end(st, symbol_id, t, index, END_GAP) < 0:
            return -1
        st.lq_n = 0
        st.lq_head = 0
        st.lg_n = 0
        st.lg_head = 0
        return 0

    cdef int check(self, int32_t symbol_id, int8_t kind, int8_t side, double price,
                   double qty) noexcept nogil:
        """0 when the event is acceptable, else its ERR_* code."""
        if kind < KIND_LIQUIDATION or kind > KIND_QUOTE:
            return ERR_KIND
        if symbol_id >= MAX_SYMBOLS or (symbol_id < 0 and not (kind == KIND_GAP and symbol_id == -1)):
            return ERR_SYMBOL
        if kind != KIND_LIQUIDATION:
            return 0
        if not (isfinite(price) and price > 0.0):
            return ERR_PRICE
        if not (isfinite(qty) and qty > 0.0):
            return ERR_QTY
        if not isfinite(price * qty):
            return ERR_NOTIONAL
        if side != SIDE_LONG and side != SIDE_SHORT:
            return ERR_SIDE
        return 0

    cdef int judge(self, int32_t symbol_id, int8_t kind, double price, double qty, int64_t t) noexcept nogil:
        """0 when a checked event is plausible (a liquidation, trade or mark then moves the symbol's
        reference price), else ERR_IMPLAUSIBLE_PRICE / ERR_IMPLAUSIBLE_NOTIONAL (or ERR_MEMORY)."""
        cdef SymState* st
        cdef double ref, f = self.price_factor, notional
        if symbol_id < 0 or kind < KIND_LIQUIDATION or (kind > KIND_MARK and kind != KIND_QUOTE):
            return 0
        if kind == KIND_QUOTE and not (qty > 0.0):  # an empty side of the book says nothing of the price
            return 0
        if not (price > 0.0 and isfinite(price)):  # (trades, marks: left to the strategies' own checks)
            return 0
        if symbol_id < self.n_syms and self.syms[symbol_id] != NULL:
            st = self.syms[symbol_id]
        else:
            st = self.state(symbol_id)
            if st == NULL:
                return ERR_MEMORY
        if kind != KIND_MARK and kind != KIND_QUOTE:  # (a quote's displayed size is no trade: never large)
            notional = price * qty
            if notional > self.max_notional:
                return ERR_IMPLAUSIBLE_NOTIONAL
            if kind == KIND_LIQUIDATION and st.has_thr and notional > self.notional_multiple * st.thr:
                return ERR_IMPLAUSIBLE_NOTIONAL
        ref = st.ref
        if (price > ref * f or price * f < ref) and ref > 0.0 and _far(t, st.ref_time, self.reference_age_ns) == 0:
            # off the (recent) reference: a disagreement run; reanchor of them in a row move it
            ref = st.off_ref
            if st.off_n > 0 and not (price > ref * f or price * f < ref):
                st.off_n += 1
            else:
                st.off_ref = price
                st.off_n = 1
            if st.off_n < self.reanchor:
                return ERR_IMPLAUSIBLE_PRICE
        st.ref = price
        if t > st.ref_time or st.ref_time == 0:
            st.ref_time = t
        st.off_n = 0
        return 0

    cdef int process(self, int64_t ts_event, int64_t ts_recv, int32_t symbol_id, int8_t venue,
                     int8_t kind, int8_t side, double price, double qty, int64_t index) noexcept nogil:
        """Process one checked event; the number of records it emitted, or ERR_MEMORY."""
        cdef Py_ssize_t n0 = self.n_recs, i, j, mask
        cdef SymState* st
        cdef int64_t t, start, min_hist
        cdef double notional, long_n, short_n
        cdef int32_t n_events
        cdef bint large
        if ts_event > self.now:
            self.now = ts_event
        self.last_mark = MARK_PROCESSED
        self.last_thr = NAN
        if symbol_id == -1:  # venue-wide gap
            for i in range(self.n_syms):
                st = self.syms[i]
                if st != NULL and st.venue == venue:
                    if ts_event > st.clock:
                        st.clock = ts_event
                    if self._gap_one(st, <int32_t>i, st.clock, index) < 0:
                        return ERR_MEMORY
            return <int>(self.n_recs - n0)
        st = self.state(symbol_id)
        if st == NULL:
            return ERR_MEMORY
        st.venue = venue
        t = ts_event
        if t < st.clock:
            self.c_late += 1
            t = st.clock
        st.clock = t
        if self._expire(st, symbol_id, t, index) < 0:
            return ERR_MEMORY
        if kind == KIND_GAP:
            if self._gap_one(st, symbol_id, t, index) < 0:
                return ERR_MEMORY
            return <int>(self.n_recs - n0)
        if kind != KIND_LIQUIDATION:
            return <int>(self.n_recs - n0)

        self.c_liquidations += 1
        notional = price * qty
        # the threshold in force, from the liquidations before this one
        min_hist = self.min_history if self.min_history > 0 else 1
        if st.seen >= min_hist:
            if not st.has_thr or self.refresh_ns == 0 or t - st.thr_time >= self.refresh_ns:
                _hist_sync(st)
                st.thr = rq_value(st.rq)
                st.has_thr = True
                st.thr_time = t
        large = st.has_thr and notional >= st.thr
        self.last_mark = MARK_LARGE if large else MARK_LIQUIDATION
        self.last_thr = st.thr if st.has_thr else NAN
        _hist_push(st, notional)
        st.seen += 1
        # the cluster window (t - W, t]
        _lq_prune(st, t - self.window_ns)
        if _lq_push(st, t, notional if side == SIDE_LONG else -notional) < 0:
            return ERR_MEMORY
        if large:
            self.c_large += 1
            _lg_prune(st, t - self.window_ns)
            if _lg_push(st, t) < 0:
                return ERR_MEMORY
        if st.active:
            if side == SIDE_LONG:
                st.long_n += notional
            else:
                st.short_n += notional
            st.n_events += 1
            if large:
                st.last_large = t
                st.n_large += 1
            return <int>(self.n_recs - n0)
        if large and st.lg_n >= self.min_large:
            start = st.lg_ts[st.lg_head]
            long_n = 0.0
            short_n = 0.0
            n_events = 0
            mask = st.lq_cap - 1
            for i in range(st.lq_n):
                j = (st.lq_head + i) & mask
                c_assert(j >= 0 and j < st.lq_cap)
                if st.lq[j].ts >= start:
                    if st.lq[j].signed_notional > 0.0:
                        long_n += st.lq[j].signed_notional
                    else:
                        short_n -= st.lq[j].signed_notional
                    n_events += 1
            st.active = True
            st.cid = self.next_id
            self.next_id += 1
            st.start = start
            st.confirm = t
            st.confirm_recv = ts_recv
            st.last_large = t
            st.confirm_index = index
            st.long_n = long_n
            st.short_n = short_n
            st.thr_confirm = st.thr
            st.n_events = n_events
            st.n_large = <int32_t>st.lg_n
            self.n_active += 1
            self.c_cascades += 1
            if self._emit(st, symbol_id, REC_CONFIRMED, t, index, END_NONE) < 0:
                return ERR_MEMORY
        return <int>(self.n_recs - n0)

    cdef int end_expired(self, int64_t now_ns) noexcept nogil:
        """End every cascade with now_ns > last_large + W; records emitted or ERR_MEMORY."""
        cdef Py_ssize_t i, n0 = self.n_recs
        cdef SymState* st
        if self.n_active == 0:
            return 0
        for i in range(self.n_syms):
            st = self.syms[i]
            if st != NULL and st.active and now_ns > st.last_large + self.window_ns:
                if self._end(st, <int32_t>i, now_ns, -1, END_EXPIRED) < 0:
                    return ERR_MEMORY
        return <int>(self.n_recs - n0)

    cdef int end_all(self, int64_t ts_ns) noexcept nogil:
        """End every active cascade (FLUSH); records emitted or ERR_MEMORY."""
        cdef Py_ssize_t i, n0 = self.n_recs
        cdef SymState* st
        if self.n_active == 0:
            return 0
        for i in range(self.n_syms):
            st = self.syms[i]
            if st != NULL and st.active:
                if self._end(st, <int32_t>i, ts_ns, -1, END_FLUSH) < 0:
                    return ERR_MEMORY
        return <int>(self.n_recs - n0)

    # ---- Python API ------------------------------------------------------------------------------

    def update(self, int64_t ts_event, int64_t ts_recv, long long symbol_id, int venue, int kind,
               int side, double price, double qty):
        """Process one event; return the number of records it emitted (read them with
        :meth:`last_records`).  Bad input raises ValueError naming the field and changes nothing."""
        cdef int code
        if kind < KIND_LIQUIDATION or kind > KIND_QUOTE:
            code = ERR_KIND
        elif symbol_id < -1 or symbol_id >= MAX_SYMBOLS:
            code = ERR_SYMBOL
        elif kind == KIND_LIQUIDATION and (side < -128 or side > 127):
            code = ERR_SIDE
        else:
            code = self.check(<int32_t>symbol_id, <int8_t>kind, <int8_t>side, price, qty)
        if code < 0:
            _raise_bad(code, symbol_id, kind, side, price, qty)
        if venue < -128 or venue > 127:
            raise ValueError(f"venue: must fit int8; got {venue}")
        self.n_recs = 0
        self.c_events += 1
        self.last_mark = MARK_SKIPPED
        self.last_thr = NAN
        code = self.judge(<int32_t>symbol_id, <int8_t>kind, price, qty, ts_event)
        if code < 0:
            if code == ERR_MEMORY:
                raise MemoryError("CascadeDetector: out of memory")
            self.c_skip[-code - 1] += 1  # implausible: counted, skipped, never large
            self.seq += 1
            return 0
        self.c_processed += 1
        code = self.process(ts_event, ts_recv, <int32_t>symbol_id, <int8_t>venue, <int8_t>kind,
                            <int8_t>side, price, qty, self.seq)
        self.seq += 1
        if code < 0:
            raise MemoryError("CascadeDetector: out of memory")
        return code

    @property
    def last_event_mark(self):
        """What the last :meth:`update` made of its event (:data:`MARKS`: 0 skipped, 1 kept but no
        liquidation, 2 a liquidation, 3 a large one): ``run(marks=)`` for one event, the per-venue half of
        the live instrument-scope detector (``liqcore.live.xscope``)."""
        return int(self.last_mark)

    @property
    def last_event_threshold(self):
        """The threshold in force for the last :meth:`update`'s liquidation (NaN elsewhere)."""
        return float(self.last_thr)

    def plausible(self, long long symbol_id, int kind, double price, double qty, int64_t ts_event):
        """0 when the event would pass the plausibility rule (and a liquidation, trade or mark then
        moves the symbol's reference price, as :meth:`update` would), else the negative skip code
        (``SKIP_REASONS[-code - 1]`` names it).  Counts nothing: for callers that must drop an
        implausible event before it reaches anything else (the live engine's trades)."""
        if (symbol_id < 0 or symbol_id >= MAX_SYMBOLS or kind < KIND_LIQUIDATION
                or (kind > KIND_MARK and kind != KIND_QUOTE)):
            return 0
        cdef int code = self.judge(<int32_t>symbol_id, <int8_t>kind, price, qty, ts_event)
        if code == ERR_MEMORY:
            raise MemoryError("CascadeDetector: out of memory")
        return code

    def last_records(self):
        """The records emitted by the last call (update, tick, gap, flush, run) as a CASCADE_DTYPE
        array (a copy)."""
        out = np.empty(self.n_recs, dtype=CASCADE_DTYPE)
        if self.n_recs:
            _copy_out(out, self.recs, self.n_recs)
        return out

    def last_confirmed(self):
        """The first CONFIRMED record the last call emitted, as ``(symbol_id, cascade_id, dominant,
        confirm_recv_ns)``, or None (no array is built: the live engine's order path reads this first)."""
        cdef Py_ssize_t i
        cdef CascadeRecord* r
        for i in range(self.n_recs):
            r = &self.recs[i]
            if r.record == REC_CONFIRMED:
                return (r.symbol_id, r.cascade_id, r.dominant, r.confirm_recv_ns)
        return None

    def armable(self, long long symbol_id):
        """True when the symbol's next liquidation could confirm a cascade: it has enough history for a
        threshold, no active cascade, and at least ``min_large - 1`` large liquidations later than its
        latest event time minus the window.  (A hint for preparing an order ahead; it changes nothing.)"""
        cdef SymState* st
        cdef Py_ssize_t i, n = 0
        cdef int64_t cut
        if symbol_id < 0 or symbol_id >= self.n_syms or self.syms[symbol_id] == NULL:
            return False
        st = self.syms[symbol_id]
        if st.active or st.seen < (self.min_history if self.min_history > 0 else 1):
            return False
        cut = st.clock - self.window_ns if st.clock > INT64_MIN + self.window_ns else INT64_MIN
        for i in range(st.lg_n):
            if st.lg_ts[(st.lg_head + i) & (st.lg_cap - 1)] > cut:
                n += 1
        return n >= self.min_large - 1

    def pop_records(self):
        """Like :meth:`last_records`, then forget them (a second call returns an empty array)."""
        out = self.last_records()
        self.n_recs = 0
        return out

    def tick(self, int64_t now_ns):
        """End every cascade whose ``last_large + W < now_ns`` (EXPIRED); return the record count."""
        self.n_recs = 0
        cdef int r = self.end_expired(now_ns)
        if r < 0:
            raise MemoryError("CascadeDetector: out of memory")
        return r

    def gap(self, long long symbol_id, int venue, int64_t ts_ns):
        """Mark a feed gap for ``symbol_id`` (-1: every symbol of ``venue``) at ``ts_ns``: active
        cascades end (GAP) and the cluster windows are cleared.  Returns the record count."""
        if symbol_id < -1 or symbol_id >= MAX_SYMBOLS:
            raise ValueError(f"symbol_id: must be -1 (whole venue) or in [0, 2**24); got {symbol_id}")
        if venue < -128 or venue > 127:
            raise ValueError(f"venue: must fit int8; got {venue}")
        self.n_recs = 0
        cdef int r = self.process(ts_ns, ts_ns, <int32_t>symbol_id, <int8_t>venue, KIND_GAP, 0,
                                  0.0, 0.0, -1)
        if r < 0:
            raise MemoryError("CascadeDetector: out of memory")
        return r

    def flush(self, ts_ns=None):
        """End every active cascade (FLUSH) at ``ts_ns`` (default: the latest event time seen, or 0).
        Returns the record count."""
        cdef int64_t t = (self.now if self.now != INT64_MIN else 0) if ts_ns is None else ts_ns
        self.n_recs = 0
        cdef int r = self.end_all(t)
        if r < 0:
            raise MemoryError("CascadeDetector: out of memory")
        return r

    def seed(self, long long symbol_id, notionals, int venue=0):
        """Add past notionals (oldest first) to the symbol's threshold history; they count toward
        ``min_history``.  The threshold is recomputed at the symbol's next liquidation."""
        if symbol_id < 0 or symbol_id >= MAX_SYMBOLS:
            raise ValueError(f"symbol_id: must be in [0, 2**24); got {symbol_id}")
        arr = np.ascontiguousarray(np.asarray(notionals, dtype=np.float64).ravel())
        bad = np.flatnonzero(~(np.isfinite(arr) & (arr > 0)))
        if bad.size:
            raise ValueError(f"notionals[{bad[0]}]: must be finite and > 0; got {arr[bad[0]]!r}")
        cdef const double[::1] x = arr
        cdef Py_ssize_t i
        cdef SymState* st = self.state(<int32_t>symbol_id)
        if st == NULL:
            raise MemoryError("CascadeDetector: out of memory")
        if venue:
            st.venue = <int8_t>venue
        for i in range(x.shape[0]):
            _hist_push(st, x[i])
        st.seen += x.shape[0]
        st.has_thr = False
        st.thr = NAN

    def run(self, events, bint flush=False, int64_t index_offset=0, marks=None, thresholds=None):
        """Process an EVENT_DTYPE array in order without the GIL.

        ``marks`` (an int8 array as long as ``events``, optional) receives what the detector made of
        each event (:data:`MARKS`: 0 skipped, 1 kept but no liquidation, 2 a liquidation, 3 a large
        one) and ``thresholds`` (float64, optional) the threshold in force for each liquidation (NaN
        elsewhere): the per-venue half of the instrument-scope detector (``liqcore._libs.detection``).

        Returns ``(records, counts)``: the CASCADE_DTYPE records of this run (with ``flush=True``
        every cascade still active at the end is ended, FLUSH, at the latest event time) and a dict
        of counts for this run: events, processed, liquidations, large, late, cascades, records,
        skipped and skipped_<reason> for every reason of ``SKIP_REASONS``.  ``event_index`` of a
        record is ``index_offset`` + the index of its event in ``events``.
        """
        if not isinstance(events, np.ndarray) or events.ndim != 1 or events.dtype != EVENT_DTYPE:
            raise ValueError("events: expected a 1-D numpy array of liqcore.types.EVENT_DTYPE")
        if not events.flags.c_contiguous:
            raise ValueError("events: must be C-contiguous (use numpy.ascontiguousarray)")
        cdef const Event[::1] ev = events
        cdef Py_ssize_t i, n = ev.shape[0]
        cdef int code = 0
        cdef int8_t[::1] mk
        cdef double[::1] th
        cdef bint want_mk = marks is not None, want_th = thresholds is not None
        if want_mk:
            if not isinstance(marks, np.ndarray) or marks.dtype != np.int8 or marks.shape != (n,):
                raise ValueError("marks: expected an int8 array as long as events")
            mk = marks
        if want_th:
            if not isinstance(thresholds, np.ndarray) or thresholds.dtype != np.float64 or thresholds.shape != (n,):
                raise ValueError("thresholds: expected a float64 array as long as events")
            th = thresholds
        cdef int64_t skip0[N_SKIP]
        cdef int64_t t, prev = INT64_MIN, jump = self.max_time_jump_ns
        cdef int64_t t_max = 4_102_444_800_000_000_000 - 1  # liqcore.validate.FILE_TIME_MAX_NS: a batch is a file's events, judged the same on any day
        cdef int64_t ev0 = self.c_events, pr0 = self.c_processed, lq0 = self.c_liquidations
        cdef int64_t lg0 = self.c_large, la0 = self.c_late, ca0 = self.c_cascades, re0 = self.c_records
        memcpy(skip0, self.c_skip, sizeof(skip0))
        self.n_recs = 0
        with nogil:
            for i in range(n):
                self.c_events += 1
                code = self.check(ev[i].symbol_id, ev[i].kind, ev[i].side, ev[i].price, ev[i].qty)
                if code == 0:
                    t = ev[i].ts_event
                    if t > t_max or _stray(ev, i, n, prev, jump):
                        code = ERR_TIME
                    else:
                        code = self.judge(ev[i].symbol_id, ev[i].kind, ev[i].price, ev[i].qty, t)
                if code < 0:
                    if code == ERR_MEMORY:
                        break
                    self.c_skip[-code - 1] += 1
                    code = 0
                    if want_mk:
                        mk[i] = MARK_SKIPPED
                    if want_th:
                        th[i] = NAN
                    continue
                prev = ev[i].ts_event
                self.c_processed += 1
                code = self.process(ev[i].ts_event, ev[i].ts_recv, ev[i].symbol_id, ev[i].venue,
                                    ev[i].kind, ev[i].side, ev[i].price, ev[i].qty, index_offset + i)
                if code < 0:
                    break
                if want_mk:
                    mk[i] = self.last_mark
                if want_th:
                    th[i] = self.last_thr
            if code >= 0 and flush:
                code = self.end_all(self.now if self.now != INT64_MIN else 0)
        if code < 0:
            raise MemoryError("CascadeDetector: out of memory")
        records = np.empty(self.n_recs, dtype=CASCADE_DTYPE)
        if self.n_recs:
            _copy_out(records, self.recs, self.n_recs)
        counts = {
            "events": self.c_events - ev0,
            "processed": self.c_processed - pr0,
            "liquidations": self.c_liquidations - lq0,
            "large": self.c_large - lg0,
            "late": self.c_late - la0,
            "cascades": self.c_cascades - ca0,
            "records": self.c_records - re0,
            "skipped": 0,
        }
        for k, reason in enumerate(SKIP_REASONS):
            counts[f"skipped_{reason}"] = self.c_skip[k] - skip0[k]
            counts["skipped"] += self.c_skip[k] - skip0[k]
        return records, counts

    # ---- inspection ------------------------------------------------------------------------------

    def threshold(self, long long symbol_id):
        """The threshold last computed for the symbol (NaN when it has none yet)."""
        cdef SymState* st
        if symbol_id < 0 or symbol_id >= self.n_syms or self.syms[symbol_id] == NULL:
            return NAN
        st = self.syms[symbol_id]
        return st.thr if st.has_thr else NAN

    def active(self, long long symbol_id):
        """True when the symbol has an active (confirmed, not yet ended) cascade."""
        if symbol_id < 0 or symbol_id >= self.n_syms or self.syms[symbol_id] == NULL:
            return False
        return bool(self.syms[symbol_id].active)

    def symbol_nbytes(self, long long symbol_id):
        """Heap bytes held by one symbol's state (0 when it has none)."""
        if symbol_id < 0 or symbol_id >= self.n_syms or self.syms[symbol_id] == NULL:
            return 0
        return _sym_nbytes(self.syms[symbol_id])

    @property
    def nbytes(self):
        """Heap bytes held by the detector: every symbol's state, the pointer table, the record buffer."""
        cdef Py_ssize_t i, total = self.n_syms * <Py_ssize_t>sizeof(SymState*)
        total += self.cap_recs * <Py_ssize_t>sizeof(CascadeRecord)
        for i in range(self.n_syms):
            if self.syms[i] != NULL:
                total += _sym_nbytes(self.syms[i])
        return total

    @property
    def stats(self):
        """Cumulative counts since construction, plus symbols (with state) and active cascades."""
        out = {
            "events": self.c_events,
            "processed": self.c_processed,
            "liquidations": self.c_liquidations,
            "large": self.c_large,
            "late": self.c_late,
            "cascades": self.c_cascades,
            "records": self.c_records,
            "skipped": 0,
        }
        for k, reason in enumerate(SKIP_REASONS):
            out[f"skipped_{reason}"] = self.c_skip[k]
            out["skipped"] += self.c_skip[k]
        out["symbols"] = self.n_known
        out["active"] = self.n_active
        return out

    def __repr__(self):
        return (f"CascadeDetector(quantile={self.quantile!r}, history={self.history}, "
                f"min_history={self.min_history}, refresh_ns={self.refresh_ns}, "
                f"window_ns={self.window_ns}, min_large={self.min_large}; "
                f"{self.n_known} symbols, {self.n_active} active)")


cdef inline bint _stray(const Event[::1] ev, Py_ssize_t i, Py_ssize_t n, int64_t prev, int64_t jump) noexcept nogil:
    """Event i's time is a stray: further than ``jump`` from the previous kept event's and from the
    next event's, while those two agree (the first event: from the next two, which agree).  Only the
    rare events far from the previous one reach the neighbour test."""
    cdef int64_t t = ev[i].ts_event, nx
    if prev != INT64_MIN:
        if _far(t, prev, jump) == 0:
            return False
        if i + 1 >= n:
            return False
        nx = ev[i + 1].ts_event
        return _far(t, nx, jump) != 0 and _far(nx, prev, jump) == 0
    if i + 2 >= n:
        return False
    nx = ev[i + 1].ts_event
    return _far(t, nx, jump) != 0 and _far(nx, ev[i + 2].ts_event, jump) == 0


cdef inline int _far(int64_t a, int64_t b, int64_t jump) noexcept nogil:
    """1 when |a - b| > jump (without overflow)."""
    if a >= b:
        return 1 if <uint64_t>a - <uint64_t>b > <uint64_t>jump else 0
    return 1 if <uint64_t>b - <uint64_t>a > <uint64_t>jump else 0


def _plausibility(params) -> dict:
    """The plausibility bounds of a Params (defaults where it has none)."""
    out = {}
    for name in ("price_factor", "max_notional", "notional_multiple", "reanchor", "max_time_jump_ns",
                 "reference_age_ns"):
        v = getattr(params, name, None)
        if v is not None:
            out[name] = v
    return out


cdef void _copy_out(object out, CascadeRecord* src, Py_ssize_t n):
    cdef CascadeRecord[::1] dst = out
    if n:
        memcpy(&dst[0], src, n * sizeof(CascadeRecord))


def _raise_bad(int code, long long symbol_id, int kind, int side, double price, double qty):
    if code == ERR_SYMBOL:
        raise ValueError(f"symbol_id: must be in [0, 2**24) (or -1 for a venue-wide GAP); got {symbol_id}")
    if code == ERR_KIND:
        raise ValueError(f"kind: unknown event kind {kind}")
    if code == ERR_PRICE:
        raise ValueError(f"price: must be finite and > 0 for a liquidation; got {price!r}")
    if code == ERR_QTY:
        raise ValueError(f"qty: must be finite and > 0 for a liquidation; got {qty!r}")
    if code == ERR_NOTIONAL:
        raise ValueError(f"price: price * qty overflows ({price!r} * {qty!r})")
    raise ValueError(f"side: a liquidation needs side LONG (1) or SHORT (2); got {side}")
