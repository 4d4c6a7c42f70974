"""The one check of every command that reads recordings: are there usable events, and if not, why
(no files, empty files, every record rejected -- by reason, naming the files)."""
from __future__ import annotations

import os

import liqcore.io.registry as _registry
from liqcore.io.base import LoadResult


class NoUsableInput(ValueError):
    """The input yields no usable events (the command line exits 1, naming why)."""

    exit_code = 1


def _inputs_label(inputs) -> str:
    if inputs is None:
        return "the input"
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    names = [str(p) for p in inputs]
    if not names:
        return "the input"
    return ", ".join(names[:3]) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "")


def _counts(counts: dict) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def why_empty(result: "LoadResult | None" = None, *, rejects: dict | None = None, n_files: int | None = None,
              records: int | None = None, what: str = "rows") -> str:
    """Why a load gave nothing: no files, empty files, or every record rejected (by reason, naming
    the files they came from and the files skipped)."""
    where = ""
    if result is not None:
        rejects = result.rejects
        n_files = len(result.sources)
        records = sum(int(info.get("records", 0)) for info in result.files.values())
        named = [(p, {k: v for k, v in (info.get("rejects") or {}).items() if v})
                 for p, info in result.files.items()]
        named = [(p, r) for p, r in named if r]
        if len(named) == 1:
            where = f" in {named[0][0]}"
        elif named:
            where = ": " + "; ".join(f"{p}: {_counts(r)}" for p, r in named[:3]) + \
                (f" (+{len(named) - 3} more files)" if len(named) > 3 else "")
        if result.skipped:
            where += "; skipped " + "; ".join(f"{p} ({w})" for p, w in list(result.skipped.items())[:3]) + \
                (f" (+{len(result.skipped) - 3} more)" if len(result.skipped) > 3 else "")
    rejects = {k: v for k, v in (rejects or {}).items() if v}
    if n_files == 0:
        suffixes = ", ".join(sorted(_registry.REGISTRY.dir_suffixes()))
        return f"no recording files found (looked for {suffixes}, optionally .gz/.zst)"
    total = sum(rejects.values())
    if total:
        cause = ""
        if result is not None and rejects.get("unknown_venue"):  # (which venue: a plugin's not installed?)
            from liqcore.io.base import unknown_venues, unknown_venues_cause

            named = unknown_venues(result)
            cause = f"; {unknown_venues_cause(sorted(named))}" if named else ""
        return f"{total:,} {what} rejected ({_counts(rejects)}){where}{cause}"
    if records:
        return f"{records:,} {what} read, none with an event"
    empty = [info["empty"] for info in result.files.values() if info.get("empty")] if result is not None else []
    if empty and len(empty) == n_files:  # nothing but empty files: said so
        return f"the file {empty[0]}" if n_files == 1 else f"the {n_files} files are empty"
    return "the file(s) hold no records" if n_files is None or n_files > 1 else "the file holds no records"


def require_events(result: "LoadResult", inputs=None, *, allow_empty: bool = False, usable: int | None = None,
                   selection: str = "", warn=None) -> bool:
    """The one check of every command that reads recordings: True when there are usable events.

    ``usable``: events left after the command's own selection (default: every loaded event);
    ``selection`` names that selection (e.g. ``"--symbol BTCUSDT"``) for the message.  When nothing
    is usable: raises :class:`NoUsableInput` ("no usable events in X: 12 rows rejected (malformed_json
    10, not_a_record 2)"), or, with ``allow_empty``, writes the same line as a warning (to ``warn``,
    default stderr) and returns False."""
    n = len(result.events) if usable is None else int(usable)
    if n > 0:
        return True
    where = _inputs_label(inputs if inputs is not None else result.sources)
    if len(result.events) and selection:
        why = f"none of its {len(result.events):,} events match {selection}"
    else:
        why = why_empty(result)
    return _no_usable(f"no usable events in {where}: {why}", allow_empty, warn)


def require_usable(n_usable: int, inputs=None, *, reason: str = "", allow_empty: bool = False, warn=None) -> bool:
    """:func:`require_events` for inputs that are not loaded with :func:`load_events` (e.g. frames
    for a replay): ``reason`` says why nothing was usable."""
    if n_usable > 0:
        return True
    msg = f"no usable events in {_inputs_label(inputs)}" + (f": {reason}" if reason else "")
    return _no_usable(msg, allow_empty, warn)


def _no_usable(msg: str, allow_empty: bool, warn) -> bool:
    if not allow_empty:
        raise NoUsableInput(msg + " (--allow-empty to accept an empty input)")
    import sys

    print(f"warning: {msg}", file=warn or sys.stderr)
    return False
