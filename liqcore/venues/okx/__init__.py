"""OKX v5 (USDT swaps): its wire knowledge and its spec in the venue registry."""
from liqcore.venues.registry import VenueSpec, register

# liquidation-orders: a sample of the liquidations (like Binance's); sizes are contracts of ctVal
SPEC = register(VenueSpec(name="okx", code=3, package="liqcore.venues.okx",
                          local_fake="liqcore.venues.okx.fake:FakeOkx", rules_from_instrument_list=True,
                          sampled_liquidations=True,
                          sizes_in_contracts=True, symbol_style="inst_id", needs_passphrase=True, rest_depth_snapshots=True,
                          all_market_stream='{"channel":"liquidation-orders","instType":"SWAP"}',
                          aliases=("okex-swap", "okex")))
