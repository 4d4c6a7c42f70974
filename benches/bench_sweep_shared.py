"""A sweep that shares its read against one backtest (issue 71, item 3): the 64 cells of a 4 x 4 x 4 grid of
offset, take-profit and stop-loss over a book dataset, ``--fill queue --workers 2``, against one lone
``liqcore backtest DS --fill queue`` -- each its own fresh process, alternated in pairs so both see the same
machine; wall time, CPU (user + sys of the process and its workers, ``os.wait4``) and peak RSS (the largest
of the process and its workers) of each; then three sampled cells against their lone backtests (the same
trades and returns, to the last bit).

The dataset: ``benches/bench_density.py --days N --quotes Q --direct --dir D --keep`` (its ``D/ds``), or
``--ds PATH`` for one already built.  The bar: the sweep's wall time <= 4x the backtest's, same run.

    python benches/bench_density.py --days 2 --quotes 6000000 --direct --skip-backtest --skip-sweep \
        --skip-inprocess --dir /tmp/d2 --keep
    python benches/bench_sweep_shared.py --ds /tmp/d2/ds --pairs 3

Prints the load, one line per pair, the medians with their units, the ratio and whether the bar is met;
``--json FILE`` writes every figure.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benches"))

from bench_density import _env, _load, measured  # noqa: E402

GRID = {"offset": "0.05%,0.1%,0.2%,0.3%", "take-profit": "0.3%,0.5%,1%,2%", "stop-loss": "0.3%,0.5%,1%,2%"}
#: the sweep's metric columns checked against the lone backtest's summary
CHECKED = ("trades", "total_return", "sharpe", "fills", "orders", "max_drawdown")


def sweep_cmd(ds: str, out: str, workers: int) -> list[str]:
    cmd = [sys.executable, "-m", "liqcore", "sweep", ds, "--fill", "queue", "--workers", str(workers), "--out", out,
           "--json", "--no-progress"]
    for k, v in GRID.items():
        cmd += ["--grid", f"{k}={v}"]
    return cmd


def backtest_cmd(ds: str, conf: dict | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "liqcore", "backtest", ds, "--fill", "queue", "--equity", "10000", "--json"]
    for k, v in (conf or {}).items():
        cmd += [f"--{k}", str(v)]
    return cmd


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ds", required=True, help="the dataset (bench_density.py --direct ... --keep: its D/ds)")
    ap.add_argument("--pairs", type=int, default=3, help="alternated (backtest, sweep) pairs (default 3)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    a = ap.parse_args()
    if not Path(a.ds).is_dir():
        raise SystemExit(f"bench: --ds {a.ds} is not a dataset folder")
    env = _env()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-shared-"))
    fig: dict = {"ds": a.ds, "grid": GRID, "workers": a.workers, "load_start": _load(), "pairs": []}
    print(f"bench_sweep_shared: {a.ds}, 64 cells (4 x 4 x 4 offset x take-profit x stop-loss), --fill queue, "
          f"--workers {a.workers}; load at start {fig['load_start']}")
    table = None
    for i in range(a.pairs):
        bt = measured(backtest_cmd(a.ds), env=env)
        out = tmp / f"t{i}.parquet"
        sw = measured(sweep_cmd(a.ds, str(out), a.workers), env=env)
        import pandas as pd

        table = pd.read_parquet(out)
        if len(table) != 64:
            raise SystemExit(f"bench: the sweep wrote {len(table)} cells, not 64")
        pair = {"backtest_wall_s": bt["wall_s"], "backtest_cpu_s": bt["cpu_s"], "backtest_peak_gib": bt["peak_gib"],
                "sweep_wall_s": sw["wall_s"], "sweep_cpu_s": sw["cpu_s"], "sweep_peak_gib": sw["peak_gib"],
                "load": _load()}
        fig["pairs"].append(pair)
        print(f"pair {i + 1}: backtest {bt['wall_s']:.1f} s wall, {bt['cpu_s']:.1f} s CPU, {bt['peak_gib']:.2f} GiB; "
              f"sweep {sw['wall_s']:.1f} s wall, {sw['cpu_s']:.1f} s CPU, {sw['peak_gib']:.2f} GiB; "
              f"wall x{sw['wall_s'] / bt['wall_s']:.2f}; load {pair['load']}", flush=True)
    med = {k: statistics.median(p[k] for p in fig["pairs"]) for k in fig["pairs"][0] if k != "load"}
    ratios = [p["sweep_wall_s"] / p["backtest_wall_s"] for p in fig["pairs"]]
    cpu_ratios = [p["sweep_cpu_s"] / p["backtest_cpu_s"] for p in fig["pairs"]]
    fig.update(median=med, wall_ratio=statistics.median(ratios), cpu_ratio=statistics.median(cpu_ratios))
    # three cells sampled (first, middle, last of the table) against their lone backtests
    same = 0
    for k in (0, 31, 63):
        row = table.iloc[k]
        conf = {n: row[n] for n in GRID}
        s = json.loads(measured(backtest_cmd(a.ds, conf), env=env)["_stdout"])["summary"]
        ok = all((row[c] == s.get(c)) or (row[c] != row[c] and s.get(c) is None) for c in CHECKED)
        same += ok
        print(f"cell {conf}: {int(row['trades'])} trades, total return {row['total_return']:.6g} (fraction); "
              f"lone backtest {s['trades']} trades, {s['total_return']:.6g}: {'equal' if ok else 'DIFFERENT'}")
    fig["sampled_equal"] = same
    fig["load_end"] = _load()
    print(f"median of {a.pairs} pairs: backtest {med['backtest_wall_s']:.1f} s wall / {med['backtest_cpu_s']:.1f} s CPU "
          f"/ {med['backtest_peak_gib']:.2f} GiB; sweep {med['sweep_wall_s']:.1f} s wall / {med['sweep_cpu_s']:.1f} s CPU "
          f"/ {med['sweep_peak_gib']:.2f} GiB (the largest process)")
    print(f"sweep / backtest: wall x{fig['wall_ratio']:.2f} (bar x4: {'met' if fig['wall_ratio'] <= 4 else 'NOT met'}), "
          f"CPU x{fig['cpu_ratio']:.2f}; sampled cells equal to their lone backtests: {same} of 3; "
          f"load at end {fig['load_end']}")
    if a.json:
        Path(a.json).write_text(json.dumps(fig, indent=1))
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()
    return 0 if same == 3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
