"""What the dataset writer's merge of a partition's top-of-book rows costs (issue 41: a day of 6 M quote
updates, 12 M rows in memory, merged on every convert).

The writer merges a partition's old rows with each new run, section by section (``liqcore.dataset``:
``_merge_many`` then ``_merge_rows``): the order by (event time, receive time, quotes first) and the
duplicate rules.  This bench takes the quote section of one partition of a dataset (``--ds``, e.g. the
one ``bench_density.py --quotes 6000000 --days 1 --keep --dir D`` writes in ``D/ds``) and times, in a
child process per tree, median of ``--repeat`` (inputs copied outside the timing), wall seconds:

* ``fresh``: the day's rows alone (a convert of a new day: one source, no old rows);
* ``append``: the day's first half as the old rows, its second half new (no row in common: the usual
  case of a partition that grows);
* ``twice``: the day as the old rows and the same day again (every new row a repeat: a file converted
  again).

Baselines, same run: ``floor``: ``np.concatenate`` of the runs, a stable ``argsort`` of the event times
and the gather (the least a merge of two runs does; ``fresh``: the stable ``argsort`` and the gather);
``--baseline DIR``: the same merge by the tree in ``DIR`` (a checkout of an earlier commit), the two
trees alternated.

    python benches/bench_merge.py --ds D/ds [--repeat 5] [--baseline OLD_CHECKOUT]

Prints each figure in seconds with the machine's load (``/proc/loadavg``), rows kept, and the ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ("fresh", "append", "twice")


def _load() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg()) + " (1/5/15 min)"
    except OSError:
        return "?"


def _quotes(ds: str):
    """The quote section (in memory: a row per side) of the dataset's biggest partition."""
    from liqcore.dataset import write as DS

    have = DS._partition_files(ds, False)
    if not have:
        raise SystemExit(f"bench: no partition in {ds}")
    key = max(have, key=lambda k: sum(os.path.getsize(f) for f in have[k]))
    rows = DS._read_partition(ds, False, have[key])
    return DS._by_section(rows)[2].copy(), key


def _merge(DS, runs):
    """The writer's merge of a section's runs, in whichever form the tree has (the source labels carried
    since issue 41's quote rule; before it, none)."""
    try:
        rows, src = DS._merge_many(runs, labelled=True)
    except TypeError:
        return DS._merge_rows(DS._merge_many(runs))
    return DS._merge_rows(rows, src)


def _floor(runs):
    import numpy as np

    from liqcore.types import take_records

    cat = runs[0] if len(runs) == 1 else np.concatenate(runs)
    return take_records(cat, np.argsort(cat["ts_event_ns"], kind="stable"))


def child(ds: str, repeat: int, floor: bool) -> None:
    from liqcore.dataset import write as DS

    q, key = _quotes(ds)
    half = len(q) // 2
    while 0 < half < len(q) and q["ts_event_ns"][half] == q["ts_event_ns"][half - 1]:  # cut between stamps
        half += 1
    inputs = {"fresh": lambda: [q.copy()], "append": lambda: [q[:half].copy(), q[half:].copy()],
              "twice": lambda: [q.copy(), q.copy()]}
    out = {"rows": len(q), "partition": list(key)}
    for name in CASES:
        times, kept = [], None
        for _ in range(repeat):
            runs = inputs[name]()
            t0 = time.perf_counter()
            res = _floor(runs) if floor else _merge(DS, runs)
            times.append(time.perf_counter() - t0)
            kept = len(res)
            del runs, res
        out[name] = {"s": statistics.median(times), "runs": times, "kept": kept}
    print("BENCH " + json.dumps(out), flush=True)


def _run(tree: Path, ds: str, repeat: int, floor: bool = False) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", ds, "--repeat", str(repeat)]
    if floor:
        cmd.append("--floor")
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(tree))
    if p.returncode:
        raise SystemExit(f"bench: the child in {tree} failed: {p.stderr.strip().splitlines()[-1:]}")
    line = [x for x in p.stdout.splitlines() if x.startswith("BENCH ")][-1]
    return json.loads(line[6:])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ds", help="a dataset with a top of book (bench_density.py --quotes ... --keep)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs of each case, per round (default 5)")
    ap.add_argument("--rounds", type=int, default=2, help="rounds, the trees alternated (default 2)")
    ap.add_argument("--baseline", help="a checkout of an earlier commit: its merge timed alongside")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child, a.repeat, a.floor)
        return 0
    if not a.ds:
        raise SystemExit("bench: --ds DIR: a dataset with a top of book (bench_density.py --quotes ... --keep)")
    print(f"bench_merge: {a.ds}, {a.repeat} runs x {a.rounds} rounds; load at start {_load()}")
    trees = [("this tree", ROOT)] + ([("baseline", Path(a.baseline).resolve())] if a.baseline else [])
    got: dict = {name: {c: [] for c in CASES} for name, _t in trees + [("floor", ROOT)]}
    info = {}
    for r in range(a.rounds):
        order = trees if r % 2 == 0 else trees[::-1]
        for name, tree in order + [("floor", ROOT)]:
            res = _run(tree, a.ds, a.repeat, floor=name == "floor")
            info = res
            for c in CASES:
                got[name][c] += res[c]["runs"]
                got[name][c + "_kept"] = res[c]["kept"]
    print(f"quote section of {'/'.join(info['partition'])}: {info['rows']:,} rows (a row per side)")
    for c in CASES:
        med = {name: statistics.median(got[name][c]) for name in got}
        line = f"  {c:7s}: " + ", ".join(f"{name} {med[name]:.3f} s ({got[name][c + '_kept']:,} rows kept)"
                                         for name in got)
        line += f"; this tree / floor {med['this tree'] / med['floor']:.2f}x"
        if "baseline" in med:
            line += f", this tree / baseline {med['this tree'] / med['baseline']:.2f}x"
        print(line)
    print(f"load at end {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
