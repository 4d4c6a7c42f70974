"""One chunk of a chunked backtest from the read to the simulator: the fused pass
(:meth:`liqcore.backtest.stream._Fuse.read`: the plan over the two time columns, the stable sort of the
receive times when out of order, then ``liqcore._jit.chunks.fuse_chunk``) against the numpy passes it
replaced (``pysrc.chunks.numpy_passes_read``: join, ordered gather, cut, carry copy, clean_prints, the print
gather, the time copies, the grid / cheapest-trade / liquidation / kind / receive-delay masks), on the
same chunk, in the same run, interleaved (one repeat of each per round).

The chunk is read from a dataset (``--ds``: e.g. the one ``bench_density.py --quotes 6000000 --keep``
writes; ``--hour`` picks the hour read) or, without one, generated: ``--rows`` events at a busy perp's
mix (1 trade : 2 top-of-book rows, a liquidation per 2,000 rows), received 0-40 ms after their event
time in 1 ms steps (so out of receive order, with ties), 2 s of carried rows from the previous read.

    python benches/bench_chunk_pass.py [--rows 600000] [--repeats 9]
    python benches/bench_chunk_pass.py --ds /tmp/bench-density/ds --hour 5

Prints, for the queue rule (the simulator reads every row) and the through rule (the simulator reads
the print array), the median and min milliseconds per chunk of each, their ratio, and the peak bytes
allocated per event row during one read (tracemalloc: numpy reports its buffers to it); then the load.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from liqcore.backtest import chunked as C  # noqa: E402
from liqcore.backtest import stream as ST  # noqa: E402
from liqcore.types import EVENT_DTYPE, Kind  # noqa: E402
from pysrc.chunks import numpy_passes_read  # noqa: E402

S = 1_000_000_000
MARGIN = 5 * S  # the receive-time margin of a dataset read (max clock skew)


def generated(rows: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """(carry, read): ``rows`` events of one symbol over an hour in event-time order, plus 2 s of
    carried rows in receive-time order."""
    rng = np.random.default_rng(seed)
    n = rows + rows // 1800
    ev = np.zeros(n, EVENT_DTYPE)
    ev["ts_event"] = 1_722_470_400 * S + np.sort(rng.integers(0, 3600 * S, n))
    ev["ts_recv"] = ev["ts_event"] + rng.integers(0, 41, n) * 1_000_000
    u = rng.random(n)
    ev["kind"] = np.where(u < 1 / 3, int(Kind.TRADE), int(Kind.QUOTE))
    ev["kind"][u > 1 - 1 / 2000] = int(Kind.LIQUIDATION)
    ev["price"] = 64_000 + np.cumsum(rng.choice([-0.1, 0.0, 0.1], n))
    ev["qty"] = rng.integers(1, 500, n) * 0.001
    ev["side"] = rng.choice([-1, 1], n)
    cut = int(np.searchsorted(ev["ts_event"], int(ev["ts_event"][0]) + 2 * S))
    carry = ev[:cut][np.argsort(ev["ts_recv"][:cut], kind="stable")].copy()
    return carry, ev[cut:].copy()


def from_dataset(path: str, hour: int) -> tuple[np.ndarray, np.ndarray]:
    """(no carry, one hour of the dataset at ``path`` as the chunked backtest reads it)."""
    from liqcore.dataset.read import check_selection, load_dataset
    from liqcore.venues.common import fill_recv

    day = sorted({p[2] for p in check_selection(path)})[0]
    t0 = int(np.datetime64(day, "D").astype("datetime64[ns]").astype(np.int64)) + hour * 3600 * S
    raw = load_dataset(path, start_ns=t0, end_ns=t0 + 3600 * S, check=False).events
    return np.zeros(0, raw.dtype), fill_recv(raw)


def peak_bytes(fn) -> int:
    """Peak bytes allocated while ``fn()`` runs, above what was allocated before."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=600_000, help="generated rows per chunk (default 600000)")
    ap.add_argument("--ds", help="read the chunk from this dataset instead")
    ap.add_argument("--hour", type=int, default=5, help="with --ds: the hour of its first day read (default 5)")
    ap.add_argument("--repeats", type=int, default=9)
    a = ap.parse_args()
    carry, raw = from_dataset(a.ds, a.hour) if a.ds else generated(a.rows)
    n = len(carry) + len(raw)
    print(f"bench_chunk_pass: one chunk of {n:,} events ({len(carry):,} carried), "
          f"{'from ' + a.ds if a.ds else 'generated'}; {a.repeats} rounds, interleaved")

    def old(book):
        return lambda: numpy_passes_read(carry, raw, MARGIN, None, None, book, 1, {}, C._Delays(), 0, 0)

    def fused(book):
        return lambda: ST._Fuse(book=book, grid=ST._GridGate(True), delays=C._Delays()).read(carry, raw, MARGIN, 1)

    for book, rule in ((True, "queue"), (False, "through")):
        fused(book)()  # compiled, or loaded from Numba's cache
        t: dict = {"numpy passes": [], "fused pass": []}
        for _ in range(a.repeats):
            for name, fn in (("numpy passes", old(book)), ("fused pass", fused(book))):
                t0 = time.perf_counter()
                fn()
                t[name].append((time.perf_counter() - t0) * 1e3)
        mem = {name: peak_bytes(fn) / n for name, fn in (("numpy passes", old(book)), ("fused pass", fused(book)))}
        med = {k: statistics.median(v) for k, v in t.items()}
        for name in t:
            print(f"  {rule:7s} {name:12s}: {med[name]:7.1f} ms per chunk (min {min(t[name]):.1f} ms), "
                  f"{med[name] * 1e6 / n:5.1f} ns per event; peak {mem[name]:5.1f} B allocated per event row")
        print(f"  {rule:7s} fused / numpy passes: time {med['fused pass'] / med['numpy passes']:.2f}x, "
              f"peak bytes {mem['fused pass'] / mem['numpy passes']:.2f}x")
    la = os.getloadavg()
    print(f"load average: {la[0]:.1f} / {la[1]:.1f} / {la[2]:.1f} (1 / 5 / 15 min) on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
