"""The optional extras: which package each needs, and the one error raised when one is missing.

``pip install liqcore`` installs the lean core (detection, the backtest, datasets, downloads, the live
runner).  The rest is in extras, each imported only inside the function that needs it, through
:func:`need`:

* ``research``: the studies' statistics (scikit-learn, statsmodels, hmmlearn, scipy) and pandas;
* ``plot``: figures and the HTML report's charts (matplotlib);
* ``cloud``: ``s3://`` and ``gs://`` URLs (s3fs, gcsfs);
* ``sweep``: sweeps' result tables (pandas) and Dask clusters (dask.distributed);
* ``all``: every one of them.

A missing extra raises :class:`MissingExtra` (an ``ImportError``) whose text is one line naming the
extra and its install command; the command line prints it as ``liqcore COMMAND: <that line>`` and exits
1.  Imports only the standard library.
"""
from __future__ import annotations

import importlib

__all__ = ["EXTRAS", "MissingExtra", "need", "require", "missing_extra_of", "have"]

#: extra -> the top-level modules it provides (the import names, not the distribution names)
EXTRAS: dict[str, tuple[str, ...]] = {
    "research": ("sklearn", "statsmodels", "hmmlearn", "scipy", "pandas"),
    "plot": ("matplotlib",),
    "cloud": ("s3fs", "gcsfs"),
    "sweep": ("distributed", "dask", "pandas"),
}

#: top-level module -> the extra named when it is missing (pandas: the research extra, which most need it)
_EXTRA_OF = {mod: extra for extra, mods in reversed(list(EXTRAS.items())) for mod in mods}


class MissingExtra(ImportError):
    """An optional package is not installed; ``str()`` is one line: ``needs the X extra: pip install
    'liqcore[X]'``; ``.name`` is the missing package, ``.extra`` the extra."""

    def __init__(self, extra: str, module: str) -> None:
        self.extra = extra
        super().__init__(f"needs the {extra} extra: pip install 'liqcore[{extra}]'", name=module)


def need(extra: str, module: str):
    """Import ``module`` (dotted names allowed) and return it; :class:`MissingExtra` naming ``extra``
    when its top-level package is not installed.  An error raised inside an installed package's own
    import is not hidden."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".")[0]
        if exc.name is not None and exc.name.split(".")[0] != top:
            raise  # the package is there but one of its own dependencies is missing: say so as it is
        raise MissingExtra(extra, top) from None


def have(module: str) -> bool:
    """Whether ``module`` imports (the optional parts of a job use it to leave themselves out)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def require(*extras: str) -> None:
    """:class:`MissingExtra` for the first of ``extras`` with a package not installed (a command checks
    its extras before any work, so a missing one costs nothing).  Checks with ``find_spec``: nothing is
    imported."""
    from importlib.util import find_spec

    for extra in extras:
        for mod in EXTRAS[extra]:
            if mod == "dask":  # dask.distributed's own package is the one asked for
                continue
            if find_spec(mod) is None:
                raise MissingExtra(extra, mod)


def missing_extra_of(exc: BaseException) -> MissingExtra | None:
    """The :class:`MissingExtra` an import error stands for: the error itself, or a
    ``ModuleNotFoundError`` of one of the extras' packages (an import not yet routed through
    :func:`need`); None for any other error."""
    if isinstance(exc, MissingExtra):
        return exc
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        top = exc.name.split(".")[0]
        if top in _EXTRA_OF:
            return MissingExtra(_EXTRA_OF[top], top)
    return None
