"""The layout bars of issue 68 that ``tools/layout_check.py`` reads from the code: no import cycle between liqcore's
top-level packages, no private name imported across packages, no file over 1,000 lines; and no module outside
``liqcore/venues/`` named for a venue but the Binance fake, still waiting for its move (``venues/binance/fake.py``:
it mounts ``testing.fake_streams``, which imports the venues, so that core must move below the venue folders
first); the OKX fake is its venue's ``fake`` part."""
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


#: the venue-named modules left outside liqcore/venues/ (to go: venues/binance/fake.py)
FAKES_TO_MOVE = ["liqcore/testing/fake_binance.py"]


def test_no_module_outside_the_venue_folders_is_named_for_a_venue_but_the_fakes_to_move(report):
    assert set(report["venue_named_modules"]) <= set(FAKES_TO_MOVE), report["venue_named_modules"]


def test_the_okx_fake_is_its_venues_fake_part():
    """The OKX fake lives in its venue's folder and is found through the registry (``spec.part("fake")``); the
    test kit's lazy name resolves to the same class."""
    import liqcore.testing
    from liqcore.venues.registry import venue_spec

    part = venue_spec("okx").part("fake")
    assert part.__name__ == "liqcore.venues.okx.fake"
    assert part.FAKE is liqcore.testing.FakeOkx
