"""A `liqcore run` process against a fake market stream on 127.0.0.1, for the tests: start it, wait on conditions
(bounded, never a fixed sleep), read its decoder's counts from its /metrics, stop it with SIGINT and read its
JSON summary."""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_run(*args: str, metrics_port: int | None = None) -> subprocess.Popen:
    """``liqcore run ARGS --no-dashboard --json`` (with ``metrics_port``: ``--metrics-port``)."""
    extra = ["--metrics-port", str(metrics_port)] if metrics_port is not None else []
    return subprocess.Popen([sys.executable, "-m", "liqcore", "run", *args, "--no-dashboard", "--json", *extra],
                            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ))


async def until(cond, what: str, proc: subprocess.Popen, bound_s: float = 60.0) -> None:
    """Poll ``cond()`` until it holds; fail if the run exits first or after ``bound_s`` (a bound, not the wait)."""
    deadline = time.monotonic() + bound_s
    while not cond():
        if proc.poll() is not None:
            pytest.fail(f"{what}: the runner exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {bound_s:g} s")
        await asyncio.sleep(0.05)


def _metrics(port: int) -> str | None:
    """The runner's /metrics text, None before it answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            return r.read().decode()
    except OSError:
        return None


def decoded(port: int) -> int:
    """Data frames the runner's decoder counted (frames minus control frames), from its /metrics; -1 before it answers."""
    body = _metrics(port)
    if body is None:
        return -1
    got = dict(re.findall(r'^liqcore_decoder\{[^}]*counter="(\w+)"[^}]*\} ([0-9.eE+-]+)$', body, re.M))
    return int(float(got.get("frames", 0)) - float(got.get("control", 0)))


def metric_total(port: int, name: str) -> float:
    """The sum of every series of the runner's metric ``name`` (e.g. ``liqcore_decisions_total``, by outcome), from
    its /metrics; -1 before it answers."""
    body = _metrics(port)
    if body is None:
        return -1.0
    return sum(float(v) for v in re.findall(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? ([0-9.eE+-]+)$", body, re.M))


def stop_run(proc: subprocess.Popen) -> tuple[int, dict | None, str]:
    """SIGINT, then (return code, the JSON summary or None, stderr)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    lines = out.decode().strip().splitlines()
    try:
        summary = json.loads(lines[-1]) if lines else None
    except ValueError:
        summary = None
    return proc.returncode, summary, err.decode()
