"""The depth-stream protocol state machines (liqcore.venues.depthsync) against each venue's documented rules.

Binance USD-M "How to manage a local order book correctly": "Drop any event where u is < lastUpdateId in
the snapshot"; "The first processed event should have U <= lastUpdateId AND u >= lastUpdateId"; "While
listening to the stream, each new event's pu should be equal to the previous event's u, otherwise
initialize the process from step 3."
Bybit v5 orderbook: "If you receive a new snapshot message, you will have to reset your local orderbook";
"If u=1, that is a snapshot data due to the restart of the service. So please overwrite your local
orderbook"; "sz 0 means delete".
OKX v5 books: "bid[price:amount]:ask[price:amount]:bid[price:amount]:ask[price:amount]..." over the top 25
levels, "3366.1:7:3366.8:9:3366:6:3368:8" for the documented two-level example; CRC32 as a signed 32-bit int;
prevSeqId must equal the previous message's seqId.
"""
import zlib

from liqcore.types import Flag, Side
from liqcore.venues.depthsync import GAP, BinanceDepthSync, BybitDepthSync, OkxDepthSync, okx_checksum

S = int(Flag.SNAPSHOT)


def _signed(crc):
    return crc - (1 << 32) if crc >= (1 << 31) else crc


def test_okx_checksum_string_is_the_documented_interleave():
    bids = [["3366.1", "7", "0", "3"], ["3366", "6", "3", "4"]]
    asks = [["3366.8", "9", "10", "3"], ["3368", "8", "3", "4"]]
    assert okx_checksum(bids, asks) == _signed(zlib.crc32(b"3366.1:7:3366.8:9:3366:6:3368:8"))
    # one side longer than the other: the missing side is skipped
    assert okx_checksum(bids, asks[:1]) == _signed(zlib.crc32(b"3366.1:7:3366.8:9:3366:6"))
    assert -(1 << 31) <= okx_checksum(bids, asks) < (1 << 31)


def test_binance_sync_buffers_drops_stale_and_detects_pu_break():
    s = BinanceDepthSync()
    ev = lambda U, u, pu, b=(), a=(): {"U": U, "u": u, "pu": pu, "b": list(b), "a": list(a)}
    assert s.event(ev(90, 95, 89, [["1", "1"]])) == ([], False)          # buffered before the snapshot
    assert s.event(ev(96, 101, 95, [["2", "3"]])) == ([], False)
    rows = s.snapshot({"lastUpdateId": 100, "bids": [["1", "5"]], "asks": [["3", "2"]]})
    assert rows[:2] == [(int(Side.BUY), 1.0, 5.0, S), (int(Side.SELL), 3.0, 2.0, S)]
    assert rows[2:] == [(int(Side.BUY), 2.0, 3.0, 0)]                    # u=95 dropped, 96..101 straddles 100
    assert s.event(ev(102, 104, 101, [], [["3", "0"]])) == ([(int(Side.SELL), 3.0, 0.0, 0)], False)
    assert s.event(ev(106, 108, 105)) == ([GAP], True)                   # pu 105 != previous u 104
    assert s.event(ev(109, 110, 108)) == ([], False)                     # buffered until a new snapshot
    rows = s.snapshot({"lastUpdateId": 109, "bids": [], "asks": []})
    assert rows == []                                                    # buffered 106..108 dropped (u < 109), 109..110 applied (empty)
    assert s.prev_u == 110


def test_binance_first_event_not_straddling_is_a_gap():
    s = BinanceDepthSync()
    s.snapshot({"lastUpdateId": 100, "bids": [], "asks": []})
    assert s.event({"U": 105, "u": 110, "pu": 104, "b": [], "a": []}) == ([GAP], True)


def test_bybit_snapshot_delta_reset_and_stale_u():
    s = BybitDepthSync()
    assert s.message({"type": "delta", "data": {"u": 5, "b": [], "a": []}}) == ([], False)  # before a snapshot
    rows, _ = s.message({"type": "snapshot", "data": {"u": 10, "b": [["1", "2"]], "a": [["2", "1"]]}})
    assert rows == [(int(Side.BUY), 1.0, 2.0, S), (int(Side.SELL), 2.0, 1.0, S)]
    assert s.message({"type": "delta", "data": {"u": 11, "b": [["1", "0"]], "a": []}}) == ([(int(Side.BUY), 1.0, 0.0, 0)], False)
    rows, resync = s.message({"type": "snapshot", "data": {"u": 1, "b": [["1", "4"]], "a": []}})  # service restart
    assert rows == [GAP, (int(Side.BUY), 1.0, 4.0, S)] and not resync
    assert s.message({"type": "delta", "data": {"u": 1, "b": [], "a": []}}) == ([GAP], True)


def _okx(action, bids, asks, seq, prev, book):
    return {"action": action, "data": [{"bids": bids, "asks": asks, "seqId": seq, "prevSeqId": prev,
                                        "checksum": okx_checksum(*book)}]}


def test_okx_seq_and_checksum():
    s = OkxDepthSync()
    b0, a0 = [["100", "1", "0", "1"], ["99", "2", "0", "1"]], [["101", "3", "0", "1"]]
    rows, resync = s.message(_okx("snapshot", b0, a0, 10, -1, (b0, a0)))
    assert not resync and all(r[3] == S for r in rows) and len(rows) == 3
    upd_b = [["100", "0", "0", "0"]]
    rows, resync = s.message(_okx("update", upd_b, [], 11, 10, ([["99", "2"]], [["101", "3"]])))
    assert rows == [(int(Side.BUY), 100.0, 0.0, 0)] and not resync
    assert s.message(_okx("update", [], [], 13, 12, ([["99", "2"]], [["101", "3"]]))) == ([GAP], True)
    s.message(_okx("snapshot", b0, a0, 20, -1, (b0, a0)))
    bad = _okx("update", [["98", "1", "0", "1"]], [], 21, 20, (b0, a0))  # checksum of the old book: mismatch
    rows, resync = s.message(bad)
    assert rows[-1] == GAP and resync


def test_reader_of_recorded_lines_rebuilds_with_gaps_and_counts_bad_frames():
    from liqcore.venues.depthsync import depth_rows_from_lines
    lines = [
        {"recv_ns": 1, "venue": "binance", "frame": {"stream": "ethusdt@depth@100ms", "data": {
            "e": "depthUpdate", "s": "ETHUSDT", "U": 99, "u": 101, "pu": 98, "b": [["10", "1"]], "a": []}}},
        {"recv_ns": 2, "venue": "binance", "rest": {"symbol": "ETHUSDT", "body": {
            "lastUpdateId": 100, "bids": [["10", "5"]], "asks": [["11", "1"]]}}},
        {"recv_ns": 3, "venue": "binance", "frame": {"data": {"e": "depthUpdate", "s": "ETHUSDT", "U": 102,
                                                              "u": 103, "pu": 101, "b": [], "a": [["11", "0"]]}}},
        {"recv_ns": 4, "venue": "binance", "frame": {"data": {"e": "depthUpdate", "s": "ETHUSDT", "U": "x"}}},
        {"recv_ns": 5, "venue": "binance", "gap": {"reason": "reconnect"}},
    ]
    counts = {}
    rows = list(depth_rows_from_lines(lines, counts))
    B, A = int(Side.BUY), int(Side.SELL)
    assert rows == [(2, "binance", "ETHUSDT", B, 10.0, 5.0, S), (2, "binance", "ETHUSDT", A, 11.0, 1.0, S),
                    (2, "binance", "ETHUSDT", B, 10.0, 1.0, 0), (3, "binance", "ETHUSDT", A, 11.0, 0.0, 0),
                    (5, "binance", "ETHUSDT") + GAP]
    assert counts["bad_frames"] == 1


def _upd(seq, prev, bids=(), asks=(), checksum=0):
    return {"action": "update", "data": [{"bids": [list(b) + ["0", "1"] for b in bids],
                                          "asks": [list(a) + ["0", "1"] for a in asks],
                                          "seqId": seq, "prevSeqId": prev, "checksum": checksum}]}


def test_okx_updates_only_wait_for_the_rest_snapshot_and_follow_the_documented_steps():
    """OKX's changelog ("Delist initial snapshot and checksum field in order book channels"): buffer the updates;
    get GET /api/v5/market/books; "If the seqId from the snapshot is strictly less than the prevSeqId from step
    2, go back to step 3"; "discard any event where stream seqId is <= snapshot seqId"; "The first buffered event
    should satisfy ... stream prevSeqId <= snapshot seqId < stream seqId"; checksum 0: deprecated, not checked."""
    s = OkxDepthSync()
    assert s.message(_upd(45, 40, [["99.7", "1"]])) == ([], False) and s.wants_snapshot()
    assert s.message(_upd(52, 45, [["100", "4"]])) == ([], False)
    # a snapshot older than the first buffered update (its prevSeqId 40): nothing, asked for again
    assert s.snapshot({"code": "0", "data": [{"seqId": 30, "bids": [], "asks": []}]}) == [] and s.wants_snapshot()
    rows = s.snapshot({"code": "0", "data": [{"seqId": 50, "bids": [["100", "5", "0", "1"]],
                                               "asks": [["101", "1", "0", "1"]]}]})
    assert rows == [(B, 100.0, 5.0, S), (A, 101.0, 1.0, S), (B, 100.0, 4.0, 0)]  # 45 dropped, 52 applied
    assert not s.wants_snapshot() and s.seq == 52
    assert s.message(_upd(53, 52, (), [["101", "0"]])) == ([(A, 101.0, 0.0, 0)], False)  # checksum 0: not checked
    assert s.message(_upd(60, 58)) == ([GAP], True) and s.wants_snapshot()  # prevSeqId 58 != 53
    assert s.message(_upd(70, 65)) == ([], False)  # buffered
    # a snapshot after which the first update kept (70: 60 <= 62 dropped) does not continue it (65 > 62): a break
    rows = s.snapshot({"data": [{"seqId": 62, "bids": [], "asks": []}]})
    assert rows == [GAP] and s.wants_snapshot()
    rows = s.snapshot({"data": [{"seqId": 66, "bids": [["99", "2", "0", "1"]], "asks": []}]})
    assert rows == [(B, 99.0, 2.0, S)] and s.seq == 70 and not s.wants_snapshot()


def test_okx_recorded_before_the_delisting_still_reads():
    """A recording with the stream's own snapshot and real checksums (before June 2026) keeps its meaning."""
    s = OkxDepthSync()
    b0, a0 = [["100", "1", "0", "1"]], [["101", "3", "0", "1"]]
    rows, resync = s.message({"action": "snapshot", "data": [{"bids": b0, "asks": a0, "seqId": 5, "prevSeqId": -1,
                                                               "checksum": okx_checksum(b0, a0)}]})
    assert not resync and len(rows) == 2 and not s.wants_snapshot()


B, A = int(Side.BUY), int(Side.SELL)
