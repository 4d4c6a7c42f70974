"""``Engine.warmup()`` readies everything the first frame and the first cascade would otherwise pay for: the
strategy kernels and each venue's frame decoder (a bot embedding the engine calls it before its loop starts)."""
from __future__ import annotations

from liqcore.config import Params
from liqcore.live.engine import Engine


def test_warmup_builds_each_venues_decoder_before_the_first_frame():
    e = Engine(Params(), venues=["bybit", "binance", "okx"], symbols=["ETHUSDT"])
    assert not e._decoders
    e.warmup()
    built = {v: e._decoders.get(v) for v in ("bybit", "binance", "okx")}
    assert all(d is not None for d in built.values())
    assert all(e.decoder(v) is d for v, d in built.items())  # the frames then take these, not new ones
