"""The ``ic`` study: Spearman IC of the named point-in-time features against forward returns
(per symbol and pooled, block-bootstrap intervals), the same IC within the quiet and the volatile
regime, and walk-forward ridge / gradient-boosting baselines out of sample with the gradient
boosting's permutation feature importance."""
from __future__ import annotations

import math

import numpy as np

from liqcore._extras import need
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
    from liqcore.features.registry import NAMED_FEATURES

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
    from liqcore.features.registry import parse_name
    from liqcore.features.store import names_list

    if names is None:
        return list(ic_names())
    out = list(dict.fromkeys(names_list(names)))
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
    pd = need("research", "pandas")

    from liqcore.features.store import FeatureStore

    names = check_ic_names(names)
    if store is None:
        store = FeatureStore(panel.events, panel.registry, params=params)
    from liqcore.features.store import OK, REASONS

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
    if len(fr):
        fr["regime"] = _regimes(panel, fr)
    return fr


def _regimes(panel: Panel, fr) -> np.ndarray:
    """Per row: "quiet" / "volatile" (realized volatility of the hour before ``t``, from one-minute
    returns of the last trade price, below / at or above the symbol's median over the input), or
    "?" when the hour has fewer than 30 minutes with a price."""
    out = np.full(len(fr), "?", dtype=object)
    for name, g in fr.groupby("symbol"):
        if name not in panel.sym:
            continue
        grid = panel.grid(name, NS_MIN)
        if len(grid) < 61:
            continue
        lp = np.log(panel.price_at(name, grid))
        r = np.diff(lp, prepend=np.nan)
        ok = np.isfinite(r)
        cs = np.concatenate([[0.0], np.cumsum(np.where(ok, r * r, 0.0))])
        cn = np.concatenate([[0], np.cumsum(ok)])
        k = np.searchsorted(grid, g["t"].to_numpy(np.int64), side="right")  # minutes closed at or before t
        a = np.maximum(k - 60, 0)
        rv = np.sqrt(cs[k] - cs[a])
        enough = (cn[k] - cn[a]) >= 30
        med = np.median(rv[enough]) if enough.any() else np.nan
        lab = np.where(rv >= med, "volatile", "quiet").astype(object)
        lab[~enough] = "?"
        out[g.index.to_numpy()] = lab
    return out


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
    out = np.full(len(x), np.nan)
    for g in groups:
        v = x[g]
        ok = np.isfinite(v)
        if ok.any():
            out[g[ok]] = (_ranks(v[ok]) - 0.5) / ok.sum()
    return out


def _pair_ranks(x: np.ndarray, y: np.ndarray, groups, keep=None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_within_symbol_ranks` of ``x`` and of ``y`` taken on the rows where both are finite (and ``keep``):
    their Pearson correlation within a symbol is then Spearman's on the observed pairs (ranks taken over rows whose
    partner is missing are not)."""
    ok = np.isfinite(x) & np.isfinite(y)
    if keep is not None:
        ok &= keep
    return (_within_symbol_ranks(np.where(ok, x, np.nan), groups),
            _within_symbol_ranks(np.where(ok, y, np.nan), groups))


def study_ic(panel: Panel, params=None, names=None, n_boot: int = 300, folds: int = 5, models: bool = True,
             store=None, **_):
    """Spearman IC of each named feature vs forward returns (per symbol and pooled, block-bootstrap
    CI), walk-forward fold ICs, and ridge / gradient-boosting baselines out of sample per fold."""
    pd = need("research", "pandas")

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
    for lab, h in IC_HORIZONS:
        y = fr[f"fwd_{lab}"].to_numpy(np.float64)
        if np.isfinite(y).sum() < 30:
            continue
        block = _blocks(t_all, max(NS_H, 2 * h))
        for c in feats:  # Pearson correlation of within-symbol ranks of the pairs = Spearman within a symbol
            xr, yr = _pair_ranks(X[c], y, groups)
            ic, lo, hi, p, n = block_corr(xr, yr, block, n_boot, spearman=False)
            rows.append({"feature": c, "family": ic_family(c), "horizon": lab, "symbol": "ALL", "n": n, "ic": ic,
                         "ci_low": lo, "ci_high": hi, "p": p})
            for s in symbols:
                m = sel[s]
                ic, lo, hi, p, n = block_corr(xr[m], yr[m], block[m], n_boot, spearman=False)
                rows.append({"feature": c, "family": ic_family(c), "horizon": lab, "symbol": s, "n": n, "ic": ic,
                             "ci_low": lo, "ci_high": hi, "p": p})
    ic = pd.DataFrame(rows)
    if ic.empty:
        return unavailable("ic", title, "no horizon has enough observed forward returns (at least 30)")
    res = StudyResult("ic", title)
    regime_tab = _regime_ic(fr, feats, X, sym, symbols, t_all, n_boot)
    # walk-forward: time folds over the pooled grid, purged expanding training window
    fold_rows = []
    imp_rows: list = []
    edges = np.quantile(np.sort(t_all), np.linspace(0, 1, folds + 1))
    Xall = np.column_stack([X[c] for c in feats]) if feats else np.zeros((len(fr), 0))
    thin = (t_all % MODEL_STEP_NS) == 0  # models train on a 15-minute grid (neighbours overlap anyway)
    for lab, h in IC_HORIZONS:
        y = fr[f"fwd_{lab}"].to_numpy(np.float64)
        for k in range(1, folds):
            test = (t_all >= edges[k]) & ((t_all < edges[k + 1]) if k + 1 < folds else (t_all <= edges[k + 1])) \
                & np.isfinite(y)
            train = (t_all + h < edges[k]) & np.isfinite(y)  # purged: no training target reaches the test fold
            if test.sum() < 20 or train.sum() < 50:
                continue
            for j, c in enumerate(feats):
                xr, yr = _pair_ranks(X[c], y, groups, test)  # (Spearman within the fold's pairs)
                fic = _corr(xr, yr)
                fold_rows.append({"horizon": lab, "fold": k, "model": f"feature:{c}", "n_train": int(train.sum()),
                                  "n_test": int(test.sum()), "oos_ic": fic, "oos_r2": math.nan})
            if models and feats:
                tr = train & thin
                fitted: dict = {}
                for mname, pred in _fit_models(Xall[tr], y[tr], Xall[test], fitted):
                    yt = y[test]
                    tot = float(((yt - yt.mean()) ** 2).sum())
                    r2 = 1.0 - float(((yt - pred) ** 2).sum()) / tot if tot > 0 else math.nan
                    oic = _corr(_ranks(pred), _ranks(yt))
                    fold_rows.append({"horizon": lab, "fold": k, "model": mname, "n_train": int(train.sum()),
                                      "n_test": int(test.sum()), "oos_ic": oic, "oos_r2": r2})
                if "gbm" in fitted:
                    imp_rows += _permutation_importance(fitted, Xall[test], y[test], feats, lab, k)
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
    if regime_tab is not None and len(regime_tab):
        res.tables["regime_ic"] = regime_tab
    imp = _importance_summary(imp_rows)
    if len(imp):
        res.tables["gbm_importance"] = imp
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
    _regime_findings(res, regime_tab)
    _importance_findings(res, imp, folds)
    res.plots.append(("ic_by_horizon.png", lambda p: _plot_ic(pooled, p)))
    return res


def _regime_ic(fr, feats, X, sym, symbols, t_all, n_boot):
    """Pooled IC (ranks within symbol and regime) of each feature within each regime, and the
    volatile-minus-quiet difference with a normal interval from the two block-bootstrap ones."""
    pd = need("research", "pandas")
    norm = need("research", "scipy.stats").norm

    if "regime" not in fr:
        return None
    reg = fr["regime"].to_numpy()
    rows = []
    for lab, h in IC_HORIZONS:
        y = fr[f"fwd_{lab}"].to_numpy(np.float64)
        block = _blocks(t_all, max(NS_H, 2 * h))
        got = {}
        for rg in ("quiet", "volatile"):
            m = reg == rg
            groups = [np.flatnonzero(m & (sym == s_)) for s_ in symbols]
            for c in feats:
                xr, yr = _pair_ranks(X[c], y, groups, m)
                got[(c, rg)] = block_corr(xr, yr, block, n_boot, spearman=False)
        for c in feats:
            q, v = got[(c, "quiet")], got[(c, "volatile")]
            se_q = (q[2] - q[1]) / (2 * 1.96) if np.isfinite(q[1]) else np.nan
            se_v = (v[2] - v[1]) / (2 * 1.96) if np.isfinite(v[1]) else np.nan
            d = v[0] - q[0]
            se = math.sqrt(se_q ** 2 + se_v ** 2) if np.isfinite(se_q) and np.isfinite(se_v) else np.nan
            p = float(2 * norm.sf(abs(d) / se)) if np.isfinite(se) and se > 0 else np.nan
            rows.append({"feature": c, "family": ic_family(c), "horizon": lab, "n_quiet": q[4], "ic_quiet": q[0],
                         "quiet_ci_low": q[1], "quiet_ci_high": q[2], "n_volatile": v[4], "ic_volatile": v[0],
                         "volatile_ci_low": v[1], "volatile_ci_high": v[2], "ic_diff": d,
                         "diff_ci_low": d - 1.96 * se if np.isfinite(se) else np.nan,
                         "diff_ci_high": d + 1.96 * se if np.isfinite(se) else np.nan, "diff_p": p})
    return pd.DataFrame(rows)


def _regime_findings(res, tab):
    if tab is None or not len(tab):
        res.findings.append("Regime-dependent IC: n/a — no grid time has an hour of prices before it.")
        return
    ok = tab[np.isfinite(tab["diff_p"])]
    n = len(ok)
    bonf = ok[ok["diff_p"] < 0.05 / max(n, 1)]
    res.headline["regime_tests"] = n
    res.headline["regime_differences_bonferroni"] = int(len(bonf))
    liq = tab[(tab.family == "liquidation") & np.isfinite(tab["ic_volatile"])]
    line = (f"Regime-dependent IC (quiet / volatile: realized volatility of the hour before below / above the "
            f"symbol's median): {n} feature x horizon differences tested, {len(bonf)} significant after a "
            f"Bonferroni correction (p < 0.05 / {n})")
    if len(liq):
        b = liq.loc[liq["ic_volatile"].abs().idxmax()]
        res.headline.update({"regime_best_feature": b.feature, "regime_best_horizon": b.horizon,
                             "regime_best_ic_volatile": float(b.ic_volatile), "regime_best_ic_quiet": float(b.ic_quiet)})
        line += (f"; strongest liquidation feature in the volatile regime: {b.feature} at {b.horizon}, IC "
                 f"{b.ic_volatile:+.3f} [{b.volatile_ci_low:+.3f}, {b.volatile_ci_high:+.3f}] against "
                 f"{b.ic_quiet:+.3f} [{b.quiet_ci_low:+.3f}, {b.quiet_ci_high:+.3f}] when quiet")
    res.findings.append(line + ".")
    if len(bonf):
        top = bonf.sort_values("diff_p").head(3)
        res.findings.append("Regime differences after correction: " + "; ".join(
            f"{r.feature} at {r.horizon}: volatile {r.ic_volatile:+.3f}, quiet {r.ic_quiet:+.3f}"
            for r in top.itertuples()) + ".")


def _permutation_importance(fitted, Xt, yt, feats, lab, fold, repeats: int = 3, seed: int = 0):
    """Per feature: the fall of the gradient boosting's out-of-sample IC (Spearman of prediction and
    return on the test fold) when that feature's column is shuffled (mean of ``repeats``)."""
    gbm, keep = fitted["gbm"], fitted["keep"]
    ok = np.isfinite(yt)
    Xt, yt = Xt[ok][:, keep], yt[ok]
    if len(yt) < 30:
        return []
    names = [f for f, k in zip(feats, keep) if k]
    ry = _ranks(yt)
    base = _corr(_ranks(gbm.predict(Xt)), ry)
    rng = np.random.default_rng(seed + fold)
    n = len(yt)
    # every shuffled copy, in order: feature j's column replaced by a permutation of itself, ``repeats`` times
    blocks = [(j, Xt[rng.permutation(n), j]) for j in range(len(names)) for _r in range(repeats)]
    pred = permuted_predictions(gbm, Xt, blocks)
    rows = []
    for j, c in enumerate(names):
        drops = []
        for r_ in range(repeats):
            a = (j * repeats + r_) * n
            drops.append(base - _corr(_ranks(pred[a:a + n]), ry))
        drops = np.asarray(drops, np.float64)
        drops = drops[np.isfinite(drops)]  # a constant prediction has no IC: no number from it
        rows.append({"horizon": lab, "fold": fold, "feature": c,
                     "importance": float(drops.mean()) if len(drops) else math.nan})
    return rows


def permuted_predictions(gbm, X, blocks) -> np.ndarray:
    """The fitted gradient boosting's predictions of each copy of ``X`` whose column ``j`` is ``col``
    (``blocks``: ``[(j, col)]``), one copy after the other: exactly ``gbm.predict`` of the copies stacked.

    A prediction is the baseline plus each tree's value, added tree by tree; a tree that never splits on
    column ``j`` gives every row of a copy the value it gives the row of ``X``.  So each tree's values on
    ``X`` are computed once, and on a copy only the trees that split on ``j`` are evaluated again, the
    values added in the trees' order as scikit-learn adds them (the same sums, bit for bit).  Where this
    scikit-learn's fitted model is not laid out as read here, the stacked copies are given to
    ``gbm.predict`` instead."""
    from threadpoolctl import threadpool_limits

    n = len(X)
    try:
        Xp = gbm._preprocess_X(X, reset=False)
        cats, fmap = gbm._bin_mapper.make_known_categories_bitsets()
        trees = [it[0] for it in gbm._predictors]
        base = gbm._baseline_prediction
        inverse = gbm._loss.link.inverse
        uses = [set(t.nodes["feature_idx"][~t.nodes["is_leaf"].astype(bool)].tolist()) for t in trees]
        fast = gbm.n_trees_per_iteration_ == 1 and Xp.shape == X.shape
    except (AttributeError, TypeError, ValueError, KeyError):
        fast = False
    if not fast:
        stack = np.tile(X, (len(blocks), 1))
        for b, (j, col) in enumerate(blocks):
            stack[b * n:(b + 1) * n, j] = col
        with threadpool_limits(1):
            return gbm.predict(stack)
    out = np.empty(len(blocks) * n, np.float64)
    with threadpool_limits(1):
        vals = [t.predict(Xp, cats, fmap, 1) for t in trees]
        for b, (j, col) in enumerate(blocks):
            Xj = Xp.copy()
            Xj[:, j] = col
            raw = np.zeros((n, 1), dtype=base.dtype, order="F")
            raw += base
            for t, tree in enumerate(trees):
                raw[:, 0] += tree.predict(Xj, cats, fmap, 1) if j in uses[t] else vals[t]
            out[b * n:(b + 1) * n] = inverse(raw.ravel())
    return out


def _importance_summary(rows):
    """Mean permutation importance per horizon and feature over the folds, with a t interval over the
    folds (a fold is one stretch of time)."""
    pd = need("research", "pandas")
    student_t = need("research", "scipy.stats").t

    cols = ["horizon", "feature", "family", "folds", "importance", "ci_low", "ci_high", "rank"]
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(rows)
    out = []
    for (lab, c), g in df.groupby(["horizon", "feature"], sort=False):
        v = g["importance"].to_numpy(np.float64)
        v = v[np.isfinite(v)]
        m = float(v.mean()) if len(v) else np.nan
        if len(v) >= 2:
            half = float(student_t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
        else:
            half = np.nan
        out.append({"horizon": lab, "feature": c, "family": ic_family(c), "folds": len(v), "importance": m,
                    "ci_low": m - half, "ci_high": m + half})
    imp = pd.DataFrame(out)
    imp["rank"] = imp.groupby("horizon")["importance"].rank(ascending=False, method="first",
                                                          na_option="bottom").astype(int)
    return imp.sort_values(["horizon", "rank"]).reset_index(drop=True)[cols]


def _importance_findings(res, imp, folds):
    if not len(imp):
        res.findings.append("Gradient-boosting feature importance: n/a — no walk-forward fold had enough "
                            "training and test rows.")
        return
    parts = []
    for lab, _ in IC_HORIZONS:
        g = imp[imp.horizon == lab].head(3)
        if len(g):
            parts.append(f"{lab}: " + ", ".join(f"{r.feature} {r.importance:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}]"
                                                for r in g.itertuples()))
    sig = imp[imp.ci_low > 0]
    res.headline["importance_significant"] = int(len(sig))
    top = imp.sort_values("importance", ascending=False).iloc[0]
    res.headline["importance_top_feature"] = top.feature
    res.headline["importance_top_horizon"] = top.horizon
    res.findings.append(
        "Gradient-boosting feature importance (fall of the out-of-sample IC when the feature is shuffled, mean over "
        f"up to {folds - 1} walk-forward folds, 95% t interval over folds), top 3 per horizon — " + "; ".join(parts)
        + f". {len(sig)} feature x horizon importances have an interval above 0.")


def _get_ic(pooled, feat, hor):
    r = pooled[(pooled.feature == feat) & (pooled.horizon == hor)]
    return float(r["ic"].iloc[0]) if len(r) else math.nan


def _fit_models(X, y, Xt, fitted: dict | None = None):
    HistGradientBoostingRegressor = need("research", "sklearn.ensemble").HistGradientBoostingRegressor
    Ridge = need("research", "sklearn.linear_model").Ridge

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
    if fitted is not None:  # the fitted model and its columns, for the permutation importance
        fitted["gbm"], fitted["keep"] = gbm, keep
    yield "gbm", pred


def _plot_ic(pooled, path):
    from liqcore.backtest.report import new_figure
    from liqcore.research.studies._common import finish_figure

    hs = [h for h, _ in IC_HORIZONS if h in set(pooled.horizon)]
    feats = list(dict.fromkeys(pooled.feature))
    fig, ax = new_figure(figsize=(max(9, 0.25 * len(feats)), 5.5), dpi=100)
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
    return finish_figure(fig, path)
