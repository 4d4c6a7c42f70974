"""Gate USDT-margined perpetual futures (API v4): its wire knowledge and its spec in the venue registry.

Facts, each from Gate's documents (docs/maintainers/data.md, "Gate futures v4 (USDT perpetuals)", has the sources):

* ``futures.public_liquidates`` pushes "up to one liquidate order data every 1 second" per contract (Gate Futures
  WebSocket v4, "public liquidates order API"): a sample, like Binance's and OKX's streams;
  ``!all`` subscribes every contract;
* sizes are contracts of the contract's ``quanto_multiplier`` (``GET /api/v4/futures/usdt/contracts``);
* names are ``BTC_USDT`` (``symbol_style`` ``"underscore"``), shown as Gate's users see them;
* the order book starts from ``GET /api/v4/futures/usdt/order_book?with_id=true`` (its ``id``), then
  ``futures.order_book_update`` (``U``/``u``); a push with ``"full": true`` is a whole book of its own;
* a liquidation's ``size`` is the forced order's, signed as Gate signs orders: negative (a sell) is a long
  liquidated.
"""
from liqcore.venues.registry import VenueSpec, register

SPEC = register(VenueSpec(name="gate", code=4, package="liqcore.venues.gate",
                          sampled_liquidations=True, sizes_in_contracts=True, symbol_style="underscore",
                          rest_depth_snapshots=True, rules_from_instrument_list=True,
                          local_fake="liqcore.venues.gate.fake:FakeGate",
                          all_market_stream='{"channel":"futures.public_liquidates","payload":["!all"]}',
                          aliases=("gate-io-futures", "gateio", "gate-io")))
