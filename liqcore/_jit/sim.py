"""The execution model: signals -> orders -> fills -> trades, as Numba per-event step functions.

One model for every strategy, backtest and paper trading alike: :func:`run_exec` (whole arrays),
:func:`run_sim` (the cascade market-maker on detector records) and ``backtest.core.StrategyCore`` (one
call per live event) share the step functions; twin ``pysrc/execmodel.py``.  State: ``st``
(:data:`STATE_DTYPE`), ``port`` (:data:`PORT_DTYPE`), ``par`` (:data:`PARAM_DTYPE`), ``ledger``
(:data:`LEDGER_DTYPE`), ``counts`` (``C_*``).  Rules: docs/maintainers/strategies.md, "The execution model, rule by rule".

Why one module: the step functions call each other and compile into one state machine; its sections
(the banners below) keep one job each.  May import: numpy, numba, ``types``, ``signals``, ``codes``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from liqcore.codes import (  # noqa: F401  (the exit reasons: one home, the contract's codes)
    EXIT_NAMES,
    EXTERNAL,
    MAX_HOLD,
    REPLACED,
    SIGNAL_EXIT,
    STOP_LOSS,
    STOP_PRICE,
    TAKE_PROFIT,
    TIMEOUT,
    TRAIL,
)
from liqcore.signals import ENTRY_LIMIT, ENTRY_MARKET, NEVER, SKIP_EXIT, SKIP_MIXED, empty_signals  # noqa: F401
from liqcore._jit import depth as _dp
from liqcore.types import Kind

# ---- per-symbol status -------------------------------------------------------------------------
FLAT = 0
PENDING = 1  # sent, not yet at the venue
RESTING = 2  # resting post-only entry / market order at the venue, not yet filled
OPEN = 3  # position open

# the signal codes (ENTRY_*, SKIP_*, NEVER) are the signal contract's (liqcore.signals); the exit
# reasons (TAKE_PROFIT ... REPLACED, EXIT_NAMES) the execution codes' (liqcore.codes)

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
C_SKIPPED = 17
C_DAILY_TRADES = 18
C_MAX_POSITIONS = 19
C_LEVERAGE = 20
C_TRAIL = 21
C_STOP_PRICE = 22
C_MAX_HOLD = 23
C_SIGNAL_EXIT = 24
C_REPLACED = 25
C_BELOW_MINIMUM = 26  # an entry whose quantity, down to the symbol's lot, is below its minimum qty or notional
N_COUNTS = 27
#: the counts column of each exit reason (index = reason; EXTERNAL and anything unknown: C_EXTERNAL)
EXIT_COUNT_COLUMN = (C_EXTERNAL, C_TAKE_PROFIT, C_STOP_LOSS, C_TIMEOUT, C_EXTERNAL, C_TRAIL, C_STOP_PRICE,
                     C_MAX_HOLD, C_SIGNAL_EXIT, C_REPLACED)
COUNT_NAMES = (
    "cascades", "signals", "orders", "rejected", "fills", "unfilled", "take_profit", "stop_loss",
    "timeout", "no_reference_price", "cooldown", "busy", "max_symbols", "loss_limit", "hours", "mixed",
    "external", "skipped", "daily_trades", "max_positions", "leverage", "trail", "stop_price", "max_hold",
    "signal_exit", "replaced", "below_minimum",
)

# ---- step_signal / step_entry results ------------------------------------------------------------
R_ORDER = 0
R_BUSY = 1
R_COOLDOWN = 2
R_MIXED = 3
R_HOURS = 4
R_LOSS_LIMIT = 5
R_MAX_SYMBOLS = 6
R_NO_REF = 7
R_UNKNOWN_SYMBOL = 8
R_SKIPPED = 9
R_DAILY_TRADES = 10
R_MAX_POSITIONS = 11
R_EXIT = 12  # an exit notice matched the symbol's working entry / position (its signal exit is now due)
R_NO_POSITION = 13  # an exit notice for a signal that holds no working entry or position
REASON_NAMES = ("order", "busy", "cooldown", "mixed", "hours", "loss_limit", "max_symbols",
                "no_reference_price", "unknown_symbol", "skipped", "daily_trades", "max_positions", "exit",
                "no_position")

# ---- step_trade result bits ---------------------------------------------------------------------
EV_REJECTED = 1
EV_CANCELLED = 2
EV_FILLED = 4
EV_CLOSED = 8

NS_PER_HOUR = 3_600_000_000_000
NS_PER_DAY = 86_400_000_000_000
NO_TIME = -(2**62)
#: queue rule: the size by which the prints at a limit's price must exceed the queue ahead (times the
#: print's size, at least 1): rounding in the running difference never decides a fill
Q_EPS = 1e-9

STATE_DTYPE = np.dtype([
    ("status", "<i8"), ("side", "<i8"), ("cascade_id", "<i8"),
    ("signal_ns", "<i8"), ("arrive_ns", "<i8"), ("entry_deadline_ns", "<i8"),
    ("entry_ns", "<i8"), ("hold_deadline_ns", "<i8"), ("cooldown_until_ns", "<i8"), ("last_ns", "<i8"),
    ("ref_price", "<f8"), ("limit_price", "<f8"), ("entry_price", "<f8"), ("tp_price", "<f8"),
    ("sl_price", "<f8"), ("notional", "<f8"), ("funding", "<f8"), ("last_price", "<f8"),
    # the execution model's signal spec (NaN / -1 = the symbol's parameter, see _open)
    ("entry_kind", "<i8"), ("hold_ns", "<i8"), ("hold_reason", "<i8"), ("exit_due_ns", "<i8"),
    ("exit_due_reason", "<i8"), ("exit_code", "<i8"), ("closing", "<i8"), ("fill_day", "<i8"),
    ("day_fills", "<i8"), ("tp_frac", "<f8"), ("sl_frac", "<f8"), ("trail", "<f8"), ("peak", "<f8"),
    ("stop_price", "<f8"), ("confidence", "<f8"), ("size_mult", "<f8"),
    # a same-symbol replacement's entry, queued until the replaced position closes (q_on 1; see _queue_entry)
    ("q_on", "<i8"), ("q_side", "<i8"), ("q_entry", "<i8"), ("q_tag", "<i8"), ("q_signal_ns", "<i8"),
    ("q_hold_ns", "<i8"), ("q_timeout_ns", "<i8"), ("q_exit_ns", "<i8"), ("q_exit_code", "<i8"),
    ("q_confidence", "<f8"), ("q_size_mult", "<f8"), ("q_offset", "<f8"), ("q_tp", "<f8"), ("q_sl", "<f8"),
    ("q_trail", "<f8"), ("q_stop_price", "<f8"), ("q_latency_ns", "<i8"),
    # the top of book in force (QUOTE rows; NaN: none yet) and the queue of the working maker limit
    # (the entry, or the take-profit of a position): size ahead of it (inf: unknown), size displayed
    # at its price when last seen, size traded at its price since that quote
    ("bid", "<f8"), ("bid_qty", "<f8"), ("ask", "<f8"), ("ask_qty", "<f8"),
    ("q_ahead", "<f8"), ("q_level", "<f8"), ("q_traded", "<f8"),
    # the size ahead of the working entry when it was first known (inf: never), kept at its fill
    ("q_first", "<f8"), ("entry_queue", "<f8"),
    # when the bot learns of its position: the entry's fill + the answer's way back (inbound_ns)
    ("seen_ns", "<i8"),
    # when the bot learns its symbol is free again: an entry rejected / cancelled or a position closed at
    # the venue, + inbound_ns (a signal before then finds the symbol busy)
    ("free_ns", "<i8"),
    # the L2 depth book (DEPTH rows; liqcore._jit.depth) under the queue rule: d_on 1 once the symbol has
    # depth (then the depth decides the queue), d_quotes 1 once it has top-of-book rows (then those are the
    # best bid and ask; else the depth's best), d_known 0 while the book is unknown (after a gap); the
    # level of the working maker limit (the entry, or the take-profit of a position): its key, side (1 bid,
    # -1 ask) and displayed size; d_pend 1 while a snapshot run may have changed it; d_rejoin 1 when a limit
    # joined before its level was looked up (the take-profit, set at the fill)
    ("d_on", "<i8"), ("d_quotes", "<i8"), ("d_known", "<i8"), ("d_key", "<i8"), ("d_side", "<i8"),
    ("d_lvl", "<f8"), ("d_pend", "<i8"), ("d_rejoin", "<i8"),
    # the rule that decided the entry's fill: 0 top of book, 1 depth, 2 a depth row crossed it, -1 not a queue fill
    ("entry_rule", "<i8"),
    # the entry's quantity (base units) and how much of it is filled; the fills that made the position; p_rest 1
    # while a remainder of a partially filled entry rests (``--partial on``: the position is open meanwhile)
    ("p_qty", "<f8"), ("p_done", "<f8"), ("p_fills", "<i8"), ("p_rest", "<i8"),
], align=True)

PORT_DTYPE = np.dtype([
    ("equity", "<f8"), ("equity0", "<f8"), ("day_start_equity", "<f8"), ("week_start_equity", "<f8"),
    ("daily_loss", "<f8"), ("weekly_loss", "<f8"), ("size", "<f8"),
    ("day", "<i8"), ("week", "<i8"), ("max_symbols", "<i8"), ("n_trades", "<i8"),
    ("max_positions", "<i8"), ("replace", "<i8"), ("leverage", "<f8"), ("notional", "<f8"),
    ("replace_same", "<i8"),
], align=True)

PARAM_DTYPE = np.dtype([
    ("offset", "<f8"), ("take_profit", "<f8"), ("stop_loss", "<f8"), ("maker_fee", "<f8"), ("taker_fee", "<f8"),
    ("entry_timeout_ns", "<i8"), ("hold_timeout_ns", "<i8"), ("cooldown_ns", "<i8"),
    ("max_ref_age_ns", "<i8"), ("order_latency_ns", "<i8"),
    ("touch", "<i8"), ("hours_from", "<i8"), ("hours_to", "<i8"), ("venue", "<i8"),
    ("slippage", "<f8"), ("trail", "<f8"), ("daily_trades", "<i8"),
    # fill rule 'queue' (1: touch is 0) and its queue model: 0 = risk-averse, N > 0 = power N
    ("queue", "<i8"), ("queue_pow", "<f8"),
    # the venue's price grid: ticks per unit of price (0: none); maker limits go to the passive tick, and
    # every maker-price comparison (post-only check, queue level, print at / through the limit) is made
    # on tick indices round(price x grid), never on float equality
    ("grid", "<f8"),
    # queue rule, a limit that joins behind the best (a level the top of book has not shown): 0 = the size
    # displayed when its level is first seen is ahead of it; 1 = nothing is ahead (hftbacktest's rule on a
    # top-of-book feed: its depth holds 0 at a level never shown)
    ("queue_unseen", "<i8"),
    # the way back of the order latency (the venue's answers and pushes reach the bot this long after the
    # venue acted): the bot acts on a position (timed exits) from its fill + inbound_ns; engine_exits 1
    # (``--exits engine``): the take-profit / stop-loss / trailing stop are the engine's, in force from
    # the fill + inbound_ns + order_latency_ns (the exit order's way out); 0: held by the venue from the fill
    ("inbound_ns", "<i8"), ("engine_exits", "<i8"),
    # the symbol's trading rules (0: none): the entry's quantity, capped at the maximum order qty (0: none), goes
    # down to the lot (base units) at the fill, and an entry below the minimum order qty (base units) or notional
    # (quote) is not opened (below_minimum)
    ("lot", "<f8"), ("min_qty", "<f8"), ("min_notional", "<f8"), ("max_qty", "<f8"),
    # ``--partial on`` (queue rule, limit entries): a print at the entry's price that brings the traded size past
    # the queue ahead by less than the order fills that part; the rest keeps resting (at the front) until its timeout
    ("partial", "<i8"),
], align=True)

LEDGER_DTYPE = np.dtype([
    ("symbol_id", "<i8"), ("venue", "<i8"), ("side", "<i8"), ("cascade_id", "<i8"),
    ("signal_ns", "<i8"), ("arrive_ns", "<i8"), ("entry_ns", "<i8"), ("exit_ns", "<i8"), ("exit_reason", "<i8"),
    ("ref_price", "<f8"), ("entry_price", "<f8"), ("exit_price", "<f8"), ("tp_price", "<f8"), ("sl_price", "<f8"),
    ("fees", "<f8"), ("funding", "<f8"), ("ret", "<f8"), ("notional", "<f8"), ("pnl", "<f8"),
    ("equity_after", "<f8"),
    ("entry_kind", "<i8"), ("exit_code", "<i8"), ("confidence", "<f8"), ("size_mult", "<f8"),
    # queue fills: the size displayed ahead of the maker entry when it joined the queue (-1: not a
    # queue fill, or its queue was never known)
    ("queue_ahead", "<f8"),
    # the rule that decided the entry's fill: 0 the queue on top of book, 1 the queue at depth (L2 rows), 2 a
    # depth row that put size on the other side at or through the limit (no print needed),
    # -1 not a queue fill (the through / touch rules, market entries)
    ("fill_rule", "<i8"),
    # the fills that made the position (1: the whole order at once) and the share of the entry's quantity filled
    # (1.0: all of it; below 1 only under ``--partial on``, the remainder cancelled at the entry's timeout or exit)
    ("fills", "<i8"), ("filled", "<f8"),
], align=True)

#: the ledger's ``fill_rule`` by name (the backtest's ``--json`` trades, the journal's ``--explain``)
FILL_RULE_NAMES = {0: "queue (top of book)", 1: "queue (depth)", 2: "depth cross", -1: "print"}
#: :func:`_d_row`: the row crossed the working limit; the ledger's fill_rule of an entry so filled
D_CROSSED = 1
D_RULE_CROSSED = 2
#: :func:`_d_row`: the row crossed the resting remainder of a partially filled entry (``--partial on``)
D_CROSSED_REST = 2

_TRADE = int(Kind.TRADE)
_FUNDING = int(Kind.FUNDING)
_QUOTE = int(Kind.QUOTE)
_DEPTH = int(Kind.DEPTH)
_BID = 3  # Side.BUY: a QUOTE row of the best bid (Side.SELL: the best ask)


def new_state(n_symbols: int) -> np.ndarray:
    st = np.zeros(n_symbols, dtype=STATE_DTYPE)
    st["last_ns"] = NO_TIME
    st["cooldown_until_ns"] = NO_TIME
    st["last_price"] = np.nan
    _reset_spec(st)
    st["fill_day"] = NO_TIME
    st["bid"] = np.nan
    st["ask"] = np.nan
    st["q_ahead"] = np.inf
    st["q_first"] = np.inf
    st["entry_queue"] = -1.0
    st["d_key"] = _dp.NO_LEVEL
    st["entry_rule"] = -1
    st["seen_ns"] = NO_TIME
    st["free_ns"] = NO_TIME
    return st


def _reset_spec(st) -> None:
    """The signal spec of the guide's strategy: every level from the symbol's parameters."""
    st["entry_kind"] = ENTRY_LIMIT
    st["hold_ns"] = -1
    st["hold_reason"] = TIMEOUT
    st["exit_due_ns"] = NEVER
    st["exit_due_reason"] = SIGNAL_EXIT
    st["tp_frac"] = np.nan
    st["sl_frac"] = np.nan
    st["trail"] = 0.0
    st["stop_price"] = np.nan
    st["confidence"] = 1.0
    st["size_mult"] = 1.0


def new_port(equity: float, daily_loss: float, weekly_loss: float, max_symbols: int, size: float, *,
             max_positions: int = 0, replace: bool = False, leverage: float = 0.0,
             notional: float = 0.0, replace_same: bool = False) -> np.ndarray:
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
    port["max_positions"] = max_positions
    port["replace"] = 1 if replace else 0
    port["leverage"] = leverage
    port["notional"] = notional
    port["replace_same"] = 1 if replace_same else 0
    return port


# ================================================================================================
# helpers
# ================================================================================================
@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _add_sat(a, b):
    """``a + b`` saturating at NEVER (b >= 0)."""
    if a > NEVER - b:
        return NEVER
    return a + b


@njit(cache=True, nogil=True)
def _on_grid(px, side, grid):
    """A maker limit on the price grid (``grid`` ticks per unit; 0: as is): a buy (``side`` > 0) to
    the tick at or below ``px``, a sell to the tick at or above it -- never more aggressive."""
    if grid > 0.0 and abs(px) < np.inf:
        if side > 0:
            return math.floor(px * grid + 1e-9) / grid
        return math.ceil(px * grid - 1e-9) / grid
    return px


@njit(cache=True, nogil=True)
def _tk(px, grid):
    """``px`` as its tick index on the price grid (``grid`` ticks per unit; a whole number held in a
    float, so that +-inf and NaN stay what they are), or as is without a grid.  Every comparison of a
    maker price with a print or a quote goes through this: 300.2 and 30020 x 0.01 are the same tick."""
    if grid > 0.0:
        return np.floor(px * grid + 0.5)
    return px


@njit(cache=True, nogil=True)
def _snap(px, grid):
    """A print's price on the grid (its nearest tick; as is without one): the reference of a limit, so that
    a print spelled in float32 (300.21 -> 300.2099914...) puts the limit where the tick says."""
    if grid > 0.0 and abs(px) < np.inf:
        return np.floor(px * grid + 0.5) / grid
    return px


@njit(cache=True, nogil=True)
def _q_join(s, qside, px, grid, unseen):
    """A maker limit at ``px`` on the bid (``qside`` 1) or the ask (-1) joins the book: the size
    ahead of it is the size displayed at its price if that is the best on its side, 0 if it improves
    the best, unknown (inf) if it lies behind the best (``unseen`` 1: 0, hftbacktest's rule) or no quote
    is in force.  Prices compared on the grid (:func:`_tk`).  With depth (``d_on``): the size displayed
    at its level is ahead of it (0: no level there), unknown while the book is."""
    if s.d_on != 0:
        s.q_traded = 0.0
        if abs(px) < np.inf and s.d_key == _dp.dkey(px, grid) and s.d_side == qside:
            s.q_ahead = s.d_lvl if s.d_known != 0 else np.inf
            s.q_level = s.d_lvl
        else:  # its level is looked up by the replay before the next row (run_exec's _d_track)
            s.q_ahead = np.inf
            s.q_level = 0.0
            s.d_rejoin = 1
        return
    best = s.bid if qside > 0 else s.ask
    qty = s.bid_qty if qside > 0 else s.ask_qty
    a = np.inf
    if best == best:
        kp = _tk(px, grid)
        kb = _tk(best, grid)
        if kp == kb:
            a = qty
        elif (qside > 0 and kp > kb) or (qside < 0 and kp < kb):
            a = 0.0
        elif unseen != 0 and abs(px) < np.inf:
            a = 0.0
    s.q_ahead = a
    s.q_level = a if a < np.inf else 0.0
    s.q_traded = 0.0


@njit(cache=True, nogil=True)
def _q_depth(s, pw, qside, px, grid):
    """The quote on the maker limit's side changed: what it says of the size displayed at ``px``
    moves the queue ahead (risk-averse, ``pw`` 0: only down to that size; power ``pw``: a fall not
    explained by trades is split between ahead and behind, the share f(ahead)/(f(ahead)+f(behind))
    of it ahead, f(x) = x^pw).  A best behind ``px`` says nothing of it; a best past it: none left."""
    kb = _tk(s.bid if qside > 0 else s.ask, grid)
    kp = _tk(px, grid)
    if kb == kp:
        new = s.bid_qty if qside > 0 else s.ask_qty
    elif (qside > 0 and kb < kp) or (qside < 0 and kb > kp):
        new = 0.0
    else:
        return
    _q_move(s, pw, new)


@njit(cache=True, nogil=True)
def _q_move(s, pw, new):
    """The size displayed at the working maker limit's level is now ``new``: the queue ahead moves
    (risk-averse ``pw`` 0: only down to ``new``; power ``pw``: a fall not explained by the prints there
    split between ahead and behind; a rise goes behind it)."""
    if s.q_ahead == np.inf:  # first sight of its level: all of the displayed size is ahead
        s.q_ahead = new
        if s.status == RESTING:  # the entry's queue position, first known
            s.q_first = new
    elif pw <= 0.0:
        if new < s.q_ahead:
            s.q_ahead = new
    else:
        chg = s.q_level - new - s.q_traded
        if chg < 0.0:
            if new < s.q_ahead:
                s.q_ahead = new
        else:
            front = s.q_ahead
            back = s.q_level - front
            if back < 0.0:
                back = 0.0
            fb = back ** pw
            den = fb + front ** pw
            prob = fb / den if den > 0.0 else 1.0
            est = front - (1.0 - prob) * chg + min(back - prob * chg, 0.0)
            s.q_ahead = est if est < new else new
    s.q_level = new
    s.q_traded = 0.0


@njit(cache=True, nogil=True)
def _q_hit(s, price, lim, qside, qty, grid):
    """Does a print at ``price`` (size ``qty``) fill the maker limit ``lim`` on side ``qside`` under
    the queue rule?  Through the price: yes; at it (the same tick): it consumes the queue ahead first,
    and fills the whole order once more than that queue has traded."""
    kp = _tk(price, grid)
    kl = _tk(lim, grid)
    if (qside > 0 and kp < kl) or (qside < 0 and kp > kl):
        return True
    if kp == kl:
        s.q_ahead -= qty
        s.q_traded += qty
        # more traded than was ahead; an exact tie (sizes are decimal lots) is not a fill, whatever the
        # last binary digit of the running difference says
        return s.q_ahead < -Q_EPS * max(qty, 1.0)
    return False


# ---- the queue rule on its own (the live queue-position estimate, liqcore.live.queue_estimate) -------
# One resting maker limit per row of a STATE_DTYPE array, moved by exactly the functions the fill model
# uses (_q_join, _q_depth, _q_hit): the live estimate and the backtest cannot drift apart.

@njit(cache=True, nogil=True)
def queue_rest(st, i, side, price, grid, unseen):
    """Row ``i``'s maker limit (``side`` 1 buy on the bid, -1 sell on the ask, at ``price``) rests now:
    it joins the queue behind the size displayed at its price (the quote in force in the row)."""
    s = st[i]
    s.status = RESTING
    s.side = side
    s.limit_price = price
    _q_join(s, side, price, grid, unseen)
    s.q_first = s.q_ahead


@njit(cache=True, nogil=True)
def queue_quote(st, i, side, price, qty, pw, grid):
    """A top-of-book row (``side`` 3 = the best bid, else the best ask) in force on row ``i``; under a
    resting limit on that side it moves the queue ahead (risk-averse ``pw`` 0, else power ``pw``)."""
    s = st[i]
    s.d_quotes = 1
    if side == _BID:
        s.bid = price
        s.bid_qty = qty
    else:
        s.ask = price
        s.ask_qty = qty
    if s.status == RESTING and s.d_on == 0 and (side == _BID) == (s.side > 0):  # (with depth: the depth's)
        _q_depth(s, pw, s.side, s.limit_price, grid)


@njit(cache=True, nogil=True)
def queue_rest_depth(st, par, tables, meta, i, side, price, unseen):
    """:func:`queue_rest` with the symbol's depth book (``tables``, ``meta``: :func:`new_depth`; ``par``: its
    queue model and key grid): the limit joins behind the size the depth shows at its level (the fill model's
    :func:`_q_join` then :func:`_d_track`), unknown while the book is."""
    s = st[i]
    s.status = RESTING
    s.entry_kind = ENTRY_LIMIT
    s.side = side
    s.limit_price = price
    _q_join(s, side, price, par[i].grid, unseen)
    _d_track(st, par, tables, meta, i)
    s.q_first = s.q_ahead


@njit(cache=True, nogil=True)
def queue_depth(st, par, tables, meta, i, ts, side, price, qty, flags, counts):
    """A DEPTH row of row ``i``'s symbol (the live estimate with depth): applied to its depth book and, at the
    resting limit's level, moving its queue exactly as the fill model does (:func:`_d_row`).  True when the
    row crossed the resting limit (the fill model fills it on this row, rule ``depth cross``)."""
    return _d_row(st, par, tables, meta, i, ts, side, price, qty, flags, counts) == D_CROSSED and \
        st[i].status == RESTING


@njit(cache=True, nogil=True)
def queue_depth_settle(st, par, tables, i):
    """Row ``i``'s snapshot run is over (a row of another kind came): its level moves the queue
    (:func:`_d_settle_run`), as the fill model does at the symbol's next row."""
    if st[i].d_pend != 0:
        _d_settle_run(st, par, tables, i)


@njit(cache=True, nogil=True)
def queue_print(st, i, price, qty, grid):
    """A print on row ``i``'s symbol: True when it fills the resting limit under the queue rule (a print
    through the price, or prints at it beyond the queue ahead); the queue ahead is consumed either way."""
    s = st[i]
    if s.status != RESTING:
        return False
    return _q_hit(s, price, s.limit_price, s.side, qty, grid)


@njit(cache=True, nogil=True)
def _settle(st, par, sid, ts, counts):
    """Time-driven transitions of one symbol at ``ts``: order arrival (post-only check against the
    last print), entry timeout, signal exit before the fill.  Returns EV_* bits."""
    s = st[sid]
    ev = 0
    if s.status == PENDING and ts >= s.arrive_ns:
        lp = s.last_price
        if s.entry_kind == ENTRY_LIMIT and par[sid].queue != 0 and (s.ask == s.ask if s.side > 0 else s.bid == s.bid):
            lp = s.ask if s.side > 0 else s.bid  # queue: post-only against the quote in force
        kl = _tk(s.limit_price, par[sid].grid)
        kq = _tk(lp, par[sid].grid)
        if s.entry_kind == ENTRY_LIMIT and ((s.side > 0 and kl >= kq) or (s.side < 0 and kl <= kq)):
            s.status = FLAT
            s.free_ns = _add_sat(s.arrive_ns, par[sid].inbound_ns)  # the venue's refusal reaches the bot
            counts[sid, C_REJECTED] += 1
            return EV_REJECTED
        s.status = RESTING
        if s.entry_kind == ENTRY_LIMIT and par[sid].queue != 0:
            _q_join(s, s.side, s.limit_price, par[sid].grid, par[sid].queue_unseen)
            s.q_first = s.q_ahead
    if (s.status == RESTING or s.status == PENDING) and (ts >= s.entry_deadline_ns or ts >= s.exit_due_ns):
        s.status = FLAT
        end = s.entry_deadline_ns if s.entry_deadline_ns < s.exit_due_ns else s.exit_due_ns
        s.free_ns = _add_sat(end, par[sid].inbound_ns)  # the cancel's confirmation reaches the bot
        counts[sid, C_UNFILLED] += 1
        ev |= EV_CANCELLED
    return ev


@njit(cache=True, nogil=True)
def tp_level(price, side, tp_frac, take_profit, grid):
    """The take-profit of a position entered at ``price`` on ``side`` (1 long): ``tp_frac`` from the entry (NaN:
    the symbol's ``take_profit``; below 0: none, +-inf), on the grid's tick away from the market (a long's at or
    below, a short's at or above the exact level)."""
    tp = take_profit if tp_frac != tp_frac else tp_frac
    if side > 0:
        return _on_grid(price * (1.0 + tp), -1, grid) if tp >= 0.0 else np.inf
    return _on_grid(price * (1.0 - tp), 1, grid) if tp >= 0.0 else -np.inf


@njit(cache=True, nogil=True)
def _open(st, port, par, sid, ts, price, counts, capped):
    """The entry fills at ``price``; with ``capped`` the leverage cap applies (no room: the entry is
    cancelled, counted ``leverage``).  Returns 1 if a position was opened."""
    s = st[sid]
    q = par[sid]
    p = port[0]
    base = p.notional if p.notional > 0.0 else p.equity * p.size
    notional = base * s.size_mult
    if capped and p.leverage > 0.0:
        used = 0.0
        for j in range(st.shape[0]):
            if j != sid and st[j].status == OPEN:
                used += st[j].notional
        room = p.leverage * p.equity - used
        if not room > 0.0:
            s.status = FLAT
            counts[sid, C_LEVERAGE] += 1
            return 0
        if notional > room:
            notional = room
    if q.lot > 0.0:  # the venue's lot: the quantity down to it, and its minimums checked
        raw = notional / price
        if q.max_qty > 0.0 and raw > q.max_qty:
            raw = q.max_qty
        qty = math.floor(raw / q.lot + 1e-9) * q.lot
        if not qty > 0.0 or qty < q.min_qty - 1e-12 or qty * price < q.min_notional - 1e-9:
            s.status = FLAT
            counts[sid, C_BELOW_MINIMUM] += 1
            return 0
        notional = qty * price
        s.p_qty = qty
    else:
        s.p_qty = notional / price
    s.p_done = s.p_qty
    s.p_fills = 1
    s.p_rest = 0
    s.status = OPEN
    s.entry_ns = ts
    s.seen_ns = _add_sat(ts, q.inbound_ns)
    s.entry_price = price
    if s.hold_ns < 0:
        # the run's hold-timeout; 0 = none (strategies other than cascade-mm may leave it unset)
        s.hold_deadline_ns = ts + q.hold_timeout_ns if q.hold_timeout_ns > 0 else NEVER
    elif s.hold_ns == 0:
        s.hold_deadline_ns = NEVER
    else:
        s.hold_deadline_ns = _add_sat(ts, s.hold_ns)
    sl = s.sl_frac
    if sl != sl:
        sl = q.stop_loss
    s.tp_price = tp_level(price, s.side, s.tp_frac, q.take_profit, q.grid)
    if s.side > 0:
        s.sl_price = _on_grid(price * (1.0 - sl), 1, q.grid) if sl >= 0.0 else -np.inf
    else:
        s.sl_price = _on_grid(price * (1.0 + sl), -1, q.grid) if sl >= 0.0 else np.inf
    s.peak = price
    s.notional = notional
    s.funding = 0.0
    s.entry_queue = s.q_first if (q.queue != 0 and s.entry_kind == ENTRY_LIMIT and s.q_first < np.inf) else -1.0
    s.entry_rule = (1 if s.d_on != 0 else 0) if (q.queue != 0 and s.entry_kind == ENTRY_LIMIT) else -1
    if q.queue != 0:
        _q_join(s, -s.side, s.tp_price, q.grid, q.queue_unseen)  # the take-profit is a maker limit on the other side
    day = ts // NS_PER_DAY
    if day != s.fill_day:
        s.fill_day = day
        s.day_fills = 0
    s.day_fills += 1
    counts[sid, C_FILLS] += 1
    return 1


@njit(cache=True, nogil=True)
def _close(st, port, par, sid, ts, price, reason, exit_fee, ledger, counts):
    s = st[sid]
    q = par[sid]
    _roll(port, ts)
    p = port[0]
    entry_fee = q.maker_fee if s.entry_kind == ENTRY_LIMIT else q.taker_fee
    fees = entry_fee + exit_fee * price / s.entry_price  # the exit's fee on its own notional
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
        row.entry_kind = s.entry_kind
        row.exit_code = s.exit_code if reason == SIGNAL_EXIT else 0
        row.confidence = s.confidence
        row.size_mult = s.size_mult
        row.queue_ahead = s.entry_queue
        row.fill_rule = s.entry_rule
        row.fills = s.p_fills if s.p_fills > 0 else 1
        row.filled = s.p_done / s.p_qty if s.p_qty > 0.0 else 1.0
    p.n_trades = k + 1
    s.p_rest = 0
    s.status = FLAT
    s.closing = 0
    s.cooldown_until_ns = ts + q.cooldown_ns
    s.free_ns = _add_sat(ts, q.inbound_ns)  # the close's report reaches the bot
    col = C_EXTERNAL
    if 0 < reason < len(EXIT_COUNT_COLUMN):
        col = EXIT_COUNT_COLUMN[reason]
    counts[sid, col] += 1
    if s.q_on != 0:  # a same-symbol replacement: its entry goes out now that the position is closed
        _place_queued(st, par, sid, ts)


@njit(cache=True, nogil=True)
def _stop(s):
    """(level, reason) of the stop in force of an open position: the tightest of stop-loss,
    trailing stop and stop price (ties in that order)."""
    lvl = s.sl_price
    why = STOP_LOSS
    if s.side > 0:
        if s.trail > 0.0:
            t = s.peak * (1.0 - s.trail)
            if t > lvl:
                lvl = t
                why = TRAIL
        if s.stop_price > lvl:  # False for NaN
            lvl = s.stop_price
            why = STOP_PRICE
    else:
        if s.trail > 0.0:
            t = s.peak * (1.0 + s.trail)
            if t < lvl:
                lvl = t
                why = TRAIL
        if s.stop_price < lvl:
            lvl = s.stop_price
            why = STOP_PRICE
    return lvl, why


@njit(cache=True, nogil=True)
def _taker_px(price, side, slip):
    """A taker's fill price: ``price`` moved against the taker by ``slip`` (a fraction)."""
    if slip != 0.0:
        return price * (1.0 + side * slip)
    return price


@njit(cache=True, nogil=True)
def _lot_down(x, lot):
    """``x`` down to the lot (no lot: ``x``)."""
    if lot > 0.0:
        return math.floor(x / lot + 1e-9) * lot
    return x


@njit(cache=True, nogil=True)
def _rest_add(s, x):
    """``x`` more of a partially filled entry fills (at its limit, the position's entry price): all of the
    remainder when ``x`` reaches it."""
    left = s.p_qty - s.p_done
    if x >= left:
        s.p_done = s.p_qty
        s.p_rest = 0
    else:
        s.p_done += x
    s.notional = s.p_done * s.entry_price
    s.p_fills += 1


@njit(cache=True, nogil=True)
def _rest_fill(s, ts, x):
    """At ``ts``, ``x`` more of a partially filled entry's rest would fill: past the entry's timeout or a due
    signal exit the rest is cancelled instead; nothing happens for ``x`` 0."""
    if ts >= s.entry_deadline_ns or ts >= s.exit_due_ns:
        s.p_rest = 0
    elif x > 0.0:
        _rest_add(s, x)


@njit(cache=True, nogil=True)
def _rest_print(s, q, ts, price, qty):
    """A print while the remainder of a partially filled entry rests (first in its queue): a print through its
    price fills all of it, a print at it that much (down to the lot) (:func:`_rest_fill`)."""
    kp = _tk(price, q.grid)
    ke = _tk(s.entry_price, q.grid)
    x = 0.0
    if (s.side > 0 and kp < ke) or (s.side < 0 and kp > ke):
        x = s.p_qty - s.p_done
    elif kp == ke:
        x = _lot_down(qty, q.lot)
    _rest_fill(s, ts, x)


@njit(cache=True, nogil=True)
def _exit_due(s):
    """(time, reason) of an open position's timed exit: the earlier of its hold deadline and a due signal exit,
    never before the bot knows of the position (its fill + the way back)."""
    due = s.hold_deadline_ns
    why = s.hold_reason
    if s.exit_due_ns < due:
        due = s.exit_due_ns
        why = s.exit_due_reason
    if due < s.seen_ns:  # the bot closes a position only once it knows of it (inbound 0: due >= the fill)
        due = s.seen_ns
    return due, why


# ================================================================================================
# step functions (one per event kind)
# ================================================================================================
@njit(cache=True, nogil=True)
def step_trade(st, port, par, sid, ts, price, ledger, counts):
    """A trade print of symbol ``sid`` at ``ts`` (receive time): arrival/timeout of the entry, entry
    fill, exits; then the print becomes the symbol's last price.  Returns EV_* bits.  A print of
    unknown size (:func:`step_print` with size 0): under the queue rule it fills only through."""
    return step_print(st, port, par, sid, ts, price, 0.0, ledger, counts)


@njit(cache=True, nogil=True)
def step_print(st, port, par, sid, ts, price, qty, ledger, counts):
    """:func:`step_trade` with the print's size ``qty`` (the queue rule consumes the queue with it)."""
    if sid < 0 or sid >= st.shape[0]:
        return 0
    s = st[sid]
    ev = 0
    if s.status == PENDING or s.status == RESTING:
        ev = _settle(st, par, sid, ts, counts)
    status = s.status
    if status == RESTING:
        q = par[sid]
        if s.entry_kind == ENTRY_MARKET:
            if _open(st, port, par, sid, ts, _taker_px(price, s.side, q.slippage), counts, True):
                ev |= EV_FILLED
            else:
                ev |= EV_CANCELLED
        else:
            lim = s.limit_price
            part = -1.0
            if q.queue != 0:
                hit = _q_hit(s, price, lim, s.side, qty, q.grid)
                if hit and q.partial != 0 and _tk(price, q.grid) == _tk(lim, q.grid):
                    part = _lot_down(-s.q_ahead, q.lot)  # printed beyond the queue ahead: that much of it fills
                    if not part > 0.0:
                        hit = False  # less than a lot: nothing fills yet
            else:
                kp = _tk(price, q.grid)
                kl = _tk(lim, q.grid)
                if s.side > 0:
                    hit = kp < kl or (q.touch != 0 and kp == kl)
                else:
                    hit = kp > kl or (q.touch != 0 and kp == kl)
            if hit:
                if _open(st, port, par, sid, ts, lim, counts, True):
                    ev |= EV_FILLED
                    if part > 0.0 and part < s.p_qty:  # a partial fill: the rest rests, first in its queue
                        s.p_done = part
                        s.notional = part * lim
                        s.p_rest = 1
                else:
                    ev |= EV_CANCELLED
    elif status == OPEN:
        q = par[sid]
        if s.p_rest != 0:
            _rest_print(s, q, ts, price, qty)
        due, why = _exit_due(s)
        if ts >= due:
            _close(st, port, par, sid, ts, _taker_px(price, -s.side, q.slippage), why, q.taker_fee, ledger, counts)
            ev |= EV_CLOSED
        elif q.engine_exits != 0 and ts < _add_sat(s.seen_ns, q.order_latency_ns):
            # the engine's exits are not in force yet (it has not learnt of the fill, or its exit orders
            # are on their way out): the trailing stop's peak still follows the prints the engine will read
            if s.trail > 0.0 and ((s.side > 0 and price > s.peak) or (s.side < 0 and price < s.peak)):
                s.peak = price
        else:
            if s.trail > 0.0 and ((s.side > 0 and price > s.peak) or (s.side < 0 and price < s.peak)):
                s.peak = price
            lvl, why = _stop(s)
            kp = _tk(price, q.grid)
            kt = _tk(s.tp_price, q.grid)
            if s.side > 0:
                if price <= lvl:  # the stop is checked before the take-profit
                    _close(st, port, par, sid, ts, _taker_px(price, -1, q.slippage), why, q.taker_fee, ledger, counts)
                    ev |= EV_CLOSED
                elif (kp > kt or (q.touch != 0 and kp == kt)) if q.queue == 0 else \
                        (kp >= kt and _q_hit(s, price, s.tp_price, -1, qty, q.grid)):
                    _close(st, port, par, sid, ts, s.tp_price, TAKE_PROFIT, q.maker_fee, ledger, counts)
                    ev |= EV_CLOSED
            else:
                if price >= lvl:
                    _close(st, port, par, sid, ts, _taker_px(price, 1, q.slippage), why, q.taker_fee, ledger, counts)
                    ev |= EV_CLOSED
                elif (kp < kt or (q.touch != 0 and kp == kt)) if q.queue == 0 else \
                        (kp <= kt and _q_hit(s, price, s.tp_price, 1, qty, q.grid)):
                    _close(st, port, par, sid, ts, s.tp_price, TAKE_PROFIT, q.maker_fee, ledger, counts)
                    ev |= EV_CLOSED
    s.last_price = price
    s.last_ns = ts
    return ev


@njit(cache=True, nogil=True)
def step_exit(st, par, sid, ts, exit_code, tag):
    """An exit notice decided at ``ts`` for the signal tagged ``tag`` of symbol ``sid``: the strategy's
    exit condition became true now.  The symbol's working entry or position opened by that signal
    gets its signal exit due at ``ts + order-latency`` -- exactly what the signal's own ``exit_ns =
    ts`` would have set (a position already being replaced keeps the earlier of the two times; on a
    tie the signal exit wins, as when the signal carried it).  Not a decision: nothing is counted.
    Returns R_EXIT, or R_NO_POSITION when that signal holds nothing (never placed, or already done)."""
    s = st[sid]
    if s.q_on != 0 and s.q_tag == tag:  # the queued entry of a same-symbol replacement: its exit time
        if ts <= s.q_exit_ns:
            s.q_exit_ns = ts
            s.q_exit_code = exit_code
        return R_EXIT
    if s.status == FLAT or s.cascade_id != tag:
        return R_NO_POSITION
    due = _add_sat(ts, par[sid].order_latency_ns)
    if due <= s.exit_due_ns:
        s.exit_due_ns = due
        s.exit_due_reason = SIGNAL_EXIT
        s.exit_code = exit_code
    return R_EXIT


@njit(cache=True, nogil=True)
def _replaces_same(s, p, direction, confidence):
    """Whether a signal on a symbol that holds a working entry or position replaces it (``replace-same``):
    an entry signal of strictly higher confidence than the held one, not while that one is already
    being closed."""
    return p.replace_same != 0 and direction != 0 and s.closing == 0 and s.q_on == 0 and confidence > s.confidence


@njit(cache=True, nogil=True)
def _queue_entry(s, q, ts, direction, entry, confidence, size_mult, offset, take_profit, stop_loss, trail,
                 stop_price, max_hold_ns, entry_timeout_ns, exit_ns, exit_code, tag):
    """A same-symbol replacement decided at ``ts``: the open position closes at the first print at/after
    ``ts + order-latency`` (taker, reason ``replaced``; an earlier timed exit keeps its time) and the
    new signal's entry waits in the ``q_*`` fields until that close (:func:`_place_queued`)."""
    s.closing = 1
    due = _add_sat(ts, q.order_latency_ns)
    if due < s.exit_due_ns:
        s.exit_due_ns = due
        s.exit_due_reason = REPLACED
    s.q_on = 1
    s.q_side = 1 if direction > 0 else -1
    s.q_entry = entry
    s.q_tag = tag
    s.q_signal_ns = ts
    s.q_hold_ns = max_hold_ns
    s.q_timeout_ns = entry_timeout_ns
    s.q_exit_ns = exit_ns
    s.q_exit_code = exit_code
    s.q_confidence = confidence
    s.q_size_mult = size_mult
    s.q_offset = offset
    s.q_tp = take_profit
    s.q_sl = stop_loss
    s.q_trail = trail
    s.q_stop_price = stop_price
    s.q_latency_ns = q.order_latency_ns  # the signal's own latency (in force during its step), kept for the send


@njit(cache=True, nogil=True)
def _place_queued(st, par, sid, ts):
    """The queued entry of a same-symbol replacement is sent when the replaced position closes at ``ts``:
    it arrives the signal's order latency later (its own drawn latency, else ``order-latency``), its entry
    timeout runs from ``ts``, a limit entry's reference is the last print before the close; everything
    else is the signal's (its decision time stays ``signal_ns``; its signal exit, if any, is due that
    latency after its ``exit_ns``)."""
    s = st[sid]
    q = par[sid]
    s.q_on = 0
    side = s.q_side
    s.side = side
    s.ref_price = s.last_price
    s.entry_kind = s.q_entry
    off = q.offset if s.q_offset != s.q_offset else s.q_offset
    if s.q_entry == ENTRY_LIMIT:
        r = _snap(s.ref_price, q.grid)
        s.limit_price = _on_grid(r * (1.0 - off) if side > 0 else r * (1.0 + off), side, q.grid)
    else:
        s.limit_price = np.nan
    s.status = PENDING
    s.cascade_id = s.q_tag
    s.signal_ns = s.q_signal_ns
    lat = s.q_latency_ns
    s.arrive_ns = ts + lat
    s.entry_deadline_ns = ts + (q.entry_timeout_ns if s.q_timeout_ns < 0 else s.q_timeout_ns)
    tp = s.q_tp
    sl = s.q_sl
    s.tp_frac = tp if (tp != tp or tp > 0.0) else -1.0
    s.sl_frac = sl if (sl != sl or sl > 0.0) else -1.0
    s.trail = s.q_trail if s.q_trail > 0.0 else 0.0
    s.stop_price = s.q_stop_price
    s.hold_ns = s.q_hold_ns
    s.hold_reason = TIMEOUT if s.q_hold_ns < 0 else MAX_HOLD
    s.exit_due_ns = NEVER if s.q_exit_ns == NEVER else _add_sat(s.q_exit_ns, lat)
    s.exit_due_reason = SIGNAL_EXIT
    s.exit_code = s.q_exit_code
    s.closing = 0
    s.confidence = s.q_confidence
    s.size_mult = s.q_size_mult


@njit(cache=True, nogil=True)
def step_entry(st, port, par, sid, ts, direction, skip_code, entry, confidence, size_mult, offset,
               take_profit, stop_loss, trail, stop_price, max_hold_ns, entry_timeout_ns, exit_ns, exit_code,
               tag, counts):
    """One signal (the fields of SIGNAL_DTYPE) of symbol ``sid`` decided at ``ts``.  Places an entry
    (R_ORDER) or returns the reason nothing was placed (R_*)."""
    if sid < 0 or sid >= st.shape[0]:
        return R_UNKNOWN_SYMBOL
    if direction == 0 and skip_code == SKIP_EXIT:
        return step_exit(st, par, sid, ts, exit_code, tag)
    counts[sid, C_CASCADES] += 1
    s = st[sid]
    q = par[sid]
    p = port[0]
    _settle(st, par, sid, ts, counts)
    if direction == 0 and skip_code != SKIP_MIXED:  # the strategy's own decision not to trade
        counts[sid, C_SKIPPED] += 1
        return R_SKIPPED
    same = 0
    if s.status != FLAT:
        if not _replaces_same(s, p, direction, confidence):
            counts[sid, C_BUSY] += 1
            return R_BUSY
        same = 1
    if same == 0 and ts < s.cooldown_until_ns:
        counts[sid, C_COOLDOWN] += 1
        return R_COOLDOWN
    if same == 0 and ts < s.free_ns:  # the bot has not yet heard that its entry / position ended
        counts[sid, C_BUSY] += 1
        return R_BUSY
    if direction == 0:  # mixed: counted after busy and cooldown, as the guide's strategy always did
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
    if q.daily_trades > 0 and s.fill_day == ts // NS_PER_DAY and s.day_fills >= q.daily_trades:
        counts[sid, C_DAILY_TRADES] += 1
        return R_DAILY_TRADES
    busy = 0
    victim = -1
    for j in range(st.shape[0]):
        if j != sid:
            if st[j].status == PENDING or st[j].status == RESTING:
                _settle(st, par, j, ts, counts)
            o = st[j]
            if o.status != FLAT and o.closing == 0:
                busy += 1
                if victim < 0:
                    victim = j
                else:
                    v = st[victim]
                    if o.confidence < v.confidence or (o.confidence == v.confidence and o.signal_ns < v.signal_ns):
                        victim = j
            elif o.status != FLAT and o.q_on != 0:  # closing for a same-symbol replacement: its slot stays taken
                busy += 1
    cap = p.max_symbols
    over = R_MAX_SYMBOLS
    if busy < p.max_symbols:
        over = -1
        if p.max_positions > 0 and busy >= p.max_positions:
            over = R_MAX_POSITIONS
            cap = p.max_positions
    if over < 0:
        victim = -1
    elif not (p.replace != 0 and victim >= 0 and st[victim].confidence < confidence and busy - 1 < cap
              and (p.max_positions <= 0 or busy - 1 < p.max_positions) and busy - 1 < p.max_symbols):
        if over == R_MAX_SYMBOLS:
            counts[sid, C_MAX_SYMBOLS] += 1
        else:
            counts[sid, C_MAX_POSITIONS] += 1
        return over
    if entry == ENTRY_LIMIT and (s.last_ns == NO_TIME or ts - s.last_ns > q.max_ref_age_ns):
        counts[sid, C_NO_REF] += 1
        return R_NO_REF
    if victim >= 0:
        v = st[victim]
        if v.status == OPEN:
            v.closing = 1
            due = _add_sat(ts, par[victim].order_latency_ns)
            if due < v.exit_due_ns:
                v.exit_due_ns = due
                v.exit_due_reason = REPLACED
        else:
            v.status = FLAT
            counts[victim, C_UNFILLED] += 1
    if same != 0:
        if s.status == OPEN:  # closed first (taker, reason replaced); the new entry is placed after the close
            _queue_entry(s, par[sid], ts, direction, entry, confidence, size_mult, offset, take_profit, stop_loss,
                         trail, stop_price, max_hold_ns, entry_timeout_ns, exit_ns, exit_code, tag)
            counts[sid, C_ORDERS] += 1
            return R_ORDER
        s.status = FLAT  # a working entry is cancelled and the new one takes its place at once
        counts[sid, C_UNFILLED] += 1
    ref = s.last_price
    side = 1 if direction > 0 else -1
    off = q.offset if offset != offset else offset
    s.side = side
    s.ref_price = ref
    s.entry_kind = entry
    if entry == ENTRY_LIMIT:
        r = _snap(ref, q.grid)
        s.limit_price = _on_grid(r * (1.0 - off) if side > 0 else r * (1.0 + off), side, q.grid)
    else:
        s.limit_price = np.nan
    s.status = PENDING
    s.cascade_id = tag
    s.signal_ns = ts
    s.arrive_ns = ts + q.order_latency_ns
    s.entry_deadline_ns = ts + (q.entry_timeout_ns if entry_timeout_ns < 0 else entry_timeout_ns)
    s.tp_frac = take_profit if (take_profit != take_profit or take_profit > 0.0) else -1.0
    s.sl_frac = stop_loss if (stop_loss != stop_loss or stop_loss > 0.0) else -1.0
    s.trail = trail if trail > 0.0 else 0.0
    s.stop_price = stop_price
    s.hold_ns = max_hold_ns
    s.hold_reason = TIMEOUT if max_hold_ns < 0 else MAX_HOLD
    if exit_ns == NEVER:
        s.exit_due_ns = NEVER
    else:
        s.exit_due_ns = _add_sat(exit_ns, q.order_latency_ns)
    s.exit_due_reason = SIGNAL_EXIT
    s.exit_code = exit_code
    s.closing = 0
    s.confidence = confidence
    s.size_mult = size_mult
    counts[sid, C_ORDERS] += 1
    return R_ORDER


@njit(cache=True, nogil=True)
def step_signal(st, port, par, sid, ts, dominant, cascade_id, ledger, counts):
    """A CONFIRMED cascade of symbol ``sid`` decided at ``ts`` (the guide's strategy): dominant long
    -> a long limit entry, short -> a short one, anything else -> mixed.  See :func:`step_entry`."""
    if sid < 0 or sid >= st.shape[0]:
        return R_UNKNOWN_SYMBOL
    d = 1 if dominant == 1 else (-1 if dominant == 2 else 0)
    return step_entry(st, port, par, sid, ts, d, SKIP_MIXED, ENTRY_LIMIT, 1.0, 1.0, np.nan, np.nan, np.nan,
                      par[sid].trail, np.nan, -1, -1, NEVER, 0, cascade_id, counts)


@njit(cache=True, nogil=True)
def step_funding(st, sid, ts, rate):
    """A funding event: an open position pays ``side x rate x last / entry`` (fraction of its notional)."""
    if sid < 0 or sid >= st.shape[0]:
        return
    s = st[sid]
    if s.status == OPEN and s.entry_price > 0.0 and s.last_price == s.last_price:
        s.funding += s.side * rate * s.last_price / s.entry_price


@njit(cache=True, nogil=True)
def step_quote(st, par, sid, ts, side, price, qty, counts):
    """A top-of-book row of symbol ``sid`` (``side`` 3 = Side.BUY: the best bid, else the best ask;
    ``price``, displayed ``qty``).  An order due to arrive by ``ts`` arrives first (the post-only
    check sees the quote in force before this row); then the row is in force and, under the queue
    rule, moves the queue of the working maker limit.  Returns EV_* bits."""
    if sid < 0 or sid >= st.shape[0]:
        return 0
    s = st[sid]
    ev = 0
    if s.status == PENDING and ts >= s.arrive_ns:
        ev = _settle(st, par, sid, ts, counts)
    if side == _BID:
        s.bid = price
        s.bid_qty = qty
    else:
        s.ask = price
        s.ask_qty = qty
    s.d_quotes = 1
    q = par[sid]
    if q.queue != 0 and s.d_on == 0:  # with depth, the depth decides the queue
        if s.status == RESTING and s.entry_kind == ENTRY_LIMIT:
            if (side == _BID) == (s.side > 0):
                _q_depth(s, q.queue_pow, s.side, s.limit_price, q.grid)
        elif s.status == OPEN and s.tp_price == s.tp_price and abs(s.tp_price) < np.inf:
            if (side == _BID) == (s.side < 0):
                _q_depth(s, q.queue_pow, -s.side, s.tp_price, q.grid)
    return ev


@njit(cache=True, nogil=True)
def step_clock(st, port, par, ts, counts):
    """A clock tick: order arrivals and entry timeouts due by ``ts`` on every symbol, loss-limit day
    roll.  Returns EV_* bits (or-ed over symbols)."""
    ev = 0
    for j in range(st.shape[0]):
        if st[j].status == PENDING or st[j].status == RESTING:
            ev |= _settle(st, par, j, ts, counts)
    _roll(port, ts)
    return ev


@njit(cache=True, nogil=True)
def step_price(st, sid, ts, price):
    """Record a print as the symbol's last price without simulating fills (live venue mode)."""
    if 0 <= sid < st.shape[0]:
        st[sid].last_price = price
        st[sid].last_ns = ts


@njit(cache=True, nogil=True)
def external_entry_fill(st, port, par, sid, ts, price, counts):
    """Venue mode: the entry filled at ``price``.  Returns 1 if a working entry became a position."""
    s = st[sid]
    if s.status == PENDING or s.status == RESTING:
        _open(st, port, par, sid, ts, price, counts, False)
        return 1
    return 0


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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
def _signal_latency(par, sid, latency_ns):
    """A signal's own order latency (``latency_ns`` > 0, drawn from a measured distribution) in force for
    its step: sets the symbol's ``order_latency_ns``; returns the value it replaced for
    :func:`_restore_latency` (-1: nothing changed)."""
    if latency_ns <= 0 or sid < 0 or sid >= par.shape[0]:
        return -1
    kept = par[sid].order_latency_ns
    par[sid].order_latency_ns = latency_ns
    return kept


@njit(cache=True, nogil=True)
def _restore_latency(par, sid, kept):
    if kept >= 0:
        par[sid].order_latency_ns = kept


#: ``end_ns`` of :func:`run_exec` for one part of a replay cut in time: no end-of-run clock step (the twin's
#: ``end_ns=None``); the last part gets the real end
NO_CLOCK = -(2**63)



# ---- the queue at depth (DEPTH rows: the L2 book, liqcore._jit.depth) ---------------------------------
# run_exec keeps each symbol's depth book and, for its working maker limit, the size displayed at the
# limit's level (``d_lvl``), looked up when the limit is placed (:func:`_d_track`) and moved by every
# DEPTH row at that level (:func:`_d_row`); ``_q_join`` puts the limit behind that size.

@njit(cache=True, nogil=True)
def _d_top(tables, meta, sid, bid, grid):
    """(price, size) of the depth book's best level on one side of ``sid`` (NaN, 0: none)."""
    k = meta[sid, _dp.M_BID if bid else _dp.M_ASK]
    if k == _dp.NO_LEVEL:
        return np.nan, 0.0
    return k / (grid if grid > 0.0 else _dp.FINE), _dp.size_at(tables, sid, bid, k)


@njit(cache=True, nogil=True)
def _d_best(s, tables, meta, sid, grid):
    """The depth book's best bid and ask as the book in force (a symbol without top-of-book rows)."""
    s.bid, s.bid_qty = _d_top(tables, meta, sid, True, grid)
    s.ask, s.ask_qty = _d_top(tables, meta, sid, False, grid)


@njit(cache=True, nogil=True)
def _d_working(s):
    """1 when symbol state ``s`` has a maker limit in the queue (a resting limit entry, or a position's
    take-profit)."""
    if s.status == RESTING and s.entry_kind == ENTRY_LIMIT:
        return 1
    return 1 if (s.status == OPEN and abs(s.tp_price) < np.inf) else 0


@njit(cache=True, nogil=True)
def _d_track(st, par, tables, meta, sid):
    """After a step of symbol ``sid``: the level of its working maker limit looked up in the depth book
    when the limit changed (a new entry, a take-profit set at the fill), and a limit that joined before
    its level was known put behind the size displayed there."""
    s = st[sid]
    if s.d_on == 0:
        return
    if (s.status == PENDING or s.status == RESTING) and s.entry_kind == ENTRY_LIMIT:
        px = s.limit_price
        side = s.side
    elif s.status == OPEN and abs(s.tp_price) < np.inf:
        px = s.tp_price
        side = -s.side
    else:
        s.d_key = _dp.NO_LEVEL
        s.d_rejoin = 0
        return
    key = _dp.dkey(px, par[sid].grid)
    if key != s.d_key or side != s.d_side:
        s.d_key = key
        s.d_side = side
        s.d_lvl = _dp.size_at(tables, sid, side > 0, key)
    if s.d_rejoin != 0:
        s.d_rejoin = 0
        s.q_ahead = s.d_lvl if s.d_known != 0 else np.inf
        s.q_level = s.d_lvl
        s.q_traded = 0.0


@njit(cache=True, nogil=True)
def _d_settle_run(st, par, tables, sid):
    """A snapshot run of symbol ``sid`` is over (its next row, of any kind, has come): its working limit's
    level is what the new book shows (0: not listed), which moves the queue as a change of the level would."""
    s = st[sid]
    s.d_pend = 0
    if s.d_key != _dp.NO_LEVEL and _d_working(s) != 0:
        _q_move(s, par[sid].queue_pow, s.d_lvl)


@njit(cache=True, nogil=True)
def _d_row(st, par, tables, meta, sid, ts, side, price, qty, flags, counts):
    """A DEPTH row of symbol ``sid`` under the queue rule: an order due to arrive by ``ts`` arrives first
    (it joins the book before this row), then the row is applied to the book and, at the working limit's
    level, moves its queue (a fall follows the queue model, a rise goes behind it).  Returns D_CROSSED when
    the row puts size on the other side at or through the working limit's price while the book is known (a
    book cannot stand crossed over a resting limit: everything at its price, the limit included, traded;
    :func:`_d_cross` fills it), else 0."""
    s = st[sid]
    q = par[sid]
    if s.status == PENDING and ts >= s.arrive_ns:
        _settle(st, par, sid, ts, counts)
    if s.d_pend != 0 and not ((flags & _dp._SNAP) != 0 and meta[sid, _dp.M_RUN] == ts):
        _d_settle_run(st, par, tables, sid)  # the run before this row is over
    first = s.d_on == 0
    if (flags & _dp._SNAP) != 0 and meta[sid, _dp.M_RUN] != ts:
        s.d_lvl = 0.0  # a new snapshot run: the level is gone unless the run lists it
    key = _dp.apply_row(tables, meta, sid, ts, side, price, qty, flags, q.grid)
    s.d_on = 1
    s.d_known = meta[sid, _dp.M_KNOWN]
    if s.d_quotes == 0:
        _d_best(s, tables, meta, sid, q.grid)
    if first:  # a limit placed before the symbol's first depth row: its level from now on
        s.d_key = _dp.NO_LEVEL
        _d_track(st, par, tables, meta, sid)
        if _d_working(s) != 0:
            s.q_ahead = np.inf  # its queue unknown until its level is seen
    if (flags & _dp._GAP) != 0:  # the book is unknown: so is the level, until the next snapshot run
        s.d_lvl = 0.0
        return 0
    own = (side == _BID) == (s.d_side > 0)
    if key == s.d_key and own:
        s.d_lvl = qty
    if (flags & _dp._SNAP) != 0:
        s.d_pend = 1  # the queue moves once the run is over (the symbol's next row)
        return 0
    if s.p_rest != 0 and s.status == OPEN and qty > 0.0 and s.d_known != 0 and (side == _BID) != (s.side > 0):
        ke = _dp.dkey(s.entry_price, q.grid)  # the remainder of a partially filled entry, crossed
        if (key <= ke) if s.side > 0 else (key >= ke):
            return D_CROSSED_REST
    if s.d_key == _dp.NO_LEVEL or _d_working(s) == 0:
        return 0
    if own:
        if key == s.d_key:
            _q_move(s, q.queue_pow, qty)
        return 0
    if qty > 0.0 and s.d_known != 0 and ((key <= s.d_key) if s.d_side > 0 else (key >= s.d_key)):
        return D_CROSSED
    return 0


@njit(cache=True, nogil=True)
def _d_cross(st, port, par, sid, ts, ledger, counts, code):
    """A depth row crossed the working maker limit of ``sid`` (:func:`_d_row` returned D_CROSSED): a resting
    entry fills at its limit (rule D_RULE_CROSSED) unless its deadline has passed (then it is cancelled, as a
    print would find it); a take-profit in force fills at its price (not when the position's timed exit is
    due, nor before the engine's exits are in force: a print decides those).  Returns EV_* bits."""
    s = st[sid]
    q = par[sid]
    if code == D_CROSSED_REST:  # the rest of a partially filled entry: all of it, unless it is cancelled by now
        _rest_fill(s, ts, s.p_qty - s.p_done)
        return 0
    if s.status == RESTING:
        ev = _settle(st, par, sid, ts, counts)
        if s.status == RESTING and s.entry_kind == ENTRY_LIMIT:
            if _open(st, port, par, sid, ts, s.limit_price, counts, True):
                s.entry_rule = D_RULE_CROSSED
                ev |= EV_FILLED
            else:
                ev |= EV_CANCELLED
        return ev
    if s.status == OPEN and abs(s.tp_price) < np.inf:
        due, _why = _exit_due(s)
        if ts >= due or (q.engine_exits != 0 and ts < _add_sat(s.seen_ns, q.order_latency_ns)):
            return 0
        _close(st, port, par, sid, ts, s.tp_price, TAKE_PROFIT, q.maker_fee, ledger, counts)
        return EV_CLOSED
    return 0


@njit(cache=True, nogil=True)
def new_depth(n_symbols):
    """Empty depth books for :func:`run_exec` (``tables``, ``meta``: liqcore._jit.depth.new_books)."""
    return _dp.new_books(n_symbols)

@njit(cache=True, nogil=True)
def run_exec(ev, sig, st, port, par, ledger, counts, end_ns, tables=None, meta=None):
    """Replay ``ev`` (EVENT_DTYPE, sorted by ts_recv) merged with signals (SIGNAL_DTYPE, sorted by
    (ts_ns, ev_idx, -confidence): :func:`liqcore.strategies.sort_signals`); at the end settle order
    arrivals / entry timeouts due by ``end_ns``.  Returns the number of trade prints processed.  Only
    TRADE rows are prints and FUNDING rows charge funding; QUOTE top-of-book rows are read by the
    symbols under the queue rule (:func:`step_quote`); DEPTH rows, given the depth books ``tables`` and
    ``meta`` (:func:`new_depth`; kept across the parts of a replay), are the L2 book of the symbols under the
    queue rule (:func:`_d_row`: the queue at depth); every other kind (liquidations, marks, open interest)
    only orders the replay."""
    n = ev.shape[0]
    nr = sig.shape[0]
    nsym = st.shape[0]
    r = 0
    prints = 0
    quotes = False  # quotes matter only to symbols under the queue rule
    for j in range(par.shape[0]):
        if par[j].queue != 0:
            quotes = True
    # the next signal's (time, event index), kept in registers
    nt = sig[0].ts_ns if nr > 0 else NEVER
    ni = sig[0].ev_idx if nr > 0 else NEVER
    for i in range(n):
        e = ev[i]
        t = e.ts_recv
        while nt < t or (nt == t and ni < i):
            g = sig[r]
            if tables is not None:
                if 0 <= g.symbol_id < nsym and st[g.symbol_id].d_pend != 0:
                    _d_settle_run(st, par, tables, g.symbol_id)
            kept = _signal_latency(par, g.symbol_id, g.latency_ns)
            step_entry(st, port, par, g.symbol_id, g.ts_ns, g.direction, g.skip_code, g.entry, g.confidence,
                       g.size_mult, g.offset, g.take_profit, g.stop_loss, g.trail, g.stop_price, g.max_hold_ns,
                       g.entry_timeout_ns, g.exit_ns, g.exit_code, g.tag, counts)
            _restore_latency(par, g.symbol_id, kept)
            if tables is not None:
                if 0 <= g.symbol_id < nsym:
                    _d_track(st, par, tables, meta, g.symbol_id)
            r += 1
            if r < nr:
                nt = sig[r].ts_ns
                ni = sig[r].ev_idx
            else:
                nt = NEVER
                ni = NEVER
        k = e.kind
        if tables is not None:
            sid = e.symbol_id
            if k != _DEPTH and 0 <= sid < nsym and st[sid].d_pend != 0:
                _d_settle_run(st, par, tables, sid)
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
                if status == OPEN:
                    if t < s.hold_deadline_ns and t < s.exit_due_ns and s.p_rest == 0:
                        lvl, _w = _stop(s)
                        g = par[sid].grid
                        if s.side > 0:
                            quiet = lvl < price and _tk(price, g) < _tk(s.tp_price, g) and not (
                                s.trail > 0.0 and price > s.peak)
                        else:
                            quiet = price < lvl and _tk(price, g) > _tk(s.tp_price, g) and not (
                                s.trail > 0.0 and price < s.peak)
                        if quiet:
                            s.last_price = price
                            s.last_ns = t
                            continue
                elif status == RESTING and s.entry_kind == ENTRY_LIMIT and t < s.entry_deadline_ns \
                        and t < s.exit_due_ns:
                    g = par[sid].grid
                    kp = _tk(price, g)
                    kl = _tk(s.limit_price, g)
                    if (s.side > 0 and kp > kl) or (s.side < 0 and kp < kl):
                        s.last_price = price
                        s.last_ns = t
                        continue
            step_print(st, port, par, sid, t, price, e.qty, ledger, counts)
            if tables is not None:
                if 0 <= sid < nsym:
                    _d_track(st, par, tables, meta, sid)
        elif k == _FUNDING:
            step_funding(st, e.symbol_id, t, e.price)
        elif k == _QUOTE and quotes:
            sid = e.symbol_id
            if 0 <= sid < nsym:
                s = st[sid]
                status = s.status
                # a quote only updates the book in force unless it may move a working maker limit:
                # an arrival due, or a quote on the limit's side at or past its price
                bid_row = e.side == _BID
                quiet = status == FLAT or (status == PENDING and t < s.arrive_ns) or par[sid].queue == 0
                g = par[sid].grid
                if status == RESTING:
                    quiet = quiet or s.entry_kind != ENTRY_LIMIT or bid_row != (s.side > 0) or (
                        _tk(e.price, g) > _tk(s.limit_price, g) if bid_row else _tk(e.price, g) < _tk(s.limit_price, g))
                elif status == OPEN:
                    quiet = quiet or bid_row != (s.side < 0) or (
                        _tk(e.price, g) > _tk(s.tp_price, g) if bid_row else _tk(e.price, g) < _tk(s.tp_price, g))
                if quiet:
                    s.d_quotes = 1
                    if bid_row:
                        s.bid = e.price
                        s.bid_qty = e.qty
                    else:
                        s.ask = e.price
                        s.ask_qty = e.qty
                    continue
                step_quote(st, par, sid, t, e.side, e.price, e.qty, counts)
                if tables is not None:
                    _d_track(st, par, tables, meta, sid)
        elif k == _DEPTH:
            if tables is not None:
                sid = e.symbol_id
                if 0 <= sid < nsym and sid < meta.shape[0] and par[sid].queue != 0:
                    c = _d_row(st, par, tables, meta, sid, t, e.side, e.price, e.qty, e.flags, counts)
                    if c != 0:
                        _d_cross(st, port, par, sid, t, ledger, counts, c)
                        _d_track(st, par, tables, meta, sid)
    while r < nr:
        g = sig[r]
        if tables is not None:
            if 0 <= g.symbol_id < nsym and st[g.symbol_id].d_pend != 0:
                _d_settle_run(st, par, tables, g.symbol_id)
        kept = _signal_latency(par, g.symbol_id, g.latency_ns)
        step_entry(st, port, par, g.symbol_id, g.ts_ns, g.direction, g.skip_code, g.entry, g.confidence,
                   g.size_mult, g.offset, g.take_profit, g.stop_loss, g.trail, g.stop_price, g.max_hold_ns,
                   g.entry_timeout_ns, g.exit_ns, g.exit_code, g.tag, counts)
        _restore_latency(par, g.symbol_id, kept)
        if tables is not None:
            if 0 <= g.symbol_id < nsym:
                _d_track(st, par, tables, meta, g.symbol_id)
        r += 1
    if end_ns != NO_CLOCK:  # a part of a longer replay: its clock step comes at the real end
        step_clock(st, port, par, end_ns, counts)
    return prints


def records_signals(rec_t, rec_idx, rec_sid, rec_dom, rec_cid, par) -> np.ndarray:
    """The guide's strategy's signals from CONFIRMED cascade records (already in decision order)."""
    sig = empty_signals(len(rec_t))
    sig["ts_ns"] = rec_t
    sig["ev_idx"] = rec_idx
    sig["symbol_id"] = rec_sid
    dom = np.asarray(rec_dom, dtype=np.int64)
    sig["direction"] = np.where(dom == 1, 1, np.where(dom == 2, -1, 0))
    sig["skip_code"] = np.where((dom == 1) | (dom == 2), 0, SKIP_MIXED)
    sig["entry"] = ENTRY_LIMIT
    sid = np.asarray(rec_sid, dtype=np.int64)
    ok = (sid >= 0) & (sid < len(par))
    sig["trail"][ok] = par["trail"][sid[ok]]
    sig["tag"] = rec_cid
    return sig


def run_sim(ev, rec_t, rec_idx, rec_sid, rec_dom, rec_cid, st, port, par, ledger, counts, end_ns, depth=None):
    """The guide's strategy on CONFIRMED cascade records (sorted by (decision time, event index)):
    the records become its signals and :func:`run_exec` replays them (``depth``: the depth books,
    :func:`new_depth`, for DEPTH rows).  Returns the number of trade prints processed."""
    sig = records_signals(rec_t, rec_idx, rec_sid, rec_dom, rec_cid, par)
    if depth is not None:
        return run_exec(ev, sig, st, port, par, ledger, counts, end_ns, depth[0], depth[1])
    return run_exec(ev, sig, st, port, par, ledger, counts, end_ns)


@njit(cache=True, nogil=True)
def _guide_spec(s):
    """Reset a symbol's signal spec to the guide's (levels from the parameters, no trail / stop price
    / signal exit) -- for entries and positions set from outside a decision."""
    s.entry_kind = ENTRY_LIMIT
    s.hold_ns = -1
    s.hold_reason = TIMEOUT
    s.exit_due_ns = NEVER
    s.exit_due_reason = SIGNAL_EXIT
    s.exit_code = 0
    s.closing = 0
    s.tp_frac = np.nan
    s.sl_frac = np.nan
    s.trail = 0.0
    s.stop_price = np.nan
    s.confidence = 1.0
    s.size_mult = 1.0


# ================================================================================================
# live-shell steps (venue mode, restarts): the shell changes the core's state only through these
# ================================================================================================
@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def amend_entry(st, sid, price):
    """The working entry's limit becomes ``price`` (e.g. the venue's price grid).  Returns 1 if amended."""
    if sid < 0 or sid >= st.shape[0] or not price > 0.0:
        return 0
    s = st[sid]
    if s.status == PENDING or s.status == RESTING:
        s.limit_price = price
        return 1
    return 0


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def set_working(st, sid, status, side, price, ref_price, cascade_id, signal_ns, arrive_ns, deadline_ns):
    """A flat symbol gets a working entry (``status`` PENDING or RESTING) placed outside a cascade
    decision (restart, operator).  Returns 1 if the entry was set."""
    if sid < 0 or sid >= st.shape[0] or (status != PENDING and status != RESTING):
        return 0
    s = st[sid]
    if s.status != FLAT:
        return 0
    _guide_spec(s)
    s.status = status
    s.side = side
    s.limit_price = price
    s.ref_price = ref_price
    s.cascade_id = cascade_id
    s.signal_ns = signal_ns
    s.arrive_ns = arrive_ns
    s.entry_deadline_ns = deadline_ns
    return 1


@njit(cache=True, nogil=True)
def set_open(st, sid, side, entry_ns, entry_price, tp_price, sl_price, notional, hold_deadline_ns, funding):
    """A flat or working symbol gets an open position held at the venue (restart, external fill of an
    entry the core did not place).  Returns 1 if the position was set."""
    if sid < 0 or sid >= st.shape[0] or not entry_price > 0.0:
        return 0
    s = st[sid]
    if s.status == OPEN:
        return 0
    _guide_spec(s)
    s.status = OPEN
    s.side = side
    s.entry_ns = entry_ns
    s.entry_price = entry_price
    s.tp_price = tp_price
    s.sl_price = sl_price
    s.notional = notional
    s.hold_deadline_ns = hold_deadline_ns
    s.funding = funding
    s.seen_ns = entry_ns  # (a position the bot was told of: known from its entry)
    return 1
