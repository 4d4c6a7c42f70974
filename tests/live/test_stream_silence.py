"""A subscribed stream that goes silent while its venue's other streams flow is noticed, named, re-subscribed,
then its connection reconnected (liqcore.live.silence), on every venue, against the local fakes.

The silence clock is injected (``watch_clock``): the tests move it instead of waiting a minute.  Frames flow on
real loopback sockets; every wait is on a condition, with a bound.
"""
from __future__ import annotations

import asyncio

import orjson
import pytest

from liqcore.live.feeds import FeedManager
from liqcore.live.silence import NS, StreamWatch, frame_key, watch_handler
from liqcore.testing.fake_exchange import FakeExchange
from liqcore.testing.fake_replay import liquidation_frame as bybit_liq
from liqcore.testing.fake_replay import trade_frame as bybit_trade
from liqcore.testing.fake_streams import FakeMarketStream
from liqcore.venues.binance import samples as bn
from liqcore.venues.okx import samples as ok

T0 = 1_000 * NS


class Clock:
    def __init__(self, t: int = T0):
        self.t = t

    def __call__(self) -> int:
        return self.t


async def until(cond, what: str, bound_s: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + bound_s
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"{what}: not within {bound_s:g} s")
        await asyncio.sleep(0.01)


# ---------------------------------------------------------------------------- the receive path's key
FRAMES = [
    # (fixed times: the parameters' ids must be the same in every xdist worker's collection)
    ("bybit", orjson.dumps(bybit_trade("ETHUSDT", 3000, 1.0, ts_ms=1_700_000_000_000)), b"publicTrade.ETHUSDT"),
    ("bybit", orjson.dumps(bybit_liq("ETHUSDT", 3000, 1.0, ts_ms=1_700_000_000_000)), b"allLiquidation.ETHUSDT"),
    ("bybit", b'{"success":true,"ret_msg":"","conn_id":"x","req_id":"","op":"subscribe"}', None),
    ("binance", bn.agg_trade_frame("ETHUSDT", 1, 1.0, 3000.0), (b"aggTrade", b"ETHUSDT")),
    ("binance", bn.book_ticker_frame("ETHUSDT", 1, 1, 1, 2, 1, stream=True), b"ethusdt@bookTicker"),
    ("binance", bn.liquidation_frame("ETHUSDT", 1, 1.0, 3000.0), (b"forceOrder", b"ETHUSDT")),
    ("binance", b'{"result":null,"id":1}', None),
    ("okx", ok.trade_frame("ETH-USDT-SWAP", 1, 1.0, 3000.0), b'{"channel":"trades","instId":"ETH-USDT-SWAP"}'),
    ("okx", ok.liquidation_frame("ETH-USDT-SWAP", 1, 1.0, 3000.0),
     b'{"channel":"liquidation-orders","instType":"SWAP"}'),
    ("okx", b'{"event":"subscribe","arg":{"channel":"trades","instId":"ETH-USDT-SWAP"},"connId":"a"}', None),
]


@pytest.mark.parametrize("venue,frame,key", FRAMES)
def test_frame_key_and_the_inlined_receive_path_agree(venue, frame, key):
    """Each venue's stream key read from the frame's head (Bybit ``topic``, Binance combined ``stream`` or raw
    event type + symbol, OKX ``arg``); control frames have none.  The handler inlines the same code."""
    assert frame_key(venue, frame) == key
    last, got = {}, []
    watch_handler(venue, last, lambda v, p, t: got.append((v, p, t)), venue)(frame, 7)
    assert got == [(venue, frame, 7)]  # the frame goes on, untouched
    assert last == ({} if key is None else {key: 7})


# ---------------------------------------------------------------------------- the rule, on an injected clock
def _watch(topics, venue="binance", silent_after=60.0):
    clock = Clock()
    reps = []
    actions = []
    w = StreamWatch(venue, silent_after, clock=clock, on_silent=reps.append, on_heard=reps.append,
                    resubscribe=lambda i, t: actions.append(("resubscribe", t)),
                    reconnect=lambda i: actions.append(("reconnect", i)))
    w.track(0, topics)
    w.subscribed(0)
    return w, clock, reps, actions


def _run(w, clock, seconds, every_s=1.0, heard=(), key_of=None):
    """Move the clock ``seconds`` in steps of ``every_s``, the ``heard`` topics heard at every step."""
    for _ in range(int(seconds / every_s)):
        clock.t += int(every_s * NS)
        for t in heard:
            w.last[key_of(t) if key_of else t.encode()] = clock.t
        w.check()


def test_never_heard_stream_reported_at_the_bound_while_siblings_flow():
    w, clock, reps, actions = _watch(["ethusdt@aggTrade", "ethusdt@bookTicker", "ethusdt@forceOrder"])
    _run(w, clock, 59, heard=["ethusdt@aggTrade"])
    assert reps == []
    _run(w, clock, 2, heard=["ethusdt@aggTrade"])
    assert [(r.stream, r.action, r.heard) for r in reps] == [("ethusdt@bookTicker", "resubscribe", False)]
    assert "binance ethusdt@bookTicker" in reps[0].text()
    assert actions == [("resubscribe", "ethusdt@bookTicker")]
    # (the liquidation stream, never heard either, is not called silent: liquidations may rightly not come)
    assert [s["stream"] for s in w.silent_streams()] == ["ethusdt@bookTicker"]
    # still silent: after another bound the connection is reconnected, then re-subscribed again (doubling waits)
    _run(w, clock, 61, heard=["ethusdt@aggTrade"])
    assert actions[-1] == ("reconnect", 0)
    _run(w, clock, 121, heard=["ethusdt@aggTrade"])
    assert actions[-1] == ("resubscribe", "ethusdt@bookTicker")
    assert len(reps) == 1  # reported once
    _run(w, clock, 1, heard=["ethusdt@aggTrade", "ethusdt@bookTicker"])
    assert reps[-1].action == "heard" and reps[-1].stream == "ethusdt@bookTicker"
    assert w.silent_streams() == []


def test_a_quiet_venue_is_not_a_silent_stream():
    w, clock, reps, _ = _watch(["ethusdt@aggTrade", "ethusdt@bookTicker"])
    _run(w, clock, 300)  # nothing at all: the connection's own stall check owns this
    assert reps == []


def test_bound_follows_the_observed_rate():
    """A stream heard every second is silent after 10 s; one heard once a minute is not, even after 59 s."""
    w, clock, reps, _ = _watch(["ethusdt@aggTrade", "ethusdt@bookTicker", "ethusdt@markPrice@1s"])
    for minute in range(5):  # bookTicker every second, markPrice once a minute, aggTrade every second
        for sec in range(60):
            clock.t += NS
            w.last[b"ethusdt@aggTrade"] = w.last[b"ethusdt@bookTicker"] = clock.t
            if sec == 0:
                w.last[b"ethusdt@markPrice@1s"] = clock.t
            w.check()
    assert reps == []
    _run(w, clock, 9, heard=["ethusdt@aggTrade"])  # bookTicker and markPrice quiet from here
    assert reps == []
    _run(w, clock, 2, heard=["ethusdt@aggTrade"])
    assert [r.stream for r in reps] == ["ethusdt@bookTicker"] and reps[0].heard
    assert 10.0 <= reps[0].bound_s < 11.0  # (10 x its mean interval, the quiet counted in)
    _run(w, clock, 48, heard=["ethusdt@aggTrade"])
    assert [r.stream for r in reps] == ["ethusdt@bookTicker"]  # markPrice's 60 s of quiet is its normal rate


def test_liquidation_streams_judged_only_by_a_long_observed_rate():
    """A burst of liquidations then quiet is normal; a per-symbol liquidation stream heard every second for more
    than ten minutes that stops is silent after 10 s."""
    w, clock, reps, _ = _watch(["ethusdt@aggTrade", "ethusdt@forceOrder"])
    _run(w, clock, 30, heard=["ethusdt@aggTrade", "ethusdt@forceOrder"])  # a 30 s burst
    _run(w, clock, 300, heard=["ethusdt@aggTrade"])
    assert reps == []
    w2, clock2, reps2, _ = _watch(["ethusdt@aggTrade", "ethusdt@forceOrder"])
    _run(w2, clock2, 660, heard=["ethusdt@aggTrade", "ethusdt@forceOrder"])
    _run(w2, clock2, 11, heard=["ethusdt@aggTrade"])
    assert [r.stream for r in reps2] == ["ethusdt@forceOrder"]


def test_raw_binance_frames_attribute_to_their_stream_and_the_all_market_one():
    w, clock, reps, _ = _watch(["!forceOrder@arr", "ethusdt@aggTrade", "ethusdt@bookTicker"])
    keys = {"ethusdt@aggTrade": (b"aggTrade", b"ETHUSDT"), "!forceOrder@arr": (b"forceOrder", b"SOLUSDT")}
    _run(w, clock, 61, heard=["ethusdt@aggTrade", "!forceOrder@arr"], key_of=keys.get)
    assert [r.stream for r in reps] == ["ethusdt@bookTicker"]


# ---------------------------------------------------------------------------- against the local fakes
async def _feed_case(venue, fake, silenced, push_sibling, needs):
    clock = Clock()
    reps = []
    fm = FeedManager(venue, ["ETHUSDT"], lambda v, p, t: None, needs=needs, url=fake.public_ws_url
                     if venue == "bybit" else fake.ws_url, silent_after_s=60.0, watch_clock=clock)
    fm.watch.on_silent.append(reps.append)
    fm.watch.on_heard.append(reps.append)
    await fm.start()
    try:
        await fm.wait_connected(10)
        # (acknowledged: a silenced stream is never "subscribed" in the sense of being sent)
        subscribed = (lambda: (getattr(fake, "acknowledged", None) or fake.subscribed)(silenced))
        await until(subscribed, f"{silenced} subscribed")
        # the sibling flows; the silenced stream is acknowledged and never sent
        sibling_key = None
        while sibling_key is None:
            await push_sibling()
            await asyncio.sleep(0.02)
            sibling_key = next(iter(fm.watch.last), None)
        clock.t += 61 * NS
        await push_sibling()
        await until(lambda: fm.watch.last[sibling_key] != fm.watch._prev.get(sibling_key), "the sibling heard again")
        fm.watch.check()
        await until(lambda: any(r.action == "resubscribe" for r in reps), "the silent stream reported")
        rep = next(r for r in reps if r.action == "resubscribe")
        assert rep.topic == silenced and not rep.heard
        return fm, clock, reps, rep
    except BaseException:
        await fm.stop()
        raise


def test_bybit_silent_topic_reported_and_resubscribed():
    """The fake's silenced topic follows Bybit v5 "Connect" (https://bybit-exchange.github.io/docs/v5/ws/connect):
    a subscribe is answered ``{"success":true,"ret_msg":"","conn_id":"...","req_id":"","op":"subscribe"}`` as for any
    topic; unsubscribing uses ``"op":"unsubscribe"`` with the same args.  Its frames are then never sent."""
    async def main():
        async with FakeExchange() as fx:
            fx.silence("orderbook.1.ETHUSDT")

            async def push():
                await fx.push(bybit_trade("ETHUSDT", 3000, 1.0))

            fm, clock, reps, rep = await _feed_case("bybit", fx, "orderbook.1.ETHUSDT", push,
                                                    {"liquidation", "trade", "quote"})
            try:
                assert rep.stream == "orderbook.1.ETHUSDT" and rep.venue == "bybit"
                assert "bybit orderbook.1.ETHUSDT" in rep.text()
                # re-subscribed on its connection: the venue saw an unsubscribe then a subscribe of that topic
                await until(lambda: [op for _, op, a, ok in fx.public_ops if a == ["orderbook.1.ETHUSDT"]]
                            == ["unsubscribe", "subscribe"], "the re-subscription")
                # still silent: the connection is reconnected
                n = fx.stats["public_connections"]
                clock.t += 61 * NS
                await push()
                await until(lambda: fm.watch.check() is not None and fx.stats["public_connections"] > n,
                            "the reconnect")
                # the venue sends it again: heard, no longer silent
                fx.silence("orderbook.1.ETHUSDT", False)
                await until(lambda: fx.subscribed("orderbook.1.ETHUSDT"), "subscribed again")
                from liqcore.venues.bybit.samples import orderbook_frame

                while not any(r.action == "heard" for r in reps):
                    await fx.push(orderbook_frame("ETHUSDT", 1_700_000_000_000, 2999.5, 1.0, 3000.5, 1.0))
                    await asyncio.sleep(0.02)
                    clock.t += NS
                    fm.watch.check()
                assert fm.health()["silent"] == []
            finally:
                await fm.stop()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_binance_silent_book_ticker_reported_while_agg_trade_flows():
    async def main():
        async with FakeMarketStream("binance") as fs:
            fs.silence("ethusdt@bookTicker")
            k = [0]

            async def push():
                k[0] += 1
                fs.write(bn.agg_trade_frame("ETHUSDT", 1_700_000_000_000 + k[0], 0.5, 3000.0, agg_id=k[0]),
                         "ethusdt@aggTrade")

            fm, clock, reps, rep = await _feed_case("binance", fs, "ethusdt@bookTicker", push,
                                                    {"liquidation", "trade", "quote"})
            try:
                assert "binance ethusdt@bookTicker" in rep.text()
                assert [r.stream for r in reps] == ["ethusdt@bookTicker"]  # aggTrade flows; forceOrder may be quiet
                await until(lambda: ("unsubscribe", ["ethusdt@bookTicker"]) in fs.ops
                            and fs.ops[-1] == ("subscribe", ["ethusdt@bookTicker"]), "the re-subscription")
                assert fm.health()["silent"][0]["stream"] == "ethusdt@bookTicker"
            finally:
                await fm.stop()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_okx_silent_channel_reported_while_trades_flow():
    async def main():
        async with FakeMarketStream("okx") as fs:
            bbo = '{"channel":"bbo-tbt","instId":"ETH-USDT-SWAP"}'
            fs.silence(bbo)

            async def push():
                fs.write(ok.trade_frame("ETH-USDT-SWAP", 1_700_000_000_000, 1.0, 3000.0),
                         '{"channel":"trades","instId":"ETH-USDT-SWAP"}')

            fm, clock, reps, rep = await _feed_case("okx", fs, bbo, push, {"liquidation", "trade", "quote"})
            try:
                assert rep.stream == "bbo-tbt:ETH-USDT-SWAP" and "okx bbo-tbt:ETH-USDT-SWAP" in rep.text()
                assert [r.stream for r in reps] == ["bbo-tbt:ETH-USDT-SWAP"]
                await until(lambda: ("unsubscribe", [bbo]) in fs.ops and fs.ops[-1] == ("subscribe", [bbo]),
                            "the re-subscription")
            finally:
                await fm.stop()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_silenced_fake_stream_is_acknowledged_and_never_sent():
    """The fault follows the venue's subscription protocol: Binance USD-M "Live Subscribing/Unsubscribing to
    streams" (https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/
    Live-Subscribing-Unsubscribing-to-streams): request ``{"method": "SUBSCRIBE", "params": [...], "id": 1}``, response
    ``{"result": null, "id": 1}``.  A silenced stream gets that answer, as any other, and then no frame: the
    next frame on the connection is the sibling's, written after the silenced one."""
    import aiohttp

    async def main():
        async with FakeMarketStream("binance") as fs, aiohttp.ClientSession() as s:
            fs.silence("ethusdt@bookTicker")
            async with s.ws_connect(fs.ws_url + "/public/ws") as ws:  # (book data: the /public path)
                await ws.send_str('{"method":"SUBSCRIBE","params":["ethusdt@bookTicker","btcusdt@bookTicker"],"id":1}')
                assert orjson.loads((await ws.receive(timeout=10)).data) == {"result": None, "id": 1}
                assert fs.acknowledged("ethusdt@bookTicker") and not fs.subscribed("ethusdt@bookTicker")
                fs.write(bn.book_ticker_frame("ETHUSDT", 1, 1.0, 1.0, 2.0, 1.0), "ethusdt@bookTicker")
                fs.write(bn.book_ticker_frame("BTCUSDT", 2, 1.0, 1.0, 2.0, 1.0), "btcusdt@bookTicker")
                got = (await ws.receive(timeout=10)).data
                assert b'"s":"BTCUSDT"' in got.encode()

    asyncio.run(main())
