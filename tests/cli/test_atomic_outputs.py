"""Outputs are whole or not there: a SIGKILL at a random moment of a real ``liqcore`` child, or a
full disk (a small real file system), leaves every output either wholly the earlier one or wholly
the new one; a full disk is one line naming the path, exit 1, no traceback."""
from __future__ import annotations

import contextlib
import errno
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from liqcore._atomic import DiskFull, atomic_path, building_dir, is_disk_full, remove_stale, write_bytes
from _session_env import child_env

ROOT = Path(__file__).resolve().parents[2]


# ---- helpers ------------------------------------------------------------------------------------
def _env(tmp: Path) -> dict:
    env = child_env(keep_cache=False)
    env["PYTHONPATH"] = str(ROOT)
    env["LIQCORE_CACHE_DIR"] = str(tmp / "cache")
    env["MPLBACKEND"] = "Agg"
    return env


def _cli(argv, tmp: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "liqcore", *argv], env=_env(tmp), capture_output=True, text=True,
                          timeout=300, **kw)


def _contract_csv(path: Path, n: int, seed: int) -> Path:
    """A contract CSV of ``n`` trade events (two symbols, one day)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    ts = 1_722_470_400_000_000_000 + np.cumsum(rng.integers(1_000_000, 50_000_000, n))
    tab = pa.table({"ts_event_ns": ts, "venue": ["binance"] * n,
                    "symbol": np.where(rng.random(n) < .5, "BTCUSDT", "ETHUSDT").tolist(),
                    "side": np.where(rng.random(n) < .5, "buy", "sell").tolist(),
                    "price": 60000 + rng.normal(0, 50, n), "qty": rng.exponential(0.5, n) + 0.001,
                    "kind": ["trade"] * n, "ts_recv_ns": ts + 5_000_000, "flags": np.zeros(n, np.uint8)})
    pacsv.write_csv(tab, path, pacsv.WriteOptions(quoting_style="none"))
    return path


def _state(d: Path) -> tuple:
    """What is in ``d`` and one level below (names, sizes, mtimes): changes when a writer starts."""
    out = []
    for p in sorted(d.iterdir()):
        with contextlib.suppress(OSError):
            st = p.stat()
            out.append((p.name, st.st_size, st.st_mtime_ns, st.st_ino))
            if p.is_dir():
                out += [(p.name, q.name, q.stat().st_size, q.stat().st_mtime_ns) for q in sorted(p.iterdir())]
    return tuple(out)


def _kill_after_change(argv, tmp: Path, watch: Path, max_delay: float, rng: random.Random) -> None:
    """Start ``liqcore argv``, wait until something in ``watch`` changes (the output or a temporary
    file beside it), then SIGKILL it after a random delay in [0, max_delay] s."""
    before = _state(watch)
    proc = subprocess.Popen([sys.executable, "-m", "liqcore", *argv], env=_env(tmp),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while _state(watch) == before:
            if proc.poll() is not None:
                pytest.fail(f"the child ended (exit {proc.returncode}) before its output changed")
            if time.monotonic() > deadline:
                pytest.fail("the child's output never changed")
            time.sleep(0.001)
        time.sleep(rng.uniform(0.0, max_delay))
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def small_fs(where: Path, size: int):
    """A real file system of ``size`` bytes mounted at ``where`` (a tmpfs; root only); skips with the
    reason where it cannot be mounted."""
    where.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a small file system for the full-disk test")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for the full-disk test ({r.stderr.strip() or 'mount failed'}); "
                    "needs root in a namespace that allows mounts")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _files(d: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.is_file()}


def _one_line_disk_full(r: subprocess.CompletedProcess, path: Path) -> None:
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert "no space left" in lines[0] and str(path) in lines[0], lines[0]


def _no_temporaries(d: Path) -> None:
    left = [p.name for p in d.iterdir() if ".liqcore-tmp-" in p.name]
    assert not left, left


# ---- the helper, in process ---------------------------------------------------------------------
def test_failed_write_leaves_the_earlier_file_and_no_temporary(tmp_path):
    dest = tmp_path / "out.json"
    write_bytes(dest, b'{"old": 1}')
    with pytest.raises(RuntimeError):
        with atomic_path(dest) as tmp:
            tmp.write_bytes(b'{"new": ')  # cut short
            raise RuntimeError("writer failed")
    assert dest.read_bytes() == b'{"old": 1}'
    _no_temporaries(tmp_path)


def test_new_file_gets_the_mode_of_the_file_it_replaces(tmp_path):
    dest = tmp_path / "out.csv"
    dest.write_text("a\n")
    os.chmod(dest, 0o640)
    write_bytes(dest, b"b\n")
    assert dest.read_text() == "b\n" and (dest.stat().st_mode & 0o777) == 0o640


def test_temporaries_of_a_dead_writer_are_removed_by_the_next_write(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # a pid that is no longer running
    dead = child.pid
    stale_file = tmp_path / f".liqcore-tmp-{dead}-0.out.parquet"
    stale_file.write_bytes(b"PAR1 cut short")
    stale_dir = tmp_path / f".rep.liqcore-tmp-{dead}-3"
    stale_dir.mkdir()
    (stale_dir / "equity.png").write_bytes(b"\x89PNG")
    live = tmp_path / f".liqcore-tmp-{os.getpid()}-99.out.parquet"  # a live writer's: kept
    live.write_bytes(b"x")
    write_bytes(tmp_path / "out.parquet", b"whole")
    assert not stale_file.exists() and live.exists()
    assert remove_stale(tmp_path / "rep") == 1 and not stale_dir.exists()


def test_report_directory_is_swapped_whole(tmp_path):
    rep = tmp_path / "rep"
    with building_dir(rep, owned=lambda n: n.endswith((".html", ".png"))) as d:
        (d / "report.html").write_text("old")
        (d / "a.png").write_bytes(b"old-a")
        (d / "stale.png").write_bytes(b"old-s")
    ino = rep.stat().st_ino
    with building_dir(rep, owned=lambda n: n.endswith((".html", ".png"))) as d:
        (d / "report.html").write_text("new")
        (d / "a.png").write_bytes(b"new-a")
    assert _files(rep) == {"report.html": b"new", "a.png": b"new-a"}  # the old figure is gone with the old report
    assert rep.stat().st_ino != ino
    with pytest.raises(OSError):
        with building_dir(rep, owned=lambda n: n.endswith((".html", ".png"))) as d:
            (d / "report.html").write_text("cut")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert _files(rep) == {"report.html": b"new", "a.png": b"new-a"}
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_report_into_a_shared_directory_keeps_the_other_files(tmp_path):
    rep = tmp_path / "res"
    rep.mkdir()
    (rep / "ledger.csv").write_text("keep me")
    (rep / "old.png").write_bytes(b"old")
    with building_dir(rep, owned=lambda n: n.endswith((".html", ".png"))) as d:
        (d / "report.html").write_text("new")
    assert _files(rep) == {"ledger.csv": b"keep me", "report.html": b"new"}


def test_disk_full_is_recognised_and_names_the_destination(tmp_path):
    assert is_disk_full(OSError(errno.ENOSPC, "x")) and is_disk_full(OSError(errno.EDQUOT, "x"))
    assert is_disk_full(OSError("Error writing bytes to file. Detail: [errno 28] No space left on device"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied")) and not is_disk_full(ValueError("x"))
    with pytest.raises(DiskFull) as ei:
        with atomic_path(tmp_path / "x.bin"):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert ei.value.filename == str(tmp_path / "x.bin") and ei.value.errno == errno.ENOSPC


def test_cli_line_names_the_output_only_for_a_full_disk():
    from types import SimpleNamespace

    from liqcore.cli import os_error_line

    args = SimpleNamespace(out=None, dataset="data/ds", journal="j.sqlite")
    line = os_error_line(OSError("Error writing bytes to file. Detail: [errno 28] No space left on device"), args)
    assert line.startswith("no space left on device writing data/ds (the output of --dataset)")
    assert os_error_line(ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), args) == \
        "Connection reset by peer"  # not blamed on the journal
    assert os_error_line(PermissionError(errno.EACCES, "Permission denied", "/ro/x"), args) == "Permission denied: /ro/x"


# ---- SIGKILL of a real child at a random moment ---------------------------------------------------
@pytest.mark.slow
def test_convert_out_killed_at_random_moments_leaves_old_or_new_file_whole(tmp_path):
    src_old = _contract_csv(tmp_path / "old.csv", 1_000, 1)
    src_new = _contract_csv(tmp_path / "new.csv", 300_000, 2)
    outd = tmp_path / "out"
    outd.mkdir()
    out = outd / "events.parquet"
    r = _cli(["convert", str(src_old), "--format", "contract-csv", "--out", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr
    old = out.read_bytes()
    rng = random.Random(20261123)
    seen = set()
    for _ in range(4):
        _kill_after_change(["convert", str(src_new), "--format", "contract-csv", "--out", str(out)],
                           tmp_path, outd, 0.15, rng)
        rows = pq.read_table(out).num_rows  # a cut-short Parquet file raises here
        assert rows in (1_000, 300_000), rows
        if rows == 1_000:
            assert out.read_bytes() == old
        seen.add(rows)
        write_bytes(out, old)  # the next try starts from the old file again
    # a completed run removes what killed ones left behind
    r = _cli(["convert", str(src_new), "--format", "contract-csv", "--out", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr
    assert pq.read_table(out).num_rows == 300_000
    _no_temporaries(outd)


def _report_consistent(rep: Path, old: dict) -> str:
    """'old' or 'new': the report directory is wholly one of them (each figure whole, the page's)."""
    now = _files(rep)
    if now == old:
        return "old"
    html = now.get("report.html", b"").decode()
    assert html.endswith("</body></html>"), "the page is missing or cut short"
    changed = sorted(k for k in now if now[k] != old.get(k))
    assert html != old["report.html"].decode(), f"the old page beside new or cut-short files: {changed}"
    import re

    imgs = set(re.findall(r"<img src='([^']+)'", html))
    assert set(now) == imgs | {"report.html"}, (sorted(now), sorted(imgs))
    for name in imgs:
        assert now[name].endswith(b"IEND\xaeB`\x82"), f"{name} is cut short"
        assert now[name] != old.get(name), f"{name} is the old figure beside a new page"
    return "new"


@pytest.mark.slow
def test_backtest_report_killed_at_random_moments_is_wholly_old_or_new(tmp_path):
    rep = tmp_path / "rep"
    base = ["backtest", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--no-progress", "--report", str(rep)]
    r = _cli(base + ["--seed", "3"], tmp_path)
    assert r.returncode == 0, r.stderr
    old = _files(rep)
    keep = tmp_path / "old-copy"
    shutil.copytree(rep, keep)
    # the second market built once (cached), so the killed runs spend their time on the report
    r = _cli(["backtest", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--no-progress", "--seed", "4"], tmp_path)
    assert r.returncode == 0, r.stderr
    rng = random.Random(7)
    for _ in range(3):
        _kill_after_change(base + ["--seed", "4"], tmp_path, tmp_path, 0.8, rng)
        _report_consistent(rep, old)
        shutil.rmtree(rep)
        shutil.copytree(keep, rep)


# ---- a full disk ---------------------------------------------------------------------------------
def test_convert_out_on_a_full_disk_keeps_the_old_file_one_line(tmp_path):
    src_old = _contract_csv(tmp_path / "old.csv", 1_000, 1)
    src_new = _contract_csv(tmp_path / "new.csv", 200_000, 2)
    with small_fs(tmp_path / "fs", 2 * 1024 * 1024) as fs:
        for name in ("events.parquet", "events.csv"):
            out = fs / name
            r = _cli(["convert", str(src_old), "--format", "contract-csv", "--out", str(out)], tmp_path)
            assert r.returncode == 0, r.stderr
            old = out.read_bytes()
            r = _cli(["convert", str(src_new), "--format", "contract-csv", "--out", str(out)], tmp_path)
            _one_line_disk_full(r, out)
            assert out.read_bytes() == old
            _no_temporaries(fs)


def test_convert_dataset_on_a_full_disk_is_one_line_naming_the_dataset(tmp_path):
    src = _contract_csv(tmp_path / "new.csv", 200_000, 2)
    with small_fs(tmp_path / "fs", 1024 * 1024) as fs:
        r = _cli(["convert", str(src), "--format", "contract-csv", "--dataset", str(fs / "ds")], tmp_path)
        _one_line_disk_full(r, fs / "ds")


def _fill(fs: Path) -> None:
    """Fill the file system ``fs`` to its last block."""
    with contextlib.suppress(OSError):
        with open(fs / "filler", "wb") as fh:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()


def test_backtest_report_on_a_full_disk_keeps_the_whole_old_report(tmp_path):
    rep0 = tmp_path / "rep0"
    base = ["backtest", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--no-progress"]
    r = _cli(base + ["--seed", "3", "--report", str(rep0)], tmp_path)
    assert r.returncode == 0, r.stderr
    old = _files(rep0)
    with small_fs(tmp_path / "fs", 2 * 1024 * 1024) as fs:
        rep = fs / "rep"
        shutil.copytree(rep0, rep)
        _fill(fs)
        r = _cli(base + ["--seed", "4", "--report", str(rep)], tmp_path)
        _one_line_disk_full(r, rep)
        assert _files(rep) == old
        assert sorted(p.name for p in fs.iterdir()) == ["filler", "rep"]  # the half-built one is gone


def test_sweep_out_on_a_full_disk_is_one_line(tmp_path):
    with small_fs(tmp_path / "fs", 64 * 1024) as fs:
        _fill(fs)
        out = fs / "s.csv"
        r = _cli(["sweep", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--no-progress",
                  "--grid", "offset=0.1%,0.2%", "--out", str(out)], tmp_path)
        _one_line_disk_full(r, out)
        assert not out.exists()
        _no_temporaries(fs)


def test_walkforward_out_on_a_full_disk_is_one_line(tmp_path):
    with small_fs(tmp_path / "fs", 64 * 1024) as fs:
        _fill(fs)
        out = fs / "wf"
        r = _cli(["walkforward", "--synthetic", "--days", "4", "--symbols", "ETHUSDT", "--seed", "3", "--no-progress",
                  "--grid", "offset=0.1%,0.2%", "--folds", "2", "--out", str(out)], tmp_path)
        _one_line_disk_full(r, out)


def test_research_report_on_a_full_disk_keeps_the_old_report_and_names_it(tmp_path):
    with small_fs(tmp_path / "fs", 256 * 1024) as fs:
        rep = fs / "rr"
        rep.mkdir()
        old = {"FINDINGS.md": b"# Findings\nold\n", "index.html": b"<html>old</html>", "findings.json": b"{}"}
        for k, v in old.items():
            (rep / k).write_bytes(v)
        _fill(fs)
        r = _cli(["research", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--seed", "3", "--studies", "event",
                  "--no-progress", "--report", str(rep)], tmp_path)
        _one_line_disk_full(r, rep)
        assert ".liqcore-tmp-" not in r.stderr  # the user's path, not the one being built
        assert _files(rep) == old
        assert sorted(p.name for p in fs.iterdir()) == ["filler", "rr"]


def test_rlimit_fsize_in_a_child_is_one_line_and_keeps_the_old_file(tmp_path):
    """Where no file system can be mounted, a file size limit makes writes fail the same way (EFBIG)."""
    src_old = _contract_csv(tmp_path / "old.csv", 1_000, 1)
    src_new = _contract_csv(tmp_path / "new.csv", 200_000, 2)
    out = tmp_path / "events.parquet"
    assert _cli(["convert", str(src_old), "--format", "contract-csv", "--out", str(out)], tmp_path).returncode == 0
    old = out.read_bytes()

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

    r = _cli(["convert", str(src_new), "--format", "contract-csv", "--out", str(out)], tmp_path, preexec_fn=limit)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert str(out) in r.stderr
    assert out.read_bytes() == old
    _no_temporaries(tmp_path)
