"""Tick simulator benchmarks, one run: warm kernel throughput, the pysrc twin on the same market
(baseline), the cold start from the Numba cache, and StrategyCore per-event cost.

    python benches/bench_sim.py [--days 30] [--repeat 7]

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
    from liqcore.backtest.synthetic import synthetic_market
    from liqcore.config import Params
    from liqcore._jit import sim
    from pysrc import simulator as twin

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
        twin.simulate(sub, rsub, rows, 1.0, 0.01, 0.02, 4, 0.25, end_ns=int(sub["ts_recv"][-1]))
        tw.append(time.perf_counter() - t)
    tmed = statistics.median(tw)
    sub_prints = int(np.count_nonzero(sub["kind"] == 2))
    t_rate = sub_prints / tmed
    kt, _, _ = kernel_once(sim, sub, rsub, par, n_sym, int(sub["ts_recv"][-1]))
    kt = statistics.median([kernel_once(sim, sub, rsub, par, n_sym, int(sub["ts_recv"][-1]))[0] for _ in range(5)])
    print(f"twin    : {args.twin_days:g} day(s), {sub_prints:,} prints, median {tmed:.2f}s = "
          f"{t_rate / 1e6:.3f} M prints/s; kernel on the same slice {kt * 1e3:.2f} ms "
          f"-> kernel/twin speed ratio {tmed / kt:,.0f}x")

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
            ("kernel >= 100x the twin", tmed / kt >= 100)]
    for name, ok in bars:
        print(f"bar: {name}: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
