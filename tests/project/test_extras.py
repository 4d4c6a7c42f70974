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


def _requirement_names(extra: str) -> set[str]:
    """The distributions an extra of this project names, its own extras followed (not their dependencies' own
    requirements: the suite may rely only on what the project lists), with the core dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras, names, todo = project["optional-dependencies"], set(), [extra]
    seen = set()
    while todo:
        e = todo.pop()
        if e in seen:
            continue
        seen.add(e)
        for req in extras[e]:
            m = re.match(r"\s*liqcore\[([^\]]+)\]", req)
            if m:
                todo += [x.strip() for x in m.group(1).split(",")]
            else:
                names |= _names([req]) | _with_extras(req)
    return {_norm(n) for n in names | _names(project["dependencies"])}


def _with_extras(req: str) -> set[str]:
    """What the extras of a requirement (``dask[distributed]``) add, as the installed distribution declares it."""
    import importlib.metadata as md

    m = re.match(r"\s*([A-Za-z0-9_.-]+)\[([^\]]+)\]", req)
    if not m:
        return set()
    wanted = {x.strip() for x in m.group(2).split(",")}
    try:
        reqs = md.requires(m.group(1)) or []
    except md.PackageNotFoundError:
        return set()
    return _names([r for r in reqs if any(re.search(rf"extra\s*==\s*['\"]{re.escape(w)}['\"]", r) for w in wanted)])


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_test_extra_holds_what_the_lean_wheel_build_needs():
    """tests/embedding/test_embedding.py builds the lean wheel with ``pip wheel --no-build-isolation`` (as CI does):
    every requirement of the build system must come with ``pip install -e ".[test]"`` (issue 70: Cython did not,
    and the README's test command failed on a fresh machine)."""
    assert "--no-build-isolation" in (ROOT / "tests" / "embedding" / "test_embedding.py").read_text()
    build = {_norm(n) for n in _names(tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"])}
    missing = build - _requirement_names("test")
    assert not missing, f"the test extra lacks the build system's {sorted(missing)}"


#: packages the tests import that the test extra leaves out on purpose, and why
NOT_IN_TEST_EXTRA = {
    "hftbacktest": "the agreement extra: it pins numpy<2.3 (its tests skip without it, fail under CI)",
}


def test_every_package_the_tests_import_is_in_the_test_extra():
    """Each third-party module a test file imports (``import``, ``from .. import``, ``pytest.importorskip``,
    ``importlib.import_module``) belongs to a distribution the test extra names, directly or through the project's
    own extras; the suite's own modules (tests/, benches/, examples/, pysrc/) and the standard library aside."""
    import ast
    import importlib.metadata as md

    local = {"liqcore", "tests", "pysrc", "benches"}
    for d in ("tests", "benches", "examples", "tools"):
        local |= {p.stem for p in (ROOT / d).rglob("*.py")} | {p.name for p in (ROOT / d).rglob("*") if p.is_dir()}
    provides = md.packages_distributions()
    listed = _requirement_names("test")
    missing = {}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods = [node.module]
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("importorskip", "import_module")
                  and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                mods = [node.args[0].value]
            else:
                continue
            for mod in mods:
                root = mod.split(".")[0]
                if root in sys.stdlib_module_names or root in local or root in NOT_IN_TEST_EXTRA:
                    continue
                # (a package not installed here, tomli on Python >= 3.11, is known by its own name)
                dists = {_norm(d) for d in provides.get(root, [root])}
                if not dists & listed:
                    missing.setdefault(root, set()).add(str(path.relative_to(ROOT)))
    assert not missing, "imported by the tests, not in the test extra: " + "; ".join(
        f"{m} ({', '.join(sorted(p)[:2])})" for m, p in sorted(missing.items()))


def test_the_test_extra_bounds_boto3_and_aiobotocore_to_versions_that_resolve_together():
    """Without bounds pip backtracks through ~20 boto3 versions to fit s3fs's aiobotocore, which pins botocore to a
    few patch releases: the test extra bounds both, and the bounds hold the installed versions, whose botocore
    ranges overlap (the installed botocore is in both)."""
    from importlib.metadata import PackageNotFoundError, requires, version

    from packaging.requirements import Requirement

    reqs = {Requirement(r).name.lower(): Requirement(r) for r in _extras()["test"]}
    for name in ("boto3", "aiobotocore"):
        assert name in reqs and any(sp.operator in ("<", "<=", "==", "~=") for sp in reqs[name].specifier), \
            f"{name}: no upper bound in the test extra"
    try:
        got = {n: version(n) for n in ("boto3", "aiobotocore", "botocore")}
    except PackageNotFoundError as exc:
        pytest.skip(f"the test extra is not installed here ({exc})")
    for name in ("boto3", "aiobotocore"):
        assert reqs[name].specifier.contains(got[name]), (name, got[name], str(reqs[name].specifier))
    for name in ("boto3", "aiobotocore"):
        bc = [Requirement(r) for r in requires(name) or [] if Requirement(r).name == "botocore" and not Requirement(r).marker]
        assert bc and all(r.specifier.contains(got["botocore"]) for r in bc), (name, [str(r) for r in bc])
