"""Post-cascade event study: for every confirmed cascade, the forward return of the last trade
price from the decision time (confirm receive time) to each horizon, signed so that positive =
reversion (up after longs were flushed, down after shorts were), with the max adverse excursion;
summarised per symbol and dominant side (n, mean, median, t-stat, bootstrap CI, share of reversions).

Examples:
  liqcore study --synthetic --days 30 --plot study.png
  liqcore study data/binance.csv data/binance_trades.csv --min-history 20 --refresh 0 --horizons 10s,1m,5m
  liqcore study recordings/ --json --out cascades.csv
"""
from __future__ import annotations

import sys

HELP = "post-cascade event study: signed forward returns, excursions, reversion share, CI"


def add_arguments(parser) -> None:
    from liqcore.commands.inputs import add_source_arguments
    from liqcore.config import add_param_arguments

    add_source_arguments(parser)
    st = parser.add_argument_group("study")
    st.add_argument("--horizons", default="10s,30s,1m,5m,15m", help="comma list of horizons (default 10s,30s,1m,5m,15m)")
    st.add_argument("--max-ref-age", dest="param_max_ref_age_ns", default=None, metavar="DUR",
                    help="oldest usable reference trade at the decision (default 5s, the strategy's)")
    st.add_argument("--ci", type=float, default=0.95, help="bootstrap confidence level (default 0.95)")
    st.add_argument("--boot", type=int, default=2000, help="bootstrap resamples (default 2000)")
    st.add_argument("--pooled", action="store_true", help="only the rows pooling every symbol")
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true", help='print {"summary": [...], "cascades": N, ...} as JSON')
    out.add_argument("--plot", metavar="PNG", help="figure of mean signed return vs horizon with CI bands")
    out.add_argument("--out", metavar="CSV", help="write one row per cascade to CSV")
    out.add_argument("--no-progress", action="store_true", help="no progress display")
    add_param_arguments(parser, groups=("detector",))


def run(args) -> int:
    import orjson

    from liqcore.commands.inputs import Steps, load_input
    from liqcore.commands.outputs import print_frame
    from liqcore.config import params_from_args
    from liqcore.research.study import _parse_horizons, event_study, plot_study, summarize_study

    params = params_from_args(args)
    horizons = [lab for lab, _ in _parse_horizons(args.horizons)]
    if not 0.0 < args.ci < 1.0:
        raise ValueError(f"ci: must be in (0, 1); got {args.ci}")
    if args.boot < 1:
        raise ValueError(f"boot: must be >= 1; got {args.boot}")
    if args.plot and not args.plot.lower().endswith(".png"):
        raise ValueError(f"plot: expected a .png file name; got {args.plot!r}")
    from liqcore.commands.outputs import output_file

    output_file(args.out, "--out")
    output_file(args.plot, "--plot")
    with Steps(not args.no_progress and not args.json) as steps:
        events, registry, label, symbols = load_input(args, params, steps)
        steps.step(f"detecting cascades and measuring returns in {len(events):,} events")
        df = event_study(events, registry, params=params, horizons=horizons, symbols=symbols)
        steps.step("bootstrapping")
        summ = summarize_study(df, ci=args.ci, n_boot=args.boot, by_symbol=not args.pooled)
        if args.out:
            df.drop(columns=["decision_time"]).to_csv(args.out, index=False)
        if args.plot:
            plot_study(summ, args.plot, title=f"post-cascade signed return: {label}")
    with_ref = int(df["ref_price"].notna().sum()) if len(df) else 0
    from liqcore.backtest.metrics import data_note

    note = data_note(events)
    if args.json:
        doc = {"source": label, "cascades": int(len(df)), "with_reference": with_ref,
               "horizons": horizons, "params": params.describe(), "data_note": note,
               "summary": summ.astype(object).where(summ.notna(), None).to_dict(orient="records")}
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
        return 0
    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # pipes and files: no truncated columns
        console = Console(width=200)
    console.print(f"[bold]{label}[/]: {len(df):,} confirmed cascades, {with_ref:,} with a reference trade")
    show = summ.copy()
    empty = show.groupby("symbol")["n"].transform("max") == 0
    hidden = sorted(set(show.loc[empty & (show.symbol != "ALL"), "symbol"]))
    show = show[~empty | (show.symbol == "ALL")]
    for c in ("mean", "median", "std", "ci_low", "ci_high", "mean_mae", "mean_mfe"):
        show[c] = show[c] * 1e4
    show = show.rename(columns={"mean": "mean_bp", "median": "median_bp", "std": "std_bp", "ci_low": "ci_lo_bp",
                                "ci_high": "ci_hi_bp", "mean_mae": "mae_bp", "mean_mfe": "mfe_bp",
                                "reversion_share": "revert"})
    print_frame(console, show, f"signed return after the decision (+ = reversion), {args.ci:.0%} bootstrap CI")
    if hidden:
        console.print(f"{len(hidden)} symbol(s) without any observed return (no usable reference trade) not shown: "
                      + ", ".join(hidden[:12]) + (" ..." if len(hidden) > 12 else ""))
    if note:
        console.print(f"[yellow]note:[/] {note}")
    if args.out:
        console.print(f"cascades written to {args.out}")
    if args.plot:
        console.print(f"figure written to {args.plot}")
    return 0
