"""The hourly binary's statistics in the standard library (the backtest is part of the lean core, without
scipy): the one- and two-sided exact binomial tests against the 50/50 prior and the Wilson interval, exact
on small cases and equal to scipy's ``binomtest`` / ``proportion_ci(method="wilson")`` where scipy is
installed."""
from __future__ import annotations

import math

import pytest

from liqcore.strategies.flush_reversal import coin_p_greater, coin_p_two_sided, wilson

pytestmark = pytest.mark.core


def test_exact_small_cases():
    assert coin_p_greater(3, 3) == 1 / 8 and coin_p_greater(0, 5) == 1.0
    assert coin_p_greater(2, 3) == 4 / 8  # 3 + 1 of 8 outcomes have 2 or more successes
    assert coin_p_two_sided(0, 2) == 0.5 and coin_p_two_sided(1, 2) == 1.0 and coin_p_two_sided(5, 5) == 2 / 32
    lo, hi = wilson(5, 10, 0.95)
    assert lo == pytest.approx(1 - hi) and lo < 0.5 < hi  # symmetric around one half at k = m / 2
    z = 1.959963984540054
    assert hi - lo == pytest.approx(2 * z * math.sqrt(4 * 10 * 0.25 + z * z) / (2 * (10 + z * z)))


def test_equal_to_scipy():
    stats = pytest.importorskip("scipy.stats")
    for m in (1, 2, 3, 7, 10, 51, 100, 400):
        for k in range(0, m + 1, max(1, m // 13)):
            b = stats.binomtest(k, m, 0.5)
            ci = b.proportion_ci(confidence_level=0.9, method="wilson")
            assert coin_p_greater(k, m) == pytest.approx(
                stats.binomtest(k, m, 0.5, alternative="greater").pvalue, rel=1e-12, abs=1e-15)
            assert coin_p_two_sided(k, m) == pytest.approx(b.pvalue, rel=1e-12, abs=1e-15)
            assert wilson(k, m, 0.9) == pytest.approx((ci.low, ci.high), rel=1e-12, abs=1e-15)
