"""Binance's side of the local venue's market (``liqcore venue``; :class:`liqcore.testing.fake_session.LocalMarket`):
what the market reads of the fake Binance venue (``FakeBinance``: its trading sessions, subscriptions and prints) and
its top of book as Binance streams it.  The venue registry's part ``fake_session``.

May import: ``orjson``.
"""
from __future__ import annotations

import orjson

__all__ = ["LocalMarketSide"]


class LocalMarketSide:
    """What the local venue reads and writes on the fake Binance (``FakeBinance`` with its market streams)."""

    #: an unchanged top of book is sent again after this many seconds
    BOOK_RESEND_S = 1.0

    def __init__(self, fv):
        self.fv = fv

    def start_over(self) -> None:
        """The market replays from its beginning: what the venue remembers of the last replay's market goes."""
        pass  # (its streams keep no market memory)

    def sessions(self) -> int:
        return self.fv.user_streams()

    def subscriptions(self, since: int) -> tuple[int, list[str], list[str]]:
        """``(next index, symbols whose trades were subscribed, symbols whose book was)`` of the requests since."""
        ops = self.fv.market.ops
        trades, books = [], []
        for op, names in ops[since:]:
            if op not in ("subscribe", "url"):
                continue
            for n in names:
                sym, _, stream = n.partition("@")
                if stream in ("aggTrade", "trade"):
                    trades.append(sym.upper())
                elif stream == "bookTicker":
                    books.append(sym.upper())
        return len(ops), trades, books

    def trades_held(self, symbols) -> bool:
        m = self.fv.market
        return any(m.subscribed(f"{s.lower()}@aggTrade") or m.subscribed(f"{s.lower()}@trade") for s in symbols)

    @staticmethod
    def prints(data: bytes) -> list[tuple[str, float, float, int]]:
        if b'"aggTrade"' not in data:
            return []
        try:
            m = orjson.loads(data)
            ev = m.get("data", m)
            return [(ev["s"], float(ev["p"]), float(ev["q"]), int(ev["T"]))]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return []

    @staticmethod
    def recorded_book(data: bytes) -> str | None:
        if b'"bookTicker"' not in data:
            return None
        try:
            m = orjson.loads(data)
            return str(m.get("data", m)["s"])
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            return None

    async def send_book(self, symbol: str, frame: bytes, row) -> None:
        if frame.startswith(b'{"stream":"'):  # (a recorded combined-stream frame: sent as its event)
            frame = frame[frame.find(b'"data":') + 7:frame.rindex(b"}")]
        self.fv.market.write_any(frame, (f"{symbol.lower()}@bookTicker",))

    @staticmethod
    def book_frame(symbol: str, update_id: int, t_ms: int, bid: str, bid_qty: str, ask: str,
                   ask_qty: str) -> tuple[bytes, dict | None]:
        """One top-of-book push on ``<symbol>@bookTicker`` ("Individual Symbol Book Ticker Streams"; no re-send documented: one a second): ``(frame bytes, data row or None)``, prices and sizes as the venue's
        decimal strings."""
        return orjson.dumps({"e": "bookTicker", "u": update_id, "E": t_ms, "T": t_ms, "s": symbol, "b": bid,
                             "B": bid_qty, "a": ask, "A": ask_qty}), None
