"""A stop reads the venue's own record before it books (liqcore.live.stopread): a
private stream can go mute without closing, and what happened meanwhile (an entry filled, a take-profit filled)
is booked from the venue's fills, with their ids and fees, never inferred from an order's state.  On each venue's
local fake, with its private stream muted; and bounded: a venue that cannot be read leaves the entry named
unreconciled, its journal row open, within the shutdown budget."""
from __future__ import annotations

import asyncio
import contextlib
import time

import orjson
import pytest

from liqcore.config import Params
from liqcore.live.engine import Engine
from liqcore.live.journal import Journal
from tests._bad_days import BinanceGateway, BybitGateway, FakeBinance, FakeExchange, FakeOkx, OkxGateway, run
from tests._bad_days import fresh_governors  # noqa: F401 (autouse: no host governor before or after a test)
from tests._live_helpers import bybit_live_child, cascade_frames, wait_until

pytestmark = pytest.mark.integration

SYM = "ETHUSDT"


class _Venue:
    """One venue's fake, its gateway, how to mute its private stream and how to trade through a price."""

    def __init__(self, name: str):
        self.name = name

    async def start(self):
        if self.name == "bybit":
            fx = self.fake = await FakeExchange().start()
            self.gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=[SYM],
                                   timeout=2.0, retry_backoff=0.02)
        elif self.name == "binance":
            fb = self.fake = await FakeBinance().start()
            self.gw = BinanceGateway(fb.api_key, fb.api_secret, fb.rest_url, fb.ws_base, symbols=[SYM], timeout=2.0,
                                     retry_backoff=0.02)
        else:
            fo = self.fake = await FakeOkx().start()
            self.gw = OkxGateway(fo.api_key, fo.api_secret, fo.passphrase, fo.rest_url, fo.ws_base, symbols=[SYM],
                                 timeout=2.0, retry_backoff=0.02)
        return self

    def mute(self) -> None:
        """The private stream stays open and says nothing."""
        if self.name == "bybit":
            self.fake.stall("private")
        elif self.name == "binance":
            self.fake.stalled = True
        else:
            self.fake.mute("private")

    async def trade(self, price: float, down: bool) -> None:
        """A print at ``price`` large enough to fill a resting order there (a sell print when ``down``)."""
        if self.name == "bybit":
            await self.fake.trade(SYM, price, 5.0, side="Sell" if down else "Buy")
        elif self.name == "binance":
            await self.fake.trade(SYM, price, 5.0)
        else:
            await self.fake.trade("ETH-USDT-SWAP", price, 50.0, side="sell" if down else "buy")

    def position(self) -> float:
        """The venue's position (base units) in the traded symbol."""
        if self.name == "okx":
            p = self.fake.venue.positions.get("ETH-USDT-SWAP")
            return p.size * 0.1 if p is not None else 0.0  # (contracts of 0.1 ETH)
        p = self.fake.venue.positions.get(SYM)
        return p.size if p is not None else 0.0


@contextlib.asynccontextmanager
async def _engine(venue: str, tmp_path, **params):
    v = await _Venue(venue).start()
    journal = Journal(tmp_path / f"{venue}.sqlite")
    eng = Engine(Params(min_history=5, history=50, **params), symbols=[SYM], gateway=v.gw, journal=journal)
    await eng.start()
    try:
        t0 = int(time.time() * 1000) - 30_000
        for f in cascade_frames(SYM, t0):
            eng.on_frame("bybit", f, orjson.loads(f)["ts"] * 1_000_000)
        await wait_until(lambda: eng.books[SYM].entry_status == "new", 10)
        yield v, eng, journal
    finally:
        journal.close()
        await v.gw.close()
        await v.fake.stop()


def _fills(journal) -> list[dict]:
    return [h["data"] for h in journal.history("fill")]


@pytest.mark.parametrize("venue", ["bybit", "binance", "okx"])
def test_an_entry_filled_while_the_stream_was_mute_is_booked_from_the_venues_fills(venue, tmp_path):
    async def main():
        async with _engine(venue, tmp_path) as (v, eng, journal):
            e = eng.books[SYM].entry
            v.mute()
            await v.trade(e.price - 1.0, down=True)  # filled at the venue; the engine hears nothing
            assert eng.books[SYM].entry_status == "new" and v.position() == pytest.approx(e.qty)
            rep = await eng.shutdown()
            assert rep["reconciled"] == "yes" and rep["unreconciled"] == [], rep
            assert rep["confirmed"] == {e.client_id: "filled"}, rep
            fills = _fills(journal)
            assert len(fills) == 1, fills  # booked once: no fill inferred beside the venue's own
            f = fills[0]
            assert f["kind"] == "entry" and f["qty"] == pytest.approx(e.qty) and f["fee"] > 0
            assert not f["exec_id"].startswith("shutdown-")
            assert journal.order(e.client_id)["status"] == "filled"
            assert journal.recover().positions[SYM]["qty"] == pytest.approx(v.position())

    run(main(), timeout=60.0)


@pytest.mark.parametrize("venue", ["bybit", "binance", "okx"])
def test_a_take_profit_filled_while_the_stream_was_mute_closes_the_journals_position(venue, tmp_path):
    async def main():
        async with _engine(venue, tmp_path) as (v, eng, journal):
            e = eng.books[SYM].entry
            await v.trade(e.price - 1.0, down=True)  # the entry fills with the stream up: booked, exits placed
            await wait_until(lambda: eng.books[SYM].position_qty > 0, 10)
            await wait_until(lambda: journal.recover().positions.get(SYM) is not None, 10)
            await asyncio.sleep(0.3)  # (the venue's exits in place)
            v.mute()
            await v.trade(e.take_profit + 1.0, down=False)  # the take-profit fills; the engine hears nothing
            assert v.position() == 0.0 and eng.books[SYM].position_qty > 0
            rep = await eng.shutdown()
            assert rep["reconciled"] == "yes", rep
            kinds = sorted(f["kind"] for f in _fills(journal))
            assert kinds == ["entry", "tp"], _fills(journal)
            assert journal.recover().positions == {}  # flat, as at the venue

    run(main(), timeout=60.0)


def test_a_venue_that_cannot_be_read_at_stop_leaves_the_entry_unreconciled_within_the_budget(tmp_path):
    async def main():
        async with _engine("bybit", tmp_path, shutdown_timeout_ns=2_000_000_000) as (v, eng, journal):
            e = eng.books[SYM].entry
            v.mute()
            await v.trade(e.price - 1.0, down=True)
            v.fake.fail_next(10_000, status=502, path="/v5/execution/list")  # its fills cannot be read
            t0 = time.monotonic()
            rep = await eng.shutdown()
            assert time.monotonic() - t0 < 2.5, rep
            assert [u["client_id"] for u in rep["unreconciled"]] == [e.client_id], rep
            u = rep["unreconciled"][0]
            assert u["venue_filled"] == pytest.approx(e.qty) and u["booked"] == 0.0
            assert e.client_id not in rep["confirmed"]
            assert _fills(journal) == []  # nothing inferred
            assert journal.order(e.client_id)["status"] == "new"  # left open: the next start settles it
            notes = [h["data"] for h in journal.history("shutdown")]
            assert notes and notes[-1]["unreconciled"][0]["client_id"] == e.client_id

    run(main(), timeout=60.0)


def test_liqcore_run_says_not_reconciled_for_an_entry_whose_fills_could_not_be_read(tmp_path):
    """`liqcore run --live` in a child process: an entry fills while the private stream is mute and the venue's
    fills cannot be read; SIGINT: the run ends within --shutdown-timeout, names the entry on stderr as NOT
    RECONCILED, books no fill for it and leaves its journal row open."""
    import signal

    from _procs import Stopwatch, wait_exit

    from liqcore.testing.fake_exchange import FakeExchangeThread

    th = FakeExchangeThread()
    fx = th.start()
    try:
        child = bybit_live_child(fx, tmp_path, SYM)
        t = time.monotonic()
        time.sleep(0.5)
        for f in cascade_frames(SYM, int(time.time() * 1000) - 30_000):
            th.call(fx.push(f))
        while not [o for o in fx.venue.open_orders() if o.order_link_id and o.status == "New"]:
            assert time.monotonic() - t < 60, "entry not resting"
            time.sleep(0.05)
        cid = next(o.order_link_id for o in fx.venue.open_orders() if o.order_link_id)
        time.sleep(1.0)  # the child's strategy core has seen the entry arrive
        fx.stall("private")
        th.call(fx.trade(SYM, 2990.0, 5.0, side="Sell"))  # filled at the venue; the child hears nothing
        fx.fail_next(10_000, status=502, path="/v5/execution/list")  # and its fills cannot be read
        watch = Stopwatch(child.pid)
        child.send_signal(signal.SIGINT)
        wait_exit(child, watch, 30, "liqcore run after SIGINT")
        out, err = child.stdout.read(), child.stderr.read()
        child.stdout.close()
        child.stderr.close()
        assert child.returncode == 0, err.decode()[-2000:]
        sd = orjson.loads(out.decode().strip().splitlines()[-1])["shutdown"]
        assert [u["client_id"] for u in sd["unreconciled"]] == [cid] and sd["seconds"] < 3.0, sd
        assert watch.unloaded < 3.0 + 2.0, str(watch)
        assert f"NOT RECONCILED (the venue reports 0.83 filled, 0 booked; the next start settles it): {SYM} {cid}" \
            in err.decode(), err.decode()[-2000:]
        journal = Journal(tmp_path / "j.sqlite")
        try:
            assert _fills(journal) == [] and journal.order(cid)["status"] == "new"
        finally:
            journal.close()
    finally:
        th.stop()
