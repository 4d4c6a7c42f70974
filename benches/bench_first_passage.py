"""The 30-day book backtest under the queue rule, as issue 71's bars measure it (item 5), in one run, alternated:

* warm: ``liqcore.cli.main`` in a warm process (a warm-up on the first day with ``--end``, then the whole span; a new
  process each round), stdout redirected to a text stream over a bytes buffer; its CPU seconds (bar <= 0.6 s), user
  and kernel apart with the page faults (the kernel's share mostly first touches of fresh memory, costly in a
  virtual machine), and the garbage collector's full passes inside it where there was one (tens of ms each);
* fresh: ``python -m liqcore backtest DS --fill queue --json`` in a new process, wall, CPU and peak RSS;
* the floor: pyarrow streaming every row of the dataset (``pyarrow.dataset(DS).to_batches()``) in a new process,
  wall (bar: fresh <= 0.25 x it);

then a year of fifteen such streams extrapolated from the warm CPU (x 365 / days x 15; on two cores: half).
``--check``: the full replay (``--read all``) once, its trades and summary (less what a read says of itself)
compared with the default read's.  ``--profile OUT``: cProfile of one warm run instead, its top lines in OUT.

    python benches/bench_density.py --days 30 --quotes 6000000 --direct --dir D --keep --skip-backtest \\
        --skip-sweep --skip-inprocess --skip-whole      # the dataset, once
    python benches/bench_first_passage.py --ds D/ds --repeat 3 --check
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_density import measured, stream_floor  # noqa: E402

GIB = 1 << 30
#: summary fields that say how a read went (its rows, its feed-delay note over them), not what the backtest found
_READ_FIELDS = ("read", "feed_latency_model", "feed_latency_model_of_rows_read")


def _days(ds: str) -> list[str]:
    return sorted({p.name.split("=", 1)[1] for p in Path(ds).rglob("date=*") if p.is_dir()})


def _cli(args: list[str]) -> tuple[int, bytes]:
    """``liqcore.cli.main(args)`` with stdout a text stream over a bytes buffer (the issue's interface)."""
    from liqcore.cli import main

    buf = io.BytesIO()
    out = io.TextIOWrapper(buf, encoding="utf-8")
    old = sys.stdout
    sys.stdout = out
    try:
        rc = main(args)
    finally:
        out.flush()
        sys.stdout = old
    return rc, buf.getvalue()


def _warm_child(ds: str, warm_end: str, extra: list | None = None) -> None:
    """The warm process: warms up, then one whole-span backtest per line read from stdin, a BENCH line each."""
    import resource

    base = os.environ.get("LIQCORE_BENCH_BASE")
    if base:  # the code before: its tree first on the path (bench_density put this checkout there)
        sys.path.insert(0, base)
        for m in [m for m in sys.modules if m == "liqcore" or m.startswith("liqcore.")]:
            del sys.modules[m]
    import liqcore

    args = ["backtest", ds, "--fill", "queue", "--json", "--no-progress", *(extra or [])]
    rc, _o = _cli(args + ["--end", warm_end])
    if rc:
        raise SystemExit(f"warm-up failed (exit {rc})")
    for _line in sys.stdin:
        b0 = _read_bytes()
        full = _FullCollections()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        c0, t0 = time.process_time(), time.perf_counter()
        with full:
            rc, out = _cli(args)
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        read_mb = None if b0 is None else (_read_bytes() - b0) / 1e6
        if rc:
            raise SystemExit(f"backtest failed (exit {rc})")
        d = json.loads(out)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB
        print("BENCH " + json.dumps({"cpu_s": cpu, "wall_s": wall, "peak_gib": peak, "trades": len(d["trades"]),
                                     "signals": d["summary"].get("signals"), "cascades": d["summary"].get("cascades"),
                                     "read": d["summary"].get("read"), "read_mb": read_mb,
                                     "full_gc": full.n, "full_gc_cpu_s": full.cpu,
                                     "user_s": r1.ru_utime - r0.ru_utime, "sys_s": r1.ru_stime - r0.ru_stime,
                                     "minflt": r1.ru_minflt - r0.ru_minflt,
                                     "code": str(Path(liqcore.__file__).parent)}),
              flush=True)


class _FullCollections:
    """Within its ``with``: the garbage collector's full passes (generation 2) and their CPU seconds.  One in a
    run is tens of milliseconds (a pass over every object of a warm process), and whether a run meets one depends
    on what was allocated before it: a round's figure with one is not the code's alone."""

    def __init__(self):
        self.n, self.cpu, self._t = 0, 0.0, None

    def _cb(self, phase, info):
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._t = time.process_time()
        elif self._t is not None:
            self.n += 1
            self.cpu += time.process_time() - self._t
            self._t = None

    def __enter__(self):
        import gc

        gc.callbacks.append(self._cb)
        return self

    def __exit__(self, *exc):
        import gc

        gc.callbacks.remove(self._cb)
        return False


def _read_bytes() -> int | None:
    """The bytes this process has read by read/pread calls (Linux's /proc/self/io ``rchar``; None elsewhere): what
    a run reads of the dataset's files, the column chunks most of it."""
    try:
        with open("/proc/self/io", "rb") as f:
            for line in f:
                if line.startswith(b"rchar:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _ask(proc) -> dict:
    """One whole-span run of a warm process (:func:`_warm_child`), its figures."""
    proc.stdin.write("go\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line.startswith("BENCH "):
        raise SystemExit("bench: a warm process ended early")
    return json.loads(line[6:])


def warm_once(ds: str, warm_end: str, signals: str = "", env: dict | None = None) -> dict:
    """One warm run in a new process (:func:`_warm_child`: a warm-up on the span before ``warm_end``, then the
    backtest with ``signals``' options, e.g. ``--end`` for a shorter span), its figures."""
    proc = subprocess.Popen([sys.executable, __file__, "--ds", ds, f"--signals={signals}", "--child", "warm",
                             warm_end], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        return _ask(proc)
    finally:
        proc.stdin.close()
        proc.wait(timeout=600)


def _profile(ds: str, warm_end: str, out: str, top: int, clock: str = "cpu", extra: list | None = None) -> None:
    import cProfile
    import pstats

    args = ["backtest", ds, "--fill", "queue", "--json", "--no-progress", *(extra or [])]
    _cli(args + ["--end", warm_end])
    c0 = time.process_time()
    # (the CPU clock: the bar is CPU seconds, and a read waiting on the disk is not one)
    pr = cProfile.Profile(time.process_time) if clock == "cpu" else cProfile.Profile()
    pr.enable()
    _cli(args)
    pr.disable()
    cpu = time.process_time() - c0
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("cumulative").print_stats(top)
    Path(out).write_text(f"warm run: {cpu:.2f} s CPU (under cProfile, times on the {clock} clock), load "
                         f"{os.getloadavg()}\n" + s.getvalue())
    print(f"profile: {cpu:.2f} s CPU under cProfile; top {top} lines in {out}")


def _child_floor(ds: str) -> None:
    print("BENCH " + json.dumps({"rows": stream_floor(ds)}))


def _strip(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in _READ_FIELDS}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ds", required=True, help="the dataset (bench_density.py --days 30 --quotes 6000000 --direct)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of warm / fresh / floor, alternated (default 3)")
    ap.add_argument("--check", action="store_true", help="also the full replay (--read all) once: the same trades "
                    "and summary")
    ap.add_argument("--profile", metavar="OUT", help="cProfile one warm run (top lines into OUT) and stop")
    ap.add_argument("--top", type=int, default=40, help="profile lines (default 40)")
    ap.add_argument("--profile-clock", choices=("cpu", "wall"), default="cpu",
                    help="the profile's clock: the process's CPU time (default) or wall time")
    ap.add_argument("--base", metavar="DIR", help="a source tree of the code before (its compiled extensions "
                    "built): its warm process too, alternated with this one's, on the same dataset")
    ap.add_argument("--warm-only", action="store_true", help="the warm processes alone (no fresh run, no pyarrow "
                    "floor): with --base, pairs of warm runs, their order alternated round by round")
    ap.add_argument("--signals", metavar="ARGS", default="",
                    help="backtest options added to every run, e.g. \"--quantile 0.5 --min-history 20\" (dense signals)")
    ap.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    ap.add_argument("--verify-always", action="store_true",
                    help="every process digests the row groups it reads (LIQCORE_VERIFY=always: a first run over the "
                         "files; default: the verification ledger keeps what an earlier process digested)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    extra = a.signals.split()
    if a.verify_always:
        os.environ["LIQCORE_VERIFY"] = "always"
    if a.child:
        {"warm": lambda: _warm_child(a.ds, a.child[1], a.signals.split()), "floor": lambda: _child_floor(a.ds)}[a.child[0]]()
        return 0
    days = _days(a.ds)
    if not days:
        raise SystemExit(f"bench: no date= partitions under {a.ds}")
    import numpy as np

    warm_end = str(np.datetime64(days[0], "D") + 1)
    if a.profile:
        _profile(a.ds, warm_end, a.profile, a.top, a.profile_clock, extra)
        return 0
    py = sys.executable
    load0 = os.getloadavg()
    print(f"bench_first_passage: {a.ds}, {len(days)} day(s) {days[0]} .. {days[-1]}; load at start "
          f"{load0[0]:.1f} / {load0[1]:.1f} / {load0[2]:.1f} (1 / 5 / 15 min) on {os.cpu_count()} CPUs; row groups "
          f"{'digested in every process' if a.verify_always else 'digested once (the verification ledger)'}", flush=True)

    def warm(base_tree=None) -> dict:
        """A run of a new warm process (the issue's: a warm-up on the first day, then the whole span, once), each
        round: a process kept across rounds would run its later spans on what the first one cached (footers,
        digests)."""
        # (the code before keeps its own cache of footers and verified groups: a cache shared by two versions whose
        # entries differ would be rewritten by each in turn, each run paying the other's)
        env = {**os.environ, "LIQCORE_BENCH_BASE": base_tree, "PYTHONDONTWRITEBYTECODE": "1",
               "LIQCORE_CACHE_DIR": base_cache} if base_tree else None
        return warm_once(a.ds, warm_end, a.signals, env)

    fig = {"warm": [], "fresh": [], "floor": [], "base": [], "load": [list(load0)]}
    fresh_cmd = [py, "-m", "liqcore", "backtest", a.ds, "--fill", "queue", "--json", "--no-progress", *extra]
    default_out = None
    import tempfile

    base_cache = tempfile.mkdtemp(prefix="bench-fp-base-")
    if a.base:  # a round of each, not counted: each version's cache of footers and verified groups filled
        warm(a.base)
        warm()

    def mb(x) -> str:
        gc_note = f", {x['full_gc']} full collection(s) {x['full_gc_cpu_s'] * 1e3:.0f} ms" if x.get("full_gc") else ""
        split = f", user {x['user_s']:.2f} s + kernel {x['sys_s']:.2f} s, {x['minflt']:,} page faults" \
            if "user_s" in x else ""  # (the kernel's share: mostly first touches of fresh memory, costly in a VM)
        return ("" if x.get("read_mb") is None else f", {x['read_mb']:.1f} MB read") + split + gc_note

    for r in range(a.repeat):
        if a.warm_only:
            fl = fr = None
        else:
            fl = measured([py, __file__, "--ds", a.ds, "--child", "floor", "x"])
            fr = measured(fresh_cmd)
            default_out = json.loads(fr.pop("_stdout"))
            fr["trades"] = len(default_out["trades"])
        before_first = bool(a.base) and a.warm_only and r % 2 == 1  # (warm-only pairs: alternated order)
        if before_first:
            b = warm(a.base)
        w = warm()
        if a.base:
            if not before_first:
                b = warm(a.base)
            fig["base"].append(b)
            print(f"round {r + 1}: before (--base) warm {b['cpu_s']:.2f} s CPU ({b['wall_s']:.2f} s wall, "
                  f"{b['trades']} trades{mb(b)}; code {b['code']})", flush=True)
        if a.warm_only:
            fig["warm"].append(w)
            fig["load"].append(list(os.getloadavg()))
            pair = f"; now / before {w['cpu_s'] / b['cpu_s']:.2f}x" if a.base else ""
            print(f"round {r + 1}: warm {w['cpu_s']:.2f} s CPU ({w['wall_s']:.2f} s wall, peak {w['peak_gib']:.2f} "
                  f"GiB, {w['trades']} trades{mb(w)}){pair}; load {os.getloadavg()[0]:.1f}", flush=True)
            continue
        fl.pop("_stdout", None)
        fig["floor"].append(fl)
        fig["fresh"].append(fr)
        fig["warm"].append(w)
        fig["load"].append(list(os.getloadavg()))
        print(f"round {r + 1}: warm {w['cpu_s']:.2f} s CPU ({w['wall_s']:.2f} s wall, peak {w['peak_gib']:.2f} GiB, "
              f"{w['trades']} trades{mb(w)}); fresh {fr['wall_s']:.2f} s wall ({fr['cpu_s']:.2f} s CPU, peak "
              f"{fr['peak_gib']:.2f} GiB); pyarrow streaming {fl['rows']:,} rows {fl['wall_s']:.2f} s wall "
              f"({fl['cpu_s']:.2f} s CPU, peak {fl['peak_gib']:.2f} GiB); fresh / floor "
              f"{fr['wall_s'] / fl['wall_s']:.2f}x; load {os.getloadavg()[0]:.1f}", flush=True)
    med = {k: float(np.median([x[f] for x in fig[k]])) if fig[k] else None
           for k, f in (("warm", "cpu_s"), ("fresh", "wall_s"), ("floor", "wall_s"))}
    ratio = float(np.median([fr["wall_s"] / fl["wall_s"] for fr, fl in zip(fig["fresh"], fig["floor"])])) \
        if fig["fresh"] else None
    year = med["warm"] * 365 / len(days) * 15
    print(f"median: warm {med['warm']:.2f} s CPU (30-day bar <= 0.6 s); "
          + ("" if ratio is None else f"fresh / pyarrow streaming {ratio:.2f}x wall (bar <= 0.25x: "
             f"{'met' if ratio <= 0.25 else 'NOT met'}); ")
          + f"a year of 15 streams: {year:,.0f} CPU-s, about {year / 2:,.0f} s on 2 cores", flush=True)
    fig.update(median=med, fresh_over_floor=ratio, year_cpu_s=year)
    if fig["base"]:
        b_med = float(np.median([x["cpu_s"] for x in fig["base"]]))
        pairs = float(np.median([w["cpu_s"] / x["cpu_s"] for x, w in zip(fig["base"], fig["warm"])]))
        same = all(x["trades"] == w["trades"] for x, w in zip(fig["base"], fig["warm"]))
        print(f"before (--base): warm {b_med:.2f} s CPU (median); now / before {med['warm'] / b_med:.2f}x (median of "
              f"the pairs' ratios {pairs:.2f}x); same trade count: {same}", flush=True)
        fig["median"]["base"] = b_med
        fig["now_over_before_pairs"] = pairs
    if a.check:
        if default_out is None:
            fr = measured(fresh_cmd)
            default_out = json.loads(fr.pop("_stdout"))
        full = measured(fresh_cmd + ["--read", "all"])
        ref = json.loads(full.pop("_stdout"))
        same_trades = ref["trades"] == default_out["trades"]
        same_summary = _strip(ref["summary"]) == _strip(default_out["summary"])
        print(f"--read all: {full['wall_s']:.1f} s wall ({full['cpu_s']:.1f} s CPU, peak {full['peak_gib']:.2f} GiB), "
              f"{len(ref['trades'])} trades; same trades: {same_trades}; same summary: {same_summary}", flush=True)
        fig["read_all"] = {**full, "same_trades": same_trades, "same_summary": same_summary}
        if not (same_trades and same_summary):
            diff = sorted(k for k in set(_strip(ref["summary"])) | set(_strip(default_out["summary"]))
                          if _strip(ref["summary"]).get(k) != _strip(default_out["summary"]).get(k))
            raise SystemExit(f"bench: the default read differs from --read all (summary fields {diff})")
    load1 = os.getloadavg()
    print(f"load at end: {load1[0]:.1f} / {load1[1]:.1f} / {load1[2]:.1f} (1 / 5 / 15 min)")
    if a.json:
        Path(a.json).write_text(json.dumps(fig, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
