"""The bulk row groups of a dataset selection (trades and quotes), as the window-local read
(:mod:`liqcore.backtest.windows`) uses them: their min/max statistics from the Parquet footers of
files whose checked marks verify (:func:`_bulk_groups`), and two or a few of their columns decoded
directly, each group verified against its mark first (:class:`_ClockRows`: the detector's clock, the
last print and the last best bid and ask of a span passed over).

Why one module: every access to the row-group layout is here, so a change of the on-disk layout is a change of
this module."""
from __future__ import annotations

import bisect
import os

import numpy as np

from liqcore.backtest.stream import NotStreamable

#: the detector's clock: row groups decoded ahead in one call (two time columns: 16 MB at 32 x 16,384 rows)
_PREFETCH = 32
#: read the files' first-passage indexes (off: every group's Parquet statistics and no blocks, as before them)
FIRST_PASSAGE = True
#: a window's reads of trades and quotes found from the blocks (:func:`span_events`; off: through the files' read)
SPAN_READS = True


def _last_row(te: np.ndarray, tr: np.ndarray, *vals):
    """The last row in the full replay's order (receive time, then event time), as ``(te, tr, *vals)``;
    ``()`` for no row, None when two rows tie in both times with different values (their order is the
    load's)."""
    if not len(te):
        return ()
    k = np.lexsort((te, tr))[-1]
    tie = (tr == tr[k]) & (te == te[k])
    if np.count_nonzero(tie) > 1 and any(np.unique(v[tie]).size > 1 for v in vals):
        return None
    return (int(te[k]), int(tr[k])) + tuple(float(v[k]) for v in vals)


def _bulk_groups(path, sel) -> dict:
    """Min/max statistics of the selection's bulk row groups (trades and quotes), from the Parquet
    footers of files with a verified checked mark (:mod:`liqcore.dataset.checked`: the footer is the one
    marked, and each row group is verified before it is decoded, :meth:`_ClockRows.open`): the
    statistics are those of the rows that were checked, and a load keeps every row of such a file.
    Each file's layout in sections (every group holds bulk kinds only or none: the detection read
    passes over the bulk groups) is proven from its verified bytes (:func:`_group_kinds`), not taken
    from the dataset's format file."""
    from liqcore.io import storage
    from liqcore.dataset.checked import footer, read_marks
    from liqcore.dataset.read import parquet_files, read_format

    if storage.is_url(path):
        raise NotStreamable("a dataset on object storage is read the checking way (no verified marks)")
    fmt = read_format(path) or {}
    if not fmt.get("sections"):
        raise NotStreamable("the dataset keeps trades and liquidations in shared row groups (written before "
                            "sections: convert it again)")
    marks = read_marks(path)
    # the whole answer, kept per process for the same files (each its footer's stat key and its mark's footer
    # digest): a warm process's runs over one selection do not gather a month's groups and blocks again
    key = ["groups", FIRST_PASSAGE]
    for v, s, d in sorted({(v, s, d) for v, s, d in sel}):
        name = f"venue={v}/symbol={s}/date={d}"
        for f in parquet_files(os.path.join(str(path), name)):
            mark = marks.get(f"{name}/{os.path.basename(f)}")
            key.append((f, footer(f).key, str(mark.get("footer")) if isinstance(mark, dict) else None))
    key = tuple(key)
    hit = _WHOLE.get(key)
    if hit is not None:
        return dict(hit)
    out = _gather_groups(path, sel, marks)
    _WHOLE.clear()  # (the last selection's: a month's arrays, a few MB)
    _WHOLE[key] = out
    return dict(out)


#: :func:`_bulk_groups`' last answer, under its files' keys
_WHOLE: dict = {}
#: the fields of the selection's first-passage blocks (``g["blocks"]``) the read plan uses, of the files' blocks
#: (:data:`liqcore.dataset.fpindex.BLOCK_DTYPE`; ``group``: the block's group's place in ``g["where"]``)
_SELECTION_BLOCK = np.dtype([(name, np.int64) for name in ("group", "row0", "n", "kind", "te_min", "te_max", "tr_min",
                                                           "tr_max")] + [("p_min", np.float64), ("p_max", np.float64)])


def _gather_groups(path, sel, marks) -> dict:
    """:func:`_bulk_groups`, made."""
    from liqcore.dataset import clock as clock_index
    from liqcore.dataset.checked import footer, metadata, stat_key, verify_groups
    from liqcore.dataset.read import BULK_KINDS, parquet_files

    cols = {c: [] for c in ("te_min", "te_max", "tr_min", "tr_max", "p_min", "p_max", "q_max", "has_trades",
                            "has_quotes")}
    where = _Where()
    files = []  # (the file's first entry in ``where``, its clock index)
    blk = []  # the files' first-passage blocks, each with its first group's place in ``where``
    need = ("ts_event_ns", "ts_recv_ns", "kind", "price", "qty")
    for v, s, d in sorted({(v, s, d) for v, s, d in sel}):
        name = f"venue={v}/symbol={s}/date={d}"
        for f in parquet_files(os.path.join(str(path), name)):
            ft = footer(f)
            mark = marks.get(f"{name}/{os.path.basename(f)}")
            if not (ft.checked and isinstance(mark, dict) and verify_groups(f, ft, mark, [])):
                if int(ft.rows.sum()):
                    raise NotStreamable(f"{f} has no verified checked mark (its rows are judged on reading)")
                continue
            box: list = []

            def meta(f=f, ft=ft, box=box):  # the verified footer's metadata, read once and only if needed
                if not box:
                    try:  # (parsed once per process for this stat key: the verified footer's)
                        box.append(metadata(f, ft.key))
                    except ValueError:
                        raise NotStreamable(f"{f} changed while it was read") from None
                    if stat_key(f) != ft.key:  # the statistics read are the verified footer's
                        raise NotStreamable(f"{f} changed while it was read")
                return box[0]

            # the file's clock index, from the verified footer (None: none written; its rows are decoded)
            kv = ft.kv or {}  # (the verified footer's key-value metadata)
            files.append((len(where), _kept(("clock", f, ft.key), lambda: clock_index.decode(kv[clock_index.KEY])
                                            if clock_index.KEY in kv else None)))
            fast = _kept(("fp", f, ft.key), lambda: _from_index(f, ft)) if FIRST_PASSAGE else None
            if fast is not None:  # the file's first-passage index: every bulk group's ranges at once
                grp = fast[0]
                blk.append((fast[1], fast[2] + len(where)))  # (its groups' places in ``where``: from here on)
                for c in cols:
                    cols[c].append(grp[c])
                where.add(f, ft, mark, grp["rid"], grp["n"])
                continue
            md = meta()
            names = [md.schema.column(j).path for j in range(md.num_columns)]
            slow = {c: [] for c in cols}  # (this file's groups from their Parquet statistics)
            slow_at = []  # (their places and rows)
            for rid in range(md.num_row_groups):
                rg = md.row_group(rid)
                st = {}
                for c in need:
                    x = rg.column(names.index(c)).statistics if c in names else None
                    if x is None or not x.has_min_max:
                        break
                    st[c] = (x.min, x.max)
                if len(st) < len(need):
                    if rg.num_rows:
                        raise NotStreamable("a row group without min/max statistics")
                    continue
                kinds = _group_kinds(f, ft, mark, rid, int(st["kind"][0]), int(st["kind"][1]))
                if not kinds <= set(BULK_KINDS):
                    continue  # a group of the rare section: its rows are read whole
                if st["ts_recv_ns"][0] < 946_684_800_000_000_000:  # rows without a receive time
                    raise NotStreamable("bulk rows without a recorded receive time")
                slow["te_min"].append(st["ts_event_ns"][0])
                slow["te_max"].append(st["ts_event_ns"][1])
                slow["tr_min"].append(st["ts_recv_ns"][0])
                slow["tr_max"].append(st["ts_recv_ns"][1])
                p_lo, p_hi, q_hi = st["price"][0], st["price"][1], st["qty"][1]
                for c in ("ask_price", "ask_qty"):  # format 3: a quote row carries its ask too
                    x = rg.column(names.index(c)).statistics if c in names else None
                    if x is not None and x.has_min_max:
                        if c == "ask_price":
                            p_lo, p_hi = min(p_lo, x.min), max(p_hi, x.max)
                        else:
                            q_hi = max(q_hi, x.max)
                slow["p_min"].append(p_lo)
                slow["p_max"].append(p_hi)
                slow["q_max"].append(q_hi)
                slow["has_trades"].append(2 in kinds)
                slow["has_quotes"].append(7 in kinds)
                slow_at.append((rid, rg.num_rows))
            where.add(f, ft, mark, [r for r, _n in slow_at], [n for _r, n in slow_at])
            for c in cols:
                cols[c].append(slow[c])

    def cat(k, dtype):  # (each file's part in its own type: receive times are not rounded through floats)
        return np.concatenate([np.asarray(x, dtype) for x in cols[k]]) if cols[k] else np.zeros(0, dtype)

    out = {k: cat(k, np.int64) for k in cols if k.startswith("t")}
    out.update({k: cat(k, np.float64) for k in ("p_min", "p_max", "q_max")})
    out["has_trades"] = cat("has_trades", bool)
    out["has_quotes"] = cat("has_quotes", bool)
    # the blocks of the first-passage indexes (``group``: the group's place in ``where``); None when a file of
    # the selection has none (the quiet spans are then proven at the grain of row groups alone)
    b = None
    if blk and len(blk) == len(files):  # (one copy of a month's blocks, each group's place in ``where``), in
        # receive-time order of their first rows: each file's blocks put in place, not concatenated then reordered
        # (a copy of tens of MB less, a tenth of a warm run's first look at a month); the same stable order
        order = np.argsort(np.concatenate([x["tr_min"] for x, _ in blk]), kind="stable")
        at = np.empty(len(order), np.int64)
        at[order] = np.arange(len(order))
        b = np.empty(len(order), _SELECTION_BLOCK)  # (the fields the plan reads: two fifths of the bytes less)
        o = 0
        for x, k in blk:
            p = at[o:o + len(x)]
            if len(p) and int(p[-1]) - int(p[0]) == len(p) - 1 and bool(np.all(p[1:] > p[:-1])):
                p = slice(int(p[0]), int(p[0]) + len(p))  # (the file's blocks one run in place, as day files' are:
            for name in _SELECTION_BLOCK.names[1:]:  # a copy of each field, not a gather)
                b[name][p] = x[name]
            b["group"][p] = k
            o += len(x)
    if b is not None:  # with the widest block's span: a span's blocks found by two binary searches (:func:`blocks_in`)
        out["blocks_span"] = int((b["tr_max"] - b["tr_min"]).max(initial=0))
        out["group_blocks"] = np.bincount(b["group"], minlength=len(where))  # (each group's blocks: span_events)
    out["blocks"] = b
    # the groups in receive-time order of their first rows, with the widest group's span (:func:`groups_in`)
    out["g_order"] = np.argsort(out["tr_min"], kind="stable")
    out["g_tr_sorted"] = out["tr_min"][out["g_order"]]
    out["g_span"] = int((out["tr_max"] - out["tr_min"]).max(initial=0))
    out["where"] = where
    out["rows"] = where.rows()  # (each group's rows, as an array)
    out["files"] = _file_spans(files, len(where))
    return out


class _Where:
    """The selection's bulk row groups in order, ``where[i]`` -> ``(file path, group, rows, its footer, its mark)``,
    kept as each file's arrays of groups and rows (a month's sixteen thousand tuples made on a warm process's first
    look were a fifth of its gathering) and made one at a time when asked."""

    __slots__ = ("_starts", "_parts", "_n")

    def __init__(self):
        self._starts, self._parts, self._n = [], [], 0

    def add(self, f, ft, mark, rids, ns) -> None:
        """A file's groups ``rids`` (rows ``ns`` each), after those added before."""
        rids, ns = np.asarray(rids, np.int64), np.asarray(ns, np.int64)
        if len(rids):
            self._starts.append(self._n)
            self._parts.append((f, ft, mark, rids, ns))
            self._n += len(rids)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        i = int(i)
        if not 0 <= i < self._n:
            raise IndexError(i)
        k = bisect.bisect_right(self._starts, i) - 1
        f, ft, mark, rids, ns = self._parts[k]
        j = i - self._starts[k]
        return f, int(rids[j]), int(ns[j]), ft, mark

    def rows(self) -> np.ndarray:
        """Each group's rows (int64), in order."""
        return np.concatenate([p[4] for p in self._parts]) if self._parts else np.zeros(0, np.int64)


_KEPT: dict = {}  # (what, file path, its footer's stat key) -> what was read of that footer


def _kept(key, make):
    """``make()``, kept per process under ``key`` (which holds the file's footer key: a file changed since is
    another key): a warm process's runs do not parse a footer again for the indexes it carries."""
    if key not in _KEPT:
        if len(_KEPT) > 192:  # (a few hundred files' indexes: a few hundred MB at most)
            _KEPT.clear()
        _KEPT[key] = make()
    return _KEPT[key]


def on_grid(x, grid: float):
    """Prices ``x`` on the price grid as the simulator compares them (``floor(x * grid + 0.5)``; the prices themselves
    with no grid)."""
    return np.floor(x * grid + 0.5) if grid > 0.0 else x


def rows_within(g: dict, ids, b: int, to: int) -> int:
    """The rows of the bulk groups ``ids`` of ``g`` (:func:`_bulk_groups`) received wholly inside ``[b, to)``."""
    ids = np.asarray(ids, np.int64)
    return int(g["rows"][ids[(g["tr_min"][ids] >= b) & (g["tr_max"][ids] < to)]].sum())


def groups_in(g: dict, a: int, b: int) -> np.ndarray:
    """Indices (ascending) of the bulk groups of ``g`` (:func:`_bulk_groups`) whose receive-time ranges meet
    [a, b): ``tr_max >= a`` and ``tr_min < b``, found by two binary searches instead of a pass over a month's
    groups."""
    order, tr = g["g_order"], g["g_tr_sorted"]
    i0 = int(tr.searchsorted(a - g["g_span"], "left"))
    i1 = int(tr.searchsorted(b, "left"))
    got = order[i0:i1]
    return np.sort(got[g["tr_max"][got] >= a])


def first_block(g: dict, a: int) -> int:
    """The place in ``g["blocks"]`` (sorted by first receive time) of the first block that can hold a row received
    at ``a`` or later: none before it ends at or after ``a`` (no block spans more than ``g["blocks_span"]``)."""
    return int(g["blocks"]["tr_min"].searchsorted(a - g["blocks_span"], "left"))


def blocks_in(g: dict, a: int, b: int):
    """The first-passage blocks of ``g`` (:func:`_bulk_groups`) that can hold rows received in [a, b) (their
    receive-time ranges meet it), or None when the selection's files are not all indexed."""
    blk = g.get("blocks")
    if blk is None:
        return None
    i0 = first_block(g, a)
    got = blk[i0:int(blk["tr_min"].searchsorted(b, "left"))]
    m = got["tr_max"] >= a
    k = np.flatnonzero(m)
    if len(k) and int(k[-1]) + 1 - int(k[0]) == len(k):  # (one run of them, as blocks in receive order are: a view)
        return got[int(k[0]):int(k[-1]) + 1]
    return got[m]


def span_events(g: dict, path: str, mark, a: int, b: int, kinds, recv: tuple, skew, venue: int, bulk):
    """The events a read of ``kinds`` with event times in [a, b) received in ``recv`` (``(lo, hi, feed latency)``)
    finds in the file at ``path`` (of the selection ``g``, :func:`_bulk_groups`; its checked ``mark``), as
    :func:`~liqcore.dataset.checked.read_checked` lays them out for a read of that file alone (symbol id 0;
    ``skew``: its clock guard; ``bulk``: the kinds of the bulk section), with the bulk groups and their rows found
    from the first-passage blocks: the blocks whose ranges meet the read, the rows of each group from its first such
    block to the end of its last (the whole group where every block of it is one: the spans
    :func:`~liqcore.dataset.blocks.row_spans` gives), and the groups of the rare kinds the footer's statistics
    select; decoded as the reads decode them (:func:`~liqcore.dataset.checked.decoded_spans`, each group verified
    first), each group's rows kept by the read's own tests (:func:`~liqcore.dataset.checked.selected_rows`, its
    counts not made: a bulk group by its receive and event times alone), laid out by one compiled pass (:func:`~liqcore.dataset.file_events.file_events`) -> ``(events, rows decoded now)``.
    The bulk groups no block meets are not looked at.  None where the blocks cannot say alone (the files not all
    indexed, a group not the bytes of its mark, the file not the one the blocks were taken of, a quote row without
    its ask): the caller reads the file."""
    from liqcore.dataset.blocks import first_rows
    from liqcore.dataset.checked import Unverified, decoded_spans, footer, selected_rows
    from liqcore.dataset.file_events import file_events
    from liqcore.types import EVENT_DTYPE
    from liqcore.venues.common import RECV_UNKNOWN

    lo, hi = int(recv[0]), int(recv[1])
    blk = blocks_in(g, lo, hi)
    if blk is None or "group_blocks" not in g or not isinstance(mark, dict):
        return None
    kk = sorted({int(k) for k in kinds})
    where, per_group = g["where"], g["group_blocks"]
    spans: dict = {}  # row group -> [first row, end row, blocks met, its place in ``where``] of the blocks met
    ft = None
    for wi, kind, row0, n, te0, te1 in zip(*(blk[c].tolist() for c in ("group", "kind", "row0", "n", "te_min",
                                                                       "te_max"))):
        if te1 < a or te0 >= b or kind not in kk:  # (a few blocks: scalar tests, not array passes)
            continue
        w = where[wi]
        if w[0] != path:
            return None  # (another file's blocks: the read of several files lays them out)
        ft = w[3]
        x = spans.get(w[1])
        if x is None:
            spans[w[1]] = [row0, row0 + n, 1, wi]
        else:
            x[0], x[1], x[2] = min(x[0], row0), max(x[1], row0 + n), x[2] + 1
    if ft is None:  # (else the footer the blocks were taken of: a decode checks the file is still that one, and
        ft = footer(path)  # the reader proves at its end that no file changed, :meth:`_Reader.check_unchanged`)
    if spans:
        first = first_rows(path, ft)
        spans = {r: None if x[2] == per_group[x[3]] else (x[0] - first[r], x[1] - first[r]) for r, x in spans.items()}
    if any(k not in bulk for k in kk):  # (the other groups: the files' read's tests of their statistics, scalars)
        fl = int(recv[2])
        for r, n, ev0, ev1, rv0, rv1, k0, k1 in _rare_groups(path, ft, bulk):
            if not ((rv1 >= lo and rv0 < hi) or (rv0 <= RECV_UNKNOWN <= rv1 and ev1 >= lo - fl and ev0 < hi - fl)) \
                    or n <= 0 or ev1 < a or ev0 >= b:
                continue
            if any(k0 <= k <= k1 for k in kk if k0 not in bulk or k in bulk):
                spans.setdefault(r, None)
    if not spans:
        return np.zeros(0, EVENT_DTYPE), 0
    rids = np.array(sorted(spans), np.int64)
    try:
        parts, decoded = decoded_spans(path, ft, mark, rids, [spans[r] for r in rids.tolist()])
    except Unverified:
        return None
    kept, kept_at = [], []
    for rid, part in zip(rids.tolist(), parts):
        c = selected_rows(ft, rid, part, a, b, kinds, recv, skew, counts=False)[0]
        if c is None:
            continue
        if "ask_price" in c and np.isnan(c["ask_price"]).any():
            return None  # (a row without its ask: the files' read expands it)
        kept.append(c)
        kept_at.append(rid)
    if not kept:
        return np.zeros(0, EVENT_DTYPE), decoded
    ev = file_events(kept, ft.kd[kept_at], 0, venue)
    return None if ev is None else (ev, decoded)


def _rare_groups(path: str, ft, bulk) -> list:
    """The row groups of the file at ``path`` (footer ``ft``) that can hold rows of kinds outside ``bulk`` (their
    kind statistics not one bulk kind alone), each ``(group, rows, event and receive time ranges, kind range)``,
    kept per file."""
    def make():
        rs = np.flatnonzero(~((ft.kd[:, 0] == ft.kd[:, 1]) & np.isin(ft.kd[:, 0], list(bulk))))
        return list(zip(rs.tolist(), ft.rows[rs].tolist(), ft.ev[rs, 0].tolist(), ft.ev[rs, 1].tolist(),
                        ft.rv[rs, 0].tolist(), ft.rv[rs, 1].tolist(), ft.kd[rs, 0].tolist(), ft.kd[rs, 1].tolist()))
    return _kept(("rare", path, ft.key, tuple(bulk)), make)


def _from_index(path, ft):
    """A verified file's bulk row groups from its first-passage index (:mod:`liqcore.dataset.fpindex`), the
    statistics :func:`_bulk_groups` takes of each (the blocks' ranges merged per group: the groups' own, the index
    proven against the footer's time ranges), and its blocks -> ``(groups, blocks, each block's place among the
    groups)`` (the blocks the file's own, not copied: :func:`_gather_groups` makes the selection's table); None
    without a usable index
    (then every group's Parquet statistics are read, as before it): none written, not this footer's, a group with
    a price or size range that is not a number, a group without blocks whose kind statistics say it holds trades
    or quotes alone (a group without blocks holds neither: the writer writes no index otherwise)."""
    from liqcore.dataset.blocks import fp_blocks

    b = fp_blocks(path, ft)
    if b is None:
        return None
    ug, at = np.unique(b["group"], return_index=True)
    rest = np.setdiff1d(np.arange(len(ft.rows)), ug)
    only_bulk = (ft.kd[rest, 0] == ft.kd[rest, 1]) & np.isin(ft.kd[rest, 0], (2, 7))
    if np.any(only_bulk & (ft.rows[rest] > 0)):
        return None  # (a group of trades or quotes alone, by its statistics, but no blocks: not this file's index)
    grp = {"rid": ug, "n": ft.rows[ug]}
    for c, f in (("te_min", np.minimum), ("te_max", np.maximum), ("tr_min", np.minimum), ("tr_max", np.maximum),
                 ("p_min", np.fmin), ("p_max", np.fmax), ("q_max", np.fmax)):
        grp[c] = f.reduceat(b[c], at) if len(b) else b[c][:0]
    if not (np.all(np.isfinite(grp["p_min"])) and np.all(np.isfinite(grp["p_max"]))
            and np.all(np.isfinite(grp["q_max"]))):
        return None
    if len(grp["tr_min"]) and int(grp["tr_min"].min()) < 946_684_800_000_000_000:
        return None  # (rows without a receive time: the statistics path says so)
    k = b["kind"][at]
    grp["has_trades"], grp["has_quotes"] = k == 2, k == 7
    return grp, b, np.searchsorted(ug, b["group"])  # (each block's group among the file's bulk groups)


def _file_spans(files: list, n: int) -> list:
    """Each file's bulk groups ``[g0, g1)`` of the groups listed and its clock index (files without bulk
    groups left out)."""
    out = []
    for k, (g0, index) in enumerate(files):
        g1 = files[k + 1][0] if k + 1 < len(files) else n
        if g1 > g0:
            out.append((g0, g1, index))
    return out


def _cells_of(cell) -> tuple:
    """The cells a step acts on: :class:`~liqcore.backtest.stream._Cells`' own, else the one cell given."""
    return getattr(cell, "cells", None) or (cell,)


def _quotes_quiet(clock, cell, a: int, b: int, t_rec: np.ndarray) -> bool:
    """Whether the quote rows received in ``[a, b)`` can only set the book in force, which nothing reads
    before ``b``, so the window read may leave them undecoded (the queue rule; the book is read back at
    the next step that decodes quotes, :func:`liqcore.backtest.passage.book_before`).  The simulator
    (``liqcore._jit.sim``) reads the book at an order's arrival (the post-only check, its queue) and at an
    entry's fill (the take-profit's queue); a quote moves a queue only on the working limit's side at or
    past its price.  So: the symbol's one live state is an open position with no replacement queued, no
    record (signal) is decided in the span and none is carried, and every quote row group meeting the
    span keeps its prices short of the take-profit (a long's below it, a short's above it, on the price
    grid, as ``run_exec`` compares them): while the position stays open its quotes are quiet, and once a
    print closes it the simulator is flat and reads no book until the next signal's order arrives."""
    from liqcore._jit.sim import OPEN

    if not clock.book or (cell.carry is not None and len(cell.carry[0])):
        return False
    if np.any((t_rec >= a) & (t_rec < b)):
        return False
    g = clock.g
    st2 = getattr(cell, "st", None)
    if st2 is not None and st2.ndim == 2 and st2.shape[1] == 1:  # (cells stacked, one symbol: their column at once)
        s = st2[:, 0]
        live = np.flatnonzero(s["status"] != 0)
        if not len(live) or bool(np.any(s["status"][live] != OPEN)) or bool(np.any(s["q_on"][live] != 0)):
            return False
        grid = cell.par[:, 0]["grid"]
        return all(_tp_quiet(g, a, b, int(s["side"][k]) > 0, float(s["tp_price"][k]), float(grid[k]))
                   for k in live.tolist())
    n_open = 0
    for c in _cells_of(cell):  # (cells replayed together: quiet for each one's position; a flat one reads no book)
        st = c.st
        live = np.flatnonzero(st["status"] != 0)
        if not len(live) and len(_cells_of(cell)) > 1:
            continue
        if len(live) != 1 or int(st[live[0]]["status"]) != OPEN or int(st[live[0]]["q_on"]) != 0:
            return False
        s = st[int(live[0])]
        if not _tp_quiet(g, a, b, int(s["side"]) > 0, float(s["tp_price"]), float(c.par[int(live[0])]["grid"])):
            return False
        n_open += 1
    return n_open > 0


def _tp_quiet(g: dict, a: int, b: int, long: bool, tp_price: float, grid: float) -> bool:
    """Whether no quote row received in ``[a, b)`` reaches an open position's take-profit (a long's: every quote
    group's highest price below it; a short's: the lowest above it), on the price grid, as ``run_exec`` compares
    them: from the first-passage blocks where the files index them (finer ranges than the groups', walked by a
    compiled pass from the first that can meet ``a``), else the quote row groups' statistics."""
    tp = on_grid(tp_price, grid)
    blk = g.get("blocks")
    if blk is not None:
        from liqcore._libs.reading import quotes_reach

        return not quotes_reach(blk["tr_min"], blk["tr_max"], blk["p_min"], blk["p_max"], blk["kind"],
                                first_block(g, a), a, b, long, float(tp), grid)
    near = (g["tr_max"] >= a) & (g["tr_min"] < b) & g["has_quotes"]
    quiet = on_grid(g["p_max"][near], grid) < tp if long else on_grid(g["p_min"][near], grid) > tp
    return bool(np.all(quiet))


def _group_kinds(path, ft, mark, rid: int, kmin: int, kmax: int) -> set:
    """The kind codes row group ``rid`` of the verified file at ``path`` may hold, as far as its bytes
    prove them, to place it in the file's rare section or its bulk one (trades, quotes): the statistics
    alone when the range ``[kmin, kmax]`` holds only bulk codes or none (a format-3 group of trades is
    [2, 2], of quotes [7, 7], of liquidations [1, 1]); else its ``kind`` column, decoded after its
    bytes are verified against the file's checked mark (a rare group of liquidations and marks, [1, 3];
    a format-2 group of trades and quotes, [2, 7]: a few such groups).  The dataset's format file
    saying ``"sections": true`` is not what is trusted: a file written without sections (a group
    mixing trades with other kinds) raises :class:`NotStreamable` (the caller replays every event)."""
    from liqcore.dataset.checked import verify_groups
    from liqcore.dataset.read import BULK_KINDS

    span = set(range(kmin, kmax + 1))
    if span <= set(BULK_KINDS) or not span & set(BULK_KINDS):
        return {kmin, kmax}
    import pyarrow.parquet as pq

    if not verify_groups(path, ft, mark, [rid]):
        raise NotStreamable(f"{path}: a row group is not the bytes its checked mark was taken of")
    col = pq.ParquetFile(path).read_row_group(rid, columns=["kind"]).column("kind")
    kinds = {int(k) for k in np.unique(col.to_numpy(zero_copy_only=False))}
    if kinds & set(BULK_KINDS) and not kinds <= set(BULK_KINDS):
        raise NotStreamable(f"{path} is not written in sections (row group {rid} mixes trades or quotes with "
                            "other kinds), whatever the dataset's format file says")
    return kinds


def first_of_keys(te: np.ndarray, tr: np.ndarray, q_te: np.ndarray, q_tr: np.ndarray) -> np.ndarray:
    """Per query ``(q_te[i], q_tr[i])``: the first place ``k`` (the lowest) with ``(te[k], tr[k])`` that pair, -1 for
    none -- a dictionary of the pairs' first places looked up, made of integer sorts and binary searches alone: each
    time by its rank among the distinct times, a pair by the rank of its receive time then of its event time (one
    integer, below ``len(te) ** 2``), sorted stably (equal pairs keep their places' order, the first one first)."""
    q_te, q_tr = np.asarray(q_te, np.int64), np.asarray(q_tr, np.int64)
    if not len(te) or not len(q_te):
        return np.full(len(q_te), -1, np.int64)
    u_tr, u_te = np.unique(tr), np.unique(te)
    comp = np.searchsorted(u_tr, tr) * len(u_te) + np.searchsorted(u_te, te)
    o = np.argsort(comp, kind="stable")
    sc = comp[o]
    r_tr, r_te = np.searchsorted(u_tr, q_tr), np.searchsorted(u_te, q_te)
    ok = (u_tr[np.minimum(r_tr, len(u_tr) - 1)] == q_tr) & (u_te[np.minimum(r_te, len(u_te) - 1)] == q_te)
    qc = r_tr * len(u_te) + r_te
    pos = np.minimum(np.searchsorted(sc, qc, "left"), len(sc) - 1)
    ok &= sc[pos] == qc
    return np.where(ok, o[pos], -1).astype(np.int64)


class _ClockRows:
    """Event and receive times of the bulk rows received in a span, the selection's rules applied
    (event times in [lo, hi), receive times in [start, end), rows more than max-clock-skew ahead of
    their receive time dropped): two columns of the row groups whose ``ts_recv_ns`` statistics meet
    the span, each decoded once (spans come in receive order).  The files are checked ones (their
    rows passed every rule when written, trade prices finite and positive: a load keeps them all),
    so the rows are the full replay's."""

    use_index = True  # the files' clock indexes (off: every setter from decoded rows, as before them)

    def __init__(self, g, lo, hi, start_ns, end_ns, skew):
        self.g, self.lo, self.hi, self.start, self.end, self.skew = g, lo, hi, start_ns, end_ns, skew
        self.cache: dict = {}
        self.files: dict = {}  # path -> the open ParquetFile
        self.rows_read = 0
        self.indexed = 0  # liquidations and gaps whose clock setter a file's clock index gave
        self.skipped = 0  # rows of the row groups the last :meth:`last_print` proved quiet
        self.book = False  # the queue rule (the QUOTE rows replayed: :func:`_quotes_quiet`)
        #: (start, end, rows of every bulk kind) of the last second before a skip's end, read for its last print
        #: (liqcore.backtest.passage.last_in_tail; None: no quotes read with it)
        self.tail = None
        #: (b, to, groups, symbol) of a span passed over whose last print the next step settles (``quiet_until``
        #: with ``defer``; the caller takes it at once)
        self.pending = None
        self.last_memo: dict = {}  # (a, to, kind) -> what :meth:`last_rows` found
        self.block_memo: dict = {}  # (group, first row) -> what :meth:`block_rows` found

    def open(self, i):
        """Row group ``i``'s file, opened once, after verifying the group's bytes against the file's
        checked mark (:class:`NotStreamable` when they are not the bytes checked: the caller replays
        every event, the checking way)."""
        return self.open_all([i])

    def ids(self, a: int, b: int) -> np.ndarray:
        """The row groups that can hold rows received in [a, b) (their ``ts_recv_ns`` statistics)."""
        g = self.g
        return np.flatnonzero((g["tr_max"] >= a) & (g["tr_min"] < b))

    def plan(self, parts) -> None:
        """The groups :meth:`rows` will decode, in the order it will need them: a group not yet decoded
        is decoded with the next ones planned (up to :data:`_PREFETCH` of them, one pyarrow call per
        file: fewer calls, and their columns decoded on every core)."""
        order = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        _u, first = np.unique(order, return_index=True)
        self._plan = order[np.sort(first)]
        self._at = {int(i): k for k, i in enumerate(self._plan)}

    def group(self, i):
        if i not in self.cache:
            k = getattr(self, "_at", {}).get(int(i))
            batch = [int(i)] if k is None else [int(j) for j in self._plan[k:k + _PREFETCH] if int(j) not in self.cache]
            by_file: dict = {}
            for j in batch:
                by_file.setdefault(self.g["where"][j][0], []).append(j)
            for js in by_file.values():
                f = self.open_all(js)
                t = f.read_row_groups([self.g["where"][j][1] for j in js], columns=["ts_event_ns", "ts_recv_ns"])
                te_all, tr_all = t.column("ts_event_ns").to_numpy(), t.column("ts_recv_ns").to_numpy()
                o = 0
                for j in js:
                    n = self.g["where"][j][2]
                    te, tr = te_all[o:o + n], tr_all[o:o + n]
                    o += n
                    self.rows_read += n
                    keep = self._kept(te, tr)
                    self.cache[j] = (te[keep], tr[keep])
        return self.cache[i]

    def open_all(self, js):
        """:meth:`open` of row groups ``js`` of one file, verified together."""
        import pyarrow.parquet as pq

        from liqcore.dataset.checked import verify_groups

        path, _rid, _n, ft, mark = self.g["where"][js[0]]
        if not verify_groups(path, ft, mark, [self.g["where"][j][1] for j in js]):
            raise NotStreamable(f"{path}: a row group is not the bytes its checked mark was taken of")
        f = self.files.get(path)
        if f is None:
            f = self.files[path] = pq.ParquetFile(path)
        return f

    def witness_of(self, r_te: np.ndarray, r_tr: np.ndarray):
        """The detector's clock setters of the liquidations and gaps ``(r_te, r_tr)`` taken from the files'
        clock indexes where they prove it (:mod:`liqcore.dataset.clock`): ``(resolved, w_te, w_tr)``,
        ``w_te`` :data:`~liqcore.dataset.clock.NONE` where a resolved row has no setter.  A row is resolved
        when the one file whose bulk rows can be stamped after it and received before it (the groups'
        statistics rule every other out) indexes it, and that file's setter -- the latest-stamped such row
        of all its rows -- is a row this read keeps (so it is the latest of the rows kept too); or when no
        file can hold such a row.  Every other row is found from decoded rows (:meth:`rows`)."""
        from liqcore.dataset.clock import NONE

        g = self.g
        n = len(r_te)
        done = np.zeros(n, bool)
        w_te = np.full(n, NONE, np.int64)
        w_tr = np.full(n, NONE, np.int64)
        files = g.get("files") or []
        if not n or not files or not self.use_index:
            return done, w_te, w_tr
        f_te = np.array([g["te_max"][a:b].max() for a, b, _ix in files], np.int64)
        f_tr = np.array([g["tr_min"][a:b].min() for a, b, _ix in files], np.int64)
        can = (f_te[None, :] > np.asarray(r_te)[:, None]) & (f_tr[None, :] < np.asarray(r_tr)[:, None])
        ncan = can.sum(axis=1)
        done[ncan == 0] = True
        one = np.flatnonzero(ncan == 1)
        which = np.argmax(can[one], axis=1)  # (the one file each of them can be set by)
        for fi in np.unique(which):
            index = files[int(fi)][2]
            if index is None or not len(index):
                continue
            ks = one[which == fi]
            hit = first_of_keys(index[:, 0], index[:, 1], np.asarray(r_te, np.int64)[ks],
                                np.asarray(r_tr, np.int64)[ks])
            ks, hit = ks[hit >= 0], hit[hit >= 0]
            te, tr = index[hit, 2], index[hit, 3]
            none = te == NONE
            done[ks[none]] = True
            kept = ~none & self._kept(te, tr)
            done[ks[kept]], w_te[ks[kept]], w_tr[ks[kept]] = True, te[kept], tr[kept]
        self.indexed = int(done.sum())
        return done, w_te, w_tr

    def _kept(self, te, tr):
        """Mask of the rows a load of the selection keeps (event times in [lo, hi), receive times in
        [start, end), none more than max-clock-skew ahead of its receive time)."""
        keep = (te >= self.lo) & (te < self.hi)
        if self.start is not None:
            keep &= tr >= self.start
        if self.end is not None:
            keep &= tr < self.end
        if self.skew is not None:
            keep &= te - tr <= int(self.skew)
        return keep

    def last_print(self, ids, b: int, to: int):
        """(From the groups' columns: the reference :func:`liqcore.backtest.passage.last_in_tail`, which
        the window read uses, is tested against.)  The last trade print received in [b, to) among row
        groups ``ids`` (the only ones holding
        rows received there), in the full replay's order, as ``(ts_recv, price)``; ``()`` when there
        is none, None when two prints tie in receive and event time with different prices (their order
        is the load's) or when a group not decoded (not among the latest) may hold a print received as
        late (its ``ts_recv_ns`` maximum, a group with trades).  :attr:`skipped`: the rows of the groups
        wholly inside the span (never decoded; only the latest groups are, for the last print)."""
        from liqcore.types import Kind

        g = self.g
        self.skipped = rows_within(g, ids, b, to)  # rows of the groups wholly passed over
        tail = [int(i) for i in ids if g["tr_max"][int(i)] >= int(g["tr_min"][ids].max())]
        cols = ["ts_event_ns", "ts_recv_ns", "kind", "price"]
        parts = []
        for i in tail:
            _path, rid, n, _ft, _mark = g["where"][i]
            t = self.open(i).read_row_group(rid, columns=cols)
            self.rows_read += n
            te, tr = t.column("ts_event_ns").to_numpy(), t.column("ts_recv_ns").to_numpy()
            keep = self._kept(te, tr) & (tr >= b) & (tr < to)
            parts.append({c: t.column(c).to_numpy()[keep] for c in cols})
        r = {c: np.concatenate([x[c] for x in parts]) for c in cols}
        rest = [int(i) for i in ids if int(i) not in tail]

        def latest(col):  # the latest receive time a row of the other groups (holding such rows) can have
            return max((int(g["tr_max"][i]) for i in rest if g[col][i]), default=None)

        def last(m, col, *vals):
            """The last row of mask ``m`` in [b, to): from the tail groups, unless another group of the
            span may hold one received as late or later (None: unknown, the span is read)."""
            got = _last_row(r["ts_event_ns"][m], r["ts_recv_ns"][m], *vals)
            t_rest = latest(col)
            if got is None or (t_rest is not None and (got == () or got[1] <= t_rest)):
                return None
            return got

        m = r["kind"] == int(Kind.TRADE)
        got = last(m, "has_trades", r["price"][m])
        return got if not got else (got[1], got[2])

    def block_rows(self, rd, k: int):
        """``(receive times, lowest, highest price)`` of the rows of the pages that hold first-passage block ``k``
        (``g["blocks"]``; a quote row's range its bid and ask), decoded through the pages the reads share
        (:func:`~liqcore.dataset.checked.rows_of`, the group verified first) and kept for the next question (a
        sweep's cells share the clock); None when the group is not the bytes of its mark."""
        from liqcore.dataset.checked import Unverified, rows_of

        wi, path, rid, ft, mark, r0 = self._block_at(self.g["blocks"], k)
        key = (wi, r0)
        hit = self.block_memo.get(key)
        if hit is None:
            try:
                dg, n_new = rows_of(path, ft, mark, rid, r0, r0 + int(self.g["blocks"]["n"][k]))
            except Unverified:
                return None
            rd.rows_read += n_new
            c = dg.cols
            px, ap, tr = c["price"], c.get("ask_price"), c["ts_recv_ns"].copy()  # (not a view pinning a span's pages)
            hit = (tr,) + ((px.copy(),) * 2 if ap is None else (np.fmin(px, ap), np.fmax(px, ap)))
            if len(self.block_memo) >= 256:  # (a block is asked again soon or not at all: a few MB kept at most)
                self.block_memo.clear()
            self.block_memo[key] = hit
        return hit

    def _block_at(self, blk, k: int) -> tuple:
        """Where block ``k`` of ``blk`` (first-passage blocks of :attr:`g`) lies: its group's place in ``g["where"]``,
        the file's path, the group, the file's footer, its mark and the block's first row in the group (a tuple)."""
        from liqcore.dataset.blocks import first_rows

        wi = int(blk["group"][k])
        path, rid, _n, ft, mark = self.g["where"][wi]
        return wi, path, rid, ft, mark, int(blk["row0"][k]) - first_rows(path, ft)[rid]

    def last_rows(self, rd, a: int, to: int, kind: int):
        """The last rows of bulk ``kind`` received in ``[a, to)`` in the full replay's order (receive time, then
        event time), among the rows a read of the selection keeps (:meth:`_kept`), from the first-passage blocks:
        only the pages of the blocks that can hold them are decoded, the latest first, through the pages the reads
        share (:func:`~liqcore.dataset.checked.rows_of`, each group verified first), until no block left can hold
        a row received as late.  Per slot -- TRADE: the last print (a finite, positive price); QUOTE: the last best
        bid and the last best ask, a quote row carrying its ask being its bid then its ask (as a read lays it out)
        -- ``(ts_event, ts_recv, price, qty)``, ``()`` for none.  None when the files are not all indexed, a group
        is not the bytes of its mark, or the last rows of a slot are two that tie in both times with different
        values (their order is the read's: the caller reads them).  ``rd``: the window reader, which counts the rows decoded."""
        memo = self.last_memo  # (a sweep's cells share the clock: each span asked once)
        key = (int(a), int(to), int(kind))
        if key not in memo:
            if len(memo) > 200_000:
                memo.clear()
            memo[key] = self._last_rows(rd, a, to, kind)
        return memo[key]

    def _last_rows(self, rd, a: int, to: int, kind: int):
        from liqcore.dataset.checked import SPAN_ROWS, Unverified, rows_of
        from liqcore.types import Kind

        blk = blocks_in(self.g, a, to)
        if blk is None:
            return None
        blk = blk[(blk["kind"] == int(kind)) & (blk["te_max"] >= self.lo) & (blk["te_min"] < self.hi)]
        ub = np.minimum(blk["tr_max"], to - 1)  # (the latest receive time a row of the block can bring)
        trade = int(kind) == int(Kind.TRADE)
        best: list = [None] if trade else [None, None]  # per slot: [(ts_recv, ts_event), {values}]
        seen = set()
        for k in np.argsort(-ub, kind="stable").tolist():
            if all(x is not None and x[0][0] > int(ub[k]) for x in best):
                break  # (no block left can bring a row received as late as every slot's last)
            wi, path, rid, ft, mark, r0 = self._block_at(blk, k)
            if (wi, r0 - r0 % SPAN_ROWS) in seen:  # (a page holds two blocks: its rows taken once)
                continue
            seen.add((wi, r0 - r0 % SPAN_ROWS))
            try:
                dg, n_new = rows_of(path, ft, mark, rid, r0, r0 + int(blk["n"][k]))
            except Unverified:  # (not the bytes of its mark: the read says so, and reads the checking way)
                return None
            rd.rows_read += n_new
            i0, i1 = dg.recv_slice(a, to)  # (the rows outside cannot be received in [a, to))
            if i1 <= i0:
                continue
            c = {name: v[i0:i1] for name, v in dg.cols.items()}
            te, tr, px, qty = c["ts_event_ns"], c["ts_recv_ns"], c["price"], c["qty"]
            keep = self._kept(te, tr) & (tr >= a) & (tr < to) & (c["kind"] == int(kind))
            if trade:
                slots = [(keep & np.isfinite(px) & (px > 0), px, qty)]
            else:  # (a row's last event of each side: its bid, side buy; its ask, the row's own side if not buy)
                ap = c.get("ask_price")
                paired = np.zeros(len(te), bool) if ap is None else ~np.isnan(ap)
                bid = c["side"] == 3
                slots = [(keep & bid, px, qty),
                         (keep & (paired | ~bid), px if ap is None else np.where(paired, ap, px),
                          qty if ap is None else np.where(paired, c["ask_qty"], qty))]
            for s, (m, p, q) in enumerate(slots):
                i = np.flatnonzero(m)
                if not len(i):
                    continue
                j = i[np.lexsort((te[i], tr[i]))[-1]]
                key = (int(tr[j]), int(te[j]))
                if best[s] is not None and best[s][0] > key:
                    continue
                tie = i[(tr[i] == tr[j]) & (te[i] == te[j])]
                vals = {(float(p[t]), float(q[t])) for t in tie.tolist()}
                if best[s] is not None and best[s][0] == key:
                    best[s][1] |= vals
                else:
                    best[s] = [key, vals]
        out = []
        for x in best:
            if x is None:
                out.append(())
                continue
            if len({v[:1] if trade else v for v in x[1]}) > 1:
                return None  # (two last rows, different values: the read's order decides)
            p, q = next(iter(x[1]))
            out.append((x[0][1], x[0][0], p, q))
        return out

    def rows(self, a: int, b: int):
        """(ts_event, ts_recv) of the rows received in [a, b), in event-time order."""
        g = self.g
        for i in [i for i in self.cache if g["tr_max"][i] < a]:
            del self.cache[i]
        ids = self.ids(a, b)
        parts = [self.group(int(i)) for i in ids]
        if not parts:
            z = np.zeros(0, np.int64)
            return z, z
        te = np.concatenate([p[0] for p in parts])
        tr = np.concatenate([p[1] for p in parts])
        m = (tr >= a) & (tr < b)
        te, tr = te[m], tr[m]
        if len(te) > 1 and not bool(np.all(te[1:] >= te[:-1])):
            o = np.argsort(te, kind="stable")
            te, tr = te[o], tr[o]
        return te, tr


def _has_depth(rd, det_ev: np.ndarray, rare: list, lo: int, hi: int) -> bool:
    """Whether the selection holds a DEPTH row: in the rare rows read (``det_ev``) when DEPTH is not a bulk
    kind, else read for."""
    from liqcore.types import Kind

    d = int(Kind.DEPTH)
    if d in rare:
        return bool((det_ev["kind"] == d).any())
    return bool(len(rd.read(lo, hi, kinds=[d])))


def _has_quotes(rd, g: dict, lo: int, hi: int) -> bool:
    """Whether the selection holds a QUOTE row (the queue rule falls back to through without one)."""
    from liqcore.types import Kind

    return _has_kind(rd, g, lo, hi, int(Kind.QUOTE), "has_quotes")


def _has_kind(rd, g: dict, lo: int, hi: int, kind: int, flag: str) -> bool:
    """Whether the selection holds a bulk row of ``kind`` (a trade or a quote), as the full replay would
    see it, whatever the windows read: none when no bulk row group's ``kind`` statistics reach it
    (``g[flag]``), else the first group with one that keeps such a row in the selection."""
    for i in np.flatnonzero(g[flag]):
        if len(rd.read(lo, hi, kinds=[kind], recv=(int(g["tr_min"][i]), int(g["tr_max"][i]) + 1))):
            return True
    return False
