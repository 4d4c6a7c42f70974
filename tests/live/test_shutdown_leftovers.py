"""After an interrupt no entry is left working in the journal: an intent journaled while the shutdown runs (a frame
decided on after the stop began, its create never sent) is marked never sent, and an entry the shutdown learned
the end of (cancelled, filled meanwhile) carries that end in the journal, whoever reported it."""
from __future__ import annotations

import asyncio
import time

import pytest

from liqcore.live.journal import OPEN_STATUSES, Journal
from liqcore.venues.bybit.fake import FakeExchange

from _live_helpers import PARAMS, cascade_frames

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _open_entries(j: Journal) -> list[tuple]:
    j.flush()
    return j.db.execute("SELECT client_id, status, reason FROM orders WHERE kind='entry' AND status IN (%s)"
                        % ",".join("?" * len(OPEN_STATUSES)), tuple(OPEN_STATUSES)).fetchall()


def test_an_intent_journaled_during_shutdown_is_marked_never_sent(tmp_path):
    from liqcore.venues.bybit.gateway import BybitGateway

    async def main():
        async with FakeExchange() as fx:
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"],
                              retry_backoff=0.02, timeout=2.0)
            j = Journal(tmp_path / "j.sqlite")
            from liqcore.live.engine import Engine

            eng = Engine(PARAMS, symbols=["ETHUSDT"], gateway=gw, journal=j)
            await eng.start()
            om = eng.order_manager
            drain = om.drain
            decided = []

            async def frame_during_shutdown(timeout=10.0):  # the loop ran a frame once the stop had begun
                t0 = int(time.time() * 1000) - 30_000
                for f in cascade_frames(t0_ms=t0):
                    decided.extend(eng.on_frame("bybit", f, time.time_ns()))
                await drain(timeout)

            om.drain = frame_during_shutdown
            report = await eng.shutdown()
            (d,) = [x for x in decided if x.action == "order"]
            assert not fx.orders_with_link(d.client_id)  # never sent
            assert _open_entries(j) == [], report
            row = j.order(d.client_id)
            assert (row["status"], row["reason"]) == ("cancelled", "never_sent"), row
            j.close()

    asyncio.run(main())


def test_an_end_the_shutdown_learned_is_journaled_whoever_reported_it(tmp_path):
    """An entry the gateway saw filled (its push, taken as reported) while the journal still held it open: the
    shutdown's confirmed end is written with the venue's fill; an entry it could not settle stays as it was."""
    from liqcore.live.lifecycle import settled_rows
    from liqcore.venues.orders import OrderUpdate

    j = Journal(tmp_path / "j.sqlite")
    for cid in ("a", "b", "c"):
        j.order_update(OrderUpdate(cid, "new", "ETHUSDT", side="buy", price=2995.5, qty=0.83), 1)
    seen = {"a": OrderUpdate("a", "filled", "ETHUSDT", "v1", "buy", 2995.5, 0.83, 0.83, 2995.5, ts_ns=5)}
    report = {"confirmed": {"a": "filled", "b": "cancelled"}, "unconfirmed": [{"client_id": "c"}]}
    for u in settled_rows(j.open_entries(), report, 9, seen.get):
        j.order_update(u, u.ts_ns)
    rows = {cid: j.order(cid) for cid in ("a", "b", "c")}
    assert (rows["a"]["status"], rows["a"]["filled_qty"], rows["a"]["avg_price"]) == ("filled", 0.83, 2995.5)
    assert (rows["b"]["status"], rows["b"]["reason"]) == ("cancelled", "confirmed at shutdown")
    assert rows["c"]["status"] == "new"  # may still rest at the venue: the report names it
    assert [r["client_id"] for r in j.open_entries()] == ["c"]
    j.close()
