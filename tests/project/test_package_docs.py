"""Every package of liqcore says, in its ``__init__`` docstring, what it is for, what it may import and
where a new piece of its kind goes (a newcomer's three questions), read from the source."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["", "backtest", "live", "strategies", "venues", "_libs", "_jit", "commands", "research", "testing",
            "download", "market", "synthetic", "sweep", "dataset"]


def _doc(pkg: str) -> str:
    init = ROOT / "liqcore" / pkg / "__init__.py"
    return ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""


@pytest.mark.parametrize("pkg", PACKAGES, ids=lambda p: f"liqcore.{p}" if p else "liqcore")
def test_package_docstring_answers_what_imports_and_where(pkg):
    doc = _doc(pkg)
    assert len(doc.splitlines()[0]) > 20 if doc else False, f"liqcore.{pkg}: no docstring saying what it is for"
    assert re.search(r"\bmay import\b", doc, re.I), f"liqcore.{pkg}: the docstring does not say what it may import"
    assert re.search(r"\ba new\b", doc, re.I), f"liqcore.{pkg}: the docstring does not say where a new piece goes"
    # every module it names as ``name.py`` exists (in the package or at the repository root)
    here = ROOT / "liqcore" / pkg
    for name in re.findall(r"``([a-z_]+\.(?:py|pyx|pxd))``", doc):
        assert any(here.rglob(name)) or (ROOT / name).exists(), f"liqcore.{pkg}: names {name}, which is not there"


def test_every_existing_package_is_covered():
    found = {p.parent.relative_to(ROOT / "liqcore").parts[0] for p in (ROOT / "liqcore").glob("*/__init__.py")}
    # packages created by later work carry their own docstrings; these are the ones this test holds
    assert set(PACKAGES[1:]) <= found


#: above this many lines a module says in its docstring why it is one module ("Why one module: ...")
LONG_MODULE_LINES = 800


def test_long_modules_say_why_they_are_one_module():
    pkg = ROOT / "liqcore"
    files = sorted(pkg.rglob("*.py")) + sorted(pkg.rglob("*.pyx")) + sorted(pkg.rglob("*.pxi"))
    bad = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        if text.count("\n") > LONG_MODULE_LINES:
            head = text.split('"""', 2)[1] if text.count('"""') >= 2 else ""
            if "Why one module:" not in head:
                bad.append(f"{f.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    assert bad == [], "split these, or say in the docstring why each is one module:\n" + "\n".join(bad)
