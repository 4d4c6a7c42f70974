# cython: language_level=3
"""Compiled matcher for the dominant liquidation frame shapes (the hot path of the codecs).

Accepts exactly the lines the anchored expressions of ``liqcore.venues.decoder`` accept (``_BYBIT_LIQ``,
``_BINANCE_LIQ`` and their recorder wrappers), compact as the venues send them:

    {"topic":"allLiquidation.SYM","type":"snapshot","ts":D{1,16},"data":[{"T":D{13},"s":"SYM","S":"Buy|Sell","v":"DEC","p":"DEC"}]}
        (live frames: up to 64 such items in "data", comma separated)
    {"e":"forceOrder","E":D{1,16},"o":{"s":"SYM","S":"BUY|SELL","o":"[A-Z_]{1,20}","f":"[A-Z]{1,5}","q":"DEC","p":"DEC","ap":"DEC","X":"[A-Z_]{1,20}","l":"DEC","z":"DEC","T":D{13}}}
    {"recv_ns":D{1,19},"venue":"bybit"|"binance","frame":<one of the above>}

D{a,b} = a JSON integer of a..b digits (no leading zero); SYM = [A-Z0-9]{1,40};
DEC = (0|[1-9][0-9]*)(.[0-9]+)? (at most 60 characters here); an optional
``\\r`` may end a line.  Values are converted as Python does (``int``, ``float`` via
``PyOS_string_to_double``).  A line that does not match, or whose values the checked path would reject
(time outside 2000..2100, price/qty not finite and > 0, receive time beyond int64), is left to the
JSON path; the pure-Python reference of this module is that path (property tests compare them).

``LiveScan`` (below) is the live decoder's whole fast path over more shapes (Binance combined stream,
Bybit legacy ``liquidation.``, OKX ``liquidation-orders`` too); its twin is ``pysrc/scan.py``.
``StreamKeys`` (last) is the silent-stream watch's per-frame stamp, twin ``pysrc.scan.StreamKeys``.

Why one module: the receive path's compiled byte matching (the scanners' character-class helpers, inlined by
the C compiler within one module) in one extension, built and loaded once.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcmp, memcpy

import numpy as np

from liqcore.types import EVENT_DTYPE

cdef extern from "Python.h":
    double PyOS_string_to_double(const char *s, char **endptr, object overflow_exception) except? -1.0

cdef int64_t MS_MIN = 946_684_800_000
cdef int64_t MS_MAX = 4_102_444_800_000
cdef uint64_t I64_MAX = 9223372036854775807ULL
cdef double INF = float("inf")

# parse state of one line
cdef struct Parsed:
    int venue
    int side
    int flags
    int64_t t_ms
    int64_t recv
    double price
    double qty
    Py_ssize_t sym_start
    Py_ssize_t sym_len


cdef inline bint lit(const char *s, Py_ssize_t n, Py_ssize_t *pos, const char *text, Py_ssize_t k) noexcept:
    if pos[0] + k > n or memcmp(s + pos[0], text, k) != 0:
        return False
    pos[0] += k
    return True


cdef inline bint digits(const char *s, Py_ssize_t n, Py_ssize_t *pos, int lo, int hi, uint64_t *out) noexcept:
    """lo..hi ASCII digits; value in out (no overflow for <= 19 digits)."""
    cdef Py_ssize_t i = pos[0]
    cdef int k = 0
    cdef uint64_t v = 0
    while i < n and k < hi and 48 <= s[i] <= 57:
        v = v * 10 + <uint64_t>(s[i] - 48)
        i += 1
        k += 1
    if k < lo or (i < n and 48 <= s[i] <= 57):
        return False
    if k > 1 and s[pos[0]] == 48:  # JSON integers have no leading zero
        return False
    pos[0] = i
    out[0] = v
    return True


cdef inline bint sym(const char *s, Py_ssize_t n, Py_ssize_t *pos, Py_ssize_t *start, Py_ssize_t *length) noexcept:
    """[A-Z0-9]{1,40} followed by a quote."""
    cdef Py_ssize_t i = pos[0]
    cdef int k = 0
    while i < n and k < 40 and ((65 <= s[i] <= 90) or (48 <= s[i] <= 57)):
        i += 1
        k += 1
    if k == 0 or i >= n or s[i] != 34:
        return False
    start[0] = pos[0]
    length[0] = k
    pos[0] = i
    return True


cdef inline bint word(const char *s, Py_ssize_t n, Py_ssize_t *pos, int hi, bint underscore) noexcept:
    """[A-Z_]{1,hi} (or [A-Z]{1,hi}) followed by a quote."""
    cdef Py_ssize_t i = pos[0]
    cdef int k = 0
    while i < n and k < hi and ((65 <= s[i] <= 90) or (underscore and s[i] == 95)):
        i += 1
        k += 1
    if k == 0 or i >= n or s[i] != 34:
        return False
    pos[0] = i
    return True


cdef inline bint dec(const char *s, Py_ssize_t n, Py_ssize_t *pos, double *out) noexcept:
    """DEC followed by a quote, converted like float(); False when longer than 60 characters."""
    cdef Py_ssize_t i = pos[0]
    cdef Py_ssize_t start = i
    cdef char buf[64]
    cdef char *end
    if i >= n or not (48 <= s[i] <= 57):
        return False
    if s[i] == 48:
        i += 1
    else:
        while i < n and 48 <= s[i] <= 57:
            i += 1
    if i < n and s[i] == 46:
        i += 1
        if i >= n or not (48 <= s[i] <= 57):
            return False
        while i < n and 48 <= s[i] <= 57:
            i += 1
    if i >= n or s[i] != 34 or i - start > 60:
        return False
    memcpy(buf, s + start, i - start)
    buf[i - start] = 0
    try:
        out[0] = PyOS_string_to_double(buf, &end, None)
    except Exception:  # pragma: no cover - the grammar above cannot produce an invalid number
        return False
    pos[0] = i
    return True


cdef enum:
    MAX_ITEMS = 64  # events per live allLiquidation frame taken by the compiled path


cdef int parse_bybit_items(const char *s, Py_ssize_t n, Py_ssize_t *pos, Parsed *items, int max_items) noexcept:
    """An allLiquidation frame with 1..max_items items: the number of items, 0 when it does not match."""
    cdef uint64_t v
    cdef Py_ssize_t a, b
    cdef int k = 0
    cdef Parsed *r
    if not lit(s, n, pos, b'{"topic":"allLiquidation.', 25):
        return 0
    if not sym(s, n, pos, &a, &b):
        return 0
    if not lit(s, n, pos, b'","type":"snapshot","ts":', 25):
        return 0
    if not digits(s, n, pos, 1, 16, &v):
        return 0
    if not lit(s, n, pos, b',"data":[', 9):
        return 0
    while True:
        if k >= max_items:
            return 0
        r = &items[k]
        if not lit(s, n, pos, b'{"T":', 5):
            return 0
        if not digits(s, n, pos, 13, 13, &v):
            return 0
        r.t_ms = <int64_t>v
        if not lit(s, n, pos, b',"s":"', 6):
            return 0
        if not sym(s, n, pos, &r.sym_start, &r.sym_len):
            return 0
        if lit(s, n, pos, b'","S":"Buy', 10):
            r.side = 1
        elif lit(s, n, pos, b'","S":"Sell', 11):
            r.side = 2
        else:
            return 0
        if not lit(s, n, pos, b'","v":"', 7):
            return 0
        if not dec(s, n, pos, &r.qty):
            return 0
        if not lit(s, n, pos, b'","p":"', 7):
            return 0
        if not dec(s, n, pos, &r.price):
            return 0
        if not lit(s, n, pos, b'"}', 2):
            return 0
        r.venue = 1
        r.flags = 0
        k += 1
        if lit(s, n, pos, b',', 1):
            continue
        if lit(s, n, pos, b']}', 2):
            return k
        return 0


cdef bint parse_bybit(const char *s, Py_ssize_t n, Py_ssize_t *pos, Parsed *r) noexcept:
    return parse_bybit_items(s, n, pos, r, 1) == 1


cdef bint parse_binance(const char *s, Py_ssize_t n, Py_ssize_t *pos, Parsed *r) noexcept:
    cdef uint64_t v
    cdef double x
    if not lit(s, n, pos, b'{"e":"forceOrder","E":', 22):
        return False
    if not digits(s, n, pos, 1, 16, &v):
        return False
    if not lit(s, n, pos, b',"o":{"s":"', 11):
        return False
    if not sym(s, n, pos, &r.sym_start, &r.sym_len):
        return False
    if lit(s, n, pos, b'","S":"BUY', 10):
        r.side = 2
    elif lit(s, n, pos, b'","S":"SELL', 11):
        r.side = 1
    else:
        return False
    if not lit(s, n, pos, b'","o":"', 7) or not word(s, n, pos, 20, True):
        return False
    if not lit(s, n, pos, b'","f":"', 7) or not word(s, n, pos, 5, False):
        return False
    if not lit(s, n, pos, b'","q":"', 7) or not dec(s, n, pos, &x):
        return False
    if not lit(s, n, pos, b'","p":"', 7) or not dec(s, n, pos, &x):
        return False
    if not lit(s, n, pos, b'","ap":"', 8) or not dec(s, n, pos, &r.price):
        return False
    if not lit(s, n, pos, b'","X":"', 7) or not word(s, n, pos, 20, True):
        return False
    if not lit(s, n, pos, b'","l":"', 7) or not dec(s, n, pos, &x):
        return False
    if not lit(s, n, pos, b'","z":"', 7) or not dec(s, n, pos, &r.qty):
        return False
    if not lit(s, n, pos, b'","T":', 6):
        return False
    if not digits(s, n, pos, 13, 13, &v):
        return False
    r.t_ms = <int64_t>v
    if not lit(s, n, pos, b'}}', 2):
        return False
    r.venue = 2
    r.flags = 8
    return True


cdef bint parse_line(const char *s, Py_ssize_t n, bint raw_ok, bint rec_ok, Parsed *r) noexcept:
    """One whole line s[0:n] (without its newline).  True when it matches and its values pass."""
    cdef Py_ssize_t pos = 0
    cdef uint64_t v
    cdef bint ok
    r.recv = -1
    if n and s[n - 1] == 13:  # a trailing \r
        n -= 1
    if n < 3:
        return False
    if s[2] == 114:  # {"r...: a recorder line
        if not rec_ok:
            return False
        if not lit(s, n, &pos, b'{"recv_ns":', 11) or not digits(s, n, &pos, 1, 19, &v) or v > I64_MAX:
            return False
        r.recv = <int64_t>v
        if lit(s, n, &pos, b',"venue":"bybit","frame":', 25):
            ok = parse_bybit(s, n, &pos, r)
        elif lit(s, n, &pos, b',"venue":"binance","frame":', 27):
            ok = parse_binance(s, n, &pos, r)
        else:
            return False
        if not ok or not lit(s, n, &pos, b'}', 1):
            return False
    else:
        if not raw_ok:
            return False
        if s[2] == 116:  # {"t...
            ok = parse_bybit(s, n, &pos, r)
        elif s[2] == 101:  # {"e...
            ok = parse_binance(s, n, &pos, r)
        else:
            return False
        if not ok:
            return False
    if pos != n:
        return False
    return (MS_MIN <= r.t_ms <= MS_MAX and 0.0 < r.price < INF and 0.0 < r.qty < INF)


cdef object symbol_id(dict ids, object sid_of, int venue, const char *s, Parsed *r):
    cdef bytes name = PyBytes_FromStringAndSize(s + r.sym_start, r.sym_len)
    key = (venue, name)
    sid = ids.get(key)
    if sid is None:
        sid = sid_of(venue, name.decode())
        ids[key] = sid
    return sid


cdef inline bint values_ok(Parsed *r) noexcept:
    return MS_MIN <= r.t_ms <= MS_MAX and 0.0 < r.price < INF and 0.0 < r.qty < INF


def match_frame(bytes frame, int venue, dict ids, object sid_of, int64_t recv_ns):
    """One live frame of ``venue`` (1 Bybit, 2 Binance, 0 either) -> the event row tuple
    ``(ts_event, ts_recv, price, qty, symbol_id, side, kind, venue, flags)``, a list of such rows
    (a Bybit allLiquidation frame with several events, up to 64), or None for the JSON path.
    ``ids``: the decoder's (venue, symbol bytes) -> id cache; ``sid_of(venue, name)`` assigns new
    ids."""
    cdef Parsed items[MAX_ITEMS]
    cdef Parsed r
    cdef const char *s = PyBytes_AS_STRING(frame)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(frame)
    cdef Py_ssize_t pos = 0
    cdef int k, i
    if n and s[n - 1] == 13:
        n -= 1
    if n >= 3 and s[2] == 116 and venue != 2:  # {"t...: Bybit, one or more items
        k = parse_bybit_items(s, n, &pos, items, MAX_ITEMS)
        if k == 0 or pos != n:
            return None
        for i in range(k):
            if not values_ok(&items[i]):
                return None
        if k == 1:
            sid = symbol_id(ids, sid_of, 1, s, &items[0])
            return (items[0].t_ms * 1_000_000, recv_ns, items[0].price, items[0].qty, sid, items[0].side, 1, 1, 0)
        rows = []
        for i in range(k):
            sid = symbol_id(ids, sid_of, 1, s, &items[i])
            rows.append((items[i].t_ms * 1_000_000, recv_ns, items[i].price, items[i].qty, sid, items[i].side, 1, 1, 0))
        return rows
    if venue == 1 or not parse_line(s, n, True, False, &r) or (venue and r.venue != venue):
        return None
    sid = symbol_id(ids, sid_of, r.venue, s, &r)
    return (r.t_ms * 1_000_000, recv_ns, r.price, r.qty, sid, r.side, 1, r.venue, r.flags)


def scan_lines(bytes data, bint raw_ok, bint rec_ok, dict ids, object sid_of):
    """Every line of ``data``: matching lines become events; the others are listed for the JSON path.

    Returns ``(events, others)``: ``events`` an EVENT_DTYPE array of the matching lines in order
    (``ts_recv = -1`` where the line carried none), ``others`` a list of ``(n_events_before,
    line_index, line_bytes)`` for every non-empty line that did not match, in order.
    """
    cdef const char *s = PyBytes_AS_STRING(data)
    cdef Py_ssize_t size = PyBytes_GET_SIZE(data)
    cdef Py_ssize_t start = 0, end, cap, k = 0, line = 0
    cdef Parsed r
    # the columns as plain pointers into the arrays made here (k < cap: one row at most per line); no typed
    # memoryview in this module, so it compiles without Cython's memoryview machinery (most of its build time)
    cdef int64_t *ts
    cdef int64_t *recv
    cdef double *price
    cdef double *qty
    cdef int *sid
    cdef signed char *side
    cdef signed char *venue
    cdef unsigned char *flags
    cdef const char *p
    others = []
    cap = data.count(b"\n") + 1
    ts_a = np.empty(cap, np.int64)
    recv_a = np.empty(cap, np.int64)
    price_a = np.empty(cap, np.float64)
    qty_a = np.empty(cap, np.float64)
    sid_a = np.empty(cap, np.intc)
    side_a = np.empty(cap, np.int8)
    venue_a = np.empty(cap, np.int8)
    flags_a = np.empty(cap, np.uint8)
    ts = <int64_t*>cnp.PyArray_DATA(ts_a)
    recv = <int64_t*>cnp.PyArray_DATA(recv_a)
    price = <double*>cnp.PyArray_DATA(price_a)
    qty = <double*>cnp.PyArray_DATA(qty_a)
    sid = <int*>cnp.PyArray_DATA(sid_a)
    side = <signed char*>cnp.PyArray_DATA(side_a)
    venue = <signed char*>cnp.PyArray_DATA(venue_a)
    flags = <unsigned char*>cnp.PyArray_DATA(flags_a)
    while start < size:
        p = s + start
        end = start
        while end < size and s[end] != 10:
            end += 1
        if end > start:
            if parse_line(p, end - start, raw_ok, rec_ok, &r):
                ts[k] = r.t_ms * 1_000_000
                recv[k] = r.recv
                price[k] = r.price
                qty[k] = r.qty
                sid[k] = symbol_id(ids, sid_of, r.venue, p, &r)
                side[k] = r.side
                venue[k] = r.venue
                flags[k] = r.flags
                k += 1
            else:
                others.append((k, line, data[start:end]))
        start = end + 1
        line += 1
    out = np.empty(k, dtype=EVENT_DTYPE)
    out["ts_event"] = ts_a[:k]
    out["ts_recv"] = recv_a[:k]
    out["price"] = price_a[:k]
    out["qty"] = qty_a[:k]
    out["symbol_id"] = sid_a[:k]
    out["side"] = side_a[:k]
    out["kind"] = 1
    out["venue"] = venue_a[:k]
    out["flags"] = flags_a[:k]
    return out, others


# ------------------------------------------------------------------------------------------------
# The live decoder's whole fast path: match + symbol id + clock guard + duplicate suppression + the
# rows or the EVENT_DTYPE array, for the compact single-connection shapes:
#
#   Bybit allLiquidation (1..64 items, as above), Binance forceOrder (as above), and
#   {"stream":"NAME","data":<Binance forceOrder>}                      (Binance combined stream)
#   {"topic":"liquidation.SYM","type":"snapshot","ts":D{1,16},"data":{"updatedTime":D{13},"symbol":"SYM",
#    "side":"Buy|Sell","size":"DEC","price":"DEC"}}                    (Bybit legacy, flags SAMPLED)
#   {"arg":{"channel":"liquidation-orders","instType":"STR"},"data":[{"details":[{"bkLoss":"STR",
#    "bkPx":"DEC","ccy":"STR","posSide":"STR","side":"buy|sell","sz":"DEC","ts":"D{13}"}],
#    "instFamily":"STR","instId":"INST","instType":"STR","uly":"STR"}]}  (OKX, one detail, flags SAMPLED)
#
# NAME, STR = printable ASCII without '"' or '\\' (NAME 1..100, STR 0..64 characters); INST =
# [A-Z0-9-]{1,40}.  Anything else (other key order, spacing, escapes, non-ASCII, other sides, several
# OKX details, values the checked parser would reject, an OKX instId without ctVal) returns None and
# the caller takes the checked JSON path, so results are identical (tests/test_scan_live.py).

from cpython.bytes cimport PyBytes_FromStringAndSize as _bfs
from cpython.unicode cimport PyUnicode_DecodeASCII
from cpython.ref cimport Py_DECREF, Py_INCREF, PyObject, PyTypeObject
from libc.string cimport memset
cimport numpy as cnp

cnp.import_array()

cdef extern from "numpy/arrayobject.h":
    ctypedef struct _Descr "PyArray_Descr"
    # steals a reference to descr
    object _new_from_descr "PyArray_NewFromDescr" (PyTypeObject *subtype, _Descr *descr, int nd,
                                                   cnp.npy_intp *dims, cnp.npy_intp *strides, void *data, int flags,
                                                   PyObject *obj)
    ctypedef struct PyArrayObject_fields:
        void *descr
    void PyArray_UpdateFlags(cnp.ndarray arr, int flagmask)
    int NPY_ARRAY_ALIGNED

cdef int64_t RECV_CLOCK_MIN = 946_684_800_000_000_000


cdef inline bint plain(const char *s, Py_ssize_t n, Py_ssize_t *pos, int lo, int hi) noexcept:
    """A JSON string body of lo..hi printable ASCII characters, no quote or backslash, then a quote."""
    cdef Py_ssize_t i = pos[0]
    cdef int k = 0
    while i < n and k <= hi and 32 <= s[i] <= 126 and s[i] != 34 and s[i] != 92:
        i += 1
        k += 1
    if k < lo or k > hi or i >= n or s[i] != 34:
        return False
    pos[0] = i
    return True


cdef inline bint inst(const char *s, Py_ssize_t n, Py_ssize_t *pos, Py_ssize_t *start, Py_ssize_t *length) noexcept:
    """[A-Z0-9-]{1,40} followed by a quote."""
    cdef Py_ssize_t i = pos[0]
    cdef int k = 0
    while i < n and k < 40 and ((65 <= s[i] <= 90) or (48 <= s[i] <= 57) or s[i] == 45):
        i += 1
        k += 1
    if k == 0 or i >= n or s[i] != 34:
        return False
    start[0] = pos[0]
    length[0] = k
    pos[0] = i
    return True


cdef bint parse_bybit_legacy(const char *s, Py_ssize_t n, Py_ssize_t *pos, Parsed *r) noexcept:
    cdef uint64_t v
    cdef Py_ssize_t a, b
    if not lit(s, n, pos, b'{"topic":"liquidation.', 22) or not sym(s, n, pos, &a, &b):
        return False
    if not lit(s, n, pos, b'","type":"snapshot","ts":', 25) or not digits(s, n, pos, 1, 16, &v):
        return False
    if not lit(s, n, pos, b',"data":{"updatedTime":', 23) or not digits(s, n, pos, 13, 13, &v):
        return False
    r.t_ms = <int64_t>v
    if not lit(s, n, pos, b',"symbol":"', 11) or not sym(s, n, pos, &r.sym_start, &r.sym_len):
        return False
    if lit(s, n, pos, b'","side":"Buy', 13):
        r.side = 1
    elif lit(s, n, pos, b'","side":"Sell', 14):
        r.side = 2
    else:
        return False
    if not lit(s, n, pos, b'","size":"', 10) or not dec(s, n, pos, &r.qty):
        return False
    if not lit(s, n, pos, b'","price":"', 11) or not dec(s, n, pos, &r.price):
        return False
    if not lit(s, n, pos, b'"}}', 3):
        return False
    r.venue = 1
    r.flags = 8
    return True


cdef bint parse_okx(const char *s, Py_ssize_t n, Py_ssize_t *pos, Parsed *r) noexcept:
    cdef uint64_t v
    if not lit(s, n, pos, b'{"arg":{"channel":"liquidation-orders","instType":"', 51) or not plain(s, n, pos, 0, 64):
        return False
    if not lit(s, n, pos, b'"},"data":[{"details":[{"bkLoss":"', 34) or not plain(s, n, pos, 0, 64):
        return False
    if not lit(s, n, pos, b'","bkPx":"', 10) or not dec(s, n, pos, &r.price):
        return False
    if not lit(s, n, pos, b'","ccy":"', 9) or not plain(s, n, pos, 0, 64):
        return False
    if not lit(s, n, pos, b'","posSide":"', 13) or not plain(s, n, pos, 0, 64):
        return False
    if lit(s, n, pos, b'","side":"sell', 14):
        r.side = 1
    elif lit(s, n, pos, b'","side":"buy', 13):
        r.side = 2
    else:
        return False
    if not lit(s, n, pos, b'","sz":"', 8) or not dec(s, n, pos, &r.qty):
        return False
    if not lit(s, n, pos, b'","ts":"', 8) or not digits(s, n, pos, 13, 13, &v):
        return False
    r.t_ms = <int64_t>v
    if not lit(s, n, pos, b'"}],"instFamily":"', 18) or not plain(s, n, pos, 0, 64):
        return False
    if not lit(s, n, pos, b'","instId":"', 12) or not inst(s, n, pos, &r.sym_start, &r.sym_len):
        return False
    if not lit(s, n, pos, b'","instType":"', 14) or not plain(s, n, pos, 0, 64):
        return False
    if not lit(s, n, pos, b'","uly":"', 9) or not plain(s, n, pos, 0, 64):
        return False
    if not lit(s, n, pos, b'"}]}', 4):
        return False
    r.venue = 3
    r.flags = 8
    return True


cdef packed struct EventRow:
    int64_t ts_event
    int64_t ts_recv
    double price
    double qty
    int symbol_id
    signed char side
    signed char kind
    signed char venue
    unsigned char flags


cdef class LiveScan:
    """The live decoder's compiled fast path over the decoder's own state (symbol-id cache, counters,
    the liquidation duplicate memory, the OKX ctVal table).  ``rows(frame, recv_ns)`` / ``array(frame,
    recv_ns)``: None when the frame is not one of the shapes above (the caller takes the checked path,
    which counts it); otherwise the frame is counted (frames, accepted/rejected, future_time, duplicate,
    events) exactly as the checked path would and its surviving events are returned (a list of row
    tuples, or a new writable EVENT_DTYPE array)."""
    cdef dict ids, counters, instruments
    cdef object sid_of, ring_append, ring_popleft, ring
    cdef set seen
    cdef public Py_ssize_t horizon
    cdef public int64_t skew
    cdef int venue
    cdef cnp.dtype descr, raw
    cdef object py_feed, py_feed_rows, checked_rows, to_array

    def __init__(self, int venue, dict ids, sid_of, dict counters, set seen, ring, Py_ssize_t horizon, int64_t skew,
                 dict instruments):
        self.venue = venue  # 0 any, 1 Bybit, 2 Binance, 3 OKX
        self.ids = ids
        self.sid_of = sid_of
        self.counters = counters
        self.seen = seen
        self.ring = ring
        self.ring_append = ring.append
        self.ring_popleft = ring.popleft
        self.horizon = horizon
        self.skew = skew
        self.instruments = instruments
        self.descr = np.dtype(EVENT_DTYPE)
        self.raw = np.dtype("V%d" % self.descr.itemsize)
        assert self.descr.itemsize == sizeof(EventRow) and self.descr.alignment <= 16
        self.py_feed = self.py_feed_rows = self.checked_rows = self.to_array = None

    def set_fallbacks(self, py_feed, py_feed_rows, checked_rows, to_array):
        """The decoder's Python methods :meth:`feed` / :meth:`feed_rows` take frames whose type or receive
        time is not the plain (bytes, int) case; ``checked_rows(frame, recv_ns)`` decodes a frame that is
        not a fast shape; ``to_array(rows)`` turns its rows into the array :meth:`feed` returns."""
        self.py_feed, self.py_feed_rows, self.checked_rows, self.to_array = py_feed, py_feed_rows, checked_rows, to_array

    def feed(self, frame, recv_ns):
        """``Decoder.feed`` for a decoder built with the extension."""
        cdef int64_t r
        if type(frame) is bytes and type(recv_ns) is int and 0 <= recv_ns <= 9223372036854775807:
            r = recv_ns
            arr = self.array(frame, r)
            if arr is not None:
                return arr
            return self.to_array(self.checked_rows(frame, recv_ns))
        return self.py_feed(frame, recv_ns)

    def feed_rows(self, frame, recv_ns):
        """``Decoder.feed_rows`` for a decoder built with the extension."""
        cdef int64_t r
        if type(frame) is bytes and type(recv_ns) is int and -1 <= recv_ns <= 9223372036854775807:
            r = recv_ns
            rows = self.rows(frame, r)
            if rows is not None:
                return rows
            return self.checked_rows(frame, recv_ns)
        return self.py_feed_rows(frame, recv_ns)

    cdef int parse(self, const char *s, Py_ssize_t n, Parsed *items) noexcept:
        """Number of events of the frame s[0:n] (0: not a fast shape)."""
        cdef Py_ssize_t pos = 0
        cdef int k = 0, i
        cdef int venue = self.venue
        cdef char c
        if n and s[n - 1] == 13:
            n -= 1
        if n < 12:
            return 0
        c = s[2]
        if c == 116 and (venue == 0 or venue == 1):  # {"topic":"
            if s[10] == 97:  # allLiquidation
                k = parse_bybit_items(s, n, &pos, items, MAX_ITEMS)
            elif parse_bybit_legacy(s, n, &pos, items):
                k = 1
        elif c == 101 and (venue == 0 or venue == 2):  # {"e":"forceOrder"
            if parse_binance(s, n, &pos, items):
                k = 1
        elif c == 115 and (venue == 0 or venue == 2):  # {"stream":"NAME","data":{forceOrder}}
            if (lit(s, n, &pos, b'{"stream":"', 11) and plain(s, n, &pos, 1, 100) and lit(s, n, &pos, b'","data":', 9)
                    and parse_binance(s, n, &pos, items) and lit(s, n, &pos, b'}', 1)):
                k = 1
        elif c == 97 and (venue == 0 or venue == 3):  # {"arg":
            if parse_okx(s, n, &pos, items):
                k = 1
        if k == 0 or pos != n:
            return 0
        for i in range(k):
            if not values_ok(&items[i]):
                return 0
        return k

    cdef object sid(self, const char *s, Parsed *r):
        cdef bytes name = _bfs(s + r.sym_start, r.sym_len)
        key = (r.venue, name)
        sid = self.ids.get(key)
        if sid is None:
            sid = self.sid_of(r.venue, name.decode())
            self.ids[key] = sid
        return sid

    cdef int prepare(self, bytes frame, int64_t recv_ns, Parsed *items, list sids) except -2:
        """Parse, resolve symbol ids (and OKX ctVal), count the frame and apply the clock guard and the
        duplicate memory.  Returns the number of items (-1: not a fast shape, nothing counted); the
        surviving items have their sid appended to ``sids``, the others None."""
        cdef const char *s = PyBytes_AS_STRING(frame)
        cdef int k = self.parse(s, PyBytes_GET_SIZE(frame), items)
        cdef int i, kept = 0, future = 0, dup = 0
        cdef Parsed *r
        cdef dict c = self.counters
        cdef double ct
        if k == 0:
            return -1
        if items[0].venue == 3:  # OKX: contracts x ctVal of the instrument (unknown: the checked path rejects)
            ctv = self.instruments.get(PyUnicode_DecodeASCII(s + items[0].sym_start, items[0].sym_len, NULL))
            if ctv is None:
                return -1
            ct = ctv
            items[0].qty = items[0].qty * ct
        for i in range(k):
            try:
                sids.append(self.sid(s, &items[i]))
            except Exception:  # a name the registry refuses: the checked path names the reason
                return -1
        c["frames"] += 1
        for i in range(k):
            r = &items[i]
            if r.t_ms * 1_000_000 - recv_ns > self.skew and recv_ns >= RECV_CLOCK_MIN:
                sids[i] = None
                future += 1
        if future:
            c["future_time"] += future
            if future == k:
                c["rejected_frames"] += 1
                return k
        c["accepted_frames"] += 1
        for i in range(k):
            if sids[i] is None:
                continue
            r = &items[i]
            if self.horizon:
                key = (r.t_ms * 1_000_000, sids[i], r.side, r.price, r.qty)
                if key in self.seen:
                    dup += 1
                    sids[i] = None
                    continue
                self.seen.add(key)
                self.ring_append(key)
                if len(self.ring) > self.horizon:
                    self.seen.discard(self.ring_popleft())
            kept += 1
        if dup:
            c["duplicate"] += dup
        if kept:
            c["events"] += kept
        return k

    def rows(self, bytes frame, int64_t recv_ns):
        cdef Parsed items[MAX_ITEMS]
        cdef list sids = []
        cdef int k = self.prepare(frame, recv_ns, items, sids), i
        if k < 0:
            return None
        out = []
        for i in range(k):
            sid = sids[i]
            if sid is not None:
                out.append((items[i].t_ms * 1_000_000, recv_ns, items[i].price, items[i].qty, sid, items[i].side, 1,
                            items[i].venue, items[i].flags))
        return out

    def array(self, bytes frame, int64_t recv_ns):
        cdef Parsed items[MAX_ITEMS]
        cdef list sids = []
        cdef int k = self.prepare(frame, recv_ns, items, sids), i, m = 0
        cdef cnp.npy_intp dims[1]
        cdef EventRow *row
        if k < 0:
            return None
        for i in range(k):
            if sids[i] is not None:
                m += 1
        dims[0] = m
        # numpy creates an array of a structured dtype several times slower than one of the plain
        # 40-byte void dtype of the same size: create it as that, then give it EVENT_DTYPE (same bytes)
        Py_INCREF(self.raw)  # PyArray_NewFromDescr steals a reference
        arr = _new_from_descr(<PyTypeObject *>cnp.ndarray, <_Descr *><PyObject *>self.raw, 1, dims, NULL, NULL, 0, NULL)
        Py_INCREF(self.descr)
        (<PyArrayObject_fields *><PyObject *>arr).descr = <void *><PyObject *>self.descr
        Py_DECREF(self.raw)
        PyArray_UpdateFlags(<cnp.ndarray>arr, NPY_ARRAY_ALIGNED)
        row = <EventRow *>cnp.PyArray_DATA(<cnp.ndarray>arr)
        for i in range(k):
            sid = sids[i]
            if sid is not None:
                row.ts_event = items[i].t_ms * 1_000_000
                row.ts_recv = recv_ns
                row.price = items[i].price
                row.qty = items[i].qty
                row.symbol_id = <int>sid
                row.side = <signed char>items[i].side
                row.kind = 1
                row.venue = <signed char>items[i].venue
                row.flags = <unsigned char>items[i].flags
                row += 1
        return arr


# ---------------------------------------------------------------------------- the silent-stream watch's stamp
cdef inline Py_ssize_t _index(Py_ssize_t n, Py_ssize_t i) noexcept:
    """An index ``i`` into a sequence of ``n`` as Python's slices and finds take it: negative from the end,
    clamped to ``[0, n]``."""
    if i < 0:
        i += n
        if i < 0:
            return 0
    elif i > n:
        return n
    return i


cdef inline Py_ssize_t _pyfind(const char *s, Py_ssize_t n, const char *sub, Py_ssize_t m, Py_ssize_t start,
                               Py_ssize_t end) noexcept:
    """``bytes.find(sub, start, end)`` (Python's index rules: negative from the end, clamped)."""
    end = _index(n, end)
    cdef Py_ssize_t i = _index(n, start)
    while i + m <= end:
        if s[i] == sub[0] and memcmp(s + i, sub, m) == 0:
            return i
        i += 1
    return -1


cdef inline void _slice(Py_ssize_t n, Py_ssize_t a, Py_ssize_t b, Py_ssize_t *lo, Py_ssize_t *hi) noexcept:
    """``[a:b]`` of a sequence of ``n`` as Python cuts it: ``[lo, hi)``."""
    a = _index(n, a)
    b = _index(n, b)
    if b < a:
        b = a
    lo[0] = a
    hi[0] = b


cdef inline uint64_t _fnv(const char *s, Py_ssize_t a, Py_ssize_t b, uint64_t h) noexcept:
    cdef Py_ssize_t i
    for i in range(a, b):
        h = (h ^ <unsigned char>s[i]) * 1099511628211ULL
    return h


cdef inline bint _same(object k, const char *s, Py_ssize_t a, Py_ssize_t b) noexcept:
    return PyBytes_GET_SIZE(k) == b - a and memcmp(PyBytes_AS_STRING(k), s + a, b - a) == 0


#: keys kept for reuse at most (beyond it a new stream's key is made at each of its frames, as before)
cdef Py_ssize_t _MAX_KEYS = 65536


cdef class StreamKeys:
    """The silent-stream watch's per-frame stamp (``liqcore.live.silence.watch_handler``) in one call:
    ``stamp(payload, recv_ns)`` stores ``recv_ns`` in ``last`` under the frame's stream key, the key
    ``liqcore.live.silence.frame_key(venue, payload)`` gives (None: nothing stored), its finds and slices
    made as Python makes them.  A stream's key object is made at its first frame and reused after (the
    frame's bytes compared in place), so a frame of a known stream allocates nothing but its stamp.
    Twin: ``pysrc.scan.StreamKeys``."""
    cdef readonly dict last
    cdef readonly str venue
    cdef int v
    cdef dict keys

    def __init__(self, str venue, dict last):
        codes = {"bybit": 1, "binance": 2, "okx": 3}
        if venue not in codes:
            raise ValueError(f"venue: expected bybit, binance or okx; got {venue!r}")
        self.venue, self.v, self.last, self.keys = venue, codes[venue], last, {}

    cdef object _key1(self, const char *s, Py_ssize_t a, Py_ssize_t b):
        cdef uint64_t h = _fnv(s, a, b, 14695981039346656037ULL) >> 1
        k = self.keys.get(h)
        if k is not None and type(k) is bytes and _same(k, s, a, b):
            return k
        k = PyBytes_FromStringAndSize(s + a, b - a)
        if len(self.keys) < _MAX_KEYS:
            self.keys[h] = k
        return k

    cdef object _key2(self, const char *s, Py_ssize_t a, Py_ssize_t b, Py_ssize_t c, Py_ssize_t d):
        cdef uint64_t h = _fnv(s, a, b, 14695981039346656037ULL)
        h = _fnv(s, c, d, (h ^ <uint64_t>(b - a + 256)) * 1099511628211ULL) >> 1
        k = self.keys.get(h)
        if k is not None and type(k) is tuple and _same((<tuple>k)[0], s, a, b) and _same((<tuple>k)[1], s, c, d):
            return k
        k = (PyBytes_FromStringAndSize(s + a, b - a), PyBytes_FromStringAndSize(s + c, d - c))
        if len(self.keys) < _MAX_KEYS:
            self.keys[h] = k
        return k

    cdef bint _stamp1(self, const char *s, Py_ssize_t n, const char *head, Py_ssize_t m, const char *stop,
                      Py_ssize_t within, Py_ssize_t keep, recv_ns) except -1:
        """The stamp of a frame whose key is one run: a frame that starts with ``head`` (``m`` bytes) is keyed
        by ``payload[m:payload.find(stop, m, within) + keep]`` (Bybit's topic, Binance's combined stream name,
        OKX's ``arg`` object with its closing brace) and stamped: True; another frame: False, nothing stored."""
        cdef Py_ssize_t a, b
        if n < m or memcmp(s, head, m) != 0:
            return False
        _slice(n, m, _pyfind(s, n, stop, 1, m, within) + keep, &a, &b)
        self.last[self._key1(s, a, b)] = recv_ns
        return True

    def stamp(self, bytes payload, recv_ns):
        cdef const char *s = PyBytes_AS_STRING(payload)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef Py_ssize_t e, j, k, a, b, c, d
        if self.v == 1:
            self._stamp1(s, n, b'{"topic":"', 10, b'"', 96, 0, recv_ns)
        elif self.v == 2:
            # the combined stream's name; else a raw stream's event type and symbol
            if not self._stamp1(s, n, b'{"stream":"', 11, b'"', 96, 0, recv_ns) and n >= 6 \
                    and memcmp(s, b'{"e":"', 6) == 0:
                j = _pyfind(s, n, b'"', 1, 6, 40)
                k = _pyfind(s, n, b'"s":"', 5, j, n)
                if k > 0:
                    e = _pyfind(s, n, b'"', 1, k + 5, n)
                    _slice(n, 6, j, &a, &b)
                    _slice(n, k + 5, e, &c, &d)
                    self.last[self._key2(s, a, b, c, d)] = recv_ns
        else:
            self._stamp1(s, n, b'{"arg":', 7, b"}", 160, 1, recv_ns)
