"""The execution model's cost with L2 depth: the queue rule replaying a day at a busy perpetual's rate
(3 M trades, 6 M top-of-book rows and 30 M depth updates by default; ``--scale`` shrinks it) with its
DEPTH rows (the queue at depth) against the same stream without them (the top-of-book queue rule), in one
warm process, alternated, median of ``--repeat`` pairs of CPU time; and the cost per depth row.

    python benches/bench_depth_sim.py [--scale 0.1] [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liqcore._jit import sim  # noqa: E402
from liqcore.strategies import empty_signals, sort_signals  # noqa: E402
from liqcore.types import EVENT_DTYPE, Kind, Side  # noqa: E402

S = 1_000_000_000
TICK = 0.1


def market(n_trades: int, n_quotes: int, n_depth: int, seed: int = 1):
    """One symbol over a day: a mid (in ticks) walking by the event, trades at the best, top-of-book rows
    of both sides, depth updates at levels 0-25 ticks from the best on either side (a fifth remove their
    level), all in receive order."""
    rng = np.random.default_rng(seed)
    n = n_trades + n_quotes + n_depth
    kind = np.empty(n, np.int8)
    kind[:n_trades] = Kind.TRADE
    kind[n_trades:n_trades + n_quotes] = Kind.QUOTE
    kind[n_trades + n_quotes:] = Kind.DEPTH
    kind = kind[rng.permutation(n)]
    t = np.sort(rng.integers(0, 86_400 * S, n)) + 1_722_470_400 * S
    mid = 1_000_000 + np.cumsum(rng.choice([-1, 0, 0, 0, 1], n)).astype(np.int64)  # 100,000.0 in ticks of 0.1
    ev = np.zeros(n, EVENT_DTYPE)
    ev["ts_event"] = ev["ts_recv"] = t
    ev["kind"] = kind
    ev["venue"] = 2
    buy = rng.random(n) < 0.5
    ev["side"] = np.where(buy, Side.BUY, Side.SELL)
    off = rng.integers(0, 26, n)
    lvl = np.where(buy, mid - off, mid + 1 + off)
    best = np.where(buy, mid, mid + 1)
    px = np.where(kind == Kind.DEPTH, lvl, best)
    ev["price"] = px * TICK
    ev["qty"] = np.where((kind == Kind.DEPTH) & (rng.random(n) < 0.2), 0.0, rng.choice([0.5, 1.0, 3.0, 12.0], n))
    ev["side"][kind == Kind.TRADE] = np.where(buy[kind == Kind.TRADE], Side.SELL, Side.BUY)  # sellers hit the bid
    return ev


def signals(ev, every_s: int = 300, seed: int = 2):
    rng = np.random.default_rng(seed)
    trades = np.flatnonzero(ev["kind"] == Kind.TRADE)
    at = np.searchsorted(ev["ts_recv"][trades], np.arange(ev["ts_recv"][0], ev["ts_recv"][-1], every_s * S))
    idx = trades[np.minimum(at, len(trades) - 1)]
    sig = empty_signals(len(idx))
    sig["ts_ns"] = ev["ts_recv"][idx]
    sig["ev_idx"] = idx
    sig["direction"] = rng.choice([-1, 1], len(idx))
    sig["offset"] = rng.integers(0, 21, len(idx)) * 1e-6  # 0-20 ticks of 0.1 at 100,000
    sig["tag"] = np.arange(len(idx))
    return sort_signals(sig)


def run(ev, sig, depth: bool):
    from simdata import param_array, param_rows  # noqa: F401  (tests' helpers: the same parameter rows)

    rows = param_rows(1, queue=1, grid=1.0 / TICK, entry_timeout_ns=120 * S, hold_timeout_ns=600 * S,
                      max_ref_age_ns=60 * S, cooldown_ns=0)
    st = sim.new_state(1)
    port = sim.new_port(1.0, 0.0, 0.0, 1, 0.1)
    ledger = np.zeros(len(sig) + 1, sim.LEDGER_DTYPE)
    counts = np.zeros((1, sim.N_COUNTS), np.int64)
    book = sim.new_depth(1) if depth else ()
    c0 = os.times()
    sim.run_exec(ev, sig, st, port, param_array(rows), ledger, counts, int(ev["ts_recv"][-1]), *book)
    c1 = os.times()
    return (c1.user - c0.user) + (c1.system - c0.system), int(port[0]["n_trades"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="share of the day's rates (default 1: 3 M + 6 M + 30 M)")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    n_t, n_q, n_d = (int(x * a.scale) for x in (3_000_000, 6_000_000, 30_000_000))
    t0 = time.perf_counter()
    ev = market(n_t, n_q, n_d)
    tob = np.ascontiguousarray(ev[ev["kind"] != Kind.DEPTH])
    sig = signals(ev)
    sig_tob = sig.copy()
    sig_tob["ev_idx"] = np.searchsorted(np.flatnonzero(ev["kind"] != Kind.DEPTH), sig["ev_idx"])
    print(f"bench_depth_sim: {n_t:,} trades + {n_q:,} top-of-book rows + {n_d:,} depth updates, one symbol, "
          f"{len(sig):,} orders 0-20 ticks behind (made in {time.perf_counter() - t0:.1f} s); load "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    run(ev[:1000], sig[:0], True)  # compiled (or loaded from the cache) before the clock
    run(tob[:1000], sig[:0], False)
    d_cpu, t_cpu = [], []
    for _ in range(a.repeat):
        c, nd = run(ev, sig, True)
        d_cpu.append(c)
        c, nt = run(tob, sig_tob, False)
        t_cpu.append(c)
    d, t = statistics.median(d_cpu), statistics.median(t_cpu)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"queue at depth: {d:.2f} s CPU (runs {', '.join(f'{x:.2f}' for x in d_cpu)}), {nd} trades; "
          f"top-of-book queue on the same stream without its depth rows: {t:.2f} s CPU (runs "
          f"{', '.join(f'{x:.2f}' for x in t_cpu)}), {nt} trades; ratio {d / t:.2f}x (median of {a.repeat} "
          f"alternated pairs); {(d - t) / max(n_d, 1) * 1e9:.0f} ns CPU per depth row over the top-of-book run; "
          f"process peak {peak:.2f} GiB (the events in memory: {ev.nbytes / 2**30:.2f} GiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
