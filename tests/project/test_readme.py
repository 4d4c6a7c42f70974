"""Every ```bash and ```python block of README.md runs as written, from a fresh directory.

Bash blocks run in README order in one shared working directory (the tour's first command writes the
files later commands read), each as a bash script with ``set -euo pipefail`` in which ``liqcore`` is
``python -m liqcore`` and ``python`` is this interpreter, with this checkout on PYTHONPATH.  Python
blocks run each in a fresh interpreter.  Only the commands in :data:`SKIP` are left out, each for
the reason given there.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

#: commands not run (pattern on the command line -> why); keep this list minimal
SKIP = {
    r"^pip install\b": "installs the package: the tests already run from an installed checkout "
                       "(installing is CI's first step)",
    r"^python -m pytest\b": "runs the test suite, which holds this test: it would recurse",
    r"^liqcore record\b": "records the venue's public websocket: needs the network, runs until stopped",
    r"^liqcore run --venue bybit\b": "paper trading on the venue's live data: needs the network, runs until stopped",
}
#: commands that take longer than a fast test may (a block holding one is marked slow)
SLOW = (r"^liqcore demo\b", r"--synthetic", r"--replay", r"--dask", r"^liqcore (backtest|study|features|sweep)\b")

_BLOCK = re.compile(r"^```(bash|python)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
_HEREDOC = re.compile(r"<<-?\s*'?\"?([A-Za-z_][A-Za-z0-9_]*)")


def blocks() -> list[tuple[str, str, int]]:
    """(language, code, line number) of every bash/python block, in README order."""
    text = README.read_text(encoding="utf-8")
    return [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in _BLOCK.finditer(text)]


def commands(code: str) -> list[str]:
    """The command lines of a bash block (not comments, not heredoc bodies)."""
    out, end = [], None
    for line in code.splitlines():
        if end is not None:
            if line.strip() == end:
                end = None
            continue
        cmd = line.strip()
        if not cmd or cmd.startswith("#"):
            continue
        out.extend(part.strip() for part in cmd.split(" && "))
        m = _HEREDOC.search(cmd)
        if m:
            end = m.group(1)
    return out


def skip_reason(cmd: str, skip: dict | None = None) -> str | None:
    """Why ``cmd`` is not run (``skip``: a pattern -> reason list, :data:`SKIP` by default), or None."""
    for pattern, why in (SKIP if skip is None else skip).items():
        if re.search(pattern, cmd):
            return why
    return None


def script(code: str, skip: dict | None = None) -> str:
    """The block as a bash script with the skipped commands (``skip``, :data:`SKIP` by default) replaced by a
    note."""
    lines, end = [], None
    for line in code.splitlines():
        if end is not None:
            lines.append(line)
            if line.strip() == end:
                end = None
            continue
        cmd = line.strip()
        if cmd and not cmd.startswith("#") and any(skip_reason(p.strip(), skip) for p in cmd.split(" && ")):
            # a chain `a && b`: each skipped command becomes a note, the others still run
            parts = []
            for part in (p.strip() for p in cmd.split(" && ")):
                why = skip_reason(part, skip)
                parts.append(": " + shlex.quote(f"skipped: {part} - {why}") if why else part)
            lines.append(" && ".join(parts))
            continue
        lines.append(line)
        m = _HEREDOC.search(cmd)
        if m and not cmd.startswith("#"):
            end = m.group(1)
    prelude = ("set -euo pipefail\n"
               f'liqcore() {{ "{sys.executable}" -m liqcore "$@"; }}\n'
               f'python() {{ "{sys.executable}" "$@"; }}\n'
               "set -x\n")
    return prelude + "\n".join(lines) + "\n"


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["MPLBACKEND"] = "Agg"
    env.pop("LIQCORE_KEY_FILE", None)
    return env


def _params(lang: str):
    out = []
    for i, (lg, code, line) in enumerate(blocks()):
        if lg != lang:
            continue
        slow = lang == "bash" and any(re.search(p, c) for c in commands(code) if not skip_reason(c) for p in SLOW)
        out.append(pytest.param(code, id=f"README.md:{line}", marks=[pytest.mark.slow] if slow else []))
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """One fresh directory for every bash block, as a reader following the README would use."""
    return tmp_path_factory.mktemp("readme")


def test_blocks_are_found_and_the_skip_list_is_minimal():
    found = blocks()
    assert sum(1 for lang, _, _ in found if lang == "bash") >= 4
    assert sum(1 for lang, _, _ in found if lang == "python") >= 2
    cmds = [c for lang, code, _ in found if lang == "bash" for c in commands(code)]
    for pattern in SKIP:  # no stale entry: each skips a command the README shows
        assert any(re.search(pattern, c) for c in cmds), pattern
    skipped = [c for c in cmds if skip_reason(c)]
    assert len(skipped) <= 5, skipped
    # every other command is run: the ones the tour relies on are among them
    run = [c for c in cmds if not skip_reason(c)]
    for needed in ("python -m liqcore.data", "liqcore detect --sample", "liqcore demo", "--replay synthetic"):
        assert any(needed in c for c in run), needed


def test_readme_names_no_files_a_fresh_clone_lacks():
    text = README.read_text(encoding="utf-8")
    for bad in ("../shared", "seed 00", "semantics.md", "rec/bybit-", "frames.jsonl"):
        assert bad not in text, bad


@pytest.mark.parametrize("code", _params("bash"))
def test_bash_block_runs_as_written(code, workdir):
    proc = subprocess.run(["bash", "-c", script(code)], cwd=workdir, env=_env(), capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, f"exit {proc.returncode}\n--- stderr (tail)\n{proc.stderr[-4000:]}"


@pytest.mark.parametrize("code", _params("python"))
def test_python_block_runs_as_written(code, tmp_path):
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"exit {proc.returncode}\n--- stderr (tail)\n{proc.stderr[-4000:]}"
    assert proc.stdout.strip(), "the snippet printed nothing"


def test_readme_counts_and_names_the_studies_liqcore_runs():
    """The README's number of studies and its list of them are those `liqcore study` / `liqcore research` run."""
    from liqcore.research.studies import STUDIES

    text = README.read_text(encoding="utf-8")
    words = {"seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
             "fourteen": 14, "fifteen": 15}
    counts = re.findall(r"\b(\w+) studies with a findings report", text) + re.findall(r"one study of the (\w+):", text)
    assert counts and all(words.get(c, c) == len(STUDIES) for c in counts), (counts, len(STUDIES))
    m = re.search(r"one study of the \w+: (.*(?:\n[ \t]+#.*)*)", text)  # (its comment lines)
    listed = [w for w in re.split(r"[,\s#]+", m.group(1)) if w]
    assert listed == list(STUDIES), listed


# ------------------------------------------------------------------ the README's figures, as the commands print them
#: the strategies' figures of the docs' page on the measured edge (docs/explanation/edge.md, "What the numbers say"
#: as the README had it) and of docs/how-to/compare-strategies.md's table come from this
#: command (the default market is 30 days x 5 symbols, seed 7, its null twin beside it)
COMPARE = ["compare", "--synthetic", "--no-progress"]
_ROW = re.compile(r"│ (?P<name>[a-z][^│]*?)\s*│ all\s*│\s*(?P<trades>\d+) │[^│]*│\s*(?P<gross>[+-]\d+\.\d) "
                  r"\[(?P<glo>[+-]\d+\.\d), (?P<ghi>[+-]\d+\.\d)\] │\s*(?P<net>[+-]\d+\.\d) "
                  r"\[(?P<nlo>[+-]\d+\.\d), (?P<nhi>[+-]\d+\.\d)\] │")
_BINARY = re.compile(r"flush-reversal-rule as a binary \(all; [^)]*\): (\d+)/(\d+) hits, hit rate ([\d.]+)% vs prior "
                     r"50%, binomial p = ([\d.]+) \(one-sided\), Wilson 95% \[([\d.]+)%, ([\d.]+)%\]; vs the hour's "
                     r"open: (\d+)/(\d+) hits, hit rate ([\d.]+)%, p = [\d.]+, Wilson 95% \[([\d.]+)%, ([\d.]+)%\]")


def _flat(text: str) -> str:
    return " ".join(text.replace("−", "-").split())


@pytest.fixture(scope="module")
def compare_printed(tmp_path_factory) -> dict:
    """What ``liqcore compare --synthetic`` prints: per market (``default``, ``null``) the ``all`` row of each
    strategy as printed (bp strings), and the default market's binary line."""
    env = dict(_env(), COLUMNS="250")
    proc = subprocess.run([sys.executable, "-m", "liqcore", *COMPARE], cwd=tmp_path_factory.mktemp("compare"),
                          env=env, capture_output=True, text=True, timeout=3000)
    assert proc.returncode == 0, proc.stderr[-4000:]
    default, _, null = proc.stdout.partition("\nnull: ")
    rows = {}
    for market, text in (("default", default), ("null", null)):
        rows[market] = {m["name"]: m.groupdict() for m in map(_ROW.match, map(str.strip, text.splitlines())) if m}
        assert len(rows[market]) >= 8, text[-3000:]
    b = _BINARY.search(_flat(default))
    assert b, _flat(default)[-3000:]
    return {"rows": rows, "binary": b.groups(), "text": _flat(proc.stdout)}


@pytest.mark.slow
def test_the_readmes_strategy_figures_are_the_ones_compare_prints(compare_printed):
    """Each figure of the paragraph on the other strategies (issue 70: the README said +12.9 bp net for
    cascade-fade where ``compare`` printed +12.8; the paragraph is now docs/explanation/edge.md's) is the one the
    command prints, as printed (1 decimal)."""
    text = _flat((ROOT / "docs" / "explanation" / "edge.md").read_text(encoding="utf-8"))
    d = compare_printed["rows"]["default"]
    m = re.search(r"`cascade-fade`, which [^(]*? makes ([+-]\d+\.\d) bp gross, ([+-]\d+\.\d) bp net per trade "
                  r"\(95 % interval ([+-]\d+\.\d) to ([+-]\d+\.\d) bp, (\d+) trades\)", text)
    r = d["cascade-fade"]
    assert m and m.groups() == (r["gross"], r["net"], r["nlo"], r["nhi"], r["trades"]), (m and m.groups(), r)
    for name in ("flush-reversal-rule", "imbalance-reversal"):
        m = re.search(rf"`{name}` \(([+-]\d+\.\d) bp gross, ([+-]\d+\.\d) bp net, (\d+) trades", text)
        r = d[name]
        assert m and m.groups() == (r["gross"], r["net"], r["trades"]), (name, m and m.groups(), r)
    m = re.search(r"`cascade-score`, which rides the cascade, [^(]*? loses (\d+\.\d) bp per trade after fees "
                  r"\(95 % interval ([+-]\d+\.\d) to ([+-]\d+\.\d) bp, (\d+) trades\)", text)
    r = d["cascade-score"]
    assert m and ("-" + m.group(1), *m.groups()[1:]) == (r["net"], r["nlo"], r["nhi"], r["trades"]), (m and m.groups(), r)
    others = [n for n in d if n != "cascade-mm" and "·" not in n]
    assert len(others) == 7 and "Of the other seven strategies" in text
    assert [n for n in others if float(d[n]["net"]) > 0] == ["cascade-fade"] and "one gains after fees" in text
    # the feature rule as an hourly binary: the hits, rates, Wilson intervals (whole percent) and p-value
    hits, n, rate, p, lo, hi, o_hits, o_n, o_rate, o_lo, o_hi = compare_printed["binary"]
    assert f"fires {n} times in 30 days" in text
    m = re.search(r"right (\d+) times of (\d+) against the hour's open \((\d+\.\d) %, 95 % Wilson interval "
                  r"(\d+)[–-](\d+) %", text)
    assert m and m.groups()[:3] == (o_hits, o_n, o_rate), (m and m.groups(), compare_printed["binary"])
    assert abs(int(m.group(4)) - float(o_lo)) <= 0.5 and abs(int(m.group(5)) - float(o_hi)) <= 0.5
    m = re.search(r"(\d+) of (\d+) against the price at the signal \((\d+\.\d) %, (\d+)[–-](\d+) %, one-sided "
                  r"p = ([\d.]+)", text)
    assert m and m.groups()[:3] == (hits, n, rate) and m.group(6) == p, (m and m.groups(), compare_printed["binary"])
    assert abs(int(m.group(4)) - float(lo)) <= 0.5 and abs(int(m.group(5)) - float(hi)) <= 0.5
    # the null market: no gross edge beyond its interval, as the README says
    assert "null market: no strategy shows a gross edge beyond its interval" in compare_printed["text"]
    assert all(float(r["glo"]) <= 0 for r in compare_printed["rows"]["null"].values())


@pytest.mark.slow
def test_the_strategies_table_in_the_docs_is_the_one_compare_prints(compare_printed):
    """The docs' table of ``compare --synthetic`` (docs/how-to/compare-strategies.md): every cell the command's
    ``all`` row, as printed."""
    text = (ROOT / "docs" / "how-to" / "compare-strategies.md").read_text(encoding="utf-8").replace("−", "-")
    head = "| strategy | default: trades | default: gross | default: net | null: trades | null: gross | null: net |"
    lines = text[text.index(head):].splitlines()[2:]
    table = {c[0]: c[1:] for c in ([x.strip() for x in ln.strip("|").split("|")] for ln in lines
                                     if ln.startswith("| ")) if len(c) == 7}
    assert len(table) == 8, table
    rows = compare_printed["rows"]
    for name, cells in table.items():
        want = []
        for market in ("default", "null"):
            r = rows[market][name]
            want += [r["trades"], f"{r['gross']} [{r['glo']}, {r['ghi']}]", f"{r['net']} [{r['nlo']}, {r['nhi']}]"]
        assert cells == want, (name, cells, want)
