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

def __getattr__(name):
    if name == "ALL_MARKET_STREAM":  # the venues whose liquidations come on one stream for every symbol
        from liqcore.venues.registry import registered

        return {s.name: s.all_market_stream for s in registered() if s.all_market_stream}
    raise AttributeError(name)


def whole_market_specs(venue: str, universe: list[str], also: list[str], *, url: str | None = None,
                       network: str = "mainnet", book: bool = True, tickers: bool = False) -> list:
    """Connection specs for every liquidation of the venue (Bybit: of ``universe``) and the trades (and, with
    ``book``, the top of book) of ``also`` (each venue's own: ``liqcore.venues.<venue>.market``)."""
    from liqcore.venues.registry import venue_spec

    also = [str(s).strip().upper() for s in also if str(s).strip()]
    try:
        market = venue_spec(str(venue).lower()).part("market")
    except NotImplementedError as exc:
        raise ValueError(str(exc)) from None
    return market.whole_market_specs(universe, also, url=url, network=network, book=book, tickers=tickers)
