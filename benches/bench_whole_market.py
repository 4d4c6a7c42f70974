"""Peak memory and time of `liqcore backtest --symbols all` on a generated whole-market Binance recording, and on
the dataset converted from it, against the same recording backtested on its active symbols alone.

The recording is what `liqcore record --venue binance --symbols all --also ...` writes: every symbol's
liquidations on the all-market stream (``--liqs`` per symbol over 4 h, two bursts of four large ones each), and
trades (one every 2 s, dipping 1 % after each burst) of the ``--active`` first symbols only.  The instrument list
gives every symbol tick 0.0001 and lot 10.  Each run is its own process (its peak RSS from ``wait4``):

* ``all``: ``backtest REC --symbols all --instruments LIST`` (the whole market loaded: liquidations of every symbol);
* ``dataset``: ``backtest DS --symbols all --instruments LIST --chunk-days D`` (read in time chunks);
* baseline ``active``: ``backtest REC --symbols <the active ones>`` (what the traded symbols alone cost).

    python benches/bench_whole_market.py --symbols 300 --liqs 1000 --active 5
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
T0_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def write_market(path: Path, names: list[str], liqs: int, active: list[str], seed: int = 7) -> None:
    from liqcore.venues.binance.samples import liquidation_frame

    rng = np.random.default_rng(seed)
    rows = []
    for sym in names:
        px = float(np.round(rng.uniform(0.5, 100), 2))
        bursts = [int(rng.integers(3 * 3600_000, int(3.4 * 3600_000))), int(rng.integers(int(3.6 * 3600_000), 4 * 3600_000))]
        for t in np.sort(rng.integers(0, 4 * 3600 * 1000, liqs)):
            side = "SELL" if rng.random() < .5 else "BUY"
            rows.append((int(T0_MS + t), liquidation_frame(sym, int(T0_MS + t), float(rng.lognormal(0, 1)) * 100 / px,
                                                           px, side)))
        for b in bursts:
            for j in range(4):
                t = int(T0_MS + b + j * 1500)
                rows.append((t, liquidation_frame(sym, t, 5000 / px, px, "SELL")))
        if sym in active:
            for i, t in enumerate(range(T0_MS + 3 * 3600_000 - 120_000, T0_MS + 4 * 3600_000, 2_000)):
                p = px * (0.99 if any(b + T0_MS + 2_000 <= t < b + T0_MS + 62_000 for b in bursts) else 1.0)
                rows.append((t, orjson.dumps({"e": "aggTrade", "E": t + 1, "s": sym, "a": i, "p": f"{p:.4f}",
                                              "q": "500", "f": i, "l": i, "T": t, "m": bool(i % 2)})))
    rows.sort(key=lambda x: x[0])
    with open(path, "wb") as f:
        for t, fr in rows:
            f.write(b'{"recv_ns":%d,"venue":"binance","frame":%s}\n' % (t * 1_000_000 + 40_000_000, fr))


def measure(argv: list[str]) -> tuple[float, float, dict]:
    """(peak RSS MiB, wall s, summary) of one `liqcore` process."""
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-m", "liqcore", *argv, "--json", "--no-progress"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: liqcore {' '.join(argv)} failed")
    return ru.ru_maxrss / 1024, wall, orjson.loads(out)["summary"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--symbols", type=int, default=300)
    ap.add_argument("--liqs", type=int, default=1000, help="liquidations per symbol")
    ap.add_argument("--active", type=int, default=5, help="symbols with trades")
    ap.add_argument("--chunk-days", default="0.05")
    a = ap.parse_args()
    names = [f"C{i:03d}USDT" for i in range(a.symbols)]
    active = names[:a.active]
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        d = Path(tmp)
        env_cache = d / "cache"
        os.environ["LIQCORE_CACHE_DIR"] = str(env_cache)
        write_market(d / "rec.jsonl", names, a.liqs, active)
        rule = {"tick_size": 0.0001, "qty_step": 10.0, "min_qty": 10.0, "max_qty": None, "min_notional": 5.0}
        (d / "u.json").write_text(json.dumps({"venue": "binance", "quote": "USDT", "fetched_ns": T0_MS * 10**6,
                                              "rules": {s: rule for s in names}, "turnover": {}, "contract": {}}))
        subprocess.run([sys.executable, "-m", "liqcore", "convert", str(d / "rec.jsonl"), "--dataset", str(d / "ds")],
                       cwd=ROOT, check=True, capture_output=True)
        common = ["--notional", "1000", "--min-history", "20"]
        runs = {
            "active (baseline)": ["backtest", str(d / "rec.jsonl"), "--symbols", ",".join(active), *common],
            "all (recording)": ["backtest", str(d / "rec.jsonl"), "--symbols", "all", "--instruments",
                                str(d / "u.json"), *common],
            f"all (dataset, --chunk-days {a.chunk_days})": ["backtest", str(d / "ds"), "--symbols", "all",
                                                            "--instruments", str(d / "u.json"), "--chunk-days",
                                                            a.chunk_days, *common],
        }
        n_lines = sum(1 for _ in open(d / "rec.jsonl", "rb"))
        print(f"whole market: {a.symbols} symbols x {a.liqs} liquidations, {a.active} with trades; "
              f"{n_lines:,} recorded frames; load {os.getloadavg()[0]:.1f}")
        base = None
        for name, argv in runs.items():
            rss, wall, s = measure(argv)
            base = base or rss
            print(f"  {name:34s} peak RSS {rss:7.1f} MiB (x{rss / base:.2f} the baseline), {wall:6.2f} s wall; "
                  f"{s['cascades']} cascades traded, {s['trades']} trades, refused {s.get('refused', {})}")
    print(f"load after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
