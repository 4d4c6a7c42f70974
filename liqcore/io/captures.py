"""Readers of raw websocket captures with a receive-time prefix: one frame per line after the time it
was received, decoded by the venue decoders (:mod:`liqcore.venues.decoder`: the venue told by each
frame's shape) with that time as ``ts_recv``:

The details: docs/how-to/convert.md, "Raw captures with a receive-time prefix".

May import: ``orjson``, ``validate``, ``venues.common``, ``venues.decoder`` and this package's ``base``.
"""
from __future__ import annotations

import datetime as _dt
import re

from liqcore.io.base import TIER_MARKED, Reader
from liqcore.venues.common import CONTROL, RECV_UNKNOWN, Reject

_ISO = re.compile(rb"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|\+00:?00)?$")
_INT = re.compile(rb"^\d{11,19}$")
_EPOCH = _dt.datetime(1970, 1, 1)
_GAP = 5
_NAN = float("nan")


def iso_ns(text: bytes, _days: dict = {}) -> int:  # noqa: B006 - a cache of day starts
    """An ISO-8601 UTC time (``YYYY-MM-DDTHH:MM:SS[.fffffffff][Z|+00:00]``) -> ns since the epoch;
    Reject ``bad_time`` for anything else."""
    m = _ISO.match(text)
    if m is None:
        raise Reject("bad_time", "prefix")
    y, mo, d, h, mi, s, frac, _ = m.groups()
    day = _days.get(text[:10])
    if day is None:
        try:
            day = (_dt.datetime(int(y), int(mo), int(d)) - _EPOCH).days * 86_400_000_000_000
        except ValueError:
            raise Reject("bad_time", "prefix") from None
        if len(_days) > 4096:
            _days.clear()
        _days[text[:10]] = day
    h, mi, s = int(h), int(mi), int(s)
    if h > 23 or mi > 59 or s > 60:
        raise Reject("bad_time", "prefix")
    ns = day + ((h * 60 + mi) * 60 + s) * 1_000_000_000
    if frac:
        ns += int(frac.ljust(9, b"0"))
    return ns


def int_ns(text: bytes) -> int:
    """An integer epoch time: 19 digits ns, 16 us, 13 ms (told by size) -> ns; Reject ``bad_time``."""
    if _INT.match(text) is None:
        raise Reject("bad_time", "prefix")
    v = int(text)
    if v >= 10**17:
        return v if v < 2**63 else _bad()
    if 10**14 <= v < 9 * 10**15:
        return v * 1_000
    if 10**11 <= v < 9 * 10**12:
        return v * 1_000_000
    return _bad()


def _bad() -> int:
    raise Reject("bad_time", "prefix")


class PrefixDecoder:
    """Decodes blocks of ``<time> <frame>`` lines into the loader's sink (``feed_lines`` of a
    ``lines`` reader).  ``iso``: the time is ISO-8601 (tardis) rather than an integer."""

    def __init__(self, sink, fmt: str, prose=None):
        import orjson

        from liqcore.venues.decoder import PARSERS, detect_venue

        self.sink = sink
        self.iso = fmt == "tardis-raw"
        self._time = iso_ns if self.iso else int_ns
        self._loads = orjson.loads
        self._error = orjson.JSONDecodeError
        self._venue_of = detect_venue
        self._parsers = PARSERS
        from liqcore.validate import FILE_TIME_MAX_NS, TIME_MIN_NS

        self._lo, self._hi = TIME_MIN_NS, FILE_TIME_MAX_NS  # fixed: a file reads the same whatever the day
        self._last = None  # (venue, recv) of the last frame decoded: where a disconnect goes
        self._blank = False  # an empty line seen since that frame

    def feed_lines(self, data: bytes, st, first_line: int = 0) -> None:
        sink = self.sink
        counters = sink.counters
        lines = data.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()  # the end of the block's last line
        for idx, line in enumerate(lines):
            lineno = first_line + idx + 1
            line = line.rstrip(b"\r")
            if not line.strip():
                self._blank = True
                continue
            st.records += 1
            cut = line.find(b" ")
            try:
                if cut < 0:
                    raise Reject("bad_row", "line")
                recv = self._time(line[:cut])
                if not self._lo <= recv <= self._hi:  # a receive time is a clock reading: 2017 .. 2100
                    raise Reject("bad_time", "prefix")
            except Reject as r:
                st.bad(lineno, r.reason, r.field)
                continue
            frame = line[cut + 1:].strip()
            if not frame:  # a time without a frame: a disconnect mark
                self._blank = True
                continue
            try:
                obj = self._loads(frame)
            except self._error:
                if frame.lower() in (b"ping", b"pong"):
                    counters["control"] = counters.get("control", 0) + 1
                    continue
                st.bad(lineno, "malformed_json")
                continue
            venue = self._venue_of(obj)
            if not venue:
                st.bad(lineno, "unknown_topic", "frame")
                continue
            if self._blank and self.iso and self._last is not None and self._last[0] == venue:
                v, at = self._last
                sink.rows.append((at, at, _NAN, 0.0, -1, 0, _GAP, v, 0))
            self._blank = False
            self._last = (venue, recv)
            sink.recv_ns = recv
            before = sink.item_rejects
            try:
                n = self._parsers[venue](obj, sink)
            except Reject as r:
                st.bad(lineno, r.reason, r.field)
                continue
            except Exception:  # noqa: BLE001 - a shape no codec anticipated: counted, the load goes on
                st.bad(lineno, "bad_frame")
                continue
            finally:
                sink.recv_ns = RECV_UNKNOWN
            if n == CONTROL:
                counters["control"] = counters.get("control", 0) + 1
            elif sink.item_rejects != before and st.strict:
                raise ValueError(f"{st.path}:{lineno}: {sink.last}")


def _decoder(sink, fmt: str, prose=None) -> PrefixDecoder:
    return PrefixDecoder(sink, fmt, prose)


def _sniff_iso(s: bytes) -> bool:
    cut = s.find(b" ", 19, 40)
    return cut > 0 and s[4:5] == b"-" and s[10:11] == b"T" and s[cut + 1:cut + 2] in (b"{", b"[") and \
        _ISO.match(s[:cut]) is not None


def _sniff_int(s: bytes) -> bool:
    cut = s.find(b" ", 11, 21)
    return cut > 0 and s[cut + 1:cut + 2] in (b"{", b"[") and _INT.match(s[:cut]) is not None


TARDIS_RAW = Reader("tardis-raw", "tardis.dev raw replay lines: <ISO-8601 receive time, 28 characters> <frame>; "
                    "an empty line is a disconnect (GAP)", "lines", _decoder, _sniff_iso, TIER_MARKED)
HFTBACKTEST = Reader("hftbacktest", "hftbacktest collector lines: <receive time, integer ns> <frame>", "lines",
                     _decoder, _sniff_int, TIER_MARKED)
