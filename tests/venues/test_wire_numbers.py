"""Numbers with digits grouped by underscores ("58_000"): Python's float(), int() and Decimal() read them (PEP 515),
no venue and no archive writes them, orjson and pyarrow's CSV reader refuse them.  Every reader of a venue's numbers
converts through :func:`liqcore.venues.numbers.wire_number`, so that such a value is bad input exactly as any other
number that does not parse is at that reader: counted and dropped by the codecs and the CSV rows, a ValueError naming
the field from the private streams' and REST answers' parsers."""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

T_MS = 1739502303204


# ------------------------------------------------------------------------------------------ the one rule


@pytest.mark.parametrize("kind", [float, int, Decimal])
def test_wire_number_refuses_digit_groups_and_reads_the_rest(kind):
    from liqcore.venues.numbers import wire_number

    for text in ("58_000", "1_0", "0.000_1", "1_700_000_000_000"):
        if kind is int and "." in text:
            continue
        kind(text)  # (Python itself reads it)
        with pytest.raises(ValueError, match="not a number"):
            wire_number(text, kind)
    assert wire_number("58000", kind) == kind("58000")
    assert wire_number(58000, kind) == kind(58000)
    assert wire_number("58000.5") == 58000.5 and wire_number(" 2.5 ") == 2.5  # (a CSV cell's spaces: as before)


# ------------------------------------------------------------------------------------------ the frame codecs


def _frames():
    from liqcore.venues.binance import samples as bn
    from liqcore.venues.bybit import samples as by
    from liqcore.venues.gate import samples as gt
    from liqcore.venues.okx import samples as ok

    return {
        "bybit-liquidation": ("bybit", by.liquidation_frame("BTCUSDT", T_MS, 0.01, 58000.0)),
        "bybit-orderbook": ("bybit", by.orderbook_frame("BTCUSDT", T_MS, 58000.0, 1.0, 58001.0, 1.0)),
        "binance-liquidation": ("binance", bn.liquidation_frame("BTCUSDT", T_MS, 0.01, 58000.0)),
        "binance-trade": ("binance", bn.trade_frame("BTCUSDT", T_MS, 0.01, 58000.0)),
        "binance-aggtrade": ("binance", bn.agg_trade_frame("BTCUSDT", T_MS, 0.01, 58000.0)),
        "binance-bookticker": ("binance", bn.book_ticker_frame("BTCUSDT", T_MS, 58000.0, 1.0, 58001.0, 1.0)),
        "okx-liquidation": ("okx", ok.liquidation_frame("BTC-USDT-SWAP", T_MS, 1, 58000.0)),
        "okx-trade": ("okx", ok.trade_frame("BTC-USDT-SWAP", T_MS, 1, 58000.0)),
        "okx-bbo": ("okx", ok.bbo_frame("BTC-USDT-SWAP", T_MS, 58000.0, 1, 58001.0, 1)),
        "gate-liquidation": ("gate", gt.liquidation_frame("BTC_USDT", T_MS, 1, 58000.0)),
        "gate-trade": ("gate", gt.trade_frame("BTC_USDT", T_MS, 1, 58000.0)),
        "gate-bbo": ("gate", gt.bbo_frame("BTC_USDT", T_MS, 58000.0, 1, 58001.0, 1)),
    }


def _decode(venue: str, frame: bytes):
    from liqcore.venues.decoder import Decoder

    d = Decoder(venue)
    out = d.feed(frame, T_MS * 1_000_000 + 5)
    return out, {k: v for k, v in d.counters.items() if v and k not in ("frames", "events")}


@pytest.mark.parametrize("name", sorted(_frames()))
def test_a_price_with_digit_groups_is_rejected_by_every_codec_like_any_non_number(name):
    venue, frame = _frames()[name]
    good, _ = _decode(venue, frame)
    assert len(good) >= 1 and 58000.0 in good["price"]
    grouped, said = _decode(venue, frame.replace(b"58000", b"58_000"))
    junk, junk_said = _decode(venue, frame.replace(b"58000", b"58x000"))
    assert len(grouped) == 0 and said.get("non_numeric") == 1, said
    assert said == junk_said and len(junk) == 0  # the same reject, the same counters


def test_the_object_fast_path_and_the_checked_one_agree_on_digit_groups():
    """The Bybit legacy ``liquidation`` frame takes the decoder's object fast path (``_positive_pair``): it read
    "58_000" as 58000 where the checked parser it falls back to now rejects it."""
    frame = (b'{"topic":"liquidation.BTCUSDT","type":"snapshot","ts":%d,"data":{"updatedTime":%d,"symbol":"BTCUSDT",'
             b'"side":"Sell","size":"0.003","price":"%s"}}')
    good, _ = _decode("bybit", frame % (T_MS, T_MS, b"43511.70"))
    assert len(good) == 1
    out, said = _decode("bybit", frame % (T_MS, T_MS, b"43_511.70"))
    assert len(out) == 0 and said.get("non_numeric") == 1


def test_a_time_with_digit_groups_is_non_numeric():
    from liqcore.venues.common import Reject, ms_to_ns

    assert ms_to_ns(str(T_MS), "T") == T_MS * 1_000_000
    with pytest.raises(Reject, match="non_numeric"):
        ms_to_ns("1_739_502_303_204", "T")


# ------------------------------------------------------------------------------------------ files


def test_recorded_lines_with_digit_groups_are_counted_not_loaded(tmp_path):
    from liqcore.dataset.load import load_events
    from liqcore.venues.bybit import samples as by

    lines = [by.liquidation_frame("BTCUSDT", T_MS + i, 0.01, 58000.0 + i) for i in range(3)]
    lines[1] = lines[1].replace(b"58001", b"58_001")
    p = tmp_path / "rec.jsonl"
    p.write_bytes(b"\n".join(lines) + b"\n")
    r = load_events(p)
    assert len(r.events) == 2 and r.rejects == {"non_numeric": 1}


def test_a_contract_csv_cell_with_digit_groups_is_non_numeric(tmp_path):
    """pyarrow's typed read refuses "58_001"; the row-by-row read it falls back to took it as 58001."""
    from liqcore.dataset.load import load_events

    head = "ts_event_ns,venue,symbol,side,price,qty,kind\n"
    rows = [f"{(T_MS + i) * 1_000_000},bybit,BTCUSDT,long,{58000 + i},0.5,liquidation\n" for i in range(3)]
    for col, bad in (("price", rows[1].replace("58001", "58_001")),
                     ("ts_event_ns", rows[1].replace(str((T_MS + 1) * 1_000_000), f"{T_MS + 1:_}000000"))):
        p = tmp_path / f"{col}.csv"
        p.write_text(head + rows[0] + bad + rows[2])
        r = load_events(p)
        assert len(r.events) == 2 and r.rejects == {"non_numeric": 1}, (col, r.rejects)


def test_a_headerless_binance_csv_row_with_digit_groups_is_non_numeric(tmp_path):
    from liqcore.dataset.load import load_events

    rows = [f"BTC,SELL,LIMIT,IOC,0.01,{58000 + i},{58000 + i},FILLED,0.01,0.01,{T_MS + i},580" for i in range(3)]
    rows[1] = rows[1].replace(",58001,FILLED", ",58_001,FILLED")
    p = tmp_path / "binance.csv"
    p.write_text("\n".join(rows) + "\n")
    r = load_events(p, format="binance-csv")
    assert len(r.events) == 2 and r.rejects.get("non_numeric") == 1, r.rejects


def test_a_mapped_columns_value_with_digit_groups_is_no_number():
    """A mapping's number column: pyarrow's cast refuses "58_000", and the value-by-value read that follows gave 58000."""
    import pyarrow as pa

    from liqcore.io.mapped import _numbers

    out = _numbers(pa.array(["58000", "58_000", "x", None]))
    assert out[0] == 58000.0 and np.isnan(out[1:]).all()


# ------------------------------------------------------------------------------------------ private streams, REST


def test_the_private_streams_parsers_refuse_digit_groups_naming_the_field():
    from liqcore.venues.binance.gateway import parse_order_update
    from liqcore.venues.bybit.private import parse_order
    from liqcore.venues.gate.private import order_update
    from liqcore.venues.gateway_core import field_float
    from liqcore.venues.okx.gateway import parse_order as okx_parse_order

    assert field_float({"p": "58000"}, "p") == 58000.0
    with pytest.raises(ValueError, match="p: not a number"):
        field_float({"p": "58_000"}, "p")
    by = {"symbol": "ETHUSDT", "orderId": "o1", "orderLinkId": "c1", "side": "Buy", "orderStatus": "New",
          "price": "2496.25", "qty": "0.5", "cumExecQty": "0", "avgPrice": "", "rejectReason": "EC_NoError",
          "cancelType": "UNKNOWN", "stopOrderType": "", "reduceOnly": False, "updatedTime": "1700000000123"}
    assert parse_order(by).qty == 0.5
    with pytest.raises(ValueError, match="price"):
        parse_order({**by, "price": "2_496.25"})
    with pytest.raises(ValueError, match="updatedTime"):
        parse_order({**by, "updatedTime": "1_700_000_000_123"})
    bn = {"s": "ETHUSDT", "c": "x", "S": "SELL", "o": "LIMIT", "ot": "TAKE_PROFIT", "q": "0.5", "p": "2500", "ap": "2500",
          "x": "TRADE", "X": "FILLED", "i": 7, "l": "0.5", "z": "0.5", "L": "2500", "n": "0.25", "T": 1700000000000, "t": 9,
          "m": True, "R": True}
    assert parse_order_update(bn)[1].price == 2500.0
    with pytest.raises(ValueError, match="L"):
        parse_order_update({**bn, "L": "2_500"})
    ok = {"instId": "ETH-USDT-SWAP", "ordId": "7", "clOrdId": "x1", "px": "2500", "sz": "5", "ordType": "limit",
          "side": "sell", "state": "filled", "accFillSz": "5", "avgPx": "2500", "fillPx": "2500", "fillSz": "5",
          "tradeId": "9", "execType": "M", "fillFee": "-0.25", "uTime": "1700000000000", "fillTime": "1700000000000",
          "cancelSource": ""}
    assert okx_parse_order(ok, 0.1)[1].price == 2500.0
    with pytest.raises(ValueError, match="fillPx"):
        okx_parse_order({**ok, "fillPx": "2_500"}, 0.1)
    with pytest.raises(ValueError):
        okx_parse_order({**ok, "uTime": "1_700_000_000_000"}, 0.1)
    gt = {"id": 15675394, "user": 100000, "contract": "BTC_USDT", "create_time": 1546569968, "size": 6024,
          "iceberg": 0, "left": 6024, "price": "3765", "fill_price": "0", "mkfr": "-0.00025", "tkfr": "0.00075",
          "tif": "gtc", "refu": 0, "is_reduce_only": False, "is_close": False, "is_liq": False,
          "text": "t-my-custom-id", "status": "finished", "finish_time": 1514764900, "finish_as": "cancelled"}
    assert order_update(gt, Decimal("0.0001")).price == 3765.0
    with pytest.raises(ValueError):
        order_update({**gt, "price": "3_765"}, Decimal("0.0001"))


def test_rest_answers_with_digit_groups_are_malformed():
    from liqcore.market.klines import parse_klines
    from liqcore.venues.instruments import Instrument

    row = {"symbol": "BTCUSDT", "priceFilter": {"tickSize": "0.10"},
           "lotSizeFilter": {"qtyStep": "0.001", "minOrderQty": "0.001", "maxOrderQty": "1000"}}
    assert Instrument.from_bybit(row).tick_size == 0.1
    with pytest.raises(ValueError, match="malformed Bybit row"):
        Instrument.from_bybit({**row, "lotSizeFilter": {**row["lotSizeFilter"], "maxOrderQty": "1_000"}})
    good = [T_MS, "58000", "58100", "57900", "58050", "12.5"]
    candles, dropped = parse_klines("binance", [good, [T_MS + 60_000, "58_050", "58100", "57900", "58050", "1"]])
    assert len(candles) == 1 and dropped == 1


def test_a_depth_level_with_digit_groups_is_a_message_error():
    from liqcore.venues.depthsync import MESSAGE_ERRORS, BinanceDepthSync

    snap = {"lastUpdateId": 10, "bids": [["58000.0", "1.5"]], "asks": [["58001.0", "2"]]}
    assert len(BinanceDepthSync().snapshot(snap)) == 2
    with pytest.raises(MESSAGE_ERRORS):
        BinanceDepthSync().snapshot({**snap, "asks": [["58_001.0", "2"]]})
