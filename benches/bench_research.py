"""Feature bars and the event study: liqcore.research against plain pandas doing the same work,
both measured in this run on one synthetic market.

    python benches/bench_research.py [--days 7] [--bar 1m] [--repeats 5]

Contenders (interleaved, one repeat of each per round, so load changes hit both alike):

* ``features``: ``liqcore.research.features`` (numpy bincount bars + the Cython RollingZScore), fed
  the detector's records computed once beforehand (the detector is not what is measured);
* ``pandas``: the same core columns with pandas: per-symbol ``resample`` sums / counts / last of
  liquidations and trades on the receive time, imbalance, ofi, and the four z-scores with
  ``shift(1).rolling(window).mean/std(ddof=0)``;
* ``event_study`` (searchsorted per symbol) against a pandas ``merge_asof`` per horizon plus a
  per-cascade slice for the excursions.

Prints the median (and min) seconds per pass and the ratio of the medians.
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

from liqcore.backtest.run import detect  # noqa: E402
from liqcore.synthetic.market import synthetic_market  # noqa: E402
from liqcore.config import Params, parse_duration  # noqa: E402
from liqcore.research import event_study, features  # noqa: E402
from liqcore.research.features import sort_recv  # noqa: E402
from liqcore.types import Dominant, Kind, RecordKind, Side  # noqa: E402


def pandas_bars(ev, bar_ns: int, window: int, min_count: int) -> pd.DataFrame:
    rule = f"{bar_ns // 1_000_000_000}s"
    frame = pd.DataFrame({"t": pd.to_datetime(ev["ts_recv"], unit="ns", utc=True), "sid": ev["symbol_id"],
                          "kind": ev["kind"], "side": ev["side"], "px": ev["price"], "q": ev["qty"]})
    frame["notional"] = frame.px * frame.q
    out = []
    for sid, g in frame.groupby("sid"):
        g = g.set_index("t")
        liq, trd = g[g.kind == Kind.LIQUIDATION], g[g.kind == Kind.TRADE]
        d = pd.DataFrame({
            "liq_long": liq.notional.where(liq.side == Side.LONG, 0.0).resample(rule).sum(),
            "liq_short": liq.notional.where(liq.side == Side.SHORT, 0.0).resample(rule).sum(),
            "liq_count": liq.notional.resample(rule).count(),
            "trade_count": trd.px.resample(rule).count(),
            "buy": trd.q.where(trd.side == Side.BUY, 0.0).resample(rule).sum(),
            "sell": trd.q.where(trd.side == Side.SELL, 0.0).resample(rule).sum(),
            "last": trd.px.resample(rule).last(),
        }).fillna({"liq_long": 0.0, "liq_short": 0.0, "liq_count": 0, "trade_count": 0, "buy": 0.0, "sell": 0.0})
        tot = d.liq_long + d.liq_short
        d["liq_notional"] = tot
        d["imbalance"] = ((d.liq_short - d.liq_long) / tot).where(tot > 0, 0.0)
        vol = d.buy + d.sell
        d["ofi"] = ((d.buy - d.sell) / vol).where(vol > 0, 0.0)
        d["price"] = d["last"].ffill()
        d["ret"] = d.price.pct_change(fill_method=None)
        for src in ("imbalance", "liq_notional", "liq_count", "ofi"):
            base = d[src].shift(1).rolling(window, min_periods=min_count)
            sd = base.std(ddof=0)
            d[f"z_{src}"] = ((d[src] - base.mean()) / sd).where(sd > 0, 0.0).where(sd.notna())
        d["symbol_id"] = sid
        out.append(d)
    return pd.concat(out)


def pandas_study(ev, rec, horizons_ns) -> pd.DataFrame:
    trd = ev[ev["kind"] == Kind.TRADE]
    tr = pd.DataFrame({"t": trd["ts_recv"], "sid": trd["symbol_id"], "px": trd["price"]}).sort_values("t")
    cs = pd.DataFrame({"t": rec["confirm_recv_ns"], "sid": rec["symbol_id"],
                       "sign": np.where(rec["dominant"] == Dominant.LONG, 1.0, -1.0)}).sort_values("t")
    ref = pd.merge_asof(cs, tr, on="t", by="sid", direction="backward").rename(columns={"px": "p0"})
    by_sid = {s: g for s, g in tr.groupby("sid")}
    for h in horizons_ns:
        q = ref[["t", "sid"]].assign(t=ref.t + h).sort_values("t")
        ph = pd.merge_asof(q, tr, on="t", by="sid", direction="backward")["px"].to_numpy()
        ref[f"signed_{h}"] = ref.sign * (ph / ref.p0 - 1.0)
        mae = []
        for t0, sid, p0, sg in zip(ref.t, ref.sid, ref.p0, ref.sign):
            g = by_sid[sid]
            path = g.px[(g.t > t0) & (g.t <= t0 + h)].to_numpy()
            mae.append(max(0.0, -float((sg * (path / p0 - 1.0)).min())) if len(path) else 0.0)
        ref[f"mae_{h}"] = mae
    return ref


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--bar", default="1m")
    ap.add_argument("--window", type=int, default=96)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    m = synthetic_market(days=a.days)
    ev = sort_recv(m.events)
    recs, _ = detect(ev, Params())
    conf = recs[recs["record"] == RecordKind.CONFIRMED]
    conf = conf[conf["dominant"] != Dominant.MIXED]
    bar_ns = parse_duration(a.bar)
    hz = ("10s", "30s", "1m", "5m", "15m")
    hz_ns = [parse_duration(h) for h in hz]
    minc = max(2, a.window // 4)
    print(f"synthetic market: {a.days:g} days x {len(m.symbols)} symbols, {len(ev):,} events, "
          f"{len(conf)} signed cascades; bar {a.bar}, z window {a.window}")
    contenders = {
        "features (numpy + Cython z)": lambda: features(ev, m.registry, bar=a.bar, zscore_window=a.window, records=recs),
        "pandas resample + rolling": lambda: pandas_bars(ev, bar_ns, a.window, minc),
        "event_study (searchsorted)": lambda: event_study(ev, m.registry, records=conf, horizons=hz, max_ref_age="1h"),
        "pandas merge_asof + slices": lambda: pandas_study(ev, conf, hz_ns),
    }
    times = {k: [] for k in contenders}
    for k, f in contenders.items():  # warm-up
        f()
    for _ in range(a.repeats):
        for k, f in contenders.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    for k, v in times.items():
        print(f"  {k:32s} median {statistics.median(v) * 1e3:9.1f} ms   min {min(v) * 1e3:9.1f} ms")
    med = {k: statistics.median(v) for k, v in times.items()}
    names = list(med)
    print(f"  ratio pandas/features:    x{med[names[1]] / med[names[0]]:.2f}")
    print(f"  ratio pandas/event_study: x{med[names[3]] / med[names[2]]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
