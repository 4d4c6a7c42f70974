"""``liqcore sweep``: every combination of a grid x partitions x date ranges, on a process pool or dask.

Examples, grid files and resuming: docs/reference/commands.md, "`liqcore sweep`", and docs/how-to/sweep.md.

May import: the layers below the command line (``sweep``, ``backtest.results``, ``io.storage``,
``config``, ``_atomic``) and this package's shared ``inputs``, ``outputs`` and ``_scale``.
"""
from __future__ import annotations

import sys

from liqcore._tables import titled_table

HELP = "sweep detector / strategy / execution parameters x symbols x date ranges (process pool or dask)"

_METRICS = {"trades": "trades", "win_rate": "win", "avg_return": "ret/trade", "total_return": "total ret",
            "sharpe": "Sharpe", "max_drawdown": "max DD", "fills": "fills"}
#: what the return columns are (printed under the table): the backtest summary's labels and meanings
_RETURNS_NOTE = ("ret/trade: mean return per trade, a fraction of the trade's entry notional; total ret: the "
                 "change of the cell's equity over its span; win: trades with a return > 0")


def add_arguments(parser) -> None:
    from liqcore.commands._scale import add_scale_arguments
    from liqcore.commands.inputs import add_source_arguments
    from liqcore.config import add_param_arguments

    add_source_arguments(parser, what="sweep")
    out = parser.add_argument_group("output")
    out.add_argument("--equity", type=float, default=10_000.0, help="starting equity in quote units (default 10000)")
    out.add_argument("--out", metavar="FILE", help="write the table: FILE.parquet (resumable, see above) or FILE.csv")
    out.add_argument("--json", action="store_true", help="print the table as JSON records instead of a table")
    out.add_argument("--no-progress", action="store_true", help="no progress display")
    add_param_arguments(parser)
    add_scale_arguments(parser)
    g = parser.add_argument_group("sweep")
    g.add_argument("--ranges", default=None, metavar="A:B,C:D",
                   help="date ranges to evaluate separately (UTC dates, end exclusive), e.g. "
                        "2026-01-05:2026-01-12,2026-01-12:2026-01-19")
    g.add_argument("--split-days", type=float, default=None, metavar="D",
                   help="cut the span into consecutive ranges of D days, each evaluated separately")
    g.add_argument("--sort", default="total_return", help="column to rank by (default total_return)")
    g.add_argument("--top", type=int, default=20, metavar="N", help="rows of the table printed (default 20)")
    g.add_argument("--plot", metavar="PNG", help="heatmap of --metric over two grid parameters (--heatmap)")
    g.add_argument("--heatmap", metavar="X,Y", default=None,
                   help="the two grid parameters of the heatmap (default: the first two of the grid)")
    g.add_argument("--metric", default="total_return", help="metric of the heatmap (default total_return)")


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    from liqcore.config import Params

    if not items:
        raise ValueError("grid: give at least one --grid NAME=V1,V2,...")
    grid: dict[str, list[str]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip()
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not name or not vals:
            raise ValueError(f"grid: expected NAME=V1,V2,...; got {item!r}")
        if name in grid:
            raise ValueError(f"grid: {name!r} given twice")
        for v in vals:  # validate every value now, with the parameter's own parser
            Params.from_mapping({name: v})
        grid[name] = vals
    return grid


def _check_plot_type(path: str) -> None:
    """--plot's file type, before any work."""
    from pathlib import Path

    if Path(path).suffix.lower().lstrip(".") not in ("png", "pdf", "svg", "jpg", "jpeg"):
        raise ValueError(f"plot: expected a .png, .pdf, .svg or .jpg file name; got {path!r}")


def plot_sweep(table, names: list[str], metric: str, path: str, grid=None) -> str:
    """Save :func:`liqcore.backtest.results.sweep_figure` (the figure ``SweepResult.plot`` returns: a
    heatmap over two grid parameters, a line over one) at ``path``.  Returns its title."""
    from liqcore._atomic import save_figure
    from liqcore.backtest.results import sweep_figure

    fig = sweep_figure(table, names, metric, grid=grid)
    save_figure(fig, path, dpi=110)  # through a temporary file: the earlier figure stays until this one is whole
    return fig.axes[0].get_title()


def windows_from(args, opts, span):
    from liqcore.sweep.cells import Window
    from liqcore.commands._scale import NS_PER_DAY, parse_time

    ranges = args.ranges or (",".join(opts["ranges"]) if opts.get("ranges") else None)
    split = args.split_days if args.split_days is not None else opts.get("split_days")
    if ranges and split:
        raise ValueError("ranges: give either --ranges or --split-days, not both")
    if ranges:
        out = []
        for item in ranges.split(","):
            a, sep, b = item.strip().partition(":")
            if not sep:
                raise ValueError(f"ranges: expected START:END; got {item!r}")
            lo, hi = parse_time(a, "ranges"), parse_time(b, "ranges")
            if hi <= lo:
                raise ValueError(f"ranges: {item!r} ends before it starts")
            if hi <= span[0] or lo >= span[1]:
                raise ValueError(f"ranges: {item!r} is outside the data")
            if any(w.name == item.strip() for w in out):
                raise ValueError(f"ranges: {item.strip()!r} given twice")
            out.append(Window(lo, hi, item.strip()))
        return out
    if split:
        from liqcore.units import parse_days

        parse_days(split, "split-days")
        step = int(split * NS_PER_DAY)
        out = []
        t = span[0]
        while t < span[1]:
            out.append(Window(t, min(t + step, span[1]), _fmt_day(t)))
            t += step
        return out
    if args.start is None and args.end is None and not opts.get("start") and not opts.get("end"):
        return [Window(None, None, "all")]  # every event, as `liqcore backtest` reads them
    return [Window(span[0], span[1], "all")]


def _fmt_day(ns):
    import numpy as np

    return str(np.datetime64(int(ns), "ns").astype("datetime64[s]")).replace("T00:00:00", "")


def run(args) -> int:
    from liqcore.sweep.grid import split_grid
    from liqcore.sweep.store import run_cells
    from liqcore.commands._scale import cells_from, collect_grid, make_runner, plan_source
    from liqcore.config import params_from_args

    params = params_from_args(args)
    grid, opts = collect_grid(args, params)
    det_names, _ = split_grid(grid)
    if not args.equity > 0:
        raise ValueError("equity: must be positive")
    if args.top < 1:
        raise ValueError("top: must be >= 1")
    out = args.out
    if out and not str(out).endswith((".parquet", ".csv")):
        raise ValueError(f"out: {out} must end in .parquet (resumable) or .csv")
    from liqcore.commands.outputs import output_file

    output_file(out, "--out", url_ok=True)  # before any work: parents created (a URL: its bucket), or one clear line
    output_file(args.plot, "--plot")
    heat = None
    if args.plot:
        _check_plot_type(args.plot)
        heat = [h.strip().replace("_", "-") for h in args.heatmap.split(",")] if args.heatmap else list(grid)[:2]
        bad = [h for h in heat if h not in grid]
        if bad or not 1 <= len(heat) <= 2:
            raise ValueError(f"heatmap: give one or two grid parameters (grid: {', '.join(grid)})")
    from liqcore.sweep.cells import METRICS

    if args.plot and args.metric not in METRICS:
        raise ValueError(f"metric: expected one of {', '.join(METRICS)}; got {args.metric!r}")
    if args.sort not in METRICS + ("partition", "range") and args.sort not in grid:
        raise ValueError(f"sort: expected a metric ({', '.join(METRICS)}) or a grid parameter; got {args.sort!r}")
    cells = cells_from(grid, args, opts, params)
    runner = make_runner(args)
    with runner:  # a dask scheduler is reached (or refused) before anything is read
        parts, span, label = plan_source(args, params, opts)
        if not parts:  # an empty input the user allowed (--allow-empty): nothing to run
            print(f"{label}: nothing to run", file=sys.stderr)
            return 0
        windows = windows_from(args, opts, span)
        store = out if (out and str(out).endswith(".parquet")) else None
        table, stats = run_cells(cells, parts, windows, params, det_names, equity=args.equity, runner=runner,
                                 out=store, progress=not args.no_progress and not args.json)
    table = table.drop(columns=[c for c in ("daily", "day0", "wins") if c in table.columns])
    from liqcore.io.storage import is_url

    if out and str(out).endswith(".csv") and is_url(out):  # one object, written whole
        from liqcore.io.storage import write_bytes

        write_bytes(out, table.to_csv(index=False).encode())
    elif out and str(out).endswith(".csv"):
        from liqcore._atomic import atomic_path

        with atomic_path(out) as tmp:  # the earlier file stays until this one is whole
            table.to_csv(tmp, index=False)
    if heat:
        _metric_known(table, args.metric)
        plot_sweep(table, heat, args.metric, args.plot, grid=list(grid))
    ranked = table
    if args.sort in table.columns:
        asc = args.sort == "max_drawdown"
        ranked = table.sort_values(args.sort, ascending=asc, kind="stable", na_position="last").reset_index(drop=True)
    elif args.sort:
        raise ValueError(f"sort: unknown column {args.sort!r}")
    if args.json:
        import orjson  # floats exactly as computed (NaN -> null)

        sys.stdout.buffer.write(orjson.dumps(ranked.to_dict("records"), option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
        from liqcore.sweep.schedule import describe

        if describe(stats):  # stdout is the table; the run's cost goes to stderr
            print(describe(stats), file=sys.stderr)
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    names = list(grid)
    extra = [c for c in ("partition", "range") if c in ranked.columns and ranked[c].nunique() > 1]
    n = min(args.top, len(ranked))
    title = (f"sweep on {label}: {len(table)} cells ({len(cells)} parameter sets x {len(parts)} "
             f"partition(s) x {len(windows)} range(s)); top {n} by {args.sort}")
    if not console.is_terminal:  # a file or a pipe: wide enough for the table and its title on one line
        console = Console(width=max(console.width, 40 + 12 * (len(names) + len(extra)) + 9 * len(_METRICS),
                                    len(title)))
    t = titled_table(title)
    cols = extra + names + [m for m in _METRICS if m in ranked.columns]
    for c in cols:
        t.add_column(_METRICS.get(c, c), justify="right", no_wrap=True)
    for _, row in ranked.head(n).iterrows():
        cells_txt = []
        for c in cols:
            v = row[c]
            if v is None or (isinstance(v, float) and v != v):
                cells_txt.append("-")
            elif c in ("total_return", "win_rate", "max_drawdown", "avg_return") and isinstance(v, float):
                cells_txt.append(f"{v * 100:.3g}%")
            elif isinstance(v, float):
                cells_txt.append(f"{v:.3g}")
            else:
                cells_txt.append(str(v))
        t.add_row(*cells_txt)
    console.print(t)
    console.print(_RETURNS_NOTE, highlight=False)
    console.print(f"{stats['cells'] - stats['cached']} cells run, {stats['cached']} already stored",
                  highlight=False)
    from liqcore.sweep.schedule import describe

    if describe(stats):
        console.print(describe(stats), markup=False, highlight=False, soft_wrap=True)
    if out:
        from liqcore.io.storage import display

        console.print(f"table written to {display(out)}", markup=False, highlight=False)
    if args.plot:
        console.print(f"heatmap written to {args.plot}", markup=False, highlight=False)
    return 0


def _metric_known(table, metric):
    if metric not in table.columns:
        raise ValueError(f"metric: unknown column {metric!r}")
