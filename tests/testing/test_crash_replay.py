"""The market-wide crash replay, scaled down (benches/bench_crash.py is the full one, with its timings): the fake
Binance stream on 127.0.0.1 plays a crash over 40 symbols to a `liqcore run` paper process; no frame is lost and
every cascade the runner confirmed is decided (journal).  Not timed: the runner is stopped once its decoder
has counted every frame written (a bounded wait)."""
from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from liqcore.testing import CrashPlay, crash_symbols
from liqcore.venues.fake_streams import FakeMarketStream

from _fake_market_run import decoded, free_port, start_run, stop_run, until

async def _crash(tmp_path: Path, symbols: list[str]):
    fs = await FakeMarketStream("binance").start()
    port = free_port()
    proc = start_run("--venue", "binance", "--symbols", ",".join(symbols), "--ws-url", fs.ws_url, "--journal",
                     str(tmp_path / "j.sqlite"), "--log", str(tmp_path / "run.log"), "--min-history", "20",
                     "--window", "2s", metrics_port=port)
    try:
        need = {f"{s.lower()}@forceOrder" for s in symbols}
        await until(lambda: need <= fs.subscriptions(), "liquidation subscriptions", proc)
        crash = CrashPlay(fs, symbols, seed=3)
        await crash.warm_up(25, rate=2000)
        await crash.probes(5, idle_ms=10)
        await crash.crash(4.0, rate=400, wave_s=1.0, calm_s=3.0)
        # every frame written has been decoded (a bounded wait, not a guess at how long it takes)
        await until(lambda: decoded(port) >= crash.written, "every frame decoded", proc)
    finally:
        rc, summary, err = stop_run(proc)
        await fs.stop()
    return crash, rc, summary, err


def test_a_scaled_down_crash_loses_no_frame_and_decides_every_cascade(tmp_path):
    symbols = crash_symbols(40)
    crash, rc, s, err = asyncio.run(_crash(tmp_path, symbols))
    assert rc == 0, err[-2000:]
    assert crash.liquidations > 1600 and crash.written > crash.liquidations  # (trades too)
    dec = s["decoder"]
    assert dec["frames"] - dec["control"] == crash.written  # no frame lost
    assert dec["rejected_frames"] == 0 and s["gaps"] == 0 and not s["rejects"]
    assert dec["events"] == crash.written  # one event per frame: every liquidation reached the engine
    with sqlite3.connect(tmp_path / "j.sqlite") as db:
        rows = [(t, json.loads(d)) for t, d in db.execute("SELECT type, data FROM log WHERE type IN ('cascade', 'decision')")]
    confirmed = {(d["symbol"], d["cascade_id"]) for t, d in rows if t == "cascade" and d["record"] == "confirmed"}
    decided = {(d["symbol"], d["cascade_id"]) for t, d in rows if t == "decision"}
    assert len(confirmed) >= 20 and len({s for s, _ in confirmed}) >= 10  # cascades on many symbols at once
    assert confirmed == decided  # every confirmed cascade decided, and nothing else
    assert s["cascades"] == len(confirmed)
