"""Ctrl-C in the first seconds of `liqcore run`, before its feed delivered any market data: the user's interrupt
says "interrupted" and the run ends as every interrupted run does (exit 0, its summary printed), never as a feed
that failed ("never connected", "no market data", exit 1).

Real faults on 127.0.0.1: a port that accepts TCP and never answers the websocket handshake, and the fake Bybit
exchange that acknowledges the subscription and then prints nothing.  The SIGINT is sent once the run is
connecting / subscribed (a bounded wait on that condition, never a fixed sleep)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from liqcore.testing.fake_exchange import FakeExchangeThread
from tests._fake_market_run import stop_run

pytestmark = [pytest.mark.timeout(180), pytest.mark.integration]


def _start(url: str, tmp_path) -> subprocess.Popen:
    env = dict(os.environ, LIQCORE_CACHE_DIR=str(tmp_path / "cache"))
    return subprocess.Popen([sys.executable, "-m", "liqcore", "run", "--venue", "bybit", "--symbols", "ETHUSDT",
                             "--ws-url", url, "--no-dashboard", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


def _wait(proc: subprocess.Popen, cond, what: str, bound_s: float = 60.0) -> None:
    t0 = time.monotonic()
    while not cond():
        assert proc.poll() is None, f"the run ended before {what}: {proc.communicate()[1].decode()[-2000:]}"
        assert time.monotonic() - t0 < bound_s, f"{what}: not within {bound_s:g} s"
        time.sleep(0.02)


def _check(code: int, summary: dict | None, err: str) -> None:
    assert "liqcore run: interrupted" in err, err[-2000:]
    assert "error" not in err and "never connected" not in err and "no market data" not in err, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    assert code == 0, (code, err[-2000:])
    assert summary["interrupted"] is True and summary["feed_failure"], summary  # (kept in the summary, as facts)


def test_ctrl_c_while_the_handshake_is_pending_says_interrupted_not_never_connected(tmp_path):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.05)
    accepted = []
    try:
        proc = _start(f"ws://127.0.0.1:{srv.getsockname()[1]}/", tmp_path)

        def connecting() -> bool:
            try:
                accepted.append(srv.accept()[0])
            except socket.timeout:
                pass
            return bool(accepted)

        _wait(proc, connecting, "the run connecting to the feed")
        _check(*stop_run(proc))
    finally:
        for c in accepted:
            c.close()
        srv.close()


def test_ctrl_c_before_the_first_market_data_says_interrupted_not_no_market_data(tmp_path):
    with FakeExchangeThread() as fx:
        proc = _start(fx.public_ws_url, tmp_path)
        _wait(proc, lambda: fx.subscribed("allLiquidation.ETHUSDT") or fx.subscribed("liquidation.ETHUSDT"),
              "the run subscribed")
        _check(*stop_run(proc))
