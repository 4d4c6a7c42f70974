"""Instruments of the venues: the order grid of a symbol (:class:`Instrument`) and OKX contract sizes.

The details: docs/maintainers/data.md, "Instruments of the venues (liqcore.venues.instruments)".

May import: ``orjson``, ``venues.numbers`` and the venue registry (the contract sizes a venue ships, its ``contracts``
module).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Mapping

from liqcore.venues.numbers import wire_number

__all__ = ["RECORDING_INSTRUMENTS", "recording_instruments", "Instrument", "DEFAULT_INSTRUMENTS", "grid_count", "grid_str", "grid_float", "HALF_EVEN", "FLOOR", "CEILING",
           "OKX_CT_VAL", "shipped_bases", "rules_of", "default_instruments", "parse_okx_instruments", "load_instruments"]

HALF_EVEN, FLOOR, CEILING = 0, 1, 2

#: Bybit linear tick size, qty step and minimum order qty of common symbols: the engine's table when no venue
#: gateway lists instruments (paper trading); any other symbol needs ``Engine(instruments=...)``
DEFAULT_INSTRUMENTS: dict[str, dict[str, float]] = {
    "BTCUSDT": {"tickSize": 0.1, "qtyStep": 0.001, "minOrderQty": 0.001},
    "ETHUSDT": {"tickSize": 0.01, "qtyStep": 0.01, "minOrderQty": 0.01},
    "SOLUSDT": {"tickSize": 0.01, "qtyStep": 0.1, "minOrderQty": 0.1},
    "XRPUSDT": {"tickSize": 0.0001, "qtyStep": 1.0, "minOrderQty": 1.0},
    "DOGEUSDT": {"tickSize": 0.00001, "qtyStep": 1.0, "minOrderQty": 1.0},
}
_ROUNDING_DEC = {HALF_EVEN: ROUND_HALF_EVEN, FLOOR: ROUND_FLOOR, CEILING: ROUND_CEILING}


def _grid_of(size: float, name: str) -> tuple:
    """``(units, decimals, size_float, size_decimal)`` of a positive grid size: size = units / 10**decimals."""
    try:
        d = Decimal(str(float(size)))
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a positive number, got {size!r}") from None
    if not (d.is_finite() and d > 0):
        raise ValueError(f"{name}: must be a positive number, got {size!r}")
    _, digits, exp = d.normalize().as_tuple()
    units = int("".join(map(str, digits)))
    if exp >= 0:
        return units * 10 ** exp, 0, float(size), d
    return units, -exp, float(size), d


def _to_grid(x: float, step: Decimal, rounding) -> Decimal:
    """``x`` on the grid of ``step`` in Decimal (the reference the fast path is tested against)."""
    # a tolerance of 1e-9 steps absorbs float noise (2496.2500000001 is on the 0.01 grid)
    n = Decimal(repr(float(x))) / step
    nearest = n.to_integral_value(ROUND_HALF_EVEN)
    if abs(n - nearest) < Decimal("1e-9"):
        n = nearest
    return n.to_integral_value(rounding) * step


def _fmt(d: Decimal) -> str:
    s = format(d.normalize(), "f")
    return s if s not in ("-0", "") else "0"


def grid_count(x: float, grid: tuple, mode: int) -> int:
    """``x`` as a whole number of grid steps, exactly as :func:`_to_grid` rounds it (the same 1e-9-step
    tolerance, then half-even / floor / ceiling for ``mode`` 0 / 1 / 2).  Computed in floats whenever the
    float error bound decides the case, in Decimal otherwise.  ``grid``: an Instrument's ``tick_grid`` or
    ``step_grid``."""
    n = x / grid[2]
    # |n_float - n_exact| <= ~3.4e-16 |n| (three correctly rounded steps: the float x, the size, the division)
    # (each test below holds for the exact value too, or the case goes to Decimal)
    err = abs(n) * 5e-16
    if err < 1e-9 and n == n:
        r = round(n)
        d = abs(n - r)
        if d + err < 1e-9:
            return int(r)
        if d - err > 1e-9:
            if mode == FLOOR:
                return math.floor(n)
            if mode == CEILING:
                return math.ceil(n)
            if abs(d - 0.5) > err:  # not a tie: the nearest integer is certain
                return int(r)
    return int(_to_grid(x, grid[3], _ROUNDING_DEC[mode]) / grid[3])


def grid_str(k: int, grid: tuple) -> str:
    """``k`` grid steps as the venue's decimal string (no exponent, no trailing zeros), equal to
    ``_fmt`` of the exact Decimal value."""
    v = k * grid[0]
    dec = grid[1]
    if v == 0:
        return "0"
    if dec == 0:
        return str(v)
    s = str(-v if v < 0 else v)
    if len(s) <= dec:
        s = "0" * (dec - len(s) + 1) + s
    head, tail = s[:-dec], s[-dec:].rstrip("0")
    out = f"{head}.{tail}" if tail else head
    return "-" + out if v < 0 else out


def grid_float(k: int, grid: tuple) -> float:
    """``k`` grid steps as the nearest float (the float of the exact decimal value)."""
    return k * grid[0] / 10 ** grid[1] if grid[1] else float(k * grid[0])


def _num(m, *keys, default=None):
    for k in keys:
        v = m.get(k)
        if v not in (None, ""):
            return wire_number(v)
    return default


@dataclass(frozen=True)
class Instrument:
    """The order grid of one symbol: tick size, qty step, min/max order qty, min order notional."""

    symbol: str
    tick_size: float
    qty_step: float
    min_qty: float = 0.0
    max_qty: float = math.inf
    min_notional: float = 0.0
    # exact grids (units, decimals, size, Decimal size): size = units / 10**decimals; derived from the sizes
    tick_grid: tuple = field(init=False, repr=False, compare=False)
    step_grid: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tick_grid", _grid_of(self.tick_size, "tick_size"))
        object.__setattr__(self, "step_grid", _grid_of(self.qty_step, "qty_step"))
        for name in ("min_qty", "min_notional"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v >= 0 and math.isfinite(v)):
                raise ValueError(f"{name}: must be a finite number >= 0, got {v!r}")

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, symbol: str, m) -> "Instrument":
        """From ``{"tickSize", "qtyStep", "minOrderQty"[, "maxOrderQty", "minNotionalValue"]}`` (Bybit's names),
        the same in snake case (``tick_size``, ``qty_step``, ``min_qty``, ``max_qty``, ``min_notional``), or any
        object with those attributes."""
        if isinstance(m, Instrument):
            return m if m.symbol == symbol else cls(symbol, m.tick_size, m.qty_step, m.min_qty, m.max_qty, m.min_notional)
        if hasattr(m, "tick_size"):
            return cls(symbol, float(m.tick_size), float(m.qty_step), float(getattr(m, "min_qty", 0.0) or 0.0),
                       float(getattr(m, "max_qty", math.inf) or math.inf), float(getattr(m, "min_notional", 0.0) or 0.0))
        try:
            tick = _num(m, "tickSize", "tick_size")
            step = _num(m, "qtyStep", "qty_step")
            if tick is None or step is None:
                raise KeyError
            return cls(symbol, tick, step, _num(m, "minOrderQty", "min_qty", default=0.0),
                       _num(m, "maxOrderQty", "max_qty", default=math.inf),
                       _num(m, "minNotionalValue", "min_notional", default=0.0))
        except (AttributeError, KeyError, TypeError, ValueError):
            raise ValueError(f"instruments: {symbol}: expected tickSize, qtyStep, minOrderQty; got {m!r}") from None

    @classmethod
    def from_bybit(cls, row: dict) -> "Instrument":
        """From one row of Bybit's ``/v5/market/instruments-info`` (``priceFilter``, ``lotSizeFilter``)."""
        try:
            pf, lf = row["priceFilter"], row["lotSizeFilter"]
            return cls(row["symbol"], wire_number(pf["tickSize"]), wire_number(lf["qtyStep"]),
                       wire_number(lf["minOrderQty"]), wire_number(lf.get("maxOrderQty") or math.inf),
                       wire_number(lf.get("minNotionalValue") or 0.0))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ValueError(f"instruments: malformed Bybit row for {row.get('symbol') if isinstance(row, dict) else row!r}") from None

    @classmethod
    def from_binance(cls, row: dict) -> "Instrument":
        """From one ``symbols`` row of Binance's ``/fapi/v1/exchangeInfo`` (``PRICE_FILTER``, ``LOT_SIZE``,
        ``MIN_NOTIONAL`` filters)."""
        try:
            flt = {f["filterType"]: f for f in row["filters"]}
            lot = flt["LOT_SIZE"]
            mn = flt.get("MIN_NOTIONAL") or {}
            return cls(row["symbol"], wire_number(flt["PRICE_FILTER"]["tickSize"]), wire_number(lot["stepSize"]),
                       wire_number(lot["minQty"]), wire_number(lot.get("maxQty") or math.inf),
                       wire_number(mn.get("notional") or mn.get("minNotional") or 0.0))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ValueError(f"instruments: malformed Binance row for {row.get('symbol') if isinstance(row, dict) else row!r}") from None

    @property
    def tick(self) -> Decimal:
        return self.tick_grid[3]

    @property
    def step(self) -> Decimal:
        return self.step_grid[3]

    # ---- rounding -------------------------------------------------------------------------------
    def round_price(self, price: float, side: str) -> float:
        """A limit price on the tick: a BUY rounds DOWN, a SELL rounds UP (never closer to the market)."""
        if side not in ("buy", "sell"):
            raise ValueError(f"side: must be 'buy' or 'sell', got {side!r}")
        if not (price > 0 and math.isfinite(price)):
            raise ValueError(f"price: must be a positive finite number, got {price!r}")
        g = self.tick_grid
        return grid_float(grid_count(price, g, FLOOR if side == "buy" else CEILING), g)

    def round_nearest(self, price: float) -> float:
        g = self.tick_grid
        return grid_float(grid_count(price, g, HALF_EVEN), g)

    def round_qty(self, qty: float) -> float:
        """DOWN to the qty step (capped at the maximum order qty); 0.0 below the minimum order qty."""
        if not (qty >= 0 and math.isfinite(qty)):
            raise ValueError(f"qty: must be a non-negative finite number, got {qty!r}")
        g = self.step_grid
        q = grid_float(grid_count(min(qty, self.max_qty), g, FLOOR), g)
        return q if q >= self.min_qty - 1e-12 and q > 0 else 0.0

    def order_qty(self, notional: float, price: float) -> float:
        """The qty of an order worth ``notional`` at ``price``: down to the step; 0.0 when it is below the
        minimum order qty or its notional below the minimum order notional."""
        if not (price > 0 and math.isfinite(price)) or not (notional > 0 and math.isfinite(notional)):
            return 0.0
        q = self.round_qty(notional / price)
        return q if q * price >= self.min_notional - 1e-9 else 0.0

    # ---- venue strings --------------------------------------------------------------------------
    def price_str(self, price: float) -> str:
        """``price`` as the venue's decimal string, on the tick (nearest)."""
        g = self.tick_grid
        return grid_str(grid_count(price, g, HALF_EVEN), g)

    def qty_str(self, qty: float) -> str:
        """``qty`` as the venue's decimal string, on the step (nearest)."""
        g = self.step_grid
        return grid_str(grid_count(qty, g, HALF_EVEN), g)


#: ctVal of OKX linear USDT swaps (base currency per contract)
OKX_CT_VAL: Mapping[str, float] = {
    "BTC-USDT-SWAP": 0.01,
    "ETH-USDT-SWAP": 0.1,
    "SOL-USDT-SWAP": 1.0,
    "XRP-USDT-SWAP": 100.0,
    "DOGE-USDT-SWAP": 1000.0,
    "ADA-USDT-SWAP": 100.0,
    "LTC-USDT-SWAP": 1.0,
    "BCH-USDT-SWAP": 0.1,
    "LINK-USDT-SWAP": 1.0,
    "DOT-USDT-SWAP": 1.0,
    "AVAX-USDT-SWAP": 1.0,
    "TRX-USDT-SWAP": 1000.0,
    "ETC-USDT-SWAP": 10.0,
    "PEPE-USDT-SWAP": 10_000_000.0,
    "SHIB-USDT-SWAP": 1_000_000.0,
}


def _venue_contracts(fn: str, *args):
    """What each registered venue sized in contracts answers through its ``contracts`` module's ``fn`` (its
    shipped contract sizes; a contract list of its own read into sizes), merged; None when none answers."""
    from liqcore.venues.registry import registered

    out = None
    for spec in registered():
        if not spec.sizes_in_contracts or not spec.has_part("contracts"):
            continue
        got = getattr(spec.part("contracts"), fn)(*args)
        if got is not None:
            out = {**(out or {}), **got}
    return out


_SHIPPED: dict = {}
_SHIPPED_KEPT = [False]


def default_instruments() -> dict[str, float]:
    """A fresh copy of the shipped symbol -> contract size table: OKX's ctVal (``BTC-USDT-SWAP``) and the
    contract sizes other venues sized in contracts ship (Gate's ``quanto_multiplier``, ``BTC_USDT``)."""
    if "t" not in _SHIPPED:
        if not _SHIPPED_KEPT[0]:
            from liqcore.venues.registry import part_cache

            part_cache(_SHIPPED)  # (emptied when a venue is registered or forgotten)
            _SHIPPED_KEPT[0] = True
        _SHIPPED["t"] = {**OKX_CT_VAL, **(_venue_contracts("shipped_contract_sizes") or {})}
    return dict(_SHIPPED["t"])


def _check(inst: str, v, field: str = "ctVal") -> float:
    """``v`` as a contract size (a finite number > 0), else a ValueError naming ``field`` of ``inst``."""
    try:
        x = wire_number(v)
    except (TypeError, ValueError):
        raise ValueError(f"instruments: {field} of {inst!r} is not a number: {v!r}") from None
    if not math.isfinite(x) or x <= 0:
        raise ValueError(f"instruments: {field} of {inst!r} must be finite and > 0, got {v!r}")
    return x


def parse_okx_instruments(payload) -> dict[str, float]:
    """instId -> ctVal from an OKX ``/api/v5/public/instruments`` response (dict, bytes or str)."""
    import orjson

    if isinstance(payload, (bytes, bytearray, memoryview, str)):
        payload = orjson.loads(payload)
    data = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(data, list):
        raise ValueError("instruments: expected an OKX response with a 'data' array")
    out = {}
    for row in data:
        if isinstance(row, dict) and row.get("instId") and row.get("ctVal") not in (None, ""):
            out[str(row["instId"])] = _check(row["instId"], row["ctVal"])
    return out


def load_instruments(mapping_or_path=None) -> dict[str, float]:
    """Shipped defaults updated with a mapping or a JSON file (plain ``{instId: ctVal}`` or an OKX
    instruments response)."""
    table = default_instruments()
    if mapping_or_path is None:
        return table
    if isinstance(mapping_or_path, Mapping):
        table.update({str(k): _check(k, v) for k, v in mapping_or_path.items()})
        return table
    obj = _read_instruments_file(mapping_or_path)
    where = f"--instruments {mapping_or_path}"
    try:
        if isinstance(obj, dict) and "data" in obj:
            table.update(parse_okx_instruments(obj))
        elif isinstance(obj, dict):
            table.update({str(k): _check(k, v) for k, v in obj.items()})
        else:
            sizes = _venue_contracts("contract_sizes", obj)  # (a venue's own contract list: Gate's is an array)
            if sizes is None:
                raise ValueError(f"instruments: {_EXPECTED}")
            table.update(sizes)
    except ValueError as exc:  # what in the file is wrong, under the name of the file (and of its option)
        raise ValueError(f"{where}: {str(exc).removeprefix('instruments: ')}") from None
    return table


_EXPECTED = ("expected a JSON object of symbol -> contract value, an OKX instruments response or a venue's "
             "contract list")


def _read_instruments_file(path):
    """The JSON in the ``--instruments`` file ``path``; a file that cannot be read, or is not JSON, is a
    ValueError naming the option, the file and why (never the JSON parser's words alone)."""
    from pathlib import Path

    import orjson

    where = f"--instruments {path}"
    try:
        raw = Path(path).expanduser().read_bytes()
    except FileNotFoundError:
        raise ValueError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{where}: is a directory; expected a JSON file") from None
    except PermissionError:
        raise ValueError(f"{where}: cannot be read (permission denied)") from None
    except OSError as exc:
        raise ValueError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            why = "not UTF-8 text, so not JSON"
        else:
            why = f"not JSON: {' '.join(str(exc).split())}" if raw.strip() else "empty"
        raise ValueError(f"{where}: cannot be read as an instrument list ({why}); {_EXPECTED}") from None


#: the OKX instrument list kept in a recording's directory by ``liqcore record --venue okx --symbols all``
#: (:meth:`liqcore.market.universe.Universe.to_json`: each swap's rules, ``contract`` instId -> ctVal, and the
#: time it was fetched, ``fetched_ns``)
RECORDING_INSTRUMENTS = "instruments-okx.json"


def recording_instruments(path) -> dict[str, float]:
    """instId -> ctVal kept with the recording ``path`` (a file: in its directory; a directory: in it), or {}
    without one; a file there that cannot be read as one is a ValueError naming it."""
    import os

    import orjson

    try:
        where = path if os.path.isdir(path) else os.path.dirname(os.fspath(path)) or "."
    except TypeError:  # (a stream, not a path)
        return {}
    side = os.path.join(where, RECORDING_INSTRUMENTS)
    try:
        with open(side, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ValueError(f"instruments: cannot read {side} ({e.strerror or e})") from None
    try:
        obj = orjson.loads(raw)
        contract = obj["contract"]
        if not isinstance(contract, dict):
            raise TypeError
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise ValueError(f"instruments: {side} is not an instrument list (a JSON object with a 'contract' "
                         "object of instId -> ctVal)") from None
    return {str(k): _check(k, v) for k, v in contract.items()}


def shipped_bases() -> set[str]:
    """The base assets of the shipped instrument tables (``BTC`` of ``BTCUSDT`` and of ``BTC-USDT-SWAP``)."""
    return {s[:-4] for s in DEFAULT_INSTRUMENTS if s.endswith("USDT")} | {s[:-10] for s in OKX_CT_VAL
                                                                           if s.endswith("-USDT-SWAP")}


def rules_of(rows, parse, key: str = "symbol") -> dict:
    """``row[key]`` -> ``parse(row)`` of a venue's instrument rows (a malformed row: that symbol has no known rules)."""
    out = {}
    for r in rows:
        try:
            out[str(r[key])] = parse(r)
        except (ValueError, KeyError):
            pass
    return out
