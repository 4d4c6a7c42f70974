"""One Instrument (liqcore.venues.instruments) rounds and formats for the engine and both gateways: the
venue's tick size, qty step, minimum qty and minimum notional reach the engine's orders."""
from __future__ import annotations

import asyncio
import math
import time

import orjson
import pytest

from liqcore.config import Params
from liqcore.venues.instruments import Instrument


def test_engine_and_gateways_share_one_instrument_class():
    import liqcore.venues.binance.gateway as bn
    import liqcore.venues.bybit.gateway as bb
    import liqcore.live.engine as eng

    assert eng.Instrument is Instrument and bb.Instrument is Instrument
    for mod in (eng, bb, bn):  # no rounding helpers of their own
        assert not any(hasattr(mod, n) for n in ("_grid", "_decimals", "_grid_of")), mod.__name__
    i = Instrument.from_mapping("X", {"tickSize": "0.2", "qtyStep": "0.001", "minOrderQty": "0.001",
                                      "minNotionalValue": "5"})
    assert i.round_price(2995.5, "buy") == 2995.4 and i.round_price(2995.5, "sell") == 2995.6
    assert i.price_str(2995.4000000001) == "2995.4" and i.qty_str(0.8340000001) == "0.834"
    assert i.order_qty(4.0, 2995.4) == 0.0 and i.round_qty(4.0 / 2995.4) == 0.001  # min notional, not min qty
    assert i.order_qty(2500.0, 2995.4) == 0.834
    b = Instrument.from_binance({"symbol": "X", "filters": [
        {"filterType": "PRICE_FILTER", "tickSize": "0.10"}, {"filterType": "LOT_SIZE", "stepSize": "0.001", "minQty": "0.001",
                                                              "maxQty": "1000"}, {"filterType": "MIN_NOTIONAL", "notional": "100"}]})
    assert (b.tick_size, b.qty_step, b.max_qty, b.min_notional) == (0.1, 0.001, 1000.0, 100.0)
    assert b.round_qty(5000.0) == 1000.0 and math.isinf(Instrument("Y", 0.1, 1.0).max_qty)
    with pytest.raises(ValueError, match="min_notional"):
        Instrument("Z", 0.1, 1.0, 1.0, math.inf, -1.0)


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_venue_grid_and_min_notional_reach_the_engine():
    from liqcore.venues.bybit.gateway import BybitGateway
    from liqcore.live.engine import Engine
    from liqcore.venues.bybit.fake import FakeExchange
    from liqcore.testing.fake_replay import liquidation_frame, trade_frame

    inst = {"ETHUSDT": {"tickSize": 0.2, "qtyStep": 0.001, "minOrderQty": 0.001},
            "ABCUSDT": {"tickSize": 0.01, "qtyStep": 0.001, "minOrderQty": 0.001}}

    def frames(symbol):
        t0 = int(time.time() * 1000) - 30_000
        out = [liquidation_frame(symbol, 3000, q, "Buy", t0 + i * 1000) for i, q in enumerate([0.5, 0.1, 0.3, 0.2, 0.4, 0.15])]
        out.append(trade_frame(symbol, 3000.0, 1, "Sell", t0 + 20_000))
        out += [liquidation_frame(symbol, 3000, 10, "Buy", t0 + 21_000), liquidation_frame(symbol, 2999, 12, "Buy", t0 + 22_000)]
        return [orjson.dumps(f) for f in out]

    async def main():
        async with FakeExchange(instruments=inst) as fx:  # the fake lists minNotionalValue 5 for every symbol
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=list(inst),
                              retry_backoff=0.02, timeout=2.0)
            eng = Engine(Params(min_history=5, history=50), symbols=["ETHUSDT"], gateway=gw)
            await eng.start()
            (d,) = [x for f in frames("ETHUSDT") for x in eng.on_frame("bybit", f, orjson.loads(f)["ts"] * 1_000_000)]
            assert d.action == "order" and d.price == 2995.4 and d.qty == 0.834  # the venue's 0.2 tick, not 0.01
            await eng.drain(5)
            (req,) = fx.requests_to("/v5/order/create")
            assert req.ret_code == 0 and req.body["price"] == "2995.4" and req.body["qty"] == "0.834"
            await eng.shutdown()

            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=list(inst),
                              retry_backoff=0.02, timeout=2.0)
            eng = Engine(Params(min_history=5, history=50), symbols=["ABCUSDT"], gateway=gw, notional=4.0)
            await eng.start()
            (d,) = [x for f in frames("ABCUSDT") for x in eng.on_frame("bybit", f, orjson.loads(f)["ts"] * 1_000_000)]
            assert d.action == "none" and d.reason == "below_min_notional"  # 0.001 x 2995.5 < 5 USDT
            await eng.drain(2)
            assert len(fx.requests_to("/v5/order/create")) == 1
            await eng.shutdown()

    asyncio.run(main())
