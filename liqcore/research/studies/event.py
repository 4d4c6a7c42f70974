"""The ``event`` study: signed returns after confirmed cascades, recovery to the pre-cascade
price, and splits by size, notional, volatility regime, session and hour of day."""
from __future__ import annotations

import math

import numpy as np

from liqcore._extras import need
from liqcore.research.studies._common import NS_S, NS_MIN, NS_H, SESSIONS, StudyResult, unavailable, Panel, _bp, _num2
from liqcore.types import Side


def study_event(panel: Panel, params=None, horizons=("10s", "30s", "1m", "5m", "15m"), n_boot: int = 1000,
                frame=None, **_):
    """Post-cascade signed returns (+ = reversion) with recovery time to the pre-cascade price, size
    buckets, hour of day and a quiet/volatile regime split.  ``frame``: an :func:`event_study`
    frame already computed on the panel's events (its columns are added to in place)."""
    pd = need("research", "pandas")

    from liqcore.research.study import event_study, plot_study, summarize_study, t_stat

    title = "cascades and price impact (post-cascade event study)"
    if panel.n("t_liq") == 0:
        return unavailable("event", title, "the input has no liquidations")
    if panel.n("t_trade") == 0:
        return unavailable("event", title, "the input has no trades (no prices to measure returns)")
    df = frame if frame is not None else event_study(panel.events, panel.registry, params=params, horizons=horizons)
    hs = df.attrs["horizons"]
    if len(df) == 0:
        return unavailable("event", title, "the detector confirmed no cascade in the input")
    # recovery time, regime, size bucket, hour
    rec_s = np.full(len(df), np.nan)
    regime = np.array(["?"] * len(df), dtype=object)
    bucket = np.array(["?"] * len(df), dtype=object)
    for name, g in df.groupby("symbol"):
        if name not in panel.sym:
            continue
        d = panel.sym[name]
        ts, px = d["t_trade"], d["p_trade"]
        if len(ts) == 0:
            continue
        idx = g.index.to_numpy()
        # pre-cascade price: last trade received before the cascade's first liquidation
        i_pre = np.searchsorted(ts, g["start_ns"].to_numpy(), side="left") - 1
        t0 = g["confirm_recv_ns"].to_numpy()
        sign = g["sign"].to_numpy()
        for j in range(len(g)):
            if i_pre[j] < 0 or not np.isfinite(sign[j]):
                continue
            pre = px[i_pre[j]]
            a = np.searchsorted(ts, t0[j], side="right")
            b = np.searchsorted(ts, t0[j] + NS_H, side="right")
            path = px[a:b]
            hit = np.flatnonzero(path >= pre) if sign[j] > 0 else np.flatnonzero(path <= pre)
            if len(hit):
                rec_s[idx[j]] = (ts[a + hit[0]] - t0[j]) / NS_S
            elif t0[j] + NS_H > ts[-1]:
                rec_s[idx[j]] = np.nan  # censored by the end of the data
            else:
                rec_s[idx[j]] = np.inf  # not recovered within the hour
        # regime: realized volatility over the hour before the decision vs the symbol's median
        grid = panel.grid(name, NS_MIN)
        if len(grid) > 61:
            lp = np.log(panel.price_at(name, grid))
            r = np.diff(lp, prepend=np.nan)
            rv = pd.Series(r * r).rolling(60, min_periods=30).sum().to_numpy()
            med = np.nanmedian(rv)
            k = np.searchsorted(grid, t0, side="right") - 1
            v = np.where(k >= 0, rv[np.maximum(k, 0)], np.nan)
            regime[idx] = np.where(~np.isfinite(v), "?", np.where(v > med, "volatile", "quiet"))
        notional = (g["long_notional"] + g["short_notional"]).to_numpy()
        if len(notional) >= 3:
            q1, q2 = np.quantile(notional, [1 / 3, 2 / 3])
            bucket[idx] = np.where(notional <= q1, "small", np.where(notional <= q2, "medium", "large"))
    df["recovery_s"] = rec_s
    df["regime"] = regime
    df["size_bucket"] = bucket
    tot = (df["long_notional"] + df["short_notional"]).to_numpy(np.float64)
    df["notional_bucket"] = np.where(tot < 1e5, "<100k", np.where(tot < 1e6, "100k-1M", ">=1M"))
    df["hour"] = pd.to_datetime(df["confirm_recv_ns"], unit="ns", utc=True).dt.hour
    df["session"] = [next(s for s, a, b in SESSIONS if a <= h < b) for h in df["hour"]]
    summ = summarize_study(df, n_boot=n_boot, by_symbol=True)
    h_main = "5m" if "5m" in hs else hs[-1]
    h_first = hs[0]
    rows = []
    signed = df[np.isfinite(df["sign"])]
    for label, col in (("all", None), ("size", "size_bucket"), ("notional", "notional_bucket"), ("regime", "regime"),
                       ("session", "session"),
                       ("hour", "hour"), ("dominant", "dominant")):
        groups = [("all", signed)] if col is None else list(signed.groupby(col))
        for val, g in groups:
            if str(val) == "?":
                continue
            fin = np.isfinite(g[f"signed_ret_{h_main}"].to_numpy())
            # n: the cascades whose return at the main horizon was measured (a reference trade, the horizon
            # inside the data): the ones the means are of; cascades: all of the group
            row = {"split": label, "group": str(val), "n": int(fin.sum()), "cascades": int(len(g))}
            for h in (h_first, h_main):
                x = g[f"signed_ret_{h}"].to_numpy()
                x = x[np.isfinite(x)]
                row[f"mean_bp_{h}"] = float(x.mean() * 1e4) if len(x) else math.nan
                row[f"t_{h}"] = t_stat(x)
            r = g["recovery_s"].to_numpy()
            obs = r[~np.isnan(r)]
            row["recovered_1h"] = float(np.mean(np.isfinite(obs))) if len(obs) else math.nan
            row["median_recovery_s"] = float(np.median(obs)) if len(obs) else math.nan
            row["mean_notional"] = float((g["long_notional"] + g["short_notional"]).mean())
            rows.append(row)
    splits = pd.DataFrame(rows)
    allrow = summ[(summ.symbol == "ALL") & (summ.dominant == "both")].set_index("horizon")
    res = StudyResult("event", title)
    res.tables = {"summary": summ, "splits": splits}
    res.headline = {
        "cascades": int(len(df)), "with_reference": int(df["ref_price"].notna().sum()),
        "symbols": int(df["symbol"].nunique()),
        "horizon": h_main, "first_horizon": h_first,
        "mean_signed_bp": float(allrow.loc[h_main, "mean"] * 1e4) if h_main in allrow.index else math.nan,
        "ci_low_bp": float(allrow.loc[h_main, "ci_low"] * 1e4) if h_main in allrow.index else math.nan,
        "ci_high_bp": float(allrow.loc[h_main, "ci_high"] * 1e4) if h_main in allrow.index else math.nan,
        "t_stat": float(allrow.loc[h_main, "t_stat"]) if h_main in allrow.index else math.nan,
        "first_mean_signed_bp": float(allrow.loc[h_first, "mean"] * 1e4) if h_first in allrow.index else math.nan,
        "first_t_stat": float(allrow.loc[h_first, "t_stat"]) if h_first in allrow.index else math.nan,
        "reversion_share": float(allrow.loc[h_main, "reversion_share"]) if h_main in allrow.index else math.nan,
        "median_recovery_s": float(splits.loc[splits.split == "all", "median_recovery_s"].iloc[0])
        if len(splits) else math.nan,
        "recovered_1h": float(splits.loc[splits.split == "all", "recovered_1h"].iloc[0]) if len(splits) else math.nan,
    }
    used = int(np.isfinite(df[f"signed_ret_{h_main}"].to_numpy()).sum())
    spacing = _price_spacing_ns(panel)
    coarse = [lab for lab, hn in zip(hs, df.attrs["horizons_ns"]) if spacing is not None and hn <= COARSE * spacing]
    res.headline.update(used=used, price_spacing_s=None if spacing is None else spacing / NS_S,
                        coarse_horizons=coarse, max_ref_age_s=df.attrs["max_ref_age_ns"] / NS_S)
    h = res.headline
    verdict = ("reversion" if h["ci_low_bp"] > 0 else "continuation" if h["ci_high_bp"] < 0 else
               "no significant move" if np.isfinite(h["ci_low_bp"]) else "too few observations to judge")
    res.findings.append(
        f"{h['cascades']} confirmed cascades ({h['with_reference']} with a reference trade within "
        f"{h['max_ref_age_s']:g} s of the decision); mean signed return at {h_main} over the {used} of them measured "
        f"there: {_bp(h['mean_signed_bp'])} (95% CI [{_bp(h['ci_low_bp'])}, {_bp(h['ci_high_bp'])}], "
        f"+ = reversion): {verdict}.")
    if coarse:
        res.findings.append(
            f"warning: the prices are {spacing / NS_S:g} s apart (median gap between trade prices): the "
            f"horizon{'s' if len(coarse) > 1 else ''} {', '.join(coarse)} span{'' if len(coarse) > 1 else 's'} at most "
            f"{COARSE} such gaps, so the returns there are partly the series' resolution, not the market's move.")
    if h["with_reference"] * 2 < h["cascades"]:
        res.findings.append(
            f"warning: {h['cascades'] - h['with_reference']} of {h['cascades']} cascades have no trade within "
            f"{h['max_ref_age_s']:g} s before the decision and no returns (--max-ref-age sets the oldest usable "
            "reference price).")
    med = h["median_recovery_s"]
    res.findings.append(
        f"At {h_first} after the decision: {_bp(h['first_mean_signed_bp'])} (t = {h['first_t_stat']:.1f}); "
        f"{h['recovered_1h']:.0%} of cascades regain the pre-cascade price within an hour (median "
        + (f"{med:.0f} s)." if np.isfinite(med) else "more than an hour)." if med == np.inf else "n/a)."))
    parts = []
    for split, order in (("size", ("small", "medium", "large")), ("notional", ("<100k", "100k-1M", ">=1M")),
                         ("regime", ("quiet", "volatile"))):
        g = splits[splits.split == split].set_index("group") if len(splits) else None
        if g is None or not len(g):
            continue
        cells = [f"{k} {_bp(g.loc[k, f'mean_bp_{h_main}'])} (n {int(g.loc[k, 'n'])}, t "
                 f"{_num2(g.loc[k, f't_{h_main}'])})" for k in order if k in g.index]
        parts.append(f"{split}: " + ", ".join(cells))
    if parts:
        res.findings.append(f"Signed return at {h_main} by " + "; by ".join(parts) + ".")
    res.plots.append(("event_returns.png", lambda p: plot_study(summ, p)))
    res.plots.append(("cascade_examples.png", lambda p: _plot_cascade_examples(panel, df, p)))
    res._frame = df  # the per-cascade rows (for callers that want them)
    return res


#: a horizon of at most this many median gaps between prices is measured on a series too coarse for it (a warning)
COARSE = 5


def _price_spacing_ns(panel: Panel) -> float | None:
    """The median gap (ns) between consecutive trade prices of the panel's symbols pooled (None: fewer than two)."""
    gaps = [np.diff(d["t_trade"]) for d in panel.sym.values() if len(d["t_trade"]) > 1]
    gaps = np.concatenate(gaps) if gaps else np.zeros(0)
    return float(np.median(gaps)) if len(gaps) else None


def _plot_cascade_examples(panel: Panel, df, path, k: int = 4):
    from liqcore.backtest.report import new_figure
    from liqcore.research.studies._common import finish_figure

    d = df[df["ref_price"].notna()].copy()
    d["notional"] = d["long_notional"] + d["short_notional"]
    d = d.sort_values("notional", ascending=False).head(k)
    fig, axes = new_figure(max(1, len(d)), 1, figsize=(8, 2.4 * max(1, len(d))), dpi=100, squeeze=False)
    for ax, (_, r) in zip(axes[:, 0], d.iterrows()):
        s = panel.sym[r["symbol"]]
        t0 = int(r["confirm_recv_ns"])
        a, b = t0 - 2 * NS_MIN, t0 + 10 * NS_MIN
        m = (s["t_trade"] >= a) & (s["t_trade"] <= b)
        ax.plot((s["t_trade"][m] - t0) / 1e9, s["p_trade"][m], lw=0.8, color="black", label="trade price")
        ml = (s["t_liq"] >= a) & (s["t_liq"] <= b)
        for side, col in ((Side.LONG, "tab:red"), (Side.SHORT, "tab:green")):
            mm = ml & (s["side_liq"] == side)
            ax.scatter((s["t_liq"][mm] - t0) / 1e9, s["p_liq"][mm], s=np.clip(s["n_liq"][mm] / s["n_liq"].mean() * 8,
                       4, 200), color=col, alpha=0.6,
                       label="longs liquidated" if side == Side.LONG else "shorts liquidated")
        ax.axvline(0, color="tab:blue", lw=0.8, ls="--")
        ax.set_title(f"{r['symbol']} {r['dominant']}-dominant cascade, {r['decision_time']:%Y-%m-%d %H:%M:%S} UTC, "
                     f"${r['notional']:,.0f}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="best")
    axes[-1, 0].set_xlabel("seconds from the decision (dashed)")
    fig.tight_layout()
    return finish_figure(fig, path)
