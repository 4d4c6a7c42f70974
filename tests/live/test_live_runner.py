"""Runner pieces: metrics endpoint, JSON logs, dashboard rendering, and `liqcore run --replay` offline."""
from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time

import orjson
import pytest

from liqcore.live.metrics import Histogram, Metrics, serve_metrics

pytestmark = pytest.mark.timeout(120)


def test_metrics_text_exposition():
    m = Metrics()
    m.inc("liqcore_orders_total", kind="entry")
    m.inc("liqcore_orders_total", 2, kind="entry")
    m.set("liqcore_connected", 1, venue="bybit")
    for v in (40e-6, 120e-6, 900e-6, 5.0):
        m.observe("liqcore_reaction_seconds", v)
    m.collectors.append(lambda mm: mm.set_counter("liqcore_frames_total", 42, venue="bybit"))
    text = m.render()
    assert 'liqcore_orders_total{kind="entry"} 3' in text
    assert 'liqcore_connected{venue="bybit"} 1' in text
    assert 'liqcore_frames_total{venue="bybit"} 42' in text
    assert 'liqcore_reaction_seconds_bucket{le="5e-05"} 1' in text
    assert 'liqcore_reaction_seconds_bucket{le="+Inf"} 4' in text and "liqcore_reaction_seconds_count 4" in text
    assert "# TYPE liqcore_reaction_seconds histogram" in text
    h = Histogram()
    assert h.quantile(0.5) != h.quantile(0.5)  # nan when empty
    for v in (1e-5,) * 9 + (2.0,):
        h.observe(v)
    assert h.quantile(0.5) == 25e-6 and h.quantile(1.0) == 3.0


@pytest.mark.integration
@pytest.mark.timeout(30)
def test_metrics_endpoint_serves_on_loopback():
    import aiohttp

    async def main():
        m = Metrics()
        m.inc("liqcore_cascades_total", venue="bybit", symbol="ETHUSDT")
        runner = await serve_metrics(m, 0)
        port = runner.addresses[0][1]
        async with aiohttp.ClientSession() as s:
            async with s.get(f"http://127.0.0.1:{port}/metrics") as r:
                body = await r.text()
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
        await runner.cleanup()
        assert 'liqcore_cascades_total{symbol="ETHUSDT",venue="bybit"} 1' in body

    asyncio.run(main())


def test_json_logs_mask_secrets(tmp_path, capsys):
    from liqcore.live.logging import setup_json_logging
    from liqcore.secrets import register_secret

    path = tmp_path / "log.jsonl"
    h = setup_json_logging(str(path), "INFO")
    try:
        register_secret("sEcReT-value-123")
        log = logging.getLogger("liqcore.test")
        log.info("signing with sEcReT-value-123 now", extra={"api_secret": "x", "symbol": "ETHUSDT"})
        log.warning("plain")
        h.flush()
    finally:
        logging.getLogger("liqcore").removeHandler(h)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert lines[0]["msg"] == "signing with *** now" and lines[0]["api_secret"] == "***"
    assert lines[0]["symbol"] == "ETHUSDT" and lines[0]["level"] == "info" and lines[1]["level"] == "warning"
    assert "sEcReT" not in path.read_text()


def test_dashboard_renders_a_snapshot():
    from rich.console import Console

    from liqcore.config import Params
    from liqcore.live.dashboard import render
    from liqcore.live.engine import Engine

    eng = Engine(Params(), symbols=["ETHUSDT", "SOLUSDT"])
    snap = eng.snapshot()
    snap["feeds"] = [{"venue": "bybit", "connected": True, "frames": 10, "gaps": 1, "reconnects": 1,
                      "last_rx_age_s": 0.2, "coverage": 0.995, "watchdog_pings": 3, "watchdog_kills": 0}]
    console = Console(record=True, width=160)
    console.print(render(snap))
    out = console.export_text()
    assert "PAPER" in out and "ETHUSDT" in out and "SOLUSDT" in out and "99.50%" in out


def _cascade_recording(path, t0_ms):
    from liqcore.live.recorder import Recorder
    from liqcore.testing.fake_replay import liquidation_frame, trade_frame

    frames = [liquidation_frame("ETHUSDT", 3000, q, "Buy", t0_ms + i * 100)
              for i, q in enumerate([0.5, 0.1, 0.3, 0.2, 0.4, 0.15, 0.35, 0.25, 0.45, 0.05])]
    frames.append(trade_frame("ETHUSDT", 3000.0, 1, "Sell", t0_ms + 2000))
    frames.append(liquidation_frame("ETHUSDT", 3000, 10, "Buy", t0_ms + 2100))
    frames.append(liquidation_frame("ETHUSDT", 2999, 12, "Buy", t0_ms + 2200))
    frames.append(trade_frame("ETHUSDT", 2994.0, 1, "Sell", t0_ms + 2600))
    with Recorder(path) as rec:
        for f in frames:
            rec.write_frame("bybit", orjson.dumps(f), f["ts"] * 1_000_000)
    return rec.files


@pytest.mark.integration
@pytest.mark.timeout(120)
@pytest.mark.parametrize("live", [False, True])
def test_run_replay_of_a_recording_offline(tmp_path, live):
    """`liqcore run --replay FILE` (paper, and --live with BybitGateway against the in-process fake)."""
    files = _cascade_recording(tmp_path / "rec", int(time.time() * 1000) - 60_000)
    journal = tmp_path / "j.sqlite"
    # (a replay stops when the recording ends: --duration only bounds a run that a busy machine slows down)
    cmd = [sys.executable, "-m", "liqcore", "run", "--symbols", "ETHUSDT", "--replay", str(files[0]), "--speed", "5",
           "--duration", "90", "--no-dashboard", "--json", "--min-history", "5", "--history", "50",
           "--journal", str(journal), "--log", str(tmp_path / "log.jsonl")] + (["--live"] if live else [])
    p = subprocess.run(cmd, capture_output=True, timeout=110)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    s = json.loads(p.stdout)
    assert s["mode"] == ("live" if live else "paper")
    assert s["cascades"] == 1 and s["orders"] == 1 and s["frames"] >= 14
    d = [x for x in s["decisions"] if x["action"] == "order"][0]
    assert d["side"] == "buy" and d["price"] == 2995.5 and d["qty"] == 0.83
    assert s["fills"] >= 1  # the 2994 print went through the limit
    from liqcore.live.journal import Journal

    with Journal(journal) as j:
        rec = j.recover()
        assert rec.positions["ETHUSDT"]["entry_price"] == 2995.5


def test_run_command_rejects_bad_arguments(tmp_path):
    from liqcore.cli import main

    assert main(["run", "--symbols", "", "--no-dashboard"]) == 2
    assert main(["run", "--venue", "kraken", "--no-dashboard"]) == 2
    assert main(["run", "--notional", "100", "--size", "0.1", "--no-dashboard"]) == 2
    assert main(["run", "--replay", str(tmp_path / "missing"), "--no-dashboard"]) == 2
    assert main(["run", "--live", "--venue", "okx", "--no-dashboard"]) == 2
    assert main(["record", "--symbols", "", "--out", str(tmp_path)]) == 2


def test_live_without_keys_is_a_clean_error(tmp_path, monkeypatch, capsys):
    from liqcore.cli import main

    for k in ("BYBIT_API_KEY", "BYBIT_API_SECRET", "LIQCORE_KEY_FILE"):
        monkeypatch.delenv(k, raising=False)
    assert main(["run", "--symbols", "ETHUSDT", "--live", "--no-dashboard", "--journal", str(tmp_path / "j")]) == 2
    assert "BYBIT_API_KEY" in capsys.readouterr().err
    key_file = tmp_path / "keys"
    key_file.write_text("BYBIT_API_KEY=abcd1234\nBYBIT_API_SECRET=topsecretvalue\n")
    key_file.chmod(0o644)
    assert main(["run", "--symbols", "ETHUSDT", "--live", "--no-dashboard", "--key-file", str(key_file)]) == 2
    err = capsys.readouterr().err
    assert "chmod 600" in err and "topsecretvalue" not in err


def test_sigusr1_toggles_the_kill_switch():
    import os
    import signal

    from liqcore.live.risk import KillSwitch

    async def main():
        r = KillSwitch()
        assert r.install_signal(asyncio.get_running_loop())
        os.kill(os.getpid(), signal.SIGUSR1)
        await asyncio.sleep(0.05)
        first = r.killed
        os.kill(os.getpid(), signal.SIGUSR1)
        await asyncio.sleep(0.05)
        asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
        return first, r.killed

    assert asyncio.run(main()) == (True, False)
