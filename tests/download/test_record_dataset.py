"""``liqcore record ... --dataset DS``: each hourly file goes into the dataset as it closes (the hour
rotated, or the end of the run), and a run first converts the files of ``--out`` a stopped run left;
the dataset equals converting the same files by hand.  Against the fake exchange on 127.0.0.1."""
from __future__ import annotations

import shutil

from liqcore.data import SAMPLE_RECORDING
from liqcore.dataset import convert_to_dataset, load_dataset, read_manifest
from liqcore.live.recorder import Recorder
from tests.live.test_record_book import _record  # the fake exchange's feed, recorded by `liqcore record`

HOUR_NS = 3_600_000_000_000


def test_the_recorder_says_when_each_hourly_file_is_closed_whole(tmp_path):
    closed = []
    rec = Recorder(tmp_path, on_closed=closed.append)
    t0 = 1_723_075_200_000_000_000  # 2024-08-08 00:00 UTC
    rec.write_frame("bybit", b'{"topic":"x"}', t0 + 1)
    rec.write_frame("binance", b'{"e":"x"}', t0 + 2)
    assert closed == []
    rec.write_frame("bybit", b'{"topic":"y"}', t0 + HOUR_NS + 1)  # bybit's hour rotates
    assert closed == [tmp_path / "bybit-20240808T00.jsonl.zst"]
    rec.close()
    assert sorted(closed) == sorted([tmp_path / "bybit-20240808T00.jsonl.zst", tmp_path / "bybit-20240808T01.jsonl.zst",
                                     tmp_path / "binance-20240808T00.jsonl.zst"])


def test_record_into_a_dataset_converts_the_closed_files_and_catches_up_a_stopped_run(tmp_path):
    out, ds = tmp_path / "rec", tmp_path / "ds"
    out.mkdir()
    left = out / "bybit-20240808T00.jsonl.zst"  # an hour a stopped run left unconverted
    shutil.copyfile(SAMPLE_RECORDING, left)
    _record(out, ["--dataset", str(ds)])  # 1.5 s of the fake exchange's trades and top of book
    files = sorted(out.glob("*.jsonl.zst"))
    assert len(files) == 2 and left in files
    assert set(read_manifest(ds)) == {str(f.resolve()) for f in files}  # both, each as it was when closed
    ref = tmp_path / "ref"
    convert_to_dataset(files, ref)
    got, want = load_dataset(ds), load_dataset(ref)
    assert len(got.events) > 4542
    assert got.events.tobytes() == want.events.tobytes()  # bit for bit (a NaN price included)
    assert [tuple(x) for x in got.registry] == [tuple(x) for x in want.registry]


def test_the_feeder_converts_in_order_names_a_file_it_cannot_read_and_skips_one_handed_over_twice(tmp_path):
    from liqcore.download.feeder import DatasetFeeder

    good = tmp_path / "bybit-20240808T00.jsonl.zst"
    shutil.copyfile(SAMPLE_RECORDING, good)
    bad = tmp_path / "bybit-20240808T01.jsonl.zst"
    bad.write_bytes(b"\x28\xb5\x2f\xfd" + b"not a zstd frame at all" * 4)
    said: list[str] = []
    feeder = DatasetFeeder(tmp_path / "ds", warn=said.append)
    for f in (good, bad, good):
        feeder.submit(f)
    assert feeder.close(wait=True, timeout=120)
    assert (feeder.converted, feeder.skipped) == (1, 1) and list(feeder.failed) == [str(bad)]
    assert [line for line in said if str(bad) in line and "was not converted" in line]
    assert feeder.rows_added == len(load_dataset(tmp_path / "ds").events) > 4542
    assert "1 file(s) converted, 1 already in it, 1 not converted (named above)" in feeder.summary()


def test_record_stopped_by_ctrl_c_leaves_its_last_hour_to_the_next_run(tmp_path):
    """Ctrl-C does not wait for an hour's conversion: the file stays in --out, readable, and the next
    ``record --dataset`` converts it first."""
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time
    from pathlib import Path

    from liqcore.testing import FakeExchangeThread

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out, ds = tmp_path / "rec", tmp_path / "ds"
    ft = FakeExchangeThread()
    fx = ft.start()
    stop = threading.Event()

    def venue():  # a trade every 50 ms while the recorder is subscribed
        i = 0
        while not stop.is_set():
            if fx.connections("public"):
                ft.call(fx.trade("ETHUSDT", 3000.0 + (i % 10) * 0.1))
                i += 1
            time.sleep(0.05)

    t = threading.Thread(target=venue, daemon=True)
    t.start()
    cmd = [sys.executable, "-m", "liqcore", "record", "--venue", "bybit", "--symbols", "ETHUSDT", "--out", str(out),
           "--dataset", str(ds), "--ws-url", fx.public_ws_url, "--flush", "0.1", "--quiet", "--no-book"]
    try:
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and p.poll() is None and not any(
                f.stat().st_size > 200 for f in out.glob("*.jsonl.zst")):
            time.sleep(0.05)
        assert p.poll() is None, p.stderr.read()
        p.send_signal(signal.SIGINT)
        _o, err = p.communicate(timeout=60)
        assert "Traceback" not in err, err
        hours = sorted(out.glob("*.jsonl.zst"))  # one, or two when the run straddled an hour
        assert "the files not converted yet are taken by the next record --dataset" in err, err
        r = subprocess.run([*cmd, "--duration", "1"], env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
    finally:
        stop.set()
        t.join(10)
        ft.stop()
    assert hours and {str(h.resolve()) for h in hours} <= set(read_manifest(ds))
    ref = tmp_path / "ref"
    convert_to_dataset(sorted(out.glob("*.jsonl.zst")), ref)
    assert load_dataset(ds).events.tobytes() == load_dataset(ref).events.tobytes()
