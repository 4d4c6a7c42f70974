"""The reading workers' events handed over through files in memory (liqcore.backtest.handover): the same
rows as pickling them, every file removed, whether the run ends, stops early or its process was killed."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from liqcore.backtest import handover


@pytest.fixture
def shm(tmp_path, monkeypatch):
    d = tmp_path / "shm"
    d.mkdir()
    monkeypatch.setattr(handover, "SHM_DIR", str(d))
    monkeypatch.setattr(handover, "MIN_BYTES", 0)
    return d


def _rows(n: int) -> np.ndarray:
    from liqcore.types import EVENT_DTYPE

    rng = np.random.default_rng(n)
    ev = np.zeros(n, EVENT_DTYPE)
    ev["ts_event"] = np.sort(rng.integers(1, 10**15, n))
    ev["ts_recv"] = ev["ts_event"] + rng.integers(0, 10**6, n)
    ev["price"] = rng.random(n) * 100
    ev["qty"] = rng.random(n)
    ev["kind"] = rng.integers(1, 4, n)
    return ev


def test_a_file_round_trip_is_the_array_writable_and_its_name_removed(shm):
    ev = _rows(5_000)
    pre = handover.prefix()
    assert pre.startswith(str(shm)) and str(os.getpid()) in pre
    got = handover.put(ev, pre, "1.rows")
    assert isinstance(got, tuple) and os.path.isfile(got[1])
    assert os.stat(got[1]).st_mode & 0o777 == 0o600  # (this user's alone)
    back = handover.take(got)
    assert not os.listdir(shm)  # the name goes at once; the pages live as long as the array
    assert back.dtype == ev.dtype and back.tobytes() == ev.tobytes()
    back["ts_recv"][0] = -1  # copy-on-write: the parent may fill receive times in place
    assert back["ts_recv"][0] == -1


def test_small_arrays_and_no_directory_go_back_as_arrays(shm, monkeypatch):
    ev = _rows(10)
    monkeypatch.setattr(handover, "MIN_BYTES", 1 << 20)
    assert handover.put(ev, handover.prefix(), "a.rows") is ev
    monkeypatch.setattr(handover, "SHM_DIR", str(shm / "missing"))
    assert handover.prefix() is None
    assert handover.put(_rows(100_000), None, "b.rows").nbytes > 1 << 20  # (no prefix: the array itself)


def test_a_file_that_does_not_hold_the_rows_announced_is_an_error(shm):
    ev = _rows(1_000)
    got = handover.put(ev, handover.prefix(), "c.rows")
    with open(got[1], "r+b") as f:
        f.truncate(ev.nbytes - ev.dtype.itemsize)
    with pytest.raises(OSError, match="bytes handed over for 1,000 rows"):
        handover.take(got)
    assert not os.listdir(shm)


def test_a_killed_runs_files_are_removed_by_the_next_run(shm):
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()  # a pid that is gone
    left = shm / f"liqcore-{p.pid}-abcdef-7.rows"
    left.write_bytes(b"x" * 64)
    mine = shm / f"liqcore-{os.getpid()}-abcdef-7.rows"  # a live run's: kept
    mine.write_bytes(b"x" * 64)
    handover.prefix()
    assert not left.exists() and mine.exists()
    assert handover.sweep(str(shm / f"liqcore-{os.getpid()}-abcdef-")) == 1 and not mine.exists()


@pytest.fixture(scope="module")
def two_venues(tmp_path_factory):
    from tests.backtest.test_backtest_chunked_scope import _dataset

    return _dataset(str(tmp_path_factory.mktemp("handover")))


def _job(ds: str):
    from liqcore.dataset.read import check_selection

    return (ds, None, 5_000_000_000, check_selection(ds))


def _ranges(ds: str, n: int):
    from liqcore.dataset.read import check_selection

    days = sorted({p[2] for p in check_selection(ds)})
    lo = int(np.datetime64(days[0], "ns").astype(np.int64))
    step = 86_400_000_000_000 * len(days) // n
    return [(lo + k * step, lo + (k + 1) * step) for k in range(n)]


def test_the_reading_processes_hand_over_files_the_read_rows(two_venues, shm, monkeypatch):
    from liqcore.backtest import stream
    from liqcore.types import SymbolRegistry

    taken = []
    real = handover.take
    monkeypatch.setattr(handover, "take", lambda got: taken.append(type(got)) or real(got))
    ranges = _ranges(two_venues, 6)
    got = [ev for ev, _pairs in stream._parallel_reads(_job(two_venues), ranges, [], 2)]
    want = [stream._read_range(_job(two_venues), a, b, SymbolRegistry()) for a, b in ranges]
    assert [g.tobytes() for g in got] == [w.tobytes() for w in want]
    assert sum(len(w) for w in want) > 0 and taken.count(tuple) == sum(1 for w in want if len(w))
    assert not os.listdir(shm)


def test_a_read_stopped_early_leaves_no_file(two_venues, shm):
    from liqcore.backtest import stream

    import time

    gen = stream._parallel_reads(_job(two_venues), _ranges(two_venues, 8), [], 2)
    next(gen)  # the next reads are under way: wait (bounded) for a file written and not handed out
    t0 = time.monotonic()
    while not os.listdir(shm) and time.monotonic() - t0 < 60:
        time.sleep(0.01)
    assert os.listdir(shm), "no read of the next ranges was handed over in 60 s"
    gen.close()
    assert not os.listdir(shm)


def test_a_full_directory_gives_the_array_back_and_no_file(shm, monkeypatch):
    """A memory-backed directory that fills up while a file is written (a container's small /dev/shm): the worker
    hands the array back itself, and the part written is removed."""
    import builtins
    import errno

    class _Full:
        def __init__(self, path, mode):
            self.f = builtins.open(path, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(bytes(data)[:100])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(handover, "open", _Full, raising=False)
    ev = _rows(2_000)
    assert handover.put(ev, handover.prefix(), "d.rows") is ev
    assert not os.listdir(shm)


def test_a_handed_over_name_that_became_a_link_is_refused_not_followed(shm, tmp_path):
    ev = _rows(2_000)
    pre = handover.prefix()
    got = handover.put(ev, pre, "r0.rows")
    other = tmp_path / "elsewhere.rows"
    os.replace(got[1], other)  # (the rows moved away, a link left in their name's place)
    os.symlink(other, got[1])
    with pytest.raises(OSError):
        handover.take(got)
    assert other.exists()  # (nothing followed: the link's target is neither read nor removed)
