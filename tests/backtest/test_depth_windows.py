"""The queue at depth in the default (window-local) read of a dataset: a day with trades, quotes, liquidation
bursts and L2 depth updates (``benches/bench_depth_backtest.py``'s day, scaled down), backtested with the
default read, which replays each window's depth rows and puts the depth book back from the checkpoint before
each window, gives the full replay's trades (``--read all``), field for field, under both queue models and a
deeper offset; with checkpoints that are not the depth file's, the default read says why and replays every
event, with the same trades."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benches"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    from bench_depth_backtest import build

    base = tmp_path_factory.mktemp("depth-day")
    n = build(base, depth=400_000, rate=100_000, quotes=200_000, seed=7)
    assert n["depth_rows"] == 400_000
    return base / "depth"


def backtest(path, *extra, summary: bool = False):
    """The ``--json`` trades (with ``summary``: and the summary)."""
    r = subprocess.run([sys.executable, "-m", "liqcore", "backtest", str(path), "--fill", "queue", *extra, "--json"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    out = orjson.loads(r.stdout)
    return (out["trades"], out["summary"]) if summary else out["trades"]


def backtest_text(path, *extra):
    r = subprocess.run([sys.executable, "-m", "liqcore", "backtest", str(path), "--fill", "queue", *extra],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return r.stderr


@pytest.mark.parametrize("extra", [(), ("--queue-model", "prob:2"), ("--offset", "0.002"),
                                   # a take-profit within the book's moves (its queue and crossings decide exits),
                                   # partial fills (an order that takes three fills)
                                   ("--take-profit", "0.03%"),
                                   ("--offset", "0.05%", "--take-profit", "0.05%", "--partial", "on", "--equity", "1000000")])
def test_the_default_read_with_depth_gives_the_full_replays_trades(day, extra):
    full = backtest(day, "--read", "all", *extra)
    # (a print through the limit is named print: at the default offset every fill of the day is one)
    assert full and {t["fill_rule"] for t in full} <= {"queue (depth)", "depth cross", "print"}
    got, summary = backtest(day, *extra, summary=True)
    assert got == full
    # the window-local read, its depth rows read per window, and rows that only build the book left out (the
    # book put back): the fast path was taken
    read = summary["read"]
    assert read["path"] == "windows" and read["depth"]["rows"] > 0 and read["depth"]["filtered"] > 0, read
    if not extra:  # the same, as the command says it
        err = backtest_text(day, *extra)
        assert "read window-local" in err and "the queue at depth:" in err, err
        assert "replaying every event" not in err
        assert "only built the book" in err and " 0 only built" not in err, err


def test_checkpoints_that_are_not_the_files_are_refused(day, tmp_path):
    from liqcore.dataset.depth import BOOK_FILE

    ds = tmp_path / "ds"
    shutil.copytree(day, ds)
    book = next(ds.rglob(BOOK_FILE))
    depth = book.with_name("depth.parquet")
    import pyarrow.parquet as pq

    pq.write_table(pq.read_table(depth), depth, row_group_size=10_000)  # the same rows, written another way
    err = backtest_text(ds)
    assert "replaying every event (the queue at depth:" in err and "fingerprint differs" in err, err


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_other_days_give_the_full_replays_trades_too(tmp_path, seed):
    """Smaller days of other seeds, a take-profit the book reaches and partial fills of large orders: the
    default read (rows away from the working order's and take-profit's levels left out while no signal comes,
    the book put back) gives the full replay's trades, field for field."""
    from bench_depth_backtest import build

    build(tmp_path, depth=200_000, rate=60_000, quotes=120_000, seed=seed)
    day = tmp_path / "depth"
    extra = ("--offset", "0.05%", "--take-profit", "0.03%", "--partial", "on", "--equity", "1000000")
    full = backtest(day, "--read", "all", *extra)
    assert full
    assert backtest(day, *extra) == full
