"""Top of book and raw trades from the live decoders, on frames in each venue's documented format:
Binance USD-M ``bookTicker`` / ``trade`` / ``depthUpdate`` (raw and combined stream), Bybit
``orderbook.1`` (and deeper books), OKX ``bbo-tbt`` (and ``books5``).  Depth frames are counted as
``depth_skipped``, never as errors."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from liqcore.dataset.load import load_events
from liqcore.types import Kind, Side
from liqcore.venues.binance import parse as binance_parse
from liqcore.venues.binance import samples as bsamples
from liqcore.venues.bybit import samples as ysamples
from liqcore.venues.decoder import Decoder
from liqcore.venues.okx import samples as osamples

RECV = 1_723_161_255_040_000_000
T = 1_723_161_255_030
BID, ASK, QUOTE = int(Side.BUY), int(Side.SELL), int(Kind.QUOTE)


def _invariant(c: dict) -> None:
    assert c["frames"] == c["accepted_frames"] + c["rejected_frames"] + c["control"], c


# ---- frames exactly as Binance USD-M sends them on a combined stream (one capture's three streams)
def _binance_capture(n: int) -> list[bytes]:
    lines = []
    for i in range(n):
        t = T + i
        bid = 61010.4 + (i % 7) * 0.1
        lines.append(b'{"stream":"btcusdt@trade","data":{"e":"trade","E":%d,"T":%d,"s":"BTCUSDT","t":%d,'
                     b'"p":"%.2f","q":"0.004","X":"MARKET","m":%s}}' % (t + 1, t, 5166239143 + i, bid + 0.1,
                                                                        b"true" if i % 2 else b"false"))
        lines.append(b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":%d,"s":"BTCUSDT","b":"%.2f",'
                     b'"B":"4.717","a":"%.2f","A":"0.321","T":%d,"E":%d}}' % (5135402418297 + i, bid, bid + 0.1, t, t + 1))
        lines.append(b'{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":%d,"T":%d,"s":"BTCUSDT",'
                     b'"U":%d,"u":%d,"pu":%d,"b":[["%.2f","4.717"],["61000.00","0.100"]],"a":[["%.2f","0.000"]]}}'
                     % (t + 5, t + 1, 100 + 3 * i, 102 + 3 * i, 99 + 3 * i, bid, bid + 0.1))
    return lines


def test_binance_book_ticker_trade_and_depth_frames():
    d = Decoder("binance")
    ev = d.feed(_binance_capture(1)[1], RECV)
    assert ev.tolist() == [(T * 1_000_000, RECV, 61010.4, 4.717, 0, BID, QUOTE, 2, 0),
                           (T * 1_000_000, RECV, 61010.5, 0.321, 0, ASK, QUOTE, 2, 0)]
    tr = d.feed(_binance_capture(2)[3], RECV)  # m true: the buyer made -> the taker sold
    assert len(tr) == 1 and tr[0]["kind"] == Kind.TRADE and tr[0]["side"] == Side.SELL and tr[0]["qty"] == 0.004
    assert len(d.feed(_binance_capture(1)[2], RECV)) == 0
    # the raw (not combined) frames decode the same
    raw = bsamples.book_ticker_frame("BTCUSDT", T, 61010.4, 4.717, 61010.5, 0.321)
    assert Decoder("binance").feed(raw, RECV).tolist() == ev.tolist()
    c = d.counters
    assert c["depth_skipped"] == 1 and c["rejected_frames"] == 0 and c["events"] == 3
    _invariant(c)


def test_binance_empty_side_and_non_market_trade():
    d = Decoder("binance")
    ev = d.feed(bsamples.book_ticker_frame("ETHUSDT", T, 0.0, 0.0, 3000.0, 1.0), RECV)
    assert ev["qty"].tolist() == [0.0, 1.0] and ev["price"].tolist() == [0.0, 3000.0]
    adl = (b'{"e":"trade","E":%d,"T":%d,"s":"ETHUSDT","t":9,"p":"2900.00","q":"1.000","X":"ADL","m":true}' % (T, T))
    assert len(d.feed(adl, RECV)) == 0 and d.counters["non_market_trade"] == 1
    bad = bsamples.book_ticker_frame("ETHUSDT", T, 3000.0, -1.0, 3000.1, 1.0)
    assert len(d.feed(bad, RECV)) == 0 and d.counters["non_positive"] == 1
    _invariant(d.counters)


def test_quotes_are_not_suppressed_as_duplicates():
    """Two updates in one millisecond with the same bid: both bid rows stay (each update keeps its pair)."""
    d = Decoder("binance")
    a = d.feed(bsamples.book_ticker_frame("BTCUSDT", T, 100.0, 1.0, 100.1, 2.0, update_id=1), RECV)
    b = d.feed(bsamples.book_ticker_frame("BTCUSDT", T, 100.0, 1.0, 100.2, 2.0, update_id=2), RECV)
    assert len(a) == 2 and len(b) == 2 and d.counters["duplicate"] == 0


@pytest.mark.parametrize("suffix", [".jsonl", ".txt.gz"])
def test_a_binance_capture_of_trade_book_ticker_and_depth_loads_without_rejects(tmp_path, suffix):
    lines = _binance_capture(300)
    path = tmp_path / f"capture{suffix}"
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    res = load_events(path)
    assert res.rejects.get("unknown_topic", 0) == 0
    assert res.n_rejected == 0, res.rejects
    assert res.rejects.get("depth_skipped") == 300
    kinds = np.bincount(res.events["kind"], minlength=8)
    assert kinds[Kind.TRADE] == 300 and kinds[Kind.QUOTE] == 600
    q = res.events[res.events["kind"] == Kind.QUOTE]
    assert (q["price"][q["side"] == ASK] > q["price"][q["side"] == BID]).all()


def test_recorder_lines_of_book_ticker_frames_load(tmp_path):
    frames = [bsamples.book_ticker_frame("BTCUSDT", T + i, 100.0 + i, 1.0, 100.5 + i, 2.0, update_id=i, stream=True)
              for i in range(20)]
    lines = [json.dumps({"recv_ns": RECV + i, "venue": "binance", "frame": f.decode()}) for i, f in enumerate(frames)]
    (tmp_path / "rec.jsonl").write_text("\n".join(lines) + "\n")
    res = load_events(tmp_path / "rec.jsonl")
    assert res.n_rejected == 0 and len(res.events) == 40
    assert (res.events["ts_recv"] >= RECV).all() and set(res.events["kind"].tolist()) == {QUOTE}


def test_bybit_orderbook_1_snapshot_delta_and_deeper_books():
    d = Decoder("bybit")
    ev = d.feed(ysamples.orderbook_frame("BTCUSDT", T, 16493.5, 0.006, 16611.0, 0.029), RECV)
    assert ev.tolist() == [(T * 1_000_000, RECV, 16493.5, 0.006, 0, BID, QUOTE, 1, 0),
                           (T * 1_000_000, RECV, 16611.0, 0.029, 0, ASK, QUOTE, 1, 0)]  # cts, not ts
    # a delta listing only the ask: the bid is the last one known
    ev = d.feed(ysamples.orderbook_frame("BTCUSDT", T + 1, 0, None, 16600.0, 1.5, kind="delta"), RECV)
    assert ev["price"].tolist() == [16493.5, 16600.0] and ev["qty"].tolist() == [0.006, 1.5]
    # a snapshot with an empty bid list: the bid side is empty
    ev = d.feed(ysamples.orderbook_frame("BTCUSDT", T + 2, 0, None, 16600.0, 1.5), RECV)
    assert ev["qty"].tolist() == [0.0, 1.5]
    deep = (b'{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1671179923046,"data":{"s":"BTCUSDT","b":[],'
            b'"a":[["17440.50","78.857"],["17442.00","1.510"]],"u":13079593,"seq":22520573258},"cts":1671179923040}')
    assert len(d.feed(deep, RECV)) == 0
    assert d.counters["depth_skipped"] == 1 and d.counters["rejected_frames"] == 0
    _invariant(d.counters)


def test_okx_bbo_tbt_in_base_units_and_depth_channels():
    d = Decoder("okx")  # BTC-USDT-SWAP: 0.01 BTC a contract
    ev = d.feed(osamples.bbo_frame("BTC-USDT-SWAP", T, 62510.0, 120, 62510.1, 35), RECV)
    assert ev["side"].tolist() == [BID, ASK] and ev["kind"].tolist() == [QUOTE, QUOTE]
    assert ev["price"].tolist() == [62510.0, 62510.1] and np.allclose(ev["qty"], [1.2, 0.35])
    assert (ev["ts_event"] == T * 1_000_000).all()
    tr = d.feed(osamples.trade_frame("BTC-USDT-SWAP", T, 3, 62510.1, "sell"), RECV)
    assert tr[0]["kind"] == Kind.TRADE and tr[0]["side"] == Side.SELL and np.isclose(tr[0]["qty"], 0.03)
    books5 = (b'{"arg":{"channel":"books5","instId":"BTC-USDT-SWAP"},"data":[{"asks":[["62510.1","35","0","3"]],'
              b'"bids":[["62510","120","0","7"]],"instId":"BTC-USDT-SWAP","ts":"1723161255030","seqId":1}]}')
    assert len(d.feed(books5, RECV)) == 0 and d.counters["depth_skipped"] == 1
    unknown = osamples.bbo_frame("NOPE-USDT-SWAP", T, 1.0, 1, 1.1, 1)
    assert len(d.feed(unknown, RECV)) == 0 and d.counters["unknown_instrument"] == 1
    assert d.counters["rejected_frames"] == 1  # its only item was bad
    _invariant(d.counters)


def test_one_off_parse_of_a_book_ticker():
    ev = binance_parse.parse(bsamples.book_ticker_frame("BTCUSDT", T, 1.0, 2.0, 1.5, 3.0), RECV)
    assert ev["kind"].tolist() == [QUOTE, QUOTE] and ev["ts_recv"].tolist() == [RECV, RECV]


# ---- whatever values a top-of-book frame carries: never a crash, every frame accounted for, and any
# quote row that comes out is sane
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_vals = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=6),
                  st.sampled_from(["NaN", "inf", "-1", "0", "0.0", "", "1e999", "61010.5", "4.717"]),
                  st.lists(st.text(max_size=4), max_size=3))


def _frames(p):
    b, bq, a, aq, t = p
    yield "binance", {"e": "bookTicker", "u": 1, "s": "BTCUSDT", "b": b, "B": bq, "a": a, "A": aq, "T": t, "E": t}
    yield "binance", {"stream": "btcusdt@trade", "data": {"e": "trade", "E": t, "T": t, "s": "BTCUSDT", "t": 1,
                                                          "p": b, "q": bq, "X": "MARKET", "m": a}}
    yield "bybit", {"topic": "orderbook.1.BTCUSDT", "type": "snapshot", "ts": t, "cts": t,
                    "data": {"s": "BTCUSDT", "b": [[b, bq]], "a": [[a, aq]], "u": 1, "seq": 1}}
    yield "bybit", {"topic": "orderbook.1.BTCUSDT", "type": "delta", "ts": t, "data": {"s": "BTCUSDT", "b": b, "a": [a]}}
    yield "okx", {"arg": {"channel": "bbo-tbt", "instId": "BTC-USDT-SWAP"},
                  "data": [{"asks": [[a, aq, "0", "1"]], "bids": [[b, bq, "0", "1"]], "ts": t, "seqId": 1}]}


@settings(max_examples=150, deadline=None)
@given(st.tuples(_vals, _vals, _vals, _vals, st.one_of(_vals, st.integers(1_500_000_000_000, 1_800_000_000_000))))
def test_top_of_book_frames_never_crash_and_yield_only_sane_quotes(p):
    import orjson

    for venue, obj in _frames(p):
        d = Decoder(venue)
        try:
            frame = orjson.dumps(obj)
        except (TypeError, orjson.JSONEncodeError):
            continue
        ev = d.feed(frame, RECV)
        c = d.counters
        _invariant(c)
        assert "bad_frame" not in c, (venue, obj, c)
        q = ev[ev["kind"] == QUOTE]
        assert len(q) % 2 == 0 and set(q["side"].tolist()) <= {BID, ASK}
        assert np.isfinite(q["qty"]).all() and (q["qty"] >= 0).all()
        full = q["qty"] > 0
        assert (np.isfinite(q["price"][full]) & (q["price"][full] > 0)).all() and (q["price"][~full] == 0).all()
