"""OKX v5 public frames -> events.  Pure: no I/O, no asyncio.

``liquidation-orders``, ``trades``, ``funding-rate``, ``bbo-tbt`` (depth channels counted as
``depth_skipped``), ``mark-price``, ``open-interest`` and control frames; contract sizes times the
instrument's ctVal (an instId without one: ``unknown_instrument``).  Each frame's fields, sides and
flags: docs/maintainers/data.md, "The venues' websocket frames, decoded", and docs/data.md,
"Sides".

May import: the standard library, numpy and ``venues.common``.
"""
from __future__ import annotations

import numpy as np

from liqcore.venues.common import CONTROL, RECV_UNKNOWN, Reject, Sink, contract_size, ms_to_ns, num, parse_frame, pos, side_of, trade_id

__all__ = ["parse_obj", "parse", "VENUE", "LIQUIDATION_SIDES", "TRADE_SIDES"]

VENUE = 3  # Venue.OKX
_LIQ = 1
_TRADE = 2
_MARK = 3
_FUNDING = 4
_OI = 6
_QUOTE = 7
_SAMPLED = 8
_NAN = float("nan")
#: the side tables (wire value, lower-cased -> liqcore side; the venue page shows them): a liquidation's side is
#: the forced order's (sell closes a LONG), a trade's the taker's
LIQUIDATION_SIDES = {"sell": 1, "buy": 2}
TRADE_SIDES = {"buy": 3, "sell": 4}


def _ct_val(sink: Sink, inst) -> float:
    return contract_size(sink, inst, "instId")


def _is_contract(inst: str) -> bool:
    # SWAP ("BTC-USDT-SWAP") and FUTURES ("BTC-USDT-250328") are sized in contracts; SPOT ("BTC-USDT") not
    return inst.count("-") >= 2


def contract_value(sink: Sink, inst) -> float | None:
    """The base units of one contract of ``inst`` (its ``ctVal`` in ``sink.instruments``; Reject when unknown), None
    for an instrument sized in base units (spot): what the shared depth rows multiply an OKX size by."""
    return _ct_val(sink, inst) if _is_contract(inst) else None


def _liquidations(data, sink: Sink) -> int:
    rows = sink.rows
    recv = sink.recv_ns
    n = 0
    for item in data:
        try:
            if item.__class__ is not dict:
                raise Reject("missing_field", "data[]")
            details = item.get("details")
            if details.__class__ is not list:
                raise Reject("missing_field", "details")
            inst = item.get("instId")
            ct = _ct_val(sink, inst)
            sid = sink.sid(VENUE, inst)
        except Reject as r:
            sink.reject_item(r)
            continue
        for d in details:
            try:
                if d.__class__ is not dict:
                    raise Reject("missing_field", "details[]")
                s = d.get("side")
                side = side_of(LIQUIDATION_SIDES, s.lower() if s.__class__ is str else s, "side")
                rows.append(
                    (
                        ms_to_ns(d.get("ts"), "ts"),
                        recv,
                        pos(d.get("bkPx"), "bkPx"),
                        pos(d.get("sz"), "sz") * ct,
                        sid,
                        side,
                        _LIQ,
                        VENUE,
                        _SAMPLED,
                    )
                )
                n += 1
            except Reject as r:
                sink.reject_item(r)
    return n


def _item_inst(d, arg_inst) -> str:
    """The instrument of one ``data[]`` item (its own ``instId``, else the subscription's ``arg``)."""
    if d.__class__ is not dict:
        raise Reject("missing_field", "data[]")
    inst = d.get("instId") or arg_inst
    if inst.__class__ is not str or not inst:
        raise Reject("missing_field", "instId")
    return inst


def _trades(data, sink: Sink, arg_inst) -> int:
    rows = sink.rows
    recv = sink.recv_ns
    n = 0
    for d in data:
        try:
            inst = _item_inst(d, arg_inst)
            s = d.get("side")
            side = side_of(TRADE_SIDES, s.lower() if s.__class__ is str else s, "side")
            qty = pos(d.get("sz"), "sz")
            if _is_contract(inst):
                qty *= _ct_val(sink, inst)
            rows.append(
                (ms_to_ns(d.get("ts"), "ts"), recv, pos(d.get("px"), "px"), qty, sink.sid(VENUE, inst), side, _TRADE, VENUE, 0)
            )
            tid = d.get("tradeId")
            if tid is not None:
                sink.tids[len(rows) - 1] = trade_id(tid)
            n += 1
        except Reject as r:
            sink.reject_item(r)
    return n


def _pub_time(d: dict, sink: Sink) -> int:
    t = d.get("ts")
    if t not in (None, ""):
        return ms_to_ns(t, "ts")
    if sink.recv_ns != RECV_UNKNOWN:
        return sink.recv_ns
    raise Reject("missing_field", "ts")


def _simple(data, sink: Sink, arg_inst, kind: int) -> int:
    rows = sink.rows
    recv = sink.recv_ns
    n = 0
    for d in data:
        try:
            inst = _item_inst(d, arg_inst)
            if kind == _FUNDING:
                price, qty = num(d.get("fundingRate"), "fundingRate"), 0.0
            elif kind == _MARK:
                price, qty = pos(d.get("markPx"), "markPx"), 0.0
            else:  # open interest in base currency
                price, qty = _NAN, num(d.get("oiCcy"), "oiCcy")
                if qty < 0:
                    raise Reject("non_positive", "oiCcy")
            rows.append((_pub_time(d, sink), recv, price, qty, sink.sid(VENUE, inst), 0, kind, VENUE, 0))
            n += 1
        except Reject as r:
            sink.reject_item(r)
    return n


def _book_side(levels, field: str, ct: float) -> tuple[float, float]:
    """(price, displayed size in base units) of the first level of ``bids``/``asks``; (0, 0) when
    that side is empty."""
    if levels.__class__ is not list:
        raise Reject("missing_field", field)
    if not levels:
        return 0.0, 0.0
    lv = levels[0]
    if lv.__class__ is not list or len(lv) < 2:
        raise Reject("bad_row", field)
    qty = num(lv[1], field)
    if qty < 0:
        raise Reject("non_positive", field)
    if qty == 0:
        return 0.0, 0.0
    return pos(lv[0], field), qty * ct


def _bbo(data, sink: Sink, arg_inst) -> int:
    rows = sink.rows
    recv = sink.recv_ns
    n = 0
    for d in data:
        try:
            inst = _item_inst(d, arg_inst)
            ct = _ct_val(sink, inst) if _is_contract(inst) else 1.0
            ts = ms_to_ns(d.get("ts"), "ts")
            bid, bid_qty = _book_side(d.get("bids"), "bids", ct)
            ask, ask_qty = _book_side(d.get("asks"), "asks", ct)
            sid = sink.sid(VENUE, inst)
            rows.append((ts, recv, bid, bid_qty, sid, 3, _QUOTE, VENUE, 0))
            rows.append((ts, recv, ask, ask_qty, sid, 4, _QUOTE, VENUE, 0))
            n += 2
        except Reject as r:
            sink.reject_item(r)
    return n


_CHANNELS = {"funding-rate": _FUNDING, "mark-price": _MARK, "open-interest": _OI}
#: order-book depth channels: recognised, counted as depth_skipped, not decoded
_DEPTH_CHANNELS = frozenset({"books", "books5", "books-l2-tbt", "books50-l2-tbt", "books-elp"})


def parse_obj(obj, sink: Sink) -> int:
    """Decode one OKX frame (JSON-decoded) into ``sink``: events appended, or CONTROL."""
    if obj.__class__ is not dict:
        raise Reject("unknown_topic", "frame")
    if "event" in obj:
        return CONTROL
    arg = obj.get("arg")
    if arg.__class__ is not dict:
        raise Reject("unknown_topic" if arg is None else "missing_field", "arg")
    data = obj.get("data")
    if data.__class__ is not list:
        raise Reject("missing_field", "data")
    ch = arg.get("channel")
    if ch == "liquidation-orders":
        return _liquidations(data, sink)
    if ch == "trades" or ch == "trades-all":
        return _trades(data, sink, arg.get("instId"))
    if ch == "bbo-tbt":
        return _bbo(data, sink, arg.get("instId"))
    if ch.__class__ is str and ch in _DEPTH_CHANNELS:
        sink.count("depth_skipped")
        return 0
    kind = _CHANNELS.get(ch) if ch.__class__ is str else None
    if kind is not None:
        return _simple(data, sink, arg.get("instId"), kind)
    raise Reject("unknown_topic", "arg.channel")


def parse(frame, recv_ns: int | None = None, registry=None, instruments=None) -> np.ndarray:
    """One raw OKX frame -> events (EVENT_DTYPE).  Raises Reject on an unusable frame."""
    return parse_frame(frame, Sink(registry, instruments), parse_obj, recv_ns)
