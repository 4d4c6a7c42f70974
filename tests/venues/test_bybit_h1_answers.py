"""The create path's own HTTP/1.1 client (``liqcore.venues.bybit.h1``) reads answers as RFC 9112 and RFC 9110
write them, against a real server on 127.0.0.1 that sends each answer byte for byte: a status code is three
digits, ``Content-Length`` is ``1*DIGIT``, a chunk size ``1*HEXDIG``.  What Python's ``int()`` also takes (a sign,
``0x``, digits grouped as ``1_0``) is a malformed answer: the connection is dropped and the caller told so
(``ConnectionResetError``, an outcome it must ask the venue for), never a body read at a length the server did
not send."""
from __future__ import annotations

import asyncio

import pytest

from liqcore.venues.bybit.h1 import H1Client

REQ = b"POST /v5/order/create HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"


async def _answer(raw: bytes):
    """One request to a server that answers ``raw`` -> the client's ``(status, headers, body)`` or its error."""
    async def serve(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(2)
        writer.write(raw)
        await writer.drain()
        try:
            await asyncio.wait_for(reader.read(), 10)  # (the client closes, or the test ends)
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = H1Client(f"http://127.0.0.1:{port}")
    try:
        return await client.request(REQ, 10.0)
    except ConnectionError as exc:
        return exc
    finally:
        client.close()
        server.close()
        await server.wait_closed()


def _run(raw: bytes):
    return asyncio.run(asyncio.wait_for(_answer(raw), 20))


def test_well_formed_answers_are_read():
    assert _run(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"retCode\":0") == \
        (200, {"content-length": "12"}, b"{\"retCode\":0")
    got = _run(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n"
               b"0\r\n\r\n")
    assert got[0] == 200 and got[2] == b"hello0123456789"


@pytest.mark.parametrize("raw", [
    b"HTTP/1.1 2_00 OK\r\nContent-Length: 2\r\n\r\n{}",
    b"HTTP/1.1 +200 OK\r\nContent-Length: 2\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nContent-Length: 1_0\r\n\r\n{\"a\":12345}",
    b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\n{}\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1_0\r\n0123456789abcdef\r\n0\r\n\r\n",
], ids=["status-grouped", "status-signed", "length-grouped", "length-signed", "length-negative", "chunk-0x",
        "chunk-negative", "chunk-grouped"])
def test_numbers_python_takes_but_http_does_not_are_a_malformed_answer(raw):
    """Before: ``2_00`` and ``+200`` were status 200, ``Content-Length: 1_0`` read ten bytes, ``0x2`` and ``1_0``
    were chunk sizes (and ``-2`` a negative one, its slice taken as the body)."""
    got = _run(raw)
    assert isinstance(got, ConnectionResetError), got
    assert "malformed HTTP answer" in str(got)
