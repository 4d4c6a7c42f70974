"""The journal's other readers on damaged rows: ``liqcore journal --web`` (liqcore.live.web_journal) and
``liqcore journal --recording DIR --explain`` (liqcore.live.explain) read the journal through the same rows as the
report (liqcore.live.journal_rows), so a row that cannot be read -- a decision that is a JSON list, an intent that
is not JSON, a fill of garbage, a cascade whose symbol is a list, a position that is a list -- is left out and
counted, and the output says how many of which table and type, never a traceback (each was one: an AttributeError,
a JSONDecodeError, a TypeError of an unhashable key).  What is left is exactly the view and the explanation of the
journal without those rows.  A directory or a file that is no journal is one line naming it, exit non-zero."""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import orjson
import pytest

from liqcore.cli import main
from liqcore.live.journal import Journal
from liqcore.live.recorder import Recorder
from liqcore.live.report import journal_report
from liqcore.live.web_journal import journal_view

from _live_helpers import cascade_rows

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_767_571_200_000_000_000  # 2026-01-05 00:00 UTC
S = 1_000_000_000
MS = 1_000_000
D = T0 + 22 * S + MS  # the entry's decision: the receive time of the cascade's confirming liquidation

#: the damage: rows added to a good journal, each of a kind that failed a reader before
DAMAGE = [
    "INSERT INTO log (ts_ns, type, key, data) VALUES (%d, 'decision', 'ETHUSDT', '[1,2]')" % (D + MS),
    "INSERT INTO log (ts_ns, type, key, data) VALUES (%d, 'intent', 'c9', '{not json')" % (D + MS),
    "INSERT INTO log (ts_ns, type, key, data) VALUES (%d, 'cascade', 'ETHUSDT', "
    "'{\"record\":\"confirmed\",\"symbol\":[1],\"cascade_id\":1}')" % (D + MS),
    "INSERT INTO fills (exec_id, client_id, symbol, data, ts_ns) VALUES ('e9', 'c9', 'ETHUSDT', 'garbage', %d)"
    % (D + 3 * S),
    "INSERT INTO positions (symbol, data, updated_ns) VALUES ('SOLUSDT', '[1]', %d)" % (D + 3 * S),
]
#: what the report and the explanation leave out (they read no positions) ...
LEFT_OUT = [{"table": "fills", "type": None, "rows": 1}, {"table": "log", "type": "cascade", "rows": 1},
            {"table": "log", "type": "decision", "rows": 1}, {"table": "log", "type": "intent", "rows": 1}]
#: ... and the web view (it shows the open positions)
VIEW_LEFT_OUT = LEFT_OUT + [{"table": "positions", "type": None, "rows": 1}]
LINE = "4 journal rows that could not be read (fills: 1, log type cascade: 1, log type decision: 1, log type intent: 1)"
VIEW_LINE = ("5 journal rows that could not be read (fills: 1, log type cascade: 1, log type decision: 1, "
             "log type intent: 1, positions: 1)")


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> dict:
    """A paper session on ETHUSDT: a cascade, its entry filled at 2995.5 and closed at the take-profit, and its
    recorded frames; the same journal with :data:`DAMAGE` done to it."""
    d = tmp_path_factory.mktemp("journal")
    frames = cascade_rows("ETHUSDT", t0_ms=T0 // MS)
    rec = Recorder(d / "rec")
    for f in frames:
        rec.write_frame("bybit", orjson.dumps(f), f["ts"] * MS + MS)
    rec.close()
    good = d / "good.sqlite"
    j = Journal(good, checkpoint_thread=False)
    j.note("session", {"strategy": "cascade-mm", "mode": "paper", "exits": "engine", "venue": "bybit",
                       "symbols": ["bybit:ETHUSDT"], "maker_fee_bps": 2.0, "taker_fee_bps": 5.5, "equity": 10_000.0,
                       "params": {"min_history": 5, "history": 50}, "explicit": ["min_history", "history"]}, T0)
    j.cascade({"record": "confirmed", "symbol": "ETHUSDT", "cascade_id": 0, "dominant": "long", "threshold": 1440.0,
               "n_large": 2}, D)
    j.decision({"symbol": "ETHUSDT", "cascade_id": 0, "action": "order", "side": "buy", "qty": 0.5, "price": 2995.5,
                "ref_price": 3000.0, "ts_ns": D, "client_id": "c0"}, D)
    j.note("intent", {"client_id": "c0", "symbol": "ETHUSDT", "side": "buy", "kind": "entry", "price": 2995.5,
                      "qty": 0.5, "decision_ns": D}, D, key="c0")
    j.order_update({"client_id": "c0", "symbol": "ETHUSDT", "kind": "entry", "side": "buy", "status": "filled",
                    "price": 2995.5, "qty": 0.5, "filled_qty": 0.5}, D + S)
    for exec_id, kind, side, px, t in (("e0", "entry", "buy", 2995.5, D + 2 * S),
                                       ("x0", "tp", "sell", 3010.0, D + 5 * S)):
        j.fill({"exec_id": exec_id, "client_id": "c0", "symbol": "ETHUSDT", "kind": kind, "side": side, "price": px,
                "qty": 0.5, "fee": 0.3, "is_maker": True, "ts_ns": t}, t)
    j.position("ETHUSDT", {"side": "long", "qty": 0.5, "entry_price": 2995.5}, D + 2 * S)
    j.note("trade", {"symbol": "ETHUSDT", "side": "long", "pnl": 6.65, "exit_reason": "take_profit",
                     "exit_ns": D + 5 * S, "exit_price": 3010.0, "signal_ns": D}, D + 5 * S, key="ETHUSDT")
    j.equity(10_006.65, D + 5 * S, "ETHUSDT take_profit")
    j.note("shutdown", {}, T0 + 60 * S)
    j.flush()
    j.close()
    damaged = d / "damaged.sqlite"
    shutil.copy(good, damaged)
    db = sqlite3.connect(damaged)
    for sql in DAMAGE:
        db.execute(sql)
    db.commit()
    db.close()
    return {"good": good, "damaged": damaged, "rec": d / "rec", "dir": d}


def _without(x: dict, *keys: str) -> dict:
    return {k: v for k, v in x.items() if k not in keys}


def test_the_web_view_leaves_the_damaged_rows_out_and_says_how_many(session):
    good, view = journal_view(session["good"]), journal_view(session["damaged"])
    assert good["left_out"] == [] and "journal" not in good["snapshot"]["alarms"]
    assert view["left_out"] == VIEW_LEFT_OUT
    # the page shows it (the alarms line of the header) and the rest is the good journal's view, row for row
    assert view["snapshot"]["alarms"]["journal"].startswith(VIEW_LINE), view["snapshot"]["alarms"]
    assert _without(view, "left_out", "snapshot") == _without(good, "left_out", "snapshot")
    assert _without(view["snapshot"], "alarms") == _without(good["snapshot"], "alarms")
    snap = view["snapshot"]
    assert (snap["cascades"], snap["orders"], snap["fills"]) == (1, 1, 2), snap
    assert [(f["symbol"], f["price"]) for f in view["history"]["fills"]] == [("ETHUSDT", 2995.5), ("ETHUSDT", 3010.0)]
    assert [s["symbol"] for s in snap["signals"]] == ["ETHUSDT"]
    assert [p["symbol"] for p in snap["positions"]] == ["ETHUSDT"]
    assert [c["action"] for c in view["history"]["cascades"]["ETHUSDT"]] == ["order"]


def _lines(stream, q: queue.Queue) -> None:
    for line in iter(stream.readline, b""):
        q.put(line.decode(errors="replace"))
    q.put(None)


def test_journal_web_serves_the_view_and_warns_of_the_rows_left_out(session):
    """The command: the view served on 127.0.0.1 (a port the system picks), every wait bounded."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "liqcore", "journal", str(session["damaged"]), "--web",
                             "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    q: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stderr, q), daemon=True).start()
    err = []
    try:
        while not err or "web dashboard:" not in err[-1]:
            line = q.get(timeout=60)
            assert line is not None, f"exit {proc.wait(timeout=10)}: {''.join(err)}"
            err.append(line)
        url = err[-1].split("web dashboard:")[1].split()[0]
        with urllib.request.urlopen(url + "api/view", timeout=30) as r:
            view = json.loads(r.read())
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, "".join(err)
    assert view["left_out"] == VIEW_LEFT_OUT and view["snapshot"]["alarms"]["journal"].startswith(VIEW_LINE)
    assert view["snapshot"]["cascades"] == 1 and view["snapshot"]["fills"] == 2
    warn = [x for x in err if "warning:" in x]
    assert len(warn) == 1 and VIEW_LINE in warn[0] and str(session["damaged"]) in warn[0], err
    assert not any("Traceback" in x for x in err), err


def test_explain_leaves_the_damaged_rows_out_and_says_how_many(session, capsys):
    rec = [str(session["rec"])]
    good = journal_report(session["good"], recording=rec, explain=True)
    rep = journal_report(session["damaged"], recording=rec, explain=True)
    assert good["left_out"] == [] and good["explain"]["left_out"] == []
    assert rep["left_out"] == LEFT_OUT and rep["explain"]["left_out"] == LEFT_OUT
    # the live entry of the session lined up as in the good journal; nothing of the damaged rows in it
    assert _without(rep["explain"], "left_out") == _without(good["explain"], "left_out")
    (row,) = [r for r in rep["explain"]["orders"] if r["live_status"] != "no order"]
    assert row["symbol"] == "ETHUSDT" and row["decision_ns"] == D and row["live_price"] == 2995.5
    assert rep["model"] == good["model"] and rep["win_rate"] == good["win_rate"]

    argv = ["journal", str(session["damaged"]), "--recording", *rec, "--explain"]
    assert main(argv) == 0
    out = capsys.readouterr()
    assert f"left out: {LINE}" in out.out and "live vs backtest, order by order" in out.out, out
    assert "pnl gap, live - backtest" in out.out and "Traceback" not in out.err
    assert main([*argv, "--json"]) == 0
    out = capsys.readouterr()
    got = json.loads(out.out)
    assert got["left_out"] == LEFT_OUT and got["explain"]["left_out"] == LEFT_OUT
    assert out.err.count("\n") == 1 and LINE in out.err and "warning:" in out.err, out.err


@pytest.mark.parametrize("how", ["web", "explain"])
def test_a_directory_or_a_file_that_is_no_journal_is_one_line(session, tmp_path, capsys, how):
    extra = ["--web", "127.0.0.1:0"] if how == "web" else ["--recording", str(session["rec"]), "--explain"]
    cut = tmp_path / "cut.sqlite"  # a journal cut short: its tables' pages missing
    data = session["good"].read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all\n" * 100)
    empty = tmp_path / "empty.sqlite"  # an SQLite file of no journal
    sqlite3.connect(empty).execute("CREATE TABLE t (x)").connection.close()
    for path in (tmp_path, cut, garbage, empty):
        code = main(["journal", str(path), *extra])
        err = capsys.readouterr().err
        assert code != 0 and len(err.strip().splitlines()) == 1 and str(path) in err, (path, code, err)
        assert err.startswith("liqcore journal: error: journal: ") and "Traceback" not in err, err
        if path == tmp_path:
            assert "is a directory, not a journal file" in err
        else:
            assert "damaged" in err or "not a liqcore journal" in err, err
