"""Import layering, checked on the source (ast): the installed package never imports the pysrc twins,
and the venue layer (parsers, stream specs, REST/private clients) never imports the live shell."""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "liqcore"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a Python file imports, anywhere in it (top level, functions, TYPE_CHECKING blocks),
    with relative imports resolved, plus ``importlib.import_module("<literal>")`` / ``__import__`` calls."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            out.extend((node.lineno, f"{mod}.{a.name}") for a in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
            if name in ("import_module", "__import__"):
                out.append((node.lineno, node.args[0].value))
    return out


def _offenders(files, forbidden: str) -> list[str]:
    bad = []
    for f in files:
        for line, mod in imported_modules(f):
            if mod == forbidden or mod.startswith(forbidden + "."):
                bad.append(f"{f.relative_to(ROOT)}:{line} imports {mod}")
    return bad


def test_package_never_imports_pysrc():
    files = sorted(PKG.rglob("*.py"))
    assert len(files) > 50
    bad = _offenders(files, "pysrc")
    # Cython sources: cimport/import lines
    pat = re.compile(r"^\s*(?:from\s+pysrc\b|c?import\s+pysrc\b)", re.M)
    bad += [str(f.relative_to(ROOT)) for f in PKG.rglob("*.pyx") if pat.search(f.read_text(encoding="utf-8"))]
    assert bad == [], "the installed package must not import the pysrc twins:\n" + "\n".join(bad)


def test_venue_layer_never_imports_the_live_shell():
    files = sorted((PKG / "venues").rglob("*.py"))
    assert any(f.name == "stream.py" for f in files) and any(f.name == "private.py" for f in files)
    bad = _offenders(files, "liqcore.live")
    assert bad == [], "venue modules must not import liqcore.live:\n" + "\n".join(bad)


@pytest.mark.parametrize("src, expected", [
    ("from liqcore.live.transport import ConnectionSpec\n", "liqcore.live.transport"),
    ("def f():\n    from ..live import gateway\n", "liqcore.live"),
    ("import importlib\nimportlib.import_module('liqcore.live.feeds')\n", "liqcore.live.feeds"),
    ("import pysrc.detector as d\n", "pysrc.detector"),
])
def test_the_walker_sees_every_import_form(tmp_path, monkeypatch, src, expected):
    pkg = tmp_path / "liqcore" / "venues"
    pkg.mkdir(parents=True)
    f = pkg / "mod.py"
    f.write_text(src)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert expected in [m for _, m in imported_modules(f)]


def test_old_import_paths_still_work():
    from liqcore.live import gateway, transport
    from liqcore.venues import orders, spec

    assert transport.ConnectionSpec is spec.ConnectionSpec
    for name in ("Fill", "OrderUpdate", "PositionInfo"):
        assert getattr(gateway, name) is getattr(orders, name)
