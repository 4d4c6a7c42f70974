"""The live runner's web dashboard: an aiohttp server in the runner's process, off the decision path.

The details: docs/maintainers/live-feeds.md, "The live runner's web dashboard (liqcore.live.web)".

May import: ``aiohttp``, ``orjson``, ``interrupt``, ``types`` and this package's ``orders``, ``report``, ``views``,
``web_rank``.
"""
from __future__ import annotations

import asyncio
import collections
import collections.abc
import hmac
import ipaddress
import logging
import secrets
import socket
import ssl
import time
from pathlib import Path

import orjson
from aiohttp import WSMsgType, web

from liqcore.interrupt import end_task
from liqcore.live.report import TARGETS
from liqcore.live.views import decision_row
from liqcore.live.web_rank import AnomalyBoard, page_bounds, page_view, rank

__all__ = ["WebDashboard", "LiveView", "parse_web_address", "is_loopback", "read_token_file", "flatten_all",
           "set_kill_switch", "new_token", "tls_context", "plain_http_warning", "web_options", "announce",
           "STATIC_DIR"]

log = logging.getLogger("liqcore.web")

#: the page's files (package data)
STATIC_DIR = Path(__file__).with_name("web_static")
_TYPES = {".html": "text/html", ".js": "application/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
COOKIE = "liqcore_token"
#: points kept per series (equity, each symbol's price); older points are thinned, never the newest
MAX_POINTS = 1500
#: cascades kept per symbol
CASCADES_KEPT = 20
_DUMPS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def parse_web_address(text: str) -> tuple[str, int]:
    """``[HOST:]PORT`` (``8080``, ``:8080``, ``0.0.0.0:8080``, ``[::1]:8080``) -> ``(host, port)``; the host
    defaults to 127.0.0.1.  ValueError names the flag."""
    raw = str(text).strip()
    host, sep, port = raw.rpartition(":")
    if not sep:
        host, port = "", raw
    host = host.strip("[]") or "127.0.0.1"
    try:
        p = int(port)
    except ValueError:
        raise ValueError(f"web: {text!r} is not [HOST:]PORT (e.g. --web 8080 or --web 0.0.0.0:8080)") from None
    if not 0 <= p <= 65535:
        raise ValueError(f"web: port {p} out of range 0..65535")
    return host, p


def is_loopback(host: str) -> bool:
    """Whether ``host`` binds the loopback interface only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(header: str) -> str:
    """The name in a ``Host`` header (``name``, ``name:port``, ``[v6]:port``), lower case, without the port."""
    h = header.strip().lower()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else ""
    if h.count(":") == 1:
        h = h.split(":")[0]
    return h.rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def tls_context(cert, key) -> ssl.SSLContext:
    """The server's TLS context from a PEM certificate (chain) and its private key (``--web-cert``/``--web-key``);
    ValueError naming the flag when either is missing or they do not load."""
    if not cert or not key:
        raise ValueError("web-cert: --web-cert and --web-key go together (a PEM certificate and its private key)")
    for flag, path in (("web-cert", cert), ("web-key", key)):
        if not Path(path).is_file():
            raise ValueError(f"{flag}: cannot read {path}: no such file")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except (ssl.SSLError, OSError) as exc:
        raise ValueError(f"web-cert: {cert} and {key} are not a PEM certificate and its key ({exc})") from None
    return ctx


def plain_http_warning(host: str, tls: bool) -> str | None:
    """The line said at start when the page is served off the loopback without TLS (None otherwise)."""
    if tls or is_loopback(host):
        return None
    return (f"warning: the web dashboard on {host} is plain HTTP: the token and the view cross the network "
            "unencrypted (--web-cert/--web-key serve HTTPS)")


def read_token_file(path) -> str:
    """The token kept in ``path`` (its first line, stripped); ValueError when missing, unreadable or empty."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"web-token-file: cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    tok = (text.strip().splitlines() or [""])[0].strip()
    if len(tok) < 8:
        raise ValueError(f"web-token-file: {path} holds no token of at least 8 characters")
    return tok


def set_kill_switch(engine, on: bool) -> bool:
    """Turn the engine's kill switch on or off (its manual state, as SIGUSR1 does); returns whether entries
    are now refused (a kill-switch file still in place keeps them refused)."""
    ks = engine.kill_switch
    if bool(ks.manual) != bool(on):
        engine.risk.toggle()
    return bool(engine.risk.killed)


def flatten_all(engine) -> dict:
    """The operator's flatten-all: the kill switch on, every working entry cancelled and every open position
    closed at market (reduce-only), through the order manager's own cancel and close paths (those a hold
    timeout's exit takes).  Returns what was asked: ``{"kill_switch", "cancelled": [symbols], "closing":
    [symbols]}``; the outcomes arrive as the gateway answers (journal, snapshot)."""
    from liqcore.live.orders import make_client_id

    out = {"kill_switch": set_kill_switch(engine, True), "cancelled": [], "closing": []}
    om = engine.order_manager
    for sym, cid, _status in om.working_entries():
        book = om.books[sym]
        if book.position_qty or book.cancel_sent:
            continue
        book.cancel_sent = True
        om.spawn(om.cancel(sym, cid))
        out["cancelled"].append(sym)
    for sym, book in om.books.items():
        if not book.position_qty or book.closing:
            continue
        om.seq += 1
        book.closing = make_client_id(sym, om.seq)
        book.close_reason = "operator"
        if om.journal is not None:
            om.journal.set_state("seq", om.seq)
        om.spawn(om._close(sym, book.closing))
        out["closing"].append(sym)
    log.warning("flatten-all from the web dashboard: cancelled %s, closing %s", out["cancelled"], out["closing"])
    return out


def _thin(points: list) -> None:
    """Halve a full series (every other point of its older part), keeping the newest points."""
    if len(points) >= MAX_POINTS:
        keep = MAX_POINTS // 2
        points[:] = points[:-keep:2] + points[-keep:]


class PriceTrail:
    """Every trade of the traded symbols, decimated for the page's price chart, none dropped.

    The engine hands each batch of events to :meth:`__call__` (its ``row_tap``: a reference kept, nothing
    else on the decision path); :meth:`drain` reads them when the view is taken.  Each symbol's trades fall
    in buckets of ``width_s`` seconds that keep the first, lowest, highest and last price with their times
    (the line through them spans exactly the range the bucket's trades span: an M4 decimation); when a
    symbol has more than ``max_buckets``, the width doubles and neighbouring buckets merge (first of the
    first, lowest of the lows, highest of the highs, last of the last), so every trade still lies within
    its bucket's range.  Times are the receive times (the engine's clock, as the fills and equity)."""

    def __init__(self, names: dict, *, max_buckets: int = MAX_POINTS // 4, width_s: float = 1.0, registry=None):
        from liqcore.types import Kind

        self.names = dict(names)  # registry symbol id -> the symbol's name
        #: the engine's registry: the liquidations of every watched symbol (traded or not) reach the board; each
        #: untraded one is noted in :attr:`watched` (symbol -> (venue name, registry id))
        self.registry = registry
        self.watched: dict[str, tuple[str, int]] = {}
        self._watched_ids: dict[int, str] = {}
        self.max_buckets = int(max_buckets)
        self.width_s = float(width_s)
        self.buckets: dict[str, list] = {}  # symbol -> [[k, t_open, open, t_lo, lo, t_hi, hi, t_close, close]]
        self.trades = 0
        self._pending: collections.deque = collections.deque()
        self._rejected: set = set()  # (symbol id, receive ns, price) of the events the engine dropped
        self._closed: dict[str, tuple] = {}  # symbol -> (buckets whose vertices are made, those vertices)
        self._trade = int(Kind.TRADE)
        self._liq = int(Kind.LIQUIDATION)
        #: a :class:`liqcore.live.web_rank.AnomalyBoard` that gets every liquidation kept (None: none)
        self.board = None

    def __call__(self, batch) -> None:
        # (a reference only: the decoder makes a new list or array per frame, and nothing writes into it later)
        self._pending.append(batch)

    def reject(self, sid: int, tr: int, price: float) -> None:
        """The engine dropped this event (an implausible print, a time ahead of its receive time): not drawn."""
        self._rejected.add((sid, tr, price))

    def drain(self) -> None:
        names, trade, liq, add, rejected, board = self.names, self._trade, self._liq, self.add, self._rejected, self.board
        while self._pending:
            batch = self._pending.popleft()
            if not isinstance(batch, list):  # an EVENT_DTYPE array: its trades (and liquidations)
                k = batch["kind"]
                batch = batch[(k == trade) | (k == liq)].tolist() if board is not None else batch[k == trade].tolist()
            for _ts, tr, price, qty, sid, side, kind, _venue, _flags in batch:
                if not (price > 0 and price != float("inf")):
                    continue
                if kind == trade:
                    if sid not in names or rejected and (sid, tr, price) in rejected:
                        continue
                    add(names[sid], tr / 1e9, price)
                elif kind == liq and board is not None and not (rejected and (sid, tr, price) in rejected):
                    name = names.get(sid) or self._watched_ids.get(sid) or self._watch(sid)
                    if name is not None:
                        board.add(name, tr / 1e9, price * qty, side == 1)  # (Side.LONG: a long liquidated)
        rejected.clear()

    def _watch(self, sid: int) -> str | None:
        """The name of a watched symbol the engine does not trade (None: no registry to name it)."""
        if self.registry is None:
            return None
        v, sym = self.registry.lookup(sid)
        self.watched[sym] = (v.name.lower(), int(sid))
        self._watched_ids[int(sid)] = sym
        return sym

    def add(self, symbol: str, t: float, price: float) -> None:
        self.trades += 1
        b = self.buckets.get(symbol)
        if b is None:
            b = self.buckets[symbol] = []
        k = int(t // self.width_s)
        if b and k <= b[-1][0]:  # (a receive time out of order joins the newest bucket)
            x = b[-1]
            if price < x[4]:
                x[3], x[4] = t, price
            if price > x[6]:
                x[5], x[6] = t, price
            if t >= x[7]:
                x[7], x[8] = t, price
            return
        b.append([k, t, price, t, price, t, price, t, price])
        if len(b) > self.max_buckets:
            self._coarsen()

    def _coarsen(self) -> None:
        """Double the width; every symbol's neighbouring buckets merge (all symbols share one width)."""
        self.width_s *= 2
        self._closed.clear()
        for sym, b in self.buckets.items():
            out: list = []
            for x in b:
                k = x[0] // 2
                if out and out[-1][0] == k:
                    y = out[-1]
                    if x[4] < y[4]:
                        y[3], y[4] = x[3], x[4]
                    if x[6] > y[6]:
                        y[5], y[6] = x[5], x[6]
                    if x[7] >= y[7]:
                        y[7], y[8] = x[7], x[8]
                else:
                    out.append([k, *x[1:]])
            self.buckets[sym] = out
        if any(len(b) > self.max_buckets for b in self.buckets.values()):
            self._coarsen()

    def points(self, symbol: str) -> list:
        """The line's vertices, ``[[t_s, price]]`` in time order: per bucket its first, lowest, highest and last
        trade (those that coincide once).  The closed buckets' vertices are kept between calls (a merge
        starts them over): only the newest bucket's are made again."""
        b = self.buckets.get(symbol, ())
        n_closed, done = self._closed.get(symbol, (0, []))
        for x in b[n_closed:len(b) - 1]:
            done.extend(self._vertices(x))
        self._closed[symbol] = (max(len(b) - 1, 0), done)
        return done + (self._vertices(b[-1]) if b else [])

    @staticmethod
    def _vertices(x) -> list:
        out, seen = [], None
        # in time order (stable: at one time the first trade stays first and the last, last)
        for t, px in sorted(((x[1], x[2]), (x[3], x[4]), (x[5], x[6]), (x[7], x[8])), key=lambda v: v[0]):
            if (t, px) != seen:
                out.append([t, px])
                seen = (t, px)
        return out


class _TrailPrices(collections.abc.Mapping):
    """Each symbol's price line (:meth:`PriceTrail.points`), made when it is read."""

    def __init__(self, trail: PriceTrail):
        self.trail = trail

    def __getitem__(self, symbol: str) -> list:
        if symbol not in self.trail.buckets:
            raise KeyError(symbol)
        return self.trail.points(symbol)

    def __iter__(self):
        return iter(list(self.trail.buckets))

    def __len__(self) -> int:
        return len(self.trail.buckets)


class LiveView:
    """The view a page shows of a running runner: ``{"source", "now_ns", "snapshot", "history", "control"}``.

    ``history``: ``equity`` ([t_s, equity] per closed trade and per change seen), ``prices`` ({symbol:
    [[t_s, price]]}: every trade received, decimated by :class:`PriceTrail`, whose bucket width in seconds is
    ``price_bucket_s``), ``cascades`` ({symbol: [{ts_ns, dominant, threshold, action,
    detail}]}, from the decisions: every confirmed cascade is decided), ``fills`` ([{t_s, symbol, side,
    price, kind}]: the closed trades' entries and exits and the open positions' entries).  Times are the
    engine's clock (the replayed receive time in a replay)."""

    def __init__(self, runner, *, control: bool = False):
        self.runner = runner
        self.engine = runner.engine
        self.control = control
        self.source = "replay" if getattr(self.engine, "replay_clock", None) is not None else "live"
        self.equity: list = []
        self.prices: dict[str, list] = {}
        self.cascades: dict[str, collections.deque] = {}
        self._seen: set = set()
        self.closed: list = []
        self._n_trades = 0
        names = {sid: self.engine.traded[ci][1] for sid, ci in self.engine._core_idx.items()}
        self.trail = PriceTrail(names, registry=self.engine.registry)
        self.trail.board = self.board = AnomalyBoard()
        self.engine.row_tap = self.trail  # (each batch of events by reference; read when the view is taken)
        if getattr(self.engine, "stream_path", None) is not None:
            self.engine.stream_path.on_reject = self.trail.reject

    def __call__(self, pages=None) -> dict:
        """The view now.  ``pages``: the pages open (each its ``{"page", "per_page"}``): only the symbols they show get
        their whole row (the others their rank and anomaly alone); None: every row whole."""
        eng = self.engine
        now = int(eng.now_ns())
        t = now / 1e9
        self.trail.drain()
        det, by = eng.detector, eng._by_symbol
        active = getattr(det, "active", None)
        thr = getattr(det, "threshold", None)
        # every decision since the last view (a market-wide burst decides more than the snapshot's recent eight
        # between two views): the newest back to the first one seen, kept oldest first; before the ranking, whose
        # last cascade they are
        fresh = []
        for dd in reversed(eng.decision_log.decisions):
            key = (dd.ts_ns, dd.symbol)
            if key in self._seen:
                break
            fresh.append(dd)
        for d in map(decision_row, reversed(fresh)):
            self._seen.add((d["ts_ns"], d["symbol"]))
            q = self.cascades.setdefault(d["symbol"], collections.deque(maxlen=CASCADES_KEPT))
            sid = by.get(d["symbol"], (None,))[0]
            q.append({"ts_ns": int(d["ts_ns"]), "dominant": d.get("dominant"),
                      "threshold": thr(sid) if thr is not None and sid is not None else None,
                      "action": d.get("action"), "detail": d.get("detail")})
        # every symbol ranked by its anomaly now (the page shows one page of them: web_rank.page_view)
        # (and every watched symbol with a liquidation the engine does not trade: ranked too, "tradable": False)
        rows = [{"venue": v, "symbol": s, "active": bool(active(by[s][0])) if active is not None else False,
                 "tradable": self._tradable(by[s][0], s)} for v, s in eng.traded]
        rows += [{"venue": v, "symbol": s, "active": bool(active(sid)) if active is not None else False,
                  "tradable": False} for s, (v, sid) in self.trail.watched.items() if s not in by]
        order = rank(rows, self.board, t, {sym: q[-1]["ts_ns"] for sym, q in self.cascades.items() if q})
        need = None
        if pages is not None:
            need = set()
            for prefs in pages:
                pg, _, per = page_bounds(len(order), prefs)
                need.update(r["symbol"] for r in order[pg * per:(pg + 1) * per])
        snap = self._snapshot(need)
        full = {r["symbol"]: r for r in snap.get("symbols") or []}
        snap["symbols"] = [dict(full[r["symbol"]], **r) if r["symbol"] in full else r for r in order]
        n_trades = sum(b.trades for b in eng.order_manager.books.values())
        if n_trades != self._n_trades:  # a trade closed: its entry and exit, and the equity after it
            self._n_trades = n_trades
            self._read_trades()
        eq = float(snap.get("equity") or 0.0)
        if not self.equity or self.equity[-1][1] != eq:
            _thin(self.equity)
            self.equity.append([t, eq])
        self.prices = _TrailPrices(self.trail)  # (made when read: a page reads its chart's one symbol)
        at = eng._last_event_wall or time.time_ns()  # (the resting entries of every symbol, not only the pages')
        snap["resting_orders"] = [
            {"symbol": s, "side": b.entry.side, "price": b.entry.price, "status": b.entry_status,
             "queue": eng.queue_est.row(s, at)}
            for s, b in eng.order_manager.books.items() if b.entry is not None and not b.position_qty]
        fills = list(self.closed)
        for p in snap.get("positions") or ():
            fills.append({"t": p["entry_ns"] / 1e9, "symbol": p["symbol"], "price": p["entry_price"],
                          "side": "buy" if p["side"] == "long" else "sell", "kind": "entry"})
        for p in snap.get("positions") or ():  # the position monitor's take-profit price and time held
            p["held_s"] = max(0.0, (now - int(p.get("entry_ns") or now)) / 1e9)
        par = eng.params
        snap["max_positions"] = int(par.max_positions) or int(par.max_symbols)  # the cap on open positions
        first = getattr(eng.core, "_first_ns", None) or now
        return {"source": self.source, "now_ns": now, "snapshot": snap, "control": self.control,
                "targets": TARGETS, "session_days": (now - first) / 86_400e9,
                "history": {"equity": self.equity, "prices": self.prices, "price_bucket_s": self.trail.width_s,
                            "cascades": {s: list(q) for s, q in self.cascades.items()}, "fills": fills}}

    def _tradable(self, sid: int, symbol: str) -> bool:
        """A traded symbol whose trading rules are known (an order on it can leave)."""
        eng = self.engine
        if getattr(eng, "listed", None) is not None and sid not in eng.listed:
            return False
        try:
            eng.order_manager.instrument(symbol)
        except (ValueError, KeyError):
            return False
        return True

    def _snapshot(self, need) -> dict:
        """The runner's snapshot with the rows of ``need`` (None: every row)."""
        if need is None:
            return self.runner.snapshot()
        try:
            return self.runner.snapshot(symbols=need)
        except TypeError:  # (a runner whose snapshot takes no selection, e.g. the engine's own: every row)
            return self.runner.snapshot()

    def _read_trades(self) -> None:
        eng = self.engine
        led = eng.core.ledger()
        reg = eng.core.registry
        closed, curve = [], []
        for r in led:
            sym = reg.symbol(int(r["symbol_id"]))
            long_ = r["side"] > 0
            closed.append({"t": int(r["entry_ns"]) / 1e9, "symbol": sym, "price": float(r["entry_price"]),
                           "side": "buy" if long_ else "sell", "kind": "entry"})
            closed.append({"t": int(r["exit_ns"]) / 1e9, "symbol": sym, "price": float(r["exit_price"]),
                           "side": "sell" if long_ else "buy", "kind": "exit"})
            curve.append([int(r["exit_ns"]) / 1e9, float(r["equity_after"])])
        self.closed = closed[-2 * MAX_POINTS:]
        if curve:  # the equity curve at each closed trade, merged with the points sampled so far
            merged = sorted({(p[0], p[1]) for p in self.equity} | {(p[0], p[1]) for p in curve})
            self.equity = [list(p) for p in merged][-MAX_POINTS:]


class WebDashboard:
    """The server.  ``view()`` returns the dict pushed to the pages (``LiveView`` or a fixed journal view);
    ``engine`` (optional) is what the control endpoints act on, only when ``control``.

    ``await start()`` binds and starts pushing; ``url`` is then the address; ``await stop()``."""

    def __init__(self, view, host: str = "127.0.0.1", port: int = 0, *, hz: float = 4.0, token: str | None = None,
                 control: bool = False, engine=None, ssl_context: ssl.SSLContext | None = None):
        if not hz > 0:
            raise ValueError("web: the push rate must be positive (Hz)")
        if token is None and not is_loopback(host):
            raise ValueError(f"web: {host} is not the loopback interface: a token is required")
        if control and engine is None:
            raise ValueError("web: the control endpoints need the engine")
        if control and token is None:
            raise ValueError("web: the control endpoints need a token (the loopback too)")
        self.view, self.host, self.port, self.hz = view, host, int(port), float(hz)
        self.token, self.control, self.engine = token, bool(control), engine
        self.ssl_context = ssl_context
        self.names = self._names(host)
        self.clients: set = set()
        self.prefs: dict = {}  # page -> what it shows: {"page", "per_page", "chart"} (web_rank.page_view)
        self.pushes = 0
        self.last_push_ms = 0.0
        self._runner: web.AppRunner | None = None
        self._task: asyncio.Task | None = None
        self._last: bytes = b"{}"
        self._view: dict | None = None

    @staticmethod
    def _names(host: str) -> frozenset:
        """The ``Host`` names this server answers to besides IP addresses: the bound name, and on the loopback
        ``localhost``; bound to every interface (or another address), this machine's host name too."""
        names = {host.lower().rstrip(".")}
        if is_loopback(host):
            names.add("localhost")
        else:
            hn = socket.gethostname().lower()
            names |= {hn, hn.split(".")[0]}
        return frozenset(n for n in names if n)

    def host_ok(self, header: str | None) -> bool:
        """Whether a request's ``Host`` names this server (not a name an attacker's DNS points at it)."""
        name = _host_name(header or "")
        if not name:
            return False
        if _is_ip(name):
            return ipaddress.ip_address(name).is_loopback if is_loopback(self.host) else True
        return name in self.names

    # ---------------------------------------------------------------- app
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        app.router.add_get("/", self._index)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/api/view", self._api_view)
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/api/health", self._health)
        if self.control:
            app.router.add_post("/api/kill", self._kill)
            app.router.add_post("/api/flatten", self._flatten)
        app.on_startup.append(self._start_push)
        app.on_shutdown.append(self._close_pages)
        app.on_cleanup.append(self._stop_push)
        return app

    async def _start_push(self, app) -> None:
        self._task = asyncio.get_running_loop().create_task(self._push(), name="web-dashboard")

    async def _stop_push(self, app) -> None:
        try:
            await end_task(self._task)
        finally:
            self._task = None

    async def _close_pages(self, app) -> None:
        for ws in list(self.clients):
            await ws.close()

    def _token_ok(self, request: web.Request) -> bool:
        given = request.cookies.get(COOKIE) or ""
        auth = request.headers.get("Authorization", "")
        if not given and auth.startswith("Bearer "):
            given = auth[7:].strip()
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())

    def _refusal(self, request: web.Request) -> str | None:
        """Why a request is refused before any token is looked at (None: it may go on): a ``Host`` that does
        not name this server, or an ``Origin`` (``Sec-Fetch-Site``) that is not the page's own."""
        if not self.host_ok(request.headers.get("Host")):
            return "403: this dashboard answers only to its own address (Host refused)\n"
        origin = request.headers.get("Origin")
        if origin is not None and origin.lower() != f"{request.scheme}://{request.host}".lower():
            return "403: requests from another web page are refused (Origin)\n"
        site = request.headers.get("Sec-Fetch-Site")
        if site == "cross-site" and not (request.method == "GET" and request.path == "/"
                                         and request.headers.get("Sec-Fetch-Mode") == "navigate"
                                         and request.headers.get("Sec-Fetch-Dest", "document") == "document"):
            return "403: requests from another web page are refused (Sec-Fetch-Site)\n"  # (a frame of it too)
        return None

    @web.middleware
    async def _guard(self, request: web.Request, handler):
        why = self._refusal(request)
        if why is not None:
            log.warning("web: refused %s %s (Host %r, Origin %r)", request.method, request.path,
                        request.headers.get("Host"), request.headers.get("Origin"))
            return web.Response(status=403, text=why)
        if self.token is None:
            return await handler(request)
        query = request.query.get("token")
        if query is not None and request.method == "GET" and request.path == "/":
            # the token leaves the address bar: an HttpOnly cookie carries it from now on
            if not (query and hmac.compare_digest(query.encode(), self.token.encode())):
                return web.Response(status=401, text="401: wrong token\n")
            resp = web.HTTPSeeOther("/")
            resp.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict", path="/",
                            secure=self.ssl_context is not None)
            raise resp
        if not self._token_ok(request):
            return web.Response(status=401, text="401: this dashboard needs its token (printed by the runner at "
                                                 "start, or the --web-token-file): open /?token=TOKEN once\n")
        return await handler(request)

    async def _index(self, request):
        return web.FileResponse(STATIC_DIR / "index.html", headers={  # never inside another site's frame
            "Cache-Control": "no-store", "X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"})

    async def _static(self, request):
        name = request.match_info["name"]
        path = STATIC_DIR / name
        if "/" in name or name.startswith(".") or path.suffix not in _TYPES or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Content-Type": _TYPES[path.suffix], "Cache-Control": "no-cache"})

    async def _api_view(self, request):
        """The view one page shows (``?page=N&per_page=K&chart=SYMBOL``: ``web_rank.page_view``)."""
        return web.Response(body=self._dump(dict(request.query)), content_type="application/json")

    async def _health(self, request):
        """The server itself: pages connected, views pushed, the last view's build + serialization time (ms)."""
        return web.json_response({"pages": len(self.clients), "pushes": self.pushes, "hz": self.hz,
                                  "last_view_ms": round(self.last_push_ms, 3)})

    async def _ws(self, request):
        ws = web.WebSocketResponse(heartbeat=10.0)
        await ws.prepare(request)
        self.clients.add(ws)
        self.prefs[ws] = {}
        try:
            await ws.send_str(self._dump({}).decode())
            async for msg in ws:  # the page says which page and chart it shows; a close ends the loop
                if msg.type == WSMsgType.ERROR:
                    break
                if msg.type == WSMsgType.TEXT:
                    try:
                        ask = orjson.loads(msg.data)
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(ask, dict):
                        self.prefs[ws] = {k: ask[k] for k in ("page", "per_page", "chart") if k in ask}
                        await ws.send_str(self._dump(self.prefs[ws]).decode())
        finally:
            self.clients.discard(ws)
            self.prefs.pop(ws, None)
        return ws

    def _control_ok(self, request) -> bool:
        return request.headers.get("X-Liqcore-Control") == "1"

    async def _kill(self, request):
        if not self._control_ok(request):
            raise web.HTTPForbidden(text="control requests need the X-Liqcore-Control: 1 header")
        try:
            body = await request.json()
            on = body["on"]
            if not isinstance(on, bool):
                raise TypeError
        except Exception:
            raise web.HTTPBadRequest(text='body: {"on": true|false}') from None
        killed = set_kill_switch(self.engine, on)
        log.warning("kill switch %s from the web dashboard", "ON" if killed else "OFF")
        return web.json_response({"kill_switch": killed})

    async def _flatten(self, request):
        if not self._control_ok(request):
            raise web.HTTPForbidden(text="control requests need the X-Liqcore-Control: 1 header")
        return web.json_response(flatten_all(self.engine))

    # ---------------------------------------------------------------- push
    def _dump(self, prefs: dict | None = None, fresh: bool = True, pages=None) -> bytes:
        """The view (taken now for ``pages``, default this page alone, or with ``fresh`` off the last one taken) as
        one page shows it (``prefs``)."""
        t0 = time.perf_counter()
        try:
            if fresh or self._view is None:
                self._view = (self.view(pages=pages if pages is not None else [prefs or {}])
                              if isinstance(self.view, LiveView) else self.view())
            self._last = orjson.dumps(page_view(self._view, prefs), option=_DUMPS)
        except Exception:
            log.exception("web view failed; the last one is served")
        self.last_push_ms = (time.perf_counter() - t0) * 1e3
        return self._last

    async def _push(self) -> None:
        every = 1.0 / self.hz
        while True:
            await asyncio.sleep(every)
            if not self.clients:
                if isinstance(self.view, LiveView):
                    self.view(pages=[])  # a live view keeps its history while no page is open (no row made)
                continue
            self.pushes += 1
            fresh = True
            pages = [self.prefs.get(ws) or {} for ws in self.clients]  # (one view, with the rows every page shows)
            for ws in list(self.clients):
                if ws.closed:
                    self.clients.discard(ws)
                    continue
                data = self._dump(self.prefs.get(ws), fresh=fresh, pages=pages).decode()  # (its page of the one view)
                fresh = False
                try:
                    await asyncio.wait_for(ws.send_str(data), 1.0)
                except (asyncio.TimeoutError, ConnectionError, RuntimeError):
                    self.clients.discard(ws)
                    await ws.close()

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True, ssl_context=self.ssl_context)
        await site.start()
        addrs = self._runner.addresses
        if addrs and self.port == 0:
            self.port = int(addrs[0][1])
        return self.url

    @property
    def url(self) -> str:
        h = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.ssl_context is not None else 'http'}://{h}:{self.port}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()  # (pages closed, the push task stopped: the app's shutdown hooks)
            self._runner = None


def web_options(args) -> dict | None:
    """``--web``/``--web-token-file``/``--web-control``/``--web-cert``/``--web-key`` as the dashboard's settings
    ``{"host", "port", "token", "print_token", "control", "ssl"}`` (None without --web).  A token is generated
    (and printed at start) off the loopback and whenever the control endpoints are on, unless a token file
    gives one; the TLS context is loaded here, so a bad certificate fails before anything starts."""
    control = bool(getattr(args, "web_control", False))
    cert, key = getattr(args, "web_cert", None), getattr(args, "web_key", None)
    if not getattr(args, "web", None):
        if getattr(args, "web_token_file", None) or control or cert or key:
            raise ValueError("web: --web-token-file, --web-control and --web-cert/--web-key need --web [HOST:]PORT")
        return None
    host, port = parse_web_address(args.web)
    token, printed = None, False
    if args.web_token_file:
        token = read_token_file(args.web_token_file)
    elif control or not is_loopback(host):
        token, printed = new_token(), True
    ctx = tls_context(cert, key) if (cert or key) else None
    return {"host": host, "port": port, "token": token, "print_token": printed, "control": control, "ssl": ctx}


def announce(url: str, opts: dict, what: str = "") -> None:
    """Say on stderr where the dashboard is (``what`` after the address), its token when it was generated
    here, and, off the loopback without TLS, that the page is plain HTTP."""
    import sys

    print(f"web dashboard: {url}{what}", file=sys.stderr, flush=True)
    if opts.get("token") and opts.get("print_token", True):
        print(f"web dashboard token: {opts['token']} (open {url}?token=<token> once)", file=sys.stderr, flush=True)
    warn = plain_http_warning(opts.get("host", "127.0.0.1"), opts.get("ssl") is not None)
    if warn:
        print(warn, file=sys.stderr, flush=True)


def new_token() -> str:
    """A fresh random token (URL-safe, 32 characters)."""
    return secrets.token_urlsafe(24)
