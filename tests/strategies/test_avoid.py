"""The trading guide's "avoid" rules (weekends, scheduled news, exchange maintenance, leverage at most
10x), the same in the backtest and in the step-by-step core the live engine runs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from liqcore.backtest.core import StrategyCore
from liqcore.backtest.run import simulate_signals
from liqcore.config import Params
from liqcore.execution.avoid import Avoid, read_calendar
from liqcore.signals import ENTRY_MARKET, SKIP_AVOID, empty_signals
from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry

ROOT = Path(__file__).resolve().parents[2]
S, M, H = 1_000_000_000, 60_000_000_000, 3_600_000_000_000
FRI = 1_767_312_000 * S  # 2026-01-02T00:00Z, a Friday
REG = SymbolRegistry([("binance", "ETHUSDT")])


def _market():
    t = np.arange(FRI + 10 * H, FRI + 38 * H, M)  # a trade a minute, Friday 10:00 to Saturday 14:00
    ev = np.zeros(len(t), EVENT_DTYPE)
    ev["ts_event"] = ev["ts_recv"] = t
    ev["price"], ev["qty"], ev["side"] = 100.0, 1.0, int(Side.BUY)
    ev["kind"], ev["venue"] = int(Kind.TRADE), 2
    return ev


def _signals(times):
    sig = empty_signals(len(times))
    sig["ts_ns"] = times
    sig["ev_idx"] = [(x - (FRI + 10 * H)) // M for x in times]
    sig["symbol_id"], sig["entry"], sig["tag"] = 0, ENTRY_MARKET, np.arange(len(times))
    sig["take_profit"] = sig["stop_loss"] = 0.0
    sig["max_hold_ns"] = 10 * M
    return sig


FRIDAY_NOON, AFTER_NEWS, SATURDAY_NOON = FRI + 12 * H, FRI + 19 * H + 10 * M, FRI + 36 * H


def test_weekends_news_and_maintenance_are_avoided_in_backtest_and_live_core(tmp_path):
    news = tmp_path / "news.txt"
    news.write_text("# FOMC\n2026-01-02T19:00Z FOMC statement\n")
    maint = tmp_path / "maint.txt"
    maint.write_text("2026-01-02T14:00Z 2026-01-02T14:30Z bybit upgrade\n")
    sig = _signals([FRIDAY_NOON, FRI + 14 * H + 5 * M, AFTER_NEWS, FRI + 21 * H, SATURDAY_NOON])
    ev = _market()
    base = simulate_signals(ev, sig, REG, Params(strategy="flush-reversal-rule"), strategy="flush-reversal-rule")
    assert len(base.ledger) == 5  # nothing avoided by default
    p = Params.from_mapping({"strategy": "flush-reversal-rule", "avoid-weekends": "on", "news-calendar": str(news),
                             "maintenance-calendar": str(maint)})
    res = simulate_signals(ev, sig, REG, p, strategy="flush-reversal-rule")
    # traded: Friday noon, and two hours after the news (outside news-before 30m / news-after 1h)
    assert sorted(res.ledger["signal_ns"].tolist()) == [FRIDAY_NOON, FRI + 21 * H]
    assert res.skip_counts() == {"avoid": 3}
    # the live engine's core decides the same, signal by signal
    core = StrategyCore(p, ["binance:ETHUSDT"])
    got = []
    for g in sig:
        core.on_trade(0, int(g["ts_ns"]) - S, 100.0)
        got.append(core.on_signal(g)["action"])
        core.on_trade(0, int(g["ts_ns"]) + 11 * M, 100.0)
    assert got == ["order", "none", "none", "order", "none"]
    # the guide's cascades too: a confirmed cascade on a Saturday is not acted on
    assert core.on_cascade({"symbol_idx": 0, "ts_ns": SATURDAY_NOON + H, "dominant": 1})["reason"] == "avoid"
    gate = Avoid.from_params(p)
    assert gate.why(SATURDAY_NOON) == "weekend" and gate.why(AFTER_NEWS) == "news FOMC statement"
    assert gate.why(FRI + 14 * H + 5 * M) == "maintenance bybit upgrade" and gate.why(FRI + 14 * H + 30 * M) is None
    assert SKIP_AVOID == 3


def test_the_bundled_calendars_read_and_a_bad_line_is_one_clear_error(tmp_path):
    news = read_calendar(ROOT / "examples/calendars/news.txt", windows=False, name="news-calendar")
    assert len(news) >= 4 and any("FOMC" in lbl for _, _, lbl in news) and any("CPI" in lbl for _, _, lbl in news)
    maint = read_calendar(ROOT / "examples/calendars/maintenance.txt", windows=True, name="maintenance-calendar")
    assert maint and all(b > a for a, b, _ in maint)
    bad = tmp_path / "bad.txt"
    bad.write_text("2026-01-02T19:00Z FOMC\nnext tuesday CPI\n")
    with pytest.raises(ValueError, match=r"news-calendar: .*bad.txt line 2: cannot read 'next' as a UTC time"):
        Avoid.from_params(Params.from_mapping({"news-calendar": str(bad)}))
    with pytest.raises(ValueError, match="maintenance-calendar: .* does not exist|cannot read"):
        Avoid.from_params(Params.from_mapping({"maintenance-calendar": str(tmp_path / "missing.txt")}))


def test_leverage_is_capped_at_10x_by_default():
    assert Params().leverage == 10.0
    with pytest.raises(ValueError, match="leverage"):
        Params.from_mapping({"leverage": 11})
