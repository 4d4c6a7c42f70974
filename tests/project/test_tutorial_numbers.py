"""The first tutorial's lesson is what its commands print: the two backtests of its sections 3 and 4, run as the
page writes them (with ``--json``, the report left out), give the trades, win rates and losses the page quotes, and
the queue rule the fewer entries the page says.  Likewise how-to/research.md's "Result on the default synthetic
market": its ``liqcore study --synthetic --pooled`` run gives the page's cascade counts and every cell of its table."""
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
