"""``cascade-mm``: the trading guide's cascade market-maker as a strategy.

Rules: docs/maintainers/strategies.md, "The rules of `cascade-mm`, in full".

May import: ``numpy``, ``execution.detect``, ``types`` and this package's ``base``.
"""
from __future__ import annotations

import numpy as np

from liqcore.execution.detect import confirmed_records
from liqcore.strategies.base import ENTRY_LIMIT, READS_WINDOWS, SKIP_MIXED, SignalStream, Strategy, empty_signals


class CascadeMM(Strategy):
    name = "cascade-mm"
    PARAMS = ()
    DEFAULTS = {}
    needs = frozenset({"liquidation", "trade"})
    uses_detector = True
    reads = READS_WINDOWS  # signals from liquidations; trades only from a signal to its last exit

    def signals(self, events, params, registry, records=None):
        if records is None:
            raise ValueError("cascade-mm: needs the detector's cascade records")
        rec = confirmed_records(records, ordered=True)
        return records_to_signals(rec, trail=float(getattr(params, "trail", 0.0) or 0.0))

    def inputs(self, signal) -> dict:
        return {"cascade_id": int(signal["tag"])}

    def stream(self, params, registry):
        return CascadeMMStream(self, type(self).resolve(params), registry)


def records_to_signals(rec: np.ndarray, trail: float = 0.0) -> np.ndarray:
    """CONFIRMED cascade records (sorted by decision time, event index) -> cascade-mm signals."""
    sig = empty_signals(len(rec))
    sig["ts_ns"] = rec["confirm_recv_ns"]
    sig["ev_idx"] = rec["event_index"]
    sig["symbol_id"] = rec["symbol_id"]
    dom = rec["dominant"].astype(np.int64)
    sig["direction"] = np.where(dom == 1, 1, np.where(dom == 2, -1, 0))
    sig["skip_code"] = np.where((dom == 1) | (dom == 2), 0, SKIP_MIXED)
    sig["entry"] = ENTRY_LIMIT
    sig["trail"] = trail
    sig["tag"] = rec["cascade_id"]
    return sig


class CascadeMMStream(SignalStream):
    """Streaming ``cascade-mm``: each CONFIRMED record the detector emits for an event is a signal
    decided at that event (``after``), the same row as the batch form's."""

    uses_detector = True

    def __init__(self, strategy, params, registry):
        super().__init__(strategy, params, registry)
        self.trail = float(getattr(params, "trail", 0.0) or 0.0)

    def on_event(self, ev, records=()):
        from liqcore.types import RecordKind

        i = self.n
        self.n = i + 1
        if len(records) == 0:
            return _EMPTY, _EMPTY
        rec = np.asarray(records)
        rec = rec[rec["record"] == int(RecordKind.CONFIRMED)]
        if not len(rec):
            return _EMPTY, _EMPTY
        sig = records_to_signals(rec, self.trail)
        sig["ev_idx"] = i
        return _EMPTY, self.pack([sig])


_EMPTY = SignalStream.empty()
