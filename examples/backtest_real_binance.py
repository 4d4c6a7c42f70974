"""Backtest the cascade strategy on the real Binance recordings (third-party, see each SOURCE.txt).

    python examples/backtest_real_binance.py [DATA_DIR] [--out DIR] [--report DIR]

DATA_DIR defaults to $LIQCORE_REAL_DATA.  The two
folders used, binance-forceorder-2025-01 and binance-forceorder-2025-12, each hold a liquidation
file (`!forceOrder@arr`, at most one liquidation per symbol per second) and an aggTrade file that
keeps ONLY trades above ~$15k notional, overlapping the liquidations for a few hours.  So:

* few symbols reach the detector's default 100 liquidations of history: the guide's parameters
  find almost no cascade; a second run lowers ``min-history`` to 20 to show the mechanics;
* the trade prints are a sparse, filtered subset: a reference price within ``max-ref-age`` (5 s) is
  often missing, and fills/exits are judged on big prints only.  The output says so.

Nothing here is evidence for or against the strategy; it shows the pipeline on real data.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("binance-forceorder-2025-01", "binance-forceorder-2025-12")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", default=os.environ.get("LIQCORE_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))
    ap.add_argument("--out", help="write each run's ledger + summary (Parquet, CSV, JSON) under DIR")
    ap.add_argument("--report", help="write an HTML report per run under DIR")
    args = ap.parse_args()

    import numpy as np

    from liqcore.backtest import metrics as M
    from liqcore.backtest.report import write_report
    from liqcore.backtest.run import backtest
    from liqcore.config import Params
    from liqcore import load_events
    from liqcore.types import Kind

    data = Path(args.data)
    runs = {
        "guide defaults": Params(),
        "min-history 20, max-ref-age 60s": Params.from_mapping({"min-history": 20, "max-ref-age": "60s"}),
    }
    for folder in FOLDERS:
        path = data / folder
        if not path.is_dir():
            print(f"{path}: not found (pass DATA_DIR or set LIQCORE_REAL_DATA)", file=sys.stderr)
            return 2
        loaded = load_events(path)
        ev, reg = loaded.events, loaded.registry
        print(f"\n=== {folder}")
        print(loaded.summary())
        traded = {reg.symbol(int(s)) for s in np.unique(ev["symbol_id"][ev["kind"] == Kind.TRADE])}
        print(f"symbols with trade prints: {', '.join(sorted(traded))}")
        print(f"smallest trade notional: ${M.min_trade_notional(ev):,.0f}")
        for label, params in runs.items():
            res = backtest(loaded, params)
            s = res.summary()
            print(f"\n--- {label}")
            if s.get("data_note"):
                print(f"NOTE: {s['data_note']}")
            print("  " + ", ".join(f"{k}={s[k]}" for k in ("cascades", "signals", "orders", "rejected", "fills",
                                                           "unfilled", "take_profit", "stop_loss", "timeout")))
            print("  nothing placed: " + ", ".join(f"{k}={s[k]}" for k in M.SKIP_REASONS if s[k]))
            for name, row in res.per_symbol().items():
                sym = name.split(":")[1]
                print(f"    {name:28s} cascades={row['cascades']:2d} orders={row['orders']} fills={row['fills']} "
                      f"no_ref={row['no_reference_price']}{'' if sym in traded else '  (no trade prints for it)'}")
            for t in res.trades():
                print(f"    trade: {t}")
            tag = f"{folder}-{'defaults' if label.startswith('guide') else 'small-history'}"
            if args.out:
                res.save(Path(args.out) / tag)
            if args.report:
                write_report(res, Path(args.report) / tag, title=f"liqcore backtest: {folder} ({label})")
    print("\nThese recordings are short and their trade files are filtered to large prints: the counts above "
          "show the pipeline, not the strategy's merit.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
