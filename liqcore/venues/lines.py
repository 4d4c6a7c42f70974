"""The line decoder of the bulk loader (:class:`LineDecoder`: the line formats of recordings, archives and logs)
and the depth rows of a decoded depth message (:func:`depth_rows`).  Every parsing rule is the streaming decoder's
(:mod:`liqcore.venues.decoder`; property tests compare them): this module takes them from there.

May import: numpy, orjson, ``types`` and ``venues`` (the codecs, ``common``, ``depthsync``, ``decoder``).
"""
from __future__ import annotations

import re
from operator import add as _add

import numpy as np

from liqcore.types import EVENT_DTYPE, VENUE_NAME_BY_CODE, Kind, Venue
from liqcore.venues.common import _MS_MAX, _MS_MIN, CONTROL, RECV_UNKNOWN, Reject, Sink, note_unknown_venue
from liqcore.venues.depthsync import is_depth_frame
from liqcore.venues.registry import part_cache, part_function
from liqcore.venues.decoder import (_BINANCE_LIQ, _BYBIT_LIQ, _FAST_BINANCE, _FAST_BYBIT, _FAST_REC_BINANCE,  # noqa: F401
                                    _FAST_REC_BYBIT, _I64_MAX, _INF, _SCAN, PARSERS, _auto, _is_control_text,
                                    _JSONError, _loads, _CheckedOnly, fast_sid)

__all__ = ["LineDecoder", "depth_rows"]


def _unnamed(pattern: bytes) -> bytes:
    return re.sub(rb"\(\?P<[A-Za-z0-9_]+>", b"(", pattern)


_REC = rb'\{"recv_ns":(0|[1-9][0-9]{0,18}),"venue":"%s","frame":'
# alternatives of the block matcher: (venue, has recv group, regex); groups per alternative:
# Bybit: [recv] T s S v p ; Binance: [recv] s S ap z T
_ALTS = {
    "by": (1, False, _unnamed(_BYBIT_LIQ)),
    "bn": (2, False, _unnamed(_BINANCE_LIQ)),
    "rby": (1, True, _REC % b"bybit" + _unnamed(_BYBIT_LIQ) + rb"\}"),
    "rbn": (2, True, _REC % b"binance" + _unnamed(_BINANCE_LIQ) + rb"\}"),
}
_BLOCK_ALTS = {"raw": ("by", "bn"), "recorder": ("rby", "rbn"), "jsonl": ("by", "bn", "rby", "rbn")}


def _block_matcher(fmt: str):
    alts = _BLOCK_ALTS[fmt]
    pattern = rb"^(?:" + rb"|".join(_ALTS[a][2] for a in alts) + rb")\r?$"
    layout = []
    off = 0
    for a in alts:
        venue, has_recv, _ = _ALTS[a]
        width = 6 if has_recv else 5
        layout.append((off, venue, has_recv))
        off += width
    return re.compile(pattern, re.M).findall, tuple(layout)


_BLOCK = {fmt: _block_matcher(fmt) for fmt in _BLOCK_ALTS}
# matched side spelling -> venue, liquidated position, flags (Bybit Buy = long; Binance SELL = long)
_SIDE_VENUE = {b"Buy": 1, b"Sell": 1, b"BUY": 2, b"SELL": 2}
_SIDE_POS = {b"Buy": 1, b"Sell": 2, b"BUY": 2, b"SELL": 1}
_SIDE_FLAGS = {b"Buy": 0, b"Sell": 0, b"BUY": 8, b"SELL": 8}
_BLOCK_LINES = 2048
_SLICE_BYTES = 1 << 20

#: a Binance log line: ``2026-03-10 13:10:19 Liquidation: {<forceOrder "o" object>}``
#: (the object is whatever follows the brace: a broken one is malformed_json, not text around the records)
_LOG_LINE = re.compile(rb"^\s*(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)\S*\s+Liquidation:\s*(\{.*?)\s*$")
_GAP_KIND = int(Kind.GAP)
_DEPTH_KIND = int(Kind.DEPTH)
#: venue code -> its ``parse`` part's ``contract_value(sink, symbol)`` (None: its sizes are base units)
_CONTRACT_VALUE = part_cache()
#: the parse functions of the two venue-specific line formats, found through the registry
_FORMAT_PARSERS = part_cache()


def depth_rows(sink, venue: int, recv: int, got, out: list) -> int:
    """The row tuples (EVENT_DTYPE order) of ``got`` (``[(symbol, ts_event or None, rows)]`` of
    :class:`~liqcore.venues.depthsync.DepthLines`) appended to ``out``, received at ``recv``, ids from ``sink``
    (a venue whose parse part has ``contract_value(sink, symbol)``, OKX's: sizes are contracts x that value, a
    Reject for a symbol without one; None: the symbol is sized in base units).  Returns how many."""
    n = 0
    contract_value = part_function(_CONTRACT_VALUE, venue, "parse", "contract_value")
    for sym, t, rows in got:
        sid = sink.sid(venue, sym)
        t = recv if t is None else t
        ct = contract_value(sink, sym) if contract_value is not None else None
        if ct is not None:
            out.extend([(t, recv, p, q * ct, sid, side, _DEPTH_KIND, venue, f) for side, p, q, f in rows])
        else:
            out.extend([(t, recv, p, q, sid, side, _DEPTH_KIND, venue, f) for side, p, q, f in rows])
        n += len(rows)
    return n


#: venue code -> the name the depth books use (a dict lookup: ``Venue(code).name.lower()`` costs ~0.5 us a line)
_VENUE_NAMES = VENUE_NAME_BY_CODE  # (liqcore.types': a registered venue's code too)
_NAN = float("nan")



class LineDecoder:
    """Decodes the line-oriented recording formats for :func:`liqcore.load_events`.

    ``fmt``: "raw", "recorder", "bybit-archive", "binance-log" (one format for every line), or
    "jsonl": the format of each line told by the line itself (a JSON object by its keys: recorder,
    Bybit archive or raw frame of any venue; otherwise a Binance log line).  A "binance-log" decoder
    also takes JSON lines of any kind, line by line, so that a log file with frames pasted in loses
    none of them.  ``prose``: lines that are neither JSON nor log lines are text around the records
    (``not_a_record``, not a bad record) rather than ``malformed_json``; on for "binance-log".  Line
    numbers of rejects go to the loader's file state (strict mode raises there).
    """

    def __init__(self, sink: Sink, fmt: str, prose: bool | None = None):
        if fmt not in ("raw", "recorder", "bybit-archive", "binance-log", "jsonl"):
            raise ValueError(f"format: {fmt!r} is not a line format")
        self.sink = sink
        self.fmt = fmt
        self.prose = (fmt == "binance-log") if prose is None else bool(prose)
        self._json_lines = None  # the per-line JSON decoder of a "binance-log" decoder

    # one line -> CONTROL / number of events; raises Reject
    def _raw(self, obj) -> int:
        return _auto(obj, self.sink)

    def _recorder(self, obj) -> int:
        sink = self.sink
        if obj.__class__ is not dict:
            raise Reject("unknown_format", "line")
        recv = obj.get("recv_ns")
        if recv.__class__ is not int:
            raise Reject("missing_field" if recv is None else "non_numeric", "recv_ns")
        if not 0 <= recv <= _I64_MAX:
            raise Reject("bad_time", "recv_ns")
        vname = obj.get("venue")
        try:
            venue = int(Venue.parse(vname)) if vname is not None else 0
        except ValueError:
            if vname.__class__ is str:  # (a plugin's venue not installed: the load names it, and --strict's line)
                note_unknown_venue(sink, vname.lower())
                raise Reject("unknown_venue", f"venue {vname.lower()!r}, not registered: is its plugin package "
                                              "installed?") from None
            raise Reject("unknown_venue", "venue") from None
        vname = _VENUE_NAMES.get(venue, "")
        if "gap" in obj:
            if venue == 0:
                raise Reject("unknown_venue", "venue")
            sink.rows.append((recv, recv, _NAN, 0.0, -1, 0, _GAP_KIND, venue, 0))
            if self.sink.depth is not None:  # the venue's depth books are unknown until their next snapshot
                return 1 + self._depth_rows(venue, recv, self.sink.depth.gap(vname))
            return 1
        frame = obj.get("frame")
        if frame is None:
            rest = obj.get("rest")
            if rest is not None and venue != 0:  # a REST depth snapshot the recorder fetched
                return self._depth_rows(venue, recv, [self._depth_lines().rest(vname, rest)])
            raise Reject("missing_field", "frame")
        if frame.__class__ is str:
            try:
                frame = _loads(frame)
            except _JSONError:
                if _is_control_text(frame):
                    return CONTROL
                raise Reject("malformed_json", "frame") from None
        sink.recv_ns = recv
        if venue == 0:
            return _auto(frame, sink)
        if is_depth_frame(vname, frame):  # a depth update: the book's rows, its venue's protocol followed
            one = self._depth_lines().frame(vname, frame)
            return self._depth_rows(venue, recv, [one] if one is not None else [])
        return PARSERS[venue](frame, sink)

    def _depth_lines(self):
        if self.sink.depth is None:  # (the sink's: a load carries it from one file to the next)
            from liqcore.venues.depthsync import DepthLines

            self.sink.depth = DepthLines()
        return self.sink.depth

    def _depth_rows(self, venue: int, recv: int, got) -> int:
        return depth_rows(self.sink, venue, recv, got, self.sink.rows)  # (0: buffered until the snapshot)

    def _bybit_archive(self, obj) -> int:
        sink = self.sink
        if obj.__class__ is not dict:
            raise Reject("unknown_format", "line")
        ex = obj.get("exchange")
        if ex.__class__ is not str or ex.lower() != "bybit":
            raise Reject("unknown_venue", "exchange")
        stream = obj.get("stream")
        if stream != "liquidation":
            raise Reject("unknown_topic", "stream")
        ts = obj.get("ts")
        if ts is not None:
            from liqcore.venues.common import ms_to_ns

            sink.recv_ns = ms_to_ns(ts, "ts")
        res = obj.get("result")
        if res.__class__ is not dict:
            raise Reject("missing_field", "result")
        sym = obj.get("symbol")
        parse = part_function(_FORMAT_PARSERS, "bybit", "parse", "parse_archive_items")
        return parse(res.get("data"), sink, sym if sym.__class__ is str else None)

    def _jsonl(self, obj) -> int:
        if obj.__class__ is dict:
            if "recv_ns" in obj and ("frame" in obj or "gap" in obj or "rest" in obj):
                return self._recorder(obj)
            if "exchange" in obj and "result" in obj:
                return self._bybit_archive(obj)
        return _auto(obj, self.sink)

    def feed_lines(self, data: bytes, st, first_line: int = 0) -> None:
        """Decode every line of ``data``; ``st`` is the loader's per-file state; ``first_line``: how
        many lines of the file came before ``data`` (for line numbers).

        Fast path: the dominant line shapes (Bybit ``allLiquidation`` with one item, Binance
        ``forceOrder``, raw or inside recorder lines, compact as the venues send them) are matched
        by anchored regular expressions, a block of lines at a time; a block where every line
        matches is converted directly.  Other blocks go line by line (the same expressions, then the
        JSON path).  A line that does not match exactly, or whose values would need a reject, always
        takes the JSON path, so the results are identical to decoding every line with orjson."""
        if self.fmt == "binance-log":
            return self._feed_log(data, st, first_line)
        block = _BLOCK.get(self.fmt)
        if block is None:
            lines = data.split(b"\n")
            return self._lines(lines, 0, len(lines), st, first_line)
        findall, layout = block
        if _SCAN is not None:
            return self._scan(data, st, first_line)
        # whole slices of ~1 MB first (no split needed when every line matches), then blocks of lines
        pos, base, size = 0, first_line, len(data)
        while pos < size:
            end = data.find(b"\n", pos + _SLICE_BYTES)
            end = size if end < 0 else end + 1
            piece = data[pos:end]
            newlines = piece.count(b"\n")
            n_lines = newlines + (0 if piece.endswith(b"\n") else 1)
            found = None
            if b"\n\n" not in piece and not piece.startswith(b"\n"):  # no empty line inside
                found = findall(piece)
                if len(found) != n_lines:
                    found = None
            if found is not None:
                self._fast_block(found, layout, piece, base, st)
            else:
                self._blocks(piece.split(b"\n"), base, st, findall, layout)
            base += newlines
            pos = end

    def _sid(self, venue: int, name: str):
        return fast_sid(self.sink, venue, name)  # (an inverse contract's: _CheckedOnly, as the live decoder's)

    def _scan(self, data: bytes, st, first_line: int = 0) -> None:
        """Compiled path: every matching line converted in C; the others go line by line (and every line of
        ``data`` where one holds a symbol only the checked parser reads right: an inverse contract's)."""
        sink = self.sink
        try:
            ev, others = _SCAN.scan_lines(data, self.fmt != "recorder", self.fmt != "raw", sink._ids, self._sid)
        except _CheckedOnly:
            lines = data.split(b"\n")
            return self._lines(lines, 0, len(lines), st, first_line)
        st.records += len(ev)
        prev = 0
        for before, index, line in others:
            if before > prev:
                sink.arrays.append((len(sink.rows), ev[prev:before]))
                prev = before
            self._lines((line,), 0, 1, st, first_line + index)
        if len(ev) > prev:
            sink.arrays.append((len(sink.rows), ev[prev:]))

    def _blocks(self, lines, base: int, st, findall, layout) -> None:
        n = len(lines)
        for a in range(0, n, _BLOCK_LINES):
            b = min(a + _BLOCK_LINES, n)
            chunk = lines[a:b]
            nonempty = (b - a) - chunk.count(b"")
            found = findall(b"\n".join(chunk))
            if len(found) != nonempty:
                self._lines(lines, a, b, st, base)
            elif found:
                self._fast_block(found, layout, chunk, base + a, st)

    def _fast_block(self, found, layout, chunk, base, st) -> None:
        """Convert a block whose every line matched: column-wise, in C-level loops."""
        sink = self.sink
        n = len(found)
        cols = list(zip(*found))
        t_col = p_col = q_col = s_col = sym_col = r_col = None
        for off, venue, has_recv in layout:
            if has_recv:
                r = cols[off]
                r_col = r if r_col is None else list(map(_add, r_col, r))
                off += 1
            if venue == 1:
                t, sy, sd, q, p = cols[off : off + 5]
            else:
                sy, sd, p, q, t = cols[off : off + 5]
            if t_col is None:
                t_col, sym_col, s_col, q_col, p_col = t, sy, sd, q, p
            else:  # a group that did not take part is b"": concatenation picks the one that did
                t_col = list(map(_add, t_col, t))
                sym_col = list(map(_add, sym_col, sy))
                s_col = list(map(_add, s_col, sd))
                q_col = list(map(_add, q_col, q))
                p_col = list(map(_add, p_col, p))
        if r_col is not None:
            recv_list = list(map(int, [x or b"-1" for x in r_col]))
            if max(recv_list) > _I64_MAX:  # not representable: the checked path counts it
                if chunk.__class__ is bytes:
                    chunk = chunk.split(b"\n")
                self._lines(chunk, 0, len(chunk), st, base)
                return
        venues = list(map(_SIDE_VENUE.__getitem__, s_col))
        ids = sink._ids
        keys = list(zip(venues, sym_col))
        sids = list(map(ids.get, keys))
        if None in sids:
            try:
                for key in set(keys):
                    if key not in ids:
                        ids[key] = self._sid(key[0], key[1].decode())
            except _CheckedOnly:  # (an inverse contract's lines: its venue's checked parser reads them)
                if chunk.__class__ is bytes:
                    chunk = chunk.split(b"\n")
                return self._lines(chunk, 0, len(chunk), st, base)
            sids = list(map(ids.__getitem__, keys))
        ts = np.fromiter(map(int, t_col), np.int64, n)
        price = np.fromiter(map(float, p_col), np.float64, n)
        qty = np.fromiter(map(float, q_col), np.float64, n)
        out = np.empty(n, dtype=EVENT_DTYPE)
        out["ts_event"] = ts * 1_000_000
        out["ts_recv"] = recv_list if r_col is not None else RECV_UNKNOWN
        out["price"] = price
        out["qty"] = qty
        out["symbol_id"] = sids
        out["side"] = np.fromiter(map(_SIDE_POS.__getitem__, s_col), np.int8, n)
        out["kind"] = 1
        out["venue"] = venues
        out["flags"] = np.fromiter(map(_SIDE_FLAGS.__getitem__, s_col), np.uint8, n)
        ok = (ts >= _MS_MIN) & (ts <= _MS_MAX) & (price > 0.0) & (price < _INF) & (qty > 0.0) & (qty < _INF)
        st.records += n
        if not ok.all():
            # values the checked path rejects (zero, overflowing decimals, times out of range): those
            # lines go that way and are counted by reason (they never yield an event)
            out = out[ok]
            if chunk.__class__ is bytes:
                chunk = chunk.split(b"\n")
            nonempty = [i for i, line in enumerate(chunk) if line]
            for j in np.flatnonzero(~ok).tolist():
                i = nonempty[j]
                self._lines(chunk, i, i + 1, st, base)
                st.records -= 1
        sink.arrays.append((len(sink.rows), out))

    def _lines(self, lines, a: int, b: int, st, base: int = 0) -> None:
        sink = self.sink
        fmt = self.fmt
        handler = {"raw": self._raw, "recorder": self._recorder, "bybit-archive": self._bybit_archive,
                   "jsonl": self._jsonl}[fmt]
        fast = fmt != "bybit-archive"
        log_ok = fmt == "jsonl"
        prose = self.prose
        loads = _loads
        counters = sink.counters
        rows = sink.rows
        append = rows.append
        ids = sink._ids
        sid_of = self._sid
        unknown = RECV_UNKNOWN
        raw_ok = fmt != "recorder"
        rec_ok = fmt != "raw"
        records = 0
        for idx in range(a, b):
            line = lines[idx]
            lineno = base + idx + 1
            if not line:
                continue
            records += 1
            if fast:
                head = line[:10]
                m = None
                if head == b'{"topic":"' and raw_ok:
                    m = _FAST_BYBIT(line)
                    recv = unknown
                    venue = 1
                elif head == b'{"e":"forc' and raw_ok:
                    m = _FAST_BINANCE(line)
                    recv = unknown
                    venue = 2
                elif head == b'{"recv_ns"' and rec_ok:
                    m = _FAST_REC_BYBIT(line)
                    venue = 1
                    if m is None:
                        m = _FAST_REC_BINANCE(line)
                        venue = 2
                    if m is not None:
                        recv = int(m.group(1))
                if m is not None:
                    if venue == 1:
                        t, sym, sd, v, p = m.group("T", "s", "S", "v", "p")
                        side = 1 if sd == b"Buy" else 2
                        flags = 0
                    else:
                        sym, sd, p, v, t = m.group("s", "S", "ap", "z", "T")
                        side = 1 if sd == b"SELL" else 2
                        flags = 8
                    t = int(t)
                    price = float(p)
                    qty = float(v)
                    if _MS_MIN <= t <= _MS_MAX and 0.0 < price < _INF and 0.0 < qty < _INF and recv <= _I64_MAX:
                        key = (venue, sym)
                        sid = ids.get(key)
                        if sid is None:
                            try:
                                sid = ids[key] = sid_of(venue, sym.decode())
                            except _CheckedOnly:  # (an inverse contract's line: the JSON path, its checked parser)
                                sid = None
                        if sid is not None:
                            append((t * 1_000_000, recv, price, qty, sid, side, 1, venue, flags))
                            continue
            if line.isspace():
                records -= 1
                continue
            sink.recv_ns = unknown
            before = sink.item_rejects
            try:
                obj = loads(line)
            except _JSONError:
                if _is_control_text(line):
                    counters["control"] = counters.get("control", 0) + 1
                    continue
                if log_ok:
                    m = _LOG_LINE.match(line)
                    if m is not None:
                        self._log_record(m, st, lineno)
                        continue
                if prose:  # text around the records of a log file
                    records -= 1
                    st.bad(lineno, "not_a_record")
                    continue
                st.bad(lineno, "malformed_json")
                continue
            if prose and obj.__class__ is not dict and obj.__class__ is not list:
                records -= 1  # a bare number or string: text around the records of a log file
                st.bad(lineno, "not_a_record")
                continue
            try:
                n = handler(obj)
            except Reject as r:
                st.bad(lineno, r.reason, r.field)
                continue
            except Exception:  # noqa: BLE001 - a shape no codec anticipated: counted, the load goes on
                st.bad(lineno, "bad_frame")
                continue
            if n == CONTROL:
                counters["control"] = counters.get("control", 0) + 1
            elif sink.item_rejects != before and st.strict:
                raise ValueError(f"{st.path}:{lineno}: {sink.last}")
        st.records += records

    def _log_record(self, m, st, lineno: int) -> None:
        """The forceOrder object of a matched Binance log line."""
        sink = self.sink
        sink.recv_ns = RECV_UNKNOWN  # the log time is a local wall clock at 1 s resolution
        try:
            obj = _loads(m.group(2))
        except _JSONError:
            st.bad(lineno, "malformed_json")
            return
        try:
            part_function(_FORMAT_PARSERS, "binance", "parse", "parse_force_order")(obj, sink)
        except Reject as r:
            st.bad(lineno, r.reason, r.field)

    def _feed_log(self, data: bytes, st, first_line: int = 0) -> None:
        """Binance log lines; JSON lines among them are decoded line by line (any kind), the other
        lines are the text around the records (``not_a_record``)."""
        for lineno, line in enumerate(data.split(b"\n"), first_line + 1):
            if not line or line.isspace():
                continue
            m = _LOG_LINE.match(line)
            if m is None:
                if line.lstrip()[:1] in (b"{", b"[") or _is_control_text(line):
                    if self._json_lines is None:
                        self._json_lines = LineDecoder(self.sink, "jsonl", prose=True)
                    self._json_lines._lines((line,), 0, 1, st, lineno - 1)
                else:
                    st.bad(lineno, "not_a_record")
                continue
            st.records += 1
            self._log_record(m, st, lineno)
