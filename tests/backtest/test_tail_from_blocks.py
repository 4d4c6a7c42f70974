"""The last rows of a span passed over, looked up in the first-passage blocks
(:meth:`liqcore.backtest.row_groups._ClockRows.last_rows`, :func:`liqcore.backtest.passage._tail_from_blocks`): the last
print received in a span and the last best bid and ask are the ones a read of the span's rows gives (events in the
full replay's order), or the look-up says it cannot tell (two last rows tied in both times with different values)
and the caller reads; the backtest equals the full replay either way."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqcore.config import Params
from liqcore.types import Kind
from tests.backtest.test_backtest_default_read import _DS, _equal, _late_dataset, _write

BID = 3


def _tied_dataset(tmp_path_factory, rows: int = 5_000):
    """The book market of :func:`_late_dataset` with a trade in every 40 copied with the same event and receive
    times and a price a tick away (two last prints whose order is the load's), some quotes copied the same way,
    in row groups of ``rows`` (several blocks and pages each)."""
    key = ("tied", rows)
    if key not in _DS:
        from liqcore.synthetic.market import synthetic_market

        m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=11, cache=False, effects={"book": True})
        ev = m.events.copy()
        tr = np.flatnonzero(ev["kind"] == int(Kind.TRADE))[::40]
        q = np.flatnonzero(ev["kind"] == int(Kind.QUOTE))[::97]
        twin = ev[np.concatenate([tr, q])].copy()
        twin["price"] += 0.1
        ev = np.concatenate([ev, twin])
        ev = ev[np.lexsort((ev["ts_recv"], ev["ts_event"]))]
        _DS[key] = _write(ev, m.registry, tmp_path_factory.mktemp("tied") / "ds", rows)
    return _DS[key]


def _setup(path, params):
    import liqcore.backtest.row_groups as R
    import liqcore.backtest.windows as W
    from liqcore.types import SymbolRegistry

    p = Params.from_mapping(params)
    lo, hi, sel = W._span(path, (), None, None)
    rd = W._Reader(path, (), None, None, p, SymbolRegistry(), sel)
    g = R._bulk_groups(path, sel)
    assert g.get("blocks") is not None, "the dataset's files are indexed"
    return rd, R._ClockRows(g, lo, hi, None, None, p.max_clock_skew_ns), lo, hi


def _by_read(rd, lo, hi, a, to):
    """The last print, bid and ask received in [a, to) as a read of its rows gives them (the reference)."""
    ev = rd.read(lo, hi, kinds=[int(Kind.TRADE), int(Kind.QUOTE)], recv=(a, to))
    out = []
    t = ev[(ev["kind"] == int(Kind.TRADE)) & np.isfinite(ev["price"]) & (ev["price"] > 0)]
    q = ev[ev["kind"] == int(Kind.QUOTE)]
    for rows in (t, q[q["side"] == BID], q[q["side"] != BID]):
        out.append(() if not len(rows) else (int(rows["ts_event"][-1]), int(rows["ts_recv"][-1]),
                                             float(rows["price"][-1]), float(rows["qty"][-1])))
    return out, ev


def _tied_at_end(ev, kind_mask, ref) -> bool:
    """Whether rows of ``kind_mask`` other than the last tie with it in both times and differ in value."""
    if not ref:
        return False
    e = ev[kind_mask]
    tie = e[(e["ts_recv"] == ref[1]) & (e["ts_event"] == ref[0])]
    return len({(float(x["price"]), float(x["qty"])) for x in tie}) > 1


@pytest.mark.parametrize("shape", ["late", "ahead", "tied"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=st.floats(0.0, 1.0), span_s=st.sampled_from([0.001, 0.2, 1.0, 7.0, 60.0, 900.0]))
def test_the_last_rows_from_the_blocks_are_the_reads(tmp_path_factory, shape, at, span_s):
    """For random spans of a day: the look-up's last print (TRADE) and last bid and ask (QUOTE) equal the last
    such rows of a read of the span (what :func:`liqcore.backtest.passage.last_in_tail` and :func:`put_quotes`
    take of them), or the look-up returns None and the read's last rows are two tied in both times with
    different values (a print's price; a quote's price or size)."""
    path = (_tied_dataset(tmp_path_factory) if shape == "tied" else
            _late_dataset(tmp_path_factory, 5, 3.0, 20.0, 3_000, ahead_s=8.0 if shape == "ahead" else 0.0,
                          book=True))
    rd, clock, lo, hi = _setup(path, {"fill": "queue"})
    to = int(lo + at * (hi - lo))
    a = max(lo, to - int(span_s * 1e9))
    ref, ev = _by_read(rd, lo, hi, a, to)
    trades = clock.last_rows(rd, a, to, int(Kind.TRADE))
    quotes = clock.last_rows(rd, a, to, int(Kind.QUOTE))
    is_t = (ev["kind"] == int(Kind.TRADE)) & np.isfinite(ev["price"]) & (ev["price"] > 0)
    is_q = ev["kind"] == int(Kind.QUOTE)
    if trades is None:
        assert ref[0] and len({float(x["price"]) for x in ev[is_t][(ev[is_t]["ts_recv"] == ref[0][1])
                                                                  & (ev[is_t]["ts_event"] == ref[0][0])]}) > 1
    else:
        assert trades[0][:3] == ref[0][:3] if ref[0] else trades[0] == ()
    if quotes is None:
        assert _tied_at_end(ev, is_q & (ev["side"] == BID), ref[1]) or _tied_at_end(ev, is_q & (ev["side"] != BID),
                                                                                      ref[2])
    else:
        assert list(quotes) == ref[1:]


def test_ties_are_left_to_the_read(tmp_path_factory):
    """A span ending just after two tied prints of different prices: the look-up cannot tell which is last (None),
    and the backtest over such a market equals the full replay."""
    path = _tied_dataset(tmp_path_factory)
    rd, clock, lo, hi = _setup(path, {"fill": "queue"})
    ev = rd.read(lo, hi, kinds=[int(Kind.TRADE)], recv=(lo, lo + 6 * 3600 * 10**9))
    tr = ev["ts_recv"]
    same = np.flatnonzero((tr[1:] == tr[:-1]) & (ev["ts_event"][1:] == ev["ts_event"][:-1])
                          & (ev["price"][1:] != ev["price"][:-1]))
    assert len(same), "the market holds tied prints"
    t = int(ev["ts_recv"][same[0]])
    assert clock.last_rows(rd, t - 10**9, t + 1, int(Kind.TRADE)) is None
    assert clock.last_rows(rd, t - 10**9, t, int(Kind.TRADE)) is not None  # (before them: told)
    full, dflt = _equal(path, Params.from_mapping({"fill": "queue"}))
    assert dflt.read["path"] == "windows"


@pytest.mark.parametrize("shape", ["late", "tied"])
@pytest.mark.parametrize("params", [{"fill": "queue"}, {"fill": "queue", "offset": "0.3%", "entry-timeout": "30m"},
                                    {"fill": "through", "take-profit": "1%", "hold-timeout": "4h"}])
def test_a_backtest_with_the_blocks_tail_equals_the_reads(tmp_path_factory, monkeypatch, shape, params):
    """Every span passed over in a backtest: the last print and the book the look-up gives are the read's (the
    tail's rows give :func:`put_quotes` the same bid and ask); the ledger equals the full replay's."""
    import liqcore.backtest.passage as P

    monkeypatch.setattr(P, "DEFER_TAIL", False)  # (every span's tail looked up at once: the look-up under test)
    path = _tied_dataset(tmp_path_factory) if shape == "tied" else _late_dataset(tmp_path_factory, 5, 3.0, 20.0, 700,
                                                                                 book=True)
    real = P.last_in_tail
    told = []

    def both(rd, clock, ids, b, to, lo, hi, **kw):
        monkeypatch.setattr(P, "TAIL_FROM_BLOCKS", True)
        fast = real(rd, clock, ids, b, to, lo, hi, **kw)
        fast_tail, skipped = clock.tail, clock.skipped
        monkeypatch.setattr(P, "TAIL_FROM_BLOCKS", False)
        got = real(rd, clock, ids, b, to, lo, hi, **kw)
        assert fast == got and clock.skipped == skipped
        assert (fast_tail is None) == (clock.tail is None)
        if clock.tail is not None:
            st = np.zeros(1, [("bid", "f8"), ("bid_qty", "f8"), ("ask", "f8"), ("ask_qty", "f8")])
            st2 = st.copy()
            assert P.put_quotes(st, fast_tail[2], set()) == P.put_quotes(st2, clock.tail[2], set())
            assert st.tobytes() == st2.tobytes() and fast_tail[:2] == clock.tail[:2]
        told.append(1)
        return got

    monkeypatch.setattr(P, "last_in_tail", both)
    full, dflt = _equal(path, Params.from_mapping(params))
    assert dflt.read["path"] == "windows" and told, "no quiet span was passed over"


def test_the_last_print_is_the_last_received_not_the_last_stamped(tmp_path_factory):
    """Spans ending just after a trade received seconds before its own time (a venue clock ahead, within
    max-clock-skew): rows received after it are stamped before it, so the last received and the last stamped
    differ; the look-up gives the last received, as the read does."""
    path = _late_dataset(tmp_path_factory, 5, 3.0, 20.0, 3_000, ahead_s=4.0, book=True)
    rd, clock, lo, hi = _setup(path, {"fill": "queue"})
    ev = rd.read(lo, hi, kinds=[int(Kind.TRADE)], recv=(lo, hi))
    ahead = np.flatnonzero(ev["ts_event"] - ev["ts_recv"] > 2 * 10**9)[:40]
    differ = 0
    for k in ahead.tolist():
        to = int(ev["ts_recv"][k]) + 10**9
        ref, rows = _by_read(rd, lo, hi, to - 10 * 10**9, to)
        got = clock.last_rows(rd, to - 10 * 10**9, to, int(Kind.TRADE))
        assert got is not None and got[0][:3] == ref[0][:3]
        t = rows[rows["kind"] == int(Kind.TRADE)]
        differ += int(np.argmax(t["ts_event"])) != len(t) - 1
    assert differ >= 5, differ



@pytest.mark.parametrize("shape", ["late", "tied"])
@pytest.mark.parametrize("params", [{"fill": "queue"}, {"fill": "queue", "offset": "0.3%", "entry-timeout": "30m"},
                                    {"fill": "through", "take-profit": "1%", "hold-timeout": "4h"}])
def test_a_span_passed_over_settled_by_the_next_read_gives_the_reads_last_print(tmp_path_factory, monkeypatch, shape,
                                                                                 params):
    """A span passed over whose last print the next step settles from its own read of the span's last second
    (:func:`liqcore.backtest.passage.settle_tail`): the last print set is the one a read back of the whole span
    gives (``last_in_tail(blocks=False)``), taken from the last second itself for most spans (no look-up), and the
    ledger equals the full replay's.  Negative control: leaving the last price as it was before the span is told
    apart by the same comparison."""
    import liqcore.backtest.passage as P
    import liqcore.backtest.windows as W
    from tests.backtest.test_backtest_default_read import backtest

    path = _tied_dataset(tmp_path_factory) if shape == "tied" else _late_dataset(tmp_path_factory, 5, 3.0, 20.0, 700,
                                                                                 book=True)
    real_settle, real_tail = P.settle_tail, P.last_in_tail
    seen, looked, wrong = [], [], []

    def tail(*a, **kw):
        looked.append(1)
        return real_tail(*a, **kw)

    def left_as_is(cell, rd, clock, pending, pre, lo, hi):  # (the negative control: the span's prints not set)
        return None

    def check(settle):
        def run(cell, rd, clock, pending, pre, lo, hi):
            b, to, ids, sid = pending
            keep = clock.tail, clock.skipped
            ref = real_tail(rd, clock, ids, b, to, lo, hi, blocks=False)  # (the whole span read back)
            clock.tail, clock.skipped = keep
            before = (float(cell.st[sid]["last_price"]), int(cell.st[sid]["last_ns"]))
            settle(cell, rd, clock, pending, pre, lo, hi)
            got = (float(cell.st[sid]["last_price"]), int(cell.st[sid]["last_ns"]))
            want = (ref[1], ref[0]) if ref else before
            (seen if got == want else wrong).append(1)
        return run

    monkeypatch.setattr(P, "last_in_tail", tail)
    monkeypatch.setattr(W, "settle_tail", check(real_settle))
    full, dflt = _equal(path, Params.from_mapping(params))
    assert dflt.read["path"] == "windows" and len(seen) >= 3 and not wrong, (len(seen), len(wrong))
    assert len(looked) < len(seen), "the spans' last seconds hold their last prints: few look-ups"
    seen.clear()
    monkeypatch.setattr(W, "settle_tail", check(left_as_is))
    backtest([path], Params.from_mapping(params), equity=10_000.0)
    assert wrong, "a span's last print left unset was not told apart"


@pytest.mark.parametrize("params", [{"fill": "queue"}, {"fill": "queue", "offset": "0.3%", "entry-timeout": "30m"},
                                    {"fill": "through", "take-profit": "1%", "stop-loss": "0.5%", "hold-timeout": "4h"}])
def test_the_compiled_first_passage_is_the_numpy_masks_at_every_step(tmp_path_factory, monkeypatch, params):
    """Every first-passage question of a backtest answered both ways -- the compiled walk of the block table
    (``passage.FIRST_LOUD``) and numpy's masks over the blocks -- gives the same block (or none); the ledger
    equals the full replay's."""
    import liqcore.backtest.passage as P

    path = _late_dataset(tmp_path_factory, 5, 3.0, 20.0, 700, book=True)
    real = P._first_loud
    asked = []

    def both(g, b, end, until, mode, lvl, level, grid, tk):
        monkeypatch.setattr(P, "FIRST_LOUD", True)
        fast = real(g, b, end, until, mode, lvl, level, grid, tk)
        monkeypatch.setattr(P, "FIRST_LOUD", False)
        slow = real(g, b, end, until, mode, lvl, level, grid, tk)
        monkeypatch.setattr(P, "FIRST_LOUD", True)
        assert fast == slow, (b, end, until, mode, lvl, level, grid)
        asked.append(fast)
        return fast

    monkeypatch.setattr(P, "_first_loud", both)
    full, dflt = _equal(path, Params.from_mapping(params))
    assert dflt.read["path"] == "windows" and asked, "no first-passage question was asked"
    assert any(k is not None for k in asked), "no question found a block that can reach the level"
