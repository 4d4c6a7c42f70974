"""The execution model's vocabulary: per-symbol statuses, the counts' columns, the results of the step
functions, and the state, portfolio, parameter and ledger layouts (:data:`STATE_DTYPE`, :data:`PORT_DTYPE`,
:data:`PARAM_DTYPE`, :data:`LEDGER_DTYPE`) with their constructors.  The model itself: :mod:`liqcore._jit.simcore`
(the queue rule and the step functions) and :mod:`liqcore._jit.sim` (the queue at depth and the runs).

May import: numpy, ``types``, ``codes``, ``signals`` and ``_jit.depth`` (the depth tables' layout).
"""
from __future__ import annotations

import numpy as np

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
from liqcore.signals import ENTRY_LIMIT, NEVER
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
    # an inverse contract's funding paid so far, in the coin (``side x rate x notional / price`` per funding event)
    ("funding_coin", "<f8"),
    # the margin-coin account of the inverse symbols whose ``margin_sid`` is this symbol (NaN: not yet started):
    # its equity in the coin, started at the run's equity (USD) / the first entry's price on that coin, and the
    # loss limits' anchors (the coin equity at the start of the UTC day / ISO week, and that day and week)
    ("coin_equity", "<f8"), ("coin_day_start", "<f8"), ("coin_week_start", "<f8"), ("coin_day", "<i8"),
    ("coin_week", "<i8"),
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
    # an inverse (coin-margined) contract: the USD value of one contract (0: a linear contract); its position is
    # contracts x contract_usd USD (``whole_contracts`` 1: the entry's size down to whole contracts, fewer than one
    # not opened, below_minimum), its P&L and fees in the coin (``direction x contracts x contract_usd x
    # (1/entry - 1/exit)``), its ledger's USD P&L that coin at the exit price
    ("contract_usd", "<f8"), ("whole_contracts", "<i8"),
    # an inverse symbol's margin-coin account: the symbol whose state keeps it (the run's first symbol margined in
    # the same coin): sizing from equity, the leverage cap and the loss limits of an inverse symbol are that coin's
    ("margin_sid", "<i8"),
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
    # -1 not a queue fill (a print through the limit, the through / touch rules, market entries)
    ("fill_rule", "<i8"),
    # the fills that made the position (1: the whole order at once) and the share of the entry's quantity filled
    # (1.0: all of it; below 1 only under ``--partial on``, the remainder cancelled at the entry's timeout or exit)
    ("fills", "<i8"), ("filled", "<f8"),
    # inverse contracts (contract_usd > 0): the position in contracts and its P&L net of fees and funding in the
    # coin (``pnl`` is that at the exit price, in USD); 0 for a linear contract
    ("contracts", "<f8"), ("pnl_coin", "<f8"),
    # an inverse contract's margin-coin equity after the trade, in the coin (0 for a linear contract)
    ("equity_coin_after", "<f8"),
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
    st["coin_equity"] = np.nan
    st["coin_day"] = NO_TIME
    st["coin_week"] = NO_TIME
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
