"""A partition file's footer kept between processes (:mod:`liqcore.dataset.footcache`): a later process takes the
footer scan and the first-passage blocks from the cache instead of reading the footer, and gets the same
:class:`~liqcore.dataset.checked.Footer` and blocks; an entry of another identity (the file written, touched or
replaced), a broken entry, a file changed too recently and ``LIQCORE_VERIFY=always`` read the footer; ``cache
clear`` removes the entries."""
from __future__ import annotations

import os
import shutil

import pytest

from liqcore.dataset import blocks as B
from liqcore.dataset import checked as C
from liqcore.dataset import footcache, ledger
from tests.backtest.test_backtest_default_read import _late_dataset


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache directory of the test's own, the settling time 0 (the test's files were just written)."""
    monkeypatch.setenv("LIQCORE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(ledger.ENV_VAR, raising=False)
    monkeypatch.setattr(ledger, "SETTLED_NS", 0)
    monkeypatch.setattr(footcache, "_budget", [None])
    monkeypatch.delenv("LIQCORE_CACHE_MAX", raising=False)
    _new_process()
    return tmp_path / "cache"


def _new_process():
    """What a new process starts from: no footer read, no blocks decoded."""
    C._FOOTERS.clear()
    B._FP_BLOCKS.clear()


def _files(tmp_path_factory, tmp_path):
    """A copy of an indexed two-day book dataset of the test's own (its files' identities its own)."""
    src = _late_dataset(tmp_path_factory, 5, 3.0, 20.0, 3_000, book=True)
    dst = tmp_path / "ds"
    shutil.copytree(src, dst)
    return sorted(str(p) for p in dst.glob("venue=*/symbol=*/date=*/*.parquet"))


def _scans(monkeypatch) -> list:
    seen = []
    from liqcore.dataset import footer_scan

    real = footer_scan.scan

    def scan(fd, size):
        seen.append(size)
        return real(fd, size)

    monkeypatch.setattr(footer_scan, "scan", scan)
    return seen


def _same(a: C.Footer, b: C.Footer) -> None:
    for name in ("rows", "ev", "rv", "kd", "chunks"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), name
    for name in ("checked", "key", "ev_lo", "ev_hi", "rv_lo", "rv_hi", "meta_len", "asks", "events", "schema"):
        assert getattr(a, name) == getattr(b, name), name
    from liqcore.dataset.fpindex import KEY

    assert {k: v for k, v in a.kv.items() if k != KEY} == {k: v for k, v in b.kv.items() if k != KEY}
    assert [a.fixed[g] for g in range(len(a.rows))] == [b.fixed[g] for g in range(len(b.rows))]
    assert [a.spans[g] for g in range(len(a.rows))] == [b.spans[g] for g in range(len(b.rows))]


def test_a_later_process_takes_the_footer_and_blocks_from_the_cache(tmp_path_factory, tmp_path, cache, monkeypatch):
    files = _files(tmp_path_factory, tmp_path)
    scans = _scans(monkeypatch)
    first = [C.footer(p) for p in files]
    blocks = [B.fp_blocks(p, f) for p, f in zip(files, first)]
    assert len(scans) == len(files) and all(b is not None and len(b) for b in blocks)
    assert all(footcache._entry(p).is_file() for p in files)
    _new_process()
    scans.clear()
    again = [C.footer(p) for p in files]
    assert scans == [], "the footers were read again"
    for p, f, g, b in zip(files, first, again, blocks):
        _same(f, g)
        got = B.fp_blocks(p, g)
        assert got.dtype == b.dtype and got.tobytes() == b.tobytes()
    # the cache's files: counted by cache info, removed by cache clear
    from liqcore.cache import cache_info, clear_cache

    n = len(list(cache.glob(footcache.PATTERN)))
    assert n >= len(files) and cache_info(cache)["files"] >= n
    assert clear_cache(cache)["files"] >= n and not list(cache.glob(footcache.PATTERN))


def test_another_identity_or_a_broken_entry_reads_the_footer(tmp_path_factory, tmp_path, cache, monkeypatch):
    files = _files(tmp_path_factory, tmp_path)
    scans = _scans(monkeypatch)
    ref = [C.footer(p) for p in files]
    assert all(footcache._entry(p).is_file() for p in files)
    # the file touched (its times: another identity): read again, the entry written anew
    st = os.stat(files[0])
    os.utime(files[0], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000))
    _new_process()
    scans.clear()
    f0 = C.footer(files[0])
    assert len(scans) == 1 and f0.key != ref[0].key
    _new_process()
    scans.clear()
    assert C.footer(files[0]).key == f0.key and scans == []  # (the new entry taken)
    # broken entries: truncated, garbage, another file's, of another format: each read again, the same footer
    e1 = footcache._entry(files[1])
    good = e1.read_bytes()
    other = footcache._entry(files[0]).read_bytes()
    for bad in (good[: len(good) // 2], b"not an entry", other, good.replace(b'"format":1', b'"format":9', 1),
                good + b"tail"):
        e1.write_bytes(bad)
        _new_process()
        scans.clear()
        _same(C.footer(files[1]), ref[1])
        assert len(scans) == 1, bad[:40]
    # a file changed within the settling time: no entry written
    monkeypatch.setattr(ledger, "SETTLED_NS", 10**18)
    e2 = footcache._entry(files[1])
    e2.unlink()
    _new_process()
    C.footer(files[1])
    assert not e2.exists()


def test_verify_always_neither_keeps_nor_takes_entries(tmp_path_factory, tmp_path, cache, monkeypatch):
    files = _files(tmp_path_factory, tmp_path)
    scans = _scans(monkeypatch)
    ref = C.footer(files[0])
    assert footcache._entry(files[0]).exists()
    monkeypatch.setenv(ledger.ENV_VAR, "always")
    _new_process()
    scans.clear()
    f = C.footer(files[0])
    assert len(scans) == 1 and f.fp == ()  # (read, its blocks decoded when asked)
    _same(f, ref)
    assert B.fp_blocks(files[0], f).tobytes() == B.fp_blocks(files[0], ref).tobytes()
    C.footer(files[1])
    assert not footcache._entry(files[1]).exists()


def test_a_process_writes_no_more_entries_than_the_cap_leaves_room_for(tmp_path_factory, tmp_path, cache,
                                                                          monkeypatch):
    """The cache's cap bounds the entries a process writes (a read of more files than the cap holds writes the
    first ones, not one for every file): with room for one entry and a half, one of the two files gets one."""
    files = _files(tmp_path_factory, tmp_path)
    C.footer(files[0])
    size = footcache._entry(files[0]).stat().st_size
    from liqcore.cache import cache_info

    held = int(cache_info(cache)["bytes"])
    for p in files:
        footcache._entry(p).unlink(missing_ok=True)
    monkeypatch.setenv("LIQCORE_CACHE_MAX", str(held - size + size * 3 // 2))
    monkeypatch.setattr(footcache, "_budget", [None])
    _new_process()
    for p in files:
        C.footer(p)
    assert [footcache._entry(p).exists() for p in files] == [True, False]
    monkeypatch.setenv("LIQCORE_CACHE_MAX", "unlimited")
    monkeypatch.setattr(footcache, "_budget", [None])
    _new_process()
    for p in files:
        C.footer(p)
    assert all(footcache._entry(p).exists() for p in files)


def _mapped_paths() -> set:
    """The files this process has mapped into memory (Linux's /proc/self/maps)."""
    with open("/proc/self/maps") as fh:
        return {line.split(None, 5)[5].strip() for line in fh if len(line.split(None, 5)) == 6}


def test_an_entry_is_mapped_not_copied_and_keeps_no_descriptor(tmp_path_factory, tmp_path, cache, monkeypatch):
    """A later process maps each entry (no copy of tens of MB into fresh memory) and keeps no descriptor open for
    it; the footer's arrays read the mapping, which outlives the entry's replacement (as a writer renames a new
    one over it) and its removal (``cache clear``); an empty entry is passed over.  The control: the footer read
    afresh (no entry) maps nothing."""
    files = _files(tmp_path_factory, tmp_path)
    ref = [C.footer(p) for p in files]
    entries = [str(footcache._entry(p)) for p in files]
    assert not set(entries) & _mapped_paths()  # (the control: written, not taken: nothing mapped)
    _new_process()
    fds = len(os.listdir("/proc/self/fd"))
    got = [C.footer(p) for p in files]
    assert len(os.listdir("/proc/self/fd")) == fds  # (no descriptor kept per entry)
    assert set(entries) <= _mapped_paths()
    for f, r in zip(got, ref):
        _same(f, r)
        assert not f.chunks.flags.writeable and not f.chunks.flags.owndata
    blocks = B.fp_blocks(files[0], got[0]).copy()
    other = footcache._entry(files[1]).read_bytes()
    tmp = footcache._entry(files[0]).with_name("replacing.tmp")
    tmp.write_bytes(other)
    os.replace(tmp, footcache._entry(files[0]))  # (replaced while mapped: the mapping reads the old bytes)
    _same(got[0], ref[0])
    assert B.fp_blocks(files[0], got[0]).tobytes() == blocks.tobytes()
    from liqcore.cache import clear_cache

    clear_cache(cache)
    _same(got[1], ref[1])
    footcache._entry(files[0]).parent.mkdir(parents=True, exist_ok=True)
    footcache._entry(files[0]).write_bytes(b"")  # (an empty entry: passed over, the footer read)
    scans = _scans(monkeypatch)
    _new_process()
    _same(C.footer(files[0]), ref[0])
    assert len(scans) == 1
