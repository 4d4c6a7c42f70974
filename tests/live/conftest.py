"""The live tests' kernels compiled before the first of them starts, outside any test's time bound.

The engine's strategy core is Numba code cached on disk (``cache=True``): on a fresh clone, or after a kernel
changed, the first engine of a test process compiles it, 15-20 s alone and a minute or more at load 5-8,
which a live test's own bound (60 s: it waits on a loopback exchange, not on a compiler) then overran.  So
once the live tests are collected, each test process builds a paper engine and takes one cascade through an
entry and an exit, compiling (or loading) everything the engine runs; the tests' bounds then measure what they
test.  This is a hook of the session (``pytest_collection_finish``), not a fixture: pytest-timeout counts a
fixture's setup in its test's time."""
from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def warm_engine_kernels() -> None:
    """A paper engine: a cascade, its entry filled and stopped out, a clock tick (every kernel it runs)."""
    import orjson

    from liqcore.live.engine import Engine
    from liqcore.testing.fake_replay import trade_frame

    from _live_helpers import PARAMS, cascade_frames

    eng = Engine(PARAMS, symbols=["ETHUSDT"])
    t0 = 1_763_683_200_000
    for f in cascade_frames(t0_ms=t0):
        eng.on_frame("bybit", f, orjson.loads(f)["ts"] * 1_000_000)
    for px, dt in [(2996.0, 23_000), (2995.0, 24_000), (2960.0, 25_000)]:
        eng.on_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", px, 1, "Sell", t0 + dt)), (t0 + dt) * 10**6)
    eng.on_clock()


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    if any(HERE in Path(str(item.path)).resolve().parents for item in session.items):
        warm_engine_kernels()
