"""What the fakes serve for `record --depth`, each against the document it follows.

* Binance USD-M "Order Book" (`GET /fapi/v1/depth`): "limit INT NO Default 500; Valid limits:[5, 10, 20, 50, 100,
  500, 1000]"; the answer `{"lastUpdateId", "E", "T", "bids": [[price, qty]], "asks": [...]}`.  "Diff. Book Depth
  Streams": stream name `<symbol>@depth` OR `<symbol>@depth@500ms` OR `<symbol>@depth@100ms`, the event
  `{"e": "depthUpdate", "E", "T", "s", "U", "u", "pu", "b", "a"}`.  Errors: -1121 "Invalid symbol.".
* OKX v5 `GET /api/v5/market/books`: "instId String Yes"; "sz String No Order book depth per side. Maximum 400,
  e.g. 400 bids + 400 asks. Default returns to 1 depth data"; `data[0]` has `asks`, `bids` ([price, size,
  deprecated "0", number of orders]), `ts` and, per the 2026 changelog ("please use the GET / Order book endpoint to
  get the snapshot data, and use seqId/prevSeqId"), `seqId`.  51001 "Instrument ID does not exist".
* Bybit v5 "Orderbook" (`orderbook.{depth}.{symbol}`): "Once you have subscribed successfully, you will receive a
  snapshot immediately"; the message `{"topic", "type": "snapshot", "ts", "data": {"s", "b", "a", "u", "seq"},
  "cts"}`, bids best first, asks best first, at most `depth` levels a side.
"""
from __future__ import annotations

import asyncio

import aiohttp
import orjson

BIDS = [[f"{100 - i / 10:.1f}", "1"] for i in range(1200)]
ASKS = [[f"{100.1 + i / 10:.1f}", "2"] for i in range(1200)]


def _answers(venue: str, symbol: str, path: str, queries) -> dict:
    """The fake ``venue``'s answers (status, JSON) to ``GET path?q`` for each of ``queries``, ``symbol``'s book
    set to BIDS / ASKS with update id 777."""
    from liqcore.venues.fake_streams import FakeMarketStream

    async def main():
        async with FakeMarketStream(venue) as fs, aiohttp.ClientSession() as s:
            fs.depth_books[symbol] = lambda: (777, BIDS, ASKS)
            got = {}
            for q in queries:
                async with s.get(f"{fs.rest_url}{path}?{q}") as r:
                    got[q] = (r.status, orjson.loads(await r.read()))
            return got

    return asyncio.run(asyncio.wait_for(main(), 30))


def test_binance_fake_depth_snapshot_takes_the_documented_limits_only():
    from liqcore.venues.binance.fake_streams import streams as binance_streams

    got = _answers("binance", "BTCUSDT", "/fapi/v1/depth", ("symbol=BTCUSDT", "symbol=BTCUSDT&limit=1000",
                                                           "symbol=BTCUSDT&limit=5", "symbol=BTCUSDT&limit=7",
                                                           "symbol=NOPE&limit=5"))
    st, body = got["symbol=BTCUSDT"]
    assert st == 200 and set(body) == {"lastUpdateId", "E", "T", "bids", "asks"} and body["lastUpdateId"] == 777
    assert len(body["bids"]) == 500 and len(body["asks"]) == 500  # the default
    assert len(got["symbol=BTCUSDT&limit=1000"][1]["bids"]) == 1000
    assert got["symbol=BTCUSDT&limit=5"][1]["bids"] == BIDS[:5]
    assert got["symbol=BTCUSDT&limit=7"][0] == 400 and got["symbol=BTCUSDT&limit=7"][1]["code"] == -1100
    assert got["symbol=NOPE&limit=5"] == (400, {"code": -1121, "msg": "Invalid symbol."})
    ev = orjson.dumps({"e": "depthUpdate", "E": 1, "T": 1, "s": "BTCUSDT", "U": 1, "u": 2, "pu": 0, "b": [], "a": []})
    assert set(binance_streams(ev)) == {"btcusdt@depth", "btcusdt@depth@500ms", "btcusdt@depth@100ms"}


def test_okx_fake_books_snapshot_default_one_level_at_most_400_with_seq_id():
    got = _answers("okx", "BTC-USDT-SWAP", "/api/v5/market/books",
                   ("instId=BTC-USDT-SWAP", "instId=BTC-USDT-SWAP&sz=400", "instId=BTC-USDT-SWAP&sz=401",
                    "instId=NOPE-USDT-SWAP&sz=5"))
    got = {q: body for q, (_status, body) in got.items()}
    d = got["instId=BTC-USDT-SWAP"]["data"][0]
    assert got["instId=BTC-USDT-SWAP"]["code"] == "0" and len(d["bids"]) == 1 and d["seqId"] == 777
    assert d["bids"][0] == ["100.0", "1", "0", "1"] and {"asks", "bids", "ts", "seqId"} <= set(d)
    assert len(got["instId=BTC-USDT-SWAP&sz=400"]["data"][0]["asks"]) == 400
    assert got["instId=BTC-USDT-SWAP&sz=401"]["code"] != "0"
    assert got["instId=NOPE-USDT-SWAP&sz=5"]["code"] == "51001"


def test_bybit_fake_sends_the_book_snapshot_right_after_the_subscription():
    from liqcore.venues.bybit.fake import FakeExchange

    async def main():
        async with FakeExchange() as fx, aiohttp.ClientSession() as s:
            fx.books["ETHUSDT"] = lambda: (42, BIDS, ASKS)
            async with s.ws_connect(fx.public_ws_url) as ws:
                await ws.send_str(orjson.dumps({"op": "subscribe", "args": ["orderbook.50.ETHUSDT",
                                                                            "orderbook.1.ETHUSDT"]}).decode())
                ack = orjson.loads((await ws.receive(timeout=10)).data)
                snap = orjson.loads((await ws.receive(timeout=10)).data)
                return ack, snap

    ack, snap = asyncio.run(asyncio.wait_for(main(), 30))
    assert ack["success"] and ack["op"] == "subscribe"
    assert snap["topic"] == "orderbook.50.ETHUSDT" and snap["type"] == "snapshot"
    assert {"topic", "type", "ts", "data", "cts"} <= set(snap)
    assert snap["data"]["u"] == 42 and snap["data"]["s"] == "ETHUSDT"
    assert snap["data"]["b"] == BIDS[:50] and snap["data"]["a"] == ASKS[:50]
