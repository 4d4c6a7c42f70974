"""A venue's answer code read as the integer its documents say it is (``liqcore.venues.numbers.wire_int``), against
servers on 127.0.0.1 answering what a broken proxy or a garbled body can: Binance ("Error Codes": ``{"code": <int>,
"msg": <str>}``) and Bybit v5 ("Integration Guidance": ``{"retCode": <int>, "retMsg": ...}``).

Before, ``int()`` read them: a ``null``/list/dict code raised ``TypeError`` out of the REST client (no venue error:
nothing above it catches that), ``true`` read as code 1, ``-1021.5`` as the timestamp error, ``"1_021"`` as 1021;
and a venue answering its timestamp error to every request, the unsigned time request too, made each resync ask
the time again inside the last: ``RecursionError``.  Now a code of no venue's table is "not a <venue> answer" (the
transport error: the outcome unknown, as a 5xx), and only a signed request resyncs the clock, once."""
from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from liqcore.venues.numbers import wire_int


def test_wire_int_reads_integers_and_digit_strings_alone():
    assert [wire_int(x) for x in (-2011, 0, "51000", " -1 ", "0")] == [-2011, 0, 51000, -1, 0]
    assert [wire_int(x) for x in (None, True, False, -1021.5, 0.0, "1_021", "", "-", "+5", "١٢", [1], {})] \
        == [None] * 12


async def _serve(status: int, body: bytes, seen: list):
    async def answer(req):
        seen.append(req.path)
        return web.Response(status=status, body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"


def _answered(venue: str, status: int, body: bytes, path: str, params: dict):
    """``GET path`` by the venue's REST client of a server answering ``status`` and ``body`` to every request ->
    ``(what request() returned or raised, the paths the server saw)``."""
    from liqcore.venues.governor import reset_governors

    async def main():
        seen: list = []
        runner, url = await _serve(status, body, seen)
        rest = _client(venue, url)
        try:
            try:
                return await rest.request("GET", path, params), seen
            except Exception as exc:  # noqa: BLE001 (the test names the type it expects)
                return exc, seen
        finally:
            await rest.close()
            await runner.cleanup()
            reset_governors()

    return asyncio.run(main())


def _binance(status: int, body: bytes):
    return _answered("binance", status, body, "/fapi/v1/order", {"symbol": "ETHUSDT", "origClientOrderId": "x"})


@pytest.mark.parametrize("status,body,kind,said", [
    (503, b'{"code": null, "msg": "x"}', "BinanceTransportError", "HTTP 503"),
    (503, b'{"code": "abc"}', "BinanceTransportError", "HTTP 503"),
    (400, b'{"code": [1], "msg": "x"}', "BinanceTransportError", "HTTP 400: not a Binance answer"),
    (400, b'{"code": true, "msg": "x"}', "BinanceTransportError", "HTTP 400: not a Binance answer"),
    (400, b'{"code": "1_021", "msg": "x"}', "BinanceTransportError", "HTTP 400: not a Binance answer"),
    (400, b'{"code": -1021.5, "msg": "x"}', "BinanceTransportError", "HTTP 400: not a Binance answer"),
    (400, b'{"code": -2011, "msg": "Unknown order sent."}', "BinanceAPIError", "code -2011 Unknown order sent."),
    (400, b'{"code": "-2011", "msg": "Unknown order sent."}', "BinanceAPIError", "code -2011 Unknown order sent."),
    (408, b'{"code": -1007, "msg": "Timeout waiting for response from backend server."}', "BinanceAPIError",
     "code -1007"),
])
def test_binance_answer_codes(status, body, kind, said):
    exc, _seen = _binance(status, body)
    assert type(exc).__name__ == kind and said in str(exc), repr(exc)


def test_binance_timestamp_error_to_every_request_resyncs_once_not_forever():
    exc, seen = _binance(400, b'{"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}')
    assert type(exc).__name__ == "BinanceAPIError" and exc.code == -1021
    assert seen == ["/fapi/v1/order", "/fapi/v1/time", "/fapi/v1/order"]  # (one resync, then the error)


def _bybit(status: int, body: bytes):
    return _answered("bybit", status, body, "/v5/order/realtime", {"category": "linear"})


@pytest.mark.parametrize("body,kind", [
    (b'{"retCode": [1], "retMsg": "x"}', "BybitTransportError"),
    (b'{"retCode": {}, "retMsg": "x"}', "BybitTransportError"),
    (b'{"retCode": true, "retMsg": "x"}', "BybitTransportError"),
    (b'{"retCode": 10002.5, "retMsg": "x"}', "BybitTransportError"),
    (b'{"retCode": "10_001", "retMsg": "x"}', "BybitTransportError"),
    (b'{"retCode": 10001, "retMsg": "params error"}', "BybitAPIError"),
    (b'{"retCode": "0", "retMsg": "OK", "result": {"list": []}}', "dict"),
])
def test_bybit_answer_codes(body, kind):
    got, _seen = _bybit(200, body)
    assert type(got).__name__ == kind, repr(got)
    if kind == "BybitTransportError":
        assert "not a Bybit response" in str(got)


def test_bybit_timestamp_error_to_every_request_resyncs_once_not_forever():
    got, seen = _bybit(200, b'{"retCode": 10002, "retMsg": "invalid request, please check your server timestamp"}')
    assert type(got).__name__ == "BybitAPIError" and got.ret_code == 10002
    assert seen == ["/v5/order/realtime", "/v5/market/time", "/v5/order/realtime"]


def test_a_binance_batch_cancel_row_with_a_garbled_code_is_an_error_of_that_row_alone():
    """``DELETE /fapi/v1/batchOrders`` answers one row per id; a row whose code is no integer was ``int()``'s
    TypeError, which ended the whole batch's answer."""
    from liqcore.venues.binance.gateway import BinanceGateway

    async def main():
        gw = BinanceGateway("key", "secret", "http://127.0.0.1:9")

        async def rows(*_a, **_k):
            return [{"code": [1], "msg": "x"}, {"code": -2011, "msg": "Unknown order sent."}]

        gw.rest.request = rows
        try:
            return await gw._cancel_batch([("ETHUSDT", "a"), ("ETHUSDT", "b")])
        finally:
            await gw.rest.close()

    out = asyncio.run(main())
    assert out["a"] == ("error: [1] x", None) and out["b"] == ("not_found", None)


def _client(venue: str, url: str):
    if venue == "binance":
        from liqcore.venues.binance.rest import BinanceREST

        return BinanceREST("key", "secret", url, rate_limit_retries=0)
    if venue == "bybit":
        from liqcore.venues.bybit.rest import BybitREST

        return BybitREST("key", "secret", url, rate_limit_retries=0, fast_create=False)
    if venue == "okx":
        from liqcore.venues.okx.rest import OkxREST

        return OkxREST("key", "secret", "pass", url, rate_limit_retries=0)
    from liqcore.venues.gate.rest import GateREST

    return GateREST("key", "secret", url, rate_limit_retries=0)


#: each venue's server-time answer as its document gives it, and garbled ones (a 200 whose time is no integer)
_TIMES = {
    "binance": (b'{"serverTime": 1499827319559}', [b'{"serverTime": "abc"}', b'{"serverTime": null}', b'[]', b'{}']),
    "bybit": (b'{"retCode": 0, "retMsg": "OK", "result": {"timeSecond": "1688639403", '
              b'"timeNano": "1688639403423213947"}, "retExtInfo": {}, "time": 1688639403423}',
              [b'{"retCode": 0, "retMsg": "OK", "result": {"timeSecond": "x"}}',
               b'{"retCode": 0, "retMsg": "OK", "result": []}', b'{"retCode": 0, "retMsg": "OK", "result": null}']),
    "okx": (b'{"code": "0", "msg": "", "data": [{"ts": "1597026383085"}]}',
            [b'{"code": "0", "msg": "", "data": [{"ts": "1.5e12"}]}', b'{"code": "0", "msg": "", "data": []}',
             b'{"code": "0", "msg": "", "data": [7]}']),
    "gate": (b'{"server_time": 1597026383085}', [b'{"server_time": "soon"}', b'{"server_time": true}', b'[1]']),
}


@pytest.mark.parametrize("venue", sorted(_TIMES))
def test_a_garbled_server_time_is_the_venues_transport_error_not_a_python_one(venue):
    """Binance "Check Server Time", Bybit v5 "Get Bybit Server Time", OKX "Get system time", Gate v4 "Get server
    current time": the documented answer sets the clock offset; a garbled one was ``int()``'s ValueError or
    TypeError, or a KeyError (out of a gateway's start as a traceback, and out of an order request that resynced its
    clock after a timestamp error): it is the venue's transport error now."""
    from liqcore.venues.governor import reset_governors

    good, bad = _TIMES[venue]

    async def one(body: bytes):
        runner, url = await _serve(200, body, [])
        rest = _client(venue, url)
        try:
            try:
                await rest.sync_time()
                return rest.time_offset_ms
            except Exception as exc:  # noqa: BLE001 (the test names the type it expects)
                return exc
        finally:
            await rest.close()
            await runner.cleanup()
            reset_governors()

    assert isinstance(asyncio.run(one(good)), int)
    for body in bad:
        got = asyncio.run(one(body))
        assert type(got).__name__.endswith("TransportError") and "not a" in str(got), (body, repr(got))
