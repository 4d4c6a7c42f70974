"""Bulk loading and saving of recording files in the event contract: :func:`load_files`, :func:`save_events`
(files and datasets together: :func:`liqcore.load_events`, in :mod:`liqcore.dataset.load`).

One module per job: ``registry`` (the readers, detection), ``_core`` (the per-file loop, merge,
duplicates), ``base``, one reader module per format family (the venues' own archives: their
registry part ``archives``, asked for by ``registry``), ``plausible``, ``require``,
``save``, ``storage`` (URLs).  Formats, sides, times, duplicates: docs/data.md ("Formats", "Compressed,
damaged and repeated files").  May import: numpy, ``types``, ``codes`` (the kind names), ``venues``, ``validate``, ``_atomic``,
``secrets``, the row kernels of ``_libs``, pyarrow / zstandard / fsspec inside functions; never ``dataset``
(the dataset builds on this package).  A new format: a reader module
``io/<family>.py``, added to ``READERS`` in ``registry``, its row in docs/data.md.
"""
from __future__ import annotations

import sys as _sys
import types as _types

# re-exported: what ``from liqcore.io import X`` imports (public names, and the private ones other
# modules and the tests use)
from liqcore.io import _core, base, contract, plausible, registry, require, save  # noqa: F401
from liqcore.io._core import load_files, merge_loads
from liqcore.io.base import LoadResult, Reader, FileState, unreadable_why, warn_stderr, dedupe  # noqa: F401
from liqcore.io.contract import CONTRACT_COLUMNS, CONTRACT_OPTIONAL, contract_table, _read_contract_csv_table  # noqa: F401
from liqcore.venues.files import Blocks, open_binary, open_text  # noqa: F401
from liqcore.io.plausible import _sane  # noqa: F401
from liqcore.io.registry import (  # noqa: F401
    FORMAT_ALIASES,
    FORMATS,
    LINE_FORMATS,
    expand_paths,
    canonical_format,
    detect_format,
    format_arg,
)
from liqcore.io.require import NoUsableInput, require_events, require_usable, why_empty  # noqa: F401
from liqcore.io.save import events_to_table, save_events

__all__ = [
    "FORMATS",
    "FORMAT_ALIASES",
    "canonical_format",
    "NoUsableInput",
    "require_events",
    "require_usable",
    "LoadResult",
    "load_files",
    "merge_loads",
    "save_events",
    "detect_format",
    "open_text",
    "events_to_table",
]

#: private names other modules and the tests use (the dataset writer, the fake replay, the tests)
_PRIVATE = ("Blocks", "FileState", "expand_paths", "contract_table", "_read_contract_csv_table", "_sane",
            "unreadable_why", "warn_stderr")
_PARTS = (_core, base, contract, plausible, registry, require, save)


class _OneNamespace(_types.ModuleType):
    """``liqcore.io`` keeps acting as the one module it was: setting a name it re-exports (a test
    patching ``liqcore.io.expand_paths``) sets it in the module of the package that holds it too, so
    the code that uses it sees the new value."""

    def __setattr__(self, name, value):
        if name in _PRIVATE or name in __all__:
            old = self.__dict__.get(name)
            for part in _PARTS:
                if name in part.__dict__ and part.__dict__[name] is old:
                    setattr(part, name, value)
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _OneNamespace
