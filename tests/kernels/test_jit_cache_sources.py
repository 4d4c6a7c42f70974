"""The kernels' Numba cache follows every source of their folder (``liqcore._jit.drop_stale_cache``): Numba keys a
cached kernel on its own file alone, so a kernel calling a kernel of another module kept that callee's old code
after the other module alone changed (an editable checkout ran the old fill model until its cache was cleared).
Shown on a package of two modules in a temporary folder, each step a fresh process: with the package's import
calling ``drop_stale_cache`` the caller gives the callee's new value; without it (the negative control) Numba's own
cache gives the old one."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

_CALLER = """\
from numba import njit

from {pkg}.callee import value


@njit(cache=True)
def caller(x):
    return value(x) + 1
"""
_CALLEE = """\
from numba import njit


@njit(cache=True)
def value(x):
    return x * {k}
"""
_INIT = """\
from liqcore._jit import drop_stale_cache


def _probe():
    return None


{call}
"""


def _package(root: Path, pkg: str, guarded: bool) -> Path:
    d = root / pkg
    d.mkdir()
    (d / "__init__.py").write_text(_INIT.format(call="GONE = drop_stale_cache(_probe)" if guarded else "GONE = None"))
    (d / "caller.py").write_text(_CALLER.format(pkg=pkg))
    (d / "callee.py").write_text(_CALLEE.format(k=2))
    return d


def _run(root: Path, pkg: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env["PYTHONPATH"] = os.pathsep.join([str(root), str(REPO)])
    code = f"import {pkg}; from {pkg}.caller import caller; print(caller(10), {pkg}.GONE)"
    p = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    got, gone = p.stdout.split()
    return int(got), gone


def _edit_callee(d: Path, k: int) -> None:
    f = d / "callee.py"
    st = f.stat()
    f.write_text(_CALLEE.format(k=k))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # (a later time, whatever the clock's grain)


@pytest.mark.parametrize("guarded", [True, False], ids=["with drop_stale_cache", "Numba alone (negative control)"])
def test_a_callers_cache_follows_a_change_of_its_callees_module(tmp_path, guarded):
    pkg = "jitpkg_" + ("g" if guarded else "n")
    d = _package(tmp_path, pkg, guarded)
    first = _run(tmp_path, pkg)
    assert first[0] == 21
    assert _run(tmp_path, pkg)[0] == 21  # (from the cache)
    assert any(n.endswith(".nbi") for n in os.listdir(d / "__pycache__"))
    _edit_callee(d, 3)
    got, gone = _run(tmp_path, pkg)
    if guarded:
        assert got == 31 and int(gone) > 0
        assert _run(tmp_path, pkg) == (31, "0")  # (the stamp kept: nothing removed the next time)
    else:
        assert got == 21  # (Numba's own cache: the caller's entry still holds the callee's old code)


def test_an_unchanged_folder_keeps_its_cache_and_a_changed_one_loses_only_its_modules_entries(tmp_path, monkeypatch):
    """The stamp's bookkeeping: entries of the folder's modules go on a change, another file in the cache stays."""
    from numba.core import caching

    import liqcore._jit as J

    src = tmp_path / "src"
    src.mkdir()
    (src / "a.py").write_text("x = 1\n")
    cache = tmp_path / "cache"
    cache.mkdir()
    ns: dict = {}
    exec(compile(textwrap.dedent("def probe():\n    return None\n"), str(src / "a.py"), "exec"), ns)

    class _At:
        def __init__(self, _f):
            self.cache_path = str(cache)

    monkeypatch.setattr(caching, "FunctionCache", _At)
    for n in ("a.f-1.py311.nbi", "a.f-1.py311.1.nbc", "other.g-3.py311.nbi"):
        (cache / n).write_bytes(b"x")
    assert J.drop_stale_cache(ns["probe"]) == 2  # (no stamp yet: the folder's entries go)
    assert sorted(os.listdir(cache)) == [J.STAMP_NAME, "other.g-3.py311.nbi"]
    (cache / "a.f-1.py311.nbi").write_bytes(b"x")
    assert J.drop_stale_cache(ns["probe"]) == 0 and (cache / "a.f-1.py311.nbi").exists()
    st = (src / "a.py").stat()
    os.utime(src / "a.py", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert J.drop_stale_cache(ns["probe"]) == 1 and not (cache / "a.f-1.py311.nbi").exists()
