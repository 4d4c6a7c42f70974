"""Every strategy on the same inputs, in and out of sample: the honest comparison (:func:`compare`).

One backtest per strategy over the whole input, its trades split by decision time into walk-forward
folds (in sample, out of sample, all), with confidence intervals, daily Sharpe ratios and drawdowns;
:func:`market` builds the default or the null synthetic market.  What it measures and why:
docs/how-to/compare-strategies.md, "Comparing strategies".

May import: numpy, pandas (inside functions), ``types``, ``params``, ``config``, ``instruments``, ``_atomic``,
``strategies``, ``synthetic``, this package's ``run`` and ``metrics``, and from ``sweep`` the folds only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from liqcore._extras import need

__all__ = ["market", "folds", "mean_ci", "compare", "CompareResult", "MARKETS", "NULL_GUARD_SAMPLE", "FILL_RULES",
           "fill_variant"]

#: synthetic markets of ``liqcore compare --synthetic``
MARKETS = ("default", "null")
#: the sample the null-market guard reads
NULL_GUARD_SAMPLE = "all"
NS_PER_DAY = 86_400_000_000_000
#: a Sharpe ratio of daily returns is reported for samples of at least this many days
MIN_SHARPE_DAYS = 5


def market(kind: str = "default", **kw):
    """The synthetic market ``kind``: ``"default"`` or ``"null"`` (liquidations have no effect on
    later prices: the generator's ``null`` preset).  ``kw`` go to
    :func:`liqcore.synthetic.market.synthetic_market` (days, symbols, seed, venue, cache_dir); the
    market has its top of book (QUOTE rows) unless ``effects`` says otherwise."""
    from liqcore.synthetic.market import synthetic_market

    if kind not in MARKETS:
        raise ValueError(f"market: expected one of {', '.join(MARKETS)}; got {kind!r}")
    kw.setdefault("effects", {"book": True})  # its top of book: the fill rules' side by side needs it
    return synthetic_market(preset="null" if kind == "null" else None, **kw)


def folds(start_ns: int, end_ns: int, n_folds: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Chronological walk-forward folds over ``[start_ns, end_ns)``: ``[((train0, train1), (test0,
    test1)), ...]``.  The span is cut into ``n_folds + 1`` equal blocks; fold ``k`` trains on block
    ``k`` and tests on block ``k + 1`` (rolling windows): the folds of :func:`liqcore.sweep.walkforward.folds`
    with its defaults (``tests/backtest/test_compare_folds.py`` holds them equal)."""
    n = int(n_folds)
    if n < 1:
        raise ValueError(f"folds: must be >= 1; got {n_folds!r}")
    span = int(end_ns) - int(start_ns)
    block = span // (n + 1)
    if block <= 0:
        raise ValueError(f"folds: the data span is too short for {n} folds")
    out = []
    for k in range(n):
        t0 = int(start_ns) + (k + 1) * block
        out.append(((t0 - block, t0), (t0, t0 + block)))
    return out


def mean_ci(x: np.ndarray, ci: float = 0.95) -> tuple[float | None, float | None, float | None]:
    """(mean, low, high): the Student-t interval of the mean at level ``ci`` (None below 2 values;
    a zero spread gives low = high = mean)."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if n == 0:
        return None, None, None
    m = float(np.mean(x))
    if n < 2:
        return m, None, None
    student_t = need("research", "scipy.stats").t

    half = float(student_t.ppf(1.0 - (1.0 - ci) / 2.0, n - 1)) * float(np.std(x, ddof=1)) / math.sqrt(n)
    return m, m - half, m + half


def _fin(x):
    return None if x is None or not math.isfinite(float(x)) else float(x)


def _sample_row(res, mask: np.ndarray, w0: int, w1: int, ci: float) -> dict:
    from liqcore.backtest import metrics as M

    L = res.ledger
    sub = L[mask]
    gross = sub["ret"] + sub["fees"] + sub["funding"]
    g, glo, ghi = mean_ci(gross, ci)
    m, lo, hi = mean_ci(sub["ret"], ci)
    s = M.summarize(L, res.counts, res.equity0, int(w0), max(int(w1) - 1, int(w0)), mask=mask)
    return {
        "trades": int(len(sub)),
        "win_rate": float(np.mean(sub["ret"] > 0)) if len(sub) else None,
        "gross_mean": _fin(g), "gross_lo": _fin(glo), "gross_hi": _fin(ghi),
        "net_mean": _fin(m), "net_lo": _fin(lo), "net_hi": _fin(hi),
        "sharpe": _fin(s["sharpe"]) if (int(w1) - int(w0)) >= MIN_SHARPE_DAYS * NS_PER_DAY else None, "max_drawdown": _fin(s["max_drawdown"]), "total_return": _fin(s["total_return"]),
        "start_ns": int(w0), "end_ns": int(w1), "na": None,
    }


def no_trade_reason(res, w0: int, w1: int) -> str | None:
    """Why a run has no trade among the signals of ``[w0, w1)`` (None when it has one): the skipped
    decisions by reason, most frequent first ("below_min_score 47, late_entry 33 (skipped decisions,
    of 121)"), the entry signals no order filled, or no decision at all."""
    L = res.ledger
    t = L["signal_ns"]
    if int(np.sum((t >= w0) & (t < w1))):
        return None
    sig = res.signals
    if sig is None or not len(sig):
        return "no decision (the strategy made no signal on these events)"
    sig = sig[(sig["ts_ns"] >= w0) & (sig["ts_ns"] < w1)]
    entries = int(np.sum(sig["direction"] != 0))
    sk = sig["skip_code"][(sig["direction"] == 0) & (sig["skip_code"] != 1) & (sig["skip_code"] != 2)]
    codes, n = np.unique(sk, return_counts=True)
    order = np.argsort(-n, kind="stable")
    parts = [f"{res._skip_name(int(codes[j]))} {int(n[j])}" for j in order]
    if entries:
        head = f"{entries} entry signal{'s' if entries != 1 else ''}, none filled"
        return head + (f"; skipped decisions: {', '.join(parts)}" if parts else "")
    if parts:
        return f"{', '.join(parts)} (skipped decisions, of {int(n.sum())})"
    return "no decision in this sample"


def needs_text(missing) -> str:
    """``["funding"]`` -> ``"needs funding"``: why a strategy has no row on this input."""
    return "needs " + " and ".join(missing)


def _na_row(w0: int, w1: int, why: str) -> dict:
    """A sample row of a strategy that could not run on this input: no numbers, the reason in ``na``."""
    return {"trades": None, "win_rate": None, "gross_mean": None, "gross_lo": None, "gross_hi": None,
            "net_mean": None, "net_lo": None, "net_hi": None, "sharpe": None, "max_drawdown": None,
            "total_return": None, "start_ns": int(w0), "end_ns": int(w1), "na": why}


@dataclass
class CompareResult:
    """Rows of one comparison on one input (``rows``: one dict per strategy and sample)."""

    label: str
    rows: list[dict]
    folds: list
    in_sample: tuple[int, int]
    out_of_sample: tuple[int, int]
    ci: float
    binary: dict = field(default_factory=dict)  # sample -> evaluate_binary result (flush-reversal-rule)
    events: int = 0
    seconds: dict = field(default_factory=dict)  # strategy -> wall seconds

    def frame(self):
        pd = need("research", "pandas")

        return pd.DataFrame(self.rows)

    def __repr__(self) -> str:
        strategies = list(dict.fromkeys(r["strategy"] for r in self.rows))
        return (f"<CompareResult {self.label}: {len(strategies)} strateg{'y' if len(strategies) == 1 else 'ies'} "
                f"({', '.join(strategies[:6])}{', ...' if len(strategies) > 6 else ''}), {len(self.rows)} rows "
                f"(strategy x sample), {len(self.folds)} folds, {self.events:,} events, {self.ci * 100:g}% CIs; "
                f".frame() for the table>")

    def _repr_html_(self) -> str:
        import html

        keys = [k for k in ("strategy", "sample", "trades", "net_mean", "net_lo", "net_hi", "total_return", "sharpe",
                            "max_drawdown", "na") if any(k in r for r in self.rows)]

        def cell(v):
            return "" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)

        head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(cell(r.get(k)))}</td>" for k in keys) + "</tr>"
                       for r in self.rows[:40])
        return (f"<div><b>CompareResult</b>: {html.escape(repr(self)[15:-1])}<table><thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table></div>")

    def row(self, strategy: str, sample: str = "all") -> dict:
        for r in self.rows:
            if r["strategy"] == strategy and r["sample"] == sample:
                return r
        raise KeyError((strategy, sample))

    def to_json(self) -> dict:
        return {"label": self.label, "events": self.events, "ci": self.ci, "ci_method": "student-t",
                "folds": [{"train": list(a), "test": list(b)} for a, b in self.folds],
                "in_sample": list(self.in_sample), "out_of_sample": list(self.out_of_sample),
                "rows": self.rows, "binary": self.binary}


def check_strategies(names, params) -> list:
    """``[(strategy instance, resolved params)]`` for ``names`` (all registered strategies when
    None): an unknown name or a parameter of another strategy is a ValueError, before any work."""
    from liqcore.backtest.run import resolve_strategy
    from liqcore.strategies import strategy_names

    names = list(strategy_names()) if not names else list(names)
    if not names:
        raise ValueError("strategies: give at least one strategy")
    seen = set()
    out = []
    for n in names:
        obj, p = resolve_strategy(n, params)
        if type(obj).name in seen:
            raise ValueError(f"strategies: {type(obj).name!r} given twice")
        seen.add(type(obj).name)
        out.append((obj, p))
    return out


def check_inputs(strategies, kinds: set[str]) -> None:
    """Every strategy's needed inputs are in ``kinds``; else a ValueError naming what is missing."""
    for obj, p in strategies:
        cls = type(obj)
        missing = sorted(set(cls.needs_for(p)) - set(kinds))
        if missing:
            raise ValueError(f"strategy {cls.name}: the data has no {', '.join(missing)} events, which this "
                             f"strategy needs (leave it out with --strategies)")


#: the fill rules the guide's strategy is also shown under, side by side (``compare(fills=...)``)
FILL_RULES = ("through", "queue", "touch")
#: the strategy shown under every fill rule
FILL_STRATEGY = "cascade-mm"


def fill_variant(fill: str) -> str:
    """The row name of the guide's strategy under fill rule ``fill``: ``cascade-mm · queue``."""
    return f"{FILL_STRATEGY} · {fill}"


def compare(events: np.ndarray, registry, strategies=None, params=None, *, n_folds: int = 4, ci: float = 0.95,
            equity: float = 1.0, label: str = "", progress=None, fills=FILL_RULES,
            trade_venue: str | None = None) -> CompareResult:
    """Run each strategy (names, default every registered one) once on ``events`` and split its
    trades into in sample / out of sample by the walk-forward folds (module docstring).  When the
    guide's strategy is among them, it also runs under each fill rule of ``fills`` (limits on the
    price grid for all of them, so that only the rule differs): rows ``cascade-mm · through`` ...
    Every row names its fill model and order latency (``fill``).  ``trade_venue``: the guide's strategy
    also runs on instrument-scope cascades (counted across the venues of each instrument) traded on
    that venue: the row ``cascade-mm · instrument@VENUE`` next to the venue-scope one."""
    import time

    from liqcore.backtest.run import detect, input_kinds, prepare_events, run_strategy
    from liqcore.config import Params
    from liqcore.execution.events import fallback_said_by_caller

    if not 0.0 < float(ci) < 1.0:
        raise ValueError(f"ci: must be in (0, 1); got {ci!r}")
    params = params or Params()
    strats = check_strategies(strategies, params)
    events = prepare_events(events)
    if not len(events):
        raise ValueError("events: nothing to compare on (no events)")
    kinds = input_kinds(events)
    missing = {type(o).name: sorted(set(type(o).needs_for(p)) - kinds) for o, p in strats}
    if all(missing.values()):  # nothing can run: the one-strategy check's error, naming what is missing
        check_inputs(strats, kinds)
    start, end = int(events["ts_recv"][0]), int(events["ts_recv"][-1]) + 1
    fl = folds(start, end, n_folds)
    ins = fl[0][0]
    oos = (fl[0][1][0], fl[-1][1][1])
    samples = {"all": (start, end), "in": ins, "out": oos}
    records = None
    rows, binary, secs = [], {}, {}
    from liqcore.params import fill_label
    from liqcore.types import Kind

    # only the queue fill rule reads the top of book: every other run replays the events without it
    keep = np.flatnonzero(events["kind"] != int(Kind.QUOTE))
    book, events = events, (events[keep] if len(keep) < len(events) else events)

    runs = [(obj, p, type(obj).name) for obj, p in strats]
    for obj, p, _n in list(runs):
        if type(obj).name == FILL_STRATEGY and not missing[FILL_STRATEGY]:
            runs += [(obj, p.replace(fill=f, price_grid="auto"), fill_variant(f)) for f in fills or ()]
    scoped = {}  # shown name -> instrument-scope records on the trade venue
    if trade_venue is not None:
        from liqcore.instruments import detect_instruments, groups, retarget
        from liqcore.types import Venue

        tv = Venue.parse(trade_venue).name.lower()
        for obj, p, _n in list(runs):
            if type(obj).name == FILL_STRATEGY and _n == FILL_STRATEGY and not missing[FILL_STRATEGY]:
                group, _ = groups(registry)
                irec = detect_instruments(events, registry, params, group=group)[0]
                shown = f"{FILL_STRATEGY} · instrument@{tv}"
                scoped[shown] = retarget(irec, registry, group, tv)[0]
                runs.append((obj, p, shown))
    for obj, p, shown in runs:
        name = type(obj).name
        if missing[name]:  # its inputs are not in the data: a row that says so, the others still run
            why = needs_text(missing[name])
            rows += [{"strategy": name, "sample": sample, **_na_row(w0, w1, why)}
                     for sample, (w0, w1) in samples.items()]
            continue
        if progress is not None:
            progress(shown)
        t0 = time.perf_counter()
        rec = None
        if shown in scoped:
            rec = scoped[shown]
        elif type(obj).uses_detector:
            if records is None:  # the detector's records depend on detector parameters only: one detection
                records = detect(events, params)[0]
            rec = records
        if p.fill == "queue" and book is not events:  # the same decisions, on the events with quotes
            if rec is not None:
                rec = rec.copy()
                rec["event_index"] = keep[rec["event_index"]]
            ran_on = book
        else:
            ran_on = events
        if p.fill == "queue" and params.fill != "queue":  # (a fill-rule row: its label says a fallback)
            with fallback_said_by_caller():
                res = run_strategy(ran_on, registry, p, obj, equity=equity, records=rec)
        else:
            res = run_strategy(ran_on, registry, p, obj, equity=equity, records=rec)
        secs[shown] = time.perf_counter() - t0
        t_sig = res.ledger["signal_ns"]
        fill = fill_label(p, res.fill_fallback)
        for sample, (w0, w1) in samples.items():
            mask = (t_sig >= w0) & (t_sig < w1)
            rows.append({"strategy": shown, "sample": sample, **_sample_row(res, mask, w0, w1, ci), "fill": fill,
                         "why": no_trade_reason(res, w0, w1)})
        if name == "flush-reversal-rule":
            from liqcore.strategies.flush_reversal import evaluate_binary

            sig = res.signals
            for sample, (w0, w1) in samples.items():
                b = evaluate_binary(sig[(sig["ts_ns"] >= w0) & (sig["ts_ns"] < w1)], ran_on, confidence=ci)
                if b.get("wilson") is not None:
                    b["wilson"] = list(b["wilson"])
                if b.get("wilson_vs_open") is not None:
                    b["wilson_vs_open"] = list(b["wilson_vs_open"])
                binary[sample] = b
    return CompareResult(label=label, rows=rows, folds=fl, in_sample=ins, out_of_sample=oos, ci=float(ci),
                         binary=binary, events=int(len(book)), seconds=secs)


def null_guard(result: CompareResult, sample: str = NULL_GUARD_SAMPLE) -> list[str]:
    """The strategies whose gross mean return per trade has a confidence interval entirely above 0
    on ``result`` (on the null market: a bug or a leak)."""
    return [r["strategy"] for r in result.rows
            if r["sample"] == sample and r["gross_lo"] is not None and r["gross_lo"] > 0]


def _why_no_point(res: CompareResult, name: str, kind: str) -> str | None:
    """Why ``name`` has no ``kind`` point on ``res`` ("n/a — needs funding", "no trades"), or None."""
    try:
        r = res.row(name, "all")
    except KeyError:
        return None
    if r.get("na"):
        return f"n/a — {r['na']}"
    if r[f"{kind}_mean"] is None:
        return "no trades"
    return None


def plot(results: dict, path: str, title: str = "") -> None:
    """Per-strategy mean return per trade (bp) with its interval, gross and net, one marker per
    market (``results``: market label -> :class:`CompareResult`), all trades."""
    matplotlib = need("plot", "matplotlib")

    matplotlib.use("Agg")
    plt = need("plot", "matplotlib.pyplot")

    labels = list(results)
    names = list(dict.fromkeys(r["strategy"] for res in results.values() for r in res.rows))
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=False)
    width = 0.8 / max(len(labels), 1)
    for ax, kind in zip(axes, ("gross", "net")):
        for i, lab in enumerate(labels):
            res = results[lab]
            xs, ys, lo, hi = [], [], [], []
            for j, n in enumerate(names):
                try:
                    r = res.row(n, "all")
                except KeyError:
                    continue
                m = r[f"{kind}_mean"]
                if m is None:
                    why = _why_no_point(res, n, kind)  # said on the plot, never a silent gap
                    if why:
                        ax.text(j - 0.4 + width * (i + 0.5), 0.5, f"{why} ({lab})" if len(labels) > 1 else why,
                                rotation=90, ha="center", va="center", fontsize=8, color="0.3",
                                transform=ax.get_xaxis_transform())  # x: the strategy's slot; y: mid-axes
                    continue
                a = r[f"{kind}_lo"] if r[f"{kind}_lo"] is not None else m
                b = r[f"{kind}_hi"] if r[f"{kind}_hi"] is not None else m
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(m * 1e4)
                lo.append((m - a) * 1e4)
                hi.append((b - m) * 1e4)
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o", capsize=3, label=lab)
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.set_xticks(range(len(names)), names, rotation=35, ha="right")
        ax.set_xlim(-0.6, len(names) - 0.4)
        ax.set_ylabel(f"mean {kind} return per trade (bp)")
        ax.set_title(f"{kind} ({'before' if kind == 'gross' else 'after'} fees), "
                     f"{int(round(next(iter(results.values())).ci * 100))}% t-interval")
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    from liqcore._atomic import save_figure

    save_figure(fig, path, dpi=110)  # through a temporary file: the earlier figure stays until this one is whole
    plt.close(fig)
