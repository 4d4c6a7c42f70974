"""The studies' ranks (``_ranks``, under every Spearman correlation, the IC's within-symbol ranks and the
volatility study's AUC) are ``scipy.stats.rankdata``'s, value for value."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from liqcore.research.studies._common import _ranks


@settings(max_examples=300, deadline=None)
@given(x=hnp.arrays(np.float64, st.integers(0, 80),
                    elements=st.one_of(st.sampled_from([0.0, -0.0, 1.0, 2.5, np.inf, -np.inf]),
                                       st.floats(-1e6, 1e6), st.just(np.nan))))
def test_ranks_are_rankdata_of_floats_with_ties_infinities_and_missing_values(x):
    from scipy.stats import rankdata

    got = _ranks(x)
    assert got.dtype == np.float64 and np.array_equal(got, rankdata(x), equal_nan=True)


@settings(max_examples=100, deadline=None)
@given(x=hnp.arrays(st.sampled_from([np.int64, np.int8, np.bool_]), st.integers(0, 60)))
def test_ranks_are_rankdata_of_integers_and_booleans(x):
    from scipy.stats import rankdata

    assert np.array_equal(_ranks(x), rankdata(x))
