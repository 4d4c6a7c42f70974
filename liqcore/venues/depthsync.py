"""Depth-stream protocol state machines (one per venue), shared by the live path and the reader.

Each ``feed_*`` call takes one decoded message and returns the DEPTH rows it yields, as tuples
``(side, price, qty, flags)`` (side BUY = bid, SELL = ask; qty = the level's new total, 0 removes it;
SNAPSHOT rows replace the book; one DEPTH_GAP row, price 0 qty 0, marks a break) plus whether a break
was found; ``wants_snapshot()`` says when the caller must get a snapshot (Binance: ``GET /fapi/v1/depth``;
OKX: ``GET /api/v5/market/books``; Bybit: re-subscribe).  :class:`DepthLines` runs them over recorded
lines.  The rules are in docs/explanation/live-engine.md ("Depth streams").
"""
from __future__ import annotations

import zlib

from liqcore.types import Flag, Side
from liqcore.venues.numbers import wire_number

GAP = (int(Side.BUY), 0.0, 0.0, int(Flag.DEPTH_GAP))
#: what a depth message that does not parse raises in these machines (orjson's JSONDecodeError is a ValueError)
MESSAGE_ERRORS = (KeyError, TypeError, ValueError, IndexError, AttributeError)


def _levels(side, levels, flags):
    side = int(side)
    return [(side, wire_number(x[0]), wire_number(x[1]), flags) for x in levels]


def keep_for_snapshot(sync, ev) -> tuple[list, bool]:
    """An update that waits for the REST snapshot: kept in ``sync.buffer`` (the oldest dropped beyond
    ``sync.MAX_BUFFER``: the snapshot is newer anyway); no rows yet."""
    sync.buffer.append(ev)
    if len(sync.buffer) > sync.MAX_BUFFER:
        del sync.buffer[0]
    return [], False


def replay_buffer(sync, rows: list) -> list:
    """``rows`` (a snapshot's) and then the kept updates through ``sync.event``, up to a break."""
    buffered, sync.buffer = sync.buffer, []
    for ev in buffered:
        out, resync = sync.event(ev)
        rows += out
        if resync:
            break
    return rows


class BinanceDepthSync:
    """USD-M diff depth: buffer events, snapshot lastUpdateId, drop u < lastUpdateId, the first applied
    event has U <= lastUpdateId <= u, then each event's pu equals the previous event's u."""

    #: events kept while the snapshot is fetched (the oldest dropped beyond: the snapshot is newer anyway)
    MAX_BUFFER = 10_000

    def __init__(self):
        self.last_update_id = None  # from the REST snapshot
        self.prev_u = None
        self.buffer = []

    def wants_snapshot(self) -> bool:
        """Events wait for a REST snapshot (the caller fetches one)."""
        return self.last_update_id is None and bool(self.buffer)

    def is_live(self) -> bool:
        """The book follows the stream (a snapshot taken, no break since): another snapshot adds nothing."""
        return self.last_update_id is not None

    def snapshot(self, snap: dict) -> list:
        self.last_update_id = int(snap["lastUpdateId"])
        self.prev_u = None
        rows = _levels(Side.BUY, snap["bids"], int(Flag.SNAPSHOT)) + _levels(Side.SELL, snap["asks"], int(Flag.SNAPSHOT))
        return replay_buffer(self, rows)

    def event(self, ev: dict) -> tuple[list, bool]:
        if self.last_update_id is None:
            return keep_for_snapshot(self, ev)
        big_u, u, pu = int(ev["U"]), int(ev["u"]), int(ev["pu"])
        if self.prev_u is None:
            if u < self.last_update_id:
                return [], False
            if not (big_u <= self.last_update_id <= u):
                return self._gap(ev)
        elif pu != self.prev_u:
            return self._gap(ev)
        self.prev_u = u
        return _levels(Side.BUY, ev["b"], 0) + _levels(Side.SELL, ev["a"], 0), False

    def _gap(self, ev):
        self.last_update_id, self.prev_u, self.buffer = None, None, [ev]
        return [GAP], True


class BybitDepthSync:
    """v5 orderbook.N: a snapshot replaces the book (u=1 means the service restarted); deltas must
    follow a snapshot with increasing u; size "0" deletes."""

    def __init__(self):
        self.u = None
        self.broken = False  # a break seen: deltas are dropped until a snapshot (the caller re-subscribes)

    def wants_snapshot(self) -> bool:
        """A break waits for a snapshot: the caller re-subscribes the topic (Bybit sends one on subscribe)."""
        return self.broken

    def message(self, msg: dict) -> tuple[list, bool]:
        data, kind = msg["data"], msg["type"]
        u = int(data["u"])
        if kind == "snapshot":
            rows = [GAP] if (u == 1 and self.u is not None) else []  # u=1: the service restarted
            self.u, self.broken = u, False
            f = int(Flag.SNAPSHOT)
            return rows + _levels(Side.BUY, data["b"], f) + _levels(Side.SELL, data["a"], f), False
        if self.u is None:
            return [], False
        if u <= self.u:
            self.u, self.broken = None, True
            return [GAP], True
        self.u = u
        return _levels(Side.BUY, data["b"], 0) + _levels(Side.SELL, data["a"], 0), False


def okx_checksum(bids: list, asks: list) -> int:
    """CRC32 (signed 32-bit) over the top 25 levels, interleaved bid:ask as 'price:size' strings."""
    parts = []
    for i in range(25):
        if i < len(bids):
            parts += bids[i][:2]
        if i < len(asks):
            parts += asks[i][:2]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= (1 << 31) else crc


class OkxDepthSync:
    """v5 ``books``: updates whose ``prevSeqId`` equals the previous message's ``seqId``, on a book from a
    REST snapshot (``GET /api/v5/market/books``, with its ``seqId``: the channel sends no snapshot of its own
    since OKX delisted it): updates that come before it are buffered; a snapshot older than the first
    buffered update (its ``seqId`` < that update's ``prevSeqId``) is asked for again; buffered updates with
    ``seqId`` <= the snapshot's are dropped and the first applied one has ``prevSeqId`` <= the snapshot's
    ``seqId`` < its ``seqId``.  A ``snapshot`` message in the stream (recordings made before the delisting)
    replaces the book as it did.  The ``checksum`` is checked only where it is not 0 (OKX sends 0 since it
    deprecated the field); a break re-fetches the snapshot."""

    #: updates kept while the snapshot is fetched (the oldest dropped beyond: the snapshot is newer anyway)
    MAX_BUFFER = 10_000

    def __init__(self):
        self.seq = None
        self.bids: dict = {}
        self.asks: dict = {}
        self.buffer: list = []

    def wants_snapshot(self) -> bool:
        """Updates wait for a REST snapshot (the caller fetches one)."""
        return self.seq is None and bool(self.buffer)

    def is_live(self) -> bool:
        """The book follows the stream (a snapshot taken, no break since): another snapshot adds nothing."""
        return self.seq is not None

    def _book_top(self):
        b = sorted(self.bids.items(), key=lambda kv: -wire_number(kv[0]))[:25]
        a = sorted(self.asks.items(), key=lambda kv: wire_number(kv[0]))[:25]
        return [list(x) for x in b], [list(x) for x in a]

    def _apply(self, data) -> list:
        for book, levels in ((self.bids, data["bids"]), (self.asks, data["asks"])):
            for p, q, *_ in levels:
                if wire_number(q) == 0:
                    book.pop(p, None)
                else:
                    book[p] = q
        return _levels(Side.BUY, data["bids"], 0) + _levels(Side.SELL, data["asks"], 0)

    def _checked(self, rows: list, data) -> tuple[list, bool]:
        cs = int(data.get("checksum") or 0)
        if cs != 0 and okx_checksum(*self._book_top()) != cs:
            self.seq, self.buffer = None, []
            return rows + [GAP], True
        return rows, False

    def message(self, msg: dict) -> tuple[list, bool]:
        data = msg["data"][0]
        if msg.get("action") == "snapshot":
            self.bids = {p: q for p, q, *_ in data["bids"]}
            self.asks = {p: q for p, q, *_ in data["asks"]}
            self.buffer = []
            f = int(Flag.SNAPSHOT)  # the break (if any) was marked when it was found
            rows = _levels(Side.BUY, data["bids"], f) + _levels(Side.SELL, data["asks"], f)
            self.seq = int(data["seqId"])
            return self._checked(rows, data)
        seq, prev = int(data["seqId"]), int(data["prevSeqId"])
        if self.seq is None:  # no book yet: kept until the snapshot
            self.buffer.append(msg)
            if len(self.buffer) > self.MAX_BUFFER:
                del self.buffer[0]
            return [], False
        if prev != self.seq:
            self.seq, self.buffer = None, [msg]
            return [GAP], True
        rows = self._apply(data)
        self.seq = seq
        return self._checked(rows, data)

    def snapshot(self, body: dict) -> list:
        """A REST ``GET /api/v5/market/books`` answer (the whole body, or its ``data[0]``): the book, then the
        buffered updates that follow it.  Returns its rows; :meth:`wants_snapshot` says whether another one
        is needed (this one older than the stream, or the buffered updates do not continue it)."""
        d = body["data"][0] if "data" in body else body
        snap = int(d["seqId"])
        buffered = self.buffer
        if buffered and snap < int(buffered[0]["data"][0]["prevSeqId"]):
            return []  # older than the first buffered update: asked for again (wants_snapshot)
        self.bids = {p: q for p, q, *_ in d["bids"]}
        self.asks = {p: q for p, q, *_ in d["asks"]}
        f = int(Flag.SNAPSHOT)
        rows = _levels(Side.BUY, d["bids"], f) + _levels(Side.SELL, d["asks"], f)
        self.seq, self.buffer = snap, []
        first = True
        for i, m in enumerate(buffered):
            md = m["data"][0]
            if int(md["seqId"]) <= snap:
                continue
            if first:
                first = False
                if not int(md["prevSeqId"]) <= snap < int(md["seqId"]):
                    self.seq, self.buffer = None, buffered[i:]
                    return rows + [GAP]
                self.seq = int(md["prevSeqId"])  # (the chain starts at the snapshot)
            out, resync = self.message(m)
            rows += out
            if resync:  # a break inside the buffered updates: the rest wait for the next snapshot
                self.buffer = self.buffer + buffered[i + 1:]
                break
        return rows


#: OKX channels of the ``books`` protocol (seqId / prevSeqId)
OKX_BOOKS = frozenset({"books", "books-l2-tbt", "books50-l2-tbt"})


def _protocol(venue: str):
    """Another venue's depth protocol: its ``market`` part's ``DEPTH_PROTOCOL`` (an object with ``sync()``, a new
    machine with ``message``/``snapshot``/``wants_snapshot``/``is_live``; ``HEAD``, the bytes that tell a depth
    frame; ``message(frame)``, (symbol, message) or None; ``event_ms(message)``; ``snapshot_ms(body)``), else
    None."""
    from liqcore.venues.registry import spec_or_none

    spec = spec_or_none(venue)
    if spec is None or not spec.has_part("market"):
        return None
    return getattr(spec.part("market"), "DEPTH_PROTOCOL", None)


def _frame_symbol_msg(venue: str, frame: dict):
    """(symbol, message) of one recorded depth frame, or None when the frame is not depth (Bybit
    ``orderbook.1`` is the top of book, read as quotes)."""
    if venue == "binance":
        data = frame.get("data", frame)
        if isinstance(data, dict) and data.get("e") == "depthUpdate":
            return data["s"], data
    elif venue == "bybit":
        topic = frame.get("topic", "")
        if topic.startswith("orderbook.") and not topic.startswith("orderbook.1."):
            return topic.rsplit(".", 1)[1], frame
    elif venue == "okx":
        arg = frame.get("arg") or {}
        if arg.get("channel") in OKX_BOOKS and "data" in frame:
            return arg["instId"], frame
    else:
        proto = _protocol(venue)
        return proto.message(frame) if proto is not None else None
    return None


#: the heads that tell a depth frame of each venue without decoding it (in its first 160 bytes)
_DEPTH_HEADS = {"binance": b'"depthUpdate"', "bybit": b'"orderbook.', "okx": b'"books'}


def is_depth_payload(venue: str, payload: bytes) -> bool:
    """Whether a raw frame of ``venue`` may be a depth message (told by its head, not decoded; Bybit
    ``orderbook.1`` is the top of book)."""
    head = payload[:160]
    if venue not in _DEPTH_HEADS:
        proto = _protocol(venue)
        return proto is not None and proto.HEAD in head
    return _DEPTH_HEADS[venue] in head and not (venue == "bybit" and b'"orderbook.1.' in head)


def is_depth_frame(venue: str, frame) -> bool:
    """Whether a decoded frame (dict) of ``venue`` is a depth message (:func:`_frame_symbol_msg`)."""
    try:
        return frame.__class__ is dict and _frame_symbol_msg(venue, frame) is not None
    except (AttributeError, TypeError, KeyError):
        return False


def _ms(v) -> int | None:
    try:
        return wire_number(v, int) * 1_000_000
    except (TypeError, ValueError):
        return None


def _event_ms(venue: str, msg: dict):
    """The venue's own time of a depth message (ms), or None."""
    if venue == "binance":
        return msg.get("E")
    if venue == "bybit":
        return msg.get("ts")
    if venue != "okx":
        proto = _protocol(venue)
        return proto.event_ms(msg) if proto is not None else None
    d = msg.get("data")
    return d[0].get("ts") if isinstance(d, list) and d and isinstance(d[0], dict) else None


_KINDS = {"binance": BinanceDepthSync, "bybit": BybitDepthSync, "okx": OkxDepthSync}


def _new_sync(venue: str):
    kind = _KINDS.get(venue)
    if kind is not None:
        return kind()
    proto = _protocol(venue)
    if proto is None:
        raise KeyError(venue)
    return proto.sync()


class DepthLines:
    """Recorded depth lines -> DEPTH rows, one protocol state machine per (venue, symbol); the recorder
    runs the same one on the lines it writes, so that it asks for a snapshot exactly when the reader of
    its file will need one (:meth:`wanting`).  Each call returns ``(symbol, ts_event_ns or None, rows)``: rows
    are ``(side, price, qty, flags)``, all of the message's time.  Raises KeyError / TypeError / ValueError /
    IndexError / AttributeError on a message that does not parse (the caller counts and drops it)."""

    def __init__(self):
        self.syncs: dict = {}

    def _sync(self, venue: str, sym: str):
        s = self.syncs.get((venue, sym))
        if s is None:
            s = self.syncs[(venue, sym)] = _new_sync(venue)
        return s

    def frame(self, venue: str, frame: dict):
        """One depth frame (decoded); None when it is not depth."""
        got = _frame_symbol_msg(venue, frame)
        if got is None:
            return None
        sym, msg = got
        s = self._sync(venue, sym)
        rows = s.event(msg)[0] if venue == "binance" else s.message(msg)[0]
        t = _ms(_event_ms(venue, msg))
        return sym, t, rows

    def rest(self, venue: str, rest: dict):
        """A REST snapshot line's ``rest`` (``symbol`` and the venue's answer as ``body``); a book that follows
        the stream already (a snapshot the recorder took for the next hourly file, read here in one pass with
        the file before it) goes on without it."""
        sym = str(rest["symbol"])
        body = rest["body"]
        proto = None if venue in ("binance", "okx") else _protocol(venue)
        if venue not in ("binance", "okx") and proto is None:
            raise ValueError(f"a REST depth snapshot of {venue}")
        s = self._sync(venue, sym)
        d = body["data"][0] if venue == "okx" and "data" in body else body
        if s.is_live():  # (a snapshot the recorder took for the next hourly file: this book goes on without it)
            return sym, None, []
        rows = s.snapshot(body)
        # every row of the line carries the snapshot's time: the buffered updates applied on it come after it
        # in a replay ordered by (receive time, event time)
        t = _ms(proto.snapshot_ms(body) if proto is not None else
                d.get("ts") if venue == "okx" else (d.get("E") or d.get("T")))
        return sym, t, rows

    def reset(self, venue: str, resubscribe: bool = False) -> None:
        """``venue``'s books forgotten (a reader of the next hourly file alone starts with none): each waits for
        its next snapshot; ``resubscribe``: a Bybit book asks for one (:meth:`BybitDepthSync.wants_snapshot`)."""
        for (v, sym) in list(self.syncs):
            if v == venue:
                s = self.syncs[(v, sym)] = _new_sync(v)
                if resubscribe and v == "bybit":
                    s.broken = True

    def gap(self, venue: str) -> list:
        """The venue's feed was lost: each of its books is unknown (one DEPTH_GAP row each) until a new
        snapshot.  Returns [(symbol, None, rows)]."""
        out = []
        for (v, sym) in list(self.syncs):
            if v == venue:
                self.syncs[(v, sym)] = _new_sync(v)
                out.append((sym, None, [GAP]))
        return out

    def wanting(self, venue: str) -> list[str]:
        """The symbols of ``venue`` whose books wait for a snapshot (Binance, OKX: a REST snapshot; Bybit: a
        re-subscription)."""
        return [sym for (v, sym), s in self.syncs.items() if v == venue and s.wants_snapshot()]


def depth_rows_from_lines(lines, counts: dict | None = None):
    """Recorded lines (dicts: ``recv_ns``, ``venue`` and one of ``frame``, ``rest`` (a REST snapshot with its
    ``symbol`` and ``body``) or ``gap``) -> ``(recv_ns, venue, symbol, side, price, qty, flags)`` rows.  A
    frame that fails to parse is counted in ``counts['bad_frames']`` and dropped."""
    counts = counts if counts is not None else {}
    counts.setdefault("bad_frames", 0)
    dl = DepthLines()
    for line in lines:
        try:
            venue, recv = line["venue"], int(line["recv_ns"])
            if "gap" in line:
                got = dl.gap(venue)
            elif "rest" in line:
                got = [dl.rest(venue, line["rest"])]
            else:
                one = dl.frame(venue, line["frame"])
                got = [one] if one is not None else []
        except MESSAGE_ERRORS:
            counts["bad_frames"] += 1
            continue
        for sym, _t, rows in got:
            for r in rows:
                yield (recv, venue, sym) + r
