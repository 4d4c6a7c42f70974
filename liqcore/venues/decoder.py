"""Streaming decoder for the live shell (:class:`Decoder`), and the line decoder the bulk loader uses (:class:`LineDecoder`).

``Decoder(venue).feed(frame, recv_ns)`` gives an event array and never raises on a bad frame: every
frame is accepted, rejected (counted by reason) or control.  The clock guard, duplicate suppression
and the decoding paths (compiled scanner, regular expressions, orjson and the venue codecs, all equal):
docs/live.md, "The decoder: every frame counted, the clock guard, duplicates".

Why one module: both decoders share every parsing rule (property tests compare them).  May import:
numpy, orjson, ``types`` and ``venues`` (the codecs, ``common``, ``instruments``, the compiled scanner).
"""
from __future__ import annotations

import re
import struct
from operator import add as _add
from collections import deque

import numpy as np
import orjson

from liqcore.types import EVENT_DTYPE, Kind, SymbolRegistry, Venue
from liqcore.venues.binance import parse as _binance
from liqcore.venues.bybit import parse as _bybit
from liqcore.venues.common import (_MS_MAX, _MS_MIN, CONTROL, DEFAULT_MAX_CLOCK_SKEW_NS, RECV_CLOCK_MIN_NS, RECV_UNKNOWN,
                                   Reject, Sink)
from liqcore.venues.depthsync import is_depth_frame
from liqcore.venues.okx import parse as _okx

try:  # the compiled matcher of the dominant liquidation lines (pure-Python equivalent below)
    from liqcore.venues import _scan as _SCAN
except ImportError:  # pragma: no cover - extension not built: the regex path does the same work
    _SCAN = None

__all__ = ["Decoder", "LineDecoder", "detect_venue", "PARSERS", "stream_stamp"]

PARSERS = {1: _bybit.parse_obj, 2: _binance.parse_obj, 3: _okx.parse_obj}
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


def _no_match(frame):
    return None


def detect_venue(obj) -> int:
    """Venue of a decoded raw frame, told by its shape (0 when it fits none)."""
    if obj.__class__ is dict:
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
        price, qty = float(p), float(q)
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
    """Per-connection frame decoder: ``feed(frame, recv_ns) -> events``.

    ``venue``: "bybit", "binance", "okx" (or a :class:`Venue`), or None/"auto" to tell the venue of
    each frame by its shape.  ``registry``: symbol ids (a new registry when None).  ``instruments``:
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
            self._parse = PARSERS[int(self.venue)]
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
            self._live = _SCAN.LiveScan(int(self.venue), self._ids, self.sink.sid, self.counters, self._seen_liq,
                                        self._ring_liq, self.dedupe_horizon, self.max_clock_skew_ns,
                                        self.sink.instruments)
            cls = type(self)
            self._live.set_fallbacks(cls.feed.__get__(self), cls.feed_rows.__get__(self), self._checked_rows, self._array)
            if cls.feed is Decoder.feed and cls.feed_rows is Decoder.feed_rows:
                # the plain (bytes, int) calls go straight to the compiled path (one Python frame less)
                self.feed = self._live.feed
                self.feed_rows = self._live.feed_rows

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
                        sid = self._ids[key] = self.sink.sid(venue, sym.decode())
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
                sid = self._ids[key] = self.sink.sid(venue, sym.decode())
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
        except Exception:  # noqa: BLE001 - a frame shape no codec anticipated never kills the stream
            c["bad_frame"] = c.get("bad_frame", 0) + 1
            c["rejected_frames"] += 1
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
_I64_MAX = 2**63 - 1
_INF = float("inf")
_BLOCK_LINES = 2048
_SLICE_BYTES = 1 << 20

#: a Binance log line: ``2026-03-10 13:10:19 Liquidation: {<forceOrder "o" object>}``
_LOG_LINE = re.compile(rb"^\s*(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)\S*\s+Liquidation:\s*(\{.*\})\s*$")
_GAP_KIND = int(Kind.GAP)
_DEPTH_KIND = int(Kind.DEPTH)
_OKX_CODE = int(Venue.OKX)
def depth_rows(sink, venue: int, recv: int, got, out: list) -> int:
    """The row tuples (EVENT_DTYPE order) of ``got`` (``[(symbol, ts_event or None, rows)]`` of
    :class:`~liqcore.venues.depthsync.DepthLines`) appended to ``out``, received at ``recv``, ids from ``sink``
    (OKX sizes: contracts x the sink's contract value; Reject for a symbol without one).  Returns how many."""
    n = 0
    for sym, t, rows in got:
        sid = sink.sid(venue, sym)
        t = recv if t is None else t
        if venue == _OKX_CODE and _okx._is_contract(sym):
            ct = _okx._ct_val(sink, sym)
            out.extend([(t, recv, p, q * ct, sid, side, _DEPTH_KIND, venue, f) for side, p, q, f in rows])
        else:
            out.extend([(t, recv, p, q, sid, side, _DEPTH_KIND, venue, f) for side, p, q, f in rows])
        n += len(rows)
    return n


#: venue code -> the name the depth books use (a dict lookup: ``Venue(code).name.lower()`` costs ~0.5 us a line)
_VENUE_NAMES = {int(v): v.name.lower() for v in Venue}
_NAN = float("nan")



class LineDecoder:
    """Decodes the line-oriented recording formats for :func:`liqcore.io.load_events`.

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
        return _bybit.parse_liquidation_items(res.get("data"), sink, sym if sym.__class__ is str else None)

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

    def _scan(self, data: bytes, st, first_line: int = 0) -> None:
        """Compiled path: every matching line converted in C; the others go line by line."""
        sink = self.sink
        ev, others = _SCAN.scan_lines(data, self.fmt != "recorder", self.fmt != "raw", sink._ids, sink.sid)
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
            for key in set(keys):
                if key not in ids:
                    ids[key] = sink.sid(key[0], key[1].decode())
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
        sid_of = sink.sid
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
                            sid = ids[key] = sid_of(venue, sym.decode())
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
            _binance.parse_force_order(obj, sink)
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
