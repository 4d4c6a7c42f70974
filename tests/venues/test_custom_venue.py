"""A venue defined outside the package, registered at run time (issue 68): the registry is the whole interface.

The test writes a minimal venue, "rekt" (code 77; its source: tests/_rekt_venue.py), to ``tmp_path``: its own frame format (``{"ch": "rekt" |
"fills", "d": [...]}``) and its own side convention (a liquidation's ``w`` names the position WIPED OUT: ``L`` a
long, ``S`` a short; a fill's ``a`` the aggressor: ``b`` / ``s``), as the four parts a paper run asks for:
``parse`` (frames -> events), ``stream`` (the public connection: URL, subscribe message, what it delivers),
``watch`` (its frames' stream keys, for the silent-stream watch) and ``fake_streams`` (how the shared local fake,
:class:`liqcore.venues.fake_streams.FakeMarketStream`, serves it).
Nothing in the package names it: its frames are decoded into events with the right sides, and a paper run over a
local websocket on 127.0.0.1 (the runner, the engine, the detector, the paper venue, the journal, the summary line)
detects its cascades and books an order and a fill; a recording of it loads, converts into a dataset and reads
back with its events under its own code.  An unregistered name is the one-line UnknownVenue error.
"""
from __future__ import annotations

import asyncio
import importlib
import sys
import time

import numpy as np
import pytest

from _rekt_venue import CODE, fill_frame, liq_frame, registered


@pytest.fixture
def rekt(tmp_path, monkeypatch):
    """The venue "rekt" written to ``tmp_path`` as the package ``rekt_venue`` and registered; forgotten after."""
    yield from registered(tmp_path, monkeypatch)


_liq, _fill = liq_frame, fill_frame


def test_its_frames_decode_into_events_with_its_own_side_convention(rekt):
    from liqcore.types import Kind, Side, Venue
    from liqcore.venues.decoder import Decoder

    assert Venue.parse("rekt") == CODE and Venue(CODE).name.lower() == "rekt" and Venue["REKT"] == CODE
    dec = Decoder("rekt")
    t = int(time.time() * 1000)
    ev = np.concatenate([dec.feed(f, t * 1_000_000) for f in (
        _liq("ROCKET_PERP", t, 40.0, 2.5, "L"), _liq("ROCKET_PERP", t + 1, 3.0, 2.6, "S"),
        _fill("ROCKET_PERP", t + 2, 1.5, 2.55, "b"), _fill("ROCKET_PERP", t + 3, 2.0, 2.54, "s"))])
    assert ev["kind"].tolist() == [Kind.LIQUIDATION, Kind.LIQUIDATION, Kind.TRADE, Kind.TRADE]
    assert ev["side"].tolist() == [Side.LONG, Side.SHORT, Side.BUY, Side.SELL]
    assert ev["venue"].tolist() == [CODE] * 4 and ev["price"].tolist() == [2.5, 2.6, 2.55, 2.54]
    assert dec.registry.items() == [("rekt", "ROCKET_PERP")]
    # a frame of its format it cannot read is counted and dropped, never a crash of the stream
    assert len(dec.feed(b'{"ch":"rekt","d":[{"i":"ROCKET_PERP","p":"2.5","q":"1","ts":1,"w":"X"}]}', t)) == 0
    assert len(dec.feed(b'{"ch":"candles","d":[]}', t)) == 0 and dec.counters["unknown_topic"] == 1


def test_an_item_of_a_shape_its_parser_never_checked_is_counted_and_the_rest_of_the_frame_kept(rekt):
    """The parser of docs/how-to/write-a-venue-plugin.md (``except Exception as r: sink.reject_item(r)`` around each
    item, no check of the item's type): a number where an item belongs raises AttributeError inside the loop;
    ``Sink.reject_item`` counts it as ``bad_item`` (a Reject under its reason), and the good item of the same frame
    is an event.  (Before, reject_item read ``.reason`` of the AttributeError: the frame was lost as bad_frame.)"""
    from liqcore.venues.common import REJECT_REASONS, Reject, Sink
    from liqcore.venues.decoder import Decoder

    dec = Decoder("rekt")
    t = int(time.time() * 1000)
    good = b'{"i":"ROCKET_PERP","p":"2.5","q":"1","ts":%d,"w":"S"}' % t
    bad_side = b'{"i":"ROCKET_PERP","p":"2.5","q":"2","ts":%d,"w":"X"}' % t
    ev = dec.feed(b'{"ch":"rekt","d":[1,' + good + b',"x",' + bad_side + b']}', t * 1_000_000)
    assert ev["side"].tolist() == [2] and ev["qty"].tolist() == [1.0]
    c = dec.counters
    assert (c.get("bad_item"), c.get("bad_side"), c.get("bad_frame", 0)) == (2, 1, 0)
    assert (c["accepted_frames"], c["rejected_frames"], c["events"]) == (1, 0, 1)
    # a frame of nothing but such items is rejected (counted), as one of bad sides is
    assert len(dec.feed(b'{"ch":"rekt","d":[null,[]]}', t * 1_000_000)) == 0
    assert (c["bad_item"], c["rejected_frames"], c.get("bad_frame", 0)) == (4, 1, 0)

    sink = Sink()
    sink.reject_item(KeyError("p"))
    sink.reject_item(Reject("non_positive", "q"))
    assert sink.counters == {"bad_item": 1, "non_positive": 1} and sink.item_rejects == 2
    assert (sink.last.reason, sink.last.field) == ("non_positive", "q") and "bad_item" in REJECT_REASONS


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_a_paper_run_over_its_local_stream_detects_cascades_and_books_an_order_and_a_fill(rekt, tmp_path):
    from liqcore.commands.run import summary_line
    from liqcore.config import Params
    from liqcore.live.engine import Engine
    from liqcore.live.journal import Journal
    from liqcore.live.runner import LiveRunner
    from liqcore.venues.fake_streams import FakeMarketStream
    from liqcore.venues.instruments import Instrument

    sym = "ROCKET_PERP"
    journal = Journal(tmp_path / "journal.db")

    async def main():
        async with FakeMarketStream("rekt") as fs:
            eng = Engine(Params(min_history=5, history=50), venues=["rekt"], symbols=[f"rekt:{sym}"], notional=100.0,
                         journal=journal)
            eng.order_manager.use_only({sym: Instrument(sym, 0.0001, 1.0, 1.0)})
            runner = LiveRunner(eng, "rekt", [sym], ws_url=fs.ws_url, clock_interval_s=0.05)
            stop = asyncio.Event()
            task = asyncio.create_task(runner.run(stop=stop))
            try:
                await runner.feed.wait_connected(60)
                await _until(lambda: fs.subscribed(f"rekt.{sym}"))
                t0 = int(time.time() * 1000) - 10_000
                px = 2.51237
                for i, q in enumerate([5, 1, 3, 2, 4, 1.5]):  # the history the detector needs
                    fs.liquidation(_liq(sym, t0 + i * 1000, q, px), sym)
                fs.trade(_fill(sym, t0 + 7_000, 10, px), sym)
                now = int(time.time() * 1000)
                for i, q in enumerate([100, 120, 140]):  # longs wiped out: a cascade, the strategy buys below
                    fs.liquidation(_liq(sym, now + i, q, px * (1 - 0.0005 * i)), sym)
                await _until(lambda: eng.orders >= 1)
                entry = eng.books[sym].entry
                assert entry is not None and entry.side == "buy"  # (longs wiped out: the strategy buys the dip)
                # the market trades through the resting buy once it has reached the venue (the paper venue's order
                # latency after the decision): the paper venue fills it
                arrived_ns = eng.decisions[-1].ts_ns + eng.params.order_latency_ns
                await _until(lambda: time.time_ns() > arrived_ns + 50_000_000)
                fs.trade(_fill(sym, time.time_ns() // 1_000_000, 500, round(entry.price * 0.99, 4)), sym)
                await _until(lambda: eng.fills >= 1)
            finally:
                stop.set()
                await task
            return runner.summary()

    summary = asyncio.run(main())
    assert summary["venue"] == "rekt" and summary["cascades"] >= 1 and summary["orders"] >= 1
    assert summary["fills"] >= 1 and summary["fills_by_kind"]["entry"] >= 1
    line = summary_line(summary)
    assert line.startswith(f"paper rekt {sym}: ") and "cascades=" in line and "fills=" in line
    journal.close()
    # the journal holds the run's intents and fills under the venue's symbol
    check = Journal(tmp_path / "journal.db")
    try:
        rows = check.db.execute("SELECT symbol FROM fills").fetchall()
        assert len(rows) == summary["fills"] and {r[0] for r in rows} == {sym}
    finally:
        check.close()


async def _until(cond, timeout: float = 60.0) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"not within {timeout:g} s")
        await asyncio.sleep(0.02)


def test_an_unregistered_venue_is_the_one_line_unknown_venue_error():
    from liqcore.venues.registry import UnknownVenue, venue_spec

    with pytest.raises(UnknownVenue) as err:
        venue_spec("rekt")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("venue: expected one of ") and msg.endswith("; got 'rekt'")
    assert {"bybit", "binance", "okx"} <= set(msg[len("venue: expected one of "):msg.index(";")].split(", "))
    with pytest.raises(UnknownVenue):  # (what the paper run's feed asks first)
        from liqcore.live.feeds import FeedManager

        FeedManager("rekt", ["ROCKET_PERP"], lambda v, p, t: None)


def test_a_venue_code_is_its_own_and_a_built_in_one_is_never_taken():
    from liqcore.types import Venue, add_venue
    from liqcore.venues.registry import VenueSpec, register, unregister, venue_spec

    with pytest.raises(ValueError, match="venue code 3 is registered already for venue 'okx'"):
        register(VenueSpec(name="rekt", code=3, package="rekt_venue"))
    with pytest.raises(ValueError, match="venue code 4 is registered already for venue 'gate'"):  # (the holder named)
        register(VenueSpec(name="rekt", code=4, package="rekt_venue"))
    with pytest.raises(ValueError, match="venue code 1 is bybit's"):  # (the enum guards its own members too)
        add_venue(1, "rekt")
    with pytest.raises(ValueError, match=r"venue code: must be 1\.\.127 \(the events' venue column is an i1\)"):
        register(VenueSpec(name="rekt", code=200, package="rekt_venue"))
    try:
        register(VenueSpec(name="rekt", code=90, package="rekt_venue"))
        register(VenueSpec(name="rekt", code=91, package="rekt_venue"), replace=True)  # (a new code: 90 is free)
        assert Venue.parse("rekt") == 91 and venue_spec(91).name == "rekt" and 90 not in Venue._value2member_map_
    finally:
        unregister("rekt")
    assert "REKT" not in Venue.__members__ and [int(v) for v in Venue] == [0, 1, 2, 3, 4]  # (4: gate)


def test_a_recording_of_it_loads_converts_and_reads_back(rekt, tmp_path):
    """Recorder lines of the venue (``{"recv_ns", "venue": "rekt", "frame"}``, the frame as text and as an object)
    load through the registry's parser (the loader had a table of three: every line a bad frame, 0 events),
    convert into a dataset under ``venue=rekt`` and read back the same events."""
    import orjson

    from liqcore.dataset.load import load_events
    from liqcore.dataset.read import load_dataset
    from liqcore.dataset.write import convert_to_dataset
    from liqcore.types import Kind, Side

    t0 = 1_767_225_600_000  # 2026-01-01 in ms
    frames = [liq_frame("ROCKET_PERP", t0 + i * 1000, 1.0 + i, 2.5 + i / 100, "LS"[i % 2]) for i in range(6)]
    frames += [fill_frame("ROCKET_PERP", t0 + 500 + i * 1000, 2.0, 2.5, "bs"[i % 2]) for i in range(4)]
    lines = [orjson.dumps({"recv_ns": (t0 + 10 + k) * 1_000_000, "venue": "rekt",
                           "frame": f.decode() if k % 2 else orjson.loads(f)}) for k, f in enumerate(frames)]
    rec = tmp_path / "rekt.jsonl"
    rec.write_bytes(b"\n".join(lines) + b"\n")
    res = load_events(rec)
    ev = res.events
    assert len(ev) == 10 and not res.rejects and set(ev["venue"].tolist()) == {CODE}
    assert sorted(ev["kind"].tolist()) == [int(Kind.LIQUIDATION)] * 6 + [int(Kind.TRADE)] * 4
    liq = ev[ev["kind"] == int(Kind.LIQUIDATION)]
    assert liq["side"].tolist() == [int(Side.LONG), int(Side.SHORT)] * 3
    assert res.registry.items() == [("rekt", "ROCKET_PERP")]
    convert_to_dataset([rec], tmp_path / "ds")
    assert [p.name for p in (tmp_path / "ds").glob("venue=*")] == ["venue=rekt"]
    back = load_dataset(tmp_path / "ds")
    key = ["ts_event", "ts_recv", "price", "qty", "side", "kind", "venue"]
    assert np.array_equal(np.sort(back.events[key], order=key), np.sort(ev[key], order=key))


def test_a_contracts_part_without_inverse_functions_means_linear_contracts(rekt, tmp_path):
    """A venue's ``contracts`` part may hold other things (contract sizes): without ``inverse_contract_usd`` its
    contracts are linear (0.0 USD an inverse contract, no margin coin); with it, its answer is used."""
    from liqcore.execution.arrays import inverse_contract_usd, margin_coin

    part = tmp_path / "rekt_venue" / "contracts.py"
    part.write_text("def contract_sizes(obj):\n    return {'BTC-R': 0.001}\n")
    importlib.invalidate_caches()
    assert inverse_contract_usd(CODE, "BTC-R") == 0.0 and margin_coin(CODE, "BTC-R") == ""
    sys.modules.pop("rekt_venue.contracts", None)
    part.write_text("def inverse_contract_usd(s):\n    return 100.0 if s == 'BTC-RI' else 0.0\n\n"
                    "def margin_coin(s):\n    return 'BTC' if s == 'BTC-RI' else ''\n")
    importlib.invalidate_caches()
    assert inverse_contract_usd(CODE, "BTC-RI") == 100.0 and margin_coin(CODE, "BTC-RI") == "BTC"
    assert inverse_contract_usd(CODE, "BTC-R") == 0.0


def test_the_currency_equity_lines_are_said_in_is_the_venues_quote():
    """``quote_of``: the one place the live start-equity log and ``run``'s summary line take their unit from (a
    registered venue's ``quote``, a plugin's own included; "quote currency" where no spec is registered)."""
    from liqcore.venues.registry import UnknownVenue, VenueSpec, quote_of, register, unregister, venue_spec

    assert [quote_of(v) for v in ("binance", "bybit", "okx", "gate")] == ["USDT"] * 4
    assert quote_of("nowhere") == "quote currency" and quote_of(None) == "quote currency"
    try:
        register(VenueSpec(name="rekt", code=90, package="rekt_venue", quote="USDC"))
        assert quote_of("rekt") == "USDC"
    finally:
        unregister("rekt")
    assert quote_of("rekt") == "quote currency"
    with pytest.raises(UnknownVenue, match="got None"):  # (not int()'s TypeError: the registry's own error)
        venue_spec(None)
