"""Transport and feed manager against a real loopback websocket server (websockets.serve)."""
from __future__ import annotations

import asyncio
import time

import orjson
import pytest
from websockets.asyncio.server import serve

from liqcore.live.feeds import FeedManager, gap_events
from liqcore.live.transport import ConnectionSpec, Coverage, WsConnection
from liqcore.types import Kind, SymbolRegistry, Venue
from liqcore.venues.binance import stream as binance_stream
from liqcore.venues.bybit import stream as bybit_stream
from liqcore.venues.okx import stream as okx_stream

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]


class Server:
    """A Bybit-like loopback server: records subscribes, answers op:ping unless ``mute``."""

    def __init__(self, answer_pings=True):
        self.answer_pings = answer_pings
        self.received: list[bytes] = []
        self.conns = []
        self.connected = asyncio.Event()
        self.pings = 0

    async def handler(self, ws):
        self.conns.append(ws)
        self.connected.set()
        try:
            async for msg in ws:
                data = msg.encode() if isinstance(msg, str) else msg
                self.received.append(data)
                if b'"op":"ping"' in data:
                    self.pings += 1
                    if self.answer_pings:
                        await ws.send('{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}')
        except Exception:
            pass

    async def __aenter__(self):
        self._srv = await serve(self.handler, "127.0.0.1", 0)
        port = self._srv.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/v5/public/linear"
        return self

    async def __aexit__(self, *exc):
        self._srv.close()
        await self._srv.wait_closed()


def spec_for(url, **kw):
    return bybit_stream.connection_specs(["ETHUSDT", "SOLUSDT"], url=url, **kw)[0]


async def wait_for(cond, timeout=5.0):
    t = 0.0
    while not cond():
        await asyncio.sleep(0.01)
        t += 0.01
        if t > timeout:
            raise AssertionError("condition not reached")


def test_frames_subscribe_and_pong_filtering():
    async def main():
        async with Server() as srv:
            got = []
            conn = WsConnection(spec_for(srv.url), lambda p, t: got.append((p, t)))
            conn.start()
            await conn.wait_connected(5)
            await wait_for(lambda: srv.received)
            sub = orjson.loads(srv.received[0])
            assert sub["op"] == "subscribe" and "allLiquidation.ETHUSDT" in sub["args"]
            ws = srv.conns[0]
            await ws.send(b'{"topic":"allLiquidation.ETHUSDT","data":[]}')
            await ws.send('{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}')
            await ws.send("not json at all")
            await wait_for(lambda: len(got) == 2)
            assert got[0][0] == b'{"topic":"allLiquidation.ETHUSDT","data":[]}'
            assert got[1][0] == b"not json at all"
            assert got[0][1] > 1_600_000_000 * 10**9
            assert conn.stats.pongs == 1 and conn.stats.frames == 2
            await conn.stop()
            assert conn.stats.disconnects == 1

    asyncio.run(main())


def test_quiet_feed_is_pinged_not_dropped():
    async def main():
        async with Server(answer_pings=True) as srv:
            # (a stall bound of ten heartbeats: a busy machine that holds the loop back for a moment is no stall)
            conn = WsConnection(spec_for(srv.url), lambda p, t: None, ping_interval_s=0.1, stall_timeout_s=1.0)
            conn.start()
            await conn.wait_connected(5)
            # quiet for longer than the stall bound: 15 heartbeats (1.5 s at least), each answered
            await wait_for(lambda: conn.stats.pings_sent >= 15 and srv.pings >= 15, 20)
            assert conn.stats.pongs >= 10
            assert conn.stats.watchdog_kills == 0
            assert conn.stats.connects == 1 and len(srv.conns) == 1  # and never reconnected
            await conn.stop()

    asyncio.run(main())


def test_stalled_socket_reconnects_with_gap_and_resubscribes():
    async def main():
        async with Server(answer_pings=False) as srv:
            gaps = []
            conn = WsConnection(spec_for(srv.url), lambda p, t: None, lambda r, t: gaps.append(r),
                                ping_interval_s=0.1, stall_timeout_s=0.2, backoff_initial_s=0.05, backoff_max_s=0.1)
            conn.start()
            await conn.wait_connected(5)
            await wait_for(lambda: conn.stats.connects >= 2, 5)
            assert conn.stats.watchdog_kills >= 1
            assert "stale" in gaps
            subs = [orjson.loads(m) for m in srv.received if b'"subscribe"' in m]
            assert len(subs) >= 2 and subs[0]["args"] == subs[1]["args"]  # resubscribed
            await conn.stop()

    asyncio.run(main())


def test_server_drop_becomes_gap_events_and_reconnects():
    async def main():
        async with Server() as srv:
            reg = SymbolRegistry()
            gap_batches = []
            frames = []
            fm = FeedManager("bybit", ["ETHUSDT", "SOLUSDT"], lambda v, p, t: frames.append((v, p)),
                             lambda ev, reason: gap_batches.append((ev, reason)), registry=reg, url=srv.url,
                             backoff_initial_s=0.05, backoff_max_s=0.1)
            await fm.start()
            await fm.wait_connected(5)
            await srv.conns[0].close()
            await wait_for(lambda: gap_batches and len(srv.conns) >= 2, 5)
            await fm.wait_connected(5)
            ev, reason = gap_batches[0]
            assert (ev["kind"] == Kind.GAP).all() and (ev["venue"] == Venue.BYBIT).all()
            assert sorted(ev["symbol_id"].tolist()) == sorted([reg.get("bybit", "ETHUSDT"), reg.get("bybit", "SOLUSDT")])
            await srv.conns[-1].send(b'{"topic":"publicTrade.ETHUSDT","data":[]}')
            await wait_for(lambda: frames)
            assert frames[0][0] == "bybit"
            h = fm.health()
            assert h["reconnects"] >= 1 and h["gaps"] >= 1 and 0 < h["coverage"] <= 1
            await fm.stop()
            # closing the feed at the end is not a lost connection: the count the pages showed stays the run's
            assert fm.health()["gaps"] == h["gaps"] == len(fm.gap_log)

    asyncio.run(main())


def test_connect_refused_backs_off_and_retries():
    async def main():
        spec = ConnectionSpec(venue="bybit", url="ws://127.0.0.1:9/")
        conn = WsConnection(spec, lambda p, t: None, backoff_initial_s=0.02, backoff_max_s=0.05)
        conn.start()
        await wait_for(lambda: conn.stats.connect_failures >= 3, 5)
        assert not conn.connected
        await conn.stop()

    asyncio.run(main())


def test_backoff_grows_with_jitter_bounds():
    conn = WsConnection(ConnectionSpec("bybit", "ws://x"), lambda p, t: None, backoff_initial_s=0.5,
                        backoff_max_s=8, jitter=0.25)
    for attempt, base in [(0, 0.5), (1, 1.0), (3, 4.0), (10, 8.0)]:
        for _ in range(50):
            d = conn.backoff_delay(attempt)
            assert base * 0.75 <= d <= base * 1.25
    with pytest.raises(ValueError, match="backoff"):
        WsConnection(ConnectionSpec("bybit", "ws://x"), lambda p, t: None, backoff_initial_s=0)


def test_coverage_by_hour():
    H = 3600 * 10**9
    cov = Coverage(start_ns=10 * H)
    cov.up(10 * H)
    cov.down(10 * H + H // 2)
    cov.up(11 * H + H // 4)
    by = cov.by_hour(12 * H)
    assert by == {10 * H: 0.5, 11 * H: 0.75}
    assert cov.share(12 * H) == pytest.approx(0.625)


def test_subscription_chunking_within_limits():
    syms = [f"SYM{i:04d}USDT" for i in range(3000)]
    specs = bybit_stream.connection_specs(syms)
    assert len(specs) > 1
    for s in specs:
        assert sum(len(t) for t in s.topics) <= bybit_stream.MAX_ARGS_CHARS
        for m in s.subscribe:
            assert len(orjson.loads(m)["args"]) <= bybit_stream.ARGS_PER_REQUEST
    assert sum(len(s.topics) for s in specs) == 2 * len(syms)
    bspecs = binance_stream.connection_specs(syms)
    assert all(len(s.topics) <= 1024 for s in bspecs) and sum(len(s.topics) for s in bspecs) == 6000
    assert bspecs[0].send_interval_s >= 0.1  # <= 10 incoming messages per second
    assert bspecs[0].url == "wss://fstream.binance.com/market/ws"
    comb = binance_stream.connection_specs(["ETHUSDT"], combined=True)[0]
    assert comb.url == "wss://fstream.binance.com/market/stream?streams=ethusdt@forceOrder/ethusdt@aggTrade"
    ospecs = okx_stream.connection_specs(syms)
    for m in ospecs[0].subscribe:
        assert len(m) <= okx_stream.MAX_REQUEST_BYTES
    assert okx_stream.inst_id("ETHUSDT") == "ETH-USDT-SWAP"
    assert okx_stream.is_pong(b"pong") and not okx_stream.is_pong(b'{"event":"x"}')
    assert bybit_stream.is_pong(b'{"success":true,"ret_msg":"pong","conn_id":"a","req_id":"hb","op":"ping"}')
    assert not bybit_stream.is_pong(b'{"topic":"publicTrade.ETHUSDT","data":[]}')
    with pytest.raises(ValueError, match="network"):
        bybit_stream.connection_specs(["ETHUSDT"], network="moon")
    with pytest.raises(ValueError, match="symbols"):
        okx_stream.inst_id("???")


def test_okx_text_heartbeat_pong_is_consumed():
    async def handler(ws):
        async for msg in ws:
            if msg == "ping":
                await ws.send("pong")
            elif "subscribe" in msg:
                await ws.send('{"event":"subscribe","arg":{"channel":"liquidation-orders","instType":"SWAP"}}')

    async def main():
        async with serve(handler, "127.0.0.1", 0) as srv:
            url = f"ws://127.0.0.1:{srv.sockets[0].getsockname()[1]}/ws/v5/public"
            spec = okx_stream.connection_specs(["ETHUSDT"], url=url)[0]
            spec.ping_interval_s = 0.1
            got = []
            conn = WsConnection(spec, lambda p, t: got.append(p), ping_interval_s=5, stall_timeout_s=10)
            conn.start()
            await conn.wait_connected(5)
            await wait_for(lambda: conn.stats.pongs >= 3 and got)
            assert all(p != b"pong" for p in got) and b'"event":"subscribe"' in got[0]
            await conn.stop()

    asyncio.run(main())


def test_gap_events_shape():
    ev = gap_events("okx", [], 123)
    assert ev["symbol_id"].tolist() == [-1] and ev["venue"][0] == Venue.OKX and ev["ts_recv"][0] == 123


# ------------------------------------------------------------------ stalls against the fake exchange


async def _stall_scenario(ping_interval_s: float, stall_timeout_s: float, after_s: float = 0.5, **backoff):
    """Trades flow for a while, then the fake exchange stops sending (no data, no pongs) with the TCP
    connection left open; trades keep printing at the venue.  Returns what the feed saw."""
    from liqcore.testing import FakeExchange

    async with FakeExchange() as fx:
        got: list[tuple[bytes, int]] = []
        gaps: list[tuple[int, str, int, int]] = []  # (gap ts, reason, wall ns when handed on, last rx then)
        fm = FeedManager("bybit", ["ETHUSDT"], lambda v, p, t: got.append((p, t)), None, url=fx.public_ws_url,
                         ping_interval_s=ping_interval_s, stall_timeout_s=stall_timeout_s,
                         **(backoff or {"backoff_initial_s": 0.05, "backoff_max_s": 0.1}))
        conn = fm.connections[0]
        inner = conn.on_gap

        def on_gap(reason, ts_ns):
            gaps.append((ts_ns, reason, time.time_ns(), conn.stats.last_rx_ns))
            inner(reason, ts_ns)

        conn.on_gap = on_gap
        t_start = time.time_ns()
        await fm.start()
        await fm.wait_connected(5)
        await wait_for(lambda: fx.connections("public") == 1 and got)  # subscribe ack arrived
        price = 3000.0
        for _ in range(5):
            price += 0.5
            await fx.trade("ETHUSDT", price)
            await asyncio.sleep(0.05)
        await wait_for(lambda: sum(b"publicTrade" in p for p, _ in got) == 5)
        assert fx.stall("public") == 1
        stalled_ns = time.time_ns()
        seen_before = len(got)
        replaced_ns = 0
        while not replaced_ns:  # the venue keeps printing trades while our socket is blind
            price += 0.5
            await fx.trade("ETHUSDT", price)
            await asyncio.sleep(0.02)
            if conn.stats.connects >= 2 and conn.connected:
                replaced_ns = time.time_ns()
            assert time.time_ns() - stalled_ns < (stall_timeout_s + 5) * 1e9, "stalled socket never replaced"
        for _ in range(int(after_s / 0.05)):  # data flows on the new socket
            price += 0.5
            await fx.trade("ETHUSDT", price)
            await asyncio.sleep(0.05)
        end_ns = time.time_ns()
        health = fm.health()
        intervals = [list(iv) for iv in conn.coverage._intervals]
        share = fm.coverage(end_ns)
        gaps_seen = list(gaps)
        await fm.stop()
        return {"t_start": t_start, "stalled_ns": stalled_ns, "replaced_ns": replaced_ns, "end_ns": end_ns,
                "gaps": gaps_seen, "intervals": intervals, "share": share, "health": health, "got": got,
                "seen_before": seen_before, "coverage_start": conn.coverage.start_ns}


def _check_stall(r, ping_interval_s, stall_timeout_s, slack_s):
    S = 1e9
    # replaced within stall-timeout (+ slack for the reconnect backoff and handshake) ...
    took = (r["replaced_ns"] - r["stalled_ns"]) / S
    assert took <= stall_timeout_s + slack_s, took
    # ... and not before: the live socket had answered every heartbeat until the stall
    assert took >= stall_timeout_s - ping_interval_s - 0.1, took
    assert r["health"]["watchdog_kills"] == 1 and r["health"]["reconnects"] == 1
    # one GAP, "stale", dated at the last frame received (not when the watchdog noticed)
    assert len(r["gaps"]) == 1
    gap_ts, reason, handed_on_ns, last_rx_then = r["gaps"][0]
    assert reason == "stale"
    assert gap_ts == last_rx_then
    assert gap_ts <= r["stalled_ns"] + 0.05 * S  # at most a frame already in flight when the fake went quiet
    assert handed_on_ns - gap_ts >= (stall_timeout_s - 0.05) * S
    # coverage: down from the last frame received until the new socket came up
    (up1, down1), (up2, down2) = r["intervals"]
    assert down1 == gap_ts and down2 == -1 and up2 > gap_ts
    blind = up2 - gap_ts
    assert blind >= (stall_timeout_s - 0.05) * S
    span = r["end_ns"] - r["coverage_start"]
    expected = (span - (up1 - r["coverage_start"]) - blind) / span
    assert r["share"] == pytest.approx(expected, abs=1e-6)
    assert r["share"] <= 1 - blind / span + 1e-9
    # data flows again on the new socket
    assert sum(b"publicTrade" in p for p, _ in r["got"][r["seen_before"]:]) >= 3
    return took, blind / S, span / S


def test_stalled_feed_is_replaced_within_stall_timeout_and_counted_as_down_from_last_frame():
    ping, stall = 0.2, 1.0
    r = asyncio.run(_stall_scenario(ping, stall))
    took, blind, span = _check_stall(r, ping, stall, slack_s=0.6)
    # blind for most of the run: coverage says so (a watchdog that counted the stall as covered
    # would report ~0.95 here)
    assert r["share"] < 1 - blind / span + 0.01 and r["share"] < 0.7


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_stall_with_default_ping_interval_and_stall_timeout():
    from liqcore.live.transport import DEFAULT_PING_INTERVAL_S, DEFAULT_STALL_TIMEOUT_S

    # default reconnect backoff too (0.5 s +- 25 %): what a user gets out of the box
    r = asyncio.run(_stall_scenario(DEFAULT_PING_INTERVAL_S, DEFAULT_STALL_TIMEOUT_S, after_s=1.0,
                                    backoff_initial_s=0.5, backoff_max_s=30.0))
    took, blind, span = _check_stall(r, DEFAULT_PING_INTERVAL_S, DEFAULT_STALL_TIMEOUT_S, slack_s=1.0)
    print(f"stalled socket replaced after {took:.2f}s; blind {blind:.2f}s of {span:.2f}s; coverage {r['share']:.3f}")


def test_feed_timing_validation():
    spec = ConnectionSpec("bybit", "ws://x")
    with pytest.raises(ValueError, match="stall-timeout"):
        WsConnection(spec, lambda p, t: None, ping_interval_s=5, stall_timeout_s=5)
    with pytest.raises(ValueError, match="ping-interval"):
        WsConnection(spec, lambda p, t: None, ping_interval_s=0, stall_timeout_s=5)
    # the venue's own heartbeat requirement is never loosened; a shorter ping-interval wins
    b = bybit_stream.connection_specs(["ETHUSDT"])[0]
    assert WsConnection(b, lambda p, t: None).heartbeat_s == 5.0
    assert WsConnection(b, lambda p, t: None, ping_interval_s=30, stall_timeout_s=60).heartbeat_s == b.ping_interval_s


def test_stop_while_connecting_ends_even_when_the_connect_lets_the_cancel_pass(monkeypatch):
    """``stop()`` lands while the socket connects and the connect's ``asyncio.wait_for`` returns the socket
    anyway (Python 3.11's lets a cancel pass when the awaited connect completes at that moment; here it is
    made to, every time): the socket made is closed, the task ends and ``stop()`` returns, bounded, on a real
    loopback server."""
    import liqcore.live.transport as T

    gate: dict = {}

    class LetsTheCancelPass:
        """``asyncio`` for the transport module, whose ``wait_for`` returns the connect's result through a cancel."""

        def __getattr__(self, name):
            return getattr(asyncio, name)

        async def wait_for(self, aw, timeout):
            async def slow():
                await asyncio.sleep(0.3)  # (the connect is still under way when stop() lands)
                return await aw

            inner = asyncio.ensure_future(slow())
            gate["connecting"].set()
            while True:
                try:
                    return await asyncio.shield(inner)
                except asyncio.CancelledError:
                    gate["cancelled"] = True
                    continue

    monkeypatch.setattr(T, "asyncio", LetsTheCancelPass())

    async def main():
        async with Server() as srv:
            gate["connecting"] = asyncio.Event()
            conn = WsConnection(spec_for(srv.url), lambda p, t: None)
            conn.start()
            await asyncio.wait_for(gate["connecting"].wait(), 10)
            stopping = asyncio.ensure_future(conn.stop())
            done, _ = await asyncio.wait({stopping}, timeout=12)  # (a wait that does not cancel it)
            if not done:  # before: stop awaited the task forever
                conn._task.cancel()
                await asyncio.wait({stopping}, timeout=5)
            assert done, "stop() did not return"
            assert gate.get("cancelled") and conn._task.done() and not conn.connected
            await wait_for(lambda: srv.conns and all(ws.state.name == "CLOSED" for ws in srv.conns), 10)

    asyncio.run(main())
