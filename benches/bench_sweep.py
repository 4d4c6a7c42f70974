"""Sweep and walk-forward benchmarks, one run with its baseline:

* baseline: the one-detection thread sweep (``liqcore.backtest.run.sweep``, 2 threads) on the whole
  30-day x 5-symbol market, timed on --baseline-configs configurations and scaled to 1000;
* 1000 execution configurations x 30 days x 5 symbols (5000 cells, one partition per symbol) in one
  process, on the local process pool (2 workers; speed-up against the one process), on the pool at
  16 workers (oversubscribed on a small machine: it counts partition loads honestly), then on a local
  dask cluster of 2 worker processes and the pool again right after (the dask/pool ratio);
* walk-forward: 12 rolling folds x 100 cells (detector quantile included) x 30 days x 5 symbols;
* ``--scale``: a sweep over 365 days x 20 symbols of synthetic data (generated per symbol by the
  workers, not cached; by default in chunks of 7 days, ``--chunk-days 0``: whole), peak memory of
  the whole process tree sampled every 0.2 s.

    python benches/bench_sweep.py [--workers 2] [--skip-dask] [--skip-one] [--loads-workers 16]
    python benches/bench_sweep.py --scale [--workers 2] [--configs 10]

Market: the default synthetic market (seed 7), one symbol per partition, cached per symbol in
$LIQCORE_CACHE_DIR or the user cache directory.  Prints seconds and ratios; note `cat /proc/loadavg`.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SYMS5 = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT")


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split(" ")[:3].__str__()
    except OSError:
        return "?"


class PeakRSS:
    """Peak resident memory of this process and its children (sum), sampled in a thread; ``include_self=False``:
    of its children alone (a child command and its workers)."""

    def __init__(self, every: float = 0.2, include_self: bool = True):
        import psutil

        self.proc = psutil.Process()
        self.every = every
        self.include_self = include_self
        self.peak = 0
        self._stop = threading.Event()

    def _sample(self):
        import psutil

        while not self._stop.is_set():
            total = 0
            try:
                procs = [self.proc] * self.include_self + self.proc.children(recursive=True)
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def __enter__(self):
        self._t = threading.Thread(target=self._sample, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def sched(st: dict) -> str:
    """A run's scheduling numbers, short."""
    return (f"{st['partitions']} partitions, {st['partition_loads']} loads ({st['load_s']:.2f} s), "
            f"{st.get('ran', st.get('tasks'))} tasks, utilisation {st['utilisation'] * 100:.0f}%, "
            f"peak RSS {st['peak_rss_worker_gib']:.2f} GiB per worker (largest), "
            f"{st['peak_rss_total_gib']:.2f} GiB summed")


def grid_1000():
    from liqcore.sweep import grid as SG

    vals = [f"{0.05 * i:.2f}%" for i in range(1, 11)]
    return SG.validate_grid({"offset": vals, "take-profit": vals,
                            "stop-loss": [f"{0.1 * i:.1f}%" for i in range(1, 11)]})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--baseline-configs", type=int, default=20)
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--skip-one", action="store_true", help="no 1-worker runs (no speed-up figures)")
    ap.add_argument("--loads-workers", type=lambda v: [int(x) for x in v.split(",") if x], default=[16],
                    help="also run the 1000 x 5 sweep at these worker counts, counting loads (default 16)")
    ap.add_argument("--scale", action="store_true", help="the 365 days x 20 symbols memory run instead")
    ap.add_argument("--configs", type=int, default=10, help="--scale: execution configurations")
    ap.add_argument("--days", type=float, default=365)
    ap.add_argument("--symbols", type=int, default=20)
    ap.add_argument("--chunk-days", type=float, default=7.0,
                    help="--scale: read and replay each partition in chunks of this many days (0: whole, "
                         "the code before chunking)")
    args = ap.parse_args()

    from liqcore.sweep import grid as SG, runners as SR, store as SS, cells as S
    from liqcore.config import Params

    print(f"loadavg at start: {loadavg()}")
    if args.scale:
        run_scale(args)
        return
    src = S.Source("synthetic", days=30, seed=7)
    parts = [S.Partition(src, (s,)) for s in SYMS5]
    for p in parts:  # fill the market cache outside the timings
        S.load_partition(p)

    # ---- baseline: the one-detection thread sweep over the whole market
    from liqcore.backtest.run import sweep as old_sweep
    from liqcore.synthetic.market import synthetic_market

    m = synthetic_market(days=30, seed=7)
    g = grid_1000()
    sub = {"offset": g["offset"][:2], "take-profit": g["take-profit"][:2],
           "stop-loss": g["stop-loss"][: max(1, args.baseline_configs // 4)]}
    n_base = len(SG.expand_cells(sub))
    t = time.perf_counter()
    old_sweep(m, sub, Params(), progress=False, workers=2)
    base = time.perf_counter() - t
    print(f"baseline: thread sweep (one detection, 2 threads), {n_base} configurations: {base:.2f} s "
          f"-> {base / n_base * 1000:.1f} s per 1000 configurations")
    del m

    cells = SG.expand_cells(g)
    assert len(cells) == 1000
    one = None
    if not args.skip_one:
        S._CACHE.clear()
        t = time.perf_counter()
        _t1, st1 = SS.run_cells(cells, parts, [S.Window()], Params(), [], runner=SR.LocalRunner(1))
        one = time.perf_counter() - t
        print(f"1 worker (in-process): 5000 cells: {one:.2f} s; {sched(st1)} [loadavg {loadavg()}]")
    S._CACHE.clear()
    t = time.perf_counter()
    table, stats = SS.run_cells(cells, parts, [S.Window()], Params(), [], runner=SR.LocalRunner(args.workers))
    pool = time.perf_counter() - t
    print(f"process pool ({args.workers} workers): 1000 configurations x 5 symbols = {len(table)} cells: "
          f"{pool:.2f} s ({len(table) / pool:.0f} cells/s); vs baseline {base / n_base * 1000 / pool:.1f}x"
          + (f"; speed-up vs 1 worker {one / pool:.2f}x (efficiency {one / pool / args.workers * 100:.0f}%)"
             if one else "") + f"; {sched(stats)} [loadavg {loadavg()}]")
    print(f"  bar: partition loads {stats['partition_loads']} <= partitions + workers = "
          f"{len(parts) + args.workers}: {'met' if stats['partition_loads'] <= len(parts) + args.workers else 'MISSED'}")
    for w in args.loads_workers:
        t = time.perf_counter()
        tw, stw = SS.run_cells(cells, parts, [S.Window()], Params(), [], runner=SR.LocalRunner(w))
        el = time.perf_counter() - t
        same = tw[list(S.METRICS)].equals(table[list(S.METRICS)])
        print(f"process pool ({w} workers, {os.cpu_count()} CPUs: oversubscribed when more): {el:.2f} s; "
              f"{sched(stw)}; identical table: {same}; bar: loads <= {len(parts) + w}: "
              f"{'met' if stw['partition_loads'] <= len(parts) + w else 'MISSED'} [loadavg {loadavg()}]")
    if not args.skip_dask:
        from distributed import LocalCluster

        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster:
            runner = SR.DaskRunner(cluster.scheduler_address)
            with runner:
                t = time.perf_counter()
                dt, dst = SS.run_cells(cells, parts, [S.Window()], Params(), [], runner=runner)
                dask_s = time.perf_counter() - t
            S._CACHE.clear()
            t = time.perf_counter()  # the pool again, right after: the ratio of two neighbouring runs
            SS.run_cells(cells, parts, [S.Window()], Params(), [], runner=SR.LocalRunner(args.workers))
            pool2 = time.perf_counter() - t
        same = dt[list(S.METRICS)].equals(table[list(S.METRICS)])
        print(f"dask local cluster ({args.workers} workers, warmed by its plugin before the timing): {dask_s:.2f} s "
              f"= {dask_s / pool:.2f}x the pool's first run, {dask_s / pool2:.2f}x the pool run right after "
              f"({pool2:.2f} s); identical table: {same}; {sched(dst)} [loadavg {loadavg()}]")

    # ---- walk-forward
    from liqcore.synthetic.market import DEFAULT_START_NS
    from liqcore.sweep.walkforward import walkforward

    wg = SG.validate_grid({"quantile": [0.9, 0.95], "offset": ["0.1%", "0.15%", "0.2%", "0.25%", "0.3%"],
                          "take-profit": ["0.1%", "0.15%", "0.2%", "0.3%", "0.5%"], "stop-loss": ["0.25%", "0.5%"]})
    det, _ = SG.split_grid(wg)
    wcells = SG.expand_cells(wg)
    assert len(wcells) == 100
    span = (DEFAULT_START_NS, DEFAULT_START_NS + 30 * 86_400_000_000_000)
    wf1 = None
    if not args.skip_one:
        S._CACHE.clear()
        t = time.perf_counter()
        walkforward(wcells, parts, span, 12, Params(), det, runner=SR.LocalRunner(1))
        wf1 = time.perf_counter() - t
    S._CACHE.clear()
    t = time.perf_counter()
    rep = walkforward(wcells, parts, span, 12, Params(), det, runner=SR.LocalRunner(args.workers))
    wf = time.perf_counter() - t
    print(f"walk-forward: 12 folds x 100 cells x 5 symbols x 30 days ({args.workers} workers): {wf:.2f} s"
          + (f" (1 worker: {wf1:.2f} s, speed-up {wf1 / wf:.2f}x)" if wf1 else "")
          + f"; PBO {rep['pbo']['pbo']:.3f}, DSR {rep['dsr']['dsr']}, OOS Sharpe "
          f"{rep['overall']['out_of_sample']['sharpe']}; train folds {sched(rep['stats'])}; test folds "
          f"{sched(rep['stats']['test_folds'])} [loadavg {loadavg()}]")


def run_scale(args) -> None:
    from liqcore.sweep import grid as SG, runners as SR, store as SS, cells as S
    from liqcore.config import Params

    base = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "BNBUSDT", "ADAUSDT", "AVAXUSDT", "LINKUSDT",
            "DOTUSDT", "LTCUSDT", "TRXUSDT", "NEARUSDT", "ATOMUSDT", "UNIUSDT", "APTUSDT", "ARBUSDT", "OPUSDT",
            "SUIUSDT", "FILUSDT"]
    syms = base[: args.symbols]
    src = S.Source("synthetic", days=float(args.days), seed=7, cache=False)
    parts = [S.Partition(src, (s,), chunk_days=args.chunk_days or None) for s in syms]
    g = SG.validate_grid({"offset": [f"{0.05 * i:.2f}%" for i in range(1, args.configs + 1)]})
    cells = SG.expand_cells(g)
    with PeakRSS() as mem:
        t = time.perf_counter()
        table, st = SS.run_cells(cells, parts, [S.Window()], Params(), [], runner=SR.LocalRunner(args.workers),
                                chunk=len(cells))
        el = time.perf_counter() - t
    bar = 0.5 * args.workers + 1.0
    how = f"chunks of {args.chunk_days:g} days" if args.chunk_days else "whole partitions"
    print(f"scale: {args.days:g} days x {len(syms)} symbols x {len(cells)} configurations = {len(table)} cells "
          f"({args.workers} workers, {how}): {el:.1f} s; peak RSS of the process tree {mem.peak / 2**30:.2f} GiB "
          f"(sampled every 0.2 s; bar <= 0.5 GiB x {args.workers} workers + 1 GiB = {bar:.1f} GiB: "
          f"{'met' if mem.peak / 2**30 <= bar else 'MISSED'}); {sched(st)}; "
          f"trades total {int(table['trades'].sum())}, table digest {digest(table)} [loadavg {loadavg()}]")


def digest(table) -> str:
    """A short hash of a result table in cell order (equal tables, equal digests)."""
    import hashlib

    return hashlib.sha1(table.sort_values("cell").to_csv(index=False).encode()).hexdigest()[:12]


if __name__ == "__main__":
    main()
