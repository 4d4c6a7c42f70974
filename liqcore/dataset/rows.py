"""A partition's rows: their packed layout (:data:`_ROW_DTYPE`, the file's columns) and how two runs of rows are
merged in time order with their duplicates found (a redelivered row kept once, quotes of one instant kept in
their order).  The writer (:mod:`liqcore.dataset.write`) merges every partition it rewrites through these.

May import: numpy, ``types``, ``io.base`` (the duplicate rule) and ``_libs.reading`` (the merge of a read's files).
"""
from __future__ import annotations

import numpy as np

from liqcore.types import Kind, take_records

#: the columns of a partition file (format 2) and their types
_FILE_COLUMNS = (("ts_event_ns", "int64", "ts_event"), ("ts_recv_ns", "int64", "ts_recv"), ("kind", "int8", "kind"),
                 ("side", "int8", "side"), ("price", "float64", "price"), ("qty", "float64", "qty"),
                 ("flags", "uint8", "flags"), ("trade_id", "int64", None))


#: one partition's rows in memory: the file's columns (venue and symbol are the partition's)
_ROW_DTYPE = np.dtype([(c, t) for c, t, _f in _FILE_COLUMNS])


def _equal_time_runs(te: np.ndarray) -> np.ndarray:
    """Indices of the rows of sorted event times ``te`` that share their time with a neighbour (the only
    rows that can be out of receive-time order or duplicates)."""
    eq = te[1:] == te[:-1]
    run = np.zeros(len(te), dtype=bool)
    run[1:] |= eq
    run[:-1] |= eq
    return np.flatnonzero(run)


def _merge_rows(rows: np.ndarray, src: np.ndarray | None = None) -> np.ndarray:
    """Rows sorted by (event time, receive time, quotes before the other kinds), stable, duplicates removed:
    a quote row that repeats, byte for byte, a row of an earlier source (:func:`_repeats`; ``src``: each
    row's source, 0 the partition's old rows, then each new run in the order it is added; None: one
    source), then a load's rule (:func:`liqcore.io.base.dedupe`: the same trade id, or the same row where
    one of them has no id; quotes never), so old and new rows from two sources of one trade keep it once.
    A quote is a state of the book, not an occurrence: a top of book that comes back within one stamp (ask
    X, ask Y, ask X) keeps its three rows, as a load keeps them, while the same rows added again (the same
    data written twice, overlapping recordings) are each cancelled by the equal row already there (a
    multiset difference: writing equals a load of the union of the sources).  (Quotes before trades of the
    same times, the book in force when the trade prints: the order a format-3 file, whose quotes are a
    section of their own, gives back, :func:`liqcore.dataset.rows.bulk_order`; at equal times, kind and
    receive time the order the rows came in: old rows first, then each source's in its order.)  ``rows``
    (and ``src``) are the caller's to give away: runs of one event time out of (receive time, quotes
    first) order are reordered in them, in place (a copy of a day's rows costs more than the merge)."""
    from liqcore.types import Kind

    te = rows["ts_event_ns"]
    if len(rows) > 1:
        if not bool(np.all(te[1:] >= te[:-1])):  # old rows and new (two sorted runs): a stable sort merges them
            order = np.argsort(te, kind="stable")
            rows = take_records(rows, order)
            src = src[order] if src is not None else None
            del order
            te = rows["ts_event_ns"]
        # in event-time order: only runs of equal event times need ordering by receive time, and only they
        # can hold duplicates (the reordering keeps every event time in its place: the same runs)
        tr = rows["ts_recv_ns"]
        quote = rows["kind"] == int(Kind.QUOTE)
        # already in (receive time, quotes first) order within every run (a quote's bid and ask: one time):
        # nothing to sort
        same = te[1:] == te[:-1]
        bad = np.flatnonzero(same & ((tr[1:] < tr[:-1]) | ((tr[1:] == tr[:-1]) & ~quote[:-1] & quote[1:])))
        if len(bad):
            # only the runs holding a pair out of order are sorted (a run in order: a stable sort keeps it);
            # runs are contiguous: their places stay theirs
            sub = _runs_at(te, bad)
            order = np.lexsort((~quote[sub], tr[sub], te[sub]))
            if not bool(np.all(order[1:] > order[:-1])):
                rows[sub] = rows[sub[order]]  # in place: only those runs' rows move
                if src is not None:
                    src[sub] = src[sub[order]]
        if src is not None:  # quotes of another source at a time: the only rows an earlier source's can cancel
            if len(bad):  # (rows moved: their kinds with them)
                quote = rows["kind"] == int(Kind.QUOTE)
            drop = _repeats(rows, src, _mixed_quote_runs(te, src, quote, same))
            if len(drop):
                keep = np.ones(len(rows), dtype=bool)
                keep[drop] = False
                rows = take_records(rows, keep)
        del quote, same, bad
        idx = _not_quotes(rows, _equal_time_runs(rows["ts_event_ns"]))  # a load's rule never pairs quotes
        if len(idx):  # then a load's rule: the same trade by its id, or by its row where one side has no id
            keep_run = _run_duplicates(take_records(rows, idx))
            if keep_run is not None:
                keep = np.ones(len(rows), dtype=bool)
                keep[idx] = keep_run
                rows = take_records(rows, keep)
    return rows


def _mixed_quote_runs(te: np.ndarray, src: np.ndarray, quote: np.ndarray, same: np.ndarray) -> np.ndarray:
    """Positions of the quote rows in runs of one event time (``te`` sorted; ``same``: each row's time is
    the next one's) that hold rows of two sources or more (``src``): only there can a row repeat an
    earlier source's.  Increasing: every quote row of each such run."""
    mixed = same & (src[1:] != src[:-1])
    if not mixed.any():
        return np.zeros(0, np.int64)
    # a run holds two sources when two of its rows next to each other differ (in any order of its rows)
    rows = _runs_at(te, np.flatnonzero(mixed))
    return rows[quote[rows]]


def _runs_at(te: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Every row (increasing positions) of the runs of equal event times (``te`` sorted) that hold a row of
    ``pos``: each run found by a search of its time (no run number for every row)."""
    v = np.unique(te[pos])
    lo = np.searchsorted(te, v, side="left")
    n = np.searchsorted(te, v, side="right") - lo
    return np.repeat(lo - np.concatenate([[0], np.cumsum(n)[:-1]]), n) + np.arange(int(n.sum()), dtype=np.int64)


def _repeats(rows: np.ndarray, src: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Positions (into ``rows``, in no particular order) of the rows among ``idx`` (increasing positions:
    every row of a run of one event time that may equal another) that an earlier source's equal rows
    cancel: the rows are added one source at a time (``src``: 0 the old rows, then each new run), and each
    row already there cancels at most one equal row of the source being added, its first not yet
    cancelled.  So a row value that ``c_s`` rows of source ``s`` hold is held ``max_s c_s`` times: the
    multiset union of the sources, where the rows one source repeats within itself (a top of book back
    within one stamp) all stay."""
    cand, group = _equal_groups(rows, idx)
    if not len(cand):
        return np.zeros(0, np.int64)
    s = src[cand]
    n = len(cand)
    same_g = group[1:] == group[:-1]
    if bool(np.any(same_g & (s[1:] < s[:-1]))):  # (equal rows merged stably come source by source)
        order = np.lexsort((cand, s, group))
        cand, group, s = cand[order], group[order], s[order]
        same_g = group[1:] == group[:-1]
    # each equal value's rows, source by source, positions increasing: segments of one (value, source)
    new_seg = np.ones(n, dtype=bool)
    new_seg[1:] = ~same_g | (s[1:] != s[:-1])
    seg_start = np.flatnonzero(new_seg)
    seg_n = np.diff(np.append(seg_start, n))
    seg_g = np.cumsum(np.concatenate([[True], ~same_g]))[seg_start]  # each segment's value, counting up
    # the most rows of the value an earlier source holds (0 for a value's first source): the running
    # maximum of the counts within each value, one segment behind
    big = np.int64(n + 1)
    incl = np.maximum.accumulate(seg_g * big + seg_n) - seg_g * big
    prior = np.zeros(len(seg_start), np.int64)
    prior[1:] = np.where(seg_g[1:] == seg_g[:-1], incl[:-1], 0)
    rank = np.arange(n) - np.repeat(seg_start, seg_n)  # each row's place within its source's equal rows
    return cand[rank < np.repeat(prior, seg_n)]


def _merge_runs(old: np.ndarray, new: np.ndarray, labels: np.ndarray | None = None):
    """``np.concatenate([old, new])`` stably sorted by event time, built in one array (no concatenated
    copy, no sort order, no gather), when ``new`` is sorted by event time and ``old`` is a few sorted
    runs (a partition file's sections: each sorted); otherwise the concatenation (:func:`_merge_rows`
    sorts it).  A row's place: its place in its run, plus the rows of earlier runs at its time or
    before and of later runs before its time.  ``labels`` (one per row of the concatenation: each row's
    source) -> ``(rows, labels)``, the labels moved with their rows."""
    to, tn = old["ts_event_ns"], new["ts_event_ns"]
    cuts = np.flatnonzero(to[1:] < to[:-1]) + 1
    if len(cuts) > 16 or not bool(np.all(tn[1:] >= tn[:-1])):
        cat = np.concatenate([old, new])
        return cat if labels is None else (cat, labels)
    edges = np.concatenate([[0], cuts, [len(old)]]).tolist()
    runs = [(old, a, b, a) for a, b in zip(edges[:-1], edges[1:]) if b > a] + [(new, 0, len(new), len(old))]
    times = [r["ts_event_ns"][a:b] for r, a, b, _at in runs]
    out = np.empty(len(old) + len(new), _ROW_DTYPE)
    out_labels = None if labels is None else np.empty(len(labels), labels.dtype)
    for i, (r, a, b, at) in enumerate(runs):
        t = times[i]
        pos = np.arange(len(t), dtype=np.int64)
        for j, u in enumerate(times):
            if j != i:
                pos += np.searchsorted(u, t, "right" if j < i else "left")
        out[pos] = r[a:b]
        if out_labels is not None:
            out_labels[pos] = labels[at:at + b - a]
    return out if labels is None else (out, out_labels)


def _row_hash(rows: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """A 64-bit hash of the rows ``idx`` of ``rows`` (_ROW_DTYPE), from the columns' bits: rows equal
    byte for byte hash alike.  Computed a block of rows at a time (its temporaries: one block's)."""
    block = 1 << 20
    if len(idx) <= block:
        return _row_hash_block(rows, idx)
    out = np.empty(len(idx), np.uint64)
    for a in range(0, len(idx), block):
        out[a:a + block] = _row_hash_block(rows, idx[a:a + block])
    return out


def _row_hash_block(rows: np.ndarray, idx: np.ndarray) -> np.ndarray:
    m = np.uint64(0x9E3779B97F4A7C15)
    h = np.ascontiguousarray(rows["ts_event_ns"][idx]).view(np.uint64) * m
    small = (rows["kind"][idx].view(np.uint8).astype(np.uint64) | (rows["side"][idx].view(np.uint8).astype(np.uint64) << np.uint64(8))
             | (rows["flags"][idx].astype(np.uint64) << np.uint64(16)))
    for col in (np.ascontiguousarray(rows["ts_recv_ns"][idx]).view(np.uint64), small,
                np.ascontiguousarray(rows["price"][idx]).view(np.uint64),
                np.ascontiguousarray(rows["qty"][idx]).view(np.uint64),
                np.ascontiguousarray(rows["trade_id"][idx]).view(np.uint64)):
        h ^= h >> np.uint64(29)
        h = (h + col) * m
    return h


def _equal_groups(rows: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows among ``idx`` (increasing positions, ``rows`` sorted by event time: every row of a run of
    one event time that may equal another) equal byte for byte to another row of ``idx`` -> ``(positions,
    a number per row)``: equal rows share a number and lie next to each other, positions increasing
    among them (the groups in no particular order).  Equal rows share their event time, so they lie in
    one run: a run of two rows (a quote's bid and ask, nearly every run of a book) is settled by comparing
    its two rows' bytes (:func:`_same_pairs`); only the rows of longer runs go through the hash
    (:func:`_hashed_groups`)."""
    none = np.zeros(0, np.int64)
    if not len(idx):
        return none, none
    te = rows["ts_event_ns"][idx]
    start = np.flatnonzero(np.concatenate([[True], te[1:] != te[:-1]]))  # each run's first place in idx
    size = np.diff(np.append(start, len(idx)))
    two = start[size == 2]  # (a run of two: its rows idx[j] and idx[j + 1])
    two = two[_same_pairs(rows, idx[two], idx[two + 1])]
    pos = np.stack([idx[two], idx[two + 1]], axis=1).reshape(-1)
    group = np.repeat(np.arange(len(two), dtype=np.int64), 2)
    long_runs = size > 2
    if not long_runs.any():
        return pos, group
    more, more_group = _hashed_groups(rows, idx[np.repeat(long_runs, size)])
    if not len(pos):
        return more, more_group
    return np.concatenate([pos, more]), np.concatenate([group, more_group + len(two)])


def _same_pairs(rows: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Whether row ``i[k]`` of ``rows`` (_ROW_DTYPE) equals row ``j[k]`` byte for byte, for each ``k`` (floats
    compared by their bits: NaN is NaN, 0.0 is not -0.0), a column at a time."""
    eq = np.ones(len(i), dtype=bool)
    for name in _ROW_DTYPE.names:
        col = rows[name]
        if col.dtype.kind == "f":
            col = col.view(np.uint64)
        eq &= col[i] == col[j]
    return eq


def _hashed_groups(rows: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_equal_groups` of the rows ``idx`` (increasing, whole runs of one event time) by hashing:
    equal rows hash alike (:func:`_row_hash`), so the rows in the order of a key made of their run and
    hash (a stable sort of one 64-bit key) whose key the row before them has are the candidates, and each
    is compared whole with that row; only when two rows of one key differ (a collision) are that key's
    rows grouped by their bytes (np.unique)."""
    none = np.zeros(0, np.int64)
    if not len(idx):
        return none, none
    # the key: the row's run of one event time, then 20 bits of its hash (equal rows share both): the
    # rows stay in their runs' order, so the sort meets a nearly sorted key and the rows compared lie near
    # each other (a key shared by two different rows of a run is a collision, settled below)
    te = rows["ts_event_ns"][idx]
    run = np.cumsum(np.concatenate([[0], te[1:] != te[:-1]])).astype(np.uint64)
    del te
    h = (run << np.uint64(20)) | (_row_hash(rows, idx) & np.uint64(0xFFFFF))
    del run
    order = np.argsort(h, kind="stable")
    hs = h[order]
    del h
    same = hs[1:] == hs[:-1]
    if not same.any():
        return none, none
    shared = np.zeros(len(hs), dtype=bool)  # rows whose key another row has, in key order
    shared[1:] |= same
    shared[:-1] |= same
    keep = np.flatnonzero(shared)
    cand, hs = idx[order[keep]], hs[keep]
    del order, keep, shared
    same = hs[1:] == hs[:-1]
    eq = _same_pairs(rows, cand[:-1][same], cand[1:][same])
    group = np.cumsum(np.concatenate([[True], ~same])) - 1  # one number per key
    if bool(eq.all()):
        return cand, group
    # a collision: the rows of the keys holding one grouped by their bytes, the groups of one row dropped
    bad = np.zeros(int(group[-1]) + 1, dtype=bool)
    bad[group[1:][same][~eq]] = True
    hit = bad[group]
    sub = cand[hit]  # (still in key order, positions increasing within each key)
    whole = take_records(rows, sub).view(np.dtype((np.void, _ROW_DTYPE.itemsize)))
    _u, inv, counts = np.unique(whole, return_inverse=True, return_counts=True)
    inv = inv.reshape(-1)
    by = np.argsort(inv, kind="stable")  # equal rows together, positions increasing among them
    by = by[counts[inv[by]] > 1]
    cand = np.concatenate([cand[~hit], sub[by]])
    group = np.concatenate([group[~hit], inv[by].astype(np.int64) + int(group[-1]) + 1])
    return cand, group


def _not_quotes(rows: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The positions ``idx`` (rows sharing their event time with a neighbour) of rows that are not quotes:
    a load's duplicate rule (:func:`liqcore.io.base.duplicate_keep`) pairs only rows of one kind and
    time and leaves quotes alone, so what it finds among these is what it finds among ``idx``."""
    from liqcore.types import Kind

    return idx[rows["kind"][idx] != int(Kind.QUOTE)]


def _run_duplicates(sub: np.ndarray):
    """:func:`liqcore.io.base.duplicate_keep` over a partition's rows ``sub`` (one venue and symbol,
    sorted by event time): the rows a load keeps, or None when it keeps them all."""
    from liqcore.io.base import duplicate_keep
    from liqcore.types import EVENT_DTYPE

    ev = np.zeros(len(sub), EVENT_DTYPE)
    for c, _t, f in _FILE_COLUMNS:
        if f is not None:
            ev[f] = sub[c]
    return duplicate_keep(ev, sub["trade_id"] if sub["trade_id"].any() else None)


#: several files' events merged by one compiled pass (:func:`event_merged`; off: numpy's concatenation, stable sort
#: and gather, the same rows)
MERGE = True


def event_merged(pieces: list, ids: list | None = None):
    """The events of ``pieces`` (a read's files, each in event-time order or in its two sections) end to end in
    event-time order, stable, as one new array: several pieces merged by one compiled pass
    (:func:`liqcore._libs.reading.merge_events`), else concatenated, ordered by :func:`event_order` and gathered.
    ``ids``: a column per piece (its trade ids) that follows the events' order -> ``(events, column)``; the
    concatenation's way then, the merge kernel handing out no permutation."""
    from liqcore.types import EVENT_DTYPE, take_records

    if not pieces:
        ev = np.zeros(0, EVENT_DTYPE)
        return ev if ids is None else (ev, np.zeros(0, np.int64))
    if len(pieces) > 1 and MERGE and ids is None:
        from liqcore._libs.reading import merge_events

        ev = merge_events(pieces)
        if ev is not None:
            return ev
    ev = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
    col = None if ids is None else ids[0] if len(ids) == 1 else np.concatenate(ids)
    order = event_order(ev["ts_event"])
    if order is not None:
        ev = take_records(ev, order)
        col = None if col is None else col[order]
    return ev if ids is None else (ev, col)


def event_order(ts: np.ndarray) -> np.ndarray | None:
    """The stable event-time order of ``ts`` (None: already in order), as ``np.argsort(ts, kind="stable")``.
    Two sorted runs of which one is short (a partition file's first section, the liquidations, marks
    and funding, then its trades and quotes) are merged by placing the short run's rows among the
    long run's (a binary search each), not by sorting every row."""
    n = len(ts)
    if n < 2:
        return None
    down = np.flatnonzero(ts[1:] < ts[:-1])
    if not len(down):
        return None
    if len(down) > 1 or min(int(down[0]) + 1, n - int(down[0]) - 1) > n // 8:
        return np.argsort(ts, kind="stable")
    b = int(down[0]) + 1
    a, z = ts[:b], ts[b:]
    order = np.empty(n, np.int64)
    if b <= n - b:  # the first run is short: each of its rows goes before the later rows of its time or more
        at = np.arange(b) + np.searchsorted(z, a, "left")
        rest = np.ones(n, dtype=bool)
        rest[at] = False
        order[at] = np.arange(b)
        order[rest] = np.arange(b, n)
    else:  # the second run is short: each of its rows goes after the earlier rows of its time or less
        at = np.arange(n - b) + np.searchsorted(a, z, "right")
        rest = np.ones(n, dtype=bool)
        rest[at] = False
        order[at] = np.arange(b, n)
        order[rest] = np.arange(b)
    return order


def bulk_order(te: np.ndarray, tr: np.ndarray, kind: np.ndarray) -> np.ndarray | None:
    """The order (a permutation, None: as they are) that lays one format-3 partition file's rows, read in
    its section order (the rare kinds, then the trades, then the quotes, each sorted by event time, then
    receive time), out as the same file in format 2 held them: the rare kinds, then trades and quotes in
    one section sorted by (event time, receive time), quotes first where both tie (the writer's rule,
    :func:`liqcore.dataset.write._merge_rows`).  The two sorted runs are merged by a stable sort (a merge of
    runs); only runs of one event time whose receive times then go down are sorted again."""
    n = len(te)
    isq = kind == int(Kind.QUOTE)
    if not n or not isq[-1]:
        return None
    tail = int(np.argmin(isq[::-1]))  # the quotes at the end (0: every row is one)
    c0 = n - tail if tail else 0
    if int(np.count_nonzero(isq)) != n - c0:  # not one trailing section: as they are
        return None
    b0 = c0 - int(np.count_nonzero(kind[:c0] == int(Kind.TRADE)))
    teb, tec = te[b0:c0], te[c0:]
    if not len(teb) or int(teb[-1]) < int(tec[0]):
        return None  # no trade after the first quote: the sections are in order already
    # by event time, quotes first at equal times (the book in force when a trade of that time prints): a
    # stable sort of the two sorted runs, quotes laid first (a merge, not a sort)
    cand = np.concatenate([np.arange(c0, n), np.arange(b0, c0)])
    bulk = cand[np.argsort(te[cand], kind="stable")]
    # runs of one event time whose receive times are out of order (a trade received before a quote of its
    # event time): those runs ordered by receive time, quotes first at ties
    tb, rb = te[bulk], tr[bulk]
    same = tb[1:] == tb[:-1]
    bad = np.flatnonzero(same & (rb[1:] < rb[:-1]))
    if len(bad):
        run = np.concatenate([[0], np.cumsum(~same)])  # each row's run of equal event times
        hit = np.zeros(int(run[-1]) + 1, dtype=bool)
        hit[run[bad]] = True
        idx = np.flatnonzero(hit[run])
        src = (bulk[idx] < c0).astype(np.int8)  # (0: a quote, first at ties)
        order = np.lexsort((src, rb[idx], tb[idx]))
        bulk[idx] = bulk[idx][order]
    out = np.empty(n, np.int64)
    out[:b0] = np.arange(b0)
    out[b0:] = bulk
    return out


def row_problems(rows: np.ndarray, symbol: str) -> int:
    """How many of a partition's rows (the file's columns, :data:`liqcore.dataset.write._ROW_DTYPE`) break a row
    rule of the contract (:func:`liqcore.io.contract.contract_table`, the same rules): a time <= 0, a kind
    or side outside its codes, a liquidation, trade or quote side that is not its kind's, a liquidation's
    or trade's price or size not finite and > 0, an empty quote side with a price, a non-empty one
    without a positive price, an infinite price or a non-finite size elsewhere, a venue-wide (``*``) row
    other than a gap.  A file with any is not marked checked.  Counted in one compiled pass
    (:func:`liqcore._libs.reading.row_problems`; its twin ``pysrc/readrows.py`` holds the numpy rules)."""
    from liqcore._libs.reading import row_problems as count

    return count(rows, int(max(Kind)), symbol == "*")
