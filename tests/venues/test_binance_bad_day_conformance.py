"""The fake Binance's bad-day answers, each checked against the Binance USD-M futures document it follows (a
fake changes only with a test naming its document):

* [ERRORS] "Error Codes", https://developers.binance.com/docs/derivatives/usds-margined-futures/error-code
  (-1003 TOO_MANY_REQUESTS, -1006 UNEXPECTED_RESP, -1007 TIMEOUT, -1125 INVALID_LISTEN_KEY);
* [GENERAL] "General Info", https://developers.binance.com/docs/derivatives/usds-margined-futures/general-info
  (HTTP Return Codes: 408, 418, 429; IP Limits: Retry-After);
* [UDS] "User Data Streams" (Keepalive User Data Stream: -1125; Connect: the server's ping, the 24 h limit);
* [ALGO] "Event: Algo Order Update", https://developers.binance.com/docs/derivatives/usds-margined-futures/
  user-data-streams/Event-Algo-Order-Update (the Response Example's fields, Algo Status);
* [ACCOUNT3] "Account Information V3" / "Futures Account Balance V3" / "Position Information V3" (response examples);
* [RETIRED] the venue's answer to a retired REST path, -5000 "GET /fapi/v1/positionRisk is retired, please use GET
  /fapi/v2/positionRisk" (as python-binance #1349 and ccxt #18853 quote it for the v1 retirement).
"""
from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest

from liqcore.venues.binance.fake import FakeBinance
from liqcore.venues.binance.rest import sign

pytestmark = pytest.mark.integration

#: [ALGO] the Response Example's fields (event and order)
ALGO_EVENT_KEYS = {"e", "T", "E", "o"}
ALGO_ORDER_KEYS = {"caid", "aid", "at", "o", "s", "S", "ps", "f", "q", "X", "ai", "ap", "aq", "act", "tp", "p", "V",
                   "wt", "pm", "cp", "pP", "R", "tt", "gtd", "rm"}
#: [ACCOUNT3] "Account Information V3" response example: top level, ``assets`` and ``positions`` rows
ACCOUNT_V3_KEYS = {"totalInitialMargin", "totalMaintMargin", "totalWalletBalance", "totalUnrealizedProfit",
                   "totalMarginBalance", "totalPositionInitialMargin", "totalOpenOrderInitialMargin",
                   "totalCrossWalletBalance", "totalCrossUnPnl", "availableBalance", "maxWithdrawAmount", "assets",
                   "positions"}
ACCOUNT_V3_ASSET_KEYS = {"asset", "walletBalance", "unrealizedProfit", "marginBalance", "maintMargin", "initialMargin",
                         "positionInitialMargin", "openOrderInitialMargin", "crossWalletBalance", "crossUnPnl",
                         "availableBalance", "maxWithdrawAmount", "updateTime"}
ACCOUNT_V3_POSITION_KEYS = {"symbol", "positionSide", "positionAmt", "unrealizedProfit", "isolatedMargin", "notional",
                            "isolatedWallet", "initialMargin", "maintMargin", "updateTime"}
#: "Futures Account Balance V3" and "Position Information V3" response examples
BALANCE_V3_KEYS = {"accountAlias", "asset", "balance", "crossWalletBalance", "crossUnPnl", "availableBalance",
                   "maxWithdrawAmount", "marginAvailable", "updateTime"}
POSITION_V3_KEYS = {"symbol", "positionSide", "positionAmt", "entryPrice", "breakEvenPrice", "markPrice",
                    "unRealizedProfit", "liquidationPrice", "isolatedMargin", "notional", "marginAsset",
                    "isolatedWallet", "initialMargin", "maintMargin", "positionInitialMargin", "openOrderInitialMargin",
                    "adl", "bidNotional", "askNotional", "updateTime"}


def run(coro, timeout: float = 30.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def signed_get(s, fb, path, method="GET", **params):
    q = "&".join(f"{k}={v}" for k, v in {**params, "recvWindow": 5000, "timestamp": fb.now_ms()}.items())
    url = f"{fb.rest_url}{path}?{q}&signature={sign(fb.api_secret, q)}"
    async with s.request(method, url, headers={"X-MBX-APIKEY": fb.api_key}) as r:
        return r.status, dict(r.headers), orjson.loads(await r.read())


async def listen_key(s, fb, method="POST"):
    async with s.request(method, f"{fb.rest_url}/fapi/v1/listenKey", headers={"X-MBX-APIKEY": fb.api_key}) as r:
        return r.status, orjson.loads(await r.read())


def test_errors_minus_1007_and_1006_answers_and_the_order_made_or_not():
    """[ERRORS] -1007 / -1006 with their documented messages; [GENERAL] 408 for the backend timeout."""
    async def go():
        async with FakeBinance() as fb, aiohttp.ClientSession() as s:
            fb.set_last_price("ETHUSDT", 2500.0)
            fb.unknown_outcome_next(1, created=True)
            fb.unknown_outcome_next(1, code=-1006, status=500, created=False)
            a = await signed_get(s, fb, "/fapi/v1/order", "POST", symbol="ETHUSDT", side="BUY", type="LIMIT",
                                 timeInForce="GTC", quantity="0.5", price="2400", newClientOrderId="made")
            b = await signed_get(s, fb, "/fapi/v1/order", "POST", symbol="ETHUSDT", side="BUY", type="LIMIT",
                                 timeInForce="GTC", quantity="0.5", price="2400", newClientOrderId="not-made")
            return a, b, len(fb.orders_with_client_id("made")), len(fb.orders_with_client_id("not-made"))

    (sa, _, a), (sb, _, b), made, not_made = run(go())
    assert (sa, a) == (408, {"code": -1007, "msg": "Timeout waiting for response from backend server. Send status "
                                                   "unknown; execution status unknown."})
    assert (sb, b["code"], b["msg"]) == (500, -1006, "An unexpected response was received from the message bus. "
                                                     "Execution status unknown.")
    assert (made, not_made) == (1, 0)


def test_general_info_418_ban_with_retry_after_answers_every_request_until_it_ends():
    """[GENERAL] HTTP 418 (IP auto-banned) with Retry-After in seconds; [ERRORS] -1003 "Way too much request weight
    used; IP banned until %s."; every request in the ban answered the same way (and counted)."""
    async def go():
        async with FakeBinance() as fb, aiohttp.ClientSession() as s:
            fb.ban_next(retry_after_s=2)
            first = await signed_get(s, fb, "/fapi/v1/openOrders")
            second = await signed_get(s, fb, "/fapi/v1/openOrders")
            in_ban = fb.requests_in_ban
            await asyncio.sleep(2.1)
            after = await signed_get(s, fb, "/fapi/v1/openOrders")
            return first, second, in_ban, after

    (s1, h1, b1), (s2, h2, _), in_ban, (s3, _, b3) = run(go())
    assert s1 == s2 == 418 and 1 <= int(h1["Retry-After"]) <= 2 and int(h2["Retry-After"]) >= 1
    assert b1["code"] == -1003 and b1["msg"].startswith("Way too much request weight used; IP banned until ")
    assert in_ban == 1 and s3 == 200 and b3 == []


def test_uds_keepalive_of_a_listen_key_that_does_not_exist_answers_minus_1125():
    """[UDS] Keepalive User Data Stream: PUT /fapi/v1/listenKey answered -1125 "This listenKey does not exist."; a
    POST then gives a new key."""
    async def go():
        async with FakeBinance() as fb, aiohttp.ClientSession() as s:
            _, first = await listen_key(s, fb)
            ok = await listen_key(s, fb, "PUT")
            fb.expire_listen_keys()
            gone = await listen_key(s, fb, "PUT")
            _, again = await listen_key(s, fb)
            return first, ok, gone, again

    first, ok, gone, again = run(go())
    assert ok == (200, {}) and gone == (400, {"code": -1125, "msg": "This listenKey does not exist."})
    assert again["listenKey"] != first["listenKey"]


def test_algo_update_of_an_exit_the_venue_ends_is_shaped_as_the_documents_example():
    """[ALGO] an untriggered conditional order ended by the venue: ``ALGO_UPDATE`` with the Response Example's
    fields, ``X`` CANCELED / EXPIRED / REJECTED and the reason in ``rm``; the REST view agrees."""
    async def go():
        async with FakeBinance() as fb, aiohttp.ClientSession() as s:
            fb.set_last_price("ETHUSDT", 2500.0)
            fb.venue.set_position("ETHUSDT", 0.5, 2496.0)
            await signed_get(s, fb, "/fapi/v1/algoOrder", "POST", algoType="CONDITIONAL", symbol="ETHUSDT", side="SELL",
                             type="STOP_MARKET", quantity="0.5", triggerPrice="2490", reduceOnly="true",
                             clientAlgoId="x-sl")
            _, lk = await listen_key(s, fb)
            ws = await s.ws_connect(f"{fb.ws_base}/private/ws?listenKey={lk['listenKey']}")
            await fb.venue_cancels_algo("x-sl", "REJECTED", reason="Margin is insufficient.")
            ev = orjson.loads((await ws.receive(timeout=10)).data)
            await ws.close()
            st = await signed_get(s, fb, "/fapi/v1/algoOrder", symbol="ETHUSDT", clientAlgoId="x-sl")
            return ev, st

    ev, (_, _, st) = run(go())
    assert set(ev) == ALGO_EVENT_KEYS and ev["e"] == "ALGO_UPDATE" and set(ev["o"]) == ALGO_ORDER_KEYS
    o = ev["o"]
    assert (o["caid"], o["X"], o["o"], o["at"], o["rm"], o["ai"]) == ("x-sl", "REJECTED", "STOP_MARKET", "CONDITIONAL",
                                                                     "Margin is insufficient.", "")
    assert st["algoStatus"] == "CANCELED"


def test_account_v3_answers_carry_the_documented_fields_and_v2_is_retired():
    """[ACCOUNT3] v3 account, balance and position fields of the response examples, equity = wallet + unrealized;
    [RETIRED] the v2 paths answer -5000 naming their v3 successor."""
    async def go():
        async with FakeBinance() as fb, aiohttp.ClientSession() as s:
            fb.venue.set_position("ETHUSDT", -1.0, 2500.0)
            fb.set_last_price("ETHUSDT", 2490.0)
            out = {p: await signed_get(s, fb, p) for p in ("/fapi/v3/account", "/fapi/v3/balance", "/fapi/v3/positionRisk",
                                                            "/fapi/v2/balance", "/fapi/v2/positionRisk")}
            return out, fb.venue.wallet_balance

    out, wallet = run(go())
    acct = out["/fapi/v3/account"][2]
    assert set(acct) == ACCOUNT_V3_KEYS and set(acct["assets"][0]) == ACCOUNT_V3_ASSET_KEYS
    assert set(acct["positions"][0]) == ACCOUNT_V3_POSITION_KEYS
    assert float(acct["assets"][0]["marginBalance"]) == pytest.approx(wallet + 10.0)
    assert float(acct["totalUnrealizedProfit"]) == pytest.approx(10.0)
    assert set(out["/fapi/v3/balance"][2][0]) == BALANCE_V3_KEYS
    (pos,) = out["/fapi/v3/positionRisk"][2]
    assert set(pos) == POSITION_V3_KEYS and pos["positionAmt"] == "-1"
    for p in ("/fapi/v2/balance", "/fapi/v2/positionRisk"):
        status, _, body = out[p]
        assert status == 400 and body == {"code": -5000, "msg": f"GET {p} is retired, please use GET "
                                                                f"{p.replace('/v2/', '/v3/')}"}


def test_a_mute_user_stream_sends_no_pong_and_an_empty_events_list_receives_nothing():
    """[UDS] the connection stays open but answers no ping (the client's liveness must find it); an ``events=``
    allow list with nothing in it receives no event."""
    async def go():
        async with FakeBinance() as fb, aiohttp.ClientSession() as s:
            _, lk = await listen_key(s, fb)
            key = lk["listenKey"]
            live = await s.ws_connect(f"{fb.ws_base}/private/ws?listenKey={key}", autoping=False)
            await live.ping(b"x")
            pong = await live.receive(timeout=5)
            fb.mute_user_stream = True
            await live.ping(b"y")
            t0 = time.monotonic()
            with pytest.raises(asyncio.TimeoutError):
                await live.receive(timeout=0.5)
            mute_s = time.monotonic() - t0
            fb.mute_user_stream = False
            empty = await s.ws_connect(f"{fb.ws_base}/private/ws?listenKey={key}&events=")
            fb.set_last_price("ETHUSDT", 2500.0)
            await signed_get(s, fb, "/fapi/v1/order", "POST", symbol="ETHUSDT", side="BUY", type="LIMIT",
                             timeInForce="GTC", quantity="0.5", price="2400", newClientOrderId="e-1")
            with pytest.raises(asyncio.TimeoutError):
                await empty.receive(timeout=0.5)
            got_all = await live.receive(timeout=5)  # (the same key without events=: every event)
            await live.close()
            await empty.close()
            return pong, mute_s, got_all

    pong, mute_s, got_all = run(go())
    assert pong.type == aiohttp.WSMsgType.PONG and mute_s >= 0.45
    assert orjson.loads(got_all.data)["e"] == "ORDER_TRADE_UPDATE"


def test_every_answer_carries_the_ips_used_weight_and_the_client_governor_reads_it():
    """[GENERAL] IP Limits: every answer has ``X-MBX-USED-WEIGHT-1M``, the IP's weight this minute (other programs
    on the IP included); the gateway's governor takes the venue's count when it is above its own."""
    from liqcore.venues.binance.gateway import BinanceGateway
    from liqcore.venues.governor import reset_governors

    async def go():
        reset_governors()
        async with FakeBinance() as fb, aiohttp.ClientSession() as s:
            _, h1, _ = await signed_get(s, fb, "/fapi/v1/openOrders")
            _, h2, _ = await signed_get(s, fb, "/fapi/v1/openOrders", symbol="ETHUSDT")
            fb.other_weight = 2000
            gw = BinanceGateway(fb.api_key, fb.api_secret, fb.rest_url, fb.ws_base)
            try:
                await gw.positions()
                used = gw.rest.gov.used()
            finally:
                await gw.rest.close()
            return int(h1["X-MBX-USED-WEIGHT-1M"]), int(h2["X-MBX-USED-WEIGHT-1M"]), used

    w1, w2, used = run(go())
    assert w1 >= 40 and (w2 - w1 == 1 or w2 == 1)  # (openOrders: 40 without a symbol, 1 with one; a new minute: 1)
    assert used >= 2000 + 5
