"""The trading guide's "fill rate below 40 % -> reduce size" as a standing live alarm, against the fake
exchange on 127.0.0.1: an entry that times out unfilled raises ``fill_rate``; a filled one clears it."""
from __future__ import annotations

import asyncio
import pathlib
import sys
import time

import pytest

from liqcore.live.engine import Engine
from liqcore.live.runner import LiveRunner
from liqcore.venues.bybit.fake import FakeExchange

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _live_helpers import PARAMS, cascade_frames  # noqa: E402
from _live_helpers import wait_until as _wait  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def test_fill_rate_alarm_raised_by_an_unfilled_entry_and_cleared_by_a_fill():
    async def main():
        async with FakeExchange() as fx:
            from liqcore.venues.bybit.gateway import BybitGateway

            params = PARAMS.replace(entry_timeout_ns=300_000_000, window_ns=3_000_000_000, fill_alarm_entries=1)
            assert params.fill_alarm == 0.40  # the guide's 40 %, the default
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"])
            eng = Engine(params, symbols=["ETHUSDT"], gateway=gw)
            runner = LiveRunner(eng, "bybit", ["ETHUSDT"], ws_url=fx.public_ws_url, clock_interval_s=0.05)
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run(stop=stop))
            await runner.feed.wait_connected(5)
            await asyncio.sleep(0.2)
            for f in cascade_frames():
                await fx.push(f)
            await _wait(lambda: fx.requests_to("/v5/order/cancel"), 5)  # unfilled after 300 ms
            await _wait(lambda: "fill_rate" in eng.alarms, 5)
            assert "fill rate 0% of the last 1 entries is below 40%: reduce size" in eng.alarms["fill_rate"]
            assert "fill_rate" in eng.snapshot()["alarms"]
            await _wait(lambda: eng.books["ETHUSDT"].entry is None and eng.core.position(0)["status"] == "flat")
            t1 = int(time.time() * 1000) - 22_000
            for f in cascade_frames(t0_ms=t1)[-3:]:
                await fx.push(f)
            await _wait(lambda: eng.books["ETHUSDT"].entry_status == "new")
            await fx.trade("ETHUSDT", 2994.0)  # through the limit: filled
            await _wait(lambda: "fill_rate" not in eng.alarms, 5)
            stop.set()
            summary = await task
            assert "fill_rate" not in summary["alarms"]

    asyncio.run(main())
