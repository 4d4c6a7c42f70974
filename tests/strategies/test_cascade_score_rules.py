"""cascade-score's rules from its write-up on hand-made markets, each in the batch and the streaming
form: the funding filter ("elevated funding: more fuel"), its refusal without funding, and the
trigger scaled per symbol from the symbol's own window notionals (the $5 M trigger as written stays
available)."""
from __future__ import annotations

import numpy as np
import pytest
from streamcheck import compare, feed

from liqcore.config import Params
from liqcore.strategies.catalog import load, register_seven
from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry

register_seven()

S = 1_000_000_000
M = 60 * S
T0 = 472_222 * 3600 * S  # an hour boundary
LIQ, TRADE, FUND = int(Kind.LIQUIDATION), int(Kind.TRADE), int(Kind.FUNDING)
LONG, SHORT, BUY = int(Side.LONG), int(Side.SHORT), int(Side.BUY)
REG = SymbolRegistry([("binance", "BTCUSDT"), ("binance", "DOGEUSDT")])
# the write-up's filters as shipped, on a small window of small liquidations
SMALL = {"trigger-notional": 1000, "score-notional": 1000, "min-liq-notional": 0, "min-score": 0,
         "entry-from": "trigger"}


def market(rows) -> np.ndarray:
    ev = np.zeros(len(rows), EVENT_DTYPE)
    for i, (t, kind, side, price, qty, sid) in enumerate(rows):
        ev[i] = (t, t, price, qty, sid, side, kind, 2, 0)
    return ev[np.argsort(ev["ts_recv"], kind="stable")]


def liq(t, side, notional, price=100.0, sid=0):
    return (t, LIQ, side, price, notional / price, sid)


def trade(t, price, sid=0):
    return (t, TRADE, BUY, price, 1.0, sid)


def funding(t, rate, sid=0):
    return (t, FUND, 0, rate, 0.0, sid)


def both(ev, **over):
    """The batch signals and the streamed ones (checked equal), and the strategy (its recorded inputs)."""
    cls = load("cascade-score")
    p = cls.resolve(Params.from_mapping(over))
    obj = cls()
    batch = obj.signals(ev, p, REG)
    got, _ = feed(obj.stream(p, REG), ev, p, tail_clock=True)
    compare(batch, got, int(ev["ts_recv"][-1]), inclusive=True)
    return batch, obj


def cascade(side, sid=0, t=T0 + 10 * S):
    """A burst of three liquidations of ``side`` (600 + 500 + 100 within 13 s: the window crosses 1,000
    at the second) and trades around it."""
    return [trade(T0, 100.0, sid), liq(t, side, 600.0, sid=sid), liq(t + 10 * S, side, 500.0, sid=sid),
            liq(t + 13 * S, side, 100.0, sid=sid), trade(t + 190 * S, 99.0, sid)]


# ---- funding ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("rate, want", [(3e-4, -1), (1e-4, 105), (-2e-4, 105), (None, 106)])
def test_a_long_flush_is_traded_only_when_funding_shows_the_longs_crowded(rate, want):
    rows = cascade(LONG) + ([funding(T0 - M, rate)] if rate is not None else [])
    sig, obj = both(market(rows), **SMALL)
    assert len(sig) == 1
    g = sig[0]
    if want == -1:
        assert g["direction"] == -1 and g["skip_code"] == 0
    else:  # 105 funding_not_elevated (at the neutral 0.01 % or below), 106 no funding received yet
        assert g["direction"] == 0 and g["skip_code"] == want
    assert obj.inputs(g)["funding_rate"] == rate


@pytest.mark.parametrize("rate, want", [(-1e-4, 1), (0.0, 1), (1e-4, 105), (5e-4, 105)])
def test_a_short_flush_is_traded_only_when_funding_shows_the_shorts_crowded(rate, want):
    sig, _ = both(market(cascade(SHORT) + [funding(T0 - M, rate)]), **SMALL)
    assert (sig[0]["direction"], sig[0]["skip_code"]) == ((1, 0) if want == 1 else (0, want))


def test_the_funding_in_force_at_the_decision_counts_and_the_margin_widens_the_neutral_band():
    # +0.03 % an hour before, -0.02 % one second before the burst: the latest one is in force
    rows = cascade(LONG) + [funding(T0 - M, 3e-4), funding(T0 + 9 * S, -2e-4)]
    assert both(market(rows), **SMALL)[0][0]["skip_code"] == 105
    # a funding received after the decision is not known at it
    rows = cascade(LONG) + [funding(T0 - M, 3e-4), funding(T0 + 30 * S, -2e-4)]
    assert both(market(rows), **SMALL)[0][0]["direction"] == -1
    # 0.03 % is 0.02 % above neutral: enough with margin 0.01 %, not with 0.03 %
    rows = cascade(LONG) + [funding(T0 - M, 3e-4)]
    assert both(market(rows), **SMALL, **{"funding-margin": "0.01%"})[0][0]["direction"] == -1
    assert both(market(rows), **SMALL, **{"funding-margin": "0.03%"})[0][0]["skip_code"] == 105
    # the filter off: traded whatever the funding
    assert both(market(cascade(LONG)), **SMALL, **{"funding-filter": "off"})[0][0]["direction"] == -1


def test_without_funding_events_cascade_score_is_refused_unless_its_funding_filter_is_off():
    from liqcore.backtest.run import prepare_events, run_strategy

    ev = prepare_events(market(cascade(LONG)))
    with pytest.raises(ValueError, match=r"no funding events.*--funding-filter off"):
        run_strategy(ev, REG, Params.from_mapping({"strategy": "cascade-score", **SMALL}))
    res = run_strategy(ev, REG, Params.from_mapping({"strategy": "cascade-score", "funding-filter": "off", **SMALL}))
    assert res.summary()["fills"] == 1


def test_the_backtest_command_refuses_a_recording_without_funding(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from liqcore.io import save_events

    path = tmp_path / "rec.parquet"
    save_events(market(cascade(LONG)), path, REG)
    root = Path(__file__).resolve().parents[2]
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "liqcore", "backtest", str(path), "--strategy", "cascade-score", "--no-progress"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert p.returncode != 0
    assert p.stderr.strip().count("\n") == 0 and "funding" in p.stderr and "Traceback" not in p.stderr
    p = subprocess.run(cmd + ["--funding-filter", "off", "--json"], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120)
    assert p.returncode == 0, p.stderr


# ---- the trigger per symbol --------------------------------------------------------------------------

def _history(sid, notionals, t_end):
    """Isolated liquidations (one every 10 minutes: each alone in its 90 s window) ending before ``t_end``."""
    n = len(notionals)
    return [liq(t_end - (n - k) * 10 * M, LONG if k % 2 else SHORT, x, sid=sid) for k, x in enumerate(notionals)]


def _alt_and_btc():
    """BTCUSDT (sid 0): 60 past liquidations of $1-2 M and a burst of 3 x $2 M; DOGEUSDT (sid 1): 60 of
    $50-90 k and a burst of 3 x $90 k.  Funding 0.05 % on both (longs crowded)."""
    t = T0 + 11 * 60 * M  # after 10 hours of history
    rows = [funding(T0, 5e-4, 0), funding(T0, 5e-4, 1)]
    btc = [1e6 + (k % 5) * 2.5e5 for k in range(60)]
    doge = [5e4 + (k % 5) * 1e4 for k in range(60)]
    rows += _history(0, btc, t) + _history(1, doge, t)
    for sid, x in ((0, 2e6), (1, 9e4)):
        rows += [trade(t - M, 100.0, sid), liq(t, LONG, x, sid=sid), liq(t + 2 * S, LONG, x, sid=sid),
                 liq(t + 6 * S, LONG, x, sid=sid), trade(t + 7 * S, 99.9, sid), trade(t + 300 * S, 99.0, sid)]
    return market(rows), btc, doge


def test_the_trigger_follows_each_symbols_own_window_notionals():
    ev, btc, doge = _alt_and_btc()
    over = {"min-score": 0, "trigger-notional": 5_000_000, "entry-from": "first"}  # (the trigger, not the entry rule)
    # as written ($5 M for every symbol): neither burst reaches it (BTC's 3 x 2 M = 6 M does, late in the burst)
    fixed, _ = both(ev, **over, **{"trigger-scale": "fixed"})
    assert len(fixed) == 1 and fixed[0]["symbol_id"] == 0 and fixed[0]["direction"] == -1
    # scaled: each symbol's 0.95 quantile of its own window notionals (one liquidation each here); the
    # isolated past liquidations at the quantile trigger too, but nothing follows them (no_follow_through)
    sig, obj = both(ev, **over)
    assert set(sig[sig["direction"] == 0]["skip_code"].tolist()) == {101}
    sig = sig[sig["direction"] != 0]
    assert sorted(sig["symbol_id"].tolist()) == [0, 1]
    for g, hist in ((sig[sig["symbol_id"] == 0][0], btc), (sig[sig["symbol_id"] == 1][0], doge)):
        rec = obj.inputs(g)
        assert rec["trigger_notional"] == pytest.approx(np.quantile(hist, 0.95), rel=1e-12)
        assert rec["window_notional"] >= rec["trigger_notional"]
        assert g["direction"] == -1
    # the size scales with the trigger too: score / 10 x min(N / (score-notional x trigger / 5 M), 2)
    g = sig[sig["symbol_id"] == 1][0]
    rec = obj.inputs(g)
    assert g["size_mult"] == pytest.approx(rec["score"] / 10 * min(rec["window_notional"] / (
        10e6 * rec["trigger_notional"] / 5e6), 2.0))


def test_before_its_minimum_history_a_symbol_uses_trigger_notional():
    ev, _btc, _doge = _alt_and_btc()
    over = {"min-score": 0, "trigger-notional": 5_000_000, "trigger-min-history": 70}
    sig, _ = both(ev, **over)  # 63 liquidations at most < 70: the fixed $5 M, DOGE never reaches it
    assert sig["symbol_id"].tolist() == [0]
    sig, _ = both(ev, **{**over, "trigger-history": 10, "trigger-min-history": 10})
    assert sorted(sig[sig["direction"] != 0]["symbol_id"].tolist()) == [0, 1]


def test_rolling_quantile_matches_numpy_on_random_values():
    from liqcore.strategies.cascade_score import RollingQuantile

    rng = np.random.default_rng(1)
    x = rng.lognormal(10, 2, 500)
    for n, q in ((1, 0.5), (7, 0.95), (100, 0.0), (100, 1.0), (1000, 0.9)):
        rq = RollingQuantile(n, q)
        for k, v in enumerate(x):
            rq.add(float(v))
            assert rq.value() == pytest.approx(np.quantile(x[max(0, k + 1 - n): k + 1], q), rel=1e-12)


# ---- the counting floor per symbol --------------------------------------------------------------------

def _small_alt():
    """DOGEUSDT (sid 1) only: 60 isolated liquidations of $1-5 k (twelve of each thousand) and a burst of
    3 x $6 k -- a market whose every liquidation is far below the article's $50 k stream filter.
    Funding 0.05 % (longs crowded)."""
    t = T0 + 11 * 60 * M
    hist = [1000.0 + (k % 5) * 1000.0 for k in range(60)]
    rows = [funding(T0, 5e-4, 1)] + _history(1, hist, t)
    rows += [trade(t - M, 100.0, 1), liq(t, LONG, 6000.0, sid=1), liq(t + 2 * S, LONG, 6000.0, sid=1),
             liq(t + 6 * S, LONG, 6000.0, sid=1), trade(t + 7 * S, 99.9, 1), trade(t + 300 * S, 99.0, 1)]
    return market(rows), hist


def test_the_counting_floor_follows_each_symbols_own_liquidation_sizes():
    ev, hist = _small_alt()
    over = {"min-score": 0, "trigger-min-history": 10}  # (so that the trigger too has its history here)
    # as written (trigger-scale fixed): $50 k for every symbol, so nothing on this market counts
    fixed, _ = both(ev, **over, **{"trigger-scale": "fixed"})
    assert len(fixed) == 0
    # scaled: the floor is the 0.84 quantile of the symbol's previous liquidations (any size); the burst
    # is counted and traded
    sig, obj = both(ev, **over)
    ent = sig[sig["direction"] != 0]
    assert len(ent) == 1 and ent[0]["symbol_id"] == 1 and ent[0]["direction"] == -1
    rec = obj.inputs(ent[0])
    assert rec["min_liq_notional"] == pytest.approx(np.quantile(hist, 0.84), rel=1e-12)
    # the quantile is a parameter: at 1.0 the floor is the largest previous liquidation ($5 k, still
    # below the burst); a $7 k floor from min-liq-notional is never used once the history is there
    sig, obj = both(ev, **over, **{"min-liq-quantile": 1.0, "min-liq-notional": 7000})
    ent = sig[sig["direction"] != 0]
    assert len(ent) == 1 and obj.inputs(ent[0])["min_liq_notional"] == 5000.0


def test_before_its_minimum_history_the_floor_is_min_liq_notional():
    ev, _hist = _small_alt()
    # 63 liquidations < 70: the $50 k floor throughout (and the trigger is trigger-notional)
    over = {"min-score": 0, "trigger-min-history": 70, "trigger-notional": 10_000, "score-notional": 10_000}
    assert len(both(ev, **over)[0]) == 0
    sig, obj = both(ev, **over, **{"min-liq-notional": 5500})  # a floor the burst clears, history aside
    ent = sig[sig["direction"] != 0]
    assert len(ent) == 1 and obj.inputs(ent[0])["min_liq_notional"] == 5500.0


# ---- the default synthetic market (30 days x 5 symbols, seed 7) ------------------------------------------

@pytest.fixture(scope="module")
def default_run(default_market):
    """``liqcore backtest --synthetic --strategy cascade-score``: every parameter at its default."""
    from liqcore.backtest.run import prepare_events, run_strategy

    m = default_market
    res = run_strategy(prepare_events(m.events), m.registry, Params.from_mapping({"strategy": "cascade-score"}))
    return res, m.registry


@pytest.mark.slow
def test_cascade_score_trades_at_least_five_times_on_the_default_market(default_run):
    res, _ = default_run
    assert len(res.ledger) >= 5, res.counts


@pytest.mark.slow
def test_cascade_score_holds_longer_than_two_minutes_in_the_median_on_the_default_market(default_run):
    L = default_run[0].ledger
    assert len(L) and float(np.median(L["exit_ns"] - L["entry_ns"])) > 120e9  # ns


@pytest.mark.slow
def test_cascade_score_trades_are_not_mostly_btc_on_the_default_market(default_run):
    res, reg = default_run
    L = res.ledger
    btc = [sid for sid, _venue, name in reg if name == "BTCUSDT"]
    assert len(btc) == 1 and len(L)
    share = float(np.mean(L["symbol_id"] == btc[0]))
    assert share < 0.6, (share, np.bincount(L["symbol_id"]))
    assert len(np.unique(L["symbol_id"])) >= 3  # the smaller markets trade too
