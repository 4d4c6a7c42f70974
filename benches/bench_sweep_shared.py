"""A sweep that shares its read against one backtest: the 64 cells of a 4 x 4 x 4 grid of offset, take-profit and
stop-loss (``--cells 1000``: the 1,000 cells of a 10 x 5 x 5 x 4 grid of offset, take-profit, stop-loss and
hold-timeout) over a book dataset, ``--fill queue --workers 2``, against one lone ``liqcore backtest DS --fill
queue`` -- each its own fresh process, alternated in pairs so both see the same machine; wall time, CPU (user +
sys of the process and its workers, ``os.wait4``) and peak RSS (the largest process, and the whole process tree's
sum sampled every 0.2 s) of each; then ``--samples`` cells drawn at random (``--seed``) against their lone
backtests (the same trades and returns, to the last bit).

The dataset: ``benches/bench_density.py --days N --quotes Q --direct --dir D --keep`` (its ``D/ds``), or
``--ds PATH`` for one already built.  The bar: the sweep's wall time <= 4x the backtest's (64 cells), <= 10x (1,000 cells), same run.

    python benches/bench_density.py --days 2 --quotes 6000000 --direct --skip-backtest --skip-sweep \
        --skip-inprocess --dir /tmp/d2 --keep
    python benches/bench_sweep_shared.py --ds /tmp/d2/ds --pairs 3
    python benches/bench_sweep_shared.py --ds /tmp/d2/ds --pairs 1 --cells 1000 --samples 5

Prints the load, one line per pair, the medians with their units, the ratio and whether the bar is met;
``--json FILE`` writes every figure.  ``--scaling 1,2,4,8,16`` (for a machine with that many cores): the sweep
alone at each worker count, alternated rounds after one not counted, its wall-time speed-up against one worker (bar
>= 12x at 16) and every count's table equal to one worker's:

    python benches/bench_sweep_shared.py --ds /tmp/d4/ds --scaling 1,2,4,8,16 --pairs 3
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benches"))

from bench_density import _env, _load, measured  # noqa: E402
from bench_sweep import PeakRSS  # noqa: E402

#: the grids (cells -> parameter -> values, in the sweep's own ``--grid NAME=V1,V2`` syntax) and their bars (x lone)
GRIDS = {
    64: {"offset": "0.05%,0.1%,0.2%,0.3%", "take-profit": "0.3%,0.5%,1%,2%", "stop-loss": "0.3%,0.5%,1%,2%"},
    1000: {"offset": "0.05%,0.08%,0.1%,0.12%,0.15%,0.2%,0.25%,0.3%,0.4%,0.5%",
           "take-profit": "0.3%,0.5%,1%,1.5%,2%", "stop-loss": "0.3%,0.5%,1%,1.5%,2%",
           "hold-timeout": "15m,30m,1h,2h"},
}
BARS = {64: 4.0, 1000: 10.0}
GRID = GRIDS[64]
#: the sweep's metric columns checked against the lone backtest's summary
CHECKED = ("trades", "total_return", "sharpe", "fills", "orders", "max_drawdown")


def sweep_cmd(ds: str, out: str, workers: int, grid: dict | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "liqcore", "sweep", ds, "--fill", "queue", "--workers", str(workers), "--out", out,
           "--json", "--no-progress"]
    for k, v in (grid or GRID).items():
        cmd += ["--grid", f"{k}={v}"]
    return cmd


def backtest_cmd(ds: str, conf: dict | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "liqcore", "backtest", ds, "--fill", "queue", "--equity", "10000", "--json"]
    for k, v in (conf or {}).items():
        cmd += [f"--{k}", str(v)]
    return cmd


def tree_measured(cmd: list[str], env) -> dict:
    """:func:`bench_density.measured` with the peak RSS of the command's whole process tree (its workers
    included), summed, sampled every 0.2 s: ``tree_gib``."""
    with PeakRSS(include_self=False) as mem:
        r = measured(cmd, env=env)
    r["tree_gib"] = mem.peak / 2**30
    return r


def same_as_lone(row, s: dict) -> bool:
    """A sweep row's checked metrics equal the lone backtest's summary ``s`` to the last bit (NaN = None)."""
    return all((row[c] == s.get(c)) or (row[c] != row[c] and s.get(c) is None) for c in CHECKED)


def scaling(a, grid: dict, env, tmp: Path) -> int:
    """The sweep alone at each worker count of ``--scaling``, ``--pairs`` alternated rounds; the median wall time
    per count, its speed-up against one worker, and whether every count's table equals one worker's."""
    import pandas as pd

    counts = sorted({int(w) for w in a.scaling.split(",")})
    if counts[0] != 1:
        raise SystemExit("bench: --scaling must include 1 (the speed-up is against one worker)")
    cpus = os.cpu_count() or 1
    print(f"bench_sweep_shared --scaling: {a.ds}, {a.cells} cells, workers {counts}, {cpus} CPUs, "
          f"load at start {_load()}")
    if counts[-1] > cpus:
        print(f"note: {counts[-1]} workers on {cpus} CPUs is oversubscribed; the speed-up is not the code's alone")
    # one sweep not counted: a first run pays the caches' warm-up (the page cache, the kernels' on-disk caches)
    tree_measured(sweep_cmd(a.ds, str(tmp / "warm.parquet"), counts[-1], grid), env)
    walls: dict[int, list[float]] = {w: [] for w in counts}
    tables: dict[int, object] = {}
    for r in range(a.pairs):
        for w in (counts if r % 2 == 0 else counts[::-1]):
            out = tmp / f"s{w}.parquet"
            m = tree_measured(sweep_cmd(a.ds, str(out), w, grid), env)
            walls[w].append(m["wall_s"])
            if w not in tables:  # (the first round's table per count: the rounds' are one sweep's, rerun)
                tables[w] = pd.read_parquet(out).sort_values(list(grid)).reset_index(drop=True)
            print(f"round {r + 1}, {w} worker(s): {m['wall_s']:.1f} s wall, {m['cpu_s']:.1f} s CPU, "
                  f"{m['tree_gib']:.2f} GiB process tree; load {_load()}", flush=True)
    one = statistics.median(walls[1])
    same = all(tables[w].equals(tables[1]) for w in counts)
    for w in counts:
        med = statistics.median(walls[w])
        print(f"{w:>3} worker(s): median {med:.2f} s wall of {a.pairs} round(s), speed-up x{one / med:.2f} "
              f"against 1 worker")
    top = counts[-1]
    speed = one / statistics.median(walls[top])
    verdict = ("met" if speed >= 12 else "NOT met") if top >= 16 else "not measured (fewer than 16 workers)"
    print(f"speed-up at {top} workers: x{speed:.2f} (bar x12 at 16: {verdict}); every count's table equal to "
          f"one worker's: {'yes' if same else 'NO'}; load at end {_load()}")
    if a.json:
        Path(a.json).write_text(json.dumps({"ds": a.ds, "cells": a.cells, "cpus": cpus, "walls_s": walls,
                                            "speedup_top": speed, "tables_equal": same}, indent=1))
    return 0 if same else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ds", required=True, help="the dataset (bench_density.py --direct ... --keep: its D/ds)")
    ap.add_argument("--pairs", type=int, default=3, help="alternated (backtest, sweep) pairs (default 3)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cells", type=int, choices=sorted(GRIDS), default=64,
                    help="the grid: 64 (4 offsets x 4 take-profits x 4 stop-losses) or 1000 (10 offsets x 5 "
                         "take-profits x 5 stop-losses x 4 hold-timeouts) (default 64)")
    ap.add_argument("--samples", type=int, default=3, help="cells drawn at random and run alone (default 3)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the cells drawn (default 1)")
    ap.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    ap.add_argument("--scaling", metavar="W1,W2,...",
                    help="the sweep alone at these worker counts (1 among them): its speed-up against one worker")
    a = ap.parse_args()
    if not Path(a.ds).is_dir():
        raise SystemExit(f"bench: --ds {a.ds} is not a dataset folder")
    if not 1 <= a.samples <= a.cells:
        raise SystemExit(f"bench: --samples must be 1..{a.cells}; got {a.samples}")
    grid, bar, n = GRIDS[a.cells], BARS[a.cells], a.cells
    env = _env()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-shared-"))
    if a.scaling:
        try:
            return scaling(a, grid, env, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    fig: dict = {"ds": a.ds, "cells": n, "grid": grid, "workers": a.workers, "load_start": _load(), "pairs": []}
    shape = " x ".join(f"{len(v.split(','))} {k}" for k, v in grid.items())
    print(f"bench_sweep_shared: {a.ds}, {n} cells ({shape}), --fill queue, --workers {a.workers}; "
          f"load at start {fig['load_start']}")
    table = None
    for i in range(a.pairs):
        bt = tree_measured(backtest_cmd(a.ds), env)
        out = tmp / f"t{i}.parquet"
        sw = tree_measured(sweep_cmd(a.ds, str(out), a.workers, grid), env)
        import pandas as pd

        table = pd.read_parquet(out)
        if len(table) != n:
            raise SystemExit(f"bench: the sweep wrote {len(table)} cells, not {n}")
        pair = {"backtest_wall_s": bt["wall_s"], "backtest_cpu_s": bt["cpu_s"], "backtest_peak_gib": bt["peak_gib"],
                "sweep_wall_s": sw["wall_s"], "sweep_cpu_s": sw["cpu_s"], "sweep_peak_gib": sw["peak_gib"],
                "sweep_tree_gib": sw["tree_gib"], "load": _load()}
        fig["pairs"].append(pair)
        print(f"pair {i + 1}: backtest {bt['wall_s']:.1f} s wall, {bt['cpu_s']:.1f} s CPU, {bt['peak_gib']:.2f} GiB; "
              f"sweep {sw['wall_s']:.1f} s wall, {sw['cpu_s']:.1f} s CPU, {sw['peak_gib']:.2f} GiB largest process, "
              f"{sw['tree_gib']:.2f} GiB process tree; wall x{sw['wall_s'] / bt['wall_s']:.2f}; load {pair['load']}",
              flush=True)
    med = {k: statistics.median(p[k] for p in fig["pairs"]) for k in fig["pairs"][0] if k != "load"}
    ratios = [p["sweep_wall_s"] / p["backtest_wall_s"] for p in fig["pairs"]]
    cpu_ratios = [p["sweep_cpu_s"] / p["backtest_cpu_s"] for p in fig["pairs"]]
    fig.update(median=med, wall_ratio=statistics.median(ratios), cpu_ratio=statistics.median(cpu_ratios))
    # cells drawn at random against their lone backtests (the same trades and returns, to the last bit)
    same = 0
    for k in sorted(random.Random(a.seed).sample(range(n), a.samples)):
        row = table.iloc[k]
        conf = {c: row[c] for c in grid}
        s = json.loads(measured(backtest_cmd(a.ds, conf), env=env)["_stdout"])["summary"]
        ok = same_as_lone(row, s)
        same += ok
        print(f"cell {k} {conf}: {int(row['trades'])} trades, total return {row['total_return']:.6g} (fraction); "
              f"lone backtest {s['trades']} trades, {s['total_return']:.6g}: {'equal' if ok else 'DIFFERENT'}")
    fig["sampled_equal"] = same
    fig["load_end"] = _load()
    print(f"median of {a.pairs} pair(s): backtest {med['backtest_wall_s']:.1f} s wall / {med['backtest_cpu_s']:.1f} s "
          f"CPU / {med['backtest_peak_gib']:.2f} GiB; sweep {med['sweep_wall_s']:.1f} s wall / {med['sweep_cpu_s']:.1f} s "
          f"CPU / {med['sweep_peak_gib']:.2f} GiB (the largest process) / {med['sweep_tree_gib']:.2f} GiB (the process "
          f"tree, summed)")
    print(f"sweep / backtest: wall x{fig['wall_ratio']:.2f} (bar x{bar:g}: "
          f"{'met' if fig['wall_ratio'] <= bar else 'NOT met'}), CPU x{fig['cpu_ratio']:.2f}; sampled cells equal to "
          f"their lone backtests: {same} of {a.samples}; load at end {fig['load_end']}")
    if a.json:
        Path(a.json).write_text(json.dumps(fig, indent=1))
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()
    return 0 if same == a.samples else 1


if __name__ == "__main__":
    raise SystemExit(main())
