"""The recorder on a full disk: one message at once, a count of what it could not write, the files readable up
to their last complete block, a retry once space is back, and a failed exit; the live runner with --record
keeps trading every frame and says it once (not a traceback per frame).

A real small filesystem: a tmpfs mounted for the test (as root), filled to a few KB; where no tmpfs can be
mounted, a child process whose file size limit (RLIMIT_FSIZE, SIGXFSZ ignored) is a few KB; skipped with
the reason where neither works.
"""
from __future__ import annotations

import json
import os
import re
import socket
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from _procs import signal_and_wait, wait_until
from liqcore.live.recorder import Recorder, read_lines
from liqcore.testing.fake_exchange import FakeExchangeThread

pytestmark = [pytest.mark.timeout(120), pytest.mark.integration]

ROOM = 96 * 1024  # bytes left on the small filesystem (or the file size limit)


def _try_tmpfs(where: Path) -> bool:
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    where.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True)
    return p.returncode == 0


def _fill(where: Path, leave: int) -> Path:
    st = os.statvfs(where)
    filler = where / "filler"
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))
    return filler


def _fsize_limit():
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (ROOM, ROOM))


@pytest.fixture
def small_disk(tmp_path):
    """``(directory, preexec_fn, filler)``: a directory on which a child process runs out of room."""
    mnt = tmp_path / "mnt"
    if _try_tmpfs(mnt):
        filler = _fill(mnt, ROOM)
        try:
            yield mnt, None, filler
        finally:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
        return
    try:
        import resource  # noqa: F401
    except ImportError:
        pytest.skip("no tmpfs can be mounted here (not root) and no RLIMIT_FSIZE on this platform")
    d = tmp_path / "d"
    d.mkdir()
    yield d, _fsize_limit, None


@pytest.fixture
def printing_venue():
    """The fake Bybit exchange on 127.0.0.1 printing ETHUSDT trades as fast as it can."""
    ft = FakeExchangeThread()
    fx = ft.start()
    stop = threading.Event()

    def venue():
        px = 0
        while not stop.is_set():
            px += 1
            ft.call(fx.trade("ETHUSDT", 2000 + (px % 2000) / 2, qty=1.234))

    t = threading.Thread(target=venue, daemon=True)
    t.start()
    try:
        yield fx
    finally:
        stop.set()
        t.join(5)
        ft.stop()


def _until(argv, preexec, ready, bound_s: float = 100.0) -> tuple[int, bytes, str]:
    """Run ``liqcore ARGV`` until ``ready(stderr so far)`` is true (polled; the condition, not a fixed
    duration: on a busy machine the process takes its time to start and to fill the disk), then SIGTERM
    it (a graceful stop, as --duration's end); ``bound_s`` bounds the wait.  ``(exit status, stdout,
    stderr)``.  (The cache of compiled kernels stays where it is: only the recorder's output is on the
    small disk.)"""
    p = subprocess.Popen([sys.executable, "-m", "liqcore", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=preexec)
    chunks: list[bytes] = []
    out: list[bytes] = []
    readers = [threading.Thread(target=lambda: chunks.extend(iter(lambda: p.stderr.read1(4096), b"")), daemon=True),
               threading.Thread(target=lambda: out.append(p.stdout.read()), daemon=True)]
    for t in readers:
        t.start()
    met = []

    def cond():
        met.append(ready(b"".join(chunks).decode(errors="replace")))
        return met[-1]

    wait_until(p, cond, f"liqcore {argv[0]}: the condition", bound_s, every_s=0.05)
    signal_and_wait(p, signal.SIGTERM, 60, f"liqcore {argv[0]}")
    for t in readers:
        t.join(10)
    err = b"".join(chunks).decode(errors="replace")
    assert met and met[-1], f"liqcore {argv[0]} ended (exit {p.returncode}) before the condition: {err[-2000:]}"
    return p.returncode, b"".join(out), err


def _unwritten_said(err: str) -> int:
    """The recorder's last status line's count of lines it could not write (``NOT WRITTEN=N``)."""
    found = re.findall(r"NOT WRITTEN=(\d+)", err)
    return int(found[-1]) if found else 0


def _metric(port: int, name: str) -> float:
    """A gauge of the runner's Prometheus endpoint on 127.0.0.1 (0 while it does not answer yet)."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            body = r.read().decode()
    except OSError:
        return 0.0
    m = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.eE+-]+)$", body, re.M)
    return float(m.group(1)) if m else 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _readable(d: Path) -> int:
    return sum(1 for f in sorted(d.glob("*.jsonl.zst")) for _ in read_lines(f))


def test_record_on_a_full_disk_says_so_once_counts_and_exits_1(small_disk, printing_venue):
    where, preexec, _ = small_disk
    out = where / "rec"
    # runs until its own status line counts more than 100 lines it could not write (the disk filled and the
    # venue kept printing), then stops as at the end of --duration (here only a bound)
    rc, stdout, err = _until(["record", "--venue", "bybit", "--symbols", "ETHUSDT", "--ws-url",
                              printing_venue.public_ws_url, "--duration", "90", "--out", str(out), "--flush", "0.2"],
                             preexec, lambda e: _unwritten_said(e) > 100)
    assert rc == 1, (stdout, err[-2000:])
    assert "Traceback" not in err
    said = [ln for ln in err.splitlines() if "recorder: cannot write" in ln]
    assert len(said) == 1, err[-3000:]  # once, at the first failure: not once per frame
    last = err.strip().splitlines()[-1]
    assert last.startswith("liqcore record: error: cannot write ") and str(out) in last
    assert ("No space left on device" in last) or ("File too large" in last)
    unwritten = int(last.rsplit(": ", 1)[1].split()[0])
    assert unwritten > 100  # the venue kept printing for seconds after the disk filled: each line counted
    # what the recorder says it wrote is exactly what reads back (files cut back to their last complete block)
    written = int(stdout.decode().split()[1])
    assert written > 0 and _readable(out) == written


def test_run_with_record_on_a_full_disk_keeps_trading_and_says_it_once(small_disk, printing_venue):
    where, preexec, _ = small_disk
    out = where / "rec"
    port = _free_port()
    # runs until its metrics count more than 100 lines the recorder could not write, then stops (SIGTERM, as
    # at the end of --duration, here only a bound)
    rc, stdout, err = _until(["run", "--venue", "bybit", "--symbols", "ETHUSDT", "--ws-url",
                              printing_venue.public_ws_url, "--duration", "90", "--record", str(out), "--no-dashboard",
                              "--json", "--metrics-port", str(port)], preexec,
                             lambda e: _metric(port, "liqcore_recorder_unwritten") > 100)
    assert rc == 1, err[-2000:]
    assert "Traceback" not in err and len(err.splitlines()) <= 6, err[-3000:]
    assert sum("recorder: cannot write" in ln for ln in err.splitlines()) == 1
    assert err.strip().splitlines()[-1].startswith("liqcore run: error: --record: cannot write ")
    s = json.loads(stdout)
    rec = s["recorder"]
    assert rec["error"] and rec["unwritten"] > 100
    # every frame still reached the engine: decoded, none lost to the recorder's failure
    assert s["decoder"]["frames"] == s["frames"] and s["decoder"]["events"] >= s["frames"] - 1
    assert _readable(out) == rec["lines"]


def test_recorder_resumes_once_space_is_back(small_disk):
    where, preexec, filler = small_disk
    if filler is None:
        pytest.skip("needs a filesystem whose space can be given back (tmpfs); the file size limit cannot")
    rec = Recorder(where / "rec", flush_every_s=0.0, flush_every_lines=50, retry_s=0.05)
    t0 = 1_767_582_000_000_000_000
    n = 0
    while not rec.failed and n < 200_000:  # incompressible-ish payloads fill the few KB quickly
        rec.write_frame("bybit", json.dumps({"topic": "publicTrade.ETHUSDT", "i": n, "r": os.urandom(24).hex()}).encode(),
                        t0 + n)
        n += 1
    assert rec.failed and rec.error and "No space left on device" in rec.error
    before = rec.unwritten
    for k in range(10):  # still full: counted, not written
        rec.write_frame("bybit", b'{"topic":"x","k":%d}' % k, t0 + n + k)
    assert rec.unwritten == before + 10 and rec.lines + rec.unwritten == n + 10
    filler.unlink()
    time.sleep(0.06)
    rec.maybe_flush()  # the retry: the cut file is ended, writing goes on in a new zstd frame
    assert not rec.failed
    for k in range(20):
        rec.write_frame("bybit", b'{"topic":"y","k":%d}' % k, t0 + n + 10 + k)
    rec.close()
    lines = [json.loads(x) for f in sorted((where / "rec").glob("*.zst")) for x in read_lines(f)]
    assert len(lines) == rec.lines == n + 30 - rec.unwritten
    assert [x["frame"]["k"] for x in lines[-20:]] == list(range(20))  # after the cut, the new frame reads back
