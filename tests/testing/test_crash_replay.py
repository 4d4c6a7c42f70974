"""The market-wide crash replay, scaled down (benches/bench_crash.py is the full one, with its timings): the fake
Binance stream on 127.0.0.1 plays a crash over 40 symbols to a `liqcore run` paper process; no frame is lost and
every cascade the runner confirmed is decided (journal).  Not timed: the runner is stopped once its decoder
has counted every frame written (a bounded wait)."""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from liqcore.testing.fake_crash import CrashPlay, crash_symbols
from liqcore.testing.fake_streams import FakeMarketStream

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _decoded(port: int) -> int:
    """Data frames the runner's decoder counted (frames minus control frames), from its /metrics; -1 before it answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            body = r.read().decode()
    except OSError:
        return -1
    got = dict(re.findall(r'^liqcore_decoder\{[^}]*counter="(\w+)"[^}]*\} ([0-9.eE+-]+)$', body, re.M))
    return int(float(got.get("frames", 0)) - float(got.get("control", 0)))


async def _until(cond, bound_s: float, what: str, proc) -> None:
    deadline = time.monotonic() + bound_s
    while not cond():
        if proc.poll() is not None:
            pytest.fail(f"{what}: the runner exited with {proc.returncode}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {bound_s:g} s")
        await asyncio.sleep(0.05)


async def _crash(tmp_path: Path, symbols: list[str]):
    fs = await FakeMarketStream("binance").start()
    port = _free_port()
    cmd = [sys.executable, "-m", "liqcore", "run", "--venue", "binance", "--symbols", ",".join(symbols),
           "--ws-url", fs.ws_url, "--journal", str(tmp_path / "j.sqlite"), "--no-dashboard", "--json",
           "--log", str(tmp_path / "run.log"), "--min-history", "20", "--window", "2s", "--metrics-port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ))
    try:
        need = {f"{s.lower()}@forceOrder" for s in symbols}
        await _until(lambda: need <= fs.subscriptions(), 60, "liquidation subscriptions", proc)
        crash = CrashPlay(fs, symbols, seed=3)
        await crash.warm_up(25, rate=2000)
        await crash.probes(5, idle_ms=10)
        await crash.crash(4.0, rate=400, wave_s=1.0, calm_s=3.0)
        # every frame written has been decoded (a bounded wait, not a guess at how long it takes)
        await _until(lambda: _decoded(port) >= crash.written, 60, "every frame decoded", proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        await fs.stop()
    return crash, proc.returncode, out.decode(), err.decode()


def test_a_scaled_down_crash_loses_no_frame_and_decides_every_cascade(tmp_path):
    symbols = crash_symbols(40)
    crash, rc, out, err = asyncio.run(_crash(tmp_path, symbols))
    assert rc == 0, err[-2000:]
    s = json.loads(out.strip().splitlines()[-1])
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
