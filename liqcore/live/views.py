"""What the engine shows: the dashboard's snapshot, the go-live checklist and the metrics collector.

Each reads the engine's parts through their interfaces (:class:`OrderManager`'s books and counters,
:class:`Health`'s alarms and halts, :class:`DecisionLog`'s decisions, :class:`VenueClock`'s offset); none
keeps state of its own but :func:`new_checks`'s tallies, which the order manager and the decision log fill.
:func:`snapshot` is where the dashboard's state is assembled.
"""
from __future__ import annotations

import collections
import math
import time

from liqcore.venues.registry import spec_or_none

__all__ = ["new_checks", "checklist", "snapshot", "collect"]


def new_checks() -> dict:
    """The go-live checklist's tallies, live: confirmed cascades per symbol, entries sent and filled, trades
    and wins, reaction times (ms, the last 1000), fees charged and filled notional by maker/taker."""
    return {"cascades": {}, "entries": 0, "filled": 0, "trades": 0, "wins": 0,
            "reaction_ms": collections.deque(maxlen=1000),
            "fees": {"maker": [0.0, 0.0, 0], "taker": [0.0, 0.0, 0]}, "since_ns": time.time_ns()}


def checklist(eng) -> dict:
    """The go-live checklist of this session so far (see :meth:`Engine.checklist`)."""
    c = eng.checks
    om = eng.order_manager
    rc = eng.replay_clock
    now = (rc.now_ns if rc is not None and rc.now_ns else time.time_ns())
    first = c["since_ns"] if rc is None else (eng.core._first_ns or now)
    days = max(1.0, (now - first) / 86_400e9)
    rx = sorted(c["reaction_ms"])

    def q(p):
        return rx[min(len(rx) - 1, int(round(p * (len(rx) - 1))))] if rx else None

    fees = {}
    for side, (fee, notional, n) in c["fees"].items():
        fees[side] = {"fills": n, "bps": (fee / notional * 1e4) if notional else None,
                      "model_bps": eng.params.maker_fee_bps if side == "maker" else eng.params.taker_fee_bps}
    done = c["entries"] - sum(1 for b in om.books.values()
                              if b.entry is not None and not b.position_qty and b.entry_status in om.WORKING_STATUSES)
    return {"cascades_per_day": {s: n / days for s, n in sorted(c["cascades"].items())},
            "fill_rate": (c["filled"] / done) if done > 0 else None, "entries": c["entries"], "filled": c["filled"],
            "win_rate": (c["wins"] / c["trades"]) if c["trades"] else None, "trades": c["trades"],
            "reaction_ms": {"p50": q(0.5), "p99": q(0.99), "n": len(rx)}, "fees": fees}


def _symbol_row(eng, v: str, s: str) -> dict:
    """One traded symbol's row of the snapshot."""
    sid, ci = eng._by_symbol[s]
    det = eng.detector
    p = eng.core.position(ci)
    book = eng.order_manager.books[s]
    thr = det.threshold(sid) if hasattr(det, "threshold") else math.nan
    active = bool(det.active(sid)) if hasattr(det, "active") else False
    order = None
    if book.entry is not None and not book.position_qty:
        order = {"side": book.entry.side, "price": book.entry.price, "status": book.entry_status,
                 "queue": eng.queue_est.row(s, eng._last_event_wall or time.time_ns())}  # the live queue estimate
    pos = None
    if book.position_qty:
        pos = {"side": "long" if book.position_qty > 0 else "short", "qty": abs(book.position_qty),
               "entry_price": book.entry_price}
    seen = eng.liq_seen.get(sid, 0)
    need = int(getattr(det, "min_history", eng.params.min_history))
    warmup = None if thr == thr else {"seen": min(seen, need), "need": need}  # until a threshold exists
    return {"venue": v, "symbol": s, "last_price": p.get("last_price"), "threshold": thr,
            "warmup": warmup, "active": active, "last_cascade": book.last_cascade, "order": order, "position": pos,
            "pnl": book.realized, "trades": book.trades, "status": p["status"]}


def decision_row(d) -> dict:
    """A decision as the dashboards show it (``detail``: the refusal's reason, or the order placed)."""
    detail = d.reason if d.action != "order" else f"{d.side} {d.qty:g} @ {d.price:g} tp {d.take_profit:g} sl {d.stop_loss:g}"
    return {"ts_ns": d.ts_ns, "symbol": d.symbol, "dominant": d.dominant, "action": d.action, "detail": detail,
            "notes": d.notes}


def snapshot(eng, symbols=None) -> dict:
    """State for dashboards (see :meth:`Engine.snapshot`): assembled here.  ``symbols``: the traded symbols whose
    rows are made (default every one; a page of a whole market shows a few of hundreds)."""
    om, health, dlog = eng.order_manager, eng.health, eng.decision_log
    rows = [_symbol_row(eng, v, s) for v, s in eng.traded if symbols is None or s in symbols]
    recent = [decision_row(d) for d in dlog.decisions[-8:]]
    rs = eng.risk.snapshot(dlog.blocked)
    errs = health.error_counts()
    return {"mode": eng.mode, "equity": eng.core.equity, "day_pnl": rs["day_pnl"], "week_pnl": rs["week_pnl"],
            "daily_limit": rs["daily_limit"], "weekly_limit": rs["weekly_limit"], "killed": rs["killed"],
            "halted": health.halted, "errors": sum(errs.values()), "errors_by_source": errs,
            "cascades": dlog.cascades, "orders": om.orders, "fills": om.fills,
            "fills_by_kind": dict(om.fill_kinds), "blocked": rs["blocked"], "symbols": rows,
            "recent": recent, "rejects": dict(eng.rejects), "checklist": checklist(eng),
            "alarms": health.all_alarms(), "venue_clock_offset_ms": eng.venue_clock_guard.offset_ns / 1e6,
            **eng.panels.panels(eng)}  # the account overview, position monitor and latest signals


def collect(eng, m) -> None:
    """The engine's metrics collector (``Metrics.collectors``): frames, events, rejects, errors, alarms."""
    health = eng.health
    for v, n in eng.frames.items():
        m.set_counter("liqcore_frames_total", n, venue=v)
    m.set_counter("liqcore_events_total", eng.events)
    for v, d in eng._decoders.items():
        if v not in eng.venues and spec_or_none(v) is None:
            continue
        for k, n in (getattr(d, "counters", None) or {}).items():
            if k not in ("frames", "accepted_frames", "events"):
                m.set_counter("liqcore_rejects_total", n, reason=f"decoder_{k}", venue=v)
    for k, n in eng.rejects.items():
        m.set_counter("liqcore_rejects_total", n, venue="all",
                      reason=k if k == "future_time" or k.startswith("implausible_") else f"detector_{k}")
    for src, n in health.error_counts().items():
        m.set_counter("liqcore_errors_total", n, source=src)
    m.set("liqcore_clock_failures", health.clock_failures)
    m.set("liqcore_venue_clock_offset_seconds", eng.venue_clock_guard.offset_ns / 1e9)
    m.set_counter("liqcore_journal_errors_total", health.journal_errors)
    alarms = health.all_alarms()
    for name in health.alarm_names(alarms):
        m.set("liqcore_alarm", 1.0 if name in alarms else 0.0, alarm=name)
    m.set("liqcore_entries_halted", 1.0 if health.halted else 0.0)
    m.set_counter("liqcore_halts_total", health.halts)
    for k, n in eng.decision_log.blocked.items():
        m.set_counter("liqcore_blocked_total", n, reason=k)
