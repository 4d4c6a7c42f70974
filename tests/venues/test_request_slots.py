"""A request's rate-limit slot is held from its send until its answer, then for one more window
(liqcore.venues.ratelimit.SlidingWindowLimiter): a venue counts a request when it ARRIVES, and a burst whose
requests reach the venue late must not share a window with the next second's.

The venue tests put a :class:`tests._latency_proxy.LatencyProxy` between a venue's real gateway and its local
fake: the first window's creates reach the fake 0.3 s late, the next window's at once.  A limiter that counted a
request from its send let the next window's creates in 1.05 s after the first window's were sent, 0.75 s after
they arrived: the fake refused them (Bybit 10006, Binance -1015, OKX 50011).  Each fake counts a venue's
documented limit by arrival (liqcore.venues.loopback.RollingCount).
"""
from __future__ import annotations

import asyncio
import math

import pytest

from liqcore.venues.gateway import OrderIntent
from liqcore.venues.ratelimit import SlidingWindowLimiter
from tests._bad_days import BinanceGateway, BybitGateway, FakeBinance, FakeExchange, FakeOkx, OkxGateway, run
from tests._bad_days import fresh_governors  # noqa: F401 (autouse: no host governor before or after a test)
from tests._latency_proxy import LatencyProxy


# --------------------------------------------------------------------------------------------- the limiter
def test_a_slot_is_held_until_its_answer_then_one_window():
    now = [0.0]
    lim = SlidingWindowLimiter(2, 1.0, margin=0.0, clock=lambda: now[0])
    assert lim.try_acquire() and lim.try_acquire() and not lim.try_acquire()
    assert lim.delay() == math.inf and lim.in_flight == 2  # no answer yet: no time is known to free a slot
    now[0] = 5.0  # long after the send, the answers still out: still held
    assert not lim.try_acquire()
    lim.release()  # the first answer at 5.0 s: its slot frees at 6.0 s, not at 1.0 s
    assert lim.delay() == pytest.approx(1.0)
    now[0] = 5.999
    assert not lim.try_acquire()
    now[0] = 6.0
    assert lim.try_acquire() and lim.in_flight == 2


def test_a_waiter_wakes_on_an_answer_and_waits_one_window_from_it():
    async def main():
        lim = SlidingWindowLimiter(1, 0.2, margin=0.0)
        await lim.acquire()
        loop = asyncio.get_running_loop()
        waiter = asyncio.ensure_future(lim.acquire())
        await asyncio.sleep(0.3)  # longer than the window: the slot is still held (no answer)
        assert not waiter.done()
        answered = loop.time()
        lim.release()
        await asyncio.wait_for(waiter, 5)
        assert loop.time() - answered >= 0.19 and lim.waited == 1
        lim.release()

    run(main())


def test_a_slot_never_released_counts_as_answered_after_max_hold(caplog):
    now = [0.0]
    lim = SlidingWindowLimiter(1, 1.0, margin=0.0, clock=lambda: now[0], max_hold_s=10.0)
    assert lim.try_acquire()
    now[0] = 10.5
    assert not lim.try_acquire() and lim.overheld == 1  # counted as answered at 10.0 s: free at 11.0 s
    now[0] = 11.0
    assert lim.try_acquire()
    lim.release()  # the forgotten slot's late release frees nothing more
    assert lim.in_flight == 1 and "not released within 10 s" in caplog.text


def test_a_caller_that_never_releases_frees_its_slot_at_its_next_acquire_or_its_end():
    async def main():
        lim = SlidingWindowLimiter(1, 0.2, margin=0.0, max_hold_s=30.0)
        loop = asyncio.get_running_loop()
        stamps = []

        async def forgetful(n):  # acquire() before each request, release() never (its answers read in between)
            for _ in range(n):
                await lim.acquire()
                stamps.append(loop.time())

        await forgetful(3)  # in this task: each acquire frees the slot before it, then waits one window
        assert all(b - a >= 0.19 for a, b in zip(stamps, stamps[1:])), stamps
        assert lim.auto_released == 2 and lim.in_flight == 1  # the last one held: this task goes on
        other = asyncio.ensure_future(forgetful(1))  # another task: waits while this task holds the only slot
        await asyncio.sleep(0.3)
        assert not other.done() and lim.overheld == 0
        freed = loop.time()
        await forgetful(1)  # this task again: its slot freed now; the other task's turn one window later, ...
        assert other.done() and stamps[-2] - freed >= 0.19
        assert stamps[-1] - stamps[-2] >= 0.19  # ... then, its task ended, this one's one window after that
        assert lim.auto_released == 4 and lim.in_flight == 1 and lim.overheld == 0

    run(main())


# --------------------------------------------------------------------------------------------- the venues
async def _bybit(proxy_for):
    fx = await FakeExchange().start()
    proxy = await proxy_for(fx.port)
    gw = BybitGateway(fx.api_key, fx.api_secret, proxy.url, fx.private_ws_url, timeout=5.0, retry_backoff=0.05,
                      ping_interval=5.0)
    await gw.start()
    await fx.trade("DOGEUSDT", 0.2)
    intents = [OrderIntent("DOGEUSDT", "buy", 100, 0.19, f"slot-{i:02d}", post_only=True) for i in range(13)]
    return fx, gw, intents, lambda: [r for r in fx.requests_to("/v5/order/create") if r.ret_code == 10006]


async def _binance(proxy_for):
    fb = await FakeBinance(order_limits=((10, 1.0),)).start()  # an account whose order limit is the gateway's 10/s
    proxy = await proxy_for(fb.port)
    gw = BinanceGateway(fb.api_key, fb.api_secret, proxy.url, fb.ws_base, timeout=5.0, retry_backoff=0.05)
    await gw.start()
    fb.set_last_price("ETHUSDT", 2500.0)
    intents = [OrderIntent("ETHUSDT", "buy", 0.5, 2400.0, f"slot-{i:02d}", post_only=True) for i in range(13)]
    return fb, gw, intents, lambda: [r for r in fb.requests_to("/fapi/v1/order", "POST") if r.ret_code == -1015]


async def _okx(proxy_for):
    fo = await FakeOkx().start()  # the documented 60 creates per 2 s per instrument
    proxy = await proxy_for(fo.port)
    gw = OkxGateway(fo.api_key, fo.api_secret, fo.passphrase, proxy.url, fo.ws_base, symbols=["ETHUSDT"],
                    timeout=5.0, retry_backoff=0.05, connect_timeout=5.0)
    await gw.start()
    fo.set_last_price("ETH-USDT-SWAP", 2500.0)
    intents = [OrderIntent("ETHUSDT", "buy", 0.5, 2400.0, f"slot{i:02d}", post_only=True) for i in range(63)]
    return fo, gw, intents, lambda: [r for r in fo.requests_to("/api/v5/trade/order", "POST") if r.ret_code == "50011"]


@pytest.mark.integration
@pytest.mark.parametrize("venue", [_bybit, _binance, _okx], ids=["bybit", "binance", "okx"])
def test_a_burst_whose_first_window_arrives_late_is_never_refused(venue):
    async def main():
        proxies = []

        async def proxy_for(port):
            proxies.append(await LatencyProxy(port).__aenter__())
            return proxies[-1]

        fake, gw, intents, refusals = await venue(proxy_for)
        try:
            proxies[0].hold(0.3, for_s=0.5)  # the first window's creates reach the venue 0.3 s late
            done = await asyncio.gather(*(gw.place(i) for i in intents))
            assert proxies[0].delayed > 0
            assert all(u.status in ("pending", "new") for u in done), done
            assert refusals() == []
        finally:
            await gw.close()
            await proxies[0].__aexit__(None, None, None)
            await fake.stop()

    run(main(), timeout=60.0)
