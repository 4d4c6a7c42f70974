"""Type stub of liqcore._libs.sections (a checked file's rows of one read -> events in event-time order)."""
from typing import Any

import numpy as np

def section_events(rare: Any, trades: Any, quotes: Any, sid: int, venue: int) -> np.ndarray | None: ...
def sort_recv(events: np.ndarray) -> bool: ...
