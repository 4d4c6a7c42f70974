"""Shutdown of the live engine against the loopback fake venues: every working entry (partially filled
remainders and entries whose create was never confirmed included) is cancelled through the batch endpoint
and confirmed within ``shutdown-timeout``, also with the private stream down; what could not be confirmed
is named in the runner's summary."""
from __future__ import annotations

import asyncio
import functools
import time

import orjson
import pytest
from _procs import Stopwatch

from liqcore.config import Params
from liqcore.live.engine import Engine
from liqcore.live.journal import Journal
from liqcore.live.runner import LiveRunner
from liqcore.venues.bybit.fake import FakeExchange

from _live_helpers import bybit_live_child, cascade_frames, until_subscribed, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]



def symbols(n: int) -> list[str]:
    return [f"S{i:02d}USDT" for i in range(n)]


def instruments(syms) -> dict:
    return {s: {"tickSize": 0.01, "qtyStep": 0.01, "minOrderQty": 0.01} for s in syms}


def cascade(symbol: str, t0_ms: int) -> list[bytes]:
    return cascade_frames(symbol, t0_ms)


wait = functools.partial(wait_until, timeout=10.0)


async def working_engine(fx, tmp_path, n: int, partial: int, unknown: bool):
    """A runner on the fake with ``n`` resting entries: ``partial`` of them partially filled, and (with
    ``unknown``) the last one created at the venue but never confirmed (status ``unknown``)."""
    from liqcore.venues.bybit.gateway import BybitGateway

    syms = symbols(n)
    gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=syms, retry_backoff=0.02,
                      timeout=2.0, create_rate=200, cancel_rate=20)
    params = Params(min_history=5, history=50, max_symbols=n + 1)
    eng = Engine(params, symbols=syms, gateway=gw, journal=Journal(tmp_path / "j.sqlite"))
    runner = LiveRunner(eng, "bybit", syms, ws_url=fx.public_ws_url)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop=stop))
    await runner.feed.wait_connected(10)
    t0 = int(time.time() * 1000) - 30_000
    normal = syms[:-1] if unknown else syms
    await until_subscribed(fx, [f for s in normal for f in cascade(s, t0)], 20)  # subscriptions acked
    for s in normal:
        for f in cascade(s, t0):
            await fx.push(f)
    await wait(lambda: all(eng.books[s].entry_status == "new" for s in normal))
    # the strategy core has seen the entries arrive (no later print is taken for their arrival)
    await wait(lambda: all(eng.core.position(eng._by_symbol[s][1])["status"] == "resting" for s in normal))
    for s in syms[:partial]:  # a print through the limit for 0.3 of the 0.83 ordered
        await fx.trade(s, 2995.0, 0.3)
    await wait(lambda: all(eng.books[s].entry_status == "partially_filled" and eng.books[s].position_qty > 0
                           for s in syms[:partial]))
    if unknown:
        last = syms[-1]
        fx.fail_next(1, status=502, path="/v5/order/create", process=True)  # created, answer lost
        fx.fail_next(4, status=502, path="/v5/order/realtime")  # and the venue cannot be asked
        for f in cascade(last, t0):
            await fx.push(f)
        await wait(lambda: eng.books[last].entry_status == "unknown")
        assert len(fx.orders_with_link(eng.books[last].entry.client_id)) == 1  # it rests at the venue
    return eng, runner, stop, task


def entries_resting(fx) -> list:
    return [o for o in fx.venue.open_orders() if o.order_link_id]


@pytest.mark.parametrize("n,partial,stream_down", [(5, 2, True), (30, 5, True), (5, 2, False)])
def test_shutdown_cancels_every_working_entry(tmp_path, n, partial, stream_down):
    syms = symbols(n)

    async def main():
        async with FakeExchange(instruments=instruments(syms), partial_fills=True, rate_limit=None) as fx:
            eng, runner, stop, task = await working_engine(fx, tmp_path, n, partial, unknown=True)
            assert len(entries_resting(fx)) == n
            statuses = sorted(st for _, _, st in eng.working_entries())
            assert statuses.count("partially_filled") == partial and statuses.count("unknown") == 1
            fx.faults.http.clear()
            if stream_down:
                fx.stall("private")  # the private stream is down: no push confirms anything
            watch = Stopwatch()  # (less the time this thread waited for a CPU that others held: any load)
            stop.set()
            summary = await task
            took = watch.stop().unloaded
            sd = summary["shutdown"]
            print(f"shutdown of {n} working entries, private stream {'down' if stream_down else 'up'}: {sd['seconds']:.3f}s "
                  f"(runner stop {took:.3f}s)")
            assert took < 5.0 and sd["seconds"] < 5.0, sd
            assert sd["working"] == n and sd["unconfirmed"] == [], sd
            assert entries_resting(fx) == []  # nothing of ours rests at the venue
            assert len(fx.requests_to("/v5/order/cancel-batch")) >= -(-n // 20)
            assert not fx.requests_to("/v5/order/cancel")  # batch, not one by one
            # positions of the partially filled entries keep their venue TP/SL
            for s in syms[:partial]:
                kids = [o for o in fx.venue.open_orders(s) if o.status == "Untriggered"]
                assert {o.stop_order_type for o in kids} == {"PartialTakeProfit", "PartialStopLoss"}
                assert eng.books[s].position_qty == pytest.approx(0.3)
            rec = eng.journal.recover()
            assert not [r for r in rec.open_orders.values() if r["kind"] == "entry"], rec.open_orders
            assert set(rec.positions) == set(syms[:partial])
            eng.journal.close()

    asyncio.run(main())


def test_shutdown_names_what_it_could_not_confirm(tmp_path):
    syms = symbols(5)

    async def main():
        async with FakeExchange(instruments=instruments(syms), rate_limit=None) as fx:
            params_timeout = 1.5
            eng, runner, stop, task = await working_engine(fx, tmp_path, 5, 0, unknown=False)
            eng.params = eng.params.replace(shutdown_timeout_ns=int(params_timeout * 1e9))
            fx.stall("private")
            fx.fail_next(10_000, status=502, path="/v5/order/cancel")  # every cancel (batch or single) fails
            watch = Stopwatch()  # (less the time this thread waited for a CPU that others held: any load)
            stop.set()
            summary = await task
            took = watch.stop().unloaded
            sd = summary["shutdown"]
            assert took < params_timeout + 1.0, str(watch)
            assert sd["working"] == 5 and sd["confirmed"] == {}
            named = {u["client_id"]: u for u in sd["unconfirmed"]}
            assert set(named) == {eng.books[s].entry.client_id for s in syms}
            # the reason names what failed: the cancels' error, or (a slow machine that spent the budget
            # before the listing came back) that the open orders could not be read in time
            assert all((u["reason"].startswith("still resting at the venue; cancel error")
                        or u["reason"].startswith("open orders not read: ")) and u["symbol"] in syms
                       and not u["reason"].endswith(": ") for u in named.values()), named
            assert len(entries_resting(fx)) == 5  # they really are still there
            eng.journal.close()

    asyncio.run(main())


def test_binance_batch_cancel_and_cancel_all_against_the_fake(tmp_path):
    """DELETE /fapi/v1/batchOrders (10 ids per request, one answer per id) and /fapi/v1/allOpenOrders, signed
    like every other endpoint; then an engine on the Binance gateway shuts down with its user stream silent."""
    from liqcore.venues.binance.gateway import BinanceGateway
    from liqcore.venues.gateway import OrderIntent
    from liqcore.venues.binance.fake import FakeBinance

    syms = symbols(6)

    async def main():
        async with FakeBinance(instruments=instruments(syms)) as fb:
            gw = BinanceGateway(fb.api_key, fb.api_secret, fb.rest_url, fb.ws_base, timeout=2.0, retry_backoff=0.02,
                                order_rate=100)
            await gw.start()
            try:
                for i in range(12):
                    await gw.place(OrderIntent(syms[0], "buy", 0.1, 2990.0 - i, f"bb-{i}"))
                fb.venue.partial_fills = True
                await fb.trade(syms[0], 2989.5, 0.04)  # bb-0 partially filled (0.04 of 0.1)
                res = await gw.cancel_batch([(syms[0], f"bb-{i}") for i in range(12)] + [(syms[0], "never")])
                batches = fb.requests_to("/fapi/v1/batchOrders", "DELETE")
                assert len(batches) == 2 and all(r.http_status == 200 for r in batches)  # 10 + 3 ids
                assert res["never"] == ("not_found", None)
                assert all(res[f"bb-{i}"][0] == "accepted" and res[f"bb-{i}"][1].status == "cancelled" for i in range(12))
                assert res["bb-0"][1].filled_qty == pytest.approx(0.04)
                assert not fb.venue.open_orders(syms[0])
                # cancel-all: regular orders of one symbol go, conditional orders stay
                await gw.place(OrderIntent(syms[1], "buy", 0.1, 2990.0, "ca-1"))
                fb.venue.place_conditional(syms[1], "Sell", "StopLoss", 2900.0, 0.1, order_link_id="ca-1-sl")
                assert await gw.cancel_all(syms[1]) == ["ca-1"]
                assert [o.order_link_id for o in fb.venue.open_orders(syms[1])] == ["ca-1-sl"]
                # a partly filled entry cancelled while the user stream is silent: its filled part gets TP/SL
                fb.stalled = True
                await gw.place(OrderIntent(syms[2], "buy", 0.1, 2990.0, "pf-1", take_profit=3000.0, stop_loss=2980.0))
                await fb.trade(syms[2], 2989.0, 0.03)
                res = await gw.cancel_batch([(syms[2], "pf-1")])
                assert res["pf-1"][1].status == "cancelled" and res["pf-1"][1].filled_qty == pytest.approx(0.03)
                algos = {o.order_link_id: o for o in fb.venue.open_orders(syms[2]) if o.stop_order_type}
                assert set(algos) == {"pf-1-tp", "pf-1-sl"} and algos["pf-1-tp"].qty == pytest.approx(0.03)
                fb.stalled = False
                bad = await gw.rest.request("DELETE", "/fapi/v1/batchOrders", {"symbol": syms[0], "origClientOrderIdList":
                                                                               orjson.dumps([f"x{i}" for i in range(11)]).decode()})
            except Exception as exc:  # 11 ids: refused
                assert "-1130" in str(exc)
            else:
                raise AssertionError(f"11 ids accepted: {bad}")
            finally:
                await gw.close()

            # the engine on the Binance gateway: 3 working entries, the user stream silent
            gw = BinanceGateway(fb.api_key, fb.api_secret, fb.rest_url, fb.ws_base, symbols=syms, timeout=2.0,
                                retry_backoff=0.02, order_rate=100)
            eng = Engine(Params(min_history=5, history=50, max_symbols=8), symbols=syms[3:], gateway=gw)
            await eng.start()
            t0 = int(time.time() * 1000) - 30_000
            for s in syms[3:]:
                for f in cascade(s, t0):
                    eng.on_frame("bybit", f, orjson.loads(f)["ts"] * 1_000_000)
            await wait(lambda: all(eng.books[s].entry_status == "new" for s in syms[3:]))
            fb.stalled = True
            rep = await eng.shutdown()
            assert rep["unconfirmed"] == [] and rep["working"] == 3 and rep["seconds"] < 5.0, rep
            assert set(rep["confirmed"].values()) == {"cancelled"}
            assert not [o for o in fb.venue.open_orders() if not o.stop_order_type]

    asyncio.run(main())


def test_bybit_cancel_batch_codes_and_cancel_all_filter():
    """POST /v5/order/cancel-batch answers per order in retExtInfo (110001 for an order that is not open);
    more than 20 orders per request are refused; cancel-all with orderFilter=Order leaves TP/SL in place."""
    from liqcore.venues.bybit.gateway import BybitGateway
    from liqcore.venues.gateway import OrderIntent
    from liqcore.venues.bybit.rest import BybitAPIError

    async def main():
        async with FakeExchange(rate_limit=None) as fx:
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT", "SOLUSDT"],
                              retry_backoff=0.02, timeout=2.0, create_rate=200)
            await gw.start()
            try:
                for i in range(3):
                    await gw.place(OrderIntent("ETHUSDT", "buy", 0.1, 2990.0 - i, f"cb-{i}"))
                res = await gw.cancel_batch([("ETHUSDT", "cb-0"), ("ETHUSDT", "nope"), ("ETHUSDT", "cb-2")])
                assert res == {"cb-0": ("accepted", None), "nope": ("not_found", None), "cb-2": ("accepted", None)}
                assert [o.order_link_id for o in fx.venue.open_orders("ETHUSDT")] == ["cb-1"]
                (req,) = fx.requests_to("/v5/order/cancel-batch")
                assert req.ret_code == 0 and req.body["request"][1] == {"symbol": "ETHUSDT", "orderLinkId": "nope"}
                with pytest.raises(BybitAPIError, match="10001"):
                    await gw.rest.request("POST", "/v5/order/cancel-batch", {"category": "linear", "request": [
                        {"symbol": "ETHUSDT", "orderLinkId": f"x{i}"} for i in range(21)]})
                # a filled entry with attached TP/SL plus a resting entry: cancel-all (Order) keeps the TP/SL
                await gw.place(OrderIntent("SOLUSDT", "buy", 1.0, 150.0, "ca-1", take_profit=151.0, stop_loss=149.0))
                await fx.trade("SOLUSDT", 149.9)
                await gw.place(OrderIntent("SOLUSDT", "buy", 1.0, 148.0, "ca-2"))
                assert await gw.cancel_all("SOLUSDT") == ["ca-2"]
                left = fx.venue.open_orders("SOLUSDT")
                assert sorted(o.stop_order_type for o in left) == ["PartialStopLoss", "PartialTakeProfit"]
            finally:
                await gw.close()

    asyncio.run(main())


def test_shutdown_falls_back_to_single_cancels_when_the_batch_endpoint_fails(tmp_path):
    syms = symbols(5)

    async def main():
        async with FakeExchange(instruments=instruments(syms), partial_fills=True, rate_limit=None) as fx:
            eng, runner, stop, task = await working_engine(fx, tmp_path, 5, 1, unknown=False)
            fx.stall("private")
            fx.fail_next(10_000, status=502, path="/v5/order/cancel-batch")  # the batch endpoint is broken
            stop.set()
            sd = (await task)["shutdown"]
            assert sd["unconfirmed"] == [] and len(sd["confirmed"]) == 5 and sd["seconds"] < 5.0, sd
            assert len(fx.requests_to("/v5/order/cancel")) == 5 and entries_resting(fx) == []
            eng.journal.close()

    asyncio.run(main())


@pytest.mark.timeout(120)
def test_liqcore_run_live_sigint_with_private_stream_down(tmp_path):
    """`liqcore run --live` in a child process: two resting entries (one partially filled), the private stream
    stalls, SIGINT: the process exits within --shutdown-timeout (plus start-up of nothing new), nothing of
    ours rests at the venue and the JSON summary reports every entry confirmed."""
    import signal

    from liqcore.testing.fake_exchange import FakeExchangeThread

    th = FakeExchangeThread(partial_fills=True)
    fx = th.start()
    try:
        child = bybit_live_child(fx, tmp_path, "ETHUSDT,SOLUSDT")
        t = time.monotonic()
        time.sleep(0.5)
        t0 = int(time.time() * 1000) - 30_000
        for s in ("ETHUSDT", "SOLUSDT"):
            for f in cascade(s, t0):
                th.call(fx.push(f))
        while len([o for o in fx.venue.open_orders() if o.order_link_id and o.status == "New"]) < 2:
            assert time.monotonic() - t < 60, "entries not resting"
            time.sleep(0.05)
        time.sleep(1.0)  # the child's strategy core has seen both entries arrive (its clock ticks every 0.1 s)
        th.call(fx.trade("ETHUSDT", 2995.0, 0.3))  # ETH partially filled
        time.sleep(0.3)
        fx.stall("private")
        from _procs import wait_exit

        watch = Stopwatch(child.pid)  # (less the time it waited for a CPU that other processes held: any load)
        child.send_signal(signal.SIGINT)
        wait_exit(child, watch, 30, "liqcore run after SIGINT")  # (its log goes to --log: little on the pipes)
        out, err = child.stdout.read(), child.stderr.read()
        child.stdout.close()
        child.stderr.close()
        took = watch.unloaded
        assert child.returncode == 0, err.decode()[-2000:]
        summary = orjson.loads(out.decode().strip().splitlines()[-1])
        sd = summary["shutdown"]
        assert sd["working"] == 2 and sd["unconfirmed"] == [] and sd["seconds"] < 3.0, sd
        assert took < 3.0 + 2.0, str(watch)  # the whole process, feeds and journal included
        assert [o for o in fx.venue.open_orders() if o.order_link_id] == []
        assert b"NOT CONFIRMED" not in err
    finally:
        th.stop()
