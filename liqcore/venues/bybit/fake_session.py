"""Bybit's side of the local venue's market (``liqcore venue``; :class:`liqcore.testing.fake_session.LocalMarket`):
what the market reads of the fake Bybit venue (``FakeExchange``: its trading sessions, subscriptions and prints) and
its top of book as Bybit streams it.  The venue registry's part ``fake_session``.

May import: ``orjson``.
"""
from __future__ import annotations

import orjson

__all__ = ["LocalMarketSide"]


class LocalMarketSide:
    """What the local venue (``liqcore.testing.fake_session.LocalMarket``) reads and writes on the fake
    Bybit (``FakeExchange``)."""

    #: an unchanged top of book is sent again after this many seconds
    BOOK_RESEND_S = 3.0

    def __init__(self, fv):
        self.fv = fv

    def start_over(self) -> None:
        """The market replays from its beginning: what the venue remembers of the last replay's market goes."""
        pass  # (its streams keep no market memory)

    def sessions(self) -> int:
        return self.fv.authed_private()

    def subscriptions(self, since: int):
        ops = self.fv.public_ops
        trades, books = [], []
        for _cid, op, args, ok in ops[since:]:
            if op != "subscribe" or not ok:
                continue
            for a in args:
                if a.startswith("publicTrade."):
                    trades.append(a[12:])
                elif a.startswith("orderbook.1."):
                    books.append(a[12:])
        return len(ops), trades, books

    def trades_held(self, symbols) -> bool:
        return any(self.fv.subscribed(f"publicTrade.{s}") for s in symbols)

    @staticmethod
    def prints(data: bytes) -> list[tuple[str, float, float, int]]:
        if not data.startswith(b'{"topic":"publicTrade.'):
            return []
        try:
            return [(t["s"], float(t["p"]), float(t["v"]), int(t["T"])) for t in orjson.loads(data)["data"]]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return []

    @staticmethod
    def recorded_book(data: bytes) -> str | None:
        if not data.startswith(b'{"topic":"orderbook.1.'):
            return None
        return data[22:data.index(b'"', 22)].decode()

    async def send_book(self, symbol: str, frame: bytes, row) -> None:
        await self.fv.push(frame)

    @staticmethod
    def book_frame(symbol: str, update_id: int, t_ms: int, bid: str, bid_qty: str, ask: str,
                   ask_qty: str) -> tuple[bytes, dict | None]:
        """One top-of-book push on ``orderbook.1.<SYMBOL>`` ("Orderbook": snapshots only at level 1, one again with the same ``u`` after 3 s without a change): ``(frame bytes, data row or None)``, prices and sizes as the venue's
        decimal strings."""
        return orjson.dumps({"topic": f"orderbook.1.{symbol}", "type": "snapshot", "ts": t_ms,
                             "data": {"s": symbol, "b": [[bid, bid_qty]], "a": [[ask, ask_qty]], "u": update_id,
                                      "seq": update_id}, "cts": t_ms}), None
