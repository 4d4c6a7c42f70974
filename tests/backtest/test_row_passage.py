"""The first passage at the grain of rows (:func:`liqcore.backtest.passage._first_loud_row`, issue 71): inside the
first block whose price range can reach a live order's or position's level, the first row that can; the span
passed over then ends on that row's second instead of the block's first receive time.  A row is loud exactly when
a block of that row alone is (the compiled walk's own test); the first loud row is the first loud event a read of
the span gives; a backtest that passes over rows this way equals the full replay.  Negative control: a look-up that
answers past the first loud row is told apart by the same comparison with the full replay."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqcore._libs.reading import first_loud
from liqcore.config import Params
from liqcore.types import Kind
from tests.backtest.test_backtest_default_read import _equal, _late_dataset
from tests.backtest.test_tail_from_blocks import _setup, _tied_dataset

_MAX = 2**63 - 1
_PX = st.one_of(st.sampled_from([99.0, 99.5, 99.95, 100.0, 100.04, 100.05, 100.5, 101.0]), st.floats(98.0, 102.0),
                st.just(float("nan")))


def _tk(x, grid):
    return np.floor(x * grid + 0.5) if grid > 0.0 else x


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(0, 50), _PX, _PX), max_size=30), b=st.integers(-2, 55),
       mode=st.integers(0, 3), lvl=_PX, level=_PX, grid=st.sampled_from([0.0, 10.0, 20.0, 100.0, 0.5]))
def test_a_row_is_loud_when_a_block_of_it_alone_is(rows, b, mode, lvl, level, grid):
    """``loud_from`` over random rows (receive times, a bid and an ask, NaN among them) equals, row by row, the
    compiled walk's test of a one-row block of each: the earliest receive time at or after ``b`` of a row the walk
    calls loud."""
    from liqcore.backtest.passage import loud_from

    tr = np.array([r[0] for r in rows], np.int64)
    p, a = np.array([r[1] for r in rows], np.float64), np.array([r[2] for r in rows], np.float64)
    lo, hi = np.fmin(p, a), np.fmax(p, a)
    tp = float(_tk(level, grid))
    want = _MAX
    for i in range(len(tr)):
        one = first_loud(tr[i:i + 1], tr[i:i + 1], lo[i:i + 1], hi[i:i + 1], 0, b, _MAX, mode, lvl, tp, grid)
        if one == 0:
            want = min(want, int(tr[i]))
    assert loud_from(tr, lo, hi, b, mode, lvl, tp, grid) == want


def _event_loud(ev, b, until, mode, lvl, tp, grid) -> int:
    """The reference: the earliest receive time in ``[b, until)`` of a trade or quote event (a quote row's bid and
    ask are two events) whose price, as a one-point range, is not quiet for ``mode`` -- the twin's walk
    (``pysrc.passage.first_loud``, the specification) over a table of one-event blocks; ``_MAX`` for none."""
    from pysrc.passage import first_loud as twin

    tr, px = np.ascontiguousarray(ev["ts_recv"]), np.ascontiguousarray(ev["price"])
    k = twin(tr, tr, px, px, 0, b, until, mode, lvl, tp, grid)
    return _MAX if k < 0 else int(tr[k])


@pytest.mark.parametrize("shape", ["late", "ahead"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=st.floats(0.0, 0.98), span_s=st.sampled_from([5.0, 60.0, 900.0, 7200.0]), mode=st.integers(0, 3),
       q_lvl=st.floats(0.0, 1.0), q_tp=st.floats(0.0, 1.0), grid=st.sampled_from([0.0, 100.0]))
def test_the_first_loud_row_is_the_reads_first_loud_event(tmp_path_factory, shape, at, span_s, mode, q_lvl, q_tp,
                                                          grid):
    """For random spans of a two-day book market, every mode and levels among the span's own prices: the first loud
    block's first loud row (:func:`_first_loud_row`) is the first loud event of a read of the span's trades and
    quotes, the same receive time where the read keeps every row ("late"), never a later one where it drops rows
    ahead of their receive time ("ahead": the look-up counts them, the read does not)."""
    from liqcore.backtest.passage import _first_loud_row
    from liqcore.backtest.row_groups import first_block

    path = _late_dataset(tmp_path_factory, 5, 3.0, 20.0, 3_000, ahead_s=8.0 if shape == "ahead" else 0.0, book=True)
    rd, clock, lo, hi = _setup(path, {"fill": "queue"})
    b = int(lo + at * (hi - lo))
    until = min(hi, b + int(span_s * 1e9))
    ev = rd.read(lo, hi, kinds=[int(Kind.TRADE), int(Kind.QUOTE)], recv=(b, until))
    px = ev["price"][np.isfinite(ev["price"])]
    if not len(px):
        return
    q = np.quantile(px, [q_lvl, q_tp])
    lvl, tp = float(q[0]), float(_tk(q[1], grid))
    blk = clock.g["blocks"]
    k = first_loud(blk["tr_min"], blk["tr_max"], blk["p_min"], blk["p_max"], first_block(clock.g, b), b, until, mode,
                   lvl, tp, grid)
    want = _event_loud(ev, b, until, mode, lvl, tp, grid)
    if k < 0:  # (no block can reach a level: no event does)
        assert want == _MAX
        return
    got = _first_loud_row(rd, clock, k, b, until, mode, lvl, tp, grid)
    assert got is not None
    got = got if got < until else _MAX
    if shape == "late":
        assert got == want
    else:
        assert got <= want


_PARAMS = [{"fill": "queue"}, {"fill": "queue", "offset": "0.3%", "entry-timeout": "30m"},
           {"fill": "queue", "take-profit": "0.15%", "stop-loss": "0.3%", "hold-timeout": "4h"},
           {"fill": "through", "take-profit": "1%", "hold-timeout": "4h"}]


def _late(tmp_path_factory):
    return _late_dataset(tmp_path_factory, 5, 3.0, 20.0, 700, book=True)


@pytest.mark.parametrize("shape", ["late", "tied"])
@pytest.mark.parametrize("params", _PARAMS)
def test_a_backtest_passing_over_rows_equals_the_full_replay(tmp_path_factory, monkeypatch, shape, params):
    """Backtests whose live orders and positions pass over the quiet rows of their first-passage blocks: the
    trades, ledger, summary and records equal the full replay's, and spans ending inside a block were passed over."""
    import liqcore.backtest.passage as P

    assert P.ROW_PASSAGE
    path = _tied_dataset(tmp_path_factory) if shape == "tied" else _late(tmp_path_factory)
    real, inside = P._first_loud_row, []

    def spy(rd, clock, k, b, *a):
        t = real(rd, clock, k, b, *a)
        if t is not None and t != _MAX and t > int(clock.g["blocks"]["tr_min"][k]) + 10**9 and t > b + 10**9:
            inside.append(t)  # (a first loud row a second or more past its block's start and ``b``)
        return t

    monkeypatch.setattr(P, "_first_loud_row", spy)
    _full, dflt = _equal(path, Params.from_mapping(params))
    assert dflt.read["path"] == "windows"
    assert inside, "no span passed over ended inside a block"


def test_a_look_up_past_the_first_loud_row_is_told_apart(tmp_path_factory, monkeypatch):
    """The negative control: a look-up answering a minute past each first loud row (the rows that fill an entry or
    reach a take-profit passed over as if quiet) gives another ledger than the full replay's."""
    import liqcore.backtest.passage as P

    real = P.loud_from

    def late(*a):
        t = real(*a)
        return t if t == _MAX else t + 60 * 10**9

    monkeypatch.setattr(P, "loud_from", late)
    path = _late(tmp_path_factory)
    with pytest.raises(AssertionError):
        _equal(path, Params.from_mapping(_PARAMS[0]))
