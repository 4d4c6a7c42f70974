"""liqcore.io as a package: one registry that tells a file's format by asking each reader, a new format
as one reader registered in one place, and imports that point one way (io never imports the dataset
writer; no import circle between the modules of the package and liqcore.dataset)."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import orjson
import pytest

from liqcore.io import detect_format, save_events
from liqcore.dataset.load import load_events
from tests.project.test_layering import _module_name, module_deps

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "liqcore" / "__init__.py").is_file())  # tests/ or tests/<group>/
PKG = ROOT / "liqcore"
T0 = 1_739_502_302_929  # ms


def _imports(path: Path) -> set[str]:
    """The liqcore modules a file imports, anywhere in it (functions included), relative imports resolved;
    ``from a.b import c`` counts as ``a.b.c`` when that is a module, else as ``a.b`` (the layering
    test's walker)."""
    return {m for _, m in module_deps(path, _all_modules())}


def _all_modules() -> dict[str, Path]:
    return {_module_name(f): f for f in sorted(PKG.rglob("*.py"))}


def _file_of(module: str) -> Path | None:
    p = ROOT.joinpath(*module.split("."))
    for cand in (p.with_suffix(".py"), p / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _io_files() -> list[Path]:
    files = sorted((PKG / "io").rglob("*.py")) if (PKG / "io").is_dir() else []
    return files + ([PKG / "io.py"] if (PKG / "io.py").is_file() else [])


def test_io_never_imports_the_dataset_writer():
    """liqcore.dataset builds on liqcore.io: io imports nothing of it (files and datasets are loaded together
    above both, by liqcore.dataset.load)."""
    files = _io_files()
    assert files
    bad = [f"{f.relative_to(ROOT)} imports {m}" for f in files for m in sorted(_imports(f))
           if (m == "liqcore.dataset" or m.startswith("liqcore.dataset."))]
    assert bad == [], "liqcore.dataset builds on liqcore.io, never the other way round:\n" + "\n".join(bad)


def test_io_imports_only_what_its_docstring_allows():
    """liqcore.io sits below backtest, research, live, strategies and commands (and the dataset writer)."""
    allowed = ("liqcore.io", "liqcore.types", "liqcore.codes", "liqcore.venues", "liqcore.validate", "liqcore._atomic", "liqcore.secrets",
               "liqcore._libs")
    files = _io_files()
    bad = [f"{f.relative_to(ROOT)} imports {m}" for f in files for m in sorted(_imports(f))
           if not any(m == a or m.startswith(a + ".") for a in allowed)]
    assert bad == [], "liqcore.io imports only " + ", ".join(allowed) + ":\n" + "\n".join(bad)


def test_no_import_circle_between_the_io_modules_and_the_dataset_module():
    """The graph of liqcore.io's modules and liqcore.dataset's (every import, function-level included)
    has no cycle; the packages' __init__ (fronts of their modules' names) are left out, as importing a
    submodule does not depend on them."""
    files = _io_files() + sorted((PKG / "dataset").glob("*.py"))
    nodes = {_module_name(f): f for f in files if f.name != "__init__.py"}
    graph = {m: {d for d in _imports(f) if d in nodes and d != m} for m, f in nodes.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(d):] + [d]))
            if d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert "liqcore.dataset.write" in graph and "liqcore.dataset.read" in graph and len(graph) > 1


# ------------------------------------------------------------------------------------ the registry

def _samples(tmp: Path) -> dict[str, Path]:
    """One small file of every format, named by the format it is."""
    liq = (b'{"topic":"allLiquidation.ETHUSDT","type":"snapshot","ts":%d,"data":[{"T":%d,"s":"ETHUSDT","S":"Buy",'
           b'"v":"1.5","p":"2700.5"}]}')
    raw = [liq % (T0 + i + 300, T0 + i) for i in range(3)]
    rec = [orjson.dumps({"recv_ns": (T0 + i + 300) * 10**6, "venue": "bybit", "frame": orjson.loads(raw[i])})
           for i in range(3)]
    archive = (b'{"ts":1770665589949,"exchange":"bybit","source":"ws","stream":"liquidation","symbol":"BTCUSDT",'
               b'"result":{"ts":1770665589887,"data":[{"T":1770665589426,"s":"BTCUSDT","S":"Sell","v":"0.017",'
               b'"p":"71182.70"}]}}')
    log = (b'2026-03-10 13:10:19 Liquidation: {"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.5",'
           b'"p":"80000","ap":"80100.5","X":"FILLED","l":"0.5","z":"0.5","T":1773148219000}')
    files = {
        "raw": b"\n".join(raw),
        "recorder": b"\n".join(rec),
        "bybit-archive": archive,
        "binance-log": b"starting the logger\n" + log + b"\nbye",
        "jsonl": b"\n".join([rec[0], archive, raw[1]]),
        "binance-csv": b"LRC,SELL,LIMIT,IOC,226,0.16815,0.17057,FILLED,226,226,1737908829829,38.0019\n"
                       b"GHST,SELL,LIMIT,IOC,549,0.8002107,0.8077071,FILLED,510,549,1737908832305,439.3156743",
        "binance-trades-csv": b"1737897220002, BTCUSDT, 2541757614, 104943.5, 0.15, 1737897219873, False\n"
                              b"1737897220003, BTCUSDT, 2541757618, 104946.4, 0.434, 1737897219999, False",
        "contract-csv": b"ts_event_ns,venue,symbol,side,price,qty\n1723852837843566566,okx,SOL-USDT-SWAP,short,145.19,4.1",
    }
    out = {}
    for fmt, body in files.items():
        out[fmt] = tmp / f"{fmt}.txt"
        out[fmt].write_bytes(body + b"\n")
    out["parquet"] = save_events(load_events(out["contract-csv"]), tmp / "c.parquet")
    (tmp / "c.bin").write_bytes(out["parquet"].read_bytes())  # told by its first bytes, not its name
    out["parquet (by its bytes)"] = tmp / "c.bin"
    return out


def test_every_format_is_one_reader_that_the_registry_tells_from_the_file(tmp_path):
    from liqcore.io import FORMATS, registry
    from liqcore.io.base import SHAPES

    assert registry.REGISTRY.names == FORMATS
    assert [r.name for r in registry.READERS] == list(FORMATS)
    for r in registry.READERS:
        assert r.shape in SHAPES and callable(r.load)
        # ``columns`` (homemade files) is told by the command line (--columns), never by the file
        assert r.sniff_line or r.suffixes or r.magic or r.name in (registry.MIX, "columns"), f"{r.name}: no way to tell it"
    samples = _samples(tmp_path)
    for fmt, path in samples.items():
        name = fmt.split(" ")[0]
        assert detect_format(path) == name, fmt
        r = load_events(path)
        assert r.files[str(path)]["format"] == name and len(r.events) >= 1, (fmt, r.summary())


def _pipe_reader():
    """A format the package does not have: ``PIPE ts_ms|symbol|side|price|qty`` lines after a header."""
    from liqcore.io.base import TIER_MARKED, Reader
    from liqcore.types import Kind, Venue
    from liqcore.venues.common import RECV_UNKNOWN, SIDE_BY_NAME

    def load(data: bytes, st):
        for lineno, line in enumerate(data.split(b"\n"), 1):
            line = line.strip()
            if not line or line.startswith(b"#pipe"):
                continue
            st.records += 1
            try:
                ts, sym, side, price, qty = line.decode().split("|")
                row = (int(ts) * 10**6, RECV_UNKNOWN, float(price), float(qty),
                       st.sink.sid(int(Venue.BYBIT), sym), SIDE_BY_NAME[side], int(Kind.LIQUIDATION), int(Venue.BYBIT), 0)
            except (ValueError, KeyError):
                st.bad(lineno, "bad_row", "line")
                continue
            st.sink.rows.append(row)
        return None

    return Reader("pipe", "#pipe header, then ts_ms|symbol|side|price|qty", "bytes", load,
                  lambda s: s.startswith(b"#pipe"), TIER_MARKED)


def _zip_reader():
    """A binary container: a zip of headerless Binance liquidation CSVs (``*-liquidations.csv``), read
    from its path; other zips are not its own (``sniff_file`` looks inside)."""
    from liqcore.io.base import Reader
    from liqcore.venues.binance import archives as binance

    def mine(path, head):
        if not head.startswith(b"PK\x03\x04"):
            return False
        with zipfile.ZipFile(path) as z:
            return all(n.endswith("-liquidations.csv") for n in z.namelist())

    def load(path, st):
        with zipfile.ZipFile(path) as z:
            for name in sorted(z.namelist()):
                binance.CSV.load(z.read(name), st)
        return st.sink.events()

    return Reader("binance-zip", "zip of binance-csv files", "path", load, suffixes=(".zip",), sniff_file=mine)


def test_a_new_format_is_one_reader_registered_in_one_place(tmp_path, monkeypatch):
    """Registering a reader (the one place: the registry's list) is all a new format needs: detection,
    --format, directory walks, rejects and strict mode then work for it."""
    from liqcore.io import registry

    pipe, zipped = _pipe_reader(), _zip_reader()
    monkeypatch.setattr(registry, "REGISTRY", registry.Registry(registry.READERS + (pipe, zipped)))
    d = tmp_path / "rec"
    d.mkdir()
    p = d / "a.csv"
    p.write_text("#pipe v1\n"
                 f"{T0}|ETHUSDT|long|2700.5|1.5\n"
                 f"{T0 + 1}|ETHUSDT|short|2701|0.5\n"
                 "garbage\n")
    assert detect_format(p) == "pipe"
    r = load_events(p)
    assert r.files[str(p)]["format"] == "pipe"
    assert r.events["ts_event"].tolist() == [T0 * 10**6, (T0 + 1) * 10**6]
    assert r.rejects == {"bad_row": 1}
    with pytest.raises(ValueError, match=r"a\.csv:4: bad_row"):
        load_events(p, format="PIPE", strict=True)
    z = d / "liq.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a-liquidations.csv", "LRC,SELL,LIMIT,IOC,226,0.16815,0.17057,FILLED,226,226,1737908829829,38.0\n")
        zf.writestr("b-liquidations.csv", "GHST,SELL,LIMIT,IOC,549,0.8002107,0.8077071,FILLED,510,549,1737908832305,439\n")
    other = d / "other.zip"
    with zipfile.ZipFile(other, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("notes.txt", "not a recording\n")
    assert detect_format(z) == "binance-zip"
    warnings = []
    r = load_events(d, warn=warnings.append)  # the directory walk takes the new suffix; each file told by its reader
    assert sorted(v["format"] for v in r.files.values()) == ["binance-zip", "pipe"]
    assert len(r.events) == 4 and np.all(np.diff(r.events["ts_event"]) >= 0)
    assert list(r.skipped) == [str(other)] and warnings == [f"skipped {other}: cannot detect the format (use --format, "
                                                            f"one of {', '.join(registry.REGISTRY.names)})"]
    with pytest.raises(ValueError, match="expected one of raw, .*, parquet, .*pipe, binance-zip"):
        load_events(p, format="xml")


def test_the_registry_refuses_a_reader_it_could_not_tell_apart():
    from liqcore.io import registry
    from liqcore.io.base import Reader

    reg = registry.Registry(registry.READERS)
    with pytest.raises(ValueError, match="'raw' is taken"):
        reg.register(Reader("raw", "again", "lines", lambda *a: None))
    with pytest.raises(ValueError, match="'seed001' is taken"):
        reg.register(Reader("new", "an old alias", "bytes", lambda *a: None, aliases=("seed001",)))
    with pytest.raises(ValueError, match="shape must be one of lines, bytes, path"):
        reg.register(Reader("new", "no shape", "rows", lambda *a: None))
    assert reg.names == registry.FORMATS  # a refused reader is not half registered


def test_the_venues_readers_are_their_archives_parts_asked_of_the_registry():
    """A venue's file formats are its registry part ``archives`` (``liqcore.venues.<venue>.archives``), which io's
    reader registry asks for: every reader of each part is registered, and none is a module of ``io``."""
    from liqcore.io import registry
    from liqcore.venues.registry import registered

    for spec in registered():
        part = spec.part("archives")
        assert part.__name__ == f"liqcore.venues.{spec.name}.archives"
        for r in part.READERS:
            assert registry.REGISTRY.get(r.name) is r, r.name
    assert not [f for f in _io_files() if any(v in f.stem for v in ("bybit", "binance", "okx"))]


def test_a_venue_registered_before_io_is_imported_has_its_readers_registered(tmp_path):
    """A venue defined outside the package (its ``archives`` part declaring a reader) and registered before
    ``liqcore.io`` is imported: its format is detected and read like a built-in one."""
    pkg = tmp_path / "pipevenue"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "archives.py").write_text(
        "from liqcore.types import Kind, Venue\n"
        "from liqcore.venues.common import RECV_UNKNOWN, SIDE_BY_NAME\n"
        "from liqcore.venues.reader import TIER_MARKED, Reader\n"
        "def _load(data, st):\n"
        "    for line in data.split(b'\\n')[1:]:\n"
        "        if line.strip():\n"
        "            st.records += 1\n"
        "            ts, sym, side, px, qty = line.decode().split('|')\n"
        "            st.sink.rows.append((int(ts) * 10**6, RECV_UNKNOWN, float(px), float(qty),\n"
        "                                 st.sink.sid(int(Venue.BYBIT), sym), SIDE_BY_NAME[side],\n"
        "                                 int(Kind.LIQUIDATION), int(Venue.BYBIT), 0))\n"
        "PIPE = Reader('pipe-venue', '#pipe, then ts_ms|symbol|side|price|qty', 'bytes', _load,\n"
        "              lambda s: s.startswith(b'#pipe'), TIER_MARKED)\n"
        "READERS = (PIPE,)\n")
    rec = tmp_path / "r.txt"
    rec.write_text("#pipe\n1700000000000|ETHUSDT|buy|2000.5|1.5\n")
    code = ("import sys; sys.path.insert(0, sys.argv[1])\n"
            "from liqcore.venues.registry import VenueSpec, register\n"
            "register(VenueSpec(name='pipevenue', code=97, package='pipevenue'))\n"
            "from liqcore.io import detect_format, load_files\n"
            "print(detect_format(sys.argv[2]), len(load_files(sys.argv[2]).events))\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path), str(rec)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["pipe-venue", "1"]
