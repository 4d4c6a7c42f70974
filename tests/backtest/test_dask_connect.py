"""A failed dask handshake leaves no Client for the garbage collector.

distributed closes a Client in its ``__del__``, and closing takes its class-wide, non-reentrant loop lock;
a Client's start holds that lock. A half-made Client (a server that answered something else) left to the
cyclic collector is closed in whichever thread the collector next runs: inside the next Client's start,
that thread hangs for good (the suite met it: the next test's ``LocalCluster`` waited on the lock past
pytest's 600 s). ``_connect`` closes the half-made Client itself. Each case runs in a fresh process, since
the unguarded one (the negative control) leaves the lock held."""
import subprocess
import sys

import pytest

SCRIPT = r'''
import gc, socket, sys, threading, time
from distributed import Client
from distributed.utils import LoopRunner
from liqcore.sweep import runners

if sys.argv[1] == "unguarded":
    runners._close_quietly = lambda client: None  # the code before: the half-made client left to the collector
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(8)
def answer():  # an HTTP-ish reply where a dask handshake is expected
    while True:
        try:
            c, _ = srv.accept()
        except OSError:
            return
        c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)
        c.close()
threading.Thread(target=answer, daemon=True).start()
try:
    runners._connect(Client, f"tcp://127.0.0.1:{srv.getsockname()[1]}", 30.0)
    print("connected?!")
except ValueError as exc:
    print("refused:", exc)
deadline = time.monotonic() + 60
while any(t.name.endswith("(attempt)") for t in threading.enumerate()) and time.monotonic() < deadline:
    time.sleep(0.02)
def collect_under_lock():
    with LoopRunner._lock:  # as the next Client's start holds it
        gc.collect()
t = threading.Thread(target=collect_under_lock, daemon=True)
t.start()
t.join(float(sys.argv[2]))
print("hung" if t.is_alive() else "collected", flush=True)
import os; os._exit(0)
'''


def _run(mode: str, bound_s: float) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(bound_s)], capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.splitlines()


def test_a_refused_handshake_leaves_nothing_the_collector_hangs_on():
    pytest.importorskip("distributed")
    lines = _run("guarded", 60.0)
    assert lines[0].startswith("refused: dask: cannot reach the scheduler at tcp://127.0.0.1:"), lines
    assert "its reply is not a dask handshake" in lines[0], lines
    assert lines[-1] == "collected", lines
    # the negative control: the same failure with the half-made client left alone hangs the collecting thread
    assert _run("unguarded", 4.0)[-1] == "hung"


def test_a_client_made_after_the_caller_gave_up_is_closed_not_left():
    import socket
    import threading

    from liqcore.sweep import runners

    go, closed = threading.Event(), threading.Event()

    class LateClient:  # a handshake that completes only after the caller's deadline
        def __init__(self, address, timeout):
            go.wait(30)

        def close(self, timeout=None):
            closed.set()

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def say_first():  # (a dask server writes its half of the handshake first: the probe hears it)
        try:
            while True:
                c, _ = srv.accept()
                c.sendall(b"\x00")
                c.close()
        except OSError:
            pass

    threading.Thread(target=say_first, daemon=True).start()
    try:
        with pytest.raises(ValueError, match="no dask handshake"):
            runners._connect(LateClient, f"tcp://127.0.0.1:{srv.getsockname()[1]}", 0.2)
        go.set()
        assert closed.wait(30)  # before: kept by nobody, closed whenever the collector ran, in any thread
    finally:
        srv.close()


def test_a_runner_that_fails_to_start_closes_its_cluster_and_client(monkeypatch):
    """``with DaskRunner(...)`` whose start fails after its cluster and client were made (workers that cannot load
    liqcore): a ``with`` whose ``__enter__`` raised never calls ``__exit__``, so they were left running (worker
    processes, a client for the garbage collector to close in any thread).  Closed before the error is raised now."""
    distributed = pytest.importorskip("distributed")
    from liqcore.sweep import runners

    made = []

    def cluster(workers):  # (in-process workers: quick to start; the same Client and close)
        made.append(distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                                             host="127.0.0.1", dashboard_address=None))
        return made[-1]

    def refuse(self):
        raise ValueError("dask: the workers could not load liqcore (ImportError: ...); every worker needs liqcore")

    monkeypatch.setattr(runners, "local_cluster", cluster)
    monkeypatch.setattr(runners.DaskRunner, "_warm", refuse)
    r = runners.DaskRunner("local", 1)
    with pytest.raises(ValueError, match="could not load liqcore"):
        with r:
            pass
    assert r.client is None and r.cluster is None
    assert made and made[0].status.name == "closed", made[0].status


def _attempts() -> list:
    import threading

    return [t for t in threading.enumerate() if t.name.endswith("(attempt)") and t.is_alive()]


@pytest.mark.parametrize("probed", [True, False])
def test_a_silent_server_leaves_no_client_waiting_behind(monkeypatch, probed):
    """A server that accepts and never says anything: dask's client waits for its handshake without a deadline, so
    each refused ``--dask`` left a thread and an event loop waiting for ever (in a program running several sweeps,
    one more each time).  The probe asks for the server's first bytes (a dask server writes first) before a Client
    is made.  The control (the probe left out: the code before) leaves the handshake's thread waiting."""
    pytest.importorskip("distributed")
    import socket
    import time

    from distributed import Client

    from liqcore.sweep import runners

    if not probed:
        monkeypatch.setattr(runners, "_says_first", lambda sock, deadline: None)
    before = set(_attempts())
    srv = socket.socket()  # (accepts through the kernel's backlog, never says anything)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    try:
        t0 = time.monotonic()
        with pytest.raises(ValueError, match="no dask handshake"):
            runners._connect(Client, f"tcp://127.0.0.1:{srv.getsockname()[1]}", 1.0)
        assert time.monotonic() - t0 >= 0.9  # (the deadline waited out)
        left = [t for t in _attempts() if t not in before]
        assert (left == []) if probed else left, left
    finally:
        srv.close()  # (the control's waiting client then meets the closed connection and ends)
    end = time.monotonic() + 60
    while [t for t in _attempts() if t not in before] and time.monotonic() < end:
        time.sleep(0.02)
    assert not [t for t in _attempts() if t not in before], "the handshake's thread did not end"


@pytest.mark.parametrize("probed", [True, False])
def test_a_tls_server_that_says_nothing_after_tls_leaves_no_client_waiting(monkeypatch, tmp_path, probed):
    """``--dask tls://...`` (TLS from dask's configuration) against a server that completes the TLS handshake and then
    says nothing: dask's connect bounds the TLS handshake but not the dask handshake after it, so the Client's
    thread waited for ever.  The probe takes TLS with the Client's own context, then waits for the server's first
    bytes within the timeout.  The control (the TLS probe left out: the code before) leaves the thread waiting."""
    distributed = pytest.importorskip("distributed")
    import dask
    import socket
    import ssl
    import threading
    import time

    from distributed.security import Security

    from liqcore.sweep import runners

    sec = Security.temporary()  # (a CA and its certificates, made now: nothing of the user's)
    pem = {}
    for name in ("tls_ca_file", "tls_client_cert", "tls_client_key", "tls_scheduler_cert", "tls_scheduler_key"):
        pem[name] = tmp_path / f"{name}.pem"
        pem[name].write_text(getattr(sec, name))
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(pem["tls_scheduler_cert"], pem["tls_scheduler_key"])
    server_ctx.load_verify_locations(pem["tls_ca_file"])
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held = []

    def serve():  # TLS completed, then nothing said
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            c.settimeout(10)
            try:
                held.append(server_ctx.wrap_socket(c, server_side=True))
            except (OSError, ssl.SSLError):
                c.close()

    threading.Thread(target=serve, daemon=True).start()
    if not probed:
        monkeypatch.setattr(runners, "_tls_says_first", lambda sock, deadline: None)
    before = set(_attempts())
    config = {"distributed.comm.tls.ca-file": str(pem["tls_ca_file"]),
              "distributed.comm.tls.client.cert": str(pem["tls_client_cert"]),
              "distributed.comm.tls.client.key": str(pem["tls_client_key"])}
    try:
        with dask.config.set(config):
            t0 = time.monotonic()
            with pytest.raises(ValueError, match="no dask handshake"):
                runners._connect(distributed.Client, f"tls://127.0.0.1:{srv.getsockname()[1]}", 1.0)
            assert time.monotonic() - t0 >= 0.9  # (the deadline waited out)
        assert held, "the server never completed TLS"
        left = [t for t in _attempts() if t not in before]
        assert (left == []) if probed else left, left
    finally:
        srv.close()
        for c in held:  # (the control's waiting client then meets the closed connection and ends)
            c.close()
    end = time.monotonic() + 60
    while [t for t in _attempts() if t not in before] and time.monotonic() < end:
        time.sleep(0.02)
    assert not [t for t in _attempts() if t not in before], "the handshake's thread did not end"


def test_a_tls_scheduler_is_reached_through_the_tls_probe(tmp_path):
    """A real dask scheduler on ``tls://`` (its certificates from a CA made now, the client's from dask's configuration):
    the probe's TLS handshake and first byte pass, and the Client made after it computes."""
    distributed = pytest.importorskip("distributed")
    import dask
    from distributed.security import Security

    from liqcore.sweep import runners

    sec = Security.temporary()
    pem = {}
    for name in ("tls_ca_file", "tls_client_cert", "tls_client_key"):
        pem[name] = tmp_path / f"{name}.pem"
        pem[name].write_text(getattr(sec, name))
    config = {"distributed.comm.tls.ca-file": str(pem["tls_ca_file"]),
              "distributed.comm.tls.client.cert": str(pem["tls_client_cert"]),
              "distributed.comm.tls.client.key": str(pem["tls_client_key"])}
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tls", security=sec,
                                  host="127.0.0.1", dashboard_address=None) as cluster, dask.config.set(config):
        assert cluster.scheduler_address.startswith("tls://")
        client = runners._connect(distributed.Client, cluster.scheduler_address, 20.0)
        try:
            assert client.submit(sum, [1, 2, 3]).result(timeout=20) == 6
        finally:
            client.close()


def test_a_local_cluster_beside_a_running_dask_dashboard_says_nothing():
    """``--dask local`` while the user's own dask dashboard holds port 8787: dask's scheduler starts its HTTP server
    (dashboard off or not) on 8787 by default, and warned over four lines ("Port 8787 is already in use. Perhaps you
    already have a cluster running?") before the command's own output (the suite met it beside another run).  The
    local cluster's server takes a free port of 127.0.0.1 now.  The control: dask's default, beside the same port,
    warns."""
    import socket
    import warnings

    distributed = pytest.importorskip("distributed")
    from liqcore.sweep.runners import local_cluster

    held = socket.socket()
    try:
        held.bind(("127.0.0.1", 8787))
        held.listen(1)
    except OSError:
        pass  # (another program holds it already: the same condition)

    def said(make) -> list:
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            with make():
                pass
        return [str(w.message) for w in got if "already in use" in str(w.message)]

    try:
        assert said(lambda: local_cluster(1)) == []
        assert said(lambda: distributed.LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1",
                                                     dashboard_address=None))  # (the control: dask's default)
    finally:
        held.close()
