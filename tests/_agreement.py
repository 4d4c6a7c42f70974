"""The agreement tests' set-up: hftbacktest required (under CI its absence fails, elsewhere it skips the
module) and the benches that compare liqcore with it imported by name."""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def require_hftbacktest() -> None:
    """Call at a test module's import: skips the module without hftbacktest, fails under CI."""
    try:
        import hftbacktest  # noqa: F401
    except ImportError:  # pragma: no cover - the agreement extra installs it
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            raise RuntimeError("hftbacktest is not installed: the agreement extra (pip install -e .[agreement]) "
                               "installs it") from None
        pytest.skip("hftbacktest is not installed (pip install -e .[agreement])", allow_module_level=True)


def bench(name: str):
    """``benches/<name>.py`` as a module."""
    sys.path.insert(0, str(ROOT))
    try:
        return importlib.import_module(f"benches.{name}")
    finally:
        sys.path.remove(str(ROOT))
