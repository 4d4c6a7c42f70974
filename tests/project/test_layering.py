"""Import layering, checked on the source (ast): the installed package never imports the pysrc twins,
and the venue layer (parsers, stream specs, REST/private clients) never imports the live shell."""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "liqcore"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a Python file imports, anywhere in it (top level, functions, TYPE_CHECKING blocks),
    with relative imports resolved, plus ``importlib.import_module("<literal>")`` / ``__import__`` calls."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            out.extend((node.lineno, f"{mod}.{a.name}") for a in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
            if name in ("import_module", "__import__"):
                out.append((node.lineno, node.args[0].value))
    return out


def _offenders(files, forbidden: str) -> list[str]:
    bad = []
    for f in files:
        for line, mod in imported_modules(f):
            if mod == forbidden or mod.startswith(forbidden + "."):
                bad.append(f"{f.relative_to(ROOT)}:{line} imports {mod}")
    return bad


def test_package_never_imports_pysrc():
    files = sorted(PKG.rglob("*.py"))
    assert len(files) > 50
    bad = _offenders(files, "pysrc")
    # Cython sources: cimport/import lines
    pat = re.compile(r"^\s*(?:from\s+pysrc\b|c?import\s+pysrc\b)", re.M)
    bad += [str(f.relative_to(ROOT)) for f in PKG.rglob("*.pyx") if pat.search(f.read_text(encoding="utf-8"))]
    assert bad == [], "the installed package must not import the pysrc twins:\n" + "\n".join(bad)


def test_venue_layer_never_imports_the_live_shell():
    files = sorted((PKG / "venues").rglob("*.py"))
    assert any(f.name == "stream.py" for f in files) and any(f.name == "private.py" for f in files)
    bad = _offenders(files, "liqcore.live")
    assert bad == [], "venue modules must not import liqcore.live:\n" + "\n".join(bad)


@pytest.mark.parametrize("src, expected", [
    ("from liqcore.live.transport import ConnectionSpec\n", "liqcore.live.transport"),
    ("def f():\n    from ..live import gateway\n", "liqcore.live"),
    ("import importlib\nimportlib.import_module('liqcore.live.feeds')\n", "liqcore.live.feeds"),
    ("import pysrc.detector as d\n", "pysrc.detector"),
])
def test_the_walker_sees_every_import_form(tmp_path, monkeypatch, src, expected):
    pkg = tmp_path / "liqcore" / "venues"
    pkg.mkdir(parents=True)
    f = pkg / "mod.py"
    f.write_text(src)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert expected in [m for _, m in imported_modules(f)]


def test_old_import_paths_still_work():
    from liqcore.live import gateway, transport
    from liqcore.venues import orders, spec

    assert transport.ConnectionSpec is spec.ConnectionSpec
    for name in ("Fill", "OrderUpdate", "PositionInfo"):
        assert getattr(gateway, name) is getattr(orders, name)


# ---- the middle tier's floor -------------------------------------------------------------------
# Order: types, signals <- kernels <- execution <- features <- strategies <- backtest, research <- live.
# Every import counts, function-level ones included (imported_modules walks the whole tree).
KERNELS = ("liqcore/_jit", "liqcore/_libs", "liqcore/types.py", "liqcore/signals.py")
#: the one module of the execution front the kernels may import: the code tables (it imports only
#: liqcore.types, checked below), so that the Numba kernel's exit reasons have one home
KERNEL_MAY_IMPORT = ("liqcore.execution.codes",)


def _files(*where: str) -> list[Path]:
    out = []
    for w in where:
        p = ROOT / w
        out += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    assert out and all(f.exists() for f in out), where
    return out


def _layer_offenders(files, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    bad = []
    for f in files:
        for line, mod in imported_modules(f):
            if any(mod == a or mod.startswith(a + ".") for a in allowed):
                continue
            for name in forbidden:
                full = f"liqcore.{name}"
                if mod == full or mod.startswith(full + "."):
                    bad.append(f"{f.relative_to(ROOT)}:{line} imports {mod}")
                    break
    return bad


@pytest.mark.parametrize("layer, where, forbidden, allowed", [
    ("kernels, types and signals", KERNELS,
     ("strategies", "backtest", "research", "live", "features", "execution"), KERNEL_MAY_IMPORT),
    ("execution", ("liqcore/execution",), ("strategies", "backtest", "research", "live", "features"), ()),
    ("features", ("liqcore/features",), ("strategies", "backtest", "research", "live"), ()),
    ("strategies", ("liqcore/strategies",), ("backtest", "research", "live"), ()),
])
def test_middle_tier_layering(layer, where, forbidden, allowed):
    bad = _layer_offenders(_files(*where), forbidden, allowed)
    assert bad == [], f"{layer} must not import {', '.join(forbidden)}:\n" + "\n".join(bad)


def test_execution_codes_is_a_leaf():
    """The module the kernels may import imports nothing of liqcore but the types."""
    mods = [m for _, m in imported_modules(PKG / "execution" / "codes.py") if m.startswith("liqcore")]
    assert mods and all(m == "liqcore.types" or m.startswith("liqcore.types.") for m in mods), mods


def test_the_layer_check_counts_function_level_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "liqcore" / "strategies"
    pkg.mkdir(parents=True)
    f = pkg / "mod.py"
    f.write_text("import numpy\n\ndef f():\n    if True:\n        from liqcore.research.store import FeatureStore\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert "liqcore/strategies/mod.py:5 imports liqcore.research.store" in _layer_offenders([f], ("research",))


def test_the_execution_front_and_the_signal_contract_import_no_pandas():
    bad = _offenders(_files("liqcore/execution", "liqcore/signals.py"), "pandas")
    assert bad == [], "\n".join(bad)


def test_middle_tier_old_paths_still_work():
    import liqcore.signals as S
    from liqcore import strategies
    from liqcore.backtest import run
    from liqcore.execution import arrays, detect, events
    from liqcore.features import live, registry, store
    from liqcore.research import live as old_live, registry as old_registry, store as old_store
    from liqcore.strategies import base

    for name in ("SIGNAL_DTYPE", "ENTRY_LIMIT", "ENTRY_MARKET", "SKIP_NONE", "SKIP_MIXED", "SKIP_EXIT", "NEVER",
                 "USE_PARAM", "empty_signals", "exit_notices", "sort_signals"):
        assert getattr(base, name) is getattr(S, name) and getattr(strategies, name) is getattr(S, name)
    assert run.prepare_events is events.prepare_events and run.input_kinds is events.input_kinds
    assert run.detect is detect.detect
    assert run.symbol_params is arrays.symbol_params and run.new_portfolio is arrays.new_portfolio
    assert run.resolve_strategy is strategies.resolve_strategy
    import importlib

    bars = importlib.import_module("liqcore.research.features")  # the package's `features` is a function

    assert bars.select_symbols is events.select_symbols and bars.sort_recv is events.sort_recv
    for old, new in ((old_store, store), (old_live, live), (old_registry, registry)):
        for name, value in vars(new).items():
            if not name.startswith("__"):
                assert getattr(old, name) is value, f"{old.__name__}.{name}"


def test_the_numba_kernel_codes_are_the_contract():
    """The Numba module's signal and exit-reason constants are the signal contract's and the
    execution codes' own objects (one home each), and every exit reason has a name."""
    from liqcore import signals
    from liqcore._jit import sim
    from liqcore.backtest import core
    from liqcore.execution import codes

    for name in ("ENTRY_LIMIT", "ENTRY_MARKET", "SKIP_MIXED", "SKIP_EXIT", "NEVER"):
        assert getattr(sim, name) == getattr(signals, name)
    for code, name in codes.EXIT_NAMES.items():
        assert getattr(sim, name.upper()) == code == getattr(codes, name.upper())
    assert sim.EXIT_NAMES is codes.EXIT_NAMES and core._EXIT_NAMES is codes.EXIT_NAMES
    src = (PKG / "_jit" / "sim.py").read_text(encoding="utf-8")
    assert not re.search(r"^(ENTRY_LIMIT|SKIP_MIXED|SKIP_EXIT|NEVER|TAKE_PROFIT|REPLACED)\s*=", src, re.M)
