"""Gate's side of the local venue's market (``liqcore venue``; :class:`liqcore.testing.fake_session.LocalMarket`):
what the market reads of the fake Gate (``FakeGate``: its trading sessions, subscriptions and prints) and its top of
book as Gate streams it (``futures.book_ticker``).  The venue registry's part ``fake_session``.

May import: ``orjson`` and this venue's ``fake_streams`` and ``samples``.
"""
from __future__ import annotations

import orjson

from liqcore.venues.gate.fake_streams import _topic

__all__ = ["LocalMarketSide"]


class LocalMarketSide:
    """What the local venue's market (:class:`liqcore.testing.fake_session.LocalMarket`) reads and writes on the
    fake Gate: its trading sessions (connections holding a private channel), the trades and book tickers a client
    subscribed, the prints of a ``futures.trades`` push and the top of book as ``futures.book_ticker`` (sizes in
    contracts; an unchanged book sent again every second, as the other fakes without a documented re-send do)."""

    #: an unchanged top of book is sent again after this many seconds
    BOOK_RESEND_S = 1.0

    def __init__(self, fv):
        self.fv = fv

    def start_over(self) -> None:
        """Nothing of the last replay's market is kept by the fake Gate."""

    def sessions(self) -> int:
        return self.fv.authed_private()

    def subscriptions(self, since: int):
        log = self.fv.ws_log
        trades, books = [], []
        for req in log[since:]:
            if req.get("event") != "subscribe" or not isinstance(req.get("payload"), list):
                continue
            if req.get("channel") == "futures.trades":
                trades += [str(c) for c in req["payload"]]
            elif req.get("channel") == "futures.book_ticker":
                books += [str(c) for c in req["payload"]]
        return len(log), trades, books

    def trades_held(self, symbols) -> bool:
        return any(self.fv.subscribed(_topic("futures.trades", [s])) for s in symbols)

    @staticmethod
    def prints(data: bytes) -> list[tuple[str, float, float, int]]:
        if b'"channel":"futures.trades"' not in data[:96]:
            return []
        try:
            return [(str(r["contract"]), float(r["price"]), abs(float(r["size"])), int(r["create_time_ms"]))
                    for r in orjson.loads(data)["result"]]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return []

    @staticmethod
    def recorded_book(data: bytes) -> str | None:
        if b'"channel":"futures.book_ticker"' not in data[:96]:
            return None
        try:
            return str(orjson.loads(data)["result"]["s"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return None

    @staticmethod
    def book_frame(symbol: str, update_id: int, t_ms: int, bid: str, bid_qty: str, ask: str,
                   ask_qty: str) -> tuple[bytes, None]:
        from liqcore.venues.gate.samples import bbo_frame

        return bbo_frame(symbol, t_ms, float(bid), float(bid_qty), float(ask), float(ask_qty), update_id), None

    async def send_book(self, symbol: str, frame: bytes, row) -> None:
        await self.fv.publish(frame)
