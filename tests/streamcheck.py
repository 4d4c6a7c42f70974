"""Helpers of the streaming tests: feed a recording event by event through a strategy's stream
(with the cascade detector's records per event when the stream uses them), compare with the batch
form, and paper trade the stream through StrategyCore."""
from __future__ import annotations

import numpy as np

from liqcore.strategies import NEVER, SIGNAL_DTYPE, SKIP_EXIT
from liqcore.types import Kind


def feed(stream, ev, params, *, paper=None, tail_clock=False):
    """Every event of ``ev`` through ``stream.on_event`` (detector records per event when the
    stream uses them); with ``paper`` (a StrategyCore) each event and the streamed signals go
    through it in the contract's order.  With ``tail_clock`` the stream's clock is moved to the last
    receive time at the end.  Returns (all streamed rows in processing order, the number of rows the
    final clock call gave)."""
    det = None
    if stream.uses_detector:
        from liqcore._libs.detection import CascadeDetector

        det = CascadeDetector.from_params(params)
    out = []
    trade, funding = int(Kind.TRADE), int(Kind.FUNDING)
    for e in ev:
        recs = ()
        if det is not None:
            try:
                k = det.update(int(e["ts_event"]), int(e["ts_recv"]), int(e["symbol_id"]), int(e["venue"]),
                               int(e["kind"]), int(e["side"]), float(e["price"]), float(e["qty"]))
            except ValueError:  # bad input: counted and dropped by the engine, as the batch run skips it
                k = 0
            if k:
                recs = det.last_records()
        before, after = stream.on_event(e, recs)
        if len(before):
            out.append(before)
            if paper is not None:
                for g in before:
                    paper.on_signal(g)
        if paper is not None:
            k = int(e["kind"])
            if k == trade and 0.0 < float(e["price"]) < np.inf:
                paper.on_trade(int(e["symbol_id"]), int(e["ts_recv"]), float(e["price"]))
            elif k == funding and np.isfinite(float(e["price"])):
                paper.on_funding(int(e["symbol_id"]), int(e["ts_recv"]), float(e["price"]))
        if len(after):
            out.append(after)
            if paper is not None:
                for g in after:
                    paper.on_signal(g)
    n_tail = 0
    if tail_clock and len(ev):
        last = stream.on_clock(int(ev["ts_recv"][-1]))
        n_tail = len(last)
        if len(last):
            out.append(last)
            if paper is not None:
                for g in last:
                    paper.on_signal(g)
    if paper is not None and len(ev):
        paper.on_clock(int(ev["ts_recv"][-1]))
    return (np.concatenate(out) if out else np.zeros(0, SIGNAL_DTYPE)), n_tail


def canonical(sig):
    key = np.lexsort((sig["tag"], sig["direction"], sig["symbol_id"], sig["ev_idx"], sig["ts_ns"]))
    return sig[key]


def split(streamed):
    notice = (streamed["direction"] == 0) & (streamed["skip_code"] == SKIP_EXIT)
    return streamed[~notice], streamed[notice]


def compare(batch, streamed, t_end, inclusive=True):
    """The streamed rows equal the batch rows: entries field by field with exit_ns = NEVER and
    exit_code 0, and one exit notice per batch signal exit (ts_ns = the batch exit_ns).  Decisions
    and exits are compared up to ``t_end`` (the recording's last receive time): every one with
    ``inclusive`` (the stream's clock was moved to ``t_end`` at the end), else those before it (a
    decision exactly at the last receive time is revealed only by a later event or the clock)."""
    def upto(t):
        return (t <= t_end) if inclusive else (t < t_end)

    entries, notices = split(streamed)
    entries, notices = entries[upto(entries["ts_ns"])], notices[upto(notices["ts_ns"])]
    batch = batch[upto(batch["ts_ns"])]
    want = batch.copy()
    want["exit_ns"] = NEVER
    want["exit_code"] = 0
    a, b = canonical(want), canonical(entries)
    assert len(a) == len(b), (len(a), len(b))
    for f in SIGNAL_DTYPE.names:
        x, y = a[f], b[f]
        same = (x == y) | ((x != x) & (y != y)) if x.dtype.kind == "f" else (x == y)
        assert same.all(), (f, np.flatnonzero(~same)[:5], a[~same][:3], b[~same][:3])
    has = (batch["exit_ns"] != NEVER) & (batch["direction"] != 0) & upto(batch["exit_ns"])
    want_n = sorted((int(r["symbol_id"]), int(r["tag"]), int(r["exit_ns"]), int(r["exit_code"])) for r in batch[has])
    got_n = sorted((int(r["symbol_id"]), int(r["tag"]), int(r["ts_ns"]), int(r["exit_code"])) for r in notices)
    assert got_n == want_n, (len(got_n), len(want_n), [x for x in got_n if x not in want_n][:5],
                             [x for x in want_n if x not in got_n][:5])
    # processing order: streamed rows never go back in (ts_ns, ev_idx)
    if len(streamed) > 1:
        t, i = streamed["ts_ns"], streamed["ev_idx"]
        back = (t[1:] < t[:-1]) | ((t[1:] == t[:-1]) & (i[1:] < i[:-1]))
        assert not back.any(), np.flatnonzero(back)[:5]
    return len(entries), len(notices)
