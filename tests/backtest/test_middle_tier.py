"""The faults the middle tier's old structure hid: a feature store without its registry, silent
fallbacks to other APIs in the sweep seam, ``as_store`` changing the caller's store or ignoring
``end_ns`` / ``params``.  Real events, real stores, the real simulator."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.config import Params
from liqcore.features import FeatureStore, historical
from liqcore.features.store import R_END, as_store
from liqcore.types import EVENT_DTYPE, Kind, Side, SymbolRegistry, Venue, default_registry

S = 1_000_000_000
T0 = 1_767_571_200 * S  # 2026-01-05


def _events(n_symbols_offset: int = 0) -> np.ndarray:
    """Two hours of trades (one a minute) and a few liquidations on one symbol."""
    rng = np.random.default_rng(5)
    n = 120
    ev = np.zeros(n + 6, EVENT_DTYPE)
    ev["ts_recv"] = ev["ts_event"] = T0 + np.r_[np.arange(n) * 60, 600 + np.arange(6) * 900] * S
    ev["kind"][:n], ev["kind"][n:] = int(Kind.TRADE), int(Kind.LIQUIDATION)
    ev["side"][:n] = np.where(rng.random(n) < 0.5, int(Side.BUY), int(Side.SELL))
    ev["side"][n:] = int(Side.LONG)
    ev["price"] = 100.0 * np.exp(np.cumsum(rng.normal(0, 1e-3, n + 6)))
    ev["qty"] = rng.uniform(1, 5, n + 6)
    ev["symbol_id"] = n_symbols_offset
    ev["venue"] = int(Venue.BYBIT)
    return ev[np.argsort(ev["ts_recv"], kind="stable")]


# ---- 1. a store without its registry ---------------------------------------------------------------
def test_store_without_a_registry_is_an_error_not_an_empty_table():
    sid = len(default_registry) + 7  # an id the process-wide registry does not number
    e = _events(sid)
    times = [T0 + 3600 * S]
    with pytest.raises(ValueError, match="registry: the events carry symbol ids up to"):
        FeatureStore(e)
    with pytest.raises(ValueError, match="pass the SymbolRegistry"):
        historical(times, ["flow.ofi@5m"], e)
    # with the registry that numbered them, the same events give a row per time
    reg = SymbolRegistry()
    for i in range(sid + 1):
        reg.id(Venue.BYBIT, f"S{i}USDT")
    df = historical(times, ["flow.ofi@5m"], (e, reg))
    assert len(df) == 1 and df["symbol"][0] == f"bybit:S{sid}USDT"


# ---- 3. as_store never changes the caller's store and honours every option -------------------------
def test_historical_on_a_store_does_not_change_it_and_honours_lookback():
    e, reg = _events(), SymbolRegistry([("bybit", "ETHUSDT")])
    store = FeatureStore(e, reg, lookback=30, min_periods=5)
    times = [T0 + 100 * 60 * S, T0 + 110 * 60 * S]
    name = "flow.ofi@1m:zscore"
    got = historical(times, [name], store, lookback=10, min_periods=3)
    assert (store.lookback, store.min_periods) == (30, 5)
    want = historical(times, [name], FeatureStore(e, reg, lookback=10, min_periods=3))
    np.testing.assert_array_equal(got[name].to_numpy(), want[name].to_numpy())
    # the store itself still answers with its own lookback
    own = historical(times, [name], store)
    np.testing.assert_array_equal(own[name].to_numpy(),
                                  historical(times, [name], FeatureStore(e, reg, lookback=30, min_periods=5))[name])
    assert not np.array_equal(own[name].to_numpy(), got[name].to_numpy(), equal_nan=True)


def test_historical_on_a_store_honours_end_ns_and_params():
    e, reg = _events(), SymbolRegistry([("bybit", "ETHUSDT")])
    store = FeatureStore(e, reg)
    end = T0 + 60 * 60 * S
    t = np.array([T0 + 50 * 60 * S, T0 + 90 * 60 * S])
    got = historical(t, ["flow.ofi@5m"], store, end_ns=end)
    assert np.isnan(got["flow.ofi@5m"][1]) and not np.isnan(got["flow.ofi@5m"][0])
    assert got.attrs["null_reasons"]["bybit:ETHUSDT"]["flow.ofi@5m"] == {"after the end of the data": 1}
    assert store.end_ns == int(e["ts_recv"][-1])  # unchanged
    v, r = FeatureStore(e, reg, end_ns=end).values("flow.ofi@5m", 0, t)
    np.testing.assert_array_equal(got["flow.ofi@5m"].to_numpy(), v)
    assert r[1] == R_END
    # other detector parameters: a store over the same events with them; the caller's keeps its own
    p = Params.from_mapping({"quantile": 0.5, "min-large": 1})
    other = as_store(store, params=p)
    assert other is not store and other.params is p and store.params is None
    assert as_store(store) is store and as_store(store, end_ns=store.end_ns, lookback=store.lookback) is store


# ---- 2. the sweep seam falls back to no other API ----------------------------------------------------
@pytest.fixture(scope="module")
def prepared():
    from liqcore.sweep import cells as Sw

    ev, reg = Sw.load_partition(Sw.Partition(Sw.Source("synthetic", days=1, seed=11), ("ETHUSDT",)))
    prep = Sw.Prepared(ev, reg)
    p = Params()
    return prep, Sw.detect_partition(prep, p)


def test_sweep_window_keeps_the_portfolio_rules_whatever_backtest_run_offers(prepared, monkeypatch):
    """The fast path builds the portfolio row from the execution front itself: removing the old
    ``backtest.run.new_portfolio`` cannot make it drop ``notional`` / ``leverage`` /
    ``max_positions`` / ``replace`` (it used to fall back to a bare ``new_port``)."""
    from liqcore.backtest import run as R
    from liqcore.sweep import cells as Sw

    prep, rec = prepared
    p = Params.from_mapping({"notional": 250.0, "leverage": 3.0, "max-positions": 1, "replace-weakest": "on"})
    want = Sw._simulate_window(prep, rec, p, Sw.Window(), 1000.0, False)
    ref = R.simulate(prep.events, rec, prep.registry, p, 1000.0).summary()
    assert want["trades"] == ref["trades"] >= 1 and want["total_return"] == ref["total_return"]
    monkeypatch.delattr(R, "new_portfolio")
    assert Sw._simulate_window(prep, rec, p, Sw.Window(), 1000.0, False) == want


def test_sweep_generic_path_never_falls_back_to_simulate(prepared, monkeypatch):
    """Without ``run_strategy`` the generic window is an error, not a silent replay of the cascade
    strategy through ``simulate`` (which ignores the strategy)."""
    from liqcore.backtest import run as R
    from liqcore.sweep import cells as Sw

    prep, rec = prepared
    p = Params.from_mapping({"strategy": "cascade-fade"})
    monkeypatch.delattr(R, "run_strategy")
    with pytest.raises(ImportError, match="run_strategy"):
        Sw._generic_window(prep, rec, p, Sw.Window(), 1.0, False)
