"""The layout bars of issue 68 that ``tools/layout_check.py`` reads from the code and that hold today: no import
cycle between liqcore's top-level packages, no module outside ``liqcore/venues/`` named for a venue, no private
name imported across packages, no file over 1,000 lines."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report() -> dict:
    spec = importlib.util.spec_from_file_location("layout_check", ROOT / "tools" / "layout_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.report()


@pytest.mark.parametrize("bar", ["cycles", "venue_named_modules", "private_imports", "long_files"])
def test_the_layout_bar_holds(report, bar):
    assert report[bar] == [], f"{bar}: {report[bar]}"
