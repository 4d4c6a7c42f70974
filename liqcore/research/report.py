"""The findings report: every study, its figures, and the research plan's success criteria marked
met or not met from the measured numbers.

    >>> from liqcore.research.report import run_all, write_report
    >>> results = run_all(events, registry)                 # {name: StudyResult}
    >>> write_report(results, "report/", source="...")      # FINDINGS.md, index.html, *.png, findings.json
"""
from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np

from liqcore.research.studies import STUDIES, Panel, StudyResult, run_study

__all__ = ["run_all", "criteria", "write_report"]


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
        kw = {"params": params} if name in ("event", "ic", "contagion", "strategies") else {}
        if name == "ic" and names is not None:
            kw["names"] = names
        try:
            out[name] = run_study(name, panel, **kw)
        except Exception as e:  # one study's failure must not sink the others: reported, not raised
            why = f"the study failed on this input ({type(e).__name__}: {e})"
            out[name] = StudyResult(name, name, available=False, reason=why, findings=[f"not available because {why}"])
    out["_panel"] = panel
    return out


def _num(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return math.nan
    return x


def _active(tab, name) -> str:
    r = tab[tab.strategy == name].iloc[0]
    return f"{int(r['active_days'])} of {int(r['days'])} days"


def criteria(results: dict, detection_accuracy: float | None = None) -> list[dict]:
    """The plan's success criteria: ``[{"level", "criterion", "status", "evidence"}]``, status one
    of "met", "not met" (including "not measured here", with the reason in the evidence)."""
    panel: Panel = results.get("_panel")
    ev, ic, oi, co, hm, st = (results.get(k) for k in ("event", "ic", "oi", "contagion", "heatmap", "strategies"))
    st_ok = st is not None and st.available
    st_tab = st.tables["strategies"] if st_ok else None
    st_why = f"strategies study: {st.reason if st else 'not run'}"
    rows = []

    def add(level, text, ok, evidence):
        rows.append({"level": level, "criterion": text, "status": "met" if ok else "not met", "evidence": evidence})

    n_ev = len(panel.events) if panel is not None else 0
    n_liq = panel.n("t_liq") if panel is not None else 0
    add("minimum", "parse and aggregate the liquidation data", n_liq > 0,
        f"{n_ev:,} events read, {n_liq:,} liquidations aggregated" if n_liq else "no liquidations in the input")
    nc = ev.headline.get("cascades", 0) if ev is not None and ev.available else 0
    add("minimum", "detect at least 50 cascade events across all symbols", nc >= 50,
        f"{nc} confirmed cascades" if ev is not None and ev.available else f"event study: {ev.reason if ev else 'not run'}")
    imb = ic.headline.get("imbalance_ic_15m") if ic is not None and ic.available else None
    add("minimum", "calculate the liquidation imbalance and test its IC (even if negative)",
        imb is not None and np.isfinite(_num(imb)),
        f"IC of liquidations.liq_imbalance@15m vs the 15 m forward return: {_num(imb):+.3f}" if imb is not None
        else f"ic study: {ic.reason if ic else 'not run'}")
    if st_ok:
        done = st_tab[st_tab["ran"] & (st_tab["trades"] > 0)]
        add("minimum", "backtest at least 2 strategies with full metrics", len(done) >= 2,
            f"{len(done)} of {len(st_tab)} strategies backtested with trades and metrics"
            + (f" ({', '.join(done.strategy)})" if len(done) else ""))
    else:
        add("minimum", "backtest at least 2 strategies with full metrics", False, st_why)
    if ic is not None and ic.available:
        pooled = ic.tables["pooled_ic"]
        n_tests = max(int(pooled.ic.notna().sum()), 1)
        liq = pooled[(pooled.family == "liquidation") & (pooled.p < 0.05 / n_tests)]
        best = float(liq.ic.abs().max()) if len(liq) else math.nan
        add("good", "liquidation features show |IC| > 0.05 for some horizon (significant after a Bonferroni "
            "correction over every feature x horizon)", np.isfinite(best) and best > 0.05,
            f"largest significant |IC| of a liquidation feature: {best:.3f}" if np.isfinite(best)
            else f"no liquidation feature has an IC significant at p < 0.05 / {n_tests}; the largest |IC| is "
                 f"{float(pooled[pooled.family == 'liquidation'].ic.abs().max()):.3f}")
    else:
        add("good", "liquidation features show |IC| > 0.05 for some horizon", False,
            f"ic study not available: {ic.reason if ic else 'not run'}")
    if st_ok:
        h = st.headline
        add("good", "at least 1 strategy has Sharpe > 1.0 in-sample", h["sharpe_above_1"] >= 1,
            f"{h['sharpe_above_1']} strategies with Sharpe > 1 over the whole input; best "
            + (f"{h['best_strategy']} {h['best_sharpe']:+.2f} (trades closing on {_active(st_tab, h['best_strategy'])})"
               if h["best_strategy"] else "none (no trades)"))
    else:
        add("good", "at least 1 strategy has Sharpe > 1.0 in-sample", False, st_why)
    if detection_accuracy is not None and np.isfinite(detection_accuracy):
        add("good", "cascade detection accuracy > 70%", detection_accuracy > 0.7,
            f"{detection_accuracy:.1%} of detected cascades overlap a cascade the synthetic market generated")
    else:
        add("good", "cascade detection accuracy > 70%", False,
            "not measured: recordings carry no ground truth of which liquidations formed a cascade")
    if oi is not None and oi.available:
        r2 = oi.headline["r2"]
        add("good", "liquidations explain > 30% of open-interest changes", r2 > 0.3, f"R² = {r2:.1%}")
    else:
        add("good", "liquidations explain > 30% of open-interest changes", False,
            f"oi study not available: {oi.reason if oi else 'not run'}")
    if ic is not None and ic.available:
        pooled = ic.tables["pooled_ic"]
        n_tests = max(int(np.isfinite(pooled.p).sum()), 1)
        sig = pooled[pooled.p < 0.05 / n_tests]
        a = float(sig[sig.family == "liquidation"].ic.abs().max()) if (sig.family == "liquidation").any() else 0.0
        other = sig[sig.family == "oi/funding"]
        b = float(other.ic.abs().max()) if len(other) else 0.0
        has_other = (pooled.family == "oi/funding").any()
        add("excellent", "liquidation features outperform OI/funding features (significant ICs, Bonferroni)",
            has_other and a > 0 and a > b,
            (f"best significant |IC|: liquidation {a:.3f}, open interest/funding {b:.3f} (0 = none significant)")
            if has_other else "no open-interest or funding feature to compare with")
    else:
        add("excellent", "liquidation features outperform OI/funding features", False, "ic study not available")
    if st_ok:
        h = st.headline
        k = h["sharpe_first_above_1_5_last_above_1"]
        add("excellent", "several strategies with Sharpe > 1.5 in-sample and > 1.0 out-of-sample", k >= 2,
            f"{k} strategies with Sharpe > 1.5 on the first {1 - h['oos_share']:.0%} of days and > 1 on the last "
            f"{h['oos_share']:.0%} (default parameters, not tuned on either part)")
    else:
        add("excellent", "several strategies with Sharpe > 1.5 in-sample and > 1.0 out-of-sample", False, st_why)
    if co is not None and co.available:
        add("excellent", "cross-asset contagion is statistically significant", bool(co.headline["significant"]),
            f"Granger significant for {co.headline['granger_significant']}/{co.headline['symbols']} symbols, "
            f"conditional cascade probability for {co.headline['conditional_significant']}/{co.headline['symbols']}")
    else:
        add("excellent", "cross-asset contagion is statistically significant", False,
            f"contagion study not available: {co.reason if co else 'not run'}")
    if hm is not None and hm.available:
        acc = _num(hm.headline.get("zone_reversal_accuracy"))
        p = _num(hm.headline.get("p_value"))
        add("excellent", "liquidation zones predict reversals with > 60% accuracy", np.isfinite(acc) and acc > 0.6,
            f"reversal accuracy at zones {acc:.1%} (random levels {_num(hm.headline.get('random_reversal_accuracy')):.1%}, "
            f"p = {p:.3g})")
    else:
        add("excellent", "liquidation zones predict reversals with > 60% accuracy", False,
            f"heatmap study not available: {hm.reason if hm else 'not run'}")
    return rows


_FIGURES = (("event", "cascade_examples.png", "Cascade examples with the price overlaid"),
            ("event", "event_returns.png", "Post-cascade signed return by horizon"),
            ("heatmap", "heatmap.png", "Liquidation heatmap"),
            ("ic", "ic_by_horizon.png", "IC by horizon"),
            ("contagion", "lead_lag.png", "Lead/lag of liquidation rates"),
            ("volatility", "volatility_scatter.png", "Liquidation rate vs forward volatility"),
            ("oi", "oi.png", "Open interest vs liquidations"),
            ("microstructure", "time_of_day.png", "Time-of-day profile"))


def _md_table(df, max_rows=40) -> str:
    if df is None or len(df) == 0:
        return "_(empty)_\n"
    d = df.head(max_rows)
    cols = list(d.columns)

    def cell(v):
        if isinstance(v, (float, np.floating)):
            return "—" if not np.isfinite(v) else (f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}")
        return str(v)

    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for row in d.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    if len(df) > max_rows:
        lines.append(f"\n_(first {max_rows} of {len(df)} rows; all rows in findings.json)_")
    return "\n".join(lines) + "\n"


_MAIN_TABLES = {"event": ("splits",), "ic": ("pooled_ic", "models"), "heatmap": ("zones_vs_random",),
                "contagion": ("contagion",), "volatility": ("volatility",), "oi": ("oi",),
                "microstructure": ("sweeps", "absorption"), "strategies": ("strategies",)}


def write_report(results: dict, directory, source: str = "", detection_accuracy: float | None = None,
                 progress=None) -> dict:
    """Write ``FINDINGS.md``, ``index.html``, the figures and ``findings.json`` into ``directory``
    (built beside it and swapped in whole: a kill or a full disk leaves the earlier report)."""
    from liqcore._atomic import building_dir

    with building_dir(directory, owned=_report_file) as d:
        return _write_report(results, d, source, detection_accuracy, progress)


def _report_file(name: str) -> bool:
    """The files a findings report holds."""
    return name in ("FINDINGS.md", "index.html", "findings.json") or name.endswith(".png")


def _write_report(results: dict, d: Path, source: str, detection_accuracy, progress) -> dict:
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
    crit = criteria(results, detection_accuracy)
    md = ["# Findings", "", f"Source: {source}" if source else "", ""]
    md += ["## Success criteria", "", "| level | criterion | status | evidence |", "|---|---|---|---|"]
    for c in crit:
        md.append(f"| {c['level']} | {c['criterion']} | **{c['status']}** | {c['evidence']} |")
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
         ".na{background:#fee;padding:0.5em}", "</style></head><body><h1>Findings</h1>"]
    if source:
        h.append(f"<p>Source: {html.escape(source)}</p>")
    h.append("<h2>Success criteria</h2><table><tr><th>level</th><th>criterion</th><th>status</th><th>evidence</th></tr>")
    for c in crit:
        cls = "met" if c["status"] == "met" else "notmet"
        h.append(f"<tr><td>{c['level']}</td><td>{html.escape(c['criterion'])}</td><td class='{cls}'>{c['status']}</td>"
                 f"<td>{html.escape(c['evidence'])}</td></tr>")
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
                h.append(f"<h3>{t}</h3>" + res.tables[t].head(40).to_html(index=False, float_format=lambda v: f"{v:.4g}",
                                                                           na_rep="—", border=0))
    h.append("</body></html>")
    (d / "index.html").write_text("\n".join(h))
    doc = {"source": source, "criteria": crit, "studies": {k: v.to_json() for k, v in studies.items()}}
    (d / "findings.json").write_bytes(orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_INDENT_2))
    return {"criteria": crit, "figures": sorted(figs.values())}
