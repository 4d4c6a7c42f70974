"""The one loader of recordings: :func:`load_events` reads files (through :func:`liqcore.io.load_files`) and
datasets (directories written by ``liqcore convert --dataset``, through :func:`liqcore.dataset.read.load_dataset`)
into one sorted, deduplicated event array.

It sits here, above both readers, because a dataset builds on ``io`` (its writer converts recordings read by
``io``; its reader returns ``io``'s :class:`~liqcore.io.base.LoadResult`): ``io`` never imports the dataset.
"""
from __future__ import annotations

import os

import numpy as np

from liqcore.dataset.read import is_dataset, load_dataset
from liqcore.io import LoadResult, dedupe, load_files, merge_loads
from liqcore.io.registry import canonical_format
from liqcore.types import EVENT_DTYPE, SymbolRegistry
from liqcore.venues.common import DEFAULT_MAX_CLOCK_SKEW_NS, fill_recv

__all__ = ["load_events"]


def load_events(
    paths,
    format: str | None = None,
    registry: SymbolRegistry | None = None,
    strict: bool = False,
    feed_latency_ns: int = 0,
    instruments=None,
    max_clock_skew_ns: int | None = DEFAULT_MAX_CLOCK_SKEW_NS,
    warn=None,
    columns=None,
    symbols=None,
) -> LoadResult:
    """Read recordings -- files and datasets -- into one sorted, deduplicated event array.

    ``paths``: a path or an iterable of paths (directories are walked; a directory written by ``liqcore convert
    --dataset`` is read as a dataset).  Files and datasets together: merged as one load, in time order,
    duplicates across them removed.

    ``format``: a format name (the names ``liqcore convert --help`` lists under ``--format``, e.g. ``jsonl``,
    ``bybit-archive``, ``tardis-trades``) to force it for every file, ``None`` to detect it per file (and per line
    in files of JSON or log lines).  ``registry``: the symbol ids to use (a new :class:`SymbolRegistry` when
    None).  ``strict``: raise ValueError naming the file and line (row for Parquet) of the first bad record
    instead of counting it.  ``feed_latency_ns``: the receive time, in nanoseconds after the event's own time,
    given (as ``ts_event + feed_latency_ns``, flagged ``Flag.RECV_ESTIMATED``) to events recorded without one;
    a dataset's events get the same rule.  ``instruments``: OKX instId -> contract value (ctVal) additions to
    the shipped instrument table.  ``max_clock_skew_ns``: an event recorded with a receive time and stamped more
    than this many nanoseconds ahead of it is dropped and counted as ``future_time`` (the live engine applies
    the same rule; None disables it); datasets included.  ``warn``: called with each warning line (default:
    written to stderr as ``warning: ...``).  ``columns``: a :class:`liqcore.io.mapped.ColumnMapping` that reads
    every file as a homemade CSV or Parquet.

    Of several files, one that cannot be read (format not recognised, not a valid gzip / zstd / Parquet file, a
    CSV without the contract's columns, an I/O error) is skipped, named in the result's ``skipped`` and in a
    warning, and the rest are loaded; ``strict`` stops at it instead (as does a single file, or when no file can
    be read).  A compressed file cut short loads up to the cut, with a warning naming the file and how much was
    read.  Each file's entry in the result's ``files`` reports what was read from it.

    ``symbols``: the symbols (a comma list or a list of names, any case, a ``venue:`` prefix dropped) the caller
    keeps of the events: a dataset reads only their partitions and its venue-wide ones (symbol ``*``), so a
    partition outside them is never opened (a damaged one included); files are read whole (the caller selects).
    """
    feed_latency_ns = int(feed_latency_ns)
    if feed_latency_ns < 0:
        raise ValueError("feed_latency_ns: must be >= 0")
    canonical_format(format)  # an unknown --format: said before any dataset is read
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    datasets = [p for p in paths if is_dataset(p)]
    kw = dict(format=format, strict=strict, feed_latency_ns=feed_latency_ns, instruments=instruments,
              max_clock_skew_ns=max_clock_skew_ns, warn=warn, columns=columns)
    if not datasets:
        return load_files(paths, registry=registry, **kw)
    registry = registry if registry is not None else SymbolRegistry()
    files = [p for p in paths if not is_dataset(p)]
    parts = [load_files(files, registry=registry, none_readable_ok=True, **kw)] if files else []
    parts.append(_load_datasets(datasets, registry, feed_latency_ns, max_clock_skew_ns, symbols))
    return parts[0] if len(parts) == 1 else merge_loads(parts, registry)


def _wanted_names(symbols) -> set[str] | None:
    """``symbols`` (a comma list or names) -> the upper-case names a partition's symbol may be, or None (all)."""
    if symbols is None:
        return None
    items = str(symbols).split(",") if isinstance(symbols, str) else [str(s) for s in symbols]
    out = {s.strip().upper() for s in items if s.strip()}
    out |= {s.rpartition(":")[2] for s in out}
    return out or None


def _load_one(d, registry, max_clock_skew_ns, wanted: set[str] | None) -> LoadResult:
    """The dataset ``d`` read whole, or (``wanted``: upper-case names) its partitions of those symbols and its
    venue-wide ones alone: gone files of those partitions an error (:func:`liqcore.dataset.partfile.check_gone`)
    as of a whole read, a symbol it lacks no rows (the caller's selection says so)."""
    if wanted is None:
        return load_dataset(d, registry=registry, max_clock_skew_ns=max_clock_skew_ns)
    from liqcore.dataset.read import check_selection, dataset_info
    from liqcore.io import storage

    parts = dataset_info(d)
    if not parts:
        check_selection(d)  # (its error: a dataset of no partition)

    def keep(ps):
        return [p for p in ps if p[1] == "*" or p[1].upper() in wanted]

    if not storage.is_url(d):
        from liqcore.dataset.partfile import check_gone

        check_gone(d, set(parts), keep)
    names = sorted({p[1] for p in keep(parts)})
    if not names:
        res = LoadResult(events=np.zeros(0, EVENT_DTYPE), registry=registry, sources=[str(d)], checked=True)
        have = sorted({p[1] for p in parts})
        shown = ", ".join(have[:5]) + (f" and {len(have) - 5} more" if len(have) > 5 else "")
        asked = ", ".join(sorted({w.rpartition(":")[2] for w in wanted}))
        res.files[str(d)] = {"format": "dataset", "records": 0, "events": 0, "rejects": {}, "partitions": 0,
                             "rows_read": 0, "checked": True,
                             "empty": f"holds no partition of symbol(s) {asked} (has: {shown})"}
        return res
    from liqcore.dataset.partfile import registered_only

    registered_only(d, keep(parts), strict=True)  # (only a venue no longer registered's: the one line naming it)
    return load_dataset(d, symbols=names, registry=registry, max_clock_skew_ns=max_clock_skew_ns, check=False,
                        partitions=parts)


def _load_datasets(datasets, registry, feed_latency_ns: int, max_clock_skew_ns, symbols=None) -> LoadResult:
    """Every dataset of ``datasets`` in one result (``symbols``: :func:`load_events`'s): events in time order, the
    receive time given to those recorded without one, duplicates across datasets removed."""
    result = LoadResult(events=np.zeros(0, EVENT_DTYPE), registry=registry)
    chunks, ids = [], []
    wanted = _wanted_names(symbols)
    for d in datasets:
        dres = _load_one(d, registry, max_clock_skew_ns, wanted)
        chunks.append(dres.events)
        ids.append(dres.trade_ids)
        for k, v in dres.rejects.items():
            result.rejects[k] = result.rejects.get(k, 0) + v
        result.files[str(d)] = dres.files[str(d)]
        result.sources.append(str(d))
    events = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    tids = None
    if any(i is not None for i in ids):
        tids = np.concatenate([i if i is not None else np.zeros(len(c), np.int64) for c, i in zip(chunks, ids)])
    fill_recv(events, feed_latency_ns)
    ts = events["ts_event"]
    if len(ts) > 1 and not bool(np.all(ts[1:] >= ts[:-1])):
        order = np.argsort(ts, kind="stable")
        events = events[order]
        tids = tids[order] if tids is not None else None
    result.events, result.trade_ids, result.duplicates = dedupe(events, tids, with_ids=True)
    result.checked = True
    return result
