"""Reference twin of ``liqcore.venues._scan.LiveScan``: the live decoder's compiled fast path, written
with regular expressions and plain Python.

A frame is one of these compact shapes exactly (an optional trailing ``\\r``), else ``None`` (the
decoder then takes its checked JSON path):

* Bybit ``{"topic":"allLiquidation.SYM","type":"snapshot","ts":INT,"data":[ITEM(,ITEM){0,63}]}``,
  ITEM ``{"T":T13,"s":"SYM","S":"Buy|Sell","v":"DEC","p":"DEC"}`` (Buy: a LONG liquidated -> side 1);
* Bybit legacy ``{"topic":"liquidation.SYM","type":"snapshot","ts":INT,"data":{"updatedTime":T13,
  "symbol":"SYM","side":"Buy|Sell","size":"DEC","price":"DEC"}}`` (flags SAMPLED);
* Binance ``{"e":"forceOrder","E":INT,"o":{"s":"SYM","S":"BUY|SELL","o":"W20","f":"U5","q":"DEC",
  "p":"DEC","ap":"DEC","X":"W20","l":"DEC","z":"DEC","T":T13}}`` (SELL: a LONG -> side 1; price ap,
  qty z; flags SAMPLED), raw or as ``{"stream":"NAME","data":<that>}``;
* OKX ``{"arg":{"channel":"liquidation-orders","instType":"STR"},"data":[{"details":[{"bkLoss":"STR",
  "bkPx":"DEC","ccy":"STR","posSide":"STR","side":"buy|sell","sz":"DEC","ts":"T13"}],
  "instFamily":"STR","instId":"INST","instType":"STR","uly":"STR"}]}`` (order side sell: a LONG ->
  side 1; qty = sz x ctVal; an instId without ctVal -> None; flags SAMPLED).

INT = JSON integer of 1..16 digits; T13 = 13 digits without a leading zero; SYM = [A-Z0-9]{1,40};
INST = [A-Z0-9-]{1,40}; W20 = [A-Z_]{1,20}; U5 = [A-Z]{1,5}; DEC = (0|[1-9][0-9]*)(.[0-9]+)? of at
most 60 characters; NAME / STR = printable ASCII without ``"`` or ``\\`` (1..100 / 0..64).  Values
must pass: time in 2000..2100, price and quantity finite and > 0 (before the ctVal product).
"""
from __future__ import annotations

import re

import numpy as np

MS_MIN = 946_684_800_000
MS_MAX = 4_102_444_800_000
RECV_CLOCK_MIN = 946_684_800_000_000_000
MAX_ITEMS = 64
_INF = float("inf")

_DEC = rb"((?:0|[1-9][0-9]*)(?:\.[0-9]+)?)"
_SYM = rb"([A-Z0-9]{1,40})"
_INT = rb"(?:0|[1-9][0-9]{0,15})(?![0-9])"
_T13 = rb"([1-9][0-9]{12})(?![0-9])"
_STR = rb'[\x20\x21\x23-\x5b\x5d-\x7e]{0,64}'
_NAME = rb'[\x20\x21\x23-\x5b\x5d-\x7e]{1,100}'

_ALL_HEAD = re.compile(rb'\{"topic":"allLiquidation\.[A-Z0-9]{1,40}","type":"snapshot","ts":' + _INT + rb',"data":\[')
_ALL_ITEM = re.compile(rb'\{"T":' + _T13 + rb',"s":"' + _SYM + rb'","S":"(Buy|Sell)","v":"' + _DEC + rb'","p":"'
                       + _DEC + rb'"\}')
_LEGACY = re.compile(rb'\{"topic":"liquidation\.[A-Z0-9]{1,40}","type":"snapshot","ts":' + _INT
                     + rb',"data":\{"updatedTime":' + _T13 + rb',"symbol":"' + _SYM + rb'","side":"(Buy|Sell)","size":"'
                     + _DEC + rb'","price":"' + _DEC + rb'"\}\}')
_FORCE = (rb'\{"e":"forceOrder","E":' + _INT + rb',"o":\{"s":"' + _SYM + rb'","S":"(BUY|SELL)","o":"[A-Z_]{1,20}",'
          rb'"f":"[A-Z]{1,5}","q":"' + _DEC + rb'","p":"' + _DEC + rb'","ap":"' + _DEC + rb'","X":"[A-Z_]{1,20}",'
          rb'"l":"' + _DEC + rb'","z":"' + _DEC + rb'","T":' + _T13 + rb'\}\}')
_BINANCE = re.compile(_FORCE)
_COMBINED = re.compile(rb'\{"stream":"' + _NAME + rb'","data":' + _FORCE + rb'\}')
_OKX = re.compile(rb'\{"arg":\{"channel":"liquidation-orders","instType":"' + _STR + rb'"\},"data":\[\{"details":\[\{'
                  rb'"bkLoss":"' + _STR + rb'","bkPx":"' + _DEC + rb'","ccy":"' + _STR + rb'","posSide":"' + _STR
                  + rb'","side":"(buy|sell)","sz":"' + _DEC + rb'","ts":"' + _T13 + rb'"\}\],"instFamily":"' + _STR
                  + rb'","instId":"([A-Z0-9-]{1,40})","instType":"' + _STR + rb'","uly":"' + _STR + rb'"\}\]\}')


def _num(b: bytes):
    return float(b) if len(b) <= 60 else None


def parse(frame: bytes, venue: int):
    """The events of a fast-shape frame as ``(venue, symbol bytes, side, flags, t_ms, price, qty)``
    (qty before any ctVal), or None.  ``venue``: 0 any, 1 Bybit, 2 Binance, 3 OKX."""
    if frame.endswith(b"\r"):
        frame = frame[:-1]
    items = []
    if venue in (0, 1) and frame.startswith(b'{"topic":"allLiquidation.'):
        m = _ALL_HEAD.match(frame)
        if m is None:
            return None
        pos = m.end()
        while True:
            if len(items) >= MAX_ITEMS:
                return None
            it = _ALL_ITEM.match(frame, pos)
            if it is None:
                return None
            t, sym, sd, v, p = it.groups()
            items.append((1, sym, 1 if sd == b"Buy" else 2, 0, t, p, v))
            pos = it.end()
            if frame[pos:pos + 1] == b",":
                pos += 1
                continue
            if frame[pos:] == b"]}":
                break
            return None
    elif venue in (0, 1) and frame.startswith(b'{"topic":"liquidation.'):
        m = _LEGACY.fullmatch(frame)
        if m is None:
            return None
        t, sym, sd, v, p = m.groups()
        items.append((1, sym, 1 if sd == b"Buy" else 2, 8, t, p, v))
    elif venue in (0, 2) and frame.startswith(b'{"e"'):
        m = _BINANCE.fullmatch(frame)
        if m is None:
            return None
        sym, sd, _q, _p, ap, _l, z, t = m.groups()
        items.append((2, sym, 1 if sd == b"SELL" else 2, 8, t, ap, z))
    elif venue in (0, 2) and frame.startswith(b'{"stream":"'):
        m = _COMBINED.fullmatch(frame)
        if m is None:
            return None
        sym, sd, _q, _p, ap, _l, z, t = m.groups()
        items.append((2, sym, 1 if sd == b"SELL" else 2, 8, t, ap, z))
    elif venue in (0, 3) and frame.startswith(b'{"arg"'):
        m = _OKX.fullmatch(frame)
        if m is None:
            return None
        p, sd, v, t, inst = m.groups()
        items.append((3, inst, 1 if sd == b"sell" else 2, 8, t, p, v))
    else:
        return None
    out = []
    for ven, sym, side, flags, t, p, v in items:
        price, qty = _num(p), _num(v)
        t = int(t)
        if price is None or qty is None or not (MS_MIN <= t <= MS_MAX and 0.0 < price < _INF and 0.0 < qty < _INF):
            return None
        out.append((ven, sym, side, flags, t, price, qty))
    return out


class LiveScan:
    """Same interface and state as the compiled ``LiveScan`` (see there)."""

    def __init__(self, venue, ids, sid_of, counters, seen, ring, horizon, skew, instruments):
        self.venue, self.ids, self.sid_of, self.counters = venue, ids, sid_of, counters
        self.seen, self.ring, self.horizon, self.skew, self.instruments = seen, ring, horizon, skew, instruments

    def _prepare(self, frame: bytes, recv_ns: int):
        items = parse(frame, self.venue)
        if items is None:
            return None
        if items[0][0] == 3:
            ct = self.instruments.get(items[0][1].decode())
            if ct is None:
                return None
            v, s, side, flags, t, p, q = items[0]
            items[0] = (v, s, side, flags, t, p, q * float(ct))
        sids = []
        for v, s, *_ in items:
            key = (v, s)
            sid = self.ids.get(key)
            if sid is None:
                try:
                    sid = self.sid_of(v, s.decode())
                except Exception:  # noqa: BLE001 - the checked path names the reason
                    return None
                self.ids[key] = sid
            sids.append(sid)
        c = self.counters
        c["frames"] += 1
        rows = []
        future = 0
        for (v, s, side, flags, t, p, q), sid in zip(items, sids):
            if t * 1_000_000 - recv_ns > self.skew and recv_ns >= RECV_CLOCK_MIN:
                future += 1
                continue
            rows.append((t * 1_000_000, recv_ns, p, q, sid, side, 1, v, flags))
        if future:
            c["future_time"] += future
            if not rows:
                c["rejected_frames"] += 1
                return []
        c["accepted_frames"] += 1
        out = []
        dup = 0
        for r in rows:
            if self.horizon:
                key = (r[0], r[4], r[5], r[2], r[3])
                if key in self.seen:
                    dup += 1
                    continue
                self.seen.add(key)
                self.ring.append(key)
                if len(self.ring) > self.horizon:
                    self.seen.discard(self.ring.popleft())
            out.append(r)
        if dup:
            c["duplicate"] += dup
        if out:
            c["events"] += len(out)
        return out

    def rows(self, frame: bytes, recv_ns: int):
        return self._prepare(frame, recv_ns)

    def array(self, frame: bytes, recv_ns: int):
        from liqcore.types import EVENT_DTYPE

        rows = self._prepare(frame, recv_ns)
        return None if rows is None else np.array(rows, dtype=EVENT_DTYPE)


class StreamKeys:
    """Twin of ``liqcore.venues._scan.StreamKeys``: the silent-stream watch's per-frame stamp, ``stamp(payload,
    recv_ns)`` storing ``recv_ns`` in ``last`` under the frame's stream key (the reference form of
    ``liqcore.live.silence.frame_key``, written out here), nothing for a frame without one."""

    def __init__(self, venue: str, last: dict):
        if venue not in ("bybit", "binance", "okx"):
            raise ValueError(f"venue: expected bybit, binance or okx; got {venue!r}")
        self.venue, self.last = venue, last

    def key(self, payload: bytes):
        if self.venue == "bybit":
            return payload[10:payload.find(b'"', 10, 96)] if payload.startswith(b'{"topic":"') else None
        if self.venue == "binance":
            if payload.startswith(b'{"stream":"'):
                return payload[11:payload.find(b'"', 11, 96)]
            if not payload.startswith(b'{"e":"'):
                return None
            j = payload.find(b'"', 6, 40)
            k = payload.find(b'"s":"', j)
            return (payload[6:j], payload[k + 5:payload.find(b'"', k + 5)]) if k > 0 else None
        if payload.startswith(b'{"arg":'):
            return payload[7:payload.find(b"}", 7, 160) + 1]
        return None

    def stamp(self, payload: bytes, recv_ns) -> None:
        key = self.key(payload)
        if key is not None:
            self.last[key] = recv_ns
