"""Sweep strategy parameters over one detection: every combination of the ``--grid`` values is
backtested on the SAME cascade records, so only strategy, execution and risk parameters may vary
(a detector parameter changes the cascades themselves: run one sweep per detector setting).

Examples:
  liqcore sweep --synthetic --days 30 --grid offset=0.1%,0.15%,0.2%,0.3% --grid take-profit=0.1%,0.15%,0.3%
  liqcore sweep recordings/ --grid fill=through,touch --grid order-latency=10ms,50ms,250ms --out sweep.csv
  liqcore sweep --synthetic --grid stop-loss=0.25%,0.5%,1% --dask local --workers 2 --plot sweep.png
  liqcore sweep --synthetic --grid offset=0.1%,0.2% --dask tcp://scheduler:8786
"""
from __future__ import annotations

import sys

HELP = "backtest every combination of strategy parameters on one detection (threads or dask)"

_METRICS = {"total_return": "return", "sharpe": "Sharpe", "win_rate": "win", "fills": "fills",
            "take_profit": "TP", "stop_loss": "SL", "timeout": "t/o", "max_drawdown": "max DD"}


def add_arguments(parser) -> None:
    from liqcore.commands.inputs import add_source_arguments
    from liqcore.config import add_param_arguments

    add_source_arguments(parser, what="sweep")
    out = parser.add_argument_group("output")
    out.add_argument("--equity", type=float, default=10_000.0, help="starting equity in quote units (default 10000)")
    out.add_argument("--out", metavar="FILE", help="write the table to FILE (.csv, or .parquet)")
    out.add_argument("--json", action="store_true", help="print the table as JSON records instead of a table")
    out.add_argument("--no-progress", action="store_true", help="no progress display")
    add_param_arguments(parser)
    g = parser.add_argument_group("sweep")
    g.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...",
                   help="a parameter and its values (repeatable), e.g. --grid offset=0.1%%,0.2%%")
    g.add_argument("--workers", type=int, default=1, help="parallel simulations (threads, or dask workers)")
    g.add_argument("--dask", metavar="ADDRESS|local", default=None,
                   help="run the combinations on a dask cluster: a scheduler address, or 'local' for a "
                        "local cluster of --workers processes (needs dask[distributed])")
    g.add_argument("--dask-timeout", default="8s", metavar="DUR",
                   help="give up on an unreachable --dask scheduler DUR after the command started "
                        "(default 8s: with start-up and exit, the command ends within 10 s)")
    g.add_argument("--sort", default="total_return", help="column to sort the table by (default total_return)")
    g.add_argument("--plot", metavar="PNG", help="heatmap (two grid parameters) or line plot (one) of --metric")
    g.add_argument("--metric", default="total_return", help="metric for --plot (default total_return)")


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


def _probe(address: str, budget_s: float) -> None:
    """Open (and close) a TCP connection to a tcp:// or tls:// scheduler address: a refused port or an
    unknown host fails at once, a silent one after ``budget_s``; ValueError naming the address."""
    import socket

    from distributed.comm import parse_address, parse_host_port

    try:
        scheme, loc = parse_address(address)
        if scheme not in ("tcp", "tls"):
            return  # other transports: left to dask
        host, port = parse_host_port(loc)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"dask: bad scheduler address {address!r}: {exc}") from None
    try:
        socket.create_connection((host, port), timeout=max(budget_s, 0.1)).close()
    except socket.gaierror as exc:
        raise ValueError(f"dask: cannot reach the scheduler at {address}: unknown host {host!r} ({exc.strerror})") from None
    except (socket.timeout, TimeoutError):
        raise ValueError(f"dask: cannot reach the scheduler at {address}: no answer within {budget_s:.3g}s") from None
    except OSError as exc:
        raise ValueError(f"dask: cannot reach the scheduler at {address}: {exc.strerror or exc}") from None


def _handshake(Client, address: str, budget_s: float) -> None:
    """Connect an asynchronous dask client and close it again, cancelled after ``budget_s``
    (TimeoutError)."""
    import asyncio
    import contextlib

    async def attempt():
        c = Client(address, asynchronous=True, timeout=budget_s)
        try:
            await asyncio.wait_for(c, budget_s)
        finally:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(c.close(), 1.0)

    asyncio.run(attempt())


def _client(address: str, workers: int, timeout_s: float = 8.0, started: float | None = None):
    """(client, local cluster or None).  An unreachable scheduler is a ValueError within ``timeout_s``
    (counted from ``started``, a ``time.monotonic()`` reading, when given: imports count too): a TCP
    probe first (a refused port fails at once, and no dask client is left to wind down), then the
    dask handshake with what remains of the time."""
    import time

    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError("dask: install dask[distributed] (pip install 'liqcore[sweep]') to use --dask") from None
    if address == "local":
        cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, host="127.0.0.1",
                               dashboard_address=None, processes=True)
        return Client(cluster), cluster
    t0 = time.monotonic() if started is None else started
    _probe(address, timeout_s - (time.monotonic() - t0))
    try:
        # the dask handshake under a hard deadline first: a server that accepts and never answers
        # would otherwise block Client() forever, whatever its timeout
        _handshake(Client, address, max(timeout_s - (time.monotonic() - t0), 0.5))
        return Client(address, timeout=max(timeout_s - (time.monotonic() - t0), 1.0)), None
    except (OSError, TimeoutError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else ""
        if isinstance(exc, TimeoutError) or "timed out" in why.lower():
            why = "no dask handshake in time"
        raise ValueError(f"dask: cannot reach the scheduler at {address} within {timeout_s:g}s ({why})") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"dask: bad scheduler address {address!r}: {exc}") from None
    except Exception as exc:  # something answered, but not the dask protocol (e.g. an HTTP server)
        raise ValueError(f"dask: {address} does not answer like a dask scheduler "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''})") from None


def _check_plot(path: str, metric: str, grid: dict) -> None:
    """--plot's file type and --metric, before any work."""
    from pathlib import Path

    import numpy as np

    from liqcore.backtest import metrics as M

    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in ("png", "pdf", "svg", "jpg", "jpeg"):
        raise ValueError(f"plot: expected a .png, .pdf, .svg or .jpg file name; got {path!r}")
    # the table's columns: the grid parameters and every summary field
    ledger = np.zeros(0, dtype=[("ret", "f8"), ("exit_ns", "i8"), ("entry_ns", "i8"), ("pnl", "f8"),
                                ("fees", "f8"), ("notional", "f8"), ("equity_after", "f8")])
    known = list(grid) + list(M.summarize(ledger, np.zeros((1, len(M.COUNT_NAMES)), np.int64), 1.0, 0, 0))
    known += ["equity_start", "equity_end", "start_ns", "end_ns", "symbols"]
    if metric not in known:
        raise ValueError(f"metric: unknown column {metric!r}; choose from {', '.join(known)}")


def pd_unique(col) -> list:
    """Values in first-seen order (the grid's own order)."""
    return list(dict.fromkeys(col.tolist()))


def plot_sweep(table, names: list[str], metric: str, path: str) -> None:
    """Heatmap of ``metric`` over the first two grid parameters (mean over the others), or a line
    over the only one; axes in grid order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    if metric not in table.columns:
        raise ValueError(f"metric: unknown column {metric!r}; choose from {', '.join(map(str, table.columns))}")
    fig, ax = plt.subplots(figsize=(7, 5))
    if len(names) >= 2:
        a, b = names[0], names[1]
        sub = table.groupby([a, b], sort=False)[metric].mean().unstack(b)
        sub = sub.reindex(index=pd_unique(table[a]), columns=pd_unique(table[b]))
        vals = sub.to_numpy(dtype=float)
        # diverging colours centred on zero: losses are red whatever the spread
        lim = max(float(np.nanmax(np.abs(vals))) if np.isfinite(vals).any() else 1.0, 1e-12)
        im = ax.imshow(vals, cmap="RdYlGn", aspect="auto", vmin=-lim, vmax=lim)
        ax.set_xticks(range(sub.shape[1]), [str(c) for c in sub.columns])
        ax.set_yticks(range(sub.shape[0]), [str(r) for r in sub.index])
        ax.set_xlabel(b)
        ax.set_ylabel(a)
        for (i, j), v in np.ndenumerate(sub.to_numpy(dtype=float)):
            ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=8)
        fig.colorbar(im, ax=ax, label=metric)
        if len(names) > 2:
            ax.set_title(f"{metric} (mean over {', '.join(names[2:])})")
        else:
            ax.set_title(metric)
    else:
        a = names[0]
        ax.plot([str(v) for v in table[a]], table[metric].astype(float), marker="o")
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.set_xlabel(a)
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} by {a}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run(args) -> int:
    import time

    t_start = time.monotonic()
    from liqcore.backtest.run import sweep
    from liqcore.commands import inputs
    from liqcore.config import parse_duration, params_from_args

    params = params_from_args(args)
    grid = parse_grid(args.grid)
    dask_timeout_s = parse_duration(args.dask_timeout, "dask-timeout") / 1e9
    if not dask_timeout_s > 0:
        raise ValueError("dask-timeout: must be positive")
    if args.workers < 1:
        raise ValueError("workers: must be >= 1")
    if not (args.equity > 0):
        raise ValueError("equity: must be positive")
    from liqcore.commands.outputs import output_file

    output_file(args.out, "--out")
    output_file(args.plot, "--plot")
    if args.plot:  # checked now, not after the whole sweep ran
        _check_plot(args.plot, args.metric, grid)
    client = cluster = None
    if args.dask:  # connect first: an unreachable scheduler fails before any work
        client, cluster = _client(args.dask, args.workers, dask_timeout_s, started=t_start)
    try:
        with inputs.Steps(not args.no_progress and not args.json) as steps:
            events, registry, label = inputs.load_source(args, params, steps, filter_symbols=True)
        table = sweep(events, grid, params, equity=args.equity, registry=registry,
                      progress=not args.no_progress and not args.json, workers=args.workers, client=client)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    if args.plot:
        plot_sweep(table, list(grid), args.metric, args.plot)
    if args.sort in table.columns:
        table = table.sort_values(args.sort, ascending=False, kind="stable").reset_index(drop=True)
    if args.out:
        out = str(args.out)
        if out.endswith(".parquet"):
            table.to_parquet(out, index=False)
        else:
            table.to_csv(out, index=False)
    if args.json:
        sys.stdout.write(table.to_json(orient="records") + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 40 + 12 * len(grid) + 9 * len(_METRICS)))
    t = Table(title=f"sweep on {label}: {len(table)} combinations, one detection")
    cols = list(grid) + [m for m in _METRICS if m in table.columns]
    for c in cols:
        t.add_column(_METRICS.get(c, c), justify="right", no_wrap=True)
    for _, row in table.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if c in ("total_return", "win_rate", "max_drawdown") and isinstance(v, float):
                cells.append(f"{v * 100:.2f}%")
            elif isinstance(v, float):
                cells.append(f"{v:.3g}")
            else:
                cells.append(str(v))
        t.add_row(*cells)
    console.print(t)
    if args.out:
        console.print(f"table written to {args.out}")
    if args.plot:
        console.print(f"plot written to {args.plot}")
    return 0
