"""A venue defined outside the package, registered at run time (issue 68): the registry is the whole interface.

The test writes a minimal venue, "rekt" (code 77), to ``tmp_path``: its own frame format (``{"ch": "rekt" |
"fills", "d": [...]}``) and its own side convention (a liquidation's ``w`` names the position WIPED OUT: ``L`` a
long, ``S`` a short; a fill's ``a`` the aggressor: ``b`` / ``s``), as the four parts a paper run asks for:
``parse`` (frames -> events), ``stream`` (the public connection: URL, subscribe message, what it delivers),
``watch`` (its frames' stream keys, for the silent-stream watch) and ``fake_streams`` (how the shared local fake,
:class:`liqcore.venues.fake_streams.FakeMarketStream`, serves it).
Nothing in the package names it: its frames are decoded into events with the right sides, and a paper run over a
local websocket on 127.0.0.1 (the runner, the engine, the detector, the paper venue, the journal, the summary line)
detects its cascades and books an order and a fill.  An unregistered name is the one-line UnknownVenue error.
"""
from __future__ import annotations

import asyncio
import importlib
import sys
import textwrap
import time

import numpy as np
import pytest

CODE = 77

PARSE = '''
"""rekt's public frames -> events: ``{"ch": "rekt"|"fills", "d": [{"i", "p", "q", "ts", "w"|"a"}]}``."""
from liqcore.venues.common import CONTROL, Reject, ms_to_ns, pos, side_of

VENUE = 77
#: a liquidation's "w": the position wiped out (L: a long -> liqcore's LONG 1, S: a short -> SHORT 2)
_WIPED = {"L": 1, "S": 2}
#: a fill's "a": the aggressor (b: the taker bought -> BUY 3, s: sold -> SELL 4)
_AGGRESSOR = {"b": 3, "s": 4}


def parse_obj(obj, sink):
    if obj.__class__ is not dict:
        raise Reject("unknown_topic", "frame")
    if obj.get("op") == "subscribed":
        return CONTROL
    ch, data = obj.get("ch"), obj.get("d")
    if ch not in ("rekt", "fills"):
        raise Reject("unknown_topic", "ch")
    if data.__class__ is not list:
        raise Reject("missing_field", "d")
    liq = ch == "rekt"
    n = 0
    for d in data:
        try:
            if d.__class__ is not dict:
                raise Reject("missing_field", "d[]")
            side = side_of(_WIPED, d.get("w"), "w") if liq else side_of(_AGGRESSOR, d.get("a"), "a")
            sink.rows.append((ms_to_ns(d.get("ts"), "ts"), sink.recv_ns, pos(d.get("p"), "p"), pos(d.get("q"), "q"),
                              sink.sid(VENUE, d.get("i")), side, 1 if liq else 2, VENUE, 0))
            n += 1
        except Reject as r:
            sink.reject_item(r)
    return n
'''

STREAM = '''
"""rekt's public stream: one connection, one subscribe message naming the symbols."""
import orjson

from liqcore.venues.spec import ConnectionSpec

#: what the stream delivers, each with the connection_specs options it needs
KINDS = {"liquidation": {}, "trade": {}}


def connection_specs(symbols, url=None, network="mainnet", trades=True, **opts):
    chans = ["rekt"] + (["fills"] if trades else [])
    topics = [f"{c}.{s}" for c in chans for s in symbols]
    sub = orjson.dumps({"op": "subscribe", "args": topics})
    return [ConnectionSpec(venue="rekt", url=url or "wss://stream.rekt.invalid/v1", subscribe=[sub], topics=topics,
                           symbols=list(symbols))]
'''

WATCH = '''
"""What the silent-stream watch needs of rekt's frames: a push's key is ``<ch>.<symbol>`` of its first row."""
import re

_KEY = re.compile(rb'^\\{"ch":"([a-z]+)","d":\\[\\{"i":"([A-Za-z0-9_]+)"')


def frame_key(payload):
    m = _KEY.match(payload)
    return m.group(1) + b"." + m.group(2) if m else None


def on_frame_handler(last, cb, a0):
    def on_frame(payload, recv_ns):
        key = frame_key(payload)
        if key is not None:
            last[key] = recv_ns
        cb(a0, payload, recv_ns)
    return on_frame


def topic_keys(topic):
    return [topic.encode()]


def stream_name(topic):
    return topic


def all_market(topic):
    return False


def key_aliases(key):
    return []


def hears_all_market(key):
    return False
'''

FAKE_STREAMS = '''
"""rekt's public stream as the shared local fake serves it."""
import orjson

WS_PATH = "/v1"
WS_ROUTES = {WS_PATH: None}
MOUNT_ROUTES = (WS_PATH,)
RATE_LIMITED_PATH = None


def streams(frame):
    try:
        m = orjson.loads(frame)
        return tuple(f"{m['ch']}.{d['i']}" for d in m["d"][:1])
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError):
        return ()


def liquidation_streams(symbol):
    return (f"rekt.{symbol}",)


def trade_streams(symbol):
    return (f"fills.{symbol}",)


def rest_routes(fs, fu):
    return {}


def rate_limited(retry_after):
    raise NotImplementedError


async def on_open(fs, ws, request, conn):
    return True


async def on_text(fs, ws, conn, text):
    m = orjson.loads(text)
    if m.get("op") == "subscribe":
        conn.subs.update(m["args"])
        fs.ops.append(("subscribe", list(m["args"])))
        fs.mark_subscribed()
        await ws.send_str(orjson.dumps({"op": "subscribed", "args": m["args"]}).decode())
    return True
'''


@pytest.fixture
def rekt(tmp_path, monkeypatch):
    """The venue "rekt" written to ``tmp_path`` as the package ``rekt_venue`` and registered; forgotten after."""
    from liqcore.venues.registry import VenueSpec, register, unregister

    pkg = tmp_path / "rekt_venue"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('"""A venue the test defines."""\n')
    for name, text in (("parse", PARSE), ("stream", STREAM), ("watch", WATCH), ("fake_streams", FAKE_STREAMS)):
        (pkg / f"{name}.py").write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    spec = register(VenueSpec(name="rekt", code=CODE, package="rekt_venue"))
    try:
        yield spec
    finally:
        unregister("rekt")
        for m in [m for m in sys.modules if m == "rekt_venue" or m.startswith("rekt_venue.")]:
            del sys.modules[m]


def _liq(sym: str, t_ms: int, q: float, p: float, wiped: str = "L") -> bytes:
    return b'{"ch":"rekt","d":[{"i":"%s","p":"%s","q":"%s","ts":%d,"w":"%s"}]}' % (
        sym.encode(), repr(p).encode(), repr(q).encode(), t_ms, wiped.encode())


def _fill(sym: str, t_ms: int, q: float, p: float, aggressor: str = "s") -> bytes:
    return b'{"ch":"fills","d":[{"i":"%s","p":"%s","q":"%s","ts":%d,"a":"%s"}]}' % (
        sym.encode(), repr(p).encode(), repr(q).encode(), t_ms, aggressor.encode())


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

    with pytest.raises(ValueError, match="venue code 3 is registered already for another venue"):
        register(VenueSpec(name="rekt", code=3, package="rekt_venue"))
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
    assert "REKT" not in Venue.__members__ and [int(v) for v in Venue] == [0, 1, 2, 3]
