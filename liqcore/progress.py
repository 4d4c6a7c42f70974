"""Progress displays for long loops (a sweep's cells, a study's steps): a rich progress bar in a
terminal, one updating text line in a Jupyter kernel.

rich's live display needs ``ipywidgets`` in Jupyter: without it, it warns (``install "ipywidgets" for
Jupyter support``) and leaves empty outputs.  ``pip install liqcore`` does not bring ipywidgets, so in a
kernel the progress is one line of plain text, replaced in place through IPython's display updates
(``sweep: 4/12 (33%), 1.2 s``) and left at its final state (``sweep: 12/12 done in 3.4 s``).

Imports only the standard library, rich (in a terminal) and IPython (in a kernel, where it is loaded).
"""
from __future__ import annotations

import sys
import time


def in_notebook() -> bool:
    """True inside a Jupyter kernel (or another front end rich renders through IPython's display: Colab,
    Databricks), where a terminal progress bar cannot draw.  Never imports IPython."""
    if "IPython" not in sys.modules:
        return False
    try:
        from rich.console import _is_jupyter  # the same test rich's live display uses to decide
    except ImportError:  # pragma: no cover  (rich renamed it: ask IPython directly)
        shell = sys.modules["IPython"].get_ipython()
        return shell is not None and hasattr(shell, "kernel")
    return bool(_is_jupyter())


class _Rich:
    """A rich progress bar: description, bar, done/total, elapsed and remaining time."""

    def __init__(self, description: str, total: int, stderr: bool, transient: bool):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self._p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                           TextColumn("ETA"), TimeRemainingColumn(), console=Console(stderr=stderr),
                           transient=transient)
        self._description, self._total = description, total

    def __enter__(self):
        self._p.__enter__()
        self._task = self._p.add_task(self._description, total=self._total)
        return self

    def advance(self, n: int = 1) -> None:
        self._p.advance(self._task, n)

    def __exit__(self, *exc):
        return self._p.__exit__(*exc)


class TextLine:
    """One line of text, replaced as the work advances (at most every ``every_s`` seconds, and at the
    end): through IPython's display updates when IPython is loaded, else with a carriage return on
    ``stream`` (default stdout).  ``sweep: 4/12 (33%), 1.2 s`` then ``sweep: 12/12 done in 3.4 s``."""

    def __init__(self, description: str, total: int, stream=None, every_s: float = 0.2):
        self.description, self.total, self.done = description, int(total), 0
        self._stream, self._every = stream, every_s
        self._handle = None

    def text(self, final: bool = False) -> str:
        el = time.perf_counter() - self._t0
        if final:
            return f"{self.description}: {self.done}/{self.total} done in {el:.1f} s"
        pct = f" ({self.done / self.total * 100:.0f}%)" if self.total else ""
        return f"{self.description}: {self.done}/{self.total}{pct}, {el:.1f} s"

    def _show(self, final: bool = False) -> None:
        line = self.text(final)
        if self._handle is not None:
            self._handle.update({"text/plain": line}, raw=True)
        else:
            out = self._stream or sys.stdout
            out.write("\r" + line + ("\n" if final else ""))
            out.flush()
        self._last = time.perf_counter()

    def __enter__(self):
        self._t0 = self._last = time.perf_counter()
        if self._stream is None and "IPython" in sys.modules:
            from IPython.display import display

            self._handle = display({"text/plain": self.text()}, raw=True, display_id=True)
        if self._handle is None:
            self._show()
        return self

    def advance(self, n: int = 1) -> None:
        self.done += n
        if time.perf_counter() - self._last >= self._every:
            self._show()

    def __exit__(self, *exc):
        self._show(final=True)
        return False


def progress_bar(description: str, total: int, *, stderr: bool = False, transient: bool = True):
    """A context manager with ``advance(n=1)``: a rich progress bar (on stderr when ``stderr``; gone at
    the end when ``transient``) in a terminal, a :class:`TextLine` in a Jupyter kernel."""
    if in_notebook():
        return TextLine(description, total)
    return _Rich(description, total, stderr, transient)
