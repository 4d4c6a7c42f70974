"""The descriptors a page read keeps open (:func:`liqcore.dataset.pages.open_as`): a file read again is opened once
per thread, each use proves by the descriptor's own stat that it is still the bytes its footer was verified of (a
file written to since: refused), a file replaced at its path is still read as the verified one and the backtest
says at its end that the file changed; at most :data:`~liqcore.dataset.pages.KEPT_FILES` stay open per thread, and
a thread's close as it ends."""
from __future__ import annotations

import gc
import os
import threading

import pytest

from liqcore.dataset import pages


def _key(path) -> tuple:
    s = os.stat(path)
    return s.st_size, s.st_mtime_ns, s.st_ino


def _link(fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


@pytest.fixture(autouse=True)
def _own_kept():
    """This test's thread starts with no descriptor kept (and leaves none)."""
    pages._FDS.__dict__.pop("kept", None)
    yield
    pages._FDS.__dict__.pop("kept", None)
    gc.collect()


def test_a_file_read_again_is_opened_once_and_proven_each_time(tmp_path, monkeypatch):
    p = tmp_path / "a.parquet"
    p.write_bytes(b"0123456789")
    opened, stated = [], []
    real_open, real_fstat = os.open, os.fstat
    monkeypatch.setattr(pages.os, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    monkeypatch.setattr(pages.os, "fstat", lambda fd: stated.append(fd) or real_fstat(fd))
    fd1 = pages.open_as(str(p), _key(p))
    fd2 = pages.open_as(str(p), _key(p))
    assert fd1 == fd2 and opened == [str(p)] and stated == [fd1, fd1]
    assert os.pread(fd2, 4, 3) == b"3456"


def test_a_file_written_to_since_it_was_verified_is_refused_and_closed(tmp_path):
    p = tmp_path / "a.parquet"
    p.write_bytes(b"0123456789")
    key = _key(p)
    fd = pages.open_as(str(p), key)
    with open(p, "ab") as f:  # (the same file, more bytes: another stat)
        f.write(b"more")
    with pytest.raises(ValueError, match="was replaced while being read"):
        pages.open_as(str(p), key)
    assert _link(fd) != str(p)  # (closed, not kept)
    assert os.pread(pages.open_as(str(p), _key(p)), 14, 0) == b"0123456789more"  # (its new key: opened again)


def test_a_file_replaced_at_its_path_is_read_as_the_file_verified(tmp_path):
    p, q = tmp_path / "a.parquet", tmp_path / "b.parquet"
    p.write_bytes(b"verified")
    key = _key(p)
    pages.open_as(str(p), key)
    q.write_bytes(b"another file")
    os.replace(q, p)
    assert os.pread(pages.open_as(str(p), key), 8, 0) == b"verified"
    assert os.pread(pages.open_as(str(p), _key(p)), 12, 0) == b"another file"
    fresh = tmp_path / "c.parquet"
    fresh.write_bytes(b"x")
    with pytest.raises(ValueError, match="was replaced while being read"):  # (first opened: not the key's file)
        pages.open_as(str(fresh), key)


def test_at_most_kept_files_stay_open_and_a_threads_close_as_it_ends(tmp_path):
    files = []
    for k in range(pages.KEPT_FILES + 5):
        p = tmp_path / f"{k}.parquet"
        p.write_bytes(b"x" * (k + 1))
        files.append(str(p))
    fds = [pages.open_as(f, _key(f)) for f in files]
    open_now = {f for f in map(_link, fds) if f in files}
    assert open_now == set(files[-pages.KEPT_FILES:])  # (the last ones asked for)

    got = []

    def other():
        got.append(pages.open_as(files[0], _key(files[0])))
        got.append(pages.open_as(files[0], _key(files[0])))

    t = threading.Thread(target=other)
    t.start()
    t.join(timeout=30)
    assert not t.is_alive() and len(got) == 2 and got[0] == got[1]
    assert got[0] not in pages._FDS.kept.values()  # (a thread of its own: its own descriptor)
    gc.collect()
    assert _link(got[0]) != files[0]  # (the thread's storage gone: closed)


def test_a_backtest_whose_file_is_replaced_while_it_reads_says_so(tmp_path, monkeypatch):
    """A day file replaced by another during a window-local backtest: its reads go on with the verified bytes (the
    kept descriptor), and the run ends with the error naming the file, not with trades of a file that changed."""
    from liqcore.backtest.run import backtest_windows, resolve_strategy
    from liqcore.config import Params
    from liqcore.dataset import write_dataset
    from liqcore.synthetic.market import synthetic_market

    m = synthetic_market(days=2, symbols=("BTCUSDT",), seed=5, cache=False, effects={"book": True})
    ds = tmp_path / "ds"
    write_dataset(m.events, ds, m.registry, checked=True)
    day = sorted(ds.rglob("*.parquet"))[0]
    real = pages.open_as
    asked = []

    def open_then_replace(path, key):
        fd = real(path, key)
        asked.append(path)
        if path == str(day) and asked.count(path) == 3:  # (read a few times: another file at its path, the same
            # bytes, so the reads after it find nothing amiss; the run's first reads took the files' stat keys)
            other = tmp_path / "other.parquet"
            other.write_bytes(day.read_bytes())
            os.replace(other, day)
        return fd

    obj, p = resolve_strategy(None, Params.from_mapping({"fill": "queue"}))
    assert backtest_windows(str(ds), p, obj, equity=10_000.0).trades is not None  # (as written: it runs)
    monkeypatch.setattr(pages, "open_as", open_then_replace)
    import liqcore.dataset.checked as ck

    ck._RECENT.clear()  # (the pages the run above decoded: read again)
    ck._recent_bytes[0] = 0
    with pytest.raises(ValueError, match=f"{day} changed while it was read"):
        backtest_windows(str(ds), p, obj, equity=10_000.0)
    assert asked.count(str(day)) > 3  # (read on, with the verified bytes)
