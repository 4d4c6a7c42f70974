"""Rolling-kernel benchmarks: RollingQuantile (N=1000, q=0.95) per event and in batch, against
pandas ``rolling(N).quantile(q)`` and the pure-Python twin, all measured in this run; plus the
per-event cost of TimeWindow.push and RollingZScore.update against their twins.

    python benches/bench_quantile.py [--events 200000] [--repeats 9] [--twin-events 5000] [--stream lognormal]

The contenders run interleaved, one repeat of each per round, so load changes on a shared machine
hit all of them alike. Prints the median (and min) ns/event over the rounds, the ratios of the
medians, and the state bytes at N=1000.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liqcore._libs.detection import RollingQuantile  # noqa: E402
from liqcore._libs.detection import TimeWindow  # noqa: E402
from liqcore._libs.detection import RollingZScore  # noqa: E402
from pysrc.quantile import RollingQuantile as RefQuantile  # noqa: E402
from pysrc.windows import TimeWindow as RefWindow  # noqa: E402
from pysrc.zscore import RollingZScore as RefZScore  # noqa: E402

N = 1000
Q = 0.95
W_NS = 60_000_000_000


def interleaved(cases: dict[str, tuple], repeats: int, clock=time.perf_counter_ns) -> dict[str, tuple[float, float]]:
    """cases: name -> (fn, n_events). Returns name -> (median, min) ns/event, by ``clock`` (wall by default; the
    thread's CPU time with ``--clock cpu``: on a shared machine, the time the run was not waiting for a core)."""
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(repeats):
        for name, (fn, n_events) in cases.items():
            t0 = clock()
            fn()
            times[name].append((clock() - t0) / n_events)
    return {k: (statistics.median(v), min(v)) for k, v in times.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--twin-events", type=int, default=5_000, help="events for the (slow) pysrc twins")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall (default) or cpu: the thread's CPU time (a shared machine's waits left out)")
    ap.add_argument("--stream", choices=("lognormal", "rising", "falling", "saw"), default="lognormal",
                    help="the values: lognormal (liquidation-notional-like, the default), or long monotone runs that "
                    "are the quantile's hardest case: rising, falling, saw (runs of 3000 up, then 3000 down)")
    args = ap.parse_args()
    n = args.events
    nt = args.twin_events

    rng = np.random.default_rng(42)
    x = rng.lognormal(9.0, 1.8, n)  # liquidation-notional-like
    if args.stream == "rising":
        x = np.cumsum(rng.random(n))
    elif args.stream == "falling":
        x = np.cumsum(rng.random(n))[::-1].copy()
    elif args.stream == "saw":
        x = np.concatenate([np.cumsum(rng.random(3000)) * (1 if i % 2 else -1) for i in range(-(-n // 3000))])[:n]
    xs = x.tolist()
    ts = np.cumsum(rng.integers(0, 200_000_000, n)).astype(np.int64).tolist()
    side = rng.integers(1, 5, n).tolist()

    def rq_loop():
        u = RollingQuantile(N, Q).update
        for v in xs:
            u(v)

    def rq_batch():
        RollingQuantile(N, Q).update_many(x)

    def rq_twin():
        u = RefQuantile(N, Q).update
        for v in xs[:nt]:
            u(v)

    def empty_loop():
        for v in xs:
            pass

    def tw_loop(cls, m):
        def run():
            push = cls(W_NS).push
            for i in range(m):
                push(ts[i], side[i], xs[i])

        return run

    def rz_loop(cls, m):
        def run():
            u = cls(100).update
            for v in xs[:m]:
                u(v)

        return run

    cases = {
        "RollingQuantile.update (Python loop)": (rq_loop, n),
        "RollingQuantile.update_many (nogil batch)": (rq_batch, n),
        "pysrc twin RollingQuantile.update": (rq_twin, nt),
        "empty Python loop over the values": (empty_loop, n),
        "TimeWindow(60s).push (Python loop)": (tw_loop(TimeWindow, n), n),
        "pysrc twin TimeWindow.push": (tw_loop(RefWindow, 10 * nt), 10 * nt),
        "RollingZScore(100).update (Python loop)": (rz_loop(RollingZScore, n), n),
        "pysrc twin RollingZScore.update": (rz_loop(RefZScore, nt), nt),
    }
    max_rel = float("nan")
    try:
        import pandas as pd

        s = pd.Series(x)
        cases[f"pandas rolling({N}).quantile({Q}) (batch)"] = (lambda: s.rolling(N).quantile(Q), n)
        got = RollingQuantile(N, Q).update_many(x)[N - 1 :]
        want = s.rolling(N).quantile(Q).to_numpy()[N - 1 :]
        max_rel = float(np.max(np.abs(got - want) / np.abs(want)))
    except ImportError:
        pass

    res = interleaved(cases, args.repeats, time.thread_time_ns if args.clock == "cpu" else time.perf_counter_ns)
    print(f"{n} {args.stream} events (twins: fewer), median (min) of {args.repeats} interleaved rounds, ns/event ({args.clock} "
          "time)")
    for name, (med, lo) in res.items():
        print(f"  {name:<46} {med:10.1f}  ({lo:.1f})")

    def ratio(a: str, b: str) -> str:
        if a not in res or b not in res:
            return "n/a"
        return f"{res[a][0] / res[b][0]:.2f}x"

    pd_name = f"pandas rolling({N}).quantile({Q}) (batch)"
    print("ratios of medians")
    print(f"  pandas / RollingQuantile.update loop     {ratio(pd_name, 'RollingQuantile.update (Python loop)')}")
    print(f"  pandas / RollingQuantile.update_many     {ratio(pd_name, 'RollingQuantile.update_many (nogil batch)')}")
    print(f"  twin / RollingQuantile.update loop       {ratio('pysrc twin RollingQuantile.update', 'RollingQuantile.update (Python loop)')}")
    print(f"  twin / TimeWindow.push loop              {ratio('pysrc twin TimeWindow.push', 'TimeWindow(60s).push (Python loop)')}")
    print(f"  twin / RollingZScore.update loop         {ratio('pysrc twin RollingZScore.update', 'RollingZScore(100).update (Python loop)')}")
    print(f"max relative difference vs pandas: {max_rel:.3g}")
    rq = RollingQuantile(N, Q)
    rq.update_many(x[:N])
    print(f"RollingQuantile state bytes at N={N}: {rq.nbytes} ({rq.nbytes / 1024:.1f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
