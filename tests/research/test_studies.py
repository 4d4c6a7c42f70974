"""Planted effects: every study finds the effect the synthetic market holds (right sign, significant,
the planted lag), and on the null market (liquidations move no price, no effects) nothing beyond chance."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from liqcore.synthetic.market import synthetic_market
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
    one = crit["at least 1 strategy has Sharpe > 1.0 in-sample (95% interval above 1.0)"]
    assert one["status"] == ("met" if (t["sharpe_ci_low"] > 1).any() else "not met")
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
    from liqcore.research.studies import STUDIES

    assert set(doc["studies"]) == set(STUDIES)
    assert {"distributions", "lag"} <= set(doc["studies"])
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
    from liqcore.dataset.load import load_events
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
    assert all(c["status"] in ("met", "not met", "n/a") for c in crit)
    na = {c["criterion"]: c["evidence"] for c in crit if c["status"] == "n/a"}
    assert any("oi study not available" in v for v in na.values())  # no open interest: cannot be measured
    assert any("no ground truth" in v for v in na.values())


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


def test_strategies_study_a_strategy_without_its_inputs_reads_na_the_rest_run():
    # the bundled recording has no funding events; the feature rule needs them, the others do not
    from liqcore.data import sample_recording
    from liqcore.dataset.load import load_events
    from liqcore.research.report import _md_table

    res_in = load_events(sample_recording())
    res = run_study("strategies", Panel(res_in.events, res_in.registry),
                    strategies=("cascade-fade", "flush-reversal-rule", "vol-breakout"))
    t = res.tables["strategies"].set_index("strategy")
    assert t.loc["flush-reversal-rule", "status"] == "n/a — needs funding"
    assert t.loc["cascade-fade", "status"] == "ran" and t.loc["vol-breakout", "status"] == "ran"
    assert t.loc[["cascade-fade", "vol-breakout"], "ran"].all()
    assert any(f.startswith("flush-reversal-rule: n/a — needs funding") for f in res.findings)
    assert "n/a — needs funding" in _md_table(res.tables["strategies"])


def test_criteria_met_only_when_the_interval_clears_the_threshold():
    # 3 days: a strategy with a Sharpe point estimate above 1 from a handful of trades is not evidence
    from liqcore.research.report import criteria, run_all

    m = synthetic_market(days=3, seed=7)
    res = run_all(m.events, m.registry, only=["strategies"])
    t = res["strategies"].tables["strategies"]
    lucky = t[(t.sharpe > 1) & ~(t.sharpe_ci_low > 1)]
    assert len(lucky), t[["strategy", "trades", "sharpe", "sharpe_ci_low"]]  # the case this test is about
    assert (t.sharpe_ci_low <= t.sharpe).all() and (t.sharpe <= t.sharpe_ci_high).all()
    crit = {c["criterion"]: c for c in criteria(res)}
    one = crit["at least 1 strategy has Sharpe > 1.0 in-sample (95% interval above 1.0)"]
    assert one["status"] == ("met" if (t.sharpe_ci_low > 1).any() else "not met") == "not met"
    assert "95% CI [" in one["evidence"]
    # what this input cannot measure reads n/a with the reason, never "not met"
    for name, why in (("cascade detection accuracy > 70% (95% interval above 70%)", "no ground truth"),
                      ("cross-asset contagion is statistically significant", "contagion study not run"),
                      ("liquidations explain > 30% of open-interest changes (95% interval above 30%)", "oi study"),
                      ("several strategies with Sharpe > 1.5 in-sample and > 1.0 out-of-sample (95% intervals above)",
                       "needs at least 2 days in each part")):
        assert crit[name]["status"] == "n/a" and why in crit[name]["evidence"], crit[name]
    # a one-day input: no daily Sharpe ratio at all
    one_day = m.events[m.events["ts_recv"] < m.events["ts_recv"][0] + 86_400 * 10**9 // 2]
    c1 = {c["criterion"]: c for c in criteria(run_all(one_day, m.registry, only=["strategies"]))}
    s1 = c1["at least 1 strategy has Sharpe > 1.0 in-sample (95% interval above 1.0)"]
    assert s1["status"] == "n/a", s1


def test_findings_md_is_valid_markdown_with_pipes_in_cells(tmp_path):
    # `|IC|` in a criterion and `|` in a table cell must not split the cell
    from markdown_it import MarkdownIt

    from liqcore.research.report import run_all, write_report

    m = synthetic_market(days=1, symbols=("ETHUSDT",), seed=3)
    res = run_all(m.events, m.registry, only=["ic", "strategies"])
    res["strategies"].tables["strategies"].loc[0, "strategy"] = "a|b"
    write_report(res, tmp_path)
    text = (tmp_path / "FINDINGS.md").read_text()
    toks = MarkdownIt("commonmark").enable("table").parse(text)
    rows, cur, in_table, n_tables = [], None, False, 0
    for tk in toks:
        if tk.type == "table_open":
            n_tables += 1
            widths = set()
        elif tk.type == "tr_open":
            cur = []
        elif tk.type == "inline" and cur is not None:
            cur.append(tk.content)
        elif tk.type == "tr_close":
            widths.add(len(cur))
            rows.append(cur)
            cur = None
        elif tk.type == "table_close":
            assert len(widths) == 1, widths  # every row as wide as the header
    assert n_tables >= 2
    crit = [r for r in rows if r[0] in ("minimum", "good", "excellent")]
    assert len(crit) == 12 and all(len(r) == 4 for r in crit)
    assert any("|IC| > 0.05" in r[1] for r in crit)
    assert any(r[0] == "a|b" for r in rows)
    statuses = {r[2].split(" — ")[0] for r in crit}
    assert statuses <= {"**met**", "**not met**", "**n/a**"} and "**n/a**" in statuses


def test_findings_tables_one_formatting_with_units():
    # headers carry their unit; no scientific notation, no raw nan/inf; counts whole; fractions in %
    import math
    import re

    import pandas as pd

    from liqcore.research.report import _md_table, display_table, format_value

    df = pd.DataFrame({"strategy": ["a", "b"], "trades": [7, 0], "win_rate": [0.428571, math.nan],
                       "mean_ret_bp": [1.41, math.nan], "total_return": [0.00025, 0.0], "sharpe": [2.98, math.inf],
                       "p": [3e-7, 0.2], "r2": [1e-5, 0.5], "median_recovery_s": [76.5, 1e-6]})
    d = display_table(df)
    assert list(d.columns) == ["strategy", "trades (count)", "win_rate (%)", "mean_ret_bp (bp)", "total_return (%)",
                               "sharpe (annualised)", "p", "r2 (%)", "median_recovery_s (s)"]
    assert d.iloc[0].tolist() == ["a", "7", "42.86", "+1.4", "0.03", "2.980", "< 0.0001", "0.00", "76.5"]
    assert d.iloc[1].tolist()[1:4] == ["0", "—", "—"] and d.iloc[1]["sharpe (annualised)"] == "∞"
    md = _md_table(df)
    assert not re.search(r"\d[eE][+-]?\d", md) and "nan" not in md and "inf" not in md
    assert format_value(-math.inf, "num") == "−∞"
    # the contagion table's lag column says its unit
    m = synthetic_market(days=1, symbols=("BTCUSDT", "ETHUSDT"), seed=3)
    res = run_study("contagion", Panel(m.events, m.registry))
    assert res.available, res.reason
    cols = list(res.tables["contagion"].columns)
    assert "peak_lag_s_5s_bins" in cols and "peak_lag_5s" not in cols
    assert "peak_lag_s_5s_bins (s)" in display_table(res.tables["contagion"]).columns


def test_study_figures_name_units_without_offset_or_powers(tmp_path, monkeypatch):
    # the heatmap's colour bar in millions of the quote currency (no "1e6" above it); the volatility
    # scatter's log axis in plain numbers (no 6x10^-1)
    import matplotlib.figure

    figs = []
    real_savefig = matplotlib.figure.Figure.savefig

    def keep(self, *a, **k):  # the real savefig; the figure is kept to read its axes
        figs.append(self)
        return real_savefig(self, *a, **k)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    m = synthetic_market(days=3, symbols=("BTCUSDT",), seed=5)
    p = Panel(m.events, m.registry)
    res = run_study("heatmap", p)
    assert res.available, res.reason
    res.write_plots(tmp_path)
    ax, cax = figs[-1].axes
    figs[-1].canvas.draw()
    assert "millions, quote currency" in cax.get_ylabel() and cax.yaxis.get_major_formatter().get_offset() == ""
    assert ax.get_ylabel() == "price (quote currency)"
    run_study("volatility", p).write_plots(tmp_path)
    ax = figs[-1].axes[0]
    figs[-1].canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() + ax.get_yticklabels(minor=True) if t.get_text()]
    assert labels and not any("times" in s or "^" in s for s in labels), labels


def test_findings_report_the_absorption_rate_with_its_definition_and_unit(tmp_path):
    """The research plan's absorption (large liquidations with minimal price impact) in FINDINGS.md, from
    ``liqcore research --synthetic``, next to the other microstructure metrics: its definition in the
    finding, the share in % with its interval, per symbol and session."""
    out = tmp_path / "rep"
    p = _cli("research", "--synthetic", "--days", "2", "--symbols", "BTCUSDT,ETHUSDT", "--studies", "microstructure",
             "--report", str(out), "--no-progress")
    assert p.returncode == 0, p.stderr.decode()[-2000:]
    md = (out / "FINDINGS.md").read_text()
    section = md[md.index("(`microstructure`)"):]
    assert "Absorption (large liquidations with minimal price impact):" in section
    assert "### absorption_rate" in section and "absorbed_share (%)" in section and "median_impact_bp (bp)" in section
    rows = [ln for ln in section.splitlines() if ln.startswith("| ALL | all |")]
    assert len(rows) == 1
    share = float(rows[0].split("|")[5])
    assert 0.0 < share < 100.0
