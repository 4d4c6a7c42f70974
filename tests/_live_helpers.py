"""Set-up shared by the live tests against the loopback fake exchanges: the engine's test parameters, a
liquidation cascade as Bybit frames, waiting for a condition on the event loop and reading a recording back (its
lines, the book its DEPTH rows leave)."""
from __future__ import annotations

import asyncio
import time

import orjson

from liqcore.config import Params
from liqcore.testing.fake_replay import liquidation_frame, trade_frame

#: detector history short enough for a test session
PARAMS = Params(min_history=5, history=50)
#: baseline liquidation quantities (ETH qty at 3000: P95 ~ 1440 quote)
BASELINE = [0.5, 0.1, 0.3, 0.2, 0.4, 0.15, 0.35, 0.25, 0.45, 0.05]


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then closed): every connect to it is refused."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cascade_rows(symbol="ETHUSDT", t0_ms=None, ref=3000.0, side="Buy") -> list[dict]:
    """Baseline liquidations one second apart from ``t0_ms`` (default: 30 s ago), a reference trade at
    ``ref``, then two large liquidations (a cascade of ``side``), as frame mappings."""
    t0 = int(time.time() * 1000) - 30_000 if t0_ms is None else t0_ms
    frames = [liquidation_frame(symbol, 3000, q, side, t0 + i * 1000) for i, q in enumerate(BASELINE)]
    frames.append(trade_frame(symbol, ref, 1, "Sell", t0 + 20_000))
    frames.append(liquidation_frame(symbol, 3000, 10, side, t0 + 21_000))
    frames.append(liquidation_frame(symbol, 2999, 12, side, t0 + 22_000))
    return frames


def cascade_frames(symbol="ETHUSDT", t0_ms=None, ref=3000.0, side="Buy") -> list[bytes]:
    """:func:`cascade_rows` encoded as the venue sends them."""
    return [orjson.dumps(f) for f in cascade_rows(symbol, t0_ms, ref, side)]


def recorded_lines(out) -> list[dict]:
    """The lines of the recording in the directory ``out`` (its ``*.jsonl.zst`` files in name order), decoded; of a
    file being written, what was flushed so far."""
    from liqcore.live.recorder import read_lines

    got = []
    for f in sorted(out.glob("*.jsonl.zst")):
        try:
            got += [orjson.loads(x) for x in read_lines(f)]
        except Exception:  # noqa: BLE001 - a file being written: what was flushed so far
            pass
    return got


def depth_book(ev, contract: float | None = None) -> dict:
    """The book a recording's DEPTH rows ``ev`` (in receive order) leave: a snapshot run replaces it, a gap empties
    it -> {(side, price): size}; ``contract``: sizes in contracts of that many base units (rounded to 1e-6)."""
    from liqcore.types import Flag

    book, run = {}, None
    for e in ev:
        if e["flags"] & Flag.DEPTH_GAP:
            book, run = {}, None
            continue
        if e["flags"] & Flag.SNAPSHOT:
            if run != int(e["ts_recv"]):
                book, run = {}, int(e["ts_recv"])
        else:
            run = None
        k = (int(e["side"]), float(e["price"]))
        if e["qty"] > 0:
            book[k] = float(e["qty"]) if contract is None else round(float(e["qty"]) / contract, 6)
        else:
            book.pop(k, None)
    return book


async def wait_until(cond, timeout=5.0):
    """Return once ``cond()`` is true (polled every 10 ms); AssertionError after ``timeout`` seconds."""
    t = time.monotonic()
    while not cond():
        if time.monotonic() - t > timeout:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


class GatewayRecorder:
    """A gateway's order updates and fills as they arrive (``updates``, ``fills``); :meth:`wait` polls a
    condition on them with a bound (``timeout`` s, the recorder's ``default_timeout`` when not given)."""

    def __init__(self, gw, default_timeout: float = 5.0):
        self.updates, self.fills = [], []
        self.default_timeout = float(default_timeout)
        gw.on_update(self.updates.append)
        gw.on_fill(self.fills.append)

    async def wait(self, pred, timeout: float | None = None):
        deadline = time.monotonic() + (self.default_timeout if timeout is None else timeout)
        while not pred():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met; updates={self.updates} fills={self.fills}")
            await asyncio.sleep(0.01)


def frame_topics(frames) -> set[str]:
    """The Bybit topics of ``frames`` (bytes or dicts as the venue sends them)."""
    out = set()
    for f in frames:
        d = orjson.loads(f) if isinstance(f, (bytes, str)) else f
        if isinstance(d, dict) and d.get("topic"):
            out.add(str(d["topic"]))
    return out


async def until_subscribed(fx, frames, timeout=10.0):
    """Wait (bounded) until the fake Bybit venue ``fx`` holds a subscription to every topic of ``frames``: the
    frames pushed then reach the subscriber (the subscription acknowledged, not a fixed sleep)."""
    tops = frame_topics(frames)
    await wait_until(lambda: all(fx.subscribed(t) for t in tops), timeout)


def bybit_live_child(fx, tmp_path, symbols: str):
    """``liqcore run --live`` on ``symbols`` against the fake Bybit exchange ``fx`` in a child process (its keys in
    the environment, ``--shutdown-timeout 3s``, ``--json``; journal ``j.sqlite`` and log ``log.jsonl`` in
    ``tmp_path``), returned once it holds both streams (bounded: 30 s on a loaded machine)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, BYBIT_API_KEY=fx.api_key, BYBIT_API_SECRET=fx.api_secret)
    cmd = [sys.executable, "-m", "liqcore", "run", "--symbols", symbols, "--live", "--no-dashboard",
           "--ws-url", fx.public_ws_url, "--rest-url", fx.rest_url, "--private-ws-url", fx.private_ws_url,
           "--journal", str(tmp_path / "j.sqlite"), "--min-history", "5", "--history", "50",
           "--shutdown-timeout", "3s", "--json", "--log", str(tmp_path / "log.jsonl")]
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t = time.monotonic()
    while fx.connections("public") < 1 or fx.connections("private") < 1:
        assert child.poll() is None, child.stderr.read().decode()[-2000:]
        assert time.monotonic() - t < 30, "child did not connect"
        time.sleep(0.05)
    return child
