"""A subscribed stream that goes silent while its connection's other streams flow is noticed, named and
re-subscribed (never reconnected: its connection is alive); a connection all of whose streams stop is reported and
reconnected; a calm liquidation stream is never silent (liqcore.live.silence), on every venue, against the local
fakes.

The silence clock is injected (``watch_clock``): the tests move it instead of waiting a minute.  Frames flow on
real loopback sockets; every wait is on a condition, with a bound.
"""
from __future__ import annotations

import asyncio

import orjson
import pytest

from liqcore.live.feeds import FeedManager
from liqcore.live.silence import NS, StreamWatch, frame_key, watch_handler
from liqcore.venues.bybit.fake import FakeExchange
from liqcore.testing.fake_replay import liquidation_frame as bybit_liq
from liqcore.testing.fake_replay import trade_frame as bybit_trade
from liqcore.venues.fake_streams import FakeMarketStream
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

    def reconnect(i):  # (as the feed manager's: the connection comes back and subscribes its streams)
        actions.append(("reconnect", i))
        w.subscribed(i)

    w = StreamWatch(venue, silent_after, clock=clock, on_silent=reps.append, on_heard=reps.append,
                    resubscribe=lambda i, t: actions.append(("resubscribe", t)), reconnect=reconnect)
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
    # still silent: re-subscribed again after doubling waits (60 s, 120 s), never reconnected: its connection flows
    _run(w, clock, 61, heard=["ethusdt@aggTrade"])
    assert actions == [("resubscribe", "ethusdt@bookTicker")] * 2
    _run(w, clock, 121, heard=["ethusdt@aggTrade"])
    assert actions == [("resubscribe", "ethusdt@bookTicker")] * 3
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


# a liquidation stream and a trade stream on one connection, as each venue's connection_specs subscribes them, and
# the frame keys the receive path stores for them (Binance /market/ws pushes raw frames: event type and symbol)
ONE_CONNECTION = {
    "bybit": (["allLiquidation.ETHUSDT", "publicTrade.ETHUSDT"],
              {"allLiquidation.ETHUSDT": b"allLiquidation.ETHUSDT", "publicTrade.ETHUSDT": b"publicTrade.ETHUSDT"}),
    "binance": (["ethusdt@forceOrder", "ethusdt@aggTrade"],
                {"ethusdt@forceOrder": (b"forceOrder", b"ETHUSDT"), "ethusdt@aggTrade": (b"aggTrade", b"ETHUSDT")}),
    # (OKX: the ``arg`` object as the venue sends it)
    "okx": (['{"channel":"liquidation-orders","instType":"SWAP"}', '{"channel":"trades","instId":"ETH-USDT-SWAP"}'],
            {t: t.encode() for t in ['{"channel":"liquidation-orders","instType":"SWAP"}',
                                     '{"channel":"trades","instId":"ETH-USDT-SWAP"}']}),
}


def _liq_trades(venue, seconds, liq_at):
    """Trades every second for ``seconds``; a liquidation at each second in ``liq_at`` (the venue's docs: Binance
    forceOrder at most one snapshot a second a symbol and nothing when none happens, Bybit allLiquidation in 500 ms
    batches when there are some, OKX liquidation-orders at most one order a contract a second)."""
    topics, keys = ONE_CONNECTION[venue]
    liq, trade = topics
    w, clock, reps, actions = _watch(topics, venue=venue)
    liq_at = set(liq_at)
    for sec in range(1, seconds + 1):
        clock.t += NS
        w.last[keys[trade]] = clock.t
        if sec in liq_at:
            w.last[keys[liq]] = clock.t
        w.check()
    return w, clock, reps, actions


@pytest.mark.parametrize("venue", sorted(ONE_CONNECTION))
def test_a_burst_of_liquidations_then_a_calm_hour_is_not_silence(venue):
    """Issue 70 item 15: with trades flowing, 120 liquidations (one a second) then a calm hour gave 1 report and 3
    reconnects of the connection that carries the trades.  A calm market is not a dead stream: nothing."""
    w, clock, reps, actions = _liq_trades(venue, 120 + 3600, range(1, 121))
    assert (reps, actions, w.reports, w.silent_streams()) == ([], [], 0, [])


@pytest.mark.parametrize("venue", sorted(ONE_CONNECTION))
def test_a_long_burst_then_one_liquidation_every_3_minutes_is_not_silence(venue):
    """Issue 70 item 15: a 10-minute burst (one liquidation a second) then one every 3 minutes gave 14 reports and
    7 reconnects in 70 minutes.  However regular the liquidations were, their pause is no evidence: nothing."""
    w, clock, reps, actions = _liq_trades(venue, 70 * 60, list(range(1, 601)) + list(range(780, 70 * 60 + 1, 180)))
    assert (reps, actions, w.reports) == ([], [], 0)


def test_a_liquidation_stream_alone_on_its_connection_is_never_judged_by_the_watch():
    """No venue documents a heartbeat on its liquidation stream, so with no sibling on its connection nothing the
    watch sees can tell a dead subscription from a calm market: the transport's ping / pong owns that connection
    (see test_a_liquidation_only_connection_is_replaced_when_its_pongs_stop)."""
    w, clock, reps, actions = _watch(["!forceOrder@arr"], venue="binance")
    w.track(1, ["ethusdt@aggTrade"])
    w.subscribed(1)
    keys = {"!forceOrder@arr": (b"forceOrder", b"SOLUSDT"), "ethusdt@aggTrade": (b"aggTrade", b"ETHUSDT")}
    _run(w, clock, 900, heard=["!forceOrder@arr", "ethusdt@aggTrade"], key_of=keys.get)  # liquidations every second
    _run(w, clock, 3600, heard=["ethusdt@aggTrade"], key_of=keys.get)  # then none for an hour
    assert (reps, actions) == ([], [])


@pytest.mark.parametrize("venue", sorted(ONE_CONNECTION))
def test_a_connection_all_of_whose_streams_stop_is_reported_and_reconnected(venue):
    """Evidence against a liquidation stream: the trades of its connection stop too.  After ``silent_after`` of
    nothing on a connection whose trades came every second, every stream of it is reported (the liquidation stream
    included) and the connection reconnected once; while it stays dead, again after 60 s, 120 s ...; once its trades
    flow again both streams stop being silent, with no further action."""
    topics, keys = ONE_CONNECTION[venue]
    liq, trade = topics
    w, clock, reps, actions = _liq_trades(venue, 300, range(100, 130))
    _run(w, clock, 59)  # nothing at all (the socket answers its pings: the transport sees a live connection)
    assert (reps, actions) == ([], [])
    _run(w, clock, 2)
    assert sorted((r.topic, r.action) for r in reps) == sorted([(liq, "reconnect"), (trade, "reconnect")])
    assert all("reconnecting its connection" in r.text() for r in reps)
    assert actions == [("reconnect", 0)] and w.reports == 2
    _run(w, clock, 60)
    assert actions == [("reconnect", 0)] * 2  # still nothing: again after 60 s
    _run(w, clock, 120)
    assert actions == [("reconnect", 0)] * 3  # then after 120 s
    n = len(reps)
    _run(w, clock, 1, heard=[trade], key_of=keys.get)
    assert sorted((r.topic, r.action) for r in reps[n:]) == sorted([(liq, "alive"), (trade, "heard")])
    assert w.silent_streams() == []
    _run(w, clock, 3600, heard=[trade], key_of=keys.get)  # a calm hour after it: nothing
    assert len(actions) == 3 and len(reps) == n + 2


@pytest.mark.parametrize("venue", sorted(ONE_CONNECTION))
def test_a_few_trades_are_no_rate_a_quiet_connection_is_not_dead(venue):
    """An illiquid symbol: three trades in the first three seconds, then none for ten minutes, its liquidation
    stream calm.  Its rate counts the quiet too (3 frames in 63 s: one per 21 s, far from FACTOR per
    ``silent_after``): nothing says its connection should have sent more."""
    topics, keys = ONE_CONNECTION[venue]
    w, clock, reps, actions = _watch(topics, venue=venue)
    _run(w, clock, 3, heard=[topics[1]], key_of=keys.get)
    _run(w, clock, 600)
    assert (reps, actions) == ([], [])


def test_a_dead_connection_is_reconnected_and_the_live_one_beside_it_is_not():
    """Two connections of one venue (Binance's /market trades and liquidations, /public top of book): the /market
    one stops entirely; only it is reconnected, and the /public one's streams are not reported."""
    w, clock, reps, actions = _watch(["ethusdt@forceOrder", "ethusdt@aggTrade"])
    w.track(1, ["ethusdt@bookTicker"])
    w.subscribed(1)
    keys = {"ethusdt@aggTrade": (b"aggTrade", b"ETHUSDT"), "ethusdt@forceOrder": (b"forceOrder", b"ETHUSDT"),
            "ethusdt@bookTicker": b"ethusdt@bookTicker"}
    _run(w, clock, 300, heard=["ethusdt@aggTrade", "ethusdt@bookTicker"], key_of=keys.get)
    _run(w, clock, 61, heard=["ethusdt@bookTicker"], key_of=keys.get)
    assert actions == [("reconnect", 0)]
    assert sorted(r.stream for r in reps) == ["ethusdt@aggTrade", "ethusdt@forceOrder"]


def test_a_stream_that_alone_stops_while_its_connection_flows_is_resubscribed_never_reconnected():
    """Bybit's top of book (``orderbook.1``: "Level 1 data, if 3 seconds have elapsed without a change in the
    orderbook, a snapshot message will be pushed again", https://bybit-exchange.github.io/docs/v5/websocket/public/
    orderbook: it never rightly stops) on the connection that carries the trades and liquidations: heard every
    second then stopped while the trades flow.  Its subscription is what died: re-subscribed at its bound (10 x its mean interval), then after 60 s, 120 s,
    240 s ... (at most MAX_RETRY_S); in an hour the trades' connection is never reconnected."""
    topics = ["allLiquidation.ETHUSDT", "publicTrade.ETHUSDT", "orderbook.1.ETHUSDT"]
    w, clock, reps, actions = _watch(topics, venue="bybit")
    _run(w, clock, 600, heard=["publicTrade.ETHUSDT", "orderbook.1.ETHUSDT"])
    _run(w, clock, 3600, heard=["publicTrade.ETHUSDT"])
    assert [(r.stream, r.action, r.heard) for r in reps] == [("orderbook.1.ETHUSDT", "resubscribe", True)]
    assert 10.0 <= reps[0].bound_s < 11.0
    assert set(actions) == {("resubscribe", "orderbook.1.ETHUSDT")} and len(actions) == 7  # 10 s, +60, +120 ... +900
    assert w.silent_streams()[0]["stream"] == "orderbook.1.ETHUSDT"


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
    topic; unsubscribing uses ``"op":"unsubscribe"`` with the same args.  Its frames are then never sent.  The
    trades flow on the same connection: the silent topic is re-subscribed, the connection never reconnected."""
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
                # still silent while the trades flow: re-subscribed again, its connection (the trades') never
                # reconnected
                n = fx.stats["public_connections"]
                clock.t += 61 * NS
                await push()
                book_ops = (lambda: [op for _, op, a, ok in fx.public_ops if a == ["orderbook.1.ETHUSDT"]])
                await until(lambda: fm.watch.check() is not None and book_ops() == ["unsubscribe", "subscribe"] * 2,
                            "the second re-subscription")
                assert fx.stats["public_connections"] == n and fm.health()["reconnects"] == 0
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


def test_bybit_a_connection_whose_streams_all_stop_is_reported_and_reconnected():
    """The fake stops sending both topics of the trades' connection (acknowledged, never sent; its pongs still
    answered, so the transport's stall check sees a live socket): after ``silent_after`` on the watch's clock both
    streams are reported, the liquidation stream included, and the connection reconnected; once the trades come
    back neither stream is silent."""
    async def main():
        async with FakeExchange() as fx:
            clock = Clock()
            reps = []
            fm = FeedManager("bybit", ["ETHUSDT"], lambda v, p, t: None, url=fx.public_ws_url, silent_after_s=60.0,
                             watch_clock=clock)
            fm.watch.on_silent.append(reps.append)
            fm.watch.on_heard.append(reps.append)
            await fm.start()
            try:
                await fm.wait_connected(10)
                await until(lambda: fx.subscribed("publicTrade.ETHUSDT"), "the trades subscribed")
                key = b"publicTrade.ETHUSDT"
                for _ in range(20):  # a trade every second of the watch's clock: a stream that normally flows
                    before = fm.watch.last.get(key)
                    await fx.push(bybit_trade("ETHUSDT", 3000, 1.0))
                    await until(lambda: fm.watch.last.get(key) != before, "the trade heard")
                    clock.t += NS
                    fm.watch.check()
                assert reps == []
                fx.silence("publicTrade.ETHUSDT")
                fx.silence("allLiquidation.ETHUSDT")
                n = fx.stats["public_connections"]
                await fx.push(bybit_trade("ETHUSDT", 3000, 1.0))  # (not sent)
                clock.t += 61 * NS
                fm.watch.check()
                assert sorted((r.stream, r.action) for r in reps) == [("allLiquidation.ETHUSDT", "reconnect"),
                                                                      ("publicTrade.ETHUSDT", "reconnect")]
                await until(lambda: fx.stats["public_connections"] > n and fm.connected, "the reconnect")
                fx.silence("publicTrade.ETHUSDT", False)
                fx.silence("allLiquidation.ETHUSDT", False)
                await until(lambda: fx.subscribed("publicTrade.ETHUSDT"), "subscribed again")
                while fm.health()["silent"]:
                    await fx.push(bybit_trade("ETHUSDT", 3000, 1.0))
                    await asyncio.sleep(0.02)
                    clock.t += NS
                    fm.watch.check()
                assert sorted((r.stream, r.action) for r in reps[2:]) == [("allLiquidation.ETHUSDT", "alive"),
                                                                          ("publicTrade.ETHUSDT", "heard")]
            finally:
                await fm.stop()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_liquidation_only_connection_is_replaced_when_its_pongs_stop():
    """A connection that carries only ``allLiquidation`` (as ``FeedManager.add_topics`` opens for new listings): its
    quiet is never judged by the watch, however long (an hour on the watch's clock, no liquidation); its evidence
    is the heartbeat, Bybit v5 "Connect" (https://bybit-exchange.github.io/docs/v5/ws/connect): ``{"op":"ping"}``
    answered ``"ret_msg":"pong"``.  When the fake stops answering, the transport replaces the socket."""
    from liqcore.venues.bybit.stream import topic_specs

    async def main():
        async with FakeExchange() as fx:
            clock = Clock()
            reps = []
            fm = FeedManager("bybit", ["ETHUSDT"], lambda v, p, t: None, silent_after_s=60.0, watch_clock=clock,
                             specs=topic_specs(["allLiquidation.ETHUSDT"], fx.public_ws_url),
                             ping_interval_s=0.2, stall_timeout_s=3.0)
            fm.watch.on_silent.append(reps.append)
            await fm.start()
            try:
                await fm.wait_connected(10)
                await until(lambda: fx.subscribed("allLiquidation.ETHUSDT"), "subscribed")
                await fx.push(bybit_liq("ETHUSDT", 3000, 1.0))
                await until(lambda: fm.watch.last, "a liquidation heard")
                await until(lambda: fm.connections[0].stats.pongs >= 3, "pongs")  # (answered: a live socket)
                for _ in range(3600):
                    clock.t += NS
                    fm.watch.check()
                assert reps == [] and fm.health()["reconnects"] == 0 and fm.health()["watchdog_kills"] == 0
                fx.stall("public")  # no pong, no data: the socket is dead
                await until(lambda: fm.health()["watchdog_kills"] >= 1, "the stall noticed")
                await until(lambda: fm.health()["reconnects"] >= 1 and fm.connected, "the reconnect")
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
