"""The check of a local dataset's files against their checked marks (:func:`verify_dataset`, ``liqcore dataset
verify``): every byte of every partition file read and digested (SHA-256), each file judged as one of

* ``verified`` -- the bytes its mark was taken of;
* ``damaged`` -- its size and footer as written, some row group's bytes not: changed on disk (a flipped byte), its
  values not to be trusted (a read refuses it: :class:`liqcore.dataset.damage.DamagedFile`);
* ``changed`` -- another size or footer than its mark's: rewritten whole by another tool (a read checks its rows);
* ``unmarked`` -- a partition file with no mark (written by another tool, or by a write that did not check it);
* ``gone`` -- marked, its partition holds no file now.

May import: this package's ``checked``, ``damage``, ``read``, ``partfile`` and ``lock`` (the writer lock, held so no write
changes a file while it is digested).
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["verify_dataset"]


def verify_dataset(ds, *, lock_wait: float | None = None, progress=None) -> dict:
    """Judge every partition file of the local dataset ``ds`` against the dataset's checked marks (module doc).
    ``progress(done, total)`` after each file.  Returns ``{"files": n, "bytes": total size read, "verified": n,
    "damaged": [{"file": name, "row_groups": [g, ...]}], "changed": [names], "unmarked": [names], "gone": [names]}``
    (names relative to ``ds``).  ValueError (one line) for a URL or a folder that is no dataset."""
    from liqcore.dataset.checked import read_marks, verified
    from liqcore.dataset.damage import damaged_groups
    from liqcore.dataset.lock import dataset_lock
    from liqcore.dataset.partfile import check_file, gone
    from liqcore.dataset.read import parquet_files, read_format
    from liqcore.io import storage

    if storage.is_url(str(ds)):
        raise ValueError(f"dataset verify: reads a local dataset (every byte of it); got the URL {storage.display(ds)}")
    root = Path(ds)
    if not root.is_dir():
        raise ValueError(f"dataset: no such directory: {ds}")
    with dataset_lock(ds, wait=lock_wait):
        folders = sorted(p for p in root.glob("venue=*/symbol=*/date=*") if p.is_dir())
        files = [f for p in folders for f in parquet_files(str(p))]
        if not files and read_format(ds) is None:
            raise ValueError(f"dataset: {ds} holds no liqcore dataset (no format file, no partition)")
        marks = read_marks(root)
        out = {"files": len(files), "bytes": 0, "verified": 0, "damaged": [], "changed": [], "unmarked": [],
               "gone": []}
        present = {tuple(q.name.split("=", 1)[1] for q in (p.parent.parent, p.parent, p))
                   for p in folders if parquet_files(str(p))}
        out["gone"] = [rel for rel, _m in gone(root, present, lambda ps: ps)]
        for i, f in enumerate(files):
            rel = os.path.relpath(f, root)
            out["bytes"] += os.path.getsize(f)
            check_file(f)  # (a file that is no partition of the contract: one line naming it)
            mark = marks.get(rel)
            if mark is None:
                out["unmarked"].append(rel)
            elif verified(f, mark):
                out["verified"] += 1
            elif bad := damaged_groups(f, mark):
                out["damaged"].append({"file": rel, "row_groups": bad})
            else:
                out["changed"].append(rel)
            if progress is not None:
                progress(i + 1, len(files))
    return out
