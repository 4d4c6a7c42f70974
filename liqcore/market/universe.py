"""A venue's whole universe of USDT perpetuals, with each one's trading rules, from its public REST API.

The details: docs/maintainers/live-feeds.md, "A venue's universe of perpetuals".

May import: ``aiohttp``, ``_atomic``, ``cache``, ``venues.instruments``, ``venues.governor`` and
``venues.binance.rest`` (the governor of Binance's REST host).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from liqcore.venues.instruments import Instrument

__all__ = ["Universe", "fetch_universe", "load_universe", "cache_path", "REST_URLS", "UniverseError",
           "keep_with_recording"]

REST_URLS = {"binance": "https://fapi.binance.com", "bybit": "https://api.bybit.com", "okx": "https://www.okx.com"}
_TIMEOUT_S = 15.0


class UniverseError(ValueError):
    """The venue's instrument list could not be had (one line: which venue, which URL, why)."""


@dataclass
class Universe:
    venue: str
    quote: str
    rules: dict[str, Instrument]  # symbol (venue spelling) -> its trading rules
    turnover: dict[str, float]  # symbol -> 24 h turnover in quote units (nan: not reported)
    fetched_ns: int
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> instruments
    source: str = "venue"  # "venue" (asked now) or "cache" (an earlier answer)
    #: OKX: symbol -> ``ctVal`` (base units per contract: its liquidations and trades are counted in contracts)
    contract: dict[str, float] = field(default_factory=dict)

    @property
    def symbols(self) -> list[str]:
        return sorted(self.rules)

    def age_s(self, now_ns: int | None = None) -> float:
        return ((time.time_ns() if now_ns is None else now_ns) - self.fetched_ns) / 1e9

    def select(self, *, exclude=(), min_volume: float | None = None) -> "Universe":
        """The same universe less the symbols named in ``exclude`` and those whose 24 h turnover is below
        ``min_volume`` (quote units; a symbol without a reported turnover is kept only without a floor)."""
        ex = {str(s).strip().upper() for s in exclude if str(s).strip()}
        rules, left = {}, dict(self.left_out)
        for s, r in self.rules.items():
            if s.upper() in ex:
                left["excluded"] = left.get("excluded", 0) + 1
            elif min_volume is not None and not (self.turnover.get(s, math.nan) >= min_volume):
                left["below_min_volume"] = left.get("below_min_volume", 0) + 1
            else:
                rules[s] = r
        return Universe(self.venue, self.quote, rules, {s: self.turnover.get(s, math.nan) for s in rules},
                        self.fetched_ns, left, self.source, {s: c for s, c in self.contract.items() if s in rules})

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.fetched_ns / 1e9))
        left = ", ".join(f"{k}={v}" for k, v in sorted(self.left_out.items()))
        return (f"{self.venue}: {len(self.rules)} {self.quote} perpetuals (instrument list fetched {when}"
                f"{', from the cache' if self.source == 'cache' else ''})" + (f"; left out: {left}" if left else ""))

    # ---- the cache form
    def to_json(self) -> dict:
        return {"venue": self.venue, "quote": self.quote, "fetched_ns": self.fetched_ns, "left_out": self.left_out,
                "rules": {s: {"tick_size": r.tick_size, "qty_step": r.qty_step, "min_qty": r.min_qty,
                              "max_qty": None if math.isinf(r.max_qty) else r.max_qty, "min_notional": r.min_notional}
                          for s, r in self.rules.items()},
                "turnover": {s: (None if v != v else v) for s, v in self.turnover.items()}, "contract": self.contract}

    @classmethod
    def from_json(cls, d: dict) -> "Universe":
        rules = {s: Instrument(s, float(r["tick_size"]), float(r["qty_step"]), float(r["min_qty"]),
                               math.inf if r.get("max_qty") is None else float(r["max_qty"]), float(r["min_notional"]))
                 for s, r in d["rules"].items()}
        return cls(str(d["venue"]), str(d["quote"]), rules,
                   {s: (math.nan if v is None else float(v)) for s, v in d.get("turnover", {}).items()},
                   int(d["fetched_ns"]), dict(d.get("left_out", {})), "cache",
                   {s: float(c) for s, c in (d.get("contract") or {}).items()})


def _count(d: dict, k: str) -> None:
    d[k] = d.get(k, 0) + 1


async def get_json(session, url: str, params: dict | None = None, *, error=UniverseError, what: str = "instrument list",
                   governed=None):
    """A venue's JSON answer to ``GET url``; not reachable, not HTTP 200 or not JSON raises ``error`` (one line,
    starting with ``what``).  ``governed``: ``(governor, weight, observe)``: the request first waits for the host's
    governor (:mod:`liqcore.venues.governor`; during a ban nothing is sent: ``error`` naming the ban) and its answer
    is reported to it (``observe(governor, status, headers)``: the venue's waits and bans)."""
    import aiohttp

    if governed is not None:
        from liqcore.venues.governor import VenueBanned

        gov, weight, observe = governed
        try:
            await gov.acquire(weight, f"GET {url.split('://', 1)[-1].split('/', 1)[-1].split('?')[0]}")
        except VenueBanned as ban:
            raise error(f"{what}: not sent: {ban}") from None
    try:
        async with session.get(url, params=params) as r:
            if governed is not None:
                observe(gov, r.status, r.headers)
            if r.status != 200:
                text = (await r.text())[:200].replace("\n", " ")
                raise error(f"{what}: {url} answered HTTP {r.status} ({text})")
            return await r.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
        raise error(f"{what}: cannot reach {url} ({type(e).__name__}: {e or 'timed out'})") from None
    except ValueError as e:
        if isinstance(e, error):
            raise
        raise error(f"{what}: {url} did not answer JSON ({e})") from None


async def _governed_get(session, venue: str, base: str, path: str, params: dict | None = None):
    """``GET base+path`` through the venue's governor of that host (its weight, its waits and bans)."""
    from liqcore.venues.registry import venue_spec

    gov = venue_spec(venue).part("market").governed(base, path, params)
    return await get_json(session, f"{base}{path}", params, governed=gov)


def _take(rows, left: dict, rules: dict, checks, key: str, parse) -> None:
    """Each row that passes ``checks`` (``(field, wanted value, reason left out)``, in order) into ``rules``
    (``rules[row[key]] = parse(row)``); the others counted in ``left`` by reason (``malformed``: not a row, or
    ``parse`` refused it)."""
    for row in rows or []:
        if not isinstance(row, dict):
            _count(left, "malformed")
            continue
        why = next((reason for f, want, reason in checks if row.get(f) != want), None)
        if why is not None:
            _count(left, why)
            continue
        try:
            rules[str(row[key])] = parse(row)
        except (ValueError, KeyError, TypeError):
            _count(left, "malformed")


def _turnover(rows, key: str, value) -> dict:
    """Symbol -> 24 h turnover in quote units (``value(row)``) of the ticker rows that carry it."""
    out = {}
    for t in rows or []:
        try:
            out[str(t[key])] = float(value(t))
        except (KeyError, TypeError, ValueError):
            pass
    return out


def binance_governed(base: str, path: str, params: dict | None = None):
    """``get_json``'s ``governed`` for a Binance USD-M request: the host's governor, the path's documented weight
    and the venue's reading of an answer (:mod:`liqcore.venues.binance.rest`)."""
    from liqcore.venues.binance import rest as br
    from liqcore.venues.governor import governor_for

    return governor_for("binance", base, **br.GOVERNOR_LIMITS), br.weight_of("GET", path, params), br.observe_answer


async def _binance(session, base: str, quote: str, left: dict):
    info = await get_json(session, f"{base}/fapi/v1/exchangeInfo",
                          governed=binance_governed(base, "/fapi/v1/exchangeInfo"))
    rules: dict = {}
    _take(info.get("symbols") if isinstance(info, dict) else None, left, rules,
          (("contractType", "PERPETUAL", "not_perpetual"), ("quoteAsset", quote, "other_quote"),
           ("status", "TRADING", "not_trading")), "symbol", Instrument.from_binance)
    tick = await get_json(session, f"{base}/fapi/v1/ticker/24hr", governed=binance_governed(base, "/fapi/v1/ticker/24hr"))
    return rules, _turnover(tick if isinstance(tick, list) else None, "symbol", lambda t: t["quoteVolume"]), {}


async def _bybit(session, base: str, quote: str, left: dict):
    rules: dict = {}
    cursor = ""
    for _ in range(100):
        p = {"category": "linear", "limit": "1000"}
        if cursor:
            p["cursor"] = cursor
        res = await _governed_get(session, "bybit", base, "/v5/market/instruments-info", p)
        if not isinstance(res, dict) or res.get("retCode") not in (0, None):
            raise UniverseError(f"instrument list: {base}/v5/market/instruments-info answered "
                                f"retCode {res.get('retCode') if isinstance(res, dict) else '?'}")
        body = res.get("result") or {}
        _take(body.get("list"), left, rules,
              (("contractType", "LinearPerpetual", "not_perpetual"), ("quoteCoin", quote, "other_quote"),
               ("status", "Trading", "not_trading")), "symbol", Instrument.from_bybit)
        cursor = body.get("nextPageCursor") or ""
        if not cursor:
            break
    res = await _governed_get(session, "bybit", base, "/v5/market/tickers", {"category": "linear"})
    rows = (res.get("result") or {}).get("list") if isinstance(res, dict) else None
    return rules, _turnover(rows, "symbol", lambda t: t["turnover24h"]), {}


def _okx_rule(row: dict) -> Instrument:
    """OKX's grid in base units: ``tickSz``; lot and minimum in contracts of ``ctVal`` base units each."""
    ct = float(row["ctVal"])
    return Instrument(str(row["instId"]), float(row["tickSz"]), float(row["lotSz"]) * ct, float(row["minSz"]) * ct)


async def _okx(session, base: str, quote: str, left: dict):
    res = await _governed_get(session, "okx", base, "/api/v5/public/instruments", {"instType": "SWAP"})
    if not isinstance(res, dict) or str(res.get("code", "0")) != "0":
        raise UniverseError(f"instrument list: {base}/api/v5/public/instruments answered code "
                            f"{res.get('code') if isinstance(res, dict) else '?'}")
    rules: dict = {}
    _take(res.get("data"), left, rules,  # (ctType inverse: the coin-margined swaps)
          (("ctType", "linear", "not_perpetual"), ("settleCcy", quote, "other_quote"),
           ("state", "live", "not_trading")),
          "instId", _okx_rule)
    # each kept swap's ctVal (parsed already by _okx_rule: the rows that did not parse were left out)
    contract = {str(r["instId"]): float(r["ctVal"]) for r in res.get("data") or []
                if isinstance(r, dict) and str(r.get("instId")) in rules}
    tick = await _governed_get(session, "okx", base, "/api/v5/market/tickers", {"instType": "SWAP"})
    rows = tick.get("data") if isinstance(tick, dict) else None
    return rules, _turnover(rows, "instId", lambda t: float(t["volCcy24h"]) * float(t["last"])), contract


_FETCH = {"binance": _binance, "bybit": _bybit, "okx": _okx}


async def fetch_universe(venue: str, *, base_url: str | None = None, quote: str = "USDT",
                         timeout_s: float = _TIMEOUT_S) -> Universe:
    """The venue's linear perpetuals settled in ``quote`` that trade now, with their rules (asked now)."""
    import aiohttp

    v = str(venue).lower()
    if v not in _FETCH:
        raise UniverseError(f"venue: expected one of {', '.join(_FETCH)}; got {venue!r}")
    base = (base_url or REST_URLS[v]).rstrip("/")
    left: dict[str, int] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as s:
        rules, turnover, contract = await _FETCH[v](s, base, str(quote).upper(), left)
    if not rules:
        raise UniverseError(f"instrument list: {base} lists no {quote} perpetual that trades")
    return Universe(v, str(quote).upper(), rules, {s: turnover.get(s, math.nan) for s in rules}, time.time_ns(), left,
                    contract=contract)


def cache_path(venue: str, quote: str, cache_dir: str | Path | None = None, base_url: str | None = None) -> Path:
    """Where :func:`load_universe` keeps the venue's last list (``universe-<venue>-<quote>.json`` in the cache
    directory; a list fetched from another URL, ``...-<hash of the URL>.json``)."""
    return _cache_path(venue, quote, cache_dir, base_url)


def _cache_path(venue: str, quote: str, cache_dir: str | Path | None, base_url: str | None = None) -> Path:
    """The venue's own URL: ``universe-<venue>-<quote>.json``; any other (a mirror, a test server): a file of
    its own (``...-<hash of the URL>.json``), so one server's list is never served as another's."""
    if cache_dir is None:
        from liqcore.cache import cache_dir as default_dir

        cache_dir = default_dir()
    base = (base_url or REST_URLS[venue]).rstrip("/")
    tail = "" if base == REST_URLS[venue].rstrip("/") else "-" + hashlib.sha256(base.encode()).hexdigest()[:12]
    return Path(cache_dir) / f"universe-{venue}-{quote.lower()}{tail}.json"


async def load_universe(venue: str, *, base_url: str | None = None, quote: str = "USDT", max_age_s: float = 3600.0,
                        cache_dir: str | Path | None = None, warn=None) -> Universe:
    """:func:`fetch_universe`, through the cache: a cached answer younger than ``max_age_s`` is served as it
    is; otherwise the venue is asked and the answer kept (written whole: temp file + rename).  When the venue
    cannot be reached, a cached answer of any age is served and ``warn`` (default: stderr) is told its age."""
    from liqcore._atomic import atomic_path

    v, q = str(venue).lower(), str(quote).upper()
    if v not in _FETCH:
        raise UniverseError(f"venue: expected one of {', '.join(_FETCH)}; got {venue!r}")
    path = _cache_path(v, q, cache_dir, base_url)
    cached = None
    try:
        cached = Universe.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        cached = None
    if cached is not None and cached.age_s() < max_age_s and base_url is None:  # (a mirror's: asked each time)
        return cached
    try:
        u = await fetch_universe(v, base_url=base_url, quote=q)
    except UniverseError as e:
        if cached is None:
            raise
        (warn or _stderr)(f"{e}; using the instrument list cached {cached.age_s() / 3600:.1f} h ago")
        return cached
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(u.to_json()))
    except OSError as e:
        (warn or _stderr)(f"instrument list: not cached ({e})")
    return u


def keep_with_recording(u: Universe, out_dir: str | Path) -> Path:
    """Keep ``u`` (OKX: each swap's ``ctVal``, what its liquidations' sizes in contracts are multiplied by) in the
    recording directory ``out_dir`` as :data:`liqcore.venues.instruments.RECORDING_INSTRUMENTS`, the file the
    readers size the recording's OKX frames with.  A list kept there already (an earlier recording into the same
    directory) is merged: the swaps of both, each on its latest values, the time fetched the latest.  Written
    whole (temp file + rename)."""
    from liqcore._atomic import atomic_path
    from liqcore.venues.instruments import RECORDING_INSTRUMENTS

    path = Path(out_dir) / RECORDING_INSTRUMENTS
    d = u.to_json()
    try:
        old = json.loads(path.read_text())
        for k in ("rules", "turnover", "contract"):
            d[k] = {**(old.get(k) or {}), **d[k]}
        d["fetched_ns"] = max(int(old.get("fetched_ns") or 0), d["fetched_ns"])
    except FileNotFoundError:
        pass
    except (OSError, ValueError, TypeError, AttributeError) as e:
        raise UniverseError(f"instrument list: {path} exists and cannot be read as one ({e}); move it away") from None
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(d))
    return path


def _stderr(msg: str) -> None:
    import sys

    print(f"warning: {msg}", file=sys.stderr)
