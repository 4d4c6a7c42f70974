"""The go-live checklist as a report, from a session's journal (``liqcore journal PATH``, the dashboard).

The details: docs/maintainers/live-gateways.md, "The go-live checklist as a report (liqcore.live.report)".

May import: ``numpy``, ``backtest.run``, ``execution.arrays``, ``config``, ``types`` and this package's ``explain``,
``journal`` (its constants) and ``journal_rows`` (the rows, read as every reader of the journal reads them).
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from liqcore.execution.arrays import fill_usd, inverse_contract_usd
from liqcore.live.journal import NEVER_SENT
from liqcore.live.journal_rows import SESSION_NOTE, JournalRows, left_out_text, read_journal, utc_day

__all__ = ["journal_report", "report_rows", "format_report", "SESSION_NOTE", "TARGETS"]
_NS_DAY = 86_400_000_000_000

#: the guide's go-live targets and the sample each verdict waits for ("too early" before it)
TARGETS = {
    "cascades_per_day": (5.0, 9.0),  # per symbol; judged after a day of session
    "order_within_s": 3.0,  # every entry's create written within this of its decision
    "fill_rate": (0.50, 0.80),
    "win_rate": (0.65, 0.75),
    "uptime_h": 24.0,  # the longest stretch of the session without a feed gap
    "min_entries": 20,  # entries (done) before the fill rate is judged
    "min_trades": 20,  # closed trades before the win rate is judged
    "tp_slip_bps": 0.5,  # a take-profit exit worse than its level by more than this fails
    "sl_slip_bps": 10.0,  # a stop-loss exit worse than its level by more than this fails
    "fill_diff_bps": 1.0,  # --explain: a live entry filled worse than the model's by more than this fails
}



def _contract_usd(venue_name):
    """symbol -> the USD value of one contract of an inverse symbol of the session's venue (0.0: linear)."""
    from liqcore.types import Venue

    try:
        code = int(Venue.parse(venue_name)) if venue_name else -1
    except (ValueError, KeyError):
        code = -1
    memo: dict = {}

    def cu(symbol) -> float:
        if code < 0 or not symbol:
            return 0.0
        if symbol not in memo:
            memo[symbol] = inverse_contract_usd(code, str(symbol))
        return memo[symbol]
    return cu

def _pct(xs: list[float]) -> dict | None:
    if not xs:
        return None
    a = np.asarray(xs, dtype=float)
    return {"p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)), "max": float(a.max()),
            "n": int(len(a))}


def _utc(ts: int) -> str:
    """A nanosecond stamp as a UTC time to the millisecond: ``2026-01-05 06:07:50.064``."""
    import datetime as _dt

    ts = int(ts)
    whole = _dt.datetime.fromtimestamp(ts // 1_000_000_000, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return f"{whole}.{ts % 1_000_000_000 // 1_000_000:03d}"


def journal_report(path, recording=None, explain: bool = False) -> dict:
    """The checklist figures of the journal at ``path`` (see the module docstring).  ``recording``: the
    session's recorded frames (paths), replayed through the backtest for the live-vs-model comparison.
    Raises ValueError, one line, when ``path`` is not a journal (:func:`liqcore.live.journal_rows.read_journal`)."""
    with read_journal(path) as rows:
        return report_rows(rows, recording, explain)


def report_rows(rd: JournalRows, recording=None, explain: bool = False) -> dict:
    """:func:`journal_report` of a journal's rows (the rows it leaves out counted in ``rd``, as of the readers that
    share it)."""
    sessions = [d for _, _, d in rd.rows(SESSION_NOTE)]
    session = sessions[-1] if sessions else {}
    out: dict = {"session": session}
    # ---- cascades per day per symbol
    per: dict = defaultdict(lambda: defaultdict(int))
    first = last = None
    for ts, _, d in rd.rows("cascade"):
        first = ts if first is None else min(first, ts)
        last = ts if last is None else max(last, ts)
        if d.get("record") == "confirmed":
            per[d.get("symbol", "?")][utc_day(ts)] += 1
    span, off_clock = _span(rd)
    hours = (max(span) - min(span)) / (_NS_DAY / 24) if span else None
    days = max(1.0, (max(span) - min(span)) / _NS_DAY) if span else None
    out["cascades"] = {"per_day": {s: dict(sorted(v.items())) for s, v in sorted(per.items())},
                       "total": int(sum(sum(v.values()) for v in per.values())), "hours": hours, "days": days,
                       "mean_per_day": {s: sum(v.values()) / days for s, v in sorted(per.items())} if days else {},
                       "off_clock": off_clock}
    # ---- orders, fills, fill rate
    orders = rd.orders()
    # (an entry journaled once a shutdown began and never sent is no entry of the session's)
    entries = [o for o in orders if o["kind"] == "entry" and o.get("reason") != NEVER_SENT]
    working = [o for o in entries if o["status"] in ("pending", "new", "partially_filled", "unknown")
               and not (o["filled_qty"] or 0) > 0]
    filled = [o for o in entries if (o["filled_qty"] or 0) > 0]
    done = len(entries) - len(working)
    out["fill_rate"] = {"entries": len(entries), "filled": len(filled), "working": len(working),
                        "rate": (len(filled) / done) if done else None}
    # ---- win rate
    trades = [d for _, _, d in rd.rows("trade")]
    wins = sum(1 for t in trades if float(t.get("pnl") or 0) > 0)
    out["win_rate"] = {"trades": len(trades), "wins": wins, "rate": (wins / len(trades)) if trades else None,
                       "pnl": float(sum(float(t.get("pnl") or 0) for t in trades))}
    coin: dict = {}  # inverse contracts' trades: P&L and fees in each margin coin (the USD pnl above: at each exit)
    for t in trades:
        if "pnl_coin" in t:
            u = str((t.get("pnl_units") or {}).get("pnl_coin") or "coin")
            c = coin.setdefault(u, {"pnl": 0.0, "fees": 0.0, "trades": 0, "unit": u})
            c["pnl"] += float(t["pnl_coin"])
            c["fees"] += float(t.get("fees_coin") or 0.0)
            c["trades"] += 1
    if coin:
        out["win_rate"]["pnl_coin"] = coin
    # ---- reaction times
    sent_rows = rd.rows("sent")
    sends = [(d["sent_ns"] - d["recv_ns"]) / 1e6 for _, _, d in sent_rows if d.get("recv_ns") and d.get("sent_ns")]
    intent_rows = rd.rows("intent")
    intents = {k: d for _, k, d in intent_rows}
    entry_intents = [(ts, k, d) for ts, k, d in intent_rows if d.get("kind", "entry") == "entry"]
    paper = session.get("mode") == "paper"
    if paper:  # the in-process paper venue: an entry is handed to it when journaled (no create is written)
        sent_keys = {k for _, k, _ in sent_rows}
        sends += [(ts - int(d["decision_ns"])) / 1e6 for ts, k, d in entry_intents
                  if k not in sent_keys and int(d.get("decision_ns") or 0) > 0]
    out["orders_journaled"] = len(entry_intents)
    first_ack: dict[str, int] = {}
    for ts, k, d in rd.rows("order_update"):
        if d.get("status") not in ("pending", "rejected") and k not in first_ack and (d.get("kind") or "entry") == "entry":
            first_ack[k] = ts
    # the answer as this machine read it ("ack" rows: the local clock, as the decision's) before the order
    # update's own time (the venue's clock, which may be skewed or, in ms, truncated below the decision)
    read: dict[str, int] = {}
    for _, k, d in rd.rows("ack"):
        if d.get("ack_ns"):
            read[k] = min(int(d["ack_ns"]), read.get(k, int(d["ack_ns"])))
    first_ack.update(read)
    acks = [(first_ack[c] - int(it.get("decision_ns") or 0)) / 1e6 for c, it in intents.items()
            if c in first_ack and it.get("kind", "entry") == "entry" and int(it.get("decision_ns") or 0) > 0]
    out["reaction_ms"] = {"send": _pct(sends), "ack": _pct(acks)}
    out["reaction_send_to"] = "the in-process paper venue" if paper else "the venue"
    # ---- fees charged vs the model
    fills = rd.fills()
    fee: dict = {}
    cu = _contract_usd(session.get("venue"))
    for side in ("maker", "taker"):
        fs = [f for f in fills if bool(f.get("is_maker", f.get("maker"))) == (side == "maker")]
        # (an inverse contract's fill: qty in contracts of cu USD, its fee in the coin, in USD at its price)
        notional = sum(abs(fill_usd(float(f["qty"]), float(f["price"]), cu(f.get("symbol")))) for f in fs)
        charged = sum(float(f.get("fee") or 0) * (float(f["price"]) if cu(f.get("symbol")) > 0 else 1.0)
                      for f in fs)
        fee[side] = {"fills": len(fs), "notional": notional, "fee": charged,
                     "bps": (charged / notional * 1e4) if notional else None,
                     "model_bps": session.get(f"{side}_fee_bps")}
    out["fees"] = fee
    out["fills"] = len(fills)
    # ---- live fills beside the fill model on the recorded frames
    out["model"] = None
    if recording:
        from liqcore.live.explain import session_trading

        trading = session_trading(rd, session)  # the symbols the session traded, on its rules: as live refused
        res = _model_run(recording, session, trading=trading)
        out["model"] = _versus_model(recording, session, intents, fills, res)
        if explain:  # every order lined up, the pnl gap decomposed (liqcore.live.explain)
            from liqcore.live.explain import explain_session, live_one_way

            ow = live_one_way(rd, session)
            if session.get("mode") != "paper" and ow["outbound_ms"] is not None:
                # a live session: the backtest's orders arrive the inferred one-way outbound latency after
                # their decision (the median over the session's entries), as the venue saw them
                ex_res = _model_run(recording, session, order_latency_ns=max(int(round(ow["outbound_ms"] * 1e6)), 1),
                                    inbound_ns=max(int(round((ow["inbound_ms"] or 0.0) * 1e6)), 0), trading=trading)
                out["explain"] = explain_session(rd, session, ex_res, one_way=ow)
            else:
                out["explain"] = explain_session(rd, session, res)
    out["targets"] = _targets(rd, out, session, sends, trades, span)
    out["left_out"] = rd.left_out  # the rows that could not be read, left out of every figure above
    return out


#: a row this far outside the session's span is on another clock (a replayed market's event time in a journal
#: written before every row took the receive clock): left out of the span, counted
_OFF_CLOCK_NS = 3_600_000_000_000


def _span(rd: JournalRows) -> tuple[list[int], int]:
    """The session's span on its own clock, and how many rows lie off it.  The span: the engine's own rows (its
    start and shutdown notes, decisions, equity, confirmed cascades: all stamped on the receive clock, the
    replayed one in an in-process replay); a row more than :data:`_OFF_CLOCK_NS` outside it (an ``ended``
    cascade row on the market's event time, as an older version wrote them) counts as off the clock and never
    stretches the span, so a short session is never judged as a long one."""
    span = rd.stamps("ts_ns > 946684800000000000 AND (type IN ('session','decision','equity','shutdown') OR "
                     "(type='cascade' AND instr(data, '\"record\":\"confirmed\"') > 0))")
    if not span:
        return [], 0
    lo, hi = min(span) - _OFF_CLOCK_NS, max(span) + _OFF_CLOCK_NS
    (off,) = rd.db.execute("SELECT count(*) FROM log WHERE typeof(ts_ns) = 'integer' AND ts_ns > 946684800000000000 "
                           "AND (ts_ns < ? OR ts_ns > ?)", (lo, hi)).fetchone()
    return span, int(off)


def _verdict(ok: bool | None) -> str:
    return "too early" if ok is None else ("pass" if ok else "fail")


def per_day_summary(means: dict, lo: float, hi: float) -> dict:
    """Cascades per day per symbol, in counts: how many symbols within ``lo``-``hi`` a day, below, above, and the
    three most frequent (``[symbol, per day]``)."""
    vals = list(means.values())
    top = sorted(means.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    return {"symbols": len(vals), "within": sum(1 for v in vals if lo <= v <= hi),
            "below": sum(1 for v in vals if v < lo), "above": sum(1 for v in vals if v > hi),
            "top": [[k, v] for k, v in top]}


def per_day_text(means: dict, lo: float, hi: float, limit: int = 10) -> str:
    """The measured cascades per day per symbol in words: each symbol up to ``limit`` of them, counts beyond
    (a whole market is hundreds of symbols)."""
    if not means:
        return "no cascade"
    if len(means) <= limit:
        return ", ".join(f"{s} {m:.1f}/day" for s, m in sorted(means.items()))
    c = per_day_summary(means, lo, hi)
    return (f"{c['symbols']} symbols: {c['within']} within {lo:g}-{hi:g}/day, {c['below']} below, {c['above']} above; "
            "most: " + ", ".join(f"{k} {v:.1f}/day" for k, v in c["top"]))


def _targets(rd: JournalRows, rep: dict, session: dict, sends: list[float], trades: list[dict],
             span: list[int]) -> list[dict]:
    """The guide's go-live targets beside the measured values (see :data:`TARGETS`)."""
    T = TARGETS
    out = []
    hours = rep["cascades"]["hours"] or 0.0
    # cascades per day per symbol: every traded symbol (one without a cascade counts 0/day)
    lo, hi = T["cascades_per_day"]
    means = dict(rep["cascades"]["mean_per_day"])
    for sym in session.get("symbols") or []:
        means.setdefault(str(sym).split(":")[-1], 0.0)
    early = hours < 24.0
    bad = {s: m for s, m in means.items() if not lo <= m <= hi}
    out.append({"target": "cascades per day per symbol", "goal": f"{lo:g}-{hi:g} per day per symbol",
                "measured": per_day_text(means, lo, hi) + f" over {hours:.2f} h",
                "verdict": _verdict(None if early else (bool(means) and not bad))})
    # orders within 3 s of the decision
    lim = T["order_within_s"] * 1e3
    late = sum(1 for x in sends if x > lim)
    n_entries = rep.get("orders_journaled", 0)
    to = rep.get("reaction_send_to", "the venue")
    out.append({"target": "orders within 3 s of the decision", "goal": f"every entry written within {lim / 1e3:g} s",
                "measured": (f"{len(sends) - late} of {len(sends)} within {lim / 1e3:g} s, max {max(sends):.0f} ms"
                             + (f" (sent to {to})" if to != "the venue" else "") if sends else
                             (f"{n_entries} entries journaled, no send time recorded" if n_entries
                              else "no order sent")),
                "verdict": _verdict(None if not sends else late == 0)})
    # fill rate and win rate
    fr = rep["fill_rate"]
    n_done = fr["entries"] - fr["working"]
    lo, hi = T["fill_rate"]
    out.append({"target": "fill rate", "goal": f"{lo:.0%}-{hi:.0%} of entries (judged from {T['min_entries']} entries)",
                "measured": f"{_f(fr['rate'] and 100 * fr['rate'], '.1f')}% of {n_done} entries",
                "verdict": _verdict(None if n_done < T["min_entries"] else lo <= fr["rate"] <= hi)})
    w = rep["win_rate"]
    lo, hi = T["win_rate"]
    out.append({"target": "win rate", "goal": f"{lo:.0%}-{hi:.0%} of closed trades (judged from {T['min_trades']} trades)",
                "measured": f"{_f(w['rate'] and 100 * w['rate'], '.1f')}% of {w['trades']} trades",
                "verdict": _verdict(None if w["trades"] < T["min_trades"] else lo <= w["rate"] <= hi)})
    ex = rep.get("explain")
    if ex is not None:  # live fills vs the model, order by order (--explain)
        c = ex["counts"]
        lim = T["fill_diff_bps"]
        worse = [r for r in ex["orders"] if r["price_diff_bps"] is not None and r["price_diff_bps"] > lim]
        fr = ex["fill_rate"]
        out.append({"target": "live fills vs the model",
                    "goal": f"every backtest fill filled live, at the model's price (within {lim:g} bps)",
                    "measured": (f"{c['both']} of {c['backtest_fills']} backtest fills filled live ({c['backtest_only']} "
                                 f"missed, {c['live_rejected']} rejected by the venue, {c['live_only']} live only), "
                                 f"{len(worse)} filled more than {lim:g} bps worse; fill rate live "
                                 f"{_f(fr['live'] and 100 * fr['live'], '.1f')}% vs model "
                                 f"{_f(fr['backtest'] and 100 * fr['backtest'], '.1f')}%; pnl gap "
                                 f"{ex['pnl']['gap']:+.2f} USD"),
                    "verdict": _verdict(None if not c["backtest_fills"] else
                                        (c["backtest_only"] == 0 and c["live_only"] == 0 and not worse))})
    # uptime: the longest stretch of the session without a feed gap (session clock)
    gaps = sorted(rd.stamps("type='gap'"))
    if span:
        t0, t1 = min(span), max(span)
        cuts = [t0] + [g for g in gaps if t0 <= g <= t1] + [t1]
        longest = max(b - a for a, b in zip(cuts, cuts[1:])) / (_NS_DAY / 24) if len(cuts) > 1 else 0.0
    else:
        longest = 0.0
    need = T["uptime_h"]
    out.append({"target": "feed up 24 h+", "goal": f"{need:g} h or more without a feed gap",
                "measured": f"longest stretch {longest:.2f} h of a {hours:.2f} h session, {len(gaps)} gap(s)",
                "verdict": _verdict(True if longest >= need else (None if hours < need else False))})
    # take-profit / stop-loss quality: each kind of level exited on both sides, fills within tolerance
    levels: dict[str, list[tuple[int, dict]]] = defaultdict(list)
    for ts, k, d in rd.rows("trading_stop"):
        levels[d.get("symbol") or k].append((ts, d))
    seen: set = set()
    worst = {"take_profit": None, "stop_loss": None}
    bad_n = 0
    for t in trades:
        reason = t.get("exit_reason")
        if reason not in worst:
            continue
        lv = [d for ts, d in levels.get(t.get("symbol"), []) if ts <= int(t.get("exit_ns") or 0)]
        level = float(lv[-1].get(reason) or 0.0) if lv else 0.0
        seen.add((t.get("side"), reason))
        if not level > 0:
            continue
        sign = 1.0 if t.get("side") == "long" else -1.0
        # worse than the level, in bps (> 0: the exit got less than the level)
        slip = sign * (level - float(t["exit_price"])) / level * 1e4
        worst[reason] = slip if worst[reason] is None else max(worst[reason], slip)
        bad_n += slip > (T["tp_slip_bps"] if reason == "take_profit" else T["sl_slip_bps"])
    both = all((side, r) in seen for side in ("long", "short") for r in ("take_profit", "stop_loss"))
    out.append({"target": "TP/SL quality",
                "goal": (f"take-profit and stop-loss exits on both sides; take-profit within {T['tp_slip_bps']:g} bps, "
                         f"stop-loss within {T['sl_slip_bps']:g} bps of the level"),
                "measured": (f"exits seen: {', '.join(f'{a} {b}' for a, b in sorted(seen)) or 'none'}; worst take-profit "
                             f"{_f(worst['take_profit'], '.2f')} bps, worst stop-loss {_f(worst['stop_loss'], '.2f')} bps "
                             f"beyond the level"),
                "verdict": _verdict(False if bad_n else (True if both else None))})
    return out


def _model_run(recording, session: dict, order_latency_ns: int | None = None, inbound_ns: int = 0,
               trading: tuple = (None, None)):
    """The session's recording through the backtest with the session's parameters and starting equity
    (``order_latency_ns``: this constant way out instead, decision to arrival, and ``inbound_ns`` the way
    back: a round trip of their sum split at their ratio; ``trading``: the session's traded symbols and their
    trading rules, :func:`liqcore.live.explain.session_trading`)."""
    from liqcore.backtest.run import backtest
    from liqcore.config import Params

    par = dict(session.get("params") or {})
    explicit = session.get("explicit")
    if explicit is not None:  # only what the session set: defaults and per-symbol presets apply as they did live
        par = {k: v for k, v in par.items() if k in set(explicit) or not hasattr(Params, k)}
    else:  # (a journal of an older session: a value equal to the default was not set)
        default = Params().to_dict()
        par = {k: v for k, v in par.items() if k not in default or v != default[k]}
    if order_latency_ns is not None:
        out, back = int(order_latency_ns), max(int(inbound_ns), 0)
        par["order_latency_ns"] = out + back
        par["latency_split"] = out / (out + back) if out + back > 0 else 0.5
        par.pop("order_latency_from", None)
    params = Params.from_mapping(par)
    return backtest(recording if isinstance(recording, (list, tuple)) else [str(recording)], params,
                    equity=float(session.get("equity") or 10_000.0), traded=trading[0], rules=trading[1])


def _versus_model(recording, session: dict, intents: dict, fills: list[dict], res=None) -> dict:
    if res is None:
        res = _model_run(recording, session)
    model: dict = {}
    for r in res.ledger:
        sym = res.registry.symbol(int(r["symbol_id"]))
        model[(sym, int(r["signal_ns"]))] = (int(r["entry_ns"]), float(r["entry_price"]), int(r["side"]))
    live: dict = {}
    for f in fills:
        if f.get("kind") != "entry":
            continue
        it = intents.get(f.get("client_id"))
        if it is None:
            continue
        key = (f.get("symbol"), int(it.get("decision_ns") or 0))
        q, px, ts = float(f["qty"]), float(f["price"]), int(f.get("ts_ns") or 0)
        if key in live:  # partial fills: the volume-weighted price, the first time
            q0, v0, t0 = live[key]
            live[key] = (q0 + q, v0 + q * px, min(t0, ts))
        else:
            live[key] = (q, q * px, ts)
    rows = []
    for key in sorted(set(live) | set(model)):
        sym, dec = key
        lv, md = live.get(key), model.get(key)
        row = {"symbol": sym, "decision_ns": dec, "live_ns": None, "live_price": None, "model_ns": None,
               "model_price": None, "diff_bps": None}
        if lv is not None:
            row["live_ns"], row["live_price"] = lv[2], lv[1] / lv[0]
        if md is not None:
            row["model_ns"], row["model_price"] = md[0], md[1]
        if lv is not None and md is not None and md[1] > 0:
            side = md[2]
            row["diff_bps"] = side * (row["live_price"] - md[1]) / md[1] * 1e4  # > 0: live paid more
        rows.append(row)
    both = [r for r in rows if r["live_price"] is not None and r["model_price"] is not None]
    return {"fills": rows, "matched": len(both),
            "live_only": sum(1 for r in rows if r["model_price"] is None),
            "model_only": sum(1 for r in rows if r["live_price"] is None),
            "mean_diff_bps": (sum(r["diff_bps"] for r in both) / len(both)) if both else None,
            "model_trades": int(len(res.ledger))}


def _f(x, spec=".2f"):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def format_report(rep: dict) -> str:
    """The report as text (one section per checklist item)."""
    s = rep.get("session") or {}
    lines = [f"session: strategy {s.get('strategy', '?')}, mode {s.get('mode', '?')}, exits {s.get('exits', '?')}"]
    if rep.get("left_out"):
        lines.append(f"left out: {left_out_text(rep['left_out'])}: their data is not a JSON object, or a field the "
                     "report reads is not what it should be; the figures and verdicts below are of the other rows")
    c = rep["cascades"]
    lines.append(f"cascades: {c['total']} confirmed in a session of {_f(c.get('hours'), '.2f')} h; per-day means "
                 f"over {_f(c['days'], '.2f')} days (a session shorter than a day counts as one)")
    if c.get("off_clock"):
        lines.append(f"  {c['off_clock']} journal rows lie more than 1 h outside the session's span (another clock:"
                     f" a replayed market's event time); left out of the span")
    for sym, per in c["per_day"].items():
        lines.append(f"  {sym}: {_f(c['mean_per_day'].get(sym), '.1f')}/day  "
                     + ", ".join(f"{d} {n}" for d, n in per.items()))
    fr = rep["fill_rate"]
    lines.append(f"fill rate: {_f(fr['rate'] and 100 * fr['rate'], '.1f')}% ({fr['filled']} of "
                 f"{fr['entries'] - fr['working']} entries; {fr['working']} still working)")
    w = rep["win_rate"]
    lines.append(f"win rate: {_f(w['rate'] and 100 * w['rate'], '.1f')}% ({w['wins']} of {w['trades']} trades; "
                 f"pnl {w['pnl']:.2f} in the quote currency)")
    for c in (w.get("pnl_coin") or {}).values():
        lines.append(f"  inverse contracts: pnl {c['pnl']:+.8g} {c['unit']}, fees {c['fees']:.8g} {c['unit']} "
                     f"over {c['trades']} trades (the pnl above has them in USD at each exit's price)")
    to = rep.get("reaction_send_to", "the venue")
    for k, v in rep["reaction_ms"].items():
        what = {"send": f"decision -> order sent to {to}", "ack": "decision -> first answer"}.get(k, k)
        lines.append(f"reaction ({k}): " + ("-" if v is None else
                     f"p50 {v['p50']:.1f} ms, p99 {v['p99']:.1f} ms, max {v['max']:.1f} ms (n={v['n']}; {what})"))
    for side, v in rep["fees"].items():
        lines.append(f"fee {side}: charged {_f(v['bps'], '.2f')} bps on {v['fills']} fills "
                     f"(model {_f(v['model_bps'], '.2f')} bps)")
    m = rep.get("model")
    if m is not None:
        lines.append(f"live vs fill model: {m['matched']} matched, {m['live_only']} live only, "
                     f"{m['model_only']} model only; mean diff {_f(m['mean_diff_bps'], '.2f')} bps")
        for r in m["fills"]:
            lines.append(f"  {r['symbol']} decided {_utc(r['decision_ns'])} UTC: live {_f(r['live_price'], '.6g')} "
                         f"model {_f(r['model_price'], '.6g')} diff {_f(r['diff_bps'], '.2f')} bps")
    else:
        lines.append("live vs fill model: no recording given (--recording)")
    if rep.get("targets"):
        lines.append("go-live targets (the session's own clock):")
        for t in rep["targets"]:
            lines.append(f"  [{t['verdict']}] {t['target']}: {t['measured']} (target: {t['goal']})")
    return "\n".join(lines)
