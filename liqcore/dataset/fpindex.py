"""The first-passage index of a partition file: per block of at most :data:`BLOCK` bulk rows (trades or
quotes) of each bulk row group, its rows' place in the file (row group, first row, rows), its event and
receive time span, its price range (a quote row's bid and ask), its largest size and its traded volume,
written into the file's footer at write time (:class:`Builder`) so a backtest asks "when is this price level
first reached" of a few thousand numbers instead of every row group's Parquet statistics (issue 71).

Why it belongs to the file it indexes: it lives in the footer, whose bytes the file's checked mark digests
(``liqcore.dataset.checked.verify_groups``: a file rewritten after it was marked fails the check and is read
the checking way), and :func:`decode` accepts it only when it agrees with the footer it was read from: the
file's row count and row groups, each bulk group's rows summed over its blocks, each group's event and receive
time range the blocks' own, exactly.  Anything else (no index, an older or unreadable one, one of another file)
is no index: the reader takes the row groups' statistics, as before it.  May import numpy, orjson and
pybase64 (the footer's base64, decoded 8x faster than the standard library's) only.
"""
from __future__ import annotations

import base64

import numpy as np
import pybase64

__all__ = ["KEY", "BLOCK", "BLOCK_DTYPE", "Builder", "decode", "block_stats"]

#: the footer key-value metadata key that holds the index
KEY = b"liqcore.fpi.v1"
#: the rows of a block (the last of a row group may hold fewer)
BLOCK = 1024
#: one block: its row group, first row in the file, rows, kind code (2 trades, 7 quotes), the event and receive
#: time spans, the price range (NaN-free rows; a quote row's bid and ask), the bid and ask ranges apart (NaN for
#: trades), the largest size (a quote's bid or ask size) and the traded volume (sum of trade sizes; 0 for quotes)
BLOCK_DTYPE = np.dtype([("group", "<i8"), ("row0", "<i8"), ("n", "<i8"), ("kind", "<i8"),
                        ("te_min", "<i8"), ("te_max", "<i8"), ("tr_min", "<i8"), ("tr_max", "<i8"),
                        ("p_min", "<f8"), ("p_max", "<f8"), ("bid_min", "<f8"), ("bid_max", "<f8"),
                        ("ask_min", "<f8"), ("ask_max", "<f8"), ("q_max", "<f8"), ("vol", "<f8")])
_BULK = (2, 7)


def _nan_range(x: np.ndarray, starts: np.ndarray):
    """Per segment of ``x`` beginning at ``starts``: (min, max) ignoring NaN (NaN where every value is)."""
    lo = np.fmin.reduceat(x, starts) if len(x) else np.zeros(0)
    hi = np.fmax.reduceat(x, starts) if len(x) else np.zeros(0)
    return lo, hi


def block_stats(kind, te, tr, price, qty, ask_price, ask_qty, group: int, row0: int) -> np.ndarray | None:
    """The blocks of one row group (its columns, ``ask_*`` NaN where null), first row ``row0`` of the file;
    None when the group is not a bulk group of one kind (a rare group: no blocks)."""
    n = len(kind)
    if not n or int(kind[0]) not in _BULK or not bool(np.all(kind == kind[0])):
        return None
    starts = np.arange(0, n, BLOCK)
    out = np.zeros(len(starts), BLOCK_DTYPE)
    out["group"], out["row0"], out["kind"] = group, row0 + starts, int(kind[0])
    out["n"] = np.diff(np.append(starts, n))
    te, tr = np.asarray(te, np.int64), np.asarray(tr, np.int64)
    out["te_min"], out["te_max"] = np.minimum.reduceat(te, starts), np.maximum.reduceat(te, starts)
    out["tr_min"], out["tr_max"] = np.minimum.reduceat(tr, starts), np.maximum.reduceat(tr, starts)
    price, qty = np.asarray(price, np.float64), np.asarray(qty, np.float64)
    ap, aq = np.asarray(ask_price, np.float64), np.asarray(ask_qty, np.float64)
    b_lo, b_hi = _nan_range(price, starts)
    a_lo, a_hi = _nan_range(ap, starts)
    out["p_min"], out["p_max"] = np.fmin(b_lo, a_lo), np.fmax(b_hi, a_hi)
    out["q_max"] = np.fmax(_nan_range(qty, starts)[1], _nan_range(aq, starts)[1])
    if int(kind[0]) == 7:
        out["bid_min"], out["bid_max"], out["ask_min"], out["ask_max"] = b_lo, b_hi, a_lo, a_hi
    else:
        out["bid_min"] = out["bid_max"] = out["ask_min"] = out["ask_max"] = np.nan
        out["vol"] = np.add.reduceat(np.where(np.isfinite(qty), qty, 0.0), starts)
    return out


class Builder:
    """The index of one file being written: :meth:`add` every table handed to ``ParquetWriter.write_table``
    with its ``row_group_size``, in order (it splits a table into row groups as the writer does: whole groups of
    that size, the rest in one), then :meth:`encode`."""

    def __init__(self):
        self.rows = 0
        self.groups = 0
        self.parts: list = []
        self.bad = False  # a row group mixing bulk rows with others, or two bulk kinds: no index is written

    def add(self, table, row_group_size: int) -> None:
        n = table.num_rows
        if not n:
            return
        names = table.column_names

        def col(c, dtype):
            if c not in names:
                return np.full(n, np.nan)
            a = table.column(c)
            return a.to_numpy(zero_copy_only=False).astype(dtype) if a.null_count == 0 else \
                np.asarray(a.to_pandas(), dtype)

        kind = col("kind", np.int64)
        te, tr = col("ts_event_ns", np.int64), col("ts_recv_ns", np.int64)
        price, qty = col("price", np.float64), col("qty", np.float64)
        ap, aq = col("ask_price", np.float64), col("ask_qty", np.float64)
        for a in range(0, n, row_group_size):
            b = min(a + row_group_size, n)
            got = block_stats(kind[a:b], te[a:b], tr[a:b], price[a:b], qty[a:b], ap[a:b], aq[a:b], self.groups,
                              self.rows)
            if got is not None:
                self.parts.append(got)
            elif bool(np.isin(kind[a:b], _BULK).any()):
                self.bad = True
            self.groups += 1
            self.rows += b - a

    def encode(self) -> bytes | None:
        """The index as the footer keeps it: a JSON header line (its block size, the file's rows and row
        groups), then base64 of the blocks (:data:`BLOCK_DTYPE`, little-endian); None when a row group holds bulk
        rows of two kinds or with other rows (every group without blocks holds no trade and no quote)."""
        import orjson

        if self.bad:
            return None

        blocks = np.concatenate(self.parts) if self.parts else np.zeros(0, BLOCK_DTYPE)
        head = orjson.dumps({"block": BLOCK, "rows": self.rows, "groups": self.groups})
        return head + b"\n" + base64.b64encode(blocks.tobytes())


def decode(value, rows: np.ndarray, ev: np.ndarray, rv: np.ndarray) -> np.ndarray | None:
    """The blocks of a footer value, or None when it is not this file's index: ``rows`` (each row group's rows),
    ``ev`` and ``rv`` (each group's event and receive time (min, max) from the statistics) are the footer's,
    and must be what the index says of the file (module docstring)."""
    import orjson

    try:
        value = value if isinstance(value, bytes) else bytes(value)
        cut = value.find(b"\n")
        if cut < 0:
            return None
        h = orjson.loads(value[:cut])
        raw = pybase64.b64decode(memoryview(value)[cut + 1:], validate=True)  # (the body not copied first)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        return None
    if not isinstance(h, dict) or len(raw) % BLOCK_DTYPE.itemsize:
        return None
    b = np.frombuffer(raw, BLOCK_DTYPE)
    rows = np.asarray(rows, np.int64)
    if h.get("rows") != int(rows.sum()) or h.get("groups") != len(rows):
        return None
    if not len(b):
        return b
    g = b["group"]
    if g.min() < 0 or g.max() >= len(rows) or np.any(np.diff(g) < 0) or np.any(b["n"] <= 0):
        return None
    first = np.concatenate([[0], np.cumsum(rows)[:-1]])
    ug, at = np.unique(g, return_index=True)
    n_sum = np.add.reduceat(b["n"], at)
    # each indexed group: its rows the blocks' rows, laid end to end from the group's first row
    if not np.array_equal(n_sum, rows[ug]) or not np.array_equal(b["row0"][at], first[ug]):
        return None
    same = g[1:] == g[:-1]  # (a group's next block starts where the last ended)
    if not np.array_equal(b["row0"][1:][same], (b["row0"] + b["n"])[:-1][same]):
        return None
    for c, col, j, f in (("te_min", ev, 0, np.minimum), ("te_max", ev, 1, np.maximum),
                         ("tr_min", rv, 0, np.minimum), ("tr_max", rv, 1, np.maximum)):
        if not np.array_equal(f.reduceat(b[c], at), np.asarray(col)[ug, j]):
            return None
    if not np.all(np.isin(b["kind"], _BULK)):
        return None
    return b
