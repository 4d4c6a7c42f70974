"""Binance USD-M futures' public market streams as a local fake speaks them (the ``fake_streams`` part).

The shared server (:class:`liqcore.venues.fake_streams.FakeMarketStream`) asks this module for what is Binance's
own: the paths it serves and the category each carries, the streams a push belongs to, the public REST answers,
the subscribe protocol (``{"method": "SUBSCRIBE", "params": [names], "id": n}`` answered ``{"result": null, "id":
n}``; > 10 messages a second or > 1024 streams close the connection, code 1008), and, for ``liqcore venue``, how a
replayed push reaches the fake's matching.  What it serves: docs/maintainers/fakes.md, "The fake market streams
(Binance, OKX)".

May import: orjson and ``venues.binance`` (the state it works on is the server's, passed in).
"""
from __future__ import annotations

import re
import time

import orjson

__all__ = ["depth_snapshot", "WS_PATH", "WS_ROUTES", "MOUNT_ROUTES", "RATE_LIMITED_PATH", "DEPTH_LIMITS", "MAX_STREAMS", "MAX_MSGS_PER_S",
           "streams", "liquidation_streams", "trade_streams", "rest_routes", "rate_limited", "on_open", "on_text",
           "trades_subscribed", "replay_frame"]

#: the path of the fake's ``ws_url`` (the bare root: a client routes each category itself)
WS_PATH = ""
#: paths served -> the category of streams they send (the retired unrouted paths: the book data alone)
WS_ROUTES = {"/public/ws": "public", "/public/stream": "public", "/market/ws": "market",
             "/market/stream": "market", "/ws": "public", "/stream": "public"}
#: the paths served on another server (the fake Binance's order API keeps its own /ws/<listenKey>)
MOUNT_ROUTES = tuple(p for p in WS_ROUTES if p not in ("/ws", "/stream"))
MAX_STREAMS = 1024
MAX_MSGS_PER_S = 10
#: ``GET /fapi/v1/depth``: the limits it takes (default 500)
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
#: the REST path the server's depth knobs (``depth_rate_limits``, ``depth_delay_s``) apply to
RATE_LIMITED_PATH = "/fapi/v1/depth"
#: a push's event type -> the streams that carry it (``{s}``: the symbol, lower case)
_STREAMS = {b"forceOrder": ("!forceOrder@arr", "{s}@forceOrder"), b"aggTrade": ("{s}@aggTrade",),
            b"trade": ("{s}@trade",), b"bookTicker": ("{s}@bookTicker",),
            b"markPriceUpdate": ("{s}@markPrice@1s", "{s}@markPrice", "!markPrice@arr@1s"),
            b"depthUpdate": ("{s}@depth", "{s}@depth@500ms", "{s}@depth@100ms")}
_EVENT = re.compile(rb'"e":"([A-Za-z]+)"')
_SYMBOL = re.compile(rb'"s":"([A-Za-z0-9_]+)"')


def streams(frame: bytes) -> tuple[str, ...]:
    """The stream names a raw push belongs to (a combined stream's wrapper: its ``stream``); () for anything else
    (a subscription answer)."""
    head = frame[:64]
    if head.startswith(b'{"stream":"'):
        return (frame[11:frame.index(b'"', 11)].decode(),)
    e = _EVENT.search(frame)
    if e is None or e.group(1) not in _STREAMS:
        return ()
    s = _SYMBOL.search(frame)
    sym = s.group(1).decode().lower() if s else ""
    return tuple(n.format(s=sym) for n in _STREAMS[e.group(1)])


def liquidation_streams(symbol: str) -> tuple[str, ...]:
    """Where the venue sends a liquidation of ``symbol``: the all-market ``!forceOrder@arr`` and
    ``<symbol>@forceOrder``."""
    return ("!forceOrder@arr", f"{symbol.lower()}@forceOrder")


def trade_streams(symbol: str) -> tuple[str, ...]:
    """Where the venue sends a trade of ``symbol``: ``<symbol>@aggTrade`` and ``<symbol>@trade``."""
    s = symbol.lower()
    return (f"{s}@aggTrade", f"{s}@trade")


def rest_routes(fs, fu) -> dict:
    """The public REST answers (path -> ``answer(query)``: a body, or ``(body, status)``) of the server ``fs``, its
    instrument list rendered by ``fu`` (:mod:`liqcore.venues.fake_universe`)."""
    return {"/fapi/v1/exchangeInfo": lambda q: fu.binance_exchange_info(fs.instruments, int(time.time() * 1000)),
            "/fapi/v1/ticker/24hr": lambda q: fu.binance_tickers(fs.instruments),
            "/fapi/v1/klines": lambda q: _klines(fs, q),
            "/fapi/v1/depth": lambda q: depth_snapshot(fs, q)}


def rate_limited(retry_after: int) -> tuple[dict, int]:
    """HTTP 429 -1003 ("General Info", HTTP Return Codes: 429 when breaking a request rate limit, with Retry-After)."""
    return {"code": -1003, "msg": "Too many requests; current limit of IP is 2400 requests per minute."}, 429


def _klines(fs, q):
    if q.get("interval") != "1m" or q.get("symbol") not in fs.klines:
        return {"code": -1121, "msg": "Invalid symbol."}, 400
    rows = fs.candles(q["symbol"], int(q.get("startTime", 0)), int(q.get("endTime", 2**62)),
                      int(q.get("limit", 500)), False)
    return [[t, f"{o}", f"{h}", f"{lo}", f"{c}", f"{v}", t + 59_999, f"{v * c}", 1, "0", "0", "0"]
            for t, o, h, lo, c, v in rows]


def depth_snapshot(fs, q):
    """``GET /fapi/v1/depth``: ``symbol`` (required), ``limit`` one of 5, 10, 20, 50, 100, 500, 1000 (default
    500) -> ``{"lastUpdateId", "E", "T", "bids", "asks"}``."""
    book = fs.depth_books.get(q.get("symbol", ""))
    if book is None:
        return {"code": -1121, "msg": "Invalid symbol."}, 400
    try:
        limit = int(q.get("limit", 500))
    except ValueError:
        limit = -1
    if limit not in DEPTH_LIMITS:
        return {"code": -1100, "msg": "Illegal characters found in parameter 'limit'; legal range is "
                                      "'5, 10, 20, 50, 100, 500, 1000'."}, 400
    uid, bids, asks = book()
    now = int(time.time() * 1000)
    return {"lastUpdateId": int(uid), "E": now, "T": now - 1, "bids": bids[:limit], "asks": asks[:limit]}


def _take(conn, names) -> bool:
    """``names`` acknowledged; sent only when they are of the connection's path category.  False: the connection
    would hold more than MAX_STREAMS."""
    from liqcore.venues.binance.stream import category

    if len(conn.acked | set(names)) > MAX_STREAMS:
        return False
    conn.acked.update(names)
    conn.subs.update(n for n in names if category(n) == conn.cat)
    return True


async def on_open(fs, ws, request, conn) -> bool:
    """A new connection on ``request.path``: a combined stream's URL subscribes its ``streams``.  False: closed."""
    conn.cat = WS_ROUTES.get(request.path)
    if request.path.endswith("/stream") and request.query.get("streams"):
        names = [n for n in request.query["streams"].split("/") if n]
        fs.ops.append(("url", names))
        if not _take(conn, names):
            fs.closed_for["streams"] += 1
            await ws.close(code=1008, message=b"too many streams")
            return False
        fs.mark_subscribed()
    return True


async def on_text(fs, ws, conn, text: str) -> bool:
    """One text message of a client.  False: the connection was closed (the venue's limits)."""
    now = time.monotonic()
    conn.arrivals.append(now)
    while conn.arrivals and conn.arrivals[0] <= now - 1.0:
        conn.arrivals.pop(0)
    if len(conn.arrivals) > MAX_MSGS_PER_S:  # (the venue: "will be disconnected")
        fs.closed_for["rate"] += 1
        await ws.close(code=1008, message=b"too many messages")
        return False
    try:
        m = orjson.loads(text)
    except orjson.JSONDecodeError:
        return True
    method, names = m.get("method"), [str(x) for x in m.get("params") or []]
    if method == "SUBSCRIBE":
        if not _take(conn, names):
            fs.closed_for["streams"] += 1
            await ws.close(code=1008, message=b"too many streams")
            return False
        fs.mark_subscribed()
    elif method == "UNSUBSCRIBE":
        conn.subs.difference_update(names)
        conn.acked.difference_update(names)
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        fs.ops.append((method.lower(), names))
    await ws.send_str(orjson.dumps({"result": None, "id": m.get("id")}).decode())
    return True


def trades_subscribed(fv, symbols) -> bool:
    """``liqcore venue``: a client of the fake Binance ``fv`` subscribed a trade stream of ``symbols``."""
    return any(fv.market.subscribed(f"{s.lower()}@aggTrade") for s in symbols)


async def replay_frame(fb, data: bytes) -> int:
    """One Binance push: to every stream that carries its event, and an aggTrade to the matching.  A recorded
    or rendered combined-stream frame (``{"stream": ..., "data": ...}``) is sent as its event, as the raw
    stream sends it: the wrapper names one of the event's streams, not necessarily the one subscribed
    (``!forceOrder@arr`` for a client of ``<symbol>@forceOrder``)."""
    if data.startswith(b'{"stream":"'):
        at = data.find(b'"data":')
        if at < 0:
            return 0
        data = data[at + 7:data.rindex(b"}")]
    names = streams(data)
    if not names:
        return 0
    fb.market.write_any(data, names)
    if b'"aggTrade"' in data:
        try:
            ev = orjson.loads(data)
            sym, px, qty = ev["s"], float(ev["p"]), float(ev["q"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return 1
        if sym in fb.venue.instruments:
            await fb.trade(sym, px, qty)
    return 1
