"""The install extras of the Getting started page, generated from ``pyproject.toml`` (each extra, its packages and
the comment written above it) and from ``liqcore.cli.COMMAND_EXTRAS`` (the extras a command cannot run
without), so the page follows the package's own lists.  The page holds ``<!-- generated: extras -->`` and
``<!-- generated: command-extras -->`` where the tables go."""
from __future__ import annotations

import re
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

#: extras that are not for a user's commands (the test suite's, the site's, the benchmarks')
DEVELOPMENT = ("test", "docs", "agreement", "bench")


def extras() -> list[tuple[str, list[str], str]]:
    """``(extra, its requirements, the comment above it in pyproject.toml)`` in the file's order."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    table = tomllib.loads(text)["project"]["optional-dependencies"]
    section = text.split("[project.optional-dependencies]", 1)[1]
    out = []
    for name, reqs in table.items():
        m = re.search(rf"((?:^#[^\n]*\n)*)^{re.escape(name)} = \[", section, re.M)
        comment = " ".join(ln.lstrip("# ").strip() for ln in (m.group(1) if m else "").splitlines())
        out.append((name, reqs, comment))
    return out


def _cell(s: str) -> str:
    return s.replace("|", "\\|")


def extras_table() -> str:
    rows = ["| extra | install | what it is for | packages |", "| --- | --- | --- | --- |"]
    for name, reqs, comment in extras():
        if name in DEVELOPMENT:
            continue
        pkgs = ", ".join(r.split("[", 1)[1].split("]")[0].replace(",", ", ") if r.startswith("liqcore[") else
                         re.split(r"[<>=~!;\[ ]", r, maxsplit=1)[0] for r in reqs)
        rows.append(f"| `{name}` | `pip install -e \".[{name}]\"` | {_cell(comment) or '-'} | {_cell(pkgs)} |")
    dev = ", ".join(f"`{n}`" for n, _, _ in extras() if n in DEVELOPMENT)
    return "\n".join(rows) + f"\n\nFor working on liqcore itself: {dev} (the test suite, this site, the " \
                             "benchmarks' comparisons; each explained in `pyproject.toml`).\n"


def command_extras_table() -> str:
    from liqcore.cli import COMMAND_EXTRAS, COMMAND_EXTRAS_IN_PART, COMMANDS

    rows = ["| command | needs | install |", "| --- | --- | --- |"]
    for cmd in COMMANDS:
        if cmd in COMMAND_EXTRAS:
            need, part = COMMAND_EXTRAS[cmd], ""
        elif cmd in COMMAND_EXTRAS_IN_PART:
            need, part = COMMAND_EXTRAS_IN_PART[cmd]
            part = f" for {part}"
        else:
            continue
        rows.append(f"| [`liqcore {cmd}`](reference/cli/{cmd}.md) | {', '.join(f'`{e}`' for e in need)}{part} | "
                    f"`pip install -e \".[{','.join(need)}]\"` |")
    lean = ", ".join(f"`{c}`" for c in COMMANDS if c not in COMMAND_EXTRAS and c not in COMMAND_EXTRAS_IN_PART)
    return "\n".join(rows) + (f"\n\nEvery other command starts on the lean core: {lean}. A part of one that needs "
                              "an extra asks for it when used, in one line: a report's or `--plot`'s charts need "
                              "`plot`, an `s3://` or `gs://` path `cloud`.\n")


MARKERS = {"<!-- generated: extras -->": extras_table, "<!-- generated: command-extras -->": command_extras_table}


def fill(markdown: str) -> str:
    for marker, make in MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return markdown
