"""The clock index is trusted only for a setter the read keeps (docs/data.md, "The clock index"): each
liquidation whose clock setter the default read takes from a file's index (``_ClockRows.witness_of``) gets
the setter the rows this read keeps give -- the latest-stamped bulk row stamped after it and received before
it among the rows kept -- under a max-clock-skew that drops rows stamped far ahead of their receive time and
a ``--start`` that drops rows received before it.  (The backtests' equality elsewhere does not show this: a
wrong setter seldom changes a record.)"""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.config import Params
from liqcore.types import Kind
from tests.backtest.test_backtest_default_read import _late_dataset


@pytest.mark.parametrize("skew, span_h", [("1s", None), ("5s", 7), ("1s", 30)])
def test_an_indexed_setter_the_read_drops_is_not_taken(tmp_path_factory, skew, span_h):
    from liqcore.backtest.row_groups import _bulk_groups, _ClockRows
    from liqcore.backtest.windows import _Reader, _span
    from liqcore.dataset import load_dataset
    from liqcore.dataset.clock import NONE
    from liqcore.dataset.read import BULK_KINDS
    from liqcore.synthetic.market import DEFAULT_START_NS
    from liqcore.types import SymbolRegistry

    # a tenth of the trades received up to 8 s before their own time: beyond max-clock-skew they are dropped
    path = _late_dataset(tmp_path_factory, 5, 3.0, 0.0, 700, 8.0, False)
    p = Params.from_mapping({"max-clock-skew": skew})
    start = None if span_h is None else DEFAULT_START_NS + span_h * 3_600_000_000_000
    lo, hi, sel = _span(path, (), start, None)
    rd = _Reader(path, (), start, None, p, SymbolRegistry(), sel)
    det = rd.read(lo, hi, kinds=[int(k) for k in Kind if int(k) > 0 and int(k) not in BULK_KINDS])
    who = np.flatnonzero((det["kind"] == int(Kind.LIQUIDATION)) | (det["kind"] == int(Kind.GAP)))
    r_te, r_tr = det["ts_event"][who], det["ts_recv"][who]
    clock = _ClockRows(_bulk_groups(path, sel), lo, hi, start, None, p.max_clock_skew_ns)
    done, w_te, _w_tr = clock.witness_of(r_te, r_tr)
    assert clock.indexed > 20, clock.indexed
    ev = load_dataset(path, start_ns=start, max_clock_skew_ns=p.max_clock_skew_ns).events
    ev = ev[np.isin(ev["kind"], list(BULK_KINDS))]
    if start is not None:
        ev = ev[ev["ts_recv"] >= start]
    kept_te, kept_tr = ev["ts_event"], ev["ts_recv"]
    dropped = 0
    for k in np.flatnonzero(done):  # the setter the kept rows give (its event time sets the clock)
        hit = (kept_te > r_te[k]) & (kept_tr < r_tr[k])
        want = int(kept_te[hit].max()) if hit.any() else NONE
        assert int(w_te[k]) == want, (k, int(w_te[k]), want)
    every = load_dataset(path, max_clock_skew_ns=None).events  # (every bulk row, none dropped)
    every = every[np.isin(every["kind"], list(BULK_KINDS))]
    for k in range(len(who)):  # (the case the rule is for: a later setter in the file, dropped by this read)
        hit = (every["ts_event"] > r_te[k]) & (every["ts_recv"] < r_tr[k])
        ok = (kept_te > r_te[k]) & (kept_tr < r_tr[k])
        if hit.any() and int(every["ts_event"][hit].max()) != (int(kept_te[ok].max()) if ok.any() else NONE):
            dropped += 1
    assert dropped > 0  # the dataset holds such setters: the rule was put to the test
