"""The Cython build compiles Cython's own utility code (the memoryview type and its helpers, about 1 MB of C) once,
into ``liqcore._libs._cyutility``, which every kernel imports, instead of once per kernel (setup.py; Cython >= 3.1):
the build's CPU halves (``BENCHMARKS.md``, the install row)."""
from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _cython() -> tuple:
    try:
        import Cython
    except ImportError:
        return ()
    return tuple(int(p) for p in Cython.__version__.split(".")[:2])


def test_the_kernels_share_one_utility_module():
    if _cython() < (3, 1):
        pytest.skip("Cython >= 3.1 builds the shared utility module (this one builds each kernel whole)")
    kernels = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (ROOT / "liqcore").rglob("*.pyx"))
    assert "liqcore._libs.quantile" in kernels
    # a fresh interpreter: the kernels that use a memoryview import the shared module, and every kernel loads
    code = ("import importlib, sys\n"
            f"for k in {kernels!r}:\n    importlib.import_module(k)\n"
            "print('liqcore._libs._cyutility' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True", out.stderr
    importlib.import_module("liqcore._libs._cyutility")
    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    assert 'SHARED = "liqcore._libs._cyutility"' in setup and "shared_utility_qualified_name" in setup
