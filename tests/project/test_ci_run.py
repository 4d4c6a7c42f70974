"""``.ci/run`` stops when Chromium cannot be installed (the browser tests would otherwise be skipped and CI pass
without them), and runs the tests under ``CI=true`` (a missing browser or hftbacktest fails its tests).

The script runs for real, with a PATH of stand-ins: ``python`` and ``pip`` that log their arguments (nothing is
installed), an ``apt-get`` that fails or "installs" a ``chromium``, and no browser."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bin(tmp_path: Path, apt_ok: bool) -> tuple[Path, Path]:
    b = tmp_path / "bin"
    b.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("dirname", "cat", "chmod", "rm", "mktemp", "mkdir", "cp"):
        (b / tool).symlink_to(shutil.which(tool))
    for name in ("python", "pip"):  # log the call (and the CI variable it sees), do nothing
        (b / name).write_text(f'#!/bin/bash\necho "{name} $* CI=$CI" >> {log}\n')
    # `python -m venv DIR` makes DIR/bin/python: the same logging stand-in (the lean environment's interpreter)
    (b / "python").write_text(f'#!/bin/bash\necho "python $* CI=$CI" >> {log}\n'
                              f'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin" && cp {b}/python "$3/bin/python"; fi\n')
    apt = (f'#!/bin/bash\necho "apt-get $*" >> {log}\n' +
           (f'if [ "$1" = install ]; then printf "#!/bin/bash\\n" > {b}/chromium; chmod +x {b}/chromium; fi\n'
            if apt_ok else 'exit 100\n'))
    (b / "apt-get").write_text(apt)
    for f in b.iterdir():
        if not f.is_symlink():
            f.chmod(0o755)
    return b, log


def _run(tmp_path: Path, apt_ok: bool):
    b, log = _bin(tmp_path, apt_ok)
    p = subprocess.run(["/bin/bash", str(ROOT / ".ci" / "run")], env={"PATH": str(b), "HOME": str(tmp_path)},
                       capture_output=True, timeout=60)
    return p, (log.read_text().splitlines() if log.exists() else [])


def test_ci_stops_when_chromium_cannot_be_installed(tmp_path):
    p, calls = _run(tmp_path, apt_ok=False)
    err = p.stderr.decode()
    assert p.returncode == 1, err
    assert err.strip().splitlines()[-1] == ".ci/run: error: cannot install chromium (apt-get failed); the browser tests need it"
    assert any(c.startswith("apt-get update") for c in calls)
    assert not any(c.startswith(("pip install -e", "python -m pytest")) for c in calls), calls  # no test ran


def test_ci_runs_the_tests_under_ci_once_chromium_is_installed(tmp_path):
    p, calls = _run(tmp_path, apt_ok=True)
    assert p.returncode == 0, p.stderr.decode()
    assert "apt-get install -y -qq chromium" in calls
    tests = [c for c in calls if c.startswith("python -m pytest")]
    assert tests and all(c.endswith("CI=true") for c in tests), calls
    # the lean environment first (the core's tests and the embedding examples), then the README's command
    lean = next(i for i, c in enumerate(calls) if c.startswith("python -m pytest") and "-m core" in c)
    assert any(c.startswith("python -m venv") for c in calls[:lean])
    assert lean < calls.index("python -m pytest CI=true")
    # and both tiers: the README's command (the fast tier), then the long one (tests/long_tier.txt)
    assert calls.index("python -m pytest CI=true") < calls.index("python -m pytest -m slow CI=true")


def test_the_tiers_split_the_suite_as_documented():
    """The README's test command leaves out exactly the long tier (``-m "not slow"`` in addopts), and
    ``-m slow`` selects it: every listed test exists, and the README says how to run the long tier."""
    import sys

    def ids(*args):
        p = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", "-n", "0",
                            *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
        return {ln.strip() for ln in p.stdout.splitlines() if "::" in ln}

    fast, long, both = ids(), ids("-m", "slow"), ids("-m", "")
    assert fast and long and not fast & long and fast | long == both
    from tests.conftest import _long_tier

    listed = _long_tier()
    stale = {t for t in listed if t not in long and not any(i.startswith(t + "[") for i in long)}
    assert not stale, sorted(stale)[:5]  # (a listed test renamed or gone: the list is stale)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "python -m pytest -m slow" in readme
