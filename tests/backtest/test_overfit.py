"""PBO (CSCV) and the deflated Sharpe ratio: hand-computed cases and known properties."""
import itertools
import math
from statistics import NormalDist

import numpy as np
import pytest

from liqcore.sweep.overfit import deflated_sharpe, expected_max_sharpe, pbo


def _mean(x, axis=0):
    return np.asarray(x).mean(axis=axis)


def test_pbo_hand_cases():
    # the in-sample winner is the out-of-sample loser in both splits: PBO 1, logits ln(1/2)
    r = pbo([[1.0, 0.0], [0.0, 1.0]], blocks=2, metric=_mean)
    assert r["combinations"] == 2 and r["pbo"] == 1.0
    assert np.allclose(r["logits"], [math.log(0.5), math.log(0.5)])
    # the winner stays the winner: PBO 0, logits ln 2
    r = pbo([[1.0, 0.0], [1.0, 0.0]], blocks=2, metric=_mean)
    assert r["pbo"] == 0.0 and np.allclose(r["logits"], [math.log(2.0)] * 2)


def test_pbo_four_blocks_three_configs_by_hand():
    M = np.array([[3.0, 1.0, 2.0],
                  [1.0, 3.0, 2.0],
                  [3.0, 2.0, 1.0],
                  [1.0, 2.0, 3.0]])
    r = pbo(M, blocks=4, metric=_mean)
    assert r["combinations"] == math.comb(4, 2) == 6
    # by hand: for each pair of rows as IS, best IS column by mean, its OOS rank among 3 (1 = worst)
    expected = []
    for js in itertools.combinations(range(4), 2):
        rest = [i for i in range(4) if i not in js]
        ism, osm = M[list(js)].mean(0), M[rest].mean(0)
        b = int(np.argmax(ism))
        rank = (osm < osm[b]).sum() + ((osm == osm[b]).sum() + 1) / 2
        w = rank / 4
        expected.append(math.log(w / (1 - w)))
    assert np.allclose(r["logits"], expected)
    assert r["pbo"] == pytest.approx(np.mean(np.array(expected) <= 0))


def test_pbo_noise_is_about_one_half():
    vals = [pbo(np.random.default_rng(s).normal(0, 0.01, (240, 30)), blocks=8)["pbo"] for s in range(6)]
    assert 0.3 < float(np.mean(vals)) < 0.7


def test_pbo_one_true_edge_is_low():
    rng = np.random.default_rng(3)
    M = rng.normal(0, 0.01, (240, 30))
    M[:, 11] += 0.01  # one configuration with a real edge (Sharpe ~1 per period)
    assert pbo(M, blocks=8)["pbo"] < 0.05


def test_pbo_undefined_when_every_configuration_is_the_same():
    r = pbo(np.tile(np.random.default_rng(0).normal(0, 1, (20, 1)), (1, 5)), blocks=4)
    assert r["pbo"] is None and r["combinations"] == 0


def test_pbo_rejects_bad_input():
    with pytest.raises(ValueError, match="even"):
        pbo(np.zeros((10, 3)), blocks=3)
    with pytest.raises(ValueError, match="2 configurations"):
        pbo(np.zeros((10, 1)), blocks=2)
    with pytest.raises(ValueError, match="blocks"):
        pbo(np.zeros((3, 3)), blocks=4)


def test_expected_max_sharpe_values():
    assert expected_max_sharpe(1, 1.0) == 0.0
    nd = NormalDist()
    g = 0.5772156649015329
    want = 0.2 * ((1 - g) * nd.inv_cdf(1 - 1 / 10) + g * nd.inv_cdf(1 - 1 / (10 * math.e)))
    assert expected_max_sharpe(10, 0.04) == pytest.approx(want)
    assert expected_max_sharpe(100, 1.0) == pytest.approx(2.5306, abs=1e-3)  # the usual table value


def test_deflated_sharpe_hand_case():
    r = np.array([0.02, -0.01, 0.03, 0.0, 0.01])
    # mean 0.01, sd (ddof 1) sqrt(0.00025): SR 0.632456; skew 0, kurtosis 1.7 (by hand)
    d = deflated_sharpe(r, n_trials=1, var_sharpe=0.0)
    assert d["sharpe"] == pytest.approx(0.632456, abs=1e-6)
    assert d["skew"] == pytest.approx(0.0, abs=1e-12)
    assert d["kurtosis"] == pytest.approx(1.7)
    z = 0.632456 * 2 / math.sqrt(1 + 0.7 / 4 * 0.632456 ** 2)
    assert d["dsr"] == pytest.approx(0.5 * (1 + math.erf(z / math.sqrt(2))), abs=1e-5)
    # more trials (same spread of Sharpe ratios) raise the bar: DSR falls
    d10 = deflated_sharpe(r, n_trials=10, var_sharpe=0.04)
    d1000 = deflated_sharpe(r, n_trials=1000, var_sharpe=0.04)
    assert d["dsr"] > d10["dsr"] > d1000["dsr"]
    assert d10["sr0"] == pytest.approx(expected_max_sharpe(10, 0.04))


def test_deflated_sharpe_undefined_without_spread():
    assert deflated_sharpe(np.zeros(10), 5, 0.1)["dsr"] is None
    assert deflated_sharpe([0.1, 0.2], 5, 0.1)["dsr"] is None


@pytest.mark.parametrize("value", [0.001, 1 / 3, 0.1, -0.007])
def test_a_constant_nonzero_series_has_no_spread(value):
    """np.std of a constant float series can be ~1e-19, not 0: its Sharpe was ~1e16 and its DSR 1.0."""
    from liqcore.backtest.metrics import sharpe, sharpe_ci
    from liqcore.sweep.overfit import period_sharpe

    x = np.full(10, value)
    assert sharpe(x) is None and sharpe_ci(x) == (None, None)
    d = deflated_sharpe(x, 5, 0.01)
    assert d["dsr"] is None and d["sharpe"] is None
    assert np.array_equal(period_sharpe(np.full((10, 3), value)), np.zeros(3))
    y = x.copy()
    y[3] += 1e-9  # a spread, however small, is a ratio
    assert sharpe(y) is not None and deflated_sharpe(y, 5, 0.01)["sharpe"] is not None
