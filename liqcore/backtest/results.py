"""What a sweep and a walk-forward return, shown and drawn: :class:`SweepResult` (the sweep's table, a
pandas DataFrame, with the best cells in its short text and HTML displays and ``.plot(x=, y=)`` as a
heatmap) and :class:`WalkForwardResult` (the walk-forward report, a dict, with its folds in the displays
and ``.plot()``).  The figure functions here (:func:`sweep_figure`, :func:`walkforward_figure`) are the
ones the ``sweep`` and ``walkforward`` commands save as PNGs: one drawing code path.

Needs pandas for :class:`SweepResult` (imported with this module); matplotlib only when drawing.
"""
from __future__ import annotations

import html
import math
import textwrap

import numpy as np

from liqcore._extras import need
from liqcore.backtest.report import _Figures, _table, _ts, fmt

pd = need("sweep", "pandas")  # SweepResult is a DataFrame: the sweep extra (MissingExtra names it)

#: sweep metrics that are fractions: shown in % on figures and in the displays
PCT_METRICS = ("total_return", "win_rate", "max_drawdown", "avg_return", "fill_rate", "exposure")
#: the metric columns the displays show, in this order (those the table has)
SHOWN = ("trades", "win_rate", "avg_return", "total_return", "sharpe", "max_drawdown")
#: the metrics where the lowest value is the best
LOWER_IS_BETTER = ("max_drawdown",)


def unique_in_order(col) -> list:
    """Values in first-seen order (the grid's own order)."""
    return list(dict.fromkeys(col.tolist()))


def metric_label(metric: str) -> tuple[str, float]:
    """(axis label with the metric's unit, scale of the values)."""
    if metric in PCT_METRICS:
        return f"{metric} (%)", 100.0
    if metric == "sharpe":
        return "sharpe (daily returns, annualised)", 1.0
    if metric in ("trades", "fills", "orders", "cascades", "days", "take_profit", "stop_loss", "timeout") \
            or metric.startswith("n_"):
        return f"{metric} (count)", 1.0
    return metric, 1.0


def averaged_over(table, names: list[str], shown: list[str]) -> str:
    """What a figure's mean runs over, in words: the other grid parameters, the partitions (symbols)
    and the date ranges that have more than one value."""
    over = [f"{n} ({table[n].nunique()} values)" for n in names if n not in shown and table[n].nunique() > 1]
    if "partition" in table.columns and table["partition"].nunique() > 1:
        parts = unique_in_order(table["partition"])
        over.append(f"{len(parts)} partitions ({', '.join(map(str, parts[:5]))}{', ...' if len(parts) > 5 else ''})")
    if "range" in table.columns and table["range"].nunique() > 1:
        over.append(f"{table['range'].nunique()} date ranges")
    return ("mean over " + ", ".join(over) + ", equal weights") if over else "one cell per point"


def degradation_text(value, shown: str) -> str:
    """The overall degradation in words: ``shown`` (the value as its metric is printed) and which way it went
    (the degradation is how much worse the out-of-sample mean is than the in-sample mean, in the metric's better
    direction: negative when out of sample was better)."""
    if value is None or not math.isfinite(float(value)):
        return f"degradation {shown}"
    way = "worse out of sample" if value > 0 else ("better out of sample" if value < 0 else "the same out of sample")
    return f"degradation {shown} ({way})"


def _fmt_metric(metric: str, v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if metric in ("pbo", "dsr"):
        return f"{float(v):.2f}"
    if metric in ("avg_return", "total_return", "win_rate", "max_drawdown", "fill_rate", "exposure", "sharpe",
                  "avg_hold_s"):
        return fmt(metric, float(v))
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return fmt(metric, v.item() if isinstance(v, np.generic) else v)


# ---- figures ---------------------------------------------------------------------------------
def sweep_figure(table, names: list[str], metric: str = "total_return", grid=None):
    """Heatmap of ``metric`` over two grid parameters (``names``: rows, columns), or a line over one;
    axes in grid order.  Each point is the mean over everything else (the other parameters, the
    partitions, the date ranges), and the title says so; fractions are shown in %.  ``grid``: every
    grid parameter (default ``names``).  A matplotlib Figure (no pyplot state)."""
    if metric not in table.columns:
        raise ValueError(f"metric: unknown column {metric!r}; choose from {', '.join(map(str, table.columns))}")
    for n in names:
        if n not in table.columns:
            raise ValueError(f"plot: {n!r} is not a column of the sweep table (grid: {', '.join(map(str, grid or names))})")
    if not 1 <= len(names) <= 2:
        raise ValueError("plot: give one or two grid parameters")
    label, scale = metric_label(metric)
    fig, ax = _Figures.subplots(figsize=(7.5, 5.2))
    agg = averaged_over(table, list(grid) if grid else list(names), list(names))
    values = pd.to_numeric(table[metric], errors="coerce")
    frame = table.assign(**{metric: values})
    if len(names) == 2:
        a, b = names
        sub = frame.groupby([a, b], sort=False)[metric].mean().unstack(b)
        sub = sub.reindex(index=unique_in_order(table[a]), columns=unique_in_order(table[b]))
        vals = sub.to_numpy(dtype=float) * scale
        # diverging colours centred on zero: losses are red whatever the spread
        lim = max(float(np.nanmax(np.abs(vals))) if np.isfinite(vals).any() else 1.0, 1e-12)
        im = ax.imshow(vals, cmap="RdYlGn", aspect="auto", vmin=-lim, vmax=lim)
        ax.set_xticks(range(sub.shape[1]), [str(c) for c in sub.columns])
        ax.set_yticks(range(sub.shape[0]), [str(r) for r in sub.index])
        ax.set_xlabel(b)
        ax.set_ylabel(a)
        for (i, j), v in np.ndenumerate(vals):
            txt = "n/a" if not np.isfinite(v) else (f"{v:.3g}%" if scale == 100.0 else f"{v:.3g}")
            ax.text(j, i, txt, ha="center", va="center", fontsize=8)
        fig.colorbar(im, ax=ax, label=label)
    else:
        a = names[0]
        line = frame.groupby(a, sort=False)[metric].mean().reindex(unique_in_order(table[a])) * scale
        ax.plot([str(v) for v in line.index], line.to_numpy(dtype=float), marker="o")
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.set_xlabel(a)
        ax.set_ylabel(label)
    ax.set_title(f"{label}\n{agg}", fontsize=10)
    fig.tight_layout()
    return fig


def walkforward_figure(rep: dict):
    """Per fold: in-sample vs out-of-sample metric (bars); right: the grid's Sharpe ratios over the
    span.  What cannot be computed is written where it would stand.  A matplotlib Figure."""
    from matplotlib.ticker import MaxNLocator

    from liqcore.backtest.metrics import undefined_why

    m = rep["metric"]
    pct = m in ("total_return", "avg_return", "win_rate", "max_drawdown")
    scale = 100.0 if pct else 1.0
    label = {"sharpe": "Sharpe (daily returns, annualised)", "trades": "trades (count)"}.get(
        m, f"{m} (%)" if pct else m)
    fig, axes = _Figures.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    k = np.arange(len(rep["folds"]))
    ism = [f["in_sample"] for f in rep["folds"]]
    oom = [f["out_of_sample"] for f in rep["folds"]]
    iv = [np.nan if x.get(m) is None else x[m] * scale for x in ism]
    ov = [np.nan if x.get(m) is None else x[m] * scale for x in oom]
    ax.bar(k - 0.2, iv, 0.4, label="in-sample (train)")
    ax.bar(k + 0.2, ov, 0.4, label="out-of-sample (test)")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(k, [str(i) for i in k])
    ax.set_xlim(-0.6, max(len(k), 1) - 0.4)
    if m == "trades":
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for x, mm, dx in [(i, a, -0.2) for i, a in enumerate(ism)] + [(i, b, 0.2) for i, b in enumerate(oom)]:
        why = undefined_why(m, mm, short=True)
        if why:  # no bar: say why where it would stand
            ax.text(x + dx, 0, f"n/a: {why}", rotation=90, ha="center", va="bottom", fontsize=8, color="dimgrey")
    if all(np.isnan(iv + ov)):
        ax.set_ylim(-1, 1)
        ax.text(0.5, 0.97, textwrap.fill((rep.get("notes") or [f"{m} undefined in every fold"])[0], 58),
                transform=ax.transAxes, ha="center", va="top", fontsize=8,
                bbox={"facecolor": "white", "edgecolor": "grey"})
    ax.set_xlabel("fold")
    ax.set_ylabel(label)
    ax.set_title(f"{m}: chosen cell per fold")
    ax.legend(fontsize=8, loc="lower right")
    ax = axes[1]
    g = rep.get("grid_span") or []
    vals = [x.get("sharpe") for x in g if x.get("sharpe") is not None]
    if vals:
        ax.hist(vals, bins=min(30, max(5, len(vals) // 3)), color="tab:blue", alpha=0.8)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        why = sorted({undefined_why("sharpe", x) or "" for x in g} - {""})
        ax.text(0.5, 0.5, textwrap.fill("no cell has a Sharpe ratio over the span: " + "; ".join(why), 50),
                transform=ax.transAxes, ha="center", va="center", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_xlabel("Sharpe over the span (daily returns, annualised)")
    ax.set_ylabel("cells (count)")
    ax.set_title(_grid_title(rep))
    fig.tight_layout()
    return fig


def _grid_title(rep: dict) -> str:
    p, d = rep.get("pbo"), rep.get("dsr")
    has_p, has_d = bool(p and p.get("pbo") is not None), bool(d and d.get("dsr") is not None)
    pbo = f"PBO {p['pbo']:.2f}" if has_p else "PBO n/a"
    dsr = f"DSR {d['dsr']:.2f}" if has_d else "DSR n/a"
    return f"grid: {pbo}, {dsr}" if has_p else f"grid — {pbo}, {dsr}"


def figure_texts(fig) -> list[str]:
    """The titles and the notes written in a figure's axes (what a reader sees besides the data)."""
    return [a.get_title() for a in fig.axes] + [t.get_text() for a in fig.axes for t in a.texts]


# ---- sweep -----------------------------------------------------------------------------------
class SweepResult(pd.DataFrame):
    """A sweep's table: one row per parameter combination (per partition and date range at scale) with
    the parameters and the summary metrics.  It is a pandas DataFrame (indexing, ``to_dict``,
    ``iterrows``... as before; ``.table`` is the plain frame), with ``grid`` (the varied parameters'
    column names), :meth:`best`, :meth:`plot`, and short text and HTML displays naming the best cells."""

    _metadata = ["grid"]
    grid: list = []  # set by :meth:`of`

    @property
    def _constructor(self):
        return pd.DataFrame  # a slice or a computation of the table is a plain frame

    @classmethod
    def of(cls, table, grid) -> "SweepResult":
        out = cls(table)
        out.grid = [g for g in grid if g in out.columns]
        return out

    @property
    def table(self) -> pd.DataFrame:
        """The table as a plain DataFrame."""
        return pd.DataFrame(self)

    def _ranked(self, metric: str):
        if metric not in self.columns:
            raise ValueError(f"metric: unknown column {metric!r}; choose from {', '.join(map(str, self.columns))}")
        v = pd.to_numeric(self[metric], errors="coerce")
        return self.table.assign(_v=v).sort_values("_v", ascending=metric in LOWER_IS_BETTER, kind="stable",
                                                   na_position="last").drop(columns="_v")

    def best(self, metric: str = "total_return", n: int = 5) -> pd.DataFrame:
        """The ``n`` best rows by ``metric`` (highest first; lowest for max_drawdown; n/a last)."""
        return self._ranked(metric).head(n)

    def plot(self, x: str | None = None, y: str | None = None, metric: str = "total_return"):
        """Heatmap of ``metric`` with ``y`` on the rows and ``x`` on the columns (defaults: the first two
        grid parameters; a line over ``x`` when the grid has one parameter); each point is the mean over
        the rest of the table.  A matplotlib Figure."""
        grid = list(self.grid)
        names = [n for n in (y, x) if n is not None] if (x or y) else grid[:2]
        if not names:
            raise ValueError("plot: the sweep has no grid parameter to draw over; give x=")
        return sweep_figure(self.table, names, metric, grid=grid or names)

    def _shape(self) -> str:
        grid = list(self.grid)
        sizes = " x ".join(f"{g} ({self[g].nunique()})" for g in grid) or "no grid"
        extra = [f"{self[c].nunique()} {what}" for c, what in (("partition", "partitions"), ("range", "date ranges"))
                 if c in self.columns and self[c].nunique() > 1]
        return f"{len(self)} rows: {sizes}" + (f" x {' x '.join(extra)}" if extra else "")

    def _cell(self, row) -> str:
        keys = list(self.grid) + [c for c in ("partition", "range") if c in self.columns
                                                          and self[c].nunique() > 1]
        return ", ".join(f"{k}={row[k]}" for k in keys)

    def __repr__(self) -> str:
        head = f"<SweepResult {self._shape()}"
        if not len(self) or "total_return" not in self.columns:
            return head + f"; columns: {', '.join(map(str, self.columns[:12]))}>"
        top = self.best("total_return", 1).iloc[0]
        trades = f", {int(top['trades'])} trades" if "trades" in self.columns and pd.notna(top["trades"]) else ""
        return (head + f"; best total return {_fmt_metric('total_return', top['total_return'])} at "
                f"{self._cell(top)}{trades}; .table: {len(self)} x {len(self.columns)}, .best(), .plot()>")

    def __str__(self) -> str:
        """The short line, then the grid and the main metrics of the first 20 rows (``print(swept.table)``:
        every column)."""
        cols = [c for c in list(self.grid) + ["partition", "range"] + list(SHOWN) if c in self.columns]
        return self.__repr__() + "\n" + self.table[cols].to_string(max_rows=20)

    def _repr_html_(self) -> str:
        cols = [c for c in list(self.grid) + ["partition", "range"]
                if c in self.columns and (c in self.grid or self[c].nunique() > 1)]
        shown = [m for m in SHOWN if m in self.columns]

        def rows(frame):
            return [[str(r[c]) for c in cols] + [_fmt_metric(m, r[m]) for m in shown] for _, r in frame.iterrows()]

        header = cols + [m.replace("_", " ") for m in shown]
        parts = [f"<div><b>SweepResult</b>: {html.escape(self._shape())}"]
        if len(self) and "total_return" in self.columns:
            parts += ["<div>best 5 by total return (after fees):</div>", _table(header, rows(self.best()))]
        limit = 20
        parts += [f"<div>the table{f' (first {limit} of {len(self)} rows)' if len(self) > limit else ''}; every "
                  f"column ({len(self.columns)}) in <code>.table</code>:</div>", _table(header, rows(self.head(limit)))]
        return "".join(parts) + "</div>"


# ---- walk-forward ----------------------------------------------------------------------------
class WalkForwardResult(dict):
    """The walk-forward report: a dict (``folds``, ``overall``, ``pbo``, ``dsr``, ``grid_span``... as
    JSON writes it) with short text and HTML displays of its folds and ``.plot()``."""

    def plot(self):
        """In-sample vs out-of-sample metric per fold, and the grid's Sharpe ratios (a Figure)."""
        return walkforward_figure(self)

    @property
    def table(self) -> pd.DataFrame:
        """One row per fold: its windows, the chosen cell, the in- and out-of-sample metric."""
        m = self["metric"]
        return pd.DataFrame([{
            "fold": f["fold"], "train": _span(f["train_start_ns"], f["train_end_ns"]),
            "test": _span(f["test_start_ns"], f["test_end_ns"]),
            "cell": ", ".join(f"{k}={v}" for k, v in f["cell"].items()),
            f"in-sample {m}": f["in_sample"].get(m), f"out-of-sample {m}": f["out_of_sample"].get(m),
            "out-of-sample trades": f["out_of_sample"].get("trades")} for f in self["folds"]])

    def _line(self) -> str:
        m, ov = self["metric"], self["overall"]
        oos = ov.get("out_of_sample") or {}
        p, d = self.get("pbo") or {}, self.get("dsr") or {}
        return (f"{self['scheme']}, {len(self['folds'])} folds, {self['cells']} cells, chosen by {m}: "
                f"in-sample mean {_fmt_metric(m, ov.get('in_sample_mean'))}, out-of-sample mean "
                f"{_fmt_metric(m, ov.get('out_of_sample_mean'))} "
                f"({degradation_text(ov.get('degradation'), _fmt_metric(m, ov.get('degradation')))}); "
                f"test folds joined: total return {_fmt_metric('total_return', oos.get('total_return'))}, "
                f"{oos.get('trades', 0)} trades; PBO {_fmt_metric('pbo', p.get('pbo'))}, "
                f"DSR {_fmt_metric('dsr', d.get('dsr'))}")

    def __repr__(self) -> str:
        return f"<WalkForwardResult {self._line()}>"

    def __str__(self) -> str:
        return self.__repr__()

    def _repr_html_(self) -> str:
        m = self["metric"]
        t = self.table
        rows = [[str(r["fold"]), r["train"], r["test"], r["cell"], _fmt_metric(m, r[f"in-sample {m}"]),
                 _fmt_metric(m, r[f"out-of-sample {m}"]), str(r["out-of-sample trades"])] for _, r in t.iterrows()]
        parts = [f"<div><b>WalkForwardResult</b>: {html.escape(self._line())}",
                 _table(["fold", "train (UTC)", "test (UTC)", "chosen cell", f"in-sample {m}",
                         f"out-of-sample {m}", "out-of-sample trades"], rows)]
        g = [x for x in self.get("grid_span") or []]
        if g:
            key = m if any(x.get(m) is not None for x in g) else "total_return"
            sign = 1 if key in LOWER_IS_BETTER else -1
            g = sorted(g, key=lambda x: (x.get(key) is None, sign * (x.get(key) or 0)))[:5]
            parts += [f"<div>the grid's best cells over the whole span by {html.escape(key)} (in-sample: "
                      "chosen with hindsight):</div>",
                      _table(["cell", *(s.replace("_", " ") for s in SHOWN)],
                             [[", ".join(f"{k}={v}" for k, v in x["cell"].items()),
                               *(_fmt_metric(s, x.get(s)) for s in SHOWN)] for x in g])]
        for note in self.get("notes") or []:
            parts.append(f"<div>note: {html.escape(note)}</div>")
        return "".join(parts) + "</div>"


def _span(a, b) -> str:
    return f"{_ts(int(a))[:16]} -> {_ts(int(b))[:16]}"
