"""The venue's REST klines (:mod:`liqcore.market.klines`) against local servers on 127.0.0.1 laid out as each venue
documents its kline endpoint: Binance oldest first, Bybit and OKX newest first, a malformed row in each answer
(counted and dropped), a span longer than a page asked in pages, and a venue error in one line."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest

from liqcore.market.klines import KlinesError, fetch_klines, parse_klines
from tests.market._venues import Server, _klines_app, kline_rows

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
SYMBOL = {"binance": "ABCUSDT", "bybit": "ABCUSDT", "okx": "ABC-USDT-SWAP"}


@pytest.mark.parametrize("venue", ["binance", "bybit", "okx"])
def test_klines_parse_each_venue_layout_sorted_with_the_bad_row_dropped(venue):
    rows = kline_rows(T0, 30)
    seen: list = []
    with Server(_klines_app(venue, {SYMBOL[venue]: rows}, seen)) as srv:
        arr, dropped = asyncio.run(fetch_klines(venue, SYMBOL[venue], T0 + 5 * 60_000, T0 + 19 * 60_000,
                                                base_url=srv.url))
    assert len(seen) == 1 and dropped == 1  # (one page; the malformed row counted)
    want = rows[5:20]
    assert arr["open_ms"].tolist() == [r[0] for r in want]  # oldest first whatever the venue's order
    assert np.all(np.diff(arr["open_ms"]) == 60_000)
    assert arr["open"].tolist() == [r[1] for r in want] and arr["close"].tolist() == [r[4] for r in want]
    assert arr["high"].tolist() == [r[2] for r in want] and arr["low"].tolist() == [r[3] for r in want]
    assert arr["volume"].tolist() == [r[5] for r in want]  # (OKX: volCcy, base units, not contracts)


@pytest.mark.parametrize("venue", ["okx", "bybit"])
def test_a_span_longer_than_a_page_is_asked_in_pages(venue):
    n = 700 if venue == "okx" else 2100  # (OKX answers 300 a page, Bybit 1000)
    rows = kline_rows(T0, n, step=0.01)
    seen: list = []
    with Server(_klines_app(venue, {SYMBOL[venue]: rows}, seen, bad_row=False)) as srv:
        arr, dropped = asyncio.run(fetch_klines(venue, SYMBOL[venue], T0, T0 + (n - 1) * 60_000, base_url=srv.url))
    assert dropped == 0 and len(seen) == 3
    assert arr["open_ms"].tolist() == [r[0] for r in rows]


def test_a_venue_error_is_one_line():
    with Server(_klines_app("bybit", {})) as srv:
        with pytest.raises(KlinesError, match=r"^klines: .*/v5/market/kline answered retCode 10001 \(params error\)$"):
            asyncio.run(fetch_klines("bybit", "NOPEUSDT", T0, T0 + 60_000, base_url=srv.url))
    with Server(_klines_app("binance", {})) as srv:
        with pytest.raises(KlinesError, match=r"^klines: .*/fapi/v1/klines answered HTTP 400 .*Invalid symbol"):
            asyncio.run(fetch_klines("binance", "NOPEUSDT", T0, T0 + 60_000, base_url=srv.url))


def test_rows_outside_the_span_and_repeated_minutes_are_dropped_and_counted():
    payload = [[T0, "1", "2", "0.5", "1.5", "3"], [T0 + 60_000, "1.5", "2", "1", "1.8", "1"],
               [T0 + 60_000, "1.5", "2", "1", "1.9", "1"], [T0 + 120_000, "1", "2", "1", "1", "1"],
               [T0, "nan", "2", "1", "1", "1"], "junk"]
    arr, dropped = parse_klines("binance", payload, T0, T0 + 60_000)
    assert arr["open_ms"].tolist() == [T0, T0 + 60_000] and arr["close"].tolist() == [1.5, 1.9]
    assert dropped == 4  # the repeated minute, the one past the span, the NaN open, the non-row
