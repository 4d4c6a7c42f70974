"""A checked partition file's rows of one read laid out as events in event-time order by one compiled pass
(:func:`liqcore._libs.reading.section_events`) instead of :func:`liqcore.dataset.checked.read_checked`'s numpy
passes (the events written, the quotes merged among the trades, the rare rows placed by event time, a
gather): :func:`file_events`; and the rows of a bulk row group a read keeps, by one compiled pass
(:func:`liqcore._libs.reading.bulk_keep`) instead of its numpy passes: :func:`bulk_kept`."""
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
    from liqcore._libs.reading import section_events

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


#: a bulk group's rows kept by one compiled pass (:func:`bulk_kept`; off: :func:`~liqcore.dataset.checked.selected_rows`'
#: numpy passes)
BULK_KEEP = True
#: :func:`bulk_kept`'s answer where it does not test the rows
NOT_HERE = object()
_I64 = (-(2**63), 2**63 - 1)


def bulk_kept(ev_range, c: dict, start_ns, end_ns, recv_range, skew, clock_min):
    """The rows of a decoded bulk row group ``c`` (one kind asked for, every row with a receive time; ``ev_range``:
    its event times' range from its verified footer) a read keeps -- received in ``recv_range``, stamped in
    ``[start_ns, end_ns)``, not ahead of their receive time by more than ``skew`` (the clock guard, from
    ``clock_min`` on) -- tested in one compiled pass: the columns kept, views where they are one run (None: none);
    :data:`NOT_HERE` where a bound lies outside int64 or a time column is not contiguous int64 (the caller's
    numpy passes then)."""
    from liqcore._libs.reading import bulk_keep

    s_on = start_ns is not None and int(ev_range[0]) < int(start_ns)
    e_on = end_ns is not None and int(ev_range[1]) >= int(end_ns)
    args = (int(recv_range[0]), int(recv_range[1]), int(start_ns) if s_on else 0, int(end_ns) if e_on else 0,
            int(skew) if skew is not None else 0)
    if not all(_I64[0] <= x <= _I64[1] for x in args):
        return NOT_HERE
    te, tr = c["ts_event_ns"], c["ts_recv_ns"]
    if not all(x.dtype == np.int64 and x.flags.c_contiguous for x in (te, tr)):
        return NOT_HERE
    i0, i1, m = bulk_keep(te, tr, args[0], args[1], s_on, args[2], e_on, args[3], skew is not None, args[4],
                          int(clock_min))
    if m is not None:
        return {name: v[m] for name, v in c.items()}
    if i1 <= i0:
        return None
    return c if i1 - i0 == len(te) else {name: v[i0:i1] for name, v in c.items()}
