"""Golden tests: the documented example frames of every kind (wire-formats.md) -> exact events."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from liqcore.types import EVENT_DTYPE, Flag, Kind, Side, SymbolRegistry, Venue
from liqcore.venues import binance, bybit, okx  # noqa: F401
from liqcore.venues.binance.parse import parse as binance_parse
from liqcore.venues.bybit.parse import parse as bybit_parse
from liqcore.venues.common import Reject
from liqcore.venues.decoder import Decoder
from liqcore.venues.okx.parse import parse as okx_parse

DATA = Path(__file__).resolve().parents[1] / "data"
LINES = (DATA / "wire_examples.jsonl").read_bytes().splitlines()
MS = 1_000_000
RECV = 1_800_000_000_000_000_000
L, S, B, SE = int(Side.LONG), int(Side.SHORT), int(Side.BUY), int(Side.SELL)
LIQ, TRADE, MARK, FUND = int(Kind.LIQUIDATION), int(Kind.TRADE), int(Kind.MARK), int(Kind.FUNDING)
SAMPLED = int(Flag.SAMPLED)

# line index -> (venue, [(symbol, ts_ms, price, qty, side, kind, flags), ...]) ; None = control
EXPECTED = {
    0: ("bybit", [("ROSEUSDT", 1739502302929, 0.04499, 20000.0, S, LIQ, 0)]),
    1: ("bybit", [("BTCUSDT", 1703485237953, 43511.70, 0.003, S, LIQ, SAMPLED)]),  # legacy stream: throttled
    2: ("bybit", [("BTCUSDT", 1672304486865, 16578.50, 0.001, B, TRADE, 0)]),
    3: ("bybit", None),
    4: ("bybit", None),
    5: ("binance", [("BTCUSDT", 1568014460893, 9910.0, 0.014, L, LIQ, SAMPLED)]),
    6: ("binance", [("ETHUSDT", 1568014460890, 180.25, 1.5, S, LIQ, SAMPLED)]),
    7: ("binance", [("BTCUSDT", 1568014460899, 9911.5, 0.25, SE, TRADE, 0)]),
    8: ("binance", [("BTCUSDT", 1562305380000, 11794.15, 0.0, 0, MARK, 0),
                    ("BTCUSDT", 1562305380000, 0.00038167, 0.0, 0, FUND, 0)]),
    9: ("binance", None),
    10: ("okx", [("IOST-USDT-SWAP", 1692266434010, 0.007831, 13 * 10.0, S, LIQ, SAMPLED)]),
    11: ("okx", [("BTC-USDT-SWAP", 1692266435000, 61250.5, 25 * 0.01, L, LIQ, SAMPLED)]),
    12: ("okx", [("BTC-USDT-SWAP", 1630048897897, 42219.9, 12 * 0.01, SE, TRADE, 0)]),
    13: ("okx", [("BTC-USDT-SWAP", 1703070685309, 0.0001, 0.0, 0, FUND, 0)]),
    14: ("okx", None),
    15: ("okx", None),
    16: ("okx", None),
}
# IOST is not in the shipped ctVal table: the caller passes it (a test value)
INSTRUMENTS = {"IOST-USDT-SWAP": 10.0}


def expected_array(venue: str, items, reg: SymbolRegistry, recv: int) -> np.ndarray:
    v = int(Venue.parse(venue))
    rows = [(ts * MS, recv, p, q, reg.id(v, sym), side, kind, v, flags) for sym, ts, p, q, side, kind, flags in items]
    return np.array(rows, dtype=EVENT_DTYPE)


@pytest.mark.parametrize("idx", sorted(EXPECTED))
def test_golden_frame_through_decoder(idx):
    venue, items = EXPECTED[idx]
    reg = SymbolRegistry()
    dec = Decoder(venue, registry=reg, instruments=INSTRUMENTS)
    got = dec.feed(LINES[idx], RECV)
    c = dec.counters
    assert c["frames"] == 1
    if items is None:
        assert len(got) == 0
        assert c["control"] == 1 and c["accepted_frames"] == 0 and c["rejected_frames"] == 0
        return
    exp = expected_array(venue, items, reg, RECV)
    assert got.dtype == EVENT_DTYPE
    np.testing.assert_array_equal(got, exp)
    assert c["accepted_frames"] == 1 and c["events"] == len(exp)


def test_auto_venue_decoder_matches_per_venue():
    reg = SymbolRegistry()
    dec = Decoder(None, registry=reg, instruments=INSTRUMENTS)
    for idx, (venue, items) in EXPECTED.items():
        got = dec.feed(LINES[idx], RECV + idx)
        if items is None:
            assert len(got) == 0
        else:
            np.testing.assert_array_equal(got, expected_array(venue, items, reg, RECV + idx))
    assert dec.counters["control"] == sum(1 for v in EXPECTED.values() if v[1] is None)


def test_side_conventions_differ_between_bybit_and_binance():
    """The side trap: the same spelling means opposite positions on Bybit and Binance."""
    by_buy = bybit_parse(b'{"topic":"allLiquidation.BTCUSDT","ts":1,"data":[{"T":1739502302929,"s":"BTCUSDT","S":"Buy","v":"1","p":"100"}]}')
    bn_buy = binance_parse(b'{"e":"forceOrder","E":1,"o":{"s":"BTCUSDT","S":"BUY","ap":"100","z":"1","T":1739502302929}}')
    ok_buy = okx_parse(b'{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"instId":"BTC-USDT-SWAP","details":[{"side":"buy","sz":"1","bkPx":"100","ts":"1739502302929"}]}]}')
    assert by_buy["side"][0] == Side.LONG  # Bybit "Buy": a long was liquidated
    assert bn_buy["side"][0] == Side.SHORT  # Binance forced BUY closes a short
    assert ok_buy["side"][0] == Side.SHORT  # OKX liquidation order side buy closes a short
    assert by_buy["side"][0] != bn_buy["side"][0]


def test_liquidation_notional_is_price_times_base_qty():
    e = binance_parse(LINES[5])
    assert e["price"][0] * e["qty"][0] == pytest.approx(9910 * 0.014)
    e = okx_parse(LINES[11])
    assert e["price"][0] * e["qty"][0] == pytest.approx(61250.5 * 0.25)


def test_one_off_parse_without_recv_time_is_flagged_estimated():
    e = bybit_parse(LINES[0])
    assert e["ts_recv"][0] == e["ts_event"][0]
    assert e["flags"][0] & Flag.RECV_ESTIMATED
    e = bybit_parse(LINES[0], recv_ns=RECV)
    assert e["ts_recv"][0] == RECV and not e["flags"][0] & Flag.RECV_ESTIMATED


def test_one_off_parse_raises_reject_on_garbage():
    with pytest.raises(Reject) as ei:
        bybit_parse(b"{not json")
    assert ei.value.reason == "malformed_json"
    with pytest.raises(Reject) as ei:
        binance_parse(b'{"e":"somethingElse","E":1}')
    assert ei.value.reason == "unknown_topic"


def test_bybit_allliquidation_batch_with_several_events_and_one_bad_item():
    frame = (b'{"topic":"allLiquidation.ETHUSDT","type":"snapshot","ts":1739502303204,"data":['
             b'{"T":1739502302929,"s":"ETHUSDT","S":"Buy","v":"1.5","p":"2700.5"},'
             b'{"T":1739502302930,"s":"ETHUSDT","S":"Sell","v":"abc","p":"2700.6"},'
             b'{"T":1739502302931,"s":"ETHUSDT","S":"Sell","v":"2","p":"2700.7"}]}')
    dec = Decoder("bybit")
    ev = dec.feed(frame, RECV)
    assert ev["ts_event"].tolist() == [1739502302929 * MS, 1739502302931 * MS]
    assert ev["side"].tolist() == [L, S]
    assert ev["qty"].tolist() == [1.5, 2.0]
    assert dec.counters["non_numeric"] == 1 and dec.counters["accepted_frames"] == 1


def test_bybit_legacy_liquidation_accepts_update_time_spelling():
    frame = b'{"topic":"liquidation.BTCUSDT","type":"snapshot","ts":1,"data":{"updateTime":1703485237953,"symbol":"BTCUSDT","side":"Buy","size":"0.5","price":"43000"}}'
    ev = Decoder("bybit").feed(frame, RECV)
    assert ev["ts_event"][0] == 1703485237953 * MS and ev["side"][0] == L


def test_bybit_tickers_snapshot_then_delta_merge():
    dec = Decoder("bybit")
    snap = (b'{"topic":"tickers.BTCUSDT","type":"snapshot","ts":1673272861686,"data":{"symbol":"BTCUSDT",'
            b'"markPrice":"17217.33","indexPrice":"17227.36","fundingRate":"-0.000212","openInterest":"68744.761",'
            b'"bid1Price":"17215.50"}}')
    ev = dec.feed(snap, RECV)
    assert ev["kind"].tolist() == [MARK, FUND, int(Kind.OPEN_INTEREST)]
    assert ev["price"].tolist() == [17217.33, -0.000212, 17217.33]
    assert ev["qty"].tolist() == [0.0, 0.0, 68744.761]
    assert (ev["ts_event"] == 1673272861686 * MS).all()
    # a delta with only the bid: valid, no events
    d1 = b'{"topic":"tickers.BTCUSDT","type":"delta","ts":1673272861786,"data":{"symbol":"BTCUSDT","bid1Price":"17215.00"}}'
    assert len(dec.feed(d1, RECV + 1)) == 0
    # a delta with only open interest: OI event priced at the MERGED mark price
    d2 = b'{"topic":"tickers.BTCUSDT","type":"delta","ts":1673272861886,"data":{"symbol":"BTCUSDT","openInterest":"68750"}}'
    ev = dec.feed(d2, RECV + 2)
    assert ev["kind"].tolist() == [int(Kind.OPEN_INTEREST)] and ev["price"][0] == 17217.33 and ev["qty"][0] == 68750.0
    d3 = b'{"topic":"tickers.BTCUSDT","type":"delta","ts":1673272861986,"data":{"symbol":"BTCUSDT","markPrice":"17220"}}'
    ev = dec.feed(d3, RECV + 3)
    assert ev["kind"].tolist() == [MARK] and ev["price"][0] == 17220.0
    assert dec.tickers["BTCUSDT"]["markPrice"] == "17220" and dec.tickers["BTCUSDT"]["bid1Price"] == "17215.00"
    # merge state is per decoder (per connection), not global
    assert Decoder("bybit").tickers == {}
    assert dec.counters["accepted_frames"] == 4


def test_okx_unknown_instrument_is_a_counted_reject_never_a_guess():
    dec = Decoder("okx")  # shipped table only: IOST not in it
    assert len(dec.feed(LINES[10], RECV)) == 0
    assert dec.counters["unknown_instrument"] == 1 and dec.counters["rejected_frames"] == 1


def test_okx_instruments_response_table():
    from liqcore.venues.instruments import parse_okx_instruments

    table = parse_okx_instruments(b'{"code":"0","data":[{"instId":"IOST-USDT-SWAP","ctVal":"1000","ctValCcy":"IOST"},{"instId":"X-USDT-SWAP","ctVal":""}]}')
    assert table == {"IOST-USDT-SWAP": 1000.0}
    ev = Decoder("okx", instruments=table).feed(LINES[10], RECV)
    assert ev["qty"][0] == 13 * 1000.0
    with pytest.raises(ValueError, match="ctVal"):
        parse_okx_instruments({"data": [{"instId": "A-USDT-SWAP", "ctVal": "-1"}]})


def test_binance_mark_price_array_and_empty_funding():
    frame = (b'[{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15","r":"0.0001","T":1},'
             b'{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSD_240329","p":"11800","r":"","T":1}]')
    ev = Decoder("binance").feed(frame, RECV)
    assert ev["kind"].tolist() == [MARK, FUND, MARK]


def test_decoder_rejects_unknown_venue_name():
    with pytest.raises(ValueError, match="venue"):
        Decoder("kraken")
