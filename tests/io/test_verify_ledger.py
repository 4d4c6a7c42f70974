"""The verification ledger (liqcore.dataset.ledger): a row group an earlier process hashed and found equal to
its mark is not hashed again while the file keeps its whole stat identity (size, modification and change
times, inode, device), and is hashed again -- and caught -- as soon as anything changed it, even a rewrite
in place that sets its modification time back."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from liqcore.dataset import checked as C
from liqcore.dataset import ledger
from liqcore.dataset import load_dataset, write_dataset
from liqcore.dataset import read as io_dataset
from liqcore.dataset.load import load_events
from liqcore.io import save_events
from liqcore.synthetic.market import synthetic_market
from liqcore.types import Kind

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp, seed: int) -> Path:
    """A one-day checked dataset in small row groups (2,000 rows)."""
    m = synthetic_market(days=1, symbols=("ETHUSDT",), seed=seed, cache=False)
    f = save_events(m.events, tmp / "m.parquet", m.registry)
    keep = io_dataset.ROW_GROUP_ROWS
    io_dataset.ROW_GROUP_ROWS = 2_000
    try:
        write_dataset(load_events([f]), tmp / "ds")
    finally:
        io_dataset.ROW_GROUP_ROWS = keep
    return tmp / "ds"


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return _write(tmp_path_factory.mktemp("ledger"), 11)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A cache directory of the test's own, the ledger's process state empty, the settling time 0 (the
    test's files were just written) unless a test asks for it."""
    monkeypatch.setenv("LIQCORE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(ledger.ENV_VAR, raising=False)
    monkeypatch.setattr(ledger, "SETTLED_NS", 0)
    monkeypatch.setattr(ledger, "_state", {"key": None, "files": {}, "dirty": {}, "flushed": 0, "hooked": True})
    _new_process()
    return tmp_path / "cache"


def _new_process():
    """What a new process starts from: no group verified, no footer read, the ledger not read."""
    C._GROUPS_OK.clear()
    C._MARK_IDS.clear()
    ledger._state.update(key=None, files={}, dirty={})


def _counted(monkeypatch) -> list:
    hashed = []
    real = C._sha

    def sha(fd, lo, hi):
        hashed.append((lo, hi))
        return real(fd, lo, hi)

    monkeypatch.setattr(C, "_sha", sha)
    return hashed


def _window(ds):
    (part,) = sorted(ds.glob("venue=*/symbol=*/date=*/*.parquet"))
    ft = C.footer(str(part))
    trades = np.flatnonzero(ft.kd[:, 0] == int(Kind.TRADE))
    g0, g1 = int(trades[2]), int(trades[5])
    return part, dict(start_ns=int(ft.ev[g0, 0]), end_ns=int(ft.ev[g1, 1]), kinds={int(Kind.TRADE)})


def test_groups_hashed_by_an_earlier_process_are_not_hashed_again(ds, cache, monkeypatch):
    part, w = _window(ds)
    hashed = _counted(monkeypatch)
    first = load_dataset(ds, **w)
    assert first.files[str(ds)]["checked"] is True and len(first.events) > 100
    assert len(hashed) >= 3  # the footer and the groups the window decodes
    ledger.flush()
    assert (cache / ledger.FILE_NAME).is_file()
    _new_process()
    hashed.clear()
    again = load_dataset(ds, **w)
    assert again.files[str(ds)]["checked"] is True and np.array_equal(again.events, first.events)
    assert hashed == []
    # a wider read hashes only the groups no process hashed before
    w2 = dict(w, start_ns=w["start_ns"] - 3_600_000_000_000)
    load_dataset(ds, **w2)
    assert 0 < len(hashed)
    before = set(hashed)
    _new_process()
    hashed.clear()
    load_dataset(ds, **w)
    assert hashed == [] and before


def test_a_byte_changed_in_place_with_its_times_set_back_is_hashed_again_and_caught(tmp_path, cache, monkeypatch):
    ds = _write(tmp_path, 12)
    part, w = _window(ds)
    mark = C.read_marks(ds)[part.relative_to(ds).as_posix()]
    ft = C.footer(str(part))
    groups = list(range(len(ft.spans)))
    assert C.verify_groups(str(part), ft, mark, groups)  # every group hashed and recorded
    ledger.flush()
    # one byte of a group changed in place, the size kept and the modification time set back: the footer read
    # and the in-process key (size, mtime, inode) are the same; the change time is not
    st = os.stat(part)
    lo, hi = ft.spans[3]
    with open(part, "r+b") as fh:
        fh.seek((lo + hi) // 2)
        b = fh.read(1)
        fh.seek((lo + hi) // 2)
        fh.write(bytes([b[0] ^ 0xFF]))
    os.utime(part, ns=(st.st_atime_ns, st.st_mtime_ns))
    st2 = os.stat(part)
    assert (st2.st_size, st2.st_mtime_ns, st2.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ino)
    assert st2.st_ctime_ns != st.st_ctime_ns
    _new_process()
    hashed = _counted(monkeypatch)
    assert not C.verify_groups(str(part), C.footer(str(part)), mark, [3])
    assert hashed  # hashed again, not taken from the ledger
    _new_process()
    assert C.verify_groups(str(part), C.footer(str(part)), mark, [0, 1])  # (bytes unchanged there)
    # the read refuses it, as without a ledger: its size and footer are as written, a group's bytes not (damaged)
    from liqcore.dataset.damage import DamagedFile

    with pytest.raises(DamagedFile, match="row group.s. 3 are not the bytes written"):
        load_dataset(ds, **dict(w, start_ns=int(ft.ev[3, 0]), end_ns=int(ft.ev[3, 1])))


def test_a_mark_taken_again_is_checked_again(ds, cache, monkeypatch):
    part, _w = _window(ds)
    mark = C.read_marks(ds)[part.relative_to(ds).as_posix()]
    ft = C.footer(str(part))
    assert C.verify_groups(str(part), ft, mark, [0, 1, 2])
    ledger.flush()
    _new_process()
    hashed = _counted(monkeypatch)
    other = dict(mark, groups=list(mark["groups"][:-1]) + ["0" * 64])  # (another mark of the same footer)
    assert C.verify_groups(str(part), ft, other, [0, 1, 2])
    assert len(hashed) == 4  # the footer and the three groups: the ledger's entry was of the other mark


def test_always_hashes_in_every_process(ds, cache, monkeypatch):
    part, w = _window(ds)
    load_dataset(ds, **w)
    ledger.flush()
    monkeypatch.setenv(ledger.ENV_VAR, "always")
    _new_process()
    hashed = _counted(monkeypatch)
    load_dataset(ds, **w)
    assert len(hashed) >= 3


def test_a_file_changed_less_than_the_settling_time_before_the_hash_is_not_recorded(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(ledger, "SETTLED_NS", 3_600 * 10**9)  # (every file of the test is younger than this)
    ds = _write(tmp_path, 13)
    part, w = _window(ds)
    load_dataset(ds, **w)
    ledger.flush()
    assert not (cache / ledger.FILE_NAME).exists()
    _new_process()
    hashed = _counted(monkeypatch)
    load_dataset(ds, **w)
    assert hashed


def test_a_ledger_that_is_not_one_is_ignored(ds, cache, monkeypatch):
    part, w = _window(ds)
    cache.mkdir(parents=True, exist_ok=True)
    hashed = _counted(monkeypatch)
    for text in (b"not json", b'{"format": 1, "files": []}', b'{"format": 2, "files": {}}',
                 b'{"format": 1, "files": {"' + str(part).encode() + b'": {"id": [1], "mark": "x", "groups": "///"}}}'):
        (cache / ledger.FILE_NAME).write_bytes(text)
        _new_process()
        hashed.clear()
        assert load_dataset(ds, **w).files[str(ds)]["checked"] is True
        assert hashed, text


def test_the_bits_hold_any_set_of_groups():
    for groups in ({-1}, {-1, 0, 7, 8, 9, 550}, set(range(-1, 64)), {1000}):
        assert ledger._groups(ledger._bits(groups)) == groups


_CHILD = r"""
import hashlib, sys
import numpy as np
from liqcore.dataset import checked as C, load_dataset
from liqcore.types import Kind
hashed = []
real = C._sha
C._sha = lambda fd, lo, hi: hashed.append(1) or real(fd, lo, hi)
ds, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = load_dataset(ds, start_ns=a, end_ns=b, kinds={int(Kind.TRADE)})
assert r.files[ds]["checked"] is True
print(len(hashed), hashlib.sha256(r.events.tobytes()).hexdigest())
"""


def test_across_processes(ds, tmp_path):
    part, w = _window(ds)
    deadline = time.monotonic() + 30  # the files settle (no change for the ledger's settling time)
    st = os.stat(part)
    while time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < ledger.SETTLED_NS and time.monotonic() < deadline:
        time.sleep(0.05)
    env = dict(os.environ, LIQCORE_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    env.pop(ledger.ENV_VAR, None)

    def child():
        p = subprocess.run([sys.executable, "-c", _CHILD, str(ds), str(w["start_ns"]), str(w["end_ns"])], env=env,
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-2000:]
        n, digest = p.stdout.split()
        return int(n), digest

    n1, d1 = child()
    n2, d2 = child()
    assert n1 >= 3 and n2 == 0 and d1 == d2
    env[ledger.ENV_VAR] = "always"
    n3, d3 = child()
    assert n3 == n1 and d3 == d1
