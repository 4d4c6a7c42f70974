"""The per-file loop of :func:`load_files`: for each file, the reader the registry names (or the
forced one), its events through the plausibility rule and the clock guard, then every file merged,
sorted by ``ts_event`` (stable) and deduplicated.  Of several files, one that cannot be read is skipped
(:func:`_load_each`).  Datasets (directories written by ``liqcore convert --dataset``) are read above this
package, by :func:`liqcore.dataset.load.load_events`, which reads files through this one: the dataset builds
on ``io``, never the other way.
"""
from __future__ import annotations

import copy
import os
import pickle

import numpy as np

import liqcore.io.registry as _registry
from liqcore._libs.reading import event_scan
from liqcore.io.base import LoadResult, FileState, unreadable_why, warn_stderr, dedupe, file_report
from liqcore.venues.files import Blocks, DamagedMember, base_name
from liqcore.io.plausible import future_mask, _sane, sane_ids  # noqa: F401
from liqcore.io.registry import MIX, expand_paths, canonical_format
from liqcore.types import EVENT_DTYPE, SymbolRegistry
from liqcore.venues.common import DEFAULT_MAX_CLOCK_SKEW_NS, Sink, drop_future, fill_recv


def load_files(
    paths,
    format: str | None = None,
    registry: SymbolRegistry | None = None,
    strict: bool = False,
    feed_latency_ns: int = 0,
    instruments=None,
    max_clock_skew_ns: int | None = DEFAULT_MAX_CLOCK_SKEW_NS,
    warn=None,
    columns=None,
    *,
    _depth_carry: list | None = None,
    none_readable_ok: bool = False,
) -> LoadResult:
    """Read recording files into one sorted, deduplicated event array (datasets: :func:`liqcore.load_events`).

    ``paths``: a path or an iterable of paths (directories are walked).  ``format``: one of
    :data:`FORMATS` to force it for every line, ``None`` to detect per file (and per line in files
    of JSON or log lines).  ``registry``: symbol ids to use (a
    new registry when None).  ``strict``: raise ValueError naming file and line (row for Parquet) of
    the first bad record instead of counting it.  ``feed_latency_ns``: receive time assigned, as
    ``ts_event + feed_latency_ns`` with ``Flag.RECV_ESTIMATED``, to events recorded without one.
    ``instruments``: OKX instId -> ctVal additions to the shipped table.  ``max_clock_skew_ns``: an
    event recorded with a receive time and stamped more than this ahead of it is dropped and counted as
    ``future_time`` (the live engine applies the same rule; None disables it).

    Of several files, one that cannot be read (format not recognised, not a valid gzip / zstd /
    Parquet file, a CSV without the contract's columns, an I/O error) is skipped, named in
    ``skipped`` and in a warning, and the rest are loaded; ``strict`` stops at it instead (as does a
    single file, or when no file can be read).  A compressed file cut short loads up to the cut, with
    a warning naming the file and how much was read (one with a damaged gzip member: up to that member).
    ``warn``: called with each warning line (default: written to stderr as ``warning: ...``).  ``columns``: a
    :class:`liqcore.io.mapped.ColumnMapping` that reads every file as a homemade CSV or Parquet
    (format ``columns``; what each column was taken as: :func:`liqcore.io.mapped.mapping_report`).
    Recorded depth books go on from one file to the next (the files in time order: a directory's are).

    Each file's entry in ``files`` reports what was read from it (:func:`liqcore.io.base.file_report`).
    ``none_readable_ok``: of several files, none readable is an empty result with every file in ``skipped``
    rather than a ValueError (the caller has other sources: a dataset).
    """
    if warn is None:
        warn = warn_stderr
    if columns is not None:
        format = "columns"
    format = canonical_format(format)
    feed_latency_ns = int(feed_latency_ns)
    if feed_latency_ns < 0:
        raise ValueError("feed_latency_ns: must be >= 0")
    registry = registry if registry is not None else SymbolRegistry()
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = expand_paths(list(paths))
    if len(files) > 1:  # one at a time, so that a file that cannot be read does not take the others down
        result = _load_each(files, warn=warn, format=format, registry=registry, strict=strict,
                            feed_latency_ns=feed_latency_ns, instruments=instruments,
                            max_clock_skew_ns=max_clock_skew_ns, columns=columns, _depth_carry=[None],
                            none_readable_ok=none_readable_ok)
        if _depth_carry is None:  # (the load asked for, not one file of it)
            _say_unknown_venues(result, warn)
        return result
    kw = dict(format=format, registry=registry, strict=strict, feed_latency_ns=feed_latency_ns, instruments=instruments,
              max_clock_skew_ns=max_clock_skew_ns, warn=warn, columns=columns, _depth_carry=_depth_carry)
    # the depth books carried in, as they were: a first reading that meets a damaged member has moved them
    books = _books_copy(_depth_carry[0]) if _depth_carry is not None else None
    try:
        return _load_listed(files, **kw)
    except DamagedMember as exc:  # a gzip member failed its check after giving text: read again up to it,
        if _depth_carry is not None:  # from the books the files before left
            _depth_carry[0] = books
        return _load_listed(files, **kw, damaged=exc)


def _books_copy(books):
    """A copy of the depth books carried from file to file (a pickle round trip: about 3x faster than a deep copy
    on hundreds of levels; a deep copy where a venue's book does not pickle)."""
    if books is None:
        return None
    try:
        return pickle.loads(pickle.dumps(books, pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError):
        return copy.deepcopy(books)


def _load_listed(files, *, format, registry, strict, feed_latency_ns, instruments, max_clock_skew_ns, warn, columns,
                 _depth_carry, damaged: DamagedMember | None = None) -> LoadResult:
    """:func:`load_files` of the files listed, read in one (``damaged``: a file's gzip member that failed its
    check after giving text, the file read up to it)."""
    from liqcore.venues.instruments import load_instruments

    inst = load_instruments(instruments)
    readers = _registry.REGISTRY
    forced = readers.get(format) if format is not None else None
    result = LoadResult(events=np.zeros(0, EVENT_DTYPE), registry=registry)
    chunks = []
    id_chunks: list = []  # each chunk's trade ids (None: none)
    totals: dict[str, int] = {}
    recovered: dict[str, int] = {}
    last: tuple = (None, None)  # the last file's events and their figures
    carry = _depth_carry if _depth_carry is not None else [None]  # (the depth books of the files read so far)
    for path in files:
        if isinstance(path, (str, os.PathLike)) and os.path.isfile(path) and os.path.getsize(path) == 0:
            _empty_file(result, path, "is empty (0 bytes)")  # said so, not "cannot detect the format"
            continue
        if isinstance(path, (str, os.PathLike)) and os.path.isfile(path):
            from liqcore.venues.archives import zip_size

            if zip_size(path) == 0:  # (ValueError: a zip that is not one readable CSV, said as such)
                _empty_file(result, path, "holds an empty CSV (0 bytes once unzipped)")
                continue
        sink = Sink(registry, _with_recording(inst, instruments, path))
        sink.depth = carry[0]  # recorded depth books go on from the file before (the files in time order)
        reader = forced if forced is not None else (readers.by_suffix(base_name(path)) or readers.container(path))
        if reader is not None and reader.shape == "path":  # a binary container: read from its path
            fmt = reader.name
        else:
            blk = Blocks(path, damaged=damaged if damaged is not None and damaged.path == str(path) else None)
            blocks = iter(blk)
            first = next(blocks, b"")
            if not first.strip() and not any(b.strip() for b in blocks) and not blk.truncated:
                _empty_file(result, path, "is empty once decompressed" if not first else "holds only blank lines")
                continue
            if not first.strip() and blk.truncated:  # nothing decodable before the cut: cut short, not empty
                raise ValueError(blk.cut_short_error())
            if forced is not None:
                fmt, found = forced.name, {}
            else:
                fmt, found = readers.detect(path, first[: 1 << 16])
            reader = readers.get(fmt)
        st = FileState(str(path), sink, strict, fmt)
        st.mapping = columns
        st.forced = forced is not None
        tids = None
        if reader.shape == "path":
            arr = reader.load(path, st)
            tids = st.trade_ids
        else:
            if reader.shape == "lines":
                # line formats stream block by block (memory stays ~ one block); a detected format
                # names the file, but every line is decoded by its own kind (a forced one applies
                # to every line)
                if forced is not None:
                    dec = reader.load(sink, fmt, None)
                else:  # log lines seen: the other text lines are expected (not_a_record)
                    by_kind = readers.get(MIX) if reader.mix else reader
                    dec = by_kind.load(sink, by_kind.name, any(readers.get(f).prose for f in found))
                line = 0
                block = first
                while block:
                    dec.feed_lines(block, st, line)
                    line += block.count(b"\n")
                    block = next(blocks, b"")
            else:  # the whole (decompressed) file
                data = first + b"".join(blocks)
                arr = reader.load(data, st)
                if arr is not None:
                    sink.arrays.append((len(sink.rows), arr))
                data = b""
            if blk.truncated:
                st.bad(0, "truncated_file", "compressed stream ends early")
            arr, tids = sink.events_and_ids()
            data = b""
            if blk.truncated:
                note = blk.truncation_note() + f" ({len(arr):,} events loaded from it)"
                result.warnings.append(note)
                warn(note)
        # the file's figures in one pass (times, codes, the clock guard's count): each check below that
        # finds nothing to do on the usual file says so from them, without a pass of its own
        scan = event_scan(arr, max_clock_skew_ns)
        # plausible times, symbols, prices (liqcore.validate)
        sane, tids = sane_ids(arr, tids, st, forced=format is not None, scan=scan)
        scan, arr = (scan if sane is arr else event_scan(sane, max_clock_skew_ns)), sane
        if not scan.n_future:  # the live engine's clock guard drops nothing
            n_future = 0
        elif tids is not None:  # the live engine's clock guard, the trade ids kept alike
            keep = ~future_mask(arr, max_clock_skew_ns)
            arr, tids, n_future = arr[keep], tids[keep], int(len(keep) - np.count_nonzero(keep))
            scan = None
        else:
            arr, n_future = drop_future(arr, max_clock_skew_ns)  # the live engine's clock guard
            scan = None
        if n_future:
            sink.counters["future_time"] = sink.counters.get("future_time", 0) + n_future
        chunks.append(arr)
        id_chunks.append(tids)
        rej = {k: v for k, v in sink.counters.items() if not k.startswith("recovered_")}
        for k, v in sink.counters.items():
            if k.startswith("recovered_"):
                recovered[k[len("recovered_"):]] = recovered.get(k[len("recovered_"):], 0) + v
        for k, v in rej.items():
            totals[k] = totals.get(k, 0) + v
        if sink.unknown_venues:  # (records naming a venue not registered: which, for the messages)
            st.info["unknown_venues"] = dict(sink.unknown_venues)
        result.files[str(path)] = {"format": fmt, "records": st.records, "events": len(arr), "rejects": rej,
                                   **file_report(arr, registry, scan), **st.info}
        last = (arr, scan)
        carry[0] = sink.depth  # (into the next file, of this load or of a load file by file)
        result.sources.append(str(path))
    events = (chunks[0] if len(chunks) == 1 else np.concatenate(chunks)) if chunks else np.zeros(0, EVENT_DTYPE)
    tids = _join_ids(chunks, id_chunks)
    chunks = []
    scan = last[1] if last[0] is events else None  # one file: its figures still hold
    if scan is None or scan.n_recv_unknown:
        fill_recv(events, feed_latency_ns)
    ts = events["ts_event"]
    in_order = scan.te_sorted if scan is not None else len(ts) < 2 or bool(np.all(ts[1:] >= ts[:-1]))
    if not in_order:  # already in order (one sorted file): no copy
        order = np.argsort(ts, kind="stable")
        events = events[order]
        tids = tids[order] if tids is not None else None
    events, tids, ndup = dedupe(events, tids, with_ids=True)
    result.events = events
    result.trade_ids = tids
    result.duplicates = ndup
    result.rejects = totals
    result.recovered = recovered
    result.checked = True
    if _depth_carry is None:  # (the load asked for, not one file of it)
        _say_unknown_venues(result, warn)
    return result


def _say_unknown_venues(result: LoadResult, warn) -> None:
    """A load that kept events but left out records of a venue not registered (a plugin's, its package not
    installed): one warning naming the venue(s), the records and the files (a load that kept none: its error
    says it, :func:`liqcore.io.require.why_empty`)."""
    from liqcore.io.base import unknown_venues_note

    note = unknown_venues_note(result) if len(result.events) else None
    if note:
        result.warnings.append(note)
        warn(note)


def _empty_file(result: LoadResult, path, what: str) -> None:
    """An empty file is a source that held nothing: listed, with ``empty`` saying how (why_empty says it)."""
    result.files[str(path)] = {"format": None, "records": 0, "events": 0, "rejects": {}, "empty": what,
                               **file_report(np.zeros(0, EVENT_DTYPE), result.registry)}
    result.sources.append(str(path))


def _load_each(files, *, warn, strict: bool, registry, none_readable_ok: bool = False, **kw) -> LoadResult:
    """:func:`load_files` of several files, file by file: a file that cannot be read is skipped
    and named (``strict``: it stops the load); the results are merged as one load would give them
    (same order, same duplicates removed)."""
    registry = registry if registry is not None else SymbolRegistry()
    parts: list[LoadResult] = []
    skipped: dict[str, str] = {}
    notes: list[str] = []
    for path in files:
        try:
            parts.append(load_files([path], registry=registry, strict=strict, warn=warn, **kw))
            for p, info in parts[-1].files.items():  # an empty file among others: said, not only listed
                if info.get("empty"):
                    note = f"{p} {info['empty']}: no events from it"
                    notes.append(note)
                    warn(note)
        except (ValueError, OSError) as exc:
            why = unreadable_why(path, exc)
            if strict:
                raise ValueError(f"{path}: {why}") from None
            skipped[str(path)] = why
            note = f"skipped {path}: {why}"
            notes.append(note)
            warn(note)
    if not parts and not none_readable_ok:
        listed = "; ".join(f"{p}: {w}" for p, w in list(skipped.items())[:3])
        more = f" (+{len(skipped) - 3} more)" if len(skipped) > 3 else ""
        raise ValueError(f"paths: none of the {len(files)} files could be read ({listed}{more})")
    return merge_loads(parts, registry, skipped, notes)


def merge_loads(parts: list, registry, skipped: dict | None = None, notes=()) -> LoadResult:
    """Several loads of one ``registry`` merged as one load would give them: rejects, recovered rows, sources,
    files and warnings added up; the events in time order (stable) and their duplicates across loads removed
    (counted in ``duplicates`` with each load's own)."""
    result = LoadResult(events=np.zeros(0, EVENT_DTYPE), registry=registry, skipped=dict(skipped or {}))
    for r in parts:
        for k, v in r.rejects.items():
            result.rejects[k] = result.rejects.get(k, 0) + v
        for k, v in r.recovered.items():
            result.recovered[k] = result.recovered.get(k, 0) + v
        result.duplicates += r.duplicates
        result.sources.extend(r.sources)
        result.files.update(r.files)
        result.skipped.update(r.skipped)
        result.warnings.extend(r.warnings)
    result.warnings.extend(notes)
    events = np.concatenate([r.events for r in parts]) if parts else np.zeros(0, EVENT_DTYPE)
    tids = _join_ids([r.events for r in parts], [r.trade_ids for r in parts])
    order = np.argsort(events["ts_event"], kind="stable")
    events = events[order]
    tids = tids[order] if tids is not None else None
    result.events, result.trade_ids, ndup = dedupe(events, tids, with_ids=True)
    result.duplicates += ndup
    result.checked = True
    return result


def _join_ids(chunks, id_chunks):
    """The trade ids of concatenated chunks (0 where a chunk has none), or None when none has any."""
    if not any(i is not None for i in id_chunks):
        return None
    return np.concatenate([i if i is not None else np.zeros(len(c), np.int64) for c, i in zip(chunks, id_chunks)])




def _with_recording(inst: dict, given, path) -> dict:
    """The OKX ctVal table for one file: the shipped one, then the instrument list kept with the recording
    (:func:`liqcore.venues.instruments.recording_instruments`), then the caller's ``instruments=``."""
    from liqcore.venues.instruments import default_instruments, load_instruments, recording_instruments

    side = recording_instruments(path)
    if not side:
        return inst
    out = {**default_instruments(), **side}
    if given is not None:
        base = default_instruments()
        out.update({k: v for k, v in load_instruments(given).items() if base.get(k) != v})
    return out
