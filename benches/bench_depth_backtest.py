"""A day at a busy perpetual's rate with L2 depth: ``liqcore backtest DS --fill queue`` on the dataset holding its
depth (the queue at depth decides every maker fill) against the same dataset without the depth (the top-of-book
queue rule), each command in its own process, alternated; wall, user + sys CPU and peak RSS of each, the trades
of each; then the depth dataset once with ``--read all`` (the full replay), whose trades the default read's must equal.  The issue's bar: the depth-aware backtest <= 1.5x the top-of-book one, in <= 1 GiB.

The day is :mod:`bench_density`'s (3 M trades, 6 M top-of-book updates, 1,500 liquidations in 30 bursts, one
symbol), written straight into two datasets (no CSV), and ``--depth`` DEPTH rows (30 M: a busy perpetual's
day of ``incremental_book_L2``) made from the same top of book: a snapshot run of 200 levels a side at the
start, then updates at the best (the quote's size) and up to 50 ticks behind it on either side, a fifth of
the levels behind removed (size 0), sizes in lots of 0.001, each received with a top-of-book update; written with
``liqcore.dataset.write_depth``.

    python benches/bench_depth_backtest.py [--depth 30000000] [--rate 3000000] [--quotes 6000000]
                                           [--repeat 3] [--dir DIR] [--reuse]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benches"))

from bench_density import _env, _load, day_events, day_tables, measured  # noqa: E402

SYMBOL = "BTCUSDT"


def depth_rows(quotes, n: int, registry, seed: int = 5):
    """``n`` DEPTH rows (EVENT_DTYPE, in receive order) made from the day's top of book (see the module)."""
    import numpy as np

    from liqcore.types import EVENT_DTYPE, Flag, Kind, Side, Venue

    rng = np.random.default_rng(seed)
    sid = registry.id(Venue.BINANCE, SYMBOL)
    te_q = quotes.column("timestamp").to_numpy().astype(np.int64) * 1000
    tr_q = quotes.column("local_timestamp").to_numpy().astype(np.int64) * 1000
    bid = quotes.column("bid_price").to_numpy()
    ask = quotes.column("ask_price").to_numpy()
    bq = quotes.column("bid_amount").to_numpy()
    aq = quotes.column("ask_amount").to_numpy()
    tick = float(np.round(np.min(ask - bid), 10)) or 0.1
    levels = 200
    snap = np.zeros(2 * levels, EVENT_DTYPE)
    k = np.arange(levels)
    snap["price"] = np.concatenate([bid[0] - k * tick, ask[0] + k * tick])
    snap["qty"] = np.round(rng.lognormal(0.5, 1.0, 2 * levels), 3) + 0.001
    snap["side"] = np.repeat([int(Side.BUY), int(Side.SELL)], levels)
    snap["flags"] = int(Flag.SNAPSHOT)
    snap["ts_event"], snap["ts_recv"] = te_q[0] - 1, tr_q[0] - 1
    m = n - len(snap)
    q = np.sort(rng.integers(0, len(bid), m))  # the top-of-book update each row is received with
    is_bid = rng.random(m) < 0.5
    behind = np.minimum(rng.geometric(0.08, m) - 1, 50)  # ticks behind the best: most near it
    upd = np.zeros(m, EVENT_DTYPE)
    upd["price"] = np.where(is_bid, bid[q] - behind * tick, ask[q] + behind * tick)
    size = np.round(rng.lognormal(0.5, 1.0, m), 3) + 0.001
    size = np.where(behind == 0, np.where(is_bid, bq[q], aq[q]), np.where(rng.random(m) < 0.2, 0.0, size))
    upd["qty"] = size
    upd["side"] = np.where(is_bid, int(Side.BUY), int(Side.SELL))
    upd["ts_event"], upd["ts_recv"] = te_q[q], tr_q[q]
    out = np.concatenate([snap, upd])
    out["price"] = np.round(out["price"], 1)
    out["qty"] = np.round(out["qty"], 3)  # (sizes in lots of 0.001, as a venue sends them)
    out["kind"], out["symbol_id"], out["venue"] = int(Kind.DEPTH), sid, int(Venue.BINANCE)
    return out


def build(base: Path, depth: int, rate: int, quotes: int, seed: int) -> dict:
    from liqcore.dataset import write_dataset, write_depth
    from liqcore.dataset.write import dataset_lock
    from liqcore.types import SymbolRegistry

    t0 = time.perf_counter()
    tabs = day_tables(SYMBOL, 0, rate, 1500, 30, seed, quotes)
    reg = SymbolRegistry()
    ev, tid = day_events(tabs, reg)
    for name in ("tob", "depth"):
        write_dataset(ev, str(base / name), reg, trade_ids=tid, checked=True)
    n = {"events": len(ev)}
    del ev, tid
    rows = depth_rows(tabs["quotes"], depth, reg)
    with dataset_lock(str(base / "depth")):
        write_depth(str(base / "depth"), rows, reg)
    n["depth_rows"] = len(rows)
    n["build_s"] = time.perf_counter() - t0
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--depth", type=int, default=30_000_000, help="DEPTH rows of the day (default 30,000,000)")
    ap.add_argument("--rate", type=int, default=3_000_000, help="trades of the day (default 3,000,000)")
    ap.add_argument("--quotes", type=int, default=6_000_000, help="top-of-book updates (default 6,000,000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3, help="alternated pairs (default 3)")
    ap.add_argument("--dir", help="where the two datasets go (default: a temporary folder, removed)")
    ap.add_argument("--reuse", action="store_true", help="with --dir: use the datasets already there")
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    base = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="bench-depth-bt-"))
    try:
        if a.build_only:  # (a child: the bench's own process stays small, so each measured child's peak
            n = build(base, a.depth, a.rate, a.quotes, a.seed)  # RSS, which counts what it forked from, is its own)
            print(f"built: {n['events']:,} events (trades, liquidations, a row per quote side) and "
                  f"{n['depth_rows']:,} DEPTH rows in {n['build_s']:.1f} s", flush=True)
            return 0
        if not (a.reuse and (base / "depth").is_dir() and (base / "tob").is_dir()):
            shutil.rmtree(base / "tob", ignore_errors=True)
            shutil.rmtree(base / "depth", ignore_errors=True)
            base.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, __file__, "--build-only", "--dir", str(base), "--depth", str(a.depth),
                            "--rate", str(a.rate), "--quotes", str(a.quotes), "--seed", str(a.seed)], check=True)
        print(f"load average at start: {_load()}", flush=True)
        env = _env()
        runs: dict = {"tob": [], "depth": []}
        for i in range(a.repeat):
            for name in ("tob", "depth"):
                m = measured([sys.executable, "-m", "liqcore", "backtest", str(base / name), "--fill", "queue",
                              "--json"], env)
                res = json.loads(m["_stdout"])
                m["trades"] = len(res.get("trades", []))
                rules: dict = {}
                for t in res.get("trades", []):
                    rules[t.get("fill_rule", "?")] = rules.get(t.get("fill_rule", "?"), 0) + 1
                m["rules"] = rules
                runs[name].append(m)
                print(f"run {i + 1} {'with depth' if name == 'depth' else 'top of book'}: {m['cpu_s']:.1f} s CPU "
                      f"(user + sys), {m['wall_s']:.1f} s wall, peak {m['peak_gib']:.2f} GiB, {m['trades']} trades "
                      f"{rules}; load {_load()}", flush=True)
        # the default read against the full replay (``--read all``: every event and depth row, in chunks), once
        full = measured([sys.executable, "-m", "liqcore", "backtest", str(base / "depth"), "--fill", "queue",
                         "--read", "all", "--json"], env)
        same = json.loads(full["_stdout"]).get("trades") == json.loads(runs["depth"][-1]["_stdout"]).get("trades")
        print(f"with depth, --read all (the full replay): {full['cpu_s']:.1f} s CPU, peak {full['peak_gib']:.2f} GiB; "
              f"the default read's trades {'equal' if same else 'DIFFER FROM'} the full replay's, field for field",
              flush=True)
        cpu = statistics.median(d["cpu_s"] / t["cpu_s"] for d, t in zip(runs["depth"], runs["tob"]))
        wall = statistics.median(d["wall_s"] / t["wall_s"] for d, t in zip(runs["depth"], runs["tob"]))
        peak = max(m["peak_gib"] for m in runs["depth"])
        med = {k: statistics.median(m["cpu_s"] for m in v) for k, v in runs.items()}
        print(f"backtest DS --fill queue, with depth / top of book, median of {a.repeat} alternated pairs: CPU "
              f"{cpu:.2f}x ({med['depth']:.1f} s vs {med['tob']:.1f} s; bar <= 1.5x: "
              f"{'met' if cpu <= 1.5 else 'NOT met'}), wall {wall:.2f}x; peak with depth {peak:.2f} GiB (bar <= 1 GiB: "
              f"{'met' if peak <= 1.0 else 'NOT met'}), top of book "
              f"{max(m['peak_gib'] for m in runs['tob']):.2f} GiB; load at end {_load()}")
    finally:
        if not a.dir and not a.build_only:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
