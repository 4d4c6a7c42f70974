"""A gateway's answer-reading methods (``VenueGateway.ANSWER_METHODS``: query, cancel, open_orders, positions, equity,
close_position) and its creates (``place``: the outcome unknown) raise ``GatewayError`` alone, whatever the venue answers: the engine acts on that error (an unknown order asked again
later, a shutdown's listing of open orders, a restart's reconcile), and each venue's parsers raised Python's own
errors on an answer of another shape than its documents give -- a null order list ("'NoneType' object is not
iterable"), a list where an object is ("'list' object has no attribute 'get'"), a status that is no status -- which
stopped the step of the engine that asked.  Each venue's gateway runs started on its fake venue on 127.0.0.1 (its
instruments loaded), then its REST client answers the shapes below; the negative control calls the same methods
without the guard (``__wrapped__``) and meets those errors."""
from __future__ import annotations

import asyncio

import pytest

from liqcore.venues.gateway import GatewayError, OrderIntent
from liqcore.venues.gateway_core import VenueGateway
from tests._chaos import RIGS
from tests._bad_days import fresh_governors  # noqa: F401 (autouse: no host governor before or after a test)

#: answers of other shapes than any venue's documents give (each 200 OK, valid JSON)
SHAPES = [None, [], {}, [None], [{}], [[]], "x", 5, {"list": None}, {"list": [None]}, {"list": "x"},
          {"list": [{"symbol": "ETHUSDT", "size": "x", "side": 5}]}, {"data": None}, [{"symbol": 5, "positionAmt": "x"}],
          [{"instId": None, "pos": "abc"}], [{"clientOrderId": "a", "status": None, "origQty": "x"}],
          {"assets": [None]}, {"list": [{"totalEquity": "x"}]}, [{"contract": None, "size": "x"}], {"total": "x"}]


async def _calls(gw, symbol: str, guarded: bool) -> dict:
    """Each answer method on each shape (guarded: ``place`` too, whose create loop the gateway guards) -> the
    error types it raised other than GatewayError."""
    inst = gw.instrument(symbol)
    raw = {}
    for i, shape in enumerate(SHAPES):
        async def answer(*_a, **_k):
            return shape

        gw.rest.request = answer
        for name in VenueGateway.ANSWER_METHODS + (("place",) if guarded else ()):
            fn = getattr(type(gw), name)
            fn = fn if guarded else fn.__wrapped__
            args = (symbol, f"shape-{i}") if name in ("query", "cancel", "close_position") else ()
            if name == "place":  # (an intent on the instrument's grid: the create is sent, its answer garbled)
                args = (OrderIntent(symbol, "buy", max(inst.min_qty, inst.qty_step), 3000.0, f"shape-p{i}"),)
            try:
                await asyncio.wait_for(fn(gw, *args), 20)
            except GatewayError:
                pass
            except asyncio.TimeoutError:
                raise
            except Exception as exc:  # noqa: BLE001 (what the test counts)
                raw.setdefault(name, set()).add(type(exc).__name__)
    return raw


@pytest.mark.parametrize("venue", sorted(RIGS))
def test_every_answer_of_another_shape_is_a_gateway_error(venue):
    async def main():
        rig = RIGS[venue]()
        fx = await rig.open()
        gw = rig.gateway()
        await gw.start()
        if hasattr(gw, "cancel_wait"):  # (Bybit waits this long for a cancel's stream confirmation: none comes here)
            gw.cancel_wait = 0.05
        real = gw.rest.request
        try:
            guarded = await _calls(gw, rig.symbol, True)
            unguarded = await _calls(gw, rig.symbol, False)
        finally:
            gw.rest.request = real
            await gw.close()
            await fx.stop()
        return guarded, unguarded

    guarded, unguarded = asyncio.run(main())
    assert guarded == {}, guarded
    # the negative control: without the guard, the parsers' own errors (every venue met some)
    assert unguarded and set().union(*unguarded.values()) <= {"TypeError", "AttributeError", "KeyError",
                                                                "IndexError", "ValueError"}, unguarded


def test_a_plugin_venues_gateway_is_guarded_too_and_its_own_gateway_errors_pass_as_they_are():
    class Plugin(VenueGateway):
        name = "rekt"

        async def query(self, symbol, client_id):
            return None.get("x")

        async def cancel(self, symbol, client_id):
            raise GatewayError("rekt cancel: the venue said no")

    class Child(Plugin):  # (a subclass overriding a method: guarded once more, not twice over)
        async def positions(self):
            return [][0]

    async def main():
        gw = Child.__new__(Child)
        out = []
        for call in (gw.query("X", "c"), gw.cancel("X", "c"), gw.positions()):
            try:
                await call
            except GatewayError as exc:
                out.append(str(exc))
        return out

    assert asyncio.run(main()) == [
        "rekt query: an answer not of the venue's documented shape (AttributeError: 'NoneType' object has no "
        "attribute 'get')",
        "rekt cancel: the venue said no",
        "rekt positions: an answer not of the venue's documented shape (IndexError: list index out of range)"]
    assert Child.query is Plugin.query and Child.query.__wrapped__.__qualname__.endswith("Plugin.query")


@pytest.mark.parametrize("venue", sorted(RIGS))
def test_a_create_the_venue_made_but_answered_in_another_shape_is_the_order_it_made(venue, monkeypatch):
    """The create reaches the venue, which makes the order, and its answer comes back in another shape before the
    venue's private stream has told of it: the venue is asked for the client id at once and the order it made is the
    answer (before: "outcome unknown", the order known only at the order manager's next ask, a cancel meanwhile
    waiting on it).  The controls: the venue's answers to the ask garbled too, and the ask left out (the code
    before), each stay a ``GatewayError`` (outcome unknown); the create is never sent again."""
    async def main(garble_the_ask: bool, cid: str):
        rig = RIGS[venue]()
        fx = await rig.open()
        gw = rig.gateway()
        await gw.start()
        real = gw.rest.request
        posts = []

        async def answer(method, path, *a, **k):
            got = await real(method, path, *a, **k)  # (the venue does what it is asked)
            if method == "POST" and "order" in path:
                posts.append(path)
                gw._orders.pop((cid, "entry"), None)  # (the private stream's word of it: not in yet)
                return [None]  # (the create's answer, garbled on the way)
            return [None] if garble_the_ask and posts else got

        gw.rest.request = answer
        inst = gw.instrument(rig.symbol)
        try:
            u = await asyncio.wait_for(gw.place(OrderIntent(rig.symbol, "buy", max(inst.min_qty, inst.qty_step),
                                                            2900.0, cid)), 20)  # (below the last price: rests)
            return (u.client_id, u.status), posts
        except GatewayError as exc:
            return str(exc), posts
        finally:
            gw.rest.request = real
            await gw.close()
            await fx.stop()

    got, posts = asyncio.run(main(False, "garbled-0"))
    assert got == ("garbled-0", "new") and len(posts) == 1, (got, posts)
    got, posts = asyncio.run(main(True, "garbled-1"))
    assert "create garbled-1: outcome unknown" in got and len(posts) == 1, (got, posts)

    async def not_asked(self, client_id, reason):
        return None

    monkeypatch.setattr(VenueGateway, "_asked_after_shape", not_asked)
    got, posts = asyncio.run(main(False, "garbled-2"))
    assert "create garbled-2: outcome unknown" in got and len(posts) == 1, (got, posts)


@pytest.mark.parametrize("venue", sorted(RIGS))
def test_a_start_answered_in_another_shape_is_a_gateway_error(venue):
    """``start()`` (the clock, the instruments, the open orders and positions read): each answer but the clock's in
    one of :data:`SHAPES` is a one-line ``GatewayError`` naming the venue ("binance start failed: ...", "bybit
    instruments: unknown symbols ...") that the live runner reports, not the parser's own error (a Binance instrument list answered ``[]``: "'list' object has no
    attribute 'get'")."""
    async def main():
        rig = RIGS[venue]()
        fx = await rig.open()
        raised = {}
        try:
            for shape in SHAPES:
                gw = rig.gateway()
                real = gw.rest.request

                async def answer(method, path, *a, _real=real, _shape=shape, **k):
                    return await _real(method, path, *a, **k) if "time" in path else _shape

                gw.rest.request = answer
                try:
                    await asyncio.wait_for(gw.start(), 20)
                except GatewayError as exc:
                    assert str(exc).startswith(venue) and "\n" not in str(exc), str(exc)
                except asyncio.TimeoutError:
                    raise
                except Exception as exc:  # noqa: BLE001 (what the test counts)
                    raised[repr(shape)] = type(exc).__name__
                finally:
                    await gw.close()
        finally:
            await fx.stop()
        return raised

    assert asyncio.run(main()) == {}


def test_a_binance_user_event_its_handler_cannot_read_is_dropped_not_a_reconnect():
    """A user-stream event whose reading raised ``KeyError`` (or ``IndexError``) left the per-event handler, which
    caught ``ValueError``, ``TypeError`` and ``AttributeError`` alone: the connection was dropped and opened
    again (every event in between read from the venue again).  Now any of :data:`SHAPE_ERRORS` drops that event
    alone (``bad_events``), the stream stays up and the next event is handled."""
    from tests._bad_days import binance_day, run

    async def main():
        async with binance_day() as (fb, gw, rec):
            fb.set_last_price("ETHUSDT", 2500.0)
            real, seen = gw._handle, []

            async def handle(ev):
                seen.append(ev.get("e"))
                if len(seen) == 1:
                    raise KeyError("o")
                await real(ev)

            gw._handle = handle
            before = gw.stats["reconnects"]
            await gw.place(OrderIntent("ETHUSDT", "buy", 0.5, 2400.0, "ev-1"))
            await gw.place(OrderIntent("ETHUSDT", "buy", 0.5, 2401.0, "ev-2"))
            await rec.wait(lambda: any(u.client_id == "ev-2" and u.status == "new" for u in rec.updates))
            assert gw.stats["bad_events"] == 1 and gw.stats["reconnects"] == before
            assert len(seen) >= 2

    run(main())
