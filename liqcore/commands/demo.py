"""Demo: build (or load from the cache) the default synthetic market, 30 days x 5 symbols, detect
cascades, backtest the trading guide's strategy with its presets (BTC: offset 0.10 %, TP 0.50 %),
print the summary next to the guide's claims, and write an HTML report (default ./liqcore-report/).

The synthetic market is calibrated on the guide's cascade counts and thresholds, never on strategy
results: whatever the strategy earns or loses on it is reported as measured.
"""
from __future__ import annotations

import time

HELP = "build the default synthetic market (30 days x 5 symbols), detect, backtest, report"


def add_arguments(parser) -> None:
    parser.add_argument("--days", type=float, default=30.0, help="market length in days (default 30)")
    parser.add_argument("--symbols", default=None,
                        help="comma list (default: BTCUSDT,ETHUSDT,SOLUSDT,XRPUSDT,DOGEUSDT)")
    parser.add_argument("--seed", type=int, default=7, help="market seed (default 7)")
    parser.add_argument("--equity", type=float, default=10_000.0, help="starting equity (default 10000)")
    parser.add_argument("--report", metavar="DIR", default=None,
                        help="report directory (default ./liqcore-report)")
    parser.add_argument("--no-report", action="store_true", help="print the summary only")
    parser.add_argument("--cache-dir", metavar="DIR", default=None,
                        help="synthetic market cache (default $LIQCORE_CACHE_DIR or the user cache directory; see liqcore cache)")
    from liqcore.commands.inputs import add_cache_max_argument

    add_cache_max_argument(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress display")
    parser.add_argument("--min-trades", type=int, default=30, metavar="N",
                        help="fewest completed trades for which the results are compared with the trading "
                             "guide's claims (default 30)")


def fill_line(res) -> str:
    """One fill rule's result in a line: fills, trades, total return, and the fill model."""
    s = res.summary()
    return (f"{s['fill_model']}: {s['fills']} fills of {s['orders']} orders, {s['trades']} trades, "
            f"total return {s['total_return'] * 100:+.2f}%")


def run(args) -> int:
    import numpy as np
    from rich.console import Console

    from liqcore.backtest.report import print_summary, write_report
    from liqcore.backtest.run import detect, prepare_events, simulate
    from liqcore.synthetic.market import synthetic_market
    from liqcore.commands.inputs import Steps
    from liqcore.config import Params
    from liqcore.types import Kind

    from liqcore.commands.outputs import output_dir

    if args.min_trades < 1:
        raise ValueError(f"min-trades: must be >= 1; got {args.min_trades}")

    if args.no_report and args.report is not None:  # one of them would be dropped without a word
        raise ValueError(f"report: --report {args.report} and --no-report contradict each other; give one of them")
    if args.report is None:
        args.report = "liqcore-report"
    output_dir(args.cache_dir, "--cache-dir")
    if not args.no_report:
        output_dir(args.report, "--report")
    console = Console()
    params = Params()
    kw = {}
    if args.symbols:
        from liqcore.commands.inputs import warn_unknown_symbols

        kw["symbols"] = tuple(s.strip() for s in args.symbols.split(",") if s.strip())
        warn_unknown_symbols(kw["symbols"], "; its synthetic market is built from generic parameters")
    timings = {}
    t_all = time.perf_counter()
    with Steps(not args.no_progress) as steps:
        steps.step(f"synthetic market: {args.days:g} days (cached after the first run)")
        t = time.perf_counter()
        market = synthetic_market(days=args.days, seed=args.seed, cache_dir=args.cache_dir,
                                  effects={"book": True}, **kw)  # with its top of book: the queue rule reads it
        timings["market"] = time.perf_counter() - t
        book = prepare_events(market.events)
        keep = np.flatnonzero(book["kind"] != int(Kind.QUOTE))  # only the queue rule reads the quotes
        events = book[keep]
        steps.step(f"detecting cascades in {len(events):,} events")
        t = time.perf_counter()
        records, det_counts = detect(events, params)
        timings["detect"] = time.perf_counter() - t
        steps.step("simulating the strategy")
        t = time.perf_counter()
        res = simulate(events, records, market.registry, params, equity=args.equity)
        res.detector_counts = det_counts
        # the same strategy under each fill rule, limits on the price grid: how much is the fill assumption
        on_book = records.copy()
        on_book["event_index"] = keep[on_book["event_index"]]  # the same decisions, on the events with quotes
        fills = {f: simulate(book if f == "queue" else events, on_book if f == "queue" else records,
                             market.registry, params.replace(fill=f, price_grid="auto"), equity=args.equity)
                 for f in ("through", "queue", "touch")}
        timings["simulate"] = time.perf_counter() - t
        # which entries the rules fill differently, and why (knock-on: busy / cooldown / cap; the price grid)
        from liqcore.execution.events import price_grids
        from liqcore.execution.fill_diff import differences_line, fill_differences

        grids = price_grids(book, len(market.registry))
        diff_lines = [differences_line("through", "queue", fill_differences(fills["through"], fills["queue"], grids, grids)),
                      differences_line("queue", "touch", fill_differences(fills["queue"], fills["touch"], grids, grids)),
                      differences_line("through without the grid", "queue",
                                       fill_differences(res, fills["queue"], None, grids))]
        if not args.no_report:
            steps.step("writing the report")
            t = time.perf_counter()
            path = write_report(
                res, args.report,
                title=f"liqcore demo: synthetic market, {market.days:g} days, {', '.join(market.symbols)}",
                notes=["This is a SYNTHETIC market (liqcore.synthetic.market), calibrated on the trading "
                       "guide's cascade frequencies and thresholds, not on strategy results. Results here say "
                       "how the strategy behaves on that model, not what it would earn live.",
                       "The same strategy under each fill rule (limits on the price grid): "
                       + "; ".join(fill_line(r) for r in fills.values()) + ". Entries filled differently: "
                       + "; ".join(diff_lines) + "."],
                min_trades=args.min_trades)
            timings["report"] = time.perf_counter() - t
    total = time.perf_counter() - t_all
    console.print(f"[bold]synthetic market[/]: {market.days:g} days, {', '.join(market.symbols)}, seed {market.seed}: "
                  f"{len(events):,} events, {res.n_prints:,} trade prints, {len(res.records)} cascades confirmed")
    if market.cache_path is not None:
        console.print(f"market cache: {market.cache_path} ('liqcore cache clear' deletes it)",
                      markup=False, highlight=False, soft_wrap=True)
    print_summary(res, console, min_trades=args.min_trades)
    console.print("the same strategy under each fill rule (maker limits on the price grid; a post-only order "
                  "fills through the price, at it behind the displayed queue, or on any touch). The summary above "
                  f"({res.summary()['fills']} fills) is the through rule with each limit at its exact offset price; "
                  "below, every limit is rounded onto the symbol's price grid (its tick) as a venue would take it, "
                  "so some entries fill or miss differently (the 'through without the grid vs queue' line "
                  "counts them):", highlight=False)
    for r in fills.values():
        console.print("  " + fill_line(r), markup=False, highlight=False)
    console.print("entries filled under one rule only (knock-on: the other run was busy, in cooldown or at its "
                  "symbol cap then; grid: the limit was off the other run's price grid; rule: the looser rule's own "
                  "fill, at the limit or on a touch; other: none of these):", highlight=False)
    for line in diff_lines:
        console.print("  " + line, markup=False, highlight=False)
    console.print("times: " + ", ".join(f"{k} {v:.2f}s" for k, v in timings.items()) + f"; total {total:.2f}s")
    if not args.no_report:
        console.print(f"report: {path}")
    return 0
