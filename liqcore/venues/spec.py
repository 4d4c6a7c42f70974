"""What a market-data connection to one venue endpoint needs: URL, subscribe messages, heartbeat.

The venue stream modules (``liqcore.venues.<venue>.stream``) build :class:`ConnectionSpec` objects;
the websocket transport (``liqcore.live.transport``) runs them.  This module sits in the venue layer
so the venue code never imports the live shell.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

__all__ = ["ConnectionSpec"]


@dataclass
class ConnectionSpec:
    """Everything a connection needs to know about one venue endpoint.

    ``subscribe`` holds the ready-to-send subscribe messages (bytes, already chunked within the venue
    limits); ``ping_payload`` is the application-level heartbeat text (None = websocket PING frames);
    ``is_pong(payload)`` recognises the venue's heartbeat reply (those frames are not handed on).
    """

    venue: str
    url: str
    subscribe: list[bytes] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)
    ping_payload: bytes | None = None
    ping_interval_s: float | None = None  # the venue's longest heartbeat interval (None: no requirement)
    is_pong: Callable[[bytes], bool] | None = None
    send_interval_s: float = 0.0  # spacing between subscribe messages
    #: HTTP headers of the websocket handshake (Gate: ``X-Gate-Size-Decimal: 1``, sizes as decimal strings)
    headers: dict = field(default_factory=dict)
