"""The ``lag`` study: the timing of liquidations against price, on the exchange's clock.

The details: docs/maintainers/research.md, "The `lag` study, in full".

May import: ``numpy``, ``pandas``, ``backtest.report``, ``types`` and this package's ``_common``.
"""
from __future__ import annotations

import math

import numpy as np

from liqcore._extras import need
from liqcore.research.studies._common import NS_H, NS_S, Panel, StudyResult, _fmt_p, block_corr, unavailable
from liqcore.types import Kind, Side

MAX_LAG_S = 10
WINDOW_S = 5


def _tick_delays(t_tr: np.ndarray, p_tr: np.ndarray, times: np.ndarray, direction: np.ndarray,
                 horizon_ns: int = 60 * NS_S) -> np.ndarray:
    """Seconds from each time to the first trade at or after it priced beyond the last trade strictly
    before it in ``direction`` (+1 up, -1 down); NaN when none within ``horizon_ns`` or no earlier trade."""
    out = np.full(len(times), np.nan)
    i_ref = np.searchsorted(t_tr, times, side="left")  # the last trade strictly before: the price before
    i0 = np.searchsorted(t_tr, times, side="left")  # trades at the same millisecond count as after
    for j in range(len(times)):
        a = i0[j]
        if i_ref[j] == 0 or a >= len(t_tr):
            continue
        ref = p_tr[i_ref[j] - 1]
        b = np.searchsorted(t_tr, times[j] + horizon_ns, side="right")
        seg = p_tr[a:b]
        hit = np.flatnonzero(seg < ref) if direction[j] < 0 else np.flatnonzero(seg > ref)
        if len(hit):
            out[j] = (t_tr[a + hit[0]] - times[j]) / NS_S
    return out


def _median_ci(x: np.ndarray, labels: np.ndarray, n_boot: int, rng):
    ok = np.isfinite(x)
    x, labels = x[ok], labels[ok]
    if len(x) < 20:
        return (float(np.median(x)) if len(x) else math.nan), math.nan, math.nan, len(x)
    _, inv = np.unique(labels, return_inverse=True)
    k = int(inv.max()) + 1
    groups = [x[inv == g] for g in range(k)]
    boots = []
    for _ in range(n_boot):
        pick = rng.integers(0, k, k)
        boots.append(np.median(np.concatenate([groups[g] for g in pick])))
    lo, hi = np.quantile(boots, [0.025, 0.975])
    return float(np.median(x)), float(lo), float(hi), len(x)


def _sec(x) -> str:
    return f"{x:.2f} s" if x is not None and np.isfinite(x) else "n/a"


def _c(x) -> str:
    return f"{x:+.3f}" if x is not None and np.isfinite(x) else "n/a"


def study_lag(panel: Panel, n_boot: int = 300, seed: int = 0, **_):
    """Lead/lag of liquidations against price (1-second grid), the "liquidations lag price by 0-5 s"
    test, and the liquidation-to-price-tick delay against random times."""
    pd = need("research", "pandas")

    title = "liquidations against price: lead/lag and the liquidation-to-price-tick delay"
    if panel.n("t_liq") == 0:
        return unavailable("lag", title, "the input has no liquidations")
    if panel.n("t_trade") == 0:
        return unavailable("lag", title, "the input has no trades (no price ticks)")
    rng = np.random.default_rng(seed)
    ev = panel.events
    xs, ys, blocks, delay_l, delay_r, lab_l, lab_r = [], [], [], [], [], [], []
    for name in panel.names:
        d = panel.sym[name]
        e = ev[ev["symbol_id"] == d["sid"]]
        tr = e[(e["kind"] == Kind.TRADE) & np.isfinite(e["price"]) & (e["price"] > 0)]
        if len(tr) < 100 or len(d["te_liq"]) == 0:
            continue
        o = np.argsort(tr["ts_event"], kind="stable")
        t_tr = tr["ts_event"][o].astype(np.int64)
        p_tr = tr["price"][o].astype(np.float64)
        te = d["te_liq"]
        sgn = np.where(d["side_liq"] == Side.SHORT, 1.0, np.where(d["side_liq"] == Side.LONG, -1.0, 0.0))
        # 1-second grid on the exchange clock: second s covers (s-1, s] seconds
        s0 = int(t_tr[0] // NS_S) + 1
        s1 = int(t_tr[-1] // NS_S)
        if s1 - s0 < 2 * MAX_LAG_S + 60:
            continue
        secs = np.arange(s0, s1 + 1, dtype=np.int64)
        k = np.searchsorted(t_tr, secs * NS_S, side="right") - 1
        lp = np.log(p_tr[np.maximum(k, 0)])
        lp[k < 0] = np.nan
        r = np.diff(lp, prepend=np.nan)  # return of second s
        x = np.zeros(len(secs))
        bl = -(-te // NS_S) - s0  # the second (s-1, s] holding each liquidation
        okb = (bl >= 0) & (bl < len(secs))
        np.add.at(x, bl[okb], (sgn * np.log1p(d["n_liq"]))[okb])
        xs.append(x)
        ys.append(r)
        blocks.append(secs * NS_S // NS_H)
        # tick delays: in the forced direction against the opposite one, from the same liquidations
        dl = _tick_delays(t_tr, p_tr, te, sgn)  # a long liquidated (sgn -1) forces a sell: price DOWN
        dr = _tick_delays(t_tr, p_tr, te, -sgn)
        dl[sgn == 0] = np.nan
        dr[sgn == 0] = np.nan
        delay_l.append(dl)
        delay_r.append(dr)
        lab_l.append(te // NS_H)
        lab_r.append(te // NS_H)
    if not xs:
        return unavailable("lag", title, "no symbol has 100 trades and liquidations over more than 80 s")
    res = StudyResult("lag", title)
    rows = []
    # each second s with liquidations (the others carry no signal and only dilute the ranks) against the return
    # of second s + lag, in the block of second s; symbols in turn, seconds in order
    nz = [np.flatnonzero(x) for x in xs]
    for lag in range(-MAX_LAG_S, MAX_LAG_S + 1):
        xx, yy, bb = [], [], []
        for x, y, b, i in zip(xs, ys, blocks, nz):
            i = i[(i + lag >= 0) & (i + lag < len(x))]
            xx.append(x[i]), yy.append(y[i + lag]), bb.append(b[i])
        c, lo, hi, p, n = block_corr(np.concatenate(xx), np.concatenate(yy), np.concatenate(bb), n_boot=n_boot,
                                     seed=seed)
        rows.append({"lag_s": lag, "corr": c, "lo95": lo, "hi95": hi, "p": p, "n": n})
    prof = pd.DataFrame(rows)
    res.tables["lead_lag"] = prof
    # windows: the 5 s before the liquidation's second, the second itself, the 5 s after
    win = {}
    for key, a, b in (("before", -WINDOW_S, -1), ("same", 0, 0), ("after", 1, WINDOW_S)):
        xx, yy, bb = [], [], []
        for x, y, bl_ in zip(xs, ys, blocks):
            cs = np.concatenate([[0.0], np.nancumsum(np.nan_to_num(y))])
            idx = np.arange(len(x))
            lo_i, hi_i = idx + a, idx + b  # sum of returns of seconds lo_i..hi_i
            ok = (lo_i >= 1) & (hi_i < len(x)) & (x != 0)
            xx.append(x[ok]), yy.append(cs[hi_i[ok] + 1] - cs[lo_i[ok]]), bb.append(bl_[ok])
        win[key] = block_corr(np.concatenate(xx), np.concatenate(yy), np.concatenate(bb), n_boot=n_boot, seed=seed)
    wtab = pd.DataFrame([{"window": k, "from_s": a, "to_s": b, "corr": win[k][0], "lo95": win[k][1],
                          "hi95": win[k][2], "p": win[k][3], "n": win[k][4]}
                         for k, a, b in (("before", -WINDOW_S, -1), ("same", 0, 0), ("after", 1, WINDOW_S))])
    res.tables["windows"] = wtab
    bc, blo, bhi = win["before"][:3]
    ac, ahi = win["after"][0], win["after"][2]
    lag_supported = bool(np.isfinite(blo) and blo > 0 and (not np.isfinite(ac) or bc > ac))
    ok_prof = prof[np.isfinite(prof["corr"])]
    peak = int(ok_prof.loc[ok_prof["corr"].abs().idxmax(), "lag_s"]) if len(ok_prof) else None
    head = {"before_corr": bc, "before_lo": blo, "before_hi": bhi, "before_p": win["before"][3],
            "same_corr": win["same"][0], "same_lo": win["same"][1], "same_hi": win["same"][2], "same_p": win["same"][3],
            "after_corr": ac, "after_lo": win["after"][1], "after_hi": ahi, "after_p": win["after"][3],
            "lag_0_5s_supported": lag_supported, "peak_lag_s": peak}
    res.findings.append(
        f"Liquidations against the 1-second return (Spearman, seconds with liquidations, hour-block bootstrap): "
        f"return over the 5 s before {_c(bc)} [95% {_c(blo)}, {_c(bhi)}] ({_fmt_p(win['before'][3])}); same second "
        f"{_c(win['same'][0])} [{_c(win['same'][1])}, {_c(win['same'][2])}]; 5 s after {_c(ac)} "
        f"[{_c(win['after'][1])}, {_c(ahi)}]; strongest at lag {peak if peak is not None else 'n/a'} s "
        f"(negative: price first).")
    res.findings.append(
        "\"Liquidations lag price by 0-5 s\": "
        + ("supported — the price moves in the forced direction in the 5 s before the liquidations, more than after."
           if lag_supported else
           "not supported here — the return over the 5 s before the liquidations is not significantly in their "
           "direction, or no more than after."))
    # delays: forced direction against the opposite one (same liquidations: the trade activity around
    # them, which a baseline from random times would not match, is the same for both)
    dl, dr = np.concatenate(delay_l), np.concatenate(delay_r)
    lab = np.concatenate(lab_l)
    ml = _median_ci(dl, lab, n_boot, rng)
    mr = _median_ci(dr, lab, n_boot, rng)
    both = np.isfinite(dl) | np.isfinite(dr)
    first = (np.nan_to_num(dl, nan=np.inf) < np.nan_to_num(dr, nan=np.inf)).astype(np.float64)[both]
    fs, fs_lo, fs_hi = math.nan, math.nan, math.nan
    if both.sum() >= 20:
        fs = float(first.mean())
        _, inv = np.unique(lab[both], return_inverse=True)
        k = int(inv.max()) + 1
        num, den = np.bincount(inv, first, minlength=k), np.bincount(inv, minlength=k)
        idx = rng.integers(0, k, size=(n_boot, k))
        boots = num[idx].sum(1) / np.maximum(den[idx].sum(1), 1)
        fs_lo, fs_hi = (float(v) for v in np.quantile(boots, [0.025, 0.975]))
    head.update({"delay_median_s": ml[0], "delay_lo_s": ml[1], "delay_hi_s": ml[2], "delay_n": ml[3],
                 "opposite_delay_median_s": mr[0], "opposite_delay_lo_s": mr[1], "opposite_delay_hi_s": mr[2],
                 "forced_first_share": fs, "forced_first_lo": fs_lo, "forced_first_hi": fs_hi})
    dtab = pd.DataFrame([
        {"direction": "forced", "n": ml[3], "median_s": ml[0], "lo95_s": ml[1], "hi95_s": ml[2],
         "p90_s": float(np.nanquantile(dl, 0.9)) if np.isfinite(dl).any() else math.nan,
         "no_tick_in_60s_share": float(np.mean(~np.isfinite(dl)))},
        {"direction": "opposite", "n": mr[3], "median_s": mr[0], "lo95_s": mr[1], "hi95_s": mr[2],
         "p90_s": float(np.nanquantile(dr, 0.9)) if np.isfinite(dr).any() else math.nan,
         "no_tick_in_60s_share": float(np.mean(~np.isfinite(dr)))}])
    res.tables["tick_delay"] = dtab
    if ml[3] >= 20 and np.isfinite(fs):
        react = np.isfinite(fs_lo) and fs_lo > 0.5
        res.findings.append(
            f"Liquidation-to-price-tick delay (to the first trade beyond the last pre-liquidation price): median "
            f"{_sec(ml[0])} [95% {_sec(ml[1])}, {_sec(ml[2])}] in the forced direction over {ml[3]:,} liquidations, "
            f"against {_sec(mr[0])} [{_sec(mr[1])}, {_sec(mr[2])}] in the opposite one; the first such tick is in the "
            f"forced direction for {100 * fs:.1f} % [95% {100 * fs_lo:.1f}, {100 * fs_hi:.1f} %] of them (50 % = no "
            "reaction) — " + ("the price reacts to the liquidations." if react else
                             "no price reaction beyond chance."))
    else:
        res.findings.append("Liquidation-to-price-tick delay: n/a — fewer than 20 liquidations are followed by a "
                            "trade within 60 s.")
    res.headline = head

    def draw(path, prof=prof):
        from liqcore.backtest.report import new_figure
        from liqcore.research.studies._common import finish_figure

        fig, ax = new_figure(figsize=(7, 4))
        ax.errorbar(prof["lag_s"], prof["corr"], yerr=[(prof["corr"] - prof["lo95"]).fillna(0),
                                                      (prof["hi95"] - prof["corr"]).fillna(0)], fmt="o-", capsize=3)
        ax.axhline(0, color="k", lw=0.8)
        ax.axvspan(-WINDOW_S, 0, color="orange", alpha=0.15, label="price first (liquidations lag 0-5 s)")
        ax.set_xlabel("lag k (s): return of second t+k against liquidations of second t")
        ax.set_ylabel("Spearman correlation (95% interval)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return finish_figure(fig, path, dpi=90)

    res.plots.append(("liquidation_lag.png", draw))
    return res
