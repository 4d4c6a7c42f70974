"""The live engine's warm path (the decision path run on scratch state while the feed is quiet) changes
nothing real: no order, journal row, metric, detector or strategy state; the engine decides exactly as
an engine that never ran it.  The Bybit gateway's ``warm_order`` signs the same request ``send_now``
writes, and writes nothing."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import time

import orjson
import pytest

from liqcore.config import Params
from liqcore.venues.bybit.gateway import BybitGateway
from liqcore.live.engine import Engine
from liqcore.venues.gateway import OrderIntent
from liqcore.live.journal import Journal
from liqcore.live.runner import LiveRunner
from liqcore.venues.bybit.fake import FakeExchange
from liqcore.testing.fake_replay import liquidation_frame, trade_frame

pytestmark = pytest.mark.timeout(60)

PARAMS = Params(min_history=5, history=50)
BASELINE = [0.5, 0.1, 0.3, 0.2, 0.4, 0.15, 0.35, 0.25, 0.45, 0.05]


def frames(t0):
    out = [liquidation_frame("ETHUSDT", 3000, q, "Buy", t0 + i * 1000) for i, q in enumerate(BASELINE)]
    out.append(trade_frame("ETHUSDT", 3000.0, 1, "Sell", t0 + 20_000))
    out.append(liquidation_frame("ETHUSDT", 3000, 10, "Buy", t0 + 21_000))
    out.append(liquidation_frame("ETHUSDT", 2999, 12, "Buy", t0 + 22_000))
    return [orjson.dumps(f) for f in out]


def decide(engine, t0):
    out = []
    for i, f in enumerate(frames(t0)):
        out += engine.on_frame("bybit", f, (t0 + 25_000) * 1_000_000 + i)  # received after the venue stamped them
    return [(d.action, d.reason, d.side, d.price, d.qty, d.take_profit, d.stop_loss) for d in out]


@pytest.mark.parametrize("venue", ["bybit", "binance", "okx"])
def test_warm_path_has_no_side_effects(tmp_path, venue):
    j = Journal(tmp_path / "j.sqlite")
    eng = Engine(PARAMS, venues=[venue], symbols=["ETHUSDT"], journal=j)
    before = (eng.cascades, eng.orders, eng.events, dict(eng.frames), len(eng.decisions), eng._seq,
              eng.core.snapshot(), eng.detector.n_symbols() if hasattr(eng.detector, "n_symbols") else None)
    rendered = eng.metrics.render()
    rows0, ilog0 = _rows(j), j._ilog_path.read_bytes()
    assert [eng.warm_path() for _ in range(20)] == [1] * 20  # a scratch cascade confirmed every time
    after = (eng.cascades, eng.orders, eng.events, dict(eng.frames), len(eng.decisions), eng._seq,
             eng.core.snapshot(), eng.detector.n_symbols() if hasattr(eng.detector, "n_symbols") else None)
    assert after == before
    assert eng.metrics.render() == rendered
    assert eng.books["ETHUSDT"].entry is None and not eng.pending
    j.maybe_flush()
    assert _rows(j) == rows0 and not j._pending  # no journal row written or queued
    assert j.intent_log_bytes == 0 and j._ilog_path.read_bytes() == ilog0  # nothing appended to the write-ahead intent log
    j.close()


def _rows(j):
    tables = [r[0] for r in j.db.execute("select name from sqlite_master where type='table'")]
    assert tables
    return {t: j.db.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}


def test_warm_path_restarts_its_scratch_clock_and_survives_unknown_grids():
    eng = Engine(PARAMS, symbols=["ETHUSDT"])
    eng.warm_path()
    eng._warm["tick"] = 1_000_000  # ~33 min of quiet feed at one run per 2 ms
    assert eng.warm_path() == 1 and eng.warm_path() == 1 and eng._warm["tick"] == 2  # rebuilt, still confirming
    odd = Engine(PARAMS, symbols=["ABCUSDT"])  # no tick size / qty step known
    assert [odd.warm_path() for _ in range(3)] == [1, 1, 1]
    assert odd.orders == 0 and odd.cascades == 0


def test_warm_path_leaves_decisions_unchanged():
    t0 = int(time.time() * 1000) - 30_000
    cold = Engine(PARAMS, symbols=["ETHUSDT"])
    warm = Engine(PARAMS, symbols=["ETHUSDT"])
    for _ in range(50):
        warm.warm_path()
    a, b = decide(cold, t0), decide(warm, t0)
    assert a == b and a and a[-1][0] == "order"
    for _ in range(50):  # in between frames too
        warm.warm_path()
    assert decide(cold, t0 + 600_000) == decide(warm, t0 + 600_000)  # the next cascade too
    assert warm.cascades == cold.cascades


def test_warm_order_signs_like_send_now_and_writes_nothing():
    async def run():
        async with FakeExchange() as fx:
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"])
            await gw.start()
            try:
                n0 = len(fx.requests)
                intent = OrderIntent(symbol="ETHUSDT", side="buy", qty=0.1, price=2990.0, client_id="lc-ETH-1-abc",
                                     post_only=True, take_profit=3020.0, stop_loss=2960.0)
                data = gw.warm_order(intent)
                await asyncio.sleep(0.05)
                assert len(fx.requests) == n0  # nothing written
                head, body = data.split(b"\r\n\r\n", 1)
                assert head.startswith(b"POST /v5/order/create HTTP/1.1\r\n")
                assert orjson.loads(body) == gw.order_body(intent)
                hdr = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
                want = hmac.new(fx.api_secret.encode(), hdr[b"X-BAPI-TIMESTAMP"] + fx.api_key.encode()
                                + hdr[b"X-BAPI-RECV-WINDOW"] + body, hashlib.sha256).hexdigest().encode()
                assert hdr[b"X-BAPI-SIGN"] == want
                bad = OrderIntent(symbol="ETHUSDT", side="buy", qty=0.0, price=2990.0, client_id="x")
                assert gw.warm_order(bad) == b""
            finally:
                await gw.close()

    asyncio.run(run())


def test_runner_keeps_the_path_warm_and_still_trades():
    async def run():
        async with FakeExchange() as fx:
            eng = Engine(PARAMS, symbols=["ETHUSDT"])
            calls = []
            orig = eng.idle_tick
            eng.idle_tick = lambda: calls.append(orig()) or calls[-1]
            runner = LiveRunner(eng, "bybit", ["ETHUSDT"], ws_url=fx.public_ws_url, warm_interval_s=0.002)
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run(stop=stop))
            await runner.feed.wait_connected(10)
            await asyncio.sleep(0.2)
            idle = len(calls)
            t0 = int(time.time() * 1000) - 30_000
            *first, last = frames(t0)
            for f in first:  # up to the first large liquidation: the next one can confirm
                await fx.push(f)
            await asyncio.sleep(0.2)
            armed = len(calls)
            await fx.push(last)
            t = time.monotonic()
            while eng.orders == 0 and time.monotonic() - t < 5:
                await asyncio.sleep(0.01)
            stop.set()
            await task
            # quiet ticks all along; the scratch path ran only while a cascade could confirm
            assert idle >= 10 and armed - idle >= 10
            assert set(calls[:idle]) == {0} and calls[armed - 1] == 1 and 1 in calls[idle:armed]
            assert eng.cascades == 1 and eng.orders == 1

    asyncio.run(run())


def test_idle_collection_runs_the_next_young_pass_early():
    import gc

    from liqcore.live.runner import _collect_idle

    saved = gc.get_threshold()
    try:
        gc.collect()
        gc.set_threshold(1000, 10, 10)
        assert _collect_idle() == -1  # young generation far from its threshold: nothing collected
        keep = [[] for _ in range(600)]  # container allocations count towards the threshold
        c0 = gc.get_count()[0]
        assert c0 >= 500
        assert _collect_idle() == 0 and gc.get_count()[0] < c0  # collected now, not inside a frame later
        while gc.get_count()[1] < 9:  # the middle generation due next: it is the one collected
            gc.collect(0)
        keep += [[] for _ in range(600)]
        assert _collect_idle() == 1 and gc.get_count()[1] == 0
        gc.disable()
        keep += [[] for _ in range(600)]
        assert _collect_idle() == -1  # a program that turned the collector off keeps it off
        assert len(keep) == 1800
    finally:
        gc.enable()
        gc.set_threshold(*saved)
