"""Walk-forward validation of a parameter grid.  The data span is cut into folds (rolling: a train
window of fixed length slides forward; expanding: the train window always starts at the beginning);
in each fold every cell of the grid (detector parameters included) runs on the train window, the
best by --metric is chosen, and that cell alone runs on the next test window.  The report puts
in-sample and out-of-sample metrics side by side per fold and overall, with the degradation, the
probability of backtest overfitting of the whole grid (combinatorially symmetric cross-validation
over --cscv-blocks blocks of days) and the deflated Sharpe ratio of the grid's best cell.

Examples:
  liqcore walkforward --synthetic --days 30 --grid offset=0.1%,0.2%,0.3% --grid quantile=0.9,0.95 --folds 4
  liqcore walkforward data/ds --grid grid.toml --folds 12 --train 10d --test 2d --scheme rolling --out wf/
  liqcore walkforward --synthetic --grid take-profit=0.1%,0.3% --folds 3 --train 0.4 --scheme expanding --json
  liqcore walkforward s3://bucket/ds --grid grid.toml --folds 6 --scheduler tcp://scheduler:8786 --out s3://bucket/wf
"""
from __future__ import annotations

import sys

from liqcore._tables import titled_table

HELP = "walk-forward validation of a parameter grid: per-fold selection, out-of-sample runs, PBO, DSR"


def add_arguments(parser) -> None:
    from liqcore.commands._scale import add_scale_arguments
    from liqcore.commands.inputs import add_source_arguments
    from liqcore.config import add_param_arguments

    add_source_arguments(parser, what="walk forward on")
    out = parser.add_argument_group("output")
    out.add_argument("--equity", type=float, default=10_000.0, help="starting equity in quote units (default 10000)")
    out.add_argument("--out", metavar="DIR",
                     help="write walkforward.json, walkforward.png and the cells (cells.parquet, resumable) into DIR")
    out.add_argument("--json", action="store_true", help="print the report as JSON")
    out.add_argument("--no-progress", action="store_true", help="no progress display")
    add_param_arguments(parser)
    add_scale_arguments(parser, walkforward=True)
    g = parser.add_argument_group("walk-forward")
    g.add_argument("--folds", type=int, default=4, metavar="N", help="number of train/test folds (default 4)")
    g.add_argument("--train", default=None, metavar="DUR|FRAC",
                   help="train window: a duration (10d) or a fraction of the span (0.4); default: the span "
                        "cut into folds + 1 equal blocks")
    g.add_argument("--test", default=None, metavar="DUR|FRAC", help="test window: a duration (2d) or a fraction")
    g.add_argument("--scheme", choices=("rolling", "expanding"), default="rolling", help="fold scheme (default rolling)")
    g.add_argument("--metric", default="sharpe",
                   help="selection metric: sharpe, total_return, avg_return, win_rate, trades, or max_drawdown "
                        "(lowest wins) (default sharpe)")
    g.add_argument("--cscv-blocks", type=int, default=16, metavar="S",
                   help="blocks of days for the overfitting probability (even; default 16, at most 20 and the days)")
    g.add_argument("--plot", metavar="PNG", help="write the in-sample vs out-of-sample figure here")


def run(args) -> int:
    import orjson

    from liqcore.sweep.grid import split_grid
    from liqcore.sweep.cells import SELECT_METRICS
    from liqcore.sweep.walkforward import folds, walkforward
    from liqcore.commands._scale import cells_from, collect_grid, data_span, make_runner, plan_source, whole_days
    from liqcore.config import params_from_args

    params = params_from_args(args)
    grid, opts = collect_grid(args, params)
    det_names, _ = split_grid(grid)
    if args.metric not in SELECT_METRICS:
        raise ValueError(f"metric: expected one of {', '.join(SELECT_METRICS)}; got {args.metric!r}")
    from liqcore.sweep.overfit import MAX_BLOCKS

    if args.cscv_blocks < 2 or args.cscv_blocks % 2 or args.cscv_blocks > MAX_BLOCKS:
        raise ValueError(f"cscv-blocks: must be an even number >= 2 and at most {MAX_BLOCKS} (CSCV's C(S, S/2) "
                         f"combinations: 184,756 at 20, 155 million at 30); got {args.cscv_blocks}")
    if not args.equity > 0:
        raise ValueError("equity: must be positive")
    cells = cells_from(grid, args, opts, params)
    if len(cells) < 2:
        raise ValueError("grid: a walk-forward needs at least 2 parameter sets to choose from")
    runner = make_runner(args)
    with runner:
        parts, span, label = plan_source(args, params, opts)
        if not parts:  # an empty input the user allowed (--allow-empty): nothing to run
            print(f"{label}: nothing to run", file=sys.stderr)
            return 0
        # folds over the data's first to last event (its calendar days only when it spans two or more)
        span = whole_days(data_span(parts, span))
        folds(span[0], span[1], args.folds, args.train, args.test, args.scheme)  # bad folds: error now
        store = None
        from liqcore.io import storage

        if args.out and storage.is_url(args.out):  # object storage: nothing local
            from liqcore.commands.outputs import output_dir

            output_dir(args.out, "--out", url_ok=True)
            store = storage.join(args.out, "cells.parquet")
        elif args.out:
            from pathlib import Path

            from liqcore.commands.outputs import output_dir

            output_dir(args.out, "--out")  # (created as every output is: removed if left empty by a Ctrl-C)
            store = str(Path(args.out) / "cells.parquet")
        rep = walkforward(cells, parts, span, args.folds, params, det_names, train=args.train, test=args.test,
                          scheme=args.scheme, metric=args.metric, equity=args.equity, runner=runner,
                          progress=not args.no_progress and not args.json, cscv_blocks=args.cscv_blocks,
                          out=store)
    rep["source"] = label
    if args.out and storage.is_url(args.out):  # each object written whole: the report, then the figure
        import tempfile
        from pathlib import Path

        storage.write_bytes(storage.join(args.out, "walkforward.json"),
                            orjson.dumps(rep, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
        with tempfile.TemporaryDirectory(prefix="liqcore-wf-") as tmp:
            png = str(Path(tmp) / "walkforward.png")
            plot_walkforward(rep, png)
            storage.write_bytes(storage.join(args.out, "walkforward.png"), Path(png).read_bytes())
        if args.plot:
            plot_walkforward(rep, args.plot)
    elif args.out:
        from pathlib import Path

        out = Path(args.out)
        from liqcore._atomic import write_bytes

        write_bytes(out / "walkforward.json", orjson.dumps(rep, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    if (args.plot or args.out) and not (args.out and storage.is_url(args.out)):
        from pathlib import Path

        png = args.plot or str(Path(args.out) / "walkforward.png")
        plot_walkforward(rep, png)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(rep, option=orjson.OPT_SERIALIZE_NUMPY) + b"\n")
        return 0
    print_report(rep, args)
    return 0


def _pct(v):
    return "n/a" if v is None else f"{v * 100:.3g}%"


def _num(v):
    return "n/a" if v is None else f"{v:.3g}"


def _cell(fmt, metric: str, m: dict) -> str:
    """A fold's metric, or "n/a: why" in a few words."""
    from liqcore.backtest.metrics import undefined_why

    why = undefined_why(metric, m, short=True)
    return f"n/a: {why}" if why else fmt(m.get(metric))


def print_report(rep: dict, args) -> None:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 160))
    m = rep["metric"]
    fmt = _pct if m in ("total_return", "avg_return", "win_rate", "max_drawdown") else _num
    unit = {"sharpe": " (ann.)", "trades": " (count)"}.get(m, "")
    t = titled_table(f"walk-forward ({rep['scheme']}, {len(rep['folds'])} folds, {rep['cells']} cells, "
                    f"select by {m}) on {rep['source']}; returns in % of the starting equity, Sharpe of daily "
                    "returns annualised (x sqrt 365)")
    for c in ("fold", "train (UTC)", "test (UTC)", "chosen cell", f"IS {m}{unit}", f"OOS {m}{unit}", "IS return",
              "OOS return", "IS trades", "OOS trades"):
        t.add_column(c, justify="right", no_wrap=c in ("train", "test"))

    def day(ns):
        return str(np.datetime64(int(ns), "ns").astype("datetime64[m]"))[5:].replace("T00:00", "").replace("T", " ")

    for f in rep["folds"]:
        i, o = f["in_sample"], f["out_of_sample"]
        cell = " ".join(f"{k}={v}" for k, v in f["cell"].items())
        if f.get("chosen_by", m) is None:
            cell += f" (first cell: no {m})"
        t.add_row(str(f["fold"]), f"{day(f['train_start_ns'])}..{day(f['train_end_ns'])}",
                  f"{day(f['test_start_ns'])}..{day(f['test_end_ns'])}",
                  cell, _cell(fmt, m, i), _cell(fmt, m, o),
                  _pct(i.get("total_return")), _pct(o.get("total_return")), str(i.get("trades")),
                  str(o.get("trades")))
    console.print(t)
    for n in rep.get("notes", []):
        console.print(f"n/a: {n}", highlight=False, markup=False)
    ov = rep["overall"]
    from liqcore.backtest.results import degradation_text

    over = (f" (means of the {ov['folds_in_means']} of {ov['folds']} folds where both are defined)"
            if ov.get("folds_in_means") is not None and ov["folds_in_means"] < ov.get("folds", 0) else "")
    console.print(f"overall {m}: in-sample mean {fmt(ov['in_sample_mean'])}, out-of-sample mean "
                  f"{fmt(ov['out_of_sample_mean'])}, {degradation_text(ov['degradation'], fmt(ov['degradation']))}"
                  f"{over}", highlight=False)
    oo = ov["out_of_sample"]
    console.print(f"out-of-sample (test folds joined): return {_pct(oo['total_return'])}, Sharpe "
                  f"{_num(oo['sharpe'])}, max drawdown {_pct(oo['max_drawdown'])}, {oo['trades']} trades",
                  highlight=False)
    p = rep["pbo"]
    if not p:
        console.print("probability of backtest overfitting: undefined (needs at least 2 days of data)",
                      highlight=False)
    elif p["pbo"] is None:
        console.print("probability of backtest overfitting: undefined (every cell has the same daily returns)",
                      highlight=False)
    elif p:
        used = p.get("periods_used", p.get("periods"))
        days = (f", the last {used} of {p['periods']} days in equal blocks" if used != p.get("periods") else
                f", {used} days")
        console.print(f"probability of backtest overfitting (CSCV, {p['blocks']} blocks, {p['combinations']} "
                      f"combinations, {p['configurations']} cells{days}): {p['pbo']:.3f}", highlight=False)
    d = rep["dsr"]
    if d.get("dsr") is None and d.get("why"):
        console.print(f"deflated Sharpe ratio of the best cell: n/a ({d['why']})", highlight=False)
    else:
        console.print(f"deflated Sharpe ratio of the best cell ({' '.join(f'{k}={v}' for k, v in d['cell'].items())}):"
                      f" {_num(d['dsr'])} (daily Sharpe {_num(d['sharpe'])} vs {_num(d['sr0'])} expected from "
                      f"{d['trials']} unskilled trials)", highlight=False)
    from liqcore.sweep.schedule import describe

    st = rep.get("stats") or {}
    for what, part in (("train folds", st), ("test folds", st.get("test_folds") or {})):
        if describe(part):
            console.print(f"{what} {describe(part)}", markup=False, highlight=False, soft_wrap=True)
    if args.out:
        from pathlib import Path

        from liqcore.io.storage import display, is_url

        o = Path(args.out) if not is_url(args.out) else _Url(display(args.out))
        console.print(f"report written to {o / 'walkforward.json'}, {o / 'walkforward.png'}, cells in "
                      f"{o / 'cells.parquet'}", markup=False, highlight=False)
    elif args.plot:
        console.print(f"figure written to {args.plot}", markup=False, highlight=False)


class _Url(str):
    """A URL joined like a path (``url / "name"``) in messages."""

    def __truediv__(self, name):
        return f"{self.rstrip('/')}/{name}"


def plot_walkforward(rep: dict, path: str) -> list[str]:
    """Save :func:`liqcore.backtest.results.walkforward_figure` (the figure ``WalkForwardResult.plot``
    returns: per fold in-sample vs out-of-sample metric; the grid's Sharpe ratios) at ``path``.  Returns
    the titles and notes drawn."""
    from liqcore._atomic import save_figure
    from liqcore.backtest.results import figure_texts, walkforward_figure

    fig = walkforward_figure(rep)
    save_figure(fig, path, dpi=110)  # through a temporary file: the earlier figure stays until this one is whole
    return figure_texts(fig)
