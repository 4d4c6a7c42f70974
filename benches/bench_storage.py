"""A sweep reading its dataset from a local S3 server against the same sweep reading it from local disk,
in one run (bar: S3 within 1.3x of local disk).

* The market: the default synthetic market (seed 7), --days days x --symbols symbols, converted once
  into a dataset on local disk and once into a dataset on a moto S3 server started here
  (``python -m moto.server`` on 127.0.0.1, a separate process reached over HTTP like any S3).
* The sweep: ``liqcore sweep DATASET --grid ... --workers W --json`` as a user runs it (a fresh process
  each time, so every partition is read from its storage inside the timed run), --configs execution
  configurations x the symbols; local and S3 runs alternate, --runs of each, the median reported.
* Also the read alone: ``load_dataset`` of the whole dataset, in-process, median of --runs.

    python benches/bench_storage.py [--days 10] [--symbols 3] [--configs 100] [--workers 2] [--runs 3]

Prints seconds, the medians and the ratio S3 / local; note `cat /proc/loadavg`.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests._s3_server import MotoServer, s3_env  # noqa: E402

SYMS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT")
BUCKET = "liqcore-bench"


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split(" ")[:3])
    except OSError:
        return "?"


def grid(n: int) -> list[str]:
    """About ``n`` execution configurations: offset x take-profit x stop-loss."""
    offs = ["0.1%", "0.15%", "0.2%", "0.25%", "0.3%"]
    tps = ["0.1%", "0.15%", "0.2%", "0.3%", "0.4%"]
    sls = ["0.25%", "0.5%", "0.75%", "1%", "1.5%", "2%", "3%", "4%"]
    k = max(1, round(n / (len(offs) * len(tps))))
    return ["--grid", "offset=" + ",".join(offs), "--grid", "take-profit=" + ",".join(tps),
            "--grid", "stop-loss=" + ",".join(sls[:k])]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=float, default=10)
    ap.add_argument("--symbols", type=int, default=3)
    ap.add_argument("--configs", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()

    from liqcore.synthetic.market import synthetic_market
    from liqcore.dataset import convert_to_dataset, dataset_info, load_dataset
    from liqcore.io import save_events

    syms = SYMS[: a.symbols]
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        tmp = Path(tmp)
        m = synthetic_market(days=a.days, symbols=syms, seed=7)
        rec = tmp / "rec.parquet"
        save_events(m.events, rec, registry=m.registry)
        with MotoServer(tmp / "moto") as srv:
            env = s3_env(srv.endpoint, tmp)
            env["PYTHONPATH"] = str(ROOT)
            srv.make_bucket(BUCKET, env)
            os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
            local, url = tmp / "ds", f"s3://{BUCKET}/ds"
            convert_to_dataset([rec], local)
            convert_to_dataset([rec], url)
            parts = dataset_info(url)
            assert parts == dataset_info(local)
            size = sum(f.stat().st_size for f in local.rglob("*.parquet"))
            print(f"dataset: {len(m.events):,} events, {len(parts)} partitions ({len(syms)} symbols x "
                  f"{len({p[2] for p in parts})} days), {size / 2**20:.1f} MiB of Parquet; load {loadavg()}")

            reads = {"local": [], "s3": []}
            for _ in range(a.runs):
                for name, src in (("local", local), ("s3", url)):
                    t0 = time.perf_counter()
                    n = len(load_dataset(src).events)
                    reads[name].append(time.perf_counter() - t0)
            print(f"read the whole dataset ({n:,} events): local {statistics.median(reads['local']):.2f} s, "
                  f"S3 {statistics.median(reads['s3']):.2f} s (median of {a.runs}); "
                  f"ratio {statistics.median(reads['s3']) / statistics.median(reads['local']):.2f}x")

            g = grid(a.configs)
            times = {"local": [], "s3": []}
            tables = {}
            for i in range(a.runs):
                for name, src in (("local", str(local)), ("s3", url)) if i % 2 == 0 else (("s3", url),
                                                                                           ("local", str(local))):
                    t0 = time.perf_counter()
                    r = subprocess.run([sys.executable, "-m", "liqcore", "sweep", src, *g, "--workers",
                                        str(a.workers), "--json", "--no-progress"], env=env, capture_output=True,
                                       text=True, cwd=tmp)
                    dt = time.perf_counter() - t0
                    if r.returncode != 0:
                        print(r.stderr, file=sys.stderr)
                        return 1
                    times[name].append(dt)
                    tables[name] = r.stdout
                    print(f"  run {i + 1} {name:5s}: {dt:.2f} s (load {loadavg()})")
            import json

            rows = {k: [{c: v for c, v in row.items() if c != "cell"} for row in json.loads(t)]
                    for k, t in tables.items()}
            same = rows["local"] == rows["s3"]
            ml, ms = statistics.median(times["local"]), statistics.median(times["s3"])
            print(f"sweep of {len(rows['s3'])} cells ({len(rows['s3']) // len(syms)} configurations x "
                  f"{len(syms)} symbols x {a.days:g} days), {a.workers} workers, whole command: local disk "
                  f"{ml:.2f} s, S3 {ms:.2f} s (median of {a.runs}); S3 / local = {ms / ml:.2f}x "
                  f"(bar <= 1.3x: {'met' if ms / ml <= 1.3 else 'MISSED'}); tables identical: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
