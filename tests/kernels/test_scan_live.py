"""The live decoder's compiled fast path (``liqcore.venues._scan.LiveScan``) against its pure-Python
twin (``pysrc/scan.py``) and against the checked JSON path of the decoder: the same rows, arrays,
counters (frames, accepted/rejected, future_time, duplicate, events, rejects by reason) and symbol ids,
on documented frames of every shape and on random and malformed ones (ties and equal timestamps,
huge values, unicode digits, whitespace, escaped strings, byte edits)."""
from __future__ import annotations

from collections import deque

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liqcore.types import EVENT_DTYPE
from liqcore.venues import decoder as D
from pysrc import scan as twin

_scan = pytest.importorskip("liqcore.venues._scan")

INSTRUMENTS = {"BTC-USDT-SWAP": 0.01, "ETH-USDT-SWAP": 0.1, "XRP-USDT-SWAP": 100}
RECV0 = 1_739_502_302_000_000_000


def checked(venue):
    """A decoder without any fast path: every frame through orjson and the venue parser."""
    d = D.Decoder(venue)
    d.set_instruments(INSTRUMENTS)
    for name in ("feed", "feed_rows"):
        d.__dict__.pop(name, None)
    d._live = None
    d._fast = D.Decoder._fast_none
    d._match = D._no_match
    d._obj_row = None
    return d


def fast(venue):
    d = D.Decoder(venue)
    d.set_instruments(INSTRUMENTS)
    assert d._live is not None
    return d


# ------------------------------------------------------------------------------------- frame makers
def bybit_all(items, sym=b"BTCUSDT", ts=b"1739502303204"):
    body = b",".join(b'{"T":%s,"s":"%s","S":"%s","v":"%s","p":"%s"}' % it for it in items)
    return b'{"topic":"allLiquidation.%s","type":"snapshot","ts":%s,"data":[%s]}' % (sym, ts, body)


def legacy(t=b"1739502302929", sym=b"BTCUSDT", side=b"Sell", size=b"0.003", price=b"43511.70"):
    return (b'{"topic":"liquidation.%s","type":"snapshot","ts":1739502303204,"data":{"updatedTime":%s,"symbol":"%s",'
            b'"side":"%s","size":"%s","price":"%s"}}' % (sym, t, sym, side, size, price))


def force(t=b"1739502302929", sym=b"ETHUSDT", side=b"BUY", q=b"1.5", ap=b"180.25"):
    return (b'{"e":"forceOrder","E":1739502302940,"o":{"s":"%s","S":"%s","o":"LIMIT","f":"IOC","q":"%s","p":"180.1",'
            b'"ap":"%s","X":"FILLED","l":"%s","z":"%s","T":%s}}' % (sym, side, q, ap, q, q, t))


def combined(inner, name=b"!forceOrder@arr"):
    return b'{"stream":"%s","data":%s}' % (name, inner)


def okx(t=b"1739502302929", inst=b"BTC-USDT-SWAP", side=b"buy", sz=b"13", px=b"43511.7", extra=b"short"):
    return (b'{"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{"bkLoss":"0","bkPx":"%s",'
            b'"ccy":"","posSide":"%s","side":"%s","sz":"%s","ts":"%s"}],"instFamily":"BTC-USDT","instId":"%s",'
            b'"instType":"SWAP","uly":"BTC-USDT"}]}' % (px, extra, side, sz, t, inst))


DOCUMENTED = [
    bybit_all([(b"1739502302929", b"ROSEUSDT", b"Sell", b"20000", b"0.04499")]),
    bybit_all([(b"1739502302929", b"ROSEUSDT", b"Buy", b"2", b"0.04")] * 2
              + [(b"1739502302930", b"ROSEUSDT", b"Buy", b"2", b"0.04")]),  # a tie inside the frame
    legacy(), legacy(side=b"Buy"), force(), force(side=b"SELL"), combined(force()), combined(force(side=b"SELL")),
    okx(), okx(side=b"sell"), okx(inst=b"XRP-USDT-SWAP", sz=b"3"),
]

# near misses: each falls back to the checked path, which must then give its own answer
NEAR = [
    legacy(side=b"buy"), legacy(side=b"SELL"), legacy(side=b"Long"), legacy(t=b"15"), legacy(t=b"01739502302929"),
    legacy(size=b"0"), legacy(size=b"1e3"), legacy(size=b" 2"), legacy(price=b"1" + b"0" * 400), legacy(sym=b"btcusdt"),
    legacy(price=b"4" * 61), legacy(t=b"\xd9\xa1" * 13), legacy().replace(b'"symbol"', b'"symbol" '),
    legacy().replace(b'"BTCUSDT","side"', b'"BTC\\u0055SDT","side"'), legacy() + b" ",
    legacy().replace(b'"updatedTime"', b'"updateTime"'), legacy(t=b"4102444800001"),
    okx(inst=b"NOPE-USDT-SWAP"), okx(side=b"SELL"), okx(t=b"\xd9\xa1\xd9\xa6" * 3 + b"\xd9\xa1"),
    okx(t=b" 1739502302929"), okx(sz=b"1e400"), okx(px=b"-2"), okx(extra=b"sh\\\"ort"), okx(extra=b"\xc3\xa9"),
    okx(extra=b"a" * 65), okx().replace(b'"details":[{', b'"details":[{"x":1,'), okx(sz=b"0.0"),
    force(q=b"0"), force(ap=b"inf"), force(t=b"1739502302929" + b"0"), force().replace(b'"E":', b'"E": '),
    combined(force(), name=b""), combined(force(), name=b'a\\"b'), combined(force(), name=b"\x01"),
    combined(force())[:-1] + b',"x":1}', combined(force(), name=b"n" * 101),
    bybit_all([(b"1739502302929", b"ROSEUSDT", b"Sell", b"2", b"1")] * 65),
    bybit_all([(b"1739502302929", b"ROSEUSDT", b"Sell", b"2", b"1")], ts=b"00"),
    bybit_all([(b"1739502302929", b"ROSEUSDT", b"Sell", b"2", b"1"), (b"17", b"ROSEUSDT", b"Sell", b"2", b"1")]),
    b"pong", b"", b"{", b'{"op":"pong","success":true,"ret_msg":"pong"}', b'{"event":"subscribe"}',
]

VARIANTS = [legacy(t=b"1739502302939") + b"\r", combined(force(t=b"1739502302939")) + b"\r"]  # taken: a trailing CR


def run_decoder(d, frames, recvs):
    rows = [d.feed_rows(f, r) for f, r in zip(frames, recvs)]
    arrs = [d.feed(f, r).tolist() for f, r in zip(frames, recvs)]  # again: duplicates now
    return rows, arrs, dict(d.counters), list(d.registry._rows)


@pytest.mark.parametrize("venue", ["bybit", "binance", "okx", None])
def test_documented_and_near_miss_frames_equal_the_checked_path(venue):
    frames = DOCUMENTED + NEAR + VARIANTS
    recvs = [RECV0 + i for i in range(len(frames))]
    assert run_decoder(fast(venue), frames, recvs) == run_decoder(checked(venue), frames, recvs)


def test_fast_path_takes_every_documented_shape_with_the_venue_side_conventions():
    d = fast(None)
    d.dedupe_horizon = 0  # a combined frame carries the same event as its raw twin
    sides = {}
    for f in DOCUMENTED:
        rows = d._live.rows(f, RECV0 + 10**9)
        assert rows is not None, f  # not left to the JSON path
        sides[f] = [r[5] for r in rows]
    assert sides[legacy()] == [2] and sides[legacy(side=b"Buy")] == [1]  # Bybit: Buy = a LONG liquidated
    assert sides[force()] == [2] and sides[combined(force(side=b"SELL"))] == [1]  # Binance: SELL = a LONG
    assert sides[okx()] == [2] and sides[okx(side=b"sell")] == [1]  # OKX order side sell = a LONG
    r = d._live.rows(okx(inst=b"ETH-USDT-SWAP", t=b"1739502302931", sz=b"7"), RECV0 + 10**9)[0]
    assert r[3] == 7 * 0.1 and r[7] == 3 and r[8] == 8  # contracts x ctVal, SAMPLED
    for f in NEAR:
        assert d._live.rows(f, RECV0) is None, f  # every near miss goes the checked way
    for f in VARIANTS:
        assert d._live.rows(f, RECV0) is not None, f


def test_feed_returns_a_new_writable_event_array_and_takes_other_types_the_python_way():
    d = fast("bybit")
    a = d.feed(legacy(), RECV0 + 10**9)
    assert a.dtype == EVENT_DTYPE and a.flags.writeable and a.flags.owndata and a.flags.aligned and len(a) == 1
    a["price"] = 1.0
    assert d.feed(legacy(), RECV0 + 10**9).size == 0  # a duplicate
    assert d.feed(legacy(t=b"1739502302930"), np.int64(RECV0)).tolist()[0][1] == RECV0  # numpy int: Python path
    assert d.feed_rows(bytearray(legacy(t=b"1739502302931")), RECV0)[0][0] == 1739502302931 * 10**6
    assert d.feed_rows(legacy(t=b"1739502302932"), "x")[0][1] == -1  # an unusable receive time: unknown
    assert d.feed(legacy(t=b"1739502302933"), 2**63)[0]["ts_recv"] == -1
    assert d.counters["events"] == 5 and d.counters["duplicate"] == 1


def test_clock_guard_and_settings_changed_after_construction():
    d = fast("bybit")
    t = 1739502302929
    late = t * 10**6 - 6 * 10**9  # the event is 6 s ahead of its receive time: dropped
    assert d.feed_rows(legacy(), late) == [] and d.counters["future_time"] == 1 and d.counters["rejected_frames"] == 1
    d.max_clock_skew_ns = 10 * 10**9
    assert len(d.feed_rows(legacy(), late)) == 1
    d.dedupe_horizon = 0
    assert len(d.feed(legacy(), late)) == 1  # no duplicate memory any more
    frame = bybit_all([(b"1739502302929", b"ROSEUSDT", b"Sell", b"2", b"1"), (b"1739502399999", b"ROSEUSDT", b"Sell", b"2", b"1")])
    d.max_clock_skew_ns = 0
    rows = d.feed_rows(frame, 1739502302929 * 10**6)
    assert [r[0] for r in rows] == [1739502302929 * 10**6] and d.counters["future_time"] == 2


# ------------------------------------------------------------------------------- hypothesis
def mostly(valid, invalid):
    """valid values about nine times in ten, else one of ``invalid``"""
    return st.one_of(*([valid] * 9), st.sampled_from(invalid))


TIMES = mostly(st.integers(1_739_502_302_929, 1_739_502_302_934).map(lambda t: b"%d" % t),
               [b"946684800000", b"4102444800000", b"0739502302929", b"17395023029", b"99999999999999",
                b"4102444800001", b"\xd9\xa1" * 13])
DECS = mostly(st.one_of(st.sampled_from([b"1", b"1.5", b"43511.70", b"0.00000001", b"1" + b"0" * 59]),
                        st.builds(lambda a, b: b"%d.%d" % (a, b), st.integers(0, 10**6), st.integers(0, 999))),
              [b"0", b"0.0", b"1" + b"0" * 60, b"9" * 400, b"1e3", b"-1", b"01", b"1.", b".5", b"\xd9\xa1", b" 1",
               b"nan", b"1_0"])
SYMS = mostly(st.sampled_from([b"BTCUSDT", b"ETHUSDT", b"ROSEUSDT"]),
              [b"btcusdt", b"", b"A" * 41, b"BTC\\u0055SDT", b"BTC-USDT", b"\xc3\xa9"])
INSTS = mostly(st.sampled_from([b"BTC-USDT-SWAP", b"ETH-USDT-SWAP", b"XRP-USDT-SWAP"]),
               [b"NOPE-USDT-SWAP", b"btc-usdt-swap", b""])
STRS = mostly(st.sampled_from([b"", b"0", b"short", b"net", b"x" * 64]), [b"a\\\"b", b"\xc3\xa9", b"x" * 65, b"\t"])


@st.composite
def shaped(draw):
    kind = draw(st.sampled_from(["all", "legacy", "force", "combined", "okx"]))
    t, q, p = draw(TIMES), draw(DECS), draw(DECS)
    if kind == "all":
        n = draw(st.integers(1, 4))
        items = [(draw(TIMES), draw(SYMS), draw(mostly(st.sampled_from([b"Buy", b"Sell"]), [b"buy"])), draw(DECS), draw(DECS))
                 for _ in range(n)]
        if draw(st.booleans()):
            items.append(items[0])  # a tie: the same event twice in one frame
        return bybit_all(items, sym=draw(SYMS))
    if kind == "legacy":
        return legacy(t=t, sym=draw(SYMS), side=draw(mostly(st.sampled_from([b"Buy", b"Sell"]), [b"sell", b"X"])), size=q, price=p)
    if kind in ("force", "combined"):
        f = force(t=t, sym=draw(SYMS), side=draw(mostly(st.sampled_from([b"BUY", b"SELL"]), [b"Sell"])), q=q, ap=p)
        return f if kind == "force" else combined(f, name=draw(mostly(st.sampled_from([b"!forceOrder@arr", b"x"]), [b"", b"a\\\"b"])))
    return okx(t=t, inst=draw(INSTS), side=draw(mostly(st.sampled_from([b"buy", b"sell"]), [b"BUY"])), sz=q, px=p, extra=draw(STRS))


@st.composite
def mutated(draw):
    f = draw(shaped())
    op = draw(st.sampled_from(["none"] * 6 + ["byte", "insert", "delete", "cr", "space"]))
    if op == "none" or not f:
        return f
    i = draw(st.integers(0, len(f) - 1))
    if op == "byte":
        return f[:i] + draw(st.sampled_from([b" ", b"\\", b'"', b"\xc3", b"0", b"9", b"}", b",", b"\x00"])) + f[i + 1:]
    if op == "insert":
        return f[:i] + draw(st.sampled_from([b" ", b"\n", b"\t", b"\xd9\xa1", b"1"])) + f[i:]
    if op == "delete":
        return f[:i] + f[i + 1:]
    if op == "cr":
        return f + b"\r"
    return b" " + f


RECVS = st.sampled_from([RECV0 + 10**9, RECV0 - 4 * 10**9, 1739502302929 * 10**6 - 5 * 10**9,
                         1739502302929 * 10**6 - 5 * 10**9 - 1, 5, 0, -1])


@pytest.mark.property
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(mutated(), RECVS), min_size=1, max_size=12), st.sampled_from(["bybit", "binance", "okx", None]),
       st.sampled_from([8192, 2, 0]))
def test_random_frames_fast_equals_checked(pairs, venue, horizon):
    frames = [f for f, _ in pairs] * 2  # every frame twice: duplicates
    recvs = [r for _, r in pairs] * 2
    a, b = fast(venue), checked(venue)
    a.dedupe_horizon = b.dedupe_horizon = horizon
    assert run_decoder(a, frames, recvs) == run_decoder(b, frames, recvs)


def _pair(venue: int, horizon: int):
    made = []
    for cls in (_scan.LiveScan, twin.LiveScan):
        d = D.Decoder()
        d.set_instruments(INSTRUMENTS)
        seen, ring = set(), deque()
        made.append((cls(venue, d._ids, d.sink.sid, d.counters, seen, ring, horizon, 5 * 10**9, d.sink.instruments), d))
    return made


@pytest.mark.property
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(mutated(), RECVS.filter(lambda r: r >= 0)), min_size=1, max_size=12),
       st.sampled_from([0, 1, 2, 3]), st.sampled_from([8192, 1, 0]), st.booleans())
def test_random_frames_kernel_equals_twin(pairs, venue, horizon, as_array):
    (k, kd), (t, td) = _pair(venue, horizon)
    for f, r in pairs * 2:
        if as_array:
            x, y = k.array(f, r), t.array(f, r)
            assert (x is None) == (y is None)
            if x is not None:
                assert x.dtype == y.dtype == EVENT_DTYPE and x.tolist() == y.tolist()
        else:
            assert k.rows(f, r) == t.rows(f, r)
    assert kd.counters == td.counters and kd._ids == td._ids


def test_twin_reads_the_documented_frames():
    for f in DOCUMENTED:
        assert twin.parse(f, 0), f
    for f in NEAR:
        assert twin.parse(f, 0) is None or twin.parse(f, 0) and f.startswith(b'{"arg"') and b"NOPE" in f, f
    assert orjson.loads(DOCUMENTED[0])  # the makers produce valid JSON
