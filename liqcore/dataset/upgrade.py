"""The upgrade of a dataset an older release wrote (:func:`upgrade_dataset`, ``liqcore dataset upgrade``): each
partition not in the layout the writer writes now -- a dataset of an older format, a file without its pages' places
(the Parquet offset index: :mod:`liqcore.dataset.pages`), a partition of several files -- read and written again
whole by the writer's own pieces (:mod:`liqcore.dataset.write`), under the dataset's writer lock.

May import: pyarrow (inside functions), ``io.storage`` and this package's ``write``, ``read``, ``checked`` and ``lock``.
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
    import pyarrow.parquet as pq

    if url:
        from liqcore.io import storage

        fs, _r = storage.filesystem(out_dir)
        with storage.storage_errors(out_dir), fs.open(f, "rb") as fh:
            md = pq.read_metadata(fh)
    else:
        md = pq.read_metadata(f)
    return all(md.row_group(g).column(j).has_offset_index
               for g in range(md.num_row_groups) for j in range(md.num_columns))


def upgrade_dataset(out_dir, *, dry_run: bool = False, lock_wait: float | None = None, progress=None) -> dict:
    """Rewrite, in the layout the writer writes now, each partition of the dataset in ``out_dir`` that lacks it: a
    dataset of an older format (every partition), a partition file without its pages' places (the Parquet offset
    index: such a file reads whole column chunks where a new one reads the pages it decodes), a partition of several
    files.  The rows stay the rows (the same events, read back equal); each partition is replaced whole and at once,
    its checked mark carried over when the old file is the one marked, so an interrupted upgrade leaves every
    partition either old or new and a second run goes on where it stopped (an older format's file, rewritten last, is
    what says the upgrade is done).  Holds the dataset's writer lock (``lock_wait``: :func:`dataset_lock`).

    ``dry_run``: only count.  ``progress(done, total)`` after each partition.  Returns ``{"partitions": n,
    "to_rewrite": n, "rewritten": n, "format_before": f, "format": f, "bytes_before": b, "bytes_after": b,
    "stale_removed": n}`` (bytes: of the partitions to rewrite, local datasets, 0 on object storage; stale_removed: the
    temporary files writers killed inside a write had left, removed)."""
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
        before = int((fmt or {}).get("format", 0))
        older = before < _WRITE_FORMAT
        stale = {k: f for k, f in sorted(have.items())
                 if older or len(f) > 1 or not all(_pages_placed(out_dir, url, x) for x in f)}
        size = (lambda fs: sum(os.path.getsize(x) for x in fs)) if not url else (lambda fs: 0)
        out = {"partitions": len(have), "to_rewrite": len(stale), "rewritten": 0, "format_before": before,
               "format": before, "bytes_before": sum(size(f) for f in stale.values()), "bytes_after": 0,
               "stale_removed": 0}
        if dry_run or (not stale and not older):
            return out
        root = None if url else Path(out_dir)
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
