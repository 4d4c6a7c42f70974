"""Data on demand: a symbol's trades and top of book subscribed only while the symbol needs them.

Every ``interval_s`` the wanted set (live signals, resting orders or positions, the always-on list) is
compared with the subscribed one; a replay gates the recorded streams on replay time (:meth:`hold_back`).
The rules, the venues' messages and limits: docs/how-to/record.md, "Data on demand".

May import: numpy, orjson, ``types``, ``venues`` (``common``, ``spec``), ``market.klines`` and this
package's ``feeds``.
"""
from __future__ import annotations

import asyncio
import logging
import time

import numpy as np
import orjson

from liqcore.venues.spec import ConnectionSpec

__all__ = ["OnDemand"]

log = logging.getLogger("liqcore.ondemand")



class OnDemand:
    def __init__(self, venue: str, symbols, *, always=(), opts: dict | None = None, url: str | None = None,
                 network: str = "mainnet", linger_s: float = 10.0, interval_s: float = 0.25, clock=None,
                 rest_url: str | None = None):
        from liqcore.venues.registry import venue_names, venue_spec

        self.venue = str(venue).lower()
        try:
            #: the venue's on-demand parts (liqcore.venues.<venue>.market)
            self._spec = venue_spec(self.venue)
            self._market = self._spec.part("market")
        except (ValueError, NotImplementedError):
            raise ValueError(f"venue: data on demand speaks {', '.join(venue_names())}; got {venue!r}") from None
        self.symbols = [str(s).strip().upper() for s in symbols]
        self.always = [str(s).strip().upper() for s in always if str(s).strip()]
        unknown = [s for s in self.always if s not in set(self.symbols)]
        if unknown:
            raise ValueError(f"book-symbols: {', '.join(unknown)} not among the traded symbols")
        if not linger_s >= 0 or not interval_s > 0:
            raise ValueError("on demand: linger must be >= 0 s and the interval > 0 s")
        self.opts = {k: v for k, v in dict(opts or {}).items() if k in ("trades", "book", "mark_price", "tickers",
                                                                         "funding", "open_interest", "mark")}
        self.opts.setdefault("trades", True)
        self.linger_s, self.interval_s = float(linger_s), float(interval_s)
        #: the replay's clock (ns; None: the wall clock); :attr:`gated`: frames :meth:`hold_back` dropped
        self.clock, self.gated = clock, 0
        self._changes = 0  # traded symbols added or dropped (the gate's set made again)
        self._names: dict[str, list] = {}  # symbol -> its per-symbol streams
        self.subscribed: set[str] = set(self.always)
        self._wanted_at: dict[str, float] = {}  # symbol -> time (s, monotonic or replay) it was last wanted
        self.history: list[tuple[int, str, list[str]]] = []
        self.peak = len(self.subscribed)
        self.ever: set[str] = set(self.subscribed)
        self._id = 0
        #: one connection per path category the streams need (Binance: the ``market`` streams and the ``public`` book
        #: data never share one; the other venues: one connection); :attr:`spec` is the first
        self._cats: list = [None]
        bases = self._market.connection_bases(self.symbols, url=url, network=network)
        if list(bases) != [None]:  # streams of several path categories (Binance): one connection each
            probe = self.names(self.symbols[0]) if self.symbols else ["x@aggTrade"]
            self._cats = list(dict.fromkeys(self._market.category(n) for n in probe)) or [next(iter(bases))]
        self.specs = [ConnectionSpec(venue=self.venue, url=bases[c].url, subscribe=[], topics=[], symbols=[],
                                     ping_payload=bases[c].ping_payload, ping_interval_s=bases[c].ping_interval_s,
                                     is_pong=bases[c].is_pong, send_interval_s=bases[c].send_interval_s,
                                     headers=bases[c].headers)
                      for c in self._cats]
        self._resubscribe_list()
        self._send = None  # the connection's send, once run() has it
        self._decided = 0  # decisions of the engine already looked at
        self._last_decided: dict[str, float] = {}
        self._liq_counts: dict[str, int] = {}  # liquidations the engine saw per symbol, at the last look
        self._last_liq: dict[str, float] = {}  # symbol -> time (s) its count last grew
        #: the venue's REST (None: its public one) asked for the candles of a newly subscribed symbol; what came
        #: of it (fetches asked, answered, failed; candles given to the strategy; rows the venue sent malformed)
        self.rest_url = rest_url
        self.klines = {"asked": 0, "answered": 0, "failed": 0, "candles": 0, "dropped": 0}
        self._kline_tasks: set = set()

    @property
    def spec(self) -> ConnectionSpec:
        """The first (Binance: the ``market``) connection's spec."""
        return self.specs[0]

    def _now(self) -> float:
        """Seconds on the manager's clock: the replay's (:attr:`clock`), else monotonic."""
        return self.clock() / 1e9 if self.clock is not None else time.monotonic()

    def _stamp(self) -> int:
        return int(self.clock()) if self.clock is not None else time.time_ns()

    # ------------------------------------------------------------------ the venue's names and messages
    def names(self, symbol: str) -> list:
        """The per-symbol streams of ``symbol`` (its liquidations apart; made once per symbol)."""
        got = self._names.get(symbol)
        if got is None:
            got = self._names[symbol] = self._make_names(symbol)
        return got

    def _make_names(self, symbol: str) -> list:
        return self._market.ondemand_names(symbol, self.opts)

    def _sends(self, send) -> list:
        """``send`` per connection: a list of them (one per :attr:`specs`), or one callable taking every message."""
        return list(send) if isinstance(send, (list, tuple)) else [send] * len(self.specs)

    def messages(self, op: str, symbols, cat: str | None = None) -> list[bytes]:
        """The venue's ``op`` ("subscribe" | "unsubscribe") messages for the symbols' streams (``cat``: Binance, those
        of that path category alone, what its connection takes)."""
        names = [n for s in sorted(symbols) for n in self.names(s)
                 if cat is None or self._market.category(n) == cat]
        k = self._market.PER_MESSAGE
        out = []
        for i in range(0, len(names), k):
            self._id += 1
            out.append(orjson.dumps(self._market.subscribe_message(op, names[i:i + k], self._id)))
        return out

    def _resubscribe_list(self) -> None:
        """The connection's subscribe list: what a (re)connect subscribes, the current set."""
        for spec, cat in zip(self.specs, self._cats):
            spec.subscribe = self.messages("subscribe", self.subscribed, cat)
            spec.symbols = sorted(self.subscribed)
            spec.topics = [n if isinstance(n, str) else orjson.dumps(n).decode()
                           for s in spec.symbols for n in self.names(s)
                           if cat is None or self._market.category(n) == cat]

    # ------------------------------------------------------------------ the traded symbols change
    def add_symbols(self, symbols) -> list[str]:
        """New traded symbols (a new listing admitted while running): watched from the next tick."""
        new = [s for s in (str(x).strip().upper() for x in symbols) if s and s not in set(self.symbols)]
        self.symbols += new
        self._changes += 1
        return new

    def drop_symbols(self, symbols, send=None) -> list[str]:
        """Symbols the venue delisted: their streams unsubscribed now (``send``: the connection's, default the
        one :meth:`run` uses) and never wanted again; returns the ones that were subscribed."""
        gone = {str(x).strip().upper() for x in symbols}
        self.symbols = [s for s in self.symbols if s not in gone]
        self._changes += 1
        self.always = [s for s in self.always if s not in gone]
        for s in gone:
            self._wanted_at.pop(s, None)
        was = sorted(self.subscribed & gone)
        if was:
            send = send or self._send
            if send is not None:
                for fn, cat in zip(self._sends(send), self._cats):
                    for msg in self.messages("unsubscribe", was, cat):
                        fn(msg)
            self.history.append((self._stamp(), "unsubscribe", was))
            self.subscribed.difference_update(was)
            self._resubscribe_list()
            log.info("on demand: -%d delisted symbols, %d subscribed", len(was), len(self.subscribed))
        return was

    # ------------------------------------------------------------------ what is wanted
    def wanted(self, engine) -> set[str]:
        """The symbols that need their streams now (see the module docstring)."""
        out = set(self.always)
        by_symbol = engine._by_symbol
        det = engine.detector
        active, armable = getattr(det, "active", None), getattr(det, "armable", None)
        busy = set(np.flatnonzero(engine.core.st["status"]).tolist())  # resting orders and positions
        decisions = engine.decisions
        now = self._now()
        if len(decisions) < self._decided:  # (the decision list was trimmed)
            self._decided = 0
        for d in decisions[self._decided:]:
            self._last_decided[d.symbol] = now
        self._decided = len(decisions)
        # a pending large liquidation is live for one cascade window after the symbol's latest liquidation (the
        # detector's own clock of a symbol stops with its events: it would say armable for ever)
        window_s = getattr(det, "window_ns", 60_000_000_000) / 1e9
        seen, counts, last_liq = engine.liq_seen, self._liq_counts, self._last_liq
        for s in self.symbols:
            sid, ci = by_symbol[s]
            n = seen.get(sid, 0)
            if counts.get(s, 0) != n:
                counts[s] = n
                last_liq[s] = now
            if (ci in busy or (active is not None and active(sid))
                    or (armable is not None and now - last_liq.get(s, -1e18) < window_s and armable(sid))
                    or now - self._last_decided.get(s, -1e18) < self.linger_s):
                out.add(s)
        return out

    def step(self, engine, send) -> tuple[list[str], list[str]]:
        """One tick: subscribe what became wanted, unsubscribe what was not wanted for ``linger_s``; ``send(msg)``
        writes a message on the connection (False: not connected; the subscribe list covers the reconnect): one
        callable for every message, or a list, one per connection of :attr:`specs`.  Returns (subscribed,
        unsubscribed) symbols."""
        now = self._now()
        want = self.wanted(engine)
        for s in want:
            self._wanted_at[s] = now
        add = sorted(want - self.subscribed)
        drop = sorted(s for s in self.subscribed - want if now - self._wanted_at.get(s, -1e18) >= self.linger_s)
        for op, syms in (("subscribe", add), ("unsubscribe", drop)):
            if not syms:
                continue
            for fn, cat in zip(self._sends(send), self._cats):
                for msg in self.messages(op, syms, cat):
                    fn(msg)
            self.history.append((self._stamp(), op, syms))
        if add or drop:
            self.subscribed.update(add)
            self.subscribed.difference_update(drop)
            self.ever.update(add)
            self.peak = max(self.peak, len(self.subscribed))
            self._resubscribe_list()
            log.info("on demand: +%d -%d symbols, %d subscribed", len(add), len(drop), len(self.subscribed))
        return add, drop

    async def run(self, engine, connection, stop: asyncio.Event) -> None:
        """:meth:`step` every ``interval_s`` until ``stop``; a failing step is logged and the next one tried.
        ``connection``: the connection of each of :attr:`specs` (a list), or the one connection."""
        conns = list(connection) if isinstance(connection, (list, tuple)) else [connection]
        self._send = [c.send for c in conns]
        self.fill_candles(engine, sorted(self.subscribed))  # (the always-on list)
        while not stop.is_set():
            try:
                add, _ = self.step(engine, self._send)
                if add:
                    self.fill_candles(engine, add)
            except Exception:
                log.exception("on demand: subscription step failed")
            try:
                await asyncio.wait_for(stop.wait(), self.interval_s)
            except asyncio.TimeoutError:
                pass

    # ------------------------------------------------------------------ candles before the first trade
    def fill_candles(self, engine, symbols, now_ns: int | None = None) -> list[asyncio.Task]:
        """For each symbol whose strategy stream wants candles it has no trades for (a stream with
        ``ask_klines``/``add_klines``, e.g. ``liq-trend``'s candle look-back), the venue's REST 1-minute klines of
        the look-back, fetched in a task (never on the event path); the stream is given them when they arrive,
        and says "klines pending" on a decision taken before (``now_ns``: the look-back's end, default now).  Returns
        the tasks started."""
        stream = getattr(engine, "stream", None)
        ask = getattr(stream, "ask_klines", None)
        if ask is None or not hasattr(stream, "add_klines"):
            return []
        now_ns, out = time.time_ns() if now_ns is None else int(now_ns), []
        for s in symbols:
            sid = engine._by_symbol[s][0]
            span = ask(sid, now_ns)
            if span is None:
                continue
            self.klines["asked"] += 1
            task = asyncio.get_running_loop().create_task(self._fetch_candles(stream, sid, s, *span))
            self._kline_tasks.add(task)
            task.add_done_callback(self._kline_tasks.discard)
            out.append(task)
        return out

    async def _fetch_candles(self, stream, sid: int, symbol: str, start_ms: int, end_ms: int) -> None:
        from liqcore.market.klines import KlinesError, fetch_klines

        try:
            name = self._market.wire_name(symbol)  # (OKX asks by instId)
            candles, dropped = await fetch_klines(self.venue, name, start_ms, end_ms, base_url=self.rest_url)
        except (KlinesError, OSError, ValueError) as e:
            self.klines["failed"] += 1
            log.warning("on demand: %s: no candles from the venue (%s)", symbol, e)
            stream.add_klines(sid, None)
            return
        except asyncio.CancelledError:
            stream.add_klines(sid, None)
            raise
        self.klines["answered"] += 1
        self.klines["candles"] += len(candles)
        self.klines["dropped"] += dropped
        stream.add_klines(sid, candles)
        log.info("on demand: %s: %d 1-minute candles from the venue's klines (%d rows dropped)", symbol,
                 len(candles), dropped)

    def hold_back(self, engine):
        """A replay's ``on_frame(venue, frame, recv_ns)`` for the one feed (see the module docstring): the step
        taken on replay time, then the frame passed to ``engine.on_frame`` unless it is a per-symbol stream of a
        traded symbol not subscribed now."""
        if self.clock is None:
            raise ValueError("on demand: holding frames back runs on a replay's clock")
        on_frame, step_ns = engine.on_frame, int(self.interval_s * 1e9)
        symbol_of = self._market.frame_symbol  # (the symbol of a per-symbol stream's frame)
        traded, subscribed, tick, seen = self._wire_names(), self.subscribed, [None], [self._changes]
        rc = getattr(engine, "replay_clock", None)
        note, fill = self._recorded_candles(engine) or (None, None)

        def nothing(_msg) -> None:  # (the replay venue sends every stream: nothing to ask it)
            return None

        def frame(venue, data, recv_ns=None):
            raw = data if data.__class__ is bytes else bytes(data)
            sym = symbol_of(raw)
            if sym is not None and (sym := traded.get(sym)) is not None and sym not in subscribed:
                self.gated += 1
                if note is not None:  # (its trades, the candles a live run would have asked the venue for)
                    note(sym, raw)
                if rc is not None:  # (its replayed receive time still passes)
                    rc.stamp(data, recv_ns)
                out = []
            else:
                out = on_frame(venue, data, recv_ns)
            now = int(self.clock())
            if tick[0] is None or now >= tick[0]:  # the step of the tick this frame reached, on replay time
                tick[0] = (now // step_ns + 1) * step_ns
                if seen[0] != self._changes:  # (a new listing admitted, a delisted symbol gone)
                    seen[0] = self._changes
                    traded.clear()
                    traded.update(self._wire_names())
                add, _ = self.step(engine, nothing)
                if add and fill is not None:
                    fill(add, now)
            return out

        return frame

    def _recorded_candles(self, engine):
        """A replay's candles (see the module docstring): ``(note(symbol, frame), fill(symbols, now_ns))``, or None
        when the strategy asks for none.  ``note`` folds the trades of a frame the gate held back into the symbol's
        1-minute candles (by trade time; the look-back's minutes kept); ``fill`` gives each newly subscribed
        symbol that has some the candles of the span its stream asks (``ask_klines``) at once."""
        import importlib

        from liqcore.market.klines import KLINE_DTYPE, MINUTE_MS
        from liqcore.types import Kind
        from liqcore.venues.common import Reject

        stream = getattr(engine, "stream", None)
        if getattr(stream, "ask_klines", None) is None or not hasattr(stream, "add_klines"):
            return None
        parse = importlib.import_module(f"liqcore.venues.{self.venue}.parse").parse
        # sizes in contracts (OKX): the parser needs the instruments' contract values
        kw = {"instruments": engine.decoder(self.venue).sink.instruments} if self._spec.sizes_in_contracts else {}
        keep_ms = int(getattr(stream, "look", 15 * 60 * 10**9)) // 1_000_000 + MINUTE_MS
        tape: dict[str, dict[int, list]] = {}  # symbol -> open ms -> [open, high, low, close, volume]
        trade = int(Kind.TRADE)

        def note(symbol: str, data: bytes) -> None:
            try:
                ev = parse(data, None, **kw)
            except (Reject, ValueError):
                return
            ev = ev[ev["kind"] == trade]
            minutes = tape.setdefault(symbol, {})
            for t, p, q in zip((ev["ts_event"] // 1_000_000).tolist(), ev["price"].tolist(), ev["qty"].tolist()):
                m = t - t % MINUTE_MS
                c = minutes.get(m)
                if c is None:
                    minutes[m] = [p, p, p, p, q]
                    for old in [k for k in minutes if k < m - keep_ms]:
                        del minutes[old]
                else:
                    c[1], c[2], c[3], c[4] = max(c[1], p), min(c[2], p), p, c[4] + q

        def fill(symbols, now_ns: int) -> None:
            for s in symbols:
                minutes = tape.get(s)
                span = stream.ask_klines(engine._by_symbol[s][0], now_ns) if minutes else None
                if span is None:
                    continue
                rows = sorted((m, *c) for m, c in minutes.items() if span[0] <= m <= span[1])
                self.klines["asked"] += 1
                self.klines["answered"] += 1
                self.klines["candles"] += len(rows)
                stream.add_klines(engine._by_symbol[s][0], np.array(rows, dtype=KLINE_DTYPE))

        return note, fill

    def _wire_names(self) -> dict[str, str]:
        """The name each traded symbol has in its per-symbol frames -> the symbol: Binance's ``"s"`` and Bybit's
        topic suffix are the symbol itself, OKX's ``instId`` is the one live subscription asks for
        (``ETHUSDT`` -> ``ETH-USDT-SWAP``; an instId stays as it is)."""
        return {self._market.wire_name(s): s for s in self.symbols}

    def stats(self) -> dict:
        return {"subscribed": len(self.subscribed), "peak": self.peak, "ever": len(self.ever),
                "always": len(self.always), "symbols": len(self.symbols),
                "subscribes": sum(1 for _, op, _ in self.history if op == "subscribe"),
                "unsubscribes": sum(1 for _, op, _ in self.history if op == "unsubscribe"),
                **({"gated": self.gated, "clock": "replay"} if self.clock is not None else {}),
                **({"klines": {**self.klines, **({"source": "recording"} if self.clock is not None else {})}}
                   if self.klines["asked"] else {})}

