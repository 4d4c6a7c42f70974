"""The ``volatility`` study: the liquidation rate and its z-score against forward
realized volatility, with an ATR baseline and the rate's information beyond it."""
from __future__ import annotations

import numpy as np

from liqcore.research.studies._common import NS_MIN, NS_H, StudyResult, unavailable, Panel, block_corr, _ols, _blocks


VOL_HORIZONS = (("5m", 5), ("15m", 15), ("1h", 60))


def vol_frame(panel: Panel):
    """Per symbol, every 5th minute: liquidation rate of the last 5 minutes and its z-score against
    the previous 4 hours, ATR (14 one-minute true ranges) and forward realized volatility."""
    import pandas as pd

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
        f = pd.DataFrame({"symbol": name, "t": grid, "liq_rate": rate5, "z_liq_rate": z, "atr": atr})
        r2 = np.nan_to_num(r * r)
        cs = np.concatenate([[0.0], np.cumsum(r2)])
        tpm = np.bincount(k[ok], minlength=len(grid))[:len(grid)].astype(np.float64)  # trades per minute
        ct = np.concatenate([[0.0], np.cumsum(tpm)])
        n = len(grid)
        live_back = (ct[1:] - ct[np.maximum(np.arange(1, n + 1) - 15, 0)]) > 0  # a trade in the last 15 min
        f.loc[~live_back, ["atr", "liq_rate", "z_liq_rate"]] = np.nan  # a feed gap, not a quiet market
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
    import pandas as pd

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
        ys, xr, xa = zs(y), zs(x_rate), zs(x_atr)
        for sym in ["ALL"] + sorted(fr.symbol.unique()):
            sel = np.ones(len(fr), bool) if sym == "ALL" else (fr.symbol == sym).to_numpy()
            if sym == "ALL":
                a_rate = _within_rank(fr.assign(v=x_rate), "v").to_numpy()
                a_z = _within_rank(fr.assign(v=z), "v").to_numpy()
                a_atr = _within_rank(fr.assign(v=x_atr), "v").to_numpy()
                yy = yr
            else:
                a_rate, a_z, a_atr, yy = x_rate, z, x_atr, y
            ic_r = block_corr(a_rate[sel], yy[sel], block[sel], n_boot)
            ic_z = block_corr(a_z[sel], yy[sel], block[sel], n_boot)
            ic_a = block_corr(a_atr[sel], yy[sel], block[sel], n_boot)
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
                         "partial_ci_high": pic[2], "partial_p": pic[3]})
    table = pd.DataFrame(rows)
    pooled = table[table.symbol == "ALL"].set_index("horizon")
    res = StudyResult("volatility", title)
    res.tables = {"volatility": table}
    res.headline = {f"{k}_{h}": float(pooled.loc[h, k]) for h in pooled.index
                    for k in ("ic_liq_rate", "ic_z_liq_rate", "ic_atr", "r2_liq", "r2_atr", "delta_r2", "partial_ic",
                              "partial_ci_low", "partial_ci_high")}
    sig = [h for h in pooled.index if pooled.loc[h, "partial_ci_low"] > 0]
    res.headline["horizons_beyond_atr"] = len(sig)
    for h in pooled.index:
        p = pooled.loc[h]
        res.findings.append(
            f"{h}: IC liquidation rate {p.ic_liq_rate:+.3f}, its z-score {p.ic_z_liq_rate:+.3f}, ATR {p.ic_atr:+.3f}; "
            f"R² liquidations {p.r2_liq:.3f}, ATR {p.r2_atr:.3f}, both {p.r2_both:.3f}; information beyond ATR "
            f"(partial IC) {p.partial_ic:+.3f} [{p.partial_ci_low:+.3f}, {p.partial_ci_high:+.3f}].")
    if not sig:
        res.findings.append("The liquidation rate adds no information about forward volatility beyond ATR.")
    res.plots.append(("volatility_scatter.png", lambda p: _plot_vol(fr, p)))
    return res


def _plot_vol(fr, path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
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
    from matplotlib.ticker import FormatStrFormatter

    ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))  # 0.6, 1, 2: not 6x10^-1
    ax.yaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.set_title("liquidation rate vs forward realized volatility", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
