"""A finished session's web view, from its journal (``liqcore journal DB --web [HOST:]PORT``).

:func:`journal_view` builds, once, the same dict :class:`liqcore.live.web.LiveView` pushes for a running
session (``source`` is ``"journal"``): the account (the last equity row, the closed trades' P&L, the
positions the journal still holds open), the signals (the last decisions), the cascades (the confirmed
cascade rows, with their threshold and dominant side and the decision taken), the entries still working
at the end (the ``orders`` table), the equity curve (the ``equity`` rows), the fills (the ``fills`` table),
a price line through the decisions' reference prices and the fills' prices (:data:`PRICE_NOTE` says so),
and the go-live targets of :func:`liqcore.live.report.journal_report`.
The journal is opened read-only and read as the report reads it (:mod:`liqcore.live.journal_rows`): a row that
cannot be read is left out of the view and counted (``left_out``; the page's alarm line says how many).
"""
from __future__ import annotations

from liqcore.live.journal_rows import JournalRows, left_out_text, read_journal
from liqcore.live.report import TARGETS, report_rows

__all__ = ["journal_view"]

_WORKING = ("pending", "new", "partially_filled")
#: what the price line of a journal's view joins (a journal keeps no trade prints)
PRICE_NOTE = "from the journal (it keeps no trades): the line joins each decision's reference price and each fill's price"


def _stops(session: dict) -> dict:
    """The session's exits and loss limits as the live view gives them (fractions; the hold timeout in s), from
    the parameters its start note keeps (a value it does not hold: its default)."""
    from liqcore.config import Params

    try:
        par = Params.from_mapping({k: v for k, v in (session.get("params") or {}).items() if hasattr(Params, k)})
    except (TypeError, ValueError):
        par = Params()
    weekly = getattr(par, "weekly_loss", None)
    return {"stop_loss": float(par.stop_loss), "take_profit": float(par.take_profit), "trail": float(par.trail),
            "hold_timeout_s": int(par.hold_timeout_ns) / 1e9, "daily_loss": float(par.daily_loss),
            "weekly_loss": None if weekly is None else float(weekly)}


def journal_view(path) -> dict:
    """The web view of the session in the journal at ``path`` (ValueError, one line, when it is not a journal).
    ``left_out``: the journal's rows that could not be read, left out of the view and of its report's figures."""
    with read_journal(path) as rd:
        view = _view(rd, report_rows(rd))
    view["left_out"] = left = rd.left_out
    if left:  # (the page shows the alarms in its header)
        view["snapshot"]["alarms"]["journal"] = f"{left_out_text(left)} left out; the view is of the other rows"
    return view


def _view(rd: JournalRows, rep: dict) -> dict:
    session = rep.get("session") or {}
    symbols = [str(s).split(":")[-1] for s in session.get("symbols") or []]
    decisions = [d for _, _, d in rd.rows("decision")]
    by_cascade = {(d.get("symbol"), d.get("cascade_id")): d for d in decisions}
    cascades: dict[str, list] = {}
    last_cascade: dict[str, str] = {}
    span = []
    for ts, _, c in rd.rows("cascade"):
        span.append(ts)
        if c.get("record") != "confirmed":
            continue
        sym = c.get("symbol", "?")
        d = by_cascade.get((sym, c.get("cascade_id"))) or {}
        cascades.setdefault(sym, []).append({"ts_ns": ts, "dominant": c.get("dominant"), "threshold": c.get("threshold"),
                                             "action": d.get("action", "-"), "detail": d.get("reason") or ""})
        last_cascade[sym] = f"{c.get('dominant')} {c.get('n_large')} large"
    equity = [[ts / 1e9, float(d["equity"])] for ts, _, d in rd.rows("equity") if d.get("equity") is not None]
    trades = [d for _, _, d in rd.rows("trade")]
    fills, prices = [], {}
    for ts, sym, f in rd.fill_rows():
        price = float(f["price"])
        fills.append({"t": ts / 1e9, "symbol": sym, "price": price, "side": f.get("side"), "kind": f.get("kind") or ""})
        prices.setdefault(sym, []).append([ts / 1e9, price])
    for d in decisions:  # the market's price at each decision (its reference price) joins the fills' prices
        ref, t = d.get("ref_price"), int(d.get("ts_ns") or 0)
        if isinstance(ref, (int, float)) and ref > 0 and t > 0 and d.get("symbol"):
            prices.setdefault(d["symbol"], []).append([t / 1e9, float(ref)])
    for pts in prices.values():
        pts.sort(key=lambda p: p[0])
    orders = rd.orders()
    open_pos = rd.positions()
    rows = []
    for sym in sorted(set(symbols) | set(cascades) | {t.get("symbol") for t in trades if t.get("symbol")}):
        mine = [t for t in trades if t.get("symbol") == sym]
        o = next((o for o in orders if o["symbol"] == sym and o["kind"] == "entry" and o["status"] in _WORKING), None)
        rows.append({"symbol": sym, "last_price": (prices.get(sym) or [[0, None]])[-1][1], "threshold":
                     (cascades.get(sym) or [{}])[-1].get("threshold"), "warmup": None, "active": False,
                     "last_cascade": last_cascade.get(sym, ""), "trades": len(mine),
                     "pnl": sum(float(t.get("pnl") or 0) for t in mine), "status": "",
                     "order": None if o is None else {"side": o["side"], "price": o["price"], "status": o["status"],
                                                      "queue": None}})
    positions = []
    for sym, d in open_pos.items():
        entry = d.get("entry_price") or d.get("price")
        positions.append({"symbol": sym, "side": d.get("side", "?"), "qty": d.get("qty"), "entry_price": entry,
                          "current_price": None, "pnl_pct": None, "max_profit_pct": None, "drawdown_pct": None,
                          "stop_price": d.get("stop_loss"), "take_profit_price": d.get("take_profit"), "held_s": None})
    realized = float(sum(float(t.get("pnl") or 0) for t in trades))
    balance = equity[-1][1] if equity else None
    signals = [{"ts_ns": int(d.get("ts_ns") or 0), "symbol": d.get("symbol"),
                "liquidation": f"{d.get('dominant')} liquidations, cascade {d.get('cascade_id')}",
                "judge": d.get("notes") or "", "decision": d.get("reason") if d.get("action") != "order" else
                f"{d.get('side')} {d.get('qty')} @ {d.get('price')}"} for d in decisions[-8:]]
    end = max(span + [int(e[0] * 1e9) for e in equity] + [0])
    entries = sum(1 for o in orders if o["kind"] == "entry")  # (the orders a run counts: its brackets are exits)
    snap = {"mode": session.get("mode", "paper"), "equity": balance, "day_pnl": None, "week_pnl": None,
            "cascades": rep["cascades"]["total"], "orders": entries, "fills": rep.get("fills", len(fills)),
            "symbols": rows, "positions": positions, "signals": signals, "feeds": [], "alarms": {},
            "killed": False, "halted": "", "errors": 0, "venue_clock_offset_ms": None,
            "account": {"balance": balance, "open_positions": len(positions), "realized_pnl": realized,
                        "unrealized_pnl": None, "cumulative_pnl": realized, "stops": _stops(session)},
            "checklist": {}}
    return {"source": "journal", "now_ns": end, "snapshot": snap, "control": False, "targets": TARGETS,
            "report_targets": rep.get("targets") or [],
            "history": {"equity": equity, "prices": prices, "cascades": cascades, "fills": fills,
                        "price_note": PRICE_NOTE}}
