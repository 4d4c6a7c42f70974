"""Market-wide cascades: the episode rule and the count against brute force, a planted five-symbol
cascade, the null market against the chance rate (and the contagion market as its positive control),
the named feature."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.market.wide import (MARKET_WIDE_DTYPE, chance_rate, market_wide, market_wide_count,
                                 market_wide_records)
from liqcore.types import CASCADE_DTYPE, Dominant, Kind, RecordKind, Side, dominant_of

S = 1_000_000_000
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT")


def brute_count(times, groups, t, W):
    return len({int(g) for x, g in zip(times, groups) if t - W < x <= t})


def brute_episodes(times, groups, ln, sn, W, K, stop):
    """Episodes from the count evaluated at every point where it can change (each confirmation x and each
    x + W), up to ``stop``."""
    pts = sorted({int(x) for x in times} | {int(x) + W for x in times})
    pts = [p for p in pts if p <= stop]
    out, run = [], None
    for p in pts:
        c = brute_count(times, groups, p, W)
        if run is None and c >= K:
            run = p
        elif run is not None and c < K:
            out.append((run, p, 0))
            run = None
    if run is not None:
        out.append((run, stop, 1))
    rows = []
    for confirm, end, open_ in out:
        inside = [i for i, x in enumerate(times)
                  if confirm - W < x and (x <= end if open_ else x < end)]
        L, Sh = float(sum(ln[i] for i in inside)), float(sum(sn[i] for i in inside))
        first = min(times[i] for i in inside if times[i] > confirm - W)
        rows.append((int(first), confirm, end, len(inside), dominant_of(L, Sh), open_))
    return rows


@settings(max_examples=300)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 5), st.sampled_from([0.0, 1.0, 2.5]),
                          st.sampled_from([0.0, 1.0, 3.0])), max_size=40),
       st.integers(1, 8), st.integers(2, 4), st.integers(0, 10))
def test_episodes_and_count_equal_brute_force(rows, W, K, tail):
    times = np.array([r[0] for r in rows], dtype=np.int64)
    groups = np.array([r[1] for r in rows], dtype=np.int64)
    ln = np.array([r[2] for r in rows])
    sn = np.array([r[3] for r in rows])
    stop = (int(times.max()) if len(times) else 0) + tail
    got = market_wide(times, groups, ln, sn, window_ns=W, min_instruments=K, end_ns=stop)
    assert got.dtype == MARKET_WIDE_DTYPE
    want = brute_episodes(list(times), list(groups), list(ln), list(sn), W, K, stop)
    assert [(int(r["start_ns"]), int(r["confirm_ns"]), int(r["end_ns"]), int(r["n_cascades"]), int(r["dominant"]),
             int(r["open_at_end"])) for r in got] == want
    assert np.allclose(got["long_notional"] + got["short_notional"],
                       [sum(ln[i] + sn[i] for i in range(len(times)) if r["confirm_ns"] - W < times[i] and
                            (times[i] <= r["end_ns"] if r["open_at_end"] else times[i] < r["end_ns"])) for r in got])
    at = np.arange(-2, stop + W + 2)
    assert market_wide_count(times, groups, at, window_ns=W).tolist() == \
        [brute_count(times, groups, int(t), W) for t in at]
    # every episode reached K instruments, and the count is >= K through it
    for r in got:
        assert r["n_instruments"] >= K
        inside = at[(at >= r["confirm_ns"]) & (at < r["end_ns"])]
        assert (market_wide_count(times, groups, inside, window_ns=W) >= K).all()


def test_one_contract_on_three_venues_counts_once():
    """Bybit BTCUSDT, Binance BTCUSDT and OKX BTC-USDT-SWAP are one instrument: their three cascades at once
    are not market-wide; two more unrelated contracts make it so."""
    from liqcore.types import SymbolRegistry, Venue

    reg = SymbolRegistry()
    ids = [reg.id(Venue.BYBIT, "BTCUSDT"), reg.id(Venue.BINANCE, "BTCUSDT"), reg.id(Venue.OKX, "BTC-USDT-SWAP"),
           reg.id(Venue.BYBIT, "ETHUSDT"), reg.id(Venue.BYBIT, "SOLUSDT")]
    rec = np.zeros(5, dtype=CASCADE_DTYPE)
    rec["record"] = RecordKind.CONFIRMED
    rec["symbol_id"] = ids
    rec["confirm_recv_ns"] = np.array([0, 1, 2, 3, 4]) * S
    rec["long_notional"] = 1e6
    assert len(market_wide_records(rec[:3], reg)) == 0
    assert len(market_wide_records(rec[:3], None)) == 1  # without the registry: three separate symbols
    got = market_wide_records(rec, reg)
    assert len(got) == 1 and got["confirm_ns"][0] == 4 * S and got["n_instruments"][0] == 3
    assert got["dominant"][0] == Dominant.LONG
    # ENDED rows are not confirmations
    ended = rec.copy()
    ended["record"] = RecordKind.ENDED
    assert len(market_wide_records(ended, reg)) == 0


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="at least 2"):
        market_wide([0], [0], min_instruments=1)
    with pytest.raises(ValueError, match="window"):
        market_wide([0], [0], window_ns=0)
    with pytest.raises(ValueError, match="cascade records"):
        market_wide_records(np.zeros(3))
    with pytest.raises(ValueError, match="2 whole days"):
        chance_rate([0], [0], start_ns=0, end_ns=S)


@pytest.fixture(scope="module")
def null_market():
    from liqcore.synthetic.market import synthetic_market

    return synthetic_market(days=12, symbols=SYMBOLS, seed=11, preset="null")


def _detect(events):
    from liqcore.execution.detect import confirmed_records, detect
    from liqcore.params import Params

    liq = events[(events["kind"] == Kind.LIQUIDATION) | (events["kind"] == Kind.GAP)]
    rec, _ = detect(liq, Params())
    return confirmed_records(rec)


def test_a_planted_five_symbol_cascade_fires_a_market_wide_record(null_market):
    """Three large long liquidations on each of the five symbols within 6 s, at a quiet moment of the null
    market: one market-wide record (K = 5) within seconds, longs dominant; none without the plant."""
    ev = null_market.events
    base = _detect(ev)
    reg = null_market.registry
    assert len(market_wide_records(base, reg, min_instruments=5)) == 0
    # a moment with no cascade of any symbol within 10 minutes
    t0 = int(ev["ts_recv"][0]) + 6 * 86_400 * S
    while (np.abs(base["confirm_recv_ns"] - t0) < 600 * S).any():
        t0 += 600 * S
    plant = []
    for k, sym in enumerate(SYMBOLS):
        sid = reg.get(null_market.venue, sym)
        mine = ev[(ev["symbol_id"] == sid) & (ev["kind"] == Kind.LIQUIDATION) & (ev["ts_recv"] < t0)]
        last = mine[-1]
        big = np.quantile(mine["price"] * mine["qty"], 0.999) * 5
        for j in range(3):
            row = last.copy()
            row["ts_event"] = row["ts_recv"] = t0 + (k * 1000 + j * 500) * 1_000_000
            row["side"] = Side.LONG
            row["qty"] = big / row["price"]
            plant.append(row)
    planted = np.sort(np.concatenate([ev, np.array(plant, dtype=ev.dtype)]), order="ts_recv", kind="stable")
    got = market_wide_records(_detect(planted), reg, min_instruments=5)
    assert len(got) == 1
    r = got[0]
    assert t0 <= r["confirm_ns"] <= t0 + 6 * S and r["n_instruments"] == 5
    assert r["dominant"] == Dominant.LONG and r["long_notional"] > r["short_notional"]
    assert r["end_ns"] <= r["confirm_ns"] + 60 * S


def _rate(market):
    from liqcore.instruments import groups

    rec = _detect(market.events)
    g, _ = groups(market.registry)
    ts = market.events["ts_recv"]
    return chance_rate(rec["confirm_recv_ns"], g[rec["symbol_id"]], start_ns=int(ts.min()), end_ns=int(ts.max()),
                       min_instruments=2, draws=200, seed=3)


def test_on_the_null_market_the_rate_is_what_independent_symbols_give_by_chance(null_market):
    cr = _rate(null_market)
    assert cr.observed > 0 and cr.within, str(cr)


def test_the_chance_test_fails_where_cascades_spread_across_symbols():
    """Negative control of the null test: on the contagion market (BTC's cascades open episodes on the other
    symbols 10 s later) the observed rate lies far above the chance interval."""
    from liqcore.synthetic.market import synthetic_market

    m = synthetic_market(days=12, symbols=SYMBOLS, seed=11, preset="contagion")
    cr = _rate(m)
    assert not cr.within and cr.observed > cr.high and cr.p_value < 0.05, str(cr)


def test_the_named_feature_counts_instruments_across_the_whole_store(null_market):
    from liqcore.features.registry import parse_name
    from liqcore.features.store import FeatureStore
    from liqcore.instruments import groups

    ev = null_market.events
    liq = ev[ev["kind"] != Kind.TRADE]
    store = FeatureStore(liq, null_market.registry)
    rec = _detect(liq)
    assert str(parse_name("liquidations.market_wide@1m")) == "liquidations.market_wide@1m"
    t = np.sort(np.r_[rec["confirm_recv_ns"], rec["confirm_recv_ns"] + 30 * S])
    g, _ = groups(null_market.registry)
    want = market_wide_count(rec["confirm_recv_ns"], g[rec["symbol_id"]], t, window_ns=60 * S)
    (row,) = store.compute(t, ["liquidations.market_wide@1m"], symbol="ETHUSDT")
    col = np.asarray(row["values"]["liquidations.market_wide@1m"], dtype=float)
    ok = ~np.isnan(col)
    assert ok.mean() > 0.9
    assert (col[ok] == want[ok]).all() and want.max() >= 2


def _burst_csv(path, symbols=("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"), burst=("BTCUSDT", "ETHUSDT", "SOLUSDT")):
    """Three hours of small liquidations on each symbol (a rolling threshold forms), then three large longs
    on each symbol of ``burst`` within 4 s, and a lone burst of one symbol an hour later."""
    rng = np.random.default_rng(5)
    t0 = 1_735_689_600 * S
    rows = []
    for k, sym in enumerate(symbols):
        px = 100.0 * (k + 1)
        for t in np.sort(rng.integers(0, 3 * 3600, 400)):
            rows.append((t0 + int(t) * S + k, sym, rng.choice(["long", "short"]), px, float(rng.uniform(1, 3))))
    tb = t0 + 3 * 3600 * S
    for k, sym in enumerate(burst):
        for j in range(3):
            rows.append((tb + (k * 1000 + j * 300) * 1_000_000, sym, "long", 100.0 * (symbols.index(sym) + 1), 500.0))
    for j in range(3):
        rows.append((tb + 3600 * S + j * S, "XRPUSDT", "short", 400.0, 500.0))
    rows.sort()
    lines = ["ts_event_ns,venue,symbol,side,price,qty"] + [f"{t},bybit,{s},{sd},{p},{q}" for t, s, sd, p, q in rows]
    path.write_text("\n".join(lines) + "\n")
    return tb


def test_detect_lists_market_wide_cascades(tmp_path, capsys):
    import orjson

    from liqcore.cli import main
    from liqcore.dataset.load import load_events

    f = tmp_path / "liqs.csv"
    tb = _burst_csv(f)
    assert main(["detect", str(f), "--json", "--market-wide", "3"]) == 0
    rows = [orjson.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    wide = [r for r in rows if r.get("market_wide")]
    per = [r for r in rows if not r.get("market_wide")]
    assert len(per) >= 4  # the three of the burst and the lone one
    assert len(wide) == 1
    w = wide[0]
    assert tb <= w["confirm_ns"] <= tb + 4 * S and w["n_instruments"] == 3 and w["dominant"] == "long"
    # the same episode from the detector's records through the library
    from liqcore._libs.detection import CascadeDetector

    res = load_events([f])
    recs, _ = CascadeDetector().run(res.events, flush=True)
    lib = market_wide_records(recs, res.registry, min_instruments=3, end_ns=int(res.events["ts_recv"].max()))
    assert [(int(x["start_ns"]), int(x["confirm_ns"]), int(x["end_ns"])) for x in lib] == \
        [(w["start_ns"], w["confirm_ns"], w["end_ns"])]
    # K = 4: the lone burst an hour later does not join it
    assert main(["detect", str(f), "--json", "--market-wide", "4"]) == 0
    assert not [r for r in map(orjson.loads, filter(str.strip, capsys.readouterr().out.splitlines()))
                if r.get("market_wide")]
    # the table
    assert main(["detect", str(f), "--market-wide", "3", "--market-window", "30s"]) == 0
    out = capsys.readouterr().out
    assert "market-wide cascades (3 or more instruments confirming within 30s)" in out
    assert "market-wide cascades: 1" in out
    assert main(["detect", str(f), "--market-wide", "1"]) == 2
    assert "K is the number of instruments" in capsys.readouterr().err
