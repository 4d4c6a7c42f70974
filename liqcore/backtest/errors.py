"""The backtest package's own errors, below every module that raises them.

May import: nothing of liqcore.
"""
from __future__ import annotations

__all__ = ["NotStreamable"]


class NotStreamable(Exception):
    """The chunked run would not equal the whole-partition run; the message says why."""
