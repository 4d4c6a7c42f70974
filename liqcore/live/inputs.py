"""The live engine's construction arguments, checked and put in the engine's form.

Pure functions (no state): each raises a one-line ValueError (TypeError for a gateway) naming the argument
it refuses.  :func:`time_ns` reads a time handed in, :func:`traded_symbols` reads the venues and the traded symbols, :func:`check_amounts` the
starting equity and the fixed notional, :func:`check_gateway` the gateway's protocol, :func:`symbol_maps`
registers the traded symbols and :func:`watched_exits` says which exits the engine watches in venue mode, :func:`known_rows` keeps the rows
handed in that name a registered symbol and its venue.
"""
from __future__ import annotations

import math
import numbers
from typing import Iterable

from liqcore.venues.gateway import missing_members
from liqcore.types import SymbolRegistry, Venue

__all__ = ["traded_symbols", "check_amounts", "time_ns", "check_gateway", "symbol_maps", "watched_exits", "known_rows",
           "DEFAULT_SYMBOLS"]

#: the guide's traded symbols (on the first venue) when none are given
DEFAULT_SYMBOLS = ("DOGEUSDT", "SOLUSDT", "ETHUSDT")


def traded_symbols(venues: Iterable[str] | str,
                   symbols: Iterable[str] | str | None) -> tuple[list[str], list[tuple[str, str]]]:
    """``(venue names, [(venue, SYMBOL)])``: ``venues`` as names or one comma list; ``symbols`` as
    ``"ETHUSDT"`` (on the first venue), ``"binance:ETHUSDT"`` or one comma list of them (default: the
    guide's DOGE, SOL, ETH)."""
    if isinstance(venues, str):
        venues = [v for v in venues.split(",") if v.strip()]
    names = [Venue.parse(v).name.lower() for v in venues]
    if not names:
        raise ValueError("venues: give at least one venue")
    if isinstance(symbols, str):  # "ETHUSDT" or "ETHUSDT,SOLUSDT": names, never its characters
        symbols = [s for s in symbols.split(",") if s.strip()]
    traded: list[tuple[str, str]] = []
    for n in (list(symbols) if symbols is not None else DEFAULT_SYMBOLS):
        v, _, s = str(n).strip().rpartition(":")
        s = s.upper()
        if not s:
            raise ValueError("symbols: empty symbol name")
        traded.append((Venue.parse(v).name.lower() if v else names[0], s))
    if not traded:
        raise ValueError("symbols: give at least one symbol")
    return names, traded


def check_amounts(equity, notional) -> None:
    """``equity`` must be a positive number, ``notional`` None or a positive quote amount."""
    if notional is not None and not (math.isfinite(notional) and notional > 0):
        raise ValueError(f"notional: must be a positive quote amount; got {notional!r}")
    if not (isinstance(equity, (int, float)) and math.isfinite(equity) and equity > 0):
        raise ValueError(f"equity: must be positive; got {equity!r}")


def check_gateway(gateway) -> None:
    """A TypeError naming what ``gateway`` lacks of the :class:`~liqcore.venues.gateway.Gateway` protocol."""
    missing = missing_members(gateway)
    if missing:
        raise TypeError(f"gateway {type(gateway).__name__} lacks {', '.join(missing)} of the Gateway "
                        f"protocol (subclass liqcore.venues.gateway.Gateway: it has the defaults)")


def symbol_maps(registry: SymbolRegistry, traded: list[tuple[str, str]]) -> tuple[dict, dict]:
    """``(registry id -> core index, symbol name -> (registry id, core index))`` of the traded symbols
    (registered in ``registry``)."""
    core_idx: dict[int, int] = {}
    by_symbol: dict[str, tuple[int, int]] = {}
    for i, (v, s) in enumerate(traded):
        sid = registry.id(v, s)
        core_idx[sid] = i
        by_symbol[s] = (sid, i)
    return core_idx, by_symbol


def watched_exits(exits: str, native_trailing: bool) -> frozenset:
    """The exits the engine watches in venue mode: the stop price always; take-profit, stop-loss and the
    trailing stop with ``exits="engine"``; the trailing stop also when the gateway has no native one."""
    watch = {"stop_price"}
    if exits == "engine":
        watch |= {"take_profit", "stop_loss", "trail"}
    elif not native_trailing:
        watch.add("trail")
    return frozenset(watch)


def time_ns(value, name: str) -> int:
    """A time the caller hands in (ns since the epoch) as an int (a finite float, ``time.time() * 1e9``, truncated as
    before); anything else one line naming ``name`` (NaN, a string: never Python's own "invalid literal")."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
        return int(value)
    raise ValueError(f"{name}: expected a time in nanoseconds since the epoch (an int); got {value!r}")


def known_rows(events, registry: SymbolRegistry, rejects: dict):
    """``events`` (an EVENT_DTYPE array, else a one-line ValueError) less the rows that name no symbol of
    ``registry`` (an id outside ``0..len-1``; ``-1``, the venue-wide id, with a registered venue) or another venue
    than their symbol's: each counted in ``rejects`` (``unknown_symbol``, ``venue_mismatch``), never passed on."""
    import numpy as np

    from liqcore.types import EVENT_DTYPE

    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
        raise ValueError("events: expected an EVENT_DTYPE array")
    if not len(events):
        return events
    sid, venue = events["symbol_id"].astype(np.int64), events["venue"].astype(np.int64)
    n = len(registry)
    own = np.fromiter((int(v) for _i, v, _s in registry), np.int64, n)
    known = (sid >= -1) & (sid < n)
    mine = np.append(own, -1)[np.where(known & (sid >= 0), sid, n)]  # (-1: no symbol of the registry)
    same = known & np.where(sid == -1, np.isin(venue, [int(v) for v in Venue if int(v)]), mine == venue)
    if same.all():
        return events
    for name, k in (("unknown_symbol", int((~known).sum())), ("venue_mismatch", int((known & ~same).sum()))):
        if k:
            rejects[name] = rejects.get(name, 0) + k
    return events[same]
