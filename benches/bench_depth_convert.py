"""``liqcore convert DEPTH_FILE --dataset DS`` of one day of L2 depth against pyarrow's floor (``pyarrow.csv.
read_csv`` + ``pyarrow.parquet.write_table`` of the same file), in the same run, alternating, each in its own
process; user + sys CPU of each child (the bar: convert <= 1.5x the floor), wall and peak RSS beside.

The day file is generated first in tardis.dev's ``incremental_book_L2`` layout (``binance-futures,BTCUSDT,
<us>,<us>,true|false,bid|ask,<price>,<amount>``, gzip), ``--rows`` updates (30 M: a busy perpetual's day): a
2,000-row snapshot, then levels within 500 ticks of a wandering mid, a fifth of them removed (amount 0).

    python benches/bench_depth_convert.py [--rows 30000000] [--repeat 2] [--dir DIR] [--keep]

The children are :mod:`bench_convert`'s (``convert``: ``liqcore.cli.main(["convert", ...])``; ``floor``).
"""
from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benches"))
T0_US = 1_722_470_400_000_000  # 2024-08-01T00:00Z
DAY_US = 86_400_000_000
NAME = "binance-futures_incremental_book_L2_2024-08-01_BTCUSDT.csv.gz"


def generate(path: Path, rows: int, seed: int = 11) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    step = 1_000_000
    gap = max(DAY_US // max(rows, 1), 1)
    t, mid = T0_US, 640_000  # ticks of 0.1
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(b"exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n")
        writer = None
        for a in range(0, rows, step):
            n = min(step, rows - a)
            # messages of ~10 levels share one time
            msg = np.cumsum(rng.random(n) < 0.1)
            ts = np.minimum(t + msg * 10 * gap, T0_US + DAY_US - 1)
            t = int(ts[-1]) + gap
            mids = mid + np.cumsum(rng.integers(-1, 2, n) * (rng.random(n) < 0.01))
            mid = int(mids[-1])
            bid = rng.random(n) < 0.5
            depth = np.minimum(rng.geometric(0.02, n), 500)
            ticks = np.where(bid, mids - depth, mids + depth)
            snap = np.zeros(n, bool)
            if a == 0:
                snap[:2000] = True
                ts[:2000] = T0_US
            amount = np.where(rng.random(n) < 0.2, 0.0, rng.integers(1, 50_000, n) / 1000)
            table = pa.table({
                "exchange": pa.array(["binance-futures"] * n), "symbol": pa.array(["BTCUSDT"] * n),
                "timestamp": ts, "local_timestamp": ts + 2_000,
                "is_snapshot": pa.array(np.where(snap, "true", "false")),
                "side": pa.array(np.where(bid, "bid", "ask")),
                "price": pa.array(ticks / 10.0), "amount": amount})
            if writer is None:
                writer = pacsv.CSVWriter(out, table.schema, write_options=pacsv.WriteOptions(
                    include_header=False, quoting_style="none"))
            writer.write_table(table)
        writer.close()


def main() -> int:
    from bench_convert import run

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=30_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--dir", default=None)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    d = Path(a.dir or tempfile.mkdtemp(prefix="bench_depth_"))
    d.mkdir(parents=True, exist_ok=True)
    f = d / NAME
    if not f.exists():
        generate(f, a.rows)
    print(f"{f}: {a.rows:,} depth updates, {f.stat().st_size / 2**20:.0f} MiB gzip; load {os.getloadavg()[0]:.1f}")
    res: dict = {"convert": [], "floor": []}
    for i in range(a.repeat):
        for which in ("floor", "convert") if i % 2 else ("convert", "floor"):
            out = d / f"out_{which}"
            shutil.rmtree(out, ignore_errors=True)
            r = run(which, [f], out)
            res[which].append(r)
            print(f"{which}: {r['cpu_s']:.2f} s CPU (user + sys), {r['wall_s']:.2f} s wall, peak {r['peak_mib']:.0f} MiB; "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    ds = d / "out_convert" / "_depth"
    size = sum(p.stat().st_size for p in ds.rglob("*.parquet")) if ds.exists() else 0
    floor_size = sum(p.stat().st_size for p in (d / "out_floor").rglob("*.parquet"))
    ratios = [c["cpu_s"] / fl["cpu_s"] for c, fl in zip(res["convert"], res["floor"])]
    med = statistics.median(ratios)
    print(f"convert / floor CPU (user + sys), each pair: {', '.join(f'{x:.2f}x' for x in ratios)}; median {med:.2f}x "
          f"(bar <= 1.5x: {'met' if med <= 1.5 else 'NOT met'})")
    print(f"median CPU: convert {statistics.median(r['cpu_s'] for r in res['convert']):.2f} s, floor "
          f"{statistics.median(r['cpu_s'] for r in res['floor']):.2f} s; disk: depth files {size / 2**20:.0f} MiB, "
          f"floor's Parquet {floor_size / 2**20:.0f} MiB")
    if not a.keep and not a.dir:
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
