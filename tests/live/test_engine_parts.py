"""The live engine's parts are collaborators below the engine: they never import ``live/engine.py``;
the gateway protocol declares every method the engine calls; recovery is a pure function checked
without an engine."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIVE = ROOT / "liqcore" / "live"


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            mod = node.module if not node.level else "liqcore.live." + node.module
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def test_the_engine_parts_never_import_the_engine():
    parts = ["orders.py", "recovery.py", "fastlane.py", "decisions.py", "streampath.py", "lifecycle.py", "inputs.py",
             "health.py", "venueclock.py", "warm.py", "persist.py", "views.py"]
    bad = [p for p in parts if any(m == "liqcore.live.engine" or m.startswith("liqcore.live.engine.")
                                   for m in _imports(LIVE / p))]
    assert bad == [], f"these engine parts import liqcore.live.engine (a circle): {bad}"


def test_decision_has_one_home_and_old_paths_still_work():
    from liqcore.live import decisions, engine, orders

    assert engine.Decision is decisions.Decision is orders.Decision
    d = decisions.Decision("bybit", "ETHUSDT", 1, 7, 10, "long", "none", reason="busy")
    assert d.to_dict()["price"] is None and d.to_dict()["reason"] == "busy"


# ---------------------------------------------------------------- the gateway protocol
_LIVE_CALLERS = ["engine.py", "orders.py", "recovery.py", "fastlane.py", "lifecycle.py", "streampath.py", "inputs.py"]


def _gateway_calls() -> set[str]:
    """Every ``self.gateway.<name>`` / ``gw.<name>`` attribute the engine and its parts use."""
    names: set[str] = set()
    for p in _LIVE_CALLERS:
        for node in ast.walk(ast.parse((LIVE / p).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute):
                v = node.value
                if (isinstance(v, ast.Attribute) and v.attr == "gateway") or (isinstance(v, ast.Name) and v.id == "gw"):
                    names.add(node.attr)
    return names


def test_every_gateway_member_the_engine_uses_is_declared():
    from liqcore.venues.gateway import Gateway

    used = _gateway_calls()
    assert {"place", "send_now", "cancel_batch", "prepare", "equity"} <= used
    undeclared = sorted(n for n in used if not hasattr(Gateway, n) and n not in Gateway.__annotations__)
    assert undeclared == [], f"the engine uses gateway members the Gateway protocol does not declare: {undeclared}"


def test_the_engine_never_probes_the_gateway_or_the_journal():
    """Both are declared types (the Gateway protocol, the Journal class): no getattr/hasattr on them."""
    probed = {"self.gateway", "gw", "self.journal", "j"}
    bad = []
    for p in _LIVE_CALLERS:
        for node in ast.walk(ast.parse((LIVE / p).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr") \
                    and node.args and ast.unparse(node.args[0]) in probed:
                bad.append(f"{p}:{node.lineno}: {ast.unparse(node)}")
    assert bad == [], "use the declared members instead of probing:\n" + "\n".join(bad)


def test_a_gateway_without_the_protocol_is_refused_at_construction():
    from liqcore.config import Params
    from liqcore.live.engine import Engine

    class Bare:  # a hand-rolled gateway with a misspelt method: refused, not silently degraded
        name = "bare"

        def on_update(self, cb): ...
        def on_fill(self, cb): ...
        def send_nwo(self, intent): ...

    with pytest.raises(TypeError, match="lacks .*send_now"):
        Engine(Params(), symbols=["ETHUSDT"], gateway=Bare())


def test_the_protocol_defaults_say_none_and_cancel_one_by_one():
    import asyncio

    from liqcore.venues.gateway import Gateway, OrderUpdate

    class OneByOne(Gateway):
        name = "one-by-one"

        def __init__(self):
            self.cancelled = []

        async def cancel(self, symbol, client_id):
            if client_id == "bad":
                raise RuntimeError("venue down")
            self.cancelled.append((symbol, client_id))
            return OrderUpdate(client_id, "cancelled", symbol)

    gw = OneByOne()
    out = asyncio.run(gw.cancel_batch([("ETHUSDT", "a"), ("SOLUSDT", "bad")]))
    assert gw.cancelled == [("ETHUSDT", "a")]
    assert out["a"][0] == "accepted" and out["a"][1].status == "cancelled"
    assert out["bad"] == ("error: venue down", None)
    assert gw.send_now(None) is None and gw.known("a") is None and gw.instrument("ETHUSDT") is None
    assert asyncio.run(gw.equity()) is None and asyncio.run(gw.sync_clock()) is None
    assert not (gw.can_prepare or gw.venue_exits or gw.native_trailing) and gw.stream is None
    with pytest.raises(NotImplementedError):
        asyncio.run(gw.place(None))
    for cls in ("liqcore.live.paper:PaperGateway", "liqcore.venues.bybit.gateway:BybitGateway",
                "liqcore.venues.binance.gateway:BinanceGateway"):
        import importlib

        mod, _, name = cls.partition(":")
        assert Gateway in getattr(importlib.import_module(mod), name).__mro__, cls



# ---------------------------------------------------------------- the venues' sample frames
@pytest.mark.parametrize("venue", ["bybit", "binance"])
def test_sample_liquidation_frames_decode_and_feed_the_warm_path(venue):
    import importlib

    from liqcore.config import Params
    from liqcore.live.engine import Engine
    from liqcore.types import EVENT_DTYPE, Kind, SymbolRegistry
    from liqcore.venues.decoder import Decoder

    sample = importlib.import_module(f"liqcore.venues.{venue}.samples").liquidation_frame
    t_ms = 1_700_000_000_123
    reg = SymbolRegistry()
    ev = Decoder(venue, registry=reg).feed(sample("ETHUSDT", t_ms, 12.5, 2999.5), t_ms * 1_000_000 + 5)
    assert ev.dtype == EVENT_DTYPE and len(ev) == 1
    assert ev["kind"][0] == int(Kind.LIQUIDATION) and ev["ts_event"][0] == t_ms * 1_000_000
    assert ev["price"][0] == 2999.5 and ev["qty"][0] == 12.5
    # both venues' default side is a long liquidated (Bybit "Buy", Binance "SELL"): the same event side
    other = {"bybit": "binance", "binance": "bybit"}[venue]
    ev2 = Decoder(other, registry=SymbolRegistry()).feed(
        importlib.import_module(f"liqcore.venues.{other}.samples").liquidation_frame("ETHUSDT", t_ms, 1.0, 10.0), 0)
    assert ev2["side"][0] == ev["side"][0]
    # the engine's warm path decodes the venue's sample frame (not a hand-written one)
    eng = Engine(Params(min_history=5, history=50), venues=[venue], symbols=["ETHUSDT"])
    w = eng._warm_state()
    assert w["frame"](t_ms, 3.0) == sample("ETHUSDT", t_ms, 3.0, w["price"])
    assert eng.warm_path() == 1


@pytest.mark.parametrize("bad", ["now", float("nan"), float("inf"), None, True])
def test_a_time_handed_in_that_is_no_number_is_one_line_naming_it(bad):
    """``on_frame(..., recv_ns=)`` and ``on_clock(now_ns)``: NaN, a string, True are one line naming the argument
    (None is "no time given": the wall clock, or the recording's); a finite float is its whole nanoseconds."""
    from liqcore import Engine

    eng = Engine(symbols=["ETHUSDT"])
    if bad is None:
        assert eng.on_clock(None) == [] and eng.on_frame("bybit", b"{}", None) == []
        return
    with pytest.raises(ValueError, match=r"^now_ns: expected a time in nanoseconds since the epoch \(an int\); got "):
        eng.on_clock(bad)
    with pytest.raises(ValueError, match=r"^recv_ns: expected a time in nanoseconds since the epoch"):
        eng.on_frame("bybit", b"{}", bad)
    assert eng.on_frame("bybit", b"{}", 1.767e18 + 0.5) == []
