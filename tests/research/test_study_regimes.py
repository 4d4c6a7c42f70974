"""The ``regimes`` study (two-state hidden-Markov model of volatility, hmmlearn): on the market with
the planted liquidation -> volatility link the volatile state holds more liquidations; on the null
market (liquidations move no price) it does not, beyond chance."""
from __future__ import annotations

import pytest

from liqcore.synthetic.market import synthetic_market
from liqcore.research.studies import STUDIES, Panel, run_study

SYMS = ("BTCUSDT", "ETHUSDT")


def _run(preset, seed=11, days=3):
    m = synthetic_market(days=days, symbols=SYMS, seed=seed, preset=preset)
    return run_study("regimes", Panel(m.events, m.registry))


def test_planted_volatility_link_found_in_the_volatile_state():
    assert "regimes" in STUDIES
    r = _run("volatility")
    h = r.headline
    assert h["delta_bic"] < -50  # two regimes fit better than one
    assert h["vol_ratio_lo"] > 1.5
    assert h["liq_ratio_lo"] > 1.0  # liquidations come with the volatile regime
    t = r.tables["states"].set_index("state")
    assert abs(t.share.sum() - 1) < 1e-9 and (t.stay_probability > 0).all()
    assert t.loc["quiet", "expected_duration_min"] > t.loc["volatile", "expected_duration_min"]
    assert any("liquidations come with the volatile regime" in f for f in r.findings)


def test_the_shares_and_stays_say_where_they_come_from():
    """The decoded share comes with the decoded path's run lengths (they imply it), and the chain's stays with
    the long-run share they imply: each figure beside the ones it follows from, and the finding says why the
    two shares differ."""
    r = _run("volatility")
    h = r.headline
    t = r.tables["states"].set_index("state")
    dq, dv = h["quiet_duration_min"], h["volatile_duration_min"]
    assert h["volatile_share_chain"] == pytest.approx(dv / (dv + dq), rel=1e-9)
    rq, rv = h["quiet_run_min"], h["volatile_run_min"]
    assert rq == t.loc["quiet", "decoded_run_min"] and rv == t.loc["volatile", "decoded_run_min"]
    assert rq > 0 and rv > 0
    (line,) = [f for f in r.findings if f.startswith("Volatile state:")]
    assert f"{h['volatile_share']:.1%} of the 5-minute steps on the decoded (Viterbi) path" in line
    assert f"long-run share of {h['volatile_share_chain']:.1%}" in line and "not a draw from the chain" in line


def test_decoded_runs_split_at_a_state_or_symbol_change():
    import numpy as np

    from liqcore.research.studies.regimes import _decoded_runs

    state = np.array([0, 0, 1, 1, 1, 1, 0, 0, 0])
    sym = np.array(["A"] * 4 + ["B"] * 5)
    assert _decoded_runs(state, sym) == ([2, 3], [2, 2])
    assert _decoded_runs(state[:0], sym[:0]) == ([], [])


@pytest.mark.parametrize("seed", [11, 12])
def test_null_market_no_liquidation_regime_link(seed):
    r = _run("null", seed=seed)
    h = r.headline
    assert h["liq_ratio_lo"] <= 1.0 <= h["liq_ratio_hi"] or abs(h["liq_ratio"] - 1) < 0.1
    assert any("no more liquidations than the quiet one beyond chance" in f for f in r.findings)


def test_too_short_is_unavailable():
    m = synthetic_market(days=0.2, symbols=("ETHUSDT",), seed=3)
    r = run_study("regimes", Panel(m.events, m.registry))
    assert not r.available and "12 hours" in r.reason
