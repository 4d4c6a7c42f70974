"""The whole market (liqcore.market): market-wide cascades, their feature and their chance rate."""
