"""The studies package: one module per study, registered in one place, with the names of the former
single module still importable from ``liqcore.research.studies``."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import liqcore.research.studies as studies

PKG = Path(studies.__file__).parent

#: the public names ``liqcore.research.studies`` offered when it was one module
FORMER_NAMES = (
    "NS_S", "NS_MIN", "NS_H", "NS_DAY", "SESSIONS", "StudyResult", "unavailable", "Panel", "block_corr",
    "study_event", "IC_HORIZONS", "IC_STEP_NS", "MODEL_STEP_NS", "IC_EXCLUDE", "IC_EXTRA", "ic_names", "ic_family",
    "check_ic_names", "ic_frame", "study_ic", "BIN_LOG", "study_heatmap", "study_contagion", "VOL_HORIZONS",
    "vol_frame", "study_volatility", "study_oi", "study_microstructure", "PLAN_STRATEGIES", "study_strategies",
    "STUDIES", "run_study",
)


def test_each_study_is_its_own_module_registered_once():
    assert hasattr(studies, "__path__"), "liqcore.research.studies is a package"
    modules = {p.stem for p in PKG.glob("*.py")} - {"__init__", "_common"}
    # a study's name is its module's, with "-" for "_" (``lead-lag`` is lead_lag.py)
    assert modules == {n.replace("-", "_") for n in studies.STUDIES}, \
        "every study module is registered, every registered study has a module"
    for name, fn in studies.STUDIES.items():
        mod = importlib.import_module(f"liqcore.research.studies.{name.replace('-', '_')}")
        assert fn.__module__ == mod.__name__ and fn is getattr(mod, f"study_{name.replace('-', '_')}")


def test_former_names_still_import_from_the_package():
    missing = [n for n in FORMER_NAMES if not hasattr(studies, n)]
    assert not missing
    assert studies.__all__ == ["StudyResult", "STUDIES", "run_study", "Panel"]
    # the shared types are one object whichever path they are imported by
    from liqcore.research.studies._common import Panel, StudyResult
    from liqcore.research.studies.ic import check_ic_names

    assert studies.Panel is Panel and studies.StudyResult is StudyResult
    assert studies.check_ic_names is check_ic_names


def _imports(path: Path) -> set:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_study_modules_import_only_the_shared_module():
    """A study imports ``_common`` (and layers below), never another study nor the package's registry;
    ``_common`` imports no study: adding or removing a study touches its module and the registry only."""
    pkg = "liqcore.research.studies"
    for path in PKG.glob("*.py"):
        if path.stem == "__init__":
            continue
        inside = {m for m in _imports(path) if m == pkg or m.startswith(pkg + ".")}
        allowed = set() if path.stem == "_common" else {pkg + "._common"}
        assert inside <= allowed, f"{path.name} imports {sorted(inside - allowed)}"
        assert len(path.read_text().splitlines()) < 800, f"{path.name}: one study per module stays small"
