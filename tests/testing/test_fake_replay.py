"""Recorder files replayed by the fake exchange: every zstd frame of a file, in order."""
from __future__ import annotations

import orjson
import zstandard

from liqcore.testing.fake_replay import read_recording, trade_frame


def _lines(start, n):
    return b"".join(orjson.dumps({"recv_ns": start + i, "venue": "bybit",
                                  "frame": trade_frame("ETHUSDT", 2500.0 + i, ts_ms=1_700_000_000_000 + i)}) + b"\n"
                    for i in range(n))


def test_two_zstd_frames_replay_both(tmp_path):
    """A recorder restarted within the hour appends a second zstd frame to the same file."""
    path = tmp_path / "bybit-2026-01-01T14.jsonl.zst"
    first, second = _lines(1_000, 3), _lines(2_000, 4)
    path.write_bytes(zstandard.ZstdCompressor().compress(first))
    with open(path, "ab") as fh:  # the restarted process appends its own frame
        fh.write(zstandard.ZstdCompressor().compress(second))
    got = list(read_recording(path))
    assert [t for t, _ in got] == [1_000, 1_001, 1_002, 2_000, 2_001, 2_002, 2_003]
    assert orjson.loads(got[-1][1])["data"][0]["p"] == "2503.0"


def test_streamed_frames_and_a_line_split_across_frames(tmp_path):
    """Frames written by a streaming compressor (flushed per frame), one line cut across two frames."""
    path = tmp_path / "rec.jsonl.zst"
    data = _lines(10, 5)
    cut = len(data) // 2 + 7  # inside a line
    with open(path, "wb") as fh:
        for part in (data[:cut], data[cut:]):
            w = zstandard.ZstdCompressor().stream_writer(fh, closefd=False)
            w.write(part)
            w.flush(zstandard.FLUSH_FRAME)
    stats = {}
    assert [t for t, _ in read_recording(path, stats=stats)] == [10, 11, 12, 13, 14]
    assert stats == {}


def test_directory_of_multi_frame_files_in_name_order(tmp_path):
    for name, start in (("b.jsonl.zst", 300), ("a.jsonl.zst", 100)):
        blob = zstandard.ZstdCompressor().compress(_lines(start, 2)) + \
            zstandard.ZstdCompressor().compress(_lines(start + 50, 2))
        (tmp_path / name).write_bytes(blob)
    assert [t for t, _ in read_recording(tmp_path)] == [100, 101, 150, 151, 300, 301, 350, 351]
