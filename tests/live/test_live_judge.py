"""liq-trend's judge in the live engine: asked off the event path, so a judge that takes 0.2 s per
signal does not stall the events; its answers become entries when they arrive, with its notes in the
decision (the journal's row, the dashboard's recent decisions)."""
from __future__ import annotations

import time

import orjson
import pytest
from _procs import Stopwatch

from liqcore.config import Params
from liqcore.live.engine import Engine
from liqcore.strategies.liq_trend import LiqTrend
from liqcore.testing.fake_replay import liquidation_frame, trade_frame

pytestmark = pytest.mark.timeout(60)

SYMS = ["ETHUSDT", "SOLUSDT", "DOGEUSDT"]
PX = {"ETHUSDT": 3000.0, "SOLUSDT": 150.0, "DOGEUSDT": 0.2}


def _frames(t0_ms: int):
    """Per symbol: five minutes of mixed liquidations, then a burst of long liquidations in the sixth
    while the price falls (a strong, aligned short at the close t0 + 6 min), then a trade revealing it."""
    out = []
    for m in range(5):
        for s in SYMS:
            p = PX[s]
            q = (100.0 if m % 2 == 0 else 200.0) / p
            out.append((t0_ms + m * 60_000 + 10_000, liquidation_frame(s, p, q / 2, "Buy", t0_ms + m * 60_000 + 10_000)))
            out.append((t0_ms + m * 60_000 + 20_000, liquidation_frame(s, p, q / 2, "Sell", t0_ms + m * 60_000 + 20_000)))
            out.append((t0_ms + m * 60_000 + 30_000, trade_frame(s, p, 1, "Sell", t0_ms + m * 60_000 + 30_000)))
    for s in SYMS:
        p = PX[s]
        out.append((t0_ms + 5 * 60_000 + 10_000, liquidation_frame(s, p, 1000.0 / p, "Buy", t0_ms + 5 * 60_000 + 10_000)))
        out.append((t0_ms + 5 * 60_000 + 50_000, trade_frame(s, p * 0.99, 1, "Sell", t0_ms + 5 * 60_000 + 50_000)))
    for s in SYMS:
        out.append((t0_ms + 6 * 60_000 + 1_000, trade_frame(s, PX[s] * 0.99, 1, "Sell", t0_ms + 6 * 60_000 + 1_000)))
    out.sort(key=lambda x: x[0])
    return out


def test_a_slow_judge_does_not_stall_the_event_path():
    asked = []

    def slow_judge(ctx):
        asked.append(ctx["symbol"])
        time.sleep(0.2)
        return None  # enter, at the matrix's confidence

    params = Params.from_mapping({"strategy": "liq-trend", "segment": "1m", "baseline": 5, "candle-lookback": "3m"})
    strat = LiqTrend(judge=slow_judge, judge_timeout=5.0)
    eng = Engine(params, symbols=SYMS, equity=10_000.0, strategy=strat)
    eng.warmup()  # (the kernels compiled or loaded before the clock starts)
    t0_ms = (time.time_ns() // 10**9 // 3600 - 2) * 3600 * 1000  # two hours ago, on the hour
    slowest, total, last = 0.0, 0.0, 0
    decisions = []
    try:
        for ts_ms, frame in _frames(t0_ms):
            watch = Stopwatch()  # (a frame's seconds less those this thread waited for a CPU: any load)
            decisions += eng.on_frame("bybit", orjson.dumps(frame), ts_ms * 1_000_000)
            took = watch.stop().unloaded
            slowest, total, last = max(slowest, took), total + took, ts_ms * 1_000_000
        # the close was revealed, the three signals are with the judge, and no event waited for it
        assert strat.runner.counts["asked"] == 3 and not [d for d in decisions if d.action == "order"]
        assert slowest < 0.1 and total < 0.3, (slowest, total)  # a synchronous judge: >= 3 x 0.2 s
        deadline = time.monotonic() + 10
        while strat.runner.pending and time.monotonic() < deadline:
            time.sleep(0.05)
            eng.on_clock(last + 1)
        orders = [d for d in eng.decisions if d.action == "order"]
        assert sorted(d.symbol for d in orders) == sorted(SYMS) and sorted(asked) == sorted(SYMS)
        assert all(d.dominant == "short" and d.ts_ns == last + 1 for d in orders)  # entered when answered
        assert all("function: enter" in d.notes and d.to_dict()["notes"] == d.notes for d in orders)
        assert strat.runner.counts == {"asked": 3, "entered": 3, "declined": 0, "late": 0, "failed": 0, "refused": 0}
        recent = eng.snapshot()["recent"]
        assert any("function: enter" in r["notes"] for r in recent)
        from rich.console import Console

        from liqcore.live.dashboard import render

        con = Console(record=True, width=200)
        con.print(render(eng.snapshot()))
        text = con.export_text()
        assert "judge" in text and "function: enter" in text
    finally:
        strat.runner.close()



def _replay_until_judged(eng, strat) -> None:
    """The scripted frames (two hours ago) through ``eng``, then its clock stepped until every question
    to the judge is answered or given up (10 s at most)."""
    t0_ms = (time.time_ns() // 10**9 // 3600 - 2) * 3600 * 1000
    last = 0
    for ts_ms, frame in _frames(t0_ms):
        eng.on_frame("bybit", orjson.dumps(frame), ts_ms * 1_000_000)
        last = ts_ms * 1_000_000
    deadline = time.monotonic() + 10
    while strat.runner.pending and time.monotonic() < deadline:
        time.sleep(0.05)
        eng.on_clock(last + 1)

def test_a_late_judge_means_dont_enter():
    def stuck(ctx):
        time.sleep(1.0)
        return None

    params = Params.from_mapping({"strategy": "liq-trend", "segment": "1m", "baseline": 5, "candle-lookback": "3m"})
    strat = LiqTrend(judge=stuck, judge_timeout=0.2)
    eng = Engine(params, symbols=SYMS, equity=10_000.0, strategy=strat)
    try:
        _replay_until_judged(eng, strat)
        assert strat.runner.counts["late"] == 3
        assert not [d for d in eng.decisions if d.action == "order"]
        assert all("no answer (late)" in d.notes for d in eng.decisions if d.notes)
    finally:
        strat.runner.close()


def test_the_three_live_panels_in_the_snapshot_and_on_the_dashboard():
    """The write-up's live view: account overview, position monitor and latest signals -- plain dicts
    in the engine's snapshot (JSON-able), drawn by the terminal dashboard."""
    from rich.console import Console

    from liqcore.live.dashboard import render

    params = Params.from_mapping({"strategy": "liq-trend", "segment": "1m", "baseline": 5, "candle-lookback": "3m"})
    strat = LiqTrend(judge=lambda ctx: None, judge_timeout=5.0)
    eng = Engine(params, symbols=SYMS, equity=10_000.0, strategy=strat)
    try:
        _replay_until_judged(eng, strat)
        snap = eng.snapshot()
        orjson.dumps(snap, option=orjson.OPT_SERIALIZE_NUMPY)  # plain data a web dashboard can serve
        acc = snap["account"]
        assert acc["balance"] == pytest.approx(eng.core.equity)
        assert set(acc["stops"]) >= {"stop_loss", "take_profit", "trail", "hold_timeout_s", "daily_loss"}
        assert acc["stops"]["stop_loss"] == pytest.approx(float(eng.params.stop_loss))
        assert acc["cumulative_pnl"] == pytest.approx(acc["realized_pnl"] + acc["unrealized_pnl"])
        sig = snap["signals"]
        assert sig and all(set(s) >= {"liquidation", "candle", "news", "decision", "action"} for s in sig)
        assert any(s["action"] == "order" for s in sig)
        pos = snap["positions"]
        assert acc["open_positions"] == len(pos)
        for p in pos:
            assert set(p) >= {"entry_price", "current_price", "pnl_pct", "max_profit_pct", "drawdown_pct", "stop_price"}
            assert p["max_profit_pct"] >= 0 and p["drawdown_pct"] >= -1e-9
        con = Console(record=True, width=240)
        con.print(render(snap))
        text = con.export_text()
        for head in ("account overview", "position monitor", "latest signals", "cumulative P&L", "max profit",
                     "drawdown", "stop price", "liquidation", "candle", "news"):
            assert head in text, head
        for p in pos:
            assert p["symbol"] in text
    finally:
        strat.runner.close()
