"""Contagion severity (volume ratio) and its quiet/volatile split: the planted BTC -> alt contagion
(``Effects.contagion``) shows alt liquidation volume far above usual after BTC cascades, in both
regimes; the null market shows no symbol above usual beyond chance."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.synthetic.market import synthetic_market
from liqcore.research.studies import Panel, run_study

SYMS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def _run(preset, seed=11):
    m = synthetic_market(days=4, symbols=SYMS, seed=seed, preset=preset)
    return run_study("contagion", Panel(m.events, m.registry))


def test_planted_contagion_severity():
    r = _run("contagion")
    t = r.tables["contagion"]
    assert (t.severity_lo > 5).all()  # far above usual
    assert (t.severity_volatile_lo > 1).all()
    assert np.isfinite(t.severity_quiet).all() and (t.severity_quiet_n >= 5).all()
    assert (t.severity_quiet_n + t.severity_volatile_n <= t.severity_n).all()
    assert r.headline["severity_above_1"] == len(t)
    assert any(f.startswith("Contagion severity") and "quiet" in f and "volatile" in f and "[95%" in f
               for f in r.findings)


@pytest.mark.parametrize("seed", [11, 12])
def test_null_no_severity_beyond_chance(seed):
    r = _run("null", seed)
    assert r.headline["severity_above_1"] == 0
    assert any("Above 1 beyond chance for 0/" in f for f in r.findings)
