"""The ``ic`` study: Spearman IC of the named point-in-time features against forward returns
(per symbol and pooled, block-bootstrap intervals) and walk-forward ridge / gradient-boosting
baselines out of sample."""
from __future__ import annotations

import math

import numpy as np

from liqcore.research.studies._common import NS_MIN, NS_H, StudyResult, unavailable, Panel, _ranks, block_corr, _blocks


IC_HORIZONS = (("5m", 5 * NS_MIN), ("15m", 15 * NS_MIN), ("1h", NS_H), ("4h", 4 * NS_H))
IC_STEP_NS = 5 * NS_MIN  # the grid of decision times: every 5 minutes (epoch-aligned) per symbol
MODEL_STEP_NS = 15 * NS_MIN  # the walk-forward models train on every third grid time
#: the named features the ``ic`` study tests by default: the store's NAMED_FEATURES without the
#: levels (``price.last``, ``oi.open_interest``) and the base-unit taker volumes (a base-unit volume
#: is its notional divided by the price, so within a symbol it tracks the inverse price level): a
#: level of a random walk correlates with later returns over any finite sample with a dependence
#: that spans the whole sample, which no block bootstrap over hours can capture.  The taker volumes
#: enter in quote units instead; the cross-venue ``/all`` duplicates are left out, and the imbalance
#: over the plan's 15 m and 1 h windows is added.
IC_EXCLUDE = ("price.last@", "oi.open_interest@", "flow.taker_buy_volume@", "flow.taker_sell_volume@",
              "liquidations/all.")
IC_EXTRA = ("flow.taker_buy_notional@1m", "flow.taker_sell_notional@1m",
            "liquidations.liq_imbalance@15m", "liquidations.liq_imbalance@1h")


def ic_names() -> tuple:
    from liqcore.research.registry import NAMED_FEATURES

    base = [n for n in NAMED_FEATURES if not n.startswith(IC_EXCLUDE)]
    return tuple(dict.fromkeys(base + list(IC_EXTRA)))


def ic_family(name: str) -> str:
    fam = name.split(".", 1)[0].split("/", 1)[0]
    if fam in ("liquidations", "xasset"):
        return "liquidation"
    if fam in ("oi", "funding"):
        return "oi/funding"
    if fam in ("flow", "price"):
        return "flow/price"
    return "user"


def check_ic_names(names) -> list:
    """The feature names of the ``ic`` study (a list or a comma-separated string), each validated:
    an unknown family, name, transform or a malformed window is a ValueError naming the bad part."""
    from liqcore.research.registry import parse_name
    from liqcore.research.store import _names_list

    if names is None:
        return list(ic_names())
    out = list(dict.fromkeys(_names_list(names)))
    if not out:
        raise ValueError("names: give at least one feature name (see liqcore features --list)")
    for n in out:
        parse_name(n)
    return out


def ic_frame(panel: Panel, params=None, names=None, store=None):
    """The feature/target frame of the ``ic`` study: every 5 minutes (epoch-aligned, within the
    symbol's trades) per symbol, the named features as they stood at that time (the point-in-time
    feature store, built once) and the forward returns of the last trade price from that time to
    5 m, 15 m, 1 h and 4 h later (NaN when no trade is received in the horizon, or when the
    reference trade is more than an hour old)."""
    import pandas as pd

    from liqcore.research.store import FeatureStore

    names = check_ic_names(names)
    if store is None:
        store = FeatureStore(panel.events, panel.registry, params=params)
    from liqcore.research.store import OK, REASONS

    out = []
    why: dict = {n: {} for n in names}  # name -> {null reason: count}
    for name in panel.names:
        d = panel.sym[name]
        t = panel.grid(name, IC_STEP_NS)
        if len(t) == 0:
            continue
        f = {"symbol": np.full(len(t), name, dtype=object), "t": t}
        part = store.compute(t, names, [int(d["sid"])])[0]
        for n in names:
            f[n] = part["values"][n]
            codes, counts = np.unique(part["reasons"][n][part["reasons"][n] != OK], return_counts=True)
            for c, k in zip(codes.tolist(), counts.tolist()):
                why[n][REASONS[int(c)]] = why[n].get(REASONS[int(c)], 0) + int(k)
        tt, pp = d["t_trade"], d["p_trade"]
        i0 = np.searchsorted(tt, t, side="right") - 1
        ok0 = i0 >= 0
        p0 = np.where(ok0, pp[np.maximum(i0, 0)], np.nan)
        fresh = ok0 & (t - tt[np.maximum(i0, 0)] <= NS_H)  # a stale reference price (feed gap): no return
        for lab, h in IC_HORIZONS:
            i1 = np.searchsorted(tt, t + h, side="right") - 1
            ok = fresh & (i1 > i0) & (t + h <= tt[-1])  # a trade received in (t, t + h], inside the data
            f[f"fwd_{lab}"] = np.where(ok, pp[np.maximum(i1, 0)] / p0 - 1.0, np.nan)
        out.append(pd.DataFrame(f))
    fr = pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=["symbol", "t"] + names)
    fr.attrs["names"] = names
    fr.attrs["null_reasons"] = why
    return fr


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation over the finite pairs (NaN with fewer than 30 or a constant side)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 30:
        return math.nan
    x, y = x[ok], y[ok]
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def _within_symbol_ranks(x: np.ndarray, groups) -> np.ndarray:
    """Percentile ranks in (0, 1) within each symbol (``groups``: the row indices of each symbol;
    NaN stays NaN): pooling across symbols then compares each symbol with itself, not BTC-sized
    notionals with DOGE-sized ones."""
    from scipy.stats import rankdata

    out = np.full(len(x), np.nan)
    for g in groups:
        v = x[g]
        ok = np.isfinite(v)
        if ok.any():
            out[g[ok]] = (rankdata(v[ok]) - 0.5) / ok.sum()
    return out


def study_ic(panel: Panel, params=None, names=None, n_boot: int = 300, folds: int = 5, models: bool = True,
             store=None, **_):
    """Spearman IC of each named feature vs forward returns (per symbol and pooled, block-bootstrap
    CI), walk-forward fold ICs, and ridge / gradient-boosting baselines out of sample per fold."""
    import pandas as pd

    title = "named features vs forward returns (IC, walk-forward models)"
    names = check_ic_names(names)  # bad names: an error before any work
    if panel.n("t_trade") == 0:
        return unavailable("ic", title, "the input has no trades (no prices for forward returns)")
    if panel.n("t_liq") == 0:
        return unavailable("ic", title, "the input has no liquidations")
    fr = ic_frame(panel, params, names, store)
    if len(fr) < 50:
        return unavailable("ic", title, f"the input spans only {len(fr)} five-minute grid times (need at least 50)")
    sym = fr["symbol"].to_numpy()
    t_all = fr["t"].to_numpy(np.int64)
    feats = [c for c in names if np.isfinite(fr[c].to_numpy(np.float64)).sum() >= 30 and fr[c].nunique() > 1]
    dropped = [c for c in names if c not in feats]
    nr = fr.attrs.get("null_reasons", {})

    def main_reason(c):
        r = nr.get(c) or {}
        return f" ({max(r, key=r.get)})" if r else " (constant)"

    if not feats:
        return unavailable("ic", title, "no named feature has at least 30 non-null, non-constant values on this "
                           "input: " + ", ".join(c + main_reason(c) for c in names))
    rows = []
    symbols = sorted(set(sym))
    sel = {s: sym == s for s in symbols}
    groups = [np.flatnonzero(sel[s]) for s in symbols]
    X = {c: fr[c].to_numpy(np.float64) for c in feats}
    Xr = {c: _within_symbol_ranks(X[c], groups) for c in feats}
    for lab, h in IC_HORIZONS:
        y = fr[f"fwd_{lab}"].to_numpy(np.float64)
        if np.isfinite(y).sum() < 30:
            continue
        yr = _within_symbol_ranks(y, groups)
        block = _blocks(t_all, max(NS_H, 2 * h))
        for c in feats:  # Pearson correlation of within-symbol ranks = Spearman within a symbol
            ic, lo, hi, p, n = block_corr(Xr[c], yr, block, n_boot, spearman=False)
            rows.append({"feature": c, "family": ic_family(c), "horizon": lab, "symbol": "ALL", "n": n, "ic": ic,
                         "ci_low": lo, "ci_high": hi, "p": p})
            for s in symbols:
                m = sel[s]
                ic, lo, hi, p, n = block_corr(Xr[c][m], yr[m], block[m], n_boot, spearman=False)
                rows.append({"feature": c, "family": ic_family(c), "horizon": lab, "symbol": s, "n": n, "ic": ic,
                             "ci_low": lo, "ci_high": hi, "p": p})
    ic = pd.DataFrame(rows)
    if ic.empty:
        return unavailable("ic", title, "no horizon has enough observed forward returns (at least 30)")
    res = StudyResult("ic", title)
    # walk-forward: time folds over the pooled grid, purged expanding training window
    fold_rows = []
    edges = np.quantile(np.sort(t_all), np.linspace(0, 1, folds + 1))
    Xall = np.column_stack([X[c] for c in feats]) if feats else np.zeros((len(fr), 0))
    Rall = np.column_stack([Xr[c] for c in feats]) if feats else np.zeros((len(fr), 0))
    thin = (t_all % MODEL_STEP_NS) == 0  # models train on a 15-minute grid (neighbours overlap anyway)
    for lab, h in IC_HORIZONS:
        y = fr[f"fwd_{lab}"].to_numpy(np.float64)
        yr = _within_symbol_ranks(y, groups)
        for k in range(1, folds):
            test = (t_all >= edges[k]) & ((t_all < edges[k + 1]) if k + 1 < folds else (t_all <= edges[k + 1])) \
                & np.isfinite(y)
            train = (t_all + h < edges[k]) & np.isfinite(y)  # purged: no training target reaches the test fold
            if test.sum() < 20 or train.sum() < 50:
                continue
            for j, c in enumerate(feats):
                fic = _corr(Rall[test, j], yr[test])
                fold_rows.append({"horizon": lab, "fold": k, "model": f"feature:{c}", "n_train": int(train.sum()),
                                  "n_test": int(test.sum()), "oos_ic": fic, "oos_r2": math.nan})
            if models and feats:
                tr = train & thin
                for mname, pred in _fit_models(Xall[tr], y[tr], Xall[test]):
                    yt = y[test]
                    tot = float(((yt - yt.mean()) ** 2).sum())
                    r2 = 1.0 - float(((yt - pred) ** 2).sum()) / tot if tot > 0 else math.nan
                    oic = _corr(_ranks(pred), _ranks(yt))
                    fold_rows.append({"horizon": lab, "fold": k, "model": mname, "n_train": int(train.sum()),
                                      "n_test": int(test.sum()), "oos_ic": oic, "oos_r2": r2})
    folds_df = pd.DataFrame(fold_rows, columns=["horizon", "fold", "model", "n_train", "n_test", "oos_ic", "oos_r2"])
    pooled = ic[ic.symbol == "ALL"].copy()
    pooled["significant"] = (pooled["ci_low"] > 0) | (pooled["ci_high"] < 0)
    n_tests = int(np.isfinite(pooled["p"]).sum())
    pooled["significant_bonferroni"] = pooled["p"] < 0.05 / max(n_tests, 1)
    judged = pooled[np.isfinite(pooled["p"])]  # rows with an interval (enough pairs and blocks)
    liq = judged[judged.family == "liquidation"]
    oth = judged[judged.family == "oi/funding"]
    best = liq.loc[liq["ic"].abs().idxmax()] if len(liq) and liq["ic"].notna().any() else None
    model_summary = []
    if len(folds_df):
        for (lab, mname), g in folds_df[~folds_df.model.str.startswith("feature:")].groupby(["horizon", "model"]):
            model_summary.append({"horizon": lab, "model": mname, "folds": len(g), "mean_oos_ic": g.oos_ic.mean(),
                                  "mean_oos_r2": g.oos_r2.mean()})
    msum = pd.DataFrame(model_summary, columns=["horizon", "model", "folds", "mean_oos_ic", "mean_oos_r2"])
    n_sig = int(pooled["significant"].sum())
    n_bonf = int(pooled["significant_bonferroni"].sum())
    res.tables = {"pooled_ic": pooled.drop(columns=["symbol"]), "ic_by_symbol": ic[ic.symbol != "ALL"],
                  "models": msum, "folds": folds_df}
    res.headline = {
        "rows": int(len(fr)), "names": len(names), "features": len(feats), "features_without_values": dropped,
        "tests": n_tests, "significant": n_sig, "significant_bonferroni": n_bonf,
        "expected_false_positives": 0.05 * n_tests,
        "best_feature": None if best is None else best["feature"],
        "best_horizon": None if best is None else best["horizon"],
        "best_ic": math.nan if best is None else float(best["ic"]),
        "best_ci_low": math.nan if best is None else float(best["ci_low"]),
        "best_ci_high": math.nan if best is None else float(best["ci_high"]),
        "best_liq_abs_ic": float(liq["ic"].abs().max()) if len(liq) else math.nan,
        "best_oi_funding_abs_ic": float(oth["ic"].abs().max()) if len(oth) and oth["ic"].notna().any() else math.nan,
        "imbalance_ic_5m": _get_ic(pooled, "liquidations.liq_imbalance@5m", "5m"),
        "imbalance_ic_15m": _get_ic(pooled, "liquidations.liq_imbalance@15m", "15m"),
        "ridge_mean_oos_ic": float(msum[msum.model == "ridge"].mean_oos_ic.mean()) if len(msum) else math.nan,
        "gbm_mean_oos_ic": float(msum[msum.model == "gbm"].mean_oos_ic.mean()) if len(msum) else math.nan,
    }
    h = res.headline
    res.findings.append(
        f"{n_tests} pooled feature x horizon ICs ({len(feats)} named features, {h['rows']:,} symbol x 5-minute "
        f"times): {n_sig} have a 95% block-bootstrap CI excluding 0 (about {h['expected_false_positives']:.1f} "
        f"expected by chance); {n_bonf} pass a Bonferroni correction (p < 0.05 / {n_tests})"
        + (": no IC beyond chance." if n_bonf == 0 else "."))
    if n_bonf:
        top = pooled[pooled.significant_bonferroni].sort_values("p").head(5)
        res.findings.append("Significant after correction: " + "; ".join(
            f"{r.feature} at {r.horizon} IC {r.ic:+.3f}" for r in top.itertuples()) + ".")
    if best is not None:
        sig = (h["best_ci_low"] > 0) or (h["best_ci_high"] < 0)
        res.findings.append(
            f"Strongest liquidation feature: {h['best_feature']} at {h['best_horizon']}, IC {h['best_ic']:+.3f} "
            f"(CI [{h['best_ci_low']:+.3f}, {h['best_ci_high']:+.3f}])" + ("" if sig else ": not significant") + ".")
    if dropped:
        res.findings.append("Not tested (fewer than 30 non-null values, or constant, on this input): "
                            + ", ".join(c + main_reason(c) for c in dropped) + ".")
    if len(msum):
        res.findings.append(
            f"Walk-forward ({folds} time folds, purged, expanding train): mean out-of-sample IC ridge "
            f"{h['ridge_mean_oos_ic']:+.3f}, gradient boosting {h['gbm_mean_oos_ic']:+.3f}.")
    res.plots.append(("ic_by_horizon.png", lambda p: _plot_ic(pooled, p)))
    return res


def _get_ic(pooled, feat, hor):
    r = pooled[(pooled.feature == feat) & (pooled.horizon == hor)]
    return float(r["ic"].iloc[0]) if len(r) else math.nan


def _fit_models(X, y, Xt):
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge

    keep = np.array([len(np.unique(c[np.isfinite(c)])) >= 2 for c in X.T], bool)  # informative columns only
    if not keep.any():
        yield "ridge", np.full(len(Xt), float(np.mean(y)))
        yield "gbm", np.full(len(Xt), float(np.mean(y)))
        return
    X, Xt = X[:, keep], Xt[:, keep]
    mu = np.nanmean(X, axis=0)
    sd = np.nanstd(X, axis=0)
    sd[~(sd > 0)] = 1.0
    mu[~np.isfinite(mu)] = 0.0
    Z = np.nan_to_num((X - mu) / sd)
    Zt = np.nan_to_num((Xt - mu) / sd)
    from threadpoolctl import threadpool_limits

    ridge = Ridge(alpha=10.0).fit(Z, y)
    yield "ridge", ridge.predict(Zt)
    with threadpool_limits(1):  # small fits: threads only add contention
        gbm = HistGradientBoostingRegressor(max_iter=50, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=100,
                                            l2_regularization=1.0, early_stopping=False, random_state=0).fit(X, y)
        pred = gbm.predict(Xt)
    yield "gbm", pred


def _plot_ic(pooled, path):
    import matplotlib.pyplot as plt

    hs = [h for h, _ in IC_HORIZONS if h in set(pooled.horizon)]
    feats = list(dict.fromkeys(pooled.feature))
    fig, ax = plt.subplots(figsize=(max(9, 0.25 * len(feats)), 5.5), dpi=100)
    w = 0.8 / max(1, len(hs))
    x = np.arange(len(feats))
    for i, h in enumerate(hs):
        g = pooled[pooled.horizon == h].set_index("feature").reindex(feats)
        ax.bar(x + i * w, g["ic"], width=w, label=h,
               yerr=[g["ic"] - g["ci_low"], g["ci_high"] - g["ic"]], capsize=1.5, error_kw={"lw": 0.6})
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x + w * (len(hs) - 1) / 2, feats, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("Spearman IC (pooled), 95% block-bootstrap CI")
    ax.set_title("IC of each feature vs forward return, by horizon", fontsize=9)
    ax.legend(fontsize=7, title="horizon", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
