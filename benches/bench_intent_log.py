"""Write-ahead cost of the journal's intent log.

1. Hot: ``Journal.intent_ahead`` (the intent line appended before the create is sent) when every intent is
   committed right after it, with the log emptied at every commit against emptied only past
   ``INTENT_LOG_TRUNCATE_BYTES`` (1 MiB, the rule).  Emptying zeroes the lines in place (the file keeps
   its blocks), so the two now cost the same; when it truncated the file, emptying at every commit made
   each append about 4x dearer.  Rounds are interleaved; prints the median of per-round medians.
2. Cold, the way a live bot appends: one line after ``--idle`` ms asleep (caches and the CPU gone cold),
   taken in turn: the line copied into the mapped log (``Journal.intent_ahead_line``) after the quiet-feed
   tick's ``touch_ahead``; the same without the touch; and the baseline, one ``write()`` to an append-only
   file on the same file system (the way the log was written before it was mapped).

    python benches/bench_intent_log.py [--rounds 7] [--intents 1000] [--cold 200] [--idle 30]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import liqcore.live.intent_log as ilog  # noqa: E402
import liqcore.live.journal as jm  # noqa: E402
from liqcore.venues.gateway import OrderIntent  # noqa: E402


def cold(n: int, idle_ms: float) -> None:
    line = jm.Journal.intent_line(1_700_000_000_000_000_000, 7, jm.Journal.intent_raw(OrderIntent(
        "ETHUSDT", "buy", 0.5, 2500.0, "lc-ETH-7-ab", take_profit=2510.0, stop_loss=2490.0)))
    res = {"mapped, page touched on the quiet tick (the engine)": [], "mapped, no touch": [],
           "write() to an append-only file (baseline)": []}
    clock = time.perf_counter_ns
    with tempfile.TemporaryDirectory() as d:
        j = jm.Journal(os.path.join(d, "cold.sqlite"), batch_interval_s=3600, checkpoint_thread=False)
        fd = os.open(os.path.join(d, "plain.intents"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for i in range(n):
                for name in res:
                    if name.startswith("mapped, page"):
                        time.sleep(idle_ms / 2000)
                        j.touch_ahead()
                        time.sleep(idle_ms / 2000)
                    else:
                        time.sleep(idle_ms / 1000)
                    t0 = clock()
                    if name.startswith("write"):
                        os.write(fd, line)
                    else:
                        j.intent_ahead_line(line)
                    res[name].append(clock() - t0)
        finally:
            os.close(fd)
            j.close()
    base = statistics.median(res["write() to an append-only file (baseline)"])
    print(f"cold append of one {len(line)}-byte line after {idle_ms:g} ms asleep, {n} each, taken in turn:")
    for name, v in res.items():
        v = sorted(v)
        print(f"  {name:52s} p50 {v[len(v) // 2] / 1000:6.2f} us  p90 {v[int(.9 * len(v))] / 1000:6.2f} us  "
              f"({v[len(v) // 2] / base:.2f}x the baseline)")


def main(rounds: int, n: int) -> None:
    rules = (("emptied at every commit", 0), ("emptied past 1 MiB (the rule)", 1 << 20))
    res = {name: [] for name, _ in rules}
    print(f"intent_ahead, {n} intents per round x {rounds} rounds, each committed right after; load average "
          f"{os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as d:
        for rnd in range(rounds):
            for name, limit in rules:
                ilog.INTENT_LOG_TRUNCATE_BYTES = limit
                j = jm.Journal(os.path.join(d, f"{rnd}-{limit}.sqlite"), batch_interval_s=3600, checkpoint_thread=False)
                ts = []
                for i in range(n):
                    it = OrderIntent("ETHUSDT", "buy", 0.5, 2500.0 + i, f"lc-ETH-{rnd}-{i}-ab", take_profit=2510.0,
                                     stop_loss=2490.0)
                    t0 = time.perf_counter_ns()
                    tok = j.intent_ahead(it, 1_700_000_000_000_000_000 + i, seq=i)
                    ts.append(time.perf_counter_ns() - t0)
                    j.intent_rows(tok)
                    j.flush()
                j.close()
                res[name].append(statistics.median(ts))
    for name, v in res.items():
        print(f"  {name:40s} {statistics.median(v) / 1000:6.2f} us  (rounds: {', '.join(f'{x / 1000:.2f}' for x in v)})")
    print(f"  load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--intents", type=int, default=1000)
    ap.add_argument("--cold", type=int, default=200, help="cold appends per contender (0: skip)")
    ap.add_argument("--idle", type=float, default=30.0, help="ms asleep before each cold append")
    a = ap.parse_args()
    main(a.rounds, a.intents)
    if a.cold:
        cold(a.cold, a.idle)
