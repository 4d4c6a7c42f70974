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
