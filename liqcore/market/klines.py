"""A symbol's 1-minute candles from its venue's public REST API, for a span the live stream has no history of.

The details: docs/maintainers/live-feeds.md, "1-minute candles from the venues".

Each venue's endpoint, request and answer are its own (``liqcore.venues.<venue>.market``, through the venue
registry).

May import: ``aiohttp``, ``numpy``, ``venues.registry``, ``venues.numbers`` and this package's ``universe``.
"""
from __future__ import annotations

import math

import numpy as np

from liqcore.market.universe import get_json, rest_base
from liqcore.venues.numbers import wire_number

__all__ = ["KLINE_DTYPE", "KlinesError", "fetch_klines", "parse_klines", "MINUTE_MS"]

MINUTE_MS = 60_000
KLINE_DTYPE = np.dtype([("open_ms", "i8"), ("open", "f8"), ("high", "f8"), ("low", "f8"), ("close", "f8"),
                        ("volume", "f8")])
_TIMEOUT_S = 10.0


class KlinesError(ValueError):
    """The venue's candles could not be had (one line: which venue, which URL, why)."""


def _market(venue):
    """The venue's market part (its candle endpoint and answers), or KlinesError naming the known venues."""
    from liqcore.venues.registry import UnknownVenue, venue_spec

    try:
        return venue_spec(str(venue).lower()).part("market")
    except (UnknownVenue, NotImplementedError) as exc:
        raise KlinesError(str(exc)) from None


def _rows(market, payload, url: str) -> list:
    """The candle rows of a venue's answer (its error code raised as one line)."""
    try:
        return market.kline_rows(payload, url)
    except ValueError as exc:
        raise KlinesError(str(exc)) from None


def parse_klines(venue: str, payload, start_ms: int | None = None, end_ms: int | None = None,
                 url: str = "") -> tuple[np.ndarray, int]:
    """(candles sorted by open time, rows dropped) of one venue answer; only open times in ``[start_ms, end_ms]``
    kept (when given)."""
    v = str(venue).lower()
    market = _market(v)
    vol_at = market.KLINE_VOLUME
    out, dropped = [], 0
    for row in _rows(market, payload, url or v):
        try:
            if not isinstance(row, (list, tuple)) or len(row) <= vol_at:
                raise ValueError
            t = wire_number(row[0], int)
            o, h, lo, c, vol = (wire_number(row[k]) for k in (1, 2, 3, 4, vol_at))
            if not all(math.isfinite(x) and x > 0 for x in (o, h, lo, c)) or h < lo or not (math.isfinite(vol) and vol >= 0):
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            dropped += 1
            continue
        if (start_ms is not None and t < start_ms) or (end_ms is not None and t > end_ms):
            dropped += 1
            continue
        out.append((t, o, h, lo, c, vol))
    arr = np.array(out, dtype=KLINE_DTYPE)
    arr = arr[np.argsort(arr["open_ms"], kind="stable")]
    if len(arr) > 1:  # (one row per minute: a repeated open time keeps the last one the venue sent)
        keep = np.ones(len(arr), bool)
        keep[:-1] = arr["open_ms"][1:] != arr["open_ms"][:-1]
        dropped += int((~keep).sum())
        arr = arr[keep]
    return arr, dropped


async def fetch_klines(venue: str, symbol: str, start_ms: int, end_ms: int, *, base_url: str | None = None,
                       session=None, timeout_s: float = _TIMEOUT_S) -> tuple[np.ndarray, int]:
    """The 1-minute candles of ``symbol`` (the venue's spelling) opened in ``[start_ms, end_ms]``, sorted, and the
    rows dropped (see the module docstring); ``session``: an aiohttp session to use (else one of its own)."""
    import aiohttp

    v = str(venue).lower()
    market = _market(v)
    start_ms, end_ms = int(start_ms), int(end_ms)
    if end_ms < start_ms:
        raise KlinesError(f"klines: the span ends ({end_ms} ms) before it starts ({start_ms} ms)")
    path, limit = market.KLINES
    base = (base_url or rest_base(v)).rstrip("/")
    url = base + path
    own = session is None
    if own:
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s))
    parts, dropped = [], 0
    try:
        lo = start_ms
        while lo <= end_ms:  # pages of ``limit`` minutes
            hi = min(end_ms, lo + (limit - 1) * MINUTE_MS)
            q = market.kline_params(symbol, lo, hi, limit)
            gov = market.governed(base, path, q)  # (the host's governor: weight, bans; None: the venue has none here)
            got = await get_json(session, url, q, error=KlinesError, what="klines", governed=gov)
            arr, d = parse_klines(v, got, lo, hi, url)
            parts.append(arr)
            dropped += d
            lo = hi + 1
    finally:
        if own:
            await session.close()
    arr = np.concatenate(parts) if parts else np.zeros(0, KLINE_DTYPE)
    return arr, dropped
