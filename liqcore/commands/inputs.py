"""The input side every command shares: its arguments and its loading.

The details: docs/maintainers/design.md, "The inputs every command shares".

May import: ``numpy``, ``_jit.synth``, ``config``, ``dataset``, ``execution.latency``, ``features.store``,
``instruments``, ``io``, ``io.mapped``, ``synthetic.market``, ``types`` and ``venues.common``.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
from liqcore.types import DEFAULT_VENUE
from liqcore.commands._venues import venue_list, venues_where

__all__ = [
    "Steps", "add_source_arguments", "add_synthetic_arguments", "add_time_arguments", "add_recording_arguments",
    "add_cache_max_argument",
    "add_mapping_arguments", "column_mapping",
    "load_source", "load_input", "load_recordings", "select", "selection_label", "symbol_list", "time_window",
    "apply_time_window", "load_plugins", "SYNTHETIC_KINDS", "synthetic_knobs", "synthetic_from_args",
]

#: the event kinds every synthetic market holds (a strategy's inputs are checked against these
#: before the market is built)
SYNTHETIC_KINDS = frozenset({"liquidation", "trade", "mark", "funding"})


class Steps:
    """A rich progress display of named steps on stderr (silent when disabled, and when stderr is not a
    terminal: there a transient display could only leave an empty line in front of what follows)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._p = None

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            console = Console(stderr=True)
            if console.is_terminal:
                self._p = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                   console=console, transient=True)
                self._p.__enter__()
        return self

    def step(self, text: str):
        if self._p is not None:
            for t in self._p.tasks:
                if not t.finished:
                    self._p.update(t.id, completed=1, total=1)
            self._p.add_task(text, total=None)

    def counted(self, text: str, total: int, unit: str):
        """A step that counts to ``total`` ``unit``: returns ``advance(n)``, which shows ``text: n of total
        unit (p %)`` (nothing when the display is off)."""
        self.step(text)
        if self._p is None or total <= 0:
            return lambda n: None
        task = self._p.tasks[-1].id
        done = [0]

        def advance(n: int) -> None:
            done[0] += int(n)
            self._p.update(task, description=f"{text}: {done[0]:,} of {total:,} {unit} "
                                             f"({min(100.0, 100.0 * done[0] / total):.0f} %)")
        return advance

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.__exit__(*exc)


# ---- arguments ----------------------------------------------------------------------------------------
def _format_argument(parser, *, choices: bool) -> None:
    from liqcore.io import FORMATS, format_arg

    if choices:
        parser.add_argument("--format", type=format_arg, choices=FORMATS, metavar="F", default=None,
                            help="force the input format, one of: " + ", ".join(FORMATS) + " (default: detect per file)")
    else:
        parser.add_argument("--format", default=None, metavar="F", type=format_arg,
                            help="force the input format (default: detect per file; see `liqcore events --help`)")


def add_mapping_arguments(parser) -> None:
    """``--columns`` and its options: read homemade CSV / Parquet files through a column mapping
    (:mod:`liqcore.io.mapped`).  ``--kind`` and ``--venue`` are added unless the command has them
    already (as filters, or the synthetic market's venue): their value then says the rows' kind and
    venue too."""
    g = parser.add_argument_group("homemade files (a column mapping; see docs/data.md)")
    g.add_argument("--columns", default=None, metavar="MAP",
                   help="read every file (CSV or Parquet) through this mapping: ts=COL,symbol=COL,side=COL,price=COL,"
                        "qty=COL[,venue=COL][,ts_recv=COL]")
    g.add_argument("--ts-unit", default=None, choices=("s", "ms", "us", "ns"),
                   help="with --columns: the unit of the ts (and ts_recv) column, since the epoch")
    g.add_argument("--side-means", default=None, choices=("order", "position"),
                   help="with --columns and liquidations: the side column is the forced order's side (BUY = a short "
                        "was liquidated) or the liquidated position's side (LONG/SHORT)")
    have = getattr(parser, "_option_string_actions", {})
    if "--kind" not in have:
        g.add_argument("--kind", default=None, help="with --columns: what every row is, liquidation or trade")
    if "--venue" not in have:
        g.add_argument("--venue", default=None, metavar="VENUE",
                       help=f"with --columns: the venue of every row ({venue_list(' | ')}: the registered venues)")


def column_mapping(args):
    """The :class:`liqcore.io.mapped.ColumnMapping` of ``--columns`` (None without it); ValueError
    naming the option that is missing or wrong."""
    cols = getattr(args, "columns", None)
    if getattr(args, "kind", None):
        kind_names(args.kind)  # (the same names, whatever --kind says on this command)
    if not cols:
        for opt in ("ts_unit", "side_means"):
            if getattr(args, opt, None):
                raise ValueError(f"{opt.replace('_', '-')}: only with --columns")
        return None
    from liqcore.io.mapped import make_mapping

    if getattr(args, "format", None) not in (None, "columns"):
        raise ValueError(f"columns: --columns reads every file itself; drop --format {args.format}")
    venue = getattr(args, "venue", None)
    if venue and "," in str(venue) and "venue=" not in str(cols).replace(" ", ""):
        raise ValueError(f"venue: with --columns, one venue (the rows' venue); got {venue!r}")
    if "venue=" in str(cols).replace(" ", ""):  # a venue column: --venue (if any) only filters
        venue = None
    return make_mapping(cols, args.ts_unit, args.side_means, getattr(args, "kind", None), venue)


def _say_mapping(result) -> None:
    """The column mapping's report, once per load, on stderr."""
    from liqcore.io.mapped import mapping_report

    line = mapping_report(result)
    if line:
        import sys

        print(line, file=sys.stderr, flush=True)


def _allow_empty_argument(parser) -> None:
    parser.add_argument("--allow-empty", action="store_true",
                        help="exit 0 (with a warning) when the input yields no usable events, instead of failing")


def add_time_arguments(parser) -> None:
    """``--start`` / ``--end``: keep the events received in [start, end)."""
    g = parser.add_argument_group("time filter")
    g.add_argument("--start", default=None, metavar="T",
                   help="keep events received at or after T (ISO-8601 like 2026-01-05T13:00:00Z, or ns since the epoch)")
    g.add_argument("--end", default=None, metavar="T", help="keep events received before T (same forms)")


def add_cache_max_argument(parser) -> None:
    """``--cache-max SIZE``: the synthetic-market cache's size cap for this command (liqcore.cli puts it
    in ``$LIQCORE_CACHE_MAX``, so worker processes follow it too)."""
    parser.add_argument("--cache-max", default=None, metavar="SIZE",
                        help="size cap of the synthetic-market cache: the least recently used markets are deleted "
                             "beyond it (e.g. 500MB, 2GB, 0, unlimited; default $LIQCORE_CACHE_MAX, else 1GB)")


def add_synthetic_arguments(parser, *, what: str = "use") -> None:
    """``--synthetic`` and its options (``--days``, ``--symbols``, ``--seed``, ``--venue``)."""
    src = parser.add_argument_group("synthetic market")
    src.add_argument("--synthetic", action="store_true", help=f"{what} a synthetic market instead of files")
    src.add_argument("--days", type=float, default=30.0, action=_SyntheticOnly,
                     help="synthetic market length in days (default 30)")
    src.add_argument("--symbols", default=None,
                     help="comma list of symbols: the synthetic market's (default: BTCUSDT,ETHUSDT,SOLUSDT,"
                          "XRPUSDT,DOGEUSDT), or the ones to keep from recordings (default: all)")
    src.add_argument("--seed", type=int, default=7, action=_SyntheticOnly, help="synthetic market seed (default 7)")
    src.add_argument("--venue", default=None, metavar="VENUE",
                     help=f"synthetic market venue, one of {venue_list(' | ')} (the registered venues; default "
                          f"{DEFAULT_VENUE}); with --columns, the recordings' venue")
    add_cache_max_argument(src)
    src.add_argument("--preset", default=None, action=_SyntheticOnly,
                     help="named synthetic market: default, null (liquidations move no price, no effects), "
                          "reversion, continuation, contagion, volatility, time_of_day, open_interest")
    src.add_argument("--knob", action=_SyntheticOnly, nargs=None, default=[], metavar="NAME=VALUE",
                     help="set one synthetic-market knob (a generator parameter such as vol_liq, p_cont, impact, "
                          "diurnal_a, or a market effect such as contagion, contagion_lag_s, open_interest, "
                          "oi_organic); repeatable")


class _SyntheticOnly(argparse.Action):
    """An option of the synthetic market alone (``--days``, ``--seed``, ``--preset``, ``--knob``, the last one
    repeatable): stored as ``store`` (``append`` for ``--knob``) stores it, and noted as given: ``synthetic_only``
    is the line that refuses the first one given, should ``--synthetic`` not be (``liqcore.cli`` raises it before
    the command runs: with recordings or a dataset it would be ignored)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if self.dest == "knob":
            values = [*(getattr(namespace, self.dest, None) or []), values]
        setattr(namespace, self.dest, values)
        given = list(getattr(namespace, "synthetic_given", None) or [])
        if option_string not in given:
            namespace.synthetic_given = given + [option_string]
        opt = namespace.synthetic_given[0]
        value = getattr(namespace, opt[2:])
        shown = " ".join(f"{opt} {v}" for v in value) if isinstance(value, list) else \
            f"{opt} {value:g}" if isinstance(value, float) else f"{opt} {value}"
        tail = "; recordings and datasets are cut in time with --start / --end" if opt == "--days" else ""
        namespace.synthetic_only = f"{opt[2:]}: only with --synthetic ({_SYNTHETIC_ONLY[opt]}; got {shown}){tail}"


#: what each synthetic-only option is, for :class:`_SyntheticOnly`'s line
_SYNTHETIC_ONLY = {"--days": "the synthetic market's length in days", "--seed": "the synthetic market's seed",
                   "--preset": "a named synthetic market", "--knob": "a synthetic-market knob"}


def synthetic_knobs(args) -> tuple[dict, dict]:
    """(generator overrides, market effects) from ``--knob NAME=VALUE`` arguments."""
    from liqcore._jit.synth import PARAM_NAMES
    from liqcore.synthetic.market import Effects

    over, eff = {}, {}
    for item in getattr(args, "knob", None) or []:
        name, sep, value = str(item).partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"knob: expected NAME=VALUE; got {item!r}")
        if name in Effects.__dataclass_fields__:
            if name in ("open_interest", "book"):
                v = value.strip().lower()
                if v not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError(f"knob: {name} expects true or false; got {value!r}")
                eff[name] = v in ("1", "true", "yes")
            elif name == "leader":
                eff[name] = value.strip().upper()
            else:
                try:
                    eff[name] = float(value)
                except ValueError:
                    raise ValueError(f"knob: {name} expects a number; got {value!r}") from None
        elif name in PARAM_NAMES:
            try:
                over[name] = float(value)
            except ValueError:
                raise ValueError(f"knob: {name} expects a number; got {value!r}") from None
        else:
            raise ValueError(f"knob: unknown synthetic-market knob {name!r}")
    return over, eff


def synthetic_from_args(args, steps=None, *, preset: str | None = None, book: bool = False):
    """The synthetic market of the arguments (``--days``, ``--symbols``, ``--seed``, ``--venue``,
    ``--preset`` unless ``preset`` is given, ``--knob``, and ``args.synthetic_effects`` set by a
    command); ``book``: with its top of book (the queue fill rule reads it).  Returns ``(market, label)``."""
    from liqcore.synthetic.market import synthetic_market

    kw = synthetic_symbols(args)
    preset = preset if preset is not None else getattr(args, "preset", None)
    book = {"book": True} if book else {}
    if getattr(args, "knob", None) or getattr(args, "synthetic_effects", None) or book:
        over, eff = synthetic_knobs(args)
        kw["overrides"] = over
        kw["effects"] = {**book, **(getattr(args, "synthetic_effects", None) or {}), **eff}
    if steps is not None:
        steps.step(f"synthetic market: {args.days:g} days" + (f", preset {preset}" if preset else ""))
    m = synthetic_market(days=args.days, seed=args.seed, venue=args.venue or DEFAULT_VENUE, preset=preset, **kw)
    what = f", preset {preset}" if preset else ""
    return m, f"synthetic market ({m.days:g} days, {', '.join(m.symbols)}, seed {m.seed}{what})"


def add_source_arguments(parser, *, what: str = "use") -> None:
    """Recordings or a synthetic market: ``PATH...``, ``--format``, ``--allow-empty``, the synthetic
    market's options, ``--start`` / ``--end``."""
    parser.add_argument("paths", nargs="*", metavar="PATH", help="recordings (files or directories)")
    _format_argument(parser, choices=False)
    _allow_empty_argument(parser)
    add_synthetic_arguments(parser, what=what)
    add_time_arguments(parser)
    add_mapping_arguments(parser)
    add_storage_arguments(parser)


def add_storage_arguments(parser) -> None:
    """``--storage-option KEY=VALUE`` (repeatable): options of the file system of every URL the command
    reads or writes (``s3://``, ``gs://``, any fsspec URL), beside the credentials of the standard
    places; never printed."""
    parser.add_argument("--storage-option", action="append", default=[], metavar="KEY=VALUE",
                        help="an option of the object store of s3:// / gs:// / fsspec URLs (repeatable), e.g. "
                             "endpoint_url=http://127.0.0.1:9000, anon=true, key=..., secret=...; credentials "
                             "otherwise come from the environment and profile files (AWS_ENDPOINT_URL for MinIO)")


def add_recording_arguments(parser, *, nargs: str = "+", feed_latency: str = "duration",
                            instruments: bool = True, format_choices: bool = True) -> None:
    """Recordings only: ``PATH...``, ``--format`` (one of the formats), ``--strict``,
    ``--feed-latency`` (``feed_latency="duration"``: a plain duration; ``"param"``: the parameter of
    the one vocabulary), ``--allow-empty``, ``--instruments``; ``format_choices``: argparse checks the
    ``--format`` name (else the loader does, with the same exit status 2)."""
    parser.add_argument("paths", nargs=nargs, metavar="PATH", help="recording files or directories")
    _format_argument(parser, choices=format_choices)
    if feed_latency == "param":
        parser.add_argument("--feed-latency", dest="param_feed_latency_ns", default=None, metavar="DUR",
                            help="receive time = event time + DUR where none was recorded (default 0)")
    else:
        parser.add_argument("--feed-latency", default="0", metavar="DUR",
                            help="receive time = event time + DUR where none was recorded (e.g. 150ms; default 0)")
    parser.add_argument("--strict", action="store_true",
                        help="stop at the first bad record (file:line) instead of counting it, and at the first "
                             "file that cannot be read instead of skipping it")
    _allow_empty_argument(parser)
    add_storage_arguments(parser)
    if instruments:
        parser.add_argument("--instruments", metavar="FILE",
                            help="symbol -> contract value JSON of a venue whose sizes are contracts "
                                 f"({venues_where('sizes_in_contracts')}): a plain mapping or the venue's "
                                 "instrument-list response")


# ---- filters ------------------------------------------------------------------------------------------
def symbol_list(text) -> list[str]:
    """``"BTCUSDT, ethusdt"`` -> ``["BTCUSDT", "ETHUSDT"]`` (venue prefixes ``bybit:`` dropped)."""
    return [s.strip().upper().rpartition(":")[2] for s in str(text or "").split(",") if s.strip()]


def _time(value, name: str) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    from liqcore.features.store import parse_times

    t = parse_times(str(value), name)
    if len(t) != 1:
        raise ValueError(f"{name}: expected one time; got {value!r}")
    return int(t[0])


def time_window(args) -> tuple[int | None, int | None]:
    """(start, end) in ns from ``--start`` / ``--end`` (None when not given); end after start."""
    start = _time(getattr(args, "start", None), "start")
    end = _time(getattr(args, "end", None), "end")
    if start is not None and end is not None and end <= start:
        raise ValueError("end: must be after --start")
    return start, end


def apply_time_window(events: np.ndarray, start: int | None, end: int | None) -> np.ndarray:
    if start is None and end is None:
        return events
    ts = events["ts_recv"]
    mask = np.ones(len(events), dtype=bool)
    if start is not None:
        mask &= ts >= start
    if end is not None:
        mask &= ts < end
    return events if mask.all() else events[mask]


def kind_names(kind) -> list[str]:
    """The event kinds of a ``--kind`` value (a comma list; a plural -- ``liquidations``, as ``download --types``
    names them -- is its kind), each its one name (``liquidation``); ValueError for an unknown one.  Every
    command's ``--kind`` (a filter, or what the rows of a mapped file are) goes through this."""
    from liqcore.types import Kind
    from liqcore.venues.common import KIND_BY_NAME

    out = []
    for k in str(kind).split(","):
        k = k.strip().lower()
        if not k:
            continue
        if k not in KIND_BY_NAME and k.endswith("s") and k[:-1] in KIND_BY_NAME:
            k = k[:-1]
        if k not in KIND_BY_NAME:
            raise ValueError(f"kind: unknown kind {k!r} (expected {', '.join(x.name.lower() for x in Kind)})")
        if k not in out:
            out.append(k)
    return out


def select(events: np.ndarray, registry, *, kind=None, symbol=None, venue=None, start=None, end=None,
           keep_global: bool = False, mask: bool = False) -> np.ndarray:
    """Events filtered by kind / symbol / venue names (comma lists) and receive time [start, end).
    ``keep_global``: events without a symbol (gaps) pass the symbol filter.  ``mask``: the boolean
    mask of the events kept instead (to cut arrays aligned with them alike)."""
    from liqcore.types import Kind, Venue
    from liqcore.venues.common import KIND_BY_NAME

    ev = events
    keep = np.ones(len(ev), dtype=bool)
    if kind:
        keep &= np.isin(ev["kind"], [KIND_BY_NAME[k] for k in kind_names(kind)])
    if venue:
        vs = [int(Venue.parse(v)) for v in str(venue).split(",") if v.strip()]
        keep &= np.isin(ev["venue"], vs)
    if symbol:
        wanted = set(symbol_list(symbol)) | {s.strip().upper() for s in str(symbol).split(",") if s.strip()}
        ids = [sid for sid, _, s in registry if s.upper() in wanted]
        m = np.isin(ev["symbol_id"], ids)
        keep &= (m | (ev["symbol_id"] < 0)) if keep_global else m
    if start is not None:
        keep &= ev["ts_recv"] >= start
    if end is not None:
        keep &= ev["ts_recv"] < end
    if mask:
        return keep
    return ev if keep.all() else ev[keep]


def selection_label(**flags) -> str:
    """``--kind liquidation --symbol BTCUSDT`` from the filters given (for messages)."""
    return " ".join(f"--{k} {v}" for k, v in flags.items() if v)


# ---- loading ------------------------------------------------------------------------------------------
#: venues already said to have symbols liqcore does not check (once per process)
_UNCHECKED_SAID: set = set()


def warn_unknown_symbols(symbols, consequence: str = "", venue=None) -> list[str]:
    """Warn on stderr, once per symbol, for each symbol that is not an instrument liqcore knows, naming
    the closest (``consequence`` follows: what the command does with it); the warnings printed.  ``venue``: the
    venue the symbols are of; one whose instruments liqcore does not know (a plugin's:
    :func:`liqcore.instruments.checks_symbols`) gets one note, once, that its symbols are not checked."""
    from liqcore.instruments import checks_symbols, unknown_symbol_note

    if venue is not None and not checks_symbols(venue):
        from liqcore.venues.registry import venue_spec

        name = venue_spec(venue).name
        if name not in _UNCHECKED_SAID:
            _UNCHECKED_SAID.add(name)
            print(f"note: venue {name}: its symbols are not checked (liqcore knows no instrument list of a venue "
                  f"registered from outside it, a plugin's): {', '.join(dict.fromkeys(symbols))}",
                  file=sys.stderr, flush=True)
        return []
    out = []
    for sym in dict.fromkeys(symbols):
        note = unknown_symbol_note(sym)
        if note:
            out.append(f"warning: {note}{consequence}")
            print(out[-1], file=sys.stderr, flush=True)
    return out


def synthetic_symbols(args) -> dict:
    if not getattr(args, "symbols", None):
        return {}
    syms = tuple(symbol_list(args.symbols))
    warn_unknown_symbols(syms, "; its synthetic market is built from generic parameters")
    return {"symbols": syms}


def load_source(args, params, steps=None, *, filter_symbols: bool = False):
    """(events, registry, label) from the source arguments: recordings or ``--synthetic``, cut to
    ``--start`` / ``--end``.  ``filter_symbols``: recordings keep only ``--symbols`` (gap events
    too).  With ``feed-latency-mode constant`` every event is received at its event time + feed-latency."""
    from liqcore.execution.latency import apply_feed_latency

    events, registry, label = _load_source(args, params, steps, filter_symbols=filter_symbols)
    return apply_feed_latency(events, params), registry, label


def _load_source(args, params, steps=None, *, filter_symbols: bool = False):
    steps = steps or Steps(False)
    start, end = time_window(args)
    if args.synthetic:
        if args.paths:
            raise ValueError("paths: give either recordings or --synthetic, not both")
        m, label = synthetic_from_args(args, steps, book=getattr(params, "fill", "") == "queue")
        args._market = m  # the market's truth, for commands that report it
        events = apply_time_window(m.events, start, end)
        if len(events) != len(m.events):
            label += " " + selection_label(start=args.start, end=args.end)
        return events, m.registry, label
    if not args.paths:
        raise ValueError("paths: give recordings, or --synthetic")
    from liqcore.io import require_events
    from liqcore.dataset.load import load_events

    from liqcore.dataset import is_dataset, load_dataset

    if len(args.paths) == 1 and is_dataset(args.paths[0]):  # read lazily: only the partitions asked for
        steps.step("reading the dataset")
        syms = symbol_list(args.symbols) if getattr(args, "symbols", None) else None
        res = load_dataset(args.paths[0], symbols=syms, start_ns=start, end_ns=end,
                           max_clock_skew_ns=params.max_clock_skew_ns)
        from liqcore.venues.common import fill_recv

        fill_recv(res.events, params.feed_latency_ns)
        events = apply_time_window(res.events, start, end)
        if getattr(params, "fill", "") == "queue":  # the queue at depth: the dataset's depth rows replayed too
            from liqcore.dataset import has_depth, with_depth

            if has_depth(args.paths[0], syms):
                events = with_depth(events, res.registry, args.paths[0], syms, start, end)
        require_events(res, args.paths, allow_empty=getattr(args, "allow_empty", False), usable=len(events),
                       selection=selection_label(symbols=syms and ",".join(syms), start=args.start, end=args.end))
        return events, res.registry, f"dataset {args.paths[0]}"

    steps.step("loading recordings")
    res = load_events(args.paths, format=args.format, feed_latency_ns=params.feed_latency_ns,
                      max_clock_skew_ns=params.max_clock_skew_ns, columns=column_mapping(args))
    _say_mapping(res)
    sym = getattr(args, "symbols", None) if filter_symbols else None
    events = select(res.events, res.registry, symbol=sym, start=start, end=end, keep_global=True)
    require_events(res, args.paths, allow_empty=getattr(args, "allow_empty", False), usable=len(events),
                   selection=selection_label(symbols=sym, start=args.start, end=args.end))
    return events, res.registry, f"{len(res.sources)} file(s): " + ", ".join(res.sources)


def load_input(args, params, steps=None):
    """(events, registry, label, symbols filter) -- :func:`load_source` for commands that pass the
    recordings' ``--symbols`` on to their computation (features, study, leak-audit) instead of
    cutting the events."""
    events, registry, label = load_source(args, params, steps)
    symbols = None
    if args.symbols and not args.synthetic:
        symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
        if len(events):
            from liqcore.io import require_usable

            wanted = set(symbol_list(args.symbols))
            ids = [sid for sid, _, name in registry if name.upper() in wanted]
            require_usable(int(np.isin(events["symbol_id"], ids).sum()), args.paths,
                           reason=f"none of its {len(events):,} events match --symbols {args.symbols}",
                           allow_empty=args.allow_empty)
    return events, registry, label, symbols


def load_recordings(args, *, feed_latency_ns: int | None = None, max_clock_skew_ns: int | None = None,
                    paths=None):
    """The :class:`liqcore.io.LoadResult` of the recording arguments (``--format``, ``--strict``,
    ``--feed-latency``, ``--instruments``; ``--symbol``: a dataset reads only those symbols' partitions, the caller
    still selects the events)."""
    from liqcore.dataset.load import load_events

    if feed_latency_ns is None:
        from liqcore.config import parse_duration

        feed_latency_ns = parse_duration(getattr(args, "feed_latency", "0") or "0", "feed-latency")
    kw = {}
    if max_clock_skew_ns is not None:
        kw["max_clock_skew_ns"] = max_clock_skew_ns
    res = load_events(list(paths if paths is not None else args.paths), format=args.format,
                      strict=getattr(args, "strict", False), feed_latency_ns=feed_latency_ns,
                      instruments=getattr(args, "instruments", None), columns=column_mapping(args),
                      symbols=getattr(args, "symbol", None) or None, **kw)
    _say_mapping(res)
    return res


def load_plugins(plugins) -> None:
    """Import each module name or .py file (they register user features)."""
    import importlib
    import importlib.util
    from pathlib import Path

    for p in plugins or ():
        path = Path(p)
        try:
            if p.endswith(".py"):
                if not path.is_file():
                    raise ValueError(f"plugin: file {p!r} not found")
                spec = importlib.util.spec_from_file_location(f"liqcore_plugin_{path.stem}", path)
                mod = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(mod)
            else:
                importlib.import_module(p)
        except ImportError as exc:
            raise ValueError(f"plugin: cannot import {p!r}: {exc}") from None


def add_plugin_argument(parser_or_group) -> None:
    parser_or_group.add_argument("--plugin", action="append", default=[], metavar="MODULE|FILE.py",
                                 help="import a module or file that registers user features (repeatable)")

