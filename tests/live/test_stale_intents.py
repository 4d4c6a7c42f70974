"""A pending create found in the journal at restart is resent only while it is younger than entry-timeout;
an older one is asked for at the venue and, if it rests there, cancelled, never resent."""
from __future__ import annotations

import asyncio
import time

import pytest

from liqcore.config import Params
from liqcore.live.engine import Engine
from liqcore.venues.gateway import OrderIntent
from liqcore.live.journal import Journal
from liqcore.venues.bybit.fake import FakeExchange

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

PARAMS = Params(min_history=5, history=50, entry_timeout_ns=10_000_000_000)


def journal_with_pending(path, symbol: str, cid: str, age_s: float) -> OrderIntent:
    """A journal holding one entry intent, written ahead and never answered (the process died)."""
    now = time.time_ns()
    intent = OrderIntent(symbol, "buy", 0.5, 2995.5, cid, take_profit=3000.0, stop_loss=2988.0,
                         decision_ns=now - int(age_s * 1e9), meta={"cascade_id": 1, "ref_price": 3000.0})
    with Journal(path) as j:
        j.intent(intent, intent.decision_ns, seq=3)
    return intent


async def restarted(fx, path, symbols, drain=True):
    from liqcore.venues.bybit.gateway import BybitGateway

    gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=symbols, retry_backoff=0.02,
                      timeout=2.0)
    eng = Engine(PARAMS, symbols=symbols, gateway=gw, journal=Journal(path))
    await eng.start()
    if drain:
        await eng.drain(5)
    return eng


def test_stale_pending_intents_are_queried_and_cancelled_never_resent(tmp_path):
    async def main():
        async with FakeExchange() as fx:
            path = tmp_path / "j.sqlite"
            # ETH: an old intent that did reach the venue and rests there; SOL: an old one that never arrived;
            # BTC: a young one that never arrived (resent under the same client id)
            eth = journal_with_pending(path, "ETHUSDT", "lc-ETH-1-aaaaaa", age_s=30)
            sol = journal_with_pending(path, "SOLUSDT", "lc-SOL-2-bbbbbb", age_s=30)
            btc = journal_with_pending(path, "BTCUSDT", "lc-BTC-3-cccccc", age_s=0.2)
            fx.venue.place_resting("ETHUSDT", "Buy", 0.5, 2995.5, order_link_id=eth.client_id)
            eng = await restarted(fx, path, ["ETHUSDT", "SOLUSDT", "BTCUSDT"])
            creates = [r.body["orderLinkId"] for r in fx.requests_to("/v5/order/create")]
            assert creates == [btc.client_id]  # only the young intent is sent again
            assert fx.orders_with_link(eth.client_id)[0].status == "Cancelled"
            assert not fx.orders_with_link(sol.client_id)
            j = eng.journal
            assert j.order(eth.client_id)["status"] == "cancelled"
            assert j.order(sol.client_id)["status"] == "cancelled" and j.order(sol.client_id)["reason"] == "stale_intent"
            assert eng.books["ETHUSDT"].entry is None and eng.books["SOLUSDT"].entry is None
            assert eng.core.position(0)["status"] == "flat" and eng.core.position(1)["status"] == "flat"
            assert eng.books["BTCUSDT"].entry.client_id == btc.client_id
            assert len(fx.orders_with_link(btc.client_id)) == 1
            await eng.shutdown()
            j.close()

    asyncio.run(main())


def test_stale_intent_is_not_resent_while_the_venue_cannot_be_asked(tmp_path):
    async def main():
        async with FakeExchange() as fx:
            path = tmp_path / "j.sqlite"
            eth = journal_with_pending(path, "ETHUSDT", "lc-ETH-1-dddddd", age_s=30)
            failed = []

            def no_answer(rec):  # queries by client id get no answer (8 times)
                if rec.path == "/v5/order/realtime" and "orderLinkId" in rec.query and len(failed) < 8:
                    failed.append(rec)
                    fx.fail_next(1, status=502, path="/v5/order/realtime")

            fx.on_request.append(no_answer)
            eng = await restarted(fx, path, ["ETHUSDT"], drain=False)
            assert eng.books["ETHUSDT"].entry_status == "unknown" and not eng.pending
            await asyncio.sleep(1.0)  # the engine asks again; the venue finally answers: no such order
            assert not fx.requests_to("/v5/order/create")
            t = time.monotonic()
            while eng.books["ETHUSDT"].entry is not None and time.monotonic() - t < 10:
                await asyncio.sleep(0.05)
            assert eng.books["ETHUSDT"].entry is None and not fx.requests_to("/v5/order/create")
            await eng.shutdown()
            eng.journal.close()

    asyncio.run(main())
