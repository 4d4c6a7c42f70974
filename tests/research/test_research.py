"""Research tools: point-in-time feature bars and the post-cascade event study."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.config import Params
from liqcore.research import event_study, features, summarize_study
from liqcore.types import CASCADE_DTYPE, Dominant, Kind, RecordKind, Side, SymbolRegistry, Venue, make_events

S = 1_000_000_000
M = 60 * S
T0 = 1_767_571_200 * S  # 2026-01-05 00:00 UTC, a whole minute

L, SH, B, SE = int(Side.LONG), int(Side.SHORT), int(Side.BUY), int(Side.SELL)
LIQ, TRD, FUND, MARK = int(Kind.LIQUIDATION), int(Kind.TRADE), int(Kind.FUNDING), int(Kind.MARK)


def _ev(rows, registry=None):
    """rows: (ts_recv, kind, side, price, qty, symbol_id[, ts_event])"""
    cols = {k: [] for k in ("ts_event", "ts_recv", "kind", "side", "price", "qty", "symbol_id", "venue")}
    for r in rows:
        ts, kind, side, px, q, sid = r[:6]
        cols["ts_recv"].append(ts)
        cols["ts_event"].append(r[6] if len(r) > 6 else ts)
        cols["kind"].append(kind)
        cols["side"].append(side)
        cols["price"].append(px)
        cols["qty"].append(q)
        cols["symbol_id"].append(sid)
        cols["venue"].append(int(Venue.BYBIT))
    return make_events(**cols)


def _reg(*names):
    return SymbolRegistry(("bybit", n) for n in names)


# ---------------------------------------------------------------------------------- feature bars
def test_hand_built_bars_exact():
    reg = _reg("ETHUSDT")
    ev = _ev([
        (T0 + 1 * S, LIQ, L, 100.0, 2.0, 0),          # long liquidated 200
        (T0 + 2 * S, TRD, B, 100.0, 1.0, 0),
        (T0 + 3 * S, LIQ, L, 99.0, 1.0, 0),           # long liquidated 99
        (T0 + 4 * S, LIQ, SH, 101.0, 1.0, 0),         # short liquidated 101
        (T0 + 5 * S, TRD, SE, 98.0, 3.0, 0),
        (T0 + 6 * S, FUND, 0, 0.0001, 0.0, 0),
        (T0 + 59 * S, TRD, B, 99.0, 2.0, 0, T0 - 10 * S),  # old ts_event, received in bar 0
        (T0 + M, TRD, SE, 97.0, 1.0, 0),              # exactly at bar 0's close -> bar 1
        (T0 + 3 * M + 1, TRD, B, 101.0, 1.0, 0),      # bar 3 (bar 2 empty)
        (T0 + 3 * M + 2, FUND, 0, -0.0002, 0.0, 0),
    ])
    df = features(ev, reg, bar="1m", zscore_window=4, lag="5s", records=np.zeros(0, CASCADE_DTYPE))
    assert list(df["bar_start_ns"]) == [T0, T0 + M, T0 + 2 * M, T0 + 3 * M]
    assert list(df["available_ns"]) == [T0 + M + 5 * S, T0 + 2 * M + 5 * S, T0 + 3 * M + 5 * S, T0 + 4 * M + 5 * S]
    r0, r1, r2, r3 = (df.iloc[i] for i in range(4))
    assert (r0.liq_count, r0.liq_count_long, r0.liq_count_short) == (3, 2, 1)
    assert r0.liq_notional_long == pytest.approx(299.0) and r0.liq_notional_short == pytest.approx(101.0)
    assert r0.liq_imbalance == pytest.approx((101.0 - 299.0) / 400.0)
    assert r0.liq_rate == 3.0  # per minute
    assert (r0.trade_count, r0.trade_volume, r0.taker_buy_volume, r0.taker_sell_volume) == (3, 6.0, 3.0, 3.0)
    assert r0.trade_notional == pytest.approx(100 + 294 + 198)
    assert r0.ofi == 0.0
    assert (r0.first_price, r0.last_price, r0.price) == (100.0, 99.0, 99.0)
    assert math.isnan(r0.ret)
    assert r0.funding_rate == 0.0001 and math.isnan(r0.mark_price)
    assert r1.trade_count == 1 and r1.ofi == -1.0 and r1.liq_count == 0 and r1.liq_imbalance == 0.0
    assert r1.price == 97.0 and r1.ret == pytest.approx(97 / 99 - 1)
    assert r1.funding_rate == 0.0001  # last rate known, carried
    assert r2.trade_count == 0 and math.isnan(r2.last_price) and r2.price == 97.0 and r2.ret == 0.0
    assert r3.price == 101.0 and r3.ret == pytest.approx(101 / 97 - 1) and r3.funding_rate == -0.0002
    assert r3.ofi == 1.0
    # z needs zscore_min = max(2, 4 // 4) = 2 earlier bars: bars 0, 1 have none
    assert df["z_ofi"].iloc[:2].isna().all()
    base = np.array([0.0, -1.0])
    assert r2.z_ofi == pytest.approx((0.0 - base.mean()) / base.std())
    base = np.array([0.0, -1.0, 0.0])
    assert r3.z_ofi == pytest.approx((1.0 - base.mean()) / base.std())
    # sparse: the empty bar 2 goes, the numbers stay
    sp = features(ev, reg, bar="1m", zscore_window=4, lag="5s", records=np.zeros(0, CASCADE_DTYPE), dense=False)
    assert list(sp["bar_start_ns"]) == [T0, T0 + M, T0 + 3 * M]
    assert sp.iloc[2].z_ofi == r3.z_ofi


def test_cascade_columns_from_records():
    reg = _reg("ETHUSDT", "SOLUSDT")
    ev = _ev([(T0 + 1, TRD, B, 10.0, 1.0, 0), (T0 + 5 * M, TRD, B, 10.0, 1.0, 0), (T0 + 1, TRD, B, 5.0, 1.0, 1)])
    rec = np.zeros(4, CASCADE_DTYPE)
    rec["record"] = [RecordKind.CONFIRMED, RecordKind.CONFIRMED, RecordKind.ENDED, RecordKind.CONFIRMED]
    rec["symbol_id"] = [0, 0, 0, 1]
    rec["confirm_recv_ns"] = [T0 + 2 * M + 1, T0 + 2 * M + 9, T0 + 4 * M, T0 + 30 * S]
    rec["dominant"] = [Dominant.LONG, Dominant.SHORT, Dominant.LONG, Dominant.MIXED]
    rec["long_notional"] = [5.0, 1.0, 9.0, 2.0]
    rec["short_notional"] = [1.0, 3.0, 9.0, 2.0]
    df = features(ev, reg, bar="1m", records=rec)
    eth = df[df.symbol == "ETHUSDT"].set_index("bar_start_ns")
    assert eth.loc[T0 + 2 * M, ["cascades", "cascades_long", "cascades_short"]].tolist() == [2, 1, 1]
    assert eth.loc[T0 + 2 * M, "cascade_notional"] == 10.0
    assert eth["cascades"].sum() == 2  # the ENDED record is not a confirmation
    sol = df[df.symbol == "SOLUSDT"]
    assert sol["cascades"].tolist() == [1] and sol["cascades_long"].tolist() == [0]
    only = features(ev, reg, bar="1m", records=rec, symbols=["bybit:SOLUSDT"])
    assert set(only.symbol) == {"SOLUSDT"} and only["cascades"].sum() == 1


def test_bad_values_counted_and_dropped():
    reg = _reg("ETHUSDT")
    ev = _ev([
        (T0 + 1, TRD, B, 10.0, 1.0, 0), (T0 + 2, TRD, B, float("nan"), 1.0, 0), (T0 + 3, TRD, SE, 10.0, -1.0, 0),
        (T0 + 4, LIQ, L, 0.0, 1.0, 0), (T0 + 5, FUND, 0, float("inf"), 0.0, 0),
    ])
    df = features(ev, reg, records=np.zeros(0, CASCADE_DTYPE))
    assert df.attrs["dropped"] == {"bad_trade": 2, "bad_liquidation": 1, "bad_funding_rate": 1}
    assert df.iloc[0].trade_count == 1 and df.iloc[0].liq_count == 0 and math.isnan(df.iloc[0].funding_rate)


@pytest.mark.parametrize("kw, field", [({"bar": "0s"}, "bar"), ({"bar": "soon"}, "bar"), ({"lag": "-1s"}, "lag"),
                                      ({"zscore_window": 0}, "zscore_window"), ({"symbols": ["NOPE"]}, "symbols")])
def test_bad_arguments_name_the_field(kw, field):
    reg = _reg("ETHUSDT")
    ev = _ev([(T0 + 1, TRD, B, 10.0, 1.0, 0)])
    with pytest.raises(ValueError, match=field):
        features(ev, reg, **kw)
    with pytest.raises(ValueError, match="events"):
        features(np.zeros(3), reg)


@pytest.fixture(scope="module")
def market():
    from liqcore.synthetic.market import synthetic_market

    return synthetic_market(days=1, seed=11)


def test_pandas_resample_cross_check(market):
    df = features(market.events, market.registry, bar="5m", zscore_window=12)
    ev = market.events
    for sid, _v, sym in market.registry:
        mine = ev[ev["symbol_id"] == sid]
        frame = pd.DataFrame({"t": pd.to_datetime(mine["ts_recv"], unit="ns", utc=True), "kind": mine["kind"],
                              "side": mine["side"], "px": mine["price"], "q": mine["qty"]}).set_index("t")
        liq = frame[frame.kind == LIQ]
        trd = frame[frame.kind == TRD]
        got = df[df.symbol == sym].set_index("bar_start")
        long_n = (liq.px * liq.q).where(liq.side == L, 0.0).resample("5min").sum()
        short_n = (liq.px * liq.q).where(liq.side == SH, 0.0).resample("5min").sum()
        n_tr = trd.px.resample("5min").count()
        last = trd.px.resample("5min").last()
        buy = trd.q.where(trd.side == B, 0.0).resample("5min").sum()
        sell = trd.q.where(trd.side == SE, 0.0).resample("5min").sum()
        common = got.index.intersection(n_tr.index)
        assert len(common) > 250
        np.testing.assert_allclose(got.loc[long_n.index, "liq_notional_long"], long_n, rtol=1e-9)
        np.testing.assert_allclose(got.loc[short_n.index, "liq_notional_short"], short_n, rtol=1e-9)
        np.testing.assert_array_equal(got.loc[common, "trade_count"], n_tr.loc[common])
        np.testing.assert_allclose(got.loc[common, "last_price"], last.loc[common])
        ofi = ((buy - sell) / (buy + sell)).loc[common]
        np.testing.assert_allclose(got.loc[common, "ofi"], ofi, rtol=1e-9, atol=1e-12)
        # z of the liquidation rate: the previous 12 bars (population std), pandas rolling on shifted bars
        x = got["liq_rate"]
        mu = x.shift(1).rolling(12, min_periods=3).mean()
        sd = x.shift(1).rolling(12, min_periods=3).std(ddof=0)
        ok = sd > 1e-9
        np.testing.assert_allclose(got["z_liq_rate"][ok], ((x - mu) / sd)[ok], rtol=1e-7, atol=1e-9)
        assert got["z_liq_rate"].iloc[:3].isna().all()


def test_zscores_equal_the_reference_twin(market):
    from pysrc.zscore import RollingZScore as TwinZ

    df = features(market.events, market.registry, bar="15m", zscore_window=8)
    for sym in ("BTCUSDT", "DOGEUSDT"):
        got = df[df.symbol == sym]
        for z, src in (("z_liq_imbalance", "liq_imbalance"), ("z_ofi", "ofi"), ("z_liq_notional", "liq_notional")):
            twin = TwinZ(8, 2)
            want = np.array([twin.update(v) for v in got[src]])
            np.testing.assert_allclose(got[z].to_numpy(), want, rtol=1e-9, atol=1e-9, equal_nan=True)


_event_rows = st.lists(
    st.tuples(
        st.integers(0, 40 * M),                       # ts_recv offset
        st.sampled_from([LIQ, LIQ, TRD, TRD, FUND]),  # kind
        st.booleans(),                                # side choice
        st.floats(90.0, 110.0),                       # price
        st.floats(0.01, 50.0),                        # qty
        st.integers(0, 1),                            # symbol
        st.integers(0, 5 * S),                        # receive latency
    ),
    min_size=1, max_size=80,
)


def _rows_to_events(rows):
    out = []
    for off, kind, side, px, q, sid, lat in rows:
        if kind == LIQ:
            out.append((T0 + off, kind, L if side else SH, px, q, sid, T0 + off - lat))
        elif kind == TRD:
            out.append((T0 + off, kind, B if side else SE, px, q, sid, T0 + off - lat))
        else:
            out.append((T0 + off, kind, 0, (px - 100.0) * 1e-5, 0.0, sid, T0 + off - lat))
    return _ev(out)


@pytest.mark.property
@settings(max_examples=60)
@given(rows=_event_rows, cut=st.integers(1, 40 * M), bar=st.sampled_from(["1m", "5m", "7s"]),
       lag=st.sampled_from(["0s", "30s"]))
def test_leak_free_appending_future_events_changes_no_earlier_row(rows, cut, bar, lag):
    """Rows whose bar closed at or before T are identical whether or not events received at or after
    T exist: nothing in a row depends on an event with ts_recv >= available_ns - lag."""
    reg = _reg("ETHUSDT", "SOLUSDT")
    ev = _rows_to_events(rows)
    ev = ev[np.argsort(ev["ts_recv"], kind="stable")]
    T = T0 + cut
    past = ev[ev["ts_recv"] < T]
    params = Params(min_history=3, refresh_ns=0, window_ns=120 * S)
    kw = dict(bar=bar, zscore_window=5, lag=lag, params=params)
    full = features(ev, reg, **kw)
    lag_ns = full.attrs["lag_ns"]
    want = full[full["available_ns"] - lag_ns <= T].reset_index(drop=True)
    if len(past) == 0:
        assert want.empty
        return
    part = features(past, reg, **kw)
    got = part[part["available_ns"] - lag_ns <= T].reset_index(drop=True)
    key = ["symbol_id", "bar_start_ns"]
    common = want.merge(got[key], on=key, how="inner")
    assert len(common) == len(got)  # every row known at T is in the full run ...
    pd.testing.assert_frame_equal(got, common, check_exact=True)  # ... with the very same values
    # bars of the full run that the past-only grid does not reach yet lie after the symbol's last
    # past event and hold no event (the grid of a symbol ends at its last event)
    extra = want.merge(got[key], on=key, how="left", indicator=True)
    extra = extra[extra["_merge"] == "left_only"]
    assert (extra[["liq_count", "trade_count", "cascades"]] == 0).all().all()
    for sid, g in extra.groupby("symbol_id"):
        mine = past[past["symbol_id"] == sid]
        if len(mine):
            assert g["bar_start_ns"].min() > mine["ts_recv"].max()


# ----------------------------------------------------------------------------------- event study
def _records(rows):
    rec = np.zeros(len(rows), CASCADE_DTYPE)
    for i, (t, sid, dom) in enumerate(rows):
        rec[i]["record"] = RecordKind.CONFIRMED
        rec[i]["confirm_recv_ns"] = t
        rec[i]["confirm_ns"] = t
        rec[i]["start_ns"] = t - S
        rec[i]["symbol_id"] = sid
        rec[i]["dominant"] = dom
        rec[i]["cascade_id"] = i
        rec[i]["event_index"] = i
    return rec


def test_event_study_hand_built_path():
    reg = _reg("ETHUSDT", "SOLUSDT")
    t0 = T0 + 10 * M
    path = [(-2 * S, 100.2), (0, 100.0), (5 * S, 99.0), (20 * S, 101.0), (50 * S, 102.0), (4 * M, 100.5),
            (20 * M, 103.0)]
    ev = _ev([(t0 + dt, TRD, B, px, 1.0, 0) for dt, px in path] + [(t0 + dt, TRD, B, 20.0, 1.0, 1) for dt in (0, M)])
    t1 = t0 + 19 * M
    rec = _records([(t0, 0, Dominant.LONG), (t1, 0, Dominant.SHORT), (t0 + 1, 1, Dominant.MIXED),
                    (T0, 0, Dominant.LONG)])  # the last one: before any trade
    df = event_study(ev, reg, records=rec, horizons=("10s", "30s", "1m", "5m", "15m")).set_index("cascade_id")
    a = df.loc[0]
    assert a.ref_price == 100.0 and a.ref_age_ns == 0 and a.sign == 1.0  # the trade AT the decision counts
    exp = {"10s": (-0.01, 0.01, 0.0), "30s": (0.01, 0.01, 0.01), "1m": (0.02, 0.01, 0.02),
           "5m": (0.005, 0.01, 0.02), "15m": (0.005, 0.01, 0.02)}
    for h, (r, mae, mfe) in exp.items():
        assert a[f"ret_{h}"] == pytest.approx(r) and a[f"signed_ret_{h}"] == pytest.approx(r)
        assert a[f"mae_{h}"] == pytest.approx(mae, abs=1e-12) and a[f"mfe_{h}"] == pytest.approx(mfe, abs=1e-12)
    b = df.loc[1]  # short-dominant: a move up is adverse
    assert b.sign == -1.0 and b.ref_age_ns == 19 * M - 4 * M
    assert math.isnan(b.ref_price) and math.isnan(b["ret_10s"])  # older than max-ref-age (5 s): no reference
    b = event_study(ev, reg, records=rec, horizons=("10s", "1m", "15m"), max_ref_age="1h").set_index("cascade_id").loc[1]
    assert b.ref_price == 100.5 and b["signed_ret_10s"] == 0.0 and b["mae_10s"] == 0.0
    assert b["signed_ret_1m"] == pytest.approx(-(103 / 100.5 - 1)) and b["mae_1m"] == pytest.approx(103 / 100.5 - 1)
    assert math.isnan(b["ret_15m"])  # past the last recorded trade: not observed
    c = df.loc[2]  # mixed: raw return only
    assert c.dominant == "mixed" and math.isnan(c.sign) and c["ret_30s"] == 0.0 and math.isnan(c["signed_ret_30s"])
    assert math.isnan(c["ret_1m"])  # t0 + 1 ns + 1m is after SOL's last trade (t0 + 1m)
    d = df.loc[3]
    assert math.isnan(d.ref_price) and d.ref_age_ns == -1 and math.isnan(d["ret_10s"])


def test_event_study_default_runs_the_detector(market):
    from liqcore.backtest.run import detect
    from liqcore.research.features import sort_recv

    ev = sort_recv(market.events)
    recs, _ = detect(ev, Params())
    a = event_study(market.events, market.registry)
    b = event_study(market.events, market.registry, records=recs)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == int((recs["record"] == RecordKind.CONFIRMED).sum()) > 5
    assert a["ref_price"].notna().mean() > 0.9
    s = summarize_study(a, n_boot=300)
    assert set(s.dominant) >= {"long", "short", "both"} and (s.symbol == "ALL").any()
    allr = s[(s.symbol == "ALL") & (s.dominant == "both") & (s.horizon == "1m")].iloc[0]
    x = a[a.dominant.isin(["long", "short"])]["signed_ret_1m"].dropna()
    assert allr.n == len(x) and allr["mean"] == pytest.approx(x.mean()) and allr["median"] == pytest.approx(x.median())
    assert allr.reversion_share == pytest.approx((x > 0).mean())


def test_summarize_study_known_numbers():
    df = pd.DataFrame({
        "symbol": ["A"] * 4 + ["B"] * 2, "dominant": ["long", "long", "long", "short", "long", "mixed"],
        "signed_ret_1m": [0.01, 0.03, -0.01, 0.02, 0.05, np.nan],
        "mae_1m": [0.0, 0.01, 0.02, 0.0, 0.0, np.nan], "mfe_1m": [0.01, 0.03, 0.0, 0.02, 0.05, np.nan],
    })
    df.attrs["horizons"] = ["1m"]
    s = summarize_study(df, n_boot=500, seed=1).set_index(["symbol", "dominant"])
    a = s.loc[("A", "long")]
    x = np.array([0.01, 0.03, -0.01])
    assert a.n == 3 and a["mean"] == pytest.approx(0.01) and a["median"] == pytest.approx(0.01)
    assert a.t_stat == pytest.approx(x.mean() / (x.std(ddof=1) / math.sqrt(3)))
    assert a.ci_low <= a["mean"] <= a.ci_high and a.ci_low >= -0.01 and a.ci_high <= 0.03
    assert a.reversion_share == pytest.approx(2 / 3) and a.mean_mae == pytest.approx(0.01)
    pooled = s.loc[("ALL", "long")]
    assert pooled.n == 4 and pooled["mean"] == pytest.approx(0.02)
    assert s.loc[("ALL", "both")].n == 5  # the mixed cascade carries no sign
    one = s.loc[("A", "short")]
    assert one.n == 1 and math.isnan(one.t_stat) and math.isnan(one.ci_low)
    with pytest.raises(ValueError, match="ci"):
        summarize_study(df, ci=1.5)


def test_event_study_bad_horizons():
    reg = _reg("ETHUSDT")
    ev = _ev([(T0, TRD, B, 1.0, 1.0, 0)])
    for h in (("0s",), ("later",), ()):
        with pytest.raises(ValueError, match="horizons"):
            event_study(ev, reg, horizons=h)


# -------------------------------------------------------------------------------------------- CLI
def test_cli_features_and_study(tmp_path, capsys):
    from liqcore.cli import main

    out = tmp_path / "bars.parquet"
    assert main(["features", "--synthetic", "--days", "1", "--symbols", "ETHUSDT,SOLUSDT", "--seed", "3",
                 "--bar", "5m", "--zscore-window", "24", "--lag", "2s", "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "ETHUSDT" in text and "SOLUSDT" in text and "bars written" in text
    bars = pd.read_parquet(out)
    assert set(bars.symbol) == {"ETHUSDT", "SOLUSDT"} and len(bars) == 2 * 288
    assert (bars.available_ns - bars.bar_end_ns == 2 * S).all()
    csv = tmp_path / "bars.csv"
    assert main(["features", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--bar", "1h",
                 "--out", str(csv), "--no-progress"]) == 0
    assert len(pd.read_csv(csv)) == 24
    capsys.readouterr()

    png, rows = tmp_path / "study.png", tmp_path / "cascades.csv"
    assert main(["study", "--synthetic", "--days", "1", "--symbols", "ETHUSDT,SOLUSDT", "--seed", "3",
                 "--horizons", "10s,1m,5m", "--plot", str(png), "--out", str(rows), "--boot", "200",
                 "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "confirmed cascades" in text and "ALL" in text
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    per = pd.read_csv(rows)
    assert {"signed_ret_10s", "mae_5m", "ref_price"} <= set(per.columns) and len(per) > 0
    assert main(["study", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--horizons", "30s,2m",
                 "--json", "--boot", "100", "--window", "30s"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["horizons"] == ["30s", "2m"] and doc["params"]["window"] == "30s"
    assert {r["horizon"] for r in doc["summary"]} == {"30s", "2m"}


@pytest.mark.parametrize("argv, field", [
    (["features", "--synthetic", "--days", "1", "--bar", "fast"], "bar"),
    (["features", "--synthetic", "--days", "1", "--out", "x.txt"], "out"),
    (["features"], "paths"),
    (["study", "--synthetic", "--days", "1", "--horizons", "0s"], "horizons"),
    (["study", "--synthetic", "--days", "1", "--plot", "x.jpg"], "plot"),
    (["study", "--synthetic", "--days", "1", "--quantile", "2"], "quantile"),
])
def test_cli_errors_are_clean(argv, field, capsys):
    from liqcore.cli import main

    assert main(argv + ["--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "error" in err and field in err and "Traceback" not in err


# -------------------------------------------------------------------------------------- real data
def test_real_binance_window_study_and_bars(real_data, capsys):
    """Binance forceOrder + aggTrade recordings of 2025-01-27 (16:50-17:20 UTC overlap). The trades
    file holds only prints above ~$15k notional, so references and paths are coarse."""
    from liqcore.cli import main
    from liqcore.dataset.load import load_events

    d = real_data / "binance-forceorder-2025-01"
    res = load_events([d / "binance.csv", d / "binance_trades.csv"])
    day = pd.Timestamp("2025-01-27", tz="UTC").value
    ev = res.events[(res.events["ts_recv"] >= day) & (res.events["ts_recv"] < day + 86_400 * S)]
    params = Params(min_history=5, refresh_ns=0)
    df = event_study(ev, res.registry, params=params)
    assert len(df) > 5  # subsampled feed (<= 1 liquidation/s/symbol): thresholds from 5 liquidations
    with_ref = df[df.ref_price.notna()]
    assert len(with_ref) >= 1 and set(with_ref.symbol) <= {"BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "BNBUSDT",
                                                           "WIFUSDT"}
    assert (with_ref.ref_age_ns <= 5 * S).all() and with_ref["signed_ret_1m"].notna().all()
    summ = summarize_study(df, n_boot=200)
    assert (summ.n > 0).any()
    bars = features(ev, res.registry, bar="1m", params=params, symbols=["BTCUSDT", "ETHUSDT"])
    btc = bars[bars.symbol == "BTCUSDT"]
    assert btc.trade_count.sum() == int(((ev["kind"] == TRD) & (ev["symbol_id"] == res.registry.get("binance", "BTCUSDT"))).sum())
    assert (btc.trade_notional[btc.trade_count > 0] / btc.trade_count[btc.trade_count > 0] > 14_999).all()
    assert btc.liq_count.sum() > 0
    # the same through the command line
    assert main(["study", str(d / "binance.csv"), str(d / "binance_trades.csv"), "--min-history", "5",
                 "--refresh", "0", "--horizons", "10s,1m,5m", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "confirmed cascades" in out and "SOLUSDT" in out
    assert "~$15k" in out  # the trades file keeps only prints above ~$15k notional, and the table says so
    with capsys.disabled():
        print("\nreal Binance 2025-01-27 window (trades: only prints > ~$15k notional):\n" + out)


def test_empty_inputs():
    from liqcore.types import EVENT_DTYPE

    reg = SymbolRegistry()
    bars = features(np.zeros(0, EVENT_DTYPE), reg)
    assert bars.empty and "z_ofi" in bars.columns
    st_df = event_study(np.zeros(0, EVENT_DTYPE), reg)
    assert st_df.empty and "signed_ret_15m" in st_df.columns
    assert summarize_study(st_df).empty


def _study_oracle(trades, t0, dom, h, max_age):
    """Per cascade, by plain loops over the trades (ts_recv, price) in receive order."""
    before = [(t, p) for t, p in trades if t <= t0]
    if not before or t0 - before[-1][0] > max_age:
        return None
    p0 = before[-1][1]
    if not trades or t0 + h > trades[-1][0]:
        return "unobserved"
    ph = [p for t, p in trades if t <= t0 + h][-1]
    sign = 1.0 if dom == Dominant.LONG else -1.0
    moves = [sign * (p / p0 - 1.0) for t, p in trades if t0 < t <= t0 + h]
    mae = max([0.0] + [-m for m in moves])
    mfe = max([0.0] + moves)
    return sign * (ph / p0 - 1.0), mae, mfe


@pytest.mark.property
@settings(max_examples=80)
@given(trades=st.lists(st.tuples(st.integers(0, 600), st.floats(50.0, 150.0)), min_size=0, max_size=40),
       cascades=st.lists(st.tuples(st.integers(0, 600), st.booleans()), min_size=1, max_size=6),
       h=st.integers(1, 200), max_age=st.integers(0, 100))
def test_event_study_equals_loop_oracle(trades, cascades, h, max_age):
    reg = _reg("ETHUSDT")
    trades = sorted(((T0 + t * S, p) for t, p in trades), key=lambda x: x[0])
    ev = _ev([(t, TRD, B, p, 1.0, 0) for t, p in trades]) if trades else np.zeros(0, dtype=make_events(ts_event=[0]).dtype)
    rows = [(T0 + t * S, 0, Dominant.LONG if d else Dominant.SHORT) for t, d in cascades]
    rec = _records(rows)
    df = event_study(ev, reg, records=rec, horizons=(f"{h}s",), max_ref_age=f"{max_age}s")
    lab = df.attrs["horizons"][0]
    for _, r in df.iterrows():
        want = _study_oracle(trades, int(r.confirm_recv_ns), Dominant.LONG if r.dominant == "long" else Dominant.SHORT,
                             h * S, max_age * S)
        if want is None:
            assert math.isnan(r.ref_price) and math.isnan(r[f"signed_ret_{lab}"])
        elif want == "unobserved":
            assert not math.isnan(r.ref_price) and math.isnan(r[f"signed_ret_{lab}"])
        else:
            assert r[f"signed_ret_{lab}"] == pytest.approx(want[0], abs=1e-12)
            assert r[f"mae_{lab}"] == pytest.approx(want[1], abs=1e-12)
            assert r[f"mfe_{lab}"] == pytest.approx(want[2], abs=1e-12)
