"""A dataset backtest that reads only what a window-local strategy needs (:func:`replay_windows`).

For a strategy that declares ``reads = "windows"`` (``cascade-mm``): pass 1 reads the rows that are not
trades or quotes for detection, pass 2 reads and replays the window around each confirmed record,
merged, read on while an order or position lives, quiet row groups passed over undecoded.  What it
reads and why the result is the full replay's: docs/explanation/read-plan.md, "The default read: only what can change
an outcome"; the chunk's way through the house: docs/maintainers/design.md.

Why one module: the two passes share one reader and one plan (the windows, their merge and the quiet spans
between them); what a live order lets it pass over and read back is ``passage``, the depth rows of each
window ``depth_windows``, a span's starting books ``depth_start``, the detection pass ``rare_pass``, a selection of
several pairs' own steps ``pairs``.
May import: numpy, ``types``, ``codes``, ``signals``, ``validate``, the kernels, ``dataset``, ``execution``,
``strategies``, ``venues.common`` and this package's ``row_groups``, ``passage``, ``stream``, ``chunked``,
``cell_share``, ``depth_windows``, ``depth_start``, ``rare_pass`` and ``pairs``.
"""
from __future__ import annotations

import numpy as np

from liqcore.backtest import passage
from liqcore.backtest.passage import PRE, book_before, quiet_until, refused, settle_tail
from liqcore.backtest import row_groups
from liqcore.backtest.row_groups import _bulk_groups, _has_depth, _has_kind, _has_quotes, _quotes_quiet
from liqcore.backtest.cell_share import (TOGETHER, _detection_key, _detector_key, _selection_key, _shared,
                                        together_key)
from liqcore.backtest.rare_pass import _exact_detection, _first_prints_grid
from liqcore.backtest.stream import NS_PER_DAY, NotStreamable

#: ``--read`` choices: auto (the strategy's declaration), windows, all (the full replay)
READ_MODES = ("auto", "windows", "all")
#: under the queue rule, a window's read starts this much early for the book in force at its start
_PRE = PRE
#: the window plan gives way to the plain sequential read (``--read all``) when the row groups its
#: signals' first steps meet hold more than this share of the bulk rows (:func:`plan_coverage`)
MOST = 0.5
#: ... and when it holds more than this many bulk row groups (a small selection costs little either way)
MIN_GROUPS = 64
#: the rows of the reads a sweep's cells keep for one another (``replay_windows(shared=)``), at most
READ_MEMO_BYTES = 1 << 30
#: windows (and a live step and the next window) closer than this and than a row group's span are read as one
NEAR = 2_000_000_000
#: a selection of several (venue, symbol) pairs read window-local too (:mod:`~liqcore.backtest.pairs`; off: the
#: full replay)
PAIRS = True


def window_reason(params, strategy) -> str | None:
    """Why ``strategy`` with ``params`` cannot run window-local, or None."""
    from liqcore.backtest.chunked import chunk_reason

    if getattr(type(strategy), "reads", "all") != "windows":
        return f"strategy {type(strategy).name} reads every event (reads = {getattr(type(strategy), 'reads', 'all')!r})"
    return chunk_reason(params, strategy, book=True)  # the book and the price grid: :func:`replay_windows`


def _span(path, symbols, start_ns, end_ns, multi: bool = False):
    from liqcore.dataset.read import check_selection

    sel = check_selection(path, list(symbols) or None, start_ns, end_ns)
    pairs = sorted({(p[0], p[1]) for p in sel})
    if len(pairs) != 1 and not (multi and len(pairs) > 1):
        raise NotStreamable(f"the selection holds {len(pairs)} (venue, symbol) pairs")
    days = sorted({p[2] for p in sel})
    lo = int(np.datetime64(days[0], "D").astype("datetime64[ns]").astype(np.int64))
    hi = int(np.datetime64(days[-1], "D").astype("datetime64[ns]").astype(np.int64)) + NS_PER_DAY
    if start_ns is not None:
        lo = max(lo, int(start_ns))
    if end_ns is not None:
        hi = min(hi, int(end_ns))
    return lo, hi, sel


class _Reader:
    """Reads of one dataset selection, counting the rows of the row groups decoded (each once within the replay's
    :class:`~liqcore.dataset.decoded.count_once`)."""

    def __init__(self, path, symbols, start_ns, end_ns, params, registry, partitions):
        self.path, self.symbols, self.start_ns, self.end_ns = str(path), list(symbols) or None, start_ns, end_ns
        self.skew, self.fl = params.max_clock_skew_ns, int(params.feed_latency_ns or 0)
        self.reg = registry
        self.rows_read = 0
        self.rows_clock = 0  # rows of the bulk row groups whose time columns were decoded for the clock
        self.partitions = partitions  # the selection's partitions, listed once for the hundreds of reads
        self.memo = None  # {a read's arguments: its rows}, kept across a sweep's cells (``replay_windows(shared=)``)
        self._files = self._keys = self._fast = self._sid = None  # (:meth:`_partitions`, :meth:`_read_files`)
        self.g = None  # the selection's bulk groups and blocks, once the plan has them (:meth:`_read_files`)
        self.sids = None  # several pairs: (venue, symbol) -> symbol id (:mod:`~liqcore.backtest.pairs`); None: one
        self.n_reg = 1  # the pairs a read may find in the registry (more: a pair outside the selection's listing)

    def read(self, start_ns, end_ns, kinds=None, recv=None, sids=None):
        """The rows of the selection with event times in [start_ns, end_ns) (and receive times in ``recv``) of
        ``kinds``, in receive order; with :attr:`memo`, a read made before is taken from it (the same rows: a
        read is a function of its arguments and the files), the kept array itself, not a copy: no step writes
        to the rows it reads (a bad print is neutralised in a copy, :func:`~liqcore.execution.events.clean_prints`;
        tests/backtest/test_sweep_windowed.py checks the kept reads against fresh ones after a sweep's cells).
        A copy of each read for each cell was a quarter of a 64-cell sweep's CPU.  ``sids``: of a selection of
        several pairs, the rows of these symbol ids' pairs alone (None: every pair's)."""
        if self.memo is None:
            return self._read(start_ns, end_ns, kinds, recv, sids)
        key = (start_ns, end_ns, None if kinds is None else tuple(kinds), None if recv is None else tuple(recv)) + (
            () if sids is None else (tuple(sorted(sids)),))
        got = self.memo.get(key)
        if got is None:
            got = self._read(start_ns, end_ns, kinds, recv, sids)
            if self.memo.get("bytes", 0) + got.nbytes <= READ_MEMO_BYTES:
                self.memo[key] = got
                self.memo["bytes"] = self.memo.get("bytes", 0) + got.nbytes
        return got

    def _partitions(self, a: int, b: int, recv, sids=None) -> list:
        """The selection's partitions a read of event times [a, b) received in ``recv`` can find a row in: those
        with a file whose footer (:func:`~liqcore.dataset.checked.footer`) can hold one, by the test the read
        applies to each file (:func:`~liqcore.dataset.checked.groups_to_read`); the others would give it nothing.
        A month's read of a few seconds then looks at one or two day files, not thirty.  The footers are the
        ones of the files as they were at the first read (their size, modification time and inode kept):
        :meth:`check_unchanged` proves at the end that every file is still that one."""
        if sids is not None:
            keep = [p for p in self.partitions if self.sids.get((p[0], p[1])) in sids]
            return keep if recv is None else [p for p in self._partitions(a, b, recv) if p in keep]
        if recv is None:
            return self.partitions
        if self._files is None:
            self._files = self._file_table()
        t = self._files
        return [self.partitions[k] for k in np.unique(t["part"][self._meets(a, b, recv)])]

    def _meets(self, a: int, b: int, recv) -> np.ndarray:
        """Per row of :attr:`_files`: whether the file's footer can hold a row of event time in [a, b) received in
        ``recv`` (the test :func:`~liqcore.dataset.checked.groups_to_read` makes of a whole file)."""
        from liqcore.venues.common import RECV_UNKNOWN

        t = self._files
        lo, hi, fl = int(recv[0]), int(recv[1]), self.fl
        return (t["ev_hi"] >= a) & (t["ev_lo"] < b) & (
            ((t["rv_hi"] >= lo) & (t["rv_lo"] < hi))
            | ((t["rv_lo"] <= RECV_UNKNOWN) & (t["rv_hi"] >= RECV_UNKNOWN) & (t["ev_hi"] >= lo - fl)
               & (t["ev_lo"] < hi - fl)))

    def _file_table(self):
        """One row per file of the selection's partitions: its partition's place in :attr:`partitions` and its
        footer's event and receive time bounds; the files' stat keys kept in :attr:`_keys`."""
        import os

        from liqcore.dataset.checked import footer
        from liqcore.dataset.read import parquet_files

        rows, self._keys, paths = [], {}, []
        for k, p in enumerate(self.partitions):
            folder = os.path.join(self.path, f"venue={p[0]}/symbol={p[1]}/date={p[2]}")
            self._keys[folder] = tuple(parquet_files(folder))
            for f in self._keys[folder]:
                ft = footer(f)
                self._keys[f] = ft.key
                rows.append((k, ft.ev_lo, ft.ev_hi, ft.rv_lo, ft.rv_hi))
                paths.append((f, p))
        self._fast = self._checked_files(paths)
        dt = [("part", np.int64), ("ev_lo", np.int64), ("ev_hi", np.int64), ("rv_lo", np.int64), ("rv_hi", np.int64)]
        return np.array(rows, dtype=dt)

    def _checked_files(self, paths: list):
        """``(files, marks, bulk, pair)`` when every file of the selection is one
        :func:`liqcore.dataset.read.load_dataset` reads the checked way (a local dataset of format 2 or later,
        each file marked checked in its footer and in the marks file with its size, one valid (venue, symbol)
        pair), so a read of a few files calls :func:`~liqcore.dataset.checked.read_checked` on them as that read
        would; else None (every read goes through ``load_dataset``)."""
        import os

        from liqcore.dataset.checked import footer, read_marks
        from liqcore.dataset.read import BULK_KINDS, read_format
        from liqcore.io import storage
        from liqcore.validate import symbol_problem
        from liqcore.venues.common import VENUE_BY_NAME

        fmt = None if storage.is_url(self.path) else read_format(self.path)
        if fmt is None:
            return None
        marks = read_marks(self.path)
        files, mine = [], {}
        for f, p in paths:
            ft = footer(f)
            mark = marks.get(f"venue={p[0]}/symbol={p[1]}/date={p[2]}/{os.path.basename(f)}")
            if p[0] not in VENUE_BY_NAME or not ft.checked or not isinstance(mark, dict) \
                    or mark.get("size") != ft.key[0]:
                return None
            files.append((f, VENUE_BY_NAME[p[0]], 0 if self.sids is None else self.sids[(p[0], p[1])]))
            mine[f] = mark
        pairs = {(VENUE_BY_NAME[p[0]], p[1]) for _f, p in paths}
        if self.sids is not None:  # (several pairs: each file's rows take its pair's id, :mod:`.pairs`)
            if any(symbol_problem(*x) for x in pairs):
                return None
            return files, mine, BULK_KINDS if fmt.get("sections") else None, None
        if len(pairs) != 1:
            return None
        pair = next(iter(pairs))
        if pair[1] == "*" or symbol_problem(*pair):
            return None
        return files, mine, BULK_KINDS if fmt.get("sections") else None, pair

    def _read_files(self, a: int, b: int, kinds, recv, sids=None):
        """The events of a read by receive time from the day files that can hold them, through
        :func:`~liqcore.dataset.checked.read_checked` as ``load_dataset``'s checked read calls it (the same
        files in the same order, the same symbol id), or None (not such a selection, or a file not the bytes its
        mark was taken of: ``load_dataset`` then reads, and says so)."""
        from liqcore.dataset.checked import Unverified, read_checked

        if self._files is None:
            self._files = self._file_table()
        if not self._fast:
            return None
        files, marks, bulk, _pair = self._fast
        lo, hi, fl = int(recv[0]), int(recv[1]), self.fl
        sub = sorted(files[i] for i in np.flatnonzero(self._meets(a, b, recv)))
        if sids is not None:
            sub = [x for x in sub if x[2] in sids]
        if len(sub) == 1 and self.g is not None and bulk and kinds is not None and row_groups.SPAN_READS:
            got = row_groups.span_events(self.g, sub[0][0], marks.get(sub[0][0]), a, b, kinds, (lo, hi, fl), self.skew,
                                         sub[0][1], bulk)  # (None: the files' read)
            if got is not None:
                ev, n = got
                self.rows_read += int(n)
                sid = self.symbol_id() if self.sids is None else sub[0][2]
                if len(ev) and sid != 0:
                    ev["symbol_id"] = sid
                return ev
        try:
            ev, _ids, _n, decoded, _fut, present = read_checked(sub, a, b, kinds, (lo, hi, fl), self.skew, False,
                                                                marks=marks, bulk=bulk)
        except Unverified:
            return None
        if present and self.sids is None:  # (several pairs: each file's rows carry its pair's id already)
            sid = self.symbol_id()
            if len(ev) and sid != 0:
                ev["symbol_id"] = sid
        self.rows_read += int(decoded)
        return ev

    def symbol_id(self) -> int | None:
        """The symbol id the reads give the selection's rows (:meth:`_read_files`), None when the reads are not
        of checked files (each goes through ``load_dataset``)."""
        from liqcore.venues.common import Sink

        if self._files is None:
            self._files = self._file_table()
        if not self._fast or self.sids is not None:
            return None
        if self._sid is None:  # (the registry's id of the one pair: made once, it never changes)
            self._sid = Sink(self.reg, None).sid(*self._fast[3])
        return self._sid

    def check_unchanged(self) -> None:
        """ValueError unless every file :meth:`_partitions` judged by its footer is still the file it was
        (size, modification time, inode) and no partition folder gained or lost one: a file changed during the
        run could have held rows a read passed over."""
        from liqcore.dataset.checked import stat_key
        from liqcore.dataset.read import parquet_files

        for name, key in (self._keys or {}).items():  # (a folder: its files; a file: its stat key)
            if (stat_key(name) if name.endswith(".parquet") else tuple(parquet_files(name))) != key:
                raise ValueError(f"dataset: {name} changed while it was read; read it again")

    def _read(self, start_ns, end_ns, kinds=None, recv=None, sids=None):
        from liqcore._libs.reading import sort_recv
        from liqcore.execution.events import check_events, prepare_events
        from liqcore.dataset.read import load_dataset
        from liqcore.types import take_records
        from liqcore.venues.common import fill_recv

        a = start_ns if self.start_ns is None else max(start_ns, self.start_ns)
        b = end_ns if self.end_ns is None else min(end_ns, self.end_ns)
        if a >= b:
            return np.zeros(0, _dtype())
        got = None if recv is None else self._read_files(a, b, kinds, recv, sids)
        if got is None:
            res = load_dataset(self.path, symbols=self.symbols, start_ns=a, end_ns=b, max_clock_skew_ns=self.skew,
                               check=False, registry=self.reg, kinds=kinds, trade_ids=False,
                               partitions=self._partitions(a, b, recv, sids),
                               recv_range=None if recv is None else (recv[0], recv[1], self.fl))
            self.rows_read += int(res.files[self.path].get("rows_read") or 0)
            got = res.events
        if len(self.reg) > self.n_reg:
            raise NotStreamable("the selection holds more than one (venue, symbol) pair")
        ev = fill_recv(got, self.fl)
        tr = ev["ts_recv"]
        m = None
        for x, y in ((self.start_ns, self.end_ns), recv or (None, None)):
            if x is not None:
                m = (tr >= x) if m is None else m & (tr >= x)
            if y is not None:
                m = (tr < y) if m is None else m & (tr < y)
        if m is not None and not m.all():  # (a read by receive time keeps every row but the few filled in)
            ev = take_records(ev, np.flatnonzero(m))
        # receive order: the rows (this read's own array) are nearly in it, the few out of place moved in place
        # by one compiled pass (False: far from it, the numpy sort)
        ev = np.ascontiguousarray(check_events(ev))
        return ev if ev.flags.writeable and sort_recv(ev) else prepare_events(ev)


def _pairs_detection(rd: _Reader, det_ev: np.ndarray, params, sel, lo: int, hi: int, gap: int, g: dict, groups):
    """:func:`_exact_detection` of a selection of several pairs, pair by pair, each with a reader of its own
    partitions and its row groups (``groups(partitions)``; :func:`~liqcore.backtest.pairs.detection`), the
    selection's clock rows over ``g``."""
    from liqcore._libs.detection import CascadeDetector
    from liqcore.backtest import pairs
    from liqcore.backtest.rare_pass import _edges, _first_stray
    from liqcore.backtest.row_groups import _ClockRows
    from liqcore.execution.events import clean_prints

    def reader(part, symbol):
        sub = _Reader(rd.path, [symbol], rd.start_ns, rd.end_ns, params, rd.reg, part)
        sub.sids = {k: v for k, v in rd.sids.items() if (k[0], k[1]) == (part[0][0], part[0][1])}
        sub.n_reg = len(rd.reg)
        return sub

    first, last = _edges(rd, det_ev, g, lo, hi)  # (the full replay's first rows: its stray-time test's first)
    first, _d = clean_prints(first)
    if _first_stray(first["ts_event"][first["kind"] != 0], int(CascadeDetector.from_params(params).max_time_jump_ns)):
        raise NotStreamable("the first event may be a stray time (a day's gap after it)")
    rec, counts, n_w, indexed, subs = pairs.detection(
        det_ev, params, sel, rd.sids, lo, hi, gap, reader,
        lambda rd_, d, p_, part, *a: _exact_detection(rd_, d, p_, part, *a, g=groups(part), stray=False))
    span = (int(first["ts_recv"][0]), int(last["ts_recv"][-1]))
    rd.rows_clock = sum(x.rows_clock for x in subs)
    rd.rows_read += sum(x.rows_read for x in subs)
    clock = _ClockRows(g, lo, hi, rd.start_ns, rd.end_ns, params.max_clock_skew_ns)
    clock.indexed = indexed
    return rec, counts, n_w, span, clock


def _dtype():
    from liqcore.types import EVENT_DTYPE

    return EVENT_DTYPE


def replay_windows(path, params, strategy, *, symbols=None, start_ns: int | None = None, end_ns: int | None = None,
                   equity: float = 1.0, shared: dict | None = None, feed_note: bool = True):
    """The backtest of dataset ``path`` reading liquidations first, then trades only in the signals'
    windows (module docstring): a dict of :class:`liqcore.backtest.run.BacktestResult`'s fields plus
    ``detector_counts``, ``n_events`` (events read), ``kinds``, ``rows_read`` (rows of the row groups
    decoded, each counted once: :func:`replay_cells`), ``rows_total`` (rows of the partitions selected),
    ``rows_clock`` (rows whose two time columns were decoded for the detector's clock), ``clock_rows`` (the rows
    that moved it) and
    ``rows_skipped`` (rows of the row groups passed over as quiet).  :class:`NotStreamable` when the
    strategy or parameters need everything.  ``shared``: a dict the caller keeps across replays of the same
    selection (a sweep's cells): what detection reads and finds depends on no offset, take-profit or
    stop-loss, so it is made by the first replay and taken by the others (:func:`_shared`).  ``feed_note=False``: the
    feed-latency note over the rows read (``latency["feed_rows_read"]``) is not made (None): a sweep's cells
    print none, and its median and p99 over the rows of every step were a tenth of a cell's CPU."""
    return replay_cells(path, [params], [strategy], symbols=symbols, start_ns=start_ns, end_ns=end_ns, equity=equity,
                        shared=shared, feed_note=feed_note)[0]


def replay_cells(path, params_list: list, strategies: list, *, symbols=None, start_ns: int | None = None,
                 end_ns: int | None = None, equity: float = 1.0, shared: dict | None = None,
                 feed_note: bool = True) -> list:
    """:func:`replay_windows` of several parameter sets at once (a sweep's cells, which differ in
    :data:`~liqcore.backtest.cell_share.TOGETHER` alone): one window plan for all of them
    (:class:`~liqcore.backtest.stream._Cells`), its reads, steps and decisions made once; each step's rows reach
    every cell, and a span is passed over only where it is quiet for every live one, so each cell gets its lone
    replay's result (its full replay's: the plan's proof holds for any cell the rows reach), in a list in their
    order.  The windows are the widest any cell's
    (``window_ns``: longer hold-timeouts read further); the queue at depth replays each cell on its own plan.
    ``rows_read``: the selection's rows this replay decoded, each counted once (a row two reads decode, or decoded
    again after the kept groups let it go, is one row: :class:`~liqcore.dataset.decoded.count_once`), so never more
    than ``rows_total``; the rows taken from memory (decoded by an earlier cell or replay) are not counted."""
    from liqcore.dataset.decoded import count_once

    with count_once():
        return _replay_cells(path, params_list, strategies, symbols=symbols, start_ns=start_ns, end_ns=end_ns,
                             equity=equity, shared=shared, feed_note=feed_note)


def _replay_cells(path, params_list: list, strategies: list, *, symbols, start_ns, end_ns, equity, shared, feed_note):
    from liqcore.backtest.chunked import _Delays
    from liqcore.backtest.stream import _Cell, _Cells, _note, cheapest_trade, ended
    from liqcore.codes import KIND_NAMES
    from liqcore.execution.detect import confirmed_records
    from liqcore.execution.events import clean_prints
    from liqcore.execution.latency import order_latency_note
    from liqcore.dataset.read import BULK_KINDS, rows_total
    from liqcore.strategies.cascade_mm import records_to_signals
    from liqcore.types import CASCADE_DTYPE, Kind, SymbolRegistry

    params, strategy = params_list[0], strategies[0]
    for p_, s_ in zip(params_list, strategies):
        why = window_reason(p_, s_)
        if why:
            raise NotStreamable(why)
        if together_key(p_, s_) != together_key(params, strategy):
            raise ValueError("cells replayed together differ in more than " + ", ".join(TOGETHER))
    syms = tuple(symbols or ())
    lo, hi, sel = _span(path, syms, start_ns, end_ns, multi=PAIRS)
    multi = len({(p[0], p[1]) for p in sel}) > 1  # several pairs: a step reads the pairs in play (:mod:`.pairs`)
    # what the cells share, keyed by what it depends on (:mod:`liqcore.backtest.cell_share`)
    ks = None if shared is None else _selection_key(path, syms, start_ns, end_ns, params)
    kd = None if shared is None else ks + (_detector_key(params, strategy),)
    k0 = None if shared is None else (str(path), syms, start_ns, end_ns, _detection_key(params, strategy))
    reg = _shared(shared, ks, "registry", SymbolRegistry)  # (filled by the first replay's reads)
    rd = _Reader(path, syms, start_ns, end_ns, params, reg, sel)
    if multi:
        from liqcore.backtest import pairs

        rd.sids = _shared(shared, ks, "pairs", lambda: pairs.register(reg, sel))  # (the full replay's ids)
        rd.n_reg = len(rd.sids)
    rd.memo = _shared(shared, ks, "reads", dict) if shared is not None else None
    rare = [int(k) for k in Kind if int(k) > 0 and int(k) not in BULK_KINDS]
    # pass 1: every row but trades and quotes; the detector over them and the bulk rows that set its
    # clock at each liquidation (:func:`_exact_detection`: the full replay's records, or NotStreamable)
    det_ev, dropped = _shared(shared, ks, "pass 1", lambda: clean_prints(rd.read(lo, hi, kinds=rare)))
    dropped = dict(dropped)
    if params.fill == "queue" and _has_depth(rd, det_ev, rare, lo, hi):
        raise NotStreamable("the queue at depth: DEPTH rows inside the partitions (convert again: depth is kept "
                            "in its own files, with the checkpoints a window starts from)")
    depth_pair = None
    if params.fill == "queue":
        from liqcore.dataset.depth import has_depth

        v, s_ = sel[0][0], sel[0][1]
        if has_depth(path, sorted({p[1] for p in sel})):
            if multi:
                raise NotStreamable("the queue at depth over several pairs")
            depth_pair = (v, s_)
    n_total, n_groups = _shared(shared, ks, "rows", lambda: rows_total(path, list(syms) or None, start_ns, end_ns,
                                                                      groups=True))
    gap = int((hi - lo) / max(n_groups / (len(rd.sids) if multi else 1), 1))  # (a pair's own row groups' span)
    g = _shared(shared, ks, "groups", lambda: _bulk_groups(rd.path, sel))
    rd.g = g
    kept_groups: dict = {}

    def pair_groups(part):  # (several pairs: each pair's row groups, gathered once for its plan and its detection)
        k = (part[0][0], part[0][1])
        if k not in kept_groups:
            kept_groups[k] = _bulk_groups(rd.path, part)
        return kept_groups[k]

    cover = max(_shared(shared, None if shared is None else k0[:-1] + (_detection_key(p_, s_),), "cover",
                        lambda: (0.0 if len(g["where"]) <= MIN_GROUPS else plan_coverage(det_ev, p_, s_, g, gap)
                                 if not multi else pairs.coverage(det_ev, p_, s_, sel, rd.sids, pair_groups,
                                                                  lambda d, pp, ss, gg: plan_coverage(d, pp, ss, gg,
                                                                                                      gap))))
                for p_, s_ in zip(params_list, strategies))
    if cover > MOST:
        raise NotStreamable(f"the signals' windows meet row groups holding {100 * cover:.0f} % of the bulk rows: "
                            "the plain sequential read")
    rec_all, det_counts, n_witness, (t_first, t_last), clock = _shared(
        shared, kd, "detection", lambda: _exact_detection(rd, det_ev, params, sel, lo, hi, gap, g=g) if not multi
        else _pairs_detection(rd, det_ev, params, sel, lo, hi, gap, g, pair_groups))
    rec = confirmed_records(np.asarray(rec_all, dtype=CASCADE_DTYPE), ordered=True)
    if len(params_list) > 1 and depth_pair is not None:  # (the queue at depth: one plan each, its depth feed)
        return [replay_cells(path, [p_], [s_], symbols=symbols, start_ns=start_ns, end_ns=end_ns, equity=equity,
                             shared=shared, feed_note=feed_note)[0] for p_, s_ in zip(params_list, strategies)]
    spans = [type(s_).window_ns(p_) for p_, s_ in zip(params_list, strategies)]
    before, after = max(x[0] for x in spans), max(x[1] for x in spans)  # (the widest: every cell's rows read)
    n_sym = max(len(reg), 1, int(det_ev["symbol_id"].max()) + 1 if len(det_ev) else 1)
    sim_dtype = np.zeros(0, _dtype()).dtype
    from liqcore.backtest.chunked import _Source, _Span

    from liqcore.backtest.stream import needs_grid

    src = _Source(str(path), int(params.feed_latency_ns or 0), params.max_clock_skew_ns)
    cs = [_Cell(p_, _Span(src, (), None, None), reg, n_sym, equity, sim_dtype) for p_ in params_list]
    cell = cs[0] if len(cs) == 1 else _Cells(cs)
    if needs_grid(params):  # the full replay's price grid: from the span's first prints
        for sid, g_sid in _shared(shared, kd, ("grid", len(cs[0].par)),
                                  lambda: _first_prints_grid(rd, lo, hi, t_first, t_last, len(cs[0].par))).items():
            for c in cs:
                c.par["grid"][sid] = g_sid
    book = params.fill == "queue"  # the QUOTE rows are replayed in the windows (the book, the queue)
    fallback = False
    if book and not _has_quotes(rd, clock.g, lo, hi):  # no quote in the span: through, as the full replay
        if depth_pair is not None:  # (set under the queue rule only)
            raise NotStreamable("the queue at depth without quotes: the depth's best is the book in force at every row")
        from liqcore.execution.events import queue_fallback

        for c in cs:  # (each cell's parameters: the same fallback)
            fallback = queue_fallback(c.par, np.zeros(0, _dtype()))
        book = False
    clock.book = book
    feed = None
    depth_note = None  # the depth book unknown at the span's start (span_books)
    if depth_pair is not None:  # the queue at depth: each step's DEPTH rows, a window's book from a checkpoint
        from liqcore.backtest.depth_windows import DepthFeed, first_quotes, signals_in

        feed = DepthFeed(path, depth_pair[0], depth_pair[1], reg, first_quotes(rd, clock.g, lo, hi))
        if start_ns is not None:  # (the books themselves are put back at each window's start)
            from liqcore.backtest.depth_start import span_books

            depth_note = span_books(path, reg, int(start_ns))[1]
    # (under the queue rule without depth files the reads hold no DEPTH row: partitions with one were refused above)
    cell.depth_free = feed is None and params.fill == "queue"
    t_rec = rec["confirm_recv_ns"].astype(np.int64)
    starts, ends = t_rec - before, t_rec + after
    det_recv = det_ev["ts_recv"]
    min_trade = None
    delays = _Delays() if feed_note else None
    if delays is not None:
        delays.add(det_ev)
    kinds = {int(k) for k in np.unique(det_ev["kind"])}
    n_events = len(det_ev)
    o = so = 0
    i = 0
    cur_end = None  # every receive time before this was read by an earlier window
    book_at = t_first  # the simulator's book is the full replay's up to this receive time
    # quotes: the queue rule only
    bulk_and_rare = [int(k) for k in Kind if int(k) > 0 and (book or k != Kind.QUOTE)]
    no_quotes = [k for k in bulk_and_rare if k != int(Kind.QUOTE)]
    skew = params.max_clock_skew_ns
    fund_recv = det_recv[det_ev["kind"] == int(Kind.FUNDING)]  # a funding payment reads the last price
    n_skipped = 0
    steps = _shared(shared, ks, "steps", dict) if shared is not None else None  # (:func:`_step_rows`)
    # windows closer than ``near`` are read as one (the prints between them
    # reach a flat simulator, which only notes their price, as the full replay does)
    # a window is read a step at a time, on only while a position or order is live: a signal the
    # strategy refuses (loss limit, cooldown, busy) or an order that fills and exits soon costs one
    # step, not the whole plan (the trades are the same: between steps the simulator is flat)
    step = max(min(gap, after), 1_000_000_000)
    near = min(gap, NEAR)  # (a read's fixed cost is about that of a second's rows of a busy symbol)
    # a window's first step ends once its order has arrived (the order latency there and back, and a
    # second): from there a resting order away from the prints lets the quiet row groups be passed over
    # (:func:`quiet_until`) instead of decoding a whole step of trades (and quotes) after each signal
    lat = max(max(int(getattr(p_, "order_latency_ns", 0) or 0) for p_ in params_list), 0)
    first = min(step, 2 * lat + 1_000_000_000)
    from liqcore._jit import sim as _sim

    # the records' signals, as the simulator makes them (:func:`~liqcore.backtest.passage.refused` asks it of each)
    sigs = [_sim.records_signals(t_rec, np.zeros(len(rec), np.int64), rec["symbol_id"].astype(np.int64),
                                 rec["dominant"].astype(np.int64), rec["cascade_id"].astype(np.int64), c.par)
            for c in cs]

    rec_at = np.ascontiguousarray(rec["event_index"], np.int64)
    rec_sid = rec["symbol_id"].astype(np.int64)
    books: dict = {}  # several pairs: symbol id -> the receive time up to which its book is the full replay's
    rec_sorted = bool(np.all(rec_at[1:] >= rec_at[:-1]))  # (decision order: the confirming rows' order, as a rule)

    def in_rows(p0: int, p1: int) -> np.ndarray:
        """The records (a copy) whose event is one of the detection pass's rows ``[p0, p1)``: a slice where the
        records are in the rows' order, else a mask over them."""
        if rec_sorted:
            return rec[int(rec_at.searchsorted(p0, "left")):int(rec_at.searchsorted(p1, "left"))].copy()
        return rec[(rec_at >= p0) & (rec_at < p1)].copy()

    tail = None  # (start, end, rows) of every bulk kind received just before a skip's end (:func:`last_in_tail`)
    pend = None  # a span passed over whose last print the next step's read settles (:func:`settle_tail`)
    n_refused = 0  # signals refused whatever the prints (:func:`refused`): their windows not read
    run = [0]  # steps in a row whose first passage was within their first second (:func:`quiet_until`'s ``rows``;
    # not in a sweep: its cells' skips at the grain of blocks make the same reads, which the first decodes for all)
    while i < len(rec):
        a = int(starts[i])
        b = min(int(ends[i]), int(t_rec[i]) + first)
        if feed is None and (cur_end is None or a >= cur_end) and (i + 1 >= len(rec) or starts[i + 1] >= b + near) \
                and not cell.live() and not (cell.carry is not None and len(cell.carry[0])) \
                and refused(cell, sigs, i):
            # a flat simulator refuses this lone signal for a reason no print or quote changes (a cooldown, the
            # loss limits, ...): its window's trades and quotes would only set the last price and the book,
            # which the next window reads for itself; it is decided on the rare rows alone, as the full replay
            # decides it (the same state, the same time)
            p0, p1 = int(det_recv.searchsorted(a, "left")), int(det_recv.searchsorted(b, "left"))
            r = in_rows(p0, p1)
            r["event_index"] += o - p0
            n_ev, n_sim = _feed(cell, det_ev[p0:p1], o, so, r, book)
            if cell.carry is not None and len(cell.carry[0]):  # (no print after it: decided now)
                cell._run(det_ev[:0], so + n_sim, len(cell.carry[0]), _sim.NO_CLOCK)
            o += n_ev
            so += n_sim
            cur_end = b
            n_refused += 1
            i += 1
            continue
        j = i + 1
        run[0] = 0  # (a window's own steps)
        inv = {int(rec_sid[i])} if multi else None  # (several pairs: those in play, the step's reads)
        while True:
            while j < len(rec) and starts[j] < b + near:  # windows closer than ``near``: one read
                b = max(b, min(int(ends[j]), int(t_rec[j]) + first))
                if multi:
                    inv.add(int(rec_sid[j]))
                j += 1
            floor = t_first if cur_end is None else cur_end  # every row received before it was replayed
            if cur_end is not None and a < cur_end:
                a = cur_end
            # event time <= receive time + max-clock-skew (later ones are dropped as from the future)
            e_hi = hi if skew is None else min(hi, b + int(skew) + 1)
            # an open position whose take-profit no quote of the step can reach: its quotes only set the
            # book, which nothing reads before the next signal (:func:`_quotes_quiet`): not decoded
            q_now = book and (multi or not _quotes_quiet(clock, cell, a, b, t_rec))
            stale = [x for x in inv if books.setdefault(x, t_first) < a] if multi and q_now else ()
            if multi:  # the book in force at the window's start: each pair's from the last time its rows were replayed
                a_pre = max(min(books[x] for x in stale), a - _PRE) if stale else a
            else:  # (one pair: from the last row replayed)
                a_pre = max(floor, a - _PRE) if q_now else a
            if pend is not None and pend[1] == a:  # (and the last second of the span passed over: its last print,
                a_pre = min(a_pre, max(pend[0], a - _PRE))  # its book)
            raw = rd.read(lo, e_hi, kinds=bulk_and_rare if q_now else no_quotes, recv=(a_pre, b),
                          **({"sids": inv} if multi else {}))
            k_a = int(raw["ts_recv"].searchsorted(a, "left")) if a_pre < a else 0
            if pend is not None:  # (the rows before ``a``, none replayed, are the span's last: its last print)
                settle_tail(cell, rd, clock, pend, raw[:k_a] if pend[1] == a else raw[:0], lo, hi)
                pend = None
            if stale:
                pairs.books_before(cell, rd, raw[:k_a], lo, hi, books, a_pre, a, stale)
            elif q_now and not multi and (a_pre < a or book_at < a):  # (back to ``book_at``: every quote before it)
                pre, back = raw[:k_a], a_pre
                if tail is not None and tail[1] == a_pre and tail[0] >= book_at:  # (the rows before the skip's end)
                    pre, back = np.concatenate([tail[2], pre]), tail[0]
                book_before(cell, rd, pre, lo, hi, book_at, back)
            raw = raw[k_a:]
            tail = None
            if feed is not None:  # the DEPTH rows received with the step's events (after them at one time)
                raw, n_d = feed.merge(cell, raw, a, b, q_now, signals=signals_in(det_recv, rec, a, b))
                n_events += n_d
            cur_end = b
            book_at = b if q_now else book_at
            if multi and q_now:
                books.update(dict.fromkeys(inv, b))
            # what a step finds in its rows (a function of the read's arguments and the files): a sweep's cells
            # that make the same step take it from the first (:func:`_step_rows`)
            sk = None if steps is None or feed is not None else (lo, e_hi, q_now, a_pre, a, b, len(raw)) + (
                (tuple(sorted(inv)),) if multi else ())
            kept = steps.get(sk) if sk is not None else None
            p0, p1 = int(det_recv.searchsorted(a, "left")), int(det_recv.searchsorted(b, "left"))
            d_ev, place = pairs.rare_in(det_ev, p0, p1, inv) if multi else (det_ev, None)  # (the pairs read)
            w, d, rare_pos, n_tr, cheap, n_q = (raw, {}) + kept if kept is not None else \
                _step_rows(raw, d_ev, d_ev["ts_recv"] if multi else det_recv, a, b, steps, sk)
            for k, v in d.items():
                dropped[k] = dropped.get(k, 0) + v
            r = in_rows(p0, p1)
            at = r["event_index"] - p0
            if multi:
                at = place[at]
                if np.any(at < 0):
                    raise NotStreamable("a signal of a pair the step did not read")
            r["event_index"] = rare_pos[at] + o
            n_ev, n_sim = _feed(cell, w, o, so, r, book)
            if n_tr:
                min_trade = cheapest_trade(cheap, min_trade, 0)  # (``cheap``: the step's cheapest print, one row)
                kinds.add(int(Kind.TRADE))
            if delays is not None:  # (the prints: a bad one was neutralised by clean_prints)
                delays.add_trades(w)
            n_events += n_tr
            if book:
                n_events += n_q
                if n_q:
                    kinds.add(int(Kind.QUOTE))
            o += n_ev
            so += n_sim
            carry = cell.carry is not None and len(cell.carry[0]) > 0
            live = cell.live() or carry
            if not live or b >= hi:
                break
            # a position or order still live: read on, past the row groups in which every print is a
            # quiet one for it (:func:`quiet_until`)
            to, loud_end = (b, None) if carry or multi else quiet_until(
                cell, clock, b, min(hi, int(t_rec[j]) if j < len(rec) else hi), fund_recv, rd, (lo, hi),
                defer=feed is None and passage.DEFER_TAIL, rows=run if shared is None else None)
            pend, clock.pending = clock.pending, None
            # the next step: to the end of the first block where a level may be reached (a second at least),
            # not a row group's span (the rows after it: the next step's, quiet again or not)
            # (a level reached by no block ahead, a deadline already past: the plain step, a sparse recording's
            # position may wait days for its next print)
            nxt = step if loud_end is None or loud_end < to else min(step, max(loud_end + 1 - to, 1_000_000_000))
            if to > b:  # (the skipped quotes: read back by the next step that decodes quotes, from book_at)
                n_skipped += clock.skipped
                tail = clock.tail  # (the last second before ``to``, read for its last print: its quotes too)
                if feed is not None:  # the depth rows received there still move the queue (no print reaches it)
                    o, so, n_d = feed.skip(cell, b, to, o, so, rec[:0], book)
                    n_events += n_d
                a, b = to, min(to + nxt, hi)
                cur_end = to  # the skipped rows set the simulator's last price and book (:func:`quiet_until`)
            else:
                a, b = b, min(b + nxt, hi)
            if multi:  # (in play: the pairs live or carried, and those of the signals the next steps decide)
                inv = pairs.live(cell) | {int(x) for x, t in zip(rec_sid[i:j], t_rec[i:j]) if int(t) >= a}
        i = j
    rd.check_unchanged()  # (the reads passed over files by their footers as they were)
    kinds |= {int(Kind.DEPTH)} if feed is not None and feed.rows_read else set()
    for k, flag in ((int(Kind.TRADE), "has_trades"), (int(Kind.QUOTE), "has_quotes")):
        if k not in kinds and _has_kind(rd, clock.g, lo, hi, k, flag):  # what the data holds, not what was read
            kinds.add(k)
    cell.start_ns, cell.last_ns = t_first, t_last
    if cell.base is None:
        cell.base = 0
    liqs = [det_ev[det_ev["kind"] == int(Kind.LIQUIDATION)].copy()]
    note = _note(min_trade, liqs)
    if (min_trade is None and int(Kind.TRADE) in kinds) or (
            min_trade is not None and float(min_trade["price"][0] * min_trade["qty"][0]) >= 5_000.0):
        note = _note(_cheapest_trade(rd, lo, hi), liqs)  # the windows' cheapest is no bound: all trades
    sig_of: dict = {}  # (the records' signals, per trail)

    def row(ledger, counts, st, port, eq, s_ns, e_ns, _daily):
        return dict(ledger=ledger, counts=counts, st=st, port=port, start_ns=s_ns, end_ns=e_ns)

    ends = cell.finish(False, row)
    out = []
    for got, p_, s_ in zip(ends if len(cs) > 1 else [ends], params_list, strategies):
        trail = float(getattr(p_, "trail", 0.0) or 0.0)
        if trail not in sig_of:
            sig_of[trail] = records_to_signals(rec, trail=trail)
        res = ended(got, p_, reg, equity, rec, cell, s_, sig_of[trail], note=note, dropped=dict(dropped),
                    fill_fallback=fallback, depth_note=depth_note,
                    latency={"order": order_latency_note(p_, None),
                             "feed_rows_read": None if delays is None else
                             delays.note(int(p_.feed_latency_ns or 0)) + " (over the rows read)"})
        res.update(detector_counts=det_counts, n_events=n_events,
                   kinds={KIND_NAMES[k] for k in kinds if k in KIND_NAMES}, rows_read=rd.rows_read, rows_total=n_total,
                   rows_clock=rd.rows_clock, clock_rows=n_witness, rows_skipped=n_skipped, clock_indexed=clock.indexed,
                   windows_unread=n_refused, depth_read=None if feed is None else feed.summary())
        out.append(res)
    return out


def _feed(cell, rows: np.ndarray, o: int, so: int, rec: np.ndarray, book: bool) -> tuple:
    """Hand a step's rows (events ``o``.., prints ``so``..) and its records to ``cell``: every row the simulator's
    under the queue rule (:meth:`~liqcore.backtest.stream._Cell.feed_rows`), else the prints and funding of a
    :class:`~liqcore.backtest.stream._Chunk`; ``(events, simulator rows)`` handed."""
    from liqcore.backtest.stream import _Chunk

    if book:
        cell.feed_rows(rows, o, so, rec)
        return len(rows), len(rows)
    ch = _Chunk(rows, o, so, book=False, cleaned=True)
    cell.feed(ch, rec, ch.sim_index(rec["event_index"]))
    return len(ch.events), len(ch.sim)


def plan_coverage(det_ev: np.ndarray, params, strategy, g: dict, gap: int) -> float:
    """The share of the bulk rows (trades and quotes) in the row groups the window plan would decode at
    least in part, estimated before any of them is: the detector over the rare rows ``det_ev`` alone
    (no bulk row sets its clock: about the full replay's records), each confirmed record's first step
    (:func:`replay_windows`: from ``before`` and the book's second ahead to the order's arrival and a
    second), the groups ``g`` (:func:`_bulk_groups`) whose receive times meet one.  Only which read
    runs depends on it: either read gives the full replay's result."""
    from liqcore._libs.detection import CascadeDetector
    from liqcore.execution.detect import confirmed_records
    from liqcore.types import CASCADE_DTYPE

    n = g["rows"]
    if not len(det_ev) or not len(n) or not int(n.sum()):
        return 0.0
    rec, _c = CascadeDetector.from_params(params).run(det_ev, flush=True)
    t = np.sort(confirmed_records(np.asarray(rec, dtype=CASCADE_DTYPE))["confirm_recv_ns"].astype(np.int64))
    if not len(t):
        return 0.0
    before, after = type(strategy).window_ns(params)
    lat = max(int(getattr(params, "order_latency_ns", 0) or 0), 0)
    first = min(max(min(gap, after), 1_000_000_000), 2 * lat + 1_000_000_000)
    a, b = t - before - _PRE, t + first  # (sorted: windows of one length)
    # merged spans; a group [tr_min, tr_max] meets one when the first span ending after tr_min starts by tr_max
    brk = np.flatnonzero(a[1:] > np.maximum.accumulate(b)[:-1]) + 1
    starts = a[np.concatenate([[0], brk])]
    ends = np.maximum.accumulate(b)[np.concatenate([brk - 1, [len(b) - 1]])]
    k = np.searchsorted(ends, g["tr_min"], "right")
    meet = (k < len(starts)) & (starts[np.minimum(k, len(starts) - 1)] <= g["tr_max"])
    return float(n[meet].sum() / n.sum())


#: what a sweep's cells keep of their steps' findings for one another (:func:`_step_rows`), at most, in bytes (each
#: finding counted as its arrays and :data:`STEP_ENTRY_BYTES`): the cells of a large grid make ever new steps
STEP_MEMO_BYTES = 64 << 20
#: a kept finding's key, tuple and dict slot, about
STEP_ENTRY_BYTES = 400
#: a window step's rows scanned by one compiled pass (:func:`liqcore._libs.reading.step_scan`; off: numpy's passes)
STEP_SCAN = True


def _step_rows(raw: np.ndarray, det_ev: np.ndarray, det_recv: np.ndarray, a: int, b: int, steps, key):
    """What a window step of :func:`replay_windows` finds in its rows ``raw`` (received in [a, b)): the rows with
    their bad prints neutralised and the counts of them, the positions of the rare rows (checked against the
    detection pass's ``det_ev``: :class:`NotStreamable` when they differ), the trade prints' count and the cheapest
    one (a one-row array, None without a print), and the quotes' count.  A function of the rows alone, which are a
    function of the read's arguments (``key``): kept in ``steps`` for a sweep's next cells, which would find the
    same in the same rows (a cell's own state is not read here); the rows themselves are not kept (they are the
    read's, in its memo or not), so a step whose rows hold a bad print (cleaned in a copy) is not kept."""
    from liqcore._libs.reading import same_rare, step_scan
    from liqcore.backtest.stream import cheapest_trade
    from liqcore.execution.events import clean_prints
    from liqcore.types import Kind

    if STEP_SCAN and raw.dtype == _dtype() and raw.ndim == 1 and raw.flags.c_contiguous:
        bad_t, bad_f, rare_pos, n_tr, n_q, k = step_scan(raw)  # (one compiled pass: the numpy passes below)
        w, d = (raw, {}) if not (bad_t or bad_f) else clean_prints(raw)
        if d:  # (a bad print, neutralised in a copy: the prints and the cheapest one are the clean rows')
            n_tr = int(np.count_nonzero(w["kind"] == int(Kind.TRADE)))
            k = None
    else:
        kd = raw["kind"]
        is_tr, is_q = kd == int(Kind.TRADE), kd == int(Kind.QUOTE)
        rare_pos = np.flatnonzero(~(is_tr | is_q | (kd == int(Kind.DEPTH))))
        w, d = clean_prints(raw)
        prints = (w["kind"] == int(Kind.TRADE)) if d else is_tr
        n_tr, n_q, k = int(np.count_nonzero(prints)), int(np.count_nonzero(is_q)), None
    # the pass-1 rows of this window, as the detector saw them (their indices) and here
    p0, p1 = int(det_recv.searchsorted(a, "left")), int(det_recv.searchsorted(b, "left"))
    if not same_rare(np.ascontiguousarray(w), rare_pos, np.ascontiguousarray(det_ev), p0, p1):  # (NaN = NaN)
        raise NotStreamable("the window's liquidations differ from the detection pass's")
    cheap = cheapest_trade(w, None, k) if n_tr else None
    found = (rare_pos, n_tr, cheap, n_q)  # (clean_prints leaves quotes as they are)
    if steps is not None and key is not None and not d:
        used = steps.get("bytes", 0) + STEP_ENTRY_BYTES + rare_pos.nbytes + (0 if cheap is None else cheap.nbytes)
        if used <= STEP_MEMO_BYTES:  # (past it, a step is scanned again: memory bounded)
            steps[key], steps["bytes"] = found, used
    return (w, d) + found


def _cheapest_trade(rd: _Reader, lo: int, hi: int):
    """The cheapest trade print of the span (a read of every trade: only when the windows' cheapest
    would put a filtered-feed note in the summary)."""
    from liqcore.execution.events import clean_prints
    from liqcore.types import Kind

    best = None
    a = lo
    while a < hi:
        ev, _d = clean_prints(rd.read(a, min(a + NS_PER_DAY, hi), kinds=[int(Kind.TRADE)]))
        tr = ev[ev["kind"] == int(Kind.TRADE)]
        if len(tr):
            k = int(np.argmin(tr["price"] * tr["qty"]))
            if best is None or float(tr["price"][k] * tr["qty"][k]) < float(best["price"][0] * best["qty"][0]):
                best = tr[k:k + 1].copy()
        a += NS_PER_DAY
    return best


# ---- the detection pass, exact -------------------------------------------------------------------
