"""The ``lag`` study: the synthetic market's planted price impact is found at lags 0 to +3 s with the
first price tick after a liquidation in the forced direction; a hand-made market whose liquidations
are reported 3 s late (the price moves first) is found to lag price by 0-5 s; the null market (no
impact) shows nothing beyond chance."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.synthetic.market import synthetic_market
from liqcore.research.studies import STUDIES, Panel, run_study
from liqcore.types import Kind

SYMS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def _market(preset=None, days=3, seed=11):
    return synthetic_market(days=days, symbols=SYMS, seed=seed, preset=preset)


@pytest.fixture(scope="module")
def default():
    m = _market()
    return m, run_study("lag", Panel(m.events, m.registry))


def test_planted_impact_found_after_not_before(default):
    _, r = default
    h = r.headline
    assert "lag" in STUDIES
    assert h["same_lo"] > 0.1 and h["after_lo"] > 0.1  # impact: price follows the liquidations
    assert h["peak_lag_s"] in (0, 1)
    assert not h["lag_0_5s_supported"]  # the generator's price does not move first
    prof = r.tables["lead_lag"].set_index("lag_s")
    assert (prof.loc[0:2, "lo95"] > 0).all()
    assert h["forced_first_lo"] > 0.6 and h["delay_hi_s"] < h["opposite_delay_lo_s"]
    assert any(f.startswith("Liquidation-to-price-tick delay") and " s [95%" in f and "reacts" in f for f in r.findings)
    assert any(f.startswith('"Liquidations lag price by 0-5 s": not supported') for f in r.findings)


@pytest.mark.parametrize("seed", [11, 12])
def test_null_market_shows_nothing(seed):
    m = _market("null", seed=seed)
    r = run_study("lag", Panel(m.events, m.registry))
    h = r.headline
    prof = r.tables["lead_lag"]
    # 21 lags at 95 %: allow one chance exceedance; nothing large anywhere
    assert (prof["p"] < 0.05).sum() <= 2 and prof["corr"].abs().max() < 0.05
    assert h["forced_first_lo"] <= 0.5 <= h["forced_first_hi"] or abs(h["forced_first_share"] - 0.5) < 0.02
    assert not h["lag_0_5s_supported"]
    assert any("no price reaction beyond chance" in f for f in r.findings)


def test_liquidations_reported_late_lag_price(default):
    """Hand-made: the default market's liquidations shifted 3 s later, so the price moves first."""
    m, _ = default
    ev = m.events.copy()
    liq = ev["kind"] == Kind.LIQUIDATION
    ev["ts_event"][liq] += 3_000_000_000
    ev["ts_recv"][liq] += 3_000_000_000
    ev = ev[np.argsort(ev["ts_recv"], kind="stable")]
    r = run_study("lag", Panel(ev, m.registry))
    h = r.headline
    assert h["lag_0_5s_supported"]
    assert h["before_lo"] > 0.1 and h["before_corr"] > h["after_corr"]
    assert -5 <= h["peak_lag_s"] <= -2
    assert any(f.startswith('"Liquidations lag price by 0-5 s": supported') for f in r.findings)


def test_no_trades_is_unavailable(default):
    m, _ = default
    ev = m.events[m.events["kind"] != Kind.TRADE]
    r = run_study("lag", Panel(ev, m.registry))
    assert not r.available and "no trades" in r.reason
