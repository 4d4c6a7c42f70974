# cython: language_level=3
"""A checked partition file's rows of one read (:func:`liqcore.dataset.checked.read_checked`) laid out as
events in event-time order, in one pass: :func:`section_events`.

A partition file written in sections holds its rare rows (liquidations, marks, funding, gaps, open
interest) first, then its trades, then its top-of-book updates (one row each, carrying the ask), each
section sorted by event time, then receive time.  A read lays them out as the same file in format 2 held
them, then in event-time order (stable): the trades and the quotes merged by event time with the quotes
first at equal times (the book in force when a trade of that time prints) and a run of one event time
ordered by receive time where its receive times go down (the quotes first at equal receive times), then
the rare rows placed among them by event time, first at equal times; each quote row is two events, its
bid (the row's side, price and size) then its ask (side SELL, the ask's price and size), with the row's
times, kind and flags (the numpy passes of ``read_checked``: ``_fill``, ``bulk_order``, ``event_order``
and the gather).

With the trades and the quotes each sorted by (event time, receive time), that order is a merge: the
next event is the next rare row when its event time is at or before the next bulk row's, else the
earlier of the next trade and the next quote by (event time, receive time), the quote at a tie.  The
sections' order is checked on the way (the rare rows by event time, holding no trade or quote; every
trade row a TRADE, every quote row a QUOTE carrying its ask): where it does not hold the function returns
None and the caller lays the rows out the numpy way.

And the step after, the window-local backtest's read (:class:`liqcore.backtest.windows._Reader`):
:func:`sort_recv`, events in event-time order sorted by receive time (stable) in place, by an insertion sort
of the rows themselves: a read's receive times are nearly sorted (each row a few places from its place), so
the rows move a few places each, instead of numpy's sort of the receive times and a gather of every row into
a new array (whose pages cost more than the sort); False when the rows would move too far (the caller then
sorts them the numpy way).

And before both, a read's test of the rows of one bulk row group (every row with a receive time):
:func:`bulk_keep`, the rows received in a range, stamped in an event-time range and not ahead of their receive
time by more than the clock guard's skew, in one pass, and whether they are one run of rows (then the caller
takes views of the columns: no mask, no gather).

The specification is the reference twin ``pysrc/sections.py``; the property tests hold the two equal, byte
for byte, and both to the numpy passes.
"""
from libc.math cimport isfinite, isnan
from libc.stdint cimport INT64_MAX, int8_t, int32_t, int64_t, uint8_t, uint64_t

from liqcore._libs.events cimport KIND_DEPTH, KIND_FUNDING, KIND_QUOTE, KIND_TRADE, SIDE_BUY, SIDE_SELL, Event

import numpy as np

from liqcore.types import EVENT_DTYPE

_COLS = ("ts_event_ns", "ts_recv_ns", "kind", "side", "price", "qty", "flags")
_TYPES = (np.int64, np.int64, np.int8, np.int8, np.float64, np.float64, np.uint8)
_NO_F = np.zeros(0, np.float64)


def _sec_columns(c, quotes):
    """The columns of section ``c`` (name -> array; None or empty: no rows), contiguous, of the kernel's types."""
    if c is None:
        c = {}
    n = len(c["ts_event_ns"]) if "ts_event_ns" in c else 0
    out = []
    for name, t in zip(_COLS + (("ask_price", "ask_qty") if quotes else ()),
                       _TYPES + ((np.float64, np.float64) if quotes else ())):
        a = np.ascontiguousarray(c[name], dtype=t) if n else np.zeros(0, t)
        if len(a) != n:
            raise ValueError(f"sections: column {name} has {len(a)} rows for {n}")
        out.append(a)
    return n, out


cdef inline bint _before(int64_t te_a, int64_t tr_a, int64_t te_b, int64_t tr_b) noexcept nogil:
    """(te_a, tr_a) <= (te_b, tr_b)"""
    return te_a < te_b or (te_a == te_b and tr_a <= tr_b)


cdef int _sorted2(const int64_t[::1] te, const int64_t[::1] tr) except -1 nogil:
    cdef Py_ssize_t i
    for i in range(1, te.shape[0]):
        if not _before(te[i - 1], tr[i - 1], te[i], tr[i]):
            return False
    return True


cdef int _all_kind(const int8_t[::1] kind, int8_t k) except -1 nogil:
    cdef Py_ssize_t i
    for i in range(kind.shape[0]):
        if kind[i] != k:
            return False
    return True


cdef int _rare_ok(const int64_t[::1] te, const int8_t[::1] kind) except -1 nogil:
    cdef Py_ssize_t i
    for i in range(te.shape[0]):
        if kind[i] == KIND_TRADE or kind[i] == KIND_QUOTE or (i and te[i] < te[i - 1]):
            return False
    return True


cdef int _asks_whole(const double[::1] ap) except -1 nogil:
    cdef Py_ssize_t i
    for i in range(ap.shape[0]):
        if isnan(ap[i]):
            return False
    return True


cdef inline void _put(Event *e, int64_t te, int64_t tr, double price, double qty, int8_t side, int8_t kind,
                      uint8_t flags, int32_t sid, int8_t venue) noexcept nogil:
    e.ts_event = te
    e.ts_recv = tr
    e.price = price
    e.qty = qty
    e.symbol_id = sid
    e.side = side
    e.kind = kind
    e.venue = venue
    e.flags = flags


cdef int _merge(Event[::1] out, int32_t sid, int8_t venue,
                 const int64_t[::1] rte, const int64_t[::1] rtr, const int8_t[::1] rk, const int8_t[::1] rs,
                 const double[::1] rp, const double[::1] rq, const uint8_t[::1] rf,
                 const int64_t[::1] tte, const int64_t[::1] ttr, const int8_t[::1] tk, const int8_t[::1] ts,
                 const double[::1] tp, const double[::1] tq, const uint8_t[::1] tf,
                 const int64_t[::1] qte, const int64_t[::1] qtr, const int8_t[::1] qk, const int8_t[::1] qs,
                 const double[::1] qp, const double[::1] qq, const uint8_t[::1] qf,
                 const double[::1] ap, const double[::1] aq) except -1 nogil:
    cdef Py_ssize_t i = 0, j = 0, k = 0, o = 0
    cdef Py_ssize_t nr = rte.shape[0], nt = tte.shape[0], nq = qte.shape[0]
    cdef bint take_q, has_bulk
    cdef int64_t bte
    while i < nr or j < nt or k < nq:
        has_bulk = j < nt or k < nq
        take_q = k < nq and (j >= nt or _before(qte[k], qtr[k], tte[j], ttr[j]))
        if has_bulk:
            bte = qte[k] if take_q else tte[j]
        if i < nr and (not has_bulk or rte[i] <= bte):
            _put(&out[o], rte[i], rtr[i], rp[i], rq[i], rs[i], rk[i], rf[i], sid, venue)
            i += 1
            o += 1
        elif take_q:
            _put(&out[o], qte[k], qtr[k], qp[k], qq[k], qs[k], qk[k], qf[k], sid, venue)
            _put(&out[o + 1], qte[k], qtr[k], ap[k], aq[k], SIDE_SELL, qk[k], qf[k], sid, venue)
            k += 1
            o += 2
        else:
            _put(&out[o], tte[j], ttr[j], tp[j], tq[j], ts[j], tk[j], tf[j], sid, venue)
            j += 1
            o += 1
    return 0


def section_events(rare, trades, quotes, int sid, int venue):
    """The rows of a file's three sections (each a dict of columns ``ts_event_ns``, ``ts_recv_ns``, ``kind``,
    ``side``, ``price``, ``qty``, ``flags``, the quotes' also ``ask_price`` and ``ask_qty``; None: no rows)
    -> ``EVENT_DTYPE`` events of symbol id ``sid`` and venue code ``venue`` in the read's event order (the
    module's docstring), or None when the sections are not in the order that makes it a merge."""
    nr, r = _sec_columns(rare, False)
    nt, t = _sec_columns(trades, False)
    nq, q = _sec_columns(quotes, True)
    cdef const int64_t[::1] rte = r[0], rtr = r[1], tte = t[0], ttr = t[1], qte = q[0], qtr = q[1]
    cdef const int8_t[::1] rk = r[2], rs = r[3], tk = t[2], ts = t[3], qk = q[2], qs = q[3]
    cdef const double[::1] rp = r[4], rq = r[5], tp = t[4], tq = t[5], qp = q[4], qq = q[5], ap = q[7], aq = q[8]
    cdef const uint8_t[::1] rf = r[6], tf = t[6], qf = q[6]
    cdef bint ok
    with nogil:
        ok = (_rare_ok(rte, rk) and _all_kind(tk, KIND_TRADE) and _sorted2(tte, ttr)
              and _all_kind(qk, KIND_QUOTE) and _sorted2(qte, qtr) and _asks_whole(ap))
    if not ok:
        return None
    out = np.empty(nr + nt + 2 * nq, dtype=EVENT_DTYPE)
    cdef Event[::1] o = out
    cdef int32_t s = sid
    cdef int8_t v = venue
    if len(out):
        with nogil:
            _merge(o, s, v, rte, rtr, rk, rs, rp, rq, rf, tte, ttr, tk, ts, tp, tq, tf, qte, qtr, qk, qs, qp, qq, qf,
                   ap, aq)
    return out


#: moves per row past which :func:`sort_recv` gives up (the caller sorts the numpy way): bounds its work
_MOVES_PER_ROW = 16


cdef bint _insertion(Event *e, Py_ssize_t n, Py_ssize_t budget) noexcept nogil:
    """Stable insertion sort of the ``n`` rows at ``e`` by ``ts_recv``; False past ``budget`` moves (the rows
    placed so far sorted, the rest as they were)."""
    cdef Py_ssize_t i, j, moves = 0
    cdef Event tmp
    for i in range(1, n):
        if e[i].ts_recv >= e[i - 1].ts_recv:
            continue
        tmp = e[i]
        j = i
        while j > 0 and e[j - 1].ts_recv > tmp.ts_recv:
            e[j] = e[j - 1]
            j -= 1
        e[j] = tmp
        moves += i - j
        if moves > budget:
            return False
    return True


def sort_recv(events):
    """Sort ``EVENT_DTYPE`` events (one-dimensional, contiguous, writable) by ``ts_recv`` in place, stable, by
    moving the rows out of place (no copy of the rows, no gather): True when done; False when that would move
    the rows more than :data:`_MOVES_PER_ROW` places each on average (far from sorted): then the rows placed so
    far are in order and the rest as they were, and a stable sort of the whole (the caller's numpy sort) gives
    the order a stable sort of the input gives."""
    if events.dtype != EVENT_DTYPE or events.ndim != 1 or not events.flags.c_contiguous:
        raise ValueError("sections: sort_recv takes contiguous EVENT_DTYPE events")
    cdef Event[::1] o = events
    cdef Py_ssize_t n = o.shape[0]
    cdef bint done = True
    cdef Py_ssize_t budget = _MOVES_PER_ROW * n
    if n > 1:
        with nogil:
            done = _insertion(&o[0], n, budget)
    return done


cdef inline bint _keeps(int64_t e, int64_t r, int64_t lo, int64_t hi, bint has_start, int64_t start, bint has_end,
                        int64_t end, bint has_skew, int64_t skew, int64_t clock_min) noexcept nogil:
    """One row's test of :func:`bulk_keep` (event time ``e``, receive time ``r``)."""
    if not (lo <= r < hi):
        return False
    if has_start and e < start:
        return False
    if has_end and e >= end:
        return False
    return not (has_skew and r >= clock_min and <int64_t>(<uint64_t>e - <uint64_t>r) > skew)


def bulk_keep(const int64_t[::1] te, const int64_t[::1] tr, int64_t lo, int64_t hi, bint has_start, int64_t start,
              bint has_end, int64_t end, bint has_skew, int64_t skew, int64_t clock_min):
    """Which rows of a bulk row group (event times ``te``, receive times ``tr``, every row with one) a read keeps:
    ``lo <= tr < hi``, with ``has_start`` ``te >= start``, with ``has_end`` ``te < end``, with ``has_skew`` not
    ``tr >= clock_min and te - tr > skew`` (the difference modulo 2**64, as numpy's int64 arithmetic) ->
    ``(i0, i1, None)`` when the rows kept are exactly ``[i0, i1)`` (none: ``i0 == i1``), else ``(0, 0, mask)``
    (a bool array, True for each row kept)."""
    cdef Py_ssize_t n = te.shape[0], i, first = -1, last = -1, count = 0
    cdef bint k
    if tr.shape[0] != n:
        raise ValueError("sections: bulk_keep takes columns of one length")
    for i in range(n):
        k = _keeps(te[i], tr[i], lo, hi, has_start, start, has_end, end, has_skew, skew, clock_min)
        if k:
            if first < 0:
                first = i
            last = i
            count += 1
    if count == 0:
        return 0, 0, None
    if count == last - first + 1:
        return first, last + 1, None
    m = np.zeros(n, np.bool_)
    cdef uint8_t[::1] mv = m.view(np.uint8)
    for i in range(first, last + 1):
        k = _keeps(te[i], tr[i], lo, hi, has_start, start, has_end, end, has_skew, skew, clock_min)
        mv[i] = k
    return 0, 0, m


def step_scan(events):
    """One pass over ``EVENT_DTYPE`` events (one-dimensional, contiguous) -> ``(bad prints, bad funding rates,
    rare positions, prints, quotes, cheapest)``: the TRADE rows whose price is not a positive number and the
    FUNDING rows whose rate (price) is not a number (as :func:`liqcore.execution.events.bad_prints` counts them),
    the positions (int64, ascending) of the rows of any kind but TRADE, QUOTE and DEPTH, the TRADE rows and the
    QUOTE rows counted, and the position of the cheapest print -- ``np.argmin`` of price times size over the
    TRADE rows (every other row +inf): the first NaN product, else the first least one, else the first TRADE row;
    -1 for none -- as :func:`liqcore.backtest.stream.cheapest_trade` finds it.  The cheapest is of every TRADE
    row: where a print is bad the caller cleans the rows and looks again."""
    if events.dtype != EVENT_DTYPE or events.ndim != 1 or not events.flags.c_contiguous:
        raise ValueError("sections: step_scan takes contiguous EVENT_DTYPE events")
    cdef const Event[::1] e = events
    cdef Py_ssize_t n = e.shape[0], i, n_rare = 0, k_nan = -1, k_min = -1
    cdef int64_t bad_t = 0, bad_f = 0, n_tr = 0, n_q = 0
    cdef int8_t kd
    cdef double v, best = 0.0, px
    for i in range(n):
        kd = e[i].kind
        if kd == KIND_TRADE:
            n_tr += 1
            px = e[i].price
            if not (isfinite(px) and px > 0):
                bad_t += 1
            v = px * e[i].qty
            if isnan(v):
                if k_nan < 0:
                    k_nan = i
            elif k_min < 0 or v < best:
                best = v
                k_min = i
        elif kd == KIND_QUOTE:
            n_q += 1
        elif kd != KIND_DEPTH:
            n_rare += 1
            if kd == KIND_FUNDING and not isfinite(e[i].price):
                bad_f += 1
    rare = np.empty(n_rare, np.int64)
    cdef int64_t[::1] r = rare
    cdef Py_ssize_t j = 0
    if n_rare:
        for i in range(n):
            kd = e[i].kind
            if kd != KIND_TRADE and kd != KIND_QUOTE and kd != KIND_DEPTH:
                r[j] = i
                j += 1
    return bad_t, bad_f, rare, n_tr, n_q, (k_nan if k_nan >= 0 else k_min)


def last_rows(events):
    """The positions of the last print (a TRADE row whose price is a positive number), the last best bid (a QUOTE
    row of side BUY) and the last best ask (a QUOTE row of any other side) of ``EVENT_DTYPE`` events
    (one-dimensional, contiguous), -1 for none: one pass back from the end that stops once all three are found
    (the window plan's last print of a span passed over, :func:`liqcore.backtest.passage.settle_tail`, and the
    book in force, :func:`liqcore.backtest.passage.put_quotes`: numpy's masks over every row before)."""
    if events.dtype != EVENT_DTYPE or events.ndim != 1 or not events.flags.c_contiguous:
        raise ValueError("sections: last_rows takes contiguous EVENT_DTYPE events")
    cdef const Event[::1] e = events
    cdef Py_ssize_t i = e.shape[0] - 1, k_tr = -1, k_bid = -1, k_ask = -1
    cdef int8_t kd
    cdef double px
    while i >= 0 and (k_tr < 0 or k_bid < 0 or k_ask < 0):
        kd = e[i].kind
        if kd == KIND_TRADE:
            if k_tr < 0:
                px = e[i].price
                if isfinite(px) and px > 0:
                    k_tr = i
        elif kd == KIND_QUOTE:
            if e[i].side == SIDE_BUY:
                if k_bid < 0:
                    k_bid = i
            elif k_ask < 0:
                k_ask = i
        i -= 1
    return k_tr, k_bid, k_ask


def trade_delays(events, Py_ssize_t seen, Py_ssize_t stride, int est_flag):
    """The feed-latency note's sample of ``EVENT_DTYPE`` events (one-dimensional, contiguous): over the TRADE rows
    whose receive time was recorded (``flags & est_flag`` clear), their delays ``ts_recv - ts_event`` at the
    global positions 0, ``stride``, 2 x ``stride``... counted from ``seen`` rows before these; ``(delays (int64),
    the recorded TRADE rows, the TRADE rows with an estimated receive time)``
    (:meth:`liqcore.backtest.chunked._Delays.add` of the trades: a mask, a copy of the trades and a slice before)."""
    if events.dtype != EVENT_DTYPE or events.ndim != 1 or not events.flags.c_contiguous:
        raise ValueError("sections: trade_delays takes contiguous EVENT_DTYPE events")
    if stride < 1:
        raise ValueError("sections: trade_delays takes a stride of at least 1")
    cdef const Event[::1] e = events
    cdef Py_ssize_t n = e.shape[0], i, j = 0, m = 0, n_est = 0
    cdef Py_ssize_t first = (stride - seen % stride) % stride if seen > 0 else 0
    out = np.empty(n // stride + 1, np.int64)
    cdef int64_t[::1] o = out
    for i in range(n):
        if e[i].kind != KIND_TRADE:
            continue
        if e[i].flags & est_flag:
            n_est += 1
            continue
        if j >= first and (j - first) % stride == 0:
            o[m] = e[i].ts_recv - e[i].ts_event
            m += 1
        j += 1
    return out[:m].copy(), j, n_est


cdef inline bint _same_f(double a, double b) noexcept nogil:
    return a == b or (isnan(a) and isnan(b))


def same_rare(events, const int64_t[::1] pos, det, Py_ssize_t p0, Py_ssize_t p1):
    """Whether the rows ``pos`` of ``events`` are the rows ``[p0, p1)`` of ``det`` (both ``EVENT_DTYPE``,
    one-dimensional, contiguous), one for one: as many, each with the same event and receive times, kind and side,
    and the same price and size (equal numbers, or NaN in both: a gap's price) -- the window step's test of its
    rare rows against the detection pass's (:func:`liqcore.backtest.windows._step_rows`), without numpy's gather
    of the rows and a comparison per field."""
    for x in (events, det):
        if x.dtype != EVENT_DTYPE or x.ndim != 1 or not x.flags.c_contiguous:
            raise ValueError("sections: same_rare takes contiguous EVENT_DTYPE events")
    cdef const Event[::1] e = events
    cdef const Event[::1] d = det
    cdef Py_ssize_t n = pos.shape[0], k, i
    if p0 < 0 or p1 < p0 or p1 > d.shape[0]:
        raise ValueError("sections: same_rare's rows [p0, p1) outside the detection rows")
    if n != p1 - p0:
        return False
    for k in range(n):
        if pos[k] < 0 or pos[k] >= e.shape[0]:
            raise ValueError("sections: same_rare's position outside the events")
    for k in range(n):
        i = pos[k]
        if e[i].ts_event != d[p0 + k].ts_event or e[i].ts_recv != d[p0 + k].ts_recv or e[i].kind != d[p0 + k].kind \
                or e[i].side != d[p0 + k].side or not _same_f(e[i].price, d[p0 + k].price) \
                or not _same_f(e[i].qty, d[p0 + k].qty):
            return False
    return True


#: :func:`merge_events` gives way (None: the caller's numpy sort) past this many sorted runs in its pieces
MERGE_MAX_RUNS = 4096


cdef inline bint _ahead(const int64_t *key, const Py_ssize_t *rank, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    """Whether run ``a``'s next row comes before run ``b``'s: the earlier event time (``key``), the earlier run at a
    tie (``rank``: the run's number; a run with no row left ranks after every run, its key the largest), in one
    expression without a branch (the next row is as often one run's as another's: a branch would be mispredicted
    half the time)."""
    return (key[a] < key[b]) | ((key[a] == key[b]) & (rank[a] < rank[b]))


cdef void _merge_runs(Event **run, Py_ssize_t *left, Py_ssize_t p, Event *out, Py_ssize_t *tree,
                      Py_ssize_t *win, int64_t *key, Py_ssize_t *rank) noexcept nogil:
    """The rows of the runs (each sorted by event time; ``left[r]`` rows from ``run[r]`` on; ``p``, a power of two,
    runs, those past the last real one empty) into ``out`` in event-time order, a run's rows before a later run's
    at a tie, by a tournament of losers: ``tree[node]`` holds the run that lost the match at that node, so after
    the winner gives its next row only the matches on its way from its leaf to the root are played again (one
    comparison a level, not a heap's two), each without a branch."""
    cdef Py_ssize_t node, w, t, r, o = 0
    cdef bint b
    for r in range(p):
        win[p + r] = r
        if left[r] > 0:
            key[r], rank[r] = run[r][0].ts_event, r
        else:
            key[r], rank[r] = INT64_MAX, p + r
    node = p - 1
    while node >= 1:
        if _ahead(key, rank, win[2 * node], win[2 * node + 1]):
            win[node], tree[node] = win[2 * node], win[2 * node + 1]
        else:
            win[node], tree[node] = win[2 * node + 1], win[2 * node]
        node -= 1
    w = win[1]
    while left[w] > 0:
        out[o] = run[w][0]
        o += 1
        run[w] += 1
        left[w] -= 1
        if left[w] > 0:
            key[w] = run[w][0].ts_event
        else:
            key[w], rank[w] = INT64_MAX, p + w
        node = (p + w) >> 1
        while node >= 1:
            t = tree[node]
            b = _ahead(key, rank, t, w)
            tree[node] = w if b else t
            w = t if b else w
            node >>= 1


def merge_events(pieces):
    """The events of ``pieces`` (a list of one-dimensional ``EVENT_DTYPE`` arrays) end to end in event-time order,
    stable: ``np.concatenate(pieces)[np.argsort(ts_event, kind="stable")]``, in one pass and one new array.  Each
    piece is cut into its runs sorted by event time (a partition file's rows read are one or two), and the runs
    are merged by a tournament of their next rows, a run's rows before a later run's at equal times; None past
    :data:`MERGE_MAX_RUNS` runs (rows far from sorted: the caller's sort)."""
    cdef list arrs = []
    cdef Event[::1] v
    cdef Py_ssize_t n = 0, i, m, k = 0, j
    for a in pieces:
        if a.dtype != EVENT_DTYPE or a.ndim != 1:
            raise ValueError("sections: merge_events takes one-dimensional EVENT_DTYPE arrays")
        a = np.ascontiguousarray(a)
        if len(a):
            arrs.append(a)
            n += len(a)
    out = np.empty(n, EVENT_DTYPE)
    if not n:
        return out
    cdef list starts = []  # (piece, first row) of each run
    cdef Event *e
    for j in range(len(arrs)):
        v = arrs[j]
        m = v.shape[0]
        e = &v[0]
        starts.append((j, 0))
        with nogil:
            for i in range(1, m):
                if e[i].ts_event < e[i - 1].ts_event:
                    with gil:
                        starts.append((j, i))
                        if len(starts) > MERGE_MAX_RUNS:
                            return None
    k = len(starts)
    cdef Py_ssize_t p = 1
    while p < k:
        p *= 2
    runs = np.zeros(p, np.uintp)
    lefts = np.zeros(p, np.intp)  # (the runs past the k-th: empty)
    tree_a = np.zeros(p, np.intp)
    win_a = np.zeros(2 * p, np.intp)
    key_a = np.zeros(p, np.int64)
    rank_a = np.zeros(p, np.intp)
    cdef int64_t[::1] kv = key_a
    cdef Py_ssize_t[::1] rkv = rank_a
    cdef size_t[::1] rv = runs
    cdef Py_ssize_t[::1] lv = lefts
    cdef Py_ssize_t[::1] tv = tree_a
    cdef Py_ssize_t[::1] wv = win_a
    cdef Py_ssize_t r
    for r in range(k):
        j, i = starts[r]
        v = arrs[j]
        rv[r] = <size_t>&v[i]
        lv[r] = (starts[r + 1][1] if r + 1 < k and starts[r + 1][0] == j else v.shape[0]) - i
    cdef Event[::1] ov = out
    with nogil:
        _merge_runs(<Event **>&rv[0], &lv[0], p, &ov[0], &tv[0], &wv[0], &kv[0], &rkv[0])
    return out
