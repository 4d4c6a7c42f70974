"""Overfitting statistics of a parameter search: :func:`pbo` (CSCV) and :func:`deflated_sharpe`.

The formulas and their sources: docs/maintainers/sweeps.md, "The overfitting statistics, as computed".

May import: numpy only.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

EULER_GAMMA = 0.5772156649015329

__all__ = ["pbo", "deflated_sharpe", "expected_max_sharpe", "period_sharpe", "MAX_BLOCKS"]


def period_sharpe(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """mean / std (ddof 1) along ``axis``; 0 where the spread is 0."""
    x = np.asarray(x, dtype=float)
    mu = x.mean(axis=axis)
    sd = x.std(axis=axis, ddof=1) if x.shape[axis] > 1 else np.zeros_like(mu)
    if x.shape[axis]:  # (a constant series' float std can be 1e-19, not 0: no spread)
        sd = np.where(np.ptp(x, axis=axis) > 0, sd, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sd > 0, mu / np.where(sd > 0, sd, 1.0), 0.0)
    return out


#: the most CSCV blocks S: its C(S, S/2) combinations grow about 4x with each 2 more blocks (12,870 at the usual 16,
#: 184,756 at 20, 155 million at 30: a run that never ends)
MAX_BLOCKS = 20


def pbo(returns, blocks: int = 16, metric=period_sharpe) -> dict:
    """CSCV over ``returns`` (T periods x N configurations).  ``blocks`` S: even, 2 <= S <= T (T is
    trimmed to a multiple of S from the start).  Returns ``{"pbo", "logits", "combinations", "blocks",
    "configurations", "mean_logit"}``."""
    M = np.asarray(returns, dtype=float)
    if M.ndim != 2:
        raise ValueError("pbo: expected a 2-D array (periods x configurations)")
    T, N = M.shape
    S = int(blocks)
    if S < 2 or S % 2 or S > MAX_BLOCKS:
        raise ValueError(f"pbo: blocks must be an even number >= 2 and at most {MAX_BLOCKS}; got {blocks}")
    if N < 2:
        raise ValueError("pbo: needs at least 2 configurations")
    if T < S:
        raise ValueError(f"pbo: {T} periods cannot be cut into {S} blocks")
    M = np.nan_to_num(M[T % S:], nan=0.0)
    if np.all(M == M[:, :1]):  # every configuration identical: nothing to select, PBO undefined
        return {"pbo": None, "logits": np.zeros(0), "combinations": 0, "blocks": S, "configurations": N,
                "mean_logit": None}
    parts = np.split(M, S)
    logits = []
    for combo in itertools.combinations(range(S), S // 2):
        rest = [i for i in range(S) if i not in combo]
        IS = np.concatenate([parts[i] for i in combo])
        OS = np.concatenate([parts[i] for i in rest])
        p_is = metric(IS, axis=0)
        p_os = metric(OS, axis=0)
        best = int(np.argmax(p_is))  # ties: the first configuration
        # rank 1..N of the chosen configuration out of sample (ties share the average rank)
        below = np.sum(p_os < p_os[best])
        equal = np.sum(p_os == p_os[best])
        rank = below + (equal + 1) / 2.0
        w = rank / (N + 1)
        logits.append(math.log(w / (1.0 - w)))
    lam = np.array(logits)
    return {"pbo": float(np.mean(lam <= 0)), "logits": lam, "combinations": len(lam), "blocks": S,
            "configurations": N, "mean_logit": float(lam.mean())}


def _norm_ppf(p: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(p)


def _norm_cdf(x: float) -> float:
    from statistics import NormalDist

    return NormalDist().cdf(x)


def expected_max_sharpe(n_trials: int, var_sharpe: float) -> float:
    """Expected maximum Sharpe ratio of ``n_trials`` unskilled trials whose Sharpe ratios have
    variance ``var_sharpe`` (0 for a single trial)."""
    n = int(n_trials)
    if n < 1:
        raise ValueError("n_trials: must be >= 1")
    if n == 1:
        return 0.0
    g = EULER_GAMMA
    return math.sqrt(max(var_sharpe, 0.0)) * ((1 - g) * _norm_ppf(1 - 1.0 / n) + g * _norm_ppf(1 - 1.0 / (n * math.e)))


def deflated_sharpe(returns, n_trials: int, var_sharpe: float, sr0: float | None = None) -> dict:
    """DSR of the selected configuration's per-period ``returns`` after ``n_trials`` trials whose
    (per-period) Sharpe ratios have variance ``var_sharpe``.  ``sr0`` overrides the benchmark.
    Returns ``{"dsr", "sharpe", "sr0", "skew", "kurtosis", "periods", "trials"}`` (dsr None when the
    returns have no spread or fewer than 3 periods)."""
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    T = len(r)
    out = {"trials": int(n_trials), "periods": T, "dsr": None, "sharpe": None,
           "sr0": float(sr0) if sr0 is not None else expected_max_sharpe(n_trials, var_sharpe),
           "skew": None, "kurtosis": None}
    if T < 3:
        return out
    sd = float(r.std(ddof=1))
    if not sd > 0 or not np.ptp(r) > 0:  # (a constant series' float std can be 1e-19, not 0: no spread)
        return out
    sr = float(r.mean()) / sd
    z = (r - r.mean()) / r.std(ddof=0)
    skew = float(np.mean(z ** 3))
    kurt = float(np.mean(z ** 4))  # not excess: 3 for normal returns
    den = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    out.update(sharpe=sr, skew=skew, kurtosis=kurt)
    if den <= 0:
        return out
    out["dsr"] = _norm_cdf((sr - out["sr0"]) * math.sqrt(T - 1) / math.sqrt(den))
    return out
