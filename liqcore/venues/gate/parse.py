"""Gate futures WebSocket v4 (USDT settle) public frames -> events.  Pure: no I/O, no asyncio.

Every frame is ``{"time", "time_ms", "channel", "event", "error", "result"}``.  Decoded:

* ``futures.public_liquidates`` (``event`` ``update``): ``result`` one object or a list of them (since 2026-08-20
  a second's liquidations come batched), each ``{"price", "size", "time_ms", "contract"}``::

      {"channel":"futures.public_liquidates","event":"update","time":1541505434,"time_ms":1541505434123,
       "result":[{"price":215.1,"size":-124,"time_ms":1541486601123,"contract":"BTC_USD"}]}

  ``size`` is the liquidated **position**, signed as Gate signs positions: positive a long, negative a short
  (the side convention, and the evidence for it, below).  One LIQUIDATION per row, flagged SAMPLED (Gate pushes
  "up to one liquidate order data every 1 second" per contract).
* ``futures.trades``: ``result`` a list of ``{"id", "create_time_ms", "contract", "size", "price",
  "is_internal"}``; the sign of ``size`` is the taker's side (positive a buy).  An internal trade (the
  insurance fund or ADL taking over a liquidation: not matched on the book, Gate keeps it out of its candles)
  is counted ``internal_trade`` and dropped.
* ``futures.book_ticker``: ``result`` ``{"t", "u", "s", "b", "B", "a", "A"}``: two QUOTE rows (bid, ask); an
  empty side (``""`` price or size 0) is a row of price 0 and size 0.
* ``futures.order_book_update`` / ``futures.order_book``: counted ``depth_skipped`` (the depth protocol is
  :mod:`liqcore.venues.gate.depth`).
* ``futures.pong``, subscribe / unsubscribe answers and ``futures.system`` notices (an ``upgrade`` counted
  ``system_upgrade``): CONTROL.

Sizes are contracts: the base quantity is ``|size| x quanto_multiplier`` of the contract
(``sink.instruments``: Gate's ``BTC_USDT`` -> its multiplier, from ``GET /api/v4/futures/usdt/contracts``;
a contract without one is ``unknown_instrument``, never a guess).  Sizes arrive as strings when the
connection asks ``X-Gate-Size-Decimal: 1`` (fractional contracts) and as integers otherwise: both are read as
they are, never floored.

The side of a liquidation.  Gate's WebSocket page does not say what the sign of ``size`` means in
``futures.public_liquidates``.  Gate documents the same record on REST, ``GET /futures/{settle}/liq_orders``
(and the private ``/liquidates``): ``size`` "User position size" (a Position's ``size`` is positive long,
negative short), beside ``order_size`` "Number of forced liquidation orders", ``order_price`` "Liquidation order
price" and ``fill_price`` "Liquidation order average taker price".  Gate's own example record has ``size`` 600,
``entry_price`` 3536.123 above ``liq_price`` 3421.54 (a position that is liquidated when the price falls: a
long), and ``fill_price`` 3424 above ``order_price`` 3405 (an order that filled above its limit: a SELL, the
order that closes a long).  So a positive ``size`` is a long liquidated (``Side.LONG``), a negative one a short
(``Side.SHORT``).  Some third-party clients read the sign as the forced order's (negative = sell = long
liquidated); that contradicts Gate's REST field definition and its example, and liqcore follows Gate.

May import: the standard library, numpy and ``venues.common``.
"""
from __future__ import annotations

import numpy as np

from liqcore.venues.common import CONTROL, RECV_UNKNOWN, Reject, Sink, ms_to_ns, num, parse_frame, pos, trade_id

__all__ = ["parse_obj", "parse", "VENUE", "liquidation_side", "contract_value"]

VENUE = 4  # Venue.GATE
_LIQ = 1
_TRADE = 2
_QUOTE = 7
_SAMPLED = 8
_LONG, _SHORT, _BUY, _SELL = 1, 2, 3, 4
_DEPTH = frozenset({"futures.order_book_update", "futures.order_book"})
_CONTROL_CHANNELS = frozenset({"futures.pong", "futures.ping"})


def contract_value(sink: Sink, contract) -> float:
    """The base units of one contract of ``contract`` (its ``quanto_multiplier`` in ``sink.instruments``)."""
    if contract.__class__ is not str or not contract:
        raise Reject("missing_field", "contract")
    v = sink.instruments.get(contract)
    if v is None:
        raise Reject("unknown_instrument", contract)
    return v


def liquidation_side(size: float) -> int:
    """liqcore's side of a ``futures.public_liquidates`` row of signed ``size`` (the position: positive long)."""
    return _LONG if size > 0 else _SHORT


def _signed(value, field: str) -> float:
    x = num(value, field)
    if x == 0.0:
        raise Reject("non_positive", field)
    return x


def _rows_of(result) -> list:
    if result.__class__ is list:
        return result
    if result.__class__ is dict:
        return [result]
    raise Reject("missing_field", "result")


def _time_ns(d: dict, sink: Sink, obj: dict) -> int:
    t = d.get("time_ms")
    if t is None:
        t = obj.get("time_ms")
    if t is None:
        if sink.recv_ns != RECV_UNKNOWN:
            return sink.recv_ns
        raise Reject("missing_field", "time_ms")
    return ms_to_ns(t, "time_ms")


def _liquidations(result, sink: Sink, obj: dict) -> int:
    rows = sink.rows
    recv = sink.recv_ns
    n = 0
    for d in _rows_of(result):
        try:
            if d.__class__ is not dict:
                raise Reject("missing_field", "result[]")
            c = d.get("contract")
            ct = contract_value(sink, c)
            size = _signed(d.get("size"), "size")
            rows.append((_time_ns(d, sink, obj), recv, pos(d.get("price"), "price"), abs(size) * ct,
                         sink.sid(VENUE, c), liquidation_side(size), _LIQ, VENUE, _SAMPLED))
            n += 1
        except Reject as r:
            sink.reject_item(r)
    return n


def _trades(result, sink: Sink) -> int:
    rows = sink.rows
    recv = sink.recv_ns
    n = 0
    for d in _rows_of(result):
        try:
            if d.__class__ is not dict:
                raise Reject("missing_field", "result[]")
            if d.get("is_internal") is True:
                sink.count("internal_trade")
                continue
            c = d.get("contract")
            ct = contract_value(sink, c)
            size = _signed(d.get("size"), "size")
            t = d.get("create_time_ms")
            ts = ms_to_ns(t, "create_time_ms") if t is not None else ms_to_ns(num(d.get("create_time"), "create_time") * 1000,
                                                                             "create_time")
            rows.append((ts, recv, pos(d.get("price"), "price"), abs(size) * ct, sink.sid(VENUE, c),
                         _BUY if size > 0 else _SELL, _TRADE, VENUE, 0))
            tid = d.get("id")
            if tid is not None:
                sink.tids[len(rows) - 1] = trade_id(tid)
            n += 1
        except Reject as r:
            sink.reject_item(r)
    return n


def _side(price, size, field: str, ct: float) -> tuple[float, float]:
    if price in ("", None) or size in (0, "0", "", None):
        return 0.0, 0.0
    q = num(size, field)
    if q < 0:
        raise Reject("non_positive", field)
    if q == 0:
        return 0.0, 0.0
    return pos(price, field), q * ct


def _book_ticker(d, sink: Sink) -> int:
    if d.__class__ is not dict:
        raise Reject("missing_field", "result")
    c = d.get("s")
    if c.__class__ is not str or not c:
        raise Reject("missing_field", "s")
    ct = contract_value(sink, c)
    ts = ms_to_ns(d.get("t"), "t")
    bid, bq = _side(d.get("b"), d.get("B"), "B", ct)
    ask, aq = _side(d.get("a"), d.get("A"), "A", ct)
    sid = sink.sid(VENUE, c)
    recv = sink.recv_ns
    sink.rows.append((ts, recv, bid, bq, sid, _BUY, _QUOTE, VENUE, 0))
    sink.rows.append((ts, recv, ask, aq, sid, _SELL, _QUOTE, VENUE, 0))
    return 2


def parse_obj(obj, sink: Sink) -> int:
    """Decode one Gate futures frame (JSON-decoded) into ``sink``: events appended, or CONTROL."""
    if obj.__class__ is not dict:
        raise Reject("unknown_topic", "frame")
    ch = obj.get("channel")
    if ch.__class__ is not str:
        raise Reject("unknown_topic", "channel")
    ev = obj.get("event")
    if ch in _CONTROL_CHANNELS or ev in ("subscribe", "unsubscribe"):
        return CONTROL
    if ch == "futures.system":
        res = obj.get("result")
        if res.__class__ is dict and res.get("type") == "upgrade":
            sink.count("system_upgrade")
        return CONTROL
    if ev not in ("update", "all"):
        raise Reject("unknown_topic", "event")
    result = obj.get("result")
    if ch == "futures.public_liquidates":
        return _liquidations(result, sink, obj)
    if ch == "futures.trades":
        return _trades(result, sink)
    if ch == "futures.book_ticker":
        return _book_ticker(result, sink)
    if ch in _DEPTH:
        sink.count("depth_skipped")
        return 0
    raise Reject("unknown_topic", "channel")


def parse(frame, recv_ns: int | None = None, registry=None, instruments=None) -> np.ndarray:
    """One raw Gate futures frame -> events (EVENT_DTYPE).  Raises Reject on an unusable frame."""
    return parse_frame(frame, Sink(registry, instruments), parse_obj, recv_ns)
