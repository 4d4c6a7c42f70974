"""The ``distributions`` study (buy/sell split, liquidation-size histogram, cascade duration and size):
each planted in the synthetic market through its knob and recovered; a symmetric market shows no
side imbalance beyond chance."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore._jit.synth import PARAM_NAMES
from liqcore.synthetic.market import build_params, synthetic_market
from liqcore.research.studies import STUDIES, Panel, run_study

SYMS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def _run(symbols=SYMS, days=3, seed=11, overrides=None, effects=None):
    m = synthetic_market(days=days, symbols=symbols, seed=seed, overrides=overrides, effects=effects)
    return m, run_study("distributions", Panel(m.events, m.registry))


# a symmetric market: every liquidation side equally likely, no crowd-positioning regime
SYMMETRIC = {"p_long": 0.5, "bg_p_long": 0.5}
NO_REGIME = {"positioning": 0.0}


def test_registered_and_in_report():
    from liqcore.research import report

    assert "distributions" in STUDIES
    assert ("distributions", "distributions.png") in {(a, b) for a, b, _ in report._FIGURES}


@pytest.mark.parametrize("seed", [11, 12])
def test_symmetric_market_shows_no_side_imbalance(seed):
    _, r = _run(seed=seed, overrides=SYMMETRIC, effects=NO_REGIME)
    h = r.headline
    assert h["long_count_share_lo"] <= 0.5 <= h["long_count_share_hi"] or h["long_count_p"] > 0.01
    assert h["long_notional_p"] > 0.01
    assert any(f.startswith("Buy/sell split over") and "%" in f and "[95%" in f for f in r.findings)


def test_planted_long_share_recovered():
    _, r = _run(overrides={"p_long": 0.9, "bg_p_long": 0.9}, effects=NO_REGIME)
    h = r.headline
    assert h["long_count_share_lo"] > 0.8 and h["long_count_p"] < 1e-3
    assert h["long_notional_share_lo"] > 0.6
    t = r.tables["buy_sell"]
    assert (t.long_count_share > 0.8).all() and (t.long_n + t.short_n == t.n).all()
    # the opposite plant: shorts dominate
    _, r = _run(overrides={"p_long": 0.1, "bg_p_long": 0.1}, effects=NO_REGIME)
    assert r.headline["long_count_share_hi"] < 0.2


def test_size_histogram_and_planted_scale():
    base_scale = build_params("BTCUSDT", 3)[PARAM_NAMES.index("scale")]
    m, r = _run(symbols=("BTCUSDT",))
    _, r4 = _run(symbols=("BTCUSDT",), overrides={"scale": 4 * base_scale})
    hist = r.tables["size_histogram"]
    n = r.headline["liquidations"]
    assert hist["count"].sum() == n == len(m.events[m.events["kind"] == 1])
    assert (hist["long_count"] + hist["short_count"] == hist["count"]).all()
    assert np.allclose(hist["bin_high_notional"] / hist["bin_low_notional"], 10 ** 0.25)
    ratio = r4.headline["size_q50"] / r.headline["size_q50"]
    assert 3.2 < ratio < 4.8  # the planted 4x notional scale, recovered in the median
    assert r4.headline["size_q50_lo"] > r.headline["size_q50_hi"]
    assert any(f.startswith("Liquidation size") and "quote" in f for f in r.findings)


def test_cascade_duration_tracks_planted_episode_length():
    beta_c = build_params("BTCUSDT", 3)[PARAM_NAMES.index("beta_c")]
    m, r = _run(symbols=("BTCUSDT",))
    ml, rl = _run(symbols=("BTCUSDT",), overrides={"beta_c": beta_c / 3})  # episodes last ~3x longer
    h, hl = r.headline, rl.headline
    assert h["cascades"] >= 15 and hl["cascades"] >= 15
    assert hl["cascade_duration_q50_lo"] > h["cascade_duration_q50"]
    # the detector's median duration agrees with the generator's episodes (the ground truth)
    truth = np.median((m.truth["end_ns"] - m.truth["start_ns"]) / 1e9)
    assert h["cascade_duration_q50_lo"] <= truth <= h["cascade_duration_q50_hi"]
    assert any(f.startswith("Cascade duration") and " s " in f for f in r.findings)
    assert any(f.startswith("Cascade size") and "quote" in f for f in r.findings)


def test_no_cascade_says_na():
    from liqcore.types import CASCADE_DTYPE

    m = synthetic_market(days=0.2, symbols=("SOLUSDT",), seed=3)
    r = run_study("distributions", Panel(m.events, m.registry), records=np.zeros(0, CASCADE_DTYPE))
    assert r.headline["cascades"] == 0
    assert any("n/a — the detector ended no cascade" in f for f in r.findings)
    assert r.headline["liquidations"] > 0


def test_report_lists_distributions(tmp_path):
    from liqcore.research.report import run_all, write_report

    m = synthetic_market(days=1, symbols=("BTCUSDT",), seed=5)
    res = run_all(m.events, m.registry, only=["distributions", "lag"])
    write_report(res, tmp_path / "r")
    md = (tmp_path / "r" / "FINDINGS.md").read_text()
    assert "### size_histogram" in md and "### buy_sell" in md and "![" in md
    assert "bin_low_notional (quote)" in md and "long_count_share (%)" in md
    assert (tmp_path / "r" / "distributions.png").stat().st_size > 1000
    assert "### windows" in md and "### tick_delay" in md and "median_s (s)" in md
    assert (tmp_path / "r" / "liquidation_lag.png").stat().st_size > 1000
