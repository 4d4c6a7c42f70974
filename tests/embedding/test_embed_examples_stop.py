"""The embedding examples stop as they say: ``embed_asyncio_bot.py --duration`` ends on a quiet feed too, Ctrl-C
and SIGTERM end it with ``interrupted`` and its summary (no traceback), and its ``--decisions`` / ``--cascades``
lines are on disk as they happen; ``embed_sync_loop.py`` stops on Ctrl-C the same way.

Real processes: the fake Bybit exchange of ``liqcore.testing`` (``python -m liqcore.testing.fake_exchange``)
replaying the bundled recording at full speed (the whole sample in well under a second, then a quiet feed),
and the examples as a user runs them.  Every wait is bounded and waits for a condition (a line, a file's
content, the process's exit).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.core, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def exchange():
    """The fake exchange replaying the bundled sample recording (speed 0), its public websocket URL."""
    from liqcore.data import sample_recording

    p = subprocess.Popen([sys.executable, "-m", "liqcore.testing.fake_exchange", "--replay", str(sample_recording()),
                          "--speed", "0", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    try:
        line = p.stdout.readline()  # (one JSON line once it listens; EOF if it died)
        assert line, p.stderr.read().decode()[-2000:]
        yield json.loads(line)["public_ws_url"]
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(20)


def _wait_lines(path: Path, n: int, proc, timeout: float = 90.0) -> list[str]:
    """The lines of ``path`` once it holds ``n`` (while ``proc`` runs), bounded by ``timeout``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= n:
            return lines
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        time.sleep(0.05)
    raise AssertionError(f"{path.name}: fewer than {n} lines after {timeout} s")


def _interrupted(p: subprocess.Popen, sig, ready) -> dict:
    """Once ``ready()`` returned (it waits, bounded, for what the example wrote), send ``sig`` to the example
    ``p`` and check how it ended: exit 130, ``interrupted`` on stderr and no traceback, its last stdout line the
    summary (returned), which says ``interrupted``.  ``p`` is killed if any of it fails."""
    try:
        ready()
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(20)
    err = err.decode()
    assert p.returncode == 130, err[-2000:]
    assert "interrupted" in err and "Traceback" not in err, err[-2000:]
    summary = json.loads(out.decode().strip().splitlines()[-1])
    assert summary["interrupted"] is True
    return summary


def test_asyncio_bot_duration_ends_on_a_quiet_feed(exchange, tmp_path):
    """The whole sample is sent at once, then nothing: ``--duration 5`` still ends the bot, exit 0, its summary
    printed, well within 20 s (it ran for ever: the deadline was only looked at when a frame arrived)."""
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, str(EXAMPLES / "embed_asyncio_bot.py"), "--url", exchange, "--symbols",
                        "ETHUSDT", "--duration", "5"], capture_output=True, timeout=60, env=_env(), cwd=tmp_path)
    took = time.monotonic() - t0
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    summary = json.loads(p.stdout.decode().strip().splitlines()[-1])
    assert summary["interrupted"] is False and summary["frames"] > 0
    assert 5.0 <= took < 20.0, f"{took:.1f} s"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_asyncio_bot_interrupted_says_so_keeps_its_summary_and_its_files(exchange, tmp_path, sig):
    """A signal while the feed is quiet: ``interrupted`` on stderr, no traceback, the summary on stdout; the
    decisions and cascade records were on disk before the signal (written and flushed as they happened) and
    match the summary's counts after it."""
    dec, cas = tmp_path / "decisions.jsonl", tmp_path / "cascades.jsonl"
    p = subprocess.Popen([sys.executable, str(EXAMPLES / "embed_asyncio_bot.py"), "--url", exchange, "--symbols",
                          "ETHUSDT", "--decisions", str(dec), "--cascades", str(cas)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=tmp_path)
    before = []

    def decided():
        before[:] = _wait_lines(dec, 2, p)  # the sample's two cascades, decided (the bot still running)
        assert len(_wait_lines(cas, 2, p)) >= 2
        assert all(json.loads(x)["symbol"] == "ETHUSDT" for x in before)
    summary = _interrupted(p, sig, decided)
    assert len(dec.read_text().splitlines()) == summary["decisions"] >= 2
    assert dec.read_text().splitlines()[:len(before)] == before


def test_sync_loop_ctrl_c_says_interrupted_and_prints_its_summary(tmp_path):
    """The synchronous example reading lines from a pipe that stays open: Ctrl-C prints ``interrupted`` and
    the summary of what it read, no traceback; the decisions it made are on disk."""
    from liqcore.data import sample_recording
    from liqcore.live.recorder import read_lines

    dec = tmp_path / "decisions.jsonl"
    p = subprocess.Popen([sys.executable, str(EXAMPLES / "embed_sync_loop.py"), "-", "--decisions", str(dec)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
                         cwd=tmp_path)

    def decided():
        for line in read_lines(sample_recording()):
            p.stdin.write(line if line.endswith(b"\n") else line + b"\n")
        p.stdin.flush()  # (the pipe stays open: the script waits for more)
        _wait_lines(dec, 2, p)
    summary = _interrupted(p, signal.SIGINT, decided)
    assert summary["frames"] > 0
    assert len(dec.read_text().splitlines()) == summary["decisions"] >= 2
