"""The live bot's safety against its surroundings: a local clock off the venue's (events judged against the
venue's clock, an alarm instead of silent blindness), another program truncating the mapped intent log (no
SIGBUS: the journal leaves the map and says so), two runs on one journal (the second refuses), and a
journal on a full disk or a path that is not a database (one line naming the cause)."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from liqcore.config import Params
from liqcore.live.engine import Engine
from liqcore.live.journal import Journal
from liqcore.live.runner import LiveRunner
from liqcore.venues.bybit.fake import FakeExchange
from liqcore.testing.fake_replay import liquidation_frame, trade_frame
from _session_env import child_env

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
BASE = (0.5, 0.1, 0.3, 0.2, 0.4)  # ETH qty at 3000: the threshold sits near 1500 quote
P = Params.from_mapping({"min-history": 5, "history": 50, "window": "3s", "refresh": "30d"})


def _env() -> dict:
    env = child_env()
    env["PYTHONPATH"] = str(ROOT)
    return env


def cascade_frames(venue_ms: int, symbol: str = "ETHUSDT") -> list[bytes]:
    """Frames stamped on the VENUE's clock (``venue_ms`` = its time now): baseline liquidations, a reference
    print, then two large liquidations 100 ms apart, which confirm a cascade."""
    t = venue_ms - 600
    out = [liquidation_frame(symbol, 3000, q, "Buy", t + i) for i, q in enumerate(BASE)]
    out.append(trade_frame(symbol, 3000.0, 1, "Sell", t + 300))
    out.append(liquidation_frame(symbol, 3000, 10, "Buy", t + 400))
    out.append(liquidation_frame(symbol, 3000, 12, "Buy", t + 500))
    return [orjson.dumps(f) for f in out]


# ------------------------------------------------------------------------------- venue clock (skew)
async def _live_against_offset_venue(offset_ms: int, jump_to_ms: int | None = None, probe: bool = True):
    """A live engine (BybitGateway) against the fake venue whose clock runs ``offset_ms`` ahead of this
    machine's; with ``jump_to_ms`` the venue's clock jumps after the engine started (with ``probe`` a probe
    liquidation is then sent first and the re-measure awaited, as a real feed would keep sending; without,
    the cascade's frames come right after the jump).  Returns (create requests, summary, metrics text)."""
    from liqcore.venues.bybit.gateway import BybitGateway

    async with FakeExchange(time_offset_ms=offset_ms) as fx:
        gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"])
        eng = Engine(P, symbols=["ETHUSDT"], gateway=gw)
        runner = LiveRunner(eng, "bybit", ["ETHUSDT"], ws_url=fx.public_ws_url, clock_interval_s=0.05)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop=stop))
        await runner.feed.wait_connected(30)  # (bounds that hold on a busy machine)
        await asyncio.sleep(0.2)
        if jump_to_ms is not None:
            fx.time_offset_ms = jump_to_ms
        if jump_to_ms is not None and probe:
            await fx.push(orjson.dumps(liquidation_frame("ETHUSDT", 3000, 0.3, "Buy", fx.now_ms())))
            t = time.monotonic()
            while abs(eng.venue_clock_offset_ns - jump_to_ms * 1_000_000) > 500_000_000 and time.monotonic() - t < 30:
                await asyncio.sleep(0.02)
        for f in cascade_frames(fx.now_ms()):
            await fx.push(f)
        t = time.monotonic()
        while not fx.requests_to("/v5/order/create") and time.monotonic() - t < 30:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        text = eng.metrics.render()
        stop.set()
        summary = await task
        return len(fx.requests_to("/v5/order/create")), summary, text


@pytest.mark.integration
def test_a_local_clock_9s_behind_the_venue_still_trades_and_raises_an_alarm(caplog):
    """Before: every event 9 s "from the future" to the 5 s rule, no cascade, no order, not a word.  Now the
    events are judged against the venue's clock the gateway measured for signing: the cascade places its
    order, and the offset beyond the limit is an alarm in the summary, the metrics and the log."""
    caplog.set_level(logging.WARNING, logger="liqcore.engine")
    n, summary, text = asyncio.run(_live_against_offset_venue(9000))
    assert n == 1 and summary["orders"] == 1 and summary["cascades"] == 1
    assert summary["decoder"].get("future_time", 0) == 0
    assert "behind the venue" in summary["alarms"]["clock_offset"]
    assert 'liqcore_alarm{alarm="clock_offset"} 1' in text
    assert any("ALARM clock_offset" in r.getMessage() for r in caplog.records)


@pytest.mark.integration
def test_a_venue_clock_jump_from_3s_to_9s_is_remeasured_and_the_next_cascade_trades(caplog):
    """The fake's clock jumps from +3 s to +9 s after the start (the field report): the first event stamped
    past the limit makes the engine measure the venue's clock again, and the cascade that follows trades."""
    caplog.set_level(logging.WARNING, logger="liqcore.engine")
    n, summary, text = asyncio.run(_live_against_offset_venue(3000, jump_to_ms=9000))
    assert n == 1 and summary["orders"] == 1
    # the probe, stamped past the bound before the re-measure, was held for it, then taken: nothing lost
    assert summary["decoder"]["future_time"] == 0 and summary["rejects"].get("future_time", 0) == 0
    assert "9.0 s behind" in summary["alarms"]["clock_offset"]
    assert 'liqcore_alarm{alarm="clock_offset"} 1' in text


@pytest.mark.integration
def test_a_venue_clock_jump_loses_no_event_a_cascade_right_after_it_places_its_order(caplog):
    """The independent fault run: the venue's clock jumps +3 s -> +9 s and a two-liquidation cascade comes
    right then, before anything else: its first liquidation (stamped past the bound until the clock is
    measured again) is held for the new measurement, not dropped, so the cascade confirms and places its
    order."""
    caplog.set_level(logging.WARNING, logger="liqcore.engine")
    n, summary, text = asyncio.run(_live_against_offset_venue(3000, jump_to_ms=9000, probe=False))
    assert n == 1 and summary["orders"] == 1 and summary["cascades"] == 1
    assert summary["decoder"]["future_time"] == 0 and summary["rejects"].get("future_time", 0) == 0
    assert "9.0 s behind" in summary["alarms"]["clock_offset"]


def test_events_from_the_future_that_go_on_are_an_alarm_not_silent_blindness(caplog):
    """Without a venue clock to judge by (paper trading), events that keep arriving stamped past the limit are
    still dropped, and after ``clock_alarm_after_s`` that is an alarm (snapshot, metrics, log); it clears once
    they stop."""
    caplog.set_level(logging.WARNING, logger="liqcore.engine")
    eng = Engine(P, symbols=["ETHUSDT"])
    t0 = time.time_ns()
    for k in range(4):  # one second apart, each stamped 9 s ahead of its receive time
        recv = t0 + k * 1_000_000_000
        eng.on_frame("bybit", orjson.dumps(liquidation_frame("ETHUSDT", 3000, 1, "Buy", recv // 1_000_000 + 9000)), recv)
        eng.on_clock(recv + 1)
    assert eng.decoder("bybit").counters["future_time"] == 4 and eng.cascades == 0
    snap = eng.snapshot()
    assert "future_events" in snap["alarms"] and "max-clock-skew 5 s" in snap["alarms"]["future_events"]
    assert eng.metrics.value("liqcore_alarm", alarm="future_events") == 1.0
    assert len([r for r in caplog.records if "ALARM future_events" in r.getMessage()]) == 1  # said once
    from rich.console import Console

    from liqcore.live.dashboard import render

    con = Console(record=True, width=300)
    con.print(render({**snap, "feeds": []}))
    assert "ALARM future_events: events stamped more than max-clock-skew 5 s" in con.export_text()
    eng.on_clock(t0 + 20 * 1_000_000_000)  # quiet since: cleared
    assert "future_events" not in eng.snapshot()["alarms"]
    assert eng.metrics.value("liqcore_alarm", alarm="future_events") == 0.0


def test_one_future_stamp_is_dropped_without_an_alarm():
    eng = Engine(P, symbols=["ETHUSDT"])
    t0 = time.time_ns()
    eng.on_frame("bybit", orjson.dumps(liquidation_frame("ETHUSDT", 3000, 1, "Buy", t0 // 1_000_000 + 3_600_000)), t0)
    for k in range(1, 5):
        eng.on_clock(t0 + k * 1_000_000_000)
    assert eng.decoder("bybit").counters["future_time"] == 1 and eng.snapshot()["alarms"] == {}


def test_events_held_across_a_clock_jump_are_judged_again_by_the_new_offset_or_after_the_hold():
    """A session whose venue clock can be measured again (here a paper session's source) holds events
    stamped past the bound: a new offset takes them (a cascade of two confirms), and without one they are
    judged after ``hold_s`` against the clock as it stands (rejected as future_time, not kept forever)."""
    async def source():  # (never awaited here: no loop runs the measurement; the test sets the offset)
        return None

    def engine():
        eng = Engine(P, symbols=["ETHUSDT"])
        eng.venue_clock = source
        eng.set_venue_clock_offset(3_000_000_000)  # +3 s
        return eng

    t0 = time.time_ns()
    ms = t0 // 1_000_000 + 9_000  # the venue's clock jumped to +9 s: 9 s ahead of the receive time
    eng = engine()
    for i, q in enumerate(BASE):  # the baseline, on the old clock
        eng.on_frame("bybit", orjson.dumps(liquidation_frame("ETHUSDT", 3000, q, "Buy", ms - 9_000 - 600 + i)), t0)
    for dt, q in ((0, 10), (100, 12)):  # the cascade, stamped on the jumped clock
        eng.on_frame("bybit", orjson.dumps(liquidation_frame("ETHUSDT", 3000, q, "Buy", ms + dt)), t0 + dt * 1_000_000)
    assert len(eng.venue_clock_guard.held) == 2 and eng.cascades == 0 and eng.rejects.get("future_time", 0) == 0
    eng.set_venue_clock_offset(9_000_000_000)  # measured again: the held events are judged by it
    assert eng.venue_clock_guard.held == [] and eng.cascades == 1 and eng.rejects.get("future_time", 0) == 0
    assert eng.decoder("bybit").counters["future_time"] == 0
    # no new measurement: after hold_s they are judged against the clock as it stands (+3 s): rejected
    eng = engine()
    eng.venue_clock_guard.hold_s = 0.2
    eng.on_frame("bybit", orjson.dumps(liquidation_frame("ETHUSDT", 3000, 10, "Buy", ms)), t0)
    assert len(eng.venue_clock_guard.held) == 1
    t = time.monotonic()
    while eng.venue_clock_guard.held and time.monotonic() - t < 30:
        eng.on_clock()
        time.sleep(0.02)
    assert eng.venue_clock_guard.held == [] and eng.rejects.get("future_time", 0) == 1 and eng.cascades == 0
    # an event past the bound by more than the hold margin is rejected at once, as before
    far = t0 // 1_000_000 + 3_000 + 5_000 + 61_000
    eng.on_frame("bybit", orjson.dumps(liquidation_frame("ETHUSDT", 3000, 10, "Buy", far)), t0)
    assert eng.venue_clock_guard.held == [] and eng.decoder("bybit").counters["future_time"] == 1


# ------------------------------------------------------------------------ intent log truncated (SIGBUS)
def _run_cmd(tmp_path: Path, journal: Path, *extra: str, duration: float = 6.0) -> list[str]:
    return [sys.executable, "-m", "liqcore", "run", "--symbols", "ETHUSDT", "--replay", "synthetic", "--speed", "1",
            "--duration", str(duration), "--journal", str(journal), "--no-dashboard", "--json", *extra]


def _wait_for(cond, timeout: float = 20.0) -> bool:
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        if cond():
            return True
        time.sleep(0.05)
    return False


def _running(p: subprocess.Popen, journal: Path) -> bool:
    """The run is up: its intent log is mapped (the file is as long as the map while the journal is open)."""
    ilog = Path(str(journal) + ".intents")
    return p.poll() is None and ilog.exists() and ilog.stat().st_size >= (1 << 20)


@pytest.mark.integration
def test_truncating_the_intent_log_of_a_running_paper_bot_does_not_kill_it(tmp_path):
    """`: > j.sqlite.intents` under a running `liqcore run --journal j.sqlite` (a real shell truncating the real
    file).  Before: the bot died of SIGBUS (exit 135 / -7), no message, no summary.  Now the truncating open
    waits on the bot's lease until the bot has left the map, the bot goes on with plain writes, says so (log
    and the summary's alarms) and ends normally; its journal is intact."""
    journal = tmp_path / "j.sqlite"
    p = subprocess.Popen(_run_cmd(tmp_path, journal), cwd=tmp_path, env=_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        assert _wait_for(lambda: _running(p, journal)), "the run did not start"
        time.sleep(0.5)
        t = time.monotonic()
        subprocess.run(["sh", "-c", f": > '{journal}.intents'"], check=True, timeout=60)
        waited = time.monotonic() - t
        assert os.path.getsize(f"{journal}.intents") == 0  # the truncation did happen
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    err = err.decode()
    assert p.returncode == 0, err[-3000:]
    # the lease is given up on the engine's next tick, not after the kernel's 45 s lease-break time (the bound
    # leaves a busy machine's scheduling room and still tells the two apart)
    assert waited < 30
    summary = json.loads(out)
    assert "intent log" in summary["alarms"]["intent_log"] and "plain writes" in summary["alarms"]["intent_log"]
    assert "plain writes" in err and "Traceback" not in err
    with Journal(journal) as j:  # a sound journal: the session is in it
        assert j.history("session")


def test_a_journal_without_lease_checks_the_file_on_the_quiet_tick_before_touching_it(tmp_path):
    """Embedding without a lease: the quiet tick's touch checks the file's size (one fstat) first, so a file
    truncated by another program is left, not stored into (which would be a SIGBUS), and intents go on."""
    from liqcore.venues.gateway import OrderIntent

    path = tmp_path / "e.sqlite"
    with Journal(path, batch_interval_s=3600) as j:
        def mk(cid):
            return OrderIntent(client_id=cid, symbol="ETHUSDT", side="buy", price=3000.0, qty=0.01)

        j.intent_rows(j.intent_ahead(mk("lc-T-1"), 1, seq=1))
        os.truncate(j._ilog_path, 0)  # another program
        j.touch_ahead()  # before: SIGBUS here
        assert "truncated it to 0 bytes" in j.intent_log_fallback and j.writes_ahead
        tok = j.intent_ahead(mk("lc-T-2"), 2, seq=2)
        j.intent_rows(tok)
        assert b"lc-T-2" in j._ilog_path.read_bytes()  # a plain write, at once
        assert j.order("lc-T-1")["status"] == "pending"  # committed when the map was left
    with Journal(path) as j:
        assert {r["key"] for r in j.history("intent")} == {"lc-T-1", "lc-T-2"}


def test_a_replaced_intent_log_is_noticed_on_the_clock_tick(tmp_path):
    """A file renamed over the log: lines written to the old (unlinked) file would be lost to a restart."""
    path = tmp_path / "r.sqlite"
    with Journal(path, batch_interval_s=3600) as j:
        (tmp_path / "other").write_bytes(b"")
        os.replace(tmp_path / "other", j._ilog_path)
        j.maybe_flush()  # (the engine's clock tick; the file is checked about once a second)
        assert "replaced it" in j.intent_log_fallback and j._ilog_mm is None


# ------------------------------------------------------------------------------ two runs, one journal
@pytest.mark.integration
@pytest.mark.timeout(600)  # the sum of the bounds below (each a bound, not the expected wait)
def test_a_second_run_on_the_same_journal_refuses_naming_the_journal_and_the_holder(tmp_path):
    """Before: both runs traded on one journal (the second only logged a warning).  Now the second exits 2
    at once with one line naming the journal and the first run's pid; with --read-only it runs beside it,
    sends nothing and writes nothing to the journal."""
    journal = tmp_path / "j.sqlite"
    first = subprocess.Popen(_run_cmd(tmp_path, journal, duration=3600), cwd=tmp_path, env=_env(),  # stopped by SIGINT below
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert _wait_for(lambda: _running(first, journal), timeout=120), "the first run did not start"
        # refused before anything started: a second run that got going would trade for its hour (--duration
        # 3600) and be stopped by the bound below; it ends at once instead, exit 2, having printed no summary.
        # (The proof is that, not a wall-time budget: an interpreter's start alone can take 10 s at load 8.)
        second = subprocess.run(_run_cmd(tmp_path, journal, duration=3600), cwd=tmp_path, env=_env(),
                                capture_output=True, timeout=120)
        err = second.stderr.decode().strip()
        assert second.returncode == 2 and err.count("\n") == 0, err
        assert str(journal) in err and f"process {first.pid}" in err and "Traceback" not in err
        assert second.stdout == b"" and "running:" not in err
        ro = subprocess.run(_run_cmd(tmp_path, journal, "--read-only", duration=6), cwd=tmp_path, env=_env(),
                            capture_output=True, timeout=120)
        assert ro.returncode == 0, ro.stderr.decode()[-2000:]
        assert json.loads(ro.stdout)["orders"] == 0
        assert first.poll() is None  # the holder was not disturbed
        first.send_signal(signal.SIGINT)
        out, err1 = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err1.decode()[-2000:]
    assert json.loads(out)["alarms"] == {}  # (the refused run never opened the holder's intent log)
    with Journal(journal) as j:  # one session journaled: the refused and the read-only runs wrote nothing
        assert len(j.history("session")) == 1


def test_exclusive_journal_in_process_names_this_pid(tmp_path):
    from liqcore.live.journal import JournalBusy

    path = tmp_path / "x.sqlite"
    with Journal(path):
        with pytest.raises(JournalBusy, match=f"process {os.getpid()}"):
            Journal(path, exclusive=True)


# ----------------------------------------------------------------------------- full disk, not a database
@pytest.fixture
def small_fs(tmp_path):
    """A 3 MiB tmpfs (root only); skipped with the reason where it cannot be mounted."""
    mnt = tmp_path / "fs"
    mnt.mkdir()
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"no small file system: mount failed ({exc})")
    if r.returncode != 0:
        pytest.skip(f"no small file system: cannot mount a tmpfs ({r.stderr.decode().strip() or r.returncode})")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=10)


def _fill(d: Path) -> None:
    with open(d / "filler", "wb", buffering=0) as fh:
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError:
            pass


def test_a_full_disk_commit_reports_its_cause_not_the_rollback(small_fs):
    """Before: "cannot rollback - no transaction is active" (SQLite had rolled back already).  Now: the cause,
    naming the journal."""
    j = Journal(small_fs / "j.sqlite", batch_interval_s=3600, checkpoint_thread=False, write_ahead="commit")
    _fill(small_fs)
    noted = 0
    with pytest.raises(sqlite3.OperationalError) as ei:
        for i in range(10_000):
            noted += 1
            j.note("blob", {"x": "y" * 4000, "i": i}, i)
        j.flush()
    msg = str(ei.value)
    assert "database or disk is full" in msg and "cannot rollback" not in msg and str(small_fs / "j.sqlite") in msg
    os.unlink(small_fs / "filler")
    j.flush()  # space again: the rows whose commit failed are committed now, none lost
    assert len(j.history("blob")) == noted
    j.close()


def test_run_on_a_full_disk_is_one_line(small_fs, tmp_path):
    _fill(small_fs)
    p = subprocess.run(_run_cmd(tmp_path, small_fs / "j.sqlite", duration=2), cwd=tmp_path, env=_env(),
                       capture_output=True, timeout=60)
    err = p.stderr.decode().strip()
    assert p.returncode != 0 and err.count("\n") == 0 and "Traceback" not in err, err
    assert str(small_fs / "j.sqlite") in err and ("disk is full" in err or "No space left" in err), err


def test_a_journal_path_that_is_not_a_database_is_one_line(tmp_path):
    bad = tmp_path / "notes.sqlite"
    bad.write_text("my notes, not a database\n" * 100)
    p = subprocess.run(_run_cmd(tmp_path, bad, duration=2), cwd=tmp_path, env=_env(), capture_output=True, timeout=60)
    err = p.stderr.decode().strip()
    assert p.returncode == 2 and err.count("\n") == 0 and "Traceback" not in err, err
    assert f"journal: {bad} is not a liqcore journal" in err
    assert bad.read_text().startswith("my notes")  # left as it was


@pytest.mark.integration
def test_a_disk_that_fills_under_a_running_journal_ends_the_run_in_one_line(small_fs, tmp_path):
    """The journal's disk fills while `liqcore run` trades: no stream of clock-tick tracebacks, at most one
    "entries halted" error in the log, and the run ends non-zero with one line naming the journal and the
    cause (before: a traceback ending in "cannot rollback - no transaction is active")."""
    journal, log_file = small_fs / "j.sqlite", tmp_path / "log.jsonl"
    p = subprocess.Popen([sys.executable, "-m", "liqcore", "run", "--symbols", "ETHUSDT,SOLUSDT,DOGEUSDT", "--replay",
                          "synthetic", "--replay-days", "1", "--speed", "3600", "--duration", "5", "--journal",
                          str(journal), "--no-dashboard", "--log", str(log_file)], cwd=tmp_path, env=_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert _wait_for(lambda: _running(p, journal)), "the run did not start"
        time.sleep(1.0)
        _fill(small_fs)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    err = err.decode().strip()
    assert p.returncode == 1 and err.count("\n") == 0 and "Traceback" not in err, err
    assert f"journal {journal}: database or disk is full" in err
    lines = [json.loads(x) for x in log_file.read_text().splitlines()]
    assert len([x for x in lines if x["msg"].startswith("new entries halted: journal")]) <= 1
    assert not [x for x in lines if "clock tick failed" in x["msg"]]


def test_a_journal_commit_failing_on_the_clock_tick_halts_entries_once_until_it_commits_again(small_fs, caplog):
    """The engine's clock tick commits the batched rows: on a full disk new entries halt (said once, counted,
    the journal alarm), the rows are kept, and once there is space again they are committed and entries
    resume."""
    caplog.set_level(logging.WARNING, logger="liqcore.engine")
    j = Journal(small_fs / "j.sqlite", batch_interval_s=0, checkpoint_thread=False, write_ahead="commit")
    eng = Engine(P, symbols=["ETHUSDT"], journal=j)
    _fill(small_fs)
    for i in range(100):
        j.note("blob", {"x": "y" * 4000, "i": i}, i)
    t0 = time.time_ns()
    for k in range(3):
        eng.on_clock(t0 + k * 100_000_000)
    assert eng.halted.startswith("journal failing") and "database or disk is full" in eng.halted
    assert "journal" in eng.snapshot()["alarms"] and eng.journal_errors == 3 and eng.halts == 1
    assert eng.metrics.value("liqcore_journal_errors_total") == 3
    assert len([r for r in caplog.records if r.getMessage().startswith("new entries halted")]) == 1
    os.unlink(small_fs / "filler")
    eng.on_clock(t0 + 10**9)
    assert not eng.halted and "journal" not in eng.snapshot()["alarms"] and len(j.history("blob")) == 100
    assert any("commits again" in r.getMessage() for r in caplog.records)
    j.close()


def test_a_file_size_limit_at_start_is_one_line_naming_the_intent_log(tmp_path):
    """RLIMIT_FSIZE (ulimit -f) in the child: the intent log's blocks cannot be reserved.  Before: a traceback
    ending in "OSError: [Errno 27] File too large"; now one line naming the file."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    p = subprocess.run(_run_cmd(tmp_path, tmp_path / "k.sqlite", duration=2), cwd=tmp_path, env=_env(),
                       capture_output=True, timeout=60, preexec_fn=limit)
    err = p.stderr.decode().strip()
    assert p.returncode == 1 and err.count("\n") == 0 and "Traceback" not in err, err
    assert f"{tmp_path / 'k.sqlite'}.intents: intent log: cannot reserve 2,097,152 bytes" in err


@pytest.mark.integration
def test_paper_trading_judges_events_by_the_venues_public_clock(caplog):
    """Paper trading (no venue gateway) on a venue whose clock runs 9 s ahead: the engine asks the venue's
    public time endpoint (as `liqcore run` does for Bybit) and the cascade is traded on paper."""
    import functools

    from liqcore.venues.bybit.gateway import public_clock_offset

    caplog.set_level(logging.WARNING, logger="liqcore.engine")

    async def main():
        async with FakeExchange(time_offset_ms=9000) as fx:
            eng = Engine(P, symbols=["ETHUSDT"])
            eng.venue_clock = functools.partial(public_clock_offset, fx.rest_url)
            runner = LiveRunner(eng, "bybit", ["ETHUSDT"], ws_url=fx.public_ws_url, clock_interval_s=0.05)
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run(stop=stop))
            await runner.feed.wait_connected(5)
            await asyncio.sleep(0.2)
            for f in cascade_frames(fx.now_ms()):
                await fx.push(f)
            t = time.monotonic()
            while not eng.orders and time.monotonic() - t < 5:
                await asyncio.sleep(0.02)
            stop.set()
            return await task

    summary = asyncio.run(main())
    assert summary["mode"] == "paper" and summary["orders"] == 1 and summary["decoder"].get("future_time", 0) == 0
    assert "9.0 s behind" in summary["alarms"]["clock_offset"]
