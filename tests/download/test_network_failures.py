"""A network failure is not a usage error: ``liqcore download`` exits 1 when the source's host name does not
resolve (no DNS, no network, a wrong ``--base-url``), as it does when the connection is refused, in one line;
exit 2 stays for a bad request.

The unresolvable host is made in this process, whatever the machine's DNS: a name under RFC 2606's ``.invalid``
(which never resolves) whose ``socket.getaddrinfo`` answers what a resolver without the name answers
(``socket.gaierror`` EAI_NONAME), looked up by aiohttp's threaded resolver on asyncio's own loop (so neither
aiodns nor an event-loop policy a test left behind bypasses it): the code meets it as it meets no DNS."""
from __future__ import annotations

import asyncio
import socket

import pytest

from liqcore.cli import main

HOST = "public.bybit.invalid"
ARGS = ["download", "bybit-archive", "--symbols", "BTCUSDT", "--from", "2024-08-01", "--to", "2024-08-07",
        "--retries", "3", "--backoff", "10ms", "--no-progress"]


@pytest.fixture
def no_such_host(monkeypatch):
    """``HOST`` does not resolve; the names asked for are listed."""
    import aiohttp.connector
    import aiohttp.resolver

    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        asked.append(name)
        if name.rstrip(".").lower() == HOST:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(aiohttp.connector, "DefaultResolver", aiohttp.resolver.ThreadedResolver)
    monkeypatch.setattr(asyncio.events, "_event_loop_policy", asyncio.DefaultEventLoopPolicy())
    return asked


@pytest.mark.parametrize("where", ["--dataset", "--out"])
def test_a_host_that_does_not_resolve_exits_1_in_one_line(tmp_path, capsys, no_such_host, where):
    target = tmp_path / "ds"
    rc = main([*ARGS, where, str(target), "--base-url", f"http://{HOST}/"])
    out = capsys.readouterr()
    err = out.err.strip().splitlines()
    assert HOST in no_such_host  # the resolver was asked, and said no
    assert rc == 1, out.err  # not 2: the request was good, the network was not there
    assert err == [f"liqcore download: error: bybit-archive: {HOST} does not resolve (Name or service not known): "
                   "no network, or a wrong --base-url; nothing more was fetched"], err
    assert out.out == ""
    assert not target.exists()  # the folder made for the run is not left behind empty


def test_a_refused_connection_exits_1_too(tmp_path, capsys):
    rc = main([*ARGS[:6], "--to", "2024-08-01", *ARGS[8:], "--dataset", str(tmp_path / "ds"),
               "--base-url", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "failed BTCUSDT trades 2024-08-01" in err and "1 file(s) refused or failed" in err, err


def test_a_bad_request_still_exits_2(tmp_path, capsys):
    rc = main([*ARGS, "--dataset", str(tmp_path / "ds"), "--base-url", f"http://{HOST}/", "--jobs", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "jobs: must be at least 1" in err[0], err
