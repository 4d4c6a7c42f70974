"""OkxGateway on OKX's bad days, against the fake OKX v5 venue on loopback, each case from the document it follows:

* OKX v5 "Error Code" (https://www.okx.com/docs-v5/en/#error-code): 50004 "API endpoint request timeout (does not
  mean that the request was successful or failed, please check the request result)", 51149 "Order timed out",
  50011 / HTTP 429; an answer whose outcome is unknown is never a rejection: the order is asked for by clOrdId;
* OKX v5 "Overview, Rate Limits": 50011 / 429 pauses every caller of the host (the governor); OKX documents no IP
  ban, a ban the governor holds (a wait longer than its bound) still stops every order before it is sent;
* OKX v5 "WebSocket: Connect": no message within N < 30 s -> ``ping``; no ``pong`` within N s -> reconnect;
* OKX v5 "Get transaction details (last 3 days)" (``GET /api/v5/trade/fills``): the fills of a gap in the private
  stream, booked once, the entry's take-profit / stop-loss placed at once;
* OKX v5 "Close positions" / "Place order": in long/short mode a close carries the position's own ``posSide``.
"""
from __future__ import annotations

import asyncio
import functools
import time

import pytest

from liqcore.venues.gateway import GatewayError, OrderIntent
from liqcore.venues.okx.codes import CODES
from liqcore.venues.outcomes import BANNED, DUPLICATE, RATE_LIMITED, UNKNOWN
from tests._bad_days import OKX_INST as INST, FakeOkx, business_url, okx_day, okx_invariants, until
from tests._bad_days import fresh_governors  # noqa: F401 (autouse: no host governor before or after a test)
from tests._bad_days import run as _run

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

ORDER = "/api/v5/trade/order"
run = functools.partial(_run, timeout=45.0)  # (inside the 60 s test timeout)


def entry(cid="lc-ETH-1-abc123", qty=0.5, px=2496.25, tp=2500.0, sl=2490.01):
    return OrderIntent("ETHUSDT", "buy", qty, px, cid, take_profit=tp, stop_loss=sl)


def live_orders(fo, cl):
    return [o for o in fo.orders_with_client_id(cl) if o.status in ("New", "PartiallyFilled")]


async def _entry_filled_while_mute(fo, gw):
    """The entry placed, then filled while the private socket is open but mute: the push never comes."""
    await fo.trade(INST, 2500.0)
    await gw.place(entry())
    fo.mute("private")
    await fo.trade(INST, 2496.2)  # fills the bid


def test_code_table_sorts_okx_error_codes_by_their_documented_words():
    """OKX v5 "Error Code": "please check the request result" / a 5xx -> unknown; "try again later" before doing
    anything / 429 -> rate limited; 51016 duplicate; no documented IP ban -> no banned code."""
    assert [CODES.what(c) for c in ("50004", "50001", "50026", "51149")] == [UNKNOWN] * 4
    assert [CODES.what(c) for c in ("50011", "50061", "50013", "HTTP 429")] == [RATE_LIMITED] * 4
    assert CODES.what("51016") == DUPLICATE and CODES.what("51008") == "refused"
    assert CODES.of(BANNED) == []
    assert "please check the request result" in CODES["50004"].message
    assert all("okx.com/docs-v5" in c.doc for c in CODES.codes.values())


@pytest.mark.parametrize("process", [True, False], ids=["order-created", "order-not-created"])
def test_create_answered_50004_is_asked_for_by_clordid_never_rejected(process):
    """OKX v5 "Error Code" 50004 (HTTP 400): the order may or may not exist; the gateway asks
    ``GET /api/v5/trade/order?clOrdId=`` and returns what OKX holds (created: that order, sent once; not created:
    the same request sent again): one live order either way."""
    async def main():
        async with okx_day() as (fo, gw, rec):
            await fo.trade(INST, 2500.0)
            fo.answer_code_next("50004", ORDER, process=process)
            u = await gw.place(entry())
            assert u.status == "new" and u.client_id == "lc-ETH-1-abc123"
            cl = fo.requests_to(ORDER, "POST")[0].body["clOrdId"]
            assert len(live_orders(fo, cl)) == 1
            assert len(fo.requests_to(ORDER, "POST")) == (1 if process else 2)
            assert any(r.query.get("clOrdId") == cl for r in fo.requests_to(ORDER, "GET"))
            assert gw.stats["ambiguous"] == 1 and gw.stats["rejected"] == 0
            okx_invariants(fo, gw, rec)
    run(main())


def test_create_item_scode_51149_with_the_order_created_is_the_order_okx_holds():
    """OKX v5 "Error Code" 51149 "Order timed out" as the order's ``sCode`` (``code`` "1"): outcome unknown."""
    async def main():
        async with okx_day() as (fo, gw, rec):
            await fo.trade(INST, 2500.0)
            fo.answer_code_next("51149", ORDER, process=True, item=True)
            u = await gw.place(entry())
            assert u.status == "new" and u.venue_order_id
            assert len(fo.requests_to(ORDER, "POST")) == 1
    run(main())


def test_create_unknown_after_every_attempt_is_a_gateway_error_not_a_rejection():
    async def main():
        async with okx_day(max_create_attempts=2) as (fo, gw, rec):
            await fo.trade(INST, 2500.0)
            fo.answer_code_next("50004", ORDER, process=False, k=2)
            with pytest.raises(GatewayError, match="not placed after 2 attempts.*50004"):
                await gw.place(entry())
            assert gw.known("lc-ETH-1-abc123") is None or gw.known("lc-ETH-1-abc123").status != "rejected"
    run(main())


@pytest.mark.parametrize("process", [True, False], ids=["cancelled", "not-cancelled"])
def test_cancel_answered_50004_is_retried_until_okx_confirms_the_order_gone(process):
    """A cancel with outcome unknown is never reported done on faith: the order is asked for, and while OKX still
    holds it live the cancel is sent again; the answer is the order's final state at OKX."""
    async def main():
        async with okx_day() as (fo, gw, rec):
            await fo.trade(INST, 2500.0)
            await gw.place(entry())
            cl = fo.requests_to(ORDER, "POST")[0].body["clOrdId"]
            fo.answer_code_next("50004", "/api/v5/trade/cancel-order", process=process)
            u = await gw.cancel("ETHUSDT", "lc-ETH-1-abc123")
            assert u.status == "cancelled"
            assert live_orders(fo, cl) == []
            assert len(fo.requests_to("/api/v5/trade/cancel-order")) == (1 if process else 2)
    run(main())


def test_cancel_still_unknown_after_its_attempts_raises_and_leaves_the_order_tracked():
    async def main():
        async with okx_day(max_create_attempts=3) as (fo, gw, rec):
            await fo.trade(INST, 2500.0)
            await gw.place(entry())
            cl = fo.requests_to(ORDER, "POST")[0].body["clOrdId"]
            fo.answer_code_next("50004", "/api/v5/trade/cancel-order", process=False, k=3)
            with pytest.raises(GatewayError, match="outcome unknown after 3 attempts"):
                await gw.cancel("ETHUSDT", "lc-ETH-1-abc123")
            assert len(live_orders(fo, cl)) == 1  # (still live at OKX: not reported cancelled)
            assert gw.known("lc-ETH-1-abc123").status == "new"
            u = await gw.cancel("ETHUSDT", "lc-ETH-1-abc123")  # the manager's next try
            assert u.status == "cancelled" and live_orders(fo, cl) == []
    run(main())


def test_cancel_batch_item_with_unknown_outcome_is_confirmed_one_by_one():
    async def main():
        async with okx_day() as (fo, gw, rec):
            await fo.trade(INST, 2500.0)
            await gw.place(entry("lc-a", px=2490.0))
            await gw.place(entry("lc-b", px=2491.0))
            fo.answer_code_next("50004", "/api/v5/trade/cancel-batch-orders", process=False, item=True)
            out = await gw.cancel_batch([("ETHUSDT", "lc-a"), ("ETHUSDT", "lc-b")])
            assert {c: o for c, (o, _) in out.items()} == {"lc-a": "accepted", "lc-b": "accepted"}
            assert out["lc-a"][1].status == "cancelled" and out["lc-b"][1].status == "cancelled"
            assert live_orders(fo, "lc-a") == [] and live_orders(fo, "lc-b") == []
    run(main())


def test_cancel_batch_item_confirmed_one_by_one_answers_the_orders_final_state_as_the_shared_path_does():
    """A batch item with unknown outcome (50004) confirmed one by one, for an order OKX already ended itself: a
    post-only entry that would take, canceled by OKX (``cancelSource`` 31: ``rejected``), its push lost (the
    private socket mute: the gateway holds it ``new``).  The single cancel is refused (51400) and the order, asked
    for by clOrdId, is ``rejected``: the batch answers ``accepted`` with that final state, as the shared path does
    for a cancel answered with the order's final state (``Gateway.cancel_batch``, one cancel each; ``VenueGateway``
    for a create answered meanwhile).  Before, a ``rejected`` state was taken for a refused cancel: ``not_found``
    and no state, as if OKX held no such order.  An order OKX never had stays ``not_found``."""
    from liqcore.venues.gateway import Gateway

    async def main():
        async with okx_day() as (fo, gw, rec):
            await fo.trade(INST, 2500.0)
            fo.mute("private")
            u = await gw.place(OrderIntent("ETHUSDT", "buy", 0.5, 2500.5, "lc-po", post_only=True))  # (would take)
            assert u.status == "new" and gw.known("lc-po").status == "new"
            (o,) = fo.orders_with_client_id(fo.requests_to(ORDER, "POST")[-1].body["clOrdId"])
            assert o.status == "Cancelled"  # (ended by OKX at once: cancelSource 31)
            fo.answer_code_next("50004", "/api/v5/trade/cancel-batch-orders", process=False, item=True)
            out = await gw.cancel_batch([("ETHUSDT", "lc-po"), ("ETHUSDT", "lc-never")])
            assert fo.requests_to("/api/v5/trade/cancel-order")  # (confirmed one by one)
            outcome, got = out["lc-po"]
            assert outcome == "accepted" and got is not None, out
            assert (got.status, got.venue_order_id, got.kind) == ("rejected", u.venue_order_id, "entry"), got
            assert "cancelSource 31" in got.reason
            assert out["lc-never"] == ("not_found", None)  # (refused, 51400, and not found by clOrdId, 51603)
            shared = await Gateway.cancel_batch(gw, [("ETHUSDT", "lc-po")])  # (the shared path, the same order)
            assert (shared["lc-po"][0], shared["lc-po"][1].status) == (outcome, got.status), shared
    run(main())


def test_429_pauses_every_caller_of_the_host_then_the_request_is_retried():
    """OKX v5 "Overview, Rate Limits": 50011 / HTTP 429; the governor holds every caller of the host (not only
    the one that saw it) before the request is sent again."""
    async def main():
        async with okx_day() as (fo, gw, rec):
            await fo.trade(INST, 2500.0)
            fo.rate_limit_next(1, ORDER)
            place = asyncio.create_task(gw.place(entry()))
            await until(lambda: gw.rest.gov.paused_until > 0, 10)  # (the 429 read)
            limited = next(r for r in fo.requests if r.http_status == 429)
            await gw.positions()  # another caller of the host, after the 429: held too
            (pos_req,) = [r for r in fo.requests_to("/api/v5/account/positions") if r.recv_ns > limited.recv_ns]
            assert pos_req.recv_ns - limited.recv_ns >= 0.15e9  # (the pause is 0.2 s without Retry-After)
            u = await place
            assert u.status == "new" and len(fo.requests_to(ORDER, "POST")) == 2
            assert gw.rest.gov.rate_waits >= 1
    run(main())


def test_a_held_ban_sends_nothing_and_says_the_ban_line():
    """OKX documents no IP ban status; a ban the host's governor holds (e.g. a wait longer than its bound) stops
    every order before it is sent: ``place`` raises a GatewayError with the ban's line, ``banned()`` says it."""
    async def main():
        async with okx_day() as (fo, gw, rec):
            assert gw.banned() is None
            gw.rest.gov.ban(600, "test: Retry-After 600 s")
            line = gw.banned()
            assert line and line.startswith("okx: IP banned by 127.0.0.1:") and "until" in line
            n0 = len(fo.requests_to(ORDER, "POST"))
            with pytest.raises(GatewayError, match="okx create lc-ETH-1-abc123: not sent: okx: IP banned"):
                await gw.place(entry())
            with pytest.raises(GatewayError, match="IP banned"):
                await gw.cancel("ETHUSDT", "lc-ETH-1-abc123")
            assert len(fo.requests_to(ORDER, "POST")) == n0
    run(main())


def test_mute_private_socket_is_reconnected_after_an_unanswered_ping():
    """OKX v5 "WebSocket: Connect": no message within N s -> send ``ping``; no ``pong`` within N s -> reconnect
    (login and subscriptions again)."""
    async def main():
        async with okx_day(ping_interval=0.3) as (fo, gw, rec):
            await rec.wait(lambda: fo.pings["private"] >= 1)  # a quiet socket is pinged and answered
            assert gw.stats["liveness_reconnects"] == 0 and gw.stats["reconnects"] == 0
            assert fo.mute("private") == 1
            t0 = time.monotonic()
            await rec.wait(lambda: gw.stats["liveness_reconnects"] == 1 and gw.connected.is_set()
                           and gw.stats["reconnects"] == 1)
            assert time.monotonic() - t0 < 8.0  # (ping 0.3 s + pong 0.3 s + a reconnect; a loaded machine)
            logins = [m for ep, m in fo.ws_log if ep == "private" and m.get("op") == "login"]
            assert len(logins) == 2 and fo.subscribed("orders", "private")
    run(main())


def test_entry_filled_while_the_socket_is_mute_is_booked_once_from_trade_fills_and_gets_its_exits():
    """The entry fills while the private socket is open but mute: after the reconnect the fill is read from
    ``GET /api/v5/trade/fills``, booked EXACTLY once (a second gap books nothing again), and the entry's
    take-profit / stop-loss goes out at once."""
    async def main():
        async with okx_day(ping_interval=0.3) as (fo, gw, rec):
            await _entry_filled_while_mute(fo, gw)
            assert fo.fills() and rec.fills == []
            await rec.wait(lambda: len(rec.fills) == 1 and len(fo.algos()) == 1)
            f = rec.fills[0]
            assert (f.client_id, f.kind, f.price, f.qty, f.is_maker) == ("lc-ETH-1-abc123", "entry", 2496.25,
                                                                         pytest.approx(0.5), True)
            assert f.exec_id == f"{INST}-{fo.fills()[0]['tradeId']}"
            assert gw.stats["fills_recovered"] == 1
            assert fo.requests_to("/api/v5/trade/fills", "GET")
            (algo,) = fo.algos().values()
            assert algo["state"] == "live" and algo["sz"] == "5"
            fo.drop("private")  # another gap: the same fill is listed again, booked not again
            await rec.wait(lambda: gw.stats["reconnects"] == 2 and gw.stats["resyncs"] == 2)
            assert len(fo.requests_to("/api/v5/trade/fills")) >= 2
            assert len(rec.fills) == 1 and len(fo.algos()) == 1
            okx_invariants(fo, gw, rec)
    run(main())


def test_trade_fills_are_paged_with_after_billid_and_booked_oldest_first():
    """``GET /api/v5/trade/fills``: at most ``limit`` rows a page, newest first; ``after`` = the last billId reads
    older rows: a gap with more fills than a page books every one, oldest first."""
    async def main():
        async with okx_day(ping_interval=0.3) as (fo, gw, rec):
            gw.FILLS_PAGE = 2
            await fo.trade(INST, 2500.0)
            await gw.place(entry("lc-p"))
            fo.mute("private")
            fo.venue.partial_fills = True
            for _ in range(5):  # five partial fills of 1 contract (0.1 ETH) through the bid
                await fo.trade(INST, 2496.2, 1)
            await rec.wait(lambda: len(rec.fills) == 5)
            assert [f.exec_id for f in rec.fills] == [f"{INST}-{r['tradeId']}" for r in fo.fills()]
            await rec.wait(lambda: gw.stats["resyncs"] >= 1 and len(fo.algos()) == 1)  # (filled: its exits)
            okx_invariants(fo, gw, rec)
            afters = [r.query.get("after") for r in fo.requests_to("/api/v5/trade/fills")]
            assert afters[0] is None and len([a for a in afters if a]) >= 2
    run(main())


def test_close_position_in_long_short_mode_closes_the_short_leg_with_its_own_possside():
    """OKX v5 "Close positions" / "Place order": ``posSide`` is required in long/short mode; a short leg is closed
    with buy + ``posSide=short`` (buy + ``long`` would open a long)."""
    async def main():
        async with okx_day(fake_opts=dict(pos_mode="long_short_mode")) as (fo, gw, rec):
            await fo.trade(INST, 2500.0)
            await gw.place(OrderIntent("ETHUSDT", "sell", 0.5, 2503.0, "lc-s", post_only=True))
            await fo.trade(INST, 2503.5)  # fills the ask: short 5 contracts
            await until(lambda: fo.venue.positions[INST].size == -5, 10)
            u = await gw.close_position("ETHUSDT", "lc-close")
            assert u.status in ("new", "filled")
            body = fo.requests_to(ORDER, "POST")[-1].body
            assert (body["side"], body["posSide"], body["ordType"], body["sz"]) == ("buy", "short", "market", "5")
            await until(lambda: fo.venue.positions[INST].size == 0, 10)
    run(main())


# ---------------------------------------------------------------------------------------------- exits watched
async def _filled_long_with_exits(fo, gw, rec):
    """An entry filled, its oco take-profit / stop-loss live at OKX, the business socket subscribed."""
    await fo.trade(INST, 2500.0)
    await gw.place(entry())
    await fo.trade(INST, 2496.2)
    await rec.wait(lambda: len(fo.algos()) == 1 and fo.subscribed("orders-algo", "business") and gw._pos_ct.get(INST))
    (acl,) = fo.algos()
    return acl


def test_business_url_sits_beside_the_private_one():
    """OKX v5 "Overview": ``wss://ws.okx.com:8443/ws/v5/private`` and ``/ws/v5/business`` on one host."""
    assert business_url("wss://ws.okx.com:8443/ws/v5/private") == "wss://ws.okx.com:8443/ws/v5/business"
    assert business_url("ws://127.0.0.1:9/ws/v5/private/") == "ws://127.0.0.1:9/ws/v5/business"


@pytest.mark.parametrize("state", ["canceled", "order_failed"])
def test_exit_algo_okx_ends_while_the_position_is_open_is_said_lost_and_placed_again(state):
    """OKX v5 "WebSocket / Algo orders channel" (``orders-algo`` on ``/ws/v5/business``): the bracket's algo pushed
    ``canceled`` / ``order_failed``, not by us, while the position is open -> "lost", placed again at once at the
    same levels for the position's contracts under a new algoClOrdId -> "replaced"."""
    async def main():
        async with okx_day() as (fo, gw, rec):
            acl = await _filled_long_with_exits(fo, gw, rec)
            old = fo.algos()[acl]
            await fo.cancel_algo_by_venue(acl, state)
            await rec.wait(lambda: rec.actions() == ["lost", "replaced"])
            assert all(e["exit"] == "both" and e["symbol"] == "ETHUSDT" and e["venue"] == "okx" for e in rec.protection)
            assert state in rec.protection[0]["reason"]
            live = [a for a in fo.algos().values() if a["state"] == "live"]
            assert len(live) == 1 and live[0]["algoClOrdId"] != acl
            assert [live[0][k] for k in ("ordType", "side", "sz", "tpTriggerPx", "slTriggerPx", "slOrdPx")] == \
                [old[k] for k in ("ordType", "side", "sz", "tpTriggerPx", "slTriggerPx", "slOrdPx")]
            assert gw.stats["exits_lost"] == 1 and gw.stats["exits_replaced"] == 1
            assert fo.venue.positions[INST].size == 5  # (still open, protected again)
            okx_invariants(fo, gw, rec)
    run(main())


def test_exit_lost_and_its_replacement_refused_closes_the_position_at_market_reduce_only():
    async def main():
        async with okx_day() as (fo, gw, rec):
            acl = await _filled_long_with_exits(fo, gw, rec)
            fo.answer_code_next("51008", "/api/v5/trade/order-algo", process=False, item=True,
                                msg="Order failed. Insufficient USDT margin in account")
            await fo.cancel_algo_by_venue(acl)
            await rec.wait(lambda: rec.actions() == ["lost", "closed"])
            assert "51008" in rec.protection[1]["reason"] and "reduce-only" in rec.protection[1]["reason"]
            close = fo.requests_to(ORDER, "POST")[-1].body
            assert (close["side"], close["ordType"], close["sz"], close["reduceOnly"]) == ("sell", "market", "5", True)
            await rec.wait(lambda: fo.venue.positions[INST].size == 0)
            assert [a for a in fo.algos().values() if a["state"] == "live"] == []
            await rec.wait(lambda: any(f.kind == "exit" for f in rec.fills))
            okx_invariants(fo, gw, rec)
    run(main())


def test_exit_replacement_not_confirmed_within_the_bound_closes_the_position():
    """No live exit confirmed within EXIT_CONFIRM_S (30 s by default; 0.5 s here): the position is closed at
    market instead, and the late algo cancelled."""
    async def main():
        async with okx_day(setup=lambda fo, gw: setattr(gw, "EXIT_CONFIRM_S", 0.5)) as (fo, gw, rec):
            acl = await _filled_long_with_exits(fo, gw, rec)
            fo.answer_code_next("50001", "/api/v5/trade/orders-algo-pending", process=False, k=1000, method="GET")
            try:
                await fo.cancel_algo_by_venue(acl)
                await rec.wait(lambda: rec.actions() == ["lost", "closed"])
                assert "no live exit confirmed within 0.5 s" in rec.protection[1]["reason"]
                await rec.wait(lambda: fo.venue.positions[INST].size == 0
                               and not [a for a in fo.algos().values() if a["state"] == "live"])
            finally:
                fo.code_faults.clear()  # (the gateway's close reads OKX again)
    run(main())


def test_exit_replacement_still_unanswered_at_the_bound_is_cancelled_once_okx_holds_it():
    """The repair's placement (``POST /api/v5/trade/order-algo``) made at OKX, its answer held past EXIT_CONFIRM_S
    (0.5 s here; the answer 4 s late): the wait is given up with the placement's outcome unknown, and the position
    closed at market.  That placement is one of unknown outcome like any other: put on the bracket's ``stale``
    list and, found held by OKX (``GET /api/v5/trade/order-algo`` by algoClOrdId), cancelled.  Before, it was
    forgotten: its take-profit / stop-loss rested at OKX with the position flat until the stop's sweep."""
    async def main():
        async with okx_day(setup=lambda fo, gw: setattr(gw, "EXIT_CONFIRM_S", 0.5)) as (fo, gw, rec):
            acl = await _filled_long_with_exits(fo, gw, rec)
            fo.delay_next(1, seconds=4.0, path="/api/v5/trade/order-algo", process=True)  # (the repair's)
            await fo.cancel_algo_by_venue(acl)
            await rec.wait(lambda: rec.actions() == ["lost", "closed"])
            assert "no live exit confirmed within 0.5 s" in rec.protection[1]["reason"]
            (late,) = [a for a in fo.algos() if a != acl]  # (made by OKX, its answer not read)
            await rec.wait(lambda: fo.venue.positions[INST].size == 0 and fo.algos()[late]["state"] != "live")
            assert fo.algos()[late]["state"] == "canceled"
            assert any(r.query.get("algoClOrdId") == late for r in fo.requests_to("/api/v5/trade/order-algo", "GET"))
            assert not [a for a in fo.algos().values() if a["state"] == "live"]
            await rec.wait(lambda: gw._bracket == {})
            okx_invariants(fo, gw, rec)
    run(main())


def test_exit_okx_ended_while_the_business_socket_was_mute_is_found_by_the_poll_after_the_reconnect():
    """The ``orders-algo`` push is lost (the business socket open but mute); after its liveness reconnect the
    gateway polls ``GET /api/v5/trade/orders-algo-pending`` and ``GET /api/v5/trade/order-algo``: the algo is
    ``canceled`` -> lost -> placed again."""
    async def main():
        async with okx_day(ping_interval=0.3) as (fo, gw, rec):
            acl = await _filled_long_with_exits(fo, gw, rec)
            assert fo.mute("business") == 1
            await fo.cancel_algo_by_venue(acl)
            await rec.wait(lambda: rec.actions() == ["lost", "replaced"])
            assert gw.stats["business_reconnects"] >= 1
            assert fo.requests_to("/api/v5/trade/order-algo", "GET")
            assert len([a for a in fo.algos().values() if a["state"] == "live"]) == 1
    run(main())


def test_our_own_exit_cancel_when_the_position_closes_is_not_a_lost_exit():
    async def main():
        async with okx_day() as (fo, gw, rec):
            await _filled_long_with_exits(fo, gw, rec)
            await gw.close_position("ETHUSDT", "lc-flat")  # flat -> the gateway cancels its algo
            await rec.wait(lambda: not [a for a in fo.algos().values() if a["state"] == "live"])
            await rec.wait(lambda: gw._bracket == {} and gw.stats["algo_events"] >= 1)  # our cancel's push read
            assert rec.protection == [] and gw.stats["exits_lost"] == 0
    run(main())


# ---------------------------------------------------------------------------------------------- public stream
def test_heartbeat_filter_drops_the_first_liquidation_push_of_each_subscription():
    """tardis-node (tardis-dev/tardis-node src/mappers/okex.ts, ``OkexV5LiquidationsMapper._isFirstMessage``) drops
    the first ``liquidation-orders`` message: it repeats old liquidations.  Armed by each subscribe ack."""
    from liqcore.venues.okx.stream import heartbeat_filter

    f = heartbeat_filter()
    ack = b'{"event":"subscribe","arg":{"channel":"liquidation-orders","instType":"SWAP"},"connId":"a4d3ae55"}'
    liq = (b'{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{"bkLoss":"0","bkPx":"1.057",'
           b'"ccy":"","posSide":"long","side":"sell","sz":"768","ts":"1723892524781"}],"instFamily":"DYDX-USDT",'
           b'"instId":"DYDX-USDT-SWAP","instType":"SWAP","uly":"DYDX-USDT"}]}')
    trade = b'{"arg":{"channel":"trades","instId":"ETH-USDT-SWAP"},"data":[]}'
    assert f(b"pong") and not f(liq)  # (no subscription acknowledged: nothing to drop)
    assert not f(ack) and not f(trade)  # the ack passes; a trade before the first liquidation push too
    assert f(liq) and f.replays_dropped() == 1  # the replay
    assert not f(liq) and not f(liq)  # later pushes are new liquidations
    assert not f(b'{"event":"subscribe","arg":{"channel":"trades","instId":"ETH-USDT-SWAP"}}') and not f(liq)
    assert not f(ack) and f(liq) and f.replays_dropped() == 2  # a reconnect's subscription: its replay dropped


def test_public_stream_reconnect_does_not_hand_on_the_replayed_liquidations():
    from liqcore.live.transport import WsConnection
    from liqcore.venues.okx import stream as okx_stream

    async def main():
        async with FakeOkx() as fo:
            await fo.liquidation(INST, 2400.0, 7.0)  # before we subscribe: an old one
            spec = okx_stream.connection_specs(["ETHUSDT"], url=fo.public_ws_url)[0]
            got = []
            conn = WsConnection(spec, lambda p, t: got.append(p), ping_interval_s=5, stall_timeout_s=10,
                                backoff_initial_s=0.02, backoff_max_s=0.05)
            conn.start()
            try:
                await conn.wait_connected(5)
                await until(lambda: fo.subscribed("liquidation-orders", "public")
                            and spec.is_pong.replays_dropped() == 1, 10)
                await fo.liquidation(INST, 2390.0, 3.0)  # a new one
                await until(lambda: any(b'"bkPx":"2390"' in p for p in got), 10)
                assert not any(b'"bkPx":"2400"' in p for p in got)
                fo.drop("public")  # reconnect: the replay repeats both
                await until(lambda: spec.is_pong.replays_dropped() == 2, 10)
                await fo.liquidation(INST, 2380.0, 1.0)
                await until(lambda: any(b'"bkPx":"2380"' in p for p in got), 10)
                liqs = [p for p in got if p.startswith(b'{"arg":{"channel":"liquidation-orders"')]
                assert len(liqs) == 2  # 2390 and 2380, each once; 2400 never
            finally:
                await conn.stop()
    run(main())


def test_take_profit_filled_during_a_gap_is_booked_once_as_tp_from_its_ordid():
    """A take-profit triggered and filled while the private socket is mute: the fill row's order is unknown to the
    gateway (its pushes were missed; OKX's fill rows carry no algoClOrdId), so the order is asked for by ``ordId``
    (``GET /api/v5/trade/order``, whose ``algoClOrdId`` names the bracket): booked once as ``tp``; the position is
    flat, the bracket's other leg gone."""
    async def main():
        async with okx_day(ping_interval=0.3) as (fo, gw, rec):
            await fo.trade(INST, 2500.0)
            await gw.place(entry())
            await fo.trade(INST, 2496.2)
            await rec.wait(lambda: len(fo.algos()) == 1 and rec.fills)
            fo.mute("private")
            await fo.trade(INST, 2500.0)  # triggers the take-profit: a sell limit at 2500
            await fo.trade(INST, 2500.5)  # through it
            assert fo.venue.positions[INST].size == 0 and len(fo.fills()) == 2
            await rec.wait(lambda: [f.kind for f in rec.fills] == ["entry", "tp"] and gw.stats["resyncs"] >= 1)
            tp = rec.fills[1]
            assert (tp.client_id, tp.side, tp.price, tp.qty) == ("lc-ETH-1-abc123", "sell", 2500.0, pytest.approx(0.5))
            assert any(r.query.get("ordId") for r in fo.requests_to(ORDER, "GET"))
            fo.drop("private")  # one more gap: nothing booked twice
            await rec.wait(lambda: gw.stats["resyncs"] >= 2)
            assert [f.kind for f in rec.fills] == ["entry", "tp"]
            okx_invariants(fo, gw, rec)
    run(main())


def test_a_fill_of_another_clients_order_in_the_gap_is_not_booked():
    """``/trade/fills`` lists every fill of the account: one of an order this gateway did not place (another
    client on the same key) is asked for once by ordId and left out."""
    from liqcore.venues.okx.rest import OkxREST

    async def main():
        async with okx_day(ping_interval=0.3) as (fo, gw, rec):
            other = OkxREST(fo.api_key, fo.api_secret, fo.passphrase, fo.rest_url)
            try:
                await fo.trade(INST, 2500.0)
                fo.mute("private")
                await other.request("POST", ORDER, body={"instId": INST, "tdMode": "cross", "side": "buy",
                                                         "ordType": "market", "sz": "1", "clOrdId": "someoneElse1"})
                assert len(fo.fills()) == 1
                await rec.wait(lambda: gw.stats["resyncs"] >= 1)
                assert rec.fills == [] and gw.stats["fills_recovered"] == 0
                fo.drop("private")
                await rec.wait(lambda: gw.stats["resyncs"] >= 2)
                assert len([r for r in fo.requests_to(ORDER, "GET") if r.query.get("ordId")]) == 1
            finally:
                await other.close()
    run(main())


@pytest.mark.parametrize("process", [True, False], ids=["cancelled", "not-cancelled"])
def test_exit_algo_cancel_answered_50004_when_flat_is_confirmed_gone(process):
    """The position closed: its algo's ``cancel-algos`` answered 50004 (outcome unknown) is never taken as done: the
    algo is asked for (``GET /api/v5/trade/order-algo``) and cancelled again while OKX still holds it live."""
    async def main():
        async with okx_day() as (fo, gw, rec):
            await _filled_long_with_exits(fo, gw, rec)
            fo.answer_code_next("50004", "/api/v5/trade/cancel-algos", process=process)
            await gw.close_position("ETHUSDT", "lc-flat")
            await rec.wait(lambda: not [a for a in fo.algos().values() if a["state"] == "live"]
                           and fo.requests_to("/api/v5/trade/order-algo", "GET"))  # (asked what became of it)
            await rec.wait(lambda: gw._bracket == {})
            assert len(fo.requests_to("/api/v5/trade/cancel-algos")) == (1 if process else 2)
    run(main())


# ------------------------------------------------------------------------------- chaos regressions (issue 67)
def test_entry_filled_while_mute_then_cancelled_at_its_timeout_gets_its_exits():
    """Chaos ``("okx", 3)``: the entry fills while the private socket is open but mute, and the engine's entry
    timeout cancels it before the liveness reconnect: OKX refuses the cancel (51401, the order is filled) and the
    order, asked for by clOrdId (``GET /api/v5/trade/order``), is ``filled``.  The take-profit / stop-loss go out
    then, at once; the fill is booked once after the reconnect (``GET /api/v5/trade/fills``)."""
    async def main():
        async with okx_day(ping_interval=2.5) as (fo, gw, rec):
            await _entry_filled_while_mute(fo, gw)
            u = await gw.cancel("ETHUSDT", "lc-ETH-1-abc123")  # (the engine's entry timeout)
            assert u.status == "filled" and gw.stats["reconnects"] == 0
            await rec.wait(lambda: len(fo.algos()) == 1, timeout=4.0)  # before the reconnect (ping + pong: >= 5 s)
            assert gw.stats["reconnects"] == 0 and gw.stats["resyncs"] == 0  # (the exits came from the cancel's query)
            (algo,) = fo.algos().values()
            assert algo["state"] == "live" and algo["sz"] == "5"
            await rec.wait(lambda: gw.stats["resyncs"] == 1 and len(rec.fills) == 1, timeout=25.0)
            assert len(fo.algos()) == 1
            okx_invariants(fo, gw, rec)
    run(main())


def test_exit_placement_answered_503_with_the_algo_created_is_resolved_by_algoclordid():
    """OKX v5 "Error Code": a 5xx does not say whether the algo was placed.  ``POST /api/v5/trade/order-algo``
    answered 503 after OKX created the algo: the gateway asks for it by ``algoClOrdId`` (OKX v5 "Get algo order
    details", ``GET /api/v5/trade/order-algo``) and keeps it: one algo, nothing placed twice, nothing lost."""
    async def main():
        async with okx_day() as (fo, gw, rec):
            await fo.trade(INST, 2500.0)
            await gw.place(entry())
            fo.fail_next(1, status=503, path="/api/v5/trade/order-algo", process=True)
            await fo.trade(INST, 2496.2)
            await rec.wait(lambda: gw._bracket.get(INST, {}).get("algoId"))
            asked = [r for r in fo.requests_to("/api/v5/trade/order-algo", "GET")]
            assert asked and asked[0].query.get("algoClOrdId") == gw._bracket[INST]["acl"]
            assert len(fo.algos()) == 1 and len(fo.requests_to("/api/v5/trade/order-algo", "POST")) == 1
            assert rec.protection == []
            okx_invariants(fo, gw, rec)
    run(main())


def test_exit_placement_unknown_after_every_attempt_is_said_lost_and_placed_again():
    """Chaos ``("okx", 5)``: every ``POST /api/v5/trade/order-algo`` of the entry's exits answered 503 without the
    algo created, and so is each ``GET /api/v5/trade/order-algo`` asking for it by algoClOrdId (OKX down for a
    while; asked once more after: 51603, not there).  The position is not left unprotected in silence: "lost" is
    said, the exits are placed again (a new algoClOrdId) -> "replaced", within the 30 s bound."""
    async def main():
        async with okx_day() as (fo, gw, rec):
            await fo.trade(INST, 2500.0)
            await gw.place(entry())
            fo.fail_next(2 * gw.max_create_attempts, status=503, path="/api/v5/trade/order-algo", process=False)
            t0 = time.monotonic()
            await fo.trade(INST, 2496.2)
            await rec.wait(lambda: rec.actions() == ["lost", "replaced"])
            assert time.monotonic() - t0 < 30.0
            assert "outcome unknown" in rec.protection[0]["reason"] and rec.protection[0]["exit"] == "both"
            live = [a for a in fo.algos().values() if a["state"] == "live"]
            assert len(live) == 1 and live[0]["sz"] == "5"
            assert fo.venue.positions[INST].size == 5
            okx_invariants(fo, gw, rec)
    run(main())


def test_exit_placement_unknown_but_created_is_cancelled_once_its_replacement_is_live():
    """Every ``POST /api/v5/trade/order-algo`` answered 503 AFTER OKX created the algo, and every ``GET
    /api/v5/trade/order-algo`` asking for it answered 503 too: the gateway cannot know, says "lost" and places the
    exits again; once the replacement is live the first algo, found by its algoClOrdId, is cancelled: one exit
    for the position, not two."""
    async def main():
        async with okx_day() as (fo, gw, rec):
            await fo.trade(INST, 2500.0)
            await gw.place(entry())
            fo.fail_next(2 * gw.max_create_attempts + 1, status=503, path="/api/v5/trade/order-algo", process=True)
            await fo.trade(INST, 2496.2)
            await rec.wait(lambda: rec.actions() == ["lost", "replaced"])
            await rec.wait(lambda: len([a for a in fo.algos().values() if a["state"] == "live"]) == 1)
            (live,) = [a for a in fo.algos().values() if a["state"] == "live"]
            assert live["algoClOrdId"] == gw._bracket[INST]["acl"] and live["sz"] == "5"
            assert len(fo.algos()) == 2 and not gw._bracket[INST].get("stale")
            okx_invariants(fo, gw, rec)
    run(main())


@pytest.mark.parametrize("answer", ["late", "timed_out"])
def test_a_late_answer_to_the_first_exit_placement_leaves_the_repaired_bracket_alone(answer):
    """Chaos ``("okx", 36)``: OKX makes the exits' algo but its answer is held; meanwhile OKX fails that algo and
    the gateway places the exits again ("lost", "replaced").  The first placement's answer comes after (``late``:
    its algoId; ``timed_out``: outcome unknown, the algo then asked for by its algoClOrdId).  It is a superseded
    placement's: the repaired bracket keeps its own algo.  Before, the answer overwrote the bracket's algoId with
    the failed algo's: the next poll (or the ask) found that one ended, said the exits lost again and placed a
    third algo beside the second, which the gateway no longer knew: two pairs resting."""
    from liqcore.venues.okx.rest import OkxTransportError

    async def main():
        async with okx_day() as (fo, gw, rec):
            real, held, release = gw.rest.request, [], asyncio.Event()

            async def held_once(method, path, *a, **kw):  # the first placement made at OKX, its answer held
                out = await real(method, path, *a, **kw)
                if method == "POST" and path == "/api/v5/trade/order-algo" and not held:
                    held.append(asyncio.current_task())
                    await release.wait()
                    if answer == "timed_out":
                        raise OkxTransportError(path, "timeout: the answer came after the client's")
                return out

            gw.rest.request = held_once
            await fo.trade(INST, 2500.0)
            await gw.place(entry())
            await fo.trade(INST, 2496.2)
            await until(lambda: held and len(fo.algos()) == 1 and fo.subscribed("orders-algo", "business"))
            (first,) = fo.algos()
            await fo.cancel_algo_by_venue(first, "order_failed")
            await rec.wait(lambda: rec.actions() == ["lost", "replaced"])
            release.set()
            await until(lambda: held[0].done(), what="the first placement answered")
            await gw._poll_algos()  # (what a reconnect or a quiet stream's reading does)
            await until(lambda: not gw._bracket[INST].get("repairing") and not gw._bracket[INST].get("stale"))
            live = [a for a in fo.algos().values() if a["state"] == "live"]
            br = gw._bracket[INST]
            assert [(a["algoClOrdId"], a["algoId"]) for a in live] == [(br["acl"], br["algoId"])], (live, br)
            assert rec.actions() == ["lost", "replaced"] and gw.stats["exits_lost"] == 1
            assert gw._cl[first] == "lc-ETH-1-abc123"  # (a late fill of the first pair is still named)
            okx_invariants(fo, gw, rec)
    run(main())


def test_fills_while_mute_are_booked_once_when_the_gateway_stops_before_the_reconnect():
    """Chaos ``("okx", 15)``: the entry fills while the private socket is open but mute and the run stops (SIGINT)
    before the liveness rule reconnects: the stop reads ``GET /api/v5/trade/fills`` once more and books the fill
    (once), so no fill of the gap is lost."""
    async def main():
        async with okx_day(ping_interval=5.0) as (fo, gw, rec):
            await _entry_filled_while_mute(fo, gw)
            assert fo.fills() and rec.fills == []
            await gw.close()
            assert gw.stats["reconnects"] == 0
            assert [(f.client_id, f.kind, f.exec_id) for f in rec.fills] == [
                ("lc-ETH-1-abc123", "entry", f"{INST}-{fo.fills()[0]['tradeId']}")]
            await gw.close()  # (closed already: nothing read, nothing booked again)
            assert len(rec.fills) == 1
    run(main())


def test_missed_fills_whose_first_reading_fails_are_asked_for_again():
    """Chaos ``("okx", 17)``: after a private stream gap ``GET /api/v5/trade/fills`` is answered 500 (OKX v5
    "Error Code": a 5xx, try again): the fills of the gap are asked for again from the same start, backing off,
    and the entry's fill is booked once (before: not until the next gap, the engine's position 0 beside OKX's)."""
    async def main():
        async with okx_day(ping_interval=0.3) as (fo, gw, rec):
            await fo.trade(INST, 2500.0)
            await gw.place(entry())
            fo.mute("private")
            fo.fail_next(2, status=500, path="/api/v5/trade/fills")
            await fo.trade(INST, 2496.2)  # fills the bid; the push never comes
            await rec.wait(lambda: len(rec.fills) == 1 and len(fo.algos()) == 1)
            assert len(fo.requests_to("/api/v5/trade/fills", "GET")) >= 3 and gw.stats["reconnects"] == 1
            okx_invariants(fo, gw, rec)
    run(main())
