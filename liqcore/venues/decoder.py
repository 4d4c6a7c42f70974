"""Streaming decoder for the live shell (:class:`Decoder`) and the parsing rules it shares with the line decoder.

``Decoder(venue).feed(frame, recv_ns)`` gives an event array and never raises on a bad frame: every
frame is accepted, rejected (counted by reason) or control.  The clock guard, duplicate suppression
and the decoding paths (compiled scanner, regular expressions, orjson and the venue codecs, all equal):
docs/explanation/live-engine.md, "The decoder: every frame counted, the clock guard, duplicates".

The line decoder of the bulk loader, on the same parsing rules: ``lines.py`` (property tests compare them).
May import: numpy, orjson, ``types`` and ``venues`` (the codecs, ``common``, ``instruments``, the compiled scanner).
"""
from __future__ import annotations

import re
import struct
from collections import deque

import numpy as np
import orjson

from liqcore.types import EVENT_DTYPE, Kind, SymbolRegistry, Venue
from liqcore.venues.common import (_MS_MAX, _MS_MIN, CONTROL, DEFAULT_MAX_CLOCK_SKEW_NS, RECV_CLOCK_MIN_NS, RECV_UNKNOWN,
                                   Reject, Sink, wire_number)
from liqcore.venues.registry import part_cache, part_function

try:  # the compiled matcher of the dominant liquidation lines (pure-Python equivalent below)
    from liqcore.venues import _scan as _SCAN
except ImportError:  # pragma: no cover - extension not built: the regex path does the same work
    _SCAN = None

__all__ = ["Decoder", "detect_venue", "PARSERS", "stream_stamp"]



class _CheckedOnly(Exception):
    """A fast path met a symbol only the venue's checked parser reads right."""


_CHECKED_FNS = part_cache({})  # venue code -> its parse part's checked_only (None: none)


def _checked_only(venue: int, name: str) -> bool:
    """Whether ``name``'s frames need the venue's checked parser (its ``parse`` part's ``checked_only``: Bybit's
    inverse contracts, sizes in contracts it turns into base units), which the fast paths leave to it."""
    if venue not in _CHECKED_FNS:
        _CHECKED_FNS[venue] = part_function({}, venue, "parse", "checked_only")
    fn = _CHECKED_FNS[venue]
    return fn is not None and bool(fn(name))


def fast_sid(sink: Sink, venue: int, name: str):
    """A fast path's symbol id (on its cache miss; the live decoder's and the line reader's): _CheckedOnly for a
    symbol only the venue's checked parser reads right (:func:`_checked_only`: an inverse contract's sizes), so that
    its frames take the checked path, every time (the fast paths cache no id of it)."""
    if _checked_only(venue, name):
        raise _CheckedOnly(name)
    return sink.sid(venue, name)


class _Parsers(dict):
    """Venue code -> its frame parser, the ``parse`` part's ``parse_obj(obj, sink)`` of the venue registered with
    that code, found through the registry on first use (a KeyError for a code without one); emptied whenever a
    venue is registered or forgotten (:func:`liqcore.venues.registry.part_cache`)."""

    def __missing__(self, code):
        fn = part_function({}, code, "parse", "parse_obj")
        if fn is None:
            raise KeyError(code)
        self[code] = fn
        return fn

    def get(self, code, default=None):
        try:
            return self[code]
        except KeyError:
            return default


PARSERS = part_cache(_Parsers())
_pack = struct.Struct("<qqddibbbB").pack  # EVENT_DTYPE's 40-byte layout
assert struct.calcsize("<qqddibbbB") == EVENT_DTYPE.itemsize
_frombuffer = np.frombuffer
_RECV_MIN = RECV_CLOCK_MIN_NS
_CONTROL_TEXT = frozenset({"pong", "ping", "PONG", "PING"})
_QUOTE = int(Kind.QUOTE)
_loads = orjson.loads
_JSONError = orjson.JSONDecodeError


def stream_stamp(venue: str, last: dict):
    """The silent-stream watch's per-frame stamp, compiled (``liqcore.venues._scan.StreamKeys``, twin
    ``pysrc.scan.StreamKeys``): ``stamp(payload, recv_ns)`` stores ``recv_ns`` in ``last`` under the frame's
    stream key (``liqcore.live.silence.frame_key``'s), in one call that allocates nothing for a known stream;
    None where the extension was built without it or ``venue`` is not bybit, binance or okx."""
    if _SCAN is None or not hasattr(_SCAN, "StreamKeys") or venue not in ("bybit", "binance", "okx"):
        return None
    return _SCAN.StreamKeys(venue, last).stamp


def _registered_parser(venue):
    """The frame parser of a venue registered outside the built-ins: its ``parse`` part's ``parse_obj(obj, sink)``."""
    from liqcore.venues.registry import venue_spec

    return venue_spec(venue).part("parse").parse_obj


def _no_match(frame):
    return None


#: ``"shapes"`` -> ``(code, is_frame)`` of each registered venue beyond the built-in three whose ``parse`` part tells
#: its own frames by shape (``is_frame(obj) -> bool``: Gate's ``"channel": "futures.…"``; a plugin's); made on
#: first use, emptied whenever a venue is registered or forgotten (a part cache of the registry)
_SHAPES = part_cache()


def _shapes() -> list:
    try:
        return _SHAPES["shapes"]
    except KeyError:
        pass
    from liqcore.venues.registry import registered

    specs = [s for s in registered() if s.code not in (1, 2, 3)]  # (may register every venue: then made here)
    got = _SHAPES["shapes"] = [(s.code, fn) for s in specs
                               if (fn := part_function({}, s.code, "parse", "is_frame")) is not None]
    return got


def detect_venue(obj) -> int:
    """Venue of a decoded raw frame, told by its shape (0 when it fits none): the built-in three's, and a
    registered venue's whose ``parse`` part has ``is_frame(obj)`` (asked first: Gate's frames hold an "event"
    as OKX's do)."""
    if obj.__class__ is dict:
        for code, is_frame in _shapes():
            if is_frame(obj):
                return code
        if "topic" in obj or "op" in obj or ("success" in obj and "ret_msg" in obj):
            return 1
        if "e" in obj or "stream" in obj or ("id" in obj and ("result" in obj or "error" in obj)):
            return 2
        if "arg" in obj or "event" in obj:
            return 3
        return 0
    if obj.__class__ is list:
        return 2  # !markPrice@arr
    return 0


def _auto(obj, sink: Sink) -> int:
    v = detect_venue(obj)
    if v == 0:
        raise Reject("unknown_topic", "frame")
    return PARSERS[v](obj, sink)


def _is_control_text(frame) -> bool:
    if isinstance(frame, str):
        t = frame
    elif isinstance(frame, (bytes, bytearray, memoryview)):
        if len(frame) > 16:
            return False
        t = bytes(frame).decode("ascii", "replace")
    else:
        return False
    return t.strip() in _CONTROL_TEXT


_BYBIT_LIQ_SIDE = {"Buy": 1, "Sell": 2, "buy": 1, "sell": 2, "BUY": 1, "SELL": 2}  # as bybit.parse
_OKX_LIQ_SIDE = {"sell": 1, "buy": 2}  # as okx.parse (after lower())


_INF_F = float("inf")


def _bybit_legacy_row(obj, sink, recv_ns):
    """One Bybit legacy ``liquidation.{symbol}`` frame with every value as documented -> its row, else
    None (the checked parser then decides: same row, or the counted reject)."""
    if obj.__class__ is not dict:
        return None
    topic = obj.get("topic")
    d = obj.get("data")
    if topic.__class__ is not str or d.__class__ is not dict or topic[:12] != "liquidation.":
        return None
    t = d.get("updatedTime")
    sym = d.get("symbol")
    side = _BYBIT_LIQ_SIDE.get(d.get("side")) if d.get("side").__class__ is str else None
    if t.__class__ is not int or not _MS_MIN <= t <= _MS_MAX or side is None or sym.__class__ is not str or not sym:
        return None
    pq = _positive_pair(d.get("price"), d.get("size"))
    if pq is None:
        return None
    if _checked_only(1, sym):
        return None
    try:
        sid = sink.sid(1, sym)
    except Reject:
        return None
    return (t * 1_000_000, recv_ns, pq[0], pq[1], sid, side, 1, 1, 8)


def _positive_pair(p, q):
    """(price, qty) from two decimal strings, both finite and > 0; else None."""
    if p.__class__ is not str or q.__class__ is not str:
        return None
    try:
        price, qty = wire_number(p), wire_number(q)
    except ValueError:
        return None
    if not (0.0 < price < _INF_F and 0.0 < qty < _INF_F):
        return None
    return price, qty


def _okx_liq_row(obj, sink, recv_ns):
    """One OKX ``liquidation-orders`` frame with one instrument and one detail, every value as documented
    -> its row, else None (the checked parser then decides)."""
    if obj.__class__ is not dict or "event" in obj:
        return None
    arg, data = obj.get("arg"), obj.get("data")
    if arg.__class__ is not dict or data.__class__ is not list or len(data) != 1 or arg.get("channel") != "liquidation-orders":
        return None
    item = data[0]
    if item.__class__ is not dict:
        return None
    details, inst = item.get("details"), item.get("instId")
    if details.__class__ is not list or len(details) != 1 or inst.__class__ is not str or not inst:
        return None
    ct = sink.instruments.get(inst)
    x = details[0]
    if ct is None or x.__class__ is not dict:
        return None
    s, ts = x.get("side"), x.get("ts")
    side = _OKX_LIQ_SIDE.get(s.lower()) if s.__class__ is str else None
    if side is None or ts.__class__ is not str or not ts.isdigit() or not ts.isascii():
        return None
    t = int(ts)
    if not _MS_MIN <= t <= _MS_MAX:
        return None
    pq = _positive_pair(x.get("bkPx"), x.get("sz"))
    if pq is None:
        return None
    try:
        sid = sink.sid(3, inst)
    except Reject:
        return None
    return (t * 1_000_000, recv_ns, pq[0], pq[1] * ct, sid, side, 1, 3, 8)


def _auto_row(obj, sink, recv_ns):
    if obj.__class__ is dict:
        if "topic" in obj:
            return _bybit_legacy_row(obj, sink, recv_ns)
        if "arg" in obj:
            return _okx_liq_row(obj, sink, recv_ns)
    return None


def _combined_payload(frame: bytes):
    """The ``data`` object of a Binance combined-stream frame ``{"stream":"<name>","data":{...}}`` (exactly
    those two keys, in that order), as bytes; None for anything else (the JSON path decides)."""
    i = frame.find(b'","data":{', 11, 128)
    if i < 0 or frame[-1:] != b"}" or b"\\" in frame[11:i] or b'"' in frame[11:i]:
        return None
    return frame[i + 9:-1]


class Decoder:
    """Turns a venue's websocket frames into event rows (:data:`~liqcore.EVENT_DTYPE`), one decoder per
    connection: ``feed(frame, recv_ns) -> events``; a malformed frame is counted by reason and dropped.

    ``venue``: "bybit", "binance", "okx", a registered venue's name (its ``parse`` part's ``parse_obj``), or a
    :class:`Venue`; or None/"auto" to tell the venue of each frame by its shape (the built-in three).  ``registry``: symbol ids (a new registry when None).  ``instruments``:
    OKX instId -> ctVal added to the shipped table.  ``dedupe_horizon``: events remembered per kind
    for duplicate suppression (0 disables it).  ``max_clock_skew_ns``: events stamped further ahead of
    their receive time are dropped as ``future_time`` (None disables the check).
    """

    def __init__(self, venue=None, registry: SymbolRegistry | None = None, instruments=None, dedupe_horizon: int = 8192,
                 max_clock_skew_ns: int | None = DEFAULT_MAX_CLOCK_SKEW_NS):
        from liqcore.venues.instruments import load_instruments

        if venue is None or (isinstance(venue, str) and venue.lower() == "auto"):
            self.venue = Venue.UNKNOWN
            self._parse = _auto
        else:
            self.venue = Venue.parse(venue)
            if self.venue == Venue.UNKNOWN:
                raise ValueError("venue: expected bybit, binance, okx or auto")
            self._parse = PARSERS.get(int(self.venue)) or _registered_parser(self.venue)  # (the latter: its error)
        self.registry = registry if registry is not None else SymbolRegistry()
        self.sink = Sink(self.registry, load_instruments(instruments))
        self.counters: dict[str, int] = self.sink.counters
        for k in ("frames", "accepted_frames", "rejected_frames", "control", "events", "duplicate"):
            self.counters[k] = 0
        if dedupe_horizon < 0:
            raise ValueError("dedupe_horizon: must be >= 0")
        self.dedupe_horizon = int(dedupe_horizon)
        if max_clock_skew_ns is not None and (isinstance(max_clock_skew_ns, bool) or int(max_clock_skew_ns) < 0):
            raise ValueError("max_clock_skew_ns: must be >= 0 (or None)")
        # an int either way keeps the hot-path compare cheap (None: a skew no event reaches)
        self.max_clock_skew_ns = (1 << 62) if max_clock_skew_ns is None else int(max_clock_skew_ns)
        self.counters["future_time"] = 0
        #: the first exception the venue's parser raised on a frame (counted ``bad_frame``), "Type: text"; None: none
        self.bad_frame_error: str | None = None
        self._seen: dict[int, set] = {}
        self._ring: dict[int, deque] = {}
        # the liquidation memory is created up front (the fast path uses it directly)
        self._seen_liq = self._seen[1] = set()
        self._ring_liq = self._ring[1] = deque()
        self._ids = self.sink._ids
        self._fast = {0: self._fast_auto, 1: self._fast_bybit, 2: self._fast_binance}.get(int(self.venue), self._fast_none)
        # feed()'s inlined matcher: the venue's own frame shape (auto decoders use _fast via feed_rows)
        self._match = {1: _FAST_BYBIT, 2: _FAST_BINANCE}.get(int(self.venue), _no_match)
        self._bybit_groups = int(self.venue) == 1
        self._scan_venue = {0: 0, 1: 1, 2: 2}.get(int(self.venue), -1)  # compiled matcher: -1 = none
        # after orjson: the single-event shapes the compiled matcher does not read, as documented
        self._obj_row = {0: _auto_row, 1: _bybit_legacy_row, 3: _okx_liq_row}.get(int(self.venue))
        # where those frames have the "l" of "liquidation" (auto decoders: always try)
        self._obj_at = {1: 10, 3: 19}.get(int(self.venue), 0)
        self._obj_l = b"l" if int(self.venue) in (1, 3) else b"{"
        # the compiled whole fast path (match, ids, clock guard, dedupe, rows/array) over this state
        self._live = None
        if _SCAN is not None and hasattr(_SCAN, "LiveScan"):  # (an extension built before LiveScan: regex path)
            self._live = _SCAN.LiveScan(int(self.venue), self._ids, self._fast_sid, self.counters, self._seen_liq,
                                        self._ring_liq, self.dedupe_horizon, self.max_clock_skew_ns,
                                        self.sink.instruments)
            cls = type(self)
            self._live.set_fallbacks(cls.feed.__get__(self), cls.feed_rows.__get__(self), self._checked_rows, self._array)
            if cls.feed is Decoder.feed and cls.feed_rows is Decoder.feed_rows:
                # the plain (bytes, int) calls go straight to the compiled path (one Python frame less)
                self.feed = self._live.feed
                self.feed_rows = self._live.feed_rows

    def _fast_sid(self, venue: int, name: str):
        return fast_sid(self.sink, venue, name)

    # the compiled fast path keeps its own copy of these two settings
    @property
    def dedupe_horizon(self) -> int:
        return self._dedupe_horizon

    @dedupe_horizon.setter
    def dedupe_horizon(self, value: int) -> None:
        self._dedupe_horizon = int(value)
        if getattr(self, "_live", None) is not None:
            self._live.horizon = self._dedupe_horizon

    @property
    def max_clock_skew_ns(self) -> int:
        return self._max_clock_skew_ns

    @max_clock_skew_ns.setter
    def max_clock_skew_ns(self, value: int) -> None:
        self._max_clock_skew_ns = int(value)
        if getattr(self, "_live", None) is not None:
            self._live.skew = self._max_clock_skew_ns

    def set_instruments(self, instruments) -> None:
        """Add or replace OKX instId -> ctVal entries (a mapping or an ``/api/v5/public/instruments``
        response), e.g. after fetching the venue's table at start-up; invalid values raise ValueError."""
        from liqcore.venues.instruments import parse_okx_instruments

        if isinstance(instruments, (bytes, bytearray, str)) or (isinstance(instruments, dict) and "data" in instruments):
            table = parse_okx_instruments(instruments)
        else:
            from liqcore.venues.instruments import _check

            table = {str(k): _check(k, v) for k, v in dict(instruments).items()}
        self.sink.instruments.update(table)

    @property
    def tickers(self) -> dict:
        """Merged Bybit tickers state per symbol (this connection)."""
        return self.sink.tickers

    def _unique(self, rows: list) -> list:
        out = []
        horizon = self.dedupe_horizon
        for r in rows:
            kind = r[6]
            if kind == _QUOTE:  # quotes: a side repeated at one time is a real update (its pair needs it)
                out.append(r)
                continue
            seen = self._seen.get(kind)
            if seen is None:
                seen = self._seen[kind] = set()
                self._ring[kind] = deque()
            key = (r[0], r[4], r[5], r[2], r[3])
            if key in seen:
                self.counters["duplicate"] += 1
                continue
            seen.add(key)
            ring = self._ring[kind]
            ring.append(key)
            if len(ring) > horizon:
                seen.discard(ring.popleft())
            out.append(r)
        return out

    def feed(self, frame, recv_ns: int) -> np.ndarray:
        """Decode one frame received at ``recv_ns`` (int ns).  Returns a new, writable EVENT_DTYPE
        array (empty for control frames, rejects and frames without events).  Never raises on bad
        input."""
        if frame.__class__ is bytes and recv_ns.__class__ is int and 0 <= recv_ns <= _I64_MAX:
            live = self._live
            if live is not None:
                arr = live.array(frame, recv_ns)  # the compiled path builds the array itself
                if arr is not None:
                    return arr
                return self._array(self._checked_rows(frame, recv_ns))
            m = self._match(frame)
            if m is not None:
                # inlined fast path (the live hot path): same checks and result as _fast/_row/_take
                if self._bybit_groups:
                    t, sym, sd, q, p = m.groups()
                    venue, side, flags = 1, (1 if sd == b"Buy" else 2), 0
                else:
                    sym, sd, p, q, t = m.groups()
                    venue, side, flags = 2, (1 if sd == b"SELL" else 2), 8
                t = int(t)
                price = float(p)
                qty = float(q)
                if _MS_MIN <= t <= _MS_MAX and 0.0 < price < _INF and 0.0 < qty < _INF:
                    key = (venue, sym)
                    sid = self._ids.get(key)
                    if sid is None:
                        try:
                            sid = self._ids[key] = self._fast_sid(venue, sym.decode())
                        except _CheckedOnly:
                            return self._array(self._checked_rows(frame, recv_ns))
                    row = (t * 1_000_000, recv_ns, price, qty, sid, side, 1, venue, flags)
                    if self._take(row):
                        return _frombuffer(bytearray(_pack(*row)), EVENT_DTYPE)
                    return np.zeros(0, EVENT_DTYPE)
        return self._array(self.feed_rows(frame, recv_ns))

    @staticmethod
    def _array(rows: list) -> np.ndarray:
        n = len(rows)
        if n == 1:
            return _frombuffer(bytearray(_pack(*rows[0])), EVENT_DTYPE)
        if n == 0:
            return np.zeros(0, EVENT_DTYPE)
        return np.fromiter(rows, EVENT_DTYPE, n)

    def _take(self, row) -> bool:
        """Count a fast-path frame; False when its event is stamped ahead of its receive time (beyond
        ``max_clock_skew_ns``) or a duplicate within the horizon."""
        c = self.counters
        c["frames"] += 1
        if row[0] - row[1] > self.max_clock_skew_ns and row[1] >= _RECV_MIN:
            c["future_time"] += 1
            c["rejected_frames"] += 1
            return False
        c["accepted_frames"] += 1
        if self.dedupe_horizon:
            key = (row[0], row[4], row[5], row[2], row[3])
            seen = self._seen_liq
            if key in seen:
                c["duplicate"] += 1
                return False
            seen.add(key)
            ring = self._ring_liq
            ring.append(key)
            if len(ring) > self.dedupe_horizon:
                seen.discard(ring.popleft())
        c["events"] += 1
        return True

    def _take_many(self, rows: list) -> list:
        """Count a fast-path frame with several events; the events not seen within the horizon."""
        c = self.counters
        c["frames"] += 1
        rows = self._not_future(rows)
        if not rows:
            c["rejected_frames"] += 1
            return rows
        c["accepted_frames"] += 1
        if self.dedupe_horizon:
            rows = self._unique(rows)
        c["events"] += len(rows)
        return rows

    def _not_future(self, rows: list) -> list:
        """The rows not stamped more than ``max_clock_skew_ns`` ahead of their receive time (the others
        are counted as ``future_time``)."""
        skew = self.max_clock_skew_ns
        for r in rows:
            if r[0] - r[1] > skew and r[1] >= _RECV_MIN:
                break
        else:
            return rows
        kept = [r for r in rows if not (r[0] - r[1] > skew and r[1] >= _RECV_MIN)]
        self.counters["future_time"] += len(rows) - len(kept)
        return kept

    def _row(self, venue: int, sym: bytes, side: int, flags: int, t, p, q, recv_ns: int):
        t = int(t)
        price = float(p)
        qty = float(q)
        if _MS_MIN <= t <= _MS_MAX and 0.0 < price < _INF and 0.0 < qty < _INF:
            key = (venue, sym)
            sid = self._ids.get(key)
            if sid is None:
                try:
                    sid = self._ids[key] = self._fast_sid(venue, sym.decode())
                except _CheckedOnly:
                    return None  # (the checked path reads it)
            return (t * 1_000_000, recv_ns, price, qty, sid, side, 1, venue, flags)
        return None  # values needing a reject: the checked path names the reason

    # The documented single-event liquidation frames (Bybit allLiquidation, Binance forceOrder,
    # compact as sent) matched by an anchored expression: the event row, or None for the JSON path.
    def _fast_bybit(self, frame, recv_ns: int):
        m = _FAST_BYBIT(frame)
        if m is None:
            return None
        t, sym, sd, q, p = m.groups()
        return self._row(1, sym, 1 if sd == b"Buy" else 2, 0, t, p, q, recv_ns)

    def _fast_binance(self, frame, recv_ns: int):
        m = _FAST_BINANCE(frame)
        if m is None:
            return None
        sym, sd, p, q, t = m.groups()
        return self._row(2, sym, 1 if sd == b"SELL" else 2, 8, t, p, q, recv_ns)

    def _fast_auto(self, frame, recv_ns: int):
        return self._fast_bybit(frame, recv_ns) or self._fast_binance(frame, recv_ns)

    @staticmethod
    def _fast_none(frame, recv_ns: int):
        return None

    def feed_rows(self, frame, recv_ns: int) -> list:
        """Like :meth:`feed` but returns the event tuples (EVENT_DTYPE field order)."""
        if recv_ns.__class__ is not int or not -1 <= recv_ns <= _I64_MAX:
            try:
                recv_ns = int(recv_ns)
            except (TypeError, ValueError, OverflowError):
                recv_ns = RECV_UNKNOWN
            if not -1 <= recv_ns <= _I64_MAX:
                recv_ns = RECV_UNKNOWN
        if frame.__class__ is bytes:
            live = self._live
            if live is not None:
                rows = live.rows(frame, recv_ns)
                if rows is not None:
                    return rows
                return self._checked_rows(frame, recv_ns)
            row = self._fast(frame, recv_ns)  # without the extension: the anchored expressions
            if row is None and self._scan_venue in (0, 2) and frame[:11] == b'{"stream":"':
                inner = _combined_payload(frame)  # a Binance combined stream: the payload is the raw frame
                if inner is not None:
                    row = self._fast(inner, recv_ns)
            if row is not None:
                if row.__class__ is list:
                    return self._take_many(row)
                return [row] if self._take(row) else []
        return self._checked_rows(frame, recv_ns)

    def _checked_rows(self, frame, recv_ns: int) -> list:
        """The JSON path of :meth:`feed_rows` (``recv_ns`` already normalised)."""
        c = self.counters
        c["frames"] += 1
        sink = self.sink
        try:
            obj = _loads(frame)
        except (_JSONError, TypeError):
            if _is_control_text(frame):
                c["control"] += 1
                return []
            c["malformed_json"] = c.get("malformed_json", 0) + 1
            c["rejected_frames"] += 1
            return []
        obj_row = self._obj_row
        at = self._obj_at
        if obj_row is not None and frame[at:at + 1] == self._obj_l:
            row = obj_row(obj, sink, recv_ns)
            if row is not None:  # same row, counters, clock guard and dedupe as the checked path below
                if row[0] - row[1] > self.max_clock_skew_ns and row[1] >= _RECV_MIN:
                    c["future_time"] += 1
                    c["rejected_frames"] += 1
                    return []
                c["accepted_frames"] += 1
                if self.dedupe_horizon:
                    key = (row[0], row[4], row[5], row[2], row[3])
                    seen = self._seen_liq
                    if key in seen:
                        c["duplicate"] += 1
                        return []
                    seen.add(key)
                    ring = self._ring_liq
                    ring.append(key)
                    if len(ring) > self.dedupe_horizon:
                        seen.discard(ring.popleft())
                c["events"] += 1
                return [row]
        sink.rows = rows = []
        sink.tids = {}  # trade ids are read by file loads only (their dedupe)
        sink.recv_ns = recv_ns
        before = sink.item_rejects
        try:
            n = self._parse(obj, sink)
        except Reject as r:
            c[r.reason] = c.get(r.reason, 0) + 1
            c["rejected_frames"] += 1
            return []
        except Exception as exc:  # noqa: BLE001 - a frame shape no codec anticipated never kills the stream
            c["bad_frame"] = c.get("bad_frame", 0) + 1
            c["rejected_frames"] += 1
            if self.bad_frame_error is None:  # (the first one's words: a venue's parser that fails is named by them)
                self.bad_frame_error = " ".join(f"{type(exc).__name__}: {exc}".split())
            return []
        if n == CONTROL:
            c["control"] += 1
            return []
        if n == 0 and sink.item_rejects != before:
            c["rejected_frames"] += 1
            return []
        if rows:
            rows = self._not_future(rows)
            if not rows:  # every event of the frame was stamped in the future
                c["rejected_frames"] += 1
                return []
        c["accepted_frames"] += 1
        if self.dedupe_horizon:
            rows = self._unique(rows)
        c["events"] += len(rows)
        return rows

    def feed_many(self, frames, recv_ns) -> np.ndarray:
        """Decode a batch of frames (``recv_ns``: one int for all or one per frame) into one array."""
        all_rows = []
        if isinstance(recv_ns, (int, np.integer)):
            for f in frames:
                all_rows.extend(self.feed_rows(f, recv_ns))
        else:
            frames, recv_ns = list(frames), list(recv_ns)
            if len(frames) != len(recv_ns):
                raise ValueError(f"recv_ns: {len(recv_ns)} receive times for {len(frames)} frames")
            for f, r in zip(frames, recv_ns):
                all_rows.extend(self.feed_rows(f, r))
        return np.array(all_rows, dtype=EVENT_DTYPE) if all_rows else np.zeros(0, EVENT_DTYPE)


# ------------------------------------------------------------------------------- bulk line decoder

_DEC = rb'(?:0|[1-9][0-9]*)(?:\.[0-9]+)?'
_SYM = rb'[A-Z0-9]{1,40}'
_BYBIT_LIQ = (
    rb'\{"topic":"allLiquidation\.' + _SYM + rb'","type":"snapshot","ts":(?:0|[1-9][0-9]{0,15}),"data":\[\{"T":(?P<T>[1-9][0-9]{12}),'
    rb'"s":"(?P<s>' + _SYM + rb')","S":"(?P<S>Buy|Sell)","v":"(?P<v>' + _DEC + rb')","p":"(?P<p>' + _DEC + rb')"\}\]\}'
)
_BINANCE_LIQ = (
    rb'\{"e":"forceOrder","E":(?:0|[1-9][0-9]{0,15}),"o":\{"s":"(?P<s>' + _SYM + rb')","S":"(?P<S>BUY|SELL)","o":"[A-Z_]{1,20}",'
    rb'"f":"[A-Z]{1,5}","q":"' + _DEC + rb'","p":"' + _DEC + rb'","ap":"(?P<ap>' + _DEC + rb')","X":"[A-Z_]{1,20}",'
    rb'"l":"' + _DEC + rb'","z":"(?P<z>' + _DEC + rb')","T":(?P<T>[1-9][0-9]{12})\}\}'
)
_FAST_BYBIT = re.compile(_BYBIT_LIQ + rb"\r?").fullmatch
_FAST_BINANCE = re.compile(_BINANCE_LIQ + rb"\r?").fullmatch
_FAST_REC_BYBIT = re.compile(rb'\{"recv_ns":(0|[1-9][0-9]{0,18}),"venue":"bybit","frame":' + _BYBIT_LIQ + rb"\}\r?").fullmatch
_FAST_REC_BINANCE = re.compile(rb'\{"recv_ns":(0|[1-9][0-9]{0,18}),"venue":"binance","frame":' + _BINANCE_LIQ + rb"\}\r?").fullmatch


_I64_MAX = 2**63 - 1
_INF = float("inf")
