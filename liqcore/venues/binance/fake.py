"""A fake Binance USD-M futures venue: a real aiohttp server on 127.0.0.1 for the order REST API and the
user-data stream, sharing the matching rules of :mod:`liqcore.venues.fake_book` (post-only checked
against the last trade, resting limits fill on prints strictly through, stops trigger at/through).

The details: docs/maintainers/fakes.md, "A fake Binance USD-M futures venue (liqcore.venues.binance.fake)".
This module is the Binance venue's registry part ``fake`` (:data:`FAKE`).

May import: ``aiohttp``, ``orjson``, the venues' shared ``fake_book``, ``loopback``, ``fake_accounts`` and
``fake_streams`` (the venue layer's; never ``liqcore.testing``) and this venue's ``crash`` (a market-wide crash
on its market stream, handed on to ``liqcore.testing``).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import math
import time
import uuid
from urllib.parse import parse_qsl

import orjson

from liqcore.venues.fake_book import DEFAULT_INSTRUMENTS, FakeOrder, FakeVenue, VenueError, fmt_num
from liqcore.venues.loopback import FakeRequest, HttpFault, LoopbackVenue, RollingCount
from liqcore.venues.binance.crash import CrashPlay, crash_symbols  # (its market stream's crash: handed on)

__all__ = ["FakeBinance", "FAKE", "BINANCE_API_KEY", "BINANCE_API_SECRET", "CrashPlay", "crash_symbols"]

BINANCE_API_KEY = "fake-binance-key-0001"
BINANCE_API_SECRET = "fake-binance-secret-do-not-use"

_STATUS = {"New": "NEW", "PartiallyFilled": "PARTIALLY_FILLED", "Filled": "FILLED", "Cancelled": "CANCELED",
           "Rejected": "REJECTED", "Deactivated": "EXPIRED", "Untriggered": "NEW", "Triggered": "NEW"}
_ALGO_STATUS = {"Untriggered": "NEW", "Triggered": "TRIGGERED", "Deactivated": "CANCELED", "Cancelled": "CANCELED",
                "New": "TRIGGERED", "PartiallyFilled": "TRIGGERED", "Filled": "FINISHED", "Rejected": "REJECTED"}
_ALGO_TYPES = {"TAKE_PROFIT": ("TakeProfit", "Limit"), "TAKE_PROFIT_MARKET": ("TakeProfit", "Market"),
               "STOP": ("StopLoss", "Limit"), "STOP_MARKET": ("StopLoss", "Market")}


#: the conditional types ``POST /fapi/v1/order`` refuses with -4120 since 2025-12 (they go to ``/fapi/v1/algoOrder``)
_CONDITIONAL = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")


class _Err(Exception):
    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


class FakeBinance(LoopbackVenue):
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, api_keys: dict[str, str] | None = None,
                 instruments: dict[str, dict[str, float]] | None = None, time_offset_ms: int = 0,
                 maker_fee: float = 0.0002, taker_fee: float = 0.0005, equity: float = 10_000.0,
                 order_limits=((300, 10.0), (1200, 60.0))) -> None:
        self.host, self.port = host, port
        #: the account's order limits, (orders, seconds) each, counted when a new order arrives (USD-M Futures
        #: "General Info", LIMITS: 300 orders per 10 s and 1,200 per minute by default, each account's own in
        #: exchangeInfo ``rateLimits`` type ORDERS; past one: HTTP 429, -1015 "Too many new orders")
        self.order_limits = [RollingCount(n, s) for n, s in order_limits]
        self.api_keys = dict(api_keys) if api_keys else {BINANCE_API_KEY: BINANCE_API_SECRET}
        self.time_offset_ms = int(time_offset_ms)
        self.venue = FakeVenue(instruments=dict(instruments or DEFAULT_INSTRUMENTS), maker_fee=maker_fee, taker_fee=taker_fee,
                               equity=equity, auto_deactivate=False, clock_ms=self.now_ms)
        self.requests: list[FakeRequest] = []
        self.http_faults: list[HttpFault] = []
        self.listen_keys: dict[str, str] = {}  # listenKey -> api key
        self._ids = itertools.count(10_000_001)
        self._int_id: dict[str, int] = {}  # venue uuid -> Binance integer id
        self._algo_ids: dict[str, int] = {}
        self._triggered: set[str] = set()
        self._pending_exec: dict[str, dict] = {}
        self._conns: list = []  # (ws, transport, allowed events or None: all)
        self.user_urls: list[str] = []
        self._runner = None
        self.stalled = False  # user-stream events are lost while True (the socket stays open)
        #: the user stream open but mute: no event pushed and no pong to the client's pings (User Data Streams:
        #: a connection that stops answering; the client's liveness rule must find it)
        self.mute_user_stream = False
        #: v2 account endpoints answer the retirement error (-5000 "GET /fapi/v2/balance is retired, please use
        #: GET /fapi/v3/balance", the venue's answer to a retired path, as for v1 in 2023); v3 answers as documented
        self.v2_removed = True
        self._code_faults: list[dict] = []  # the next answers with a venue error code (unknown outcomes)
        self.ban_until = 0.0  # monotonic: every request answered HTTP 418 until then
        self.requests_in_ban = 0  # requests that reached the fake during a ban (each one lengthens a real ban)
        self.keepalive_answers: list[int] = []  # the code of each listenKey keepalive (0: ok, -1125: no such key)
        #: the key and the account its account endpoints report (liqcore.venues.fake_accounts)
        from liqcore.venues.fake_accounts import FakeAccount

        self.account = FakeAccount(maker_fee=maker_fee, taker_fee=taker_fee)
        self.market = None  # its market streams (FakeMarketStream), once started

    # ------------------------------------------------------------------ lifecycle
    @property
    def ws_base(self) -> str:
        return f"ws://{self.host}:{self.port}"

    async def start(self) -> FakeBinance:
        from aiohttp import web

        from liqcore.venues.fake_streams import FakeMarketStream

        app = web.Application()
        app.router.add_get("/private/ws", self._user_ws)
        app.router.add_get("/private/ws/{key}", self._user_ws)
        app.router.add_get("/ws/{key}", self._user_ws)  # (retired: connects, never sends)
        self.market = FakeMarketStream("binance", host=self.host)
        self.market.mount(app)
        app.router.add_route("*", "/{tail:.*}", self._http)
        await self._serve(app)
        return self

    async def stop(self) -> None:
        for _ws, tr, _ev, _k in list(self._conns):
            try:
                tr.abort()
            except Exception:
                pass
        self._conns.clear()
        if self.market is not None:
            await self.market.drop()
        await self._unserve()

    # ------------------------------------------------------------------ controls
    def rate_limit_next(self, k: int = 1, path: str | None = None, retry_after_s: int = 0) -> None:
        self.http_faults.extend(HttpFault("rate_limit", path, status=429, reset_after_ms=retry_after_s * 1000) for _ in range(k))

    # ---- the bad days (each follows the document it names)
    def unknown_outcome_next(self, k: int = 1, path: str = "/fapi/v1/order", method: str = "POST", *, code: int = -1007,
                             status: int = 408, created: bool = True) -> None:
        """The next ``k`` requests to ``method path`` are answered with an unknown outcome: ``-1007`` "Timeout waiting
        for response from backend server. Send status unknown; execution status unknown." (USD-M "Error Codes", 10xx;
        with HTTP 408, "General Info", HTTP Return Codes) or ``-1006`` "An unexpected response was received from the
        message bus. Execution status unknown.".  ``created``: the venue did the request all the same."""
        msg = {-1007: "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
               -1006: "An unexpected response was received from the message bus. Execution status unknown."}[code]
        self._code_faults.extend({"path": path, "method": method, "code": code, "msg": msg, "status": status,
                                  "process": created} for _ in range(k))

    def refuse_next(self, path: str, method: str = "POST", *, code: int = -2019, msg: str = "Margin is insufficient.",
                    status: int = 400) -> None:
        """The next ``method path`` is refused with ``code`` (default -2019 "Margin is insufficient.", USD-M "Error
        Codes", 20xx) and not done."""
        self._code_faults.append({"path": path, "method": method, "code": code, "msg": msg, "status": status,
                                  "process": False})

    def ban_next(self, retry_after_s: float = 5.0, path: str | None = None, method: str | None = None) -> None:
        """The next request (the next ``method path`` when given) and every one after it for ``retry_after_s``
        seconds are answered HTTP 418 with ``Retry-After`` (the seconds left) and -1003 "Way too much request weight
        used; IP banned until %s." ("General Info", HTTP Return Codes and IP Limits: an IP auto-banned after 429s;
        "Error Codes" -1003)."""
        self._ban_next = (float(retry_after_s), path, method)

    def expire_listen_keys(self) -> None:
        """Every listenKey stops existing: the keepalive ``PUT /fapi/v1/listenKey`` answers -1125 "This listenKey
        does not exist." and the connections opened with it receive nothing more (User Data Streams, "Keepalive
        User Data Stream": on -1125, POST /fapi/v1/listenKey for a new key)."""
        self.listen_keys.clear()

    async def venue_cancels_algo(self, client_algo_id: str, status: str = "CANCELED", reason: str = "") -> None:
        """The venue ends a conditional (algo) order that was not triggered, not at the client's request:
        ``ALGO_UPDATE`` with ``X`` = ``CANCELED``, ``EXPIRED`` (system-led cancellation) or ``REJECTED`` (denied by
        the matching engine, e.g. a margin check), shaped as the "Event: Algo Order Update" response example."""
        o = self.venue.order_by_link(client_algo_id)
        if o is None or not o.stop_order_type or o.status != "Untriggered":
            raise KeyError(f"no untriggered algo order {client_algo_id!r}")
        o.status, o.cancel_type = "Deactivated", "CancelByVenue"
        o.updated_ms = self.now_ms()
        now = self.now_ms()
        kind = "TAKE_PROFIT" if o.stop_order_type == "TakeProfit" else "STOP"
        await self._send({"e": "ALGO_UPDATE", "T": now, "E": now, "o": {
            "caid": o.order_link_id, "aid": self._aid(o), "at": "CONDITIONAL",
            "o": kind + ("_MARKET" if o.order_type == "Market" else ""), "s": o.symbol, "S": o.side.upper(), "ps": "BOTH",
            "f": "GTC", "q": fmt_num(o.qty), "X": status, "ai": "", "ap": "0.00000", "aq": "0.00000", "act": "0",
            "tp": fmt_num(o.trigger_price), "p": fmt_num(o.price), "V": "EXPIRE_MAKER", "wt": "CONTRACT_PRICE",
            "pm": "NONE", "cp": False, "pP": False, "R": True, "tt": 0, "gtd": 0, "rm": reason}})

    def drop(self) -> int:
        n = 0
        for _ws, tr, _ev, _k in list(self._conns):
            tr.abort()
            n += 1
        self._conns.clear()
        return n

    def set_last_price(self, symbol: str, price: float) -> None:
        self.venue.last_price[symbol] = float(price)

    def user_streams(self) -> int:
        """The user-data streams (a valid listenKey's) open now: a trading session's private stream."""
        return sum(1 for ws, _tr, _ev, _k in self._conns if not ws.closed)

    async def trade(self, symbol: str, price: float, qty: float = math.inf) -> None:
        await self._push(self.venue.on_trade(symbol, float(price), float(qty)))

    def orders_with_client_id(self, cid: str) -> list[FakeOrder]:
        return [o for o in self.venue.orders.values() if o.order_link_id == cid]

    def requests_to(self, path: str, method: str | None = None) -> list[FakeRequest]:
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    # ------------------------------------------------------------------ wire shapes
    def _iid(self, o: FakeOrder) -> int:
        i = self._int_id.get(o.order_id)
        if i is None:
            i = self._int_id[o.order_id] = next(self._ids)
        return i

    def _aid(self, o: FakeOrder) -> int:
        i = self._algo_ids.get(o.order_id)
        if i is None:
            i = self._algo_ids[o.order_id] = next(self._ids)
        return i

    def _order_json(self, o: FakeOrder) -> dict:
        return {"orderId": self._iid(o), "symbol": o.symbol, "status": _STATUS[o.status], "clientOrderId": o.order_link_id,
                "price": fmt_num(o.price), "avgPrice": fmt_num(o.avg_price), "origQty": fmt_num(o.qty),
                "executedQty": fmt_num(o.cum_exec_qty), "cumQuote": fmt_num(o.cum_exec_value),
                "timeInForce": "GTX" if o.time_in_force == "PostOnly" else o.time_in_force,
                "type": o.order_type.upper(), "reduceOnly": o.reduce_only, "side": o.side.upper(), "positionSide": "BOTH",
                "origType": o.order_type.upper(), "time": o.created_ms, "updateTime": o.updated_ms}

    def _algo_json(self, o: FakeOrder) -> dict:
        kind = "TAKE_PROFIT" if o.stop_order_type == "TakeProfit" else "STOP"
        otype = kind + ("_MARKET" if o.order_type == "Market" else "")
        return {"algoId": self._aid(o), "clientAlgoId": o.order_link_id, "algoType": "CONDITIONAL", "orderType": otype,
                "symbol": o.symbol, "side": o.side.upper(), "algoStatus": _ALGO_STATUS.get(o.status, "NEW"),
                "triggerPrice": fmt_num(o.trigger_price), "price": fmt_num(o.price), "quantity": fmt_num(o.qty),
                "reduceOnly": True, "createTime": o.created_ms, "updateTime": o.updated_ms,
                # ("Query Algo Order": the order the conditional order got in the matching engine once triggered)
                "actualOrderId": str(self._iid(o)) if o.order_id in self._triggered else "",
                "actualPrice": fmt_num(o.avg_price) if o.order_id in self._triggered else ""}

    def _events(self, pushes: list[tuple[str, dict]]) -> list[dict]:
        out = []
        now = self.now_ms()
        for topic, d in pushes:
            if topic == "execution":
                self._pending_exec[d["orderId"]] = d
                continue
            if topic == "position":
                out.append({"e": "ACCOUNT_UPDATE", "E": now, "T": now, "a": {"m": "ORDER", "B": [
                    {"a": "USDT", "wb": fmt_num(self.venue.wallet_balance), "cw": fmt_num(self.venue.wallet_balance)}],
                    "P": [{"s": d["symbol"], "pa": ("-" if d["side"] == "Sell" and d["size"] != "0" else "") + d["size"],
                           "ep": d["entryPrice"], "up": d["unrealisedPnl"], "mt": "cross", "ps": "BOTH"}]}})
                continue
            o = self.venue.orders[d["orderId"]]
            finished = None
            st = d["orderStatus"]  # the state at the time of the push (the order object may have moved on)
            stop, otype = d["stopOrderType"], d["orderType"]
            if stop and o.order_id not in self._triggered:
                kind = "TAKE_PROFIT" if stop == "TakeProfit" else "STOP"
                out.append({"e": "ALGO_UPDATE", "E": now, "T": now, "o": {
                    "caid": o.order_link_id, "aid": self._aid(o), "at": "CONDITIONAL",
                    "o": kind + ("_MARKET" if otype == "Market" else ""), "s": o.symbol, "S": o.side.upper(),
                    "X": _ALGO_STATUS.get(st, "NEW"), "ai": str(self._iid(o)) if st == "Triggered" else "",
                    "ap": "0", "aq": "0", "tp": d["triggerPrice"], "p": d["price"], "q": d["qty"]}})
                if st != "Triggered":
                    continue
                self._triggered.add(o.order_id)  # from now on a real order in the book
                ex, status, exec_type = None, "NEW", "NEW"
            else:
                ex = self._pending_exec.pop(o.order_id, None)
                status = _STATUS[st]
                if stop and o.order_id in self._triggered and status in ("FILLED", "CANCELED", "EXPIRED"):  # the triggered order is done
                    kind = "TAKE_PROFIT" if stop == "TakeProfit" else "STOP"
                    finished = ({"e": "ALGO_UPDATE", "E": now, "T": now, "o": {
                        "caid": o.order_link_id, "aid": self._aid(o), "at": "CONDITIONAL",
                        "o": kind + ("_MARKET" if otype == "Market" else ""), "s": o.symbol, "S": o.side.upper(),
                        "X": "FINISHED", "ai": str(self._iid(o)), "ap": d["avgPrice"] or "0", "aq": d["cumExecQty"],
                        "tp": d["triggerPrice"], "p": d["price"], "q": d["qty"]}})
                exec_type = "TRADE" if ex is not None else {"NEW": "NEW", "CANCELED": "CANCELED", "EXPIRED": "EXPIRED"}.get(status, "NEW")
            ot = ""
            if stop:
                ot = ("TAKE_PROFIT" if stop == "TakeProfit" else "STOP") + ("_MARKET" if otype == "Market" else "")
            out.append({"e": "ORDER_TRADE_UPDATE", "E": now, "T": now, "o": {
                "s": o.symbol, "c": o.order_link_id if not stop else f"algo-{self._aid(o)}",
                "S": o.side.upper(), "o": otype.upper(), "ot": ot or otype.upper(),
                "f": "GTX" if o.time_in_force == "PostOnly" else o.time_in_force, "q": d["qty"], "p": d["price"],
                "ap": d["avgPrice"] or "0", "x": exec_type, "X": status, "i": self._iid(o),
                "l": ex["execQty"] if ex else "0", "z": d["cumExecQty"], "L": ex["execPrice"] if ex else "0",
                "n": ex["execFee"] if ex else "0", "N": "USDT", "T": now, "t": (ex["seq"] if ex else 0),
                "m": bool(ex["isMaker"]) if ex else False, "R": o.reduce_only, "ps": "BOTH"}})
            if finished is not None:  # (after the triggered order's own update)
                out.append(finished)
        return out

    async def _push(self, pushes: list[tuple[str, dict]]) -> None:
        for ev in self._events(pushes):
            await self._send(ev)

    async def _send(self, ev: dict) -> None:
        if self.stalled or self.mute_user_stream:
            return
        data = orjson.dumps(ev).decode()
        for ws, _tr, allowed, key in list(self._conns):
            if allowed is not None and ev.get("e") not in allowed:
                continue  # (the connection's ``events`` allow list)
            if key not in self.listen_keys:
                continue  # (a key that no longer exists: its stream gets nothing)
            try:
                await ws.send_str(data)
            except (ConnectionError, RuntimeError):
                pass

    # ------------------------------------------------------------------ user stream
    async def _user_ws(self, request):
        from aiohttp import WSMsgType, web

        self.user_urls.append(request.path_qs)
        key = request.match_info.get("key") or request.query.get("listenKey", "")
        events = request.query.get("events")
        # (an ``events=`` present but empty allows nothing: as production, which then sends no event)
        allowed = None if events is None else {e for e in events.split("/") if e}
        if request.path.startswith("/ws/"):
            allowed = set()  # the retired unrouted path: connects, and is never sent an event
        ws = web.WebSocketResponse(autoping=False)  # (pongs answered below, unless the stream plays mute)
        await ws.prepare(request)
        if key not in self.listen_keys:
            await ws.close(code=4000, message=b"invalid listenKey")
            return ws
        entry = (ws, request.transport, allowed, key)
        self._conns.append(entry)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
                if msg.type == WSMsgType.PING and not self.mute_user_stream:
                    await ws.pong(msg.data)
                elif msg.type == WSMsgType.CLOSE:
                    break
        finally:
            if entry in self._conns:
                self._conns.remove(entry)
        return ws

    # ------------------------------------------------------------------ REST
    def _auth(self, request, raw_qs: str, signed: bool) -> dict:
        key = request.headers.get("X-MBX-APIKEY")
        if key not in self.api_keys:
            raise _Err(401, -2015, "Invalid API-key, IP, or permissions for action.")
        params = dict(parse_qsl(raw_qs, keep_blank_values=True))
        if not signed:
            return params
        i = raw_qs.rfind("&signature=")
        if i < 0:
            raise _Err(400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
        payload, sig = raw_qs[:i], raw_qs[i + len("&signature="):]
        want = hmac.new(self.api_keys[key].encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, sig):
            raise _Err(400, -1022, "Signature for this request is not valid.")
        try:
            ts, rw = int(params.get("timestamp", "")), int(params.get("recvWindow", "5000"))
        except ValueError:
            raise _Err(400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.") from None
        now = self.now_ms()
        if not (ts < now + 1000 and now - ts <= rw):
            raise _Err(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        return params

    async def _http(self, request):
        from aiohttp import web

        recv_ns = time.time_ns()
        path, method = request.path, request.method
        raw_qs = request.rel_url.raw_query_string
        rec = FakeRequest(method, path, dict(parse_qsl(raw_qs)), None, {}, recv_ns)
        self.requests.append(rec)
        ban = getattr(self, "_ban_next", None)
        if ban is not None and ban[1] in (None, path) and ban[2] in (None, method):
            self.ban_until, self._ban_next = time.monotonic() + ban[0], None
        elif time.monotonic() < self.ban_until:
            self.requests_in_ban += 1
        if time.monotonic() < self.ban_until:
            left = max(1, math.ceil(self.ban_until - time.monotonic()))
            rec.http_status = 418
            until_ms = self.now_ms() + left * 1000
            return web.Response(status=418, body=orjson.dumps({"code": -1003, "msg": f"Way too much request weight used; "
                                                                f"IP banned until {until_ms}. Please use WebSocket "
                                                                f"Streams for live updates to avoid bans."}),
                                content_type="application/json", headers={"Retry-After": str(left)})
        cf = next((f for f in self._code_faults if path == f["path"] and method == f["method"]), None)
        if cf is not None:
            self._code_faults.remove(cf)
            rec.fault = f"code {cf['code']}"
            if cf["process"]:
                try:
                    _result, pushes = self._route(request, method, path, raw_qs)
                except (_Err, VenueError):
                    pushes = []
                await self._push(pushes)
            rec.http_status, rec.ret_code = cf["status"], cf["code"]
            return web.Response(status=cf["status"], body=orjson.dumps({"code": cf["code"], "msg": cf["msg"]}),
                                content_type="application/json")
        fault = None
        for i, f in enumerate(self.http_faults):
            if f.path is None or path.startswith(f.path):
                fault = self.http_faults.pop(i)
                break
        if fault is not None:
            rec.fault = fault.kind
            if fault.kind == "rate_limit":
                rec.http_status = 429
                return web.Response(status=429, body=orjson.dumps({"code": -1003, "msg": "Too many requests."}),
                                    content_type="application/json", headers={"Retry-After": str(fault.reset_after_ms // 1000)})
            if not fault.process:
                if fault.kind == "status":
                    rec.http_status = fault.status
                    return web.Response(status=fault.status, text="Service Unavailable")
                await asyncio.sleep(fault.delay)
        if method == "POST" and path == "/fapi/v1/order":
            over = next((c for c in self.order_limits if c.refuse("orders", recv_ns)), None)
            if over is not None:
                rec.http_status, rec.ret_code = 429, -1015
                return web.Response(status=429, content_type="application/json", body=orjson.dumps(
                    {"code": -1015, "msg": f"Too many new orders; current limit is {over.limit} orders per "
                                           f"{over.window_ns / 1e9:g} SECOND."}))
        try:
            result, pushes = self._route(request, method, path, raw_qs)
            status, body = 200, orjson.dumps(result)
        except _Err as e:
            status, body, pushes = e.status, orjson.dumps({"code": e.code, "msg": e.msg}), []
            rec.ret_code = e.code
        except VenueError as e:
            status, body, pushes = 400, orjson.dumps({"code": -1102 if e.ret_code == 10001 else -2022, "msg": e.ret_msg}), []
            rec.ret_code = -1102
        rec.http_status = status
        await self._push(pushes)
        if fault is not None and fault.process:
            if fault.kind == "status":
                rec.http_status = fault.status
                return web.Response(status=fault.status, text="Bad Gateway")
            await asyncio.sleep(fault.delay)
        return web.Response(status=status, body=body, content_type="application/json",
                            headers={"X-MBX-USED-WEIGHT-1M": str(self._used_weight(method, path, rec.query))})

    #: the weight of the paths the fake serves ("Request Weight" of each endpoint's page; others 1)
    _WEIGHTS = {("POST", "/fapi/v1/order"): 0, ("GET", "/fapi/v1/userTrades"): 5, ("GET", "/fapi/v3/account"): 5,
                ("GET", "/fapi/v3/balance"): 5, ("GET", "/fapi/v3/positionRisk"): 5}

    def _used_weight(self, method: str, path: str, query: dict) -> int:
        """The IP's weight in the current minute, this request's included ("General Info", IP Limits: every answer
        carries ``X-MBX-USED-WEIGHT-(intervalNum)(intervalLetter)``; an interval starts every minute);
        ``fb.other_weight`` is what other programs on the same IP spent this minute."""
        minute = int(time.time() // 60)
        if getattr(self, "_weight_minute", None) != minute:
            self._weight_minute, self._weight_used = minute, 0
        w = 40 if (path == "/fapi/v1/openOrders" and not query.get("symbol")) else self._WEIGHTS.get((method, path), 1)
        self._weight_used += w
        return self._weight_used + int(getattr(self, "other_weight", 0))

    def _route(self, request, method: str, path: str, raw_qs: str):
        v = self.venue
        if path == "/fapi/v1/time":
            return {"serverTime": self.now_ms()}, []
        if path == "/fapi/v1/exchangeInfo":
            from liqcore.venues.fake_universe import binance_exchange_info

            return binance_exchange_info(v.instruments, self.now_ms()), []
        if path == "/fapi/v1/depth" and method == "GET" and self.market is not None:
            # ("Order Book": the market stream's books, ``fb.market.depth_books``; a 429 with Retry-After on it:
            # ``fb.rate_limit_next(path="/fapi/v1/depth", retry_after_s=...)``)
            from liqcore.venues.binance.fake_streams import depth_snapshot

            got = depth_snapshot(self.market, request.query)
            if isinstance(got, tuple):
                raise _Err(got[1], got[0]["code"], got[0]["msg"])
            return got, []
        if path == "/fapi/v1/ticker/24hr":
            from liqcore.venues.fake_universe import binance_tickers

            return binance_tickers(v.instruments), []
        if path == "/fapi/v1/listenKey":
            self._auth(request, raw_qs, signed=False)
            if method == "POST":
                for lk, k in self.listen_keys.items():
                    if k == request.headers.get("X-MBX-APIKEY"):
                        return {"listenKey": lk}, []
                lk = uuid.uuid4().hex + uuid.uuid4().hex
                self.listen_keys[lk] = request.headers["X-MBX-APIKEY"]
                return {"listenKey": lk}, []
            if method == "PUT" and request.headers.get("X-MBX-APIKEY") not in self.listen_keys.values():
                self.keepalive_answers.append(-1125)
                raise _Err(400, -1125, "This listenKey does not exist.")
            if method == "PUT":
                self.keepalive_answers.append(0)
            return {}, []
        p = self._auth(request, raw_qs, signed=True)
        if path == "/fapi/v1/order":
            if method == "POST":
                return self._new_order(p)
            o = self._find(p)
            if method == "GET":
                if o is None:
                    raise _Err(400, -2013, "Order does not exist.")
                return self._order_json(o), []
            if o is None or o.status not in ("New", "PartiallyFilled"):
                raise _Err(400, -2011, "Unknown order sent.")
            _, pushes = v.cancel({"orderId": o.order_id})
            return self._order_json(o), pushes
        if path == "/fapi/v1/batchOrders" and method == "DELETE":
            return self._cancel_batch(p)
        if path == "/fapi/v1/allOpenOrders" and method == "DELETE":
            symbol = p.get("symbol")
            if not symbol:
                raise _Err(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
            pushes = []
            for o in v.open_orders(symbol):
                if o.stop_order_type and o.order_id not in self._triggered:
                    continue  # conditional (algo) orders are not regular open orders
                pushes += v.cancel({"orderId": o.order_id})[1]
            return {"code": 200, "msg": "The operation of cancel all open order is done."}, pushes
        if path == "/fapi/v1/openOrders":
            return [self._order_json(o) for o in v.open_orders(p.get("symbol")) if not o.stop_order_type], []
        if path in ("/fapi/v2/positionRisk", "/fapi/v2/balance", "/fapi/v2/account") and self.v2_removed:
            v3 = path.replace("/v2/", "/v3/")
            raise _Err(400, -5000, f"GET {path} is retired, please use GET {v3}")
        if path in ("/fapi/v2/positionRisk", "/fapi/v3/positionRisk"):
            return self._position_rows(p.get("symbol"), v3=path.startswith("/fapi/v3")), []
        if path == "/fapi/v3/account":
            return self._account_v3(), []
        if path == "/fapi/v1/userTrades":
            start = int(p.get("startTime") or 0)
            out = []
            for e in v.executions:
                if e["symbol"] != p.get("symbol") or int(e["execTime"]) < start:
                    continue
                o = v.orders[e["orderId"]]
                if p.get("orderId") and str(self._iid(o)) != p["orderId"]:
                    continue
                out.append({"symbol": e["symbol"], "id": e["seq"], "orderId": self._iid(o), "side": e["side"].upper(),
                            "price": e["execPrice"], "qty": e["execQty"], "commission": e["execFee"], "commissionAsset": "USDT",
                            "time": int(e["execTime"]), "maker": e["isMaker"], "buyer": e["side"] == "Buy"})
            return out[-int(p.get("limit") or 500):], []
        if path in ("/fapi/v2/balance", "/fapi/v3/balance"):
            upnl = self._upnl()
            return [{"accountAlias": "SgsR", "asset": "USDT", "balance": fmt_num(v.wallet_balance),
                     "crossWalletBalance": fmt_num(v.wallet_balance), "crossUnPnl": fmt_num(upnl),
                     "availableBalance": fmt_num(v.wallet_balance + min(upnl, 0.0)),
                     "maxWithdrawAmount": fmt_num(v.wallet_balance + min(upnl, 0.0)), "marginAvailable": True,
                     "updateTime": self.now_ms()}], []
        if path == "/fapi/v1/algoOrder":
            if method == "POST":
                return self._new_algo(p)
            o = self._find_algo(p)
            if method == "GET":
                if o is None:
                    raise _Err(400, -2013, "Order does not exist.")
                return self._algo_json(o), []
            if o is None or o.status != "Untriggered":
                raise _Err(400, -2011, "Unknown order sent.")
            _, pushes = v.cancel({"orderId": o.order_id})
            return {"algoId": self._aid(o), "clientAlgoId": o.order_link_id, "code": "200", "msg": "success"}, pushes
        if path == "/fapi/v1/openAlgoOrders":
            return [self._algo_json(o) for o in v.open_orders(p.get("symbol")) if o.stop_order_type and o.status == "Untriggered"], []
        got = self._account_route(request, path, raw_qs)
        if got is not None:
            return got, []
        raise _Err(404, -1000, f"unknown path {path}")

    # ---- account V3 ("Account Information V3", "Futures Account Balance V3", "Position Information V3", USD-M
    # futures "Account" / "Trade" REST pages: the fields of their response examples; unrealized PnL at the last price)
    def _upnl(self, symbol: str | None = None) -> float:
        v = self.venue
        return sum((v.last_price.get(s, p.entry_price) - p.entry_price) * p.size for s, p in v.positions.items()
                   if p.size and (symbol is None or s == symbol))

    def _position_rows(self, symbol: str | None, v3: bool) -> list[dict]:
        """V3: only the symbols with a position or open orders are returned ("Position Information V3")."""
        v, out = self.venue, []
        for sym, pos in v.positions.items():
            if symbol and sym != symbol:
                continue
            if not pos.size and not (not v3 and sym == symbol):
                continue
            mark = v.last_price.get(sym, pos.entry_price)
            out.append({"symbol": sym, "positionSide": "BOTH", "positionAmt": fmt_num(pos.size),
                        "entryPrice": fmt_num(pos.entry_price), "breakEvenPrice": fmt_num(pos.entry_price),
                        "markPrice": fmt_num(mark), "unRealizedProfit": fmt_num(self._upnl(sym)),
                        "liquidationPrice": "0", "isolatedMargin": "0", "notional": fmt_num(pos.size * mark),
                        "marginAsset": "USDT", "isolatedWallet": "0", "initialMargin": "0", "maintMargin": "0",
                        "positionInitialMargin": "0", "openOrderInitialMargin": "0", "adl": 0, "bidNotional": "0",
                        "askNotional": "0", "updateTime": pos.updated_ms})
        return out

    def _account_v3(self) -> dict:
        v = self.venue
        upnl, wb = self._upnl(), v.wallet_balance
        asset = {"asset": "USDT", "walletBalance": fmt_num(wb), "unrealizedProfit": fmt_num(upnl),
                 "marginBalance": fmt_num(wb + upnl), "maintMargin": "0", "initialMargin": "0",
                 "positionInitialMargin": "0", "openOrderInitialMargin": "0", "crossWalletBalance": fmt_num(wb),
                 "crossUnPnl": fmt_num(upnl), "availableBalance": fmt_num(wb + min(upnl, 0.0)),
                 "maxWithdrawAmount": fmt_num(wb + min(upnl, 0.0)), "updateTime": self.now_ms()}
        positions = [{"symbol": r["symbol"], "positionSide": "BOTH", "positionAmt": r["positionAmt"],
                      "unrealizedProfit": r["unRealizedProfit"], "isolatedMargin": "0", "notional": r["notional"],
                      "isolatedWallet": "0", "initialMargin": "0", "maintMargin": "0", "updateTime": r["updateTime"]}
                     for r in self._position_rows(None, v3=True)]
        return {"totalInitialMargin": "0", "totalMaintMargin": "0", "totalWalletBalance": fmt_num(wb),
                "totalUnrealizedProfit": fmt_num(upnl), "totalMarginBalance": fmt_num(wb + upnl),
                "totalPositionInitialMargin": "0", "totalOpenOrderInitialMargin": "0",
                "totalCrossWalletBalance": fmt_num(wb), "totalCrossUnPnl": fmt_num(upnl),
                "availableBalance": fmt_num(wb + min(upnl, 0.0)), "maxWithdrawAmount": fmt_num(wb + min(upnl, 0.0)),
                "assets": [asset], "positions": positions}

    def _account_route(self, request, path: str, raw_qs: str):
        """The account endpoints ``liqcore preflight`` reads (:mod:`liqcore.venues.fake_accounts`), signed; None for
        any other path."""
        from liqcore.venues.fake_accounts import BINANCE_PATHS, binance_answer

        if path not in BINANCE_PATHS or request.method != "GET":
            return None
        return binance_answer(self.account, path, self._auth(request, raw_qs, signed=True), self.venue.instruments)

    #: orders per DELETE /fapi/v1/batchOrders request
    CANCEL_BATCH_MAX = 10

    def _cancel_batch(self, p: dict):
        """DELETE /fapi/v1/batchOrders: ``symbol`` and ``origClientOrderIdList`` or ``orderIdList`` (a JSON array,
        at most 10).  One answer per id, in order: the cancelled order, or ``{"code": -2011, "msg": ...}``."""
        symbol = p.get("symbol")
        if not symbol:
            raise _Err(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        by_cid, by_oid = p.get("origClientOrderIdList"), p.get("orderIdList")
        if bool(by_cid) == bool(by_oid):
            raise _Err(400, -1102, "Param 'orderIdList' or 'origClientOrderIdList' must be sent, but not both.")
        name = "origClientOrderIdList" if by_cid else "orderIdList"
        try:
            ids = orjson.loads(by_cid or by_oid)
        except orjson.JSONDecodeError:
            ids = None
        if not isinstance(ids, list) or not ids:
            raise _Err(400, -1130, f"Data sent for parameter '{name}' is not valid.")
        if len(ids) > self.CANCEL_BATCH_MAX:
            raise _Err(400, -1130, f"Data sent for parameter '{name}' is not valid: at most {self.CANCEL_BATCH_MAX} orders.")
        out, pushes = [], []
        for x in ids:
            o = self._find({"origClientOrderId": str(x)} if by_cid else {"orderId": str(x)})
            if o is None or o.symbol != symbol or o.status not in ("New", "PartiallyFilled"):
                out.append({"code": -2011, "msg": "Unknown order sent."})
                continue
            pushes += self.venue.cancel({"orderId": o.order_id})[1]
            out.append(self._order_json(o))
        return out, pushes

    def _find(self, p: dict) -> FakeOrder | None:
        if p.get("orderId"):
            for oid, i in self._int_id.items():
                if str(i) == p["orderId"]:
                    o = self.venue.orders[oid]
                    return None if o.stop_order_type else o
            return None
        if p.get("origClientOrderId"):
            o = self.venue.order_by_link(p["origClientOrderId"])
            return None if (o is None or o.stop_order_type) else o
        raise _Err(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")

    def _find_algo(self, p: dict) -> FakeOrder | None:
        if p.get("algoId"):
            for oid, i in self._algo_ids.items():
                if str(i) == p["algoId"]:
                    return self.venue.orders[oid]
            return None
        if p.get("clientAlgoId"):
            o = self.venue.order_by_link(p["clientAlgoId"])
            return o if (o is not None and o.stop_order_type) else None
        raise _Err(400, -1102, "Param 'clientAlgoId' or 'algoId' must be sent, but both were empty/null!")

    def _new_order(self, p: dict):
        v = self.venue
        typ, tif, side = p.get("type"), p.get("timeInForce", "GTC"), p.get("side")
        if typ in _CONDITIONAL:
            raise _Err(400, -4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.")
        if typ not in ("LIMIT", "MARKET") or side not in ("BUY", "SELL"):
            raise _Err(400, -1116, "Invalid orderType or side.")
        cid = p.get("newClientOrderId") or ""
        if cid and cid in v.by_link:
            raise _Err(400, -4116, "ClientOrderId is duplicated.")
        symbol = p.get("symbol", "")
        last = v.last_price.get(symbol)
        price = float(p.get("price") or 0.0)
        if typ == "LIMIT" and tif == "GTX" and last is not None and ((side == "BUY" and price >= last) or (side == "SELL" and price <= last)):
            raise _Err(400, -5022, "Due to the order could not be executed as maker, the Post Only order will be rejected. "
                                   "The order will not be recorded in the order history")
        body = {"category": "linear", "symbol": symbol, "side": side.capitalize(), "orderType": typ.capitalize(),
                "qty": p.get("quantity"), "orderLinkId": cid, "reduceOnly": p.get("reduceOnly") == "true"}
        if typ == "LIMIT":
            body["price"] = p.get("price")
            body["timeInForce"] = "PostOnly" if tif == "GTX" else tif
        if not cid:
            body["orderLinkId"] = f"x-{uuid.uuid4().hex[:20]}"
        res, pushes = v.create(body)
        return self._order_json(v.orders[res["orderId"]]), pushes

    def _new_algo(self, p: dict):
        if p.get("algoType") != "CONDITIONAL":
            raise _Err(400, -1102, "algoType must be CONDITIONAL")
        typ = p.get("type")
        if typ not in _ALGO_TYPES or p.get("side") not in ("BUY", "SELL"):
            raise _Err(400, -1116, "Invalid orderType or side.")
        caid = p.get("clientAlgoId") or f"algo-x-{uuid.uuid4().hex[:16]}"
        if caid in self.venue.by_link:
            raise _Err(400, -4116, "ClientAlgoId is duplicated.")
        symbol = p.get("symbol", "")
        if symbol not in self.venue.instruments:
            raise _Err(400, -1121, "Invalid symbol.")
        kind, otype = _ALGO_TYPES[typ]
        try:
            trig, qty = float(p["triggerPrice"]), float(p["quantity"])
            price = float(p.get("price") or 0.0)
        except (KeyError, ValueError):
            raise _Err(400, -1102, "Mandatory parameter 'triggerPrice'/'quantity' was not sent or malformed.") from None
        if otype == "Limit" and price <= 0:
            raise _Err(400, -1102, "Mandatory parameter 'price' was not sent.")
        o, pushes = self.venue.place_conditional(symbol, p["side"].capitalize(), kind, trig, qty, otype, price, caid)
        return self._algo_json(o), pushes


FAKE = FakeBinance
