"""Planted effects: every study finds the effect the synthetic market holds (right sign, significant,
the planted lag), and on the null market (liquidations move no price, no effects) nothing beyond chance."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from liqcore.backtest.synthetic import synthetic_market
from liqcore.research.studies import Panel, ic_names, run_study

SYMS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
DAYS = 4


def _panel(preset=None, days=DAYS, symbols=SYMS, seed=11, overrides=None, **effects):
    m = synthetic_market(days=days, symbols=symbols, seed=seed, preset=preset, effects=effects or None,
                         overrides=overrides)
    return Panel(m.events, m.registry)


@pytest.fixture(scope="module")
def null():
    return _panel("null", open_interest=True)


@pytest.fixture(scope="module")
def default():
    return _panel(None, open_interest=True)


# ------------------------------------------------------------------------------------------ event


def _row(res, h):
    s = res.tables["summary"]
    return s[(s.symbol == "ALL") & (s.dominant == "both") & (s.horizon == h)].iloc[0]


def test_event_finds_planted_reversion_and_continuation():
    five = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT")
    rev = run_study("event", _panel("reversion", days=5, symbols=five), horizons=("10s", "1m", "5m", "15m"))
    r = _row(rev, "5m")
    assert r["ci_low"] > 0 and r["t_stat"] > 3  # reversion: positive signed return
    assert rev.headline["recovered_1h"] > 0.8
    splits = rev.tables["splits"]
    assert {"size", "notional", "regime", "session", "hour", "dominant"} <= set(splits.split)
    assert set(splits[splits.split == "notional"].group) <= {"<100k", "100k-1M", ">=1M"}
    assert splits[splits.split == "notional"].n.sum() == splits[splits.split == "all"].n.iloc[0]
    assert any(f.startswith("Signed return at 5m by size:") and "by regime: quiet" in f for f in rev.findings)
    # the same sample as the reversion half: on 3 symbols x 4 days the 15 m t-statistic sat at the
    # threshold (-3.03 on seed 11; -1.8 on seed 12); on 5 x 5 days it is -3.3 to -4.4 on seeds 11-13
    cont = run_study("event", _panel("continuation", days=5, symbols=five), horizons=("10s", "1m", "5m", "15m"))
    for h in ("5m", "15m"):
        c = _row(cont, h)
        assert c["ci_high"] < 0 and c["t_stat"] < -3  # continuation: negative signed return


def test_event_null_finds_nothing(null):
    res = run_study("event", null, horizons=("10s", "1m", "5m", "15m"))
    assert res.headline["cascades"] >= 50
    for h in ("10s", "1m", "5m", "15m"):
        assert abs(_row(res, h)["t_stat"]) < 3.5, h


# --------------------------------------------------------------------------------------------- ic


def test_ic_finds_planted_reversion_and_null_finds_nothing(null):
    five = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT")
    # a reversion slower than the 5-minute grid (half-life 15 min), so that it lies ahead of a grid time;
    # the crowd-positioning regime off: it moves the background imbalance for hours without moving
    # prices, which dilutes the planted effect (15 m / 1 h p-values 0.012 / 0.063 with it, 0.002 /
    # 0.003 without, on this seed)
    res = run_study("ic", _panel("reversion", days=10, symbols=five, overrides={"hl_med": 900.0}, positioning=0.0),
                    models=False)
    p = res.tables["pooled_ic"]
    assert set(p.feature) <= set(ic_names()) and "liquidations.liq_imbalance@15m:zscore" in set(p.feature)
    imb = p[p.feature.str.startswith("liquidations.liq_imbalance@")]
    for h in ("15m", "1h"):
        # longs flushed (imbalance < 0) -> the price comes back up: a negative IC for every imbalance window
        assert (imb[imb.horizon == h].ic < 0).all(), h
        r = p[(p.feature == "liquidations.liq_imbalance@15m") & (p.horizon == h)].iloc[0]
        assert r["ci_high"] < 0 and r["p"] < 0.01, h  # the pre-specified feature, on its own
    # beyond multiple testing over every named feature x horizon: an imbalance feature, negative
    sig = p[p.significant_bonferroni]
    assert len(sig) and sig.feature.str.startswith("liquidations.liq_imbalance@").any()
    assert (sig[sig.feature.str.startswith("liquidations.liq_imbalance@")].ic < 0).all()
    # the null market: every named feature x horizon, nothing survives the Bonferroni correction
    res0 = run_study("ic", null)
    h0 = res0.headline
    assert h0["features"] >= 40 and h0["tests"] >= 160
    assert h0["significant_bonferroni"] == 0
    assert h0["significant"] <= 3 * h0["expected_false_positives"]  # about chance, not a planted effect
    assert "no IC beyond chance" in res0.findings[0]
    assert len(res0.tables["models"]) == 8  # ridge and gbm x 4 horizons, out of sample
    assert res0.tables["folds"]["n_test"].min() >= 20
    by_sym = res0.tables["ic_by_symbol"]
    assert set(by_sym.symbol) == set(SYMS)


def test_ic_names_bad_and_missing_inputs(null):
    with pytest.raises(ValueError, match="unknown transform 'zscor'"):
        run_study("ic", null, names="flow.ofi@5m:zscor")
    with pytest.raises(ValueError, match="window '0m' must be positive"):
        run_study("ic", null, names=["flow.ofi@0m"])
    with pytest.raises(ValueError, match="unknown feature"):
        run_study("ic", null, names="liquidations.liq_imbalanc@5m")
    with pytest.raises(ValueError, match="at least one feature name"):
        run_study("ic", null, names=" , ")
    # a chosen subset: only those names are tested
    res = run_study("ic", null, names="liquidations.liq_imbalance@15m,flow.ofi@5m:zscore", models=False)
    assert set(res.tables["pooled_ic"].feature) == {"liquidations.liq_imbalance@15m", "flow.ofi@5m:zscore"}
    # a name whose stream is absent: not a number computed from nothing, the reason is stated
    ev = null.events
    no_oi = Panel(ev[ev["kind"] != 6], null.registry)
    res = run_study("ic", no_oi, names="oi.oi_velocity@5m")
    assert not res.available and "oi.oi_velocity@5m (stream not in the data)" in res.reason
    res = run_study("ic", no_oi, names="oi.oi_velocity@5m,flow.ofi@5m", models=False)
    assert res.available and set(res.tables["pooled_ic"].feature) == {"flow.ofi@5m"}
    assert any("oi.oi_velocity@5m (stream not in the data)" in f for f in res.findings)
    # an input shorter than the grid needs: stated, no IC from a handful of points
    t0 = int(ev["ts_recv"].min())
    short = Panel(ev[ev["ts_recv"] < t0 + 30 * 60 * 10**9], null.registry)
    res = run_study("ic", short)
    assert not res.available and "five-minute grid times (need at least 50)" in res.reason
    assert res.to_json()["tables"] == {}
    # the report's entry point rejects bad names before any study runs
    from liqcore.research.report import run_all

    with pytest.raises(ValueError, match="unknown family"):
        run_all(ev, null.registry, names="flwo.ofi@5m")


# ------------------------------------------------------------------------------------- contagion


def test_contagion_recovers_the_planted_lag():
    res = run_study("contagion", _panel(None, contagion=0.8, contagion_lag_s=20.0))
    h = res.headline
    assert h["significant"] and h["granger_significant"] == 2 and h["conditional_significant"] == 2
    assert h["granger_reverse_significant"] == 0
    assert 16 <= h["median_lead_lag_s"] <= 24  # planted: 20 s x U[0.8, 1.2]
    assert h["mean_p_alt_given_leader"] > 10 * h["mean_base_rate"]


def test_contagion_null_and_default_find_nothing(null, default):
    for panel in (null, default):
        h = run_study("contagion", panel).headline
        assert not h["significant"]
        assert h["granger_significant"] == 0 and h["conditional_significant"] == 0 and h["lead_lag_significant"] == 0


# ------------------------------------------------------------------------------------ volatility


def test_volatility_finds_planted_link_and_null_finds_nothing(null):
    res = run_study("volatility", _panel("volatility"))
    t = res.tables["volatility"]
    pooled = t[t.symbol == "ALL"].set_index("horizon")
    assert pooled.loc["15m", "partial_ci_low"] > 0 and pooled.loc["15m", "partial_p"] < 0.01
    assert pooled.loc["15m", "ic_liq_rate"] > 0
    t0 = run_study("volatility", null).tables["volatility"]
    p0 = t0[t0.symbol == "ALL"]
    assert (p0.partial_p > 0.01 / 3).all()


# -------------------------------------------------------------------------------------------- oi


def test_oi_finds_liquidations_in_open_interest_and_null_does_not(null):
    res = run_study("oi", _panel("open_interest"))
    h = res.headline
    assert h["corr"] < 0 and h["rank_ci_high"] < 0 and h["p"] < 1e-4 and h["r2"] > 0.5 and h["slope"] < 0
    assert h["peak_lag"] == 0
    h0 = run_study("oi", null).headline
    assert h0["p"] > 0.01 and h0["r2"] < 0.01


# -------------------------------------------------------------------------------- microstructure


def test_microstructure_time_of_day_and_absorption(null, default):
    res = run_study("microstructure", _panel("time_of_day"))
    h = res.headline
    assert h["hour_p"] < 1e-4 and 13 <= h["peak_hour"] <= 18  # planted peak: 15:30 UTC
    assert h["session_us"] > 1.0 > h["session_asia"]
    hd = run_study("microstructure", default).headline
    assert hd["absorption_significant_positive"] >= 2  # liquidations push the price (impact > 0)
    h0 = run_study("microstructure", null).headline
    assert h0["hour_p"] > 0.01
    assert h0["absorption_significant_any"] == 0
    assert abs(h0["sweep_t_5m"]) < 3


# ------------------------------------------------------------------------------------- heatmap


def test_heatmap_null_finds_no_zone_effect(null):
    res = run_study("heatmap", null)
    h = res.headline
    assert h["zone_touches"] > 20 and h["random_touches"] > 20
    assert not (h["p_value"] < 0.01)
    assert len(res.tables["densest_levels"]) > 0


# ----------------------------------------------------------------------------------- strategies


def test_strategies_study_measures_the_plans_four(default):
    from liqcore.backtest.run import backtest
    from liqcore.config import Params
    from liqcore.research.report import criteria
    from liqcore.research.studies import PLAN_STRATEGIES

    res = run_study("strategies", default)
    t = res.tables["strategies"].set_index("strategy")
    assert list(t.index) == list(PLAN_STRATEGIES) and t["ran"].all()
    for name in PLAN_STRATEGIES:  # the same numbers as a backtest of that strategy on the same events
        b = backtest(default.events, Params(), strategy=name, registry=default.registry)
        s = b.summary()
        assert t.loc[name, "trades"] == s["trades"], name
        if s["trades"]:
            assert t.loc[name, "win_rate"] == pytest.approx(s["win_rate"])
            assert t.loc[name, "mean_ret_bp"] == pytest.approx(s["avg_return"] * 1e4)
            assert t.loc[name, "ci_low_bp"] <= t.loc[name, "mean_ret_bp"] <= t.loc[name, "ci_high_bp"]
        if s["sharpe"] is not None:
            assert t.loc[name, "sharpe"] == pytest.approx(s["sharpe"])
    h = res.headline
    assert h["sharpe_above_1"] == int((t["sharpe"] > 1).sum())
    crit = {c["criterion"]: c for c in criteria({"strategies": res, "_panel": default})}
    two = crit["backtest at least 2 strategies with full metrics"]
    assert two["status"] == ("met" if (t["trades"] > 0).sum() >= 2 else "not met")
    one = crit["at least 1 strategy has Sharpe > 1.0 in-sample"]
    assert one["status"] == ("met" if (t["sharpe"] > 1).any() else "not met")
    assert "not measured" not in one["evidence"] and "not measured" not in two["evidence"]
    if h["sharpe_above_1"] == 0 and h["significant_positive"] == 0:
        assert any(f.startswith("No strategy has an edge here") for f in res.findings)


def test_strategies_study_without_trades_states_it(default):
    # a short input on which no strategy trades: no number computed from nothing
    ev = default.events
    t0 = int(ev["ts_recv"].min())
    short = Panel(ev[ev["ts_recv"] < t0 + 20 * 60 * 10**9], default.registry)
    res = run_study("strategies", short)
    t = res.tables["strategies"]
    assert (t.trades == 0).any()
    for r in t.itertuples():
        if r.trades == 0:
            assert np.isnan(r.mean_ret_bp) and np.isnan(r.sharpe) and np.isnan(r.win_rate)
            assert any(f.startswith(f"{r.strategy}: no trade on this input") for f in res.findings)


def test_block_corr_interval_stays_within_correlation_bounds():
    # few pairs in few blocks: the t interval alone would reach beyond +-1
    from liqcore.research.studies import block_corr

    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    y = x + rng.normal(size=40) * 0.5
    c, lo, hi, p, n = block_corr(x, y, np.repeat([0, 1, 2], [13, 13, 14]), 200)
    assert n == 40 and -1.0 <= lo <= c <= hi <= 1.0 and np.isfinite(p)


# ------------------------------------------------------------------------------------ bad input


def test_studies_state_missing_inputs(default):
    ev = default.events
    no_trades = Panel(ev[ev["kind"] != 2], default.registry)
    for name in ("event", "ic", "heatmap", "volatility", "strategies"):
        res = run_study(name, no_trades)
        assert not res.available and "no trades" in res.reason, name
        assert res.findings == [f"not available because {res.reason}"]
        assert res.to_json()["tables"] == {}
    no_oi = Panel(ev[ev["kind"] != 6], default.registry)
    res = run_study("oi", no_oi)
    assert not res.available and "open-interest" in res.reason
    one = Panel(ev[ev["symbol_id"] == 0], default.registry)
    res = run_study("contagion", one)
    assert not res.available and "two symbols" in res.reason
    no_liq = Panel(ev[ev["kind"] != 1], default.registry)
    for name in ("event", "ic", "heatmap", "contagion", "volatility", "oi", "microstructure", "strategies"):
        assert not run_study(name, no_liq).available, name
    with pytest.raises(ValueError, match="study"):
        run_study("nope", default)


# ------------------------------------------------------------------------------------------ CLI


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "liqcore", *args], capture_output=True, timeout=timeout)


def test_cli_study_named_json_and_plot(tmp_path):
    png = tmp_path / "ll.png"
    p = _cli("study", "contagion", "--synthetic", "--days", "3", "--symbols", "BTCUSDT,ETHUSDT", "--preset",
             "contagion", "--json", "--plot", str(png))
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    doc = json.loads(p.stdout)
    assert doc["study"] == "contagion" and doc["available"] and doc["headline"]["significant"]
    assert png.is_file() and png.stat().st_size > 1000
    p = _cli("study", "oi", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--no-progress")
    assert p.returncode == 0 and b"open interest" in p.stdout, p.stderr.decode()[-2000:]
    p = _cli("study", "contagion", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--no-progress")
    assert p.returncode == 1 and b"not available because it needs liquidations of at least two symbols" in p.stdout
    assert b"Traceback" not in p.stderr
    p = _cli("study", "--synthetic", "--days", "2", "--symbols", "ETHUSDT,SOLUSDT", "--json")  # no name: event
    doc = json.loads(p.stdout)
    assert doc["cascades"] > 0 and {"size", "regime", "session", "hour"} <= {r["split"] for r in doc["splits"]}
    assert all("median_recovery_s" in r for r in doc["splits"])
    p = _cli("study", "ic", "--synthetic", "--days", "1", "--knob", "nope=1")
    assert p.returncode == 2 and b"knob" in p.stderr and b"Traceback" not in p.stderr


def test_cli_names_and_strategies():
    for args, msg in ((("study", "ic", "--names", "flow.ofi@5m:zscor"), b"unknown transform 'zscor'"),
                      (("study", "ic", "--names", "flow.ofi@45d"), b"longer than the maximum"),
                      (("study", "--names", "flow.ofi@5m"), b"only the ic study takes --names"),
                      (("research", "--names", "liquidations.liq_imbalanc@5m"), b"did you mean"),
                      (("research", "--studies", "strategies,nope"), b"studies")):
        p = _cli(*args, "--synthetic", "--days", "1", "--symbols", "ETHUSDT")
        assert p.returncode == 2 and msg in p.stderr, (args, p.stderr[-500:])
        assert b"Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = _cli("study", "strategies", "--synthetic", "--days", "2", "--symbols", "BTCUSDT,ETHUSDT", "--json")
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    doc = json.loads(p.stdout)
    assert doc["study"] == "strategies" and [r["strategy"] for r in doc["tables"]["strategies"]] == [
        "cascade-fade", "imbalance-reversal", "zone-bounce", "vol-breakout"]


@pytest.mark.slow
def test_cli_research_report(tmp_path):
    out = tmp_path / "rep"
    p = _cli("research", "--synthetic", "--days", "3", "--symbols", "BTCUSDT,ETHUSDT", "--report", str(out),
             "--no-progress")
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    md = (out / "FINDINGS.md").read_text()
    assert "## Success criteria" in md and "**met**" in md and "**not met**" in md
    for fig in ("cascade_examples.png", "heatmap.png", "ic_by_horizon.png", "lead_lag.png", "volatility_scatter.png"):
        assert (out / fig).is_file(), fig
        assert fig in (out / "index.html").read_text()
    doc = json.loads((out / "findings.json").read_text())
    assert set(doc["studies"]) == {"event", "ic", "heatmap", "contagion", "volatility", "oi", "microstructure",
                                   "strategies"}
    assert "not measured here" not in md
    assert "No contagion beyond chance" in md  # plainly stated when absent
    p = _cli("research", "--synthetic", "--days", "1", "--studies", "event,nope")
    assert p.returncode == 2 and b"studies" in p.stderr


def test_cli_research_on_a_recording_without_trades_or_tickers(tmp_path):
    # a liquidation-only recording (Binance forceOrder lines): studies that need prices say so
    from liqcore.testing.fake_replay import liquidation_frame  # noqa: F401  (wire helpers exist)

    m = synthetic_market(days=1, symbols=("ETHUSDT", "SOLUSDT"), seed=3, venue="binance")
    lines = []
    for r, f in m.frames("binance"):
        if b"forceOrder" in f:
            lines.append(b'{"recv_ns":%d,"venue":"binance","frame":%s}' % (r, f))
    path = tmp_path / "liqs.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "rep"
    p = _cli("research", str(path), "--report", str(out), "--no-progress", "--min-history", "5", "--refresh", "0")
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    md = (out / "FINDINGS.md").read_text()
    assert "Not available because the input has no trades" in md
    assert "Not available because the input has no open-interest (ticker) events" in md
    assert "Traceback" not in p.stderr.decode()


@pytest.mark.slow
def test_studies_on_a_real_binance_recording(real_data):
    # sparse, filtered trades and recording gaps: every study either runs or states why it cannot
    from liqcore.io import load_events
    from liqcore.research.report import criteria, run_all

    r = load_events([real_data / "binance-forceorder-2025-01"])
    from liqcore.config import Params

    res = run_all(r.events, r.registry, params=Params(min_history=5, refresh_ns=0),
                  only=["event", "ic", "oi", "microstructure", "volatility", "strategies"])
    for name in ("event", "ic", "oi", "microstructure", "volatility", "strategies"):
        assert res[name].available or res[name].reason, name
        assert "failed" not in (res[name].reason or ""), res[name].reason
    assert not res["oi"].available and "open-interest" in res["oi"].reason
    assert res["ic"].available and res["event"].headline["with_reference"] >= 1
    # the gaps between recording sessions are not counted as quiet hours
    assert "fewer than 48 hours" in " ".join(res["microstructure"].findings)
    crit = criteria(res)
    assert all(c["status"] in ("met", "not met") for c in crit)


def test_study_features_are_point_in_time():
    # appending every event received at or after a cut T changes no feature of a row before T
    from liqcore.research.studies import ic_frame, vol_frame

    m = synthetic_market(days=2, symbols=("ETHUSDT", "SOLUSDT"), seed=5, effects={"open_interest": True})
    ev = m.events
    T = int(ev["ts_recv"].min() + 1.3 * 86400e9) + 123_456_789
    full, cut = Panel(ev, m.registry), Panel(ev[ev["ts_recv"] < T], m.registry)
    for make, feats in ((ic_frame, list(ic_names())), (vol_frame, ["liq_rate", "z_liq_rate", "atr"])):
        a, b = make(full), make(cut)
        a = a[a.t < T].set_index(["symbol", "t"])[feats]
        b = b[b.t < T].set_index(["symbol", "t"])[feats]
        common = a.index.intersection(b.index)
        assert len(common) > 100
        np.testing.assert_array_equal(a.loc[common].to_numpy(), b.loc[common].to_numpy())
