"""What the engine decided on one confirmed cascade: :class:`Decision`.

It sits below both the engine (which makes them) and the order manager (which turns an ``order``
decision into an intent), so ``live/orders.py`` does not import ``live/engine.py``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from liqcore.live.gateway import OrderIntent

__all__ = ["Decision"]


@dataclass
class Decision:
    """What the engine decided on one CONFIRMED cascade."""

    venue: str
    symbol: str
    symbol_id: int
    cascade_id: int
    ts_ns: int  # decision time: the confirming event's ts_recv
    dominant: str  # long | short | mixed
    action: str  # "order" | "none"
    reason: str = ""  # why nothing was placed (busy, cooldown, mixed, hours, loss_limit, max_symbols,
    #                   no_reference_price, kill_switch, below_min_qty, not_traded)
    side: str = ""  # order side: buy | sell
    price: float = math.nan
    qty: float = 0.0
    take_profit: float = math.nan
    stop_loss: float = math.nan
    ref_price: float = math.nan
    client_id: str = ""
    intent: OrderIntent | None = None
    notes: str = ""  # the strategy's notes on the signal (liq-trend: the judge's verdict and reasons)
    note_fields: dict = field(default_factory=dict)  # the same by part (liq_note, trend_note, news_note, action_reason)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("venue", "symbol", "symbol_id", "cascade_id", "ts_ns", "dominant", "action",
                                           "reason", "side", "price", "qty", "take_profit", "stop_loss", "ref_price",
                                           "client_id", "notes")}
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}
