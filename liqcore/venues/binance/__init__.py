"""Binance USD-M futures: its wire knowledge and its spec in the venue registry."""
from liqcore.venues.registry import VenueSpec, register

# forceOrder: at most one liquidation snapshot per symbol per second (the stream is a sample)
SPEC = register(VenueSpec(name="binance", code=2, package="liqcore.venues.binance",
                          local_fake="liqcore.venues.binance.fake:FakeBinance", rules_from_instrument_list=True,
                          sampled_liquidations=True,
                          all_market_stream="!forceOrder@arr", rest_depth_snapshots=True,
                          aliases=("binance-futures", "binance_futures", "binancef")))
