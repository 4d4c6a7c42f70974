"""Gate futures WebSocket v4's public market streams as a local fake speaks them (the ``fake_streams`` part).

The shared server (:class:`liqcore.venues.fake_streams.FakeMarketStream`) asks this module for what is Gate's own:
its path ``/v4/ws/usdt``; the topics a push belongs to (``{"channel", "payload"}`` as compact JSON, one per
contract; a liquidation also to ``!all``); the subscribe protocol (``{"time", "channel", "event": "subscribe",
"payload": [...]}`` answered ``{"time", "time_ms", "channel", "event": "subscribe", "error": null, "result":
{"status": "success"}}``; ``futures.ping`` answered ``futures.pong``; an unknown channel answered ``error``
``{"code": 2, "message": "invalid argument"}``, the document's error table);
the public REST answers (``GET /api/v4/futures/usdt/contracts`` and ``/tickers`` of the server's instrument list,
``/order_book?with_id=true`` of its depth books); and, for ``liqcore venue``, how a replayed push reaches the
subscribers.  Each rule follows Gate Futures WebSocket v4 and API v4 (tests/venues/test_gate_streams.py quotes
them).  The handshake header ``X-Gate-Size-Decimal`` is kept per connection (``conn.size_decimal``; the server's
``gate_size_decimal`` lists what each connection asked).

May import: orjson (the state it works on is the server's, passed in).
"""
from __future__ import annotations

import time

import orjson

__all__ = ["WS_PATH", "WS_ROUTES", "MOUNT_ROUTES", "RATE_LIMITED_PATH", "CHANNELS", "streams", "liquidation_streams",
           "trade_streams", "rest_routes", "rate_limited", "on_open", "on_text", "trades_subscribed", "replay_frame"]

WS_PATH = "/v4/ws/usdt"
WS_ROUTES = {WS_PATH: None}
MOUNT_ROUTES = (WS_PATH,)
RATE_LIMITED_PATH = None
#: the public channels it serves
CHANNELS = frozenset({"futures.public_liquidates", "futures.trades", "futures.book_ticker",
                      "futures.order_book_update", "futures.tickers"})
_API = "/api/v4/futures/usdt"


def _topic(channel: str, payload: list) -> str:
    return orjson.dumps({"channel": channel, "payload": payload}).decode()


def streams(frame: bytes) -> tuple[str, ...]:
    """The topics a push belongs to: its channel with each contract it names (a liquidation also ``!all``); ()
    for anything else."""
    try:
        m = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return ()
    if not isinstance(m, dict) or m.get("event") != "update" or m.get("channel") not in CHANNELS:
        return ()
    ch = m["channel"]
    res = m.get("result")
    rows = res if isinstance(res, list) else [res]
    names = list(dict.fromkeys(str(r.get("contract") or r.get("s")) for r in rows if isinstance(r, dict)))
    if ch == "futures.order_book_update":
        return tuple(_topic(ch, [c, "100ms", "20"]) for c in names)
    out = tuple(_topic(ch, [c]) for c in names)
    return out + ((_topic(ch, ["!all"]),) if ch == "futures.public_liquidates" else ())


def _contract(symbol: str) -> str:
    s = symbol.upper()
    return s if "_" in s else f"{s[:-4]}_USDT"


def liquidation_streams(symbol: str) -> tuple[str, ...]:
    """Where the venue sends a liquidation of ``symbol``: ``!all`` and the contract's own topic."""
    return (_topic("futures.public_liquidates", ["!all"]), _topic("futures.public_liquidates", [_contract(symbol)]))


def trade_streams(symbol: str) -> tuple[str, ...]:
    return (_topic("futures.trades", [_contract(symbol)]),)


def _fmt(x: float) -> str:
    from liqcore.venues.fake_universe import fmt_num

    return fmt_num(x)


def rest_routes(fs, fu) -> dict:
    """``GET /api/v4/futures/usdt/contracts`` (each instrument as a contract whose ``quanto_multiplier`` is its lot),
    ``/tickers`` and ``/order_book``."""
    def contracts(q):
        return [{"name": _contract(s), "type": "direct", "quanto_multiplier": _fmt(i["qtyStep"]),
                 "order_price_round": _fmt(i["tickSize"]), "mark_price_round": _fmt(i["tickSize"]),
                 "order_size_min": max(1, round(i["minOrderQty"] / i["qtyStep"])), "order_size_max": 1000000,
                 "leverage_min": "1", "leverage_max": "100", "in_delisting": False, "status": "trading",
                 "enable_decimal": True} for s, i in fs.instruments.items()]

    def tickers(q):
        return [{"contract": _contract(s), "last": _fmt(i.get("price", 1.0)),
                 "volume_24h_quote": f"{i.get('turnover', 0.0):.2f}"} for s, i in fs.instruments.items()]

    return {f"{_API}/contracts": contracts, f"{_API}/tickers": tickers, f"{_API}/order_book": lambda q: _book(fs, q)}


def rate_limited(retry_after: int):  # pragma: no cover - RATE_LIMITED_PATH is None
    raise NotImplementedError("gate: the fake's depth knobs apply to no REST path of Gate's")


def _book(fs, q):
    """``GET /order_book``: ``contract`` (required), ``limit``, ``with_id`` -> ``{"id"?, "current", "update",
    "asks", "bids"}``, each level ``{"p": price, "s": size}``; an unknown contract: HTTP 400
    ``{"label": "CONTRACT_NOT_FOUND"}``."""
    book = fs.depth_books.get(q.get("contract", ""))
    if book is None:
        return {"label": "CONTRACT_NOT_FOUND", "message": "Contract not found"}, 400
    limit = int(q.get("limit", 10))
    seq, bids, asks = book()
    now = time.time()
    out = {"current": now, "update": now, "asks": [{"p": p, "s": float(s)} for p, s in asks[:limit]],
           "bids": [{"p": p, "s": float(s)} for p, s in bids[:limit]]}
    if str(q.get("with_id", "false")).lower() == "true":
        out = {"id": int(seq), **out}
    return out


async def on_open(fs, ws, request, conn) -> bool:
    """A new connection: its ``X-Gate-Size-Decimal`` header kept (nothing is subscribed by its URL)."""
    conn.size_decimal = request.headers.get("X-Gate-Size-Decimal")
    seen = getattr(fs, "gate_size_decimal", None)
    if seen is None:
        seen = fs.gate_size_decimal = []
    seen.append(conn.size_decimal)
    return True


def _answer(channel: str, event: str, payload=None, error=None) -> str:
    now = time.time()
    return orjson.dumps({"time": int(now), "time_ms": int(now * 1000), "channel": channel, "event": event,
                         "payload": payload, "error": error,
                         "result": None if error else {"status": "success"}}).decode()


async def on_text(fs, ws, conn, text: str) -> bool:
    """One text message of a client (never closes the connection)."""
    try:
        m = orjson.loads(text)
    except orjson.JSONDecodeError:
        await ws.send_str(_answer("", "", error={"code": 1, "message": "invalid argument struct"}))
        return True
    ch, ev = m.get("channel"), m.get("event")
    if ch == "futures.ping":
        now = time.time()
        await ws.send_str(orjson.dumps({"time": int(now), "time_ms": int(now * 1000), "channel": "futures.pong",
                                        "event": "", "result": None}).decode())
        return True
    if ev not in ("subscribe", "unsubscribe"):
        return True
    payload = m.get("payload") or []
    if ch not in CHANNELS or not isinstance(payload, list):
        await ws.send_str(_answer(ch, ev, payload, {"code": 2, "message": "invalid argument"}))
        return True
    keys = [_topic(ch, payload)] if ch == "futures.order_book_update" else [_topic(ch, [c]) for c in payload]
    fs.ops.append((ev, keys))
    for k in keys:
        if ev == "subscribe":
            conn.subs.add(k)
            fs.mark_subscribed()
        else:
            conn.subs.discard(k)
    await ws.send_str(_answer(ch, ev, payload))
    return True


def trades_subscribed(fv, symbols) -> bool:
    """``liqcore venue``: a client of the fake ``fv`` subscribed its trades."""
    return any(fv.subscribed(t) for s in symbols for t in trade_streams(s))


async def replay_frame(fv, data: bytes) -> int:
    """One Gate push: to the subscribers of its topics (the whole fake Gate, ``liqcore venue``'s: its prints
    matched first, :meth:`liqcore.venues.gate.fake.FakeGate.match_frame`)."""
    names = streams(data)
    if not names:
        return 0
    match = getattr(fv, "match_frame", None)
    if match is not None:
        return await match(data)
    fv.write_any(data, names)
    return 1
