"""Waiting on a process a test started, by condition and with a bound that holds on a busy machine (never a
fixed sleep that races the clock); timing a process (or this one) less the time it waited for a CPU that
others held (:class:`Stopwatch`), so that a responsiveness bound holds at any load."""
from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest


def wait_until(p: subprocess.Popen, cond, what: str, bound_s: float = 120.0, every_s: float = 0.02) -> None:
    """Poll ``cond()`` until it holds or ``p`` has ended; fail (and kill ``p``) after ``bound_s``: a bound,
    not the expected wait."""
    deadline = time.monotonic() + bound_s
    while p.poll() is None and not cond():
        if time.monotonic() > deadline:
            p.kill()
            p.wait()
            pytest.fail(f"{what}: not within {bound_s:.0f} s")
        time.sleep(every_s)


def signal_and_wait(p: subprocess.Popen, sig, within_s: float, what: str) -> None:
    """Send ``sig`` to ``p`` (if it still runs; None: no signal, the caller sent it) and wait for it to end;
    fail (and kill it) after ``within_s``."""
    if sig is not None and p.poll() is None:
        p.send_signal(sig)
    try:
        p.wait(within_s)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        pytest.fail(f"{what}: still running {within_s:g} s after signal {int(sig)}")


# ---------------------------------------------------------------------------- time on a busy machine
def _run_delay_ns(pid: int | str, tid: int | str | None = None) -> int | None:
    """Nanoseconds thread ``tid`` (default: the main thread) of process ``pid`` has spent runnable but waiting
    for a CPU (the second field of ``/proc/PID/task/TID/schedstat``); None when that is not known (no such
    thread, or a kernel without schedstats)."""
    try:
        with open(f"/proc/{pid}/task/{tid or pid}/schedstat", "rb") as fh:
            return int(fh.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for d in names:
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat", "rb") as fh:
                    ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            out.setdefault(ppid, []).append(int(d))
    return out


def _descendants(pid: int) -> list[int]:
    """``pid`` and its descendants: from ``/proc/PID/task/TID/children`` (cheap), else a scan of ``/proc``."""
    out, todo = [pid], [pid]
    while todo:
        p = todo.pop()
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tids:
            try:
                with open(f"/proc/{p}/task/{t}/children", "rb") as fh:
                    kids = [int(k) for k in fh.read().split()]
            except FileNotFoundError:  # (a kernel without the file: every process's parent instead)
                if os.path.isdir(f"/proc/{p}/task/{t}"):
                    return _scan_descendants(pid)
                continue
            except (OSError, ValueError):
                continue
            out += kids
            todo += kids
    return out


def _scan_descendants(pid: int) -> list[int]:
    kids, out, todo = _children(), [pid], [pid]
    while todo:
        for c in kids.get(todo.pop(), ()):
            out.append(c)
            todo.append(c)
    return out


class Stopwatch:
    """Wall seconds since it was made, and the part of them a process spent waiting for a CPU that other processes
    held (runnable, not running: the kernel's run delay), so that a bound on ``unloaded`` (wall less waited)
    holds whatever the machine's load while still catching a process that works, sleeps or hangs too long.

    ``pid``: another process, its descendants included; None: this process, its threads (the calling thread the
    first).  Waited: the run delay of the first (the process's main thread, or the calling thread), plus the
    largest of the others' (a descendant's main thread, another thread of this process: one it waits for is on
    the way to the end, those that run side by side are not counted twice).  Call :meth:`sample` while it runs (a
    descendant's figures go with it when it ends) and :meth:`stop` at the end, for another process before it is
    reaped (:func:`wait_exit` does).  Without ``/proc`` schedstats ``waited`` is 0 (the wall time)."""

    def __init__(self, pid: int | None = None):
        self.pid = pid
        self.root = pid if pid is not None else threading.get_native_id()
        self.t0 = time.monotonic()
        self.t1: float | None = None
        self._base: dict[int, int] = {}
        self._last: dict[int, int] = {}
        self.sample()
        self._base = dict(self._last)

    def _delays(self) -> dict[int, int | None]:
        if self.pid is None:  # this process's threads
            me = os.getpid()
            try:
                tids = [int(t) for t in os.listdir(f"/proc/{me}/task")]
            except OSError:
                tids = [self.root]
            return {t: _run_delay_ns(me, t) for t in tids}
        return {p: _run_delay_ns(p) for p in _descendants(self.pid)}

    def sample(self) -> None:
        for k, v in self._delays().items():
            if v is not None:
                self._last[k] = v  # (one that appeared since the start: all of its run delay is since then)

    def stop(self) -> "Stopwatch":
        self.sample()
        self.t1 = time.monotonic()
        return self

    @property
    def wall(self) -> float:
        return (self.t1 if self.t1 is not None else time.monotonic()) - self.t0

    @property
    def waited(self) -> float:
        delta = {k: v - self._base.get(k, 0) for k, v in self._last.items()}
        return (delta.get(self.root, 0) + max((d for k, d in delta.items() if k != self.root), default=0)) / 1e9

    @property
    def unloaded(self) -> float:
        return max(0.0, self.wall - self.waited)

    def __str__(self) -> str:
        return f"{self.wall:.2f} s of wall time, {self.waited:.2f} s of it waiting for a CPU"


def run_timed(args, within_s: float, **kw) -> tuple[subprocess.CompletedProcess, Stopwatch]:
    """``subprocess.run(args, capture_output=True, text=True)`` timed by a :class:`Stopwatch` (its output goes
    through files, so a chatty child never blocks on a full pipe); fails after ``within_s``."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(args, stdout=out, stderr=err, text=True, **kw)
        watch = wait_exit(p, Stopwatch(p.pid), within_s, f"{args[:3]}")
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(args, p.returncode, out.read(), err.read()), watch


def wait_exit(p: subprocess.Popen, watch: Stopwatch, within_s: float, what: str) -> Stopwatch:
    """Wait for ``p`` to end (fail and kill it after ``within_s``), sampling ``watch`` (made for ``p``) as it
    goes and once more when it has ended, before it is reaped; returns ``watch``, stopped."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            ended = os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None
        except (ChildProcessError, AttributeError):  # (reaped already, or no waitid here)
            ended = p.poll() is not None
        watch.sample()
        if ended:
            watch.stop()
            p.wait()
            return watch
        if time.monotonic() > deadline:
            p.kill()
            p.wait()
            pytest.fail(f"{what}: still running {within_s:g} s later")
        time.sleep(0.02)
