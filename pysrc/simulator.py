"""Reference twin of ``liqcore/_jit/sim.py`` on the guide's path: the cascade strategy and fill
model as a plain loop.  (The kernel is the general execution model; its general twin, with market
entries, trailing stops, signal exits and the portfolio rules, is ``pysrc/execmodel.py``.  On the
guide's signals both twins and the kernel agree exactly.)

Written for reading: this is the executable specification of the strategy (entries, fill model,
risk) and the oracle the Numba kernel is tested against (identical ledger, counts and equity).

    >>> result = simulate(events, records, symbol_params, equity=1.0, daily_loss=0.01,
    ...                   weekly_loss=0.02, max_symbols=4, size=0.25)

``events``: EVENT_DTYPE rows sorted by ts_recv; ``records``: CONFIRMED cascade records
(CASCADE_DTYPE); ``symbol_params``: one dict per symbol id with the fields of the kernel's
PARAM_DTYPE (offset, take_profit, stop_loss, maker_fee, taker_fee as fractions; entry_timeout_ns,
hold_timeout_ns, cooldown_ns, max_ref_age_ns, order_latency_ns; touch 0/1; hours_from/hours_to,
-1 = all hours; venue).
"""
from __future__ import annotations

from dataclasses import dataclass, field

TRADE = 2
FUNDING = 4

FLAT, PENDING, RESTING, OPEN = 0, 1, 2, 3
TAKE_PROFIT, STOP_LOSS, TIMEOUT, EXTERNAL = 1, 2, 3, 4
NS_PER_HOUR = 3_600_000_000_000
NS_PER_DAY = 86_400_000_000_000
NO_TIME = -(2**62)

COUNT_NAMES = (
    "cascades", "signals", "orders", "rejected", "fills", "unfilled", "take_profit", "stop_loss",
    "timeout", "no_reference_price", "cooldown", "busy", "max_symbols", "loss_limit", "hours", "mixed",
    "external",
)


@dataclass
class SymbolState:
    status: int = FLAT
    side: int = 0  # +1 long (bought), -1 short (sold)
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
    last_price: float = float("nan")


@dataclass
class Portfolio:
    equity: float
    daily_loss: float
    weekly_loss: float
    max_symbols: int
    size: float
    day: int = NO_TIME
    week: int = NO_TIME
    day_start_equity: float = 0.0
    week_start_equity: float = 0.0
    ledger: list = field(default_factory=list)

    def roll(self, ts: int) -> None:
        """Loss-limit anchors: equity at the start of the UTC day and of the ISO week (Monday)."""
        day = ts // NS_PER_DAY
        if day != self.day:
            self.day = day
            self.day_start_equity = self.equity
            week = (day + 3) // 7  # 1970-01-01 was a Thursday
            if week != self.week:
                self.week = week
                self.week_start_equity = self.equity

    def loss_limit_hit(self) -> bool:
        day_hit = self.daily_loss > 0.0 and (
            self.equity - self.day_start_equity <= -self.daily_loss * self.day_start_equity)
        week_hit = self.weekly_loss > 0.0 and (
            self.equity - self.week_start_equity <= -self.weekly_loss * self.week_start_equity)
        return day_hit or week_hit


class Simulator:
    """Strategy + fill model over one merged stream; call the ``on_*`` methods in stream order."""

    def __init__(self, symbol_params, equity=1.0, daily_loss=0.01, weekly_loss=0.02, max_symbols=4, size=0.25):
        self.par = [dict(p) for p in symbol_params]
        self.states = [SymbolState() for _ in self.par]
        self.port = Portfolio(equity, daily_loss, weekly_loss, max_symbols, size)
        self.counts = [dict.fromkeys(COUNT_NAMES, 0) for _ in self.par]

    # ---- time-driven transitions -------------------------------------------------------------
    def settle(self, sid: int, ts: int) -> None:
        """The order reaches the venue (post-only check against the last print); entry timeout."""
        s = self.states[sid]
        if s.status == PENDING and ts >= s.arrive_ns:
            would_take = (s.side > 0 and s.limit_price >= s.last_price) or (
                s.side < 0 and s.limit_price <= s.last_price)
            if would_take:
                s.status = FLAT
                self.counts[sid]["rejected"] += 1
                return
            s.status = RESTING
        if s.status in (PENDING, RESTING) and ts >= s.entry_deadline_ns:
            s.status = FLAT
            self.counts[sid]["unfilled"] += 1

    def open(self, sid: int, ts: int, price: float) -> None:
        s, q = self.states[sid], self.par[sid]
        s.status = OPEN
        s.entry_ns = ts
        s.entry_price = price
        s.hold_deadline_ns = ts + q["hold_timeout_ns"] if q["hold_timeout_ns"] > 0 else 2**63 - 1  # 0 = none
        if s.side > 0:
            s.tp_price = price * (1.0 + q["take_profit"])
            s.sl_price = price * (1.0 - q["stop_loss"])
        else:
            s.tp_price = price * (1.0 - q["take_profit"])
            s.sl_price = price * (1.0 + q["stop_loss"])
        s.notional = self.port.equity * self.port.size
        s.funding = 0.0
        self.counts[sid]["fills"] += 1

    def close(self, sid: int, ts: int, price: float, reason: int, exit_fee: float) -> None:
        s, q, port = self.states[sid], self.par[sid], self.port
        port.roll(ts)
        fees = q["maker_fee"] + exit_fee
        ret = s.side * (price - s.entry_price) / s.entry_price - fees - s.funding
        pnl = s.notional * ret
        port.equity += pnl
        port.ledger.append(dict(
            symbol_id=sid, venue=q["venue"], side=s.side, cascade_id=s.cascade_id, signal_ns=s.signal_ns,
            arrive_ns=s.arrive_ns, entry_ns=s.entry_ns, exit_ns=ts, exit_reason=reason, ref_price=s.ref_price,
            entry_price=s.entry_price, exit_price=price, tp_price=s.tp_price, sl_price=s.sl_price, fees=fees,
            funding=s.funding, ret=ret, notional=s.notional, pnl=pnl, equity_after=port.equity,
        ))
        s.status = FLAT
        s.cooldown_until_ns = ts + q["cooldown_ns"]
        name = {TAKE_PROFIT: "take_profit", STOP_LOSS: "stop_loss", TIMEOUT: "timeout"}.get(reason, "external")
        self.counts[sid][name] += 1

    # ---- events ------------------------------------------------------------------------------
    def on_trade(self, sid: int, ts: int, price: float) -> None:
        if not 0 <= sid < len(self.states):
            return
        s, q = self.states[sid], self.par[sid]
        if s.status in (PENDING, RESTING):
            self.settle(sid, ts)
        touch = q["touch"] != 0
        if s.status == RESTING:
            lim = s.limit_price
            if s.side > 0:
                hit = price < lim or (touch and price == lim)
            else:
                hit = price > lim or (touch and price == lim)
            if hit:
                self.open(sid, ts, lim)  # fills at the limit; exits are checked from the next print
        elif s.status == OPEN:
            if ts >= s.hold_deadline_ns:
                self.close(sid, ts, price, TIMEOUT, q["taker_fee"])
            elif s.side > 0:
                if price <= s.sl_price:  # the stop is checked before the take-profit
                    self.close(sid, ts, price, STOP_LOSS, q["taker_fee"])
                elif price > s.tp_price or (touch and price == s.tp_price):
                    self.close(sid, ts, s.tp_price, TAKE_PROFIT, q["maker_fee"])
            else:
                if price >= s.sl_price:
                    self.close(sid, ts, price, STOP_LOSS, q["taker_fee"])
                elif price < s.tp_price or (touch and price == s.tp_price):
                    self.close(sid, ts, s.tp_price, TAKE_PROFIT, q["maker_fee"])
        s.last_price = price
        s.last_ns = ts

    def on_funding(self, sid: int, ts: int, rate: float) -> None:
        if not 0 <= sid < len(self.states):
            return
        s = self.states[sid]
        if s.status == OPEN and s.entry_price > 0.0 and s.last_price == s.last_price:
            s.funding += s.side * rate * s.last_price / s.entry_price

    def on_cascade(self, sid: int, ts: int, dominant: int, cascade_id: int) -> str:
        """Decide on a CONFIRMED cascade; returns 'order' or the reason nothing was placed."""
        if not 0 <= sid < len(self.states):
            return "unknown_symbol"
        c = self.counts[sid]
        c["cascades"] += 1
        s, q, port = self.states[sid], self.par[sid], self.port
        self.settle(sid, ts)
        if s.status != FLAT:
            c["busy"] += 1
            return "busy"
        if ts < s.cooldown_until_ns:
            c["cooldown"] += 1
            return "cooldown"
        if dominant not in (1, 2):
            c["mixed"] += 1
            return "mixed"
        c["signals"] += 1
        a, b = q["hours_from"], q["hours_to"]
        if a >= 0:
            hour = (ts // NS_PER_HOUR) % 24
            inside = (a <= hour < b) if a < b else (hour >= a or hour < b)
            if not inside:
                c["hours"] += 1
                return "hours"
        port.roll(ts)
        if port.loss_limit_hit():
            c["loss_limit"] += 1
            return "loss_limit"
        busy = 0
        for j, other in enumerate(self.states):
            if j == sid:
                continue
            if other.status in (PENDING, RESTING):
                self.settle(j, ts)
            if other.status != FLAT:
                busy += 1
        if busy >= port.max_symbols:
            c["max_symbols"] += 1
            return "max_symbols"
        if s.last_ns == NO_TIME or ts - s.last_ns > q["max_ref_age_ns"]:
            c["no_reference_price"] += 1
            return "no_reference_price"
        ref = s.last_price
        s.side = 1 if dominant == 1 else -1
        s.ref_price = ref
        s.limit_price = ref * (1.0 - q["offset"]) if s.side > 0 else ref * (1.0 + q["offset"])
        s.status = PENDING
        s.cascade_id = cascade_id
        s.signal_ns = ts
        s.arrive_ns = ts + q["order_latency_ns"]
        s.entry_deadline_ns = ts + q["entry_timeout_ns"]
        c["orders"] += 1
        return "order"

    def on_clock(self, ts: int) -> None:
        for j, s in enumerate(self.states):
            if s.status in (PENDING, RESTING):
                self.settle(j, ts)
        self.port.roll(ts)

    # ---- live-shell steps (venue mode, restarts) ------------------------------------------------
    def external_entry_fill(self, sid: int, ts: int, price: float) -> bool:
        """The venue filled the working entry at ``price``."""
        if self.states[sid].status in (PENDING, RESTING):
            self.open(sid, ts, price)
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
        """A flat symbol gets a working entry placed outside a cascade decision."""
        if not 0 <= sid < len(self.states) or status not in (PENDING, RESTING):
            return False
        s = self.states[sid]
        if s.status != FLAT:
            return False
        s.status, s.side, s.limit_price, s.ref_price = status, side, price, ref_price
        s.cascade_id, s.signal_ns, s.arrive_ns, s.entry_deadline_ns = cascade_id, signal_ns, arrive_ns, deadline_ns
        return True

    def set_open(self, sid, side, entry_ns, entry_price, tp_price, sl_price, notional, hold_deadline_ns, funding) -> bool:
        """A symbol without a position gets the position the venue holds."""
        if not 0 <= sid < len(self.states) or not entry_price > 0.0:
            return False
        s = self.states[sid]
        if s.status == OPEN:
            return False
        s.status, s.side, s.entry_ns, s.entry_price = OPEN, side, entry_ns, entry_price
        s.tp_price, s.sl_price, s.notional = tp_price, sl_price, notional
        s.hold_deadline_ns, s.funding = hold_deadline_ns, funding
        return True


def merged_stream(events, records):
    """Trades, funding and cascade decisions in (time, input index) order; a record sorts right after
    the event that confirmed it."""
    items = []
    for i, e in enumerate(events):
        if int(e["kind"]) in (TRADE, FUNDING):
            items.append((int(e["ts_recv"]), i, 0, e))
    for r in records:
        items.append((int(r["confirm_recv_ns"]), int(r["event_index"]), 1, r))
    items.sort(key=lambda x: (x[0], x[1], x[2]))
    return items


def simulate(events, records, symbol_params, equity=1.0, daily_loss=0.01, weekly_loss=0.02, max_symbols=4,
             size=0.25, end_ns=None):
    """Replay; returns the :class:`Simulator` (``.port.ledger``, ``.counts``, ``.port.equity``)."""
    sim = Simulator(symbol_params, equity, daily_loss, weekly_loss, max_symbols, size)
    for ts, _idx, is_record, row in merged_stream(events, records):
        if is_record:
            sim.on_cascade(int(row["symbol_id"]), ts, int(row["dominant"]), int(row["cascade_id"]))
        elif int(row["kind"]) == TRADE:
            sim.on_trade(int(row["symbol_id"]), ts, float(row["price"]))
        else:
            sim.on_funding(int(row["symbol_id"]), ts, float(row["price"]))
    if end_ns is not None:
        sim.on_clock(int(end_ns))
    return sim
