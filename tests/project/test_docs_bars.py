"""The documentation stays readable in a sitting (issue 69): README.md at most 15,000 characters, every page
under docs/ at most 40,000, BENCHMARKS.md at most 20,000 with table rows of at most 600.  Characters are
counted as Python counts them (a "×" is one).  No page is exempt."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README_MAX = 15_000
PAGE_MAX = 40_000
BENCHMARKS_MAX = 20_000
ROW_MAX = 600


def _chars(path: Path) -> int:
    return len(path.read_text(encoding="utf-8"))


def test_readme_is_at_most_15000_characters():
    n = _chars(ROOT / "README.md")
    assert n <= README_MAX, f"README.md: {n:,} characters, over {README_MAX:,}: move the rest to docs/"


def test_every_page_under_docs_is_at_most_40000_characters():
    pages = sorted(DOCS.rglob("*.md"))
    assert len(pages) >= 20, "the pages under docs/ were not found"
    long = [f"{p.relative_to(ROOT)}: {_chars(p):,} characters" for p in pages if _chars(p) > PAGE_MAX]
    assert long == [], f"pages over {PAGE_MAX:,} characters (split them by kind):\n" + "\n".join(long)


def test_benchmarks_is_at_most_20000_characters_with_rows_of_at_most_600():
    text = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert len(text) <= BENCHMARKS_MAX, f"BENCHMARKS.md: {len(text):,} characters, over {BENCHMARKS_MAX:,}"
    rows = [ln for ln in text.splitlines() if ln.startswith("|")]
    assert len(rows) >= 20, "the benchmarks' table was not found"
    long = [f"{len(r):,} characters: {r[:80]}" for r in rows if len(r) > ROW_MAX]
    assert long == [], f"BENCHMARKS.md rows over {ROW_MAX} characters (the rest goes to benches/results/):\n" + \
        "\n".join(long)
