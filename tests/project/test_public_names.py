"""Every public lazy name of ``liqcore`` and ``liqcore.backtest`` means one thing whatever the import
order: ``from liqcore import synthetic_market, backtest`` gave the ``liqcore.backtest`` package (not
callable) because resolving ``synthetic_market`` imported the subpackage, which replaced the name."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

_PROBE = textwrap.dedent("""
    import importlib, sys
    pkg, names = sys.argv[1], sys.argv[2].split(",")
    mod = importlib.import_module(pkg)
    got = [getattr(mod, n) for n in names]
    # what each name is once everything is loaded, asked again
    print("|".join(f"{n}={getattr(mod, n)!r}".split(" at 0x")[0] for n in sorted(names)))
    print("|".join(f"{n}={g!r}".split(" at 0x")[0] for n, g in sorted(zip(names, got))))
""")


def _names(pkg: str) -> list[str]:
    import importlib

    return list(importlib.import_module(pkg)._LAZY)


@pytest.mark.parametrize("pkg", ["liqcore", "liqcore.backtest", "liqcore.sweep", "liqcore.synthetic",
                                 "liqcore.dataset"])
def test_every_lazy_name_means_one_thing_in_any_order(pkg):
    names = _names(pkg)
    seen = set()
    for order in (names, names[::-1]):
        out = subprocess.run([sys.executable, "-c", _PROBE, pkg, ",".join(order)], capture_output=True,
                             text=True, check=True).stdout.splitlines()
        assert out[0] == out[1], f"a name changed meaning after a later import ({pkg}, order {order})"
        seen.add(out[0])
    assert len(seen) == 1, f"{pkg}: the names mean different things in different import orders: {seen}"


def test_from_liqcore_import_synthetic_market_then_backtest_is_callable():
    code = ("from liqcore import synthetic_market, backtest\n"
            "import liqcore\n"
            "m = synthetic_market(days=1, seed=5, symbols=['ETHUSDT'])\n"
            "a = backtest(m); b = liqcore.backtest(m)\n"
            "from liqcore.backtest import backtest as f\n"
            "c = f(m)\n"
            "print(type(a).__name__, a.summary()['trades'] == b.summary()['trades'] == c.summary()['trades'])\n"
            "import liqcore.backtest.report as r, liqcore.sweep.walkforward as w\n"
            "from liqcore.sweep import walkforward\n"
            "print(w is walkforward, callable(walkforward), r.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["BacktestResult", "True", "True", "True", "liqcore.backtest.report"]


def test_liqcore_sweep_is_the_sweep_package_callable_as_the_backtest_packages_sweep():
    """``from liqcore import sweep`` is the package ``liqcore.sweep`` (the sweeps' room), callable as the
    function it always meant (``liqcore.backtest.sweep``), in any import order."""
    import liqcore
    import liqcore.sweep as package
    from liqcore import Params
    from liqcore.backtest import sweep
    from liqcore.backtest.results import SweepResult

    assert liqcore.sweep is package and callable(package) and package.sweep is sweep
    code = ("import liqcore.sweep.cells\nfrom liqcore import sweep\nimport liqcore.sweep as p\n"
            "print(sweep is p, callable(sweep))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True"]
    m = liqcore.synthetic_market(days=1, seed=5, symbols=["ETHUSDT"])
    swept = liqcore.sweep(m, {"offset": ["0.1%", "0.2%"]}, Params())
    assert isinstance(swept, SweepResult) and list(swept["offset"]) == ["0.1%", "0.2%"]


def test_every_public_callable_shows_its_real_signature():
    """``inspect.signature`` (``help``, IDEs) of ``liqcore.backtest`` / ``liqcore.sweep`` (packages callable as their
    function) is the function's, and of each compiled kernel class its constructor's, the same as its pure-Python
    twin's (names and defaults), never ``(*args, **kwargs)`` or a ValueError."""
    import inspect

    import liqcore
    from liqcore.backtest.run import backtest, sweep
    from pysrc import detector, quantile, windows, zscore

    assert inspect.signature(liqcore.backtest) == inspect.signature(backtest)
    assert inspect.signature(liqcore.sweep) == inspect.signature(sweep)
    for name, twin in [("CascadeDetector", detector), ("RollingQuantile", quantile), ("TimeWindow", windows),
                       ("RollingZScore", zscore), ("BucketZScore", zscore)]:
        got = [(p.name, p.default) for p in inspect.signature(getattr(liqcore, name)).parameters.values()]
        want = [(p.name, p.default) for p in inspect.signature(getattr(twin, name)).parameters.values()]
        assert got == want, name
        assert inspect.getdoc(getattr(liqcore, name)).split()[0] not in ("--", name), name  # (the text after it)
