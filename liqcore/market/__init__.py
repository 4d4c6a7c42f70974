"""The whole market: what is seen across every symbol of a venue, not one symbol at a time.

``wide`` (market-wide cascades, ``liquidations.market_wide@W``, the chance rate), ``universe`` (a
venue's USDT perpetuals and their trading rules), ``streams`` (subscriptions to every liquidation),
``klines`` (1-minute candles).

May import: numpy, aiohttp, ``types``, ``instruments``, ``venues``, ``cache`` and ``_atomic``; never the
live runner, the backtest or the commands (they import it).  A new whole-market rule is a module of
its own here, exported from this ``__init__``, with its tests in ``tests/market/``.
"""
from liqcore.market.universe import Universe, UniverseError, fetch_universe, load_universe
from liqcore.market.wide import (MARKET_WIDE_DTYPE, ChanceRate, chance_rate, market_wide, market_wide_count,
                                 market_wide_records)

__all__ = ["MARKET_WIDE_DTYPE", "market_wide", "market_wide_records", "market_wide_count", "chance_rate",
           "ChanceRate", "Universe", "UniverseError", "fetch_universe", "load_universe"]
