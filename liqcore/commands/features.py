"""Point-in-time feature bars per (venue, symbol, bar): liquidations per side, imbalance, rate,
taker flow and order-flow imbalance, prices and returns, funding, detector cascades, and z-scores
against the previous bars.  Every row carries ``available_ns`` = bar close + ``--lag``.

Examples:
  liqcore features --synthetic --days 7 --bar 15m --out features.parquet
  liqcore features recordings/ --bar 1m --zscore-window 96 --lag 5s --out features.csv
  liqcore features data/binance.csv data/binance_trades.csv --symbols BTCUSDT,ETHUSDT --bar 1m
"""
from __future__ import annotations

HELP = "point-in-time feature bars (liquidations, flow, funding, cascades, z-scores) to Parquet/CSV"


def add_input_arguments(parser) -> None:
    """Input selection shared by ``features`` and ``study``: recordings or a synthetic market."""
    parser.add_argument("paths", nargs="*", metavar="PATH", help="recordings (files or directories)")
    parser.add_argument("--format", default=None, help="force the input format (default: detect per file)")
    src = parser.add_argument_group("synthetic market")
    src.add_argument("--synthetic", action="store_true", help="use a synthetic market instead of files")
    src.add_argument("--days", type=float, default=30.0, help="synthetic market length in days (default 30)")
    src.add_argument("--symbols", default=None,
                     help="comma list of symbols: the synthetic market's (default: BTCUSDT,ETHUSDT,SOLUSDT,"
                          "XRPUSDT,DOGEUSDT), or the ones to keep from recordings (default: all)")
    src.add_argument("--seed", type=int, default=7, help="synthetic market seed (default 7)")
    src.add_argument("--venue", default="bybit", help="synthetic market venue (default bybit)")
    src.add_argument("--preset", default=None,
                     help="named synthetic market: default, null (liquidations move no price, no effects), "
                          "reversion, continuation, contagion, volatility, time_of_day, open_interest")
    src.add_argument("--knob", action="append", default=[], metavar="NAME=VALUE",
                     help="set one synthetic-market knob (a generator parameter such as vol_liq, p_cont, impact, "
                          "diurnal_a, or a market effect such as contagion, contagion_lag_s, open_interest, "
                          "oi_organic); repeatable")


def synthetic_knobs(args) -> tuple[dict, dict]:
    """(generator overrides, market effects) from ``--knob NAME=VALUE`` arguments."""
    from liqcore._jit.synth import PARAM_NAMES
    from liqcore.backtest.synthetic import Effects

    over, eff = {}, {}
    for item in getattr(args, "knob", None) or []:
        name, sep, value = str(item).partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"knob: expected NAME=VALUE; got {item!r}")
        if name in Effects.__dataclass_fields__:
            if name == "open_interest":
                v = value.strip().lower()
                if v not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError(f"knob: {name} expects true or false; got {value!r}")
                eff[name] = v in ("1", "true", "yes")
            elif name == "leader":
                eff[name] = value.strip().upper()
            else:
                try:
                    eff[name] = float(value)
                except ValueError:
                    raise ValueError(f"knob: {name} expects a number; got {value!r}") from None
        elif name in PARAM_NAMES:
            try:
                over[name] = float(value)
            except ValueError:
                raise ValueError(f"knob: {name} expects a number; got {value!r}") from None
        else:
            raise ValueError(f"knob: unknown synthetic-market knob {name!r}")
    return over, eff


def load_input(args, params, steps):
    """(events, registry, label, symbols filter) from the input arguments."""
    from liqcore.commands.backtest import load_source

    events, registry, label = load_source(args, params, steps)
    symbols = None
    if args.symbols and not args.synthetic:
        symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
    return events, registry, label, symbols


def add_arguments(parser) -> None:
    from liqcore.config import add_param_arguments

    add_input_arguments(parser)
    bars = parser.add_argument_group("bars")
    bars.add_argument("--bar", default="1m", help="bar length (default 1m)")
    bars.add_argument("--zscore-window", type=int, default=96,
                      help="bars in the z-score baseline, before the bar scored (default 96)")
    bars.add_argument("--lag", default="0s", help="publication lag added to the bar close for available_ns (default 0s)")
    bars.add_argument("--sparse", action="store_true", help="write only bars with events (default: every bar)")
    out = parser.add_argument_group("output")
    out.add_argument("--out", metavar="FILE", help="write the bars to FILE (.parquet or .csv)")
    out.add_argument("--no-progress", action="store_true", help="no progress display")
    add_param_arguments(parser, groups=("detector",))


def summary_frame(df):
    """One row per symbol: bars, liquidations, notional, cascades, trades, extreme-z bars, funding."""
    import pandas as pd

    if df.empty:
        return pd.DataFrame(columns=["venue", "symbol", "bars", "liquidations", "liq_notional", "cascades",
                                     "trades", "bars_|z_imb|>2", "bars_|z_ofi|>2", "last_funding"])
    g = df.groupby(["venue", "symbol"], sort=True)
    return pd.DataFrame({
        "bars": g.size(),
        "liquidations": g["liq_count"].sum(),
        "liq_notional": g["liq_notional"].sum(),
        "cascades": g["cascades"].sum(),
        "trades": g["trade_count"].sum(),
        "bars_|z_imb|>2": g["z_liq_imbalance"].apply(lambda z: int((z.abs() > 2).sum())),
        "bars_|z_ofi|>2": g["z_ofi"].apply(lambda z: int((z.abs() > 2).sum())),
        "last_funding": g["funding_rate"].last(),
    }).reset_index()


def print_frame(console, frame, title: str) -> None:
    import pandas as pd
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for c in frame.columns:
        t.add_column(str(c), justify="right" if pd.api.types.is_numeric_dtype(frame[c]) else "left")
    for row in frame.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append("—" if v != v else (f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"))
            else:
                cells.append(f"{v:,}" if isinstance(v, int) else str(v))
        t.add_row(*cells)
    console.print(t)


def run(args) -> int:
    from pathlib import Path

    from rich.console import Console

    from liqcore.commands.backtest import _Steps
    from liqcore.config import parse_duration, params_from_args
    from liqcore.research.features import features

    params = params_from_args(args)
    parse_duration(args.bar, "bar")
    parse_duration(args.lag, "lag")
    if args.zscore_window < 1:
        raise ValueError(f"zscore-window: must be a positive integer; got {args.zscore_window}")
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in (".parquet", ".csv"):
        raise ValueError(f"out: expected a .parquet or .csv file name; got {args.out!r}")
    with _Steps(not args.no_progress) as steps:
        events, registry, label, symbols = load_input(args, params, steps)
        steps.step(f"building {args.bar} bars from {len(events):,} events")
        df = features(events, registry, bar=args.bar, zscore_window=args.zscore_window, lag=args.lag,
                      symbols=symbols, params=params, dense=not args.sparse)
        if out is not None:
            steps.step(f"writing {out}")
            out.parent.mkdir(parents=True, exist_ok=True)
            if out.suffix.lower() == ".parquet":
                df.to_parquet(out, index=False)
            else:
                df.to_csv(out, index=False)
    console = Console()
    if not console.is_terminal:  # pipes and files: no truncated columns
        console = Console(width=200)
    console.print(f"[bold]{label}[/]: {len(events):,} events -> {len(df):,} bars of {args.bar} "
                  f"(z-scores against the previous {args.zscore_window} bars, available at close + {args.lag})")
    print_frame(console, summary_frame(df), "per symbol")
    from liqcore.backtest.metrics import data_note

    note = data_note(events)
    if note and "no trade prints" not in note:
        console.print(f"[yellow]note:[/] {note}")
    if df.attrs.get("dropped"):
        console.print(f"dropped (bad values): {df.attrs['dropped']}")
    if out is not None:
        console.print(f"bars written to {out}")
    return 0
