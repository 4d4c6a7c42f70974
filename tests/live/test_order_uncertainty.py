"""The order manager on the venues' bad days (issue 67, the shared part), against the loopback Bybit fake:

* an entry whose create outcome is unknown (the venue created it, the answer was lost, the venue could not be
  asked at once) is journaled ``unknown`` and how it was resolved (state found, queries, seconds), and is then
  managed like any other order: cancelled at its entry timeout once found resting;
* a cancel whose outcome is unknown is asked about and sent again until the venue confirms the order gone;
* a close whose outcome is unknown is asked about by its client id;
* queries wait out a ban of the venue's host (nothing is asked into it);
* a signal that arrives during a ban is skipped and said (reason ``banned``, a journal row, a metric, one line);
* the gateway's protection reports are journaled and counted, and the watchdog closes a position left without
  its exits;
* the start equity (wallet balance + unrealized PnL) is in the run's summary.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
import time

import orjson
import pytest

from liqcore.live.engine import Engine
from liqcore.live.journal import Journal
from liqcore.live.paper import PaperGateway
from liqcore.venues.governor import VenueBanned, governor_for, reset_governors
from liqcore.venues.bybit.fake import FakeExchange

from _live_helpers import PARAMS, cascade_frames
from _live_helpers import wait_until as _wait

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

FAST = dict(delays=(0.05, 0.1, 0.2, 0.3), slow=0.3)


@pytest.fixture(autouse=True)
def _governors():
    reset_governors()
    yield
    reset_governors()


def feed(engine, frames):
    out = []
    now = time.time_ns()
    for i, f in enumerate(frames):
        out += engine.on_frame("bybit", f, now + i)
    return out


def _explained(path) -> str:
    """The bad-day part of ``liqcore journal --explain`` (liqcore.live.explain) of the journal at ``path``."""
    from rich.console import Console

    from liqcore.live.explain import format_incidents, incidents

    con = Console(record=True, width=300)
    with sqlite3.connect(path) as db:
        format_incidents(incidents(db), con)
    return con.export_text()


def rows(path, type_):
    with sqlite3.connect(path) as db:
        return [(k, orjson.loads(d)) for k, d in db.execute("SELECT key, data FROM log WHERE type=? ORDER BY id",
                                                              (type_,))]


async def _engine(fx, journal=None, params=PARAMS, **kw):
    from liqcore.venues.bybit.gateway import BybitGateway

    gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"],
                      retry_backoff=0.02, timeout=2.0)
    eng = Engine(params, symbols=["ETHUSDT"], gateway=gw, journal=journal, **kw)
    await eng.start()
    u = eng.order_manager.unknowns
    u.delays, u.slow = FAST["delays"], FAST["slow"]
    return eng


async def _ticking(eng, every=0.05):
    """The live runner's clock: on_clock every ``every`` seconds (timeouts, the protection watchdog)."""
    while True:
        eng.on_clock()
        await asyncio.sleep(every)


def test_unknown_create_is_journaled_resolved_and_cancelled_at_its_timeout(tmp_path):
    """Bybit: the create is processed but answered 502 and the first queries fail too: the entry is ``unknown``
    (never rejected); a later query finds it resting, which the journal says (state, queries, seconds); its entry
    timeout passed meanwhile, so it is cancelled at the venue at once."""
    path = tmp_path / "j.sqlite"

    async def main():
        async with FakeExchange() as fx:
            params = PARAMS.replace(entry_timeout_ns=200_000_000)
            eng = await _engine(fx, Journal(path), params=params)
            eng.order_manager.unknowns.delays = (0.5, 0.3, 0.3)  # the timeout passes while the entry is unknown
            fx.fail_next(1, status=502, path="/v5/order/create", process=True)  # created, the answer lost
            fx.fail_next(4, status=502, path="/v5/order/realtime")  # and the venue cannot be asked at once
            ds = feed(eng, cascade_frames())
            cid = ds[0].client_id
            await _wait(lambda: eng.books["ETHUSDT"].entry_status == "unknown", 10)
            tick = asyncio.create_task(_ticking(eng))  # the entry timeout is due while the entry is unknown
            await _wait(lambda: fx.orders_with_link(cid) and fx.orders_with_link(cid)[0].status == "Cancelled", 15)
            await _wait(lambda: eng.books["ETHUSDT"].entry is None, 5)
            assert len(fx.requests_to("/v5/order/create")) == 1  # never sent again under another id
            tick.cancel()
            await eng.shutdown()
            return cid

    cid = asyncio.run(main())
    unk = [d for k, d in rows(path, "unknown") if k == cid]
    assert unk and unk[0]["what"] == "create" and unk[0]["symbol"] == "ETHUSDT" and unk[0]["reason"]
    res = [d for k, d in rows(path, "unknown_resolved") if k == cid]
    assert res and res[0]["status"] == "new" and res[0]["queries"] >= 1 and res[0]["seconds"] > 0
    # --explain shows it: what was unknown, why, and how it was resolved
    text = _explained(path)
    assert "1 orders whose outcome was unknown" in text and cid in text and "create" in text and "new" in text


def test_unknown_cancel_is_retried_until_the_venue_confirms(tmp_path):
    """The entry rests; its cancel (entry timeout) is answered 502 three times and the gateway's own queries
    fail: the cancel's outcome is unknown.  The manager asks the venue, finds the order still resting and
    cancels it again until the venue confirms it cancelled (before: logged and forgotten, the order rested)."""
    path = tmp_path / "j.sqlite"

    async def main():
        async with FakeExchange() as fx:
            params = PARAMS.replace(entry_timeout_ns=300_000_000)
            eng = await _engine(fx, Journal(path), params=params)
            ds = feed(eng, cascade_frames())
            cid = ds[0].client_id
            await _wait(lambda: eng.books["ETHUSDT"].entry_status == "new", 10)
            fx.fail_next(3, status=502, path="/v5/order/cancel")
            fx.fail_next(3, status=502, path="/v5/order/realtime")
            tick = asyncio.create_task(_ticking(eng))
            await _wait(lambda: fx.orders_with_link(cid)[0].status == "Cancelled", 15)
            await _wait(lambda: eng.books["ETHUSDT"].entry is None, 5)
            tick.cancel()
            await eng.shutdown()
            return cid

    cid = asyncio.run(main())
    unk = [d for k, d in rows(path, "unknown") if k == cid]
    assert [d["what"] for d in unk] == ["cancel"]
    res = [d for k, d in rows(path, "unknown_resolved") if k == cid]
    assert res and res[0]["what"] == "cancel" and res[0]["status"] == "cancelled"


def test_unknown_outcome_queries_wait_out_a_ban(tmp_path):
    """While the venue's host bans this IP, the unknown order is not asked about (nothing is sent into the ban);
    once the ban ends it is asked, and resolved."""

    async def main():
        async with FakeExchange() as fx:
            eng = await _engine(fx, Journal(tmp_path / "j.sqlite"))
            fx.fail_next(1, status=502, path="/v5/order/create", process=True)
            fx.fail_next(4, status=502, path="/v5/order/realtime")
            ds = feed(eng, cascade_frames())
            cid = ds[0].client_id
            await _wait(lambda: eng.books["ETHUSDT"].entry_status == "unknown", 10)
            gov = governor_for("bybit", fx.rest_url)
            gov.ban(1.5, "HTTP 403")
            t0 = time.monotonic()

            def asked():
                return len([r for r in fx.requests_to("/v5/order/realtime") if r.query.get("orderLinkId") == cid])

            n0 = asked()
            await asyncio.sleep(1.0)
            assert asked() == n0  # nothing asked about it during the ban
            await _wait(lambda: eng.books["ETHUSDT"].entry_status == "new", 10)
            assert time.monotonic() - t0 >= 1.4
            assert len(fx.orders_with_link(cid)) == 1
            await eng.shutdown()

    asyncio.run(main())


def test_unknown_close_is_asked_about_by_its_client_id(tmp_path):
    """The position is held past its hold timeout; the market close is created at the venue but its answer is a
    502 and the gateway's own queries fail: the close is ``unknown``, asked about by its client id until the venue
    answers (filled), journaled with how it was resolved; the position is flat and no second close is sent."""
    import orjson as _o

    from liqcore.testing.fake_replay import trade_frame

    path = tmp_path / "j.sqlite"

    async def main():
        async with FakeExchange() as fx:
            fills = []
            params = PARAMS.replace(hold_timeout_ns=300_000_000)
            eng = await _engine(fx, Journal(path), params=params, on_fill=fills.append)
            feed(eng, cascade_frames())
            await _wait(lambda: eng.books["ETHUSDT"].entry_status == "new", 10)
            await fx.trade("ETHUSDT", 2994.0)
            await _wait(lambda: any(f.kind == "entry" for f in fills), 10)
            await asyncio.sleep(0.35)
            fx.fail_next(1, status=502, path="/v5/order/create", process=True)
            fx.fail_next(4, status=502, path="/v5/order/realtime")
            feed(eng, [_o.dumps(trade_frame("ETHUSDT", 2996.0, 1, "Sell", int(time.time() * 1000) - 1000))])
            await _wait(lambda: eng.books["ETHUSDT"].closing, 5)
            close_id = eng.books["ETHUSDT"].closing
            await _wait(lambda: [d for k, d in rows_now(eng, "unknown_resolved") if k == close_id], 15)
            await _wait(lambda: eng.books["ETHUSDT"].position_qty == 0, 10)
            assert fx.venue.position("ETHUSDT").size == 0
            assert len([r for r in fx.requests_to("/v5/order/create") if r.body.get("reduceOnly")]) == 1
            await eng.shutdown()
            return close_id

    cid = asyncio.run(main())
    unk = [d for k, d in rows(path, "unknown") if k == cid]
    assert [d["what"] for d in unk] == ["close"] and unk[0]["kind"] == "exit"
    res = [d for k, d in rows(path, "unknown_resolved") if k == cid]
    assert res[0]["status"] == "filled" and res[0]["queries"] >= 1


def rows_now(eng, type_):
    eng.journal.flush()
    return rows(eng.journal.path, type_)


def test_an_exit_fill_before_its_entry_fill_is_booked_after_it():
    """After a reconnect, a gateway's reconciliation may report the entry's fill after the exit's fill that the live
    stream already pushed: the exit's fill waits for the entry's, then the trade is accounted as usual (before:
    the position 0 in the book with the entry left 'filled', no trade, the core still holding a working entry)."""
    from liqcore.venues.gateway import Fill

    async def main():
        async with FakeExchange() as fx:
            eng = await _engine(fx)
            ds = feed(eng, cascade_frames())
            d = ds[0]
            await _wait(lambda: eng.books["ETHUSDT"].entry_status == "new", 10)
            om = eng.order_manager
            now = time.time_ns()
            om.report_fill(Fill(d.client_id + "-sl", "ETHUSDT", "sell", d.stop_loss, d.qty, 0.1, False,
                                exec_id="x-2", kind="sl", ts_ns=now))
            assert eng.books["ETHUSDT"].position_qty == 0 and eng.books["ETHUSDT"].trades == 0
            om.report_fill(Fill(d.client_id, "ETHUSDT", "buy", d.price, d.qty, 0.05, True, exec_id="x-1",
                                kind="entry", ts_ns=now - 1000))
            b = eng.books["ETHUSDT"]
            assert b.trades == 1 and b.position_qty == 0 and b.entry is None and not b.early
            assert eng.core.position(0)["status"] == "flat"
            assert eng.core.result().trades()[-1]["exit_reason"] == "stop_loss"
            await eng.shutdown(cancel_entries=False)

    asyncio.run(main())


def test_an_entry_fill_booked_after_the_entry_timeout_is_managed():
    """The core's entry timeout passed while the fill was on its way (a reconnect's reconciliation books it late):
    the core takes the position the venue holds, so its exit is accounted as a trade (before: the book kept the
    entry 'filled' with no position in the core, the exit fill closed nothing, no trade)."""
    from liqcore.venues.gateway import Fill

    async def main():
        async with FakeExchange() as fx:
            eng = await _engine(fx)
            d = feed(eng, cascade_frames())[0]
            await _wait(lambda: eng.books["ETHUSDT"].entry_status == "new", 10)
            om, now = eng.order_manager, time.time_ns()
            eng.core.external_cancel(0, now)  # the core's side of the timeout: its entry no longer works
            om.report_fill(Fill(d.client_id, "ETHUSDT", "buy", d.price, d.qty, 0.05, True, exec_id="y-1",
                                kind="entry", ts_ns=now))
            assert eng.core.position(0)["status"] == "open"
            om.report_fill(Fill("", "ETHUSDT", "sell", d.stop_loss, d.qty, 0.1, False, exec_id="y-2", kind="sl",
                                ts_ns=now + 1000))
            b = eng.books["ETHUSDT"]
            assert b.trades == 1 and b.entry is None and b.position_qty == 0
            assert eng.core.position(0)["status"] == "flat"
            await eng.shutdown(cancel_entries=False)

    asyncio.run(main())


class _BannedPaper(PaperGateway):
    """The in-process paper venue under a ban its host announced (the venue gateways read it from their
    governors; the engine's part is what it does with a signal then)."""

    ban: str | None = None

    def banned(self):
        return self.ban


def test_signal_during_a_ban_is_skipped_and_said(tmp_path, caplog):
    params = PARAMS.replace(window_ns=3_000_000_000)
    gw = _BannedPaper()
    gw.ban = str(VenueBanned("bybit", "api.bybit.com", time.time() + 600, "HTTP 403"))
    eng = Engine(params, symbols=["ETHUSDT"], gateway=gw, journal=Journal(tmp_path / "j.sqlite"))
    with caplog.at_level(logging.ERROR, logger="liqcore.governor"):
        ds = feed(eng, cascade_frames())
    assert [d.reason for d in ds] == ["banned"] and not ds[0].client_id
    assert gw.stats["placed"] == 0 and eng.orders == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "liqcore.governor.skip"]
    assert len(lines) == 1 and "ETHUSDT" in lines[0] and "IP banned by api.bybit.com until" in lines[0]
    assert eng.metrics.value("liqcore_blocked_total", reason="banned") == 1
    assert eng.metrics.value("liqcore_decisions_total", outcome="banned") == 1
    eng.journal.flush()
    ban_rows = rows(tmp_path / "j.sqlite", "banned")
    assert ban_rows and ban_rows[0][1]["ban"] == gw.ban and ban_rows[0][1]["symbol"] == "ETHUSDT"
    assert [d["reason"] for _, d in rows(tmp_path / "j.sqlite", "decision")] == ["banned"]
    assert "signal on ETHUSDT skipped (banned): bybit: IP banned by api.bybit.com" in _explained(tmp_path / "j.sqlite")
    # once the ban ends, the next signal is traded
    gw.ban = None
    ds = feed(eng, cascade_frames(t0_ms=int(time.time() * 1000) - 22_000)[-3:])
    assert ds and ds[0].action == "order"
    eng.journal.close()


def test_protection_reports_are_journaled_and_the_watchdog_closes_an_unprotected_position(tmp_path):
    """The entry fills; the gateway reports its stop-loss lost (the venue cancelled it): journaled, counted,
    the gauge says one unprotected position; nothing replaces it within the limit, so the watchdog closes the
    position at market (reduce-only) and journals ``closed``."""
    path = tmp_path / "j.sqlite"

    async def main():
        async with FakeExchange() as fx:
            fills = []
            eng = await _engine(fx, Journal(path), on_fill=fills.append)
            om = eng.order_manager
            om.protection.limit_s = 0.5
            feed(eng, cascade_frames())
            await _wait(lambda: eng.books["ETHUSDT"].entry_status == "new", 10)
            await fx.trade("ETHUSDT", 2994.0)
            await _wait(lambda: any(f.kind == "entry" for f in fills), 10)
            eng.gateway._protection("ETHUSDT", "sl", "lost", "venue cancelled the stop-loss")
            assert eng.metrics.value("liqcore_unprotected_positions") == 1
            assert eng.metrics.value("liqcore_protection_events_total", action="lost") == 1
            tick = asyncio.create_task(_ticking(eng))
            await _wait(lambda: any(f.kind == "exit" for f in fills), 10)
            await _wait(lambda: eng.books["ETHUSDT"].position_qty == 0, 10)
            assert [r.body.get("reduceOnly") for r in fx.requests_to("/v5/order/create")][1:] == [True]
            assert eng.metrics.value("liqcore_unprotected_positions") == 0
            tick.cancel()
            await eng.shutdown()

    asyncio.run(main())
    ev = [d for _, d in rows(path, "protection")]
    assert [(d["exit"], d["action"]) for d in ev] == [("sl", "lost"), ("sl", "closed")]
    assert ev[0]["venue"] == "bybit" and "venue cancelled" in ev[0]["reason"]
    assert ev[1]["unprotected_s"] >= 0.5 and "closed at market" in ev[1]["reason"]
    text = _explained(path)
    assert "2 protection reports" in text and "lost" in text and "closed" in text and "venue cancelled" in text


def test_venue_exits_refused_on_the_fill_make_the_watchdog_close_the_position(tmp_path):
    """The manager's own knowledge: the venue refuses the exits set on the fill (trading-stop answered 5xx every
    time), so the position is unprotected at the venue; past the limit it is closed at market and journaled."""
    path = tmp_path / "j.sqlite"

    async def main():
        async with FakeExchange() as fx:
            fills = []
            eng = await _engine(fx, Journal(path), params=PARAMS.replace(trail=0.002), on_fill=fills.append)
            eng.order_manager.protection.limit_s = 0.5
            feed(eng, cascade_frames())
            await _wait(lambda: eng.books["ETHUSDT"].entry_status == "new", 10)
            fx.fail_next(20, status=503, path="/v5/position/trading-stop")
            await fx.trade("ETHUSDT", 2994.0)
            await _wait(lambda: any(f.kind == "entry" for f in fills), 10)
            await _wait(lambda: "ETHUSDT" in eng.order_manager.protection.unprotected, 10)
            tick = asyncio.create_task(_ticking(eng))
            await _wait(lambda: eng.books["ETHUSDT"].position_qty == 0, 15)
            assert fx.venue.position("ETHUSDT").size == 0
            tick.cancel()
            await eng.shutdown()

    asyncio.run(main())
    ev = [d for _, d in rows(path, "protection")]
    assert [(d["action"], d["source"]) for d in ev] == [("lost", "engine"), ("closed", "engine")]
    assert "venue exits not set" in ev[0]["reason"]


def test_a_replaced_exit_ends_the_unprotected_time(tmp_path):
    """Lost, then replaced by the gateway within the limit: no close, the gauge back to 0."""

    async def main():
        async with FakeExchange() as fx:
            fills = []
            eng = await _engine(fx, Journal(tmp_path / "j.sqlite"), on_fill=fills.append)
            eng.order_manager.protection.limit_s = 0.3
            feed(eng, cascade_frames())
            await _wait(lambda: eng.books["ETHUSDT"].entry_status == "new", 10)
            await fx.trade("ETHUSDT", 2994.0)
            await _wait(lambda: any(f.kind == "entry" for f in fills), 10)
            eng.gateway._protection("ETHUSDT", "tp", "lost", "expired")
            eng.gateway._protection("ETHUSDT", "tp", "replaced", "new take-profit live")
            await asyncio.sleep(0.4)
            eng.on_clock()
            assert eng.metrics.value("liqcore_unprotected_positions") == 0
            assert len(fx.requests_to("/v5/order/create")) == 1 and eng.books["ETHUSDT"].position_qty
            await eng.shutdown()

    asyncio.run(main())


def test_start_equity_is_the_venue_equity_in_the_summary():
    from liqcore.live.runner import LiveRunner

    async def main():
        async with FakeExchange(equity=12_345.0) as fx:
            eng = await _engine(fx)
            runner = LiveRunner(eng, "bybit", ["ETHUSDT"], ws_url=fx.public_ws_url)
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run(stop=stop))
            await runner.feed.wait_connected(5)
            stop.set()
            return await task

    summary = asyncio.run(main())
    assert summary["start_equity_usd"] == pytest.approx(12_345.0)
