"""Gate's files (the registry's ``archives`` part).

Gate publishes no liquidation archive, and tardis.dev has no Gate liquidations dataset: the public stream
``futures.public_liquidates`` is the only source, so ``liqcore record --venue gate`` is the way to keep them (its
recordings load, convert and backtest like any venue's).

tardis.dev's exchange id for Gate USDT perpetuals is ``gate-io-futures`` (the spec's first alias): its
``trades``, ``quotes`` (from ``futures.book_ticker``), ``book_ticker``, ``incremental_book_L2`` and
``derivative_ticker`` CSV files are read by the shared tardis reader (:mod:`liqcore.io.tardis`), which names the
venue by that alias and multiplies each ``amount`` (``|size|`` in contracts, tardis-node's gate-io-futures
mappers) by the contract's ``quanto_multiplier``.  No reader of this part's own.
"""
from __future__ import annotations

__all__ = ["READERS", "TARDIS_EXCHANGE", "TARDIS_TYPES", "TARDIS_LIQUIDATIONS"]

#: tardis.dev's exchange id (``liqcore download tardis --exchange gate-io-futures``)
TARDIS_EXCHANGE = "gate-io-futures"
#: the tardis.dev data types liqcore reads for it
TARDIS_TYPES = ("trades", "quotes", "book_ticker", "incremental_book_L2", "derivative_ticker")
#: tardis.dev has a liquidations dataset for it (no: record them)
TARDIS_LIQUIDATIONS = False

#: every reader of this part (:mod:`liqcore.io.registry` registers them): none of its own
READERS = ()
