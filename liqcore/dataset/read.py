"""Reading a dataset: :func:`is_dataset`, :func:`dataset_info`, :func:`check_selection`, :func:`load_dataset`.

Only the partitions a venue / symbol / time filter selects are opened (on object storage: one listing,
the selected files fetched concurrently); checked files are read the fast way (``checked``), the
others the checking way; older formats still load.  The columns, sections, format file and formats
1-3: docs/maintainers/data.md, "The dataset's files".

May import: numpy, pyarrow (inside functions), ``types``, ``validate``, ``venues.common``, the readers'
base of ``io`` (``base``, ``contract``, ``plausible``, ``storage``) and this package's ``checked``, ``partfile``,
``selection`` and ``damage``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from liqcore.codes import KIND_TABLE as _KIND_TABLE
from liqcore.io.base import LoadResult, FileState, dedupe
from liqcore.dataset.checked import MARKS_FILE
from liqcore.dataset.selection import dataset_symbols as _dataset_symbols, selection_names
from liqcore.io.contract import contract_table, table_trade_ids
from liqcore.io.plausible import sane_ids

#: the manifest of converted files a dataset keeps (written by :func:`liqcore.dataset.convert_to_dataset`)
MANIFEST = "_liqcore_manifest.json"
#: the format file of a dataset: {"format": 3, "kinds": [...], "sides": [...], "symbols": [[venue, symbol], ...],
#: "row_group_rows": n, "sections": true, "quote_rows": "paired"}; absent from datasets written before format 2
FORMAT_FILE = "_liqcore_dataset.json"
#: the dataset format written now (3: a top-of-book update is one row in a quotes section of its own;
#: 2: kind and side as int8 codes, a quote as a bid row and an ask row; 1, before: kind and side as names)
FORMAT = 3
#: the most rows in one Parquet row group of a partition file (rows sorted by event time, so each
#: group spans a time range its statistics name: about 8 minutes of a 3 M trades/day symbol, so a
#: window-local backtest decodes little beyond its windows; decoding speed and file size are within a
#: few per cent of 131,072-row groups)
ROW_GROUP_ROWS = 16_384
#: the kinds of the bulk section of a partition file (trades and top-of-book quotes, codes): since
#: datasets carry ``"sections": true`` in their format file, each file holds first the other kinds
#: (liquidations, marks, funding, gaps, open interest: a small share) in their own row groups, then
#: these, each section sorted by event time, so a read of liquidations skips the bulk's row groups
#: (format 3: the trades, then the quotes, each a section of its own)
BULK_KINDS = (2, 7)
#: the code tables a dataset is written with (index = code; its format file lists them)
KIND_NAMES = _KIND_TABLE  # every event kind (liqcore.codes: the one table)
SIDE_NAMES = ("none", "long", "short", "buy", "sell")
NS_PER_DAY = 86_400_000_000_000
_PART_COLS = ("venue", "symbol", "date")


def is_dataset(path) -> bool:
    """True when ``path`` is a directory (or a URL prefix) written by :func:`write_dataset`."""
    from liqcore.io import storage

    if storage.is_url(path):
        return bool(_url_partitions(path)) or storage.isfile(storage.join(path, MANIFEST))
    p = Path(path)
    return p.is_dir() and ((p / MANIFEST).is_file() or any(c.name.startswith("venue=") for c in p.iterdir()))


def _partitioning():
    """Hive partitioning whose venue / symbol / date columns come dictionary-encoded (a few distinct
    names, an index per row)."""
    import pyarrow.dataset as ds

    return ds.HivePartitioning.discover(infer_dictionary=True)


_FORMATS: dict = {}  # format file path -> (its size, modification time and inode, its bytes)


def read_format(path) -> dict | None:
    """The dataset's format file (:data:`FORMAT_FILE`) as a dict, or None (a dataset written before
    format 2, or none yet)."""
    import orjson

    from liqcore.io import storage

    try:
        if storage.is_url(path):
            url = storage.join(path, FORMAT_FILE)
            return orjson.loads(storage.read_bytes(url)) if storage.isfile(url) else None
        f = os.path.join(str(path), FORMAT_FILE)
        try:
            st = os.stat(f)
        except (FileNotFoundError, NotADirectoryError):
            return None
        key = (st.st_size, st.st_mtime_ns, st.st_ino)
        hit = _FORMATS.get(f)
        if hit is None or hit[0] != key:  # (a window read asks it hundreds of times: its bytes kept while they stay)
            if len(_FORMATS) > 10_000:
                _FORMATS.clear()
            hit = _FORMATS[f] = (key, Path(f).read_bytes())
        return orjson.loads(hit[1])  # (each caller its own dict)
    except orjson.JSONDecodeError:
        raise ValueError(f"dataset: {storage.display(path) if storage.is_url(path) else path}/{FORMAT_FILE} "
                         "is not valid JSON") from None


#: datasets already named as read the slower way (old format), so the note comes once per process
_TOLD_OLD: set = set()


def _note_old(path, warn) -> None:
    key = str(path)
    if key in _TOLD_OLD:
        return
    _TOLD_OLD.add(key)
    if warn is None:
        from liqcore.io.base import warn_stderr as warn
    warn(f"dataset {path} was written before format 2 (kind and side stored as names): it loads the "
         "slower way; the next 'liqcore convert ... --dataset' into it upgrades it in place")


def open_arrow_dataset(path):
    """The dataset at ``path`` (a directory or a URL) as a pyarrow dataset of its partition files."""
    import pyarrow.dataset as ds

    from liqcore.io import storage

    if storage.is_url(path):
        afs, root = storage.arrow_filesystem(path)
        return ds.dataset(root, filesystem=afs, format="parquet", partitioning=_partitioning())
    return ds.dataset(str(path), format="parquet", partitioning=_partitioning())


def selected_dataset(path, partitions):
    """The (venue, symbol, date) ``partitions`` of the local dataset at ``path`` as a pyarrow dataset of their files
    alone (None: they hold none), each file judged as it is first opened here
    (:func:`liqcore.dataset.partfile.check_file`: its footer, kept; a directory, a file cut short, a foreign table or
    a column of another type is one line naming it), so a damaged partition outside them is never opened and the
    dataset's schema is a checked file's."""
    import pyarrow.dataset as ds

    from liqcore.dataset.partfile import check_file

    names = sorted(f for v, s, d in partitions
                   for f in parquet_files(os.path.join(str(path), f"venue={v}", f"symbol={s}", f"date={d}")))
    for f in names:
        check_file(f)
    if not names:
        return None
    return ds.dataset(names, format="parquet", partitioning=_partitioning(), partition_base_dir=str(path))


def _url_partitions(path) -> dict[tuple[str, str, str], list[str]]:
    """(venue, symbol, date) -> the Parquet files of each partition of the dataset at the URL ``path``
    (paths inside its file system), from one listing."""
    from liqcore.io import storage

    out: dict = {}
    _fs, root = storage.filesystem(path)
    n = len(root.rstrip("/")) + 1
    for f in storage.find(path):
        parts = f[n:].split("/")
        if len(parts) == 4 and parts[3].endswith(".parquet") and not parts[3].startswith(".") \
                and parts[0].startswith("venue=") and parts[1].startswith("symbol=") and parts[2].startswith("date="):
            out.setdefault((parts[0][6:], parts[1][7:], parts[2][5:]), []).append(f)
    return out


def dataset_info(path) -> list[tuple[str, str, str]]:
    """Sorted (venue, symbol, date) partitions of the dataset in ``path``."""
    from liqcore.io import storage

    if storage.is_url(path):
        parts = _url_partitions(path)
        if not parts and not storage.exists(path):
            raise ValueError(f"dataset: no such dataset: {storage.display(path)}")
        return sorted(parts)
    p = Path(path)
    if not p.is_dir():
        raise ValueError(f"dataset: no such directory: {p}")
    out = []
    for v in p.glob("venue=*"):
        for s in v.glob("symbol=*"):
            for d in s.glob("date=*"):
                if any(d.glob("*.parquet")):
                    out.append((v.name[6:], s.name[7:], d.name[5:]))
    return sorted(out)


def rows_per_partition(path, partitions) -> dict[tuple[str, str, str], int]:
    """Events of each (venue, symbol, date) partition of the local dataset ``path`` (its rows; a format-3
    quote row carrying its ask counts two: the events a read holds in memory), from its Parquet files'
    footers (nothing decoded)."""
    from liqcore.dataset.checked import footer

    return {(v, s, d): sum(footer(f).events
                           for f in parquet_files(os.path.join(str(path), f"venue={v}", f"symbol={s}", f"date={d}")))
            for v, s, d in partitions}


def _day(ns: int) -> str:
    return str(np.datetime64(int(ns) // NS_PER_DAY, "D"))


def check_selection(path, symbols=None, start_ns: int | None = None, end_ns: int | None = None,
                    venues=None, warn=None) -> list[tuple[str, str, str]]:
    """The partitions a selection reads; ValueError (before any reading) when the dataset lacks a
    requested symbol or has no partition in the requested time range, or when partition files of the selection
    that its checked marks list are gone (:func:`liqcore.dataset.partfile.check_gone`: never fewer rows unsaid).
    Partitions of a venue no longer registered (a plugin's, its package not installed) are left out, said once
    (``warn``, default stderr) with their rows; a selection of nothing else is a ValueError naming the venue
    (:func:`liqcore.dataset.partfile.registered_only`)."""
    symbols, venues = selection_names(symbols), selection_names(venues, lower=True)
    parts = dataset_info(path)
    if symbols:
        symbols = _dataset_symbols(parts, symbols)
    from liqcore.io import storage

    if not storage.is_url(path):  # (the marks: a local dataset's)
        from liqcore.dataset.partfile import check_gone

        check_gone(path, set(parts), lambda ps: _wanted(ps, venues, symbols, start_ns, end_ns))
    if not parts:
        raise ValueError(f"dataset: {path} holds no partitions (write one with 'liqcore convert --dataset')")
    if venues:
        parts = [p for p in parts if p[0] in set(venues)]
        if not parts:
            raise ValueError(f"dataset: {path} has no data for venue(s) {', '.join(venues)}")
    if symbols:
        have = {p[1] for p in parts}
        missing = [s for s in symbols if s not in have]
        if missing:
            raise ValueError(f"dataset: {path} has no data for symbol(s) {', '.join(missing)} "
                             f"(has: {', '.join(sorted(have))})")
        parts = [p for p in parts if p[1] in set(symbols)]
    lo = _day(start_ns) if start_ns is not None else None
    hi = _day(end_ns - 1) if end_ns is not None else None
    sel = [p for p in parts if (lo is None or p[2] >= lo) and (hi is None or p[2] <= hi)]
    if not sel:
        days = sorted({p[2] for p in parts})
        raise ValueError(f"dataset: {path} has no data between {lo or 'the start'} and {hi or 'the end'} "
                         f"(dates {days[0]} .. {days[-1]})")
    from liqcore.dataset.partfile import registered_only

    return registered_only(path, sel, strict=True, warn=warn)


def load_dataset(path, symbols=None, start_ns: int | None = None, end_ns: int | None = None, venues=None,
                 registry=None, max_clock_skew_ns=None, check: bool = True, warn=None, kinds=None,
                 recv_range=None, recheck: bool = False, trade_ids: bool = True, partitions=None):
    """Events of the dataset in ``path`` with ``symbols`` (names), ``venues`` and event times in
    [start_ns, end_ns) -> :class:`liqcore.io.LoadResult` (sorted by event time, deduplicated).  Only
    the partitions that can hold matching rows are read.  ``check``: a ValueError when the dataset
    lacks a requested symbol or has nothing in the time range (else: no events).  ``warn``: called
    once per process with a note when the dataset predates format 2 (default: stderr).  ``kinds``: only
    rows of these kind codes; ``recv_range``: ``(lo, hi, feed_latency_ns)``, only rows received in
    [lo, hi) (a row without a recorded receive time: event time + feed latency in that range).  Both
    are pushed down to the Parquet reader, which skips every row group whose statistics exclude them;
    ``res.files[path]["rows_read"]`` counts the rows of the row groups it read.  Partition files marked
    checked when written are not judged again (:mod:`liqcore.dataset.checked`; ``res.files[path]["checked"]``
    says so) unless ``recheck``; ``trade_ids=False``: the venues' trade ids are not read from them (a
    backtest never needs them; a load that may be written elsewhere or merged with other sources does).
    ``partitions``: the dataset's (venue, symbol, date) partitions when the caller listed them already
    (many reads of one dataset; with ``check=False``)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from liqcore.types import EVENT_DTYPE, SymbolRegistry
    from liqcore.venues.common import Sink, drop_future

    from liqcore.io import storage

    url = storage.is_url(path)
    files = _url_partitions(path) if url else None  # one listing of an object store serves the whole read
    from liqcore.dataset.partfile import registered_only

    symbols, venues = selection_names(symbols), selection_names(venues, lower=True)
    if check:
        sel = check_selection(path, symbols, start_ns, end_ns, venues, warn=warn)
        if symbols:  # (as the dataset names them: ``ethusdt`` -> ``ETHUSDT``)
            symbols = _dataset_symbols(sel, symbols)
    elif url:
        sel = registered_only(path, sorted(files), strict=False, warn=warn)
    else:  # a selection that may be empty (a chunk of a symbol listed later): no rows, no error
        sel = registered_only(path, list(partitions) if partitions is not None else dataset_info(path), strict=False,
                              warn=warn)
    if url and len(sel) != len(files):  # (a venue no longer registered: its partitions are not fetched)
        keep = set(sel)
        files = {k: v for k, v in files.items() if k in keep}
    old = read_format(path) is None  # written before format 2: names (and maybe some codes) in kind / side
    unverified: list = []  # files marked checked that are not the files their marks were taken of
    if not url and not old and not recheck:
        fast = _load_checked(path, sel, symbols, start_ns, end_ns, venues, registry, max_clock_skew_ns, kinds,
                             recv_range, trade_ids, unverified)
        if fast is not None:
            return fast
        if unverified:
            from liqcore.dataset.partfile import check_file

            for f in unverified:  # (a file that is no partition: said as such, not as one read the checking way)
                check_file(f)
            from liqcore.dataset.damage import refuse_damaged

            refuse_damaged(path, unverified)
            _note_unverified(path, unverified, warn)
    dset = None
    flt = None

    def _and(a, b):
        return b if a is None else a & b

    rflt = None  # the part of the filter on a file's own columns (row-group statistics)

    if venues:
        flt = _and(flt, ds.field("venue").isin(list(venues)))
    if symbols:
        flt = _and(flt, ds.field("symbol").isin(list(symbols)))
    if start_ns is not None:
        flt = _and(flt, ds.field("date") >= _day(start_ns))
        rflt = _and(rflt, ds.field("ts_event_ns") >= pa.scalar(int(start_ns), pa.int64()))
        flt = _and(flt, ds.field("ts_event_ns") >= pa.scalar(int(start_ns), pa.int64()))
    if end_ns is not None:
        flt = _and(flt, ds.field("date") <= _day(end_ns - 1))
        rflt = _and(rflt, ds.field("ts_event_ns") < pa.scalar(int(end_ns), pa.int64()))
        flt = _and(flt, ds.field("ts_event_ns") < pa.scalar(int(end_ns), pa.int64()))
    if kinds is not None:
        codes = sorted({int(k) for k in kinds})
        kf = ds.field("kind").isin([KIND_NAMES[c] for c in codes if 0 < c < len(KIND_NAMES)] if old
                                   else pa.array(codes, pa.int8()))
        flt, rflt = _and(flt, kf), _and(rflt, kf)
    if recv_range is not None:
        flt, rflt = _and(flt, recv_filter(*recv_range)), _and(rflt, recv_filter(*recv_range))
    if url:  # only the partitions the selection needs are fetched
        table = _fetch(path, files, venues, symbols, start_ns, end_ns, flt)
    else:
        dset = selected_dataset(path, _wanted(sel, venues, symbols, start_ns, end_ns))
    if not url and dset is None:  # nothing selected: no rows
        table, rows_read = _empty_table(), 0
    elif not url:
        if old and sel:  # read kind / side as text whatever each file holds (an interrupted upgrade mixes)
            sch = dset.schema
            for name in ("kind", "side"):
                if name in sch.names:
                    sch = sch.set(sch.get_field_index(name), pa.field(name, pa.string()))
            dset = dset.replace_schema(sch)
        if "ask_price" not in dset.schema.names:  # (files of format 3 among older ones: their asks kept)
            import pyarrow as pa

            dset = dset.replace_schema(dset.schema.append(pa.field("ask_price", pa.float64()))
                                       .append(pa.field("ask_qty", pa.float64())))
        table = dset.to_table(filter=flt)
        rows_read = rows_in_groups(dset, flt, rflt)
    if url:
        rows_read = table.num_rows if flt is None else None  # whole files fetched, then filtered
    if old and table.num_rows:
        _note_old(storage.display(path) if url else path, warn)  # names, not codes: the slower way
        table = upgrade_table(table)
    table = expand_table(table)  # format 3: each quote row as its bid and its ask, in format 2's order
    registry = registry if registry is not None else SymbolRegistry()
    sink = Sink(registry, None)
    st = FileState(str(path), sink, False, "parquet")
    kept: list = []
    arr = contract_table(table, st, lambda row: f"{storage.display(path)}: row {row}", null_reason="missing_field",
                      kept=kept) if table.num_rows else np.zeros(0, EVENT_DTYPE)
    tids = table_trade_ids(table, kept)  # the venues' trade ids (read by dedupe only)
    # implausible times, prices, sizes: counted, dropped (liqcore.validate); a time is a stray among its own
    # partition's rows (the scan lays partitions end to end: a lone row of a small one is not a stray)
    arr, tids = sane_ids(arr, tids, st, forced=False, segments=_partition_starts(table, kept[0]) if kept else None)
    if tids is not None:
        from liqcore.io.plausible import future_mask

        keep = ~future_mask(arr, max_clock_skew_ns)
        arr, tids, n_future = arr[keep], tids[keep], int(len(keep) - np.count_nonzero(keep))
    else:
        arr, n_future = drop_future(arr, max_clock_skew_ns)
    ts = arr["ts_event"]
    if len(ts) > 1 and not bool(np.all(ts[1:] >= ts[:-1])):  # one symbol's days, in order: no sort
        from liqcore.types import take_records

        order = np.argsort(ts, kind="stable")
        arr = take_records(arr, order)
        tids = tids[order] if tids is not None else None
    arr, tids, ndup = dedupe(arr, tids, with_ids=True)
    rejects = dict(sink.counters)
    if n_future:
        rejects["future_time"] = rejects.get("future_time", 0) + n_future
    res = LoadResult(events=arr, registry=registry, rejects=rejects, duplicates=ndup,
                     sources=[str(path)], trade_ids=tids, checked=True)
    res.files[str(path)] = {"format": "dataset", "records": table.num_rows, "events": len(arr),
                            "rejects": rejects, "partitions": len(sel), "rows_read": rows_read, "checked": False}
    if unverified:
        res.files[str(path)]["unverified"] = sorted(unverified)
    return res


def _partition_starts(table, keep) -> np.ndarray | None:
    """The first kept row (``keep``: a mask over ``table``'s rows) of each partition of a dataset scan's
    table, in the kept rows' numbering (None without the partition columns)."""
    from liqcore.io.contract import column_dictionary

    if not table.num_rows or not all(c in table.column_names for c in _PART_COLS):
        return None
    change = np.zeros(table.num_rows, dtype=bool)
    change[0] = True
    for c in _PART_COLS:
        idx = np.asarray(column_dictionary(table.column(c))[0])
        change[1:] |= idx[1:] != idx[:-1]
    part = np.cumsum(change)[np.asarray(keep, dtype=bool)]
    if not len(part):
        return None
    return np.concatenate([[0], np.flatnonzero(part[1:] != part[:-1]) + 1])


#: files already named as not verified (path, size, modification time, inode), so each is said once per process
_TOLD_UNVERIFIED: set = set()


def _note_unverified(path, files, warn) -> None:
    """Say once per process, naming them, that marked files of the dataset are not the files their marks
    were taken of, so the load checks them (and the rest of its selection) again."""
    from liqcore.dataset.checked import _stat_key

    new = [f for f in sorted(files) if (f, _stat_key(f)) not in _TOLD_UNVERIFIED]
    if not new:
        return
    _TOLD_UNVERIFIED.update((f, _stat_key(f)) for f in new)
    if warn is None:
        from liqcore.io.base import warn_stderr as warn
    root = str(path).rstrip("/") + "/"
    names = [f[len(root):] if f.startswith(root) else f for f in new]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    warn(f"dataset {path}: {len(names)} file(s) marked checked are not the bytes their mark was taken of "
         f"(size or SHA-256 in {MARKS_FILE} differ, or no mark there: rewritten by another tool?): {shown}; "
         "their rows are checked as read (bad rows counted and dropped, duplicates removed)")


def _wanted(parts, venues, symbols, start_ns, end_ns) -> list:
    """The (venue, symbol, date) partitions of ``parts`` that can hold rows of the selection."""
    lo = _day(start_ns) if start_ns is not None else None
    hi = _day(end_ns - 1) if end_ns is not None else None
    vs, ss = set(venues or ()), set(symbols or ())
    return [p for p in parts if (not vs or p[0] in vs) and (not ss or p[1] in ss)
            and (lo is None or p[2] >= lo) and (hi is None or p[2] <= hi)]


_LISTED: dict = {}  # partition folder -> (its modification time, its Parquet files)


def parquet_files(folder: str) -> list[str]:
    """The Parquet files of a partition folder (not hidden: temporaries start with a dot), listed again
    only when the folder changed (a write renames a file into it)."""
    try:
        m = os.stat(folder).st_mtime_ns
    except FileNotFoundError:
        return []
    hit = _LISTED.get(folder)
    if hit is not None and hit[0] == m:
        return hit[1]
    with os.scandir(folder) as it:
        names = sorted(os.path.join(folder, e.name) for e in it
                       if e.name.endswith(".parquet") and not e.name.startswith((".", "_")))
    if len(_LISTED) > 100_000:
        _LISTED.clear()
    _LISTED[folder] = (m, names)
    return names


def _load_checked(path, sel, symbols, start_ns, end_ns, venues, registry, max_clock_skew_ns, kinds, recv_range,
                  trade_ids, unverified: list):
    """:func:`load_dataset` of a local dataset whose selected partition files all carry a verified checked
    mark (:mod:`liqcore.dataset.checked`: the dataset's marks file holds their size and SHA-256), or None when
    one does not (the checking read then reads them all); ``unverified`` gets the files marked checked
    (in the marks file or their footer) that are not the bytes their mark was taken of."""
    from liqcore.dataset.checked import Unverified, footer, read_checked, read_marks
    from liqcore.types import SymbolRegistry
    from liqcore.validate import symbol_problem as problem
    from liqcore.venues.common import VENUE_BY_NAME, Sink

    want = _wanted(sel, venues, symbols, start_ns, end_ns)
    marks = read_marks(path)
    files = []
    fast = True
    mine = {}  # path -> its mark (its footer and the row groups a read decodes are verified against it)
    for v, s, d in want:
        name = f"venue={v}/symbol={s}/date={d}"
        for f in parquet_files(os.path.join(str(path), name)):
            ft = footer(f)
            mark = marks.get(f"{name}/{os.path.basename(f)}")
            known = VENUE_BY_NAME.get(v) is not None
            if known and ft.checked and isinstance(mark, dict) and mark.get("size") == ft.key[0]:
                files.append((f, v, s))
                mine[f] = mark
                continue
            fast = False
            if known and (mark is not None or ft.checked):  # said to be checked, but not these bytes
                unverified.append(f)
    if not fast:
        return None
    files.sort()  # the order a dataset scan lists them
    registry = registry if registry is not None else SymbolRegistry()
    sink = Sink(registry, None)
    # symbol ids, as the checking read gives them: the (venue code, name) pairs that have rows, in order
    pairs = sorted({(VENUE_BY_NAME[v], s) for _f, v, s in files})
    for vs in pairs:
        if vs[1] != "*" and problem(*vs):
            return None
    key = {vs: (-1 if vs[1] == "*" else i) for i, vs in enumerate(pairs)}
    try:
        ev, tids, matched, decoded, n_future, present = read_checked(
            [(f, VENUE_BY_NAME[v], key[(VENUE_BY_NAME[v], s)]) for f, v, s in files], start_ns, end_ns, kinds,
            recv_range, max_clock_skew_ns, trade_ids, marks=mine,
            bulk=BULK_KINDS if (read_format(path) or {}).get("sections") else None)  # rare kinds: bulk groups skipped
    except Unverified as exc:  # a footer or row group that is not the bytes marked: the checking read
        unverified.append(exc.args[0])
        return None
    table = np.full(len(pairs) + 1, -1, np.int32)  # key -> symbol id (the last: "*", -1)
    for vs in pairs:
        if vs[1] != "*" and key[vs] in present:
            table[key[vs]] = sink.sid(*vs)
    if len(ev) and not np.array_equal(table[:len(pairs)], np.arange(len(pairs))):
        ev["symbol_id"] = table[ev["symbol_id"]]
    rejects = {"future_time": n_future} if n_future else {}
    res = LoadResult(events=ev, registry=registry, rejects=rejects, duplicates=0, sources=[str(path)],
                     trade_ids=tids, checked=True)
    res.files[str(path)] = {"format": "dataset", "records": matched, "events": len(ev), "rejects": rejects,
                            "partitions": len(want), "rows_read": decoded, "checked": True}
    return res


def recv_filter(lo: int, hi: int, feed_latency_ns: int = 0):
    """The pyarrow filter of rows received in [lo, hi): a recorded ``ts_recv_ns`` in the range, or no
    recorded receive time (-1) and ``ts_event_ns + feed_latency_ns`` in it (as
    :func:`liqcore.venues.common.fill_recv` fills it)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from liqcore.venues.common import RECV_UNKNOWN

    i64 = pa.int64()
    f = ds.field("ts_recv_ns")
    e = ds.field("ts_event_ns")
    fl = int(feed_latency_ns)
    return (((f >= pa.scalar(int(lo), i64)) & (f < pa.scalar(int(hi), i64)))
            | ((f == pa.scalar(int(RECV_UNKNOWN), i64)) & (e >= pa.scalar(int(lo) - fl, i64))
               & (e < pa.scalar(int(hi) - fl, i64))))


def rows_in_groups(dset, flt, rflt) -> int:
    """Rows in the row groups a read of ``dset`` with filter ``flt`` decodes: the partitions the
    filter selects, less the row groups whose statistics exclude ``rflt`` (its part on the files'
    columns), from the files' footers."""
    n = 0
    for frag in dset.get_fragments(filter=flt):
        if rflt is None:
            n += frag.metadata.num_rows
            continue
        for rg in frag.split_by_row_group(rflt):
            n += sum(g.num_rows for g in rg.row_groups)
    return n


def rows_total(path, symbols=None, start_ns: int | None = None, end_ns: int | None = None, venues=None,
               groups: bool = False):
    """Rows of the partitions a selection touches (their files' footers; nothing decoded); with
    ``groups``: ``(rows, row groups)``.  A local dataset's partitions are its folders (:func:`dataset_info`, the
    Parquet files of each: :func:`parquet_files`), not a pyarrow dataset's discovery (about 6 ms of a warm 30-day
    backtest's setup)."""
    from liqcore.io import storage

    symbols, venues = selection_names(symbols), selection_names(venues, lower=True)
    if not storage.is_url(path):
        want = _wanted(dataset_info(path), venues, symbols, start_ns, end_ns)
        from liqcore.dataset.partfile import unregistered_venues

        gone = set(unregistered_venues(want))  # (a venue no longer registered: never read, not counted)
        counts = [_counts_at(f) for v, s, d in want if v not in gone
                  for f in parquet_files(os.path.join(str(path), f"venue={v}", f"symbol={s}", f"date={d}"))]
        n = sum(c[0] for c in counts)
        return (n, sum(c[1] for c in counts)) if groups else n
    import pyarrow.dataset as ds

    dset = open_arrow_dataset(path)
    flt = None
    parts = []
    if venues:
        parts.append(ds.field("venue").isin(list(venues)))
    if symbols:
        parts.append(ds.field("symbol").isin(list(symbols)))
    if start_ns is not None:
        parts.append(ds.field("date") >= _day(start_ns))
    if end_ns is not None:
        parts.append(ds.field("date") <= _day(end_ns - 1))
    for p in parts:
        flt = p if flt is None else flt & p
    counts = [_counts(f) for f in dset.get_fragments(filter=flt)]
    n = sum(c[0] for c in counts)
    return (n, sum(c[1] for c in counts)) if groups else n


_COUNTS: dict = {}  # local file path -> (its size, modification time and inode, (rows, row groups))


def _counts(frag) -> tuple:
    """A fragment's (rows, row groups) from its footer, kept per process while a local file's stat stays (a
    window read asks every run; a footer carrying a first-passage index is worth not parsing again)."""
    try:
        s = os.stat(frag.path)
    except (OSError, TypeError, ValueError):  # (not a local file: its footer, each time)
        m = frag.metadata
        return m.num_rows, m.num_row_groups
    return _counts_at(frag.path, s)


def _counts_at(path: str, s: os.stat_result | None = None) -> tuple:
    """:func:`_counts` of the local Parquet file at ``path`` (``s``: its stat, taken already)."""
    s = os.stat(path) if s is None else s
    key = (s.st_size, s.st_mtime_ns, s.st_ino)
    hit = _COUNTS.get(path)
    if hit is None or hit[0] != key:
        from liqcore.dataset.checked import footer

        if len(_COUNTS) > 100_000:
            _COUNTS.clear()
        why = None
        try:  # (the compiled footer scan, kept per process: the reads share it; pyarrow's parse took 7 ms a day)
            f = footer(path)
        except (ValueError, OSError) as exc:
            f, why = None, exc
        if f is not None and tuple(f.key) == key:
            counts = (int(f.rows.sum()), len(f.rows))
        else:  # (not Parquet the scan reads, or changed since it was looked at: its footer as pyarrow reads it)
            import pyarrow as pa
            import pyarrow.parquet as pq

            try:
                m = pq.ParquetFile(path).metadata
            except (pa.ArrowException, OSError):  # (not Parquet either: the scan's error, naming the file)
                if why is None:
                    raise
                raise why from None
            counts = (m.num_rows, m.num_row_groups)
        hit = _COUNTS[path] = (key, counts)
    return hit[1]


def trade_symbols(path, start_ns: int | None = None, end_ns: int | None = None) -> set[str] | None:
    """The symbols with at least one trade in the dataset at ``path`` on the UTC days of [start_ns, end_ns), from
    each partition's ``kind`` column alone (None: a dataset written before format 2, kinds stored as names)."""
    import pyarrow.dataset as ds

    from liqcore.types import Kind

    from liqcore.io import storage

    if read_format(path) is None:
        return None
    flt = None
    if start_ns is not None:
        flt = ds.field("date") >= _day(start_ns)
    if end_ns is not None:
        f = ds.field("date") <= _day(end_ns - 1)
        flt = f if flt is None else flt & f
    out: set[str] = set()
    is_trade = ds.field("kind") == int(Kind.TRADE)
    if storage.is_url(path):
        dset = open_arrow_dataset(path)
    else:  # (the days' files alone, each judged as it is opened: a damaged one is one line naming it)
        dset = selected_dataset(path, _wanted(dataset_info(path), None, None, start_ns, end_ns))
        if dset is None:
            return out
    for frag in dset.get_fragments(filter=flt):
        sym = str(ds.get_partition_keys(frag.partition_expression).get("symbol", ""))
        if sym and sym not in out and frag.count_rows(filter=is_trade) > 0:
            out.add(sym)
    return out


def _fetch(path, files, venues, symbols, start_ns, end_ns, flt):
    """The rows of the dataset at the URL ``path`` that match: its partitions pruned by venue, symbol
    and date from one listing, then the selected files fetched concurrently (one request each) and
    filtered; columns as a local dataset read gives them (the file's, then venue, symbol, date)."""
    import io

    import pyarrow as pa

    from liqcore.io import storage

    from liqcore.dataset.partfile import read_table

    want = _wanted(sorted(files), venues, symbols, start_ns, end_ns)
    names = [(k, f) for k in want for f in files[k]]
    if not names:
        return _empty_table()
    fs, _root = storage.filesystem(path)
    with storage.storage_errors(path):
        blobs = fs.cat([f for _k, f in names], on_error="raise")
    tables = []
    for (v, s, d), f in names:
        t = upgrade_table(read_table(io.BytesIO(blobs[f]), storage.display(storage.join(path, f"venue={v}",
                                                                                         f"symbol={s}", f"date={d}",
                                                                                         f.rsplit("/", 1)[-1]))))
        n = t.num_rows
        for col, val in (("venue", v), ("symbol", s), ("date", d)):  # dictionary-encoded, as a local read
            t = t.append_column(col, pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)),
                                                                    pa.array([val], pa.string())))
        tables.append(t)
    table = pa.concat_tables(tables, promote_options="default")
    return table.filter(flt) if flt is not None else table


def _empty_table():
    """The table of a read that selects no file: no rows, the columns a read gives."""
    import pyarrow as pa

    return pa.table({c: pa.array([], t) for c, t in (("ts_event_ns", pa.int64()), ("ts_recv_ns", pa.int64()),
                                                      ("kind", pa.int8()), ("side", pa.int8()),
                                                      ("price", pa.float64()), ("qty", pa.float64()),
                                                      ("flags", pa.uint8()), ("venue", pa.string()),
                                                      ("symbol", pa.string()), ("date", pa.string()))})


def expand_table(table):
    """A table of partition-file rows (one or more partitions' files, each in its section order) with
    each format-3 quote row that carries the ask (``ask_price`` not null) as two rows, its bid (side buy)
    then its ask (side sell), and each partition's trades and quotes laid out as format 2 holds them
    (:func:`liqcore.dataset.rows.bulk_order`); the ask columns dropped.  Null prices stay null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from liqcore.dataset.checked import ASK_COLS
    from liqcore.dataset.rows import bulk_order
    from liqcore.types import Kind

    if "ask_price" not in table.column_names:
        return table
    ap = table.column("ask_price")
    two = np.asarray(ap.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    n = table.num_rows
    t = table
    if two.any():
        idx = np.repeat(np.arange(n), two.astype(np.int64) + 1)
        second = np.zeros(len(idx), dtype=bool)
        second[np.flatnonzero(two) + np.arange(1, int(two.sum()) + 1)] = True
        t = table.take(pa.array(idx))
        mask = pa.array(second)
        for name, alt in (("price", t.column("ask_price")), ("qty", t.column("ask_qty")),
                          ("side", pa.scalar(4, t.schema.field("side").type))):
            t = t.set_column(t.column_names.index(name), name, pc.if_else(mask, alt, t.column(name)))
    kind = np.asarray(t.column("kind").fill_null(0).to_numpy(zero_copy_only=False))
    # each partition's rows in format 2's order, a permutation of its own: also where no quote row carries
    # an ask (a lone bid is one row, yet its file's quotes are still a section after the trades)
    if bool(np.any(kind == int(Kind.QUOTE))):
        starts = _partition_starts(table, np.ones(n, dtype=bool))
        starts = np.zeros(1, np.int64) if starts is None else np.asarray(starts, np.int64)
        before = np.concatenate([[0], np.cumsum(two)])
        bounds = np.concatenate([starts + before[starts], [t.num_rows]])
        te = np.asarray(t.column("ts_event_ns").fill_null(0).to_numpy(zero_copy_only=False))
        tr = np.asarray(t.column("ts_recv_ns").fill_null(-1).to_numpy(zero_copy_only=False))
        perm = None
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            o = bulk_order(te[a:b], tr[a:b], kind[a:b])
            if o is not None:
                if perm is None:
                    perm = np.arange(t.num_rows)
                perm[a:b] = a + o
        if perm is not None:
            t = t.take(pa.array(perm))
    table = t
    return table.drop_columns([c for c in ASK_COLS if c in table.column_names])


def upgrade_table(table):
    """A partition file's table in format 2: ``kind`` and ``side`` as int8 codes (a table written before
    format 2 holds names; they are coded from the distinct names only).  A format-2 table is returned
    as it is."""
    import pyarrow as pa

    from liqcore.io.contract import column_dictionary
    from liqcore.venues.common import KIND_BY_NAME, SIDE_BY_NAME

    for name, mapping, empty in (("kind", KIND_BY_NAME, 1), ("side", SIDE_BY_NAME, 0)):
        if name not in table.column_names or pa.types.is_integer(table.schema.field(name).type):
            continue
        idx, values = column_dictionary(table.column(name))
        codes = []
        for u in values + [""]:
            key = ("" if u is None else str(u)).strip().lower()
            code = empty if key == "" else mapping.get(key, -1)
            if code < 0:
                try:
                    code = int(key)
                except ValueError:
                    code = -1
            codes.append(code)
        arr = pa.array(np.asarray(codes, dtype=np.int8)[idx] if table.num_rows else np.zeros(0, np.int8))
        table = table.set_column(table.column_names.index(name), name, arr)
    return table
