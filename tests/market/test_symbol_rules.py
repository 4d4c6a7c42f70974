"""Every order on any symbol leaves on that symbol's own trading rules (tick, lot, minimum), read from the
venue; a signal on a symbol whose rules are unknown is skipped and counted, never sent."""
from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import orjson
import pytest

from liqcore.config import Params


def _frames(symbol: str, px: float):
    t0 = int(time.time() * 1000) - 30_000
    out = [("liq", symbol, px, q, t0 + i * 1000) for i, q in enumerate([50, 10, 30, 20, 40, 15])]
    out += [("trade", symbol, px, 100, t0 + 20_000), ("liq", symbol, px, 1000, t0 + 21_000),
            ("liq", symbol, px * 0.9995, 1200, t0 + 22_000)]
    from liqcore.testing.fake_replay import liquidation_frame, trade_frame

    return [orjson.dumps(liquidation_frame(s, p, q, "Buy", t) if k == "liq" else trade_frame(s, p, q, "Sell", t))
            for k, s, p, q, t in out]


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_a_long_tail_symbol_trades_on_its_own_tick_and_lot_and_an_unknown_one_sends_nothing():
    from liqcore.venues.bybit.gateway import BybitGateway
    from liqcore.live.engine import Engine
    from liqcore.venues.bybit.fake import FakeExchange

    # ARCUSDT: tick 0.0001, lot 10 (a long-tail contract); FOOUSDT: listed by no venue, in no table
    inst = {"ARCUSDT": {"tickSize": 0.0001, "qtyStep": 10.0, "minOrderQty": 10.0}}

    async def main():
        async with FakeExchange(instruments=inst) as fx:
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ARCUSDT"],
                              retry_backoff=0.02, timeout=2.0)
            eng = Engine(Params(min_history=5, history=50), symbols=["ARCUSDT", "FOOUSDT"], gateway=gw, notional=1234.5)
            await eng.start()
            got = [d for f in _frames("ARCUSDT", 0.12347) for d in eng.on_frame("bybit", f, orjson.loads(f)["ts"] * 1_000_000)]
            (d,) = [d for d in got if d.action == "order"]
            await eng.drain(5)
            (req,) = fx.requests_to("/v5/order/create")
            assert req.ret_code == 0 and req.body["symbol"] == "ARCUSDT"
            price, qty = Decimal(req.body["price"]), Decimal(req.body["qty"])
            assert price % Decimal("0.0001") == 0 and qty % 10 == 0 and qty >= 10
            assert price <= Decimal("0.12347") and qty * price <= Decimal("1234.5")  # a buy rounds down, the qty too
            # the symbol the venue does not list (its list loaded at start): the cascade is decided, the order is refused before it leaves, counted
            got = [d for f in _frames("FOOUSDT", 2.5) for d in eng.on_frame("bybit", f, orjson.loads(f)["ts"] * 1_000_000)]
            assert [d.reason for d in got if d.symbol == "FOOUSDT"] == ["no_instrument"]
            await eng.drain(2)
            assert len(fx.requests_to("/v5/order/create")) == 1
            # the decision's metrics are written after the loop has read the venue (deferred bookkeeping)
            deadline = time.monotonic() + 30
            while 'outcome="no_instrument"' not in eng.metrics.render() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert 'liqcore_decisions_total{outcome="no_instrument"} 1' in eng.metrics.render()
            await eng.shutdown()

    asyncio.run(main())
