"""A client of a fake venue that stops reading (its socket buffers full) is dropped after ``SLOW_CLIENT_S``, as a venue
disconnects a slow consumer; it never holds up the pushes to the other clients (``liqcore venue`` serves a run, a
preflight and a recorder at once).  The pushes of the OKX, Gate and Bybit fakes went to each client in turn and
waited on a full socket for ever: one stuck client stalled the replay for all."""
from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest

from liqcore.venues import loopback

BIG = "x" * 60_000  # (a push of ~60 KB: a few dozen fill a socket's buffers)
N = 300


async def _reader(url: str, subscribe: dict, want: int, seen: list) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(url, max_msg_size=1 << 24) as ws:
        await ws.send_str(orjson.dumps(subscribe).decode())
        while len(seen) < want:
            m = await ws.receive()
            if m.type != aiohttp.WSMsgType.TEXT:
                return
            if BIG in m.data:
                seen.append(1)


async def _stuck(url: str, subscribe: dict, opened: asyncio.Event) -> None:
    """Subscribes, then never reads (aiohttp stops reading the socket once its queue is full), until cancelled."""
    async with aiohttp.ClientSession() as s, s.ws_connect(url, max_msg_size=1 << 24) as ws:
        await ws.send_str(orjson.dumps(subscribe).decode())
        opened.set()
        await asyncio.sleep(3600)


def _connections(fx) -> int:
    return len(fx._runner.server.connections)


def _okx():
    from liqcore.venues.okx.fake import FakeOkx

    sub = {"op": "subscribe", "args": [{"channel": "trades", "instId": "ETH-USDT-SWAP"}]}

    async def push(fx, k):
        await fx.publish("trades", {"channel": "trades", "instId": "ETH-USDT-SWAP"},
                         [{"instId": "ETH-USDT-SWAP", "tradeId": str(k), "px": "3000", "sz": "1", "side": "buy",
                           "ts": "1767225600000", "pad": BIG}])
    return FakeOkx(), lambda fx: fx.public_ws_url, sub, push


def _gate():
    from liqcore.venues.gate.fake import FakeGate

    sub = {"time": 1767225600, "channel": "futures.trades", "event": "subscribe", "payload": ["ETH_USDT"]}

    async def push(fx, k):
        await fx.publish(orjson.dumps({"time": 1767225600, "time_ms": 1767225600000, "channel": "futures.trades",
                                       "event": "update", "result": [{"id": k, "create_time_ms": 1767225600000,
                                                                      "contract": "ETH_USDT", "size": 1,
                                                                      "price": "3000", "pad": BIG}]}))
    return FakeGate(), lambda fx: fx.ws_url, sub, push


def _bybit():
    from liqcore.venues.bybit.fake import FakeExchange

    sub = {"op": "subscribe", "args": ["publicTrade.ETHUSDT"]}

    async def push(fx, k):
        await fx.push({"topic": "publicTrade.ETHUSDT", "type": "snapshot", "ts": 1767225600000,
                       "data": [{"T": 1767225600000, "s": "ETHUSDT", "S": "Buy", "v": "1", "p": "3000",
                                 "i": str(k), "BT": False, "pad": BIG}]})
    return FakeExchange(), lambda fx: fx.public_ws_url, sub, push


@pytest.mark.parametrize("make", [_okx, _gate, _bybit], ids=["okx", "gate", "bybit"])
def test_a_client_that_stopped_reading_is_dropped_and_never_stalls_the_others(make, monkeypatch):
    monkeypatch.setattr(loopback, "SLOW_CLIENT_S", 2.0)  # (a busy machine's reader drains a push well within it)

    async def main():
        fx, url_of, sub, push = make()
        async with fx:
            url = url_of(fx)
            opened, seen = asyncio.Event(), []
            stuck = asyncio.ensure_future(_stuck(url, sub, opened))
            await asyncio.wait_for(opened.wait(), 30)
            reader = asyncio.ensure_future(_reader(url, sub, N, seen))
            for _ in range(600):  # (both subscribed: the fake has taken both subscriptions)
                await asyncio.sleep(0.05)
                if _subscribers(fx) >= 2:
                    break
            assert _connections(fx) == 2
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            for k in range(N):
                await push(fx, k)
            took = loop.time() - t0
            await asyncio.wait_for(reader, 60)
            assert len(seen) == N  # (every push reached the client that reads)
            for _ in range(600):  # (the reader gone, and the stuck one dropped: its connection aborted by the fake)
                if _connections(fx) == 0:
                    break
                await asyncio.sleep(0.05)
            assert _connections(fx) == 0, "the client that stopped reading is still connected"
            # one wait of SLOW_CLIENT_S for the stuck client, never one a push (N x 2 s = 600 s)
            assert took < N * 2.0 / 10, took
            stuck.cancel()

    asyncio.run(main())


def _subscribers(fx) -> int:
    conns = getattr(fx, "_subs", None) or getattr(fx, "_conns", None) or []
    n = 0
    for c in list(conns):
        topics = c.get("topics") or c.get("channel") if isinstance(c, dict) else getattr(c, "topics", None)
        n += bool(topics)
    return n
