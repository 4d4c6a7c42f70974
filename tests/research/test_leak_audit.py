"""The leak audit: every named feature is point-in-time on synthetic and real data, and a
deliberately leaking registered feature is caught (in Python and by `liqcore leak-audit`)."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.cli import main
from liqcore.research import NAMED_FEATURES, leak_audit, register_feature, unregister_feature
from liqcore.types import Kind

LEAKY = '''
import numpy as np
from liqcore.research import register_feature
from liqcore.types import Kind


def next_trade_price(events, times, window_ns):
    """price of the first trade received AFTER t: uses the future"""
    tr = events[events["kind"] == Kind.TRADE]
    i = np.searchsorted(tr["ts_recv"], times, side="right")
    out = np.full(len(times), np.nan)
    ok = i < len(tr)
    out[ok] = tr["price"][i[ok]]
    return out


register_feature("leaky.next_trade_price", next_trade_price, vectorized=True, replace=True)
'''


@pytest.fixture(scope="module")
def small_market():
    from liqcore.synthetic.market import synthetic_market

    return synthetic_market(days=1, symbols=("BTCUSDT", "ETHUSDT"), seed=11)


def test_every_named_feature_passes_on_the_synthetic_market(small_market):
    m = small_market
    res = leak_audit(m.events, m.registry, samples=10, seed=1)
    assert res.ok, "\n".join(map(str, res.leaks[:10]))
    assert set(res.names) >= set(NAMED_FEATURES)
    assert res.checked == len(res.names) * 2 * len(res.times)
    assert res.non_null > 0.6 * res.checked  # the audit compared numbers, not only nulls


@pytest.mark.parametrize("folder", ["binance-forceorder-2025-01", "binance-forceorder-2024-08",
                                    "binance-forceorder-2025-12"])
def test_every_named_feature_passes_on_real_recordings(real_data, folder):
    from liqcore.dataset.load import load_events

    res = load_events([real_data / folder])
    ev = res.events
    # the instruments with the most trades (the feeds the flow and price families need) and BTC
    sids, counts = np.unique(ev["symbol_id"][ev["kind"] == Kind.TRADE], return_counts=True)
    top = [res.registry.symbol(s) for s in sids[np.argsort(-counts)][:3]]
    symbols = sorted(set(top) | {"BTCUSDT"} & {s for _, _, s in res.registry})
    audit = leak_audit(ev, res.registry, samples=8, seed=2, symbols=symbols)
    assert audit.ok, "\n".join(map(str, audit.leaks[:10]))
    assert audit.non_null > 0.3 * audit.checked


def test_a_leaking_feature_is_caught(small_market):
    m = small_market

    def peeks_at_receive(events, times, window_ns):
        """liquidation notional over (t - W, t] by VENUE time: includes events not yet received at t"""
        liq = events[events["kind"] == Kind.LIQUIDATION]
        order = np.argsort(liq["ts_event"], kind="stable")
        te = liq["ts_event"][order]
        c = np.concatenate([[0.0], np.cumsum((liq["price"] * liq["qty"])[order])])
        return c[np.searchsorted(te, times, "right")] - c[np.searchsorted(te, times - window_ns, "right")]

    def honest(events, t_ns, window_ns):
        liq = events[(events["kind"] == Kind.LIQUIDATION) & (events["ts_recv"] > t_ns - window_ns)]
        return float((liq["price"] * liq["qty"]).sum())

    register_feature("audit.by_venue_time", peeks_at_receive, vectorized=True, replace=True)
    register_feature("audit.honest", honest, replace=True)
    try:
        # sampled at receive times of liquidations: a liquidation received after t with a venue
        # time before t is counted by the leaking feature on the whole input only
        liq = m.events[m.events["kind"] == Kind.LIQUIDATION]
        lat = liq["ts_recv"] - liq["ts_event"]
        times = (liq["ts_event"][lat > 0][1000:1040] + 1).astype(np.int64)
        res = leak_audit(m.events, m.registry, ["audit.by_venue_time@1m", "audit.honest@1m", "audit.honest@1m:zscore"],
                         times=times, symbols=["ETHUSDT", "BTCUSDT"])
        leaked = {l.name for l in res.leaks}
        assert leaked == {"audit.by_venue_time@1m"}
        assert all("truncated" in str(l) for l in res.leaks)
        # the honest one equals the built-in definition
        from liqcore.research import FeatureStore

        st = FeatureStore(m.events, m.registry)
        a = st.values("audit.honest@1m", 1, times)[0]
        b = st.values("liquidations.liq_volume@1m", 1, times)[0]
        np.testing.assert_allclose(a, b, rtol=1e-9)
    finally:
        unregister_feature("audit.by_venue_time")
        unregister_feature("audit.honest")


def test_cli_leak_audit_exit_codes(tmp_path, capsys):
    plugin = tmp_path / "leaky_plugin.py"
    plugin.write_text(LEAKY)
    try:
        rc = main(["leak-audit", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--samples", "6",
                   "--no-progress", "--plugin", str(plugin), "--names", "leaky.next_trade_price@1m,flow.ofi@5m"])
        out = capsys.readouterr().out
        assert rc == 1
        assert "LEAK leaky.next_trade_price@1m" in out and "LEAKS FOUND" in out
        assert "LEAK flow.ofi@5m" not in out
        rc = main(["leak-audit", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--samples", "4",
                   "--no-progress", "--names", "flow.ofi@5m:zscore,liquidations.liq_imbalance@15m:zscore"])
        out = capsys.readouterr().out
        assert rc == 0 and "no leak" in out
    finally:
        unregister_feature("leaky.next_trade_price")
    assert main(["leak-audit", "--synthetic", "--days", "1", "--names", "flow.nope@1m"]) == 2
    assert "unknown feature 'nope'" in capsys.readouterr().err
    assert main(["leak-audit", "--synthetic", "--days", "1", "--samples", "0"]) == 2
    assert main(["leak-audit", "--synthetic", "--plugin", str(tmp_path / "missing.py")]) == 2


def test_symbols_that_appear_later_do_not_leak():
    """BTC (for xasset) and a second venue (for /all) whose first events come late: values before
    them must not depend on whether they exist later (regression: both once leaked)."""
    from liqcore.types import EVENT_DTYPE, Side, SymbolRegistry

    reg = SymbolRegistry([("bybit", "ETHUSDT"), ("binance", "ETHUSDT"), ("bybit", "BTCUSDT"), ("binance", "SOLUSDT")])
    S = 1_000_000_000
    rows = []
    rng = np.random.default_rng(5)
    for t in np.sort(rng.uniform(0, 4000, 400)):
        rows.append((t, Kind.LIQUIDATION, Side.LONG if rng.random() < 0.5 else Side.SHORT, 100.0, 1.0 + rng.random(), 0, 1))
        rows.append((t + 0.3, Kind.TRADE, Side.BUY, 100.0, 1.0, 0, 1))
        rows.append((t + 0.2, Kind.LIQUIDATION, Side.LONG, 10.0, 1.0, 3, 2))  # binance is live from the start
    for t in np.sort(rng.uniform(3000, 4000, 100)):  # BTC and binance ETH only from 3000 s
        rows.append((t, Kind.LIQUIDATION, Side.SHORT, 90000.0, 0.01, 2, 1))
        rows.append((t + 0.1, Kind.LIQUIDATION, Side.LONG, 100.0, 2.0, 1, 2))
    e = np.zeros(len(rows), EVENT_DTYPE)
    for i, (t, k, sd, p, q, sid, v) in enumerate(rows):
        e[i] = (int(t * S), int(t * S), p, q, sid, int(sd), int(k), v, 0)
    e = e[np.argsort(e["ts_recv"], kind="stable")]
    times = (np.arange(600, 4000, 150) * S).astype(np.int64)
    names = ["xasset.btc_liq@1m", "xasset.btc_liq_lead@1m", "xasset.liq_corr_btc@5m",
             "liquidations/all.liq_volume@1m", "liquidations/all.liq_imbalance@5m", "liquidations/all.liq_largest@5m",
             "liquidations/all.liq_cascade_count@1h"]
    res = leak_audit(e, reg, names, times=times, symbols=["bybit:ETHUSDT"], lookback=10, min_periods=3)
    assert res.ok, "\n".join(map(str, res.leaks[:10]))
    assert res.non_null > 0.5 * res.checked
