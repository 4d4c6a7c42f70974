"""Scheduling of sweep tasks: the work follows the data (:func:`assign`, :class:`PinnedPool`).

Tasks come planned partition after partition; :func:`assign` cuts the line into one segment per worker
(McNaughton's rule), :class:`PinnedPool` pins each segment to a worker, :class:`Counters` adds up what
the tasks cost, :class:`WarmPlugin` warms a dask worker.  The rules and the numbers reported:
docs/maintainers/sweeps.md, "How the work is scheduled".

It knows tasks only by ``task.keys`` and ``task.part_key``; it imports the standard library only, and
``cells`` / ``runners`` import it, never the other way round.
"""
from __future__ import annotations

import os
import time

__all__ = ["assign", "shared_partitions", "Counters", "peak_rss", "PinnedPool", "WarmPlugin", "describe"]

# ------------------------------------------------------------------------------------- assignment
#: the fewest cells worth a segment of their own: loading a partition costs about as much as
#: evaluating tens of cells, so a run of fewer cells than workers x this uses fewer workers
MIN_SEGMENT_CELLS = 32


def assign(tasks: list, workers: int, holds: dict | None = None) -> list[list[int]]:
    """Task indices per worker: ``tasks`` (in plan order: partition after partition) cut into
    ``workers`` consecutive segments of nearly equal cell count (a task weighs ``len(task.keys)``;
    no fewer than :data:`MIN_SEGMENT_CELLS` cells a segment: small runs leave workers empty).
    ``holds`` (worker index -> partition hash the worker holds now) matches segments to the workers
    that already hold one of their partitions, and runs that partition first."""
    w = max(1, int(workers))
    sizes = [max(1, len(t.keys)) for t in tasks]
    total = sum(sizes)
    segs: list[list[int]] = [[] for _ in range(w)]
    if not tasks:
        return segs
    target = total / min(w, max(1, -(-total // MIN_SEGMENT_CELLS)))
    acc = 0.0
    for i, s in enumerate(sizes):
        k = min(w - 1, int((acc + s / 2.0) // target))  # the worker whose share holds the task's midpoint
        segs[k].append(i)
        acc += s
    if not holds:
        return segs
    keys = [t.part_key for t in tasks]
    free = list(range(w))
    out: list = [None] * w
    for wk, held in holds.items():
        if not 0 <= wk < w or held is None:
            continue
        best = max(free, key=lambda j: sum(sizes[i] for i in segs[j] if keys[i] == held), default=None)
        if best is None or not any(keys[i] == held for i in segs[best]):
            continue
        free.remove(best)
        # the held partition first (no load), then the rest of the segment in plan order
        out[wk] = [i for i in segs[best] if keys[i] == held] + [i for i in segs[best] if keys[i] != held]
    rest = iter(free)
    return [o if o is not None else segs[next(rest)] for o in out]


def shared_partitions(tasks: list, workers: int) -> list:
    """The partitions a local pool should load before it forks: with fewer partitions than workers,
    those :func:`assign` cuts across two or more workers; none otherwise (each worker then loads its
    own partitions, in parallel)."""
    parts, where = {}, {}
    for w, seg in enumerate(assign(tasks, workers)):
        for i in seg:
            k = tasks[i].part_key
            parts.setdefault(k, tasks[i].part)
            where.setdefault(k, set()).add(w)
    if not 0 < len(parts) < workers:
        return []
    return [parts[k] for k in parts if len(where[k]) > 1]


# ---------------------------------------------------------------------------------------- counting
class Counters:
    """What a runner's tasks cost, added up in the parent: tasks, partition loads, seconds loading,
    seconds busy (per worker), and which partition each worker holds last."""

    def __init__(self):
        self.tasks = 0
        self.loads = 0
        self.load_s = 0.0
        self.busy_s: dict = {}
        self.holds: dict = {}
        self.peak_rss: dict = {}  # worker -> its peak resident memory, bytes
        self.chunked = 0  # tasks that read their partition in time chunks
        self.whole: dict = {}  # tasks asked to but run on the whole partition: reason -> count

    def add(self, info: dict, worker=None) -> None:
        w = worker if worker is not None else info.get("worker")
        self.tasks += 1
        self.loads += int(info.get("loads", 0))
        self.load_s += float(info.get("load_s", 0.0))
        self.busy_s[w] = self.busy_s.get(w, 0.0) + float(info.get("busy_s", 0.0))
        self.holds[w] = info.get("holds")
        self.peak_rss[w] = max(self.peak_rss.get(w, 0), int(info.get("peak_rss", 0)))
        self.chunked += int(info.get("chunked", 0))
        for why, n in (info.get("whole") or {}).items():
            self.whole[why] = self.whole.get(why, 0) + int(n)

    def snapshot(self) -> tuple:
        return self.tasks, self.loads, self.load_s, sum(self.busy_s.values())


def peak_rss() -> int:
    """This process's peak resident memory so far, in bytes (0 where the platform does not say)."""
    try:
        import resource
        import sys

        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(r) if sys.platform == "darwin" else int(r) * 1024  # macOS: bytes; Linux: KiB
    except (ImportError, OSError):  # pragma: no cover - Windows
        return 0


# ------------------------------------------------------------------------------------- local pool
def _die_with_parent(parent: int) -> None:
    """Where the system can (Linux: ``prctl(PR_SET_PDEATHSIG)``), end this worker when its parent dies, however it
    dies (SIGKILL included): a worker never outlives its sweep, computing for no one."""
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):  # pragma: no cover
        return
    if os.getppid() != parent:  # (the parent died before the setting took: end now)
        os._exit(1)


def _worker_main(conn, fn, parent: int = 0) -> None:
    """A pinned worker: receive a list of (index, task), send (index, ok, rows or error, cost) per task
    (``fn(task)`` -> (rows, cost));
    ``None`` ends it.  Ctrl-C belongs to the parent (it stops the workers); a closed pipe (the parent
    is gone) ends the worker."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a handler inherited from the parent must not delay a stop
    try:
        signal.set_wakeup_fd(-1)  # the parent's interrupt pipe is the parent's
    except (ValueError, OSError):  # pragma: no cover
        pass
    _die_with_parent(parent)
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            return
        if batch is None:
            return
        for idx, task in batch:
            try:
                rows, info = fn(task)
                msg = (idx, True, rows, info)
            except BaseException as exc:  # noqa: BLE001 - sent to the parent, raised there
                msg = (idx, False, _picklable(exc), None)
            try:
                conn.send(msg)
            except (EOFError, OSError, BrokenPipeError):
                return


def _picklable(exc):
    import pickle
    import traceback

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001
        return RuntimeError("".join(traceback.format_exception_only(type(exc), exc)).strip())


class PinnedPool:
    """``n`` worker processes (forked where the platform forks), each fed through its own pipe; a
    worker runs ``fn(task)`` -> (rows, cost) for each task it gets (``fn``: a module-level function)."""

    def __init__(self, n: int, fn):
        import multiprocessing as mp

        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
        self.procs, self.conns = [], []
        for _ in range(int(n)):  # every fork before any thread of ours exists
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_worker_main, args=(child, fn, os.getpid()), daemon=True)
            p.start()
            child.close()
            self.procs.append(p)
            self.conns.append(parent)

    def run(self, batches: list[list]):
        """``batches[w]``: the (index, task) pairs of worker ``w``, run in that order.  Yields
        (worker, index, rows, cost) as tasks finish; a task's error is raised here; a worker that
        dies is a RuntimeError."""
        from multiprocessing.connection import wait

        pending = {}
        for w, b in enumerate(batches):
            if b:
                try:
                    self.conns[w].send(list(b))
                except OSError:  # the worker is gone (a broken pipe): said as its death, like below
                    self.procs[w].join(1.0)
                    raise RuntimeError(f"sweep: worker process {self.procs[w].pid} died "
                                       f"(exit code {self.procs[w].exitcode}) before it got its "
                                       f"{len(b)} task(s)") from None
                pending[w] = len(b)
        while pending:
            watch = {self.conns[w]: w for w in pending}
            watch.update({self.procs[w].sentinel: w for w in pending})
            for r in wait(list(watch)):
                w = watch[r]
                if w not in pending:
                    continue
                if r is self.procs[w].sentinel and not self.conns[w].poll():
                    raise RuntimeError(f"sweep: worker process {self.procs[w].pid} died "
                                       f"(exit code {self.procs[w].exitcode}) with {pending[w]} task(s) left")
                try:
                    idx, ok, payload, info = self.conns[w].recv()
                except (EOFError, OSError):
                    raise RuntimeError(f"sweep: worker process {self.procs[w].pid} died "
                                       f"(exit code {self.procs[w].exitcode})") from None
                if not ok:
                    raise payload
                pending[w] -= 1
                if not pending[w]:
                    del pending[w]
                yield w, idx, payload, info

    def close(self, wait_s: float = 5.0) -> None:
        for c in self.conns:
            try:
                c.send(None)
            except (OSError, ValueError):
                pass
        t_end = time.monotonic() + wait_s
        for p in self.procs:
            p.join(max(0.0, t_end - time.monotonic()))
        self.terminate()

    def terminate(self) -> None:
        for p in self.procs:
            if p.is_alive():
                p.terminate()
        t_end = time.monotonic() + 1.0
        for p in self.procs:
            p.join(max(0.0, t_end - time.monotonic()))
        for p in self.procs:  # one that outlived SIGTERM (stuck in a kernel, a handler of its own): SIGKILL
            if p.is_alive():
                p.kill()
                p.join(1.0)
        for c in self.conns:
            c.close()
        self.procs, self.conns = [], []


# -------------------------------------------------------------------------------------- warming
def _warm_plugin_class():
    """The :class:`WarmPlugin` class, made on first use: its base class is dask's, and importing
    ``distributed`` costs a local sweep half a second it never needs (a local pool warms its workers by forking)."""
    try:
        from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
    except ImportError:  # pragma: no cover - dask is optional
        _WorkerPlugin = object

    class WarmPlugin(_WorkerPlugin):
        """A dask worker plugin: every worker (those running now and any that joins later) runs ``fn``
        (a module-level function, e.g. :func:`liqcore.sweep.cells.warm_kernels`: imports liqcore and
        loads its kernels) when it starts, before it takes sweep tasks; ``worker.liqcore_warm_s`` keeps
        what ``fn`` returned (seconds)."""

        name = "liqcore-warm"
        #: seconds the warm-up may hold a worker's registration; past it the worker takes tasks, warm or not
        WAIT_S = 120.0

        def __init__(self, fn):
            self.fn = fn

        async def setup(self, worker):
            """``fn`` on a thread of its own, not on the worker's event loop: the worker keeps answering the
            scheduler's heartbeats however long the kernels take to load on a busy machine (a loop blocked for
            minutes gets the worker declared dead and restarted mid-sweep), and its registration waits at most
            :attr:`WAIT_S` (``liqcore_warm_s`` None then: the first tasks load what is left).  A worker closed
            while it warms (the command stopped: Ctrl-C) ends the warm-up quietly: a cancellation let out of here
            is logged by dask as an error with its traceback, under the command's one line "interrupted"."""
            import asyncio
            import logging

            worker.liqcore_warm_s = None
            fut = asyncio.get_running_loop().run_in_executor(None, self.fn)
            try:
                worker.liqcore_warm_s = await asyncio.wait_for(asyncio.shield(fut), self.WAIT_S)
            except asyncio.TimeoutError:
                logging.getLogger("liqcore.sweep").warning(
                    "dask worker %s: liqcore's kernels still loading after %.0f s; it takes tasks now",
                    getattr(worker, "address", "?"), self.WAIT_S)
            except asyncio.CancelledError:
                logging.getLogger("liqcore.sweep").debug(
                    "dask worker %s closed while liqcore's kernels loaded", getattr(worker, "address", "?"))

    # (pickled by reference, as this module's ``WarmPlugin``: a worker's import of the module makes it again)
    WarmPlugin.__module__, WarmPlugin.__qualname__ = __name__, "WarmPlugin"
    return WarmPlugin


def __getattr__(name: str):
    """``WarmPlugin``, made on first access (:func:`_warm_plugin_class`)."""
    if name == "WarmPlugin":
        cls = globals()["WarmPlugin"] = _warm_plugin_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def describe(stats: dict) -> str | None:
    """One line of a run's scheduling numbers (see :func:`liqcore.sweep.runners.scheduling`), or
    None when the run has none."""
    if stats.get("partition_loads") is None:
        return None
    u = stats.get("utilisation")
    return (f"scheduling: {stats['partitions']} partition(s) loaded {stats['partition_loads']} time(s) "
            f"({stats['load_s']:.2f} s loading), {stats.get('ran', stats.get('tasks', 0))} task(s) on "
            f"{stats['workers']} worker(s); worker utilisation "
            + ("n/a" if u is None else f"{u * 100:.0f}%")
            + f" (busy {stats['busy_s']:.2f} s / ({stats['workers']} workers x {stats['wall_s']:.2f} s wall))"
            + (f"; peak memory (RSS) {stats['peak_rss_worker_gib']:.2f} GiB in the largest worker, "
               f"{stats['peak_rss_total_gib']:.2f} GiB summed over the workers' and this process's peaks"
               if stats.get("peak_rss_worker_gib") else "")
            + (f"; {stats['chunked_tasks']} task(s) read their partition in time chunks" if stats.get("chunked_tasks")
               else "")
            + "".join(f"; {n} task(s) ran on the whole partition instead of in chunks: {why}"
                      for why, n in (stats.get("chunked_ran_whole") or {}).items()))
