"""The whole market: what is seen across every symbol of a venue, not one symbol at a time.

:mod:`liqcore.market.wide`: the **market-wide cascade**, the moments when cascades confirm on at
least ``K`` unrelated instruments within a window (the same contract on two venues counts once), with
the dominant side across the market; the records the detector emits for them, the feature
``liquidations.market_wide@W`` (how many instruments confirmed a cascade in ``(t-W, t]``) and the
chance rate independent symbols would give (:func:`liqcore.market.wide.chance_rate`).

:mod:`liqcore.market.universe`: a venue's whole universe of USDT perpetuals and each one's trading rules
(tick, lot, minimum quantity and notional), asked of its public REST API and cached with the time fetched;
:mod:`liqcore.market.streams`: the subscriptions that watch every liquidation of a venue.

What it may import: numpy, aiohttp, :mod:`liqcore.types`, :mod:`liqcore.instruments` (which contract a venue's
symbol is), :mod:`liqcore.venues` (a symbol's order grid, the venues' stream names) and :mod:`liqcore.cache` (where the
instrument lists are kept).  It never imports the live runner, the backtest or the commands: they import it.

A new whole-market rule (a breadth measure, a universe filter) is a module of its own here, exported
from this ``__init__``, with its tests in ``tests/market/``.
"""
from liqcore.market.universe import Universe, UniverseError, fetch_universe, load_universe
from liqcore.market.wide import (MARKET_WIDE_DTYPE, ChanceRate, chance_rate, market_wide, market_wide_count,
                                 market_wide_records)

__all__ = ["MARKET_WIDE_DTYPE", "market_wide", "market_wide_records", "market_wide_count", "chance_rate",
           "ChanceRate", "Universe", "UniverseError", "fetch_universe", "load_universe"]
