"""The safety code's bounds, each to its edge, on stand-ins for the order manager and the gateway (no venue):

* the protection watchdog (:class:`liqcore.live.protect.Protection`) closes a position unprotected for exactly its
  limit, and not a moment before;
* an order whose outcome is unknown (:class:`liqcore.live.unknowns.Unknowns`) stays unknown while the query that
  should settle it itself fails (timeout, 5xx): it is asked again, never taken as "not at the venue";
* nothing is asked about it while the venue's host bans this IP: the first query goes out after the ban's end;
* a fill the venue delivers twice (the stream and the reconnect's trade read) reaches the callbacks once
  (:meth:`liqcore.venues.gateway_core.VenueGateway._first_seen`), and the journal books an exec id once.
"""
from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

from liqcore.live.metrics import Metrics
from liqcore.live.protect import Protection
from liqcore.live.unknowns import Unknowns
from liqcore.venues.gateway import Fill, GatewayError, OrderIntent, OrderUpdate
from liqcore.venues.governor import governor_for, reset_governors


@pytest.fixture(autouse=True)
def _governors():
    reset_governors()
    yield
    reset_governors()


class _Manager:
    """The parts of the order manager that :class:`Protection` and :class:`Unknowns` use."""

    def __init__(self, gateway=None):
        self.books = {"ETHUSDT": SimpleNamespace(position_qty=0.5, closing="")}
        self.closing = self.stopping = False
        self.journal = None
        self.metrics = Metrics()
        self.gateway = gateway or SimpleNamespace(name="binance")
        self.closed: list[tuple[str, str]] = []

    def close_at_market(self, symbol: str, reason: str) -> str:
        self.closed.append((symbol, reason))
        return "close-1"

    def now_ns(self) -> int:
        return time.time_ns()


# ---------------------------------------------------------------------------------------- the watchdog's bound
@pytest.mark.parametrize("limit_s", [30.0, 12.5])
def test_the_watchdog_closes_at_its_limit_to_the_second_and_not_before(limit_s):
    t = [1000.0]
    om = _Manager()
    p = Protection(om, limit_s=limit_s, clock=lambda: t[0])
    p.on_event({"symbol": "ETHUSDT", "exit": "sl", "action": "lost", "reason": "CANCELED by the venue"})
    for dt in (0.0, limit_s - 1.0, limit_s - 0.001):
        t[0] = 1000.0 + dt
        assert p.check() == [] and om.closed == [], dt
    t[0] = 1000.0 + limit_s
    assert p.check() == ["ETHUSDT"] and om.closed == [("ETHUSDT", "external")]


def test_the_watchdog_does_not_close_twice_while_its_close_is_in_flight():
    t = [0.0]
    om = _Manager()
    p = Protection(om, clock=lambda: t[0])
    p.on_event({"symbol": "ETHUSDT", "exit": "both", "action": "lost", "reason": "placement unknown"})
    t[0] = 30.0
    assert p.check() == ["ETHUSDT"]
    om.books["ETHUSDT"].closing = "close-1"
    t[0] = 31.0
    assert p.check() == [] and len(om.closed) == 1


# ---------------------------------------------------------------------------------------- unknown outcomes
class _Venue:
    """A gateway whose ``query`` fails ``failures`` times (timeouts, 5xx: :class:`GatewayError`), then answers
    ``state`` (None: no such order); ``cancel`` fails with an unknown outcome ``cancel_failures`` times."""

    name = "binance"

    def __init__(self, failures: int, state: str | None = "new", cancel_failures: int = 0):
        self.failures, self.state, self.cancel_failures = failures, state, cancel_failures
        self.asked: list[float] = []
        self.cancels = 0

    async def query(self, symbol, client_id):
        self.asked.append(time.monotonic())
        if len(self.asked) <= self.failures:
            raise GatewayError(f"binance query {client_id}: no answer from the venue (HTTP 503)")
        if self.state is None:
            return None
        return OrderUpdate(client_id, self.state, symbol, "42", "buy", 2496.25, 0.5, kind="entry")

    async def cancel(self, symbol, client_id):
        self.cancels += 1
        if self.cancels <= self.cancel_failures:
            raise GatewayError(f"binance cancel {client_id}: outcome unknown (-1007)")
        return OrderUpdate(client_id, "cancelled", symbol, "42", "buy", 2496.25, 0.5, kind="entry")


def _unknowns(venue, **kw) -> Unknowns:
    return Unknowns(_Manager(venue), delays=(0.0, 0.01, 0.01, 0.01), slow=0.01, **kw)


def _intent(cid="lc-ETH-1-abc"):
    return OrderIntent("ETHUSDT", "buy", 0.5, 2496.25, cid)


def test_a_resolution_query_that_fails_leaves_the_order_unknown_and_asks_again():
    venue = _Venue(failures=3)
    uk = _unknowns(venue)
    u = asyncio.run(uk.resolve(_intent()))
    assert u is not None and u.status == "new" and u.reason != "not_at_venue"
    assert len(venue.asked) == 4 and uk.resolved == 1 and not uk.open


def test_a_resolution_that_never_gets_an_answer_is_not_booked_as_absent():
    venue = _Venue(failures=100)
    uk = _unknowns(venue, max_queries=5)
    assert asyncio.run(uk.resolve(_intent())) is None
    assert len(venue.asked) == 5 and "lc-ETH-1-abc" in uk.open and uk.resolved == 0


def test_only_the_venues_answer_makes_an_order_absent():
    venue = _Venue(failures=2, state=None)
    u = asyncio.run(_unknowns(venue).resolve(_intent()))
    assert u.status == "rejected" and u.reason == "not_at_venue" and len(venue.asked) == 3


def test_a_cancel_whose_query_fails_is_not_taken_as_gone_and_is_sent_again():
    venue = _Venue(failures=2, state="new", cancel_failures=1)
    u = asyncio.run(_unknowns(venue).cancel("ETHUSDT", "lc-ETH-1-abc"))
    assert u is not None and u.status == "cancelled" and u.reason != "not_at_venue"
    assert venue.cancels == 2 and len(venue.asked) == 3


# ---------------------------------------------------------------------------------------- a ban
def test_nothing_is_asked_during_a_ban_the_first_query_after_its_end():
    venue = _Venue(failures=0)
    uk = _unknowns(venue)
    gov = governor_for("binance", "https://fapi.binance.com")
    gov.ban(0.6, "HTTP 418")
    ends = time.monotonic() + gov.ban_left()
    u = asyncio.run(uk.resolve(_intent()))
    assert u.status == "new" and venue.asked and venue.asked[0] >= ends - 0.01


# ---------------------------------------------------------------------------------------- fills delivered twice
def test_a_fill_delivered_twice_reaches_the_callbacks_once():
    from liqcore.venues.binance.gateway import BinanceGateway

    gw = BinanceGateway("k", "s", "http://127.0.0.1:9", "ws://127.0.0.1:9")
    ev = {"e": "ORDER_TRADE_UPDATE", "E": 1, "T": 1, "o": {
        "s": "ETHUSDT", "c": "lc-ETH-1-abc", "S": "BUY", "o": "LIMIT", "ot": "LIMIT", "q": "0.5", "p": "2496.25",
        "ap": "2496.25", "x": "TRADE", "X": "FILLED", "i": 42, "l": "0.5", "z": "0.5", "L": "2496.25", "n": "0.1",
        "T": 1, "t": 7, "m": True, "R": False}}
    fills = []
    gw.on_fill(fills.append)

    async def go():
        await gw._handle(ev)
        await gw._handle(ev)  # (redelivered)
        # (the reconnect's trade read, GET /fapi/v1/userTrades: the same trade)
        gw._unmatched["42"] = ("ETHUSDT", [{"id": 7, "orderId": 42, "price": "2496.25", "qty": "0.5", "buyer": True,
                                            "time": 1}])
        await gw._book_unmatched("42", "lc-ETH-1-abc", "entry")
    asyncio.run(go())
    assert [(f.exec_id, f.qty) for f in fills] == [("ETHUSDT-7-42", 0.5)]


def test_the_journal_books_an_exec_id_once(tmp_path):
    from liqcore.live.journal import Journal

    j = Journal(tmp_path / "j.sqlite")
    f = Fill("lc-ETH-1-abc", "ETHUSDT", "buy", 2496.25, 0.5, 0.1, True, "ETHUSDT-7-42", "entry", 1)
    assert j.fill(f, 1) is True and j.fill(f, 2) is False
    j.flush()
    assert j.db.execute("SELECT COUNT(*) FROM fills").fetchone()[0] == 1
    j.close()
