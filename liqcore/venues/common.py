"""Shared pieces of the venue codecs: the reject signal, number/time coercion and the event sink.

Every codec appends events to a :class:`Sink` as plain tuples in :data:`~liqcore.types.EVENT_DTYPE`
field order ``(ts_event, ts_recv, price, qty, symbol_id, side, kind, venue, flags)`` so that a whole
batch becomes an event array with a single ``np.array(rows, dtype=EVENT_DTYPE)``.

A record-level problem raises :class:`Reject` with a reason (the counter key) and the field name;
the driver counts it and moves on (one item of a frame: :meth:`Sink.reject_item`, which counts any other
exception as ``bad_item``).  ``ts_recv == RECV_UNKNOWN`` marks events whose receive time was
not recorded; the loader replaces it with ``ts_event + feed_latency_ns`` and sets
``Flag.RECV_ESTIMATED``.
"""
from __future__ import annotations

import math

import numpy as np

from liqcore.codes import KIND_NAMES  # the one code -> name table of the event kinds (re-exported)
from liqcore.types import EVENT_DTYPE, VENUE_CODE_BY_NAME, VENUE_NAME_BY_CODE, Flag, Kind, Side, SymbolRegistry
from liqcore.validate import symbol_problem
from liqcore.venues.numbers import wire_number  # (re-exported: the codecs' one reading of a number)

__all__ = [
    "throttle_note",
    "Reject",
    "CONTROL",
    "RECV_UNKNOWN",
    "REJECT_REASONS",
    "Sink",
    "note_unknown_venue",
    "num",
    "wire_number",
    "pos",
    "ms_to_ns",
    "rows_to_events",
    "fill_recv",
    "drop_future",
    "DEFAULT_MAX_CLOCK_SKEW_NS",
    "RECV_CLOCK_MIN_NS",
    "QUOTE_SUFFIXES",
    "side_of",
    "contract_size",
]

#: sentinel ts_recv for "not recorded" (replaced by the loader)
RECV_UNKNOWN = -1
#: returned by a codec for a recognised control frame (subscribe ack, pong, error, ...)
CONTROL = -1

#: the reasons a record or frame can be rejected with (counter keys)
REJECT_REASONS = (
    "malformed_json",  # not JSON (and not a text control frame such as "pong")
    "missing_field",  # a required field is absent (or null)
    "non_numeric",  # a number field holds something else
    "non_finite",  # NaN or infinite
    "non_positive",  # price or size <= 0
    "bad_side",  # a side spelling the venue does not use
    "bad_symbol",  # a symbol that is not a name (outside the venue's alphabet, or too long)
    "bad_time",  # a time outside 2000..2100 (or beyond int64)
    "bad_kind",  # contract files: unknown kind
    "bad_row",  # CSV row with too few columns
    "unknown_topic",  # a frame of a stream the codecs do not decode
    "unknown_instrument",  # OKX instId without a ctVal in the instrument table
    "unknown_venue",  # a venue name that is not bybit/binance/okx
    "unknown_format",  # a line that is not of the file's (forced) format
    "bad_frame",  # a frame shape no codec anticipated (caught, counted; should stay 0)
    "bad_item",  # an item shape no codec anticipated, inside a frame (``Sink.reject_item`` of any other exception)
    "truncated_file",  # a compressed file cut short (everything before the cut is read)
    "wall_clock_time_duplicate",  # aggTrade CSV row with HH:MM:SS time whose twin has the real time
    "not_a_record",  # text around the lines of a log file: recognised, not bad
)

#: quote currencies a Binance symbol may already end with (no "USDT" restoration then)
QUOTE_SUFFIXES = ("USDT", "USDC", "BUSD", "FDUSD")

_LIQ = int(Kind.LIQUIDATION)
_SAMPLED = int(Flag.SAMPLED)


class Reject(Exception):
    """A record (or a whole frame) is unusable: ``reason`` is the counter key, ``field`` the culprit."""

    __slots__ = ("reason", "field")

    def __init__(self, reason: str, field: str = ""):
        super().__init__(reason, field)
        self.reason = reason
        self.field = field

    def __str__(self) -> str:
        return f"{self.reason} ({self.field})" if self.field else self.reason


def num(value, field: str) -> float:
    """A finite float from a JSON number or numeric string (venues send decimals as strings; one with digits grouped
    by ``_`` is ``non_numeric``: :func:`liqcore.venues.numbers.wire_number`)."""
    if value is None:
        raise Reject("missing_field", field)
    if value.__class__ is str:
        try:
            x = wire_number(value)
        except ValueError:
            raise Reject("non_numeric", field) from None
    elif value.__class__ is float or value.__class__ is int:
        x = float(value)
    else:  # bool, list, dict ...
        raise Reject("non_numeric", field)
    if x - x != 0.0:  # nan or inf
        raise Reject("non_finite", field)
    return x


def pos(value, field: str) -> float:
    """A finite, strictly positive float (prices and sizes)."""
    x = num(value, field)
    if x <= 0.0:
        raise Reject("non_positive", field)
    return x


# 2000-01-01 .. 2100-01-01 in ms: anything outside is not a venue event time
_MS_MIN = 946_684_800_000
_MS_MAX = 4_102_444_800_000


def ms_to_ns(value, field: str) -> int:
    """Venue time in ms (int, float or numeric string) -> int ns.  Out of 2000..2100 -> ``bad_time``."""
    cls = value.__class__
    if cls is int:
        ms = value
    elif cls is str:
        try:
            ms = wire_number(value, int)
        except ValueError:
            try:
                f = wire_number(value)
            except ValueError:
                raise Reject("non_numeric", field) from None
            if not math.isfinite(f):
                raise Reject("non_finite", field) from None
            ms = int(f)
    elif cls is float:
        if not math.isfinite(value):
            raise Reject("non_finite", field)
        ms = int(value)
    elif value is None:
        raise Reject("missing_field", field)
    else:
        raise Reject("non_numeric", field)
    if ms < _MS_MIN or ms > _MS_MAX:
        raise Reject("bad_time", field)
    return ms * 1_000_000


class Sink:
    """Per-connection (or per-load) codec state: event rows, counters, symbol ids, merge state.

    Bulk decoders may also add ready-made arrays to ``arrays``; :meth:`events` assembles everything
    in input order.

    ``recv_ns`` is the receive time of the frame being decoded (``RECV_UNKNOWN`` when unrecorded).
    ``instruments`` maps OKX instId -> ctVal.  ``tickers`` holds the Bybit ``tickers.*`` merge state
    per symbol.
    """

    __slots__ = ("rows", "counters", "registry", "_ids", "recv_ns", "instruments", "tickers", "item_rejects", "last", "arrays",
                 "tids", "depth", "unknown_venues")

    def __init__(self, registry: SymbolRegistry | None = None, instruments=None):
        from liqcore.venues.instruments import default_instruments

        self.rows: list = []
        self.counters: dict[str, int] = {}
        self.registry = registry if registry is not None else SymbolRegistry()
        self._ids: dict = {}
        self.recv_ns = RECV_UNKNOWN
        self.instruments = default_instruments() if instruments is None else dict(instruments)
        self.tickers: dict = {}
        self.item_rejects = 0
        self.last: Reject | None = None
        #: event arrays built in bulk, as (position in ``rows`` where they belong, array[, trade ids])
        self.arrays: list = []
        #: the venue's trade id of a row of ``rows`` (row index -> int64; only trades whose source has one)
        self.tids: dict = {}
        #: recorded depth books (liqcore.venues.depthsync.DepthLines), carried from file to file of one load
        self.depth = None
        #: venue name -> records rejected as ``unknown_venue`` that named it (a plugin's venue not installed: the
        #: loader names it, :func:`note_unknown_venue`)
        self.unknown_venues: dict[str, int] = {}

    def sid(self, venue: int, symbol: str) -> int:
        """Symbol id of (venue, symbol), cached (symbols are upper-cased by the registry)."""
        key = (venue, symbol)
        try:
            sid = self._ids.get(key)
        except TypeError:  # unhashable (a list or object where a name belongs)
            raise Reject("bad_symbol", "symbol") from None
        if sid is None:
            if symbol.__class__ is not str or not symbol.strip():
                raise Reject("missing_field" if not symbol else "bad_symbol", "symbol")
            # first sight only (ids are cached): the venue's alphabet and length (liqcore.validate)
            if symbol_problem(venue, symbol) is not None:
                raise Reject("bad_symbol", "symbol")
            sid = self._ids[key] = self.registry.id(venue, symbol)
        return sid

    def events(self) -> np.ndarray:
        """Every event decoded so far (``rows`` and bulk ``arrays`` in input order); clears both."""
        return self.events_and_ids()[0]

    def events_and_ids(self) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`events` and, aligned with them, the venue's trade ids (int64, 0: none), or None when
        no event has one; clears both."""
        rows, arrays, tids = self.rows, self.arrays, self.tids
        self.rows, self.arrays, self.tids = [], [], {}
        pieces, idp = [], []
        prev = 0

        def row_ids(a: int, b: int):
            out = np.zeros(b - a, np.int64)
            for i, t in tids.items():
                if a <= i < b:
                    out[i - a] = t
            return out

        any_ids = bool(tids)
        for item in arrays:
            pos, arr = item[0], item[1]
            if pos > prev:
                pieces.append(np.fromiter(rows[prev:pos], EVENT_DTYPE, pos - prev))
                idp.append((prev, pos))
            pieces.append(arr)
            ids = item[2] if len(item) > 2 else None
            any_ids |= ids is not None
            idp.append(ids if ids is not None else len(arr))
            prev = pos
        if len(rows) > prev or not pieces:
            pieces.append(np.fromiter(rows[prev:], EVENT_DTYPE, len(rows) - prev))
            idp.append((prev, len(rows)))
        ev = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        if not any_ids:
            return ev, None
        parts = [row_ids(*p) if isinstance(p, tuple) else (np.zeros(p, np.int64) if isinstance(p, int)
                                                           else np.asarray(p, np.int64)) for p in idp]
        return ev, (parts[0] if len(parts) == 1 else np.concatenate(parts))

    def count(self, reason: str, n: int = 1) -> None:
        c = self.counters
        c[reason] = c.get(reason, 0) + n

    def reject_item(self, exc: Exception) -> None:
        """Count one bad record inside an otherwise valid frame: a :class:`Reject` under its reason, any other
        exception (an item of a shape the codec did not anticipate: ``AttributeError`` on a number where an object
        belongs) as ``bad_item``.  So ``except Exception as r: sink.reject_item(r)`` around one item's parse keeps
        the rest of the frame whatever that item holds."""
        if not isinstance(exc, Reject):
            exc = Reject("bad_item", type(exc).__name__)
        self.item_rejects += 1
        self.last = exc
        c = self.counters
        c[exc.reason] = c.get(exc.reason, 0) + 1


def note_unknown_venue(sink: Sink, name, n: int = 1) -> None:
    """Keep the name a record rejected as ``unknown_venue`` gave (``n`` of them), so that the load can say which
    venue is not registered (its counter is the reject's own)."""
    key = str(name).strip()[:40] if name is not None else ""
    if key:
        sink.unknown_venues[key] = sink.unknown_venues.get(key, 0) + int(n)


def rows_to_events(rows: list, feed_latency_ns: int | None = None) -> np.ndarray:
    """Event tuples -> EVENT_DTYPE array.  With ``feed_latency_ns``, unrecorded receive times become
    ``ts_event + feed_latency_ns`` flagged RECV_ESTIMATED."""
    if not rows:
        return np.zeros(0, dtype=EVENT_DTYPE)
    out = np.array(rows, dtype=EVENT_DTYPE)
    if feed_latency_ns is not None:
        fill_recv(out, feed_latency_ns)
    return out


def parse_frame(frame, sink: "Sink", parse_obj, recv_ns: int | None = None) -> np.ndarray:
    """One raw frame -> events through a venue's ``parse_obj(obj, sink)``: the body of every venue's
    one-off ``parse``.  Raises :class:`Reject` on malformed JSON or an unusable frame."""
    import orjson

    if recv_ns is not None:
        sink.recv_ns = int(recv_ns)
    try:
        obj = orjson.loads(frame)
    except orjson.JSONDecodeError:
        raise Reject("malformed_json", "frame") from None
    parse_obj(obj, sink)
    return rows_to_events(sink.rows, 0)


def venue_title(code: int) -> str:
    """A venue's name as its users write it in prose (``Binance``, ``OKX``, ``Gate``, a plugin's ``Acme``), from
    the registered venues (:data:`~liqcore.types.VENUE_NAME_BY_CODE`); ``venue code N`` for a code none holds."""
    name = VENUE_NAME_BY_CODE.get(int(code))
    if not name or not int(code):
        return f"venue code {int(code)}"
    return name.upper() if len(name) <= 3 else name[:1].upper() + name[1:]


def throttle_note(events: np.ndarray) -> str | None:
    """The note every result built on liquidations from a throttled stream carries (events flagged
    ``Flag.THROTTLED``: Binance's forceOrder stream, OKX's liquidation-orders, Gate's public_liquidates): None when the events
    hold none.  Those streams push at most one liquidation per symbol per second (the latest), so
    counts and notionals are lower bounds and a cascade's size threshold comes from a biased sample."""
    if events is None or not len(events):
        return None
    liq = events["kind"] == int(Kind.LIQUIDATION)
    thr = liq & ((events["flags"] & int(Flag.THROTTLED)) != 0)
    n = int(np.count_nonzero(thr))
    if not n:
        return None
    venues = " and ".join(venue_title(int(v)) for v in np.unique(events["venue"][thr]))
    return (f"{n:,} of the {int(np.count_nonzero(liq)):,} liquidations come from {venues}'s liquidation stream, "
            "which pushes at most one liquidation per symbol per second (the latest): their counts and notionals "
            "are lower bounds, the P95 size threshold is taken over the liquidations shown (bursts under-represented), "
            "and bursts lose events, so cascades hold fewer events and less notional than on the venue and short "
            "ones can be missed (see docs/data.md)")


#: default clock guard (the ``max-clock-skew`` parameter): an event whose venue time is more than this
#: ahead of its receive time is rejected as ``future_time``
DEFAULT_MAX_CLOCK_SKEW_NS = 5_000_000_000
#: receive times before 2000-01-01 are not clock readings (test stamps, sequence numbers): not compared
RECV_CLOCK_MIN_NS = 946_684_800_000_000_000


def drop_future(events: np.ndarray, max_skew_ns: int | None = DEFAULT_MAX_CLOCK_SKEW_NS) -> tuple[np.ndarray, int]:
    """``(kept, n_dropped)``: events whose ``ts_event`` is more than ``max_skew_ns`` ahead of their
    recorded ``ts_recv`` are dropped (a venue clock that ran ahead, or a corrupt stamp); events without a
    recorded receive time (``RECV_UNKNOWN``, or one before 2000) are kept.  ``None`` disables the check."""
    if max_skew_ns is None or not len(events):
        return events, 0
    recv = events["ts_recv"]
    bad = (recv >= RECV_CLOCK_MIN_NS) & (events["ts_event"] - recv > int(max_skew_ns))
    n = int(np.count_nonzero(bad))
    return (events[~bad] if n else events), n


def fill_recv(events: np.ndarray, feed_latency_ns: int = 0) -> np.ndarray:
    """In place: ts_recv == RECV_UNKNOWN -> ts_event + feed_latency_ns, flag RECV_ESTIMATED."""
    unknown = events["ts_recv"] == RECV_UNKNOWN
    if unknown.any():
        events["ts_recv"][unknown] = events["ts_event"][unknown] + int(feed_latency_ns)
        events["flags"][unknown] |= np.uint8(Flag.RECV_ESTIMATED)
    return events


def contract_size(sink: "Sink", name, field: str) -> float:
    """The base units of one contract of ``name`` (``sink.instruments``: OKX's ctVal, Gate's quanto_multiplier);
    ``missing_field`` (``field``) without a name, ``unknown_instrument`` for one the table does not hold."""
    if name.__class__ is not str or not name:
        raise Reject("missing_field", field)
    v = sink.instruments.get(name)
    if v is None:
        raise Reject("unknown_instrument", name)
    return v


def side_of(table: dict, value, field: str) -> int:
    """Look a side string up in ``table``; anything else is a counted reject (never a TypeError)."""
    if value.__class__ is str:
        side = table.get(value)
        if side is not None:
            return side
        raise Reject("bad_side", field)
    raise Reject("missing_field" if value is None else "bad_side", field)


SIDE_BY_NAME = {
    "long": int(Side.LONG),
    "short": int(Side.SHORT),
    "buy": int(Side.BUY),
    "sell": int(Side.SELL),
    "none": int(Side.NONE),
    "": int(Side.NONE),
}
KIND_BY_NAME = {k.name.lower(): int(k) for k in Kind}
KIND_BY_NAME["oi"] = int(Kind.OPEN_INTEREST)
VENUE_BY_NAME = VENUE_CODE_BY_NAME  # (liqcore.types': a registered venue's name too)


def trade_id(value) -> int:
    """A venue's trade id as an int64 (never 0): a number as it is, anything else (Bybit's UUIDs) by a
    stable 64-bit hash of its text; 0 when there is none.  Only dedupe reads it: two trades with
    different ids are different trades, even at the same time, price, size and side."""
    if value is None or value == "":
        return 0
    if value.__class__ is int:
        return value if -(1 << 63) <= value < (1 << 63) and value else _hash_id(str(value))
    s = str(value)
    if s.isdigit() and len(s) < 19:
        return int(s) or _hash_id(s)
    return _hash_id(s)


def _hash_id(s: str) -> int:
    import hashlib

    h = int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little", signed=True)
    return h or 1
