"""The go-live checklist states each of the trading guide's targets beside the measured value with a
verdict (pass / fail / too early), judged on the session's own clock (the journal's note times: a replay's
30 hours count as 30 hours however fast they were replayed)."""
from __future__ import annotations

import sqlite3
import subprocess
import sys

from liqcore.live.journal import Journal
from liqcore.live.report import format_report, journal_report

H = 3_600_000_000_000
T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00Z


def _journal(path, hours: float, *, cascades: dict, entries: int, filled: int, trades: list, gaps=(), sends=()):
    j = Journal(path)
    j.note("session", {"strategy": "cascade-mm", "mode": "paper", "symbols": sorted(cascades)}, T0)
    for sym, n in cascades.items():
        for k in range(n):
            j.cascade({"record": "confirmed", "symbol": sym}, T0 + int((k + 0.5) * hours * H / max(n, 1)))
    for k, ms in enumerate(sends):
        j.note("sent", {"client_id": f"c{k}", "kind": "entry", "recv_ns": T0 + k * H // 10,
                        "sent_ns": T0 + k * H // 10 + int(ms * 1e6)}, T0 + k * H // 10, key=f"c{k}")
    for t, (side, reason, level, exit_price, pnl) in enumerate(trades):
        ts = T0 + int((t + 1) * hours * H / (len(trades) + 2))
        if level:
            j.note("trading_stop", {"symbol": "ETHUSDT", reason: level}, ts - 1000, key="ETHUSDT")
        j.note("trade", {"symbol": "ETHUSDT", "side": side, "exit_reason": reason, "exit_ns": ts,
                         "exit_price": exit_price, "pnl": pnl}, ts, key="ETHUSDT")
    for g in gaps:
        j.note("gap", {"reason": "test", "symbols": [0]}, T0 + int(g * H))
    j.note("shutdown", {}, T0 + int(hours * H))
    j.close()
    db = sqlite3.connect(path)
    db.executemany("INSERT INTO orders (client_id, symbol, kind, status, filled_qty) VALUES (?, 'ETHUSDT', 'entry', ?, ?)",
                   [(f"o{k}", "filled" if k < filled else "cancelled", 1.0 if k < filled else 0.0) for k in range(entries)])
    db.commit()
    db.close()


def _v(rep):
    return {t["target"]: t["verdict"] for t in rep["targets"]}


def test_a_30h_session_meets_every_target_but_a_slipped_stop(tmp_path):
    wins = [("long", "take_profit", 100.0, 100.0, 1.0)] * 17
    losses = [("short", "stop_loss", 100.0, 100.05, -1.0)] * 4  # 5 bps beyond the stop: within tolerance
    quality = [("short", "take_profit", 99.0, 98.99, 1.0), ("long", "stop_loss", 99.0, 98.8, -1.0)]  # 20 bps: fails
    trades = wins + losses + quality + [("long", "timeout", 0.0, 100.0, -1.0)] * 3  # 18 of 27 won: 66.7 %
    _journal(tmp_path / "a.sqlite", 30.0, cascades={"ETHUSDT": 8, "SOLUSDT": 7}, entries=25, filled=15,
             trades=trades, gaps=[2.0], sends=[120.0] * 25)
    rep = journal_report(tmp_path / "a.sqlite")
    v = _v(rep)
    assert v == {"cascades per day per symbol": "pass", "orders within 3 s of the decision": "pass",
                 "fill rate": "pass", "win rate": "pass", "feed up 24 h+": "pass", "TP/SL quality": "fail"}, rep["targets"]
    text = format_report(rep)
    assert "[pass] fill rate: 60.0% of 25 entries (target: 50%-80% of entries" in text
    assert "[fail] TP/SL quality:" in text and "worst stop-loss 20.20 bps" in text
    assert "[pass] feed up 24 h+: longest stretch 28.00 h of a 30.00 h session, 1 gap(s)" in text
    # the command prints the same checklist
    p = subprocess.run([sys.executable, "-m", "liqcore", "journal", str(tmp_path / "a.sqlite")], capture_output=True,
                       timeout=60)
    assert p.returncode == 0 and b"[fail] TP/SL quality" in p.stdout, p.stderr.decode()[-2000:]


def test_a_short_session_is_too_early_and_misses_fail(tmp_path):
    _journal(tmp_path / "b.sqlite", 2.0, cascades={"ETHUSDT": 1}, entries=3, filled=1,
             trades=[("long", "take_profit", 100.0, 100.0, 1.0)], sends=[500.0, 3500.0])
    v = _v(journal_report(tmp_path / "b.sqlite"))
    assert v == {"cascades per day per symbol": "too early", "orders within 3 s of the decision": "fail",
                 "fill rate": "too early", "win rate": "too early", "feed up 24 h+": "too early",
                 "TP/SL quality": "too early"}
    # a day and more, but the feed dropped every few hours; cascades far below 5/day
    _journal(tmp_path / "c.sqlite", 26.0, cascades={"ETHUSDT": 2}, entries=30, filled=6,
             trades=[("long", "timeout", 0.0, 100.0, -1.0)] * 20, gaps=[5.0, 10.0, 15.0, 20.0])
    v = _v(journal_report(tmp_path / "c.sqlite"))
    assert v["cascades per day per symbol"] == "fail" and v["fill rate"] == "fail" and v["win rate"] == "fail"
    assert v["feed up 24 h+"] == "fail" and v["orders within 3 s of the decision"] == "too early"
