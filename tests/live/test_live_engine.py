"""Engine end to end: paper mode in-process, live mode (BybitGateway) against the loopback fake
exchange, gaps, bad frames, faults without duplicate orders, restart recovery from the journal."""
from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from liqcore.live.engine import Engine, Instrument, make_client_id
from liqcore.live.journal import Journal
from liqcore.live.runner import LiveRunner
from liqcore.venues.bybit.fake import FakeExchange
from liqcore.testing.fake_replay import trade_frame

from _live_helpers import PARAMS, cascade_frames
from _live_helpers import frame_topics, until_subscribed
from _live_helpers import wait_until as _wait

pytestmark = pytest.mark.timeout(60)


def feed(engine, frames, t0_ns=None):
    out = []
    for i, f in enumerate(frames):
        recv = orjson.loads(f)["ts"] * 1_000_000 if t0_ns is None else t0_ns + i
        out += engine.on_frame("bybit", f, recv)
    return out


# ---------------------------------------------------------------------------------------------- unit
def test_instrument_rounding_and_client_ids():
    inst = Instrument.from_mapping("ETHUSDT", {"tickSize": 0.01, "qtyStep": 0.01, "minOrderQty": 0.01})
    assert inst.round_price(2496.257, "buy") == 2496.25 and inst.round_price(2496.251, "sell") == 2496.26
    assert inst.round_price(2496.25 + 1e-12, "sell") == 2496.25  # float noise is on the grid
    assert inst.round_qty(0.8349) == 0.83 and inst.round_qty(0.009) == 0.0
    doge = Instrument.from_mapping("DOGEUSDT", {"tickSize": 0.00001, "qtyStep": 1, "minOrderQty": 1})
    assert doge.round_price(0.123456, "buy") == 0.12345 and doge.round_price(0.123451, "sell") == 0.12346
    # ids of distinct sequence numbers (as the engine makes them): distinct whatever the random suffix draws
    ids = {make_client_id("1000PEPEUSDT", 10**12 + k) for k in range(200)}
    assert len(ids) == 200 and all(len(c) <= 36 and c.startswith("lc-1000PEPE-") for c in ids)
    with pytest.raises(ValueError, match="tick_size"):
        Instrument("X", 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="notional"):
        Engine(PARAMS, symbols=["ETHUSDT"], notional=-5)
    with pytest.raises(ValueError, match="venue"):
        Engine(PARAMS, venues=["kraken"], symbols=["ETHUSDT"])


def test_paper_cascade_to_fill_and_take_profit(tmp_path):
    fills, cascades, decisions = [], [], []
    j = Journal(tmp_path / "j.sqlite")
    eng = Engine(PARAMS, symbols=["ETHUSDT"], journal=j, on_fill=fills.append, on_cascade=cascades.append,
                 on_decision=decisions.append)
    t0 = 1_763_683_200_000
    ds = feed(eng, cascade_frames(t0_ms=t0))
    assert len(ds) == 1 and decisions == ds
    d = ds[0]
    assert (d.action, d.side, d.dominant) == ("order", "buy", "long")  # longs flushed -> BUY below
    assert d.price == 2995.5  # 3000 x (1 - 0.15 %), rounded down to the 0.01 tick
    assert d.take_profit == pytest.approx(3000.0, abs=0.011) and d.stop_loss == pytest.approx(2988.01, abs=0.011)
    assert d.qty == 0.83  # 25 % of 10k equity / 2995.5, down to the 0.01 step
    assert cascades[0]["record"] == "confirmed" and cascades[0]["n_large"] == 2
    assert j.order(d.client_id)["status"] == "new"  # journaled before it was acknowledged
    for px, dt in [(2996.0, 23_000), (2995.0, 24_000), (2990.0, 25_000), (3005.0, 26_000)]:
        eng.on_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", px, 1, "Sell", t0 + dt)), (t0 + dt) * 10**6)
    assert [(f.kind, f.side, f.price) for f in fills] == [("entry", "buy", 2995.5), ("tp", "sell", d.take_profit)]
    assert fills[0].is_maker and fills[1].is_maker
    pnl = 0.83 * (d.take_profit - 2995.5) - fills[0].fee - fills[1].fee
    assert eng.equity == pytest.approx(10_000 + pnl, rel=1e-9)
    rec = j.recover()
    assert rec.positions == {} and rec.equity == pytest.approx(eng.equity)
    assert rec.cooldowns["ETHUSDT"] == (t0 + 26_000) * 10**6 + PARAMS.cooldown_ns
    # a new cascade inside the cooldown places nothing
    ds2 = feed(eng, cascade_frames(t0_ms=t0 + 120_000, ref=3004.0)[-3:])
    assert ds2 and ds2[0].reason == "cooldown"
    j.close()
    # a restart keeps equity, cooldown and the loss-limit anchors (equity at the start of the UTC day)
    eng2 = Engine(PARAMS, symbols=["ETHUSDT"], journal=Journal(tmp_path / "j.sqlite"))
    asyncio.run(eng2.start())
    assert eng2.equity == pytest.approx(eng.equity)
    assert eng2.core.port[0]["day_start_equity"] == pytest.approx(10_000.0)
    assert eng2.core.position(0)["cooldown_until_ns"] == rec.cooldowns["ETHUSDT"]
    eng2.journal.close()


@pytest.mark.timeout(180)  # about 7 s alone; a busy machine may take several times that
def test_a_million_client_ids_of_one_session_are_distinct_by_construction():
    """10^6 ids made as the engine makes them (each the next value of the session's order sequence, over
    symbols of every base length up to the 10 kept): no two alike, and each names its sequence number whole,
    so no collision depends on the random suffix (the 64-bit limit too: the sequence is never cut)."""
    syms = ["ETHUSDT", "1000PEPEUSDT", "BTCUSDC", "XBTUSD", "LONGERNAMEXYZUSDT", "A"]
    n = len(syms)
    ids = [make_client_id(syms[seq % n], seq) for seq in range(1, 10**6 + 1)]
    assert [int(c.split("-", 3)[2]) for c in ids] == list(range(1, 10**6 + 1))  # each names its sequence whole
    assert len(set(ids)) == 10**6 and max(map(len, ids)) <= 36
    big = make_client_id("LONGERNAMEXYZUSDT", 2**63 - 1)
    assert big.startswith(f"lc-LONGERNAME-{2**63 - 1}-") and len(big) == 36
    with pytest.raises(ValueError, match="seq"):
        make_client_id("LONGERNAMEXYZUSDT", 10**21)


def test_paper_exit_fees_are_charged_on_the_exit_notional():
    """Each paper fill pays its own notional x the rate: the stop-loss (taker) exit pays taker x its price x
    qty, not x the entry notional, and the session's equity is the fills' prices less the fills' fees."""
    fills = []
    eng = Engine(PARAMS, symbols=["ETHUSDT"], on_fill=fills.append)
    t0 = 1_763_683_200_000
    d = feed(eng, cascade_frames(t0_ms=t0))[0]
    assert d.action == "order" and d.price == 2995.5
    for px, dt in [(2996.0, 23_000), (2995.0, 24_000), (2960.0, 25_000)]:  # filled, then through the stop
        eng.on_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", px, 1, "Sell", t0 + dt)), (t0 + dt) * 10**6)
    assert [f.kind for f in fills] == ["entry", "sl"]
    entry, exit_ = fills
    assert not exit_.is_maker and exit_.price < entry.price
    maker, taker = eng.core.fee_rates(0)
    assert entry.fee == pytest.approx(entry.price * entry.qty * maker, rel=1e-12)
    assert exit_.fee == pytest.approx(exit_.price * exit_.qty * taker, rel=1e-12)
    pnl = entry.qty * (exit_.price - entry.price) - entry.fee - exit_.fee
    assert eng.equity == pytest.approx(10_000 + pnl, rel=1e-13)


def test_kill_switch_file_and_toggle(tmp_path):
    stop = tmp_path / "STOP"
    stop.write_text("")
    eng = Engine(PARAMS, symbols=["ETHUSDT"], kill_switch=stop)
    ds = feed(eng, cascade_frames(t0_ms=1_763_683_200_000))
    assert ds[0].action == "none" and ds[0].reason == "kill_switch"
    stop.unlink()
    eng.risk.toggle()
    ds = feed(eng, cascade_frames(t0_ms=1_763_683_400_000)[-3:])
    assert ds[0].reason == "kill_switch"
    eng.risk.toggle()
    ds = feed(eng, cascade_frames(t0_ms=1_763_683_600_000)[-3:])
    assert ds[0].action == "order"


def test_bad_input_is_counted_not_raised():
    eng = Engine(PARAMS, symbols=["ETHUSDT"])
    for junk in (b"", b"not json", b"{", b'{"topic":"allLiquidation.ETHUSDT","data":[{"T":"x"}]}', b"\xff\xfe",
                 b'{"topic":"allLiquidation.ETHUSDT","data":[{"T":1,"s":"ETHUSDT","S":"Buy","v":"-1","p":"3000"}]}'):
        assert eng.on_frame("bybit", junk, time.time_ns()) == []
    c = eng.decoder("bybit").counters
    assert c["frames"] == 6 and c["rejected_frames"] + c.get("control", 0) >= 5
    ds = feed(eng, cascade_frames(t0_ms=1_763_683_200_000))
    assert ds[0].action == "order"  # still trading afterwards
    with pytest.raises(ValueError, match="events"):
        eng.on_events([1, 2, 3])


def test_restart_resumes_open_order_from_journal(tmp_path):
    path = tmp_path / "j.sqlite"
    t0 = 1_763_683_200_000

    async def first():
        eng = Engine(PARAMS, symbols=["ETHUSDT"], journal=Journal(path))
        await eng.start()
        d = feed(eng, cascade_frames(t0_ms=t0))[0]
        await eng.drain()
        eng.journal.close()  # the process dies: no shutdown, no cancel
        return d

    d = asyncio.run(first())

    async def second():
        fills = []
        eng = Engine(PARAMS, symbols=["ETHUSDT"], journal=Journal(path), on_fill=fills.append)
        await eng.start()
        book = eng.books["ETHUSDT"]
        assert book.entry is not None and book.entry.client_id == d.client_id and book.entry_status == "new"
        assert eng.core.position(0)["status"] == "resting" and eng._seq == 1
        eng.on_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", 2994.0, 1, "Sell", t0 + 23_000)), (t0 + 23_000) * 10**6)
        assert [(f.client_id, f.kind, f.price) for f in fills] == [(d.client_id, "entry", d.price)]
        nd = feed(eng, cascade_frames(t0_ms=t0 + 30_000))  # a fresh detector needs its history again
        assert nd and nd[0].reason == "busy"
        await eng.shutdown()
        eng.journal.close()
        return eng

    asyncio.run(second())
    with Journal(path) as j:
        rec = j.recover()
        assert rec.positions["ETHUSDT"]["entry_price"] == d.price and rec.positions["ETHUSDT"]["qty"] == d.qty


# ---------------------------------------------------------------------------------------------- live
async def _live_engine(fx, journal=None, **kw):
    from liqcore.venues.bybit.gateway import BybitGateway

    gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"],
                      retry_backoff=0.02, timeout=2.0)
    eng = Engine(PARAMS, symbols=["ETHUSDT"], gateway=gw, journal=journal, **kw)
    await eng.start()
    return eng


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_live_cascade_order_signed_then_filled_and_closed(tmp_path):
    async def main():
        async with FakeExchange() as fx:
            fills = []
            eng = await _live_engine(fx, Journal(tmp_path / "j.sqlite"), on_fill=fills.append)
            assert eng.mode == "live" and eng.equity == pytest.approx(10_000.0)
            runner = LiveRunner(eng, "bybit", ["ETHUSDT"], ws_url=fx.public_ws_url)
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run(stop=stop))
            await runner.feed.wait_connected(5)
            await _wait(lambda: fx.connections("public") >= 1 and fx.stats["public_connections"] >= 1)
            await until_subscribed(fx, cascade_frames())
            for f in cascade_frames():
                await fx.push(f)
            await _wait(lambda: fx.requests_to("/v5/order/create"))
            req = fx.requests_to("/v5/order/create")[0]
            assert req.http_status == 200 and req.ret_code == 0  # the fake checked the HMAC signature
            b = req.body
            assert b["side"] == "Buy" and b["orderType"] == "Limit" and b["timeInForce"] == "PostOnly"
            assert b["price"] == "2995.5" and b["qty"] == "0.83"
            assert float(b["takeProfit"]) == pytest.approx(3000.0, abs=0.011)
            assert float(b["stopLoss"]) == pytest.approx(2988.01, abs=0.011)
            cid = b["orderLinkId"]
            assert len(cid) <= 36 and "X-BAPI-SIGN" in {k.upper(): v for k, v in req.headers.items()}.keys() | {
                k for k in req.headers}
            await _wait(lambda: eng.journal.order(cid) and eng.journal.order(cid)["status"] == "new")
            await fx.trade("ETHUSDT", 2994.0)  # through the limit: the entry fills
            await _wait(lambda: any(f.kind == "entry" for f in fills))
            assert eng.books["ETHUSDT"].position_qty == pytest.approx(0.83)
            assert eng.core.position(0)["status"] == "open"
            await fx.trade("ETHUSDT", 2980.0)  # through the stop: market stop-loss
            await _wait(lambda: any(f.kind == "sl" for f in fills))
            await _wait(lambda: eng.core.position(0)["status"] == "flat")
            assert eng.equity < 10_000.0 and eng.books["ETHUSDT"].trades == 1
            assert len(fx.orders_with_link(cid)) == 1
            stop.set()
            summary = await task
            assert summary["orders"] == 1 and summary["cascades"] == 1
            rec = eng.journal.recover()
            assert rec.positions == {} and "ETHUSDT" in rec.cooldowns
            eng.journal.close()

    asyncio.run(main())


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_live_no_duplicate_orders_under_5xx_and_rate_limits():
    async def main():
        async with FakeExchange() as fx:
            eng = await _live_engine(fx)
            now_ms = int(time.time() * 1000)
            cases = [
                (lambda: fx.fail_next(1, status=502, path="/v5/order/create", process=True), 1),  # created, answer lost
                (lambda: fx.fail_next(1, status=503, path="/v5/order/create", process=False), 2),  # not created: resent
                (lambda: fx.rate_limit_next(1, path="/v5/order/create", http_status=429, reset_after_ms=50), 2),
                (lambda: fx.delay_next(1, seconds=2.5, path="/v5/order/create", process=True), 1),  # client timeout
            ]
            seen = set()
            for k, (fault, n_creates) in enumerate(cases):
                fault()
                before = len(fx.requests_to("/v5/order/create"))
                t0 = now_ms - 600_000 + k * 120_000  # each cascade ends before the next one starts
                ds = feed(eng, cascade_frames(t0_ms=t0))
                assert ds and ds[-1].action == "order", ds
                cid = ds[-1].client_id
                assert cid not in seen
                seen.add(cid)
                await eng.drain(15)
                creates = fx.requests_to("/v5/order/create")[before:]
                assert all(r.body["orderLinkId"] == cid for r in creates)
                assert len(creates) == n_creates, [(r.http_status, r.ret_code, r.fault) for r in creates]
                assert len(fx.orders_with_link(cid)) == 1  # never doubled
                await _wait(lambda: eng.books["ETHUSDT"].entry_status == "new")
                await eng._cancel("ETHUSDT", cid)  # free the symbol for the next case
                await _wait(lambda: eng.books["ETHUSDT"].entry is None)
                assert fx.orders_with_link(cid)[0].status == "Cancelled"
            assert eng.orders == len(cases)
            await eng.shutdown()

    asyncio.run(main())


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_feed_drop_ends_open_cascade_with_gap_and_reconnects():
    async def main():
        async with FakeExchange() as fx:
            recs = []
            eng = Engine(PARAMS, symbols=["ETHUSDT"], on_cascade=recs.append)
            runner = LiveRunner(eng, "bybit", ["ETHUSDT"], ws_url=fx.public_ws_url, backoff_initial_s=0.05,
                                backoff_max_s=0.2)
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run(stop=stop))
            await runner.feed.wait_connected(5)
            await until_subscribed(fx, cascade_frames())
            for f in cascade_frames():
                await fx.push(f)
            await _wait(lambda: recs)
            assert recs[0]["record"] == "confirmed"
            fx.drop("public")
            await _wait(lambda: len(recs) >= 2)
            assert recs[1]["record"] == "ended" and recs[1]["end_reason"] == "gap"
            await _wait(lambda: fx.stats["public_connections"] >= 2 and runner.feed.connected)
            await until_subscribed(fx, cascade_frames())  # (the resubscribe on the new connection)
            await fx.push(cascade_frames()[-1])  # data flows again after the resubscribe
            await _wait(lambda: eng.decoder("bybit").counters["events"] >= 14)
            for junk in (b'{"topic":"allLiquidation.ETHUSDT","data":[{"T":"x"}]}', b"{garbage",
                         b'{"topic":"publicTrade.ETHUSDT","data":[{"p":"-1"}]}'):
                await fx.push(junk)  # bad frames on the live socket: counted, the loop carries on
            await fx.push(cascade_frames()[0])
            await _wait(lambda: eng.decoder("bybit").counters["events"] >= 15)
            c = eng.decoder("bybit").counters
            assert c["rejected_frames"] >= 2 and runner.feed.connected
            assert "liqcore_rejects_total" in eng.metrics.render()
            stop.set()
            s = await task
            assert s["gaps"] >= 1 and s["reconnects"] >= 1 and 0 < s["coverage"] < 1

    asyncio.run(main())


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_stalled_public_socket_is_detected_by_ping_and_replaced():
    async def main():
        async with FakeExchange() as fx:
            eng = Engine(PARAMS, symbols=["ETHUSDT"])
            # (a stall bound of ten heartbeats: a busy machine that holds the loop back for a moment is no stall)
            runner = LiveRunner(eng, "bybit", ["ETHUSDT"], ws_url=fx.public_ws_url, ping_interval_s=0.1,
                                stall_timeout_s=1.0, backoff_initial_s=0.05, backoff_max_s=0.1)
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run(stop=stop))
            await runner.feed.wait_connected(5)
            # quiet but alive for longer than the stall bound (15 heartbeats): pinged and answered, never replaced
            await _wait(lambda: runner.feed.health()["watchdog_pings"] >= 15, 30)
            h = runner.feed.health()
            assert h["watchdog_kills"] == 0 and h["reconnects"] == 0
            fx.stall("public")
            await _wait(lambda: runner.feed.health()["watchdog_kills"] >= 1, 5)
            await _wait(lambda: runner.feed.health()["reconnects"] >= 1 and runner.feed.connected, 5)
            stop.set()
            await task

    asyncio.run(main())


@pytest.mark.integration
@pytest.mark.timeout(90)
def test_sigkill_mid_run_loses_nothing_the_venue_acknowledged(tmp_path):
    """`liqcore run --live` in a child process against the fake; SIGKILL right after the venue acked the
    entry; a restarted engine on the same journal knows the order and never sends it again."""
    import os
    import signal
    import subprocess
    import sys

    from liqcore.testing.fake_exchange import FakeExchangeThread

    path = tmp_path / "live.sqlite"
    th = FakeExchangeThread()
    fx = th.start()
    try:
        env = dict(os.environ, BYBIT_API_KEY=fx.api_key, BYBIT_API_SECRET=fx.api_secret)
        cmd = [sys.executable, "-m", "liqcore", "run", "--symbols", "ETHUSDT", "--live", "--no-dashboard",
               "--ws-url", fx.public_ws_url, "--rest-url", fx.rest_url, "--private-ws-url", fx.private_ws_url,
               "--journal", str(path), "--min-history", "5", "--history", "50", "--log", str(tmp_path / "log.jsonl")]
        child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        t = time.monotonic()
        while fx.connections("public") < 1 or fx.connections("private") < 1:
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            assert time.monotonic() - t < 30, "child did not connect"
            time.sleep(0.05)
        tops = frame_topics(cascade_frames())
        while not all(fx.subscribed(x) for x in tops):  # (the child's subscriptions held, within the bound)
            assert child.poll() is None, child.stderr.read().decode()[-2000:]
            assert time.monotonic() - t < 30, "child did not subscribe"
            time.sleep(0.02)
        for f in cascade_frames():
            th.call(fx.push(f))
        cid = None
        while cid is None:
            assert time.monotonic() - t < 60, "no order"
            creates = fx.requests_to("/v5/order/create")
            if creates:
                cid = creates[0].body["orderLinkId"]
            time.sleep(0.01)
        acked = None
        while acked is None:
            assert time.monotonic() - t < 60, "ack never journaled"
            try:
                with Journal(path) as j:
                    row = j.order(cid)
                    if row and row["venue_order_id"]:
                        acked = row
            except Exception:
                pass
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        assert child.returncode == -9
        assert acked["status"] in ("pending", "new")

        async def restart():
            from liqcore.venues.bybit.gateway import BybitGateway

            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"])
            fills = []
            eng = Engine(PARAMS, symbols=["ETHUSDT"], gateway=gw, journal=Journal(path), on_fill=fills.append)
            await eng.start()
            book = eng.books["ETHUSDT"]
            assert book.entry is not None and book.entry.client_id == cid
            assert eng.core.position(0)["status"] == "resting"
            await eng.drain(10)
            await fx_call(fx.trade("ETHUSDT", 2994.0))
            await _wait(lambda: fills)
            assert fills[0].client_id == cid and fills[0].kind == "entry"
            await eng.shutdown()
            eng.journal.close()

        async def fx_call(coro):
            await asyncio.get_running_loop().run_in_executor(None, th.call, coro)

        asyncio.run(restart())
        assert len(fx.orders_with_link(cid)) == 1
        assert all(r.body["orderLinkId"] == cid for r in fx.requests_to("/v5/order/create"))
    finally:
        th.stop()


@pytest.mark.integration
def test_live_entry_timeout_cancels_on_the_venue_and_hold_timeout_closes():
    async def main():
        async with FakeExchange() as fx:
            from liqcore.venues.bybit.gateway import BybitGateway

            params = PARAMS.replace(entry_timeout_ns=300_000_000, hold_timeout_ns=300_000_000, window_ns=3_000_000_000)
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"])
            fills = []
            eng = Engine(params, symbols=["ETHUSDT"], gateway=gw, on_fill=fills.append)
            runner = LiveRunner(eng, "bybit", ["ETHUSDT"], ws_url=fx.public_ws_url, clock_interval_s=0.05)
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run(stop=stop))
            await runner.feed.wait_connected(5)
            await until_subscribed(fx, cascade_frames())
            for f in cascade_frames():  # decision at receive time (now): the timeouts run on the wall clock
                await fx.push(f)
            await _wait(lambda: fx.requests_to("/v5/order/create"))
            cid = fx.requests_to("/v5/order/create")[0].body["orderLinkId"]
            await _wait(lambda: fx.requests_to("/v5/order/cancel"), 5)  # unfilled after 300 ms
            await _wait(lambda: fx.orders_with_link(cid)[0].status == "Cancelled")
            await _wait(lambda: eng.books["ETHUSDT"].entry is None and eng.core.position(0)["status"] == "flat")
            # second cascade, filled, then held past the hold timeout: closed at market
            # event times after the first cascade's 3 s window, none ahead of the wall clock (a stamp more
            # than max-clock-skew ahead of its receive time is rejected)
            t1 = int(time.time() * 1000) - 22_000
            for f in cascade_frames(t0_ms=t1)[-3:]:
                await fx.push(f)
            await _wait(lambda: len(fx.requests_to("/v5/order/create")) >= 2)
            await _wait(lambda: eng.books["ETHUSDT"].entry_status == "new")
            await fx.trade("ETHUSDT", 2994.0)
            await _wait(lambda: any(f.kind == "entry" for f in fills))
            await asyncio.sleep(0.35)
            await fx.trade("ETHUSDT", 2996.0)  # a print after the hold deadline: the core asks for the close
            await _wait(lambda: any(f.kind == "exit" for f in fills), 5)
            await _wait(lambda: eng.core.position(0)["status"] == "flat")
            assert eng.books["ETHUSDT"].trades == 1
            stop.set()
            await task

    asyncio.run(main())


@pytest.mark.integration
def test_unconfirmed_create_keeps_the_symbol_busy_until_the_venue_answers():
    async def main():
        async with FakeExchange() as fx:
            eng = await _live_engine(fx)
            fx.fail_next(1, status=502, path="/v5/order/create", process=True)  # created, answer lost
            fx.fail_next(4, status=502, path="/v5/order/realtime")  # and the venue cannot be asked
            ds = feed(eng, cascade_frames())
            cid = ds[0].client_id
            await _wait(lambda: eng.books["ETHUSDT"].entry_status == "unknown", 10)
            nd = feed(eng, cascade_frames(t0_ms=int(time.time() * 1000) + 90_000)[-3:])
            assert nd and nd[0].reason == "busy"  # no second order while the first may exist
            await _wait(lambda: eng.books["ETHUSDT"].entry_status == "new", 10)  # a later query found it
            assert len(fx.orders_with_link(cid)) == 1 and len(fx.requests_to("/v5/order/create")) == 1
            await eng.shutdown()

    asyncio.run(main())


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_create_written_inside_on_frame_and_bookkeeping_after_it(tmp_path):
    """In venue mode on a running loop the create is written on on_frame's own stack (after the intent's
    write-ahead), its answer is read later with the usual recovery, and the cascade/decision journal rows,
    metrics and callbacks follow the write, in their order, before the order's updates."""
    async def main():
        async with FakeExchange() as fx:
            seen = []
            eng = await _live_engine(fx, Journal(tmp_path / "j.sqlite"), on_decision=lambda d: seen.append(("decision", d.client_id)),
                                     on_cascade=lambda c: seen.append(("cascade", c["record"])))
            gw = eng.gateway
            order = []
            begin, intent_w, line_w = gw.rest._h1.begin, eng.journal.intent_ahead, eng.journal.intent_ahead_line

            def begin_i(data, timeout, loop):
                order.append("write")
                return begin(data, timeout, loop)

            def intent_i(*a, **k):
                order.append("intent")
                return intent_w(*a, **k)

            def line_i(*a, **k):  # the write-ahead of an order prepared ahead (the fast lane)
                order.append("intent")
                return line_w(*a, **k)

            gw.rest._h1.begin, eng.journal.intent_ahead, eng.journal.intent_ahead_line = begin_i, intent_i, line_i
            fx.fail_next(1, status=503, path="/v5/order/create", process=False)  # the sync write fails: resent after a query
            ds = feed(eng, cascade_frames())
            assert ds and ds[-1].action == "order"
            cid = ds[-1].client_id
            assert order == ["intent", "write"]  # durable first, then written, before on_frame returned
            assert not seen and eng._books_q  # bookkeeping waits for the loop
            eng.journal.flush()
            assert eng.journal.order(cid)["status"] == "pending"  # the write-ahead row
            await eng.drain(10)
            await _wait(lambda: eng.books["ETHUSDT"].entry_status == "new")
            assert seen[-2:] == [("cascade", "confirmed"), ("decision", cid)]
            creates = [r for r in fx.requests_to("/v5/order/create") if r.body["orderLinkId"] == cid]
            assert [r.http_status for r in creates] == [503, 200]
            assert fx.requests_to("/v5/order/realtime"), "the venue is asked before the resend"
            assert len(fx.orders_with_link(cid)) == 1
            eng.journal.flush()
            types = [r["type"] for r in eng.journal.history() if r["type"] in ("decision", "intent", "order_update")]
            assert types.index("intent") < types.index("decision") < types.index("order_update")
            await eng.shutdown()
            eng.journal.close()

    asyncio.run(main())
