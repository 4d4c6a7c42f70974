"""Local servers laid out as each venue's documentation shows (Binance exchangeInfo + 24 h tickers, Bybit's paged
instruments-info + tickers, OKX's instruments + tickers), 400 perpetuals with tick 0.0001 and lot 10, served on
127.0.0.1 by :class:`Server` (an aiohttp app in a thread of its own)."""
from __future__ import annotations

import asyncio
import threading

from aiohttp import web

N = 400


def _names(n=N):
    return [f"C{i:03d}USDT" for i in range(n)]


def _binance_app(names=None):
    """``names``: the listed perpetuals (default C000USDT .. C399USDT), read at each request: a list the test
    changes is a venue whose listings change."""
    def row(s):
        return {"symbol": s, "status": "TRADING", "contractType": "PERPETUAL", "quoteAsset": "USDT",
                "filters": [{"filterType": "PRICE_FILTER", "tickSize": "0.0001"},
                            {"filterType": "LOT_SIZE", "stepSize": "10", "minQty": "10", "maxQty": "1000000"},
                            {"filterType": "MIN_NOTIONAL", "notional": "5"}]}

    names = _names() if names is None else names
    other = [{"symbol": "BTCUSDT_260327", "status": "TRADING", "contractType": "CURRENT_QUARTER", "quoteAsset": "USDT",
              "filters": []},
             {"symbol": "BTCUSDC", "status": "TRADING", "contractType": "PERPETUAL", "quoteAsset": "USDC", "filters": []},
             {"symbol": "OLDUSDT", "status": "SETTLING", "contractType": "PERPETUAL", "quoteAsset": "USDT", "filters": []},
             {"symbol": "BADUSDT", "status": "TRADING", "contractType": "PERPETUAL", "quoteAsset": "USDT", "filters": []}]
    app = web.Application()

    async def info(_):
        return web.json_response({"timezone": "UTC", "symbols": [row(s) for s in names] + other})

    async def tick(_):
        return web.json_response([{"symbol": s, "quoteVolume": str(1e6 * (i % 10))} for i, s in enumerate(names)])

    app.router.add_get("/fapi/v1/exchangeInfo", info)
    app.router.add_get("/fapi/v1/ticker/24hr", tick)
    return app


def _bybit_app(seen: list, n: int = N, names=None):
    """``names``: the listed perpetuals (default the first ``n`` of C000USDT ...), read at each request."""
    names = _names(n) if names is None else names
    app = web.Application()

    async def info(req):
        rows = [{"symbol": s, "contractType": "LinearPerpetual", "status": "Trading", "quoteCoin": "USDT",
                 "priceFilter": {"tickSize": "0.0001"},
                 "lotSizeFilter": {"qtyStep": "10", "minOrderQty": "10", "maxOrderQty": "1000000",
                                   "minNotionalValue": "5"}} for s in names]
        rows.append({"symbol": "BTC-26DEC26", "contractType": "LinearFutures", "status": "Trading", "quoteCoin": "USDT"})
        seen.append(dict(req.query))
        assert req.query["category"] == "linear"
        start = int(req.query.get("cursor") or 0)
        page = rows[start:start + 250]  # the venue pages its answer
        nxt = str(start + 250) if start + 250 < len(rows) else ""
        return web.json_response({"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": page,
                                                                             "nextPageCursor": nxt}})

    async def tick(_):
        return web.json_response({"retCode": 0, "result": {"list": [{"symbol": s, "turnover24h": str(1e6 * (i % 10))}
                                                                   for i, s in enumerate(_names())]}})

    app.router.add_get("/v5/market/instruments-info", info)
    app.router.add_get("/v5/market/tickers", tick)
    return app


def _okx_app():
    data = [{"instId": f"C{i:03d}-USDT-SWAP", "ctType": "linear", "settleCcy": "USDT", "state": "live",
             "tickSz": "0.0001", "lotSz": "1", "minSz": "1", "ctVal": "10"} for i in range(N)]
    data.append({"instId": "BTC-USD-SWAP", "ctType": "inverse", "settleCcy": "BTC", "state": "live", "tickSz": "0.1",
                 "lotSz": "1", "minSz": "1", "ctVal": "100"})
    app = web.Application()

    async def inst(req):
        assert req.query["instType"] == "SWAP"
        return web.json_response({"code": "0", "msg": "", "data": data})

    async def tick(_):
        return web.json_response({"code": "0", "data": [{"instId": d["instId"], "volCcy24h": "1000", "last": "2"}
                                                         for d in data]})

    app.router.add_get("/api/v5/public/instruments", inst)
    app.router.add_get("/api/v5/market/tickers", tick)
    return app


def wait_for(cond, deadline: float, every_s: float = 0.05) -> bool:
    """Poll ``cond()`` until it is true (True) or ``deadline`` (``time.monotonic()``) passes (False)."""
    import time

    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(every_s)
    return False


class Server:
    """An aiohttp app on 127.0.0.1 in a thread of its own."""

    def __init__(self, app):
        self.app, self.loop = app, asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self):
        self.thread.start()

        async def up():
            self.runner = web.AppRunner(self.app, access_log=None)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            return site._server.sockets[0].getsockname()[1]

        self.port = asyncio.run_coroutine_threadsafe(up(), self.loop).result(30)
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


T0_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def write_all_market_recording(path, names, seed: int = 1, trades=(), venue: str = "binance") -> None:
    """A recording of a whole market's liquidations (the recorder's format: one ``{"recv_ns", "venue", "frame"}``
    line each, received 40 ms after the event): Binance's all-market ``!forceOrder@arr`` pushes, Bybit's
    ``allLiquidation.<symbol>`` frames or OKX's ``liquidation-orders`` (``C000USDT`` is ``C000-USDT-SWAP`` there,
    sized in contracts of 10, the ``ctVal`` of :func:`_okx_app`), over ``names``: per symbol 150 liquidations of
    random size over 4 h and two bursts of 4 large ones 1.5 s apart once the threshold has its history; the
    symbols of ``trades`` also get a trade every 2 s at their price over the bursts' hour (Binance ``aggTrade``,
    Bybit ``publicTrade``, OKX ``trades``).  The same ``seed`` gives every venue the same market."""
    import numpy as np
    import orjson

    from liqcore.testing import fake_replay
    from liqcore.venues.binance.samples import liquidation_frame
    from liqcore.venues.okx import samples as okx
    from liqcore.venues.okx.stream import inst_id

    def liq(sym, t, q, px, side):  # side: the liquidated order's side (SELL: a long liquidated)
        if venue == "binance":
            return liquidation_frame(sym, t, q, px, side)
        if venue == "okx":  # (the base quantity Binance's frame carries, in contracts of 10)
            return okx.liquidation_frame(inst_id(sym), t, round(q, 4) / 10, px, side.lower())
        return orjson.dumps(fake_replay.liquidation_frame(sym, px, round(q, 4), "Buy" if side == "SELL" else "Sell", t))

    def trade(sym, i, t, px):
        if venue == "binance":
            return orjson.dumps({"e": "aggTrade", "E": t + 1, "s": sym, "a": i, "p": f"{px:.2f}", "q": "1.000", "f": i,
                                 "l": i, "T": t, "m": bool(i % 2)})
        if venue == "okx":  # (m: the buyer made the price, the taker sold)
            return orjson.dumps({"arg": {"channel": "trades", "instId": inst_id(sym)},
                                 "data": [{"instId": inst_id(sym), "tradeId": str(i), "px": f"{px:.2f}", "sz": "0.1",
                                           "side": "sell" if i % 2 else "buy", "ts": str(t), "count": "1"}]})
        return orjson.dumps(fake_replay.trade_frame(sym, f"{px:.2f}", 1, "Sell" if i % 2 else "Buy", t, str(i)))

    rng = np.random.default_rng(seed)
    lines = []
    for sym in names:
        px = float(np.round(rng.uniform(0.5, 100), 2))
        for t in np.sort(rng.integers(0, 4 * 3600 * 1000, 150)):
            q = float(rng.lognormal(0, 1)) * 100 / px
            side = "SELL" if rng.random() < .5 else "BUY"
            lines.append((int(T0_MS + t), liq(sym, int(T0_MS + t), q, px, side)))
        for b in (int(rng.integers(3 * 3600_000, 3.4 * 3600_000)), int(rng.integers(3.6 * 3600_000, 4 * 3600_000))):
            for j in range(4):
                t = int(T0_MS + b + j * 1500)
                lines.append((t, liq(sym, t, 5000 / px, px, "SELL")))
        if sym in trades:
            for i, t in enumerate(range(T0_MS + 3 * 3600_000 - 60_000, T0_MS + 4 * 3600_000, 2_000)):
                lines.append((t, trade(sym, i, t, px)))
    lines.sort(key=lambda x: x[0])
    with open(path, "wb") as f:
        for t, fr in lines:
            f.write(orjson.dumps({"recv_ns": t * 1_000_000 + 40_000_000, "venue": venue,
                                  "frame": orjson.loads(fr)}) + b"\n")


def kline_rows(start_ms: int, n: int, price0: float = 100.0, step: float = 0.5) -> list[tuple]:
    """``n`` 1-minute candles from ``start_ms``: (open ms, open, high, low, close, volume), each closing ``step``
    above its open (the next opens at that close)."""
    out, p = [], price0
    for k in range(n):
        o, c = p, p + step
        out.append((start_ms + k * 60_000, o, max(o, c) + 0.25, min(o, c) - 0.25, c, 10.0 + k))
        p = c
    return out


def _klines_app(venue: str, candles: dict, seen: list | None = None, bad_row: bool = True):
    """Each venue's kline endpoint as its documentation lays it out (Binance ``/fapi/v1/klines`` oldest first;
    Bybit ``/v5/market/kline`` and OKX ``/api/v5/market/candles`` newest first), serving ``candles`` (symbol ->
    :func:`kline_rows`) filtered by the request's span and limit; ``bad_row`` adds one malformed row to each
    answer; ``seen`` collects the query of each request."""

    def pick(sym, lo, hi, limit, newest_first):
        rows = [r for r in candles.get(sym, ()) if lo <= r[0] <= hi]
        rows = rows[-limit:] if newest_first else rows[:limit]
        return rows[::-1] if newest_first else rows

    async def binance(req):
        q = req.query
        (seen is not None) and seen.append(dict(q))
        if q.get("interval") != "1m" or q.get("symbol") not in candles:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        rows = [[t, f"{o}", f"{h}", f"{lo}", f"{c}", f"{v}", t + 59_999, "0", 1, "0", "0", "0"]
                for t, o, h, lo, c, v in pick(q["symbol"], int(q["startTime"]), int(q["endTime"]), int(q["limit"]), False)]
        if bad_row:
            rows.insert(len(rows) // 2, [rows[0][0] if rows else 0, "x", "1", "1", "1", "1"])
        return web.json_response(rows)

    async def bybit(req):
        q = req.query
        (seen is not None) and seen.append(dict(q))
        if q.get("category") != "linear" or q.get("interval") != "1" or q.get("symbol") not in candles:
            return web.json_response({"retCode": 10001, "retMsg": "params error", "result": {}})
        rows = [[f"{t}", f"{o}", f"{h}", f"{lo}", f"{c}", f"{v}", f"{v * c}"]
                for t, o, h, lo, c, v in pick(q["symbol"], int(q["start"]), int(q["end"]), int(q["limit"]), True)]
        if bad_row:
            rows.insert(1, ["1", "2", "1", "3", "2", "1", "1"])  # (high below low)
        return web.json_response({"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "symbol": q["symbol"],
                                                                            "list": rows}, "retExtInfo": {}, "time": 0})

    async def okx(req):
        q = req.query
        (seen is not None) and seen.append(dict(q))
        if q.get("bar") != "1m" or q.get("instId") not in candles:
            return web.json_response({"code": "51001", "msg": "Instrument ID does not exist", "data": []})
        lo = int(q["before"]) + 1 if "before" in q else 0
        hi = int(q["after"]) - 1 if "after" in q else 2**62
        rows = [[f"{t}", f"{o}", f"{h}", f"{lo_}", f"{c}", f"{v / 0.01}", f"{v}", f"{v * c}", "1"]
                for t, o, h, lo_, c, v in pick(q["instId"], lo, hi, int(q.get("limit", 100)), True)]
        if bad_row:
            rows.append(["oops"])
        return web.json_response({"code": "0", "msg": "", "data": rows})

    app = web.Application()
    path = {"binance": "/fapi/v1/klines", "bybit": "/v5/market/kline", "okx": "/api/v5/market/candles"}[venue]
    app.router.add_get(path, {"binance": binance, "bybit": bybit, "okx": okx}[venue])
    return app
