"""The live engine's parts are collaborators below the engine: they never import ``live/engine.py``;
the gateway protocol declares every method the engine calls; recovery is a pure function checked
without an engine."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIVE = ROOT / "liqcore" / "live"


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            mod = node.module if not node.level else "liqcore.live." + node.module
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def test_the_engine_parts_never_import_the_engine():
    parts = ["orders.py", "recovery.py", "fastlane.py", "decisions.py"]
    bad = [p for p in parts if any(m == "liqcore.live.engine" or m.startswith("liqcore.live.engine.")
                                   for m in _imports(LIVE / p))]
    assert bad == [], f"these engine parts import liqcore.live.engine (a circle): {bad}"


def test_decision_has_one_home_and_old_paths_still_work():
    from liqcore.live import decisions, engine, orders

    assert engine.Decision is decisions.Decision is orders.Decision
    d = decisions.Decision("bybit", "ETHUSDT", 1, 7, 10, "long", "none", reason="busy")
    assert d.to_dict()["price"] is None and d.to_dict()["reason"] == "busy"
