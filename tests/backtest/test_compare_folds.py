"""``compare``'s walk-forward folds are the walk-forward module's with its defaults (rolling, n + 1 equal
blocks), computed without importing the sweep package (backtest sits below sweep)."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from liqcore.backtest.compare import folds
from liqcore.sweep.walkforward import folds as wf_folds


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**60), st.integers(1, 2**50), st.integers(1, 40))
def test_compare_folds_equal_the_walkforward_defaults(start, span, n):
    end = start + span
    try:
        want = [((f.train.start_ns, f.train.end_ns), (f.test.start_ns, f.test.end_ns))
                for f in wf_folds(start, end, n)]
    except ValueError:
        want = None
    try:
        got = folds(start, end, n)
    except ValueError:
        got = None
    assert got == want
