"""Every compiled kernel has a pure-Python twin: the TWINS table (pysrc/__init__.py) has a row for
every Cython kernel under liqcore/ (a ``.pyx`` module, or a ``.pxi`` kernel compiled inside the unit
``.pyx`` that includes it) and every Numba module under liqcore/_jit/, and each row's twin imports and
has the names it pairs with the kernel's, found in the module the kernel is compiled into."""
from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from pysrc import NOT_KERNELS, TWINS

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "liqcore"


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _uses_numba(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "numba" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "numba":
            return True
    return False


_INCLUDE = re.compile(r'^include\s+"([^"]+\.pxi)"', re.M)


def compiled_in() -> dict[str, str]:
    """Each Cython kernel -> the module it is compiled into: a ``.pyx`` that includes ``.pxi`` kernels is a
    unit (the module of each kernel it includes), any other ``.pyx`` its own kernel."""
    out = {}
    for p in sorted(PKG.rglob("*.pyx")):
        included = _INCLUDE.findall(p.read_text(encoding="utf-8"))
        for name in included:
            out[_module(p.parent / name)] = _module(p)
        if not included:
            out[_module(p)] = _module(p)
    return out


def compiled_modules() -> list[str]:
    """Every Cython kernel under liqcore/ (see :func:`compiled_in`) and every module under liqcore/_jit/
    that imports numba."""
    jit = [_module(p) for p in (PKG / "_jit").glob("*.py") if p.name != "__init__.py" and _uses_numba(p)]
    return sorted(list(compiled_in()) + jit)


def _resolve(module, dotted: str):
    obj = module
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def test_the_kernel_list_is_what_the_tree_holds():
    found = compiled_modules()
    assert {"liqcore._libs.detector", "liqcore.venues._scan", "liqcore._jit.sim"} <= set(found)
    assert all(m in found for m in NOT_KERNELS), "NOT_KERNELS names a module that is gone"


@pytest.mark.parametrize("kernel", compiled_modules())
def test_every_kernel_has_a_twin_with_the_names_it_pairs(kernel):
    if kernel in NOT_KERNELS:
        assert kernel not in TWINS
        return
    assert kernel in TWINS, f"{kernel} has no pure-Python twin: add one to pysrc/ and a row to pysrc.TWINS"
    twin_name, pairs = TWINS[kernel]
    assert pairs, f"{kernel}: the TWINS row pairs no names"
    compiled = importlib.import_module(compiled_in().get(kernel, kernel))
    twin = importlib.import_module(twin_name)
    for k_name, t_name in pairs:
        k_obj = _resolve(compiled, k_name)
        t_obj = _resolve(twin, t_name)
        assert callable(k_obj), f"{kernel}.{k_name} is not callable"
        assert callable(t_obj), f"{twin_name}.{t_name} is not callable"


def test_every_pxi_kernel_is_compiled_by_one_unit():
    """A ``.pxi`` under liqcore/ that no unit includes is never built; one included twice is two copies."""
    included = [_module(p.parent / n) for p in PKG.rglob("*.pyx") for n in _INCLUDE.findall(p.read_text(encoding="utf-8"))]
    assert sorted(included) == sorted(_module(p) for p in PKG.rglob("*.pxi"))
    assert len(set(included)) == len(included)
    assert compiled_in()["liqcore._libs.quantile"] == "liqcore._libs.detection"
    assert compiled_in()["liqcore._libs.pqpages"] == "liqcore._libs.reading"


def test_no_twin_row_for_a_module_that_is_gone():
    assert sorted(set(TWINS) - set(compiled_modules())) == []


def test_a_new_kernel_without_a_row_is_found(tmp_path, monkeypatch):
    import sys

    (tmp_path / "liqcore" / "_jit").mkdir(parents=True)
    (tmp_path / "liqcore" / "_libs").mkdir()
    (tmp_path / "liqcore" / "_jit" / "fresh.py").write_text("import numba\n\n@numba.njit\ndef f(x):\n    return x\n")
    (tmp_path / "liqcore" / "_jit" / "helpers.py").write_text("import math\n")
    (tmp_path / "liqcore" / "_libs" / "newk.pyx").write_text("def g():\n    return 1\n")
    (tmp_path / "liqcore" / "_libs" / "unit.pyx").write_text('include "inner.pxi"\n')
    (tmp_path / "liqcore" / "_libs" / "inner.pxi").write_text("def h():\n    return 2\n")
    here = sys.modules[__name__]
    monkeypatch.setattr(here, "ROOT", tmp_path)
    monkeypatch.setattr(here, "PKG", tmp_path / "liqcore")
    found = compiled_modules()
    assert found == ["liqcore._jit.fresh", "liqcore._libs.inner", "liqcore._libs.newk"]
    assert compiled_in()["liqcore._libs.inner"] == "liqcore._libs.unit"
    assert [m for m in found if m not in TWINS and m not in NOT_KERNELS] == found
