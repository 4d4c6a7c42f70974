"""The local venue's market (:mod:`liqcore.testing.fake_session`): its top of book on each venue's documented
stream, and its replay rule (once per trading session; a client without one never consumes it).

The documents the book frames follow (read as they stand in 2026):

* Binance USD-M Futures, WebSocket Market Streams, "Individual Symbol Book Ticker Streams": stream name
  ``<symbol>@bookTicker``, payload ``{"e": "bookTicker", "u", "E", "T", "s", "b", "B", "a", "A"}`` (update id,
  event time, transaction time, symbol, best bid price and quantity, best ask price and quantity, decimals as
  strings), "Update Speed: Real-time";
* Bybit v5, WebSocket Stream, Public, "Orderbook" (bybit-exchange.github.io/docs/v5/websocket/public/orderbook):
  topic ``orderbook.{depth}.{symbol}``, "Once you have subscribed successfully, you will receive a snapshot";
  ``{"topic", "type": "snapshot", "ts", "data": {"s", "b": [[price, size]], "a": [[price, size]], "u", "seq"},
  "cts"}``; for linear level 1 "only snapshot messages are pushed" and "if 3 seconds have elapsed without a
  change in the orderbook, a snapshot message will be pushed again, and the field u will be the same as that in
  the previous message";
* OKX API v5, #order-book-trading-market-data-ws-order-book-channel (URL Path /ws/v5/public): channel
  ``bbo-tbt``, "1 depth level snapshot will be pushed in the initial push"; push data ``{"arg": {"channel",
  "instId"}, "data": [{"asks": [[price, size, "0", orders]], "bids": [...], "ts", "seqId"}]}`` ("0" is "part of a
  deprecated feature and it is always "0""), sizes in contracts.

Each frame is also decoded with liqcore's own codec of that venue: two QUOTE rows, the best bid one tick under the
last print and the best ask one tick over it."""
from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
import orjson
import pytest

from liqcore.testing.fake_session import LocalMarket, book_resend_s
from liqcore.types import Kind, Side

pytestmark = pytest.mark.integration

PX = 2500.0  # the last print of the test's market


_START_MS = 1_795_690_800_000  # the test market's first print (ms)


def _book_ms(venue: str, m: dict) -> int:
    """The time a top-of-book push carries (ms): Binance's event time (its transaction time the same), Bybit's
    ``ts``, OKX's row ``ts``."""
    if venue == "binance":
        assert m["E"] == m["T"], m
        return int(m["E"])
    return int(m["ts"]) if venue == "bybit" else int(m["data"][0]["ts"])


def _frames(venue: str, n: int = 400, start_ms: int = _START_MS):
    """``n`` prints of ETH at 2500.00 .. (one a millisecond), in ``venue``'s wire format, as the replay source."""
    out = []
    for i in range(n):
        t, px = start_ms + i, PX if i == n - 1 else PX - 1 + (i % 3) * 0.01
        if venue == "binance":
            f = {"stream": "ethusdt@aggTrade", "data": {"e": "aggTrade", "E": t, "s": "ETHUSDT", "a": i + 1,
                                                        "p": f"{px:.2f}", "q": "0.50", "f": i, "l": i, "T": t, "m": True}}
        elif venue == "bybit":
            f = {"topic": "publicTrade.ETHUSDT", "type": "snapshot", "ts": t,
                 "data": [{"T": t, "s": "ETHUSDT", "S": "Sell", "v": "0.50", "p": f"{px:.2f}", "L": "ZeroPlusTick",
                           "i": f"t{i}", "BT": False}]}
        else:
            f = {"arg": {"channel": "trades", "instId": "ETH-USDT-SWAP"},
                 "data": [{"instId": "ETH-USDT-SWAP", "tradeId": str(i + 1), "px": f"{px:.2f}", "sz": "5",
                           "side": "sell", "ts": str(t), "count": "1"}]}
        out.append((t * 1_000_000, orjson.dumps(f)))
    return out


async def _send(fv, data: bytes) -> int:
    """The venue command's own per-venue send (liqcore.commands.venue)."""
    from liqcore.commands.venue import _exchange_frame
    from liqcore.venues.registry import venue_spec

    venue = {"FakeBinance": "binance", "FakeExchange": "bybit", "FakeOkx": "okx"}[type(fv).__name__]
    spec = venue_spec(venue)
    send = _exchange_frame if spec.fake == "exchange" else spec.part("fake_streams").replay_frame
    return await send(fv, data)


def _fake(venue: str):
    from liqcore.venues.binance.fake import FakeBinance
    from liqcore.venues.bybit.fake import FakeExchange
    from liqcore.venues.okx.fake import FakeOkx

    return {"binance": FakeBinance, "bybit": FakeExchange, "okx": FakeOkx}[venue](host="127.0.0.1", port=0)


@contextlib.asynccontextmanager
async def _local_market(venue: str, symbol: str = "ETHUSDT", say=None):
    """``async with _local_market(venue) as (fv, market)``: the venue's fake started and the local market over
    the test's frames running on it, as ``liqcore venue`` runs them; both stopped after."""
    fv = _fake(venue)
    await fv.start()
    market = LocalMarket(fv, venue, [symbol], lambda: _frames(venue), 0.0, _send, say=say or (lambda text: None))
    task = asyncio.ensure_future(market.run())
    try:
        yield fv, market
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await fv.stop()


async def _until(cond, what: str, bound_s: float = 20.0) -> None:
    deadline = time.monotonic() + bound_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {bound_s:g} s")
        await asyncio.sleep(0.02)


_BOOK = {"binance": ("/public/ws", {"method": "SUBSCRIBE", "params": ["ethusdt@bookTicker"], "id": 1}),
         "bybit": ("/v5/public/linear", {"op": "subscribe", "args": ["orderbook.1.ETHUSDT"], "req_id": "1"}),
         "okx": ("/ws/v5/public", {"op": "subscribe", "args": [{"channel": "bbo-tbt", "instId": "ETH-USDT-SWAP"}]})}
_TRADES = {"binance": ("/market/ws", {"method": "SUBSCRIBE", "params": ["ethusdt@aggTrade"], "id": 2}),
           "bybit": ("/v5/public/linear", {"op": "subscribe", "args": ["publicTrade.ETHUSDT"], "req_id": "2"}),
           "okx": ("/ws/v5/public", {"op": "subscribe", "args": [{"channel": "trades", "instId": "ETH-USDT-SWAP"}]})}


async def _book_frames(ws, venue: str, k: int, bound_s: float = 20.0) -> list[tuple[float, dict, bytes]]:
    """The next ``k`` top-of-book pushes on ``ws`` (monotonic time received, JSON, bytes); acks skipped."""
    out = []
    deadline = time.monotonic() + bound_s
    while len(out) < k:
        msg = await asyncio.wait_for(ws.receive(), max(deadline - time.monotonic(), 0.01))
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"{venue}: the book stream ended ({msg.type})")
        m = orjson.loads(msg.data)
        if (m.get("e") == "bookTicker" or str(m.get("topic", "")).startswith("orderbook.1.")
                or (m.get("arg", {}).get("channel") == "bbo-tbt" and "data" in m)):
            out.append((time.monotonic(), m, msg.data.encode()))
    return out


def _decode(venue: str, data: bytes):
    if venue == "binance":
        from liqcore.venues.binance.parse import parse
    elif venue == "bybit":
        from liqcore.venues.bybit.parse import parse
    else:
        from liqcore.venues.okx.parse import parse
    return parse(data, recv_ns=time.time_ns())


@pytest.mark.timeout(120)
@pytest.mark.parametrize("venue", ["binance", "bybit", "okx"])
def test_the_local_venue_streams_its_top_of_book_as_documented(venue):
    """After the replay's prints: the book one tick either side of the last print (2500.00), sent on subscription
    in the venue's documented frame, decoded by liqcore's codec as a bid and an ask; unchanged, it is sent again
    after the venue's re-send interval with the same update id."""
    async def main():
        async with _local_market(venue, "ETH-USDT-SWAP" if venue == "okx" else "ETHUSDT") as (fv, market):
            async with aiohttp.ClientSession() as s:
                path, sub = _TRADES[venue]  # a client without a trading session: a replay of its own
                trades = await s.ws_connect(f"ws://127.0.0.1:{fv.port}{path}")
                await trades.send_str(orjson.dumps(sub).decode())
                await _until(lambda: market.replays and market.replays[-1][1] == 400, "the replay sent")
                path, sub = _BOOK[venue]
                ws = await s.ws_connect(f"ws://127.0.0.1:{fv.port}{path}")
                await ws.send_str(orjson.dumps(sub).decode())
                (t0, first, raw), (t1, again, _) = await _book_frames(ws, venue, 2, 3 * book_resend_s(venue) + 10)
                if venue == "binance":
                    assert list(first) == ["e", "u", "E", "T", "s", "b", "B", "a", "A"], first
                    assert (first["s"], first["b"], first["a"]) == ("ETHUSDT", "2499.99", "2500.01")
                    assert float(first["B"]) > 0 and float(first["A"]) > 0
                    uid, uid2 = first["u"], again["u"]
                elif venue == "bybit":
                    assert set(first) == {"topic", "type", "ts", "data", "cts"} and first["type"] == "snapshot", first
                    d = first["data"]
                    assert set(d) == {"s", "b", "a", "u", "seq"} and first["topic"] == "orderbook.1.ETHUSDT"
                    assert (d["b"][0][0], d["a"][0][0]) == ("2499.99", "2500.01") and again["type"] == "snapshot"
                    uid, uid2 = d["u"], again["data"]["u"]
                else:
                    assert first["arg"] == {"channel": "bbo-tbt", "instId": "ETH-USDT-SWAP"}, first
                    (row,) = first["data"]
                    assert set(row) == {"asks", "bids", "ts", "seqId"}, row
                    (bid,), (ask,) = row["bids"], row["asks"]
                    assert (bid[0], ask[0], bid[2], ask[2]) == ("2499.99", "2500.01", "0", "0") and len(bid) == 4
                    uid, uid2 = row["seqId"], again["data"][0]["seqId"]
                assert uid2 == uid, (first, again)  # unchanged: the same update id
                # and the same time: the replay's last print's (the market stands still once its replay ended)
                assert _book_ms(venue, first) == _book_ms(venue, again) == _START_MS + 399, (first, again)
                assert t1 - t0 >= book_resend_s(venue) * 0.9, (t0, t1)
                ev = _decode(venue, raw)
                assert list(ev["kind"]) == [int(Kind.QUOTE)] * 2, ev
                assert sorted(zip(ev["side"].tolist(), ev["price"].tolist())) == sorted(
                    [(int(Side.BUY), 2499.99), (int(Side.SELL), 2500.01)])
                await ws.close()
                await trades.close()

    asyncio.run(asyncio.wait_for(main(), 100))


async def _binance_session(s, base: str, fv):
    """A run's connections to the fake Binance: a listenKey's user stream, then a market stream with its trades
    subscribed; returns ``(user, run)``."""
    from liqcore.venues.binance.fake import BINANCE_API_KEY

    async with s.post(f"http://127.0.0.1:{fv.port}/fapi/v1/listenKey", headers={"X-MBX-APIKEY": BINANCE_API_KEY}) as r:
        lk = (await r.json())["listenKey"]
    user = await s.ws_connect(f"{base}/private/ws/{lk}")
    run = await s.ws_connect(f"{base}/market/ws")
    await run.send_str(orjson.dumps(_TRADES["binance"][1]).decode())
    return user, run


@pytest.mark.timeout(120)
def test_a_client_without_a_trading_session_never_consumes_the_sessions_replay():
    """Binance: a public client's trade subscription (a preflight's probe) starts a replay of its own; a trading
    session (a listenKey's user stream open, then its trades subscribed) starts it over from the beginning, once:
    its second trade subscription (a reconnect) does not; the replay's prints reach the session's client."""
    async def main():
        said: list[str] = []
        async with _local_market("binance", say=said.append) as (fv, market):
            base = f"ws://127.0.0.1:{fv.port}"
            async with aiohttp.ClientSession() as s:
                probe = await s.ws_connect(f"{base}/market/ws")
                await probe.send_str(orjson.dumps(_TRADES["binance"][1]).decode())
                await _until(lambda: market.replays and market.replays[-1][1] == 400, "the probe's replay")
                assert [r[0] for r in market.replays] == [None]
                await probe.close()
                user, run = await _binance_session(s, base, fv)
                got = 0
                while got < 400:  # every print of the replay, from its first
                    m = orjson.loads((await asyncio.wait_for(run.receive(), 20)).data)
                    if m.get("e") == "aggTrade":
                        assert got or m["a"] == 1, m
                        got += 1
                assert [r[0] for r in market.replays] == [None, 1] and market.replays[-1][1] == 400
                again = await s.ws_connect(f"{base}/market/ws")  # the session's stream reconnected
                await again.send_str(orjson.dumps(_TRADES["binance"][1]).decode())
                n = len(fv.market.ops)
                await _until(lambda: len(fv.market.ops) > n, "the second subscription received")
                k = market.steps
                await _until(lambda: market.steps >= k + 5, "five more steps of the market")  # (a restart shows)
                assert [r[0] for r in market.replays] == [None, 1], said
                for w in (again, run, user):
                    await w.close()

    asyncio.run(asyncio.wait_for(main(), 100))


@pytest.mark.timeout(120)
def test_the_book_shows_the_clients_own_resting_order():
    """Binance: a post-only buy resting at the best bid (one tick under the last print) adds its size to the bid
    the book shows (the venue's book holds the client's order), sent at once as a change with a new update id;
    cancelled, the bid shows the market's size again."""
    async def main():
        async with _local_market("binance") as (fv, market):
            async with aiohttp.ClientSession() as s:
                trades = await s.ws_connect(f"ws://127.0.0.1:{fv.port}/market/ws")
                await trades.send_str(orjson.dumps(_TRADES["binance"][1]).decode())
                await _until(lambda: market.replays and market.replays[-1][1] == 400, "the replay sent")
                ws = await s.ws_connect(f"ws://127.0.0.1:{fv.port}/public/ws")
                await ws.send_str(orjson.dumps(_BOOK["binance"][1]).decode())
                ((_, first, _),) = await _book_frames(ws, "binance", 1)
                shown = float(first["B"])
                res, _ = fv.venue.create({"category": "linear", "symbol": "ETHUSDT", "side": "Buy", "orderType": "Limit",
                                          "qty": "1.5", "price": "2499.99", "timeInForce": "PostOnly",
                                          "orderLinkId": "own-1"})
                ((_, mine, _),) = await _book_frames(ws, "binance", 1)
                assert (mine["b"], float(mine["B"])) == ("2499.99", pytest.approx(shown + 1.5)) and mine["u"] > first["u"]
                fv.venue.cancel({"orderId": res["orderId"]})
                ((_, after, _),) = await _book_frames(ws, "binance", 1)
                assert float(after["B"]) == pytest.approx(shown) and after["u"] > mine["u"], after
                await ws.close()
                await trades.close()

    asyncio.run(asyncio.wait_for(main(), 100))


@pytest.mark.timeout(120)
def test_right_after_a_run_a_probe_gets_prints_and_a_second_run_gets_the_whole_market():
    """Binance: a run (a listenKey's user stream and its trades) consumes its replay and ends; at once (well within
    SESSION_GAP_S of its user stream closing) a public client's trade subscription (``liqcore preflight``'s probe)
    gets a replay of its own, its prints arriving; a second run that opens its user stream right after (the first
    run's replay finished) is a new trading session: the replay starts over for it, from its first print."""
    from liqcore.testing.fake_session import SESSION_GAP_S

    async def prints(ws, n: int) -> list[int]:
        ids: list[int] = []
        while len(ids) < n:
            m = orjson.loads((await asyncio.wait_for(ws.receive(), 20)).data)
            if m.get("e") == "aggTrade":
                ids.append(m["a"])
        return ids

    async def main():
        said: list[str] = []
        async with _local_market("binance", say=said.append) as (fv, market):
            base = f"ws://127.0.0.1:{fv.port}"
            async with aiohttp.ClientSession() as s:
                user, run = await _binance_session(s, base, fv)
                assert (await prints(run, 400))[0] == 1
                await _until(lambda: market._task is not None and market._task.done(), "the run's replay finished")
                for w in (run, user):
                    await w.close()
                await _until(lambda: fv.user_streams() == 0 and not fv.market.subscribed("ethusdt@aggTrade"),
                             "the run's user stream and trade stream closed")
                closed = time.monotonic()
                k = market.steps
                await _until(lambda: market.steps >= k + 2, "two steps of the market")  # (the run seen gone)
                probe = await s.ws_connect(f"{base}/market/ws")
                await probe.send_str(orjson.dumps(_TRADES["binance"][1]).decode())
                assert len(await prints(probe, 10)) == 10
                assert time.monotonic() - closed < SESSION_GAP_S, "the probe's prints came after the session's gap"
                assert [r[0] for r in market.replays] == [1, None], said
                await probe.close()
                user2, run2 = await _binance_session(s, base, fv)
                got = await prints(run2, 400)  # (the probe's replay may still send a few before the restart)
                assert got[got.index(1):] == list(range(1, 401 - got.index(1)))  # the market again, from its first
                assert [r[0] for r in market.replays] == [1, None, 2], said
                for w in (run2, user2):
                    await w.close()

    asyncio.run(asyncio.wait_for(main(), 100))


@pytest.mark.timeout(120)
def test_after_a_session_the_next_clients_book_is_the_markets_beginning_not_the_last_sessions_clock():
    """Binance: a run consumes its replay and stops; a book subscribed before the next run's session begins (a
    run that subscribes its book before its private stream opens) shows the market's beginning: one tick either
    side of the first print (2499.00), at the first print's time, re-sent unchanged at that time.  (The clock had
    run on at the replay's pace after the session: such a book came hours of market ahead of the replay that
    followed, and the run's event clock held each of its liquidations at that one time.)"""
    async def main():
        async with _local_market("binance") as (fv, market):
            base = f"ws://127.0.0.1:{fv.port}"
            async with aiohttp.ClientSession() as s:
                user, run = await _binance_session(s, base, fv)
                got = 0
                while got < 400:
                    m = orjson.loads((await asyncio.wait_for(run.receive(), 20)).data)
                    got += m.get("e") == "aggTrade"
                await _until(lambda: market._task is not None and market._task.done(), "the run's replay finished")
                for w in (run, user):
                    await w.close()
                await _until(lambda: fv.user_streams() == 0 and not fv.market.subscribed("ethusdt@aggTrade"),
                             "the run's user stream and trade stream closed")
                k = market.steps
                await _until(lambda: market.steps >= k + 2, "two steps of the market")  # (the session seen ended)
                ws = await s.ws_connect(f"{base}/public/ws")
                await ws.send_str(orjson.dumps(_BOOK["binance"][1]).decode())
                (_, first, _), (_, again, _) = await _book_frames(ws, "binance", 2, 3 * book_resend_s("binance") + 10)
                assert (first["b"], first["a"]) == ("2498.99", "2499.01"), first  # the opening print, 2499.00
                assert _book_ms("binance", first) == _book_ms("binance", again) == _START_MS, (first, again)
                await ws.close()

    asyncio.run(asyncio.wait_for(main(), 100))
