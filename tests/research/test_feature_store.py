"""Named point-in-time features: grammar, definitions against brute force, transforms, nulls (gaps,
coverage, outside the data), cross-venue merging, live == historical, the engine hook, user features."""
from __future__ import annotations

import math

import numpy as np
import pytest

from liqcore.research import (
    FeatureNameError, FeatureStore, LiveFeatures, NAMED_FEATURES, historical, parse_name, register_feature,
    unregister_feature,
)
from liqcore.features.store import R_BEFORE, R_COVER, R_EMPTY, R_END, R_GAP, R_HIST, R_MISSING, REASONS
from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry, Venue

S = 1_000_000_000
T0 = 1_767_571_200 * S  # 2026-01-05


def ev(rows):
    """rows: (ts_recv_s, kind, side, price, qty[, symbol_id[, venue]])"""
    out = np.zeros(len(rows), EVENT_DTYPE)
    for i, r in enumerate(rows):
        t, k, sd, p, q = r[:5]
        out[i]["ts_event"] = out[i]["ts_recv"] = T0 + int(round(t * S))
        out[i]["kind"], out[i]["side"], out[i]["price"], out[i]["qty"] = int(k), int(sd), p, q
        out[i]["symbol_id"] = r[5] if len(r) > 5 else 0
        out[i]["venue"] = r[6] if len(r) > 6 else int(Venue.BYBIT)
    return out


L, TR, F, G, OI = Kind.LIQUIDATION, Kind.TRADE, Kind.FUNDING, Kind.GAP, Kind.OPEN_INTEREST


def one(store, name, t_s, sid=0):
    v, r = store.values(name, sid, np.array([T0 + int(round(t_s * S))]))
    return (None if r[0] else float(v[0])), int(r[0])


# ---- grammar --------------------------------------------------------------------------------------

def test_every_named_feature_parses_and_the_article_names_are_there():
    for n in NAMED_FEATURES:
        assert str(parse_name(n)) == n
    for n in ("liquidations.liq_imbalance@15m:zscore", "flow.ofi@5m:zscore", "funding.funding_avg@1h"):
        assert n in NAMED_FEATURES
    fn = parse_name("liquidations/all.liq_volume@90s:rank")
    assert fn.merged and fn.window_ns == 90 * S and fn.transform == "rank"


@pytest.mark.parametrize("bad, words", [
    ("liquidations.liq_imbalanse@15m:zscore", ["liq_imbalanse", "liquidations.liq_imbalance@15m:zscore"]),
    ("liquidation.liq_volume@1m", ["unknown family", "liquidations.liq_volume@1m"]),
    ("flow.ofi@5m:zscor", ["unknown transform", "zscore"]),
    ("flow.ofi@5x", ["malformed window", "5x"]),
    ("flow.ofi@0s", ["must be positive"]),
    ("flow.ofi@40d", ["30d"]),
    ("flow.ofi", ["missing '@window'", "flow.ofi@5m"]),
    ("flow/all.ofi@1m", ["liquidations family only"]),
    ("liquidations/bybit.liq_volume@1m", ["unknown qualifier"]),
])
def test_bad_names_are_clear_errors_with_the_nearest_name(bad, words):
    with pytest.raises(FeatureNameError) as e:
        parse_name(bad)
    for w in words:
        assert w in str(e.value)


# ---- definitions ----------------------------------------------------------------------------------

@pytest.fixture
def basic():
    rows = [(0, TR, Side.BUY, 100.0, 1.0)]
    rows += [(10, L, Side.LONG, 100.0, 2.0), (20, L, Side.SHORT, 101.0, 1.0), (20, L, Side.LONG, 99.0, 3.0),
             (60, L, Side.LONG, 98.0, 1.0)]
    rows += [(30, TR, Side.BUY, 101.0, 2.0), (40, TR, Side.SELL, 100.0, 1.0), (70, TR, Side.SELL, 99.0, 4.0)]
    rows += [(100, TR, Side.BUY, 99.5, 0.5)]
    e = ev(rows)
    return FeatureStore(e[np.argsort(e["ts_recv"], kind="stable")], SymbolRegistry([("bybit", "ETHUSDT")]))


def test_window_is_right_closed_and_uses_receive_time(basic):
    # (t - 50s, t] at t = 60: liquidations at 20 (two, equal time) and 60 (exactly t); 10 is out
    assert one(basic, "liquidations.liq_volume@50s", 60)[0] == pytest.approx(101 + 297 + 98)
    assert one(basic, "liquidations.liq_count@50s", 60)[0] == 3
    # an event exactly at t - W is out, one exactly at t is in
    assert one(basic, "liquidations.liq_count@40s", 60)[0] == 1
    assert one(basic, "liquidations.liq_count@41s", 60)[0] == 3
    assert one(basic, "liquidations.liq_count@45s", 59.999)[0] == 2  # the one at 60 is not received yet


def test_liquidation_sides_imbalance_rate_largest(basic):
    assert one(basic, "liquidations.liq_long_volume@1m", 60)[0] == pytest.approx(200 + 297 + 98)
    assert one(basic, "liquidations.liq_long_volume@50s", 60)[0] == pytest.approx(297 + 98)  # 10 is out
    # Bybit's side convention (Buy = a long liquidated): buy volume = long volume, sell volume = short volume
    assert one(basic, "liquidations.liq_buy_volume@50s", 60)[0] == one(basic, "liquidations.liq_long_volume@50s", 60)[0]
    assert one(basic, "liquidations.liq_sell_volume@50s", 60)[0] == pytest.approx(101)
    imb = one(basic, "liquidations.liq_imbalance@50s", 60)[0]
    assert imb == pytest.approx((101 - (297 + 98)) / (101 + 297 + 98))
    assert imb < 0  # longs flushed: negative
    assert one(basic, "liquidations.liq_rate@30s", 60)[0] == pytest.approx(1 / 0.5)
    assert one(basic, "liquidations.liq_largest@50s", 60)[0] == pytest.approx(297)
    # nothing in the window: imbalance and largest are null (undefined), volume is 0
    assert one(basic, "liquidations.liq_imbalance@10s", 100) == (None, R_EMPTY)
    assert one(basic, "liquidations.liq_largest@10s", 100) == (None, R_EMPTY)
    assert one(basic, "liquidations.liq_volume@10s", 100) == (0.0, 0)


def test_flow_and_price(basic):
    assert one(basic, "flow.taker_buy_volume@1m", 70)[0] == pytest.approx(2.0)
    assert one(basic, "flow.taker_sell_volume@1m", 70)[0] == pytest.approx(5.0)
    ofi = one(basic, "flow.ofi@1m", 70)[0]
    assert ofi == pytest.approx((202 - (100 + 396)) / (202 + 100 + 396))  # by notional
    assert one(basic, "flow.trade_count@1m", 70)[0] == 3
    assert one(basic, "price.last@1m", 75)[0] == 99.0
    assert one(basic, "price.return@1m", 100)[0] == pytest.approx(99.5 / 100.0 - 1)  # p(40) = 100
    rv = one(basic, "price.realized_vol@1m", 100)[0]  # the path from p(40) = 100: its return is price.return
    assert rv == pytest.approx(math.sqrt(math.log(99 / 100) ** 2 + math.log(99.5 / 99) ** 2))
    # range over (40, 100]: trades 99, 99.5 and p(40) = 100
    assert one(basic, "price.range@1m", 100)[0] == pytest.approx((100 - 99) / 99.5)
    # first trade at 0: a 1m window at 30 reaches before the stream starts
    assert one(basic, "flow.ofi@1m", 30)[1] == R_COVER


def test_times_outside_the_data_are_null_with_a_reason(basic):
    assert one(basic, "liquidations.liq_volume@1m", -5) == (None, R_BEFORE)
    assert one(basic, "liquidations.liq_volume@1m", 101) == (None, R_END)
    assert "end" in REASONS[R_END]


def test_funding_avg_is_time_weighted_across_venues():
    reg = SymbolRegistry([("bybit", "ETHUSDT"), ("okx", "ETHUSDT")])
    e = ev([(0, F, 0, 0.0001, 0, 0, 1), (1800, F, 0, 0.0003, 0, 0, 1),
            (0, F, 0, -0.0002, 0, 1, 3), (3000, F, 0, 0.0, 0, 1, 3), (3600, TR, Side.BUY, 1.0, 1.0, 0, 1)])
    e = e[np.argsort(e["ts_recv"], kind="stable")]
    st = FeatureStore(e, reg)
    bybit = (0.0001 * 1800 + 0.0003 * 1800) / 3600
    okx = (-0.0002 * 3000 + 0.0 * 600) / 3600
    v, r = one(st, "funding.funding_avg@1h", 3600)
    assert r == 0 and v == pytest.approx((bybit + okx) / 2, rel=1e-12)
    assert one(st, "funding.funding_rate@1h", 3600)[0] == pytest.approx(0.0003)
    assert one(st, "funding.funding_avg@1h", 3599)[1] == R_COVER  # a venue's first rate is after t - 1h


def test_a_stream_absent_from_the_data_is_missing_not_uncovered():
    """No funding (or open-interest) event at all: every funding and oi feature says "stream not in the
    data", funding_avg included (it used to say the window reaches before the stream), also with a window
    that starts before the data; after the end of the data stays "after the end"."""
    reg = SymbolRegistry([("bybit", "ETHUSDT"), ("okx", "ETHUSDT")])
    e = ev([(0, TR, Side.BUY, 100.0, 1.0, 0, 1), (0, L, Side.LONG, 100.0, 1.0, 1, 3),
            (7200, TR, Side.SELL, 101.0, 1.0, 0, 1), (7200, TR, Side.SELL, 101.0, 1.0, 1, 3)])
    st = FeatureStore(e, reg)
    for name in ("funding.funding_avg@1h", "funding.funding_rate@1h", "oi.oi_change@1h", "oi.open_interest@1h"):
        for t_s in (1800, 7200):  # the window starts before the data / inside it
            assert one(st, name, t_s) == (None, R_MISSING), (name, t_s)
        assert one(st, name, 7201) == (None, R_END), name
    assert REASONS[R_MISSING] == "stream not in the data"
    # one venue with funding is enough for the symbol's funding_avg to be "not covered yet" rather than missing
    e2 = np.concatenate([e, ev([(5000, F, 0, 0.0001, 0, 1, 3)])])
    st2 = FeatureStore(e2[np.argsort(e2["ts_recv"], kind="stable")], reg)
    assert one(st2, "funding.funding_avg@1h", 7200) == (None, R_COVER)
    assert one(st2, "funding.funding_avg@1h", 7200, sid=1) == (None, R_COVER)


def test_feed_gap_nulls_every_window_across_it():
    e = ev([(0, TR, Side.BUY, 1.0, 1.0), (10, L, Side.LONG, 1.0, 5.0), (100, G, 0, math.nan, 0),
            (130, TR, Side.SELL, 1.0, 1.0), (200, L, Side.SHORT, 1.0, 1.0), (400, TR, Side.BUY, 1.0, 1.0)])
    st = FeatureStore(e, SymbolRegistry([("bybit", "ETHUSDT")]))
    assert one(st, "liquidations.liq_volume@1m", 99)[1] == 0
    assert one(st, "liquidations.liq_volume@1m", 100) == (None, R_GAP)  # gap inside (40, 100]
    assert one(st, "liquidations.liq_volume@1m", 189) == (None, R_GAP)  # blind until the next event at 130
    assert one(st, "liquidations.liq_volume@1m", 190)[1] == 0  # (130, 190]: after the blind spot
    assert one(st, "price.last@1m", 120) == (None, R_GAP)


def test_venue_wide_gap_hits_every_symbol_of_the_venue():
    reg = SymbolRegistry([("bybit", "ETHUSDT"), ("bybit", "BTCUSDT"), ("okx", "ETHUSDT")])
    e = ev([(0, L, Side.LONG, 1.0, 1.0, 0, 1), (0, L, Side.LONG, 1.0, 1.0, 2, 3), (0, L, Side.LONG, 1.0, 1.0, 1, 1),
            (50, G, 0, math.nan, 0, -1, 1), (60, L, Side.LONG, 1.0, 1.0, 2, 3), (300, L, Side.LONG, 1.0, 1.0, 0, 1)])
    st = FeatureStore(e, reg)
    assert one(st, "liquidations.liq_count@30s", 70, sid=0)[1] == R_GAP
    assert one(st, "liquidations.liq_count@30s", 70, sid=1)[1] == R_GAP
    assert one(st, "liquidations.liq_count@30s", 70, sid=2)[1] == 0  # OKX is not blind
    # merged across venues: a blind venue makes the merged value null
    assert one(st, "liquidations/all.liq_count@30s", 70, sid=2)[1] == R_GAP


def test_merged_across_venues_sums_the_venues():
    reg = SymbolRegistry([("bybit", "ETHUSDT"), ("binance", "ETHUSDT")])
    e = ev([(0, L, Side.LONG, 10.0, 1.0, 0, 1), (0.5, L, Side.SHORT, 10.0, 2.0, 1, 2), (20, L, Side.LONG, 10.0, 3.0, 0, 1),
            (21, L, Side.LONG, 10.0, 4.0, 1, 2), (70, TR, Side.BUY, 10.0, 1.0, 0, 1), (70, TR, Side.BUY, 10.0, 1.0, 1, 2)])
    e = e[np.argsort(e["ts_recv"], kind="stable")]
    st = FeatureStore(e, reg)
    assert one(st, "liquidations/all.liq_volume@60s", 61, sid=0)[0] == pytest.approx(10 * (3 + 4))  # (1, 61]
    assert one(st, "liquidations/all.liq_imbalance@60s", 61, sid=1)[0] == pytest.approx(-1.0)
    assert one(st, "liquidations.liq_volume@60s", 61, sid=0)[0] == pytest.approx(30)
    s = st.sampling()
    assert "sampled" in s["binance:ETHUSDT"] and s["bybit:ETHUSDT"] == "every liquidation"


def test_open_interest_features():
    e = ev([(0, OI, 0, math.nan, 1000.0), (0, TR, Side.BUY, 1.0, 1.0), (60, OI, 0, math.nan, 1100.0),
            (120, OI, 0, math.nan, 990.0), (121, TR, Side.BUY, 1.0, 1.0)])
    st = FeatureStore(e, SymbolRegistry([("bybit", "ETHUSDT")]))
    assert one(st, "oi.open_interest@1m", 100)[0] == 1100.0
    assert one(st, "oi.oi_change@1m", 121)[0] == pytest.approx(990 - 1100)
    assert one(st, "oi.oi_velocity@2m", 121)[0] == pytest.approx(990 / 1000 - 1)
    st2 = FeatureStore(ev([(0, TR, Side.BUY, 1.0, 1.0), (99, TR, Side.BUY, 1.0, 1.0)]), SymbolRegistry([("bybit", "X")]))
    v, r = one(st2, "oi.open_interest@1m", 90)
    assert v is None and "not in the data" in REASONS[r]


def test_btc_lead_and_correlation():
    reg = SymbolRegistry([("bybit", "ETHUSDT"), ("bybit", "BTCUSDT")])
    rows = [(0, TR, Side.BUY, 1.0, 1.0, 0)]
    for k in range(30):  # BTC liquidates every 10 s, ETH 1 s later from k = 10 on
        rows.append((10 * k + 0.1, L, Side.LONG, 100.0, 1.0 + k, 1))
        if k >= 10:
            rows.append((10 * k + 1.1, L, Side.LONG, 10.0, 1.0, 0))
    rows.append((400, TR, Side.BUY, 1.0, 1.0, 0))
    e = ev(rows)
    e = e[np.argsort(e["ts_recv"], kind="stable")]
    st = FeatureStore(e, reg)
    assert one(st, "xasset.btc_liq@30s", 200)[0] == pytest.approx(100 * (18 + 19 + 20))  # at 170.1, 180.1, 190.1
    assert one(st, "xasset.btc_liq_lead@30s", 200)[0] == pytest.approx(100 * (15 + 16 + 17))
    assert one(st, "xasset.liq_corr_btc@300s", 299.5)[1] == R_COVER  # the window starts before the data
    c = one(st, "xasset.liq_corr_btc@200s", 299.5)[0]
    assert c is not None and 0.5 < c <= 1


# ---- transforms -----------------------------------------------------------------------------------

def test_transforms_against_the_history_at_t_minus_k_windows():
    rng = np.random.default_rng(3)
    rows = [(float(x), L, Side.LONG if rng.random() < 0.6 else Side.SHORT, 100.0, float(rng.lognormal()))
            for x in np.sort(rng.uniform(0, 3600, 900))]
    e = ev(rows)
    st = FeatureStore(e, SymbolRegistry([("bybit", "ETHUSDT")]), lookback=30, min_periods=10)
    t = T0 + 3000 * S
    W = 60 * S
    base = [st.values("liquidations.liq_imbalance@1m", 0, np.array([t - k * W]))[0][0] for k in range(31)]
    x, h = base[0], np.array(base[1:])
    h = h[~np.isnan(h)]
    expect = {"zscore": (x - h.mean()) / h.std(), "mean": h.mean(), "std": h.std(), "max": h.max(), "min": h.min(),
              "rank": ((h < x).sum() + 0.5 * (h == x).sum()) / len(h)}
    for tf, want in expect.items():
        got = st.values(f"liquidations.liq_imbalance@1m:{tf}", 0, np.array([t]))[0][0]
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), tf
    # many times at once (the grid path) gives the same numbers as one at a time
    grid = T0 + np.arange(2000, 3600, 7) * S
    v_all, _ = st.values("liquidations.liq_volume@1m:zscore", 0, grid)
    v_one = [st.values("liquidations.liq_volume@1m:zscore", 0, grid[i:i + 1])[0][0] for i in range(0, len(grid), 37)]
    np.testing.assert_array_equal(v_all[::37], v_one)


def test_flat_history_gives_zero_and_short_history_gives_null():
    e = ev([(0, TR, Side.BUY, 1.0, 1.0)] + [(60 * k + 30, L, Side.LONG, 1.0, 1.0) for k in range(40)])
    st = FeatureStore(e, SymbolRegistry([("bybit", "ETHUSDT")]), lookback=96, min_periods=20)
    v, r = one(st, "liquidations.liq_count@1m:zscore", 60 * 39 + 30)
    assert r == 0 and v == 0.0  # every past minute had exactly one liquidation
    assert one(st, "liquidations.liq_count@1m:std", 60 * 39 + 30)[0] == 0.0
    assert one(st, "liquidations.liq_count@1m:zscore", 60 * 10 + 30)[1] == R_HIST  # 10 past values < 20


# ---- the Python API and bad input -----------------------------------------------------------------

def test_historical_frame_and_null_reasons():
    from liqcore.synthetic.market import synthetic_market

    m = synthetic_market(days=1, symbols=("BTCUSDT", "ETHUSDT"), seed=5)
    times = ["2026-01-05T18:00:00Z", m.start_ns + 3600 * S, m.start_ns - S]
    df = historical(times, "liquidations.liq_imbalance@15m:zscore,flow.ofi@5m:zscore,funding.funding_avg@1h", m,
                    symbol="ETHUSDT")
    assert list(df.columns[:3]) == ["t_ns", "time", "symbol"] and len(df) == 3
    assert df["symbol"].unique().tolist() == ["bybit:ETHUSDT"]
    assert df.iloc[0, 3:].notna().all()
    assert df.iloc[2, 3:].isna().all()
    assert df.attrs["null_reasons"]["bybit:ETHUSDT"]["flow.ofi@5m:zscore"]["before the start of the data"] == 1
    both = historical([m.start_ns + 20 * 3600 * S], ["flow.ofi@5m"], m)
    assert sorted(both["symbol"]) == ["bybit:BTCUSDT", "bybit:ETHUSDT"]
    with pytest.raises(ValueError, match="symbol: 'DOGEUSDT' is not in the data"):
        historical(times, ["flow.ofi@5m"], m, symbol="DOGEUSDT")
    with pytest.raises(ValueError, match="neither ISO-8601"):
        historical(["noon"], ["flow.ofi@5m"], m)
    with pytest.raises(ValueError, match="min_periods"):
        historical(times, ["flow.ofi@5m"], m, lookback=10, min_periods=20)


def test_bad_values_are_dropped_and_counted():
    e = ev([(0, TR, Side.BUY, 1.0, 1.0), (1, L, Side.LONG, math.nan, 1.0), (2, L, Side.LONG, -1.0, 1.0),
            (3, L, Side.LONG, 1e300, 1e300), (4, L, Side.LONG, 2.0, 1.0), (70, TR, Side.BUY, 1.0, 1.0)])
    st = FeatureStore(e, SymbolRegistry([("bybit", "ETHUSDT")]))
    assert st.dropped == {"bad_liquidation": 3}
    assert one(st, "liquidations.liq_volume@1m", 60)[0] == 2.0


# ---- user features --------------------------------------------------------------------------------

def test_user_feature_sees_only_the_past_and_gets_transforms():
    def last_liq_qty(events, t_ns, window_ns):
        liq = events[events["kind"] == Kind.LIQUIDATION]
        assert (events["ts_recv"] <= t_ns).all()
        return float(liq["qty"][-1]) if len(liq) else None

    register_feature("mine.last_liq_qty", last_liq_qty, definition="qty of the last liquidation")
    try:
        with pytest.raises(FeatureNameError, match="already registered"):
            register_feature("mine.last_liq_qty", last_liq_qty)
        with pytest.raises(FeatureNameError, match="built-in family"):
            register_feature("flow.mine", last_liq_qty)
        e = ev([(0, TR, Side.BUY, 1.0, 1.0)] + [(10 * k + 5, L, Side.LONG, 1.0, float(k + 1)) for k in range(50)])
        st = FeatureStore(e, SymbolRegistry([("bybit", "ETHUSDT")]))
        assert one(st, "mine.last_liq_qty@10s", 300)[0] == 30.0
        assert one(st, "mine.last_liq_qty@10s:max", 300)[0] == 29.0
        with pytest.raises(FeatureNameError, match="unknown feature"):
            parse_name("mine.nope@1m")
    finally:
        unregister_feature("mine.last_liq_qty")
    with pytest.raises(FeatureNameError, match="unknown family"):
        parse_name("mine.last_liq_qty@1m")


# ---- live == historical ---------------------------------------------------------------------------

def _multi_venue_market():
    from liqcore.synthetic.market import synthetic_market

    a = synthetic_market(days=0.5, symbols=("BTCUSDT", "ETHUSDT"), seed=3)
    b = synthetic_market(days=0.5, symbols=("ETHUSDT", "BTCUSDT"), seed=4, venue="binance")
    reg = SymbolRegistry()
    ra, rb = reg.merge(a.registry), reg.merge(b.registry)
    ea, eb = a.events.copy(), b.events.copy()
    ea["symbol_id"] = ra[ea["symbol_id"]]
    eb["symbol_id"] = rb[eb["symbol_id"]]
    eb = eb[b.sampled_mask("binance")]
    g = np.zeros(2, EVENT_DTYPE)
    g["kind"], g["venue"] = int(Kind.GAP), [1, 2]
    g["symbol_id"] = [-1, reg.get("binance", "ETHUSDT")]
    g["ts_recv"] = g["ts_event"] = [a.start_ns + 3 * 3600 * S, a.start_ns + 5 * 3600 * S]
    g["price"] = math.nan
    oi = np.zeros(300, EVENT_DTYPE)
    oi["kind"], oi["venue"], oi["symbol_id"] = int(Kind.OPEN_INTEREST), 1, reg.get("bybit", "ETHUSDT")
    oi["ts_recv"] = oi["ts_event"] = a.start_ns + np.arange(300) * 120 * S + 7
    oi["qty"] = 1e5 + np.cumsum(np.random.default_rng(1).normal(0, 100, 300))
    oi["price"] = math.nan
    e = np.concatenate([ea, eb, g, oi])
    return e[np.argsort(e["ts_recv"], kind="stable")], reg, a.start_ns


def test_live_value_equals_historical_on_the_recording():
    e, reg, start = _multi_venue_market()
    names = list(NAMED_FEATURES) + ["liquidations/all.liq_cascade_count@1h", "liquidations/all.liq_largest@5m",
                                    "liquidations.market_wide@1m", "liquidations.market_wide@1h"]
    full = FeatureStore(e, reg, lookback=24, min_periods=5)
    lf = LiveFeatures(names, reg, lookback=24, min_periods=5)
    ts = e["ts_recv"]
    rng = np.random.default_rng(0)
    times = np.sort(np.concatenate([rng.integers(start + 3600 * S, start + 11 * 3600 * S, 5),
                                    ts[rng.integers(len(ts) // 3, len(ts) - 10, 3)]]))
    i, checked, nonnull = 0, 0, 0
    for t in times.tolist():
        j = int(np.searchsorted(ts, t, side="right"))
        lf.on_events(e[i:j])
        i = j
        lf.advance(t)
        for sym in ("bybit:ETHUSDT", "binance:ETHUSDT", "bybit:BTCUSDT"):
            sid = full.resolve(sym)[0]
            for n in names:
                hv, hr = full.values(n, sid, np.array([t]))
                want = None if hr[0] else float(hv[0])
                got = lf.value(n, sym)
                checked += 1
                nonnull += want is not None
                assert (want is None) == (got is None), (n, sym, t, want, got, REASONS[hr[0]], lf.why_null(n, sym))
                if want is not None:
                    assert got == want or got == pytest.approx(want, rel=1e-12), (n, sym, t)
            full._clear_cache()
    assert nonnull > checked * 0.6


def test_engine_keeps_features_current():
    from liqcore.live.engine import Engine

    e, reg, start = _multi_venue_market()
    e = e[e["venue"] == int(Venue.BYBIT)]
    names = ["liquidations.liq_imbalance@15m:zscore", "flow.ofi@5m:zscore", "funding.funding_avg@1h"]
    eng = Engine(symbols=["ETHUSDT"], registry=reg, features=names)
    cut = int(np.searchsorted(e["ts_recv"], start + 8 * 3600 * S))
    eng.on_events(e[:cut])
    t = int(e["ts_recv"][cut - 1])
    want = historical([t], names, FeatureStore(e, reg), symbol="bybit:ETHUSDT")
    for n in names:
        assert eng.feature(n, "ETHUSDT") == pytest.approx(float(want[n].iloc[0]), rel=1e-12)
    with pytest.raises(ValueError, match="not kept"):
        eng.feature("flow.ofi@1m", "ETHUSDT")
    assert Engine(symbols=["ETHUSDT"]).features is None


def test_live_user_feature_equals_historical():
    def liq_qty_sum(events, t_ns, window_ns):
        liq = events[(events["kind"] == Kind.LIQUIDATION) & (events["ts_recv"] > t_ns - window_ns)]
        return float(liq["qty"].sum())

    register_feature("mine.liq_qty", liq_qty_sum, replace=True)
    try:
        rng = np.random.default_rng(4)
        rows = [(0, TR, Side.BUY, 1.0, 1.0)] + [(float(x), L, Side.LONG, 1.0, float(rng.integers(1, 9)))
                                                 for x in np.sort(rng.uniform(1, 1800, 300))]
        rows.append((1800, TR, Side.BUY, 1.0, 1.0))
        e = ev(rows)
        reg = SymbolRegistry([("bybit", "ETHUSDT")])
        full = FeatureStore(e, reg, lookback=10, min_periods=3)
        lf = LiveFeatures(["mine.liq_qty@1m", "mine.liq_qty@1m:zscore"], reg, lookback=10, min_periods=3)
        for t in (700.5, 1200.25, 1799.0):
            lf.on_events(e[(e["ts_recv"] > lf.now if lf.now is not None else True) & (e["ts_recv"] <= T0 + int(t * S))])
            lf.advance(T0 + int(t * S))
            for n in lf.names:
                want = one(full, n, t)[0]
                assert want is not None and lf.value(n, "ETHUSDT") == want
    finally:
        unregister_feature("mine.liq_qty")


def test_runner_snapshot_shows_the_engine_features():
    from liqcore.live.engine import Engine
    from liqcore.live.runner import LiveRunner

    e, reg, start = _multi_venue_market()
    e = e[e["venue"] == int(Venue.BYBIT)]
    eng = Engine(symbols=["ETHUSDT", "SOLUSDT"], registry=reg, features=["flow.ofi@5m", "liquidations.liq_rate@1m"])
    runner = LiveRunner(eng, "bybit", ["ETHUSDT", "SOLUSDT"])
    assert runner.snapshot()["features"]["bybit:SOLUSDT"] == {"flow.ofi@5m": None, "liquidations.liq_rate@1m": None}
    eng.on_events(e[: int(np.searchsorted(e["ts_recv"], start + 2 * 3600 * S))])
    snap = runner.snapshot()["features"]
    assert snap["bybit:ETHUSDT"]["liquidations.liq_rate@1m"] == eng.feature("liquidations.liq_rate@1m", "ETHUSDT")
    assert snap["bybit:ETHUSDT"]["flow.ofi@5m"] is not None
    assert snap["bybit:SOLUSDT"]["flow.ofi@5m"] is None  # no SOL in this stream
    # hours of stream through windows of minutes: old entries were dropped, values unchanged
    assert eng.features.store._insts[reg.get("bybit", "ETHUSDT")].trades.off > 0
    t = int(eng.features.now)
    want = historical([t], ["flow.ofi@5m", "liquidations.liq_rate@1m"], (e, reg), symbol="bybit:ETHUSDT")
    assert eng.feature("flow.ofi@5m", "ETHUSDT") == float(want["flow.ofi@5m"].iloc[0])
    assert eng.feature("liquidations.liq_rate@1m", "ETHUSDT") == float(want["liquidations.liq_rate@1m"].iloc[0])
    with pytest.raises(FeatureNameError):
        Engine(symbols=["ETHUSDT"], features=["flow.ofi@5x"])


def test_liq_buy_volume_is_bybits_buy_side_a_long_liquidated():
    """A Bybit ``allLiquidation`` frame with ``"S":"Buy"`` (a long liquidated, as the venue and the research
    plan spell it) counts in ``liq_buy_volume``, never in ``liq_sell_volume``; ``liq_imbalance`` is
    (sell - buy) / total, so negative."""
    from liqcore.venues.decoder import Decoder

    reg = SymbolRegistry([("bybit", "ETHUSDT")])
    dec = Decoder("bybit", registry=reg)
    early = (b'{"topic":"allLiquidation.ETHUSDT","type":"snapshot","ts":1739502183204,'  # 2 min before: covers the window
             b'"data":[{"T":1739502182929,"s":"ETHUSDT","S":"Sell","v":"1","p":"3000"}]}')
    frame = (b'{"topic":"allLiquidation.ETHUSDT","type":"snapshot","ts":1739502303204,'
             b'"data":[{"T":1739502302929,"s":"ETHUSDT","S":"Buy","v":"2","p":"3000"}]}')
    ev = np.concatenate([dec.feed(early, 1739502183204 * 1_000_000), dec.feed(frame, 1739502303204 * 1_000_000)])
    store = FeatureStore(ev, reg)
    t = [1739502303204 * 1_000_000]
    (part,) = store.compute(t, ["liquidations.liq_buy_volume@1m", "liquidations.liq_sell_volume@1m",
                                "liquidations.liq_imbalance@1m"])
    v = {k: float(a[0]) for k, a in part["values"].items()}
    assert v["liquidations.liq_buy_volume@1m"] == pytest.approx(6000.0)
    assert v["liquidations.liq_sell_volume@1m"] == 0.0
    assert v["liquidations.liq_imbalance@1m"] == -1.0
