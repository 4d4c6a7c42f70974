"""The synthetic market's effect knobs: the default market is unchanged, each knob does what it says."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from liqcore.synthetic import market as S
from liqcore.types import Kind


def test_default_market_is_unchanged_by_the_knobs():
    # digest of the default generator's output (1 day, 5 symbols, seed 7)
    m = S.synthetic_market(days=1, cache=False)
    assert hashlib.sha256(m.events.tobytes()).hexdigest()[:16] == DEFAULT_DIGEST
    # with the crowd-positioning regime off and the former funding noise, the market before the
    # regime existed, bit for bit (the regime draws none of the symbols' uniforms)
    old = S.synthetic_market(days=1, cache=False, effects={"positioning": 0.0, "funding_regime_sd": 0.0,
                                                           "crowding_share": 0.0},
                             overrides={"fund_sd": 1e-4})
    assert hashlib.sha256(old.events.tobytes()).hexdigest()[:16] == PRE_REGIME_DIGEST
    m2 = S.synthetic_market(days=1, cache=False, preset="default", effects=S.Effects())
    assert np.array_equal(m.events, m2.events) and np.array_equal(m.truth, m2.truth)
    assert not np.any(m.events["kind"] == Kind.OPEN_INTEREST)


DEFAULT_DIGEST = "95e6981f83e6930b"  # since the crowding before flushes: only funding prints changed
PRE_REGIME_DIGEST = "9996397e4ab25f52"


def test_crowding_moves_funding_only_and_leads_flushes_on_their_side():
    """The crowding before flushes changes the funding prints and nothing else, and the last print
    before an episode shows its side crowded more often than without it."""
    on = S.synthetic_market(days=10, cache=False)
    off = S.synthetic_market(days=10, cache=False, effects={"crowding_share": 0.0})
    fund = on.events["kind"] == Kind.FUNDING
    assert np.array_equal(on.events[~fund], off.events[~fund]) and np.array_equal(on.truth, off.truth)
    assert not np.array_equal(on.events["price"][fund], off.events["price"][fund])

    def crowded_share(m):
        F = m.events[m.events["kind"] == Kind.FUNDING]
        hits = []
        for e in m.truth:
            f = F[(F["symbol_id"] == e["symbol_id"]) & (F["ts_recv"] <= e["start_ns"])]
            if len(f):
                hits.append(f["price"][-1] > 1e-4 if e["side"] == 1 else f["price"][-1] < 1e-4)
        return float(np.mean(hits)), len(hits)

    (a, n), (b, _) = crowded_share(on), crowded_share(off)
    assert n > 200 and a > b + 0.02, (a, b, n)
    # the weight: 30 % of the funding variance, so the prints' spread grows by about 1/sqrt(0.7) - 1 = 20 %
    ratio = float(np.std(on.events["price"][fund]) / np.std(off.events["price"][fund]))
    assert 1.05 < ratio < 1.45, ratio
    with pytest.raises(ValueError, match="crowding_share"):
        S.Effects(crowding_share=1.0).check()


def test_contagion_opens_alt_episodes_at_the_planted_lag():
    m = S.synthetic_market(days=2, symbols=("BTCUSDT", "ETHUSDT", "SOLUSDT"), seed=5, cache=False,
                           effects={"contagion": 1.0, "contagion_lag_s": 20.0})
    tr = m.truth
    btc = tr[tr["symbol_id"] == m.registry.id("bybit", "BTCUSDT")]
    for alt in ("ETHUSDT", "SOLUSDT"):
        a = tr[tr["symbol_id"] == m.registry.id("bybit", alt)]
        # every BTC episode inside the horizon has a same-side alt episode 16-24 s later
        for st, side in zip(btc["start_ns"], btc["side"]):
            if st + 25e9 > m.start_ns + 2 * 86400e9:
                continue
            d = (a["start_ns"] - st) / 1e9
            hit = (d >= 16 - 0.002) & (d <= 24 + 0.002) & (a["side"] == side)
            assert hit.any()
    # the leader itself is unchanged by contagion
    m0 = S.synthetic_market(days=2, symbols=("BTCUSDT", "ETHUSDT", "SOLUSDT"), seed=5, cache=False)
    b = m.registry.id("bybit", "BTCUSDT")
    assert np.array_equal(m.events[m.events["symbol_id"] == b]["price"], m0.events[m0.events["symbol_id"] == b]["price"])


def test_open_interest_is_consistent_with_liquidations_and_round_trips_bybit():
    m = S.synthetic_market(days=0.2, symbols=("ETHUSDT", "SOLUSDT"), seed=2, cache=False,
                           effects={"open_interest": True, "oi_organic": 0.0, "oi_liq_share": 1.0})
    ev = m.events
    assert np.all(np.diff(ev["ts_event"]) >= 0)
    for sid, _v, sym in m.registry:
        oi = ev[(ev["kind"] == Kind.OPEN_INTEREST) & (ev["symbol_id"] == sid)]
        liq = ev[(ev["kind"] == Kind.LIQUIDATION) & (ev["symbol_id"] == sid)]
        assert len(oi) > 100
        assert np.all(np.diff(oi["ts_event"]) == 30_000_000_000)
        # without organic flow, the OI falls by exactly the quantity liquidated in between (to a lot)
        cum = np.concatenate(([0.0], np.cumsum(liq["qty"])))
        closed = cum[np.searchsorted(liq["ts_event"], oi["ts_event"], side="right")]
        lot = 10.0 ** -S._spec(sym).qty_dec
        assert np.allclose(np.diff(oi["qty"]), -np.diff(closed), atol=1.01 * lot)
        assert np.ptp(oi["qty"]) > 0
    # Bybit tickers frames carry openInterest; decoding gives back the same events
    from liqcore.venues.decoder import Decoder

    dec = Decoder("bybit")
    frames = list(m.frames("bybit"))
    assert any(b'"openInterest"' in f for _r, f in frames)
    got = np.concatenate([dec.feed(f, r) for r, f in frames])
    assert dec.counters["rejected_frames"] == 0
    names = {i: s for i, _v, s in dec.registry}
    mine = {i: s for i, _v, s in m.registry}

    def key(e, nm):
        e = e[e["kind"] == Kind.OPEN_INTEREST]
        return sorted(zip([nm[int(i)] for i in e["symbol_id"]], e["ts_event"].tolist(), e["ts_recv"].tolist(),
                          e["qty"].tolist(), e["price"].tolist()))

    assert key(got, names) == key(ev, mine)
    # OKX: the open-interest channel, in base units (oiCcy); no mark price rides along
    dec = Decoder("okx")
    got = np.concatenate([dec.feed(f, r) for r, f in m.frames("okx")])
    oi_got = got[got["kind"] == Kind.OPEN_INTEREST]
    oi_mine = ev[ev["kind"] == Kind.OPEN_INTEREST]
    assert len(oi_got) == len(oi_mine) and np.all(np.isnan(oi_got["price"]))
    assert sorted(oi_got["qty"].tolist()) == sorted(oi_mine["qty"].tolist())


def test_null_preset_liquidations_move_no_price():
    # with the same uniforms, the null market's prices do not depend on the liquidation sizes
    a = S.synthetic_market(days=0.3, symbols=("ETHUSDT",), seed=4, cache=False, preset="null")
    b = S.synthetic_market(days=0.3, symbols=("ETHUSDT",), seed=4, cache=False, preset="null",
                           overrides={"c_mu": 3.0, "bg_mu": 0.0})
    ta, tb = a.events[a.events["kind"] == Kind.TRADE], b.events[b.events["kind"] == Kind.TRADE]
    assert np.array_equal(ta["price"], tb["price"]) and np.array_equal(ta["ts_event"], tb["ts_event"])
    # while in the default market they do
    c = S.synthetic_market(days=0.3, symbols=("ETHUSDT",), seed=4, cache=False)
    d = S.synthetic_market(days=0.3, symbols=("ETHUSDT",), seed=4, cache=False, overrides={"c_mu": 3.0, "bg_mu": 0.0})
    tc, td = c.events[c.events["kind"] == Kind.TRADE], d.events[d.events["kind"] == Kind.TRADE]
    assert not np.array_equal(tc["price"], td["price"])


def test_bad_knobs():
    with pytest.raises(ValueError, match="preset"):
        S.synthetic_market(days=0.01, preset="nope", cache=False)
    with pytest.raises(ValueError, match="effects"):
        S.synthetic_market(days=0.01, effects={"nope": 1}, cache=False)
    with pytest.raises(ValueError, match="contagion"):
        S.synthetic_market(days=0.01, effects={"contagion": 2.0}, cache=False)
    with pytest.raises(ValueError, match="oi_interval_s"):
        S.synthetic_market(days=0.01, effects={"oi_interval_s": 15.0}, cache=False)
    with pytest.raises(ValueError, match="vol_hl"):
        S.synthetic_market(days=0.01, overrides={"vol_hl": 0.0}, cache=False)
