"""The live feed subscribes what the strategy's inputs need (flush-reversal-rule: the funding rate, carried
by Bybit's ``tickers`` topic), and a strategy whose inputs the venue's live stream cannot deliver is refused
before anything connects."""
from __future__ import annotations

import asyncio
import pathlib
import sys
import time

import pytest

from liqcore.config import Params
from liqcore.live.engine import Engine
from liqcore.live.feeds import feed_options
from liqcore.live.runner import LiveRunner
from liqcore.strategies.flush_reversal import FEATURES, FlushReversal
from liqcore.venues.bybit.fake import FakeExchange

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from _live_helpers import wait_until  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _tickers(symbol: str, rate: float, oi: float, ts_ms: int) -> dict:
    return {"topic": f"tickers.{symbol}", "type": "snapshot", "ts": ts_ms, "cs": 1,
            "data": {"symbol": symbol, "markPrice": "3000.5", "fundingRate": str(rate), "openInterest": str(oi)}}


def test_flush_reversal_live_subscribes_tickers_and_its_funding_input_arrives():
    asyncio.run(_flush_reversal_live())


async def _flush_reversal_live():
    async with FakeExchange() as fx:
        eng = Engine(Params(strategy="flush-reversal-rule"), symbols=["ETHUSDT"])
        runner = LiveRunner(eng, "bybit", ["ETHUSDT"], ws_url=fx.public_ws_url, clock_interval_s=0.05)
        assert "tickers.ETHUSDT" in [t for s in runner.feed.specs for t in s.topics]
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop=stop))
        try:
            await runner.feed.wait_connected(10)
            await wait_until(lambda: any("tickers.ETHUSDT" in c.topics for c in fx._conns), timeout=10)
            t_ms = int(time.time() * 1000)
            await fx.push(_tickers("ETHUSDT", -0.0002, 12345.0, t_ms))
            lf = eng.stream.lf  # the strategy's named features, kept current from the stream
            sid = eng.registry.id("bybit", "ETHUSDT")
            await wait_until(lambda: len(lf.store._inst(sid).funding) == 1, timeout=10)
            assert lf.store._inst(sid).funding.cols["rate"].tolist() == [-0.0002]
            # (funding_avg@1h itself is null until the feed has covered a whole hour)
            assert "before the data covers" in lf.why_null(FEATURES[2], sid)
        finally:
            stop.set()
            await task


def test_the_default_strategy_subscribes_no_tickers():
    eng = Engine(Params(), symbols=["ETHUSDT"])
    runner = LiveRunner(eng, "bybit", ["ETHUSDT"], ws_url="ws://127.0.0.1:9/")
    assert not any(t.startswith("tickers.") for s in runner.feed.specs for t in s.topics)


class _NeedsOpenInterest(FlushReversal):
    name = "test-needs-open-interest"
    needs = frozenset({"liquidation", "trade", "open_interest"})


def test_a_strategy_whose_inputs_cannot_arrive_is_refused():
    # Binance carries the open interest over REST only: no live stream delivers it
    eng = Engine(Params(strategy="flush-reversal-rule"), symbols=["binance:ETHUSDT"], venues=["binance"], strategy=_NeedsOpenInterest)
    with pytest.raises(ValueError, match=r"needs open_interest, which the binance live feed cannot deliver"):
        LiveRunner(eng, "binance", ["ETHUSDT"], ws_url="ws://127.0.0.1:9/")
    # the venues that can: what each subscribes for the funding rate
    assert feed_options("binance", {"funding"}) == {"mark_price": True}
    assert feed_options("okx", {"funding", "open_interest"}) == {"funding": True, "open_interest": True}
    from liqcore.venues.binance.stream import streams
    from liqcore.venues.okx.stream import args

    assert "ethusdt@markPrice@1s" in streams(["ETHUSDT"], mark_price=True)
    assert {"channel": "funding-rate", "instId": "ETH-USDT-SWAP"} in args(["ETHUSDT"], funding=True)


def test_named_features_kept_live_subscribe_their_inputs_too():
    from liqcore.live.runner import feature_needs

    assert feature_needs(["funding.funding_avg@1h", "flow.ofi@5m:zscore"]) == {"funding", "trade"}
    eng = Engine(Params(), symbols=["ETHUSDT"])
    runner = LiveRunner(eng, "bybit", ["ETHUSDT"], ws_url="ws://127.0.0.1:9/", features=["funding.funding_avg@1h"])
    assert "tickers.ETHUSDT" in [t for s in runner.feed.specs for t in s.topics]
    beng = Engine(Params(), symbols=["binance:ETHUSDT"], venues=["binance"])
    from liqcore.features.registry import NAMED_FEATURES

    oi = [n for n in NAMED_FEATURES if n.startswith("oi.")][:1]
    assert oi
    with pytest.raises(ValueError, match="needs open_interest, which the binance live feed cannot deliver"):
        LiveRunner(beng, "binance", ["ETHUSDT"], ws_url="ws://127.0.0.1:9/", features=oi)


def test_cascade_score_subscribes_the_funding_rate_its_filter_reads_unless_the_filter_is_off():
    on = Engine(Params.from_mapping({"strategy": "cascade-score"}), symbols=["ETHUSDT"])
    runner = LiveRunner(on, "bybit", ["ETHUSDT"], ws_url="ws://127.0.0.1:9/")
    assert "tickers.ETHUSDT" in [t for s in runner.feed.specs for t in s.topics]
    off = Engine(Params.from_mapping({"strategy": "cascade-score", "funding-filter": "off"}), symbols=["ETHUSDT"])
    runner = LiveRunner(off, "bybit", ["ETHUSDT"], ws_url="ws://127.0.0.1:9/")
    assert not any(t.startswith("tickers.") for s in runner.feed.specs for t in s.topics)
