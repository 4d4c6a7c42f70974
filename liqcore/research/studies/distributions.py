"""The ``distributions`` study: the research plan's liquidation statistics.  Per symbol: count,
notional and the buy/sell split (long positions liquidated, i.e. forced sells, Bybit side "Buy",
against short positions liquidated), the liquidation-size histogram (log-spaced notional bins) and
its quantiles, and the duration (first to last liquidation) and size (notional, liquidations) of the
detector's cascades.

Intervals: the long share and the size quantiles with a block bootstrap over hours (liquidations
cluster: a cascade is one side, so liquidation-level tests would be far too confident); the cascade
quantiles with a bootstrap over cascades (the units are the cascades)."""
from __future__ import annotations

import math

import numpy as np

from liqcore._extras import need
from liqcore.research.studies._common import NS_H, NS_S, Panel, StudyResult, _fmt_p, unavailable
from liqcore.types import Side

#: quantiles reported for sizes and durations
QUANTILES = (0.5, 0.9, 0.95, 0.99)


def _boot_idx(labels: np.ndarray, n_boot: int, rng):
    """Yield index arrays of ``n_boot`` block-bootstrap resamples (whole label groups)."""
    _, inv = np.unique(labels, return_inverse=True)
    k = int(inv.max()) + 1 if len(inv) else 0
    order = np.argsort(inv, kind="stable")
    starts = np.searchsorted(inv[order], np.arange(k + 1))
    for _ in range(n_boot):
        pick = rng.integers(0, k, k)
        yield np.concatenate([order[starts[j]:starts[j + 1]] for j in pick]) if k else order


def _share_ci(num: np.ndarray, den: np.ndarray, labels: np.ndarray, n_boot: int, rng):
    """sum(num) / sum(den) with a 95 % block-bootstrap interval over ``labels``; and the two-sided
    bootstrap p-value of the share differing from 1/2 (NaN below 3 blocks)."""
    tot = float(den.sum())
    s = float(num.sum()) / tot if tot > 0 else math.nan
    _, inv = np.unique(labels, return_inverse=True)
    k = int(inv.max()) + 1 if len(inv) else 0
    if k < 3 or not math.isfinite(s):
        return s, math.nan, math.nan, math.nan
    bn = np.bincount(inv, num, minlength=k)
    bd = np.bincount(inv, den, minlength=k)
    idx = rng.integers(0, k, size=(n_boot, k))
    with np.errstate(invalid="ignore", divide="ignore"):
        boots = bn[idx].sum(1) / bd[idx].sum(1)
    boots = boots[np.isfinite(boots)]
    lo, hi = np.quantile(boots, [0.025, 0.975])
    se = float(boots.std())
    norm = need("research", "scipy.stats").norm

    p = float(2 * norm.sf(abs(s - 0.5) / se)) if se > 0 else (0.0 if s != 0.5 else 1.0)
    return s, float(lo), float(hi), p


def _quantiles_ci(x: np.ndarray, labels, n_boot: int, rng, qs=QUANTILES):
    """Quantiles of ``x`` with 95 % bootstrap intervals (resampling whole ``labels`` groups, or single
    values when ``labels`` is None): {q: (value, lo, hi)}."""
    out = {q: (float(np.quantile(x, q)), math.nan, math.nan) for q in qs}
    if len(x) < 20:
        return out
    if labels is None:
        idx = rng.integers(0, len(x), size=(n_boot, len(x)))
        boots = np.quantile(x[idx], qs, axis=1).T
    else:
        boots = np.array([np.quantile(x[i], qs) for i in _boot_idx(labels, n_boot, rng)])
    for j, q in enumerate(qs):
        lo, hi = np.quantile(boots[:, j], [0.025, 0.975])
        out[q] = (out[q][0], float(lo), float(hi))
    return out


def _money(x) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:,.0f} quote" if abs(x) >= 100 else f"{x:,.2f} quote"


def _pct(x) -> str:
    return f"{100 * x:.1f} %" if x is not None and np.isfinite(x) else "n/a"


def study_distributions(panel: Panel, params=None, n_boot: int = 300, seed: int = 0, records=None, **_):
    """Liquidation statistics: buy/sell split, size histogram and quantiles, cascade duration and size
    distributions.  ``records``: the detector's records (CASCADE_DTYPE) if already computed."""
    pd = need("research", "pandas")

    from liqcore.types import RecordKind

    title = "liquidation statistics (buy/sell split, size histogram, cascade durations and sizes)"
    if panel.n("t_liq") == 0:
        return unavailable("distributions", title, "the input has no liquidations")
    rng = np.random.default_rng(seed)
    res = StudyResult("distributions", title)
    span_days = (max(panel.sym[s]["t1"] for s in panel.names) - min(panel.sym[s]["t0"] for s in panel.names)) / (
        24 * NS_H)
    rows, all_n, all_long, all_lab, all_notional = [], [], [], [], []
    for name in panel.names:
        d = panel.sym[name]
        if len(d["t_liq"]) == 0:
            continue
        n = np.asarray(d["n_liq"], np.float64)
        lg = (d["side_liq"] == Side.LONG).astype(np.float64)
        sided = ((d["side_liq"] == Side.LONG) | (d["side_liq"] == Side.SHORT)).astype(np.float64)
        lab = d["te_liq"] // NS_H
        sc, sc_lo, sc_hi, sc_p = _share_ci(lg, sided, lab, n_boot, rng)
        sn, sn_lo, sn_hi, sn_p = _share_ci(lg * n, sided * n, lab, n_boot, rng)
        q = _quantiles_ci(n, lab, n_boot, rng, (0.5,))
        rows.append({"symbol": name, "n": len(n), "per_day": len(n) / max(span_days, 1e-9),
                     "total_notional": float(n.sum()), "long_n": int(lg.sum()),
                     "short_n": int(((d["side_liq"] == Side.SHORT)).sum()),
                     "long_count_share": sc, "long_count_share_lo": sc_lo, "long_count_share_hi": sc_hi,
                     "long_count_p": sc_p, "long_notional_share": sn, "long_notional_share_lo": sn_lo,
                     "long_notional_share_hi": sn_hi, "long_notional_p": sn_p,
                     "median_notional": q[0.5][0], "median_notional_lo": q[0.5][1], "median_notional_hi": q[0.5][2],
                     "mean_notional": float(n.mean()), "max_notional": float(n.max())})
        all_n.append(n)
        all_long.append(lg)
        all_lab.append(lab * 1000 + d["sid"])  # hour x symbol blocks
        all_notional.append(sided)
    n = np.concatenate(all_n)
    lg = np.concatenate(all_long)
    sided = np.concatenate(all_notional)
    lab = np.concatenate(all_lab) // 1000  # pooled: whole hours across symbols (one market shock = one block)
    sc, sc_lo, sc_hi, sc_p = _share_ci(lg, sided, lab, n_boot, rng)
    sn, sn_lo, sn_hi, sn_p = _share_ci(lg * n, sided * n, lab, n_boot, rng)
    side_tab = pd.DataFrame(rows)
    res.tables["buy_sell"] = side_tab
    head = {"liquidations": int(len(n)), "long_count_share": sc, "long_count_share_lo": sc_lo,
            "long_count_share_hi": sc_hi, "long_count_p": sc_p, "long_notional_share": sn,
            "long_notional_share_lo": sn_lo, "long_notional_share_hi": sn_hi, "long_notional_p": sn_p}
    res.findings.append(
        f"Buy/sell split over {len(n):,} liquidations in {span_days:.1f} days, all symbols: long positions "
        f"liquidated (forced sells) are {_pct(sc)} of the count [95% {_pct(sc_lo)}, {_pct(sc_hi)}] "
        f"and {_pct(sn)} of the notional [{_pct(sn_lo)}, {_pct(sn_hi)}] (hour-block bootstrap; against 50 %: "
        f"{_fmt_p(sc_p)} for the count, {_fmt_p(sn_p)} for the notional); per symbol in table buy_sell.")
    # size histogram: log-spaced notional bins, by side
    lo_e = math.floor(math.log10(max(float(n.min()), 1e-9)) * 4) / 4
    hi_e = math.ceil(math.log10(float(n.max())) * 4) / 4 + 1e-9
    edges = 10.0 ** np.arange(lo_e, hi_e + 0.25, 0.25)
    h_all = np.histogram(n, edges)[0]
    h_long = np.histogram(n[lg > 0], edges)[0]
    h_short = np.histogram(n[(sided > 0) & (lg == 0)], edges)[0]
    hist = pd.DataFrame({"bin_low_notional": edges[:-1], "bin_high_notional": edges[1:], "count": h_all,
                         "long_count": h_long, "short_count": h_short, "count_share": h_all / max(len(n), 1)})
    hist = hist[(hist["count"].cumsum() > 0) & (hist["count"][::-1].cumsum()[::-1] > 0)].reset_index(drop=True)
    res.tables["size_histogram"] = hist
    qs = _quantiles_ci(n, lab, n_boot, rng)
    qtab = pd.DataFrame([{"what": "liquidation notional (quote)", "quantile": q, "value": v, "lo95": lo, "hi95": hi}
                         for q, (v, lo, hi) in qs.items()])
    for q, (v, lo, hi) in qs.items():
        head[f"size_q{int(q * 100)}"] = v
    head["size_q50_lo"], head["size_q50_hi"] = qs[0.5][1], qs[0.5][2]
    res.findings.append(
        f"Liquidation size (notional, all symbols): median {_money(qs[0.5][0])} [95% {_money(qs[0.5][1])}, "
        f"{_money(qs[0.5][2])}], P90 {_money(qs[0.9][0])}, P95 {_money(qs[0.95][0])}, P99 {_money(qs[0.99][0])}, "
        f"largest {_money(float(n.max()))}; histogram in quarter-decade bins in table size_histogram.")
    # cascades: the detector's ENDED records carry the final first/last liquidation and totals
    if records is None:
        from liqcore.config import Params
        from liqcore.execution.detect import detect

        records, _ = detect(panel.events, params or Params())
    rec = np.asarray(records)
    rec = rec[rec["record"] == int(RecordKind.ENDED)]
    if len(rec):
        dur = (rec["end_ns"] - rec["start_ns"]).astype(np.float64) / NS_S
        notional = (rec["long_notional"] + rec["short_notional"]).astype(np.float64)
        cnt = rec["n_events"].astype(np.float64)
        ctab = []
        for what, x in (("cascade duration (s)", dur), ("cascade notional (quote)", notional),
                        ("cascade liquidations (count)", cnt)):
            qq = _quantiles_ci(x, None, n_boot, rng)
            ctab += [{"what": what, "quantile": q, "value": v, "lo95": lo, "hi95": hi} for q, (v, lo, hi) in qq.items()]
            key = what.split()[1]
            head[f"cascade_{key}_q50"], head[f"cascade_{key}_q50_lo"], head[f"cascade_{key}_q50_hi"] = qq[0.5]
            head[f"cascade_{key}_q90"] = qq[0.9][0]
        qtab = pd.concat([qtab, pd.DataFrame(ctab)], ignore_index=True)
        head["cascades"] = int(len(rec))
        res.findings.append(
            f"Cascade duration (first to last liquidation, {len(rec):,} ended detector cascades): median "
            f"{head['cascade_duration_q50']:.1f} s [95% {head['cascade_duration_q50_lo']:.1f}, "
            f"{head['cascade_duration_q50_hi']:.1f}], P90 {head['cascade_duration_q90']:.1f} s.")
        res.findings.append(
            f"Cascade size: median {_money(head['cascade_notional_q50'])} [95% {_money(head['cascade_notional_q50_lo'])}, "
            f"{_money(head['cascade_notional_q50_hi'])}], P90 {_money(head['cascade_notional_q90'])}; median "
            f"{head['cascade_liquidations_q50']:.0f} liquidations per cascade (P90 {head['cascade_liquidations_q90']:.0f}).")
        ctable = pd.DataFrame({"duration_s": dur, "notional": notional, "n_events": rec["n_events"],
                               "symbol_id": rec["symbol_id"]})
    else:
        head["cascades"] = 0
        ctable = None
        res.findings.append("Cascade duration and size: n/a — the detector ended no cascade in the input.")
    res.tables["quantiles"] = qtab
    res.headline = head

    def draw(path, hist=hist, ctable=ctable, side_tab=side_tab):
        from liqcore.backtest.report import new_figure
        from liqcore.research.studies._common import finish_figure

        ncol = 3 if ctable is not None else 2
        fig, ax = new_figure(1, ncol, figsize=(5 * ncol, 4))
        x = np.sqrt(hist["bin_low_notional"] * hist["bin_high_notional"])
        w = hist["bin_high_notional"] - hist["bin_low_notional"]
        ax[0].bar(hist["bin_low_notional"], hist["long_count"], width=w, align="edge", label="longs liquidated")
        ax[0].bar(hist["bin_low_notional"], hist["short_count"], width=w, align="edge", bottom=hist["long_count"],
                  label="shorts liquidated")
        ax[0].set_xscale("log")
        ax[0].set_xlabel("liquidation notional (quote, log scale)")
        ax[0].set_ylabel("liquidations (count)")
        ax[0].legend(fontsize=8)
        ax[0].set_title("liquidation-size histogram")
        del x
        ax[1].bar(side_tab["symbol"], side_tab["long_count_share"] * 100,
                  yerr=[(side_tab["long_count_share"] - side_tab["long_count_share_lo"]).fillna(0) * 100,
                        (side_tab["long_count_share_hi"] - side_tab["long_count_share"]).fillna(0) * 100])
        ax[1].axhline(50, color="k", lw=0.8)
        ax[1].set_ylabel("longs liquidated (% of count, 95% interval)")
        ax[1].set_title("buy/sell split")
        if ctable is not None:
            ax[2].hist(ctable["duration_s"], bins=30)
            ax[2].set_xlabel("cascade duration (s)")
            ax[2].set_ylabel("cascades (count)")
            ax[2].set_title("cascade durations")
        fig.tight_layout()
        return finish_figure(fig, path, dpi=90)

    res.plots.append(("distributions.png", draw))
    return res
