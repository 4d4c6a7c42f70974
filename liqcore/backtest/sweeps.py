"""Sweeps at scale: cells = detector configuration x execution configuration x partition x window.

* A **source** names where events come from (a synthetic market, a partitioned dataset, recording
  files); a **partition** is a group of symbols of a source over a time span, loaded by whoever runs it
  (a worker process or a dask worker reads its own partitions: tasks carry paths and filters, never
  arrays).  A **window** is a [start, end) time range inside a partition (a date range of a sweep, a
  train or test fold of a walk-forward).
* Detection runs once per (detector configuration, partition); every execution variant and every
  window reuses its records (detection is causal, so the records inside a window are those a run
  started at the partition start would see: the detector is warm at the window start).
* :func:`evaluate_cells` is the one seam between the machinery and the strategy: given the prepared
  events of a partition, a detector configuration, its records, a list of execution/strategy
  parameter sets and windows, it returns one metrics row per (parameter set, window).
* :func:`run_cells` plans the tasks, skips cells already stored (resumable: every finished task is
  written to ``OUT.parts/`` at once), and runs the rest in-process, on a local process pool, or on a
  dask cluster; results are identical whichever runs them.  Where each task runs (the work follows
  the data) is decided by :mod:`liqcore.backtest.schedule`.

Why one module: a task, the per-process partition cache it is run against (with its load counters
and the partitions shared before a fork) and the runners that ship tasks to processes share that
private state; split apart, each piece would reach into the others' internals.
"""
from __future__ import annotations

import hashlib
import itertools
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from liqcore.config import DETECTOR_PARAMS, Params
from liqcore.params import fill_label

NS_PER_DAY = 86_400_000_000_000
METRICS = ("trades", "win_rate", "avg_return", "total_return", "sharpe", "max_drawdown", "fills", "orders",
           "cascades", "fill_rate", "n_take_profit", "n_stop_loss", "n_timeout", "exposure", "days")
#: metric column -> the backtest summary's key, where they differ: the exit counts are prefixed with
#: ``n_`` so that no metric column can be read as a parameter (``take-profit`` / ``take_profit``)
_SUMMARY_KEY = {"n_take_profit": "take_profit", "n_stop_loss": "stop_loss", "n_timeout": "timeout"}
#: metrics a walk-forward can select on (higher is better except max_drawdown)
SELECT_METRICS = ("sharpe", "total_return", "avg_return", "win_rate", "max_drawdown", "trades")

__all__ = ["Source", "Partition", "Window", "validate_grid", "split_grid", "load_partition", "Prepared", "expand_cells", "load_grid_file", "evaluate_cells",
           "run_cells", "cell_key", "prepare", "LocalRunner", "DaskRunner", "make_runner", "METRICS"]


# ---------------------------------------------------------------------------------------------- grid
def _canon(name: str) -> str:
    return str(name).strip().replace("_", "-")


def validate_grid(grid: dict) -> dict[str, list]:
    """Check names and values (each parsed by its parameter's own parser); returns name -> values
    with CLI names.  Unknown names, empty lists and an empty grid are ValueErrors."""
    if not grid:
        raise ValueError("grid: empty; give at least one parameter with a list of values")
    out: dict[str, list] = {}
    for name, values in grid.items():
        n = _canon(name)
        if not isinstance(values, (list, tuple)):
            values = [values]
        if not values:
            raise ValueError(f"grid: {n!r} has no values")
        if n in out:
            raise ValueError(f"grid: {n!r} given twice")
        for v in values:
            try:
                Params.from_mapping({n: v})
            except ValueError as exc:
                raise ValueError(f"grid: {exc}") from None
        if Params.from_mapping({n: values[0]}).explicit & {"feed_latency_ns", "max_clock_skew_ns",
                                                              "ping_interval_ns", "stall_timeout_ns",
                                                              "shutdown_timeout_ns"}:
            raise ValueError(f"grid: {n!r} is not a detector, strategy, execution or risk parameter")
        out[n] = list(values)
    return out


def is_detector(name: str) -> bool:
    return bool(Params.from_mapping({name: _probe(name)}).explicit & set(DETECTOR_PARAMS))


def _probe(name: str):
    from liqcore.config import PARAMS

    for s in PARAMS:
        if s.name == name:
            return s.default if s.default is not None else "all"
    raise ValueError(f"grid: unknown parameter {name!r}")


def split_grid(grid: dict[str, list]) -> tuple[list[str], list[str]]:
    """(detector names, execution/strategy names) of a validated grid, in grid order."""
    det = [n for n in grid if is_detector(n)]
    return det, [n for n in grid if n not in det]


def expand_cells(grid: dict[str, list], samples: int | None = None, seed: int = 0) -> list[dict]:
    """Every combination (grid order), or ``samples`` distinct combinations drawn at random with
    ``seed`` (all of them when the grid is smaller)."""
    names = list(grid)
    sizes = [len(grid[n]) for n in names]
    total = math.prod(sizes)
    if samples is None or samples >= total:
        return [dict(zip(names, c)) for c in itertools.product(*(grid[n] for n in names))]
    if samples < 1:
        raise ValueError(f"samples: must be >= 1; got {samples}")
    rng = random.Random(seed)
    picks = sorted(rng.sample(range(total), samples))
    out = []
    for k in picks:
        combo = {}
        for n, size in zip(reversed(names), reversed(sizes)):
            k, i = divmod(k, size)
            combo[n] = grid[n][i]
        out.append({n: combo[n] for n in names})
    return out


def load_grid_file(path) -> tuple[dict[str, list], dict]:
    """A TOML grid file: parameters under ``[grid]`` (or at the top level) as lists of values; an
    optional ``[sweep]`` table with ``samples``, ``seed``, ``symbols``, ``start``, ``end``, ``ranges``."""
    from liqcore.config import load_config

    data = load_config(path, flag="--grid")
    grid = data.get("grid", None)
    opts = data.get("sweep", {})
    if grid is None:
        grid = {k: v for k, v in data.items() if not isinstance(v, dict)}
    if not isinstance(grid, dict) or not isinstance(opts, dict):
        raise ValueError(f"grid: {path}: expected a [grid] table of NAME = [values]")
    known = {"samples", "seed", "symbols", "start", "end", "ranges", "split_days"}
    bad = [k for k in opts if k not in known]
    if bad:
        raise ValueError(f"grid: {path}: unknown [sweep] key(s) {', '.join(bad)}; known: {', '.join(sorted(known))}")
    return grid, opts


def _json_default(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return str(v)


def _hash(obj) -> str:
    import orjson

    return hashlib.sha1(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS, default=_json_default)).hexdigest()[:20]


# ---------------------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class Source:
    """Where events come from.  ``kind``: ``synthetic`` (``days``, ``seed``, ``venue``; each partition's
    symbols are generated by the worker, cached on disk), ``dataset`` (``path``: a partitioned
    dataset, read with filters) or ``files`` (``paths``: recordings, loaded whole and filtered)."""

    kind: str
    path: str = ""
    paths: tuple = ()
    format: str | None = None
    days: float = 30.0
    seed: int = 7
    venue: str = "bybit"
    feed_latency_ns: int = 0
    max_clock_skew_ns: int | None = 5_000_000_000
    cache: bool = True

    def ident(self) -> dict:
        d = {"kind": self.kind}
        if self.kind == "synthetic":
            d.update(days=self.days, seed=self.seed, venue=self.venue)
        elif self.kind == "dataset":
            d.update(path=_where(self.path))
        else:
            d.update(paths=[_where(p) for p in self.paths], format=self.format)
        return d


def _where(path) -> str:  # a source's place as it keys cells: a URL as given, a path resolved
    from liqcore.io.storage import display, is_url

    return display(path) if is_url(str(path)) else str(Path(path).resolve())


@dataclass(frozen=True)
class Partition:
    """Symbols of a source over [start_ns, end_ns) (None: the source's whole span).  With
    ``trade_start_ns`` the events from ``start_ns`` on are read and detected (a warm-up), but the
    partition's windows only cover [trade_start_ns, end_ns): a long span cut into chunks."""

    source: Source
    symbols: tuple
    start_ns: int | None = None
    end_ns: int | None = None
    trade_start_ns: int | None = None
    #: read and replay the partition in time chunks of this many days (memory holds one chunk; the
    #: rows are the same: :mod:`liqcore.backtest.stream`); None: whole.  Not part of its identity.
    chunk_days: float | None = None

    @property
    def label(self) -> str:
        name = ",".join(self.symbols) if self.symbols else "all"
        if self.trade_start_ns is not None:
            name += "@" + str(np.datetime64(int(self.trade_start_ns), "ns").astype("datetime64[s]")).replace("T00:00:00", "")
        return name

    def ident(self) -> dict:
        return {"source": self.source.ident(), "symbols": list(self.symbols), "start": self.start_ns,
                "end": self.end_ns, "trade_start": self.trade_start_ns}

    def clip(self, w: "Window") -> "Window | None":
        """The part of window ``w`` this partition trades, or None when they do not overlap."""
        lo = self.trade_start_ns if self.trade_start_ns is not None else self.start_ns
        hi = self.end_ns
        a = w.start_ns if lo is None else (lo if w.start_ns is None else max(lo, w.start_ns))
        b = w.end_ns if hi is None else (hi if w.end_ns is None else min(hi, w.end_ns))
        if a is not None and b is not None and b <= a:
            return None
        if a == w.start_ns and b == w.end_ns:
            return w
        return Window(a, b, w.name)


@dataclass(frozen=True)
class Window:
    """[start_ns, end_ns) (None: open); ``name`` labels the rows (a date range, a fold)."""

    start_ns: int | None = None
    end_ns: int | None = None
    name: str = "all"


def load_partition(part: Partition):
    """(events in ts_recv order, registry) of a partition, read by the caller's process."""
    from liqcore.execution.events import prepare_events

    src = part.source
    if src.kind == "synthetic":
        from liqcore.backtest.synthetic import synthetic_market

        kw = {"symbols": tuple(part.symbols)} if part.symbols else {}
        m = synthetic_market(days=src.days, seed=src.seed, venue=src.venue, cache=src.cache, **kw)
        ev, reg = m.events, m.registry
    elif src.kind == "dataset":
        from liqcore.dataset import load_dataset

        res = load_dataset(src.path, symbols=list(part.symbols) or None, start_ns=part.start_ns,
                           end_ns=part.end_ns, max_clock_skew_ns=src.max_clock_skew_ns, check=False)
        from liqcore.venues.common import fill_recv

        fill_recv(res.events, src.feed_latency_ns)
        ev, reg = res.events, res.registry
    elif src.kind == "files":
        from liqcore.io import load_events

        res = load_events(list(src.paths), format=src.format, feed_latency_ns=src.feed_latency_ns,
                          max_clock_skew_ns=src.max_clock_skew_ns)
        ev, reg = res.events, res.registry
        if part.symbols:
            ids = [sid for sid, _v, s in reg if s in set(part.symbols)]
            ev = ev[np.isin(ev["symbol_id"], ids)]
    else:
        raise ValueError(f"source: unknown kind {src.kind!r}")
    if src.kind != "dataset":
        from liqcore.backtest.stream import in_span

        ev = in_span(ev, part.start_ns, part.end_ns)
    return prepare_events(ev), reg


# ---------------------------------------------------------------------------------------- prepared
class Prepared:
    """A partition's events ready for many simulator passes: ts_recv order, unusable prices neutralised
    (as :func:`liqcore.backtest.run.simulate` does), windows cut by binary search.  The simulator
    only acts on trade prints and funding events, so its passes run over those alone
    (``sim_events``); record indices are mapped so that ties in time keep the original order."""

    def __init__(self, events: np.ndarray, registry):
        from liqcore.backtest import metrics as M
        from liqcore.execution.events import clean_prints, prepare_events
        from liqcore.types import Kind

        ev, _ = clean_prints(prepare_events(events))
        self.events = ev
        self.registry = registry
        self.ts = np.ascontiguousarray(ev["ts_recv"])
        self.kept = np.flatnonzero((ev["kind"] == int(Kind.TRADE)) | (ev["kind"] == int(Kind.FUNDING)))
        self.sim_events = np.ascontiguousarray(ev[self.kept])
        self.sim_ts = np.ascontiguousarray(self.sim_events["ts_recv"])
        n_sym = max(len(registry), 1)
        if len(ev):
            n_sym = max(n_sym, int(ev["symbol_id"].max()) + 1)
        self.n_sym = n_sym
        self.note = M.data_note(ev)

    def cut(self, w: Window) -> tuple[int, int]:
        """Indices [i0, i1) of the window in ``events``."""
        i0 = 0 if w.start_ns is None else int(np.searchsorted(self.ts, w.start_ns, "left"))
        i1 = len(self.ts) if w.end_ns is None else int(np.searchsorted(self.ts, w.end_ns, "left"))
        return i0, max(i0, i1)

    def sim_index(self, idx: np.ndarray) -> np.ndarray:
        """Record event indices (into ``events``) -> indices into ``sim_events`` with the same
        tie order: a record before original event j <=> before its position in ``sim_events``."""
        idx = np.asarray(idx, dtype=np.int64)
        k = np.searchsorted(self.kept, idx, "left")
        is_kept = (k < len(self.kept)) & (self.kept[np.minimum(k, max(len(self.kept) - 1, 0))] == idx) \
            if len(self.kept) else np.zeros(len(idx), dtype=bool)
        return np.where(is_kept, k, k - 1).astype(np.int64)


def prepare(events: np.ndarray, registry) -> Prepared:
    return Prepared(events, registry)


def _daily_vector(ledger, equity0, start_ns, end_ns) -> tuple[int, list]:
    from liqcore.backtest import metrics as M

    return int(start_ns // NS_PER_DAY), M.daily_returns(ledger, equity0, start_ns, end_ns).tolist()


def _simulate_window(prep: Prepared, rec: np.ndarray, params: Params, w: Window, equity: float,
                     with_daily: bool) -> dict:
    """One simulator pass over a window: the same result as ``simulate(events[i0:i1], records in the
    window)`` (tested), without re-validating the partition each time."""
    from liqcore._jit import sim
    from liqcore.execution.replay import new_replay

    if params.fill == "queue" or params.price_grid == "auto":
        from liqcore.execution.events import book_view, queue_fallback

        prep = book_view(prep)  # quotes for the queue rule; the price grids
    i0, i1 = prep.cut(w)
    j0 = int(np.searchsorted(prep.kept, i0, "left"))
    j1 = int(np.searchsorted(prep.kept, i1, "left"))
    ev = prep.sim_events[j0:j1]
    from liqcore.backtest.stream import span_mask

    r = rec[span_mask(rec["confirm_recv_ns"], w.start_ns, w.end_ns)]
    par, st, port, ledger, counts = new_replay(params, prep.registry, prep.n_sym, float(equity), len(r) + 1)
    fallback = False
    if params.fill == "queue" or params.price_grid == "auto":
        par["grid"] = prep.grids
        fallback = queue_fallback(par, prep.sim_events if prep.has_quotes else prep.sim_events[:0])
    # metrics span: every event of the window (as simulate() on the slice)
    start_ns = int(prep.ts[i0]) if i1 > i0 else (w.start_ns or 0)
    end_ns = int(prep.ts[i1 - 1]) if i1 > i0 else start_ns
    if len(r):
        end_ns = max(end_ns, int(r["confirm_recv_ns"].max()))
    sim.run_sim(ev, np.ascontiguousarray(r["confirm_recv_ns"], dtype=np.int64),
                np.ascontiguousarray(prep.sim_index(r["event_index"]) - j0, dtype=np.int64),
                np.ascontiguousarray(r["symbol_id"], dtype=np.int64),
                np.ascontiguousarray(r["dominant"], dtype=np.int64),
                np.ascontiguousarray(r["cascade_id"], dtype=np.int64),
                st, port, par, ledger, counts, end_ns)
    row = _sim_row(ledger, counts, st, port, equity, start_ns, end_ns, with_daily)
    row["fill_model"] = fill_label(params, fallback)  # the fill model behind the returns
    return row


def _sim_row(ledger, counts, st, port, equity: float, start_ns: int, end_ns: int, with_daily: bool) -> dict:
    """A window's metrics row from the simulator's arrays after its run (the caller names its fill
    model: ``fill_model``)."""
    from liqcore.backtest import metrics as M
    from liqcore.execution.replay import at_end

    n = int(port[0]["n_trades"])
    ledger = ledger[:n]
    open_at_end, working_at_end = at_end(st)
    s = M.summarize(ledger, counts, float(equity), start_ns, end_ns,
                    open_at_end=int(open_at_end.sum()), working_at_end=int(working_at_end.sum()))
    row = {k: s.get(_SUMMARY_KEY.get(k, k)) for k in METRICS}
    row["wins"] = int(np.sum(ledger["ret"] > 0)) if n else 0
    row["range_start_ns"] = start_ns
    row["range_end_ns"] = end_ns
    if with_daily:
        d0, daily = _daily_vector(ledger, float(equity), start_ns, end_ns)
        row["day0"] = d0
        row["daily"] = daily
    return row


def _generic_window(prep: Prepared, rec: np.ndarray, params: Params, w: Window, equity: float,
                    with_daily: bool) -> dict:
    """Any strategy on a window, through the backtest front: the window's events and the records
    confirmed in it (indices rebased) -> the same row as :func:`_simulate_window`.  Slower (the front
    re-validates the slice); used for strategies the window fast path does not know (the strategy
    is ``params.strategy``)."""
    from liqcore.backtest.run import run_strategy

    i0, i1 = prep.cut(w)
    ev = prep.events[i0:i1]
    from liqcore.backtest.stream import span_mask

    r = rec[span_mask(rec["confirm_recv_ns"], w.start_ns, w.end_ns)].copy()
    r["event_index"] -= i0
    res = run_strategy(ev, prep.registry, params, params.strategy, equity=float(equity), records=r)
    s = res.summary()
    row = {k: s.get(_SUMMARY_KEY.get(k, k)) for k in METRICS}
    row["wins"] = int(np.sum(res.ledger["ret"] > 0)) if len(res.ledger) else 0
    row["fill_model"] = s.get("fill_model")
    if i1 > i0:
        row["range_start_ns"], row["range_end_ns"] = int(res.start_ns), int(res.end_ns)
    else:
        row["range_start_ns"] = row["range_end_ns"] = int(w.start_ns or 0)
    if with_daily:
        d0, daily = _daily_vector(res.ledger, float(equity), row["range_start_ns"], row["range_end_ns"])
        row["day0"] = d0
        row["daily"] = daily
    return row


#: strategies the window fast path (:func:`_simulate_window`) runs; every other one goes through
#: :func:`_generic_window`
FAST_STRATEGIES = frozenset({"cascade-mm"})


def _confirmed(records):
    from liqcore.execution.detect import confirmed_records

    return confirmed_records(records, ordered=True)


def detect_partition(prep: Prepared, det_params: Params) -> np.ndarray:
    """CONFIRMED cascade records of the partition under one detector configuration."""
    from liqcore.execution.detect import detect

    rec, _ = detect(prep.events, det_params)
    return _confirmed(rec)


def evaluate_cells(prep: Prepared, det_params: Params, records: np.ndarray, param_sets: list[Params],
                   windows: list[Window], equity: float = 1.0, with_daily: bool = False) -> list[dict]:
    """THE STRATEGY SEAM.  One metrics row per (parameter set, window), in that order (parameter set
    major): the strategy of each parameter set (``params.strategy`` where parameters name one; the
    cascade strategy otherwise) replayed on ``prep``'s events with the detector's ``records``.  Every
    other part of the sweep and walk-forward machinery only calls this function.  The cascade
    strategy takes the window fast path (one simulator pass over the trade prints); any other goes
    through the backtest front (:func:`_generic_window`).  ``det_params`` is the detector
    configuration the records came from."""
    rows = []
    for p in param_sets:
        name = p.strategy
        # (order latencies drawn from a journal ride on the signals: the backtest front draws them)
        run = _simulate_window if name in FAST_STRATEGIES and not p.order_latency_from else _generic_window
        for w in windows:
            rows.append(run(prep, records, p, w, equity, with_daily))
    return rows


# ------------------------------------------------------------------------------------------ tasks
def cell_key(values: dict, part: Partition, window: Window, base: Params) -> str:
    """Stable hash of a cell: its parameter values, the base parameters, the partition and window."""
    return _hash({"values": {k: str(v) for k, v in values.items()}, "base": base.describe(),
                  "partition": part.ident(), "window": [window.start_ns, window.end_ns, window.name]})


@dataclass
class Task:
    """A unit of work: one partition, one detector configuration, some execution cells, windows."""

    part: Partition
    det_values: dict
    exec_values: list  # list of dicts
    windows: list
    base: Params
    equity: float
    with_daily: bool
    keys: list = field(default_factory=list)  # cell keys, exec-major then window

    @property
    def key(self) -> str:
        return _hash(self.keys)

    @property
    def part_key(self) -> str:
        """The partition's hash (the scheduler groups and places tasks by it)."""
        return _hash(self.part.ident())


#: partitions loaded by a local pool's parent before it forked its workers: partition hash -> the
#: cache entry (prepared events, detector records); read by every forked worker copy-on-write
SHARED: dict = {}
_CACHE: dict = {}
#: partition loads by this process: [count, seconds] (read by :func:`run_counted`)
_LOADS = [0, 0.0]


def _prepared(part: Partition) -> Prepared:
    k = _hash(part.ident())
    hit = SHARED.get(k) or _CACHE.get(k)  # loaded by the parent before the fork, or by this process
    if hit is None:
        t0 = time.perf_counter()
        _CACHE.clear()  # one partition per process: memory stays one partition's events
        ev, reg = load_partition(part)
        hit = {"prep": Prepared(ev, reg), "records": {}}
        del ev
        _CACHE[k] = hit
        _LOADS[0] += 1
        _LOADS[1] += time.perf_counter() - t0
    return hit


def share_partitions(parts: list) -> tuple[int, float]:
    """Load ``parts`` into :data:`SHARED` in this process (before a fork); (loads, seconds)."""
    n, secs = 0, 0.0
    for p in parts:
        k = _hash(p.ident())
        if k in SHARED:
            continue
        t0 = time.perf_counter()
        ev, reg = load_partition(p)
        SHARED[k] = {"prep": Prepared(ev, reg), "records": {}}
        del ev
        secs += time.perf_counter() - t0
        n += 1
    return n, secs


def run_counted(task) -> tuple[list, dict]:
    """(rows, cost) of ``task`` run here: ``loads`` (1 when this process loaded the partition for it),
    ``load_s``, ``busy_s`` (seconds from start to end, loading included), ``holds`` (the partition
    hash this process holds now) and ``worker`` (a dask worker's address, else the process id)."""
    from liqcore.backtest.schedule import peak_rss

    t0 = time.perf_counter()
    n0, s0 = _LOADS[0], _LOADS[1]
    c0, w0 = _CHUNKED[0], dict(_WHOLE)
    rows = run_task(task)
    info = {"loads": _LOADS[0] - n0, "load_s": _LOADS[1] - s0, "busy_s": time.perf_counter() - t0,
            "holds": task.part_key, "worker": _worker_address(), "peak_rss": peak_rss(), "chunked": _CHUNKED[0] - c0,
            "whole": {k: v - w0.get(k, 0) for k, v in _WHOLE.items() if v > w0.get(k, 0)}}
    return rows, info


def _worker_address():
    import sys

    if "distributed" in sys.modules:  # never imported here just to ask (it is slow to import)
        try:
            from distributed import get_worker

            return get_worker().address
        except ValueError:  # not inside a dask worker
            pass
    return os.getpid()


def warm_kernels() -> float:
    """Import the sweep's modules and run its kernels once on a tiny market (compiled code loaded,
    caches read): the first real task then pays none of it.  Returns the seconds it took."""
    t0 = time.perf_counter()
    import importlib

    for mod in ("liqcore.backtest.synthetic", "liqcore.dataset", "liqcore.io", "liqcore.venues.common"):
        importlib.import_module(mod)  # the loaders' modules (a worker's first load then reads data only)
    from liqcore.types import EVENT_DTYPE, Kind, SymbolRegistry

    # a minute of trades with a burst of sell liquidations in the middle: enough for every kernel to run
    n = 600
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["ts_event"] = 1_700_000_000_000_000_000 + np.arange(n, dtype=np.int64) * 100_000_000
    ev["ts_recv"] = ev["ts_event"]
    ev["price"] = 100.0 - 0.01 * np.arange(n)
    ev["qty"] = 1.0
    ev["side"] = np.where(np.arange(n) % 2, 1, -1)
    ev["kind"] = int(Kind.TRADE)
    ev["venue"] = 1
    burst = slice(300, 340)
    ev["kind"][burst] = int(Kind.LIQUIDATION)
    ev["qty"][burst] = 50.0
    prep = Prepared(ev, SymbolRegistry([("bybit", "WARMUPUSDT")]))
    p = Params()
    rec = detect_partition(prep, p)
    evaluate_cells(prep, p, rec, [p], [Window()], 1.0, True)
    return time.perf_counter() - t0


def run_task(task: Task) -> list[dict]:
    """Run a task (in whatever process holds it): load the partition (cached per process), detect once
    per detector configuration (cached), evaluate every cell; rows carry their cell keys."""
    det = Params.from_mapping(task.det_values, base=task.base)
    psets = [Params.from_mapping({**task.det_values, **ev}, base=task.base) for ev in task.exec_values]
    streamed = _streamed(task, det, psets)
    if streamed is not None:
        rows, note = streamed
    else:
        hit = _prepared(task.part)
        prep = hit["prep"]
        dk = _hash(det.detector_kwargs())
        rec = hit["records"].get(dk)
        if rec is None:
            rec = detect_partition(prep, det)
            hit["records"] = {dk: rec}
        rows = evaluate_cells(prep, det, rec, psets, task.windows, task.equity, task.with_daily)
        note = prep.note
    out = []
    i = 0
    for ev in task.exec_values:
        for w in task.windows:
            r = rows[i]
            r.update({"cell": task.keys[i], "partition": task.part.label, "range": w.name})
            r.update({k: str(v) for k, v in {**task.det_values, **ev}.items()})
            if note:
                r["data_note"] = note
            out.append(r)
            i += 1
    return out


def _streamed(task: Task, det: Params, psets: list):
    """(rows, data note) of a task whose partition is read in chunks (``chunk_days``), or None: run
    it whole (no chunks asked, or a chunked run would not give the same rows; counted in ``_LOADS``)."""
    days = task.part.chunk_days
    if not days:
        return None
    from liqcore.backtest.stream import NotStreamable, evaluate_streamed

    try:
        if any(p.fill == "queue" or p.price_grid == "auto" for p in psets):
            raise NotStreamable("fill queue / price-grid auto read the partition's top of book and price grid "
                                "whole")
        if any(p.strategy not in FAST_STRATEGIES or p.order_latency_from for p in psets):
            bad = next(p for p in psets if p.strategy not in FAST_STRATEGIES or p.order_latency_from)
            raise NotStreamable(f"strategy {bad.strategy}" + (" with order-latency-from" if bad.order_latency_from else "")
                                + " needs the whole window (its signals are built over it)")
        out = evaluate_streamed(task.part, det, psets, task.windows, task.equity, task.with_daily,
                                int(days * NS_PER_DAY), load=load_partition, row=_sim_row)
    except NotStreamable as exc:
        _WHOLE[str(exc)] = _WHOLE.get(str(exc), 0) + 1
        return None
    rows = out[0]
    per = len(rows) // max(1, len(psets))
    for k, row in enumerate(rows):  # parameter set major: the fill model behind each row's returns
        row["fill_model"] = fill_label(psets[min(k // max(1, per), len(psets) - 1)])
    _LOADS[0] += 1  # a chunked pass reads the partition once per task (its seconds: part of the work)
    _CHUNKED[0] += 1
    return out


#: why chunked tasks ran on the whole partition instead: reason -> tasks; tasks run in chunks (this process)
_WHOLE: dict = {}
_CHUNKED = [0]


def plan_tasks(cells: list[dict], partitions: list[Partition], windows: list[Window], base: Params,
               det_names: list[str], equity: float = 1.0, with_daily: bool = False, chunk: int = 250,
               done: set | None = None) -> tuple[list[Task], list[str]]:
    """Group cells into tasks (partition x detector configuration x up to ``chunk`` execution cells);
    cells whose keys are in ``done`` are left out.  Returns (tasks, every cell key in order)."""
    done = done or set()
    order: list[str] = []
    tasks: list[Task] = []
    groups: dict = {}
    for c in cells:
        dv = {n: c[n] for n in det_names if n in c}
        groups.setdefault(tuple((k, str(v)) for k, v in dv.items()), (dv, []))[1].append(
            {n: v for n, v in c.items() if n not in dv})
    for part in partitions:
        wins = [c for c in (part.clip(w) for w in windows) if c is not None]
        if not wins:
            continue
        for _gk, (dv, execs) in groups.items():
            pending: list = []
            pkeys: list = []
            for ev in execs:
                ks = [cell_key({**dv, **ev}, part, w, base) for w in wins]
                order.extend(ks)
                if all(k in done for k in ks):
                    continue
                pending.append(ev)
                pkeys.extend(ks)
                if len(pending) >= chunk:
                    tasks.append(Task(part, dv, pending, wins, base, equity, with_daily, pkeys))
                    pending, pkeys = [], []
            if pending:
                tasks.append(Task(part, dv, pending, wins, base, equity, with_daily, pkeys))
    return tasks, order


# ----------------------------------------------------------------------------------------- runners
class LocalRunner:
    """In-process (``workers == 1``) or a local pool of ``workers`` processes.  The work follows the
    data (:mod:`liqcore.backtest.schedule`): each worker gets one consecutive run of the planned tasks
    (partition after partition, equal cell counts), so it loads each of its partitions once; the
    partitions cut across several workers (fewer partitions than workers) are loaded once by this
    process before it forks the workers, which share them.  ``counters`` adds up what tasks cost."""

    def __init__(self, workers: int = 1):
        if int(workers) < 1:
            raise ValueError(f"workers: must be >= 1; got {workers!r}")
        self.workers = int(workers)
        self._pool = None
        self._depth = 0
        from liqcore.backtest.schedule import Counters

        self.counters = Counters()

    def __enter__(self):
        self._depth += 1
        return self

    def __exit__(self, *exc):
        self._depth -= 1
        if self._pool is not None and (self._depth == 0 or exc[0] is not None):
            if exc[0] is None:
                self._pool.close()
            else:
                self._pool.terminate()
            self._pool = None
            SHARED.clear()
            self.counters.holds.clear()

    def prepare(self, tasks) -> None:
        """Start the worker processes for ``tasks`` (call it before any thread exists: they fork):
        partitions that will be cut across workers are loaded first, the kernels warmed, then the
        workers forked.  Nothing to do in-process or when the workers run already."""
        if self.workers == 1 or self._pool is not None:
            return
        from liqcore.backtest.schedule import PinnedPool, shared_partitions

        import multiprocessing as mp

        forks = "fork" in mp.get_all_start_methods()  # spawned workers would not see them
        n, secs = share_partitions(shared_partitions(list(tasks), self.workers) if forks else [])
        self.counters.loads += n
        self.counters.load_s += secs
        warm_kernels()  # the workers inherit loaded kernels instead of each loading them
        self._pool = PinnedPool(self.workers, run_counted)

    def run(self, tasks):
        """Yield (task, rows) as tasks finish."""
        from liqcore.backtest.schedule import assign

        tasks = list(tasks)
        if self.workers == 1:
            for t in tasks:
                rows, info = run_counted(t)
                self.counters.add(info, 0)
                yield t, rows
            return
        self.prepare(tasks)
        segs = assign(tasks, self.workers, dict(self.counters.holds))
        for w, idx, rows, info in self._pool.run([[(i, tasks[i]) for i in seg] for seg in segs]):
            self.counters.add(info, w)
            yield tasks[idx], rows


class DaskRunner:
    """A dask.distributed cluster: ``address`` of a running scheduler, or ``local`` for a local
    cluster of ``workers`` processes.  Unreachable scheduler: ValueError within ``timeout`` seconds."""

    def __init__(self, address: str, workers: int = 2, timeout: float = 10.0):
        self.address, self.workers, self.timeout = address, int(workers), float(timeout)
        self.client = self.cluster = None
        self._depth = 0
        from liqcore.backtest.schedule import Counters

        self.counters = Counters()

    def __enter__(self):
        self._depth += 1
        if self.client is not None:
            return self
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ValueError("dask: install dask[distributed] (pip install 'liqcore[sweep]') to use --dask") from None
        if self.address == "local":
            self.cluster = LocalCluster(n_workers=max(1, self.workers), threads_per_worker=1, host="127.0.0.1",
                                        dashboard_address=None, processes=True)
            self.client = Client(self.cluster)
        else:
            self.client = _connect(Client, self.address, self.timeout, getattr(self, "timeout_label", None))
        self._warm()
        return self

    def _warm(self) -> None:
        """Every worker (and any that joins later) imports liqcore and loads its kernels now, before
        the timed work (:class:`liqcore.backtest.schedule.WarmPlugin`)."""
        from liqcore.backtest.schedule import WarmPlugin

        register = getattr(self.client, "register_plugin", None) or self.client.register_worker_plugin
        try:
            register(WarmPlugin(warm_kernels))
        except Exception as exc:  # noqa: BLE001 - a worker without liqcore, or one that crashed
            raise ValueError(f"dask: the workers could not load liqcore ({type(exc).__name__}: {exc}); "
                             "every worker needs liqcore installed") from None

    def __exit__(self, *exc):
        self._depth -= 1
        if self._depth > 0 and exc[0] is None:
            return
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None

    def run(self, tasks):
        """Yield (task, rows) as tasks finish.  Each worker gets one consecutive run of the planned
        tasks (as the local pool's workers), pinned with ``workers=`` and submitted in order, so it
        loads each of its partitions once; ``allow_other_workers``: a lost worker's tasks run
        elsewhere.  Results come straight from the workers as they finish."""
        from distributed import as_completed

        from liqcore.backtest.schedule import assign

        tasks = list(tasks)
        addrs = sorted(self.client.scheduler_info().get("workers", {}))
        self.n_workers = len(addrs)
        at = {a: i for i, a in enumerate(addrs)}
        holds = {at[a]: h for a, h in self.counters.holds.items() if a in at}
        futs, index = [], {}
        for w, seg in enumerate(assign(tasks, max(1, len(addrs)), holds)):
            for j, i in enumerate(seg):  # a worker runs its tasks in plan order: higher priority first
                kw = {"workers": [addrs[w]], "allow_other_workers": True} if addrs else {}
                # retries: a task whose worker died, or whose read of object storage failed, runs again
                f = self.client.submit(run_counted, tasks[i], pure=False, priority=len(seg) - j, retries=3, **kw)
                futs.append(f)
                index[f.key] = tasks[i]
        for f, (rows, info) in as_completed(futs, with_results=True):
            self.counters.add(info)
            yield index[f.key], rows


def _connect(Client, address: str, timeout: float, label: float | None = None):
    """A dask Client for ``address`` within ``timeout`` seconds, or ValueError: a TCP probe first (a
    refused port or an unknown host fails at once), then the handshake in a thread with a hard
    deadline (a server that accepts connections but never answers cannot block the command)."""
    import socket
    import threading
    import time

    t0 = time.monotonic()
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    where = f"dask: cannot reach the scheduler at {address} within {label if label is not None else timeout:g}s"
    try:
        port_n = int(port)
    except ValueError:
        raise ValueError(f"dask: expected a scheduler address like tcp://HOST:PORT; got {address!r}") from None
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", port_n), timeout=timeout).close()
    except OSError as exc:
        raise ValueError(f"{where} ({exc.strerror or type(exc).__name__})") from None
    box: dict = {}

    def attempt():
        try:
            box["client"] = Client(address, timeout=max(0.5, timeout - (time.monotonic() - t0)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            box["error"] = exc

    th = threading.Thread(target=attempt, daemon=True)
    th.start()
    th.join(max(0.1, timeout - (time.monotonic() - t0)) + 0.5)
    if "client" in box:
        return box["client"]
    if "error" in box:
        raise ValueError(f"{where} ({type(box['error']).__name__})") from None
    raise ValueError(f"{where} (no dask handshake: is it a dask scheduler?)")


def make_runner(workers: int = 1, dask: str | None = None, timeout: float = 10.0):
    if dask:
        return DaskRunner(dask, workers, timeout)
    return LocalRunner(workers)


# ------------------------------------------------------------------------------------------- store
class Store:
    """Finished cells of a run: ``OUT`` (a Parquet file of rows) plus ``OUT.parts/`` (one Parquet file
    per finished task, written as soon as the task ends).  ``None`` keeps rows in memory only."""

    def __init__(self, out: str | Path | None):
        from liqcore.io.storage import PartsStore, is_url, unreadable_part

        self.rows: dict[str, dict] = {}
        if out and is_url(str(out)):  # object storage: the same layout, each part one object
            self.out = self.parts = None
            self._url = PartsStore(str(out), self.rows)
            return
        self._url = None
        self.out = Path(out) if out else None
        self.parts = self.out.with_name(self.out.name + ".parts") if self.out else None
        if self.out is None:
            return
        import pyarrow.parquet as pq

        files = ([self.out] if self.out.is_file() else []) + (sorted(f for f in self.parts.glob("*.parquet")
                                                                       if not f.name.startswith("."))
                                                                if self.parts and self.parts.is_dir() else [])
        for f in files:
            try:
                for r in pq.read_table(f).to_pylist():
                    if r.get("cell"):
                        self.rows[r["cell"]] = r
            except Exception as exc:  # a part cut short by a crash: named, and its cells run again
                unreadable_part(f, exc)

    def add(self, task: Task, rows: list[dict]) -> None:
        for r in rows:
            self.rows[r["cell"]] = r
        import pyarrow as pa

        if self._url is not None:
            self._url.add(task.key, pa.Table.from_pylist(_plain(rows)))
        if self.parts is None:
            return
        import pyarrow.parquet as pq

        from liqcore._atomic import atomic_path

        self.parts.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.parts / f"{task.key}.parquet") as tmp:  # a finished task is whole on disk
            pq.write_table(pa.Table.from_pylist(_plain(rows)), tmp)

    def finish(self, order: list[str]):
        """The rows in cell order as a DataFrame; written to OUT (the parts are then removed)."""
        import pandas as pd

        rows = [self.rows[k] for k in order if k in self.rows]
        df = pd.DataFrame(_plain(rows))
        if self._url is not None:
            import pyarrow as pa

            self._url.finish(pa.Table.from_pandas(df, preserve_index=False))
        if self.out is not None:
            import shutil

            import pyarrow as pa
            import pyarrow.parquet as pq

            from liqcore._atomic import atomic_path

            self.out.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(self.out) as tmp:  # the earlier table stays until this one is whole
                pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp)
            if self.parts is not None and self.parts.is_dir():
                shutil.rmtree(self.parts, ignore_errors=True)
        return df


def scheduling(runner, before: tuple, wall_s: float, partitions: int) -> dict:
    """What a run cost, from ``runner.counters`` since ``before`` (its snapshot) over ``wall_s``:
    partitions run, partition loads (by any process, the pool's parent included), seconds loading,
    tasks, workers, busy seconds (summed over workers) and utilisation = busy / (workers x wall)."""
    _tasks, loads, load_s, busy = (a - b for a, b in zip(runner.counters.snapshot(), before))
    from liqcore.backtest.schedule import peak_rss

    workers = int(getattr(runner, "n_workers", None) or getattr(runner, "workers", 1) or 1)
    peaks = dict(runner.counters.peak_rss)
    if isinstance(runner, LocalRunner) and runner.workers == 1:
        peaks = {}  # in-process: the workers' peak is this process's
    worker_peak = max(list(peaks.values()) + [0]) or peak_rss()
    return {"partitions": partitions, "partition_loads": loads, "load_s": round(load_s, 3),
            "workers": workers, "busy_s": round(busy, 3), "wall_s": round(wall_s, 3),
            "utilisation": round(busy / (workers * wall_s), 4) if wall_s > 0 else None,
            "peak_rss_worker_gib": round(worker_peak / 2**30, 3),
            "peak_rss_total_gib": round((sum(peaks.values()) + peak_rss()) / 2**30, 3)}


def _plain(rows: list[dict]) -> list[dict]:
    """Same keys in every row (missing -> None) so Parquet gets one schema."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return [{k: r.get(k) for k in keys} for r in rows]


def run_cells(cells: list[dict], partitions: list[Partition], windows: list[Window], base: Params,
              det_names: list[str], *, equity: float = 1.0, with_daily: bool = False, out=None,
              runner=None, progress: bool = False, chunk: int | None = None, on_task=None,
              description: str = "sweep"):
    """Evaluate every (cell, partition, window); returns (table in cell order: a
    :class:`~liqcore.backtest.results.SweepResult`, a DataFrame; stats).  Finished
    tasks are stored in ``out`` (resumable: a rerun skips stored cells).  ``on_task(n_done)`` is called
    after each stored task (a hook for interruption tests)."""
    try:
        import pandas  # noqa: F401  (the result table)
    except ImportError:  # pragma: no cover
        raise ValueError("sweep: needs pandas (pip install 'liqcore[sweep]')") from None
    store = Store(out)
    if chunk is None and any(p.chunk_days for p in partitions):
        chunk = len(cells)  # a partition read in chunks is read once per task: one task per detector configuration
    if chunk is None:
        n_groups = max(1, len({tuple(str(c.get(n)) for n in det_names) for c in cells}) * len(partitions))
        per_group = math.ceil(len(cells) * len(partitions) / n_groups)
        splits = math.ceil(4 * max(1, getattr(runner, "workers", 1) or 1) / n_groups)
        chunk = max(10, min(250, math.ceil(per_group / splits)))
    tasks, order = plan_tasks(cells, partitions, windows, base, det_names, equity, with_daily, chunk,
                              done=set(store.rows))
    stats = {"cells": len(order), "cached": len(order) - sum(len(t.keys) for t in tasks), "tasks": len(tasks)}
    runner = runner or LocalRunner(1)
    from contextlib import nullcontext

    bar = None
    if progress and tasks:  # a rich bar on stderr in a terminal, one updating line in a notebook
        from liqcore.progress import progress_bar

        bar = progress_bar(description, sum(len(t.keys) for t in tasks), stderr=True)
    n_done = 0
    with runner:
        counters = getattr(runner, "counters", None)
        before = counters.snapshot() if counters is not None else None
        chunked0 = (counters.chunked, dict(counters.whole)) if counters is not None else None
        t_run = time.perf_counter()
        if tasks and hasattr(runner, "prepare"):
            runner.prepare(tasks)  # local workers start (fork) here, before the progress display's thread
        with (bar if bar is not None else nullcontext()):
            for task, rows in runner.run(tasks):
                store.add(task, rows)
                n_done += 1
                if bar is not None:
                    bar.advance(len(rows))
                if on_task is not None:
                    on_task(n_done)
        wall = time.perf_counter() - t_run
    stats["ran"] = n_done
    if counters is not None:
        stats.update(scheduling(runner, before, wall, len({t.part.label for t in tasks})))
        if any(p.chunk_days for p in partitions):
            stats["chunked_tasks"] = counters.chunked - chunked0[0]
            stats["chunked_ran_whole"] = {k: v - chunked0[1].get(k, 0) for k, v in counters.whole.items()
                                          if v > chunked0[1].get(k, 0)}
    from liqcore.backtest.results import SweepResult

    return SweepResult.of(store.finish(order), list(cells[0]) if cells else []), stats
