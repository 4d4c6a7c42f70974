"""The ``ic`` study's regime-dependent IC (quiet / volatile) and the gradient-boosting baseline's
permutation feature importance: tables, intervals and findings; on the null market no regime
difference survives the correction; on the reversion market the planted imbalance IC is found in
the volatile regime (where the cascades sit) and the imbalance ranks first in importance."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.synthetic.market import synthetic_market
from liqcore.research.studies import Panel, run_study

NAMES = ("liquidations.liq_imbalance@15m,liquidations.liq_imbalance@5m,liquidations.liq_imbalance@15m:zscore,"
         "flow.ofi@5m,price.realized_vol@1h,price.return@5m,liquidations.liq_rate@1m:zscore")


@pytest.mark.slow
def test_null_market_regime_ic_and_importance():
    m = synthetic_market(days=3, symbols=("BTCUSDT", "ETHUSDT"), seed=11, preset="null")
    r = run_study("ic", Panel(m.events, m.registry), names=NAMES)
    rt = r.tables["regime_ic"]
    assert set(rt.horizon) == {"5m", "15m", "1h", "4h"} and len(rt) == 7 * 4
    assert (rt.n_quiet > 100).all() and (rt.n_volatile > 100).all()
    assert ((rt.quiet_ci_low <= rt.ic_quiet) & (rt.ic_quiet <= rt.quiet_ci_high)).all()
    assert r.headline["regime_differences_bonferroni"] == 0
    imp = r.tables["gbm_importance"]
    assert set(imp.feature) == set(NAMES.split(",")) and (imp.folds >= 2).all()
    assert (imp.groupby("horizon")["rank"].min() == 1).all()
    assert r.headline["importance_significant"] <= 2  # 28 intervals at 95 %: chance allows one or two
    assert any(f.startswith("Regime-dependent IC") and "Bonferroni" in f for f in r.findings)
    assert any(f.startswith("Gradient-boosting feature importance") and "[" in f for f in r.findings)


def _frame(n_hours=200, seed=0, planted=True):
    """Hand-made: two features; in the volatile rows the return follows feature ``a`` (when planted),
    in the quiet rows it is noise."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = n_hours * 12
    t = np.arange(n, dtype=np.int64) * 5 * 60 * 10**9
    regime = np.where((t // (3600 * 10**9)) % 2 == 0, "quiet", "volatile").astype(object)
    a, b = rng.normal(size=n), rng.normal(size=n)
    fr = pd.DataFrame({"symbol": "X", "t": t, "a": a, "b": b, "regime": regime})
    for lab in ("5m", "15m", "1h", "4h"):
        y = rng.normal(size=n)
        if planted:
            y = np.where(regime == "volatile", 0.5 * a + y, y)
        fr[f"fwd_{lab}"] = y
    return fr


@pytest.mark.parametrize("planted", [True, False])
def test_regime_ic_on_a_hand_made_frame(planted):
    from liqcore.research.studies.ic import _regime_ic

    fr = _frame(planted=planted)
    X = {c: fr[c].to_numpy() for c in ("a", "b")}
    tab = _regime_ic(fr, ["a", "b"], X, fr["symbol"].to_numpy(), ["X"], fr["t"].to_numpy(), 200)
    ra = tab[tab.feature == "a"]
    rb = tab[tab.feature == "b"]
    if planted:
        assert (ra.volatile_ci_low > 0.3).all() and (ra.diff_ci_low > 0.2).all() and (ra.diff_p < 1e-3).all()
        assert (ra.quiet_ci_low < 0).all() and (ra.quiet_ci_high > 0).all()
    else:
        assert (ra.diff_p > 0.001).all()
    assert (rb.diff_p > 0.001).all()  # the unrelated feature: no regime difference


def test_permutation_importance_finds_the_informative_feature():
    from liqcore.research.studies.ic import _fit_models, _importance_summary, _permutation_importance

    rng = np.random.default_rng(1)
    rows = []
    for fold in range(1, 5):
        X = rng.normal(size=(3000, 3))
        y = np.tanh(X[:, 0]) + 0.5 * rng.normal(size=3000)  # only the first column matters
        fitted: dict = {}
        list(_fit_models(X[:2000], y[:2000], X[2000:], fitted))
        rows += _permutation_importance(fitted, X[2000:], y[2000:], ["a", "b", "c"], "15m", fold)
    imp = _importance_summary(rows).set_index("feature")
    assert imp.loc["a", "rank"] == 1 and imp.loc["a", "ci_low"] > 0.2
    assert imp.loc["b", "ci_low"] < 0.02 and imp.loc["c", "ci_low"] < 0.02


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_cols=st.integers(1, 12), missing=st.sampled_from([0.0, 0.05, 0.5]),
       constant=st.booleans())
def test_the_permuted_predictions_are_the_stacked_copies_predict_bit_for_bit(seed, n_cols, missing, constant):
    """The importance's per-tree path (each tree's values on the test rows computed once, the trees that split
    on the shuffled column evaluated again) gives exactly ``predict`` of the stacked shuffled copies, and so
    does its fallback (the stacked copies given to ``predict``): missing values, a constant column, one or
    many columns."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    from liqcore.research.studies.ic import permuted_predictions

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(700, n_cols))
    X[rng.random(X.shape) < missing] = np.nan
    if constant:
        X[:, -1] = 3.0
    y = np.nan_to_num(X[:, 0]) + 0.5 * rng.normal(size=len(X))
    gbm = HistGradientBoostingRegressor(max_iter=20, max_leaf_nodes=7, min_samples_leaf=20,
                                        early_stopping=False, random_state=0).fit(X[:500], y[:500])
    Xt = X[500:]
    blocks = [(j, Xt[rng.permutation(len(Xt)), j]) for j in range(n_cols) for _r in range(2)]
    stack = np.tile(Xt, (len(blocks), 1))
    for b, (j, col) in enumerate(blocks):
        stack[b * len(Xt):(b + 1) * len(Xt), j] = col
    want = gbm.predict(stack)
    whole = gbm.predict

    def refuse(Z):
        assert len(Z) == len(Xt), "the per-tree path was not taken: the stacked copies went to predict"
        return whole(Z)

    gbm.predict = refuse  # (this scikit-learn's fitted model is read tree by tree: the fast path is taken)
    assert np.array_equal(permuted_predictions(gbm, Xt, blocks), want)
    del gbm.predict

    class Public:  # the model seen through its public interface alone: the fallback
        n_trees_per_iteration_ = 1

        def predict(self, Z):
            return gbm.predict(Z)

    assert np.array_equal(permuted_predictions(Public(), Xt, blocks), want)


def test_importance_na_without_models():
    m = synthetic_market(days=3, symbols=("BTCUSDT",), seed=11, preset="null")
    r = run_study("ic", Panel(m.events, m.registry), names=NAMES, models=False)
    assert "gbm_importance" not in r.tables
    assert any(f.startswith("Gradient-boosting feature importance: n/a") for f in r.findings)


@pytest.mark.slow
def test_reversion_market_regime_ic_and_importance():
    five = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT")
    m = synthetic_market(days=10, symbols=five, seed=11, preset="reversion", overrides={"hl_med": 900.0},
                         effects={"positioning": 0.0})
    r = run_study("ic", Panel(m.events, m.registry), names=NAMES)
    rt = r.tables["regime_ic"].set_index(["feature", "horizon"])
    row = rt.loc[("liquidations.liq_imbalance@15m", "15m")]
    assert row.volatile_ci_high < 0  # longs flushed -> the price comes back: negative, in the volatile hours
    imp = r.tables["gbm_importance"]
    top = imp[(imp.horizon.isin(["15m", "1h"])) & (imp["rank"] == 1)]
    assert top.feature.str.startswith("liquidations.liq_imbalance@").all()
    assert np.isfinite(imp.importance).all()
