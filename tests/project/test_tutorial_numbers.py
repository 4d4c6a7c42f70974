"""The first tutorial's lesson is what its commands print: the two backtests of its sections 3 and 4, run as the
page writes them (with ``--json``, the report left out), give the trades, win rates and losses the page quotes, and
the queue rule the fewer entries the page says.  Likewise how-to/research.md's "Result on the default synthetic
market": its ``liqcore study --synthetic --pooled`` run gives the page's cascade counts and every cell of its table.
And explanation/edge.md's "Results" table: ``liqcore research --synthetic`` and its ``--preset null`` run give the
figures of its rows."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "tutorials" / "first-backtest.md"
RESEARCH = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "research.md"
WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


def _command(text: str, fill: str) -> list[str]:
    """The page's ``liqcore backtest ... --fill FILL`` line, as arguments, without ``--report DIR``."""
    line = next(ln for ln in re.findall(r"^liqcore backtest .*$", text, re.M) if f"--fill {fill}" in ln
                and "--queue-model" not in ln)
    args = shlex.split(line)[1:]
    if "--report" in args:
        k = args.index("--report")
        del args[k:k + 2]
    return args


def test_the_first_tutorial_quotes_what_its_commands_print(capsys):
    from liqcore.cli import main

    text = PAGE.read_text()
    flat = " ".join(text.split())  # (the sentence as words, whatever its line breaks)
    m = re.search(r"`queue`, (\d+) trades, a ([\d.]+) % win rate and a loss of ([\d.]+) %; `through`, (\d+) "
                  r"trades, ([\d.]+) % and a loss of ([\d.]+) %", flat)
    assert m, "the page's numbers sentence"
    quoted = {"queue": (int(m[1]), m[2], m[3]), "through": (int(m[4]), m[5], m[6])}
    got = {}
    for fill in ("queue", "through"):
        capsys.readouterr()
        assert main([*_command(text, fill), "--json"]) == 0
        s = json.loads(capsys.readouterr().out)["summary"]
        got[fill] = (s["trades"], f"{100 * s['win_rate']:.1f}", f"{-100 * s['total_return']:.2f}")
    assert got == quoted
    fewer = re.search(r"queue rule filled (\w+) entr(?:y|ies) fewer", flat)
    assert fewer and got["through"][0] - got["queue"][0] == WORDS[fewer[1]]


def _signed(v: float) -> str:
    """A number as the research page writes it: one decimal, its sign always shown, a true minus."""
    return f"{v:+.1f}".replace("-", "\u2212")


def test_the_research_page_quotes_what_its_study_prints(capsys):
    from liqcore.cli import main

    text = RESEARCH.read_text()
    section = text.split("## Result on the default synthetic market", 1)[1].split("\n## ", 1)[0]
    args = shlex.split(re.search(r"`(liqcore study --synthetic --pooled[^`]*)`", section)[1])[1:]
    if "--plot" in args:
        k = args.index("--plot")
        del args[k:k + 2]
    capsys.readouterr()
    assert main([*args, "--json", "--no-progress"]) == 0
    out = json.loads(capsys.readouterr().out)

    flat = " ".join(section.split())
    m = re.search(r"found (\d+) confirmed cascades \((\d+) long-dominant, (\d+) short-dominant, no mixed ones\)\. "
                  r"(\d+) had a reference trade", flat)
    assert m, "the page's counts sentence"
    sides = {r["group"]: r["cascades"] for r in out["splits"] if r["split"] == "dominant"}
    assert (out["cascades"], sides, out["with_reference"]) == (int(m[1]), {"long": int(m[2]), "short": int(m[3])},
                                                                int(m[4]))

    quoted = re.findall(r"^\| (?:long|short) \|.*\|$", section, re.M)
    printed = []
    for r in out["summary"]:
        if r["symbol"] != "ALL" or r["dominant"] not in ("long", "short"):
            continue
        bp = {k: 1e4 * r[k] for k in ("mean", "median", "ci_low", "ci_high", "mean_mae")}
        printed.append(f"| {r['dominant']} | {r['horizon']} | {r['n']} | {_signed(bp['mean'])} | "
                       f"{_signed(bp['median'])} | {_signed(r['t_stat'])} | [{_signed(bp['ci_low'])}, "
                       f"{_signed(bp['ci_high'])}] | {100 * r['reversion_share']:.0f} % | {bp['mean_mae']:.1f} |")
    assert quoted == printed


EDGE = Path(__file__).resolve().parents[2] / "docs" / "explanation" / "edge.md"


def _f(v: float, digits: int = 1, sign: bool = True) -> str:
    """A number as the edge page writes it: ``digits`` decimals, the sign shown when ``sign``, a true minus."""
    return (f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}").replace("-", "\u2212")


def _criteria_cell(crit: list[dict]) -> str:
    """The page's criteria cell of one market, from ``findings.json``'s criteria rows (in their order)."""
    def label(c):
        t, ev = c["criterion"], c["evidence"]
        if t.startswith("parse"):
            return "parse"
        if t.startswith("detect at least 50"):
            return "\u2265 50 cascades"
        if t.startswith("calculate the liquidation imbalance"):
            return "imbalance IC computed"
        if t.startswith("backtest at least 2"):
            return "2 strategies backtested"
        if t.startswith("liquidation features show"):
            return "\\|IC\\| > 0.05"
        if t.startswith("at least 1 strategy has Sharpe"):
            return "Sharpe > 1"
        if t.startswith("cascade detection accuracy"):
            share = re.match(r"([\d.]+)%", ev)[1]
            return f"detection accuracy {share} %"
        if t.startswith("liquidations explain"):
            return "OI R\u00b2 > 30 %"
        if t.startswith("liquidation features outperform"):
            a, b = re.search(r"liquidation ([\d.]+), open interest/funding ([\d.]+)", ev).groups()
            return f"liquidation features beat OI/funding ({a} vs {'none significant' if float(b) == 0 else b})"
        if t.startswith("several strategies"):
            return "Sharpe > 1.5 / > 1 out of sample"
        if t.startswith("cross-asset contagion"):
            return "contagion"
        if t.startswith("liquidation zones"):
            return "zones"
        raise AssertionError(f"a criterion the page does not name: {t}")
    assert all(c["status"] in ("met", "not met") for c in crit), "an n/a criterion on a synthetic market"
    met = ", ".join(label(c) for c in crit if c["status"] == "met")
    missed = ", ".join(label(c) for c in crit if c["status"] == "not met")
    return f"met: {met}; not met: {missed}"


def test_the_edge_page_results_table_quotes_what_research_prints(capsys):
    """docs/explanation/edge.md's "Results" table is what ``liqcore research --synthetic`` and the same with
    ``--preset null`` print (both runs, their ``--json``: about 65 s of CPU each, warm).  Checked: every figure of
    the strategies and criteria rows, the cascade counts, and the quoted figures of the other rows (event, ic,
    heatmap, contagion, volatility, oi, microstructure), each as the page rounds it.  The prose under the table is
    not parsed; its strategy figures are those of the strategies row."""
    from liqcore.cli import main

    text = EDGE.read_text()
    section = text.split("## Results on the default and null synthetic markets", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for ln in re.findall(r"^\| .* \|$", section, re.M):
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", ln)[1:-1]]
        if len(cells) == 3 and not set(cells[0]) <= {"-"}:
            rows[cells[0].split(" (")[0]] = cells[1:]
    out = {}
    for market, extra in (("default", []), ("null", ["--preset", "null"])):
        capsys.readouterr()
        assert main(["research", "--synthetic", *extra, "--json", "--no-progress"]) == 0
        out[market] = json.loads(capsys.readouterr().out)

    def quoted(study: str, k: int, parts: list[str]):
        missing = [p for p in parts if p not in rows[study][k]]
        where = f"{study} row, {'default' if k == 0 else 'null'} market"
        assert not missing, f"{where}: {missing} not in {rows[study][k]!r}"

    for k, market in enumerate(("default", "null")):
        st = {k2: v["headline"] for k2, v in out[market]["studies"].items()}
        tabs = {k2: v.get("tables", {}) for k2, v in out[market]["studies"].items()}
        ev, ic, hm, co, vo, oi, mi = (st[s] for s in ("event", "ic", "heatmap", "contagion", "volatility", "oi",
                                                      "microstructure"))
        # the counts and the event row
        assert rows["event"][k].startswith(f"{ev['cascades']:,} cascades;")
        quoted("event", k, [f"5 m {'signed return ' if k == 0 else ''}{_f(ev['mean_signed_bp'])} bp, "
                            f"CI [{_f(ev['ci_low_bp'])}, {_f(ev['ci_high_bp'])}]",
                            f"10 s {_f(ev['first_mean_signed_bp'])} bp (t {_f(ev['first_t_stat'], sign=k == 0)}"])
        splits = {(r["split"], r["group"]): r for r in tabs["event"]["splits"]}
        if k == 0:
            quoted("event", k, [f"{100 * ev['recovered_1h']:.0f} % regain", f"median {ev['median_recovery_s']:.0f} s",
                                f"({_f(splits['size', 'large']['mean_bp_5m'])} / "
                                f"{_f(splits['regime', 'volatile']['mean_bp_5m'])} bp at 5 m)"]
                   + [f"{_f(splits['notional', g]['mean_bp_5m'])}{' bp' if g == '<100k' else ''} "
                      f"(t {splits['notional', g]['t_5m']:.1f})" for g in ("<100k", "100k-1M", ">=1M")])
        else:
            bound = float(re.search(r"\\\|t\\\| < ([\d.]+)", rows["event"][k])[1])
            assert all(abs(r["t_5m"]) < bound for (s, _), r in splits.items()
                       if s in ("size", "notional", "regime"))
        # ic
        quoted("ic", k, [f"{ic['significant']} with a CI excluding 0",
                         f"ridge {_f(ic['ridge_mean_oos_ic'], 3)}, boosting {_f(ic['gbm_mean_oos_ic'], 3)}"])
        assert all(m["mean_oos_r2"] < 0 for m in tabs["ic"]["models"]), "R\u00b2 < 0 at every horizon"
        if k == 0:
            quoted("ic", k, [f"{ic['names']} named features \u00d7 4 horizons = {ic['tests']} pooled ICs on "
                             f"{ic['rows']:,} symbol", f"({ic['expected_false_positives']} expected by chance)",
                             f"**{ic['significant_bonferroni']} after Bonferroni**",
                             f"largest liquidation \\|IC\\| {ic['best_liq_abs_ic']:.3f}"])
        else:
            assert ic["significant_bonferroni"] == 0 and "**none after Bonferroni**" in rows["ic"][k]
        # heatmap, contagion, volatility, oi, microstructure
        acc = (f"{100 * hm['zone_reversal_accuracy']:.1f} %", f"{100 * hm['random_reversal_accuracy']:.1f} %",
               f"(p {hm['p_value']:.2f})")
        quoted("heatmap", k, list(acc))
        quoted("contagion", k, [f"{100 * co['mean_p_alt_given_leader']:.1f} % vs {'base ' if k == 0 else ''}"
                                f"{100 * co['mean_base_rate']:.1f} %", f"Granger {co['granger_significant']}/"
                                f"{co['symbols']}"])
        quoted("volatility", k, [" / ".join(_f(vo[f"partial_ic_{h}"], 3) for h in ("5m", "15m", "1h"))])
        if k == 0:
            quoted("volatility", k, [f"CI [{_f(vo['partial_ci_low_1h'], 3)}, {_f(vo['partial_ci_high_1h'], 3)}]"])
            quoted("oi", k, [f"R\u00b2 {100 * oi['r2']:.1f} %", f"slope {_f(oi['slope'], 2)}", f"lag {oi['peak_lag']}"])
            quoted("microstructure", k, [f"peak {mi['peak_hour']} h, trough {mi['trough_hour']:02d} h UTC, "
                                         f"peak/trough {mi['peak_to_trough']:.1f}",
                                         f"weekends {mi['weekend_ratio']:.2f}\u00d7",
                                         f"{mi['sweeps']} sweeps, 5 m after them {_f(mi['sweep_cont_bp_5m'])} bp",
                                         f"(t {_f(mi['sweep_t_5m'], 0)}",
                                         f"{mi['absorption_significant_positive']}/{mi['absorption_symbols']} symbols"])
        else:
            quoted("oi", k, [f"R\u00b2 {100 * oi['r2']:.1f} %", f"rank correlation {_f(oi['rank_corr'], 3)} "
                                                               f"(p {oi['p']:.2f})"])
            quoted("microstructure", k, [f"peak/trough {mi['peak_to_trough']:.2f}", f"weekends "
                                         f"{mi['weekend_ratio']:.2f}\u00d7", f"sweeps {_f(mi['sweep_cont_bp_5m'])} "
                                         f"bp (t {mi['sweep_t_5m']:.1f})",
                                         f"impact {mi['absorption_significant_positive']}/{mi['absorption_symbols']}"])

        # the strategies row: every figure, and "no edge" only where no strategy's interval is above zero
        parts = []
        for i, r in enumerate(out[market]["studies"]["strategies"]["tables"]["strategies"]):
            if k == 0:
                parts.append(f"{r['strategy']} {r['trades']}{' trades' if i == 0 else ''}, "
                             f"{'win ' if i == 0 else ''}{100 * r['win_rate']:.0f} %, {_f(r['mean_ret_bp'])} "
                             f"bp{'/trade' if i == 0 else ''} [{_f(r['ci_low_bp'])}, {_f(r['ci_high_bp'])}], "
                             f"{'Sharpe ' if i == 0 else ''}{_f(r['sharpe'])}")
            else:
                parts.append(f"{r['strategy']} {r['trades']}{' trades' if i == 0 else ''}, {_f(r['mean_ret_bp'])} bp, "
                             f"{'Sharpe ' if i == 0 else ''}{_f(r['sharpe'])}")
        cell = rows["strategies"][k]
        assert cell.startswith("; ".join(parts) + ": "), cell
        assert ("no edge" in cell.rsplit(": ", 1)[-1]) == (st["strategies"]["significant_positive"] == 0)

        # the criteria row: every criterion met or not, with the figures it quotes
        want = _criteria_cell(out[market]["criteria"])
        got = rows["criteria"][k]
        if got.endswith("; everything else not met"):
            want = want.split("; not met: ", 1)[0] + "; everything else not met"
        assert got == want
