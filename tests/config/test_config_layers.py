"""The configuration stack points one way: unit parsers (liqcore.units) <- the parameter vocabulary
(liqcore.params) <- the strategy registry (liqcore.strategies); the command-line glue (liqcore.config)
imports the vocabulary only, and the root package installs the registry's loader into the vocabulary
through one hook (the strategies are imported on the first look-up).  Checked on the
source (ast), in fresh interpreters (what an import really loads) and through the public names."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "liqcore"


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, anywhere in the file (absolute names only: the
    package uses absolute imports), plus ``importlib.import_module("<literal>")`` calls."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            out.append((node.lineno, node.module or ""))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            out.append((node.lineno, str(node.args[0].value)))
    return out


def _liqcore_imports(path: Path) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line} {m}" for line, m in _imports(path)
            if m == "liqcore" or m.startswith("liqcore.")]


def test_units_import_nothing_of_the_package():
    assert _liqcore_imports(PKG / "units.py") == []


def test_vocabulary_imports_only_the_units():
    bad = [s for s in _liqcore_imports(PKG / "params.py") if not s.endswith(" liqcore.units")]
    assert bad == [], "the vocabulary must not import the strategies or the CLI glue:\n" + "\n".join(bad)


def test_strategies_never_import_the_cli_glue():
    files = sorted((PKG / "strategies").rglob("*.py"))
    assert len(files) > 8
    bad = [s for f in files for s in _liqcore_imports(f) if s.split()[-1].startswith("liqcore.config")]
    assert bad == [], "strategies take the vocabulary from liqcore.params / liqcore.units:\n" + "\n".join(bad)


def test_the_glue_never_imports_the_strategies_and_the_root_installs_the_registry_in_one_place():
    hits = [s for s in _liqcore_imports(PKG / "config.py") if s.split()[-1].startswith("liqcore.strategies")]
    assert hits == [], hits
    root = [s for s in _liqcore_imports(PKG / "__init__.py") if s.split()[-1].startswith("liqcore.strategies")]
    assert len(root) == 1, root


def _fresh(code: str) -> str:
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                            "LIQCORE_CACHE_DIR": os.environ["LIQCORE_CACHE_DIR"]})
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("module, absent", [
    ("liqcore.units", ("liqcore.config", "liqcore.strategies")),
    ("liqcore.params", ("liqcore.config", "liqcore.strategies", "argparse")),
    ("liqcore.strategies", ("liqcore.config",)),
])
def test_an_import_loads_nothing_above_it(module, absent):
    out = _fresh(f"import sys, {module}; print(sorted(m for m in {absent!r} if m in sys.modules))")
    assert out.strip() == "[]", f"import {module} loaded {out.strip()}"


def test_the_vocabulary_alone_knows_the_shared_parameters_and_asks_the_hook_for_the_rest():
    out = _fresh(
        "from liqcore.params import Params, set_strategy_registry\n"
        "set_strategy_registry(None)  # the vocabulary alone, without the root's loader\n"
        "p = Params(window='30s', offset='0.2%')\n"
        "print(p.window_ns, p.offset)\n"
        "for bad in (lambda: Params(strategy='vol-breakout'), lambda: Params(min_notional=2e6)):\n"
        "    try:\n"
        "        bad()\n"
        "    except (ValueError, TypeError) as e:\n"
        "        print(type(e).__name__, str(e)[:80])\n"
        "print(hasattr(p, 'bar_ns'))\n"
        "import liqcore.strategies as reg  # the registry installs itself into the vocabulary\n"
        "q = Params(strategy='vol-breakout')\n"
        "print(q.bar_ns, Params(min_notional=2e6).min_notional)\n"
        "import sys; print('liqcore.config' in sys.modules)\n")
    lines = out.splitlines()
    assert lines[0] == "30000000000 0.002"
    assert lines[1] == "ValueError strategy: no strategy registry installed (import liqcore.strategies)"
    assert lines[2].startswith("TypeError Params: unknown parameter 'min_notional'")
    assert lines[3] == "False"
    assert lines[4] == "60000000000 2000000.0"
    assert lines[5] == "False"


def test_the_registry_is_known_through_the_glue_without_importing_the_strategies_first():
    out = _fresh("from liqcore.config import Params\n"
                 "p = Params(strategy='vol-breakout', min_notional=2e6)\n"
                 "print(p.bar_ns, p.min_notional, p.describe()['bar'])\n")
    assert out.split() == ["60000000000", "2000000.0", "1m"]


def _config_names_imported_in_the_repo() -> set[str]:
    names = set()
    for top in ("liqcore", "tests", "benches", "examples"):
        for f in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module == "liqcore.config":
                    names |= {a.name for a in node.names}
    return names


def test_every_config_name_stays_importable_and_is_the_vocabularys_own():
    import liqcore.config as config
    import liqcore.params as params
    import liqcore.units as units

    used = _config_names_imported_in_the_repo()
    assert {"Params", "PARAMS", "parse_duration", "add_param_arguments"} <= used
    wanted = used | set(config.__all__) | {"split_config", "is_parameter_name"}
    missing = sorted(n for n in wanted if not hasattr(config, n))
    assert missing == []
    # no private name of the lower layers is re-exported (nobody imports them from here)
    leaked = sorted(n for n, v in vars(config).items() if n.startswith("_") and not n.startswith("__")
                    and any(getattr(m, n, None) is v for m in (units, params)))
    assert leaked == [], leaked
    for n in wanted:
        home = units if hasattr(units, n) else params if hasattr(params, n) else None
        if home is not None:
            assert getattr(config, n) is getattr(home, n), n
