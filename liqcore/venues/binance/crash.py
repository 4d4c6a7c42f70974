"""A market-wide crash, played by the fake Binance market stream (:class:`liqcore.venues.fake_streams.FakeMarketStream`)
to whatever is subscribed: every liquidation goes to the all-market ``!forceOrder@arr`` and to its symbol's
``<symbol>@forceOrder``, so a runner on a symbol list and one on the whole market see the same frames.

The details: docs/maintainers/fakes.md, "A market-wide crash, played by the fake Binance market stream".  Its
names are handed on by this venue's ``fake`` part (``liqcore.testing.CrashPlay``, through the venue registry).

May import: this venue's ``samples``.
"""
from __future__ import annotations

import asyncio
import random
import time

from liqcore.venues.binance.samples import liquidation_frame, trade_frame

__all__ = ["CrashPlay", "crash_symbols"]

SMALL = (500.0, 1500.0)  # notional (quote) of an ordinary liquidation
LARGE = (20_000.0, 60_000.0)  # of a large one: far above the ordinary ones' P95


def crash_symbols(n: int, prefix: str = "Z") -> list[str]:
    """``n`` USDT-perpetual-like names (``Z000USDT``, ...): a long tail no real venue lists."""
    return [f"{prefix}{i:03d}USDT" for i in range(n)]


class CrashPlay:
    def __init__(self, fs, symbols: list[str], *, seed: int = 7) -> None:
        if not fs.routes(liquidation_frame("ZPROBEUSDT", 1, 1.0, 1.0, "SELL")):  # (the stream's own router asked)
            raise ValueError(f"crash: the crash is played in Binance's frames; the fake {fs.venue} market stream "
                             "does not route them")
        self.fs = fs
        self.symbols = list(symbols)
        self.rng = random.Random(seed)
        self.price = {s: 1.0 + 0.25 * i for i, s in enumerate(self.symbols)}
        self._last_ms = dict.fromkeys(self.symbols, 0)
        self.stamps: dict[tuple[str, int], int] = {}
        self.written = 0
        self.liquidations = 0
        self.phases: list[tuple[str, int, int]] = []
        self.probe_keys: dict[str, list[tuple[str, int]]] = {}  # phase -> the confirming frames' keys

    # ------------------------------------------------------------------ frames
    def _t_ms(self, symbol: str) -> int:
        t = max(time.time_ns() // 1_000_000, self._last_ms[symbol] + 1)
        self._last_ms[symbol] = t
        return t

    def liquidate(self, symbol: str, notional: float, side: str = "SELL") -> tuple[str, int]:
        """Write one liquidation of ``symbol`` for ``notional`` quote now; returns its key (symbol, event ms)."""
        t = self._t_ms(symbol)
        p = self.price[symbol]
        frame = liquidation_frame(symbol, t, round(notional / p, 4), p, side)
        stamp, k = self.fs.liquidation(frame, symbol)
        self.stamps[(symbol, t)] = stamp
        self.written += k
        self.liquidations += 1
        return symbol, t

    def _small(self) -> float:
        return self.rng.uniform(*SMALL)

    def _large(self) -> float:
        return self.rng.uniform(*LARGE)

    async def _paced(self, n: int, rate: float, make) -> None:
        """``make(i)`` for i in 0..n-1, ``rate`` a second by the wall clock (the ones due at each wake-up)."""
        t0 = time.monotonic()
        i = 0
        while i < n:
            due = min(n, int((time.monotonic() - t0) * rate) + 1)
            while i < due:
                make(i)
                i += 1
            await asyncio.sleep(0.001)

    def _phase(self, name: str, t0: int) -> None:
        self.phases.append((name, t0, time.perf_counter_ns()))

    # ------------------------------------------------------------------ phases
    async def warm_up(self, per_symbol: int, rate: float = 2000.0, falling: bool = False) -> None:
        """``falling``: each symbol's sizes fall from 1,500 to 500 quote (none is then above the threshold set by
        the first ones: no signal before the caller's own)."""
        t0 = time.perf_counter_ns()
        for i, s in enumerate(self.symbols):  # a reference price for every symbol
            t = self._t_ms(s)
            _, k = self.fs.trade(trade_frame(s, t, 1.0, self.price[s], "SELL", trade_id=i + 1), s)
            self.written += k
        syms = self.symbols
        lo, hi = SMALL
        step = (hi - lo) / max(1, per_symbol - 1)
        await self._paced(per_symbol * len(syms), rate, lambda i: self.liquidate(
            syms[i % len(syms)], hi - step * (i // len(syms)) if falling else self._small()))
        self._phase("warm-up", t0)

    async def probes(self, k: int, idle_ms: float = 25.0, name: str = "quiet", offset: int = 0) -> list:
        """``k`` quiet-feed cascades on ``symbols[offset:offset + k]`` (wrapping); returns their confirming keys."""
        t0 = time.perf_counter_ns()
        keys = []
        for j in range(k):
            s = self.symbols[(offset + j) % len(self.symbols)]
            self.liquidate(s, self._large())
            await asyncio.sleep((idle_ms + self.rng.random() * idle_ms) / 1000)
            keys.append(self.liquidate(s, self._large()))
            await asyncio.sleep((idle_ms + self.rng.random() * idle_ms) / 1000)
        self.probe_keys[name] = keys
        self._phase(name, t0)
        return keys

    async def crash(self, seconds: float, rate: float = 2000.0, wave_s: float = 2.0, calm_s: float = 6.0) -> None:
        t0 = time.perf_counter_ns()
        syms = self.symbols
        period = wave_s + calm_s
        offset = {s: self.rng.uniform(0, period) for s in syms}
        start = time.monotonic()

        def one(i: int) -> None:
            s = syms[i % len(syms)]
            in_wave = (time.monotonic() - start + offset[s]) % period < wave_s
            large = in_wave and self.rng.random() < 0.6
            self.liquidate(s, self._large() if large else self._small(), "SELL" if self.rng.random() < 0.8 else "BUY")

        await self._paced(int(seconds * rate), rate, one)
        self._phase("crash", t0)
