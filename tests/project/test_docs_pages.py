"""The site's start: the Getting started page's extras come from pyproject.toml and the commands' own needs; each
tutorial installs the extras its commands need; a page per venue comes from the venue's folder, so a venue
registered with its parts brings its page (tools/docs_extras.py, tools/docs_venues.py)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.project.test_docs_commands import page_blocks
from tests.project.test_readme import commands

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def tools():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import docs_extras
        import docs_venues
    finally:
        sys.path.remove(str(ROOT / "tools"))
    return docs_extras, docs_venues


def _installed_extras(text: str) -> set[str]:
    return {e.strip() for m in re.finditer(r"pip install -e \"\.\[([a-z,]+)\]\"", text) for e in m.group(1).split(",")}


@pytest.mark.parametrize("page", sorted((DOCS / "tutorials").glob("*.md")), ids=lambda p: p.name)
def test_each_tutorial_installs_the_extras_its_commands_need(page):
    from liqcore.cli import COMMAND_EXTRAS, COMMAND_EXTRAS_IN_PART

    text = page.read_text(encoding="utf-8")
    used = {c.split()[1] for code, _ in page_blocks(page) for c in commands(code)
            if c.startswith("liqcore ") and len(c.split()) > 1}
    needed = {e for cmd in used for e in COMMAND_EXTRAS.get(cmd, COMMAND_EXTRAS_IN_PART.get(cmd, ((),))[0])}
    installed = _installed_extras(text) | ({"plot", "research", "sweep", "cloud"} if '".[all]"' in text else set())
    assert needed <= installed, f"{page.name}: runs {sorted(used)}, needs {sorted(needed - installed)} not installed"


def test_the_tour_was_missing_its_extras_before():
    """Negative control: the tour's text without its install line needs extras it does not install."""
    from liqcore.cli import COMMAND_EXTRAS

    text = (DOCS / "tutorials" / "tour.md").read_text(encoding="utf-8")
    assert not {"research", "sweep"} <= _installed_extras(re.sub(r"pip install[^\n]*", "", text))
    assert {"research", "sweep"} <= {e for es in COMMAND_EXTRAS.values() for e in es}


def test_getting_started_lists_every_extra_and_every_command_that_needs_one(tools):
    docs_extras, _ = tools
    from liqcore.cli import COMMAND_EXTRAS

    page = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    assert all(m in page for m in docs_extras.MARKERS)
    filled = docs_extras.fill(page)
    assert "<!-- generated" not in filled
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for name in extras:
        if name not in docs_extras.DEVELOPMENT:
            assert f'`pip install -e ".[{name}]"`' in filled, name
    for cmd, need in COMMAND_EXTRAS.items():
        assert f"[`liqcore {cmd}`](reference/cli/{cmd}.md) | {', '.join(f'`{e}`' for e in need)} |" in filled, cmd
    from liqcore.cli import COMMAND_EXTRAS_IN_PART

    lean = filled.split("Every other command starts on the lean core:", 1)[1].split(".", 1)[0]
    for cmd, (need, part) in COMMAND_EXTRAS_IN_PART.items():
        assert f"[`liqcore {cmd}`](reference/cli/{cmd}.md) | {', '.join(f'`{e}`' for e in need)} for {part} |" \
            in filled, cmd
    for cmd in [*COMMAND_EXTRAS, *COMMAND_EXTRAS_IN_PART]:
        assert f"`{cmd}`" not in lean, f"{cmd} needs an extra but is listed as running on the lean core"


@pytest.mark.parametrize("argv", [["features", "--at", "2025-01-01T00:10:00Z", "--names", "flow.ofi@5m"],
                                  ["compare", "--strategies", "cascade-mm"]], ids=lambda a: a[0])
def test_a_command_the_table_says_needs_research_stops_without_it(argv, tmp_path):
    """What the table says is what the command does: without the research extra's packages ``features --at``
    and ``compare`` stop with the one line naming the extra (exit 1); they were listed as lean."""
    import subprocess

    from liqcore.cli import COMMAND_EXTRAS, COMMAND_EXTRAS_IN_PART

    assert "research" in (COMMAND_EXTRAS.get(argv[0]) or COMMAND_EXTRAS_IN_PART[argv[0]][0])
    block = ("import sys, importlib.util, importlib.abc\n"
             "B = {'pandas', 'scipy', 'sklearn', 'statsmodels', 'hmmlearn'}\n"
             "class F(importlib.abc.MetaPathFinder):\n"
             "    def find_spec(self, name, path, target=None):\n"
             "        if name.split('.')[0] in B: raise ModuleNotFoundError(name, name=name)\n"
             "sys.meta_path.insert(0, F())\n"
             "_fs = importlib.util.find_spec\n"
             "importlib.util.find_spec = lambda n, p=None: None if n.split('.')[0] in B else _fs(n, p)\n"
             "from liqcore.cli import main\n"
             "sys.argv = ['liqcore'] + sys.argv[1:]\n"
             "sys.exit(main())\n")
    subprocess.run([sys.executable, "-m", "liqcore.data", "recordings/"], cwd=tmp_path, check=True,
                   capture_output=True, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    r = subprocess.run([sys.executable, "-c", block, *argv[:1], "recordings/", *argv[1:]], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600,
                       env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 1 and "needs the research extra" in r.stderr, (r.returncode, r.stderr[-2000:])


def test_a_page_per_venue_from_its_folder(tools):
    _, docs_venues = tools
    from liqcore.venues.bybit import stream as bybit_stream

    pages = docs_venues.pages()
    assert {"venues/bybit.md", "venues/binance.md", "venues/okx.md", "venues/index.md"} <= set(pages)
    bybit = pages["venues/bybit.md"]
    assert bybit_stream.ENDPOINTS["testnet"] in bybit and "`Buy`" in bybit and "LONG position liquidated" in bybit
    okx = pages["venues/okx.md"]
    assert "OKX_API_PASSPHRASE" in okx and "ctVal" in okx and "`sell` | `LONG position liquidated`" in okx
    assert "OKX_API_PASSPHRASE" not in bybit


def test_a_registered_venue_brings_its_page(tools):
    _, docs_venues = tools
    from liqcore.venues.registry import VenueSpec, register, unregister

    spec = register(VenueSpec(name="docsvenue", code=97, package="liqcore.venues.bybit", sampled_liquidations=True))
    try:
        pages = docs_venues.pages()
        assert "venues/docsvenue.md" in pages and "](docsvenue.md)" in pages["venues/index.md"]
        assert "`--venue docsvenue`" in pages["venues/docsvenue.md"]
    finally:
        unregister(spec.name)
    assert "venues/docsvenue.md" not in docs_venues.pages()


def test_the_okx_run_line_is_the_one_liqcore_venue_prints():
    """paper-to-live.md shows the ``liqcore run`` line ``liqcore venue --venue okx`` prints (its port and key file
    written as placeholders): the same options and the symbols as OKX names them."""
    from liqcore.commands.venue import run_line

    text = re.sub(r"\\\n\s*", " ", (DOCS / "tutorials" / "paper-to-live.md").read_text(encoding="utf-8"))
    shown = " ".join(next(ln for ln in text.splitlines() if ln.strip().startswith("liqcore run --venue okx")).split())
    printed = run_line("okx", ["ETHUSDT", "SOLUSDT"], 12345, "/tmp/liqcore-venue-okx-abc/keys.env")
    want = printed.replace("12345", "PORT").replace("/tmp/liqcore-venue-okx-abc/keys.env",
                                                    "/tmp/liqcore-venue-okx-.../keys.env")
    assert shown.startswith(want), f"page: {shown}\nprinted: {want}"


def test_the_bundled_samples_length_is_said_as_it_is():
    """Every page that says how long the bundled sample recording is says its span of receive times."""
    import liqcore
    from liqcore.data import sample_recording

    events = liqcore.load_events(sample_recording()).events
    minutes = round(int(events["ts_recv"].max() - events["ts_recv"].min()) / 60e9)
    said = f"{minutes // 60} h {minutes % 60} min"
    pages = {"README.md": (ROOT / "README.md").read_text(encoding="utf-8")}
    pages.update({p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md")})
    claims = [(w, m.group(0)) for w, t in pages.items()
              for m in re.finditer(r"(?:bundled sample is|ships a small recording[^:(]*[:(])\s*(an hour|[0-9]+ h [0-9]+ min)", t)]
    assert len(claims) >= 3, claims
    assert [c for c in claims if said not in c[1]] == []


def test_the_site_names_its_repository_and_has_a_changelog():
    """mkdocs.yml sets ``repo_url`` (from LIQCORE_REPO_URL where the site is built) and the nav holds the changelog
    and its earlier days (a page of their own: a page stays under the pages' size bar), whose sections are days,
    newest first, the earlier page's all before the changelog's, which links to it."""
    cfg = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert re.search(r"^repo_url: !ENV \[LIQCORE_REPO_URL", cfg, re.M)
    assert re.search(r"^  - Changelog: changelog\.md$", cfg, re.M)
    assert re.search(r"^  - Changelog, earlier days: changelog-earlier\.md$", cfg, re.M)
    text = (DOCS / "changelog.md").read_text(encoding="utf-8")
    assert "(changelog-earlier.md)" in text
    days = re.findall(r"^## (\d{4}-\d{2}-\d{2})$", text, re.M)
    days += re.findall(r"^## (\d{4}-\d{2}-\d{2})$", (DOCS / "changelog-earlier.md").read_text(encoding="utf-8"), re.M)
    assert len(days) >= 5 and days == sorted(days, reverse=True) and len(set(days)) == len(days)
