"""The package, its pure-Python twins and the examples need no Python newer than ``requires-python`` (3.10): checked by
vermin (a static analyser of the standard library's modules, members, functions and syntax by the version that
brought each).  A use of something newer is guarded where it stands (a fallback beside it) and marked ``# novm``.
Found so: ``tomllib`` (3.11: ``--config`` and ``--instruments`` files failed on 3.10) and ``asyncio.Runner``
(3.11: the README's offline live command failed on 3.10)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import vermin  # noqa: F401  (the test extra's: its absence fails the module, never skips it)

ROOT = Path(__file__).resolve().parents[2]


def _floor() -> str:
    m = re.search(r'^requires-python\s*=\s*">=\s*(3\.\d+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert m, "pyproject.toml: requires-python"
    return m.group(1)


def _vermin(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import sys, vermin; sys.argv[0] = 'vermin'; sys.exit(vermin.main())",
                           "--no-tips", "--violations", "--eval-annotations", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_the_package_needs_no_python_newer_than_it_says():
    floor = _floor()
    assert floor == "3.10"
    got = _vermin(f"-t={floor}-", "liqcore", "pysrc", "examples")
    assert got.returncode == 0 and "Target versions not met" not in got.stdout, got.stdout[-3000:] + got.stderr


def test_the_check_finds_an_unguarded_use(tmp_path):
    """The negative control: ``import tomllib`` unmarked is a 3.11 requirement, and the check fails on it."""
    (tmp_path / "m.py").write_text("def load(p):\n    import tomllib\n    return tomllib.loads(p)\n")
    got = _vermin("-t=3.10-", str(tmp_path / "m.py"))
    assert got.returncode != 0 and "'tomllib' module requires !2, 3.11" in got.stdout, got.stdout
