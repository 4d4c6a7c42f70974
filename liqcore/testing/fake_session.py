"""The market of the local venue (``liqcore venue``): its replay, run once for each trading session, and its top
of book, streamed as the venue streams it.  The rules, as a user meets them: docs/how-to/try-live-offline.md.

A real venue streams its top of book all the time, a quiet market included; the local venue renders one from its
own state on each venue's documented stream: Binance USD-M ``<symbol>@bookTicker`` ("Individual Symbol Book
Ticker Streams"), Bybit v5 ``orderbook.1.<SYMBOL>`` ("Orderbook": snapshots only at level 1, one again with the
same ``u`` after 3 s without a change), OKX v5 ``bbo-tbt`` ("Order book channel"; sizes in contracts).  The book
sits one tick either side of the last print (the replay's first print before any), each side showing
:data:`BOOK_DEPTH_TRADES` median sizes of the symbol's last prints plus the client's own resting limits there; it
carries the time of the print that moved it.  It is sent to a new subscriber at once, on each change and,
unchanged, every :func:`book_resend_s` seconds with the same update id (Binance and OKX document no re-send: one a
second, so a quiet symbol never looks like a dead stream).  A replay that carries the venue's own top-of-book
frames (a recording) keeps them, re-sent as they are.  A book never carries a time ahead of what the replay sends
after it (:meth:`LocalMarket.replay_ms`).

The replay starts over for each trading session: a client that opened the venue's private stream (Binance: a
listenKey's user stream; Bybit: an authenticated private websocket; OKX: a logged-in ``/ws/v5/private``) and
subscribed a trade stream.  A client without one (``liqcore preflight``, a recorder) that subscribes trades while
no private stream is open and no replay runs gets one of its own, which the next session starts over.  A private
stream reopened within :data:`SESSION_GAP_S` is the same session (a reconnect), unless the session ended
meanwhile: its private stream and its trade streams all closed (a run that stopped): the market starts over at
once.  A probe's replay starts 2 s after it subscribed and stops when it leaves (the rules, as a user meets them:
the page above).  Each replayed print goes through the fake's matching as it is sent.

Each venue's side (what the market reads of its fake, and its top-of-book frame) is its ``fake_session`` part's
``LocalMarketSide``, found through the venue registry.

May import: ``interrupt``, the venue registry, the venues' shared ``fake_streams`` and this package's
``fake_replay``.
"""
from __future__ import annotations

import asyncio
import math
import statistics
import sys
import time
from collections import deque


from liqcore.interrupt import end_task
from liqcore.venues.fake_streams import paced
from liqcore.venues.registry import venue_spec

__all__ = ["LocalMarket", "BOOK_DEPTH_TRADES", "SESSION_GAP_S", "book_frame", "book_resend_s", "market_side"]

#: the size each side of the rendered book shows, in median sizes of the symbol's last prints (the synthetic
#: market's own top of book: ``Effects.book_depth``)
BOOK_DEPTH_TRADES = 20
#: the prints whose median size the book shows
_SIZE_WINDOW = 32
#: a private stream that opens within this many seconds of the last one closing continues the same session
SESSION_GAP_S = 10.0
#: a trade stream subscribed this long before a session's private stream opened still starts the session's replay
_SUB_BEFORE_S = 2.0
_TICK_S = 0.05
_GRACE_S = 0.25  # after the trigger: the client's remaining subscriptions


def _decimals(step: float) -> int:
    """The decimals of a tick or lot (0.01 -> 2, 1 -> 0)."""
    if not step > 0:
        return 8
    return max(0, min(12, -math.floor(math.log10(step) + 1e-9)))


# ---------------------------------------------------------------------------------------------- the venues' sides
def market_side(venue: str):
    """The venue's side of the local market: its ``fake_session`` part's ``LocalMarketSide`` (built with the fake venue;
    ``BOOK_RESEND_S``, ``book_frame(...)``, and what the market reads of the fake: sessions, subscriptions,
    prints, recorded books)."""
    return venue_spec(venue).part("fake_session").LocalMarketSide


def book_frame(venue: str, symbol: str, update_id: int, t_ms: int, bid: str, bid_qty: str, ask: str,
               ask_qty: str) -> tuple[bytes, dict | None]:
    """One top-of-book push of ``venue`` in its documented form (see the module docstring), prices and sizes as
    the venue's decimal strings: ``(frame bytes, its data row or None)`` (OKX: the fake publishes the row on
    ``bbo-tbt``)."""
    return market_side(venue).book_frame(symbol, update_id, t_ms, bid, bid_qty, ask, ask_qty)


def book_resend_s(venue: str) -> float:
    """Seconds after which ``venue``'s unchanged top of book is sent again (see the module docstring)."""
    return float(market_side(venue).BOOK_RESEND_S)



# ---------------------------------------------------------------------------------------------- the market
class LocalMarket:
    """The replay and the top of book of the local venue ``fv`` (``venue``: binance, bybit or okx).

    ``symbols``: as the venue names them (OKX ``ETH-USDT-SWAP``); ``source``: a callable giving the replay's
    ``(recv_ns, frame bytes)`` afresh (each trading session replays it from its beginning); ``speed`` as
    :func:`~liqcore.venues.fake_streams.paced` takes it; ``send(fv, data)``: one replayed frame to the fake's
    streams and its prints to the fake's matching (returns the frames sent).  :meth:`run` serves until cancelled;
    ``say`` (default: stderr) is told each replay's start and end, one line each."""

    def __init__(self, fv, venue: str, symbols, source, speed: float, send, say=None):
        self.fv, self.venue, self.symbols = fv, venue, list(symbols)
        self.side = market_side(venue)(fv)
        self.source, self.speed, self.send = source, speed, send
        self.say = say or (lambda text: print(text, file=sys.stderr, flush=True))
        self.resend_s = book_resend_s(venue)
        #: the trading sessions seen (a new one each time a private stream opens with none open for SESSION_GAP_S)
        self.sessions = 0
        #: replays started: ``(session or None, frames sent)`` (None: for a client without a trading session)
        self.replays: list[list] = []
        self._task: asyncio.Task | None = None
        self._replay_session: int | None = -1  # the session the latest replay was for (-1: none started)
        self._last_private: float | None = None
        self._ended = False  # the last session's private stream and trade streams all closed
        self._session_t = 0.0
        self._sub_idx = 0
        self._trade_sub_t: float | None = None
        self._sizes: dict[str, deque] = {s: deque(maxlen=_SIZE_WINDOW) for s in self.symbols}
        self._opening: dict[str, float] = {}
        self._recorded: dict[str, bytes] = {}  # symbol -> the replay's latest top-of-book frame
        self._sent: dict[str, tuple] = {}  # symbol -> (book, update id, monotonic time sent)
        self._ids = 0
        self._clock_ms = 0  # the replay's latest print time (ms)
        self._first_ms = 0  # the replay's first print time (ms)
        #: the market's steps so far (one each 50 ms: sessions, subscriptions and books looked at)
        self.steps = 0

    # ---- the top of book
    def _book(self, sym: str):
        """``(bid, bid size, ask, ask size)`` as strings, or None before any price is known."""
        v = self.fv.venue
        last = v.last_price.get(sym) or self._opening.get(sym)
        inst = v.instruments.get(sym)
        if not last or inst is None:
            return None
        tick = float(inst["tickSize"])
        step = float(inst.get("qtyStep") or 0.0)
        k = round(last / tick)
        sizes = self._sizes.get(sym)
        shown = statistics.median(sizes) * BOOK_DEPTH_TRADES if sizes else BOOK_DEPTH_TRADES * (step or 1.0)
        bq = aq = shown
        for o in v.open_orders(sym):  # the client's own resting limits at the best prices
            if o.order_type != "Limit" or o.status not in ("New", "PartiallyFilled"):
                continue
            rest = max(o.qty - o.cum_exec_qty, 0.0)
            at = round(o.price / tick)
            if o.side == "Buy" and at == k - 1:
                bq += rest
            elif o.side == "Sell" and at == k + 1:
                aq += rest
        pd, qd = _decimals(tick), _decimals(step) if step > 0 else 4
        q = (lambda x: f"{max(round(x / step) * step, step):.{qd}f}") if step > 0 else (lambda x: f"{x:.{qd}f}")
        return f"{(k - 1) * tick:.{pd}f}", q(bq), f"{(k + 1) * tick:.{pd}f}", q(aq)

    async def _send_book(self, sym: str, force: bool = False, t_ms: int | None = None) -> None:
        now = time.monotonic()
        if sym in self._recorded:
            prev = self._sent.get(sym)
            if force or prev is None or now - prev[2] >= self.resend_s:
                await self.side.send_book(sym, self._recorded[sym], None)
                self._sent[sym] = (None, 0, now)
            return
        book = self._book(sym)
        if book is None:
            return
        prev = self._sent.get(sym)
        if prev is not None and prev[0] == book and not force and now - prev[2] < self.resend_s:
            return
        if prev is None or prev[0] != book:
            self._ids += 1
            uid = self._ids
        else:
            uid = prev[1]  # unchanged: sent again with the same update id
        frame, row = book_frame(self.venue, sym, uid, t_ms or self.replay_ms(), *book)
        await self.side.send_book(sym, frame, row)
        self._sent[sym] = (book, uid, now)

    def replay_ms(self) -> int:
        """The market's clock (ms): the replay's latest print time (before any print of the replay, and between
        replays once the market started over, its first print's).  A book carries the time of the print that moved
        it (the book changed with that trade), an unchanged one re-sent this clock: never ahead of a frame the
        replay sends after it.  (A clock moved on by the wall time since, at ``speed``, ran ahead of the prints a
        lagging replay sent next, and between trading sessions it kept running: a run that subscribed its book
        before its session began was sent a book hours ahead of its market, and its event clock then held every
        liquidation of the session at that one time.)"""
        return self._clock_ms or self.fv.now_ms()

    def _opening_prices(self) -> None:
        """Each symbol's first print in the replay: where its book sits before anything traded (at the time of the
        replay's first print)."""
        want = set(self.symbols)
        for n, (_recv, data) in enumerate(self.source()):
            if n > 200_000 or not want:
                break
            for sym, px, _q, t_ms in self.side.prints(bytes(data)):
                if not self._clock_ms:
                    self._clock_ms = t_ms
                    self._first_ms = t_ms
                if sym in want:
                    self._opening[sym] = px
                    want.discard(sym)

    # ---- the replay
    async def _frame(self, data: bytes, rec: list) -> None:
        """One replayed frame: sent (and matched), then the book of each symbol it printed on."""
        rec[1] += await self.send(self.fv, data)
        booked = self.side.recorded_book(data)
        if booked is not None:
            self._recorded[booked] = data
            await self._send_book(booked, force=True)
            return
        for sym, _px, qty, t_ms in self.side.prints(data):
            self._clock_ms = t_ms
            if sym in self._sizes and qty > 0:
                self._sizes[sym].append(qty)
                await self._send_book(sym, t_ms=t_ms)

    async def _replay(self, rec: list) -> None:
        # a trading session's client subscribed the rest within the grace; a client without one waits as long as a
        # session's trade subscription may come before its private stream (a run's first trade subscription is
        # not a probe's: its own replay, started at once, would send it prints the session then starts over)
        await asyncio.sleep(_GRACE_S if rec[0] is not None else _SUB_BEFORE_S)
        async for _, data in paced(self.source(), self.speed):
            await asyncio.shield(self._frame(data, rec))  # (a restart never cuts a frame's matching short)
        self.say(f"replay finished: {rec[1]} frames; serving until Ctrl-C")

    def _start_over(self) -> None:
        """The market back at its beginning before a replay (or a new session) starts: its clock at the first print
        (a book sent now is stamped there, never at the last replay's later time), each symbol's last price its
        opening one (the book sits there), and what the venue remembers of the last replay's market gone."""
        self.side.start_over()
        if self._first_ms:
            self._clock_ms = self._first_ms
        for sym, px in self._opening.items():
            self.fv.venue.last_price[sym] = px

    async def _stop_replay(self) -> None:
        if self._task is not None and not self._task.done():
            await end_task(self._task)  # (a Ctrl-C meanwhile ends :meth:`run` too)

    async def _start(self, session: int | None) -> None:
        await self._stop_replay()
        self._replay_session = session
        self._start_over()
        rec = [session, 0]
        self.replays.append(rec)
        self.say("replay started" + (f" for trading session {session} (a private stream and a trade stream)"
                                     if session is not None else
                                     " for a client without a trading session (the next trading session starts "
                                     "it over)"))
        self._task = asyncio.ensure_future(self._replay(rec))

    async def _step(self) -> None:
        self.steps += 1
        now = time.monotonic()
        private = self.side.sessions() > 0
        if private:
            # a private stream opened after the gap, or once the last session ended (its private stream and its
            # trade streams all closed: a run that stopped; a reconnect drops one of them), is a new trading session
            if self._last_private is None or now - self._last_private > SESSION_GAP_S or self._ended:
                self.sessions += 1
                self._session_t = now
                # the last replay stops at once: the new session's market starts over once it subscribes its
                # trades, and none of the old one's later prints reaches it first (an event clock gone ahead)
                await self._stop_replay()
                self._start_over()
            self._last_private = now
            self._ended = False
        elif self._last_private is not None and not self._ended and not self.side.trades_held(self.symbols):
            # the session ended: the market starts over now (a book sent before the next session begins shows the
            # market's beginning, never the ended session's later clock)
            self._ended = True
            await self._stop_replay()
            self._start_over()
        elif (self._replay_session is None and self._task is not None and not self._task.done()
              and not self.side.trades_held(self.symbols)):
            # the replay of a client without a trading session (a probe) that left: no one reads it on
            await self._stop_replay()
            self._start_over()
        in_session = self._last_private is not None and now - self._last_private <= SESSION_GAP_S
        idle = self._task is None or self._task.done()
        self._sub_idx, trades, books = self.side.subscriptions(self._sub_idx)
        new_trades = any(s in self._sizes for s in trades)
        if new_trades:
            self._trade_sub_t = now
        for sym in books:
            if sym in self._sizes:
                await self._send_book(sym, force=True)
        if private and in_session and (self._replay_session != self.sessions and self._trade_sub_t is not None
                           and self._trade_sub_t >= self._session_t - _SUB_BEFORE_S
                           and self.side.trades_held(self.symbols)):
            await self._start(self.sessions)
        elif new_trades and idle and not private:
            # a client without a trading session (none open now: a preflight right after a run) while no replay
            # runs: one of its own
            await self._start(None)
        for sym in self.symbols:
            await self._send_book(sym)

    async def run(self) -> None:
        """Serve the market until cancelled."""
        await asyncio.get_running_loop().run_in_executor(None, self._opening_prices)
        failed: set[str] = set()
        try:
            while True:
                try:
                    await self._step()
                except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:  # (said once, served on)
                    why = f"{type(exc).__name__}: {exc}"
                    if why not in failed:
                        failed.add(why)
                        self.say(f"liqcore venue: the market's step failed ({why}); serving on")
                await asyncio.sleep(_TICK_S)
        finally:
            if self._task is not None:
                self._task.cancel()
