"""Replay sources for the fake exchange: iterables of ``(recv_ns, frame_bytes)``.

* :func:`read_recording` reads recorder files (one JSON object a line:
  ``{"recv_ns": ..., "venue": "bybit", "frame": {...}}``; ``.zst`` files are decompressed on the fly,
  every zstd frame of a file in turn (a restarted recorder appends one);
  ``frame`` may also be the raw frame text).  Lines of other venues are skipped; malformed lines are
  counted by reason in the ``stats`` dict passed in (or raise with file and line when ``strict``).
* :func:`synthetic_frames` turns ``liqcore.synthetic.market.synthetic_market(...)`` output into the
  same shape (``.frames("bybit")``).
* :func:`trade_frame` / :func:`liquidation_frame` build single Bybit v5 public frames for tests.
* :class:`ReplayClock` carries each replayed frame's recorded receive time to the engine that receives
  it (``source = clock.wrap(source)`` for the fake exchange, ``engine.replay_clock = clock``), so paper
  trading a replay runs on the recording's clock at any speed, as a backtest of it does.
* :class:`Lockstep` holds the fake venue's replay until the engine has handled each frame and everything it
  caused (orders, their answers, the venue's private pushes): ``run --replay ... --live`` gives the same orders
  and fills at any machine load, as the fills then never depend on how far the replay ran ahead of the engine.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Iterable, Iterator

import orjson
from liqcore.types import DEFAULT_VENUE

__all__ = ["read_recording", "synthetic_frames", "trade_frame", "liquidation_frame", "frames_from_objects",
           "ReplayClock", "Lockstep"]


def read_recording(paths: str | os.PathLike | Iterable[str | os.PathLike], venue: str = DEFAULT_VENUE, *,
                   strict: bool = False, stats: dict | None = None, warn=None) -> Iterator[tuple[int, bytes]]:
    """Yield ``(recv_ns, frame_bytes)`` of ``venue`` from recorder files (in the given order; a directory
    is read in sorted file-name order; ``.zst`` and ``.gz`` are decompressed).  A compressed file cut
    short (or corrupt part-way) yields its lines up to the damage, counts ``truncated_file`` in
    ``stats`` and calls ``warn`` (default: stderr) with a line naming the file and how much was read (a gzip
    member that fails its check: up to the member, or, where some of its lines went out before the check
    failed, said so).
    A line whose receive time is implausible (a clock reading outside 2017 .. 2100, or a stray
    more than a day from the lines around it, which agree) is skipped and counted in
    ``stats["implausible_time"]``: one bad stamp never moves a replay's clock."""
    st = stats if stats is not None else {}
    return _plausible_recv(_read_recording(paths, venue, strict=strict, stats=st, warn=warn), st)


def _plausible_recv(items: Iterator[tuple[int, bytes]], st: dict) -> Iterator[tuple[int, bytes]]:
    from liqcore.validate import CLOCK_MIN_NS, FILE_TIME_MAX_NS, MAX_TIME_JUMP_NS, TIME_MIN_NS

    hi = FILE_TIME_MAX_NS  # a recording: the same frames whatever the day it is replayed
    jump = MAX_TIME_JUMP_NS
    prev = None  # the last receive time yielded
    pending = None  # a line far from prev, waiting for the next one to tell a stray from a jump

    def bad(t):
        return t >= CLOCK_MIN_NS and not TIME_MIN_NS <= t <= hi

    for item in items:
        t = item[0]
        if bad(t):
            st["implausible_time"] = st.get("implausible_time", 0) + 1
            continue
        if pending is not None:
            p = pending
            pending = None
            if abs(t - p[0]) > jump and abs(t - prev) <= jump:  # p was a stray between two that agree
                st["implausible_time"] = st.get("implausible_time", 0) + 1
            else:
                prev = p[0]
                yield p
        if prev is not None and t >= CLOCK_MIN_NS and abs(t - prev) > jump:
            pending = item
            continue
        if t >= CLOCK_MIN_NS:
            prev = t
        yield item
    if pending is not None:
        yield pending


def _read_recording(paths, venue: str, *, strict: bool, stats: dict, warn=None) -> Iterator[tuple[int, bytes]]:
    from liqcore.io import Blocks, warn_stderr

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files.extend(sorted(x for x in p.iterdir() if x.is_file() and (x.suffix in (".zst", ".gz", ".jsonl", ".json", ".ndjson"))))
        else:
            files.append(p)
    st = stats
    for path in files:
        blocks = Blocks(path)
        lineno = 0
        for block in _until_damaged(blocks):
            for line in block.splitlines():
                lineno += 1
                line = line.strip()
                if not line:
                    continue
                obj = None
                try:
                    obj = orjson.loads(line)
                    if not isinstance(obj, dict):
                        raise ValueError("not an object")
                    if obj.get("venue", venue) != venue:
                        st["other_venue"] = st.get("other_venue", 0) + 1
                        continue
                    recv_ns = int(obj["recv_ns"])
                    if "rest" in obj and "frame" not in obj:  # a REST snapshot the recorder asked for: no frame
                        st["rest_lines"] = st.get("rest_lines", 0) + 1
                        continue
                    frame = obj["frame"]
                except (orjson.JSONDecodeError, ValueError, KeyError, TypeError) as exc:
                    if strict:
                        raise ValueError(f"{path}:{lineno}: malformed recording line ({exc})") from None
                    # a venue's own frame (no recorder wrapper): valid, but it carries no receive time
                    why = "raw_frame" if isinstance(obj, dict) and "recv_ns" not in obj and "frame" not in obj else "malformed"
                    st[why] = st.get(why, 0) + 1
                    continue
                if isinstance(frame, str):
                    yield recv_ns, frame.encode()
                else:
                    yield recv_ns, orjson.dumps(frame)
        if blocks.truncated:
            st["truncated_file"] = st.get("truncated_file", 0) + 1
            (warn or warn_stderr)(blocks.truncation_note())


def _until_damaged(blocks):
    """The blocks, up to a damaged gzip member or zstd frame found after some of its lines went out (they cannot be
    taken back from a stream): the file then marked cut short there, the note saying so."""
    from liqcore.venues.files import DamagedMember

    try:
        yield from blocks
    except DamagedMember as exc:
        blocks.truncated, blocks.error = True, exc.what(dropped=False)


def frames_from_objects(items: Iterable[tuple[int, object]]) -> Iterator[tuple[int, bytes]]:
    """Normalise ``(recv_ns, frame)`` pairs where frame is a dict, str or bytes."""
    for recv_ns, frame in items:
        if isinstance(frame, (bytes, bytearray, memoryview)):
            yield int(recv_ns), bytes(frame)
        elif isinstance(frame, str):
            yield int(recv_ns), frame.encode()
        else:
            yield int(recv_ns), orjson.dumps(frame)


def synthetic_frames(market, venue: str = DEFAULT_VENUE) -> Iterator[tuple[int, bytes]]:
    """Frames of a synthetic market (an object with ``.frames(venue)``) as ``(recv_ns, bytes)``."""
    return frames_from_objects(market.frames(venue))


def _ms(ts_ms: int | None) -> int:
    return time.time_ns() // 1_000_000 if ts_ms is None else int(ts_ms)


def trade_frame(symbol: str, price: float | str, qty: float | str = 1.0, side: str = "Sell", ts_ms: int | None = None,
                trade_id: str = "t") -> dict:
    """A Bybit ``publicTrade.{symbol}`` frame with one trade (``side`` is the taker side): the default venue's
    ``samples.trade_obj``."""
    from liqcore.venues.registry import venue_spec

    return venue_spec(DEFAULT_VENUE).part("samples").trade_obj(symbol, price, qty, side, ts_ms=_ms(ts_ms),
                                                               trade_id=trade_id)


def liquidation_frame(symbol: str, price: float | str, qty: float | str, side: str = "Buy", ts_ms: int | None = None) -> dict:
    """A Bybit ``allLiquidation.{symbol}`` frame (``side`` Buy = a LONG was liquidated)."""
    t = _ms(ts_ms)
    return {"topic": f"allLiquidation.{symbol}", "type": "snapshot", "ts": t,
            "data": [{"T": t, "s": symbol, "S": side, "v": str(qty), "p": str(price)}]}


class ReplayClock:
    """The recorded receive times of replayed frames, handed to the engine that receives them.

    :meth:`wrap` passes a replay source through (to the fake exchange, possibly in another thread) and
    notes each frame's bytes with its recorded ``recv_ns`` before the fake sends it; the engine's
    ``on_frame`` calls :meth:`stamp` with the bytes it received and gets that ``recv_ns`` back (identical
    frames are matched first in, first out).  :attr:`now_ns` is the latest replayed receive time handed
    out: the engine's clock during a replay.  ``topics``: only frames of these topics are noted (the ones
    the engine subscribes to; others are never delivered).  A frame that was not replayed (a control
    frame) gets :attr:`now_ns`, or before the first replayed frame :attr:`start_ns` (the replay's first
    receive time, known once :meth:`wrap` is called): nothing a replay keeps is stamped with the wall clock.
    :meth:`time_ns` is the replay's clock for everything else (journal rows, feed coverage, gaps)."""

    def __init__(self, topics=None):
        self.topics = None if topics is None else {t.encode() if isinstance(t, str) else bytes(t) for t in topics}
        self._pending: dict[bytes, deque] = {}
        self._lock = threading.Lock()
        self.now_ns = 0
        #: the receive time of the replay's first frame (0 until :meth:`wrap` has seen it)
        self.start_ns = 0
        #: the receive time of the latest frame :meth:`wrap` handed to the fake venue
        self.sent_ns = 0
        #: whether the latest frame handed out was noted (one the engine receives)
        self.last_noted = False
        self.noted = 0
        self.matched = 0
        self.unmatched = 0
        #: a :class:`Lockstep` the engine tells each replayed frame it has handled (None: the replay runs free)
        self.step = None
        #: the wall clock minus the replayed receive time when the engine took the latest frame (:meth:`local_ns`)
        self.wall_offset_ns = 0

    @staticmethod
    def _topic(data: bytes) -> bytes | None:
        i = data.find(b'"topic":"', 0, 64)
        if i < 0:
            return None
        j = data.find(b'"', i + 9)
        return data[i + 9:j] if j > 0 else None

    def time_ns(self) -> int:
        """The replay's clock: the latest replayed receive time handed out, :attr:`start_ns` before the
        first, 0 when nothing is known (an empty replay)."""
        return self.now_ns or self.start_ns

    def wrap(self, source: Iterable[tuple[int, object]]) -> Iterator[tuple[int, bytes]]:
        """``source`` passed through, each frame noted; the first frame is read at once (it sets
        :attr:`start_ns`, the replay's clock before anything was delivered)."""
        it = iter(source)
        for first in it:
            self.start_ns = int(first[0])
            return self._wrap(itertools.chain((first,), it))
        return iter(())

    def _wrap(self, source: Iterable[tuple[int, object]]) -> Iterator[tuple[int, bytes]]:
        for recv_ns, frame in source:
            data = bytes(frame) if isinstance(frame, (bytes, bytearray, memoryview)) else (
                frame.encode() if isinstance(frame, str) else orjson.dumps(frame))
            noted = self.topics is None or self._topic(data) in self.topics
            if noted:
                with self._lock:
                    q = self._pending.get(data)
                    if q is None:
                        q = self._pending[data] = deque()
                    q.append(int(recv_ns))
                    self.noted += 1
            self.sent_ns, self.last_noted = int(recv_ns), noted
            yield recv_ns, data

    def venue_ms(self) -> int:
        """The fake venue's clock during a replay in step with the engine (ms): the replayed time the engine has
        reached (:meth:`time_ns`), at which the venue matches a frame's prints and takes the engine's orders."""
        return self.time_ns() // 1_000_000

    def waiting(self) -> int:
        """Frames noted for the engine and not yet received by it."""
        return self.noted - self.matched

    def stamp(self, frame, recv_ns: int) -> int:
        """The recorded receive time of ``frame`` (bytes as received)."""
        key = frame if frame.__class__ is bytes else bytes(frame)
        with self._lock:
            q = self._pending.get(key)
            t = None
            if q:
                t = q.popleft()
                if not q:
                    del self._pending[key]
        if t is None:
            self.unmatched += 1
            return self.now_ns or self.start_ns or int(recv_ns)
        self.matched += 1
        if t > self.now_ns:
            self.now_ns = t
        self.wall_offset_ns = time.time_ns() - t  # (the engine takes the frame now: its wall time, replayed)
        return t

    def local_ns(self, wall_ns: int) -> int:
        """A wall-clock time of this machine (an order written, an answer read) on the replay's clock: the
        replayed receive time of the frame the engine took last plus the wall time since it took it, so that a
        reaction time (decision -> create written) is the engine's own, whatever the replay's date."""
        return int(wall_ns) - self.wall_offset_ns if self.matched else int(wall_ns)


class Lockstep:
    """The fake venue's market in step with the engine that trades on it (``run --replay ... --live``).

    Sent as fast as it can be, a replay runs ahead of the engine by however many frames the machine's load
    lets through while an order is on its way; a venue that matched each print as it sent it would then meet
    the order at a different print every run, and the same replay would give other fills.  In step:

    * the venue sends its frames as fast as it can, but matches the prints of a frame the engine receives
      (its resting orders, take-profits, stops) only when the engine takes that frame (:meth:`defer`,
      :meth:`taking`): the venue's market is where the engine's is;
    * after each frame the engine is ``idle()`` (its orders written and answered, its bookkeeping done, the
      venue's private pushes read) or it holds the next frames (:meth:`take`) until it is: what it decided
      reaches the venue before the venue's market moves on.

    So the venue meets every order at the print it was decided on, and the fills follow, whatever the load;
    there is no hand-over per frame, only a wait while something is on its way.  The engine's side calls
    :meth:`take` then :meth:`taking` as a replayed frame comes in and :meth:`frame_done` once it is handled;
    :attr:`process` (the engine's ``on_frame``) takes the held frames.  ``clock``: the :class:`ReplayClock`
    of the replay."""

    def __init__(self, clock: ReplayClock, idle=lambda: True, *, poll_s: float = 0.0005):
        self.clock = clock
        self.idle = idle
        self.poll_s = float(poll_s)
        #: the engine's ``on_frame(venue, frame, recv_ns)``: the frames held while it was busy go back to it
        self.process = None
        self._held: deque = deque()
        self._busy = self._draining = self._polling = False
        self._matches: dict[bytes, deque] = {}
        #: the venue's private pushes of a deferred match not yet written (the engine is not idle meanwhile)
        self.pushing = 0
        self.holds = 0  # times the engine held frames
        self.held_max = 0
        clock.step = self

    # ---- the fake venue's side
    def defer(self, data: bytes, match) -> None:
        """``match()`` (the venue's matching on the prints of frame ``data``) runs when the engine takes it."""
        q = self._matches.get(data)
        if q is None:
            q = self._matches[data] = deque()
        q.append(match)

    # ---- the engine's side
    def take(self, venue: str, frame, recv_ns) -> bool:
        """A replayed frame came in: True when the engine is busy and the frame is held (in order) for later."""
        if self._busy or (self._held and not self._draining):
            self._held.append((venue, frame, recv_ns))
            self.held_max = max(self.held_max, len(self._held))
            return True
        return False

    def taking(self, frame) -> None:
        """The engine takes ``frame``: the venue matches its prints first (as the venue does when it prints)."""
        key = frame if frame.__class__ is bytes else bytes(frame)
        q = self._matches.get(key)
        if q:
            match = q.popleft()
            if not q:
                del self._matches[key]
            match()

    def quiet(self) -> bool:
        """Nothing on its way: no push of the venue pending and the engine ``idle()``."""
        return self.pushing == 0 and self.idle()

    def frame_done(self) -> None:
        """The engine handled a frame: while anything is on its way, the next frames are held."""
        if self.quiet():
            return
        if not self._busy:
            self._busy = True
            self.holds += 1
        if not self._polling:
            try:
                asyncio.get_running_loop().create_task(self._poll())
                self._polling = True
            except RuntimeError:  # (no running loop: a synchronous caller; nothing can become idle)
                self._busy = False

    async def _poll(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.poll_s)
                if not self.quiet():
                    continue
                self._busy = False
                self._draining = True
                try:
                    while self._held and not self._busy:
                        venue, frame, recv = self._held.popleft()
                        self.process(venue, frame, recv)
                finally:
                    self._draining = False
                if not self._busy:
                    return
        finally:
            self._polling = False
