"""Trading rules and the traded symbols of a whole-market backtest (``liqcore backtest PATH --symbols all``),
the same ones the live runner applies (:mod:`liqcore.commands._market`, :mod:`liqcore.live.orders`):

The details: docs/explanation/fill-model.md, "Trading rules of a whole-market backtest".

May import: ``numpy``, ``market.universe``, ``types`` and ``venues.instruments``.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

__all__ = ["load_rules", "quote_of", "rule_columns", "apply_rules", "refusals", "session_refusals", "refuse_records",
           "trade_symbols", "REFUSALS"]

#: why a symbol's signals are not sent to the execution model, as the live runner names them
REFUSALS = ("no_instrument", "not_traded", "no_market_data")


def _from_venue_answer(obj, venue: str) -> dict | None:
    """symbol -> Instrument of a venue's own instrument answer, the perpetuals that trade (its ``market`` part's
    ``answer_rules``: ``venue``'s first, then every other venue's that reads one); None when no venue reads ``obj``."""
    from liqcore.venues.registry import registered, spec_or_none

    first = spec_or_none(venue)
    for spec in ([first] if first is not None else []) + [s for s in registered() if s is not first]:
        read = getattr(spec.part("market"), "answer_rules", None) if spec.has_part("market") else None
        rules = read(obj) if read is not None else None
        if rules is not None:
            return rules
    return None


def kept_list(paths) -> str | None:
    """The instrument list a whole-market recording keeps beside it (``record --venue okx --symbols all``:
    :data:`liqcore.venues.instruments.RECORDING_INSTRUMENTS` in a recording directory of ``paths``), else None."""
    from liqcore.venues.instruments import RECORDING_INSTRUMENTS

    return next((str(q) for q in (Path(p) / RECORDING_INSTRUMENTS for p in paths) if q.is_file()), None)


def load_rules(path: str | None, venue: str, quote: str = "USDT", cache_dir=None, base_url: str | None = None):
    """``(universe, source)``: the instrument list (a :class:`liqcore.market.universe.Universe`) from ``path``
    (the backtest's ``--instruments``, else the list a recording keeps: :func:`kept_list`) or, without one, the list ``run``/``record --symbols all`` cached from the venue (or from ``base_url``, their
    ``--rest-url``); ``source`` says where it came from in words.  ValueError in one line when there is none."""
    from liqcore.market.universe import Universe, cache_path

    if path is not None:
        p = Path(path)
        try:
            obj = json.loads(p.read_text())
        except OSError as e:
            raise ValueError(f"instruments: cannot read {p} ({e.strerror or e})") from None
        except ValueError as e:
            raise ValueError(f"instruments: {p} is not JSON ({e})") from None
        if isinstance(obj, dict) and "rules" in obj and "fetched_ns" in obj:
            try:
                u = Universe.from_json(obj)
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"instruments: {p}: malformed instrument list ({e})") from None
            return u, f"{p} (fetched {_when(u.fetched_ns)})"
        rules = _from_venue_answer(obj, venue)
        if rules is None:
            raise ValueError(f"instruments: {p}: expected a liqcore instrument list (universe-<venue>-<quote>.json) "
                             "or the venue's own instrument-list answer")
        mtime = int(p.stat().st_mtime * 1e9)
        return Universe(venue, quote.upper(), rules, {}, mtime, source="file"), f"{p} (the venue's answer)"
    cached = cache_path(venue, quote.upper(), cache_dir, base_url)
    try:
        u = Universe.from_json(json.loads(cached.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        raise ValueError(f"symbols: --symbols all trades each symbol on its trading rules and none are known for "
                         f"{venue} {quote.upper()}{' from ' + base_url if base_url else ''}: give --instruments FILE (an "
                         f"instrument list) or run `liqcore record --venue {venue} --symbols all` once to cache "
                         f"the venue's list") from None
    return u, f"the {venue} instrument list cached {u.age_s() / 3600:.1f} h ago ({cached})"


def _when(ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ns / 1e9))


def rule_columns(inst) -> tuple[float, float, float, float, float]:
    """``(grid, lot, min_qty, min_notional, max_qty)`` of an :class:`~liqcore.venues.instruments.Instrument` for
    the execution model: grid in ticks per unit of price, exact for a decimal tick (0.0001 -> 10000); max_qty 0:
    none."""
    units, decimals = inst.tick_grid[0], inst.tick_grid[1]
    cap = float(inst.max_qty) if math.isfinite(inst.max_qty) else 0.0
    return float(10 ** decimals) / units, float(inst.qty_step), float(inst.min_qty), float(inst.min_notional), cap


def apply_rules(par: np.ndarray, registry, rules: dict | None) -> None:
    """Put each symbol's rules (``rules``: symbol -> Instrument) in ``par`` (PARAM_DTYPE, in place)."""
    if not rules:
        return
    for sid in range(min(len(par), len(registry))):
        inst = rules.get(registry.symbol(sid))
        if inst is not None:
            row = par[sid]
            row["grid"], row["lot"], row["min_qty"], row["min_notional"], row["max_qty"] = rule_columns(inst)


def quote_of(symbol: str, quote: str) -> bool:
    """Whether ``symbol``'s name says it is quoted in ``quote`` (``ETHUSDT``, OKX ``ETH-USDT-SWAP``)."""
    q = quote.upper()
    return symbol.endswith(f"-{q}-SWAP") or (symbol.endswith(q) and len(symbol) > len(q) and "-" not in symbol)


def trade_symbols(events: np.ndarray, registry) -> set[str]:
    """The symbols with at least one trade in ``events``."""
    from liqcore.types import Kind

    return {registry.symbol(int(s)) for s in np.unique(events["symbol_id"][events["kind"] == int(Kind.TRADE)])
            if int(s) < len(registry)}


def refusals(registry, with_trades: set[str] | None, universe, *, exclude=(), quote: str = "USDT",
             min_volume: float | None = None) -> dict[int, str]:
    """symbol id -> why its signals are not sent (:data:`REFUSALS`), for every symbol of ``registry`` not
    traded: no rules in ``universe`` (``no_instrument``), left out by ``exclude`` / ``quote`` / ``min_volume``
    (``not_traded``; the turnover is the list's), or not among ``with_trades``, the symbols with a trade in the
    data (``no_market_data``; None: not known, such a symbol's limit entries find no reference price)."""
    ex = {str(s).strip().upper() for s in exclude if str(s).strip()}
    out = {}
    for sid, _venue, sym in registry:
        sym = str(sym)
        if sym not in universe.rules:
            out[sid] = "no_instrument"
        elif sym.upper() in ex or not quote_of(sym, quote) or (
                min_volume is not None and not (universe.turnover.get(sym, math.nan) >= min_volume)):
            out[sid] = "not_traded"
        elif with_trades is not None and sym not in with_trades:
            out[sid] = "no_market_data"
    return out


def refuse_records(rows: np.ndarray, refuse: dict, counted: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """``(rows kept, {reason: rows refused})``: the rows (cascade records, signals: a ``symbol_id`` field) of the
    symbols in ``refuse`` (symbol id -> reason) dropped, each counted by its symbol's reason (only where
    ``counted``, a mask of ``rows``, when given)."""
    if not refuse or not len(rows):
        return rows, {}
    sids = np.fromiter(refuse, dtype=np.int64, count=len(refuse))
    out = np.isin(rows["symbol_id"], sids)
    tally: dict = {}
    for sid in rows["symbol_id"][out if counted is None else out & counted].tolist():
        tally[refuse[int(sid)]] = tally.get(refuse[int(sid)], 0) + 1
    return rows[~out], tally


def session_refusals(registry, traded, rules) -> dict[int, str]:
    """symbol id -> reason for a replay of a live session: a symbol it did not trade (``traded``: its symbols;
    None: every one) is ``not_traded``, a traded one without trading rules (``rules``: symbol -> rules; None:
    not known) ``no_instrument``."""
    out = {}
    for sid, _venue, sym in registry:
        if traded is not None and sym not in traded:
            out[sid] = "not_traded"
        elif rules is not None and sym not in rules:
            out[sid] = "no_instrument"
    return out
