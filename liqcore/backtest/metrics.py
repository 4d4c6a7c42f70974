"""Backtest metrics from the trade ledger and the decision counts (numpy only).

* ``fill_rate`` = fills / orders; ``win_rate`` = trades with return > 0 / trades.
* ``avg_hold_s`` = mean (exit - entry) in seconds; ``avg_return`` = mean per-trade return.
* ``total_return`` = equity change / starting equity (a symbol's share: its P&L / starting equity).
* ``sharpe`` = mean / std (ddof 1) of DAILY returns x sqrt(365); every UTC day of the data span counts,
  days without a close as 0 return.  The daily return of a symbol is its P&L of the day divided by the
  portfolio equity at the start of that day.  None when undefined (fewer than 2 days, or zero spread).
* ``max_drawdown`` = largest fall from a running peak of the realised equity curve, as a fraction of
  the peak (a symbol: starting equity + its cumulative P&L).
* ``exposure`` = share of the data span during which a position was open (union of the trades'
  [entry, exit] intervals).
"""
from __future__ import annotations

import math

import numpy as np

NS_PER_DAY = 86_400_000_000_000

COUNT_NAMES = (
    "cascades", "signals", "orders", "rejected", "fills", "unfilled", "take_profit", "stop_loss",
    "timeout", "no_reference_price", "cooldown", "busy", "max_symbols", "loss_limit", "hours", "mixed",
    "external", "skipped", "daily_trades", "max_positions", "leverage", "trail", "stop_price", "max_hold",
    "signal_exit", "replaced", "below_minimum",
)
SKIP_REASONS = ("no_reference_price", "cooldown", "busy", "max_symbols", "loss_limit", "hours", "mixed", "skipped",
                "daily_trades", "max_positions")


def _finite(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _union_length(starts: np.ndarray, ends: np.ndarray) -> int:
    if len(starts) == 0:
        return 0
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], ends[order]
    total = 0
    cur_s, cur_e = int(s[0]), int(e[0])
    for a, b in zip(s[1:].tolist(), e[1:].tolist()):
        if a > cur_e:
            total += cur_e - cur_s
            cur_s, cur_e = a, b
        elif b > cur_e:
            cur_e = b
    return total + cur_e - cur_s


def daily_returns(ledger: np.ndarray, equity0: float, start_ns: int, end_ns: int,
                  mask: np.ndarray | None = None) -> np.ndarray:
    """One return per UTC day of [start_ns, end_ns]: P&L closed that day (of the ``mask`` trades, all
    by default) / portfolio equity at the start of the day."""
    d0, d1 = start_ns // NS_PER_DAY, end_ns // NS_PER_DAY
    ndays = int(d1 - d0 + 1) if end_ns >= start_ns else 0
    if ndays <= 0:
        return np.zeros(0)
    day = (ledger["exit_ns"] // NS_PER_DAY - d0).astype(np.int64)
    day = np.clip(day, 0, ndays - 1)
    all_pnl = np.bincount(day, weights=ledger["pnl"], minlength=ndays)
    start_eq = equity0 + np.concatenate([[0.0], np.cumsum(all_pnl)[:-1]])
    pnl = all_pnl if mask is None else np.bincount(day[mask], weights=ledger["pnl"][mask], minlength=ndays)
    return pnl / start_eq


def sharpe(daily: np.ndarray) -> float | None:
    if len(daily) < 2:
        return None
    sd = float(np.std(daily, ddof=1))
    if not sd > 0 or not np.ptp(daily) > 0:  # (a constant series' float std can be 1e-19, not 0: no spread)
        return None
    return float(np.mean(daily)) / sd * math.sqrt(365.0)


def sharpe_ci(daily: np.ndarray, ci: float = 0.95) -> tuple[float | None, float | None]:
    """The ``ci`` interval of :func:`sharpe` (annualised): the daily Sharpe ratio ± z · its standard
    error sqrt((1 + SR²/2) / T) for T independent days (Lo 2002), times sqrt(365).  (None, None) when
    the ratio is undefined."""
    from statistics import NormalDist  # the standard normal's quantile (scipy's norm.ppf to 1e-15)

    s = sharpe(daily)
    if s is None:
        return None, None
    sr = s / math.sqrt(365.0)
    half = NormalDist().inv_cdf(0.5 + ci / 2.0) * math.sqrt((1.0 + 0.5 * sr * sr) / len(daily))
    return (sr - half) * math.sqrt(365.0), (sr + half) * math.sqrt(365.0)


def max_drawdown(equity_curve: np.ndarray) -> float:
    if len(equity_curve) == 0:
        return 0.0
    peak = np.maximum.accumulate(equity_curve)
    return float(np.max((peak - equity_curve) / peak))


def summarize(ledger: np.ndarray, counts: np.ndarray, equity0: float, start_ns: int, end_ns: int,
              mask: np.ndarray | None = None, symbol_ids=None, open_at_end: int = 0,
              working_at_end: int = 0) -> dict:
    """Counts + metrics for all trades (``mask`` None) or a subset (one symbol: ``mask`` over the
    ledger, ``symbol_ids`` the rows of ``counts`` to add up)."""
    rows = counts if symbol_ids is None else counts[np.asarray(symbol_ids, dtype=np.int64)]
    tot = rows.sum(axis=0) if len(rows) else np.zeros(len(COUNT_NAMES), np.int64)
    out: dict = {name: int(tot[i]) for i, name in enumerate(COUNT_NAMES)}
    trades = ledger if mask is None else ledger[mask]
    n = len(trades)
    out["trades"] = n
    out["open_at_end"] = int(open_at_end)
    out["working_at_end"] = int(working_at_end)
    out["fill_rate"] = out["fills"] / out["orders"] if out["orders"] else None
    out["win_rate"] = float(np.mean(trades["ret"] > 0)) if n else None
    out["avg_hold_s"] = float(np.mean(trades["exit_ns"] - trades["entry_ns"]) / 1e9) if n else None
    out["avg_return"] = float(np.mean(trades["ret"])) if n else None
    # the fees paid, in quote currency (each trade's fees, a fraction of its entry notional, x that notional: the
    # ledger's fees_quote summed), and as a fraction of the starting equity
    out["fees_quote"] = float(np.sum(trades["fees"] * trades["notional"])) if n else 0.0
    out["fees_total"] = out["fees_quote"] / equity0
    pnl = float(np.sum(trades["pnl"])) if n else 0.0
    out["pnl"] = pnl
    if mask is None:
        final = float(ledger["equity_after"][-1]) if n else equity0
        out["total_return"] = final / equity0 - 1.0
        curve = np.concatenate([[equity0], ledger["equity_after"]])
    else:
        out["total_return"] = pnl / equity0
        curve = equity0 + np.concatenate([[0.0], np.cumsum(trades["pnl"])])
    daily = daily_returns(ledger, equity0, start_ns, end_ns, mask)
    out["days"] = len(daily)
    out["sharpe"] = _finite(sharpe(daily))
    out["max_drawdown"] = max_drawdown(curve)
    span = max(int(end_ns - start_ns), 0)
    out["exposure"] = (_union_length(trades["entry_ns"], trades["exit_ns"]) / span) if (span and n) else 0.0
    return out


def min_trade_notional(events: np.ndarray, trade_kind: int = 2) -> float | None:
    m = events["kind"] == trade_kind  # the two columns of the trades, not a copy of their records
    if not m.any():
        return None
    return float(np.min(events["price"][m] * events["qty"][m]))


def data_note(events: np.ndarray, threshold: float = 5_000.0) -> str | None:
    """A note when the trades look filtered (no print below ``threshold`` in quote): prints are then a
    sparse subset, so fills, exits and reference prices are approximate; and when the liquidations
    come from a throttled stream (:func:`liqcore.venues.common.throttle_note`)."""
    from liqcore.venues.common import throttle_note

    notes = []
    m = min_trade_notional(events)
    if m is None:
        notes.append("no trade prints in the data: no reference prices, no orders")
    elif m >= threshold:
        notes.append(f"the trade prints hold only trades of at least ~${m:,.0f} notional (a filtered feed, e.g. "
                     "a venue's aggregated-trade archive of trades above ~$15k): reference prices are "
                     "stale more often, and fills and exits are judged on sparse prints")
    throttled = throttle_note(events)  # liquidations from a throttled stream: lower bounds
    if throttled:
        notes.append(throttled)
    return "; ".join(notes) or None


def undefined_why(metric: str, m: dict, short: bool = False) -> str | None:
    """Why ``metric`` has no value in the metrics ``m`` (a window's combined row), in words; None when
    it has one.  ``short``: a few words for a table cell."""
    v = m.get(metric)
    if v is not None and math.isfinite(float(v)):
        return None
    trades = int(m.get("trades") or 0)
    if metric == "sharpe":
        days = int(m.get("days") or 0)
        if days < 2:
            return ("< 2 days" if short else
                    f"the Sharpe ratio of daily returns needs at least 2 UTC days; this window lies within "
                    f"{days} day{'s' if days != 1 else ''}")
        if not trades:
            return "no trades" if short else "no trades: every daily return is 0"
        return "flat" if short else "the daily returns have no spread"
    if not trades:
        return "no trades"
    return "undefined"
