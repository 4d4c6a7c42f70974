"""Depth-stream protocol state machines (one per venue), shared by the live path and the reader.

Each ``feed_*`` call takes one decoded message and returns the DEPTH rows it yields, as tuples
``(side, price, qty, flags)`` (side BUY = bid, SELL = ask; qty = the level's new total, 0 removes it;
SNAPSHOT rows replace the book; one DEPTH_GAP row, price 0 qty 0, marks a break) plus whether the
caller must re-snapshot (Binance: fetch ``/fapi/v1/depth`` again; OKX: re-subscribe).  The rules are
in docs/live.md ("Depth streams").
"""
from __future__ import annotations

import zlib

from liqcore.types import Flag, Side

GAP = (int(Side.BUY), 0.0, 0.0, int(Flag.DEPTH_GAP))


def _levels(side, levels, flags):
    return [(int(side), float(p), float(q), flags) for p, q, *_ in levels]


class BinanceDepthSync:
    """USD-M diff depth: buffer events, snapshot lastUpdateId, drop u < lastUpdateId, the first applied
    event has U <= lastUpdateId <= u, then each event's pu equals the previous event's u."""

    def __init__(self):
        self.last_update_id = None  # from the REST snapshot
        self.prev_u = None
        self.buffer = []

    def snapshot(self, snap: dict) -> list:
        self.last_update_id = int(snap["lastUpdateId"])
        self.prev_u = None
        rows = _levels(Side.BUY, snap["bids"], int(Flag.SNAPSHOT)) + _levels(Side.SELL, snap["asks"], int(Flag.SNAPSHOT))
        buffered, self.buffer = self.buffer, []
        for ev in buffered:
            out, resync = self.event(ev)
            rows += out
            if resync:
                break
        return rows

    def event(self, ev: dict) -> tuple[list, bool]:
        if self.last_update_id is None:
            self.buffer.append(ev)
            return [], False
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

    def message(self, msg: dict) -> tuple[list, bool]:
        data, kind = msg["data"], msg["type"]
        u = int(data["u"])
        if kind == "snapshot":
            rows = [GAP] if (u == 1 and self.u is not None) else []  # u=1: the service restarted
            self.u = u
            f = int(Flag.SNAPSHOT)
            return rows + _levels(Side.BUY, data["b"], f) + _levels(Side.SELL, data["a"], f), False
        if self.u is None:
            return [], False
        if u <= self.u:
            self.u = None
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
    """v5 books: snapshot then updates; prevSeqId must equal the previous seqId; the checksum of the
    rebuilt top 25 must match; a break re-subscribes."""

    def __init__(self):
        self.seq = None
        self.bids: dict = {}
        self.asks: dict = {}

    def _book_top(self):
        b = sorted(self.bids.items(), key=lambda kv: -float(kv[0]))[:25]
        a = sorted(self.asks.items(), key=lambda kv: float(kv[0]))[:25]
        return [list(x) for x in b], [list(x) for x in a]

    def message(self, msg: dict) -> tuple[list, bool]:
        data = msg["data"][0]
        if msg.get("action") == "snapshot":
            self.bids = {p: q for p, q, *_ in data["bids"]}
            self.asks = {p: q for p, q, *_ in data["asks"]}
            f = int(Flag.SNAPSHOT)  # the break (if any) was marked when it was found
            rows = _levels(Side.BUY, data["bids"], f) + _levels(Side.SELL, data["asks"], f)
        else:
            if self.seq is None:
                return [], False
            if int(data["prevSeqId"]) != self.seq:
                self.seq = None
                return [GAP], True
            for book, levels in ((self.bids, data["bids"]), (self.asks, data["asks"])):
                for p, q, *_ in levels:
                    if float(q) == 0:
                        book.pop(p, None)
                    else:
                        book[p] = q
            rows = _levels(Side.BUY, data["bids"], 0) + _levels(Side.SELL, data["asks"], 0)
        self.seq = int(data["seqId"])
        if okx_checksum(*self._book_top()) != int(data["checksum"]):
            self.seq = None
            return rows + [GAP], True
        return rows, False


def _frame_symbol_msg(venue: str, frame: dict):
    """(symbol, message) of one recorded depth frame, or None when the frame is not depth."""
    if venue == "binance":
        data = frame.get("data", frame)
        if isinstance(data, dict) and data.get("e") == "depthUpdate":
            return data["s"], data
    elif venue == "bybit":
        topic = frame.get("topic", "")
        if topic.startswith("orderbook."):
            return topic.rsplit(".", 1)[1], frame
    elif venue == "okx":
        arg = frame.get("arg") or {}
        if arg.get("channel") == "books" and "data" in frame:
            return arg["instId"], frame
    return None


def depth_rows_from_lines(lines, counts: dict | None = None):
    """Recorded lines (dicts: ``recv_ns``, ``venue`` and one of ``frame``, ``rest`` (a Binance
    ``/fapi/v1/depth`` answer with its ``symbol``) or ``gap``) -> ``(recv_ns, venue, symbol, side, price,
    qty, flags)`` rows.  A frame that fails to parse is counted in ``counts['bad_frames']`` and dropped."""
    counts = counts if counts is not None else {}
    counts.setdefault("bad_frames", 0)
    syncs: dict = {}
    kinds = {"binance": BinanceDepthSync, "bybit": BybitDepthSync, "okx": OkxDepthSync}
    for line in lines:
        try:
            venue, recv = line["venue"], int(line["recv_ns"])
            if "gap" in line:  # the feed was lost: every book of the venue is unknown
                for (v, sym), s in list(syncs.items()):
                    if v == venue:
                        syncs[(v, sym)] = kinds[v]()
                        yield (recv, v, sym) + GAP
                continue
            if "rest" in line:
                sym = line["rest"]["symbol"]
                s = syncs.setdefault((venue, sym), BinanceDepthSync())
                rows = s.snapshot(line["rest"]["body"])
            else:
                got = _frame_symbol_msg(venue, line["frame"])
                if got is None:
                    continue
                sym, msg = got
                s = syncs.setdefault((venue, sym), kinds[venue]())
                rows = s.event(msg)[0] if venue == "binance" else s.message(msg)[0]
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            counts["bad_frames"] += 1
            continue
        for r in rows:
            yield (recv, venue, sym) + r
