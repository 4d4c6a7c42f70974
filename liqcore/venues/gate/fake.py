"""A fake Gate futures v4 venue (USDT settle): a real aiohttp server on 127.0.0.1 laid out like Gate (REST
``/api/v4/...``, the websocket ``/v4/ws/usdt`` with the public and the private channels), sharing the matching rules
of :mod:`liqcore.venues.fake_book`; sizes are signed contracts of ``quanto_multiplier``.  Each rule it enforces
follows a Gate document named in tests/venues/test_gate_fake.py; its faults are the other fakes' (``fail_next``,
``delay_next``) and :meth:`FakeGate.answer_label_next`, :meth:`FakeGate.rate_limit_next`, :meth:`FakeGate.mute`,
:meth:`FakeGate.drop`, :meth:`FakeGate.end_auto_by_venue`.

Why one module: one server's REST and websocket handlers share its book, orders and keys.  This module is the Gate
venue's registry part ``fake`` (:data:`FAKE`).
May import: ``aiohttp``, ``orjson``, the venues' shared ``fake_book`` and ``loopback`` and ``gate.rest`` /
``gate.fake_streams`` (the signing and the public topics).
"""
from __future__ import annotations

import asyncio
import hmac
import itertools
import math
import re
import time
from urllib.parse import parse_qsl

import orjson

from liqcore.venues.fake_book import FakeVenue, VenueError, fmt_num
from liqcore.venues.gate.fake_streams import CHANNELS as PUBLIC_CHANNELS, _topic, streams
from liqcore.venues.gate.rest import TIME_SKEW_LIMIT_S, sign, ws_auth
from liqcore.venues.loopback import FakeRequest, HttpFault, LoopbackVenue, send_or_drop

__all__ = ["FakeGate", "FAKE", "GATE_API_KEY", "GATE_API_SECRET", "GATE_CONTRACTS", "GATE_USER_ID"]

GATE_API_KEY = "fake-gate-key-0001"
GATE_API_SECRET = "FAKEGATESECRET0000DONOTUSE"
GATE_USER_ID = "10001"

#: the contracts the fake lists by default: ``quanto_multiplier``, ``order_price_round``, ``order_size_min`` as Gate
#: lists BTC_USDT and ETH_USDT (the bundled ``contracts-usdt.json``)
GATE_CONTRACTS: dict[str, dict] = {
    "BTC_USDT": {"mult": 0.0001, "tick": 0.1, "min": 1},
    "ETH_USDT": {"mult": 0.01, "tick": 0.01, "min": 1},
    "SOL_USDT": {"mult": 1.0, "tick": 0.001, "min": 1},
}
_API = "/api/v4"
_FUT = _API + "/futures/usdt"
_TEXT = re.compile(r"t-[0-9A-Za-z_.\-]{1,28}")
#: how long a finished order can still be asked for by its ``text`` (Gate API v4, "Get a single order": "within 60
#: seconds after the end of the order. After that, only order ID is accepted")
TEXT_WINDOW_MS = 60_000


class _Err(Exception):
    def __init__(self, label: str, message: str, http: int = 400) -> None:
        super().__init__(message)
        self.label, self.message, self.http = label, message, http


class FakeGate(LoopbackVenue):
    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, api_keys: dict[str, str] | None = None,
                 contracts: dict[str, dict] | None = None, time_offset_ms: int = 0, maker_fee: float = -0.00025,
                 taker_fee: float = 0.00075, equity: float = 10_000.0, user_id: str = GATE_USER_ID) -> None:
        self.host, self.port = host, port
        self.api_keys = dict(api_keys) if api_keys else {GATE_API_KEY: GATE_API_SECRET}
        self.contracts = {k: dict(v) for k, v in (contracts or GATE_CONTRACTS).items()}
        self.time_offset_ms = int(time_offset_ms)
        self.user_id = str(user_id)
        self.maker_fee, self.taker_fee = maker_fee, taker_fee
        grid = {c: {"tickSize": m["tick"], "qtyStep": 1.0, "minOrderQty": float(m["min"]),
                    "contractValue": float(m["mult"])} for c, m in self.contracts.items()}
        # (a price-triggered close stays when the position goes flat: the gateway cancels what is left)
        self.venue = FakeVenue(instruments=grid, maker_fee=maker_fee, taker_fee=taker_fee, equity=equity,
                               auto_deactivate=False, clock_ms=self.now_ms)
        self.requests: list[FakeRequest] = []
        self.http_faults: list[HttpFault] = []
        self.label_faults: list[dict] = []
        self.ws_log: list[dict] = []  # every websocket request received
        self._ids = itertools.count(58_000_000_001)
        self._gid: dict[str, int] = {}  # FakeVenue order id -> Gate order id
        self._text: dict[str, str] = {}  # FakeVenue order id -> text
        self._finished_ms: dict[str, int] = {}
        self._auto: dict[int, dict] = {}  # price-triggered order id -> {"row", "oid"}
        self._auto_of: dict[str, int] = {}  # FakeVenue order id of a price-triggered close -> its id
        self._tid = itertools.count(200_000_001)
        self._conns: list[dict] = []
        self._muted: set[int] = set()
        self._runner = None
        self.pongs = 0

    # ------------------------------------------------------------------ lifecycle
    @property
    def ws_base(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"{self.ws_base}/v4/ws/usdt"

    async def start(self) -> "FakeGate":
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/v4/ws/usdt", self._ws)
        app.router.add_route("*", "/{tail:.*}", self._http)
        await self._serve(app)
        return self

    async def stop(self) -> None:
        self.drop()
        await self._unserve()

    # ------------------------------------------------------------------ controls
    def rate_limit_next(self, k: int = 1, path: str | None = None) -> None:
        """The next ``k`` requests (to ``path``) answer HTTP 429 ``TOO_MANY_REQUESTS`` with
        ``X-Gate-RateLimit-Requests-Remain: 0`` and a reset 200 ms ahead, without being processed."""
        self.http_faults.extend(HttpFault("rate_limit", path, status=429) for _ in range(k))

    def answer_label_next(self, label: str, path: str | None = None, *, process: bool, k: int = 1, http: int = 500,
                          method: str = "POST") -> None:
        """The next ``k`` ``method`` requests (to ``path``) answer ``{"label": label}`` with HTTP ``http``, after
        doing what they ask (``process=True``: the order IS created) or without."""
        self.label_faults.extend({"path": path, "method": method, "label": label, "http": http, "process": process}
                                 for _ in range(k))

    def mute(self) -> int:
        """Play every open private websocket open but mute: no push reaches it, its ``futures.ping`` gets no pong."""
        n = 0
        for c in self._conns:
            if c["private"]:
                self._muted.add(id(c["ws"]))
                n += 1
        return n

    def drop(self) -> int:
        """Close every websocket abruptly (the transport, no close frame)."""
        n = 0
        for c in list(self._conns):
            tr = c.get("tr")
            if tr is not None:
                tr.close()
                n += 1
        return n

    def subscribed(self, name: str) -> bool:
        """Whether a connection holds ``name``: a private channel, or a public topic (``{"channel", "payload"}``)."""
        return any(name in c["channels"] or name in c["topics"] for c in self._conns)

    def authed_private(self) -> int:
        """The connections holding a private channel (a trading session's private stream)."""
        return sum(1 for c in self._conns if c["private"] and c["channels"])

    def requests_to(self, path: str, method: str | None = None) -> list[FakeRequest]:
        return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    def orders_with_text(self, text: str) -> list[dict]:
        return [self._order_json(o) for oid, o in self.venue.orders.items() if self._text.get(oid) == text
                and oid not in self._auto_of]

    def auto_orders(self, status: str | None = None) -> list[dict]:
        rows = [self._auto_json(i) for i in self._auto]
        return [r for r in rows if status is None or r["status"] == status]

    async def end_auto_by_venue(self, text: str, finish_as: str = "cancelled") -> dict:
        """Gate ends an open price-triggered order of its own accord (``finish_as`` cancelled, failed or expired):
        it leaves the book and ``futures.autoorders`` says so."""
        for aid, a in self._auto.items():
            o = self.venue.orders[a["oid"]]
            if a["row"]["initial"].get("text") == text and o.status == "Untriggered":
                o.status, a["finish_as"] = "Deactivated", finish_as
                row = self._auto_json(aid)
                await self._push("futures.autoorders", row)
                return row
        raise KeyError(text)

    async def trade(self, contract: str, price: float, size: float = math.inf) -> None:
        """A print of ``size`` contracts at ``price``: resting orders and triggers matched, the trade pushed."""
        pushes = self.venue.on_trade(contract, float(price), float(size))
        await self._push_all(pushes)
        now = self.now_ms()
        sz = 1 if math.isinf(size) else size
        frame = orjson.dumps({"time": now // 1000, "time_ms": now, "channel": "futures.trades", "event": "update",
                              "result": [{"contract": contract, "size": fmt_num(sz), "id": next(self._tid),
                                          "create_time": now // 1000, "create_time_ms": now, "price": fmt_num(price)}]})
        await self.publish(frame)

    async def liquidation(self, contract: str, price: float, size: float, side: str = "long") -> None:
        """A ``futures.public_liquidates`` push of the liquidation of a ``side`` (``long`` / ``short``) position of
        ``size`` contracts (> 0).  The row's ``size`` is the forced order's, as Gate signs an order (Gate Futures
        WebSocket v4, "public liquidate order notification": ``size`` "liquidate order quantity"; an order's ``size``
        "positive number to make a bid, and negative number to ask"): a long's is negative (a forced sell)."""
        from liqcore.venues.gate.samples import liquidation_frame

        if not size > 0:
            raise ValueError(f"size: the contracts liquidated, > 0 (the side says which position), got {size!r}")
        await self.publish(liquidation_frame(contract, self.now_ms(), size, price, side))

    async def match_frame(self, data: bytes) -> int:
        """One replayed public push: its prints (``futures.trades``) through the matching first, then the push to
        its subscribers; 1 when it was a push of a public channel, else 0."""
        if not streams(data):
            return 0
        try:
            m = orjson.loads(data)
            rows = m["result"] if m.get("channel") == "futures.trades" else []
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            rows = []
        for r in rows if isinstance(rows, list) else []:
            try:
                c, px, sz = str(r["contract"]), float(r["price"]), abs(float(r["size"]))
            except (KeyError, TypeError, ValueError):
                continue
            if c in self.contracts:
                await self._push_all(self.venue.on_trade(c, px, sz))
        await self.publish(data)
        return 1

    async def publish(self, frame: bytes) -> int:
        """One public push to the connections subscribed to its topics."""
        names = set(streams(frame))
        n = 0
        for c in list(self._conns):
            if id(c["ws"]) in self._muted or not (names & c["topics"]):
                continue
            n += await send_or_drop(c["ws"], frame.decode())  # (a client that stopped reading is dropped)
        return n

    # ------------------------------------------------------------------ wire objects
    def _sz(self, x: float) -> str:
        return fmt_num(abs(x)) if x >= 0 else "-" + fmt_num(abs(x))

    def _order_json(self, o) -> dict:
        gid = self._gid[o.order_id]
        sign_ = 1 if o.side == "Buy" else -1
        open_ = o.status in ("New", "PartiallyFilled")
        row = {"id": gid, "user": int(self.user_id), "contract": o.symbol, "create_time": o.created_ms / 1000,
               "create_time_ms": o.created_ms, "size": self._sz(sign_ * o.qty), "iceberg": 0,
               "left": self._sz(sign_ * (o.qty - o.cum_exec_qty) if (open_ or o.status != "Filled") else 0),
               "price": fmt_num(o.price), "fill_price": fmt_num(o.avg_price), "mkfr": fmt_num(self.maker_fee),
               "tkfr": fmt_num(self.taker_fee), "tif": {"PostOnly": "poc", "IOC": "ioc"}.get(o.time_in_force, "gtc"),
               "refu": 0, "is_reduce_only": o.reduce_only, "is_close": False, "is_liq": False,
               "text": self._text.get(o.order_id, "api"), "status": "open" if open_ else "finished"}
        if not open_:
            fin = self._finished_ms.setdefault(o.order_id, self.now_ms())
            row.update(finish_time=fin / 1000, finish_time_ms=fin, finish_as="filled" if o.status == "Filled" else
                       ("reduce_only" if o.cancel_type == "CancelByReduceOnly" else "cancelled"))
        return row

    def _order_push(self, o) -> dict:
        """A ``futures.orders`` row: the order object and its ``update_time`` (Gate Futures WebSocket v4, "Orders
        notification": "Update Time (Milliseconds Timestamp)", example 1541505434123; REST orders have none)."""
        return dict(self._order_json(o), update_time=self.now_ms())

    def _auto_json(self, aid: int) -> dict:
        a = self._auto[aid]
        o = self.venue.orders[a["oid"]]
        row = dict(a["row"], id=aid, user=int(self.user_id))
        if o.status == "Untriggered":
            row.update(status="open", finish_as="", reason="")
        else:
            fa = a.get("finish_as") or ("succeeded" if o.status in ("Triggered", "Filled", "PartiallyFilled")
                                        or o.cum_exec_qty > 0 else "cancelled")
            row.update(status="finished", finish_as=fa, reason=fa, trade_id=self._gid.get(a["oid"], 0))
        return row

    def _trade_json(self, e: dict) -> dict:
        oid = e["orderId"]
        q = float(e["execQty"])
        return {"id": str(e["seq"]), "create_time": int(e["execTime"]) / 1000, "create_time_ms": int(e["execTime"]),
                "contract": e["symbol"], "order_id": str(self._gid.get(oid, "")),
                "size": self._sz(q if e["side"] == "Buy" else -q), "price": e["execPrice"],
                "role": "maker" if e["isMaker"] else "taker", "text": self._text.get(oid, "api"),
                "fee": e["execFee"], "point_fee": "0"}

    def _position_json(self, c: str) -> dict:
        p = self.venue.position(c)
        mark = self.venue.last_price.get(c, p.entry_price)
        mult = self.contracts[c]["mult"]
        return {"user": int(self.user_id), "contract": c, "size": self._sz(p.size),
                "entry_price": fmt_num(p.entry_price) if p.size else "0", "mark_price": fmt_num(mark),
                "unrealised_pnl": fmt_num((mark - p.entry_price) * p.size * mult) if p.size else "0",
                "realised_pnl": fmt_num(p.cum_realised_pnl), "leverage": "10", "mode": "single",
                "time_ms": p.updated_ms, "time": p.updated_ms // 1000}

    # ------------------------------------------------------------------ pushes
    async def _push(self, channel: str, row: dict) -> None:
        now = self.now_ms()
        text = orjson.dumps({"time": now // 1000, "time_ms": now, "channel": channel, "event": "update",
                             "result": [row]}).decode()
        for c in list(self._conns):
            if channel in c["channels"] and id(c["ws"]) not in self._muted:
                await send_or_drop(c["ws"], text)

    async def _push_all(self, pushes) -> None:
        """The matching's pushes as Gate's private channels: an order (a price-triggered close's order once it
        triggered), a trade, a position; a price-triggered close that triggers or ends on ``futures.autoorders``."""
        for topic, d in pushes:
            if topic == "execution":
                await self._push("futures.usertrades", self._trade_json(d))
            elif topic == "position":
                await self._push("futures.positions", self._position_json(d["symbol"]))
            elif topic == "order":
                oid = d["orderId"]
                o = self.venue.orders.get(oid)
                if o is None:
                    continue
                if oid in self._auto_of:
                    if o.status == "Triggered":
                        self._gid.setdefault(oid, next(self._ids))
                        await self._push("futures.autoorders", self._auto_json(self._auto_of[oid]))
                    elif o.status != "Untriggered" and oid in self._gid:
                        await self._push("futures.orders", self._order_push(o))
                    elif o.status == "Deactivated":
                        await self._push("futures.autoorders", self._auto_json(self._auto_of[oid]))
                    continue
                if oid in self._gid:
                    await self._push("futures.orders", self._order_push(o))

    # ------------------------------------------------------------------ websocket
    async def _ws(self, request):
        from aiohttp import WSMsgType, web

        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = {"ws": ws, "tr": request.transport, "channels": set(), "topics": set(), "private": False,
                "size_decimal": request.headers.get("X-Gate-Size-Decimal")}
        self._conns.append(conn)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type == WSMsgType.ERROR:
                        break
                    continue
                try:
                    req = orjson.loads(msg.data)
                    if not isinstance(req, dict):
                        raise ValueError
                except (orjson.JSONDecodeError, ValueError):
                    await ws.send_str(self._answer("", "", None, {"code": 1, "message": "invalid argument struct"}))
                    continue
                self.ws_log.append(req)
                ch, ev = req.get("channel"), req.get("event")
                if ch == "futures.ping":
                    if id(ws) not in self._muted:
                        self.pongs += 1
                        now = self.now_ms()
                        await ws.send_str(orjson.dumps({"time": now // 1000, "time_ms": now,
                                                        "channel": "futures.pong", "event": "", "result": None}).decode())
                    continue
                if ev not in ("subscribe", "unsubscribe"):
                    continue
                await ws.send_str(self._ws_op(conn, req, ch, ev))
        finally:
            if conn in self._conns:
                self._conns.remove(conn)
            self._muted.discard(id(ws))
        return ws

    def _answer(self, ch, ev, payload, error) -> str:
        now = self.now_ms()
        return orjson.dumps({"time": now // 1000, "time_ms": now, "channel": ch, "event": ev, "payload": payload,
                             "error": error, "result": None if error else {"status": "success"}}).decode()

    def _ws_op(self, conn: dict, req: dict, ch: str, ev: str) -> str:
        """A (un)subscription: a public channel by contracts; a private one (Gate Futures WebSocket v4,
        "Authentication") only with ``auth`` = ``{"method": "api_key", "KEY", "SIGN"}``, ``SIGN`` the hex HMAC-SHA512
        of ``channel=<channel>&event=<event>&time=<time>``, and the account's user id first in ``payload``."""
        payload = req.get("payload") or []
        if ch in PUBLIC_CHANNELS:
            if not isinstance(payload, list):
                return self._answer(ch, ev, payload, {"code": 2, "message": "invalid argument"})
            keys = [_topic(ch, payload)] if ch == "futures.order_book_update" else [_topic(ch, [x]) for x in payload]
            (conn["topics"].update if ev == "subscribe" else conn["topics"].difference_update)(keys)
            return self._answer(ch, ev, payload, None)
        if ch not in ("futures.orders", "futures.usertrades", "futures.positions", "futures.autoorders"):
            return self._answer(ch, ev, payload, {"code": 2, "message": f"unknown channel {ch}"})
        auth = req.get("auth") if isinstance(req.get("auth"), dict) else {}
        key = auth.get("KEY")
        t = req.get("time")
        if auth.get("method") != "api_key" or key not in self.api_keys or not isinstance(t, int) \
                or not hmac.compare_digest(str(auth.get("SIGN") or ""),
                                           ws_auth(key, self.api_keys[key], ch, ev, t)["SIGN"]):
            return self._answer(ch, ev, payload, {"code": 11, "message": "Authentication failed"})
        if not isinstance(payload, list) or len(payload) < 2 or str(payload[0]) != self.user_id:
            return self._answer(ch, ev, payload, {"code": 2, "message": "invalid argument: user id"})
        conn["private"] = True
        (conn["channels"].add if ev == "subscribe" else conn["channels"].discard)(ch)
        return self._answer(ch, ev, payload, None)

    # ------------------------------------------------------------------ REST
    def _auth(self, request, method: str, path: str, qs: str, body: str) -> str:
        """Gate API v4, "Authentication": ``KEY``, ``Timestamp`` (s, within 60 s of Gate's clock) and ``SIGN``."""
        h = request.headers
        key = h.get("KEY")
        if not key or not h.get("SIGN") or not h.get("Timestamp"):
            raise _Err("MISSING_REQUIRED_HEADER", "Missing required header KEY, Timestamp or SIGN", 401)
        if key not in self.api_keys:
            raise _Err("INVALID_KEY", "Invalid key provided", 401)
        try:
            ts = int(float(h["Timestamp"]))
        except ValueError:
            raise _Err("INVALID_SIGNATURE", "Signature mismatch", 401) from None
        if abs(ts * 1000 - self.now_ms()) > TIME_SKEW_LIMIT_S * 1000:
            raise _Err("REQUEST_EXPIRED", "Request Timestamp is far from the server time", 401)
        if not hmac.compare_digest(sign(self.api_keys[key], method, path, qs, body, h["Timestamp"]), h["SIGN"]):
            raise _Err("INVALID_SIGNATURE", "Signature mismatch", 401)
        return key

    async def _http(self, request):
        from aiohttp import web

        path, method = request.path, request.method
        qs = request.rel_url.raw_query_string
        body_text = (await request.read()).decode()
        try:
            body = orjson.loads(body_text) if body_text else None
        except orjson.JSONDecodeError:
            body = None
        q = dict(parse_qsl(qs))
        rec = FakeRequest(method, path, q, body if isinstance(body, dict) else {"_": body},
                          {k: v for k, v in request.headers.items() if k.startswith("X-Gate")}, time.time_ns())
        self.requests.append(rec)
        fault = next((self.http_faults.pop(i) for i, f in enumerate(self.http_faults)
                      if f.path is None or path.startswith(f.path)), None)
        lf = next((f for f in self.label_faults if f["path"] in (None, path) and f["method"] == method), None)
        if lf is not None:
            self.label_faults.remove(lf)
        if fault is not None and fault.kind == "rate_limit":
            rec.fault, rec.http_status = fault.kind, 429
            return web.Response(status=429, body=orjson.dumps({"label": "TOO_MANY_REQUESTS",
                                                               "message": "Request Rate limit Exceeded"}),
                                content_type="application/json", headers=self._limit_headers(0))
        if fault is not None and not fault.process:
            rec.fault, rec.http_status = fault.kind, fault.status
            if fault.kind == "delay":
                await asyncio.sleep(fault.delay)
            else:
                return web.Response(status=fault.status, text="Service Unavailable")
        if lf is not None and not lf["process"]:
            return self._label_answer(rec, lf)
        pushes = []
        try:
            doc, pushes = self._route(request, method, path, qs, q, body, body_text)
            status = 200
        except _Err as e:
            status, doc = e.http, {"label": e.label, "message": e.message}
            rec.ret_code = e.label
        except VenueError as e:
            status, doc = 400, {"label": "INVALID_PARAM_VALUE", "message": e.ret_msg}
            rec.ret_code = doc["label"]
        rec.http_status = status
        await self._push_all(pushes)
        if lf is not None:
            return self._label_answer(rec, lf)
        if fault is not None and fault.process:
            rec.fault = fault.kind
            if fault.kind == "delay":
                await asyncio.sleep(fault.delay)
            else:
                rec.http_status = fault.status
                return web.Response(status=fault.status, text="Bad Gateway")
        sized = request.headers.get("X-Gate-Size-Decimal") == "1"
        return web.Response(status=status, body=orjson.dumps(doc if sized else _int_sizes(doc)),
                            content_type="application/json", headers=self._limit_headers(99))

    def _limit_headers(self, remain: int) -> dict:
        """Gate API v4, "Frequency limit rule": every answer carries ``X-Gate-RateLimit-Requests-Remain``,
        ``-Limit`` and ``-Reset-Timestamp`` (the reset time once the limit is exceeded, else now)."""
        now = self.now_ms()
        return {"X-Gate-RateLimit-Requests-Remain": str(remain), "X-Gate-RateLimit-Limit": "100",
                "X-Gate-RateLimit-Reset-Timestamp": str(now + 200 if remain == 0 else now)}

    def _label_answer(self, rec: FakeRequest, lf: dict):
        from aiohttp import web

        rec.fault, rec.http_status, rec.ret_code = f"label {lf['label']}", lf["http"], lf["label"]
        return web.Response(status=lf["http"], body=orjson.dumps({"label": lf["label"], "message": lf["label"]}),
                            content_type="application/json")

    def _route(self, request, method, path, qs, q, body, body_text):
        if path == _API + "/spot/time":
            return {"server_time": self.now_ms()}, []
        if path == _FUT + "/contracts":
            return [{"name": c, "type": "direct", "quanto_multiplier": fmt_num(m["mult"]),
                     "order_price_round": fmt_num(m["tick"]), "mark_price_round": fmt_num(m["tick"]),
                     "order_size_min": m["min"], "order_size_max": 1000000, "in_delisting": False,
                     "status": "trading", "enable_decimal": True} for c, m in self.contracts.items()], []
        if path == _FUT + "/tickers":
            return [{"contract": c, "last": fmt_num(self.venue.last_price.get(c, 0.0)),
                     "mark_price": fmt_num(self.venue.last_price.get(c, 0.0)), "volume_24h_quote": "1000000"}
                    for c in self.contracts if q.get("contract") in (None, c)], []
        if not path.startswith(_FUT):
            raise _Err("NOT_FOUND", f"{path} not found", 404)
        self._auth(request, method, path, qs, body_text)
        tail = path[len(_FUT):]
        if tail == "/accounts" and method == "GET":
            upnl = sum(float(self._position_json(c)["unrealised_pnl"]) for c in self.contracts)
            return {"user": int(self.user_id), "currency": "USDT", "total": fmt_num(self.venue.wallet_balance),
                    "unrealised_pnl": fmt_num(upnl), "available": fmt_num(self.venue.wallet_balance),
                    "in_dual_mode": False}, []
        if tail == "/orders" and method == "POST":
            return self._place(body if isinstance(body, dict) else {})
        if tail == "/orders" and method == "GET":
            st = q.get("status")
            if st not in ("open", "finished"):
                raise _Err("INVALID_PARAM_VALUE", "status must be open or finished")
            rows = [self._order_json(o) for oid, o in self.venue.orders.items() if oid in self._gid
                    and oid not in self._auto_of and (q.get("contract") in (None, o.symbol))]
            return [r for r in rows if r["status"] == st], []
        if tail.startswith("/orders/"):
            o = self._find(tail[len("/orders/"):])
            if method == "GET":
                return self._order_json(o), []
            if method == "DELETE":
                if o.status not in ("New", "PartiallyFilled"):
                    raise _Err("ORDER_NOT_FOUND", "Order not found", 404)
                _, pushes = self.venue.cancel({"orderId": o.order_id})
                return self._order_json(o), pushes
        if tail == "/fee" and method == "GET":
            return {c: {"maker_fee": fmt_num(self.maker_fee), "taker_fee": fmt_num(self.taker_fee)}
                    for c in self.contracts if q.get("contract") in (None, c)}, []
        if tail == "/my_trades" and method == "GET":
            rows = [self._trade_json(e) for e in self.venue.executions if q.get("contract") in (None, e["symbol"])]
            return list(reversed(rows))[: int(q.get("limit", 100))], []
        if tail == "/positions" and method == "GET":
            return [self._position_json(c) for c, p in self.venue.positions.items() if p.size], []
        if tail.startswith("/positions/") and method == "GET":
            c = tail[len("/positions/"):]
            if c not in self.contracts:
                raise _Err("CONTRACT_NOT_FOUND", "Contract not found", 400)
            return self._position_json(c), []
        if tail == "/price_orders" and method == "POST":
            return self._place_auto(body if isinstance(body, dict) else {})
        if tail == "/price_orders" and method == "GET":
            st = q.get("status")
            if st not in ("open", "finished"):
                raise _Err("INVALID_PARAM_VALUE", "status must be open or finished")
            return [r for r in self.auto_orders(st) if q.get("contract") in (None, r["initial"]["contract"])], []
        if tail.startswith("/price_orders/"):
            try:
                aid = int(tail[len("/price_orders/"):])
                self._auto[aid]
            except (ValueError, KeyError):
                raise _Err("AUTO_ORDER_NOT_FOUND", "Price-triggered order not found", 404) from None
            if method == "DELETE":
                o = self.venue.orders[self._auto[aid]["oid"]]
                if o.status != "Untriggered":
                    raise _Err("AUTO_ORDER_NOT_FOUND", "Price-triggered order not found", 404)
                o.status = "Deactivated"
                self._auto[aid]["finish_as"] = "cancelled"
                return self._auto_json(aid), [("order", {"orderId": o.order_id})]
            return self._auto_json(aid), []
        raise _Err("NOT_FOUND", f"{method} {path} not found", 404)

    def _find(self, ref: str):
        """An order by Gate's id, or by its ``text`` while open or within :data:`TEXT_WINDOW_MS` of its end."""
        if ref.startswith("t-"):
            now = self.now_ms()
            for oid in reversed(list(self._gid)):
                o = self.venue.orders.get(oid)
                if o is None or oid in self._auto_of or self._text.get(oid) != ref:
                    continue
                if o.status in ("New", "PartiallyFilled") or now - self._finished_ms.get(oid, now) <= TEXT_WINDOW_MS:
                    self._order_json(o)  # (stamps its end once)
                    return o
            raise _Err("ORDER_NOT_FOUND", "Order not found", 404)
        for oid, gid in self._gid.items():
            if str(gid) == ref and oid in self.venue.orders and oid not in self._auto_of:
                return self.venue.orders[oid]
        raise _Err("ORDER_NOT_FOUND", "Order not found", 404)

    @staticmethod
    def _size(v) -> float:
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise _Err("INVALID_PARAM_VALUE", f"size: {v!r}") from None
        if not math.isfinite(x) or x != int(x):
            raise _Err("INVALID_PARAM_VALUE", f"size: {v!r} is not a whole number of contracts")
        return x

    def _place(self, b: dict):
        """``POST /futures/usdt/orders`` (Gate API v4, "Create a futures order"): ``size`` signed contracts,
        ``price`` "0" with ``tif`` ``ioc`` a market order, ``tif`` gtc / ioc / poc / fok, ``text`` ``t-`` + at most
        28 of ``[0-9A-Za-z_.-]``; a post-only order that would take is refused (``ORDER_POC_IMMEDIATE``)."""
        c = b.get("contract")
        if c not in self.contracts:
            raise _Err("CONTRACT_NOT_FOUND", "Contract not found")
        size = self._size(b.get("size"))
        if size == 0:
            raise _Err("INVALID_PARAM_VALUE", "size: 0")
        text = b.get("text", "")
        if text and not _TEXT.fullmatch(str(text)):
            raise _Err("INVALID_PARAM_VALUE", "text: must be t- and at most 28 of 0-9 A-Z a-z _ - .")
        tif = b.get("tif", "gtc")
        if tif not in ("gtc", "ioc", "poc", "fok"):
            raise _Err("INVALID_PARAM_VALUE", f"tif: {tif!r}")
        price = str(b.get("price", ""))
        market = price == "0"
        if market and tif not in ("ioc", "fok"):
            raise _Err("INVALID_PARAM_VALUE", "a market order (price 0) takes tif ioc")
        if abs(size) < self.contracts[c]["min"]:
            raise _Err("SIZE_TOO_SMALL", "size below order_size_min")
        p = {"category": "linear", "symbol": c, "side": "Buy" if size > 0 else "Sell",
             "orderType": "Market" if market else "Limit", "qty": abs(size), "price": None if market else price,
             "timeInForce": {"poc": "PostOnly", "ioc": "IOC", "fok": "FOK"}.get(tif, "GTC"),
             "reduceOnly": bool(b.get("reduce_only"))}
        try:
            res, pushes = self.venue.create(p)
        except VenueError as e:
            if e.ret_code == 110017:
                raise _Err("REDUCE_ONLY_FAIL", "reduce-only order would open a position") from None
            raise
        o = self.venue.orders[res["orderId"]]
        if o.status == "Cancelled" and o.time_in_force == "PostOnly" and o.cum_exec_qty == 0:
            del self.venue.orders[o.order_id]
            raise _Err("ORDER_POC_IMMEDIATE", "order would match immediately")
        self._gid[o.order_id] = next(self._ids)
        self._text[o.order_id] = str(text or "api")
        return self._order_json(o), pushes

    def _place_auto(self, b: dict):
        """``POST /futures/usdt/price_orders`` (Gate API v4, "Create a price-triggered order"): ``initial`` (a close:
        ``reduce_only``, ``price`` "0" / ``tif`` ``ioc``; ``size`` 0 for the whole position), ``trigger`` (``rule`` 1
        >=, 2 <=; a trigger already met is refused: ``AUTO_TRIGGER_PRICE_LESS_LAST`` /
        ``AUTO_TRIGGER_PRICE_GREATE_LAST``) and ``order_type``."""
        init, trig = b.get("initial"), b.get("trigger")
        if not isinstance(init, dict) or not isinstance(trig, dict):
            raise _Err("INVALID_PARAM_VALUE", "initial and trigger are required")
        c = init.get("contract")
        if c not in self.contracts:
            raise _Err("CONTRACT_NOT_FOUND", "Contract not found")
        rule = trig.get("rule")
        if rule not in (1, 2) or trig.get("strategy_type", 0) != 0:
            raise _Err("INVALID_PARAM_VALUE", "trigger.rule must be 1 or 2, strategy_type 0")
        try:
            tp = float(trig.get("price"))
        except (TypeError, ValueError):
            raise _Err("INVALID_PARAM_VALUE", "trigger.price") from None
        size = self._size(init.get("size", 0))
        pos = self.venue.position(c).size
        if str(init.get("price")) != "0" or init.get("tif") != "ioc":
            raise _Err("INVALID_PARAM_VALUE", "the fake takes market closes only (price 0, tif ioc)")
        if size == 0:
            if not pos:
                raise _Err("POSITION_EMPTY", "Position is empty")
            size = -pos
        side = "Buy" if size > 0 else "Sell"
        last = self.venue.last_price.get(c)
        if last is not None and ((rule == 1 and tp <= last) or (rule == 2 and tp >= last)):
            raise _Err("AUTO_TRIGGER_PRICE_LESS_LAST" if rule == 1 else "AUTO_TRIGGER_PRICE_GREATE_LAST",
                       "the trigger price is already met")
        # (a close of a long above the market takes profit; below, it stops the loss; a short's the other way)
        kind = "TakeProfit" if (rule == 1) == (side == "Sell") else "StopLoss"
        o, pushes = self.venue.place_conditional(c, side, kind, tp, abs(size))
        aid = next(self._ids)
        self._auto[aid] = {"oid": o.order_id, "row": {"initial": dict(init), "trigger": dict(trig),
                                                      "order_type": b.get("order_type", ""),
                                                      "create_time": self.now_ms() / 1000}}
        self._auto_of[o.order_id] = aid
        self._text[o.order_id] = str(init.get("text") or "api")
        return {"id": aid}, pushes


def _int_sizes(doc):
    """An answer as Gate sends it without ``X-Gate-Size-Decimal: 1``: ``size`` and ``left`` as integers."""
    if isinstance(doc, list):
        return [_int_sizes(d) for d in doc]
    if isinstance(doc, dict):
        return {k: (int(float(v)) if k in ("size", "left") and isinstance(v, str) else _int_sizes(v))
                for k, v in doc.items()}
    return doc


#: the registry's ``fake`` part: the whole local fake of ``liqcore venue``
FAKE = FakeGate
