"""Bybit v5 public linear frames -> events.  Pure functions: no I/O, no asyncio.

``allLiquidation``, legacy ``liquidation``, ``publicTrade``, ``tickers`` (snapshot then deltas, merged per
connection in ``sink.tickers``), ``orderbook.1`` (deeper books counted as ``depth_skipped``) and control
frames.  Each frame's fields, sides and flags: docs/maintainers/data.md, "The venues' websocket frames, decoded",
and docs/data.md, "Sides".

May import: the standard library, numpy, ``venues.common`` and this venue's ``contracts``.
"""
from __future__ import annotations

import numpy as np

from liqcore.venues.bybit.contracts import CONTRACT_USD, inverse_contract_usd
from liqcore.venues.common import (_MS_MAX, _MS_MIN, CONTROL, Reject, Sink, ms_to_ns, num, parse_frame, pos, side_of,
                                   trade_id, wire_number)

__all__ = ["parse_obj", "parse_liquidation_items", "parse_archive_items", "parse", "VENUE", "checked_only", "LIQUIDATION_SIDES", "TRADE_SIDES"]

VENUE = 1  # Venue.BYBIT
_LIQ = 1
_TRADE = 2
_MARK = 3
_FUNDING = 4
_OI = 6
_QUOTE = 7
_NAN = float("nan")
_INF = float("inf")
_SAMPLED = 8  # Flag.SAMPLED: the legacy stream pushed at most one liquidation per symbol per second

#: the side tables (wire value -> liqcore side; the venue page shows them): a liquidation's S names the liquidated
#: position's... "Buy" update = LONG liquidated
LIQUIDATION_SIDES = {"Buy": 1, "Sell": 2, "buy": 1, "sell": 2, "BUY": 1, "SELL": 2}
#: a trade's S: the taker's side
TRADE_SIDES = {"Buy": 3, "Sell": 4, "buy": 3, "sell": 4, "BUY": 3, "SELL": 4}


def parse_liquidation_items(items, sink: Sink, topic_symbol: str | None = None) -> int:
    """Append allLiquidation items ``{"T","s","S","v","p"}``; bad items are counted, not raised."""
    if items.__class__ is dict:
        items = (items,)
    elif items.__class__ is not list:
        raise Reject("missing_field" if items is None else "non_numeric", "data")
    rows = sink.rows
    recv = sink.recv_ns
    ids = sink._ids
    n = 0
    for it in items:
        # fast path: the documented shape with valid values; anything else takes the checked path
        try:
            t = it["T"]
            ps = it["p"]
            vs = it["v"]
            price = wire_number(ps)
            qty = wire_number(vs)
            side = LIQUIDATION_SIDES[it["S"]]
            sid = ids[(VENUE, it["s"])]
            if (
                t.__class__ is int
                and ps.__class__ is str
                and vs.__class__ is str
                and _MS_MIN <= t <= _MS_MAX
                and 0.0 < price < _INF
                and 0.0 < qty < _INF
            ):
                rows.append((t * 1_000_000, recv, price, qty, sid, side, _LIQ, VENUE, 0))
                n += 1
                continue
        except (KeyError, TypeError, ValueError):
            pass
        try:
            if it.__class__ is not dict:
                raise Reject("missing_field", "data[]")
            side = side_of(LIQUIDATION_SIDES, it.get("S"), "S")
            sym = it.get("s") or topic_symbol
            rows.append(
                (
                    ms_to_ns(it.get("T"), "T"),
                    recv,
                    pos(it.get("p"), "p"),
                    pos(it.get("v"), "v"),
                    sink.sid(VENUE, sym),
                    side,
                    _LIQ,
                    VENUE,
                    0,
                )
            )
            n += 1
        except Reject as r:
            sink.reject_item(r)
    return n


def _legacy_liquidation(data, sink: Sink, topic_symbol: str) -> int:
    if data.__class__ is list:  # tolerate an array wrapper
        return sum(_legacy_liquidation(d, sink, topic_symbol) for d in data)
    try:
        if data.__class__ is not dict:
            raise Reject("missing_field", "data")
        t = data.get("updatedTime")
        if t is None:
            t = data.get("updateTime")
        side = side_of(LIQUIDATION_SIDES, data.get("side"), "side")
        sink.rows.append(
            (
                ms_to_ns(t, "updatedTime"),
                sink.recv_ns,
                pos(data.get("price"), "price"),
                pos(data.get("size"), "size"),
                sink.sid(VENUE, data.get("symbol") or topic_symbol),
                side,
                _LIQ,
                VENUE,
                _SAMPLED,
            )
        )
        return 1
    except Reject as r:
        sink.reject_item(r)
        return 0


def _trades(items, sink: Sink, topic_symbol: str) -> int:
    if items.__class__ is dict:
        items = (items,)
    elif items.__class__ is not list:
        raise Reject("missing_field" if items is None else "non_numeric", "data")
    rows = sink.rows
    recv = sink.recv_ns
    n = 0
    for it in items:
        try:
            if it.__class__ is not dict:
                raise Reject("missing_field", "data[]")
            side = side_of(TRADE_SIDES, it.get("S"), "S")
            rows.append(
                (
                    ms_to_ns(it.get("T"), "T"),
                    recv,
                    pos(it.get("p"), "p"),
                    pos(it.get("v"), "v"),
                    sink.sid(VENUE, it.get("s") or topic_symbol),
                    side,
                    _TRADE,
                    VENUE,
                    0,
                )
            )
            tid = it.get("i")  # the trade id (trdMatchID in older topics)
            if tid is None:
                tid = it.get("trdMatchID")
            if tid is not None:
                sink.tids[len(rows) - 1] = trade_id(tid)
            n += 1
        except Reject as r:
            sink.reject_item(r)
    return n


def _tickers(obj: dict, data, sink: Sink, topic_symbol: str) -> int:
    if data.__class__ is not dict:
        raise Reject("missing_field", "data")
    sym = data.get("symbol") or topic_symbol
    if not sym or sym.__class__ is not str:
        raise Reject("missing_field", "symbol")
    ts = ms_to_ns(obj.get("ts"), "ts")
    sid = sink.sid(VENUE, sym)
    if obj.get("type") == "snapshot" or sym not in sink.tickers:
        state = sink.tickers[sym] = {}
    else:
        state = sink.tickers[sym]
    # validate every field used before touching the merged state (a bad delta changes nothing)
    mark = data.get("markPrice")
    fr = data.get("fundingRate")
    oi = data.get("openInterest")
    mark_v = pos(mark, "markPrice") if mark not in (None, "") else None
    fr_v = num(fr, "fundingRate") if fr not in (None, "") else None
    oi_v = num(oi, "openInterest") if oi not in (None, "") else None
    if oi_v is not None and oi_v < 0:
        raise Reject("non_positive", "openInterest")
    state.update(data)
    rows = sink.rows
    recv = sink.recv_ns
    n = 0
    if mark_v is not None:
        rows.append((ts, recv, mark_v, 0.0, sid, 0, _MARK, VENUE, 0))
        n += 1
    if fr_v is not None:
        rows.append((ts, recv, fr_v, 0.0, sid, 0, _FUNDING, VENUE, 0))
        n += 1
    if oi_v is not None:
        m = state.get("markPrice")
        try:
            mp = pos(m, "markPrice") if m not in (None, "") else _NAN
        except Reject:
            mp = _NAN
        rows.append((ts, recv, mp, oi_v, sid, 0, _OI, VENUE, 0))
        n += 1
    return n


def _level(levels, field: str):
    """(price, size) of the first level of a ``b``/``a`` list; None when the list is empty."""
    if levels.__class__ is not list:
        raise Reject("missing_field", field)
    if not levels:
        return None
    lv = levels[0]
    if lv.__class__ is not list or len(lv) < 2:
        raise Reject("bad_row", field)
    qty = num(lv[1], field)
    if qty < 0:
        raise Reject("non_positive", field)
    if qty == 0:
        return (0.0, 0.0)
    return (pos(lv[0], field), qty)


def _top_of_book(obj: dict, sink: Sink, topic_symbol: str) -> int:
    data = obj.get("data")
    if data.__class__ is not dict:
        raise Reject("missing_field", "data")
    sym = data.get("s") or topic_symbol
    if not sym or sym.__class__ is not str:
        raise Reject("missing_field", "s")
    t = obj.get("cts")
    ts = ms_to_ns(t if t is not None else obj.get("ts"), "cts")
    bid = _level(data.get("b"), "b")
    ask = _level(data.get("a"), "a")
    sid = sink.sid(VENUE, sym)
    key = ("orderbook.1", sym)
    if obj.get("type") == "delta" and key in sink.tickers:  # only the sides listed changed
        last_bid, last_ask = sink.tickers[key]
        bid = last_bid if bid is None else bid
        ask = last_ask if ask is None else ask
    bid = (0.0, 0.0) if bid is None else bid
    ask = (0.0, 0.0) if ask is None else ask
    sink.tickers[key] = (bid, ask)
    recv = sink.recv_ns
    sink.rows.append((ts, recv, bid[0], bid[1], sid, 3, _QUOTE, VENUE, 0))
    sink.rows.append((ts, recv, ask[0], ask[1], sid, 4, _QUOTE, VENUE, 0))
    return 2


def _inverse_to_base(sink: Sink, n0: int) -> None:
    """The rows ``sink.rows[n0:]`` of an inverse symbol (``BTCUSD``: sizes in contracts of 1 USD; each row's own
    symbol, as the fast paths name it) with their liquidation, trade and book sizes made base units at the row's
    price, ``contracts x 1 / price``."""
    rows, name = sink.rows, sink.registry.symbol
    last, inv = None, False
    for i in range(n0, len(rows)):
        r = rows[i]
        if r[4] != last:  # (a frame's rows are mostly one symbol's: looked up once)
            last = r[4]
            sym = name(last)
            inv = _INVERSE.get(sym)
            if inv is None:
                inv = _INVERSE[sym] = inverse_contract_usd(sym) > 0.0
        if inv and r[6] in _SIZED and r[2] > 0.0:
            rows[i] = (r[0], r[1], r[2], r[3] * CONTRACT_USD / r[2], *r[4:])


def parse_archive_items(items, sink: Sink, topic_symbol: str | None = None) -> int:
    """:func:`parse_liquidation_items` of a Bybit liquidation archive line's ``result.data``, an inverse symbol's
    sizes (contracts of 1 USD) made base units at each row's price, as :func:`parse_obj` makes them."""
    n0 = len(sink.rows)
    n = parse_liquidation_items(items, sink, topic_symbol)
    if n > 0:
        _inverse_to_base(sink, n0)
    return n


def parse_obj(obj, sink: Sink) -> int:
    """Decode one Bybit frame (already JSON-decoded) into ``sink``.  Returns the number of events
    appended, or CONTROL for a control frame.  Raises Reject for a frame that is unusable as a whole.
    An inverse symbol's (``BTCUSD``: sizes in contracts of 1 USD) liquidation, trade and book sizes become base
    units at each row's price, ``contracts x 1 / price``, as every reader of the venue's files reads them (the
    row's own symbol decides, as on the fast paths, not the topic's)."""
    n0 = len(sink.rows)
    n = _parse_obj(obj, sink)
    if n > 0:
        _inverse_to_base(sink, n0)
    return n


def checked_only(symbol: str) -> bool:
    """Whether ``symbol``'s frames must take :func:`parse_obj` (the decoder's fast paths read sizes as sent): an
    inverse contract's, whose sizes in contracts it turns into base units."""
    return inverse_contract_usd(str(symbol)) > 0.0


#: symbol -> whether it is an inverse contract (sizes in contracts of 1 USD)
_INVERSE: dict[str, bool] = {}
_SIZED = (_LIQ, _TRADE, _QUOTE)


def _parse_obj(obj, sink: Sink) -> int:
    if obj.__class__ is not dict:
        raise Reject("unknown_topic", "frame")
    topic = obj.get("topic")
    if topic is None:
        if "op" in obj or "success" in obj or "ret_msg" in obj:
            return CONTROL
        raise Reject("unknown_topic", "topic")
    if topic.__class__ is not str:
        raise Reject("unknown_topic", "topic")
    name, _, sym = topic.partition(".")
    if name == "allLiquidation":
        data = obj.get("data")
        return parse_liquidation_items(data, sink, sym)
    if name == "publicTrade":
        return _trades(obj.get("data"), sink, sym)
    if name == "tickers":
        return _tickers(obj, obj.get("data"), sink, sym)
    if name == "liquidation":
        return _legacy_liquidation(obj.get("data"), sink, sym)
    if name == "orderbook":
        depth, _, book_sym = sym.partition(".")
        if depth == "1":
            return _top_of_book(obj, sink, book_sym)
        sink.count("depth_skipped")  # deeper books: recognised, not decoded
        return 0
    raise Reject("unknown_topic", "topic")


def parse(frame, recv_ns: int | None = None, registry=None) -> np.ndarray:
    """One raw Bybit frame (bytes/str) -> events (EVENT_DTYPE).  Raises Reject on an unusable frame;
    bad items inside a frame are dropped.  A convenience for one-off use: the live path keeps a
    :class:`~liqcore.venues.decoder.Decoder` (state, counters, duplicate suppression)."""
    return parse_frame(frame, Sink(registry), parse_obj, recv_ns)
