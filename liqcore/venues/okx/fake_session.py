"""OKX's side of the local venue's market (``liqcore venue``; :class:`liqcore.testing.fake_session.LocalMarket`):
what the market reads of the fake OKX venue (``FakeOkx``: its trading sessions, subscriptions and prints) and
its top of book as OKX streams it.  The venue registry's part ``fake_session``.

May import: ``orjson``.
"""
from __future__ import annotations

import orjson

__all__ = ["LocalMarketSide"]


class LocalMarketSide:
    """What the local venue (``liqcore.testing.fake_session.LocalMarket``) reads and writes on the fake
    OKX (``FakeOkx``; sizes in contracts)."""

    #: an unchanged top of book is sent again after this many seconds
    BOOK_RESEND_S = 1.0

    def __init__(self, fv):
        self.fv = fv

    def start_over(self) -> None:
        """The market replays from its beginning: what the venue remembers of the last replay's market goes."""
        self.fv.liquidation_replay.clear()  # (its liquidation-orders channel's first push repeats them)

    def sessions(self) -> int:
        return self.fv.logged_in("private")

    def subscriptions(self, since: int):
        log = self.fv.ws_log
        trades, books = [], []
        for ep, req in log[since:]:
            if ep != "public" or req.get("op") != "subscribe":
                continue
            for a in req.get("args") or []:
                if not isinstance(a, dict):
                    continue
                if a.get("channel") == "trades":
                    trades.append(str(a.get("instId")))
                elif a.get("channel") == "bbo-tbt":
                    books.append(str(a.get("instId")))
        return len(log), trades, books

    def trades_held(self, symbols) -> bool:
        return self.fv.subscribed("trades", "public")

    @staticmethod
    def prints(data: bytes) -> list[tuple[str, float, float, int]]:
        if b'"channel":"trades"' not in data[:64]:
            return []
        try:
            return [(r["instId"], float(r["px"]), float(r["sz"]), int(r["ts"])) for r in orjson.loads(data)["data"]]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return []

    @staticmethod
    def recorded_book(data: bytes) -> str | None:
        if b'"channel":"bbo-tbt"' not in data[:64]:
            return None
        try:
            return str(orjson.loads(data)["arg"]["instId"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return None

    async def send_book(self, symbol: str, frame: bytes, row) -> None:
        if row is None:  # (a recorded frame: its own rows)
            try:
                row = orjson.loads(frame)["data"][0]
            except (orjson.JSONDecodeError, KeyError, TypeError, IndexError):
                return
        await self.fv.publish("bbo-tbt", {"channel": "bbo-tbt", "instId": symbol}, [row])

    @staticmethod
    def book_frame(symbol: str, update_id: int, t_ms: int, bid: str, bid_qty: str, ask: str,
                   ask_qty: str) -> tuple[bytes, dict | None]:
        """One top-of-book push on ``bbo-tbt`` ("Order book channel"; sizes in contracts; no re-send documented: one a second); the frame and its data row, which the fake publishes: ``(frame bytes, data row or None)``, prices and sizes as the venue's
        decimal strings."""
        row = {"asks": [[ask, ask_qty, "0", "1"]], "bids": [[bid, bid_qty, "0", "1"]], "ts": str(t_ms), "seqId": update_id}
        return orjson.dumps({"arg": {"channel": "bbo-tbt", "instId": symbol}, "data": [row]}), row
