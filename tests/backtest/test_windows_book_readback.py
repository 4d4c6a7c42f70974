"""Under the queue rule the window read (:mod:`liqcore.backtest.windows`) passes over quiet spans
without decoding their quotes: a skipped quote only sets the book in force, and the next step that
replays quotes reads the book back from the last quote replayed.  So every step that replays quotes
starts from the full replay's book, and the trades are the full replay's."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.config import Params
from liqcore.types import Kind
from tests.backtest.test_backtest_default_read import _equal, _late_dataset

_PARAMS = [{"fill": "queue"}, {"fill": "queue", "offset": "0.3%", "entry-timeout": "30m"},
           {"fill": "queue", "take-profit": "1%", "hold-timeout": "4h", "queue-model": "prob:2"}]


@pytest.mark.parametrize("blocks", [True, False], ids=["from-blocks", "read"])
@pytest.mark.parametrize("params", _PARAMS)
def test_a_quiet_span_passed_over_decodes_no_quote(tmp_path_factory, monkeypatch, params, blocks):
    """The last print of a quiet span is read from its trades alone (the tail read asks for no quote), but for a
    resting entry: the step after the span replays quotes from the book in force at its end, which the tail's
    first read (its last second) then holds, so the quotes are not read back a second time.  The same of the
    look-up from the first-passage blocks (``blocks``; else the reads it replaces): it takes the quotes' last
    rows for a resting entry alone, over the last second."""
    import liqcore.backtest.passage as P
    import liqcore.backtest.row_groups as R
    import liqcore.backtest.windows as W

    monkeypatch.setattr(P, "TAIL_FROM_BLOCKS", blocks)
    monkeypatch.setattr(P, "DEFER_TAIL", False)  # (the look-up at once: the next step does not read the span's end)
    path = _late_dataset(tmp_path_factory, 5, 3.0, 20.0, 700, book=True)
    real_tail, real_read, real_rows = P.last_in_tail, W._Reader.read, R._ClockRows.last_rows
    asked: list = []
    looked: list = []  # (kind, resting, the look-up's span) of each look-up in the blocks
    inside = [False, False, None, None]

    def read(self, start_ns, end_ns, kinds=None, recv=None):
        if inside[0]:
            asked.append((None if kinds is None else tuple(kinds), inside[1], recv[1] == inside[2]))
        return real_read(self, start_ns, end_ns, kinds=kinds, recv=recv)

    def rows(self, rd, a, to, kind):
        looked.append((kind, inside[1], a, to, inside[3]))
        return real_rows(self, rd, a, to, kind)

    def tail(*a, **kw):
        inside[:] = [True, kw.get("resting", False), a[4], a[3]]  # (the span's end, its start)
        try:
            return real_tail(*a, **kw)
        finally:
            inside[0] = False

    monkeypatch.setattr(W._Reader, "read", read)
    monkeypatch.setattr(R._ClockRows, "last_rows", rows)
    monkeypatch.setattr(P, "last_in_tail", tail)
    full, dflt = _equal(path, Params.from_mapping(params))
    assert dflt.read["path"] == "windows" and (looked if blocks else asked), "no quiet span was passed over"
    # quotes: only for a resting entry, and only in the first read (the last second before the span's end)
    assert all(k is not None and (int(Kind.QUOTE) not in k or (resting and first)) for k, resting, first in asked), \
        asked
    if not blocks:
        assert not looked and any(int(Kind.QUOTE) not in k for k, _r, _f in asked)
        return
    assert not asked, "the blocks said where the last rows are: no read"
    assert all(k == int(Kind.TRADE) and a == b or k == int(Kind.QUOTE) and resting and a == max(b, to - P.PRE)
               for k, resting, a, to, b in looked), looked
    assert any(k == int(Kind.TRADE) for k, *_ in looked)


@pytest.mark.parametrize("params", _PARAMS)
def test_every_step_that_replays_quotes_starts_from_the_full_replays_book(tmp_path_factory, monkeypatch, params):
    """Before each chunk with quotes reaches the simulator, its book in force (best bid and ask, their
    sizes) is the last best bid and ask the full replay received before the chunk's first row -- also
    after spans passed over undecoded (their quotes read back by that step)."""
    import liqcore.backtest.stream as S
    import liqcore.backtest.passage as P
    import liqcore.backtest.windows as W
    from liqcore.types import SymbolRegistry

    path = _late_dataset(tmp_path_factory, 5, 3.0, 20.0, 700, book=True)
    p = Params.from_mapping(params)
    lo, hi, sel = W._span(path, (), None, None)
    every = W._Reader(path, (), None, None, p, SymbolRegistry(), sel).read(lo, hi)  # all rows, in replay order
    q = every[every["kind"] == int(Kind.QUOTE)]
    bid, ask = q[q["side"] == 3], q[q["side"] != 3]
    real_feed, real_rows = S._Cell.feed, S._Cell.feed_rows
    checked = []

    def check(self, ev):
        if ev is not None and len(ev) and (ev["kind"] == int(Kind.QUOTE)).any():
            t0 = int(ev["ts_recv"][0])
            s = self.st[0]
            for rows, col in ((bid, "bid"), (ask, "ask")):
                k = int(np.searchsorted(rows["ts_recv"], t0, "left"))
                want = (rows["price"][k - 1], rows["qty"][k - 1]) if k else (np.nan, np.nan)
                got = (s[col], s[col + "_qty"])
                assert np.array_equal(np.asarray(got), np.asarray(want), equal_nan=True), (col, t0, got, want)
            checked.append(t0)

    def feed(self, chunk, rec, ni):
        check(self, getattr(chunk, "events", None))  # (the full replay's chunks too: the same holds there)
        return real_feed(self, chunk, rec, ni)

    def feed_rows(self, ev, o, so, rec):  # (the window plan's steps under the queue rule: their rows, no chunk)
        check(self, ev)
        return real_rows(self, ev, o, so, rec)

    monkeypatch.setattr(S._Cell, "feed", feed)
    monkeypatch.setattr(S._Cell, "feed_rows", feed_rows)
    skips = []
    real_quiet = P.quiet_until

    def quiet(cell, clock, b, *a, **kw):
        to, loud_end = real_quiet(cell, clock, b, *a, **kw)
        if to > b:
            skips.append((b, to))
        return to, loud_end

    monkeypatch.setattr(W, "quiet_until", quiet)
    full, dflt = _equal(path, p)
    assert dflt.read["path"] == "windows" and len(checked) > 5
    # and some step replaying quotes came right after a span passed over (its book read back)
    assert any(t >= to for _b, to in skips for t in checked), "no step after a skipped span replayed quotes"
