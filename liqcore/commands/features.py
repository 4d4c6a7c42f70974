"""Named point-in-time features at given times, the list of feature names, or feature bars.

The details: docs/reference/commands.md, "`liqcore features`".

May import: ``orjson``, ``pandas``, ``_atomic``, ``backtest.metrics``, ``config``, ``features.registry``,
``features.store``, ``research.features`` and this package's ``inputs``, ``outputs``.
"""
from __future__ import annotations
from liqcore._extras import need

from liqcore._tables import titled_table

HELP = "named point-in-time features at given times (--at/--names, --list), or feature bars (--bar)"


def add_arguments(parser) -> None:
    from liqcore.config import add_param_arguments

    from liqcore.commands.inputs import add_plugin_argument, add_source_arguments

    add_source_arguments(parser)
    named = parser.add_argument_group("named features")
    named.add_argument("--list", action="store_true", help="print every feature name with its definition and exit")
    named.add_argument("--at", metavar="T[,T...]", help="times: ISO-8601 (2026-01-05T13:00:00Z) or ns since the epoch")
    named.add_argument("--names", metavar="N[,N...]", help="feature names, e.g. flow.ofi@5m:zscore (see --list)")
    named.add_argument("--json", action="store_true", help="one JSON object per (time, instrument) on stdout")
    named.add_argument("--lookback", type=int, default=96,
                       help="history values of a transform: the feature at t - k*window, k = 1..N (default 96)")
    named.add_argument("--min-periods", type=int, default=20,
                       help="fewer non-null history values than this give null (default 20)")
    add_plugin_argument(named)
    bars = parser.add_argument_group("bars")
    # defaults None (resolved in bar mode) so that a bar option given with --at/--names or --list is refused
    bars.add_argument("--bar", default=None, help="bar length (default 1m)")
    bars.add_argument("--zscore-window", type=int, default=None,
                      help="bars in the z-score baseline, before the bar scored (default 96)")
    bars.add_argument("--lag", default=None, help="publication lag added to the bar close for available_ns (default 0s)")
    bars.add_argument("--sparse", action="store_true", help="write only bars with events (default: every bar)")
    out = parser.add_argument_group("output")
    out.add_argument("--out", metavar="FILE", help="write the bars to FILE (.parquet or .csv)")
    out.add_argument("--no-progress", action="store_true", help="no progress display")
    add_param_arguments(parser, groups=("detector",))


def summary_frame(df):
    """One row per symbol: bars, liquidations, notional, cascades, trades, extreme-z bars, funding."""
    pd = need("research", "pandas")

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


def print_list(console) -> None:
    from rich.markup import escape
    from rich.table import Table

    from liqcore.features.registry import FAMILIES, NAMED_FEATURES, TRANSFORMS, all_bases

    console.print("[bold]Grammar[/]: " + escape("family[/all].name@window[:transform]") +
                  "   e.g. liquidations.liq_imbalance@15m:zscore")
    console.print("window: a duration with a unit (ns, us, ms, s, m, h, d), up to 30d; the value at t uses the "
                  "events received in (t - window, t]")
    console.print("/all: liquidations of the symbol merged across every venue in the data\n")
    t = titled_table("transforms (against the feature at t - k*window, k = 1..lookback)", title_justify="left")
    t.add_column("transform")
    t.add_column("definition")
    for k, v in TRANSFORMS.items():
        t.add_row(k, escape(v))
    console.print(t)
    t = titled_table("features", title_justify="left")
    t.add_column("name")
    t.add_column("definition")
    for fam, doc in list(FAMILIES.items()) + [(f, "user features") for f in
                                               sorted({b.family for b in all_bases().values()} - set(FAMILIES))]:
        for b in all_bases().values():
            if b.family == fam:
                t.add_row(escape(f"{b.key}@W"), escape(b.definition))
    console.print(t)
    console.print("[bold]Named features[/] (computed by default by leak-audit):")
    for n in NAMED_FEATURES:
        console.print(f"  {n}")


def run_named(args) -> int:
    import sys

    import orjson
    from rich.console import Console

    from liqcore.commands.inputs import Steps, load_input
    from liqcore.config import params_from_args
    from liqcore.features.store import REASONS, FeatureStore, names_list, parse_times
    from liqcore.features.registry import parse_name

    if not args.at or not args.names:
        raise ValueError("at/names: give both --at T[,T...] and --names N[,N...] (or --list, or --bar for bars)")
    names = list(dict.fromkeys(names_list(args.names)))
    for n in names:
        parse_name(n)  # a bad name fails before any data is loaded
    times = parse_times(args.at, "at")
    params = params_from_args(args)
    with Steps(not args.no_progress and not args.json) as steps:
        events, registry, label, symbols = load_input(args, params, steps)
        if args.synthetic and args.symbols:
            symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
        steps.step(f"features from {len(events):,} events")
        store = FeatureStore(events, registry, params=params, lookback=args.lookback, min_periods=args.min_periods)
        parts = []
        for s in (symbols or [None]):
            parts += store.compute(times, names, s)
    if args.json:
        out = sys.stdout.buffer
        merged = any("/all." in n for n in names)
        sampling = store.sampling()
        for i, t in enumerate(times.tolist()):
            for p in parts:
                vals = {n: (None if p["reasons"][n][i] else float(p["values"][n][i])) for n in names}
                obj = {"t_ns": t, "symbol": p["symbol"], "values": vals}
                if merged:  # how each venue merged into the /all names samples its liquidations
                    sym = p["symbol"].split(":", 1)[1]
                    obj["sampling"] = {k: v for k, v in sampling.items() if k.split(":", 1)[1] == sym}
                nulls = {n: REASONS[int(p["reasons"][n][i])] for n in names if p["reasons"][n][i]}
                if nulls:
                    obj["null_reasons"] = nulls
                out.write(orjson.dumps(obj) + b"\n")
        return 0
    pd = need("research", "pandas")
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    console.print(f"[bold]{label}[/]: {len(events):,} events")
    for p in parts:
        t = titled_table(p["symbol"], title_justify="left")
        t.add_column("time (UTC)")
        for n in names:
            t.add_column(n, justify="right")
        for i, tn in enumerate(times.tolist()):
            cells = [str(pd.Timestamp(tn, unit="ns", tz="UTC"))]
            for n in names:
                r = int(p["reasons"][n][i])
                cells.append(f"null: {REASONS[r]}" if r else f"{p['values'][n][i]:.6g}")
            t.add_row(*cells)
        console.print(t)
    shown = {p["symbol"] for p in parts}
    sampled = [vs for vs, how in store.sampling().items() if "sampled" in how and vs in shown]
    if sampled:
        console.print(f"[yellow]note:[/] liquidations of {', '.join(sampled)} are venue-sampled "
                      "(at most one per symbol per second)")
    if store.dropped:
        console.print(f"dropped (bad values): {store.dropped}")
    from liqcore.backtest.metrics import data_note

    note = data_note(events)
    if note and "no trade prints" not in note:
        console.print(f"[yellow]note:[/] {note}")
    return 0


_BAR_OPTIONS = (("bar", "--bar"), ("zscore_window", "--zscore-window"), ("lag", "--lag"), ("sparse", "--sparse"),
                ("out", "--out"))


def _given(args, options) -> list[str]:
    return [flag for dest, flag in options if getattr(args, dest, None) not in (None, False, [], "")]


def check_modes(args) -> None:
    """The three modes take different options: one given to a mode that would ignore it is an error
    (``--list`` reads no data; ``--at``/``--names`` make no bars)."""
    if args.list:
        extra = (["PATH"] if args.paths else []) + _given(args, (("synthetic", "--synthetic"), ("at", "--at"),
                                                                 ("names", "--names"))) + _given(args, _BAR_OPTIONS)
        extra += [f"--{k[len('param_'):].removesuffix('_ns').replace('_', '-')}" for k, v in vars(args).items()
                  if k.startswith("param_") and v is not None]
        if extra:
            raise ValueError(f"list: --list only prints the feature names and reads no data; it would ignore "
                             f"{', '.join(extra)} (drop {'it' if len(extra) == 1 else 'them'}, or drop --list)")
    elif args.at or args.names:
        extra = _given(args, _BAR_OPTIONS)
        if extra:
            raise ValueError(f"{extra[0].lstrip('-')}: {', '.join(extra)} "
                             f"{'is an option' if len(extra) == 1 else 'are options'} of feature bars, which --at/--names "
                             "do not make (a named feature carries its own window: flow.ofi@1m); give --at/--names "
                             "or bar options, not both")


def run(args) -> int:
    from pathlib import Path

    from liqcore.commands.inputs import load_plugins

    check_modes(args)
    load_plugins(args.plugin)
    if args.list:
        from rich.console import Console

        print_list(Console(width=200) if not Console().is_terminal else Console())
        return 0
    if args.at or args.names:
        return run_named(args)
    args.bar = args.bar if args.bar is not None else "1m"
    args.zscore_window = args.zscore_window if args.zscore_window is not None else 96
    args.lag = args.lag if args.lag is not None else "0s"

    from rich.console import Console

    from liqcore.commands.inputs import Steps, load_input
    from liqcore.commands.outputs import print_frame
    from liqcore.config import parse_duration, params_from_args
    from liqcore.research.features import features

    params = params_from_args(args)
    parse_duration(args.bar, "bar")
    parse_duration(args.lag, "lag")
    if not 1 <= args.zscore_window <= 1_000_000:
        raise ValueError(f"zscore-window: must be a positive integer, at most 1000000 bars; got {args.zscore_window}")
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in (".parquet", ".csv"):
        raise ValueError(f"out: expected a .parquet or .csv file name; got {args.out!r}")
    from liqcore.commands.outputs import output_file

    output_file(out, "--out")
    with Steps(not args.no_progress) as steps:
        events, registry, label, symbols = load_input(args, params, steps)
        steps.step(f"building {args.bar} bars from {len(events):,} events")
        df = features(events, registry, bar=args.bar, zscore_window=args.zscore_window, lag=args.lag,
                      symbols=symbols, params=params, dense=not args.sparse)
        if out is not None:
            steps.step(f"writing {out}")
            from liqcore._atomic import atomic_path

            with atomic_path(out) as tmp:  # the earlier file stays until this one is whole
                if out.suffix.lower() == ".parquet":
                    df.to_parquet(tmp, index=False)
                else:
                    df.to_csv(tmp, index=False)
    console = Console()
    if not console.is_terminal:  # pipes and files: no truncated columns
        console = Console(width=200)
    console.print(f"[bold]{label}[/]: {len(events):,} events -> {len(df):,} bars of {args.bar} "
                  f"(z-scores against the previous {args.zscore_window} bars, available at close + {args.lag})")
    from liqcore._tables import NOTIONAL_UNIT

    print_frame(console, summary_frame(df), "per symbol",
                caption=f"liq_notional: the liquidations' {NOTIONAL_UNIT}, summed over the bars")
    from liqcore.backtest.metrics import data_note

    note = data_note(events)
    if note and "no trade prints" not in note:
        console.print(f"[yellow]note:[/] {note}")
    if df.attrs.get("dropped"):
        console.print(f"dropped (bad values): {df.attrs['dropped']}")
    if out is not None:
        console.print(f"bars written to {out}")
    return 0
