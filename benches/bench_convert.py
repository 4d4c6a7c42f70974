"""``liqcore convert FILES --dataset DS`` against pyarrow's floor (``pyarrow.csv.read_csv`` + ``pyarrow.parquet.
write_table`` of the same files), in the same run, alternating, each in its own process (so each peak RSS
is its own); then ``load_dataset`` of the dataset written.

Day files are generated first in tardis.dev's ``trades`` layout (``binance-futures,BTCUSDT,<us>,<us>,<id>,
buy|sell,<price>,<amount>``, gzip), ``--rate`` trades a day (3 M: a real venue's BTCUSDT), ``--days`` days.

    python benches/bench_convert.py [--days 2] [--rate 3000000] [--repeat 2] [--dir DIR] [--keep]
                                    [--baseline OTHER_CHECKOUT]

Prints each run's wall seconds and peak RSS, the medians, the ratio convert / floor (the bar: <= 1.5x) and
the load of the dataset (wall, peak RSS, events).

    python benches/bench_convert.py --single-file [--rate 6000000] [--repeat 3] [--dir DIR] [--baseline OLD]

``--single-file``: one tardis trades file of ``--rate`` rows (default 6 M), and ``liqcore convert FILE --out
x.parquet`` against, in the same run, alternating, each in its own process: pandas ``read_csv`` + the same
mapping to the event contract's columns + ``to_parquet`` (zstd, as liqcore writes), and pyarrow's floor
(``read_csv`` + ``write_table``).  ``--baseline``: another liqcore checkout (built in place)
whose convert and load run alternating with this one's in the same run (before -> after).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's liqcore, not an installed one
HEADER = ["exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount"]
DAY_US = 86_400_000_000
T0_US = 1_722_470_400_000_000  # 2024-08-01T00:00Z


def generate_day(path: Path, day: int, rows: int, seed: int = 7) -> None:
    """One tardis trades day file: ``rows`` trades spread over the UTC day ``day`` (0 = 2024-08-01)."""
    import gzip

    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed + day)
    step = 1_000_000
    mean_gap = max(DAY_US // max(rows, 1), 1)
    t = T0_US + day * DAY_US
    price = 64_000.0
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write((",".join(HEADER) + "\n").encode())
        writer = None
        for a in range(0, rows, step):
            n = min(step, rows - a)
            ts = np.minimum(t + np.cumsum(rng.integers(0, 2 * mean_gap, n)), T0_US + (day + 1) * DAY_US - 1)
            t = int(ts[-1])
            px = np.round(price + np.cumsum(rng.choice([-0.1, 0.0, 0.1], n)), 1)
            price = float(px[-1])
            table = pa.table({
                "exchange": pa.array(["binance-futures"] * n),
                "symbol": pa.array(["BTCUSDT"] * n),
                "timestamp": ts,
                "local_timestamp": ts + rng.integers(1_000, 60_000, n),
                "id": np.arange(a, a + n) + 4_000_000_000 + day * rows,
                "side": pa.array(np.where(rng.random(n) < 0.5, "buy", "sell")),
                "price": px,
                "amount": rng.integers(1, 5_000, n) / 1000,
            })
            if writer is None:
                writer = pacsv.CSVWriter(out, table.schema, write_options=pacsv.WriteOptions(
                    include_header=False, quoting_style="none"))
            writer.write_table(table)
        writer.close()


def child(which: str, files: list[str], out: str, root: str | None) -> None:
    if root:
        sys.path.insert(0, root)
    t0 = time.perf_counter()
    if which == "floor":
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        rows = 0
        os.makedirs(out, exist_ok=True)
        for i, f in enumerate(files):
            t = pacsv.read_csv(f)
            pq.write_table(t, os.path.join(out, f"{i}.parquet"))
            rows += t.num_rows
    elif which == "convert":
        from liqcore.cli import main

        rc = main(["convert", *files, "--dataset", out])
        assert rc == 0, rc
        rows = None
    elif which == "single":  # liqcore convert FILE --out x.parquet
        from liqcore.cli import main

        rc = main(["convert", *files, "--out", out])
        assert rc == 0, rc
        rows = None
    elif which == "pandas":  # read_csv + the mapping to the contract's columns + to_parquet
        rows = pandas_convert(files, out)
    else:  # load
        from liqcore.dataset import load_dataset

        rows = len(load_dataset(out).events)
    print(json.dumps({"wall_s": time.perf_counter() - t0, "rows": rows}))


VENUE_NAMES = {"binance-futures": "binance", "binance": "binance", "bybit": "bybit", "okex-swap": "okx"}


def pandas_convert(files: list[str], out: str) -> int:
    """pandas' way: ``read_csv``, the tardis trades columns mapped to the event contract's (times us -> ns,
    the venue's name, kind ``trade``, the taker's side, ``amount`` as qty, the trade id), ``to_parquet``."""
    import numpy as np
    import pandas as pd

    df = pd.concat([pd.read_csv(f) for f in files], ignore_index=True) if len(files) > 1 else pd.read_csv(files[0])
    ev = pd.DataFrame({
        "ts_event_ns": df["timestamp"].to_numpy(np.int64) * 1000,
        "ts_recv_ns": df["local_timestamp"].to_numpy(np.int64) * 1000,
        "venue": df["exchange"].map(VENUE_NAMES),
        "symbol": df["symbol"].str.upper(),
        "kind": "trade",
        "side": df["side"].str.lower(),
        "price": df["price"].astype(np.float64),
        "qty": df["amount"].astype(np.float64),
        "flags": np.zeros(len(df), np.uint8),
        "trade_id": df["id"].to_numpy(np.int64),
    })
    ev.to_parquet(out, compression="zstd", index=False)
    return len(ev)


def run(which: str, files, out, root=None) -> dict:
    """One child: wall seconds (the child's whole life: start, imports, work) and its own peak RSS."""
    t0 = time.perf_counter()
    env = dict(os.environ)
    if root:
        env["PYTHONPATH"] = str(root)
    p = subprocess.Popen([sys.executable, __file__, "--child", which, "--out", str(out),
                          *(["--root", str(root)] if root else []), *map(str, files)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    stdout = p.stdout.read()
    _pid, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        raise SystemExit(f"{which} failed (exit {p.returncode})")
    inner = json.loads(stdout.strip().splitlines()[-1])
    return {"wall_s": wall, "work_s": inner["wall_s"], "rows": inner["rows"], "peak_mib": ru.ru_maxrss / 1024,
            "cpu_s": ru.ru_utime + ru.ru_stime}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--rate", type=int, default=3_000_000, help="trades a day (default 3,000,000)")
    ap.add_argument("--repeat", type=int, default=2, help="alternating runs of each (default 2)")
    ap.add_argument("--dir", help="where the day files are (reused when present) and the outputs go")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--single-file", action="store_true",
                    help="one file of --rate rows: convert FILE --out x.parquet against pandas and pyarrow")
    ap.add_argument("--child", choices=["floor", "convert", "load", "single", "pandas"], help=argparse.SUPPRESS)
    ap.add_argument("--baseline", help="another liqcore checkout to time alternating with this one")
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    ap.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child, a.files, a.out, a.root)
        return 0
    if a.single_file:
        return single_file(a)
    import shutil

    base = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="bench-convert-"))
    base.mkdir(parents=True, exist_ok=True)
    files = []
    t0 = time.perf_counter()
    for d in range(a.days):
        day = time.strftime("%Y-%m-%d", time.gmtime((T0_US + d * DAY_US) // 1_000_000))
        f = base / f"binance-futures_trades_{day}_BTCUSDT.csv.gz"
        if not f.is_file():
            generate_day(f, d, a.rate)
        files.append(f)
    mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"{a.days} day file(s) x {a.rate:,} trades: {mb:,.1f} MB gzip ({time.perf_counter() - t0:.1f} s to "
          f"generate or find)")
    print(f"load average (1 min) at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    kinds = [("floor", None), ("convert", None)] + ([("baseline", a.baseline)] if a.baseline else [])
    res: dict = {k: [] for k, _r in kinds}
    loads: dict = {"load": [], "baseline-load": []}
    try:
        for i in range(a.repeat):
            for which, root in kinds:
                out = base / f"out-{which}"
                shutil.rmtree(out, ignore_errors=True)
                m = run("convert" if which == "baseline" else which, files, out, root)
                res[which].append(m)
                print(f"run {i + 1} {which:8s}: {m['wall_s']:.2f} s wall ({m['work_s']:.2f} s of work), "
                      f"{m['cpu_s']:.2f} s CPU (user + sys), peak RSS {m['peak_mib']:,.0f} MiB", flush=True)
            for name, out, root in (("load", "out-convert", None), ("baseline-load", "out-baseline", a.baseline)):
                if name == "baseline-load" and not a.baseline:
                    continue
                m = run("load", [], base / out, root)
                loads[name].append(m)
                print(f"run {i + 1} {name:13s}: {m['rows']:,} events in {m['wall_s']:.2f} s wall ({m['work_s']:.2f} s "
                      f"of work), peak RSS {m['peak_mib']:,.0f} MiB", flush=True)
        for name, v in loads.items():
            if v:
                print(f"median {name}: {statistics.median(m['wall_s'] for m in v):.2f} s wall, peak RSS "
                      f"{statistics.median(m['peak_mib'] for m in v):,.0f} MiB")
        med = {k: statistics.median(m["wall_s"] for m in v) for k, v in res.items()}
        for k, v in res.items():
            print(f"median {k}: {med[k]:.2f} s wall, peak RSS {statistics.median(m['peak_mib'] for m in v):,.0f} MiB")
        # the bar: user + sys CPU, the median of the alternated rounds' own ratios (wall at load is noise)
        cpu = statistics.median(c["cpu_s"] / f["cpu_s"] for c, f in zip(res["convert"], res["floor"]))
        print(f"CPU (user + sys), median of {len(res['convert'])} alternated rounds' ratios: convert / floor "
              f"(read_csv + write_table) = {cpu:.2f}x (bar <= 1.4x: {'met' if cpu <= 1.4 else 'NOT met'})")
        ratio = med["convert"] / med["floor"]
        print(f"median wall: convert {med['convert']:.2f} s, floor (read_csv + write_table) {med['floor']:.2f} s; "
              f"convert / floor = {ratio:.2f}x; "
              f"load average (1 min) at end: {os.getloadavg()[0]:.2f}")
    finally:
        for which in ("floor", "convert", "baseline"):
            shutil.rmtree(base / f"out-{which}", ignore_errors=True)
        if not a.keep and not a.dir:
            shutil.rmtree(base, ignore_errors=True)
    return 0


def single_file(a) -> int:
    """``--single-file``: convert FILE --out x.parquet against pandas and pyarrow's floor, alternating."""
    import shutil

    rows = a.rate if a.rate != 3_000_000 else 6_000_000
    base = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="bench-convert-"))
    base.mkdir(parents=True, exist_ok=True)
    f = base / f"binance-futures_trades_2024-08-01_BTCUSDT-{rows}.csv.gz"
    t0 = time.perf_counter()
    if not f.is_file():
        generate_day(f, 0, rows)
    print(f"1 tardis trades file x {rows:,} rows: {f.stat().st_size / 1e6:,.1f} MB gzip "
          f"({time.perf_counter() - t0:.1f} s to generate or find)")
    print(f"load average (1 min) at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    kinds = [("floor", None), ("pandas", None), ("single", None)] + ([("baseline", a.baseline)] if a.baseline else [])
    res: dict = {k: [] for k, _r in kinds}
    try:
        for i in range(a.repeat):
            for which, root in kinds:
                out = base / f"out-{which}" if which == "floor" else base / f"out-{which}.parquet"
                shutil.rmtree(out, ignore_errors=True) if which == "floor" else out.unlink(missing_ok=True)
                m = run("single" if which == "baseline" else which, [f], out, root)
                res[which].append(m)
                print(f"run {i + 1} {which:8s}: {m['wall_s']:.2f} s wall ({m['work_s']:.2f} s of work), "
                      f"{m['cpu_s']:.2f} s CPU (all threads), peak RSS {m['peak_mib']:,.0f} MiB", flush=True)
        med = {k: statistics.median(m["wall_s"] for m in v) for k, v in res.items()}
        for k, v in res.items():
            print(f"median of {len(v)} {k}: {med[k]:.2f} s wall, "
                  f"{statistics.median(m['cpu_s'] for m in v):.2f} s CPU, peak RSS "
                  f"{statistics.median(m['peak_mib'] for m in v):,.0f} MiB")
        # the bar: user + sys CPU (what a busy machine does not inflate), the median of the alternated runs'
        # own ratios (each convert against the pandas and pyarrow runs of the same round)
        cpu_pd = statistics.median(s["cpu_s"] / p["cpu_s"] for s, p in zip(res["single"], res["pandas"]))
        cpu_pa = statistics.median(s["cpu_s"] / p["cpu_s"] for s, p in zip(res["single"], res["floor"]))
        print(f"CPU (user + sys), median of {len(res['single'])} alternated rounds' ratios: convert --out / pandas "
              f"read_csv + mapping + to_parquet = {cpu_pd:.2f}x; convert --out / pyarrow read_csv + write_table = "
              f"{cpu_pa:.2f}x")
        print(f"median wall: convert --out {med['single']:.2f} s; pandas read_csv + mapping + to_parquet "
              f"{med['pandas']:.2f} s; pyarrow read_csv + write_table {med['floor']:.2f} s; convert / pandas = "
              f"{med['single'] / med['pandas']:.2f}x, convert / pyarrow = {med['single'] / med['floor']:.2f}x"
              + (f"; baseline checkout {med['baseline']:.2f} s" if a.baseline else "")
              + f"; load average (1 min) at end: {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(base / "out-floor", ignore_errors=True)
        for which in ("pandas", "single", "baseline"):
            (base / f"out-{which}.parquet").unlink(missing_ok=True)
        if not a.keep and not a.dir:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
