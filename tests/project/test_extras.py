"""The test extra does not change the user's numpy: hftbacktest (which pins numpy<2.3) lives in its own
extra, which CI installs so that its agreement tests never skip there."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]


def _extras() -> dict[str, list[str]]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def _names(reqs: list[str]) -> set[str]:
    return {re.split(r"[\s\[<>=~!;]", r, maxsplit=1)[0].lower() for r in reqs}


def test_the_test_extra_holds_no_package_that_pins_numpy_down():
    test = _names(_extras()["test"])
    assert "hftbacktest" not in test, "hftbacktest pins numpy<2.3: installing .[test] would downgrade numpy"
    assert "numpy" not in test


def test_the_agreement_extra_holds_hftbacktest_and_ci_installs_it_before_the_readme_command():
    assert "hftbacktest" in _names(_extras()["agreement"])
    ci = (ROOT / ".ci" / "run").read_text()
    lines = [ln.strip() for ln in ci.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    agreement = next(i for i, ln in enumerate(lines) if re.search(r'pip install -e "\.\[agreement\]"', ln))
    readme_cmd = next(i for i, ln in enumerate(lines) if ln == 'pip install -e ".[test]" && python -m pytest')
    assert agreement < readme_cmd
    ci_env = next(i for i, ln in enumerate(lines) if ln.startswith("export CI="))
    assert ci_env < readme_cmd  # under CI a missing hftbacktest fails the agreement tests


def test_the_agreement_tests_name_the_extra_that_installs_hftbacktest():
    text = (ROOT / "tests" / "_agreement.py").read_text()  # the agreement tests' requirement, said once
    assert ".[agreement]" in text and ".[test]" not in text
    for name in ("test_fills_hftbacktest.py", "test_fills_hftbacktest_depth.py"):
        assert "require_hftbacktest()" in (ROOT / "tests" / "backtest" / name).read_text()
    assert 'pip install -e ".[agreement]"' in (ROOT / "README.md").read_text()
