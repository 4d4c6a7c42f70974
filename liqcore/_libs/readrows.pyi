"""Type stub of liqcore._libs.readrows (a CSV reader's batch columns -> EVENT_DTYPE rows)."""
from typing import Any

import numpy as np

def quote_rows(ts: Any, recv: Any, bid_price: Any, bid_qty: Any, ask_price: Any, ask_qty: Any, sid: Any, venue: Any,
               keep: Any = None, inverse: Any = None, scale: Any = None) -> np.ndarray: ...
def trade_rows(ts: Any, recv: Any, price: Any, qty: Any, sid: Any, side: Any, venue: Any, kind: int, sampled: int = 0,
               keep: Any = None) -> np.ndarray: ...
def partition_rows(events: np.ndarray, trade_ids: Any, out: np.ndarray) -> np.ndarray: ...
