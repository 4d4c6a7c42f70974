"""Reading a tardis.dev ``trades`` export (``.csv.gz``) into the event array: liqcore's reader
(pyarrow's CSV reader, typed columns, column-wise conversion) against ``pandas.read_csv`` plus the
same conversion, in the same run, each in its own process (so each peak memory is its own).

The file is generated first (tardis's header and row shape: ``binance-futures,BTCUSDT,<us>,<us>,<id>,
buy|sell,<price>,<amount>``; ``--rows`` rows, 1 M by default; the bar is measured with 10 M).

    python benches/bench_readers.py [--rows 10000000] [--file PATH] [--keep]

Prints, per reader: wall seconds, rows/s to the event array and peak RSS (MB); then the ratios.  Three
children: liqcore's reader alone, liqcore's full load (``load_events``: the reader, the plausibility
rule, time order, the file report) and pandas (``read_csv`` of the same columns, then the same
conversion and field checks).
Bars: liqcore >= 2 M rows/s and >= 3x pandas, peak <= 2 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's liqcore, not an installed one
HEADER = ["exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount"]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """A tardis trades file of ``rows`` rows, written with pyarrow's CSV writer through gzip."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    step = 1_000_000
    with pa.CompressedOutputStream(str(path), "gzip") as out:
        writer = None
        t = 1_722_470_400_000_000  # 2024-08-01T00:00Z, microseconds
        price = 64_000.0
        for a in range(0, rows, step):
            n = min(step, rows - a)
            ts = t + np.cumsum(rng.integers(0, 9_000, n))
            t = int(ts[-1])
            px = np.round(price + np.cumsum(rng.choice([-0.1, 0.0, 0.1], n)), 1)
            price = float(px[-1])
            table = pa.table({
                "exchange": pa.array(["binance-futures"] * n),
                "symbol": pa.array(["BTCUSDT"] * n),
                "timestamp": ts,
                "local_timestamp": ts + rng.integers(1_000, 60_000, n),
                "id": np.arange(a, a + n) + 4_000_000_000,
                "side": pa.array(np.where(rng.random(n) < 0.5, "buy", "sell")),
                "price": px,
                "amount": rng.integers(1, 5_000, n) / 1000,
            })
            if writer is None:  # tardis's header line, unquoted
                out.write((",".join(HEADER) + "\n").encode())
                writer = pacsv.CSVWriter(out, table.schema, write_options=pacsv.WriteOptions(
                    include_header=False, quoting_style="none"))
            writer.write_table(table)
        writer.close()


def run_liqcore(path: Path) -> int:
    from liqcore.io import tardis
    from liqcore.io.base import FileState
    from liqcore.venues.common import Sink

    st = FileState(str(path), Sink(), False, "tardis-trades")
    return len(tardis.TRADES.load(path, st))


def run_liqcore_full(path: Path) -> int:
    """What a user calls: ``load_events`` -- the reader, then the plausibility rule, time order,
    duplicates and the per-file report."""
    from liqcore.dataset.load import load_events

    return len(load_events([path]).events)


def run_pandas(path: Path) -> int:
    """pandas.read_csv, then the same conversion to the event array (venue, symbol id, side, ns times,
    the same checks)."""
    import numpy as np
    import pandas as pd

    from liqcore.io.tardis import EXCHANGES, to_ns
    from liqcore.types import EVENT_DTYPE
    from liqcore.venues.common import Sink

    df = pd.read_csv(path, usecols=["exchange", "symbol", "timestamp", "local_timestamp", "side", "price",
                                    "amount"], dtype={"exchange": "category", "symbol": "category", "timestamp": "Int64",
                                  "local_timestamp": "Int64", "id": str, "side": "category",
                                  "price": "float64", "amount": "float64"})
    sink = Sink()
    ex = df["exchange"].cat
    vcode = np.array([EXCHANGES.get(str(c).encode().lower(), 0) for c in ex.categories] + [0])
    venue = vcode[ex.codes.to_numpy()]
    sy = df["symbol"].cat
    sid_of = np.array([sink.sid(2, str(s)) for s in sy.categories] + [-1])
    sid = sid_of[sy.codes.to_numpy()]
    sd = df["side"].cat
    side_of = np.array([{"buy": 3, "sell": 4}.get(str(c).lower(), 0) for c in sd.categories] + [0])
    side = side_of[sd.codes.to_numpy()]
    ts = to_ns(df["timestamp"].fillna(0).to_numpy(np.int64))
    recv = to_ns(df["local_timestamp"].fillna(0).to_numpy(np.int64))
    price = df["price"].to_numpy()
    qty = df["amount"].to_numpy()
    ok = (venue > 0) & (sid >= 0) & (side > 0) & (ts > 0) & np.isfinite(price) & (price > 0) & np.isfinite(qty) & (qty > 0)
    out = np.zeros(int(ok.sum()), dtype=EVENT_DTYPE)
    out["ts_event"], out["ts_recv"], out["price"], out["qty"] = ts[ok], recv[ok], price[ok], qty[ok]
    out["symbol_id"], out["side"], out["kind"], out["venue"] = sid[ok], side[ok], 2, venue[ok]
    return len(out)


def child(which: str, path: str) -> None:
    fn = {"liqcore": run_liqcore, "liqcore-full": run_liqcore_full, "pandas": run_pandas}[which]
    # imports outside the timing (both sides): the bar is the reading
    import pyarrow.csv  # noqa: F401

    import liqcore.io.tardis  # noqa: F401
    from liqcore.venues.common import Sink

    Sink()
    # pyarrow imports pandas on its first conversion of values (about 0.3-0.7 s): an import, outside
    # the timing on both sides like the others
    import pandas  # noqa: F401
    t0 = time.perf_counter()
    c0 = time.process_time()
    n = fn(Path(path))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": n, "wall_s": wall, "cpu_s": cpu, "peak_mb": peak_mb}))


def measure(which: str, path: Path) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", which, "--file", str(path)], capture_output=True,
                       text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the generated file (the bar: 10000000)")
    ap.add_argument("--file", help="a tardis trades .csv.gz to read instead of generating one")
    ap.add_argument("--keep", action="store_true", help="keep the generated file")
    ap.add_argument("--child", choices=["liqcore", "liqcore-full", "pandas"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child, a.file)
        return 0
    tmp = None
    if a.file:
        path = Path(a.file)
    else:
        tmp = tempfile.mkdtemp(prefix="bench-readers-")
        path = Path(tmp) / "binance-futures_trades_2024-08-01_BTCUSDT.csv.gz"
        t0 = time.perf_counter()
        generate(path, a.rows)
        print(f"generated {a.rows:,} rows: {path.stat().st_size / 1e6:,.1f} MB gzip in {time.perf_counter() - t0:.1f} s")
    try:
        print(f"load average (1 min) at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        res = {}
        for which in ("liqcore", "liqcore-full", "pandas"):
            m = res[which] = measure(which, path)
            print(f"{which:12s}: {m['rows']:,} rows in {m['wall_s']:.2f} s wall ({m['cpu_s']:.2f} s CPU) = "
                  f"{m['rows'] / m['wall_s'] / 1e6:.2f} M rows/s; peak RSS {m['peak_mb']:,.0f} MB")
        ratio = res["pandas"]["wall_s"] / res["liqcore"]["wall_s"]
        rate = res["liqcore"]["rows"] / res["liqcore"]["wall_s"]
        full = res["liqcore-full"]
        print(f"liqcore / pandas: {ratio:.2f}x faster (wall time of the same file, same run); the full load "
              f"(reader + plausibility rule + order + report): {res['pandas']['wall_s'] / full['wall_s']:.2f}x "
              f"pandas, {full['rows'] / full['wall_s'] / 1e6:.2f} M rows/s; CPU time liqcore / pandas: "
              f"{res['pandas']['cpu_s'] / res['liqcore']['cpu_s']:.2f}x (reader), "
              f"{res['pandas']['cpu_s'] / full['cpu_s']:.2f}x (full load)")
        print(f"bars: >= 2 M rows/s: {'met' if rate >= 2e6 else 'NOT met'} ({rate / 1e6:.2f} M rows/s); "
              f">= 3x pandas: {'met' if ratio >= 3 else 'NOT met'} ({ratio:.2f}x); peak <= 2 GB: "
              f"{'met' if res['liqcore']['peak_mb'] <= 2048 else 'NOT met'} ({res['liqcore']['peak_mb']:,.0f} MB)")
    finally:
        if tmp and not a.keep:
            path.unlink(missing_ok=True)
            os.rmdir(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
