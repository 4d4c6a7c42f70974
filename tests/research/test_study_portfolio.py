"""The strategies study's portfolio of the plan's strategies (equal capital, rebalanced daily)."""
from __future__ import annotations

import numpy as np

from liqcore.backtest import metrics as M
from liqcore.synthetic.market import synthetic_market
from liqcore.research.studies import Panel, StudyResult, run_study
from liqcore.research.studies.strategies import _portfolio

DAY = 86_400_000_000_000


def test_hand_made_independent_strategies_diversify():
    rng = np.random.default_rng(0)
    a = 0.001 + 0.01 * rng.normal(size=400)  # two independent strategies with the same small edge
    b = 0.001 + 0.01 * rng.normal(size=400)
    res = StudyResult("strategies", "t")
    _portfolio(res, {"a": (100 * DAY, a), "b": (100 * DAY, b)}, M)
    p = res.tables["portfolio"].set_index("strategy")
    port = p.loc["portfolio (equal weight)"]
    assert port.days == 400
    np.testing.assert_allclose(port.sharpe, M.sharpe((a + b) / 2))
    assert port.sharpe > max(p.loc["a", "sharpe"], p.loc["b", "sharpe"])  # diversification
    assert abs(res.headline["portfolio_mean_corr"]) < 0.15
    assert port.sharpe_ci_low < port.sharpe < port.sharpe_ci_high
    # a strategy starting a day later is aligned on the calendar, zero before it starts
    res2 = StudyResult("strategies", "t")
    _portfolio(res2, {"a": (100 * DAY, a[:3]), "b": (101 * DAY, b[:3])}, M)
    assert res2.tables["portfolio"].iloc[-1].days == 4
    assert any(f.startswith("Portfolio of the 2 strategies") and "Sharpe" in f for f in res2.findings)


def test_one_strategy_is_na():
    res = StudyResult("strategies", "t")
    _portfolio(res, {"a": (0, np.zeros(3))}, M)
    assert "portfolio" not in res.tables and res.findings[0].startswith("Portfolio of the plan's strategies: n/a")


def test_strategies_study_reports_the_portfolio():
    m = synthetic_market(days=2, symbols=("BTCUSDT", "ETHUSDT"), seed=11)
    r = run_study("strategies", Panel(m.events, m.registry))
    p = r.tables["portfolio"]
    assert p.strategy.iloc[-1] == "portfolio (equal weight)" and len(p) == r.headline["strategies_run"] + 1
    assert set(r.tables["daily_corr"].strategy) == set(p.strategy.iloc[:-1])
    assert np.isfinite(r.headline["portfolio_total_return"])
