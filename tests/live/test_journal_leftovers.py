"""A journal closed cleanly leaves only its database: the intent log goes when SQLite holds every intent in
it (kept when one is only there), and readers of the journal (the report, the web view, the latency
import) leave no ``-wal`` / ``-shm`` behind, while a writer still open keeps its own."""
from __future__ import annotations

import sqlite3

import pytest

from liqcore.execution.latency import journal_latencies
from liqcore.io.sqlite_reader import open_reader
from liqcore.venues.gateway import OrderIntent
from liqcore.live.journal import Journal
from liqcore.live.report import journal_report

T = 1_763_683_200 * 10**9


def _intent(cid):
    return OrderIntent(symbol="ETHUSDT", side="buy", qty=0.5, price=2496.25, client_id=cid)


def _beside(path):
    return sorted(p.name for p in path.parent.glob(path.name + "*"))


def test_a_clean_close_leaves_only_the_database(tmp_path):
    path = tmp_path / "s.sqlite"
    with Journal(path) as j:
        j.intent(_intent("lc-A-1"), T, seq=1)
        j.note("session", {"strategy": "cascade-mm"}, T)
        assert (tmp_path / "s.sqlite.intents").exists() and (tmp_path / "s.sqlite-wal").exists()
    assert _beside(path) == ["s.sqlite"]
    with Journal(path) as j:  # nothing lost: the intent is in SQLite
        assert j.replayed_intents == 0 and j.order("lc-A-1")["status"] == "pending"
    assert _beside(path) == ["s.sqlite"]


def test_an_intent_only_the_log_holds_keeps_the_log(tmp_path):
    path = tmp_path / "s.sqlite"
    with Journal(path, batch_interval_s=3600) as j:
        j.intent_ahead(_intent("lc-B-1"), T, seq=1)  # written ahead, its SQLite rows never queued
    assert "s.sqlite.intents" in _beside(path)
    with Journal(path) as j:
        assert j.replayed_intents == 1
    assert _beside(path) == ["s.sqlite"]  # replayed into SQLite, then closed cleanly


def test_readers_leave_no_wal_or_shm(tmp_path):
    path = tmp_path / "s.sqlite"
    with Journal(path) as j:
        j.note("session", {"strategy": "cascade-mm", "mode": "paper"}, T)
        j.intent(_intent("lc-C-1"), T, seq=1)
    assert _beside(path) == ["s.sqlite"]
    journal_report(path)
    assert _beside(path) == ["s.sqlite"]
    with pytest.raises(ValueError):
        journal_latencies(path)  # no latency measured in it: an error, and still nothing left behind
    assert _beside(path) == ["s.sqlite"]


def test_a_reader_writes_nothing_and_leaves_an_open_writers_files(tmp_path):
    path = tmp_path / "s.sqlite"
    with Journal(path) as j:
        j.note("session", {"strategy": "cascade-mm"}, T)
        j.flush()
        db = open_reader(path)
        with pytest.raises(sqlite3.OperationalError):
            db.execute("CREATE TABLE x (a)")
        assert db.execute("SELECT COUNT(*) FROM log").fetchone()[0] >= 1
        db.close()
        assert (tmp_path / "s.sqlite-wal").exists() and (tmp_path / "s.sqlite-shm").exists()  # the writer's
        j.note("later", {"n": 1}, T + 1)
        j.flush()
    assert _beside(path) == ["s.sqlite"]
