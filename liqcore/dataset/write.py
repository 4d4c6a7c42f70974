"""Writing a dataset: :func:`write_dataset`, :func:`convert_to_dataset`, the manifest and the writer lock.

Each partition a write touches is rewritten as the union of its old and new rows, in sections, its
checked mark taken of the bytes written, the manifest and marks updated, under :func:`dataset_lock`
(a ``flock``, or a lock object on object storage).  Layout, duplicates, the manifest, the lock:
docs/maintainers/data.md, "The dataset's files"; converting and killed converts: docs/how-to/dask-s3.md, "Partitioned datasets".

Why one module: writing a partition is one transaction, each step reading the state the one before left
(the rows' layout and their merge: ``rows.py``; the writer lock: ``lock.py``; the read-ahead: ``readahead.py``).  May import: numpy, pyarrow, ``types``, ``validate``, ``_atomic``,
``_libs.readrows``, ``venues.common``, ``io`` (the sources, storage) and this package's ``manifest``, ``read``, ``checked``, ``partfile``, ``clock``, ``fpindex``, ``readahead``.
"""
from __future__ import annotations

import functools

import os
from pathlib import Path

import numpy as np

from liqcore._atomic import replace_durably
from liqcore.dataset.checked import ASK_COLS
from liqcore.dataset.clock import KEY as CLOCK_KEY
from liqcore.dataset.readahead import _ReadAhead, _name_day, _plan
from liqcore.dataset.fpindex import BLOCK as FP_BLOCK, KEY as FP_KEY, Builder as FirstPassage
from liqcore.dataset.lock import LOCK, DatasetLocked, dataset_lock, remove_stale_temporaries  # noqa: F401
from liqcore.dataset.manifest import load as _read_manifest, read_manifest, save as _save_manifest  # noqa: F401
from liqcore.dataset.manifest import selection as _selection
from liqcore.dataset.read import FORMAT, MANIFEST, NS_PER_DAY
from liqcore.dataset.rows import (_FILE_COLUMNS, _ROW_DTYPE, _equal_time_runs, _merge_rows, _merge_runs,  # noqa: F401
                                  _not_quotes, _run_duplicates, _runs_at)
from liqcore.types import EVENT_DTYPE, Kind, take_records


__all__ = ["write_dataset", "convert_to_dataset", "read_manifest", "dataset_lock", "DatasetLocked",
           "remove_stale_temporaries"]




def _dates(ts_ns: np.ndarray) -> np.ndarray:
    return (np.asarray(ts_ns, dtype=np.int64) // NS_PER_DAY).astype("datetime64[D]").astype(str)


def write_dataset(events, out_dir, registry=None, *, lock_wait: float | None = None, trade_ids=None,
                  checked: bool | None = None) -> dict:
    """Add ``events`` (a LoadResult, or an EVENT_DTYPE array with ``registry``) to the dataset in
    ``out_dir``, holding its writer lock (``lock_wait``: see :func:`dataset_lock`).  Returns
    ``{"partitions": n touched, "rows_added": n new rows kept, "rows_refused": n}``: rows whose venue or
    symbol is not a valid name (see :mod:`liqcore.validate`) are refused, never written (a symbol never
    names a directory outside the dataset).  ``checked``: the events passed a load's checks (default: a
    LoadResult's own ``checked``; a bare array: False); then the partition files are marked so, when
    the row rules hold for every row, and reads do not judge them again (:mod:`liqcore.dataset.checked`)."""
    from liqcore.io import LoadResult

    if isinstance(events, LoadResult):
        checked = events.checked if checked is None else checked
        events, registry, trade_ids = events.events, events.registry, events.trade_ids
    checked = bool(checked)
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
        got = f"an array of dtype {events.dtype}" if isinstance(events, np.ndarray) else type(events).__name__
        raise ValueError(f"events: expected a LoadResult or an EVENT_DTYPE array; got {got}")  # (before any folder)
    if registry is None:
        raise ValueError("registry: needed to name the symbols of a bare event array")
    with dataset_lock(out_dir, wait=lock_wait):
        return _write_dataset(events, out_dir, registry, trade_ids, checked)


def _rows_of(events: np.ndarray, trade_ids=None) -> np.ndarray:
    """Events -> a partition's rows, in one compiled pass (:func:`liqcore._libs.reading.partition_rows`); an
    empty side of the book (a quote of size 0) with the price 0 a load gives it
    (:func:`liqcore.io.contract.contract_table`; the tardis reader leaves it NaN), so the rows written are the
    rows read back and the file can be marked checked."""
    from liqcore._libs.reading import partition_rows

    return partition_rows(events, trade_ids, np.empty(len(events), _ROW_DTYPE))


def _rows_of_table(table) -> np.ndarray:
    """A partition file's table (any format; of the event contract's columns: :func:`_read_partition` reads it
    checked) -> rows, in the file's order, a format-3 quote row carrying its ask as its two rows (the bid, then the
    ask); an optional column it lacks is its value for none."""
    from liqcore.dataset.read import upgrade_table

    from liqcore.dataset.checked import expand_pairs

    table = upgrade_table(table)
    n = table.num_rows
    cols = {}
    for c, t, _f in _FILE_COLUMNS + tuple((a, "float64", None) for a in ASK_COLS):
        if c not in table.column_names:
            if c not in ASK_COLS:
                cols[c] = np.full(n, -1 if c == "ts_recv_ns" else 0, t)
            continue
        col = table.column(c)
        if c == "trade_id":
            col = col.fill_null(0)
        cols[c] = np.asarray(col.to_numpy(zero_copy_only=False)).astype(t, copy=False)
    del table
    cols = expand_pairs(cols)  # format 3: a quote row carrying its ask -> the bid row and the ask row
    rows = np.empty(len(cols["kind"]), _ROW_DTYPE)
    for c, _t, _f in _FILE_COLUMNS:
        rows[c] = cols.pop(c)
    return rows


#: the format partition files are written in (3; 2: every quote as two rows, kept for tests comparing the two)
_WRITE_FORMAT = FORMAT


def _file_table(rows, venue: str, symbol: str, checked: bool = False, ask=None):
    """A block of a partition file: ``rows``' columns (rows, or their columns:
    :func:`liqcore._libs.reading.file_columns`), in format 3 with the ask columns (``ask``: their values, NaN
    for null; None: all null)."""
    import orjson
    import pyarrow as pa

    from liqcore._libs.reading import file_columns

    cols = {c: pa.array(v) for c, v in (rows if isinstance(rows, dict) else file_columns(rows, False)).items()}
    n = len(cols["kind"])
    info = {"format": _WRITE_FORMAT, "venue": venue, "symbol": symbol}
    if checked:  # its rows passed a load's checks: reads do not judge them again (liqcore.dataset.checked)
        info["checked"] = True
    meta = {b"liqcore": orjson.dumps(info)}
    if _WRITE_FORMAT >= 3:
        for name, v in zip(ASK_COLS, ask if ask is not None else (None, None)):
            cols[name] = pa.nulls(n, pa.float64()) if v is None else pa.array(v, from_pandas=True)
    return pa.table(cols).replace_schema_metadata(meta)


def _pairs(q: np.ndarray) -> np.ndarray:
    """Positions ``i`` of quote rows ``q`` (in file order) whose row ``i + 1`` is the other side of the same
    top-of-book update: a bid (side buy) then an ask (side sell) with the same event and receive times and
    flags, no trade id, an ask price that is a number.  (Two candidates never overlap: a candidate's second
    row is an ask, a candidate's first a bid.)"""
    if len(q) < 2:
        return np.zeros(0, np.int64)
    a, b = q[:-1], q[1:]
    c = ((a["side"] == 3) & (b["side"] == 4) & (a["ts_event_ns"] == b["ts_event_ns"])
         & (a["ts_recv_ns"] == b["ts_recv_ns"]) & (a["flags"] == b["flags"]) & (a["trade_id"] == 0)
         & (b["trade_id"] == 0) & ~np.isnan(b["price"]))
    return np.flatnonzero(c)


def _write_parquet(rows: np.ndarray, meta: tuple, where) -> None:
    """One partition file of ``rows`` (_ROW_DTYPE, sorted by event time; ``meta``: the
    :func:`_file_table` arguments after the rows) in sections, each in its own row groups of at most
    ROW_GROUP_ROWS rows and sorted by event time: first every kind but trades and quotes (liquidations,
    marks, funding, gaps: a small share), then the trades, then the quotes, each top-of-book update one
    row carrying its bid and ask (:func:`_quote_table`; format 2: trades and quotes in one section,
    two rows per update); so a read of some kinds skips the other sections' row groups by their ``kind``
    statistics.  Each section goes to the file in blocks of whole row groups: no columnar copy of the
    partition is held beside its rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from liqcore.dataset.read import ROW_GROUP_ROWS

    parts = rows if isinstance(rows, list) else _by_section(rows)  # (the sections: each sorted by event time)
    if _WRITE_FORMAT < 3:  # trades and quotes in one section, in the merge's order
        parts = [parts[0], _merge_rows(np.concatenate(parts[1:]))]
    schema = _file_table(parts[0][:0], *meta).schema
    step = 64 * ROW_GROUP_ROWS  # a block: 64 row groups
    # dictionary pages only for the few-valued columns: on times and prices they cost time and size; the
    # times (sorted, or nearly) and the trade ids (counting up) as deltas: a fifth less disk than plain
    # values (a day of 3 M trades and 6 M quotes: 153 -> 117 MB), decoded as fast
    enc = {c: "DELTA_BINARY_PACKED" for c in _DELTA_COLUMNS} if _WRITE_FORMAT >= 3 else None
    fp = FirstPassage() if _WRITE_FORMAT >= 3 else None  # the first-passage index (its module: why)
    # pages of two first-passage blocks each (format 3): a read of a few seconds decodes the pages of the blocks
    # that can hold them, not the whole row group (liqcore.dataset.pages); pages of one block cost the write a
    # fifth more CPU (a page's header, statistics and compression each) for a read decoding half as many rows.
    # (a pyarrow before 22 has no such option: its pages are then larger, read the same way)
    pages = {"max_rows_per_page": PAGE_ROWS} if _WRITE_FORMAT >= 3 and _page_rows_option() else {}
    # and each chunk's page places (Parquet's page index: its offset index), so a read of a few pages reads
    # their bytes alone, not the chunk's bytes before them (liqcore.dataset.pages.read_rows)
    if _WRITE_FORMAT >= 3 and PAGE_INDEX:
        pages["write_page_index"] = True
    from liqcore.io.contract import column_codecs

    with pq.ParquetWriter(where, schema, compression=column_codecs(schema.names),  # (the times and codes: none)
                          use_dictionary=["kind", "side", "flags"], column_encoding=enc, **pages) as w:
        for j, section in enumerate(parts):
            if j < 2:
                for a in range(0, len(section), step):
                    t = _file_table(section[a:a + step], *meta)
                    w.write_table(t, row_group_size=ROW_GROUP_ROWS)
                    if fp is not None:
                        fp.add(t, ROW_GROUP_ROWS)
                continue
            carry = None  # compacted rows short of a whole row group, written with the next block
            a = 0
            while a < len(section):
                b = min(a + step, len(section))
                block = section[a:min(b + 1, len(section))]  # (one row ahead: its pair)
                if b < len(section) and len(_pairs(block[-2:])):  # the block's last row is a bid whose ask is next
                    b += 1
                else:
                    block = block[:b - a]
                t = _quote_table(block, meta)
                t = t if carry is None else pa.concat_tables([carry, t])
                whole = t.num_rows if b >= len(section) else t.num_rows // ROW_GROUP_ROWS * ROW_GROUP_ROWS
                if whole:
                    w.write_table(t.slice(0, whole), row_group_size=ROW_GROUP_ROWS)
                    if fp is not None:
                        fp.add(t.slice(0, whole), ROW_GROUP_ROWS)
                carry = t.slice(whole) if whole < t.num_rows else None
                a = b
        index = _clock_index(parts)
        if index is not None:
            w.add_key_value_metadata({CLOCK_KEY: index})
        fp_index = None if fp is None else fp.encode()
        if fp_index is not None:
            w.add_key_value_metadata({FP_KEY: fp_index})


#: write each column chunk's page places (off: files as written before them, for the tests of reading those)
PAGE_INDEX = True
#: the rows of a data page of a format-3 file (two first-passage blocks)
PAGE_ROWS = 2 * FP_BLOCK


@functools.lru_cache(maxsize=1)
def _page_rows_option() -> bool:
    """Whether this pyarrow's ParquetWriter takes ``max_rows_per_page``."""
    import inspect

    import pyarrow.parquet as pq

    return "max_rows_per_page" in inspect.signature(pq.ParquetWriter.__init__).parameters


def _clock_index(parts: list) -> bytes | None:
    """The file's clock index (:mod:`liqcore.dataset.clock`): each liquidation and gap of the rare section
    with the bulk row that sets the detector's clock there, over the bulk sections as written (a quote
    pair compacted into one row keeps its two rows' times).  None without such rows."""
    from liqcore.dataset.clock import encode, witnesses

    rare = parts[0]
    who = (rare["kind"] == int(Kind.LIQUIDATION)) | (rare["kind"] == int(Kind.GAP))
    if not bool(who.any()):
        return None
    r_te, r_tr = rare["ts_event_ns"][who], rare["ts_recv_ns"][who]
    got = witnesses([(p["ts_event_ns"], p["ts_recv_ns"]) for p in parts[1:]], r_te, r_tr)
    return None if got is None else encode(r_te, r_tr, *got)


#: the columns a format-3 file stores as deltas (Parquet's DELTA_BINARY_PACKED)
_DELTA_COLUMNS = ("ts_event_ns", "ts_recv_ns", "trade_id")


def _quote_table(block: np.ndarray, meta: tuple):
    """A block of quote rows as a partition file's table: each bid-and-ask pair one row carrying the ask (the
    rule written out in ``pysrc/readrows.py``, in one compiled pass: :func:`liqcore._libs.reading.file_columns`)."""
    from liqcore._libs.reading import file_columns

    cols = file_columns(block, True)
    ask = (cols.pop("ask_price"), cols.pop("ask_qty"))
    return _file_table(cols, *meta, ask=ask)


def _write_format(out_dir, symbols) -> None:
    """The dataset's format file: the format, the code tables, its (venue, symbol) table."""
    import orjson

    from liqcore.io import storage
    from liqcore.dataset.read import FORMAT_FILE, KIND_NAMES, ROW_GROUP_ROWS, SIDE_NAMES

    body = orjson.dumps({"format": _WRITE_FORMAT, "kinds": list(KIND_NAMES), "sides": list(SIDE_NAMES),
                         "row_group_rows": ROW_GROUP_ROWS, "sections": True,
                         **({"quote_rows": "paired"} if _WRITE_FORMAT >= 3 else {}),
                         "symbols": sorted([list(x) for x in symbols])},
                        option=orjson.OPT_INDENT_2)
    if storage.is_url(out_dir):
        storage.write_bytes(storage.join(out_dir, FORMAT_FILE), body)
        return
    tmp = Path(out_dir) / f".{FORMAT_FILE}.tmp{os.getpid()}"
    tmp.write_bytes(body)
    replace_durably(tmp, Path(out_dir) / FORMAT_FILE)


def _partition_files(out_dir, url: bool) -> dict:
    """(venue, symbol, date) -> the partition's Parquet files (paths, or keys of the object store)."""
    if url:
        from liqcore.dataset.read import _url_partitions

        return _url_partitions(out_dir)
    out = Path(out_dir)
    have: dict = {}
    for f in out.glob("venue=*/symbol=*/date=*/*.parquet"):
        d, s, v = f.parent, f.parent.parent, f.parent.parent.parent
        have.setdefault((v.name[6:], s.name[7:], d.name[5:]), []).append(str(f))
    return have


def _check_partitions(out_dir, url: bool, files) -> None:
    """Each local partition file of ``files`` a Parquet file of the event contract, before a write rewrites any
    (:func:`liqcore.dataset.partfile.check_file`: its footer, one line naming the first that is not); object
    storage: judged as each is read (:func:`_read_partition`)."""
    if url:
        return
    from liqcore.dataset.partfile import check_file

    for f in sorted(files):
        check_file(str(f))


def _read_partition(out_dir, url: bool, files) -> np.ndarray:
    """A partition's files read whole -> its rows; a file that is no Parquet file of the event contract is a
    ValueError naming it (never a row made of defaults: :func:`liqcore.dataset.partfile.read_table`)."""
    import pyarrow as pa

    from liqcore.dataset.partfile import read_table
    from liqcore.io import storage

    if url:
        import io

        fs, _r = storage.filesystem(out_dir)
        with storage.storage_errors(out_dir):
            tables = [read_table(io.BytesIO(fs.cat_file(f)), storage.display(storage.join(out_dir, f[len(_r):]))
                                 if f.startswith(_r) else f) for f in files]
    else:
        tables = [read_table(f, str(f)) for f in files]
    parts = [_rows_of_table(t) for t in tables]
    del tables
    # the decoded columns go back to the system now, not held by pyarrow's pool beside the merge's arrays
    pa.default_memory_pool().release_unused()
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _put_partition(out_dir, url: bool, key: tuple, rows: np.ndarray, old_files, checked: bool = False,
                   marks: dict | None = None) -> None:
    """One partition written whole: a local file replaced atomically, or one object in one request;
    its other files then go.  ``checked``: its rows passed a load's checks: the file's mark (its size and
    digest, :func:`liqcore.dataset.checked.mark_of`) goes into ``marks`` (the dataset's checked marks, by path in
    the dataset; the partition's old marks leave it either way)."""
    from liqcore.io import storage

    v, s, d = key
    meta = (v, s, checked)
    name = f"venue={v}/symbol={s}/date={d}"
    if url:
        import io

        buf = io.BytesIO()
        _write_parquet(rows, meta, buf)
        storage.write_bytes(storage.join(out_dir, name, "part-0.parquet"), buf.getvalue())
        fs, _root = storage.filesystem(out_dir)
        for f in old_files or ():
            if not f.endswith("/part-0.parquet"):
                with storage.storage_errors(out_dir, "writing"):
                    fs.rm_file(f)
        return
    part_dir = Path(out_dir) / f"venue={v}" / f"symbol={s}" / f"date={d}"
    part_dir.mkdir(parents=True, exist_ok=True)
    tmp = part_dir / f".part-0.parquet.tmp{os.getpid()}"
    try:
        _write_parquet(rows, meta, tmp)
    except BaseException:  # (an interrupt or a full disk inside the write: its temporary goes, the old file stays)
        tmp.unlink(missing_ok=True)
        raise
    if marks is not None:
        for rel in [r for r in marks if r.startswith(name + "/")]:
            del marks[rel]
        if checked:  # the bytes written (a rename keeps them)
            from liqcore.dataset.checked import mark_of

            marks[f"{name}/part-0.parquet"] = mark_of(str(tmp))
    replace_durably(tmp, part_dir / "part-0.parquet")
    for stale in part_dir.glob("*.parquet"):
        if stale.name != "part-0.parquet":
            stale.unlink()


def _upgrade(out_dir, url: bool, have: dict, fmt: dict | None = None) -> None:
    """A dataset of an older format, rewritten in the format written now (each partition file replaced
    whole), once, before anything is added to it; the format file comes last.  A file's checked mark
    carries over when the file is the one marked (the rows are the same rows, laid out anew)."""
    marks = None
    if not url and fmt is not None:
        from liqcore.dataset.checked import read_marks

        marks = dict(read_marks(Path(out_dir)))
    root = None if url else Path(out_dir)
    _check_partitions(out_dir, url, [f for fs in have.values() for f in fs])  # (before any is rewritten)
    for key, files in sorted(have.items()):
        rows = [_merge_rows(x) for x in _by_section(_read_partition(out_dir, url, files))]
        ok = marks is not None and _still_checked(rows, key[1], files, True, marks, root)
        _put_partition(out_dir, url, key, rows, files, ok, marks)
    if marks is not None:
        _write_marks(out_dir, marks)


def _write_marks(out_dir, marks: dict) -> None:
    """The local dataset's checked marks (:data:`liqcore.dataset.checked.MARKS_FILE`), replaced durably."""
    import orjson

    from liqcore.dataset.checked import MARKS_FILE

    body = orjson.dumps({"format": 1, "digest": "sha256", "files": dict(sorted(marks.items()))},
                        option=orjson.OPT_INDENT_2)
    tmp = Path(out_dir) / f".{MARKS_FILE}.tmp{os.getpid()}"
    tmp.write_bytes(body)
    replace_durably(tmp, Path(out_dir) / MARKS_FILE)


def _still_checked(rows: np.ndarray, symbol: str, old_files, new_checked: bool, marks: dict | None = None,
                   root=None) -> bool:
    """Whether a partition's merged ``rows`` may be marked checked: the new rows came from a load's
    checks, the old file (if any) is the one its mark in ``marks`` (the dataset's, in ``root``) was taken
    of (:func:`liqcore.dataset.checked.verified`), the row rules hold for every row
    (:func:`liqcore.dataset.rows.row_problems`) and, when old and new rows meet, a load's duplicate rule
    finds no pair among them."""
    from liqcore.dataset.checked import verified
    from liqcore.dataset.rows import row_problems

    parts = rows if isinstance(rows, list) else [rows]  # (a partition's sections, each merged on its own)
    if not new_checked or any(row_problems(r, symbol) for r in parts):
        return False
    if old_files:
        marks = marks or {}
        if any(not str(f).endswith(".parquet") or not Path(f).is_file()
               or not verified(str(f), marks.get(Path(f).relative_to(root).as_posix())) for f in old_files):
            return False
        from liqcore.types import take_records

        for r in parts:
            idx = _equal_time_runs(r["ts_event_ns"])  # merged rows are sorted: duplicates share a time
            idx = _not_quotes(r, idx)
            if len(idx) and _run_duplicates(take_records(r, idx)) is not None:
                return False
    return True


def _write_dataset(events, out_dir, registry, trade_ids=None, checked: bool = False) -> dict:
    from liqcore.io import storage

    events = np.asarray(events)
    url = storage.is_url(out_dir)
    if not url:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    if len(events) == 0:
        return {"partitions": 0, "rows_added": 0, "rows_refused": 0}
    from liqcore.dataset.depth import split_depth, write_depth

    events, trade_ids, depth = split_depth(events, trade_ids)  # depth: its own compact files
    d = write_depth(out_dir, depth, registry) if depth is not None else {"partitions": 0, "rows_added": 0}
    parts, refused = _split(events, registry, trade_ids, None if url else Path(out_dir).resolve())
    n_parts, added = _write_parts(out_dir, {k: ([rows], checked) for k, rows in parts})
    return {"partitions": n_parts + d["partitions"], "rows_added": int(added) + d["rows_added"],
            "rows_refused": int(refused)}


def _split(events: np.ndarray, registry, trade_ids, root) -> tuple[list, int]:
    """``events`` cut into their (venue, symbol, UTC date) partitions -> ``([(key, rows), ...], rows
    refused)``: each partition's rows (:data:`_ROW_DTYPE`, in the events' order), keyed by the
    partition's names (from the codes, never from a pass over names); rows whose venue or symbol cannot
    name a directory inside the dataset (``root``; None: object storage) are refused."""
    from liqcore.types import VENUE_SPAN, take_records, venue_slot, venue_slot_names

    if not len(events):
        return [], 0
    from liqcore._libs.reading import event_scan

    sid = events["symbol_id"]
    venue = events["venue"]
    te = events["ts_event"]
    sc = event_scan(events)  # the ranges and the order in one pass
    d0 = sc.te_min // NS_PER_DAY
    ndays = sc.te_max // NS_PER_DAY - d0 + 1
    if sc.sid_min == sc.sid_max and sc.venue_min == sc.venue_max and sc.te_sorted:
        # one venue and symbol in event-time order (a day file): its days are runs, cut without a sort where
        # each next day starts (a search of the sorted times, not a day of every row); days without rows dropped
        cut = np.searchsorted(te, np.arange(d0 + 1, d0 + ndays, dtype=np.int64) * NS_PER_DAY, side="left")
        bounds = np.concatenate([[0], cut, [len(te)]])
        held = np.flatnonzero(bounds[1:] > bounds[:-1])  # the days that have rows
        g0 = ((int(sid[0]) + 1) * VENUE_SPAN + venue_slot(venue[0])) * ndays - d0
        uniq = g0 + d0 + held
        bounds = np.append(bounds[held], len(te))
        order = None
        del cut, held
        contiguous = True
    else:
        group = ((sid.astype(np.int64) + 1) * VENUE_SPAN + venue_slot(venue)) * ndays + (te // NS_PER_DAY - d0)
        uniq, inv = np.unique(group, return_inverse=True)
        del group
        inv = inv.reshape(-1)
        order = np.argsort(inv, kind="stable") if len(uniq) > 1 else None
        bounds = np.concatenate([[0], np.cumsum(np.bincount(inv, minlength=len(uniq)))])
        del inv
        contiguous = order is None
    syms = registry.symbols_array()
    vnames = venue_slot_names()  # (a slot no venue is registered with: "", refused by _safe_key)
    out, refused = [], 0
    for j, g in enumerate(uniq.tolist()):
        rest, dd = divmod(g, ndays)
        s_id, v = divmod(rest, VENUE_SPAN)
        s_id -= 1
        date = str(np.datetime64(d0 + dd, "D"))
        name = "*" if s_id < 0 else (str(syms[s_id]) if s_id < len(syms) else "")
        key = {"venue": vnames[v], "symbol": name, "date": date}
        sel = slice(int(bounds[j]), int(bounds[j + 1])) if contiguous else order[bounds[j]:bounds[j + 1]]
        if not name or not _safe_key(key, root):  # a name that cannot be a directory inside the dataset
            refused += int(bounds[j + 1] - bounds[j])
            continue
        part = events[sel] if contiguous else take_records(events, sel)
        out.append(((key["venue"], key["symbol"], key["date"]),
                    _rows_of(part, trade_ids[sel] if trade_ids is not None else None)))
    return out, refused


def _write_parts(out_dir, parts: dict) -> tuple[int, int]:
    """Write each partition of ``parts`` (key -> ``(runs, checked)``: the new rows as runs sorted by event
    time, in the order they came, and whether they all passed a load's checks; taken out of ``parts`` as
    it is written, so its rows leave memory once merged) once: its old rows (if
    any) and the runs merged (:func:`_merge_many`, then :func:`_merge_rows`: the result of adding the runs
    one write at a time, in one: each run a source, its quote rows new against the old rows and the runs
    before it), then the format file and the checked marks -> ``(partitions written, rows added)``.  A run
    is one source's rows whole (a file's, a write's): a source cut into two runs at a time that repeats a
    quote row of its own (X, Y, X cut after Y) would lose the repeat.  A dataset of the old format is
    upgraded first."""
    from liqcore.io import storage
    from liqcore.dataset.read import read_format

    url = storage.is_url(out_dir)
    out = Path(out_dir) if not url else None
    if not parts:
        return 0, 0
    have = _partition_files(out_dir, url)
    fmt = read_format(out_dir)
    # the partitions this write merges into: each file of the contract, before any partition is written
    _check_partitions(out_dir, url, [f for k in parts if k in have for f in have[k]])
    if have and (fmt is None or int(fmt.get("format", 0)) < _WRITE_FORMAT):  # an older format: upgraded once, now
        _upgrade(out_dir, url, have, fmt)
    marks = None
    if not url:  # the dataset's checked marks: a partition written now leaves its old ones
        from liqcore.dataset.checked import read_marks

        marks = dict(read_marks(out))
    symbols = {tuple(x) for x in (fmt or {}).get("symbols", [])} | {(k[0], k[1]) for k in have}
    added = 0
    n_parts = len(parts)
    for k in sorted(parts):
        runs, checked = parts.pop(k)  # (the rows leave memory once merged: no reference kept here)
        runs = [r for r in runs if len(r)]
        if not runs:
            continue
        old_rows = 0
        if k in have:
            old = _read_partition(out_dir, url, have[k])
            old_rows = len(old)
            runs = [old] + runs
            del old
        # each section (rare kinds, trades, quotes) merged on its own: no row of one can be a duplicate of
        # or change the order of another's (the merge's keys and duplicate rules hold kinds apart), and
        # the file keeps them apart
        secs = [[], [], []]
        for r in runs:
            for i, x in enumerate(_by_section(r)):
                if len(x):
                    secs[i].append(x)
        del runs
        merged = []
        for i in range(3):
            # the rows of each run are new against the old rows and the runs before it (a row of a quote
            # already there cancels one equal new row: _merge_rows); only the quotes need their sources
            if not secs[i]:
                merged.append(np.zeros(0, _ROW_DTYPE))
            elif i == 2:
                merged.append(_merge_rows(*_merge_many(secs[i], labelled=True)))
            else:  # (the other kinds: a load's rule alone, which finds every repeat of a row)
                merged.append(_merge_rows(_merge_many(secs[i])))
            secs[i] = None
        added += sum(len(m) for m in merged) - old_rows
        ok = not url and _still_checked(merged, k[1], have.get(k) if old_rows else None, checked, marks, out)
        _put_partition(out_dir, url, k, merged, have.get(k), ok, marks)
        del merged
        symbols.add((k[0], k[1]))
    _write_format(out_dir, symbols)
    if marks is not None:
        _write_marks(out_dir, marks)
    return n_parts, added


def _section(kind: np.ndarray) -> np.ndarray:
    """The section of a partition file each row of kind ``kind`` goes to: 0 the rare kinds (liquidations,
    marks, funding, gaps, open interest), 1 the trades, 2 the quotes."""
    return np.where(kind == int(Kind.TRADE), 1, np.where(kind == int(Kind.QUOTE), 2, 0)).astype(np.int8)


def _by_section(rows: np.ndarray) -> list:
    """``rows`` as its three sections' rows (:func:`_section`), each in the rows' order: views when the rows
    are of one kind (a file of trades) or laid out section after section (a format-3 file read back)."""
    if not len(rows):
        return [rows, rows, rows]
    k = rows["kind"]
    k0 = k[0]
    if k[-1] == k0 and bool(np.all(k == k0)):  # one kind (a file of trades, of quotes): one section
        i = int(_section(k[:1])[0])
        return [rows if j == i else rows[:0] for j in range(3)]
    sec = _section(k)
    if bool(np.all(sec[1:] >= sec[:-1])):
        cut = np.searchsorted(sec, [1, 2], "left").tolist()
        return [rows[:cut[0]], rows[cut[0]:cut[1]], rows[cut[1]:]]
    return [take_records(rows, sec == i) for i in range(3)]


def _merge_many(runs: list, labelled: bool = False):
    """The rows of ``runs`` (each sorted by event time, or a few sorted runs: a partition file's
    sections) concatenated in order and stably sorted by event time (as ``np.concatenate`` then a
    stable sort), built by :func:`_merge_runs`.  ``labelled``: ``(rows, sources)``, each row's run number
    (0 the first run), or None for one run."""
    if len(runs) == 1:
        return (runs[0], None) if labelled else runs[0]
    head = runs[0] if len(runs) == 2 else np.concatenate(runs[:-1])
    if not labelled:
        return _merge_runs(head, runs[-1])
    labels = np.repeat(np.arange(len(runs), dtype=np.min_scalar_type(len(runs))), [len(r) for r in runs])
    return _merge_runs(head, runs[-1], labels)


def _safe_key(key: dict, root: Path) -> bool:
    """True when the partition's venue and symbol are valid names (the venue's symbol alphabet) whose
    directory lies inside the dataset ``root``."""
    from liqcore.types import Venue
    from liqcore.validate import safe_name, valid_symbol

    try:
        venue = int(Venue.parse(key["venue"]))
        safe_name(key["venue"], "venue")
        safe_name(key["date"], "date")
        if key["symbol"] != "*":  # "*": venue-wide events (feed gaps)
            safe_name(key["symbol"], "symbol")
    except ValueError:
        return False
    if key["symbol"] != "*" and not valid_symbol(venue, key["symbol"]):
        return False
    if root is None:  # object storage: a valid name has no separator, so it names a key inside the dataset
        return "/" not in key["symbol"] and ".." not in key["symbol"]
    part = (root / f"venue={key['venue']}" / f"symbol={key['symbol']}").resolve()
    return part.parent.parent == root




def convert_to_dataset(paths, out_dir, *, format=None, feed_latency_ns: int = 0, strict: bool = False,
                       instruments=None, force: bool = False, kinds=None, symbols=None, days=None,
                       lock_wait: float | None = None, on_wait=None, warn=None, columns=None,
                       allow_empty: bool = False, span=None) -> dict:
    """Convert recording files into the dataset ``out_dir``, holding the dataset's writer lock throughout
    (``lock_wait``, ``on_wait``: see :func:`dataset_lock`).  The files are read one after the other, ahead of
    the writes by at most one big file (:class:`_ReadAhead`), in the order of the dates their names carry (tardis names a day's trades, quotes and
    liquidations files by it), then as given; each (venue, symbol, date) partition is written once, when no
    later file can add to it (the bytes converting the files one at a time, in that order, gives), so
    memory follows a day's rows, not the span's (files whose names carry no date: written after each
    file); a file enters the manifest once all its rows are written.  A file whose (resolved path, size, mtime) is in the manifest is skipped
    unless ``force`` -- when it was converted whole, or with the same ``kinds`` / ``symbols``
    filters (a filtered convert records its filters, so a later whole convert still takes the rest).
    ``days``: ``(first, last)`` UTC days (``YYYY-MM-DD``, both kept): only the events of those days are taken
    (a month's archive file cut to a request's days; the rows left out are counted in ``rejects`` as
    ``outside_days``).  ``span``: ``(start, end)`` ns (either None: open): only the events received in
    [start, end), as ``convert --out --start/--end`` keeps; a convert cut so (or by ``kinds`` / ``symbols``) that
    keeps no event of the files it read raises :class:`liqcore.io.NoUsableInput` as ``convert --out`` does
    (``allow_empty``: a warning), and the manifest then names none of those files.  ``columns``: a
    :class:`liqcore.io.mapped.ColumnMapping` every file is read through (a
    user's own CSV, Parquet or JSON-lines file); ``"mapping"`` in the result then says what each column was
    taken as (:func:`liqcore.io.mapped.mapping_report`, over the files read).  A convert of one file that holds
    no usable event (empty, a header alone) raises :class:`liqcore.io.NoUsableInput` as ``convert --out`` does
    (``allow_empty``: a warning); of several, such a file is named in a warning.  A convert that fails leaves no
    dataset folder it created (its writer lock, an empty manifest).
    Of several files, one that cannot be read is skipped (``unreadable``: path -> why; not marked
    converted) unless ``strict``; ``warn``: called with each warning line (default: stderr).  A
    completed run removes the temporary files of writers that died.  Returns ``{"converted": [...],
    "skipped": [...], "unreadable": {...}, "partitions": n, "rows_added": n, "rejects": {...},
    "stale_removed": [...]}``."""
    from liqcore.io import expand_paths, warn_stderr, storage

    warn = warn or warn_stderr
    if storage.is_url(out_dir):  # object storage: nothing local; an existing object is not a dataset
        out = str(out_dir)
        if storage.isfile(out):
            raise ValueError(f"dataset: {storage.display(out)} is an object, not a dataset prefix")
    else:
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise ValueError(f"dataset: {out} exists and is not a directory")
    files = expand_paths(paths)
    if not files:
        raise ValueError("paths: no recording files found")
    fresh = not isinstance(out, str) and not out.exists()  # (a folder this convert makes)
    try:
        with dataset_lock(out, wait=lock_wait, on_wait=on_wait):
            done = _convert_locked(files, out, format=format, feed_latency_ns=feed_latency_ns, strict=strict,
                                   instruments=instruments, force=force, kinds=kinds, symbols=symbols, days=days,
                                   warn=warn, columns=columns, allow_empty=allow_empty, span=span)
            done["stale_removed"] = remove_stale_temporaries(out)
    except BaseException:
        if fresh:
            remove_unwritten(out)
        raise
    return done


def remove_unwritten(out: Path) -> None:
    """Remove the dataset folder ``out`` a failed convert created, when it holds nothing but the writer lock and
    the manifest (no partition written)."""
    import contextlib

    with contextlib.suppress(OSError):
        names = {p.name for p in out.iterdir()}
        if names <= {LOCK, MANIFEST}:
            for n in names:
                (out / n).unlink()
            out.rmdir()


def _convert_locked(files, out: Path, *, format, feed_latency_ns, strict, instruments, force, kinds, symbols,
                    warn, days=None, columns=None, allow_empty: bool = False, span=None) -> dict:
    from liqcore.io import load_files

    manifest = _read_manifest(out)
    sel = _span_selection(_selection(kinds, symbols, days), span)
    done = {"converted": [], "skipped": [], "unreadable": {}, "partitions": 0, "rows_added": 0, "rejects": {}}
    from liqcore.io import storage

    def state(f):
        st = f.stat()
        key = storage.source_of(f) or str(f.resolve())  # a recording fetched from a URL: its URL
        entry = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
        if storage.version_of(f):  # the source's checksum, ETag or size: a rerun of download compares it
            entry["source_version"] = storage.version_of(f)
        prev = manifest.get(key)
        same = isinstance(prev, dict) and all(prev.get(k) == v for k, v in entry.items())
        whole_before = same and "filters" not in prev
        skip = not force and same and (whole_before or (sel is not None and sel in prev["filters"]))
        return key, entry, prev, same, whole_before, skip

    def load(f):
        import pyarrow as pa

        try:
            res = load_files([f], format=format, strict=strict, feed_latency_ns=feed_latency_ns,
                             instruments=instruments, warn=warn, columns=columns)
            if columns is not None:
                mapped.extend(v["mapping"] for v in res.files.values() if isinstance(v, dict) and v.get("mapping"))
            return res
        finally:  # the CSV reader's buffers go back to the system, not kept beside the next day's write
            pa.default_memory_pool().release_unused()

    mapped: list = []  # what each mapped file's columns were taken as (--columns)
    ahead = [i for i, f in enumerate(files) if not state(f)[5]]  # the files to read, read ahead (_ReadAhead)
    plan = _plan(files, ahead)
    reader = _ReadAhead([files[i] for i in plan], load)
    try:
        got = _convert_files(files, plan, reader, state, out, manifest, sel, done, kinds, symbols, strict, warn,
                             days, allow_empty, span)
    finally:
        reader.close()
    if mapped:
        from types import SimpleNamespace

        from liqcore.io.mapped import mapping_report

        got["mapping"] = mapping_report(SimpleNamespace(files={i: {"mapping": m} for i, m in enumerate(mapped)}))
    return got


def _iso_ns(ns) -> str | None:
    """A ns time as UTC ISO-8601 to its last digit (``2025-01-27``, ``2025-01-27T13:00Z``); None for None."""
    return None if ns is None else np.datetime_as_string(np.datetime64(int(ns), "ns"), unit="auto", timezone="UTC")


def _span_selection(sel: dict | None, span) -> dict | None:
    """The manifest's selection of a convert with ``span`` (``convert --dataset --start/--end``): its filters and
    the span, received time, as UTC ns times (``None``: open) -- a file converted for a span is not converted
    whole, and a later convert for another span (or none) takes it again."""
    if span is None or (span[0] is None and span[1] is None):
        return sel
    return {**(sel or {"kind": None, "symbol": None}), "span": [_iso_ns(span[0]), _iso_ns(span[1])]}


def _selection_label(kinds, symbols, span) -> str:
    """``--kind trade --start 2025-01-27`` (a convert's cut, for its message)."""
    lo, hi = span if span is not None else (None, None)
    flags = {"kind": ",".join(kinds or ()), "symbol": ",".join(symbols or ()), "start": _iso_ns(lo), "end": _iso_ns(hi)}
    return " ".join(f"--{k} {v}" for k, v in flags.items() if v)


#: a convert writes its pending partitions once they hold this many rows, whatever days they are (memory)
_PENDING_ROWS = 24_000_000


def _convert_files(files, plan, reader, state, out, manifest, sel, done, kinds, symbols, strict, warn,
                   days=None, allow_empty: bool = False, span=None) -> dict:
    """The convert's loop: the files of ``plan`` read in its order (ahead: :class:`_ReadAhead`), each file's rows cut into
    partitions and held until no later file of the plan can add to them (its name names a later day,
    :func:`_plan`), then each such partition written once, merged with its old rows (the same file as
    adding the files one at a time); a file goes into the manifest once all its partitions are written."""
    from liqcore.io import storage

    root = None if storage.is_url(out) else Path(out).resolve()
    pending: dict = {}  # partition key -> ([rows of each file, in plan order], all checked)
    waiting: dict = {}  # file index -> (its manifest key, its entry, the partitions it still waits for)
    held = 0  # rows pending
    seen = set()
    converted = []
    planned = set(plan)
    cut = bool(kinds or symbols or (span is not None and span != (None, None)))  # the convert's own selection
    loaded = kept = 0  # events of the files read, and those the selection kept
    none_kept: dict = {}  # manifest key -> entry, of the files the selection kept nothing of (saved at the end)

    def flush(keep_from: int | None) -> None:
        nonlocal held
        keys = [k for k in pending if keep_from is None or _day_of(k[2]) < keep_from]
        if keys:
            n_parts, added = _write_parts(out, {k: pending.pop(k) for k in keys})
            done["partitions"] += n_parts
            done["rows_added"] += int(added)
        held = sum(len(r) for runs, _c in pending.values() for r in runs)
        gone = set(keys)
        for i in sorted(waiting):
            key, value, parts = waiting[i]
            parts -= gone
            if not parts:
                del waiting[i]
                manifest[key] = value
                _save_manifest(out, manifest)

    for i in range(len(files)):
        if i not in planned:
            done["skipped"].append(str(files[i]))
    for p, i in enumerate(plan):
        f = files[i]
        key, entry, prev, same, whole_before, skip = state(f)
        try:
            res = reader.get(f)
        except (ValueError, OSError) as exc:  # of several files, one that cannot be read is skipped
            if strict or len(files) == 1:
                raise
            from liqcore.io import unreadable_why

            done["unreadable"][str(f)] = why = unreadable_why(f, exc)
            warn(f"skipped {f}: {why}")
            res = None
        if res is not None and (key, str(sel)) in seen:  # listed twice: converted above
            done["skipped"].append(str(f))
            res = None
        if res is not None and not len(res.events):  # an empty or header-only file: refused as by --out
            from liqcore.io.require import require_events

            import io

            said = io.StringIO()
            require_events(res, [f], allow_empty=allow_empty or len(plan) > 1, warn=said)  # (of several: said)
            warn(said.getvalue().strip().removeprefix("warning: "))
        if res is not None:
            seen.add((key, str(sel)))
            ev, tids = res.events, res.trade_ids
            if days:  # a month's file cut to the days asked for (event time, UTC days, both kept)
                lo = int(np.datetime64(str(days[0]), "D").astype("datetime64[ns]").astype(np.int64))
                hi = int(np.datetime64(str(days[1]), "D").astype("datetime64[ns]").astype(np.int64)) + 86_400 * 10**9
                inside = (ev["ts_event"] >= lo) & (ev["ts_event"] < hi)
                if not inside.all():
                    done["rejects"]["outside_days"] = done["rejects"].get("outside_days", 0) + int((~inside).sum())
                    ev = ev[inside]
                    tids = tids[inside] if tids is not None else None
            loaded += len(ev)
            if span is not None and (span[0] is not None or span[1] is not None):  # --start/--end: received in
                inside = np.ones(len(ev), dtype=bool)  # [start, end), as convert --out keeps
                if span[0] is not None:
                    inside &= ev["ts_recv"] >= span[0]
                if span[1] is not None:
                    inside &= ev["ts_recv"] < span[1]
                if not inside.all():
                    ev = ev[inside]
                    tids = tids[inside] if tids is not None else None
            if kinds or symbols:
                from liqcore.venues.common import KIND_BY_NAME

                m = np.ones(len(ev), dtype=bool)
                if kinds:
                    codes = [KIND_BY_NAME[k] for k in kinds]
                    m &= np.isin(ev["kind"], codes)
                if symbols:
                    ids = [sid for sid, _v, s in res.registry if s in set(symbols)]
                    m &= np.isin(ev["symbol_id"], ids)
                ev = ev[m]
                tids = tids[m] if tids is not None else None
            from liqcore.dataset.depth import split_depth, write_depth

            kept += len(ev)
            ev, tids, depth = split_depth(np.asarray(ev), tids)  # depth: its own compact files, written now
            if depth is not None:
                d = write_depth(out, depth, res.registry)
                del depth
                done["partitions"] += d["partitions"]
                done["rows_added"] += d["rows_added"]
                done["rows_offered"] = done.get("rows_offered", 0) + d["rows_added"]
            parts, refused = _split(np.asarray(ev), res.registry, tids, root)
            del ev, tids
            for k, v in res.rejects.items():
                done["rejects"][k] = done["rejects"].get(k, 0) + v
            done["duplicates"] = done.get("duplicates", 0) + int(res.duplicates)  # (dropped within the files)
            done["rows_offered"] = done.get("rows_offered", 0) + sum(len(r) for _k, r in parts)
            if refused:
                done["rejects"]["bad_symbol"] = done["rejects"].get("bad_symbol", 0) + refused
            checked = bool(res.checked)
            del res
            mine = {k for k, _r in parts}
            for k, rows in parts:
                runs, ok = pending.get(k, ([], True))
                runs.append(rows)
                pending[k] = (runs, ok and checked)
                held += len(rows)
            del parts
            converted.append(i)
            if sel is None or whole_before:  # the whole file is in the dataset (now, or already)
                value = entry
            else:  # only what the filters took: a whole convert later still takes the rest
                taken = list(prev["filters"]) if same else []
                if sel not in taken:
                    taken.append(sel)
                value = {**entry, "filters": taken}
            if cut and not mine and not kept:  # nothing kept yet: into the manifest once the convert kept some
                none_kept[key] = value
            else:
                waiting[i] = (key, value, mine)
        nxt = _name_day(files[plan[p + 1]]) if p + 1 < len(plan) else None
        this = _name_day(f)
        if nxt is None or this is None or held > _PENDING_ROWS:  # the last file, or files of no named day
            flush(None)
        else:  # a later file may add to partitions of its day or after: the earlier ones are complete
            flush(nxt)
    flush(None)
    if none_kept and not kept and loaded:  # the cut kept no event of the files read: as convert --out, refused
        import io  # (--allow-empty: said) before the manifest names them
        from types import SimpleNamespace

        from liqcore.io.require import require_events

        said = io.StringIO()
        require_events(SimpleNamespace(events=range(loaded)), [files[i] for i in sorted(converted)],
                       allow_empty=allow_empty, usable=0, selection=_selection_label(kinds, symbols, span), warn=said)
        warn(said.getvalue().strip().removeprefix("warning: "))
    if none_kept:
        manifest.update(none_kept)
        _save_manifest(out, manifest)
    done["converted"] = [str(files[i]) for i in sorted(converted)]
    return done


def _day_of(date: str) -> int:
    return int(np.datetime64(date, "D").astype(np.int64))
