"""End to end through `liqcore run`: Binance's top of book, subscribed and acknowledged but never sent while the
aggTrade stream keeps the connection busy, is reported by name on stderr, in /metrics, in the journal and in the
recording, and re-subscribed.  ``--silent-after 10s`` (the product's own flag) keeps the test short; the flowing
stream, heard at every 0.5 s check, then has a 5 s bound, which no stall of a busy machine reaches.  Every wait is
on a condition, with a bound."""
from __future__ import annotations

import asyncio
import re
import sqlite3

import orjson
from _fake_market_run import _metrics, free_port, start_run, stop_run, until

from liqcore.live.recorder import read_lines
from liqcore.venues.fake_streams import FakeMarketStream
from liqcore.venues.binance import samples as bn

GAUGE = re.compile(r'^liqcore_stream_silent\{stream="ethusdt@bookTicker",venue="binance"\} 1$', re.M)


def test_run_reports_a_silent_book_ticker_while_agg_trade_flows(tmp_path):
    port = free_port()

    async def session():
        fs = await FakeMarketStream("binance").start()
        fs.silence("ethusdt@bookTicker")
        proc = start_run("--venue", "binance", "--symbols", "ETHUSDT", "--ws-url", fs.ws_url, "--rest-url", fs.rest_url,
                         "--fill", "queue", "--silent-after", "10s", "--journal", str(tmp_path / "j.sqlite"),
                         "--record", str(tmp_path / "rec"), "--log", str(tmp_path / "run.log"), metrics_port=port)
        k = 0

        async def flow():  # aggTrade every 20 ms while the run lives
            nonlocal k
            while proc.poll() is None:
                k += 1
                fs.write(bn.agg_trade_frame("ETHUSDT", 1_700_000_000_000 + k, 0.5, 3000.0, agg_id=k), "ethusdt@aggTrade")
                await asyncio.sleep(0.02)

        pusher = asyncio.ensure_future(flow())
        try:
            await until(lambda: fs.acknowledged("ethusdt@bookTicker"), "bookTicker acknowledged", proc)
            await until(lambda: GAUGE.search(_metrics(port) or "") is not None, "liqcore_stream_silent 1", proc)
            await until(lambda: ("unsubscribe", ["ethusdt@bookTicker"]) in fs.ops, "the re-subscription", proc)
            body = _metrics(port)
        finally:
            rc, summary, err = stop_run(proc)
            pusher.cancel()
            await fs.stop()
        return body, rc, summary, err

    body, rc, summary, err = asyncio.run(session())
    assert rc == 0, err[-2000:]
    # stderr: one line naming the venue and the stream (the log itself goes to --log)
    lines = [ln for ln in err.splitlines() if "binance ethusdt@bookTicker" in ln and "silent" in ln]
    assert lines and "never heard since it was subscribed" in lines[0], err[-2000:]
    assert 'liqcore_stream_silent{stream="ethusdt@aggTrade"' not in body  # the flowing stream is not silent
    assert summary["frames"] > 0
    db = sqlite3.connect(tmp_path / "j.sqlite")
    rows = db.execute("SELECT key, data FROM log WHERE type='stream_silent'").fetchall()
    assert rows and rows[0][0] == "binance ethusdt@bookTicker"
    lines = [orjson.loads(ln) for f in sorted((tmp_path / "rec").rglob("*.zst")) for ln in read_lines(f)]
    gaps = [ln["gap"] for ln in lines if "gap" in ln]
    assert any(g.get("reason") == "silent" and g.get("stream") == "ethusdt@bookTicker" for g in gaps), gaps
