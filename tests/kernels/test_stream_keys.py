"""The silent-stream watch's compiled per-frame stamp (``liqcore.venues._scan.StreamKeys``) against its twin
(``pysrc.scan.StreamKeys``) and the watch's reference key (``liqcore.live.silence.frame_key``): on real frame
shapes, on frames cut or altered anywhere (hypothesis: the finds' bounds, a missing quote, ``-1`` slices), and
over a long run of frames of a few streams (the reused keys), the same ``last`` dict, key for key and stamp for
stamp; the handler the feed manager uses stamps with it."""
from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.live.silence import frame_key, watch_handler
from liqcore.testing.fake_replay import liquidation_frame as bybit_liq, trade_frame as bybit_trade
from liqcore.venues.binance import samples as bn
from liqcore.venues.decoder import stream_stamp
from liqcore.venues.okx import samples as ok
from pysrc.scan import StreamKeys as Twin

_scan = pytest.importorskip("liqcore.venues._scan")
Compiled = _scan.StreamKeys

pytestmark = pytest.mark.property

BASES = {
    "bybit": [orjson.dumps(bybit_trade("ETHUSDT", 3000, 1.0, ts_ms=1_700_000_000_000)),
              orjson.dumps(bybit_liq("SOLUSDT", 100, 2.0, ts_ms=1_700_000_000_000)),
              b'{"success":true,"op":"subscribe"}'],
    "binance": [bn.agg_trade_frame("ETHUSDT", 1_700_000_000_000, 1.0, 3000.0),
                bn.book_ticker_frame("ETHUSDT", 1, 1, 1, 2, 1, stream=True),
                bn.liquidation_frame("BTCUSDT", 1_700_000_000_000, 1.0, 3000.0),
                b'{"result":null,"id":1}'],
    "okx": [ok.trade_frame("ETH-USDT-SWAP", 1, 1.0, 3000.0), ok.liquidation_frame("ETH-USDT-SWAP", 1, 1.0, 3000.0),
            b'{"event":"subscribe","arg":{"channel":"trades"}}'],
}
HEADS = [b'{"topic":"', b'{"stream":"', b'{"e":"', b'{"arg":', b'"s":"', b'"', b"}", b"x", b""]


def stamps(cls, venue, frames):
    last = {}
    k = cls(venue, last)
    for i, f in enumerate(frames):
        k.stamp(f, i)
    return last


def reference(venue, frames):
    last = {}
    for i, f in enumerate(frames):
        key = frame_key(venue, f)
        if key is not None:
            last[key] = i
    return last


@pytest.mark.parametrize("venue", sorted(BASES))
def test_real_frames_and_a_long_run_give_the_reference_keys(venue):
    frames = BASES[venue] * 500
    want = reference(venue, frames)
    assert want and stamps(Compiled, venue, frames) == want == stamps(Twin, venue, frames)


@settings(max_examples=400, deadline=None)
@given(venue=st.sampled_from(sorted(BASES)), data=st.data())
def test_frames_cut_or_altered_anywhere_give_the_reference_keys(venue, data):
    frames = []
    for _ in range(data.draw(st.integers(1, 6))):
        base = data.draw(st.sampled_from(BASES[venue] + [h + b"abc" for h in HEADS]))
        cut = data.draw(st.integers(0, len(base)))
        at = data.draw(st.integers(0, cut))
        ins = data.draw(st.sampled_from(HEADS) | st.binary(max_size=8))
        frames.append(base[:at] + ins + base[at:cut])
    frames += frames  # (each key seen a second time: the reused key object)
    want = reference(venue, frames)
    got = stamps(Compiled, venue, frames)
    assert got == want == stamps(Twin, venue, frames)
    assert [type(k) for k in got] == [type(k) for k in want]


def test_the_feed_managers_handler_stamps_with_the_compiled_keys():
    last, seen = {}, []
    on_frame = watch_handler("binance", last, lambda v, p, t: seen.append((v, p, t)), "binance")
    assert on_frame.__defaults__[0].__self__.__class__ is Compiled  # (the handler's stamp is the compiled one)
    f = BASES["binance"][0]
    on_frame(f, 11)
    assert seen == [("binance", f, 11)] and last == {(b"aggTrade", b"ETHUSDT"): 11}
    assert stream_stamp("kraken", {}) is None
    with pytest.raises(ValueError):
        Compiled("kraken", {})
