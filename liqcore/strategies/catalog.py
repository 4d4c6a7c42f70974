"""The seven strategies of the source documents beside the guide's ``cascade-mm``.

``SEVEN`` maps each ``--strategy`` name to its ``module:Class`` (the same form as the package's
table of built-in strategies); :func:`register_seven` registers them with
:func:`liqcore.strategies.register_strategy` (idempotent).
"""
from __future__ import annotations

import importlib

SEVEN: dict[str, str] = {
    "cascade-fade": "liqcore.strategies.cascade_fade:CascadeFade",
    "imbalance-reversal": "liqcore.strategies.imbalance_reversal:ImbalanceReversal",
    "zone-bounce": "liqcore.strategies.zone_bounce:ZoneBounce",
    "vol-breakout": "liqcore.strategies.vol_breakout:VolBreakout",
    "liq-trend": "liqcore.strategies.liq_trend:LiqTrend",
    "cascade-score": "liqcore.strategies.cascade_score:CascadeScore",
    "flush-reversal-rule": "liqcore.strategies.flush_reversal:FlushReversal",
}


def load(name: str) -> type:
    mod, _, attr = SEVEN[name].partition(":")
    return getattr(importlib.import_module(mod), attr)


def register_seven() -> list[type]:
    """Register the seven strategies (a strategy already registered under its name is kept)."""
    from liqcore.params import strategy_registry

    registry = strategy_registry()  # the strategy registry (this package), through the vocabulary's hook
    out = []
    for name in SEVEN:
        cls = registry._REGISTRY.get(name)
        if cls is None:
            cls = registry.register_strategy(load(name))
        out.append(cls)
    return out
