"""The research plan's studies, each a function ``study_<name>(events, registry, ...) -> StudyResult``.

    >>> from liqcore.research.studies import run_study, STUDIES
    >>> res = run_study("contagion", market.events, market.registry)
    >>> res.table            # the main table (pandas)
    >>> res.headline         # the key numbers, plain floats
    >>> res.findings         # plain sentences, including "no effect" when there is none

Every study states when it cannot run ("not available because ..."): ``res.available`` is False,
``res.reason`` says why, and no number is computed from missing inputs.  Significance is judged
with block bootstraps over time (blocks of at least an hour) or with tests on independent units
(days, cells), never with tests that assume independent overlapping returns.

Studies: ``event`` (post-cascade returns with recovery time, size buckets, hour of day, regimes),
``ic`` (Spearman IC of features vs forward returns, walk-forward ridge and gradient boosting),
``heatmap`` (liquidation density by price level, zones, reversal vs break-out against random levels),
``contagion`` (lead/lag of liquidation rates, conditional cascade probability, Granger tests),
``volatility`` (liquidation rate vs forward realized volatility against an ATR baseline),
``oi`` (open-interest changes explained by liquidations; lead/lag), ``microstructure``
(time-of-day/day-of-week clustering, sweeps, absorption).  ``docs/research.md`` describes each.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from liqcore.types import Dominant, Kind, Side

__all__ = ["StudyResult", "STUDIES", "run_study", "Panel"]

NS_S = 1_000_000_000
NS_MIN = 60 * NS_S
NS_H = 3600 * NS_S
NS_DAY = 86400 * NS_S

SESSIONS = (("asia", 0, 8), ("europe", 8, 13), ("us", 13, 21), ("late", 21, 24))


@dataclass
class StudyResult:
    """One study's outcome.  ``tables``: named pandas frames (the first is the main one);
    ``headline``: key numbers; ``findings``: plain sentences; ``plots``: ``(file name, draw(path))``."""

    name: str
    title: str
    available: bool = True
    reason: str = ""
    tables: dict = field(default_factory=dict)
    headline: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)
    plots: list = field(default_factory=list)

    @property
    def table(self):
        return next(iter(self.tables.values())) if self.tables else None

    def to_json(self) -> dict:
        def clean(v):
            if isinstance(v, (np.floating, float)):
                return None if not math.isfinite(float(v)) else float(v)
            if isinstance(v, (np.integer,)):
                return int(v)
            if isinstance(v, (np.bool_,)):
                return bool(v)
            if isinstance(v, dict):
                return {str(k): clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            return v

        return {
            "study": self.name, "title": self.title, "available": self.available, "reason": self.reason or None,
            "headline": clean(self.headline), "findings": list(self.findings),
            "tables": {k: [clean(r) for r in t.to_dict(orient="records")] for k, t in self.tables.items()},
        }

    def write_plots(self, directory) -> list:
        from pathlib import Path

        import matplotlib

        matplotlib.use("Agg")
        out = []
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        for fname, draw in self.plots:
            p = d / fname
            draw(p)
            out.append(p)
        return out


def unavailable(name: str, title: str, reason: str) -> StudyResult:
    return StudyResult(name, title, available=False, reason=reason,
                       findings=[f"not available because {reason}"])


# ------------------------------------------------------------------------------------- the panel


class Panel:
    """The events split per symbol (receive-time order), with the arrays the studies share."""

    def __init__(self, events: np.ndarray, registry, symbols=None):
        from liqcore.research.features import _check_events, select_symbols, sort_recv

        events = sort_recv(select_symbols(_check_events(events), registry, symbols))
        self.events = events
        self.registry = registry
        self.sym = {}
        for sid in np.unique(events["symbol_id"]).tolist():
            e = events[events["symbol_id"] == sid]
            tr = e[(e["kind"] == Kind.TRADE) & np.isfinite(e["price"]) & (e["price"] > 0)]
            lq = e[(e["kind"] == Kind.LIQUIDATION) & np.isfinite(e["price"]) & (e["price"] > 0)
                   & np.isfinite(e["qty"]) & (e["qty"] > 0)]
            oi = e[(e["kind"] == Kind.OPEN_INTEREST) & np.isfinite(e["qty"]) & (e["qty"] >= 0)]
            name = registry.symbol(sid) if registry is not None and sid < len(registry) else str(sid)
            self.sym[name] = {
                "sid": sid,
                "t_trade": tr["ts_recv"].astype(np.int64), "p_trade": tr["price"].astype(np.float64),
                "t_liq": lq["ts_recv"].astype(np.int64), "te_liq": lq["ts_event"].astype(np.int64),
                "p_liq": lq["price"].astype(np.float64), "q_liq": lq["qty"].astype(np.float64),
                "side_liq": lq["side"].astype(np.int8),
                "n_liq": lq["price"] * lq["qty"],
                "t_oi": oi["ts_recv"].astype(np.int64), "te_oi": oi["ts_event"].astype(np.int64),
                "oi": oi["qty"].astype(np.float64),
                "t0": int(e["ts_recv"][0]), "t1": int(e["ts_recv"][-1]),
            }
        self.names = sorted(self.sym, key=lambda s: self.sym[s]["sid"])

    def n(self, key: str) -> int:
        return sum(len(d[key]) for d in self.sym.values())

    def price_at(self, name: str, times: np.ndarray) -> np.ndarray:
        """Last trade price received at or before each time (NaN before the first trade)."""
        d = self.sym[name]
        i = np.searchsorted(d["t_trade"], times, side="right") - 1
        out = np.full(len(times), np.nan)
        ok = i >= 0
        out[ok] = d["p_trade"][i[ok]]
        return out

    def grid(self, name: str, step_ns: int) -> np.ndarray:
        """Epoch-aligned grid times (bar closes) covering the symbol's trades."""
        d = self.sym[name]
        if len(d["t_trade"]) == 0:
            return np.zeros(0, np.int64)
        a = (d["t_trade"][0] // step_ns + 1) * step_ns
        b = (d["t_trade"][-1] // step_ns) * step_ns
        return np.arange(a, b + 1, step_ns, dtype=np.int64)

    def leader(self) -> str | None:
        for s in self.names:
            if s.upper().startswith("BTC"):
                return s
        return self.names[0] if self.names else None


# --------------------------------------------------------------------------------- statistics


def _ranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x)


def block_corr(x, y, blocks, n_boot: int = 300, seed: int = 0, spearman: bool = True):
    """Correlation of ``x`` and ``y`` (Spearman by default) with a block bootstrap over ``blocks``
    (integer labels; whole blocks are resampled).  Returns ``(corr, lo95, hi95, p, n)``: the interval
    is the wider of the bootstrap percentile interval and ``corr +- t(k-1) * se`` (``se`` the
    bootstrap standard error scaled by ``sqrt(k / (k - 1))``, ``k`` blocks), ``p`` the two-sided
    Student-t p-value with ``k - 1`` degrees of freedom: conservative when there are few blocks.  The
    standard error is never taken below ``1 / sqrt(n)``, its value for independent observations
    (the bootstrap can understate it when one variable is heavy-tailed)."""
    from scipy.stats import t as student_t

    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y, b = x[ok], y[ok], np.asarray(blocks)[ok]
    n = len(x)
    if n < 30 or np.ptp(x) == 0 or np.ptp(y) == 0:  # too few pairs: no number rather than a noisy one
        return math.nan, math.nan, math.nan, math.nan, n
    if spearman:
        x, y = _ranks(x), _ranks(y)
    x = (x - x.mean()) / x.std()
    y = (y - y.mean()) / y.std()
    _, inv = np.unique(b, return_inverse=True)
    k = inv.max() + 1
    S = np.zeros((k, 6))
    for j, v in enumerate((np.ones(n), x, y, x * y, x * x, y * y)):
        S[:, j] = np.bincount(inv, v, minlength=k)
    c = float(np.mean(x * y))
    if k < 3:
        return c, math.nan, math.nan, math.nan, n
    rng = np.random.default_rng(seed)
    T = np.zeros((n_boot, 6))
    for lo_ in range(0, n_boot, 50):  # resampled block sums, 50 resamples at a time
        idx = rng.integers(0, k, size=(min(50, n_boot - lo_), k))
        T[lo_: lo_ + len(idx)] = S[idx].sum(axis=1)
    m = T[:, 0]
    mx, my = T[:, 1] / m, T[:, 2] / m
    cov = T[:, 3] / m - mx * my
    vx = T[:, 4] / m - mx * mx
    vy = T[:, 5] / m - my * my
    with np.errstate(invalid="ignore", divide="ignore"):
        boots = cov / np.sqrt(vx * vy)
    boots = boots[np.isfinite(boots)]
    lo, hi = np.quantile(boots, [0.025, 0.975])
    se = float(boots.std()) * math.sqrt(k / (k - 1))  # small-sample correction of the block bootstrap
    se = max(se, 1.0 / math.sqrt(n))  # never below the standard error of independent observations
    tq = float(student_t.ppf(0.975, k - 1))
    lo, hi = min(lo, c - tq * se), max(hi, c + tq * se)  # the wider of percentile and t intervals
    lo, hi = max(lo, -1.0), min(hi, 1.0)  # a correlation's interval stays within [-1, 1]
    p = float(2 * student_t.sf(abs(c) / se, k - 1)) if se > 0 else math.nan
    return c, float(lo), float(hi), p, n


def _ols(y, X):
    """OLS with intercept: (coefficients, standard errors, R^2, n)."""
    y = np.asarray(y, np.float64)
    X = np.asarray(X, np.float64)
    if len(y) == 0:
        k = 1 + (X.shape[1] if X.ndim == 2 else 1)
        return np.full(k, np.nan), np.full(k, np.nan), math.nan, 0
    X = np.column_stack([np.ones(len(y)), X.reshape(len(y), -1)])
    ok = np.isfinite(y) & np.all(np.isfinite(X), axis=1)
    y, X = y[ok], X[ok]
    n, k = X.shape
    if n <= k + 2:
        return np.full(k, np.nan), np.full(k, np.nan), math.nan, n
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    ss = float(resid @ resid)
    tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - ss / tot if tot > 0 else math.nan
    sigma2 = ss / (n - k)
    try:
        cov = sigma2 * np.linalg.inv(X.T @ X)
        se = np.sqrt(np.maximum(np.diag(cov), 0))
    except np.linalg.LinAlgError:
        se = np.full(k, np.nan)
    return beta, se, r2, n


def _blocks(times: np.ndarray, block_ns: int) -> np.ndarray:
    return (np.asarray(times, np.int64) // int(block_ns)).astype(np.int64)


def _bp(x) -> str:
    return f"{x:+.1f} bp" if x is not None and np.isfinite(x) else "n/a"


def _num2(x) -> str:
    return f"{x:+.2f}" if x is not None and np.isfinite(x) else "n/a"


def _fmt_p(p) -> str:
    if p is None or not np.isfinite(p):
        return "p n/a"
    return "p < 1e-4" if p < 1e-4 else f"p = {p:.3g}"


# ---------------------------------------------------------------------------------- event study


def study_event(panel: Panel, params=None, horizons=("10s", "30s", "1m", "5m", "15m"), n_boot: int = 1000,
                frame=None, **_):
    """Post-cascade signed returns (+ = reversion) with recovery time to the pre-cascade price, size
    buckets, hour of day and a quiet/volatile regime split.  ``frame``: an :func:`event_study`
    frame already computed on the panel's events (its columns are added to in place)."""
    import pandas as pd

    from liqcore.research.study import event_study, plot_study, summarize_study

    title = "cascades and price impact (post-cascade event study)"
    if panel.n("t_liq") == 0:
        return unavailable("event", title, "the input has no liquidations")
    if panel.n("t_trade") == 0:
        return unavailable("event", title, "the input has no trades (no prices to measure returns)")
    df = frame if frame is not None else event_study(panel.events, panel.registry, params=params, horizons=horizons)
    hs = df.attrs["horizons"]
    if len(df) == 0:
        return unavailable("event", title, "the detector confirmed no cascade in the input")
    # recovery time, regime, size bucket, hour
    rec_s = np.full(len(df), np.nan)
    regime = np.array(["?"] * len(df), dtype=object)
    bucket = np.array(["?"] * len(df), dtype=object)
    for name, g in df.groupby("symbol"):
        if name not in panel.sym:
            continue
        d = panel.sym[name]
        ts, px = d["t_trade"], d["p_trade"]
        if len(ts) == 0:
            continue
        idx = g.index.to_numpy()
        # pre-cascade price: last trade received before the cascade's first liquidation
        i_pre = np.searchsorted(ts, g["start_ns"].to_numpy(), side="left") - 1
        t0 = g["confirm_recv_ns"].to_numpy()
        sign = g["sign"].to_numpy()
        for j in range(len(g)):
            if i_pre[j] < 0 or not np.isfinite(sign[j]):
                continue
            pre = px[i_pre[j]]
            a = np.searchsorted(ts, t0[j], side="right")
            b = np.searchsorted(ts, t0[j] + NS_H, side="right")
            path = px[a:b]
            hit = np.flatnonzero(path >= pre) if sign[j] > 0 else np.flatnonzero(path <= pre)
            if len(hit):
                rec_s[idx[j]] = (ts[a + hit[0]] - t0[j]) / NS_S
            elif t0[j] + NS_H > ts[-1]:
                rec_s[idx[j]] = np.nan  # censored by the end of the data
            else:
                rec_s[idx[j]] = np.inf  # not recovered within the hour
        # regime: realized volatility over the hour before the decision vs the symbol's median
        grid = panel.grid(name, NS_MIN)
        if len(grid) > 61:
            lp = np.log(panel.price_at(name, grid))
            r = np.diff(lp, prepend=np.nan)
            rv = pd.Series(r * r).rolling(60, min_periods=30).sum().to_numpy()
            med = np.nanmedian(rv)
            k = np.searchsorted(grid, t0, side="right") - 1
            v = np.where(k >= 0, rv[np.maximum(k, 0)], np.nan)
            regime[idx] = np.where(~np.isfinite(v), "?", np.where(v > med, "volatile", "quiet"))
        notional = (g["long_notional"] + g["short_notional"]).to_numpy()
        if len(notional) >= 3:
            q1, q2 = np.quantile(notional, [1 / 3, 2 / 3])
            bucket[idx] = np.where(notional <= q1, "small", np.where(notional <= q2, "medium", "large"))
    df["recovery_s"] = rec_s
    df["regime"] = regime
    df["size_bucket"] = bucket
    tot = (df["long_notional"] + df["short_notional"]).to_numpy(np.float64)
    df["notional_bucket"] = np.where(tot < 1e5, "<100k", np.where(tot < 1e6, "100k-1M", ">=1M"))
    df["hour"] = pd.to_datetime(df["confirm_recv_ns"], unit="ns", utc=True).dt.hour
    df["session"] = [next(s for s, a, b in SESSIONS if a <= h < b) for h in df["hour"]]
    summ = summarize_study(df, n_boot=n_boot, by_symbol=True)
    h_main = "5m" if "5m" in hs else hs[-1]
    h_first = hs[0]
    rows = []
    signed = df[np.isfinite(df["sign"])]
    for label, col in (("all", None), ("size", "size_bucket"), ("notional", "notional_bucket"), ("regime", "regime"),
                       ("session", "session"),
                       ("hour", "hour"), ("dominant", "dominant")):
        groups = [("all", signed)] if col is None else list(signed.groupby(col))
        for val, g in groups:
            if str(val) == "?":
                continue
            row = {"split": label, "group": str(val), "n": int(len(g))}
            for h in (h_first, h_main):
                x = g[f"signed_ret_{h}"].to_numpy()
                x = x[np.isfinite(x)]
                row[f"mean_bp_{h}"] = float(x.mean() * 1e4) if len(x) else math.nan
                row[f"t_{h}"] = float(x.mean() / (x.std(ddof=1) / math.sqrt(len(x)))) if len(x) > 2 and x.std() > 0 \
                    else math.nan
            r = g["recovery_s"].to_numpy()
            obs = r[~np.isnan(r)]
            row["recovered_1h"] = float(np.mean(np.isfinite(obs))) if len(obs) else math.nan
            row["median_recovery_s"] = float(np.median(obs)) if len(obs) else math.nan
            row["mean_notional"] = float((g["long_notional"] + g["short_notional"]).mean())
            rows.append(row)
    splits = pd.DataFrame(rows)
    allrow = summ[(summ.symbol == "ALL") & (summ.dominant == "both")].set_index("horizon")
    res = StudyResult("event", title)
    res.tables = {"summary": summ, "splits": splits}
    res.headline = {
        "cascades": int(len(df)), "with_reference": int(df["ref_price"].notna().sum()),
        "symbols": int(df["symbol"].nunique()),
        "horizon": h_main, "first_horizon": h_first,
        "mean_signed_bp": float(allrow.loc[h_main, "mean"] * 1e4) if h_main in allrow.index else math.nan,
        "ci_low_bp": float(allrow.loc[h_main, "ci_low"] * 1e4) if h_main in allrow.index else math.nan,
        "ci_high_bp": float(allrow.loc[h_main, "ci_high"] * 1e4) if h_main in allrow.index else math.nan,
        "t_stat": float(allrow.loc[h_main, "t_stat"]) if h_main in allrow.index else math.nan,
        "first_mean_signed_bp": float(allrow.loc[h_first, "mean"] * 1e4) if h_first in allrow.index else math.nan,
        "first_t_stat": float(allrow.loc[h_first, "t_stat"]) if h_first in allrow.index else math.nan,
        "reversion_share": float(allrow.loc[h_main, "reversion_share"]) if h_main in allrow.index else math.nan,
        "median_recovery_s": float(splits.loc[splits.split == "all", "median_recovery_s"].iloc[0])
        if len(splits) else math.nan,
        "recovered_1h": float(splits.loc[splits.split == "all", "recovered_1h"].iloc[0]) if len(splits) else math.nan,
    }
    h = res.headline
    verdict = ("reversion" if h["ci_low_bp"] > 0 else "continuation" if h["ci_high_bp"] < 0 else
               "no significant move" if np.isfinite(h["ci_low_bp"]) else "too few observations to judge")
    res.findings.append(
        f"{h['cascades']} confirmed cascades ({h['with_reference']} with a reference trade); mean signed return at "
        f"{h_main}: {_bp(h['mean_signed_bp'])} (95% CI [{_bp(h['ci_low_bp'])}, {_bp(h['ci_high_bp'])}], "
        f"+ = reversion): {verdict}.")
    med = h["median_recovery_s"]
    res.findings.append(
        f"At {h_first} after the decision: {_bp(h['first_mean_signed_bp'])} (t = {h['first_t_stat']:.1f}); "
        f"{h['recovered_1h']:.0%} of cascades regain the pre-cascade price within an hour (median "
        + (f"{med:.0f} s)." if np.isfinite(med) else "more than an hour)." if med == np.inf else "n/a)."))
    parts = []
    for split, order in (("size", ("small", "medium", "large")), ("notional", ("<100k", "100k-1M", ">=1M")),
                         ("regime", ("quiet", "volatile"))):
        g = splits[splits.split == split].set_index("group") if len(splits) else None
        if g is None or not len(g):
            continue
        cells = [f"{k} {_bp(g.loc[k, f'mean_bp_{h_main}'])} (n {int(g.loc[k, 'n'])}, t "
                 f"{_num2(g.loc[k, f't_{h_main}'])})" for k in order if k in g.index]
        parts.append(f"{split}: " + ", ".join(cells))
    if parts:
        res.findings.append(f"Signed return at {h_main} by " + "; by ".join(parts) + ".")
    res.plots.append(("event_returns.png", lambda p: plot_study(summ, p)))
    res.plots.append(("cascade_examples.png", lambda p: _plot_cascade_examples(panel, df, p)))
    res._frame = df  # the per-cascade rows (for callers that want them)
    return res


def _plot_cascade_examples(panel: Panel, df, path, k: int = 4):
    import matplotlib.pyplot as plt

    d = df[df["ref_price"].notna()].copy()
    d["notional"] = d["long_notional"] + d["short_notional"]
    d = d.sort_values("notional", ascending=False).head(k)
    fig, axes = plt.subplots(max(1, len(d)), 1, figsize=(8, 2.4 * max(1, len(d))), dpi=100, squeeze=False)
    for ax, (_, r) in zip(axes[:, 0], d.iterrows()):
        s = panel.sym[r["symbol"]]
        t0 = int(r["confirm_recv_ns"])
        a, b = t0 - 2 * NS_MIN, t0 + 10 * NS_MIN
        m = (s["t_trade"] >= a) & (s["t_trade"] <= b)
        ax.plot((s["t_trade"][m] - t0) / 1e9, s["p_trade"][m], lw=0.8, color="black", label="trade price")
        ml = (s["t_liq"] >= a) & (s["t_liq"] <= b)
        for side, col in ((Side.LONG, "tab:red"), (Side.SHORT, "tab:green")):
            mm = ml & (s["side_liq"] == side)
            ax.scatter((s["t_liq"][mm] - t0) / 1e9, s["p_liq"][mm], s=np.clip(s["n_liq"][mm] / s["n_liq"].mean() * 8,
                       4, 200), color=col, alpha=0.6,
                       label="longs liquidated" if side == Side.LONG else "shorts liquidated")
        ax.axvline(0, color="tab:blue", lw=0.8, ls="--")
        ax.set_title(f"{r['symbol']} {r['dominant']}-dominant cascade, {r['decision_time']:%Y-%m-%d %H:%M:%S} UTC, "
                     f"${r['notional']:,.0f}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="best")
    axes[-1, 0].set_xlabel("seconds from the decision (dashed)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ------------------------------------------------------------------------------------------- IC

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


# -------------------------------------------------------------------------------------- heatmap

BIN_LOG = 0.002  # price-level bins of 0.2 % (log price)


def study_heatmap(panel: Panel, zones: int = 3, window_h: int = 24, horizon_min: int = 60, seed: int = 0, **_):
    """Liquidation density by price level; zones = the densest levels of the previous day; the
    probabilities of reversal and of break-out when the price next touches a zone, against random
    levels of the same day's range."""
    import pandas as pd

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
    from scipy.stats import norm

    a = np.asarray(a, bool)
    b = np.asarray(b, bool)
    if len(a) < 5 or len(b) < 5:
        return math.nan
    p1, p2 = a.mean(), b.mean()
    p = (a.sum() + b.sum()) / (len(a) + len(b))
    se = math.sqrt(p * (1 - p) * (1 / len(a) + 1 / len(b)))
    return float(2 * (1 - norm.cdf(abs(p1 - p2) / se))) if se > 0 else math.nan


def _plot_heatmap(panel: Panel, path):
    import matplotlib.pyplot as plt

    name = panel.leader()
    d = panel.sym[name]
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
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
    fig.savefig(path)
    plt.close(fig)


# ------------------------------------------------------------------------------------ contagion


def _counts(t_ns: np.ndarray, a: int, b: int, step: int) -> np.ndarray:
    nb = int((b - a) // step) + 1
    k = ((t_ns[(t_ns >= a) & (t_ns <= b)] - a) // step).astype(np.int64)
    return np.bincount(k, minlength=nb).astype(np.float64)[:nb]


def _xcorr(x: np.ndarray, y: np.ndarray, max_lag: int) -> np.ndarray:
    """corr(x_t, y_{t+k}) for k = -max_lag..max_lag (FFT)."""
    n = len(x)
    x = x - x.mean()
    y = y - y.mean()
    sx, sy = x.std(), y.std()
    if sx == 0 or sy == 0:
        return np.full(2 * max_lag + 1, np.nan)
    from scipy import fft as sfft

    nfft = sfft.next_fast_len(n + max_lag + 1, real=True)  # no circular wrap within +-max_lag
    c = sfft.irfft(np.conj(sfft.rfft(x, nfft)) * sfft.rfft(y, nfft), nfft)
    lags = np.arange(-max_lag, max_lag + 1)
    vals = c[lags % nfft] / (n * sx * sy)
    return vals


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
    import pandas as pd
    from scipy.stats import binomtest

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
    if not h["significant"]:
        res.findings.append("No contagion beyond chance: the symbols' liquidations look independent.")
    elif h["granger_reverse_significant"] >= max(1, h["granger_significant"]) and h["conditional_significant"] == 0:
        res.findings.append(f"The dependence runs both ways, with no lead of {leader}: the symbols share market-wide "
                            f"liquidation bursts rather than {leader} cascades spreading to the others.")
    res.plots.append(("lead_lag.png", lambda p: _plot_leadlag(curves, leader, far, p)))
    return res


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
    from statsmodels.tsa.stattools import grangercausalitytests

    def test(cause, effect):
        if len(effect) < 10 * lag + 10 or np.ptp(cause) == 0 or np.ptp(effect) == 0:
            return math.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = grangercausalitytests(np.column_stack([effect, cause]), maxlag=[lag])
        return float(r[lag][0]["ssr_ftest"][1])

    return test(x_lead, y), test(y, x_lead)


def _plot_leadlag(curves, leader, far, path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
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
    fig.savefig(path)
    plt.close(fig)


# ----------------------------------------------------------------------------------- volatility

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


# ------------------------------------------------------------------------------- open interest


def study_oi(panel: Panel, n_boot: int = 300, max_lag: int = 10, **_):
    """Open-interest changes between ticker snapshots decomposed into the quantity liquidated in the
    interval and the rest (organic flow): R², slope, quiet/volatile split, lead/lag."""
    import pandas as pd

    title = "open interest vs liquidations"
    have = [s for s in panel.names if len(panel.sym[s]["t_oi"]) >= 20]
    if not have:
        return unavailable("oi", title, "the input has no open-interest (ticker) events"
                           if panel.n("t_oi") == 0 else "fewer than 20 open-interest snapshots per symbol")
    if panel.n("t_liq") == 0:
        return unavailable("oi", title, "the input has no liquidations")
    rows, frames, lagrows = [], [], []
    for name in have:
        d = panel.sym[name]
        t, oi = d["te_oi"], d["oi"]
        o = np.argsort(t, kind="stable")
        t, oi = t[o], oi[o]
        keep = np.concatenate([[True], np.diff(t) > 0])
        t, oi = t[keep], oi[keep]
        doi = np.diff(oi)
        cum = np.concatenate([[0.0], np.cumsum(d["q_liq"][np.argsort(d["te_liq"], kind="stable")])])
        te = np.sort(d["te_liq"])
        closed = cum[np.searchsorted(te, t, side="right")]
        liq = np.diff(closed)
        # regime by realized volatility of the price over the previous hour
        pr = panel.price_at(name, t[1:])
        lr = np.diff(np.log(pr), prepend=np.nan)
        dt_med = float(np.median(np.diff(t))) if len(t) > 2 else NS_MIN
        w = max(2, int(NS_H / dt_med))
        rv = pd.Series(lr * lr).rolling(w, min_periods=w // 2).sum().shift(1).to_numpy()
        vol = np.where(np.isfinite(rv), np.where(rv > np.nanmedian(rv), "volatile", "quiet"), "?")
        f = pd.DataFrame({"symbol": name, "t": t[1:], "doi": doi, "liq": liq, "regime": vol})
        frames.append(f)
        xc = _xcorr(liq, doi, max_lag)
        for k, v in zip(range(-max_lag, max_lag + 1), xc):
            lagrows.append({"symbol": name, "lag": k, "corr": float(v)})
    fr = pd.concat(frames, ignore_index=True)
    # standardize per symbol for pooling
    g = fr.groupby("symbol")
    fr["doi_s"] = fr["doi"] / g["doi"].transform("std")
    fr["liq_s"] = fr["liq"] / g["doi"].transform("std")
    block = _blocks(fr["t"].to_numpy(), NS_H)
    for sym in ["ALL"] + have:
        for reg in ("all", "quiet", "volatile"):
            sel = np.ones(len(fr), bool) if sym == "ALL" else (fr.symbol == sym).to_numpy()
            if reg != "all":
                sel = sel & (fr.regime == reg).to_numpy()
            if sel.sum() < 20:
                continue
            beta, se, r2, n = _ols(fr["doi_s"].to_numpy()[sel] if sym == "ALL" else fr["doi"].to_numpy()[sel],
                                   fr["liq_s"].to_numpy()[sel] if sym == "ALL" else fr["liq"].to_numpy()[sel])
            # rank correlation: the liquidated quantity is heavy-tailed
            c = block_corr(fr["liq"].to_numpy()[sel], fr["doi"].to_numpy()[sel], block[sel], n_boot)
            rows.append({"symbol": sym, "regime": reg, "n": n, "r2": r2, "slope": beta[1], "slope_se": se[1],
                         "corr": math.copysign(math.sqrt(max(r2, 0.0)), beta[1]) if np.isfinite(r2) else math.nan,
                         "rank_corr": c[0], "rank_ci_low": c[1], "rank_ci_high": c[2], "p": c[3],
                         "organic_share": 1.0 - r2 if np.isfinite(r2) else math.nan})
    table = pd.DataFrame(rows)
    lag_df = pd.DataFrame(lagrows)
    pooled_lag = lag_df.groupby("lag")["corr"].mean()
    allr = table[(table.symbol == "ALL") & (table.regime == "all")].iloc[0]
    res = StudyResult("oi", title)
    res.tables = {"oi": table, "lead_lag": pooled_lag.reset_index()}
    r_q = table[(table.symbol == "ALL") & (table.regime == "quiet")]
    r_v = table[(table.symbol == "ALL") & (table.regime == "volatile")]
    res.headline = {"intervals": int(allr["n"]), "r2": float(allr["r2"]), "slope": float(allr["slope"]),
                    "corr": float(allr["corr"]), "rank_corr": float(allr["rank_corr"]),
                    "rank_ci_low": float(allr["rank_ci_low"]), "rank_ci_high": float(allr["rank_ci_high"]),
                    "p": float(allr["p"]),
                    "r2_quiet": float(r_q.r2.iloc[0]) if len(r_q) else math.nan,
                    "r2_volatile": float(r_v.r2.iloc[0]) if len(r_v) else math.nan,
                    "peak_lag": int(pooled_lag.abs().idxmax()), "peak_lag_corr": float(pooled_lag.loc[
                        pooled_lag.abs().idxmax()])}
    h = res.headline
    sig = h["rank_ci_high"] < 0 or h["rank_ci_low"] > 0
    res.findings.append(
        f"Over {h['intervals']:,} intervals between open-interest snapshots, the quantity liquidated explains "
        f"R² = {h['r2']:.1%} of the open-interest change (quiet {h['r2_quiet']:.1%}, volatile {h['r2_volatile']:.1%}); "
        f"correlation {h['corr']:+.3f}, slope {h['slope']:+.2f}; rank correlation {h['rank_corr']:+.3f} "
        f"[{h['rank_ci_low']:+.3f}, {h['rank_ci_high']:+.3f}], {_fmt_p(h['p'])}"
        + (" (liquidations close positions: negative)." if sig and h["corr"] < 0 else "."))
    if not sig:
        res.findings.append("Liquidations explain no part of the open-interest changes beyond chance: organic flow "
                            "dominates.")
    res.findings.append(f"Lead/lag (snapshot intervals): the strongest correlation is at lag {h['peak_lag']:+d} "
                        "(positive lag: liquidations lead).")
    res.plots.append(("oi.png", lambda p: _plot_oi(fr, pooled_lag, p)))
    return res


def _plot_oi(fr, lag, path):
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    s = fr.sample(min(len(fr), 5000), random_state=0)
    a1.scatter(s["liq_s"], s["doi_s"], s=3, alpha=0.3)
    a1.set_xlabel("liquidated quantity in the interval (per-symbol scaled)")
    a1.set_ylabel("open-interest change (per-symbol scaled)")
    a1.set_title("open-interest change vs liquidations", fontsize=9)
    a2.bar(lag.index, lag.values)
    a2.set_xlabel("lag (intervals; > 0: liquidations lead)")
    a2.set_ylabel("mean correlation")
    a2.set_title("lead/lag", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ------------------------------------------------------------------------------ microstructure


def study_microstructure(panel: Panel, sweep_gap_s: float = 2.0, sweep_min: int = 3, **_):
    """Time-of-day and day-of-week clustering of liquidations (tests over days as replicates),
    sweeps (consecutive same-side liquidations stepping through price levels) and what follows them,
    and absorption: price impact per 1 M of net liquidated notional, by session and weekend."""
    import pandas as pd
    from scipy.stats import kruskal, mannwhitneyu

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
        gid = np.cumsum(brk) - 1
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
    if len(ab):
        res.findings.append(
            f"Absorption: the 1-minute return rises with net liquidated notional (short minus long) with t > 3 for "
            f"{head['absorption_significant_positive']}/{head['absorption_symbols']} symbols (impact per 1 M in the "
            "absorption table, by session).")
    if "time_of_day" in res.tables:
        res.plots.append(("time_of_day.png", lambda p: _plot_tod(res.tables["time_of_day"], p)))
    return res


def _plot_tod(tod, path):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5), dpi=100)
    ax.bar(tod["hour"], tod["mean_liquidations"], color="tab:purple")
    ax.set_xlabel("hour of day (UTC)")
    ax.set_ylabel("liquidations per hour (mean over days)")
    ax.set_title("time-of-day profile of liquidations", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ------------------------------------------------------------------------------------ strategies

PLAN_STRATEGIES = ("cascade-fade", "imbalance-reversal", "zone-bounce", "vol-breakout")


def study_strategies(panel: Panel, params=None, strategies=PLAN_STRATEGIES, oos_share: float = 0.3, **_):
    """The research plan's four strategies run through the execution model on the same input, each
    with its documented default parameters (nothing is tuned on the input).  Per strategy: trades, win
    rate, mean return per trade with a 95% t interval, total return, max drawdown, the Sharpe ratio of
    daily returns over the whole input (in sample) and over its first ``1 - oos_share`` and last
    ``oos_share`` of days (a split in time: the later part is out of sample for any conclusion drawn
    on the earlier one)."""
    import pandas as pd
    from scipy.stats import t as student_t

    from liqcore.backtest import metrics as M
    from liqcore.backtest.run import prepare_events, run_strategy
    from liqcore.config import Params
    from liqcore.strategies.catalog import register_seven

    title = "the research plan's four strategies (backtests through the execution model)"
    if panel.n("t_trade") == 0:
        return unavailable("strategies", title, "the input has no trades (no prices to fill orders against)")
    if panel.n("t_liq") == 0:
        return unavailable("strategies", title, "the input has no liquidations (no strategy signal)")
    register_seven()  # the plan's strategies are registered under their names (idempotent)
    base = params if params is not None else Params()
    from liqcore.backtest.compare import needs_text
    from liqcore.backtest.run import input_kinds
    from liqcore.strategies import get_strategy

    events = prepare_events(panel.events)
    kinds = input_kinds(events)
    rows, notes = [], []
    for name in strategies:
        missing = sorted(set(get_strategy(name).needs) - kinds)
        if missing:  # its inputs are not in the data (e.g. funding): a row that says so, the others run
            why = needs_text(missing)
            notes.append(f"{name}: n/a — {why} (the input has no {', '.join(missing)} events)")
            rows.append({"strategy": name, "ran": False, "status": f"n/a — {why}", "trades": 0})
            continue
        try:
            r = run_strategy(events, panel.registry, base, name)
        except ValueError as e:  # another input check of the strategy: stated, not raised
            notes.append(f"{name}: not run because {e}")
            rows.append({"strategy": name, "ran": False, "status": f"n/a — {e}", "trades": 0})
            continue
        s = r.summary()
        led = r.ledger
        ret = led["ret"].astype(np.float64)
        n = len(ret)
        row = {"strategy": name, "ran": True, "status": "ran", "signals": int(s.get("signals", 0)), "trades": n,
               "win_rate": float(s["win_rate"]) if n else math.nan}
        if n >= 2 and ret.std(ddof=1) > 0:
            se = ret.std(ddof=1) / math.sqrt(n)
            tq = float(student_t.ppf(0.975, n - 1))
            row.update(mean_ret_bp=ret.mean() * 1e4, ci_low_bp=(ret.mean() - tq * se) * 1e4,
                       ci_high_bp=(ret.mean() + tq * se) * 1e4)
        else:
            row.update(mean_ret_bp=ret.mean() * 1e4 if n else math.nan, ci_low_bp=math.nan, ci_high_bp=math.nan)
        row["total_return"] = float(s["total_return"]) if n else 0.0
        row["max_drawdown"] = float(s["max_drawdown"]) if n else 0.0
        sh = s.get("sharpe")
        row["sharpe"] = float(sh) if sh is not None and n else math.nan
        daily = M.daily_returns(led, r.equity0, r.start_ns, r.end_ns)
        k = int(round(len(daily) * (1.0 - oos_share)))
        row["days"] = len(daily)
        row["active_days"] = int(np.count_nonzero(daily))  # days on which a trade closed
        lo, hi = M.sharpe_ci(daily) if n else (None, None)
        row["sharpe_ci_low"] = math.nan if lo is None else float(lo)
        row["sharpe_ci_high"] = math.nan if hi is None else float(hi)
        ins, oos = (M.sharpe(daily[:k]), M.sharpe(daily[k:])) if n and 2 <= k <= len(daily) - 2 else (None, None)
        row["sharpe_first"] = math.nan if ins is None else float(ins)
        row["sharpe_last"] = math.nan if oos is None else float(oos)
        (a, _), (b, _) = (M.sharpe_ci(daily[:k]), M.sharpe_ci(daily[k:])) if ins is not None and oos is not None \
            else ((None, None), (None, None))
        row["sharpe_first_ci_low"] = math.nan if a is None else float(a)
        row["sharpe_last_ci_low"] = math.nan if b is None else float(b)
        rows.append(row)
    tab = pd.DataFrame(rows)
    res = StudyResult("strategies", title)
    res.tables = {"strategies": tab}
    ran = tab[tab["ran"]] if len(tab) else tab
    with_trades = ran[ran["trades"] > 0] if len(ran) else ran
    sh = with_trades["sharpe"].to_numpy(np.float64) if len(with_trades) else np.zeros(0)
    best = with_trades.loc[with_trades["sharpe"].idxmax()] if len(with_trades) and np.isfinite(sh).any() else None
    res.headline = {
        "strategies_run": int(len(ran)), "with_trades": int(len(with_trades)),
        "trades": int(ran["trades"].sum()) if len(ran) else 0,
        "best_strategy": None if best is None else str(best["strategy"]),
        "best_sharpe": math.nan if best is None else float(best["sharpe"]),
        "sharpe_above_1": int(np.sum(sh > 1.0)), "sharpe_above_1_5": int(np.sum(sh > 1.5)),
        "sharpe_first_above_1_5_last_above_1": int(((with_trades["sharpe_first"] > 1.5)
                                                    & (with_trades["sharpe_last"] > 1.0)).sum())
        if len(with_trades) else 0,
        # the same counts where the 95% interval of the Sharpe ratio clears the threshold
        "sharpe_ci_above_1": int((with_trades["sharpe_ci_low"] > 1.0).sum()) if len(with_trades) else 0,
        "sharpe_first_ci_above_1_5_last_ci_above_1": int(((with_trades["sharpe_first_ci_low"] > 1.5)
                                                          & (with_trades["sharpe_last_ci_low"] > 1.0)).sum())
        if len(with_trades) else 0,
        "with_sharpe": int(np.isfinite(sh).sum()),
        "with_split_sharpe": int((np.isfinite(with_trades["sharpe_first"].to_numpy(np.float64))
                                  & np.isfinite(with_trades["sharpe_last"].to_numpy(np.float64))).sum())
        if len(with_trades) else 0,
        "oos_share": oos_share,
        "significant_positive": int((with_trades["ci_low_bp"] > 0).sum()) if len(with_trades) else 0,
    }
    h = res.headline
    for r in rows:
        if r.get("ran") and r["trades"]:
            res.findings.append(
                f"{r['strategy']}: {r['trades']} trade{'s' if r['trades'] != 1 else ''} closing on "
                f"{r['active_days']} of {r['days']} days, win rate {r['win_rate']:.0%}, mean return "
                f"{_bp(r['mean_ret_bp'])} per trade (95% CI [{_bp(r['ci_low_bp'])}, {_bp(r['ci_high_bp'])}]), "
                f"total {r['total_return']:+.2%}, Sharpe {_num2(r['sharpe'])} (95% CI [{_num2(r['sharpe_ci_low'])}, "
                f"{_num2(r['sharpe_ci_high'])}]; first {1 - oos_share:.0%} of days "
                f"{_num2(r['sharpe_first'])}, last {oos_share:.0%} {_num2(r['sharpe_last'])}).")
        elif r.get("ran"):
            res.findings.append(f"{r['strategy']}: no trade on this input (nothing to measure).")
    res.findings += notes
    if h["with_trades"] and h["significant_positive"] == 0 and h["sharpe_above_1"] == 0:
        res.findings.append("No strategy has an edge here: no mean return per trade is significantly positive "
                            "and no Sharpe ratio exceeds 1 (costs included: fees and slippage of the execution model).")
    elif h["with_trades"] == 0:
        res.findings.append("No strategy traded on this input: nothing to measure.")
    return res


# ------------------------------------------------------------------------------------ registry

STUDIES = {
    "event": study_event,
    "ic": study_ic,
    "heatmap": study_heatmap,
    "contagion": study_contagion,
    "volatility": study_volatility,
    "oi": study_oi,
    "microstructure": study_microstructure,
    "strategies": study_strategies,
}


def run_study(name: str, events_or_panel, registry=None, **kw) -> StudyResult:
    """Run one study by name on events (EVENT_DTYPE) or a :class:`Panel`."""
    if name not in STUDIES:
        raise ValueError(f"study: expected one of {', '.join(STUDIES)}; got {name!r}")
    panel = events_or_panel if isinstance(events_or_panel, Panel) else Panel(events_or_panel, registry,
                                                                           kw.pop("symbols", None))
    kw.pop("symbols", None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return STUDIES[name](panel, **kw)
