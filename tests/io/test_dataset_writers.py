"""A dataset under faults, for real: filtered converts, two converting processes at once, a writer
SIGKILLed inside a partition write."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _procs import Stopwatch, wait_exit

from liqcore.synthetic.market import synthetic_market
from liqcore.cli import main
from liqcore.dataset.write import LOCK
from liqcore.dataset.read import MANIFEST
from liqcore.dataset import dataset_lock, load_dataset
from liqcore.io import save_events
from liqcore.dataset.load import load_events
from _session_env import child_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def market():
    return synthetic_market(days=1, symbols=("ETHUSDT", "SOLUSDT"), seed=5)


def _env():
    env = child_env()
    env["PYTHONPATH"] = str(ROOT)
    return env


def _convert(paths, ds, *extra):
    return [sys.executable, "-m", "liqcore", "convert", *map(str, paths), "--dataset", str(ds), *extra]


def test_filtered_convert_does_not_hide_the_rest_from_a_later_full_convert(tmp_path, market, capsys):
    f = tmp_path / "all.parquet"
    save_events(market.events, f, registry=market.registry)
    n_all = len(market.events)
    eth = [sid for sid, _v, s in market.registry if s == "ETHUSDT"]
    n_eth = int(np.isin(market.events["symbol_id"], eth).sum())
    ds = tmp_path / "ds"
    assert main(["convert", str(f), "--dataset", str(ds), "--symbol", "ETHUSDT"]) == 0
    first = len(load_dataset(ds).events)
    assert 0 < first == n_eth < n_all
    # the same filter again: already taken
    assert main(["convert", str(f), "--dataset", str(ds), "--symbol", "ETHUSDT"]) == 0
    assert "skipped 1 already converted" in capsys.readouterr().err
    # another filter (a kind) takes its part; the full convert then takes everything that is left
    assert main(["convert", str(f), "--dataset", str(ds), "--kind", "liquidation"]) == 0
    assert main(["convert", str(f), "--dataset", str(ds)]) == 0
    err = capsys.readouterr().err
    assert any("skipped 0 already converted" in line for line in err.splitlines()[-3:])
    assert len(load_dataset(ds).events) == n_all
    # now the whole file is in: full and filtered converts alike skip it
    for extra in ([], ["--symbol", "SOLUSDT"], ["--kind", "trade"]):
        assert main(["convert", str(f), "--dataset", str(ds), *extra]) == 0
        assert "converted 0 file(s), skipped 1 already converted" in capsys.readouterr().err
    manifest = json.loads((ds / MANIFEST).read_text())
    assert list(manifest.values()) == [{"size": f.stat().st_size, "mtime_ns": f.stat().st_mtime_ns}]


def _chunks(market, tmp_path, n):
    """n files whose rows all fall in the same few partitions (interleaved rows)."""
    ev = market.events
    files = []
    for i in range(n):
        p = tmp_path / f"chunk{i:02d}.parquet"
        save_events(ev[i::n], p, registry=market.registry)
        files.append(p)
    return files


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_two_processes_converting_into_one_dataset_lose_no_rows(tmp_path, market):
    """Two real `convert --dataset` processes, started together, each rewriting the same partitions
    file after file: every row arrives and the manifest lists every file (a few tries)."""
    files = _chunks(market, tmp_path, 24)
    n_all = len(market.events)
    for attempt in range(2):
        ds = tmp_path / f"ds{attempt}"
        procs = [subprocess.Popen(_convert(half, ds), env=_env(), cwd=tmp_path, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for half in (files[0::2], files[1::2])]
        outs = [p.communicate(timeout=100) for p in procs]
        for p, (_out, err) in zip(procs, outs):
            assert p.returncode == 0, err[-2000:]
        got = len(load_dataset(ds).events)
        assert got == n_all, f"try {attempt + 1}: {n_all - got:,} of {n_all:,} rows lost"
        assert len(json.loads((ds / MANIFEST).read_text())) == len(files)


@pytest.mark.timeout(60)
def test_a_second_writer_fails_or_waits_naming_the_holder(tmp_path, market):
    f = tmp_path / "all.parquet"
    save_events(market.events, f, registry=market.registry)
    ds = tmp_path / "ds"
    # the holder keeps the lock until told to let go (a line on its stdin): no race with a slow start on a busy machine
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from liqcore.dataset import dataset_lock\n"
         "with dataset_lock(sys.argv[1]):\n    print('locked', flush=True); sys.stdin.readline()",
         str(ds)], env=_env(), cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert (ds / LOCK).read_text().split() == [str(holder.pid)]
        # not waiting: fails at once, one line naming the holder's pid, nothing written
        r = subprocess.run(_convert([f], ds, "--lock-wait", "0"), env=_env(), cwd=tmp_path, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 2, r.stderr
        assert f"pid {holder.pid}" in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
        assert not (ds / MANIFEST).exists() and not list(ds.glob("venue=*"))
        # waiting: says so, then converts once the holder is gone
        waiter = subprocess.Popen(_convert([f], ds, "--lock-wait", "120s"), env=_env(), cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = waiter.stderr.readline()  # (blocks until the waiter says it waits: a bound, the test's timeout)
        assert f"being written by pid {holder.pid}: waiting" in first, first
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.wait(timeout=60) == 0
        _out, rest = waiter.communicate(timeout=120)
        assert waiter.returncode == 0, first + rest
    finally:
        holder.kill()
        holder.wait()
    assert len(load_dataset(ds).events) == len(market.events)
    # the lock is re-entrant in one thread and free again afterwards
    with dataset_lock(ds, wait=0):
        with dataset_lock(ds, wait=0):
            pass
    with dataset_lock(ds, wait=0):
        pass


@pytest.mark.timeout(120)
def test_a_completed_run_removes_the_temporary_files_of_a_sigkilled_writer(tmp_path):
    """A real child converting a large file is SIGKILLed while a partition's temporary file exists;
    the next completed convert removes it (a live writer's temporary file stays)."""
    big = synthetic_market(days=4, symbols=("ETHUSDT",), seed=3)
    f = tmp_path / "big.parquet"
    save_events(big.events, f, registry=big.registry)
    ds = tmp_path / "ds"
    left = []
    for _ in range(6):
        child = subprocess.Popen(_convert([f], ds, "--force"), env=_env(), cwd=tmp_path,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while child.poll() is None and time.monotonic() < deadline:
            left = [p for p in ds.rglob(".part-*.tmp*")] if ds.is_dir() else []
            if left:
                os.kill(child.pid, signal.SIGKILL)
                break
            time.sleep(0.0005)
        child.wait()
        left = [p for p in ds.rglob(".part-*.tmp*")] if ds.is_dir() else []
        if child.returncode == -signal.SIGKILL and left:
            break
    assert left, "could not kill the writer inside a partition write in 6 tries"
    assert all(p.name.endswith(f".tmp{child.pid}") for p in left)
    # a temporary file of a writer that is still running is not touched
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = left[0].parent / f".part-0.parquet.tmp{sleeper.pid}"
        live.write_bytes(b"PAR1")
        small = tmp_path / "small.parquet"
        save_events(big.events[:100], small, registry=big.registry)
        r = subprocess.run(_convert([small], ds), env=_env(), cwd=tmp_path, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        assert f"removed {len(left)} temporary file(s) left by interrupted writers" in r.stderr
        assert not any(p.exists() for p in left)
        assert live.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    # the dataset itself is whole: a full convert gives every row
    assert main(["convert", str(f), "--dataset", str(ds), "--force"]) == 0
    assert len(load_dataset(ds).events) == len(load_events(f).events)


def test_ctrl_c_stops_a_many_file_convert_within_a_second_and_keeps_what_it_wrote(tmp_path):
    """The next file is read in a thread while this one is written: Ctrl-C still stops the convert within a
    second, says "interrupted", leaves the files converted so far in the manifest, and the next run converts
    the rest to the dataset one uninterrupted run gives."""
    day = 86_400_000_000_000
    n_days = 24  # (a day converts in about 0.1 s: under load the Ctrl-C lands up to a second of files after the
    # first, twelve of them in CI at load 3: the rest must outlast the 1.5-s stop bound for the test to tell)
    m = synthetic_market(days=n_days, symbols=("ETHUSDT",), seed=12)
    t0 = int(m.events["ts_event"].min()) // day * day
    files = []
    for d in range(n_days):
        ev = m.events[(m.events["ts_event"] >= t0 + d * day) & (m.events["ts_event"] < t0 + (d + 1) * day)]
        files.append(save_events(ev, tmp_path / f"day{d}.csv", registry=m.registry))  # CSV: slower to read
    ds = tmp_path / "ds"
    child = subprocess.Popen(_convert(files, ds), env=_env(), cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while child.poll() is None and time.monotonic() < deadline and not (ds / MANIFEST).exists():
        time.sleep(0.005)
    assert child.poll() is None, "the convert ended before its first file was recorded"
    watch = Stopwatch(child.pid)  # (less the time it waited for a CPU that other processes held: any load)
    child.send_signal(signal.SIGINT)
    wait_exit(child, watch, 30, "the convert after Ctrl-C")
    err = child.stderr.read()
    child.stdout.read()
    child.stdout.close()
    child.stderr.close()
    assert child.returncode != 0 and "interrupted" in err.lower(), (child.returncode, err)
    assert watch.unloaded < 1.5, f"stopped {watch.unloaded:.2f} s after Ctrl-C ({watch})"
    done = json.loads((ds / MANIFEST).read_text())
    assert 1 <= len(done) < n_days
    r = subprocess.run(_convert(files, ds), env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"skipped {len(done)} already converted" in r.stderr
    whole = tmp_path / "whole"
    r = subprocess.run(_convert(files, whole), env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert np.array_equal(load_dataset(ds).events, load_dataset(whole).events)


@pytest.mark.parametrize("bad,got", [(np.zeros(3), "an array of dtype float64"), (None, "NoneType"),
                                     ([1, 2], "list")])
def test_write_dataset_refuses_what_is_no_event_array_in_one_line_and_makes_no_folder(tmp_path, bad, got):
    from liqcore.dataset import write_dataset
    from liqcore.types import SymbolRegistry

    out = tmp_path / "ds"
    with pytest.raises(ValueError, match=rf"^events: expected a LoadResult or an EVENT_DTYPE array; got {got}$"):
        write_dataset(bad, out, SymbolRegistry())
    assert not out.exists()
