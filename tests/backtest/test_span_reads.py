"""A window's reads found from the first-passage blocks (:func:`liqcore.backtest.row_groups.span_events`): the same
events, in the same order, as the files' read (:func:`liqcore.dataset.checked.read_checked`, what the window reader
did before), on random reads of several market shapes (liquidations late and reordered, trades received seconds
before their time and some dropped by max-clock-skew, tied prints and quotes), with and without the quotes and the
rare kinds; and the backtests over them equal the full replay."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqcore.config import Params
from liqcore.types import Kind
from tests.backtest.test_backtest_default_read import _equal, _late_dataset
from tests.backtest.test_tail_from_blocks import _setup, _tied_dataset

_RARE = [int(k) for k in Kind if int(k) > 0 and k not in (Kind.TRADE, Kind.QUOTE)]
_KINDS = {"trades": [int(Kind.TRADE)], "book": [int(Kind.TRADE), int(Kind.QUOTE)],
          "all": [int(Kind.TRADE), int(Kind.QUOTE)] + _RARE, "no quotes": [int(Kind.TRADE)] + _RARE,
          "quotes": [int(Kind.QUOTE)]}


def _path(tmp_path_factory, shape):
    if shape == "tied":
        return _tied_dataset(tmp_path_factory)
    return _late_dataset(tmp_path_factory, 5, 3.0, 20.0, 3_000, ahead_s=8.0 if shape == "ahead" else 0.0, book=True)


def _both(monkeypatch, rd, lo, hi, a, to, kinds):
    """The read of [a, to) by receive time through the blocks, then through the files -> (blocks', files', whether
    the blocks answered)."""
    import liqcore.backtest.row_groups as R

    rd.memo = None
    called = []
    real = R.span_events

    def spy(*args, **kw):
        got = real(*args, **kw)
        called.append(got is not None)
        return got

    monkeypatch.setattr(R, "span_events", spy)
    monkeypatch.setattr(R, "SPAN_READS", True)
    fast = rd.read(lo, hi, kinds=kinds, recv=(a, to))
    monkeypatch.setattr(R, "SPAN_READS", False)
    slow = rd.read(lo, hi, kinds=kinds, recv=(a, to))
    return fast, slow, any(called)


@pytest.mark.parametrize("shape", ["late", "ahead", "tied"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=st.floats(0.0, 1.0), span_s=st.sampled_from([0.001, 0.5, 1.0, 30.0, 600.0, 7200.0]),
       kinds=st.sampled_from(sorted(_KINDS)))
def test_a_read_from_the_blocks_is_the_files_read(tmp_path_factory, monkeypatch, shape, at, span_s, kinds):
    """For random reads of a day: the events the blocks find are the files' read's, byte for byte, in order."""
    path = _path(tmp_path_factory, shape)
    rd, clock, lo, hi = _setup(path, {"fill": "queue"})
    rd.g = clock.g
    to = int(lo + at * (hi - lo))
    a = max(lo, to - int(span_s * 1e9))
    fast, slow, used = _both(monkeypatch, rd, lo, hi, a, to, _KINDS[kinds])
    assert fast.dtype == slow.dtype and len(fast) == len(slow)
    assert fast.tobytes() == slow.tobytes()


@pytest.mark.parametrize("shape", ["late", "ahead", "tied"])
def test_the_blocks_answer_most_reads_and_a_wrong_span_is_caught(tmp_path_factory, monkeypatch, shape):
    """The blocks answer most reads of a busy day (not left to the files' read: the tied market's copied quotes are
    rows without their ask, which the files' read expands), and the comparison can fail: a span
    whose first block is left out (negative control) loses rows the files' read keeps."""
    import liqcore.backtest.row_groups as R

    path = _path(tmp_path_factory, shape)
    rd, clock, lo, hi = _setup(path, {"fill": "queue"})
    rd.g = clock.g
    rng = np.random.default_rng(3)
    answered = 0
    for t in rng.uniform(lo, hi, 30).astype(np.int64).tolist():
        fast, slow, used = _both(monkeypatch, rd, lo, hi, t - 60 * 10**9, t, _KINDS["all"])
        assert fast.tobytes() == slow.tobytes()
        answered += used
    assert answered >= (10 if shape == "tied" else 25), answered  # (tied: quote rows without their ask, read)
    real_in = R.blocks_in
    monkeypatch.setattr(R, "blocks_in", lambda g, a, b: (lambda x: x if x is None else x[1:])(real_in(g, a, b)))
    wrong = 0
    for t in rng.uniform(lo, hi, 30).astype(np.int64).tolist():
        fast, slow, _used = _both(monkeypatch, rd, lo, hi, t - 60 * 10**9, t, _KINDS["book"])
        wrong += fast.tobytes() != slow.tobytes()
    assert wrong >= 10, wrong


@pytest.mark.parametrize("shape", ["late", "ahead", "tied"])
@pytest.mark.parametrize("params", [{"fill": "queue"}, {"fill": "queue", "offset": "0.3%", "entry-timeout": "30m"},
                                    {"fill": "through", "take-profit": "1%", "hold-timeout": "4h"}])
def test_a_backtest_reading_from_the_blocks_equals_the_full_replay(tmp_path_factory, monkeypatch, shape, params):
    """Every read of a backtest compared both ways as it runs; its ledger and summary equal the full replay's."""
    import liqcore.backtest.row_groups as R

    path = _path(tmp_path_factory, shape)
    real = R.span_events
    told = []

    def both(g, p, mark, a, b, kinds, recv, skew, venue, bulk):
        from liqcore.dataset.checked import read_checked

        got = real(g, p, mark, a, b, kinds, recv, skew, venue, bulk)
        if got is not None:
            ev = read_checked([(p, venue, 0)], a, b, kinds, recv, skew, False, marks={p: mark}, bulk=bulk)[0]
            assert got[0].tobytes() == ev.tobytes()
            told.append(1)
        return got

    monkeypatch.setattr(R, "span_events", both)
    full, dflt = _equal(path, Params.from_mapping(params))
    assert dflt.read["path"] == "windows" and told, "no read went through the blocks"
