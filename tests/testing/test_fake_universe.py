"""The fake venues at whole-market scale: 400 instruments with their rules on each fake's public REST (read by
liqcore.market.universe as it reads the real venues), and the all-market liquidation streams (Binance
``!forceOrder@arr`` next to ``<symbol>@forceOrder``; OKX ``liquidation-orders`` of SWAP)."""
from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest

from liqcore.market.universe import fetch_universe
from liqcore.venues.binance.fake import FakeBinance
from liqcore.venues.bybit.fake import FakeExchange
from liqcore.venues.fake_streams import FakeMarketStream
from liqcore.venues.fake_universe import market_instruments, okx_inst_id
from liqcore.venues.binance.samples import liquidation_frame

INST = market_instruments(400)


def _check(u, names=lambda s: s) -> None:
    assert len(u.rules) == 400
    for s, row in INST.items():
        r = u.rules[names(s)]
        assert (r.tick_size, r.qty_step, r.min_qty) == pytest.approx((row["tickSize"], row["qtyStep"], row["minOrderQty"]))
        assert u.turnover[names(s)] == pytest.approx(row["turnover"], rel=1e-6)
    assert not u.left_out


def test_the_long_tail_has_its_own_grids():
    assert len(INST) == 400 and list(INST)[:1] == ["BTCUSDT"]
    assert {(i["tickSize"], i["qtyStep"]) for i in INST.values()} >= {(0.0001, 10.0), (0.00001, 100.0), (0.1, 0.001)}
    assert all(abs(i["price"] / i["tickSize"] - round(i["price"] / i["tickSize"])) < 1e-6 for i in INST.values())


@pytest.mark.parametrize("fake", ["binance-order", "binance-stream", "bybit", "okx-stream"])
def test_each_fake_lists_400_perpetuals_with_their_rules(fake):
    async def go():
        if fake == "binance-order":
            async with FakeBinance(instruments=INST) as fb:
                _check(await fetch_universe("binance", base_url=fb.rest_url))
        elif fake == "bybit":
            async with FakeExchange(instruments=INST) as fx:
                _check(await fetch_universe("bybit", base_url=fx.rest_url))
                # the venue pages its list: three pages of 150 hold the 400, in order, each once
                got, cursor = [], ""
                async with aiohttp.ClientSession() as s:
                    for _ in range(5):
                        q = {"category": "linear", "limit": "150", **({"cursor": cursor} if cursor else {})}
                        async with s.get(f"{fx.rest_url}/v5/market/instruments-info", params=q) as r:
                            res = (await r.json())["result"]
                        got += [row["symbol"] for row in res["list"]]
                        cursor = res["nextPageCursor"]
                        if not cursor:
                            break
                assert got == list(INST)
        else:
            venue = fake.split("-")[0]
            async with FakeMarketStream(venue, instruments=INST) as fs:
                u = await fetch_universe(venue, base_url=fs.rest_url)
                _check(u, okx_inst_id if venue == "okx" else (lambda s: s))

    asyncio.run(go())


def test_a_binance_liquidation_reaches_the_all_market_stream_and_its_symbol_stream_only():
    async def go():
        async with FakeMarketStream("binance") as fs, aiohttp.ClientSession() as s:
            async def sub(names):
                ws = await s.ws_connect(fs.ws_url + "/market/ws")  # (liquidations: the market category's path)
                await ws.send_str(orjson.dumps({"method": "SUBSCRIBE", "params": names, "id": 1}).decode())
                assert orjson.loads((await ws.receive(timeout=30)).data) == {"result": None, "id": 1}
                return ws

            everything = await sub(["!forceOrder@arr"])
            one = await sub(["z007usdt@forceOrder"])
            syms = list(fs.instruments)
            for i, sym in enumerate(syms):
                _, k = fs.liquidation(liquidation_frame(sym, 1_700_000_000_000 + i, 1.0, 1.0), sym)
                assert k == (2 if sym == "Z007USDT" else 1)
            seen = [orjson.loads((await everything.receive(timeout=30)).data)["o"]["s"] for _ in syms]
            assert seen == syms  # every symbol of the market, in order, on the one stream
            assert orjson.loads((await one.receive(timeout=30)).data)["o"]["s"] == "Z007USDT"
            with pytest.raises(asyncio.TimeoutError):
                await one.receive(timeout=0.2)  # (and nothing else on it)
            assert fs.written == len(syms) + 1

    asyncio.run(go())


def test_an_okx_liquidation_reaches_the_swap_wide_channel():
    async def go():
        async with FakeMarketStream("okx") as fs, aiohttp.ClientSession() as s:
            ws = await s.ws_connect(fs.ws_url)
            arg = {"channel": "liquidation-orders", "instType": "SWAP"}
            await ws.send_str(orjson.dumps({"op": "subscribe", "args": [arg]}).decode())
            assert orjson.loads((await ws.receive(timeout=30)).data)["event"] == "subscribe"
            # (then OKX's first push repeats old liquidations: tardis-node's OkexV5LiquidationsMapper drops it)
            old = orjson.loads((await ws.receive(timeout=30)).data)
            assert old["arg"] == arg and int(old["data"][0]["details"][0]["ts"]) < time.time() * 1000 - 3_000_000
            frame = {"arg": arg, "data": [{"instId": "Z001-USDT-SWAP", "details": []}]}
            _, k = fs.liquidation(frame, "Z001-USDT-SWAP")
            assert k == 1 and orjson.loads((await ws.receive(timeout=30)).data) == frame

    asyncio.run(go())
