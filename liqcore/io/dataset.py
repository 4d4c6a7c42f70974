"""Reading hive-partitioned Parquet datasets of events (``DIR/venue=V/symbol=S/date=YYYY-MM-DD/
part-0.parquet``, written by :mod:`liqcore.dataset`): :func:`is_dataset`, :func:`dataset_info` (the
partitions present), :func:`check_selection` and :func:`load_dataset` (symbol / venue / time filters,
only the matching partitions opened), returning a :class:`~liqcore.io.LoadResult`.

Columns of every file: the event contract (``ts_event_ns, ts_recv_ns, kind, side, price, qty, flags``);
``venue``, ``symbol`` and ``date`` live in the directory names (hive partitioning).

A dataset may live on object storage or any fsspec file system (``s3://bucket/ds``, ``gs://...``,
``memory://...``; :mod:`liqcore.io.storage`): its partitions are listed (one listing, nothing
downloaded), pruned by venue, symbol and date, and only the selected partitions' files are fetched
(concurrently, one request each).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from liqcore.io.base import LoadResult, _FileState, dedupe
from liqcore.io.contract import _load_table
from liqcore.io.plausible import _sane

#: the manifest of converted files a dataset keeps (written by :func:`liqcore.dataset.convert_to_dataset`)
MANIFEST = "_liqcore_manifest.json"
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
    import pyarrow as pa
    import pyarrow.dataset as ds

    return ds.partitioning(pa.schema([("venue", pa.string()), ("symbol", pa.string()), ("date", pa.string())]),
                           flavor="hive")


def _open(path):
    import pyarrow.dataset as ds

    from liqcore.io import storage

    if storage.is_url(path):
        afs, root = storage.arrow_filesystem(path)
        return ds.dataset(root, filesystem=afs, format="parquet", partitioning=_partitioning())
    return ds.dataset(str(path), format="parquet", partitioning=_partitioning())


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


def _day(ns: int) -> str:
    return str(np.datetime64(int(ns) // NS_PER_DAY, "D"))


def check_selection(path, symbols=None, start_ns: int | None = None, end_ns: int | None = None,
                    venues=None) -> list[tuple[str, str, str]]:
    """The partitions a selection reads; ValueError (before any reading) when the dataset lacks a
    requested symbol or has no partition in the requested time range."""
    parts = dataset_info(path)
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
    return sel


def load_dataset(path, symbols=None, start_ns: int | None = None, end_ns: int | None = None, venues=None,
                 registry=None, max_clock_skew_ns=None, check: bool = True):
    """Events of the dataset in ``path`` with ``symbols`` (names), ``venues`` and event times in
    [start_ns, end_ns) -> :class:`liqcore.io.LoadResult` (sorted by event time, deduplicated).  Only
    the partitions that can hold matching rows are read.  ``check``: a ValueError when the dataset
    lacks a requested symbol or has nothing in the time range (else: no events)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from liqcore.types import EVENT_DTYPE, SymbolRegistry
    from liqcore.venues.common import Sink, drop_future

    from liqcore.io import storage

    url = storage.is_url(path)
    files = _url_partitions(path) if url else None  # one listing of an object store serves the whole read
    if check:
        sel = check_selection(path, symbols, start_ns, end_ns, venues)
    elif url:
        sel = sorted(files)
    else:  # a selection that may be empty (a chunk of a symbol listed later): no rows, no error
        sel = dataset_info(path)
    dset = None if url else _open(path)
    flt = None

    def _and(a, b):
        return b if a is None else a & b

    if venues:
        flt = _and(flt, ds.field("venue").isin(list(venues)))
    if symbols:
        flt = _and(flt, ds.field("symbol").isin(list(symbols)))
    if start_ns is not None:
        flt = _and(flt, ds.field("date") >= _day(start_ns))
        flt = _and(flt, ds.field("ts_event_ns") >= pa.scalar(int(start_ns), pa.int64()))
    if end_ns is not None:
        flt = _and(flt, ds.field("date") <= _day(end_ns - 1))
        flt = _and(flt, ds.field("ts_event_ns") < pa.scalar(int(end_ns), pa.int64()))
    if url:  # only the partitions the selection needs are fetched
        table = _fetch(path, files, venues, symbols, start_ns, end_ns, flt)
    else:
        table = dset.to_table(filter=flt)
    registry = registry if registry is not None else SymbolRegistry()
    sink = Sink(registry, None)
    st = _FileState(str(path), sink, False, "parquet")
    arr = _load_table(table, st, lambda row: f"{storage.display(path)}: row {row}", null_reason="missing_field") if table.num_rows \
        else np.zeros(0, EVENT_DTYPE)
    arr = _sane(arr, st, forced=False)  # implausible times, prices, sizes: counted, dropped (liqcore.validate)
    arr, n_future = drop_future(arr, max_clock_skew_ns)
    arr = arr[np.argsort(arr["ts_event"], kind="stable")]
    arr, ndup = dedupe(arr)
    rejects = dict(sink.counters)
    if n_future:
        rejects["future_time"] = rejects.get("future_time", 0) + n_future
    res = LoadResult(events=arr, registry=registry, rejects=rejects, duplicates=ndup,
                     sources=[str(path)])
    res.files[str(path)] = {"format": "dataset", "records": table.num_rows, "events": len(arr),
                            "rejects": rejects, "partitions": len(sel)}
    return res


def _fetch(path, files, venues, symbols, start_ns, end_ns, flt):
    """The rows of the dataset at the URL ``path`` that match: its partitions pruned by venue, symbol
    and date from one listing, then the selected files fetched concurrently (one request each) and
    filtered; columns as a local dataset read gives them (the file's, then venue, symbol, date)."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from liqcore.io import storage

    lo = _day(start_ns) if start_ns is not None else None
    hi = _day(end_ns - 1) if end_ns is not None else None
    want = [k for k in sorted(files) if (not venues or k[0] in set(venues)) and (not symbols or k[1] in set(symbols))
            and (lo is None or k[2] >= lo) and (hi is None or k[2] <= hi)]
    names = [(k, f) for k in want for f in files[k]]
    if not names:
        return pa.table({c: pa.array([], t) for c, t in (("ts_event_ns", pa.int64()), ("ts_recv_ns", pa.int64()),
                                                          ("kind", pa.string()), ("side", pa.string()),
                                                          ("price", pa.float64()), ("qty", pa.float64()),
                                                          ("flags", pa.uint8()), ("venue", pa.string()),
                                                          ("symbol", pa.string()), ("date", pa.string()))})
    fs, _root = storage.filesystem(path)
    with storage.storage_errors(path):
        blobs = fs.cat([f for _k, f in names], on_error="raise")
    tables = []
    for (v, s, d), f in names:
        t = pq.read_table(io.BytesIO(blobs[f]))
        n = t.num_rows
        for col, val in (("venue", v), ("symbol", s), ("date", d)):
            t = t.append_column(col, pa.repeat(pa.scalar(val, pa.string()), n))
        tables.append(t)
    table = pa.concat_tables(tables, promote_options="default")
    return table.filter(flt) if flt is not None else table
