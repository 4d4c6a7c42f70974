"""Synthetic market: kernel == pysrc twin (bit for bit), invariants, determinism, cache, calibration
through the real detector, stylised facts, and the wire round trip through the venue decoders."""
from __future__ import annotations


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.synthetic import market as S
from liqcore.venues.okx.samples import okx_inst
from liqcore.types import EVENT_DTYPE, Flag, Kind, Side, Venue
from pysrc import synth as T

SYMS = tuple(S.SYMBOL_SPECS)


@pytest.fixture(scope="module")
def month():
    """The default market: 30 days x 5 symbols, seed 7 (cached under a temp dir for the module)."""
    return S.synthetic_market(days=30, cache=False)


@pytest.fixture(scope="module")
def day():
    return S.synthetic_market(days=1, cache=False)


# ---------------------------------------------------------------------------- kernel vs twin


def test_param_layout_matches_twin():
    from liqcore._jit import synth as K

    assert K.PARAM_NAMES == T.PARAM_NAMES
    assert (K.OK, K.OUT_OF_UNIFORMS, K.OUT_OF_ROWS, K.OUT_OF_EPISODES) == (
        T.OK, T.OUT_OF_UNIFORMS, T.OUT_OF_ROWS, T.OUT_OF_EPISODES)
    assert K.MAX_DRAWS_PER_STEP == T.MAX_DRAWS_PER_STEP
    assert len(S.build_params("ETHUSDT", 1.0)) == K.N_PARAMS


def _run_both(p, u, capacity, max_ep, ext_t=None, ext_side=None, regime=None):
    from liqcore._jit import synth as K

    ext_t = np.zeros(0) if ext_t is None else ext_t
    ext_side = np.zeros(0, np.int8) if ext_side is None else ext_side
    reg = (np.zeros(0), np.zeros(0), np.zeros(0)) if regime is None else regime
    cols = (np.zeros(capacity, np.int64), np.zeros(capacity, np.float64), np.zeros(capacity, np.float64),
            np.zeros(capacity, np.int8), np.zeros(capacity, np.int8), np.zeros(capacity, np.int32))
    eps = (np.zeros(max_ep, np.int64), np.zeros(max_ep, np.int64), np.zeros(max_ep, np.int8),
           np.zeros(max_ep, np.int8), np.zeros(max_ep, np.float64), np.zeros(max_ep, np.int32),
           np.zeros(max_ep, np.float64))
    status, n, n_ep, used = K.simulate_symbol(p, u, *cols, *eps, ext_t, ext_side, *reg, np.zeros(K.STATE_LEN))
    t_status, t_n, t_nep, t_used, rows, teps = T.simulate_symbol(p, u, capacity, max_ep, ext_t, ext_side, *reg)
    return (status, n, n_ep, used, cols, eps), (t_status, t_n, t_nep, t_used, rows, teps)


@pytest.mark.property
@settings(max_examples=40)
@given(
    seed=st.integers(0, 2**32 - 1),
    symbol=st.sampled_from(SYMS + ("ADAUSDT",)),
    minutes=st.floats(1.0, 60.0),
    shock_boost=st.sampled_from([1.0, 50.0, 500.0]),
    diurnal=st.floats(0.0, 1.0),
    rate_t=st.floats(0.01, 3.0),
    p_cont=st.floats(0.0, 1.0),
    start_h=st.integers(0, 24 * 7 - 1),
    weekend=st.sampled_from([0.0, 0.7, 1.0]),
    eta_c=st.sampled_from([0.0, 0.5, 0.95]),
)
def test_kernel_equals_twin(seed, symbol, minutes, shock_boost, diurnal, rate_t, p_cont, start_h, weekend, eta_c):
    base = S.build_params(symbol, 1.0)
    from liqcore._jit.synth import PARAM_NAMES

    P = {n: i for i, n in enumerate(PARAM_NAMES)}
    over = {"t_end": minutes * 60.0, "mu_s": float(base[P["mu_s"]]) * shock_boost, "diurnal_a": diurnal,
            "rate_t": rate_t, "p_cont": p_cont, "weekend": weekend, "eta_c": eta_c}
    p = S.build_params(symbol, 1.0, S.DEFAULT_START_NS + start_h * 3_600_000_000_000, over)
    u = S.uniforms(seed, symbol, 200_000)
    (status, n, n_ep, used, cols, eps), (t_status, t_n, t_nep, t_used, rows, teps) = _run_both(p, u, 40_000, 400)
    assert (status, n, n_ep) == (t_status, t_n, t_nep)
    if status == T.OK:
        assert used == t_used
    for a, name in zip(cols, ("t_ns", "price", "qty", "side", "kind", "episode")):
        assert np.array_equal(a[:n], rows[name]), name
    for a, name in zip(eps, ("start_ns", "end_ns", "side", "continues", "notional", "n", "half_life")):
        assert np.array_equal(a[:n_ep], teps[name]), name
    # invariants of the raw rows
    r = rows
    assert np.all(np.diff(r["t_ns"]) >= 0)
    trade_liq = (r["kind"] == T.TRADE) | (r["kind"] == T.LIQUIDATION)
    assert np.all(r["price"][r["kind"] != T.FUNDING] > 0)
    assert np.all(r["qty"][trade_liq] > 0)
    dec = int(p[P["price_dec"]])
    k = r["price"][r["kind"] != T.FUNDING] * 10.0**dec
    assert np.all(np.abs(k - np.round(k)) < 1e-6)


@pytest.mark.property
def test_kernel_equals_twin_when_buffers_run_out():
    p = S.build_params("ETHUSDT", 1.0, overrides={"t_end": 1800.0, "mu_s": 0.01})
    for u_len, cap, max_ep in ((500, 10_000, 100), (60_000, 50, 100), (60_000, 10_000, 0)):
        u = S.uniforms(3, "ETHUSDT", u_len)
        (status, n, n_ep, _used, cols, _eps), (t_status, t_n, t_nep, _tu, rows, _te) = _run_both(p, u, cap, max_ep)
        assert status != T.OK and (status, n, n_ep) == (t_status, t_n, t_nep)
        assert np.array_equal(cols[0][:n], rows["t_ns"]) and np.array_equal(cols[1][:n], rows["price"])


@pytest.mark.property
@settings(max_examples=30)
@given(seed=st.integers(0, 10_000), nsym=st.integers(1, 4), latency=st.sampled_from([0, 1, 50_000_000]),
       bybit=st.booleans())
def test_assemble_distinct_recv_equal_twins(seed, nsym, latency, bybit):
    from liqcore._jit import synth as K

    rng = np.random.default_rng(seed)
    runs = []
    for _s in range(nsym):
        n = int(rng.integers(0, 60))
        t_ms = np.sort(rng.integers(0, 40, n)).astype(np.int64) + 1_767_571_200_000
        kind = rng.integers(1, 5, n).astype(np.int8)
        side = rng.integers(1, 5, n).astype(np.int8)
        price = rng.integers(1, 4, n) / 10.0
        qty = rng.integers(1, 3, n) / 100.0
        runs.append([t_ms, kind, side, price, qty])
    for r in runs:
        a = [x.copy() for x in r]
        b = [x.copy() for x in r]
        assert K.make_distinct(a[0], a[1], a[2], a[3], a[4], 2.0) == T.make_distinct(b[0], b[1], b[2], b[3], b[4], 2.0)
        assert np.array_equal(a[4], b[4])
        r[4] = a[4]
        # no two identical liquidations/trades remain in one millisecond
        keys = [(int(t), int(k), int(s), float(p), float(q)) for t, k, s, p, q in zip(*a) if k in (1, 2)]
        assert len(keys) == len(set(keys))
    offsets = np.cumsum([0] + [len(r[0]) for r in runs]).astype(np.int64)
    sids = np.arange(nsym, dtype=np.int32)[::-1].copy()
    cat = [np.concatenate([r[i] for r in runs]) for i in range(5)]
    out_k = np.zeros(offsets[-1], EVENT_DTYPE)
    out_t = np.zeros(offsets[-1], EVENT_DTYPE)
    K.assemble(cat[0], cat[3], cat[4], cat[2], cat[1], offsets, sids, 1, out_k)
    T.assemble(cat[0], cat[3], cat[4], cat[2], cat[1], offsets, sids, 1, out_t)
    assert np.array_equal(out_k, out_t)
    assert np.all(np.diff(out_k["ts_event"]) >= 0)
    z = rng.standard_normal(max(len(out_k), 1))
    batch = 500_000_000 if bybit else 0
    K.recv_times(out_k, z, latency, batch, nsym, 1, 9)
    T.recv_times(out_t, z, latency, batch, nsym, 1, 9)
    assert np.array_equal(out_k, out_t)
    assert np.all(out_k["ts_recv"] >= out_k["ts_event"])


# ------------------------------------------------------------------------------ invariants


def test_invariants(day):
    ev = day.events
    assert ev.dtype == EVENT_DTYPE and len(ev) > 0
    assert np.all(np.diff(ev["ts_event"]) >= 0)
    assert np.all(ev["ts_recv"] >= ev["ts_event"])
    assert np.all(ev["ts_event"] % 1_000_000 == 0)
    assert np.all(ev["flags"] & Flag.SYNTHETIC)
    assert np.all(ev["venue"] == Venue.BYBIT)
    kinds = set(np.unique(ev["kind"]).tolist())
    assert kinds == {Kind.LIQUIDATION, Kind.TRADE, Kind.MARK, Kind.FUNDING}
    liq, trd = ev[ev["kind"] == Kind.LIQUIDATION], ev[ev["kind"] == Kind.TRADE]
    assert set(np.unique(liq["side"]).tolist()) == {Side.LONG, Side.SHORT}
    assert set(np.unique(trd["side"]).tolist()) == {Side.BUY, Side.SELL}
    other = ev[(ev["kind"] == Kind.MARK) | (ev["kind"] == Kind.FUNDING)]
    assert np.all(other["side"] == Side.NONE) and np.all(other["qty"] == 0)
    for x in (liq, trd):
        assert np.all(x["price"] > 0) and np.all(x["qty"] > 0) and np.all(np.isfinite(x["price"] * x["qty"]))
    for sid, _v, sym in day.registry:
        spec = S.SYMBOL_SPECS[sym]
        m = ev[(ev["symbol_id"] == sid) & (ev["kind"] != Kind.FUNDING)]
        k = m["price"] * 10.0**spec.price_dec
        # exactly an integer number of ticks divided by 10**dec (what float(decimal string) gives)
        assert np.array_equal(np.round(k) / 10.0**spec.price_dec, m["price"]), sym
        q = m["qty"][m["kind"] != Kind.MARK] * 10.0**spec.qty_dec
        assert np.array_equal(np.round(q) / 10.0**spec.qty_dec, m["qty"][m["kind"] != Kind.MARK]), sym
        # price level stays realistic over a day
        assert 0.7 * spec.price < np.median(m["price"]) < 1.3 * spec.price
        marks = ev[(ev["symbol_id"] == sid) & (ev["kind"] == Kind.MARK)]
        assert len(marks) == 86400 // 10 and np.all(np.diff(marks["ts_event"]) == 10_000_000_000)
        fund = ev[(ev["symbol_id"] == sid) & (ev["kind"] == Kind.FUNDING)]
        assert len(fund) == 3 and np.all(fund["ts_event"] % (8 * 3_600_000_000_000) == 0)
        assert np.all(np.abs(fund["price"]) < 0.01)
    # bybit liquidations: received at the end of their 500 ms batch plus latency
    batch_end = (liq["ts_event"] // 500_000_000 + 1) * 500_000_000
    assert np.all(liq["ts_recv"] >= batch_end)
    tr = day.truth
    assert tr.dtype == S.TRUTH_DTYPE and len(tr) > 0
    assert np.all(tr["end_ns"] >= tr["start_ns"]) and np.all(tr["n"] >= 1) and np.all(tr["notional"] > 0)
    assert set(np.unique(tr["side"]).tolist()) <= {Side.LONG, Side.SHORT}


def test_zero_latency_and_other_venues():
    m = S.synthetic_market(days=0.1, symbols=("SOLUSDT",), feed_latency_ns=0, venue="binance", cache=False)
    ev = m.events
    assert np.array_equal(ev["ts_recv"], ev["ts_event"])  # Binance pushes at once, no latency
    liq = ev["kind"] == Kind.LIQUIDATION
    assert np.all(ev["flags"][liq] == Flag.SYNTHETIC | Flag.SAMPLED)
    assert np.all(ev["venue"] == Venue.BINANCE)
    assert m.registry.lookup(0) == (Venue.BINANCE, "SOLUSDT")


def test_deterministic_and_symbol_independent():
    a = S.synthetic_market(days=0.5, symbols=("ETHUSDT", "DOGEUSDT"), seed=11, cache=False)
    b = S.synthetic_market(days=0.5, symbols=("ETHUSDT", "DOGEUSDT"), seed=11, cache=False)
    c = S.synthetic_market(days=0.5, symbols=("ETHUSDT", "DOGEUSDT"), seed=12, cache=False)
    assert np.array_equal(a.events, b.events) and np.array_equal(a.truth, b.truth)
    assert not np.array_equal(a.events["price"][:1000], c.events["price"][:1000])
    # one symbol's stream does not depend on which other symbols are generated
    solo = S.synthetic_market(days=0.5, symbols=("DOGEUSDT",), seed=11, cache=False)
    sid = a.registry.get("bybit", "DOGEUSDT")
    sub = a.events[a.events["symbol_id"] == sid]
    cols = ["ts_event", "price", "qty", "side", "kind"]
    assert all(np.array_equal(sub[c], solo.events[c]) for c in cols)


def test_cache_roundtrip(tmp_path, monkeypatch):
    a = S.synthetic_market(days=0.2, symbols=("XRPUSDT",), seed=5, cache_dir=tmp_path)
    files = list(tmp_path.glob("synth-*.npz"))
    assert len(files) == 1
    b = S.synthetic_market(days=0.2, symbols=("XRPUSDT",), seed=5, cache_dir=tmp_path)
    assert np.array_equal(a.events, b.events) and np.array_equal(a.truth, b.truth)
    assert b.params == a.params and b.symbols == ("XRPUSDT",)
    # another parameter set is another entry; $LIQCORE_CACHE (the older spelling) is honoured when
    # $LIQCORE_CACHE_DIR is not set
    env = tmp_path / "env"
    monkeypatch.delenv("LIQCORE_CACHE_DIR", raising=False)
    monkeypatch.setenv("LIQCORE_CACHE", str(env))
    S.synthetic_market(days=0.2, symbols=("XRPUSDT",), seed=6)
    assert len(list(env.glob("synth-*.npz"))) == 1
    # a corrupt entry is regenerated, not trusted
    files[0].write_bytes(b"not an npz")
    c = S.synthetic_market(days=0.2, symbols=("XRPUSDT",), seed=5, cache_dir=tmp_path)
    assert np.array_equal(a.events, c.events)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"days": 0}, "days"),
        ({"days": float("nan")}, "days"),
        ({"symbols": ()}, "symbols"),
        ({"symbols": ("BTC/USDT",)}, "symbols"),
        ({"symbols": ("BTCUSDT", "btcusdt")}, "symbols"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"venue": "ftx"}, "venue"),
        ({"start_ns": -5}, "start_ns"),
        ({"feed_latency_ns": -1}, "feed_latency_ns"),
        ({"overrides": {"nope": 1}}, "overrides"),
        ({"overrides": {"eta_c": 1.0}}, "eta_c"),
        ({"overrides": {"rate_t": 0.0}}, "rate_t"),
        ({"overrides": {"price_dec": 2.5}}, "price_dec"),
    ],
)
def test_bad_arguments(kwargs, field):
    with pytest.raises(ValueError, match=field):
        S.synthetic_market(**{"days": 0.01, "cache": False, **kwargs})


# ---------------------------------------------------------------- calibration and stylised facts


def test_calibrated_through_the_detector(month):
    """Default seed (not a calibration seed), 30 days, the compiled detector with default params:
    cascades/day and P95 within +-30 % of the guide, mean durations within [6, 16] s."""
    stats = S.cascade_stats(month, detector="cython")
    for sym, spec in S.SYMBOL_SPECS.items():
        s = stats[sym]
        assert abs(s["cascades_per_day"] / spec.cascades_per_day - 1) <= 0.30, (sym, s)
        assert abs(s["p95_median"] / spec.p95 - 1) <= 0.30, (sym, s)
        assert 6.0 <= s["mean_duration_s"] <= 16.0, (sym, s)
        # detector cascades are the generator's episodes, mostly long flushes (guide: 55-70 %)
        assert s["overlap_share"] >= 0.85, (sym, s)
        assert 0.45 <= s["long_share"] <= 0.8, (sym, s)


def test_twin_detector_agrees_on_one_day(day):
    from pysrc.detector import CascadeDetector as TwinDetector

    a = S.cascade_stats(day, detector="cython")
    b = S.cascade_stats(day, detector=TwinDetector)
    assert a == b
    with pytest.raises(ValueError, match="detector"):
        S.cascade_stats(day, detector="python")


def test_cascades_overshoot_and_mostly_revert(month):
    """Forced flow pushes the price in the flushed direction; reverting episodes give most of it
    back within minutes, continuing ones keep it."""
    ev = month.events
    fracs = {0: [], 1: []}
    moves = []
    for sid, _v, _sym in month.registry:
        trd = ev[(ev["symbol_id"] == sid) & (ev["kind"] == Kind.TRADE)]
        t, px = trd["ts_event"], trd["price"]
        tr = month.truth[month.truth["symbol_id"] == sid]
        before = np.searchsorted(t, tr["start_ns"], side="left") - 1
        at_end = np.searchsorted(t, tr["end_ns"] + 2_000_000_000, side="right") - 1
        later = np.searchsorted(t, tr["end_ns"] + 600_000_000_000, side="right") - 1
        ok = (before >= 0) & (later < len(t)) & (tr["n"] >= 4)
        sign = np.where(tr["side"] == Side.LONG, -1.0, 1.0)
        disp = sign * (np.log(px[at_end]) - np.log(px[before]))
        rest = sign * (np.log(px[later]) - np.log(px[before]))
        big = ok & (disp > 0.002)
        moves.append(disp[ok])
        for rev in (0, 1):
            m = big & (tr["reverted"] == rev)
            fracs[rev].extend((rest[m] / disp[m]).tolist())
    moves = np.concatenate(moves)
    assert np.median(moves) > 0.001  # the price moves the way the forced orders push it
    assert np.median(fracs[1]) < 0.5  # reverting episodes keep less than half after 10 min
    assert np.median(fracs[0]) > 0.6  # continuing ones keep most of it
    assert 0.15 <= np.mean(month.truth["reverted"] == 0) <= 0.35


def test_volumes_are_sane(month):
    s = month.summary()
    for sym, c in s["symbols"].items():
        assert 0.3 * 86400 * 30 * 0.9 < c["trade"] < 86400 * 30 * 1.0, sym
        assert 400 * 30 < c["liquidation"] < 2000 * 30, sym
    assert len(month.events) < 8_000_000


# ----------------------------------------------------------------------------- wire round trip


def _decode(market, venue):
    from liqcore.venues.decoder import Decoder

    dec = Decoder(venue)
    out = [dec.feed(f, r) for r, f in market.frames(venue)]
    ev = np.concatenate(out) if out else np.zeros(0, EVENT_DTYPE)
    names = {i: s for i, _v, s in dec.registry}
    return ev, names, dec.counters


def _key(ev, names, fields=("ts_event", "ts_recv", "price", "qty", "side", "kind")):
    sym = np.array([names[int(i)] for i in ev["symbol_id"]], dtype=object)
    rows = list(zip(sym.tolist(), *(ev[f].tolist() for f in fields)))
    return sorted(rows)


@pytest.fixture(scope="module")
def small():
    return S.synthetic_market(days=0.05, seed=3, cache=False)


@settings(max_examples=12)
@given(seed=st.integers(0, 2**31), latency=st.sampled_from([0, 1_000_000, 50_000_000]),
       start_h=st.integers(0, 24 * 7 - 1))
def test_bybit_round_trip_exact_random_markets(seed, latency, start_h):
    m = S.synthetic_market(days=0.01, seed=seed, feed_latency_ns=latency, cache=False,
                           start_ns=S.DEFAULT_START_NS + start_h * 3_600_000_000_000 + 123_456_789,
                           overrides={"mu_s": 0.02})
    dec, names, counters = _decode(m, "bybit")
    assert counters["rejected_frames"] == 0 and counters["duplicate"] == 0
    mine = {i: s for i, _v, s in m.registry}
    assert _key(dec, names) == _key(m.events, mine)


def test_bybit_round_trip_exact(small):
    dec, names, counters = _decode(small, "bybit")
    assert counters["rejected_frames"] == 0 and counters["duplicate"] == 0
    mine = {i: s for i, _v, s in small.registry}
    assert _key(dec, names) == _key(small.events, mine)
    # several liquidations share one 500 ms frame
    frames = [f for _r, f in small.frames("bybit") if f.startswith(b'{"topic":"allLiquidation')]
    assert any(f.count(b'"T":') > 1 for f in frames)
    assert all(f.startswith(b'{"topic":"tickers') is False or b'"markPrice"' in f or b'"fundingRate"' in f
               for _r, f in small.frames("bybit"))


def test_binance_round_trip_throttled_subset(small):
    dec, names, counters = _decode(small, "binance")
    assert counters["rejected_frames"] == 0
    ev = S._with_recv(small.events, Venue.BINANCE, small.feed_latency_ns, small.seed, len(small.registry))
    shown = small.sampled_mask("binance")
    mine = {i: s for i, _v, s in small.registry}
    assert counters["duplicate"] == 0
    for kind in (Kind.LIQUIDATION, Kind.TRADE, Kind.MARK):
        d = dec[dec["kind"] == kind]
        m = ev[shown & (ev["kind"] == kind)]
        assert _key(d, names) == _key(m, mine), Kind(kind).name
    # the funding rate rides on every markPriceUpdate: after a funding event, the marks carry it
    fund = dec[dec["kind"] == Kind.FUNDING]
    assert len(fund) == np.count_nonzero(dec["kind"] == Kind.MARK)
    rates = set(ev["price"][ev["kind"] == Kind.FUNDING].tolist()) | {S._FUND_MEAN}
    assert set(fund["price"].tolist()) <= rates
    liq = dec[dec["kind"] == Kind.LIQUIDATION]
    assert np.all(liq["flags"] & Flag.SAMPLED)
    assert shown[small.events["kind"] == Kind.LIQUIDATION].sum() < (small.events["kind"] == Kind.LIQUIDATION).sum()
    for sid in np.unique(liq["symbol_id"]):
        t = np.sort(liq["ts_event"][liq["symbol_id"] == sid])
        assert np.all(np.diff(t) >= 1_000_000_000)


def test_okx_round_trip_contracts(small):
    dec, names, counters = _decode(small, "okx")
    assert counters["rejected_frames"] == 0
    ev = S._with_recv(small.events, Venue.OKX, small.feed_latency_ns, small.seed, len(small.registry))
    shown = small.sampled_mask("okx")
    mine = {i: okx_inst(s) for i, _v, s in small.registry}
    fields = ("ts_event", "ts_recv", "price", "side", "kind")
    for kind in (Kind.LIQUIDATION, Kind.TRADE, Kind.MARK, Kind.FUNDING):
        d = dec[dec["kind"] == kind]
        m = ev[shown & (ev["kind"] == kind)]
        assert _key(d, names, fields) == _key(m, mine, fields), Kind(kind).name
        # sizes travel as contracts (sz x ctVal); equal to the base quantity up to rounding
        dq = np.array([q for *_x, q in _key(d, names, fields + ("qty",))])
        mq = np.array([q for *_x, q in _key(m, mine, fields + ("qty",))])
        assert np.allclose(dq, mq, rtol=1e-12, atol=0), Kind(kind).name
    f = next(f for _r, f in small.frames("okx") if b"liquidation-orders" in f)
    assert b'"instId":"' in f and b"-USDT-SWAP" in f


def test_throttle_rule_matches_real_binance_recording(real_data):
    """The Binance throttle used here (>= 1000 ms since the last shown liquidation of the symbol)
    keeps every row of a real recording of the throttled stream."""
    import pandas as pd

    path = real_data / "binance-forceorder-2025-12" / "binance.csv"
    if not path.is_file():
        pytest.skip(f"{path} missing")
    d = pd.read_csv(path, header=None, usecols=range(11)).drop_duplicates()
    d = d.sort_values(10, kind="stable")
    sid = pd.factorize(d[0])[0].astype(np.int32)
    keep = S._throttle(d[10].to_numpy(np.int64) * 1_000_000, sid, 1_000_000_000)
    assert len(d) > 1000 and keep.all()


def test_weekends_and_us_hours_are_busier_where_the_guide_says(month):
    """Activity follows the daily cycle (peak 15:30 UTC) and drops on weekends."""
    ev = month.events
    day = (ev["ts_event"] // 86_400_000_000_000).astype(np.int64)
    weekend = ((day - 4) % 7) >= 5  # 1970-01-05 was a Monday
    hour = (ev["ts_event"] // 3_600_000_000_000) % 24
    trades = ev["kind"] == Kind.TRADE
    n_days = np.unique(day)
    per_day = np.bincount(day[trades] - day.min())
    wk = np.array([((d - 4) % 7) >= 5 for d in n_days])
    assert per_day[wk].mean() < 0.85 * per_day[~wk].mean()
    us = trades & (hour >= 13) & (hour < 18)
    asia = trades & (hour >= 1) & (hour < 6)
    assert us.sum() > 1.5 * asia.sum()
    assert weekend.any() and (~weekend).any()


def test_importing_the_front_compiles_nothing():
    import subprocess
    import sys

    code = ("import sys, liqcore; liqcore.synthetic_market; import liqcore.synthetic.market; "
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_okx_frames_need_a_known_contract_size():
    m = S.synthetic_market(days=0.01, symbols=("FOOUSDT",), cache=False)
    with pytest.raises(ValueError, match="ctVal"):
        next(iter(m.frames("okx")))
    assert next(iter(m.frames("bybit")))[0] > 0


@pytest.mark.property
@settings(max_examples=25)
@given(
    seed=st.integers(0, 2**32 - 1),
    symbol=st.sampled_from(SYMS),
    minutes=st.floats(5.0, 60.0),
    n_ext=st.integers(0, 12),
    vol_liq=st.sampled_from([0.0, 0.5, 5.0]),
    vol_hl=st.sampled_from([30.0, 600.0]),
    impact=st.sampled_from([0.0, 0.0004]),
    ext_seed=st.integers(0, 1000),
)
def test_kernel_equals_twin_with_external_shocks_and_volatility_link(seed, symbol, minutes, n_ext, vol_liq, vol_hl,
                                                                     impact, ext_seed):
    p = S.build_params(symbol, 1.0, overrides={"t_end": minutes * 60.0, "vol_liq": vol_liq, "vol_hl": vol_hl,
                                               "impact": impact})
    rng = np.random.default_rng(ext_seed)
    ext_t = np.sort(rng.uniform(0.0, minutes * 60.0 * 1.2, n_ext))  # some past the horizon
    ext_side = rng.integers(1, 3, n_ext).astype(np.int8)
    u = S.uniforms(seed, symbol, 200_000)
    (status, n, n_ep, used, cols, eps), (t_status, t_n, t_nep, t_used, rows, teps) = _run_both(
        p, u, 40_000, 400, ext_t, ext_side)
    assert (status, n, n_ep) == (t_status, t_n, t_nep)
    assert status == T.OK and used == t_used
    for a, name in zip(cols, ("t_ns", "price", "qty", "side", "kind", "episode")):
        assert np.array_equal(a[:n], rows[name]), name
    for a, name in zip(eps, ("start_ns", "end_ns", "side", "continues", "notional", "n", "half_life")):
        assert np.array_equal(a[:n_ep], teps[name]), name
    # every external shock inside the horizon opened an episode on its side
    inside = ext_t < minutes * 60.0
    starts = teps["start_ns"] / 1e9
    for t_s, side in zip(ext_t[inside], ext_side[inside]):
        j = np.flatnonzero(np.abs(starts - t_s) < 1e-6)
        assert len(j) >= 1 and teps["side"][j[0]] == side


@pytest.mark.property
@settings(max_examples=25)
@given(
    seed=st.integers(0, 2**32 - 1),
    symbol=st.sampled_from(SYMS),
    minutes=st.floats(5.0, 120.0),
    n_reg=st.integers(1, 8),
    reg_seed=st.integers(0, 1000),
)
def test_kernel_equals_twin_with_a_positioning_regime(seed, symbol, minutes, n_reg, reg_seed):
    # a crowd-positioning regime sets the background long share and the funding level piecewise;
    # funding every 10 min so that the horizon holds several prints
    p = S.build_params(symbol, 1.0, overrides={"t_end": minutes * 60.0, "fund_dt": 600.0, "fund_first": 0.0})
    rng = np.random.default_rng(reg_seed)
    reg_t = np.concatenate(([0.0], np.sort(rng.uniform(0.0, minutes * 60.0 * 1.2, n_reg - 1))))
    reg_p = rng.choice([0.05, 0.5, 0.95], n_reg)
    reg_f = rng.choice([-3e-4, 0.0, 3e-4], n_reg)
    u = S.uniforms(seed, symbol, 200_000)
    (status, n, n_ep, used, cols, eps), (t_status, t_n, t_nep, t_used, rows, teps) = _run_both(
        p, u, 40_000, 400, regime=(reg_t, reg_p, reg_f))
    assert (status, n, n_ep) == (t_status, t_n, t_nep)
    assert status == T.OK and used == t_used
    for a, name in zip(cols, ("t_ns", "price", "qty", "side", "kind", "episode")):
        assert np.array_equal(a[:n], rows[name]), name
    # every funding print sits within 5 noise sd of the level in force
    fund = rows["kind"] == T.FUNDING
    level = reg_f[np.searchsorted(reg_t, rows["t_ns"][fund] / 1e9, side="right") - 1]
    assert np.all(np.abs(rows["price"][fund] - level) <= 5 * p[T.P["fund_sd"]] + 1e-6)


def test_positioning_regime_makes_funding_negative_for_stretches_and_leans_background_sides():
    """The default market's crowd-positioning regime: funding goes negative for stretches of
    consecutive 8-hourly prints (not one isolated print), and while it is negative the background
    liquidations lean to shorts (the crowd is short), while they lean to longs otherwise."""
    m = S.synthetic_market(days=30, symbols=("ETHUSDT",), seed=7, cache=False)
    ev = m.events
    fund = ev[ev["kind"] == Kind.FUNDING]
    neg = fund["price"] < 0
    assert 0.05 < neg.mean() < 0.4  # negative part of the time, positive most of it
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate(([0], neg.astype(int), [0]))) != 0))[::2]
    assert runs.max() >= 3  # a stretch of at least a day
    liq = ev[(ev["kind"] == Kind.LIQUIDATION)]
    # the funding print in force at each liquidation
    j = np.searchsorted(fund["ts_event"], liq["ts_event"], side="right") - 1
    ok = j >= 0
    liq, j = liq[ok], j[ok]
    small = liq["price"] * liq["qty"] < np.quantile(liq["price"] * liq["qty"], 0.5)  # mostly background
    long_share_neg = np.mean(liq["side"][small & neg[j]] == Side.LONG)
    long_share_pos = np.mean(liq["side"][small & ~neg[j]] == Side.LONG)
    assert long_share_neg < 0.45 < 0.55 < long_share_pos


def test_positioning_regime_is_off_with_its_knobs_at_zero_and_never_draws_the_symbols_uniforms():
    off = {"positioning": 0.0, "funding_regime_sd": 0.0}
    assert S.positioning_regime(S.Effects(**off), 7, "ETHUSDT", S.build_params("ETHUSDT", 1.0)) is None
    a = S.synthetic_market(days=0.5, symbols=("ETHUSDT",), seed=3, cache=False, effects=off)
    b = S.synthetic_market(days=0.5, symbols=("ETHUSDT",), seed=3, cache=False)
    # same times and kinds (the regime consumes none of the symbol's uniforms); funding levels differ
    assert np.array_equal(a.events["ts_event"], b.events["ts_event"])
    assert np.array_equal(a.events["kind"], b.events["kind"])
    fa, fb = (x.events["price"][x.events["kind"] == Kind.FUNDING] for x in (a, b))
    assert not np.array_equal(fa, fb)
