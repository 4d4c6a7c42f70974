"""Gate futures WebSocket v4 (USDT settle) public frames -> events.  Pure: no I/O but one log line, no asyncio.

``futures.public_liquidates`` (one object or a batched list; flagged SAMPLED), ``futures.trades`` (internal
trades counted and dropped), ``futures.book_ticker`` (two quotes), ``futures.order_book_update`` (counted
``depth_skipped``: :mod:`liqcore.venues.gate.depth`), and as control ``futures.pong``, subscribe answers and
``futures.system`` notices (an ``upgrade`` counted ``system_upgrade``).  A subscribe or unsubscribe answer that
carries Gate's ``error`` object (``{"code": 2, "message": "invalid argument"}``) is a refusal: counted
``subscribe_refused`` and logged once (its channel, code and message; nothing else of the frame).  Sizes are
contracts: ``|size| x quanto_multiplier`` of the contract (``sink.instruments``; unknown:
``unknown_instrument``), decimal strings (``X-Gate-Size-Decimal: 1``) or integers, never rounded.

The sides: a liquidation's ``size`` is the forced ORDER's signed size (Gate's notification table: "liquidate order
quantity"; a Gate order's size is positive for a bid, negative for an ask), so a negative size is a forced SELL,
which closes a LONG: negative -> LONG liquidated, positive -> SHORT.  Gate's REST record of a liquidation
(``/futures/{settle}/liq_orders``) carries it as ``order_size`` (-600 for the long position ``size`` 600); a trade's
``size`` is the taker's side.  A liquidation's time is its row's ``time_ms``, else its row's ``time`` (what live rows
carry: milliseconds at that magnitude, seconds otherwise), else the frame's ``time_ms``.  Frames, fields and the
evidence: docs/maintainers/data.md, "Gate futures v4 (USDT perpetuals)", and docs/data.md, "Sides".

May import: the standard library, numpy and ``venues.common``.
"""
from __future__ import annotations

import logging

import numpy as np

from liqcore.venues.common import CONTROL, RECV_UNKNOWN, Reject, Sink, contract_size, ms_to_ns, num, parse_frame, pos, trade_id

__all__ = ["parse_obj", "parse", "VENUE", "liquidation_side", "contract_value"]

VENUE = 4  # Venue.GATE
_LIQ = 1
_TRADE = 2
_QUOTE = 7
_SAMPLED = 8
_LONG, _SHORT, _BUY, _SELL = 1, 2, 3, 4
_DEPTH = frozenset({"futures.order_book_update", "futures.order_book"})
_CONTROL_CHANNELS = frozenset({"futures.pong", "futures.ping"})
#: a row's ``time`` at or above this is milliseconds (1973 in ms; the year 5138 in seconds), below it seconds
_TIME_MS_FROM = 100_000_000_000
#: the refusals logged so far ((channel, code, message): each once a process; every one is counted)
_REFUSALS_LOGGED: set = set()
_MAX_REFUSALS_LOGGED = 256

log = logging.getLogger("liqcore.gate.parse")


def contract_value(sink: Sink, contract) -> float:
    """The base units of one contract of ``contract`` (its ``quanto_multiplier`` in ``sink.instruments``)."""
    return contract_size(sink, contract, "contract")


def liquidation_side(size: float) -> int:
    """liqcore's side of a ``futures.public_liquidates`` row of signed ``size``: the forced order's size (negative:
    a forced sell, which closes a LONG; positive: a forced buy, which closes a SHORT)."""
    return _LONG if size < 0 else _SHORT


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
    """A liquidation row's own time: its ``time_ms``, else its ``time`` (ms at that magnitude, else seconds), else
    the frame's ``time_ms`` (the push's), else the receive time."""
    t = d.get("time_ms")
    if t is not None:
        return ms_to_ns(t, "time_ms")
    t = d.get("time")
    if t is not None:
        x = num(t, "time")
        return ms_to_ns(t if abs(x) >= _TIME_MS_FROM else round(x * 1000.0), "time")
    t = obj.get("time_ms")
    if t is None:
        if sink.recv_ns != RECV_UNKNOWN:
            return sink.recv_ns
        raise Reject("missing_field", "time_ms")
    return ms_to_ns(t, "time_ms")


def _refused(obj: dict, ch: str, err, sink: Sink) -> int:
    """A subscribe / unsubscribe answer with Gate's ``error`` object: counted ``subscribe_refused``; logged once a
    process per (channel, code, message), with nothing else of the frame (no payload, no auth)."""
    sink.count("subscribe_refused")
    if err.__class__ is dict:
        code, msg = err.get("code"), err.get("message")
    else:
        code, msg = None, err
    key = (ch, str(code), str(msg)[:200])
    if key not in _REFUSALS_LOGGED and len(_REFUSALS_LOGGED) < _MAX_REFUSALS_LOGGED:
        _REFUSALS_LOGGED.add(key)
        log.warning("gate stream: %s of %s refused: code %s %s", obj.get("event"), ch, key[1], key[2])
    return CONTROL


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


def is_frame(obj) -> bool:
    """Whether a decoded frame is Gate's by its shape (a raw file's lines, the venue told by shape): a
    ``channel`` naming a futures channel (``futures.public_liquidates``, ``futures.trades`` ...), which no other
    venue's frames hold at their top."""
    ch = obj.get("channel") if obj.__class__ is dict else None
    return ch.__class__ is str and ch[:8] == "futures."


def parse_obj(obj, sink: Sink) -> int:
    """Decode one Gate futures frame (JSON-decoded) into ``sink``: events appended, or CONTROL."""
    if obj.__class__ is not dict:
        raise Reject("unknown_topic", "frame")
    ch = obj.get("channel")
    if ch.__class__ is not str:
        raise Reject("unknown_topic", "channel")
    ev = obj.get("event")
    if ev in ("subscribe", "unsubscribe"):
        err = obj.get("error")
        if err:  # (Gate's answer: ``"error": null`` when it succeeded)
            return _refused(obj, ch, err, sink)
        return CONTROL
    if ch in _CONTROL_CHANNELS:
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
