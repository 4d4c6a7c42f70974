"""Shared by the studies: time units, the result of a study (:class:`StudyResult`), the events split
per symbol (:class:`Panel`), and the statistics and number formats several studies use.  Imports
nothing from a study module."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from liqcore._extras import need
from liqcore.types import Kind

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

    def __repr__(self) -> str:
        """A few lines: the study, whether it ran, its tables' sizes and its first finding."""
        if not self.available:
            return f"<StudyResult {self.name}: not available because {_clip(self.reason, 200)}>"
        tabs = ", ".join(f"{k} ({len(t)} rows)" for k, t in list(self.tables.items())[:4])
        more = f" +{len(self.tables) - 4} more" if len(self.tables) > 4 else ""
        first = f"; first: {_clip(self.findings[0], 160)}" if self.findings else ""
        return (f"<StudyResult {self.name}: {_clip(self.title, 80)}; {len(self.findings)} finding(s){first}; "
                f"tables: {tabs or 'none'}{more}>")

    def _repr_html_(self) -> str:
        """The title, every finding, the headline numbers and the main table's first rows."""
        import html

        esc = html.escape
        parts = [f"<div><b>StudyResult {esc(self.name)}</b>: {esc(self.title)}"]
        if not self.available:
            return parts[0] + f"<div>not available because {esc(self.reason)}</div></div>"
        parts.append("<ul>" + "".join(f"<li>{esc(str(f))}</li>" for f in self.findings) + "</ul>")
        flat = {k: v for k, v in self.headline.items() if isinstance(v, (int, float, str, np.number))}
        if flat:
            parts.append("<table><thead><tr><th>headline</th><th>value</th></tr></thead><tbody>" + "".join(
                f"<tr><td>{esc(str(k))}</td><td>{esc(_num(v))}</td></tr>" for k, v in flat.items()) + "</tbody></table>")
        if self.tables:
            name, t = next(iter(self.tables.items()))
            rest = [k for k in self.tables if k != name]
            parts.append(f"<div>table <code>{esc(name)}</code> ({len(t)} rows; <code>.tables</code> holds "
                         f"{len(self.tables)}{': ' + esc(', '.join(rest)) if rest else ''}):</div>")
            parts.append(t.head(10).to_html(float_format=lambda v: f"{v:.4g}", max_cols=12))
        return "".join(parts) + "</div>"

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

    def plot(self, name: str | None = None):
        """One of the study's figures (a matplotlib Figure; a notebook shows it): ``name`` is its file
        name or stem (``res.plots`` lists them; default: the first), the figure the report writes."""
        if not self.available:
            raise ValueError(f"plot: the {self.name} study is not available ({self.reason})")
        if not self.plots:
            raise ValueError(f"plot: the {self.name} study draws no figure")
        names = [fname for fname, _draw in self.plots]
        for fname, draw in self.plots:
            if name is None or name in (fname, fname.rsplit(".", 1)[0]):
                return draw(None)
        raise ValueError(f"plot: the {self.name} study has no figure {name!r}; it has {', '.join(names)}")

    def write_plots(self, directory) -> list:
        from pathlib import Path

        out = []
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        for fname, draw in self.plots:
            p = d / fname
            draw(p)
            out.append(p)
        return out


def finish_figure(fig, path, **savefig_kw):
    """A study's figure ``fig``: returned when ``path`` is None (:meth:`StudyResult.plot`), else saved to
    ``path`` (PNG) with ``savefig_kw``."""
    if path is None:
        return fig
    fig.savefig(path, **savefig_kw)
    return None


def _clip(text, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def _num(v) -> str:
    return f"{float(v):.4g}" if isinstance(v, (float, np.floating)) else str(v)


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
    """``scipy.stats.rankdata(x)`` (ranks from 1, ties given their average rank, all NaN when ``x`` holds a
    NaN), for a 1-D ``x`` from one unstable sort: a tie's average rank does not depend on its members' order."""
    x = np.asarray(x)
    if x.ndim != 1 or x.dtype.kind not in "biuf":
        return need("research", "scipy.stats").rankdata(x)
    n = len(x)
    if x.dtype.kind == "f" and np.isnan(x).any():
        return np.full(n, np.nan)
    o = np.argsort(x)
    xs = x[o]
    new = np.ones(n, bool)
    np.not_equal(xs[1:], xs[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)
    r = np.empty(n, np.float64)
    r[o] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return r


def block_corr(x, y, blocks, n_boot: int = 300, seed: int = 0, spearman: bool = True):
    """Correlation of ``x`` and ``y`` (Spearman by default) with a block bootstrap over ``blocks``
    (integer labels; whole blocks are resampled).  Returns ``(corr, lo95, hi95, p, n)``: the interval
    is the wider of the bootstrap percentile interval and ``corr +- t(k-1) * se`` (``se`` the
    bootstrap standard error scaled by ``sqrt(k / (k - 1))``, ``k`` blocks), ``p`` the two-sided
    Student-t p-value with ``k - 1`` degrees of freedom: conservative when there are few blocks.  The
    standard error is never taken below ``1 / sqrt(n)``, its value for independent observations
    (the bootstrap can understate it when one variable is heavy-tailed)."""
    student_t = need("research", "scipy.stats").t

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


def _xcorr(x: np.ndarray, y: np.ndarray, max_lag: int) -> np.ndarray:
    """corr(x_t, y_{t+k}) for k = -max_lag..max_lag (FFT)."""
    n = len(x)
    x = x - x.mean()
    y = y - y.mean()
    sx, sy = x.std(), y.std()
    if sx == 0 or sy == 0:
        return np.full(2 * max_lag + 1, np.nan)
    sfft = need("research", "scipy.fft")

    nfft = sfft.next_fast_len(n + max_lag + 1, real=True)  # no circular wrap within +-max_lag
    c = sfft.irfft(np.conj(sfft.rfft(x, nfft)) * sfft.rfft(y, nfft), nfft)
    lags = np.arange(-max_lag, max_lag + 1)
    vals = c[lags % nfft] / (n * sx * sy)
    return vals
