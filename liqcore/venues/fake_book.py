"""Order, position and account state of the fake Bybit v5 venue (no I/O; the server in
:mod:`liqcore.venues.bybit.fake` wraps it), whose matching rules the fake Binance and OKX venues share.  It sits
in the venue layer, below the venue folders' fakes (``liqcore.venues.<venue>.fake``), which import it.

The details: docs/maintainers/fakes.md, "Order, position and account state of the fake Bybit v5 venue
(liqcore.venues.fake_book)".

May import: the standard library.
"""
from __future__ import annotations

import itertools
import math
import uuid
from dataclasses import dataclass, field

__all__ = ["FakeOrder", "FakePosition", "FakeVenue", "DEFAULT_INSTRUMENTS", "VenueError", "fmt_num"]

def bybit_category(instrument: dict) -> str:
    """A fake instrument's Bybit category: ``inverse`` for ``contractType`` InversePerpetual / InverseFutures (sizes
    in contracts of 1 USD, margined and settled in the coin), else ``linear``."""
    return "inverse" if str(instrument.get("contractType", "")).startswith("Inverse") else "linear"


#: tick size, qty step and minimum qty of the symbols the fake lists by default
DEFAULT_INSTRUMENTS: dict[str, dict[str, float]] = {
    "BTCUSDT": {"tickSize": 0.1, "qtyStep": 0.001, "minOrderQty": 0.001},
    "ETHUSDT": {"tickSize": 0.01, "qtyStep": 0.01, "minOrderQty": 0.01},
    "SOLUSDT": {"tickSize": 0.01, "qtyStep": 0.1, "minOrderQty": 0.1},
    "XRPUSDT": {"tickSize": 0.0001, "qtyStep": 1.0, "minOrderQty": 1.0},
    "DOGEUSDT": {"tickSize": 0.00001, "qtyStep": 1.0, "minOrderQty": 1.0},
}

OPEN_STATUSES = ("New", "PartiallyFilled", "Untriggered")
POST_ONLY_REJECT = "EC_PostOnlyWillTakeLiquidity"


class VenueError(Exception):
    """A request the venue refuses: carries the Bybit retCode and retMsg."""

    def __init__(self, ret_code: int, ret_msg: str) -> None:
        super().__init__(f"{ret_code} {ret_msg}")
        self.ret_code = ret_code
        self.ret_msg = ret_msg


def fmt_num(x: float) -> str:
    """A number as Bybit writes it: a decimal string without exponent or trailing zeros."""
    if x == 0 or not math.isfinite(x):
        return "0"
    s = f"{x:.10f}".rstrip("0").rstrip(".")
    return s if s not in ("", "-0") else "0"


def _on_grid(x: float, step: float) -> bool:
    n = x / step
    return abs(n - round(n)) < 1e-6


@dataclass
class FakeOrder:
    order_id: str
    order_link_id: str
    symbol: str
    side: str  # Buy | Sell
    order_type: str  # Limit | Market
    price: float
    qty: float
    time_in_force: str
    reduce_only: bool = False
    status: str = "New"
    reject_reason: str = "EC_NoError"
    cancel_type: str = "UNKNOWN"
    cum_exec_qty: float = 0.0
    cum_exec_value: float = 0.0
    cum_exec_fee: float = 0.0
    take_profit: float = 0.0
    stop_loss: float = 0.0
    tpsl_mode: str = ""
    tp_order_type: str = ""
    sl_order_type: str = ""
    tp_limit_price: float = 0.0
    sl_limit_price: float = 0.0
    stop_order_type: str = ""
    trigger_price: float = 0.0
    parent_id: str = ""
    trail_distance: float = 0.0  # TrailingStop: the trigger follows the best print at this distance
    created_ms: int = 0
    updated_ms: int = 0

    @property
    def leaves_qty(self) -> float:
        if self.status not in OPEN_STATUSES:
            return 0.0
        return max(self.qty - self.cum_exec_qty, 0.0)

    @property
    def avg_price(self) -> float:
        return self.cum_exec_value / self.cum_exec_qty if self.cum_exec_qty > 0 else 0.0

    def wire(self) -> dict:
        return {
            "category": self.category,
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderLinkId": self.order_link_id,
            "blockTradeId": "",
            "side": self.side,
            "positionIdx": 0,
            "orderStatus": self.status,
            "cancelType": self.cancel_type,
            "rejectReason": self.reject_reason,
            "timeInForce": self.time_in_force,
            "isLeverage": "",
            "price": fmt_num(self.price),
            "qty": fmt_num(self.qty),
            "avgPrice": fmt_num(self.avg_price) if self.cum_exec_qty > 0 else "",
            "leavesQty": fmt_num(self.leaves_qty),
            "leavesValue": fmt_num(self.leaves_qty * self.price),
            "cumExecQty": fmt_num(self.cum_exec_qty),
            "cumExecValue": fmt_num(self.cum_exec_value if self.category == "linear" else  # (inverse: in the coin)
                                    (self.cum_exec_qty / self.avg_price if self.cum_exec_qty > 0 else 0.0)),
            "cumExecFee": fmt_num(self.cum_exec_fee),
            "orderType": self.order_type,
            "stopOrderType": self.stop_order_type,
            "orderIv": "",
            "triggerPrice": fmt_num(self.trigger_price),
            "takeProfit": fmt_num(self.take_profit),
            "stopLoss": fmt_num(self.stop_loss),
            "tpslMode": self.tpsl_mode,
            "tpLimitPrice": fmt_num(self.tp_limit_price),
            "slLimitPrice": fmt_num(self.sl_limit_price),
            "tpTriggerBy": "LastPrice" if self.take_profit else "",
            "slTriggerBy": "LastPrice" if self.stop_loss else "",
            "triggerDirection": 0,
            "triggerBy": "LastPrice" if self.trigger_price else "",
            "reduceOnly": self.reduce_only,
            "closeOnTrigger": bool(self.stop_order_type),
            "placeType": "",
            "smpType": "None",
            "smpGroup": 0,
            "smpOrderId": "",
            "createdTime": str(self.created_ms),
            "updatedTime": str(self.updated_ms),
        }

    category: str = "linear"  # inverse: qty in contracts of 1 USD, values and fees in the coin


@dataclass
class FakePosition:
    symbol: str
    size: float = 0.0  # signed: > 0 long, < 0 short
    entry_price: float = 0.0
    take_profit: float = 0.0
    stop_loss: float = 0.0
    tpsl_mode: str = "Full"
    trailing_stop: float = 0.0
    cum_realised_pnl: float = 0.0
    created_ms: int = 0
    updated_ms: int = 0
    category: str = "linear"  # inverse: size in contracts of 1 USD, value and P&L in the coin

    @property
    def side(self) -> str:
        return "Buy" if self.size > 0 else ("Sell" if self.size < 0 else "")

    def wire(self, mark: float) -> dict:
        size = abs(self.size)
        inverse = self.category == "inverse"  # sizes in USD contracts, value and P&L in the coin
        if inverse:
            upnl = self.size * (1.0 / self.entry_price - 1.0 / mark) if size and mark else 0.0
        else:
            upnl = (mark - self.entry_price) * self.size if size and mark else 0.0
        return {
            "category": self.category,
            "symbol": self.symbol,
            "positionIdx": 0,
            "tradeMode": 0,
            "riskId": 1,
            "side": self.side,
            "size": fmt_num(size),
            "avgPrice": fmt_num(self.entry_price) if size else "0",
            "entryPrice": fmt_num(self.entry_price) if size else "0",
            "positionValue": fmt_num(size / self.entry_price if inverse and size else size * self.entry_price),
            "markPrice": fmt_num(mark),
            "leverage": "10",
            "positionStatus": "Normal",
            "autoAddMargin": 0,
            "takeProfit": fmt_num(self.take_profit),
            "stopLoss": fmt_num(self.stop_loss),
            "trailingStop": fmt_num(self.trailing_stop) if self.trailing_stop else "0",
            "tpslMode": self.tpsl_mode,
            "unrealisedPnl": fmt_num(upnl),
            "cumRealisedPnl": fmt_num(self.cum_realised_pnl),
            "createdTime": str(self.created_ms),
            "updatedTime": str(self.updated_ms),
        }


def _f(params: dict, name: str, required: bool = False) -> float:
    v = params.get(name)
    if v is None or v == "":
        if required:
            raise VenueError(10001, f"params error: {name} is required")
        return 0.0
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise VenueError(10001, f"params error: {name} invalid") from None
    if not math.isfinite(x) or x < 0:
        raise VenueError(10001, f"params error: {name} invalid")
    return x


@dataclass
class FakeVenue:
    """The venue's books for one account: orders, positions, wallet, last trade prices."""

    instruments: dict[str, dict[str, float]] = field(default_factory=lambda: dict(DEFAULT_INSTRUMENTS))
    maker_fee: float = 0.0002
    taker_fee: float = 0.00055
    equity: float = 10_000.0
    fill_on_touch: bool = False
    partial_fills: bool = False
    auto_deactivate: bool = True  # Bybit: conditional/reduce-only orders die with the position; Binance: they stay
    fill_worse_ticks: int = 0  # planted: resting entries fill this many ticks worse than their limit
    reject_post_only_every: int = 0  # planted: every N-th post-only create is rejected (0 = never)
    clock_ms: object = None  # callable returning the venue time in ms

    def __post_init__(self) -> None:
        self.last_price: dict[str, float] = {}
        self.orders: dict[str, FakeOrder] = {}
        self.by_link: dict[str, str] = {}
        self.positions: dict[str, FakePosition] = {}
        self.wallet_balance = float(self.equity)
        self.coin_balance: dict[str, float] = {}  # inverse symbols' P&L less fees, in each coin
        self.executions: list[dict] = []
        self._exec_seq = itertools.count(1)
        self._post_only_seen = 0

    # ------------------------------------------------------------ helpers
    def now_ms(self) -> int:
        if self.clock_ms is None:
            import time

            return time.time_ns() // 1_000_000
        return int(self.clock_ms())

    def category(self, symbol: str) -> str:
        """The symbol's category (Bybit v5 ``category``): ``inverse`` for an instrument whose ``contractType`` is
        InversePerpetual / InverseFutures, else ``linear``."""
        return bybit_category(self.instruments.get(symbol, {}))

    def check_category(self, p: dict, symbol: str | None = None) -> str:
        """The request's ``category``: linear or inverse, and the symbol's own when one is named (the venue lists a
        symbol in one category only: another names no symbol of it, 10001)."""
        cat = p.get("category")
        if cat not in ("linear", "inverse"):
            raise VenueError(10001, "params error: category must be linear or inverse")
        if symbol and symbol in self.instruments and self.category(symbol) != cat:
            raise VenueError(10001, "params error: symbol invalid")
        return cat

    def _order(self, *args, **kw) -> FakeOrder:
        o = FakeOrder(*args, **kw)
        o.category = self.category(o.symbol)
        return o

    def _credit(self, symbol: str, amount: float) -> None:
        """P&L or a fee (negative) to the account: a linear symbol's in USDT, an inverse one's in its coin
        (``coin_balance``, e.g. ``{"BTC": -0.0001}``)."""
        if self.category(symbol) == "inverse":
            coin = symbol[:symbol.rindex("USD")]
            self.coin_balance[coin] = self.coin_balance.get(coin, 0.0) + amount
        else:
            self.wallet_balance += amount

    def _new_position(self, symbol: str) -> FakePosition:
        return FakePosition(symbol, category=self.category(symbol))

    def contract_value(self, symbol: str) -> float:
        """Coins one unit of an order's size is worth (the instrument's ``contractValue``: OKX sizes count
        contracts of ``ctVal`` coins; 1 where sizes are coins): fees, pnl and value are on size x this x price."""
        return float(self.instruments.get(symbol, {}).get("contractValue", 1.0))

    def position(self, symbol: str) -> FakePosition:
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = self._new_position(symbol)
        return pos

    def order_by_link(self, link: str) -> FakeOrder | None:
        oid = self.by_link.get(link)
        return self.orders.get(oid) if oid else None

    def open_orders(self, symbol: str | None = None) -> list[FakeOrder]:
        return [o for o in self.orders.values() if o.status in OPEN_STATUSES and (symbol is None or o.symbol == symbol)]

    def _touch(self, o: FakeOrder) -> tuple[str, dict]:
        o.updated_ms = self.now_ms()
        return ("order", o.wire())

    def _pos_push(self, symbol: str) -> tuple[str, dict]:
        pos = self.position(symbol)
        pos.updated_ms = self.now_ms()
        return ("position", pos.wire(self.last_price.get(symbol, pos.entry_price)))

    def place_resting(self, symbol: str, side: str, qty: float, price: float, order_link_id: str = "") -> FakeOrder:
        """Put a resting order straight on the book (test set-up, no checks)."""
        now = self.now_ms()
        o = self._order(str(uuid.uuid4()), order_link_id, symbol, side, "Limit", price, qty, "GTC", created_ms=now, updated_ms=now)
        self.orders[o.order_id] = o
        if order_link_id:
            self.by_link[order_link_id] = o.order_id
        return o

    def place_conditional(self, symbol: str, side: str, stop_kind: str, trigger: float, qty: float, order_type: str = "Market",
                          limit_price: float = 0.0, order_link_id: str = "") -> tuple[FakeOrder, list[tuple[str, dict]]]:
        """A standalone reduce-only conditional order (``stop_kind`` TakeProfit | StopLoss), status Untriggered."""
        now = self.now_ms()
        o = self._order(str(uuid.uuid4()), order_link_id, symbol, side, order_type, limit_price if order_type == "Limit" else 0.0,
                      qty, "GTC" if order_type == "Limit" else "IOC", reduce_only=True, status="Untriggered",
                      stop_order_type=stop_kind, trigger_price=trigger, created_ms=now, updated_ms=now)
        self.orders[o.order_id] = o
        if order_link_id:
            self.by_link[order_link_id] = o.order_id
        return o, [self._touch(o)]

    def trading_stop(self, p: dict) -> tuple[dict, list[tuple[str, dict]]]:
        """POST /v5/position/trading-stop (``tpslMode=Full``): the position's take-profit, stop-loss and
        trailing stop as full-position Market conditional orders (``stopOrderType`` TakeProfit, StopLoss,
        TrailingStop; ``"0"`` cancels a level).  A trailing stop's trigger starts at the last price minus
        (long) / plus (short) ``trailingStop`` and follows the best print."""
        symbol = p.get("symbol")
        self.check_category(p, symbol)
        if symbol not in self.instruments:
            raise VenueError(10001, "params error: symbol invalid")
        if p.get("tpslMode") not in ("Full", "Partial"):
            raise VenueError(10001, "params error: tpslMode must be Full or Partial")
        if p.get("tpslMode") != "Full":
            raise VenueError(10001, "params error: this venue supports tpslMode=Full only")
        if str(p.get("positionIdx", "")) != "0":
            raise VenueError(10001, "params error: positionIdx must be 0 (one-way mode)")
        pos = self.position(symbol)
        if not pos.size:
            raise VenueError(10001, "can not set tp/sl/ts for zero position")
        last = self.last_price.get(symbol, pos.entry_price)
        long_ = pos.size > 0
        tick = self.instruments[symbol]["tickSize"]
        levels = {}
        for name in ("takeProfit", "stopLoss", "trailingStop"):
            if name in p and p[name] is not None:
                v = _f(p, name)
                if v is None or v < 0 or not math.isfinite(v):
                    raise VenueError(10001, f"params error: {name} invalid")
                if v and not _on_grid(v, tick):
                    raise VenueError(10001, f"params error: {name} not on the tick size {tick}")
                levels[name] = v
        tp, sl, ts = levels.get("takeProfit"), levels.get("stopLoss"), levels.get("trailingStop")
        if tp and ((long_ and tp <= last) or (not long_ and tp >= last)):
            raise VenueError(10001, f"TakeProfit:{tp} set for {'Buy' if long_ else 'Sell'} position should be "
                                    f"{'higher' if long_ else 'lower'} than base_price:{last}??LastPrice")
        if sl and ((long_ and sl >= last) or (not long_ and sl <= last)):
            raise VenueError(10001, f"StopLoss:{sl} set for {'Buy' if long_ else 'Sell'} position should be "
                                    f"{'lower' if long_ else 'higher'} than base_price:{last}??LastPrice")
        close_side = "Sell" if long_ else "Buy"
        pushes: list[tuple[str, dict]] = []
        now = self.now_ms()
        for name, kind, v in (("takeProfit", "TakeProfit", tp), ("stopLoss", "StopLoss", sl),
                              ("trailingStop", "TrailingStop", ts)):
            if v is None:
                continue
            for o in self.open_orders(symbol):
                if o.stop_order_type == kind and o.status == "Untriggered":
                    o.status, o.cancel_type = "Deactivated", "CancelByTpSlTsClear"
                    pushes.append(self._touch(o))
            if not v:
                continue
            trig = v if kind != "TrailingStop" else (last - v if long_ else last + v)
            o = self._order(str(uuid.uuid4()), "", symbol, close_side, "Market", 0.0, abs(pos.size), "IOC",
                          reduce_only=True, status="Untriggered", stop_order_type=kind, trigger_price=trig,
                          tpsl_mode="Full", trail_distance=v if kind == "TrailingStop" else 0.0,
                          created_ms=now, updated_ms=now)
            self.orders[o.order_id] = o
            pushes.append(self._touch(o))
        if tp is not None:
            pos.take_profit = tp
        if sl is not None:
            pos.stop_loss = sl
        if ts is not None:
            pos.trailing_stop = ts
        pos.tpsl_mode = "Full"
        pushes.append(self._pos_push(symbol))
        return {}, pushes

    def set_position(self, symbol: str, size: float, entry_price: float, take_profit: float = 0.0, stop_loss: float = 0.0) -> FakePosition:
        """Give the account a position (test set-up; ``size`` signed)."""
        pos = self.position(symbol)
        pos.size, pos.entry_price = float(size), float(entry_price)
        pos.take_profit, pos.stop_loss = float(take_profit), float(stop_loss)
        pos.created_ms = pos.updated_ms = self.now_ms()
        return pos

    # ------------------------------------------------------------ requests
    def create(self, p: dict) -> tuple[dict, list[tuple[str, dict]]]:
        """POST /v5/order/create: returns (result, pushes) or raises VenueError."""
        symbol = p.get("symbol")
        self.check_category(p, symbol)
        if symbol not in self.instruments:
            raise VenueError(10001, "params error: symbol invalid")
        inst = self.instruments[symbol]
        side = p.get("side")
        if side not in ("Buy", "Sell"):
            raise VenueError(10001, "params error: side invalid")
        otype = p.get("orderType")
        if otype not in ("Limit", "Market"):
            raise VenueError(10001, "params error: orderType invalid")
        qty = _f(p, "qty", required=True)
        if qty < inst["minOrderQty"] or not _on_grid(qty, inst["qtyStep"]):
            raise VenueError(10001, "params error: qty invalid (minOrderQty/qtyStep)")
        price = _f(p, "price", required=(otype == "Limit"))
        if otype == "Limit" and (price <= 0 or not _on_grid(price, inst["tickSize"])):
            raise VenueError(10001, "params error: price invalid (tickSize)")
        tif = p.get("timeInForce") or ("GTC" if otype == "Limit" else "IOC")
        if tif not in ("GTC", "IOC", "FOK", "PostOnly"):
            raise VenueError(10001, "params error: timeInForce invalid")
        if otype == "Market" and tif == "PostOnly":
            raise VenueError(10001, "params error: market order cannot be post-only")
        link = p.get("orderLinkId") or ""
        if not isinstance(link, str) or len(link) > 36:
            raise VenueError(10001, "params error: orderLinkId too long (max 36)")
        if link and link in self.by_link:
            raise VenueError(110072, "OrderLinkedID is duplicate")
        reduce_only = bool(p.get("reduceOnly", False))
        tp = _f(p, "takeProfit")
        sl = _f(p, "stopLoss")
        tpsl_mode = p.get("tpslMode") or ("Full" if (tp or sl) else "")
        tp_type = p.get("tpOrderType") or ("Market" if tp else "")
        sl_type = p.get("slOrderType") or ("Market" if sl else "")
        tp_limit = _f(p, "tpLimitPrice")
        sl_limit = _f(p, "slLimitPrice")
        if (tp or sl) and reduce_only:
            raise VenueError(10001, "params error: reduceOnly order cannot carry takeProfit/stopLoss")
        if tp or sl:
            if tpsl_mode not in ("Full", "Partial"):
                raise VenueError(10001, "params error: tpslMode invalid")
            if tpsl_mode == "Full" and (tp_type not in ("", "Market") or sl_type not in ("", "Market")):
                raise VenueError(10001, "params error: tpslMode=Full requires Market TP/SL")
            if tp and tp_type == "Limit" and not tp_limit:
                raise VenueError(10001, "params error: tpLimitPrice is required for tpOrderType=Limit")
            if sl and sl_type == "Limit" and not sl_limit:
                raise VenueError(10001, "params error: slLimitPrice is required for slOrderType=Limit")
            base = price if otype == "Limit" else self.last_price.get(symbol, 0.0)
            for name, val in (("takeProfit", tp), ("stopLoss", sl), ("tpLimitPrice", tp_limit), ("slLimitPrice", sl_limit)):
                if val and not _on_grid(val, inst["tickSize"]):
                    raise VenueError(10001, f"params error: {name} invalid (tickSize)")
            if base:
                if side == "Buy" and ((tp and tp <= base) or (sl and sl >= base)):
                    raise VenueError(10001, "params error: TakeProfit must be above and StopLoss below the entry for Buy")
                if side == "Sell" and ((tp and tp >= base) or (sl and sl <= base)):
                    raise VenueError(10001, "params error: TakeProfit must be below and StopLoss above the entry for Sell")
        pos = self.position(symbol)
        if reduce_only:
            closing = (pos.size > 0 and side == "Sell") or (pos.size < 0 and side == "Buy")
            if not closing:
                raise VenueError(110017, "reduce-only rule not satisfied: no position to reduce")
            qty = min(qty, abs(pos.size))
        last = self.last_price.get(symbol)
        if otype == "Market" and not last:
            raise VenueError(10001, "params error: no market price for a Market order")
        now = self.now_ms()
        o = self._order(
            order_id=str(uuid.uuid4()), order_link_id=link, symbol=symbol, side=side, order_type=otype,
            price=price, qty=qty, time_in_force=tif, reduce_only=reduce_only, take_profit=tp, stop_loss=sl,
            tpsl_mode=tpsl_mode if (tp or sl) else "", tp_order_type=tp_type if tp else "", sl_order_type=sl_type if sl else "",
            tp_limit_price=tp_limit, sl_limit_price=sl_limit, created_ms=now, updated_ms=now,
        )
        self.orders[o.order_id] = o
        if link:
            self.by_link[link] = o.order_id
        pushes: list[tuple[str, dict]] = []
        result = {"orderId": o.order_id, "orderLinkId": link}
        if otype == "Market":
            pushes += self._fill(o, last, o.qty, is_maker=False)
            return result, pushes
        crosses = last is not None and ((side == "Buy" and price >= last) or (side == "Sell" and price <= last))
        if tif == "PostOnly" and self.reject_post_only_every > 0:
            self._post_only_seen += 1
            crosses = crosses or self._post_only_seen % self.reject_post_only_every == 0  # (planted)
        if crosses and tif == "PostOnly":
            o.status, o.reject_reason, o.cancel_type = "Cancelled", POST_ONLY_REJECT, "CancelByUser"
            pushes.append(self._touch(o))
        elif crosses:
            pushes += self._fill(o, price, o.qty, is_maker=False)
        else:
            pushes.append(self._touch(o))
        return result, pushes

    def cancel(self, p: dict) -> tuple[dict, list[tuple[str, dict]]]:
        o = self._find(p)
        if o is None or o.status not in OPEN_STATUSES:
            raise VenueError(110001, "order not exists or too late to cancel")
        o.status, o.cancel_type = ("Deactivated" if o.status == "Untriggered" else "Cancelled"), "CancelByUser"
        return {"orderId": o.order_id, "orderLinkId": o.order_link_id}, [self._touch(o)]

    def cancel_all(self, p: dict) -> tuple[dict, list[tuple[str, dict]]]:
        """POST /v5/order/cancel-all: every open order of ``symbol`` (or of the whole account for ``settleCoin``
        / ``baseCoin``).  ``orderFilter``: ``Order`` = active orders only (conditional orders stay),
        ``StopOrder`` = untriggered conditional orders only, absent = every kind."""
        symbol = p.get("symbol") or None
        if symbol is None and not p.get("settleCoin") and not p.get("baseCoin"):
            raise VenueError(10001, "params error: symbol, baseCoin or settleCoin is required")
        flt = p.get("orderFilter") or ""
        if flt not in ("", "Order", "StopOrder"):
            raise VenueError(10001, f"params error: orderFilter {flt!r} invalid")
        out, pushes = [], []
        for o in self.open_orders(symbol):
            if p.get("baseCoin") and not o.symbol.startswith(str(p["baseCoin"])):
                continue
            conditional = o.status == "Untriggered"
            if (flt == "Order" and conditional) or (flt == "StopOrder" and not conditional):
                continue
            o.status, o.cancel_type = ("Deactivated" if conditional else "Cancelled"), "CancelByUser"
            pushes.append(self._touch(o))
            out.append({"orderId": o.order_id, "orderLinkId": o.order_link_id})
        return {"list": out, "success": "1"}, pushes

    #: orders per cancel-batch request the venue accepts (linear)
    CANCEL_BATCH_MAX = 20

    def cancel_batch(self, p: dict) -> tuple[dict, list[dict], list[tuple[str, dict]]]:
        """POST /v5/order/cancel-batch: ``request`` = up to 20 ``{"symbol", "orderId"|"orderLinkId"}``.
        Returns (result, retExtInfo list, pushes): one result row and one ``{"code", "msg"}`` per item, in
        order (code 0 = cancelled; 110001 = not open or not there)."""
        req = p.get("request")
        if not isinstance(req, list) or not req:
            raise VenueError(10001, "params error: request must be a non-empty array")
        if len(req) > self.CANCEL_BATCH_MAX:
            raise VenueError(10001, f"params error: at most {self.CANCEL_BATCH_MAX} orders per batch")
        rows, ext, pushes = [], [], []
        for item in req:
            sym = item.get("symbol", "") if isinstance(item, dict) else ""
            link = item.get("orderLinkId", "") if isinstance(item, dict) else ""
            if not sym:
                rows.append({"category": "linear", "symbol": "", "orderId": "", "orderLinkId": link})
                ext.append({"code": 10001, "msg": "params error: symbol is required"})
                continue
            try:
                res, ps = self.cancel(item)
            except VenueError as e:
                rows.append({"category": self.category(sym), "symbol": sym, "orderId": "", "orderLinkId": link})
                ext.append({"code": e.ret_code, "msg": e.ret_msg})
                continue
            rows.append({"category": self.category(sym), "symbol": sym, **res})
            ext.append({"code": 0, "msg": "OK"})
            pushes += ps
        return {"list": rows}, ext, pushes

    def _find(self, p: dict) -> FakeOrder | None:
        if p.get("orderId"):
            o = self.orders.get(p["orderId"])
        elif p.get("orderLinkId"):
            o = self.order_by_link(p["orderLinkId"])
        else:
            raise VenueError(10001, "params error: orderId or orderLinkId is required")
        if o is not None and p.get("symbol") and o.symbol != p["symbol"]:
            return None
        return o

    def query(self, p: dict) -> list[dict]:
        """GET /v5/order/realtime, as the unified account answers it: ``openOnly=0`` (default) returns open
        orders only (also when asked by orderId/orderLinkId), ``openOnly=1`` the recent closed ones
        (Filled, Cancelled, Rejected, Deactivated; the venue keeps the last 500)."""
        open_only = str(p.get("openOnly", "0"))
        if p.get("orderId") or p.get("orderLinkId"):
            o = self._find(p)
            if o is None:
                return []
            is_open = o.status in OPEN_STATUSES
            return [o.wire()] if is_open == (open_only == "0") else []
        symbol = p.get("symbol")
        if not symbol and not p.get("settleCoin") and not p.get("baseCoin") and p.get("category") != "inverse":
            # (linear only: "For linear, either symbol, baseCoin, settleCoin is required")
            raise VenueError(10001, "params error: symbol, settleCoin or baseCoin is required")
        orders = [o for o in self.orders.values() if symbol is None or o.symbol == symbol]
        if open_only == "0":
            orders = [o for o in orders if o.status in OPEN_STATUSES]
        else:
            orders = [o for o in orders if o.status not in OPEN_STATUSES]
        orders.sort(key=lambda o: o.created_ms, reverse=True)
        return [o.wire() for o in orders[:500]]

    def history(self, p: dict) -> list[dict]:
        """GET /v5/order/history: any status, newest first, by orderId/orderLinkId/symbol."""
        if p.get("orderId") or p.get("orderLinkId"):
            o = self._find(p)
            return [o.wire()] if o is not None else []
        symbol = p.get("symbol")
        orders = [o for o in self.orders.values() if symbol is None or o.symbol == symbol]
        orders.sort(key=lambda o: o.created_ms, reverse=True)
        return [o.wire() for o in orders[: int(p.get("limit") or 50)]]

    def execution_list(self, p: dict) -> list[dict]:
        """GET /v5/execution/list: newest first, filtered by symbol/orderId/orderLinkId/startTime."""
        out = []
        start = int(p.get("startTime") or 0)
        for e in reversed(self.executions):
            if p.get("symbol") and e["symbol"] != p["symbol"]:
                continue
            if p.get("orderId") and e["orderId"] != p["orderId"]:
                continue
            if p.get("orderLinkId") and e["orderLinkId"] != p["orderLinkId"]:
                continue
            if int(e["execTime"]) < start:
                continue
            out.append(e)
        return out[: int(p.get("limit") or 50)]

    def position_list(self, p: dict) -> list[dict]:
        symbol = p.get("symbol")
        if not symbol and not p.get("settleCoin"):
            raise VenueError(10001, "params error: symbol or settleCoin is required")
        out = []
        for sym, pos in self.positions.items():
            if symbol and sym != symbol:
                continue
            if pos.size == 0 and not symbol:
                continue
            out.append(pos.wire(self.last_price.get(sym, pos.entry_price)))
        if symbol and not out and symbol in self.instruments:
            out.append(self._new_position(symbol).wire(self.last_price.get(symbol, 0.0)))
        return out

    def wallet(self) -> dict:
        upnl = sum((self.last_price.get(s, p.entry_price) - p.entry_price) * p.size * self.contract_value(s)
                   for s, p in self.positions.items() if p.size)
        eq = self.wallet_balance + upnl
        coin = {"coin": "USDT", "equity": fmt_num(eq), "walletBalance": fmt_num(self.wallet_balance),
                "unrealisedPnl": fmt_num(upnl), "cumRealisedPnl": fmt_num(self.wallet_balance - self.equity),
                "usdValue": fmt_num(eq)}
        return {"list": [{"accountType": "UNIFIED", "totalEquity": fmt_num(eq), "totalWalletBalance": fmt_num(self.wallet_balance),
                          "totalMarginBalance": fmt_num(eq), "totalAvailableBalance": fmt_num(eq), "coin": [coin]}]}

    # ------------------------------------------------------------ market
    def on_trade(self, symbol: str, price: float, qty: float = math.inf) -> list[tuple[str, dict]]:
        """A trade of ``qty`` printed at ``price``: trigger stops (stop-loss first), fill resting limits."""
        if not (price > 0 and math.isfinite(price)):
            return []
        self.last_price[symbol] = price
        pushes: list[tuple[str, dict]] = []
        stops = [o for o in self.orders.values() if o.symbol == symbol and o.status == "Untriggered"]
        stops.sort(key=lambda o: 0 if ("StopLoss" in o.stop_order_type or o.stop_order_type == "TrailingStop") else 1)
        for o in stops:  # a trailing stop's trigger follows the best print (the closing side's opposite)
            if o.stop_order_type == "TrailingStop" and o.trail_distance > 0:
                if o.side == "Sell":
                    o.trigger_price = max(o.trigger_price, price - o.trail_distance)
                else:
                    o.trigger_price = min(o.trigger_price, price + o.trail_distance)
        for o in stops:
            if o.status != "Untriggered":
                continue  # deactivated by a sibling on this print
            is_sl = "StopLoss" in o.stop_order_type or o.stop_order_type == "TrailingStop"
            if o.side == "Sell":  # closes a long
                hit = price <= o.trigger_price if is_sl else price >= o.trigger_price
            else:
                hit = price >= o.trigger_price if is_sl else price <= o.trigger_price
            if not hit:
                continue
            o.status = "Triggered"
            pushes.append(self._touch(o))
            if o.order_type == "Market":
                pushes += self._fill(o, price, o.qty, is_maker=False)
            else:
                o.status = "New"
                pushes.append(self._touch(o))
        for o in [o for o in self.orders.values() if o.symbol == symbol and o.status in ("New", "PartiallyFilled")]:
            if o.order_type != "Limit":
                continue
            if o.side == "Buy":
                hit = price < o.price or (self.fill_on_touch and price == o.price)
            else:
                hit = price > o.price or (self.fill_on_touch and price == o.price)
            if hit:
                q = o.leaves_qty
                if self.partial_fills and qty < q:
                    step = self.instruments.get(symbol, {}).get("qtyStep", 0.0)
                    q = math.floor(qty / step + 1e-9) * step if step else qty
                if q > 0:
                    px = o.price
                    if self.fill_worse_ticks and not o.reduce_only:  # (planted: a worse entry price)
                        tick = self.instruments.get(symbol, {}).get("tickSize", 0.0)
                        px = round(px + (1 if o.side == "Buy" else -1) * self.fill_worse_ticks * tick, 10)
                    pushes += self._fill(o, px, q, is_maker=True)
        return pushes

    def _fill(self, o: FakeOrder, price: float, qty: float, is_maker: bool) -> list[tuple[str, dict]]:
        pushes: list[tuple[str, dict]] = []
        pos = self.position(o.symbol)
        if o.reduce_only:
            closing = (pos.size > 0 and o.side == "Sell") or (pos.size < 0 and o.side == "Buy")
            qty = min(qty, abs(pos.size)) if closing else 0.0
            if qty <= 0:
                o.status, o.cancel_type = ("Deactivated" if o.stop_order_type else "Cancelled"), "CancelByReduceOnly"
                return [self._touch(o)]
        fee_rate = self.maker_fee if is_maker else self.taker_fee
        ct = self.contract_value(o.symbol)
        inverse = o.category == "inverse"  # qty in contracts of 1 USD: value, fee and P&L in the coin
        value = qty / price if inverse else price * qty
        fee = value * fee_rate if inverse else price * qty * ct * fee_rate
        now = self.now_ms()
        o.cum_exec_qty += qty
        o.cum_exec_value += price * qty
        o.cum_exec_fee += fee
        o.status = "Filled" if o.cum_exec_qty >= o.qty - 1e-12 else "PartiallyFilled"
        signed = qty if o.side == "Buy" else -qty
        old = pos.size
        closed = 0.0
        if old == 0 or (old > 0) == (signed > 0):
            new = old + signed
            pos.entry_price = (abs(old) * pos.entry_price + qty * price) / abs(new)
            if old == 0:
                pos.created_ms = now
        else:
            closed = min(abs(old), qty)
            if inverse:
                pnl = closed * (1.0 / pos.entry_price - 1.0 / price) * (1 if old > 0 else -1)
            else:
                pnl = (price - pos.entry_price) * closed * ct * (1 if old > 0 else -1)
            pos.cum_realised_pnl += pnl
            self._credit(o.symbol, pnl)
            new = old + signed
            if abs(new) < 1e-12:
                new = 0.0
            elif (new > 0) != (old > 0):
                pos.entry_price = price
        pos.size = new
        self._credit(o.symbol, -fee)
        exec_data = {
            "category": o.category, "symbol": o.symbol, "execFee": fmt_num(fee), "execId": str(uuid.uuid4()),
            "execPrice": fmt_num(price), "execQty": fmt_num(qty), "execType": "Trade", "execValue": fmt_num(value),
            "feeRate": fmt_num(fee_rate), "isMaker": is_maker, "orderId": o.order_id, "orderLinkId": o.order_link_id,
            "orderPrice": fmt_num(o.price), "orderQty": fmt_num(o.qty), "orderType": o.order_type,
            "stopOrderType": o.stop_order_type, "side": o.side, "execTime": str(now), "leavesQty": fmt_num(o.leaves_qty),
            "closedSize": fmt_num(closed), "markPrice": fmt_num(self.last_price.get(o.symbol, price)),
            "seq": next(self._exec_seq),
        }
        self.executions.append(exec_data)
        pushes.append(("execution", exec_data))
        pushes.append(self._touch(o))
        if (o.take_profit or o.stop_loss) and not o.reduce_only:
            pushes += self._attach_tpsl(o)
        if pos.size == 0 and self.auto_deactivate:
            pos.take_profit = pos.stop_loss = pos.trailing_stop = 0.0
            for child in self.open_orders(o.symbol):
                if child.reduce_only or child.stop_order_type:
                    child.status, child.cancel_type = "Deactivated", "CancelByTpSlTsClear"
                    pushes.append(self._touch(child))
        pushes.append(self._pos_push(o.symbol))
        return pushes

    def _attach_tpsl(self, entry: FakeOrder) -> list[tuple[str, dict]]:
        """Create the entry's TP/SL children on its first fill; later fills raise their qty to the filled qty."""
        kids = [c for c in self.orders.values() if c.parent_id == entry.order_id and c.status == "Untriggered"]
        if kids:
            for c in kids:
                c.qty = entry.cum_exec_qty
            return [self._touch(c) for c in kids]
        pushes = []
        pos = self.position(entry.symbol)
        close_side = "Sell" if entry.side == "Buy" else "Buy"
        partial = entry.tpsl_mode == "Partial"
        now = self.now_ms()
        for kind, trig, otype, lim in (("TakeProfit", entry.take_profit, entry.tp_order_type, entry.tp_limit_price),
                                       ("StopLoss", entry.stop_loss, entry.sl_order_type, entry.sl_limit_price)):
            if not trig:
                continue
            child = self._order(
                order_id=str(uuid.uuid4()), order_link_id="", symbol=entry.symbol, side=close_side,
                order_type=otype or "Market", price=lim if otype == "Limit" else 0.0, qty=entry.cum_exec_qty,
                time_in_force="GTC" if otype == "Limit" else "IOC", reduce_only=True, status="Untriggered",
                stop_order_type=("Partial" + kind) if partial else kind, trigger_price=trig,
                tpsl_mode=entry.tpsl_mode, parent_id=entry.order_id, created_ms=now, updated_ms=now,
            )
            self.orders[child.order_id] = child
            pushes.append(self._touch(child))
        pos.take_profit, pos.stop_loss, pos.tpsl_mode = entry.take_profit, entry.stop_loss, entry.tpsl_mode
        return pushes
