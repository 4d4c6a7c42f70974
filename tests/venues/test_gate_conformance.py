"""Gate USDT perpetuals (futures API v4) against Gate's documents: the public frames decoded into events, the
side of a liquidation, contract sizes, and the order book's update-id rule.

Sources (each frame below is the document's own, or its shape with the values named in the test):

* Gate Futures WebSocket v4 (https://www.gate.com/docs/developers/futures/ws/en/): the common frame
  ``{"time", "time_ms", "channel", "event", "error", "result"}``; "public liquidates order API"
  (``futures.public_liquidates``, ``!all`` for every contract, "each contract can push up to one liquidate order
  data every 1 second", the notification ``{"price": 215.1, "size": -124, "time_ms": 1541486601123,
  "contract": "BTC_USD"}``, its table: ``size`` Integer "liquidate order quantity", ``time_ms``
  "time_in_milliseconds"); "Orders notification" (an order's ``size``: "Specify positive number to make a bid, and
  negative number to ask"); ``futures.trades`` (``size`` signed: the taker's side; ``is_internal``, added
  2023-09-21); ``futures.book_ticker`` (``t``, ``u``, ``s``, ``b``, ``B``, ``a``, ``A``); ``futures.ping`` ->
  ``futures.pong``; ``futures.system`` ``update`` with ``result.type`` ``upgrade`` (the service-upgrade notice,
  documented 2026-07); "Error": a refused request answered ``{"event": "subscribe", "error": {"code": 2,
  "message": "invalid argument"}, "result": null}`` (codes 1 "invalid argument struct", 2 "invalid argument", 11
  "Authentication failed"); ``futures.order_book_update`` (``U``/``u``, levels ``{"p", "s"}``) and "How to maintain
  local order book" (baseID from ``order_book?with_id=true``; start at ``U <= baseID+1 <= u``; drop
  ``u < baseID+1``; ``baseID+1 < U`` or a lost update: a new base book); its ``full`` field (changelog
  2025-05-22: "Added a new field ``full`` to ``futures.order_book_update``"; "``true`` indicates a full depth
  snapshot ... the user should replace the local order book with the provided data"; "When the value is
  ``false``, this field is omitted") and "Order Book V2 API", "Maintain local depth" (after a full push "the
  ``depth ID`` should be updated to the value of the ``u`` field"; then "If ``U`` equals the local ``depth ID`` +
  ``1``" the update follows).
* Gate API v4 REST (https://www.gate.com/docs/developers/apiv4/en/): ``GET /futures/{settle}/liq_orders``
  (public; ``size`` "User position size", ``order_size`` "Number of forced liquidation orders", ``order_price``
  "Liquidation order price", ``fill_price`` "Liquidation order average taker price") and its example record
  (``size`` 600, ``order_size`` -600, ``order_price`` "3405", ``fill_price`` "3424", ``left`` 0); "Create a futures
  order" (``size``: "Positive for buy, negative for sell"); ``GET /futures/{settle}/contracts`` (``name``,
  ``quanto_multiplier``: BTC_USDT "0.0001", ETH_USDT "0.01").
* Live frames of ``futures.public_liquidates`` quoted in gateio/WebSocket-API issue #132 (captured 2026-08-10):
  ``result`` a bare object whose time is ``time`` in milliseconds (no ``time_ms``): HEI_USDT ``size`` -23 at
  0.13827, then -9 at 0.13761 two seconds later.
* Independent clients read for agreement: tardis-node's ``gate-io-futures`` mappers (src/mappers/gateiofutures.ts:
  trades' ``size`` < 0 a sell, ``book_ticker`` and ``order_book_update``), ccxt's gate.py (contract markets with
  ``quanto_multiplier`` as the contract size), and Gate SDK users reading a public liquidation as
  ``|size| x quanto_multiplier``.

The side: a liquidation's ``size`` is the forced ORDER's ("liquidate order quantity"), signed as every Gate order
(positive a bid, negative an ask): a negative size is a forced sell, which closes a LONG position; a positive one a
forced buy, closing a SHORT.  Gate's REST record of a liquidation carries the same quantity as ``order_size`` (-600
for the long position ``size`` 600), and the live frames of issue #132 show it (negative sizes at falling prices:
longs liquidated into the fall).  See liqcore.venues.gate.parse's docstring and docs/maintainers/data.md.
"""
from __future__ import annotations

import numpy as np
import orjson
import pytest

from liqcore.types import Flag, Kind, Side

T0 = 1_541_486_601_123


def _frame(channel, result, event="update", time_ms=1_541_505_434_123):
    return orjson.dumps({"channel": channel, "event": event, "time": time_ms // 1000, "time_ms": time_ms,
                         "error": None, "result": result})


@pytest.fixture
def dec():
    from liqcore.venues.decoder import Decoder

    return Decoder("gate")


def test_the_venue_is_registered_with_its_facts_and_shows_gates_names():
    from liqcore.types import Venue
    from liqcore.venues.registry import venue_by_alias, venue_spec

    spec = venue_spec("gate")
    assert spec.code == 4 and Venue.parse("gate") == 4 and Venue(4).name.lower() == "gate"
    assert spec.sampled_liquidations and spec.sizes_in_contracts and spec.rest_depth_snapshots
    assert spec.instrument_of("BTC_USDT") == "BTC-USDT" and spec.symbol_for("ETH") == "ETH_USDT"
    assert spec.instrument_of("BTCUSDT") is None
    assert venue_by_alias("gate-io-futures") == "gate"


def test_the_documented_public_liquidation_decodes_into_a_long_liquidated_in_base_units(dec):
    """Gate Futures WebSocket v4, "public liquidate order notification": ``size`` -124, "liquidate order quantity"
    (the forced order's; negative: an ask, a forced SELL), so a LONG position liquidated."""
    # the document's notification, on a USDT contract the bundled list knows (BTC_USDT: 0.0001 BTC a contract)
    ev = dec.feed(_frame("futures.public_liquidates",
                         [{"price": 215.1, "size": -124, "time_ms": T0, "contract": "BTC_USDT"}]), T0 * 10**6 + 5)
    assert len(ev) == 1
    e = ev[0]
    assert e["kind"] == Kind.LIQUIDATION and e["side"] == Side.LONG and e["venue"] == 4
    assert e["ts_event"] == T0 * 1_000_000 and e["price"] == 215.1
    assert e["qty"] == pytest.approx(124 * 0.0001) and e["flags"] & Flag.SAMPLED
    assert dec.registry.items() == [("gate", "BTC_USDT")]


def test_the_sign_is_the_forced_orders_a_negative_size_a_long_liquidated_as_gates_documents_say():
    """The WS table: ``size`` "liquidate order quantity" (the forced ORDER's size); Gate signs an order's size
    positive for a bid, negative for an ask ("Orders notification": "Specify positive number to make a bid, and
    negative number to ask"; "Create a futures order": "Positive for buy, negative for sell").  A forced sell
    closes a long, a forced buy a short."""
    from liqcore.venues.gate.parse import liquidation_side

    assert liquidation_side(-124) == Side.LONG and liquidation_side(-0.5) == Side.LONG
    assert liquidation_side(124) == Side.SHORT and liquidation_side(2.25) == Side.SHORT


def test_the_ws_size_is_the_rest_records_order_size_the_forced_order_of_a_long_position():
    """Gate's REST record of a liquidation (``GET /futures/{settle}/liq_orders``): ``size`` "User position size"
    600 (a long), ``order_size`` "Number of forced liquidation orders" -600: the forced order that closes the long
    is negative (a sell; its ``fill_price`` 3424 above its ``order_price`` 3405, as a sell fills at or above its
    limit).  The WS row's ``size`` is that ``order_size``: read through the parser it is the LONG liquidated."""
    from liqcore.venues.gate.parse import liquidation_side

    rest = {"time": 1548654951, "contract": "BTC_USDT", "size": 600, "order_size": -600, "order_price": "3405",
            "fill_price": "3424", "left": 0}
    long_position = rest["size"] > 0
    sell_order = rest["order_size"] < 0 and float(rest["fill_price"]) > float(rest["order_price"])
    assert long_position and sell_order and rest["order_size"] == -rest["size"]
    assert liquidation_side(rest["order_size"]) == Side.LONG
    assert liquidation_side(-rest["order_size"]) == Side.SHORT  # (a short position's forced order: a buy)


def test_the_live_frames_of_issue_132_are_longs_liquidated_each_at_its_own_time(dec):
    """gateio/WebSocket-API issue #132 (2026-08-10): bare-object rows, their time ``time`` in ms (no ``time_ms``),
    negative sizes at falling prices: longs liquidated into the fall, each forced sell lower.  Each row keeps its
    own time (1 ms before the push's ``time_ms``), not the push's.  (The frames as quoted, on BTC_USDT: a contract
    whose multiplier the bundled list knows.)"""
    frames = [
        (b'{"time":1786327033,"time_ms":1786327033532,"channel":"futures.public_liquidates","event":"update",'
         b'"result":{"contract":"BTC_USDT","price":"0.13827","time":1786327033531,"size":-23}}'),
        (b'{"time":1786327035,"time_ms":1786327035702,"channel":"futures.public_liquidates","event":"update",'
         b'"result":{"contract":"BTC_USDT","price":"0.13761","time":1786327035701,"size":-9}}'),
    ]
    ev = np.concatenate([dec.feed(f, 1786327036000 * 10**6) for f in frames])
    assert ev["side"].tolist() == [Side.LONG, Side.LONG]
    assert ev["price"].tolist() == [0.13827, 0.13761]
    assert ev["ts_event"].tolist() == [1786327033531 * 10**6, 1786327035701 * 10**6]
    assert ev["qty"].tolist() == [pytest.approx(23 * 0.0001), pytest.approx(9 * 0.0001)]


def test_a_batched_lists_rows_keep_their_own_times_time_ms_then_time_then_the_push(dec):
    """Each row's own time: its ``time_ms``; else its ``time`` (milliseconds at that magnitude, as the live rows of
    issue #132; seconds otherwise); only a row with neither takes the push's ``time_ms``."""
    push = T0 + 5_000
    ev = dec.feed(_frame("futures.public_liquidates", [
        {"price": "100", "size": "-1", "time_ms": T0, "contract": "ETH_USDT"},
        {"price": "101", "size": "-1", "time": T0 + 1_000, "contract": "ETH_USDT"},        # ms
        {"price": "102", "size": "-1", "time": (T0 + 2_000) / 1000, "contract": "ETH_USDT"},  # s (a fraction)
        {"price": "103", "size": "-1", "time": "1541486604", "contract": "ETH_USDT"},     # s, a string
        {"price": "104", "size": "-1", "contract": "ETH_USDT"},                           # none: the push's
        {"price": "105", "size": "-1", "time": 12345, "contract": "ETH_USDT"},            # no time: bad_time
    ], time_ms=push), push * 10**6)
    assert ev["ts_event"].tolist() == [T0 * 10**6, (T0 + 1_000) * 10**6, (T0 + 2_000) * 10**6,
                                       1541486604000 * 10**6, push * 10**6]
    assert dec.counters["bad_time"] == 1


def test_a_refused_subscription_is_counted_and_logged_once_with_gates_message(dec, caplog, monkeypatch):
    """Gate's "Error" answer ``{"event": "subscribe", "error": {"code": 2, "message": ...}, "result": null}``: not
    lost as a plain acknowledgement.  Counted ``subscribe_refused`` each time; logged once (the channel, the code
    and Gate's message), with nothing else of the frame (its payload)."""
    import logging

    from liqcore.venues.gate import parse as gate_parse

    monkeypatch.setattr(gate_parse, "_REFUSALS_LOGGED", set())  # (what earlier tests of this process logged)
    refused = orjson.dumps({"time": 1545459681, "time_ms": 1545459681123, "channel": "futures.order_book_update",
                            "event": "subscribe", "payload": ["SECRET_PAYLOAD_USDT", "100ms", "20"],
                            "error": {"code": 2, "message": "invalid argument: level 7 (test 5)"}, "result": None})
    ok = orjson.dumps({"time": 1545459681, "time_ms": 1545459681123, "channel": "futures.trades",
                       "event": "subscribe", "payload": ["BTC_USDT"], "error": None,
                       "result": {"status": "success"}})
    with caplog.at_level(logging.WARNING, logger="liqcore.gate.parse"):
        for f in (refused, ok, refused):
            assert len(dec.feed(f, 1545459681200 * 10**6)) == 0
    assert dec.counters["subscribe_refused"] == 2 and dec.counters["control"] == 3
    lines = [r.getMessage() for r in caplog.records if r.name == "liqcore.gate.parse"]
    assert len(lines) == 1, lines
    assert "futures.order_book_update" in lines[0] and "code 2" in lines[0]
    assert "invalid argument: level 7 (test 5)" in lines[0] and "SECRET_PAYLOAD" not in lines[0]


def test_one_object_or_a_batched_list_and_decimal_string_sizes_never_floored(dec):
    one = _frame("futures.public_liquidates", {"price": "3000.5", "size": "3", "time_ms": T0, "contract": "ETH_USDT"})
    batch = _frame("futures.public_liquidates", [
        {"price": "3000.4", "size": "0.5", "time_ms": T0 + 1, "contract": "ETH_USDT"},   # X-Gate-Size-Decimal: 1
        {"price": "60000", "size": "-2.25", "time_ms": T0 + 2, "contract": "BTC_USDT"},
        {"price": "1", "size": "1", "time_ms": T0 + 3, "contract": "NOPE_USDT"},       # no multiplier known
        {"price": "2990", "size": "0", "time_ms": T0 + 4, "contract": "ETH_USDT"},      # no size
    ])
    a = dec.feed(one, T0 * 10**6)
    b = dec.feed(batch, T0 * 10**6 + 9)
    assert a["side"].tolist() == [Side.SHORT] and a["qty"].tolist() == [pytest.approx(0.03)]  # a forced buy
    assert b["side"].tolist() == [Side.SHORT, Side.LONG]
    assert b["qty"].tolist() == [pytest.approx(0.005), pytest.approx(2.25 * 0.0001)]
    assert dec.counters["unknown_instrument"] == 1 and dec.counters["non_positive"] == 1


def test_trades_sign_is_the_takers_side_and_internal_trades_are_left_out(dec):
    f = _frame("futures.trades", [
        {"size": -108, "id": 27753479, "create_time": 1545136464, "create_time_ms": 1545136464123, "price": "96.4",
         "contract": "ETH_USDT", "is_internal": False},
        {"size": "2", "id": 27753480, "create_time": 1545136464, "create_time_ms": 1545136464124, "price": "96.5",
         "contract": "ETH_USDT"},
        {"size": 5, "id": 27753481, "create_time": 1545136464, "create_time_ms": 1545136464125, "price": "90",
         "contract": "ETH_USDT", "is_internal": True},
    ])
    ev = dec.feed(f, 1545136464200 * 10**6)
    assert ev["kind"].tolist() == [Kind.TRADE, Kind.TRADE]
    assert ev["side"].tolist() == [Side.SELL, Side.BUY]
    assert ev["qty"].tolist() == [pytest.approx(1.08), pytest.approx(0.02)]
    assert dec.sink.counters["internal_trade"] == 1


def test_book_ticker_is_two_quotes_and_an_empty_side_is_zero(dec):
    f = _frame("futures.book_ticker", {"t": 1615366379123, "u": 2517661076, "s": "BTC_USDT", "b": "54696.6",
                                       "B": 37000, "a": "54696.7", "A": "47061"})
    ev = dec.feed(f, 1615366379200 * 10**6)
    assert ev["kind"].tolist() == [Kind.QUOTE, Kind.QUOTE] and ev["side"].tolist() == [Side.BUY, Side.SELL]
    assert ev["price"].tolist() == [54696.6, 54696.7]
    assert ev["qty"].tolist() == [pytest.approx(3.7), pytest.approx(4.7061)]
    empty = dec.feed(_frame("futures.book_ticker", {"t": 1615366379124, "u": 2517661077, "s": "BTC_USDT", "b": "",
                                                    "B": 0, "a": "54696.7", "A": 1}), 1615366379300 * 10**6)
    assert empty["price"].tolist()[0] == 0.0 and empty["qty"].tolist()[0] == 0.0


def test_pong_subscribe_answers_and_system_notices_are_control_depth_is_counted(dec):
    from liqcore.venues.common import CONTROL, Sink
    from liqcore.venues.gate.parse import parse_obj

    sink = Sink()
    assert parse_obj({"time": 1545404023, "time_ms": 1545404023123, "channel": "futures.pong", "event": "",
                      "result": None}, sink) == CONTROL
    assert parse_obj({"time": 1545404023, "channel": "futures.public_liquidates", "event": "subscribe",
                      "result": {"status": "success"}}, sink) == CONTROL
    notice = {"time": 1782378978, "time_ms": 1782378978107, "channel": "futures.system", "event": "update",
              "result": {"type": "upgrade", "msg": "The connection will soon be closed for a service upgrade. "
                                                   "Please reconnect."}}
    assert parse_obj(notice, sink) == CONTROL and sink.counters["system_upgrade"] == 1
    upd = {"channel": "futures.order_book_update", "event": "update", "time_ms": 1615366381417,
           "result": {"t": 1615366381417, "s": "BTC_USDT", "U": 2517661101, "u": 2517661113,
                      "b": [{"p": "54672.1", "s": 0}], "a": [{"p": "54743.6", "s": 0}]}}
    assert parse_obj(upd, sink) == 0 and sink.counters["depth_skipped"] == 1
    assert len(dec.feed(b'{"channel":"futures.candles_unknown","event":"update","result":[]}', 1)) == 0
    assert dec.counters["unknown_topic"] == 1


def test_the_bundled_contracts_are_shaped_as_documented_and_a_contract_list_file_is_read(tmp_path):
    from liqcore.venues.gate.contracts import shipped_contracts
    from liqcore.venues.instruments import default_instruments, load_instruments

    rows = shipped_contracts()
    assert {"name", "type", "quanto_multiplier", "order_price_round", "order_size_min", "order_size_max",
            "mark_price_round", "leverage_max", "in_delisting"} <= set(rows[0])
    table = default_instruments()
    assert table["BTC_USDT"] == 0.0001 and table["ETH_USDT"] == 0.01 and table["BTC-USDT-SWAP"] == 0.01
    other = tmp_path / "contracts.json"
    other.write_bytes(orjson.dumps([{"name": "PEPE_USDT", "type": "direct", "quanto_multiplier": "10000000",
                                     "order_price_round": "0.000000001", "order_size_min": 1}]))
    assert load_instruments(other)["PEPE_USDT"] == 10_000_000.0
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps([{"name": "X_USDT", "quanto_multiplier": "0"}]))
    with pytest.raises(ValueError, match="quanto_multiplier of 'X_USDT'"):
        load_instruments(bad)


def test_the_order_book_follows_gates_update_id_rule():
    from liqcore.venues.gate.depth import GateDepthSync

    s = GateDepthSync(0.0001)
    upd = lambda U, u, b=(), a=(): {"t": 1, "s": "BTC_USDT", "U": U, "u": u,  # noqa: E731
                                    "b": [{"p": p, "s": q} for p, q in b], "a": [{"p": p, "s": q} for p, q in a]}
    assert s.event(upd(95, 99, b=[("99", 1)])) == ([], False)      # cached until the base book
    s.event(upd(100, 104, b=[("100", 5)]))
    assert s.wants_snapshot()
    rows = s.snapshot({"id": 101, "current": 1, "update": 1,
                       "bids": [{"p": "100", "s": 10}], "asks": [{"p": "101", "s": 20}]})
    # the base book, then the one cached update that holds baseID+1 = 102 (100 <= 102 <= 104); 95..99 dropped
    assert rows[:2] == [(Side.BUY, 100.0, pytest.approx(0.001), Flag.SNAPSHOT),
                        (Side.SELL, 101.0, pytest.approx(0.002), Flag.SNAPSHOT)]
    assert rows[2:] == [(Side.BUY, 100.0, pytest.approx(0.0005), 0)] and s.is_live()
    assert s.event(upd(105, 106, a=[("101", 0)]))[0] == [(Side.SELL, 101.0, 0.0, 0)]
    out, resync = s.event(upd(108, 109))                            # 107 lost
    assert resync and out[0][3] == Flag.DEPTH_GAP and s.wants_snapshot()
    # a base book older than the first cached notification (baseID+1 < U): a break, ask again
    s2 = GateDepthSync()
    s2.event(upd(200, 210))
    rows = s2.snapshot({"id": 150, "bids": [], "asks": []})
    assert rows[-1][3] == Flag.DEPTH_GAP and s2.wants_snapshot()


def _book_after(rows_list):
    """The book (side, price) -> qty after DEPTH rows as the readers apply them: a SNAPSHOT run replaces it."""
    book, in_run = {}, False
    for rows in rows_list:
        for side, px, q, fl in rows:
            if fl & Flag.SNAPSHOT:
                if not in_run:
                    book, in_run = {}, True
            else:
                in_run = False
            if q:
                book[(side, px)] = q
            else:
                book.pop((side, px), None)
        in_run = False  # (each call is one message: one receive time)
    return book


def test_a_full_push_replaces_the_book_with_or_without_U_and_its_u_anchors_the_next_update():
    """``futures.order_book_update`` with ``"full": true`` (changelog 2025-05-22; "the user should replace the local
    order book with the provided data"): a SNAPSHOT run (a level it does not hold is gone), no REST base book asked
    for, the cached updates before it dropped; its ``u`` the depth id the next update follows (``U`` = ``u`` + 1,
    "Order Book V2 API", "Maintain local depth"), another ``U`` a break.  Without ``U`` (as Gate's full pushes come)
    nothing raises."""
    from liqcore.venues.gate.depth import GateDepthSync
    from liqcore.venues.gate.samples import depth_frame

    def res(*a, **k):
        return orjson.loads(depth_frame("BTC_USDT", 1, *a, **k))["result"]

    s = GateDepthSync(0.0001)
    s.event(res([("99", 1)], (), 95, 99))                           # a cached update, then a base book from REST
    base = s.snapshot({"id": 100, "bids": [{"p": "100", "s": 10}, {"p": "99.5", "s": 3}],
                       "asks": [{"p": "101", "s": 20}]})
    assert "full" not in res([("1", 1)], (), 1, 2)                    # (an update leaves the field out)
    full = res([("98", 4), ("97", 0)], [("102", 6)], full=True, last_id=140)
    assert "U" not in full
    rows, brk = s.event(full)
    assert not brk and rows == [(Side.BUY, 98.0, pytest.approx(0.0004), Flag.SNAPSHOT),
                                (Side.SELL, 102.0, pytest.approx(0.0006), Flag.SNAPSHOT)]
    assert _book_after([base, rows]) == {(Side.BUY, 98.0): pytest.approx(0.0004),
                                         (Side.SELL, 102.0): pytest.approx(0.0006)}
    assert s.is_live() and not s.wants_snapshot()
    assert s.event(res([("98", 5)], (), 141, 142)) == ([(Side.BUY, 98.0, pytest.approx(0.0005), 0)], False)
    out, brk = s.event(res((), (), 144, 145))                        # 143 lost
    assert brk and out[0][3] == Flag.DEPTH_GAP and s.wants_snapshot()
    # a full push (with U too) while the book waits for a base book: the book, the cached update dropped
    rows, brk = s.event(res([("97", 2)], (), 150, 160, full=True))
    assert not brk and rows == [(Side.BUY, 97.0, pytest.approx(0.0002), Flag.SNAPSHOT)] and not s.buffer
    assert s.is_live() and not s.wants_snapshot()
    assert s.event(res((), [("103", 1)], 161, 161))[0] == [(Side.SELL, 103.0, pytest.approx(0.0001), 0)]
    # a full push without U or u as the first of a subscription: the book at once; the next update starts the chain
    s2 = GateDepthSync()
    rows, brk = s2.event(res([("10", 1)], [("11", 1)], full=True))
    assert not brk and [r[3] for r in rows] == [Flag.SNAPSHOT, Flag.SNAPSHOT] and s2.is_live()
    assert s2.event(res([("10", 0)], (), 7, 9)) == ([(Side.BUY, 10.0, 0.0, 0)], False)
    assert s2.event(res((), (), 10, 10)) == ([], False)
    assert s2.event(res((), (), 12, 12))[1]                          # 11 lost


def test_tardis_gate_io_futures_files_read_under_gate_in_base_units(tmp_path):
    """tardis.dev's ``gate-io-futures`` CSVs (tardis-node's gate-io-futures mappers: ``amount`` = ``|size|`` in
    contracts, ``side`` from the sign of ``size``) read under the venue gate, each amount x quanto_multiplier."""
    from liqcore.dataset.load import load_events

    t0 = 1_722_470_400_000_000
    trades = tmp_path / "gate-io-futures_trades_2024-08-01_BTC_USDT.csv"
    trades.write_text("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n" + "".join(
        f"gate-io-futures,BTC_USDT,{t0 + i * 1000},{t0 + i * 1000 + 50},{900 + i},{'buy' if i % 2 else 'sell'},"
        f"64000.{i},{10 + i}\n" for i in range(6)))
    res = load_events(trades)
    ev = res.events
    assert len(ev) == 6 and set(ev["venue"].tolist()) == {4} and res.registry.items() == [("gate", "BTC_USDT")]
    assert ev["qty"].tolist() == [pytest.approx((10 + i) * 0.0001) for i in range(6)]
    assert ev["side"].tolist() == [Side.SELL, Side.BUY] * 3
    quotes = tmp_path / "gate-io-futures_quotes_2024-08-01_ETH_USDT.csv"
    quotes.write_text("exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
                      f"gate-io-futures,ETH_USDT,{t0},{t0 + 10},250,3000.5,3000.4,100\n")
    q = load_events(quotes).events
    assert sorted(q["qty"].tolist()) == [pytest.approx(1.0), pytest.approx(2.5)]


def test_a_raw_file_of_gate_frames_finds_gate_by_their_shape_among_the_other_venues(tmp_path):
    """``--format raw`` (one frame a line, the venue told by shape): a Gate push holds an "event" as OKX's frames do,
    so Gate's own shape test (``parse.is_frame``: a top-level ``futures.`` channel) is asked first; its liquidation
    and trade are Gate's, its subscription answer a control line, and the Binance and OKX lines stay theirs."""
    from liqcore.io import load_files
    from liqcore.venues.decoder import detect_venue

    okx_ack = b'{"event":"subscribe","arg":{"channel":"liquidation-orders","instType":"SWAP"},"connId":"a4d3ae55"}'
    binance = (b'{"e":"forceOrder","E":1541486601200,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC","q":"0.1",'
               b'"p":"6000","ap":"6010","X":"FILLED","l":"0.1","z":"0.1","T":1541486601150}}')
    lines = [_frame("futures.public_liquidates", [{"price": 6100.5, "size": -124, "time_ms": T0, "contract": "BTC_USDT"}]),
             _frame("futures.trades", [{"id": 1, "create_time_ms": T0 + 7, "price": "6100.1", "size": 30,
                                        "contract": "BTC_USDT"}]),
             _frame("futures.public_liquidates", {"status": "success"}, event="subscribe"), okx_ack, binance]
    p = tmp_path / "raw.jsonl"
    p.write_bytes(b"\n".join(lines) + b"\n")
    got = load_files([p], format="raw")
    ev = got.events
    assert sorted(zip(ev["venue"].tolist(), ev["kind"].tolist())) == [(2, int(Kind.LIQUIDATION)),
                                                                      (4, int(Kind.LIQUIDATION)), (4, int(Kind.TRADE))]
    gate = ev[ev["venue"] == 4]
    assert gate["qty"].tolist() == pytest.approx([124 * 0.0001, 30 * 0.0001])
    assert [detect_venue(orjson.loads(x)) for x in lines] == [4, 4, 4, 3, 2]
    assert got.files[str(p)]["rejects"] == {"control": 2}  # (the two subscription answers)
