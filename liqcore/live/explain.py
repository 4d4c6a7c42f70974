"""Live versus backtest, explained order by order (``liqcore journal DB --recording DIR --explain``).

The session's recording is replayed through the backtest with the session's parameters, rules and
equity; every entry order is lined up on its decision (:func:`session_trading`,
:func:`one_way_latency`) and the pnl gap decomposed into parts that add up.  The categories, columns
and parts: docs/how-to/preflight.md, "Live versus backtest, explained", and
docs/reference/journal.md, "`--explain`, column by column".

Every reader here takes the journal as an sqlite3 connection or as the report's
:class:`~liqcore.live.journal_rows.JournalRows` (its rows left out, counted, shared with the report).

May import: numpy, ``params``, ``venues.instruments``, the kernels (``_jit``) and this package's ``journal_rows``.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from liqcore.live.journal_rows import journal_rows
from liqcore.params import latency_ways
from liqcore._tables import titled_table

__all__ = ["explain_session", "format_explain", "format_incidents", "incidents", "session_trading", "COMPONENTS"]

COMPONENTS = ("missed_fills", "extra_fills", "price", "fees", "timing", "size", "funding", "open_at_end")
_QUEUE_FIELDS = ("queue_ahead", "queue_position")  # a ledger field a queue-aware fill model may keep
_SYMBOL_REFUSALS = ("no_instrument", "not_traded")  # a live decision refused for its symbol, not its moment


def _live_orders(db) -> dict:
    """(symbol, decision_ns) -> the live entry: client id, side, status, latency, fills, trade."""
    rd = journal_rows(db)
    intents = {k: d for _, k, d in rd.rows("intent") if (d.get("kind") or "entry") == "entry"}
    ack_ts: dict[str, int] = {}
    ack_at: dict[str, int] = {}  # the answer's arrival (local clock) and the venue's processing time of it
    venue_at: dict[str, int] = {}
    for ts, k, d in rd.rows("ack"):
        ack_ts.setdefault(k, ts)
        if d.get("ack_ns"):
            ack_at.setdefault(k, int(d["ack_ns"]))
        if d.get("venue_ns"):
            venue_at.setdefault(k, int(d["venue_ns"]))
    sent_at = {k: int(d["sent_ns"]) for _, k, d in rd.rows("sent") if d.get("sent_ns")}
    status: dict[str, str] = {}
    first_update: dict[str, int] = {}
    reason: dict[str, str] = {}
    for ts, k, d in rd.rows("order_update"):
        if (d.get("kind") or "entry") != "entry" or k not in intents:
            continue
        st = d.get("status") or ""
        if st != "pending":
            first_update.setdefault(k, ts)
        if status.get(k) not in ("filled",):  # a filled entry stays filled (children do not change it)
            if st == "cancelled" and "postonly" in str(d.get("reason") or "").lower().replace("_", "").replace("-", ""):
                st = "rejected"  # a post-only create the venue refused (Bybit: cancelled, EC_PostOnlyWillTakeLiquidity)
            status[k] = st
            if d.get("reason"):
                reason[k] = d["reason"]
    fills = rd.fills()
    entry_fills: dict[str, list] = defaultdict(list)
    other_fills: dict[str, list] = defaultdict(list)  # symbol -> exit fills (take-profit, stop, engine close)
    for f in fills:
        if f.get("kind") == "entry":
            entry_fills[f.get("client_id")].append(f)
        else:
            other_fills[f.get("symbol")].append(f)
    trades: dict[tuple, dict] = {}
    for _, _, d in rd.rows("trade"):
        trades[(d.get("symbol"), int(d.get("signal_ns") or 0))] = d
    out = {}
    for cid, it in intents.items():
        dec = int(it.get("decision_ns") or 0)
        sym = it.get("symbol")
        ef = entry_fills.get(cid, [])
        q = sum(float(f["qty"]) for f in ef)
        row = {"client_id": cid, "symbol": sym, "decision_ns": dec, "side": 1 if it.get("side") == "buy" else -1,
               "status": status.get(cid, "pending"), "reason": reason.get(cid, ""),
               "ack_ns": ack_ts.get(cid, first_update.get(cid)), "sent_ns": sent_at.get(cid),
               "answer_ns": ack_at.get(cid), "venue_ns": venue_at.get(cid), "qty": q, "entry_price": None, "entry_ns": None,
               "entry_fee": sum(float(f.get("fee") or 0.0) for f in ef), "trade": trades.get((sym, dec))}
        if q > 0:
            row["entry_price"] = sum(float(f["price"]) * float(f["qty"]) for f in ef) / q
            row["entry_ns"] = min(int(f.get("ts_ns") or 0) for f in ef)
            row["status"] = "filled"
            t = row["trade"]
            if t is not None:  # the exit fills of this position: the symbol's non-entry fills up to its exit
                lo, hi = row["entry_ns"], int(t.get("exit_ns") or 0)
                xs = [f for f in other_fills.get(sym, []) if lo <= int(f.get("ts_ns") or 0) <= hi]
                xq = sum(float(f["qty"]) for f in xs)
                row["exit_fee"] = sum(float(f.get("fee") or 0.0) for f in xs)
                row["exit_price"] = (sum(float(f["price"]) * float(f["qty"]) for f in xs) / xq) if xq > 0 \
                    else (float(t["exit_price"]) if t.get("exit_price") is not None else None)
        out[(sym, dec)] = row
    return out


def incidents(db) -> dict:
    """The session's bad-day rows (liqcore.live.unknowns, liqcore.live.protect, the engine's ban skips):

    * ``unknown``: each order whose create, cancel or close outcome was unknown (client id, symbol, kind, what,
      the reason) with how it was resolved (``resolved``: the venue's state, queries, seconds; None: never);
    * ``protection``: each report on an open position's exits (symbol, exit, action, reason, seconds unprotected);
    * ``banned``: each signal skipped during a ban of the venue's host (symbol, the ban's line)."""
    rd = journal_rows(db)
    done: dict[tuple, dict] = {}
    for _, k, d in rd.rows("unknown_resolved"):
        done.setdefault((k, d.get("what")), d)
    unknown = []
    for t, k, d in rd.rows("unknown"):
        r = done.get((k, d.get("what")))
        unknown.append({"ts_ns": t, "client_id": k, "symbol": d.get("symbol"), "kind": d.get("kind"),
                        "what": d.get("what"), "reason": d.get("reason") or "",
                        "resolved": None if r is None else {"status": r.get("status"), "queries": r.get("queries"),
                                                            "seconds": r.get("seconds")}})
    protection = [{"ts_ns": t, "symbol": d.get("symbol"), "exit": d.get("exit"), "action": d.get("action"),
                   "reason": d.get("reason") or "", "unprotected_s": d.get("unprotected_s"),
                   "source": d.get("source")} for t, _, d in rd.rows("protection")]
    banned = [{"ts_ns": t, "symbol": d.get("symbol"), "ban": d.get("ban")} for t, _, d in rd.rows("banned")]
    return {"unknown": unknown, "protection": protection, "banned": banned}


def format_incidents(inc: dict, console) -> None:
    """Print :func:`incidents`: the unknown outcomes and how each was resolved, the protection reports, the
    signals skipped during a ban (nothing when the session had none)."""
    from datetime import datetime, timezone

    def when(ns) -> str:
        return datetime.fromtimestamp(int(ns) / 1e9, tz=timezone.utc).strftime("%H:%M:%S.%f")[:-3]

    if inc.get("unknown"):
        t = titled_table(f"{len(inc['unknown'])} orders whose outcome was unknown (asked by client id until the "
                         "venue answered)")
        for col in ("time UTC", "client id", "symbol", "kind", "unknown", "why", "resolved", "queries", "seconds"):
            t.add_column(col, justify="right" if col in ("queries", "seconds") else "left", no_wrap=True)
        for u in inc["unknown"]:
            r = u["resolved"]
            t.add_row(when(u["ts_ns"]), u["client_id"], str(u["symbol"]), str(u["kind"]), str(u["what"]),
                      u["reason"][:60], "still unknown" if r is None else str(r["status"]),
                      "-" if r is None else str(r["queries"]), "-" if r is None else _f(r["seconds"], ".3f"))
        console.print(t)
    if inc.get("protection"):
        t = titled_table(f"{len(inc['protection'])} protection reports (open positions' take-profit / stop-loss)")
        for col in ("time UTC", "symbol", "exit", "action", "unprotected s", "by", "reason"):
            t.add_column(col, justify="right" if col == "unprotected s" else "left", no_wrap=True)
        for p in inc["protection"]:
            t.add_row(when(p["ts_ns"]), str(p["symbol"]), str(p["exit"]), str(p["action"]),
                      _f(p["unprotected_s"], ".1f"), str(p.get("source") or "venue"), p["reason"][:80])
        console.print(t)
    for b in inc.get("banned") or ():
        console.print(f"{when(b['ts_ns'])} signal on {b['symbol']} skipped (banned): {b['ban']}", markup=False,
                      highlight=False)


def _queue_estimates(db) -> dict:
    """client id -> the live queue estimate of the entry (journal table ``queue_estimates``; {} in a journal
    written before it existed)."""
    return journal_rows(db).queue_estimates()


def session_trading(db, session: dict) -> tuple:
    """``(traded, rules)`` of the session, for its backtest to trade what it traded as it did: the symbols it
    traded (the session note's; None: not noted) and their trading rules (symbol ->
    :class:`liqcore.venues.instruments.Instrument`, from the note's ``rules``).  A journal whose note holds no
    rules: None, and the symbols whose cascades the session refused for want of rules (``no_instrument``) are
    left out of the traded ones."""
    from liqcore.venues.instruments import Instrument

    syms = session.get("symbols")
    traded = {str(s).rpartition(":")[2] for s in syms} if syms is not None else None
    noted = session.get("rules")
    if noted is not None:
        rules = {s: Instrument(s, float(r[0]), float(r[1]), float(r[2]),
                               float(r[4]) if len(r) > 4 and r[4] is not None else math.inf, float(r[3]))
                 for s, r in noted.items()}
        return traded, rules
    if traded is not None:
        traded -= {k for _, k, d in journal_rows(db).rows("decision") if d.get("reason") == "no_instrument"}
    return traded, None


def _rule_cell(rule) -> str:
    """The fill rule beside the backtest's queue place: ' (depth)', ' (top of book)', ' (depth cross)', ' (print)'."""
    if not rule:
        return ""
    return f" ({rule[7:-1] if rule.startswith('queue (') else rule})"


def _model_orders(res) -> tuple[dict, dict]:
    """(symbol, decision_ns) -> the backtest's trade (ledger row as a dict), and -> the backtest's latency (ns)."""
    from liqcore._jit.sim import FILL_RULE_NAMES

    reg = res.registry
    names = res.ledger.dtype.names
    qfield = next((f for f in _QUEUE_FIELDS if f in names), None)
    trades = {}
    for r in res.ledger:
        sym = reg.symbol(int(r["symbol_id"]))
        notional = float(r["notional"])
        ep, xp = float(r["entry_price"]), float(r["exit_price"])
        trades[(sym, int(r["signal_ns"]))] = {
            "side": int(r["side"]), "entry_price": ep, "exit_price": xp, "qty": notional / ep if ep > 0 else 0.0,
            "fees": float(r["fees"]) * notional, "funding": float(r["funding"]) * notional, "pnl": float(r["pnl"]),
            "entry_ns": int(r["entry_ns"]), "latency_ns": int(r["arrive_ns"]) - int(r["signal_ns"]),
            # the size displayed ahead of the entry when it joined the queue (-1: not a queue fill)
            "queue": (float(r[qfield]) if qfield and float(r[qfield]) >= 0 else None),
            # the rule that decided the fill (the queue at depth, on top of book, or a print through the limit)
            "rule": FILL_RULE_NAMES.get(int(r["fill_rule"]), "print") if "fill_rule" in names else None}
    latency = {}
    sig = res.signals
    if sig is not None and len(sig):
        own = sig["latency_ns"] if "latency_ns" in sig.dtype.names else np.zeros(len(sig), np.int64)
        for g, lat in zip(sig, own):
            sid = int(g["symbol_id"])
            if int(g["direction"]) == 0:
                continue
            if sid < len(reg):
                latency[(reg.symbol(sid), int(g["ts_ns"]))] = int(lat) if lat > 0 else latency_ways(res.params)[0]
    return trades, latency


def one_way_latency(live: dict, split: float = 0.5) -> dict:
    """Each live entry's way out (decision -> its arrival at the venue) and way back (the venue -> the
    answer seen here), ns: from the venue's timestamp of its answer to the create where the journal has
    one (``venue``), else ``split`` of the create's round trip on the way out (``latency-split``).
    Returns {"orders": {(symbol, decision): (out_ns, back_ns, method)}, "outbound_ms"/"inbound_ms":
    medians, "method": what the medians rest on}."""
    per = {}
    for key, lv in live.items():
        sent, ans, ven = lv.get("sent_ns"), lv.get("answer_ns"), lv.get("venue_ns")
        if sent is None or ans is None or ans < sent:
            continue
        if ven is not None:
            ven = min(max(ven, sent), ans)  # clock error cannot put the venue outside the round trip
            out, back, how = ven - sent, ans - ven, "venue"
        else:
            out = int(round((ans - sent) * split))
            out, back, how = out, ans - sent - out, "split"
        per[key] = (max(sent - key[1], 0) + out, back, how)
    outs = [v[0] for v in per.values()]
    backs = [v[1] for v in per.values()]
    hows = {v[2] for v in per.values()}
    method = ("the venue's timestamp of its answer to each create" if hows == {"venue"} else
              f"latency-split {split * 100:g} % of each create's round trip" if hows == {"split"} else
              "the venue's timestamps where the journal has them, latency-split "
              f"{split * 100:g} % of the round trip elsewhere" if hows else "none measured")
    return {"orders": per, "n": len(per), "method": method,
            "outbound_ms": float(np.median(outs)) / 1e6 if outs else None,
            "inbound_ms": float(np.median(backs)) / 1e6 if backs else None}


def _live_pnl(lv: dict) -> dict | None:
    """The live trade in USD from the venue's fills (None when the position was still open at the end)."""
    t = lv["trade"]
    if t is None or not lv["qty"] > 0 or lv.get("exit_price") is None:  # (no exit fill and no exit price noted)
        return None
    s, q, e, x = lv["side"], lv["qty"], lv["entry_price"], lv["exit_price"]
    fees = lv["entry_fee"] + lv.get("exit_fee", 0.0)
    funding = float(t.get("funding") or 0.0) * e * q
    return {"gross": s * (x - e) * q, "fees": fees, "funding": funding, "pnl": s * (x - e) * q - fees - funding}


def _ms(ns) -> float | None:
    return None if ns is None else ns / 1e6


def live_one_way(db, session: dict) -> dict:
    """:func:`one_way_latency` of the journal ``db`` with the session's ``latency-split``."""
    split = (session.get("params") or {}).get("latency_split")
    # 0 (all of the round trip on the way back) is a split like any other, as the backtest takes it
    return one_way_latency(_live_orders(db), 0.5 if split is None else float(split))


def explain_session(db, session: dict, res, one_way: dict | None = None) -> dict:
    """The order-by-order comparison and the decomposed pnl gap (see the module docstring) of the journal
    ``db`` (an open sqlite3 connection, or the report's rows) against ``res``, the backtest of the session's
    recording (``one_way``: :func:`live_one_way`, when the backtest ran on its inferred way out).  ``left_out``: the
    journal's rows that could not be read, left out of it."""
    rd = journal_rows(db)
    live = _live_orders(rd)
    # the decisions that sent nothing, and why (a symbol without trading rules, busy, cooldown, ...): a backtest
    # fill there is lined up with the live refusal's reason
    refused = {(k, int(t)): str(d.get("reason") or "") for t, k, d in rd.rows("decision") if d.get("action") != "order"}
    ow = one_way if one_way is not None else live_one_way(rd, session)
    qest = _queue_estimates(rd)
    model, model_lat = _model_orders(res)
    fill_model = str(getattr(res.params, "fill", "through"))
    paper_lat = None
    if session.get("mode") == "paper":  # (paper orders arrive order-latency after the decision, simulated)
        paper_lat = latency_ways(res.params)[0]  # the way out of the session's order-latency (its round trip)
    comp = dict.fromkeys(COMPONENTS, 0.0)
    rows = []
    counts = dict.fromkeys(("both", "live_only", "backtest_only", "neither", "not_traded"), 0)
    live_total = model_total = 0.0
    # a cascade on a symbol the session did not trade (no trading rules, left out): refused live and, with the
    # same refusals, in the backtest: lined up as such
    off = {k for k, why in refused.items() if why in _SYMBOL_REFUSALS}
    for key in sorted(set(live) | set(model) | off, key=lambda k: (k[1], k[0])):
        lv, md = live.get(key), model.get(key)
        lf = lv is not None and lv["qty"] > 0
        mf = md is not None
        cat = "both" if lf and mf else ("live_only" if lf else ("backtest_only" if mf else (
            "not_traded" if lv is None and key in off and key not in model_lat else "neither")))
        counts[cat] += 1
        lp = _live_pnl(lv) if lf else None
        row = {"symbol": key[0], "decision_ns": key[1], "category": cat,
               "side": "-" if (lv or md) is None else ("long" if (lv or md)["side"] > 0 else "short"),
               "live_status": lv["status"] if lv is not None else "no order",
               "live_reason": lv["reason"] if lv is not None else refused.get(key, ""),
               "backtest_status": "filled" if mf else ("not filled" if key in model_lat else "no order"),
               "live_price": lv["entry_price"] if lf else None, "backtest_price": md["entry_price"] if mf else None,
               "price_diff_bps": None, "live_latency_ms": None, "backtest_latency_ms": None, "latency_diff_ms": None,
               "live_fill_delay_ms": _ms(lv["entry_ns"] - key[1]) if lf else None,
               "backtest_fill_delay_ms": _ms(md["entry_ns"] - key[1]) if mf else None,
               "queue": (md["queue"] if mf and md["queue"] is not None else f"n/a (fill model: {fill_model})"),
               "backtest_fill_rule": md["rule"] if mf else None,
               "live_pnl": lp["pnl"] if lp is not None else None, "backtest_pnl": md["pnl"] if mf else None,
               "gap": 0.0}
        row["live_queue"] = _live_queue(qest.get(lv["client_id"]) if lv is not None else None, lv, key[1])
        if lv is not None and paper_lat is not None:  # a paper session: its venue is the fill model's latency
            row["live_latency_ms"] = _ms(paper_lat)
        elif lv is not None and key in ow["orders"]:  # one way: decision -> the order's arrival at the venue
            row["live_latency_ms"] = _ms(ow["orders"][key][0])
            row["live_inbound_ms"] = _ms(ow["orders"][key][1])
        blat = md["latency_ns"] if mf else model_lat.get(key)
        if blat is not None:
            row["backtest_latency_ms"] = _ms(blat)
        if row["live_latency_ms"] is not None and row["backtest_latency_ms"] is not None:
            row["latency_diff_ms"] = row["live_latency_ms"] - row["backtest_latency_ms"]
        parts = dict.fromkeys(COMPONENTS, 0.0)
        if cat == "both":
            s = md["side"]
            row["price_diff_bps"] = s * (lv["entry_price"] - md["entry_price"]) / md["entry_price"] * 1e4
            if lp is None:
                parts["open_at_end"] = -md["pnl"]
            else:
                q = lv["qty"]
                parts["price"] = s * (md["entry_price"] - lv["entry_price"]) * q
                parts["timing"] = s * (lv["exit_price"] - md["exit_price"]) * q
                parts["size"] = s * (md["exit_price"] - md["entry_price"]) * (q - md["qty"])
                parts["fees"] = -(lp["fees"] - md["fees"])
                parts["funding"] = -(lp["funding"] - md["funding"])
        elif cat == "live_only":
            parts["extra_fills"] = lp["pnl"] if lp is not None else 0.0
        elif cat == "backtest_only":
            parts["missed_fills"] = -md["pnl"]
        for k, v in parts.items():
            comp[k] += v
        row["gap"] = sum(parts.values())
        live_total += lp["pnl"] if lp is not None else 0.0
        model_total += md["pnl"] if mf else 0.0
        rows.append(row)
    sent = [r for r in rows if r["live_status"] != "no order"]
    return {
        "fill_model": fill_model,
        "one_way": {"outbound_ms": ow["outbound_ms"], "inbound_ms": ow["inbound_ms"], "orders": ow["n"],
                    "method": ow["method"], "backtest_used": one_way is not None and ow["outbound_ms"] is not None,
                    "live_latency": "decision -> the order's arrival at the venue (one way, outbound estimate)"},
        "order_latency": res.latency.get("order") if getattr(res, "latency", None) else None,
        "feed_latency": (res.latency.get("feed") or res.latency.get("feed_rows_read")) if getattr(res, "latency", None) else None,
        "orders": rows,
        "counts": {**counts, "live_rejected": sum(1 for r in sent if r["live_status"] == "rejected"),
                   "live_sent": len(sent), "backtest_fills": len(model)},
        "fill_rate": {"live": (sum(1 for r in sent if r["live_price"] is not None) / len(sent)) if sent else None,
                      "backtest": _model_fill_rate(res)},
        "pnl": {"live": live_total, "backtest": model_total, "gap": live_total - model_total,
                "unit": "USD (the quote currency)"},
        "components": comp,
        "mean_price_diff_bps": _mean([r["price_diff_bps"] for r in rows if r["price_diff_bps"] is not None]),
        "mean_latency_diff_ms": _mean([r["latency_diff_ms"] for r in rows if r["latency_diff_ms"] is not None]),
        "queue_estimate": _queue_summary([r["live_queue"] for r in rows if r.get("live_queue") is not None]),
        "incidents": incidents(rd),
        # the journal's rows that could not be read, left out (with the report's rows: all it left out so far)
        "left_out": rd.left_out,
    }


def _queue_summary(qs: list) -> dict:
    """Counts over the entries with a live queue estimate: rested, estimated (the size ahead was known when
    they rested: a top of book with their price the best), filled by the queue rule,
    filled by the venue, and the two agreeing (both filled or both not) among the estimated ones."""
    est = [q for q in qs if q["ahead_at_rest"] is not None]
    return {"rested": len(qs), "estimated": len(est),
            "rule_filled": sum(1 for q in est if q["model_fill_delay_ms"] is not None),
            "venue_filled": sum(1 for q in qs if q["venue_filled"]), "agree": sum(1 for q in est if q["agrees"])}


def _live_queue(q: dict | None, lv: dict | None, decision_ns: int) -> dict | None:
    """The live queue estimate of an entry set against what happened: size ahead and chance of a fill when
    it rested, when the queue rule had it filled (ms after the decision; None: never), and whether the
    venue filled it."""
    if q is None:
        return None
    mf = q.get("model_fill_ns")
    estimated = q.get("ahead_at_rest") is not None  # the size ahead unknown when it rested: no estimate
    return {"ahead_at_rest": q.get("ahead_at_rest"), "fill_chance_at_rest": q.get("fill_chance_at_rest"),
            "ahead_last": q.get("ahead_last"), "outcome": q.get("outcome"),
            "book": q.get("book") or "top of book",  # (the book the live estimate read: run --book)
            "model_fill_delay_ms": _ms(int(mf) - decision_ns) if mf is not None else None,
            "venue_filled": bool(lv is not None and lv["qty"] > 0),
            "agrees": ((mf is not None) == bool(lv is not None and lv["qty"] > 0)) if estimated else None}


def _model_fill_rate(res) -> float | None:
    """The backtest's entries filled / entries placed (its counts)."""
    from liqcore._jit import sim

    orders = int(res.counts[:, sim.C_ORDERS].sum())
    return int(res.counts[:, sim.C_FILLS].sum()) / orders if orders else None


def _mean(xs):
    return (sum(xs) / len(xs)) if xs else None


def _f(x, spec=".2f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _queue_cell(q: dict | None) -> str:
    """'ahead at rest (base units), fill chance -> queue rule filled at +ms / not filled; venue filled /
    not filled', or, when the size ahead was unknown as it rested (no top of book seen with its price the
    best), 'ahead unknown; venue ...': the queue rule had nothing to work down."""
    if q is None:
        return "-"
    venue = "venue filled" if q["venue_filled"] else "venue not filled"
    if q["ahead_at_rest"] is None:
        return f"ahead unknown; {venue}"
    ch = "-" if q["fill_chance_at_rest"] is None else f"{100 * q['fill_chance_at_rest']:.0f}%"
    got = "not filled" if q["model_fill_delay_ms"] is None else f"filled +{q['model_fill_delay_ms']:.0f} ms"
    book = " (depth)" if q.get("book") == "depth" else ""
    return f"{format(q['ahead_at_rest'], '.4g')} ahead{book}, {ch} -> rule {got}; {venue}"


def format_explain(ex: dict, console=None) -> None:
    """Print the explanation as rich tables (orders, then the decomposed gap)."""
    from datetime import datetime, timezone

    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console()
        console = Console(width=max(console.width, 300))  # one order per line, in a terminal or a pipe
    con = console
    c = ex["counts"]
    con.print(f"live vs backtest, order by order (fill model: {ex['fill_model']}; order latency: {ex['order_latency']}; "
              f"feed latency: {ex['feed_latency']})", markup=False, highlight=False)
    ow = ex.get("one_way") or {}
    if ow.get("orders"):
        con.print(f"one-way order latency inferred over {ow['orders']} live entries from {ow['method']}: outbound "
                  f"(decision -> arrival at the venue) median {ow['outbound_ms']:.1f} ms, inbound (venue -> answer seen "
                  f"here) median {ow['inbound_ms']:.1f} ms; "
                  + ("the backtest's orders arrive the inferred outbound median after their decision, and its "
                     "bot learns of a fill the inbound median after it; "
                     if ow.get("backtest_used") else "")
                  + "'live lat ms' is the outbound estimate", markup=False, highlight=False)
    days = sorted({datetime.fromtimestamp(r["decision_ns"] / 1e9, tz=timezone.utc).strftime("%Y-%m-%d")
                   for r in ex["orders"]})
    t = titled_table(f"{len(ex['orders'])} orders ({', '.join(days) or 'none'}, UTC): {c['both']} filled in both, "
                    f"{c['live_only']} live only, {c['backtest_only']} backtest only, {c['neither']} neither"
                    + (f"; {c['not_traded']} cascades on symbols not traded (no order on either side)"
                       if c.get("not_traded") else ""))
    for col in ("decision", "symbol", "side", "category", "live", "backtest", "live price", "bt price", "diff bps",
                "live lat ms", "bt lat ms", "lat diff ms", "bt queue ahead", "live queue est", "live pnl USD",
                "bt pnl USD", "gap USD"):
        right = "price" in col or " ms" in col or "USD" in col or "bps" in col
        t.add_column(col, justify="right" if right else "left", no_wrap=True)
    for r in ex["orders"]:
        when = datetime.fromtimestamp(r["decision_ns"] / 1e9, tz=timezone.utc).strftime("%H:%M:%S.%f")[:-3]
        live = r["live_status"] + (f" ({r['live_reason'][:32]})" if r["live_reason"] and r["live_status"] != "filled" else "")
        q = r["queue"]
        t.add_row(when, r["symbol"], r["side"], r["category"].replace("_", " "), live, r["backtest_status"],
                  _f(r["live_price"], ".6g"), _f(r["backtest_price"], ".6g"), _f(r["price_diff_bps"]),
                  _f(r["live_latency_ms"], ".1f"), _f(r["backtest_latency_ms"], ".1f"), _f(r["latency_diff_ms"], ".1f"),
                  (q if isinstance(q, str) else _f(q, ".4g")) + _rule_cell(r.get("backtest_fill_rule")),
                  _queue_cell(r.get("live_queue")), _f(r["live_pnl"]),
                  _f(r["backtest_pnl"]), _f(r["gap"]))
    con.print(t)
    p = ex["pnl"]
    g = titled_table(f"pnl gap, live - backtest: {p['gap']:+.2f} USD (live {p['live']:.2f} USD, backtest "
                    f"{p['backtest']:.2f} USD; sum over the orders)")
    g.add_column("part", no_wrap=True)
    g.add_column("USD", justify="right", no_wrap=True)
    g.add_column("what", no_wrap=True)
    what = {"missed_fills": "backtest-only fills (their backtest pnl, lost)",
            "extra_fills": "live-only fills (their live pnl)",
            "price": "entry price of orders filled in both",
            "fees": "fees of orders filled in both (venue charged vs model)",
            "timing": "exit price of orders filled in both (exits at other times or levels)",
            "size": "position size of orders filled in both",
            "funding": "funding of orders filled in both",
            "open_at_end": "live positions still open at the end (backtest pnl)"}
    for k, v in ex["components"].items():
        g.add_row(k.replace("_", " "), f"{v:+.2f}", what[k])
    g.add_row("total", f"{sum(ex['components'].values()):+.2f}", "sums to the gap")
    con.print(g)
    fr = ex["fill_rate"]
    con.print(f"fill rate: live {_f(fr['live'] and 100 * fr['live'], '.1f')}% of {c['live_sent']} entries sent, "
              f"backtest {_f(fr['backtest'] and 100 * fr['backtest'], '.1f')}% of its entries; "
              f"{c['live_rejected']} live entries rejected by the venue; mean entry price difference "
              f"{_f(ex['mean_price_diff_bps'])} bps, mean latency difference {_f(ex['mean_latency_diff_ms'], '.1f')} ms",
              markup=False, highlight=False)
    qs = ex.get("queue_estimate") or {}
    if qs.get("rested"):
        est = qs.get("estimated", qs["rested"])
        nobook = qs["rested"] - est
        parts = [f"live queue estimate: {qs['rested']} entries rested, the venue filled {qs['venue_filled']}"]
        if est:
            parts.append(f"{est} with the size ahead known: the queue rule on the live book filled "
                         f"{qs['rule_filled']}, they agree with the venue on {qs['agree']} of {est}")
        if nobook:
            parts.append(f"{nobook} with the size ahead unknown when they rested (no top of book seen with their "
                         "price the best)")
        con.print("; ".join(parts), markup=False, highlight=False)
    if ex.get("incidents"):
        format_incidents(ex["incidents"], con)
