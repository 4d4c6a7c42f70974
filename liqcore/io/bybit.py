"""Readers of Bybit's file shapes: the liquidation archive lines (``bybit-archive``)."""
from __future__ import annotations

from liqcore.io.base import TIER_ENVELOPE, Reader
from liqcore.io.jsonlines import is_json, line_decoder


def _sniff_archive(s: bytes) -> bool:
    return is_json(s) and b'"exchange"' in s and b'"result"' in s


ARCHIVE = Reader("bybit-archive", 'Bybit liquidation archive lines: {"ts": <recv ms>, "exchange": "bybit", '
                 '"stream": "liquidation", ..., "result": {"ts": ..., "data": [<allLiquidation items>]}}',
                 "lines", line_decoder, _sniff_archive, TIER_ENVELOPE, aliases=("seed004",), mix=True)
