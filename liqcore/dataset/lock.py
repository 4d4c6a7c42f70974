"""The writer lock of a dataset (:func:`dataset_lock`: a ``flock`` on local disk, a lock object on object storage)
and the removal of the temporaries a killed writer left behind.

May import: ``_atomic`` and ``io`` (storage).
"""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from liqcore._atomic import pid_alive

__all__ = ["LOCK", "DatasetLocked", "dataset_lock", "remove_stale_temporaries"]

#: (resolved dataset directory, thread) -> how deeply this thread holds its writer lock (re-entrant)
_HELD: dict = {}

#: the writer lock of a dataset (its content: the holder's pid)
LOCK = ".liqcore-writer.lock"


class DatasetLocked(ValueError):
    """Another process is writing the dataset and did not finish within the wait (the message names
    the dataset, the holder's pid and the lock file)."""


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
