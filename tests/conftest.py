"""Shared test setup: the repo root on sys.path (for ``pysrc``), hypothesis profiles, real-data paths."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# the tests' own helper modules (``_live_helpers``, ``_live_strategy``) import by name
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

settings.register_profile(
    "default",
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=2000)
# CI: the same examples on every run (a red CI always reproduces); exploration happens locally
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))

#: third-party recordings of Binance liquidations and large trades (kept out of the package)
REAL_DATA = Path(os.environ.get("LIQCORE_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real recordings not found at {REAL_DATA} (set LIQCORE_REAL_DATA)")
    return REAL_DATA
