"""The ``contagion`` study: lead/lag of liquidation rates between the leader (BTC) and
the other symbols, conditional cascade probability against the base rate, and Granger
tests both ways."""
from __future__ import annotations

import math

import numpy as np

from liqcore._extras import need
from liqcore.research.studies._common import NS_S, NS_MIN, NS_H, StudyResult, unavailable, Panel, _xcorr
from liqcore.types import Kind


def _counts(t_ns: np.ndarray, a: int, b: int, step: int) -> np.ndarray:
    nb = int((b - a) // step) + 1
    k = ((t_ns[(t_ns >= a) & (t_ns <= b)] - a) // step).astype(np.int64)
    return np.bincount(k, minlength=nb).astype(np.float64)[:nb]


def _cascade_starts(panel: Panel, params):
    from liqcore.research.features import _confirmed_records

    liq = panel.events[panel.events["kind"] == Kind.LIQUIDATION]
    if len(liq) == 0:
        return {}
    rec = _confirmed_records(panel.events, None, params)
    out = {}
    for name in panel.names:
        sid = panel.sym[name]["sid"]
        r = rec[rec["symbol_id"] == sid]
        out[name] = (np.sort(r["start_ns"].astype(np.int64)), r["dominant"])
    return out


def study_contagion(panel: Panel, params=None, window_s: float = 60.0, granger_lag_bins: int = 6,
                    max_symbols: int = 20, **_):
    """Lead/lag of liquidation rates between the leader (BTC) and each other symbol (the
    ``max_symbols`` with the most liquidations, at least 30 each); P(alt cascade within the window |
    leader cascade) against the base rate; Granger tests both ways."""
    pd = need("research", "pandas")
    binomtest = need("research", "scipy.stats").binomtest

    title = "cross-asset liquidation contagion"
    leader = panel.leader()
    alts = [s for s in panel.names if s != leader and len(panel.sym[s]["te_liq"]) >= 30]
    alts = sorted(alts, key=lambda s: -len(panel.sym[s]["te_liq"]))[:max_symbols]
    if leader is None or not alts or len(panel.sym[leader]["te_liq"]) == 0:
        return unavailable("contagion", title, "it needs liquidations of at least two symbols (30 or more each)")
    L = panel.sym[leader]
    a = min(panel.sym[s]["t0"] for s in [leader] + alts)
    b = max(panel.sym[s]["t1"] for s in [leader] + alts)
    if b - a < 2 * NS_H:
        return unavailable("contagion", title, "the input spans less than two hours")
    starts = _cascade_starts(panel, params)
    ls_all = starts.get(leader, (np.zeros(0, np.int64), None))[0]
    regime = _leader_regime(panel, leader, ls_all)
    rng = np.random.default_rng(0)
    rows = []
    curves = {}
    far = 600
    c1l = _counts(L["te_liq"], a, b, NS_S)
    for alt in alts:
        A = panel.sym[alt]
        row = {"leader": leader, "symbol": alt}
        for lab, step in (("5s", 5 * NS_S), ("30s", 30 * NS_S), ("1m", NS_MIN)):
            xc = _xcorr(_counts(L["te_liq"], a, b, step), _counts(A["te_liq"], a, b, step), 12)
            row[f"corr0_{lab}"] = float(xc[12])
            k = int(np.nanargmax(xc))
            row[f"peak_lag_s_{lab}_bins"] = (k - 12) * step / NS_S  # seconds, on bins of ``lab``
            row[f"peak_corr_{lab}"] = float(xc[k])
        # 1 s resolution lead/lag: peak within +-120 s, significance against distant lags
        xc1 = _xcorr(c1l, _counts(A["te_liq"], a, b, NS_S), far)
        curves[alt] = xc1
        lags = np.arange(-far, far + 1)
        near = np.abs(lags) <= 120
        k = int(np.nanargmax(np.where(near, xc1, -np.inf)))
        ref = xc1[np.abs(lags) >= 300]
        row["lead_lag_s"] = int(lags[k])
        row["lead_lag_corr"] = float(xc1[k])
        row["lead_lag_z"] = float((xc1[k] - ref.mean()) / ref.std()) if ref.std() > 0 else math.nan
        # conditional cascade probability
        ls, _ = starts.get(leader, (np.zeros(0, np.int64), None))
        as_, _ = starts.get(alt, (np.zeros(0, np.int64), None))
        w = int(window_s * NS_S)
        if len(ls) and len(as_):
            j = np.searchsorted(as_, ls, side="right")
            hits = int(np.sum((j < len(as_)) & (as_[np.minimum(j, len(as_) - 1)] <= ls + w)))
            # base rate: share of time t with an alt cascade start in (t, t + w]
            iv = np.stack([as_ - w, as_], axis=1)
            covered = _union_length(iv, a, b)
            base = covered / (b - a)
            p = binomtest(hits, len(ls), min(max(base, 1e-12), 1 - 1e-12), alternative="greater").pvalue
        else:
            hits, base, p = 0, math.nan, math.nan
        row.update(_severity(A, ls, regime, w, a, b, rng))
        row.update({"leader_cascades": int(len(ls)), "alt_cascades": int(len(as_)), "hits": hits,
                    "p_alt_given_leader": hits / len(ls) if len(ls) else math.nan, "base_rate": base,
                    "p_contagion": p})
        # Granger on 10 s log counts minus their calendar-hour means: a shared daily or weekly
        # activity cycle is not contagion
        row["granger_p_leader_to_alt"], row["granger_p_alt_to_leader"] = _granger(
            _dehour(np.log1p(_counts(L["te_liq"], a, b, 10 * NS_S)), 360),
            _dehour(np.log1p(_counts(A["te_liq"], a, b, 10 * NS_S)), 360), granger_lag_bins)
        rows.append(row)
    table = pd.DataFrame(rows)
    n_alt = len(alts)
    res = StudyResult("contagion", title)
    res.tables = {"contagion": table}
    alpha = 0.01 / (2 * n_alt)  # Bonferroni over the symbols and the two test families
    sig_g = table["granger_p_leader_to_alt"] < alpha
    sig_c = table["p_contagion"] < alpha
    sig_l = table["lead_lag_z"] > 5
    res.headline = {
        "leader": leader, "symbols": n_alt,
        "granger_significant": int(sig_g.sum()), "granger_reverse_significant": int((table["granger_p_alt_to_leader"]
                                                                                     < alpha).sum()),
        "conditional_significant": int(sig_c.sum()), "lead_lag_significant": int(sig_l.sum()),
        "median_lead_lag_s": float(table.loc[sig_l, "lead_lag_s"].median()) if sig_l.any() else math.nan,
        "mean_p_alt_given_leader": float(table["p_alt_given_leader"].mean()),
        "mean_base_rate": float(table["base_rate"].mean()),
        "significant": bool(sig_g.any() or sig_c.any()),
    }
    h = res.headline
    res.findings.append(
        f"P(alt cascade within {window_s:g} s | {leader} cascade) = {h['mean_p_alt_given_leader']:.1%} on average vs a "
        f"base rate of {h['mean_base_rate']:.1%}; significant (binomial test, 1% family-wise) for "
        f"{h['conditional_significant']}/{n_alt} symbols.")
    res.findings.append(
        f"Granger ({leader} -> alt, 10 s bins net of hourly means, {granger_lag_bins} lags): significant for {h['granger_significant']}/{n_alt}"
        f" (reverse direction: {h['granger_reverse_significant']}/{n_alt}); lead/lag peak clearly above distant lags "
        f"for {h['lead_lag_significant']}/{n_alt}"
        + (f", median lag {h['median_lead_lag_s']:+.0f} s ({leader} leads when positive)."
           if np.isfinite(h["median_lead_lag_s"]) else "."))
    _severity_findings(res, table, leader, window_s)
    if not h["significant"]:
        res.findings.append("No contagion beyond chance: the symbols' liquidations look independent.")
    elif h["granger_reverse_significant"] >= max(1, h["granger_significant"]) and h["conditional_significant"] == 0:
        res.findings.append(f"The dependence runs both ways, with no lead of {leader}: the symbols share market-wide "
                            f"liquidation bursts rather than {leader} cascades spreading to the others.")
    res.plots.append(("lead_lag.png", lambda p: _plot_leadlag(curves, leader, far, p)))
    return res


def _leader_regime(panel: Panel, leader: str, starts: np.ndarray) -> np.ndarray:
    """Per leader cascade start: "volatile" when the leader's realized volatility over the hour
    before it (one-minute log returns) is at or above its median over every hour of the input,
    "quiet" below, "?" when unknown."""
    out = np.full(len(starts), "?", dtype=object)
    grid = panel.grid(leader, NS_MIN)
    if len(grid) < 61 or not len(starts):
        return out
    lp = np.log(panel.price_at(leader, grid))
    r = np.diff(lp, prepend=np.nan)
    ok = np.isfinite(r)
    cs = np.concatenate([[0.0], np.cumsum(np.where(ok, r * r, 0.0))])
    cn = np.concatenate([[0], np.cumsum(ok)])
    kk = np.arange(60, len(grid) + 1)
    med = np.median(np.sqrt(cs[kk] - cs[kk - 60])[(cn[kk] - cn[kk - 60]) >= 30])
    k = np.searchsorted(grid, starts, side="right")
    rv = np.sqrt(cs[k] - cs[np.maximum(k - 60, 0)])
    good = (k >= 60) & ((cn[k] - cn[np.maximum(k - 60, 0)]) >= 30)
    out[good] = np.where(rv[good] >= med, "volatile", "quiet")
    return out


def _severity(A, ls, regime, w, a, b, rng, n_boot: int = 1000, n_random: int = 2000):
    """Contagion severity (a volume ratio): the alt's liquidated notional in the window after each
    leader cascade start against the same in windows starting at random times (``n_random``,
    uniform over the input), compared as ``exp(mean(log(1 + notional)))`` of each (a geometric-mean
    ratio: liquidation notionals are too heavy-tailed for a ratio of plain means over a few dozen
    cascades to be stable); 1 = no more than usual.  A bootstrap interval resamples both the
    cascades (whole hours of them) and the random windows; overall and per regime."""
    out = {}
    te, nn = A["te_liq"], np.asarray(A["n_liq"], np.float64)
    o = np.argsort(te, kind="stable")
    te, cum = te[o], np.concatenate([[0.0], np.cumsum(nn[o])])

    def vol(t0):
        return cum[np.searchsorted(te, t0 + w, side="right")] - cum[np.searchsorted(te, t0, side="right")]

    rnd = np.log1p(vol(rng.integers(a, max(b - w, a + 1), n_random)))
    for key, sel in (("", np.ones(len(ls), bool)), ("_quiet", regime == "quiet"), ("_volatile", regime == "volatile")):
        x = np.log1p(vol(ls[sel]))
        if len(x) < 5:
            out.update({f"severity{key}": math.nan, f"severity{key}_lo": math.nan, f"severity{key}_hi": math.nan,
                        f"severity{key}_n": int(len(x))})
            continue
        # leader cascades cluster within hours: resample whole hours of them
        _, inv = np.unique(ls[sel] // NS_H, return_inverse=True)
        k = int(inv.max()) + 1
        sx, cx = np.bincount(inv, x, minlength=k), np.bincount(inv, minlength=k).astype(np.float64)
        idx = rng.integers(0, k, size=(n_boot, k))
        bx = sx[idx].sum(1) / np.maximum(cx[idx].sum(1), 1)
        br = rnd[rng.integers(0, len(rnd), size=(n_boot, len(rnd)))].mean(1)
        lo, hi = np.quantile(np.exp(bx - br), [0.025, 0.975])
        out.update({f"severity{key}": float(np.exp(x.mean() - rnd.mean())), f"severity{key}_lo": float(lo),
                    f"severity{key}_hi": float(hi), f"severity{key}_n": int(len(x))})
    return out


def _severity_findings(res, table, leader, window_s):
    ok = table[np.isfinite(table["severity"])]
    if not len(ok):
        res.findings.append(f"Contagion severity: n/a — fewer than 5 {leader} cascades, or no alt liquidations.")
        return
    above = int((ok["severity_lo"] > 1).sum())
    res.headline["severity_above_1"] = above
    res.headline["median_severity"] = float(ok["severity"].median())
    parts = []
    for r in ok.itertuples():
        q = (f"quiet {r.severity_quiet:.2f}x [{r.severity_quiet_lo:.2f}, {r.severity_quiet_hi:.2f}]"
             if np.isfinite(r.severity_quiet) else "quiet n/a (fewer than 5 cascades)")
        v = (f"volatile {r.severity_volatile:.2f}x [{r.severity_volatile_lo:.2f}, {r.severity_volatile_hi:.2f}]"
             if np.isfinite(r.severity_volatile) else "volatile n/a (fewer than 5 cascades)")
        parts.append(f"{r.symbol} {r.severity:.2f}x [95% {r.severity_lo:.2f}, {r.severity_hi:.2f}] ({q}; {v})")
    res.findings.append(
        f"Contagion severity (an alt's liquidated notional in the {window_s:g} s after a {leader} cascade starts against "
        f"{window_s:g} s from random times, as a ratio of geometric means of 1 + notional; 1 = usual; quiet / volatile: {leader}'s realized volatility of the hour "
        f"before below / above its median): " + "; ".join(parts)
        + f". Above 1 beyond chance for {above}/{len(ok)} symbols.")


def _dehour(x: np.ndarray, per_hour: int) -> np.ndarray:
    """``x`` minus the mean of its calendar hour (consecutive blocks of ``per_hour`` bins)."""
    g = np.arange(len(x)) // per_hour
    m = np.bincount(g, x) / np.bincount(g)
    return x - m[g]


def _union_length(iv: np.ndarray, a: int, b: int) -> int:
    iv = np.clip(iv, a, b)
    iv = iv[np.argsort(iv[:, 0])]
    total = 0
    cur_s, cur_e = None, None
    for s, e in iv.tolist():
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def _granger(x_lead, y, lag):
    """p-values of the SSR F test (statsmodels ``grangercausalitytests``, ``lag`` lags): x
    Granger-causes y, and y causes x."""
    grangercausalitytests = need("research", "statsmodels.tsa.stattools").grangercausalitytests

    def test(cause, effect):
        if len(effect) < 10 * lag + 10 or np.ptp(cause) == 0 or np.ptp(effect) == 0:
            return math.nan
        r = grangercausalitytests(np.column_stack([effect, cause]), maxlag=[lag])
        return float(r[lag][0]["ssr_ftest"][1])

    return test(x_lead, y), test(y, x_lead)


def _plot_leadlag(curves, leader, far, path):
    from liqcore.backtest.report import new_figure
    from liqcore.research.studies._common import finish_figure

    fig, ax = new_figure(figsize=(8, 4), dpi=100)
    lags = np.arange(-far, far + 1)
    m = np.abs(lags) <= 120
    for alt, c in curves.items():
        ax.plot(lags[m], c[m], lw=1, label=alt)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel(f"lag k, s (corr of {leader} rate at t with the symbol's at t + k; k > 0: {leader} leads)")
    ax.set_ylabel("cross-correlation (1 s liquidation counts)")
    ax.set_title("lead/lag of liquidation rates", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return finish_figure(fig, path)
