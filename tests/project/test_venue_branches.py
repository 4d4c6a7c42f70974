"""The venue layout's bars, read from the code by ``tools/layout_check.py``: outside ``liqcore/venues/``, at most 10
branches on a venue's name (a comparison with ``"bybit"``, ``"binance"``, ``"okx"`` or ``Venue.BYBIT`` /
``.BINANCE`` / ``.OKX``, a ``match`` case on one), and at most :data:`MAX_MODULES_NAMING_A_VENUE` modules that name a
venue in code at all (identifiers and strings: a table keyed by venue, a closed list of venues, a default, a URL,
a message; comments and docstrings left aside): what a venue knows is asked of its spec or its parts.  The bound is
what the code reaches now (53 modules before the venue tables moved into the venues' folders, 25 once every
registered venue's name and alias was counted, 3 since); it only goes down."""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@functools.lru_cache(maxsize=1)
def _report() -> dict:
    """The repository's layout report, read once for the tests of this module (a read parses every module)."""
    return _layout_check().report()


def _layout_check():
    spec = importlib.util.spec_from_file_location("layout_check", ROOT / "tools" / "layout_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


#: modules outside liqcore/venues/ naming a venue in code, at most: types.py (DEFAULT_VENUE and the built-in venues'
#: Venue members), cli_help.py (the commands' descriptions and their examples) and download/sources.py (the
#: venues' public archives as sources of ``liqcore download``)
MAX_MODULES_NAMING_A_VENUE = 3


def test_at_most_ten_branches_on_a_venue_s_name_outside_venues():
    found = _report()["venue_branches"]
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


def test_few_modules_outside_venues_name_a_venue_in_code():
    found = _report()["venue_mentions"]
    assert len(found) <= MAX_MODULES_NAMING_A_VENUE, (
        f"{len(found)} modules outside liqcore/venues/ name a venue in code (at most {MAX_MODULES_NAMING_A_VENUE}; "
        f"`python tools/layout_check.py -v` says where): {found}")


def test_the_count_sees_tables_lists_identifiers_and_strings_not_prose(tmp_path):
    """Each form a reader adding a venue would have to find is counted, in the module it is in; a docstring or a
    comment naming a venue is not, and neither is a word that merely contains a venue's name."""
    lc = _layout_check()
    pkg = tmp_path / "liqcore"
    (pkg / "live").mkdir(parents=True)
    (pkg / "venues" / "acme").mkdir(parents=True)
    forms = {
        "table.py": 'REST = {"bybit": "https://api.example"}\n',
        "closed.py": 'VENUES = ("binance", "okx")\n',
        "name.py": "def render_okx(x):\n    return x\n",
        "attr.py": "import liqcore.types as T\nv = T.Venue.BINANCE\n",
        "url.py": 'BASE = "https://api.bybit.com/v5"\n',
        "default.py": 'def f(venue="okx"):\n    return venue\n',
        "alias.py": 'TARDIS = ["okex-swap"]\n',  # (a registered venue's alias: a file's name for it)
        "fourth.py": 'WS = {"x": "wss://fx-ws.gateio.ws/v4/ws/usdt"}\n',  # (the fourth venue, by its alias)
        "upper.py": 'KEY = env["GATE_API_KEY"]\n',
        "prose.py": '"""Reads Bybit, Binance and OKX frames."""\n# bybit: a comment\nOKEXPLAIN = "bybitish"\n'
                    'from liqcore.live import gateways\nGATEWAY = gateways.aggregate\n',
    }
    for name, text in forms.items():
        (pkg / "live" / name).write_text(text)
    (pkg / "venues" / "acme" / "x.py").write_text('ME = "okx"\n')  # (inside venues/: not counted)
    lc.PKG, lc.ROOT = pkg, tmp_path
    found = lc.venue_mentions(sorted(pkg.rglob("*.py")))
    assert sorted(found) == sorted(f"liqcore/live/{n}" for n in forms if n != "prose.py")


def test_the_count_knows_every_registered_venue():
    """The words counted are the registry's: every registered venue's name and aliases, the fourth venue's too (a
    table of tardis ids would otherwise hide behind ``"okex-swap"``)."""
    from liqcore.venues.registry import registered

    lc = _layout_check()
    for spec in registered():
        for word in (spec.name, *spec.aliases):
            assert word.lower() in lc.VENUES, word


def test_the_venues_shared_layer_never_imports_a_venue_folder():
    """``liqcore/venues/*.py`` (the decoder, the line loader, the shared fake streams, ...) sits under the venue
    folders and finds a venue's parts through the registry (the loader and the decoder imported the three parsers
    by name; the shared fake streams imported two folders' parts that imported it back)."""
    found = _report()["shared_venue_imports"]
    assert found == [], f"the venues' shared layer imports venue folders: {found}"
