"""The first tutorial's lesson is what its commands print: the two backtests of its sections 3 and 4, run as the
page writes them (with ``--json``, the report left out), give the trades, win rates and losses the page quotes, and
the queue rule the fewer entries the page says."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "tutorials" / "first-backtest.md"
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
