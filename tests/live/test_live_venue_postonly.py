"""Venue mode: the venue, not the strategy core, decides a post-only entry's rejection.

A print that crosses the limit after decision + order-latency but before the engine's clock tick used to
make the core reject the entry on the tick and the engine cancel an order the venue had accepted."""
from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from liqcore.live.engine import Engine
from liqcore.venues.bybit.fake import FakeExchange
from liqcore.testing.fake_replay import trade_frame

from _live_helpers import PARAMS, cascade_rows
from _live_helpers import wait_until as _wait

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

def test_crossing_print_before_the_clock_tick_does_not_cancel_an_accepted_entry():
    async def main():
        from liqcore.venues.bybit.gateway import BybitGateway

        async with FakeExchange() as fx:
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"],
                              retry_backoff=0.02, timeout=2.0)
            eng = Engine(PARAMS, symbols=["ETHUSDT"], gateway=gw)
            await eng.start()
            frames = cascade_rows("ETHUSDT")  # from 30 s ago
            now = time.time_ns()
            decisions = []
            for i, f in enumerate(frames):
                decisions += eng.on_frame("bybit", orjson.dumps(f), now - 1_000_000 + i)
            d = [x for x in decisions if x.action == "order"]
            assert len(d) == 1 and d[0].side == "buy"
            cid, limit = d[0].client_id, d[0].price
            await _wait(lambda: eng.books["ETHUSDT"].entry_status == "new")  # the venue accepted it
            lat = PARAMS.order_latency_ns
            # under load: a print through the limit reaches the engine after the order's arrival, before a tick
            t_print = d[0].ts_ns + lat + 1_000_000
            eng.on_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", limit - 1.0, 1, "Sell", t_print // 1_000_000)),
                         t_print)
            eng.on_clock(t_print + 1_000_000)
            await asyncio.sleep(0.3)
            await eng.drain(2)
            assert fx.requests_to("/v5/order/cancel") == []  # the engine did not cancel the venue's order
            assert eng.books["ETHUSDT"].entry is not None and eng.books["ETHUSDT"].entry_status == "new"
            assert eng.core.position(0)["status"] == "resting"
            assert eng.core.summary_counts()["rejected"] == 0
            # the venue fills it: the core takes the position over
            await fx.trade("ETHUSDT", limit - 1.0)
            await _wait(lambda: eng.core.position(0)["status"] == "open")
            assert len(fx.orders_with_link(cid)) == 1
            await eng.shutdown(timeout=2)

    asyncio.run(main())
