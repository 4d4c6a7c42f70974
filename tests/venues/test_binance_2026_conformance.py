"""Binance USD-M futures as documented in 2026: the routed websocket paths, the user stream's private route and its
``events`` allow list, the conditional-order service, signing; each against the venue's own documents (quoted in
each test) and, where the fakes in ``liqcore.testing`` enforce a rule, against the fake on 127.0.0.1.

Documents quoted (fetched 2026):

* [NOTICE] https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/Important-WebSocket-Change-Notice
  "3 new WebSocket base URLs (Root + routed paths) - Public (high-frequency public market data):
  wss://fstream.binance.com/public - Market (regular market data): wss://fstream.binance.com/market - Private
  (user data): wss://fstream.binance.com/private"; examples
  "wss://fstream.binance.com/public/ws/bnbusdt@depth/ethusdt@depth",
  "wss://fstream.binance.com/market/stream?streams=bnbusdt@aggTrade/btcusdt@markPrice",
  "wss://fstream.binance.com/private/ws?listenKey=<listenKey1>&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE";
  its stream table puts ``<symbol>@bookTicker``, ``!bookTicker``, ``<symbol>@depth<levels>``, ``<symbol>@depth`` on
  /public and ``@aggTrade``, ``@markPrice``, ``@kline_<interval>``, ``@ticker``, ``@forceOrder`` on /market.
* [STREAMS] https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams
  "WebSocket connections have a limit of 10 incoming messages per second. A connection that goes beyond the limit
  will be disconnected" and "A single connection can listen to a maximum of 1024 streams."
* [CCXT] ccxt/ccxt pull request #28091 "binance: split USDⓈ-M futures WS URLs into public/market/private paths":
  "/public/ws for depth, rpiDepth, bookTicker (high-frequency) - /market/ws for aggTrade, trade, kline, ticker,
  forceOrder, etc. - /private/ws?listenKey=<key> for user data streams (query param format)".
* [GOBINANCE] ccxt/go-binance pull request #809 "feat: migrate USDⓈ-M futures WS to /public, /market, /private base
  URLs": "Public (bookTicker, depth) -> /public; Market (aggTrade, markPrice, kline, ticker, etc.) -> /market;
  Private (user data/listenKey) -> /private".
* [SILENT] BYTEX-TRADE/bytex issue #7 and ccxt/node-binance-api issue #990: a stream on the wrong path "still accepts
  the connection and acknowledges a SUBSCRIBE ... but never delivers it"; "don't mix public streams (@depth/@book...)";
  bytex #7 measured "/public carries book tickers, trades and depth" (the raw ``@trade``; ``@aggTrade`` on /market).
* [ALGO] https://developers.binance.com/docs/derivatives/usds-margined-futures/user-data-streams/Event-Algo-Order-Update
* [ORDER] https://developers.binance.com/docs/derivatives/usds-margined-futures/user-data-streams/Event-Order-Update
* [QUERY-ALGO] https://developers.binance.com/docs/derivatives/usds-margined-futures/trade/rest-api/Query-Algo-Order
  (``GET /fapi/v1/algoOrder`` by ``algoId`` or ``clientAlgoId``): the response carries ``actualOrderId`` and
  ``actualPrice``, the order the conditional order got in the matching engine once triggered ("" before).
* [GENERAL] https://developers.binance.com/docs/derivatives/usds-margined-futures/general-info (SIGNED endpoint
  examples: the HMAC-SHA256 vector below).
"""
from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest

from liqcore.venues.binance.gateway import BinanceGateway
from liqcore.venues.gateway import OrderIntent
from liqcore.venues.binance.fake import FakeBinance
from liqcore.venues.binance.fake_streams import MAX_STREAMS
from liqcore.venues.fake_streams import FakeMarketStream
from liqcore.venues.binance import stream as bs
from liqcore.venues.binance.parse import parse
from liqcore.venues.binance.rest import sign
from liqcore.venues.common import Reject

# ---- documented frames, verbatim ([STREAMS] pages of each stream; [ORDER]; [ALGO])
BOOK_TICKER = (b'{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT",'
               b'"b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}')
AGG_TRADE = (b'{"e":"aggTrade","E":123456789,"s":"BTCUSDT","a":5933014,"p":"0.001","q":"100","f":100,"l":105,'
             b'"T":123456785,"m":true}')
FORCE_ORDER = (b'{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC",'
               b'"q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}')
ORDER_TRADE_UPDATE = {"e": "ORDER_TRADE_UPDATE", "E": 1568879465651, "T": 1568879465650, "o": {
    "s": "BTCUSDT", "c": "TEST", "S": "SELL", "o": "TRAILING_STOP_MARKET", "f": "GTC", "q": "0.001", "p": "0",
    "ap": "0", "sp": "7103.04", "x": "NEW", "X": "NEW", "i": 8886774, "l": "0", "z": "0", "L": "0", "N": "USDT",
    "n": "0", "T": 1568879465650, "t": 0, "b": "0", "a": "9.91", "m": False, "R": False, "wt": "CONTRACT_PRICE",
    "ot": "TRAILING_STOP_MARKET", "ps": "LONG", "cp": False, "AP": "7476.89", "cr": "5.0", "rp": "0"}}
ALGO_UPDATE = {"e": "ALGO_UPDATE", "T": 1750515742297, "E": 1750515742303, "o": {
    "caid": "Q5xaq5EGKgXXa0fD7fs0Ip", "aid": 2148719, "at": "CONDITIONAL", "o": "TAKE_PROFIT", "s": "BNBUSDT",
    "S": "SELL", "ps": "BOTH", "f": "GTC", "q": "0.01", "X": "CANCELED", "ai": "", "ap": "0.00000", "aq": "0.00000",
    "act": "0", "tp": "750", "p": "750", "V": "EXPIRE_MAKER", "wt": "CONTRACT_PRICE", "pm": "NONE", "cp": False,
    "pP": False, "R": False, "tt": 0, "gtd": 0, "rm": "Reduce Only reject"}}


def run(coro, timeout: float = 30.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def until(cond, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


# ------------------------------------------------------------------ signing
def test_the_documented_signature_vector_and_the_fake_checks_it():
    """[GENERAL]: secret ``2b5eb11e...d4b9``, the query string below -> ``3c661234...694af9`` (HMAC-SHA256, hex)."""
    secret = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
    payload = ("symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000"
               "&timestamp=1591702613943")
    assert sign(secret, payload) == "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"

    async def go():
        async with FakeBinance(api_keys={"k": secret}) as fb, aiohttp.ClientSession() as s:
            now = fb.now_ms()
            q = f"recvWindow=5000&timestamp={now}"
            url = f"{fb.rest_url}/fapi/v3/balance?{q}&signature="  # (v2 retired: "Futures Account Balance V3")
            good = await (await s.get(url + sign(secret, q), headers={"X-MBX-APIKEY": "k"})).json()
            bad = await (await s.get(url + sign("other", q), headers={"X-MBX-APIKEY": "k"})).json()
            return good, bad

    good, bad = run(go())
    assert isinstance(good, list) and good[0]["asset"] == "USDT"
    assert bad["code"] == -1022


# ------------------------------------------------------------------ routed paths
def test_each_stream_goes_on_the_path_its_category_names():
    """[NOTICE] table, [CCXT], [GOBINANCE]: book data on /public, every other market stream on /market."""
    for name in ("btcusdt@bookTicker", "!bookTicker", "bnbusdt@depth", "bnbusdt@depth5@100ms", "btcusdt@rpiDepth@500ms",
                 "btcusdt@trade"):  # (@trade: [SILENT]'s BYTEX-TRADE/bytex #7 measured it on /public, not /market)
        assert bs.category(name) == "public", name
    for name in ("bnbusdt@aggTrade", "btcusdt@markPrice", "btcusdt@markPrice@1s", "!forceOrder@arr",
                 "btcusdt@forceOrder", "btcusdt@kline_1m", "btcusdt@ticker", "!markPrice@arr@1s"):
        assert bs.category(name) == "market", name
    specs = bs.connection_specs(["BTCUSDT", "ETHUSDT"], book=True, mark_price=True)
    assert [s.url for s in specs] == ["wss://fstream.binance.com/market/ws", "wss://fstream.binance.com/public/ws"]
    for s in specs:  # one category per connection
        assert {bs.category(t) for t in s.topics} == {s.url.rsplit("/", 2)[1]}
    assert specs[1].topics == ["btcusdt@bookTicker", "ethusdt@bookTicker"]
    # the notice's own combined example, built by connection_specs
    comb = bs.connection_specs(["BNBUSDT"], combined=True, trades=True)[0]
    assert comb.url == "wss://fstream.binance.com/market/stream?streams=bnbusdt@forceOrder/bnbusdt@aggTrade"
    assert bs.combined_url("wss://fstream.binance.com/market", ["bnbusdt@aggTrade", "btcusdt@markPrice"]) == \
        "wss://fstream.binance.com/market/stream?streams=bnbusdt@aggTrade/btcusdt@markPrice"
    # at most 1024 streams a connection ([STREAMS]), still one category each
    many = bs.connection_specs([f"S{i:04d}USDT" for i in range(700)], book=True)
    assert all(len(s.topics) <= 1024 for s in many) and sum(len(s.topics) for s in many) == 2100
    assert all(len({bs.category(t) for t in s.topics}) == 1 for s in many)


def test_url_overrides_route_each_category():
    """A bare ``scheme://host:port`` or a category base gets the documented paths ([NOTICE]); a full URL ending in
    ``/ws`` or holding ``/stream`` is kept, its category (if any) swapped per connection."""
    def urls(u, **kw):
        return [s.url for s in bs.connection_specs(["ETHUSDT"], url=u, book=True, **kw)]

    assert urls("ws://127.0.0.1:9") == ["ws://127.0.0.1:9/market/ws", "ws://127.0.0.1:9/public/ws"]
    assert urls("ws://127.0.0.1:9/") == ["ws://127.0.0.1:9/market/ws", "ws://127.0.0.1:9/public/ws"]
    assert urls("wss://fstream.binance.com/market") == ["wss://fstream.binance.com/market/ws",
                                                        "wss://fstream.binance.com/public/ws"]
    assert urls("ws://h:1/public/ws") == ["ws://h:1/market/ws", "ws://h:1/public/ws"]
    assert urls("ws://h:1/ws") == ["ws://h:1/ws", "ws://h:1/ws"]  # (a test server's own layout: as given)
    assert urls("ws://h:1", combined=True) == ["ws://h:1/market/stream?streams=ethusdt@forceOrder/ethusdt@aggTrade",
                                               "ws://h:1/public/stream?streams=ethusdt@bookTicker"]
    assert bs.ENDPOINTS["mainnet"] == "wss://fstream.binance.com"
    with pytest.raises(ValueError, match="network: expected one of"):
        bs.connection_specs(["ETHUSDT"], network="moon")
    with pytest.raises(ValueError, match="max-streams"):
        bs.connection_specs(["ETHUSDT"], max_streams=2000)


def test_every_path_that_opens_a_binance_connection_keeps_one_category_each():
    """``record`` / ``run --symbols all`` (whole_market_specs), the watched venues of ``--scope instrument`` (their
    liquidations alone) and the live feed: the liquidations and trades on /market, the book on /public ([NOTICE])."""
    from liqcore.live.runner import _liquidation_specs
    from liqcore.market.streams import whole_market_specs

    whole = whole_market_specs("binance", [], ["ETHUSDT"], url="ws://h:1", book=True)
    assert [(s.url, s.topics) for s in whole] == [("ws://h:1/market/ws", ["!forceOrder@arr", "ethusdt@aggTrade"]),
                                                  ("ws://h:1/public/ws", ["ethusdt@bookTicker"])]
    watched = _liquidation_specs("binance", ["ETHUSDT"], None, "mainnet")
    assert [(s.url, s.topics) for s in watched] == [("wss://fstream.binance.com/market/ws", ["ethusdt@forceOrder"])]
    for net, root in (("testnet", "wss://fstream.binancefuture.com"), ("demo", "wss://demo-fstream.binance.com")):
        assert [s.url for s in bs.connection_specs(["ETHUSDT"], network=net, book=True)] == [
            f"{root}/market/ws", f"{root}/public/ws"]


def test_the_user_stream_takes_the_private_route_with_its_events_allow_list():
    """[NOTICE]: ``wss://fstream.binance.com/private/ws?listenKey=<listenKey1>&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE``;
    [CCXT]: "/private/ws?listenKey=<key> for user data streams (query param format)"."""
    assert bs.user_stream_url("wss://fstream.binance.com", "abc", ("ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE")) == \
        "wss://fstream.binance.com/private/ws?listenKey=abc&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE"
    got = bs.user_stream_url("wss://fstream.binance.com/market", "abc")
    assert got == ("wss://fstream.binance.com/private/ws?listenKey=abc"
                   "&events=ORDER_TRADE_UPDATE/ALGO_UPDATE/ACCOUNT_UPDATE/listenKeyExpired")
    assert bs.user_stream_url("ws://127.0.0.1:9", "k/+", ()) == "ws://127.0.0.1:9/private/ws?listenKey=k%2F%2B"
    assert bs.user_stream_url("wss://demo-fstream.binance.com", "k", ()).startswith("wss://demo-fstream.binance.com/private/")


def test_the_user_stream_never_asks_for_an_empty_events_allow_list():
    """[NOTICE]: ``events`` is the allow list of the user stream's events; an ``events=`` with nothing in it allows
    nothing (on production the stream then stays silent): an empty list, or one of blank names, sends no ``events``
    parameter at all (every event)."""
    for events in ((), [], ("",), (" ", "")):
        url = bs.user_stream_url("wss://fstream.binance.com", "abc", events)
        assert url == "wss://fstream.binance.com/private/ws?listenKey=abc" and "events=" not in url
    assert bs.user_stream_url("ws://h:1", "k", ("", "ORDER_TRADE_UPDATE")).endswith("&events=ORDER_TRADE_UPDATE")


# ------------------------------------------------------------------ the fake market stream enforces the routes
def test_the_fake_delivers_each_documented_frame_on_its_own_path_only():
    """[NOTICE]/[SILENT]: a stream subscribed on the other category's path is acknowledged (``{"result": null,
    "id": n}``) and never sent; on its own path the documented frame arrives and decodes."""
    async def go():
        async with FakeMarketStream("binance") as fs, aiohttp.ClientSession() as s:
            async def sub(path, names):
                ws = await s.ws_connect(fs.ws_url + path)
                await ws.send_str(orjson.dumps({"method": "SUBSCRIBE", "params": names, "id": 7}).decode())
                assert orjson.loads((await ws.receive(timeout=20)).data) == {"result": None, "id": 7}
                return ws

            names = ["bnbusdt@bookTicker", "btcusdt@aggTrade", "btcusdt@forceOrder"]
            market, public = await sub("/market/ws", names), await sub("/public/ws", names)
            acked = all(fs.acknowledged(n) for n in names)
            written = [fs.write_counted(BOOK_TICKER, "bnbusdt@bookTicker")[1],
                       fs.write_counted(AGG_TRADE, "btcusdt@aggTrade")[1],
                       fs.write_counted(FORCE_ORDER, "btcusdt@forceOrder")[1]]
            got_market = [(await market.receive(timeout=20)).data for _ in range(2)]
            got_public = [(await public.receive(timeout=20)).data]
            with pytest.raises(asyncio.TimeoutError):
                await market.receive(timeout=0.3)  # (the book ticker never comes on /market)
            with pytest.raises(asyncio.TimeoutError):
                await public.receive(timeout=0.3)  # (nor the trade and the liquidation on /public)
            return acked, written, got_market, got_public

    acked, written, got_market, got_public = run(go())
    assert acked and written == [1, 1, 1]
    assert got_market == [AGG_TRADE.decode(), FORCE_ORDER.decode()] and got_public == [BOOK_TICKER.decode()]
    assert len(parse(BOOK_TICKER)) == 2 and len(parse(FORCE_ORDER)) == 1
    with pytest.raises(Reject, match="bad_time"):  # (the page's example is dated 1973: below the project's time floor)
        parse(AGG_TRADE)
    dated = AGG_TRADE.replace(b'"E":123456789', b'"E":1750000000089').replace(b'"T":123456785', b'"T":1750000000085')
    assert len(parse(dated)) == 1  # (the same frame, dated 2025)


def test_the_fake_silences_a_named_stream_and_closes_connections_beyond_the_limits():
    """[STREAMS]: more than 10 incoming messages a second disconnect; at most 1024 streams a connection.  The
    ``silence`` knob: acknowledged, never sent."""
    async def go():
        async with FakeMarketStream("binance") as fs, aiohttp.ClientSession() as s:
            ws = await s.ws_connect(fs.ws_url + "/market/ws")
            await ws.send_str(orjson.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@aggTrade"], "id": 1}).decode())
            await ws.receive(timeout=20)
            fs.silence("ethusdt@aggTrade")
            silent = (fs.acknowledged("ethusdt@aggTrade"), fs.subscribed("ethusdt@aggTrade"),
                      fs.write_counted(AGG_TRADE.replace(b"BTCUSDT", b"ETHUSDT"), "ethusdt@aggTrade")[1])
            fs.unsilence("ethusdt@aggTrade")
            heard = fs.write_counted(AGG_TRADE.replace(b"BTCUSDT", b"ETHUSDT"), "ethusdt@aggTrade")[1]
            flood = await s.ws_connect(fs.ws_url + "/market/ws")
            for i in range(12):  # (12 messages at once: beyond 10 a second)
                await flood.send_str(orjson.dumps({"method": "SUBSCRIBE", "params": [f"x{i}@aggTrade"], "id": i}).decode())
            await until(lambda: fs.closed_for["rate"] == 1, "the flood closed")
            big = await s.ws_connect(fs.ws_url + "/market/ws")
            over = [f"s{i}@aggTrade" for i in range(MAX_STREAMS + 1)]
            await big.send_str(orjson.dumps({"method": "SUBSCRIBE", "params": over, "id": 1}).decode())
            await until(lambda: fs.closed_for["streams"] == 1, "the 1025-stream connection closed")
            return silent, heard

    (acked, sent_to_client, written), heard = run(go())
    assert acked and not sent_to_client and written == 0 and heard == 1


def test_connection_specs_against_the_fake_get_every_category(tmp_path):
    """connection_specs(url=<the fake's bare root>, book=True) gets the liquidation, the trade and the top of book
    each on its own path, through the live feed (liqcore.live.feeds.FeedManager)."""
    from liqcore.live.feeds import FeedManager

    async def go():
        async with FakeMarketStream("binance") as fs:
            got: list[bytes] = []
            specs = bs.connection_specs(["BTCUSDT", "BNBUSDT"], url=fs.ws_url, book=True)
            fm = FeedManager("binance", ["BTCUSDT", "BNBUSDT"], lambda v, f, t=None: got.append(bytes(f)), specs=specs)
            await fm.start()
            try:
                await until(lambda: fs.subscribed("bnbusdt@bookTicker") and fs.subscribed("btcusdt@aggTrade")
                            and fs.subscribed("btcusdt@forceOrder"), "the subscriptions")
                fs.write(BOOK_TICKER, "bnbusdt@bookTicker")
                fs.trade(AGG_TRADE, "BTCUSDT")
                fs.liquidation(FORCE_ORDER, "BTCUSDT")
                await until(lambda: len([f for f in got if f.startswith(b'{"e"')]) >= 3, "the three frames")
            finally:
                await fm.stop()
            return sorted(f for f in got if f.startswith(b'{"e"')), [s.url for s in specs]

    got, urls = run(go())
    assert got == sorted([BOOK_TICKER, AGG_TRADE, FORCE_ORDER])
    assert [u.rsplit("/", 2)[1] for u in urls] == ["market", "public"]


# ------------------------------------------------------------------ user stream, orders
def test_the_fake_user_stream_honours_the_route_and_the_events_allow_list():
    """[NOTICE] private ws mode; the retired ``/ws/<listenKey>`` sends nothing; ``events`` is an allow list."""
    async def go():
        async with FakeBinance() as fb, aiohttp.ClientSession() as s:
            hdr = {"X-MBX-APIKEY": fb.api_key}
            lk = (await (await s.post(f"{fb.rest_url}/fapi/v1/listenKey", headers=hdr)).json())["listenKey"]
            only_acct = await s.ws_connect(f"{fb.ws_base}/private/ws?listenKey={lk}&events=ACCOUNT_UPDATE")
            orders = await s.ws_connect(f"{fb.ws_base}/private/ws?listenKey={lk}&events=ORDER_TRADE_UPDATE")
            legacy = await s.ws_connect(f"{fb.ws_base}/ws/{lk}")
            await until(lambda: len(fb._conns) == 3, "three user streams")
            gw = BinanceGateway(fb.api_key, fb.api_secret, fb.rest_url, fb.ws_base, timeout=2.0)
            await gw.load_instruments()
            await fb.trade("ETHUSDT", 2500.0)
            await gw.place(OrderIntent("ETHUSDT", "buy", 0.5, 2496.25, "cf-1"))
            ev = orjson.loads((await orders.receive(timeout=20)).data)
            quiet = []
            for w in (only_acct, legacy):
                with pytest.raises(asyncio.TimeoutError):
                    await w.receive(timeout=0.3)
                quiet.append(True)
            await gw.close()
            return ev, quiet

    ev, quiet = run(go())
    assert ev["e"] == "ORDER_TRADE_UPDATE" and ev["o"]["c"] == "cf-1" and quiet == [True, True]


def test_the_fake_refuses_a_conditional_order_on_the_order_endpoint_and_a_crossing_post_only_entry():
    """Since 2025-12 conditional orders go to ``POST /fapi/v1/algoOrder``; ``/fapi/v1/order`` answers -4120
    ("Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."); a GTX LIMIT
    that would take is refused -5022 and not recorded ([GENERAL] error codes)."""
    from liqcore.venues.binance.rest import BinanceAPIError, BinanceREST

    async def go():
        async with FakeBinance() as fb:
            rest = BinanceREST(fb.api_key, fb.api_secret, fb.rest_url)
            await fb.trade("ETHUSDT", 2500.0)
            codes = []
            for params in ({"symbol": "ETHUSDT", "side": "SELL", "type": "STOP_MARKET", "quantity": "0.5",
                            "stopPrice": "2400"},
                           {"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTX", "quantity": "0.5",
                            "price": "2501"}):
                try:
                    await rest.request("POST", "/fapi/v1/order", params)
                except BinanceAPIError as e:
                    codes.append(e.code)
            algo = await rest.request("POST", "/fapi/v1/algoOrder", {
                "algoType": "CONDITIONAL", "symbol": "ETHUSDT", "side": "SELL", "type": "STOP_MARKET",
                "quantity": "0.5", "triggerPrice": "2400", "clientAlgoId": "cf-sl"})
            await rest.close()
            return codes, algo, list(fb.venue.orders.values())

    codes, algo, orders = run(go())
    assert codes == [-4120, -5022]
    assert algo["clientAlgoId"] == "cf-sl" and algo["algoStatus"] == "NEW" and len(orders) == 1


def test_a_triggered_conditional_order_is_followed_by_its_algo_update_ai():
    """[ALGO]: ``"ai"`` is the order id the conditional order got in the matching engine once triggered.  The
    documented ``ALGO_UPDATE`` (status set to TRIGGERED, ``caid`` to the gateway's TP id and ``ai`` to the
    documented ``ORDER_TRADE_UPDATE``'s ``i``: 8886774) makes that order's update (the documented [ORDER] frame:
    ``c`` "TEST", type TRAILING_STOP_MARKET, nothing that says take-profit) the entry's ``tp``, never an unknown
    order."""
    async def go():
        gw = BinanceGateway("k", "s", "http://127.0.0.1:9", "ws://127.0.0.1:9")
        ups = []
        gw.on_update(ups.append)
        gw._algo_cid["lc-1-tp"] = "lc-1"
        before = dict(ORDER_TRADE_UPDATE)
        await gw._handle(before)  # (not followed yet: as the venue's frame says)
        algo = {**ALGO_UPDATE, "o": {**ALGO_UPDATE["o"], "caid": "lc-1-tp", "X": "TRIGGERED", "ai": "8886774"}}
        await gw._handle(algo)
        await gw._handle(ORDER_TRADE_UPDATE)
        done = {**ALGO_UPDATE, "o": {**ALGO_UPDATE["o"], "caid": "lc-1-tp", "X": "FINISHED", "ai": "8886774",
                                     "aq": "0.01", "ap": "751.5"}}
        await gw._handle(done)
        cut = {**ALGO_UPDATE, "o": {**ALGO_UPDATE["o"], "caid": "lc-1-tp", "X": "FINISHED", "ai": "8886775",
                                    "aq": "0.004", "ap": "751.5"}}
        await gw._handle(cut)  # (FINISHED short of its quantity: cancelled in the matching engine)
        await gw.close()
        return ups

    ups = run(go())
    assert (ups[0].client_id, ups[0].kind) == ("TEST", "entry")  # (the unfollowed order, as the frame names it)
    assert (ups[1].client_id, ups[1].kind, ups[1].status, ups[1].venue_order_id) == ("lc-1", "tp", "triggered", "2148719")
    assert (ups[2].client_id, ups[2].kind, ups[2].venue_order_id) == ("lc-1", "tp", "8886774")
    assert (ups[3].status, ups[3].filled_qty, ups[3].avg_price) == ("filled", 0.01, 751.5)
    assert (ups[4].status, ups[4].filled_qty, ups[4].kind) == ("cancelled", 0.004, "tp")


@pytest.mark.integration
def test_the_gateway_books_a_triggered_take_profit_through_the_private_route():
    """Against the fake: the gateway's user stream is ``/private/ws?listenKey=...&events=...`` naming every event it
    acts on; the TP the fill placed triggers, its ``ALGO_UPDATE`` names the triggered order (``ai``) and the fill
    is booked as the entry's ``tp``."""
    async def go():
        async with FakeBinance() as fb:
            gw = BinanceGateway(fb.api_key, fb.api_secret, fb.rest_url, fb.ws_base, timeout=2.0, retry_backoff=0.05)
            fills = []
            gw.on_fill(fills.append)
            await gw.start()
            try:
                await fb.trade("ETHUSDT", 2500.0)
                await gw.place(OrderIntent("ETHUSDT", "buy", 0.5, 2496.25, "cf-2", take_profit=2500.0, stop_loss=2490.01))
                await fb.trade("ETHUSDT", 2496.2)
                await until(lambda: len([o for o in fb.venue.orders.values() if o.stop_order_type]) == 2, "the bracket")
                await fb.trade("ETHUSDT", 2500.0)
                await fb.trade("ETHUSDT", 2500.5)
                await until(lambda: any(f.kind == "tp" for f in fills), "the TP fill")
                return fb.user_urls, fills, dict(gw._triggered)
            finally:
                await gw.close()

    urls, fills, triggered = run(go())
    assert urls[0].startswith("/private/ws?listenKey=")
    assert urls[0].endswith("&events=ORDER_TRADE_UPDATE/ALGO_UPDATE/ACCOUNT_UPDATE/listenKeyExpired")
    tp = [f for f in fills if f.kind == "tp"][0]
    assert (tp.client_id, tp.side, tp.price, tp.qty) == ("cf-2", "sell", 2500.0, 0.5)
    assert ("cf-2", "tp") in triggered.values()


def test_the_fake_answers_a_triggered_conditional_orders_actual_order_id():
    """[QUERY-ALGO]: before the trigger ``actualOrderId`` is empty; once triggered it is the order id the
    triggered order's trades carry (``GET /fapi/v1/userTrades`` ``orderId``, the [ALGO] ``ai``)."""
    from liqcore.venues.binance.rest import BinanceREST

    async def go():
        async with FakeBinance() as fb:
            rest = BinanceREST(fb.api_key, fb.api_secret, fb.rest_url)
            await fb.trade("ETHUSDT", 2500.0)
            fb.venue.set_position("ETHUSDT", 0.5, 2496.0)
            await rest.request("POST", "/fapi/v1/algoOrder", {
                "algoType": "CONDITIONAL", "symbol": "ETHUSDT", "side": "SELL", "type": "TAKE_PROFIT_MARKET",
                "quantity": "0.5", "triggerPrice": "2501", "reduceOnly": "true", "clientAlgoId": "cf-q-tp"})
            q = {"symbol": "ETHUSDT", "clientAlgoId": "cf-q-tp"}
            before = await rest.request("GET", "/fapi/v1/algoOrder", q)
            await fb.trade("ETHUSDT", 2501.0)
            await fb.trade("ETHUSDT", 2501.5)
            after = await rest.request("GET", "/fapi/v1/algoOrder", q)
            trades = await rest.request("GET", "/fapi/v1/userTrades", {"symbol": "ETHUSDT"})
            await rest.close()
            return before, after, trades

    before, after, trades = run(go())
    assert before["actualOrderId"] == "" and after["algoStatus"] in ("TRIGGERED", "FINISHED")
    assert after["actualOrderId"] and [str(t["orderId"]) for t in trades] == [after["actualOrderId"]]
