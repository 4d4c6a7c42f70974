"""The strategies, batch and streaming forms (liqcore.strategies)."""
