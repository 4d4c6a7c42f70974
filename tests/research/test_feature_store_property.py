"""Feature store against a brute-force reading of the definitions, and the cut-input property, on
random streams (ties in receive time, empty windows, windows at the edges of the data)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.research import FeatureStore
from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry

S = 1_000_000_000
REG = SymbolRegistry([("bybit", "ETHUSDT")])

event = st.tuples(st.integers(0, 120), st.sampled_from([Kind.LIQUIDATION, Kind.TRADE]), st.booleans(),
                  st.sampled_from([1.0, 2.0, 2.5, 100.0]), st.sampled_from([0.5, 1.0, 3.0, 1e6]))


def build(rows):
    e = np.zeros(len(rows), EVENT_DTYPE)
    for i, (t, k, first_side, p, q) in enumerate(rows):
        side = (Side.LONG if first_side else Side.SHORT) if k == Kind.LIQUIDATION else (Side.BUY if first_side else Side.SELL)
        e[i] = (t * S, t * S, p, q, 0, int(side), int(k), 1, 0)
    return e[np.argsort(e["ts_recv"], kind="stable")]


def brute(e, name, W, t):
    ts = e["ts_recv"]
    if t < ts[0]:
        return None
    if t > ts[-1]:
        return None
    win = e[(ts > t - W) & (ts <= t)]
    liq = win[win["kind"] == Kind.LIQUIDATION]
    trd = win[win["kind"] == Kind.TRADE]
    n = liq["price"] * liq["qty"]
    long_ = liq["side"] == Side.LONG
    if name.startswith("liquidations"):
        if t - W < ts[0]:
            return None
        if name == "liquidations.liq_volume":
            return math.fsum(n)
        if name == "liquidations.liq_long_count":
            return float(long_.sum())
        if name == "liquidations.liq_imbalance":
            return None if not len(liq) else (math.fsum(n[~long_]) - math.fsum(n[long_])) / math.fsum(n)
        if name == "liquidations.liq_largest":
            return None if not len(liq) else float(n.max())
    trades = e[e["kind"] == Kind.TRADE]
    if not len(trades) or t - W < trades["ts_recv"][0]:
        return None
    tn = trd["price"] * trd["qty"]
    buy = trd["side"] == Side.BUY
    if name == "flow.ofi":
        return None if not len(trd) else (math.fsum(tn[buy]) - math.fsum(tn[~buy])) / math.fsum(tn)
    if name == "flow.trade_count":
        return float(len(trd))
    if name == "price.return":
        before = trades[trades["ts_recv"] <= t - W]
        now = trades[trades["ts_recv"] <= t]
        return float(now["price"][-1] / before["price"][-1] - 1)
    raise AssertionError(name)


NAMES = ["liquidations.liq_volume", "liquidations.liq_long_count", "liquidations.liq_imbalance",
         "liquidations.liq_largest", "flow.ofi", "flow.trade_count", "price.return"]


@given(st.lists(event, min_size=1, max_size=80), st.lists(st.integers(-5, 130), min_size=1, max_size=8),
       st.sampled_from([1, 7, 30]))
@settings(max_examples=60)
def test_values_match_the_definitions(rows, qs, w):
    e = build(rows)
    store = FeatureStore(e, REG)
    times = np.array(sorted(qs), dtype=np.int64) * S
    for name in NAMES:
        got, reason = store.values(f"{name}@{w}s", 0, times)
        for i, t in enumerate(times.tolist()):
            want = brute(e, name, w * S, t)
            if want is None:
                assert reason[i] != 0, (name, t)
            else:
                assert reason[i] == 0, (name, t, reason[i])
                assert got[i] == pytest.approx(want, rel=1e-9, abs=1e-9), (name, t)


@given(st.lists(event, min_size=2, max_size=80), st.integers(0, 125), st.sampled_from(["", ":zscore", ":rank", ":max"]))
@settings(max_examples=60)
def test_cutting_the_input_at_t_changes_nothing_at_t(rows, cut, tf):
    e = build(rows)
    full = FeatureStore(e, REG, lookback=6, min_periods=2)
    s = cut * S
    part = e[e["ts_recv"] <= s]
    if not len(part) or s > e["ts_recv"][-1]:  # a cut inside the data
        return
    trunc = FeatureStore(part, REG, end_ns=s, lookback=6, min_periods=2)
    for name in NAMES:
        a, ra = full.values(f"{name}@7s{tf}", 0, np.array([s]))
        b, rb = trunc.values(f"{name}@7s{tf}", 0, np.array([s]))
        assert (ra[0] == 0) == (rb[0] == 0), name
        if ra[0] == 0:
            assert a[0] == b[0], name  # bit for bit
