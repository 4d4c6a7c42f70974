"""Readers of JSON lines: websocket messages one per line as the venues send them (``raw``), the lines
``liqcore record`` writes (``recorder``), and files mixing JSON-line kinds (``jsonl``, each line told
by its own keys).  Decoded by :class:`liqcore.venues.lines.LineDecoder`."""
from __future__ import annotations

from liqcore.venues.reader import TIER_ENVELOPE, TIER_JSON, Reader, is_json, line_decoder


def _sniff_recorder(s: bytes) -> bool:
    return is_json(s) and b'"recv_ns"' in s and (b'"frame"' in s or b'"gap"' in s)


def _sniff_raw(s: bytes) -> bool:
    return is_json(s) or s.lower() == b"pong" or s.lower() == b"ping"


RAW = Reader("raw", "one websocket message per line (a built-in venue's, or a plugin's that tells its frames by shape; venue told by shape)", "lines",
             line_decoder, _sniff_raw, TIER_JSON, mix=True)
RECORDER = Reader("recorder", '{"recv_ns": <int>, "venue": "<venue name>", "frame": {...} | "<json text>"} '
                  "(what liqcore record writes)", "lines", line_decoder, _sniff_recorder, TIER_ENVELOPE, mix=True)
JSONL = Reader("jsonl", "any mix of the JSON-line and log-line formats, told line by line", "lines", line_decoder)
