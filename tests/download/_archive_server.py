"""A real HTTP server on 127.0.0.1 (aiohttp.web, in a thread) that serves files laid out as a source
publishes them, and misbehaves on request: a 429 with Retry-After, a 5xx, a connection cut mid-file,
a slow answer, a required Bearer key (401 otherwise).  Every request is logged (path, time, status)."""
from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import threading
import time
import zipfile

from aiohttp import web


class ArchiveServer:
    """``files``: URL path -> bytes.  ``rules``: URL path -> a list of misbehaviours used in turn, one
    per request (``("429", retry_after_s)``, ``("503",)``, ``("cut",)``, ``("slow", seconds)``; ``("redirect",
    path)`` answers every request with a 302 to ``path``); once used up the file is served.  ``key``: every request needs ``Authorization: Bearer <key>``."""

    def __init__(self, files: dict[str, bytes], *, key: str | None = None, delay_s: float = 0.0,
                 missing_status: int = 404, etag: bool = False, free_first_of_month: bool = False):
        """``missing_status``: what a path it does not hold gets (403: an object store whose anonymous readers
        may not list it -- Amazon S3's GetObject reference: "If you don't have the s3:ListBucket permission,
        Amazon S3 returns an HTTP status code 403 Access Denied error" for a key that does not exist).
        ``etag``: every file answered with ``ETag: "<MD5 of its bytes>"`` (S3: "The ETag reflects changes
        only to the contents of an object"; for an object uploaded whole it is an MD5 digest of its data).
        ``free_first_of_month``: as datasets.tardis.dev -- "Historical datasets for the first day of each month
        are available to download without API key" (docs.tardis.dev, downloadable CSV files); another day
        without the key is answered 401 with tardis's own words."""
        self.files, self.key, self.delay_s = dict(files), key, delay_s
        self.missing_status, self.etag, self.free_first_of_month = missing_status, etag, free_first_of_month
        self.rules: dict[str, list] = {}
        self.log: list[tuple[str, float, int, str]] = []  # (path, monotonic time, status, Authorization)
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self._thread.start()
        assert self._ready.wait(30), "the test server did not start"
        return self

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def requests(self, suffix: str) -> list[tuple[str, float, int, str]]:
        return [r for r in self.log if r[0].endswith(suffix)]

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        auth = request.headers.get("Authorization", "")
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        free = self.free_first_of_month and not auth and path.rsplit("/", 2)[-2] == "01"  # .../YYYY/MM/01/SYM
        if self.key is not None and auth != f"Bearer {self.key}" and not free:
            if self.free_first_of_month and not auth:
                return self._log(path, auth, web.Response(status=401, text=(
                    '{"code":100,"message":"For unauthorized requests, only historical CSV market datasets for '
                    'the first day of each month are available"}')))
            return self._log(path, auth, web.Response(status=401, text="Unauthorized: invalid API key"))
        if path not in self.files:
            return self._log(path, auth, web.Response(status=self.missing_status,
                                                      text="Not Found" if self.missing_status == 404 else
                                                      "<Error><Code>AccessDenied</Code></Error>"))
        body = self.files[path]
        rule = self.rules.get(path, [])
        step = rule.pop(0) if rule else None
        if step and step[0] == "429":
            return self._log(path, auth, web.Response(status=429, headers={"Retry-After": str(step[1])}))
        if step and step[0] == "503":
            return self._log(path, auth, web.Response(status=503))
        if step and step[0] == "redirect":  # to a path (itself: a redirect loop); the rule stays for every request
            rule.insert(0, step)
            return self._log(path, auth, web.Response(status=302, headers={"Location": step[1]}))
        if step and step[0] == "slow":
            await asyncio.sleep(step[1])
        if step and step[0] == "cut":  # the whole length announced, half sent, the connection closed
            resp = web.StreamResponse(status=200)
            resp.content_length = len(body)
            await resp.prepare(request)
            await resp.write(body[: len(body) // 2])
            self._log(path, auth, resp)
            request.transport.close()
            return resp
        headers = {"ETag": '"' + hashlib.md5(body).hexdigest() + '"'} if self.etag else None
        return self._log(path, auth, web.Response(body=body, headers=headers))

    def _log(self, path, auth, resp):
        self.log.append((path, time.monotonic(), resp.status, auth))
        return resp


# ---- files as the sources write them ------------------------------------------------------------
AGG_HEADER = "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"
BOOK_HEADER = "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time"
TARDIS_TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
TARDIS_QUOTES = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"
PRICE = {"BTCUSDT": 60000.0, "ETHUSDT": 3000.0}


def day_ms(day: str) -> int:
    import datetime as dt

    return int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc).timestamp() * 1000)


def zipped(name: str, text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name[:-4] + ".csv", text)
    return buf.getvalue()


def agg_csv(sym: str, day: str, n: int = 40) -> str:
    p, t0 = PRICE[sym], day_ms(day)
    rows = [f"{1000 + i},{p + (i % 9) * 0.1:.1f},{0.001 * (i % 7 + 1):.3f},{5000 + 2 * i},{5001 + 2 * i},"
            f"{t0 + 60_000 + 997 * i},{'true' if i % 3 == 0 else 'false'}" for i in range(n)]
    return AGG_HEADER + "\n" + "\n".join(rows) + "\n"


def book_csv(sym: str, day: str, n: int = 30) -> str:
    p, t0 = PRICE[sym], day_ms(day)
    rows = [f"{9000 + i},{p + (i % 5) * 0.1:.1f},{1.5 + i % 3},{p + 0.5 + (i % 5) * 0.1:.1f},{2.5 + i % 4},"
            f"{t0 + 120_000 + 1_013 * i},{t0 + 120_001 + 1_013 * i}" for i in range(n)]
    return BOOK_HEADER + "\n" + "\n".join(rows) + "\n"


def binance_vision(symbols, days, types=("aggTrades", "bookTicker")) -> dict[str, bytes]:
    """data.binance.vision's layout: ``/data/futures/um/daily/<type>/<SYM>/<SYM>-<type>-<day>.zip`` and
    its ``.CHECKSUM`` (``<sha256>  <name>``)."""
    out = {}
    for sym in symbols:
        for day in days:
            for t in types:
                name = f"{sym}-{t}-{day}.zip"
                body = zipped(name, agg_csv(sym, day) if t == "aggTrades" else book_csv(sym, day))
                path = f"/data/futures/um/daily/{t}/{sym}/{name}"
                out[path] = body
                out[path + ".CHECKSUM"] = f"{hashlib.sha256(body).hexdigest()}  {name}\n".encode()
    return out


def tardis(exchange: str, symbol: str, days, types=("liquidations", "trades", "quotes")) -> dict[str, bytes]:
    """datasets.tardis.dev's layout: ``/v1/<exchange>/<type>/<YYYY>/<MM>/<DD>/<SYMBOL>.csv.gz``; times in
    microseconds; Binance liquidations carry no id and come at most one per symbol per second."""
    out = {}
    p = PRICE[symbol]
    for day in days:
        t0 = day_ms(day) * 1000
        for t in types:
            if t == "liquidations":
                rows = [f"{exchange},{symbol},{t0 + 3_000_000 * i},{t0 + 3_000_000 * i + 900},,"
                        f"{'sell' if i % 2 else 'buy'},{p - 5 + i * 0.5:.1f},{0.01 * (i + 1):.3f}" for i in range(12)]
                text = TARDIS_TRADES + "\n" + "\n".join(rows)
            elif t == "trades":
                rows = [f"{exchange},{symbol},{t0 + 500_000 * i + 7},{t0 + 500_000 * i + 800},{777000 + i},"
                        f"{'buy' if i % 3 else 'sell'},{p + (i % 7) * 0.1:.1f},{0.002 * (i % 5 + 1):.3f}"
                        for i in range(40)]
                text = TARDIS_TRADES + "\n" + "\n".join(rows)
            else:
                rows = [f"{exchange},{symbol},{t0 + 700_000 * i + 3},{t0 + 700_000 * i + 600},{1.0 + i % 3},"
                        f"{p + 0.5 + (i % 4) * 0.1:.1f},{p + (i % 4) * 0.1:.1f},{2.0 + i % 2}" for i in range(25)]
                text = TARDIS_QUOTES + "\n" + "\n".join(rows)
            y, m, d = day.split("-")
            out[f"/v1/{exchange}/{t}/{y}/{m}/{d}/{symbol}.csv.gz"] = gzip.compress((text + "\n").encode(), mtime=0)
    return out


# ---- a local mirror of each source's layout, for any planned download

def bybit_trades_csv(sym: str, day: str, n: int = 30) -> str:
    """public.bybit.com/trading's columns, newest first, times in seconds."""
    t0, p = day_ms(day), PRICE.get(sym, 100.0)
    return "timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,foreignNotional\n" + \
        "\n".join(f"{(t0 + 5000 * (n - i)) / 1000:.4f},{sym},{'Buy' if i % 2 else 'Sell'},0.00{i % 5 + 1},"
                  f"{p + i * 0.5:.1f},PlusTick,id{i},1,1,1" for i in range(n)) + "\n"


#: OKX's day files are UTC+8 days: OKX's market-data-history endpoint (GET /api/v5/public/market-data-history, as
#: answered in ccxt/ccxt#26814) lists BTC-USDT-trades-2025-10-01.zip with "dateTs":"1759248000000", which is
#: 2025-09-30T16:00:00Z: the file of day D holds 16:00 UTC of D-1 to 15:59:59.999 UTC of D
OKX_DAY_START_MS = -8 * 3_600_000


def okx_trades_csv(day: str, n: int = 20, price: float = 60000.0) -> str:
    """OKX historical data's trade columns (bilingual header), times in milliseconds: ``n`` trades spread evenly
    over OKX's day ``day`` (from 16:00 UTC the day before: :data:`OKX_DAY_START_MS`), ids unique across days."""
    t0, step = day_ms(day) + OKX_DAY_START_MS, 86_400_000 // max(n, 1)
    base = day_ms(day) // 86_400_000 * 1000
    return "trade_id/交易id,side/交易方向,size/数量,price/价格,created_time/成交时间\n" + \
        "\n".join(f"{base + i},{'buy' if i % 2 else 'sell'},{i % 4 + 1},{price + i * 0.5:.1f},{t0 + step * i}"
                  for i in range(n)) + "\n"


def tardis_l2_csv(exchange: str, sym: str, day: str) -> str:
    """tardis.dev's incremental_book_L2 columns: a snapshot of ten levels, then thirty updates (times in us)."""
    t0, p = day_ms(day) * 1000, PRICE.get(sym, 100.0)
    rows = ["exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"]
    rows += [f"{exchange},{sym},{t0},{t0 + 500},true,{'bid' if i % 2 else 'ask'},{p + (i - 5) * 0.1:.1f},1.5"
             for i in range(10)]
    rows += [f"{exchange},{sym},{t0 + 1000 * i},{t0 + 1000 * i + 500},false,bid,{p - 1 - i * 0.1:.1f},{i % 3}"
             for i in range(1, 31)]
    return "\n".join(rows) + "\n"


def mirror(units) -> dict[str, bytes]:
    """The files of ``units`` (:func:`liqcore.download.sources.plan`'s), at their URLs' paths, each laid out and
    encoded as its source publishes it: data.binance.vision's zips with their ``.CHECKSUM``, public.bybit.com's
    and datasets.tardis.dev's ``.csv.gz``, OKX's zips."""
    from urllib.parse import urlparse

    out: dict[str, bytes] = {}
    for u in units:
        path = urlparse(u.url).path
        host = urlparse(u.url).netloc
        parts = path.strip("/").split("/")
        if host == "data.binance.vision":  # /data/futures/um/daily/<type>/<SYM>/<SYM>-<type>-<day>.zip
            typ, sym = parts[4], parts[5]
            day = u.name[len(f"{sym}-{typ}-"):-len(".zip")]
            if parts[2] == "cm":  # COIN-M: contracts of a contract size (tests/download/_coinm_archive.py)
                from tests.download._coinm_archive import coin_m_archive

                out.update(coin_m_archive([sym], [day], (typ,), n_trades=2_000)[0])
                continue
            out.update({k: v for k, v in binance_vision([sym], [day], (typ,)).items()})
        elif host == "public.bybit.com":  # /trading/<SYM>/<SYM><day>.csv.gz
            sym = parts[1]
            out[path] = gzip.compress(bybit_trades_csv(sym, u.name[len(sym):-len(".csv.gz")]).encode(), mtime=0)
        elif host == "static.okx.com":  # .../trades/daily/<YYYYMMDD>/<INST>-trades-<day>.zip
            day = u.name.rsplit("-trades-", 1)[1][:-len(".zip")]
            out[path] = zipped(u.name, okx_trades_csv(day))
        elif host == "datasets.tardis.dev":  # /v1/<exchange>/<type>/<YYYY>/<MM>/<DD>/<SYMBOL>.csv.gz
            exchange, typ, y, m, d, name = parts[1:7]
            sym, day = name[:-len(".csv.gz")], f"{y}-{m}-{d}"
            if typ == "incremental_book_L2":
                out[path] = gzip.compress(tardis_l2_csv(exchange, sym, day).encode(), mtime=0)
            else:
                out.update(tardis(exchange, sym, [day], (typ,)))
        else:
            raise ValueError(f"mirror: no layout for {u.url}")
    return out
