"""The layout bars of issue 68 that ``tools/layout_check.py`` reads from the code: no import cycle between liqcore's
top-level packages, no private name imported across packages, no file over 1,000 lines, no module outside
``liqcore/venues/`` named for a venue; each venue's fake is its ``fake`` part."""
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


@pytest.mark.parametrize("bar", ["cycles", "private_imports", "long_files"])
def test_the_layout_bar_holds(report, bar):
    assert report[bar] == [], f"{bar}: {report[bar]}"


def test_no_module_outside_the_venue_folders_is_named_for_a_venue(report):
    assert report["venue_named_modules"] == [], report["venue_named_modules"]


@pytest.mark.parametrize("venue,name", [("okx", "FakeOkx"), ("binance", "FakeBinance")])
def test_the_fake_is_its_venues_fake_part(venue, name):
    """A venue's fake lives in its venue's folder and is found through the registry (``spec.part("fake")``); the
    test kit's lazy name and the spec's ``local_fake`` resolve to the same class."""
    import liqcore.testing
    from liqcore.venues.registry import venue_spec

    spec = venue_spec(venue)
    part = spec.part("fake")
    assert part.__name__ == f"liqcore.venues.{venue}.fake"
    assert part.FAKE is getattr(liqcore.testing, name)
    assert spec.local_fake == f"liqcore.venues.{venue}.fake:{name}"
