"""The Numba kernel's parameter and portfolio rows, built from a :class:`liqcore.Params` one way
for every caller (backtest front, sweep window, paper-trading core)."""
from __future__ import annotations

import numpy as np

from liqcore.params import latency_ways, queue_power
from liqcore.types import SymbolRegistry

__all__ = ["symbol_params", "new_portfolio", "instrument_rules", "rules_of", "use_instruments", "UNIT_EQUITY",
           "inverse_contract_usd", "margin_coin", "coin_fees", "fill_value", "fill_usd"]

#: the Python API's default equity: P&L in units of the starting equity (returns), not an account's quote.  Its
#: positions are fractions of 1, not quantities a venue could take: under ``--price-grid tick`` their prices go
#: on the tick, but the instrument's qty step and minimum qty (set for an account's sizes: 0.01 ETH) are not
#: applied, or every entry of such a run would be refused as below the minimum (compare's returns: no fills)
UNIT_EQUITY = 1.0


def _sim():
    from liqcore._jit import sim

    return sim


def symbol_params(params, registry: SymbolRegistry | None, n_symbols: int,
                  equity: float | None = None) -> np.ndarray:
    """Per-symbol parameter rows (PARAM_DTYPE) with the symbol presets applied
    (``Params.for_symbol``); ids beyond the registry get the base parameters.  ``equity``: the run's starting
    equity; at :data:`UNIT_EQUITY` (returns, no fixed ``notional``) ``--price-grid tick`` puts prices on the
    tick and leaves sizes as computed (None: an account's equity, sizes on the qty step)."""
    sim = _sim()
    par = np.zeros(n_symbols, dtype=sim.PARAM_DTYPE)
    inbound = None  # a journal's draws carry the way out only: the way back is the journal's median
    if getattr(params, "order_latency_from", None):
        from liqcore.execution.latency import journal_inbound_ns

        inbound = journal_inbound_ns(params.order_latency_from, float(getattr(params, "latency_split", 0.5)))
    accounts: dict = {}  # (venue, margin coin) -> the symbol whose state keeps that coin's account
    for sid in range(n_symbols):
        sym = None
        if registry is not None and sid < len(registry):
            venue, sym = registry.lookup(sid)
            p = params.for_symbol(sym)
            par[sid]["venue"] = int(venue)
        else:
            p = params
        row = par[sid]
        row["offset"] = p.offset
        row["take_profit"] = p.take_profit
        row["stop_loss"] = p.stop_loss
        row["maker_fee"] = p.maker_fee_bps / 1e4
        row["taker_fee"] = p.taker_fee_bps / 1e4
        row["entry_timeout_ns"] = p.entry_timeout_ns
        row["hold_timeout_ns"] = p.hold_timeout_ns
        row["cooldown_ns"] = p.cooldown_ns
        row["max_ref_age_ns"] = p.max_ref_age_ns
        out, back = latency_ways(p)
        row["order_latency_ns"] = out  # the way out: decision to arrival at the venue
        row["inbound_ns"] = back if inbound is None else inbound  # the way back: the bot learns of a fill
        row["engine_exits"] = 1 if getattr(p, "exits", "venue") == "engine" else 0
        row["touch"] = 1 if p.fill == "touch" else 0
        row["queue"] = 1 if p.fill == "queue" else 0
        row["queue_pow"] = queue_power(p.queue_model)
        row["queue_unseen"] = 1 if getattr(p, "queue_unseen", "seen") == "empty" else 0
        row["partial"] = 1 if (p.fill == "queue" and getattr(p, "partial", False)) else 0
        row["hours_from"] = -1 if p.hours is None else p.hours[0]
        row["hours_to"] = -1 if p.hours is None else p.hours[1]
        row["slippage"] = p.slippage_bps / 1e4
        row["trail"] = p.trail
        row["daily_trades"] = p.daily_trades
        usd = inverse_contract_usd(int(row["venue"]), sym) if sym is not None else 0.0
        if usd > 0.0:  # an inverse contract: P&L in the coin; whole contracts unless P&L is in returns
            row["contract_usd"] = usd
            # its margin coin's account: kept by the run's first symbol of the same venue and coin
            row["margin_sid"] = accounts.setdefault((int(row["venue"]), margin_coin(int(row["venue"]), sym)), sid)
            row["whole_contracts"] = 0 if (equity is not None and float(equity) == UNIT_EQUITY
                                           and not p.notional > 0) else 1
        if sym is not None and getattr(p, "price_grid", "off") == "tick":
            rules = instrument_rules(sym)
            if rules is not None:
                row["grid"] = rules[0]
                if not (equity is not None and float(equity) == UNIT_EQUITY and not p.notional > 0):
                    row["lot"], row["min_qty"] = rules[1:]
    return par


def _contracts_part(venue):
    """The venue's ``contracts`` part (inverse contracts: ``inverse_contract_usd``, ``margin_coin``), or None."""
    from liqcore.venues.registry import spec_or_none

    spec = spec_or_none(venue)
    return spec.part("contracts") if spec is not None and spec.has_part("contracts") else None


def inverse_contract_usd(venue: int, symbol: str) -> float:
    """The USD value of one contract of an inverse (coin-margined) ``symbol`` of ``venue`` (its ``contracts``
    part: Binance COIN-M ``BTCUSD_PERP``); 0.0 for a linear one."""
    fn = getattr(_contracts_part(venue), "inverse_contract_usd", None)  # a part without it: linear contracts
    return float(fn(str(symbol))) if fn is not None else 0.0


def margin_coin(venue: int, symbol: str) -> str:
    """The coin an inverse ``symbol`` of ``venue`` settles in (``BTC``); '' for a linear one."""
    fn = getattr(_contracts_part(venue), "margin_coin", None)
    return str(fn(str(symbol))) if fn is not None else ""


def fill_value(qty: float, price: float, contract_usd: float) -> float:
    """What a fill of ``qty`` at ``price`` is worth in the unit its fee and P&L are in: a linear contract's ``qty x
    price`` (quote), an inverse one's ``qty`` contracts of ``contract_usd`` USD in the coin, ``qty x contract_usd /
    price``."""
    return qty * contract_usd / price if contract_usd > 0 else qty * price


def fill_usd(qty: float, price: float, contract_usd: float) -> float:
    """A fill's notional in USD (quote): ``qty x price``, or an inverse contract's ``qty x contract_usd``."""
    return qty * contract_usd if contract_usd > 0 else qty * price


def coin_fees(r) -> float:
    """An inverse contract's ledger row's fees in its coin (each fill's fee on its own fill's coin value): the row's
    ``fees`` are that coin at the exit price as a fraction of the USD notional, ``fee_coin x exit / notional``."""
    return float(r["fees"] * r["notional"] / r["exit_price"])


def rules_of(inst) -> tuple[float, float, float]:
    """``(grid, lot, min_qty)`` of an :class:`~liqcore.venues.instruments.Instrument` for the execution model: its
    tick as ticks per unit of price (exact for a decimal tick: 0.01 -> 100), its qty step and minimum qty."""
    units, decimals = inst.tick_grid[:2]
    return float(10 ** decimals) / units, float(inst.qty_step), float(inst.min_qty)


def use_instruments(par: np.ndarray, instrument_of, symbols) -> None:
    """Paper trading's core: each symbol's row (``par``, in the order of ``symbols``) on the rules its orders are
    rounded with (``instrument_of(symbol)``; ValueError: none, as computed), so that its fills and exits are
    compared on the tick the order manager put the orders on, as a ``--price-grid tick`` backtest does."""
    for i, sym in enumerate(symbols):
        try:
            inst = instrument_of(sym)
        except ValueError:
            continue
        par[i]["grid"], par[i]["lot"], par[i]["min_qty"] = rules_of(inst)


def instrument_rules(symbol: str) -> tuple[float, float, float] | None:
    """``--price-grid tick``: ``(grid, lot, min_qty)`` of the symbol in the instrument table paper
    trading rounds its orders with (:data:`liqcore.venues.instruments.DEFAULT_INSTRUMENTS`): its tick as the
    execution model's grid (ticks per unit of price, exact for a decimal tick: 0.01 -> 100), its qty step and
    minimum qty; None for a symbol without one (paper trades it unrounded, the backtest as computed)."""
    from liqcore.venues.instruments import DEFAULT_INSTRUMENTS, Instrument

    m = DEFAULT_INSTRUMENTS.get(str(symbol).upper())
    if m is None:
        return None
    return rules_of(Instrument.from_mapping(str(symbol).upper(), m))


def new_portfolio(params, equity: float) -> np.ndarray:
    """The execution model's portfolio row (PORT_DTYPE) for ``params``."""
    return _sim().new_port(float(equity), params.daily_loss, params.weekly_loss, params.max_symbols, params.size,
                           max_positions=params.max_positions, replace=params.replace_weakest,
                           leverage=params.leverage, notional=params.notional,
                           replace_same=params.replace_same)
