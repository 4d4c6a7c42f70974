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

from liqcore.io import load_events  # noqa: E402
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


def best_of(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


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
        t_lib = best_of(lambda: load_events(path, format="raw"), args.repeat)
        t_base = best_of(lambda: baseline_load(path), args.repeat)
        med_lib, med_base = statistics.median(t_lib), statistics.median(t_base)
        print(f"bulk load: {args.lines} JSONL liquidation frames ({size_mb:.1f} MB, half Bybit allLiquidation, half Binance forceOrder)")
        print(f"  load_events          median {med_lib * 1e3:8.1f} ms  -> {args.lines / med_lib / 1e3:8.0f} k frames/s")
        print(f"  json+plain baseline  median {med_base * 1e3:8.1f} ms  -> {args.lines / med_base / 1e3:8.0f} k frames/s")
        print(f"  speed-up x{med_base / med_lib:.2f}")

    frames = [bybit_frame(i) for i in range(args.feed)]
    for label, make in (("feed (new array)", lambda d: d.feed), ("feed_rows (tuples)", lambda d: d.feed_rows)):
        dec = Decoder("bybit")
        fn = make(dec)
        for f in frames[:1000]:  # warm the symbol cache
            fn(f, 1)
        dec = Decoder("bybit")
        fn = make(dec)
        fn(frames[0], 1)
        ns = []
        pc = time.perf_counter_ns
        for i, f in enumerate(frames):
            t = pc()
            fn(f, i)
            ns.append(pc() - t)
        assert dec.counters["events"] == len(frames), dec.counters
        print(f"Decoder.{label:22s} median {statistics.median(ns):6.0f} ns/frame  p90 {np.percentile(ns, 90):6.0f} ns")
    ids: dict = {}
    ns = []
    pc = time.perf_counter_ns
    for i, f in enumerate(frames):
        t = pc()
        baseline_feed(f, i, ids)
        ns.append(pc() - t)
    base = statistics.median(ns)
    print(f"baseline json.loads + plain parse + np.array  median {base:6.0f} ns/frame")
    return 0


if __name__ == "__main__":
    sys.exit(main())
