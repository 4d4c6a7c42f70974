"""A sweep task over a long partition in time chunks: memory holds one chunk of events, not the span.

The details: docs/maintainers/design.md, "A sweep task in time chunks".

Why one module: a replay's cells (one, :class:`_Cell`, or several stepped together, :class:`_Cells`), the chunks it
hands them (:class:`_Chunk`, the fused pass) and the gate that holds chunks until the price grid is known pass one
another the same rows, records and carried state; the window plan (``windows``) drives the same cells.

May import: ``numpy``, ``_jit``, ``_libs.detector``, ``dataset.read``, ``execution.detect``,
``execution.events``, ``execution.replay``, ``synthetic.chunks``, ``types``, ``venues.common`` and this package's
``handover``.
"""
from __future__ import annotations

import time

import numpy as np

from liqcore.backtest.errors import NotStreamable  # noqa: F401 (raised here, imported from here by callers)

NS_PER_DAY = 86_400_000_000_000



def cheapest_trade(events: np.ndarray, best: np.ndarray | None, k: int | None = None) -> np.ndarray | None:
    """The smallest-notional trade of ``events`` and ``best`` (a one-row array or None), as a one-row copy:
    what a chunked pass keeps for the data note's cheapest trade without holding the span.  ``k``: the
    position of ``events``' own cheapest trade when known (-1: no trade; :class:`_Fuse` finds it)."""
    from liqcore.types import Kind

    if k is None:
        is_trade = events["kind"] == int(Kind.TRADE)
        if not is_trade.any():
            return best
        # the first trade of the smallest notional, read from the columns (no copy of the trade records)
        with np.errstate(invalid="ignore", over="ignore"):  # (a quote row's empty side: NaN, never a trade's)
            notional = np.where(is_trade, events["price"] * events["qty"], np.inf)
        k = int(np.argmin(notional))
        if not is_trade[k]:  # every trade's notional is +inf: the first trade, as argmin over the trades gives
            k = int(np.argmax(is_trade))
    elif k < 0:
        return best
    if best is None or float(events["price"][k] * events["qty"][k]) < float(best["price"][0] * best["qty"][0]):
        return events[k:k + 1].copy()
    return best


def boundary_tail(tail: np.ndarray, te: np.ndarray, o: int, jump: int) -> np.ndarray:
    """The last event times of chunk ``te`` (the stray test's neighbours in the next chunk), after checking
    the boundary with the previous chunk's ``tail``: a gap longer than ``jump`` there is
    :class:`NotStreamable` (the whole load would judge those events against each other)."""
    if o and len(tail):
        edge = np.concatenate([tail, te[:3]]).astype(np.int64)
        if np.any(np.abs(np.diff(edge)) > jump):
            raise NotStreamable("a time gap longer than max-time-jump at a chunk boundary")
    return np.asarray(te[-2:], dtype=np.int64).copy()


# ------------------------------------------------------------------------------------------ chunks
#: each read's events sorted by receive time where they are read (:func:`recv_sorted`; off: by :meth:`_Fuse.read`)
RECV_SORT = True


def _dataset_chunks(part, chunk_ns: int):
    """Raw event arrays of consecutive event-time ranges of a dataset partition (one registry), with
    the receive times not recorded still unknown (the read's plan fills them: :meth:`_Fuse.read`)."""
    from liqcore.dataset.read import check_selection, load_dataset
    from liqcore.types import SymbolRegistry

    src = part.source
    try:
        sel = check_selection(src.path, list(part.symbols) or None, part.start_ns, part.end_ns)
    except ValueError as exc:  # the whole read says what is missing
        raise NotStreamable(str(exc)) from None
    pairs = sorted({(p[0], p[1]) for p in sel})
    multi = getattr(part, "multi", False)  # a backtest's read of several pairs (liqcore.backtest.chunked)
    if len(pairs) != 1 and not multi:
        raise NotStreamable(f"the partition holds {len(pairs)} (venue, symbol) pairs")
    days = sorted({p[2] for p in sel})
    lo = int(np.datetime64(days[0], "D").astype("datetime64[ns]").astype(np.int64))
    hi = int(np.datetime64(days[-1], "D").astype("datetime64[ns]").astype(np.int64)) + NS_PER_DAY
    if part.start_ns is not None:
        lo = max(lo, int(part.start_ns))
    if part.end_ns is not None:
        hi = min(hi, int(part.end_ns))
    reg = SymbolRegistry()
    workers = max(1, int(getattr(part, "workers", 1) or 1))
    if multi or workers > 1:  # every pair's id first, in the whole load's order (venue code, then symbol)
        from liqcore.venues.common import VENUE_BY_NAME, Sink

        sink = Sink(reg, None)
        for vs in sorted((VENUE_BY_NAME[v], s) for v, s in pairs if s != "*" and v in VENUE_BY_NAME):
            sink.sid(*vs)
    ranges = []
    a = lo
    while a < hi:
        ranges.append((a, min(a + chunk_ns, hi)))
        a = ranges[-1][1]
    job = (src.path, list(part.symbols) or None, src.max_clock_skew_ns, sel)
    if getattr(part, "depth", False):  # (one process: each range's depth rows are cut where its events are)
        yield from _with_depth_rows(job, ranges, reg, int(src.max_clock_skew_ns or 0))
        return
    if workers > 1 and len(ranges) > 1:
        n_reg = len(reg)
        for ev, items in _parallel_reads(job, ranges, [(int(v), s) for _i, v, s in reg], workers):
            if len(items) != n_reg:  # a pair the listing did not name: ids could differ from the whole load's
                raise NotStreamable("a (venue, symbol) pair outside the dataset's listing")
            yield ev, reg
            del ev
        return
    for a, b in ranges:
        ev = _read_range(job, a, b, reg)
        if len(reg) > 1 and not multi:
            raise NotStreamable("the partition holds more than one (venue, symbol) pair")
        yield ev, reg  # the next range is read with nothing of this one held here
        del ev


def _with_depth_rows(job, ranges, reg, margin: int):
    """:func:`_dataset_chunks`' raw arrays with the dataset's DEPTH rows: to each range's events, the DEPTH rows
    received from the previous read's cut up to this one's (its latest event time - ``margin``: what
    :func:`liqcore._jit.chunks.recv_plan` hands out), after the events, so at one receive time the events
    come first, as in :func:`liqcore.dataset.with_depth`; the rows received after the last cut as a last
    raw array.  No DEPTH row changes a read's cut (one stamped after the range's latest event raises
    :class:`NotStreamable`)."""
    from liqcore.dataset.depth import load_depth

    path, symbols = job[0], job[1]
    lo = -(2**63)
    for a, b in ranges:
        ev = _read_range(job, a, b, reg)
        if len(ev):
            top = int(ev["ts_event"].max())
            cut = top - margin
            if cut > lo:
                d, _reg = load_depth(path, symbols=symbols, recv_range=(lo, cut), registry=reg)
                if len(d):
                    if int(d["ts_event"].max()) > top:
                        raise NotStreamable("a DEPTH row stamped after the events read with it")
                    ev = np.concatenate([ev, d])
                lo = cut
        yield ev, reg
        del ev
    d, _reg = load_depth(path, symbols=symbols, recv_range=(lo, 2**63 - 1), registry=reg)
    if len(d):
        yield d, reg


def _read_range(job, a: int, b: int, reg) -> np.ndarray:
    """The events of event times [a, b) of a dataset read (``job``: path, symbols, clock skew, the
    selection's partitions), symbol ids from ``reg``; the receive times not recorded stay
    unknown (the read's plan fills them: :meth:`_Fuse.read`)."""
    from liqcore.dataset.read import load_dataset

    path, symbols, skew, sel = job
    res = load_dataset(path, symbols=symbols, start_ns=a, end_ns=b, max_clock_skew_ns=skew, check=False,
                       registry=reg, trade_ids=False, partitions=sel)
    return recv_sorted(res.events)


def recv_sorted(ev: np.ndarray) -> np.ndarray:
    """A read's events (in event-time order) sorted by receive time, stable, in place where the rows are a few
    places from their place (:func:`liqcore._libs.reading.sort_recv`; where they would move far, sorted in part,
    an order whose stable sort is the read's), left as they are where a receive time is not recorded (the read's
    plan fills those): :meth:`_Fuse.read` sorts the rows of
    the previous read it carries and these by receive time, stable, and finds the same order either way; a sort
    here, where the rows were just written (a reading process's, with ``--workers``), leaves it two sorted runs
    to merge, not a read's rows to sort and gather."""
    from liqcore._libs.reading import sort_recv

    if RECV_SORT and len(ev) > 1 and ev.flags.writeable and ev.flags.c_contiguous and int(ev["ts_recv"].min()) >= 0:
        sort_recv(ev)
    return ev


def _worker_read(job, a: int, b: int, items, pre=None):
    """:func:`_read_range` in a worker process: (events, the registry's pairs after the read); the events
    handed over in a file in memory under the prefix ``pre`` (:func:`liqcore.backtest.handover.put`)."""
    from liqcore.backtest import handover
    from liqcore.types import SymbolRegistry

    reg = SymbolRegistry(items)
    ev = _read_range(job, a, b, reg)
    return handover.put(ev, pre, f"{a}.rows"), [(int(v), s) for _i, v, s in reg]


def _quiet_worker() -> None:  # Ctrl-C is the parent's: it ends the workers (terminate) and says so
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _parallel_reads(job, ranges, items, workers: int):
    """The ranges' events, in order, read by a pool of ``workers`` processes: at most ``workers`` + 1
    ranges are read or waiting at once (memory: that many chunks, one per worker), the next read
    starts as soon as one is handed out.  The workers are ended however the reading ends: Ctrl-C (the
    workers ignore it; this process ends them at once), an error, or the caller stopping early; a
    worker that dies (out of memory) is an error, never a wait without end."""
    import collections
    import multiprocessing as mp
    import time
    from concurrent.futures import ProcessPoolExecutor

    from liqcore.backtest import handover

    # fork (as the sweeps' local pool): the workers start at once, and the main module is not re-run
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    pre = handover.prefix()  # the events come back through files in memory (:mod:`liqcore.backtest.handover`)
    pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_quiet_worker)
    try:
        todo = iter(ranges)
        pending: collections.deque = collections.deque()
        for a, b in todo:
            pending.append(pool.submit(_worker_read, job, a, b, items, pre))
            if len(pending) > workers:
                break
        while pending:
            got, pairs = pending.popleft().result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(pool.submit(_worker_read, job, nxt[0], nxt[1], items, pre))
            out = (handover.take(got), pairs)
            del got
            yield out
            del out
        pool.shutdown(wait=True)
    finally:
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:  # a read under way is not waited for
            if p.is_alive():
                p.terminate()
        # the workers ended (0.2 s at most: Ctrl-C ends a run within a second) before their files are removed; a
        # file written later is a dead run's once this process ends: the next run removes it
        end = time.monotonic() + 0.2
        for p in procs:
            p.join(max(end - time.monotonic(), 0.0))
        handover.sweep(pre)  # (the files of reads not handed out: a run stopped early)


def span_mask(t: np.ndarray, start_ns: int | None, end_ns: int | None) -> np.ndarray:
    """Mask of the times ``t`` in ``[start_ns, end_ns)`` (None: open on that side)."""
    m = np.ones(len(t), dtype=bool)
    if start_ns is not None:
        m &= t >= start_ns
    if end_ns is not None:
        m &= t < end_ns
    return m


def in_span(ev: np.ndarray, start_ns: int | None, end_ns: int | None) -> np.ndarray:
    """The events whose event time lies in ``[start_ns, end_ns)`` (None: open on that side)."""
    if start_ns is None and end_ns is None:
        return ev
    return ev[span_mask(ev["ts_event"], start_ns, end_ns)]


def _synthetic_chunks(part, chunk_ns: int):
    """Raw event arrays of a one-symbol synthetic partition, generated part after part
    (:mod:`liqcore.synthetic.chunks`), gathered into about ``chunk_ns`` of event time."""
    from liqcore.synthetic.chunks import market_chunks

    src = part.source
    buf = None
    reg = None
    for ev, reg in market_chunks(part.symbols[0], src.days, src.seed, src.venue):
        ev = in_span(ev, part.start_ns, part.end_ns)
        buf = ev if buf is None or not len(buf) else np.concatenate([buf, ev])
        while len(buf):
            t = buf["ts_event"]
            j = int(np.searchsorted(t, int(t[0]) + chunk_ns, "left"))
            if j >= len(buf):
                break  # not a whole chunk yet
            yield buf[:j], reg
            buf = buf[j:]
    if buf is not None and len(buf):
        yield buf, reg


def recv_chunks(part, chunk_ns: int, load=None):
    """Yield ``(events, registry)``: the partition's events in receive-time order (stable: the order
    :func:`liqcore.sweep.cells.load_partition` gives), cut into consecutive chunks of about
    ``chunk_ns`` of time, as read (not cleaned).  :func:`fused_chunks` hands out the same chunks
    cleaned and summed up for the simulator."""
    for ch, reg in fused_chunks(part, chunk_ns, load, clean=False):
        yield ch.events, reg


_INT64_MIN, _INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)
_NO_ORDER = np.zeros(0, np.int64)  # (the rows are in receive-time order as they are)


class _Fuse:
    """The one compiled pass (:func:`liqcore._jit.chunks.fuse_chunk`) of each chunk, and what it
    needs of its caller: the fill rule (``book``: the simulator reads the whole chunk), the receive
    times kept (``[lo, hi)``), the price grid's prints still needed (``grid``, a :class:`_GridGate`)
    and the receive delays' sampler (``delays``: ``seen``, ``stride``, ``add_sample``)."""

    def __init__(self, *, book=False, lo=None, hi=None, grid=None, delays=None, clean=True, defer_clean=False):
        self.book, self.grid, self.delays, self.clean = bool(book), grid, delays, bool(clean)
        self.defer_clean = bool(defer_clean)  # the caller cleans the chunk (:meth:`_Chunk.clean`)
        self.lo = _INT64_MIN if lo is None else int(lo)
        self.hi = _INT64_MAX if hi is None else int(hi)
        self.o = self.so = 0  # events and simulator rows handed out so far
        self.passes = 0  # compiled passes run (one per read, and one per cut of a whole load)

    def read(self, carry, raw, margin: int, n_sym: int, whole: bool = False, fill_ns: int = -1):
        """One read: (the earliest receive time of ``raw``, the cut, the rows before it (``k``), the
        chunk as a :class:`_Chunk` or None when no row of it is kept, the next carry).  ``carry``: the
        rows of the previous read not yet handed out; ``raw``: the read, in event-time order (or that order
        sorted by receive time, stable, in part or whole: :func:`recv_sorted`, the same order of ``carry`` +
        ``raw`` by receive time);
        ``margin``: a receive time is at most this before its event time; ``whole``: every row goes to
        the chunk (a whole load cut in time); ``fill_ns`` >= 0: a row of ``raw`` without a receive time
        is given ``ts_event + fill_ns`` (flag RECV_ESTIMATED; ``raw`` changed in place)."""
        from liqcore._jit import chunks as K

        ts = np.empty(len(carry) + len(raw), np.int64)
        counts = np.zeros(4, np.int64)
        lo, cut, ordered, k = K.recv_plan(carry, raw, int(margin), bool(whole), int(fill_ns), ts, counts)
        # stable: the carried events (earlier event times) keep their place among equal receive times
        order = _NO_ORDER if ordered or whole else np.argsort(ts, kind="stable")
        del ts
        ch, rest = self(carry, raw, order, int(k), n_sym, counts)
        return int(lo), int(cut), int(k), ch, rest

    def __call__(self, carry, raw, order, k: int, n_sym: int, counts):
        """(the chunk as a :class:`_Chunk`, or None when no row of it is kept; the next carry) of the
        first ``k`` rows of ``carry`` + ``raw`` in ``order``; ``counts``: the trade prints and funding
        events, the liquidations and the rows with a recorded receive time among them
        (:func:`liqcore._jit.chunks.recv_plan`)."""
        from liqcore._jit import chunks as K
        from liqcore.execution.events import GRID_PRINTS

        dt = raw.dtype
        n = len(carry) + len(raw)
        out, rest = np.empty(k, dt), np.empty(n - k, dt)
        ts, liq, bad = np.empty(k, np.int64), np.empty(int(counts[1]), np.int64), np.empty(int(counts[3]), np.int64)
        cap = 0 if self.book else int(counts[0])
        sim, sim_ts, kept = np.empty(cap, dt), np.empty(cap, np.int64), np.empty(cap, np.int64)
        grid = self.grid
        if grid is not None and grid.on:
            need = np.array([GRID_PRINTS - min(grid.seen.get(s, 0), GRID_PRINTS) for s in range(max(n_sym, 1))],
                            np.int64)
        else:
            need = np.zeros(0, np.int64)
        g_cap = min(k, int(need.sum()))
        grid_px, grid_sym = np.empty(g_cap), np.empty(g_cap, np.int64)
        d = self.delays
        stride, seen = (int(d.stride), int(d.seen)) if d is not None else (_INT64_MAX, 1)
        first = (-seen) % stride  # the first recorded row sampled (the global positions 0, stride, 2 x stride...)
        delay = np.empty(max(0, -(-(int(counts[2]) - first) // stride)) if d is not None else 0, np.int64)
        kinds, stat = np.zeros(256, np.int64), np.zeros(K.N_STAT, np.int64)
        K.fuse_chunk(carry, raw, order, int(k), self.lo, self.hi, self.book, self.clean, out, rest, ts, sim, sim_ts,
                     kept, liq, bad, need, grid_px, grid_sym, stride, seen, delay, kinds, stat)
        self.passes += 1
        m = int(stat[K.S_ROWS])
        if d is not None:  # (a copy only when rows outside [lo, hi) left part of the room unused)
            nd = int(stat[K.S_DELAY])
            d.add_sample(delay if nd == len(delay) else delay[:nd].copy(), int(stat[K.S_N_REC]), int(stat[K.S_N_EST]))
        if not m:
            return None, rest
        ch = _Chunk.__new__(_Chunk)
        ch.events, ch.o, ch.so, ch.ts = out[:m], self.o, self.so, ts[:m]
        dropped = {"bad_trade_price": int(stat[K.S_BAD_TRADE]), "bad_funding_rate": int(stat[K.S_BAD_FUNDING])}
        ch.dropped = {r: v for r, v in dropped.items() if v}
        ch.bad = bad[:int(stat[K.S_BAD_TRADE]) + int(stat[K.S_BAD_FUNDING])]
        if not self.defer_clean:
            ch.clean()
        if self.book:
            ch.kept, ch.sim, ch.sim_ts = None, ch.events, ch.ts  # every row goes to the simulator
        else:
            nk = int(stat[K.S_KEPT])
            ch.kept, ch.sim, ch.sim_ts = kept[:nk], sim[:nk], sim_ts[:nk]
        ch.kind_rows = kinds
        ch.liq = liq[:int(stat[K.S_LIQ])]
        ch.cheapest = int(stat[K.S_CHEAPEST])
        # the grid's prints, unless a print's symbol id lies past the ones asked for (then read from the events)
        ch.grid = (grid_px[:int(stat[K.S_GRID])], grid_sym[:int(stat[K.S_GRID])]) \
            if len(need) and int(stat[K.S_MAX_SID]) < len(need) else None
        self.o += m
        self.so += len(ch.sim)
        return ch, rest


def fused_chunks(part, chunk_ns: int, load=None, *, book: bool = False, recv_lo: int | None = None,
                 recv_hi: int | None = None, grid=None, delays=None, clean: bool = True, defer_clean: bool = False,
                 fuse=None):
    """Yield ``(chunk, registry)``: the partition's events in receive-time order (stable: the order
    :func:`liqcore.sweep.cells.load_partition` gives), cut into consecutive chunks of about
    ``chunk_ns`` of time, each a :class:`_Chunk` made in one compiled pass (:class:`_Fuse`: ``book``,
    the receive times kept ``[recv_lo, recv_hi)``, the grid's ``grid``, the ``delays`` sampler, ``clean``
    the bad prints, at once or, ``defer_clean``, when the caller says (:meth:`_Chunk.clean`); ``fuse``: a
    :class:`_Fuse` to use instead).  A dataset is read one time range at a
    time, a one-symbol synthetic market generated in parts; other sources are loaded whole
    (``load(part)`` -> (events in receive-time order, registry)) and cut.  A read goes through two
    passes: the plan over its two time columns (:func:`liqcore._jit.chunks.recv_plan`: the cut and
    whether it is in receive-time order; a stable sort of the receive times when not) and the chunk's
    pass, which moves each row once, into the chunk or the next carry."""
    fuse = fuse if fuse is not None else _Fuse(book=book, lo=recv_lo, hi=recv_hi, grid=grid, delays=delays,
                                               clean=clean, defer_clean=defer_clean)
    src = part.source
    fill_ns = -1  # (receive times filled by the reader)
    if src.kind == "dataset":
        raw_parts = _dataset_chunks(part, chunk_ns)
        margin = int(src.max_clock_skew_ns or 0)  # a receive time is at most this before its event time
        fill_ns = int(src.feed_latency_ns or 0)  # a receive time not recorded: the event time + feed latency
    elif src.kind == "synthetic" and len(part.symbols) == 1:
        raw_parts = _synthetic_chunks(part, chunk_ns)
        margin = 0  # received after the event
    else:
        ev, reg = load(part)  # the other sources load whole: cut what is loaded
        ts = ev["ts_recv"]
        if not len(ev):
            yield _Chunk(ev, 0, 0, book=book), reg
            return
        none = np.zeros(0, ev.dtype)
        t = int(ts[0])
        i = 0
        while i < len(ev):
            j = int(np.searchsorted(ts, t + chunk_ns, "left"))
            if j > i:
                ch = fuse.read(none, ev[i:j], 0, len(reg), whole=True)[3]
                if ch is not None:
                    yield ch, reg
            i, t = j, t + chunk_ns
        return
    carry = None
    handed = None  # every receive time handed out is < this
    reg = None
    for raw, reg in raw_parts:  # in event-time order: later parts hold later event times
        if not len(raw):
            continue
        if carry is None:
            carry = np.zeros(0, raw.dtype)
        lo, cut, k, ch, carry = fuse.read(carry, raw, margin, len(reg), fill_ns=fill_ns)
        if handed is not None and lo < handed:
            raise NotStreamable("a receive time earlier than a chunk already handed out")
        del raw  # the next range is read while only the chunk handed out is held
        if k:
            handed = cut
            if ch is not None:
                yield ch, reg
        del ch
    if carry is not None and len(carry):
        ch = fuse.read(np.zeros(0, carry.dtype), carry, 0, len(reg), whole=True)[3]
        if ch is not None:
            yield ch, reg


# ---------------------------------------------------------------------------------------- one cell
_NO_RECORDS = tuple(np.zeros(0, np.int64) for _ in range(5))  # (a replay part that hands out no record; read only)


def _handed(nt: np.ndarray, ni: np.ndarray, t_last: int, g_last: int) -> int:
    """How many of the records (decision times ``nt``, print indices ``ni``, in decision order) a run ending at
    print ``g_last`` (received at ``t_last``) hands out: a record goes with the first print it precedes."""
    return int(np.count_nonzero((nt < t_last) | ((nt == t_last) & (ni < g_last))))


class _Cell:
    """One (parameter set, window) replayed chunk after chunk."""

    def __init__(self, params, w, registry, n_sym: int, equity: float, dtype):
        from liqcore.execution.replay import new_replay

        self.params, self.w, self.equity, self._dtype = params, w, float(equity), dtype
        self.par, self.st, self.port, self.ledger, self.counts = new_replay(params, registry, n_sym, self.equity, 1)
        self._fresh()

    def _fresh(self) -> None:
        """The replay's bookkeeping before its first rows (a lone cell's, or cells' replayed together)."""
        self.depth = None  # the depth books (the queue rule), made at the first DEPTH row and kept across chunks
        # ``(symbol id, liqcore.dataset.depth.BookStart)``: the depth books before the span's start, put back
        # before the first rows are replayed (liqcore.backtest.depth_start.span_books)
        self.seed = None
        self.base = None  # global index (into the prints and funding events) of the window's first one
        self.start_ns = None  # first and last event time in the window
        self.last_ns = None
        self.rec_max = None  # latest decision time of a record in the window
        self.carry = None  # records not yet handed to the simulator (global sim indices)
        self.n_prints = 0  # trade prints replayed
        self.sim_seconds = 0.0  # in the simulator
        self.depth_free = False  # the caller knows no chunk holds a DEPTH row (:meth:`_run` does not look for one)

    def feed(self, chunk, rec, ni_glob):
        """One chunk (a :class:`_Chunk`), its CONFIRMED records in decision order with their global
        print indices ``ni_glob``."""
        from liqcore._jit import sim

        w = self.w
        i0 = 0 if w.start_ns is None else int(np.searchsorted(chunk.ts, w.start_ns, "left"))
        i1 = len(chunk.ts) if w.end_ns is None else int(np.searchsorted(chunk.ts, w.end_ns, "left"))
        k0, k1 = i0, i1
        if i1 > i0 and chunk.kept is None:  # (the book's rows: DEPTH rows do not make the span, run.event_span)
            from liqcore.types import Kind

            k = chunk.sim["kind"]
            if int(k[i0]) == int(Kind.DEPTH) or int(k[i1 - 1]) == int(Kind.DEPTH):
                nd = np.flatnonzero(k[i0:i1] != int(Kind.DEPTH))
                k0, k1 = (i0 + int(nd[0]), i0 + int(nd[-1]) + 1) if len(nd) else (i0, i0)
        if k1 > k0:
            if self.start_ns is None:
                self.start_ns = int(chunk.ts[k0])
            self.last_ns = int(chunk.ts[k1 - 1])
        m = span_mask(rec["confirm_recv_ns"], w.start_ns, w.end_ns)
        if m.any():
            r = rec[m]
            self.rec_max = max(self.rec_max or int(r["confirm_recv_ns"].max()), int(r["confirm_recv_ns"].max()))
            self._add(r, ni_glob[m])
        j0, j1 = chunk.sim_pos(i0), chunk.sim_pos(i1)
        if self.base is None and (j1 > j0 or i1 > i0):
            self.base = chunk.so + j0  # the window's prints start here (as the whole run cuts them)
        if j1 <= j0 or self.carry is None or not len(self.carry[0]):
            if j1 > j0:
                self._run(chunk.sim[j0:j1], chunk.so + j0, 0, sim.NO_CLOCK)
            return
        self._run(chunk.sim[j0:j1], chunk.so + j0, self._due(int(chunk.sim_ts[j1 - 1]), chunk.so + j1 - 1),
                  sim.NO_CLOCK)

    def feed_rows(self, ev, o: int, so: int, rec) -> None:
        """:meth:`feed` of ``_Chunk(ev, o, so, book=True, cleaned=True)`` and its records ``rec`` for a cell of an
        unbounded window whose rows hold no DEPTH row (:attr:`depth_free`): the same simulator calls without the
        chunk's copies and a bounded window's masks (the window plan's steps, a thousand a run)."""
        w = self.w
        if w.start_ns is not None or w.end_ns is not None or not self.depth_free:
            ch = _Chunk(ev, o, so, book=True, cleaned=True)
            self.feed(ch, rec, ch.sim_index(rec["event_index"]))
            return
        from liqcore._jit import sim

        n = len(ev)
        if n:
            ts = ev["ts_recv"]
            if self.start_ns is None:
                self.start_ns = int(ts[0])
            self.last_ns = int(ts[n - 1])
            if self.base is None:
                self.base = so  # the window's prints start here (as the whole run cuts them)
        carried = self.carry is not None and len(self.carry[0])
        if len(rec):
            rt = rec["confirm_recv_ns"].astype(np.int64)
            t = int(rt.max())
            self.rec_max = max(self.rec_max or t, t)
            ni = np.minimum(np.maximum(rec["event_index"].astype(np.int64) - o, -1), n - 1) + so
            if n and not carried:  # (nothing carried, as a step's records mostly are: the run's hand-out at once)
                due = _handed(rt, ni, int(ev["ts_recv"][n - 1]), so + n - 1)
                cols = (rt, ni, rec["symbol_id"].astype(np.int64), rec["dominant"].astype(np.int64),
                        rec["cascade_id"].astype(np.int64))
                if due < len(rt):  # (the records a run over these rows does not hand out yet: carried on)
                    self.carry = tuple(c[due:] for c in cols)
                    cols = tuple(c[:due] for c in cols)
                else:
                    self.carry = None
                self._exec(ev, so, cols, sim.NO_CLOCK)
                return
            self._add(rec, ni)
            carried = True
        if not n:
            return
        self._run(ev, so, self._due(int(ev["ts_recv"][n - 1]), so + n - 1) if carried else 0, sim.NO_CLOCK)

    def _due(self, t_last: int, g_last: int) -> int:
        """The carried records a run ending at print ``g_last`` (received at ``t_last``) hands out: a record is
        handed out with the first print it precedes, (time, index) before the last one's."""
        return _handed(self.carry[0], self.carry[1], t_last, g_last)

    def _add(self, r, ni):
        cols = (r["confirm_recv_ns"].astype(np.int64), ni.astype(np.int64), r["symbol_id"].astype(np.int64),
                r["dominant"].astype(np.int64), r["cascade_id"].astype(np.int64))
        if self.carry is None:
            self.carry = cols
        else:
            self.carry = tuple(np.concatenate([a, b]) for a, b in zip(self.carry, cols))

    def _run(self, ev, g0: int, due: int, end_ns: int):
        """Replay ``ev`` (prints from global index ``g0``) with the first ``due`` carried records."""
        from liqcore._jit import sim
        from liqcore.types import Kind

        if self.carry is not None and due:
            give = tuple(np.ascontiguousarray(a[:due]) for a in self.carry)
            self.carry = tuple(a[due:] for a in self.carry)
        else:
            give = _NO_RECORDS
        self._exec(ev, g0, give, end_ns)

    def _exec(self, ev, g0: int, give: tuple, end_ns: int):
        """Replay ``ev`` (prints from global index ``g0``) with the records ``give`` (their five columns, int64,
        contiguous: time, global print index, symbol, dominant side, cascade id) handed out."""
        from liqcore._jit import sim
        from liqcore.types import Kind

        n = int(self.port[0]["n_trades"])
        need = n + len(give[0]) + 1  # at most one ledger row per record (as the whole run sizes it)
        if need > len(self.ledger):
            grown = np.zeros(max(need, 2 * len(self.ledger)), dtype=self.ledger.dtype)
            grown[:n] = self.ledger[:n]
            self.ledger = grown
        t, ni, sid, dom, cid = give
        if self.seed:
            self._put_back()
        if self.depth is None and not self.depth_free and len(ev) and self.par["queue"].any() \
                and bool((ev["kind"] == int(Kind.DEPTH)).any()):
            self.depth = sim.new_depth(len(self.par))  # (before it: no DEPTH row, the books empty and unread)
        t0 = time.perf_counter()
        self.n_prints += sim.run_sim(np.ascontiguousarray(ev), t, np.ascontiguousarray(ni - g0), sid, dom, cid,
                    self.st, self.port, self.par, self.ledger, self.counts, end_ns, depth=self.depth)
        self.sim_seconds += time.perf_counter() - t0

    @property
    def cells(self) -> tuple:
        """The cells a window plan's step acts on (:class:`_Cells`): this one."""
        return (self,)

    def live(self) -> bool:
        """Whether an order or a position of the cell is live (any symbol's state not flat)."""
        return bool(self.st["status"].any())

    def _put_back(self) -> None:
        """The depth books of :attr:`seed` put back before the first row, once the price grid is set
        (:func:`liqcore.backtest.depth_start.put_back`)."""
        from liqcore._jit import sim
        from liqcore.backtest.depth_start import put_back

        seed, self.seed = self.seed, None
        if self.depth is None:
            self.depth = sim.new_depth(len(self.par))
        put_back(seed, self.depth, self.st, self.port, self.par, self.ledger, self.counts)

    def finish(self, with_daily: bool, row) -> dict:
        """The row, as the whole run makes it (``row``: the sweep's row builder)."""
        start_ns, end_ns = self._close()
        return row(self.ledger, self.counts, self.st, self.port, self.equity, start_ns, end_ns, with_daily)

    def _close(self) -> tuple:
        """Hand out the records still carried and run the clock to the span's end: ``(start, end)`` of the span."""
        w = self.w
        start_ns = self.start_ns if self.start_ns is not None else (w.start_ns or 0)
        end_ns = self.last_ns if self.last_ns is not None else start_ns
        if self.rec_max is not None:
            end_ns = max(end_ns, self.rec_max)
        rest = len(self.carry[0]) if self.carry is not None else 0
        empty = np.zeros(0, dtype=self._dtype)
        self._run(empty, 0 if self.base is None else self.base, rest, end_ns)  # the rest, then the clock
        return start_ns, end_ns


class _Cells(_Cell):
    """Cells of one selection replayed together by one window plan (:func:`liqcore.backtest.windows.replay_cells`:
    a sweep's cells): the plan's bookkeeping (the records carried, the span's times) is this object's, made once,
    and each run of rows goes to every cell in one compiled call (:func:`liqcore._jit.sim.run_cells`: the cells'
    states stacked, each cell's arrays a row of them), so each is handed the same rows, records and clock.  A step's
    rows reach a cell whatever its state: the full replay hands it every row, and the plan passes over a span only
    where its rows are quiet for every cell (the first passage of each live one; a flat one's prints and quotes only
    set the last price and the book, which the plan sets in every cell from the span's last rows).  So each cell
    ends as its full replay does, as it would alone; the plan reads and decides each step once for all of them.
    Rows with DEPTH rows (the queue at depth) are not replayed this way (each cell has its own plan there)."""

    cells: tuple = ()  # (the cells, set per object: not :class:`_Cell`'s one-cell view)

    def __init__(self, cells: list):
        c0 = cells[0]
        self.params, self.w, self.equity, self._dtype = c0.params, c0.w, c0.equity, c0._dtype
        self.cells = tuple(cells)
        self.par = np.stack([c.par for c in cells])
        self.st = np.stack([c.st for c in cells])
        self.port = np.stack([c.port for c in cells])
        self.ledger = np.stack([c.ledger for c in cells])
        self.counts = np.stack([c.counts for c in cells])
        for k, c in enumerate(cells):  # (each cell's arrays: its row of the stacked ones)
            c.par, c.st, c.port, c.ledger, c.counts = self.par[k], self.st[k], self.port[k], self.ledger[k], \
                self.counts[k]
        self._fresh()

    def _exec(self, ev, g0: int, give: tuple, end_ns: int):
        from liqcore._jit import sim
        from liqcore.types import Kind

        n = int(self.port["n_trades"].max())
        need = n + len(give[0]) + 1  # at most one ledger row per record (as the whole run sizes it)
        if need > self.ledger.shape[1]:
            grown = np.zeros((len(self.cells), max(need, 2 * self.ledger.shape[1])), dtype=self.ledger.dtype)
            grown[:, :self.ledger.shape[1]] = self.ledger
            self.ledger = grown
            for k, c in enumerate(self.cells):
                c.ledger = grown[k]
        if len(ev) and self.par["queue"].any() and not self.depth_free and bool((ev["kind"] == int(Kind.DEPTH)).any()):
            raise ValueError("cells replayed together: a DEPTH row (the queue at depth replays each cell alone)")
        t, ni, sid, dom, cid = give
        t0 = time.perf_counter()
        self.n_prints += sim.run_cells(ev, t, np.ascontiguousarray(ni - g0), sid, dom, cid, self.st, self.port,
                                       self.par, self.ledger, self.counts, end_ns)
        self.sim_seconds += time.perf_counter() - t0

    def finish(self, with_daily: bool, row) -> list:
        """Each cell's row, in their order, as :meth:`_Cell.finish` makes a lone cell's."""
        start_ns, end_ns = self._close()
        return [row(c.ledger, c.counts, c.st, c.port, self.equity, start_ns, end_ns, with_daily) for c in self.cells]


def ended(got: dict, params, registry, equity: float, records, cell, strategy, signals, **more) -> dict:
    """The fields of :class:`liqcore.backtest.run.BacktestResult` a replay part ends with, from a cell's row
    (``got``: its ``ledger``, ``counts``, ``st``, ``port``, ``start_ns``, ``end_ns``) and what the caller adds
    (``more``: the note, what was dropped, the fill's fallback, the latency notes...)."""
    from liqcore.execution.replay import at_end

    n = int(got["port"][0]["n_trades"])
    open_at_end, working_at_end = at_end(got["st"])
    return dict(params=params, registry=registry, ledger=got["ledger"][:n].copy(), counts=got["counts"],
                equity0=float(equity), equity=float(got["port"][0]["equity"]), start_ns=int(got["start_ns"]),
                end_ns=int(got["end_ns"]), records=records, n_prints=int(cell.n_prints),
                sim_seconds=float(cell.sim_seconds), open_at_end=open_at_end, working_at_end=working_at_end,
                events=None, strategy=type(strategy).name, signals=signals, strategy_obj=strategy, **more)


def needs_grid(params) -> bool:
    """Whether a replay with ``params`` reads the price grid (``--fill queue`` implies it)."""
    return params.fill == "queue" or getattr(params, "price_grid", "off") == "auto"


class _GridGate:
    """Hands the chunks to the simulator cells once their price grid is known.  The whole load reads
    each symbol's grid from its first :data:`liqcore.execution.events.GRID_PRINTS` trade prints
    (``--fill queue`` or ``--price-grid auto``): the chunks are held (what the simulator reads of
    them) until every symbol has shown that many prints, or the span ends; then the grid is set on
    every cell and the held chunks are replayed in order.  Memory: the chunks up to that many prints
    (one default chunk of a busy symbol), then nothing.  Cells whose parameters need no grid get none."""

    def __init__(self, on: bool):
        self.on = on  # some cell needs the grid (:func:`needs_grid`)
        self.held: list = []  # (chunk, records, their print indices)
        self.prices: dict = {}  # symbol id -> [the first trade prices]
        self.seen: dict = {}  # symbol id -> trade prints seen (at most GRID_PRINTS counted)

    def feed(self, cells, ch, rec, ni) -> None:
        from liqcore.execution.events import GRID_PRINTS
        from liqcore.types import Kind

        if not self.on:
            for c in cells:
                c.feed(ch, rec, ni)
            return
        n_sym = len(cells[0].par)
        if ch.grid is not None:  # the fused pass took them (at most the prints still needed per symbol)
            px, sym = ch.grid
        else:
            ev = ch.events
            is_trade = ev["kind"] == int(Kind.TRADE)
            sym = ev["symbol_id"][is_trade]
            px = ev["price"][is_trade]
        for sid in range(n_sym):
            have = self.seen.get(sid, 0)
            if have < GRID_PRINTS:
                take = px[sym == sid][:GRID_PRINTS - have].copy()
                self.prices.setdefault(sid, []).append(take)
                self.seen[sid] = have + len(take)
        self.held.append((ch, rec, ni))
        if all(self.seen.get(sid, 0) >= GRID_PRINTS for sid in range(n_sym)):
            self.flush(cells)

    def flush(self, cells) -> None:
        """Set the grid (from the prints seen) and replay the held chunks; later chunks pass through."""
        from liqcore.execution.events import grid_of_prices

        if not self.on:
            return
        for sid in range(len(cells[0].par)):
            parts = self.prices.get(sid)
            g = grid_of_prices(np.concatenate(parts)) if parts else 0.0
            for c in cells:
                if needs_grid(c.params):
                    c.par["grid"][sid] = g
        held, self.held, self.prices, self.on = self.held, [], {}, False
        for ch, rec, ni in held:
            for c in cells:
                c.feed(ch, rec, ni)


class _Chunk:
    """One chunk's events cleaned as :class:`liqcore.sweep.cells.Prepared` cleans a partition."""

    def __init__(self, events, o: int, so: int, book: bool = False, cleaned: bool = False):
        """``book``: the top of book (QUOTE rows) is replayed too (the queue rule), not only the
        trade prints and funding; ``cleaned``: ``events`` are :func:`~liqcore.execution.events.clean_prints`'s
        output already (the window read's steps: their bad prints counted there), not scanned again."""
        from liqcore.execution.events import clean_prints
        from liqcore.types import Kind, take_records

        if cleaned:
            ev, self.dropped = np.ascontiguousarray(events), {}
        else:
            ev, self.dropped = clean_prints(np.ascontiguousarray(events))
        self.events, self.o, self.so = ev, o, so
        self.ts = np.ascontiguousarray(ev["ts_recv"])
        if book:  # most rows are the book's: the simulator reads the chunk as it is (it skips the other kinds)
            self.kept = None  # every row: the chunk position is the simulator's
            self.sim = ev
            self.sim_ts = self.ts
            return
        k = ev["kind"]
        self.kept = np.flatnonzero((k == int(Kind.TRADE)) | (k == int(Kind.FUNDING)))
        self.sim = take_records(ev, self.kept)
        self.sim_ts = np.ascontiguousarray(self.sim["ts_recv"])

    # what the fused pass (:class:`_Fuse`) sums up of the chunk; read from the events for a chunk made here
    bad = None  # positions of the bad prints not yet neutralised (:meth:`clean`)
    kind_rows = None  # rows per kind code (256 counts)
    liq = None  # positions of the liquidations
    cheapest = None  # position of the cheapest trade print (-1: none)
    grid = None  # (prices, symbol ids) of the trade prints the price grid still needs

    def clean(self) -> None:
        """Neutralise the bad prints the fused pass found (kind 0: the simulator ignores them), in place;
        a caller whose detector must see the chunk as read (the backtest's, as the whole load's) cleans
        after detecting.  The print array never holds them."""
        if self.bad is not None and len(self.bad):
            self.events["kind"][self.bad] = 0
        self.bad = None

    def kinds(self) -> set:
        """The kind codes present."""
        if self.kind_rows is not None:
            return {int(k) for k in np.flatnonzero(self.kind_rows)}
        return {int(k) for k in np.flatnonzero(np.bincount(self.events["kind"].astype(np.int64)))}

    def has_quote(self) -> bool:
        """Whether the chunk holds book rows the queue rule reads (QUOTE or DEPTH)."""
        from liqcore.types import Kind

        if self.kind_rows is not None:
            return bool(self.kind_rows[int(Kind.QUOTE)] or self.kind_rows[int(Kind.DEPTH)])
        k = self.events["kind"]
        return bool(((k == int(Kind.QUOTE)) | (k == int(Kind.DEPTH))).any())

    def liquidations(self) -> np.ndarray:
        """The chunk's liquidations (a copy)."""
        from liqcore.types import Kind

        if self.liq is not None:
            return self.events[self.liq]
        return self.events[self.events["kind"] == int(Kind.LIQUIDATION)].copy()

    def sim_pos(self, i: int) -> int:
        """The simulator's first row at or after chunk position ``i``."""
        if self.kept is None:
            return min(max(int(i), 0), len(self.sim))
        return int(np.searchsorted(self.kept, i, "left"))

    def sim_index(self, idx):
        """Global event indices (in this chunk) -> global print indices, with the whole run's tie
        order (:meth:`liqcore.sweep.cells.Prepared.sim_index`)."""
        loc = np.asarray(idx, dtype=np.int64) - self.o
        if self.kept is None:  # every row is the simulator's (what the search below gives on 0, 1, 2...)
            return np.clip(loc, -1, len(self.sim) - 1) + self.so
        k = np.searchsorted(self.kept, loc, "left")
        is_kept = (k < len(self.kept)) & (self.kept[np.minimum(k, max(len(self.kept) - 1, 0))] == loc) \
            if len(self.kept) else np.zeros(len(loc), dtype=bool)
        return np.where(is_kept, k, k - 1).astype(np.int64) + self.so


def _note(min_trade, liqs: list):
    """The partition's data note (:func:`liqcore.backtest.metrics.data_note`) from the cheapest trade
    print and the liquidations of every chunk."""
    from liqcore.backtest import metrics as M

    rows = ([min_trade] if min_trade is not None else []) + liqs
    if not rows:
        return M.data_note(np.zeros(0, dtype=liqs[0].dtype if liqs else _event_dtype()))
    return M.data_note(np.concatenate(rows))


def _event_dtype():
    from liqcore.types import EVENT_DTYPE

    return EVENT_DTYPE


def evaluate_streamed(part, det_params, param_sets, windows, equity: float = 1.0, with_daily: bool = False,
                      chunk_ns: int = 7 * NS_PER_DAY, *, load, row) -> tuple[list[dict], str | None]:
    """Rows (parameter set major, as :func:`liqcore.sweep.cells.evaluate_cells`) and the data note
    of ``part`` read and replayed in chunks of ``chunk_ns``; every parameter set runs the cascade
    strategy's simulator (the caller checks).  ``load(part)``: the whole-partition loader (sources
    that are not read in parts); ``row(ledger, counts, st, port, equity, start_ns, end_ns,
    with_daily)``: a window's row.  :class:`NotStreamable` when chunks would not give the whole run's
    rows (nothing is returned then)."""
    from liqcore.execution.detect import detect
    from liqcore._libs.detection import CascadeDetector

    detector = CascadeDetector.from_params(det_params)
    jump = int(detector.max_time_jump_ns) if hasattr(detector, "max_time_jump_ns") else NS_PER_DAY
    cells = None
    bare: list = []  # per cell under the queue rule: its run without a book, until a quote shows
    book = any(p.fill == "queue" for p in param_sets)  # the QUOTE rows go to the simulator too
    grid = _GridGate(any(needs_grid(p) for p in param_sets))
    o = so = 0
    tail = np.zeros(0, np.int64)  # the last event times of the previous chunk (the stray test's neighbours)
    min_trade, liqs = None, []
    for ch, reg in fused_chunks(part, int(chunk_ns), load, book=book, grid=grid):
        if not len(ch.events):
            continue
        tail = boundary_tail(tail, ch.events["ts_event"], o, jump)
        if cells is None:
            n_sym = max(len(reg), 1, int(ch.events["symbol_id"].max()) + 1)
            cells = [_Cell(p, w, reg, n_sym, equity, ch.sim.dtype) for p in param_sets for w in windows]
            bare = [_Cell(c.params, c.w, reg, n_sym, equity, ch.sim.dtype) if c.params.fill == "queue" else None
                    for c in cells]
            for b in bare:
                if b is not None:
                    b.par["queue"] = 0
        elif int(ch.events["symbol_id"].max()) + 1 > len(cells[0].st):
            raise NotStreamable("a symbol appears after the first chunk")
        rec, _ = detect(ch.events, det_params, detector=_Run(detector, o))
        from liqcore.execution.detect import confirmed_records

        rec = confirmed_records(rec, ordered=True)
        ni = ch.sim_index(rec["event_index"])
        if any(b is not None for b in bare) and ch.has_quote():
            bare = [None] * len(cells)  # the partition has a book: the queue rule holds
        grid.feed(cells + [b for b in bare if b is not None], ch, rec, ni)
        min_trade = cheapest_trade(ch.events, min_trade, ch.cheapest)
        liqs.append(ch.liquidations())
        o += len(ch.events)
        so += len(ch.sim)
        ch.events = None  # a chunk held for the price grid keeps only what the simulator reads
        del ch
    if cells is None:
        raise NotStreamable("the partition has no events")
    grid.flush(cells + [b for b in bare if b is not None])
    note = _note(min_trade, liqs)
    rows = []
    for c, b in zip(cells, bare):
        r = (b if b is not None else c).finish(with_daily, row)
        if b is not None:  # no quote in the partition: the queue rule fell back to through (said once)
            from liqcore.execution.events import queue_fallback

            queue_fallback(c.par, np.zeros(0, dtype=_event_dtype()))
            r["queue_fallback"] = True
        rows.append(r)
    return rows, note


class _Run:
    """The detector run over one chunk without the end-of-input flush (the next chunk continues)."""

    def __init__(self, detector, offset: int):
        self.detector, self.offset = detector, offset

    def run(self, events, flush=False):
        return self.detector.run(events, flush=False, index_offset=self.offset)
