"""StrategyCore live-shell API: cost of the method calls the engine makes on the reaction / fill path,
against the direct array writes they replaced (baseline measured in the same run).

* ``amend_entry`` (after every order decision) vs ``st[ci]["limit_price"] = price``
* ``set_exit_levels`` (after every entry fill) vs three field writes
* ``snapshot`` + ``restore`` (restart only) for 3 symbols

    python benches/bench_core_api.py [--n 20000] [--repeat 7]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liqcore.backtest.core import StrategyCore  # noqa: E402
from liqcore.config import Params  # noqa: E402

S = 1_000_000_000
T0 = 1_767_225_600 * S


def _core():
    c = StrategyCore(Params(), ["ETHUSDT", "SOLUSDT", "DOGEUSDT"], equity=10_000.0, mode="venue")
    for i in range(3):
        c.on_trade(i, T0, 100.0 * (i + 1))
    return c


def per_call_ns(fn, n, repeat):
    out = []
    for _ in range(repeat):
        t = time.perf_counter_ns()
        for _ in range(n):
            fn()
        out.append((time.perf_counter_ns() - t) / n)
    return statistics.median(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=7)
    a = ap.parse_args(argv)
    c = _core()
    c.on_cascade({"symbol_idx": 0, "ts_ns": T0 + S, "dominant": 1, "cascade_id": 1})  # working entry
    st = c.st

    def direct_amend():
        st[0]["limit_price"] = 99.85

    rows = [("amend_entry", per_call_ns(lambda: c.amend_entry(0, 99.85), a.n, a.repeat),
             per_call_ns(direct_amend, a.n, a.repeat))]
    c.external_entry_fill(0, T0 + 2 * S, 99.85)

    def direct_levels():
        s = st[0]
        s["tp_price"] = 100.0
        s["sl_price"] = 99.6
        s["notional"] = 2500.0

    rows.append(("set_exit_levels", per_call_ns(lambda: c.set_exit_levels(0, 100.0, 99.6, notional=2500.0), a.n,
                                                a.repeat), per_call_ns(direct_levels, a.n, a.repeat)))
    snap = c.snapshot()
    r = _core()
    rows.append(("snapshot+restore", per_call_ns(lambda: r.restore(c.snapshot()), max(1, a.n // 20), a.repeat),
                 float("nan")))
    assert r.snapshot() == snap
    print(f"{'call':<18} {'median ns/call':>15} {'direct writes ns':>17} {'ratio':>7}")
    for name, got, base in rows:
        print(f"{name:<18} {got:>15.0f} {base:>17.0f} {got / base if base == base else float('nan'):>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
