"""A venue defined outside the package, "rekt" (code 77), as source text: the parts a test writes into a folder of its
own (``write_package``) to register the venue from there (tests/venues/test_custom_venue.py, a recording of it
loaded, converted and backtested) or to ship it as a plugin package (tests/venues/test_venue_plugin.py).

Its own frame format (``{"ch": "rekt" | "fills", "d": [...]}``) and its own side convention (a liquidation's ``w``
names the position WIPED OUT: ``L`` a long, ``S`` a short; a fill's ``a`` the aggressor: ``b`` / ``s``), as the parts
a paper run asks for: ``parse`` (frames -> events), ``stream`` (the public connection: URL, subscribe message, what
it delivers), ``watch`` (its frames' stream keys, for the silent-stream watch) and ``fake_streams`` (how the shared
local fake, :class:`liqcore.venues.fake_streams.FakeMarketStream`, serves it).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

CODE = 77

PARSE = '''
"""rekt's public frames -> events: ``{"ch": "rekt"|"fills", "d": [{"i", "p", "q", "ts", "w"|"a"}]}``."""
from liqcore.venues.common import CONTROL, Reject, ms_to_ns, pos, side_of

VENUE = 77
#: a liquidation's "w": the position wiped out (L: a long -> liqcore's LONG 1, S: a short -> SHORT 2)
LIQUIDATION_SIDES = {"L": 1, "S": 2}
#: a fill's "a": the aggressor (b: the taker bought -> BUY 3, s: sold -> SELL 4)
TRADE_SIDES = {"b": 3, "s": 4}


def is_frame(obj):
    """rekt's frames by shape (a raw file's lines): its channels, or its subscription answer."""
    return obj.get("ch") in ("rekt", "fills") or obj.get("op") == "subscribed"


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
        try:  # (an item that is no object: AttributeError, counted as bad_item by reject_item)
            side = side_of(LIQUIDATION_SIDES, d.get("w"), "w") if liq else side_of(TRADE_SIDES, d.get("a"), "a")
            sink.rows.append((ms_to_ns(d.get("ts"), "ts"), sink.recv_ns, pos(d.get("p"), "p"), pos(d.get("q"), "q"),
                              sink.sid(VENUE, d.get("i")), side, 1 if liq else 2, VENUE, 0))
            n += 1
        except Exception as r:  # one bad item is counted; the rest of the frame is kept
            sink.reject_item(r)
    return n
'''

STREAM = '''
"""rekt's public stream: one connection, one subscribe message naming the symbols."""
import orjson

from liqcore.venues.spec import ConnectionSpec

#: what the stream delivers, each with the connection_specs options it needs
KINDS = {"liquidation": {}, "trade": {}}
#: the public websocket of each network it has (``--network``; ``--ws-url`` replaces the host)
ENDPOINTS = {"mainnet": "wss://stream.rekt.invalid/v1"}


def connection_specs(symbols, url=None, network="mainnet", trades=True, **opts):
    chans = ["rekt"] + (["fills"] if trades else [])
    topics = [f"{c}.{s}" for c in chans for s in symbols]
    sub = orjson.dumps({"op": "subscribe", "args": topics})
    return [ConnectionSpec(venue="rekt", url=url or ENDPOINTS[network], subscribe=[sub], topics=topics,
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

PARTS = {"parse": PARSE, "stream": STREAM, "watch": WATCH, "fake_streams": FAKE_STREAMS}


def write_package(root: Path, package: str = "rekt_venue", init: str = '"""A venue the test defines."""\n') -> Path:
    """The venue's parts written to ``root/<package>/`` (``init``: its ``__init__.py``) -> that folder."""
    pkg = Path(root) / package
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text(init)
    for name, text in PARTS.items():
        (pkg / f"{name}.py").write_text(textwrap.dedent(text))
    return pkg


def liq_frame(sym: str, t_ms: int, q: float, p: float, wiped: str = "L") -> bytes:
    return b'{"ch":"rekt","d":[{"i":"%s","p":"%s","q":"%s","ts":%d,"w":"%s"}]}' % (
        sym.encode(), repr(p).encode(), repr(q).encode(), t_ms, wiped.encode())


def fill_frame(sym: str, t_ms: int, q: float, p: float, aggressor: str = "s") -> bytes:
    return b'{"ch":"fills","d":[{"i":"%s","p":"%s","q":"%s","ts":%d,"a":"%s"}]}' % (
        sym.encode(), repr(p).encode(), repr(q).encode(), t_ms, aggressor.encode())


def registered(root: Path, monkeypatch):
    """The venue "rekt" written under ``root`` as the package ``rekt_venue`` and registered (a fixture's body:
    yields its spec); forgotten after, its modules dropped."""
    import importlib
    import sys

    from liqcore.venues.registry import VenueSpec, register, unregister

    write_package(root)
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    spec = register(VenueSpec(name="rekt", code=CODE, package="rekt_venue"))
    try:
        yield spec
    finally:
        unregister("rekt")
        for m in [m for m in sys.modules if m == "rekt_venue" or m.startswith("rekt_venue.")]:
            del sys.modules[m]
