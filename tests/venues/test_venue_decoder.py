"""Streaming Decoder: counters, duplicate suppression horizon, control frames, never raising."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.types import EVENT_DTYPE, SymbolRegistry
from liqcore.venues.decoder import Decoder, detect_venue

MS = 1_000_000


def bybit_liq(t_ms: int, side="Buy", v="1", p="100", sym="BTCUSDT") -> bytes:
    return (b'{"topic":"allLiquidation.%s","type":"snapshot","ts":%d,"data":[{"T":%d,"s":"%s","S":"%s","v":"%s","p":"%s"}]}'
            % (sym.encode(), t_ms + 100, t_ms, sym.encode(), side.encode(), v.encode(), p.encode()))


def check_invariant(c: dict) -> None:
    assert c["frames"] == c["accepted_frames"] + c["rejected_frames"] + c["control"]


def test_counters_and_invariant_over_mixed_frames():
    dec = Decoder("bybit")
    frames = [bybit_liq(1739502302929), b"", b"{", b"[]", b"null", b'{"topic":"kline.1.BTCUSDT","data":{}}',
              b'{"op":"pong"}', "pong", b"\xff\xfe", bybit_liq(1739502302930, side="Hold"), 12345]
    for f in frames:
        out = dec.feed(f, 1)
        assert out.dtype == EVENT_DTYPE
    c = dec.counters
    check_invariant(c)
    assert c["frames"] == len(frames)
    assert c["events"] == 1 and c["accepted_frames"] == 1
    assert c["malformed_json"] >= 3  # b"", b"{", bytes that are not UTF-8 (and the int)
    assert c["unknown_topic"] >= 3  # [], null, kline (orderbook.1 is top of book now)
    assert c["bad_side"] == 1
    assert c["control"] == 2


def test_duplicate_suppression_within_horizon_only():
    dec = Decoder("bybit", dedupe_horizon=3)
    f0 = bybit_liq(1739502302929)
    assert len(dec.feed(f0, 1)) == 1
    assert len(dec.feed(f0, 2)) == 0  # exact duplicate (recv time differs: still the same event)
    assert dec.counters["duplicate"] == 1
    for k in range(1, 4):  # push f0 out of the 3-event horizon
        assert len(dec.feed(bybit_liq(1739502302929 + k), 3)) == 1
    assert len(dec.feed(f0, 4)) == 1  # beyond the horizon: not remembered any more
    # different qty, price or side = a different liquidation
    assert len(dec.feed(bybit_liq(1739502302929, v="2"), 5)) == 1
    assert len(dec.feed(bybit_liq(1739502302929, p="101"), 5)) == 1
    assert len(dec.feed(bybit_liq(1739502302929, side="Sell"), 5)) == 1
    check_invariant(dec.counters)


def test_dedupe_disabled():
    dec = Decoder("bybit", dedupe_horizon=0)
    f0 = bybit_liq(1739502302929)
    assert len(dec.feed(f0, 1)) == 1 and len(dec.feed(f0, 1)) == 1


def test_registry_is_shared_and_feed_rows_matches_feed():
    reg = SymbolRegistry([("binance", "BTCUSDT")])
    a = Decoder("bybit", registry=reg)
    b = Decoder("bybit", registry=reg, dedupe_horizon=0)
    ev = a.feed(bybit_liq(1739502302929, sym="ETHUSDT"), 7)
    rows = b.feed_rows(bybit_liq(1739502302929, sym="ETHUSDT"), 7)
    assert ev["symbol_id"][0] == reg.get("bybit", "ETHUSDT") == 1
    np.testing.assert_array_equal(ev, np.array(rows, dtype=EVENT_DTYPE))


def test_feed_many():
    dec = Decoder("bybit")
    frames = [bybit_liq(1739502302929 + i) for i in range(5)] + [b"junk"]
    ev = dec.feed_many(frames, list(range(6)))
    assert len(ev) == 5 and ev["ts_recv"].tolist() == [0, 1, 2, 3, 4]
    assert (np.diff(ev["ts_event"]) == MS).all()
    with pytest.raises(ValueError, match="recv_ns"):
        dec.feed_many(frames, [1, 2])


def test_detect_venue_shapes():
    assert detect_venue({"topic": "x"}) == 1
    assert detect_venue({"e": "forceOrder"}) == 2
    assert detect_venue({"result": None, "id": 1}) == 2
    assert detect_venue({"arg": {}}) == 3
    assert detect_venue({"event": "error"}) == 3
    assert detect_venue({"zzz": 1}) == 0
    assert detect_venue("x") == 0


def test_bad_recv_ns_is_not_fatal():
    dec = Decoder("bybit")
    ev = dec.feed(bybit_liq(1739502302929), "not-a-number")
    assert len(ev) == 1  # the event is kept; its receive time is unknown (-1)
    assert ev["ts_recv"][0] == -1


@pytest.mark.parametrize("bad, reason", [
    (b'{"topic":"allLiquidation.X","data":[{"T":1739502302929,"s":"X","S":"Buy","v":"0","p":"1"}]}', "non_positive"),
    (b'{"topic":"allLiquidation.X","data":[{"T":1739502302929,"s":"X","S":"Buy","v":"-1","p":"1"}]}', "non_positive"),
    (b'{"topic":"allLiquidation.X","data":[{"T":1739502302929,"s":"X","S":"Buy","v":"NaN","p":"1"}]}', "non_finite"),
    (b'{"topic":"allLiquidation.X","data":[{"T":1739502302929,"s":"X","S":"Buy","v":"1e999","p":"1"}]}', "non_finite"),
    (b'{"topic":"allLiquidation.X","data":[{"T":1739502302929,"s":"X","S":"Buy","v":true,"p":"1"}]}', "non_numeric"),
    (b'{"topic":"allLiquidation.X","data":[{"T":1739502302929,"s":"X","S":"Buy","p":"1"}]}', "missing_field"),
    (b'{"topic":"allLiquidation.X","data":[{"T":17,"s":"X","S":"Buy","v":"1","p":"1"}]}', "bad_time"),
    (b'{"topic":"allLiquidation.X","data":[{"T":"soon","s":"X","S":"Buy","v":"1","p":"1"}]}', "non_numeric"),
    (b'{"topic":"allLiquidation.X","data":"nope"}', "non_numeric"),
    (b'{"topic":"allLiquidation.X"}', "missing_field"),
])
def test_reject_reasons(bad, reason):
    dec = Decoder("bybit")
    assert len(dec.feed(bad, 1)) == 0
    assert dec.counters.get(reason) == 1, dec.counters
    assert dec.counters["rejected_frames"] == 1
    check_invariant(dec.counters)


@pytest.mark.property
def test_live_fast_path_matches_the_json_path():
    """Decoder's anchored-expression path for the dominant liquidation frames is an optimisation of
    the JSON path: same events, same counters, frame by frame."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    nums = st.one_of(st.sampled_from(["0", "0.0", "1", "-1", "00.5", "1e5", "NaN", "0.001", "7", "9" * 400]),
                     st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False).map(str))
    times = st.one_of(st.integers(1739502302929 - 10**12, 1739502302929 + 10**6), st.sampled_from([0, 4_102_444_800_001]))
    binance = st.builds(
        lambda t, s, z, ap, sym: (b'{"e":"forceOrder","E":%d,"o":{"s":"%s","S":"%s","o":"LIMIT","f":"IOC","q":"1","p":"1",'
                                  b'"ap":"%s","X":"FILLED","l":"1","z":"%s","T":%d}}' % (t, sym, s, ap.encode(), z.encode(), t)),
        times, st.sampled_from([b"BUY", b"SELL"]), nums, nums, st.sampled_from([b"BTCUSDT", b"ETHUSDT"]))
    bybit = st.builds(lambda t, s, v, p, sym: bybit_liq(t, s, v, p, sym), times, st.sampled_from(["Buy", "Sell"]), nums, nums,
                      st.sampled_from(["BTCUSDT", "SOLUSDT"]))
    item = st.builds(lambda t, s, v, p, sym: b'{"T":%d,"s":"%s","S":"%s","v":"%s","p":"%s"}' % (t, sym, s, v.encode(), p.encode()),
                     times, st.sampled_from([b"Buy", b"Sell"]), nums, nums, st.sampled_from([b"BTCUSDT", b"SOLUSDT"]))
    batch = st.builds(lambda items: b'{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":1739502303204,"data":[%s]}'
                      % b",".join(items), st.lists(item, min_size=0, max_size=70))

    @settings(max_examples=80)
    @given(st.lists(st.one_of(bybit, binance, batch), max_size=30), st.sampled_from(["bybit", "binance", None]), st.integers(1, 5))
    def check(frames, venue, horizon):
        compiled = Decoder(venue, dedupe_horizon=horizon)  # the compiled matcher when built
        regex = Decoder(venue, dedupe_horizon=horizon)
        regex._scan_venue = -1  # the pure-Python expressions
        slow = Decoder(venue, dedupe_horizon=horizon)
        slow._scan_venue = -1
        slow._fast = lambda frame, recv_ns: None  # feed_rows' matcher
        slow._match = lambda frame: None  # feed's inlined matcher
        for i, f in enumerate(frames):
            recv = 10**18 + i
            if i % 2:
                b = slow.feed(f, recv)
                outs = [compiled.feed(f, recv), regex.feed(f, recv)]
            else:
                b = np.array(slow.feed_rows(f, recv), dtype=EVENT_DTYPE).reshape(-1)
                outs = [np.array(d.feed_rows(f, recv), dtype=EVENT_DTYPE).reshape(-1) for d in (compiled, regex)]
            for a in outs:
                np.testing.assert_array_equal(a, b)
        for fast in (compiled, regex):
            assert fast.counters == slow.counters
            assert fast.registry.items() == slow.registry.items()

    check()


def test_set_instruments_at_runtime():
    frame = (b'{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"instId":"WIF-USDT-SWAP",'
             b'"details":[{"side":"sell","sz":"7","bkPx":"1.5","ts":"1739502302929"}]}]}')
    dec = Decoder("okx")
    assert len(dec.feed(frame, 1)) == 0 and dec.counters["unknown_instrument"] == 1
    dec.set_instruments({"code": "0", "data": [{"instId": "WIF-USDT-SWAP", "ctVal": "1"}]})
    ev = dec.feed(frame, 2)
    assert len(ev) == 1 and ev["qty"][0] == 7.0 and ev["side"][0] == 1
    dec.set_instruments({"WIF-USDT-SWAP": 10})
    assert dec.feed(frame.replace(b'"7"', b'"8"'), 3)["qty"][0] == 80.0
    with pytest.raises(ValueError, match="ctVal"):
        dec.set_instruments({"X-USDT-SWAP": "zero"})
