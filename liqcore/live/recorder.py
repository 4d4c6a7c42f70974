"""Raw frame recorder: one JSON line per received frame, zstd-compressed, one file per venue and UTC hour.

Line formats (what ``liqcore.load_events`` reads back)::

    {"recv_ns":<int>,"venue":"bybit","frame":<the frame as JSON>}      # a JSON frame, embedded as is
    {"recv_ns":<int>,"venue":"bybit","frame":"<text>"}                 # a frame that is not JSON: a string
    {"recv_ns":<int>,"venue":"bybit","gap":{"reason":"stale"}}         # the feed was lost here
    {"recv_ns":<int>,"venue":"binance","gap":{"reason":"silent","stream":"ethusdt@bookTicker","since_ns":<int>}}
                                     # one stream was silent from since_ns until this line (its siblings flowed)
    {"recv_ns":<int>,"venue":"binance","rest":{"symbol":"BTCUSDT","path":"/fapi/v1/depth","body":{...}}}
                                     # a REST depth snapshot the recorder asked for (``record --depth``)

Files are named ``<venue>-YYYYMMDDTHH.jsonl.zst`` by the UTC hour of ``recv_ns``. The compressor
flushes a block every ``flush_every_s`` seconds or ``flush_every_lines`` lines, so a crash loses at
most the last unflushed block; a truncated file (no end-of-frame) still decodes up to the last flushed
block (:func:`read_lines` shows how).
"""
from __future__ import annotations

import io
import logging
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson
import zstandard

__all__ = ["Recorder", "frame_line", "gap_line", "rest_line", "hour_file_name", "read_lines"]

HOUR_NS = 3600 * 1_000_000_000
log = logging.getLogger("liqcore.recorder")


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


def gap_line(venue: str, reason: str, recv_ns: int, stream: str | None = None, since_ns: int | None = None) -> bytes:
    """A gap line; ``stream`` / ``since_ns``: one silent stream's gap (the rest of the venue flowed), from ``since_ns``."""
    gap: dict = {"reason": str(reason)}
    if stream is not None:
        gap["stream"] = str(stream)
    if since_ns is not None:
        gap["since_ns"] = int(since_ns)
    return orjson.dumps({"recv_ns": int(recv_ns), "venue": venue, "gap": gap}) + b"\n"


def rest_line(venue: str, symbol: str, path: str, body: bytes, recv_ns: int) -> bytes:
    """The record line of a REST answer the recorder asked for (a depth snapshot): ``{"recv_ns", "venue",
    "rest": {"symbol", "path", "body"}}``, the body embedded as the venue sent it (ValueError: not JSON)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ValueError(f"rest: {path} of {symbol} did not answer JSON") from None
    return orjson.dumps({"recv_ns": int(recv_ns), "venue": venue,
                         "rest": {"symbol": str(symbol), "path": str(path), "body": doc}}) + b"\n"


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

    ``on_closed(path)``: called with each file once it is closed whole (the hour rotated, or
    :meth:`close`), e.g. to convert it into a dataset.

    A write that fails (a full disk, a quota, a file size limit) never raises into the caller: the recorder
    logs ONE error naming the file and the cause, cuts each open file back to its last complete block (what
    was recorded before stays readable) and from then counts every line it could not write
    (:attr:`unwritten`, the lines lost with the cut block included) instead of writing it.  Every ``retry_s``
    seconds :meth:`maybe_flush` tries again: once the disk takes writes, the cut file is ended properly and
    recording resumes (in a new zstd frame, as after a restart), with one more log line.  :attr:`error` keeps
    the first failure's text; :attr:`lines` counts the lines written: :attr:`frames` frame lines, :attr:`gaps` gap
    lines (:attr:`gap_reasons`: how many of each reason) and :attr:`rests` REST lines (a line lost with a cut block
    is counted in none of them).
    """

    #: a zstd frame cut at a block boundary is ended by an empty last block (raw, size 0)
    _END_BLOCK = b"\x01\x00\x00"

    def __init__(self, out_dir: str | Path, *, level: int = 3, flush_every_s: float = 1.0,
                 flush_every_lines: int = 5000, retry_s: float = 5.0, on_closed=None):
        self.out_dir = Path(out_dir)
        self._on_closed = on_closed  # called with a file's path once it is closed whole (rotation, close)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.level = level
        self.flush_every_s = flush_every_s
        self.flush_every_lines = flush_every_lines
        self.retry_s = retry_s
        self._files: dict[str, tuple[str, io.BufferedWriter, object]] = {}  # venue -> (name, fh, writer)
        self._pending = 0
        self._pending_v: dict[str, int] = {}  # venue -> lines since its file's last complete block
        self._pending_x: dict[str, list] = {}  # venue -> the gap reasons / REST lines (None) among those lines
        self._good: dict[str, tuple[int, int]] = {}  # venue -> (size at the frame's start, size after its last block)
        self._cut: dict[Path, tuple[int, bool]] = {}  # files cut after a failed write -> (size, a frame to end)
        self._last_flush = time.monotonic()
        self._failed_at: float | None = None  # monotonic time of the last failed write (None: writing)
        self.lines = 0
        self.gaps = 0  # gap lines written
        self.gap_reasons: dict[str, int] = {}  # reason -> gap lines written
        self.rests = 0  # REST lines written
        self.bytes_in = 0
        self.unwritten = 0
        self.error: str | None = None
        self.failures = 0
        self.files: list[Path] = []

    @property
    def failed(self) -> bool:
        """True while writes are failing (lines are counted in :attr:`unwritten`, not written)."""
        return self._failed_at is not None

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
        at = fh.tell()
        self._good[venue] = (at, at)
        if path not in self.files:
            self.files.append(path)
        return w

    def _close_one(self, venue: str) -> None:
        name, fh, w = self._files[venue]
        w.flush(zstandard.FLUSH_FRAME)
        fh.flush()
        os.fsync(fh.fileno())
        del self._files[venue]
        w.close()
        fh.close()
        self._pending_v.pop(venue, None)
        self._pending_x.pop(venue, None)
        self._good.pop(venue, None)
        if self._on_closed is not None:
            self._on_closed(self.out_dir / name)

    def _fail(self, exc: OSError, venue: str | None) -> None:
        """A write failed: cut every open file back to its last complete block, count what is lost, say it
        once."""
        cur = self._files.get(venue) if venue is not None else None
        path = exc.filename or (self.out_dir / cur[0] if cur is not None else self.out_dir)
        lost = 0
        for v, (name, fh, _w) in list(self._files.items()):
            lost += self._pending_v.get(v, 0)
            for reason in self._pending_x.get(v, ()):  # (a gap or REST line in the cut block: not written after all)
                self._uncount(reason, -1)
            start, good = self._good.get(v, (0, 0))
            try:
                os.ftruncate(fh.fileno(), good)
            except OSError:
                pass
            try:
                fh.raw.close()  # the buffered tail is dropped, never flushed
            except OSError:
                pass
            self._cut[self.out_dir / name] = (good, good > start)
        self._files.clear()
        self._pending_v.clear()
        self._pending_x.clear()
        self._good.clear()
        self._pending = 0
        self.lines -= lost
        self.unwritten += lost
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        self.failures += 1
        if self.error is None:
            self.error = f"{path}: {why}"
        if self._failed_at is None:
            log.error("recorder: cannot write %s: %s; %d line%s lost, the lines from now on are counted and not "
                      "written (retry every %gs)", path, why, lost, "" if lost == 1 else "s", self.retry_s,
                      extra={"recorder_error": why, "path": str(path)})
        self._failed_at = time.monotonic()

    def _resume(self, quiet: bool = False) -> bool:
        """After a failure: end the cut files (an empty last block) so what follows is readable; True once the
        disk took it."""
        try:
            for path, (size, end) in list(self._cut.items()):
                os.truncate(path, size)  # (a cut that failed, or a terminator half written by an earlier try)
                if end:
                    with open(path, "ab") as fh:
                        fh.write(self._END_BLOCK)
                        fh.flush()
                        os.fsync(fh.fileno())
                del self._cut[path]
        except OSError:
            self._failed_at = time.monotonic()
            return False
        self._failed_at = None
        if not quiet:
            log.warning("recorder: writing again to %s (%d lines not written so far)", self.out_dir, self.unwritten)
        return True

    def _write(self, venue: str, line: bytes, recv_ns: int) -> bool:
        """One line into ``venue``'s file of the hour of ``recv_ns``; False when it was not written (writes
        failing: counted in ``unwritten``)."""
        if self._failed_at is not None:
            self.unwritten += 1
            return False
        self.lines += 1
        self._pending_v[venue] = self._pending_v.get(venue, 0) + 1
        try:
            self._writer(venue, recv_ns).write(line)
        except OSError as exc:
            self._fail(exc, venue)
            return False
        return True

    @property
    def frames(self) -> int:
        """Frame lines written (the lines that are neither gaps nor REST answers)."""
        return self.lines - self.gaps - self.rests

    def _uncount(self, reason, n: int) -> None:
        """Count (``n`` 1) or take back (-1) one gap line of ``reason`` (None: a REST line)."""
        if reason is None:
            self.rests += n
            return
        self.gaps += n
        left = self.gap_reasons.get(reason, 0) + n
        if left:
            self.gap_reasons[reason] = left
        else:
            self.gap_reasons.pop(reason, None)

    def _written(self, venue: str, reason) -> None:
        """A gap (``reason``) or REST (None) line went into ``venue``'s file: counted, until a cut takes it back."""
        self._uncount(reason, 1)
        self._pending_x.setdefault(venue, []).append(reason)

    def write_frame(self, venue: str, payload: bytes, recv_ns: int) -> None:
        if self._failed_at is not None:
            self.unwritten += 1
            return
        if not self._write(venue, frame_line(venue, payload, recv_ns), recv_ns):
            return
        self.bytes_in += len(payload)
        self._pending += 1
        if self._pending >= self.flush_every_lines:
            self.flush()

    def write_rest(self, venue: str, symbol: str, path: str, body: bytes, recv_ns: int) -> None:
        """A REST answer the recorder asked for (:func:`rest_line`), flushed at once."""
        if self._write(venue, rest_line(venue, symbol, path, body, recv_ns), recv_ns):
            self._written(venue, None)
            self.flush()

    def write_gap(self, venue: str, reason: str, recv_ns: int, stream: str | None = None,
                  since_ns: int | None = None) -> None:
        if self._write(venue, gap_line(venue, reason, recv_ns, stream, since_ns), recv_ns):
            self._written(venue, str(reason))
            self.flush()

    def maybe_flush(self) -> None:
        """Flush when due; while writes fail, try again every ``retry_s``."""
        if self._failed_at is not None:
            if time.monotonic() - self._failed_at >= self.retry_s:
                self._resume()
            return
        if self._pending and time.monotonic() - self._last_flush >= self.flush_every_s:
            self.flush()

    def flush(self) -> None:
        if self._failed_at is not None:
            return
        for venue, (_, fh, w) in list(self._files.items()):
            try:
                w.flush(zstandard.FLUSH_BLOCK)
                fh.flush()
            except OSError as exc:
                self._fail(exc, venue)
                return
            start = self._good[venue][0]
            self._good[venue] = (start, fh.tell())
            self._pending_v[venue] = 0
            self._pending_x.pop(venue, None)
        self._pending = 0
        self._last_flush = time.monotonic()

    def close(self) -> None:
        for venue in list(self._files):
            try:
                self._close_one(venue)
            except OSError as exc:
                self._fail(exc, venue)
                break
        if self._cut:  # end the files a failure cut, if the disk takes it now
            self._resume(quiet=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
