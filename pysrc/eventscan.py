"""Reference twin of ``liqcore._libs.reading``: the figures of a file's rows, one numpy pass per figure.

* :func:`event_scan`: of ``EVENT_DTYPE`` rows: the range of the event and receive times, of the kinds, venues
  and symbol ids; the smallest and largest step between neighbours in each time column (``np.diff``, int64,
  wrapping); whether the event times never go down; the rows the clock guard drops
  (:func:`liqcore.venues.common.drop_future`'s mask: a receive time from 2000 on and an event time more
  than ``max_skew_ns`` after it; None: none); the rows without a receive time (-1).  No rows: zeros, sorted.
* :func:`clock_witness`: over one section sorted by event time, for each rare row ``(r_te, r_tr)`` the last
  row stamped after ``r_te`` and received before ``r_tr`` (found on the suffix minima of the receive
  times), ``NONE`` where there is none; None when the section's event times go down.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from liqcore.types import EVENT_DTYPE

RECV_CLOCK_MIN = 946_684_800_000_000_000
RECV_UNKNOWN = -1
NONE = np.iinfo(np.int64).min

EventScan = namedtuple("EventScan", [
    "n", "te_min", "te_max", "tr_min", "tr_max", "te_step_min", "te_step_max", "tr_step_min", "tr_step_max",
    "te_sorted", "kind_min", "kind_max", "venue_min", "venue_max", "sid_min", "sid_max", "n_future",
    "n_recv_unknown"])


def event_scan(events, max_skew_ns=None):
    if events.dtype != EVENT_DTYPE:
        raise ValueError("eventscan: events are not EVENT_DTYPE rows")
    n = len(events)
    if not n:
        return EventScan(0, 0, 0, 0, 0, 0, 0, 0, 0, True, 0, 0, 0, 0, 0, 0, 0, 0)
    te, tr = events["ts_event"], events["ts_recv"]
    with np.errstate(over="ignore"):
        ds, dr = np.diff(te), np.diff(tr)
        future = 0 if max_skew_ns is None else int(np.count_nonzero(
            (tr >= RECV_CLOCK_MIN) & (te - tr > int(max_skew_ns))))
    step = (lambda d, f: int(f(d)) if len(d) else 0)  # noqa: E731
    return EventScan(
        n, int(te.min()), int(te.max()), int(tr.min()), int(tr.max()), step(ds, np.min), step(ds, np.max),
        step(dr, np.min), step(dr, np.max), bool(np.all(te[1:] >= te[:-1])), int(events["kind"].min()),
        int(events["kind"].max()), int(events["venue"].min()), int(events["venue"].max()),
        int(events["symbol_id"].min()), int(events["symbol_id"].max()), future,
        int(np.count_nonzero(tr == RECV_UNKNOWN)))


def clock_witness(te, tr, r_te, r_tr):
    te = np.asarray(te, np.int64)
    tr = np.asarray(tr, np.int64)
    r_te = np.asarray(r_te, np.int64)
    r_tr = np.asarray(r_tr, np.int64)
    if len(te) > 1 and not bool(np.all(te[1:] >= te[:-1])):
        return None
    w_te = np.full(len(r_te), NONE, np.int64)
    w_tr = np.full(len(r_te), NONE, np.int64)
    if not len(te) or not len(r_te):
        return w_te, w_tr
    sufmin = np.minimum.accumulate(tr[::-1])[::-1]  # non-decreasing
    j = np.searchsorted(sufmin, r_tr, "left") - 1  # the last row received before r_tr (-1: none)
    s = np.searchsorted(te, r_te, "right")  # the first row stamped after r_te
    ok = (j >= 0) & (j >= s)
    w_te[ok], w_tr[ok] = te[j[ok]], tr[j[ok]]
    return w_te, w_tr
