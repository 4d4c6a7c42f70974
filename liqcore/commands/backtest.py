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

    parser.add_argument("paths", nargs="*", metavar="PATH", help="recordings (files or directories)")
    from liqcore.io import format_arg

    parser.add_argument("--format", default=None, metavar="F", type=format_arg,
                        help="force the input format (default: detect per file; see `liqcore events --help`)")
    parser.add_argument("--allow-empty", action="store_true",
                        help="exit 0 (with a warning) when the input yields no usable events, instead of failing")
    parser.add_argument("--start", default=None, metavar="DATE",
                        help="only events from this UTC date/time on (e.g. 2026-01-05 or 2026-01-05T12:00)")
    parser.add_argument("--end", default=None, metavar="DATE", help="only events before this UTC date/time")
    src = parser.add_argument_group("synthetic market")
    src.add_argument("--synthetic", action="store_true", help="backtest a synthetic market instead of files")
    src.add_argument("--days", type=float, default=30.0, help="synthetic market length in days (default 30)")
    src.add_argument("--symbols", default=None,
                     help="comma list of symbols: the synthetic market's (default: BTCUSDT,ETHUSDT,SOLUSDT,"
                          "XRPUSDT,DOGEUSDT), or those read from a partitioned dataset")
    src.add_argument("--seed", type=int, default=7, help="synthetic market seed (default 7)")
    src.add_argument("--venue", default="bybit", help="synthetic market venue (default bybit)")
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


class _Steps:
    """A rich progress display of named steps on stderr (silent when disabled)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._p = None

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._p = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                               console=Console(stderr=True), transient=True)
            self._p.__enter__()
        return self

    def step(self, text: str):
        if self._p is not None:
            for t in self._p.tasks:
                if not t.finished:
                    self._p.update(t.id, completed=1, total=1)
            self._p.add_task(text, total=None)

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.__exit__(*exc)


def load_source(args, params, steps):
    """(events, registry, label) from the arguments (recordings, a partitioned dataset read with
    the --symbols/--start/--end filters, or a synthetic market)."""
    import numpy as np

    from liqcore.commands._scale import parse_time

    start = parse_time(getattr(args, "start", None), "start")
    end = parse_time(getattr(args, "end", None), "end")
    if start is not None and end is not None and end <= start:
        raise ValueError("end: must be after start")

    def _window(events):
        if start is None and end is None:
            return events
        t = events["ts_event"]
        m = np.ones(len(events), dtype=bool)
        if start is not None:
            m &= t >= start
        if end is not None:
            m &= t < end
        out = events[m]
        if len(out) == 0:
            raise ValueError("start/end: no events in the requested time range")
        return out

    if args.synthetic:
        if args.paths:
            raise ValueError("paths: give either recordings or --synthetic, not both")
        from liqcore.backtest.synthetic import synthetic_market

        kw = {}
        if args.symbols:
            kw["symbols"] = tuple(s.strip() for s in args.symbols.split(",") if s.strip())
        preset = getattr(args, "preset", None)
        if getattr(args, "knob", None) or getattr(args, "synthetic_effects", None):
            from liqcore.commands.features import synthetic_knobs

            over, eff = synthetic_knobs(args)
            kw["overrides"] = over
            kw["effects"] = {**(getattr(args, "synthetic_effects", None) or {}), **eff}
        steps.step(f"synthetic market: {args.days:g} days")
        m = synthetic_market(days=args.days, seed=args.seed, venue=args.venue, preset=preset, **kw)
        args._market = m
        what = f", preset {preset}" if preset else ""
        return _window(m.events), m.registry, f"synthetic market ({m.days:g} days, {', '.join(m.symbols)}, seed {m.seed}{what})"
    if not args.paths:
        raise ValueError("paths: give recordings to backtest, or --synthetic")
    from liqcore.dataset import is_dataset, load_dataset

    if len(args.paths) == 1 and is_dataset(args.paths[0]):
        steps.step("reading the dataset")
        syms = [s.strip() for s in args.symbols.split(",") if s.strip()] if args.symbols else None
        res = load_dataset(args.paths[0], symbols=syms, start_ns=start, end_ns=end,
                           max_clock_skew_ns=params.max_clock_skew_ns)
        from liqcore.venues.common import fill_recv

        fill_recv(res.events, params.feed_latency_ns)
        if len(res.events) == 0:
            raise ValueError("paths: the dataset holds no events for the requested symbols and dates")
        return res.events, res.registry, f"dataset {args.paths[0]}"
    from liqcore.io import load_events, require_events

    steps.step("loading recordings")
    res = load_events(args.paths, format=args.format, feed_latency_ns=params.feed_latency_ns,
                      max_clock_skew_ns=params.max_clock_skew_ns)
    require_events(res, args.paths, allow_empty=getattr(args, "allow_empty", False))
    return _window(res.events), res.registry, f"{len(res.sources)} file(s): " + ", ".join(res.sources)


def run(args) -> int:
    import orjson

    from liqcore.backtest.run import detect, input_kinds, prepare_events, resolve_strategy, run_strategy
    from liqcore.config import params_from_args

    params = params_from_args(args)
    # an unknown strategy or a parameter of another strategy: one clear line, before any work
    strategy, params = resolve_strategy(None, params)
    if not (args.equity > 0):
        raise ValueError("equity: must be positive")
    if args.min_trades < 1:
        raise ValueError(f"min-trades: must be >= 1; got {args.min_trades}")
    from liqcore.commands.outputs import output_dir

    output_dir(args.out, "--out")
    output_dir(args.report, "--report")
    with _Steps(not args.no_progress and not args.json) as steps:
        events, registry, label = load_source(args, params, steps)
        events = prepare_events(events)
        if len(events):  # an empty input (--allow-empty) has nothing to check
            type(strategy).check_inputs(input_kinds(events))
        records = None
        det_counts: dict = {}
        if type(strategy).uses_detector:
            steps.step(f"detecting cascades in {len(events):,} events")
            records, det_counts = detect(events, params)
        steps.step(f"strategy {type(strategy).name}: signals and execution")
        res = run_strategy(events, registry, params, strategy, equity=args.equity, records=records)
        res.detector_counts = det_counts
        if args.out:
            steps.step("writing ledger and summary")
            res.save(args.out)
        if args.report:
            steps.step("writing the report")
            from liqcore.backtest.report import write_report

            write_report(res, args.report, title=f"liqcore backtest ({res.strategy}): {label}", min_trades=args.min_trades)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(res.to_json(), option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
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
    if args.out:
        console.print(f"ledger and summary written to {args.out}")
    if args.report:
        console.print(f"report written to {args.report}/report.html")
    return 0
