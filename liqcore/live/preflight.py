"""What a trader checks before going live, as rows of one table (``liqcore preflight``).

:func:`preflight` asks the venue, in this order, and returns one :class:`Row` per thing checked (``PASS``,
``WARN``, ``FAIL`` or ``SKIP``, with what was found and the bound it was held to):

* ``rest``: the REST base answers its server-time endpoint (and how long it took);
* ``clock``: this machine's clock against the venue's server time, held to the bound the venue's signing
  needs (Bybit, Binance: a request is valid when ``server - recv_window <= timestamp < server + 1000 ms``, with
  the 5000 ms recv window liqcore signs with; OKX: within 30 s either way); the offset is measured at the
  middle of the round trip, so it carries half the round trip as its uncertainty;
* ``stream``: every public stream the run would subscribe delivers its first frame within ``timeout_s``, on the
  path the run would use (a stream never heard is named: a FAIL; a liquidation stream may rightly be quiet for
  that long: a WARN);
* ``min order``: each symbol's smallest order (the venue's minimum quantity at the last price, or its minimum
  notional, whichever is larger) against ``notional``;
* with keys: ``permissions`` (trading on, else FAIL; withdrawals on is a WARN), ``position mode`` (one-way
  needed: liqcore's orders carry no hedge side), ``margin mode``, ``leverage`` per symbol (above 10x is a WARN:
  the trading guide's cap) and ``fees`` (the account's maker and taker rates against the strategy's assumed
  ``maker-fee-bps`` / ``taker-fee-bps``: a maker rate above the assumption or above the 2 bps the guide's edge
  needs is a FAIL).

The venue wire knowledge (paths, answers, signing) is in ``liqcore.venues.<venue>.account``.
"""
from __future__ import annotations

import asyncio
import types
import logging
import math
import time
from dataclasses import asdict, dataclass

from liqcore.venues.registry import venue_spec

__all__ = ["Row", "preflight", "GUIDE_MAX_MAKER_BPS", "GUIDE_MAX_LEVERAGE"]

log = logging.getLogger("liqcore.preflight")

#: the trading guide: the cascade edge needs a maker fee of at most 2 bps, and never more than 10x leverage
GUIDE_MAX_MAKER_BPS = 2.0
GUIDE_MAX_LEVERAGE = 10.0


@dataclass
class Row:
    check: str
    target: str
    status: str  # PASS | WARN | FAIL | SKIP
    detail: str

    def __post_init__(self):  # (an endpoint's user:password@ or token, a library's words repeating them: never shown)
        from liqcore.secrets import redact_text

        self.target, self.detail = redact_text(self.target), redact_text(self.detail)

    def to_dict(self) -> dict:
        return asdict(self)


class _Http:
    def __init__(self, session, base: str):
        self.session, self.base = session, base.rstrip("/")

    async def get(self, target: str, headers: dict | None = None, base: str | None = None):
        """``(status, body or None, seconds)``; a transport failure raises (aiohttp's errors, timeouts)."""
        import orjson

        t0 = time.monotonic()
        async with self.session.get((base or self.base).rstrip("/") + target, headers=headers or {}) as r:
            raw = await r.read()
            dt = time.monotonic() - t0
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        return r.status, body, dt


def _fmt_ms(ms: float) -> str:
    return f"{ms:+.0f} ms"


async def _clock_rows(http: _Http, acct, venue: str) -> tuple[list[Row], float | None]:
    rows: list[Row] = []
    t0 = time.time_ns()
    try:
        status, body, dt = await http.get(acct.TIME_PATH)
    except Exception as e:  # (refused, DNS, timeout: one line)
        return [Row("rest", http.base, "FAIL", f"{acct.TIME_PATH}: {type(e).__name__}: {e}".rstrip(": ")),
                Row("clock", venue, "SKIP", "no server time (the REST base did not answer)")], None
    t1 = time.time_ns()
    try:
        server = acct.server_time_ms(body)
    except Exception as e:
        return [Row("rest", http.base, "FAIL", f"{acct.TIME_PATH}: HTTP {status}, not a server time ({e})"),
                Row("clock", venue, "SKIP", "no server time")], None
    rows.append(Row("rest", http.base, "PASS", f"{acct.TIME_PATH}: HTTP {status} in {dt * 1e3:.0f} ms"))
    local_mid = (t0 + t1) / 2e6
    offset = local_mid - server  # > 0: this machine is ahead of the venue
    half_rtt = (t1 - t0) / 2e6
    behind, ahead = acct.SKEW_LIMIT_MS
    bound = f"bound: at most {ahead} ms ahead, {behind} ms behind, for the venue's signing"
    ok = -behind < offset < ahead
    rows.append(Row("clock", venue, "PASS" if ok else "FAIL",
                    f"this machine's clock is {abs(offset):.0f} ms {'ahead of' if offset >= 0 else 'behind'} the "
                    f"venue's (± {half_rtt:.0f} ms, half the round trip; {bound})"))
    return rows, offset


async def _stream_rows(venue: str, symbols, ws_url, network: str, needs, timeout_s: float) -> list[Row]:
    from liqcore.live.feeds import FeedManager
    from liqcore.live.silence import is_liquidation_stream, stream_name

    fm = FeedManager(venue, symbols, lambda v, p, t: None, None, url=ws_url, network=network, needs=needs,
                     silent_after_s=1e9)  # (the watch's receive-path dict is what is read here; no reports)
    topics = [t for sp in fm.specs for t in sp.topics]
    urls = sorted({sp.url for sp in fm.specs})
    first: dict[str, float] = {}
    t0 = time.monotonic()
    await fm.start()
    try:
        while time.monotonic() - t0 < timeout_s and len(first) < len(topics):
            for t in fm.watch.heard_topics():
                first.setdefault(t, time.monotonic() - t0)
            await asyncio.sleep(0.02)
    finally:
        st = [c.stats for c in fm.connections]
        await fm.stop()
    connected = any(s.connects for s in st)
    others = any(t in first for t in topics if not is_liquidation_stream(venue, t))
    rows = []
    for t in topics:
        name = f"{venue} {stream_name(venue, t)}"
        if t in first:
            rows.append(Row("stream", name, "PASS", f"first frame {first[t] * 1e3:.0f} ms after connecting"))
        elif not connected:
            last = next((s.last_error for s in st if s.last_error), "")
            rows.append(Row("stream", name, "FAIL", f"never connected to {', '.join(urls)}{': ' + last if last else ''}"))
        elif is_liquidation_stream(venue, t):
            rows.append(Row("stream", name, "WARN", f"no liquidation within {timeout_s:g} s on {', '.join(urls)} "
                                                    f"(liquidations come when they come"
                                                    f"{'; the other streams flowed' if others else ''})"))
        else:
            rows.append(Row("stream", name, "FAIL", f"silent: no frame within {timeout_s:g} s on {', '.join(urls)}"))
    return rows


async def _order_rows(http: _Http, acct, venue: str, symbols, rest_url, notional: float | None) -> list[Row]:
    from liqcore.market.universe import fetch_universe

    try:
        u = await fetch_universe(venue, base_url=rest_url or http.base)
    except Exception as e:
        return [Row("min order", s, "FAIL", f"no instrument list: {e}") for s in symbols]
    prices: dict[str, float] = {}
    try:
        path, params = acct.TICKERS
        from urllib.parse import urlencode

        status, body, _ = await http.get(path + ("?" + urlencode(params) if params else ""))
        prices = acct.last_prices(body)
    except Exception as e:  # (the minimum notional alone is still judged)
        log.info("preflight: no last prices (%s)", e)
    # the venue's own names of the symbols (OKX lists instIds: ETHUSDT is ETH-USDT-SWAP; its sizes are contracts
    # of ctVal base units)
    listed = getattr(acct, "listed_symbol", None)
    key = {s: listed(s) if listed is not None else s for s in symbols}
    rows = []
    for s in symbols:
        r = u.rules.get(key[s])
        if r is None:
            rows.append(Row("min order", s, "FAIL", f"{venue} lists no USDT perpetual {s}"))
            continue
        px = prices.get(s, math.nan)
        by_qty = r.min_qty * px if px == px else math.nan
        smallest = max(r.min_notional, by_qty if by_qty == by_qty else 0.0)
        what = (f"min qty {r.min_qty:g} x last {px:g} = {by_qty:.2f} USDT" if by_qty == by_qty
                else f"min qty {r.min_qty:g} (no last price)") + f", min notional {r.min_notional:g} USDT, " \
                                                                  f"tick {r.tick_size:g}, lot {r.qty_step:g}"
        ct = u.contract.get(key[s])
        if ct:
            what += f"; quantities in base units, 1 contract = {ct:g} {key[s].split('-')[0]}"
        if notional is None:
            rows.append(Row("min order", s, "PASS", f"smallest order {smallest:.2f} USDT ({what}); no --notional given"))
        elif smallest <= notional:
            rows.append(Row("min order", s, "PASS", f"smallest order {smallest:.2f} USDT <= --notional "
                                                    f"{notional:g} USDT ({what})"))
        else:
            rows.append(Row("min order", s, "FAIL", f"smallest order {smallest:.2f} USDT > --notional {notional:g} "
                                                    f"USDT: no order could be placed ({what})"))
    return rows


async def _key_rows(http: _Http, acct, venue: str, symbols, creds, spot_base: str | None,
                    maker_bps: float, taker_bps: float, network: str = "mainnet") -> list[Row]:
    key = creds.api_key.reveal()
    secret = creds.api_secret
    passphrase = getattr(creds, "passphrase", None)
    passphrase = passphrase.reveal() if hasattr(passphrase, "reveal") else (passphrase or "")

    async def call(path, params=None, base=None):
        now = int(time.time() * 1000)
        extra = acct.sign_options(passphrase, network) if hasattr(acct, "sign_options") else {}  # (OKX's)
        target, headers = acct.signed(key, secret, path, dict(params or {}), now, **extra)
        try:
            status, body, _ = await http.get(target, headers, base=base)
        except Exception as e:
            raise ValueError(f"{path}: {type(e).__name__}: {e}".rstrip(": ")) from None
        if body is None:
            raise ValueError(f"{path}: HTTP {status}, not JSON")
        return body

    rows: list[Row] = []

    async def row(check, target, fn):
        try:
            rows.extend(await fn())
        except Exception as e:  # (an answer the venue refused: its code and message, never the key)
            rows.append(Row(check, target, "FAIL", str(e)))

    def perm_rows(p):
        out = [Row("permissions", "trading", "PASS" if p["trade"] else "FAIL",
                   ("trading enabled" if p["trade"] else "cannot trade: the key does not allow orders") +
                   f" ({p['detail']})")]
        out.append(Row("permissions", "withdrawals", "WARN" if p["withdraw"] else "PASS",
                       "withdrawals ENABLED on a trading key: turn them off" if p["withdraw"] else "withdrawals off"))
        return out

    def mode_row(mode):
        return Row("position mode", venue, "PASS" if mode == "one-way" else "FAIL",
                   f"{mode}" + ("" if mode == "one-way" else ": liqcore's orders carry no hedge side; switch the "
                                                             "account to one-way"))

    def lev_row(s, lev, margin):
        ok = 0 < lev <= GUIDE_MAX_LEVERAGE
        return Row("leverage", s, "PASS" if ok else "WARN",
                   f"{lev:g}x {margin}" + ("" if ok else f" (the trading guide: never above {GUIDE_MAX_LEVERAGE:g}x)"))

    def fee_rows(s, maker, taker):
        mk, tk = maker * 1e4, taker * 1e4
        bad = mk > maker_bps + 1e-9 or mk > GUIDE_MAX_MAKER_BPS + 1e-9
        why = []
        if mk > maker_bps + 1e-9:
            why.append(f"above the strategy's assumed {maker_bps:g} bps (maker-fee-bps)")
        if mk > GUIDE_MAX_MAKER_BPS + 1e-9:
            why.append(f"above the {GUIDE_MAX_MAKER_BPS:g} bps the guide's edge needs")
        out = [Row("fees", f"{s} maker", "FAIL" if bad else "PASS",
                   f"maker {mk:.2f} bps" + (": " + "; ".join(why) if why else f" <= assumed {maker_bps:g} bps"))]
        out.append(Row("fees", f"{s} taker", "WARN" if tk > taker_bps + 1e-9 else "PASS",
                       f"taker {tk:.2f} bps" + (f": above the strategy's assumed {taker_bps:g} bps (taker-fee-bps)"
                                                if tk > taker_bps + 1e-9 else f" <= assumed {taker_bps:g} bps")))
        return out

    kit = types.SimpleNamespace(venue=venue, symbols=symbols, call=call, row=row, rows=rows, spot_base=spot_base,
                                Row=Row, perm_rows=perm_rows, mode_row=mode_row, lev_row=lev_row, fee_rows=fee_rows)
    await acct.preflight_checks(kit)  # (each venue's own: liqcore.venues.<venue>.account)
    return rows


async def preflight(venue: str, symbols, *, ws_url: str | None = None, rest_url: str | None = None,
                    network: str = "mainnet", creds=None, timeout_s: float = 10.0, notional: float | None = None,
                    needs=frozenset({"liquidation", "trade"}), maker_fee_bps: float = 2.0, taker_fee_bps: float = 5.5,
                    spot_rest_url: str | None = None) -> list[Row]:
    """Every check (see the module docstring), as rows; nothing here raises for what the venue answers."""
    import aiohttp

    venue = venue.lower()
    acct = venue_spec(venue).part("account")  # (liqcore.venues.<venue>.account)
    base = (rest_url or venue_spec(venue).part("stream").REST_ENDPOINTS[network]).rstrip("/")  # (its REST base)
    # the spot API's base (Binance's permissions): --rest-url's when the venue serves both there (its fake does)
    spot = spot_rest_url or (rest_url if rest_url and getattr(acct, "SPOT_ON_REST_URL", False) else
                             getattr(acct, "SPOT_REST", {}).get(network))
    rows: list[Row] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session:
        http = _Http(session, base)
        clock, _offset = await _clock_rows(http, acct, venue)
        rows += clock
        streams = asyncio.ensure_future(_stream_rows(venue, symbols, ws_url, network, needs, timeout_s))
        rows += await _order_rows(http, acct, venue, symbols, rest_url, notional)
        if creds is None:
            rows.append(Row("key", venue, "SKIP", "no key given (--key-file, or the venue's API key variables): "
                                                  "permissions, modes, leverage and fees not checked"))
        elif rows[0].status == "FAIL":
            rows.append(Row("key", venue, "SKIP", "the REST base did not answer: the key's checks were not run"))
        else:
            rows += await _key_rows(http, acct, venue, symbols, creds, spot, maker_fee_bps, taker_fee_bps, network)
        stream_rows = await streams
    order = {"rest": 0, "clock": 1, "stream": 2}
    return sorted(rows[:2], key=lambda r: order.get(r.check, 9)) + stream_rows + rows[2:]
