"""The ``regimes`` study: a two-state hidden-Markov model (hmmlearn's ``GaussianHMM``) of the
market's volatility regime, fitted on a 5-minute grid per symbol to the log realized volatility of
the 5 minutes (one-minute log returns of the last trade price, standardized within the symbol).
The state with the higher mean is "volatile", the other "quiet".  The liquidations are NOT an input:
the model is learned from prices alone, and the liquidations per state are then the test of
whether liquidations come with the volatile regime (a model fed the liquidations too would find
"regimes" in their clustering alone, even where they move no price).

Reported: each state's share of the 5-minute steps on the decoded (Viterbi) path and the mean length
of its runs there, its expected duration from the fitted chain (5 min / (1 - stay probability); the
chain's long-run share of the volatile state, p(q->v) / (p(q->v) + p(v->q)), follows from these and
differs from the decoded share: the decoded path is the most likely sequence given the data, not a
draw from the chain), its mean
realized volatility and liquidation count (in their units), the transition matrix, the Bayesian
information criterion of two states against one (a negative ``delta_bic`` favours two states), and
the ratio of the liquidation rate in the volatile state to the quiet one with a 95 % interval from a
block bootstrap over hours of the decoded (Viterbi) states: above 1 when liquidations come with
the volatile regime."""
from __future__ import annotations

import math

import numpy as np

from liqcore._extras import need
from liqcore.research.studies._common import NS_H, NS_MIN, Panel, StudyResult, unavailable

STEP_MIN = 5


def _frame(panel: Panel):
    pd = need("research", "pandas")

    out = []
    for name in panel.names:
        d = panel.sym[name]
        grid = panel.grid(name, NS_MIN)
        if len(grid) < 12 * 60:  # fewer than 12 hours: no regime to learn
            continue
        lp = np.log(panel.price_at(name, grid))
        r = np.diff(lp, prepend=np.nan)
        kl = np.searchsorted(grid, d["t_liq"], side="left")  # liquidation received in (grid[k-1], grid[k]]
        okl = (kl > 0) & (kl < len(grid))
        cnt = np.bincount(kl[okl], minlength=len(grid)).astype(np.float64)[: len(grid)]
        n5 = len(grid) // STEP_MIN
        rr = r[: n5 * STEP_MIN].reshape(n5, STEP_MIN)
        good = np.isfinite(rr).sum(1) >= STEP_MIN - 1
        rv = np.sqrt(np.nansum(rr * rr, axis=1))
        nl = cnt[: n5 * STEP_MIN].reshape(n5, STEP_MIN).sum(1)
        t = grid[STEP_MIN - 1: n5 * STEP_MIN: STEP_MIN]
        f = pd.DataFrame({"symbol": name, "t": t, "rv": rv, "n_liq": nl})
        f = f[good & (rv > 0)].reset_index(drop=True)
        if len(f) < 100:
            continue
        x1 = np.log(f["rv"].to_numpy())
        x2 = np.log1p(f["n_liq"].to_numpy())
        f["z_rv"] = (x1 - x1.mean()) / (x1.std() or 1.0)
        f["z_liq"] = (x2 - x2.mean()) / (x2.std() or 1.0)
        out.append(f)
    return pd.concat(out, ignore_index=True) if out else None


def _ratio_ci(num, state, blocks, n_boot, rng):
    """mean(num | volatile) / mean(num | quiet) with a 95 % interval over resampled hour blocks."""
    v, q = state == 1, state == 0
    if v.sum() < 5 or q.sum() < 5 or num[q].mean() <= 0:
        return math.nan, math.nan, math.nan
    est = float(num[v].mean() / num[q].mean())
    _, inv = np.unique(blocks, return_inverse=True)
    k = int(inv.max()) + 1
    sv = np.bincount(inv, num * v, minlength=k)
    cv = np.bincount(inv, v.astype(float), minlength=k)
    sq = np.bincount(inv, num * q, minlength=k)
    cq = np.bincount(inv, q.astype(float), minlength=k)
    idx = rng.integers(0, k, size=(n_boot, k))
    with np.errstate(invalid="ignore", divide="ignore"):
        boots = (sv[idx].sum(1) / cv[idx].sum(1)) / (sq[idx].sum(1) / cq[idx].sum(1))
    boots = boots[np.isfinite(boots)]
    lo, hi = np.quantile(boots, [0.025, 0.975]) if len(boots) else (math.nan, math.nan)
    return est, float(lo), float(hi)


def _decoded_runs(state: np.ndarray, symbol: np.ndarray) -> tuple[list[int], list[int]]:
    """The lengths (in steps) of the runs of each state (0 quiet, 1 volatile) on the decoded path; a run
    ends where the state or the symbol changes."""
    runs: tuple[list[int], list[int]] = ([], [])
    if not len(state):
        return runs
    cut = np.flatnonzero((state[1:] != state[:-1]) | (symbol[1:] != symbol[:-1])) + 1
    starts = np.concatenate([[0], cut])
    lengths = np.diff(np.concatenate([starts, [len(state)]]))
    for st, n in zip(state[starts].tolist(), lengths.tolist()):
        runs[int(st)].append(int(n))
    return runs


def study_regimes(panel: Panel, n_boot: int = 300, seed: int = 0, **_):
    """Two-state hidden-Markov model of the volatility regime, and the liquidations per state."""
    pd = need("research", "pandas")

    title = "two-state hidden-Markov model of the volatility regime, and liquidations per state"
    if panel.n("t_trade") == 0:
        return unavailable("regimes", title, "the input has no trades (no realized volatility)")
    if panel.n("t_liq") == 0:
        return unavailable("regimes", title, "the input has no liquidations (nothing to compare the regimes by)")
    try:
        GaussianHMM = need("research", "hmmlearn.hmm").GaussianHMM
    except ImportError:  # pragma: no cover - a dependency; stated rather than raised
        return unavailable("regimes", title, "the hmmlearn package is not installed")
    fr = _frame(panel)
    if fr is None or len(fr) < 200:
        return unavailable("regimes", title, "no symbol has 12 hours of prices (the model needs at least 200 "
                                            "five-minute steps)")
    X = fr[["z_rv"]].to_numpy()
    lengths = fr.groupby("symbol", sort=False).size().to_numpy()
    fits = {}
    for k in (1, 2):
        m = GaussianHMM(n_components=k, covariance_type="diag", n_iter=200, tol=1e-4, random_state=seed)
        m.fit(X, lengths)
        fits[k] = m
    m2 = fits[2]
    bic1, bic2 = float(fits[1].bic(X, lengths)), float(m2.bic(X, lengths))
    vol_state = int(np.argmax(m2.means_[:, 0]))
    order = [1 - vol_state, vol_state]  # quiet, volatile
    state = m2.predict(X, lengths)
    state = np.where(state == vol_state, 1, 0)
    rng = np.random.default_rng(seed)
    blocks = (fr["t"].to_numpy() // NS_H).astype(np.int64) * 1000 + pd.factorize(fr["symbol"])[0]
    T = m2.transmat_[np.ix_(order, order)]
    rows = []
    for j, lab in enumerate(("quiet", "volatile")):
        sel = state == j
        p_stay = float(T[j, j])
        rows.append({"state": lab, "share": float(sel.mean()),
                     "expected_duration_min": STEP_MIN / max(1.0 - p_stay, 1e-9),
                     "stay_probability": p_stay, "switch_probability": 1.0 - p_stay,
                     "mean_rv_bp": float(fr["rv"][sel].mean() * 1e4) if sel.any() else math.nan,
                     "mean_liquidations_per_5m": float(fr["n_liq"][sel].mean()) if sel.any() else math.nan,
                     "n": int(sel.sum())})
    tab = pd.DataFrame(rows)
    # the chain's long-run share of the volatile state (from its switch probabilities alone) and the decoded
    # path's runs: the decoded path is the single most likely sequence given the data, not a draw from the
    # chain, so its share and run lengths are its own (both are reported, side by side)
    p_qv, p_vq = float(T[0, 1]), float(T[1, 0])
    chain_share = p_qv / (p_qv + p_vq) if p_qv + p_vq > 0 else math.nan
    runs = _decoded_runs(state, fr["symbol"].to_numpy())
    tab["decoded_run_min"] = [STEP_MIN * float(np.mean(runs[j])) if runs[j] else math.nan for j in (0, 1)]
    liq_ratio = _ratio_ci(fr["n_liq"].to_numpy(np.float64), state, blocks, n_boot, rng)
    vol_ratio = _ratio_ci(fr["rv"].to_numpy(np.float64), state, blocks, n_boot, rng)
    res = StudyResult("regimes", title)
    res.tables["states"] = tab
    res.headline = {"bic_1": bic1, "bic_2": bic2, "delta_bic": bic2 - bic1,
                    "liq_ratio": liq_ratio[0], "liq_ratio_lo": liq_ratio[1], "liq_ratio_hi": liq_ratio[2],
                    "vol_ratio": vol_ratio[0], "vol_ratio_lo": vol_ratio[1], "vol_ratio_hi": vol_ratio[2],
                    "volatile_share": float(tab.share.iloc[1]),
                    "quiet_duration_min": float(tab.expected_duration_min.iloc[0]),
                    "volatile_duration_min": float(tab.expected_duration_min.iloc[1]), "steps": int(len(fr)),
                    "volatile_share_chain": chain_share,
                    "quiet_run_min": float(tab.decoded_run_min.iloc[0]),
                    "volatile_run_min": float(tab.decoded_run_min.iloc[1])}
    h = res.headline
    res.findings.append(
        f"Two-state hidden-Markov model of the 5-minute realized volatility over {len(fr):,} steps ({len(lengths)} symbols): BIC two states "
        f"{bic2:,.0f} against one {bic1:,.0f} (difference {h['delta_bic']:+,.0f}; negative favours two regimes).")
    res.findings.append(
        f"Volatile state: {h['volatile_share']:.1%} of the 5-minute steps on the decoded (Viterbi) path, in runs of "
        f"{h['volatile_run_min']:.0f} min on average (quiet: {h['quiet_run_min']:.0f} min); the fitted switch "
        f"probabilities alone give expected stays of {h['volatile_duration_min']:.0f} min (quiet: "
        f"{h['quiet_duration_min']:.0f} min), so a long-run share of {chain_share:.1%}: the decoded path is the "
        f"most likely sequence of states given the data, not a draw from the chain, and its share is its own; "
        f"realized volatility {vol_ratio[0]:.2f}x the quiet state's "
        f"[95% {vol_ratio[1]:.2f}, {vol_ratio[2]:.2f}]; liquidations {liq_ratio[0]:.2f}x [95% {liq_ratio[1]:.2f}, "
        f"{liq_ratio[2]:.2f}] (hour-block bootstrap over the decoded states)"
        + ("." if not (np.isfinite(liq_ratio[1]) and liq_ratio[1] > 1)
           else ": liquidations come with the volatile regime."))
    if not (np.isfinite(liq_ratio[1]) and liq_ratio[1] > 1):
        res.findings.append("The volatile regime holds no more liquidations than the quiet one beyond chance.")

    def draw(path, fr=fr, state=state):
        from liqcore.backtest.report import new_figure
        from liqcore.research.studies._common import finish_figure

        s0 = fr["symbol"].iloc[0]
        sel = (fr["symbol"] == s0).to_numpy()
        t = (fr["t"].to_numpy()[sel] - fr["t"].to_numpy()[sel][0]) / NS_H
        fig, ax = new_figure(2, 1, figsize=(9, 5), sharex=True)
        ax[0].plot(t, fr["rv"].to_numpy()[sel] * 1e4, lw=0.5)
        ax[0].fill_between(t, 0, fr["rv"].to_numpy()[sel].max() * 1e4, where=state[sel] == 1, color="orange",
                           alpha=0.3, step="mid", label="volatile state")
        ax[0].set_ylabel("5 m realized vol (bp)")
        ax[0].legend(fontsize=8)
        # the bars as one collection of rectangles (a month of 5-minute bars drawn one patch each takes seconds)
        from matplotlib.collections import PolyCollection

        n, w = fr["n_liq"].to_numpy()[sel].astype(float), STEP_MIN / 60
        x0, x1, h = t[n > 0] - w / 2, t[n > 0] + w / 2, n[n > 0]
        z = np.zeros_like(h)
        bars = PolyCollection(np.stack([np.c_[x0, z], np.c_[x0, h], np.c_[x1, h], np.c_[x1, z]], axis=1),
                              facecolors="C0", edgecolors="none", snap=True)  # (snapped as bar's patches are)
        bars.sticky_edges.y.append(0.0)  # (the axis starts at 0, as under bars)
        ax[1].add_collection(bars)
        ax[1].autoscale_view()
        ax[1].set_ylabel("liquidations per 5 m (count)")
        ax[1].set_xlabel(f"hours since the start ({s0})")
        fig.tight_layout()
        return finish_figure(fig, path, dpi=90)

    res.plots.append(("hmm_regimes.png", draw))
    return res
