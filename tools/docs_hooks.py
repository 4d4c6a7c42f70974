"""MkDocs hooks of liqcore's documentation site (``mkdocs.yml``: ``hooks: [tools/docs_hooks.py]``).

The pages that describe the code are generated from it at every build, so they cannot drift from it:

* the command-line reference (``reference/cli/``, :mod:`docs_cli`): a page per command and per shared parameter
  group, from the parser;
* the Python API reference (``reference/api/``, :mod:`docs_api`): a page per group of public names, each name
  rendered from its own docstring;
* a page per venue (``venues/``, :mod:`docs_venues`): from the venue's registered facts and parts;
* the install extras of the Getting started page (:mod:`docs_extras`): from ``pyproject.toml`` and the commands'
  needs.

The hooks also render Sphinx cross-reference roles (``:class:`x``` in a docstring or a page) as plain code.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from mkdocs.structure.files import File

sys.path.insert(0, str(Path(__file__).resolve().parent))

import docs_api  # noqa: E402
import docs_cli  # noqa: E402
import docs_extras  # noqa: E402
import docs_venues  # noqa: E402

#: the navigation entries (titles in mkdocs.yml's nav) whose pages are generated here
GENERATED_NAV = {"Command line": lambda: docs_cli.cli_reference().nav(), "Python API": docs_api.nav,
                 "Venues": docs_venues.nav}

_pages: dict[str, str] = {}


def generated_pages() -> dict[str, str]:
    """Every generated page: path relative to the docs directory -> Markdown."""
    if not _pages:
        _pages.update(docs_cli.cli_reference().pages())
        _pages.update(docs_api.pages())
        _pages.update(docs_venues.pages())
    return _pages


def _replace_nav(nav, cache):
    out = []
    for item in nav:
        if isinstance(item, dict):
            (title, value), = item.items()
            if title in GENERATED_NAV:
                value = cache.setdefault(title, GENERATED_NAV[title]())
            elif isinstance(value, list):
                value = _replace_nav(value, cache)
            out.append({title: value})
        else:
            out.append(item)
    return out


def on_config(config):
    _pages.clear()
    config["nav"] = _replace_nav(config["nav"], {})
    return config


def on_files(files, config):
    for path, text in generated_pages().items():
        files.append(File.generated(config, path, content=text))
    return files


#: a Sphinx role before a code span (``:class:`x``` rendered as ``:class:<code>x</code>``; ``~a.b.C`` shows ``C``)
_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj|const|ref|term):<code>(~?)([^<]*)</code>")


def plain_roles(html: str) -> str:
    """Sphinx cross-reference roles of docstrings and pages as plain code spans."""
    return _ROLE.sub(lambda m: f"<code>{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}</code>", html)


def on_page_markdown(markdown, page, config, files):
    return docs_extras.fill(markdown)


def on_page_content(html, page, config, files):
    return plain_roles(html)
