"""Codec benchmarks: bulk JSONL load (frames/s) and streaming Decoder.feed (ns/frame).

Baselines measured in the same run: ``json.loads`` + a plain-Python parse building the same events.

    python benches/bench_codec.py [--lines 200000] [--feed 50000]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liqcore.dataset.load import load_events  # noqa: E402
from liqcore.types import EVENT_DTYPE  # noqa: E402
from liqcore.venues.decoder import Decoder  # noqa: E402

SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "ROSEUSDT", "1000PEPEUSDT", "WIFUSDT"]


def bybit_frame(i: int, t0: int = 1739502302929) -> bytes:
    s = SYMBOLS[i % len(SYMBOLS)]
    side = "Buy" if i % 3 else "Sell"
    return (
        b'{"topic":"allLiquidation.%s","type":"snapshot","ts":%d,"data":[{"T":%d,"s":"%s","S":"%s","v":"%s","p":"%s"}]}'
        % (s.encode(), t0 + i * 7 + 300, t0 + i * 7, s.encode(), side.encode(), f"{0.001 * (1 + i % 97):.3f}".encode(), f"{40000 + (i % 1000) * 0.5:.2f}".encode())
    )


def binance_frame(i: int, t0: int = 1568014460893) -> bytes:
    s = SYMBOLS[i % len(SYMBOLS)]
    side = "SELL" if i % 3 else "BUY"
    z = f"{0.001 * (1 + i % 97):.3f}"
    ap = f"{9900 + (i % 1000) * 0.5:.2f}"
    return (
        b'{"e":"forceOrder","E":%d,"o":{"s":"%s","S":"%s","o":"LIMIT","f":"IOC","q":"%s","p":"%s","ap":"%s","X":"FILLED","l":"%s","z":"%s","T":%d}}'
        % (t0 + i * 7 + 5, s.encode(), side.encode(), z.encode(), ap.encode(), ap.encode(), z.encode(), z.encode(), t0 + i * 7)
    )


# ------------------------------------------------------------------ baseline: stdlib json, plain Python
def baseline_load(path: Path) -> np.ndarray:
    """json.loads per line + straightforward dict walking + np.array at the end."""
    rows = []
    ids: dict = {}
    with open(path, "rb") as fh:
        for line in fh:
            obj = json.loads(line)
            if "topic" in obj:
                for it in obj["data"]:
                    sid = ids.setdefault((1, it["s"]), len(ids))
                    side = 1 if it["S"] == "Buy" else 2
                    rows.append((int(it["T"]) * 1_000_000, -1, float(it["p"]), float(it["v"]), sid, side, 1, 1, 0))
            else:
                o = obj["o"]
                sid = ids.setdefault((2, o["s"]), len(ids))
                side = 1 if o["S"] == "SELL" else 2
                rows.append((int(o["T"]) * 1_000_000, -1, float(o["ap"]), float(o["z"]), sid, side, 1, 2, 8))
    return np.array(rows, dtype=EVENT_DTYPE)


def baseline_feed(frame: bytes, recv_ns: int, ids: dict) -> np.ndarray:
    obj = json.loads(frame)
    rows = []
    for it in obj["data"]:
        sid = ids.setdefault((1, it["s"]), len(ids))
        rows.append((int(it["T"]) * 1_000_000, recv_ns, float(it["p"]), float(it["v"]), sid, 1 if it["S"] == "Buy" else 2, 1, 1, 0))
    return np.array(rows, dtype=EVENT_DTYPE)


def best_of(fn, repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (this process) seconds of ``repeat`` runs.  On a shared, loaded machine the CPU
    time is the better estimate of single-core throughput."""
    wall, cpu = [], []
    for _ in range(repeat):
        c, t = time.process_time(), time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return wall, cpu


def per_frame(fn, frames, batch: int = 500) -> tuple[float, float]:
    """Median over batches of ``batch`` frames of the mean ns per frame: (wall, cpu)."""
    wall, cpu = [], []
    pc, pt = time.perf_counter_ns, time.process_time_ns
    for a in range(0, len(frames) - batch + 1, batch):
        chunk = frames[a : a + batch]
        c, t = pt(), pc()
        for i, f in enumerate(chunk):
            fn(f, a + i)
        wall.append((pc() - t) / batch)
        cpu.append((pt() - c) / batch)
    return statistics.median(wall), statistics.median(cpu)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--feed", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "liqs.jsonl"
        with open(path, "wb") as fh:
            for i in range(args.lines):
                fh.write((bybit_frame(i) if i % 2 else binance_frame(i)) + b"\n")
        size_mb = os.path.getsize(path) / 1e6
        r = load_events(path, format="raw")
        assert len(r.events) == args.lines, (len(r.events), r.rejects)
        b = baseline_load(path)
        assert len(b) == args.lines
        (w_lib, c_lib) = best_of(lambda: load_events(path, format="raw"), args.repeat)
        (w_base, c_base) = best_of(lambda: baseline_load(path), args.repeat)
        import liqcore.venues.decoder as D

        scan, D._SCAN = D._SCAN, None  # the pure-Python fallback (regex blocks), as without the extension
        try:
            (w_py, c_py) = best_of(lambda: load_events(path, format="raw"), args.repeat)
        finally:
            D._SCAN = scan
        print(f"bulk load: {args.lines} JSONL liquidation frames ({size_mb:.1f} MB, half Bybit allLiquidation, "
              f"half Binance forceOrder), median of {args.repeat}")
        for label, w, c in (("load_events", w_lib, c_lib), ("  without _scan (pure Python)", w_py, c_py),
                            ("json+plain baseline", w_base, c_base)):
            mw, mc = statistics.median(w), statistics.median(c)
            print(f"  {label:30s} wall {mw * 1e3:8.1f} ms -> {args.lines / mw / 1e3:6.0f} k frames/s | "
                  f"cpu {mc * 1e3:8.1f} ms -> {args.lines / mc / 1e3:6.0f} k frames/s")
        print(f"  ratio baseline/load_events: wall x{statistics.median(w_base) / statistics.median(w_lib):.2f}, "
              f"cpu x{statistics.median(c_base) / statistics.median(c_lib):.2f}")

    frames = [bybit_frame(i) for i in range(args.feed)]
    print(f"live decode: {args.feed} distinct Bybit allLiquidation frames (1 event each), "
          "median over batches of 500 of ns/frame")
    results = {}
    for label in ("feed", "feed_rows"):
        dec = Decoder("bybit")
        fn = getattr(dec, label)
        results[label] = per_frame(fn, frames)
        assert dec.counters["events"] == len(frames) - len(frames) % 500 or dec.counters["events"] == len(frames), dec.counters
    dec = Decoder("bybit")
    dec._scan_venue = -1  # the pure-Python fallback matcher
    results["feed_py"] = per_frame(dec.feed, frames)
    ids: dict = {}
    results["baseline"] = per_frame(lambda f, i: baseline_feed(f, i, ids), frames)
    for label, name in (("feed", "Decoder.feed -> new 1-row array"), ("feed_rows", "Decoder.feed_rows -> tuples"),
                        ("feed_py", "Decoder.feed without _scan (pure Py)"),
                        ("baseline", "json.loads + plain parse + np.array")):
        w, c = results[label]
        print(f"  {name:38s} wall {w:6.0f} ns | cpu {c:6.0f} ns")
    bw, bc = results["baseline"]
    fw, fc = results["feed"]
    print(f"  ratio baseline/feed: wall x{bw / fw:.2f}, cpu x{bc / fc:.2f}")

    # a cascade moment: allLiquidation batches of 10 events per frame
    batches = []
    for j in range(max(args.feed // 10, 1000)):
        items = b",".join(
            b'{"T":%d,"s":"ETHUSDT","S":"%s","v":"%s","p":"%s"}'
            % (1739502302929 + j * 10 + k, b"Buy" if k % 2 else b"Sell", f"{0.01 * (1 + k):.2f}".encode(), f"{2700 + j % 100 * 0.5:.2f}".encode())
            for k in range(10)
        )
        batches.append(b'{"topic":"allLiquidation.ETHUSDT","type":"snapshot","ts":%d,"data":[%s]}' % (1739502303204 + j * 10, items))
    print(f"live decode: {len(batches)} Bybit allLiquidation frames of 10 events, ns/frame")
    for label, compiled in (("Decoder.feed", True), ("Decoder.feed without _scan (pure Py)", False)):
        dec = Decoder("bybit")
        if not compiled:
            dec._scan_venue = -1
        w, c = per_frame(dec.feed, batches)
        assert dec.counters["events"] >= 10 * (len(batches) - len(batches) % 500), dec.counters
        print(f"  {label:38s} wall {w:6.0f} ns | cpu {c:6.0f} ns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
