"""The websocket subscriptions that watch a venue's whole market.

* Binance: the one all-market stream ``!forceOrder@arr`` (every symbol's liquidations, at most one per
  symbol per second, the venue's throttle), whatever the instrument list;
* Bybit: ``allLiquidation.<symbol>`` for every symbol of the universe, sharded over as many connections as
  the venue's 21,000 characters of args per connection require;
* OKX: ``liquidation-orders`` for ``instType`` SWAP (every swap's liquidations).

Trades and the top of book are subscribed only for ``also`` (the symbols the caller wants them for): a
whole market's trades are orders of magnitude more frames than its liquidations.
"""
from __future__ import annotations

__all__ = ["whole_market_specs", "ALL_MARKET_STREAM"]

#: the venues whose liquidations come on one stream for every symbol (no instrument list needed)
ALL_MARKET_STREAM = {"binance": "!forceOrder@arr", "okx": '{"channel":"liquidation-orders","instType":"SWAP"}'}


def whole_market_specs(venue: str, universe: list[str], also: list[str], *, url: str | None = None,
                       network: str = "mainnet", book: bool = True, tickers: bool = False) -> list:
    """Connection specs for every liquidation of the venue (Bybit: of ``universe``) and the trades (and, with
    ``book``, the top of book) of ``also``."""
    v = str(venue).lower()
    also = [str(s).strip().upper() for s in also if str(s).strip()]
    if v == "binance":
        from liqcore.venues.binance.stream import connection_specs

        return connection_specs(also, url=url, network=network, all_liquidations=True, trades=True, book=book)
    if v == "okx":
        from liqcore.venues.okx.stream import connection_specs

        return connection_specs(also, url=url, network=network, trades=True, book=book)
    if v == "bybit":
        from liqcore.venues.bybit.stream import ENDPOINTS, topic_specs, topics

        if url is None:
            try:
                url = ENDPOINTS[network]
            except KeyError:
                raise ValueError(f"network: expected one of {', '.join(ENDPOINTS)}; got {network!r}") from None
        tops = [f"allLiquidation.{s}" for s in universe]
        have = set(tops)
        tops += [t for t in topics(also, trades=True, tickers=tickers, book=book) if t not in have]
        return topic_specs(tops, url)
    raise ValueError(f"venue: expected bybit, binance or okx; got {venue!r}")

