"""`import liqcore` stays light: no numba, uvloop, pandas or pyarrow, and the kernels resolve lazily."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ["numba", "llvmlite", "uvloop", "pandas", "pyarrow", "polars"]


def _run(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_liqcore_loads_no_heavy_module():
    got = _run(
        "import sys, json, liqcore\n"
        f"print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    )
    loaded = [m for m, present in got.items() if present]
    assert loaded == [], f"import liqcore pulled in {loaded}"


def test_kernels_resolve_and_stay_light():
    got = _run(
        "import sys, json\n"
        "from liqcore import RollingQuantile, TimeWindow, RollingZScore, BucketZScore\n"
        "rq = RollingQuantile(10, 0.95); tw = TimeWindow(10); rz = RollingZScore(5); bz = BucketZScore(10, 3)\n"
        "v = [rq.update(1.0), rz.update(1.0)]; tw.push(0, 1, 2.0); bz.push(0, 1.0)\n"
        "print(json.dumps({'mods': [type(o).__module__ for o in (rq, tw, rz, bz)],\n"
        "                  'q': v[0], 'sum': tw.sum,\n"
        "                  'heavy': [m for m in ('numba', 'uvloop', 'pandas', 'pyarrow') if m in sys.modules]}))"
    )
    assert got["mods"] == [
        "liqcore._libs.detection",
        "liqcore._libs.detection",
        "liqcore._libs.detection",
        "liqcore._libs.detection",
    ]
    assert got["q"] == 1.0 and got["sum"] == 2.0
    assert got["heavy"] == []


def test_unknown_attribute_is_an_attribute_error():
    got = _run(
        "import json, liqcore\n"
        "try:\n    liqcore.NoSuchThing\n    r = 'no error'\n"
        "except AttributeError as e:\n    r = str(e)\n"
        "print(json.dumps({'r': r}))"
    )
    assert "NoSuchThing" in got["r"]
