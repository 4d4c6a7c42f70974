"""The fake Gate venue (liqcore.venues.gate.fake) against the Gate API v4 documents each rule follows, on the real
server on 127.0.0.1 (https://www.gate.com/docs/developers/apiv4/en/ and the Gate Futures WebSocket v4 page):

* "Authentication" (APIv4 signed request requirements): ``KEY``, ``Timestamp`` (s; "the gap between its value and
  the current time cannot exceed 60 seconds") and ``SIGN`` = hex HMAC-SHA512 of ``METHOD\\nURL\\nQUERY\\nhex
  SHA512(body)\\nTimestamp``; "label list": ``INVALID_KEY``, ``INVALID_SIGNATURE``, ``REQUEST_EXPIRED`` (HTTP 401);
* "Create a futures order": ``text`` "prefixed with ``t-``, no longer than 28 bytes without ``t-`` prefix, can only
  include 0-9, A-Z, a-z, underscore(_), hyphen(-) or dot(.)"; ``tif`` ``poc`` "PendingOrCancelled, makes a post-only
  order that always enjoys a maker fee" (one that would match is refused, label ``ORDER_POC_IMMEDIATE``); "Set price
  to 0 with tif ioc" for a market order; ``X-Gate-Size-Decimal: 1`` asks sizes as decimal strings;
* "Get a single order" (``GET /futures/{settle}/orders/{order_id}``): "Order ID returned, or user custom ID (i.e.,
  ``text`` field).  Operations based on custom ID can only be checked when the order is in orderbook. [Once]
  finished, it can be checked within 60 seconds after the end of the order. After that, only order ID is accepted";
* "Frequency limit rule": every answer carries ``X-Gate-RateLimit-Requests-Remain``, ``X-Gate-RateLimit-Limit`` and
  ``X-Gate-RateLimit-Reset-Timestamp``; a request over the limit is answered 429;
* "Create a price-triggered order": ``trigger.rule`` 1 (>=) / 2 (<=), ``initial.size`` 0 closes the whole position;
* Futures WebSocket v4, "Authentication": ``auth`` = ``{"method": "api_key", "KEY", "SIGN"}``, ``SIGN`` = hex
  HMAC-SHA512 of ``channel=<channel>&event=<event>&time=<time>``; private channels take ``[user_id, contract]``
  (``!all``); "Application ping pong": ``futures.ping`` answered ``futures.pong``;
* Futures WebSocket v4, "Orders notification": each row carries ``update_time``, "Update Time (Milliseconds
  Timestamp)" (example 1541505434123), beside ``create_time_ms`` / ``finish_time_ms``;
* Futures WebSocket v4, "public liquidate order notification": ``size`` "liquidate order quantity", the forced
  order's, signed as an order ("Orders notification": ``size`` "Specify positive number to make a bid, and negative
  number to ask"): a long position's forced order is a sell, a negative size (API v4 ``liq_orders``: ``order_size``
  -600 for the position ``size`` 600).
"""
from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest

from liqcore.venues.gate import fake as fake_mod
from liqcore.venues.gate.fake import FakeGate
from liqcore.venues.gate.rest import signed_headers, ws_auth

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

FUT = "/api/v4/futures/usdt"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def call(fg, method, path, query="", body=None, *, secret=None, key=None, ts=None, sized=True):
    text = orjson.dumps(body).decode() if body is not None else ""
    h = signed_headers(key or fg.api_key, secret or fg.api_secret, method, path, query, text,
                       int(time.time()) if ts is None else ts)
    h["Content-Type"] = "application/json"
    if sized:
        h["X-Gate-Size-Decimal"] = "1"
    async with aiohttp.ClientSession() as s:
        async with s.request(method, fg.rest_url + path + (f"?{query}" if query else ""), data=text or None,
                             headers=h) as r:
            return r.status, orjson.loads(await r.read()), r.headers


def test_rest_authentication_as_documented():
    async def main():
        async with FakeGate() as fg:
            st, doc, h = await call(fg, "GET", FUT + "/accounts")
            assert st == 200 and str(doc["user"]) == fg.user_id
            assert {"X-Gate-RateLimit-Requests-Remain", "X-Gate-RateLimit-Limit",
                    "X-Gate-RateLimit-Reset-Timestamp"} <= set(h)
            assert (await call(fg, "GET", FUT + "/accounts", secret="nope"))[:2] == (
                401, {"label": "INVALID_SIGNATURE", "message": "Signature mismatch"})
            assert (await call(fg, "GET", FUT + "/accounts", key="nokey"))[1]["label"] == "INVALID_KEY"
            st, doc, _ = await call(fg, "GET", FUT + "/accounts", ts=int(time.time()) - 61)
            assert (st, doc["label"]) == (401, "REQUEST_EXPIRED")
            assert (await call(fg, "GET", FUT + "/accounts", ts=int(time.time()) - 50))[0] == 200

    run(main())


def test_orders_text_poc_market_and_size_decimals():
    async def main():
        async with FakeGate() as fg:
            await fg.trade("ETH_USDT", 2500.0)
            o = {"contract": "ETH_USDT", "size": "2", "price": "2499", "tif": "poc"}
            for bad in ("x-abc", "t-" + "a" * 29, "t-a b", "t-é"):
                st, doc, _ = await call(fg, "POST", FUT + "/orders", body={**o, "text": bad})
                assert (st, doc["label"]) == (400, "INVALID_PARAM_VALUE"), bad
            st, doc, _ = await call(fg, "POST", FUT + "/orders", body={**o, "text": "t-" + "a" * 28})
            assert st == 200 and doc["size"] == "2" and doc["left"] == "2" and doc["status"] == "open"
            st, doc, _ = await call(fg, "POST", FUT + "/orders", body={**o, "price": "2501", "text": "t-x"})
            assert (st, doc["label"]) == (400, "ORDER_POC_IMMEDIATE")  # a post-only order that would take
            assert not fg.orders_with_text("t-x")
            st, doc, _ = await call(fg, "POST", FUT + "/orders", body={**o, "price": "0", "tif": "gtc"})
            assert (st, doc["label"]) == (400, "INVALID_PARAM_VALUE")  # a market order is price 0 with ioc
            st, doc, _ = await call(fg, "POST", FUT + "/orders", body={**o, "size": "-3", "price": "0", "tif": "ioc",
                                                                        "text": "t-mkt"})
            assert (st, doc["status"], doc["finish_as"], doc["size"]) == (200, "finished", "filled", "-3")
            st, doc, _ = await call(fg, "GET", FUT + "/orders", "status=finished", sized=False)
            assert doc[0]["size"] == -3 and isinstance(doc[0]["left"], int)  # without the header: integers

    run(main())


def test_an_order_by_text_within_60_s_of_its_end_then_by_id_only(monkeypatch):
    async def main():
        async with FakeGate() as fg:
            await fg.trade("ETH_USDT", 2500.0)
            _, doc, _ = await call(fg, "POST", FUT + "/orders", body={"contract": "ETH_USDT", "size": "1",
                                                                       "price": "2400", "tif": "gtc", "text": "t-w"})
            gid = doc["id"]
            assert (await call(fg, "GET", FUT + "/orders/t-w"))[1]["id"] == gid  # open: by text
            assert (await call(fg, "DELETE", FUT + "/orders/t-w"))[1]["finish_as"] == "cancelled"
            assert (await call(fg, "GET", FUT + "/orders/t-w"))[1]["id"] == gid  # finished, within 60 s
            monkeypatch.setattr(fake_mod, "TEXT_WINDOW_MS", -1)  # (the 60 s past)
            st, doc, _ = await call(fg, "GET", FUT + "/orders/t-w")
            assert (st, doc["label"]) == (404, "ORDER_NOT_FOUND")
            assert (await call(fg, "GET", f"{FUT}/orders/{gid}"))[1]["status"] == "finished"  # by id: always
            fg.rate_limit_next(1)
            st, doc, h = await call(fg, "GET", f"{FUT}/orders/{gid}")
            assert (st, doc["label"], h["X-Gate-RateLimit-Requests-Remain"]) == (429, "TOO_MANY_REQUESTS", "0")

    run(main())


def test_price_triggered_orders_rules():
    async def main():
        async with FakeGate() as fg:
            await fg.trade("ETH_USDT", 2500.0)
            await call(fg, "POST", FUT + "/orders", body={"contract": "ETH_USDT", "size": "4", "price": "0",
                                                          "tif": "ioc"})
            init = {"contract": "ETH_USDT", "size": 0, "price": "0", "tif": "ioc", "reduce_only": True, "text": "t-sl"}
            st, doc, _ = await call(fg, "POST", FUT + "/price_orders", body={
                "initial": init, "trigger": {"strategy_type": 0, "price_type": 0, "price": "2510", "rule": 2},
                "order_type": "close-long-position"})
            assert (st, doc["label"]) == (400, "AUTO_TRIGGER_PRICE_GREATE_LAST")  # <= a price above the last
            st, doc, _ = await call(fg, "POST", FUT + "/price_orders", body={
                "initial": init, "trigger": {"strategy_type": 0, "price_type": 0, "price": "2490", "rule": 2},
                "order_type": "close-long-position"})
            assert st == 200 and doc["id"]
            (row,) = fg.auto_orders("open")
            assert row["id"] == doc["id"] and row["status"] == "open"
            await fg.trade("ETH_USDT", 2489.0)  # triggered: the whole position (size 0) closed
            assert fg.auto_orders("finished")[0]["finish_as"] == "succeeded"
            assert (await call(fg, "GET", FUT + "/positions"))[1] == []

    run(main())


def test_private_channels_authentication_and_ping():
    async def main():
        async with FakeGate() as fg:
            async with aiohttp.ClientSession() as s, s.ws_connect(fg.ws_url) as ws:
                t = int(time.time())
                good = {"time": t, "channel": "futures.orders", "event": "subscribe", "payload": [fg.user_id, "!all"],
                        "auth": ws_auth(fg.api_key, fg.api_secret, "futures.orders", "subscribe", t)}
                for bad in ({**good, "auth": ws_auth(fg.api_key, "wrong", "futures.orders", "subscribe", t)},
                            {**good, "auth": ws_auth(fg.api_key, fg.api_secret, "futures.orders", "subscribe", t + 1)}):
                    await ws.send_str(orjson.dumps(bad).decode())
                    ans = orjson.loads((await ws.receive(timeout=5)).data)
                    assert ans["error"] == {"code": 11, "message": "Authentication failed"}
                await ws.send_str(orjson.dumps({**good, "payload": ["999", "!all"]}).decode())
                assert orjson.loads((await ws.receive(timeout=5)).data)["error"]["code"] == 2  # another user id
                await ws.send_str(orjson.dumps(good).decode())
                ans = orjson.loads((await ws.receive(timeout=5)).data)
                assert ans["error"] is None and ans["result"] == {"status": "success"}
                assert fg.subscribed("futures.orders")
                await ws.send_str(orjson.dumps({"time": t, "channel": "futures.ping"}).decode())
                assert orjson.loads((await ws.receive(timeout=5)).data)["channel"] == "futures.pong"
                await fg.trade("ETH_USDT", 2500.0)
                await call(fg, "POST", FUT + "/orders", body={"contract": "ETH_USDT", "size": "1", "price": "2400",
                                                              "tif": "gtc", "text": "t-p"})
                push = orjson.loads((await ws.receive(timeout=5)).data)
                assert (push["channel"], push["event"], push["result"][0]["text"]) == ("futures.orders", "update", "t-p")
                # "Orders notification": update_time in milliseconds, read back as such
                ut = push["result"][0]["update_time"]
                assert isinstance(ut, int) and abs(ut - time.time() * 1000) < 60_000
                from decimal import Decimal

                from liqcore.venues.gate.private import order_update

                assert order_update(push["result"][0], Decimal("0.01")).ts_ns == ut * 1_000_000

    run(main())


def test_public_liquidation_pushes_sign_the_forced_order():
    """``FakeGate.liquidation``: a long's liquidation pushed with a negative ``size`` (its forced order a sell), a
    short's positive; the decoder reads them back as the positions liquidated."""
    from liqcore.types import Side
    from liqcore.venues.decoder import Decoder

    async def main():
        async with FakeGate() as fg:
            async with aiohttp.ClientSession() as s, s.ws_connect(fg.ws_url) as ws:
                await ws.send_str(orjson.dumps({"time": int(time.time()), "channel": "futures.public_liquidates",
                                                "event": "subscribe", "payload": ["!all"]}).decode())
                assert orjson.loads((await ws.receive(timeout=5)).data)["error"] is None
                await fg.liquidation("ETH_USDT", 3000.0, 2)
                await fg.liquidation("ETH_USDT", 3001.0, 3, side="short")
                got = [(await ws.receive(timeout=5)).data for _ in range(2)]
                with pytest.raises(ValueError, match="size"):
                    await fg.liquidation("ETH_USDT", 3000.0, -2)
                return got

    frames = run(main())
    rows = [orjson.loads(f)["result"][0] for f in frames]
    assert [r["size"] for r in rows] == ["-2", "3"]
    dec = Decoder("gate")
    ev = [dec.feed(f.encode(), time.time_ns()) for f in frames]
    assert [int(e["side"][0]) for e in ev] == [Side.LONG, Side.SHORT]
    assert [float(e["qty"][0]) for e in ev] == [pytest.approx(0.02), pytest.approx(0.03)]
