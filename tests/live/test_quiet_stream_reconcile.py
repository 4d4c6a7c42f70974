"""Reconciliation while a private stream is quiet, on every venue: a stream that drops pushes without closing
(open, but mute for less than its liveness check) causes no reconnect, so the reconnect's reconciliation never
runs; the gateway reads the venue again every ``reconcile_s`` seconds while its stream says nothing and an order
or a position is open, and the fill made meanwhile is booked once, with its exits.  (Binance:
``tests/live/test_binance_bad_days_exits.py``.)"""
from __future__ import annotations

import asyncio

import pytest

from liqcore.venues.gateway import OrderIntent
from tests._bad_days import booked_once, bybit_day, bybit_invariants, okx_day, okx_invariants, run, until
from tests._bad_days import fresh_governors  # noqa: F401 (autouse: no host governor before or after a test)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def test_bybit_a_mute_shorter_than_the_ping_rule_loses_no_fill():
    """Bybit's private socket stalled (no push, no pong) for about a second, its ping every 5 s: no reconnect;
    the quiet stream's reconciliation (``GET /v5/execution/list``) books the entry's fill once."""
    async def main():
        async with bybit_day(ping_interval=5.0, pong_timeout=5.0, stale_after=60.0, reconcile_s=0.3) as (fx, gw, rec):
            await fx.trade("ETHUSDT", 2500.0)
            px = gw.round_price("ETHUSDT", 2496.25, "buy")
            await gw.place(OrderIntent("ETHUSDT", "buy", 0.5, px, "q-1", take_profit=2500.0, stop_loss=2490.0))
            await until(lambda: any(u.client_id == "q-1" and u.status == "new" for u in rec.updates))
            assert fx.stall("private") == 1
            await fx.trade("ETHUSDT", px - 0.05)
            await until(lambda: any(f.client_id == "q-1" for f in rec.fills), what="the fill booked")
            fx.stall("private", stalled=False)
            await asyncio.sleep(0.5)
            assert gw.stream.stats["reconnects"] == 0 and gw.stats["quiet_reconciles"] >= 1
            assert len(booked_once(rec)) == 1
            bybit_invariants(fx, gw)

    run(main())


def test_okx_a_mute_shorter_than_the_ping_rule_loses_no_fill():
    """OKX's private socket mute, its ping rule 20 s: the quiet stream's reconciliation (``GET
    /api/v5/trade/fills``) books the fill once and the exits go out, long before a reconnect."""
    async def main():
        async with okx_day(reconcile_s=0.3) as (fo, gw, rec):
            await fo.trade("ETH-USDT-SWAP", 2500.0)
            await gw.place(OrderIntent("ETHUSDT", "buy", 0.5, 2496.25, "lc-ETH-1-q2", take_profit=2500.0,
                                       stop_loss=2490.01))
            fo.mute("private")
            await fo.trade("ETH-USDT-SWAP", 2496.2)
            await until(lambda: rec.fills, what="the fill booked")
            await until(lambda: [a for a in fo.algos().values() if a["state"] == "live"], what="the exits placed")
            assert gw.stats["reconnects"] == 0 and gw.stats["quiet_reconciles"] >= 1
            okx_invariants(fo, gw, rec)

    run(main())


@pytest.mark.parametrize("venue", ["bybit", "okx"])
def test_a_quiet_stream_with_nothing_open_costs_no_request(venue):
    async def main():
        day = bybit_day(reconcile_s=0.2) if venue == "bybit" else okx_day(reconcile_s=0.2)
        async with day as (fx, gw, rec):
            n = len(fx.requests)
            await asyncio.sleep(0.8)
            assert gw.stats["quiet_reconciles"] == 0 and len(fx.requests) == n

    run(main())


def test_okx_the_stop_cancels_the_exit_algo_of_a_position_closed_just_before():
    """The position closed at market just before the stop, the task that cancels its take-profit / stop-loss
    algo still asking (its cancel answered 50001, a 5xx): the stop lists the pending algos
    (``GET /api/v5/trade/orders-algo-pending``) and cancels this session's algo of the flat position; the start
    lists them too (``reconciled["algo_orders"]``)."""
    from tests._bad_days import FakeOkx, OkxGateway, OKX_OPTS

    async def main():
        async with FakeOkx() as fo:
            gw = OkxGateway(fo.api_key, fo.api_secret, fo.passphrase, fo.rest_url, fo.ws_base,
                            **{**OKX_OPTS, "retry_backoff": 0.3})
            await gw.start()
            assert gw.reconciled["algo_orders"] == []
            try:
                await fo.trade("ETH-USDT-SWAP", 2500.0)
                await gw.place(OrderIntent("ETHUSDT", "buy", 0.5, 2496.25, "lc-ETH-1-st1", take_profit=2500.0,
                                           stop_loss=2490.01))
                await fo.trade("ETH-USDT-SWAP", 2496.2)
                await until(lambda: [a for a in fo.algos().values() if a["state"] == "live"], what="the exits placed")
                fo.fail_next(3, status=503, path="/api/v5/trade/cancel-algos")
                await gw.close_position("ETHUSDT", "lc-ETH-1-x1")
                await until(lambda: not gw._pos_ct.get("ETH-USDT-SWAP") and "ETH-USDT-SWAP" not in gw._bracket,
                            what="the position flat, its bracket clearing")
            finally:
                await gw.close()
            assert not [a for a in fo.algos().values() if a["state"] == "live"]

    run(main())
