"""Tick simulator: the cascade strategy and its fill model as Numba per-event step functions.

The same step functions serve the backtest loop (:func:`run_sim`, one call over whole arrays) and
paper trading (:class:`liqcore.backtest.core.StrategyCore`, one call per live event), so the fill
model of a backtest is the fill model of paper trading.  The readable twin is ``pysrc/simulator.py``.

State lives in numpy structured arrays:

* ``st``  -- :data:`STATE_DTYPE`, one row per symbol id (working order / position / cooldown / last print)
* ``port`` -- :data:`PORT_DTYPE`, one row: equity, loss-limit day/week anchors, risk settings
* ``par`` -- :data:`PARAM_DTYPE`, one row per symbol id (per-symbol presets already applied)
* ``ledger`` -- :data:`LEDGER_DTYPE`, one row per closed trade (``port[0].n_trades`` rows used)
* ``counts`` -- int64 ``(n_symbols, N_COUNTS)``, indexed by the ``C_*`` constants

Rules (the strategy and fill model, every choice pinned down here):

* Decisions at the confirming event's ``ts_recv``; trades, funding and cascade records are merged by
  (time, input index).  ``ref`` = the symbol's last trade price; older than ``max_ref_age`` (or none)
  -> ``no_reference_price``.
* Gates in order: busy (working entry or open position), cooldown, mixed, [signal], hours, loss
  limit, max-symbols, reference price, [order].  ``max_symbols`` counts symbols with an open position
  OR a working entry (a working entry may fill), so open positions never exceed it.
* The order arrives ``order_latency`` after the decision.  Prints with ``ts >= arrival`` meet the
  order; the post-only check uses the last print before arrival.  The entry timeout runs from the
  decision; a cancelled or rejected entry starts no cooldown.
* A print that fills the entry does not also exit the position: exits are checked from the next print.
  On one print: hold timeout (a print at or after ``entry + hold_timeout`` closes at its price, taker),
  else stop (at or beyond, at the print's price, taker), else take-profit (limit rule, maker).
* Loss limits: realised equity change since the start of the UTC day (ISO week, Monday 00:00 UTC)
  at or below ``-limit x equity at that start`` blocks new orders until the next day (week).  0
  disables a limit.  Open positions are managed as usual.
* Funding on an open position at a FUNDING event: ``side x rate x last_price / entry_price`` is added to
  the fraction paid (longs pay positive funding).
* Per-trade return = ``side x (exit - entry) / entry - (maker fee + exit fee) - funding``; the trade's
  notional is ``size x equity`` at the fill; equity += notional x return at the close.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from liqcore.types import Kind

# ---- per-symbol status -------------------------------------------------------------------------
FLAT = 0
PENDING = 1  # sent, not yet at the venue
RESTING = 2  # resting post-only entry
OPEN = 3  # position open

# ---- exit reasons (ledger) -----------------------------------------------------------------------
TAKE_PROFIT = 1
STOP_LOSS = 2
TIMEOUT = 3
EXTERNAL = 4  # closed by the venue / operator in live venue mode
EXIT_NAMES = {TAKE_PROFIT: "take_profit", STOP_LOSS: "stop_loss", TIMEOUT: "timeout", EXTERNAL: "external"}

# ---- counts columns ------------------------------------------------------------------------------
C_CASCADES = 0
C_SIGNALS = 1
C_ORDERS = 2
C_REJECTED = 3
C_FILLS = 4
C_UNFILLED = 5
C_TAKE_PROFIT = 6
C_STOP_LOSS = 7
C_TIMEOUT = 8
C_NO_REF = 9
C_COOLDOWN = 10
C_BUSY = 11
C_MAX_SYMBOLS = 12
C_LOSS_LIMIT = 13
C_HOURS = 14
C_MIXED = 15
C_EXTERNAL = 16
N_COUNTS = 17
COUNT_NAMES = (
    "cascades", "signals", "orders", "rejected", "fills", "unfilled", "take_profit", "stop_loss",
    "timeout", "no_reference_price", "cooldown", "busy", "max_symbols", "loss_limit", "hours", "mixed",
    "external",
)

# ---- step_signal results --------------------------------------------------------------------------
R_ORDER = 0
R_BUSY = 1
R_COOLDOWN = 2
R_MIXED = 3
R_HOURS = 4
R_LOSS_LIMIT = 5
R_MAX_SYMBOLS = 6
R_NO_REF = 7
R_UNKNOWN_SYMBOL = 8
REASON_NAMES = ("order", "busy", "cooldown", "mixed", "hours", "loss_limit", "max_symbols",
                "no_reference_price", "unknown_symbol")

# ---- step_trade result bits ---------------------------------------------------------------------
EV_REJECTED = 1
EV_CANCELLED = 2
EV_FILLED = 4
EV_CLOSED = 8

NS_PER_HOUR = 3_600_000_000_000
NS_PER_DAY = 86_400_000_000_000
NO_TIME = -(2**62)

STATE_DTYPE = np.dtype([
    ("status", "<i8"), ("side", "<i8"), ("cascade_id", "<i8"),
    ("signal_ns", "<i8"), ("arrive_ns", "<i8"), ("entry_deadline_ns", "<i8"),
    ("entry_ns", "<i8"), ("hold_deadline_ns", "<i8"), ("cooldown_until_ns", "<i8"), ("last_ns", "<i8"),
    ("ref_price", "<f8"), ("limit_price", "<f8"), ("entry_price", "<f8"), ("tp_price", "<f8"),
    ("sl_price", "<f8"), ("notional", "<f8"), ("funding", "<f8"), ("last_price", "<f8"),
], align=True)

PORT_DTYPE = np.dtype([
    ("equity", "<f8"), ("equity0", "<f8"), ("day_start_equity", "<f8"), ("week_start_equity", "<f8"),
    ("daily_loss", "<f8"), ("weekly_loss", "<f8"), ("size", "<f8"),
    ("day", "<i8"), ("week", "<i8"), ("max_symbols", "<i8"), ("n_trades", "<i8"),
], align=True)

PARAM_DTYPE = np.dtype([
    ("offset", "<f8"), ("take_profit", "<f8"), ("stop_loss", "<f8"), ("maker_fee", "<f8"), ("taker_fee", "<f8"),
    ("entry_timeout_ns", "<i8"), ("hold_timeout_ns", "<i8"), ("cooldown_ns", "<i8"),
    ("max_ref_age_ns", "<i8"), ("order_latency_ns", "<i8"),
    ("touch", "<i8"), ("hours_from", "<i8"), ("hours_to", "<i8"), ("venue", "<i8"),
], align=True)

LEDGER_DTYPE = np.dtype([
    ("symbol_id", "<i8"), ("venue", "<i8"), ("side", "<i8"), ("cascade_id", "<i8"),
    ("signal_ns", "<i8"), ("arrive_ns", "<i8"), ("entry_ns", "<i8"), ("exit_ns", "<i8"), ("exit_reason", "<i8"),
    ("ref_price", "<f8"), ("entry_price", "<f8"), ("exit_price", "<f8"), ("tp_price", "<f8"), ("sl_price", "<f8"),
    ("fees", "<f8"), ("funding", "<f8"), ("ret", "<f8"), ("notional", "<f8"), ("pnl", "<f8"),
    ("equity_after", "<f8"),
], align=True)

_TRADE = int(Kind.TRADE)
_FUNDING = int(Kind.FUNDING)


@njit(cache=True)
def take_events(ev, order):
    """``ev[order]`` (a gather of whole records)."""
    out = np.empty(order.shape[0], dtype=ev.dtype)
    for i in range(order.shape[0]):
        out[i] = ev[order[i]]
    return out


def new_state(n_symbols: int) -> np.ndarray:
    st = np.zeros(n_symbols, dtype=STATE_DTYPE)
    st["last_ns"] = NO_TIME
    st["cooldown_until_ns"] = NO_TIME
    st["last_price"] = np.nan
    return st


def new_port(equity: float, daily_loss: float, weekly_loss: float, max_symbols: int, size: float) -> np.ndarray:
    port = np.zeros(1, dtype=PORT_DTYPE)
    port["equity"] = equity
    port["equity0"] = equity
    port["day_start_equity"] = equity
    port["week_start_equity"] = equity
    port["daily_loss"] = daily_loss
    port["weekly_loss"] = weekly_loss
    port["size"] = size
    port["max_symbols"] = max_symbols
    port["day"] = NO_TIME
    port["week"] = NO_TIME
    return port


# ================================================================================================
# helpers
# ================================================================================================
@njit(cache=True)
def _roll(port, ts):
    """Move the loss-limit anchors to the UTC day / ISO week of ``ts``."""
    p = port[0]
    day = ts // NS_PER_DAY
    if day != p.day:
        p.day = day
        p.day_start_equity = p.equity
        week = (day + 3) // 7  # 1970-01-01 was a Thursday: weeks start on Monday 00:00 UTC
        if week != p.week:
            p.week = week
            p.week_start_equity = p.equity


@njit(cache=True)
def _settle(st, par, sid, ts, counts):
    """Time-driven transitions of one symbol at ``ts``: order arrival (post-only check against the
    last print) and entry timeout.  Returns EV_* bits."""
    s = st[sid]
    ev = 0
    if s.status == PENDING and ts >= s.arrive_ns:
        lp = s.last_price
        if (s.side > 0 and s.limit_price >= lp) or (s.side < 0 and s.limit_price <= lp):
            s.status = FLAT
            counts[sid, C_REJECTED] += 1
            return EV_REJECTED
        s.status = RESTING
    if (s.status == RESTING or s.status == PENDING) and ts >= s.entry_deadline_ns:
        s.status = FLAT
        counts[sid, C_UNFILLED] += 1
        ev |= EV_CANCELLED
    return ev


@njit(cache=True)
def _open(st, port, par, sid, ts, price, counts):
    s = st[sid]
    q = par[sid]
    s.status = OPEN
    s.entry_ns = ts
    s.entry_price = price
    s.hold_deadline_ns = ts + q.hold_timeout_ns
    if s.side > 0:
        s.tp_price = price * (1.0 + q.take_profit)
        s.sl_price = price * (1.0 - q.stop_loss)
    else:
        s.tp_price = price * (1.0 - q.take_profit)
        s.sl_price = price * (1.0 + q.stop_loss)
    s.notional = port[0].equity * port[0].size
    s.funding = 0.0
    counts[sid, C_FILLS] += 1


@njit(cache=True)
def _close(st, port, par, sid, ts, price, reason, exit_fee, ledger, counts):
    s = st[sid]
    q = par[sid]
    _roll(port, ts)
    p = port[0]
    fees = q.maker_fee + exit_fee
    ret = s.side * (price - s.entry_price) / s.entry_price - fees - s.funding
    pnl = s.notional * ret
    p.equity += pnl
    k = p.n_trades
    if k < ledger.shape[0]:
        row = ledger[k]
        row.symbol_id = sid
        row.venue = q.venue
        row.side = s.side
        row.cascade_id = s.cascade_id
        row.signal_ns = s.signal_ns
        row.arrive_ns = s.arrive_ns
        row.entry_ns = s.entry_ns
        row.exit_ns = ts
        row.exit_reason = reason
        row.ref_price = s.ref_price
        row.entry_price = s.entry_price
        row.exit_price = price
        row.tp_price = s.tp_price
        row.sl_price = s.sl_price
        row.fees = fees
        row.funding = s.funding
        row.ret = ret
        row.notional = s.notional
        row.pnl = pnl
        row.equity_after = p.equity
    p.n_trades = k + 1
    s.status = FLAT
    s.cooldown_until_ns = ts + q.cooldown_ns
    if reason == TAKE_PROFIT:
        counts[sid, C_TAKE_PROFIT] += 1
    elif reason == STOP_LOSS:
        counts[sid, C_STOP_LOSS] += 1
    elif reason == TIMEOUT:
        counts[sid, C_TIMEOUT] += 1
    else:
        counts[sid, C_EXTERNAL] += 1


# ================================================================================================
# step functions (one per event kind)
# ================================================================================================
@njit(cache=True)
def step_trade(st, port, par, sid, ts, price, ledger, counts):
    """A trade print of symbol ``sid`` at ``ts`` (receive time): arrival/timeout of the entry, entry
    fill, exits; then the print becomes the symbol's last price.  Returns EV_* bits."""
    if sid < 0 or sid >= st.shape[0]:
        return 0
    s = st[sid]
    ev = 0
    if s.status == PENDING or s.status == RESTING:
        ev = _settle(st, par, sid, ts, counts)
    status = s.status
    if status == RESTING:
        q = par[sid]
        lim = s.limit_price
        if s.side > 0:
            hit = price < lim or (q.touch != 0 and price == lim)
        else:
            hit = price > lim or (q.touch != 0 and price == lim)
        if hit:
            _open(st, port, par, sid, ts, lim, counts)
            ev |= EV_FILLED
    elif status == OPEN:
        q = par[sid]
        if ts >= s.hold_deadline_ns:
            _close(st, port, par, sid, ts, price, TIMEOUT, q.taker_fee, ledger, counts)
            ev |= EV_CLOSED
        elif s.side > 0:
            if price <= s.sl_price:
                _close(st, port, par, sid, ts, price, STOP_LOSS, q.taker_fee, ledger, counts)
                ev |= EV_CLOSED
            elif price > s.tp_price or (q.touch != 0 and price == s.tp_price):
                _close(st, port, par, sid, ts, s.tp_price, TAKE_PROFIT, q.maker_fee, ledger, counts)
                ev |= EV_CLOSED
        else:
            if price >= s.sl_price:
                _close(st, port, par, sid, ts, price, STOP_LOSS, q.taker_fee, ledger, counts)
                ev |= EV_CLOSED
            elif price < s.tp_price or (q.touch != 0 and price == s.tp_price):
                _close(st, port, par, sid, ts, s.tp_price, TAKE_PROFIT, q.maker_fee, ledger, counts)
                ev |= EV_CLOSED
    s.last_price = price
    s.last_ns = ts
    return ev


@njit(cache=True)
def step_signal(st, port, par, sid, ts, dominant, cascade_id, ledger, counts):
    """A CONFIRMED cascade of symbol ``sid`` decided at ``ts``.  Places a post-only entry (R_ORDER)
    or returns the reason nothing was placed (R_*)."""
    if sid < 0 or sid >= st.shape[0]:
        return R_UNKNOWN_SYMBOL
    counts[sid, C_CASCADES] += 1
    s = st[sid]
    q = par[sid]
    p = port[0]
    _settle(st, par, sid, ts, counts)
    if s.status != FLAT:
        counts[sid, C_BUSY] += 1
        return R_BUSY
    if ts < s.cooldown_until_ns:
        counts[sid, C_COOLDOWN] += 1
        return R_COOLDOWN
    if dominant != 1 and dominant != 2:
        counts[sid, C_MIXED] += 1
        return R_MIXED
    counts[sid, C_SIGNALS] += 1
    if q.hours_from >= 0:
        hour = (ts // NS_PER_HOUR) % 24
        if q.hours_from < q.hours_to:
            ok = q.hours_from <= hour < q.hours_to
        else:
            ok = hour >= q.hours_from or hour < q.hours_to
        if not ok:
            counts[sid, C_HOURS] += 1
            return R_HOURS
    _roll(port, ts)
    if (p.daily_loss > 0.0 and p.equity - p.day_start_equity <= -p.daily_loss * p.day_start_equity) or (
        p.weekly_loss > 0.0 and p.equity - p.week_start_equity <= -p.weekly_loss * p.week_start_equity
    ):
        counts[sid, C_LOSS_LIMIT] += 1
        return R_LOSS_LIMIT
    busy = 0
    for j in range(st.shape[0]):
        if j != sid:
            if st[j].status == PENDING or st[j].status == RESTING:
                _settle(st, par, j, ts, counts)
            if st[j].status != FLAT:
                busy += 1
    if busy >= p.max_symbols:
        counts[sid, C_MAX_SYMBOLS] += 1
        return R_MAX_SYMBOLS
    if s.last_ns == NO_TIME or ts - s.last_ns > q.max_ref_age_ns:
        counts[sid, C_NO_REF] += 1
        return R_NO_REF
    ref = s.last_price
    side = 1 if dominant == 1 else -1
    s.side = side
    s.ref_price = ref
    s.limit_price = ref * (1.0 - q.offset) if side > 0 else ref * (1.0 + q.offset)
    s.status = PENDING
    s.cascade_id = cascade_id
    s.signal_ns = ts
    s.arrive_ns = ts + q.order_latency_ns
    s.entry_deadline_ns = ts + q.entry_timeout_ns
    counts[sid, C_ORDERS] += 1
    return R_ORDER


@njit(cache=True)
def step_funding(st, sid, ts, rate):
    """A funding event: an open position pays ``side x rate x last / entry`` (fraction of its notional)."""
    if sid < 0 or sid >= st.shape[0]:
        return
    s = st[sid]
    if s.status == OPEN and s.entry_price > 0.0 and s.last_price == s.last_price:
        s.funding += s.side * rate * s.last_price / s.entry_price


@njit(cache=True)
def step_clock(st, port, par, ts, counts):
    """A clock tick: order arrivals and entry timeouts due by ``ts`` on every symbol, loss-limit day
    roll.  Returns EV_* bits (or-ed over symbols)."""
    ev = 0
    for j in range(st.shape[0]):
        if st[j].status == PENDING or st[j].status == RESTING:
            ev |= _settle(st, par, j, ts, counts)
    _roll(port, ts)
    return ev


@njit(cache=True)
def step_price(st, sid, ts, price):
    """Record a print as the symbol's last price without simulating fills (live venue mode)."""
    if 0 <= sid < st.shape[0]:
        st[sid].last_price = price
        st[sid].last_ns = ts


@njit(cache=True)
def external_entry_fill(st, port, par, sid, ts, price, counts):
    """Venue mode: the entry filled at ``price``.  Returns 1 if a working entry became a position."""
    s = st[sid]
    if s.status == PENDING or s.status == RESTING:
        _open(st, port, par, sid, ts, price, counts)
        return 1
    return 0


@njit(cache=True)
def external_close(st, port, par, sid, ts, price, reason, ledger, counts):
    """Venue mode: the position closed at ``price`` (reason TAKE_PROFIT is charged the maker fee,
    everything else the taker fee).  Returns 1 if a position was closed (a ledger row was written)."""
    s = st[sid]
    if s.status != OPEN:
        return 0
    q = par[sid]
    fee = q.maker_fee if reason == TAKE_PROFIT else q.taker_fee
    _close(st, port, par, sid, ts, price, reason, fee, ledger, counts)
    return 1


@njit(cache=True)
def external_reject(st, sid, ts, counts):
    """Venue mode: the entry was rejected or cancelled by the venue (no cooldown)."""
    s = st[sid]
    if s.status == PENDING or s.status == RESTING:
        s.status = FLAT
        counts[sid, C_REJECTED] += 1
        return 1
    return 0


# ================================================================================================
# the backtest loop
# ================================================================================================
@njit(cache=True, nogil=True)
def run_sim(ev, rec_t, rec_idx, rec_sid, rec_dom, rec_cid, st, port, par, ledger, counts, end_ns):
    """Replay ``ev`` (EVENT_DTYPE, sorted by ts_recv) merged with CONFIRMED cascade records (sorted by
    (decision time, event index)); at the end settle order arrivals / entry timeouts due by ``end_ns``.
    Returns the number of trade prints processed."""
    n = ev.shape[0]
    nr = rec_t.shape[0]
    nsym = st.shape[0]
    r = 0
    prints = 0
    for i in range(n):
        e = ev[i]
        t = e.ts_recv
        while r < nr and (rec_t[r] < t or (rec_t[r] == t and rec_idx[r] < i)):
            step_signal(st, port, par, rec_sid[r], rec_t[r], rec_dom[r], rec_cid[r], ledger, counts)
            r += 1
        k = e.kind
        if k == _TRADE:
            prints += 1
            sid = e.symbol_id
            price = e.price
            if 0 <= sid < nsym:
                s = st[sid]
                status = s.status
                # quiet prints (nothing but the last price changes) are handled here without a call
                if status == FLAT:
                    s.last_price = price
                    s.last_ns = t
                    continue
                if status == OPEN and t < s.hold_deadline_ns:
                    if (s.side > 0 and s.sl_price < price < s.tp_price) or (
                        s.side < 0 and s.tp_price < price < s.sl_price
                    ):
                        s.last_price = price
                        s.last_ns = t
                        continue
                elif status == RESTING and t < s.entry_deadline_ns:
                    if (s.side > 0 and price > s.limit_price) or (s.side < 0 and price < s.limit_price):
                        s.last_price = price
                        s.last_ns = t
                        continue
            step_trade(st, port, par, sid, t, price, ledger, counts)
        elif k == _FUNDING:
            step_funding(st, e.symbol_id, t, e.price)
    while r < nr:
        step_signal(st, port, par, rec_sid[r], rec_t[r], rec_dom[r], rec_cid[r], ledger, counts)
        r += 1
    step_clock(st, port, par, end_ns, counts)
    return prints


# ================================================================================================
# live-shell steps (venue mode, restarts): the shell changes the core's state only through these
# ================================================================================================
@njit(cache=True)
def external_cancel(st, sid, ts, counts):
    """The working entry was cancelled (entry timeout at the venue, operator, shutdown): it counts as
    unfilled and starts no cooldown.  Returns 1 if a working entry was cancelled."""
    if sid < 0 or sid >= st.shape[0]:
        return 0
    s = st[sid]
    if s.status == PENDING or s.status == RESTING:
        s.status = FLAT
        counts[sid, C_UNFILLED] += 1
        return 1
    return 0


@njit(cache=True)
def amend_entry(st, sid, price):
    """The working entry's limit becomes ``price`` (e.g. the venue's price grid).  Returns 1 if amended."""
    if sid < 0 or sid >= st.shape[0] or not price > 0.0:
        return 0
    s = st[sid]
    if s.status == PENDING or s.status == RESTING:
        s.limit_price = price
        return 1
    return 0


@njit(cache=True)
def set_exit_levels(st, sid, tp_price, sl_price, notional):
    """The open position's take-profit and stop-loss prices (and its notional) become the venue's;
    a value <= 0 keeps the current one.  Returns 1 if a position was updated."""
    if sid < 0 or sid >= st.shape[0]:
        return 0
    s = st[sid]
    if s.status != OPEN:
        return 0
    if tp_price > 0.0:
        s.tp_price = tp_price
    if sl_price > 0.0:
        s.sl_price = sl_price
    if notional > 0.0:
        s.notional = notional
    return 1


@njit(cache=True)
def set_working(st, sid, status, side, price, ref_price, cascade_id, signal_ns, arrive_ns, deadline_ns):
    """A flat symbol gets a working entry (``status`` PENDING or RESTING) placed outside a cascade
    decision (restart, operator).  Returns 1 if the entry was set."""
    if sid < 0 or sid >= st.shape[0] or (status != PENDING and status != RESTING):
        return 0
    s = st[sid]
    if s.status != FLAT:
        return 0
    s.status = status
    s.side = side
    s.limit_price = price
    s.ref_price = ref_price
    s.cascade_id = cascade_id
    s.signal_ns = signal_ns
    s.arrive_ns = arrive_ns
    s.entry_deadline_ns = deadline_ns
    return 1


@njit(cache=True)
def set_open(st, sid, side, entry_ns, entry_price, tp_price, sl_price, notional, hold_deadline_ns, funding):
    """A flat or working symbol gets an open position held at the venue (restart, external fill of an
    entry the core did not place).  Returns 1 if the position was set."""
    if sid < 0 or sid >= st.shape[0] or not entry_price > 0.0:
        return 0
    s = st[sid]
    if s.status == OPEN:
        return 0
    s.status = OPEN
    s.side = side
    s.entry_ns = entry_ns
    s.entry_price = entry_price
    s.tp_price = tp_price
    s.sl_price = sl_price
    s.notional = notional
    s.hold_deadline_ns = hold_deadline_ns
    s.funding = funding
    return 1
