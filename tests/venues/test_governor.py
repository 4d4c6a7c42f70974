"""The per-(venue, host) governor: weight windows, venue-asked pauses, bans that stop every caller, the
``Retry-After`` forms of RFC 9110 section 10.2.3, and the metrics it exports."""
from __future__ import annotations

import asyncio
import email.utils
import logging
import time

import pytest

from liqcore.live.metrics import Metrics
from liqcore.venues.governor import (Governor, VenueBanned, governor_for, governor_metrics, host_of,
                                     reset_governors, retry_after_seconds, header_number,
                                     MAX_HEADER_WAIT_S)
from liqcore.venues.outcomes import BANNED, REFUSED, UNKNOWN, Code, CodeTable


class Clock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t


@pytest.fixture(autouse=True)
def _fresh():
    reset_governors()
    yield
    reset_governors()


def test_retry_after_delay_seconds_and_http_date():
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(" 0 ") == 0.0
    assert retry_after_seconds(None) is None and retry_after_seconds("") is None
    assert retry_after_seconds("soon") is None
    now = 1_800_000_000.0
    # RFC 9110's own example form: an IMF-fixdate
    date = email.utils.formatdate(now + 90, usegmt=True)
    assert retry_after_seconds(date, now=now) == pytest.approx(90.0, abs=1.0)
    assert retry_after_seconds(email.utils.formatdate(now - 50, usegmt=True), now=now) == 0.0


@pytest.mark.parametrize("value", ["inf", "Infinity", "nan", "1e9", "-5", "+5", "1_000", "0x10", "١٢٠"])
def test_a_header_number_is_digits_alone(value):
    """RFC 9110's delay-seconds is ``1*DIGIT``: what Python's ``float()`` also takes (``inf``, an exponent, a sign,
    ``1_000``) is no number of a header.  Before, ``Retry-After: inf`` on a 418 raised OverflowError out of
    :meth:`Governor.observe` (the ban's end could not be written as a time) and ``X-MBX-USED-WEIGHT-1M: nan``
    or ``inf`` became the venue's count."""
    assert header_number(value) is None and retry_after_seconds(value) is None
    g = Governor("binance", "h", limit=2400, window_s=60.0, clock=Clock())
    assert g.observe(418, {"Retry-After": value}, ban_statuses=(418,), min_ban_s=120.0) == 120.0
    assert g.ban_left() == pytest.approx(120.0, abs=1.0)
    g.observe(200, {"X-MBX-USED-WEIGHT-1M": value}, used_header="X-MBX-USED-WEIGHT-1M")
    assert g.venue_used == 0.0


def test_a_header_wait_is_taken_at_a_week_at_most():
    assert header_number(" 12.5 ") == 12.5 and header_number("2399") == 2399.0
    assert retry_after_seconds("99999999999999999999") == MAX_HEADER_WAIT_S == 7 * 86400.0
    assert retry_after_seconds(email.utils.formatdate(4_000_000_000, usegmt=True), now=1_800_000_000.0) == \
        MAX_HEADER_WAIT_S
    g = Governor("binance", "h", clock=Clock())
    assert g.observe(418, {"Retry-After": "99999999999999999999"}, ban_statuses=(418,)) == MAX_HEADER_WAIT_S


def test_host_of_keys_by_host_and_port():
    assert host_of("https://fapi.binance.com") == "fapi.binance.com"
    assert host_of("http://127.0.0.1:8123/") == "127.0.0.1:8123"
    a = governor_for("binance", "http://127.0.0.1:1/")
    assert governor_for("binance", "http://127.0.0.1:1") is a
    assert governor_for("binance", "http://127.0.0.1:2") is not a
    assert governor_for("bybit", "http://127.0.0.1:1") is not a


def test_ban_stops_every_caller_until_it_ends_and_is_said_once(caplog):
    clk, wall = Clock(), Clock(1_800_000_000.0)
    g = Governor("binance", "fapi.example", clock=clk, wall=wall)
    with caplog.at_level(logging.ERROR, logger="liqcore.governor"):
        assert g.observe(418, {"Retry-After": "600"}, ban_statuses=(418,)) == 600.0
        g.observe(418, {"Retry-After": "590"}, ban_statuses=(418,))  # a second caller saw the same ban
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert lines[0].startswith("binance: IP banned by fapi.example until ")
    assert "HTTP 418, Retry-After 600 s" in lines[0]
    assert "2027-01-15T08:10:00Z" in lines[0]  # 1_800_000_000 + 600 on the wall clock
    with pytest.raises(VenueBanned) as ei:
        asyncio.run(g.acquire(1, "POST /fapi/v1/order"))
    assert ei.value.until == pytest.approx(1_800_000_600.0)
    assert "binance" in str(ei.value) and "until" in str(ei.value)
    clk.t += 599.0
    with pytest.raises(VenueBanned):
        g.check()
    clk.t += 1.5
    g.check()
    asyncio.run(g.acquire(1))
    assert g.bans == 1 and g.requests == 1


def test_minimum_ban_without_retry_after():
    clk = Clock()
    g = Governor("bybit", "api.example", clock=clk)
    g.observe(403, {}, ban_statuses=(403,), min_ban_s=600.0)
    assert g.ban_left() == pytest.approx(600.0)
    g.observe(200, {})
    assert g.banned


def test_pause_makes_callers_wait_then_go():
    g = Governor("okx", "www.example")

    async def go():
        g.observe(429, {"Retry-After": "0.2"})  # (asked for inside the loop: the callers start at once after it)
        t0 = time.monotonic()
        await asyncio.gather(g.acquire(), g.acquire())
        return time.monotonic() - t0

    assert asyncio.run(go()) >= 0.19
    assert g.rate_waits >= 1 and g.requests == 2 and not g.banned


def test_pause_longer_than_the_longest_wait_is_refused_not_slept():
    g = Governor("okx", "www.example")
    g.pause(3600.0, "HTTP 429")
    with pytest.raises(VenueBanned) as ei:
        asyncio.run(g.acquire(1, "GET /x"))
    assert "rate limited" in ei.value.reason


def test_weight_window_waits_for_the_oldest_spending_to_leave():
    clk = Clock()
    g = Governor("binance", "h", limit=10, window_s=60.0, clock=clk)
    slept = []

    async def fake_sleep(s):
        slept.append(s)
        clk.t += s

    real = asyncio.sleep
    asyncio.sleep = fake_sleep
    try:
        async def go():
            await g.acquire(6)
            clk.t += 10.0
            await g.acquire(4)
            await g.acquire(5)  # 15 > 10: the first 6 must leave the window (at t=1060)
        asyncio.run(go())
    finally:
        asyncio.sleep = real
    assert slept == [pytest.approx(50.0)]
    assert g.used() == pytest.approx(9.0)


def test_the_venues_own_count_of_used_weight_is_honoured():
    clk = Clock()
    g = Governor("binance", "h", limit=2400, window_s=60.0, clock=clk)
    asyncio.run(g.acquire(1))
    g.observe(200, {"X-MBX-USED-WEIGHT-1M": "2399"}, used_header="X-MBX-USED-WEIGHT-1M")
    assert g.used() == 2399.0
    assert g._window_wait(5) > 0.0


def test_metrics_export_the_ban():
    g = governor_for("binance", "http://127.0.0.1:9/")
    g.ban(120.0, "HTTP 418")
    m = Metrics()
    m.collectors.append(governor_metrics)
    text = m.render()
    assert 'liqcore_venue_banned{host="127.0.0.1:9",venue="binance"} 1' in text
    assert 'liqcore_venue_bans_total{host="127.0.0.1:9",venue="binance"} 1' in text


def test_code_table_classes_and_documents():
    t = CodeTable("binance", [Code("-1007", UNKNOWN, "Timeout waiting for response from backend server.", "doc"),
                              Code("HTTP 418", BANNED, "IP banned", "doc")])
    assert t.what(-1007) == UNKNOWN and t.what("HTTP 418") == BANNED and t.what(-2010) == REFUSED
    with pytest.raises(ValueError):
        Code("1", "maybe", "", "doc")
    with pytest.raises(ValueError):
        Code("1", UNKNOWN, "", "")
    with pytest.raises(ValueError):
        CodeTable("x", [Code("1", UNKNOWN, "", "d"), Code("1", REFUSED, "", "d")])


def test_protection_events_are_said_in_one_line_and_handed_on(caplog):
    from liqcore.venues.gateway import GatewayCallbacks

    class G(GatewayCallbacks):
        name = "okx"

    g = G()
    g._init_callbacks()
    seen = []
    g.on_protection(seen.append)
    g.on_protection(lambda e: 1 / 0)  # a failing callback stops neither the others nor the gateway
    with caplog.at_level(logging.WARNING, logger="liqcore.protection"):
        g._protection("ETHUSDT", "sl", "lost", "canceled by the venue")
        g._protection("ETHUSDT", "sl", "replaced", "new stop-loss live")
    msgs = [r.getMessage() for r in caplog.records if r.name == "liqcore.protection"]
    assert msgs[0] == "okx: ETHUSDT position unprotected: stop-loss lost (canceled by the venue)"
    assert msgs[1].startswith("okx: ETHUSDT position protected again: stop-loss replaced")
    assert [e["action"] for e in seen] == ["lost", "replaced"] and seen[0]["venue"] == "okx"
