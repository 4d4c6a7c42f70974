"""Hive-partitioned Parquet datasets of events: ``DIR/venue=V/symbol=S/date=YYYY-MM-DD/part-0.parquet``.

* :func:`write_dataset` adds events to a dataset.  Every (venue, symbol, UTC date) partition the new
  events touch is rewritten as the union of its old and new rows, exact duplicates removed, sorted by
  event time: appending a new day adds partitions, re-converting the same file changes nothing.
* :func:`convert_to_dataset` converts recording files incrementally: a manifest
  (``DIR/_liqcore_manifest.json``: path -> size, mtime, and the kind / symbol filters a filtered
  convert took) skips files already converted unchanged with the same (or no) filters.
* One writer at a time: :func:`dataset_lock` holds ``DIR/.liqcore-writer.lock`` (an advisory
  ``flock``, released by the system when the holder dies; the file names the holder's pid) around
  every write; a second writer waits for it (with a message) or fails naming the holder.  A run that
  completes removes the temporary files (``.part-0.parquet.tmpPID``) left by writers that died.
* :func:`load_dataset` reads a dataset lazily with symbol / venue / time filters (only the matching
  partitions are opened), returning a :class:`liqcore.io.LoadResult`.
* :func:`dataset_info` lists the (venue, symbol, date) partitions present.

A dataset may live on object storage or any fsspec file system (``s3://bucket/ds``, ``gs://...``,
``memory://...``; see :mod:`liqcore.io.storage`).  There every partition file is written whole in
one request (an object store never shows a part of one), the manifest last; the writer lock is a
lock object ``DIR/.liqcore-writer.lock`` created with a conditional write (``If-None-Match: *``), so
of two writers exactly one holds it; a writer that died leaves it behind: a writer on the same host
takes it over, one on another host fails naming the holder (delete the object once that writer is
gone).  Nothing is ever created locally for a URL.

The reading side (:func:`load_dataset`, :func:`dataset_info`, :func:`check_selection`,
:func:`is_dataset`) lives in :mod:`liqcore.io.dataset`, with the other readers, and is re-exported
here; this module, the writing side, imports :mod:`liqcore.io` and never the other way round.

Columns of every file: the event contract (``ts_event_ns, ts_recv_ns, kind, side, price, qty, flags``);
``venue``, ``symbol`` and ``date`` live in the directory names (hive partitioning).
"""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import numpy as np

from liqcore._atomic import pid_alive

# the reading side lives with the other readers (liqcore.io.dataset); this module builds on it
from liqcore.io.dataset import (  # noqa: F401  (re-exported: liqcore.dataset names both sides)
    _PART_COLS,
    MANIFEST,
    NS_PER_DAY,
    _open,
    check_selection,
    dataset_info,
    is_dataset,
    load_dataset,
)

#: the writer lock of a dataset (its content: the holder's pid)
LOCK = ".liqcore-writer.lock"

__all__ = ["write_dataset", "convert_to_dataset", "load_dataset", "dataset_info", "is_dataset", "MANIFEST",
           "dataset_lock", "DatasetLocked", "remove_stale_temporaries"]


class DatasetLocked(ValueError):
    """Another process is writing the dataset and did not finish within the wait (the message names
    the dataset, the holder's pid and the lock file)."""


#: (resolved dataset directory, thread) -> how deeply this thread holds its writer lock (re-entrant)
_HELD: dict = {}


def _holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        return ""
    return text.split()[0] if text else ""


@contextlib.contextmanager
def dataset_lock(out_dir, wait: float | None = None, on_wait=None):
    """Hold the writer lock of the dataset in ``out_dir`` (created when missing) for the block: an
    exclusive ``flock`` on ``DIR/.liqcore-writer.lock``, which holds the holder's pid; the system
    releases it when the holder exits or dies.  ``wait``: seconds to wait for another writer (None:
    as long as it takes, 0: not at all), then :class:`DatasetLocked`; ``on_wait``: called once with
    a line naming the holder when this writer has to wait.  Re-entrant within a thread."""
    import fcntl
    import threading

    from liqcore.io import storage

    url = storage.is_url(out_dir)
    out = None if url else Path(out_dir)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    key = (str(out_dir) if url else str(out.resolve()), threading.get_ident())
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    if url:  # object storage: a lock object created with a conditional write
        with _object_lock(out_dir, wait, on_wait):
            _HELD[key] = 1
            try:
                yield
            finally:
                del _HELD[key]
        return
    path = out / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        start = time.monotonic()
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pid = _holder(path)
                waited = time.monotonic() - start
                if wait is not None and waited >= wait:
                    who = f"pid {pid}" if pid else "another process"
                    raise DatasetLocked(
                        f"dataset: {out} is being written by {who} (lock {path}); "
                        + (f"still locked after waiting {wait:g} s" if wait else "run again when it has finished")
                    ) from None
                if not told and on_wait is not None and (pid or waited > 1.0):
                    on_wait(f"dataset {out} is being written by {'pid ' + pid if pid else 'another process'}: "
                            f"waiting for it to finish (lock {path})")
                    told = True
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def remove_stale_temporaries(out_dir) -> list[str]:
    """Delete the temporary files (``*.tmpPID``: partitions, manifest) that writers no longer running
    left in the dataset in ``out_dir`` (a writer killed inside a write leaves one); files of running
    writers stay.  Call it holding :func:`dataset_lock`.  Returns the paths removed."""
    import re

    from liqcore.io import storage

    removed = []
    if storage.is_url(out_dir):  # objects are written whole: no temporaries
        return removed
    out = Path(out_dir)
    if not out.is_dir():
        return removed
    tmp = re.compile(r"\.tmp(\d+)$")
    for p in out.rglob(".*.tmp*"):
        m = tmp.search(p.name)
        if not m or not p.is_file():
            continue
        pid = int(m.group(1))
        if pid != os.getpid() and pid_alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
            removed.append(str(p))
    return removed


def _dates(ts_ns: np.ndarray) -> np.ndarray:
    return (np.asarray(ts_ns, dtype=np.int64) // NS_PER_DAY).astype("datetime64[D]").astype(str)


def write_dataset(events, out_dir, registry=None, *, lock_wait: float | None = None) -> dict:
    """Add ``events`` (a LoadResult, or an EVENT_DTYPE array with ``registry``) to the dataset in
    ``out_dir``, holding its writer lock (``lock_wait``: see :func:`dataset_lock`).  Returns
    ``{"partitions": n touched, "rows_added": n new rows kept, "rows_refused": n}``: rows whose venue or
    symbol is not a valid name (see :mod:`liqcore.validate`) are refused, never written (a symbol never
    names a directory outside the dataset)."""
    from liqcore.io import LoadResult

    if isinstance(events, LoadResult):
        events, registry = events.events, events.registry
    if registry is None:
        raise ValueError("registry: needed to name the symbols of a bare event array")
    with dataset_lock(out_dir, wait=lock_wait):
        return _write_dataset(events, out_dir, registry)


@contextlib.contextmanager
def _object_lock(out_dir, wait, on_wait):
    from liqcore.io import storage

    cm = storage.object_lock(storage.join(out_dir, LOCK), wait=wait, on_wait=on_wait)
    try:
        cm.__enter__()
    except storage.LockHeld as exc:
        raise DatasetLocked(str(exc)) from None
    try:
        yield
    except BaseException:
        cm.__exit__(None, None, None)
        raise
    cm.__exit__(None, None, None)


def _write_dataset(events, out_dir, registry) -> dict:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from liqcore.io import events_to_table, storage

    url = storage.is_url(out_dir)
    out = Path(out_dir) if not url else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    table = events_to_table(events, registry)
    table = table.append_column("date", pa.array(_dates(events["ts_event"]).tolist(), pa.string()))
    if table.num_rows == 0:
        return {"partitions": 0, "rows_added": 0, "rows_refused": 0}
    keys = table.select(list(_PART_COLS)).group_by(list(_PART_COLS)).aggregate([]).to_pylist()
    if url:
        from liqcore.io.dataset import _url_partitions

        have = _url_partitions(out_dir)
        existing = None
    else:
        existing = _open(out) if any(out.glob("venue=*")) else None
    added = 0
    refused = n_refused = 0
    root = out.resolve() if out is not None else None
    for key in keys:
        if not _safe_key(key, root):  # a name that cannot be a directory inside the dataset: refused
            refused += int(pc.sum(pc.and_(pc.and_(pc.equal(table["venue"], key["venue"]),
                                                  pc.equal(table["symbol"], key["symbol"])),
                                          pc.equal(table["date"], key["date"]))).as_py() or 0)
            n_refused += 1
            continue
        mask = pc.and_(pc.and_(pc.equal(table["venue"], key["venue"]), pc.equal(table["symbol"], key["symbol"])),
                       pc.equal(table["date"], key["date"]))
        new = table.filter(mask)
        old_rows = 0
        if url and (key["venue"], key["symbol"], key["date"]) in have:  # the partition's objects now
            import io

            import pyarrow.parquet as pq

            fs, _r = storage.filesystem(out_dir)
            with storage.storage_errors(out_dir):
                olds = [pq.read_table(io.BytesIO(fs.cat_file(f)))
                        for f in have[(key["venue"], key["symbol"], key["date"])]]
            old = pa.concat_tables(olds, promote_options="default")
            old_rows = old.num_rows
            if old_rows:
                cols = [c for c in new.column_names if c not in _PART_COLS]
                new = pa.concat_tables([old.select(cols), new.select(cols).cast(old.select(cols).schema)])
        elif existing is not None:
            flt = ((ds.field("venue") == key["venue"]) & (ds.field("symbol") == key["symbol"])
                   & (ds.field("date") == key["date"]))
            old = existing.to_table(filter=flt)
            old_rows = old.num_rows
            if old_rows:
                new = pa.concat_tables([old.select(new.column_names), new.cast(old.select(new.column_names).schema)])
        # exact duplicates removed (first kept), then sorted by event time (stable)
        merged = new.group_by(new.column_names, use_threads=False).aggregate([])
        merged = merged.select(new.column_names).sort_by([("ts_event_ns", "ascending"), ("ts_recv_ns", "ascending")])
        added += merged.num_rows - old_rows
        if url:  # one object written whole (one request); other objects of the partition then go
            import io

            import pyarrow.parquet as pq

            name = f"venue={key['venue']}/symbol={key['symbol']}/date={key['date']}"
            buf = io.BytesIO()
            pq.write_table(merged.drop_columns([c for c in _PART_COLS if c in merged.column_names]), buf,
                           compression="zstd")
            storage.write_bytes(storage.join(out_dir, name, "part-0.parquet"), buf.getvalue())
            fs, root_path = storage.filesystem(out_dir)
            for f in have.get((key["venue"], key["symbol"], key["date"]), []):
                if not f.endswith("/part-0.parquet"):
                    with storage.storage_errors(out_dir, "writing"):
                        fs.rm_file(f)
            continue
        part_dir = out / f"venue={key['venue']}" / f"symbol={key['symbol']}" / f"date={key['date']}"
        part_dir.mkdir(parents=True, exist_ok=True)
        import pyarrow.parquet as pq

        tmp = part_dir / f".part-0.parquet.tmp{os.getpid()}"
        pq.write_table(merged.drop_columns(list(_PART_COLS)), tmp, compression="zstd")
        os.replace(tmp, part_dir / "part-0.parquet")
        for stale in part_dir.glob("*.parquet"):
            if stale.name != "part-0.parquet":
                stale.unlink()
    return {"partitions": len(keys) - n_refused, "rows_added": int(added), "rows_refused": int(refused)}


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


def _read_manifest(out) -> dict:
    import orjson

    from liqcore.io import storage

    if storage.is_url(out):
        url = storage.join(out, MANIFEST)
        if not storage.isfile(url):
            return {}
        try:
            return orjson.loads(storage.read_bytes(url))
        except orjson.JSONDecodeError:
            raise ValueError(f"dataset: {storage.display(url)} is not valid JSON") from None
    p = out / MANIFEST
    if not p.is_file():
        return {}
    try:
        return orjson.loads(p.read_bytes())
    except orjson.JSONDecodeError:
        raise ValueError(f"dataset: {p} is not valid JSON") from None


def _selection(kinds, symbols) -> dict | None:
    """The filters of a convert as stored in the manifest (None: the whole file)."""
    if not kinds and not symbols:
        return None
    return {"kind": sorted(set(kinds)) if kinds else None, "symbol": sorted(set(symbols)) if symbols else None}


def convert_to_dataset(paths, out_dir, *, format=None, feed_latency_ns: int = 0, strict: bool = False,
                       instruments=None, force: bool = False, kinds=None, symbols=None,
                       lock_wait: float | None = None, on_wait=None, warn=None) -> dict:
    """Convert recording files into the dataset ``out_dir``, one file at a time (memory: one file's
    events), holding the dataset's writer lock throughout (``lock_wait``, ``on_wait``: see
    :func:`dataset_lock`).  A file whose (resolved path, size, mtime) is in the manifest is skipped
    unless ``force`` -- when it was converted whole, or with the same ``kinds`` / ``symbols``
    filters (a filtered convert records its filters, so a later whole convert still takes the rest).
    Of several files, one that cannot be read is skipped (``unreadable``: path -> why; not marked
    converted) unless ``strict``; ``warn``: called with each warning line (default: stderr).  A
    completed run removes the temporary files of writers that died.  Returns ``{"converted": [...],
    "skipped": [...], "unreadable": {...}, "partitions": n, "rows_added": n, "rejects": {...},
    "stale_removed": [...]}``."""
    from liqcore.io import _expand, _warn_stderr, storage

    warn = warn or _warn_stderr
    if storage.is_url(out_dir):  # object storage: nothing local; an existing object is not a dataset
        out = str(out_dir)
        if storage.isfile(out):
            raise ValueError(f"dataset: {storage.display(out)} is an object, not a dataset prefix")
    else:
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise ValueError(f"dataset: {out} exists and is not a directory")
    files = _expand(paths)
    if not files:
        raise ValueError("paths: no recording files found")
    with dataset_lock(out, wait=lock_wait, on_wait=on_wait):
        done = _convert_locked(files, out, format=format, feed_latency_ns=feed_latency_ns, strict=strict,
                               instruments=instruments, force=force, kinds=kinds, symbols=symbols, warn=warn)
        done["stale_removed"] = remove_stale_temporaries(out)
    return done


def _convert_locked(files, out: Path, *, format, feed_latency_ns, strict, instruments, force, kinds, symbols,
                    warn) -> dict:
    import orjson

    from liqcore.io import load_events

    manifest = _read_manifest(out)
    sel = _selection(kinds, symbols)
    done = {"converted": [], "skipped": [], "unreadable": {}, "partitions": 0, "rows_added": 0, "rejects": {}}
    from liqcore.io import storage

    for f in files:
        st = f.stat()
        key = storage.source_of(f) or str(f.resolve())  # a recording fetched from a URL: its URL
        entry = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
        prev = manifest.get(key)
        same = isinstance(prev, dict) and all(prev.get(k) == v for k, v in entry.items())
        whole_before = same and "filters" not in prev
        if not force and same and (whole_before or (sel is not None and sel in prev["filters"])):
            done["skipped"].append(str(f))
            continue
        try:
            res = load_events([f], format=format, strict=strict, feed_latency_ns=feed_latency_ns,
                              instruments=instruments, warn=warn)
        except (ValueError, OSError) as exc:  # of several files, one that cannot be read is skipped
            if strict or len(files) == 1:
                raise
            from liqcore.io import _unreadable_why

            done["unreadable"][str(f)] = why = _unreadable_why(f, exc)
            warn(f"skipped {f}: {why}")
            continue
        ev = res.events
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
        info = write_dataset(ev, out, res.registry)
        for k, v in res.rejects.items():
            done["rejects"][k] = done["rejects"].get(k, 0) + v
        if info["rows_refused"]:
            done["rejects"]["bad_symbol"] = done["rejects"].get("bad_symbol", 0) + info["rows_refused"]
        done["partitions"] += info["partitions"]
        done["rows_added"] += info["rows_added"]
        done["converted"].append(str(f))
        if sel is None or whole_before:  # the whole file is in the dataset (now, or already)
            manifest[key] = entry
        else:  # only what the filters took: a whole convert later still takes the rest
            taken = list(prev["filters"]) if same else []
            if sel not in taken:
                taken.append(sel)
            manifest[key] = {**entry, "filters": taken}
        body = orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        if storage.is_url(out):  # the manifest last, whole in one request
            storage.write_bytes(storage.join(out, MANIFEST), body)
            continue
        tmp = out / f".{MANIFEST}.tmp{os.getpid()}"
        tmp.write_bytes(body)
        os.replace(tmp, out / MANIFEST)
    return done
