"""Chaos schedules for the live path (issue 67, item 7): seeded random faults against a venue's loopback fake
while the real engine and the venue's real gateway trade several cascades, and the invariants every schedule
must leave intact.

One rig per venue (:class:`Rig`: Bybit ``FakeExchange``, Binance ``FakeBinance``, OKX ``FakeOkx``, Gate
``FakeGate``) knows how to
start its fake and gateway, write a cascade in the venue's wire format, move the venue's market and inject the
faults its fake plays (:attr:`Rig.faults`: name -> action).  :func:`schedule` draws a schedule from a seed;
:func:`run_schedule` plays it and returns a :class:`Report` whose :meth:`Report.violations` names each broken
invariant:

* every order the venue holds is known to liqcore (the gateway's last state of its client id, not final);
* no open position is without its take-profit and stop-loss at the venue for more than ``limit_s`` (sampled
  every 50 ms), and none is left without them after the stop;
* at no sampled point do more exits rest at the venue than one take-profit and one stop-loss for the symbol's one
  position (a bracket's pair the gateway lost track of, placed again beside it) for longer than ``double_limit_s``
  (a superseded exit the gateway is cancelling may rest a few seconds behind its rate limits on a busy machine);
* no fill is booked twice or lost: the journal's fills of each symbol are the venue's executions (count and
  quantity), and the engine's position is the venue's;
* after the stop (the engine's shutdown, as on SIGINT) no entry order rests at the venue, and while the venue's
  position is flat no take-profit, stop-loss or other reduce-only order rests there either (an exit left over
  from a closed position fires against the next one).

Each step starts from the same market: the venue's last price is set back to :data:`STEP_PRICE` (the price of the
step's cascade), else the previous step's take-profit or stop-loss move leaves it elsewhere and the next post-only
entry may be refused for crossing, testing nothing.

The faults are the ones the fakes play (their docstrings name the documents): HTTP 5xx with and without the
order really created, an answer delayed past the client's timeout (outcome unknown, order created), rate
limits, and the private stream dropped (fills during the disconnect).
"""
from __future__ import annotations

import asyncio
import inspect
import math
import random
import time
from dataclasses import dataclass, field

from liqcore.config import Params

#: the engine's parameters for a schedule: a 3 s cascade window, thresholds computed once, no cooldown, short
#: entry and hold timeouts (entries that do not fill are cancelled; positions not exited are closed)
PARAMS = Params(min_history=5, history=50).replace(window_ns=3_000_000_000, refresh_ns=30 * 86_400 * 10**9,
                                                   cooldown_ns=0, entry_timeout_ns=1_500_000_000,
                                                   hold_timeout_ns=3_000_000_000)
#: baseline liquidation sizes (base units at 3000: a P95 near 1500 quote)
BASELINE = (0.5, 0.1, 0.3, 0.2, 0.4, 0.15, 0.35, 0.25, 0.45, 0.05)
#: the price each step's cascade prints at; the venue's last price is set back to it as a step starts
STEP_PRICE = 3000.0
#: what happens after an entry: filled then take-profit, filled then stop-loss, filled then held to its
#: timeout (closed at market), or never filled (cancelled at its timeout)
OUTCOMES = ("tp", "sl", "hold", "unfilled")


async def wait_for(cond, timeout: float, step: float = 0.02, trace: list | None = None, what: str = "") -> bool:
    """Poll ``cond()`` until true (True) or ``timeout`` seconds pass (False; noted in ``trace``)."""
    t = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > t:
            if trace is not None:
                trace.append(f"waited {timeout:g} s in vain: {what}")
            return False
        await asyncio.sleep(step)
    return True


# --------------------------------------------------------------------------------------------- the rigs
class Rig:
    """One venue: its fake, gateway and wire formats (subclasses below)."""

    venue = ""
    symbol = ""
    #: the order endpoint the ``*_create*`` faults hit: the next request whose path starts with it, whatever it
    #: asks (the fakes match by prefix), so a query or cancel of an order, and on OKX an exit's placement
    #: (``/api/v5/trade/order-algo``), may take the fault too: on purpose, they share the create's bad days
    #: (OKX's seed 36 was found that way)
    create_path = ""
    ct_val = 1.0  # base units per venue quantity unit (OKX: contracts)
    fake = ""  # the fake venue's class, by its name in tests/_bad_days.py
    start_price = None  # the symbol's last price set at the start (where the fake needs one)

    def __init__(self):
        self.fx = None

    # ---- set-up
    async def open(self):
        """Start the venue's fake (its symbol's last price at :attr:`start_price`, where set); returned."""
        import tests._bad_days as days

        self.fx = await getattr(days, self.fake)().start()
        if self.start_price is not None:
            self.fx.set_last_price(self.symbol, self.start_price)
        return self.fx

    def gateway(self):
        raise NotImplementedError

    # ---- market data and market moves
    def liq(self, t_ms: int, qty: float, price: float) -> bytes:
        raise NotImplementedError

    def print_(self, t_ms: int, price: float) -> bytes:
        raise NotImplementedError

    async def trade(self, price: float) -> None:
        await self.fx.trade(self.symbol, price)

    # ---- faults
    @property
    def faults(self) -> dict:
        """name -> ``action(rng)`` (sync or async) of the faults the fake plays: the shared ones, then the venue's
        own (:meth:`venue_faults`: those its fake has, e.g. after the venue's bad-day switches were merged)."""
        fx = self.fx
        out = {
            "5xx_create_processed": lambda rng: fx.fail_next(1, status=502, path=self.create_path, process=True),
            "5xx_create": lambda rng: fx.fail_next(1, status=503, path=self.create_path, process=False),
            "5xx_any": lambda rng: fx.fail_next(rng.randint(1, 3), status=500, path=None),
            "delay_create_processed": lambda rng: fx.delay_next(1, seconds=rng.uniform(0.3, 2.5),
                                                                path=self.create_path, process=True),
            "rate_limit": lambda rng: fx.rate_limit_next(rng.randint(1, 2)),
            "drop_private": lambda rng: self.drop_private(),
        }
        out.update(self.venue_faults())
        return out

    def venue_faults(self) -> dict:
        return {}

    @property
    def exit_faults(self) -> dict:
        """name -> ``action(rng)`` of the faults on an open position's exits (the venue cancelling, expiring or
        failing one), where the fake plays them."""
        return {}

    def drop_private(self) -> int:
        raise NotImplementedError

    @staticmethod
    def opts(cls, **wanted) -> dict:
        """The options of ``wanted`` that ``cls`` takes: the liveness timings compressed as the schedule is (a
        mute socket found in seconds, not in the venue's 20-30 s), where the gateway has them."""
        names = inspect.signature(cls).parameters
        return {k: v for k, v in wanted.items() if k in names}

    def later(self, seconds: float, fn) -> None:
        """``fn()`` after ``seconds`` (a fault that lasts a while: a mute socket heard again)."""
        asyncio.get_running_loop().call_later(seconds, fn)

    # ---- what the venue holds
    def venue_position(self) -> float:
        """The venue's position of the symbol, base units (signed)."""
        return self.fx.venue.position(self.symbol).size * self.ct_val

    def protected(self) -> bool:
        """Whether the venue holds both a take-profit and a stop-loss for the open position."""
        v = self.fx.venue
        pos = v.position(self.symbol)
        kinds = {o.stop_order_type for o in v.open_orders(self.symbol) if o.stop_order_type}
        return (bool(pos.take_profit) or "TakeProfit" in kinds) and (bool(pos.stop_loss) or "StopLoss" in kinds)

    def open_orders(self) -> list:
        return list(self.fx.venue.open_orders(self.symbol))

    def exits_resting(self) -> dict[str, list[str]]:
        """The take-profits and stop-losses resting at the venue for the symbol: kind -> their client ids."""
        out: dict[str, list[str]] = {}
        for o in self.open_orders():
            if o.stop_order_type in ("TakeProfit", "StopLoss"):
                out.setdefault(o.stop_order_type, []).append(o.order_link_id or "(no client id)")
        return out

    def reset_price(self, price: float) -> None:
        """The venue's last price of the symbol set to ``price`` (a step's start: the market where the cascade is)."""
        self.fx.venue.last_price[self.symbol] = float(price)

    def executions(self) -> list[float]:
        """The venue's executions of the symbol: their quantities in base units."""
        return [float(e["execQty"]) * self.ct_val for e in self.fx.venue.executions if e["symbol"] == self.symbol]


class BybitRig(Rig):
    venue, symbol, create_path, fake = "bybit", "ETHUSDT", "/v5/order/create", "FakeExchange"

    def gateway(self):
        from tests._bad_days import BybitGateway

        fx = self.fx
        return BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=[self.symbol],
                            retry_backoff=0.02, timeout=2.0,
                            **self.opts(BybitGateway, ping_interval=1.0, pong_timeout=1.0, reconcile_s=1.0))

    def liq(self, t_ms, qty, price):
        import orjson

        from liqcore.testing.fake_replay import liquidation_frame

        return orjson.dumps(liquidation_frame(self.symbol, price, qty, "Buy", t_ms))

    def print_(self, t_ms, price):
        import orjson

        from liqcore.testing.fake_replay import trade_frame

        return orjson.dumps(trade_frame(self.symbol, price, 1, "Sell", t_ms))

    async def trade(self, price):
        await self.fx.trade(self.symbol, price, 1000.0)

    def drop_private(self):
        return self.fx.drop("private")

    def venue_faults(self):
        fx, out = self.fx, {}
        if hasattr(fx, "ret_code_next"):  # Bybit "Error Codes": 10000 Server Timeout / 10016 Server error, HTTP 200
            out["10000_create_processed"] = lambda rng: fx.ret_code_next(1, 10000, "Server Timeout",
                                                                         path=self.create_path, process=True)
            out["10016_create"] = lambda rng: fx.ret_code_next(1, 10016, "Server error.", path=self.create_path,
                                                               process=False)
        # the private socket open but mute (no pushes, no pong) on the connections open now
        out["mute_private"] = lambda rng: fx.stall("private")
        return out

    @property
    def exit_faults(self):
        fx = self.fx
        if not hasattr(fx, "cancel_exit"):
            return {}
        return {"venue_cancels_tp": lambda rng: fx.cancel_exit(self.symbol, "TakeProfit"),
                "venue_cancels_sl": lambda rng: fx.cancel_exit(self.symbol, "StopLoss")}


class BinanceRig(Rig):
    venue, symbol, create_path, fake, start_price = "binance", "ETHUSDT", "/fapi/v1/order", "FakeBinance", 3000.0

    def gateway(self):
        from tests._bad_days import BinanceGateway

        fx = self.fx
        return BinanceGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.ws_base, symbols=[self.symbol],
                              timeout=2.0, retry_backoff=0.05, keepalive=1.0,
                              **self.opts(BinanceGateway, heartbeat=1.0, reconcile_s=1.0))

    def liq(self, t_ms, qty, price):
        from liqcore.venues.binance.samples import liquidation_frame

        return liquidation_frame(self.symbol, t_ms, qty, price, "SELL")

    def print_(self, t_ms, price):
        from liqcore.venues.binance.samples import agg_trade_frame

        return agg_trade_frame(self.symbol, t_ms, 1.0, price, "SELL")

    def drop_private(self):
        return self.fx.drop()

    def venue_faults(self):
        fx, out = self.fx, {}
        if hasattr(fx, "unknown_outcome_next"):  # USD-M "Error Codes": -1007 / -1006, execution status unknown
            out["1007_create_processed"] = lambda rng: fx.unknown_outcome_next(1, code=-1007, created=True)
            out["1006_create"] = lambda rng: fx.unknown_outcome_next(1, code=-1006, created=False)
        if hasattr(fx, "ban_next"):  # HTTP 418 with Retry-After (a short one: the run waits it out)
            out["ban_418"] = lambda rng: fx.ban_next(rng.uniform(1.0, 2.5))
        if hasattr(fx, "expire_listen_keys"):  # -1125 on the next keepalive (every 1 s here)
            out["listen_key_gone"] = lambda rng: fx.expire_listen_keys()
        if hasattr(fx, "mute_user_stream"):  # the user stream open but mute (no events, no pong), for a while

            def mute(rng):
                fx.mute_user_stream = True
                self.later(rng.uniform(1.0, 4.0), lambda: setattr(fx, "mute_user_stream", False))

            out["mute_private"] = mute
        return out

    @property
    def exit_faults(self):
        fx = self.fx
        if not hasattr(fx, "venue_cancels_algo"):
            return {}

        def cancel(kind):
            async def act(rng):
                ids = [o.order_link_id for o in fx.venue.open_orders(self.symbol)
                       if o.stop_order_type == kind and o.status == "Untriggered" and o.order_link_id]
                if ids:
                    await fx.venue_cancels_algo(ids[0], rng.choice(["CANCELED", "EXPIRED", "REJECTED"]))
            return act

        return {"venue_cancels_tp": cancel("TakeProfit"), "venue_cancels_sl": cancel("StopLoss")}


class OkxRig(Rig):
    venue, symbol, create_path, ct_val = "okx", "ETH-USDT-SWAP", "/api/v5/trade/order", 0.1
    fake, start_price = "FakeOkx", 3000.0

    def gateway(self):
        from tests._bad_days import OkxGateway

        fx = self.fx
        return OkxGateway(fx.api_key, fx.api_secret, fx.passphrase, fx.rest_url, fx.ws_base, symbols=[self.symbol],
                          retry_backoff=0.02, timeout=2.0, **self.opts(OkxGateway, ping_interval=1.0, reconcile_s=1.0))

    def liq(self, t_ms, qty, price):
        from liqcore.venues.okx.samples import liquidation_frame

        return liquidation_frame(self.symbol, t_ms, round(qty / self.ct_val, 4), price, "sell")

    def print_(self, t_ms, price):
        from liqcore.venues.okx.samples import trade_frame

        return trade_frame(self.symbol, t_ms, 1, price, "sell")

    def drop_private(self):
        return self.fx.drop("private")

    def venue_faults(self):
        fx, out = self.fx, {}
        if hasattr(fx, "answer_code_next"):  # OKX "Error Code" 50004: API endpoint request timeout (HTTP 400)
            out["50004_create_processed"] = lambda rng: fx.answer_code_next("50004", self.create_path, process=True)
            out["50004_create"] = lambda rng: fx.answer_code_next("50004", self.create_path, process=False)
        if hasattr(fx, "mute"):  # "WebSocket: Connect": open but mute, no pong
            out["mute_private"] = lambda rng: fx.mute("private")
        return out

    @property
    def exit_faults(self):
        fx = self.fx
        if not hasattr(fx, "cancel_algo_by_venue"):
            return {}

        async def cancel(rng):
            ids = [cl for cl, a in fx.algos().items() if a.get("state") == "live" and a.get("instId") == self.symbol]
            if ids:
                await fx.cancel_algo_by_venue(ids[0], rng.choice(["canceled", "order_failed"]))

        return {"venue_cancels_algo": cancel}


class GateRig(Rig):
    venue, symbol, create_path, ct_val = "gate", "ETH_USDT", "/api/v4/futures/usdt/orders", 0.01
    start_price = 3000.0

    async def open(self):
        from liqcore.venues.gate.fake import FakeGate

        self.fx = await FakeGate().start()
        self.fx.venue.last_price[self.symbol] = self.start_price
        return self.fx

    def gateway(self):
        from liqcore.venues.gate.gateway import GateGateway

        fx = self.fx
        self.gw = GateGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.ws_base, symbols=[self.symbol],
                              retry_backoff=0.02, timeout=2.0, ping_interval=1.0, reconcile_s=1.0)
        return self.gw

    def liq(self, t_ms, qty, price):
        from liqcore.venues.gate.samples import liquidation_frame

        return liquidation_frame(self.symbol, t_ms, round(qty / self.ct_val, 4), price, "long")

    def print_(self, t_ms, price):
        from liqcore.venues.gate.samples import trade_frame

        return trade_frame(self.symbol, t_ms, 1, price, "sell")

    def drop_private(self):
        return self.fx.drop()

    def venue_faults(self):
        fx, path = self.fx, self.create_path
        # Gate API v4 "label list", server errors: the outcome unknown, the order created or not
        return {"INTERNAL_create_processed": lambda rng: fx.answer_label_next("INTERNAL", path, process=True),
                "TOO_BUSY_create": lambda rng: fx.answer_label_next("TOO_BUSY", path, process=False, http=503),
                "mute_private": lambda rng: fx.mute()}

    @property
    def exit_faults(self):
        fx = self.fx

        async def end(rng):  # Gate ends a price-triggered exit of its own accord
            texts = [r["initial"]["text"] for r in fx.auto_orders("open") if r["initial"]["contract"] == self.symbol]
            if texts:
                await fx.end_auto_by_venue(texts[0], rng.choice(["cancelled", "failed", "expired"]))

        return {"venue_ends_exit": end}

    def open_orders(self) -> list:
        """The orders Gate holds open, each named by the liqcore client id its ``text`` stands for."""
        from types import SimpleNamespace

        out = []
        for o in self.fx.venue.open_orders(self.symbol):
            cid, _ = self.gw.client_id_of(self.fx._text.get(o.order_id, ""))
            out.append(SimpleNamespace(order_link_id=cid, status=o.status, stop_order_type=o.stop_order_type,
                                       reduce_only=o.reduce_only))
        return out


RIGS = {"bybit": BybitRig, "binance": BinanceRig, "okx": OkxRig, "gate": GateRig}


# --------------------------------------------------------------------------------------------- schedules
@dataclass
class Step:
    """One cascade of a schedule: faults injected before it (``before``), its outcome, and faults injected
    once its entry rests (``during``: before the fill and exit arrive)."""

    before: list[str]
    outcome: str
    during: list[str]
    on_exits: list[str] = field(default_factory=list)  # once the position holds its exits


def schedule(seed: int, fault_names, cascades: int = 3, exit_names=()) -> list[Step]:
    """The schedule of ``seed``: ``cascades`` steps, each with 0-2 faults before, 0-1 during and, where the fake
    plays them, 0-1 on the exits (the schedule of a seed depends on the fault names the fake offers)."""
    rng = random.Random(seed)
    names = sorted(fault_names)
    exits = sorted(exit_names)
    return [Step(rng.sample(names, rng.randint(0, 2)), rng.choice(OUTCOMES), rng.sample(names, rng.randint(0, 1)),
                 rng.sample(exits, rng.randint(0, 1)) if exits else [])
            for _ in range(cascades)]


async def _act(action, rng) -> None:
    r = action(rng)
    if inspect.isawaitable(r):
        await r


@dataclass
class Report:
    venue: str
    seed: int
    steps: list[Step]
    orders: int = 0
    fills_journal: list = field(default_factory=list)
    fills_venue: list = field(default_factory=list)
    position_engine: float = 0.0
    position_venue: float = 0.0
    longest_unprotected_s: float = 0.0
    unknown_orders: list = field(default_factory=list)
    left_open: list = field(default_factory=list)
    #: exits (take-profit, stop-loss, reduce-only) resting at the venue after the stop while its position is flat
    exits_left_flat: list = field(default_factory=list)
    unprotected_at_end: bool = False
    #: the longest time more than one take-profit or stop-loss rested at once (s), and what rested then
    longest_doubled_s: float = 0.0
    doubled: dict = field(default_factory=dict)
    double_limit_s: float = 5.0
    seconds: float = 0.0
    limit_s: float = 30.0
    #: what each step did: its decision (or refusal) and the waits that ran out (a slow or stuck path)
    trace: list = field(default_factory=list)
    stuck: bool = False  # the schedule or the stop did not finish in its time
    #: journal ``orders`` rows whose journaled fills add up to their quantity but whose status is not ``filled``
    stale_orders: list = field(default_factory=list)

    def violations(self) -> list[str]:
        out = []
        if self.stale_orders:
            out.append(f"orders filled by their journaled fills but journaled otherwise: {self.stale_orders}")
        if self.stuck:
            out.append("the run got stuck: " + "; ".join(t for t in self.trace if "did not finish" in t))
        if self.unknown_orders:
            out.append(f"orders the venue holds that liqcore does not know (or knows as final): {self.unknown_orders}")
        if self.longest_unprotected_s > self.limit_s:
            out.append(f"a position without take-profit and stop-loss for {self.longest_unprotected_s:.1f} s "
                       f"(limit {self.limit_s:.0f} s)")
        if self.longest_doubled_s > self.double_limit_s:
            out.append(f"more exits resting than one take-profit and one stop-loss for "
                       f"{self.longest_doubled_s:.1f} s: {self.doubled}")
        if self.unprotected_at_end:
            out.append("a position left open without take-profit and stop-loss after the stop")
        if len(self.fills_journal) != len(self.fills_venue) or not math.isclose(
                sum(self.fills_journal), sum(self.fills_venue), abs_tol=1e-9):
            out.append(f"fills booked {len(self.fills_journal)} ({sum(self.fills_journal):g} base units) vs the "
                       f"venue's executions {len(self.fills_venue)} ({sum(self.fills_venue):g} base units)")
        if not math.isclose(self.position_engine, self.position_venue, abs_tol=1e-9):
            out.append(f"position {self.position_engine:g} in the engine vs {self.position_venue:g} at the venue")
        if self.left_open:
            out.append(f"entries left resting at the venue after the stop: {self.left_open}")
        if self.exits_left_flat:
            out.append(f"exits left resting at the venue after the stop with the position flat: {self.exits_left_flat}")
        return out


async def run_schedule(rig: Rig, seed: int, steps: list[Step], journal_path, *, limit_s: float = 30.0,
                       budget_s: float = 80.0) -> Report:
    """Play ``steps`` against ``rig`` (opened) with the real engine and gateway; stop; check the invariants."""
    from liqcore.live.engine import Engine
    from liqcore.live.journal import Journal

    t_start = time.monotonic()
    rng = random.Random(seed * 7919 + 1)
    gw = rig.gateway()
    eng = Engine(PARAMS, venues=(rig.venue,), symbols=[rig.symbol], gateway=gw, journal=Journal(journal_path))
    rep = Report(rig.venue, seed, steps, limit_s=limit_s)
    await eng.start()
    uk = eng.order_manager.unknowns
    uk.delays, uk.slow = (0.1, 0.2, 0.4, 0.8), 1.0
    book = eng.books[rig.symbol]
    unprotected_since = [None]
    doubled_since = [None]

    async def monitor():  # the protection invariant, sampled; and the engine's clock (timeouts, watchdog)
        while True:
            eng.on_clock()
            now = time.monotonic()
            if abs(rig.venue_position()) > 1e-12 and not rig.protected():
                if unprotected_since[0] is None:
                    unprotected_since[0] = now
                rep.longest_unprotected_s = max(rep.longest_unprotected_s, now - unprotected_since[0])
            else:
                unprotected_since[0] = None
            resting = rig.exits_resting()
            if any(len(ids) > 1 for ids in resting.values()):
                if doubled_since[0] is None:
                    doubled_since[0] = now
                if now - doubled_since[0] >= rep.longest_doubled_s:
                    rep.longest_doubled_s, rep.doubled = now - doubled_since[0], resting
            else:
                doubled_since[0] = None
            await asyncio.sleep(0.05)

    mon = asyncio.create_task(monitor())
    faults = rig.faults
    # event times in the past (a decision at receive time = now): the baseline, then one cascade each 10 s
    t0 = int(time.time() * 1000) - 120_000
    recv = time.time_ns()
    k = [0]

    def push(frame: bytes) -> list:
        k[0] += 1
        return eng.on_frame(rig.venue, frame, max(recv, time.time_ns() - 1_000_000) + k[0])

    for i, q in enumerate(BASELINE):
        push(rig.liq(t0 + i * 1000, q, 3000.0))

    async def play():
        for n, step in enumerate(steps):
            tr = rep.trace
            if not await wait_for(lambda: book.entry is None and not book.position_qty and not book.closing, 20,
                                  trace=tr, what=f"step {n}: the symbol idle"):
                tr.append(f"  (entry {book.entry and book.entry.client_id} {book.entry_status!r}, position "
                          f"{book.position_qty:g}, closing {book.closing!r}, unknown {list(uk.open)}; venue position "
                          f"{rig.venue_position():g}, open orders "
                          f"{[(o.order_link_id, o.status, o.stop_order_type) for o in rig.open_orders()]})")
            rig.reset_price(STEP_PRICE)  # (each step from the cascade's market: see the module's docstring)
            for name in step.before:
                await _act(faults[name], rng)
            tc = t0 + 20_000 + n * 10_000
            ds = push(rig.print_(tc, STEP_PRICE))
            ds += push(rig.liq(tc + 1000, 10.0, STEP_PRICE))
            ds += push(rig.liq(tc + 2000, 12.0, 2999.0))
            d = next((x for x in ds if x.action == "order"), None)
            tr.append(f"step {n}: " + ("; ".join(f"{x.action} {x.reason}".strip() for x in ds) or "no decision"))
            if d is None:
                continue
            rep.orders += 1
            rested = await wait_for(lambda: book.entry_status in ("new", "partially_filled") or book.entry is None, 10,
                                    trace=tr, what=f"step {n}: the entry resting or gone")
            for name in step.during:
                await _act(faults[name], rng)
            if step.outcome == "unfilled" or not rested or book.entry is None:
                await wait_for(lambda: book.entry is None, 15, trace=tr, what=f"step {n}: the entry cancelled")
                continue
            await rig.trade(d.price - 1.0 if d.side == "buy" else d.price + 1.0)
            await wait_for(lambda: abs(rig.venue_position()) > 0 and rig.protected() or book.entry is None, 10, trace=tr,
                           what=f"step {n}: the position protected")
            for name in step.on_exits:  # the venue cancels an exit: replaced, or the position closed, within 30 s
                await _act(rig.exit_faults[name], rng)
                await asyncio.sleep(0.1)
                await wait_for(lambda: rig.protected() or abs(rig.venue_position()) < 1e-12, limit_s + 5, trace=tr,
                               what=f"step {n}: the exit made whole after {name}")
            if step.outcome in ("tp", "sl"):
                lvl = d.take_profit if step.outcome == "tp" else d.stop_loss
                beyond = 1.0 if (d.side == "buy") == (step.outcome == "tp") else -1.0
                if lvl == lvl and lvl > 0:
                    await rig.trade(lvl)
                    await rig.trade(lvl + beyond)
            else:  # held: a print after the hold deadline (its receive time) and the engine closes at market
                await asyncio.sleep(PARAMS.hold_timeout_ns / 1e9 + 0.1)
                push(rig.print_(tc + 2500, d.price))
            await wait_for(lambda: abs(rig.venue_position()) < 1e-12 and not book.position_qty, 15, trace=tr,
                           what=f"step {n}: the position closed")
        # quiet: nothing in flight, the engine's view settled on the venue's
        await wait_for(lambda: not uk.open and not eng.order_manager.inflight
                       and math.isclose(book.position_qty, rig.venue_position(), abs_tol=1e-9), 15,
                       trace=rep.trace, what="the end: nothing unknown, the engine's position the venue's")

    playing = asyncio.create_task(play())
    try:
        # the whole schedule within ``budget_s``; a position found unprotected past the limit ends it at once
        deadline = time.monotonic() + budget_s
        while not playing.done():
            if time.monotonic() > deadline:
                rep.trace.append(f"the schedule did not finish in {budget_s:g} s")
                rep.stuck = True
                break
            if rep.longest_unprotected_s > limit_s:
                rep.trace.append("stopped early: a position unprotected past the limit")
                break
            await asyncio.sleep(0.05)
        if not playing.done():
            playing.cancel()
        await asyncio.gather(playing, return_exceptions=True)
        if playing.done() and not playing.cancelled() and playing.exception() is not None:
            raise playing.exception()
    finally:
        mon.cancel()
        try:
            await asyncio.wait_for(eng.shutdown(timeout=5), 30)
        except asyncio.TimeoutError:
            rep.trace.append("the stop did not finish in 30 s")
            rep.stuck = True
    # ---- the invariants
    import sqlite3

    import orjson

    j = eng.journal
    j.flush()
    with sqlite3.connect(journal_path) as db:
        fills = [orjson.loads(d) for d, in db.execute("SELECT data FROM fills ORDER BY ts_ns")]
    rep.fills_journal = [float(f["qty"]) for f in fills if f.get("symbol") == rig.symbol]
    booked: dict = {}
    for f in fills:
        k = (f.get("client_id"), f.get("kind") or "entry")
        booked[k] = booked.get(k, 0.0) + float(f["qty"])
    with sqlite3.connect(journal_path) as db:
        for cid, kind, status, qty in db.execute("SELECT client_id, kind, status, qty FROM orders"):
            if qty and booked.get((cid, kind), 0.0) >= qty * (1 - 1e-9) and status != "filled":
                rep.stale_orders.append(f"{cid} {kind} {status}")
    rep.fills_venue = rig.executions()
    rep.position_engine = book.position_qty
    rep.position_venue = rig.venue_position()
    flat = abs(rig.venue_position()) < 1e-12
    for o in rig.open_orders():
        if flat and (o.stop_order_type or getattr(o, "reduce_only", False)):
            rep.exits_left_flat.append(f"{o.order_link_id or '(no client id)'} ({o.status}, "
                                       f"{o.stop_order_type or 'reduce-only'})")
        if not o.order_link_id:
            continue  # (a venue-attached child: known through its parent entry)
        known = [u for kd in ("entry", "tp", "sl", "exit") if (u := gw.known(o.order_link_id, kd)) is not None]
        if not known or all(u.status in ("filled", "cancelled", "rejected", "deactivated") for u in known):
            rep.unknown_orders.append(f"{o.order_link_id} ({o.status}, {o.stop_order_type or 'entry'})")
        if not o.reduce_only and not o.stop_order_type:
            rep.left_open.append(f"{o.order_link_id} ({o.status})")
    rep.unprotected_at_end = abs(rig.venue_position()) > 1e-12 and not rig.protected()
    j.close()
    rep.seconds = round(time.monotonic() - t_start, 2)
    return rep
