"""Walk-forward validation over a parameter grid.

:func:`folds` cuts a time span into train/test folds (rolling: the train window slides with the test
window; expanding: it always starts at the span start).  :func:`walkforward` evaluates every cell on
every train window, picks the best cell of each fold by a metric (detector parameters included), runs
that cell alone on the fold's test window, and adds the overfitting statistics of the whole grid
(CSCV probability of backtest overfitting, deflated Sharpe ratio) from each cell's daily returns
over the span.  Several partitions (symbols) are combined with equal weights: a day's return is the
mean of the partitions' returns that day.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from liqcore.backtest.metrics import undefined_why
from liqcore.sweep.store import run_cells
from liqcore.sweep.cells import NS_PER_DAY, SELECT_METRICS, Window

__all__ = ["Fold", "folds", "parse_span", "walkforward", "combine"]


@dataclass(frozen=True)
class Fold:
    index: int
    train: Window
    test: Window


def parse_span(value, span_ns: int, name: str) -> int:
    """``'10d'``/``'12h'``/... -> ns; a plain number below 1 (``0.25``) -> that fraction of the span."""
    from liqcore.config import parse_duration

    if value is None:
        return 0
    s = str(value).strip()
    try:
        x = float(s)
    except ValueError:
        x = None
    if x is not None and 0 < x < 1:
        return int(span_ns * x)
    if x is not None and x >= 1 and not any(c.isalpha() for c in s):
        raise ValueError(f"{name}: give a duration with a unit (e.g. 10d) or a fraction below 1; got {value!r}")
    ns = parse_duration(s, name)
    if ns <= 0:
        raise ValueError(f"{name}: must be positive; got {value!r}")
    return ns


def folds(start_ns: int, end_ns: int, n_folds: int, train=None, test=None, scheme: str = "rolling") -> list[Fold]:
    """Train/test folds over [start_ns, end_ns).  ``train``/``test``: durations (``'10d'``) or
    fractions of the span (``0.3``); by default the span is cut into ``n_folds + 1`` equal blocks
    (the first is the first train window, each next one a test window).  Fold k tests
    [start + train + k test, + test); rolling trains on the ``train`` before it, expanding on
    everything before it.  A test window past the end of the span or an empty one is a ValueError."""
    if scheme not in ("rolling", "expanding"):
        raise ValueError(f"scheme: expected rolling or expanding; got {scheme!r}")
    n = int(n_folds)
    if n < 1:
        raise ValueError(f"folds: must be >= 1; got {n_folds!r}")
    span = int(end_ns) - int(start_ns)
    if span <= 0:
        raise ValueError("folds: the data span is empty")
    tr = parse_span(train, span, "train")
    te = parse_span(test, span, "test")
    if not tr and not te:
        tr = te = span // (n + 1)
    elif not te:
        te = (span - tr) // n
    elif not tr:
        tr = span - n * te
    if te <= 0 or tr <= 0:
        raise ValueError(f"folds: {n} folds leave an empty {'test' if te <= 0 else 'train'} window "
                         f"in a span of {span / NS_PER_DAY:g} days")
    if tr + n * te > span:
        raise ValueError(f"folds: train {tr / NS_PER_DAY:g}d + {n} test folds of {te / NS_PER_DAY:g}d exceed "
                         f"the data span of {span / NS_PER_DAY:g}d: the last test fold would be empty")
    out = []
    for k in range(n):
        t0 = start_ns + tr + k * te
        a = start_ns if scheme == "expanding" else t0 - tr
        out.append(Fold(k, Window(a, t0, f"train{k}"), Window(t0, t0 + te, f"test{k}")))
    return out


def _days(rows) -> dict[int, list]:
    """day index -> returns of that day over the rows (partitions)."""
    acc: dict[int, list] = {}
    for r in rows:
        d0 = int(r["day0"])
        for i, x in enumerate(r["daily"]):
            acc.setdefault(d0 + i, []).append(float(x))
    return acc


def combine(rows: list[dict]) -> dict:
    """Metrics of a cell over several partitions (equal weights): daily return = mean of the
    partitions' returns that day; total return, Sharpe (x sqrt 365) and max drawdown from that
    series; trades, wins, fills summed."""
    from liqcore.backtest import metrics as M

    if len(rows) == 1 and "daily" not in rows[0]:
        return dict(rows[0])
    acc = _days(rows)
    days = sorted(acc)
    daily = np.array([np.mean(acc[d]) for d in days]) if days else np.zeros(0)
    curve = np.concatenate([[1.0], np.cumprod(1.0 + daily)])
    trades = int(sum(int(r["trades"] or 0) for r in rows))
    wins = int(sum(int(r.get("wins") or 0) for r in rows))
    avg = (sum((r["avg_return"] or 0.0) * (r["trades"] or 0) for r in rows) / trades) if trades else None
    # one partition: its own realised drawdown (trade by trade), as its sweep row says; several: that of the
    # daily closing equity of their mean (the only curve they share)
    dd = rows[0].get("max_drawdown") if len(rows) == 1 and rows[0].get("max_drawdown") is not None \
        else M.max_drawdown(curve)
    return {"trades": trades, "win_rate": wins / trades if trades else None, "avg_return": avg,
            "total_return": float(curve[-1] - 1.0), "sharpe": M._finite(M.sharpe(daily)),
            "max_drawdown": dd, "fills": int(sum(int(r["fills"] or 0) for r in rows)),
            "days": len(days), "day0": days[0] if days else 0, "daily": daily.tolist()}


def join_folds(fold_metrics: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """The test folds' returns joined in time: ``(daily, steps)``.  ``steps``: every fold's daily
    returns one fold after the other (the folds in time order, not overlapping), so a UTC day two
    folds share is two steps (the first fold's part of it, then the second's); ``daily``: one return a
    UTC day, a shared day holding its folds' parts compounded ((1 + a)(1 + b) - 1).  Both compound to
    the folds' returns compounded, whatever the day boundaries.  ``fold_metrics``: :func:`combine`
    dicts with ``day0`` and ``daily``."""
    days: dict[int, float] = {}
    steps: list[float] = []
    for m in fold_metrics:
        for i, x in enumerate(m.get("daily") or []):
            d = int(m["day0"]) + i
            days[d] = (1.0 + days.get(d, 0.0)) * (1.0 + float(x)) - 1.0
            steps.append(float(x))
    return np.array([days[d] for d in sorted(days)], dtype=float), np.array(steps, dtype=float)


def _score(metric: str, v) -> float:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return -math.inf
    return -float(v) if metric == "max_drawdown" else float(v)


def walkforward(cells: list[dict], partitions, span: tuple[int, int], n_folds: int, base, det_names,
                *, train=None, test=None, scheme: str = "rolling", metric: str = "sharpe", equity: float = 1.0,
                runner=None, progress: bool = False, cscv_blocks: int = 16, out=None) -> dict:
    """The walk-forward report (a :class:`~liqcore.backtest.results.WalkForwardResult`: a JSON-able
    dict with short text and HTML displays and ``.plot()``): ``folds`` (per fold: windows, chosen cell,
    in-sample and out-of-sample metrics), ``overall`` (mean in-sample metric, out-of-sample metrics of
    the concatenated test folds, degradation), ``pbo`` and ``dsr`` over the whole grid."""
    from liqcore.sweep import overfit

    if metric not in SELECT_METRICS:
        raise ValueError(f"metric: expected one of {', '.join(SELECT_METRICS)}; got {metric!r}")
    if not 2 <= int(cscv_blocks) <= overfit.MAX_BLOCKS or int(cscv_blocks) % 2:  # (before the grid runs)
        raise ValueError(f"cscv-blocks: must be an even number >= 2 and at most {overfit.MAX_BLOCKS}; got {cscv_blocks}")
    fl = folds(span[0], span[1], n_folds, train, test, scheme)
    if len(cells) < 2:
        raise ValueError("walkforward: the grid needs at least 2 cells to choose from")
    from liqcore.sweep.runners import LocalRunner

    runner = runner or LocalRunner(1)
    with runner:
        return _walkforward(cells, partitions, fl, span, base, det_names, metric, equity, runner, progress,
                            cscv_blocks, out, scheme)


def _walkforward(cells, partitions, fl, span, base, det_names, metric, equity, runner, progress, cscv_blocks,
                 out, scheme):
    from liqcore.sweep import overfit

    full = Window(span[0], span[1], "span")
    windows = [f.train for f in fl] + [full]
    table, stats1 = run_cells(cells, partitions, windows, base, det_names, equity=equity, with_daily=True,
                              out=out, runner=runner, progress=progress, description="train folds")
    names = list(cells[0])
    table["_cell"] = table[names].astype(str).agg("|".join, axis=1)
    cell_ids = ["|".join(str(c[n]) for n in names) for c in cells]
    by = {}
    for rec in table.to_dict("records"):
        by.setdefault((rec["_cell"], rec["range"]), []).append(rec)
    # 1) choose per fold
    chosen = []
    for f in fl:
        best, best_s, best_m = None, -math.inf, None
        for ci, cid in enumerate(cell_ids):
            m = combine(by[(cid, f.train.name)])
            s = _score(metric, m.get(metric))
            if best is None or s > best_s:
                best, best_s, best_m = ci, s, m
        chosen.append((best, best_m))
    # 2) run each chosen cell on its test fold only
    test_cells = []
    for f, (ci, _m) in zip(fl, chosen):
        test_cells.append((f, cells[ci]))
    from liqcore.sweep.cells import plan_tasks

    tasks = []
    for f, c in test_cells:
        ts, _ = plan_tasks([c], partitions, [f.test], base, det_names, equity, True, chunk=1)
        for t in ts:
            t.fold = f.index
        tasks.extend(ts)
    order = {p.label: i for i, p in enumerate(partitions)}
    tasks.sort(key=lambda t: order[t.part.label])  # one partition after the other: loaded once
    per_fold: dict[int, list] = {}
    import time

    from liqcore.sweep.runners import scheduling

    counters = getattr(runner, "counters", None)
    before, t_run = (counters.snapshot() if counters is not None else None), time.perf_counter()
    # the small test tasks go to the workers in batches (one consecutive run each), partition by partition
    done = [(t, rows) for t, rows in runner.run(tasks)]
    # in one order (fold, partition, task), whatever order the workers finished in: a fold's sums are
    # the same on every run and every runner
    for t, rows in sorted(done, key=lambda x: (x[0].fold, order[x[0].part.label], x[0].key)):
        per_fold.setdefault(t.fold, []).extend(rows)
    if counters is not None:
        stats1 = {**stats1, "test_folds": {"tasks": len(tasks), **scheduling(
            runner, before, time.perf_counter() - t_run, len({t.part.label for t in tasks}))}}
    oos_rows = {f.index: combine(per_fold[f.index]) for f in fl}
    report_folds = []
    for f, (ci, ism) in zip(fl, chosen):
        om = oos_rows[f.index]
        why_is, why_oos = undefined_why(metric, ism), undefined_why(metric, om)
        report_folds.append({
            "chosen_by": None if why_is else metric,
            "note": ({"in_sample": why_is, "out_of_sample": why_oos}
                     | ({"chosen": f"no cell has a {metric} on the train window ({why_is}): the first cell is "
                                   "used"} if why_is else {})) if (why_is or why_oos) else None,
            "fold": f.index, "train_start_ns": f.train.start_ns, "train_end_ns": f.train.end_ns,
            "test_start_ns": f.test.start_ns, "test_end_ns": f.test.end_ns,
            "cell": {k: str(v) for k, v in cells[ci].items()},
            "in_sample": {k: v for k, v in ism.items() if k not in ("daily", "day0")},
            "out_of_sample": {k: v for k, v in om.items() if k not in ("daily", "day0")},
        })
    from liqcore.backtest import metrics as M

    # the folds joined in time: a day two folds share holds both parts (not the later fold's alone)
    od, steps = join_folds([oos_rows[f.index] for f in fl])
    is_vals = [_finite(f["in_sample"].get(metric)) for f in report_folds]
    oos_vals = [_finite(f["out_of_sample"].get(metric)) for f in report_folds]
    curve = np.concatenate([[1.0], np.cumprod(1.0 + steps)])  # the drawdown sees each fold's part of a day
    overall_oos = {"total_return": float(curve[-1] - 1.0), "sharpe": M._finite(M.sharpe(od)),
                   "max_drawdown": M.max_drawdown(curve),
                   "trades": int(sum(f["out_of_sample"]["trades"] or 0 for f in report_folds))}
    # the means over the folds where both are defined (a fold n/a on one side is left out of both), counted
    both = [(i, o) for i, o in zip(is_vals, oos_vals) if i is not None and o is not None]
    is_mean = _mean([i for i, _o in both]) if both else _mean(is_vals)
    oos_mean = _mean([o for _i, o in both]) if both else _mean(oos_vals)
    notes = []
    if is_mean is None or oos_mean is None:
        whys = sorted({w for f in report_folds for w in (f["note"] or {}).values()
                       if w and not w.startswith("no cell")})
        notes.append(f"{metric} is undefined in every {'train' if is_mean is None else 'test'} window: "
                     + "; ".join(whys)
                     + (" (on a span of a few days choose by --metric total_return)" if metric == "sharpe" else ""))
    overall = {"metric": metric, "in_sample_mean": is_mean, "out_of_sample_mean": oos_mean,
               "folds_in_means": len(both) if both else None, "folds": len(report_folds),
               # how much worse out of sample, in the metric's better direction (< 0: better out of sample)
               "degradation": (_score(metric, is_mean) - _score(metric, oos_mean))
               if (is_mean is not None and oos_mean is not None) else None,
               "out_of_sample": overall_oos}
    # 3) overfitting statistics over the whole grid, from each cell's daily returns over the span
    span_m = [combine(by[(cid, "span")]) for cid in cell_ids]
    d0 = min(m["day0"] for m in span_m)
    T = max(m["day0"] + len(m["daily"]) for m in span_m) - d0
    R = np.zeros((T, len(cells)))
    for j, m in enumerate(span_m):
        R[m["day0"] - d0: m["day0"] - d0 + len(m["daily"]), j] = m["daily"]
    S = min(int(cscv_blocks), T - T % 2)
    pbo_res = None
    if S >= 2:
        p = overfit.pbo(R, blocks=S)
        pbo_res = {"pbo": p["pbo"], "blocks": p["blocks"], "combinations": p["combinations"],
                   "mean_logit": p["mean_logit"], "configurations": p["configurations"], "periods": T,
                   # (equal blocks: the first T mod S days are left out)
                   "periods_used": T - T % S}
    srs = overfit.period_sharpe(R, axis=0)
    best = int(np.argmax(srs))
    d = overfit.deflated_sharpe(R[:, best], len(cells), float(np.var(srs, ddof=1)) if len(cells) > 1 else 0.0)
    d["cell"] = {k: str(v) for k, v in cells[best].items()}
    if d.get("dsr") is None:
        d["why"] = (f"the span covers {T} UTC day(s): the deflated Sharpe ratio needs at least 3 days of "
                    "daily returns" if T < 3 else "the best cell's daily returns have no spread")
    from liqcore.backtest.results import WalkForwardResult

    return WalkForwardResult({"scheme": scheme, "metric": metric, "folds": report_folds, "overall": overall, "pbo": pbo_res,
            "notes": notes,
            "dsr": d, "cells": len(cells), "partitions": [p.label for p in partitions],
            "span": [int(span[0]), int(span[1])], "stats": stats1,
            "grid_span": [{"cell": {k: str(v) for k, v in c.items()},
                           **{k: v for k, v in m.items() if k not in ("daily", "day0")}}
                          for c, m in zip(cells, span_m)]})


def _finite(v):
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _mean(vals):
    vals = [v for v in vals if v is not None]
    return float(np.mean(vals)) if vals else None


from liqcore._callable import make_callable  # noqa: E402

make_callable(__name__, "walkforward")  # liqcore.sweep.walkforward(...) is walkforward(...)
