"""The ``heatmap`` study: liquidation density by price level; the densest levels of the
previous day as zones, and reversal vs break-out when the price next touches one, against
random levels."""
from __future__ import annotations

import math

import numpy as np

from liqcore._extras import need
from liqcore.research.studies._common import NS_MIN, NS_H, NS_DAY, StudyResult, unavailable, Panel, _fmt_p


BIN_LOG = 0.002  # price-level bins of 0.2 % (log price)


def study_heatmap(panel: Panel, zones: int = 3, window_h: int = 24, horizon_min: int = 60, seed: int = 0, **_):
    """Liquidation density by price level; zones = the densest levels of the previous day; the
    probabilities of reversal and of break-out when the price next touches a zone, against random
    levels of the same day's range."""
    pd = need("research", "pandas")

    title = "liquidation heatmap: zones, reversals and break-outs"
    if panel.n("t_liq") == 0:
        return unavailable("heatmap", title, "the input has no liquidations")
    if panel.n("t_trade") == 0:
        return unavailable("heatmap", title, "the input has no trades (no price path)")
    rng = np.random.default_rng(seed)
    touch_rows = []
    density = []
    for name in panel.names:
        d = panel.sym[name]
        if len(d["t_liq"]) == 0 or len(d["t_trade"]) == 0:
            continue
        lvl = np.floor(np.log(d["p_liq"]) / BIN_LOG).astype(np.int64)
        dens = pd.Series(d["n_liq"]).groupby(lvl).sum()
        top = dens.sort_values(ascending=False).head(5)
        for b, v in top.items():
            density.append({"symbol": name, "level_low": math.exp(b * BIN_LOG), "level_high": math.exp((b + 1) * BIN_LOG),
                            "notional": float(v), "share": float(v / dens.sum())})
        grid = panel.grid(name, NS_MIN)
        if len(grid) < 2 * 60 * window_h // 24:
            continue
        lp = np.log(panel.price_at(name, grid)) / BIN_LOG  # in bin units
        day0 = grid[0] // NS_DAY
        for day in range(int(day0) + 1, int(grid[-1] // NS_DAY) + 1):
            a_ns = day * NS_DAY
            prev = (d["t_liq"] >= a_ns - window_h * NS_H) & (d["t_liq"] < a_ns)
            if prev.sum() < 20:
                continue
            pl = lvl[prev]
            agg = pd.Series(d["n_liq"][prev]).groupby(pl).sum().sort_values(ascending=False)
            zone_bins = agg.index[:zones].to_numpy()
            seen = lp[(grid >= a_ns - window_h * NS_H) & (grid < a_ns)]
            seen = seen[np.isfinite(seen)]
            if len(seen) == 0:
                continue
            cand = np.arange(int(np.floor(seen.min())), int(np.floor(seen.max())) + 1)
            cand = np.setdiff1d(cand, zone_bins)
            rand_bins = rng.choice(cand, size=min(zones, len(cand)), replace=False) if len(cand) else np.zeros(0, int)
            sel = (grid >= a_ns) & (grid < a_ns + NS_DAY)
            path = lp[sel]
            for kind, bins in (("zone", zone_bins), ("random", rand_bins)):
                for b in bins.tolist():
                    for outcome, dwell in _touches(path, float(b), horizon_min):
                        touch_rows.append({"symbol": name, "kind": kind, "outcome": outcome, "dwell": dwell})
    dens_df = pd.DataFrame(density)
    tdf = pd.DataFrame(touch_rows, columns=["symbol", "kind", "outcome", "dwell"])
    if tdf.empty:
        return unavailable("heatmap", title, "no day had both a previous day of liquidations and a price path "
                                             "(needs at least two days of data)")
    rows = []
    for sym in ["ALL"] + sorted(tdf.symbol.unique()):
        g = tdf if sym == "ALL" else tdf[tdf.symbol == sym]
        row = {"symbol": sym}
        for kind in ("zone", "random"):
            k = g[g.kind == kind]
            dec = k[k.outcome != "none"]
            row[f"{kind}_touches"] = int(len(k))
            row[f"{kind}_p_reversal"] = float((k.outcome == "reversal").mean()) if len(k) else math.nan
            row[f"{kind}_p_breakout"] = float((k.outcome == "breakout").mean()) if len(k) else math.nan
            row[f"{kind}_reversal_accuracy"] = float((dec.outcome == "reversal").mean()) if len(dec) else math.nan
            row[f"{kind}_decided"] = int(len(dec))
            row[f"{kind}_dwell_min"] = float(k.dwell.mean()) if len(k) else math.nan  # minutes inside per touch
        row["p_value"] = _two_prop_p(g[(g.kind == "zone") & (g.outcome != "none")].outcome.eq("reversal"),
                                     g[(g.kind == "random") & (g.outcome != "none")].outcome.eq("reversal"))
        rows.append(row)
    table = pd.DataFrame(rows)
    allr = table.iloc[0]
    res = StudyResult("heatmap", title)
    res.tables = {"zones_vs_random": table, "densest_levels": dens_df}
    res.headline = {k: (float(v) if isinstance(v, (int, float, np.floating, np.integer)) else v)
                    for k, v in allr.items() if k != "symbol"}
    diff = allr["zone_reversal_accuracy"] - allr["random_reversal_accuracy"]
    res.headline["accuracy_difference"] = float(diff)
    sig = np.isfinite(allr["p_value"]) and allr["p_value"] < 0.01
    res.findings.append(
        f"Zones (the {zones} densest 0.2 % price levels of the previous {window_h} h): {allr['zone_touches']} touches, "
        f"reversal {allr['zone_p_reversal']:.0%}, break-out {allr['zone_p_breakout']:.0%} within {horizon_min} min; "
        f"random levels: {allr['random_touches']} touches, reversal {allr['random_p_reversal']:.0%}, "
        f"break-out {allr['random_p_breakout']:.0%}.")
    res.findings.append(
        f"Reversal accuracy among decided touches: zones {allr['zone_reversal_accuracy']:.1%} vs random "
        f"{allr['random_reversal_accuracy']:.1%} ({_fmt_p(allr['p_value'])}): "
        + ("zones differ from random levels." if sig else "no difference from random levels beyond chance."))
    res.plots.append(("heatmap.png", lambda p: _plot_heatmap(panel, p)))
    return res


def _touches(path: np.ndarray, b: float, horizon: int):
    """Touches of bin ``[b, b+1)`` (bin units) by a price path: (outcome, minutes inside) per entry
    from outside; reversal = back 2 bins beyond the approach edge first, break-out = 2 bins beyond
    the far edge first, within ``horizon`` steps."""
    out = []
    inside = (path >= b) & (path < b + 1)
    above = path >= b + 1
    n = len(path)
    i = 1
    while i < n:
        if inside[i] and not inside[i - 1] and np.isfinite(path[i - 1]):
            from_above = bool(above[i - 1])
            w = path[i + 1: i + 1 + horizon]
            if from_above:
                rev, brk = np.flatnonzero(w >= b + 3), np.flatnonzero(w < b - 2)
            else:
                rev, brk = np.flatnonzero(w < b - 2), np.flatnonzero(w >= b + 3)
            r0 = rev[0] if len(rev) else horizon + 1
            b0 = brk[0] if len(brk) else horizon + 1
            outcome = "none" if r0 == b0 else ("reversal" if r0 < b0 else "breakout")
            end = min(r0, b0, len(w))
            out.append((outcome, int(inside[i: i + 1 + end].sum())))
            i += end + 1
        else:
            i += 1
    return out


def _two_prop_p(a, b) -> float:
    norm = need("research", "scipy.stats").norm

    a = np.asarray(a, bool)
    b = np.asarray(b, bool)
    if len(a) < 5 or len(b) < 5:
        return math.nan
    p1, p2 = a.mean(), b.mean()
    p = (a.sum() + b.sum()) / (len(a) + len(b))
    se = math.sqrt(p * (1 - p) * (1 / len(a) + 1 / len(b)))
    return float(2 * (1 - norm.cdf(abs(p1 - p2) / se))) if se > 0 else math.nan


def _plot_heatmap(panel: Panel, path):
    from liqcore.backtest.report import new_figure
    from liqcore.research.studies._common import finish_figure

    name = panel.leader()
    d = panel.sym[name]
    fig, ax = new_figure(figsize=(9, 4.5), dpi=100)
    if len(d["t_liq"]):
        hours = (d["t_liq"] - d["t0"]) / NS_H
        h = ax.hist2d(hours, d["p_liq"], bins=[max(10, int(hours.max() // 6) + 1), 60], weights=d["n_liq"] / 1e6,
                      cmap="magma_r", cmin=1e-9)
        fig.colorbar(h[3], ax=ax, label="liquidated notional per bin (millions, quote currency)")
    step = max(1, len(d["t_trade"]) // 20000)
    ax.plot((d["t_trade"][::step] - d["t0"]) / NS_H, d["p_trade"][::step], color="tab:blue", lw=0.5, label="price")
    ax.set_xlabel("hours from the start")
    ax.set_ylabel("price (quote currency)")
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)
    ax.set_title(f"{name}: liquidation density by price level and time (6 h x 60 bins), price overlaid", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return finish_figure(fig, path)
