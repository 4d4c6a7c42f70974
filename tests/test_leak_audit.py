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
    from liqcore.backtest.synthetic import synthetic_market

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
    from liqcore.io import load_events

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
