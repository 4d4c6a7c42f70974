"""OKX v5 perpetual-swap order gateway, implementing :class:`liqcore.venues.gateway.Gateway`.

* Sizes: the engine speaks base units, OKX contracts of ``ctVal`` (``GET /api/v5/public/instruments``): an
  order's ``sz`` is its qty / ``ctVal`` on the ``lotSz`` grid; symbols ``ETHUSDT`` or the instId ``ETH-USDT-SWAP``.
* Account: ``GET /api/v5/account/config``: the position mode (``posSide`` in long/short mode) and the key's
  permissions (a key without ``trade`` is refused at start, in one line).
* Entries: ``POST /api/v5/trade/order`` (``post_only``; a crossing one comes back canceled, ``cancelSource`` 31:
  ``rejected``), ``clOrdId`` from the client id.  An unknown outcome (a timeout, a 5xx, 50004, 51149:
  :mod:`liqcore.venues.okx.codes`) is asked for by ``clOrdId`` before any resend; an unknown cancel is sent again
  until OKX confirms the order gone.
* Exits: on the entry's fill (pushed, or found by asking) one reduce-only algo (``oco``, or ``conditional`` with
  one level) for the filled contracts; a placement of unknown outcome is asked for by ``algoClOrdId``, and still
  unknown is said lost and placed again or the position closed; what is left is cancelled when flat.
* Private sockets ``/ws/v5/private`` (``orders``, ``positions``) and ``/ws/v5/business`` (``orders-algo``), alive as
  OKX's "WebSocket: Connect" asks (``ping`` after silence, reconnect without ``pong``); after a gap the fills from
  ``GET /api/v5/trade/fills`` booked once, orders re-queried, pending algos polled
  (:mod:`liqcore.venues.okx.recovery`, which also replaces the exits OKX cancels or fails).
* Rate limits as documented (orders 60 / 2 s per instrument, algos 20 / 2 s); every refusal one line naming its
  code; a wrong key, passphrase or secret fails :meth:`start` in one line without the secret.

Why one module: the order protocol, its private sockets and the bracket of exits share one state (the orders and
algos by client id); the recovery after a gap is apart (``recovery``).  The details: docs/how-to/embed-engine.md, "Trading on OKX: `OkxGateway`".
"""
from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from decimal import ROUND_FLOOR, Decimal

import orjson

from liqcore.venues.gateway import Fill, GatewayError, OrderIntent, OrderUpdate, PositionInfo
from liqcore.venues.okx.recovery import OkxRecovery
from liqcore.venues.private_link import StreamStats, receive_alive, wait_connected
from liqcore.venues.ratelimit import SlidingWindowLimiter
from liqcore.venues.gateway_core import SHAPE_ERRORS, TERMINAL as _TERMINAL, VenueGateway, field_float as _f
from liqcore.secrets import Secret, register_secret
from liqcore.venues.instruments import Instrument
from liqcore.venues.numbers import wire_number
from liqcore.venues.okx.codes import CODES as OUTCOMES
from liqcore.venues.okx.rest import (
    BASE_URL,
    OkxAPIError,
    OkxBanned,
    OkxRateLimited,
    OkxREST,
    OkxTransportError,
    explain,
    okx_client_id,
    ws_login_args,
)
from liqcore.venues.okx.stream import inst_id as _inst_id
from liqcore.venues.outcomes import DUPLICATE, RATE_LIMITED, UNKNOWN

__all__ = ["OkxGateway", "parse_order", "business_url", "STATE_MAP", "WS_URLS"]

log = logging.getLogger("liqcore.okx.gateway")

STATE_MAP = {"live": "new", "partially_filled": "partially_filled", "filled": "filled", "canceled": "cancelled",
             "mmp_canceled": "cancelled"}
#: the private websocket's host of each network (the path ``/ws/v5/private`` is appended)
WS_URLS = {"mainnet": "wss://ws.okx.com:8443", "demo": "wss://wspap.okx.com:8443"}
POST_ONLY_CANCEL = "31"  # cancelSource: "The post-only order will take liquidity in taker orders"
ERR_NO_ORDER, ERR_CANCEL_FAILED, ERR_DUPLICATE = "51603", ("51400", "51401", "51402"), "51016"
_LOGIN_ERRORS = {"60005": "invalid API key", "60024": "wrong API passphrase", "60007": "invalid signature: wrong API secret",
                 "60009": "login failed", "60006": "login timestamp expired: the local clock is off"}


def _dec(x) -> Decimal:
    return Decimal(repr(float(x))) if isinstance(x, float) else wire_number(str(x), Decimal)


def _fmt(d: Decimal) -> str:
    s = format(d.normalize(), "f")
    return s if s not in ("-0", "") else "0"


def parse_order(o: dict, ct_val: float) -> tuple[OrderUpdate, Fill | None]:
    """One ``orders`` channel row -> (OrderUpdate, Fill or None), sizes in base units (contracts x ``ct_val``);
    the client id is the row's ``clOrdId`` (the gateway maps it back to liqcore's).  A post-only order canceled
    because it would take (``cancelSource`` 31) is ``rejected``."""
    st = o.get("state")
    if st not in STATE_MAP:
        raise ValueError(f"state: unknown order state {st!r}")
    side = o.get("side")
    if side not in ("buy", "sell"):
        raise ValueError(f"side: unknown side {side!r}")
    status, reason = STATE_MAP[st], ""
    src = str(o.get("cancelSource") or "")
    if status == "cancelled" and src == POST_ONLY_CANCEL:
        status, reason = "rejected", "post_only: cancelSource 31 (the post-only order would take liquidity)"
    elif status == "cancelled" and src:
        reason = f"cancelSource {src}"
    ts = wire_number(o.get("uTime") or 0, int) * 1_000_000
    ct = _dec(ct_val)

    def base(k: str) -> float:  # contracts x ctVal, exact in decimal (3 x 0.1 is 0.3)
        return float(_dec(_f(o, k)) * ct)

    u = OrderUpdate(str(o.get("clOrdId") or ""), status, str(o.get("instId") or ""), str(o.get("ordId") or ""), side,
                    _f(o, "px"), base("sz"), base("accFillSz"), _f(o, "avgPx"), reason, "entry", ts)
    fill = None
    if o.get("tradeId") and _f(o, "fillSz") > 0:
        fill = Fill(u.client_id, u.symbol, side, _f(o, "fillPx"), base("fillSz"), -_f(o, "fillFee"),
                    o.get("execType") == "M", f"{o.get('instId')}-{o.get('tradeId')}",
                    "entry", wire_number(o.get("fillTime") or o.get("uTime") or 0, int) * 1_000_000)
    return u, fill


def business_url(private_url: str) -> str:
    """The business websocket (``orders-algo``) beside a private one: OKX v5 "Overview, Production Trading
    Services" lists ``wss://ws.okx.com:8443/ws/v5/private`` and ``.../ws/v5/business`` on one host (demo
    trading: ``wspap.okx.com:8443``, the same paths)."""
    u = private_url.rstrip("/")
    return u[: -len("/private")] + "/business" if u.endswith("/private") else u + "/business"


class OkxGateway(OkxRecovery, VenueGateway):
    name = "okx"
    log = log
    client_id_name = "OKX clOrdId"

    def __init__(self, api_key: str | Secret, api_secret: str | Secret, passphrase: str | Secret, rest_url: str = BASE_URL,
                 private_ws_url: str | None = None, *, symbols: list[str] | None = None, network: str = "mainnet",
                 td_mode: str = "cross", timeout: float = 5.0, max_create_attempts: int = 4, retry_backoff: float = 0.2,
                 connect_timeout: float = 10.0, reconnect_max: float = 10.0, ping_interval: float = 20.0,
                 business_ws_url: str | None = None, reconcile_s: float = 5.0) -> None:
        if not reconcile_s > 0:
            raise ValueError(f"reconcile_s: must be > 0 seconds, got {reconcile_s!r}")
        #: the private stream quiet this long while an order or a position is open: the venue is read again
        #: (:meth:`_quiet_reconcile`), as after a reconnect (a mute shorter than the liveness check causes none)
        self.reconcile_s = float(reconcile_s)
        if network == "testnet":
            network = "demo"
        if network not in WS_URLS:
            raise ValueError(f"network: expected mainnet or demo, got {network!r}")
        if td_mode not in ("cross", "isolated"):
            raise ValueError(f"td_mode: expected cross or isolated, got {td_mode!r}")
        self._hold_keys(api_key, api_secret)
        self._passphrase = passphrase if isinstance(passphrase, Secret) else Secret(passphrase)
        register_secret(self._passphrase.reveal())
        self.network, self.td_mode = network, td_mode
        base = (rest_url or BASE_URL).rstrip("/")
        if base.endswith("/api/v5"):
            base = base[: -len("/api/v5")]
        self.rest = OkxREST(self._key, self._secret, self._passphrase, base, demo=network == "demo", timeout=timeout)
        url = (private_ws_url or WS_URLS[network]).rstrip("/")
        scheme_host = url.split("://", 1)[-1]
        self.private_ws_url = url if "/" in scheme_host else url + "/ws/v5/private"
        self.business_ws_url = business_ws_url or business_url(self.private_ws_url)
        self.symbols = list(symbols) if symbols else None
        self.max_create_attempts = int(max_create_attempts)
        self.retry_backoff = float(retry_backoff)
        self.connect_timeout = float(connect_timeout)
        self.reconnect_max = float(reconnect_max)
        self.ping_interval = float(ping_interval)
        self.pos_mode = "net_mode"
        self.perm = ""
        self._okx: dict[str, dict] = {}  # instId -> {"ctVal", "lotSz", "minSz", "tickSz", "instIdCode"} (Decimals)
        self._names: dict[str, str] = {}  # instId -> the symbol name the engine uses
        self._cl: dict[str, str] = {}  # clOrdId / algoClOrdId -> liqcore client id
        self._place_limits: dict[str, SlidingWindowLimiter] = {}
        self._cancel_limits: dict[str, SlidingWindowLimiter] = {}
        self.algo_limiter = SlidingWindowLimiter(20, 2.0)
        self.batch_limiter = SlidingWindowLimiter(15, 2.0)  # 300 orders / 2 s at 20 a request
        self._bracket: dict[str, dict] = {}  # instId -> {"cid", "placed", "algoId", "acl"}
        self._filled_ct: dict[str, Decimal] = {}  # client id -> contracts filled
        self._pos_ct: dict[str, float] = {}
        self._by_ord: dict[str, tuple[str, str]] = {}  # OKX ordId -> (liqcore client id, kind)
        self._foreign: set[str] = set()  # ordIds of fills that are not this gateway's (asked once)
        self._last_rx_ms = time.time() * 1000.0  # when the private stream last said anything (wall ms)
        self._init_stream_state()
        self._fatal: str | None = None
        self.connected = asyncio.Event()
        self.business_connected = asyncio.Event()
        self.reconciled: dict[str, list] = {"orders": [], "positions": []}
        self.stats = {"reconnects": 0, "ambiguous": 0, "create_retries": 0, "duplicates_resolved": 0, "rejected": 0,
                      "brackets": 0, "bad_events": 0, "ping_failures": 0, "callback_errors": 0,
                      "liveness_reconnects": 0, "fills_recovered": 0, "business_reconnects": 0,
                      "exits_lost": 0, "exits_replaced": 0, "exits_closed": 0, "algo_events": 0,
                      "resyncs": 0, "quiet_reconciles": 0}
        self.stream = StreamStats(self.stats)

    # ------------------------------------------------------------------ names and sizes
    def _inst(self, symbol: str) -> str:
        i = _inst_id(symbol)
        self._names.setdefault(i, str(symbol).upper())
        return i

    def _name(self, inst: str) -> str:
        return self._names.get(inst, inst)

    def _spec(self, inst: str) -> dict:
        try:
            return self._okx[inst]
        except KeyError:
            raise ValueError(f"symbol: {inst!r} has no OKX instrument loaded") from None

    def ct_val(self, symbol: str) -> float:
        return float(self._spec(self._inst(symbol))["ctVal"])

    def contracts(self, symbol: str, qty: float, check_min: bool = True) -> str:
        """``qty`` base units as an OKX ``sz`` (contracts, floored to ``lotSz``); ValueError below ``minSz``
        (``check_min=False``: any size, e.g. what a partial fill left)."""
        s = self._spec(self._inst(symbol))
        n = (_dec(qty) / s["ctVal"] / s["lotSz"] + Decimal("1e-9")).to_integral_value(ROUND_FLOOR)
        sz = n * s["lotSz"]
        if check_min and (sz < s["minSz"] or sz <= 0):
            raise ValueError(f"qty: {qty!r} is {_fmt(_dec(qty) / s['ctVal'])} contracts, below OKX minSz {_fmt(s['minSz'])}")
        return _fmt(sz)

    def _px(self, symbol: str, px: float) -> str:
        return self.instrument(symbol).price_str(px)

    def cl_ord_id(self, client_id: str, suffix: str = "") -> str:
        cl = okx_client_id(client_id + suffix)
        self._cl[cl] = client_id
        return cl

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        import aiohttp

        await self._reconcile_at_start(self.load_instruments, (OkxAPIError, OkxTransportError))
        if "trade" not in self.perm.split(","):
            await self.rest.close()
            raise GatewayError(f"okx start failed: the API key may not trade (perm {self.perm or 'none'}): "
                               f"give it the trade permission")
        self._session = aiohttp.ClientSession()
        self._closing, self._fatal = False, None
        self._stream_task = asyncio.create_task(self._stream(), name="okx-private-stream")
        self._spawn(self._stream(business=True))
        if not await wait_connected(self.connected, lambda: self._fatal, self.connect_timeout):
            why = self._fatal or "did not connect"
            await self.close()
            raise GatewayError(f"okx private stream: {why}")
        try:  # the restart check: the exits live among the algo orders, not the open orders
            self.reconciled["algo_orders"] = await self._pending_algos()
        except (OkxAPIError, OkxTransportError) as exc:
            log.warning("okx start: the pending algo orders not listed: %s", exc)
        self._spawn(self._quiet_loop())

    def _open_anything(self) -> bool:
        return super()._open_anything() or bool(self._bracket) or any(q for q in self._pos_ct.values())

    async def _quiet_reconcile(self) -> None:
        """The private stream said nothing for ``reconcile_s`` s with something open: the fills (from the last
        message seen, less :attr:`FILLS_LOOKBACK_MS`), the live orders, the positions and the exit algos are read
        again (:meth:`_resync`; each fill booked once)."""
        await self._resync()

    #: how long the last reading of the fills at :meth:`close` may take (s)
    CLOSE_FILLS_S = 3.0

    async def close(self) -> None:
        """Stop.  A stop while the private socket is open but mute (or down) would lose the fills of that gap,
        never healed by a reconnect: the fills are read once more (``GET /api/v5/trade/fills``, booked once, the
        same as after a reconnect) within :attr:`CLOSE_FILLS_S`, then the sockets and the session close."""
        if self._session is not None and not self._closing:
            try:
                await asyncio.wait_for(self._missed_fills(), self.CLOSE_FILLS_S)
            except (OkxAPIError, OkxTransportError, GatewayError, asyncio.TimeoutError) as exc:
                log.warning("okx stop: the fills since the last private message could not be read: %s",
                            exc or type(exc).__name__)
            try:
                await asyncio.wait_for(self._stray_algos(), self.CLOSE_FILLS_S)
            except asyncio.TimeoutError:
                log.error("okx stop: the exits of closed positions not all cancelled in time")
        await self._stop_tasks()

    async def _pending_algos(self) -> list[dict]:
        """The algo orders OKX holds pending (``GET /api/v5/trade/orders-algo-pending``, the ``oco`` and
        ``conditional`` ones: a bracket's take-profit / stop-loss); raises on a failed read."""
        rows: dict[str, dict] = {}
        for ord_type in ("oco", "conditional"):
            got = await self.rest.request("GET", "/api/v5/trade/orders-algo-pending", {"ordType": ord_type})
            rows.update((str(r.get("algoId")), r) for r in got or [] if isinstance(r, dict))
        return list(rows.values())

    async def _stray_algos(self) -> int:
        """At the stop: this session's take-profit / stop-loss algos (their ``algoClOrdId`` ours) that OKX still
        holds for a flat position, read from OKX (the pending algos, then the positions), cancelled: the task that
        clears a closed position's exits is cancelled with the others.  Returns how many."""
        try:
            ours = [r for r in await self._pending_algos() if str(r.get("algoClOrdId") or "") in self._cl]
            if not ours:
                return 0
            await self.positions()
        except (OkxAPIError, OkxTransportError, GatewayError) as exc:
            log.warning("okx stop: the pending algo orders not listed: %s", exc)
            return 0
        n = 0
        for r in ours:
            inst = str(r.get("instId") or "")
            if self._pos_ct.get(inst) or not r.get("algoId"):
                continue
            log.warning("okx %s: exit algo %s rests with the position flat: cancelled", inst, r.get("algoClOrdId"))
            n += await self._cancel_algo(inst, str(r["algoId"]), self._cl[str(r["algoClOrdId"])])
        return n

    async def load_instruments(self) -> dict[str, Instrument]:
        rows = await self.rest.request("GET", "/api/v5/public/instruments", {"instType": "SWAP"}, signed=False)
        wanted = {self._inst(s) for s in self.symbols} if self.symbols else None
        for r in rows or []:
            try:
                inst = str(r["instId"])
                if wanted is not None and inst not in wanted:
                    continue
                if str(r.get("ctType") or "") == "inverse":  # ctVal in USD, settled in the coin: not sized here
                    if wanted is not None:
                        raise GatewayError(f"okx: {inst} is an inverse (coin-margined) swap, not traded live (the "
                                           "gateway sizes linear swaps); backtests take it")
                    continue
                spec = {k: wire_number(str(r[k]), Decimal) for k in ("ctVal", "lotSz", "minSz", "tickSz")}
                if min(spec.values()) <= 0:
                    raise ValueError
                spec["instIdCode"] = r.get("instIdCode")
            except (KeyError, TypeError, ValueError, ArithmeticError):
                self.stats["bad_events"] += 1
                continue
            self._okx[inst] = spec
            name = self._name(inst)
            ins = Instrument(name, float(spec["tickSz"]), float(spec["lotSz"] * spec["ctVal"]),
                             float(spec["minSz"] * spec["ctVal"]))
            for alias in {name, inst, inst.replace("-SWAP", "").replace("-", "")}:  # ETHUSDT and ETH-USDT-SWAP alike
                self._instruments[alias] = ins if alias == name else Instrument(alias, ins.tick_size, ins.qty_step, ins.min_qty)
        cfg = (await self.rest.request("GET", "/api/v5/account/config") or [{}])[0]
        self.pos_mode, self.perm = str(cfg.get("posMode") or "net_mode"), str(cfg.get("perm") or "")
        return dict(self._instruments)

    # ------------------------------------------------------------------ orders
    def _limiter(self, table: dict, inst: str) -> SlidingWindowLimiter:
        lim = table.get(inst)
        if lim is None:
            lim = table[inst] = SlidingWindowLimiter(60, 2.0)
        return lim

    def _pos_side(self, side: str, closing: bool) -> str | None:
        if self.pos_mode != "long_short_mode":
            return None
        if closing:
            return "long" if side == "sell" else "short"
        return "long" if side == "buy" else "short"

    def order_body(self, intent: OrderIntent) -> dict:
        """The ``POST /api/v5/trade/order`` body of ``intent`` (ValueError naming a bad field)."""
        self.check_intent(intent)
        inst = self._inst(intent.symbol)
        closing = intent.reduce_only or intent.kind in ("exit", "tp", "sl")
        b = {"instId": inst, "tdMode": self.td_mode, "side": intent.side, "clOrdId": self.cl_ord_id(intent.client_id),
             "sz": self.contracts(intent.symbol, intent.qty)}
        if intent.order_type == "market":
            b["ordType"] = "market"
        else:
            if not (intent.price > 0 and math.isfinite(intent.price)):
                raise ValueError(f"price: must be > 0 for a limit order, got {intent.price!r}")
            b["ordType"] = "post_only" if intent.post_only else "limit"
            b["px"] = self._px(intent.symbol, intent.price)
        ps = self._pos_side(intent.side, closing)
        if ps is not None:
            b["posSide"] = ps
        elif intent.reduce_only:
            b["reduceOnly"] = True
        return b

    def ws_order_args(self, intent: OrderIntent) -> dict:
        """The ``args[0]`` of the private websocket's ``order`` op: the REST body with ``instIdCode`` (an integer
        from the instrument list) in place of ``instId``, as OKX wants on the websocket since 2026."""
        b = self.order_body(intent)
        code = self._spec(b.pop("instId"))["instIdCode"]
        if code is None:
            raise ValueError(f"symbol: {intent.symbol} has no instIdCode in the instrument list")
        return {"instIdCode": int(code), **b}

    def _update(self, cid: str, kind: str, u: OrderUpdate) -> OrderUpdate:
        return OrderUpdate(cid, u.status, self._name(u.symbol), u.venue_order_id, u.side, u.price, u.qty, u.filled_qty,
                           u.avg_price, u.reason, kind, u.ts_ns)

    async def place(self, intent: OrderIntent) -> OrderUpdate:
        body = self.order_body(intent)
        inst = body["instId"]
        self._intents[intent.client_id] = intent
        if intent.kind == "entry" and (intent.take_profit or intent.stop_loss):
            self._retire_bracket(inst)  # (the previous position's exits: cancelled)
            self._bracket[inst] = {"cid": intent.client_id, "placed": False, "algoId": "", "acl": ""}
        return await self._creating(intent.client_id, self._create(intent, body, inst))

    async def _create(self, intent: OrderIntent, body: dict, inst: str) -> OrderUpdate:
        cid, kind = intent.client_id, intent.kind
        for attempt in range(1, self.max_create_attempts + 1):
            if (u := self._cancelled_unsent(intent, attempt)) is not None:  # (cancelled while unanswered)
                return u
            try:
                rows = await self.rest.request("POST", "/api/v5/trade/order", body=body,
                                               limiter=self._limiter(self._place_limits, inst))
            except OkxBanned as exc:
                raise GatewayError(f"okx create {cid}: not sent: {exc}") from None
            except (OkxAPIError, OkxTransportError) as exc:
                if (done := await self._after_create_error(intent, attempt, exc, self._query)) is None:
                    continue
                return done
            if (known := self._answered(cid, kind)) is not None:
                return known  # (its push came first)
            r = rows[0] if rows else {}
            u = OrderUpdate(cid, "new", intent.symbol, str(r.get("ordId") or ""), intent.side, intent.price, intent.qty,
                            kind=kind, ts_ns=time.time_ns())
            self._orders[(cid, kind)] = u
            return u
        raise GatewayError(f"okx create {cid}: not placed")  # pragma: no cover - the loop returns or raises

    def _create_error(self, exc: BaseException) -> tuple[str, str]:
        """OKX's answer sorted by :data:`liqcore.venues.okx.codes.CODES`: a code documented as "outcome unknown"
        (50004, 51149, a 5xx) reaches here as :class:`OkxTransportError` (never a refusal)."""
        if isinstance(exc, OkxRateLimited):
            return "rate_limited", str(exc)
        if isinstance(exc, OkxAPIError):
            what = OUTCOMES.what(exc.code)
            return ("duplicate" if what == DUPLICATE else "rate_limited" if what == RATE_LIMITED else "refused",
                    explain(exc.code, exc.msg))
        return "unknown", exc.reason

    async def _query(self, symbol: str, cid: str, required: bool = False) -> OrderUpdate | None:
        inst, last = self._inst(symbol), ""
        for i in range(4):
            try:
                rows = await self.rest.request("GET", "/api/v5/trade/order", {"instId": inst, "clOrdId": okx_client_id(cid)})
            except OkxAPIError as exc:
                if exc.code == ERR_NO_ORDER:
                    return None
                last = str(exc)
                if not isinstance(exc, OkxRateLimited):
                    break
            except OkxTransportError as exc:
                last = str(exc)
            else:
                if not rows:
                    return None
                u, _ = parse_order(rows[0], float(self._spec(inst)["ctVal"]))
                kind = self._intents[cid].kind if cid in self._intents else u.kind
                u = self._update(cid, kind, u)
                self._orders[(cid, kind)] = u
                br = self._bracket.get(inst)
                if kind == "entry" and br is not None and br["cid"] == cid and not br["placed"]:
                    # (a fill found by asking, e.g. a cancel refused as the entry filled while the socket was
                    # mute: the exits go out now, not after the reconnect, which finds the order final)
                    self._spawn(self._after_entry_state(inst, cid, u))
                return u
            await asyncio.sleep(self.retry_backoff * (i + 1))
        if required:
            raise GatewayError(f"okx query {cid}: no answer from the venue ({last})")
        return None

    async def query(self, symbol: str, client_id: str) -> OrderUpdate | None:
        return await self._query(symbol, client_id, required=True)

    async def cancel(self, symbol: str, client_id: str) -> OrderUpdate:
        """Cancel by clOrdId.  A cancel whose outcome is unknown (a timeout, a 5xx, 50004) is never reported
        done: the order is queried and, while OKX still holds it live, the cancel sent again (``max_create_attempts``
        times, backing off); still unknown after that: :class:`GatewayError` (the order manager asks again).  A
        cancel while the create is unanswered waits for it (:meth:`_wait_created`): the create is not sent again."""
        return (await self._cancel_one(symbol, client_id))[1]

    async def _cancel_one(self, symbol: str, client_id: str) -> tuple[str, OrderUpdate]:
        """:meth:`cancel` with its outcome as a batch item's: ``accepted`` and the order's state (whatever its status:
        a create refused, a post-only canceled by OKX is ``rejected``), or ``not_found`` and the refusal (51400-51402
        and OKX holds no such order)."""
        if (known := await self._wait_created(client_id)) is not None:  # (its create was unanswered: now final)
            return "accepted", known
        inst = self._inst(symbol)
        last = ""
        for attempt in range(1, self.max_create_attempts + 1):
            try:
                await self.rest.request("POST", "/api/v5/trade/cancel-order",
                                        body={"instId": inst, "clOrdId": okx_client_id(client_id)},
                                        limiter=self._limiter(self._cancel_limits, inst))
            except (OkxRateLimited, OkxBanned) as exc:
                raise GatewayError(f"okx cancel {client_id}: not sent: {exc}") from None
            except OkxAPIError as exc:
                found = await self._query(symbol, client_id)
                if found is not None and found.status in _TERMINAL:
                    return "accepted", found
                if found is None and exc.code in ERR_CANCEL_FAILED:
                    return "not_found", OrderUpdate(client_id, "rejected", symbol, reason=explain(exc.code, exc.msg),
                                                    ts_ns=time.time_ns())
                raise GatewayError(f"okx cancel {client_id}: {exc}") from None
            except OkxTransportError as exc:
                last = exc.reason
                self.stats["ambiguous"] += 1
                log.warning("okx cancel %s: outcome unknown (%s); asking the venue", client_id, exc.reason)
                try:
                    found = await self._query(symbol, client_id, required=True)
                except GatewayError as qexc:
                    last = f"{exc.reason}; {qexc}"
                    found = None
                else:
                    if found is None or found.status in _TERMINAL:  # gone (or never there): what OKX holds
                        if found is not None:
                            await self._after_entry_state(inst, client_id, found)
                            return "accepted", found
                        return "accepted", OrderUpdate(client_id, "cancelled", symbol, kind=self._intents[client_id].kind
                                                       if client_id in self._intents else "entry", ts_ns=time.time_ns())
                await asyncio.sleep(self.retry_backoff * attempt)
                continue
            break
        else:
            raise GatewayError(f"okx cancel {client_id}: outcome unknown after {self.max_create_attempts} attempts ({last})")
        u = await self._query(symbol, client_id)
        if u is None:
            return "accepted", OrderUpdate(client_id, "cancelled", symbol, kind=self._intents[client_id].kind
                                           if client_id in self._intents else "entry", ts_ns=time.time_ns())
        await self._after_entry_state(inst, client_id, u)
        return "accepted", u

    #: orders per ``POST /api/v5/trade/cancel-batch-orders`` request
    CANCEL_BATCH_MAX = 20

    async def _cancel_batch(self, orders: list[tuple[str, str]]) -> dict[str, tuple[str, OrderUpdate | None]]:
        """Cancel ``[(symbol, client_id)]`` with ``POST /api/v5/trade/cancel-batch-orders`` (up to 20 a request):
        ``client_id -> (outcome, update)``: ``accepted`` with the order's state, ``not_found`` (51400-51402: not
        open), or ``error: ...``.  An item (or a batch) whose outcome is unknown is cancelled one by one
        (:meth:`_cancel_one`): the order's final state is ``accepted`` with it, a ``rejected`` one too, as on the shared
        path.  A cancelled entry that was partly filled gets its take-profit / stop-loss."""
        out: dict[str, tuple[str, OrderUpdate | None]] = {}
        items = list(dict.fromkeys(orders))

        async def one_unknown(s, c):
            try:
                outcome, u = await self._cancel_one(s, c)
            except GatewayError as exc:
                out[c] = (f"error: {exc}", None)
                return
            out[c] = (outcome, u if outcome == "accepted" else None)

        async def one(chunk):
            body = [{"instId": self._inst(s), "clOrdId": okx_client_id(c)} for s, c in chunk]
            try:
                rows = await self.rest.request("POST", "/api/v5/trade/cancel-batch-orders", body=body,
                                               limiter=self.batch_limiter)
            except OkxAPIError as exc:
                rows = exc.data if isinstance(exc.data, list) and len(exc.data) == len(chunk) else None
                if rows is None:
                    for _, c in chunk:
                        out[c] = (f"error: {exc}", None)
                    return
            except OkxTransportError:  # the whole batch's outcome unknown: each order cancelled until OKX confirms
                for s, c in chunk:
                    await one_unknown(s, c)
                return
            for (s, c), r in zip(chunk, rows):
                code = str((r or {}).get("sCode") or "0")
                if OUTCOMES.what(code) == UNKNOWN:  # this item's outcome unknown (50004, 51149 ...)
                    await one_unknown(s, c)
                elif code in ERR_CANCEL_FAILED:
                    out[c] = ("not_found", None)
                elif code != "0":
                    out[c] = (f"error: {explain(code, (r or {}).get('sMsg', ''))}", None)
                else:
                    u = await self._query(s, c)
                    out[c] = ("accepted", u)
                    if u is not None:
                        await self._after_entry_state(self._inst(s), c, u)

        await asyncio.gather(*(one(items[i:i + self.CANCEL_BATCH_MAX]) for i in range(0, len(items), self.CANCEL_BATCH_MAX)))
        return out

    async def close_position(self, symbol: str, client_id: str) -> OrderUpdate:
        inst = self._inst(symbol)
        try:
            rows = await self.rest.request("GET", "/api/v5/account/positions", {"instType": "SWAP", "instId": inst})
        except (OkxAPIError, OkxTransportError) as exc:
            raise GatewayError(f"okx close_position {symbol}: {exc}") from None
        # long/short mode: each leg is a row with a positive pos and its posSide (OKX v5 "Get positions"); the leg
        # closed is the open one, with its own posSide ("Close positions": posSide required in long/short mode)
        legs = [-abs(_f(r, "pos")) if r.get("posSide") == "short" else _f(r, "pos")
                for r in rows or [] if r.get("instId") == inst and _f(r, "pos")]
        pos = sum(legs) if self.pos_mode != "long_short_mode" else max(legs, key=abs, default=0.0)
        if pos == 0:
            return OrderUpdate(client_id, "rejected", symbol, reason="no_position", kind="exit", ts_ns=time.time_ns())
        qty = float(_dec(abs(pos)) * self._spec(inst)["ctVal"])
        return await self.place(OrderIntent(symbol, "sell" if pos > 0 else "buy", qty, 0.0, client_id, post_only=False,
                                            reduce_only=True, kind="exit", order_type="market"))

    async def open_orders(self) -> list[OrderUpdate]:
        try:
            rows = await self.rest.request("GET", "/api/v5/trade/orders-pending", {"instType": "SWAP"})
        except (OkxAPIError, OkxTransportError) as exc:
            raise GatewayError(f"okx open_orders: {exc}") from None
        out = []
        for r in rows or []:
            try:
                ct = float(self._okx[r["instId"]]["ctVal"]) if r.get("instId") in self._okx else 1.0
                u, _ = parse_order(r, ct)
            except (ValueError, KeyError):
                self.stats["bad_events"] += 1
                continue
            cid = self._cl.get(u.client_id, u.client_id)
            out.append(self._update(cid, self._intents[cid].kind if cid in self._intents else "entry", u))
        return out

    async def positions(self) -> list[PositionInfo]:
        try:
            rows = await self.rest.request("GET", "/api/v5/account/positions", {"instType": "SWAP"})
        except (OkxAPIError, OkxTransportError) as exc:
            raise GatewayError(f"okx positions: {exc}") from None
        out = []
        for inst in list(self._pos_ct):
            self._pos_ct[inst] = 0.0
        for r in rows or []:
            inst = str(r.get("instId") or "")
            pos = _f(r, "pos")
            if r.get("posSide") == "short":
                pos = -abs(pos)
            self._pos_ct[inst] = pos
            if pos and inst in self._okx:
                out.append(PositionInfo(self._name(inst), "buy" if pos > 0 else "sell",
                                        float(_dec(abs(pos)) * self._okx[inst]["ctVal"]), _f(r, "avgPx")))
        return out

    async def equity(self, ccy: str = "USDT") -> float:
        try:
            rows = await self.rest.request("GET", "/api/v5/account/balance", {"ccy": ccy})
        except (OkxAPIError, OkxTransportError) as exc:
            raise GatewayError(f"okx balance: {exc}") from None
        for acct in rows or []:
            for d in acct.get("details") or []:
                if d.get("ccy") == ccy:
                    return _f(d, "eq")
        raise GatewayError(f"okx balance: no {ccy} balance")

    # ------------------------------------------------------------------ take-profit / stop-loss
    async def _after_entry_state(self, inst: str, cid: str, u: OrderUpdate) -> None:
        br = self._bracket.get(inst)
        if u.kind == "entry" and br is not None and br["cid"] == cid and not br["placed"] and (
                u.status == "filled" or (u.status == "cancelled" and u.filled_qty > 0)):
            # (the contracts the venue says filled: a push seen earlier may have said fewer, or 0 while live)
            self._filled_ct[cid] = max(self._filled_ct.get(cid, Decimal(0)),
                                       Decimal(self.contracts(u.symbol, u.filled_qty, check_min=False)))
            await self._protect(inst)

    async def _place_bracket(self, inst: str, suffix: str = "-b") -> bool:
        """Place the take-profit / stop-loss algo of ``inst``'s bracket for the contracts filled (its
        ``algoClOrdId`` the entry's client id + ``suffix``); True once OKX holds it."""
        br = self._bracket.get(inst)
        if br is None or br["placed"]:
            return False
        intent = self._intents.get(br["cid"])
        sz = self._filled_ct.get(br["cid"])
        if intent is None or not sz:
            return False
        br["placed"] = True
        br.pop("unknown", None)
        close = "sell" if intent.side == "buy" else "buy"
        acl = self.cl_ord_id(br["cid"], suffix)
        br["acl"] = acl
        body = {"instId": inst, "tdMode": self.td_mode, "side": close, "sz": _fmt(sz), "algoClOrdId": acl}
        ps = self._pos_side(close, True)
        if ps is not None:
            body["posSide"] = ps
        else:
            body["reduceOnly"] = True
        if intent.take_profit:
            tp = self._px(intent.symbol, intent.take_profit)
            body.update(tpTriggerPx=tp, tpOrdPx=tp, tpTriggerPxType="last")
        if intent.stop_loss:
            body.update(slTriggerPx=self._px(intent.symbol, intent.stop_loss), slOrdPx="-1", slTriggerPxType="last")
        body["ordType"] = "oco" if intent.take_profit and intent.stop_loss else "conditional"
        br["ordType"] = body["ordType"]
        self.stats["brackets"] += 1
        for attempt in range(1, self.max_create_attempts + 1):
            if br["acl"] != acl:  # (a repair placed the bracket again meanwhile: this placement is superseded)
                break
            try:
                rows = await self.rest.request("POST", "/api/v5/trade/order-algo", body=body, limiter=self.algo_limiter)
                if br["acl"] != acl:
                    break
                br["algoId"] = str((rows or [{}])[0].get("algoId") or "")
                return True
            except OkxAPIError as exc:
                if br["acl"] != acl:
                    break
                if exc.code == ERR_DUPLICATE:  # (placed by an earlier attempt whose answer was lost)
                    await self._algo_placed(br, acl)
                    if br["acl"] != acl:
                        break
                    return True
                if isinstance(exc, OkxRateLimited):
                    await asyncio.sleep(self.retry_backoff * attempt)
                    continue
                log.error("okx take-profit/stop-loss of %s rejected: %s", br["cid"], explain(exc.code, exc.msg))
                br["refused"] = explain(exc.code, exc.msg)
                for k in ("tp", "sl"):
                    await self._emit(self._update_cbs, OrderUpdate(br["cid"], "rejected", intent.symbol,
                                                                   reason=explain(exc.code, exc.msg), kind=k, ts_ns=time.time_ns()))
                return False
            except OkxTransportError as exc:
                if br["acl"] != acl:
                    break
                self.stats["ambiguous"] += 1
                br["unknown"] = f"outcome unknown ({exc.reason})"
                if await self._algo_placed(br, acl):
                    return True
                await asyncio.sleep(self.retry_backoff * attempt)
        else:
            log.error("okx take-profit/stop-loss of %s: outcome unknown after %d attempts (%s)", br["cid"],
                      self.max_create_attempts, br.get("unknown", ""))
            br.setdefault("stale", []).append(acl)  # (OKX may hold it after all: cancelled once found, see _cancel_stale)
            return False
        await self._superseded(inst, br, acl)
        return False

    async def _cancel_stale(self, inst: str, br: dict) -> None:
        """Cancel the algos of ``br``'s placements of unknown outcome (``stale`` algoClOrdIds) that OKX holds live
        after all, once the bracket has another algo or the position is flat: no second exit left behind.  One
        still not found out is kept for the next call."""
        for acl in list(br.get("stale") or ()):
            try:
                rows = await self.rest.request("GET", "/api/v5/trade/order-algo", {"algoClOrdId": acl})
                row = (rows or [{}])[0]
                if str(row.get("state") or "") in ("live", "pause") and row.get("algoId"):
                    await self.rest.request("POST", "/api/v5/trade/cancel-algos",
                                            body=[{"instId": inst, "algoId": str(row["algoId"])}], limiter=self.algo_limiter)
            except OkxAPIError as exc:
                if exc.code != ERR_NO_ORDER and exc.code not in ERR_CANCEL_FAILED:
                    continue
            except OkxTransportError:
                continue
            br["stale"] = [a for a in br["stale"] if a != acl]  # (another call may have found it out meanwhile)

    async def _algo_placed(self, br: dict, acl: str) -> bool:
        """Whether OKX holds the algo ``acl`` whose placement had an unknown outcome, asked for by ``algoClOrdId``
        (OKX v5 "Get algo order details", ``GET /api/v5/trade/order-algo``: ``algoId`` or ``algoClOrdId``; 51603
        when there is none).  Found: its ``algoId`` kept (one ended already goes the lost-exit way)."""
        try:
            rows = await self.rest.request("GET", "/api/v5/trade/order-algo", {"algoClOrdId": acl})
        except OkxAPIError as exc:
            if exc.code != ERR_NO_ORDER:
                log.warning("okx algo %s: not found out (%s)", acl, exc)
            return False
        except OkxTransportError as exc:
            log.warning("okx algo %s: not found out (%s)", acl, exc.reason)
            return False
        row = (rows or [{}])[0]
        if not row.get("algoId") or br["acl"] != acl:  # (none, or a placement a repair superseded meanwhile)
            return False
        br["algoId"] = str(row["algoId"])
        if str(row.get("state") or "") not in ("live", "pause", "effective", "partially_effective"):
            self._spawn(self._on_algo(row))
        return True

    async def _protect(self, inst: str) -> None:
        """Place ``inst``'s take-profit / stop-loss on the entry's fill; a placement whose outcome stays unknown
        after every attempt is not left in silence: the position's exits are said lost and placed again, or the
        position closed, within :attr:`EXIT_CONFIRM_S` (:meth:`_exit_lost`, the rule of an exit OKX ends)."""
        br = self._bracket.get(inst)
        placed = await self._place_bracket(inst)
        if br is not None and br["placed"] and self._bracket.get(inst) is not br:
            await self._cancel_exits(inst, br)  # (cleared or retired meanwhile: no exit may outlive it)
            return
        if placed or br is None:
            return
        if br["placed"] and not br.get("algoId") and br.get("unknown") and not br.get("refused"):
            if br.get("acl") and await self._algo_placed(br, br["acl"]):  # (asked once more: OKX up again)
                return
            await self._exit_lost(inst, br, f"the take-profit/stop-loss placement's {br['unknown']} after "
                                            f"{self.max_create_attempts} attempts")

    async def _clear_bracket(self, inst: str) -> None:
        """Cancel what is left of ``inst``'s take-profit / stop-loss algo (the position is flat).  A cancel whose
        outcome is unknown is never taken as done: the algo is asked for (``GET /api/v5/trade/order-algo``) and
        the cancel sent again while OKX still holds it live (``max_create_attempts`` times)."""
        br = self._bracket.pop(inst, None)
        if br is not None:
            await self._cancel_exits(inst, br)

    async def _cancel_exits(self, inst: str, br: dict) -> None:
        """Cancel what is left of the bracket ``br``'s algo (and of placements of unknown outcome)."""
        if br.get("stale"):
            await self._cancel_stale(inst, br)
        if br.get("algoId"):
            await self._cancel_algo(inst, br["algoId"], br["cid"])

    async def _cancel_algo(self, inst: str, algo_id: str, cid: str) -> bool:
        """Cancel the algo ``algo_id`` (``cid``'s take-profit / stop-loss).  A cancel whose outcome is unknown is
        never taken as done: the algo is asked for (``GET /api/v5/trade/order-algo``) and the cancel sent again
        while OKX still holds it live (``max_create_attempts`` times).  True once OKX holds it live no more."""
        last = ""
        for attempt in range(1, self.max_create_attempts + 1):
            try:
                await self.rest.request("POST", "/api/v5/trade/cancel-algos",
                                        body=[{"instId": inst, "algoId": algo_id}], limiter=self.algo_limiter)
                return True
            except (OkxAPIError, OkxTransportError) as exc:
                if isinstance(exc, OkxAPIError) and OUTCOMES.what(exc.code) not in (UNKNOWN, RATE_LIMITED):
                    if exc.code not in ERR_CANCEL_FAILED:
                        log.warning("okx cancel of the take-profit/stop-loss of %s failed: %s", cid, exc)
                        return False
                    return True
                last = exc.reason if isinstance(exc, OkxTransportError) else f"{exc.code} {exc}"
                try:
                    rows = await self.rest.request("GET", "/api/v5/trade/order-algo", {"algoId": algo_id})
                    if not rows or str(rows[0].get("state")) not in ("live", "pause"):
                        return True  # (gone: cancelled by that request, or triggered)
                except (OkxAPIError, OkxTransportError):
                    pass
                await asyncio.sleep(self.retry_backoff * attempt)
        log.error("okx cancel of the take-profit/stop-loss of %s: outcome unknown after %d attempts (%s); algo %s may "
                  "still be live", cid, self.max_create_attempts, last, algo_id)
        return False

    # ------------------------------------------------------------------ private stream
    async def _on_order(self, row: dict) -> None:
        inst = str(row.get("instId") or "")
        if inst not in self._okx:
            return
        u, fill = parse_order(row, float(self._okx[inst]["ctVal"]))
        acl = str(row.get("algoClOrdId") or "")
        if acl and acl in self._cl:  # an order our take-profit / stop-loss created when triggered
            cid, kind = self._cl[acl], ("tp" if row.get("ordType") == "limit" else "sl")
        else:
            cid = self._cl.get(u.client_id, u.client_id)
            kind = self._intents[cid].kind if cid in self._intents else ("exit" if row.get("reduceOnly") == "true" else "entry")
        u = self._update(cid, kind, u)
        self._orders[(cid, kind)] = u
        if u.venue_order_id:
            self._by_ord[u.venue_order_id] = (cid, kind)
        await self._emit(self._update_cbs, u)
        if fill is not None and self._first_seen(fill.exec_id):
            await self._emit(self._fill_cbs, Fill(cid, u.symbol, fill.side, fill.price, fill.qty, fill.fee, fill.is_maker,
                                                  fill.exec_id, kind, fill.ts_ns))
        if kind == "entry":
            self._filled_ct[cid] = _dec(row.get("accFillSz") or "0")
            br = self._bracket.get(inst)
            if br is not None and br["cid"] == cid and not br["placed"] and (
                    u.status == "filled" or (u.status == "cancelled" and u.filled_qty > 0)):
                self._spawn(self._protect(inst))

    async def _handle(self, msg: dict) -> None:
        arg = msg.get("arg") or {}
        ch = arg.get("channel")
        if "event" in msg:
            if msg["event"] == "error":
                log.warning("okx private stream: %s", explain(msg.get("code"), msg.get("msg", "")))
            return
        for row in msg.get("data") or []:
            if not isinstance(row, dict):
                self.stats["bad_events"] += 1
                continue
            if ch == "orders":
                try:
                    await self._on_order(row)
                except (ValueError, TypeError, KeyError, ArithmeticError) as exc:  # one bad row: counted, the rest go on
                    self.stats["bad_events"] += 1
                    log.warning("okx order event dropped: %s", exc)
            elif ch == "orders-algo":
                try:
                    await self._on_algo(row)
                except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
                    self.stats["bad_events"] += 1
                    log.warning("okx algo event dropped: %s", exc)
            elif ch == "positions":
                inst = str(row.get("instId") or "")
                try:
                    pos = _f(row, "pos")
                except ValueError:
                    self.stats["bad_events"] += 1
                    continue
                prev = self._pos_ct.get(inst, 0.0)
                self._pos_ct[inst] = pos
                br = self._bracket.get(inst)
                if pos == 0 and prev != 0 and br is not None and br["placed"]:
                    self._spawn(self._clear_bracket(inst))

    async def _login(self, ws, channels=("orders", "positions")) -> None:
        import aiohttp

        args = ws_login_args(self._key, self._secret, self._passphrase, self.rest.now_ms() // 1000)
        await ws.send_str(orjson.dumps({"op": "login", "args": [args]}).decode())
        subs = set(channels)
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError("closed during login")
            if msg.data == "pong":
                continue
            ev = orjson.loads(msg.data)
            if ev.get("event") == "login":
                await ws.send_str(orjson.dumps({"op": "subscribe", "args": [
                    {"channel": c, "instType": "SWAP"} for c in sorted(subs)]}).decode())
            elif ev.get("event") == "subscribe":
                subs.discard((ev.get("arg") or {}).get("channel"))
                if not subs:
                    return
            elif ev.get("event") == "error":
                code = str(ev.get("code"))
                if code in _LOGIN_ERRORS:
                    self._fatal = f"login refused: {code} {_LOGIN_ERRORS[code]}"
                    raise PermissionError(self._fatal)
                raise ConnectionError(explain(code, ev.get("msg", "")))

    async def _receive(self, ws, business: bool = False):
        """The next message of a private socket, under OKX's liveness rule (OKX v5 "WebSocket: Connect": when no
        message comes within N < 30 s send the text ``ping`` and expect ``pong`` within N s, else reconnect; N is
        ``ping_interval``).  Any message counts as alive; no message after the ping: ConnectionError."""
        msg = await receive_alive(ws, self.ping_interval, lambda: ws.send_str("ping"), self.stats)
        if not business:
            self._last_rx_ms = time.time() * 1000.0  # (where the private stream's next gap starts)
        return msg

    async def _stream(self, business: bool = False) -> None:
        """One private connection, kept up: ``/ws/v5/private`` (``orders``, ``positions``; a reconnect resyncs)
        or, ``business``, ``/ws/v5/business`` (``orders-algo``; a reconnect polls the pending algos)."""
        import aiohttp

        url, channels, up = ((self.business_ws_url, ("orders-algo",), self.business_connected) if business
                             else (self.private_ws_url, ("orders", "positions"), self.connected))
        backoff, ever = 0.1, False
        while not self._closing:
            try:
                async with self._session.ws_connect(url, heartbeat=None,
                                                    timeout=aiohttp.ClientWSTimeout(ws_close=1.0)) as ws:
                    await asyncio.wait_for(self._login(ws, channels), self.connect_timeout)
                    if ever:
                        self.stats["business_reconnects" if business else "reconnects"] += 1
                        self._spawn(self._poll_algos() if business else self._resync())
                    ever, backoff = True, 0.1
                    up.set()
                    while True:
                        msg = await self._receive(ws, business)
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            if msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                            aiohttp.WSMsgType.CLOSING):
                                break
                            continue
                        if msg.data == "pong":
                            continue
                        if not business:
                            self._heard()
                        try:
                            ev = orjson.loads(msg.data)
                            await self._handle(ev if isinstance(ev, dict) else {})
                        except (orjson.JSONDecodeError, *SHAPE_ERRORS) as exc:
                            self.stats["bad_events"] += 1
                            log.warning("okx private event dropped: %s", exc)
            except asyncio.CancelledError:
                raise
            except PermissionError:
                break
            except (aiohttp.ClientError, ConnectionError, OSError, asyncio.TimeoutError, orjson.JSONDecodeError) as exc:
                if not self._closing:
                    log.warning("okx %s stream down (%s: %s); reconnecting in %.2f s", "business" if business else "private",
                                type(exc).__name__, exc, backoff)
            finally:
                up.clear()
            if self._closing:
                break
            await asyncio.sleep(backoff * (1 + 0.2 * random.random()))
            backoff = min(backoff * 2, self.reconnect_max)

    async def _resync(self) -> None:
        """After a reconnect: book the fills missed during the gap (:meth:`_missed_fills`), re-query the orders
        still believed live (their missed changes are reported; an entry filled meanwhile gets its take-profit /
        stop-loss at once) and the positions (a position closed meanwhile clears its take-profit / stop-loss)."""
        since = self._last_rx_ms
        try:
            await self._missed_fills(since)
        except (OkxAPIError, OkxTransportError) as exc:
            log.warning("okx private stream gap: the missed fills could not be fetched (%s); asking again", exc)
            self._spawn(self._missed_fills_until_read(since, exc))
        for _kind, u in await self._requery_live(self._query):
            await self._after_entry_state(self._inst(u.symbol), u.client_id, u)
        try:
            await self.positions()
        except GatewayError:
            self.stats["resyncs"] += 1
            return
        for inst, br in list(self._bracket.items()):
            if br["placed"] and not self._pos_ct.get(inst):
                self._spawn(self._clear_bracket(inst))
        await self._poll_algos()  # (an exit OKX ended during the gap: the same rule as its push)
        self.stats["resyncs"] += 1


# ---- the registry's ``gateway`` part (liqcore.venues.registry): what ``liqcore run --live`` builds
#: the class that sends the venue's orders
GATEWAY = OkxGateway


def build(creds, rest_url: str, private_url: str, symbols, network: str, opts: dict) -> OkxGateway:
    """The run's gateway: ``creds`` (:class:`liqcore.secrets.Credentials`), the REST base and private websocket
    (the network's unless given), the symbols traded; ``opts``: none."""
    return OkxGateway(creds.api_key, creds.api_secret, creds.passphrase, rest_url, private_url, symbols=symbols,
                      network=network)
