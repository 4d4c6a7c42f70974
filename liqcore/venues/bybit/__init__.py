"""Bybit v5 (linear USDT perpetuals): its wire knowledge and its spec in the venue registry."""
from liqcore.venues.registry import VenueSpec, register

SPEC = register(VenueSpec(name="bybit", code=1, package="liqcore.venues.bybit",
                          local_fake="liqcore.venues.bybit.fake:FakeExchange",
                          push_batch_ms=500,
                          ticker_stream=True, depth_levels=True, per_topic_subscriptions=True, fake="exchange",
                          public_clock=True, aliases=("bybit-spot",),
                          # allLiquidation (every liquidation) since about 2025-02-01 UTC; 1 per second before
                          sampled_before_ns=1_738_368_000_000_000_000))
