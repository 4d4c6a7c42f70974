"""The upgrade of a dataset an older release wrote (:func:`upgrade_dataset`, ``liqcore dataset upgrade``): each
partition not in the layout the writer writes now -- a dataset of an older format, a file without its pages' places
(the Parquet offset index: :mod:`liqcore.dataset.pages`), a partition of several files -- read and written again
whole by the writer's own pieces (:mod:`liqcore.dataset.write`), under the dataset's writer lock.

May import: pyarrow (inside functions), ``io.storage``, ``io.base`` (its warning line) and this package's ``write``,
``read``, ``checked``, ``partfile`` and ``lock``.
"""
from __future__ import annotations

import os
from pathlib import Path

from liqcore.dataset.lock import dataset_lock, remove_stale_temporaries
from liqcore.dataset.rows import _merge_rows
from liqcore.dataset.write import (_WRITE_FORMAT, _by_section, _partition_files, _put_partition, _read_partition,
                                   _still_checked, _write_format, _write_marks)

__all__ = ["upgrade_dataset"]


def _pages_placed(out_dir, url: bool, f: str) -> bool:
    """Whether every column chunk of the partition file ``f`` carries its pages' places (the Parquet offset index
    the writer writes now: a window reads the pages it decodes, not the chunk's bytes before them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if url:
        from liqcore.io import storage

        from liqcore.dataset.partfile import check_schema

        fs, _r = storage.filesystem(out_dir)
        where = storage.display(storage.join(out_dir, f[len(_r):])) if f.startswith(_r) else f
        try:
            with storage.storage_errors(out_dir), fs.open(f, "rb") as fh:
                md = pq.read_metadata(fh)
        except pa.ArrowException as exc:  # (a local file was judged before: partfile.check_file)
            raise ValueError(f"dataset partition file {where}: cannot be read: {' '.join(str(exc).split())}") from None
        check_schema(md.schema.to_arrow_schema(), where)  # (its footer, read here anyway)
    else:
        md = pq.read_metadata(f)
    return all(md.row_group(g).column(j).has_offset_index
               for g in range(md.num_row_groups) for j in range(md.num_columns))


def _gone(root: Path, have: dict) -> list:
    """The partition files the dataset's checked marks list whose partition holds no file now
    (:func:`liqcore.dataset.partfile.gone`)."""
    from liqcore.dataset.partfile import gone

    return gone(root, set(have), lambda ps: ps)


def _say_gone(out_dir, files: list, dry_run: bool) -> None:
    from liqcore.dataset.checked import MARKS_FILE
    from liqcore.dataset.partfile import gone_note
    from liqcore.io.base import warn_stderr

    what = "an upgrade forgets them" if dry_run else "forgotten: reads of their partitions no longer ask for them"
    warn_stderr(f"dataset {out_dir}: {len(files)} partition file(s) its list of checked files ({MARKS_FILE}) holds "
                f"are gone: {gone_note(out_dir, files)}; {what}")


def _forget(root: Path, files: list) -> int:
    """The marks of the partition files ``files`` (gone) taken out of the dataset's marks file -> how many."""
    from liqcore.dataset.checked import read_marks

    marks = dict(read_marks(root))
    n = 0
    for rel, _mark in files:
        if marks.pop(rel, None) is not None:
            n += 1
    if n:
        _write_marks(root, marks)
    return n


def upgrade_dataset(out_dir, *, dry_run: bool = False, lock_wait: float | None = None, progress=None) -> dict:
    """Rewrite, in the layout the writer writes now, each partition of the dataset in ``out_dir`` that lacks it: a
    dataset of an older format (every partition), a partition file without its pages' places (the Parquet offset
    index: such a file reads whole column chunks where a new one reads the pages it decodes), a partition of several
    files.  The rows stay the rows (the same events, read back equal); each partition is replaced whole and at once,
    its checked mark carried over when the old file is the one marked, so an interrupted upgrade leaves every
    partition either old or new and a second run goes on where it stopped (an older format's file, rewritten last, is
    what says the upgrade is done).  Holds the dataset's writer lock (``lock_wait``: :func:`dataset_lock`).

    A local dataset's files are each judged first (:func:`liqcore.dataset.partfile.check_file`): one that is no
    Parquet file of the event contract is a ValueError naming it, before anything is rewritten (never a partition
    made of it).  The partition files its checked marks list that are gone are said (a warning naming them) and
    their marks forgotten, so reads of their partitions no longer stop at them (:func:`liqcore.dataset.read.
    check_selection`).

    ``dry_run``: only count (and say what is gone).  ``progress(done, total)`` after each partition.  Returns
    ``{"partitions": n, "to_rewrite": n, "rewritten": n, "format_before": f, "format": f, "bytes_before": b,
    "bytes_after": b, "stale_removed": n, "gone": n, "forgotten": n}`` (bytes: of the partitions to rewrite, local
    datasets, 0 on object storage; stale_removed: the temporary files writers killed inside a write had left,
    removed; gone: the marked files that are gone, forgotten: their marks taken out)."""
    from liqcore.dataset.read import read_format
    from liqcore.io import storage

    url = storage.is_url(out_dir)
    if not url and not Path(out_dir).is_dir():
        raise ValueError(f"dataset: no such directory: {out_dir}")
    with dataset_lock(out_dir, wait=lock_wait):
        have = _partition_files(out_dir, url)
        fmt = read_format(out_dir)
        if not have and fmt is None:
            raise ValueError(f"dataset: {storage.display(out_dir) if url else out_dir} holds no liqcore dataset "
                             "(no format file, no partition)")
        root = None if url else Path(out_dir)
        if not url:  # every file a partition of the contract, before any is rewritten (one line naming the first not)
            from liqcore.dataset.partfile import check_file

            for f in sorted(x for fs in have.values() for x in fs):
                check_file(f)
        gone = _gone(root, have) if root is not None else []
        before = int((fmt or {}).get("format", 0))
        older = before < _WRITE_FORMAT
        stale = {k: f for k, f in sorted(have.items())
                 if older or len(f) > 1 or not all(_pages_placed(out_dir, url, x) for x in f)}
        size = (lambda fs: sum(os.path.getsize(x) for x in fs)) if not url else (lambda fs: 0)
        out = {"partitions": len(have), "to_rewrite": len(stale), "rewritten": 0, "format_before": before,
               "format": before, "bytes_before": sum(size(f) for f in stale.values()), "bytes_after": 0,
               "stale_removed": 0, "gone": len(gone), "forgotten": 0}
        if gone:
            _say_gone(out_dir, gone, dry_run)
            if not dry_run:
                out["forgotten"] = _forget(root, gone)
        if dry_run or (not stale and not older):
            return out
        marks = None
        if not url and fmt is not None:
            from liqcore.dataset.checked import read_marks

            marks = dict(read_marks(root))
        out["stale_removed"] = len(remove_stale_temporaries(out_dir))  # (what killed writers left)
        for key, files in stale.items():
            rows = [_merge_rows(x) for x in _by_section(_read_partition(out_dir, url, files))]
            ok = marks is not None and _still_checked(rows, key[1], files, True, marks, root)
            _put_partition(out_dir, url, key, rows, files, ok, marks)  # (an interrupt: the old file stays)
            del rows
            if marks is not None:  # (each partition's mark as it is replaced: an interrupt keeps the ones done)
                _write_marks(out_dir, marks)
            out["rewritten"] += 1
            if not url:
                v, s_, d = key
                out["bytes_after"] += os.path.getsize(root / f"venue={v}" / f"symbol={s_}" / f"date={d}"
                                                      / "part-0.parquet")
            if progress is not None:
                progress(out["rewritten"], len(stale))
        symbols = {tuple(x) for x in (fmt or {}).get("symbols", [])} | {(k[0], k[1]) for k in have}
        _write_format(out_dir, symbols)
        out["format"] = _WRITE_FORMAT
        return out
