"""A backtest of a partitioned dataset read in time chunks: memory holds one chunk, not the span.

:func:`replay_chunked` runs the detector and the simulator over each chunk carrying their state; the
result is the whole load's, trade for trade.  :func:`chunk_reason` names why a run cannot be chunked
(the caller then loads the span whole).  What is read, the fill rules in chunks and the exceptions:
docs/how-to/backtest.md, "A dataset is read in time chunks"; a chunk's way through: docs/maintainers/design.md.

May import: numpy, ``types``, ``codes``, ``_libs``, ``io``, ``dataset``, ``execution``, ``strategies`` and
this package's ``stream``, ``rules`` and ``chunked_scope``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liqcore.backtest.stream import NS_PER_DAY, NotStreamable

#: the longest default chunk of a dataset backtest, in days (memory: one chunk of events)
DEFAULT_CHUNK_DAYS = 1.0
#: the default chunk holds about this many rows: a dense day (a venue's millions of trades) is read in
#: parts of the day (3 M rows a day: 8 hours), a sparse one whole (see :func:`default_chunk_days`)
DEFAULT_CHUNK_ROWS = 1_000_000
#: the shortest default chunk, in days (one hour)
MIN_CHUNK_DAYS = 1 / 24


def default_chunk_days(path, symbols=None, start_ns: int | None = None, end_ns: int | None = None, *,
                       together: bool = True) -> float:
    """The default chunk length (days) of a dataset read: :data:`DEFAULT_CHUNK_ROWS` rows of its
    densest selected day, every selected pair's rows of the day together (``together=False``: the densest
    pair's, for reads of one pair at a time) (rows counted from the Parquet footers, nothing decoded), at most
    :data:`DEFAULT_CHUNK_DAYS` and at least :data:`MIN_CHUNK_DAYS`, rounded down to whole hours.
    Smaller chunks hold less memory and stay in the processor's caches: on 3 M trades a day, 8-hour
    chunks run in 0.8x the time and 0.6x the peak memory of whole days (same trades: chunks never
    change a result).  An object-store dataset (its footers cost a request each): whole days."""
    from liqcore.io import storage
    from liqcore.dataset.read import check_selection, rows_per_partition

    if storage.is_url(path):
        return DEFAULT_CHUNK_DAYS
    try:
        sel = check_selection(path, list(symbols) if symbols else None, start_ns, end_ns)
        rows = rows_per_partition(path, sel)
    except (ValueError, OSError):  # the read itself says what is wrong
        return DEFAULT_CHUNK_DAYS
    per_day: dict = {}
    for (v, sym, d), n in rows.items():  # a chunk holds every selected pair's rows of its hours
        key = d if together else (v, sym, d)
        per_day[key] = per_day.get(key, 0) + n
    densest = max(per_day.values(), default=0)
    if densest <= DEFAULT_CHUNK_ROWS:
        return DEFAULT_CHUNK_DAYS
    hours = max(1, int(24 * DEFAULT_CHUNK_ROWS / densest))
    return max(MIN_CHUNK_DAYS, min(DEFAULT_CHUNK_DAYS, hours / 24))


#: at most this many receive delays are kept for the feed-latency note (beyond: every k-th event)
LATENCY_SAMPLE = 2_000_000


@dataclass(frozen=True)
class _Source:  # what :func:`liqcore.backtest.stream.recv_chunks` reads of a sweep's dataset source
    path: str
    feed_latency_ns: int
    max_clock_skew_ns: int | None
    kind: str = "dataset"


@dataclass(frozen=True)
class _Span:  # a sweep partition's fields the chunk reader uses (and a window: start_ns, end_ns)
    source: _Source
    symbols: tuple
    start_ns: int | None
    end_ns: int | None
    #: several (venue, symbol) pairs are read together (their symbol ids registered first, in the
    #: whole load's order: :func:`liqcore.backtest.stream.recv_chunks`)
    multi: bool = False
    #: processes reading the time ranges ahead (1: this one)
    workers: int = 1
    #: the dataset's DEPTH rows are read with each range, by receive time (the queue at depth)
    depth: bool = False


def chunk_reason(params, strategy, *, book: bool = False) -> str | None:
    """Why a backtest with ``params`` and ``strategy`` (an instance) cannot run in chunks, or None.
    ``book``: the caller carries the top of book and the price grid across its chunks
    (:func:`replay_chunked` does); otherwise the queue rule and the price grid need the whole span."""
    from liqcore.execution.avoid import Avoid

    name = type(strategy).name
    if name != "cascade-mm" or type(strategy).signals is not _cascade_mm_signals():
        return f"strategy {name} builds its signals over the whole span"
    if not book and (params.fill == "queue" or getattr(params, "price_grid", "off") == "auto"):
        return "fill queue / price-grid auto: this reader does not carry the top of book and the price grid"
    if params.order_latency_from:
        return "order-latency-from draws latencies over the whole run's signals"
    if Avoid.from_params(params) is not None:
        return "avoided times (avoid-weekends, news / maintenance calendars) are applied to the whole run's signals"
    if getattr(params, "feed_latency_mode", "recorded") == "constant":
        return "feed-latency-mode constant re-orders the whole span by event time"
    return None


def _cascade_mm_signals():
    from liqcore.strategies.cascade_mm import CascadeMM

    return CascadeMM.signals


class _Delays:
    """Receive delays (ts_recv - ts_event) of the recorded events, for the feed-latency note: all of
    them up to :data:`LATENCY_SAMPLE`, then every ``stride``-th (the stride doubles as they grow)."""

    def __init__(self):
        self.parts: list = []
        self.n = 0  # values kept
        self.stride = 1
        self.seen = 0  # recorded events seen
        self.n_est = 0  # events with an estimated receive time

    def add(self, ev):
        from liqcore.types import Flag

        est = (ev["flags"] & int(Flag.RECV_ESTIMATED)) != 0
        d = (ev["ts_recv"][~est] - ev["ts_event"][~est]).astype(np.int64)
        first = (-self.seen) % self.stride  # the global positions 0, stride, 2*stride...
        # a copy: a strided view would keep the chunk's whole array alive
        self.add_sample(d[first::self.stride].copy(), len(d), int(est.sum()))

    def add_trades(self, ev):
        """:meth:`add` of the TRADE rows of events ``ev`` (a window step's rows): one compiled pass
        (:func:`liqcore._libs.reading.trade_delays`) where they are a read's own contiguous array."""
        from liqcore.types import EVENT_DTYPE, Flag, Kind

        if ev.dtype == EVENT_DTYPE and ev.ndim == 1 and ev.flags.c_contiguous:
            from liqcore._libs.reading import trade_delays

            self.add_sample(*trade_delays(ev, self.seen, self.stride, int(Flag.RECV_ESTIMATED)))
        else:
            self.add(ev[ev["kind"] == int(Kind.TRADE)])

    def add_sample(self, d, n_rec: int, n_est: int):
        """The delays ``d`` of a chunk's recorded events at the global positions 0, stride, 2 x stride...
        (of its ``n_rec`` recorded events; ``n_est`` more had an estimated receive time)."""
        self.n_est += int(n_est)
        self.seen += int(n_rec)
        d = np.asarray(d, np.int64)  # (an array of its own: no view of a chunk)
        self.parts.append(d)
        self.n += len(d)
        while self.n > LATENCY_SAMPLE:
            allv = np.concatenate(self.parts)
            # keep the values at global positions that are multiples of the doubled stride
            keep = allv[::2].copy()
            self.parts, self.n, self.stride = [keep], len(keep), self.stride * 2

    def note(self, feed_latency_ns: int) -> str:
        n_rec = self.seen
        if not n_rec and not self.n_est:
            return "no events"
        parts = []
        if n_rec:
            d = np.concatenate(self.parts).astype(float)
            how = "" if self.stride == 1 else f" (median and p99 of every {self.stride}th event)"
            parts.append(f"recorded per event (ts_recv - ts_event) on {n_rec:,} events: median {np.median(d) / 1e6:.1f} "
                         f"ms, p99 {np.percentile(d, 99) / 1e6:.1f} ms{how}")
        if self.n_est:
            parts.append(f"constant {feed_latency_ns / 1e6:g} ms (feed-latency) on {self.n_est:,} events recorded "
                         "without a receive time")
        return "; ".join(parts)


def replay_chunked(path, params, strategy, *, symbols=None, start_ns: int | None = None,
                     end_ns: int | None = None, equity: float = 1.0, chunk_days: float = DEFAULT_CHUNK_DAYS,
                     on_chunk=None, scope: str = "venue", trade_venue=None, table=None, workers: int = 1,
                     trading=None):
    """The backtest of dataset ``path`` (``symbols``, event times in [start_ns, end_ns), receive times
    in the same range) read in chunks of ``chunk_days``: a
    dict of :class:`liqcore.backtest.run.BacktestResult`'s fields equal to the whole load's, plus
    ``detector_counts``, ``n_events`` (events read) and ``kinds`` (the input kinds read); the result
    itself is built by :func:`liqcore.backtest.run.backtest_chunked`.  :class:`NotStreamable`
    (nothing returned) when chunks would not reproduce it.  ``on_chunk(n_events)``: called per chunk.
    ``scope="instrument"``: cascades counted across the venues of each instrument
    (:class:`liqcore.backtest.chunked_scope.InstrumentChunks`; ``table``: a
    :func:`liqcore.instruments.load_table` table, ``trade_venue``: the venue every cascade is traded on),
    as the whole load's ``backtest --scope instrument``.  ``workers`` > 1: that many processes read the
    next time ranges (every series of the selection) while this one detects and replays the current
    one; each holds one range, and the result is the one-process run's (tested).  ``trading(registry)`` (a
    whole market, ``--symbols all``): ``(refuse, rules)`` -- symbol id -> why its cascades are not traded
    (dropped before the simulator, counted in ``refused``) and symbol -> trading rules
    (:mod:`liqcore.backtest.rules`; not with a price grid taken from the prints: :class:`NotStreamable`)."""
    from liqcore.backtest.stream import (_Cell, _GridGate, _note, _Run, boundary_tail, cheapest_trade, ended,
                                         fused_chunks, needs_grid)
    from liqcore.execution.detect import confirmed_records
    from liqcore.execution.latency import order_latency_note
    from liqcore.strategies.cascade_mm import records_to_signals
    from liqcore.types import CASCADE_DTYPE
    from liqcore._libs.detection import CascadeDetector

    why = chunk_reason(params, strategy, book=True)
    if why:
        raise NotStreamable(why)
    book = params.fill == "queue"  # the QUOTE rows are replayed with the prints
    grid = _GridGate(needs_grid(params))
    if trading is not None and needs_grid(params):
        raise NotStreamable("the symbols' trading rules set their price grids: the whole load's")
    refuse, refused = {}, {}
    if not chunk_days or chunk_days <= 0:
        raise NotStreamable("no chunk length")
    from liqcore.units import parse_days

    parse_days(chunk_days, "chunk-days")  # (a minute to 100 years: a step of 1e-300 days is 0 ns, 1e300 is inf)
    src = _Source(str(path), int(params.feed_latency_ns or 0), params.max_clock_skew_ns)
    if scope not in ("venue", "instrument"):
        raise ValueError(f"scope: venue or instrument; got {scope!r}")
    if int(workers) < 1:
        raise ValueError(f"workers: must be >= 1; got {workers!r}")
    depth = False
    if book:  # the queue at depth: each chunk's DEPTH rows read with it, the depth books kept across chunks
        from liqcore.dataset import has_depth

        depth = has_depth(str(path), list(symbols) if symbols else None)
    part = _Span(src, tuple(symbols or ()), start_ns, end_ns, multi=True, workers=int(workers), depth=depth)
    detector = CascadeDetector.from_params(params)
    xs = None  # instrument scope: its detection (built with the first chunk's registry: every symbol)
    jump = int(getattr(detector, "max_time_jump_ns", NS_PER_DAY))
    cell = None
    o = so = 0
    tail = np.zeros(0, np.int64)
    min_trade, liqs, recs = None, [], []
    dropped: dict = {}
    det_counts: dict = {}
    delays = _Delays()
    reg = None
    bare = None  # under the queue rule: the through run it falls back to when the span has no quote
    n_events = 0
    kinds: set = set()
    depth_note = None  # the depth books unknown at the span's start (span_books)

    def add_counts(c):
        for k, v in dict(c).items():
            det_counts[k] = det_counts.get(k, 0) + int(v)

    # one compiled pass per chunk: the whole load keeps receive times in [start_ns, end_ns) too
    for ch, reg in fused_chunks(part, int(chunk_days * NS_PER_DAY), book=book, recv_lo=start_ns, recv_hi=end_ns,
                                grid=grid, delays=delays, defer_clean=True):
        if not len(ch.events):
            continue
        tail = boundary_tail(tail, ch.events["ts_event"], o, jump)
        for k, v in ch.dropped.items():
            dropped[k] = dropped.get(k, 0) + v
        if cell is None:
            n_sym = max(len(reg), 1, int(ch.events["symbol_id"].max()) + 1)
            sym_seen = np.zeros(n_sym, bool)
            cell = _Cell(params, _Span(src, (), None, None), reg, n_sym, equity, ch.sim.dtype)
            if depth and start_ns is not None:  # the depth books before the span: put back, as the default read's
                from liqcore.backtest.depth_start import span_books

                cell.seed, depth_note = span_books(str(path), reg, int(start_ns))
            if book:  # the same run without a book, kept until a quote shows (none in the span: through)
                bare = _Cell(params, _Span(src, (), None, None), reg, n_sym, equity, ch.sim.dtype)
                bare.par["queue"] = 0
            if trading is not None:  # a whole market: each traded symbol on its rules, the others refused
                from liqcore.backtest.rules import apply_rules

                refuse, rules = trading(reg)
                for c in (cell, bare):
                    if c is not None:
                        apply_rules(c.par, reg, rules)
        elif int(ch.events["symbol_id"].max()) + 1 > len(cell.st):
            raise NotStreamable("a symbol appears after the first chunk")
        if scope == "instrument":
            if xs is None:
                from liqcore.backtest.chunked_scope import InstrumentChunks

                xs = InstrumentChunks(params, reg, table, trade_venue)
            rec_all, counts = xs.run(ch.events, o)  # the chunk as read (before its bad prints are neutralised)
        else:
            rec_all, counts = _Run(detector, o).run(ch.events)  # the chunk as read, as the whole load's detector
        ch.clean()  # then the bad prints neutralised for the simulator, as the whole load's
        add_counts(counts)
        rec = confirmed_records(np.asarray(rec_all, dtype=CASCADE_DTYPE), ordered=True)
        if refuse:
            from liqcore.backtest.rules import refuse_records

            rec, n_refused = refuse_records(rec, refuse)
            for k, v in n_refused.items():
                refused[k] = refused.get(k, 0) + v
        recs.append(rec)
        if bare is not None and ch.has_quote():
            bare = None  # the span has a book: the queue rule holds (the whole load's queue_fallback)
        grid.feed([c for c in (cell, bare) if c is not None], ch, rec, ch.sim_index(rec["event_index"]))
        min_trade = cheapest_trade(ch.events, min_trade, ch.cheapest)
        liqs.append(ch.liquidations())
        kinds |= ch.kinds()  # (the receive delays were sampled in the chunk's pass)
        sid = ch.events["symbol_id"]
        sym_seen[np.unique(sid[sid >= 0])] = True
        o += len(ch.events)
        so += len(ch.sim)
        n_events += len(ch.events)
        if on_chunk is not None:
            on_chunk(len(ch.events))
        ch.events = None  # a chunk held for the price grid keeps only what the simulator reads
        del ch
    if cell is None:
        raise NotStreamable("the selection has no events")
    grid.flush([c for c in (cell, bare) if c is not None])
    fallback = False
    if bare is not None:  # no quote in the span: the queue rule falls back to through, as the whole load's
        from liqcore.execution.events import queue_fallback

        fallback = queue_fallback(cell.par, np.zeros(0, dtype=liqs[0].dtype))
        cell = bare
    if xs is not None:  # the whole load's per-venue pass has no end-of-input flush; the rule's counts
        _rest, counts = xs.finish()
        det_counts.update(counts)
    else:
        _rest, counts = detector.run(np.zeros(0, dtype=liqs[0].dtype), flush=True, index_offset=o)
        add_counts(counts)
    if len(reg) > 1 and not bool(sym_seen[:len(reg)].all()):
        raise NotStreamable("a selected symbol has no events in the span (the whole load gives it no id)")
    got = {}

    def row(ledger, counts, st, port, eq, s_ns, e_ns, _daily):
        got.update(ledger=ledger, counts=counts, st=st, port=port, start_ns=s_ns, end_ns=e_ns)
        return got

    cell.finish(False, row)
    rec = np.concatenate(recs) if recs else np.zeros(0, CASCADE_DTYPE)
    sig = records_to_signals(rec, trail=float(getattr(params, "trail", 0.0) or 0.0))
    res = ended(got, params, reg, equity, rec, cell, strategy, sig, note=_note(min_trade, liqs), dropped=dropped,
                fill_fallback=fallback,
                latency={"order": order_latency_note(params, None), "feed": delays.note(int(params.feed_latency_ns or 0))},
                refused=refused, depth_note=depth_note if not fallback else None)
    from liqcore.codes import KIND_NAMES

    res.update(detector_counts=det_counts, n_events=n_events,
               kinds={KIND_NAMES[k] for k in kinds if k in KIND_NAMES})  # the input kinds read
    return res
