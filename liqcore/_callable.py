"""A package or module that shares its name with the function it is about, callable as that function.

``liqcore.backtest`` is a package and ``backtest`` its main function; ``liqcore.sweep.walkforward``
is a module and ``walkforward`` its function.  Python binds a submodule as an attribute of its parent
when the submodule is imported, so a lazy name that resolves to the *function* is replaced by the
*module* as soon as anything imports that module (``from liqcore import synthetic_market, backtest``
gave the package, and ``backtest(m)`` failed with "'module' object is not callable").  Instead the
public name always is the module, and calling the module calls its function: one thing whatever the
import order, with ``import liqcore.backtest.report as r`` and ``from liqcore.backtest import sweep``
working as before.
"""
from __future__ import annotations

import sys
from types import ModuleType


def make_callable(module_name: str, function: str) -> None:
    """Make the module ``module_name`` (already in ``sys.modules``) callable as its attribute ``function``."""
    module = sys.modules[module_name]

    class _CallableModule(ModuleType):
        def __call__(self, *args, **kwargs):
            return getattr(self, function)(*args, **kwargs)

        def __repr__(self) -> str:
            return f"<module {module_name!r} (callable: {module_name}.{function})>"

        @property
        def __signature__(self):  # (inspect.signature and IDEs: the function's, not ``(*args, **kwargs)``)
            import inspect

            return inspect.signature(getattr(self, function))

    _CallableModule.__call__.__doc__ = f"Call ``{module_name}.{function}``."
    module.__class__ = _CallableModule
