"""Backtest a strategy (default: the cascade market-maker, ``cascade-mm``) on recordings (any format
``liqcore.io.load_events`` reads) or on a synthetic market.  The strategy turns the events (and, for
strategies that use it, the cascade detector's records) into signals; the execution model replays
trades and signals into orders, fills and trades.

Examples:
  liqcore backtest data/binance.csv data/binance_trades.csv --out results/
  liqcore backtest --synthetic --days 7 --symbols ETHUSDT,SOLUSDT --seed 3 --report report/
  liqcore backtest --synthetic --days 3 --offset 0.2% --fill touch --json
  liqcore backtest --synthetic --strategy cascade-mm --trail 0.3% --slippage-bps 1
"""
from __future__ import annotations

import sys

HELP = "backtest a strategy (default cascade-mm) on recordings or a synthetic market"


def add_arguments(parser) -> None:
    from liqcore.config import add_param_arguments

    from liqcore.commands.inputs import add_source_arguments

    add_source_arguments(parser, what="backtest")
    out = parser.add_argument_group("output")
    out.add_argument("--equity", type=float, default=10_000.0, help="starting equity in quote units (default 10000)")
    out.add_argument("--out", metavar="DIR", help="write ledger and summary as Parquet and CSV into DIR")
    out.add_argument("--report", metavar="DIR", help="write an HTML report with figures into DIR")
    out.add_argument("--json", action="store_true",
                     help='print one JSON object {"summary": {...}, "trades": [...]} instead of tables')
    out.add_argument("--no-progress", action="store_true", help="no progress display")
    out.add_argument("--min-trades", type=int, default=30, metavar="N",
                     help="fewest completed trades for which the results are compared with the trading "
                          "guide's claims; below, the summary and report say the sample is too small (default 30)")
    add_param_arguments(parser)
    from liqcore.commands._judge import add_judge_arguments

    add_judge_arguments(parser)


def run(args) -> int:
    import orjson

    from liqcore.backtest.run import detect, input_kinds, prepare_events, resolve_strategy, run_strategy
    from liqcore.config import params_from_args

    params = params_from_args(args)
    # an unknown strategy or a parameter of another strategy: one clear line, before any work
    strategy, params = resolve_strategy(None, params)
    from liqcore.commands._judge import judge_line, judge_summary, judged_strategy

    strategy = judged_strategy(args, strategy)
    if not (args.equity > 0):
        raise ValueError("equity: must be positive")
    if args.min_trades < 1:
        raise ValueError(f"min-trades: must be >= 1; got {args.min_trades}")
    from liqcore.commands import inputs
    from liqcore.commands.outputs import output_dir

    output_dir(args.out, "--out")
    output_dir(args.report, "--report")
    if args.synthetic:  # the synthetic market's kinds are known: a missing input is refused before it is built
        type(strategy).check_inputs(inputs.SYNTHETIC_KINDS, params)
    with inputs.Steps(not args.no_progress and not args.json) as steps:
        events, registry, label = inputs.load_source(args, params, steps, filter_symbols=True)
        events = prepare_events(events)
        if len(events):  # an empty input (--allow-empty) has nothing to check
            type(strategy).check_inputs(input_kinds(events), params)
        records = None
        det_counts: dict = {}
        if type(strategy).uses_detector:
            steps.step(f"detecting cascades in {len(events):,} events")
            records, det_counts = detect(events, params)
        steps.step(f"strategy {type(strategy).name}: signals and execution")
        try:
            res = run_strategy(events, registry, params, strategy, equity=args.equity, records=records)
        finally:
            if getattr(strategy, "runner", None) is not None:
                strategy.runner.close()
        judged = judge_summary(strategy)
        res.detector_counts = det_counts
        if args.out:
            steps.step("writing ledger and summary")
            res.save(args.out)
        if args.report:
            steps.step("writing the report")
            from liqcore.backtest.report import write_report

            write_report(res, args.report, title=f"liqcore backtest ({res.strategy}): {label}", min_trades=args.min_trades)
    if args.json:
        out = res.to_json()
        if judged is not None:
            out["judge"] = judged
        sys.stdout.buffer.write(orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
        return 0
    from rich.console import Console

    from liqcore.backtest.report import print_summary

    console = Console()
    console.print(f"[bold]{label}[/]: {len(events):,} events, {res.n_prints:,} trade prints; "
                  f"strategy [bold]{res.strategy}[/]: {len(res.signals) if res.signals is not None else 0:,} signals")
    if args.synthetic:
        from liqcore.cache import cache_dir

        console.print(f"market cache: {cache_dir()} ('liqcore cache info' / 'liqcore cache clear')",
                      markup=False, highlight=False, soft_wrap=True)
    print_summary(res, console, min_trades=args.min_trades)
    if judged is not None:
        console.print(judge_line(judged), markup=False, highlight=False)
    if args.out:
        console.print(f"ledger and summary written to {args.out}")
    if args.report:
        console.print(f"report written to {args.report}/report.html")
    return 0
