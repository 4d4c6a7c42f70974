"""``liqcore venue``, then ``liqcore preflight`` against it, then the run it printed: the documented order of
docs/how-to/try-live-offline.md on every venue.  The local venue streams its top of book (Binance
``<symbol>@bookTicker``, Bybit ``orderbook.1.<SYMBOL>``, OKX ``bbo-tbt``) so every stream check of the preflight
passes, and the preflight's probes (no private stream: no trading session) do not consume the replay: the run
that follows trades on the whole market (orders placed, the replay started over for its trading session)."""
from __future__ import annotations

import shlex
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from _procs import Stopwatch, wait_exit, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DURATION_S = 25  # the run's --duration: the first cascades' orders come within seconds at speed 0
DAYS = "0.3"  # of synthetic market: cascades enough for orders, a short build


def _run_line(out: Path) -> str | None:
    text = out.read_text() if out.exists() else ""
    return next((ln for ln in text.splitlines() if ln.startswith("liqcore run ")), None)


@pytest.mark.timeout(420)
@pytest.mark.parametrize("venue", ["binance", "bybit", "okx"])
def test_preflight_passes_on_the_local_venue_and_the_run_still_trades(tmp_path, venue):
    out, err = tmp_path / "venue.out", tmp_path / "venue.err"
    with open(out, "w") as fo, open(err, "w") as fe:
        server = subprocess.Popen([sys.executable, "-m", "liqcore", "venue", "--venue", venue, "--replay-days", DAYS],
                                  cwd=tmp_path, stdout=fo, stderr=fe)
    try:
        wait_until(server, lambda: _run_line(out) is not None, f"liqcore venue --venue {venue}: its run line", 180)
        assert server.poll() is None, err.read_text()[-2000:]
        argv = shlex.split(_run_line(out))
        # the preflight the guide runs first: the run line's venue, symbols, key file and URLs
        pf = ["preflight", *(a for a in argv[2:] if a != "--live"), "--json"]
        p = subprocess.run([sys.executable, "-m", "liqcore", *pf], cwd=tmp_path, capture_output=True, timeout=150)
        assert p.returncode == 0, (p.stdout.decode()[-3000:], p.stderr.decode()[-2000:])
        rows = orjson.loads(p.stdout.decode().strip().splitlines()[-1])["rows"]
        assert rows and all(r["status"] == "PASS" for r in rows), [r for r in rows if r["status"] != "PASS"]
        book = {"binance": "@bookTicker", "bybit": "orderbook.1.", "okx": "bbo-tbt"}[venue]
        assert [r for r in rows if r["check"] == "stream" and book in r["target"]], rows  # the top of book checked

        run = subprocess.run([sys.executable, "-m", "liqcore", *argv[1:], "--duration", str(DURATION_S), "--json",
                              "--no-dashboard", "--journal", str(tmp_path / "j.sqlite")],
                             cwd=tmp_path, capture_output=True, timeout=DURATION_S + 150)
        assert run.returncode == 0, run.stderr.decode()[-2000:]
        summary = orjson.loads(run.stdout.decode().strip().splitlines()[-1])
        assert summary["venue"] == venue and summary["mode"] == "live", summary["mode"]
        assert summary["orders"] > 0 and summary["errors"] == 0, {k: summary[k] for k in ("cascades", "decided",
                                                                                        "orders", "errors")}
        said = err.read_text()
        # the preflight's replay was its own; the run's trading session had the market from its beginning
        assert "replay started for a client without a trading session" in said, said[-2000:]
        assert "replay started for trading session 1" in said, said[-2000:]

        watch = Stopwatch(server.pid)
        server.send_signal(signal.SIGINT)
        wait_exit(server, watch, 30, f"liqcore venue --venue {venue}, interrupted")
        assert server.returncode == 130, err.read_text()[-2000:]
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
