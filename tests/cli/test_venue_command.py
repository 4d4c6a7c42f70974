"""``liqcore venue --venue V``: the documented way to try ``liqcore run --live`` offline on every venue.  For
Binance, Bybit, OKX and Gate: the command, in a child process, serves its local fake venue on 127.0.0.1 and prints
the ``liqcore run ... --live`` line that points at it; that very line, run in a second child with
``--duration --json``, trades on the replayed synthetic market: orders placed and answered by the venue, their
entries filled by prints through them, brackets closing them, all journaled; both exit cleanly (the run 0;
the venue on Ctrl-C, "interrupted", 130, within a second of its own CPU time) and the throwaway key file
is gone with the venue; no test key or secret reaches the run's outputs."""
from __future__ import annotations

import os
import shlex
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from _procs import Stopwatch, wait_exit, wait_until

pytestmark = pytest.mark.integration

DURATION_S = 30  # the run's --duration: the synthetic day replays in ~11 s at load 5


def _journal(path: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _run_line(out: Path) -> str | None:
    text = out.read_text() if out.exists() else ""
    return next((ln for ln in text.splitlines() if ln.startswith("liqcore run ")), None)


def _recording(tmp_path: Path, venue: str) -> Path:
    """A recording of ``venue`` in the recorder's line format (``{"venue", "recv_ns", "frame"}``, one a line):
    the synthetic day's frames as that venue sends them."""
    from liqcore.synthetic.market import synthetic_market

    path = tmp_path / f"{venue}.jsonl"
    market = synthetic_market(days=1, symbols=("ETHUSDT", "SOLUSDT"), seed=11, venue=venue)
    with open(path, "wb") as f:
        for recv_ns, frame in market.frames(venue):
            f.write(orjson.dumps({"venue": venue, "recv_ns": int(recv_ns), "frame": bytes(frame).decode()}) + b"\n")
    return path


@pytest.mark.timeout(400)
@pytest.mark.parametrize("venue, replay", [("binance", None), ("bybit", None), ("okx", None), ("gate", None),
                                           ("okx", "recording"), ("binance", "recording")])
def test_venue_command_serves_a_live_run_end_to_end(tmp_path, venue, replay):
    """The venue on the synthetic market (the default), or on a recording of that venue (``--replay FILE``)."""
    out, err = tmp_path / "venue.out", tmp_path / "venue.err"
    # (a recording as fast as possible: its whole day within the run's 30 s; the default pace's session is
    # tests/cli/test_venue_session.py's)
    extra = ["--replay", str(_recording(tmp_path, venue)), "--speed", "0"] if replay else []
    with open(out, "w") as fo, open(err, "w") as fe:
        server = subprocess.Popen([sys.executable, "-m", "liqcore", "venue", "--venue", venue, "--port", "0", *extra],
                                  cwd=tmp_path, stdout=fo, stderr=fe)
    try:
        wait_until(server, lambda: _run_line(out) is not None, f"liqcore venue --venue {venue}: its run line", 180)
        assert server.poll() is None, err.read_text()[-2000:]
        line = _run_line(out)
        argv = shlex.split(line)
        assert argv[:6] == ["liqcore", "run", "--venue", venue, "--symbols", argv[5]] and "--live" in argv, line
        opts = dict(zip(argv[6:], argv[7:]))  # each option with the token after it
        for flag in ("--rest-url", "--ws-url", "--private-ws-url"):
            assert opts[flag].split("//", 1)[1].startswith("127.0.0.1:"), line  # loopback only
        key_file = Path(opts["--key-file"])
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        keys = dict(ln.split("=", 1) for ln in key_file.read_text().splitlines())
        prefix = venue.upper() + "_API_"
        assert {k for k in keys if k.startswith(prefix)} >= {prefix + "KEY", prefix + "SECRET"}, sorted(keys)

        journal = tmp_path / "j.sqlite"
        run = subprocess.run([sys.executable, "-m", "liqcore", *argv[1:], "--duration", str(DURATION_S),
                              "--json", "--no-dashboard", "--journal", str(journal)],
                             cwd=tmp_path, capture_output=True, timeout=DURATION_S + 150)
        assert run.returncode == 0, run.stderr.decode()[-2000:]
        summary = orjson.loads(run.stdout.decode().strip().splitlines()[-1])
        assert summary["venue"] == venue and summary["mode"] == "live", summary["mode"]
        assert summary["cascades"] > 0 and summary["orders"] >= 1, {k: summary[k] for k in ("cascades", "decided")}
        assert summary["errors"] == 0 and not summary["halted"], summary
        # every order answered by the venue: acknowledged with its id, or refused with its reason (at --speed 0
        # the replay may outrun an order's round trip: a post-only entry the market crossed meanwhile is refused)
        orders = _journal(journal, "SELECT kind, status, venue_order_id, reason, filled_qty FROM orders")
        assert len(orders) >= summary["orders"], orders
        assert all(vid or (status == "rejected" and reason) for _k, status, vid, reason, _f in orders), orders
        entries = [o for o in orders if o[0] == "entry"]
        filled = [o for o in entries if (o[4] or 0) > 0]
        assert summary["fills_by_kind"]["entry"] == len(filled), (summary["fills_by_kind"], entries)
        # each entry ended: filled where the replay crossed it, else cancelled (its timeout, the run's end) or refused
        assert all(o[1] in ("filled", "cancelled", "rejected") for o in entries), entries
        if filled:
            assert _journal(journal, "SELECT count(*) FROM fills")[0][0] >= len(filled)
        secrets = [v for v in keys.values() if len(v) >= 8]
        blob = run.stdout + run.stderr
        assert not [s for s in secrets if s.encode() in blob], "a test key or secret in the run's output"

        assert server.poll() is None, err.read_text()[-2000:]  # still serving after the run
        watch = Stopwatch(server.pid)
        server.send_signal(signal.SIGINT)
        wait_exit(server, watch, 30, f"liqcore venue --venue {venue}, interrupted")
        assert server.returncode == 130, err.read_text()[-2000:]
        assert err.read_text().strip().splitlines()[-1] == "liqcore venue: interrupted", err.read_text()[-2000:]
        assert watch.unloaded < 1.0, f"Ctrl-C to exit: {watch}"
        assert not key_file.exists(), "the throwaway key file outlived the venue"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("args, says", [
    (["--venue", "okx", "--port", "70000"], "liqcore venue: error: port: must be 0..65535; got 70000"),
    (["--venue", "binance", "--replay", "no-such-recording"], "liqcore venue: error: replay: no-such-recording does not exist"),
    (["--venue", "bybit", "--speed", "-1"], "liqcore venue: error: speed: must be >= 0"),
])
def test_venue_command_bad_values_are_one_line(tmp_path, args, says):
    p = subprocess.run([sys.executable, "-m", "liqcore", "venue", *args], cwd=tmp_path, capture_output=True,
                       text=True, timeout=100)
    assert p.returncode == 2 and p.stdout == "", (p.returncode, p.stdout)
    assert len(p.stderr.splitlines()) == 1 and p.stderr.startswith(says), p.stderr


@pytest.mark.timeout(120)
def test_venue_command_port_in_use_is_one_line(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = subprocess.run([sys.executable, "-m", "liqcore", "venue", "--venue", "binance", "--port", str(port),
                            "--replay-days", "0.05"], cwd=tmp_path, capture_output=True, text=True, timeout=100)
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr[-2000:]
    assert len(p.stderr.splitlines()) == 1 and "liqcore venue: error:" in p.stderr, p.stderr


@pytest.mark.timeout(120)
@pytest.mark.parametrize("venue, symbols", [("binance", "ETHUSDT"), ("okx", "ETH-USDT-SWAP")])
def test_run_replay_live_points_at_the_venue_command(tmp_path, venue, symbols):
    """``run --replay --live`` is the fake Bybit's; on Binance or OKX its refusal names the way that works."""
    p = subprocess.run([sys.executable, "-m", "liqcore", "run", "--venue", venue, "--symbols", symbols, "--replay",
                        "synthetic", "--live", "--no-dashboard"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=100)
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 1, p.stderr[-2000:]
    assert f"`liqcore venue --venue {venue}`" in p.stderr, p.stderr


@pytest.mark.timeout(200)
def test_venue_command_stops_on_sigterm_and_removes_its_keys(tmp_path):
    """SIGTERM (a service manager's stop): exit 0, the throwaway key file gone, the stop said in one line."""
    out, err = tmp_path / "venue.out", tmp_path / "venue.err"
    with open(out, "w") as fo, open(err, "w") as fe:
        server = subprocess.Popen([sys.executable, "-m", "liqcore", "venue", "--venue", "okx", "--replay-days", "0.05"],
                                  cwd=tmp_path, stdout=fo, stderr=fe)
    try:
        wait_until(server, lambda: _run_line(out) is not None, "liqcore venue --venue okx: its run line", 150)
        argv = shlex.split(_run_line(out))
        key_file = Path(argv[argv.index("--key-file") + 1])
        assert key_file.exists() and server.poll() is None, err.read_text()[-2000:]
        server.send_signal(signal.SIGTERM)
        wait_exit(server, Stopwatch(server.pid), 30, "liqcore venue, SIGTERM")
        assert server.returncode == 0, err.read_text()[-2000:]
        assert err.read_text().strip().splitlines()[-1].startswith("liqcore venue: stopped (SIGTERM)"), err.read_text()
        assert not key_file.exists()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_the_run_line_scales_the_runs_wall_clock_times_to_the_replays_pace():
    """At the default pace (600x) the printed run line carries the cooldown, entry and hold timeouts divided by the
    speed (in whole ms), so the run decides on the market's clock; the recorded pace (1) and "as fast as possible"
    (0) print the defaults (none given)."""
    from liqcore.commands.venue import DEFAULT_SPEED, paced_options, run_line
    from liqcore.config import Params
    from liqcore.units import parse_duration

    par = Params()
    opts = paced_options(DEFAULT_SPEED)
    given = dict(zip(opts[::2], opts[1::2]))
    assert set(given) == {"--cooldown", "--entry-timeout", "--hold-timeout"}, opts
    for flag, ns in (("--cooldown", par.cooldown_ns), ("--entry-timeout", par.entry_timeout_ns),
                     ("--hold-timeout", par.hold_timeout_ns)):
        assert abs(parse_duration(given[flag]) - ns / DEFAULT_SPEED) <= 1_000_000, (flag, given[flag])
    assert paced_options(1.0) == [] and paced_options(0.0) == []
    line = run_line("okx", ["ETHUSDT"], 4321, "/tmp/k.env", DEFAULT_SPEED)
    assert line.endswith(" ".join(opts)) and "ETH-USDT-SWAP" in line, line
    assert "--cooldown" not in run_line("okx", ["ETHUSDT"], 4321, "/tmp/k.env", 0.0)
