"""Module docstrings are for developers: what the module is for and what it may import, short; the
formats, rules and their reasons live in docs/ (the user docs), which the docstring names.  Measured on
the source with ``ast.get_docstring`` (its lines, as Python cleans them)."""
from __future__ import annotations

import ast
import re
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "liqcore"
#: no module docstring runs longer than this many lines
MAX_LINES = 30
#: the median module docstring is at most this many lines
MEDIAN_LINES = 10


def docstring_lines(path: Path) -> int | None:
    """The number of lines of the module docstring of ``path`` (None: it has none)."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return None if doc is None else len(doc.splitlines())


def _measured() -> dict[str, int]:
    out = {}
    for f in sorted(PKG.rglob("*.py")):
        n = docstring_lines(f)
        if n is not None:
            out[str(f.relative_to(ROOT))] = n
    return out


def test_no_module_docstring_runs_over_30_lines():
    lines = _measured()
    assert len(lines) > 200, "the package's modules were not found"
    long = sorted(((n, f) for f, n in lines.items() if n > MAX_LINES), reverse=True)
    assert long == [], (f"module docstrings over {MAX_LINES} lines (move the formats and rules to docs/ and "
                        "name the section):\n" + "\n".join(f"{n:4d} lines  {f}" for n, f in long))


def test_the_median_module_docstring_is_at_most_10_lines():
    lines = _measured()
    median = statistics.median(lines.values())
    assert median <= MEDIAN_LINES, f"median module docstring: {median} lines over {len(lines)} modules"


def test_a_docstring_that_names_a_docs_page_names_one_that_exists():
    """``docs/<page>.md`` named in a module docstring is a page the user has."""
    missing = []
    for f in sorted(PKG.rglob("*.py")):
        doc = ast.get_docstring(ast.parse(f.read_text(encoding="utf-8"))) or ""
        for page in re.findall(r"docs/([a-z_/-]+\.md)", doc):
            if not (ROOT / "docs" / page).is_file():
                missing.append(f"{f.relative_to(ROOT)} names docs/{page}")
    assert missing == [], "\n".join(missing)


def test_the_measure_counts_the_cleaned_docstring(tmp_path):
    f = tmp_path / "m.py"
    f.write_text('"""One.\n\n    two\n    three\n"""\nx = 1\n')
    assert docstring_lines(f) == 4
    (tmp_path / "n.py").write_text("x = 1\n")
    assert docstring_lines(tmp_path / "n.py") is None


def named_sections(doc: str) -> list[tuple[str, str]]:
    """``(page, section)`` pairs a docstring names: ``docs/<page>.md, "<section>"`` (several quoted
    sections may follow one page, joined by ``and`` or commas, or in parentheses)."""
    out = []
    for m in re.finditer(r"docs/([a-z_/-]+\.md)((?:[\s,(]*(?:and\s+)?\"[^\"]+\")+)", doc):
        out += [(m.group(1), s) for s in re.findall(r"\"([^\"]+)\"", m.group(2))]
    return out


def _headings(page: str) -> list[str]:
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    return [h.replace("`", "") for h in re.findall(r"^#+\s+(.*)$", text, re.M)]


def test_a_section_a_docstring_names_is_a_heading_of_that_page():
    bad = []
    for f in sorted(PKG.rglob("*.py")):
        doc = ast.get_docstring(ast.parse(f.read_text(encoding="utf-8"))) or ""
        for page, section in named_sections(doc):
            want = " ".join(section.replace("`", "").split())
            if not (ROOT / "docs" / page).is_file() or not any(h.startswith(want) for h in _headings(page)):
                bad.append(f'{f.relative_to(ROOT)}: docs/{page}, "{section}"')
    assert bad == [], "sections named in docstrings that the docs do not have:\n" + "\n".join(bad)


def test_the_section_finder_reads_every_form():
    doc = ('Rules: docs/data.md, "The dataset\'s files"; docs/data.md ("Formats", "Compressed, damaged")\n'
           'and docs/how-to/record.md, "Recording" and "Data on demand".')
    assert named_sections(doc) == [("data.md", "The dataset's files"), ("data.md", "Formats"),
                                   ("data.md", "Compressed, damaged"), ("how-to/record.md", "Recording"),
                                   ("how-to/record.md", "Data on demand")]
