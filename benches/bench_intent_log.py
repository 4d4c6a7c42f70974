"""Write-ahead cost of the journal's intent log: ``Journal.intent_ahead`` (one ``write()`` of the intent
line, before the create is sent) when every intent is committed right after it, with the log emptied at
every commit (the former rule) against emptied only past ``INTENT_LOG_TRUNCATE_BYTES`` (1 MiB, the rule
now).  Rounds are interleaved; prints the median of per-round medians.

    python benches/bench_intent_log.py [--rounds 7] [--intents 1000]
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

import liqcore.live.journal as jm  # noqa: E402
from liqcore.live.gateway import OrderIntent  # noqa: E402


def main(rounds: int, n: int) -> None:
    rules = (("emptied at every commit (former rule)", 0), ("emptied past 1 MiB (rule now)", 1 << 20))
    res = {name: [] for name, _ in rules}
    print(f"intent_ahead, {n} intents per round x {rounds} rounds, each committed right after; load average "
          f"{os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as d:
        for rnd in range(rounds):
            for name, limit in rules:
                jm.INTENT_LOG_TRUNCATE_BYTES = limit
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
    a = ap.parse_args()
    main(a.rounds, a.intents)
