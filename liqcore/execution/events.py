"""The execution model's inputs, one copy each: the event array check, receive-time order,
symbol selection, cleaning bad prints, the input kinds present and the starting equity check."""
from __future__ import annotations

import contextlib

import weakref

import numpy as np

from liqcore.codes import KIND_NAMES
from liqcore.types import EVENT_DTYPE, Kind

__all__ = ["check_events", "recv_order", "sort_recv", "take_events", "prepare_events", "follow_order",
           "select_symbols", "clean_prints", "bad_prints", "input_kinds", "check_equity", "queue_fallback",
           "NO_BOOK_WARNING", "fallback_said_by_caller", "price_grids", "grid_of_prices", "apply_price_grid",
           "book_view"]

#: said once per process when ``--fill queue`` meets an input without top of book
NO_BOOK_WARNING = "no top of book in the input: --fill queue falls back to through"
_warned_no_book = False
_last_grids = None  # (a weak reference to the array, its shape key, grids) of the last price_grids call


def check_events(events) -> np.ndarray:
    """``events`` when it is a 1-D EVENT_DTYPE array; ValueError otherwise."""
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
        raise ValueError("events: expected a 1-D numpy array of liqcore.types.EVENT_DTYPE")
    return events


def recv_order(events: np.ndarray) -> np.ndarray | None:
    """The stable ts_recv sort order, or None when the events are already in that order."""
    check_events(events)
    ts = np.ascontiguousarray(events["ts_recv"])
    if len(ts) > 1 and not bool(np.all(ts[1:] >= ts[:-1])):
        return np.argsort(ts, kind="stable")
    return None


def take_events(events: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``events[order]`` (the opaque-row gather, :func:`liqcore.types.take_records`)."""
    from liqcore.types import take_records

    return take_records(events, order)


def prepare_events(events: np.ndarray) -> np.ndarray:
    """Validate the dtype; return the events in ts_recv order (stable; a copy only when needed)."""
    order = recv_order(events)
    if order is not None:
        return take_events(events, order)
    return np.ascontiguousarray(events)


def sort_recv(events: np.ndarray) -> np.ndarray:
    """The events in ts_recv order (stable; the input itself when already ordered), gathered by
    numpy (no kernel: for callers that never replay)."""
    order = recv_order(events)
    if order is not None:
        return events[order]
    return np.ascontiguousarray(events)


def follow_order(order: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Event indices ``idx`` (into the events as given) -> indices into ``events[order]``; indices
    outside the events (e.g. -1) stay as they are.  Returns a new array."""
    inv = np.empty(len(order), dtype=np.int64)
    inv[order] = np.arange(len(order))
    out = np.array(idx, copy=True)
    ok = (out >= 0) & (out < len(order))
    out[ok] = inv[out[ok]]
    return out


def select_symbols(events: np.ndarray, registry, symbols) -> np.ndarray:
    """Keep the events of ``symbols`` (names ``ETHUSDT`` or ``venue:ETHUSDT``; None = all), plus
    venue-wide GAP events (``symbol_id == -1``).  ValueError naming ``symbols`` when one is unknown."""
    if symbols is None:
        return events
    if isinstance(symbols, str):
        symbols = [s for s in symbols.split(",") if s.strip()]
    if registry is None:
        raise ValueError("symbols: a registry is needed to select symbols by name")
    wanted: set[int] = set()
    for s in symbols:
        s = str(s).strip()
        venue, _, name = s.rpartition(":")
        hits = [sid for sid, v, sym in registry
                if sym == name.upper() and (not venue or v.name.lower() == venue.lower())]
        if not hits:
            raise ValueError(f"symbols: {s!r} is not in the data (known: "
                             f"{', '.join(sorted({sym for _, _, sym in registry})[:20])}...)")
        wanted.update(hits)
    sid = events["symbol_id"]
    keep = np.isin(sid, np.fromiter(wanted, dtype=np.int64)) | ((sid == -1) & (events["kind"] == Kind.GAP))
    return events[keep]


def bad_prints(events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the trade prints with a non-finite or non-positive price and of the funding events
    with a non-finite rate."""
    price = events["price"]
    bad_trade = (events["kind"] == int(Kind.TRADE)) & ~(np.isfinite(price) & (price > 0))
    bad_funding = (events["kind"] == int(Kind.FUNDING)) & ~np.isfinite(price)
    return bad_trade, bad_funding


def clean_prints(events: np.ndarray, *, copy: bool = True) -> tuple[np.ndarray, dict]:
    """Bad prints / funding rates are counted and neutralised (kind 0 is ignored by the simulator);
    indices stay put so records and signals still point at their events.  Returns (events, reason ->
    count of the reasons that occurred); ``copy=False`` neutralises in place (an array the caller owns)."""
    bad_trade, bad_funding = bad_prints(events)
    dropped = {"bad_trade_price": int(bad_trade.sum()), "bad_funding_rate": int(bad_funding.sum())}
    if dropped["bad_trade_price"] or dropped["bad_funding_rate"]:
        if copy:
            events = events.copy()
        events["kind"][bad_trade | bad_funding] = 0
    return events, {k: v for k, v in dropped.items() if v}


def input_kinds(events: np.ndarray) -> set[str]:
    """The input kinds present in ``events`` (``"liquidation"``, ``"trade"``, ``"funding"``...)."""
    if not len(events):
        return set()
    return {KIND_NAMES[int(k)] for k in np.unique(events["kind"]) if int(k) in KIND_NAMES}


def check_equity(equity) -> None:
    """A starting equity must be a positive finite number (ValueError otherwise)."""
    if not (isinstance(equity, (int, float)) and np.isfinite(equity) and equity > 0):
        raise ValueError(f"equity: must be a positive number; got {equity!r}")


def depth_books(par: np.ndarray, events: np.ndarray):
    """The depth books (``liqcore._jit.sim.new_depth``) for a replay of ``events`` whose DEPTH rows the
    queue rule reads; None when no symbol is under the queue rule or there is no DEPTH row."""
    if not len(par) or not par["queue"].any() or not len(events):
        return None
    if not bool((events["kind"] == int(Kind.DEPTH)).any()):
        return None
    from liqcore._jit import sim

    return sim.new_depth(len(par))


_said_by_caller = 0  # > 0: a caller says the fallback itself (compare's fill-rule rows): no process warning


@contextlib.contextmanager
def fallback_said_by_caller():
    """Within it :func:`queue_fallback` prints no :data:`NO_BOOK_WARNING`: the caller ran the queue rule on its
    own (``liqcore compare``'s ``cascade-mm · queue`` row, the user never gave ``--fill queue``) and says the
    fallback where the result is shown (its fill label)."""
    global _said_by_caller
    _said_by_caller += 1
    try:
        yield
    finally:
        _said_by_caller -= 1


def queue_fallback(par: np.ndarray, events: np.ndarray) -> bool:
    """The queue rule needs a book (QUOTE or DEPTH rows): when ``par`` (PARAM_DTYPE) asks for it and
    ``events`` holds neither, its symbols fall back to ``through`` (``par`` changed in place) and the warning
    :data:`NO_BOOK_WARNING` goes to stderr once per process.  Returns True when it fell back."""
    global _warned_no_book
    if not len(par) or not par["queue"].any():
        return False
    if len(events) and bool(((events["kind"] == int(Kind.QUOTE)) | (events["kind"] == int(Kind.DEPTH))).any()):
        return False
    par["queue"] = 0
    if not _warned_no_book and not _said_by_caller:
        import sys

        _warned_no_book = True
        print(f"warning: {NO_BOOK_WARNING}", file=sys.stderr)
    return True


def _common_step(steps: np.ndarray) -> float:
    """The greatest common divisor of positive price ``steps``: the coarsest decimal resolution (1 down to
    1e-8 of a unit) on which every step is a whole number (within 5 % of that resolution, so that a price
    spelled in float32 still counts), and the gcd of those whole numbers; the smallest step when no
    decimal resolution holds them all (prices off any decimal grid)."""
    for d in range(9):
        scale = 10.0 ** d
        k = np.rint(steps * scale)
        if (k >= 1).all() and (np.abs(steps * scale - k) <= 0.05).all():
            return float(np.gcd.reduce(k.astype(np.int64))) / scale
    return float(steps.min())


#: the trade prints per symbol :func:`price_grids` reads (the first ones): enough to meet neighbouring ticks
GRID_PRINTS = 1 << 18


def grid_of_prices(prices: np.ndarray) -> float:
    """The price grid (ticks per unit of price; 0: fewer than two distinct prices) of one symbol's
    trade prints ``prices`` (:func:`price_grids` gives it each symbol's first :data:`GRID_PRINTS`)."""
    px = np.unique(prices)
    px = px[np.isfinite(px)]
    if len(px) < 2:
        return 0.0
    steps = np.diff(px)
    steps = steps[steps > 0]
    step = _common_step(steps) if len(steps) else 0.0
    if step <= 0:
        return 0.0
    g = 1.0 / step
    r = round(g)
    return float(r) if r > 0 and abs(g - r) <= 1e-6 * r else g


def price_grids(events: np.ndarray, n_sym: int) -> np.ndarray:
    """Per symbol id, the price grid of its trade prints in ticks per unit of price (0: fewer than two
    distinct prices): the reciprocal of the greatest common step between distinct prices among its first
    :data:`GRID_PRINTS` prints (:func:`grid_of_prices`; prints at 3000, 2995.51 and 2995 have a 0.01 tick,
    though no two of them are 0.01 apart), snapped to a whole number of ticks per unit when within 1e-6 of
    one (a decimal tick such as 0.01 gives 100).  The first prints, not all: a backtest read in chunks
    knows the grid after its first chunks (:class:`liqcore.backtest.stream._GridGate`) and must find the
    same one; a finer tick first printed after them is compared off the grid (docs/explanation/fill-model.md)."""
    global _last_grids
    key = (events.__array_interface__["data"][0], len(events), n_sym)
    # the same array object again (a run per fill rule); an address alone could be a new array's, once
    # the old one was freed
    if _last_grids is not None and _last_grids[0]() is events and _last_grids[1] == key:
        return _last_grids[2].copy()
    out = np.zeros(n_sym)
    is_trade = events["kind"] == int(Kind.TRADE)
    price = events["price"][is_trade]
    sym = events["symbol_id"][is_trade]
    for sid in range(n_sym):
        out[sid] = grid_of_prices(price[sym == sid][:GRID_PRINTS])
    try:
        _last_grids = (weakref.ref(events), key, out.copy())
    except TypeError:  # (an object that takes no weak reference: not cached)
        _last_grids = None
    return out


def apply_price_grid(par: np.ndarray, params, events: np.ndarray) -> None:
    """Put ``par``'s ``grid`` column (PARAM_DTYPE, in place) from the trade prints when ``params``
    asks for the price grid (``price-grid auto``, or ``fill queue``, which implies it)."""
    if len(par) and (getattr(params, "price_grid", "off") == "auto" or getattr(params, "fill", "") == "queue"):
        par["grid"] = price_grids(events, len(par))


def book_view(prep):
    """A sweep partition (:class:`liqcore.sweep.cells.Prepared`, whose passes keep trades and
    funding only) with its QUOTE rows kept too, for the queue rule, and the symbols' price grids
    (``grids``, ``has_quotes``); built on first need and kept on ``prep``."""
    book = prep.__dict__.get("_book")
    if book is None:
        book = object.__new__(type(prep))
        book.__dict__.update(prep.__dict__)
        ev = prep.events
        book.kept = np.flatnonzero(np.isin(ev["kind"], (int(Kind.TRADE), int(Kind.FUNDING), int(Kind.QUOTE))))
        book.sim_events = np.ascontiguousarray(ev[book.kept])
        book.sim_ts = np.ascontiguousarray(book.sim_events["ts_recv"])
        book.grids = price_grids(ev, prep.n_sym)
        book.has_quotes = len(book.kept) > len(prep.kept)
        book._book = prep._book = book
    return book
