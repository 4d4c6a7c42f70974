"""The go-live checklist report (`liqcore journal`, the dashboard) on a journal a session wrote against the
loopback fake exchange: cascades per day per symbol, fill rate, win rate, reaction time, the fee charged
beside the fee model, and the live fills beside the fill model on the session's recorded frames."""
from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time

import orjson
import pytest

from liqcore.live.engine import Engine
from liqcore.live.journal import Journal
from liqcore.live.recorder import Recorder
from liqcore.live.report import format_report, journal_report
from liqcore.venues.bybit.fake import FakeExchange
from liqcore.testing.fake_replay import liquidation_frame, trade_frame

from _live_helpers import BASELINE as BASE
from _live_helpers import PARAMS
from _live_helpers import wait_until as _wait

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def _utc(ns: int) -> str:
    """A ns stamp as the UTC time to the millisecond (numpy's reading of it)."""
    import numpy as np

    return str(np.datetime64(int(ns), "ns").astype("datetime64[ms]")).replace("T", " ")


def _session(tmp_path):
    """ETHUSDT: a cascade, its entry filled by the venue, closed at the take-profit (a win); SOLUSDT: a cascade
    whose entry never fills (cancelled at shutdown).  Journal and recording of the session in tmp_path."""

    async def main():
        from liqcore.venues.bybit.gateway import BybitGateway

        async with FakeExchange() as fx:
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url,
                              symbols=["ETHUSDT", "SOLUSDT"], retry_backoff=0.02, timeout=2.0)
            eng = Engine(PARAMS, symbols=["ETHUSDT", "SOLUSDT"], gateway=gw, journal=Journal(tmp_path / "j.sqlite"))
            eng.recorder = Recorder(tmp_path / "rec")
            await eng.start()
            t0 = int(time.time() * 1000) - 30_000
            now = time.time_ns() - 2_000_000

            def send(f, k=[0]):
                k[0] += 1
                return eng.on_frame("bybit", orjson.dumps(f), now + k[0])

            ds = []
            for sym, px, q in (("ETHUSDT", 3000.0, 1.0), ("SOLUSDT", 200.0, 15.0)):
                for i, b in enumerate(BASE):
                    ds += send(liquidation_frame(sym, px, b * q, "Buy", t0 + i * 1000))
                ds += send(trade_frame(sym, px, 1, "Sell", t0 + 20_000))
                ds += send(liquidation_frame(sym, px, 10 * q, "Buy", t0 + 21_000))
                ds += send(liquidation_frame(sym, px - 0.01, 12 * q, "Buy", t0 + 22_000))
            orders = {d.symbol: d for d in ds if d.action == "order"}
            assert set(orders) == {"ETHUSDT", "SOLUSDT"}
            await _wait(lambda: all(eng.books[s].entry_status == "new" for s in orders))
            await asyncio.sleep(0.1)  # past the order latency
            lim = orders["ETHUSDT"].price
            for px in (lim - 1.0, orders["ETHUSDT"].take_profit + 1.0):
                await fx.trade("ETHUSDT", px)
                eng.on_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", px, 1, "Sell", int(time.time() * 1000))),
                             time.time_ns())
                await asyncio.sleep(0.2)
            await _wait(lambda: eng.books["ETHUSDT"].trades == 1)
            await eng.shutdown(timeout=2)
            eng.journal.close()
            eng.recorder.close()
            return orders

    return asyncio.run(main())


def test_every_checklist_figure_from_a_session_against_the_fake_exchange(tmp_path):
    orders = _session(tmp_path)
    rep = journal_report(tmp_path / "j.sqlite", recording=[str(tmp_path / "rec")])
    assert rep["session"]["strategy"] == "cascade-mm" and rep["session"]["mode"] == "live"
    # cascades per day per symbol
    c = rep["cascades"]
    assert c["total"] == 2 and {s: sum(v.values()) for s, v in c["per_day"].items()} == {"ETHUSDT": 1, "SOLUSDT": 1}
    assert c["mean_per_day"]["ETHUSDT"] == pytest.approx(1.0)  # one day at most
    # fill rate: one of two entries filled; the other cancelled at shutdown
    assert rep["fill_rate"] == {"entries": 2, "filled": 1, "working": 0, "rate": 0.5}
    # win rate: the take-profit
    w = rep["win_rate"]
    assert w["trades"] == 1 and w["wins"] == 1 and w["rate"] == 1.0 and w["pnl"] > 0
    # reaction: decision (receive time) to the create request written and to the venue's acknowledgement
    r = rep["reaction_ms"]
    assert r["send"]["n"] == 2 and 0 <= r["send"]["p50"] <= r["send"]["p99"] < 2_000
    assert r["ack"]["n"] == 2 and r["ack"]["p50"] >= r["send"]["p50"] - 1.0
    # fees: the venue charged 2 bps maker on the entry and the limit take-profit; the model says the same
    f = rep["fees"]
    assert f["maker"]["fills"] == 2 and f["maker"]["bps"] == pytest.approx(2.0, rel=1e-6)
    assert f["maker"]["model_bps"] == 2.0 and f["taker"]["fills"] == 0 and f["taker"]["bps"] is None
    # live fills beside the fill model on the recorded frames: the ETH entry in both, at the same price
    m = rep["model"]
    assert m["matched"] == 1 and m["live_only"] == 0 and m["model_only"] == 0
    row = m["fills"][0]
    assert row["symbol"] == "ETHUSDT" and row["live_price"] == pytest.approx(orders["ETHUSDT"].price)
    assert row["model_price"] == pytest.approx(orders["ETHUSDT"].price) and row["diff_bps"] == pytest.approx(0.0)
    text = format_report(rep)
    assert "fill rate: 50.0%" in text and "win rate: 100.0%" in text and "1 matched" in text
    # a venue session: the sends are the creates written to the venue; times as UTC times, not ns stamps
    assert rep["reaction_send_to"] == "the venue" and "(n=2; decision -> order sent to the venue)" in text
    assert f"ETHUSDT decided {_utc(row['decision_ns'])} UTC: live" in text and not re.search(r"\d{16,}", text)
    (within,) = [t for t in rep["targets"] if t["target"] == "orders within 3 s of the decision"]
    assert within["measured"].startswith("2 of 2 within 3 s") and within["verdict"] == "pass"
    # a journal whose send rows are gone (an older version's): its 2 entries are not "no order sent"
    import shutil
    import sqlite3

    shutil.copy(tmp_path / "j.sqlite", tmp_path / "nosend.sqlite")
    with sqlite3.connect(tmp_path / "nosend.sqlite") as db:
        db.execute("DELETE FROM log WHERE type='sent'")
    rep2 = journal_report(tmp_path / "nosend.sqlite")
    (within,) = [t for t in rep2["targets"] if t["target"] == "orders within 3 s of the decision"]
    assert within["measured"] == "2 entries journaled, no send time recorded" and within["verdict"] == "too early"
    assert "no order sent" not in format_report(rep2)
    # the command: same figures as JSON; a file that is not a journal is one line, exit 1
    p = subprocess.run([sys.executable, "-m", "liqcore", "journal", str(tmp_path / "j.sqlite"), "--json",
                        "--recording", str(tmp_path / "rec")], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    assert json.loads(p.stdout)["fill_rate"]["rate"] == 0.5
    (tmp_path / "x.sqlite").write_bytes(b"not a database at all" * 10)
    p = subprocess.run([sys.executable, "-m", "liqcore", "journal", str(tmp_path / "x.sqlite")], capture_output=True,
                       timeout=60)
    assert p.returncode == 1 and b"not a liqcore journal" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = subprocess.run([sys.executable, "-m", "liqcore", "journal", str(tmp_path / "missing.sqlite")],
                       capture_output=True, timeout=60)
    assert p.returncode == 2 and b"does not exist" in p.stderr


def test_dashboard_checklist_panel_from_the_engine(tmp_path):
    """The same figures live, in the engine's snapshot and the dashboard's panel (paper session)."""
    from rich.console import Console

    from liqcore.live.dashboard import render

    eng = Engine(PARAMS.replace(take_profit=0.005, stop_loss=0.005, offset=0.005), symbols=["ETHUSDT"])
    t0 = 1_763_683_200_000

    def send(f, ms):
        return eng.on_frame("bybit", orjson.dumps(f), ms * 1_000_000 + 5_000_000)

    for i, b in enumerate(BASE):
        send(liquidation_frame("ETHUSDT", 3000.0, b, "Buy", t0 + i * 1000), t0 + i * 1000)
    send(trade_frame("ETHUSDT", 2000.0, 1, "Sell", t0 + 20_000), t0 + 20_000)
    send(liquidation_frame("ETHUSDT", 3000, 10, "Buy", t0 + 21_000), t0 + 21_000)
    ds = send(liquidation_frame("ETHUSDT", 3000, 12, "Buy", t0 + 21_500), t0 + 21_500)
    assert [d.action for d in ds] == ["order"]
    send(trade_frame("ETHUSDT", 1980.0, 1, "Sell", t0 + 22_000), t0 + 22_000)  # fills at 1990 (maker)
    send(trade_frame("ETHUSDT", 2010.0, 1, "Sell", t0 + 23_000), t0 + 23_000)  # through the TP at 1999.95
    ck = eng.snapshot()["checklist"]
    assert ck["cascades_per_day"] == {"ETHUSDT": pytest.approx(1.0)}
    assert ck["fill_rate"] == 1.0 and ck["entries"] == 1 and ck["filled"] == 1
    assert ck["win_rate"] == 1.0 and ck["trades"] == 1
    assert ck["reaction_ms"]["n"] == 1 and ck["reaction_ms"]["p50"] == 0.0
    # (each paper fill pays the rate on its own notional: exactly the model's 2 bps)
    assert ck["fees"]["maker"]["fills"] == 2 and ck["fees"]["maker"]["bps"] == pytest.approx(2.0, rel=1e-9)
    assert ck["fees"]["maker"]["model_bps"] == 2.0
    con = Console(width=160, record=True)
    con.print(render(eng.snapshot()))
    out = con.export_text()
    assert "go-live checklist" in out and "fill rate" in out and "100.0% (1 of 1)" in out and "ETHUSDT 1.0" in out


def test_run_record_then_journal_report_on_a_paper_replay(tmp_path):
    """`run --replay … --journal J --record DIR`, then `journal J --recording DIR`: the paper session's fills
    are the fill model's on its own recorded frames, fill by fill."""
    from tests.live.test_live_hardening import REPLAY_FLAGS, replay_recording

    files = replay_recording(tmp_path / "src")
    run = subprocess.run([sys.executable, "-m", "liqcore", "run", "--symbols", "ETHUSDT", "--replay", str(files[0].parent),
                          "--speed", "0", "--duration", "60", "--no-dashboard", "--json", "--journal",
                          str(tmp_path / "j.sqlite"), "--record", str(tmp_path / "rec"), "--exits", "engine",
                          *REPLAY_FLAGS], capture_output=True, timeout=90)
    assert run.returncode == 0, run.stderr.decode()[-3000:]
    # a run that ended cleanly leaves its journal alone: no -wal, -shm or .intents beside it
    assert sorted(f.name for f in tmp_path.glob("j.sqlite*")) == ["j.sqlite"]
    s = json.loads(run.stdout)
    p = subprocess.run([sys.executable, "-m", "liqcore", "journal", str(tmp_path / "j.sqlite"), "--json",
                        "--recording", str(tmp_path / "rec")], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    assert sorted(f.name for f in tmp_path.glob("j.sqlite*")) == ["j.sqlite"]  # nor does reading it
    rep = json.loads(p.stdout)
    assert rep["session"]["exits"] == "engine" and rep["session"]["mode"] == "paper"
    assert rep["win_rate"]["trades"] == len(s["trades"]) == 7
    assert rep["fill_rate"]["filled"] == 7 and rep["fill_rate"]["entries"] == 8
    m = rep["model"]
    assert m["matched"] == 7 and m["live_only"] == 0 and m["model_only"] == 0 and m["model_trades"] == 7
    assert all(r["diff_bps"] == pytest.approx(0.0, abs=1e-9) and r["live_ns"] == r["model_ns"] for r in m["fills"])
    assert sum(rep["cascades"]["per_day"]["ETHUSDT"].values()) == s["cascades"]
    # the paper session sent its 8 entries (to the in-process paper venue): the report says so, never "no
    # order sent" nor an empty reaction time
    assert rep["orders_journaled"] == 8 and rep["reaction_ms"]["send"]["n"] == 8
    assert rep["reaction_send_to"] == "the in-process paper venue"
    (within,) = [t for t in rep["targets"] if t["target"] == "orders within 3 s of the decision"]
    assert within["measured"].startswith("8 of 8 within 3 s") and within["verdict"] == "pass"
    # the journal counts the run's gaps, no more: the run's own clean stop is not one
    (up,) = [t for t in rep["targets"] if t["target"] == "feed up 24 h+"]
    assert s["gaps"] == 0 and up["measured"].endswith(", 0 gap(s)"), (s["gaps"], up["measured"])
    p = subprocess.run([sys.executable, "-m", "liqcore", "journal", str(tmp_path / "j.sqlite"), "--recording",
                        str(tmp_path / "rec"), "--explain"], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    text = p.stdout.decode()
    assert "reaction (send): p50" in text and "n=8; decision -> order sent to the in-process paper venue" in text
    assert "no order sent" not in text and "reaction (send): -" not in text
    # times as UTC times, never raw nanosecond stamps
    assert not re.search(r"\d{16,}", text), re.search(r".{40}\d{16,}.{10}", text)
    for r in m["fills"]:
        assert f"ETHUSDT decided {_utc(r['decision_ns'])} UTC: live" in text
    # the live queue column of an entry the venue filled never reads "not filled"; without a top of book in the
    # recording the size ahead is unknown, and the row says so
    rows = [line for line in text.splitlines() if "│ ETHUSDT │" in line]
    filled = [line for line in rows if re.search(r"│ both +│ filled +│", line)]
    assert len(filled) == 7 and all("ahead unknown; venue filled" in line for line in filled)
    assert not any("? ahead" in line or "-> not filled" in line for line in rows)
    assert ("the venue filled 7; 8 with the size ahead unknown when they rested (no top of book seen with their "
            "price the best)") in text


def test_the_explain_queue_cell_says_what_the_rule_and_the_venue_did():
    from liqcore.live.explain import _queue_cell

    q = {"ahead_at_rest": 2.5, "fill_chance_at_rest": 0.4, "model_fill_delay_ms": None, "venue_filled": True}
    assert _queue_cell(q) == "2.5 ahead, 40% -> rule not filled; venue filled"
    assert _queue_cell({**q, "model_fill_delay_ms": 120.0, "venue_filled": False}) == \
        "2.5 ahead, 40% -> rule filled +120 ms; venue not filled"
    assert _queue_cell({**q, "ahead_at_rest": None, "fill_chance_at_rest": None}) == "ahead unknown; venue filled"
    assert _queue_cell({**q, "book": "depth"}) == "2.5 ahead (depth), 40% -> rule not filled; venue filled"


def test_the_journal_keeps_which_book_the_estimate_read_and_adds_the_column_to_an_older_journal(tmp_path):
    import sqlite3

    from liqcore.live.journal import Journal

    path = tmp_path / "old.sqlite"  # a journal written before --book depth: queue_estimates without `book`
    j = Journal(path)
    j.close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE queue_estimates")
    db.execute("CREATE TABLE queue_estimates (client_id TEXT PRIMARY KEY, symbol TEXT, side TEXT, price REAL, "
               "rested_ns INTEGER, ahead_at_rest REAL, level_at_rest REAL, fill_chance_at_rest REAL, ahead_last REAL, "
               "model_fill_ns INTEGER, end_ns INTEGER, outcome TEXT, queue_model TEXT)")
    db.execute("INSERT INTO queue_estimates (client_id, symbol) VALUES ('old-1', 'ETHUSDT')")
    db.commit()
    db.close()
    j = Journal(path)
    j.queue_estimate({"client_id": "new-1", "symbol": "ETHUSDT", "side": "buy", "price": 2997.0, "book": "depth"})
    j.flush()
    rows = dict(j.db.execute("SELECT client_id, book FROM queue_estimates").fetchall())
    j.close()
    assert rows == {"old-1": None, "new-1": "depth"}


def test_run_refuses_a_bad_strategy_or_exits_before_starting(tmp_path):
    for argv, msg in ((["--strategy", "no-such-strategy"], b"unknown strategy"),
                      (["--exits", "sideways"], b"exits: expected 'venue' or 'engine'")):
        p = subprocess.run([sys.executable, "-m", "liqcore", "run", "--symbols", "ETHUSDT", "--no-dashboard",
                            "--duration", "1", *argv], capture_output=True, timeout=60)
        assert p.returncode == 2 and msg in p.stderr and len(p.stderr.strip().splitlines()) == 1
