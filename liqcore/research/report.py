"""The findings report: every study, its figures, and the research plan's success criteria marked
met (the measured value's 95% interval clears the threshold), not met, or n/a (with the reason the
input cannot measure it).

    >>> from liqcore.research.report import run_all, write_report
    >>> results = run_all(events, registry)                 # {name: StudyResult}
    >>> write_report(results, "report/", source="...")      # FINDINGS.md, index.html, *.png, findings.json
"""
from __future__ import annotations

import html
import math
import re
from pathlib import Path

import numpy as np

from liqcore._extras import need
from liqcore.research.studies import STUDIES, Panel, StudyResult, run_study

__all__ = ["run_all", "criteria", "write_report", "status_text", "md_cell"]


def run_all(events, registry, params=None, symbols=None, progress=None, only=None, names=None) -> dict:
    """Run every study (or the names in ``only``) on the events; ``progress(name)`` is called before
    each; ``names``: the named features of the ``ic`` study (default: its set).  A study that fails on
    its input is reported as not available with the reason, never raised; bad feature names are a
    ValueError before any study runs."""
    from liqcore.research.studies import check_ic_names

    if names is not None:
        names = check_ic_names(names)
    panel = Panel(events, registry, symbols)
    out = {}
    for name in (only or STUDIES):
        if progress is not None:
            progress(name)
        kw = {"params": params} if name in ("event", "ic", "contagion", "strategies", "distributions",
                                                   "lead-lag") else {}
        if name == "ic" and names is not None:
            kw["names"] = names
        try:
            out[name] = run_study(name, panel, **kw)
        except Exception as e:  # one study's failure must not sink the others: reported, not raised
            why = f"the study failed on this input ({type(e).__name__}: {e})"
            out[name] = StudyResult(name, name, available=False, reason=why, findings=[f"not available because {why}"])
    out["_panel"] = panel
    from liqcore.venues.common import throttle_note

    note = throttle_note(events)
    out["_notes"] = [note] if note else []  # said by the report and the command: lower bounds
    inverse = inverse_note(events, registry)
    if inverse:
        out["_notes"].append(inverse)
    return out


def inverse_note(events, registry) -> str | None:
    """What the report's notionals of inverse (coin-margined) contracts are: USD, contracts x contract size
    (Binance COIN-M); None when the events hold none."""
    import numpy as np

    from liqcore.execution.arrays import inverse_contract_usd

    if events is None or not len(events) or registry is None:
        return None
    inv = []
    for sid in np.unique(events["symbol_id"]).tolist():
        try:
            venue, sym = registry.lookup(int(sid))
        except Exception:  # noqa: BLE001 - a symbol the registry does not hold: not described
            continue
        usd = inverse_contract_usd(int(venue), sym)
        if usd > 0:
            inv.append(f"{sym} ({usd:g} USD a contract)")
    if not inv:
        return None
    return (f"{', '.join(inv)}: inverse (coin-margined) contracts, whose files give quantities in contracts; every "
            "notional here is in USD (contracts x contract size) and every quantity in the coin (USD / price); "
            "a backtest's P&L of them is in the coin and in USD at the exit price")


def _num(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return math.nan
    return x


def _active(tab, name) -> str:
    r = tab[tab.strategy == name].iloc[0]
    return f"{int(r['active_days'])} of {int(r['days'])} days"


def _wilson(hits: float, n: float, ci: float = 0.95) -> tuple[float, float]:
    proportion_confint = need("research", "statsmodels.stats.proportion").proportion_confint

    lo, hi = proportion_confint(int(round(hits)), int(round(n)), alpha=1.0 - ci, method="wilson")
    return float(lo), float(hi)


def _r2_interval(r2: float, slope: float, n: int, ci: float = 0.95) -> tuple[float, float]:
    """The ``ci`` interval of R² of a one-regressor fit: the Fisher-z interval of its correlation,
    squared (bounds that straddle 0 give a lower bound of 0)."""
    norm = need("research", "scipy.stats").norm

    r = math.copysign(math.sqrt(max(r2, 0.0)), slope)
    if n <= 3 or abs(r) >= 1.0:
        return r2, r2
    half = float(norm.ppf(0.5 + ci / 2.0)) / math.sqrt(n - 3)
    lo, hi = math.tanh(math.atanh(r) - half), math.tanh(math.atanh(r) + half)
    if lo <= 0.0 <= hi:
        return 0.0, max(lo * lo, hi * hi)
    return min(lo * lo, hi * hi), max(lo * lo, hi * hi)


def criteria(results: dict, detection_accuracy: float | None = None, detection_n: int | None = None) -> list[dict]:
    """The plan's success criteria: ``[{"level", "criterion", "status", "evidence"}]``, status one
    of "met" (the measured value's 95% interval clears the threshold, or a count reaches it), "not
    met" (measured, and it does not), "n/a" (cannot be measured on this input; the evidence says
    why).  ``detection_accuracy``: the share of detected cascades that overlap a generated one (a
    synthetic market), out of ``detection_n`` detected cascades."""
    panel: Panel = results.get("_panel")
    ev, ic, oi, co, hm, st = (results.get(k) for k in ("event", "ic", "oi", "contagion", "heatmap", "strategies"))
    st_ok = st is not None and st.available
    st_tab = st.tables["strategies"] if st_ok else None
    st_why = f"strategies study {st.reason if st else 'not run'}"
    rows = []

    def add(level, text, ok, evidence):
        rows.append({"level": level, "criterion": text, "status": "met" if ok else "not met", "evidence": evidence})

    def na(level, text, why):
        rows.append({"level": level, "criterion": text, "status": "n/a", "evidence": why})

    def why(res, name):
        return f"{name} study not run" if res is None else f"{name} study not available: {res.reason}"

    n_ev = len(panel.events) if panel is not None else 0
    n_liq = panel.n("t_liq") if panel is not None else 0
    add("minimum", "parse and aggregate the liquidation data", n_liq > 0,
        f"{n_ev:,} events read, {n_liq:,} liquidations aggregated" if n_liq else "no liquidations in the input")
    text = "detect at least 50 cascade events across all symbols"
    if ev is not None and ev.available:
        nc = int(ev.headline.get("cascades", 0))
        add("minimum", text, nc >= 50, f"{nc:,} confirmed cascades")
    else:
        na("minimum", text, why(ev, "event"))
    text = "calculate the liquidation imbalance and test its IC (even if negative)"
    imb = ic.headline.get("imbalance_ic_15m") if ic is not None and ic.available else None
    if ic is not None and ic.available:
        ok = imb is not None and np.isfinite(_num(imb))
        add("minimum", text, ok,
            f"IC of liquidations.liq_imbalance@15m vs the 15 m forward return: {_num(imb):+.3f}" if ok
            else "the 15 m forward return has too few observations for an IC of liquidations.liq_imbalance@15m")
    else:
        na("minimum", text, why(ic, "ic"))
    text = "backtest at least 2 strategies with full metrics"
    if st_ok:
        done = st_tab[st_tab["ran"] & (st_tab["trades"] > 0)]
        add("minimum", text, len(done) >= 2,
            f"{len(done)} of {len(st_tab)} strategies backtested with trades and metrics"
            + (f" ({', '.join(done.strategy)})" if len(done) else ""))
    else:
        na("minimum", text, st_why)
    text = ("liquidation features show |IC| > 0.05 for some horizon (95% interval beyond 0.05, significant "
            "after a Bonferroni correction over every feature x horizon)")
    if ic is not None and ic.available:
        pooled = ic.tables["pooled_ic"]
        liq_all = pooled[(pooled.family == "liquidation") & np.isfinite(pooled.p)]
        if not len(liq_all):
            na("good", text, "no liquidation feature has enough observations for an interval of its IC")
        else:
            n_tests = max(int(np.isfinite(pooled.p).sum()), 1)
            sig = liq_all[liq_all.p < 0.05 / n_tests]
            clear = sig[(sig.ci_low > 0.05) | (sig.ci_high < -0.05)]
            big = liq_all.loc[liq_all.ic.abs().idxmax()]
            if len(clear):
                b = clear.loc[clear.ic.abs().idxmax()]
                ev_txt = (f"{b.feature} at {b.horizon}: IC {b.ic:+.3f}, 95% CI [{b.ci_low:+.3f}, {b.ci_high:+.3f}], "
                          f"p = {b.p:.2g} (< 0.05 / {n_tests})")
            else:
                ev_txt = (f"no liquidation feature's IC interval clears ±0.05 with p < 0.05 / {n_tests}; the largest "
                          f"|IC| is {big.feature} at {big.horizon}: {big.ic:+.3f}, 95% CI [{big.ci_low:+.3f}, "
                          f"{big.ci_high:+.3f}], p = {big.p:.2g}")
            add("good", text, len(clear) > 0, ev_txt)
    else:
        na("good", text, why(ic, "ic"))
    text = "at least 1 strategy has Sharpe > 1.0 in-sample (95% interval above 1.0)"
    if not st_ok:
        na("good", text, st_why)
    elif not st.headline.get("with_trades"):
        na("good", text, "no strategy traded on this input: no Sharpe ratio to measure")
    elif not st.headline.get("with_sharpe"):
        na("good", text, "the Sharpe ratio of daily returns needs at least 2 days with a spread of returns; "
                         f"the input spans {int(st_tab['days'].max())} day(s)")
    else:
        h = st.headline
        b = st_tab[st_tab.strategy == h["best_strategy"]].iloc[0]
        add("good", text, h["sharpe_ci_above_1"] >= 1,
            f"{h['sharpe_ci_above_1']} strategies with the Sharpe interval above 1 ({h['sharpe_above_1']} with a "
            f"point estimate above 1); best {h['best_strategy']} {h['best_sharpe']:+.2f}, 95% CI "
            f"[{b['sharpe_ci_low']:+.2f}, {b['sharpe_ci_high']:+.2f}] from {int(b['trades'])} trades closing on "
            f"{_active(st_tab, h['best_strategy'])}")
    text = "cascade detection accuracy > 70% (95% interval above 70%)"
    if detection_accuracy is not None and np.isfinite(detection_accuracy) and detection_n:
        lo, hi = _wilson(detection_accuracy * detection_n, detection_n)
        add("good", text, lo > 0.7,
            f"{detection_accuracy:.1%} of {detection_n:,} detected cascades overlap a cascade the synthetic market "
            f"generated (Wilson 95% CI [{lo:.1%}, {hi:.1%}])")
    elif detection_accuracy is not None and np.isfinite(detection_accuracy):
        na("good", text, f"{detection_accuracy:.1%} overlap, but the number of cascades behind it is not known: "
                         "no interval")
    else:
        na("good", text, "recordings carry no ground truth of which liquidations formed a cascade")
    text = "liquidations explain > 30% of open-interest changes (95% interval above 30%)"
    if oi is not None and oi.available:
        r2 = oi.headline["r2"]
        n = int(oi.headline.get("intervals", 0))
        lo, hi = _r2_interval(r2, oi.headline.get("slope", 1.0), n)
        add("good", text, lo > 0.3, f"R² = {r2:.1%} over {n:,} intervals (95% CI [{lo:.1%}, {hi:.1%}], Fisher z)")
    else:
        na("good", text, why(oi, "oi"))
    text = "liquidation features outperform OI/funding features (significant ICs, Bonferroni)"
    if ic is not None and ic.available:
        pooled = ic.tables["pooled_ic"]
        if not (pooled.family == "oi/funding").any():
            na("excellent", text, "no open-interest or funding feature to compare with (the input has none)")
        else:
            n_tests = max(int(np.isfinite(pooled.p).sum()), 1)
            sig = pooled[pooled.p < 0.05 / n_tests]
            a = float(sig[sig.family == "liquidation"].ic.abs().max()) if (sig.family == "liquidation").any() else 0.0
            other = sig[sig.family == "oi/funding"]
            b = float(other.ic.abs().max()) if len(other) else 0.0
            add("excellent", text, a > 0 and a > b,
                f"best significant |IC|: liquidation {a:.3f}, open interest/funding {b:.3f} (0 = none significant)")
    else:
        na("excellent", text, why(ic, "ic"))
    text = "several strategies with Sharpe > 1.5 in-sample and > 1.0 out-of-sample (95% intervals above)"
    if not st_ok:
        na("excellent", text, st_why)
    elif not st.headline.get("with_split_sharpe"):
        h = st.headline
        na("excellent", text, f"a Sharpe ratio on both the first {1 - h['oos_share']:.0%} and the last "
                              f"{h['oos_share']:.0%} of days needs at least 2 days in each part"
                              + ("" if h.get("with_trades") else " and trades")
                              + f"; the input spans {int(st_tab['days'].max()) if 'days' in st_tab else 0} day(s)")
    else:
        h = st.headline
        k = h["sharpe_first_ci_above_1_5_last_ci_above_1"]
        add("excellent", text, k >= 2,
            f"{k} strategies with the Sharpe interval above 1.5 on the first {1 - h['oos_share']:.0%} of days and "
            f"above 1 on the last {h['oos_share']:.0%} ({h['sharpe_first_above_1_5_last_above_1']} by the point "
            "estimates; default parameters, not tuned on either part)")
    text = "cross-asset contagion is statistically significant"
    if co is not None and co.available:
        add("excellent", text, bool(co.headline["significant"]),
            f"Granger significant for {co.headline['granger_significant']}/{co.headline['symbols']} symbols, "
            f"conditional cascade probability for {co.headline['conditional_significant']}/{co.headline['symbols']}")
    else:
        na("excellent", text, why(co, "contagion"))
    text = "liquidation zones predict reversals with > 60% accuracy (95% interval above 60%)"
    if hm is not None and hm.available:
        acc = _num(hm.headline.get("zone_reversal_accuracy"))
        n = int(_num(hm.headline.get("zone_decided")) or 0) if np.isfinite(_num(hm.headline.get("zone_decided"))) \
            else 0
        p = _num(hm.headline.get("p_value"))
        if not np.isfinite(acc) or n == 0:
            na("excellent", text, "no zone touch was decided (reversal or break-out) within the horizon")
        else:
            lo, hi = _wilson(acc * n, n)
            add("excellent", text, lo > 0.6,
                f"reversal accuracy at zones {acc:.1%} of {n:,} decided touches (Wilson 95% CI [{lo:.1%}, {hi:.1%}]; "
                f"random levels {_num(hm.headline.get('random_reversal_accuracy')):.1%}, p = {p:.3g})")
    else:
        na("excellent", text, why(hm, "heatmap"))
    return rows


def status_text(c: dict) -> str:
    """A criterion's status as shown: "met", "not met", or "n/a — why"."""
    return f"n/a — {c['evidence']}" if c["status"] == "n/a" else c["status"]


def md_cell(v) -> str:
    """Text safe inside a Markdown table cell: ``|`` escaped, line breaks as spaces."""
    return str(v).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


_FIGURES = (("event", "cascade_examples.png", "Cascade examples with the price overlaid"),
            ("event", "event_returns.png", "Post-cascade signed return by horizon"),
            ("heatmap", "heatmap.png", "Liquidation heatmap"),
            ("ic", "ic_by_horizon.png", "IC by horizon"),
            ("contagion", "lead_lag.png", "Lead/lag of liquidation rates"),
            ("volatility", "volatility_scatter.png", "Liquidation rate vs forward volatility"),
            ("oi", "oi.png", "Open interest vs liquidations"),
            ("microstructure", "time_of_day.png", "Time-of-day profile"),
            ("distributions", "distributions.png", "Liquidation-size histogram, buy/sell split and cascade durations"),
            ("lag", "liquidation_lag.png", "Liquidations against the 1-second return by lag"),
            ("regimes", "hmm_regimes.png", "Hidden-Markov volatility regimes and liquidations"),
            ("lead-lag", "venue_lead_lag.png", "Cross-venue cascades: delay between the venues' first large "
             "liquidations and the price lead"))


_FRACTION = re.compile(r"^(win_rate|total_return|max_drawdown|recovered_\w+|organic_share|base_rate|"
                       r"p_alt_given_leader|\w*_p_reversal|\w*_p_breakout|\w*reversal_accuracy|r2\w*|delta_r2|"
                       r"\w*oos_r2|\w*_share|\w*_share_(lo|hi))$")
_BP = re.compile(r"^(\w*_bp(_\w+)?|mean_bp_\w+|bp_per_\w+)$")
_SECONDS = re.compile(r"^(\w+_s|peak_lag_s_\w+)$")
_COUNT = re.compile(r"^(n|trades|signals|count|days|active_days|minutes|folds|hits|\w*_touches|\w*_decided|"
                    r"\w*_cascades|intervals|long_n|short_n|n_events|long_count|short_count|n_quiet|n_volatile|\w+_n)$")
_PVALUE = re.compile(r"^(p|p_value|\w+_p|p_\w+|granger_p_\w+)$")


def column_unit(col: str) -> tuple[str, str]:
    """(header with its unit, kind) of a study table's column: kind one of "pct" (a fraction shown
    in %), "bp", "s", "min", "count", "p", "num"."""
    c = str(col)
    if _FRACTION.match(c):
        return f"{c} (%)", "pct"
    if _BP.match(c):
        return f"{c} (bp)", "bp"
    if c.endswith("_min"):
        return f"{c} (min)", "min"
    if _COUNT.match(c):
        return f"{c} (count)", "count"
    if _PVALUE.match(c) and c not in ("p_alt_given_leader",):
        return c, "p"
    if _SECONDS.match(c):
        return f"{c} (s)", "s"
    if c.startswith("sharpe"):
        return f"{c} (annualised)", "num"
    if c == "mean_notional" or re.match(r"^(\w+_notional(_lo|_hi)?|notional|bin_\w+_notional)$", c):
        return f"{c} (quote)", "num"
    if c == "per_day":
        return f"{c} (per day)", "num"
    return c, "num"


def format_value(v, kind: str) -> str:
    """One cell of a study table as text: no scientific notation, no raw inf/nan ("—" for a missing
    value, "∞" for an infinite one), counts as whole numbers, fractions in %."""
    if v is None or isinstance(v, (bool, np.bool_, str)):
        return "—" if v is None else str(v)
    if not isinstance(v, (int, float, np.integer, np.floating)):
        return str(v)
    x = float(v)
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if kind == "count":
        return f"{int(round(x)):,}"
    if kind == "pct":
        return f"{x * 100:.2f}"
    if kind == "bp":
        return f"{x:+.1f}"
    if kind in ("s", "min"):
        return f"{x:,.1f}"
    if kind == "p":
        return "< 0.0001" if x < 1e-4 else f"{x:.4f}"
    if isinstance(v, (int, np.integer)) or (abs(x) >= 1000 and x == int(x)):
        return f"{int(x):,}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return "0" if x == 0 else (f"{x:.4f}" if abs(x) < 0.1 else f"{x:.3f}")


def display_table(df):
    """A study table as text for FINDINGS.md and index.html: every header with its unit, every cell
    formatted by :func:`format_value` (``findings.json`` keeps the raw values: fractions, not %)."""
    pd = need("research", "pandas")

    out = {}
    for c in df.columns:
        header, kind = column_unit(c)
        out[header] = [format_value(v, kind) for v in df[c].tolist()]
    return pd.DataFrame(out, columns=list(out))


def _md_table(df, max_rows=40) -> str:
    if df is None or len(df) == 0:
        return "_(empty)_\n"
    d = display_table(df.head(max_rows))
    cols = list(d.columns)

    def cell(v):
        return md_cell(v)

    lines = ["| " + " | ".join(md_cell(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for row in d.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    if len(df) > max_rows:
        lines.append(f"\n_(first {max_rows} of {len(df)} rows; all rows in findings.json)_")
    return "\n".join(lines) + "\n"


_MAIN_TABLES = {"event": ("splits",), "ic": ("pooled_ic", "models", "regime_ic", "gbm_importance"),
                "heatmap": ("zones_vs_random",),
                "contagion": ("contagion",), "volatility": ("volatility", "transitions"), "oi": ("oi",),
                "microstructure": ("sweeps", "absorption_rate", "absorption"), "strategies": ("strategies", "portfolio"),
                "distributions": ("buy_sell", "size_histogram", "quantiles"),
                "lag": ("windows", "tick_delay", "lead_lag"), "regimes": ("states",),
                "lead-lag": ("delays", "fired_first", "price_lead")}


def write_report(results: dict, directory, source: str = "", detection_accuracy: float | None = None,
                 progress=None, detection_n: int | None = None) -> dict:
    """Write ``FINDINGS.md``, ``index.html``, the figures and ``findings.json`` into ``directory``
    (built beside it and swapped in whole: a kill or a full disk leaves the earlier report)."""
    from liqcore._atomic import building_dir

    with building_dir(directory, owned=_report_file) as d:
        return _write_report(results, d, source, detection_accuracy, progress, detection_n)


def _report_file(name: str) -> bool:
    """The files a findings report holds."""
    return name in ("FINDINGS.md", "index.html", "findings.json") or name.endswith(".png")


def _write_report(results: dict, d: Path, source: str, detection_accuracy, progress, detection_n) -> dict:
    import orjson

    from liqcore._atomic import is_disk_full

    studies = {k: v for k, v in results.items() if not k.startswith("_")}
    figs = {}
    for name, res in studies.items():
        if progress is not None:
            progress(f"figures: {name}")
        if res.available:
            try:
                for p in res.write_plots(d):
                    figs[(name, p.name)] = p.name
            except OSError as e:
                if is_disk_full(e):  # a full disk sinks the report (the earlier one is kept)
                    raise
                res.findings.append(f"(figures not drawn: {type(e).__name__}: {e})")
            except Exception as e:  # a figure must not sink the report
                res.findings.append(f"(figures not drawn: {type(e).__name__}: {e})")
    crit = criteria(results, detection_accuracy, detection_n)
    notes = list(results.get("_notes") or [])
    md = ["# Findings", "", f"Source: {source}" if source else "", ""]
    md += [f"**Data note:** {n}" for n in notes] + ([""] if notes else [])
    md += ["## Success criteria", "",
           "A criterion is met when the 95% interval of the measured value clears its threshold (a count: when "
           "it reaches it); n/a when the input cannot measure it.", "",
           "| level | criterion | status | evidence |", "|---|---|---|---|"]
    for c in crit:
        na = c["status"] == "n/a"
        md.append(f"| {c['level']} | {md_cell(c['criterion'])} | **{c['status']}**"
                  + (f" — {md_cell(c['evidence'])} | — |" if na else f" | {md_cell(c['evidence'])} |"))
    md.append("")
    for name, res in studies.items():
        md += [f"## {res.title} (`{name}`)", ""]
        if not res.available:
            md += [f"**Not available because {res.reason}.**", ""]
            continue
        md += [f"* {f}" for f in res.findings] + [""]
        for t in _MAIN_TABLES.get(name, ()):
            if t in res.tables:
                md += [f"### {t}", "", _md_table(res.tables[t])]
        for st, fname, cap in _FIGURES:
            if st == name and (name, fname) in figs:
                md += [f"![{cap}]({fname})", ""]
    (d / "FINDINGS.md").write_text("\n".join(md))
    # HTML
    h = ["<!doctype html><html><head><meta charset='utf-8'><title>Findings</title><style>",
         "body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}"
         "table{border-collapse:collapse;font-size:12px;margin:0.5em 0}td,th{border:1px solid #ccc;padding:2px 6px}"
         ".met{color:#080;font-weight:bold}.notmet{color:#a00;font-weight:bold}img{max-width:100%}"
         ".na{background:#fee;padding:0.5em}.nastatus{color:#a60}", "</style></head><body><h1>Findings</h1>"]
    if source:
        h.append(f"<p>Source: {html.escape(source)}</p>")
    h += [f"<p class='na'><b>Data note:</b> {html.escape(n)}</p>" for n in notes]
    h.append("<h2>Success criteria</h2><table><tr><th>level</th><th>criterion</th><th>status</th><th>evidence</th></tr>")
    for c in crit:
        cls = {"met": "met", "n/a": "nastatus"}.get(c["status"], "notmet")
        ev_html = "—" if c["status"] == "n/a" else html.escape(c["evidence"])
        h.append(f"<tr><td>{c['level']}</td><td>{html.escape(c['criterion'])}</td><td class='{cls}'>"
                 f"{html.escape(status_text(c))}</td><td>{ev_html}</td></tr>")
    h.append("</table>")
    for name, res in studies.items():
        h.append(f"<h2>{html.escape(res.title)} (<code>{name}</code>)</h2>")
        if not res.available:
            h.append(f"<p class='na'>Not available because {html.escape(res.reason)}.</p>")
            continue
        h.append("<ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in res.findings) + "</ul>")
        for st, fname, cap in _FIGURES:
            if st == name and (name, fname) in figs:
                h.append(f"<figure><img src='{fname}' alt='{html.escape(cap)}'><figcaption>{html.escape(cap)}"
                         "</figcaption></figure>")
        for t in _MAIN_TABLES.get(name, ()):
            if t in res.tables and len(res.tables[t]):
                h.append(f"<h3>{t}</h3>" + display_table(res.tables[t].head(40)).to_html(index=False, border=0))
    h.append("</body></html>")
    (d / "index.html").write_text("\n".join(h))
    doc = {"source": source, "notes": notes, "criteria": crit, "studies": {k: v.to_json() for k, v in studies.items()}}
    (d / "findings.json").write_bytes(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_INDENT_2))
    return {"criteria": crit, "figures": sorted(figs.values())}
