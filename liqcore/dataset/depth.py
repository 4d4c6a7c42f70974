"""A dataset's depth (DEPTH rows): :func:`write_depth`, :func:`load_depth`, kept apart from the other kinds.

Depth is the largest stream by far, and read in receive order and by price, so it lives in its own
compact files, ``_depth/venue=V/symbol=S/date=D/depth.parquet`` (``date``: the UTC day of the receive
time), beside the partitions of the other kinds (the leading ``_`` keeps it out of their reads): rows
in receive order, the price as an integer number of 10^-k (k per file), row groups whose statistics let
a read skip what cannot touch a time or a price range.  Layout and rules: docs/how-to/backtest-with-depth.md, "Depth in a
dataset".  May import what the package may.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from liqcore.types import (EVENT_DTYPE, VENUE_CODE_BY_NAME, VENUE_SPAN, Flag, Kind, take_records, venue_slot,
                           venue_slot_names)

#: the directory of a dataset that holds its depth, and the version of the depth files' layout
DEPTH_DIR = "_depth"
DEPTH_FORMAT = 1
#: rows of one row group of a depth file (about a minute of a busy perpetual's updates)
DEPTH_GROUP_ROWS = 65_536
_RUN = int(Flag.SNAPSHOT) | int(Flag.DEPTH_GAP)
_NS_PER_DAY = 86_400_000_000_000
#: the fields a depth file keeps (the symbol and venue: its partition's names)
_STORED = ("ts_event", "ts_recv", "price", "qty", "side", "flags")
#: a :func:`liqcore._jit.depth.pack_rows` mask that keeps every row
_ALL = np.zeros(0, np.bool_)
#: the book checkpoints beside a depth file (:func:`_write_book`), their layout's version, rows per row group
BOOK_FILE = "book.parquet"
BOOK_FORMAT = 1
BOOK_GROUP_ROWS = 65_536


def _venue_code(venue: str) -> int:
    """The event contract's venue code of a depth partition's ``venue`` name (0: no venue registered by it)."""
    return VENUE_CODE_BY_NAME.get(venue, 0)


def price_decimals(price: np.ndarray) -> int | None:
    """The least k in 0..9 such that every price is an integer number of 10^-k read back exactly
    (``ticks / 10**k`` gives the same float), None when none is."""
    return _ticks(price)[0]


def _ticks(v: np.ndarray):
    """``(k, v * 10**k as int64)`` for the least k of :func:`price_decimals`, or ``(None, None)``.  The k of a
    sample first (a lower bound: every row must fit), so the whole column is, as a rule, tested once."""
    v = np.asarray(v, np.float64)
    if not len(v):
        return 0, np.zeros(0, np.int64)
    lo, hi = float(v.min()), float(v.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return None, None
    k0 = 0
    if len(v) > 4096:
        k0 = _ticks(v[:: len(v) // 2048])[0]
        if k0 is None:
            return None, None
    for k in range(k0, 10):
        scale = float(10**k)
        if max(abs(lo), abs(hi)) * scale >= 2**53:
            return None, None
        t = np.multiply(v, scale)
        np.rint(t, out=t)
        back = np.divide(t, scale)
        if bool(np.array_equal(back, v)):
            del back
            return k, t.astype(np.int64)
    return None, None


def _table(rows: np.ndarray, venue: str, symbol: str):
    import orjson
    import pyarrow as pa

    def arr(v):  # a numpy column as an Arrow array over its own buffer (contiguous: one copy of a field)
        v = np.ascontiguousarray(v)
        return pa.Array.from_buffers(pa.from_numpy_dtype(v.dtype), len(v), [None, pa.py_buffer(v)])

    cols = {"ts_recv_ns": arr(rows["ts_recv"]), "ts_event_ns": arr(rows["ts_event"])}
    k, ticks = _ticks(rows["price"])
    cols["price_ticks" if k is not None else "price"] = arr(ticks if k is not None else rows["price"])
    kq, ticks = _ticks(rows["qty"])  # sizes as integers too: a third of a float's bytes after zstd, or less
    cols["qty_ticks" if kq is not None else "qty"] = arr(ticks if kq is not None else rows["qty"])
    del ticks
    cols["side"] = arr(rows["side"])
    cols["flags"] = arr(rows["flags"])
    info = {"depth_format": DEPTH_FORMAT, "venue": venue, "symbol": symbol, "price_decimals": k, "qty_decimals": kq}
    return pa.table(cols).replace_schema_metadata({b"liqcore": orjson.dumps(info)})


def _write_file(rows: np.ndarray, venue: str, symbol: str, dest: Path) -> None:
    import pyarrow.parquet as pq

    from liqcore._atomic import replace_durably
    from liqcore.io.contract import column_codecs

    table = _table(rows, venue, symbol)
    enc = {c: "DELTA_BINARY_PACKED" for c in ("ts_recv_ns", "ts_event_ns", "price_ticks") if c in table.column_names}
    dest.parent.mkdir(parents=True, exist_ok=True)
    book = dest.with_name(BOOK_FILE)
    book.unlink(missing_ok=True)  # (a checkpoint file never outlives the rows it was made from)
    tmp = dest.with_name(f".{dest.name}.tmp{os.getpid()}")
    pq.write_table(table, tmp, row_group_size=DEPTH_GROUP_ROWS, compression=column_codecs(table.column_names),
                   use_dictionary=["side", "flags"], column_encoding=enc or None, write_statistics=True)
    replace_durably(tmp, dest)
    import orjson

    k = orjson.loads(table.schema.metadata[b"liqcore"])["price_decimals"]
    del table
    if k is not None:
        _write_book(rows, dest, int(k))


def _write_book(rows: np.ndarray, dest: Path, k: int) -> None:
    """The book checkpoints of the depth file ``dest`` (written from ``rows``): its book at the start of each
    row group and after its last row (:func:`liqcore._jit.depth.group_books`), in ``book.parquet`` beside
    it, with the depth file's fingerprint (size, rows and each row group's rows and receive-time range) and the
    SHA-256 of its bytes (a checkpoint is the book of every row before it: only the file's whole content can
    prove it, a rewrite of the same size and row groups with other sizes or prices cannot)."""
    import orjson
    import pyarrow as pa
    import pyarrow.parquet as pq

    from liqcore._atomic import replace_durably
    from liqcore._jit.depth import group_books
    from liqcore.dataset.checked import file_digest

    off, bid, key, qty, m_run, m_known, based = group_books(rows, DEPTH_GROUP_ROWS, float(10**k))
    tr = rows["ts_recv"]
    starts = np.arange(0, len(rows), DEPTH_GROUP_ROWS)
    ends = np.minimum(starts + DEPTH_GROUP_ROWS, len(rows))
    groups = [[int(tr[a]), int(tr[b - 1]), int(b - a)] for a, b in zip(starts, ends)]  # (receive order)
    info = {"book_format": BOOK_FORMAT, "group_rows": DEPTH_GROUP_ROWS, "price_decimals": k,
            "offsets": off.tolist(), "m_run": m_run.tolist(), "m_known": m_known.tolist(), "based": based.tolist(),
            "depth": {"size": dest.stat().st_size, "rows": int(len(rows)), "groups": groups,
                      "sha256": file_digest(str(dest))[1]}}
    t = pa.table({"bid": bid, "price_ticks": key, "qty": qty}).replace_schema_metadata(
        {b"liqcore": orjson.dumps(info)})
    book = dest.with_name(BOOK_FILE)
    tmp = book.with_name(f".{book.name}.tmp{os.getpid()}")
    pq.write_table(t, tmp, row_group_size=BOOK_GROUP_ROWS, compression="zstd",
                   column_encoding={"price_ticks": "DELTA_BINARY_PACKED"}, use_dictionary=["bid"])
    replace_durably(tmp, book)


def _has_digest(book: Path) -> bool:
    """Whether the checkpoint file ``book`` exists and holds its depth file's content digest (one written
    before the digest did not: converting the same data again writes it)."""
    if not book.is_file():
        return False
    import orjson
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(book).metadata or {}
        return isinstance(orjson.loads(meta.get(b"liqcore", b"{}")).get("depth", {}).get("sha256"), str)
    except (OSError, ValueError):
        return False


def _read_file(f, recv_range=None, price_range=None, groups=None, pf=None,
               event_times: bool = True) -> tuple[np.ndarray, int]:
    """The rows of one depth file (receive order) whose row groups can touch ``recv_range`` ``(lo, hi)`` and
    ``price_range`` ``(lo, hi)`` -> (rows, rows of the row groups read).  ``groups``: these row groups only
    (of ``pf``, the file opened), their rows received in ``recv_range``.  ``event_times`` False: the event
    time column is not decoded and each row's ``ts_event`` is its receive time (for the simulator, which
    orders and times DEPTH rows by receive time alone)."""
    cols, n = _read_columns(f, recv_range, price_range, groups, pf, event_times)
    return _pack([(cols, 0, len(cols[0]))] if cols is not None else []), n


def _read_columns(f, recv_range=None, price_range=None, groups=None, pf=None, event_times: bool = True):
    """:func:`_read_file`'s rows as columns (:func:`_columns`; None when no row group is read) -> (columns, rows
    of the row groups read).  One thread: Arrow's pool costs more CPU than it saves on these small columns."""
    import orjson
    import pyarrow.parquet as pq

    pf = pf if pf is not None else pq.ParquetFile(f)
    meta = orjson.loads(pf.schema_arrow.metadata[b"liqcore"])
    if int(meta.get("depth_format", 0)) > DEPTH_FORMAT:
        raise ValueError(f"dataset: {f} is a depth file of a newer layout ({meta.get('depth_format')}) than this "
                         f"liqcore reads ({DEPTH_FORMAT}): upgrade liqcore")
    k = meta.get("price_decimals")
    pcol = "price_ticks" if k is not None else "price"
    scale = float(10**k) if k is not None else 1.0
    names = pf.schema_arrow.names
    md = pf.metadata
    pick, groups = groups is None, ([] if groups is None else list(groups))
    for g in range(md.num_row_groups if pick else 0):
        rg = md.row_group(g)
        st = {names[i]: rg.column(i).statistics for i in range(rg.num_columns)}
        if recv_range is not None:
            s = st["ts_recv_ns"]
            if s is not None and s.has_min_max and (s.max < recv_range[0] or s.min >= recv_range[1]):
                continue
        if price_range is not None:
            s, fl = st[pcol], st["flags"]
            runs = fl is None or not fl.has_min_max or fl.max >= int(Flag.SNAPSHOT)  # snapshot or gap rows
            if s is not None and s.has_min_max and not runs and (s.max / scale < price_range[0]
                                                                   or s.min / scale > price_range[1]):
                continue
        groups.append(g)
    if not groups:
        return None, 0
    cols = None if event_times else [c for c in pf.schema_arrow.names if c != "ts_event_ns"]
    t = pf.read_row_groups(groups, columns=cols, use_threads=False)
    n = t.num_rows
    tr = t.column("ts_recv_ns").to_numpy()
    if recv_range is not None and n:  # the rows received in the range only (the row groups read reach past it)
        if bool(np.all(tr[1:] >= tr[:-1])):  # in receive order, as written: the range is a slice
            a, b = (int(x) for x in np.searchsorted(tr, [recv_range[0], recv_range[1]], "left"))
            b = max(a, b)
            t, tr = t.slice(a, b - a), tr[a:b]
        else:
            keep = (tr >= recv_range[0]) & (tr < recv_range[1])
            t, tr = t.filter(keep), tr[keep]
    return _columns(t, meta, event_times, tr), n


def _columns(t, meta: dict, event_times: bool, tr=None) -> tuple:
    """The DEPTH rows of the Arrow table ``t`` read from a depth file (its ``liqcore`` metadata ``meta``) as
    columns: (receive times, event times -- the receive times when ``event_times`` is False --, prices, sizes,
    sides, flags), prices and sizes back from their integer form.  ``tr``: the receive times already taken."""
    k, kq = meta.get("price_decimals"), meta.get("qty_decimals")
    tr = t.column("ts_recv_ns").to_numpy() if tr is None else tr
    te = t.column("ts_event_ns").to_numpy() if event_times else tr
    price = t.column("price_ticks").to_numpy() / float(10**k) if k is not None else t.column("price").to_numpy()
    qty = t.column("qty_ticks").to_numpy() / float(10**kq) if kq is not None else t.column("qty").to_numpy()
    return tr, te, price, qty, t.column("side").to_numpy(), t.column("flags").to_numpy()


def _pack(parts, sid: int = 0, venue: int = 0, keeps=None) -> np.ndarray:
    """The DEPTH rows of ``parts`` (``(columns, a, b)``: rows ``a``..``b`` of :func:`_columns`'s columns, in order) as
    EVENT_DTYPE rows with symbol id ``sid`` and venue code ``venue``; ``keeps``: per part, the mask of its rows
    kept (:func:`liqcore._jit.depth.pack_rows`)."""
    from liqcore._jit.depth import pack_rows

    keeps = keeps if keeps is not None else [_ALL] * len(parts)
    out = np.empty(sum(int(np.count_nonzero(k)) if len(k) else b - a for (_c, a, b), k in zip(parts, keeps)),
                   EVENT_DTYPE)  # (pack_rows writes every field of every row)
    o = 0
    for (cols, a, b), keep in zip(parts, keeps):
        o = pack_rows(out, o, *cols, a, b, keep, sid, venue)
    return out


def _partitions(out_dir) -> dict:
    root = Path(out_dir) / DEPTH_DIR
    have = {}
    for f in root.glob("venue=*/symbol=*/date=*/depth.parquet"):
        d, s, v = f.parent, f.parent.parent, f.parent.parent.parent
        have[(v.name[6:], s.name[7:], d.name[5:])] = f
    return have


def has_depth(path, symbols=None) -> bool:
    """Whether the dataset in ``path`` holds depth rows (of ``symbols``, names; None: any)."""
    from liqcore.dataset.selection import selection_names

    symbols = selection_names(symbols)
    want = {str(s).upper() for s in symbols} if symbols else None
    return any(want is None or symbol.upper() in want for (_v, symbol, _d) in _partitions(path))


def with_depth(events: np.ndarray, registry, path, symbols=None, start_ns=None, end_ns=None) -> np.ndarray:
    """``events`` (of the dataset in ``path``, ids of ``registry``) with the dataset's DEPTH rows of ``symbols``
    received in [start_ns, end_ns) merged in, in receive order (at one receive time, ``events`` first)."""
    lo = -(2**63) if start_ns is None else int(start_ns)
    hi = 2**63 - 1 if end_ns is None else int(end_ns)
    rows, _reg = load_depth(path, symbols=symbols, recv_range=(lo, hi), registry=registry)
    if not len(rows):
        return events
    both = np.concatenate([events, rows])
    return both[np.argsort(both["ts_recv"], kind="stable")]


def split_depth(events: np.ndarray, trade_ids=None):
    """``(events without their DEPTH rows, their trade ids, the DEPTH rows or None)`` (no copy without depth)."""
    if not len(events):
        return events, trade_ids, None
    depth = events["kind"] == int(Kind.DEPTH)
    if not depth.any():
        return events, trade_ids, None
    if depth.all():  # a depth file: no copy
        return events[:0], (trade_ids[:0] if trade_ids is not None else None), events
    rest = ~depth
    return events[rest], (trade_ids[rest] if trade_ids is not None else None), events[depth]


def write_depth(out_dir, events: np.ndarray, registry) -> dict:
    """Add the DEPTH rows of ``events`` (in receive order within each symbol, as a reader gives them) to the
    dataset in ``out_dir`` (the caller holds its writer lock) -> ``{"partitions", "rows_added"}``.  Per
    (venue, symbol, receive day): the new rows replace the old rows received within their first and last
    receive time (writing the same data again changes nothing), the others kept, in receive order."""
    from liqcore.io import storage

    if storage.is_url(out_dir):
        raise ValueError("dataset: depth rows are written to a local dataset only (convert into a directory, "
                         "then copy it to the object store)")
    kind = events["kind"]
    ev = events if int(kind.min()) == int(kind.max()) == int(Kind.DEPTH) else events[kind == int(Kind.DEPTH)]
    if not len(ev):
        return {"partitions": 0, "rows_added": 0}
    recv, sid, ven = ev["ts_recv"], ev["symbol_id"], ev["venue"]
    d0, d1 = int(recv.min()) // _NS_PER_DAY, int(recv.max()) // _NS_PER_DAY
    if d0 == d1 and int(sid.min()) == int(sid.max()) and int(ven.min()) == int(ven.max()):
        # the usual file: one symbol and one day, one partition (no grouping pass)
        uniq = np.array([(int(sid[0]) * VENUE_SPAN + venue_slot(ven[0])) * 1_000_000 + d0])
        order, bounds = None, np.array([0, len(ev)])
    else:
        key = (sid.astype(np.int64) * VENUE_SPAN + venue_slot(ven)) * 1_000_000 + recv // _NS_PER_DAY
        uniq, inv = np.unique(key, return_inverse=True)
        del key
        order = np.argsort(inv.reshape(-1), kind="stable")  # each partition's rows, in their order
        bounds = np.concatenate([[0], np.cumsum(np.bincount(inv.reshape(-1), minlength=len(uniq)))])
        del inv
    have = _partitions(out_dir)
    syms = registry.symbols_array()
    vnames = venue_slot_names()
    written = added = 0
    for j, g in enumerate(uniq.tolist()):
        rest, d = divmod(g, 1_000_000)
        sid, v = divmod(rest, VENUE_SPAN)
        venue, symbol = vnames[v], str(syms[sid])
        date = str(np.datetime64(d, "D"))
        if not venue or not symbol or "/" in symbol or symbol.startswith("."):
            continue
        new = ev if order is None else take_records(ev, order[bounds[j]:bounds[j + 1]])  # (never written to)
        r = new["ts_recv"]
        if len(r) > 1 and not bool(np.all(r[1:] >= r[:-1])):
            new = take_records(new, np.argsort(r, kind="stable"))
        dest = Path(out_dir) / DEPTH_DIR / f"venue={venue}" / f"symbol={symbol}" / f"date={date}" / "depth.parquet"
        old_f = have.get((venue, symbol, date))
        if old_f is not None:
            old, _n = _read_file(old_f)
            lo, hi = int(new["ts_recv"][0]), int(new["ts_recv"][-1])
            inside = old[(old["ts_recv"] >= lo) & (old["ts_recv"] <= hi)]
            if len(inside) == len(new) and all(np.array_equal(inside[c], new[c]) for c in _STORED):
                if not _has_digest(dest.with_name(BOOK_FILE)):  # (written before checkpoints or their digest)
                    k = _ticks(old["price"])[0]
                    if k is not None:
                        _write_book(old, dest, int(k))
                continue  # the same rows again: nothing to add
            rows = np.concatenate([old, new])  # another source: both, old rows first at equal receive times
            rows = rows[np.argsort(rows["ts_recv"], kind="stable")]
            added += len(new)
        else:
            rows = new
            added += len(rows)
        _write_file(rows, venue, symbol, dest)
        written += 1
    return {"partitions": written, "rows_added": int(added)}


def load_depth(path, symbols=None, venues=None, recv_range=None, price_range=None, registry=None):
    """The DEPTH rows of the dataset in ``path`` -> ``(events, registry)``: EVENT_DTYPE rows in receive order
    (stable: a symbol's rows in their written order), of ``symbols`` / ``venues`` (names; None: all).
    ``recv_range`` ``(lo, hi)``: only the row groups that hold rows received in [lo, hi) are read, and only
    those rows kept.  ``price_range`` ``(lo, hi)``: rows priced outside it are left out, except snapshot and
    gap rows (a snapshot run's reset and a gap stay known); row groups of updates alone that cannot touch it
    are not read.  A dataset without depth: no rows."""
    from liqcore.types import SymbolRegistry

    from liqcore.dataset.selection import selection_names

    reg = registry if registry is not None else SymbolRegistry()
    symbols, venues = selection_names(symbols), selection_names(venues, lower=True)
    want_s = {str(s).upper() for s in symbols} if symbols else None
    want_v = {str(v).lower() for v in venues} if venues else None
    chunks = []
    for (venue, symbol, date), f in sorted(_partitions(path).items()):
        if (want_s is not None and symbol.upper() not in want_s) or (want_v is not None and venue not in want_v):
            continue
        if recv_range is not None:
            d0 = int(np.datetime64(date, "D").astype(np.int64)) * _NS_PER_DAY
            if d0 + _NS_PER_DAY <= recv_range[0] or d0 >= recv_range[1]:
                continue
        rows, _n = _read_file(f, recv_range, price_range)  # (the rows received in recv_range only)
        if price_range is not None and len(rows):
            p = rows["price"]
            rows = rows[((p >= price_range[0]) & (p <= price_range[1])) | ((rows["flags"] & _RUN) != 0)]
        rows["symbol_id"] = reg.id(venue, symbol)
        rows["venue"] = _venue_code(venue)
        chunks.append(rows)
    if not chunks:
        return np.zeros(0, EVENT_DTYPE), reg
    if len(chunks) == 1:
        return chunks[0], reg
    out = np.concatenate(chunks)
    return out[np.argsort(out["ts_recv"], kind="stable")], reg


class BookStart:
    """The depth book of one (venue, symbol) just before a receive time (:meth:`DepthIndex.start`): the
    checkpoint's levels (``bid`` 1 a bid, ``price``, ``qty``), its ``m_run`` / ``m_known``, and the DEPTH rows
    received from the checkpoint up to that time (``rows``, receive order).  ``empty``: no DEPTH row came
    before it."""

    __slots__ = ("bid", "price", "qty", "m_run", "m_known", "rows", "empty")

    def __init__(self, bid, price, qty, m_run, m_known, rows, empty=False):
        self.bid, self.price, self.qty, self.m_run, self.m_known = bid, price, qty, m_run, m_known
        self.rows, self.empty = rows, empty


class DepthIndex:
    """The book checkpoints of one (venue, symbol)'s depth files in the dataset at ``path``, read as asked:
    :meth:`start` gives the book at any receive time from the checkpoint before it and the rows between,
    without replaying the day.  ``ValueError`` (its message says why) when the files cannot prove it: a
    file without checkpoints (written before them), or one whose fingerprint or content digest (SHA-256) differs
    from the one its checkpoints were made of."""

    def __init__(self, path, venue: str, symbol: str, symbol_id: int = 0):
        self.symbol_id, self.venue_code = int(symbol_id), _venue_code(venue)
        self.files = sorted((d, f) for (v, s, d), f in _partitions(path).items()
                            if v == venue and s.upper() == str(symbol).upper())
        self._metas: dict = {}  # file index -> its row groups' statistics (:meth:`_meta`)
        self._books: dict = {}  # file index -> its checkpoints, fingerprint and digest checked (:meth:`_file`)
        self._recent: dict = {}  # the row groups decoded last, oldest first

    def _meta(self, j: int):
        """(the open file, its row groups' least and greatest receive times, its row groups' rows) of file
        ``j``, read once."""
        got = self._metas.get(j)
        if got is None:
            import pyarrow.parquet as pq

            f = self.files[j][1]
            pf = pq.ParquetFile(f)
            md = pf.metadata
            col = pf.schema_arrow.names.index("ts_recv_ns")
            lo, hi, n = [], [], []
            for g in range(md.num_row_groups):
                s = md.row_group(g).column(col).statistics
                if s is None or not s.has_min_max:
                    raise ValueError(f"{f}: a row group without receive-time statistics")
                lo.append(int(s.min))
                hi.append(int(s.max))
                n.append(int(md.row_group(g).num_rows))
            got = self._metas[j] = (pf, np.asarray(lo, np.int64), np.asarray(hi, np.int64), n)
        return got

    def _file(self, j: int):
        got = self._books.get(j)
        if got is None:
            import orjson
            import pyarrow.parquet as pq

            f = self.files[j][1]
            pf, lo, hi, n = self._meta(j)
            have = [[a, b, c] for a, b, c in zip(lo.tolist(), hi.tolist(), n)]
            bf = f.with_name(BOOK_FILE)
            if not bf.is_file():
                raise ValueError(f"{f} has no book checkpoints (written before them: convert again to add them)")
            bp = pq.ParquetFile(bf)
            info = orjson.loads(bp.schema_arrow.metadata[b"liqcore"])
            dep = info.get("depth", {})
            if (int(info.get("book_format", 0)) != BOOK_FORMAT or int(info.get("group_rows", 0)) != DEPTH_GROUP_ROWS
                    or dep.get("size") != f.stat().st_size or dep.get("rows") != pf.metadata.num_rows
                    or dep.get("groups") != have):
                raise ValueError(f"{bf} is not the checkpoints of {f.name} (its fingerprint differs)")
            from liqcore.dataset.checked import file_digest

            want = dep.get("sha256")
            if not isinstance(want, str):
                raise ValueError(f"{bf} has no content digest of {f.name} (written before it: convert again to "
                                 "add it)")
            key, digest = file_digest(str(f))
            if digest != want or key[0] != dep.get("size"):
                raise ValueError(f"{bf} is not the checkpoints of {f.name} (its content digest differs)")
            got = self._books[j] = (pf, bp, info, lo)
        return got

    def rows(self, lo: int, hi: int, event_times: bool = True, filt=None) -> np.ndarray:
        """The DEPTH rows received in [lo, hi) (receive order, ``symbol_id`` and ``venue`` those given to the
        index), from the row groups that hold them, each file's statistics read once and the last row groups
        decoded kept as columns (a replay reads on in short steps: each row group is decoded once;
        ``event_times``: :func:`_read_file`).  ``filt(ts_recv, price, side, flags)``: the mask of those rows to
        keep, given their columns (every row received in [lo, hi), in receive order), taken before any row is
        built."""
        parts = []
        for j, (date, f) in enumerate(self.files):
            d0 = int(np.datetime64(date, "D").astype(np.int64)) * _NS_PER_DAY
            if d0 + _NS_PER_DAY <= lo or d0 >= hi:
                continue
            pf, g_lo, g_hi, _n = self._meta(j)
            for g in np.flatnonzero((g_hi >= lo) & (g_lo < hi)).tolist():
                cols = self._group(j, g, event_times)
                a, b = (int(x) for x in np.searchsorted(cols[0], [lo, hi], "left"))
                if b > a:
                    parts.append((cols, a, b))
        keeps = None
        if filt is not None and parts:  # (one mask over the whole range: a receive time's rows kept together)
            pieces = ([c[i][a:b] for c, a, b in parts] for i in (0, 2, 4, 5))
            m = filt(*(p[0] if len(p) == 1 else np.concatenate(p) for p in pieces))
            ends = np.cumsum([b - a for _c, a, b in parts]).tolist()
            keeps = [m[e - (b - a):e] for (_c, a, b), e in zip(parts, ends)]
        return _pack(parts, self.symbol_id, self.venue_code, keeps)

    def _group(self, j: int, g: int, event_times: bool) -> tuple:
        """Row group ``g`` of file ``j`` decoded as columns (:func:`_columns`), the last four kept."""
        key = ("g", j, g, event_times)
        r = self._recent.get(key)
        if r is None:
            r, _n = _read_columns(self.files[j][1], None, groups=[g], pf=self._meta(j)[0], event_times=event_times)
            tr = r[0]
            if len(tr) > 1 and not bool(np.all(tr[1:] >= tr[:-1])):
                raise ValueError(f"{self.files[j][1]}: row group {g} is not in receive order")
            self._recent[key] = r
            while len(self._recent) > 4:  # (the oldest decoded group goes)
                self._recent.pop(next(iter(self._recent)))
        return r

    def start(self, recv: int, event_times: bool = True) -> BookStart:
        """The book just before receive time ``recv`` (every DEPTH row received before it applied)."""
        for j in range(len(self.files) - 1, -1, -1):
            day0 = int(np.datetime64(self.files[j][0], "D").astype(np.int64)) * _NS_PER_DAY
            if day0 >= recv:  # (a file holds the rows received on its day)
                continue
            pf, bp, info, first = self._file(j)
            c = int(np.searchsorted(first, recv, "left")) - 1  # the last row group with a row before recv
            if c < 0:
                continue
            off = info["offsets"]
            a, b = int(off[c]), int(off[c + 1])
            t = bp.read_row_groups(list(range(a // BOOK_GROUP_ROWS, (b - 1) // BOOK_GROUP_ROWS + 1))) \
                if b > a else None
            r0 = (a // BOOK_GROUP_ROWS) * BOOK_GROUP_ROWS
            if t is not None:
                t = t.slice(a - r0, b - a)
            scale = float(10 ** int(info["price_decimals"]))
            bid = t.column("bid").to_numpy() if t is not None else np.zeros(0, np.int8)
            price = (t.column("price_ticks").to_numpy() / scale) if t is not None else np.zeros(0)
            qty = t.column("qty").to_numpy() if t is not None else np.zeros(0)
            cols = self._group(j, c, event_times)
            rows = _pack([(cols, 0, int(np.searchsorted(cols[0], recv, "left")))], self.symbol_id, self.venue_code)
            if not info["based"][c] and j > 0 and not bool((rows["flags"] & _RUN).any()):
                raise ValueError(f"{self.files[j][1]}: no snapshot run before row group {c}: its book carries "
                                 "the day before's")  # (a snapshot run or a gap read here: the book is its own)
            mr = int(info["m_run"][c])
            return BookStart(bid, price, qty, mr, int(info["m_known"][c]), rows)
        return BookStart(np.zeros(0, np.int8), np.zeros(0), np.zeros(0), 0, 0, np.zeros(0, EVENT_DTYPE), empty=True)
