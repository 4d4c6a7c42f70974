"""The ``volatility`` study: the liquidation rate and its z-score against forward
realized volatility, with two baselines (ATR and Bollinger-band width) and the rate's information
beyond them; and the detection of quiet -> volatile regime transitions by each predictor."""
from __future__ import annotations

import numpy as np

from liqcore._extras import need
from liqcore.research.studies._common import NS_MIN, NS_H, StudyResult, unavailable, Panel, block_corr, _ols, _blocks, \
    _ranks


VOL_HORIZONS = (("5m", 5), ("15m", 15), ("1h", 60))


def vol_frame(panel: Panel):
    """Per symbol, every 5th minute: liquidation rate of the last 5 minutes and its z-score against
    the previous 4 hours, ATR (14 one-minute true ranges), Bollinger-band width (``bbw``: the 2-sigma
    bands of the last 20 one-minute closes, upper minus lower over the middle, a fraction), realized
    volatility of the hour ending 5 minutes before (``past_vol_1h``: the regime before the rate's
    window) and forward realized volatility."""
    pd = need("research", "pandas")

    out = []
    for name in panel.names:
        d = panel.sym[name]
        grid = panel.grid(name, NS_MIN)
        if len(grid) < 300:
            continue
        lp = np.log(panel.price_at(name, grid))
        r = np.diff(lp, prepend=np.nan)
        # true range per minute from the trades received in it
        k = np.searchsorted(grid, d["t_trade"], side="left")  # trade in (grid[k-1], grid[k]]
        ok = (k > 0) & (k < len(grid))
        lpt = np.log(d["p_trade"][ok])
        hi = pd.Series(lpt).groupby(k[ok]).max().reindex(range(len(grid))).to_numpy()
        lo = pd.Series(lpt).groupby(k[ok]).min().reindex(range(len(grid))).to_numpy()
        prev = np.concatenate([[np.nan], lp[:-1]])
        tr = np.fmax(hi, prev) - np.fmin(lo, prev)
        tr = np.where(np.isfinite(tr), tr, np.abs(r))
        atr = pd.Series(tr).rolling(14, min_periods=10).mean().to_numpy()
        kl = np.searchsorted(grid, d["t_liq"], side="right")  # received in [grid[k-1], grid[k]): minute k
        okl = (kl > 0) & (kl < len(grid))
        cnt = np.bincount(kl[okl], minlength=len(grid)).astype(np.float64)[:len(grid)]
        rate5 = pd.Series(cnt).rolling(5, min_periods=5).sum().to_numpy() / 5.0
        base = pd.Series(rate5).shift(5)
        mu = base.rolling(240, min_periods=60).mean().to_numpy()
        sd = base.rolling(240, min_periods=60).std(ddof=0).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(sd > 0, (rate5 - mu) / sd, 0.0)
        z[~np.isfinite(mu)] = np.nan
        px = pd.Series(np.exp(lp))
        bbw = (4.0 * px.rolling(20, min_periods=20).std(ddof=0) / px.rolling(20, min_periods=20).mean()).to_numpy()
        f = pd.DataFrame({"symbol": name, "t": grid, "liq_rate": rate5, "z_liq_rate": z, "atr": atr, "bbw": bbw})
        r2 = np.nan_to_num(r * r)
        cs = np.concatenate([[0.0], np.cumsum(r2)])
        tpm = np.bincount(k[ok], minlength=len(grid))[:len(grid)].astype(np.float64)  # trades per minute
        ct = np.concatenate([[0.0], np.cumsum(tpm)])
        n = len(grid)
        live_back = (ct[1:] - ct[np.maximum(np.arange(1, n + 1) - 15, 0)]) > 0  # a trade in the last 15 min
        idx_b = np.arange(n)
        # the hour ending 5 minutes before: the regime established before the signal window of the rate
        f["past_vol_1h"] = np.where(idx_b >= 65, np.sqrt(cs[np.maximum(idx_b - 4, 0)] - cs[np.maximum(idx_b - 64, 0)]),
                                    np.nan)
        f.loc[~live_back, ["atr", "liq_rate", "z_liq_rate", "bbw", "past_vol_1h"]] = np.nan  # a feed gap, not quiet
        for lab, m in VOL_HORIZONS:
            fv = np.full(n, np.nan)
            if n > m:
                idx = np.arange(n - m)
                fv[: n - m] = np.sqrt(cs[idx + m + 1] - cs[idx + 1])
                fv[: n - m][(ct[idx + m + 1] - ct[idx + 1]) < m / 2] = np.nan  # need trades in most minutes
            f[f"fwd_vol_{lab}"] = fv
        out.append(f.iloc[::5])
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def _within_rank(df, col):
    return df.groupby("symbol")[col].rank(pct=True)


def study_volatility(panel: Panel, n_boot: int = 300, **_):
    """Liquidation rate and its z-score vs forward realized volatility (5 m, 15 m, 1 h): IC and R²
    against an ATR baseline, and the liquidation rate's information beyond ATR (partial IC)."""
    pd = need("research", "pandas")

    title = "liquidations as a volatility predictor"
    if panel.n("t_trade") == 0:
        return unavailable("volatility", title, "the input has no trades (no realized volatility)")
    if panel.n("t_liq") == 0:
        return unavailable("volatility", title, "the input has no liquidations")
    fr = vol_frame(panel)
    if len(fr) < 100:
        return unavailable("volatility", title, "the input spans too few minutes (needs several hours per symbol)")
    rows = []
    x_rate = np.log1p(fr["liq_rate"].to_numpy())
    x_atr = np.log(fr["atr"].to_numpy() + 1e-12)
    x_bbw = np.log(fr["bbw"].to_numpy() + 1e-12)
    z = fr["z_liq_rate"].to_numpy()
    # per-symbol standardisation so pooled regressions compare like with like
    def zs(col):
        g = pd.Series(col).groupby(fr["symbol"].to_numpy())
        return ((pd.Series(col) - g.transform("mean")) / g.transform("std")).to_numpy()

    for lab, m in VOL_HORIZONS:
        y = np.log(fr[f"fwd_vol_{lab}"].to_numpy() + 1e-12)
        y[~np.isfinite(fr[f"fwd_vol_{lab}"].to_numpy())] = np.nan
        block = _blocks(fr["t"].to_numpy(), max(NS_H, 2 * m * NS_MIN))
        yr = _within_rank(fr.assign(y=y), "y").to_numpy()
        ys, xr, xa, xb = zs(y), zs(x_rate), zs(x_atr), zs(x_bbw)
        for sym in ["ALL"] + sorted(fr.symbol.unique()):
            sel = np.ones(len(fr), bool) if sym == "ALL" else (fr.symbol == sym).to_numpy()
            if sym == "ALL":
                a_rate = _within_rank(fr.assign(v=x_rate), "v").to_numpy()
                a_z = _within_rank(fr.assign(v=z), "v").to_numpy()
                a_atr = _within_rank(fr.assign(v=x_atr), "v").to_numpy()
                a_bbw = _within_rank(fr.assign(v=x_bbw), "v").to_numpy()
                yy = yr
            else:
                a_rate, a_z, a_atr, a_bbw, yy = x_rate, z, x_atr, x_bbw, y
            ic_r = block_corr(a_rate[sel], yy[sel], block[sel], n_boot)
            ic_z = block_corr(a_z[sel], yy[sel], block[sel], n_boot)
            ic_a = block_corr(a_atr[sel], yy[sel], block[sel], n_boot)
            ic_b = block_corr(a_bbw[sel], yy[sel], block[sel], n_boot)
            _, _, r2_bb, _ = _ols(ys[sel], xb[sel])
            _, _, r2_ab, _ = _ols(ys[sel], np.column_stack([xa[sel], xb[sel]]))
            _, _, r2_all, _ = _ols(ys[sel], np.column_stack([xa[sel], xb[sel], xr[sel]]))
            # the liquidation rate against what ATR and the band width together leave unexplained
            ok2 = sel & np.isfinite(ys) & np.isfinite(xa) & np.isfinite(xb) & np.isfinite(xr)
            beta2, _, _, _ = _ols(ys[ok2], np.column_stack([xa[ok2], xb[ok2]]))
            resid2 = np.full(len(fr), np.nan)
            if np.all(np.isfinite(beta2)):
                resid2[ok2] = ys[ok2] - beta2[0] - beta2[1] * xa[ok2] - beta2[2] * xb[ok2]
            pic2 = block_corr(xr[sel], resid2[sel], block[sel], n_boot)
            _, _, r2_r, _ = _ols(ys[sel], xr[sel])
            _, _, r2_a, _ = _ols(ys[sel], xa[sel])
            _, _, r2_b, _ = _ols(ys[sel], np.column_stack([xa[sel], xr[sel]]))
            # partial: the liquidation rate against what ATR leaves unexplained
            ok = sel & np.isfinite(ys) & np.isfinite(xa) & np.isfinite(xr)
            beta, _, _, _ = _ols(ys[ok], xa[ok])
            resid = np.full(len(fr), np.nan)
            resid[ok] = ys[ok] - beta[0] - beta[1] * xa[ok]
            pic = block_corr(xr[sel], resid[sel], block[sel], n_boot)
            rows.append({"horizon": lab, "symbol": sym, "n": ic_r[4], "ic_liq_rate": ic_r[0], "ic_z_liq_rate": ic_z[0],
                         "ic_atr": ic_a[0], "r2_liq": r2_r, "r2_atr": r2_a, "r2_both": r2_b,
                         "delta_r2": r2_b - r2_a, "partial_ic": pic[0], "partial_ci_low": pic[1],
                         "partial_ci_high": pic[2], "partial_p": pic[3],
                         "ic_bbw": ic_b[0], "ic_bbw_ci_low": ic_b[1], "ic_bbw_ci_high": ic_b[2],
                         "ic_liq_rate_ci_low": ic_r[1], "ic_liq_rate_ci_high": ic_r[2],
                         "ic_atr_ci_low": ic_a[1], "ic_atr_ci_high": ic_a[2],
                         "r2_bbw": r2_bb, "r2_baselines": r2_ab, "delta_r2_both": r2_all - r2_ab,
                         "partial_ic_both": pic2[0], "partial_both_ci_low": pic2[1], "partial_both_ci_high": pic2[2],
                         "partial_both_p": pic2[3]})
    table = pd.DataFrame(rows)
    pooled = table[table.symbol == "ALL"].set_index("horizon")
    res = StudyResult("volatility", title)
    res.tables = {"volatility": table}
    res.headline = {f"{k}_{h}": float(pooled.loc[h, k]) for h in pooled.index
                    for k in ("ic_liq_rate", "ic_z_liq_rate", "ic_atr", "r2_liq", "r2_atr", "delta_r2", "partial_ic",
                              "partial_ci_low", "partial_ci_high", "ic_bbw", "r2_bbw", "partial_ic_both",
                              "partial_both_ci_low", "partial_both_ci_high")}
    sig = [h for h in pooled.index if pooled.loc[h, "partial_ci_low"] > 0]
    res.headline["horizons_beyond_atr"] = len(sig)
    for h in pooled.index:
        p = pooled.loc[h]
        res.findings.append(
            f"{h}: IC liquidation rate {p.ic_liq_rate:+.3f}, its z-score {p.ic_z_liq_rate:+.3f}, ATR {p.ic_atr:+.3f}; "
            f"R² liquidations {p.r2_liq:.3f}, ATR {p.r2_atr:.3f}, both {p.r2_both:.3f}; information beyond ATR "
            f"(partial IC) {p.partial_ic:+.3f} [{p.partial_ci_low:+.3f}, {p.partial_ci_high:+.3f}].")
        res.findings.append(
            f"{h} against both baselines: IC liquidation rate {p.ic_liq_rate:+.3f} [{p.ic_liq_rate_ci_low:+.3f}, "
            f"{p.ic_liq_rate_ci_high:+.3f}], ATR {p.ic_atr:+.3f} [{p.ic_atr_ci_low:+.3f}, {p.ic_atr_ci_high:+.3f}], "
            f"Bollinger-band width {p.ic_bbw:+.3f} [{p.ic_bbw_ci_low:+.3f}, {p.ic_bbw_ci_high:+.3f}]; R² band width "
            f"{p.r2_bbw:.3f}, ATR and band width {p.r2_baselines:.3f}, + liquidations {p.r2_baselines + p.delta_r2_both:.3f}; "
            f"information beyond both (partial IC) {p.partial_ic_both:+.3f} [{p.partial_both_ci_low:+.3f}, "
            f"{p.partial_both_ci_high:+.3f}] (Spearman; 95% block-bootstrap intervals).")
    if not sig:
        res.findings.append("The liquidation rate adds no information about forward volatility beyond ATR.")
    sig2 = [h for h in pooled.index if pooled.loc[h, "partial_both_ci_low"] > 0]
    res.headline["horizons_beyond_both"] = len(sig2)
    if not sig2:
        res.findings.append("The liquidation rate adds no information about forward volatility beyond ATR and "
                            "Bollinger-band width together.")
    trans = _transitions(fr, n_boot)
    if trans is None:
        res.findings.append("Regime transitions (quiet -> volatile): n/a — fewer than 20 transitions (or 20 steady "
                            "quiet times) with every predictor known.")
    else:
        res.tables["transitions"] = trans
        tt = trans.set_index("predictor")
        for k in tt.index:
            res.headline[f"transition_auc_{k}"] = float(tt.loc[k, "auc"])
            res.headline[f"transition_auc_{k}_lo"] = float(tt.loc[k, "auc_ci_low"])
            res.headline[f"transition_auc_{k}_hi"] = float(tt.loc[k, "auc_ci_high"])
        r0 = tt.iloc[0]
        res.findings.append(
            f"Regime transitions (quiet: realized volatility of the hour ending 5 m before below the symbol's median; a transition: the "
            f"next 15 m's realized volatility above its 80th percentile): {int(r0.transitions):,} of "
            f"{int(r0.n):,} quiet times (5-minute grid). Detection accuracy (ROC AUC, 0.5 = chance, 95% hour-block "
            "interval; precision of the top 10 % flagged against the base rate "
            f"{r0.base_rate:.1%}): " + "; ".join(
                f"{k.replace('_', ' ')} {tt.loc[k, 'auc']:.3f} [{tt.loc[k, 'auc_ci_low']:.3f}, "
                f"{tt.loc[k, 'auc_ci_high']:.3f}], precision {tt.loc[k, 'precision_top10']:.1%}" for k in tt.index) + ".")
    res.plots.append(("volatility_scatter.png", lambda p: _plot_vol(fr, p)))
    return res


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    n1 = int(label.sum())
    n0 = len(label) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = _ranks(score)
    return float((r[label].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _transitions(fr, n_boot: int = 300, seed: int = 0):
    """Quiet -> volatile transition detection: among quiet times (realized volatility of the hour
    ending 5 minutes before below the symbol's median), a transition when the next 15 minutes' realized volatility is above the
    symbol's 80th percentile of it.  Per predictor (liquidation rate, its z-score, ATR, band width):
    ROC AUC with a 95 % interval (hour blocks resampled) and the precision of its top 10 %."""
    pd = need("research", "pandas")

    g = fr.groupby("symbol")
    quiet = (fr["past_vol_1h"] < g["past_vol_1h"].transform("median")).to_numpy()
    hot = (fr["fwd_vol_15m"] > g["fwd_vol_15m"].transform(lambda v: v.quantile(0.8))).to_numpy()
    preds = {"liq_rate": fr["liq_rate"], "z_liq_rate": fr["z_liq_rate"], "atr": fr["atr"], "bbw": fr["bbw"]}
    ok = quiet & np.isfinite(fr["fwd_vol_15m"].to_numpy())
    for v in preds.values():
        ok &= np.isfinite(v.to_numpy())
    label = hot[ok]
    if label.sum() < 20 or (~label).sum() < 20:  # fewer: an AUC interval wider than +-0.15
        return None
    # scores ranked within symbol (levels differ by symbol)
    scores = {k: fr.loc[ok, []].assign(v=v[ok].to_numpy(), s=fr.loc[ok, "symbol"].to_numpy())
              .groupby("s")["v"].rank(pct=True).to_numpy() for k, v in preds.items()}
    blocks = (fr.loc[ok, "t"].to_numpy() // NS_H).astype(np.int64)
    _, inv = np.unique(blocks, return_inverse=True)
    k = int(inv.max()) + 1
    order = np.argsort(inv, kind="stable")
    starts = np.searchsorted(inv[order], np.arange(k + 1))
    rng = np.random.default_rng(seed)
    picks = [np.concatenate([order[starts[j]:starts[j + 1]] for j in rng.integers(0, k, k)]) for _ in range(n_boot)]
    rows = []
    for name, sc in scores.items():
        auc = _auc(sc, label)
        boots = np.array([_auc(sc[i], label[i]) for i in picks])
        boots = boots[np.isfinite(boots)]
        lo, hi = np.quantile(boots, [0.025, 0.975]) if len(boots) else (np.nan, np.nan)
        top = sc >= np.quantile(sc, 0.9)
        rows.append({"predictor": name, "n": int(len(label)), "transitions": int(label.sum()),
                     "base_rate": float(label.mean()), "auc": auc, "auc_ci_low": float(lo), "auc_ci_high": float(hi),
                     "precision_top10": float(label[top].mean()) if top.any() else np.nan})
    return pd.DataFrame(rows)


def _plot_vol(fr, path):
    from liqcore.backtest.report import new_figure
    from liqcore.research.studies._common import finish_figure

    fig, ax = new_figure(figsize=(7, 4.5), dpi=100)
    x = fr["liq_rate"].to_numpy()
    y = fr["fwd_vol_15m"].to_numpy()
    g = fr.groupby("symbol")["fwd_vol_15m"].transform("median").to_numpy()
    y = y / g
    ok = np.isfinite(x) & np.isfinite(y)
    rng = np.random.default_rng(0)
    idx = np.flatnonzero(ok)
    idx = rng.choice(idx, size=min(len(idx), 6000), replace=False) if len(idx) else idx
    ax.scatter(x[idx] + rng.uniform(-0.05, 0.05, len(idx)), y[idx], s=3, alpha=0.25, color="tab:gray")
    if ok.any():
        q = np.unique(np.quantile(x[ok], np.linspace(0, 1, 11)))
        if len(q) > 2:
            b = np.clip(np.searchsorted(q, x[ok], side="right") - 1, 0, len(q) - 2)
            mx = [x[ok][b == i].mean() for i in range(len(q) - 1) if (b == i).any()]
            my = [y[ok][b == i].mean() for i in range(len(q) - 1) if (b == i).any()]
            ax.plot(mx, my, "o-", color="tab:red", label="mean per decile of the rate")
    ax.set_xlabel("liquidations per minute (last 5 minutes)")
    ax.set_ylabel("forward 15 m realized vol / symbol median (ratio)")
    ax.set_yscale("log")
    FormatStrFormatter = need("plot", "matplotlib.ticker").FormatStrFormatter

    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))  # 0.6, 1, 2: not 6x10^-1
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.set_title("liquidation rate vs forward realized volatility", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return finish_figure(fig, path)
