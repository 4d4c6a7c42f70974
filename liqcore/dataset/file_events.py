"""A checked partition file's rows of one read laid out as events in event-time order by one compiled pass
(:func:`liqcore._libs.sections.section_events`) instead of :func:`liqcore.dataset.checked.read_checked`'s numpy
passes (the events written, the quotes merged among the trades, the rare rows placed by event time, a
gather): :func:`file_events`."""
from __future__ import annotations

import numpy as np

_COLS = ("ts_event_ns", "ts_recv_ns", "kind", "side", "price", "qty", "flags")
_ASK = ("ask_price", "ask_qty")
_TRADE, _QUOTE = 2, 7  # Kind.TRADE, Kind.QUOTE


def file_events(kept: list, kd: np.ndarray, sid: int, venue: int) -> np.ndarray | None:
    """The events of one file's kept rows ``kept`` (each row group's columns, in the file's order; ``kd``:
    each group's kind range from its verified footer) in the read's event order, or None where the file is
    not laid out in the sections the kernel merges (the caller then makes the numpy passes): its groups in
    the file's section order -- the rare ones, then those of trades only ([2, 2]), then those of quotes
    only ([7, 7]) whose rows all carry their ask.  The kernel checks the rest (each section's order and
    kinds, every ask a number) and returns None where they do not hold."""
    from liqcore._libs.sections import section_events

    secs: tuple[list, list, list] = ([], [], [])
    at = 0
    for c, (k0, k1) in zip(kept, kd.tolist()):
        s = 2 if k0 == k1 == _QUOTE else 1 if k0 == k1 == _TRADE else 0
        if s < at or (s == 2 and "ask_price" not in c):
            return None
        at = s
        secs[s].append(c)
    return section_events(_joined(secs[0], _COLS), _joined(secs[1], _COLS), _joined(secs[2], _COLS + _ASK), sid,
                          venue)


def _joined(parts: list, names: tuple) -> dict | None:
    """The columns ``names`` of a section's row groups ``parts``, end to end (None: no group)."""
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([p[k] for p in parts]) for k in names}
