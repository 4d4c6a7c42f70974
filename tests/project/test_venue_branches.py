"""Issue 68's bar, read from the code by ``tools/layout_check.py``: at most 10 branches on a venue's name (a
comparison with ``"bybit"``, ``"binance"``, ``"okx"`` or ``Venue.BYBIT`` / ``.BINANCE`` / ``.OKX``, a ``match``
case on one) outside ``liqcore/venues/``: what a venue knows is asked of its spec or its parts."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _layout_check():
    spec = importlib.util.spec_from_file_location("layout_check", ROOT / "tools" / "layout_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_at_most_ten_branches_on_a_venue_s_name_outside_venues():
    found = _layout_check().report()["venue_branches"]
    assert len(found) <= 10, f"{len(found)} branches on a venue's name outside liqcore/venues/: {found}"


def test_the_check_sees_a_branch(tmp_path):
    """The reader is not blind: each form it counts is found in a module outside ``venues/``."""
    lc = _layout_check()
    pkg = tmp_path / "liqcore"
    (pkg / "live").mkdir(parents=True)
    (pkg / "live" / "x.py").write_text('if venue == "okx":\n    pass\nif v is Venue.BYBIT:\n    pass\n'
                                       'match venue:\n    case "binance":\n        pass\n')
    lc.PKG, lc.ROOT = pkg, tmp_path
    assert lc.venue_branches([pkg / "live" / "x.py"]) == ["liqcore/live/x.py:1", "liqcore/live/x.py:3",
                                                          "liqcore/live/x.py:6"]
