"""``Engine.warmup()`` readies everything the first frame and the first cascade would otherwise pay for: the
strategy kernels and each venue's frame decoder (a bot embedding the engine calls it before its loop starts)."""
from __future__ import annotations

import pytest

from liqcore.config import Params
from liqcore.live.engine import Engine


def test_warmup_builds_each_venues_decoder_before_the_first_frame():
    e = Engine(Params(), venues=["bybit", "binance", "okx"], symbols=["ETHUSDT"])
    assert not e._decoders
    e.warmup()
    built = {v: e._decoders.get(v) for v in ("bybit", "binance", "okx")}
    assert all(d is not None for d in built.values())
    assert all(e.decoder(v) is d for v, d in built.items())  # the frames then take these, not new ones


_FIRST_ORDER = r"""
import importlib, pkgutil, sys
sys.path.insert(0, sys.argv[1])
import orjson
from numba.core import event as ev
from numba.core.dispatcher import Dispatcher
import liqcore._jit as J
from _live_helpers import PARAMS, cascade_frames
from liqcore.live.engine import Engine
from liqcore.testing.fake_replay import trade_frame

def overloads():
    out = {}
    for m in pkgutil.iter_modules(J.__path__):
        mod = importlib.import_module("liqcore._jit." + m.name)
        out.update({m.name + "." + k: len(v.overloads) for k, v in vars(mod).items() if isinstance(v, Dispatcher)})
    return out

class Loads(ev.Listener):  # every compile or cache load of a kernel takes numba's compiler lock
    n = 0
    def on_start(self, event):
        Loads.n += 1
    def on_end(self, event):
        pass

eng = Engine(PARAMS, symbols=["ETHUSDT"])
if sys.argv[2] == "depth":
    eng.queue_est.use_depth()  # (run --book depth: the estimate reads the L2 book)
eng.warmup()
before = overloads()
t0 = 1_763_683_200_000
decisions = []
with ev.install_listener("numba:compiler_lock", Loads()):
    for f in cascade_frames(t0_ms=t0):
        decisions += eng.on_frame("bybit", f, orjson.loads(f)["ts"] * 1_000_000)
    for px, dt in [(2996.0, 23_000), (2995.0, 24_000)]:
        decisions += eng.on_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", px, 1, "Sell", t0 + dt)), (t0 + dt) * 10**6)
after = overloads()
print(orjson.dumps({"actions": [d.action for d in decisions], "loads": Loads.n, "orders": eng.order_manager.orders,
                    "new": {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}}).decode())
"""


@pytest.mark.parametrize("book", ["top", "depth"])
def test_warmup_covers_the_first_order_path_no_kernel_loads_after_it(tmp_path, book):
    """After ``warmup()`` the frames up to and including the one that places the first entry load or compile
    no Numba kernel: not the strategy core's, not the live queue estimate's (``queue_rest``, ``queue_print``,
    at depth ``queue_rest_depth``: their cache load was 72-183 ms of that frame at load 7-9).  Counted, not
    timed: numba's compiler-lock events (every cache load and compile takes the lock) and each kernel's
    overloads before and after.  In a fresh process (the test session has loaded everything already)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parents[1]
    p = subprocess.run([sys.executable, "-c", _FIRST_ORDER, str(tests), book], capture_output=True, timeout=240)
    assert p.returncode == 0, p.stderr.decode()[-3000:]
    got = json.loads(p.stdout.decode().strip().splitlines()[-1])
    assert got["actions"] == ["order"] and got["orders"] == 1  # the first entry was placed
    assert got["new"] == {} and got["loads"] == 0, got
