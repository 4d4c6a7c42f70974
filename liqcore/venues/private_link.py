"""What the venue gateways' private websockets share (OKX's, Gate's): the stats object the engine's health reads,
the wait for the first connection at start, and the liveness rule of a socket the venue wants pinged after silence.

May import: the standard library.
"""
from __future__ import annotations

import asyncio
import time

__all__ = ["StreamStats", "wait_connected", "receive_alive"]


class StreamStats:
    """What the engine's health reads of a private stream (``stats``: ``ping_failures``, ``callback_errors``)."""

    __slots__ = ("stats",)

    def __init__(self, stats: dict) -> None:
        self.stats = stats


async def wait_connected(connected: asyncio.Event, fatal, timeout_s: float) -> bool:
    """Wait until ``connected`` is set, ``fatal()`` says why it never will (a refused login), or ``timeout_s``
    seconds pass; whether it is set."""
    deadline = time.monotonic() + timeout_s
    while not connected.is_set() and fatal() is None and time.monotonic() < deadline:
        try:
            await asyncio.wait_for(connected.wait(), 0.05)
        except asyncio.TimeoutError:
            pass
    return connected.is_set()


async def receive_alive(ws, interval_s: float, ping, stats: dict, pong: str = "pong"):
    """The next message of ``ws`` (aiohttp) under the venues' liveness rule: when nothing comes within
    ``interval_s``, ``await ping()`` (the venue's ping) and expect any message within ``interval_s`` more, else
    ConnectionError (``stats["liveness_reconnects"]``); a ping that cannot be written is a ConnectionError too
    (``stats["ping_failures"]``).  ``pong``: the answer's name in the error."""
    pinged = False
    while True:
        try:
            return await ws.receive(timeout=interval_s)
        except asyncio.TimeoutError:
            if pinged:
                stats["liveness_reconnects"] += 1
                raise ConnectionError(f"no {pong} within {interval_s:.1f} s of a ping (mute socket)") from None
            try:
                await ping()
            except (ConnectionError, RuntimeError):
                stats["ping_failures"] += 1
                raise ConnectionError("ping failed") from None
            pinged = True
