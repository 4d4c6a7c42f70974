"""With no venue to connect to, `run` and `record` say on stderr, once per backoff step, that the feed
cannot connect, why, and when they try again; `record`'s ``\\r`` status line never runs into a warning.

Real fault: a closed port on 127.0.0.1 (every connect is refused); the REST URL points there too, so
nothing leaves the loopback."""
from __future__ import annotations

import io
import logging
import re
import subprocess
import sys

import orjson
import pytest

from liqcore.commands.record import StatusLine
from tests._live_helpers import closed_port

pytestmark = [pytest.mark.timeout(120), pytest.mark.integration]

NOTICE = re.compile(r"bybit feed cannot connect to (\S+): ConnectionRefusedError: .+ \(attempt (\d+)\); "
                    r"retrying in (\d+\.\d) s")


def _cli(*argv):
    return subprocess.run([sys.executable, "-m", "liqcore", *argv], capture_output=True, timeout=90)


def _attempts(err: str) -> int:
    m = re.search(r"never connected to \S+ \((\d+) attempts?", err)
    assert m, err[-2000:]
    return int(m.group(1))


def test_run_says_once_per_backoff_step_why_the_feed_cannot_connect(tmp_path):
    port = closed_port()
    url = f"ws://127.0.0.1:{port}/v5/public/linear"
    p = _cli("run", "--venue", "bybit", "--symbols", "ETHUSDT", "--ws-url", url, "--rest-url",
             f"http://127.0.0.1:{port}", "--duration", "3", "--no-dashboard")
    err = p.stderr.decode()
    assert p.returncode == 1, err[-2000:]
    msgs = [orjson.loads(ln)["msg"] for ln in err.splitlines() if ln.startswith("{")]
    notices = [m for m in (NOTICE.search(x) for x in msgs) if m]
    assert len(notices) >= 2, err[-2000:]
    assert all(m.group(1) == url for m in notices)
    assert [int(m.group(2)) for m in notices] == list(range(1, len(notices) + 1))  # one per attempt, in order
    # every failed attempt but one cut short by the end of the run was followed by its notice
    assert _attempts(err) in (len(notices), len(notices) + 1)


def test_run_with_its_log_in_a_file_still_says_it_on_stderr(tmp_path):
    port = closed_port()
    url = f"ws://127.0.0.1:{port}/v5/public/linear"
    log = tmp_path / "log.jsonl"
    p = _cli("run", "--venue", "bybit", "--symbols", "ETHUSDT", "--ws-url", url, "--rest-url",
             f"http://127.0.0.1:{port}", "--duration", "2", "--no-dashboard", "--log", str(log))
    err = p.stderr.decode()
    assert p.returncode == 1, err[-2000:]
    said = [ln for ln in err.splitlines() if ln.startswith("warning: bybit feed cannot connect to ")]
    assert len(said) >= 2 and all(NOTICE.search(ln) for ln in said), err[-2000:]
    logged = [orjson.loads(ln)["msg"] for ln in log.read_text().splitlines()]
    assert sum(bool(NOTICE.search(m)) for m in logged) == len(said)  # the same notices in the log file
    assert not any(ln.startswith("{") for ln in err.splitlines())  # the JSON lines went to the file


def test_record_status_line_never_runs_into_a_warning(tmp_path):
    url = f"ws://127.0.0.1:{closed_port()}/v5/public/linear"
    p = _cli("record", "--venue", "bybit", "--symbols", "ETHUSDT", "--ws-url", url, "--duration", "3.5",
             "--out", str(tmp_path / "rec"))
    err = p.stderr.decode()
    assert p.returncode == 1, err[-2000:]
    lines = err.split("\n")
    warn = [ln for ln in lines if "cannot connect" in ln]
    assert len(warn) >= 2, err
    for ln in warn:  # each warning a line of its own, from its start
        assert ln.startswith("warning: bybit feed cannot connect to ") and "\r" not in ln and "frames=" not in ln, repr(ln)
        assert NOTICE.search(ln)
    # stderr is no terminal here: the status is a line of its own (stamped), never a \r-rewritten one that a
    # log file would keep as one endless line
    assert "\r" not in err
    assert any(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ bybit: frames=\d+ gaps=", ln) for ln in lines), err[-2000:]
    assert lines[-2].startswith("liqcore record: error: ")  # the error, too, on a line of its own


def test_status_line_ends_itself_before_a_warning_and_only_then():
    buf = io.StringIO()
    log = logging.getLogger("liqcore.test_status_line")
    with StatusLine(buf, tty=True) as st:
        log.warning("first")  # nothing showing: no empty line before it
        st.show("x: frames=1")
        st.show("x: frames=2")
        log.warning("second")
        log.info("not shown")  # warnings only
        st.show("x: frames=3")
    assert buf.getvalue() == "warning: first\n\rx: frames=1\rx: frames=2\nwarning: second\n\rx: frames=3\n"
    assert st not in logging.getLogger("liqcore").handlers


def test_status_lines_to_a_file_are_whole_lines_at_most_one_a_minute():
    """stderr not a terminal (a log file): each status a line of its own with its UTC time, the first at
    once, then at most one per ``every_s`` (60 s by default); warnings still their own lines."""
    buf, now = io.StringIO(), [100.0]
    log = logging.getLogger("liqcore.test_status_line")
    with StatusLine(buf, clock=lambda: now[0]) as st:
        assert not st.tty  # (StringIO: no terminal)
        st.show("x: frames=1")
        now[0] += 59.0
        st.show("x: frames=2")  # within the minute: not written
        log.warning("w")
        now[0] += 1.0
        st.show("x: frames=3")
        now[0] += 1.0
        st.show("x: frames=4 NOT WRITTEN=5", urgent=True)  # lines being lost: said without the wait
    lines = buf.getvalue().split("\n")
    assert "\r" not in buf.getvalue() and lines[-1] == ""
    assert [re.sub(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", "", ln) for ln in lines[:-1]] == [
        "x: frames=1", "warning: w", "x: frames=3", "x: frames=4 NOT WRITTEN=5"]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ x: frames=1$", lines[0])



def test_record_and_preflight_show_no_credential_of_their_urls(tmp_path):
    """A ``--ws-url`` / ``--rest-url`` carrying ``user:password@`` and a token: the notices, the final error and
    the preflight's rows name the endpoint without them."""
    port = closed_port()
    ws = f"ws://feeduser:Wss3cretPw@127.0.0.1:{port}/v5/public/linear?token=T0kenValue77"
    p = _cli("record", "--venue", "bybit", "--symbols", "ETHUSDT", "--ws-url", ws, "--duration", "2.5",
             "--out", str(tmp_path / "rec"))
    err = p.stderr.decode()
    assert p.returncode == 1 and "cannot connect" in err, err[-2000:]
    assert not any(s in err for s in ("Wss3cretPw", "T0kenValue77", "feeduser")), err[-2000:]
    rest = f"http://restuser:Rests3cretPw@127.0.0.1:{port}"
    p = _cli("preflight", "--venue", "bybit", "--symbols", "ETHUSDT", "--ws-url", ws, "--rest-url", rest, "--json")
    out = p.stdout.decode() + p.stderr.decode()
    assert "127.0.0.1" in out, out[-2000:]
    assert not any(s in out for s in ("Wss3cretPw", "T0kenValue77", "Rests3cretPw", "restuser")), out[-3000:]
