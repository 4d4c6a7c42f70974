"""A venue's whole universe from its public REST API (local servers on 127.0.0.1 laid out as each venue's
documentation shows: Binance exchangeInfo + 24 h tickers, Bybit's paged instruments-info + tickers, OKX's
instruments + tickers), the cache with its fetch time, and `record --symbols all`."""
from __future__ import annotations

import asyncio
import io
import json
import math
import threading
import time
from contextlib import redirect_stderr, redirect_stdout

import orjson
import pytest
from aiohttp import web

from liqcore.market.universe import Universe, UniverseError, fetch_universe, load_universe

N = 400


def _names(n=N):
    return [f"C{i:03d}USDT" for i in range(n)]


def _binance_app():
    syms = []
    for i, s in enumerate(_names()):
        syms.append({"symbol": s, "status": "TRADING", "contractType": "PERPETUAL", "quoteAsset": "USDT",
                     "filters": [{"filterType": "PRICE_FILTER", "tickSize": "0.0001"},
                                 {"filterType": "LOT_SIZE", "stepSize": "10", "minQty": "10", "maxQty": "1000000"},
                                 {"filterType": "MIN_NOTIONAL", "notional": "5"}]})
    syms += [{"symbol": "BTCUSDT_260327", "status": "TRADING", "contractType": "CURRENT_QUARTER", "quoteAsset": "USDT",
              "filters": []},
             {"symbol": "BTCUSDC", "status": "TRADING", "contractType": "PERPETUAL", "quoteAsset": "USDC", "filters": []},
             {"symbol": "OLDUSDT", "status": "SETTLING", "contractType": "PERPETUAL", "quoteAsset": "USDT", "filters": []},
             {"symbol": "BADUSDT", "status": "TRADING", "contractType": "PERPETUAL", "quoteAsset": "USDT", "filters": []}]
    app = web.Application()

    async def info(_):
        return web.json_response({"timezone": "UTC", "symbols": syms})

    async def tick(_):
        return web.json_response([{"symbol": s, "quoteVolume": str(1e6 * (i % 10))} for i, s in enumerate(_names())])

    app.router.add_get("/fapi/v1/exchangeInfo", info)
    app.router.add_get("/fapi/v1/ticker/24hr", tick)
    return app


def _bybit_app(seen: list, n: int = N):
    rows = [{"symbol": s, "contractType": "LinearPerpetual", "status": "Trading", "quoteCoin": "USDT",
             "priceFilter": {"tickSize": "0.0001"},
             "lotSizeFilter": {"qtyStep": "10", "minOrderQty": "10", "maxOrderQty": "1000000", "minNotionalValue": "5"}}
            for s in _names(n)]
    rows.append({"symbol": "BTC-26DEC26", "contractType": "LinearFutures", "status": "Trading", "quoteCoin": "USDT"})
    app = web.Application()

    async def info(req):
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


@pytest.mark.parametrize("venue", ["binance", "bybit", "okx"])
def test_each_venue_lists_its_perpetuals_with_their_rules(venue):
    seen = []
    app = {"binance": _binance_app, "bybit": lambda: _bybit_app(seen), "okx": _okx_app}[venue]()
    with Server(app) as srv:
        u = asyncio.run(fetch_universe(venue, base_url=srv.url))
    assert len(u.symbols) == N and u.source == "venue" and abs(u.age_s()) < 60
    first = u.symbols[0]
    r = u.rules[first]
    assert r.tick_size == 0.0001 and r.qty_step == 10.0 and r.min_qty == 10.0
    if venue == "binance":
        assert u.left_out == {"not_perpetual": 1, "other_quote": 1, "not_trading": 1, "malformed": 1}
        assert r.min_notional == 5.0 and u.turnover["C001USDT"] == 1e6
    if venue == "bybit":
        assert len(seen) == 2 and seen[1]["cursor"] == "250"  # both pages read
        assert u.left_out == {"not_perpetual": 1}
    if venue == "okx":  # contracts of ctVal 10 base units: the lot in base units
        assert first == "C000-USDT-SWAP" and u.left_out == {"not_perpetual": 1} and u.turnover[first] == 2000.0
    # a turnover floor and exclusions
    sel = u.select(exclude=[u.symbols[1], "nosuch"], min_volume=5e6)
    assert u.symbols[1] not in sel.symbols and sel.left_out["excluded"] == 1
    if venue != "okx":
        assert len(sel.symbols) == 200 and sel.left_out["below_min_volume"] == 199  # (the excluded one was below too)


def test_the_list_is_cached_with_its_time_and_served_when_the_venue_is_down(tmp_path):
    seen = []
    with Server(_bybit_app(seen)) as srv:
        url = srv.url
        u = asyncio.run(load_universe("bybit", base_url=url, cache_dir=tmp_path))
        assert len(seen) == 2
    path = tmp_path / "universe-bybit-usdt.json"
    saved = json.loads(path.read_text())
    assert saved["fetched_ns"] == u.fetched_ns and len(saved["rules"]) == N
    # no base URL override and a young cache: served from it, the venue not asked
    cached = asyncio.run(load_universe("bybit", cache_dir=tmp_path))
    assert cached.source == "cache" and cached.symbols == u.symbols and cached.rules["C007USDT"] == u.rules["C007USDT"]
    assert "from the cache" in cached.describe()
    # the venue unreachable (its server gone): the cache of any age, with a warning saying how old
    warned = []
    old = asyncio.run(load_universe("bybit", base_url=url, cache_dir=tmp_path, warn=warned.append))
    assert old.symbols == u.symbols and len(warned) == 1 and "cannot reach" in warned[0] and "cached" in warned[0]
    # and without a cache: one line naming the URL
    with pytest.raises(UniverseError, match="cannot reach http://127.0.0.1") as e:
        asyncio.run(load_universe("bybit", base_url=url, cache_dir=tmp_path / "empty"))
    assert "\n" not in str(e.value)


def test_a_venue_error_is_one_line():
    app = web.Application()

    async def bad(_):
        return web.Response(status=418, text="no\nthanks")

    app.router.add_get("/fapi/v1/exchangeInfo", bad)
    with Server(app) as srv:
        with pytest.raises(UniverseError, match="answered HTTP 418") as e:
            asyncio.run(fetch_universe("binance", base_url=srv.url))
    assert "\n" not in str(e.value)
    with pytest.raises(UniverseError, match="venue"):
        asyncio.run(fetch_universe("kraken"))
    assert Universe.from_json(json.loads(json.dumps(
        Universe("bybit", "USDT", {}, {}, 1, {}).to_json()))).fetched_ns == 1


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_record_all_subscribes_every_bybit_perpetual_over_several_connections(tmp_path):
    """1,000 symbols' ``allLiquidation`` topics exceed one connection's 21,000 characters of args: the recorder
    opens two; a liquidation of a long-tail symbol on the second is recorded."""
    from liqcore.cli import main
    from liqcore.live.recorder import read_lines
    from liqcore.testing import FakeExchangeThread
    from liqcore.testing.fake_replay import liquidation_frame

    seen = []
    with Server(_bybit_app(seen, 1000)) as srv:
        ft = FakeExchangeThread()
        fx = ft.start()

        most = [0]
        done = threading.Event()

        def venue():
            deadline = time.monotonic() + 60
            while fx.connections("public") < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not done.is_set():  # until the recorder stops
                most[0] = max(most[0], fx.connections("public"))
                ft.call(fx.push(liquidation_frame("C999USDT", 0.5, 100, "Buy")))
                time.sleep(0.1)

        t = threading.Thread(target=venue, daemon=True)
        err = io.StringIO()
        try:
            t.start()
            with redirect_stdout(io.StringIO()), redirect_stderr(err):
                code = main(["record", "--venue", "bybit", "--symbols", "all", "--also", "C001USDT", "--exclude",
                             "C002USDT", "--rest-url", srv.url, "--out", str(tmp_path / "rec"), "--ws-url",
                             fx.public_ws_url, "--duration", "4", "--flush", "0.1", "--quiet"])
            n_conn = most[0]
        finally:
            done.set()
            t.join(10)
            ft.stop()
    assert code == 0, err.getvalue()
    assert "bybit: 999 USDT perpetuals" in err.getvalue() and "left out: excluded=1" in err.getvalue()
    assert n_conn == 2 and "2 connection(s)" in err.getvalue()
    lines = [orjson.loads(x) for f in sorted((tmp_path / "rec").iterdir()) for x in read_lines(f)]
    topics = [str(x["frame"].get("topic", "")) for x in lines if isinstance(x.get("frame"), dict)]
    assert "allLiquidation.C999USDT" in topics


def test_record_all_refuses_what_an_all_market_stream_cannot_do(tmp_path, capsys):
    from liqcore.cli import main

    assert main(["record", "--venue", "binance", "--symbols", "all", "--exclude", "BTCUSDT", "--out",
                 str(tmp_path)]) != 0
    assert "cannot be narrowed" in capsys.readouterr().err
    assert main(["record", "--venue", "bybit", "--symbols", "BTCUSDT", "--also", "ETHUSDT", "--out", str(tmp_path)]) != 0
    assert "only with --symbols all" in capsys.readouterr().err


@pytest.mark.parametrize("venue, stream", [("binance", "!forceOrder@arr"),
                                           ("okx", '{"channel":"liquidation-orders","instType":"SWAP"}')])
def test_all_market_venues_subscribe_their_one_stream(venue, stream):
    from liqcore.market.streams import whole_market_specs

    specs = whole_market_specs(venue, [], [])
    assert [t for s in specs for t in s.topics] == [stream]
    specs = whole_market_specs(venue, [], ["ETHUSDT"], book=False)
    topics = [t for s in specs for t in s.topics]
    assert topics[0] == stream and len(topics) == 2 and "ETH" in topics[1].upper()
    assert not math.isnan(0.0)
