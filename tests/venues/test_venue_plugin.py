"""Venues as plugins: a package of its own names its :class:`~liqcore.venues.registry.VenueSpec` in the entry point
group ``liqcore.venues`` and then works wherever a built-in venue does, with no file of liqcore touched.

The fast tests load entry points made here (a good one, one that does not import, one whose spec has another name)
into this process's registry.  The end-to-end test (long tier) builds the plugin package ``liqcore-rekt`` (the venue
of tests/_rekt_venue.py, its ``pyproject.toml`` naming ``rekt = "rekt_venue:SPEC"``), installs it into a fresh
virtual environment whose only other packages are those of the host interpreter (``$LEAN_PYTHON``, the lean core CI
builds, when given; else this one), and there runs ``record`` against the shared local fake serving the venue on
127.0.0.1, ``events``, ``convert --dataset``, ``backtest`` on the dataset and a paper ``run`` on the live stream:
every one finds the venue through the entry point alone.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import liqcore

from _rekt_venue import CODE, fill_frame, liq_frame, write_package

ROOT = Path(__file__).resolve().parents[2]
GROUP = "liqcore.venues"
SPEC_INIT = '''"""rekt: a venue shipped as a package of its own (its entry point: rekt = "rekt_venue:SPEC")."""
from liqcore.venues.registry import VenueSpec

SPEC = VenueSpec(name="rekt", code=77, package="rekt_venue", example_symbol="ROCKET_PERP")
'''
PYPROJECT = '''[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "liqcore-rekt"
version = "0.1.0"
description = "The rekt venue for liqcore"
dependencies = []

[project.entry-points."liqcore.venues"]
rekt = "rekt_venue:SPEC"

[tool.setuptools]
packages = ["rekt_venue"]
'''


@pytest.fixture
def rekt_module(tmp_path, monkeypatch):
    """The plugin's package importable from ``tmp_path/src`` (not registered); forgotten after the test."""
    write_package(tmp_path / "src", init=SPEC_INIT)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    yield
    from liqcore.venues.registry import PLUGIN_ERRORS, unregister

    unregister("rekt")
    PLUGIN_ERRORS.clear()
    for m in [m for m in sys.modules if m == "rekt_venue" or m.startswith("rekt_venue.")]:
        del sys.modules[m]


def test_an_entry_point_registers_its_venue_and_a_broken_one_is_left_out_with_a_warning(rekt_module):
    from liqcore.types import Venue
    from liqcore.venues.decoder import Decoder
    from liqcore.venues.registry import PLUGIN_ERRORS, VenuePluginWarning, load_plugins, venue_spec

    eps = [EntryPoint("rekt", "rekt_venue:SPEC", GROUP), EntryPoint("gone", "no_such_venue_pkg:SPEC", GROUP),
           EntryPoint("other", "rekt_venue:SPEC", GROUP)]
    with pytest.warns(VenuePluginWarning) as got:
        assert load_plugins(eps) == ["rekt"]
    assert len(got) == 2 and all("\n" not in str(w.message) for w in got)
    assert PLUGIN_ERRORS["gone"].startswith("ModuleNotFoundError: No module named 'no_such_venue_pkg'")
    assert PLUGIN_ERRORS["other"] == "ValueError: its spec is named 'rekt'"
    assert venue_spec("rekt").code == CODE and Venue.parse("rekt") == CODE
    ev = Decoder("rekt").feed(liq_frame("ROCKET_PERP", 1_767_225_600_000, 2.0, 3.0, "S"), 1_767_225_600_000_000_000)
    assert ev["venue"].tolist() == [CODE] and ev["side"].tolist() == [2]


def test_a_plugin_that_fails_is_one_warning_line_naming_the_venue_holding_its_code(tmp_path, monkeypatch):
    """A plugin whose code is a built-in venue's (Gate's 4) is left out with one warning line, as shown (not the
    line of source ``warnings.warn`` adds below its message), naming the venue that holds the code; the how-to
    shows that line."""
    import warnings

    from liqcore.venues.registry import PLUGIN_ERRORS, VenuePluginWarning, load_plugins, venue_spec

    pkg = tmp_path / "rekt_venue"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(SPEC_INIT.replace("code=77", "code=4"))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            assert load_plugins([EntryPoint("rekt", "rekt_venue:SPEC", GROUP)]) == []
        assert [w.category for w in got] == [VenuePluginWarning]
        shown = warnings.formatwarning(got[0].message, got[0].category, got[0].filename, got[0].lineno, got[0].line)
        assert shown.count("\n") == 1 and shown.endswith("\n"), shown
        assert PLUGIN_ERRORS["rekt"] == "ValueError: venue code 4 is registered already for venue 'gate'"
        assert venue_spec(4).name == "gate"
        page = (ROOT / "docs" / "how-to" / "write-a-venue-plugin.md").read_text(encoding="utf-8")
        assert shown in page, shown
    finally:
        PLUGIN_ERRORS.pop("rekt", None)
        for m in [m for m in sys.modules if m == "rekt_venue" or m.startswith("rekt_venue.")]:
            del sys.modules[m]


def test_its_generated_page_holds_its_side_tables_and_its_own_example_symbol(rekt_module):
    """tools/docs_venues.py's page of the how-to's plugin: the side tables its parse part declares
    (``LIQUIDATION_SIDES``, ``TRADE_SIDES``), its ``example_symbol`` (its names fit no ``symbol_style``), and no
    word of keys (it has no gateway)."""
    from liqcore.venues.registry import load_plugins

    assert load_plugins([EntryPoint("rekt", "rekt_venue:SPEC", GROUP)]) == ["rekt"]
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import docs_venues
    finally:
        sys.path.remove(str(ROOT / "tools"))
    page = docs_venues.pages()["venues/rekt.md"]
    for row in ("| liquidation: `L` | `LONG position liquidated` |", "| liquidation: `S` | `SHORT position liquidated` |",
                "| trade: `b` | `taker BUY` |", "| trade: `s` | `taker SELL` |",
                "| example symbol | `ROCKET_PERP` | one of its symbols |",
                "| `symbol_style` | its own (none of liqcore's styles fits its names) |"):
        assert row in page, row
    assert "ETHUSDT" not in page and "REKT_API_KEY" not in page and "Keys come from" not in page
    assert "## Networks and endpoints" in page and "`wss://stream.rekt.invalid/v1`" in page


def test_a_lookup_by_name_registers_the_plugins_first(rekt_module, monkeypatch):
    """A name only a plugin registers is found by the contract's lookups (``Venue.parse``, the name table) even
    when nothing asked the registry before: the lookup that misses loads every venue there is, once."""
    import liqcore.types as T
    from liqcore.venues import registry

    monkeypatch.setattr(registry, "_LOADED", [False])
    monkeypatch.setattr(T, "_VENUES_LOADED", [False])
    monkeypatch.setattr(registry, "_entry_points", lambda: [EntryPoint("rekt", "rekt_venue:SPEC", GROUP)])
    assert "rekt" not in registry._REGISTRY
    assert T.VENUE_CODE_BY_NAME.get("rekt") == CODE and T.Venue.parse("REKT") == CODE
    assert T.VENUE_CODE_BY_NAME.get("kraken") is None  # (loaded once: a second miss loads nothing again)
    with pytest.raises(T.UnknownVenue, match="expected one of bybit, binance, okx, gate, rekt"):
        T.Venue.parse("kraken")


def test_the_contract_alone_knows_every_venue(tmp_path):
    """With only ``liqcore.types`` imported (no command, no registry imported yet), ``Venue.parse``, ``Venue(code)``
    and the unknown-venue line know Gate and an installed plugin: the first miss imports the registry."""
    write_package(tmp_path, init=SPEC_INIT)
    dist = tmp_path / "liqcore_rekt-0.1.0.dist-info"  # the plugin installed, as pip leaves one
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: liqcore-rekt\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[liqcore.venues]\nrekt = rekt_venue:SPEC\n")
    code = ("from liqcore.types import Venue, UnknownVenue\n"
            "import sys; assert 'liqcore.venues.registry' not in sys.modules\n"
            "print(int(Venue.parse('gate')), Venue(%d).name)\n"
            "try:\n    Venue.parse('kraken')\nexcept UnknownVenue as e:\n    print(e)\n" % CODE)
    # (not the tests' own folder: on Python 3.10 its io/ shadows the standard library's io at the interpreter's start)
    paths = [p for p in sys.path if p and Path(p).resolve() != Path(__file__).resolve().parents[1]]
    env = _env(PYTHONPATH=os.pathsep.join([str(tmp_path), *paths]))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["4 REKT", "venue: unknown venue 'kraken' (expected one of bybit, binance, "
                                                  "okx, gate, rekt)"]


# ---- end to end, in a fresh virtual environment -----------------------------------------------------------------


def _env(**extra) -> dict:
    env = dict(os.environ)
    env.pop("LIQCORE_VENUE_PLUGINS", None)  # (the session keeps the user's plugins out; the venv's are looked at)
    env.update(extra)
    return env


def _host_site_packages(host: str) -> list[str]:
    out = subprocess.run([host, "-c", "import site, json; print(json.dumps(site.getsitepackages()))"],
                         capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def plugin_python(tmp_path_factory) -> str:
    """A fresh virtual environment holding the plugin package ``liqcore-rekt``, built by pip from its source
    (``pyproject.toml`` with its entry point) into a wheel and installed from it by pip, and seeing this
    interpreter's packages and liqcore's folder through a ``.pth`` file -> its interpreter."""
    work = tmp_path_factory.mktemp("plugin")
    src = work / "liqcore-rekt"
    write_package(src, init=SPEC_INIT)
    (src / "pyproject.toml").write_text(PYPROJECT)
    host = sys.executable  # (not the lean environment: convert and the backtest need the research extra)
    venv = work / "venv"
    subprocess.run([host, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    py = str(venv / "bin" / "python")
    site_dir = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, timeout=120, check=True).stdout.strip()
    # the host's packages, and liqcore's folder (an editable install's own .pth is not read from a .pth's folder)
    liqcore_root = str(Path(liqcore.__file__).resolve().parent.parent)
    Path(site_dir, "_host_packages.pth").write_text("\n".join([*_host_site_packages(host), liqcore_root]) + "\n")
    # built into a wheel by this interpreter (its setuptools builds wheels; the lean host's bundled one may not),
    # then the wheel installed into the fresh environment by pip: no build backend runs there
    wheels = work / "wheels"
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                          "--no-index", "-w", str(wheels), str(src)], capture_output=True, text=True, timeout=600,
                         env=_env())
    assert out.returncode == 0, out.stderr[-3000:]
    (wheel,) = wheels.glob("liqcore_rekt-*.whl")
    out = subprocess.run([host, "-m", "pip", "--python", py, "install", "-q", "--no-deps", "--no-index", str(wheel)],
                         capture_output=True, text=True, timeout=600, env=_env())
    assert out.returncode == 0, out.stderr[-3000:]
    assert (Path(site_dir) / "rekt_venue" / "parse.py").is_file()
    return py


def _liqcore(py: str, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    out = subprocess.run([py, "-m", "liqcore", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd,
                         env=_env())
    assert out.returncode == 0, f"liqcore {' '.join(args)}: {out.stderr[-3000:]}"
    return out


SYM = "ROCKET_PERP"


def _history(fs) -> None:
    """20 liquidations (alternately longs and shorts wiped out) and 20 fills, the last 10 s ago."""
    t0 = int(time.time() * 1000) - 30_000
    for i in range(20):
        fs.liquidation(liq_frame(SYM, t0 + i * 1000, 1.0 + i % 5, 2.5 + i / 1000, "LS"[i % 2]), SYM)
        fs.trade(fill_frame(SYM, t0 + i * 1000 + 1, 2.0, 2.5, "bs"[i % 2]), SYM)


def _cascade(fs) -> None:
    """Three large long liquidations now, at falling prices: a cascade after the history."""
    now = int(time.time() * 1000)
    for i, q in enumerate([100, 120, 140]):
        fs.liquidation(liq_frame(SYM, now + i, q, 2.5 * (1 - 0.0005 * i)), SYM)


async def _serve(py: str, cwd: Path, args: list, push) -> tuple[int, str]:
    """``liqcore <args> --venue rekt --symbols ROCKET_PERP --ws-url <fake>`` against the shared local fake serving
    rekt (the plugin registered in this process too), ``push(fs)`` once it has subscribed -> (exit status, its
    stdout and stderr)."""
    from liqcore.venues.fake_streams import FakeMarketStream

    async with FakeMarketStream("rekt") as fs:
        proc = await asyncio.create_subprocess_exec(
            py, "-m", "liqcore", *args, "--venue", "rekt", "--symbols", SYM, "--ws-url", fs.ws_url, cwd=cwd,
            env=_env(), stderr=asyncio.subprocess.STDOUT, stdout=asyncio.subprocess.PIPE)
        t0 = time.monotonic()
        while not fs.subscribed(f"rekt.{SYM}"):
            assert time.monotonic() - t0 < 120, "it never subscribed"
            assert proc.returncode is None, f"it ended before subscribing: {(await proc.stdout.read()).decode()}"
            await asyncio.sleep(0.05)
        push(fs)
        out, _ = await asyncio.wait_for(proc.communicate(), 180)
        return proc.returncode, out.decode()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_plugin_venue_records_converts_and_backtests_with_no_liqcore_file_touched(plugin_python, tmp_path,
                                                                                    rekt_module):
    py = plugin_python
    listed = subprocess.run([py, "-c", "from liqcore.venues.registry import venue_names, PLUGIN_ERRORS; "
                                       "import json, rekt_venue, liqcore; print(json.dumps(venue_names()), "
                                       "json.dumps(PLUGIN_ERRORS), rekt_venue.__file__, liqcore.__file__, sep='\\n')"],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path, env=_env())
    assert listed.returncode == 0, listed.stderr
    names_json, errors_json, plugin_file, liqcore_file = listed.stdout.splitlines()
    names = json.loads(names_json)  # the built-in venues, then the plugin's
    assert names[-1] == "rekt" and set(names[:-1]) == {"bybit", "binance", "okx", "gate"}, names
    assert json.loads(errors_json) == {}  # no plugin failed to load
    assert Path(plugin_file).is_relative_to(Path(py).parent.parent)  # in the venv's site-packages ...
    assert not list(Path(liqcore_file).parent.rglob("*rekt*"))  # ... and nothing of it in liqcore's folder

    from liqcore.venues.registry import load_plugins

    assert load_plugins([EntryPoint("rekt", "rekt_venue:SPEC", GROUP)]) == ["rekt"]  # (the fake, in this process)
    code, out = asyncio.run(_serve(py, tmp_path, ["record", "--out", str(tmp_path / "rec"), "--duration", "6",
                                                  "--no-book"], _history))
    assert code == 0, out[-3000:]
    (rec,) = (tmp_path / "rec").glob("rekt-*.jsonl.zst")

    lines = _liqcore(py, "events", "--json", str(rec), cwd=tmp_path).stdout.splitlines()
    rows = [json.loads(x) for x in lines if x.startswith("{")]
    liq = [r for r in rows if r["kind"] == "liquidation"]
    assert len(liq) == 20 and len([r for r in rows if r["kind"] == "trade"]) == 20
    assert {r["venue"] for r in rows} == {"rekt"} and [r["side"] for r in liq] == ["long", "short"] * 10

    _liqcore(py, "convert", str(rec), "--dataset", str(tmp_path / "ds"), cwd=tmp_path)
    assert [p.name for p in (tmp_path / "ds").glob("venue=*")] == ["venue=rekt"]

    out = _liqcore(py, "backtest", str(tmp_path / "ds"), "--json", "--min-history", "3", "--history", "10",
                   cwd=tmp_path).stdout
    summary = json.loads(out)["summary"]
    assert summary["cascades"] >= 1 and list(summary["per_symbol"]) == ["rekt:ROCKET_PERP"]

    # paper trading on its live stream: the detector sees the cascade (no order: the venue has no trading rules)
    code, out = asyncio.run(_serve(py, tmp_path, ["run", "--duration", "8", "--journal", str(tmp_path / "j.db"),
                                                  "--min-history", "5", "--history", "50"],
                                   lambda fs: (_history(fs), _cascade(fs))))
    assert code == 0, out[-3000:]
    assert f"paper rekt {SYM}: " in out and " cascades=1 " in out, out[-3000:]


def test_plugins_can_be_switched_off_and_the_suite_runs_without_the_users(monkeypatch, tmp_path):
    """``LIQCORE_VENUE_PLUGINS=off``: the entry point group is not looked at (an installed plugin's entry point is
    found otherwise); the test session sets it, so a plugin the user installed never reaches a test."""
    from liqcore.venues import registry

    assert os.environ.get("LIQCORE_VENUE_PLUGINS") == "off"  # (the session's: tests/_session_env.py)
    dist = tmp_path / "liqcore_acme_probe-0.1.dist-info"  # an installed plugin, as pip leaves one
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: liqcore-acme-probe\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[liqcore.venues]\nacmeprobe = acme_probe:SPEC\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert [ep.name for ep in registry._entry_points()] == []
    for on in ("", "on", "1"):
        monkeypatch.setenv("LIQCORE_VENUE_PLUGINS", on)
        assert "acmeprobe" in [ep.name for ep in registry._entry_points()], on
    for off in ("off", "0", "no", "FALSE"):
        monkeypatch.setenv("LIQCORE_VENUE_PLUGINS", off)
        assert [ep.name for ep in registry._entry_points()] == [], off


def test_the_enum_lists_and_names_every_venue_whatever_was_imported_first(tmp_path):
    """``list(Venue)``, ``len(Venue)``, ``Venue["GATE"]``, ``Venue.GATE`` and ``Venue.__members__`` know Gate (and a
    plugin's venue) with nothing but ``liqcore`` imported: they register every venue first, as the look-ups do."""
    code = ("from liqcore import Venue\n"
            "print([v.name for v in Venue], len(Venue), int(Venue['GATE']), int(Venue.GATE), 'GATE' in Venue.__members__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=dict(os.environ),
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("] ")[0] == "['UNKNOWN', 'BYBIT', 'BINANCE', 'OKX', 'GATE'"
    assert out.stdout.split("] ")[1].split() == ["5", "4", "4", "True"]
