"""Every Numba kernel a caller enters releases the GIL (``nogil=True``): the Ctrl-C deadline
(:mod:`liqcore.interrupt`) runs in a thread, which can end the process while the main thread is
inside a kernel only if that kernel does not hold the GIL.  Under load, a kernel holding it for half
a second of CPU stretched an interrupted ``compare`` past a second of wall time.  Helpers inlined into
their caller (``inline="always"``) are compiled into it and need no flag of their own."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "liqcore" / "__init__.py").is_file())


def _jit_decorators(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef):
            for d in node.decorator_list:
                name = d.func if isinstance(d, ast.Call) else d
                if getattr(name, "id", getattr(name, "attr", None)) in ("njit", "jit"):
                    kw = {k.arg: k.value for k in d.keywords} if isinstance(d, ast.Call) else {}
                    yield node.name, node.lineno, kw


def test_every_numba_entry_point_releases_the_gil():
    seen, bad = 0, []
    for f in sorted((ROOT / "liqcore").rglob("*.py")):
        for name, line, kw in _jit_decorators(f):
            seen += 1
            inline = kw.get("inline")
            if isinstance(inline, ast.Constant) and inline.value == "always":
                continue
            nogil = kw.get("nogil")
            if not (isinstance(nogil, ast.Constant) and nogil.value is True):
                bad.append(f"{f.relative_to(ROOT)}:{line} {name}")
    assert seen > 20, "the walker found no Numba kernels: it no longer reads the decorators"
    assert bad == [], "compile these with nogil=True (or inline them):\n" + "\n".join(bad)


def test_the_walker_sees_a_kernel_that_keeps_the_gil(tmp_path):
    """The negative control: a kernel without the flag is reported, an inlined helper is not."""
    f = tmp_path / "k.py"
    f.write_text("from numba import njit\n@njit(cache=True)\ndef a(x):\n    return x\n"
                 "@njit(cache=True, inline='always')\ndef b(x):\n    return x\n"
                 "@njit(cache=True, nogil=True)\ndef c(x):\n    return x\n", encoding="utf-8")
    got = [(n, kw.get("nogil")) for n, _, kw in _jit_decorators(f)]
    assert [n for n, _ in got] == ["a", "b", "c"]
    assert got[0][1] is None and got[2][1].value is True
