"""A cancel sent while an entry's create is unanswered (the chaos audit's race: seeds binance-177, 243, 244, 312,
334, 361 and okx): the create's outcome is unknown (a 503, not processed), the gateway asks the venue by client
id; meanwhile the engine's entry timeout cancels the entry.  Before the fix, on Binance, OKX and Bybit the cancel
was sent at once, the venue answered "unknown order" (-2011, 51400, 110001) and the gateway reported the entry
``rejected``; its create loop then found nothing and sent the create again: the order was made and rested at the
venue, unknown to the engine.  Now (as on Gate) the cancel waits for the create's answer and the create is not
sent again after it: both answer ``cancelled`` and the venue holds nothing.

Each venue's rig of the chaos test (tests/_chaos.py: its loopback fake venue on 127.0.0.1 and its real gateway);
the by-client-id query of the create loop is held (answers late) until the cancel has reached the venue, or for
0.5 s when the cancel waits (the fixed gateways send nothing meanwhile)."""
from __future__ import annotations

import asyncio
import time

import pytest

from _chaos import RIGS
from _live_helpers import wait_until
from liqcore.venues.gateway import OrderIntent
from liqcore.venues.governor import reset_governors

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

#: each venue's entry quantity (OKX: a whole number of its 0.1 ETH contracts) and its by-client-id query
QTY = {"binance": 0.83, "okx": 8.0, "bybit": 0.83, "gate": 0.83}
QUERY = {"binance": "_query", "okx": "_query", "bybit": "_query_venue", "gate": "_query"}


def _late_query(gw, venue: str) -> tuple[asyncio.Event, asyncio.Event]:
    """The gateway's by-client-id query of the venue answered late, once: ``(asked, release)``, set when the
    gateway asks, and to be set by the test to let the answer through."""
    asked, release = asyncio.Event(), asyncio.Event()
    query = getattr(gw, QUERY[venue])

    async def late_query(symbol, client_id, required=False):
        if not asked.is_set():
            asked.set()
            await release.wait()
        return await query(symbol, client_id, required=required)

    setattr(gw, QUERY[venue], late_query)
    return asked, release


@pytest.mark.parametrize("venue", sorted(RIGS))
def test_a_cancel_while_the_create_is_unanswered_leaves_no_order_resting(venue):
    reset_governors()

    async def main():
        rig = RIGS[venue]()
        fx = await rig.open()
        gw = rig.gateway()
        await gw.start()
        try:
            cid = "lc-ETH-9-race01"
            it = OrderIntent(rig.symbol, "buy", QTY[venue], 2995.5, cid, post_only=True, take_profit=3000.0,
                             stop_loss=2988.0)
            asked, release = _late_query(gw, venue)
            rig.faults["5xx_create"](None)  # the create answered 503, not made: outcome unknown
            placing = asyncio.ensure_future(gw.place(it))
            await asyncio.wait_for(asked.wait(), 10)  # the gateway asks the venue for the client id ...
            n = len(fx.requests)
            cancelling = asyncio.ensure_future(gw.cancel(rig.symbol, cid))  # ... when the entry timeout cancels
            t = time.monotonic() + 0.5
            while len(fx.requests) == n and not cancelling.done() and time.monotonic() < t:
                await asyncio.sleep(0.01)
            release.set()
            c = await asyncio.wait_for(cancelling, 20)
            p = await asyncio.wait_for(placing, 20)
            await asyncio.sleep(0.3)
            creates = [r for r in fx.requests if r.path == rig.create_path and r.method == "POST"]
            resting = [(o.order_link_id, o.status) for o in rig.open_orders() if not o.stop_order_type]
            assert not resting, f"{venue}: the venue holds {resting} (cancel {c.status}, create {p.status})"
            assert len(creates) == 1, f"{venue}: the create was sent {len(creates)} times"
            assert c.status == "cancelled" and p.status == "cancelled", (c, p)
            assert gw.known(cid).status == "cancelled"
        finally:
            await gw.close()
            await fx.stop()

    asyncio.run(main())
    reset_governors()


def test_an_entry_dropped_as_rejected_that_the_venue_holds_is_cancelled_and_its_fill_booked(tmp_path):
    """The order manager's second line of defence: the gateway reported the entry ``rejected`` (as a cancel
    answered "unknown order" did before the gateway fix) while the venue holds it; the venue's next update says
    it is partly filled.  The engine cancels it at once, books the fill as its entry's (the position the venue
    holds, with its exits), and the journal's row says what happened (before: the update was ignored, the order
    rested and could fill later, unmanaged; the journal kept it ``rejected``)."""
    import sqlite3

    from liqcore.live.engine import Engine
    from liqcore.live.journal import Journal
    from liqcore.venues.bybit.fake import FakeExchange
    from liqcore.venues.bybit.gateway import BybitGateway
    from liqcore.venues.gateway import OrderUpdate

    from _live_helpers import PARAMS, cascade_frames
    from _live_helpers import wait_until

    reset_governors()
    path = tmp_path / "j.sqlite"

    async def main():
        async with FakeExchange() as fx:
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"],
                              retry_backoff=0.02, timeout=2.0)
            eng = Engine(PARAMS, symbols=["ETHUSDT"], gateway=gw, journal=Journal(path))
            await eng.start()
            now = time.time_ns()
            d = [x for i, f in enumerate(cascade_frames()) for x in eng.on_frame("bybit", f, now + i)][0]
            cid = d.client_id
            await wait_until(lambda: eng.books["ETHUSDT"].entry_status == "new", 10)
            om = eng.order_manager
            om.report_update(OrderUpdate(cid, "rejected", "ETHUSDT", reason="110001 order not exists or too late "
                                         "to cancel", kind="entry", ts_ns=time.time_ns()))
            assert eng.books["ETHUSDT"].entry is None  # dropped, while the venue holds it
            part = round(d.qty / 2, 2)
            fx.venue.partial_fills = True
            await fx.trade("ETHUSDT", d.price - 0.5, qty=part)  # it fills in part: the venue reports it
            await wait_until(lambda: fx.orders_with_link(cid)[0].status in ("Cancelled", "PartiallyFilledCanceled"),
                             10)
            await wait_until(lambda: abs(eng.books["ETHUSDT"].position_qty - part) < 1e-9, 10)
            assert om.dropped.found == 1
            assert eng.core.position(0)["status"] == "open"  # the position the venue holds is managed
            assert not [o for o in fx.venue.open_orders("ETHUSDT") if not o.stop_order_type]
            await eng.shutdown()
            return cid, part

    cid, part = asyncio.run(main())
    reset_governors()
    with sqlite3.connect(path) as db:
        status, filled, reason = db.execute("SELECT status, filled_qty, reason FROM orders WHERE client_id=? AND "
                                            "kind='entry'", (cid,)).fetchone()
        fills = db.execute("SELECT COUNT(*) FROM fills WHERE client_id=?", (cid,)).fetchone()[0]
    assert status == "cancelled" and abs(filled - part) < 1e-9 and "dropped it as rejected" in reason, \
        (status, filled, reason)
    assert fills == 1


@pytest.mark.parametrize("venue", sorted(RIGS))
def test_a_batch_cancel_while_the_create_is_unanswered_leaves_no_order_resting(venue):
    """The race above through the gateway's batch cancel (the engine's stop cancels its working entries with it).
    Before the fix, Binance's, OKX's and Bybit's batch endpoints were asked at once: "unknown order" (-2011, 51400,
    110001), ``not_found``, and the create was sent again and rested at the venue, unknown to the engine.  Now the
    batch waits for the create's answer as the single cancel does: ``cancelled``, the create sent once."""
    reset_governors()

    async def main():
        rig = RIGS[venue]()
        fx = await rig.open()
        gw = rig.gateway()
        await gw.start()
        try:
            cid = "lc-ETH-9-race02"
            it = OrderIntent(rig.symbol, "buy", QTY[venue], 2995.5, cid, post_only=True)
            asked, release = _late_query(gw, venue)
            rig.faults["5xx_create"](None)  # the create answered 503, not made: outcome unknown
            placing = asyncio.ensure_future(gw.place(it))
            await asyncio.wait_for(asked.wait(), 10)  # the gateway asks the venue for the client id ...
            n = len(fx.requests)
            cancelling = asyncio.ensure_future(gw.cancel_batch([(rig.symbol, cid)]))  # ... when the stop cancels
            # released once the batch cancel reached the venue, or waits for the create (it sends nothing then)
            await wait_until(lambda: len(fx.requests) > n or cid in gw._cancel_asked or cancelling.done(), 10)
            release.set()
            out = await asyncio.wait_for(cancelling, 20)
            p = await asyncio.wait_for(placing, 20)
            creates = [r for r in fx.requests if r.path == rig.create_path and r.method == "POST"]
            resting = [(o.order_link_id, o.status) for o in rig.open_orders() if not o.stop_order_type]
            assert not resting, f"{venue}: the venue holds {resting} (batch cancel {out}, create {p.status})"
            assert len(creates) == 1, f"{venue}: the create was sent {len(creates)} times"
            outcome, u = out[cid]
            assert outcome == "accepted" and u is not None and u.status == "cancelled", out
            assert p.status == "cancelled" and gw.known(cid).status == "cancelled", p
        finally:
            await gw.close()
            await fx.stop()

    asyncio.run(main())
    reset_governors()


def test_the_stop_while_an_entry_create_is_held_by_the_venue_leaves_no_order_resting(tmp_path):
    """The engine's stop (its batch cancel, then one listing of the open orders and a query) while the venue holds
    an entry's create unanswered.  Before the fix, Bybit's batch cancel was answered 110001 (``not_found``), the
    listing and the query found nothing and the entry was journaled ``rejected`` (not_at_venue); the create then
    landed and the order rested at the venue after the stop.  Now the batch cancel waits for the create's answer
    and cancels the order it made: the venue holds nothing and the journal says ``cancelled``."""
    import sqlite3

    from liqcore.live.engine import Engine
    from liqcore.live.journal import Journal
    from liqcore.venues.bybit.fake import FakeExchange
    from liqcore.venues.bybit.gateway import BybitGateway

    from _live_helpers import PARAMS, cascade_frames

    reset_governors()
    path = tmp_path / "j.sqlite"

    async def main():
        async with FakeExchange() as fx:
            held, release = asyncio.Event(), asyncio.Event()
            handle = fx._handle_rest

            async def holding(request, p, *args):  # the venue answers the first create only once released
                if p == "/v5/order/create" and not held.is_set():
                    held.set()
                    await release.wait()
                return await handle(request, p, *args)

            fx._handle_rest = holding
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"],
                              retry_backoff=0.02, timeout=5.0)
            queried_none = asyncio.Event()
            query = gw.query

            async def query_seen(symbol, client_id):  # the stop's query of an entry gone from the listing
                u = await query(symbol, client_id)
                if u is None:
                    queried_none.set()
                return u

            gw.query = query_seen
            eng = Engine(PARAMS, symbols=["ETHUSDT"], gateway=gw, journal=Journal(path))
            await eng.start()
            now = time.time_ns()
            d = [x for i, f in enumerate(cascade_frames()) for x in eng.on_frame("bybit", f, now + i)][0]
            cid = d.client_id
            await asyncio.wait_for(held.wait(), 10)  # the create reached the venue, its answer held
            stopping = asyncio.ensure_future(eng.shutdown(timeout=8.0))
            # released once the stop found nothing at the venue, or its batch cancel waits for the create
            await wait_until(lambda: queried_none.is_set() or cid in gw._cancel_asked or stopping.done(), 10)
            release.set()
            report = await asyncio.wait_for(stopping, 20)
            await wait_until(lambda: len([r for r in fx.requests if r.path == "/v5/order/create"]) == 1
                        and fx.orders_with_link(cid), 10)  # the create processed (late, before the fix)
            creates = [r for r in fx.requests if r.path == "/v5/order/create"]
            resting = [(o.order_link_id, o.status) for o in fx.venue.open_orders("ETHUSDT") if not o.stop_order_type]
            assert not resting, f"the venue holds {resting} after the stop ({report['confirmed']})"
            assert len(creates) == 1
            assert report["confirmed"].get(cid) == "cancelled", report
            return cid

    cid = asyncio.run(main())
    reset_governors()
    with sqlite3.connect(path) as db:
        status, = db.execute("SELECT status FROM orders WHERE client_id=? AND kind='entry'", (cid,)).fetchone()
    assert status == "cancelled", status
