"""Backtests, the strategy core and execution model, sweeps, comparisons, walk-forward, overfitting, the
synthetic market and its cache (liqcore.backtest, liqcore.cache)."""
