"""Order-gateway benchmarks on loopback against the fake Bybit exchange (baselines measured in the same run).

1. ``place()`` of a post-only entry with TP/SL: intent -> create request received by the venue, and the
   full round trip (ack back), versus the transport floor: a hand-written signed aiohttp POST of the same
   body (stdlib json, no validation, no limiter, no bookkeeping).
   The same for ``BinanceGateway.place()`` against the fake Binance venue (bare ``signed_query`` POST baseline).
2. Private-stream frame handling: orjson decode + ``parse_order`` versus stdlib ``json`` decode + the same.
3. Fake-exchange public replay: frames delivered per second to one subscriber, as fast as possible, versus
   a bare aiohttp websocket server sending the same frames (no topic routing, no matching).

Run: ``python benches/bench_gateway.py [--orders 300] [--frames 20000]``.  Machine: 2 shared, noisy cores;
figures are medians, read the ratios rather than the absolute numbers.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's liqcore, not an installed one

from liqcore.venues.bybit.gateway import BybitGateway  # noqa: E402
from liqcore.venues.gateway import OrderIntent  # noqa: E402
from liqcore.testing import FakeExchange, liquidation_frame  # noqa: E402
from liqcore.venues.bybit.private import parse_order  # noqa: E402


def _med_us(xs):
    return statistics.median(xs) / 1e3


async def bench_place(n: int) -> dict:
    async with FakeExchange(rate_limit=None) as fx:
        gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, create_rate=1_000_000)
        await gw.start()
        fx.set_last_price("ETHUSDT", 2500.0)
        to_venue, round_trip = [], []
        for i in range(n):
            intent = OrderIntent("ETHUSDT", "buy", 0.5, 2400.0 - (i % 50) * 0.01, f"bench-{i}", take_profit=2410.0, stop_loss=2390.0)
            t0 = time.time_ns()
            await gw.place(intent)
            t1 = time.time_ns()
            to_venue.append(fx.requests[-1].recv_ns - t0)
            round_trip.append(t1 - t0)
        await gw.close()

        # baseline: the bare signed POST of an equivalent body on one aiohttp session
        base_to_venue, base_rt = [], []
        key, secret = fx.api_key, fx.api_secret.encode()
        async with aiohttp.ClientSession() as s:
            for i in range(n):
                body = {"category": "linear", "symbol": "ETHUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.5",
                        "price": "2400", "timeInForce": "PostOnly", "positionIdx": 0, "orderLinkId": f"base-{i}",
                        "takeProfit": "2410", "stopLoss": "2390", "tpslMode": "Full"}
                t0 = time.time_ns()
                data = json.dumps(body).encode()
                ts = str(fx.now_ms())
                sig = hmac.new(secret, ts.encode() + key.encode() + b"5000" + data, hashlib.sha256).hexdigest()
                async with s.post(f"{fx.rest_url}/v5/order/create", data=data, headers={
                        "X-BAPI-API-KEY": key, "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": "5000", "X-BAPI-SIGN": sig,
                        "Content-Type": "application/json"}) as r:
                    json.loads(await r.read())
                t1 = time.time_ns()
                base_to_venue.append(fx.requests[-1].recv_ns - t0)
                base_rt.append(t1 - t0)
        assert all(r.ret_code == 0 for r in fx.requests_to("/v5/order/create"))
    return {"gw_to_venue": _med_us(to_venue), "gw_rt": _med_us(round_trip),
            "base_to_venue": _med_us(base_to_venue), "base_rt": _med_us(base_rt)}


async def bench_place_binance(n: int) -> dict:
    from liqcore.venues.binance.gateway import BinanceGateway
    from liqcore.testing import FakeBinance
    from liqcore.venues.binance.rest import signed_query

    async with FakeBinance() as fb:
        gw = BinanceGateway(fb.api_key, fb.api_secret, fb.rest_url, fb.ws_base, order_rate=1_000_000)
        await gw.start()
        fb.set_last_price("ETHUSDT", 2500.0)
        rt = []
        for i in range(n):
            t0 = time.time_ns()
            await gw.place(OrderIntent("ETHUSDT", "buy", 0.5, 2400.0, f"bb-{i}", take_profit=2410.0, stop_loss=2390.0))
            rt.append(time.time_ns() - t0)
        await gw.close()
        base = []
        async with aiohttp.ClientSession() as s:
            for i in range(n):
                t0 = time.time_ns()
                qs = signed_query({"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTX", "quantity": "0.5",
                                   "price": "2400", "newClientOrderId": f"base-{i}"}, fb.api_secret, timestamp_ms=fb.now_ms())
                async with s.post(f"{fb.rest_url}/fapi/v1/order?{qs}", headers={"X-MBX-APIKEY": fb.api_key}) as r:
                    json.loads(await r.read())
                base.append(time.time_ns() - t0)
    return {"gw_rt": _med_us(rt), "base_rt": _med_us(base)}


def bench_parse(n: int) -> dict:
    d = {"category": "linear", "symbol": "ETHUSDT", "orderId": "5cf98598-39a7-459e-97bf-76ca765ee020", "orderLinkId": "lc-ETH-1-abc",
         "side": "Buy", "orderStatus": "Filled", "cancelType": "UNKNOWN", "rejectReason": "EC_NoError", "timeInForce": "PostOnly",
         "price": "2496.25", "qty": "0.5", "avgPrice": "2496.25", "leavesQty": "0", "cumExecQty": "0.5", "cumExecValue": "1248.125",
         "cumExecFee": "0.25", "orderType": "Limit", "stopOrderType": "", "reduceOnly": False, "createdTime": "1700000000000",
         "updatedTime": "1700000000123", "takeProfit": "2500", "stopLoss": "2490.01", "tpslMode": "Partial"}
    frame = orjson.dumps({"id": "1", "topic": "order", "creationTime": 1700000000123, "data": [d]})
    out = {}
    for name, loads in (("orjson", orjson.loads), ("json", json.loads)):
        reps = []
        for _ in range(7):
            t0 = time.perf_counter_ns()
            for _ in range(n):
                m = loads(frame)
                for x in m["data"]:
                    parse_order(x)
            reps.append((time.perf_counter_ns() - t0) / n)
        out[name] = statistics.median(reps) / 1e3
    return out


async def bench_replay(n: int) -> dict:
    frames = [(i, orjson.dumps(liquidation_frame("BTCUSDT", 70000 + i % 100, 0.01, ts_ms=i))) for i in range(n)]

    async def consume(url, count):
        async with aiohttp.ClientSession() as s, s.ws_connect(url) as ws:
            await ws.send_str('{"op":"subscribe","args":["allLiquidation.BTCUSDT"]}')
            await ws.receive()  # ack (the fake) / first frame marker (baseline)
            t0 = time.perf_counter()
            for _ in range(count):
                await ws.receive()
            return count / (time.perf_counter() - t0)

    async with FakeExchange(replay=frames, speed=None) as fx:
        fake_rate = await consume(fx.public_ws_url, n)

    # baseline: bare aiohttp websocket server sending the same frames after the subscribe message
    from aiohttp import web

    async def handler(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()
        await ws.send_str("{}")
        for _, b in frames:
            await ws.send_str(b.decode())
        await ws.receive()
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base_rate = await consume(f"ws://127.0.0.1:{port}/ws", n)
    await runner.cleanup()
    return {"fake_fps": fake_rate, "base_fps": base_rate}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--frames", type=int, default=20000)
    ap.add_argument("--parse", type=int, default=20000)
    a = ap.parse_args()
    p = asyncio.run(bench_place(a.orders))
    print(f"place() intent->venue receive   median {p['gw_to_venue']:8.1f} us   baseline bare signed POST {p['base_to_venue']:8.1f} us"
          f"   ratio {p['gw_to_venue'] / p['base_to_venue']:.2f}")
    print(f"place() full round trip (ack)   median {p['gw_rt']:8.1f} us   baseline bare signed POST {p['base_rt']:8.1f} us"
          f"   ratio {p['gw_rt'] / p['base_rt']:.2f}")
    b = asyncio.run(bench_place_binance(a.orders))
    print(f"Binance place() round trip      median {b['gw_rt']:8.1f} us   baseline bare signed POST {b['base_rt']:8.1f} us"
          f"   ratio {b['gw_rt'] / b['base_rt']:.2f}")
    q = bench_parse(a.parse)
    print(f"order frame decode+parse        median {q['orjson']:8.2f} us   baseline stdlib json      {q['json']:8.2f} us"
          f"   ratio {q['orjson'] / q['json']:.2f}")
    r = asyncio.run(bench_replay(a.frames))
    print(f"fake public replay to 1 client  {r['fake_fps']:10.0f} frames/s   baseline bare aiohttp ws {r['base_fps']:10.0f} frames/s"
          f"   ratio {r['fake_fps'] / r['base_fps']:.2f}")


if __name__ == "__main__":
    main()
