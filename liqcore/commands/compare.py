"""``liqcore compare``: every strategy on the same inputs, in and out of sample, in one table.

Folds, columns, the null market and the examples: docs/reference/commands.md, "`liqcore compare`", and
docs/how-to/compare-strategies.md, "Comparing strategies".

May import: the layers below the command line (``backtest.compare``, ``synthetic``, ``config``, ``_atomic``) and
this package's shared ``inputs`` and ``outputs``.
"""
from __future__ import annotations

import sys
from liqcore._extras import need

from liqcore._tables import titled_table
from liqcore.types import DEFAULT_VENUE

HELP = "compare every strategy in and out of sample on recordings, the default and the null synthetic market"

_SAMPLES = {"all": "all", "in": "in", "out": "out"}


def add_arguments(parser) -> None:
    from liqcore.commands.inputs import add_source_arguments
    from liqcore.config import add_param_arguments

    add_source_arguments(parser, what="compare on")
    g = parser.add_argument_group("comparison")
    g.add_argument("--strategies", default=None, metavar="A,B,...",
                   help="comma list of strategies (default: every registered strategy)")
    g.add_argument("--market", default=None, choices=("default", "null", "both"),
                   help="with --synthetic: the default market, the null market, or both (default both)")
    g.add_argument("--folds", type=int, default=4,
                   help="walk-forward folds: the span is cut into N + 1 blocks; in sample = block 0, "
                        "out of sample = blocks 1..N (default 4)")
    g.add_argument("--ci", type=float, default=0.95, help="confidence level of the intervals (default 0.95)")
    g.add_argument("--trade-venue", default=None, metavar="V",
                   help="also run cascade-mm on instrument-scope cascades (counted across the venues of each "
                        "instrument) traded on venue V: venue scope against instrument scope on the same market")
    g.add_argument("--venues", default=None, metavar="V,V[,V]",
                   help="with --synthetic: one instrument on these venues (the multi-venue synthetic market, --symbols' "
                        "first symbol, default BTCUSDT) instead of the default and null markets; with --trade-venue, "
                        "venue scope against instrument scope on it")
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    out.add_argument("--plot", metavar="PNG", help="figure: mean return per trade with its interval per strategy "
                                                  "and market, gross and net")
    out.add_argument("--out", metavar="FILE", help="write the rows to FILE (.csv or .parquet)")
    out.add_argument("--no-progress", action="store_true", help="no progress display")
    add_param_arguments(parser)


def _strategy_list(text):
    if text is None:
        return None
    names = [s.strip() for s in str(text).split(",") if s.strip()]
    if not names:
        raise ValueError("strategies: give at least one strategy name")
    return names


def _pct(x, digits=1):
    return "—" if x is None else f"{x * 100:.{digits}f}%"


def _bp(m, lo, hi):
    if m is None:
        return "—"
    if lo is None:
        return f"{m * 1e4:+.1f}"
    return f"{m * 1e4:+.1f} [{lo * 1e4:+.1f}, {hi * 1e4:+.1f}]"


def _num(x):
    return "—" if x is None else f"{x:.2f}"


def format_span(span) -> str:
    import datetime as dt

    a, b = (dt.datetime.fromtimestamp(x / 1e9, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M") for x in span)
    return f"{a} .. {b} UTC"


def print_table(console, market: str, res) -> None:
    from rich.table import Table

    from liqcore.backtest.compare import null_guard

    t = titled_table(f"{market}: {res.label} — {res.events:,} events; mean return per trade in bp with "
                    f"{res.ci:.0%} t-interval", title_justify="left")
    for c, j in (("strategy", "left"), ("sample", "left"), ("trades", "right"), ("win", "right"),
                 ("gross bp [CI]", "right"), ("net bp [CI]", "right"), ("Sharpe", "right"), ("max DD", "right")):
        t.add_column(c, justify=j, no_wrap=True)
    names = list(dict.fromkeys(r["strategy"] for r in res.rows))
    for i, n in enumerate(names):
        if res.row(n, "all").get("na"):  # its inputs are missing from the data: one row that says so
            t.add_row(n, "all", "—", "—", f"n/a — {res.row(n, 'all')['na']}", "—", "—", "—",
                      end_section=i < len(names) - 1)
            continue
        for s in ("all", "in", "out"):
            r = res.row(n, s)
            t.add_row(n if s == "all" else "", s, f"{r['trades']:,}", _pct(r["win_rate"]),
                      _bp(r["gross_mean"], r["gross_lo"], r["gross_hi"]), _bp(r["net_mean"], r["net_lo"], r["net_hi"]),
                      _num(r["sharpe"]), _pct(r["max_drawdown"]), end_section=(s == "out" and i < len(names) - 1))
    console.print(t)
    for r in res.rows:  # an empty row says why: the skipped decisions by reason
        if r.get("why") and not r.get("na"):
            console.print(f"{r['strategy']} ({r['sample']}): 0 trades — {r['why']}", markup=False, highlight=False)
    by_fill = {}
    for r in res.rows:
        if r.get("fill") and r["sample"] == "all":
            by_fill.setdefault(r["fill"], []).append(r["strategy"])
    for fill, who in by_fill.items():  # the fill model behind each row's returns
        console.print(f"fill: {fill} — {', '.join(who)}", markup=False, highlight=False)
    console.print(f"in sample: {format_span(res.in_sample)}; out of sample: {format_span(res.out_of_sample)} "
                  f"({len(res.folds)} test folds concatenated; parameters fixed at their defaults)",
                  highlight=False)
    b = res.binary.get("all")
    if b is not None:
        for s in ("all", "in", "out"):
            console.print(binary_line(s, res.binary[s], res.ci), highlight=False)
    if market == "null":
        bad = null_guard(res)
        if bad:
            console.print(f"[bold red]null market: a gross edge above zero beyond its interval for "
                          f"{', '.join(bad)}: a bug or a leak, not a result[/]")
        else:
            console.print("null market: no strategy shows a gross edge beyond its interval (as it should)")


def run(args) -> int:
    import time

    import orjson

    from liqcore.backtest.compare import MARKETS, check_inputs, check_strategies, compare, market
    from liqcore.commands import inputs
    from liqcore.commands.outputs import output_file
    from liqcore.config import params_from_args

    params = params_from_args(args)
    if "strategy" in params.explicit:
        raise ValueError("strategy: compare takes --strategies A,B,... (default: all)")
    names = _strategy_list(args.strategies)
    # unknown strategies and parameters of another strategy: one line, before any work
    strats = check_strategies(names, params)
    if args.folds < 1:
        raise ValueError(f"folds: must be >= 1; got {args.folds}")
    if not 0.0 < args.ci < 1.0:
        raise ValueError(f"ci: must be in (0, 1); got {args.ci}")
    if args.market is not None and not args.synthetic:
        raise ValueError("market: --market picks synthetic markets; add --synthetic")
    if args.synthetic and (args.preset or args.knob):
        raise ValueError("preset/knob: compare runs the default and the null market; choose them with --market")
    if args.plot and not args.plot.lower().endswith(".png"):
        raise ValueError(f"plot: expected a .png file name; got {args.plot!r}")
    if args.out and not args.out.lower().endswith((".csv", ".parquet")):
        raise ValueError(f"out: expected a .csv or .parquet file name; got {args.out!r}")
    output_file(args.out, "--out")
    output_file(args.plot, "--plot")
    start, end = inputs.time_window(args)
    if args.synthetic:
        if args.paths:
            raise ValueError("paths: give either recordings or --synthetic, not both")
        if args.venues and args.market is not None:  # the flags' conflict first, then what the strategies need
            raise ValueError("venues: the multi-venue market replaces --market's; give one of them")
        check_inputs(strats, inputs.SYNTHETIC_KINDS)  # before the markets are built
        kinds = ["venues"] if args.venues else list(MARKETS) if args.market in (None, "both") else [args.market]
    elif args.venues:
        raise ValueError("venues: --venues builds a synthetic market; add --synthetic")
    else:
        if not args.paths:
            raise ValueError("paths: give recordings to compare on, or --synthetic")
        kinds = ["recordings"]
    names = [type(o).name for o, _ in strats]
    results: dict = {}
    t_all = time.perf_counter()
    synthetic_kw = inputs.synthetic_symbols(args) if args.synthetic else {}  # (warned once, not per market)
    with inputs.Steps(not args.no_progress and not args.json) as steps:
        for kind in kinds:
            if kind == "recordings":
                events, registry, label = inputs.load_source(args, params, steps, filter_symbols=True)
                if not len(events):  # allowed empty input (--allow-empty): nothing to compare
                    print("compare: no usable events: nothing to compare", file=sys.stderr)
                    return 0
            elif kind == "venues":
                from liqcore.synthetic.venues import venue_market

                symbol = (args.symbols or "BTCUSDT").split(",")[0].strip().upper()
                vs = tuple(v.strip() for v in args.venues.split(",") if v.strip())
                steps.step(f"synthetic {symbol} on {', '.join(vs)}: {args.days:g} days")
                m = venue_market(days=args.days, symbol=symbol, venues=vs, seed=args.seed)
                events, registry = inputs.apply_time_window(m.events, start, end), m.registry
                label = f"synthetic {symbol} on {', '.join(m.venues)} ({args.days:g} days, seed {args.seed})"
            else:
                steps.step(f"{kind} synthetic market: {args.days:g} days")
                m = market(kind, days=args.days, seed=args.seed, venue=args.venue or DEFAULT_VENUE, **synthetic_kw)
                events = inputs.apply_time_window(m.events, start, end)
                label = (f"{kind} synthetic market ({m.days:g} days, {', '.join(m.symbols)}, seed {m.seed})"
                         + (" " + inputs.selection_label(start=args.start, end=args.end) if len(events) != len(m.events)
                            else ""))
                registry = m.registry
            results[kind] = compare(events, registry, names, params, n_folds=args.folds, ci=args.ci, label=label,
                                    trade_venue=args.trade_venue,
                                    progress=lambda n, k=kind: steps.step(f"{k}: {n}"))
    elapsed = time.perf_counter() - t_all
    if args.plot:
        from liqcore.backtest.compare import plot

        plot(results, args.plot, title="liqcore compare: mean return per trade, all trades")
    if args.out:
        pd = need("research", "pandas")

        df = pd.concat([r.frame().assign(market=k) for k, r in results.items()], ignore_index=True)
        df = df[["market"] + [c for c in df.columns if c != "market"]]
        from liqcore._atomic import atomic_path

        with atomic_path(args.out) as tmp:  # the earlier file stays until this one is whole
            if args.out.lower().endswith(".parquet"):
                df.to_parquet(tmp, index=False)
            else:
                df.to_csv(tmp, index=False)
    if args.json:
        doc = {"markets": {k: r.to_json() for k, r in results.items()}, "strategies": names,
               "params": params.describe(), "seconds": round(elapsed, 3)}
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
        return 0
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 130))
    for k, r in results.items():
        print_table(console, k, r)
    if args.plot:
        console.print(f"figure written to {args.plot}")
    if args.out:
        console.print(f"rows written to {args.out}")
    return 0


def binary_line(sample: str, b: dict, ci: float) -> str:
    """flush-reversal-rule's hourly binary of one sample in a line, on both bases, each named (the backtest
    prints both too): the hour's close above the price at the signal, and above the hour's open."""
    if not b["n"]:
        return f"flush-reversal-rule as a binary ({sample}): no complete signal hour (pending {b['pending']})"
    lo, hi = b["wilson"]
    vs_open = ""
    if b.get("n_vs_open"):
        olo, ohi = b["wilson_vs_open"]
        vs_open = (f"; vs the hour's open: {b['hits_vs_open']}/{b['n_vs_open']} hits, hit rate "
                   f"{b['hit_rate_vs_open']:.1%}, p = {b['p_value_vs_open']:.3g}, Wilson {ci:.0%} [{olo:.1%}, {ohi:.1%}]")
    return (f"flush-reversal-rule as a binary ({sample}; UP this hour, the hour's close vs the price at the signal): "
            f"{b['hits']}/{b['n']} hits, hit rate {b['hit_rate']:.1%} vs prior 50%, binomial p = {b['p_value']:.3g} "
            f"(one-sided), Wilson {ci:.0%} [{lo:.1%}, {hi:.1%}]{vs_open}; pending {b['pending']}")
