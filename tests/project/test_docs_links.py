"""Nothing in the README, the pages or the docstrings points at a page or a section that is not there.

Every ``docs/....md`` pointer (in README.md, docs/ and the package's and the site tools' source: the docstrings
the API and venue pages render) names a page that exists, and where a quoted section follows it
(``docs/data.md, "Sides"``) a heading of that page that begins so; every relative link of README.md and docs/
finds its file (a page of docs/ or one the site generates: tools/docs_*.py) and its anchor (a heading's id as
the site's table of contents makes it, or an explicit ``{ #id }``).  The strict site build checks the links of
the pages it builds; this test also reads the README and the pointers written as text, and runs without
mkdocs."""
from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
_FENCE = re.compile(r"^[ \t]*```.*?^[ \t]*```[ \t]*$", re.M | re.S)


def slugify(text: str) -> str:
    """A heading's id as Python-Markdown's toc extension makes it (the site's ``toc`` default)."""
    text = re.sub(r"<[^>]+>", "", text).replace("`", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def headings(markdown: str) -> list[tuple[str, str]]:
    """``(heading text, id)`` of each heading outside code blocks."""
    out = []
    for m in re.finditer(r"^#{1,6}[ \t]+(.+?)[ \t]*$", _FENCE.sub("", markdown), re.M):
        head = m.group(1)
        explicit = re.search(r"\{\s*#([\w-]+)[^}]*\}\s*$", head)
        head = re.sub(r"\s*\{[^}]*\}\s*$", "", head)
        out.append((" ".join(head.replace("`", "").split()), explicit.group(1) if explicit else slugify(head)))
    return out


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    """Every page of the site, by its path under docs/: the files and the generated ones."""
    out = {p.relative_to(DOCS).as_posix(): p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md")}
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import docs_api
        import docs_cli
        import docs_venues
    finally:
        sys.path.remove(str(ROOT / "tools"))
    for gen in (docs_cli.cli_reference().pages(), docs_api.pages(), docs_venues.pages()):
        out.update(gen)
    return out


_POINTER = re.compile(r"docs/((?:[\w-]+/)*[\w-]+\.md)(?:[,:]?\s+\"([^\"]+)\")?")


def pointers() -> list[tuple[str, str, str | None]]:
    """``(where, page, section or None)`` of every ``docs/....md`` pointer written as text."""
    sources = [ROOT / "README.md", *sorted(DOCS.rglob("*.md")), *sorted((ROOT / "liqcore").rglob("*.py")),
               *sorted((ROOT / "tools").glob("*.py"))]
    out = []
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for m in _POINTER.finditer(text):
            where = f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
            section = " ".join(m.group(2).replace("`", "").split()).rstrip(".,") if m.group(2) else None
            out.append((where, m.group(1), section))
    return out


def links() -> list[tuple[str, Path, str]]:
    """``(where, the file it is written in, target)`` of every relative Markdown link of README.md and docs/."""
    out = []
    for path in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]:
        text = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), path.read_text(encoding="utf-8"))
        for m in re.finditer(r"\]\(([^)\s]+)\)", text):
            target = m.group(1)
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # (a URL: http:, mailto:, ...)
                continue
            out.append((f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}", path, target))
    return out


def test_the_pointers_and_links_are_found():
    assert len(pointers()) > 100 and any(s for _, _, s in pointers())
    assert len(links()) > 100


def _page_of(written_in: Path, target: str) -> str | None:
    """The page (path under docs/) a relative link points at, or None when it leaves docs/."""
    base = written_in.parent
    full = (base / target).resolve()
    try:
        return full.relative_to(DOCS.resolve()).as_posix()
    except ValueError:
        return None


def test_every_docs_pointer_finds_its_page_and_section(pages):
    missing = []
    for where, page, section in pointers():
        if page not in pages:
            missing.append(f"{where}: docs/{page}")
        elif section is not None:
            heads = [h for h, _ in headings(pages[page])]
            if not any(h.startswith(section) for h in heads):
                missing.append(f'{where}: docs/{page}, "{section}" (no such section)')
    assert missing == [], "\n".join(missing)


def test_every_relative_link_finds_its_file_and_anchor(pages):
    missing = []
    for where, written_in, target in links():
        path, _, anchor = target.partition("#")
        if path:
            page = _page_of(written_in, path)
            if page is None:  # (the README's links to the source: examples/, BENCHMARKS.md, ...)
                if not (written_in.parent / path).exists():
                    missing.append(f"{where}: {target}")
                continue
            if page not in pages:
                missing.append(f"{where}: {target}")
                continue
        else:
            page = written_in.relative_to(DOCS).as_posix() if written_in.is_relative_to(DOCS) else None
            if page is None:
                continue
        if anchor and page.endswith(".md") and anchor not in {i for _, i in headings(pages[page])}:
            missing.append(f"{where}: {target} (no such anchor)")
    assert missing == [], "\n".join(missing)


def test_the_checks_find_a_missing_page_section_and_anchor(pages, tmp_path):
    """Negative control: a pointer to a gone page, a section that is not there and a broken anchor are found."""
    assert "strategies.md" not in pages and "reference/strategies.md" in pages
    heads = [h for h, _ in headings(pages["data.md"])]
    assert any(h.startswith("Sides") for h in heads) and not any(h.startswith("Depth") for h in heads)
    assert "the-parameters" in {i for _, i in headings(pages["reference/configuration.md"])}
    assert slugify("`lead-lag`: which venue fires first, by how many milliseconds") == \
        "lead-lag-which-venue-fires-first-by-how-many-milliseconds"
    assert _POINTER.search('see docs/data.md, "Sides"').groups() == ("data.md", "Sides")


def test_no_link_is_followed_by_a_stray_backtick():
    """``[x](y.md)`)`` leaves one back-quote open, which turns the rest of the paragraph's code spans inside out."""
    stray = []
    for path in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]:
        text = _FENCE.sub("", path.read_text(encoding="utf-8"))
        stray += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(r"\]\([^)\s]+\)`", text)]
    assert stray == []
