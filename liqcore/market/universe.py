"""A venue's whole universe of USDT perpetuals, with each one's trading rules, from its public REST API.

The details: docs/maintainers/live-feeds.md, "A venue's universe of perpetuals".

May import: ``aiohttp``, ``_atomic``, ``cache``, ``venues.instruments``, ``venues.numbers`` and ``venues.registry``
(each venue's ``market`` part fetches its list: ``fetch_instruments(kit, base, quote, left)``, with the kit of
:class:`_Kit`).
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
from liqcore.venues.numbers import wire_number

__all__ = ["Universe", "fetch_universe", "load_universe", "cache_path", "rest_base", "UniverseError",
           "keep_with_recording"]

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
            out[str(t[key])] = wire_number(value(t))
        except (KeyError, TypeError, ValueError):
            pass
    return out


class _Kit:
    """What a venue's ``market`` part's ``fetch_instruments(kit, base, quote, left)`` is handed: ``get(path,
    params)`` (a GET through the venue's governor of the host, :func:`get_json`'s checks), ``take`` (:func:`_take`),
    ``turnover`` (:func:`_turnover`), ``error`` (:class:`UniverseError`) and ``Instrument``."""

    def __init__(self, session, venue: str, base: str):
        self._session, self._market, self.base = session, _market(venue), base
        self.take, self.turnover, self.error, self.Instrument = _take, _turnover, UniverseError, Instrument

    async def get(self, path: str, params: dict | None = None):
        return await get_json(self._session, f"{self.base}{path}", params,
                              governed=self._market.governed(self.base, path, params))


def _market(venue: str):
    """The venue's ``market`` part (an unknown venue, or one without the part: UniverseError naming those with one)."""
    from liqcore.venues.registry import registered, spec_or_none

    spec = spec_or_none(venue)
    if spec is None or not spec.has_part("market") or not hasattr(spec.part("market"), "fetch_instruments"):
        have = [s.name for s in registered() if s.has_part("market") and hasattr(s.part("market"), "fetch_instruments")]
        raise UniverseError(f"venue: expected one of {', '.join(have)}; got {venue!r}")
    return spec.part("market")


def rest_base(venue: str, network: str = "mainnet") -> str:
    """The venue's public REST base of ``network`` (its ``stream`` part's ``REST_ENDPOINTS``)."""
    from liqcore.venues.registry import venue_spec

    return venue_spec(venue).part("stream").REST_ENDPOINTS[network]


async def fetch_universe(venue: str, *, base_url: str | None = None, quote: str = "USDT",
                         timeout_s: float = _TIMEOUT_S) -> Universe:
    """The venue's linear perpetuals settled in ``quote`` that trade now, with their rules (asked now)."""
    import aiohttp

    v = str(venue).lower()
    market = _market(v)  # (its fetch_instruments: liqcore.venues.<venue>.market)
    base = (base_url or rest_base(v)).rstrip("/")
    left: dict[str, int] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as s:
        rules, turnover, contract = await market.fetch_instruments(_Kit(s, v, base), base, str(quote).upper(), left)
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
    own = rest_base(venue).rstrip("/")
    base = (base_url or own).rstrip("/")
    tail = "" if base == own else "-" + hashlib.sha256(base.encode()).hexdigest()[:12]
    return Path(cache_dir) / f"universe-{venue}-{quote.lower()}{tail}.json"


async def load_universe(venue: str, *, base_url: str | None = None, quote: str = "USDT", max_age_s: float = 3600.0,
                        cache_dir: str | Path | None = None, warn=None) -> Universe:
    """:func:`fetch_universe`, through the cache: a cached answer younger than ``max_age_s`` is served as it
    is; otherwise the venue is asked and the answer kept (written whole: temp file + rename).  When the venue
    cannot be reached, a cached answer of any age is served and ``warn`` (default: stderr) is told its age."""
    from liqcore._atomic import atomic_path

    v, q = str(venue).lower(), str(quote).upper()
    _market(v)  # (a venue without an instrument list: UniverseError naming those with one)
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
