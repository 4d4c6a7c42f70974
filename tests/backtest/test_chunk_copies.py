"""Followed as data, a chunk enters each room of the backtest once: one read of the chunked backtest
(:meth:`liqcore.backtest.stream._Fuse.read`: the plan, the receive-time order, the chunk's one pass)
allocates the read's event rows once -- into the chunk or the next carry -- plus a few 8-byte columns,
and, under a fill rule without the book, the simulator's print array once.  Measured with tracemalloc
(numpy reports its buffers to it) as the peak allocated during the read, per event row read."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from liqcore.types import EVENT_DTYPE, Kind

ROW = EVENT_DTYPE.itemsize  # 40 bytes
#: the fused read's 8-byte columns at its peak: the receive-time order, the chunk's receive times and
#: the receive-delay sample (the plan's receive times and the sort's scratch are freed before), and a
#: quarter of one for the small arrays
COLUMNS = 3.25
N = 200_000


def _peak(fn) -> tuple[float, object]:
    """(peak bytes allocated while ``fn()`` runs, above what was allocated before; its result)."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out = fn()
        return tracemalloc.get_traced_memory()[1] - base, out
    finally:
        tracemalloc.stop()


def _fused_bound(raw: np.ndarray, book: bool) -> float:
    """Bytes the fused read may allocate: the rows once, :data:`COLUMNS` columns, and without the book
    the simulator's print array (a row and two columns per trade print or funding event)."""
    k = raw["kind"]
    prints = int(((k == int(Kind.TRADE)) | (k == int(Kind.FUNDING))).sum())
    return len(raw) * (ROW + 8 * COLUMNS) + (0 if book else prints * (ROW + 16)) + 64 * 1024


@pytest.mark.parametrize("book", [True, False], ids=["queue", "through"])
@pytest.mark.parametrize("carried", [0, 2_000], ids=["first-read", "with-carry"])
def test_one_read_allocates_the_events_once(book, carried):
    """The fused read stays within the rows once plus three columns (and the print array once); the
    old passes -- join, ordered gather, carry copy, masks, print gather, time copies -- did not."""
    from liqcore.backtest import chunked as C
    from liqcore.backtest import stream as ST
    from pysrc.chunks import numpy_passes_read
    from tests.kernels.test_chunk_pass_property import _events

    ev = _events(3, N + carried, n_sym=1)
    carry = ev[:carried][np.argsort(ev["ts_recv"][:carried], kind="stable")].copy()
    raw = ev[carried:].copy()
    warm = ST._Fuse(book=book, grid=ST._GridGate(False), delays=C._Delays())
    warm.read(carry[:10], raw[:100], 0, 1)  # compiled (or loaded from the cache) before the measure

    fuse = ST._Fuse(book=book, grid=ST._GridGate(False), delays=C._Delays())
    new, (_lo, _cut, k, ch, rest) = _peak(lambda: fuse.read(carry, raw, 0, 1))
    assert fuse.passes == 1 and k > N // 2 and len(ch.events) + len(rest) == N + carried
    bound = _fused_bound(ev, book)
    assert new <= bound, f"the fused read allocated {new / len(ev):.1f} B per event row; bound {bound / len(ev):.1f}"
    del ch, rest

    old, _r = _peak(lambda: numpy_passes_read(carry, raw, 0, None, None, book, 1, {}, C._Delays(), 0, 0))
    assert old > bound, f"the old passes allocated {old / len(ev):.1f} B per event row"
