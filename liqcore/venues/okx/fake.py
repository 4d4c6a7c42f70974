"""A fake OKX v5 venue: a real aiohttp server on 127.0.0.1 laid out like OKX (REST ``/api/v5/...``, websockets
``/ws/v5/public``, ``/ws/v5/private``, ``/ws/v5/business``), sharing the matching rules of
:mod:`liqcore.venues.fake_book`; sizes in contracts.  What it enforces, as OKX does, and its faults:
docs/maintainers/fakes.md, "A fake OKX v5 venue (`liqcore.venues.okx.fake`)"; the documents it follows are named in
tests/venues/test_okx_conformance.py.

Why one module: one server's REST and websocket handlers share its book, orders and keys.
This module is the OKX venue's registry part ``fake`` (:data:`FAKE`).
May import: ``aiohttp``, ``orjson`` and the venues' shared ``fake_book`` and ``loopback``.
"""
from __future__ import annotations

import asyncio
import base64
import datetime as _dt
import hashlib
import hmac
import itertools
import math
import re
import time
from urllib.parse import parse_qsl

import orjson

from liqcore.venues.fake_book import FakeOrder, FakeVenue, VenueError, fmt_num
from liqcore.venues.loopback import FakeRequest, HttpFault, LoopbackVenue, RollingCount, send_or_drop

__all__ = ["FakeOkx", "FAKE", "OKX_API_KEY", "OKX_API_SECRET", "OKX_PASSPHRASE", "OKX_INSTRUMENTS"]

OKX_API_KEY = "fake-okx-key-0001"
OKX_API_SECRET = "FAKEOKXSECRET0000DONOTUSE"
OKX_PASSPHRASE = "fake-okx-passphrase"

#: the SWAP instruments the fake lists by default (contract values as OKX lists them)
OKX_INSTRUMENTS: dict[str, dict] = {
    "BTC-USDT-SWAP": {"ctVal": 0.01, "lotSz": 0.01, "minSz": 0.01, "tickSz": 0.1, "instIdCode": 10459},
    "ETH-USDT-SWAP": {"ctVal": 0.1, "lotSz": 0.01, "minSz": 0.01, "tickSz": 0.01, "instIdCode": 10461},
    "SOL-USDT-SWAP": {"ctVal": 1.0, "lotSz": 0.01, "minSz": 0.01, "tickSz": 0.01, "instIdCode": 10535},
    "XRP-USDT-SWAP": {"ctVal": 100.0, "lotSz": 0.01, "minSz": 0.01, "tickSz": 0.0001, "instIdCode": 10520},
}

_CLORD = re.compile(r"[A-Za-z0-9]{1,32}")
_STATE = {"New": "live", "PartiallyFilled": "partially_filled", "Filled": "filled", "Cancelled": "canceled",
          "Rejected": "canceled", "Deactivated": "canceled", "Untriggered": "live", "Triggered": "live"}
#: where each channel lives (the endpoints of OKX v5 as documented in 2026)
CHANNEL_ENDPOINT = {
    "bbo-tbt": "public", "books5": "public", "books": "public", "trades": "public", "liquidation-orders": "public",
    "tickers": "public", "funding-rate": "public", "mark-price": "public", "open-interest": "public",
    "orders": "private", "positions": "private", "account": "private", "balance_and_position": "private",
    "orders-algo": "business", "algo-advance": "business", "trades-all": "business", "candle1m": "business",
}


class _Err(Exception):
    def __init__(self, code: str, msg: str, http: int = 200, data=None) -> None:
        super().__init__(msg)
        self.code, self.msg, self.http, self.data = str(code), msg, http, data or []


class _ItemErr(Exception):
    def __init__(self, s_code: str, s_msg: str) -> None:
        super().__init__(s_msg)
        self.s_code, self.s_msg = str(s_code), s_msg


def _iso_ms(ts: str) -> int:
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ts or ""):
        raise ValueError(ts)
    t = _dt.datetime.strptime(ts[:-1], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=_dt.timezone.utc)
    return int(round(t.timestamp() * 1000))


def _inst_type(q: dict, allowed) -> str:
    """The required ``instType`` query parameter: missing 50014, not one of ``allowed`` 51000."""
    if not q.get("instType"):
        raise _Err("50014", "Parameter instType can not be empty.")
    if q["instType"] not in allowed:
        raise _Err("51000", "Parameter instType error")
    return q["instType"]


def _sign(secret: str, pre: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), pre.encode(), hashlib.sha256).digest()).decode()


class FakeOkx(LoopbackVenue):
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, api_keys: dict[str, tuple[str, str]] | None = None,
                 read_only_keys=(), instruments: dict[str, dict] | None = None, pos_mode: str = "net_mode",
                 acct_lv: str = "2", demo: bool = False, time_offset_ms: int = 0, maker_fee: float = 0.0002,
                 taker_fee: float = 0.0005, equity: float = 10_000.0, leverage: float = 10.0,
                 order_limit=(60, 2.0)) -> None:
        self.host, self.port = host, port
        #: POST /api/v5/trade/order's limit, (requests, seconds), counted when a request arrives (Trade, "Place
        #: order": "Rate Limit: 60 requests per 2 seconds", "Rate limit rule: User ID + Instrument ID"; past it
        #: HTTP 429, code 50011 "Rate limit reached")
        self.order_limit = RollingCount(*order_limit)
        keys = dict(api_keys) if api_keys else {OKX_API_KEY: (OKX_API_SECRET, OKX_PASSPHRASE)}
        self.api_keys = {k: v[0] for k, v in keys.items()}
        self.passphrases = {k: v[1] for k, v in keys.items()}
        self.read_only_keys = set(read_only_keys)
        self.instruments = {k: dict(v) for k, v in (instruments or OKX_INSTRUMENTS).items()}
        self.pos_mode, self.acct_lv, self.demo = pos_mode, acct_lv, bool(demo)
        self.time_offset_ms = int(time_offset_ms)
        self.leverage = float(leverage)
        # (sizes count contracts: the matching charges fees and books pnl on contracts x ctVal coins)
        grid = {i: {"tickSize": m["tickSz"], "qtyStep": m["lotSz"], "minOrderQty": m["minSz"],
                    "contractValue": float(m["ctVal"])} for i, m in self.instruments.items()}
        self.venue = FakeVenue(instruments=grid, maker_fee=maker_fee, taker_fee=taker_fee, equity=equity,
                               auto_deactivate=False, clock_ms=self.now_ms)
        self.requests: list[FakeRequest] = []
        self.http_faults: list[HttpFault] = []
        self.silenced: set[str] = set()
        self.volume: dict[str, float] = {}  # instId -> contracts traded through trade() (the tickers' vol24h)
        self.ws_log: list[tuple[str, dict]] = []  # (endpoint, message received) of every websocket request
        self.pings: dict[str, int] = {"public": 0, "private": 0, "business": 0}  # text pings answered, by endpoint
        self._ids = itertools.count(600_000_000_000_000_001)
        self._ord_id: dict[str, str] = {}  # FakeVenue order id -> OKX ordId
        self._algos: dict[str, dict] = {}  # algoId -> {"algoClOrdId", "instId", "kids", "state", "ordType", ...}
        self._kid_algo: dict[str, str] = {}  # FakeVenue order id of an algo's leg -> algoId
        self._pending_exec: dict[str, dict] = {}
        self._subs: list[dict] = []  # {"ws", "tr", "endpoint", "channel", "arg", "login"}
        self._conns: list[dict] = []
        self._runner = None
        self.code_faults: list[dict] = []  # answer_code_next: {"path", "code", "msg", "http", "process", "item"}
        self._muted: set[int] = set()  # id() of the websockets played open but mute (mute())
        self.cancelled_by_venue: list[str] = []  # algoIds cancel_algo_by_venue() cancelled
        #: liquidation-orders rows pushed so far (the last 20): the first push after a new subscription repeats
        #: them (one of an hour ago when there are none), as OKX does (tardis-node drops that message:
        #: OkexV5LiquidationsMapper._isFirstMessage, src/mappers/okex.ts); ``replay_liquidations = False`` turns it off
        self.liquidation_replay: list[dict] = []
        self.replay_liquidations = True

    # ------------------------------------------------------------------ lifecycle
    @property
    def passphrase(self) -> str:
        return self.passphrases[self.api_key]

    @property
    def ws_base(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def private_ws_url(self) -> str:
        return f"{self.ws_base}/ws/v5/private"

    @property
    def public_ws_url(self) -> str:
        return f"{self.ws_base}/ws/v5/public"

    async def start(self) -> FakeOkx:
        from aiohttp import web

        app = web.Application()
        for ep in ("public", "private", "business"):
            app.router.add_get(f"/ws/v5/{ep}", self._ws_handler(ep))
        app.router.add_route("*", "/{tail:.*}", self._http)
        await self._serve(app)
        return self

    async def stop(self) -> None:
        self.drop()
        await self._unserve()

    # ------------------------------------------------------------------ controls
    def rate_limit_next(self, k: int = 1, path: str | None = None) -> None:
        """The next ``k`` requests (to ``path``) answer HTTP 429 ``{"code": "50011", "msg": "Too Many Requests"}``
        without being processed."""
        self.http_faults.extend(HttpFault("rate_limit", path, status=429) for _ in range(k))

    def answer_code_next(self, code: str, path: str | None = None, *, process: bool, k: int = 1, http: int | None = None,
                         msg: str | None = None, item: bool = False, method: str = "POST") -> None:
        """The next ``k`` ``method`` requests (to ``path``) answer OKX error ``code``, after doing what they ask
        (``process=True``: e.g. the order IS created) or without (``process=False``).  ``item=True`` answers as an
        order endpoint does for one failed order (``code`` "1", the code in ``data[0].sCode``).  OKX v5 "Error
        Code" (https://www.okx.com/docs-v5/en/#error-code): 50004 "API endpoint request timeout (does not mean that
        the request was successful or failed, please check the request result)" is HTTP 400, 50001 HTTP 503,
        50013 HTTP 200, 50011 HTTP 429; 51149 "Order timed out" is an order's sCode."""
        default_http = {"50004": 400, "50001": 503, "50026": 500, "50011": 429, "50061": 429}.get(str(code), 200)
        words = {"50004": "API endpoint request timeout (does not mean that the request was successful or failed, "
                          "please check the request result)", "50001": "Service temporarily unavailable. Try again later",
                 "50013": "Systems are busy. Please try again later.", "50011": "Too Many Requests",
                 "51149": "Order timed out. Please try again."}
        for _ in range(k):
            self.code_faults.append({"path": path, "method": method, "code": str(code), "msg": msg or words.get(str(code), "error"),
                                     "http": http or default_http, "process": process, "item": item})

    def mute(self, endpoint: str = "private") -> int:
        """Play every open ``endpoint`` websocket open but mute: no push reaches it and its ``ping`` gets no ``pong``
        (OKX v5 "WebSocket: Connect": a client that gets no ``pong`` within N s of its ``ping`` must reconnect).
        A connection made afterwards is served as usual.  Returns how many were muted."""
        n = 0
        for c in self._conns:
            if c["endpoint"] == endpoint:
                self._muted.add(id(c["ws"]))
                n += 1
        return n

    def fills(self) -> list[dict]:
        """Every fill as ``GET /api/v5/trade/fills`` lists it (oldest first)."""
        return [self._fill_json(e) for e in self.venue.executions]

    async def cancel_algo_by_venue(self, algo_cl_ord_id: str, state: str = "canceled") -> dict:
        """OKX cancels (``state`` canceled) or fails (``order_failed``) a live algo order of its own accord (e.g. a
        stop the risk engine cancelled): its legs leave the book and the ``orders-algo`` channel of
        ``/ws/v5/business`` pushes it (OKX v5 "WebSocket / Algo orders channel": state live, pause, partially_effective,
        effective, canceled, order_failed, partially_failed)."""
        a = next(x for x in self._algos.values() if x["algoClOrdId"] == algo_cl_ord_id and x["state"] == "live")
        a["state"] = state
        for k in a["kids"]:
            o = self.venue.orders[k]
            if o.status == "Untriggered":
                o.status, o.cancel_type = "Deactivated", "CancelByAdmin"
        self.cancelled_by_venue.append(a["algoId"])
        await self.publish("orders-algo", {"channel": "orders-algo", "instType": "SWAP"}, [self._algo_json(a)])
        return a

    def drop(self, endpoint: str | None = None) -> int:
        n = 0
        for c in list(self._conns):
            if endpoint is None or c["endpoint"] == endpoint:
                c["tr"].abort()
                self._conns.remove(c)
                n += 1
        return n

    def logged_in(self, endpoint: str = "private") -> int:
        """The ``endpoint`` websockets open now that logged in: a trading session's private stream."""
        return sum(1 for c in self._conns if c["endpoint"] == endpoint and c["login"] is not None and not c["ws"].closed)

    def subscribed(self, channel: str, endpoint: str | None = None) -> bool:
        return any(s["channel"] == channel and (endpoint is None or s["endpoint"] == endpoint) for s in self._subs)

    def requests_to(self, path: str, method: str | None = None) -> list[FakeRequest]:
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    def orders_with_client_id(self, cl: str) -> list[FakeOrder]:
        return [o for o in self.venue.orders.values() if o.order_link_id == cl]

    def set_last_price(self, inst_id: str, price: float) -> None:
        self.venue.last_price[inst_id] = float(price)

    def algos(self) -> dict[str, dict]:
        """algoClOrdId -> the algo order (``state``: live / effective / canceled; ``legs``: its orders)."""
        return {a["algoClOrdId"]: {**a, "legs": [self.venue.orders[k] for k in a["kids"]]} for a in self._algos.values()}

    async def trade(self, inst_id: str, price: float, sz: float = math.inf, side: str = "buy") -> None:
        """A trade of ``sz`` contracts at ``price``: the simulated book fills and triggers, then the
        ``trades`` channel pushes it."""
        pushes = self.venue.on_trade(inst_id, float(price), float(sz))
        if math.isfinite(sz):
            self.volume[inst_id] = self.volume.get(inst_id, 0.0) + float(sz)
        await self._push_private(pushes)
        now = self.now_ms()
        await self.publish("trades", {"channel": "trades", "instId": inst_id}, [
            {"instId": inst_id, "tradeId": str(next(self._ids)), "px": fmt_num(price),
             "sz": fmt_num(sz if math.isfinite(sz) else 1), "side": side, "ts": str(now), "count": "1"}])

    async def match_trade(self, inst_id: str, price: float, sz: float) -> None:
        """A trade of ``sz`` contracts at ``price`` through the simulated book (fills, triggers and their private
        pushes) without a ``trades`` push: for a replay that sends its own recorded trade frames."""
        await self._push_private(self.venue.on_trade(inst_id, float(price), float(sz)))

    async def quote(self, inst_id: str, bid: float, bid_sz: float, ask: float, ask_sz: float) -> None:
        """Top of book on ``bbo-tbt`` and ``books5`` (sizes in contracts)."""
        now = str(self.now_ms())
        row = {"asks": [[fmt_num(ask), fmt_num(ask_sz), "0", "1"]], "bids": [[fmt_num(bid), fmt_num(bid_sz), "0", "1"]],
               "ts": now, "seqId": int(now)}
        for ch in ("bbo-tbt", "books5"):
            await self.publish(ch, {"channel": ch, "instId": inst_id}, [{**row, "instId": inst_id}])

    async def liquidation(self, inst_id: str, price: float, sz: float, side: str = "sell") -> None:
        """One ``liquidation-orders`` push (``sz`` contracts; ``side`` sell = a long liquidated)."""
        fam = inst_id.rsplit("-", 1)[0]
        row = {"details": [{"bkLoss": "0", "bkPx": fmt_num(price), "ccy": "", "posSide": "long" if side == "sell" else "short",
                            "side": side, "sz": fmt_num(sz), "ts": str(self.now_ms())}],
               "instFamily": fam, "instId": inst_id, "instType": "SWAP", "uly": fam}
        self.liquidation_replay = (self.liquidation_replay + [row])[-20:]
        await self.publish("liquidation-orders", {"channel": "liquidation-orders", "instType": "SWAP"}, [row])

    async def publish(self, channel: str, arg: dict, data: list) -> None:
        if channel in self.silenced:
            return
        frame = orjson.dumps({"arg": arg, "data": data}).decode()
        for s in list(self._subs):
            if s["channel"] != channel:
                continue
            sa = s["arg"]
            if sa.get("instId") and sa["instId"] != (arg.get("instId") or (data[0].get("instId") if data else None)):
                continue
            if id(s["ws"]) in self._muted:
                continue
            await send_or_drop(s["ws"], frame)  # (a client that stopped reading is dropped, never waited on)

    # ------------------------------------------------------------------ wire shapes
    def _oid(self, o: FakeOrder) -> str:
        i = self._ord_id.get(o.order_id)
        if i is None:
            i = self._ord_id[o.order_id] = str(next(self._ids))
        return i

    def _order_json(self, o: FakeOrder, ex: dict | None = None) -> dict:
        algo = self._algos.get(self._kid_algo.get(o.order_id, ""), {})
        state = _STATE[o.status]
        cancel_source = ""
        if state == "canceled":
            cancel_source = "31" if o.reject_reason == "EC_PostOnlyWillTakeLiquidity" else (
                "21" if o.cancel_type == "CancelByReduceOnly" else "1")
        now = str(o.updated_ms)
        return {"instType": "SWAP", "instId": o.symbol, "ordId": self._oid(o), "clOrdId": o.order_link_id if not algo else "",
                "px": fmt_num(o.price) if o.order_type == "Limit" else "", "sz": fmt_num(o.qty),
                "ordType": "post_only" if o.time_in_force == "PostOnly" else o.order_type.lower(),
                "side": o.side.lower(), "posSide": "net", "tdMode": "cross", "state": state,
                "accFillSz": fmt_num(o.cum_exec_qty), "avgPx": fmt_num(o.avg_price),
                "fillPx": ex["execPrice"] if ex else "", "fillSz": ex["execQty"] if ex else "0",
                "tradeId": str(ex["seq"]) if ex else "", "execType": ("M" if ex["isMaker"] else "T") if ex else "",
                "fillFee": ("-" + ex["execFee"]) if ex and ex["execFee"] != "0" else "0",
                "fee": "-" + fmt_num(o.cum_exec_fee) if o.cum_exec_fee else "0", "feeCcy": "USDT",
                "fillTime": ex["execTime"] if ex else "", "cancelSource": cancel_source,
                "reduceOnly": "true" if o.reduce_only else "false", "algoId": algo.get("algoId", ""),
                "algoClOrdId": algo.get("algoClOrdId", ""), "cTime": str(o.created_ms), "uTime": now}

    def _algo_json(self, a: dict) -> dict:
        return {"instType": "SWAP", "instId": a["instId"], "algoId": a["algoId"], "algoClOrdId": a["algoClOrdId"],
                "ordType": a["ordType"], "side": a["side"], "posSide": "net", "tdMode": a["tdMode"], "sz": a["sz"],
                "state": a["state"], "tpTriggerPx": a.get("tpTriggerPx", ""), "tpOrdPx": a.get("tpOrdPx", ""),
                "slTriggerPx": a.get("slTriggerPx", ""), "slOrdPx": a.get("slOrdPx", ""), "reduceOnly": "true",
                "actualSide": a.get("actualSide", ""), "cTime": str(a["cTime"]), "uTime": str(self.now_ms())}

    def _events(self, pushes):
        """FakeVenue pushes -> [(channel, data row)] of ``orders`` / ``positions`` / ``orders-algo``."""
        out = []
        for topic, d in pushes:
            if topic == "execution":
                self._pending_exec[d["orderId"]] = d
                continue
            if topic == "position":
                size = float(d["size"] or 0) * (-1 if d["side"] == "Sell" else 1)
                ps, pos_s = self._pos_fields(size)
                out.append(("positions", {"instType": "SWAP", "instId": d["symbol"], "posSide": ps, "mgnMode": "cross",
                                          "pos": pos_s,
                                          "avgPx": d["avgPrice"], "uTime": str(self.now_ms())}))
                continue
            o = self.venue.orders[d["orderId"]]
            aid = self._kid_algo.get(o.order_id)
            if aid is not None and d["orderStatus"] in ("Untriggered", "Deactivated"):
                continue  # an algo leg: reported on orders-algo below
            if aid is not None and d["orderStatus"] == "Triggered":
                a = self._algos[aid]
                if a["state"] == "live":
                    a["state"] = "effective"
                    a["actualSide"] = "tp" if o.stop_order_type == "TakeProfit" else "sl"
                    for k in a["kids"]:  # one side of an oco triggered: the other is canceled
                        sib = self.venue.orders[k]
                        if k != o.order_id and sib.status == "Untriggered":
                            sib.status, sib.cancel_type = "Deactivated", "CancelByOco"
                    out.append(("orders-algo", self._algo_json(a)))
                continue
            ex = self._pending_exec.pop(o.order_id, None)
            row = self._order_json(o, ex)
            row["state"] = _STATE[d["orderStatus"]] if d["orderStatus"] in _STATE else row["state"]
            out.append(("orders", row))
        return out

    async def _push_private(self, pushes) -> None:
        for channel, row in self._events(pushes):
            await self.publish(channel, {"channel": channel, "instType": "SWAP"}, [row])

    # ------------------------------------------------------------------ websockets
    def _ws_handler(self, endpoint: str):
        async def handler(request):
            from aiohttp import WSMsgType, web

            ws = web.WebSocketResponse()
            await ws.prepare(request)
            conn = {"ws": ws, "tr": request.transport, "endpoint": endpoint, "login": None}
            self._conns.append(conn)
            try:
                async for msg in ws:
                    if msg.type != WSMsgType.TEXT:
                        if msg.type == WSMsgType.ERROR:
                            break
                        continue
                    if msg.data == "ping":
                        if id(ws) in self._muted:
                            continue  # open but mute: no pong
                        self.pings[endpoint] += 1
                        await ws.send_str("pong")
                        continue
                    try:
                        req = orjson.loads(msg.data)
                        if not isinstance(req, dict):
                            raise ValueError
                    except (orjson.JSONDecodeError, ValueError):
                        await ws.send_str(orjson.dumps({"event": "error", "code": "60012",
                                                        "msg": f"Invalid request: {msg.data[:200]}"}).decode())
                        continue
                    self.ws_log.append((endpoint, req))
                    for answer in await self._ws_op(conn, req):
                        await ws.send_str(orjson.dumps(answer).decode())
            finally:
                if conn in self._conns:
                    self._conns.remove(conn)
                self._muted.discard(id(ws))
                self._subs = [s for s in self._subs if s["ws"] is not ws]
            return ws

        return handler

    def _ws_login(self, conn: dict, args) -> dict:
        a = args[0] if isinstance(args, list) and args and isinstance(args[0], dict) else {}
        key = a.get("apiKey")
        if key not in self.api_keys:
            return {"event": "error", "code": "60005", "msg": "Invalid apiKey"}
        if a.get("passphrase") != self.passphrases[key]:
            return {"event": "error", "code": "60024", "msg": "Wrong passphrase"}
        try:
            ts = int(a.get("timestamp"))
        except (TypeError, ValueError):
            return {"event": "error", "code": "60004", "msg": "Invalid timestamp"}
        if abs(ts - self.now_ms() / 1000) > 30:
            return {"event": "error", "code": "60006", "msg": "Timestamp request expired"}
        if not hmac.compare_digest(_sign(self.api_keys[key], f"{ts}GET/users/self/verify"), str(a.get("sign", ""))):
            return {"event": "error", "code": "60007", "msg": "Invalid sign"}
        conn["login"] = key
        return {"event": "login", "code": "0", "msg": "", "connId": f"{id(conn) & 0xffffffff:08x}"}

    async def _ws_op(self, conn: dict, req: dict) -> list[dict]:
        op, ep = req.get("op"), conn["endpoint"]
        if op == "login":
            if ep == "public":
                return [{"event": "error", "code": "60018", "msg": "Wrong URL or channel:login doesn't exist. Please use the "
                         "correct URL, channel and parameters referring to API document."}]
            return [self._ws_login(conn, req.get("args"))]
        if op in ("subscribe", "unsubscribe"):
            out = []
            for arg in req.get("args") or []:
                if not isinstance(arg, dict) or not arg.get("channel"):
                    out.append({"event": "error", "code": "60013", "msg": "Invalid args"})
                    continue
                ch = arg["channel"]
                where = CHANNEL_ENDPOINT.get(ch)
                if where != ep:
                    detail = ",".join(f"{k}:{v}" for k, v in arg.items())
                    out.append({"event": "error", "code": "60018", "msg": f"Wrong URL or {detail} doesn't exist. Please use the "
                                "correct URL, channel and parameters referring to API document.", "connId": "fake"})
                    continue
                if ep in ("private", "business") and where != "public" and conn["login"] is None:
                    out.append({"event": "error", "code": "60011", "msg": "Please log in", "connId": "fake"})
                    continue
                if op == "subscribe":
                    self._subs.append({"ws": conn["ws"], "endpoint": ep, "channel": ch, "arg": dict(arg)})
                else:
                    self._subs = [s for s in self._subs if not (s["ws"] is conn["ws"] and s["arg"] == arg)]
                out.append({"event": op, "arg": arg, "connId": "fake"})
                if op == "subscribe" and ch == "liquidation-orders" and self.replay_liquidations:
                    old = self.liquidation_replay or [{  # (none pushed yet: one of an hour ago)
                        "details": [{"bkLoss": "0", "bkPx": "1000", "ccy": "", "posSide": "long", "side": "sell", "sz": "1",
                                     "ts": str(self.now_ms() - 3_600_000)}], "instFamily": "ETH-USDT",
                        "instId": "ETH-USDT-SWAP", "instType": "SWAP", "uly": "ETH-USDT"}]
                    out.append({"arg": {"channel": ch, "instType": arg.get("instType", "SWAP")},
                                "data": list(old)})  # (old ones, repeated)
            return out
        if op in ("order", "cancel-order"):
            rid = str(req.get("id") or "")
            if ep != "private":
                return [{"id": rid, "op": op, "code": "60018", "msg": f"Wrong URL or op:{op} doesn't exist.", "data": []}]
            if conn["login"] is None:
                return [{"event": "error", "code": "60011", "msg": "Please log in"}]
            args = req.get("args") or [{}]
            a = dict(args[0]) if isinstance(args[0], dict) else {}
            code = a.pop("instIdCode", None)
            inst = next((i for i, m in self.instruments.items() if m["instIdCode"] == code), None) if code is not None else None
            if code is None or inst is None:
                return [{"id": rid, "op": op, "code": "1", "msg": "", "data": [
                    {"sCode": "50014" if code is None else "51001",
                     "sMsg": "Parameter instIdCode can not be empty." if code is None else "Instrument ID, Instrument ID code or Spread ID doesn't exist.",
                     "clOrdId": a.get("clOrdId", ""), "ordId": ""}]}]
            a["instId"] = inst
            if op == "order" and conn["login"] in self.read_only_keys:
                return [{"id": rid, "op": op, "code": "1", "msg": "", "data": [{"sCode": "50120", "sMsg": "This API key doesn't have permission to use this function"}]}]
            try:
                row, pushes = self._place(a) if op == "order" else self._cancel(a)
            except _ItemErr as e:
                return [{"id": rid, "op": op, "code": "1", "msg": "", "data": [
                    {"sCode": e.s_code, "sMsg": e.s_msg, "clOrdId": a.get("clOrdId", ""), "ordId": ""}]}]
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._push_private(pushes)))
            return [{"id": rid, "op": op, "code": "0", "msg": "", "data": [row]}]
        return [{"event": "error", "code": "60019", "msg": f"Invalid op: {op}"}]

    # ------------------------------------------------------------------ REST
    def _auth(self, request, method: str, request_path: str, body: str, trade: bool) -> str:
        h = request.headers
        key = h.get("OK-ACCESS-KEY")
        if not key:
            raise _Err("50103", 'Request header "OK-ACCESS-KEY" cannot be empty.', 401)
        if key not in self.api_keys:
            raise _Err("50111", "Invalid OK-ACCESS-KEY.", 401)
        if (h.get("x-simulated-trading") == "1") != self.demo:
            raise _Err("50101", "APIKey does not match current environment.", 401)
        if not h.get("OK-ACCESS-PASSPHRASE"):
            raise _Err("50104", 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty.', 401)
        if h.get("OK-ACCESS-PASSPHRASE") != self.passphrases[key]:
            raise _Err("50105", 'Request header "OK-ACCESS-PASSPHRASE" incorrect.', 401)
        ts = h.get("OK-ACCESS-TIMESTAMP", "")
        try:
            ms = _iso_ms(ts)
        except ValueError:
            raise _Err("50112", "Invalid OK-ACCESS-TIMESTAMP.", 401) from None
        if abs(ms - self.now_ms()) > 30_000:
            raise _Err("50102", "Timestamp request expired.", 401)
        want = _sign(self.api_keys[key], f"{ts}{method}{request_path}{body}")
        if not hmac.compare_digest(want, h.get("OK-ACCESS-SIGN", "")):
            raise _Err("50113", "Invalid signature.", 401)
        if trade and key in self.read_only_keys:
            raise _Err("50120", "This API key doesn't have permission to use this function", 200)
        return key

    async def _http(self, request):
        from aiohttp import web

        path, method = request.path, request.method
        raw_qs = request.rel_url.raw_query_string
        request_path = request.rel_url.raw_path + (f"?{raw_qs}" if raw_qs else "")
        body_text = (await request.read()).decode()
        try:
            body = orjson.loads(body_text) if body_text else None
        except orjson.JSONDecodeError:
            body = None
        q = dict(parse_qsl(raw_qs))
        rec = FakeRequest(method, path, q, body if isinstance(body, dict) else {"_": body}, {}, time.time_ns())
        self.requests.append(rec)
        fault = None
        for i, f in enumerate(self.http_faults):
            if f.path is None or path.startswith(f.path):
                fault = self.http_faults.pop(i)
                break
        cf = next((f for f in self.code_faults if f["path"] in (None, path) and f["method"] == method), None)
        if cf is not None:
            self.code_faults.remove(cf)
            if not cf["process"]:
                return self._code_answer(rec, cf, body)
        if fault is not None and fault.kind == "rate_limit":
            rec.fault, rec.http_status = fault.kind, 429
            return web.Response(status=429, body=orjson.dumps({"code": "50011", "msg": "Too Many Requests", "data": []}),
                                content_type="application/json")
        if fault is not None and not fault.process:
            rec.fault, rec.http_status = fault.kind, fault.status
            if fault.kind == "delay":
                await asyncio.sleep(fault.delay)
            else:
                return web.Response(status=fault.status, text="Service Unavailable")
        if method == "POST" and path == "/api/v5/trade/order" and isinstance(body, dict) and \
                self.order_limit.refuse(body.get("instId"), rec.recv_ns):
            rec.http_status, rec.ret_code = 429, "50011"
            return web.Response(status=429, content_type="application/json", body=orjson.dumps(
                {"code": "50011", "msg": "Rate limit reached. Please refer to API documentation and throttle "
                                         "requests accordingly.", "data": []}))
        pushes = []
        try:
            data, pushes = self._route(request, method, path, request_path, q, body, body_text)
            status, doc = 200, {"code": "0", "msg": "", "data": data}
        except _Err as e:
            status, doc = e.http, {"code": e.code, "msg": e.msg, "data": e.data}
            rec.ret_code = e.code
        rec.http_status = status
        await self._push_private(pushes)
        if cf is not None:  # done as asked, answered with the code
            return self._code_answer(rec, cf, body)
        if fault is not None and fault.process:
            rec.fault = fault.kind
            if fault.kind == "delay":
                await asyncio.sleep(fault.delay)
            else:
                rec.http_status = fault.status
                return web.Response(status=fault.status, text="Bad Gateway")
        return web.Response(status=status, body=orjson.dumps(doc), content_type="application/json")

    def _code_answer(self, rec: FakeRequest, cf: dict, body):
        from aiohttp import web

        rec.fault, rec.http_status, rec.ret_code = f"code {cf['code']}", cf["http"], cf["code"]
        if cf["item"]:
            items = body if isinstance(body, list) else [body if isinstance(body, dict) else {}]
            doc = {"code": "1", "msg": "All operations failed", "data": [  # (every item failed: code 1)
                {"sCode": cf["code"], "sMsg": cf["msg"], "clOrdId": i.get("clOrdId", ""), "ordId": i.get("ordId", ""),
                 "ts": str(self.now_ms())} for i in items]}
        else:
            doc = {"code": cf["code"], "msg": cf["msg"], "data": []}
        return web.Response(status=cf["http"], body=orjson.dumps(doc), content_type="application/json")

    def _fill_json(self, e: dict) -> dict:
        """One row of OKX v5 "Get transaction details (last 3 days)" (``GET /api/v5/trade/fills``); ``billId`` grows
        with each fill (the fake's execution sequence), ``tradeId`` is the one the ``orders`` channel gives."""
        o = self.venue.orders[e["orderId"]]
        algo = self._algos.get(self._kid_algo.get(o.order_id, ""), {})
        return {"instType": "SWAP", "instId": o.symbol, "tradeId": str(e["seq"]), "ordId": self._oid(o),
                "clOrdId": o.order_link_id if not algo else "", "billId": str(700_000_000_000_000_000 + int(e["seq"])),
                "subType": "1", "tag": "", "fillPx": e["execPrice"], "fillSz": e["execQty"], "side": o.side.lower(),
                "posSide": "net", "execType": "M" if e["isMaker"] else "T", "feeCcy": "USDT",
                "fee": ("-" + e["execFee"]) if e["execFee"] != "0" else "0", "ts": e["execTime"], "fillTime": e["execTime"]}

    def _fills_page(self, q: dict) -> list[dict]:
        """``GET /api/v5/trade/fills``: newest first; ``after`` / ``before`` a billId (older / newer rows), ``begin`` /
        ``end`` ms on ``ts``, ``instId``, ``limit`` (default and maximum 100)."""
        try:
            limit = int(q.get("limit") or 100)
        except ValueError:
            raise _Err("51000", "Parameter limit error") from None
        if not 1 <= limit <= 100:
            raise _Err("51000", "Parameter limit error")
        rows = sorted(self.fills(), key=lambda r: int(r["billId"]), reverse=True)
        for k, keep in (("after", lambda r, v: int(r["billId"]) < v), ("before", lambda r, v: int(r["billId"]) > v),
                        ("begin", lambda r, v: int(r["ts"]) >= v), ("end", lambda r, v: int(r["ts"]) <= v)):
            if q.get(k):
                rows = [r for r in rows if keep(r, int(q[k]))]
        if q.get("instId"):
            rows = [r for r in rows if r["instId"] == q["instId"]]
        return rows[:limit]

    def _route(self, request, method, path, request_path, q, body, body_text):
        v = self.venue
        if path == "/api/v5/public/time":
            return [{"ts": str(self.now_ms())}], []
        if path == "/api/v5/public/instruments":
            if q.get("instType") != "SWAP":
                raise _Err("51000", "Parameter instType error")
            return [self._inst_json(i, m) for i, m in self.instruments.items() if not q.get("instId") or q["instId"] == i], []
        if path == "/api/v5/market/tickers":  # public (rate limit rule: IP): no key
            if not q.get("instType"):
                raise _Err("50014", "Parameter instType can not be empty.")
            if q["instType"] != "SWAP":  # (the fake lists swaps only)
                raise _Err("51000", "Parameter instType error")
            return [self._ticker_json(i, m) for i, m in self.instruments.items()
                    if not q.get("instFamily") or i.startswith(q["instFamily"] + "-")], []
        if not path.startswith("/api/v5/"):
            raise _Err("404", f"unknown path {path}", 404)
        trade = method == "POST"
        key = self._auth(request, method, request_path, body_text, trade)
        if path == "/api/v5/account/config":
            perm = "read_only" if key in self.read_only_keys else "read_only,trade"
            return [{"uid": "44705892343619584", "mainUid": "44705892343619584", "acctLv": self.acct_lv,
                     "posMode": self.pos_mode, "autoLoan": False, "greeksType": "PA", "level": "Lv1",
                     "levelTmp": "", "ctIsoMode": "automatic", "mgnIsoMode": "automatic", "perm": perm,
                     "label": "liqcore-fake", "ip": "", "roleType": "0", "traderInsts": [], "spotRoleType": "0",
                     "kycLv": "2", "enableSpotBorrow": False, "spotBorrowAutoRepay": False}], []
        if path == "/api/v5/account/trade-fee":
            _inst_type(q, ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"))
            return [{"instType": q.get("instType", "SWAP"), "level": "Lv1", "maker": "-" + fmt_num(v.maker_fee),
                     "taker": "-" + fmt_num(v.taker_fee), "makerU": "-" + fmt_num(v.maker_fee),
                     "takerU": "-" + fmt_num(v.taker_fee), "ts": str(self.now_ms())}], []
        if path == "/api/v5/account/leverage-info":
            insts = [i for i in (q.get("instId") or "").split(",") if i]
            if not insts or q.get("mgnMode") not in ("cross", "isolated"):
                raise _Err("51000", "Parameter instId or mgnMode error")
            return [{"instId": i, "mgnMode": q["mgnMode"], "posSide": "net", "lever": fmt_num(self.leverage)} for i in insts], []
        if path == "/api/v5/account/balance":
            w = v.wallet()["list"][0]
            return [{"totalEq": w["totalEquity"], "uTime": str(self.now_ms()), "details": [
                {"ccy": "USDT", "eq": w["totalEquity"], "cashBal": w["totalWalletBalance"], "availBal": w["totalAvailableBalance"],
                 "availEq": w["totalAvailableBalance"], "upl": w["coin"][0]["unrealisedPnl"]}]}], []
        if path == "/api/v5/account/positions":
            out = []
            for sym, pos in v.positions.items():
                if pos.size and (not q.get("instId") or q["instId"] == sym):
                    ps, pos_s = self._pos_fields(pos.size)
                    out.append({"instType": "SWAP", "instId": sym, "mgnMode": "cross", "posSide": ps, "pos": pos_s,
                                "avgPx": fmt_num(pos.entry_price), "markPx": fmt_num(v.last_price.get(sym, pos.entry_price)),
                                "lever": fmt_num(self.leverage), "upl": "0", "uTime": str(self.now_ms())})
            return out, []
        if path == "/api/v5/trade/order" and method == "POST":
            return self._one(self._place, body)
        if path == "/api/v5/trade/order" and method == "GET":
            o = self._find(q)
            if o is None:
                raise _Err("51603", "Order does not exist.", 200)
            return [self._order_json(o)], []
        if path == "/api/v5/trade/fills" and method == "GET":
            _inst_type(q, ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"))
            return self._fills_page(q), []
        if path == "/api/v5/trade/orders-pending":
            return [self._order_json(o) for o in v.open_orders(q.get("instId") or None)
                    if o.order_id not in self._kid_algo and o.status in ("New", "PartiallyFilled")], []
        if path == "/api/v5/trade/cancel-order" and method == "POST":
            return self._one(self._cancel, body)
        if path == "/api/v5/trade/cancel-batch-orders" and method == "POST":
            return self._batch(self._cancel, body, 20)
        if path == "/api/v5/trade/order-algo" and method == "POST":
            return self._one(self._place_algo, body)
        if path == "/api/v5/trade/cancel-algos" and method == "POST":
            return self._batch(self._cancel_algo, body, 10)
        if path == "/api/v5/trade/order-algo" and method == "GET":  # OKX v5 "Get algo order details"
            a = next((x for x in self._algos.values() if (q.get("algoId") and x["algoId"] == q["algoId"])
                      or (q.get("algoClOrdId") and x["algoClOrdId"] == q["algoClOrdId"])), None)
            if a is None:
                raise _Err("51603", "Order does not exist.")
            return [self._algo_json(a)], []
        if path == "/api/v5/trade/orders-algo-pending":
            return [self._algo_json(a) for a in self._algos.values() if a["state"] == "live"
                    and (not q.get("algoClOrdId") or a["algoClOrdId"] == q["algoClOrdId"])], []
        raise _Err("404", f"unknown path {path}", 404)

    def _one(self, fn, body):
        if not isinstance(body, dict):
            raise _Err("50000", "Body can not be empty.", 400)
        try:
            row, pushes = fn(body)
        except _ItemErr as e:
            raise _Err("1", "All operations failed", 200, [{"sCode": e.s_code, "sMsg": e.s_msg, "clOrdId": body.get("clOrdId", ""),
                                                             "algoClOrdId": body.get("algoClOrdId", ""), "ordId": "", "algoId": ""}]) from None
        return [row], pushes

    def _batch(self, fn, body, limit: int):
        if not isinstance(body, list) or not body:
            raise _Err("50000", "Body can not be empty.", 400)
        if len(body) > limit:
            raise _Err("51000", f"Parameter error: at most {limit} orders per request")
        rows, pushes, failed = [], [], 0
        for item in body:
            try:
                row, ps = fn(item if isinstance(item, dict) else {})
                rows.append(row)
                pushes += ps
            except _ItemErr as e:
                failed += 1
                rows.append({"sCode": e.s_code, "sMsg": e.s_msg, "ordId": (item or {}).get("ordId", ""),
                             "clOrdId": (item or {}).get("clOrdId", ""), "algoId": (item or {}).get("algoId", "")})
        if failed:
            raise _Err("1" if failed == len(body) else "2", "All operations failed" if failed == len(body)
                       else "Batch operation partially succeeded", 200, rows)
        return rows, pushes

    def _inst_json(self, i: str, m: dict) -> dict:
        base, quote = i.split("-")[0], i.split("-")[1]
        inv = quote == "USD"  # an inverse swap (BTC-USD-SWAP): ctVal USD a contract, settled in the coin
        return {"instType": "SWAP", "instId": i, "instIdCode": m["instIdCode"], "uly": f"{base}-{quote}",
                "instFamily": f"{base}-{quote}", "settleCcy": base if inv else quote, "ctVal": fmt_num(m["ctVal"]),
                "ctMult": "1", "ctValCcy": "USD" if inv else base, "ctType": "inverse" if inv else "linear", "lotSz": fmt_num(m["lotSz"]), "minSz": fmt_num(m["minSz"]),
                "tickSz": fmt_num(m["tickSz"]), "maxLmtSz": "100000000", "maxMktSz": "10000", "lever": "100",
                "state": "live", "listTime": "1611916800000", "expTime": "", "ruleType": "normal"}

    def _ticker_json(self, i: str, m: dict) -> dict:
        """A ``/api/v5/market/tickers`` row: ``last`` the last trade (``set_last_price`` or :meth:`trade`; "" before
        any); ``vol24h`` contracts and ``volCcy24h`` base units traded through :meth:`trade` (the fake's whole life
        counts as the 24 h), else the instrument's own ``volCcy24h`` (0 without one); the best bid and ask at the
        last price."""
        last = self.venue.last_price.get(i)
        px = fmt_num(last) if last else ""
        traded = self.volume.get(i, 0.0)
        ct = float(m["ctVal"])
        vol_ccy = traded * ct if traded else float(m.get("volCcy24h", 0.0))
        return {"instType": "SWAP", "instId": i, "last": px, "lastSz": "1" if px else "", "askPx": px,
                "askSz": "1" if px else "", "bidPx": px, "bidSz": "1" if px else "", "open24h": px, "high24h": px,
                "low24h": px, "volCcy24h": fmt_num(vol_ccy), "vol24h": fmt_num(traded if traded else vol_ccy / ct),
                "sodUtc0": px, "sodUtc8": px, "ts": str(self.now_ms())}

    def _find(self, p: dict) -> FakeOrder | None:
        if p.get("ordId"):
            for fid, oid in self._ord_id.items():
                if oid == p["ordId"]:
                    o = self.venue.orders[fid]
                    return o if (not p.get("instId") or o.symbol == p["instId"]) else None
            return None
        if p.get("clOrdId"):
            live = [o for o in self.orders_with_client_id(p["clOrdId"]) if o.order_id not in self._kid_algo]
            live.sort(key=lambda o: o.created_ms)
            o = live[-1] if live else None
            return o if (o is not None and (not p.get("instId") or o.symbol == p["instId"])) else None
        raise _ItemErr("51000", "Parameter ordId or clOrdId error")

    def _size(self, inst: str, sz_s) -> float:
        m = self.instruments[inst]
        try:
            sz = float(sz_s)
        except (TypeError, ValueError):
            raise _ItemErr("51000", "Parameter sz error") from None
        if not (sz > 0 and math.isfinite(sz)):
            raise _ItemErr("51000", "Parameter sz error")
        n = sz / m["lotSz"]
        if abs(n - round(n)) > 1e-6:
            raise _ItemErr("51121", "Order quantity must be a multiple of the lot size.")
        if sz < m["minSz"] - 1e-12:
            raise _ItemErr("51020", "Your order should meet or exceed the minimum order amount.")
        return sz

    def _pos_fields(self, size: float) -> tuple[str, str]:
        """A position's ``posSide`` and ``pos`` as OKX v5 "Get positions" gives them: net mode ``net`` with a signed
        ``pos``; long/short mode the leg (``long`` / ``short``) with a positive ``pos`` (the fake holds one leg)."""
        if self.pos_mode == "long_short_mode":
            return ("long" if size >= 0 else "short"), fmt_num(abs(size))
        return "net", fmt_num(size) if size >= 0 else "-" + fmt_num(-size)

    def _pos_side(self, p: dict, closing: bool) -> None:
        ps = p.get("posSide")
        if self.pos_mode == "net_mode":
            if ps not in (None, "", "net"):
                raise _ItemErr("51000", "Parameter posSide error")
        elif ps not in ("long", "short"):
            raise _ItemErr("51000", "Parameter posSide error")

    def _closes_leg(self, p: dict) -> bool:
        """Long/short mode (OKX v5 "Place order": ``posSide`` "It is required in the long/short mode"; "Close
        positions"): sell + ``long`` and buy + ``short`` close that leg, reduce-only; closing a leg that is not open
        is 51169 "Order failed because you don't have any positions in this direction"."""
        if self.pos_mode != "long_short_mode":
            return False
        ps, side = p.get("posSide"), p.get("side")
        if (ps, side) not in (("long", "sell"), ("short", "buy")):
            return False
        pos = self.venue.positions.get(p.get("instId"))
        size = pos.size if pos is not None else 0.0
        if (ps == "long" and size <= 0) or (ps == "short" and size >= 0):
            raise _ItemErr("51169", "Order failed because you don't have any positions in this direction for this "
                                    "contract to reduce or close.")
        return True

    def _place(self, p: dict):
        v = self.venue
        inst = p.get("instId")
        if inst not in self.instruments:
            raise _ItemErr("51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist.")
        cl = p.get("clOrdId") or ""
        if cl and not _CLORD.fullmatch(cl):
            raise _ItemErr("51000", "Parameter clOrdId error")
        if cl and any(o.status in ("New", "PartiallyFilled") for o in self.orders_with_client_id(cl)):
            raise _ItemErr("51016", "Client order ID already exists.")
        if p.get("tdMode") not in ("cross", "isolated"):
            raise _ItemErr("51000", "Parameter tdMode error")
        side = p.get("side")
        if side not in ("buy", "sell"):
            raise _ItemErr("51000", "Parameter side error")
        otype = p.get("ordType")
        if otype not in ("post_only", "limit", "market", "ioc"):
            raise _ItemErr("51000", "Parameter ordType error")
        reduce_only = str(p.get("reduceOnly", "false")).lower() == "true"
        self._pos_side(p, reduce_only)
        sz = self._size(inst, p.get("sz"))
        reduce_only = self._closes_leg(p) or reduce_only
        px = 0.0
        if otype != "market":
            try:
                px = float(p.get("px"))
            except (TypeError, ValueError):
                raise _ItemErr("51000", "Parameter px error") from None
            n = px / self.instruments[inst]["tickSz"]
            if not (px > 0 and abs(n - round(n)) < 1e-6):
                raise _ItemErr("51000", "Parameter px error")
        if not reduce_only:
            ref = px or v.last_price.get(inst, 0.0)
            margin = sz * self.instruments[inst]["ctVal"] * ref / self.leverage
            if margin > v.wallet_balance:
                raise _ItemErr("51008", "Order failed. Insufficient USDT margin in account")
        body = {"category": "linear", "symbol": inst, "side": side.capitalize(), "qty": fmt_num(sz), "orderLinkId": cl,
                "orderType": "Market" if otype == "market" else "Limit", "reduceOnly": reduce_only}
        if otype != "market":
            body["price"] = fmt_num(px)
            body["timeInForce"] = {"post_only": "PostOnly", "ioc": "IOC"}.get(otype, "GTC")
        try:
            res, pushes = v.create(body)
        except VenueError as e:
            raise _ItemErr("51169" if e.ret_code == 110017 else "51000",
                           "Order failed because you don't have any positions to reduce." if e.ret_code == 110017 else e.ret_msg) from None
        o = v.orders[res["orderId"]]
        return {"ordId": self._oid(o), "clOrdId": cl, "tag": "", "ts": str(self.now_ms()), "sCode": "0",
                "sMsg": "Order placed", "subCode": ""}, pushes

    def _cancel(self, p: dict):
        if p.get("instId") not in self.instruments:
            raise _ItemErr("51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist.")
        o = self._find(p)
        if o is None or o.status not in ("New", "PartiallyFilled") or o.order_id in self._kid_algo:
            raise _ItemErr("51400", "Order cancellation failed as the order has been filled, canceled or does not exist.")
        _, pushes = self.venue.cancel({"orderId": o.order_id})
        return {"ordId": self._oid(o), "clOrdId": o.order_link_id, "ts": str(self.now_ms()), "sCode": "0",
                "sMsg": "", "subCode": ""}, pushes

    def _place_algo(self, p: dict):
        inst = p.get("instId")
        if inst not in self.instruments:
            raise _ItemErr("51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist.")
        typ = p.get("ordType")
        if typ not in ("conditional", "oco"):
            raise _ItemErr("51000", "Parameter ordType error")
        acl = p.get("algoClOrdId") or ""
        if acl and not _CLORD.fullmatch(acl):
            raise _ItemErr("51000", "Parameter algoClOrdId error")
        if acl and any(a["algoClOrdId"] == acl and a["state"] == "live" for a in self._algos.values()):
            raise _ItemErr("51016", "Client order ID already exists.")
        if p.get("tdMode") not in ("cross", "isolated") or p.get("side") not in ("buy", "sell"):
            raise _ItemErr("51000", "Parameter tdMode or side error")
        self._pos_side(p, True)
        if self.pos_mode == "net_mode" and str(p.get("reduceOnly", "")).lower() != "true":
            raise _ItemErr("51000", "Parameter reduceOnly error: must be true when posSide is net")
        sz = self._size(inst, p.get("sz"))
        legs = []
        for kind, trig_k, px_k in (("StopLoss", "slTriggerPx", "slOrdPx"), ("TakeProfit", "tpTriggerPx", "tpOrdPx")):
            if p.get(trig_k) in (None, ""):
                continue
            try:
                trig, ordpx = float(p[trig_k]), float(p.get(px_k) or "nan")
            except (TypeError, ValueError):
                raise _ItemErr("51000", f"Parameter {trig_k} error") from None
            if math.isnan(ordpx):
                raise _ItemErr("51000", f"Parameter {px_k} error")
            legs.append((kind, trig, ordpx))
        if not legs or (typ == "oco" and len(legs) != 2):
            raise _ItemErr("51000", "Parameter tpTriggerPx or slTriggerPx error")
        aid = str(next(self._ids))
        a = {"algoId": aid, "algoClOrdId": acl, "instId": inst, "ordType": typ, "side": p["side"], "tdMode": p["tdMode"],
             "sz": fmt_num(sz), "state": "live", "kids": [], "cTime": self.now_ms()}
        for k in ("tpTriggerPx", "tpOrdPx", "slTriggerPx", "slOrdPx"):
            if p.get(k) not in (None, ""):
                a[k] = str(p[k])
        pushes = []
        for kind, trig, ordpx in legs:
            o, ps = self.venue.place_conditional(inst, p["side"].capitalize(), kind, trig, sz,
                                                 "Market" if ordpx == -1 else "Limit", 0.0 if ordpx == -1 else ordpx)
            a["kids"].append(o.order_id)
            self._kid_algo[o.order_id] = aid
            pushes += ps
        self._algos[aid] = a
        return {"algoId": aid, "algoClOrdId": acl, "clOrdId": "", "tag": "", "sCode": "0", "sMsg": ""}, pushes

    def _cancel_algo(self, p: dict):
        a = self._algos.get(str(p.get("algoId") or ""))
        if a is None and p.get("algoClOrdId"):
            a = next((x for x in self._algos.values() if x["algoClOrdId"] == p["algoClOrdId"] and x["state"] == "live"), None)
        if a is None or a["state"] != "live" or a["instId"] != p.get("instId"):
            raise _ItemErr("51400", "Order cancellation failed as the order has been filled, canceled or does not exist.")
        a["state"] = "canceled"
        for k in a["kids"]:
            o = self.venue.orders[k]
            if o.status == "Untriggered":
                o.status, o.cancel_type = "Deactivated", "CancelByUser"
        asyncio.get_running_loop().call_soon(
            lambda: asyncio.ensure_future(self.publish("orders-algo", {"channel": "orders-algo", "instType": "SWAP"},
                                                       [self._algo_json(a)])))
        return {"algoId": a["algoId"], "algoClOrdId": a["algoClOrdId"], "sCode": "0", "sMsg": ""}, []


# ---- the registry's ``fake`` part (liqcore.venues.registry)
#: the venue's whole local fake (REST, private and public websockets on 127.0.0.1)
FAKE = FakeOkx
