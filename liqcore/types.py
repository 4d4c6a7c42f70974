"""The data contract: the event dtype, the cascade record dtype, enums and the symbol registry.

Every stream, file and kernel speaks :data:`EVENT_DTYPE` (40 bytes, mirrored by the Cython struct
``Event`` in ``liqcore/_libs/events.pxd``; a contract test compares the two).  Each field's meaning
and units: docs/data.md, "The event contract".

May import: numpy and the standard library only (the ground every layer stands on).  A new kind, flag
or venue goes here, with its row in docs/data.md.
"""
from __future__ import annotations

import threading
from enum import EnumMeta, IntEnum, IntFlag

import numpy as np

__all__ = [
    "EVENT_DTYPE",
    "CASCADE_DTYPE",
    "Side",
    "Kind",
    "Venue",
    "UnknownVenue",
    "add_venue",
    "load_venues",
    "drop_venue",
    "VENUE_CODE_BY_NAME",
    "VENUE_NAME_BY_CODE",
    "VENUE_SPAN",
    "venue_slot",
    "venue_slot_names",
    "venue_registered",
    "Flag",
    "Dominant",
    "RecordKind",
    "EndReason",
    "SymbolRegistry",
    "UnknownSymbolId",
    "default_registry",
    "empty_events",
    "make_events",
    "take_records",
    "side_name",
    "venue_name",
    "NS_PER_MS",
    "DEFAULT_VENUE",
    "NS_PER_S",
]

#: the venue a command or an API call uses when none is named (the one place a venue's name is a default)
DEFAULT_VENUE = "bybit"

NS_PER_US = 1_000
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000


class Side(IntEnum):
    """Side of an event. Liquidations: the liquidated position. Trades: the taker (aggressor)."""

    NONE = 0
    LONG = 1  # a long position was liquidated (forced SELL: Bybit "Buy", Binance "SELL", OKX "sell")
    SHORT = 2  # a short position was liquidated (forced BUY)
    BUY = 3  # taker bought
    SELL = 4  # taker sold


class Kind(IntEnum):
    """What an event row is (the event contract's ``kind`` column): a liquidation, a trade, a mark price, a
    funding rate, a feed gap, an open-interest reading, a top-of-book quote or one L2 depth level.  Its
    ``side``, ``price`` and ``qty`` read by the kind: a liquidation's side is the liquidated position
    (:class:`Side` ``LONG``/``SHORT``), a trade's the taker (``BUY``/``SELL``)."""

    LIQUIDATION = 1
    TRADE = 2
    MARK = 3
    FUNDING = 4
    GAP = 5  # feed gap: open cascades of the symbol (or of the whole venue when symbol_id == -1) end
    OPEN_INTEREST = 6
    QUOTE = 7  # top of book: one row per side (BUY = best bid, SELL = best ask), price and displayed size
    #: one L2 price level: side BUY = a bid level, SELL = an ask level; qty = the level's NEW total displayed
    #: size (0 removes the level).  Rows flagged SNAPSHOT form runs that replace the symbol's book; a row
    #: flagged DEPTH_GAP (price 0, qty 0) says the book is unknown until the next snapshot run
    DEPTH = 8


class UnknownVenue(ValueError):
    """A venue name or code no venue is registered for (one line naming the known ones)."""


#: what :func:`load_venues` calls: the venue registry adds its loading of every venue there is (the built-in
#: folders, the plugins of the ``liqcore.venues`` entry point group) when it is imported
VENUE_LOADERS: list = []
_VENUES_LOADED = [False]


def load_venues() -> bool:
    """Registers every venue there is, once (a name or code not known yet may be a plugin's: the lookups here call
    this before they give up) -> whether it ran now (False: it had, or no registry is imported)."""
    if _VENUES_LOADED[0] or not VENUE_LOADERS:
        return False
    _VENUES_LOADED[0] = True
    done = 0
    while done < len(VENUE_LOADERS):  # (a loader may add another: the package's lazy one imports the registry)
        VENUE_LOADERS[done]()
        done += 1
    return True


class _VenueType(EnumMeta):
    """:class:`Venue`'s class: every look-up of a member by name or code, its listing and its count register every
    venue there is first (:func:`load_venues`: Gate's, a plugin's), whatever was imported before."""

    def __getitem__(cls, name):
        if name not in cls._member_map_:
            load_venues()
        return super().__getitem__(name)

    def __getattr__(cls, name):
        if not name.startswith("_") and load_venues():
            member = cls._member_map_.get(name)
            if member is not None:
                return member
        up = getattr(super(), "__getattr__", None)  # (EnumMeta's own, where the Python has one)
        if up is not None:
            return up(name)
        raise AttributeError(f"type object {cls.__name__!r} has no attribute {name!r}")

    def __iter__(cls):
        load_venues()
        return super().__iter__()

    def __len__(cls):
        load_venues()
        return super().__len__()

    def __contains__(cls, value):
        load_venues()
        return super().__contains__(value)

    @property
    def __members__(cls):
        load_venues()
        return super().__members__


class Venue(IntEnum, metaclass=_VenueType):
    """A venue's code (the event contract's ``venue`` column, an ``i1``): the first three here (Bybit, Binance,
    OKX), and every other registered venue's, Gate's and a plugin's (:func:`liqcore.venues.registry.register` adds
    its member through :func:`add_venue`); so ``Venue(code)``, ``Venue[name]``, ``Venue.NAME``, ``Venue.parse``,
    ``.name``, ``list(Venue)`` and ``len(Venue)`` know every one, whatever was imported before."""

    UNKNOWN = 0
    BYBIT = 1
    BINANCE = 2
    OKX = 3

    @classmethod
    def parse(cls, value: "str | int | Venue") -> "Venue":
        if isinstance(value, Venue):
            return value
        if isinstance(value, (int, np.integer)):
            for _ in (0, 1):
                if int(value) in cls._value2member_map_:
                    return cls(int(value))
                if not load_venues():
                    break
            raise UnknownVenue(f"venue: unknown venue code {int(value)} (expected one of {cls._known()})") from None
        key = str(value).strip().upper()
        for _ in (0, 1):
            if key in cls._member_map_:
                return cls[key]
            if not load_venues():
                break
        raise UnknownVenue(f"venue: unknown venue {value!r} (expected one of {cls._known()})") from None

    @classmethod
    def _missing_(cls, value):
        # ``Venue(4)`` for a venue not registered yet (Gate's, a plugin's): register every venue, then look again
        if isinstance(value, (int, np.integer)) and load_venues():
            return cls._value2member_map_.get(int(value))
        return None

    @classmethod
    def _known(cls) -> str:
        load_venues()
        return ", ".join(v.name.lower() for v in cls if v)




class _VenueTable(dict):
    """A name/code table that registers every venue (:func:`load_venues`) before it answers that one is unknown."""

    def __missing__(self, key):
        if load_venues() and dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        raise KeyError(key)

    def get(self, key, default=None):
        if dict.__contains__(self, key) or (load_venues() and dict.__contains__(self, key)):
            return dict.__getitem__(self, key)
        return default


#: venue name (lower case) -> code, every venue but UNKNOWN; venue code -> name (UNKNOWN's "unknown" too).  One
#: object each, kept current by :func:`add_venue` / :func:`drop_venue` (``venues.common.VENUE_BY_NAME`` is the first)
VENUE_CODE_BY_NAME = _VenueTable({v.name.lower(): int(v) for v in Venue if v})
VENUE_NAME_BY_CODE = _VenueTable({int(v): v.name.lower() for v in Venue})
#: the codes of the members written in the class (the others were added by :func:`add_venue`)
_BUILTIN_VENUE_CODES = frozenset(int(v) for v in Venue)
#: the codes the ``i1`` venue column holds for a venue (0 is UNKNOWN)
VENUE_CODES = range(1, 128)
#: how many venue values a packed (symbol, venue) key keeps apart: every value of the ``i1`` venue column, so a
#: key ``(sid + 1) * VENUE_SPAN + venue_slot(venue)`` (the dataset writer's partitions, the readers' symbol
#: tables) never aliases one venue to another or to the next symbol, whatever code a venue is registered with
VENUE_SPAN = 256


def venue_slot(venue):
    """A venue code (or an array of them) as its place in ``0..VENUE_SPAN-1`` (the ``i1`` value as unsigned)."""
    if isinstance(venue, np.ndarray):
        return venue.astype(np.int64) & (VENUE_SPAN - 1)
    return int(venue) & (VENUE_SPAN - 1)


def venue_registered(codes: np.ndarray) -> np.ndarray:
    """Whether each venue code of ``codes`` (any integers) is a registered venue's (0 and the rest: False)."""
    known = np.zeros(VENUE_SPAN, dtype=bool)
    known[[c & (VENUE_SPAN - 1) for c in list(VENUE_NAME_BY_CODE) if c]] = True
    codes = np.asarray(codes, dtype=np.int64)
    return (codes >= VENUE_CODES.start) & (codes < VENUE_CODES.stop) & known[codes & (VENUE_SPAN - 1)]


def venue_slot_names(unknown: str = "") -> list[str]:
    """The name of each venue slot (``venue_slot_names()[venue_slot(code)]``): a registered venue's lower-case
    name, ``unknown`` for code 0 and for a code no venue is registered with."""
    out = [unknown] * VENUE_SPAN
    for code, name in list(VENUE_NAME_BY_CODE.items()):
        if code:
            out[code & (VENUE_SPAN - 1)] = name
    return out


def add_venue(code: int, name: str) -> Venue:
    """The :class:`Venue` member of a venue registered from outside the package: code ``code`` (1..127, not a
    built-in's), name ``name`` (``Venue.ACME``'s ``.name`` is ``"ACME"``).  Adding the same pair again returns the
    member it made; another name for a code already added replaces it (a test registering its own venue again).
    Called by :func:`liqcore.venues.registry.register`, which checks the names and codes of every spec."""
    code, key = int(code), str(name).strip().upper()
    if code not in VENUE_CODES:
        raise ValueError(f"venue code: must be {VENUE_CODES.start}..{VENUE_CODES.stop - 1} (the events' venue column "
                         f"is an i1); got {code}")
    if not key.isidentifier():
        raise ValueError(f"venue name: must be a Python identifier (letters, digits, _); got {name!r}")
    have = Venue._value2member_map_.get(code)
    if have is not None and have.name == key:
        return have
    if code in _BUILTIN_VENUE_CODES:
        raise ValueError(f"venue code {code} is {Venue(code).name.lower()}'s")
    other = Venue._member_map_.get(key)
    if other is not None and int(other) != code:
        raise ValueError(f"venue name {key.lower()!r} has code {int(other)} already")
    if have is not None:
        drop_venue(code)
    member = int.__new__(Venue, code)
    member._name_, member._value_, member.__objclass__ = key, code, Venue
    member._sort_order_ = len(Venue._member_names_)
    Venue._value2member_map_[code] = member
    Venue._member_map_[key] = member
    Venue._member_names_.append(key)
    VENUE_CODE_BY_NAME[key.lower()] = code
    VENUE_NAME_BY_CODE[code] = key.lower()
    return member


def drop_venue(code: int) -> None:
    """Forget a member :func:`add_venue` made (a built-in one stays)."""
    code = int(code)
    if code in _BUILTIN_VENUE_CODES:
        return
    member = Venue._value2member_map_.pop(code, None)
    if member is not None:
        Venue._member_map_.pop(member.name, None)
        VENUE_CODE_BY_NAME.pop(member.name.lower(), None)
        VENUE_NAME_BY_CODE.pop(code, None)
        if member.name in Venue._member_names_:
            Venue._member_names_.remove(member.name)


class Flag(IntFlag):
    """Bits of an event row's ``flags`` column (an ``u1``): where the row came from and how far to trust it
    (synthetic, late, receive time estimated or rebuilt, from a throttled stream, a depth snapshot or gap).
    Several may be set: test one with ``row["flags"] & Flag.LATE``."""

    NONE = 0
    SYNTHETIC = 1  # generated by the synthetic market
    LATE = 2  # ts_event older than an event already seen for the symbol
    RECV_ESTIMATED = 4  # ts_recv = ts_event + configured feed latency (none was recorded)
    SAMPLED = 8  # venue throttles this stream (Binance/OKX: <= 1 liquidation/s/symbol)
    #: the same bit by the name of what it means: a liquidation from a throttled stream (Binance's
    #: forceOrder, OKX's liquidation-orders: at most one per symbol per second, the latest), so
    #: counts and notionals of such events are lower bounds
    THROTTLED = 8
    TIME_RECOVERED = 16  # ts_event rebuilt from another field of the record (a recording's bad time column)
    #: a DEPTH row of a snapshot: a run of consecutive SNAPSHOT rows of one symbol (receive order) replaces
    #: its book (the first snapshot row after a non-snapshot row empties both sides first)
    SNAPSHOT = 32
    #: a DEPTH row (price 0, qty 0) marking a sequence gap in the depth stream (a missed update, a
    #: checksum mismatch, a reconnect): the symbol's book is empty / unknown until the next snapshot run
    DEPTH_GAP = 64


class Dominant(IntEnum):
    """Dominant side of a cascade: which positions were flushed."""

    MIXED = 0
    LONG = 1  # longs liquidated (price dipped)  -> strategy BUYS below
    SHORT = 2  # shorts liquidated (price spiked) -> strategy SELLS above


class RecordKind(IntEnum):
    """What a cascade record is (:data:`CASCADE_DTYPE`'s ``record`` column): ``CONFIRMED`` when the detector
    confirms a cascade (the strategy's decision point), ``ENDED`` when that cascade ends; both carry the same
    ``cascade_id``."""

    CONFIRMED = 1
    ENDED = 2


class EndReason(IntEnum):
    """Why a cascade ended (:data:`CASCADE_DTYPE`'s ``end_reason`` column, set on ``ENDED`` records)."""

    NONE = 0  # not ended (CONFIRMED records)
    EXPIRED = 1  # an event or clock tick arrived later than last_large + window
    GAP = 2  # a feed gap was marked
    FLUSH = 3  # end of input / explicit flush


EVENT_DTYPE = np.dtype(
    [
        ("ts_event", "<i8"),
        ("ts_recv", "<i8"),
        ("price", "<f8"),
        ("qty", "<f8"),
        ("symbol_id", "<i4"),
        ("side", "i1"),
        ("kind", "i1"),
        ("venue", "i1"),
        ("flags", "u1"),
    ],
    align=True,
)
"""The event contract: one aligned 40-byte row per event, the one array type every reader returns and every
kernel reads.  ``ts_event`` (the venue's time) and ``ts_recv`` (when it was received, the time it became
knowable), int64 nanoseconds since the epoch; ``price`` and ``qty`` (float64; ``qty`` in base units, a
contract venue's sizes converted); ``symbol_id`` (the :class:`SymbolRegistry` id); ``side`` (:class:`Side`),
``kind`` (:class:`Kind`), ``venue`` (:class:`Venue`), ``flags`` (:class:`Flag`)."""
assert EVENT_DTYPE.itemsize == 40

CASCADE_DTYPE = np.dtype(
    [
        ("start_ns", "<i8"),
        ("confirm_ns", "<i8"),
        ("confirm_recv_ns", "<i8"),
        ("end_ns", "<i8"),  # last_large at the time of the record (final for ENDED)
        ("emit_ns", "<i8"),  # time of the event/tick that produced the record
        ("event_index", "<i8"),
        ("long_notional", "<f8"),
        ("short_notional", "<f8"),
        ("threshold", "<f8"),
        ("n_events", "<i4"),
        ("n_large", "<i4"),
        ("symbol_id", "<i4"),
        ("cascade_id", "<i4"),  # per-detector counter, same for the CONFIRMED and ENDED of one cascade
        ("record", "i1"),  # RecordKind
        ("dominant", "i1"),  # Dominant
        ("venue", "i1"),
        ("end_reason", "i1"),  # EndReason
        ("_pad", "i4"),
    ],
    align=True,
)
"""A cascade record: one row per detector emission (:class:`RecordKind` ``CONFIRMED`` or ``ENDED``), what
:class:`~liqcore.CascadeDetector` returns.  Times are int64 nanoseconds: ``start_ns`` (the first large
liquidation), ``confirm_ns``, ``confirm_recv_ns`` (the ts_recv of the confirming event: the strategy's decision
time), ``end_ns`` (the last large liquidation so far; final on ``ENDED``), ``emit_ns``; ``event_index`` is the
index, in the detector's input, of the event that caused the record (ties with trades resolve by input order).
``long_notional``/``short_notional`` (quote units) sum the cascade's liquidations per liquidated side,
``threshold`` is the large-liquidation threshold in force (quote units), ``dominant`` the :class:`Dominant`
side, ``end_reason`` the :class:`EndReason`."""


def empty_events(n: int = 0) -> np.ndarray:
    return np.zeros(n, dtype=EVENT_DTYPE)


def take_records(records: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``records[index]`` for a structured array (an integer or boolean ``index``), gathered as opaque
    fixed-size rows: numpy's gather of a structured dtype copies field by field, about 7x slower
    (3 M events: 36 ms instead of 260 ms).  The same values, the same dtype, a new array."""
    if records.ndim != 1 or not records.flags.c_contiguous or records.dtype.hasobject:
        return records[index]
    return records.view(np.dtype((np.void, records.dtype.itemsize)))[index].view(records.dtype)


def make_events(**columns) -> np.ndarray:
    """Build an event array from equal-length columns; missing columns are zero (ts_recv defaults to
    ts_event)."""
    n = None
    for v in columns.values():
        if np.ndim(v) > 0:
            n = len(v)
            break
    if n is None:
        n = 1
    out = np.zeros(n, dtype=EVENT_DTYPE)
    for k, v in columns.items():
        if k not in EVENT_DTYPE.names:
            raise ValueError(f"make_events: unknown field {k!r}")
        out[k] = v
    if "ts_recv" not in columns and "ts_event" in columns:
        out["ts_recv"] = out["ts_event"]
    return out


_SIDE_NAMES = {0: "none", 1: "long", 2: "short", 3: "buy", 4: "sell"}
_DOMINANT_NAMES = {0: "mixed", 1: "long", 2: "short"}


def side_name(side: int) -> str:
    return _SIDE_NAMES.get(int(side), "?")


def dominant_name(d: int) -> str:
    return _DOMINANT_NAMES.get(int(d), "?")


def dominant_of(long_n: float, short_n: float) -> int:
    """The :class:`Dominant` side of a cascade from its long and short liquidated notionals (a tie: MIXED)."""
    if long_n > short_n:
        return int(Dominant.LONG)
    if short_n > long_n:
        return int(Dominant.SHORT)
    return int(Dominant.MIXED)


def venue_name(v: int) -> str:
    try:
        return Venue(int(v)).name.lower()
    except ValueError:
        return "?"


class UnknownSymbolId(IndexError):
    """A symbol id a :class:`SymbolRegistry` never gave (negative, or past its last): one line naming it."""


class SymbolRegistry:
    """Maps (venue, symbol) <-> symbol_id.  Ids are dense, starting at 0, assigned on first sight.

    Thread-safe for ``id()``; ``symbol()`` and ``venue()`` are plain lookups.  A registry travels with
    the event arrays it numbered (loaders return both); Parquet files store venue and symbol names.
    """

    def __init__(self, items=()):
        self._ids: dict[tuple[int, str], int] = {}
        self._rows: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        for venue, symbol in items:
            self.id(venue, symbol)

    def id(self, venue, symbol: str) -> int:
        """The id of ``(venue, symbol)`` (a venue name, code or :class:`Venue`; the symbol in any case), assigned now
        when the registry has not seen it (ValueError: no symbol name)."""
        key = (int(Venue.parse(venue)), str(symbol).upper())
        sid = self._ids.get(key)
        if sid is not None:
            return sid
        if symbol is None or not isinstance(symbol, (str, np.str_)) or not key[1].strip():
            raise ValueError(f"symbol: expected a symbol's name; got {symbol!r}")
        with self._lock:
            sid = self._ids.get(key)
            if sid is None:
                sid = len(self._rows)
                self._rows.append(key)
                self._ids[key] = sid
        return sid

    def get(self, venue, symbol: str) -> int | None:
        """The id of ``(venue, symbol)``, or None when the registry has not seen it (never assigns one)."""
        return self._ids.get((int(Venue.parse(venue)), str(symbol).upper()))

    def _row(self, symbol_id: int) -> tuple[int, str]:
        i = int(symbol_id)
        if not 0 <= i < len(self._rows):  # (never Python's from-the-end: -1 is the contract's venue-wide id)
            raise UnknownSymbolId(f"symbol id {i}: no such id in this registry (it holds {len(self._rows)}: "
                                  f"0..{len(self._rows) - 1})" if self._rows else
                                  f"symbol id {i}: no such id in this registry (it holds none)")
        return self._rows[i]

    def symbol(self, symbol_id: int) -> str:
        """The symbol name (upper case) of an id (UnknownSymbolId: not an id of this registry)."""
        return self._row(symbol_id)[1]

    def venue(self, symbol_id: int) -> Venue:
        """The :class:`Venue` of an id (UnknownSymbolId: not an id of this registry)."""
        return Venue(self._row(symbol_id)[0])

    def lookup(self, symbol_id: int) -> tuple[Venue, str]:
        """``(Venue, symbol name)`` of an id (UnknownSymbolId: not an id of this registry)."""
        v, s = self._row(symbol_id)
        return Venue(v), s

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self):
        for i, (v, s) in enumerate(self._rows):
            yield i, Venue(v), s

    def items(self) -> list[tuple[str, str]]:
        """``(venue name in lower case, symbol)`` of every id, in id order (what ``SymbolRegistry(items)`` takes)."""
        return [(Venue(v).name.lower(), s) for v, s in self._rows]

    def symbols_array(self) -> np.ndarray:
        """The symbol names indexed by id (an object array: ``symbols_array()[events["symbol_id"]]``)."""
        return np.array([s for _, s in self._rows], dtype=object)

    def venues_array(self) -> np.ndarray:
        """The venue codes (:class:`Venue` values, int8) indexed by id."""
        return np.array([v for v, _ in self._rows], dtype=np.int8)

    def merge(self, other: "SymbolRegistry") -> np.ndarray:
        """Add ``other``'s symbols; return the remap array other_id -> self_id."""
        return np.array([self.id(v, s) for _, v, s in other], dtype=np.int32)

    def __repr__(self) -> str:
        return f"SymbolRegistry({len(self)} symbols)"

    # pickling (process pools, dask workers): the lock is per process
    def __getstate__(self):
        return {"rows": list(self._rows)}

    def __setstate__(self, state):
        self._rows = [tuple(r) for r in state["rows"]]
        self._ids = {r: i for i, r in enumerate(self._rows)}
        self._lock = threading.Lock()


default_registry = SymbolRegistry()
"""The process-wide :class:`SymbolRegistry`, used by every reader and kernel when a caller passes none."""
