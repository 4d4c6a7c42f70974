"""Ingest throughput of the live path: frames on a loopback websocket -> FeedManager (picows) ->
Engine.on_frame (Decoder -> CascadeDetector -> StrategyCore, paper gateway) on one core.

The replay is one market hour of five Bybit linear symbols at a realistic density: publicTrade
frames (20/s/symbol, 1-5 prints each), tickers deltas (10/s/symbol) and the liquidations and trades of
the seeded synthetic market (``liqcore.synthetic.market``) -- about 540 k frames. A server process
(pinned to the other core) sends them over one websocket.

* capacity: the server sends as fast as it can; frames/s of the engine client, and in the same run
  the same frames received by a bare picows client that only counts them (the baseline), ratio;
* sustained: the server paces the hour at ``--rate`` frames/s (default 50 k); every 0.5 s the client
  samples the backlog (frames sent minus frames processed) and its RSS. The run passes when the
  backlog does not grow and RSS stays flat (no growth beyond allocator noise after warm-up).

    python benches/bench_ingest.py [--rate 50000] [--minutes 60]
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's liqcore, not an installed one

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT")
PRICES = {"BTCUSDT": 95_000.0, "ETHUSDT": 3_000.0, "SOLUSDT": 180.0, "XRPUSDT": 2.4, "DOGEUSDT": 0.32}


def build_hour(minutes: float, seed: int = 7) -> list[bytes]:
    """Frames of ``minutes`` of market, in time order (see the module docstring)."""
    from liqcore.synthetic.market import synthetic_market

    start_ms = 1_767_225_600_000  # 2026-01-01T00:00Z
    m = synthetic_market(days=minutes / 1440, symbols=SYMBOLS, seed=seed,
                         start_ns=start_ms * 1_000_000, progress=False)
    items: list[tuple[int, bytes]] = [(int(t), f) for t, f in m.frames("bybit")]
    rng = np.random.default_rng(seed)
    n_sec = int(minutes * 60)
    for sym in SYMBOLS:
        px = PRICES[sym]
        steps = np.exp(np.cumsum(rng.normal(0, 2e-5, n_sec * 20)))
        for i in range(n_sec * 20):  # publicTrade, 20 frames/s
            t = start_ms + i * 50
            p = round(px * steps[i], 6)
            k = int(rng.integers(1, 6))
            data = [{"T": t, "s": sym, "S": "Buy" if (i + j) % 2 else "Sell", "v": "0.5", "p": f"{p:.6g}",
                     "L": "PlusTick", "i": f"{i}-{j}", "BT": False} for j in range(k)]
            items.append((t * 1_000_000, orjson.dumps({"topic": f"publicTrade.{sym}", "type": "snapshot", "ts": t,
                                                       "data": data})))
        for i in range(n_sec * 10):  # tickers deltas, 10/s
            t = start_ms + i * 100 + 7
            p = round(px * steps[min(i * 2, len(steps) - 1)], 6)
            items.append((t * 1_000_000, orjson.dumps({"topic": f"tickers.{sym}", "type": "delta", "ts": t,
                                                       "cs": i, "data": {"symbol": sym, "markPrice": f"{p:.6g}",
                                                                         "lastPrice": f"{p:.6g}"}})))
    items.sort(key=lambda x: x[0])
    return [f for _, f in items]


def _build_to_file(minutes: float, path: str) -> None:
    with open(path, "wb") as fh:
        for f in build_hour(minutes):
            fh.write(f + b"\n")


def _server(path, port_q, go, rate, sent, done):
    import logging

    with open(path, "rb") as fh:
        frames = fh.read().split(b"\n")[:-1]

    logging.disable(logging.WARNING)
    try:
        os.sched_setaffinity(0, {1 % os.cpu_count()})
    except (AttributeError, OSError):
        pass
    import uvloop
    from picows import WSListener, WSMsgType, ws_create_server

    class L(WSListener):
        def on_ws_connected(self, t):
            asyncio.get_running_loop().create_task(self.blast(t))

        def on_ws_frame(self, t, frame):
            pass

        async def blast(self, t):
            while not go.is_set():
                await asyncio.sleep(0.005)
            t0 = time.perf_counter()
            n = len(frames)
            i = 0
            batch = 500
            while i < n:
                if rate:
                    due = int((time.perf_counter() - t0) * rate)
                    if due <= i:
                        await asyncio.sleep(0.001)
                        continue
                    j = min(n, due, i + 5000)
                else:
                    j = min(n, i + batch)
                for k in range(i, j):
                    t.send(WSMsgType.TEXT, frames[k])
                i = j
                sent.value = i
                await asyncio.sleep(0)
            t.send(WSMsgType.TEXT, b"END")
            done.set()

    async def main():
        srv = await ws_create_server(lambda req: L(), "127.0.0.1", 0)
        port_q.put(srv.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    uvloop.run(main())


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def run_client(url: str, engine_on: bool, go, sent, sample: bool):
    """Receive until END; returns (frames, seconds, samples)."""
    from liqcore.config import Params
    from liqcore.live.engine import Engine
    from liqcore.live.feeds import FeedManager
    from liqcore.live.transport import ConnectionSpec

    count = [0]
    end = asyncio.get_running_loop().create_future()
    eng = Engine(Params(), symbols=list(SYMBOLS)) if engine_on else None
    if eng is not None:
        eng.warmup()

    def on_frame(venue, payload, recv_ns):
        if payload == b"END":
            if not end.done():
                end.set_result(None)
            return
        count[0] += 1
        if eng is not None:
            eng.on_frame(venue, payload, recv_ns)

    spec = ConnectionSpec(venue="bybit", url=url)
    fm = FeedManager("bybit", list(SYMBOLS), on_frame, None, specs=[spec], stall_timeout_s=60)
    await fm.start()
    await fm.wait_connected(10)
    samples = []
    go.set()
    t0 = time.perf_counter()
    while not end.done():
        await asyncio.sleep(0.5)
        if sample:
            samples.append((time.perf_counter() - t0, sent.value, count[0], rss_mb()))
        if time.perf_counter() - t0 > 600:
            break
    dt = time.perf_counter() - t0
    await fm.stop()
    decisions = len(eng.decisions) if eng is not None else 0
    return count[0], dt, samples, decisions, (eng.decoder("bybit").counters if eng is not None else {})


def one(path, rate, engine_on, sample):
    import uvloop

    ctx = mp.get_context("fork")
    q, go, done = ctx.Queue(), ctx.Event(), ctx.Event()
    sent = ctx.Value("q", 0, lock=False)
    p = ctx.Process(target=_server, args=(path, q, go, rate, sent, done), daemon=True)
    p.start()
    try:
        url = f"ws://127.0.0.1:{q.get(timeout=30)}/"
        return uvloop.run(run_client(url, engine_on, go, sent, sample))
    finally:
        p.terminate()
        p.join(5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=50_000)
    ap.add_argument("--minutes", type=float, default=60)
    a = ap.parse_args()
    import logging

    logging.disable(logging.WARNING)
    try:
        os.sched_setaffinity(0, {0})
    except (AttributeError, OSError):
        pass
    import tempfile

    t = time.perf_counter()
    tmp = tempfile.NamedTemporaryFile(suffix=".frames", delete=False)
    tmp.close()
    builder = mp.get_context("spawn").Process(target=_build_to_file, args=(a.minutes, tmp.name))
    builder.start()  # built in a child: this process (the client) never holds the replay
    builder.join()
    with open(tmp.name, "rb") as fh:
        n_frames = sum(1 for _ in fh)
    print(f"replay: {n_frames:,} frames ({a.minutes:g} market minutes, 5 symbols), built in "
          f"{time.perf_counter() - t:.1f}s; client pinned to CPU 0, server to CPU 1 (2 shared, noisy cores)")
    frames = tmp.name
    n_raw, dt_raw, _, _, _ = one(frames, 0, False, False)
    n_eng, dt_eng, _, dec, counters = one(frames, 0, True, False)
    print(f"capacity (server as fast as possible):")
    print(f"  bare picows client (baseline): {n_raw / dt_raw:12,.0f} frames/s ({n_raw:,} in {dt_raw:.2f}s)")
    print(f"  engine client                : {n_eng / dt_eng:12,.0f} frames/s ({n_eng:,} in {dt_eng:.2f}s), "
          f"{dec} decisions, decoder {counters.get('events', 0):,} events")
    print(f"  ratio baseline/engine        : x{(n_raw / dt_raw) / (n_eng / dt_eng):.2f}")
    n, dt, samples, dec, _ = one(frames, a.rate, True, True)
    backlog = [s[1] - s[2] for s in samples]
    rss = [s[3] for s in samples]
    warm = rss[min(len(rss) - 1, 2):] or rss
    print(f"sustained at {a.rate:,.0f} frames/s for {dt:.1f}s ({n:,} frames, achieved {n / dt:,.0f} frames/s):")
    print(f"  backlog (sent - processed) median {statistics.median(backlog):,.0f}, max {max(backlog):,}, "
          f"last {backlog[-1]:,} frames")
    print(f"  RSS MB: start {rss[0]:.1f}, after warm-up {warm[0]:.1f}, max {max(rss):.1f}, end {rss[-1]:.1f}")
    ts = [x[0] for x in samples]
    slope = float(np.polyfit(ts, backlog, 1)[0]) if len(ts) > 2 else 0.0  # frames of backlog per second
    grows = slope > 0.01 * a.rate or backlog[-1] > 0.1 * a.rate
    print(f"  backlog trend {slope:+,.0f} frames/s (growing would be a sizeable fraction of the rate)")
    print(f"  verdict: backlog {'GROWS' if grows else 'flat'}, RSS growth after warm-up {max(warm) - warm[0]:+.1f} MB")
    os.unlink(tmp.name)


if __name__ == "__main__":
    main()
