"""The ``microstructure`` study: time-of-day and day-of-week clustering of
liquidations, sweeps and what follows them, the price impact per 1 M of net
liquidated notional by session, and the research plan's absorption (large
liquidations with minimal price impact): the share of large liquidations the
book absorbs, by session."""
from __future__ import annotations

import math

import numpy as np

from liqcore._extras import need
from liqcore.research.studies._common import (
    NS_S,
    NS_MIN,
    NS_H,
    NS_DAY,
    SESSIONS,
    StudyResult,
    unavailable,
    Panel,
    _ols,
    _fmt_p,
)
from liqcore.types import Side


#: absorption: a "large" liquidation is at or above this quantile of the symbol's liquidation notionals
ABSORB_QUANTILE = 0.95
#: absorption: the horizon of a large liquidation's price impact (seconds)
ABSORB_HORIZON_S = 10.0


def absorption(panel: Panel, name: str, q: float = ABSORB_QUANTILE, horizon_s: float = ABSORB_HORIZON_S):
    """The research plan's absorption for one symbol: ``(rows, impact_bp, absorbed, hours)`` of its large
    liquidations (notional at or above the ``q`` quantile of the symbol's liquidation notionals), each with
    its impact = the move of the last trade price from just before the liquidation was received to
    ``horizon_s`` later, in the forced flow's direction (a long liquidated is a forced sell: down is +),
    in bp; absorbed = an impact no larger than the symbol's typical move, the median absolute
    ``horizon_s`` return on an epoch grid of that step.  None when there is too little data."""
    d = panel.sym[name]
    h = int(horizon_s * NS_S)
    if len(d["t_liq"]) < 20 or len(d["t_trade"]) < 100:
        return None
    thr = float(np.quantile(d["n_liq"], q))
    big = d["n_liq"] >= thr
    t = d["t_liq"][big]
    sd = d["side_liq"][big]
    keep = t + h <= d["t_trade"][-1]
    t, sd = t[keep], sd[keep]
    p0 = panel.price_at(name, t - 1)
    p1 = panel.price_at(name, t + h)
    ok = np.isfinite(p0) & np.isfinite(p1)
    t, sd, p0, p1 = t[ok], sd[ok], p0[ok], p1[ok]
    grid = panel.grid(name, h)
    lp = np.log(panel.price_at(name, grid))
    noise = float(np.nanmedian(np.abs(np.diff(lp)))) * 1e4 if len(grid) > 2 else math.nan
    if len(t) < 5 or not math.isfinite(noise):
        return None
    direction = np.where(sd == Side.LONG, -1.0, 1.0)
    impact = direction * (p1 / p0 - 1.0) * 1e4
    return {"threshold": thr, "noise_bp": noise}, impact, impact <= noise, (t // NS_H) % 24


def study_microstructure(panel: Panel, sweep_gap_s: float = 2.0, sweep_min: int = 3, **_):
    """Time-of-day and day-of-week clustering of liquidations (tests over days as replicates),
    sweeps (consecutive same-side liquidations stepping through price levels) and what follows them,
    and absorption: price impact per 1 M of net liquidated notional, by session and weekend."""
    pd = need("research", "pandas")
    _m = need("research", "scipy.stats")
    kruskal, mannwhitneyu = _m.kruskal, _m.mannwhitneyu

    title = "liquidation microstructure"
    if panel.n("t_liq") == 0:
        return unavailable("microstructure", title, "the input has no liquidations")
    res = StudyResult("microstructure", title)
    allt = np.concatenate([panel.sym[s]["te_liq"] for s in panel.names])
    a = min(panel.sym[s]["t0"] for s in panel.names)
    b = max(panel.sym[s]["t1"] for s in panel.names)
    h0 = -(-a // NS_H)
    h1 = b // NS_H
    head = {}
    # observed hours: hours with any event of any kind (a recording's gaps are not quiet hours)
    anyt = panel.events["ts_recv"]
    observed = np.zeros(max(int(h1 - h0), 0), bool)
    if len(observed):
        hh = (anyt[(anyt >= h0 * NS_H) & (anyt < h1 * NS_H)] // NS_H - h0).astype(np.int64)
        observed[np.unique(hh)] = True
    if observed.sum() >= 48:
        hours = np.arange(h0, h1)
        cnt = np.bincount(((allt[(allt >= h0 * NS_H) & (allt < h1 * NS_H)] // NS_H) - h0).astype(np.int64),
                          minlength=len(hours))[:len(hours)]
        hours, cnt = hours[observed], cnt[observed]
        hod = (hours % 24).astype(int)
        groups = [cnt[hod == h] for h in range(24) if (hod == h).sum() >= 2]
        p_hour = float(kruskal(*groups).pvalue) if len(groups) >= 2 and np.ptp(cnt) > 0 else math.nan
        prof = pd.Series(cnt).groupby(hod).mean()
        tod = pd.DataFrame({"hour": prof.index, "mean_liquidations": prof.values,
                            "relative": prof.values / prof.values.mean()})
        head.update({"hour_p": p_hour, "peak_hour": int(prof.idxmax()), "trough_hour": int(prof.idxmin()),
                     "peak_to_trough": float(prof.max() / max(prof.min(), 1e-9))})
        for s_, lo, hi in SESSIONS:
            head[f"session_{s_}"] = float(prof[(prof.index >= lo) & (prof.index < hi)].mean() / prof.mean())
        days = np.arange(-(-a // NS_DAY), b // NS_DAY)
        if len(days):
            dc = np.bincount(((allt[(allt >= days[0] * NS_DAY) & (allt < (days[-1] + 1) * NS_DAY)] // NS_DAY)
                              - days[0]).astype(np.int64), minlength=len(days))[:len(days)]
            full = np.array([np.isin(np.arange(d * 24, d * 24 + 24), hours).all() for d in days.tolist()], bool)
            days, dc = days[full], dc[full]  # only fully observed days
        if len(days) >= 8:
            dow = ((days + 3) % 7).astype(int)  # 1970-01-01 was a Thursday -> 0 = Monday
            wk = dow >= 5
            head["weekend_ratio"] = float(dc[wk].mean() / dc[~wk].mean()) if wk.any() and (~wk).any() else math.nan
            head["weekend_p"] = float(mannwhitneyu(dc[wk], dc[~wk]).pvalue) if wk.sum() >= 2 and (~wk).sum() >= 2 \
                else math.nan
            dg = [dc[dow == k] for k in range(7) if (dow == k).sum() >= 2]
            head["weekday_p"] = float(kruskal(*dg).pvalue) if len(dg) >= 2 and np.ptp(dc) > 0 else math.nan
        else:
            head.update({"weekend_ratio": math.nan, "weekend_p": math.nan, "weekday_p": math.nan})
        res.tables["time_of_day"] = tod
    else:
        res.findings.append("time-of-day clustering not available because the input covers fewer than 48 hours")
    # sweeps
    srows = []
    for name in panel.names:
        d = panel.sym[name]
        if len(d["te_liq"]) < sweep_min or len(d["t_trade"]) == 0:
            continue
        o = np.argsort(d["te_liq"], kind="stable")
        t, p, sd = d["te_liq"][o], d["p_liq"][o], d["side_liq"][o]
        tr = d["t_liq"][o]
        brk = np.concatenate([[True], (np.diff(t) > sweep_gap_s * NS_S) | (sd[1:] != sd[:-1])])
        starts = np.flatnonzero(brk)
        ends = np.concatenate([starts[1:], [len(t)]])
        for s0, e0 in zip(starts.tolist(), ends.tolist()):
            if e0 - s0 < sweep_min:
                continue
            pp = p[s0:e0]
            direction = -1.0 if sd[s0] == Side.LONG else 1.0  # the forced flow's direction
            mono = np.all(np.diff(pp) * direction >= 0)
            levels = len(np.unique(pp))
            is_sweep = bool(mono and levels >= sweep_min)
            t_end = int(tr[e0 - 1])
            p0 = panel.price_at(name, np.array([t_end]))[0]
            row = {"symbol": name, "sweep": is_sweep, "n": e0 - s0, "levels": levels}
            for lab, hns in (("1m", NS_MIN), ("5m", 5 * NS_MIN)):
                if t_end + hns > d["t_trade"][-1]:
                    row[f"cont_bp_{lab}"] = math.nan
                    continue
                p1 = panel.price_at(name, np.array([t_end + hns]))[0]
                row[f"cont_bp_{lab}"] = direction * (p1 / p0 - 1.0) * 1e4
            srows.append(row)
    sw = pd.DataFrame(srows, columns=["symbol", "sweep", "n", "levels", "cont_bp_1m", "cont_bp_5m"])
    span_days = max((b - a) / NS_DAY, 1e-9)
    if len(sw):
        srow = []
        for kind, g in (("sweep", sw[sw.sweep]), ("other cluster", sw[~sw.sweep])):
            r = {"kind": kind, "count": int(len(g)), "per_day": len(g) / span_days}
            for lab in ("1m", "5m"):
                x = g[f"cont_bp_{lab}"].dropna().to_numpy()
                r[f"mean_cont_bp_{lab}"] = float(x.mean()) if len(x) else math.nan
                r[f"t_{lab}"] = float(x.mean() / (x.std(ddof=1) / math.sqrt(len(x)))) if len(x) > 2 and x.std() > 0 \
                    else math.nan
            srow.append(r)
        res.tables["sweeps"] = pd.DataFrame(srow)
        sws = res.tables["sweeps"].iloc[0]
        head.update({"sweeps": int(sws["count"]), "sweeps_per_day": float(sws["per_day"]),
                     "sweep_cont_bp_5m": float(sws["mean_cont_bp_5m"]), "sweep_t_5m": float(sws["t_5m"])})
    # absorption: 1-minute return vs net liquidated notional (short - long), per symbol and session
    arows = []
    for name in panel.names:
        d = panel.sym[name]
        grid = panel.grid(name, NS_MIN)
        if len(grid) < 120 or len(d["t_liq"]) < 20:
            continue
        lp = np.log(panel.price_at(name, grid))
        r = np.diff(lp, prepend=np.nan) * 1e4
        k = np.searchsorted(grid, d["t_liq"], side="left")
        ok = (k > 0) & (k < len(grid))
        signed = np.where(d["side_liq"] == Side.SHORT, 1.0, -1.0) * d["n_liq"] / 1e6
        net = np.bincount(k[ok], signed[ok], minlength=len(grid))[:len(grid)]
        has = np.bincount(k[ok], minlength=len(grid))[:len(grid)] > 0
        hour = (grid // NS_H) % 24
        wkend = (((grid // NS_DAY) + 3) % 7) >= 5
        groups = [("all", has)] + [(s_, has & (hour >= lo) & (hour < hi)) for s_, lo, hi in SESSIONS] + \
                 [("weekend", has & wkend), ("weekday", has & ~wkend)]
        for gname, sel in groups:
            if sel.sum() < 20:
                continue
            beta, se, r2, n = _ols(r[sel], net[sel])
            arows.append({"symbol": name, "group": gname, "minutes": n, "bp_per_1m": beta[1], "se": se[1],
                          "t": beta[1] / se[1] if se[1] > 0 else math.nan, "r2": r2})
    ab = pd.DataFrame(arows)
    # absorption (the plan: "large liquidations with minimal price impact"): the share absorbed, with a
    # Wilson interval, per symbol and session and pooled over the symbols
    binomtest = need("research", "scipy.stats").binomtest

    brows, pooled = [], {}
    for name in panel.names:
        got = absorption(panel, name)
        if got is None:
            continue
        info, impact, absorbed, hod = got
        groups = [("all", np.ones(len(impact), bool))] + [(s_, (hod >= lo) & (hod < hi)) for s_, lo, hi in SESSIONS]
        for gname, sel in groups:
            n = int(sel.sum())
            if n == 0:
                continue
            k = int(absorbed[sel].sum())
            ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
            brows.append({"symbol": name, "group": gname, "large_n": n, "absorbed_n": k, "absorbed_share": k / n,
                          "absorbed_share_lo": ci.low, "absorbed_share_hi": ci.high,
                          "median_impact_bp": float(np.median(impact[sel])), "noise_bp": info["noise_bp"],
                          "threshold_notional": info["threshold"]})
            pk = pooled.setdefault(gname, [0, 0])
            pk[0] += n
            pk[1] += k
    for gname, (n, k) in pooled.items():
        ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
        brows.append({"symbol": "ALL", "group": gname, "large_n": n, "absorbed_n": k, "absorbed_share": k / n,
                      "absorbed_share_lo": ci.low, "absorbed_share_hi": ci.high, "median_impact_bp": math.nan,
                      "noise_bp": math.nan, "threshold_notional": math.nan})
    if brows:
        bt = pd.DataFrame(brows)
        res.tables["absorption_rate"] = bt
        allrow = bt[(bt.symbol == "ALL") & (bt.group == "all")].iloc[0]
        head.update({"absorption_share": float(allrow["absorbed_share"]),
                     "absorption_share_lo": float(allrow["absorbed_share_lo"]),
                     "absorption_share_hi": float(allrow["absorbed_share_hi"]), "absorption_large_n": int(allrow["large_n"])})
        for s_, _lo, _hi in SESSIONS:
            r_ = bt[(bt.symbol == "ALL") & (bt.group == s_)]
            if len(r_):
                head[f"absorption_share_{s_}"] = float(r_["absorbed_share"].iloc[0])
    if len(ab):
        res.tables["absorption"] = ab
        al = ab[ab.group == "all"]
        head["absorption_significant_positive"] = int((al.t > 3).sum())
        head["absorption_significant_any"] = int((al.t.abs() > 3).sum())
        head["absorption_symbols"] = int(len(al))
    res.headline = head
    if "hour_p" in head:
        sig = np.isfinite(head["hour_p"]) and head["hour_p"] < 0.001
        res.findings.append(
            f"Liquidations by hour of day (UTC): peak {head['peak_hour']:02d}h, trough {head['trough_hour']:02d}h, "
            f"peak/trough {head['peak_to_trough']:.2f} (Kruskal-Wallis over days, {_fmt_p(head['hour_p'])})"
            + ("" if sig else ": no time-of-day clustering beyond chance") + ".")
        if np.isfinite(head.get("weekend_ratio", math.nan)):
            res.findings.append(f"Weekend days carry {head['weekend_ratio']:.2f}x the liquidations of weekdays "
                                f"({_fmt_p(head['weekend_p'])}).")
    if "sweeps" in head:
        res.findings.append(
            f"{head['sweeps']} sweeps ({head['sweeps_per_day']:.1f}/day): 5 m after a sweep the price moved "
            f"{head['sweep_cont_bp_5m']:+.1f} bp in the sweep's direction (t = {head['sweep_t_5m']:.1f}).")
    if "absorption_share" in head:
        sess = ", ".join(f"{s_} {head[f'absorption_share_{s_}']:.0%}" for s_, _lo, _hi in SESSIONS
                         if f"absorption_share_{s_}" in head)
        res.findings.append(
            f"Absorption (large liquidations with minimal price impact): {head['absorption_share']:.1%} of "
            f"{head['absorption_large_n']:,} large liquidations (at or above each symbol's "
            f"{ABSORB_QUANTILE:.0%} notional quantile) moved the price in the forced direction by no more than the "
            f"symbol's median absolute {ABSORB_HORIZON_S:g} s move within {ABSORB_HORIZON_S:g} s (Wilson 95% CI "
            f"[{head['absorption_share_lo']:.1%}, {head['absorption_share_hi']:.1%}]; by session (UTC): {sess}; "
            "per symbol in the absorption_rate table).")
    if len(ab):
        res.findings.append(
            f"Price impact per 1 M liquidated: the 1-minute return rises with net liquidated notional (short minus "
            f"long) with t > 3 for {head['absorption_significant_positive']}/{head['absorption_symbols']} symbols "
            "(bp per 1 M in the absorption table, by session).")
    if "time_of_day" in res.tables:
        res.plots.append(("time_of_day.png", lambda p: _plot_tod(res.tables["time_of_day"], p)))
    return res


def _plot_tod(tod, path):
    from liqcore.backtest.report import new_figure
    from liqcore.research.studies._common import finish_figure

    fig, ax = new_figure(figsize=(8, 3.5), dpi=100)
    ax.bar(tod["hour"], tod["mean_liquidations"], color="tab:purple")
    ax.set_xlabel("hour of day (UTC)")
    ax.set_ylabel("liquidations per hour (mean over days)")
    ax.set_title("time-of-day profile of liquidations", fontsize=9)
    fig.tight_layout()
    return finish_figure(fig, path)
