"""Binance combined-stream frames take the compiled scanner on their payload: the same events, counters
and rejects as the JSON path, for well-formed frames and for every near-miss shape."""
from __future__ import annotations

import pytest

from liqcore.venues import decoder as D

INNER = (b'{"e":"forceOrder","E":1568014460893,"o":{"s":"ETHUSDT","S":"BUY","o":"LIMIT","f":"IOC","q":"1.5",'
         b'"p":"180.1","ap":"180.25","X":"FILLED","l":"1.5","z":"1.5","T":1568014460890}}')
FRAMES = [
    b'{"stream":"!forceOrder@arr","data":' + INNER + b"}",
    b'{"stream":"ethusdt@forceOrder","data":' + INNER.replace(b"BUY", b"SELL") + b"}",
    b'{"stream":"!forceOrder@arr","data":' + INNER + b',"x":1}',  # an extra key after data
    b'{"stream":"!forceOrder@arr","data":' + INNER + b"} ",  # trailing space
    b'{"stream":"a\\"b","data":' + INNER + b"}",  # an escaped quote in the name
    b'{"stream":"!forceOrder@arr","data":' + INNER.replace(b'"ap":"180.25"', b'"ap":"-1"') + b"}",  # bad price
    b'{"stream":"!forceOrder@arr","data":' + INNER.replace(b'"T":1568014460890', b'"T":15') + b"}",  # bad time
    b'{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1568014460900,"s":"BTCUSDT","a":5933014,"p":"9911.5",'
    b'"q":"0.25","f":100,"l":105,"T":1568014460899,"m":true}}',
    b'{"stream":"!forceOrder@arr","data":{"e":"forceOrder"}}',
    b'{"data":' + INNER + b',"stream":"!forceOrder@arr"}',  # keys the other way round
]


@pytest.mark.parametrize("venue", ["binance", None])
def test_combined_fast_path_equals_json_path(monkeypatch, venue):
    fast = D.Decoder(venue)
    out_fast = [fast.feed_rows(f, 1_700_000_000_000_000_000 + i) for i, f in enumerate(FRAMES)]
    arr_fast = [fast.feed(f, 1_700_000_000_000_000_000 + i).tolist() for i, f in enumerate(FRAMES)]
    monkeypatch.setattr(D, "_combined_payload", lambda frame: None)
    slow = D.Decoder(venue)
    slow.__dict__.pop("feed", None)  # the compiled whole-frame path off: the JSON path decides
    slow.__dict__.pop("feed_rows", None)
    slow._live = None
    out_slow = [slow.feed_rows(f, 1_700_000_000_000_000_000 + i) for i, f in enumerate(FRAMES)]
    arr_slow = [slow.feed(f, 1_700_000_000_000_000_000 + i).tolist() for i, f in enumerate(FRAMES)]
    assert out_fast == out_slow and arr_fast == arr_slow
    assert fast.counters == slow.counters
    assert out_fast[0] and out_fast[0][0][5] == 2  # o.S BUY closes a SHORT
    assert out_fast[1][0][5] == 1  # SELL closes a LONG


def test_payload_extraction():
    assert D._combined_payload(FRAMES[0]) == INNER
    for f in (FRAMES[3], FRAMES[4], FRAMES[9], b'{"stream":"x"}', b""):
        assert D._combined_payload(f) is None


def test_okx_and_bybit_decoders_do_not_take_binance_frames():
    for venue in ("okx", "bybit"):
        d = D.Decoder(venue)
        assert d.feed_rows(FRAMES[0], 5) == []
