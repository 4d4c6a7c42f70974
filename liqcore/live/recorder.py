"""Raw frame recorder: one JSON line per received frame, zstd-compressed, one file per venue and UTC hour.

Line formats (what ``liqcore.io.load_events`` reads back)::

    {"recv_ns":<int>,"venue":"bybit","frame":<the frame as JSON>}      # a JSON frame, embedded as is
    {"recv_ns":<int>,"venue":"bybit","frame":"<text>"}                 # a frame that is not JSON: a string
    {"recv_ns":<int>,"venue":"bybit","gap":{"reason":"stale"}}         # the feed was lost here

Files are named ``<venue>-YYYYMMDDTHH.jsonl.zst`` by the UTC hour of ``recv_ns``. The compressor
flushes a block every ``flush_every_s`` seconds or ``flush_every_lines`` lines, so a crash loses at
most the last unflushed block; a truncated file (no end-of-frame) still decodes up to the last flushed
block (:func:`read_lines` shows how).
"""
from __future__ import annotations

import io
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson
import zstandard

__all__ = ["Recorder", "frame_line", "gap_line", "hour_file_name", "read_lines"]

HOUR_NS = 3600 * 1_000_000_000


def frame_line(venue: str, payload: bytes, recv_ns: int) -> bytes:
    """The record line for one frame (JSON frames are embedded verbatim, after a validity check)."""
    head = b'{"recv_ns":%d,"venue":"%s",' % (int(recv_ns), venue.encode())
    try:
        orjson.loads(payload)
        if b"\n" in payload or b"\r" in payload:
            payload = orjson.dumps(orjson.loads(payload))
        return head + b'"frame":' + payload + b"}\n"
    except orjson.JSONDecodeError:
        text = payload.decode("utf-8", "replace") if isinstance(payload, (bytes, bytearray, memoryview)) else str(payload)
        return head + b'"frame":' + orjson.dumps(text) + b"}\n"


def gap_line(venue: str, reason: str, recv_ns: int) -> bytes:
    return orjson.dumps({"recv_ns": int(recv_ns), "venue": venue, "gap": {"reason": str(reason)}}) + b"\n"


def hour_file_name(venue: str, recv_ns: int) -> str:
    """``<venue>-YYYYMMDDTHH.jsonl.zst``; a venue that cannot name a file (a path, a separator) is a
    ValueError: nothing is ever written outside the recording directory."""
    from liqcore.validate import safe_name

    safe_name(venue, "venue")
    t = datetime.fromtimestamp(recv_ns // 1_000_000_000, tz=timezone.utc)
    return f"{venue}-{t:%Y%m%dT%H}.jsonl.zst"


def read_lines(path: str | Path):
    """Yield the lines of a recording, including a file cut short by a crash (up to its last block)."""
    with open(path, "rb") as fh:
        reader = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)
        buf = b""
        try:
            while True:
                chunk = reader.read(1 << 16)
                if not chunk:
                    break
                buf += chunk
                *lines, buf = buf.split(b"\n")
                yield from (ln for ln in lines if ln)
        except zstandard.ZstdError:
            pass  # truncated tail: everything before it was yielded
        if buf:
            yield buf


class Recorder:
    """Writes frame and gap lines to hourly zstd files under ``out_dir``.

    ``write_frame(venue, payload, recv_ns)`` and ``write_gap(venue, reason, recv_ns)`` are cheap
    (a buffered compressor write); ``maybe_flush()`` / ``flush()`` push a zstd block to the OS.
    """

    def __init__(self, out_dir: str | Path, *, level: int = 3, flush_every_s: float = 1.0,
                 flush_every_lines: int = 5000):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.level = level
        self.flush_every_s = flush_every_s
        self.flush_every_lines = flush_every_lines
        self._files: dict[str, tuple[str, io.BufferedWriter, object]] = {}  # venue -> (name, fh, writer)
        self._pending = 0
        self._last_flush = time.monotonic()
        self.lines = 0
        self.gaps = 0
        self.bytes_in = 0
        self.files: list[Path] = []

    def _writer(self, venue: str, recv_ns: int):
        name = hour_file_name(venue, recv_ns)
        cur = self._files.get(venue)
        if cur is not None and cur[0] == name:
            return cur[2]
        if cur is not None:
            self._close_one(venue)
        path = self.out_dir / name
        fh = open(path, "ab")  # a restart within the hour appends a new zstd frame
        w = zstandard.ZstdCompressor(level=self.level).stream_writer(fh, closefd=False)
        self._files[venue] = (name, fh, w)
        if path not in self.files:
            self.files.append(path)
        return w

    def _close_one(self, venue: str) -> None:
        name, fh, w = self._files.pop(venue)
        w.flush(zstandard.FLUSH_FRAME)
        w.close()
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()

    def write_frame(self, venue: str, payload: bytes, recv_ns: int) -> None:
        line = frame_line(venue, payload, recv_ns)
        self._writer(venue, recv_ns).write(line)
        self.lines += 1
        self.bytes_in += len(payload)
        self._pending += 1
        if self._pending >= self.flush_every_lines:
            self.flush()

    def write_gap(self, venue: str, reason: str, recv_ns: int) -> None:
        self._writer(venue, recv_ns).write(gap_line(venue, reason, recv_ns))
        self.gaps += 1
        self.flush()

    def maybe_flush(self) -> None:
        if self._pending and time.monotonic() - self._last_flush >= self.flush_every_s:
            self.flush()

    def flush(self) -> None:
        for _, fh, w in self._files.values():
            w.flush(zstandard.FLUSH_BLOCK)
            fh.flush()
        self._pending = 0
        self._last_flush = time.monotonic()

    def close(self) -> None:
        for venue in list(self._files):
            self._close_one(venue)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
