"""Research studies.  ``liqcore study [NAME] PATH...|--synthetic``; NAME is one of event (the
default), ic, heatmap, contagion, volatility, oi, microstructure, strategies, distributions, lag, regimes,
lead-lag.

The details: docs/reference/commands.md, "`liqcore study`".

May import: ``matplotlib``, ``orjson``, ``_atomic``, ``backtest.metrics``, ``config``, ``instruments``,
``research.report``, ``research.studies``, ``research.study``, ``synthetic.venues``, ``venues.common`` and
this package's ``inputs``, ``outputs``.
"""
from __future__ import annotations

import sys
from liqcore._extras import need
from liqcore.types import DEFAULT_VENUE

HELP = "research studies: event (default), ic, heatmap, contagion, volatility, oi, microstructure, strategies, distributions, lag, regimes, lead-lag"

STUDY_NAMES = ("event", "ic", "heatmap", "contagion", "volatility", "oi", "microstructure", "strategies",
               "distributions", "lag", "regimes", "lead-lag")


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
    st.add_argument("--names", metavar="N[,N...]", default=None,
                    help="ic study: the named features to test (default: the named features except the price and "
                         "open-interest levels and the base-unit taker volumes; see liqcore features --list)")
    xv = parser.add_argument_group("lead-lag study (one instrument on several venues)")
    from liqcore.venues.registry import venue_names

    two = ",".join(venue_names()[:2])
    xv.add_argument("--venues", default=two, metavar="V[,V...]",
                    help=f"--synthetic: the venues of the multi-venue synthetic market (default {two})")
    xv.add_argument("--lead", default=None, metavar="VENUE=MS[,...]",
                    help=f"--synthetic: plant a lead, e.g. {DEFAULT_VENUE}=150 ({DEFAULT_VENUE}'s cascades start "
                         "150 ms first; default none)")
    xv.add_argument("--throttle", default=None, metavar="VENUE=MS[,...]",
                    help=f"--synthetic: throttle venues' liquidation streams, e.g. {DEFAULT_VENUE}=1000 (default none)")
    xv.add_argument("--instrument-table", default=None, metavar="TOML",
                    help=f"instrument overrides: [instruments.<id>] with {'/'.join(venue_names())} = symbol")
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true", help='print the result as JSON (event: {"summary": [...], '
                     '"cascades": N, ...})')
    out.add_argument("--plot", metavar="PNG", help="figure(s): event: mean signed return vs horizon with CI bands; "
                     "other studies: their figures (the first at PNG, the others next to it as PNG-stem-NAME.png)")
    out.add_argument("--out", metavar="CSV", help="write one row per cascade to CSV")
    out.add_argument("--no-progress", action="store_true", help="no progress display")
    add_param_arguments(parser, groups=("detector",))


def split_study_name(args) -> str:
    """Take the study name off the front of the paths (``liqcore study contagion rec/``)."""
    from pathlib import Path

    if args.paths and args.paths[0] in STUDY_NAMES and not Path(args.paths[0]).exists():
        return args.paths.pop(0)
    if args.paths and not Path(args.paths[0]).exists():  # a mistyped study name is not a recording
        import difflib

        first = args.paths[0]
        near = difflib.get_close_matches(first.lower(), STUDY_NAMES, n=1, cutoff=0.6)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ValueError(f"study: {first!r} is neither a study nor a file or directory{hint}; the studies are "
                         f"{', '.join(STUDY_NAMES)} (default event), followed by recordings or --synthetic")
    return "event"


def run(args) -> int:
    name = split_study_name(args)
    if args.names is not None and name != "ic":
        raise ValueError(f"names: only the ic study takes --names (not {name})")
    if name != "event":
        return run_named(name, args)
    return run_event(args)


def _shares(frame) -> list[str]:
    """The columns of a study table that hold fractions (shown in %), by the research report's rule."""
    from liqcore.research.report import column_unit

    return [str(c) for c in frame.columns if column_unit(str(c))[1] == "pct"]


def print_result(console, res) -> None:
    from liqcore.commands.outputs import print_frame

    console.print(f"[bold]{res.name}[/]: {res.title}")
    if not res.available:
        console.print(f"[yellow]not available because {res.reason}[/]")
        return
    for tname, t in res.tables.items():
        if t is None or len(t) == 0:
            continue
        show = t
        if len(show) > 60:
            show = show.head(60)
        if show.shape[1] > 14 and len(show) <= 12:  # wide and short: one column per row
            key = show.columns[1] if show.columns[0] == "leader" else show.columns[0]
            show = show.set_index(key).T.reset_index().rename(columns={"index": "field"})
            show.columns = [str(c) for c in show.columns]
            show = show.astype(object)
        print_frame(console, show, tname + (f" (first 60 of {len(t)} rows; --json for all)" if len(t) > 60 else ""),
                    percent=_shares(show))
    for f in res.findings:
        console.print(f"• {f}")


def _check_bootstrap(args) -> None:
    """``--ci`` in (0, 1) and ``--boot`` from 1 to 100000 (the resamples are held together: events x resamples)."""
    if not 0.0 < args.ci < 1.0:
        raise ValueError(f"ci: must be in (0, 1); got {args.ci}")
    if not 1 <= args.boot <= 100_000:
        raise ValueError(f"boot: must be >= 1 and at most 100000 (the resamples are held together: events x "
                         f"resamples); got {args.boot}")


def run_named(name: str, args) -> int:
    import orjson

    from liqcore.commands.inputs import Steps
    from liqcore.commands.inputs import load_input
    from liqcore.config import params_from_args
    from liqcore.research.studies import Panel, run_study

    params = params_from_args(args)
    if args.plot and not args.plot.lower().endswith(".png"):
        raise ValueError(f"plot: expected a .png file name; got {args.plot!r}")
    if name == "lead-lag":  # (its bootstrap: the event study's checks)
        _check_bootstrap(args)
    if args.out:
        raise ValueError("out: only the event study writes per-cascade rows; use --json for this study")
    if args.names is not None and name != "ic":
        raise ValueError(f"names: only the ic study takes --names (not {name})")
    if name == "ic":
        from liqcore.research.studies import check_ic_names

        names = check_ic_names(args.names)  # bad names: exit 2 before the input is read
    if name == "oi" and args.synthetic:
        args.synthetic_effects = {"open_interest": True}
    with Steps(not args.no_progress and not args.json) as steps:
        if name == "lead-lag" and args.synthetic:
            events, registry, label = _venue_market(args, steps)
            symbols = None
        else:
            events, registry, label, symbols = load_input(args, params, steps)
        steps.step(f"{name} study on {len(events):,} events")
        panel = Panel(events, registry, symbols)
        kw = {"params": params}
        if name == "lead-lag" and args.instrument_table:
            from liqcore.instruments import load_table

            kw["table"] = load_table(args.instrument_table)
        if name == "lead-lag":
            kw.update(n_boot=args.boot, ci=args.ci)
        if name == "event":
            kw["horizons"] = args.horizons
        if name == "ic":
            kw["names"] = names
        res = run_study(name, panel, **kw)
        written = []
        if args.plot and res.available and res.plots:
            from pathlib import Path

            matplotlib = need("plot", "matplotlib")

            from liqcore._atomic import atomic_path

            matplotlib.use("Agg")
            target = Path(args.plot)
            target.parent.mkdir(parents=True, exist_ok=True)
            for i, (fname, draw) in enumerate(res.plots):
                p = target if i == 0 else target.with_name(f"{target.stem}-{Path(fname).stem}.png")
                with atomic_path(p, fsync=False) as tmp:  # the earlier figure stays until this one is whole
                    draw(tmp)
                written.append(str(p))
    from liqcore.venues.common import throttle_note

    note = throttle_note(events)  # liquidations from a throttled stream: lower bounds
    if args.json:
        doc = {"source": label, **res.to_json(), "plots": written, "data_note": note}
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
        return 0 if res.available else 1
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=220)
    console.print(f"[bold]{label}[/]")
    if note:
        console.print(f"[yellow]data note:[/] {note}", highlight=False)
    print_result(console, res)
    for p in written:
        console.print(f"figure written to {p}")
    return 0 if res.available else 1  # exit 1: the input holds nothing this study can use


def _venue_ms(text, what: str) -> dict:
    out = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        v, sep, ms = part.partition("=")
        try:
            out[v.strip().lower()] = float(ms)
        except ValueError:
            raise ValueError(f"{what}: expected VENUE=MS[,...] (e.g. {DEFAULT_VENUE}=150); got {text!r}") from None
        if not sep:
            raise ValueError(f"{what}: expected VENUE=MS[,...] (e.g. {DEFAULT_VENUE}=150); got {text!r}")
    return out


def _venue_market(args, steps):
    """The multi-venue synthetic market of ``--venues``, ``--lead``, ``--throttle``, ``--days``, ``--seed``."""
    from liqcore.synthetic.venues import venue_market

    symbol = (args.symbols or "BTCUSDT").split(",")[0].strip().upper()
    venues = tuple(v.strip() for v in args.venues.split(",") if v.strip())
    lead, throttle = _venue_ms(args.lead, "lead"), _venue_ms(args.throttle, "throttle")
    steps.step(f"synthetic {symbol} on {', '.join(venues)}")
    m = venue_market(days=args.days, symbol=symbol, venues=venues, lead_ms=lead, throttle_ms=throttle, seed=args.seed)
    planted = ", ".join(f"{v} {x:+g} ms" for v, x in lead.items()) or "none"
    thr = ", ".join(f"{v} {x:g} ms" for v, x in throttle.items()) or "none"
    return m.events, m.registry, (f"synthetic {symbol} on {', '.join(m.venues)} ({args.days:g} days, seed {args.seed}; "
                                  f"planted lead: {planted}; throttles: {thr})")


def run_event(args) -> int:
    import orjson

    from liqcore.commands.inputs import Steps, load_input
    from liqcore.commands.outputs import print_frame
    from liqcore.config import params_from_args
    from liqcore.research.study import parse_horizons, event_study, plot_study, summarize_study

    params = params_from_args(args)
    horizons = [lab for lab, _ in parse_horizons(args.horizons)]
    _check_bootstrap(args)
    if args.plot and not args.plot.lower().endswith(".png"):
        raise ValueError(f"plot: expected a .png file name; got {args.plot!r}")
    from liqcore.commands.outputs import output_file

    output_file(args.out, "--out")
    output_file(args.plot, "--plot")
    with Steps(not args.no_progress and not args.json) as steps:
        events, registry, label, symbols = load_input(args, params, steps)
        steps.step(f"detecting cascades and measuring returns in {len(events):,} events")
        df = event_study(events, registry, params=params, horizons=horizons, symbols=symbols)
        steps.step("recovery times, size buckets, sessions, regimes")
        splits, warnings = None, []
        if len(df):
            from liqcore.research.studies import Panel, study_event

            ext = study_event(Panel(events, registry, symbols), frame=df, n_boot=1)
            splits = ext.tables.get("splits") if ext.available else None
            warnings = [f[len("warning: "):] for f in ext.findings if f.startswith("warning: ")]
        steps.step("bootstrapping")
        summ = summarize_study(df, ci=args.ci, n_boot=args.boot, by_symbol=not args.pooled)
        if args.out:
            from liqcore._atomic import atomic_path

            with atomic_path(args.out) as tmp:  # the earlier file stays until this one is whole
                df.drop(columns=["decision_time"]).to_csv(tmp, index=False)
        if args.plot:
            plot_study(summ, args.plot, title=f"post-cascade signed return: {label}")
    with_ref = int(df["ref_price"].notna().sum()) if len(df) else 0
    from liqcore.backtest.metrics import data_note

    note = data_note(events)
    if args.json:
        doc = {"source": label, "cascades": int(len(df)), "with_reference": with_ref, "warnings": warnings,
               "horizons": horizons, "params": params.describe(), "data_note": note,
               "summary": summ.astype(object).where(summ.notna(), None).to_dict(orient="records"),
               "splits": [] if splits is None else splits.astype(object).where(splits.notna(), None).to_dict(
                   orient="records")}
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
    print_frame(console, show, f"signed return after the decision (+ = reversion), {args.ci:.0%} bootstrap CI",
                percent=["revert"])
    if splits is not None and len(splits):
        print_frame(console, splits, "by size, regime, session, hour and side: mean signed return (bp) and t, "
                                     "recovery to the pre-cascade price", percent=_shares(splits))
    if hidden:
        console.print(f"{len(hidden)} symbol(s) without any observed return (no usable reference trade) not shown: "
                      + ", ".join(hidden[:12]) + (" ..." if len(hidden) > 12 else ""))
    if note:
        console.print(f"[yellow]note:[/] {note}")
    for w in warnings:  # (prices coarser than the horizons, cascades left without a reference price)
        console.print(f"[yellow]warning:[/] {w}", highlight=False)
    if args.out:
        console.print(f"cascades written to {args.out}")
    if args.plot:
        console.print(f"figure written to {args.plot}")
    return 0
