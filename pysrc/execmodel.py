"""Reference twin of the execution model (``liqcore/_jit/sim.py``: ``run_exec``, ``run_sim`` and their
step functions): signals -> orders -> fills -> trades as a plain loop, written for reading.  The one
oracle of the kernel: the guide's path (``run_sim`` on cascade records, ``step_signal``) is the
cascade-mm signals through the same model (:func:`simulate_records`, :meth:`Model.on_cascade`), and
the live shell's venue-mode steps (``external_*``, ``set_working``, ``set_open``) are methods too.

    >>> m = simulate(events, signals, symbol_params, equity=1.0, daily_loss=0.01, weekly_loss=0.02,
    ...              max_symbols=4, size=0.25, max_positions=0, replace=False, leverage=0.0,
    ...              notional=0.0, end_ns=None)
    >>> m.ledger, m.counts, m.equity, m.states

``events``: EVENT_DTYPE rows sorted by ts_recv; ``signals``: SIGNAL_DTYPE rows in processing order
(``liqcore.strategies.sort_signals``); ``symbol_params``: one dict per symbol id with the fields of
the kernel's PARAM_DTYPE (fractions; ``*_ns`` durations; ``touch`` 0/1; ``hours_from``/``hours_to``
-1 = all hours; ``slippage`` a fraction; ``trail``; ``daily_trades`` 0 = no cap).

The rules, in the order they apply:

1. A signal is processed right after the event ``ev_idx`` (before every event with a later time).
2. Decision gates: skip (direction 0, not mixed), busy symbol, cooldown, mixed, hours, loss limits, daily trades,
   max-symbols, max-positions (with replace), reference price (limit entries), then the order.
3. Arrival after order latency: a post-only limit that would take liquidity is rejected; entry
   timeout and a signal exit due before the fill cancel the entry.
4. Fills: limit at the limit on a print through it (or at it with touch; with the queue rule at it
   once the prints at it have consumed the queue ahead, see :meth:`Model.q_join`), maker fee; market at the
   first print at/after arrival, moved against the taker by the slippage, taker fee.  Leverage cap
   at the fill.
5. Exits from the print after the fill (the bot learns of the fill ``inbound_ns`` after it: a timed exit
   is due no earlier than that; ``engine_exits`` 1: the take-profit / stop-loss / trailing stop act only on
   prints at or after the fill + ``inbound_ns`` + ``order_latency_ns``; an entry rejected or cancelled, or a
   position closed, is heard of ``inbound_ns`` later: a signal on the symbol before then is busy): timed exit due (the earliest of hold deadline and signal
   exit / replace, ties: the hold) -> at the print (taker); else the stop in force (tightest of
   stop-loss, trail, stop price) on a print at or beyond it -> at the print (taker); else the
   take-profit (limit rule, maker).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from pysrc.depthbook import DepthBook, dkey

TRADE = 2
FUNDING = 4
QUOTE = 7  # top of book: side 3 (BUY) = the best bid, else the best ask
DEPTH = 8  # one L2 level (side 3 = a bid level), its new total size; flags SNAPSHOT 32, DEPTH_GAP 64
SNAPSHOT = 32
DEPTH_GAP = 64
BID = 3
FLAT, PENDING, RESTING, OPEN = 0, 1, 2, 3
LIMIT, MARKET = 0, 1
SKIP_MIXED = 1
SKIP_EXIT = 2  # exit notices (direction 0): make the tagged signal's exit due now
TAKE_PROFIT, STOP_LOSS, TIMEOUT, EXTERNAL, TRAIL, STOP_PRICE, MAX_HOLD, SIGNAL_EXIT, REPLACED = range(1, 10)
NS_PER_HOUR = 3_600_000_000_000
#: a partially filled entry's remainder within this share of its size is none (float rounding of base units)
DUST = 1e-12
NS_PER_DAY = 86_400_000_000_000
NO_TIME = -(2**62)
NEVER = 2**63 - 1

COUNT_NAMES = (
    "cascades", "signals", "orders", "rejected", "fills", "unfilled", "take_profit", "stop_loss",
    "timeout", "no_reference_price", "cooldown", "busy", "max_symbols", "loss_limit", "hours", "mixed",
    "external", "skipped", "daily_trades", "max_positions", "leverage", "trail", "stop_price", "max_hold",
    "signal_exit", "replaced", "below_minimum",
)
_REASON_COUNT = {TAKE_PROFIT: "take_profit", STOP_LOSS: "stop_loss", TIMEOUT: "timeout", TRAIL: "trail",
                 STOP_PRICE: "stop_price", MAX_HOLD: "max_hold", SIGNAL_EXIT: "signal_exit", REPLACED: "replaced"}


def on_grid(px: float, side: int, grid: float) -> float:
    """A maker limit on the venue's price grid (``grid`` ticks per unit, 0 = none): a buy (side > 0)
    to the tick at or below ``px``, a sell to the tick at or above -- never more aggressive."""
    if grid > 0 and abs(px) < math.inf:
        return (math.floor(px * grid + 1e-9) if side > 0 else math.ceil(px * grid - 1e-9)) / grid
    return px


Q_EPS = 1e-9  # queue rule: prints at the limit must exceed the queue ahead by this x max(print, 1)


def tick(px: float, grid: float) -> float:
    """``px`` as its tick index on the price grid (``grid`` ticks per unit; a whole number in a float,
    so +-inf and NaN stay), as is without a grid: maker prices are compared on ticks, never as floats."""
    return math.floor(px * grid + 0.5) if grid > 0 and abs(px) < math.inf else px


def lot_down(x: float, lot: float) -> float:
    """``x`` down to the lot (no lot: ``x``)."""
    return math.floor(x / lot + 1e-9) * lot if lot > 0 else x


def q_units(cu: float, qty: float, price: float) -> float:
    """A size of the data (a book level's, a print's, at ``price``) in the queue's unit: as is for a linear symbol
    (``cu`` 0); an inverse one's (``cu`` USD a contract) in contracts, ``qty x price / cu`` (the readers' base
    units, contracts x cu / price, spelled back), snapped to the whole number within 1e-6."""
    if cu <= 0:
        return qty
    c = qty * price / cu
    r = math.floor(c + 0.5)
    return float(r) if abs(c - r) <= 1e-6 else c


def q_fill(q, x: float, price: float) -> float:
    """``x`` in the queue's unit filled at ``price``, as the order's quantity (base units): down to the lot (none: as
    is); an inverse symbol's down to whole contracts (``whole_contracts`` 0: as is), ``contracts x cu / price``."""
    if q["contract_usd"] > 0:
        if q["whole_contracts"]:
            x = math.floor(x + 1e-9)
        return x * q["contract_usd"] / price
    return lot_down(x, q["lot"])


def _sat(a: int, b: int) -> int:
    return NEVER if a > NEVER - b else a + b


@dataclass
class State:
    status: int = FLAT
    side: int = 0
    cascade_id: int = 0
    signal_ns: int = 0
    arrive_ns: int = 0
    entry_deadline_ns: int = 0
    entry_ns: int = 0
    hold_deadline_ns: int = 0
    cooldown_until_ns: int = NO_TIME
    last_ns: int = NO_TIME
    ref_price: float = 0.0
    limit_price: float = 0.0
    entry_price: float = 0.0
    tp_price: float = 0.0
    sl_price: float = 0.0
    notional: float = 0.0
    funding: float = 0.0
    last_price: float = math.nan
    entry_kind: int = LIMIT
    hold_ns: int = -1
    hold_reason: int = TIMEOUT
    exit_due_ns: int = NEVER
    exit_due_reason: int = SIGNAL_EXIT
    exit_code: int = 0
    closing: int = 0
    fill_day: int = NO_TIME
    day_fills: int = 0
    tp_frac: float = math.nan
    sl_frac: float = math.nan
    trail: float = 0.0
    peak: float = 0.0
    stop_price: float = math.nan
    confidence: float = 1.0
    size_mult: float = 1.0
    queued: dict | None = None  # a same-symbol replacement's signal (and decision time), sent when the position closes
    # top of book in force (NaN: none yet) and the queue of the working maker limit
    bid: float = math.nan
    bid_qty: float = 0.0
    ask: float = math.nan
    ask_qty: float = 0.0
    q_ahead: float = math.inf
    q_level: float = 0.0
    q_traded: float = 0.0
    q_first: float = math.inf  # the size ahead of the working entry when first known
    entry_queue: float = -1.0  # ... kept at its fill (-1: not a queue fill, or never known)
    seen_ns: int = NO_TIME  # when the bot learns of its position: the fill + the way back (inbound_ns)
    free_ns: int = NO_TIME  # when the bot learns its entry / position ended (+ inbound_ns): busy until then
    # the queue at depth: the symbol has DEPTH rows (then the depth decides the queue), has top-of-book rows
    # (then those are the best bid and ask, else the depth's best), a snapshot run is in progress; the rule
    # that decided the entry's fill (0 top of book, 1 depth, -1 not a queue fill)
    d_on: bool = False
    d_quotes: bool = False
    d_pend: bool = False
    entry_rule: int = -1
    # the entry's quantity (base units), how much of it is filled, the fills that made the position, and whether
    # the remainder of a partially filled entry still rests (``--partial on``; the position is open meanwhile)
    p_qty: float = 0.0
    p_done: float = 0.0
    p_fills: int = 0
    p_rest: bool = False
    funding_coin: float = 0.0  # an inverse contract's funding so far, in the coin
    # the margin-coin account kept here for the inverse symbols whose margin_sid is this one (NaN: not started):
    # its equity in the coin and the loss limits' anchors (its value at the start of the UTC day / ISO week)
    coin_equity: float = math.nan
    coin_day_start: float = 0.0
    coin_week_start: float = 0.0
    coin_day: int = NO_TIME
    coin_week: int = NO_TIME


def loss_hit(equity, day_start, week_start, daily, weekly) -> bool:
    """The daily / weekly loss limit reached, in the account's own unit (USD, or an inverse symbol's coin)."""
    return (daily > 0 and equity - day_start <= -daily * day_start) or (
        weekly > 0 and equity - week_start <= -weekly * week_start)


@dataclass
class Model:
    par: list
    equity: float
    daily_loss: float
    weekly_loss: float
    max_symbols: int
    size: float
    max_positions: int = 0
    replace: bool = False
    leverage: float = 0.0
    notional: float = 0.0
    replace_same: bool = False
    day: int = NO_TIME
    week: int = NO_TIME
    day_start_equity: float = 0.0
    week_start_equity: float = 0.0
    states: list = field(default_factory=list)
    counts: list = field(default_factory=list)
    ledger: list = field(default_factory=list)
    book: object = None  # the depth books (pysrc.depthbook.DepthBook) when DEPTH rows are replayed

    def __post_init__(self):
        # fields a row may leave out are zero, as in the kernel's zero-filled PARAM_DTYPE array
        self.par = [{"trail": 0.0, "slippage": 0.0, "daily_trades": 0, "queue": 0, "queue_pow": 0.0, "grid": 0.0,
                     "queue_unseen": 0, "inbound_ns": 0, "engine_exits": 0, "lot": 0.0, "min_qty": 0.0,
                     "min_notional": 0.0, "max_qty": 0.0, "partial": 0, "contract_usd": 0.0,
                     "whole_contracts": 0, "margin_sid": 0, **p}
                    for p in self.par]
        self.states = [State() for _ in self.par]
        self.counts = [dict.fromkeys(COUNT_NAMES, 0) for _ in self.par]
        self.day_start_equity = self.week_start_equity = self.equity
        self.equity0 = self.equity

    # ---- portfolio ------------------------------------------------------------------------------
    def roll(self, ts):
        day = ts // NS_PER_DAY
        if day != self.day:
            self.day = day
            self.day_start_equity = self.equity
            week = (day + 3) // 7
            if week != self.week:
                self.week = week
                self.week_start_equity = self.equity

    @staticmethod
    def coin_roll(a, ts):
        """A margin-coin account's loss-limit anchors (kept in state ``a``) to the day / week of ``ts``."""
        if not math.isnan(a.coin_equity):
            day = ts // NS_PER_DAY
            if day != a.coin_day:
                a.coin_day, a.coin_day_start = day, a.coin_equity
                week = (day + 3) // 7
                if week != a.coin_week:
                    a.coin_week, a.coin_week_start = week, a.coin_equity

    def coin_account(self, sid, price, ts):
        """The state keeping inverse ``sid``'s margin-coin account, started (if not yet) at the run's starting
        equity (USD) in the coin at ``price``."""
        a = self.states[int(self.par[sid]["margin_sid"])]
        if math.isnan(a.coin_equity):
            a.coin_equity = self.equity0 / price
            self.coin_roll(a, ts)
        return a

    # ---- transitions ----------------------------------------------------------------------------
    def settle(self, sid, ts):
        s = self.states[sid]
        if s.status == PENDING and ts >= s.arrive_ns:
            lp = s.last_price
            queue = self.par[sid]["queue"] != 0
            best = s.ask if s.side > 0 else s.bid
            if s.entry_kind == LIMIT and queue and best > 0:
                lp = best  # the queue rule: post-only against the quote in force (an empty side, price 0: none)
            g = self.par[sid]["grid"]
            kl, kq = tick(s.limit_price, g), tick(lp, g)
            if s.entry_kind == LIMIT and ((s.side > 0 and kl >= kq) or (s.side < 0 and kl <= kq)):
                s.status = FLAT
                s.free_ns = _sat(s.arrive_ns, int(self.par[sid]["inbound_ns"]))
                self.counts[sid]["rejected"] += 1
                return
            s.status = RESTING
            if s.entry_kind == LIMIT and queue:
                self.join(sid, s.side, s.limit_price)
                s.q_first = s.q_ahead
        if s.status in (PENDING, RESTING) and (ts >= s.entry_deadline_ns or ts >= s.exit_due_ns):
            s.status = FLAT
            s.free_ns = _sat(min(s.entry_deadline_ns, s.exit_due_ns), int(self.par[sid]["inbound_ns"]))
            self.counts[sid]["unfilled"] += 1

    # ---- the queue rule --------------------------------------------------------------------------
    def join(self, sid, qside, px):
        """A maker limit of ``sid`` joins the queue: with depth, behind the size the depth book shows at
        its level (0: no level; unknown while the book is, after a gap); else by the top of book."""
        s, q = self.states[sid], self.par[sid]
        if s.d_on:
            if not abs(px) < math.inf:  # no take-profit: no limit in the queue
                s.q_ahead, s.q_level, s.q_traded = math.inf, 0.0, 0.0
                return
            lvl = q_units(q["contract_usd"], self.book.size(sid, qside > 0, px), px)
            s.q_ahead = lvl if self.book.known[sid] else math.inf
            s.q_level, s.q_traded = lvl, 0.0
            return
        self.q_join(s, qside, px, q["grid"], q["queue_unseen"], q["contract_usd"])

    @staticmethod
    def working(s):
        """The maker limit in the queue: (price, side) of a resting limit entry or a position's take-profit."""
        if s.status == RESTING and s.entry_kind == LIMIT:
            return s.limit_price, s.side
        if s.status == OPEN and abs(s.tp_price) < math.inf:
            return s.tp_price, -s.side
        return None

    def end_run(self, sid):
        """A snapshot run of ``sid`` is over (its next row of any kind has come): the working limit's level
        is what the new book shows (0: not listed), which moves its queue as a change of the level would."""
        s = self.states[sid]
        s.d_pend = False
        w = self.working(s)
        if w is not None:
            q = self.par[sid]
            self.q_move(s, q["queue_pow"], q_units(q["contract_usd"], self.book.size(sid, w[1] > 0, w[0]), w[0]))

    def on_depth(self, sid, ts, side, price, qty, flags):
        """A DEPTH row (queue rule): an order due by ``ts`` arrives first (it joins the book before this
        row); the row goes into the book; at the working limit's level it moves the queue (a fall per the
        queue model, a rise behind), a snapshot run once it is over; a gap makes the book unknown."""
        s, q = self.states[sid], self.par[sid]
        if s.status == PENDING and ts >= s.arrive_ns:
            self.settle(sid, ts)
        if s.d_pend and not (flags & SNAPSHOT and self.book.run[sid] == ts):
            self.end_run(sid)
        first = not s.d_on
        self.book.apply_row(sid, ts, side, price, qty, flags)
        s.d_on = True
        if not s.d_quotes:  # the depth's best is the book in force
            bb, ba = self.book.best(sid)
            f = q["grid"] if q["grid"] > 0 else 1e8
            s.bid, s.bid_qty = (math.nan, 0.0) if bb is None else (bb / f, self.book.bids[sid][bb])
            s.ask, s.ask_qty = (math.nan, 0.0) if ba is None else (ba / f, self.book.asks[sid][ba])
        w = self.working(s)
        if first and w is not None:
            s.q_ahead = math.inf  # a limit placed before the first depth row: unknown until its level is seen
        if flags & DEPTH_GAP:
            return
        if flags & SNAPSHOT:
            s.d_pend = True
            return
        k = dkey(price, q["grid"])
        if s.p_rest and s.status == OPEN and qty > 0 and self.book.known[sid] and (side == BID) != (s.side > 0):
            ke = dkey(s.entry_price, q["grid"])  # the remainder of a partially filled entry, crossed: all of it fills
            if (k <= ke) if s.side > 0 else (k >= ke):
                self.rest_fill(s, ts, s.p_qty - s.p_done)
                return
        if w is None:
            return
        kw = dkey(w[0], q["grid"])
        if (side == BID) == (w[1] > 0):
            if k == kw:
                self.q_move(s, q["queue_pow"], q_units(q["contract_usd"], qty, price))
        elif qty > 0 and self.book.known[sid] and (k <= kw if w[1] > 0 else k >= kw):
            self.cross(sid, ts)  # size on the other side at or through the limit: it traded

    def cross(self, sid, ts):
        """A depth row put size on the other side at or through the working limit (a book cannot stand
        crossed over a resting limit): a resting entry fills at its limit (rule 2) unless its deadline has
        passed (then it is cancelled); a take-profit in force fills at its price, unless the position's
        timed exit is due or the engine's exits are not in force yet (a print decides those)."""
        s, q = self.states[sid], self.par[sid]
        if s.status == RESTING:
            self.settle(sid, ts)
            if s.status == RESTING and s.entry_kind == LIMIT and self.open(sid, ts, s.limit_price):
                s.entry_rule = 2
        elif s.status == OPEN and abs(s.tp_price) < math.inf:
            due, _why = self.exit_due(s)
            if ts >= due or (q["engine_exits"] and ts < _sat(s.seen_ns, int(q["order_latency_ns"]))):
                return
            self.close(sid, ts, s.tp_price, TAKE_PROFIT, q["maker_fee"])

    @staticmethod
    def q_join(s, qside, px, grid=0.0, unseen=0, cu=0.0):
        """A maker limit at ``px`` on the bid (qside 1) / ask (-1) joins: the size ahead is the size
        displayed at its price if it is the best, 0 if it improves the best, unknown (inf) if behind
        the best (``unseen`` 1: 0, hftbacktest's rule) or without a quote.  Prices compared in ticks."""
        best, qty = (s.bid, s.bid_qty) if qside > 0 else (s.ask, s.ask_qty)
        a = math.inf
        if not math.isnan(best):
            kp, kb = tick(px, grid), tick(best, grid)
            if kp == kb:
                a = q_units(cu, qty, best)
            elif (qside > 0 and kp > kb) or (qside < 0 and kp < kb):
                a = 0.0
            elif unseen and abs(px) < math.inf:
                a = 0.0
        s.q_ahead, s.q_level, s.q_traded = a, (a if a < math.inf else 0.0), 0.0

    @staticmethod
    def q_depth(s, pw, qside, px, grid=0.0, cu=0.0):
        """The quote on the limit's side changed: risk-averse (pw 0) takes the queue ahead down to the
        size displayed at its price; power pw splits a fall not explained by trades, the share
        f(ahead)/(f(ahead)+f(behind)) of it ahead (f(x) = x**pw, hftbacktest's expected form).  A best
        behind ``px`` says nothing; a best past it: nothing left at ``px``."""
        kb, kp = tick(s.bid if qside > 0 else s.ask, grid), tick(px, grid)
        if kb == kp:
            new = q_units(cu, s.bid_qty if qside > 0 else s.ask_qty, s.bid if qside > 0 else s.ask)
        elif (qside > 0 and kb < kp) or (qside < 0 and kb > kp):
            new = 0.0
        else:
            return
        Model.q_move(s, pw, new)

    @staticmethod
    def q_move(s, pw, new):
        """The size displayed at the working limit's level is now ``new``: the queue ahead moves."""
        if s.q_ahead == math.inf:
            s.q_ahead = new
            if s.status == RESTING:  # the entry's queue position, first known
                s.q_first = new
        elif pw <= 0:
            s.q_ahead = min(s.q_ahead, new)
        else:
            chg = s.q_level - new - s.q_traded
            if chg < 0:
                s.q_ahead = min(s.q_ahead, new)
            else:
                front = s.q_ahead
                back = max(s.q_level - front, 0.0)
                fb = back ** pw
                den = fb + front ** pw
                prob = fb / den if den > 0 else 1.0
                est = front - (1.0 - prob) * chg + min(back - prob * chg, 0.0)
                s.q_ahead = min(est, new)
        s.q_level, s.q_traded = new, 0.0

    @staticmethod
    def q_hit(s, price, lim, qside, qty, grid=0.0, cu=0.0) -> bool:
        """A print through ``lim`` fills; one at it (the same tick) consumes the queue ahead and fills
        the whole order once more than that queue has traded."""
        kp, kl = tick(price, grid), tick(lim, grid)
        if (qside > 0 and kp < kl) or (qside < 0 and kp > kl):
            return True
        if kp == kl:
            qty = q_units(cu, qty, price)
            s.q_ahead -= qty
            s.q_traded += qty
            return s.q_ahead < -Q_EPS * max(qty, 1.0)  # an exact tie (decimal lots) is not a fill
        return False

    def on_quote(self, sid, ts, side, price, qty):
        """A top-of-book row: an order due by ``ts`` arrives first (against the quote in force), then
        the row is in force and moves the queue of the working maker limit (queue rule)."""
        if not 0 <= sid < len(self.states):
            return
        s, q = self.states[sid], self.par[sid]
        if s.status == PENDING and ts >= s.arrive_ns:
            self.settle(sid, ts)
        s.d_quotes = True
        if side == BID:
            s.bid, s.bid_qty = price, qty
        else:
            s.ask, s.ask_qty = price, qty
        if q["queue"] != 0 and not s.d_on:  # with depth, the depth decides the queue
            if s.status == RESTING and s.entry_kind == LIMIT:
                if (side == BID) == (s.side > 0):
                    self.q_depth(s, q["queue_pow"], s.side, s.limit_price, q["grid"], q["contract_usd"])
            elif s.status == OPEN and abs(s.tp_price) < math.inf:
                if (side == BID) == (s.side < 0):
                    self.q_depth(s, q["queue_pow"], -s.side, s.tp_price, q["grid"], q["contract_usd"])

    def open(self, sid, ts, price, capped=True) -> bool:
        s, q = self.states[sid], self.par[sid]
        inv = q["contract_usd"] > 0
        # the account's equity in USD: USD, or an inverse symbol's margin coin at the entry's price
        equity = self.coin_account(sid, price, ts).coin_equity * price if inv else self.equity
        base = self.notional if self.notional > 0 else equity * self.size
        notional = base * s.size_mult
        if capped and self.leverage > 0:
            used = sum(o.notional for j, o in enumerate(self.states) if j != sid and o.status == OPEN
                       and (self.par[j]["contract_usd"] > 0) == inv
                       and (not inv or self.par[j]["margin_sid"] == q["margin_sid"]))
            room = self.leverage * equity - used
            if not room > 0:
                s.status = FLAT
                self.counts[sid]["leverage"] += 1
                return False
            notional = min(notional, room)
        if q["contract_usd"] > 0 and q["whole_contracts"]:  # inverse: whole contracts of contract_usd USD
            n_ct = math.floor(notional / q["contract_usd"] + 1e-9)
            if n_ct < 1:
                s.status = FLAT
                self.counts[sid]["below_minimum"] += 1
                return False
            notional = n_ct * q["contract_usd"]
            s.p_qty = notional / price
        elif q["lot"] > 0:  # the venue's lot: the quantity down to it, and its minimums checked
            raw = min(notional / price, q["max_qty"]) if q["max_qty"] > 0 else notional / price
            qty = math.floor(raw / q["lot"] + 1e-9) * q["lot"]
            if not qty > 0 or qty < q["min_qty"] - 1e-12 or qty * price < q["min_notional"] - 1e-9:
                s.status = FLAT
                self.counts[sid]["below_minimum"] += 1
                return False
            notional = qty * price
            s.p_qty = qty
        else:
            s.p_qty = notional / price
        s.p_done, s.p_fills, s.p_rest = s.p_qty, 1, False
        s.status = OPEN
        s.entry_ns = ts
        s.seen_ns = _sat(ts, int(q["inbound_ns"]))
        s.entry_price = price
        if s.hold_ns < 0:
            s.hold_deadline_ns = ts + q["hold_timeout_ns"] if q["hold_timeout_ns"] > 0 else NEVER  # 0 = none
        elif s.hold_ns == 0:
            s.hold_deadline_ns = NEVER
        else:
            s.hold_deadline_ns = _sat(ts, s.hold_ns)
        tp = q["take_profit"] if math.isnan(s.tp_frac) else s.tp_frac
        sl = q["stop_loss"] if math.isnan(s.sl_frac) else s.sl_frac
        if s.side > 0:
            s.tp_price = on_grid(price * (1.0 + tp), -1, q["grid"]) if tp >= 0 else math.inf
            s.sl_price = on_grid(price * (1.0 - sl), 1, q["grid"]) if sl >= 0 else -math.inf
        else:
            s.tp_price = on_grid(price * (1.0 - tp), 1, q["grid"]) if tp >= 0 else -math.inf
            s.sl_price = on_grid(price * (1.0 + sl), -1, q["grid"]) if sl >= 0 else math.inf
        s.peak = price
        s.notional = notional
        s.funding = 0.0
        s.funding_coin = 0.0
        s.entry_queue = s.q_first if (q["queue"] != 0 and s.entry_kind == LIMIT and s.q_first < math.inf) else -1.0
        s.entry_rule = (1 if s.d_on else 0) if (q["queue"] != 0 and s.entry_kind == LIMIT) else -1
        if q["queue"] != 0:
            self.join(sid, -s.side, s.tp_price)  # the take-profit: a maker limit on the other side
        day = ts // NS_PER_DAY
        if day != s.fill_day:
            s.fill_day, s.day_fills = day, 0
        s.day_fills += 1
        self.counts[sid]["fills"] += 1
        return True

    def close(self, sid, ts, price, reason, exit_fee):
        s, q = self.states[sid], self.par[sid]
        self.roll(ts)
        entry_fee = q["maker_fee"] if s.entry_kind == LIMIT else q["taker_fee"]
        contracts = pnl_coin = equity_coin = 0.0
        usd = s.notional  # the ledger's notional (USD); an inverse trade's whole contracts x contract_usd below
        if q["contract_usd"] > 0:  # inverse: P&L and fees in the coin; the USD P&L that coin at the exit price
            contracts = usd / q["contract_usd"]
            if q["whole_contracts"]:
                contracts = math.floor(contracts + 0.5)  # (a whole number: n x contract_usd / contract_usd)
                usd = contracts * q["contract_usd"]
            fee_coin = entry_fee * usd / s.entry_price + exit_fee * usd / price
            pnl_coin = s.side * usd * (1.0 / s.entry_price - 1.0 / price) - fee_coin - s.funding_coin
            pnl = pnl_coin * price
            fees = fee_coin * price / usd
            ret = pnl / usd
            a = self.coin_account(sid, s.entry_price, ts)
            self.coin_roll(a, ts)
            a.coin_equity += pnl_coin
            equity_coin = a.coin_equity
        else:
            fees = entry_fee + exit_fee * price / s.entry_price  # the exit's fee on its own notional
            ret = s.side * (price - s.entry_price) / s.entry_price - fees - s.funding
            pnl = s.notional * ret
        self.equity += pnl
        self.ledger.append(dict(
            symbol_id=sid, venue=q["venue"], side=s.side, cascade_id=s.cascade_id, signal_ns=s.signal_ns,
            arrive_ns=s.arrive_ns, entry_ns=s.entry_ns, exit_ns=ts, exit_reason=reason, ref_price=s.ref_price,
            entry_price=s.entry_price, exit_price=price, tp_price=s.tp_price, sl_price=s.sl_price, fees=fees,
            funding=s.funding, ret=ret, notional=usd, pnl=pnl, equity_after=self.equity,
            entry_kind=s.entry_kind, exit_code=s.exit_code if reason == SIGNAL_EXIT else 0,
            confidence=s.confidence, size_mult=s.size_mult, queue_ahead=s.entry_queue, fill_rule=s.entry_rule,
            fills=s.p_fills if s.p_fills > 0 else 1, filled=s.p_done / s.p_qty if s.p_qty > 0.0 else 1.0,
            contracts=contracts, pnl_coin=pnl_coin, equity_coin_after=equity_coin,
        ))
        s.p_rest = False
        s.status = FLAT
        s.closing = 0
        s.cooldown_until_ns = ts + q["cooldown_ns"]
        s.free_ns = _sat(ts, int(q["inbound_ns"]))
        self.counts[sid][_REASON_COUNT.get(reason, "external")] += 1
        if s.queued is not None:  # a same-symbol replacement: its entry goes out now
            g, s.queued = s.queued, None
            self.place(sid, g, ts, queued_at=ts, lat=int(g["latency_ns"]))

    @staticmethod
    def stop(s):
        """The stop in force: the tightest of stop-loss, trailing stop, stop price (ties in that order)."""
        lvl, why = s.sl_price, STOP_LOSS
        if s.side > 0:
            if s.trail > 0 and s.peak * (1.0 - s.trail) > lvl:
                lvl, why = s.peak * (1.0 - s.trail), TRAIL
            if s.stop_price > lvl:
                lvl, why = s.stop_price, STOP_PRICE
        else:
            if s.trail > 0 and s.peak * (1.0 + s.trail) < lvl:
                lvl, why = s.peak * (1.0 + s.trail), TRAIL
            if s.stop_price < lvl:
                lvl, why = s.stop_price, STOP_PRICE
        return lvl, why

    @staticmethod
    def taker(price, side, slip):
        return price * (1.0 + side * slip) if slip != 0.0 else price

    # ---- events ---------------------------------------------------------------------------------
    def on_trade(self, sid, ts, price, qty=0.0):
        """A trade print (``qty``: its size, which the queue rule consumes the queue with)."""
        if not 0 <= sid < len(self.states):
            return
        s, q = self.states[sid], self.par[sid]
        if s.status in (PENDING, RESTING):
            self.settle(sid, ts)
        touch = q["touch"] != 0
        queue = q["queue"] != 0
        cu = q["contract_usd"]
        if s.status == RESTING:
            if s.entry_kind == MARKET:
                self.open(sid, ts, self.taker(price, s.side, q["slippage"]))
            else:
                lim = s.limit_price
                kp, kl = tick(price, q["grid"]), tick(lim, q["grid"])
                part = -1.0
                if queue:
                    hit = self.q_hit(s, price, lim, s.side, qty, q["grid"], q["contract_usd"])
                    if hit and q["partial"] and kp == kl:
                        part = q_fill(q, -s.q_ahead, lim)  # printed beyond the queue ahead: that much fills
                        if not part > 0:
                            hit = False  # less than a lot: nothing fills yet
                elif s.side > 0:
                    hit = kp < kl or (touch and kp == kl)
                else:
                    hit = kp > kl or (touch and kp == kl)
                if hit and self.open(sid, ts, lim):
                    if queue and (kp < kl if s.side > 0 else kp > kl):
                        s.entry_rule = -1  # a print through the limit filled it, not its queue
                    if 0 < part < s.p_qty - DUST * s.p_qty:
                        # a partial fill: the position is what filled; the rest rests, first in its queue
                        s.p_done, s.notional, s.p_rest = part, part * lim, True
        elif s.status == OPEN:
            if s.p_rest:
                self.rest_print(s, q, ts, price, qty)
            due, why = self.exit_due(s)
            if ts >= due:
                self.close(sid, ts, self.taker(price, -s.side, q["slippage"]), why, q["taker_fee"])
            elif q["engine_exits"] and ts < _sat(s.seen_ns, int(q["order_latency_ns"])):
                # the engine's exits are not in force yet: only the trailing stop's peak follows the prints
                if s.trail > 0 and ((s.side > 0 and price > s.peak) or (s.side < 0 and price < s.peak)):
                    s.peak = price
            else:
                if s.trail > 0 and ((s.side > 0 and price > s.peak) or (s.side < 0 and price < s.peak)):
                    s.peak = price
                lvl, why = self.stop(s)
                kp, kt = tick(price, q["grid"]), tick(s.tp_price, q["grid"])
                if s.side > 0:
                    if price <= lvl:
                        self.close(sid, ts, self.taker(price, -1, q["slippage"]), why, q["taker_fee"])
                    elif (kp >= kt and self.q_hit(s, price, s.tp_price, -1, qty, q["grid"], cu)) if queue else \
                            (kp > kt or (touch and kp == kt)):
                        self.close(sid, ts, s.tp_price, TAKE_PROFIT, q["maker_fee"])
                else:
                    if price >= lvl:
                        self.close(sid, ts, self.taker(price, 1, q["slippage"]), why, q["taker_fee"])
                    elif (kp <= kt and self.q_hit(s, price, s.tp_price, 1, qty, q["grid"], cu)) if queue else \
                            (kp < kt or (touch and kp == kt)):
                        self.close(sid, ts, s.tp_price, TAKE_PROFIT, q["maker_fee"])
        s.last_price = price
        s.last_ns = ts

    @staticmethod
    def rest_add(s, x):
        """``x`` more of a partially filled entry fills at its limit (all of the remainder once ``x`` reaches it)."""
        if x >= s.p_qty - s.p_done - DUST * s.p_qty:  # (the remainder within DUST of the size: none)
            s.p_done, s.p_rest = s.p_qty, False
        else:
            s.p_done += x
        s.notional = s.p_done * s.entry_price
        s.p_fills += 1

    def rest_fill(self, s, ts, x):
        """``x`` more of a partially filled entry's rest would fill at ``ts``: past the entry's timeout or a due
        signal exit the rest is cancelled instead; nothing happens for ``x`` 0."""
        if ts >= s.entry_deadline_ns or ts >= s.exit_due_ns:
            s.p_rest = False
        elif x > 0:
            self.rest_add(s, x)

    def rest_print(self, s, q, ts, price, qty):
        """A print while a partially filled entry's remainder rests (first in its queue): a print through its
        price fills all of it, one at it that much (down to the lot) (:meth:`rest_fill`)."""
        kp, ke = tick(price, q["grid"]), tick(s.entry_price, q["grid"])
        x = 0.0
        if (s.side > 0 and kp < ke) or (s.side < 0 and kp > ke):
            x = s.p_qty - s.p_done
        elif kp == ke:
            x = q_fill(q, q_units(q["contract_usd"], qty, price), s.entry_price)
        self.rest_fill(s, ts, x)

    @staticmethod
    def exit_due(s):
        """(time, reason) of an open position's timed exit: the earlier of its hold deadline and a due signal
        exit, never before the bot knows of the position (its fill + the way back)."""
        due, why = s.hold_deadline_ns, s.hold_reason
        if s.exit_due_ns < due:
            due, why = s.exit_due_ns, s.exit_due_reason
        return max(due, s.seen_ns), why

    def on_funding(self, sid, ts, rate):
        if not 0 <= sid < len(self.states):
            return
        s = self.states[sid]
        if s.status == OPEN and s.entry_price > 0.0 and s.last_price == s.last_price:
            s.funding += s.side * rate * s.last_price / s.entry_price
            s.funding_coin += s.side * rate * s.notional / s.last_price  # an inverse contract's, in the coin

    def on_exit(self, sid: int, ts: int, exit_code: int, tag: int, latency_ns: int | None = None) -> str:
        """An exit notice: the working entry / position of the signal tagged ``tag`` gets its signal
        exit due at ``ts + order-latency`` (as the signal's own ``exit_ns = ts`` would; a tie with a
        pending replace goes to the signal exit).  Not a decision: nothing is counted."""
        s = self.states[sid]
        if s.queued is not None and int(s.queued["tag"]) == tag:  # the queued entry's exit time
            if ts <= int(s.queued["exit_ns"]):
                s.queued = {**s.queued, "exit_ns": ts, "exit_code": exit_code}
            return "exit"
        if s.status == FLAT or s.cascade_id != tag:
            return "no_position"
        due = _sat(ts, self.par[sid]["order_latency_ns"] if latency_ns is None else latency_ns)
        if due <= s.exit_due_ns:
            s.exit_due_ns, s.exit_due_reason, s.exit_code = due, SIGNAL_EXIT, exit_code
        return "exit"

    def on_signal(self, g) -> str:
        sid = int(g["symbol_id"])
        if not 0 <= sid < len(self.states):
            return "unknown_symbol"
        ts = int(g["ts_ns"])
        # the signal's own order latency (drawn from a measured distribution); 0 = the run's order-latency
        try:
            own = int(g["latency_ns"])
        except (KeyError, ValueError, IndexError):  # (a signal given without the field)
            own = 0
        lat = own if own > 0 else int(self.par[sid]["order_latency_ns"])
        if int(g["direction"]) == 0 and int(g["skip_code"]) == SKIP_EXIT:
            return self.on_exit(sid, ts, int(g["exit_code"]), int(g["tag"]), lat)
        c = self.counts[sid]
        c["cascades"] += 1
        s, q = self.states[sid], self.par[sid]
        self.settle(sid, ts)
        direction = int(g["direction"])
        if direction == 0 and int(g["skip_code"]) != SKIP_MIXED:
            c["skipped"] += 1
            return "skipped"
        conf = float(g["confidence"])
        same = s.status != FLAT
        if same and not (self.replace_same and direction != 0 and not s.closing and s.queued is None
                         and conf > s.confidence):
            c["busy"] += 1
            return "busy"
        if not same and ts < s.cooldown_until_ns:
            c["cooldown"] += 1
            return "cooldown"
        if not same and ts < s.free_ns:  # the bot has not yet heard that its entry / position ended
            c["busy"] += 1
            return "busy"
        if direction == 0:
            c["mixed"] += 1
            return "mixed"
        c["signals"] += 1
        a, b = q["hours_from"], q["hours_to"]
        if a >= 0:
            hour = (ts // NS_PER_HOUR) % 24
            if not ((a <= hour < b) if a < b else (hour >= a or hour < b)):
                c["hours"] += 1
                return "hours"
        self.roll(ts)
        if q["contract_usd"] > 0:  # an inverse symbol: the limits of its margin coin's account, in the coin
            a = self.states[int(q["margin_sid"])]
            self.coin_roll(a, ts)
            hit = not math.isnan(a.coin_equity) and loss_hit(a.coin_equity, a.coin_day_start, a.coin_week_start,
                                                             self.daily_loss, self.weekly_loss)
        else:
            hit = loss_hit(self.equity, self.day_start_equity, self.week_start_equity, self.daily_loss,
                           self.weekly_loss)
        if hit:
            c["loss_limit"] += 1
            return "loss_limit"
        if q["daily_trades"] > 0 and s.fill_day == ts // NS_PER_DAY and s.day_fills >= q["daily_trades"]:
            c["daily_trades"] += 1
            return "daily_trades"
        busy, victim = 0, None
        for j, o in enumerate(self.states):
            if j == sid:
                continue
            if o.status in (PENDING, RESTING):
                self.settle(j, ts)
            if o.status != FLAT and o.closing and o.queued is not None:
                busy += 1  # closing for a same-symbol replacement: the slot stays taken
            if o.status != FLAT and not o.closing:
                busy += 1
                if victim is None or (o.confidence, o.signal_ns) < (self.states[victim].confidence,
                                                                    self.states[victim].signal_ns):
                    victim = j
        over = None
        if busy >= self.max_symbols:
            over = "max_symbols"
        elif self.max_positions > 0 and busy >= self.max_positions:
            over = "max_positions"
        if over is None:
            victim = None
        else:
            fits = busy - 1 < self.max_symbols and (self.max_positions <= 0 or busy - 1 < self.max_positions)
            if not (self.replace and victim is not None and self.states[victim].confidence < conf and fits):
                c[over] += 1
                return over
        entry = int(g["entry"])
        if entry == LIMIT and (s.last_ns == NO_TIME or ts - s.last_ns > q["max_ref_age_ns"]):
            c["no_reference_price"] += 1
            return "no_reference_price"
        if victim is not None:
            v = self.states[victim]
            if v.status == OPEN:
                v.closing = 1
                due = _sat(ts, self.par[victim]["order_latency_ns"])
                if due < v.exit_due_ns:
                    v.exit_due_ns, v.exit_due_reason = due, REPLACED
            else:
                v.status = FLAT
                self.counts[victim]["unfilled"] += 1
        if same:
            if s.status == OPEN:  # closed first (reason replaced), the new entry queued until the close
                s.closing = 1
                due = _sat(ts, lat)
                if due < s.exit_due_ns:
                    s.exit_due_ns, s.exit_due_reason = due, REPLACED
                s.queued = {k: g[k] for k in ("direction", "entry", "confidence", "size_mult", "offset", "take_profit",
                                              "stop_loss", "trail", "stop_price", "max_hold_ns", "entry_timeout_ns",
                                              "exit_ns", "exit_code", "tag")}
                s.queued["ts_ns"] = ts
                s.queued["latency_ns"] = lat  # the signal's own latency travels with it to the send
                c["orders"] += 1
                return "order"
            s.status = FLAT  # a working entry is cancelled, the new one placed at once
            c["unfilled"] += 1
        self.place(sid, g, ts, lat=lat)
        c["orders"] += 1
        return "order"

    def place(self, sid, g, ts, queued_at=None, lat=None):
        """Place signal ``g`` (decided at ``ts``) as the symbol's entry; a queued replacement entry is
        sent at ``queued_at`` (the close): arrival and entry timeout from then, the limit's reference the
        last print before it.  ``lat``: the signal's order latency (its own drawn one, else the run's
        ``order-latency``), for a queued entry too."""
        s, q = self.states[sid], self.par[sid]
        if lat is None:
            lat = int(q["order_latency_ns"])
        entry, direction = int(g["entry"]), int(g["direction"])
        sent = ts if queued_at is None else queued_at
        if queued_at is not None:
            ts = int(g["ts_ns"])
        side = 1 if direction > 0 else -1
        off = float(g["offset"])
        off = q["offset"] if math.isnan(off) else off
        s.side, s.ref_price, s.entry_kind = side, s.last_price, entry
        if entry == LIMIT:
            r = tick(s.ref_price, q["grid"]) / q["grid"] if q["grid"] > 0 else s.ref_price  # the print's own tick
            s.limit_price = on_grid(r * (1.0 - off) if side > 0 else r * (1.0 + off), side,
                                    q["grid"])
        else:
            s.limit_price = math.nan
        s.status = PENDING
        s.cascade_id = int(g["tag"])
        s.signal_ns = ts
        s.arrive_ns = sent + lat
        et = int(g["entry_timeout_ns"])
        s.entry_deadline_ns = sent + (q["entry_timeout_ns"] if et < 0 else et)
        tp, sl = float(g["take_profit"]), float(g["stop_loss"])
        s.tp_frac = tp if (math.isnan(tp) or tp > 0) else -1.0
        s.sl_frac = sl if (math.isnan(sl) or sl > 0) else -1.0
        tr = float(g["trail"])
        s.trail = tr if tr > 0 else 0.0
        s.stop_price = float(g["stop_price"])
        s.hold_ns = int(g["max_hold_ns"])
        s.hold_reason = TIMEOUT if s.hold_ns < 0 else MAX_HOLD
        x = int(g["exit_ns"])
        s.exit_due_ns = NEVER if x == NEVER else _sat(x, lat)
        s.exit_due_reason = SIGNAL_EXIT
        s.exit_code = int(g["exit_code"])
        s.closing = 0
        s.confidence = float(g["confidence"])
        s.size_mult = float(g["size_mult"])

    def on_clock(self, ts):
        for j, s in enumerate(self.states):
            if s.status in (PENDING, RESTING):
                self.settle(j, ts)
        self.roll(ts)

    # ---- the guide's decision and the live-shell steps (venue mode, restarts) -------------------
    def on_cascade(self, sid: int, ts: int, dominant: int, cascade_id: int) -> str:
        """A CONFIRMED cascade (the guide's strategy, ``step_signal``): dominant 1 long / 2 short -> a
        limit entry with the symbol's parameters, anything else -> mixed.  'order' or the reason."""
        if not 0 <= sid < len(self.states):
            return "unknown_symbol"
        d = 1 if dominant == 1 else (-1 if dominant == 2 else 0)
        return self.on_signal(dict(
            symbol_id=sid, ts_ns=ts, direction=d, skip_code=SKIP_MIXED, entry=LIMIT, confidence=1.0,
            size_mult=1.0, offset=math.nan, take_profit=math.nan, stop_loss=math.nan, trail=self.par[sid]["trail"],
            stop_price=math.nan, max_hold_ns=-1, entry_timeout_ns=-1, exit_ns=NEVER, exit_code=0, tag=cascade_id))

    def _guide_spec(self, s):
        """An entry or position set from outside a decision gets the guide's signal spec."""
        s.entry_kind, s.hold_ns, s.hold_reason = LIMIT, -1, TIMEOUT
        s.exit_due_ns, s.exit_due_reason, s.exit_code, s.closing = NEVER, SIGNAL_EXIT, 0, 0
        s.tp_frac = s.sl_frac = s.stop_price = math.nan
        s.trail, s.confidence, s.size_mult = 0.0, 1.0, 1.0

    def external_entry_fill(self, sid: int, ts: int, price: float) -> bool:
        """The venue filled the working entry at ``price`` (no leverage cap: the fill happened)."""
        if self.states[sid].status in (PENDING, RESTING):
            self.open(sid, ts, price, capped=False)
            return True
        return False

    def external_close(self, sid: int, ts: int, price: float, reason: int) -> bool:
        """The venue closed the position (a take-profit pays the maker fee, anything else the taker fee)."""
        if self.states[sid].status != OPEN:
            return False
        q = self.par[sid]
        self.close(sid, ts, price, reason, q["maker_fee"] if reason == TAKE_PROFIT else q["taker_fee"])
        return True

    def external_reject(self, sid: int, ts: int) -> bool:
        """The working entry was rejected: counted as rejected, no cooldown."""
        s = self.states[sid]
        if s.status in (PENDING, RESTING):
            s.status = FLAT
            self.counts[sid]["rejected"] += 1
            return True
        return False

    def external_cancel(self, sid: int, ts: int) -> bool:
        """The working entry was cancelled: counted as unfilled, no cooldown."""
        if not 0 <= sid < len(self.states):
            return False
        s = self.states[sid]
        if s.status in (PENDING, RESTING):
            s.status = FLAT
            self.counts[sid]["unfilled"] += 1
            return True
        return False

    def amend_entry(self, sid: int, price: float) -> bool:
        """The working entry's limit moves to ``price``."""
        if not 0 <= sid < len(self.states) or not price > 0.0:
            return False
        s = self.states[sid]
        if s.status in (PENDING, RESTING):
            s.limit_price = price
            return True
        return False

    def set_exit_levels(self, sid: int, tp_price: float, sl_price: float, notional: float) -> bool:
        """The open position takes the venue's TP / SL / notional (a value <= 0 keeps the current one)."""
        if not 0 <= sid < len(self.states):
            return False
        s = self.states[sid]
        if s.status != OPEN:
            return False
        if tp_price > 0.0:
            s.tp_price = tp_price
        if sl_price > 0.0:
            s.sl_price = sl_price
        if notional > 0.0:
            s.notional = notional
        return True

    def set_working(self, sid, status, side, price, ref_price, cascade_id, signal_ns, arrive_ns, deadline_ns) -> bool:
        """A flat symbol gets a working entry placed outside a decision (restart, operator)."""
        if not 0 <= sid < len(self.states) or status not in (PENDING, RESTING):
            return False
        s = self.states[sid]
        if s.status != FLAT:
            return False
        self._guide_spec(s)
        s.status, s.side, s.limit_price, s.ref_price = status, side, price, ref_price
        s.cascade_id, s.signal_ns, s.arrive_ns, s.entry_deadline_ns = cascade_id, signal_ns, arrive_ns, deadline_ns
        return True

    def set_open(self, sid, side, entry_ns, entry_price, tp_price, sl_price, notional, hold_deadline_ns, funding) -> bool:
        """A symbol without a position gets the position the venue holds (restart, external fill)."""
        if not 0 <= sid < len(self.states) or not entry_price > 0.0:
            return False
        s = self.states[sid]
        if s.status == OPEN:
            return False
        self._guide_spec(s)
        s.status, s.side, s.entry_ns, s.entry_price = OPEN, side, entry_ns, entry_price
        s.tp_price, s.sl_price, s.notional = tp_price, sl_price, notional
        s.hold_deadline_ns, s.funding = hold_deadline_ns, funding
        s.funding_coin = 0.0
        s.seen_ns = entry_ns  # (a position the bot was told of: known from its entry)
        return True


def simulate(events, signals, symbol_params, equity=1.0, daily_loss=0.01, weekly_loss=0.02, max_symbols=4,
             size=0.25, max_positions=0, replace=False, leverage=0.0, notional=0.0, end_ns=None,
             replace_same=False, depth=False) -> Model:
    """Replay events with signals (in processing order); returns the :class:`Model`.  ``depth``: DEPTH
    rows are the L2 book of the symbols under the queue rule (the kernel given its depth books)."""
    m = Model([dict(p) for p in symbol_params], equity, daily_loss, weekly_loss, max_symbols, size,
              max_positions, bool(replace), leverage, notional, bool(replace_same))
    if depth:
        m.book = DepthBook(len(m.par), [p["grid"] for p in m.par])

    def end_run(sid):  # the symbol's snapshot run is over at its next row of any kind
        if m.book is not None and 0 <= sid < len(m.states) and m.states[sid].d_pend:
            m.end_run(sid)

    r, ns = 0, len(signals)
    for i, e in enumerate(events):
        t = int(e["ts_recv"])
        while r < ns and (int(signals[r]["ts_ns"]) < t or (int(signals[r]["ts_ns"]) == t and int(signals[r]["ev_idx"]) < i)):
            end_run(int(signals[r]["symbol_id"]))
            m.on_signal(signals[r])
            r += 1
        k = int(e["kind"])  # trade prints fill; quotes and depth move queues (queue rule); the rest is ignored
        if k != DEPTH:
            end_run(int(e["symbol_id"]))
        if k == DEPTH:
            sid = int(e["symbol_id"])
            if m.book is not None and 0 <= sid < len(m.states) and m.par[sid]["queue"]:
                m.on_depth(sid, t, int(e["side"]), float(e["price"]), float(e["qty"]), int(e["flags"]))
        elif k == TRADE:
            m.on_trade(int(e["symbol_id"]), t, float(e["price"]), float(e["qty"]))
        elif k == FUNDING:
            m.on_funding(int(e["symbol_id"]), t, float(e["price"]))
        elif k == QUOTE and any(p["queue"] for p in m.par):
            m.on_quote(int(e["symbol_id"]), t, int(e["side"]), float(e["price"]), float(e["qty"]))
    while r < ns:
        end_run(int(signals[r]["symbol_id"]))
        m.on_signal(signals[r])
        r += 1
    if end_ns is not None:
        m.on_clock(int(end_ns))
    return m


def simulate_records(events, records, symbol_params, equity=1.0, daily_loss=0.01, weekly_loss=0.02, max_symbols=4,
                     size=0.25, end_ns=None) -> Model:
    """The guide's path (the kernel's ``run_sim``): CONFIRMED cascade records (CASCADE_DTYPE), each
    decided right after the event that confirmed it (:meth:`Model.on_cascade`), with trades and
    funding in (time, input index) order; returns the :class:`Model`."""
    m = Model([dict(p) for p in symbol_params], equity, daily_loss, weekly_loss, max_symbols, size)
    quotes = any(p["queue"] for p in m.par)
    items = [(int(e["ts_recv"]), i, 0, e) for i, e in enumerate(events)
             if int(e["kind"]) in (TRADE, FUNDING) or (quotes and int(e["kind"]) == QUOTE)]
    items += [(int(r["confirm_recv_ns"]), int(r["event_index"]), 1, r) for r in records]
    items.sort(key=lambda x: x[:3])
    for ts, _i, is_record, row in items:
        if is_record:
            m.on_cascade(int(row["symbol_id"]), ts, int(row["dominant"]), int(row["cascade_id"]))
        elif int(row["kind"]) == TRADE:
            m.on_trade(int(row["symbol_id"]), ts, float(row["price"]), float(row["qty"]))
        elif int(row["kind"]) == QUOTE:
            m.on_quote(int(row["symbol_id"]), ts, int(row["side"]), float(row["price"]), float(row["qty"]))
        else:
            m.on_funding(int(row["symbol_id"]), ts, float(row["price"]))
    if end_ns is not None:
        m.on_clock(int(end_ns))
    return m


def simulate_cells(events, records, cells_params, equity=1.0, daily_loss=0.01, weekly_loss=0.02, max_symbols=4,
                   size=0.25, end_ns=None) -> list:
    """The kernel's ``run_cells``: the same rows and records replayed for several cells, each with its own
    symbol parameters (``cells_params``: one list of symbol rows a cell) -- each cell is :func:`simulate_records`
    on its own; returns their :class:`Model` s in order."""
    return [simulate_records(events, records, rows, equity, daily_loss, weekly_loss, max_symbols, size, end_ns)
            for rows in cells_params]
