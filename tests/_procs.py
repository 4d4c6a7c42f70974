"""Waiting on a process a test started, by condition and with a bound that holds on a busy machine (never a
fixed sleep that races the clock)."""
from __future__ import annotations

import subprocess
import time

import pytest


def wait_until(p: subprocess.Popen, cond, what: str, bound_s: float = 120.0, every_s: float = 0.02) -> None:
    """Poll ``cond()`` until it holds or ``p`` has ended; fail (and kill ``p``) after ``bound_s``: a bound,
    not the expected wait."""
    deadline = time.monotonic() + bound_s
    while p.poll() is None and not cond():
        if time.monotonic() > deadline:
            p.kill()
            p.wait()
            pytest.fail(f"{what}: not within {bound_s:.0f} s")
        time.sleep(every_s)


def signal_and_wait(p: subprocess.Popen, sig, within_s: float, what: str) -> None:
    """Send ``sig`` to ``p`` (if it still runs; None: no signal, the caller sent it) and wait for it to end;
    fail (and kill it) after ``within_s``."""
    if sig is not None and p.poll() is None:
        p.send_signal(sig)
    try:
        p.wait(within_s)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        pytest.fail(f"{what}: still running {within_s:g} s after signal {int(sig)}")
