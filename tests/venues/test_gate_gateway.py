"""GateGateway against the fake Gate venue on 127.0.0.1: a signed post-only entry sized in signed contracts with its
client id in ``text``, its fill on ``futures.usertrades``, the take-profit and stop-loss as price-triggered orders for
the filled contracts (the one left cancelled when flat), shorts and market closes, post-only refusal, the bad days
(unknown outcomes never double an order, 429 through the governor, an exit Gate ends replaced, a dropped or mute
private socket reconciled), wrong keys in one line, and the real Engine trading one cascade through the gateway."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest

from liqcore.venues.gate import fake as fake_mod
from liqcore.venues.gate.fake import FakeGate
from liqcore.venues.gate.gateway import GateGateway
from liqcore.venues.gate.private import order_update, trade_fill
from liqcore.venues.gate.rest import gate_text
from liqcore.venues.gateway import Gateway, GatewayError, OrderIntent
from tests._live_helpers import GatewayRecorder, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

C = "ETH_USDT"  # quanto_multiplier 0.01 ETH, tick 0.01 in the fake
ORDERS, AUTOS = "/api/v4/futures/usdt/orders", "/api/v4/futures/usdt/price_orders"


def run(coro, timeout: float = 40.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def make_gw(fg, **kw):
    opts = dict(symbols=["ETHUSDT", "BTCUSDT"], timeout=5.0, retry_backoff=0.05, connect_timeout=5.0)
    opts.update(kw)
    return GateGateway(fg.api_key, fg.api_secret, fg.rest_url, fg.ws_base, **opts)


@contextlib.asynccontextmanager
async def gate_session(**kw):
    """The fake Gate with ETH_USDT last traded at 2500, a started gateway on it (``kw`` over :func:`make_gw`'s) and
    a recorder of its updates and fills; the gateway closed after."""
    async with FakeGate() as fg:
        gw = make_gw(fg, **kw)
        rec = GatewayRecorder(gw, default_timeout=10.0)
        await gw.start()
        try:
            await fg.trade(C, 2500.0)
            yield fg, gw, rec
        finally:
            await gw.close()


def long_entry(cid="lc-ETH-1-abc123", qty=0.5, px=2496.25):
    return OrderIntent("ETHUSDT", "buy", qty, px, cid, take_profit=2510.0, stop_loss=2490.0)


def test_post_only_entry_fill_then_price_triggered_tp_sl_for_the_filled_contracts():
    async def main():
        async with FakeGate() as fg:
            gw = make_gw(fg)
            assert isinstance(gw, Gateway)
            rec = GatewayRecorder(gw, default_timeout=10.0)
            await gw.start()
            try:
                inst = gw.instrument("ETHUSDT")  # contracts of 0.01 ETH
                assert (inst.tick_size, inst.qty_step, inst.min_qty) == (0.01, 0.01, 0.01)
                await fg.trade(C, 2500.0)
                u = await gw.place(long_entry())
                assert (u.status, u.client_id, u.qty) == ("new", "lc-ETH-1-abc123", pytest.approx(0.5))
                (req,) = fg.requests_to(ORDERS, "POST")
                b = req.body
                assert (b["contract"], b["size"], b["price"], b["tif"], b["text"]) == (C, "50", "2496.25", "poc",
                                                                                       "t-lc-ETH-1-abc123")
                assert req.headers.get("X-Gate-Size-Decimal") == "1"  # sizes as decimal strings
                await fg.trade(C, 2496.0)  # through the bid: a maker fill
                await rec.wait(lambda: any(f.kind == "entry" for f in rec.fills))
                f = rec.fills[0]
                assert (f.client_id, f.symbol, f.side, f.price, f.qty, f.is_maker) == (
                    "lc-ETH-1-abc123", "ETHUSDT", "buy", 2496.25, pytest.approx(0.5), True)
                assert f.fee == pytest.approx(2496.25 * 0.5 * -0.00025)  # Gate's maker rebate: a negative fee
                await wait_until(lambda: len(fg.auto_orders("open")) == 2, 10)
                rows = {r["initial"]["text"]: r for r in fg.auto_orders("open")}
                tp, sl = rows["t-lc-ETH-1-abc123-tp1"], rows["t-lc-ETH-1-abc123-sl2"]
                for r in (tp, sl):  # reduce-only market closes of the 50 filled contracts
                    assert (r["initial"]["size"], r["initial"]["price"], r["initial"]["tif"]) == ("-50", "0", "ioc")
                    assert r["initial"]["reduce_only"] is True and r["order_type"] == "plan-close-long-position"
                assert (tp["trigger"]["price"], tp["trigger"]["rule"]) == ("2510", 1)  # >= above the market
                assert (sl["trigger"]["price"], sl["trigger"]["rule"]) == ("2490", 2)  # <= below it
                await fg.trade(C, 2511.0)  # the take-profit triggers and closes
                await rec.wait(lambda: any(f.kind == "tp" for f in rec.fills))
                await wait_until(lambda: not fg.auto_orders("open"), 10)  # the stop-loss left: cancelled when flat
                assert [r["finish_as"] for r in fg.auto_orders("finished")].count("cancelled") == 1
                assert await gw.positions() == []
            finally:
                await gw.close()

    run(main())


def test_short_entry_close_position_cancel_and_post_only_refusal():
    async def main():
        async with gate_session() as (fg, gw, rec):
            u = await gw.place(OrderIntent("ETHUSDT", "sell", 0.3, 2499.0, "short-1"))  # would take: refused
            assert u.status == "rejected" and "ORDER_POC_IMMEDIATE" in u.reason
            assert gw.stats["rejected"] == 1
            u = await gw.place(OrderIntent("ETHUSDT", "sell", 0.3, 2501.0, "short-2", take_profit=2480.0,
                                           stop_loss=2520.0))
            assert fg.requests_to(ORDERS, "POST")[-1].body["size"] == "-30"
            await fg.trade(C, 2502.0)
            await rec.wait(lambda: any(f.client_id == "short-2" for f in rec.fills))
            await wait_until(lambda: len(fg.auto_orders("open")) == 2, 10)
            for r in fg.auto_orders("open"):
                assert r["initial"]["size"] == "30" and r["order_type"] == "plan-close-short-position"
                assert r["trigger"]["rule"] == (2 if r["trigger"]["price"] == "2480" else 1)
            (p,) = await gw.positions()
            assert (p.side, p.size, p.entry_price) == ("sell", pytest.approx(0.3), 2501.0)
            u = await gw.close_position("ETHUSDT", "close-1")  # a reduce-only IOC market buy of 30 contracts
            b = fg.requests_to(ORDERS, "POST")[-1].body
            assert (b["size"], b["price"], b["tif"], b["reduce_only"]) == ("30", "0", "ioc", True)
            assert u.status == "filled" and u.kind == "exit"
            await wait_until(lambda: not fg.auto_orders("open"), 10)
            await gw.place(OrderIntent("ETHUSDT", "buy", 0.1, 2400.0, "rest-1"))
            u = await gw.cancel("ETHUSDT", "rest-1")
            assert u.status == "cancelled" and u.client_id == "rest-1"
            assert (await gw.query("ETHUSDT", "rest-1")).status == "cancelled"
            assert (await gw.close_position("ETHUSDT", "close-2")).reason == "no_position"

    run(main())


@pytest.mark.parametrize("fault", ["timeout_created", "502_created", "503_not_created", "INTERNAL_created",
                                   "TOO_BUSY_not_created", "SERVER_ERROR_created", "rate_limit"])
def test_create_faults_never_double_an_order(fault):
    """An unknown outcome (a timeout, a 5xx, Gate's INTERNAL / SERVER_ERROR / TOO_BUSY) is asked for by its text
    before any resend (Gate takes a second order with the same text: nothing but the query stops a double); 429 is
    retried after the pause every caller of the host takes: one order at the venue whatever happened."""
    async def main():
        async with gate_session(timeout=0.3) as (fg, gw, rec):
            if fault == "timeout_created":
                fg.delay_next(1, seconds=0.7, path=ORDERS, process=True)
            elif fault == "502_created":
                fg.fail_next(1, status=502, path=ORDERS, process=True)
            elif fault == "503_not_created":
                fg.fail_next(1, status=503, path=ORDERS)
            elif fault == "rate_limit":
                fg.rate_limit_next(2, path=ORDERS)
            else:
                label = {"INTERNAL_created": "INTERNAL", "TOO_BUSY_not_created": "TOO_BUSY",
                         "SERVER_ERROR_created": "SERVER_ERROR"}[fault]
                fg.answer_label_next(label, ORDERS, process="not_" not in fault,
                                     http=503 if label == "TOO_BUSY" else 500)
            u = await gw.place(long_entry("idem1"))
            assert u.client_id == "idem1" and u.status == "new"
            assert len(fg.orders_with_text("t-idem1")) == 1
            posts = fg.requests_to(ORDERS, "POST")
            assert len(posts) == (3 if fault == "rate_limit" else 2 if "not_" in fault else 1)
            if fault != "rate_limit":
                # asked first, by its text (or by Gate's id where a push already named it)
                assert any(r.method == "GET" and r.path.startswith(ORDERS + "/") for r in fg.requests)
                assert gw.stats["ambiguous"] >= 1
            else:
                assert gw.rest.gov.paused_until > 0  # every caller of the host paused by the 429

    run(main())


def test_query_by_gate_id_after_the_text_window(monkeypatch):
    """Gate answers a finished order by its text only within 60 s of its end, then by its id alone: once the id is
    known the gateway asks by id."""
    monkeypatch.setattr(fake_mod, "TEXT_WINDOW_MS", -1)  # (the window already past)

    async def main():
        async with gate_session() as (fg, gw, rec):
            u = await gw.place(OrderIntent("ETHUSDT", "buy", 0.1, 2400.0, "win-1"))
            await gw.cancel("ETHUSDT", "win-1")
            got = await gw.query("ETHUSDT", "win-1")
            assert got.status == "cancelled" and got.venue_order_id == u.venue_order_id
            assert fg.requests_to(f"{ORDERS}/{u.venue_order_id}", "GET")
            with pytest.raises(Exception):
                fg._find("t-win-1")  # (the fake no longer knows it by text)

    run(main())


def test_an_exit_gate_ends_while_the_position_is_open_is_replaced():
    async def main():
        async with gate_session() as (fg, gw, rec):
            events = []
            gw.on_protection(events.append)
            await gw.place(long_entry("ex-1"))
            await fg.trade(C, 2496.0)
            await wait_until(lambda: len(fg.auto_orders("open")) == 2, 10)
            await fg.end_auto_by_venue("t-ex-1-sl2", "expired")
            await wait_until(lambda: gw.stats["exits_replaced"] == 1, 10)
            texts = {r["initial"]["text"] for r in fg.auto_orders("open")}
            assert texts == {"t-ex-1-tp1", "t-ex-1-sl3"}
            assert [(e["exit"], e["action"]) for e in events] == [("sl", "lost"), ("sl", "replaced")]
            await fg.trade(C, 2489.0)  # the new stop-loss closes the position
            await rec.wait(lambda: any(f.kind == "sl" for f in rec.fills))
            await wait_until(lambda: not fg.auto_orders("open"), 10)

    run(main())


def test_an_exit_gate_ends_while_the_position_is_still_being_read_is_replaced():
    """After a gap the resync books the fill, places the exits, then reads the positions; Gate ends the take-profit
    while that reading is on its way (the gateway still holding the position flat: its push was in the gap).  The
    exit is placed again once the reading shows the position open (chaos seed gate-59, at load: the position was
    left with its stop-loss alone until the stop)."""
    pos = "/api/v4/futures/usdt/positions"

    async def main():
        async with gate_session(reconcile_s=30.0) as (fg, gw, rec):
            events = []
            gw.on_protection(events.append)
            await gw.place(long_entry("gap-59"))
            fg.mute()  # the fill and the position's push unheard
            await fg.trade(C, 2496.0)
            assert not gw._pos_ct.get(C)
            n = len(fg.requests_to(pos, "GET"))
            fg.delay_next(1, seconds=1.5, path=pos, process=True)  # the resync's reading answered late
            fg.drop()
            await wait_until(lambda: len(fg.requests_to(pos, "GET")) > n, 10)
            assert len(fg.auto_orders("open")) == 2  # (placed before the reading)
            await fg.end_auto_by_venue("t-gap-59-tp1", "cancelled")  # heard while the reading is on its way
            await wait_until(lambda: gw.stats["exits_replaced"] == 1, 10)
            assert {r["initial"]["text"] for r in fg.auto_orders("open")} == {"t-gap-59-sl2", "t-gap-59-tp3"}
            assert [(e["exit"], e["action"]) for e in events] == [("tp", "lost"), ("tp", "replaced")]
            assert gw.stats["exits_lost"] == 1

    run(main())


def test_reconnect_books_the_fills_of_the_gap_once():
    async def main():
        async with gate_session() as (fg, gw, rec):
            await gw.place(long_entry("gap-1"))
            fg.mute()  # the fill happens while the private socket hears nothing
            await fg.trade(C, 2496.0)
            assert not rec.fills
            fg.drop()
            await wait_until(lambda: gw.stats["reconnects"] >= 1 and gw.stats["resyncs"] >= 1, 10)
            await rec.wait(lambda: len(rec.fills) == 1)
            assert gw.stats["fills_recovered"] == 1 and gw.known("gap-1").status == "filled"
            await wait_until(lambda: len(fg.auto_orders("open")) == 2, 10)  # the exits of the fill found by asking
            await asyncio.sleep(0.2)
            assert len(rec.fills) == 1  # booked once

    run(main())


def test_a_mute_private_socket_is_noticed_and_reconnected():
    async def main():
        async with FakeGate() as fg:
            gw = make_gw(fg, ping_interval=0.2)
            await gw.start()
            try:
                await wait_until(lambda: fg.pongs >= 1, 10)  # futures.ping after silence, answered
                fg.mute()
                await wait_until(lambda: gw.stats["liveness_reconnects"] >= 1 and gw.stats["reconnects"] >= 1, 10)
            finally:
                await gw.close()

    run(main())


@pytest.mark.parametrize("what", ["secret", "key"])
def test_wrong_credentials_fail_start_in_one_line_without_the_secret(what, caplog):
    async def main():
        async with FakeGate() as fg:
            key, secret = (fg.api_key, "WRONGSECRETWRONGSECRET") if what == "secret" else ("nokey-123", fg.api_secret)
            gw = GateGateway(key, secret, fg.rest_url, fg.ws_base, symbols=["ETHUSDT"], connect_timeout=3.0)
            with pytest.raises(GatewayError) as ei:
                await gw.start()
            msg = str(ei.value)
            assert "\n" not in msg and ("INVALID_SIGNATURE" if what == "secret" else "INVALID_KEY") in msg
            assert secret not in msg and all(secret not in r.getMessage() for r in caplog.records)

    with caplog.at_level(logging.DEBUG):
        run(main())


def test_order_and_trade_rows_read_as_documented():
    """Gate API v4 ``FuturesOrder`` (the example of "Get a single order") and a ``futures.usertrades`` row."""
    from decimal import Decimal

    row = {"id": 15675394, "user": 100000, "contract": "BTC_USDT", "create_time": 1546569968, "size": 6024,
           "iceberg": 0, "left": 6024, "price": "3765", "fill_price": "0", "mkfr": "-0.00025", "tkfr": "0.00075",
           "tif": "gtc", "refu": 0, "is_reduce_only": False, "is_close": False, "is_liq": False,
           "text": "t-my-custom-id", "status": "finished", "finish_time": 1514764900, "finish_as": "cancelled"}
    u = order_update(row, Decimal("0.0001"))
    assert (u.status, u.side, u.qty, u.filled_qty, u.client_id, u.venue_order_id) == (
        "cancelled", "buy", pytest.approx(0.6024), 0.0, "t-my-custom-id", "15675394")
    assert order_update({**row, "status": "open", "left": 24}, Decimal("0.0001")).status == "partially_filled"
    part = order_update({**row, "size": -6024, "left": -24, "finish_as": "ioc"}, Decimal("0.0001"))
    assert (part.status, part.side, part.filled_qty) == ("cancelled", "sell", pytest.approx(0.6))
    assert order_update({**row, "left": 0, "finish_as": "filled", "fill_price": "3765"}, Decimal(1)).status == "filled"
    with pytest.raises(ValueError, match="status"):
        order_update({**row, "status": "weird"}, Decimal(1))
    f = trade_fill({"id": "3335259", "create_time": 1628736848, "create_time_ms": 1628736848321,
                    "contract": "BTC_USDT", "order_id": "4872460", "size": "-3", "price": "40000.4", "role": "maker",
                    "text": "t-x", "fee": "0.0009290592", "point_fee": "0"}, Decimal("0.0001"))
    assert (f.side, f.qty, f.price, f.is_maker, f.exec_id, f.ts_ns) == (
        "sell", pytest.approx(0.0003), 40000.4, True, "BTC_USDT-3335259", 1628736848321_000_000)
    assert gate_text("lc-ETH-1-abc") == "t-lc-ETH-1-abc"
    long_id = "lc-ETHEREUMXX-123456789-abcdefghijkl"
    t = gate_text(long_id)
    assert t.startswith("t-") and len(t) - 2 <= 28 and t == gate_text(long_id) != gate_text(long_id + "x")


def test_order_and_trade_times_read_in_their_documented_units(tmp_path):
    """Each time field in its unit as Gate documents it.  Futures WebSocket v4, "Orders notification":
    ``update_time`` "Update Time (Milliseconds Timestamp)" (example 1541505434123), ``finish_time_ms`` "Order
    finished unix timestamp in milliseconds", ``finish_time`` "... in seconds" (both 0 "For unfinished orders"),
    ``create_time_ms`` ms; "User trades notification": ``create_time_ms`` "Create time in milliseconds"; API v4
    ``FuturesOrder`` / ``my_trades``: ``create_time`` / ``finish_time`` number(double), seconds.  The documented open
    order's update goes into the journal (its ns fit an int64); a value that is no time in its unit is a ValueError
    naming the field."""
    from decimal import Decimal

    from liqcore.live.journal import Journal

    ws_row = {"contract": "BTC_USDT", "create_time": 1628736847, "create_time_ms": 1628736847325, "fill_price": 0,
              "finish_as": "_new", "finish_time": 0, "finish_time_ms": 0, "iceberg": 0, "id": 4872460,
              "is_close": False, "is_liq": False, "is_reduce_only": False, "left": 1, "mkfr": -0.00025,
              "price": 40000.4, "refr": 0, "refu": 0, "size": 1, "status": "open", "text": "t-abc", "tif": "gtc",
              "tkfr": 0.0005, "user": "110xxxxx", "update_id": 1, "update_time": 1541505434123,
              "stop_loss_price": "", "stop_profit_price": ""}
    u = order_update(ws_row, Decimal("0.0001"))
    assert u.ts_ns == 1541505434123_000_000 and u.status == "new"
    j = Journal(str(tmp_path / "j.db"))
    try:
        j.order_update(u, u.ts_ns)
    finally:
        j.close()
    done = {**ws_row, "status": "finished", "finish_as": "filled", "left": 0, "finish_time": 1628736848,
            "finish_time_ms": 1628736848321}
    assert order_update(done, Decimal(1)).ts_ns == 1628736848321_000_000
    rest = {k: v for k, v in ws_row.items() if k not in ("create_time_ms", "finish_time_ms", "update_time")}
    assert order_update({**rest, "create_time": 1546569968.123}, Decimal(1)).ts_ns == 1546569968123_000_000
    assert order_update({**rest, "status": "finished", "finish_as": "cancelled", "finish_time": 1514764900.5},
                        Decimal(1)).ts_ns == 1514764900500_000_000
    for field, bad in (("update_time", 1541505434123 * 1000), ("update_time", 1541505434), ("update_time", "x"),
                       ("update_time", True), ("finish_time_ms", 10**30), ("create_time", float("nan"))):
        with pytest.raises(ValueError, match=field):
            order_update({**ws_row, "create_time_ms": 0, "update_time": 0, field: bad}, Decimal(1))
    trade = {"id": "3335259", "create_time": 1628736848, "create_time_ms": 1628736848321, "contract": "BTC_USDT",
             "order_id": "4872460", "size": 1, "price": "40000.4", "role": "maker", "text": "api", "fee": 0.0009290592}
    assert trade_fill({k: v for k, v in trade.items() if k != "create_time_ms"}, Decimal(1)).ts_ns == \
        1628736848_000_000_000
    with pytest.raises(ValueError, match="create_time_ms"):
        trade_fill({**trade, "create_time_ms": 1628736848321_000}, Decimal(1))


def test_a_private_row_with_an_impossible_time_is_counted_and_the_stream_goes_on():
    """A ``futures.orders`` row whose ``update_time`` is no time in ms (here microseconds) is dropped and counted
    (``bad_events``); the stream goes on: the next order's pushes still reach the gateway."""
    async def main():
        async with gate_session() as (fg, gw, rec):
            row = {"id": 1, "contract": C, "create_time": 1628736847, "create_time_ms": 1628736847325, "size": "1",
                   "left": "1", "price": "2400", "fill_price": "0", "status": "open", "finish_as": "_new",
                   "finish_time": 0, "finish_time_ms": 0, "text": "t-nobody", "update_time": 1541505434123_000}
            before = gw.stats["bad_events"]
            await fg._push("futures.orders", row)
            await wait_until(lambda: gw.stats["bad_events"] > before, 10)
            u = await gw.place(long_entry("after-bad-1"))
            assert u.status == "new"
            await fg.trade(C, 2496.0)
            await rec.wait(lambda: any(x.client_id == "after-bad-1" and x.status == "filled" for x in rec.updates))
            assert all(0 < x.ts_ns < 2**63 for x in rec.updates)

    run(main())


def _gate_cascade(t0_ms: int) -> list[bytes]:
    """The helpers' cascade in Gate's wire format: liquidated longs (sizes in contracts of 0.01 ETH), a trade at
    3000, then two large ones."""
    from liqcore.venues.gate.samples import liquidation_frame, trade_frame
    from tests._live_helpers import BASELINE

    frames = [liquidation_frame(C, t0_ms + i * 1000, round(q * 100), 3000.0, "long") for i, q in enumerate(BASELINE)]
    frames.append(trade_frame(C, t0_ms + 20_000, 1, 3000.0, "sell"))
    frames.append(liquidation_frame(C, t0_ms + 21_000, 1000, 3000.0, "long"))
    frames.append(liquidation_frame(C, t0_ms + 22_000, 1200, 2999.0, "long"))
    return frames


def test_engine_trades_one_cascade_through_the_gate_gateway():
    from liqcore.live.engine import Engine
    from tests._live_helpers import PARAMS

    async def main():
        async with FakeGate() as fg:
            await fg.trade(C, 3000.0)
            gw = make_gw(fg, symbols=[C], timeout=2.0)
            eng = Engine(PARAMS, venues=("gate",), symbols=[C], gateway=gw)
            await eng.start()
            try:
                now = time.time_ns()
                decisions = []
                for i, f in enumerate(_gate_cascade(int(time.time() * 1000) - 30_000)):
                    decisions += eng.on_frame("gate", f, now - 1_000_000 + i)
                (d,) = [x for x in decisions if x.action == "order"]
                assert d.side == "buy"
                await wait_until(lambda: eng.books[C].entry_status == "new", 10)
                (req,) = fg.requests_to(ORDERS, "POST")
                intent = eng.books[C].entry
                b = req.body
                assert (b["contract"], b["tif"], float(b["price"])) == (C, "poc", intent.price)
                assert float(b["size"]) == pytest.approx(intent.qty / 0.01)  # contracts of 0.01 ETH
                await fg.trade(C, intent.price - 1.0)  # the venue fills it
                await wait_until(lambda: eng.core.position(0)["status"] == "open", 10)
                await wait_until(lambda: len(fg.auto_orders("open")) == 2, 10)
                await fg.trade(C, intent.take_profit + 0.5)  # the take-profit triggers and closes
                await wait_until(lambda: eng.core.position(0)["status"] != "open", 10)
                assert eng.fills >= 2
            finally:
                await eng.shutdown(timeout=2)

    run(main())


def test_rate_limit_headers_and_the_websocket_auth_as_documented():
    """Gate API v4 "Frequency limit rule": ``X-Gate-RateLimit-Reset-Timestamp`` is when the limit resets once no
    request remains (read in seconds or milliseconds); Futures WebSocket v4 "Authentication": ``SIGN`` is the hex
    HMAC-SHA512 of ``channel=<channel>&event=<event>&time=<time>``."""
    import hashlib
    import hmac

    from liqcore.venues.gate.rest import rate_limit_reset_s, ws_auth

    now = 1_700_000_000.0
    h = {"X-Gate-RateLimit-Requests-Remain": "0", "X-Gate-RateLimit-Reset-Timestamp": "1700000002"}
    assert rate_limit_reset_s(h, now) == 2.0
    assert rate_limit_reset_s({**h, "X-Gate-RateLimit-Reset-Timestamp": "1700000002500"}, now) == pytest.approx(2.5)
    assert rate_limit_reset_s({**h, "X-Gate-RateLimit-Requests-Remain": "7"}, now) is None
    assert rate_limit_reset_s({}, now) is None
    a = ws_auth("k", "s", "futures.orders", "subscribe", 1541503698)
    want = hmac.new(b"s", b"channel=futures.orders&event=subscribe&time=1541503698", hashlib.sha512).hexdigest()
    assert a == {"method": "api_key", "KEY": "k", "SIGN": want}


def test_a_cancel_while_the_create_is_unanswered_stops_its_resend():
    """The engine cancels an entry (its timeout) while the create's outcome is still being asked for: the create is
    not sent again after that, so no order Gate makes afterwards is left resting unknown (chaos seed gate-29)."""
    async def main():
        async with gate_session(timeout=2.0) as (fg, gw, rec):
            fg.fail_next(1, status=503, path=ORDERS)  # the create not made, answered 503: outcome unknown
            fg.delay_next(1, seconds=0.5, path=f"{ORDERS}/t-race-1", process=True)  # its query slow to answer
            placing = asyncio.ensure_future(gw.place(long_entry("race-1")))
            await wait_until(lambda: fg.requests_to(f"{ORDERS}/t-race-1", "GET"), 10)
            u = await gw.cancel("ETHUSDT", "race-1")
            p = await placing
            assert p.status == "cancelled" and u.status == "cancelled", (p, u)
            assert len(fg.requests_to(ORDERS, "POST")) == 1 and not fg.orders_with_text("t-race-1")

    run(main())


def test_a_position_reading_older_than_a_push_does_not_undo_it():
    """A positions reading answered after a ``futures.positions`` push (the fill came while it was on its way) keeps
    the push's size: the exit Gate then ends is still placed again (chaos seed gate-1: the stale flat reading left
    the position without its take-profit)."""
    async def main():
        async with gate_session() as (fg, gw, rec):
            await gw.place(long_entry("stale-1"))
            fg.delay_next(1, seconds=0.5, path="/api/v4/futures/usdt/positions", process=True)  # read flat
            n = len(fg.requests_to("/api/v4/futures/usdt/positions", "GET"))
            reading = asyncio.ensure_future(gw.positions())
            await wait_until(lambda: len(fg.requests_to("/api/v4/futures/usdt/positions", "GET")) > n, 10)
            await fg.trade(C, 2496.0)  # the fill (and its position push) while the reading is on its way
            await wait_until(lambda: len(fg.auto_orders("open")) == 2, 10)
            assert await reading == []  # (the venue's answer as read: flat)
            await fg.end_auto_by_venue("t-stale-1-sl2", "cancelled")
            await wait_until(lambda: gw.stats["exits_replaced"] == 1, 10)
            assert {r["initial"]["text"] for r in fg.auto_orders("open")} == {"t-stale-1-tp1", "t-stale-1-sl3"}

    run(main())


def test_a_new_entry_cancels_the_exit_left_by_a_take_profit_the_stream_did_not_tell():
    """A take-profit fills while the private socket is mute (no flat position push): the next entry of the contract
    must not overwrite the bracket and leave its stop-loss resting at Gate (left while flat after the stop: chaos
    gate seeds 180, 187, 216, 248).  The old stop-loss is cancelled."""
    async def main():
        async with gate_session(reconcile_s=3600.0) as (fg, gw, rec):  # (no quiet reading: the new entry first)
            await gw.place(long_entry("ow-1"))
            await fg.trade(C, 2496.0)
            await wait_until(lambda: len(fg.auto_orders("open")) == 2, 10)
            fg.mute()  # the take-profit's fill and the flat position unheard
            await fg.trade(C, 2510.0)
            await wait_until(lambda: fg.venue.position(C).size == 0, 10)
            assert {r["initial"]["text"] for r in fg.auto_orders("open")} == {"t-ow-1-sl2"}
            await gw.place(long_entry("ow-2", qty=0.4))
            await wait_until(lambda: not fg.auto_orders("open"), 10)
            assert gw._bracket[C]["cid"] == "ow-2"
            assert gw.known("ow-1", "sl").status == "cancelled"

    run(main())
