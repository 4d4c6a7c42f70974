"""The queue at depth over a part of a dataset's span: ``--start`` and depth rows outside the events' span.

The default (window-local) read and the full replay (``--read all``) must build the depth book the same way
where the span starts after depth rows (from the checkpoint before the span's start and the rows between),
so ``backtest DS --fill queue --start T`` gives the same trades and P&L either way; a book unknown at the span's
start (no snapshot run before it) is said in both (``depth_note``).  Depth rows received before the first or
after the last event of the span (a day whose first trades are missing but whose depth is kept) leave the
span (``start_ns``, ``end_ns``) and so the exposure as they are.  The day: ``benches/bench_depth_backtest.py``'s,
scaled down (docs/explanation/fill-model.md, "The queue at depth")."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benches"))

pytestmark = pytest.mark.slow

START = "2024-08-01T12:00:00Z"
HOUR_NS = 3_600_000_000_000


def build(base: Path, *, cut_hours: int = 0, snapshot: bool = True) -> Path:
    """The bench's day (400,000 DEPTH rows, 100,000 trades, 200,000 quotes, seed 7) as a dataset in ``base``:
    ``cut_hours`` > 0 leaves out every event (trades, liquidations, quotes) of the day's first hours but keeps
    all of its depth; ``snapshot`` False writes the depth without its snapshot run (updates alone: the book is
    never known)."""
    from bench_density import day_events, day_tables
    from bench_depth_backtest import SYMBOL, depth_rows

    from liqcore.dataset import write_dataset, write_depth
    from liqcore.dataset.write import dataset_lock
    from liqcore.types import Flag, SymbolRegistry

    tabs = day_tables(SYMBOL, 0, 100_000, 1500, 30, 7, 200_000)
    reg = SymbolRegistry()
    ev, tid = day_events(tabs, reg)
    rows = depth_rows(tabs["quotes"], 400_000, reg)
    if cut_hours:
        keep = ev["ts_recv"] >= int(rows["ts_recv"][0]) + cut_hours * HOUR_NS
        ev, tid = ev[keep], tid[keep]
    if not snapshot:
        rows = rows[(rows["flags"] & int(Flag.SNAPSHOT)) == 0]
    out = base / "depth"
    write_dataset(ev, str(out), reg, trade_ids=tid, checked=True)
    with dataset_lock(str(out)):
        write_depth(str(out), rows, reg)
    return out


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    return build(tmp_path_factory.mktemp("depth-start"))


def backtest(path, *extra):
    """The ``--json`` output ({"summary", "trades"})."""
    r = subprocess.run([sys.executable, "-m", "liqcore", "backtest", str(path), "--fill", "queue", *extra, "--json"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return orjson.loads(r.stdout)


@pytest.mark.parametrize("extra", [("--offset", "0.05%"), ("--offset", "0.02%", "--take-profit", "0.03%")])
def test_both_reads_put_the_book_back_before_the_start(day, extra):
    """With ``--start`` after the day's snapshot run: the full replay's book at the start is the checkpoint's and
    the rows before it (before: it left them out, its book unknown, and an entry the default read filled
    from the queue filled otherwise), so both reads give the same trades, fill rules and P&L."""
    full = backtest(day, "--start", START, "--read", "all", *extra)
    got = backtest(day, "--start", START, *extra)
    whole = backtest(day, "--start", START, "--read", "all", "--chunk-days", "0", *extra)  # the span loaded whole
    assert got["summary"]["read"]["path"] == "windows"
    assert full["trades"], full["summary"]
    assert {t["fill_rule"] for t in full["trades"]} & {"queue (depth)", "depth cross"}, full["trades"]
    for other in (got, whole):
        assert other["trades"] == full["trades"]
        for k in ("pnl", "trades", "fills", "exposure", "start_ns", "end_ns", "equity_end"):
            assert other["summary"][k] == full["summary"][k], k
        assert "depth_note" not in other["summary"]
    assert "depth_note" not in full["summary"]


def test_a_book_unknown_at_the_start_is_said_by_both_reads(tmp_path):
    """Depth without a snapshot run: the book is never known (a level only once an update shows it), so no depth
    row crosses a limit; both reads say so (``depth_note``) and give the same trades."""
    ds = build(tmp_path, snapshot=False)
    full = backtest(ds, "--start", START, "--read", "all", "--offset", "0.05%")
    got = backtest(ds, "--start", START, "--offset", "0.05%")
    whole = backtest(ds, "--start", START, "--read", "all", "--chunk-days", "0", "--offset", "0.05%")
    assert whole["trades"] == full["trades"]
    for out in (full, got, whole):
        note = out["summary"].get("depth_note", "")
        assert "depth book unknown at the span's start" in note and "binance:BTCUSDT" in note, out["summary"]
        assert out["trades"] and "depth cross" not in {t["fill_rule"] for t in out["trades"]}
    assert got["trades"] == full["trades"]
    r = subprocess.run([sys.executable, "-m", "liqcore", "backtest", str(ds), "--fill", "queue", "--start", START,
                        "--read", "all"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "depth note: the depth book unknown" in r.stdout + r.stderr, r.stdout + r.stderr


def test_depth_outside_the_events_span_leaves_the_span_as_it_is(tmp_path):
    """The day's first two hours of events left out, its depth kept: the span (start, end) is the events', in
    both reads and in the whole load, and so is the exposure (before: the full replay's span started at the
    first depth row, exposure 0.1213 against 0.1112 on the audit's day)."""
    ds = build(tmp_path, cut_hours=2)
    from liqcore.dataset import load_dataset

    ev = load_dataset(str(ds)).events
    first, last = int(ev["ts_recv"].min()), int(ev["ts_recv"].max())
    extra = ("--offset", "0.05%")
    outs = {"windows": backtest(ds, *extra), "all": backtest(ds, "--read", "all", *extra),
            "whole": backtest(ds, "--read", "all", "--chunk-days", "0", *extra)}
    assert outs["windows"]["summary"]["read"]["path"] == "windows"
    for name, out in outs.items():
        s = out["summary"]
        assert s["start_ns"] == first and s["end_ns"] >= last, (name, s["start_ns"], s["end_ns"], first, last)
    w = outs["windows"]
    assert w["trades"]
    for name in ("all", "whole"):
        assert outs[name]["trades"] == w["trades"], name
        for k in ("start_ns", "end_ns", "exposure", "pnl"):
            assert outs[name]["summary"][k] == w["summary"][k], (name, k)
