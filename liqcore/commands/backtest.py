"""Backtest a strategy (default: the cascade market-maker, ``cascade-mm``) on recordings (any format
``liqcore.load_events`` reads) or on a synthetic market.  The strategy turns the events (and, for
strategies that use it, the cascade detector's records) into signals; the execution model replays
trades and signals into orders, fills and trades.

The details: docs/reference/commands.md, "`liqcore backtest`".

May import: ``numpy``, ``orjson``, ``backtest.chunked``, ``backtest.report``, ``backtest.rules``,
``backtest.run``, ``backtest.stream``, ``cache``, ``config``, ``dataset``, ``dataset.read``,
``execution.events``, ``instruments``, ``io``, ``venues.common`` and this package's ``_judge``, ``_market``,
``inputs``, ``outputs``.
"""
from __future__ import annotations

import os
import sys

HELP = "backtest a strategy (default cascade-mm) on recordings or a synthetic market"


def add_arguments(parser) -> None:
    from liqcore.config import add_param_arguments

    from liqcore.commands.inputs import add_source_arguments

    add_source_arguments(parser, what="backtest")
    # --days is the synthetic market's length: None when not given, so that recordings given it can be told apart
    # (refused: it would be ignored) from recordings given nothing (:func:`_synthetic_days`)
    parser.set_defaults(days=None, synthetic_days=parser.get_default("days"))
    out = parser.add_argument_group("output")
    out.add_argument("--equity", type=float, default=10_000.0, help="starting equity in quote units (default 10000)")
    out.add_argument("--out", metavar="DIR", help="write ledger and summary as Parquet and CSV into DIR")
    out.add_argument("--report", metavar="DIR", help="write an HTML report with figures into DIR")
    out.add_argument("--json", action="store_true",
                     help='print one JSON object {"summary": {...}, "trades": [...]} instead of tables')
    out.add_argument("--no-progress", action="store_true", help="no progress display")
    out.add_argument("--chunk-days", type=float, default=None, metavar="D",
                     help="a partitioned dataset is read and replayed in time chunks of D days, so memory holds "
                          "one chunk, not the span (default: about a million rows of the densest day, at most 1 day, "
                          "at least 1 hour; 0: load the span whole); the results are the same")
    out.add_argument("--workers", type=int, default=None, metavar="N",
                     help="a dataset read in chunks: N processes read the next time ranges (every venue and "
                          "symbol of the selection) while this one detects and replays the current one, each "
                          "holding one range (default 1; 0: one per core); the results are the same")
    out.add_argument("--read", choices=("auto", "windows", "all"), default="auto",
                     help="a dataset: auto (default; windows is the same) reads what the strategy declares: for a "
                          "window-local strategy such as cascade-mm the liquidations, the trade rows that time the "
                          "detector at each, then trades (and, under --fill queue, the book) only from each signal "
                          "to its last possible exit -- the full replay's trades and cascades, exactly; it replays "
                          "every event (and says why) where the dataset's statistics cannot prove that, or with "
                          "--chunk-days; all: replay every event")
    out.add_argument("--min-trades", type=int, default=30, metavar="N",
                     help="fewest completed trades for which the results are compared with the trading "
                          "guide's claims; below, the summary and report say the sample is too small (default 30)")
    add_param_arguments(parser)
    wm = parser.add_argument_group("whole market (--symbols all)")
    wm.add_argument("--instruments", default=None, metavar="FILE",
                    help="--symbols all: the instrument list with each symbol's trading rules: the file liqcore run / "
                         "record --symbols all cache (universe-<venue>-<quote>.json) or the venue's own answer to its "
                         "instrument-list request; default: the venue's cached list")
    from liqcore.commands._market import add_cached_list_argument, add_universe_arguments

    add_cached_list_argument(wm)
    add_universe_arguments(wm, also=None, narrowed="not traded")
    xv = parser.add_argument_group("cross-venue cascades")
    xv.add_argument("--scope", choices=("venue", "instrument"), default="venue",
                    help="venue (default): cascades per (venue, symbol); instrument: counted across the venues of one "
                         "instrument (a strategy that reads cascades then trades the venue that fired first, or "
                         "--trade-venue)")
    xv.add_argument("--trade-venue", default=None, metavar="V",
                    help="--scope instrument: trade every cascade on this venue's symbol of the instrument")
    xv.add_argument("--instrument-table", default=None, metavar="TOML",
                    help="--scope instrument: instrument overrides ([instruments.<id>] <venue> = symbol)")
    from liqcore.commands._judge import add_judge_arguments

    add_judge_arguments(parser)


def run(args) -> int:
    from liqcore.backtest.run import resolve_strategy
    from liqcore.config import params_from_args

    params = params_from_args(args)
    # an unknown strategy or a parameter of another strategy: one clear line, before any work
    strategy, params = resolve_strategy(None, params)
    from liqcore.commands._judge import judged_strategy

    strategy = judged_strategy(args, strategy)
    if not (args.equity > 0):
        raise ValueError("equity: must be positive")
    if args.workers is not None and args.workers < 0:
        raise ValueError(f"workers: must be >= 0 (0: one per core); got {args.workers}")
    from liqcore.commands._scale import max_workers

    if args.workers is not None and args.workers > max_workers():  # (a pool of billions never starts)
        raise ValueError(f"workers: must be at most {max_workers()} (4 processes a CPU, at least 64: more only wait "
                         f"on each other; 0: one per core); got {args.workers}")
    if args.min_trades < 1:
        raise ValueError(f"min-trades: must be >= 1; got {args.min_trades}")
    if args.chunk_days is not None:  # (checked whatever the source, as a dataset's chunked read checks it)
        from liqcore.units import parse_days

        parse_days(args.chunk_days, "chunk-days", zero_ok=True)
    _synthetic_days(args)
    from liqcore.commands import inputs
    from liqcore.commands.outputs import output_dir

    output_dir(args.out, "--out")
    output_dir(args.report, "--report")
    _whole_market_flags(args)
    if args.synthetic:  # the synthetic market's kinds are known: a missing input is refused before it is built
        type(strategy).check_inputs(inputs.SYNTHETIC_KINDS, params)
    with inputs.Steps(not args.no_progress and not args.json) as steps:
        if args.trade_venue and args.scope != "instrument":
            raise ValueError("trade-venue: only with --scope instrument")
        if args.instrument_table and args.scope != "instrument":
            raise ValueError("instrument-table: only with --scope instrument")
        res = _chunked(args, params, strategy, steps)
        if res is not None:
            label, n_events = f"dataset {args.paths[0]}", res.n_events
        else:
            res, label, n_events = _whole(args, params, strategy, steps)
        judged = _write(args, res, strategy, steps, label)
    return _show(args, res, judged, label, n_events)


def _synthetic_days(args) -> None:
    """``--days`` is the synthetic market's length (its help says so): not given, the synthetic market's default
    (given without ``--synthetic`` it is refused before the command runs, as every synthetic-only option is:
    ``liqcore.cli``, :class:`~liqcore.commands.inputs._SyntheticOnly`)."""
    if args.days is None:
        args.days = args.synthetic_days


def _whole(args, params, strategy, steps):
    """(result, label, events) of the span loaded whole."""
    from liqcore.backtest.run import detect, input_kinds, prepare_events, run_strategy
    from liqcore.commands import inputs

    events, registry, label = inputs.load_source(args, params, steps, filter_symbols=not args.whole_market)
    events = prepare_events(events)
    rules = refuse = None
    if args.whole_market:
        from liqcore.backtest.rules import trade_symbols

        rules, refuse = _market_rules(args, trade_symbols(events, registry), registry, steps)
    if len(events):  # an empty input (--allow-empty) has nothing to check
        type(strategy).check_inputs(input_kinds(events), params)
    records = None
    det_counts: dict = {}
    if type(strategy).uses_detector and args.scope == "instrument":
        from liqcore.instruments import detect_instruments, groups, load_table, retarget

        steps.step(f"detecting instrument-scope cascades in {len(events):,} events")
        table = load_table(args.instrument_table)
        group, _ = groups(registry, table)
        records, _shares, det_counts, _ = detect_instruments(events, registry, params, group=group)
        if args.trade_venue:
            records, det_counts["dropped_no_trade_venue"] = retarget(records, registry, group, args.trade_venue)
    elif type(strategy).uses_detector:
        steps.step(f"detecting cascades in {len(events):,} events")
        records, det_counts = detect(events, params)
    books, depth_note = _depth_start(args, params, registry)
    steps.step(f"strategy {type(strategy).name}: signals and execution")
    try:
        res = run_strategy(events, registry, params, strategy, equity=args.equity, records=records, rules=rules,
                           refuse=refuse, depth_start=books)
    finally:
        if getattr(strategy, "runner", None) is not None:
            strategy.runner.close()
    res.detector_counts = det_counts
    if depth_note and not res.fill_fallback:
        res.depth_note = depth_note
    return res, label, len(events)


def _depth_start(args, params, registry):
    """A dataset with depth loaded whole from ``--start`` under the queue rule: each symbol's depth book just
    before it and the note on the books unknown there (:func:`liqcore.backtest.depth_start.span_books`, as
    the chunked and window-local reads put them back); ``(None, None)`` otherwise."""
    from liqcore.commands import inputs
    from liqcore.dataset import has_depth, is_dataset

    start, _end = inputs.time_window(args)
    if (start is None or getattr(params, "fill", "") != "queue" or args.synthetic or len(args.paths) != 1
            or not is_dataset(args.paths[0]) or not has_depth(args.paths[0])):
        return None, None
    from liqcore.backtest.depth_start import span_books

    return span_books(str(args.paths[0]), registry, int(start))


def _whole_market_flags(args) -> None:
    """``args.whole_market``: ``--symbols all``; the flags that narrow it only with it, and not on a synthetic
    market or across venues (one line each)."""
    args.whole_market = str(getattr(args, "symbols", None) or "").strip().lower() == "all"
    if not args.whole_market:
        for name in ("exclude", "instruments", "rest_url"):
            if getattr(args, name):
                raise ValueError(f"{name.replace('_', '-')}: only with --symbols all")
        if args.min_volume is not None:
            raise ValueError("min-volume: only with --symbols all")
        return
    if args.synthetic:
        raise ValueError("symbols: --symbols all backtests a whole-market recording or dataset (liqcore record "
                         "--symbols all); a synthetic market takes a symbol list")
    if args.scope == "instrument":
        raise ValueError("scope: --symbols all trades one venue's whole market; --scope instrument takes a list")
    if args.min_volume is not None and not args.min_volume >= 0:
        raise ValueError(f"min-volume: must be >= 0 quote units; got {args.min_volume}")
    args.symbols = None  # every symbol of the input is read and detected


def _market_dataset(args, params, strategy, steps, start, end, days, workers):
    """A whole-market dataset read in time chunks (:func:`liqcore.backtest.run.backtest_chunked`; memory holds one
    chunk): every symbol's cascades detected, the traded symbols on their rules; None (the span loaded whole,
    said) where chunks cannot give the whole load's result."""
    from liqcore.backtest.run import backtest_chunked
    from liqcore.backtest.stream import NotStreamable
    from liqcore.dataset.read import trade_symbols

    with_trades = trade_symbols(args.paths[0], start, end)
    try:
        res = backtest_chunked(args.paths[0], params, strategy, start_ns=start, end_ns=end, equity=args.equity,
                               chunk_days=days, workers=workers,
                               trading=lambda reg: _market_rules(args, with_trades, reg, steps)[::-1])
    except NotStreamable as exc:
        if not args.json:
            print(f"backtest: reading the span whole ({exc})", file=sys.stderr)
        return None
    if not res.n_events:
        return None
    type(strategy).check_inputs(res.kinds, params)
    if not args.json:
        print(f"backtest: read in chunks of {days * 24:g} hour(s) of every symbol's rows (--symbols all)",
              file=sys.stderr)
    return res


def _market_rules(args, with_trades, registry, steps):
    """``(rules, refuse)`` of a whole-market backtest (:mod:`liqcore.backtest.rules`): each traded symbol's
    trading rules, and why each other symbol of the data is not traded (``with_trades``: the symbols with a
    trade in the data; None: not known); said on stderr in one line."""
    from liqcore.backtest.rules import load_rules, refusals
    from liqcore.commands._market import symbol_list

    venues = sorted({v.name.lower() for _sid, v, _s in registry if int(v)})
    if len(venues) != 1:
        raise ValueError(f"symbols: --symbols all trades one venue's whole market; the input holds "
                         f"{', '.join(venues) or 'no venue'}")
    venue = venues[0]
    steps.step(f"reading {venue}'s trading rules")
    if args.instruments and args.rest_url:
        raise ValueError("instruments: give --instruments FILE or --rest-url URL, not both")
    path = args.instruments
    if path is None and args.rest_url is None:  # an OKX recording keeps the list it was sized with beside it
        from liqcore.backtest.rules import kept_list

        path = kept_list(args.paths)
    universe, source = load_rules(path, venue, args.quote, base_url=args.rest_url)
    if args.min_volume is not None and not universe.turnover:
        raise ValueError(f"min-volume: the instrument list {source} holds no 24 h turnover; give one that does "
                         "(liqcore's cached list) or leave --min-volume out")
    refuse = refusals(registry, with_trades, universe, exclude=symbol_list(args.exclude), quote=args.quote,
                      min_volume=args.min_volume)
    rules = {s: universe.rules[s] for sid, _v, s in registry if sid not in refuse}
    why: dict = {}
    for r in refuse.values():
        why[r] = why.get(r, 0) + 1
    if not args.json:
        left = ", ".join(f"{n} {r}" for r, n in sorted(why.items()))
        print(f"backtest: whole market of {venue}: {len(registry)} symbols in the input, {len(rules)} traded on "
              f"their trading rules from {source}" + (f"; not traded (symbols): {left}" if left else ""),
              file=sys.stderr)
    return rules, refuse


def _write(args, res, strategy, steps, label: str):
    """Write ``--out`` / ``--report``; returns the judge's summary (or None)."""
    from liqcore.commands._judge import judge_summary

    judged = judge_summary(strategy)
    if args.out:
        steps.step("writing ledger and summary")
        res.save(args.out)
    if args.report:
        steps.step("writing the report")
        from liqcore.backtest.report import write_report

        if res.events is None:  # a chunked run: the events around the report's example trades
            _example_events(args, res)

        write_report(res, args.report, title=f"liqcore backtest ({res.strategy}): {label}", min_trades=args.min_trades)
    return judged


def _show(args, res, judged, label: str, n_events: int) -> int:
    import orjson

    from liqcore.commands._judge import judge_line

    if args.json:
        out = res.to_json()
        if judged is not None:
            out["judge"] = judged
        sys.stdout.buffer.write(orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
        return 0
    from rich.console import Console

    from liqcore.backtest.report import print_summary

    console = Console()
    tot = res.summary()  # the same counts as the table's ALL column (never the strategy's raw signal rows)
    console.print(f"[bold]{label}[/]: {n_events:,} events, {res.n_prints:,} trade prints; "
                  f"strategy [bold]{res.strategy}[/]: {tot['cascades']:,} cascades, {tot['signals']:,} signals")
    if args.synthetic:
        from liqcore.cache import cache_dir
        from liqcore.synthetic.cache import UNWRITABLE

        if str(cache_dir()) not in UNWRITABLE:  # (an unwritable cache: said once, where its write failed)
            console.print(f"market cache: {cache_dir()} ('liqcore cache info' / 'liqcore cache clear')",
                          markup=False, highlight=False, soft_wrap=True)
    print_summary(res, console, min_trades=args.min_trades)
    why = res.strategy_obj.why_no_decision(res) if not tot["signals"] and res.strategy_obj is not None else None
    if why:  # "0 cascades" alone does not say whether the data, the detector or the strategy's rule decided
        console.print(f"no decision: {why}", markup=False, highlight=False, soft_wrap=True)
    if judged is not None:
        console.print(judge_line(judged), markup=False, highlight=False)
    if args.out:
        console.print(f"ledger and summary written to {args.out}")
    if args.report:
        from pathlib import Path

        from liqcore._extras import have

        console.print(f"report written to {Path(args.report) / 'report.html'}"
                      + ("" if have("matplotlib") else " (without its charts: pip install 'liqcore[plot]' draws them)"),
                      highlight=False, markup=False)
    return 0


def _chunked(args, params, strategy, steps):
    """The backtest of a dataset read in time chunks (:mod:`liqcore.backtest.chunked`), or None: the
    source is not one dataset, ``--chunk-days 0``, or chunks would not give the whole load's result
    (then one line says why and the span is loaded whole)."""
    from liqcore.backtest.chunked import default_chunk_days
    from liqcore.backtest.run import backtest_chunked
    from liqcore.backtest.stream import NotStreamable
    from liqcore.commands import inputs
    from liqcore.dataset import check_selection, is_dataset, load_dataset

    days = None if args.chunk_days is None else float(args.chunk_days)
    if days is not None and not (days >= 0):
        raise ValueError(f"chunk-days: must be >= 0; got {args.chunk_days}")
    if args.synthetic or days == 0 or len(args.paths) != 1 or not is_dataset(args.paths[0]):
        return None
    start, end = inputs.time_window(args)
    syms = inputs.symbol_list(args.symbols) if getattr(args, "symbols", None) else None
    sel = check_selection(args.paths[0], syms, start, end)  # a missing symbol or date: the whole read's error
    if days is None and args.whole_market:
        days = default_chunk_days(args.paths[0], syms, start, end)
    if args.whole_market:  # (the window-local read follows one symbol)
        return _market_dataset(args, params, strategy, steps, start, end, days, _workers(args))
    how = getattr(args, "read", "auto")
    scope = {}
    if getattr(args, "scope", "venue") == "instrument":  # cascades across venues: the full replay's chunks
        from liqcore.instruments import load_table

        scope = dict(scope="instrument", trade_venue=args.trade_venue, table=load_table(args.instrument_table))
        if how != "all" and not args.json:
            print("backtest: replaying every event (--scope instrument: the window-local read follows one "
                  "venue's cascades)", file=sys.stderr)
        how = "all"
    if how == "windows" or (how == "auto" and args.chunk_days is None):  # --chunk-days: the full replay's chunks
        from liqcore.backtest.run import backtest_windows
        from liqcore.dataset.pages import UNPLACED

        unplaced = UNPLACED[0]
        try:
            res = backtest_windows(args.paths[0], params, strategy, symbols=syms, start_ns=start, end_ns=end,
                                   equity=args.equity)
        except NotStreamable as exc:
            res = None
            if not args.json:
                print(f"backtest: replaying every event ({exc})", file=sys.stderr)
        if res is not None:
            r = res.read
            if not args.json:
                print(f"backtest: read window-local: {r['rows_read']:,} rows decoded of the selection's "
                      f"{r['rows_total']:,} rows (liquidations, then trades"
                      f"{' and the book' if params.fill == 'queue' and not res.fill_fallback else ''} in the "
                      "signals' windows, "
                      f"{r['rows_skipped']:,} rows passed over in row groups where nothing could reach the live "
                      f"order or position), and the time columns of {r['rows_clock']:,} trade rows for the "
                      f"detector's clock ({r.get('clock_indexed', 0):,} liquidations' clock setters from the "
                      "files' clock index; --read all replays every event); "
                      f"{r.get('windows_unread', 0):,} signal(s) refused whatever the prints (a cooldown, the loss "
                      "limits, ...): their windows not read", file=sys.stderr)
                if r.get("depth"):
                    dd = r["depth"]
                    print(f"backtest: the queue at depth: {dd['rows']:,} depth rows read (each window's, its book "
                          f"put back from the checkpoint before it {dd['starts']:,} time(s)); of them "
                          f"{dd.get('filtered', 0):,} only built the book (away from the working order's and its "
                          f"take-profit's levels while no signal came: the book put back {dd.get('rebuilt', 0):,} "
                          f"time(s) instead of replaying them)", file=sys.stderr)
            if UNPLACED[0] > unplaced:
                print(f"backtest: note: {args.paths[0]} was written without its pages' places (the Parquet offset "
                      "index, which a convert writes now): each window reads its column chunks from "
                      f"their start; `liqcore dataset upgrade {args.paths[0]}` (or converting the source files into a "
                      "new dataset) writes them, and a window then reads only the pages it decodes", file=sys.stderr)
            if res.n_events:
                type(strategy).check_inputs(res.kinds, params)
                return res
    if days is None:  # (every partition's footer: only for the chunked read, not before the window plan)
        days = default_chunk_days(args.paths[0], syms, start, end)
    span = f"{days * 24:g} hour(s)" if days < 1 else f"{days:g} day(s)"
    workers = _workers(args)
    by = f", {workers} reading processes" if workers > 1 else ""
    if args.workers is None and (os.cpu_count() or 1) > 1 and not args.json and \
            len({p[2] for p in sel}) > days:  # (more than one chunk)
        print(f"backtest: note: --workers 2 (0: one per core, {os.cpu_count()} here) reads the next chunks in other "
              "processes while this one replays them: the same result, sooner", file=sys.stderr)
    advance = steps.counted(f"reading the dataset in chunks of {span}{by}: detection and execution",
                            _selected_rows(args.paths[0], syms, start, end), "rows of the selected days")
    try:
        res = backtest_chunked(args.paths[0], params, strategy, symbols=syms, start_ns=start, end_ns=end,
                               equity=args.equity, chunk_days=days, on_chunk=advance, workers=workers, **scope)
    except NotStreamable as exc:
        if not args.json:
            print(f"backtest: reading the span whole ({exc})", file=sys.stderr)
        return None
    if res.n_events:
        type(strategy).check_inputs(res.kinds, params)
    else:
        from liqcore.io import LoadResult, require_events

        require_events(LoadResult(events=load_dataset(args.paths[0], symbols=syms, start_ns=start, end_ns=end,
                                                      check=False).events[:0], registry=res.registry),
                       args.paths, allow_empty=getattr(args, "allow_empty", False), usable=0)
    return res


def _workers(args) -> int:
    """The reading processes ``--workers`` asks for (not given: 1; 0: one per core)."""
    return 1 if args.workers is None else args.workers or (os.cpu_count() or 1)


def _selected_rows(path, syms, start, end) -> int:
    """The rows of the selection's partitions (from the Parquet footers; 0 when they cannot be read)."""
    from liqcore.io import storage
    from liqcore.dataset.read import check_selection, rows_per_partition

    if storage.is_url(str(path)):  # a footer costs a request there
        return 0
    try:
        return int(sum(rows_per_partition(path, check_selection(path, syms, start, end)).values()))
    except (ValueError, OSError):
        return 0


def _example_events(args, res) -> None:
    """``res.events``: the dataset's events around the trades the report plots (a chunked run keeps
    no events), read one time range per trade."""
    import numpy as np

    from liqcore.backtest.report import pick_examples
    from liqcore.dataset import load_dataset
    from liqcore.execution.events import prepare_events
    from liqcore.venues.common import fill_recv

    L = res.ledger
    if not len(L):
        return
    parts = []
    skew = int(res.params.max_clock_skew_ns or 0)
    for k in pick_examples(res):
        lo = int(L[k]["signal_ns"]) - 120 * 10**9 - skew
        hi = int(L[k]["exit_ns"]) + 120 * 10**9 + 1
        r = load_dataset(args.paths[0], start_ns=lo, end_ns=hi, registry=res.registry, check=False,
                         max_clock_skew_ns=res.params.max_clock_skew_ns, trade_ids=False)
        fill_recv(r.events, res.params.feed_latency_ns)
        parts.append(r.events)
    ev = prepare_events(np.concatenate(parts))
    keep = np.ones(len(ev), dtype=bool)
    keep[1:] = (ev[1:] != ev[:-1])  # the ranges of neighbouring trades overlap
    res.events = ev[keep]
