"""A partition file whose rows changed on disk since liqcore wrote and marked it (:func:`damaged_groups`: its size and
footer as written, a row group's SHA-256 not), refused by every read (:func:`refuse_damaged`, :class:`DamagedFile`).

May import: this package's ``checked``.
"""
from __future__ import annotations

import os

from liqcore.dataset.checked import MARKS_FILE, _sha, footer, read_marks

__all__ = ["damaged_groups", "refuse_damaged", "DamagedFile"]


def damaged_groups(path: str, mark) -> list[int]:
    """The row groups of the file at ``path`` that are not the bytes ``mark`` says
    (:func:`liqcore.dataset.checked.mark_of`) while its size and its footer are: a file liqcore wrote whose rows changed on disk (a flipped byte), which no other tool's
    rewrite gives (a rewrite writes its own footer).  Empty when the file is its mark's bytes, or another file
    altogether (another size or footer, or a mark without the groups' digests)."""
    if not isinstance(mark, dict) or not isinstance(mark.get("groups"), list):
        return []
    try:
        f = footer(path)
        fd = os.open(path, os.O_RDONLY)
    except (OSError, ValueError):
        return []
    try:
        key = tuple(f.key)
        if not key or key[0] != mark.get("size") or len(mark["groups"]) != len(f.spans) \
                or _sha(fd, key[0] - 8 - f.meta_len, key[0]) != mark.get("footer"):
            return []
        return [g for g in range(len(f.spans)) if _sha(fd, *f.spans[g]) != mark["groups"][g]]
    finally:
        os.close(fd)


class DamagedFile(ValueError):
    """A partition file liqcore wrote and marked whose rows are no longer the bytes written (its size and footer
    are): its values cannot be trusted, so it is not read."""


def refuse_damaged(path, files) -> None:
    """A :class:`DamagedFile` naming the first of ``files`` (marked files that are not the
    bytes of their marks) whose rows changed on disk while its size and footer did not: read the checking way, its
    values would be wrong with no row for a check to drop (a flipped byte in a time column moves a time)."""
    marks = read_marks(path)
    root = str(path).rstrip("/") + "/"
    for f in sorted(files):
        name = f[len(root):] if f.startswith(root) else f
        bad = damaged_groups(f, marks.get(name))
        if bad:
            raise DamagedFile(
                f"dataset {path}: {name} is damaged: its row group(s) {', '.join(map(str, bad))} are not the bytes "
                f"written (the size and the footer are; SHA-256 in {MARKS_FILE}): a byte changed on disk. Convert its "
                "source again into the dataset (liqcore convert SOURCE --dataset DS --force), or leave its day out "
                "(--start/--end)")
