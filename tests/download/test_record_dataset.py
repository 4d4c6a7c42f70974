"""``liqcore record ... --dataset DS``: each hourly file goes into the dataset as it closes (the hour
rotated, or the end of the run), and a run first converts the files of ``--out`` a stopped run left;
the dataset equals converting the same files by hand.  Against the fake exchange on 127.0.0.1."""
from __future__ import annotations

import io
import shutil
import threading
import time
from contextlib import redirect_stderr, redirect_stdout

from liqcore.cli import main
from liqcore.data import SAMPLE_RECORDING
from liqcore.dataset import convert_to_dataset, load_dataset, read_manifest
from liqcore.live.recorder import Recorder
from liqcore.venues.bybit.samples import orderbook_frame

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
    from liqcore.testing import FakeExchangeThread

    out, ds = tmp_path / "rec", tmp_path / "ds"
    out.mkdir()
    left = out / "bybit-20240808T00.jsonl.zst"  # an hour a stopped run left unconverted
    shutil.copyfile(SAMPLE_RECORDING, left)
    ft = FakeExchangeThread()
    fx = ft.start()

    def venue():
        deadline = time.monotonic() + 30
        while fx.connections("public") == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # subscribed
        for i in range(5):
            t = int(time.time() * 1000)
            ft.call(fx.push(orderbook_frame("ETHUSDT", t, 3000.0 + i, 1.5, 3000.5 + i, 2.0, update_id=i + 1)))
            ft.call(fx.trade("ETHUSDT", 3000.2 + i))
            time.sleep(0.05)

    t = threading.Thread(target=venue, daemon=True)
    err = io.StringIO()
    try:
        t.start()
        with redirect_stdout(io.StringIO()), redirect_stderr(err):
            code = main(["record", "--venue", "bybit", "--symbols", "ETHUSDT", "--out", str(out), "--dataset", str(ds),
                         "--ws-url", fx.public_ws_url, "--duration", "2", "--flush", "0.1", "--quiet"])
        t.join(30)
    finally:
        ft.stop()
    assert code == 0, err.getvalue()
    files = sorted(out.glob("*.jsonl.zst"))
    assert len(files) == 2 and left in files
    assert set(read_manifest(ds)) == {str(f.resolve()) for f in files}  # both, each as it was when closed
    assert "2 file(s) converted" in err.getvalue()
    ref = tmp_path / "ref"
    convert_to_dataset(files, ref)
    got, want = load_dataset(ds), load_dataset(ref)
    assert len(got.events) > 4542
    assert got.events.tobytes() == want.events.tobytes()  # bit for bit (a NaN price included)
    assert [tuple(x) for x in got.registry] == [tuple(x) for x in want.registry]
