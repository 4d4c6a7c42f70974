"""What verifying a dataset's checked marks costs against the checking it saves.

A partition file written from checked events is marked in the dataset's ``_liqcore_checked.json`` with
its size and the SHA-256 of its footer and of each row group's bytes; a load verifies the footer and the
row groups it decodes (each once per process, then cached by size, modification time and inode) and,
when they match, skips the row rules, plausibility and dedupe (``liqcore.dataset.checked``).  This bench writes a dataset of ``--days`` days x ``--rate`` trades a day of
one symbol (a random walk on a 0.1 grid, 2,000 liquidations a day) and times, in this process, median
of ``--runs`` each, the cases alternating (every per-process cache cleared before each timed run; the
files sit in the page cache, as after a write or a first read), wall and CPU seconds of this process:

* ``verify``: the footer and every row group of every partition file verified (the SHA-256s a whole
  read takes);
* ``fast``: ``load_dataset(DS)`` of the whole span, marks verified (verification included);
* ``fast, verified before``: the same with the files verified already (a second read in one process);
* ``checking``: ``load_dataset(DS, recheck=True)``: the checking read the marks save;
* ``window``: one hour of one day (``start_ns``/``end_ns``), fast (the footer and the few row groups it
  decodes verified), fast verified before, and checking.

    python benches/bench_checked.py [--days 2] [--rate 1000000] [--runs 5]

Prints each figure in seconds with the machine's load (``/proc/loadavg``) and the ratios.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DAY = 86_400_000_000_000
T0 = 1_767_225_600_000_000_000  # 2026-01-01 UTC


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split(" ")[:3])
    except OSError:
        return "?"


def market(days: int, rate: int, seed: int = 1):
    from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry, Venue

    rng = np.random.default_rng(seed)
    reg = SymbolRegistry()
    sid = reg.id(int(Venue.BYBIT), "ETHUSDT")
    n_t, n_l = rate * days, 2_000 * days
    ev = np.zeros(n_t + n_l, EVENT_DTYPE)
    ev["ts_event"] = np.sort(rng.integers(T0, T0 + days * DAY, n_t + n_l))
    ev["ts_recv"] = ev["ts_event"] + 50_000_000
    ev["price"] = np.round(3000.0 + np.cumsum(rng.choice([-0.1, 0.0, 0.1], n_t + n_l)), 1)
    ev["qty"] = np.round(rng.exponential(0.5, n_t + n_l), 3) + 0.001
    ev["symbol_id"], ev["venue"] = sid, int(Venue.BYBIT)
    liq = np.zeros(n_t + n_l, bool)
    liq[rng.choice(n_t + n_l, n_l, replace=False)] = True
    ev["kind"] = np.where(liq, int(Kind.LIQUIDATION), int(Kind.TRADE))
    buy = rng.random(n_t + n_l) < 0.5
    ev["side"] = np.where(liq, np.where(buy, int(Side.LONG), int(Side.SHORT)),
                          np.where(buy, int(Side.BUY), int(Side.SELL)))
    tids = np.where(liq, 0, np.arange(1, n_t + n_l + 1))
    return ev, reg, tids


def clear(keep_digests: bool = False) -> None:
    from liqcore.dataset import checked as C
    from liqcore.dataset import read as D

    C._FOOTERS.clear()
    C._RECENT.clear()
    C._MARKS.clear()
    while C._OPEN:
        C._OPEN.popitem()[1].close(force=True)
    D._LISTED.clear()
    if not keep_digests:
        C._DIGESTS.clear()
        C._GROUPS_OK.clear()


def measure(cases: dict, runs: int) -> dict:
    """Each case (name -> (function, keep digests, before)) run ``runs`` times, the cases alternating (a busy
    machine's load falls on all alike) -> name -> (median wall s, median CPU s of this process, last result)."""
    wall: dict = {k: [] for k in cases}
    cpu: dict = {k: [] for k in cases}
    out: dict = {}
    for _ in range(runs):
        for name, (fn, keep, before) in cases.items():
            clear(keep)
            if before is not None:
                before()
            c, t = time.process_time(), time.perf_counter()
            out[name] = fn()
            wall[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k]), out[k]) for k in cases}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--days", type=int, default=2)
    ap.add_argument("--rate", type=int, default=1_000_000, help="trades a day")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()

    from liqcore.dataset import load_dataset, write_dataset
    from liqcore.dataset.checked import footer, read_marks, verify_groups

    print(f"load average at start: {loadavg()}")
    with tempfile.TemporaryDirectory(prefix="bench-checked-") as tmp:
        ds = Path(tmp) / "ds"
        ev, reg, tids = market(a.days, a.rate)
        write_dataset(ev, ds, reg, trade_ids=tids, checked=True)
        files = sorted(str(f) for f in ds.glob("venue=*/symbol=*/date=*/*.parquet"))
        size = sum(Path(f).stat().st_size for f in files)
        print(f"dataset: {a.days} day(s) x {a.rate:,} trades/day, {len(ev):,} rows, {len(files)} files, "
              f"{size / 1e6:.1f} MB on disk")
        load_dataset(ds)  # (imports, kernels compiled, files in the page cache)
        load_dataset(ds, recheck=True)
        lo = T0 + DAY // 2
        w = dict(start_ns=lo, end_ns=lo + 3_600_000_000_000)

        def verify_all():
            marks = read_marks(ds)
            for f in files:
                ft = footer(f)
                assert verify_groups(f, ft, marks[str(Path(f).relative_to(ds))], range(len(ft.spans)))

        r = measure({"verify": (verify_all, False, None),
                     "fast": (lambda: load_dataset(ds), False, None),
                     "fast, verified before": (lambda: load_dataset(ds), True, verify_all),
                     "checking": (lambda: load_dataset(ds, recheck=True), False, None),
                     "window fast": (lambda: load_dataset(ds, **w), False, None),
                     "window fast, verified before": (lambda: load_dataset(ds, **w), True, verify_all),
                     "window checking": (lambda: load_dataset(ds, recheck=True, **w), False, None)}, a.runs)
        assert r["fast"][2].files[str(ds)]["checked"] is True and r["checking"][2].files[str(ds)]["checked"] is False
        assert np.array_equal(r["fast"][2].events, r["checking"][2].events)
        assert np.array_equal(r["window fast"][2].events, r["window checking"][2].events)
        for k, (wl, c, _res) in r.items():
            n = "" if k == "verify" else f", {len(_res.events):,} events"
            print(f"{k:>28}: {wl:7.3f} s wall, {c:7.3f} s CPU{n}")
        dig = r["verify"]
        print(f"verify: {size / 1e6:.1f} MB at {size / 1e6 / dig[0]:,.0f} MB/s wall; = {dig[0] / r['checking'][0] * 100:.1f} % "
              f"(wall), {dig[1] / r['checking'][1] * 100:.1f} % (CPU) of the whole-span checking read it saves")
        print(f"whole span: fast / checking = {r['fast'][0] / r['checking'][0]:.2f}x wall, "
              f"{r['fast'][1] / r['checking'][1]:.2f}x CPU (verification included)")
        print(f"one hour: fast / checking = {r['window fast'][0] / r['window checking'][0]:.2f}x wall, "
              f"{r['window fast'][1] / r['window checking'][1]:.2f}x CPU (footer and decoded groups verified); "
              f"verified before {r['window fast, verified before'][0] / r['window checking'][0]:.2f}x wall")
        print(f"medians of {a.runs} runs; load average at end: {loadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
