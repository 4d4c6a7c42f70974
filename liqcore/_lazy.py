"""Names a package loads on first use (PEP 562): ``import liqcore`` imports no submodule it does not need.

May import: the standard library.
"""
from __future__ import annotations

import importlib
import sys


def lazy_exports(module_name: str, table: dict):
    """``(__getattr__, __dir__)`` for the package ``module_name`` whose names in ``table`` (name -> ``(module,
    attribute)``; attribute None: the module itself) load on first use and are then kept in its namespace."""

    def __getattr__(name: str):
        try:
            modname, attr = table[name]
        except KeyError:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}") from None
        value = importlib.import_module(modname)
        if attr is not None:
            value = getattr(value, attr)
        sys.modules[module_name].__dict__[name] = value
        return value

    def __dir__():
        return sorted(set(sys.modules[module_name].__dict__) | set(table))

    return __getattr__, __dir__
