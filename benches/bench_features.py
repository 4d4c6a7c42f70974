"""Named point-in-time features: the feature store against pandas doing the same work, in one run.

    python benches/bench_features.py [--days 30] [--repeats 3]

Two bars:

* ``all named``: every name of ``NAMED_FEATURES`` (49 names: every family, the plan's rolling
  statistics, the playbook's three signals, the merged-venue ones) for every symbol of the default
  synthetic market (30 days x 5 symbols) on a one-minute grid (43,200 times per symbol), including
  building the store from the events (receive-order sort, per-instrument prefix sums, the cascade
  detector).  Baseline: pandas computing a core subset of the same features (time-based
  ``rolling(W, closed="right")`` on the receive time, sampled on the grid; transforms as the mean /
  std over 96 ``shift(k * W)`` columns, exactly the definition) -- fewer features than the store, so
  the ratio understates the gap for equal work.
* ``10k x 10``: ``historical`` for 10,000 random times x 10 names (one symbol) on a built store.
  Baseline: the same 10 names by pandas rolling windows on the events + ``merge_asof`` at the times.

Contenders are interleaved (one repeat of each per round) so load changes hit both alike; the median
and min wall seconds per pass are printed with the median CPU seconds (process time; the store is
single-threaded, so CPU = wall on an idle machine), warm (a first untimed pass compiles and caches
the Numba kernels).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liqcore.synthetic.market import synthetic_market  # noqa: E402
from liqcore.research import NAMED_FEATURES, FeatureStore  # noqa: E402
from liqcore.types import Kind, Side  # noqa: E402

S = 1_000_000_000
M = 96
TEN = ["liquidations.liq_imbalance@15m:zscore", "flow.ofi@5m:zscore", "funding.funding_avg@1h",
       "liquidations.liq_volume@1m", "liquidations.liq_rate@1m:zscore", "price.realized_vol@1h",
       "xasset.btc_liq_lead@30s", "liquidations.liq_volume@5m:mean", "flow.trade_count@1m", "liquidations.liq_largest@5m"]


def store_all(events, registry, grid):
    st = FeatureStore(events, registry)
    return st.historical(grid, NAMED_FEATURES)


def _frames(events):
    ev = events[np.argsort(events["ts_recv"], kind="stable")]
    f = pd.DataFrame({"t": pd.to_datetime(ev["ts_recv"], unit="ns"), "sid": ev["symbol_id"], "kind": ev["kind"],
                      "side": ev["side"], "px": ev["price"], "q": ev["qty"]})
    f["n"] = f.px * f.q
    return f


def _roll(s: pd.Series, w: str, how: str) -> pd.Series:
    r = s.rolling(w, closed="right")
    return getattr(r, how)()


def _at(s: pd.Series, times: pd.DatetimeIndex, fill=0.0) -> np.ndarray:
    """Value of a time-indexed rolling result as of each time (last row at or before it)."""
    s = s[~s.index.duplicated(keep="last")]
    return s.reindex(s.index.union(times)).ffill().reindex(times).fillna(fill).to_numpy()


def _window(s: pd.Series, w_ns: int, times: pd.DatetimeIndex, how: str = "sum") -> np.ndarray:
    """Rolling (t - W, t] aggregate evaluated at ``times``: rolling at the events, then the window
    that ends at t is the event aggregate minus what expired -- done honestly by evaluating the
    rolling window on the union of event and query times (queries carry NaN)."""
    q = pd.Series(np.nan, index=times)
    u = pd.concat([s, q]).sort_index(kind="stable")
    r = u.rolling(pd.Timedelta(w_ns, "ns"), closed="right")
    out = getattr(r, how)()
    out = out[~out.index.duplicated(keep="last")]
    return out.reindex(times).to_numpy()


def _hist(x: np.ndarray, d: int) -> np.ndarray:
    """History matrix (q x M): x at t - k*W for a grid with W = d steps (NaN before the start)."""
    df = pd.DataFrame({k: pd.Series(x).shift(k * d) for k in range(1, M + 1)})
    return df.to_numpy()


def _z(x, H):
    h = pd.DataFrame(H)
    n = h.notna().sum(axis=1).to_numpy()
    mean, sd = h.mean(axis=1).to_numpy(), h.std(axis=1, ddof=0).to_numpy()
    z = np.where(sd > 0, (x - mean) / np.where(sd > 0, sd, 1), 0.0)
    return np.where(n >= 20, z, np.nan)


def pandas_all(events, grid):
    f = _frames(events)
    times = pd.DatetimeIndex(pd.to_datetime(grid, unit="ns"))
    out = {}
    step = int(grid[1] - grid[0])
    for sid, g in f.groupby("sid"):
        g = g.set_index("t")
        liq, trd = g[g.kind == Kind.LIQUIDATION], g[g.kind == Kind.TRADE]
        longs, shorts = liq.n.where(liq.side == Side.LONG, 0.0), liq.n.where(liq.side == Side.SHORT, 0.0)
        cols = {}
        for w in ("1s", "5s", "1m"):
            cols[f"liq_volume@{w}"] = _window(liq.n, pd.Timedelta(w).value, times)
        cols["liq_long@1m"] = _window(longs, 60 * S, times)
        cols["liq_short@1m"] = _window(shorts, 60 * S, times)
        cols["liq_count@1m"] = _window(liq.n, 60 * S, times, "count")
        cols["liq_rate@1m"] = cols["liq_count@1m"]
        l5, s5 = _window(longs, 300 * S, times), _window(shorts, 300 * S, times)
        cols["liq_imbalance@5m"] = np.where(l5 + s5 > 0, (s5 - l5) / np.where(l5 + s5 > 0, l5 + s5, 1), np.nan)
        cols["liq_largest@5m"] = _window(liq.n, 300 * S, times, "max")
        buys, sells = trd.q.where(trd.side == Side.BUY, 0.0), trd.q.where(trd.side == Side.SELL, 0.0)
        bn, sn = trd.n.where(trd.side == Side.BUY, 0.0), trd.n.where(trd.side == Side.SELL, 0.0)
        cols["taker_buy@1m"] = _window(buys, 60 * S, times)
        cols["taker_sell@1m"] = _window(sells, 60 * S, times)
        cols["volume@1m"] = _window(trd.n, 60 * S, times)
        cols["trade_count@1m"] = _window(trd.n, 60 * S, times, "count")
        b5, s5t = _window(bn, 300 * S, times), _window(sn, 300 * S, times)
        cols["ofi@5m"] = np.where(b5 + s5t > 0, (b5 - s5t) / np.where(b5 + s5t > 0, b5 + s5t, 1), np.nan)
        last = _at(trd.px, times, np.nan)
        cols["last"] = last
        cols["return@5m"] = last / pd.Series(last).shift(5).to_numpy() - 1
        r2 = np.log(trd.px / trd.px.shift(1)) ** 2
        cols["realized_vol@1h"] = np.sqrt(_window(r2.fillna(0.0), 3600 * S, times))
        hi, lo = _window(trd.px, 3600 * S, times, "max"), _window(trd.px, 3600 * S, times, "min")
        cols["range@1h"] = (hi - lo) / last
        # transforms: history at t - k*W on the one-minute grid
        for w, d in (("5m", 5), ("15m", 15), ("1h", 60)):
            x = _window(liq.n, d * 60 * S, times)
            H = _hist(x, d)
            cols[f"liq_volume@{w}:mean"] = np.nanmean(H, axis=1)
            cols[f"liq_volume@{w}:std"] = np.nanstd(H, axis=1)
            cols[f"liq_volume@{w}:max"] = np.nanmax(H, axis=1)
        l15, s15 = _window(longs, 900 * S, times), _window(shorts, 900 * S, times)
        imb15 = np.where(l15 + s15 > 0, (s15 - l15) / np.where(l15 + s15 > 0, l15 + s15, 1), np.nan)
        cols["liq_imbalance@15m:zscore"] = _z(imb15, _hist(imb15, 15))
        cols["liq_rate@1m:zscore"] = _z(cols["liq_rate@1m"], _hist(cols["liq_rate@1m"], 1))
        cols["ofi@5m:zscore"] = _z(cols["ofi@5m"], _hist(cols["ofi@5m"], 5))
        out[sid] = pd.DataFrame(cols, index=times)
    return out


def pandas_ten(events, sid, times):
    """The ten names of TEN for one symbol at arbitrary times (pandas rolling + as-of)."""
    f = _frames(events)
    g = f[f.sid == sid].set_index("t")
    liq, trd = g[g.kind == Kind.LIQUIDATION], g[g.kind == Kind.TRADE]
    longs, shorts = liq.n.where(liq.side == Side.LONG, 0.0), liq.n.where(liq.side == Side.SHORT, 0.0)
    T = pd.DatetimeIndex(pd.to_datetime(times, unit="ns"))
    out = {}

    def hist_times(w):
        return pd.DatetimeIndex(pd.to_datetime((times[:, None] - np.arange(M + 1)[None, :] * w).ravel(), unit="ns"))

    def zs(vals):
        v = vals.reshape(len(times), M + 1)
        return _z(v[:, 0], v[:, 1:])

    ht = hist_times(900 * S)
    l, s = _window(longs, 900 * S, ht), _window(shorts, 900 * S, ht)
    out["imb_z"] = zs(np.where(l + s > 0, (s - l) / np.where(l + s > 0, l + s, 1), np.nan))
    ht = hist_times(300 * S)
    bn, sn = trd.n.where(trd.side == Side.BUY, 0.0), trd.n.where(trd.side == Side.SELL, 0.0)
    b, s = _window(bn, 300 * S, ht), _window(sn, 300 * S, ht)
    out["ofi_z"] = zs(np.where(b + s > 0, (b - s) / np.where(b + s > 0, b + s, 1), np.nan))
    fund = g[g.kind == Kind.FUNDING].px
    out["funding"] = _window(fund, 3600 * S, T, "mean")  # (a plain mean, not time-weighted)
    out["liq1m"] = _window(liq.n, 60 * S, T)
    ht = hist_times(60 * S)
    out["rate_z"] = zs(_window(liq.n, 60 * S, ht, "count"))
    r2 = (np.log(trd.px / trd.px.shift(1)) ** 2).fillna(0.0)
    out["rv"] = np.sqrt(_window(r2, 3600 * S, T))
    btc = f[(f.sid == 0) & (f.kind == Kind.LIQUIDATION)].set_index("t").n
    out["btc_lead"] = _window(btc, 30 * S, T - pd.Timedelta(30, "s"))
    ht = hist_times(300 * S)
    out["liq5m_mean"] = np.nanmean(_window(liq.n, 300 * S, ht).reshape(len(times), M + 1)[:, 1:], axis=1)
    out["trades"] = _window(trd.n, 60 * S, T, "count")
    out["largest"] = _window(liq.n, 300 * S, T, "max")
    return out


def bench(days: float, repeats: int) -> None:
    m = synthetic_market(days=days)
    grid = np.arange(m.start_ns, m.start_ns + int(days * 86400) * S, 60 * S, dtype=np.int64)
    rng = np.random.default_rng(0)
    times = np.sort(rng.integers(m.start_ns + 86400 * S, m.start_ns + int(days * 86400) * S, 10_000))
    eth = m.registry.get(m.venue, "ETHUSDT")
    print(f"synthetic market: {days:g} days x {len(m.symbols)} symbols, {len(m.events):,} events; "
          f"grid {len(grid):,} times per symbol; {len(NAMED_FEATURES)} named features")
    store = FeatureStore(m.events, m.registry)
    runs = {
        "store: every named feature (incl. build)": lambda: store_all(m.events, m.registry, grid),
        "pandas: core subset (rolling + shifts)": lambda: pandas_all(m.events, grid),
        "store: historical 10k times x 10 names": lambda: store.historical(times, TEN, symbol="ETHUSDT"),
        "pandas: the 10 names (rolling + as-of)": lambda: pandas_ten(m.events, eth, times),
    }
    for fn in runs.values():  # warm: Numba caches, pandas first-call costs
        fn()
    res = {k: [] for k in runs}
    cpu = {k: [] for k in runs}
    for _ in range(repeats):
        for k, fn in runs.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            res[k].append(time.perf_counter() - t0)
            cpu[k].append(time.process_time() - c0)
    for k, v in res.items():
        print(f"{k:44s} median {statistics.median(v):8.3f} s   min {min(v):8.3f} s   "
              f"(CPU median {statistics.median(cpu[k]):.3f} s)")
    keys = list(res)
    print(f"ratio pandas/store (all named): x{statistics.median(res[keys[1]]) / statistics.median(res[keys[0]]):.2f}")
    print(f"ratio pandas/store (10k x 10):  x{statistics.median(res[keys[3]]) / statistics.median(res[keys[2]]):.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
    bench(a.days, a.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
