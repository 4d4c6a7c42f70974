"""Reading a Binance public-data ``aggTrades`` ``.zip`` (USD-M futures, headerless as the older files
are) into the event array: liqcore's reader (pyarrow's CSV reader, typed columns) against the
baseline ``pandas.read_csv`` of the same zip plus the same conversion (times to ns, the taker side
from ``is_buyer_maker``, the symbol id, sorted by time), in the same run.

Each measurement runs in a fresh process, so its peak memory (``ru_maxrss``) is its own; each side
first reads a 100-row file of the same format, so both are timed warm.  The file
is generated once (deflate, as Binance publishes) and kept in ``--dir``.

    python benches/bench_archives.py                    # 200 k rows: a quick check
    python benches/bench_archives.py --rows 10000000    # the bar: >= 2 M rows/s, >= 3x pandas, <= 2 GB
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's liqcore, not an installed one

DAY_MS = 1_723_075_200_000  # 2024-08-08 00:00 UTC
NAMES = ["agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id", "transact_time", "is_buyer_maker"]


def make_file(rows: int, folder: Path) -> Path:
    """A day of BTCUSDT aggTrades with ``rows`` rows (a random walk of prices, a few rows out of order)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"r{rows}" / "BTCUSDT-aggTrades-2024-08-08.zip"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    csv = path.with_suffix(".csv.tmp")
    with pacsv.CSVWriter(csv, pa.schema([(n, t) for n, t in zip(NAMES, [pa.int64(), pa.float64(), pa.float64(),
                                                                         pa.int64(), pa.int64(), pa.int64(),
                                                                         pa.bool_()])]),
                         write_options=pacsv.WriteOptions(include_header=False)) as w:
        step = 1_000_000
        price = 60_000.0
        for a in range(0, rows, step):
            n = min(step, rows - a)
            ids = np.arange(a, a + n, dtype=np.int64) + 2_000_000_000
            walk = price + np.cumsum(rng.choice([-0.1, 0.0, 0.1], n))
            price = float(walk[-1])
            t = DAY_MS + (np.arange(a, a + n) * 86_400_000 // max(rows, 1)).astype(np.int64)
            swap = rng.integers(0, n - 1, max(n // 10_000, 1))  # a few neighbours out of order
            t[swap], t[swap + 1] = t[swap + 1].copy(), t[swap].copy()
            first = ids * 3
            w.write_table(pa.table({
                "agg_trade_id": ids, "price": np.round(walk, 1), "quantity": np.round(rng.integers(1, 2000, n) * 0.001, 3),
                "first_trade_id": first, "last_trade_id": first + rng.integers(0, 3, n), "transact_time": t,
                "is_buyer_maker": rng.random(n) < 0.5}))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(csv, "BTCUSDT-aggTrades-2024-08-08.csv")
    csv.unlink()
    return path


def _warm_file() -> str:
    """A 100-row file of the same format: each side reads it once before the clock starts, so both
    are timed warm (modules imported, caches filled), not their first-call costs."""
    import tempfile

    return str(make_file(100, Path(tempfile.gettempdir()) / "liqcore-bench-archives-warm"))  # made once, kept


def run_liqcore(path: str) -> dict:
    from liqcore.dataset.load import load_events

    load_events(_warm_file())
    t0 = time.perf_counter()
    r = load_events(path)
    dt = time.perf_counter() - t0
    assert r.files[path]["format"] == "binance-aggtrades"
    return {"rows": int(r.files[path]["records"]), "events": len(r.events), "seconds": dt,
            "reordered": r.files[path].get("reordered")}


def run_reader(path: str) -> dict:
    """The reader alone: the file to its event array (checked rows, in time order), without the
    load's shared plausibility pass, merge and duplicate removal."""
    from liqcore.io.base import FileState
    from liqcore.venues.binance.archives import load_aggtrades
    from liqcore.venues.common import Sink

    load_aggtrades(Path(_warm_file()), FileState("warm", Sink(), False, "binance-aggtrades"))
    st = FileState(path, Sink(), False, "binance-aggtrades")
    t0 = time.perf_counter()
    ev = load_aggtrades(Path(path), st)
    dt = time.perf_counter() - t0
    return {"rows": st.records, "events": len(ev), "seconds": dt}


def run_pandas(path: str) -> dict:
    import pandas as pd

    from liqcore.types import EVENT_DTYPE, Flag, SymbolRegistry

    pd.read_csv(_warm_file(), header=None, names=NAMES, compression="zip")
    t0 = time.perf_counter()
    df = pd.read_csv(path, header=None, names=NAMES, compression="zip")
    reg = SymbolRegistry()
    sid = reg.id(2, "BTCUSDT")
    n = len(df)
    ev = np.empty(n, dtype=EVENT_DTYPE)
    ev["ts_event"] = df["transact_time"].to_numpy(np.int64) * 1_000_000
    ev["ts_recv"] = ev["ts_event"]
    ev["price"] = df["price"].to_numpy(np.float64)
    ev["qty"] = df["quantity"].to_numpy(np.float64)
    ev["symbol_id"] = sid
    ev["side"] = np.where(df["is_buyer_maker"].to_numpy(bool), 4, 3)
    ev["kind"] = 2
    ev["venue"] = 2
    ev["flags"] = int(Flag.RECV_ESTIMATED)
    ev = ev[np.argsort(ev["ts_event"], kind="stable")]
    dt = time.perf_counter() - t0
    return {"rows": n, "events": len(ev), "seconds": dt}


def _child(which: str, path: str) -> None:
    import resource

    out = {"liqcore": run_liqcore, "reader": run_reader, "pandas": run_pandas}[which](path)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def measure(which: str, path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, __file__, "--child", which, str(path)], capture_output=True, text=True,
                       env=env, timeout=3600)
    if p.returncode:
        raise SystemExit(f"bench_archives: the {which} run failed: {p.stderr.strip().splitlines()[-1:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=200_000, help="rows of the generated file (default 200000)")
    ap.add_argument("--dir", default="/tmp/liqcore-bench-archives", help="where the generated file is kept")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    t0 = time.perf_counter()
    path = make_file(args.rows, Path(args.dir))
    size = path.stat().st_size
    print(f"file: {path} ({args.rows:,} rows, {size / 1e6:,.1f} MB zipped; ready in {time.perf_counter() - t0:.1f} s)")
    lq = measure("liqcore", path)
    rd = measure("reader", path)
    pd_ = measure("pandas", path)
    assert lq["events"] == pd_["events"] == args.rows, (lq, pd_)
    lq_rate, pd_rate = lq["rows"] / lq["seconds"], pd_["rows"] / pd_["seconds"]
    print(f"liqcore load_events: {lq['seconds']:.2f} s, {lq_rate / 1e6:.2f} M rows/s, peak RSS "
          f"{lq['peak_rss_mb']:,.0f} MB, {lq['reordered']:,} rows re-ordered")
    print(f"liqcore reader alone (to the event array, before the load's plausibility pass): {rd['seconds']:.2f} s, "
          f"{rd['rows'] / rd['seconds'] / 1e6:.2f} M rows/s, peak RSS {rd['peak_rss_mb']:,.0f} MB")
    print(f"pandas.read_csv + the same conversion: {pd_['seconds']:.2f} s, {pd_rate / 1e6:.2f} M rows/s, peak RSS "
          f"{pd_['peak_rss_mb']:,.0f} MB")
    ratio = lq_rate / pd_rate
    bar = lq_rate >= 2e6 and ratio >= 3 and lq["peak_rss_mb"] <= 2048
    print(f"liqcore / pandas throughput: x{ratio:.2f}; bar (>= 2 M rows/s, >= x3, peak <= 2048 MB): "
          f"{'met' if bar else 'not met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
