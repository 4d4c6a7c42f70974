"""Gate's public connection and the local fake that speaks it, against Gate Futures WebSocket v4
(https://www.gate.com/docs/developers/futures/ws/en/):

* "Server URL": USDT contract real trading ``wss://fx-ws.gateio.ws/v4/ws/usdt``, TestNet
  ``wss://ws-testnet.gate.com/v4/ws/futures/usdt``;
* "Request": ``{"time", "channel", "event", "payload"}`` (``id`` optional); "Response": ``{"time", "time_ms",
  "channel", "event", "error", "result"}``, a subscription answered ``result`` ``{"status": "success"}`` with
  ``error`` null; "Error": code 1 "invalid argument struct", 2 "invalid argument";
* "Ping and Pong": ``{"time": 123456, "channel": "futures.ping"}`` answered ``channel`` ``futures.pong``;
* "public liquidates order API": ``!all`` in the subscription list for every contract; ``futures.trades`` and
  ``futures.book_ticker`` take a contract list; ``futures.order_book_update`` ``[contract, interval, level]``.

The silent-stream watch attributes each Gate push to its (channel, contract) and any liquidation to ``!all``.
"""
from __future__ import annotations

import asyncio

import orjson
import pytest

ALL = '{"channel":"futures.public_liquidates","payload":["!all"]}'


def test_the_connection_subscribes_every_contracts_liquidations_and_asks_decimal_sizes():
    from liqcore.venues.gate.stream import ENDPOINTS, connection_specs

    assert ENDPOINTS["mainnet"] == "wss://fx-ws.gateio.ws/v4/ws/usdt"
    spec, = connection_specs(["BTCUSDT", "ETH_USDT"], book=True, depth=True)
    assert spec.url == ENDPOINTS["mainnet"] and spec.headers == {"X-Gate-Size-Decimal": "1"}
    msgs = [orjson.loads(m) for m in spec.subscribe]
    assert all(set(m) == {"time", "channel", "event", "payload"} and m["event"] == "subscribe" for m in msgs)
    assert [(m["channel"], m["payload"]) for m in msgs] == [
        ("futures.public_liquidates", ["!all"]), ("futures.trades", ["BTC_USDT", "ETH_USDT"]),
        ("futures.book_ticker", ["BTC_USDT", "ETH_USDT"]),
        ("futures.order_book_update", ["BTC_USDT", "100ms", "20"]),
        ("futures.order_book_update", ["ETH_USDT", "100ms", "20"])]
    assert orjson.loads(spec.ping_payload)["channel"] == "futures.ping"
    assert spec.is_pong(b'{"time":1545404023,"time_ms":1545404023123,"channel":"futures.pong","event":"","result":null}')
    assert not spec.is_pong(b'{"time":1,"channel":"futures.trades","event":"update","result":[]}')
    with pytest.raises(ValueError, match="cannot map"):
        connection_specs(["BTCPERP"])


def test_the_watch_hears_each_push_by_channel_and_contract_and_any_liquidation_by_all():
    from liqcore.venues.gate import watch
    from liqcore.venues.gate.samples import bbo_frame, liquidation_frame, trade_frame

    liq = liquidation_frame("SOL_USDT", 1_700_000_000_000, 3, 100.0)
    trade = trade_frame("BTC_USDT", 1_700_000_000_000, 3, 60000.0)
    bbo = bbo_frame("BTC_USDT", 1_700_000_000_000, 1.0, 1, 2.0, 1)
    assert watch.frame_key(trade) == (b"futures.trades", b"BTC_USDT")
    assert watch.frame_key(bbo) == (b"futures.book_ticker", b"BTC_USDT")
    assert watch.hears_all_market(watch.frame_key(liq)) and watch.all_market(ALL)
    assert watch.topic_keys('{"channel":"futures.trades","payload":["BTC_USDT"]}') == [(b"futures.trades",
                                                                                       b"BTC_USDT")]
    assert watch.frame_key(b'{"time":1,"channel":"futures.pong","event":"","result":null}') is None
    last = {}
    seen = []
    from liqcore.live.silence import watch_handler

    on = watch_handler("gate", last, lambda a, p, t: seen.append(t), None)  # (the watch's handler of frame_key)
    on(trade, 7)
    assert last == {(b"futures.trades", b"BTC_USDT"): 7} and seen == [7]


@pytest.mark.timeout(60)
def test_the_fake_answers_as_gate_documents():
    import aiohttp

    from liqcore.venues.fake_streams import FakeMarketStream

    async def main():
        async with FakeMarketStream("gate") as fs, aiohttp.ClientSession() as s:
            async with s.ws_connect(fs.ws_url, headers={"X-Gate-Size-Decimal": "1"}) as ws:
                await ws.send_str('{"time":123456,"channel":"futures.ping"}')
                pong = orjson.loads((await ws.receive()).data)
                await ws.send_str(orjson.dumps({"time": 1, "channel": "futures.public_liquidates",
                                                "event": "subscribe", "payload": ["!all"]}).decode())
                ok = orjson.loads((await ws.receive()).data)
                await ws.send_str(orjson.dumps({"time": 1, "channel": "futures.nope", "event": "subscribe",
                                                "payload": ["BTC_USDT"]}).decode())
                bad = orjson.loads((await ws.receive()).data)
                subscribed = fs.subscribed(ALL)
            async with s.get(f"{fs.rest_url}/api/v4/futures/usdt/contracts") as r:
                contracts = await r.json()
            return pong, ok, bad, subscribed, contracts, list(fs.gate_size_decimal)

    pong, ok, bad, subscribed, contracts, headers = asyncio.run(main())
    assert pong["channel"] == "futures.pong" and {"time", "time_ms", "event", "result"} <= set(pong)
    assert ok["event"] == "subscribe" and ok["error"] is None and ok["result"] == {"status": "success"}
    assert bad["error"]["code"] == 2 and bad["result"] is None and subscribed and headers == ["1"]
    from liqcore.venues.gate.contracts import contract_sizes

    sizes = contract_sizes(contracts)
    assert sizes and all(k.endswith("_USDT") and v > 0 for k, v in sizes.items())
