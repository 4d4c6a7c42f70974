"""``liqcore download tardis --types incremental_book_L2,book_snapshot_5 --dataset`` against a real HTTP server on
127.0.0.1 laid out as datasets.tardis.dev: the files are kept under tardis's names, told as depth by them, and
their rows land in the dataset's depth files."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from liqcore.dataset import load_depth
from liqcore.types import Flag
from tests.download._archive_server import ArchiveServer

ROOT = Path(__file__).resolve().parents[2]
KEY = "TD.k3y-that-must-never-show.0123456789"
T0 = 1_709_251_200_000_000  # 2024-03-01T00:00Z, us


def _files() -> dict:
    l2 = ["exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"]
    l2 += [f"binance-futures,BTCUSDT,{T0},{T0 + 500},true,{'bid' if i % 2 else 'ask'},{62000 + (i - 5) * 0.1:.1f},1.5"
           for i in range(10)]
    l2 += [f"binance-futures,BTCUSDT,{T0 + 1000 * i},{T0 + 1000 * i + 500},false,bid,{61999.0 - i * 0.1:.1f},"
           f"{i % 3}" for i in range(1, 31)]
    snap = ["exchange,symbol,timestamp,local_timestamp," + ",".join(
        f"asks[{j}].price,asks[{j}].amount,bids[{j}].price,bids[{j}].amount" for j in range(5))]
    snap += [f"binance-futures,BTCUSDT,{T0 + 5000 * i},{T0 + 5000 * i + 400}," + ",".join(
        f"{62000.1 + j * 0.1:.1f},{1 + j},{62000.0 - j * 0.1:.1f},{2 + j}" for j in range(5)) for i in range(4)]
    return {"/v1/binance-futures/incremental_book_L2/2024/03/01/BTCUSDT.csv.gz": gzip.compress(("\n".join(l2) + "\n").encode(), mtime=0),
            "/v1/binance-futures/book_snapshot_5/2024/03/01/BTCUSDT.csv.gz": gzip.compress(("\n".join(snap) + "\n").encode(), mtime=0)}


def test_depth_types_download_into_the_dataset(tmp_path):
    ds, keep = tmp_path / "ds", tmp_path / "raw"
    env = {k: v for k, v in os.environ.items() if k != "TARDIS_API_KEY"}
    env["PYTHONPATH"], env["TARDIS_API_KEY"] = str(ROOT), KEY
    base = [sys.executable, "-m", "liqcore", "download", "tardis", "--exchange", "binance-futures", "--symbols",
            "BTCUSDT", "--types", "incremental_book_L2,book_snapshot_5", "--from", "2024-03-01", "--to", "2024-03-01"]
    with ArchiveServer(_files(), key=KEY) as srv:
        r = subprocess.run(base + ["--dataset", str(ds), "--base-url", srv.url], env=env, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        k = subprocess.run(base + ["--out", str(keep), "--base-url", srv.url], env=env, capture_output=True,
                           text=True, timeout=300)
        assert k.returncode == 0, k.stderr
    assert sorted(p.name for p in keep.rglob("*.csv.gz")) == [
        "binance-futures_book_snapshot_5_2024-03-01_BTCUSDT.csv.gz",
        "binance-futures_incremental_book_L2_2024-03-01_BTCUSDT.csv.gz"]
    ev, reg = load_depth(ds)
    assert reg.symbol(0) == "BTCUSDT" and len(ev) == 10 + 30 + 40 + 3
    snap = (ev["flags"] & int(Flag.SNAPSHOT)) != 0
    gap = (ev["flags"] & int(Flag.DEPTH_GAP)) != 0
    # 10 snapshot levels + 30 updates (incremental), 4 snapshots x 10 levels with a gap before the last 3
    assert int(snap.sum()) == 10 + 40 and int((~snap & ~gap).sum()) == 30 and int(gap.sum()) == 3
    assert bool(np.all(np.diff(ev["ts_recv"]) >= 0))
    assert KEY not in r.stdout + r.stderr
