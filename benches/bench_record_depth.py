"""Reading a recording made with ``liqcore record --depth``: ``liqcore convert REC --dataset DS`` of an hour of one
symbol's Binance USD-M depth (``<symbol>@depth@100ms`` frames as the recorder writes them: ten a second, ``--levels``
levels changed each, with the REST snapshot line the recorder fetched), against the floor a user's own reader cannot
go under: the same file's lines decompressed and parsed with orjson (no book kept, nothing written).  Each command in
its own process, alternated, user + sys CPU, median of ``--repeat`` pairs.  No bar: the figure says what reading
recorded depth costs (its protocol followed level by level in Python).

    python benches/bench_record_depth.py [--frames 36000] [--levels 40] [--repeat 3] [--dir DIR]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benches"))

from bench_density import _env, _load, measured  # noqa: E402

T0_MS = 1_764_028_800_000  # 2025-11-25T00:00Z


def build(path: Path, frames: int, levels: int, seed: int = 3) -> int:
    """The recording: a REST snapshot of 1000 levels a side, then ``frames`` diff events 100 ms apart (each
    ``levels`` levels within 60 ticks of the best, a fifth removed).  Returns the depth rows it holds."""
    import numpy as np
    import orjson
    import zstandard

    rng = np.random.default_rng(seed)
    tick, best = 0.1, 60_000.0
    lines = []
    recv = (T0_MS + 50) * 1_000_000
    snap = {"lastUpdateId": 1000, "E": T0_MS, "T": T0_MS,
            "bids": [[f"{best - k * tick:.1f}", "1.000"] for k in range(1000)],
            "asks": [[f"{best + (k + 1) * tick:.1f}", "1.000"] for k in range(1000)]}
    u = 1000
    ev0 = {"e": "depthUpdate", "E": T0_MS + 40, "T": T0_MS + 40, "s": "BTCUSDT", "U": 990, "u": 1001, "pu": 989,
           "b": [], "a": []}
    lines.append(orjson.dumps({"recv_ns": recv - 10_000_000, "venue": "binance", "frame": ev0}))
    lines.append(orjson.dumps({"recv_ns": recv, "venue": "binance",
                               "rest": {"symbol": "BTCUSDT", "path": "/fapi/v1/depth", "body": snap}}))
    u = 1001
    rows = 2000
    for i in range(frames):
        t = T0_MS + 100 * (i + 1)
        n = levels
        k = rng.integers(0, 60, n)
        bid = rng.random(n) < 0.5
        qty = np.where(rng.random(n) < 0.2, 0.0, np.round(rng.lognormal(0.0, 1.0, n), 3))
        b = [[f"{best - kk * tick:.1f}", f"{q:.3f}"] for kk, q, s in zip(k, qty, bid) if s]
        a = [[f"{best + (kk + 1) * tick:.1f}", f"{q:.3f}"] for kk, q, s in zip(k, qty, bid) if not s]
        ev = {"e": "depthUpdate", "E": t, "T": t - 1, "s": "BTCUSDT", "U": u + 1, "u": u + 7, "pu": u, "b": b, "a": a}
        u += 7
        lines.append(orjson.dumps({"recv_ns": t * 1_000_000 + 3_000_000, "venue": "binance",
                                   "frame": {"stream": "btcusdt@depth@100ms", "data": ev}}))
        rows += n
    path.write_bytes(zstandard.ZstdCompressor(level=3).compress(b"\n".join(lines) + b"\n"))
    return rows


FLOOR = """
import sys, orjson, zstandard
from liqcore.live.recorder import read_lines
n = 0
for line in read_lines(sys.argv[1]):
    orjson.loads(line)
    n += 1
print("BENCH", orjson.dumps({"lines": n}).decode())
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=36_000, help="depth frames (default 36000: an hour at 100 ms)")
    ap.add_argument("--levels", type=int, default=40, help="levels changed per frame (default 40)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default=None, help="work directory (default: a temporary one)")
    a = ap.parse_args(argv)
    base = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="bench-record-depth-"))
    base.mkdir(parents=True, exist_ok=True)
    rec = base / "rec" / "binance-20251125T00.jsonl.zst"
    rec.parent.mkdir(exist_ok=True)
    rows = build(rec, a.frames, a.levels)
    print(f"recording: {a.frames:,} depth frames + 1 REST snapshot, {rows:,} depth rows, "
          f"{rec.stat().st_size / 2**20:.1f} MiB zstd; load average at start: {_load()}", flush=True)
    env = _env()
    runs: dict = {"convert": [], "floor": []}
    for i in range(a.repeat):
        ds = base / f"ds{i}"
        m = measured([sys.executable, "-m", "liqcore", "convert", str(rec), "--dataset", str(ds)], env)
        runs["convert"].append(m)
        f = measured([sys.executable, "-c", FLOOR, str(rec)], env)
        runs["floor"].append(f)
        print(f"pair {i + 1}: convert {m['cpu_s']:.2f} s CPU ({m['wall_s']:.2f} s wall, peak {m['peak_gib']:.2f} GiB); "
              f"orjson floor {f['cpu_s']:.2f} s CPU; load {_load()}", flush=True)
    from liqcore.dataset import load_depth

    got, _reg = load_depth(base / "ds0")
    c = statistics.median(r["cpu_s"] for r in runs["convert"])
    fl = statistics.median(r["cpu_s"] for r in runs["floor"])
    print(f"convert of the recording's depth, median of {a.repeat} alternated pairs: {c:.2f} s CPU "
          f"({c / rows * 1e9:.0f} ns CPU per depth row; {len(got):,} DEPTH rows in the dataset), the orjson floor "
          f"{fl:.2f} s CPU: {c / fl:.2f}x the floor", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
