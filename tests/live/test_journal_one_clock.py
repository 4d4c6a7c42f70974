"""One clock per journal: a live session on a replayed market (the local venue's, whose frames carry event
times months before the wall clock) journals every row on its receive clock, an ``ended`` cascade's row
included (its ``emit_ns``, the market's event time, stays in the row's data); and the go-live report of a short
session whose older journal mixed the two clocks judges it a short session, never a long one."""
from __future__ import annotations

import time

import orjson

from liqcore.live.engine import Engine
from liqcore.live.journal import Journal
from liqcore.live.report import format_report, journal_report

from _live_helpers import PARAMS, cascade_frames

MARKET_T0_MS = 1_767_582_000_000  # 2026-01-05: the replayed market's time, months before the run


def test_an_ended_cascade_is_journaled_on_the_receive_clock_not_the_markets(tmp_path):
    j = Journal(tmp_path / "j.sqlite")
    eng = Engine(PARAMS, symbols=["ETHUSDT"], journal=j)
    start = time.time_ns()
    j.note("session", {"strategy": "cascade-mm", "mode": "paper", "symbols": ["ETHUSDT"]}, start)
    for f in cascade_frames(t0_ms=MARKET_T0_MS):
        eng.on_frame("bybit", f, time.time_ns())  # received now: the wall clock
    # ten minutes of wall time with no event: the cascade expires (the detector on the market's time, moved on)
    eng.on_clock(time.time_ns() + 600_000_000_000)
    end = time.time_ns() + 600_000_000_000
    j.note("shutdown", {}, end)
    rows = j.history("cascade")
    j.close()
    kinds = [orjson.loads(r["data"])["record"] if isinstance(r["data"], str) else r["data"]["record"] for r in rows]
    assert kinds == ["confirmed", "ended"], kinds
    for r in rows:
        assert start <= int(r["ts_ns"]) <= end, (r["ts_ns"], start, end)
    ended = rows[1]["data"] if not isinstance(rows[1]["data"], str) else orjson.loads(rows[1]["data"])
    assert ended["emit_ns"] < start - 86_400_000_000_000  # the market's own time kept in the row's data
    rep = journal_report(tmp_path / "j.sqlite")
    assert rep["cascades"]["hours"] < 1.0 and rep["cascades"]["off_clock"] == 0, rep["cascades"]


def _mixed_journal(path, session_s: float) -> None:
    """A journal as an earlier version wrote a 60 s session against the local venue: the ``ended`` cascade rows
    on the replayed market's time, every other row on the wall clock."""
    now = time.time_ns()
    j = Journal(path)
    j.note("session", {"strategy": "cascade-mm", "mode": "live", "symbols": ["ETH-USDT-SWAP"]}, now)
    for k in range(3):
        t = now + (k + 1) * 10_000_000_000
        j.cascade({"record": "confirmed", "symbol": "ETH-USDT-SWAP"}, t)
        j.decision({"symbol": "ETH-USDT-SWAP", "action": "none"}, t)
        j.cascade({"record": "ended", "symbol": "ETH-USDT-SWAP"}, MARKET_T0_MS * 1_000_000 + k * 3_600_000_000_000)
    j.note("shutdown", {}, now + int(session_s * 1e9))
    j.close()


def test_a_short_session_with_rows_on_another_clock_is_judged_short(tmp_path):
    _mixed_journal(tmp_path / "m.sqlite", 60.0)
    rep = journal_report(tmp_path / "m.sqlite")
    c = rep["cascades"]
    assert abs(c["hours"] - 60.0 / 3600) < 1e-9 and c["days"] == 1.0 and c["off_clock"] == 3, c
    v = {t["target"]: t["verdict"] for t in rep["targets"]}
    assert v["cascades per day per symbol"] == "too early" and v["feed up 24 h+"] == "too early", v
    assert "pass" not in (v["cascades per day per symbol"], v["feed up 24 h+"])
    text = format_report(rep)
    assert "in a session of 0.02 h" in text and "3 journal rows lie more than 1 h outside" in text, text
