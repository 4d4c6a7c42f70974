"""The volatility study's Bollinger-band baseline and quiet -> volatile transition detection: the
synthetic market's planted liquidation -> volatility link (``vol_liq``) is found beyond ATR AND
band width, and liquidations detect transitions better than chance; on the null market neither."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.synthetic.market import synthetic_market
from liqcore.research.studies import Panel, run_study

SYMS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def _run(preset, seed=11, days=4):
    m = synthetic_market(days=days, symbols=SYMS, seed=seed, preset=preset)
    return run_study("volatility", Panel(m.events, m.registry))


def test_planted_link_beyond_atr_and_bollinger_and_transitions_detected():
    r = _run("volatility")
    t = r.tables["volatility"]
    pooled = t[t.symbol == "ALL"].set_index("horizon")
    assert pooled.loc["15m", "partial_both_ci_low"] > 0 and pooled.loc["15m", "partial_both_p"] < 0.01
    assert pooled.loc["15m", "ic_bbw"] > 0 and np.isfinite(pooled["r2_bbw"]).all()
    assert r.headline["horizons_beyond_both"] >= 2
    tr = r.tables["transitions"].set_index("predictor")
    assert set(tr.index) == {"liq_rate", "z_liq_rate", "atr", "bbw"}
    assert tr.loc["liq_rate", "auc_ci_low"] > 0.5 and tr.loc["z_liq_rate", "auc_ci_low"] > 0.5
    assert tr.loc["liq_rate", "transitions"] >= 50
    assert any("Bollinger-band width" in f and "[" in f for f in r.findings)
    assert any(f.startswith("Regime transitions") and "ROC AUC" in f for f in r.findings)


@pytest.mark.parametrize("seed", [11, 12])
def test_null_market_no_link_no_detection(seed):
    r = _run("null", seed=seed)
    t = r.tables["volatility"]
    p0 = t[t.symbol == "ALL"]
    assert (p0.partial_both_p > 0.01 / 3).all()
    assert r.headline["horizons_beyond_both"] == 0
    tr = r.tables["transitions"].set_index("predictor")
    for k in ("liq_rate", "z_liq_rate"):
        assert tr.loc[k, "auc_ci_low"] <= 0.5 <= tr.loc[k, "auc_ci_high"] or abs(tr.loc[k, "auc"] - 0.5) < 0.03
    assert any("beyond ATR and Bollinger-band width together" in f for f in r.findings)


def test_transitions_na_when_too_short():
    m = synthetic_market(days=0.4, symbols=("ETHUSDT",), seed=3, preset="null")
    r = run_study("volatility", Panel(m.events, m.registry))
    assert r.available  # ~9 hours: the IC table, but too few quiet times for the transitions
    assert "transitions" not in r.tables
    assert any(f.startswith("Regime transitions (quiet -> volatile): n/a") for f in r.findings)
