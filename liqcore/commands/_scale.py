"""Shared arguments and planning of ``sweep`` and ``walkforward``: the grid (flags and TOML file),
the source and its partitions, the runner (process pool or dask).  Everything here validates its
input before any work starts."""
from __future__ import annotations

import os
from pathlib import Path
from liqcore.types import DEFAULT_VENUE

NS_PER_DAY = 86_400_000_000_000
DEFAULT_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT")


def add_scale_arguments(parser, *, walkforward: bool = False) -> None:
    """--grid/--samples, partitions, runner (the source and parameter flags come from backtest's)."""
    g = parser.add_argument_group("grid")
    g.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2,...|FILE.toml",
                   help="a parameter and its values (repeatable), e.g. --grid offset=0.1%%,0.2%% --grid "
                        "quantile=0.9,0.95; or a TOML file with a [grid] table (and an optional [sweep] table)")
    g.add_argument("--samples", type=int, default=None, metavar="N",
                   help="random search: N distinct combinations of the grid instead of all of them")
    g.add_argument("--sample-seed", type=int, default=None, metavar="S",
                   help="seed of the random search (default 0; the TOML [sweep] seed)")
    p = parser.add_argument_group("partitions")
    p.add_argument("--by", choices=("symbol", "all"), default="symbol",
                   help="one partition per symbol (default) or all symbols together as one portfolio")
    p.add_argument("--partition-days", type=float, default=None, metavar="D",
                   help="also cut the span into chunks of D days, each its own partition (a worker then "
                        "holds one chunk of one symbol in memory, not the whole span)")
    p.add_argument("--warmup", default="1d", metavar="DUR",
                   help="with --partition-days: events read and detected before each chunk so the "
                        "detector is warm when the chunk starts (default 1d)")
    p.add_argument("--chunk-days", type=float, default=None, metavar="D",
                   help="read and replay each partition in time chunks of D days: a worker holds one chunk "
                        "of events (plus each cell's small state), not the partition; the table is the same "
                        "(partitions a chunked pass cannot reproduce exactly run whole). Default for a dataset: "
                        "about a million rows of its densest day, at most 1 day, at least 1 hour; none (whole) "
                        "for other sources; 0: whole")
    r = parser.add_argument_group("workers")
    r.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="local worker processes (default: the number of CPUs; 1 = in this process), or "
                        "the size of a --dask local cluster")
    r.add_argument("--dask", metavar="local|ADDRESS", default=None,
                   help="run on dask: 'local' starts a local cluster of --workers processes; an address "
                        "(tcp://HOST:PORT) uses a running scheduler")
    r.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                   help="the address of a running dask scheduler (same as --dask ADDRESS)")
    r.add_argument("--dask-timeout", default="8s", metavar="DUR",
                   help="give up connecting to the scheduler after this long (default 8s; plain numbers "
                        "are seconds)")


def parse_time(value, name: str) -> int | None:
    """``2026-01-05`` or ``2026-01-05T12:00`` (UTC), or ns since the epoch -> ns since the epoch, as ``--start`` /
    ``--end`` are read everywhere (:func:`liqcore.features.inputs.parse_times`): a number is nanoseconds (numpy
    read it as a year), and a time int64 nanoseconds cannot hold is a ValueError naming ``name`` (numpy wrapped
    it around silently)."""
    if value is None:
        return None
    from liqcore.features.inputs import parse_times

    t = parse_times(str(value), name)
    if len(t) != 1:
        raise ValueError(f"{name}: expected one UTC date or time like 2026-01-05 or 2026-01-05T12:00; got {value!r}")
    return int(t[0])


def collect_grid(args, base=None) -> tuple[dict, dict]:
    """(validated grid, [sweep] options) from --grid flags and TOML files; the values checked beside ``base``
    (the command's own parameters)."""
    from liqcore.sweep.grid import load_grid_file, validate_grid

    raw: dict = {}
    opts: dict = {}
    for item in args.grid:
        if "=" not in item and (item.endswith(".toml") or Path(item).is_file()):
            g, o = load_grid_file(item)
            for k, v in g.items():
                if k.replace("_", "-") in raw:
                    raise ValueError(f"grid: {k!r} given twice")
                raw[k.replace("_", "-")] = v
            opts.update(o)
            continue
        name, sep, values = item.partition("=")
        name = name.strip().replace("_", "-")
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not name:
            raise ValueError(f"grid: expected NAME=V1,V2,... or a TOML file; got {item!r}")
        if not vals:
            raise ValueError(f"grid: {name!r} has no values")
        if name in raw:
            raise ValueError(f"grid: {name!r} given twice")
        raw[name] = vals
    if not args.grid:
        raise ValueError("grid: give at least one --grid NAME=V1,V2,... or --grid FILE.toml")
    return validate_grid(raw, base), opts


def max_workers() -> int:
    """The most ``--workers`` a sweep takes: 4 processes per CPU, at least 64 (a pool of billions never starts)."""
    return max(64, 4 * (os.cpu_count() or 1))


def make_runner(args):
    from liqcore.sweep.runners import DaskRunner, LocalRunner

    if not 1 <= args.workers <= max_workers():
        raise ValueError(f"workers: must be from 1 to {max_workers()} (4 processes a CPU, at least 64: more only "
                         f"wait on each other); got {args.workers}")
    from liqcore.config import parse_duration

    timeout_s = parse_duration(args.dask_timeout, "dask-timeout") / 1e9
    if not timeout_s > 0:
        raise ValueError("dask-timeout: must be positive")
    address = args.scheduler or args.dask
    if args.scheduler and args.dask and args.dask != args.scheduler:
        raise ValueError("scheduler: give either --dask or --scheduler, not both")
    if address:
        if address != "local" and "://" not in address and ":" not in address:
            raise ValueError(f"dask: expected 'local' or a scheduler address like tcp://HOST:PORT; got {address!r}")
        import time

        from liqcore import cli

        # the timeout counts from the command's start (imports and start-up included)
        runner = DaskRunner(address, args.workers, max(timeout_s - (time.monotonic() - cli.STARTED), 0.5))
        runner.timeout_label = timeout_s
        return runner
    return LocalRunner(args.workers)


def plan_source(args, params, opts: dict):
    """(partitions, (span start, span end), label).  Checks the requested symbols and dates exist."""
    from liqcore.sweep.cells import Partition, Source, data_version

    symbols = [s.strip() for s in (args.symbols or ",".join(opts.get("symbols", []))).split(",") if s.strip()] \
        if (args.symbols or opts.get("symbols")) else []
    start = parse_time(args.start or opts.get("start"), "start")
    end = parse_time(args.end or opts.get("end"), "end")
    if start is not None and end is not None and end <= start:
        raise ValueError("end: must be after start")
    if args.synthetic:
        if args.paths:
            raise ValueError("paths: give either recordings or --synthetic, not both")
        from liqcore.synthetic.market import DEFAULT_START_NS

        from liqcore.synthetic.market import check_days

        check_days(args.days)  # (positive, and countable in nanoseconds: 1e300 days is an inf)
        from liqcore.commands.inputs import synthetic_knobs

        over, eff = synthetic_knobs(args)  # (``--preset`` and ``--knob``: the market every cell is run on)
        eff = {**(getattr(args, "synthetic_effects", None) or {}), **eff}
        src = Source("synthetic", days=float(args.days), seed=int(args.seed), venue=args.venue or DEFAULT_VENUE,
                     preset=getattr(args, "preset", None), overrides=tuple(sorted(over.items())),
                     effects=tuple(sorted(eff.items())))
        symbols = symbols or list(DEFAULT_SYMBOLS)
        lo, hi = DEFAULT_START_NS, DEFAULT_START_NS + int(args.days * NS_PER_DAY)
        s0, s1 = max(lo, start) if start is not None else lo, min(hi, end) if end is not None else hi
        if s1 <= s0:
            raise ValueError(f"start/end: the synthetic market covers {_day(lo)} .. {_day(hi - 1)}; "
                             "the requested range is outside it")
        label = f"synthetic market ({args.days:g} days, seed {args.seed})"
        filt = (start, end) if (start is not None or end is not None) else (None, None)
    elif len(args.paths) == 1 and _is_dataset(args.paths[0]):
        from liqcore.dataset import check_selection

        path = args.paths[0]
        sel = check_selection(path, symbols or None, start, end)
        symbols = symbols or sorted({p[1] for p in sel})
        days = sorted({p[2] for p in sel})
        lo = parse_time(days[0], "start")
        hi = parse_time(days[-1], "end") + NS_PER_DAY
        s0, s1 = max(lo, start) if start is not None else lo, min(hi, end) if end is not None else hi
        src = Source("dataset", path=str(path), feed_latency_ns=params.feed_latency_ns,
                     max_clock_skew_ns=params.max_clock_skew_ns, version=data_version([path]))
        label = f"dataset {path} ({len(symbols)} symbols, {days[0]} .. {days[-1]})"
        filt = (s0, s1)
    else:
        if not args.paths:
            raise ValueError("paths: give recordings (files, directories or a dataset), or --synthetic")
        from liqcore.io import require_events
        from liqcore.dataset.load import load_events

        from liqcore.commands.inputs import _say_mapping, column_mapping

        mapping = column_mapping(args)
        res = load_events(args.paths, format=args.format, feed_latency_ns=params.feed_latency_ns,
                          max_clock_skew_ns=params.max_clock_skew_ns, columns=mapping)
        _say_mapping(res)
        require_events(res, args.paths, allow_empty=getattr(args, "allow_empty", False))
        if len(res.events) == 0:  # allowed empty: nothing to evaluate
            return [], (0, 0), f"{len(res.sources)} file(s), no usable events"
        have = sorted({s for _sid, _v, s in res.registry})
        missing = [s for s in symbols if s not in have]
        if missing:
            raise ValueError(f"symbols: the recordings have no {', '.join(missing)} (have: {', '.join(have)})")
        symbols = symbols or have
        t = res.events["ts_recv"]
        lo, hi = int(t.min()), int(t.max()) + 1
        s0, s1 = max(lo, start) if start is not None else lo, min(hi, end) if end is not None else hi
        if s1 <= s0:
            raise ValueError(f"start/end: the recordings cover {_day(lo)} .. {_day(hi - 1)}; the requested "
                             "range is outside it")
        src = Source("files", paths=tuple(str(p) for p in args.paths), format=args.format,
                     feed_latency_ns=params.feed_latency_ns, max_clock_skew_ns=params.max_clock_skew_ns,
                     version=data_version(args.paths), columns=mapping.fields() if mapping is not None else ())
        label = f"{len(res.sources)} file(s)"
        filt = (start, end) if (start is not None or end is not None) else (None, None)
    groups = [(s,) for s in symbols] if args.by == "symbol" else [tuple(symbols)]
    cdays = getattr(args, "chunk_days", None)
    if cdays is not None:
        from liqcore.units import parse_days

        parse_days(cdays, "chunk-days", zero_ok=True)
    if cdays is None and src.kind == "dataset":  # a dataset is read a time range at a time by default
        from liqcore.backtest.chunked import default_chunk_days

        cdays = default_chunk_days(src.path, symbols, filt[0], filt[1], together=args.by != "symbol")
    cdays = cdays or None  # 0: whole
    if src.kind == "synthetic" and not (cdays and all(len(g) == 1 for g in groups)):
        # each partition's market made whole (one symbol in chunks of --chunk-days is made part by part,
        # liqcore.synthetic.chunks), by as many workers at once: refused in one line when it cannot fit
        from liqcore.synthetic.market import DEFAULT_START_NS as t0, build_params
        from liqcore.synthetic.memory import check_fits, market_bytes

        big = max(groups, key=lambda g: market_bytes({s: build_params(s, args.days, t0) for s in g}))
        local = not (getattr(args, "dask", None) not in (None, "local") or getattr(args, "scheduler", None))
        copies = min(max(1, int(getattr(args, "workers", 1) or 1)), len(groups)) if local else 1
        check_fits({s: build_params(s, args.days, t0) for s in big}, args.days, copies=copies)
    pdays = getattr(args, "partition_days", None)
    from liqcore.config import parse_duration

    warm = parse_duration(getattr(args, "warmup", None) or "0", "warmup")  # (a bad one refused, used or not)
    if pdays is None:
        parts = [Partition(src, g, filt[0], filt[1], chunk_days=cdays) for g in groups]
    else:
        from liqcore.units import parse_days

        parse_days(pdays, "partition-days")
        step = int(pdays * NS_PER_DAY)
        parts = []
        for g in groups:
            t = int(s0)
            while t < s1:
                parts.append(Partition(src, g, t - warm, min(t + step, int(s1)), trade_start_ns=t, chunk_days=cdays))
                t += step
    return parts, (int(s0), int(s1)), label


def data_span(parts, span: tuple[int, int]) -> tuple[int, int]:
    """The part of ``span`` the data covers: a dataset's span runs from midnight to midnight of its
    dates, its events from the first receive time to the last; folds laid over the dates would leave
    hours without data (a 5-hour recording: most of a day).  Other sources' spans already follow
    their data."""
    if not parts or parts[0].source.kind != "dataset":
        return span
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from liqcore.dataset.read import open_arrow_dataset

    d = open_arrow_dataset(parts[0].source.path)
    col = "ts_recv_ns" if "ts_recv_ns" in d.schema.names else "ts_event_ns"
    symbols = sorted({s for p in parts for s in p.symbols})
    flt = (ds.field("ts_event_ns") >= pa.scalar(int(span[0]), pa.int64())) \
        & (ds.field("ts_event_ns") < pa.scalar(int(span[1]), pa.int64()))
    if symbols:
        flt = flt & ds.field("symbol").isin(symbols)
    t = d.to_table(columns=[col, "ts_event_ns"], filter=flt)
    if not t.num_rows:
        return span
    ts = pc.coalesce(t[col], t["ts_event_ns"])
    mm = pc.min_max(ts).as_py()
    lo, hi = int(mm["min"]), int(mm["max"]) + 1
    return max(int(span[0]), lo), max(min(int(span[1]), hi), max(int(span[0]), lo) + 1)


def whole_days(span: tuple[int, int]) -> tuple[int, int]:
    """``span`` widened to the UTC days it touches when it covers two days or more (folds then cut on midnights:
    a window that starts 50 ms after one would end 50 ms into the next day, a day of no return that sinks its
    Sharpe ratio); a shorter span as it is (the folds of a few hours' recording follow its hours)."""
    lo, hi = int(span[0]), int(span[1])
    if hi - lo < 2 * NS_PER_DAY:
        return lo, hi
    return lo // NS_PER_DAY * NS_PER_DAY, -(-hi // NS_PER_DAY) * NS_PER_DAY


def _day(ns: int) -> str:
    import numpy as np

    return str(np.datetime64(int(ns) // NS_PER_DAY, "D"))


def _is_dataset(path) -> bool:
    from liqcore.dataset import is_dataset

    return is_dataset(path)


def cells_from(grid: dict, args, opts: dict, base=None) -> list[dict]:
    from liqcore.sweep.grid import check_cells, expand_cells

    samples = args.samples if args.samples is not None else opts.get("samples")
    seed = args.sample_seed if args.sample_seed is not None else opts.get("seed", 0)
    if samples is not None and int(samples) < 1:
        raise ValueError(f"samples: must be >= 1; got {samples}")
    cells = expand_cells(grid, None if samples is None else int(samples), int(seed))
    if not cells:
        raise ValueError("grid: empty")
    check_cells(cells, base)
    return cells
