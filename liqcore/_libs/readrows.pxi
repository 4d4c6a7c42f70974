# cython: language_level=3
"""The rows a CSV reader's batch becomes: its columns (numpy arrays, one value per row of the batch)
written into ``EVENT_DTYPE`` rows in one pass, the kept rows only (``keep``: a row mask, or None for
every row).

* :func:`quote_rows`: a top-of-book update is two QUOTE rows, its bid (side BUY) then its ask (side
  SELL), with the update's times, symbol and venue, flags 0; each size in base units: as read, or for a
  row of a Bybit inverse contract (``inverse``) the size (USD) over the price (0 for an empty side), or
  else the size times the row's contract value (``scale``); ``inverse`` / ``scale`` None: every size as
  read.
* :func:`trade_rows`: one row per kept row, of the kind given; flags ``sampled`` on the rows of a venue
  other than Bybit (code 1), 0 on Bybit's.

And the step after, on the writer's side: :func:`partition_rows`, events -> a dataset partition's rows
(:data:`liqcore.dataset.write._ROW_DTYPE`, 43 packed bytes: the file's columns; venue and symbol are the
partition's), each with its trade id (0: none) and an empty side of the book (a QUOTE of size 0) with the
price 0; and :func:`file_columns`, a block of a partition's rows -> the columns of a partition file
(contiguous arrays), with ``pairs`` each top-of-book update (a bid row, then its ask row: the same event
and receive times and flags, no trade id, an ask price that is a number) as one row, the bid's, carrying
the ask's price and size (NaN where a row carries none).

And for the plausibility rule: :func:`natural_pairs`, whether quote rows are laid out as :func:`quote_rows`
writes them (row 2i a bid and row 2i + 1 the ask of the same update: QUOTE rows, the same symbol, event
and receive times) and if so which updates are crossed (both sides non-empty, the bid at or above the ask).

The columns are written row by row into the output (one pass, no strided field writes, no gathered copy
of every column by the mask).  The specification is the reference twin ``pysrc/readrows.py`` (the
numpy code the tardis reader ran before), which the property tests hold equal, byte for byte.
"""
cimport cython
from libc.math cimport INFINITY, NAN, isfinite, isinf, isnan
from libc.stdint cimport int8_t, int32_t, int64_t, uint8_t

# one row of a dataset partition (liqcore.dataset.write._ROW_DTYPE: packed, 43 bytes); partition_rows checks the layout
cdef packed struct Row:
    int64_t ts_event_ns
    int64_t ts_recv_ns
    int8_t kind
    int8_t side
    double price
    double qty
    uint8_t flags
    int64_t trade_id

from liqcore._libs.events cimport (KIND_GAP, KIND_LIQUIDATION, KIND_QUOTE, KIND_TRADE, SIDE_BUY, SIDE_LONG,
                                   SIDE_SELL, SIDE_SHORT, Event)

import numpy as np

from liqcore.types import EVENT_DTYPE

_NO_ROWS = np.zeros(0, np.uint8)
_NO_SCALE = np.zeros(0, np.float64)
_NO_IDS = np.zeros(0, np.int64)


def _i64(a):
    return np.ascontiguousarray(a, dtype=np.int64)


def _f64(a):
    return np.ascontiguousarray(a, dtype=np.float64)


def _mask(a, n):
    """A row mask as bytes (None: every row), of ``n`` rows."""
    if a is None:
        return None
    m = np.ascontiguousarray(a, dtype=np.bool_)
    if len(m) != n:
        raise ValueError(f"readrows: a mask of {len(m)} rows for {n} rows")
    return m.view(np.uint8)


def _check(n, *cols):
    for c in cols:
        if c is not None and len(c) != n:
            raise ValueError(f"readrows: a column of {len(c)} rows for {n} rows")


@cython.cdivision(True)  # IEEE division (a size over a price), as numpy's, in the debug build too
cdef int _quotes(Event[::1] out, const int64_t[::1] ts, const int64_t[::1] recv, const double[::1] bp,
                  const double[::1] bq, const double[::1] ap, const double[::1] aq, const int64_t[::1] sid,
                  const int64_t[::1] venue, const uint8_t[::1] keep, bint has_keep, const uint8_t[::1] inverse,
                  const double[::1] scale, bint plain) except -1 nogil:
    cdef Py_ssize_t i, j = 0, n = ts.shape[0]
    cdef double q_b, q_a
    cdef Event *e
    for i in range(n):
        if has_keep and not keep[i]:
            continue
        q_b = bq[i]
        q_a = aq[i]
        if not plain:
            if inverse[i]:
                q_b = q_b / bp[i] if q_b > 0 else 0.0
                q_a = q_a / ap[i] if q_a > 0 else 0.0
            else:
                q_b = q_b * scale[i]
                q_a = q_a * scale[i]
        e = &out[j]
        e.ts_event = ts[i]
        e.ts_recv = recv[i]
        e.price = bp[i]
        e.qty = q_b
        e.symbol_id = <int32_t>sid[i]
        e.side = SIDE_BUY
        e.kind = KIND_QUOTE
        e.venue = <int8_t>venue[i]
        e.flags = 0
        e = &out[j + 1]
        e.ts_event = ts[i]
        e.ts_recv = recv[i]
        e.price = ap[i]
        e.qty = q_a
        e.symbol_id = <int32_t>sid[i]
        e.side = SIDE_SELL
        e.kind = KIND_QUOTE
        e.venue = <int8_t>venue[i]
        e.flags = 0
        j += 2
    return 0


def quote_rows(ts, recv, bid_price, bid_qty, ask_price, ask_qty, sid, venue, keep=None, inverse=None, scale=None):
    """Two QUOTE rows (bid, then ask) per kept row -> ``EVENT_DTYPE`` array of ``2 * kept`` rows (see the
    module's docstring); ``inverse`` and ``scale`` both given or both None."""
    ts, recv, sid, venue = _i64(ts), _i64(recv), _i64(sid), _i64(venue)
    bp, bq, ap, aq = _f64(bid_price), _f64(bid_qty), _f64(ask_price), _f64(ask_qty)
    n = len(ts)
    _check(n, recv, bp, bq, ap, aq, sid, venue, inverse, scale)
    if (inverse is None) != (scale is None):
        raise ValueError("readrows: inverse and scale are given together")
    k = _mask(keep, n)
    cdef bint plain = inverse is None
    cdef bint has_keep = k is not None
    kept = n if k is None else int(np.count_nonzero(k))
    out = np.empty(2 * kept, dtype=EVENT_DTYPE)
    cdef Event[::1] o = out
    cdef const int64_t[::1] t_ = ts, r_ = recv, s_ = sid, v_ = venue
    cdef const double[::1] bp_ = bp, bq_ = bq, ap_ = ap, aq_ = aq
    cdef const uint8_t[::1] k_ = k if has_keep else _NO_ROWS
    cdef const uint8_t[::1] i_ = _NO_ROWS if plain else _mask(inverse, n)
    cdef const double[::1] c_ = _NO_SCALE if plain else _f64(scale)
    if kept:
        with nogil:
            _quotes(o, t_, r_, bp_, bq_, ap_, aq_, s_, v_, k_, has_keep, i_, c_, plain)
    return out


cdef int _trades(Event[::1] out, const int64_t[::1] ts, const int64_t[::1] recv, const double[::1] price,
                  const double[::1] qty, const int64_t[::1] sid, const int64_t[::1] side, const int64_t[::1] venue,
                  const uint8_t[::1] keep, bint has_keep, int8_t kind, uint8_t sampled) except -1 nogil:
    cdef Py_ssize_t i, j = 0, n = ts.shape[0]
    cdef Event *e
    for i in range(n):
        if has_keep and not keep[i]:
            continue
        e = &out[j]
        e.ts_event = ts[i]
        e.ts_recv = recv[i]
        e.price = price[i]
        e.qty = qty[i]
        e.symbol_id = <int32_t>sid[i]
        e.side = <int8_t>side[i]
        e.kind = kind
        e.venue = <int8_t>venue[i]
        e.flags = sampled if venue[i] != 1 else 0
        j += 1
    return 0


def trade_rows(ts, recv, price, qty, sid, side, venue, int kind, int sampled=0, keep=None):
    """One row of ``kind`` per kept row -> ``EVENT_DTYPE`` array (see the module's docstring)."""
    ts, recv, sid, side, venue = _i64(ts), _i64(recv), _i64(sid), _i64(side), _i64(venue)
    price, qty = _f64(price), _f64(qty)
    n = len(ts)
    _check(n, recv, price, qty, sid, side, venue)
    k = _mask(keep, n)
    cdef bint has_keep = k is not None
    kept = n if k is None else int(np.count_nonzero(k))
    out = np.empty(kept, dtype=EVENT_DTYPE)
    cdef Event[::1] o = out
    cdef const int64_t[::1] t_ = ts, r_ = recv, s_ = sid, d_ = side, v_ = venue
    cdef const double[::1] p_ = price, q_ = qty
    cdef const uint8_t[::1] k_ = k if has_keep else _NO_ROWS
    if kept:
        with nogil:
            _trades(o, t_, r_, p_, q_, s_, d_, v_, k_, has_keep, <int8_t>kind, <uint8_t>sampled)
    return out


#: the layout :class:`Row` mirrors (name, numpy type, offset)
_ROW_LAYOUT = (("ts_event_ns", "<i8", 0), ("ts_recv_ns", "<i8", 8), ("kind", "i1", 16), ("side", "i1", 17),
               ("price", "<f8", 18), ("qty", "<f8", 26), ("flags", "u1", 34), ("trade_id", "<i8", 35))


def _row_layout_ok(dt) -> bool:
    return (dt.itemsize == sizeof(Row) and dt.names is not None and len(dt.names) == len(_ROW_LAYOUT)
            and all(n in dt.fields and dt.fields[n][0] == np.dtype(t) and dt.fields[n][1] == o
                    for n, t, o in _ROW_LAYOUT))


cdef int _partition(Row[::1] out, const Event[:] ev, const int64_t[::1] ids, bint has_ids) except -1 nogil:
    cdef Py_ssize_t i, n = ev.shape[0]
    cdef Row *r
    cdef const Event *e
    for i in range(n):
        e = &ev[i]
        r = &out[i]
        r.ts_event_ns = e.ts_event
        r.ts_recv_ns = e.ts_recv
        r.kind = e.kind
        r.side = e.side
        r.price = 0.0 if (e.kind == KIND_QUOTE and e.qty == 0) else e.price
        r.qty = e.qty
        r.flags = e.flags
        r.trade_id = ids[i] if has_ids else 0
    return 0


def partition_rows(events, trade_ids, out):
    """``events`` (EVENT_DTYPE) -> ``out`` (a partition's rows, of the same length: see the module's docstring),
    each with its trade id (``trade_ids``: int64 aligned with the events, or None: 0)."""
    if events.dtype != EVENT_DTYPE:
        raise ValueError("readrows: events are not EVENT_DTYPE rows")
    if not _row_layout_ok(out.dtype):
        raise ValueError(f"readrows: out is not a partition's rows ({out.dtype})")
    n = len(events)
    ids = None if trade_ids is None else _i64(trade_ids)
    _check(n, out, ids)
    cdef bint has_ids = ids is not None
    cdef const int64_t[::1] i_ = ids if has_ids else _NO_IDS
    cdef const Event[:] e_
    cdef Row[::1] o_
    if n:
        e_ = events
        o_ = out
        with nogil:
            _partition(o_, e_, i_, has_ids)
    return out


cdef inline bint _paired(const Row *a, const Row *b) noexcept nogil:
    # a bid row, then the ask row of the same update
    return (a.side == SIDE_BUY and b.side == SIDE_SELL and a.ts_event_ns == b.ts_event_ns
            and a.ts_recv_ns == b.ts_recv_ns and a.flags == b.flags and a.trade_id == 0 and b.trade_id == 0
            and not isnan(b.price))


cdef Py_ssize_t _count_out(const Row[:] rows, bint pairs) noexcept nogil:
    cdef Py_ssize_t i = 0, m = 0, n = rows.shape[0]
    while i < n:
        i += 2 if (pairs and i + 1 < n and _paired(&rows[i], &rows[i + 1])) else 1
        m += 1
    return m


cdef int _columns(const Row[:] rows, bint pairs, int64_t[::1] te, int64_t[::1] tr, int8_t[::1] kind,
                  int8_t[::1] side, double[::1] price, double[::1] qty, uint8_t[::1] flags, int64_t[::1] tid,
                  double[::1] ask_p, double[::1] ask_q) except -1 nogil:
    cdef Py_ssize_t i = 0, j = 0, n = rows.shape[0]
    cdef const Row *r
    while i < n:
        r = &rows[i]
        te[j] = r.ts_event_ns
        tr[j] = r.ts_recv_ns
        kind[j] = r.kind
        side[j] = r.side
        price[j] = r.price
        qty[j] = r.qty
        flags[j] = r.flags
        tid[j] = r.trade_id
        if pairs:
            if i + 1 < n and _paired(r, &rows[i + 1]):
                ask_p[j] = rows[i + 1].price
                ask_q[j] = rows[i + 1].qty
                i += 1
            else:
                ask_p[j] = NAN
                ask_q[j] = NAN
        i += 1
        j += 1
    return 0


def file_columns(rows, bint pairs):
    """A block of a partition's rows -> ``{column: contiguous array}`` of a partition file's columns (the
    rows' fields, and with ``pairs`` ``ask_price`` / ``ask_qty``: each top-of-book update one row, see the
    module's docstring)."""
    if not _row_layout_ok(rows.dtype):
        raise ValueError(f"readrows: not a partition's rows ({rows.dtype})")
    cdef const Row[:] r_
    cdef Py_ssize_t m = 0
    if len(rows):
        r_ = rows
        with nogil:
            m = _count_out(r_, pairs)
    out = {"ts_event_ns": np.empty(m, np.int64), "ts_recv_ns": np.empty(m, np.int64), "kind": np.empty(m, np.int8),
           "side": np.empty(m, np.int8), "price": np.empty(m, np.float64), "qty": np.empty(m, np.float64),
           "flags": np.empty(m, np.uint8), "trade_id": np.empty(m, np.int64)}
    if pairs:
        out["ask_price"] = np.empty(m, np.float64)
        out["ask_qty"] = np.empty(m, np.float64)
    cdef int64_t[::1] te = out["ts_event_ns"], tr = out["ts_recv_ns"], tid = out["trade_id"]
    cdef int8_t[::1] kind = out["kind"], side = out["side"]
    cdef double[::1] price = out["price"], qty = out["qty"]
    cdef uint8_t[::1] flags = out["flags"]
    cdef double[::1] ask_p = out["ask_price"] if pairs else _NO_SCALE
    cdef double[::1] ask_q = out["ask_qty"] if pairs else _NO_SCALE
    if m:
        with nogil:
            _columns(r_, pairs, te, tr, kind, side, price, qty, flags, tid, ask_p, ask_q)
    return out


cdef int _natural(const Event[:] ev, uint8_t[::1] crossed) except -1 nogil:
    # 1: laid out in pairs (crossed filled), 0: not
    cdef Py_ssize_t i, n = ev.shape[0] // 2
    cdef const Event *b
    cdef const Event *a
    for i in range(n):
        b = &ev[2 * i]
        a = &ev[2 * i + 1]
        if (b.kind != KIND_QUOTE or a.kind != KIND_QUOTE or b.side != SIDE_BUY or a.side != SIDE_SELL
                or b.symbol_id != a.symbol_id or b.ts_event != a.ts_event or b.ts_recv != a.ts_recv):
            return 0
        crossed[i] = b.qty > 0 and a.qty > 0 and b.price >= a.price
    return 1


def natural_pairs(events):
    """Quote rows laid out as :func:`quote_rows` writes them -> the mask of the crossed updates (one per pair,
    bool); None for any other layout (or an odd number of rows, or fewer than 2)."""
    if events.dtype != EVENT_DTYPE:
        raise ValueError("readrows: events are not EVENT_DTYPE rows")
    n = len(events)
    if n < 2 or n % 2:
        return None
    out = np.empty(n // 2, dtype=np.bool_)
    cdef const Event[:] e_ = events
    cdef uint8_t[::1] c_ = out.view(np.uint8)
    cdef int ok
    with nogil:
        ok = _natural(e_, c_)
    return out if ok else None


cdef Py_ssize_t _problems(const Row[:] rows, int kind_max, bint venue_wide) noexcept nogil:
    cdef Py_ssize_t i, n = 0
    cdef const Row *r
    cdef int8_t k, sd
    cdef double p, q
    cdef bint bad, liq
    for i in range(rows.shape[0]):
        r = &rows[i]
        k = r.kind
        sd = r.side
        p = r.price
        q = r.qty
        if r.ts_event_ns <= 0:
            n += 1
        if venue_wide and k != KIND_GAP:
            n += 1
        if k == KIND_TRADE:
            if not ((sd == SIDE_BUY or sd == SIDE_SELL) and p > 0 and p < INFINITY and q > 0 and q < INFINITY):
                n += 1
        elif k == KIND_QUOTE:
            if not ((sd == SIDE_BUY or sd == SIDE_SELL) and q >= 0 and q < INFINITY
                    and ((q > 0 and p > 0 and p < INFINITY) or (q == 0 and p == 0))):
                n += 1
        else:
            liq = k == KIND_LIQUIDATION
            bad = k < 1 or k > kind_max or sd < 0 or sd > 4
            if liq:
                bad = bad or not (sd == SIDE_LONG or sd == SIDE_SHORT)
                bad = bad or not (isfinite(p) and p > 0 and isfinite(q) and q > 0)
            else:
                bad = bad or isinf(p) or not isfinite(q)
            if bad:
                n += 1
    return n


def row_problems(rows, int kind_max, bint venue_wide):
    """How many rule breaks a partition's rows hold (each row's count: a time <= 0; on a venue-wide
    partition a row that is not a gap; a trade whose side is not buy or sell or whose price or size is not
    finite and > 0; a quote whose side is not buy or sell, whose size is not finite and >= 0, a non-empty
    side without a finite positive price or an empty side with a price; any other row whose kind is
    outside 1 .. ``kind_max`` or side outside 0 .. 4, a liquidation whose side is not long or short or whose
    price or size is not finite and > 0, another kind's infinite price or non-finite size) -- the rules of
    ``liqcore.dataset.checked.row_problems``, in one pass."""
    if not _row_layout_ok(rows.dtype):
        raise ValueError(f"readrows: not a partition's rows ({rows.dtype})")
    cdef const Row[:] r_
    cdef Py_ssize_t n = 0
    if len(rows):
        r_ = rows
        with nogil:
            n = _problems(r_, kind_max, venue_wide)
    return int(n)
