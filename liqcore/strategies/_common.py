"""Shared pieces of the built-in strategies: per-symbol streams, bar grids, window sums.

Conventions every built-in strategy follows (point in time):

* Events are placed by their receive time ``ts_recv``; the event array is the backtest's, sorted by
  ``(ts_recv, input order)``.  A window ``(t - W, t]`` holds the events with ``t - W < ts_recv <= t``.
* A bar grid is the multiples of the bar length on the UTC epoch (``k x bar``) that lie in
  ``(first event, last event]``: a bar closes at ``k x bar`` and holds ``((k-1) x bar, k x bar]``.
  A decision at a bar close is processed right after the last event received at or before it.
* Liquidations count when price and quantity are finite and positive and the side is long or
  short; trades when price and quantity are finite and positive and the side is buy or sell.
  Other rows are ignored (the loaders count and drop bad input before it gets here).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from liqcore.units import FractionWithin, parse_nonneg_float, parse_nonneg_int, parse_number, parse_pos_int  # noqa: F401
from liqcore.strategies.base import ENTRY_MARKET, empty_signals
from liqcore.types import Kind, Side

__all__ = [
    "Streams", "streams", "bar_grid", "ev_index_at", "window_sum", "market_signals", "parse_float",
    "parse_int", "parse_pos_int", "first_true_after", "last_price_at", "concat_signals", "fill_exits", "finish_signals",
    "recorded_inputs", "bar_event", "bar_clock", "check_bar", "MIN_BAR_NS", "parse_quantile", "parse_unit_share",
]


# parameter parsers: the same ones the run's own parameters use (liqcore.units)
parse_float = parse_number  # a finite number (may be negative)
parse_int = parse_nonneg_int  # a whole number >= 0
#: a quantile: from 0 to 1 (``--zone-quantile 1e30`` is one line naming it, before any work)
parse_quantile = FractionWithin(0.0, 1.0, "[]", "a quantile")
#: a share of a whole, a probability or a confidence: from 0 to 1
parse_unit_share = FractionWithin(0.0, 1.0, "[]", "0 to 100%")


class Streams:
    """One symbol's liquidations and trades (positions in the event array, receive times, values)."""

    __slots__ = ("sid", "liq_idx", "liq_ts", "liq_notional", "liq_long", "liq_price",
                 "tr_idx", "tr_ts", "tr_price", "tr_notional", "tr_buy")

    def __init__(self, sid: int, liq: tuple, tr: tuple):
        self.sid = int(sid)
        self.liq_idx, self.liq_ts, self.liq_price, qty, side = liq
        self.liq_notional = self.liq_price * qty
        self.liq_long = side == Side.LONG
        self.tr_idx, self.tr_ts, self.tr_price, qty, side = tr
        self.tr_notional = self.tr_price * qty
        self.tr_buy = side == Side.BUY


def _check_events(events: np.ndarray) -> np.ndarray:
    from liqcore.types import EVENT_DTYPE

    ev = np.asarray(events)
    if ev.dtype != EVENT_DTYPE or ev.ndim != 1:
        raise ValueError("events: expected a 1-D numpy array of liqcore.types.EVENT_DTYPE")
    if len(ev) > 1 and (np.diff(ev["ts_recv"]) < 0).any():
        raise ValueError("events: must be sorted by receive time (ts_recv), as the backtest prepares them")
    return ev


_CACHE: list = []  # one entry: (weakref to the events array, its length, (first, last) ts_recv, result)


def streams(events: np.ndarray) -> dict[int, Streams]:
    """Per symbol id: its usable liquidations and trades (see the module's conventions).  The last
    result is kept for the same (unchanged) array, so strategies run on one input share it."""
    import weakref

    ev = _check_events(events)
    key = (len(ev), (int(ev["ts_recv"][0]), int(ev["ts_recv"][-1])) if len(ev) else None)
    if _CACHE:
        ref, k, res = _CACHE[0]
        if ref() is ev and k == key:
            return res
    kind, side, price, qty = ev["kind"], ev["side"], ev["price"], ev["qty"]
    with np.errstate(invalid="ignore"):
        good = np.isfinite(price) & (price > 0) & np.isfinite(qty) & (qty > 0)
    liq = good & (kind == Kind.LIQUIDATION) & ((side == Side.LONG) | (side == Side.SHORT))
    tr = good & (kind == Kind.TRADE) & ((side == Side.BUY) | (side == Side.SELL))
    is_liq = liq[liq | tr]
    sel = np.flatnonzero(liq | tr)
    sid = ev["symbol_id"][sel]
    order = np.argsort(sid.astype(np.int16) if len(sid) and sid.max() < 32000 else sid, kind="stable")
    sel, sid, is_liq = sel[order], sid[order], is_liq[order]
    cols = (sel, ev["ts_recv"][sel], ev["price"][sel], ev["qty"][sel], ev["side"][sel])
    ids, starts = np.unique(sid, return_index=True)
    bounds = np.append(starts, len(sel))
    out: dict[int, Streams] = {}
    for k, s in enumerate(ids.tolist()):
        a, b = bounds[k], bounds[k + 1]
        m = is_liq[a:b]
        out[int(s)] = Streams(s, tuple(c[a:b][m] for c in cols), tuple(c[a:b][~m] for c in cols))
    try:
        _CACHE[:] = [(weakref.ref(ev), key, out)]
        weakref.finalize(ev, _CACHE.clear)  # the cache never outlives its events
    except TypeError:
        pass
    return out


#: the shortest bar (or segment) of the bar-grid strategies: each close is a decision, computed in turn, and a live
#: stream reveals every close a quiet spell of the feed passes (a 1-ns bar: a billion closes a second, a process
#: that never catches up); under a second a bar holds the jitter of the receive times more than the market
MIN_BAR_NS = 1_000_000_000


def check_bar(bar_ns: int, name: str = "bar") -> int:
    """``bar_ns`` when it is at least :data:`MIN_BAR_NS` (1 s), else a ValueError naming ``name`` (the strategy's
    parameter: ``bar``, ``segment``)."""
    if bar_ns < MIN_BAR_NS:
        from liqcore.units import format_duration

        got = format_duration(bar_ns) if bar_ns > 0 else bar_ns
        raise ValueError(f"{name}: must be at least 1s (each bar close is a decision, and a live feed's quiet "
                         f"spell reveals every close it passes); got {got}")
    return int(bar_ns)


#: the most bar closes a strategy's grid holds: each close gets its window sums and z-scores for every symbol
#: (about 120 bytes and 25 us a close, measured on vol-breakout), so 10 million closes are about 1.2 GB and minutes;
#: a shorter bar over a longer input is refused before any of it is made, naming the bar that fits
MAX_GRID_BARS = 10_000_000
_GRID_LADDER = ("1s", "5s", "10s", "15s", "30s", "1m", "5m", "15m", "30m", "1h", "4h", "1d")


def bar_grid(events: np.ndarray, bar_ns: int, name: str = "bar") -> np.ndarray:
    """Bar closes ``k x bar`` in ``(first receive time, last receive time]`` (int64 ns).  More than
    :data:`MAX_GRID_BARS` of them is a ValueError naming ``name`` (the strategy's parameter), the count and
    the limit."""
    check_bar(bar_ns, name)
    if len(events) == 0:
        return np.zeros(0, np.int64)
    t0, t1 = int(events["ts_recv"][0]), int(events["ts_recv"][-1])
    k0 = t0 // bar_ns + 1
    k1 = t1 // bar_ns
    if k1 < k0:
        return np.zeros(0, np.int64)
    if k1 - k0 + 1 > MAX_GRID_BARS:
        from liqcore.units import format_duration, parse_duration

        fits = next((b for b in _GRID_LADDER if (t1 - t0) // parse_duration(b, name) + 1 <= MAX_GRID_BARS), None)
        raise ValueError(f"{name}: bars of {format_duration(bar_ns)} from the first to the last event "
                         f"({(t1 - t0) / 86_400e9:,.1f} days) would be {k1 - k0 + 1:,} bar closes, more than the limit "
                         f"of {MAX_GRID_BARS:,} (each one's rates and z-scores are computed for every symbol); "
                         + (f"a --{name} of {fits} or longer fits" if fits else "give a longer one"))
    return np.arange(k0, k1 + 1, dtype=np.int64) * np.int64(bar_ns)


def ev_index_at(events: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Index of the last event received at or before each time (-1 = none)."""
    return np.searchsorted(events["ts_recv"], np.asarray(t, np.int64), side="right").astype(np.int64) - 1


def window_sum(ts: np.ndarray, values: np.ndarray, t: np.ndarray, w_ns: int) -> np.ndarray:
    """Sum of ``values`` with ``t - w < ts <= t`` for each ``t`` (prefix sums, exact for counts)."""
    cum = np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))
    hi = np.searchsorted(ts, t, side="right")
    lo = np.searchsorted(ts, np.asarray(t, np.int64) - np.int64(w_ns), side="right")
    return cum[hi] - cum[lo]


def window_count(ts: np.ndarray, t: np.ndarray, w_ns: int) -> np.ndarray:
    hi = np.searchsorted(ts, t, side="right")
    lo = np.searchsorted(ts, np.asarray(t, np.int64) - np.int64(w_ns), side="right")
    return (hi - lo).astype(np.int64)


def last_price_at(s: Streams, t: np.ndarray) -> np.ndarray:
    """Last trade price received at or before each time (NaN = none yet)."""
    i = np.searchsorted(s.tr_ts, t, side="right") - 1
    out = np.full(len(i), np.nan)
    ok = i >= 0
    out[ok] = s.tr_price[i[ok]]
    return out


def first_true_after(cond: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """For each position ``p``: the first ``j > p`` with ``cond[j]``; -1 when there is none."""
    n = len(cond)
    nxt = np.full(n + 1, -1, np.int64)
    # next true at or after j, from the right
    big = np.where(cond, np.arange(n), n)
    at_or_after = np.minimum.accumulate(big[::-1])[::-1]
    nxt[:n] = np.where(at_or_after < n, at_or_after, -1)
    p = np.asarray(pos, np.int64) + 1
    return nxt[np.minimum(p, n)]


def market_signals(n: int) -> np.ndarray:
    """``n`` signals with a market entry and the run's parameters everywhere else."""
    s = empty_signals(n)
    s["entry"] = ENTRY_MARKET
    return s


def concat_signals(parts: list[np.ndarray]) -> np.ndarray:
    from liqcore.strategies.base import SIGNAL_DTYPE

    parts = [p for p in parts if len(p)]
    if not parts:
        return np.zeros(0, SIGNAL_DTYPE)
    out = np.concatenate(parts)
    order = np.lexsort((-out["confidence"], out["ev_idx"], out["ts_ns"]))
    return np.ascontiguousarray(out[order])


def fill_exits(sig: np.ndarray, p) -> None:
    """Write the run's resolved ``take-profit``, ``stop-loss``, ``trail`` and ``hold-timeout`` into the
    signals (0 = none), so that a per-symbol preset of the guide's strategy (BTC) never changes
    another strategy's exits."""
    sig["take_profit"] = float(p.take_profit)
    sig["stop_loss"] = float(p.stop_loss)
    sig["trail"] = float(p.trail)
    sig["max_hold_ns"] = int(p.hold_timeout_ns)


def finish_signals(parts: list[np.ndarray], p) -> np.ndarray:
    """A batch form's result: its per-symbol signal arrays in order (:func:`concat_signals`) with the
    run's exits written in (:func:`fill_exits`)."""
    out = concat_signals(parts)
    fill_exits(out, p)
    return out


def recorded_inputs(inputs: dict, signal) -> dict:
    """A copy of the feature values a strategy recorded for ``signal`` under ``(symbol_id, ts_ns)``
    (empty when none were recorded), for :meth:`Strategy.inputs`."""
    return dict(inputs.get((int(signal["symbol_id"]), int(signal["ts_ns"])), {}))


# ================================================================================================
# streaming helpers (the streaming forms compute exactly what the batch forms compute)
# ================================================================================================
_LIQ = int(Kind.LIQUIDATION)
_TRADE = int(Kind.TRADE)
_LONG, _SHORT, _BUY, _SELL = int(Side.LONG), int(Side.SHORT), int(Side.BUY), int(Side.SELL)


def classify(ev) -> tuple[int, int, float, float, int, int]:
    """``(kind, symbol_id, price, qty, side, ts_recv)`` of one event (an EVENT_DTYPE row, or its
    ``tolist()`` tuple); kind 0 when the row is not a usable liquidation or trade (the module's
    conventions; funding rows come back with kind 0 too)."""
    _te, ts, price, qty, sid, side, k, _v, _f = ev if type(ev) is tuple else ev.tolist()
    if not (0.0 < price < math.inf and 0.0 < qty < math.inf):
        return 0, sid, price, qty, side, ts
    if k == _LIQ and (side == _LONG or side == _SHORT):
        return _LIQ, sid, price, qty, side, ts
    if k == _TRADE and (side == _BUY or side == _SELL):
        return _TRADE, sid, price, qty, side, ts
    return 0, sid, price, qty, side, ts


class BarClock:
    """The bar grid of the batch forms, revealed event by event: closes ``k x bar`` after the first
    event's receive time; a close ``c`` is due once an event received after ``c`` arrives (events
    received exactly at ``c`` still belong to the bar) or the clock passes it."""

    __slots__ = ("bar", "next")

    def __init__(self, bar_ns: int, name: str = "bar"):
        self.bar = check_bar(bar_ns, name)
        self.next: int | None = None

    def due(self, ts: int, inclusive: bool = False) -> list[int]:
        """The closes before ``ts`` (``<= ts`` with ``inclusive``) not returned yet; the first call
        starts the grid at ``ts``."""
        nxt = self.next
        if nxt is None:
            self.next = (ts // self.bar + 1) * self.bar
            return []
        if ts < nxt or (ts == nxt and not inclusive):
            return []
        last = ts if inclusive else ts - 1
        k1 = last // self.bar
        out = list(range(nxt, k1 * self.bar + 1, self.bar))
        self.next = (k1 + 1) * self.bar
        return out


class PrefixWindow:
    """Receive times and running prefix sums of value columns, accumulated in arrival order exactly
    as ``numpy.cumsum`` accumulates them, so that window sums ``cum[hi] - cum[lo]`` over
    ``(t - w, t]`` equal the batch forms' :func:`window_sum` bit for bit.  ``trim(t)`` drops entries
    received at or before ``t`` (sums keep their absolute values)."""

    __slots__ = ("ts", "cum", "off", "base")

    def __init__(self, ncols: int = 1):
        self.ts: list[int] = []
        self.cum: list[list[float]] = [[0.0] for _ in range(ncols)]
        self.off = 0
        self.base = 0  # entries deleted from the front (absolute index = base + list index)

    def append(self, ts: int, *values: float) -> None:
        self.ts.append(ts)
        for c, v in zip(self.cum, values):
            c.append(c[-1] + v)

    def __len__(self) -> int:
        return len(self.ts) - self.off

    def pos(self, t: int) -> int:
        """Number of entries (absolute) received at or before ``t``."""
        import bisect

        return bisect.bisect_right(self.ts, t, self.off)

    def sum(self, col: int, t: int, w: int) -> float:
        c = self.cum[col]
        return c[self.pos(t)] - c[self.pos(t - w)]

    def count(self, t: int, w: int) -> int:
        return self.pos(t) - self.pos(t - w)

    def trim(self, t: int) -> None:
        k = self.pos(t)
        if k > self.off:
            self.off = k
        if self.off > 4096 and self.off > len(self.ts) // 2:
            d = self.off
            del self.ts[:d]
            for c in self.cum:
                del c[:d]
            self.off = 0
            self.base += d


def signal_template(params) -> np.ndarray:
    """One market signal with the run's resolved exits written in (as :func:`fill_exits` does)."""
    s = market_signals(1)
    fill_exits(s, params)
    return s


from liqcore.strategies.base import SignalStream as _SignalStream  # noqa: E402

_EMPTY = _SignalStream.empty()


def bar_event(stream, ev) -> tuple:
    """The start of a bar-grid stream's ``on_event``: counts the event (``stream.n``), classifies it
    (:func:`classify`) and computes the signals of the bar closes it reveals on ``stream.clock`` (a
    :class:`BarClock`) with ``stream._closes(closes, index of the previous event)``.  Returns
    ``(kind, symbol_id, price, qty, side, ts_recv, before)``; ``before`` is empty when nothing closed."""
    i = stream.n
    stream.n = i + 1
    kind, sid, price, qty, side, ts = classify(ev)
    before = _EMPTY
    clock = stream.clock
    if clock.next is None or ts > clock.next:
        closes = clock.due(ts)
        if closes:
            before = stream._closes(closes, i - 1)
    return kind, sid, price, qty, side, ts, before


def bar_clock(stream, ts_ns: int) -> np.ndarray:
    """A bar-grid stream's ``on_clock``: the signals of the closes at or before ``ts_ns`` not yet
    revealed (empty before the first event)."""
    clock = stream.clock
    closes = clock.due(int(ts_ns), inclusive=True) if clock.next is not None else []
    return stream._closes(closes, stream.n - 1) if closes else _EMPTY
