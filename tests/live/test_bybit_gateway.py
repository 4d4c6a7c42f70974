"""BybitGateway against the fake exchange on loopback: placement, fills, TP/SL, idempotency under faults,
reconciliation, private-stream reconnects, the create rate limit and secret hygiene."""
from __future__ import annotations

import asyncio
import logging
import math
import time

import pytest

from liqcore.venues.bybit.gateway import BybitGateway
from liqcore.venues.gateway import Gateway, GatewayError, OrderIntent
from liqcore.venues.ratelimit import SlidingWindowLimiter, TokenBucket
from liqcore.testing import FakeExchange


@pytest.fixture(autouse=True)
def _governors():
    from liqcore.venues.governor import reset_governors

    reset_governors()  # (one governor per host:port per process: a pause or ban of one test stays out of the next)
    yield
    reset_governors()


def run(coro, timeout: float = 30.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Recorder:
    def __init__(self, gw):
        self.updates, self.fills = [], []
        gw.on_update(self.updates.append)

        async def on_fill(f):  # an async callback is awaited
            self.fills.append(f)

        gw.on_fill(on_fill)

    async def wait(self, pred, timeout=30.0):  # a bound that holds on a busy machine, not the expected wait
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met; updates={self.updates} fills={self.fills}")
            await asyncio.sleep(0.01)


def make_gw(fx, **kw) -> BybitGateway:
    # (a REST call to the fake on loopback answers in milliseconds; the bound is for a loaded machine)
    opts = dict(timeout=5.0, retry_backoff=0.05, ping_interval=5.0)
    opts.update(kw)
    return BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, **opts)


def entry(gw, cid="lc-ETH-1", ref=2500.0, side="buy", symbol="ETHUSDT", qty=0.5):
    if side == "buy":
        px = gw.round_price(symbol, ref * (1 - 0.0015), "buy")
        tp, sl = gw.round_price(symbol, px * 1.0015, "sell"), gw.round_price(symbol, px * 0.9975, "buy")
    else:
        px = gw.round_price(symbol, ref * (1 + 0.0015), "sell")
        tp, sl = gw.round_price(symbol, px * (1 - 0.0015), "buy"), gw.round_price(symbol, px * 1.0025, "sell")
    return OrderIntent(symbol, side, qty, px, cid, take_profit=tp, stop_loss=sl)


@pytest.mark.integration
def test_start_instruments_rounding_and_protocol():
    async def main():
        async with FakeExchange(time_offset_ms=2500) as fx:
            gw = make_gw(fx)
            assert isinstance(gw, Gateway)
            await gw.start()
            try:
                # the fake's clock runs 2.5 s ahead: signing would fail (10002) without the offset
                assert abs(gw.rest.time_offset_ms - 2500) < 500
                inst = gw.instrument("ETHUSDT")
                assert (inst.tick_size, inst.qty_step, inst.min_qty) == (0.01, 0.01, 0.01)
                assert gw.round_price("ETHUSDT", 2496.259, "buy") == 2496.25
                assert gw.round_price("ETHUSDT", 2496.251, "sell") == 2496.26
                assert gw.round_price("ETHUSDT", 2496.25, "sell") == 2496.25  # on the grid stays put
                assert gw.round_price("ETHUSDT", 2500 * (1 - 0.0015), "buy") == 2496.25  # float noise absorbed
                assert gw.round_price("DOGEUSDT", 0.123456, "buy") == 0.12345
                assert gw.round_qty("BTCUSDT", 0.0129) == 0.012
                assert gw.round_qty("BTCUSDT", 0.0009) == 0.0
                with pytest.raises(ValueError, match="symbol"):
                    gw.instrument("NOPEUSDT")
                with pytest.raises(ValueError, match="side"):
                    gw.round_price("ETHUSDT", 1.0, "long")
                with pytest.raises(ValueError, match="client_id"):
                    await gw.place(OrderIntent("ETHUSDT", "buy", 0.5, 2400.0, "x" * 37))
                body = gw.order_body(entry(gw))
                assert body["timeInForce"] == "PostOnly" and body["orderLinkId"] == "lc-ETH-1"
                assert body["tpslMode"] == "Partial" and body["tpOrderType"] == "Limit" and body["tpLimitPrice"] == body["takeProfit"]
                assert body["slOrderType"] == "Market" and body["price"] == "2496.25" and body["qty"] == "0.5"
            finally:
                await gw.close()

    run(main())


@pytest.mark.integration
def test_post_only_crossing_reported_as_cancelled():
    async def main():
        async with FakeExchange() as fx:
            gw = make_gw(fx)
            rec = Recorder(gw)
            await gw.start()
            try:
                await fx.trade("ETHUSDT", 2490.0)  # the market already dropped below the entry
                first = await gw.place(entry(gw, "po-1"))
                assert first.status in ("pending", "new", "cancelled")
                await rec.wait(lambda: any(u.status == "cancelled" for u in rec.updates))
                u = [u for u in rec.updates if u.status == "cancelled"][0]
                assert u.client_id == "po-1" and u.reason == "EC_PostOnlyWillTakeLiquidity" and u.kind == "entry"
                q = await gw.query("ETHUSDT", "po-1")
                assert q.status == "cancelled" and q.reason == "EC_PostOnlyWillTakeLiquidity"
                assert await gw.query("ETHUSDT", "never-sent") is None
            finally:
                await gw.close()

    run(main())


@pytest.mark.parametrize("tp_mode", ["limit", "market"])
@pytest.mark.integration
def test_place_fill_take_profit(tp_mode):
    async def main():
        async with FakeExchange() as fx:
            gw = make_gw(fx, tp_mode=tp_mode)
            rec = Recorder(gw)
            await gw.start()
            try:
                await fx.trade("ETHUSDT", 2500.0)
                intent = entry(gw, "tp-1")
                u = await gw.place(intent)
                assert u.status in ("pending", "new") and u.client_id == "tp-1"
                assert [o.status for o in fx.orders_with_link("tp-1")] == ["New"]
                await fx.trade("ETHUSDT", intent.price - 0.05)
                await rec.wait(lambda: any(f.kind == "entry" for f in rec.fills))
                f = rec.fills[0]
                assert (f.client_id, f.side, f.price, f.qty, f.is_maker) == ("tp-1", "buy", intent.price, 0.5, True)
                assert f.fee == pytest.approx(intent.price * 0.5 * 0.0002)
                await rec.wait(lambda: {u.kind for u in rec.updates if u.status == "new"} >= {"tp", "sl"})
                (pos,) = await gw.positions()
                assert (pos.symbol, pos.side, pos.size, pos.entry_price) == ("ETHUSDT", "buy", 0.5, intent.price)
                assert pos.take_profit == intent.take_profit and pos.stop_loss == intent.stop_loss
                await fx.trade("ETHUSDT", intent.take_profit + 0.5)
                await rec.wait(lambda: any(f.kind == "tp" for f in rec.fills))
                tp = [f for f in rec.fills if f.kind == "tp"][0]
                assert tp.client_id == "tp-1" and tp.side == "sell" and tp.qty == 0.5
                if tp_mode == "limit":  # resting limit at the TP price, maker
                    assert tp.price == intent.take_profit and tp.is_maker
                else:  # market at the triggering print, taker
                    assert tp.price == intent.take_profit + 0.5 and not tp.is_maker
                await rec.wait(lambda: any(u.kind == "sl" and u.status == "deactivated" for u in rec.updates))
                assert await gw.positions() == []
                assert await gw.equity() == pytest.approx(fx.venue.wallet_balance)
            finally:
                await gw.close()

    run(main())


@pytest.mark.integration
def test_stop_loss_short_and_close_position_and_cancel():
    async def main():
        async with FakeExchange() as fx:
            gw = make_gw(fx)
            rec = Recorder(gw)
            await gw.start()
            try:
                await fx.trade("SOLUSDT", 180.0)
                intent = entry(gw, "s-1", ref=180.0, side="sell", symbol="SOLUSDT", qty=10)
                assert intent.price == 180.27
                await gw.place(intent)
                await fx.trade("SOLUSDT", 180.3)
                await rec.wait(lambda: any(f.kind == "entry" for f in rec.fills))
                await fx.trade("SOLUSDT", intent.stop_loss)  # at the stop: triggers
                await rec.wait(lambda: any(f.kind == "sl" for f in rec.fills))
                sl = [f for f in rec.fills if f.kind == "sl"][0]
                assert (sl.client_id, sl.side, sl.price, sl.is_maker) == ("s-1", "buy", intent.stop_loss, False)
                # a second trade: closed at market by the hold timeout
                intent2 = entry(gw, "s-2", ref=180.0, side="sell", symbol="SOLUSDT", qty=10)
                await fx.trade("SOLUSDT", 180.0)
                await gw.place(intent2)
                await fx.trade("SOLUSDT", 180.5)
                await rec.wait(lambda: any(f.client_id == "s-2" for f in rec.fills))
                u = await gw.close_position("SOLUSDT", "s-2-exit")
                assert u.kind == "exit" and u.status in ("pending", "filled")
                await rec.wait(lambda: any(f.kind == "exit" for f in rec.fills))
                ex = [f for f in rec.fills if f.kind == "exit"][0]
                assert ex.client_id == "s-2-exit" and ex.side == "buy" and ex.qty == 10 and ex.price == 180.5
                assert fx.venue.positions["SOLUSDT"].size == 0
                assert (await gw.close_position("SOLUSDT", "s-2-exit2")).reason == "no_position"
                # cancel a resting entry
                await gw.place(entry(gw, "c-1"))  # no ETH price known yet: rests
                c = await gw.cancel("ETHUSDT", "c-1")
                assert c.status == "cancelled" and c.client_id == "c-1"
                again = await gw.cancel("ETHUSDT", "c-1")
                assert again.status == "cancelled"
                gone = await gw.cancel("ETHUSDT", "never")
                assert gone.status == "rejected" and gone.reason.startswith("110001")
            finally:
                await gw.close()

    run(main())


@pytest.mark.integration
def test_venue_rejection_is_an_update_not_an_exception():
    async def main():
        async with FakeExchange(instruments={"ETHUSDT": {"tickSize": 0.01, "qtyStep": 0.01, "minOrderQty": 0.01}}) as fx:
            gw = make_gw(fx)
            await gw.start()
            try:
                fx.venue.instruments["ETHUSDT"]["minOrderQty"] = 1.0  # the venue changed its rules
                u = await gw.place(OrderIntent("ETHUSDT", "buy", 0.5, 2400.0, "rej-1"))
                assert u.status == "rejected" and u.reason.startswith("10001")
            finally:
                await gw.close()

    run(main())


# ----------------------------------------------------------------- idempotency under faults
def _creates(fx, cid):
    return [r for r in fx.requests_to("/v5/order/create") if r.body and r.body.get("orderLinkId") == cid]


# (an HTTP 403 is not a rate limit to retry but an IP ban of at least 10 minutes: test_bybit_bad_days.py)
@pytest.mark.parametrize("fault", ["timeout_created", "timeout_not_yet", "5xx_not_created", "5xx_created", "rate_limit"])
@pytest.mark.integration
def test_create_faults_never_double_an_order(fault):
    async def main():
        async with FakeExchange() as fx:
            gw = make_gw(fx, timeout=0.3)
            await gw.start()
            try:
                await fx.trade("ETHUSDT", 2500.0)
                path = "/v5/order/create"
                if fault == "timeout_created":
                    fx.delay_next(1, seconds=0.8, path=path, process=True)
                elif fault == "timeout_not_yet":
                    fx.delay_next(1, seconds=0.8, path=path, process=False)
                elif fault == "5xx_not_created":
                    fx.fail_next(2, status=503, path=path)
                elif fault == "5xx_created":
                    fx.fail_next(1, status=500, path=path, process=True)
                elif fault == "rate_limit":
                    fx.rate_limit_next(2, path=path, reset_after_ms=150)
                u = await gw.place(entry(gw, "idem-1"))
                assert u.client_id == "idem-1" and u.status in ("pending", "new")
                await asyncio.sleep(1.0)  # let a delayed original land
                orders = fx.orders_with_link("idem-1")
                assert len(orders) == 1 and orders[0].status == "New"
                assert len(fx.venue.orders) == 1
                sent = _creates(fx, "idem-1")
                assert len({(r.body["orderLinkId"], r.body["price"], r.body["qty"]) for r in sent}) == 1
                expected = {"timeout_created": 1, "timeout_not_yet": 2, "5xx_not_created": 3, "5xx_created": 1,
                            "rate_limit": 3}[fault]
                assert len(sent) == expected
                if fault == "timeout_not_yet":
                    assert [r.ret_code for r in sent] == [110072, 0] or sorted(r.ret_code for r in sent) == [0, 110072]
                if fault.startswith("timeout") or fault.startswith("5xx"):
                    assert fx.requests_to("/v5/order/realtime"), "the venue is asked before any resend"
            finally:
                await gw.close()

    run(main())


@pytest.mark.integration
def test_duplicate_link_id_resolves_to_existing_order():
    async def main():
        async with FakeExchange() as fx:
            gw = make_gw(fx)
            await gw.start()
            try:
                fx.venue.place_resting("ETHUSDT", "Buy", 0.5, 2400.0, order_link_id="dup-1")
                u = await gw.place(OrderIntent("ETHUSDT", "buy", 0.5, 2400.0, "dup-1"))
                assert u.status == "new" and u.client_id == "dup-1" and u.venue_order_id == fx.orders_with_link("dup-1")[0].order_id
                assert len(fx.orders_with_link("dup-1")) == 1
            finally:
                await gw.close()

    run(main())


@pytest.mark.integration
def test_query_failures_do_not_resend_blindly():
    async def main():
        async with FakeExchange() as fx:
            gw = make_gw(fx, timeout=0.3)
            await gw.start()
            try:
                fx.fail_next(1, status=500, path="/v5/order/create")
                fx.fail_next(4, status=500, path="/v5/order/realtime")
                with pytest.raises(GatewayError, match="no answer"):
                    await gw.place(entry(gw, "q-1"))
                assert len(_creates(fx, "q-1")) == 1 and not fx.orders_with_link("q-1")
            finally:
                await gw.close()

    run(main())


# ----------------------------------------------------------------- reconcile and reconnect
@pytest.mark.integration
def test_reconciliation_at_start_finds_orders_and_positions():
    async def main():
        async with FakeExchange() as fx:
            fx.venue.place_resting("ETHUSDT", "Buy", 0.5, 2400.0, order_link_id="left-over")
            fx.venue.place_resting("BTCUSDT", "Sell", 0.01, 80000.0, order_link_id="left-over-2")
            fx.venue.set_position("SOLUSDT", -10, 181.0, take_profit=180.0, stop_loss=182.0)
            gw = make_gw(fx)
            await gw.start()
            try:
                got = {u.client_id: u for u in gw.reconciled["orders"]}
                assert set(got) == {"left-over", "left-over-2"}
                assert got["left-over"].status == "new" and got["left-over"].price == 2400.0
                (p,) = gw.reconciled["positions"]
                assert (p.symbol, p.side, p.size, p.entry_price, p.take_profit, p.stop_loss) == ("SOLUSDT", "sell", 10, 181.0, 180.0, 182.0)
                assert len(await gw.open_orders()) == 2
            finally:
                await gw.close()

    run(main())


@pytest.mark.integration
def test_private_stream_reconnects_and_recovers_missed_fill():
    async def main():
        async with FakeExchange() as fx:
            gw = make_gw(fx)
            rec = Recorder(gw)
            await gw.start()
            try:
                await fx.trade("ETHUSDT", 2500.0)
                intent = entry(gw, "rc-1")
                await gw.place(intent)
                await rec.wait(lambda: any(u.status == "new" for u in rec.updates))
                # the stream goes silent (pushes lost) while the entry fills, then the socket dies
                fx.stall("private")
                await fx.trade("ETHUSDT", intent.price - 0.05)
                await asyncio.sleep(0.1)
                assert not rec.fills
                assert fx.drop("private") == 1
                await rec.wait(lambda: gw.stream.stats["reconnects"] == 1)
                await rec.wait(lambda: any(f.kind == "entry" for f in rec.fills))
                await rec.wait(lambda: any(u.status == "filled" for u in rec.updates))
                await rec.wait(lambda: {u.kind for u in rec.updates if u.status == "new"} >= {"tp", "sl"})
                assert [ok for _, ok, _ in fx.auth_log] == [True, True]  # re-authenticated
                assert len([f for f in rec.fills if f.kind == "entry"]) == 1
                # pushes flow again on the new connection
                await fx.trade("ETHUSDT", intent.take_profit + 0.5)
                await rec.wait(lambda: any(f.kind == "tp" for f in rec.fills))
            finally:
                await gw.close()

    run(main())


@pytest.mark.integration
def test_stalled_private_stream_is_detected_and_replaced():
    async def main():
        async with FakeExchange() as fx:
            gw = make_gw(fx, ping_interval=0.1, stale_after=0.5)
            rec = Recorder(gw)
            await gw.start()
            try:
                assert fx.stall("private") == 1
                await rec.wait(lambda: gw.stream.stats["stale"] >= 1 and gw.stream.connected.is_set(), timeout=30)
                assert fx.connections("private") >= 1
                await fx.trade("ETHUSDT", 2500.0)
                await gw.place(entry(gw, "st-1"))
                await rec.wait(lambda: any(u.client_id == "st-1" and u.status == "new" for u in rec.updates))
            finally:
                await gw.close()

    run(main())


@pytest.mark.integration
def test_duplicate_private_frames_are_ignored():
    async def main():
        async with FakeExchange() as fx:
            fx.faults.duplicate_private = True
            gw = make_gw(fx)
            rec = Recorder(gw)
            await gw.start()
            try:
                await fx.trade("ETHUSDT", 2500.0)
                intent = entry(gw, "d-1")
                await gw.place(intent)
                await fx.trade("ETHUSDT", intent.price - 0.05)
                await rec.wait(lambda: any(f.kind == "entry" for f in rec.fills))
                assert await _eventually(lambda: gw.stream.stats["duplicates"] > 0)
                await asyncio.sleep(0.2)  # a second fill, if the duplicate were taken, would land by now
                assert len(rec.fills) == 1
            finally:
                await gw.close()

    run(main())


# ----------------------------------------------------------------- rate limit
def _max_in_window(stamps_ns, window_ns=1_000_000_000):
    stamps = sorted(stamps_ns)
    best, j = 0, 0
    for i in range(len(stamps)):
        while stamps[i] - stamps[j] >= window_ns:
            j += 1
        best = max(best, i - j + 1)
    return best


@pytest.mark.integration
def test_create_burst_never_exceeds_ten_per_second_at_the_venue():
    async def main():
        async with FakeExchange() as fx:
            gw = make_gw(fx)
            await gw.start()
            try:
                await fx.trade("DOGEUSDT", 0.2)
                intents = [OrderIntent("DOGEUSDT", "buy", 100, 0.19, f"burst-{i:02d}") for i in range(23)]
                results = await asyncio.gather(*(gw.place(i) for i in intents))
                assert all(r.status in ("pending", "new") for r in results)
                creates = fx.requests_to("/v5/order/create")
                assert len(creates) == 23  # no 10006 retries were needed
                assert all(r.ret_code == 0 for r in creates)
                assert _max_in_window([r.recv_ns for r in creates]) <= 10
                assert len(fx.venue.open_orders("DOGEUSDT")) == 23
            finally:
                await gw.close()

    run(main())


def test_limiters_spacing():
    async def main():
        lim = SlidingWindowLimiter(5, 0.2, margin=0.0)
        stamps = []
        for _ in range(12):
            async with lim.slot():
                stamps.append(time.monotonic_ns())
        assert _max_in_window(stamps, 200_000_000) <= 5
        assert lim.waited >= 2
        tb = TokenBucket(rate=50.0, capacity=1)
        t = []
        for _ in range(5):
            await tb.acquire()
            t.append(time.monotonic())
        assert all(b - a >= 0.018 for a, b in zip(t, t[1:]))
        with pytest.raises(ValueError):
            SlidingWindowLimiter(0)

    run(main())


# ----------------------------------------------------------------- secrets
@pytest.mark.integration
def test_secrets_never_in_logs_repr_or_errors(caplog):
    async def main():
        async with FakeExchange() as fx:
            gw = make_gw(fx, timeout=0.3)
            with caplog.at_level(logging.DEBUG):
                await gw.start()
                try:
                    fx.fail_next(1, status=500, path="/v5/order/create")
                    await fx.trade("ETHUSDT", 2500.0)
                    await gw.place(entry(gw, "sec-1"))
                    fx.drop("private")
                    await asyncio.sleep(0.5)
                finally:
                    await gw.close()
                bad = BybitGateway(fx.api_key, "not-the-secret-xyz", fx.rest_url, fx.private_ws_url, timeout=5.0, connect_timeout=5)
                with pytest.raises(GatewayError) as ei:
                    await bad.start()
                await bad.close()
            for text in (repr(gw), str(gw), repr(gw.rest), repr(gw.stream), str(ei.value), caplog.text):
                assert fx.api_secret not in text and "not-the-secret-xyz" not in text
                assert fx.api_key not in text
            assert "10004" in str(ei.value)
            assert "fake…" in caplog.text  # the key is shown by its first four characters only
            return fx

    run(main())


@pytest.mark.integration
def test_ambiguous_create_of_an_order_that_already_closed_is_found():
    """The order reached the venue and was cancelled at once (post-only would take): it is no longer among the
    open orders, so the gateway must look among the closed ones instead of resending."""
    async def main():
        async with FakeExchange() as fx:
            gw = make_gw(fx, timeout=0.3)
            await gw.start()
            try:
                await fx.trade("ETHUSDT", 2490.0)
                fx.fail_next(1, status=500, path="/v5/order/create", process=True)
                u = await gw.place(entry(gw, "closed-1"))
                assert u.status == "cancelled" and u.reason == "EC_PostOnlyWillTakeLiquidity"
                assert len(_creates(fx, "closed-1")) == 1 and len(fx.orders_with_link("closed-1")) == 1
                opens = [r.query.get("openOnly") for r in fx.requests_to("/v5/order/realtime") if r.query.get("orderLinkId") == "closed-1"]
                assert opens == ["0", "1"]
            finally:
                await gw.close()

    run(main())


# ----------------------------------------------------------------- private-stream parsing (no network)
def _order(**kw):
    d = {"symbol": "ETHUSDT", "orderId": "o1", "orderLinkId": "c1", "side": "Buy", "orderStatus": "New", "price": "2496.25",
         "qty": "0.5", "cumExecQty": "0", "avgPrice": "", "rejectReason": "EC_NoError", "cancelType": "UNKNOWN",
         "stopOrderType": "", "reduceOnly": False, "updatedTime": "1700000000123"}
    d.update(kw)
    return d


@pytest.mark.parametrize("venue_status,status", [
    ("New", "new"), ("PartiallyFilled", "partially_filled"), ("Filled", "filled"), ("Cancelled", "cancelled"),
    ("Rejected", "rejected"), ("Untriggered", "new"), ("Triggered", "triggered"), ("Deactivated", "deactivated"),
    ("PartiallyFilledCanceled", "cancelled"),
])
def test_order_status_mapping(venue_status, status):
    from liqcore.venues.gateway import ORDER_STATUSES
    from liqcore.venues.bybit.private import parse_order

    u = parse_order(_order(orderStatus=venue_status))
    assert u.status == status and status in ORDER_STATUSES
    assert (u.client_id, u.venue_order_id, u.side, u.price, u.qty, u.ts_ns) == ("c1", "o1", "buy", 2496.25, 0.5, 1700000000123 * 10**6)


def test_parse_kinds_reasons_and_bad_input():
    from liqcore.venues.bybit.private import parse_execution, parse_order, parse_position

    assert parse_order(_order(stopOrderType="TakeProfit", orderLinkId="")).kind == "tp"
    assert parse_order(_order(stopOrderType="PartialTakeProfit")).kind == "tp"
    assert parse_order(_order(stopOrderType="StopLoss")).kind == "sl"
    assert parse_order(_order(stopOrderType="PartialStopLoss")).kind == "sl"
    assert parse_order(_order(reduceOnly=True)).kind == "exit"
    c = parse_order(_order(orderStatus="Cancelled", rejectReason="EC_PostOnlyWillTakeLiquidity", cancelType="CancelByUser"))
    assert c.reason == "EC_PostOnlyWillTakeLiquidity"
    assert parse_order(_order(orderStatus="Cancelled", cancelType="CancelByUser")).reason == "CancelByUser"
    sl = parse_order(_order(stopOrderType="StopLoss", price="0", triggerPrice="2490.01", orderStatus="Untriggered"))
    assert sl.price == 2490.01
    with pytest.raises(ValueError, match="orderStatus"):
        parse_order(_order(orderStatus="Weird"))
    with pytest.raises(ValueError, match="price"):
        parse_order(_order(price="abc"))
    with pytest.raises(ValueError, match="side"):
        parse_order(_order(side="Long"))
    ex = {"symbol": "ETHUSDT", "orderLinkId": "c1", "side": "Sell", "execPrice": "2500", "execQty": "0.5", "execFee": "0.25",
          "isMaker": True, "execId": "e1", "execType": "Trade", "stopOrderType": "TakeProfit", "execTime": "1700000000000"}
    f = parse_execution(ex)
    assert (f.kind, f.side, f.price, f.qty, f.fee, f.is_maker, f.exec_id) == ("tp", "sell", 2500.0, 0.5, 0.25, True, "e1")
    assert parse_execution({**ex, "execType": "Funding"}) is None
    with pytest.raises(ValueError, match="execQty"):
        parse_execution({**ex, "execQty": "0"})
    p = parse_position({"symbol": "ETHUSDT", "side": "Sell", "size": "2", "entryPrice": "100", "takeProfit": "0", "stopLoss": "101"})
    assert (p.side, p.size, p.entry_price, p.take_profit, p.stop_loss) == ("sell", 2.0, 100.0, None, 101.0)
    flat = parse_position({"symbol": "ETHUSDT", "side": "", "size": "0", "avgPrice": "0"})
    assert (flat.side, flat.size) == ("", 0.0)


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("seed", [1])
def test_random_fault_soak_keeps_one_order_per_client_id(seed):
    """Many concurrent creates and cancels while the venue randomly times out (before or after acting),
    answers 5xx (before or after acting) and rate-limits: every client_id is at the venue at most once, every
    successful place() is at the venue, and nothing is lost silently."""
    import random

    rnd = random.Random(seed)

    async def main():
        async with FakeExchange() as fx:
            gw = make_gw(fx, timeout=0.25, retry_backoff=0.02, max_create_attempts=6)
            await gw.start()
            try:
                fx.set_last_price("DOGEUSDT", 0.2)
                for _ in range(40):
                    k = rnd.random()
                    path = rnd.choice(["/v5/order/create", "/v5/order/create", "/v5/order/realtime", "/v5/order/cancel", None])
                    if k < 0.25:
                        fx.delay_next(1, seconds=rnd.choice([0.05, 0.4]), path=path, process=rnd.random() < 0.5)
                    elif k < 0.5:
                        fx.fail_next(1, status=rnd.choice([500, 502, 503]), path=path, process=rnd.random() < 0.5)
                    elif k < 0.6:
                        fx.rate_limit_next(1, path=path, reset_after_ms=50)
                ok, failed = set(), set()

                async def one(i):
                    cid = f"soak-{seed}-{i:03d}"
                    try:
                        u = await gw.place(OrderIntent("DOGEUSDT", "buy", 100, round(0.19 - i * 1e-5, 5), cid))
                    except GatewayError:
                        failed.add(cid)
                        return
                    assert u.client_id == cid
                    ok.add(cid)
                    if i % 3 == 0:
                        try:
                            await gw.cancel("DOGEUSDT", cid)
                        except GatewayError:
                            pass

                await asyncio.gather(*(one(i) for i in range(40)))
                await asyncio.sleep(0.6)  # delayed originals land
                links = [o.order_link_id for o in fx.venue.orders.values()]
                assert len(links) == len(set(links)), "an order was doubled"
                assert ok <= set(links)
                assert len(ok) + len(failed) == 40
                assert len(ok) >= 30
            finally:
                await gw.close()

    run(main(), timeout=60)


@pytest.mark.integration
def test_partial_fills_grow_the_bracket():
    async def main():
        async with FakeExchange(partial_fills=True) as fx:
            gw = make_gw(fx)
            rec = Recorder(gw)
            await gw.start()
            try:
                await fx.trade("ETHUSDT", 2500.0)
                intent = entry(gw, "pf-1", qty=1.0)
                await gw.place(intent)
                await fx.trade("ETHUSDT", intent.price - 0.05, qty=0.3)
                await rec.wait(lambda: any(u.status == "partially_filled" for u in rec.updates))
                u = [u for u in rec.updates if u.status == "partially_filled"][-1]
                assert (u.client_id, u.filled_qty, u.avg_price) == ("pf-1", 0.3, intent.price)
                await rec.wait(lambda: {u.kind for u in rec.updates if u.status == "new"} >= {"tp", "sl"})
                await fx.trade("ETHUSDT", intent.price - 0.05, qty=5)
                await rec.wait(lambda: any(u.status == "filled" and u.kind == "entry" for u in rec.updates))
                assert [f.qty for f in rec.fills] == [0.3, 0.7]
                kids = [o for o in fx.venue.orders.values() if o.stop_order_type]
                assert len(kids) == 2 and all(k.qty == pytest.approx(1.0) for k in kids)
                await fx.trade("ETHUSDT", intent.stop_loss - 1, qty=0.01)  # a stop fills fully at market
                await rec.wait(lambda: any(f.kind == "sl" for f in rec.fills))
                assert [f.qty for f in rec.fills if f.kind == "sl"] == [pytest.approx(1.0)]
                assert fx.venue.positions["ETHUSDT"].size == 0
            finally:
                await gw.close()

    run(main())


@pytest.mark.integration
@pytest.mark.parametrize("fault", ["5xx_before", "5xx_after", "timeout_after", "rate_limited"])
def test_cancel_under_faults(fault):
    async def main():
        async with FakeExchange() as fx:
            gw = make_gw(fx, timeout=0.3)
            await gw.start()
            try:
                await gw.place(OrderIntent("ETHUSDT", "buy", 0.5, 2400.0, "cf-1"))
                path = "/v5/order/cancel"
                if fault == "5xx_before":
                    fx.fail_next(1, status=503, path=path)
                elif fault == "5xx_after":
                    fx.fail_next(1, status=502, path=path, process=True)
                elif fault == "timeout_after":
                    fx.delay_next(1, seconds=0.6, path=path, process=True)
                else:
                    fx.rate_limit_next(10, path=path, reset_after_ms=10)
                if fault == "rate_limited":
                    with pytest.raises(GatewayError, match="rate limited"):
                        await gw.cancel("ETHUSDT", "cf-1")
                    assert fx.orders_with_link("cf-1")[0].status == "New"
                    return
                u = await gw.cancel("ETHUSDT", "cf-1")
                assert u.status == "cancelled" and u.client_id == "cf-1"
                assert fx.orders_with_link("cf-1")[0].status == "Cancelled"
                sent = [r for r in fx.requests_to(path)]
                assert len(sent) == (2 if fault == "5xx_before" else 1)
            finally:
                await gw.close()

    run(main())


# ----------------------------------------------------------------- reaction path: grid formatting, fast create
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN  # noqa: E402

from hypothesis import assume, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from liqcore.venues.instruments import Instrument, _fmt, _to_grid, grid_count, grid_float, grid_str  # noqa: E402
from liqcore.venues.bybit.rest import BybitREST, BybitTransportError  # noqa: E402
from liqcore.venues.bybit.signing import rest_signature  # noqa: E402

_SIZES = [0.01, 0.1, 0.5, 0.05, 0.25, 0.005, 0.0001, 1e-05, 1e-08, 0.001, 1.0, 5.0, 10.0, 100.0, 2.5e-07]
_MODES = [(0, ROUND_HALF_EVEN), (1, ROUND_FLOOR), (2, ROUND_CEILING)]


def _grid_value(draw_kind: str, k: int, frac: float, size: float) -> float:
    if draw_kind == "on":
        return float(grid_str(k, Instrument("X", size, size, 0).tick_grid))
    if draw_kind == "half":
        return (k + 0.5) * size
    if draw_kind == "noise":
        return k * size * (1 + frac * 1e-12)
    if draw_kind == "tolerance":
        return (k + frac * 3e-9) * size
    return (k + abs(frac)) * size


@pytest.mark.property
@given(size=st.sampled_from(_SIZES), k=st.integers(0, 10 ** 9), frac=st.floats(-1, 1),
       kind=st.sampled_from(["on", "half", "noise", "tolerance", "any"]))
def test_grid_formatting_equals_decimal(size, k, frac, kind):
    x = _grid_value(kind, k, frac, size)
    assume(x >= 0 and x == x and x < 1e15)
    inst = Instrument("X", size, size, 0.0)
    for mode, rounding in _MODES:
        exact = _to_grid(x, inst.tick, rounding)
        n = grid_count(x, inst.tick_grid, mode)
        assert grid_str(n, inst.tick_grid) == _fmt(exact)
        assert grid_float(n, inst.tick_grid) == float(exact)


def test_grid_edge_cases_and_bad_sizes():
    inst = Instrument("BTCUSDT", 0.1, 0.001, 0.001)
    assert grid_str(grid_count(100000.05, inst.tick_grid, 0), inst.tick_grid) == _fmt(_to_grid(100000.05, inst.tick, ROUND_HALF_EVEN))
    assert grid_str(grid_count(2496.2500000001, Instrument("E", 0.01, 0.01, 0).tick_grid, 1), Instrument("E", 0.01, 0.01, 0).tick_grid) == "2496.25"
    assert grid_str(grid_count(0.0, inst.step_grid, 1), inst.step_grid) == "0"
    assert grid_str(7, Instrument("S", 1e-08, 1, 0).tick_grid) == "0.00000007"
    assert grid_str(3, Instrument("T", 10.0, 1, 0).tick_grid) == "30"
    for bad in (0.0, -0.01, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="tick_size"):
            Instrument("X", bad, 0.01, 0.01)


def test_order_body_strings_match_the_decimal_formatting():
    gw = BybitGateway("k" * 8, "s" * 16, "http://127.0.0.1:9", "ws://127.0.0.1:9")
    gw._instruments["ETHUSDT"] = Instrument("ETHUSDT", 0.01, 0.01, 0.01)
    gw._instruments["PEPEUSDT"] = Instrument("PEPEUSDT", 1e-07, 100.0, 100.0)
    body = gw.order_body(OrderIntent("ETHUSDT", "buy", 0.5, 2496.2500000001, "c-1", take_profit=2500.0, stop_loss=2490.1))
    assert (body["qty"], body["price"], body["takeProfit"], body["stopLoss"]) == ("0.5", "2496.25", "2500", "2490.1")
    body = gw.order_body(OrderIntent("PEPEUSDT", "sell", 1234567.0, 1.2345e-05, "c-2"))
    assert (body["qty"], body["price"]) == ("1234600", "0.0000123")
    assert gw.round_price("PEPEUSDT", 1.23456e-05, "buy") == 1.23e-05
    assert gw.round_price("PEPEUSDT", 1.23401e-05, "sell") == 1.24e-05
    assert gw.round_qty("PEPEUSDT", 199.0) == 100.0 and gw.round_qty("PEPEUSDT", 99.0) == 0.0


async def _capture_server(answer):
    """A raw HTTP/1.1 server on 127.0.0.1 that records each request (head, body) and writes ``answer(i)``
    (bytes, or None to close the connection without answering)."""
    seen: list[tuple[bytes, bytes]] = []
    conns = []

    async def handle(reader, writer):
        conns.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                n = 0
                for ln in head.split(b"\r\n"):
                    if ln.lower().startswith(b"content-length:"):
                        n = int(ln.split(b":", 1)[1])
                body = await reader.readexactly(n)
                seen.append((head, body))
                out = answer(len(seen) - 1)
                if out is None:
                    writer.close()
                    return
                parts = out if isinstance(out, list) else [out]
                for part in parts:
                    writer.write(part)
                    await writer.drain()
                    await asyncio.sleep(0.01)
                if b"Connection: close" in parts[0]:
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", seen, conns


def _ok(body: bytes = b'{"retCode":0,"retMsg":"OK","result":{"orderId":"o-1"}}', extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")
    return {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)} | {"": lines[0]}


def test_fast_create_request_is_identical_to_the_aiohttp_request():
    async def main():
        server, url, seen, _ = await _capture_server(lambda i: _ok())
        body = {"category": "linear", "symbol": "ETHUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.5",
                "price": "2496.25", "timeInForce": "PostOnly", "positionIdx": 0, "orderLinkId": "same-1"}
        try:
            for fast in (True, False):
                rest = BybitREST("key-12345678", "secret-abcdef", url, fast_create=fast)
                rest.now_ms = lambda: 1_700_000_000_000
                async with rest:
                    assert await rest.create_order(body) == {"orderId": "o-1"}
        finally:
            server.close()
        (h_fast, b_fast), (h_aio, b_aio) = seen
        hf, ha = _headers(h_fast), _headers(h_aio)
        assert b_fast == b_aio
        assert hf[""] == ha[""] == "POST /v5/order/create HTTP/1.1"
        assert hf["x-bapi-sign"] == rest_signature("secret-abcdef", 1_700_000_000_000, "key-12345678", 5000, b_fast)
        # the fast path asks for an uncompressed answer; every other header is the same
        assert {k for k in set(hf) | set(ha) if hf.get(k) != ha.get(k)} == {"accept-encoding"}

    run(main())


def test_fast_create_reuses_one_connection_and_reads_chunked_and_close_delimited_answers():
    body = b'{"retCode":0,"retMsg":"OK","result":{"orderId":"o-2"}}'
    chunked = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Bapi-Limit-Reset-Timestamp: 1\r\n\r\n",
               b"%x\r\n%s\r\n" % (20, body[:20]), b"%x\r\n%s\r\n0\r\n\r\n" % (len(body) - 20, body[20:])]
    answers = [_ok(), chunked, _ok(), [b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body], _ok()]

    async def main():
        server, url, seen, conns = await _capture_server(lambda i: answers[i])
        try:
            async with BybitREST("key-12345678", "secret-abcdef", url) as rest:
                got = [await rest.create_order({"orderLinkId": f"r-{i}"}) for i in range(3)]
                assert [g["orderId"] for g in got] == ["o-1", "o-2", "o-1"] and rest._h1.opened == 1
                assert (await rest.create_order({"orderLinkId": "r-3"}))["orderId"] == "o-2"  # body ends at the close
                assert (await rest.create_order({"orderLinkId": "r-4"}))["orderId"] == "o-1"
                assert rest._h1.opened == 2 and len(seen) == 5
                # the venue closes an idle keep-alive connection: the next create opens a new one
                for w in conns:
                    w.close()
                await asyncio.sleep(0.05)
                server_answers = len(seen)
                answers.append(_ok())
                assert (await rest.create_order({"orderLinkId": "r-5"}))["orderId"] == "o-1"
                assert rest._h1.opened == 3 and len(seen) == server_answers + 1
        finally:
            server.close()

    run(main())


@pytest.mark.parametrize("answer", ["close", "silence", "garbage", "5xx"])
def test_fast_create_failures_are_transport_errors(answer):
    async def main():
        def reply(i):
            if answer == "close":
                return None
            if answer == "silence":
                return [b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"]
            if answer == "garbage":
                return b"SSH-2.0-OpenSSH\r\n\r\n"
            return b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad"

        server, url, seen, _ = await _capture_server(reply)
        try:
            async with BybitREST("key-12345678", "secret-abcdef", url, timeout=0.3) as rest:
                with pytest.raises(BybitTransportError) as ei:
                    await rest.create_order({"orderLinkId": "f-1"})
                assert len(seen) == 1 and rest.stats["transport_errors"] == 1
                if answer == "silence":
                    assert ei.value.reason == "timeout" and not rest._h1._idle
                if answer == "5xx":
                    assert ei.value.http_status == 502
        finally:
            server.close()

    run(main())


def test_fast_create_of_a_refused_connection_is_a_transport_error():
    async def main():
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        async with BybitREST("key-12345678", "secret-abcdef", f"http://127.0.0.1:{port}", timeout=0.5) as rest:
            with pytest.raises(BybitTransportError, match="connection error"):
                await rest.create_order({"orderLinkId": "x-1"})

    run(main())


@pytest.mark.integration
def test_gateway_create_goes_out_on_the_fast_connection():
    async def main():
        async with FakeExchange() as fx:
            gw = make_gw(fx)
            await gw.start()
            try:
                await fx.trade("ETHUSDT", 2500.0)
                for i in range(3):
                    u = await gw.place(entry(gw, f"fast-{i}"))
                    assert u.status in ("pending", "new")
                    await gw.cancel("ETHUSDT", f"fast-{i}")
                assert gw.rest._h1.opened == 1
                creates = fx.requests_to("/v5/order/create")
                assert [r.ret_code for r in creates] == [0, 0, 0]  # signatures accepted by the venue
                assert [len(fx.orders_with_link(f"fast-{i}")) for i in range(3)] == [1, 1, 1]
            finally:
                await gw.close()

    run(main())


async def _eventually(cond, timeout: float = 10.0) -> bool:
    """Poll ``cond`` every 10 ms until it holds or ``timeout`` seconds pass (timers stretch on a loaded machine)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            return False
        await asyncio.sleep(0.01)
    return True


def test_fast_create_connection_is_opened_at_start_and_kept_alive():
    async def main():
        server, url, seen, conns = await _capture_server(lambda i: _ok())
        try:
            async with BybitREST("key-12345678", "secret-abcdef", url, keepalive_interval=0.1) as rest:
                assert rest._h1.opened == 1 and not seen  # open before the first create
                assert await _eventually(lambda: rest._h1.pings >= 2)  # a loaded machine stretches the ticks
                assert rest._h1.opened == 1
                assert all(h.startswith(b"GET /v5/market/time HTTP/1.1\r\n") for h, _ in seen)
                assert (await rest.create_order({"orderLinkId": "k-1"}))["orderId"] == "o-1"
                assert rest._h1.opened == 1 and seen[-1][0].startswith(b"POST /v5/order/create ")
                for w in conns:  # the venue drops the idle connection: a fresh one is ready before the next create
                    w.close()
                assert await _eventually(lambda: rest._h1.opened == 2 and rest._h1.idle())
                assert rest._h1.opened == 2
                n = len(seen)
                assert (await rest.create_order({"orderLinkId": "k-2"}))["orderId"] == "o-1"
                assert rest._h1.opened == 2 and len(seen) == n + 1
            assert rest._keeper is None
        finally:
            server.close()
        with pytest.raises(ValueError, match="keepalive_interval"):
            BybitREST("key-12345678", "secret-abcdef", url, keepalive_interval=0)

    run(main())


def test_limiter_try_acquire_fast_path():
    async def main():
        now = [0.0]
        lim = SlidingWindowLimiter(3, 0.1, margin=0.0, clock=lambda: now[0])
        assert [lim.try_acquire() for _ in range(4)] == [True, True, True, False]
        assert lim.delay() == math.inf  # (all three in flight: no answer yet)
        for _ in range(3):
            lim.release()
        assert lim.delay() == pytest.approx(0.1)
        now[0] = 0.1
        assert [lim.try_acquire() for _ in range(4)] == [True, True, True, False] and lim.acquired == 6
        for _ in range(3):
            lim.release()
        # a queued acquire() is never overtaken by try_acquire(), even once a slot is free again
        waiter = asyncio.ensure_future(lim.acquire())
        await asyncio.sleep(0)
        assert lim._queued == 1 and not waiter.done()
        now[0] = 0.2
        assert not lim.try_acquire()
        await asyncio.wait_for(waiter, 2)
        assert lim._queued == 0 and lim.acquired == 7 and lim.waited == 1
        lim.release()
        assert [lim.try_acquire() for _ in range(3)] == [True, True, False]

    run(main())


# ------------------------------------------------------------------ synchronous create (send_now / post_now)
def test_post_now_writes_the_same_bytes_as_the_task_path():
    async def main():
        server, url, seen, _ = await _capture_server(lambda i: _ok())
        body = {"category": "linear", "symbol": "ETHUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.5",
                "price": "2496.25", "timeInForce": "PostOnly", "positionIdx": 0, "orderLinkId": "same-1"}
        try:
            async with BybitREST("key-12345678", "secret-abcdef", url) as rest:
                rest.now_ms = lambda: 1_700_000_000_000
                assert await rest.create_order(body) == {"orderId": "o-1"}  # task path
                sent = rest.post_now("/v5/order/create", body)
                assert sent is not None
                assert await _eventually(lambda: len(seen) == 2)  # written before the caller awaited anything
                assert await rest.create_order(body, sent=sent) == {"orderId": "o-1"}
                assert len(seen) == 2 and rest._h1.opened == 1 and rest.stats["requests"] == 2
        finally:
            server.close()
        assert seen[0] == seen[1]

    run(main())


def test_post_now_declines_without_an_idle_connection_or_a_free_slot():
    async def main():
        server, url, seen, _ = await _capture_server(lambda i: _ok())
        try:
            rest = BybitREST("key-12345678", "secret-abcdef", url)
            assert rest.post_now("/v5/order/create", {"orderLinkId": "n-0"}) is None  # not started
            async with rest:
                lim = SlidingWindowLimiter(1, 10.0)
                assert lim.try_acquire()
                taken = lim.acquired
                assert rest.post_now("/v5/order/create", {"orderLinkId": "n-1"}, limiter=lim) is None
                assert lim.acquired == taken  # no slot taken, nothing written
                s1 = rest.post_now("/v5/order/create", {"orderLinkId": "n-2"})
                assert s1 is not None
                assert rest.post_now("/v5/order/create", {"orderLinkId": "n-3"}) is None  # connection busy
                await rest.create_order({"orderLinkId": "n-2"}, sent=s1)
                s3 = rest.post_now("/v5/order/create", {})
                with pytest.raises(ValueError, match="sent"):  # a handle is read only by a call for its own path
                    await rest.request("POST", "/v5/order/cancel", {}, sent=s3)
                assert await rest.create_order({}, sent=s3) == {"orderId": "o-1"}
            assert [b for _, b in seen][:2] == [b'{"orderLinkId":"n-2"}', b"{}"]
        finally:
            server.close()

    run(main())


def test_post_now_outside_a_running_loop_writes_nothing():
    rest = BybitREST("key-12345678", "secret-abcdef", "http://127.0.0.1:9")
    rest._session = object()  # as if started
    rest._h1._idle.append(type("C", (), {"closed": False, "transport": type("T", (), {"is_closing": lambda s: False})()})())
    lim = SlidingWindowLimiter(5, 1.0)
    assert rest.post_now("/v5/order/create", {}, limiter=lim) is None and lim.acquired == 0


@pytest.mark.parametrize("fault", ["timeout_created", "timeout_not_yet", "5xx_not_created", "5xx_created", "rate_limit"])
@pytest.mark.integration
def test_send_now_faults_take_the_same_query_first_recovery(fault):
    async def main():
        async with FakeExchange() as fx:
            gw = make_gw(fx, timeout=0.3)
            await gw.start()
            try:
                await fx.trade("ETHUSDT", 2500.0)
                path = "/v5/order/create"
                if fault == "timeout_created":
                    fx.delay_next(1, seconds=0.8, path=path, process=True)
                elif fault == "timeout_not_yet":
                    fx.delay_next(1, seconds=0.8, path=path, process=False)
                elif fault == "5xx_not_created":
                    fx.fail_next(2, status=503, path=path)
                elif fault == "5xx_created":
                    fx.fail_next(1, status=500, path=path, process=True)
                else:
                    fx.rate_limit_next(2, path=path, reset_after_ms=150)
                intent = entry(gw, "sync-1")
                sent = gw.send_now(intent)
                assert sent is not None and gw.create_limiter.acquired == 1
                u = await gw.place(intent, sent=sent)
                assert u.client_id == "sync-1" and u.status in ("pending", "new")
                await asyncio.sleep(1.0)  # let a delayed original land
                orders = fx.orders_with_link("sync-1")
                assert len(orders) == 1 and orders[0].status == "New" and len(fx.venue.orders) == 1
                sent_reqs = _creates(fx, "sync-1")
                assert len({(r.body["orderLinkId"], r.body["price"], r.body["qty"]) for r in sent_reqs}) == 1
                expected = {"timeout_created": 1, "timeout_not_yet": 2, "5xx_not_created": 3, "5xx_created": 1,
                            "rate_limit": 3}[fault]
                assert len(sent_reqs) == expected
                if fault != "rate_limit":
                    assert fx.requests_to("/v5/order/realtime"), "the venue is asked before any resend"
                    assert gw.stats["ambiguous"] >= 1
            finally:
                await gw.close()

    run(main())


@pytest.mark.integration
def test_send_now_body_equals_place_body_and_invalid_intents_are_left_to_place():
    async def main():
        async with FakeExchange() as fx:
            gw = make_gw(fx)
            await gw.start()
            try:
                await fx.trade("ETHUSDT", 2500.0)
                a, b = entry(gw, "eq-1"), entry(gw, "eq-2")
                u = await gw.place(a)
                await gw.cancel("ETHUSDT", "eq-1")
                s = gw.send_now(b)
                u2 = await gw.place(b, sent=s)
                assert u.status in ("pending", "new") and u2.status in ("pending", "new")
                ra, rb = _creates(fx, "eq-1")[0].body, _creates(fx, "eq-2")[0].body
                assert {k: v for k, v in ra.items() if k != "orderLinkId"} == {k: v for k, v in rb.items() if k != "orderLinkId"}
                bad = OrderIntent("ETHUSDT", "buy", 0.0, 2490.0, "bad-1")
                assert gw.send_now(bad) is None
                with pytest.raises(ValueError, match="qty"):
                    await gw.place(bad)
            finally:
                await gw.close()

    run(main())


def test_post_now_yields_once_after_the_write_and_finds_its_loop_without_asyncio(monkeypatch):
    """After a create is written on the caller's stack the client yields the CPU once (its reader may share the
    core); once the loop is known, the loop check makes no ``asyncio.get_running_loop`` call (a ``getpid``
    system call on Python 3.11); another thread is never taken for the loop's."""
    import threading

    from liqcore.venues.bybit import rest as R

    yields, lookups = [], []
    monkeypatch.setattr(R, "_sched_yield", lambda: yields.append(1))
    real = asyncio.get_running_loop

    def counted():
        lookups.append(1)
        return real()

    async def main():
        server, url, seen, _ = await _capture_server(lambda i: _ok())
        try:
            async with BybitREST("key-12345678", "secret-abcdef", url) as rest:
                s1 = rest.post_now("/v5/order/create", {"orderLinkId": "y-1"})
                assert s1 is not None and yields == [1]
                await rest.create_order({"orderLinkId": "y-1"}, sent=s1)
                monkeypatch.setattr(R.asyncio, "get_running_loop", counted)
                s2 = rest.post_now("/v5/order/create", {"orderLinkId": "y-2"})
                assert s2 is not None and lookups == [] and len(yields) == 2
                await rest.create_order({"orderLinkId": "y-2"}, sent=s2)
                monkeypatch.setattr(R.asyncio, "get_running_loop", real)
                other = []
                th = threading.Thread(target=lambda: other.append(rest.post_ready()))
                th.start()
                th.join()
                assert other == [False]  # (no loop runs on that thread)
                rest.yield_after_write = False
                s3 = rest.post_now("/v5/order/create", {"orderLinkId": "y-3"})
                assert s3 is not None and len(yields) == 2
                await rest.create_order({"orderLinkId": "y-3"}, sent=s3)
            assert [b for _, b in seen] == [b'{"orderLinkId":"y-1"}', b'{"orderLinkId":"y-2"}', b'{"orderLinkId":"y-3"}']
        finally:
            server.close()

    run(main())
