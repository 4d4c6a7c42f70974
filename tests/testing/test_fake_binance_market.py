"""The fake Binance serves its market streams where Binance does in 2026, on the same port as its order API.

Binance, "Binance Futures Upgrades USDⓈ-M Futures WebSocket URL Architecture" (announcement, 2026;
https://www.binance.bh/en/square/post/298583706254802): "Introduction of three dedicated WebSocket base URLs:
Public (high-frequency public market data) wss://fstream.binance.com/public, Market (regular market data)
wss://fstream.binance.com/market, Private (user data streams) wss://fstream.binance.com/private. Both access
modes remain supported: ws mode (path-based subscription), stream mode (?streams=...)"; example "Market (stream
mode) wss://fstream.binance.com/market/stream?streams=btcusdt@markPrice".
Binance USD-M futures docs, "Live Subscribing/Unsubscribing to streams": request
``{"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade", "btcusdt@depth"], "id": 1}``, response
``{"result": null, "id": 1}``; combined streams wrap each payload as ``{"stream":"<streamName>","data":<rawPayload>}``.
"""
from __future__ import annotations

import asyncio

import aiohttp
import orjson

from liqcore.venues.binance.fake import FakeBinance
from liqcore.venues.binance.samples import agg_trade_frame, liquidation_frame


async def _next_data(ws) -> dict:
    msg = await asyncio.wait_for(ws.receive(), 10)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return orjson.loads(msg.data)


async def _until(cond, bound_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + bound_s
    while not cond():
        assert loop.time() < end, "condition not reached within the bound"
        await asyncio.sleep(0.01)


def test_market_ws_mode_subscribes_by_message_and_pushes_raw_frames():
    async def main():
        async with FakeBinance() as fb, aiohttp.ClientSession() as s:
            async with s.ws_connect(f"{fb.ws_base}/market/ws") as ws:
                await ws.send_str(orjson.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@forceOrder"],
                                                "id": 1}).decode())
                assert await _next_data(ws) == {"result": None, "id": 1}
                await _until(lambda: fb.market.subscribed("ethusdt@forceOrder"))
                frame = liquidation_frame("ETHUSDT", 1_739_502_303_204, 1.5, 3000.0, "SELL")
                _, n = fb.market.liquidation(frame, "ETHUSDT")
                assert n == 1
                got = await _next_data(ws)
                assert got["e"] == "forceOrder" and got["o"]["s"] == "ETHUSDT" and got["o"]["S"] == "SELL"
                await ws.send_str(orjson.dumps({"method": "UNSUBSCRIBE", "params": ["ethusdt@forceOrder"],
                                                "id": 2}).decode())
                assert await _next_data(ws) == {"result": None, "id": 2}
                await _until(lambda: not fb.market.subscribed("ethusdt@forceOrder"))

    asyncio.run(main())


def test_market_stream_mode_subscribes_by_url_beside_the_order_api():
    async def main():
        async with FakeBinance() as fb, aiohttp.ClientSession() as s:
            async with s.ws_connect(f"{fb.ws_base}/market/stream?streams=ethusdt@aggTrade") as ws:
                await _until(lambda: fb.market.subscribed("ethusdt@aggTrade"))
                fb.market.write(agg_trade_frame("ETHUSDT", 1_739_502_303_204, 0.5, 3000.0, stream=True),
                                "ethusdt@aggTrade")
                got = await _next_data(ws)
                assert got["stream"] == "ethusdt@aggTrade" and got["data"]["e"] == "aggTrade"
                assert got["data"]["p"] == "3000.00" and got["data"]["m"] is False
            # the same port still serves the REST API
            async with s.get(f"{fb.rest_url}/fapi/v1/time") as r:
                assert r.status == 200 and "serverTime" in await r.json()

    asyncio.run(main())
