"""OkxGateway against the fake OKX v5 venue on loopback: a signed post-only entry sized in contracts, its fill on
the private ``orders`` channel, the reduce-only take-profit / stop-loss (one oco algo order) placed for the filled
contracts, timeout cancels, post-only rejection, long/short position mode, wrong credentials in one line, and the
real Engine trading one cascade through the gateway."""
from __future__ import annotations

import asyncio
import logging
import time

import orjson
import pytest

from liqcore.venues.gateway import Gateway, GatewayError, OrderIntent
from liqcore.venues.okx.gateway import OkxGateway, parse_order
from liqcore.venues.okx.fake import FakeOkx
from tests._live_helpers import GatewayRecorder

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

INST = "ETH-USDT-SWAP"  # ctVal 0.1 ETH, lotSz 0.01, tickSz 0.01 in the fake


def run(coro, timeout: float = 40.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def Rec(gw):
    return GatewayRecorder(gw, default_timeout=10.0)


def make_gw(fo, **kw):
    # (a REST call to the fake on loopback answers in milliseconds; the bound is for a loaded machine)
    opts = dict(symbols=["ETHUSDT", "SOLUSDT"], timeout=5.0, retry_backoff=0.05, connect_timeout=5.0)
    opts.update(kw)
    return OkxGateway(fo.api_key, fo.api_secret, fo.passphrase, fo.rest_url, fo.ws_base, **opts)


def long_entry(cid="lc-ETH-1-abc123", qty=0.5):
    return OrderIntent("ETHUSDT", "buy", qty, 2496.25, cid, take_profit=2500.0, stop_loss=2490.01)


@pytest.mark.parametrize("pos_mode", ["net_mode", "long_short_mode"])
def test_post_only_entry_fill_then_reduce_only_tp_sl_for_the_filled_contracts(pos_mode):
    async def main():
        async with FakeOkx(pos_mode=pos_mode) as fo:
            gw = make_gw(fo)
            assert isinstance(gw, Gateway)
            rec = Rec(gw)
            await gw.start()
            try:
                assert gw.pos_mode == pos_mode and "trade" in gw.perm.split(",")
                inst = gw.instrument("ETHUSDT")  # base units: lotSz 0.01 contracts of 0.1 ETH
                assert (inst.tick_size, inst.qty_step, inst.min_qty) == (0.01, pytest.approx(0.001), pytest.approx(0.001))
                await fo.trade(INST, 2500.0)
                u = await gw.place(long_entry())
                assert u.status == "new" and u.client_id == "lc-ETH-1-abc123"
                (req,) = fo.requests_to("/api/v5/trade/order", "POST")
                b = req.body
                assert (b["ordType"], b["px"], b["sz"], b["side"], b["tdMode"]) == ("post_only", "2496.25", "5", "buy", "cross")
                assert b["clOrdId"].isalnum() and len(b["clOrdId"]) <= 32  # liqcore's id made OKX-conforming
                assert ("posSide" in b) == (pos_mode == "long_short_mode")
                assert b.get("posSide", "long") == "long"
                await fo.trade(INST, 2496.2)  # through the bid: a maker fill
                await rec.wait(lambda: any(f.kind == "entry" for f in rec.fills))
                f = rec.fills[0]
                assert (f.client_id, f.symbol, f.price, f.qty, f.is_maker) == ("lc-ETH-1-abc123", "ETHUSDT", 2496.25,
                                                                               pytest.approx(0.5), True)
                await rec.wait(lambda: len(fo.algos()) == 1)
                (algo,) = fo.algos().values()
                assert (algo["ordType"], algo["side"], algo["sz"], algo["tpTriggerPx"], algo["tpOrdPx"],
                        algo["slTriggerPx"], algo["slOrdPx"]) == ("oco", "sell", "5", "2500", "2500", "2490.01", "-1")
                (areq,) = fo.requests_to("/api/v5/trade/order-algo", "POST")
                if pos_mode == "net_mode":
                    assert areq.body["reduceOnly"] is True and "posSide" not in areq.body
                else:
                    assert areq.body["posSide"] == "long"
                await fo.trade(INST, 2500.0)  # triggers the take-profit: a resting sell limit at 2500
                await fo.trade(INST, 2500.5)  # through it
                await rec.wait(lambda: any(f.kind == "tp" for f in rec.fills))
                tpf = [f for f in rec.fills if f.kind == "tp"][0]
                assert (tpf.client_id, tpf.side, tpf.price, tpf.qty, tpf.is_maker) == ("lc-ETH-1-abc123", "sell", 2500.0,
                                                                                       pytest.approx(0.5), True)
                assert [leg.status for leg in algo["legs"]] == ["Deactivated", "Filled"]  # the oco's stop-loss is gone
                assert await gw.positions() == []
                assert await gw.equity() == pytest.approx(fo.venue.wallet_balance)
            finally:
                await gw.close()

    run(main())


def test_short_stop_loss_timeout_cancel_post_only_reject_and_close_position():
    async def main():
        async with FakeOkx() as fo:
            gw = make_gw(fo)
            rec = Rec(gw)
            await gw.start()
            try:
                # post-only that would take: accepted, then canceled with cancelSource 31 -> rejected
                await fo.trade("SOL-USDT-SWAP", 180.0)
                await gw.place(OrderIntent("SOLUSDT", "buy", 2, 180.5, "lc-SOL-9-aaaaaa"))
                await rec.wait(lambda: any(u.status == "rejected" for u in rec.updates))
                rej = [u for u in rec.updates if u.status == "rejected"][0]
                assert rej.client_id == "lc-SOL-9-aaaaaa" and "31" in rej.reason and rej.kind == "entry"
                # a short entry, its stop-loss fills at market
                await gw.place(OrderIntent("SOLUSDT", "sell", 10, 180.27, "lc-SOL-1-bbbbbb", take_profit=180.0,
                                           stop_loss=180.72))
                await fo.trade("SOL-USDT-SWAP", 180.3)
                await rec.wait(lambda: len(fo.algos()) == 1)
                await fo.trade("SOL-USDT-SWAP", 180.8)
                await rec.wait(lambda: any(f.kind == "sl" for f in rec.fills))
                slf = [f for f in rec.fills if f.kind == "sl"][0]
                assert (slf.client_id, slf.side, slf.price, slf.qty, slf.is_maker) == ("lc-SOL-1-bbbbbb", "buy", 180.8,
                                                                                       pytest.approx(10), False)
                # the engine's entry timeout: cancel; a second cancel reports the final state; unknown -> rejected
                await gw.place(OrderIntent("SOLUSDT", "buy", 1, 170.0, "lc-SOL-2-cccccc"))
                c = await gw.cancel("SOLUSDT", "lc-SOL-2-cccccc")
                assert (c.status, c.client_id) == ("cancelled", "lc-SOL-2-cccccc")
                assert (await gw.cancel("SOLUSDT", "lc-SOL-2-cccccc")).status == "cancelled"
                nope = await gw.cancel("SOLUSDT", "nope")
                assert nope.status == "rejected" and nope.reason.startswith("51400")
                # several at once
                for i in (3, 4):
                    await gw.place(OrderIntent("SOLUSDT", "buy", 1, 170.0 - i, f"lc-SOL-{i}-dddddd"))
                res = await gw.cancel_batch([("SOLUSDT", "lc-SOL-3-dddddd"), ("SOLUSDT", "lc-SOL-4-dddddd"),
                                             ("SOLUSDT", "lc-SOL-9-zzzzzz")])
                assert {c: o for c, (o, _) in res.items()} == {"lc-SOL-3-dddddd": "accepted", "lc-SOL-4-dddddd": "accepted",
                                                              "lc-SOL-9-zzzzzz": "not_found"}
                assert res["lc-SOL-3-dddddd"][1].status == "cancelled"
                # hold timeout: market close of a position
                await gw.place(OrderIntent("SOLUSDT", "sell", 3, 181.0, "lc-SOL-5-eeeeee", take_profit=180.5, stop_loss=181.5))
                await fo.trade("SOL-USDT-SWAP", 181.1)
                await rec.wait(lambda: len(fo.algos()) == 2 and gw._bracket.get("SOL-USDT-SWAP", {}).get("algoId"))
                u = await gw.close_position("SOLUSDT", "lc-SOL-5-exit")
                assert u.kind == "exit"
                await rec.wait(lambda: any(f.kind == "exit" for f in rec.fills))
                ex = [f for f in rec.fills if f.kind == "exit"][0]
                assert (ex.side, ex.qty) == ("buy", pytest.approx(3))
                # flat: the gateway cancels the take-profit / stop-loss OKX leaves behind
                await rec.wait(lambda: [a["state"] for a in fo.algos().values()] == ["effective", "canceled"])
                assert (await gw.close_position("SOLUSDT", "lc-SOL-5-exit2")).reason == "no_position"
            finally:
                await gw.close()

    run(main())


def test_reconciliation_and_reconnect():
    async def main():
        async with FakeOkx() as fo:
            fo.venue.place_resting(INST, "Buy", 5, 2400.0, order_link_id="leftover1")
            fo.venue.set_position("SOL-USDT-SWAP", 100, 150.0)
            gw = make_gw(fo)
            rec = Rec(gw)
            await gw.start()
            try:
                assert [(u.client_id, u.symbol, u.qty) for u in gw.reconciled["orders"]] == [("leftover1", "ETHUSDT", 0.5)]
                (p,) = gw.reconciled["positions"]
                assert (p.symbol, p.side, p.size, p.entry_price) == ("SOLUSDT", "buy", 100.0, 150.0)
                assert fo.drop("private") == 1
                await rec.wait(lambda: gw.stats["reconnects"] == 1 and gw.connected.is_set())
                fo.set_last_price(INST, 2500.0)
                await gw.place(long_entry("after1"))
                await fo.trade(INST, 2496.0)
                await rec.wait(lambda: any(f.client_id == "after1" for f in rec.fills))
            finally:
                await gw.close()

    run(main())


@pytest.mark.parametrize("what,code", [("secret", "50113"), ("key", "50111"), ("passphrase", "50105")])
def test_wrong_credentials_fail_start_in_one_line_without_the_secret(what, code, caplog):
    async def main():
        async with FakeOkx() as fo:
            creds = {"key": fo.api_key, "secret": fo.api_secret, "passphrase": fo.passphrase}
            creds[what] = "WRONGVALUE12345678"
            gw = OkxGateway(creds["key"], creds["secret"], creds["passphrase"], fo.rest_url, fo.ws_base, timeout=5.0)
            with caplog.at_level(logging.DEBUG):
                with pytest.raises(GatewayError) as ei:
                    await gw.start()
            await gw.close()
            msg = str(ei.value)
            assert "\n" not in msg and code in msg and msg.startswith("okx start failed")
            for text in (msg, caplog.text, repr(gw), repr(gw.rest)):
                assert "WRONGVALUE12345678" not in text and fo.api_secret not in text and fo.passphrase not in text

    run(main())


def test_read_only_key_is_refused_at_start_and_by_the_venue():
    async def main():
        async with FakeOkx(read_only_keys=["fake-okx-key-0001"]) as fo:
            gw = make_gw(fo)
            with pytest.raises(GatewayError, match=r"may not trade \(perm read_only\)"):
                await gw.start()
            await gw.close()
            # the venue itself refuses a trade with the read-only key (50120), in one line
            from liqcore.venues.okx.rest import OkxAPIError, OkxREST
            rest = OkxREST(fo.api_key, fo.api_secret, fo.passphrase, fo.rest_url)
            try:
                with pytest.raises(OkxAPIError, match="50120"):
                    await rest.request("POST", "/api/v5/trade/order", body={"instId": INST, "tdMode": "cross", "side": "buy",
                                                                            "ordType": "post_only", "px": "1", "sz": "1"})
            finally:
                await rest.close()

    run(main())


def test_venue_refusals_are_rejected_updates_in_one_line():
    async def main():
        async with FakeOkx(equity=50.0) as fo:
            gw = make_gw(fo)
            await gw.start()
            try:
                fo.set_last_price(INST, 2500.0)
                u = await gw.place(OrderIntent("ETHUSDT", "buy", 5.0, 2400.0, "big1"))  # 50 contracts: margin 1200 > 50
                assert u.status == "rejected" and u.reason.startswith("51008 insufficient balance")
                with pytest.raises(ValueError, match="below OKX minSz"):
                    await gw.place(OrderIntent("ETHUSDT", "buy", 0.0005, 2400.0, "tiny1"))
            finally:
                await gw.close()

    run(main())


def test_parse_order_row():
    row = {"instId": INST, "ordId": "7", "clOrdId": "x1", "px": "2500", "sz": "5", "ordType": "limit", "side": "sell",
           "state": "filled", "accFillSz": "5", "avgPx": "2500", "fillPx": "2500", "fillSz": "5", "tradeId": "9",
           "execType": "M", "fillFee": "-0.25", "uTime": "1700000000000", "fillTime": "1700000000000", "cancelSource": ""}
    u, f = parse_order(row, 0.1)
    assert (u.status, u.side, u.qty, u.filled_qty) == ("filled", "sell", pytest.approx(0.5), pytest.approx(0.5))
    assert (f.price, f.qty, f.fee, f.is_maker, f.exec_id) == (2500.0, pytest.approx(0.5), 0.25, True, f"{INST}-9")
    u, f = parse_order({**row, "state": "canceled", "cancelSource": "31", "tradeId": "", "fillSz": "0"}, 0.1)
    assert u.status == "rejected" and "31" in u.reason and f is None
    assert parse_order({**row, "state": "live", "tradeId": ""}, 0.1)[0].status == "new"
    with pytest.raises(ValueError, match="state"):
        parse_order({**row, "state": "weird"}, 0.1)
    with pytest.raises(ValueError, match="fillPx"):
        parse_order({**row, "fillPx": "abc"}, 0.1)


def _okx_cascade(t0_ms: int) -> list[bytes]:
    """The helpers' cascade in OKX's wire format: baseline liquidations of longs (``sell``; sizes in contracts of
    0.1 ETH), a reference trade at 3000, then two large ones."""
    from _live_helpers import BASELINE
    from liqcore.venues.okx.samples import liquidation_frame, trade_frame

    frames = [liquidation_frame(INST, t0_ms + i * 1000, round(q * 10, 4), 3000.0, "sell") for i, q in enumerate(BASELINE)]
    frames.append(trade_frame(INST, t0_ms + 20_000, 1, 3000.0, "sell"))
    frames.append(liquidation_frame(INST, t0_ms + 21_000, 100, 3000.0, "sell"))
    frames.append(liquidation_frame(INST, t0_ms + 22_000, 120, 2999.0, "sell"))
    return frames


def _engine_session(fo, params):
    from _live_helpers import PARAMS
    from liqcore.live.engine import Engine

    gw = OkxGateway(fo.api_key, fo.api_secret, fo.passphrase, fo.rest_url, fo.ws_base, symbols=[INST],
                    retry_backoff=0.02, timeout=2.0)
    return gw, Engine(PARAMS.replace(**params), venues=("okx",), symbols=[INST], gateway=gw)


def test_engine_trades_one_cascade_through_the_okx_gateway():
    from _live_helpers import wait_until

    async def main():
        async with FakeOkx() as fo:
            fo.set_last_price(INST, 3000.0)
            gw, eng = _engine_session(fo, {})
            await eng.start()
            try:
                now = time.time_ns()
                decisions = []
                for i, f in enumerate(_okx_cascade(int(time.time() * 1000) - 30_000)):
                    decisions += eng.on_frame("okx", f, now - 1_000_000 + i)
                (d,) = [x for x in decisions if x.action == "order"]
                assert d.side == "buy"
                await wait_until(lambda: eng.books[INST].entry_status == "new", 10)
                (req,) = fo.requests_to("/api/v5/trade/order", "POST")
                b = req.body
                assert (b["instId"], b["ordType"], b["side"]) == (INST, "post_only", "buy")
                intent = eng.books[INST].entry
                assert float(b["sz"]) == pytest.approx(intent.qty / 0.1)  # contracts of 0.1 ETH
                assert float(b["px"]) == intent.price and b["clOrdId"].isalnum()
                await fo.trade(INST, intent.price - 1.0)  # the venue fills it
                await wait_until(lambda: eng.core.position(0)["status"] == "open", 10)
                await wait_until(lambda: len(fo.algos()) == 1, 10)  # reduce-only TP/SL for the filled contracts
                (algo,) = fo.algos().values()
                assert (algo["side"], float(algo["sz"])) == ("sell", float(b["sz"]))
                assert float(algo["tpTriggerPx"]) == intent.take_profit and float(algo["slTriggerPx"]) == intent.stop_loss
                await fo.trade(INST, intent.take_profit)  # the take-profit triggers: a resting limit
                await fo.trade(INST, intent.take_profit + 1.0)  # and fills
                await wait_until(lambda: eng.core.position(0)["status"] != "open", 10)
                assert eng.fills >= 2
            finally:
                await eng.shutdown(timeout=2)

    run(main())


def test_engine_cancels_an_unfilled_okx_entry_on_its_timeout():
    from _live_helpers import wait_until

    async def main():
        async with FakeOkx() as fo:
            fo.set_last_price(INST, 3000.0)
            gw, eng = _engine_session(fo, {"entry_timeout_ns": 2_000_000_000})
            await eng.start()
            try:
                now = time.time_ns()
                decisions = []
                for i, f in enumerate(_okx_cascade(int(time.time() * 1000) - 30_000)):
                    decisions += eng.on_frame("okx", f, now - 1_000_000 + i)
                (d,) = [x for x in decisions if x.action == "order"]
                await wait_until(lambda: eng.books[INST].entry_status == "new", 10)
                eng.on_clock(d.ts_ns + 3_000_000_000)
                await wait_until(lambda: fo.requests_to("/api/v5/trade/cancel-order", "POST"), 10)
                await wait_until(lambda: eng.books[INST].entry is None, 10)
                cl = fo.requests_to("/api/v5/trade/order", "POST")[0].body["clOrdId"]
                (o,) = fo.orders_with_client_id(cl)
                assert o.status == "Cancelled"
                assert eng.core.summary_counts()["rejected"] == 0
            finally:
                await eng.shutdown(timeout=2)

    run(main())


@pytest.mark.parametrize("fault", ["timeout_created", "5xx_not_created", "5xx_created", "rate_limit"])
def test_create_faults_never_double_an_order(fault):
    """An unknown outcome (timeout, 5xx) is resolved by asking for the clOrdId before resending; 50011 (HTTP 429)
    is retried after a back-off: one order at the venue whatever happened."""
    async def main():
        async with FakeOkx() as fo:
            gw = make_gw(fo, timeout=0.3)
            await gw.start()
            try:
                fo.set_last_price(INST, 2500.0)
                path = "/api/v5/trade/order"
                if fault == "timeout_created":
                    fo.delay_next(1, seconds=0.7, path=path, process=True)
                elif fault == "5xx_not_created":
                    fo.fail_next(1, status=503, path=path)
                elif fault == "5xx_created":
                    fo.fail_next(1, status=502, path=path, process=True)
                else:
                    fo.rate_limit_next(2, path=path)
                u = await gw.place(long_entry("idem1"))
                assert u.client_id == "idem1" and u.status == "new"
                posts = fo.requests_to(path, "POST")
                assert len(fo.orders_with_client_id("idem1")) == 1
                assert {r.body["clOrdId"] for r in posts} == {"idem1"}
                assert len(posts) == {"timeout_created": 1, "5xx_not_created": 2, "5xx_created": 1, "rate_limit": 3}[fault]
            finally:
                await gw.close()

    run(main())


def test_rate_limits_are_per_endpoint_and_instrument():
    """Place order and cancel order: 60 requests per 2 s per instrument (User ID + Instrument ID); algo orders:
    20 requests per 2 s (OKX v5 #order-book-trading-trade-post-place-order, #order-book-trading-algo-trading-post-
    place-algo-order)."""
    gw = OkxGateway("k", "s", "p", "http://127.0.0.1:1", symbols=["ETHUSDT"])
    a, b = gw._limiter(gw._place_limits, INST), gw._limiter(gw._place_limits, "SOL-USDT-SWAP")
    assert a is not b and a is gw._limiter(gw._place_limits, INST)
    assert (a.max_calls, round(a.window, 2)) == (60, 2.05) and gw._limiter(gw._cancel_limits, INST) is not a
    assert (gw.algo_limiter.max_calls, round(gw.algo_limiter.window, 2)) == (20, 2.05)
    assert gw.private_ws_url == "wss://ws.okx.com:8443/ws/v5/private"
    demo = OkxGateway("k", "s", "p", "http://127.0.0.1:1/", "ws://127.0.0.1:9/custom/path", network="demo")
    assert demo.private_ws_url == "ws://127.0.0.1:9/custom/path" and demo.rest.demo and demo.rest.base_url == "http://127.0.0.1:1"
    assert OkxGateway("k", "s", "p", network="demo").private_ws_url == "wss://wspap.okx.com:8443/ws/v5/private"
    with pytest.raises(ValueError, match="network"):
        OkxGateway("k", "s", "p", network="moon")


def test_engine_shutdown_cancels_a_resting_okx_entry_in_one_batch():
    from _live_helpers import wait_until

    async def main():
        async with FakeOkx() as fo:
            fo.set_last_price(INST, 3000.0)
            gw, eng = _engine_session(fo, {})
            await eng.start()
            now = time.time_ns()
            for i, f in enumerate(_okx_cascade(int(time.time() * 1000) - 30_000)):
                eng.on_frame("okx", f, now - 1_000_000 + i)
            await wait_until(lambda: eng.books[INST].entry_status == "new", 10)
            cl = fo.requests_to("/api/v5/trade/order", "POST")[0].body["clOrdId"]
            await eng.shutdown(timeout=3)
            (req,) = fo.requests_to("/api/v5/trade/cancel-batch-orders", "POST")
            assert req.body == {"_": [{"instId": INST, "clOrdId": cl}]}
            (o,) = fo.orders_with_client_id(cl)
            assert o.status == "Cancelled"
            assert gw.stream.stats["callback_errors"] == 0

    run(main())


def test_private_stream_keepalive_is_the_text_ping():
    """OKX v5 #overview-websocket-connect: "The connection will break automatically if the subscription is not
    established or data has not been pushed for more than 30 seconds", "send the String 'ping'", "Expect a 'pong'
    as a response"."""
    async def main():
        async with FakeOkx() as fo:
            gw = make_gw(fo, ping_interval=0.05)
            rec = Rec(gw)
            await gw.start()
            try:
                await rec.wait(lambda: fo.pings["private"] >= 3)
                assert gw.connected.is_set() and gw.stats["ping_failures"] == 0 and gw.stats["bad_events"] == 0
            finally:
                await gw.close()

    run(main())


def test_a_bad_private_push_is_counted_and_the_stream_goes_on():
    async def main():
        async with FakeOkx() as fo:
            gw = make_gw(fo)
            rec = Rec(gw)
            await gw.start()
            try:
                good = {"instType": "SWAP", "instId": INST, "ordId": "1", "clOrdId": "ext1", "px": "2400", "sz": "5",
                        "ordType": "limit", "side": "buy", "state": "live", "accFillSz": "0", "uTime": "1700000000000"}
                await fo.publish("orders", {"channel": "orders", "instType": "SWAP"},
                                 [{**good, "state": "exploded"}, "not a row", {**good, "px": "abc"}, good])
                await fo.publish("positions", {"channel": "positions", "instType": "SWAP"}, [{"instId": INST, "pos": "x"}])
                await rec.wait(lambda: any(u.client_id == "ext1" for u in rec.updates) and gw.stats["bad_events"] == 4)
                assert gw.connected.is_set() and [u.status for u in rec.updates] == ["new"]
            finally:
                await gw.close()

    run(main())


def test_a_refused_private_login_is_one_line():
    """The private websocket answers a bad login with 60024 "Wrong passphrase" (OKX v5 #error-code-websocket-public):
    start fails in one line naming it, without the passphrase.  (REST on one fake, the websocket on another that
    knows the key under a different passphrase.)"""
    async def main():
        async with FakeOkx() as fo, FakeOkx(api_keys={"fake-okx-key-0001": ("FAKEOKXSECRET0000DONOTUSE", "other")}) as ws_fo:
            gw = OkxGateway(fo.api_key, fo.api_secret, fo.passphrase, fo.rest_url, ws_fo.ws_base, timeout=5.0,
                            connect_timeout=5.0)
            with pytest.raises(GatewayError) as ei:
                await gw.start()
            await gw.close()
            msg = str(ei.value)
            assert msg == "okx private stream: login refused: 60024 wrong API passphrase"
            assert fo.passphrase not in msg

    run(main())


def test_entry_cancelled_after_a_partial_fill_gets_tp_sl_for_the_filled_contracts():
    async def main():
        async with FakeOkx() as fo:
            fo.venue.partial_fills = True
            gw = make_gw(fo)
            rec = Rec(gw)
            await gw.start()
            try:
                await fo.trade(INST, 2500.0)
                await gw.place(long_entry("part1", qty=0.5))  # 5 contracts
                await fo.trade(INST, 2496.0, 2)  # 2 contracts trade through the bid
                await rec.wait(lambda: any(u.status == "partially_filled" for u in rec.updates))
                assert not fo.algos()  # no TP/SL for a working entry yet
                c = await gw.cancel("ETHUSDT", "part1")
                assert (c.status, c.filled_qty) == ("cancelled", pytest.approx(0.2))
                await rec.wait(lambda: len(fo.algos()) == 1)
                (algo,) = fo.algos().values()
                assert (algo["sz"], algo["ordType"]) == ("2", "oco")
            finally:
                await gw.close()

    run(main())
