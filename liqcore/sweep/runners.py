"""Runners of sweep tasks: where a sweep's tasks (:mod:`liqcore.sweep.cells`) are run -- in this
process, on a local pool of processes (:class:`LocalRunner`) or on a dask cluster
(:class:`DaskRunner`, reached within a deadline) -- and what a run cost (:func:`scheduling`: loads,
busy time, utilisation, peak memory, from the runner's counters).  A runner takes planned tasks and
yields (task, rows) as they finish; results are identical whichever runs them.  Which worker gets
which task is decided by :mod:`liqcore.sweep.schedule`; each task is run by
:func:`liqcore.sweep.cells.run_counted` in the worker's process."""
from __future__ import annotations

from liqcore.sweep.cells import SHARED, run_counted, share_partitions, warm_kernels

__all__ = ["LocalRunner", "DaskRunner", "local_cluster", "make_runner", "scheduling"]


class LocalRunner:
    """In-process (``workers == 1``) or a local pool of ``workers`` processes.  The work follows the
    data (:mod:`liqcore.sweep.schedule`): each worker gets one consecutive run of the planned tasks
    (partition after partition, equal cell counts), so it loads each of its partitions once; the
    partitions cut across several workers (fewer partitions than workers) are loaded once by this
    process before it forks the workers, which share them.  ``counters`` adds up what tasks cost."""

    def __init__(self, workers: int = 1):
        if int(workers) < 1:
            raise ValueError(f"workers: must be >= 1; got {workers!r}")
        self.workers = int(workers)
        self._pool = None
        self._depth = 0
        from liqcore.sweep.schedule import Counters

        self.counters = Counters()

    def __enter__(self):
        self._depth += 1
        return self

    def __exit__(self, *exc):
        self._depth -= 1
        if self._pool is not None and (self._depth == 0 or exc[0] is not None):
            if exc[0] is None:
                self._pool.close()
            else:
                self._pool.terminate()
            self._pool = None
            SHARED.clear()
            self.counters.holds.clear()

    def prepare(self, tasks) -> None:
        """Start the worker processes for ``tasks`` (call it before any thread exists: they fork):
        partitions that will be cut across workers are loaded first, the kernels warmed, then the
        workers forked.  Nothing to do in-process or when the workers run already."""
        if self.workers == 1 or self._pool is not None:
            return
        from liqcore.sweep.schedule import PinnedPool, shared_partitions

        import multiprocessing as mp

        forks = "fork" in mp.get_all_start_methods()  # spawned workers would not see them
        n, secs = share_partitions(shared_partitions(list(tasks), self.workers) if forks else [])
        self.counters.loads += n
        self.counters.load_s += secs
        warm_kernels()  # the workers inherit loaded kernels instead of each loading them
        self._pool = PinnedPool(self.workers, run_counted)

    def run(self, tasks):
        """Yield (task, rows) as tasks finish."""
        from liqcore.sweep.schedule import assign

        tasks = list(tasks)
        if self.workers == 1:
            for t in tasks:
                rows, info = run_counted(t)
                self.counters.add(info, 0)
                yield t, rows
            return
        self.prepare(tasks)
        segs = assign(tasks, self.workers, dict(self.counters.holds))
        for w, idx, rows, info in self._pool.run([[(i, tasks[i]) for i in seg] for seg in segs]):
            self.counters.add(info, w)
            yield tasks[idx], rows


class DaskRunner:
    """A dask.distributed cluster: ``address`` of a running scheduler, or ``local`` for a local
    cluster of ``workers`` processes.  Unreachable scheduler: ValueError within ``timeout`` seconds."""

    def __init__(self, address: str, workers: int = 2, timeout: float = 10.0):
        self.address, self.workers, self.timeout = address, int(workers), float(timeout)
        self.client = self.cluster = None
        self._depth = 0
        from liqcore.sweep.schedule import Counters

        self.counters = Counters()

    def __enter__(self):
        self._depth += 1
        if self.client is not None:
            return self
        try:
            from distributed import Client
        except ImportError:
            raise ValueError("dask: install dask[distributed] (pip install 'liqcore[sweep]') to use --dask") from None
        try:
            if self.address == "local":
                self.cluster = local_cluster(max(1, self.workers))
                self.client = Client(self.cluster)
            else:
                self.client = _connect(Client, self.address, self.timeout, getattr(self, "timeout_label", None))
            self._warm()
        except BaseException:  # (a ``with`` whose __enter__ raised never calls __exit__: its cluster and client
            self.__exit__(None, None, None)  # closed here, not left running, nor to the garbage collector)
            raise
        return self

    def _warm(self) -> None:
        """Every worker (and any that joins later) imports liqcore and loads its kernels now, before
        the timed work (:class:`liqcore.sweep.schedule.WarmPlugin`)."""
        from liqcore.sweep.schedule import WarmPlugin

        register = getattr(self.client, "register_plugin", None) or self.client.register_worker_plugin
        try:
            register(WarmPlugin(warm_kernels))
        except Exception as exc:  # noqa: BLE001 - a worker without liqcore, or one that crashed
            raise ValueError(f"dask: the workers could not load liqcore ({type(exc).__name__}: {exc}); "
                             "every worker needs liqcore installed") from None

    def __exit__(self, *exc):
        self._depth -= 1
        if self._depth > 0 and exc[0] is None:
            return
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None

    def run(self, tasks):
        """Yield (task, rows) as tasks finish.  Each worker gets one consecutive run of the planned
        tasks (as the local pool's workers), pinned with ``workers=`` and submitted in order, so it
        loads each of its partitions once on a scheduler without work stealing (:func:`local_cluster`'s;
        with stealing on, dask's default, a busy machine's scheduler may move tasks to an idle worker,
        which loads their partition too: ``partition_loads`` counts it); ``allow_other_workers``: a lost
        worker's tasks run elsewhere.  Results come straight from the workers as they finish."""
        from distributed import as_completed

        from liqcore.sweep.schedule import assign

        tasks = list(tasks)
        addrs = sorted(self.client.scheduler_info().get("workers", {}))
        self.n_workers = len(addrs)
        at = {a: i for i, a in enumerate(addrs)}
        holds = {at[a]: h for a, h in self.counters.holds.items() if a in at}
        futs, index = [], {}
        for w, seg in enumerate(assign(tasks, max(1, len(addrs)), holds)):
            for j, i in enumerate(seg):  # a worker runs its tasks in plan order: higher priority first
                kw = {"workers": [addrs[w]], "allow_other_workers": True} if addrs else {}
                # retries: a task whose worker died, or whose read of object storage failed, runs again
                f = self.client.submit(run_counted, tasks[i], pure=False, priority=len(seg) - j, retries=3, **kw)
                futs.append(f)
                index[f.key] = tasks[i]
        for f, (rows, info) in as_completed(futs, with_results=True):
            self.counters.add(info)
            yield index[f.key], rows


#: the warning option that keeps the resource tracker's shutdown note of leaked semaphores off the user's terminal
_QUIET_TRACKER = "ignore:resource_tracker:UserWarning"


def local_cluster(workers: int):
    """A dask LocalCluster of ``workers`` processes on 127.0.0.1, one thread each, its scheduler without work
    stealing: tasks stay on the worker they are pinned to (:meth:`DaskRunner.run`), so each worker loads
    its partitions once even on a busy machine, where stealing would move pinned tasks to whichever
    worker is idle and make it load their partition too.  A lost worker's tasks still run elsewhere."""
    import logging
    import sys

    import dask
    from distributed import LocalCluster

    # (the workers' and the scheduler's logs: errors alone, not the cancelled tasks of a stop.  A Ctrl-C ends the
    # command at once, its workers' queues unreleased: multiprocessing's resource tracker, a process of its own
    # started with this one's warning options, releases them without saying so to the user)
    # started now, with the option (the tracker keeps the options it started with); the process's own options
    # are put back at once: a later child of the caller's program is not told to hide anything
    from multiprocessing import resource_tracker

    added = _QUIET_TRACKER not in sys.warnoptions
    if added:
        sys.warnoptions.append(_QUIET_TRACKER)
    try:
        resource_tracker.ensure_running()
        with dask.config.set({"distributed.scheduler.work-stealing": False}):
            # (no dashboard; the scheduler's HTTP server, which dask starts anyway, on a free port of 127.0.0.1:
            # on its default port 8787, a dask dashboard the user runs already made dask warn over four lines)
            return LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1",
                                dashboard_address="127.0.0.1:0", scheduler_kwargs={"dashboard": False},
                                processes=True, silence_logs=logging.ERROR)
    finally:
        if added and _QUIET_TRACKER in sys.warnoptions:
            sys.warnoptions.remove(_QUIET_TRACKER)


def _connect(Client, address: str, timeout: float, label: float | None = None):
    """A dask Client for ``address`` within ``timeout`` seconds, or ValueError: a TCP probe first (a
    refused port or an unknown host fails at once; a server that says nothing fails at the deadline,
    :func:`_says_first`, over TLS :func:`_tls_says_first`), then the handshake in a thread with a hard
    deadline (a server that accepts connections but never answers cannot block the command)."""
    import socket
    import threading
    import time

    t0 = time.monotonic()
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    where = f"dask: cannot reach the scheduler at {address} within {label if label is not None else timeout:g}s"
    try:
        port_n = int(port)
    except ValueError:
        raise ValueError(f"dask: expected a scheduler address like tcp://HOST:PORT; got {address!r}") from None
    scheme = address.split("://", 1)[0] if "://" in address else "tcp"
    try:
        with socket.create_connection((host.strip("[]") or "127.0.0.1", port_n), timeout=timeout) as sock:
            silent = _says_first(sock, t0 + timeout) if scheme == "tcp" else \
                _tls_says_first(sock, t0 + timeout) if scheme == "tls" else None
    except OSError as exc:
        raise ValueError(f"{where} ({exc.strerror or type(exc).__name__})") from None
    if silent:
        raise ValueError(f"{where} ({silent})")
    box: dict = {}
    lock = threading.Lock()

    def attempt():
        try:
            client = Client(address, timeout=max(0.5, timeout - (time.monotonic() - t0)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            half = _half_made(exc, Client)
            with lock:
                box["error"] = _why(exc)  # words alone: the traceback would keep `half` alive
            del exc
            _close_quietly(half)
            return
        with lock:
            if not box.get("given_up"):
                box["client"] = client
                return
        _close_quietly(client)  # the caller has given up on it

    th = threading.Thread(target=attempt, daemon=True)
    th.start()
    th.join(max(0.1, timeout - (time.monotonic() - t0)) + 0.5)
    with lock:
        box["given_up"] = "client" not in box
    if "client" in box:
        return box["client"]
    if "error" in box:
        raise ValueError(f"{where} ({box['error']})") from None
    raise ValueError(f"{where} (no dask handshake: is it a dask scheduler?)")


def _says_first(sock, deadline: float) -> str | None:
    """None when the server on ``sock`` (plain TCP, or TLS once shaken hands) sends something before ``deadline``
    (``time.monotonic()``), else why it is no dask server: a dask server writes its half of the handshake as a
    connection opens, before it reads (distributed's ``Listener.on_connection``).  Asked before a ``Client`` is
    made: dask's client waits for that half without a deadline of its own, and a Client made against a silent
    server left its thread and event loop waiting for ever (in a program that runs several sweeps, one more each
    time)."""
    import time

    sock.settimeout(max(0.05, deadline - time.monotonic()))
    try:
        return None if sock.recv(1) else "the server closed the connection: is it a dask scheduler?"
    except TimeoutError:  # (socket.timeout is TimeoutError)
        return "no dask handshake: is it a dask scheduler?"


def _tls_says_first(sock, deadline: float) -> str | None:
    """:func:`_says_first` over TLS (``tls://``): the TLS handshake with the context dask's client would take (its
    configuration's certificates), then the server's first bytes, both before ``deadline``.  dask's own connect
    bounds its TLS handshake, not the dask handshake after it, so a server that completes TLS and says nothing kept
    a Client's thread waiting for ever.  None where no TLS is configured (dask's client then refuses at once) or the
    server answered, even with an error: the Client made next says what is wrong."""
    import ssl
    import time

    from distributed.security import Security

    try:
        ctx = Security().get_connection_args("client").get("ssl_context")
    except Exception:  # noqa: BLE001 - a configuration dask itself refuses: its Client says why
        return None
    if ctx is None:
        return None
    sock.settimeout(max(0.05, deadline - time.monotonic()))
    try:
        tls = ctx.wrap_socket(sock, server_hostname=None if not ctx.check_hostname else sock.getpeername()[0])
    except TimeoutError:
        return "no TLS handshake: is it a dask scheduler with TLS?"
    except (ssl.SSLError, OSError, ValueError):
        return None  # (an answer, a refusal included)
    try:
        return _says_first(tls, deadline)
    except OSError:  # (an SSL error after the handshake: an answer, the Client says what)
        return None
    finally:
        tls.close()


def _why(exc: BaseException) -> str:
    """A failed handshake in a few words: a network error by its name, anything else (a reply too long,
    of another protocol) as what it means."""
    if isinstance(exc, (OSError, TimeoutError)):
        return type(exc).__name__
    return f"its reply is not a dask handshake: {type(exc).__name__}"


def _half_made(exc: BaseException, Client):
    """The Client a failed ``Client(...)`` left behind (its constructor's ``self``), or None. Left to the
    garbage collector, its ``__del__`` closes it in whatever thread the collector runs, and closing
    takes distributed's class-wide, non-reentrant loop lock: a collection inside another Client's start
    (which holds that lock) hangs that thread for good. So it is closed here, at a known moment."""
    import traceback

    for frame, _line in traceback.walk_tb(exc.__traceback__):
        obj = frame.f_locals.get("self")
        if isinstance(obj, Client):
            return obj
    return None


def _close_quietly(client) -> None:
    """Close a Client no one will use (failed or abandoned); its own errors are not the caller's."""
    if client is None:
        return
    try:
        client.close(timeout=2)
    except Exception:  # noqa: BLE001 - a half-made client may fail to close; it is closed as far as it goes
        pass


def make_runner(workers: int = 1, dask: str | None = None, timeout: float = 10.0):
    if dask:
        return DaskRunner(dask, workers, timeout)
    return LocalRunner(workers)



def scheduling(runner, before: tuple, wall_s: float, partitions: int) -> dict:
    """What a run cost, from ``runner.counters`` since ``before`` (its snapshot) over ``wall_s``:
    partitions run, partition loads (by any process, the pool's parent included), seconds loading,
    tasks, workers, busy seconds (summed over workers) and utilisation = busy / (workers x wall)."""
    _tasks, loads, load_s, busy = (a - b for a, b in zip(runner.counters.snapshot(), before))
    from liqcore.sweep.schedule import peak_rss

    workers = int(getattr(runner, "n_workers", None) or getattr(runner, "workers", 1) or 1)
    peaks = dict(runner.counters.peak_rss)
    if isinstance(runner, LocalRunner) and runner.workers == 1:
        peaks = {}  # in-process: the workers' peak is this process's
    worker_peak = max(list(peaks.values()) + [0]) or peak_rss()
    return {"partitions": partitions, "partition_loads": loads, "load_s": round(load_s, 3),
            "workers": workers, "busy_s": round(busy, 3), "wall_s": round(wall_s, 3),
            "utilisation": round(busy / (workers * wall_s), 4) if wall_s > 0 else None,
            "peak_rss_worker_gib": round(worker_peak / 2**30, 3),
            "peak_rss_total_gib": round((sum(peaks.values()) + peak_rss()) / 2**30, 3)}
