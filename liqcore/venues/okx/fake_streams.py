"""OKX v5's public market streams as a local fake speaks them (the ``fake_streams`` part).

The shared server (:class:`liqcore.venues.fake_streams.FakeMarketStream`) asks this module for what is OKX's own:
its one path ``/ws/v5/public``, the subscription a push belongs to, the public REST answers, the subscribe protocol
(``{"op": "subscribe", "args": [...]}`` answered with one ``{"event": "subscribe", "arg": ..., "connId": ...}``
per argument; the text ``ping`` answered ``pong``; the first ``liquidation-orders`` push after a subscription
repeating an old liquidation) and, for ``liqcore venue``, how a replayed push reaches the fake's matching.  What
it serves: docs/maintainers/fakes.md, "The fake market streams (Binance, OKX)".

May import: orjson (the state it works on is the server's, passed in).
"""
from __future__ import annotations

import time

import orjson

__all__ = ["WS_PATH", "WS_ROUTES", "MOUNT_ROUTES", "RATE_LIMITED_PATH", "BOOKS_MAX_SZ", "streams",
           "liquidation_streams", "trade_streams", "rest_routes", "rate_limited", "on_open", "on_text",
           "trades_subscribed", "replay_frame"]

WS_PATH = "/ws/v5/public"
WS_ROUTES = {WS_PATH: None}
MOUNT_ROUTES = (WS_PATH,)
#: ``GET /api/v5/market/books``: at most 400 levels a side (default 1)
BOOKS_MAX_SZ = 400
#: no REST path of OKX's takes the server's depth knobs (``depth_rate_limits``, ``depth_delay_s``)
RATE_LIMITED_PATH = None


def streams(frame: bytes) -> tuple[str, ...]:
    """The subscription an ``{"arg": {...}, "data": [...]}`` push belongs to, as compact JSON of its channel and
    ``instId`` (or ``instType``: ``liquidation-orders``), the form the subscribe args take; () for anything else
    (an ``event`` answer, a frame that is not JSON)."""
    try:
        m = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return ()
    arg = m.get("arg") if isinstance(m, dict) and "event" not in m else None
    if not isinstance(arg, dict) or "channel" not in arg:
        return ()
    key = "instId" if "instId" in arg else "instType"
    return (orjson.dumps({"channel": arg["channel"], key: arg.get(key)}).decode(),)


def liquidation_streams(symbol: str) -> tuple[str, ...]:
    """Where the venue sends a liquidation: ``liquidation-orders`` of ``instType`` SWAP (the channel has no
    per-instrument form)."""
    return ('{"channel":"liquidation-orders","instType":"SWAP"}',)


def trade_streams(symbol: str) -> tuple[str, ...]:
    """Where the venue sends a trade of ``symbol`` (an instId): ``trades``."""
    return (orjson.dumps({"channel": "trades", "instId": symbol}).decode(),)


def rest_routes(fs, fu) -> dict:
    """The public REST answers (path -> ``answer(query)``: a body, or ``(body, status)``) of the server ``fs``, its
    instrument list rendered by ``fu`` (:mod:`liqcore.venues.fake_universe`)."""
    return {"/api/v5/public/instruments": lambda q: fu.okx_instruments(fs.instruments),
            "/api/v5/market/tickers": lambda q: fu.okx_tickers(fs.instruments),
            "/api/v5/market/candles": lambda q: _candles(fs, q),
            "/api/v5/market/books": lambda q: _books(fs, q)}


def rate_limited(retry_after: int):  # pragma: no cover - RATE_LIMITED_PATH is None
    raise NotImplementedError("okx: the fake's depth knobs apply to no REST path of OKX's")


def _books(fs, q):
    """``GET /api/v5/market/books``: ``instId`` (required), ``sz`` up to 400 (default 1) -> ``{"code": "0",
    "data": [{"asks", "bids", "ts", "seqId"}]}``, each level ``[price, size, "0", orders]``."""
    book = fs.depth_books.get(q.get("instId", ""))
    if book is None:
        return {"code": "51001", "msg": "Instrument ID does not exist", "data": []}
    try:
        sz = int(q.get("sz", 1))
    except ValueError:
        sz = -1
    if not 1 <= sz <= BOOKS_MAX_SZ:
        return {"code": "51000", "msg": "Parameter sz error", "data": []}
    seq, bids, asks = book()
    lv = lambda side: [[p, s, "0", "1"] for p, s in side[:sz]]  # noqa: E731
    return {"code": "0", "msg": "", "data": [{"asks": lv(asks), "bids": lv(bids),
                                              "ts": str(int(time.time() * 1000)), "seqId": int(seq)}]}


def _candles(fs, q):
    if q.get("bar") != "1m" or q.get("instId") not in fs.klines:
        return {"code": "51001", "msg": "Instrument ID does not exist", "data": []}
    rows = fs.candles(q["instId"], int(q["before"]) + 1 if "before" in q else 0,
                      int(q["after"]) - 1 if "after" in q else 2**62, int(q.get("limit", 100)), True)
    return {"code": "0", "msg": "", "data": [[f"{t}", f"{o}", f"{h}", f"{lo}", f"{c}", "0", f"{v}", f"{v * c}", "1"]
                                             for t, o, h, lo, c, v in rows]}


def _old_liquidation() -> dict:
    """One ``liquidation-orders`` row of an hour ago (what OKX's first push after a subscription repeats)."""
    ts = str(int(time.time() * 1000) - 3_600_000)
    return {"details": [{"bkLoss": "0", "bkPx": "1000", "ccy": "", "posSide": "long", "side": "sell", "sz": "1",
                         "ts": ts}], "instFamily": "ETH-USDT", "instId": "ETH-USDT-SWAP", "instType": "SWAP",
            "uly": "ETH-USDT"}


async def on_open(fs, ws, request, conn) -> bool:
    """A new connection: nothing is subscribed by its URL."""
    return True


async def on_text(fs, ws, conn, text: str) -> bool:
    """One text message of a client (never closes the connection)."""
    if text == "ping":
        await ws.send_str("pong")
        return True
    try:
        m = orjson.loads(text)
    except orjson.JSONDecodeError:
        return True
    op = m.get("op")
    if op in ("subscribe", "unsubscribe"):
        fs.ops.append((op, [orjson.dumps(a).decode() for a in m.get("args") or []]))
    for a in m.get("args") or []:
        key = orjson.dumps(a).decode()
        if op == "subscribe":
            conn.subs.add(key)
            fs.mark_subscribed()
        elif op == "unsubscribe":
            conn.subs.discard(key)
        await ws.send_str(orjson.dumps({"event": op, "arg": a, "connId": "fake"}).decode())
        # the first push after a subscription repeats old liquidations (tardis-node drops it:
        # OkexV5LiquidationsMapper._isFirstMessage, src/mappers/okex.ts)
        if op == "subscribe" and isinstance(a, dict) and a.get("channel") == "liquidation-orders" \
                and fs.okx_liquidation_replay:
            await ws.send_str(orjson.dumps({"arg": a, "data": [_old_liquidation()]}).decode())
    return True


def trades_subscribed(fv, symbols) -> bool:
    """``liqcore venue``: a client of the fake OKX ``fv`` subscribed its trades."""
    return fv.subscribed("trades")


async def replay_frame(fo, data: bytes) -> int:
    """One OKX push ``{"arg", "data"}``: to the subscribers of its channel, and a trade to the matching."""
    try:
        msg = orjson.loads(data)
        arg, rows = msg["arg"], msg["data"]
        channel = arg["channel"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return 0
    if channel == "trades":
        for row in rows:
            inst = row.get("instId")
            if inst in fo.instruments:
                try:
                    await fo.match_trade(inst, float(row["px"]), float(row["sz"]))
                except (KeyError, ValueError):
                    continue
    await fo.publish(channel, arg, rows)
    return 1
