"""A reading worker's events handed to its parent through a file in memory (:func:`put`, :func:`take`).

A process pool returns what its worker computed by pickling it through a pipe: the worker copies the
array into the pickle, the kernel copies it into the pipe and out again, and the parent allocates and
fills a fresh array, page by page.  For a backtest read by ``--workers N`` that was a third of the run's
CPU, almost all of it in the kernel (15 streams x 4 days: 6 s of system time in 16 s).  Where the machine has a
memory-backed directory (``/dev/shm`` on Linux), the worker writes the rows once into a file there and
hands back its name; the parent maps the file copy-on-write, removes its name at once (the pages live as long
as the array), and reads the rows where the worker wrote them.  Elsewhere, and for a small array, the array
itself goes back as before.  The file is checked to hold exactly the rows announced; the files of a run
stopped early (Ctrl-C, an error, a worker that died) are removed by :func:`sweep`.

May import: numpy and the standard library.
"""
from __future__ import annotations

import glob
import mmap
import os
import secrets

import numpy as np

#: the memory-backed directory the files go to (None: none here; the arrays are pickled)
SHM_DIR = "/dev/shm"
#: an array smaller than this goes back pickled: a file's fixed cost (about 15 us on a 2-vCPU VM) is that of
#: pickling 16-64 KiB there, and a file is the cheaper from about 256 KiB (1 MiB: 170 us against 370 us for the pickle
#: alone, before the pipe's copies); a backtest's range is megabytes
MIN_BYTES = 1 << 20


def prefix() -> str | None:
    """A prefix for one run's files (its process and a random token), or None where there is no memory-backed
    directory this process can write to."""
    if not SHM_DIR or not os.path.isdir(SHM_DIR) or not os.access(SHM_DIR, os.W_OK | os.X_OK):
        return None
    _sweep_dead()
    return os.path.join(SHM_DIR, f"liqcore-{os.getpid()}-{secrets.token_hex(6)}-")


def _sweep_dead() -> None:
    """Remove the files left by a run whose process is gone (killed before it could remove them)."""
    for path in glob.glob(os.path.join(glob.escape(SHM_DIR), "liqcore-*-*-*.rows")):
        pid = os.path.basename(path).split("-")[1]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            os.unlink(path)
        except OSError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # (another user's process: alive)
        return True
    return True


def put(arr: np.ndarray, pre: str | None, name: str):
    """In a worker: ``arr`` as a file ``pre + name`` (``("file", path, dtype, rows)``), or ``arr`` itself
    (no prefix, a small array, or the file could not be written: a full ``/dev/shm``)."""
    if pre is None or arr.nbytes < MIN_BYTES:
        return arr
    path = pre + name
    try:  # (readable by this user alone)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
            f.write(memoryview(np.ascontiguousarray(arr)).cast("B"))
    except OSError:
        try:
            os.unlink(path)
        except OSError:
            pass
        return arr
    return ("file", path, arr.dtype, len(arr))


def take(got) -> np.ndarray:
    """In the parent: the array :func:`put` handed over (the file mapped copy-on-write, its name removed)."""
    if isinstance(got, np.ndarray):
        return got
    _tag, path, dtype, n = got
    dtype = np.dtype(dtype)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))  # (the worker's own file, never a link to one)
    try:
        os.unlink(path)
        size = os.fstat(fd).st_size
        if size != n * dtype.itemsize:
            raise OSError(f"{path}: {size:,} bytes handed over for {n:,} rows of {dtype.itemsize} bytes")
        mm = mmap.mmap(fd, size, access=mmap.ACCESS_COPY)
    finally:
        os.close(fd)
    return np.frombuffer(mm, dtype, n)


def sweep(pre: str | None) -> int:
    """Remove the files of a run (prefix ``pre``) still there (a run stopped early); how many."""
    if pre is None:
        return 0
    n = 0
    for path in glob.glob(glob.escape(pre) + "*"):
        try:
            os.unlink(path)
            n += 1
        except OSError:
            pass
    return n
