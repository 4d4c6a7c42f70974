"""A Parquet file's footer read and scanned without pyarrow: :func:`read_footer_bytes` takes the serialized
``FileMetaData`` off the end of an open file (its last 8 bytes: the footer's length, little-endian, then
``PAR1``), :func:`scan` gives it to the compiled scan (:func:`liqcore._libs.reading.scan_footer`: row
counts, leaf schema, key-value metadata, per-chunk offsets, sizes and statistics, as pyarrow reports them).

May import: numpy, ``liqcore._libs.reading``.
"""
from __future__ import annotations

import os

from liqcore._libs.reading import scan_footer

_MAGIC = b"PAR1"
_TAIL = 8  # the footer's length (4 bytes, little-endian) then the magic


def _pread_all(fd: int, n: int, offset: int) -> bytes:
    """Exactly ``n`` bytes of ``fd`` from ``offset`` (fewer only where the file ends)."""
    parts = []
    while n > 0:
        b = os.pread(fd, n, offset)
        if not b:
            break
        parts.append(b)
        n -= len(b)
        offset += len(b)
    return b"".join(parts)


def read_footer_bytes(fd: int, size: int) -> bytes:
    """The serialized FileMetaData of the Parquet file open as ``fd``, ``size`` bytes long: the footer's
    length and magic read from its last 8 bytes, then the footer before them.  ValueError, with a one-line
    reason, when the file is too short, does not end in ``PAR1`` (not Parquet, or an encrypted footer:
    ``PARE``) or gives a footer length it cannot hold."""
    if size < len(_MAGIC) + _TAIL:
        raise ValueError(f"not a Parquet file: {size} bytes, too short for its magic and footer length")
    tail = _pread_all(fd, _TAIL, size - _TAIL)
    if len(tail) != _TAIL:
        raise ValueError(f"truncated Parquet file: {len(tail)} of its last {_TAIL} bytes could be read")
    if tail[4:] != _MAGIC:
        raise ValueError(f"not a Parquet file: it ends in {tail[4:]!r}, not {_MAGIC!r}")
    length = int.from_bytes(tail[:4], "little")
    if length > size - _TAIL - len(_MAGIC):
        raise ValueError(f"truncated Parquet file: a footer of {length} bytes in a file of {size}")
    footer = _pread_all(fd, length, size - _TAIL - length)
    if len(footer) != length:
        raise ValueError(f"truncated Parquet file: {len(footer)} of its {length} footer bytes could be read")
    return footer


def scan(fd: int, size: int) -> dict:
    """The footer of the Parquet file open as ``fd`` (``size`` bytes) scanned: the dict of
    :func:`liqcore._libs.reading.scan_footer` and ``"meta_len"``, the footer's length in bytes.
    ValueError when the file is not Parquet, is truncated, or its footer is malformed."""
    footer = read_footer_bytes(fd, size)
    out = scan_footer(footer)
    out["meta_len"] = len(footer)
    return out
