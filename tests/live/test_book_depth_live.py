"""``liqcore run --book depth``: the live runner subscribes each traded symbol's depth (Bybit ``orderbook.1000.S``,
Binance ``<s>@depth@100ms`` with ``GET /fapi/v1/depth``), keeps the venue's protocol (a break refetched), and the
live queue estimate of a resting entry reads the size shown at its level, far behind the best, where the top of
book shows nothing; a feed gap makes it unknown.  Against the fakes on 127.0.0.1."""
from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from liqcore.config import Params
from liqcore.live.engine import Engine
from liqcore.live.runner import LiveRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _live_helpers import wait_until  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def _ahead(eng, symbol, side, price):
    """The estimate an entry resting now at ``price`` would get (the size ahead of it; None: unknown)."""
    qe = eng.queue_est.est
    i = eng.queue_est.index[symbol]
    est = qe.on_order_rested(i, time.time_ns(), "probe", side, price)
    qe.on_end(i, time.time_ns(), "cancelled")
    return est["ahead"]


def test_bybit_book_depth_reads_the_level_behind_the_best():
    async def main():
        from liqcore.venues.bybit.fake import FakeExchange

        async with FakeExchange() as fx:
            book = {"u": 7, "bids": [["3000.0", "2"], ["2997.0", "6.5"]], "asks": [["3000.1", "1"]]}
            fx.books["ETHUSDT"] = lambda: (book["u"], book["bids"], book["asks"])
            eng = Engine(Params(), symbols=["ETHUSDT"])
            runner = LiveRunner(eng, "bybit", ["ETHUSDT"], ws_url=fx.public_ws_url, clock_interval_s=0.05,
                                book_depth=True)
            topic = "orderbook.1000.ETHUSDT"
            assert topic in [t for s in runner.feed.specs for t in s.topics]
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run(stop=stop))
            try:
                await wait_until(lambda: fx.subscribed(topic), 90)
                # the snapshot sent on subscribe, then its run ends at the symbol's next row
                await wait_until(lambda: _ahead(eng, "ETHUSDT", "buy", 2997.0) == 6.5, 20)
                t = int(time.time() * 1000)
                await fx.push({"topic": topic, "type": "delta", "ts": t, "cts": t,
                               "data": {"s": "ETHUSDT", "b": [["2997.0", "4"]], "a": [], "u": 8, "seq": 8}})
                await wait_until(lambda: _ahead(eng, "ETHUSDT", "buy", 2997.0) == 4.0, 20)
                assert _ahead(eng, "ETHUSDT", "buy", 2996.0) == 0.0  # no level there: nothing ahead
                book.update(u=40, bids=[["2997.0", "9"]])
                await fx.push({"topic": topic, "type": "delta", "ts": t, "cts": t,  # u 8 again: a break
                               "data": {"s": "ETHUSDT", "b": [["2997.0", "1"]], "a": [], "u": 8, "seq": 9}})
                await wait_until(lambda: any(op == "unsubscribe" and topic in a for _c, op, a, _ok in fx.public_ops), 20)
                await wait_until(lambda: _ahead(eng, "ETHUSDT", "buy", 2997.0) == 9.0, 20)  # the new snapshot
                assert runner.depth_keeper.counts["resubscribed"] >= 1
            finally:
                stop.set()
                await task

    asyncio.run(asyncio.wait_for(main(), 180))


def test_binance_book_depth_takes_its_rest_snapshot_and_a_gap_makes_the_level_unknown():
    async def main():
        from liqcore.venues.fake_streams import FakeMarketStream

        async with FakeMarketStream("binance") as fs:
            fs.depth_books["ETHUSDT"] = lambda: (100, [["3000.00", "2"], ["2996.50", "3.5"]], [["3000.01", "1"]])
            eng = Engine(Params(), symbols=["binance:ETHUSDT"], venues=["binance"])
            runner = LiveRunner(eng, "binance", ["ETHUSDT"], ws_url=fs.ws_url, clock_interval_s=0.05,
                                book_depth=True, rest_url=fs.rest_url)
            name = "ethusdt@depth@100ms"
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run(stop=stop))
            try:
                await wait_until(lambda: fs.subscribed(name), 20)
                t = int(time.time() * 1000)
                await fs.push({"e": "depthUpdate", "E": t, "T": t, "s": "ETHUSDT", "U": 98, "u": 101, "pu": 97,
                               "b": [["2996.50", "5"]], "a": []}, name)  # buffered, then applied on the snapshot
                await wait_until(lambda: "/fapi/v1/depth" in fs.rest_requests, 20)
                await wait_until(lambda: _ahead(eng, "ETHUSDT", "buy", 2996.5) == 5.0, 20)
                await fs.drop()  # the venue drops the connection: a gap, the book unknown until a new snapshot
                await wait_until(lambda: _ahead(eng, "ETHUSDT", "buy", 2996.5) is None, 20)
            finally:
                stop.set()
                await task

    asyncio.run(asyncio.wait_for(main(), 180))


def test_book_depth_is_refused_on_a_replay(tmp_path, capsys):
    from liqcore.cli import main

    assert main(["run", "--symbols", "ETHUSDT", "--replay", str(tmp_path), "--book", "depth", "--no-dashboard"]) != 0
    assert "--book depth" in capsys.readouterr().err
