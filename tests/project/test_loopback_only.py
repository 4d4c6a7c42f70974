"""The tests never leave 127.0.0.1: the guard of ``tests/_netguard`` (installed by ``tests/conftest.py``)
refuses and notes every name lookup and connection past loopback, in the session and in the Python
processes the tests start (uvloop's own resolver and connections included), and the autouse
``loopback_only_guard`` fails the test that tried.  And ``liqcore run`` paper trading a local feed
(``--ws-url`` without ``--rest-url``) no longer asks api.bybit.com for the venue's clock."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import loopback_only
import pytest


def _forget(since_lines: int, since_violations: int) -> list[str]:
    """The attempts noted since (file lines, this process's list), removed again so that the autouse guard
    does not fail the test that made them on purpose."""
    path = os.environ[loopback_only.ENV]
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        lines = []
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("".join(ln + "\n" for ln in lines[:since_lines]))
    del loopback_only.VIOLATIONS[since_violations:]
    return lines[since_lines:]


def _mark() -> tuple[int, int]:
    try:
        with open(os.environ[loopback_only.ENV], encoding="utf-8") as fh:
            n = len(fh.read().splitlines())
    except OSError:
        n = 0
    return n, len(loopback_only.VIOLATIONS)


def test_the_session_refuses_and_notes_what_leaves_loopback():
    mark = _mark()
    with pytest.raises(OSError, match="never leave 127.0.0.1"):
        socket.getaddrinfo("api.bybit.com", 443)
    with pytest.raises(OSError, match="never leave 127.0.0.1"):
        socket.create_connection(("192.0.2.1", 9), timeout=1)  # (TEST-NET-1: an address, no name)
    with socket.socket() as srv:  # loopback stays open
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        socket.create_connection(srv.getsockname(), timeout=5).close()
        socket.create_connection(("localhost", srv.getsockname()[1]), timeout=5).close()
    noted = _forget(*mark)
    assert [n.split(" (")[0] for n in noted] == ["api.bybit.com:443", "192.0.2.1:9"], noted


def test_a_name_under_invalid_fails_as_a_dns_failure_and_sends_nothing():
    """RFC 2606's ``.invalid`` never resolves: the guard answers as a resolver does (``socket.gaierror``,
    EAI_NONAME) without a query, and notes no attempt to leave: a test can meet a real DNS failure offline."""
    mark = _mark()
    for name in ("data.binance.invalid", "x.INVALID.", "invalid"):
        with pytest.raises(socket.gaierror) as ei:
            socket.getaddrinfo(name, 443)
        assert ei.value.errno == socket.EAI_NONAME
    assert _forget(*mark) == []
    assert not loopback_only.reserved_invalid("invalid.example.com")  # only the TLD


_CHILD = """
import asyncio, socket, sys
try:
    socket.create_connection(("api.bybit.com", 443), timeout=1)
except OSError as e:
    print("socket:", e)
import uvloop

async def main():
    try:
        await asyncio.get_running_loop().create_connection(asyncio.Protocol, "api.bybit.com", 443)
    except OSError as e:
        print("uvloop:", e)

uvloop.run(main())
"""


def test_a_child_process_is_guarded_too_uvloop_included():
    mark = _mark()
    r = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=60)
    noted = _forget(*mark)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count("never leave 127.0.0.1") == 2, r.stdout
    assert len(noted) == 2 and all(n.startswith("api.bybit.com:443") for n in noted), noted


def test_paper_run_on_a_local_feed_does_not_ask_api_bybit_com_for_the_clock():
    from liqcore.testing.fake_exchange import FakeExchangeThread

    ft = FakeExchangeThread()
    fx = ft.start()
    mark = _mark()
    try:
        r = subprocess.run([sys.executable, "-m", "liqcore", "run", "--venue", "bybit", "--symbols", "ETHUSDT",
                            "--ws-url", fx.public_ws_url, "--duration", "2", "--no-dashboard", "--json"],
                           capture_output=True, text=True, timeout=240)
    finally:
        ft.stop()
    noted = _forget(*mark)
    assert not noted, noted  # before: api.bybit.com:443, asked for the venue's clock
    assert "running: venue=bybit" in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]  # it ran
    assert "event times are judged by this machine's clock" in r.stderr  # and says what it judges by
