"""The clock index of a partition file: for each liquidation and gap, the bulk row (trade or quote) of
the same file that sets the detector's clock there, written into the file's footer at write time so a
backtest's detection pass need not decode the time columns of every bulk row group (docs/maintainers/data.md,
"The clock index").  The search of a section is the kernel :func:`liqcore._libs.reading.clock_witness` (twin
``pysrc/eventscan.py``); may import numpy, pybase64 (the
footer's base64, decoded 8x faster than the standard library's) and the kernels only."""
from __future__ import annotations

import base64

import numpy as np
import pybase64

__all__ = ["KEY", "NONE", "witnesses", "encode", "decode"]

#: the footer key-value metadata key that holds the index
KEY = b"liqcore.clock.v1"
#: the witness of a row that has none (no bulk row of the file stamped after it and received before it)
NONE = np.iinfo(np.int64).min


def witnesses(sections: list, r_te: np.ndarray, r_tr: np.ndarray):
    """The clock setters of the rare rows ``(r_te, r_tr)`` over the bulk ``sections`` (each a pair of time
    arrays ``(te, tr)`` sorted by event time, in the file's order): over every section, the row with the
    latest event time stamped after ``r_te`` and received before ``r_tr``; of equal event times, the one
    last in the file's order (the order a stable sort by event time leaves them in).  None when a section
    is not sorted by event time (no index is written)."""
    from liqcore._libs.reading import clock_witness

    r_te = np.asarray(r_te, np.int64)
    r_tr = np.asarray(r_tr, np.int64)
    best_te = np.full(len(r_te), NONE, np.int64)
    best_tr = np.full(len(r_te), NONE, np.int64)
    for te, tr in sections:
        got = clock_witness(np.asarray(te, np.int64), np.asarray(tr, np.int64), r_te, r_tr)
        if got is None:
            return None
        w_te, w_tr = got
        later = (w_te != NONE) & (w_te >= best_te)  # a later section wins a tie
        best_te[later], best_tr[later] = w_te[later], w_tr[later]
    return best_te, best_tr


def encode(r_te, r_tr, w_te, w_tr) -> bytes:
    """The index as the footer keeps it: base64 of little-endian int64 rows (r_te, r_tr, w_te, w_tr)."""
    a = np.stack([np.asarray(x, np.int64) for x in (r_te, r_tr, w_te, w_tr)], axis=1).astype("<i8")
    return base64.b64encode(a.tobytes())


def decode(value) -> np.ndarray | None:
    """The index rows ``(n, 4)`` from a footer value; None when it is not one (an unreadable value is no
    index: the reader decodes the rows instead)."""
    try:
        raw = pybase64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        return None
    if len(raw) % 32:
        return None
    return np.frombuffer(raw, "<i8").astype(np.int64).reshape(-1, 4)
