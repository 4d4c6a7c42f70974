"""OKX v5 conformance: the signing of :mod:`liqcore.venues.okx.rest` and what the fake OKX venue
(:mod:`liqcore.venues.okx.fake`) enforces, each against the document it follows (quoted in the docstring).

The documents are OKX's API v5 reference (https://www.okx.com/docs-v5/en/), read as it stands in 2026
(sections named by their anchors), the python-okx client (github.com/okxapi/python-okx) and public issue threads
quoting the venue's answers."""
from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from liqcore.venues.okx.fake import FakeOkx
from liqcore.venues.okx.rest import (
    OkxAPIError,
    OkxREST,
    explain,
    iso_timestamp,
    okx_client_id,
    sign,
    sign_headers,
    ws_login_args,
)

DOC_SECRET = "22582BD0CFF14C41EDBF1AB98506286D"  # the docs' example SecretKey
DOC_TS = "2020-12-08T09:08:57.715Z"  # the docs' example timestamp


def run(coro, timeout: float = 30.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


# ---------------------------------------------------------------------------------------------- signing
def test_rest_signature_of_the_documented_example():
    """#overview-rest-authentication-signature: "Create a pre-hash string of timestamp + method + requestPath +
    body ... Sign the pre-hash string with the SecretKey using the HMAC SHA256.  Encode the signature in the
    Base64 format.  Example: sign=CryptoJS.enc.Base64.stringify(CryptoJS.HmacSHA256(timestamp + 'GET' +
    '/api/v5/account/balance?ccy=BTC', SecretKey))" with "timestamp ... e.g. 2020-12-08T09:08:57.715Z", "GET
    request parameters are counted as requestpath, not body", SecretKey "Example: 22582BD0CFF14C41EDBF1AB98506286D"
    and body "Example: {"instId":"BTC-USDT","lever":"5","mgnMode":"isolated"}".  The page gives no resulting
    signature, so the expected values were computed from those inputs with ``openssl dgst -sha256 -hmac <secret>
    -binary | base64``; the GET one is also what python-okx 0.4.4 ``okx.utils.signature(timestamp, method,
    request_path, body, secret_key)`` returns for the same inputs."""
    assert sign(DOC_SECRET, DOC_TS, "GET", "/api/v5/account/balance?ccy=BTC") == "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY="
    assert sign(DOC_SECRET, DOC_TS, "get", "/api/v5/account/balance?ccy=BTC", "") == "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY="
    body = '{"instId":"BTC-USDT","lever":"5","mgnMode":"isolated"}'
    assert sign(DOC_SECRET, DOC_TS, "POST", "/api/v5/account/set-leverage", body) == "eCnnCgWLjlQ9XnpUkrcny3qNq3WW/81KNrDr/XR6Xv8="


def test_rest_signature_matches_python_okx_for_an_order_body():
    """python-okx 0.4.4 (github.com/okxapi/python-okx, okx/utils.py ``signature``: the message is
    ``str(timestamp) + str.upper(method) + request_path + str(body)``, HMAC-SHA256 under the secret, Base64)
    returned ``L5Jg+1IXyxZ1lxys5kXvGjtVgHzrQZsSJm0mflZJhgU=`` for this place-order body (run once with the
    client; the value is pinned here)."""
    body = ('{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"buy","ordType":"post_only","px":"62000.1",'
            '"sz":"2","clOrdId":"lcBTC17a1b2c3"}')
    assert sign(DOC_SECRET, DOC_TS, "POST", "/api/v5/trade/order", body) == "L5Jg+1IXyxZ1lxys5kXvGjtVgHzrQZsSJm0mflZJhgU="
    # the body signed is the text sent: orjson writes a dict compactly in its order
    d = {"instId": "BTC-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "post_only", "px": "62000.1", "sz": "2",
         "clOrdId": "lcBTC17a1b2c3"}
    assert orjson.dumps(d).decode() == body


def test_request_headers_and_timestamp_format():
    """#overview-rest-authentication-making-requests: "All private REST requests must contain the following
    headers: OK-ACCESS-KEY ... OK-ACCESS-SIGN ... OK-ACCESS-TIMESTAMP Request timestamp in ISO 8601 UTC format with
    millisecond precision, e.g. 2020-12-08T09:08:57.715Z ... OK-ACCESS-PASSPHRASE"; demo trading (#overview-demo-
    trading-services, and python-okx ``get_header``: ``header['x-simulated-trading'] = flag``) adds
    ``x-simulated-trading: 1``."""
    assert iso_timestamp(1607418537715) == DOC_TS
    assert iso_timestamp(1607418537005) == "2020-12-08T09:08:57.005Z"
    h = sign_headers("k", DOC_SECRET, "p", "GET", "/api/v5/account/balance?ccy=BTC", timestamp_ms=1607418537715)
    assert (h["OK-ACCESS-KEY"], h["OK-ACCESS-PASSPHRASE"], h["OK-ACCESS-TIMESTAMP"]) == ("k", "p", DOC_TS)
    assert h["OK-ACCESS-SIGN"] == "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY=" and "x-simulated-trading" not in h
    assert sign_headers("k", DOC_SECRET, "p", "GET", "/x", demo=True)["x-simulated-trading"] == "1"


def test_websocket_login_sign():
    """#overview-websocket-login: args ``apiKey``, ``passphrase``, ``timestamp`` ("Unix Epoch time, the unit is
    seconds"), ``sign``: "First concatenate timestamp, method, requestPath, strings, then use HMAC SHA256 method to
    encrypt the concatenated string with SecretKey, and then perform Base64 encoding" (python-okx
    okx/websocket/WsUtils.py ``initLoginParams``: ``str(timestamp) + 'GET' + '/users/self/verify'``).  Expected value
    from ``openssl dgst -sha256 -hmac`` over ``1538054050GET/users/self/verify`` (the docs' example timestamp)."""
    a = ws_login_args("key1", DOC_SECRET, "pass1", 1538054050)
    assert a == {"apiKey": "key1", "passphrase": "pass1", "timestamp": "1538054050",
                 "sign": "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M="}


def test_client_ids_conform_to_the_clordid_rule():
    """#order-book-trading-trade-post-place-order: ``clOrdId`` "A combination of case-sensitive alphanumerics, all
    numbers, or all letters of up to 32 characters" (the same for ``algoClOrdId``)."""
    import re

    ids = ["lc-ETH-USDT-S-5-a1b2c3", "lc-ETH-1-abc123", "lc-ETH1-1-abc123", "x" * 36, "abc123"]
    out = [okx_client_id(c) for c in ids]
    assert all(re.fullmatch(r"[A-Za-z0-9]{1,32}", o) for o in out)
    assert out[-1] == "abc123" and len(set(out)) == len(out)
    assert okx_client_id("lc-ETH-1-abc123") == okx_client_id("lc-ETH-1-abc123")  # deterministic (restart-safe)


def test_error_codes_are_one_line_each():
    """#error-code-rest-api: 50102 "Timestamp request expired.", 50105 'Request header "OK-ACCESS-PASSPHRASE"
    incorrect.', 50111 "Invalid OK-ACCESS-KEY.", 50113 "Invalid signature.", 51008 (sub-code 1001) "Order failed.
    Insufficient {param0} margin in account", 51000 "Parameter {param0} error", 50011 "Too Many Requests" (HTTP 429),
    51400 "Order cancellation failed as the order has been filled, canceled or does not exist."."""
    for code in ("50102", "50105", "50111", "50113", "51008", "51000", "50011", "51400"):
        line = explain(code, "some\nvenue message")
        assert line.startswith(code + " ") and "\n" not in line


# ---------------------------------------------------------------------------------------------- the fake's REST
async def _raw(fo, method, path, body=None, headers=None, qs=""):
    import aiohttp

    async with aiohttp.ClientSession() as s:
        async with s.request(method, fo.rest_url + path + (f"?{qs}" if qs else ""),
                             data=orjson.dumps(body).decode() if body is not None else None, headers=headers or {}) as r:
            return r.status, orjson.loads(await r.read())


def test_fake_rest_enforces_signature_timestamp_window_passphrase_and_demo_header():
    """#overview-rest-authentication-making-requests: "The server rejects requests where this [timestamp] differs
    from server time by more than 30 seconds (error 50102)"; #error-code-rest-api: 50105 'Request header
    "OK-ACCESS-PASSPHRASE" incorrect.', 50111 "Invalid OK-ACCESS-KEY.", 50113 "Invalid signature.", 50101 "APIKey does
    not match current environment."."""
    async def main():
        async with FakeOkx() as fo:
            path = "/api/v5/account/balance?ccy=USDT"

            def hdr(**kw):
                h = sign_headers(fo.api_key, fo.api_secret, fo.passphrase, "GET", path, timestamp_ms=fo.now_ms())
                h.update(kw)
                return h

            assert (await _raw(fo, "GET", "/api/v5/account/balance", headers=hdr(), qs="ccy=USDT"))[1]["code"] == "0"
            bad_sig = hdr(**{"OK-ACCESS-SIGN": sign("wrong", "x", "GET", path)})
            assert (await _raw(fo, "GET", "/api/v5/account/balance", headers=bad_sig, qs="ccy=USDT"))[1]["code"] == "50113"
            old = sign_headers(fo.api_key, fo.api_secret, fo.passphrase, "GET", path, timestamp_ms=fo.now_ms() - 31_000)
            assert (await _raw(fo, "GET", "/api/v5/account/balance", headers=old, qs="ccy=USDT"))[1]["code"] == "50102"
            near = sign_headers(fo.api_key, fo.api_secret, fo.passphrase, "GET", path, timestamp_ms=fo.now_ms() - 25_000)
            assert (await _raw(fo, "GET", "/api/v5/account/balance", headers=near, qs="ccy=USDT"))[1]["code"] == "0"
            assert (await _raw(fo, "GET", "/api/v5/account/balance", headers=hdr(**{"OK-ACCESS-PASSPHRASE": "no"}),
                               qs="ccy=USDT"))[1]["code"] == "50105"
            assert (await _raw(fo, "GET", "/api/v5/account/balance", headers=hdr(**{"OK-ACCESS-KEY": "nokey"}),
                               qs="ccy=USDT"))[1]["code"] == "50111"
            assert (await _raw(fo, "GET", "/api/v5/account/balance", headers=hdr(**{"x-simulated-trading": "1"}),
                               qs="ccy=USDT"))[1]["code"] == "50101"
            # the query string is part of what is signed
            h = hdr()
            assert (await _raw(fo, "GET", "/api/v5/account/balance", headers=h, qs="ccy=BTC"))[1]["code"] == "50113"
        async with FakeOkx(demo=True) as fo:
            rest = OkxREST(fo.api_key, fo.api_secret, fo.passphrase, fo.rest_url, demo=True)
            try:
                assert (await rest.request("GET", "/api/v5/account/config"))[0]["perm"] == "read_only,trade"
            finally:
                await rest.close()

    run(main())


def test_fake_public_tickers_need_no_key():
    """#order-book-trading-market-data-get-tickers: "Retrieve the latest price snapshot, best bid/ask price, and
    trading volume in the last 24 hours.  Rate Limit: 20 requests per 2 seconds.  Rate limit rule: IP.  HTTP
    Request GET /api/v5/market/tickers", request ``instType`` (required: SPOT, SWAP, FUTURES, OPTION), answer
    ``instId``, ``last`` "Last traded price", ``volCcy24h`` "24h trading volume, with a unit of currency ... If it
    is a derivatives contract, the value is the number of base currency", ``vol24h`` "... If it is a derivatives
    contract, the value is the number of contracts", ``ts``.  A market-data endpoint limited by IP is public:
    python-okx (github.com/okxapi/python-okx, okx/MarketData.py ``get_tickers(instType, uly, instFamily)``)
    sends it as GET /api/v5/market/tickers without signing, like /api/v5/public/instruments."""
    async def main():
        insts = {"ETH-USDT-SWAP": {"ctVal": 0.1, "lotSz": 0.01, "minSz": 0.01, "tickSz": 0.01, "instIdCode": 10461,
                                   "volCcy24h": 1500.0}}
        async with FakeOkx(instruments=insts) as fo:
            fo.set_last_price("ETH-USDT-SWAP", 3000.5)
            status, doc = await _raw(fo, "GET", "/api/v5/market/tickers", qs="instType=SWAP")  # no OK-ACCESS-* header
            assert status == 200 and doc["code"] == "0", doc
            (t,) = doc["data"]
            assert (t["instType"], t["instId"], t["last"], t["volCcy24h"], t["vol24h"]) == (
                "SWAP", "ETH-USDT-SWAP", "3000.5", "1500", "15000")
            assert int(t["ts"]) > 0
            # #error-code-rest-api: 50014 "Parameter {param0} can not be empty."
            assert (await _raw(fo, "GET", "/api/v5/market/tickers"))[1]["code"] == "50014"

    run(main())


def test_fake_preflight_reads():
    """#public-data-rest-api-get-instruments (``instType``, ``ctVal``, ``lotSz``, ``minSz``, ``tickSz``, ``instIdCode``
    "Instrument ID code"), #trading-account-rest-api-get-account-configuration (``acctLv``, ``posMode``
    "long_short_mode ... net_mode", ``perm`` "The permission of the current requesting API key": ``read_only``,
    ``trade``, ``withdraw``, joined as in its example "read_only,withdraw,trade"),
    #trading-account-rest-api-get-fee-rates, #trading-account-rest-api-get-leverage (``lever``),
    #trading-account-rest-api-get-balance (``details[].eq``), #trading-account-rest-api-get-positions,
    #public-data-rest-api-get-system-time (``ts``)."""
    async def main():
        async with FakeOkx(pos_mode="long_short_mode", read_only_keys=["ro-key"],
                           api_keys={"fake-okx-key-0001": ("S1", "P1"), "ro-key": ("S2", "P2")}) as fo:
            rest = OkxREST("fake-okx-key-0001", "S1", "P1", fo.rest_url)
            ro = OkxREST("ro-key", "S2", "P2", fo.rest_url)
            try:
                (t,) = await rest.request("GET", "/api/v5/public/time", signed=False)
                assert abs(int(t["ts"]) - time.time() * 1000) < 5000
                insts = await rest.request("GET", "/api/v5/public/instruments", {"instType": "SWAP"}, signed=False)
                eth = [r for r in insts if r["instId"] == "ETH-USDT-SWAP"][0]
                assert (eth["ctVal"], eth["lotSz"], eth["minSz"], eth["tickSz"], eth["ctType"]) == ("0.1", "0.01", "0.01", "0.01", "linear")
                assert isinstance(eth["instIdCode"], int)
                (cfg,) = await rest.request("GET", "/api/v5/account/config")
                assert (cfg["perm"], cfg["posMode"], cfg["acctLv"]) == ("read_only,trade", "long_short_mode", "2")
                assert (await ro.request("GET", "/api/v5/account/config"))[0]["perm"] == "read_only"
                (fee,) = await rest.request("GET", "/api/v5/account/trade-fee", {"instType": "SWAP"})
                assert float(fee["maker"]) < 0 and float(fee["taker"]) < 0  # OKX: negative = a fee paid
                lev = await rest.request("GET", "/api/v5/account/leverage-info", {"instId": "ETH-USDT-SWAP", "mgnMode": "cross"})
                assert lev[0]["lever"] == "10"
                (bal,) = await rest.request("GET", "/api/v5/account/balance", {"ccy": "USDT"})
                assert bal["details"][0]["ccy"] == "USDT" and float(bal["details"][0]["eq"]) == 10_000
                assert await rest.request("GET", "/api/v5/account/positions", {"instType": "SWAP"}) == []
                with pytest.raises(OkxAPIError, match="50120"):
                    await ro.request("POST", "/api/v5/trade/cancel-order", body={"instId": "ETH-USDT-SWAP", "clOrdId": "a1"})
            finally:
                await rest.close()
                await ro.close()

    run(main())


def test_fake_order_rules_clordid_lot_size_pos_side_and_post_only():
    """#order-book-trading-trade-post-place-order: ``clOrdId`` "A combination of case-sensitive alphanumerics, all
    numbers, or all letters of up to 32 characters"; ``posSide`` "It is required in the long/short mode ... Omitting
    it for FUTURES/SWAP in long/short mode returns error 51000"; ``sz`` "For FUTURES/SWAP/OPTION orders, it refers to
    the number of contracts"; ``post_only`` "If the order would have executed on placement, it will be canceled
    instead"; a failed item answers with its ``sCode``/``sMsg`` (#error-code-rest-api: 51121 "Order quantity must be a
    multiple of the lot size.", 51020 "Your order should meet or exceed the minimum order amount.", 51016 "Client
    order ID already exists.", 51001 "Instrument ID, Instrument ID code or Spread ID doesn't exist.");
    #order-book-trading-trade-ws-order-channel ``cancelSource`` "31: The post-only order will take liquidity in taker
    orders"."""
    async def main():
        from liqcore.venues.okx.fake import OKX_INSTRUMENTS

        insts = {"ETH-USDT-SWAP": {**OKX_INSTRUMENTS["ETH-USDT-SWAP"], "minSz": 0.1}}
        async with FakeOkx(pos_mode="long_short_mode", instruments=insts) as fo:
            rest = OkxREST(fo.api_key, fo.api_secret, fo.passphrase, fo.rest_url)
            fo.set_last_price("ETH-USDT-SWAP", 2500.0)
            base = {"instId": "ETH-USDT-SWAP", "tdMode": "cross", "side": "buy", "posSide": "long", "ordType": "post_only",
                    "px": "2499", "sz": "1", "clOrdId": "good1"}
            try:
                for change, code in (({"clOrdId": "lc-ETH-1"}, "51000"), ({"clOrdId": "x" * 33}, "51000"),
                                     ({"sz": "1.005"}, "51121"), ({"sz": "0.05"}, "51020"), ({"posSide": None}, "51000"),
                                     ({"px": "2499.005"}, "51000"), ({"instId": "NOPE-USDT-SWAP"}, "51001")):
                    body = {k: v for k, v in {**base, **change}.items() if v is not None}
                    with pytest.raises(OkxAPIError) as ei:
                        await rest.request("POST", "/api/v5/trade/order", body=body)
                    assert ei.value.code == code, (change, str(ei.value))
                (ok,) = await rest.request("POST", "/api/v5/trade/order", body=base)
                assert ok["sCode"] == "0" and ok["clOrdId"] == "good1"
                with pytest.raises(OkxAPIError, match="51016"):  # unique among live orders
                    await rest.request("POST", "/api/v5/trade/order", body=base)
                (cross,) = await rest.request("POST", "/api/v5/trade/order", body={**base, "px": "2500.5", "clOrdId": "cross1"})
                assert cross["sCode"] == "0"  # accepted ...
                (o,) = await rest.request("GET", "/api/v5/trade/order", {"instId": "ETH-USDT-SWAP", "clOrdId": "cross1"})
                assert (o["state"], o["cancelSource"]) == ("canceled", "31")  # ... then canceled: it would take
            finally:
                await rest.close()

    run(main())


# ---------------------------------------------------------------------------------------------- the fake's websockets
async def _ws(fo, endpoint):
    import aiohttp

    s = aiohttp.ClientSession()
    ws = await s.ws_connect(f"{fo.ws_base}/ws/v5/{endpoint}")
    return s, ws


async def _ask(ws, msg, n=1):
    await ws.send_str(msg if isinstance(msg, str) else orjson.dumps(msg).decode())
    out = []
    for _ in range(n):
        m = await asyncio.wait_for(ws.receive(), 5)
        out.append(m.data if m.data in ("pong",) else orjson.loads(m.data))
    return out if n > 1 else out[0]


def test_fake_websockets_endpoints_login_ping_and_wrong_url():
    """#overview-websocket-connect: "send the String 'ping'", "Expect a 'pong' as a response"; #overview-websocket-
    login (failure ``{"event":"error","code":"60009"...}``); #error-code-websocket-public: 60005 "Invalid apiKey",
    60007 "Invalid sign", 60011 "Please log in", 60024 "Wrong passphrase", 60018 "Wrong URL or {0} doesn't exist.
    Please use the correct URL, channel and parameters referring to API document." (answered, e.g., for ``candle1s``
    on the public URL: github.com/sieblyio/okx-api issue #106).  Where channels live (2026): ``orders`` and
    ``positions`` on /ws/v5/private, ``orders-algo`` and ``algo-advance`` on /ws/v5/business (login required),
    ``trades``, ``liquidation-orders``, ``bbo-tbt``, ``books5`` on /ws/v5/public."""
    async def main():
        async with FakeOkx() as fo:
            s, pub = await _ws(fo, "public")
            s2, prv = await _ws(fo, "private")
            s3, biz = await _ws(fo, "business")
            try:
                assert await _ask(pub, "ping") == "pong"
                for ch in ("bbo-tbt", "books5", "trades", "liquidation-orders"):
                    arg = {"channel": ch, "instType": "SWAP"} if ch == "liquidation-orders" else {"channel": ch, "instId": "ETH-USDT-SWAP"}
                    assert (await _ask(pub, {"op": "subscribe", "args": [arg]}))["event"] == "subscribe"
                await _replayed_liquidations(pub)
                wrong = await _ask(pub, {"op": "subscribe", "args": [{"channel": "orders", "instType": "SWAP"}]})
                assert (wrong["event"], wrong["code"]) == ("error", "60018") and "Wrong URL" in wrong["msg"]
                wrong = await _ask(prv, {"op": "subscribe", "args": [{"channel": "bbo-tbt", "instId": "ETH-USDT-SWAP"}]})
                assert wrong["code"] == "60018"
                assert (await _ask(prv, {"op": "subscribe", "args": [{"channel": "orders", "instType": "SWAP"}]}))["code"] == "60011"
                now = int(fo.now_ms() / 1000)
                bad = {**ws_login_args(fo.api_key, fo.api_secret, fo.passphrase, now), "passphrase": "x"}
                assert (await _ask(prv, {"op": "login", "args": [bad]}))["code"] == "60024"
                bad = ws_login_args(fo.api_key, "wrong-secret", fo.passphrase, now)
                assert (await _ask(prv, {"op": "login", "args": [bad]}))["code"] == "60007"
                bad = ws_login_args("nokey", fo.api_secret, fo.passphrase, now)
                assert (await _ask(prv, {"op": "login", "args": [bad]}))["code"] == "60005"
                ok = ws_login_args(fo.api_key, fo.api_secret, fo.passphrase, now)
                assert (await _ask(prv, {"op": "login", "args": [ok]}))["event"] == "login"
                assert (await _ask(prv, {"op": "subscribe", "args": [{"channel": "orders", "instType": "SWAP"}]}))["event"] == "subscribe"
                assert (await _ask(prv, {"op": "subscribe", "args": [{"channel": "orders-algo", "instType": "SWAP"}]}))["code"] == "60018"
                assert (await _ask(biz, {"op": "subscribe", "args": [{"channel": "orders-algo", "instType": "SWAP"}]}))["code"] == "60011"
                assert (await _ask(biz, {"op": "login", "args": [ok]}))["event"] == "login"
                assert (await _ask(biz, {"op": "subscribe", "args": [{"channel": "orders-algo", "instType": "SWAP"}]}))["event"] == "subscribe"
            finally:
                for w, sess in ((pub, s), (prv, s2), (biz, s3)):
                    await w.close()
                    await sess.close()

    run(main())


def test_fake_ws_order_op_needs_inst_id_code():
    """#order-book-trading-trade-ws-place-order (2026): request example ``{"id":"1512","op":"order","args":[{"side":
    "buy","instIdCode":123456,"tdMode":"isolated","ordType":"market","sz":"100"}]}``; its parameters list only
    ``instIdCode`` ("Integer", required, "Instrument ID code"); the page's January 2026 version still listed
    ``instId`` with "Will be deprecated on February 2026".  An order without it is refused with 50014 ("Parameter
    {param0} can not be empty.", #error-code-rest-api; the venue's own text "Parameter instIdCode can not be empty."
    is quoted in public client tests).  The code comes from #public-data-rest-api-get-instruments (``instIdCode``)."""
    from liqcore.venues.gateway import OrderIntent
    from liqcore.venues.okx.gateway import OkxGateway

    async def main():
        async with FakeOkx() as fo:
            gw = OkxGateway(fo.api_key, fo.api_secret, fo.passphrase, fo.rest_url, fo.ws_base, symbols=["ETHUSDT"])
            await gw.load_instruments()
            await gw.rest.close()
            fo.set_last_price("ETH-USDT-SWAP", 2500.0)
            s, prv = await _ws(fo, "private")
            try:
                ok = ws_login_args(fo.api_key, fo.api_secret, fo.passphrase, int(fo.now_ms() / 1000))
                await _ask(prv, {"op": "login", "args": [ok]})
                args = gw.ws_order_args(OrderIntent("ETHUSDT", "buy", 0.5, 2400.0, "lc-ETH-3-abcdef"))
                assert args["instIdCode"] == 10461 and "instId" not in args and args["sz"] == "5"
                old = {k: v for k, v in args.items() if k != "instIdCode"}
                old["instId"] = "ETH-USDT-SWAP"
                r = await _ask(prv, {"id": "1", "op": "order", "args": [old]})
                assert (r["code"], r["data"][0]["sCode"]) == ("1", "50014")
                r = await _ask(prv, {"id": "2", "op": "order", "args": [args]})
                assert (r["id"], r["code"], r["data"][0]["sCode"], r["data"][0]["clOrdId"]) == ("2", "0", "0", args["clOrdId"])
                assert len(fo.orders_with_client_id(args["clOrdId"])) == 1
            finally:
                await prv.close()
                await s.close()

    run(main())


def test_fake_public_pushes_and_silenced_channel():
    """#order-book-trading-market-data-ws-order-book-channel (URL Path /ws/v5/public): ``bbo-tbt`` / ``books5`` push
    ``asks``/``bids`` levels of price, size, a deprecated "0" ("is part of a deprecated feature and it is always
    "0"") and the order count, with ``ts``; #public-data-websocket-liquidation-orders-channel (URL
    /ws/v5/public, ``details[]`` with ``side``, ``sz``, ``bkPx``, ``ts``); a silenced channel is acknowledged and never
    pushed.  The pushes decode with liqcore's OKX codec (quotes and liquidations in base units)."""
    from liqcore.venues.okx.parse import parse

    async def main():
        async with FakeOkx() as fo:
            fo.silenced.add("trades")
            s, pub = await _ws(fo, "public")
            try:
                for arg in ({"channel": "bbo-tbt", "instId": "ETH-USDT-SWAP"}, {"channel": "trades", "instId": "ETH-USDT-SWAP"},
                            {"channel": "liquidation-orders", "instType": "SWAP"}):
                    assert (await _ask(pub, {"op": "subscribe", "args": [arg]}))["event"] == "subscribe"
                await _replayed_liquidations(pub)
                await fo.trade("ETH-USDT-SWAP", 2500.0, 3)  # silenced: nothing arrives for it
                await fo.quote("ETH-USDT-SWAP", 2499.99, 10, 2500.01, 20)
                m = await asyncio.wait_for(pub.receive(), 5)
                ev = parse(m.data.encode(), recv_ns=time.time_ns())
                assert sorted(ev["price"].tolist()) == [2499.99, 2500.01] and sorted(ev["qty"].tolist()) == [1.0, 2.0]
                await fo.liquidation("ETH-USDT-SWAP", 2400.0, 13, "sell")
                m = await asyncio.wait_for(pub.receive(), 5)
                ev = parse(m.data.encode(), recv_ns=time.time_ns())
                assert ev["qty"].tolist() == [pytest.approx(1.3)] and ev["price"].tolist() == [2400.0]
            finally:
                await pub.close()
                await s.close()

    run(main())


def test_the_live_okx_stream_subscribes_its_channels_where_they_live():
    """liqcore's OKX market stream (``liqcore.venues.okx.stream``: liquidations, trades, top of book ``bbo-tbt``,
    funding, open interest, mark price) on the public endpoint: every channel it asks for is on /ws/v5/public as
    OKX places them in 2026 (#public-data-websocket-liquidation-orders-channel, #order-book-trading-market-data-ws-
    trades-channel, #order-book-trading-market-data-ws-order-book-channel, #public-data-websocket-funding-rate-
    channel, #public-data-websocket-open-interest-channel, #public-data-websocket-mark-price-channel: URL Path
    /ws/v5/public), so none is answered 60018; a top-of-book push decodes into quotes in base units."""
    from liqcore.venues.okx.parse import parse
    from liqcore.venues.okx.stream import connection_specs

    async def main():
        async with FakeOkx() as fo:
            (spec,) = connection_specs(["ETHUSDT"], url=fo.public_ws_url, book=True, funding=True, open_interest=True,
                                       mark=True)
            s, pub = await _ws(fo, "public")
            try:
                for m in spec.subscribe:  # (liqcore's transport writes them as text frames)
                    await pub.send_str(m.decode() if isinstance(m, bytes) else m)
                got = [orjson.loads((await asyncio.wait_for(pub.receive(), 5)).data) for _ in range(len(spec.topics) + 1)]
                acks = [a for a in got if "event" in a]
                assert [a["event"] for a in acks] == ["subscribe"] * len(spec.topics), acks
                assert [a["arg"]["channel"] for a in got if "event" not in a] == ["liquidation-orders"]  # (the replay)
                await fo.quote("ETH-USDT-SWAP", 2499.99, 10, 2500.01, 20)
                ev = parse((await asyncio.wait_for(pub.receive(), 5)).data.encode(), recv_ns=time.time_ns())
                assert sorted(zip(ev["price"].tolist(), ev["qty"].tolist())) == [(2499.99, 1.0), (2500.01, 2.0)]
            finally:
                await pub.close()
                await s.close()

    run(main())


def test_a_query_string_is_sent_exactly_as_signed():
    """#overview-rest-authentication-signature: "GET request parameters are counted as requestpath, not body": the
    query goes out byte for byte as it was signed (a comma-separated ``instId`` list is percent-encoded once)."""
    async def main():
        async with FakeOkx() as fo:
            rest = OkxREST(fo.api_key, fo.api_secret, fo.passphrase, fo.rest_url)
            try:
                rows = await rest.request("GET", "/api/v5/account/leverage-info",
                                          {"instId": "ETH-USDT-SWAP,SOL-USDT-SWAP", "mgnMode": "cross"})
                assert [r["instId"] for r in rows] == ["ETH-USDT-SWAP", "SOL-USDT-SWAP"]
            finally:
                await rest.close()

    run(main())


def test_fake_public_tickers_and_the_fee_rates_request():
    """#order-book-trading-market-data-get-tickers: "Retrieve the latest price snapshot, best bid/ask price, and
    trading volume in the last 24 hours ... GET /api/v5/market/tickers", request parameter ``instType`` (required:
    "SPOT", "SWAP", "FUTURES", "OPTION") and ``instFamily`` ("Applicable to FUTURES/SWAP/OPTION"); response ``last``
    "Last traded price", ``vol24h`` "24h trading volume, with a unit of contract", ``volCcy24h`` "24h trading volume,
    with a unit of currency. If it is a derivatives contract, the value is the number of base currency".  It is a
    public endpoint: python-okx (github.com/okxapi/python-okx, okx/MarketData.py ``get_tickers(instType, uly='',
    instFamily='')`` -> ``TICKERS_INFO = '/api/v5/market/tickers'`` in okx/consts.py) calls it with the client's
    default key '-1', i.e. unsigned.  #trading-account-rest-api-get-fee-rates: ``instType`` is required ("SPOT",
    "MARGIN", "SWAP", "FUTURES", "OPTION"), ``instFamily`` "Applicable to FUTURES/SWAP/OPTION";
    #error-code-rest-api: 50014 "Parameter {param0} can not be empty."."""
    async def main():
        async with FakeOkx() as fo:
            rest = OkxREST(fo.api_key, fo.api_secret, fo.passphrase, fo.rest_url)
            try:
                fo.set_last_price("ETH-USDT-SWAP", 3000.0)
                await fo.trade("ETH-USDT-SWAP", 3001.5, 20)  # 20 contracts of 0.1 ETH
                # unsigned: no OK-ACCESS-* header at all
                status, doc = await _raw(fo, "GET", "/api/v5/market/tickers", headers={}, qs="instType=SWAP")
                assert status == 200 and doc["code"] == "0"
                rows = {r["instId"]: r for r in doc["data"]}
                eth = rows["ETH-USDT-SWAP"]
                assert (eth["instType"], eth["last"], eth["vol24h"], eth["volCcy24h"]) == ("SWAP", "3001.5", "20", "2")
                assert rows["BTC-USDT-SWAP"]["last"] == ""  # never traded here
                fam = await rest.request("GET", "/api/v5/market/tickers", {"instType": "SWAP", "instFamily": "ETH-USDT"},
                                         signed=False)
                assert [r["instId"] for r in fam] == ["ETH-USDT-SWAP"]
                assert (await _raw(fo, "GET", "/api/v5/market/tickers", headers={}, qs=""))[1]["code"] == "50014"
                (fee,) = await rest.request("GET", "/api/v5/account/trade-fee", {"instType": "SWAP", "instFamily": "ETH-USDT"})
                assert (fee["makerU"], fee["takerU"]) == ("-0.0002", "-0.0005")
                with pytest.raises(OkxAPIError, match="50014"):
                    await rest.request("GET", "/api/v5/account/trade-fee", {"instFamily": "ETH-USDT"})
            finally:
                await rest.close()

    run(main())


# ---------------------------------------------------------------------------------------------- bad days
async def _replayed_liquidations(ws) -> dict:
    """The first ``liquidation-orders`` push after a subscription: old liquidations repeated (tardis-node drops it:
    tardis-dev/tardis-node src/mappers/okex.ts ``OkexV5LiquidationsMapper._isFirstMessage``); the fake plays it."""
    m = orjson.loads((await asyncio.wait_for(ws.receive(), 5)).data)
    assert m["arg"]["channel"] == "liquidation-orders" and m["data"] and "event" not in m, m
    return m
def _client(fo):
    return OkxREST(fo.api_key, fo.api_secret, fo.passphrase, fo.rest_url, timeout=5.0)


def test_fake_answers_50004_as_the_error_code_table_gives_it_with_or_without_the_order_created():
    """#error-code-rest-api-public: 50004 "API endpoint request timeout (does not mean that the request was
    successful or failed, please check the request result)", HTTP status 400.  The fake answers it with the
    order created (``process=True``) or not; the client raises it as an unknown outcome (never a refusal)."""
    import aiohttp

    from liqcore.venues.governor import reset_governors
    from liqcore.venues.okx.rest import OkxTransportError

    async def main():
        reset_governors()
        async with FakeOkx() as fo, aiohttp.ClientSession() as s:
            fo.set_last_price("ETH-USDT-SWAP", 2500.0)
            for process, cl in ((True, "cfA"), (False, "cfB")):
                fo.answer_code_next("50004", "/api/v5/trade/order", process=process)
                body = {"instId": "ETH-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "post_only",
                        "px": "2400", "sz": "1", "clOrdId": cl}
                c = _client(fo)
                with pytest.raises(OkxTransportError) as ei:
                    await c.request("POST", "/api/v5/trade/order", body=body)
                await c.close()
                assert ei.value.code == "50004" and ei.value.http_status == 400
                assert len(fo.orders_with_client_id(cl)) == (1 if process else 0)
            # the wire answer itself
            fo.answer_code_next("50004", "/api/v5/public/time", process=False, method="GET")
            async with s.get(fo.rest_url + "/api/v5/public/time") as r:
                doc = orjson.loads(await r.read())
                assert r.status == 400 and doc["code"] == "50004" and doc["data"] == []
                assert "please check the request result" in doc["msg"]
    run(main())


def test_fake_trade_fills_pages_newest_first_by_bill_id():
    """#order-book-trading-trade-get-transaction-details-last-3-days: ``GET /api/v5/trade/fills``; ``after``
    "Pagination of data to return records earlier than the requested billId", ``before`` "... newer than the
    requested billId", ``begin`` / ``end`` on ``ts`` (ms), ``limit`` "The maximum is 100; The default is 100"; rows
    carry instId, tradeId, ordId, clOrdId, billId, fillPx, fillSz, side, execType (T / M), fee (negative: a charge),
    ts, fillTime."""
    from liqcore.venues.governor import reset_governors

    async def main():
        reset_governors()
        async with FakeOkx() as fo:
            fo.venue.partial_fills = True
            c = _client(fo)
            fo.set_last_price("ETH-USDT-SWAP", 2500.0)
            await c.request("POST", "/api/v5/trade/order", body={"instId": "ETH-USDT-SWAP", "tdMode": "cross",
                            "side": "buy", "ordType": "limit", "px": "2400", "sz": "3", "clOrdId": "cfF"})
            for _ in range(3):
                await fo.trade("ETH-USDT-SWAP", 2399.0, 1)
            rows = await c.request("GET", "/api/v5/trade/fills", {"instType": "SWAP", "limit": "2"})
            assert len(rows) == 2 and int(rows[0]["billId"]) > int(rows[1]["billId"])
            older = await c.request("GET", "/api/v5/trade/fills", {"instType": "SWAP", "after": rows[-1]["billId"]})
            assert len(older) == 1 and int(older[0]["billId"]) < int(rows[-1]["billId"])
            newer = await c.request("GET", "/api/v5/trade/fills", {"instType": "SWAP", "before": older[0]["billId"]})
            assert [r["billId"] for r in newer] == [r["billId"] for r in rows]
            r = older[0]
            assert (r["clOrdId"], r["fillSz"], r["side"], r["execType"], r["fillPx"]) == ("cfF", "1", "buy", "M", "2400")
            assert float(r["fee"]) < 0 and r["ts"] == r["fillTime"] and r["tradeId"]
            with pytest.raises(OkxAPIError, match="51000"):
                await c.request("GET", "/api/v5/trade/fills", {"instType": "SWAP", "limit": "101"})
            await c.close()
    run(main())


def test_fake_mute_socket_sends_no_pong_and_no_push():
    """#overview-websocket-connect: "If there's no data return after connecting ... send the String 'ping' ...
    Expect a 'pong' as a response. If the response message is not received within N seconds, please raise an error
    or reconnect."  ``mute()`` plays a connection open but dead: its ``ping`` gets no ``pong``."""
    import aiohttp

    async def main():
        async with FakeOkx() as fo, aiohttp.ClientSession() as s:
            ws = await s.ws_connect(fo.public_ws_url)
            await ws.send_str("ping")
            assert (await ws.receive(timeout=5)).data == "pong"
            assert fo.mute("public") == 1
            await ws.send_str("ping")
            with pytest.raises(asyncio.TimeoutError):
                await ws.receive(timeout=0.3)
            ws2 = await s.ws_connect(fo.public_ws_url)  # a new connection is served
            await ws2.send_str("ping")
            assert (await ws2.receive(timeout=5)).data == "pong"
            await ws.close()
            await ws2.close()
    run(main())


def test_fake_algo_cancelled_by_okx_is_pushed_on_orders_algo_and_listed_by_algo_details():
    """#order-book-trading-algo-trading-ws-algo-orders-channel: ``orders-algo`` on ``/ws/v5/business`` (login
    first), ``state`` live / effective / canceled / order_failed / partially_failed;
    #order-book-trading-algo-trading-get-algo-order-details: ``GET /api/v5/trade/order-algo`` by algoId or
    algoClOrdId."""
    import aiohttp

    from liqcore.venues.governor import reset_governors

    async def main():
        reset_governors()
        async with FakeOkx() as fo, aiohttp.ClientSession() as s:
            c = _client(fo)
            fo.set_last_price("ETH-USDT-SWAP", 2500.0)
            await c.request("POST", "/api/v5/trade/order", body={"instId": "ETH-USDT-SWAP", "tdMode": "cross",
                            "side": "buy", "ordType": "market", "sz": "1", "clOrdId": "cfE"})
            await c.request("POST", "/api/v5/trade/order-algo", body={
                "instId": "ETH-USDT-SWAP", "tdMode": "cross", "side": "sell", "sz": "1", "ordType": "oco",
                "reduceOnly": True, "algoClOrdId": "cfEb", "tpTriggerPx": "2600", "tpOrdPx": "2600",
                "slTriggerPx": "2400", "slOrdPx": "-1"})
            ws = await s.ws_connect(fo.ws_base + "/ws/v5/business")
            await ws.send_str(orjson.dumps({"op": "login", "args": [ws_login_args(
                fo.api_key, fo.api_secret, fo.passphrase, int(time.time()))]}).decode())
            assert orjson.loads((await ws.receive(timeout=5)).data)["event"] == "login"
            await ws.send_str(orjson.dumps({"op": "subscribe", "args": [{"channel": "orders-algo",
                                                                          "instType": "SWAP"}]}).decode())
            assert orjson.loads((await ws.receive(timeout=5)).data)["event"] == "subscribe"
            await fo.cancel_algo_by_venue("cfEb", "order_failed")
            push = orjson.loads((await ws.receive(timeout=5)).data)
            assert push["arg"]["channel"] == "orders-algo"
            assert (push["data"][0]["algoClOrdId"], push["data"][0]["state"]) == ("cfEb", "order_failed")
            (d,) = await c.request("GET", "/api/v5/trade/order-algo", {"algoClOrdId": "cfEb"})
            assert d["state"] == "order_failed"
            assert await c.request("GET", "/api/v5/trade/orders-algo-pending", {"ordType": "oco"}) == []
            await ws.close()
            await c.close()
    run(main())


def test_fake_long_short_mode_closes_only_an_open_leg():
    """#order-book-trading-trade-post-place-order: ``posSide`` "Position side. The default is net in the net mode.
    It is required in the long/short mode, and can only be long or short"; sell + long / buy + short close that
    leg; a leg not open: 51169 "Order failed because you don't have any positions in this direction for this
    contract to reduce or close"; #trading-account-rest-api-get-positions: in long/short mode ``pos`` is positive
    and ``posSide`` names the leg."""
    from liqcore.venues.governor import reset_governors

    async def main():
        reset_governors()
        async with FakeOkx(pos_mode="long_short_mode") as fo:
            c = _client(fo)
            fo.set_last_price("ETH-USDT-SWAP", 2500.0)
            await c.request("POST", "/api/v5/trade/order", body={"instId": "ETH-USDT-SWAP", "tdMode": "cross",
                            "side": "sell", "posSide": "short", "ordType": "market", "sz": "2", "clOrdId": "cfS"})
            (p,) = await c.request("GET", "/api/v5/account/positions", {"instType": "SWAP"})
            assert (p["posSide"], p["pos"]) == ("short", "2")
            with pytest.raises(OkxAPIError, match="51169"):
                await c.request("POST", "/api/v5/trade/order", body={"instId": "ETH-USDT-SWAP", "tdMode": "cross",
                                "side": "sell", "posSide": "long", "ordType": "market", "sz": "2", "clOrdId": "cfL"})
            await c.request("POST", "/api/v5/trade/order", body={"instId": "ETH-USDT-SWAP", "tdMode": "cross",
                            "side": "buy", "posSide": "short", "ordType": "market", "sz": "2", "clOrdId": "cfC"})
            assert await c.request("GET", "/api/v5/account/positions", {"instType": "SWAP"}) == []
            await c.close()
    run(main())


def test_fake_fees_and_pnl_are_on_the_notional_in_coins():
    """#public-data-rest-api-get-instruments: ``ctVal`` "Contract value" (ETH-USDT-SWAP: 0.1 ETH a contract;
    ``sz`` and ``fillSz`` count contracts, "Quantity to buy or sell" in contracts for SWAP);
    #trading-account-rest-api-get-fee-rates: ``makerU`` / ``takerU`` the USDT-margined contracts' fee rates,
    charged on the trade's value: contracts x ``ctVal`` x price.  A maker fill of 2 contracts at 2400 is 0.2 ETH,
    480 USDT of notional: its fee at the endpoint's 2 bps is 0.096 USDT; a taker close of the same at 2500 pays
    5 bps of 500 USDT, 0.25 USDT, and realises (2500 - 2400) x 0.2 = 20 USDT (the account's cash balance moves by
    exactly that less both fees)."""
    from liqcore.venues.governor import reset_governors

    async def main():
        reset_governors()
        async with FakeOkx() as fo:
            c = _client(fo)
            (fee,) = await c.request("GET", "/api/v5/account/trade-fee", {"instType": "SWAP"})
            maker, taker = -float(fee["makerU"]), -float(fee["takerU"])
            (ins,) = await c.request("GET", "/api/v5/public/instruments", {"instType": "SWAP",
                                                                            "instId": "ETH-USDT-SWAP"})
            ct = float(ins["ctVal"])
            (bal0,) = await c.request("GET", "/api/v5/account/balance", {})
            fo.set_last_price("ETH-USDT-SWAP", 2450.0)
            await c.request("POST", "/api/v5/trade/order", body={"instId": "ETH-USDT-SWAP", "tdMode": "cross",
                            "side": "buy", "ordType": "limit", "px": "2400", "sz": "2", "clOrdId": "cfM"})
            await fo.trade("ETH-USDT-SWAP", 2399.0, 5)
            fo.set_last_price("ETH-USDT-SWAP", 2500.0)
            await c.request("POST", "/api/v5/trade/order", body={"instId": "ETH-USDT-SWAP", "tdMode": "cross",
                            "side": "sell", "ordType": "market", "sz": "2", "clOrdId": "cfT", "reduceOnly": True})
            rows = {r["clOrdId"]: r for r in await c.request("GET", "/api/v5/trade/fills", {"instType": "SWAP"})}
            assert rows["cfM"]["execType"] == "M" and rows["cfT"]["execType"] == "T", rows
            for cid, rate in (("cfM", maker), ("cfT", taker)):
                r = rows[cid]
                notional = float(r["fillSz"]) * ct * float(r["fillPx"])  # USDT
                assert -float(r["fee"]) == pytest.approx(notional * rate, rel=1e-9), (cid, r, notional)
            assert -float(rows["cfM"]["fee"]) == pytest.approx(0.096) and -float(rows["cfT"]["fee"]) == pytest.approx(0.25)
            (bal1,) = await c.request("GET", "/api/v5/account/balance", {})
            cash = [float(b["details"][0]["cashBal"]) for b in (bal0, bal1)]
            assert cash[1] - cash[0] == pytest.approx(20.0 - 0.096 - 0.25, abs=1e-9), cash
            await c.close()
    run(main())
