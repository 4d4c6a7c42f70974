"""BinanceGateway on the bad days the chaos schedules found (binance seeds 18, 31, 35, 38, 40), each played as a
script on the fake Binance USD-M venue:

* HTTP 418 (a ban: "General Info", HTTP Return Codes and IP Limits) while the entry fills: the take-profit and
  stop-loss cannot be placed; said ``lost`` at once (the order manager's watchdog counts from then), placed again
  under the same clientAlgoId once the ban ends, said ``replaced``; refused again: closed at market;
* a take-profit filled just before the stop: the stop-loss left resting is cancelled by the stop, and a restart
  lists the venue's algo orders ("Query Current Algo Open Orders") and cancels the exits of flat positions;
* the user stream mute for less than its heartbeat (no reconnect): the venue is read again on a schedule while the
  stream is quiet, and the fill made meanwhile is booked once, with its exits;
* a trade read from "Account Trade List" (``GET /fapi/v1/userTrades``) of an order the gateway does not know by id
  yet: its role is the venue's order's ("Query Order" by ``orderId``: its clientOrderId), never guessed from its
  price; when the venue cannot say yet, the trade is kept and booked once the order is known.
"""
from __future__ import annotations

import asyncio

import pytest

from liqcore.venues.gateway import GatewayError, OrderIntent
from tests._bad_days import BinanceGateway, FakeBinance, binance_day, binance_invariants, run
from tests._bad_days import fresh_governors  # noqa: F401 (autouse: no host governor before or after a test)

pytestmark = pytest.mark.integration


def entry(cid, qty=0.5, price=2496.25):
    return OrderIntent("ETHUSDT", "buy", qty, price, cid, take_profit=2500.0, stop_loss=2490.01)


def _open_exits(fb):
    return {o.order_link_id: o for o in fb.venue.orders.values() if o.stop_order_type and o.status == "Untriggered"}


async def _filled_with_exits(fb, gw, rec, cid):
    await fb.trade("ETHUSDT", 2500.0)
    await gw.place(entry(cid))
    await fb.trade("ETHUSDT", 2496.0)
    await rec.wait(lambda: any(f.kind == "entry" for f in rec.fills))
    await rec.wait(lambda: len(_open_exits(fb)) == 2)


# ---------------------------------------------------------------------------------------- a ban during the fill
def test_a_ban_while_the_entry_fills_places_the_exits_once_it_ends():
    """Chaos seeds binance-18 and binance-38: the entry fills while the host bans this IP (HTTP 418, Retry-After):
    the exits' placement is not sent into the ban; the position is said ``lost`` at once, the exits are placed
    under their own clientAlgoIds once the ban ends and said ``replaced``: the position is held with both."""
    async def main():
        async with binance_day() as (fb, gw, rec):
            await fb.trade("ETHUSDT", 2500.0)
            await gw.place(entry("ban-1"))
            fb.ban_next(1.5)
            await fb.trade("ETHUSDT", 2496.0)
            await rec.wait(lambda: any(f.kind == "entry" for f in rec.fills))
            await rec.wait(lambda: rec.actions() == ["lost", "replaced"])
            assert rec.protection[0]["exit"] == "both" and "unknown" in rec.protection[0]["reason"]
            assert set(_open_exits(fb)) == {"ban-1-tp", "ban-1-sl"}
            assert fb.venue.positions["ETHUSDT"].size == 0.5
            assert fb.requests_in_ban == 0  # (nothing sent into the ban)
            await binance_invariants(fb, gw, rec)

    run(main())


def test_an_exit_refused_after_the_fill_closes_the_position_at_market():
    """The exits' placement refused ("Error Codes" -2019 Margin is insufficient.) right after the fill, and the
    take-profit again when placed once more: the position is closed at market, reduce-only, and said ``closed``."""
    async def main():
        async with binance_day() as (fb, gw, rec):
            await fb.trade("ETHUSDT", 2500.0)
            await gw.place(entry("ref-1"))
            for _ in range(3):  # (the take-profit and the stop-loss, then the take-profit placed again)
                fb.refuse_next("/fapi/v1/algoOrder")
            await fb.trade("ETHUSDT", 2496.0)
            await rec.wait(lambda: rec.actions() == ["lost", "closed"])
            await rec.wait(lambda: fb.venue.positions["ETHUSDT"].size == 0)
            await rec.wait(lambda: not _open_exits(fb))
            closes = [r for r in fb.requests_to("/fapi/v1/order", "POST") if r.query.get("type") == "MARKET"]
            assert len(closes) == 1 and closes[0].query["reduceOnly"] == "true"

    run(main())


# ---------------------------------------------------------------------------------------- the stop and the restart
def test_a_take_profit_filled_just_before_the_stop_leaves_no_stop_loss_resting():
    """Chaos seed binance-31: the take-profit fills, the task that cancels the stop-loss is still asking (its
    DELETE answered 503) when the gateway stops: the stop lists the venue's algo orders and cancels the exit of
    the flat position."""
    async def main():
        async with FakeBinance() as fb:
            gw = BinanceGateway(fb.api_key, fb.api_secret, fb.rest_url, fb.ws_base, timeout=5.0, retry_backoff=0.2)
            from tests._bad_days import DayRecorder

            rec = DayRecorder(gw)
            await gw.start()
            try:
                await _filled_with_exits(fb, gw, rec, "stop-1")
                fb.fail_next(4, status=503, path="/fapi/v1/algoOrder")
                await fb.trade("ETHUSDT", 2500.0)
                await fb.trade("ETHUSDT", 2500.5)
                await rec.wait(lambda: gw._pos_qty.get("ETHUSDT") == 0)
            finally:
                await gw.close()
            assert fb.venue.positions["ETHUSDT"].size == 0
            assert not _open_exits(fb), _open_exits(fb)
            assert gw.stats["stray_exits"] == 1

    run(main())


def test_a_restart_lists_the_algo_orders_and_cancels_the_exits_of_a_flat_position():
    """A stop-loss of ours left resting by an earlier session with the position flat (ETHUSDT), and the exits of
    an open position (SOLUSDT): the start lists the venue's algo orders (``GET /fapi/v1/openAlgoOrders``), cancels
    the first and keeps the others."""
    def before(fb, gw):
        v = fb.venue
        v.place_conditional("ETHUSDT", "Sell", "StopLoss", 2400.0, 0.5, "Market", 0.0, "old-1-sl")
        v.set_position("SOLUSDT", 2.0, 150.0)
        v.place_conditional("SOLUSDT", "Sell", "StopLoss", 140.0, 2.0, "Market", 0.0, "old-2-sl")
        v.place_conditional("SOLUSDT", "Sell", "TakeProfit", 160.0, 2.0, "Market", 0.0, "old-2-tp")

    async def main():
        async with binance_day(before, symbols=["ETHUSDT", "SOLUSDT"]) as (fb, gw, rec):
            listed = {r["clientAlgoId"] for r in gw.reconciled["algo_orders"]}
            assert listed == {"old-1-sl", "old-2-sl", "old-2-tp"}
            assert set(_open_exits(fb)) == {"old-2-sl", "old-2-tp"}
            assert gw.stats["stray_exits"] == 1

    run(main())


# ---------------------------------------------------------------------------------------- a mute shorter than the heartbeat
def test_a_mute_shorter_than_the_heartbeat_loses_no_fill():
    """Chaos seed binance-35: the user stream mute for about a second with a 5 s heartbeat (no pong missed, no
    reconnect): the fill it never sent is found by the reconciliation the quiet stream triggers (``reconcile_s``),
    booked once, and the exits go out."""
    async def main():
        async with binance_day(heartbeat=5.0, reconcile_s=0.3) as (fb, gw, rec):
            await fb.trade("ETHUSDT", 2500.0)
            await gw.place(entry("mute-1"))
            fb.mute_user_stream = True
            await fb.trade("ETHUSDT", 2496.0)
            await rec.wait(lambda: any(f.kind == "entry" for f in rec.fills))
            await rec.wait(lambda: len(_open_exits(fb)) == 2)
            fb.mute_user_stream = False
            await asyncio.sleep(0.5)
            assert gw.stats["reconnects"] == 0 and gw.stats["quiet_reconciles"] >= 1
            assert [(f.client_id, f.kind) for f in rec.fills] == [("mute-1", "entry")]
            await binance_invariants(fb, gw, rec)

    run(main())


def test_the_quiet_reconciliation_stays_away_while_nothing_is_open_and_during_a_ban():
    """Nothing open: the quiet stream costs no request; an entry open but the host banned: nothing is sent into
    the ban (the governor's weight bound)."""
    async def main():
        async with binance_day(heartbeat=5.0, reconcile_s=0.2) as (fb, gw, rec):
            n0 = len(fb.requests)
            await asyncio.sleep(0.7)
            assert gw.stats["quiet_reconciles"] == 0 and len(fb.requests) == n0
            await fb.trade("ETHUSDT", 2500.0)
            await gw.place(entry("quiet-1"))
            gw.rest.gov.ban(1.0, "HTTP 418")
            q0, n1 = gw.stats["quiet_reconciles"], len(fb.requests)
            await asyncio.sleep(0.7)
            assert gw.stats["quiet_reconciles"] == q0 and len(fb.requests) == n1
            await rec.wait(lambda: gw.stats["quiet_reconciles"] > q0)

    run(main())


# ---------------------------------------------------------------------------------------- a trade of an order not known by id
async def _entry_unanswered_and_filled_unseen(fb, gw, cid, failed_queries):
    """The entry's create answered -1007 (created) and its queries 503: not known by id; then filled while the
    user stream is down (its pushes lost), and the stream opened again (the reconnect reads the trades)."""
    await fb.trade("ETHUSDT", 2500.0)
    fb.stalled = True
    fb.unknown_outcome_next(1, code=-1007, created=True)
    fb.fail_next(failed_queries, status=503, path="/fapi/v1/order")
    with pytest.raises(GatewayError):
        await gw.place(entry(cid))
    await fb.trade("ETHUSDT", 2496.0)
    fb.stalled = False
    assert fb.drop() >= 1


def test_a_reconnect_trade_of_an_order_not_known_by_id_is_the_entry_the_venue_names():
    """Chaos seeds binance-35 and binance-40: the reconnect's trade read meets the entry's orderId, unknown to the
    gateway (its create's answer lost); the entry's fill was booked as a stop-loss (its price below the
    take-profit), which the order manager held back for good.  The venue's order (``GET /fapi/v1/order`` by
    orderId) names it: the fill is the entry's, booked once, and its exits go out."""
    async def main():
        async with binance_day(reconcile_s=60.0) as (fb, gw, rec):
            await _entry_unanswered_and_filled_unseen(fb, gw, "unk-1", 4)
            await rec.wait(lambda: rec.fills)
            await rec.wait(lambda: len(_open_exits(fb)) == 2)
            assert [(f.client_id, f.kind, f.qty) for f in rec.fills] == [("unk-1", "entry", 0.5)]
            await binance_invariants(fb, gw, rec)

    run(main())


def test_a_trade_whose_order_the_venue_cannot_name_yet_is_kept_and_booked_once_it_is_known():
    """As above, and the order query by orderId answered 503 too: the trade is kept, not guessed; the order
    manager's query of the entry by its client id (an unknown create, asked again) names the order: the fill is
    booked then, once, as the entry's."""
    async def main():
        async with binance_day(reconcile_s=60.0) as (fb, gw, rec):
            await _entry_unanswered_and_filled_unseen(fb, gw, "unk-2", 5)
            await rec.wait(lambda: gw.stats["reconnects"] >= 1 and gw._unmatched)
            await asyncio.sleep(0.3)
            assert rec.fills == []
            u = await gw.query("ETHUSDT", "unk-2")
            assert u is not None and u.status == "filled"
            await rec.wait(lambda: rec.fills)
            assert [(f.client_id, f.kind) for f in rec.fills] == [("unk-2", "entry")] and not gw._unmatched
            await rec.wait(lambda: len(_open_exits(fb)) == 2)
            await binance_invariants(fb, gw, rec)

    run(main())


def test_a_take_profit_trade_read_after_its_bracket_was_cleared_is_the_take_profits():
    """Chaos seed binance-35 at 40 seeds: the take-profit fills while the user stream drops its pushes; a
    reconciliation reads the trades just before that fill and the position just after it (flat: the bracket is
    cleared).  The next one reads the take-profit's trade: its order (``GET /fapi/v1/algoOrder`` of the cleared
    bracket's exits: ``actualOrderId``) names it the take-profit's, booked once; it was kept unbooked for good."""
    async def main():
        async with binance_day(reconcile_s=60.0) as (fb, gw, rec):
            await _filled_with_exits(fb, gw, rec, "late-1")
            fb.stalled = True
            since = fb.now_ms()
            await fb.trade("ETHUSDT", 2500.0)
            await fb.trade("ETHUSDT", 2500.5)
            assert fb.venue.positions["ETHUSDT"].size == 0
            await gw.positions()
            await gw._clear_bracket("ETHUSDT")  # (as the reconciliation that found the position flat)
            await gw._book_trades({"ETHUSDT"}, since)
            assert [(f.client_id, f.kind, f.qty) for f in rec.fills] == [("late-1", "entry", 0.5), ("late-1", "tp", 0.5)]
            assert not gw._unmatched and not _open_exits(fb)

    run(main())


def test_exits_never_placed_after_a_ban_during_the_fill_make_the_watchdog_flatten(tmp_path):
    """The engine's side of a ban during the entry's fill: the exits' placement keeps failing (HTTP 418, then
    503 on every ``POST /fapi/v1/algoOrder``), so the gateway's report ``lost`` reaches the order manager's
    watchdog at once; past its limit (1 s here, 30 s live) the watchdog closes the position at market once the
    ban is over, and journals ``closed``."""
    import math
    import sqlite3
    import time

    import orjson

    from liqcore.live.engine import Engine
    from liqcore.live.journal import Journal
    from tests._chaos import BASELINE, PARAMS, BinanceRig

    async def main():
        rig = BinanceRig()
        fb = await rig.open()
        gw = rig.gateway()
        eng = Engine(PARAMS, venues=("binance",), symbols=["ETHUSDT"], gateway=gw, journal=Journal(tmp_path / "j.sqlite"))
        await eng.start()
        om, book = eng.order_manager, eng.books["ETHUSDT"]
        om.protection.limit_s = 1.0
        try:
            t0, recv = int(time.time() * 1000) - 120_000, time.time_ns()
            for i, q in enumerate(BASELINE):
                eng.on_frame("binance", rig.liq(t0 + i * 1000, q, 3000.0), recv + i)
            ds = [d for f in (rig.print_(t0 + 20_000, 3000.0), rig.liq(t0 + 21_000, 10.0, 3000.0),
                              rig.liq(t0 + 22_000, 12.0, 2999.0)) for d in eng.on_frame("binance", f, time.time_ns())]
            d = next(x for x in ds if x.action == "order")
            await _until(lambda: book.entry_status == "new")
            fb.fail_next(1000, status=503, path="/fapi/v1/algoOrder")
            fb.ban_next(1.0)
            await rig.trade(d.price - 1.0 if d.side == "buy" else d.price + 1.0)
            await _until(lambda: book.position_qty and "ETHUSDT" in om.protection.unprotected)

            async def ticking():
                while True:
                    eng.on_clock()
                    await asyncio.sleep(0.05)
            tick = asyncio.create_task(ticking())
            await _until(lambda: abs(rig.venue_position()) < 1e-12 and not book.position_qty, 20)
            tick.cancel()
            assert not _open_exits(fb)
        finally:
            await eng.shutdown(timeout=5)
            await fb.stop()
        with sqlite3.connect(tmp_path / "j.sqlite") as db:
            rows = [orjson.loads(x) for x, in db.execute("SELECT data FROM log WHERE type='protection' ORDER BY id")]
        acts = [(r["action"], r["source"]) for r in rows]
        assert acts[0] == ("lost", "venue") and ("closed", "engine") in acts, acts
        closed = next(r for r in rows if r["action"] == "closed")
        assert closed["unprotected_s"] >= 1.0 and not math.isnan(closed["unprotected_s"])

    run(main(), timeout=60)


async def _until(pred, timeout=10.0):
    import time

    t = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < t, "condition not met in time"
        await asyncio.sleep(0.02)


def test_a_trade_left_unnamed_keeps_the_quiet_reconciliation_going_until_it_is_booked():
    """Chaos seed binance-71 at 80 seeds: the take-profit fills while the user stream gets nothing (its listenKey
    gone); the reconciliation reads its trade but the question that names it fails (``GET /fapi/v1/algoOrder``
    answered 503), then finds the position flat and clears the bracket: nothing is open any more, yet the trade
    is still unbooked, so the quiet stream is reconciled again until the venue names it: booked as the
    take-profit's, once."""
    async def main():
        async with binance_day(reconcile_s=0.3) as (fb, gw, rec):
            await _filled_with_exits(fb, gw, rec, "unn-1")
            fb.stalled = True
            fb.fail_next(2, status=503, path="/fapi/v1/algoOrder")
            await fb.trade("ETHUSDT", 2500.0)
            await fb.trade("ETHUSDT", 2500.5)
            await rec.wait(lambda: any(f.kind == "tp" for f in rec.fills))
            assert [(f.client_id, f.kind, f.qty) for f in rec.fills] == [("unn-1", "entry", 0.5), ("unn-1", "tp", 0.5)]
            assert not gw._unmatched and fb.venue.positions["ETHUSDT"].size == 0
            await rec.wait(lambda: not _open_exits(fb))

    run(main())


def test_a_fill_made_just_before_a_reading_found_the_position_flat_is_read_by_the_next():
    """Chaos seed binance-71 again: a reconciliation of the quiet stream reads the trades, then the take-profit
    fills (its pushes lost), then the same reconciliation reads the position: flat, the bracket cleared, nothing
    open any more.  The quiet stream is read again after that (twice), so the take-profit's trade is booked."""
    async def main():
        async with binance_day(reconcile_s=0.3) as (fb, gw, rec):
            await _filled_with_exits(fb, gw, rec, "race-1")
            await rec.wait(lambda: gw.stats["quiet_reconciles"] >= 1)  # (the position held a while, read quietly)
            fb.stalled = True
            await gw._book_trades({"ETHUSDT"}, fb.now_ms() - 5000)  # (the reading of the trades: none new)
            await fb.trade("ETHUSDT", 2500.0)
            await fb.trade("ETHUSDT", 2500.5)
            await gw.positions()  # (then the position: flat)
            await gw._clear_bracket("ETHUSDT")
            assert not gw._open_anything()
            await rec.wait(lambda: any(f.kind == "tp" for f in rec.fills))
            assert [(f.client_id, f.kind) for f in rec.fills] == [("race-1", "entry"), ("race-1", "tp")]

    run(main())
