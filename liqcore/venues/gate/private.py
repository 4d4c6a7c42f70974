"""Gate futures v4 private data: the rows of ``futures.orders``, ``futures.usertrades``, ``futures.positions`` and
``futures.autoorders`` (and the same objects from REST) read into liqcore's order updates, fills and positions, and
the authenticated subscribe requests.

Sizes are signed contracts (Gate API v4 ``FuturesOrder.size``: "positive: bid, negative: ask"; ``left`` the
contracts not yet filled; ``my_trades`` / ``futures.usertrades`` ``size`` signed the same way); base units are
|contracts| x the contract's ``quanto_multiplier``, exact in decimal.  An order's state is its ``status``
(``open`` / ``finished``) and, finished, its ``finish_as`` (Gate API v4 ``FuturesOrder.finish_as``: ``filled``,
``cancelled``, ``liquidated``, ``ioc``, ``auto_deleveraged``, ``reduce_only``, ``position_closed``, ``reduce_out``,
``stp``; the websocket adds ``_new`` / ``_update`` while it lives).  The client id is the order's ``text`` (``t-...``,
:func:`liqcore.venues.gate.rest.gate_text`), mapped back by the gateway.

Times are read each in the unit Gate documents for its field (``update_time`` and the ``*_ms`` fields of the
websocket rows in milliseconds, ``create_time`` / ``finish_time`` in seconds); a value that is no time in
2000..2100 in its unit is a ValueError naming the field (the gateway drops and counts the row), never a time.

A private channel is subscribed with the user id and ``!all`` (Gate Futures WebSocket v4, "Orders API" / "User
trades API" / "Positions API" / "Auto orders API": ``payload`` ``[user_id, contract]``, ``!all`` for every contract)
and an ``auth`` object (:func:`liqcore.venues.gate.rest.ws_auth`).

May import: the standard library, orjson, ``venues.orders``, ``venues.numbers`` and ``gate.rest``.
"""
from __future__ import annotations

from decimal import Decimal

import orjson

from liqcore.venues.gate.rest import ws_auth
from liqcore.venues.numbers import wire_number
from liqcore.venues.orders import Fill, OrderUpdate

__all__ = ["CHANNELS", "subscribe_request", "order_update", "trade_fill", "position_size", "auto_order_state",
           "dec", "fmt", "FINISH_CANCELLED", "AUTO_LIVE"]

#: the private channels the gateway subscribes
CHANNELS = ("futures.orders", "futures.usertrades", "futures.positions", "futures.autoorders")
#: ``finish_as`` values that end an order without filling all of it (the reason kept)
FINISH_CANCELLED = frozenset({"cancelled", "ioc", "reduce_only", "position_closed", "reduce_out", "stp", "liquidated",
                              "auto_deleveraged"})
#: a price-triggered order still waiting for its trigger (Gate API v4 ``FuturesPriceTriggeredOrder.status``)
AUTO_LIVE = ("open",)


def dec(x) -> Decimal:
    """A number of Gate's (a decimal string, an int, a float) as a Decimal (a float through its shortest repr)."""
    if x is None or x == "":
        return Decimal(0)
    return Decimal(repr(float(x))) if isinstance(x, float) else wire_number(str(x), Decimal)


def fmt(d: Decimal) -> str:
    """A Decimal as Gate's decimal strings: no exponent, no trailing zeros."""
    s = format(d.normalize(), "f")
    return s if s not in ("-0", "") else "0"


def subscribe_request(channel: str, user_id: str, key: str, secret: str, time_s: int, event: str = "subscribe") -> bytes:
    """The authenticated ``event`` request of one private channel for every contract."""
    return orjson.dumps({"time": int(time_s), "channel": channel, "event": event, "payload": [str(user_id), "!all"],
                         "auth": ws_auth(key, secret, channel, event, time_s)})


#: each time field read, in ms per unit, as Gate documents it.  Futures WebSocket v4, "Orders notification":
#: ``create_time_ms`` "Creation timestamp in milliseconds of order", ``finish_time_ms`` "Order finished unix
#: timestamp in milliseconds", ``update_time`` "Update Time (Milliseconds Timestamp)" (example 1541505434123),
#: ``finish_time`` "Order finished unix timestamp in seconds", ``create_time`` seconds (deprecated); "User trades
#: notification": ``create_time_ms`` "Create time in milliseconds", ``create_time`` seconds.  API v4 (REST
#: ``FuturesOrder``, ``my_trades``): ``create_time`` / ``finish_time`` number(double), seconds with a fraction.  An
#: unfinished order's ``finish_time`` / ``finish_time_ms`` are 0 (not a time: the next field is read)
_TIME_FIELDS_MS = {"finish_time_ms": 1, "update_time": 1, "create_time_ms": 1, "finish_time": 1000, "create_time": 1000}
#: 2000-01-01 .. 2100-01-01 in ms: a time outside is no venue time (and its ns would not fit the journal's int64)
_MS_MIN, _MS_MAX = 946_684_800_000, 4_102_444_800_000


def _ms(o: dict, *names: str) -> int:
    """The first of ``names`` present (0 or empty: absent) in ms, each in its documented unit
    (:data:`_TIME_FIELDS_MS`); 0 when none is.  A value that is no time in 2000..2100 in its unit: ValueError naming
    the field (the row is dropped and counted, never passed on)."""
    for n in names:
        v = o.get(n)
        if v is None or v == "" or v == 0 or v == "0":
            continue
        try:
            if isinstance(v, bool):
                raise TypeError
            x = wire_number(v) * _TIME_FIELDS_MS[n]
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{n}: not a time: {v!r}") from None
        if not _MS_MIN <= x <= _MS_MAX:  # (NaN fails too)
            unit = "ms" if _TIME_FIELDS_MS[n] == 1 else "s"
            raise ValueError(f"{n}: {v!r} is no time in {unit} (2000..2100)")
        return round(x)
    return 0


def order_update(o: dict, mult: Decimal) -> OrderUpdate:
    """One ``FuturesOrder`` (REST answer or ``futures.orders`` row) -> :class:`OrderUpdate` in base units; the
    client id is its ``text`` as Gate holds it (the gateway maps it back).  ValueError naming a bad field."""
    status = o.get("status")
    if status not in ("open", "finished"):
        raise ValueError(f"status: unknown order status {status!r}")
    size, left = dec(o.get("size")), dec(o.get("left"))
    if size == 0:
        raise ValueError("size: 0")
    filled = abs(size) - abs(left)
    fa = str(o.get("finish_as") or "")
    reason = ""
    if status == "open":
        st = "partially_filled" if filled > 0 else "new"
    elif fa == "filled" or (filled > 0 and left == 0):
        st = "filled"
    elif fa in FINISH_CANCELLED or fa in ("", "_new", "_update"):
        st, reason = "cancelled", f"finish_as {fa or 'unknown'}"
    else:
        raise ValueError(f"finish_as: unknown value {fa!r}")
    ts = _ms(o, "finish_time_ms", "update_time", "finish_time", "create_time_ms", "create_time")
    return OrderUpdate(str(o.get("text") or ""), st, str(o.get("contract") or ""), str(o.get("id") or ""),
                       "buy" if size > 0 else "sell", float(dec(o.get("price"))), float(abs(size) * mult),
                       float(filled * mult), float(dec(o.get("fill_price"))), reason, "entry", ts * 1_000_000)


def trade_fill(t: dict, mult: Decimal) -> Fill:
    """One ``futures.usertrades`` / ``GET /futures/usdt/my_trades`` row -> :class:`Fill` (base units; ``fee``
    positive when paid, as Gate's ``fee``; ``role`` maker / taker; the exec id ``<contract>-<trade id>``)."""
    size = dec(t.get("size"))
    if size == 0:
        raise ValueError("size: 0")
    price = float(dec(t.get("price")))
    if not price > 0:
        raise ValueError(f"price: not positive: {t.get('price')!r}")
    tid = t.get("id") or t.get("trade_id")
    if tid in (None, ""):
        raise ValueError("id: missing")
    return Fill(str(t.get("text") or ""), str(t.get("contract") or ""), "buy" if size > 0 else "sell", price,
                float(abs(size) * mult), float(dec(t.get("fee"))), t.get("role") == "maker",
                f"{t.get('contract')}-{tid}", "entry", _ms(t, "create_time_ms", "create_time") * 1_000_000)


def position_size(p: dict) -> Decimal:
    """A position row's signed size in contracts (long > 0), ValueError for a bad one."""
    try:
        return dec(p.get("size"))
    except (ArithmeticError, ValueError, TypeError):
        raise ValueError(f"size: not a number: {p.get('size')!r}") from None


def auto_order_state(a: dict) -> tuple[str, str, str]:
    """A price-triggered order (REST or ``futures.autoorders``) -> ``(status, finish_as / reason, its initial
    order's text)``; ``status`` ``open`` while it waits for its trigger."""
    init = a.get("initial") or {}
    return (str(a.get("status") or ""), str(a.get("finish_as") or a.get("reason") or ""),
            str(init.get("text") or a.get("text") or ""))
