"""StrategyCore: the cascade strategy + fill model driven one event at a time (paper and venue modes).

It holds the backtest loop's state arrays and calls the same Numba step functions (``liqcore._jit.sim``),
so paper trading fills as a backtest does.  The API, venue mode and the live shell's methods:
docs/maintainers/strategies.md, "`StrategyCore`, one event at a time".

Why one module: every method wraps the same state arrays and Numba steps.  May import: numpy, ``types``,
``codes``, ``config``, ``signals``, ``_jit``, ``execution``, ``strategies`` and this package's ``run``.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from liqcore.config import Params
from liqcore.codes import EXIT_NAMES
from liqcore.execution.arrays import coin_fees
from liqcore.types import DEFAULT_VENUE, SymbolRegistry, Venue

_REASONS = {"take_profit": 1, "stop_loss": 2, "timeout": 3, "external": 4}
# the execution model's exit reasons (their one home, liqcore.codes: importing it compiles nothing)
_EXIT_NAMES = EXIT_NAMES
_STATUS_NAMES = ("flat", "pending", "resting", "open")
_PORT_FIELDS = ("equity", "equity0", "day", "week", "day_start_equity", "week_start_equity")
_INT_FIELDS = ("cascade_id", "signal_ns", "arrive_ns", "entry_deadline_ns", "entry_ns", "hold_deadline_ns",
               "cooldown_until_ns", "last_ns",
               # the execution model's signal spec and daily-trades count
               "entry_kind", "hold_ns", "hold_reason", "exit_due_ns", "exit_due_reason", "exit_code", "closing",
               "fill_day", "day_fills",
               # when the core's bot learnt of its position (the fill + the order latency's way back)
               "seen_ns", "free_ns",
               # the fills that made the position, a partial fill's rest (a backtest's: 0 here)
               "p_fills", "p_rest",
               # the UTC day / ISO week of a margin-coin account's loss-limit anchors
               "coin_day", "coin_week")
_FLOAT_FIELDS = ("ref_price", "limit_price", "entry_price", "tp_price", "sl_price", "notional", "funding",
                 "last_price", "tp_frac", "sl_frac", "trail", "peak", "stop_price", "confidence", "size_mult",
                 "p_qty", "p_done",  # (the entry's quantity, base units, and how much of it filled)
                 "funding_coin",  # (an inverse contract's funding so far, in the coin)
                 # the margin-coin account this symbol keeps (inverse contracts; None: not started), in the coin
                 "coin_equity", "coin_day_start", "coin_week_start")
_SIGNED_FLOATS = ("funding", "tp_frac", "sl_frac", "funding_coin", "coin_equity", "coin_day_start",
                  "coin_week_start")  # may be negative (-1 = no such level)
_SIDES = {"buy": 1, "long": 1, "sell": -1, "short": -1}


# a venue-mode close reported by the live shell may carry any exit reason of the execution model
_REASONS.update({name: code for code, name in _EXIT_NAMES.items()})
#: the exits a venue-mode core can watch on the prints (see :attr:`StrategyCore.watch`)
WATCHABLE = ("take_profit", "stop_loss", "trail", "stop_price")


def _float(name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}: expected a number; got {v!r}")
    x = float(v)
    if not math.isfinite(x):
        raise ValueError(f"{name}: must be finite; got {v!r}")
    return x


def _positive(name: str, v) -> float:
    x = _float(name, v)
    if not x > 0:
        raise ValueError(f"{name}: must be positive; got {v!r}")
    return x


def _int(name: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ValueError(f"{name}: expected an integer; got {v!r}")
    return int(v)


def _side(v, name: str = "side") -> int:
    if isinstance(v, str) and v.lower() in _SIDES:
        return _SIDES[v.lower()]
    if not isinstance(v, bool) and v in (1, -1):
        return int(v)
    raise ValueError(f"{name}: expected buy or sell; got {v!r}")


class StrategyCore:
    """Per-event strategy for a fixed list of symbols (``symbol_idx`` = position in ``symbols``).

    ``symbols``: names like ``"ETHUSDT"`` or ``"bybit:ETHUSDT"`` (venue defaults to ``venue``).
    Per-symbol presets (``Params.for_symbol``) apply.  ``equity``: starting equity (quote units)."""

    def __init__(self, params: Params, symbols: list[str], equity: float = 1.0, *, venue: str = DEFAULT_VENUE,
                 mode: str = "paper", ledger_capacity: int = 256):
        from liqcore._jit import sim
        from liqcore.execution.arrays import new_portfolio, symbol_params

        if mode not in ("paper", "venue"):
            raise ValueError(f"mode: expected 'paper' or 'venue'; got {mode!r}")
        if not symbols:
            raise ValueError("symbols: give at least one symbol")
        if not (isinstance(equity, (int, float)) and np.isfinite(equity) and equity > 0):
            raise ValueError(f"equity: must be a positive number; got {equity!r}")
        self._sim = sim
        self.params = params
        self.mode = mode
        self.registry = SymbolRegistry()
        for name in symbols:
            v, _, s = str(name).rpartition(":")
            self.registry.id(Venue.parse(v or venue), s)
        if len(self.registry) != len(symbols):
            raise ValueError("symbols: duplicate symbol")
        n = len(self.registry)
        self.par = symbol_params(params, self.registry, n, float(equity))
        self.par["partial"] = 0  # (a backtest fill model: paper fills one event at a time fill whole orders)
        if mode == "venue":  # a live session: the venue's answers really come late; the core acts as told
            self.par["inbound_ns"] = 0
            self.par["engine_exits"] = 0
            # (and its orders follow the venue's own rules, which the order manager reads from the venue)
            self.par["grid"] = self.par["lot"] = self.par["min_qty"] = 0.0
        from liqcore.execution.avoid import Avoid

        #: the avoided times (weekends, news, maintenance windows): no entry decided inside them, as in the
        #: backtest (an entry signal becomes a skip ``avoid``, a cascade is not acted on)
        self.avoid = Avoid.from_params(params)
        self.st = sim.new_state(n)
        self.port = new_portfolio(params, float(equity))
        if mode == "venue":  # the venue fills: a same-symbol replacement's entry, queued in the core until
            self.port["replace_same"] = 0  # the close, would never be sent (such a signal is ``busy``)
        self.counts = np.zeros((n, sim.N_COUNTS), dtype=np.int64)
        self._ledger = np.zeros(max(int(ledger_capacity), 2), dtype=sim.LEDGER_DTYPE)
        self.equity0 = float(equity)
        self._first_ns: int | None = None
        self._last_ns: int = -(2**63)
        self._n = n
        self._step_trade = sim.step_print
        #: the queue fill rule reads the top of book: the engine hands this core its QUOTE rows (on_quote)
        self.wants_quotes = bool(self.par["queue"].any()) and mode == "paper"
        #: venue mode: the exits the core watches on the prints and reports as ``exit_due`` (the live shell
        #: closes at market); the hold timeout, the signal's max hold and signal exits are always watched.
        #: Empty (default): the venue holds take-profit, stop-loss, trailing stop and stop price.
        self.watch: frozenset = frozenset()
        #: per-symbol overrides of :attr:`watch` (symbol_idx -> exits), e.g. a position whose venue exits failed
        self.watch_sym: dict[int, frozenset] = {}

    # ---- helpers -------------------------------------------------------------------------------
    def _sid(self, symbol_idx: int) -> int:
        sid = int(symbol_idx)
        if not 0 <= sid < len(self.st):
            raise ValueError(f"symbol_idx: {symbol_idx!r} out of range 0..{len(self.st) - 1}")
        return sid

    def _seen(self, ts: int) -> int:
        ts = int(ts)
        if ts > self._last_ns:
            self._last_ns = ts
            if self._first_ns is None:
                self._first_ns = ts
        return ts

    def _room(self) -> None:
        if int(self.port[0]["n_trades"]) >= len(self._ledger) - 1:
            bigger = np.zeros(len(self._ledger) * 2, dtype=self._ledger.dtype)
            bigger[: len(self._ledger)] = self._ledger
            self._ledger = bigger

    def symbol(self, symbol_idx: int) -> str:
        return self.registry.symbol(symbol_idx)

    def _trade_dict(self, k: int) -> dict:
        r = self._ledger[k]
        sid = int(r["symbol_id"])
        return {
            "event": "exit", "symbol_idx": sid, "symbol": self.registry.symbol(sid),
            "venue": self.registry.venue(sid).name.lower(), "side": "long" if r["side"] > 0 else "short",
            "signal_ns": int(r["signal_ns"]), "entry_ns": int(r["entry_ns"]), "entry_price": float(r["entry_price"]),
            "exit_ns": int(r["exit_ns"]), "exit_price": float(r["exit_price"]),
            "exit_reason": _EXIT_NAMES.get(int(r["exit_reason"]), "?"), "exit_code": int(r["exit_code"]),
            "tag": int(r["cascade_id"]), "fees": float(r["fees"]),
            "funding": float(r["funding"]), "return": float(r["ret"]), "pnl": float(r["pnl"]),
            "equity": float(r["equity_after"]),
            **({"contracts": float(r["contracts"]), "pnl_coin": float(r["pnl_coin"]),  # an inverse contract:
                "fees_coin": coin_fees(r), "fees_usd": float(r["fees"] * r["notional"]),  # both P&Ls and fees
                "equity_coin": float(r["equity_coin_after"]),  # and its margin coin's equity, with units
                "pnl_units": {"pnl_coin": self._coin(sid), "equity_coin": self._coin(sid), "fees_coin": self._coin(sid),
                              "pnl": "USD at the exit price", "fees_usd": "USD at the exit price",
                              "equity": "USD (inverse P&L at each exit's price)"}}
               if r["contracts"] > 0 else {}),
        }

    def contract_usd(self, symbol_idx: int) -> float:
        """The USD value of one contract of an inverse symbol (its venue sizes, fills and positions in contracts,
        fees and P&L in the coin); 0.0 for a linear one."""
        return float(self.par[symbol_idx]["contract_usd"])

    def _coin(self, sid: int) -> str:
        from liqcore.execution.arrays import margin_coin

        return margin_coin(int(self.registry.venue(sid)), self.registry.symbol(sid))

    def _events(self, sid: int, ts: int, bits: int, n_before: int) -> list[dict]:
        sim = self._sim
        out: list[dict] = []
        if bits & sim.EV_REJECTED:
            out.append({"event": "rejected", "symbol_idx": sid, "ts_ns": ts})
        if bits & sim.EV_CANCELLED:
            out.append({"event": "cancelled", "symbol_idx": sid, "ts_ns": ts})
        if bits & sim.EV_FILLED:
            s = self.st[sid]
            out.append({"event": "entry_filled", "symbol_idx": sid, "ts_ns": ts, "price": float(s["entry_price"]),
                        "side": "buy" if s["side"] > 0 else "sell", "take_profit": float(s["tp_price"]),
                        "stop_loss": float(s["sl_price"]), "notional": float(s["notional"])})
        for k in range(n_before, int(self.port[0]["n_trades"])):
            out.append(self._trade_dict(k))
        return out

    # ---- events --------------------------------------------------------------------------------
    def on_trade(self, symbol_idx: int, ts_ns: int, price: float, qty: float = 0.0) -> list[dict]:
        """A trade print (receive time ``ts_ns``; ``qty`` its size, which the queue fill rule consumes
        the queue ahead with: 0 = unknown).  Returns what happened: ``rejected`` / ``cancelled`` /
        ``entry_filled`` / ``exit`` dicts (venue mode: ``hold_timeout_due``)."""
        sid = int(symbol_idx)
        if not 0 <= sid < self._n:
            raise ValueError(f"symbol_idx: {symbol_idx!r} out of range 0..{self._n - 1}")
        ts = self._seen(ts_ns)
        price = float(price)
        if not 0.0 < price < math.inf:
            raise ValueError(f"price: must be a positive finite number; got {price!r}")
        if self.mode == "venue":
            self._sim.step_price(self.st, sid, ts, price)
            if self.st["status"][sid] == self._sim.OPEN:  # (the exits the live shell closes at market)
                due = self._venue_watch(sid, ts, price)
                if due:
                    return due
            s = self.st[sid]
            if s["status"] == self._sim.OPEN and ts >= s["hold_deadline_ns"]:
                return [{"event": "hold_timeout_due", "symbol_idx": sid, "ts_ns": ts}]
            if s["status"] == self._sim.OPEN and ts >= s["exit_due_ns"]:
                return [{"event": "signal_exit_due", "symbol_idx": sid, "ts_ns": ts,
                         "reason": self._sim.EXIT_NAMES[int(s["exit_due_reason"])]}]
            return []
        # the ledger always has a free row (see _room), so a close never overflows it
        q = float(qty)
        bits = self._step_trade(self.st, self.port, self.par, sid, ts, price, q if q > 0.0 else 0.0, self._ledger,
                                self.counts)
        if not bits:
            return []
        n = int(self.port[0]["n_trades"])
        out = self._events(sid, ts, bits, n - 1 if bits & self._sim.EV_CLOSED else n)
        self._room()
        return out

    def on_quote(self, symbol_idx: int, ts_ns: int, side: int, price: float, qty: float) -> list[dict]:
        """A top-of-book row (``side`` 3 = Side.BUY: the best bid, 4: the best ask; displayed ``qty``):
        the book in force for the queue fill rule's post-only check and queue position.  Returns what
        happened (an arrival due by ``ts_ns`` may be ``rejected``); nothing in venue mode."""
        sid = self._sid(symbol_idx)
        if self.mode == "venue":
            return []
        price, qty = float(price), float(qty)
        if not (0.0 < price < math.inf and 0.0 <= qty < math.inf):
            return []  # an unusable quote is ignored, never a crash of the stream
        ts = self._seen(ts_ns)
        bits = self._sim.step_quote(self.st, self.par, sid, ts, int(side), price, qty, self.counts)
        return self._events(sid, ts, bits, int(self.port[0]["n_trades"])) if bits else []

    def on_cascade(self, record: Any) -> dict:
        """A CONFIRMED cascade: a CASCADE_DTYPE row or a mapping with ``symbol_idx`` (or
        ``symbol_id``), ``ts_ns`` (or ``confirm_recv_ns``), ``dominant`` (0 mixed, 1 long, 2 short or
        the names) and optionally ``cascade_id``.  ENDED records (``record == 2``) are ignored
        (reason ``not_confirmed``).  Returns the decision: ``{"action": "order", "side",
        "price", "ref_price", "take_profit", "stop_loss", "arrive_ns", "expires_ns", ...}`` or
        ``{"action": "none", "reason": ...}``."""
        if type(record) is dict and "record" not in record:  # the live engine's plain mapping: no field search
            try:
                sid, ts, dom = record["symbol_idx"], record["ts_ns"], record["dominant"]
            except KeyError:
                pass
            else:
                if type(dom) is int:
                    return self._cascade(self._sid(sid), self._seen(ts), dom, int(record.get("cascade_id", -1)))
        get = (lambda k: record[k]) if isinstance(record, (Mapping, np.void)) else (lambda k: getattr(record, k))

        def field(*names, default=None):
            for n in names:
                try:
                    return get(n)
                except (KeyError, ValueError, IndexError, AttributeError):
                    continue
            if default is not None:
                return default
            raise ValueError(f"cascade: missing field {names[0]!r}")

        sid = self._sid(field("symbol_idx", "symbol_id"))
        kind = field("record", default=1)
        if int(kind) != 1:  # only CONFIRMED records are decisions; ENDED records change nothing
            return {"action": "none", "reason": "not_confirmed", "symbol_idx": sid,
                    "symbol": self.registry.symbol(sid), "ts_ns": None, "cascade_id": int(field("cascade_id", default=-1))}
        ts = self._seen(field("ts_ns", "confirm_recv_ns"))
        dom = field("dominant")
        if isinstance(dom, str):
            dom = {"mixed": 0, "long": 1, "short": 2}.get(dom.lower(), -1)
            if dom < 0:
                raise ValueError(f"dominant: expected long, short or mixed; got {field('dominant')!r}")
        return self._cascade(sid, ts, int(dom), int(field("cascade_id", default=-1)))

    def _cascade(self, sid: int, ts: int, dom: int, cid: int) -> dict:
        sim = self._sim
        if self.avoid is not None and self.avoid.mask(ts):
            return {"action": "none", "reason": "avoid", "why": self.avoid.why(ts), "symbol_idx": sid,
                    "symbol": self.registry.symbol(sid), "ts_ns": ts, "cascade_id": cid}
        r = self._step_signal(self.st, self.port, self.par, sid, ts, dom, cid, self._ledger, self.counts)
        base = {"symbol_idx": sid, "symbol": self.registry.symbol(sid), "ts_ns": ts, "cascade_id": cid}
        if r != sim.R_ORDER:
            return {"action": "none", "reason": sim.REASON_NAMES[r], **base}
        self._venue_arrival(sid)
        st, par, port = self.st, self.par, self.port
        lim = float(st["limit_price"][sid])  # (column then row: ~0.5 us a read, the row's void ~1 us)
        long_ = st["side"][sid] > 0
        tp_f, sl_f = float(par["take_profit"][sid]), float(par["stop_loss"][sid])
        return {
            "action": "order", **base, "side": "buy" if long_ else "sell", "position": "long" if long_ else "short",
            "price": lim, "ref_price": float(st["ref_price"][sid]), "post_only": True,
            "take_profit": lim * (1.0 + tp_f) if long_ else lim * (1.0 - tp_f),
            "stop_loss": lim * (1.0 - sl_f) if long_ else lim * (1.0 + sl_f),
            "arrive_ns": int(st["arrive_ns"][sid]), "expires_ns": int(st["entry_deadline_ns"][sid]),
            # (an inverse symbol: size x its margin coin's equity at the limit)
            "notional": float(port["equity"][0] * port["size"][0]) if not par["contract_usd"][sid] > 0
            else self.entry_notional(sid),
        }

    def preview_cascade(self, symbol_idx: int, ts_ns: int, dominant: int) -> tuple[dict, tuple[float, float]]:
        """What :meth:`on_cascade` would decide for a cascade of ``dominant`` confirmed at ``ts_ns`` on the
        current state, changing nothing (the step runs on copies of the state): ``(decision, (take_profit,
        stop_loss) fractions of the entry)``.  The live engine prepares an order ahead with it."""
        sid = self._sid(symbol_idx)
        saved = self.st, self.port, self.counts
        try:
            self.st, self.port, self.counts = self.st.copy(), self.port.copy(), self.counts.copy()
            res = self._cascade(sid, int(ts_ns), int(dominant), -1)
            fr = self.exit_fractions(sid) if res["action"] == "order" else (0.0, 0.0)
        finally:
            self.st, self.port, self.counts = saved
        return res, fr

    def on_signal(self, signal: Any) -> dict:
        """A strategy's signal (a SIGNAL_DTYPE row, see :mod:`liqcore.strategies`) through the
        execution model -- the same step function as the backtest's.  Returns the decision:
        ``{"action": "order", "side", "entry" ("limit"/"market"), "price" (limit; None for market),
        "arrive_ns", "expires_ns", ...}`` or ``{"action": "none", "reason": ...}``.

        An **exit notice** (direction 0, ``skip_code`` :data:`liqcore.strategies.SKIP_EXIT`, ``tag`` =
        the tag of the signal whose position must close, ``ts_ns`` = when the exit condition became
        true) makes that signal's exit due at ``ts_ns + order-latency``: the position closes at the
        first print at/after it (taker, reason ``signal_exit``; a working entry is cancelled).
        Returns ``{"action": "exit", "due_ns", "reason", "exit_code", "working", ...}``, or
        ``{"action": "none", "reason": "no_position"}`` when that signal holds nothing (never
        placed, or already closed)."""
        from liqcore.strategies import SIGNAL_DTYPE

        g = np.asarray(signal)
        if g.dtype != SIGNAL_DTYPE:
            raise ValueError("signal: expected a row of liqcore.strategies.SIGNAL_DTYPE")
        g = g.reshape(-1)
        if len(g) != 1:
            raise ValueError("signal: expected one signal")
        g = g[0]
        sid = self._sid(g["symbol_id"])
        ts = self._seen(int(g["ts_ns"]))
        sim = self._sim
        direction, skip = int(g["direction"]), int(g["skip_code"])
        if direction != 0 and self.avoid is not None and self.avoid.mask(ts):
            from liqcore.signals import SKIP_AVOID

            direction, skip = 0, SKIP_AVOID  # as the backtest's avoid_signals: a skip, counted
        r = sim.step_entry(self.st, self.port, self.par, sid, ts, direction, skip,
                           int(g["entry"]), float(g["confidence"]), float(g["size_mult"]), float(g["offset"]),
                           float(g["take_profit"]), float(g["stop_loss"]), float(g["trail"]), float(g["stop_price"]),
                           int(g["max_hold_ns"]), int(g["entry_timeout_ns"]), int(g["exit_ns"]), int(g["exit_code"]),
                           int(g["tag"]), self.counts)
        base = {"symbol_idx": sid, "symbol": self.registry.symbol(sid), "ts_ns": ts, "tag": int(g["tag"])}
        if r == sim.R_EXIT:  # an exit notice: the position closes at the first print at/after due_ns (taker)
            s = self.st[sid]
            return {"action": "exit", **base, "due_ns": int(s["exit_due_ns"]),
                    "reason": sim.EXIT_NAMES[int(s["exit_due_reason"])], "exit_code": int(s["exit_code"]),
                    "working": int(s["status"]) != sim.OPEN}
        if r != sim.R_ORDER:
            return {"action": "none", "reason": sim.REASON_NAMES[r], **base}
        self._venue_arrival(sid)
        s = self.st[sid]
        if int(s["q_on"]):  # paper: a same-symbol replacement -- the position closes first, the entry follows
            long_ = s["q_side"] > 0
            return {"action": "order", **base, "side": "buy" if long_ else "sell", "queued": True,
                    "position": "long" if long_ else "short",
                    "entry": "market" if int(s["q_entry"]) == sim.ENTRY_MARKET else "limit", "price": None,
                    "ref_price": None, "post_only": int(s["q_entry"]) != sim.ENTRY_MARKET,
                    "closing_due_ns": int(s["exit_due_ns"])}
        long_ = s["side"] > 0
        market = int(s["entry_kind"]) == sim.ENTRY_MARKET
        return {"action": "order", **base, "side": "buy" if long_ else "sell",
                "position": "long" if long_ else "short", "entry": "market" if market else "limit",
                "price": None if market else float(s["limit_price"]), "ref_price": float(s["ref_price"]),
                "post_only": not market, "arrive_ns": int(s["arrive_ns"]), "expires_ns": int(s["entry_deadline_ns"])}

    def _step_signal(self, *args):
        """``sim.step_signal`` through its compiled entry point once the types are known (the arrays keep
        their types for the core's life; the scalars are Python ints): skips the dispatcher's type
        resolution (~2.5 us a call).  Any other call falls back to the dispatcher."""
        fn = self._sim.step_signal
        r = fn(*args)
        ov = getattr(fn, "overloads", None)
        if ov is not None and len(ov) == 1 and all(type(a) is int for a in args[3:7]):
            ep = next(iter(ov.values())).entry_point
            ledger_t = (args[7].dtype, args[7].ndim)

            def fast(*a, _ep=ep, _fn=fn, _lt=ledger_t, _int=int):
                if (type(a[3]) is _int and type(a[4]) is _int and type(a[5]) is _int and type(a[6]) is _int
                        and (a[7].dtype, a[7].ndim) == _lt):
                    return _ep(*a)
                return _fn(*a)

            self._step_signal = fast
        return r

    def _venue_watch(self, sid: int, ts: int, price: float) -> list[dict]:
        """Venue mode, an open position, a print: the exit that is due now, as the execution model decides
        it on a print (time exits first, then the tightest stop before the take-profit), among the
        watched ones.  ``hold_timeout_due`` for the run's hold timeout; ``exit_due`` with ``reason``
        otherwise."""
        sim = self._sim
        s = self.st[sid]
        due, why = int(s["hold_deadline_ns"]), int(s["hold_reason"])
        if int(s["exit_due_ns"]) < due:
            due, why = int(s["exit_due_ns"]), int(s["exit_due_reason"])
        if ts >= due:
            if why == sim.TIMEOUT:
                return [{"event": "hold_timeout_due", "symbol_idx": sid, "ts_ns": ts}]
            return [{"event": "exit_due", "symbol_idx": sid, "ts_ns": ts, "reason": _EXIT_NAMES.get(why, "external")}]
        side = int(s["side"])
        trail = float(s["trail"])
        if trail > 0.0 and ((side > 0 and price > s["peak"]) or (side < 0 and price < s["peak"])):
            s["peak"] = price
        watch = self.watch_sym.get(sid, self.watch)
        if not watch:
            watch = ("stop_price",)
        lvl, reason = math.nan, ""
        cands = []
        if "stop_loss" in watch:
            cands.append((float(s["sl_price"]), "stop_loss"))
        if "trail" in watch and trail > 0.0:
            cands.append((float(s["peak"]) * (1.0 - side * trail), "trail"))
        if "stop_price" in watch:
            cands.append((float(s["stop_price"]), "stop_price"))
        for v, r in cands:  # the tightest (ties: stop-loss, trail, stop price)
            if v == v and v > 0 and (lvl != lvl or (side > 0 and v > lvl) or (side < 0 and v < lvl)):
                lvl, reason = v, r
        if lvl == lvl and ((side > 0 and price <= lvl) or (side < 0 and price >= lvl)):
            return [{"event": "exit_due", "symbol_idx": sid, "ts_ns": ts, "reason": reason}]
        if "take_profit" in watch:
            tp = float(s["tp_price"])
            touch = int(self.par["touch"][sid]) != 0
            if tp == tp and tp > 0 and ((side > 0 and (price > tp or (touch and price == tp)))
                                        or (side < 0 and (price < tp or (touch and price == tp)))):
                return [{"event": "exit_due", "symbol_idx": sid, "ts_ns": ts, "reason": "take_profit"}]
        return []

    def entry_notional(self, symbol_idx: int) -> float:
        """The quote notional the working entry of the symbol opens (fixed ``notional`` or size x equity,
        times the signal's size multiplier), before the leverage cap.  An inverse symbol's equity is its margin
        coin's, in USD at the entry's limit (else the last print); before that coin's first entry, the run's
        starting equity."""
        sid = self._sid(symbol_idx)
        p, q = self.port[0], self.par[sid]
        base = float(p["notional"]) if float(p["notional"]) > 0 else float(p["equity"] * p["size"])
        if not float(p["notional"]) > 0 and float(q["contract_usd"]) > 0:
            coin = float(self.st["coin_equity"][int(q["margin_sid"])])
            px = float(self.st["limit_price"][sid])
            px = px if 0 < px < math.inf else float(self.st["last_price"][sid])
            base = float(p["equity0"] * p["size"]) if coin != coin or not px > 0 else coin * px * float(p["size"])
        return base * float(self.st["size_mult"][sid])

    def exit_fractions(self, symbol_idx: int) -> tuple[float, float]:
        """``(take_profit, stop_loss)`` fractions from the fill of the symbol's working entry or position
        (the signal's own or the symbol's parameters; 0 = none)."""
        sid = self._sid(symbol_idx)
        s, q = self.st[sid], self.par[sid]
        tp, sl = float(s["tp_frac"]), float(s["sl_frac"])
        tp = float(q["take_profit"]) if tp != tp else tp
        sl = float(q["stop_loss"]) if sl != sl else sl
        return (tp if tp > 0 else 0.0), (sl if sl > 0 else 0.0)

    def exit_levels(self, symbol_idx: int) -> dict:
        """The open position's exits as the execution model holds them: ``take_profit`` / ``stop_loss``
        prices (None = none), ``trail`` (fraction, 0 = none), ``stop_price`` (None = none)."""
        sid = self._sid(symbol_idx)
        s = self.st[sid]
        tp, sl, sp = float(s["tp_price"]), float(s["sl_price"]), float(s["stop_price"])
        fin = (lambda x: x if (x == x and 0 < x < math.inf) else None)
        return {"take_profit": fin(tp), "stop_loss": fin(sl), "trail": max(float(s["trail"]), 0.0),
                "stop_price": fin(sp), "entry_price": float(s["entry_price"])}

    def exit_notice(self, symbol_idx: int, ts_ns: int, tag: int, exit_code: int = 0) -> bool:
        """A streaming strategy's exit notice (a SIGNAL_DTYPE row with direction 0 and skip_code
        SKIP_EXIT): the position (or working entry) opened by the signal ``tag`` closes at the first
        print at/after ``ts_ns`` + order-latency (taker), as the batch signal's ``exit_ns`` does.
        Returns whether a position or entry of that tag was found."""
        sid = self._sid(symbol_idx)
        ts = self._seen(ts_ns)
        s = self.st[sid]
        if int(s["status"]) == self._sim.FLAT or int(s["cascade_id"]) != int(tag):
            return False
        due = ts + int(self.par["order_latency_ns"][sid])
        if due < int(s["exit_due_ns"]):
            s["exit_due_ns"] = due
            s["exit_due_reason"] = self._sim.SIGNAL_EXIT
            s["exit_code"] = int(exit_code)
        return True

    def _venue_arrival(self, sid: int) -> None:
        """Venue mode: a new entry is working at once.  The venue, not the core, decides whether a
        post-only entry is rejected on arrival (it answers with a rejection, reported through
        :meth:`external_reject`); the core's arrival check on the last print would otherwise reject an
        entry the venue accepted (and maybe partly filled) whenever a print crossed the limit before
        the clock tick.  The entry timeout still runs from the decision."""
        if self.mode == "venue":
            st = self.st
            if st["status"][sid] == self._sim.PENDING:
                st["status"][sid] = self._sim.RESTING

    def on_funding(self, symbol_idx: int, ts_ns: int, rate: float) -> None:
        """A funding event: an open position pays ``side x rate`` of its notional (longs pay positive)."""
        sid = self._sid(symbol_idx)
        rate = float(rate)
        if not np.isfinite(rate):
            raise ValueError(f"rate: must be finite; got {rate!r}")
        self._sim.step_funding(self.st, sid, self._seen(ts_ns), rate)

    def on_clock(self, ts_ns: int) -> list[dict]:
        """Order arrivals and entry timeouts due by ``ts_ns``; loss-limit day roll."""
        ts = self._seen(ts_ns)
        before = self.counts[:, [self._sim.C_REJECTED, self._sim.C_UNFILLED]].copy()
        self._sim.step_clock(self.st, self.port, self.par, ts, self.counts)
        diff = self.counts[:, [self._sim.C_REJECTED, self._sim.C_UNFILLED]] - before
        out = []
        for sid in np.flatnonzero(diff.any(axis=1)):
            if diff[sid, 0]:
                out.append({"event": "rejected", "symbol_idx": int(sid), "ts_ns": ts})
            if diff[sid, 1]:
                out.append({"event": "cancelled", "symbol_idx": int(sid), "ts_ns": ts})
        return out

    # ---- venue mode ----------------------------------------------------------------------------
    def external_entry_fill(self, symbol_idx: int, ts: int, price: float) -> dict | None:
        """The venue filled the working entry at ``price``; returns the ``entry_filled`` event."""
        sid = self._sid(symbol_idx)
        ts = self._seen(ts)
        if not self._sim.external_entry_fill(self.st, self.port, self.par, sid, ts, float(price), self.counts):
            return None
        return self._events(sid, ts, self._sim.EV_FILLED, int(self.port[0]["n_trades"]))[0]

    def external_close(self, symbol_idx: int, ts: int, price: float, reason: str = "external") -> dict | None:
        """The venue closed the position at ``price`` (``reason``: take_profit, stop_loss, timeout or
        external); returns the ledger row as an ``exit`` event."""
        sid = self._sid(symbol_idx)
        if reason not in _REASONS:
            raise ValueError(f"reason: expected one of {', '.join(_REASONS)}; got {reason!r}")
        ts = self._seen(ts)
        n0 = int(self.port[0]["n_trades"])
        if not self._sim.external_close(self.st, self.port, self.par, sid, ts, float(price), _REASONS[reason],
                                        self._ledger, self.counts):
            return None
        out = self._trade_dict(n0)
        self._room()
        return out

    def external_reject(self, symbol_idx: int, ts: int) -> bool:
        """The venue (or the shell, e.g. below the minimum qty) rejected the working entry: counted as
        ``rejected``; no cooldown starts.  Returns whether a working entry was rejected."""
        sid = self._sid(symbol_idx)
        return bool(self._sim.external_reject(self.st, sid, self._seen(ts), self.counts))

    def external_cancel(self, symbol_idx: int, ts: int) -> bool:
        """The working entry was cancelled (venue entry timeout, operator, shutdown): counted as
        ``unfilled`` (a cancelled entry); no cooldown starts.  Returns whether an entry was cancelled."""
        sid = self._sid(symbol_idx)
        return bool(self._sim.external_cancel(self.st, sid, self._seen(ts), self.counts))

    def amend_entry(self, symbol_idx: int, price: float) -> bool:
        """Move the working entry's limit to ``price`` (the venue's price grid); paper fills then happen
        at that price.  Returns whether a working entry was amended."""
        sid = self._sid(symbol_idx)
        price = _positive("price", price)
        return bool(self._sim.amend_entry(self.st, sid, price))

    def set_exit_levels(self, symbol_idx: int, take_profit: float | None, stop_loss: float | None, *,
                        notional: float | None = None) -> bool:
        """The open position's take-profit / stop-loss prices (and quote ``notional``) as the venue
        holds them after the fill; ``None`` keeps a level.  Returns whether a position was updated."""
        sid = self._sid(symbol_idx)
        tp = 0.0 if take_profit is None else _positive("take_profit", take_profit)
        sl = 0.0 if stop_loss is None else _positive("stop_loss", stop_loss)
        no = 0.0 if notional is None else _positive("notional", notional)
        s = self.st[sid]
        if s["status"] == self._sim.OPEN:
            side = int(s["side"])
            t, l_ = tp or float(s["tp_price"]), sl or float(s["sl_price"])
            if (side > 0 and not l_ < t) or (side < 0 and not t < l_):
                raise ValueError(f"take_profit: {t!r} and stop_loss {l_!r} are on the wrong sides of a "
                                 f"{'long' if side > 0 else 'short'} position")
        return bool(self._sim.set_exit_levels(self.st, sid, tp, sl, no))

    def set_working_order(self, symbol_idx: int, *, side: str, price: float, decision_ns: int,
                          arrival_ns: int | None = None, expires_ns: int | None = None,
                          ref_price: float | None = None, cascade_id: int = -1) -> bool:
        """Give a flat symbol a working post-only entry placed outside a cascade decision (a restart:
        the journal's open entry).  ``side``: buy or sell; ``arrival_ns``: when it reached the venue
        (default ``decision_ns``: resting at once); ``expires_ns``: its entry timeout (default
        ``decision_ns`` + entry_timeout).  Returns False if the symbol is not flat."""
        sid = self._sid(symbol_idx)
        sign = _side(side)
        price = _positive("price", price)
        dec = _int("decision_ns", decision_ns)
        arr = dec if arrival_ns is None else _int("arrival_ns", arrival_ns)
        exp = dec + int(self.par[sid]["entry_timeout_ns"]) if expires_ns is None else _int("expires_ns", expires_ns)
        ref = math.nan if ref_price is None else _positive("ref_price", ref_price)
        status = self._sim.RESTING if arr <= max(dec, self._last_ns) else self._sim.PENDING
        return bool(self._sim.set_working(self.st, sid, status, sign, price, ref, int(cascade_id), dec, arr, exp))

    def set_position(self, symbol_idx: int, *, side: str, entry_price: float, entry_ns: int,
                     take_profit: float | None = None, stop_loss: float | None = None,
                     notional: float | None = None, hold_deadline_ns: int | None = None) -> bool:
        """Give a symbol the open position the venue holds (a restart).  Missing levels come from the
        symbol's parameters: TP/SL fractions from ``entry_price``, notional = size x equity, hold
        deadline = ``entry_ns`` + hold_timeout.  Returns False if a position is already open."""
        sid = self._sid(symbol_idx)
        sign = _side(side)
        px = _positive("entry_price", entry_price)
        ts = _int("entry_ns", entry_ns)
        q = self.par[sid]
        tp = px * (1.0 + sign * float(q["take_profit"])) if take_profit is None else _positive("take_profit", take_profit)
        sl = px * (1.0 - sign * float(q["stop_loss"])) if stop_loss is None else _positive("stop_loss", stop_loss)
        if (sign > 0 and not sl < tp) or (sign < 0 and not tp < sl):
            raise ValueError(f"take_profit: {tp!r} and stop_loss {sl!r} are on the wrong sides of the position")
        no = float(self.port[0]["equity"] * self.port[0]["size"]) if notional is None else _positive("notional", notional)
        if hold_deadline_ns is None:  # the run's hold-timeout; 0 = none
            hold = ts + int(q["hold_timeout_ns"]) if int(q["hold_timeout_ns"]) > 0 else int(np.iinfo(np.int64).max)
        else:
            hold = _int("hold_deadline_ns", hold_deadline_ns)
        return bool(self._sim.set_open(self.st, sid, sign, ts, px, tp, sl, no, hold, 0.0))

    def add_symbols(self, symbols: list[str], *, venue: str = DEFAULT_VENUE) -> list[int]:
        """Grow the core by ``symbols`` (names as the constructor takes them; a venue's new listing traded
        without a restart): each gets a flat state row, its parameter row (presets applied, the mode's
        settings as at construction) and zero counts; the rows held are kept as they are.  Returns their
        symbol_idx; a symbol the core holds already is a ValueError."""
        from liqcore.execution.arrays import symbol_params

        n0 = self._n
        for name in symbols:
            v, _, s = str(name).rpartition(":")
            if self.registry.get(Venue.parse(v or venue), s) is not None:
                raise ValueError(f"symbols: {name} is traded already")
            self.registry.id(Venue.parse(v or venue), s)
        n = len(self.registry)
        par = symbol_params(self.params, self.registry, n, self.equity0)[n0:]
        par["partial"] = 0
        if self.mode == "venue":
            par["inbound_ns"] = 0
            par["engine_exits"] = 0
            par["grid"] = par["lot"] = par["min_qty"] = 0.0  # (the venue's own rules: the order manager's)
        self.par = np.concatenate([self.par, par])
        self.st = np.concatenate([self.st, self._sim.new_state(n - n0)])
        self.counts = np.concatenate([self.counts, np.zeros((n - n0, self.counts.shape[1]), dtype=self.counts.dtype)])
        self._n = n
        self.wants_quotes = bool(self.par["queue"].any()) and self.mode == "paper"
        return list(range(n0, n))

    def set_equity(self, equity: float) -> None:
        """The account's equity (a venue wallet, a journal); loss-limit anchors are left as they are."""
        self.port[0]["equity"] = _positive("equity", equity)

    def fee_rates(self, symbol_idx: int) -> tuple[float, float]:
        """``(maker_fee, taker_fee)`` of the symbol as fractions of notional."""
        q = self.par[self._sid(symbol_idx)]
        return float(q["maker_fee"]), float(q["taker_fee"])

    # ---- restart -------------------------------------------------------------------------------
    def _key(self, sid: int) -> str:
        return f"{self.registry.venue(sid).name.lower()}:{self.registry.symbol(sid)}"

    def snapshot(self) -> dict:
        """The core's state as a JSON-able dict: ``{"version": 1, "portfolio": {equity, equity0,
        day, week, day_start_equity, week_start_equity}, "symbols": {"bybit:ETHUSDT": {status, side,
        the order / position / cooldown / last-print fields, counts}}}``.  NaN becomes ``None``.
        :meth:`restore` takes it back (the closed-trade ledger is not part of it)."""
        p = self.port[0]
        port = {k: p[k].item() for k in _PORT_FIELDS}
        syms = {}
        for sid in range(self._n):
            s = self.st[sid]
            row: dict[str, Any] = {"status": _STATUS_NAMES[int(s["status"])],
                                   "side": {1: "buy", -1: "sell"}.get(int(s["side"]))}
            for k in _INT_FIELDS:
                row[k] = int(s[k])
            for k in _FLOAT_FIELDS:
                v = float(s[k])
                row[k] = None if math.isnan(v) else v
            row["counts"] = {name: int(c) for name, c in zip(self._sim.COUNT_NAMES, self.counts[sid]) if c}
            syms[self._key(sid)] = row
        return {"version": 1, "portfolio": port, "symbols": syms}

    def restore(self, state: Mapping) -> None:
        """Load a :meth:`snapshot` (e.g. after a restart).  Partial states merge into the current
        one: a missing portfolio field or symbol field keeps its value; symbols are keyed
        ``"venue:SYMBOL"`` (or the bare symbol when it is unambiguous).  A symbol restored as
        ``open`` without ``tp_price``/``sl_price``/``notional``/``hold_deadline_ns`` gets them from the
        symbol's parameters (see :meth:`set_position`).  Invalid input raises ValueError naming the
        field and changes nothing."""
        if not isinstance(state, Mapping):
            raise ValueError(f"state: expected a mapping; got {type(state).__name__}")
        ver = state.get("version", 1)
        if ver != 1:
            raise ValueError(f"state.version: unsupported version {ver!r}")
        st, port, counts = self.st.copy(), self.port.copy(), self.counts.copy()
        pst = state.get("portfolio") or {}
        if not isinstance(pst, Mapping):
            raise ValueError("state.portfolio: expected a mapping")
        for k, v in pst.items():
            if k not in _PORT_FIELDS:
                raise ValueError(f"state.portfolio.{k}: unknown field")
            port[0][k] = _int(f"state.portfolio.{k}", v) if k in ("day", "week") else _positive(f"state.portfolio.{k}", v)
        syms = state.get("symbols") or {}
        if not isinstance(syms, Mapping):
            raise ValueError("state.symbols: expected a mapping")
        keys = {self._key(i): i for i in range(self._n)}
        bare: dict[str, list[int]] = {}
        for i in range(self._n):
            bare.setdefault(self.registry.symbol(i), []).append(i)
        sim = self._sim
        for key, row in syms.items():
            sid = keys.get(key)
            if sid is None:
                cands = bare.get(str(key), [])
                if len(cands) > 1:
                    raise ValueError(f"state.symbols: ambiguous symbol {key!r} (give venue:SYMBOL)")
                if not cands:
                    raise ValueError(f"state.symbols: unknown symbol {key!r}")
                sid = cands[0]
            if not isinstance(row, Mapping):
                raise ValueError(f"state.symbols.{key}: expected a mapping")
            s = st[sid]
            where = f"state.symbols.{key}"
            for k, v in row.items():
                if k == "status":
                    if v not in _STATUS_NAMES:
                        raise ValueError(f"{where}.status: expected one of {', '.join(_STATUS_NAMES)}; got {v!r}")
                    s["status"] = _STATUS_NAMES.index(v)
                elif k == "side":
                    s["side"] = 0 if v is None else _side(v, f"{where}.side")
                elif k in _INT_FIELDS:
                    s[k] = _int(f"{where}.{k}", v)
                elif k in _FLOAT_FIELDS:
                    if v is None:
                        s[k] = math.nan
                    else:
                        x = _float(f"{where}.{k}", v)
                        if k not in _SIGNED_FLOATS and x < 0:
                            raise ValueError(f"{where}.{k}: must not be negative; got {v!r}")
                        s[k] = x
                elif k == "counts":
                    if not isinstance(v, Mapping):
                        raise ValueError(f"{where}.counts: expected a mapping")
                    for name, c in v.items():
                        if name not in sim.COUNT_NAMES:
                            raise ValueError(f"{where}.counts.{name}: unknown count")
                        c = _int(f"{where}.counts.{name}", c)
                        if c < 0:
                            raise ValueError(f"{where}.counts.{name}: must not be negative; got {c!r}")
                        counts[sid, sim.COUNT_NAMES.index(name)] = c
                else:
                    raise ValueError(f"{where}.{k}: unknown field")
            status = int(s["status"])
            if status != sim.FLAT and int(s["side"]) not in (1, -1):
                raise ValueError(f"{where}.side: a {_STATUS_NAMES[status]} symbol needs side buy or sell")
            if status in (sim.PENDING, sim.RESTING) and not float(s["limit_price"]) > 0:
                raise ValueError(f"{where}.limit_price: a working entry needs a positive limit price")
            if status == sim.OPEN and row.get("status") == "open":
                px = float(s["entry_price"])
                if not px > 0:
                    raise ValueError(f"{where}.entry_price: an open position needs a positive entry price")
                q = self.par[sid]
                sign = int(s["side"])
                if "tp_price" not in row or not float(s["tp_price"]) > 0:
                    s["tp_price"] = px * (1.0 + sign * float(q["take_profit"]))
                if "sl_price" not in row or not float(s["sl_price"]) > 0:
                    s["sl_price"] = px * (1.0 - sign * float(q["stop_loss"]))
                if "notional" not in row or not float(s["notional"]) > 0:
                    s["notional"] = float(port[0]["equity"] * port[0]["size"])
                if "hold_deadline_ns" not in row or int(s["hold_deadline_ns"]) <= 0:
                    s["hold_deadline_ns"] = (int(s["entry_ns"]) + int(q["hold_timeout_ns"]) if int(q["hold_timeout_ns"]) > 0
                                             else int(np.iinfo(np.int64).max))
        self.st[:] = st
        self.port[:] = port
        self.counts[:] = counts

    # ---- results -------------------------------------------------------------------------------
    def position(self, symbol_idx: int) -> dict:
        """The symbol's state: ``status`` (flat, pending, resting, open) and the order/position fields."""
        sid = self._sid(symbol_idx)
        s = self.st[sid]
        status = ("flat", "pending", "resting", "open")[int(s["status"])]
        out = {"status": status, "cooldown_until_ns": int(s["cooldown_until_ns"]),
               "last_price": float(s["last_price"])}
        if status != "flat":
            out.update(side="buy" if s["side"] > 0 else "sell", limit_price=float(s["limit_price"]),
                       arrive_ns=int(s["arrive_ns"]), expires_ns=int(s["entry_deadline_ns"]))
        if status == "open":
            out.update(entry_ns=int(s["entry_ns"]), entry_price=float(s["entry_price"]),
                       take_profit=float(s["tp_price"]), stop_loss=float(s["sl_price"]),
                       notional=float(s["notional"]), funding=float(s["funding"]),
                       hold_deadline_ns=int(s["hold_deadline_ns"]))
        return out

    @property
    def equity(self) -> float:
        return float(self.port[0]["equity"])

    def summary_counts(self) -> dict[str, int]:
        """The counts of every symbol added up, by name (``cascades``, ``orders``, ``cooldown``, ``busy``,
        ``loss_limit``, ...): what the core decided so far."""
        tot = self.counts.sum(axis=0)
        return {name: int(tot[i]) for i, name in enumerate(self._sim.COUNT_NAMES)}

    def ledger(self) -> np.ndarray:
        """Closed trades so far (a copy, LEDGER_DTYPE)."""
        return self._ledger[: int(self.port[0]["n_trades"])].copy()

    def result(self):
        """The session as a :class:`liqcore.backtest.run.BacktestResult` (metrics, JSON, export)."""
        from liqcore.backtest.run import BacktestResult

        sim = self._sim
        return BacktestResult(
            params=self.params, registry=self.registry, ledger=self.ledger(), counts=self.counts.copy(),
            equity0=self.equity0, equity=self.equity, start_ns=self._first_ns or 0,
            end_ns=self._last_ns if self._first_ns is not None else 0,
            records=np.zeros(0), open_at_end=(self.st["status"] == sim.OPEN).astype(np.int64),
            working_at_end=((self.st["status"] == sim.PENDING) | (self.st["status"] == sim.RESTING)).astype(np.int64),
            strategy=self.params.strategy,
        )

    def summary(self) -> dict:
        """Counts and metrics so far (same keys as a backtest summary)."""
        return self.result().summary()
