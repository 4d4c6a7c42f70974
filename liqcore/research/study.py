"""Post-cascade event study: what the price did after every confirmed cascade.

The details: docs/maintainers/research.md, "The event study, how it is computed".

May import: ``numpy``, ``pandas``, ``_atomic``, ``backtest.report``, ``config``, ``types`` and this
package's ``features``.
"""
from __future__ import annotations

import math

import numpy as np

from liqcore._extras import need
from liqcore.types import CASCADE_DTYPE, Dominant, Kind, SymbolRegistry, dominant_name

__all__ = ["event_study", "summarize_study", "horizon_label", "study_horizons", "parse_horizons"]

DEFAULT_HORIZONS = ("10s", "30s", "1m", "5m", "15m")


def horizon_label(ns: int) -> str:
    """``10_000_000_000`` -> ``"10s"``; minutes and hours when exact."""
    from liqcore.config import format_duration

    return format_duration(int(ns))


def parse_horizons(horizons) -> list[tuple[str, int]]:
    from liqcore.config import parse_duration

    if isinstance(horizons, str):
        horizons = [h for h in horizons.split(",") if h.strip()]
    out = []
    for h in horizons:
        ns = parse_duration(h.strip() if isinstance(h, str) else h, "horizons")
        if ns <= 0:
            raise ValueError(f"horizons: every horizon must be positive; got {h!r}")
        out.append((horizon_label(ns), ns))
    if not out:
        raise ValueError("horizons: give at least one horizon")
    out = sorted(dict(out).items(), key=lambda kv: kv[1])
    return out


def study_horizons(df) -> list[str]:
    """The horizon labels of an :func:`event_study` frame, shortest first."""
    hs = df.attrs.get("horizons")
    if hs:
        return list(hs)
    return [c[len("signed_ret_"):] for c in df.columns if c.startswith("signed_ret_")]


def event_study(events, registry: SymbolRegistry | None, records: np.ndarray | None = None, params=None,
                horizons=DEFAULT_HORIZONS, *, symbols=None, max_ref_age=None):
    """One row per CONFIRMED cascade with the forward (signed) returns and excursions of the last
    trade price at each horizon after the decision time; a pandas DataFrame (columns in the module
    docstring and ``docs/how-to/research.md``).  ``records``: the detector's records on ``events`` (default:
    run the compiled detector with ``params``, default :class:`liqcore.config.Params`).
    ``max_ref_age``: the oldest usable reference trade (a duration; default ``params.max_ref_age_ns``,
    the strategy's 5 s); an older one leaves the cascade without a reference (every return NaN,
    ``ref_age_ns`` still reported)."""
    pd = need("research", "pandas")

    from liqcore.research.features import _check_events, _confirmed_records, select_symbols, sort_recv

    from liqcore.config import Params, parse_duration

    events = _check_events(events)
    hz = parse_horizons(horizons)
    params = params or Params()
    max_age = params.max_ref_age_ns if max_ref_age is None else parse_duration(max_ref_age, "max_ref_age")
    events = sort_recv(select_symbols(events, registry, symbols))
    if records is None and not np.any(events["kind"] == Kind.LIQUIDATION):
        rec = np.zeros(0, CASCADE_DTYPE)
    else:
        rec = _confirmed_records(events, records, params)
    if symbols is not None:
        rec = rec[np.isin(rec["symbol_id"], np.unique(events["symbol_id"]))]
    rec = rec[np.lexsort((rec["event_index"], rec["confirm_recv_ns"]))]

    px_all = events["price"]
    trade = (events["kind"] == Kind.TRADE) & np.isfinite(px_all) & (px_all > 0)
    tr = events[trade]
    n = len(rec)
    sign = np.where(rec["dominant"] == Dominant.LONG, 1.0, np.where(rec["dominant"] == Dominant.SHORT, -1.0, np.nan))
    ref = np.full(n, np.nan)
    ref_age = np.full(n, -1, dtype=np.int64)
    res = {lab: {k: np.full(n, np.nan) for k in ("ret", "signed_ret", "mae", "mfe")} for lab, _ in hz}
    t0 = rec["confirm_recv_ns"].astype(np.int64)
    for s in np.unique(rec["symbol_id"]).tolist():
        idx = np.flatnonzero(rec["symbol_id"] == s)
        mine = tr[tr["symbol_id"] == s]
        if len(mine) == 0:
            continue
        ts, px = mine["ts_recv"], mine["price"]
        i0 = np.searchsorted(ts, t0[idx], side="right") - 1
        ok = i0 >= 0
        ref_age[idx[ok]] = t0[idx[ok]] - ts[i0[ok]]
        ok &= ref_age[idx] <= max_age
        ref[idx[ok]] = px[i0[ok]]
        for lab, h in hz:
            ih = np.searchsorted(ts, t0[idx] + h, side="right") - 1
            seen = ok & (t0[idx] + h <= ts[-1])
            r = res[lab]
            for j in np.flatnonzero(seen).tolist():
                k = int(idx[j])
                p0 = ref[k]
                r["ret"][k] = px[ih[j]] / p0 - 1.0
                path = px[i0[j] + 1: ih[j] + 1]
                if math.isnan(sign[k]):
                    continue
                r["signed_ret"][k] = sign[k] * r["ret"][k]
                if len(path):
                    moves = sign[k] * (path / p0 - 1.0)
                    r["mae"][k] = max(0.0, -float(moves.min()))
                    r["mfe"][k] = max(0.0, float(moves.max()))
                else:
                    r["mae"][k] = r["mfe"][k] = 0.0

    def name(s):
        return registry.symbol(s) if registry is not None and s < len(registry) else str(s)

    def venue(s):
        return registry.venue(s).name.lower() if registry is not None and s < len(registry) else "?"

    out = {
        "venue": [venue(int(s)) for s in rec["symbol_id"]],
        "symbol": [name(int(s)) for s in rec["symbol_id"]],
        "symbol_id": rec["symbol_id"].astype(np.int32),
        "cascade_id": rec["cascade_id"].astype(np.int32),
        "dominant": [dominant_name(int(d)) for d in rec["dominant"]],
        "sign": sign,
        "decision_time": pd.to_datetime(t0, unit="ns", utc=True),
        "confirm_recv_ns": t0,
        "start_ns": rec["start_ns"].astype(np.int64),
        "confirm_ns": rec["confirm_ns"].astype(np.int64),
        "long_notional": rec["long_notional"].astype(np.float64),
        "short_notional": rec["short_notional"].astype(np.float64),
        "n_large": rec["n_large"].astype(np.int32),
        "threshold": rec["threshold"].astype(np.float64),
        "ref_price": ref,
        "ref_age_ns": ref_age,
    }
    for lab, _ in hz:
        for k in ("ret", "signed_ret", "mae", "mfe"):
            out[f"{k}_{lab}"] = res[lab][k]
    df = pd.DataFrame(out)
    df.attrs["horizons"] = [lab for lab, _ in hz]
    df.attrs["horizons_ns"] = [h for _, h in hz]
    df.attrs["max_ref_age_ns"] = int(max_age)
    return df


def _bootstrap_ci(x: np.ndarray, level: float, n_boot: int, rng) -> tuple[float, float]:
    if len(x) < 2:
        return math.nan, math.nan
    means = x[rng.integers(0, len(x), size=(n_boot, len(x)))].mean(axis=1)
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [a, 1.0 - a])
    return float(lo), float(hi)


def t_stat(x: np.ndarray) -> float:
    """mean / standard error (sample std, ddof 1) of the finite values ``x``: NaN below 2 values or with
    no spread.  The one rule of every study table's t."""
    n = len(x)
    if n < 2:
        return math.nan
    std = float(np.std(x, ddof=1))
    return float(np.mean(x)) / (std / math.sqrt(n)) if std > 0 else math.nan


def summarize_study(df, *, ci: float = 0.95, n_boot: int = 2000, seed: int = 0, by_symbol: bool = True):
    """Per (symbol, dominant side, horizon): ``n`` observed cascades, ``mean`` and ``median`` signed
    return, ``std``, ``t_stat`` (mean / standard error), a bootstrap percentile CI of the mean
    (``ci_low``, ``ci_high``; ``ci`` level, ``n_boot`` resamples, seeded), ``reversion_share`` (share
    with a signed return > 0), ``mean_mae`` and ``mean_mfe``.  Rows for ``symbol == "ALL"`` pool
    every symbol; ``by_symbol=False`` gives only those.  Mixed cascades carry no sign and are left out."""
    pd = need("research", "pandas")

    if not 0.0 < ci < 1.0:
        raise ValueError(f"ci: must be in (0, 1); got {ci!r}")
    if int(n_boot) < 1:
        raise ValueError(f"n_boot: must be >= 1; got {n_boot!r}")
    rng = np.random.default_rng(seed)
    horizons = study_horizons(df)
    signed = df[df["dominant"].isin(["long", "short"])] if len(df) else df
    groups = []
    if by_symbol:
        for (sym, dom), g in signed.groupby(["symbol", "dominant"], sort=True):
            groups.append((sym, dom, g))
    for dom, g in signed.groupby("dominant", sort=True) if len(signed) else []:
        groups.append(("ALL", dom, g))
    if len(signed):
        groups.append(("ALL", "both", signed))
    rows = []
    for sym, dom, g in groups:
        for h in horizons:
            x = g[f"signed_ret_{h}"].to_numpy(dtype=np.float64)
            x = x[np.isfinite(x)]
            n = len(x)
            mean = float(x.mean()) if n else math.nan
            std = float(x.std(ddof=1)) if n > 1 else math.nan
            t = t_stat(x)
            lo, hi = _bootstrap_ci(x, ci, int(n_boot), rng)
            mae = g[f"mae_{h}"].to_numpy(dtype=np.float64)
            mfe = g[f"mfe_{h}"].to_numpy(dtype=np.float64)
            rows.append({
                "symbol": sym, "dominant": dom, "horizon": h, "n": n, "mean": mean,
                "median": float(np.median(x)) if n else math.nan, "std": std, "t_stat": t,
                "ci_low": lo, "ci_high": hi,
                "reversion_share": float(np.mean(x > 0)) if n else math.nan,
                "mean_mae": float(np.nanmean(mae)) if np.isfinite(mae).any() else math.nan,
                "mean_mfe": float(np.nanmean(mfe)) if np.isfinite(mfe).any() else math.nan,
            })
    cols = ["symbol", "dominant", "horizon", "n", "mean", "median", "std", "t_stat", "ci_low", "ci_high",
            "reversion_share", "mean_mae", "mean_mfe"]
    out = pd.DataFrame(rows, columns=cols)
    out.attrs["ci"] = ci
    out.attrs["horizons"] = horizons
    return out


def plot_study(summary, path, title: str = "post-cascade signed return"):
    """Mean signed return (bp) vs horizon for the pooled long- and short-dominant rows, with the
    bootstrap CI as a band; written to ``path`` (PNG), or returned as a Figure when ``path`` is None."""
    from liqcore.backtest.report import new_figure

    horizons = summary.attrs.get("horizons") or list(dict.fromkeys(summary["horizon"]))
    fig, ax = new_figure(figsize=(7, 4.2), dpi=110)
    x = np.arange(len(horizons))
    colors = {"long": "tab:green", "short": "tab:red", "both": "tab:blue"}
    labels = {"long": "long-dominant (longs flushed)", "short": "short-dominant (shorts flushed)",
              "both": "all signed cascades"}
    for dom in ("long", "short", "both"):
        g = summary[(summary["symbol"] == "ALL") & (summary["dominant"] == dom)]
        if g.empty:
            continue
        g = g.set_index("horizon").reindex(horizons)
        ax.plot(x, g["mean"] * 1e4, marker="o", color=colors[dom],
                label=f"{labels[dom]} (n={int(g['n'].max())})", lw=2 if dom != "both" else 1,
                ls="-" if dom != "both" else "--")
        ax.fill_between(x, g["ci_low"] * 1e4, g["ci_high"] * 1e4, color=colors[dom], alpha=0.15)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xticks(x, horizons)
    ax.set_xlabel("horizon after the decision (confirm receive time)")
    ax.set_ylabel("mean signed return, bp (+ = reversion)")
    ci = summary.attrs.get("ci", 0.95)
    import textwrap

    head = "\n".join(textwrap.wrap(title, 80)[:2])
    ax.set_title(f"{head}\nbands: {ci:.0%} bootstrap CI of the mean", fontsize=9)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    if path is None:
        return fig
    from liqcore._atomic import save_figure

    save_figure(fig, path)  # through a temporary file: the earlier figure stays until this one is whole
    return None
