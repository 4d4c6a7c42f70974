"""Execution-model benchmarks, one run: warm kernel throughput for the guide's strategy (cascade-mm,
``run_sim``) and for signals using every entry and exit type (``run_exec``), each against its pysrc
twin on the same market (baseline), the cold start from the Numba cache, and StrategyCore
per-event cost.

    python benches/bench_sim.py [--days 30] [--repeat 7]

The all-exit-types signal set: the detector's cascades as cascade-mm signals, plus one signal per
symbol every 10 minutes (alternating direction), half market / half limit entries, with
take-profit, stop-loss, a trailing stop, a stop price, a max hold and a signal exit, random
confidences and size multipliers; portfolio: max-positions 3 with replace, daily-trades 50,
leverage 1, slippage 1 bp.

Market: the default synthetic market (30 days x 5 symbols, seed 7; cached in $LIQCORE_CACHE_DIR or
the user cache directory, see `liqcore cache`), detection run once with the guide's parameters.  Prints medians and ratios.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def kernel_once(sim, ev, rec, par, n_sym, end_ns):
    st = sim.new_state(n_sym)
    port = sim.new_port(1.0, 0.01, 0.02, 4, 0.25)
    ledger = np.zeros(len(rec) + 1, dtype=sim.LEDGER_DTYPE)
    counts = np.zeros((n_sym, sim.N_COUNTS), dtype=np.int64)
    cols = [np.ascontiguousarray(rec[k], dtype=np.int64)
            for k in ("confirm_recv_ns", "event_index", "symbol_id", "dominant", "cascade_id")]
    c = time.thread_time()
    t = time.perf_counter()
    n = sim.run_sim(ev, *cols, st, port, par, ledger, counts, end_ns)
    wall = time.perf_counter() - t
    kernel_once.cpu = time.thread_time() - c
    return wall, n, int(port[0]["n_trades"])


def all_exit_signals(ev, rec, n_sym, every_ns=600 * 10**9, seed=1):
    """Signals of every kind on the market (see the module docstring)."""
    from liqcore.strategies import ENTRY_LIMIT, ENTRY_MARKET, NEVER, sort_signals
    from liqcore.strategies.cascade_mm import records_to_signals

    rng = np.random.default_rng(seed)
    base = records_to_signals(rec)
    t0, t1 = int(ev["ts_recv"][0]), int(ev["ts_recv"][-1])
    grid = np.arange(t0 + every_ns, t1, every_ns, dtype=np.int64)
    n = len(grid) * n_sym
    from liqcore.strategies import empty_signals

    sig = empty_signals(n)
    sig["ts_ns"] = np.repeat(grid, n_sym)
    sig["symbol_id"] = np.tile(np.arange(n_sym), len(grid))
    sig["ev_idx"] = np.searchsorted(ev["ts_recv"], sig["ts_ns"], side="right") - 1
    sig["direction"] = np.where(np.arange(n) % 2 == 0, 1, -1)
    sig["entry"] = np.where(rng.random(n) < 0.5, ENTRY_MARKET, ENTRY_LIMIT)
    sig["confidence"] = rng.random(n)
    sig["size_mult"] = rng.choice([0.5, 1.0, 1.5], size=n)
    sig["take_profit"] = 0.004
    sig["stop_loss"] = 0.004
    sig["trail"] = 0.002
    # a stop price 0.3 % beyond the last print of the symbol at the decision
    trade = ev["kind"] == 2
    px = np.full(n, np.nan)
    for j in range(n_sym):
        m = trade & (ev["symbol_id"] == j)
        tt, pp = ev["ts_recv"][m], ev["price"][m]
        k = np.flatnonzero(sig["symbol_id"] == j)
        pos = np.searchsorted(tt, sig["ts_ns"][k], side="right") - 1
        ok = pos >= 0
        px[k[ok]] = pp[pos[ok]]
    sig["stop_price"] = np.where(np.isfinite(px), px * (1 - 0.003 * sig["direction"]), np.nan)
    sig["max_hold_ns"] = 20 * 60 * 10**9
    sig["exit_ns"] = np.where(rng.random(n) < 0.5, sig["ts_ns"] + 5 * 60 * 10**9, NEVER)
    sig["exit_code"] = 100
    sig["tag"] = np.arange(n)
    return sort_signals(np.concatenate([base, sig]))


def exec_once(sim, ev, sig, par, n_sym, end_ns):
    st = sim.new_state(n_sym)
    port = sim.new_port(1.0, 0.01, 0.02, 4, 0.25, max_positions=3, replace=True, leverage=1.0)
    ledger = np.zeros(len(sig) + 1, dtype=sim.LEDGER_DTYPE)
    counts = np.zeros((n_sym, sim.N_COUNTS), dtype=np.int64)
    c = time.thread_time()
    t = time.perf_counter()
    n = sim.run_exec(ev, sig, st, port, par, ledger, counts, end_ns)
    wall = time.perf_counter() - t
    exec_once.cpu = time.thread_time() - c
    return wall, n, int(port[0]["n_trades"]), counts


COLD = r"""
import time
t0 = time.perf_counter()
c0 = time.process_time()
import numpy as np
from liqcore._jit import sim
from liqcore.types import make_events, Kind
ev = make_events(ts_event=np.arange(1, 11) * 10**9, price=100.0, kind=Kind.TRADE)
z = np.zeros(0, np.int64)
par = np.zeros(1, sim.PARAM_DTYPE)
sim.run_sim(ev, z, z, z, z, z, sim.new_state(1), sim.new_port(1.0, .01, .02, 4, .25), par,
            np.zeros(1, sim.LEDGER_DTYPE), np.zeros((1, sim.N_COUNTS), np.int64), 10**10)
print(time.perf_counter() - t0, time.process_time() - c0)
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=float, default=30)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--twin-days", type=float, default=1.0, help="days of the market replayed by the pysrc twin")
    args = ap.parse_args()

    from liqcore.backtest.run import _confirmed, detect, prepare_events, symbol_params
    from liqcore.synthetic.market import synthetic_market
    from liqcore.config import Params
    from liqcore._jit import sim
    from pysrc import execmodel as twin

    params = Params()
    m = synthetic_market(days=args.days)
    ev = prepare_events(m.events)
    rec = _confirmed(detect(ev, params)[0])
    n_sym = len(m.registry)
    par = symbol_params(params, m.registry, n_sym)
    end_ns = int(ev["ts_recv"][-1])
    n_prints = int(np.count_nonzero(ev["kind"] == 2))
    print(f"market: {args.days:g} days x {n_sym} symbols, {len(ev):,} events, {n_prints:,} trade prints, "
          f"{len(rec)} confirmed cascades")

    t_first, _, _ = kernel_once(sim, ev, rec, par, n_sym, end_ns)  # dispatch + cache load
    times, cpus = [], []
    for _ in range(args.repeat):
        dt, n, trades = kernel_once(sim, ev, rec, par, n_sym, end_ns)
        times.append(dt)
        cpus.append(kernel_once.cpu)
    med = statistics.median(times)
    cpu_med = statistics.median(cpus)
    k_rate = n_prints / med
    print(f"kernel  : first call {t_first:.3f}s; warm wall median {med * 1e3:.1f} ms over {args.repeat} runs "
          f"= {k_rate / 1e6:.1f} M prints/s ({len(ev) / med / 1e6:.1f} M events/s), best {n_prints / min(times) / 1e6:.1f} "
          f"M prints/s; per CPU-second (thread time, median) {n_prints / cpu_med / 1e6:.1f} M prints/s; {trades} trades")

    # the pysrc twin on the first --twin-days of the same market (same records)
    cut = int(ev["ts_recv"][0] + args.twin_days * 86_400e9)
    sub = ev[ev["ts_recv"] < cut]
    rsub = rec[rec["confirm_recv_ns"] < cut]
    rows = [{k: par[i][k].item() for k in par.dtype.names} for i in range(n_sym)]
    tw = []
    for _ in range(3):
        t = time.perf_counter()
        twin.simulate_records(sub, rsub, rows, 1.0, 0.01, 0.02, 4, 0.25, end_ns=int(sub["ts_recv"][-1]))
        tw.append(time.perf_counter() - t)
    tmed = statistics.median(tw)
    sub_prints = int(np.count_nonzero(sub["kind"] == 2))
    t_rate = sub_prints / tmed
    kt, _, _ = kernel_once(sim, sub, rsub, par, n_sym, int(sub["ts_recv"][-1]))
    kt = statistics.median([kernel_once(sim, sub, rsub, par, n_sym, int(sub["ts_recv"][-1]))[0] for _ in range(5)])
    print(f"twin    : {args.twin_days:g} day(s), {sub_prints:,} prints, median {tmed:.2f}s = "
          f"{t_rate / 1e6:.3f} M prints/s; kernel on the same slice {kt * 1e3:.2f} ms "
          f"-> kernel/twin speed ratio {tmed / kt:,.0f}x")

    # every entry and exit type: run_exec on dense signals, and the pysrc execution-model twin
    from pysrc import execmodel as etwin

    xpar = par.copy()
    xpar["slippage"] = 1e-4
    xpar["daily_trades"] = 50
    xsig = all_exit_signals(ev, rec, n_sym)
    exec_once(sim, ev, xsig, xpar, n_sym, end_ns)
    xt, xcpu = [], []
    for _ in range(args.repeat):
        dt, n, xtrades, xc = exec_once(sim, ev, xsig, xpar, n_sym, end_ns)
        xt.append(dt)
        xcpu.append(exec_once.cpu)
    xmed = statistics.median(xt)
    x_cpu_rate = n_prints / statistics.median(xcpu)
    x_rate = n_prints / xmed
    tot = dict(zip(sim.COUNT_NAMES, xc.sum(axis=0).tolist()))
    reasons = {k: tot[k] for k in ("take_profit", "stop_loss", "trail", "stop_price", "max_hold", "signal_exit",
                                   "replaced", "timeout")}
    print(f"exec    : all exit types, {len(xsig):,} signals: warm wall median {xmed * 1e3:.1f} ms = "
          f"{x_rate / 1e6:.1f} M prints/s, best {n_prints / min(xt) / 1e6:.1f} M prints/s, per CPU-second "
          f"{x_cpu_rate / 1e6:.1f} M prints/s; {xtrades:,} trades; "
          f"exits {reasons}; max_positions {tot['max_positions']}, leverage {tot['leverage']}, "
          f"daily_trades {tot['daily_trades']}")
    xs = xsig[xsig["ts_ns"] < cut]
    xrows = [{k: xpar[i][k].item() for k in xpar.dtype.names} for i in range(n_sym)]
    xtw = []
    for _ in range(3):
        t = time.perf_counter()
        etwin.simulate(sub, xs, xrows, 1.0, 0.01, 0.02, 4, 0.25, max_positions=3, replace=True, leverage=1.0,
                       end_ns=int(sub["ts_recv"][-1]))
        xtw.append(time.perf_counter() - t)
    xtmed = statistics.median(xtw)
    xkt = statistics.median([exec_once(sim, sub, xs, xpar, n_sym, int(sub["ts_recv"][-1]))[0] for _ in range(5)])
    print(f"exec twin: {args.twin_days:g} day(s), {len(xs):,} signals, median {xtmed:.2f}s = "
          f"{sub_prints / xtmed / 1e6:.3f} M prints/s; kernel on the same slice {xkt * 1e3:.2f} ms "
          f"-> kernel/twin speed ratio {xtmed / xkt:,.0f}x")

    # cold start: a fresh interpreter loading the kernels from the Numba cache
    colds, cold_cpu = [], []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True, cwd=ROOT, check=True)
        wall, cpu = map(float, out.stdout.strip().splitlines()[-1].split())
        colds.append(wall)
        cold_cpu.append(cpu)
    print(f"cold    : numpy+numba import + first run_sim from the Numba cache: wall median {statistics.median(colds):.3f}s "
          f"(runs: {', '.join(f'{c:.3f}' for c in colds)}), CPU median {statistics.median(cold_cpu):.3f}s")

    # StrategyCore per-event cost (paper trading path)
    from liqcore.backtest.core import StrategyCore

    core = StrategyCore(params, [m.registry.symbol(i) for i in range(n_sym)])
    tr = ev[ev["kind"] == 2][:200_000]
    sids, tss, pxs = tr["symbol_id"].tolist(), tr["ts_recv"].tolist(), tr["price"].tolist()
    core.on_trade(sids[0], tss[0], pxs[0])
    t = time.perf_counter()
    for a, b, c in zip(sids, tss, pxs):
        core.on_trade(a, b, c)
    per = (time.perf_counter() - t) / len(sids)
    print(f"core    : StrategyCore.on_trade {per * 1e6:.2f} us per print (Python call + Numba dispatch)")

    bars = [("kernel >= 50 M prints/s warm (wall median)", k_rate >= 50e6),
            ("kernel >= 50 M prints/s per CPU-second", n_prints / cpu_med >= 50e6),
            ("cold start from cache <= 1 s (wall median)", statistics.median(colds) <= 1.0),
            ("cold start from cache <= 1 s (CPU median)", statistics.median(cold_cpu) <= 1.0),
            ("kernel >= 100x the twin", tmed / kt >= 100),
            ("execution model, all exit types >= 100 M prints/s warm (wall median)", x_rate >= 100e6),
            ("execution model, all exit types >= 100 M prints/s per CPU-second", x_cpu_rate >= 100e6),
            ("execution model >= 100x its twin", xtmed / xkt >= 100)]
    for name, ok in bars:
        print(f"bar: {name}: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
