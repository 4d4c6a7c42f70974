"""The ``oi`` study: open-interest changes between ticker snapshots explained by the quantity
liquidated in the interval (the rest is organic flow), by regime, with a lead/lag."""
from __future__ import annotations

import math

import numpy as np

from liqcore._extras import need
from liqcore.research.studies._common import (
    NS_MIN,
    NS_H,
    StudyResult,
    unavailable,
    Panel,
    block_corr,
    _ols,
    _blocks,
    _fmt_p,
    _xcorr,
)


def study_oi(panel: Panel, n_boot: int = 300, max_lag: int = 10, **_):
    """Open-interest changes between ticker snapshots decomposed into the quantity liquidated in the
    interval and the rest (organic flow): R², slope, quiet/volatile split, lead/lag."""
    pd = need("research", "pandas")

    title = "open interest vs liquidations"
    have = [s for s in panel.names if len(panel.sym[s]["t_oi"]) >= 20]
    if not have:
        return unavailable("oi", title, "the input has no open-interest (ticker) events"
                           if panel.n("t_oi") == 0 else "fewer than 20 open-interest snapshots per symbol")
    if panel.n("t_liq") == 0:
        return unavailable("oi", title, "the input has no liquidations")
    rows, frames, lagrows = [], [], []
    for name in have:
        d = panel.sym[name]
        t, oi = d["te_oi"], d["oi"]
        o = np.argsort(t, kind="stable")
        t, oi = t[o], oi[o]
        keep = np.concatenate([[True], np.diff(t) > 0])
        t, oi = t[keep], oi[keep]
        doi = np.diff(oi)
        cum = np.concatenate([[0.0], np.cumsum(d["q_liq"][np.argsort(d["te_liq"], kind="stable")])])
        te = np.sort(d["te_liq"])
        closed = cum[np.searchsorted(te, t, side="right")]
        liq = np.diff(closed)
        # regime by realized volatility of the price over the previous hour
        pr = panel.price_at(name, t[1:])
        lr = np.diff(np.log(pr), prepend=np.nan)
        dt_med = float(np.median(np.diff(t))) if len(t) > 2 else NS_MIN
        w = max(2, int(NS_H / dt_med))
        rv = pd.Series(lr * lr).rolling(w, min_periods=w // 2).sum().shift(1).to_numpy()
        # no realized volatility at all (no price path: no trades): no regime, every interval "?"
        has_rv = np.isfinite(rv)
        cut = np.nanmedian(rv) if has_rv.any() else math.nan
        vol = np.where(has_rv, np.where(rv > cut, "volatile", "quiet"), "?")
        f = pd.DataFrame({"symbol": name, "t": t[1:], "doi": doi, "liq": liq, "regime": vol})
        frames.append(f)
        xc = _xcorr(liq, doi, max_lag)
        for k, v in zip(range(-max_lag, max_lag + 1), xc):
            lagrows.append({"symbol": name, "lag": k, "corr": float(v)})
    if not any(np.any(f["doi"].to_numpy() != 0) for f in frames):
        # a constant sample: no change to explain (every correlation and R² would be 0 / 0)
        return unavailable("oi", title, "the open interest never changes in the input (no change to explain)")
    fr = pd.concat(frames, ignore_index=True)
    # standardize per symbol for pooling
    g = fr.groupby("symbol")
    fr["doi_s"] = fr["doi"] / g["doi"].transform("std")
    fr["liq_s"] = fr["liq"] / g["doi"].transform("std")
    block = _blocks(fr["t"].to_numpy(), NS_H)
    for sym in ["ALL"] + have:
        for reg in ("all", "quiet", "volatile"):
            sel = np.ones(len(fr), bool) if sym == "ALL" else (fr.symbol == sym).to_numpy()
            if reg != "all":
                sel = sel & (fr.regime == reg).to_numpy()
            if sel.sum() < 20:
                continue
            beta, se, r2, n = _ols(fr["doi_s"].to_numpy()[sel] if sym == "ALL" else fr["doi"].to_numpy()[sel],
                                   fr["liq_s"].to_numpy()[sel] if sym == "ALL" else fr["liq"].to_numpy()[sel])
            # rank correlation: the liquidated quantity is heavy-tailed
            c = block_corr(fr["liq"].to_numpy()[sel], fr["doi"].to_numpy()[sel], block[sel], n_boot)
            rows.append({"symbol": sym, "regime": reg, "n": n, "r2": r2, "slope": beta[1], "slope_se": se[1],
                         "corr": math.copysign(math.sqrt(max(r2, 0.0)), beta[1]) if np.isfinite(r2) else math.nan,
                         "rank_corr": c[0], "rank_ci_low": c[1], "rank_ci_high": c[2], "p": c[3],
                         "organic_share": 1.0 - r2 if np.isfinite(r2) else math.nan})
    table = pd.DataFrame(rows)
    lag_df = pd.DataFrame(lagrows)
    pooled_lag = lag_df.groupby("lag")["corr"].mean()
    allr = table[(table.symbol == "ALL") & (table.regime == "all")].iloc[0]
    res = StudyResult("oi", title)
    res.tables = {"oi": table, "lead_lag": pooled_lag.reset_index()}
    r_q = table[(table.symbol == "ALL") & (table.regime == "quiet")]
    r_v = table[(table.symbol == "ALL") & (table.regime == "volatile")]
    res.headline = {"intervals": int(allr["n"]), "r2": float(allr["r2"]), "slope": float(allr["slope"]),
                    "corr": float(allr["corr"]), "rank_corr": float(allr["rank_corr"]),
                    "rank_ci_low": float(allr["rank_ci_low"]), "rank_ci_high": float(allr["rank_ci_high"]),
                    "p": float(allr["p"]),
                    "r2_quiet": float(r_q.r2.iloc[0]) if len(r_q) else math.nan,
                    "r2_volatile": float(r_v.r2.iloc[0]) if len(r_v) else math.nan,
                    "peak_lag": int(pooled_lag.abs().idxmax()), "peak_lag_corr": float(pooled_lag.loc[
                        pooled_lag.abs().idxmax()])}
    h = res.headline
    sig = h["rank_ci_high"] < 0 or h["rank_ci_low"] > 0
    res.findings.append(
        f"Over {h['intervals']:,} intervals between open-interest snapshots, the quantity liquidated explains "
        f"R² = {h['r2']:.1%} of the open-interest change (quiet {h['r2_quiet']:.1%}, volatile {h['r2_volatile']:.1%}); "
        f"correlation {h['corr']:+.3f}, slope {h['slope']:+.2f}; rank correlation {h['rank_corr']:+.3f} "
        f"[{h['rank_ci_low']:+.3f}, {h['rank_ci_high']:+.3f}], {_fmt_p(h['p'])}"
        + (" (liquidations close positions: negative)." if sig and h["corr"] < 0 else "."))
    if not sig:
        res.findings.append("Liquidations explain no part of the open-interest changes beyond chance: organic flow "
                            "dominates.")
    res.findings.append(f"Lead/lag (snapshot intervals): the strongest correlation is at lag {h['peak_lag']:+d} "
                        "(positive lag: liquidations lead).")
    res.plots.append(("oi.png", lambda p: _plot_oi(fr, pooled_lag, p)))
    return res


def _plot_oi(fr, lag, path):
    from liqcore.backtest.report import new_figure
    from liqcore.research.studies._common import finish_figure

    fig, (a1, a2) = new_figure(1, 2, figsize=(10, 4), dpi=100)
    s = fr.sample(min(len(fr), 5000), random_state=0)
    a1.scatter(s["liq_s"], s["doi_s"], s=3, alpha=0.3)
    a1.set_xlabel("liquidated quantity in the interval (per-symbol scaled)")
    a1.set_ylabel("open-interest change (per-symbol scaled)")
    a1.set_title("open-interest change vs liquidations", fontsize=9)
    a2.bar(lag.index, lag.values)
    a2.set_xlabel("lag (intervals; > 0: liquidations lead)")
    a2.set_ylabel("mean correlation")
    a2.set_title("lead/lag", fontsize=9)
    fig.tight_layout()
    return finish_figure(fig, path)
