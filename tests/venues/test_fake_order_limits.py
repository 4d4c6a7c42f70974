"""The local fakes count each venue's documented order limit when a request ARRIVES, and refuse past it with
the venue's documented answer (liqcore.venues.loopback.RollingCount):

* Binance USD-M Futures, "General Info", LIMITS, order rate limits: orders are counted per account in intervals
  (by default 300 per 10 seconds and 1,200 per minute, each account's in ``GET /fapi/v1/exchangeInfo``
  ``rateLimits`` of type ORDERS); past one the order is refused with HTTP 429, error -1015 TOO_MANY_ORDERS
  "Too many new orders; current limit is %s orders per %s." (Error Codes);
* OKX v5, Trade, "Place order" (``POST /api/v5/trade/order``): "Rate Limit: 60 requests per 2 seconds",
  "Rate limit rule: User ID + Instrument ID"; past it code 50011 "Rate limit reached. Please refer to API
  documentation and throttle requests accordingly." (Error Code, REST API, HTTP 429);
* Bybit v5, "Rate Limit Rules", API Rate Limit: "based on the rolling time window per second and UID";
  past it ``"retCode": 10006, "retMsg": "Too many visits!"``.
"""
from __future__ import annotations

import pytest

from liqcore.venues.binance.rest import BinanceRateLimited, BinanceREST
from liqcore.venues.okx.rest import OkxRateLimited, OkxREST
from tests._bad_days import FakeBinance, FakeExchange, FakeOkx, run
from tests._bad_days import fresh_governors  # noqa: F401 (autouse: no host governor before or after a test)

pytestmark = pytest.mark.integration


def _binance_order(i: int) -> dict:
    return {"symbol": "ETHUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTX", "quantity": "0.01",
            "price": "2400", "newClientOrderId": f"lim-{i}"}


def test_binance_refuses_the_order_past_its_ten_second_count_with_minus_1015():
    async def main():
        async with FakeBinance() as fb:
            fb.set_last_price("ETHUSDT", 2500.0)
            assert [(c.limit, c.window_ns) for c in fb.order_limits] == [(300, 10_000_000_000), (1200, 60_000_000_000)]
            fb.order_limits = fb.order_limits[:1]
            fb.order_limits[0].limit = 3  # (the same count at a size a test sends quickly)
            rest = BinanceREST(fb.api_key, fb.api_secret, fb.rest_url, rate_limit_retries=0)
            try:
                for i in range(3):
                    await rest.request("POST", "/fapi/v1/order", _binance_order(i))
                with pytest.raises(BinanceRateLimited):
                    await rest.request("POST", "/fapi/v1/order", _binance_order(3))
            finally:
                await rest.close()
            last = fb.requests_to("/fapi/v1/order", "POST")[-1]
            assert (last.http_status, last.ret_code) == (429, -1015)
            assert len(fb.orders_with_client_id("lim-3")) == 0  # refused: not made

    run(main())


def test_okx_counts_place_order_per_instrument_and_refuses_past_its_two_second_count_with_50011():
    async def main():
        async with FakeOkx() as fo:
            fo.set_last_price("ETH-USDT-SWAP", 2500.0)
            assert (fo.order_limit.limit, fo.order_limit.window_ns) == (60, 2_000_000_000)
            fo.order_limit.limit = 5  # (the same count at a size a test sends well within the 2 s)
            rest = OkxREST(fo.api_key, fo.api_secret, fo.passphrase, fo.rest_url, rate_limit_retries=0)

            async def place(i: int):
                return await rest.request("POST", "/api/v5/trade/order", body={
                    "instId": "ETH-USDT-SWAP", "tdMode": "cross", "side": "buy", "ordType": "post_only", "sz": "1",
                    "px": "2400", "clOrdId": f"lim{i}"})
            try:
                for i in range(5):
                    await place(i)
                with pytest.raises(OkxRateLimited):
                    await place(5)
            finally:
                await rest.close()
            refused = [r for r in fo.requests_to("/api/v5/trade/order", "POST") if r.ret_code == "50011"]
            assert len(refused) == 1 and refused[0].http_status == 429
            assert fo.order_limit.refuse("SOL-USDT-SWAP", refused[0].recv_ns) is False  # another instrument: its own count

    run(main())


def test_bybit_counts_creates_by_arrival_in_a_rolling_second():
    async def main():
        async with FakeExchange() as fx:
            assert fx.rate_limit == 10
            t = 1_000_000_000_000
            for i in range(10):
                assert not fx._rate_limited("/v5/order/create", t + i * 50_000_000)
            assert fx._rate_limited("/v5/order/create", t + 999_999_999)  # 10 arrived in the last second
            assert not fx._rate_limited("/v5/order/create", t + 1_000_000_000)  # the first left the window

    run(main())
