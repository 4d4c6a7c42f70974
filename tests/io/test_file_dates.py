"""The same files give the same events whatever day they are read: the future-time bound (the machine's
clock + 1 day) protects live feeds only; a file's events (a synthetic market saved, a recording, an
archive, a dataset) are judged against fixed bounds (2017 .. 2100)."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.synthetic.market import DEFAULT_START_NS, synthetic_market
from liqcore.dataset import load_dataset, write_dataset
from liqcore.io import save_events
from liqcore.dataset.load import load_events
from liqcore.validate import FILE_TIME_MAX_NS, implausible_times, time_max_ns

D = 86_400_000_000_000
JUNE_2027 = int(np.datetime64("2027-06-01", "ns").astype(np.int64))


_FIELDS = ("ts_event", "ts_recv", "price", "qty", "side", "kind", "venue", "flags")


def _same(a, b):
    """The same events (the order of events with equal times aside)."""
    assert len(a) == len(b)
    a = a[np.lexsort([a[f] for f in reversed(_FIELDS)])]
    b = b[np.lexsort([b[f] for f in reversed(_FIELDS)])]
    for f in _FIELDS:
        assert np.array_equal(a[f], b[f]), f


def _round_trip(market, tmp_path):
    ev = market.events
    f = tmp_path / "m.parquet"
    save_events(ev, f, registry=market.registry)
    back = load_events(f)
    assert back.rejects.get("implausible_time", 0) == 0 and back.rejects.get("bad_time", 0) == 0
    _same(back.events, ev)
    write_dataset(ev, tmp_path / "ds", market.registry)
    ds = load_dataset(tmp_path / "ds")
    assert ds.rejects.get("implausible_time", 0) == 0
    _same(ds.events, ev)
    return back


def test_a_market_dated_2027_keeps_every_event(tmp_path):
    m = synthetic_market(days=1, symbols=("BTCUSDT", "ETHUSDT"), start_ns=JUNE_2027, cache=False)
    assert int(m.events["ts_event"].min()) > time_max_ns()  # past the live bound on the day this runs
    back = _round_trip(m, tmp_path)
    # the batch detector judges the file's events the same way: none skipped for its time
    from liqcore._libs.detection import CascadeDetector

    _recs, counts = CascadeDetector().run(np.ascontiguousarray(back.events), flush=True)
    assert counts["skipped_time"] == 0


def test_the_last_days_of_a_365_day_default_market_load(tmp_path):
    # the default market starts on DEFAULT_START_NS; a 365-day one ends a year later (its last week here,
    # generated on its own: the same dates without the other 358 days)
    m = synthetic_market(days=2, symbols=("BTCUSDT",), start_ns=DEFAULT_START_NS + 363 * D, cache=False)
    _round_trip(m, tmp_path)


def test_the_bound_is_fixed_for_files_and_moves_with_the_clock_for_live_feeds():
    ts = np.array([JUNE_2027, FILE_TIME_MAX_NS + 1], dtype=np.int64)
    assert implausible_times(ts, max_time_jump_ns=None).tolist() == [False, True]
    now = JUNE_2027 - 30 * D  # a live feed a month earlier: June 2027 is in its future
    assert implausible_times(ts, now_ns=now, max_time_jump_ns=None).tolist() == [True, True]


@pytest.mark.slow
def test_a_365_day_default_market_keeps_every_event(tmp_path):
    # the default start and a whole year (its last weeks lie past a clock-based bound on any day before
    # 2027-01-04), thinned: marks hourly, a hundredth of the trades, a tenth of the background liquidations
    # (400 k events instead of 15 M; which events exist does not change how their times are judged)
    m = synthetic_market(days=365, symbols=("BTCUSDT",), cache=False,
                         overrides={"mark_dt": 3600.0, "rate_t": 0.004, "mu_b": 0.0007})
    assert int(m.events["ts_event"].max()) > DEFAULT_START_NS + 364 * D
    back = load_events(save_events(m.events, tmp_path / "y.parquet", registry=m.registry))
    assert len(back.events) == len(m.events) and back.rejects.get("implausible_time", 0) == 0
