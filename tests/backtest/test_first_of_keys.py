"""The clock index's look-up (:func:`liqcore.backtest.row_groups.first_of_keys`): each query's first place among
the index's (event time, receive time) pairs, equal to a dictionary of the pairs' first places (the plain way it
replaced), on pairs drawn from few values (many repeats) and from the whole int64 range."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.backtest.row_groups import first_of_keys

_I64 = st.integers(-(2**63), 2**63 - 1)


def _dict_first(te, tr, q_te, q_tr) -> np.ndarray:
    first: dict = {}
    for k, key in enumerate(zip(te.tolist(), tr.tolist())):
        first.setdefault(key, k)
    return np.array([first.get(key, -1) for key in zip(q_te.tolist(), q_tr.tolist())], np.int64)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.booleans())
def test_first_of_keys_equals_a_dictionary_of_first_places(data, small):
    val = st.integers(-3, 3) if small else _I64
    n = data.draw(st.integers(0, 40))
    te = np.array(data.draw(st.lists(val, min_size=n, max_size=n)), np.int64)
    tr = np.array(data.draw(st.lists(val, min_size=n, max_size=n)), np.int64)
    m = data.draw(st.integers(0, 30))
    picks = data.draw(st.lists(st.integers(0, max(n - 1, 0)), min_size=m, max_size=m))
    q_te = np.array([int(te[i]) if n and k % 2 else data.draw(val) for k, i in enumerate(picks)], np.int64)
    q_tr = np.array([int(tr[i]) if n and k % 2 else data.draw(val) for k, i in enumerate(picks)], np.int64)
    assert np.array_equal(first_of_keys(te, tr, q_te, q_tr), _dict_first(te, tr, q_te, q_tr))


def test_a_pair_split_across_two_places_is_not_found():
    """The control: a query whose event time is one place's and receive time another's finds nothing, and a
    repeated pair gives its first place."""
    te = np.array([5, 1, 5, 2], np.int64)
    tr = np.array([9, 7, 9, 8], np.int64)
    got = first_of_keys(te, tr, np.array([5, 1, 2, 5], np.int64), np.array([7, 9, 8, 9], np.int64))
    assert got.tolist() == [-1, -1, 3, 0]
