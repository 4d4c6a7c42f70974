"""`liqcore record` and `liqcore run` fail (exit 1, the reason on stderr) when their feed never connected or
brought no market data: a recorder under cron or systemd must not look healthy after recording nothing.

Real faults: a closed port on 127.0.0.1, and the fake Bybit exchange on 127.0.0.1 that accepts, acknowledges
the subscription and then prints nothing.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from liqcore.testing.fake_exchange import FakeExchangeThread
from tests._live_helpers import closed_port

pytestmark = [pytest.mark.timeout(120), pytest.mark.integration]


def _cli(*argv):
    return subprocess.run([sys.executable, "-m", "liqcore", *argv], capture_output=True, timeout=60)


def _error_line(p, cmd: str) -> str:
    err = p.stderr.decode()
    assert "Traceback" not in err, err[-2000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"liqcore {cmd}: error: "), err[-2000:]
    return last


@pytest.mark.parametrize("cmd", ["record", "run"])
def test_a_feed_that_never_connected_exits_1_with_the_reason(tmp_path, cmd):
    url = f"ws://127.0.0.1:{closed_port()}/v5/public/linear"
    extra = ["--out", str(tmp_path / "rec"), "--quiet"] if cmd == "record" else ["--no-dashboard"]
    p = _cli(cmd, "--venue", "bybit", "--symbols", "ETHUSDT", "--ws-url", url, "--duration", "1.5", *extra)
    assert p.returncode == 1, (p.stdout, p.stderr.decode()[-2000:])
    line = _error_line(p, cmd)
    assert f"the bybit feed never connected to {url}" in line and "ConnectionRefusedError" in line
    if cmd == "record":
        assert line.startswith("liqcore record: error: nothing recorded in ")
        assert p.stdout.decode().startswith("recorded 0 frames")


def test_a_handshake_that_never_finishes_is_a_feed_that_never_connected(tmp_path):
    """A port that accepts TCP and never answers the websocket handshake: no attempt finished in the run."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    try:
        url = f"ws://127.0.0.1:{srv.getsockname()[1]}/"
        p = _cli("record", "--venue", "bybit", "--symbols", "ETHUSDT", "--ws-url", url, "--duration", "1.5",
                 "--out", str(tmp_path / "rec"), "--quiet")
    finally:
        srv.close()
    assert p.returncode == 1
    assert f"the bybit feed never connected to {url} (no connect attempt finished in the run)" in _error_line(p, "record")


@pytest.mark.parametrize("cmd", ["record", "run"])
def test_a_feed_with_no_market_data_exits_1_with_the_reason(tmp_path, cmd):
    """Connected and subscribed, but the venue printed nothing in the run: only the subscription ack came."""
    with FakeExchangeThread() as fx:
        extra = ["--out", str(tmp_path / "rec"), "--quiet"] if cmd == "record" else ["--no-dashboard", "--json"]
        p = _cli(cmd, "--venue", "bybit", "--symbols", "ETHUSDT", "--ws-url", fx.public_ws_url, "--duration", "1.5",
                 *extra)
    assert p.returncode == 1, (p.stdout, p.stderr.decode()[-2000:])
    line = _error_line(p, cmd)
    assert "the bybit feed connected but received no market data (1 frame, all control frames" in line
    if cmd == "run":
        s = json.loads(p.stdout)
        assert s["frames"] == 1 and s["feed_failure"] in line


def test_a_run_that_received_market_data_exits_0(tmp_path):
    """The same fake exchange printing trades: the run did its job."""
    import threading
    import time

    ft = FakeExchangeThread()
    fx = ft.start()
    stop = threading.Event()

    def venue():
        px = 3000.0
        while not stop.is_set():
            px += 0.5
            ft.call(fx.trade("ETHUSDT", px))
            time.sleep(0.05)

    t = threading.Thread(target=venue, daemon=True)
    t.start()
    try:
        p = _cli("record", "--venue", "bybit", "--symbols", "ETHUSDT", "--ws-url", fx.public_ws_url, "--duration",
                 "1.5", "--out", str(tmp_path / "rec"), "--quiet")
    finally:
        stop.set()
        t.join(5)
        ft.stop()
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    assert "error" not in p.stderr.decode()
