"""The ``book`` feature family (top of book: spread, spread in bps, quoted sizes): definitions at
known times, point in time by receive time, the leak audit, and live = historical."""
from __future__ import annotations

import math

import numpy as np
import pytest

from liqcore.features import FeatureStore, LiveFeatures
from liqcore.features.registry import all_bases, parse_name
from liqcore.research import leak_audit
from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry, Venue

S = 1_000_000_000
T0 = 1_723_161_255 * S
Q, TR = int(Kind.QUOTE), int(Kind.TRADE)
BID, ASK = int(Side.BUY), int(Side.SELL)
NAMES = ["book.spread@1m", "book.spread_bps@1m", "book.bid_size@1m", "book.ask_size@1m", "book.spread@1m:zscore"]


def _market(n=400, seed=3):
    """Trades and top-of-book updates of one Binance symbol; receive times lag the venue times."""
    rng = np.random.default_rng(seed)
    reg = SymbolRegistry()
    sid = reg.id(int(Venue.BINANCE), "BTCUSDT")
    rows = []
    mid = 60_000.0
    for i in range(n):
        te = T0 + i * S // 2
        tr = te + int(rng.integers(1, 200_000_000))
        mid *= math.exp(rng.normal(0, 1e-4))
        half = 0.05 * int(rng.integers(1, 6))
        rows.append((te, tr, mid, 0.01, sid, BID if i % 2 else ASK, TR, int(Venue.BINANCE), 0))
        bq = 0.0 if i % 37 == 5 else float(rng.uniform(0.1, 9))  # now and then an empty bid side
        rows.append((te, tr + 1, mid - half if bq else 0.0, bq, sid, BID, Q, int(Venue.BINANCE), 0))
        rows.append((te, tr + 1, mid + half, float(rng.uniform(0.1, 9)), sid, ASK, Q, int(Venue.BINANCE), 0))
    return np.array(rows, dtype=EVENT_DTYPE), reg, sid


def test_book_features_are_registered_with_definitions():
    for n in NAMES[:4]:
        spec = all_bases()[parse_name(n).key]
        assert spec.needs == "quote" and len(spec.definition) > 40


def test_values_at_known_times_and_by_receive_time():
    reg = SymbolRegistry()
    sid = reg.id(int(Venue.BYBIT), "ETHUSDT")
    rows = [
        (T0, T0 + 5, 3000.0, 2.0, sid, BID, Q, 1, 0), (T0, T0 + 5, 3000.5, 4.0, sid, ASK, Q, 1, 0),
        # sent at T0 + 1 s but received at T0 + 3 s: not known at T0 + 2 s
        (T0 + S, T0 + 3 * S, 2999.0, 1.0, sid, BID, Q, 1, 0), (T0 + S, T0 + 3 * S, 3001.0, 0.0, sid, ASK, Q, 1, 0),
        (T0 + 4 * S, T0 + 4 * S, 3000.0, 0.5, sid, BID, TR, 1, 0),
    ]
    st = FeatureStore(np.array(rows, dtype=EVENT_DTYPE), reg)
    t = np.array([T0 + 4, T0 + 5, T0 + 2 * S, T0 + 3 * S, T0 + 4 * S], dtype=np.int64)
    v, r = st.values("book.spread@1m", sid, t)
    assert math.isnan(v[0]) and r[0] != 0  # before the first quote was received
    assert v[1] == 0.5 and v[2] == 0.5  # the T0 + 1 s update is not received yet at T0 + 2 s
    assert math.isnan(v[3]) and r[3] == 4  # the ask side emptied: undefined
    bps, _ = st.values("book.spread_bps@1m", sid, t[1:2])
    assert bps[0] == pytest.approx(0.5 / 3000.25 * 1e4)
    assert st.values("book.bid_size@1m", sid, t)[0][1:].tolist() == [2.0, 2.0, 1.0, 1.0]
    assert st.values("book.ask_size@1m", sid, t)[0][1:].tolist() == [4.0, 4.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="liquidations family only"):  # per venue
        st.values("book/all.spread@1m", sid, t)


def test_bad_quotes_are_dropped_and_counted():
    reg = SymbolRegistry()
    sid = reg.id(int(Venue.BYBIT), "ETHUSDT")
    rows = [(T0, T0, 3000.0, 2.0, sid, BID, Q, 1, 0), (T0, T0, 3000.5, -4.0, sid, ASK, Q, 1, 0),
            (T0 + 1, T0 + 1, math.nan, 1.0, sid, ASK, Q, 1, 0), (T0 + 2, T0 + 2, 3000.5, 1.0, sid, ASK, Q, 1, 0)]
    st = FeatureStore(np.array(rows, dtype=EVENT_DTYPE), reg)
    assert st.dropped == {"bad_quote": 2}  # (counted when the store is built, before any book feature is read)
    v, r = st.values("book.spread@1m", sid, [T0 + 2])
    assert v.tolist() == [0.5] and st.dropped == {"bad_quote": 2}


def test_book_features_pass_the_leak_audit():
    ev, reg, _ = _market()
    res = leak_audit(ev, reg, names=NAMES, samples=12, seed=4)
    assert res.ok, "\n".join(map(str, res.leaks[:10]))
    assert res.non_null > 0.5 * res.checked


def test_cutting_the_input_at_t_changes_nothing_at_t():
    ev, reg, sid = _market(200, seed=9)
    full = FeatureStore(ev, reg)
    for t in np.sort(ev["ts_recv"])[::17]:
        cut = FeatureStore(ev[ev["ts_recv"] <= t], reg, end_ns=int(t))
        for n in NAMES[:4]:
            a, ra = full.values(n, sid, [t])
            b, rb = cut.values(n, sid, [t])
            # (a null may say "stream not in the data" in the cut input, "not covered yet" in the full one)
            assert (ra == 0).tolist() == (rb == 0).tolist() and np.array_equal(a, b, equal_nan=True), (n, t)


def test_live_values_equal_historical():
    ev, reg, sid = _market(300, seed=5)
    ev = ev[np.argsort(ev["ts_recv"], kind="stable")]
    lf = LiveFeatures(NAMES[:4], reg)
    hist = FeatureStore(ev, reg)
    checks = 0
    rows = ev.tolist()
    for i, row in enumerate(rows):
        lf.update(*row)
        # every row received at t fed (both rows of an update arrive in one frame)
        if i % 23 >= 20 and (i + 1 == len(rows) or rows[i + 1][1] > row[1]):
            t = int(row[1])
            for n in NAMES[:4]:
                want, _ = hist.values(n, sid, [t])
                got = lf.value(n, "BTCUSDT", t)
                assert (got is None and math.isnan(want[0])) or got == want[0], (n, t, got, want[0])
                checks += 1
    assert checks > 40
