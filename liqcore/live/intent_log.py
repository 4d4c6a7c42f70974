"""The intent log's file, below the journal that writes it: its length and when it is emptied, reserving
its disk blocks, finding the process that holds it (an exclusive ``flock``), and the write lease (Linux)
whose break (another program opening the file) raises SIGIO and marks the journals holding one.

The intent log itself (its lines, the map, replay at open) is the :class:`~liqcore.live.journal.Journal`'s
write-ahead half; this module is the file machinery it stands on.
"""
from __future__ import annotations

import errno
import fcntl
import mmap
import os
import signal
import threading
import weakref

__all__ = ["INTENT_LOG_TRUNCATE_BYTES", "INTENT_LOG_MAP_BYTES", "PAGE", "LEASED", "reserve", "flock_holder",
           "take_lease"]

#: the intent log is emptied at a commit once it holds at least this many bytes (all of them committed)
INTENT_LOG_TRUNCATE_BYTES = 1 << 20
#: the intent log's length while the journal is open (zero-filled past its last line; doubled if ever full)
INTENT_LOG_MAP_BYTES = 2 * INTENT_LOG_TRUNCATE_BYTES
PAGE = mmap.PAGESIZE


def reserve(fd: int, offset: int, length: int) -> None:
    """Give the intent log's file ``length`` bytes from ``offset``, zero-filled, with their disk blocks
    allocated now: a store into a mapped page whose block cannot be allocated (a full disk) would kill the
    process with SIGBUS, while a full disk here is an OSError at open (or when the log must grow)."""
    if os.fstat(fd).st_size < offset + length:
        os.ftruncate(fd, offset + length)
    fallocate = getattr(os, "posix_fallocate", None)  # (not on macOS: the file stays sparse there)
    if fallocate is None:
        return
    try:
        fallocate(fd, offset, length)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # (a file system without it: sparse, as before)
            raise OSError(exc.errno, f"intent log: cannot reserve {length} bytes ({exc.strerror})") from exc


def flock_holder(path) -> int | None:
    """The pid holding an exclusive ``flock`` on ``path`` (from ``/proc/locks``; Linux), else None.  Found
    without opening the file (an open would break the holder's lease on it)."""
    try:
        st = os.stat(path)
        with open("/proc/locks", "rb") as fh:
            text = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 6 and f[1] == "FLOCK" and f[3] == "WRITE" and f[5] == dev:
            try:
                return int(f[4])
            except ValueError:
                return None
    return None


#: journals holding a write lease on their intent log: a lease break (another program opens the file,
#: e.g. to truncate it) raises SIGIO, whose handler marks them; they leave the map before the lease goes
LEASED: "weakref.WeakSet" = weakref.WeakSet()
_SIGIO_PREV = None


def _on_sigio(signum, frame) -> None:
    for j in list(LEASED):
        j._ilog_alert = True
    prev = _SIGIO_PREV
    if callable(prev) and prev is not _on_sigio:
        prev(signum, frame)


def _sigio_handler() -> bool:
    """Install the SIGIO handler (once; only from the main thread, where Python runs signal handlers)."""
    global _SIGIO_PREV
    sig = getattr(signal, "SIGIO", None)
    if sig is None or threading.current_thread() is not threading.main_thread():
        return False
    cur = signal.getsignal(sig)
    if cur is _on_sigio:
        return True
    if cur in (None, signal.SIG_IGN):
        return False  # (someone chose to ignore it: a lease break would go unnoticed)
    try:
        signal.signal(sig, _on_sigio)
    except (ValueError, OSError):
        return False
    _SIGIO_PREV = cur
    return True


def take_lease(fd: int) -> bool:
    """A write lease on the intent log (Linux): another program's open of the file (``: > file``
    truncates through an open) then waits, up to the kernel's lease-break time, until this process has
    left the map, instead of the next store into the map raising SIGBUS."""
    setlease = getattr(fcntl, "F_SETLEASE", None)
    if setlease is None or not _sigio_handler():
        return False
    try:
        fcntl.fcntl(fd, setlease, fcntl.F_WRLCK)
    except OSError:  # another open of the file, a file system without leases, not the file's owner
        return False
    return True
