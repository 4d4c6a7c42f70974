"""A venue's trade ids of text (Bybit's ``trdMatchID``, a UUID) as the int64 ids the duplicate rule reads
(:func:`liqcore.io.base.dedupe`: two trades alike but for their ids are two, the same trade seen twice is one).

May import: numpy, pyarrow (inside the function) and the standard library.
"""
from __future__ import annotations

import numpy as np

__all__ = ["text_ids"]

#: a byte's hex digit value (255: not a hex digit)
_HEX = np.full(256, 255, np.uint8)
_HEX[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10)
_HEX[np.frombuffer(b"abcdef", np.uint8)] = np.arange(10, 16)
_HEX[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16)


def text_ids(col) -> np.ndarray:
    """A trade id column of text (Bybit's ``trdMatchID``, a UUID) as int64 ids for the duplicate rule: the same text
    the same id, two texts two ids (a UUID's 32 hex digits folded to 62 bits; any other text hashed), 0 for none."""
    import hashlib

    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    n = len(col)
    out = np.zeros(n, np.int64)
    if not n:
        return out
    if col.type == pa.large_string():
        col = col.cast(pa.string())
    lens = np.asarray(pc.fill_null(pc.binary_length(col), 0))
    if col.null_count == 0 and bool((lens == 36).all()):  # every cell a UUID's length: its bytes, read as they lie
        offs = np.frombuffer(col.buffers()[1], np.int32)[col.offset:col.offset + n + 1]
        flat = np.frombuffer(col.buffers()[2], np.uint8)[int(offs[0]):int(offs[0]) + 36 * n]
        cells = flat.reshape(n, 36)
        nib = _HEX[cells[:, _UUID_DIGITS]]
        if not bool((nib == 255).any()) and bool((cells[:, [8, 13, 18, 23]] == ord("-")).all()):
            a = np.zeros(n, np.uint64)
            b = np.zeros(n, np.uint64)
            for k in range(16):
                a = (a << np.uint64(4)) | nib[:, k].astype(np.uint64)
                b = (b << np.uint64(4)) | nib[:, 16 + k].astype(np.uint64)
            return ((a ^ (b * np.uint64(0x9E3779B97F4A7C15))) >> np.uint64(2)).astype(np.int64) | 1
    for k, v in enumerate(col.to_pylist()):  # (one by one: a UUID folded as above, other text hashed)
        if not v:
            continue
        digits = v.replace("-", "") if len(v) == 36 and all(v[i] == "-" for i in (8, 13, 18, 23)) else ""
        try:
            a, b = int(digits[:16], 16), int(digits[16:], 16)
        except ValueError:
            out[k] = (int.from_bytes(hashlib.blake2b(str(v).encode(), digest_size=8).digest(), "little") >> 2) | 1
            continue
        out[k] = ((a ^ ((b * 0x9E3779B97F4A7C15) & (2**64 - 1))) >> 2) | 1
    return out


#: the places of a UUID's 32 hex digits among its 36 characters (the four dashes left out)
_UUID_DIGITS = [i for i in range(36) if i not in (8, 13, 18, 23)]
