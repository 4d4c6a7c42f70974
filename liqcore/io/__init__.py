"""Bulk loading and saving of recordings in the event contract (the code: :mod:`liqcore.io._core`).

Re-exports every name of :mod:`liqcore.io._core`, public and private, so ``from liqcore.io import X``
works as when the package was one module; setting one of them on the package (a test patching
``liqcore.io._BLOCK_BYTES``) sets it where the code reads it.
"""
from __future__ import annotations

import sys as _sys
import types as _types

from liqcore.io import _core
from liqcore.io._core import __all__  # noqa: F401

globals().update({k: v for k, v in vars(_core).items() if not k.startswith("__")})


class _OneNamespace(_types.ModuleType):
    def __setattr__(self, name, value):
        if name in _core.__dict__ and not name.startswith("__"):
            setattr(_core, name, value)
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _OneNamespace
