"""Write your own strategy: fade every single large liquidation with a market order.

A strategy only makes signals (rows of ``liqcore.strategies.SIGNAL_DTYPE``), in a batch form for
backtests and a streaming form for live and paper trading; liqcore's execution
model turns them into orders, fills and trades with the same rules as the built-in strategies
(latency, fees, slippage, take-profit, stops, max hold, signal exits, cooldown, position caps, loss
limits).  Run it:

    python examples/my_strategy.py                  # on a 2-day synthetic market
    python examples/my_strategy.py --big 250000     # its own parameter, in the one vocabulary

or from Python::

    from liqcore import Params
    from liqcore.backtest import backtest
    from liqcore.strategies import register_strategy
    from my_strategy import BigLiquidationFade

    register_strategy(BigLiquidationFade)           # its parameters join the vocabulary
    params = Params.from_mapping({"strategy": "big-liq-fade", "big": 250_000, "cooldown": "2m"})
    res = backtest(market, params)                   # or backtest(market, strategy=BigLiquidationFade)
    print(res.summary()["win_rate"], res.trades(detail=True)[:3])
"""
from __future__ import annotations

import argparse

import numpy as np

from liqcore.config import parse_duration, parse_fraction
from liqcore.strategies import ENTRY_MARKET, NEVER, ParamSpec, SignalStream, Strategy, empty_signals, exit_notices
from liqcore.types import Kind, Side


def positive_number(value, name: str) -> float:
    """A parameter parser: ``(raw value, parameter name) -> parsed value``; bad input -> ValueError."""
    try:
        x = float(str(value).replace("_", ""))
    except ValueError:
        raise ValueError(f"{name}: expected a number; got {value!r}") from None
    if not x > 0:
        raise ValueError(f"{name}: must be positive; got {value!r}")
    return x


class BigLiquidationFade(Strategy):
    """One liquidation of at least ``big`` quote notional: trade against it (long flushed -> long),
    market entry, take-profit ``fade-target``, the run's stop-loss, closed after ``fade-hold`` at the
    latest, and a signal exit when a liquidation on the same side at least twice as large arrives
    later (the flush continues)."""

    name = "big-liq-fade"
    PARAMS = (
        ParamSpec("big", 100_000.0, positive_number, "smallest liquidation notional that triggers", "QUOTE"),
        ParamSpec("fade-target", "0.3%", parse_fraction, "take-profit from the fill", "FRAC"),
        ParamSpec("fade-hold", "5m", parse_duration, "longest hold", "DUR"),
    )
    DEFAULTS = {"stop_loss": 0.004}  # a shared parameter's default for this strategy (unless the user sets it)
    needs = frozenset({"liquidation", "trade"})
    EXIT_CODES = {100: "flush_continues"}

    def signals(self, events, params, registry, records=None):
        big = self.value(params, "big")
        liq = np.flatnonzero(events["kind"] == int(Kind.LIQUIDATION))
        notional = events["qty"][liq] * events["price"][liq]
        pick = liq[notional >= big]
        sig = empty_signals(len(pick))
        sig["ts_ns"] = events["ts_recv"][pick]  # decided when the liquidation was received ...
        sig["ev_idx"] = pick  # ... right after that event
        sig["symbol_id"] = events["symbol_id"][pick]
        side = events["side"][pick]
        sig["direction"] = np.where(side == int(Side.LONG), 1, -1)  # fade: longs flushed -> buy
        sig["entry"] = ENTRY_MARKET
        sig["confidence"] = np.minimum(1.0, notional[notional >= big] / (10 * big))
        sig["take_profit"] = self.value(params, "fade-target")
        sig["max_hold_ns"] = self.value(params, "fade-hold")  # durations are nanoseconds
        sig["tag"] = pick
        # signal exit: the first later liquidation of the same symbol and side, at least twice as large
        # (known at its receive time, so point-in-time)
        sig["exit_ns"] = NEVER
        sig["exit_code"] = 100
        for k, i in enumerate(pick):
            later = liq[(liq > i) & (events["symbol_id"][liq] == events["symbol_id"][i])
                        & (events["side"][liq] == events["side"][i])
                        & (events["qty"][liq] * events["price"][liq] >= 2 * notional[notional >= big][k])]
            if len(later):
                sig["exit_ns"][k] = events["ts_recv"][later[0]]
        return sig

    def inputs(self, signal) -> dict:
        return {"liquidation_index": int(signal["tag"]), "confidence": float(signal["confidence"])}

    def stream(self, params, registry):
        """The streaming form (live and paper trading): the same rules, one event at a time."""
        return BigLiquidationFadeStream(self, params, registry)


class BigLiquidationFadeStream(SignalStream):
    """``BigLiquidationFade`` event by event.  A signal is decided AT an event (returned as ``after``);
    its exit (a later liquidation twice as large) comes as an exit notice when that liquidation
    arrives.  A signal whose position is certainly over (entry timeout + longest hold after the
    decision) is no longer watched: a notice then could change nothing."""

    uses_detector = False

    def __init__(self, strategy, params, registry):
        super().__init__(strategy, params, registry)
        self.big = strategy.value(params, "big")
        self.target = strategy.value(params, "fade-target")
        self.hold = strategy.value(params, "fade-hold")
        self.horizon = int(params.entry_timeout_ns) + int(params.order_latency_ns) + self.hold
        self.watch = []  # [ts, symbol_id, side, notional, tag]

    def on_event(self, ev, records=()):
        i = self.n  # this event's index in the stream (the batch form's ev_idx)
        self.n += 1
        _te, ts, price, qty, sid, side, kind, _v, _f = ev if type(ev) is tuple else ev.tolist()
        if kind != int(Kind.LIQUIDATION):
            return self.empty(), self.empty()
        notional = qty * price
        out = []
        keep = []
        for w in self.watch:  # exits first: the flush continues on a watched signal's side
            if w[1] == sid and w[2] == side and notional >= 2 * w[3]:
                out.append(exit_notices(ts, i, sid, w[4], 100))
            elif ts - w[0] <= self.horizon:
                keep.append(w)
        self.watch = keep
        if notional >= self.big:
            sig = empty_signals(1)
            sig["ts_ns"], sig["ev_idx"], sig["symbol_id"] = ts, i, sid
            sig["direction"] = 1 if side == int(Side.LONG) else -1
            sig["entry"] = ENTRY_MARKET
            sig["confidence"] = min(1.0, notional / (10 * self.big))
            sig["take_profit"] = self.target
            sig["max_hold_ns"] = self.hold
            sig["tag"] = i
            sig["exit_code"] = 100
            out.append(sig)
            self.watch.append([ts, sid, side, notional, i])
        return self.empty(), self.pack(out)


def main(argv=None) -> dict:
    from liqcore import Params
    from liqcore.backtest import backtest, synthetic_market
    from liqcore.strategies import register_strategy

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=2.0)
    ap.add_argument("--big", default=None, help="smallest liquidation notional that triggers")
    args = ap.parse_args(argv)
    register_strategy(BigLiquidationFade, replace=True)
    mapping = {"strategy": "big-liq-fade"}
    if args.big is not None:
        mapping["big"] = args.big
    params = Params.from_mapping(mapping)
    market = synthetic_market(days=args.days, symbols=("ETHUSDT", "SOLUSDT"), seed=3)
    res = backtest(market, params, equity=10_000.0)
    s = res.summary()
    print(f"{res.strategy}: {len(res.signals)} signals, {s['fills']} fills, {s['trades']} trades, "
          f"win rate {s['win_rate']}, equity {s['equity_start']:.2f} -> {s['equity_end']:.2f}")
    for t in res.trades(detail=True)[:5]:
        print(t)
    return s


if __name__ == "__main__":
    main()
