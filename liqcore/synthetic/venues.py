"""One instrument on several venues: the ground truth of the lead-lag study (:func:`venue_market`).

The generator runs once per venue, every cascade scheduled from one latent event with each venue's
lead and jitter, and each venue's liquidation stream throttled as its feed is: docs/explanation/synthetic-market.md, "One
instrument on several synthetic venues".

May import: numpy, ``types``, ``_jit`` and this package's ``market``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from liqcore.venues.registry import venue_names, venue_spec
from liqcore.types import EVENT_DTYPE, NS_PER_MS, NS_PER_S, Flag, Kind, SymbolRegistry, Venue

__all__ = ["VenueMarket", "venue_market", "throttled"]

_DEFAULT_START_NS = 1_748_736_000_000_000_000  # 2025-06-01 00:00 UTC (Bybit unthrottled since 2025-02)


@dataclass
class VenueMarket:
    """Events of one instrument on several venues (EVENT_DTYPE, event-time order), their registry,
    the latent cascades (``truth``) and what was planted (``lead_ms``, ``throttle_ms``)."""

    events: np.ndarray
    registry: SymbolRegistry
    venues: tuple
    symbol: str
    lead_ms: dict
    throttle_ms: dict
    truth: dict = field(default_factory=dict)


def _venue_symbol(venue: str, symbol: str) -> str:
    s = symbol.upper()
    spec = venue_spec(venue)
    if s.endswith(spec.quote) and len(s) > len(spec.quote):  # in the venue's style: ETHUSDT, ETH-USDT-SWAP, ETH_USDT
        return spec.symbol_for(s[: -len(spec.quote)])
    return s


def throttled(ts: np.ndarray, window_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """``(keep, push_ns)`` of one symbol's liquidations (sorted times) under a snapshot throttle: in
    each ``window_ns`` window (aligned on the epoch) only the latest is shown, pushed at the window's
    end."""
    if window_ns <= 0 or len(ts) == 0:
        return np.ones(len(ts), bool), ts.astype(np.int64)
    b = ts // window_ns
    keep = np.ones(len(ts), bool)
    keep[:-1] = b[1:] != b[:-1]
    return keep, (b + 1) * window_ns


def venue_market(days: float = 4.0, symbol: str = "BTCUSDT", venues=None, lead_ms=None,
                 throttle_ms=None, jitter_ms: float = 40.0, seed: int = 7, cascades_per_day: float | None = None,
                 feed_latency_ms: float = 50.0, start_ns: int = _DEFAULT_START_NS) -> VenueMarket:
    """Generate the market (see the module); ``venues`` None: the first two registered venues."""
    from liqcore._jit import synth as k
    from liqcore.synthetic.market import build_params, simulate_symbol

    if venues is None:
        venues = venue_names()[:2]
    venues = tuple(Venue.parse(v).name.lower() for v in venues)
    if len(venues) < 2 or len(set(venues)) != len(venues):
        raise ValueError(f"venues: give two or more different venues; got {', '.join(venues)}")
    lead_ms = {Venue.parse(v).name.lower(): float(x) for v, x in (lead_ms or {}).items()}
    throttle_ms = {Venue.parse(v).name.lower(): float(x) for v, x in (throttle_ms or {}).items()}
    for name, d in (("lead_ms", lead_ms), ("throttle_ms", throttle_ms)):
        for v, x in d.items():
            if v not in venues:
                raise ValueError(f"{name}: {v} is not one of the market's venues ({', '.join(venues)})")
            if not np.isfinite(x) or (name == "throttle_ms" and x < 0) or abs(x) > 60_000:
                raise ValueError(f"{name}: {v}: expected a finite number of ms (|x| <= 60000); got {x!r}")
    if not (days > 0 and np.isfinite(days)):
        raise ValueError(f"days: must be > 0; got {days!r}")
    if jitter_ms < 0:
        raise ValueError(f"jitter_ms: must be >= 0; got {jitter_ms!r}")
    p0 = build_params(symbol, days, start_ns)
    rate = float(p0[k.MU_S]) * 86400.0 if cascades_per_day is None else float(cascades_per_day)
    from liqcore.synthetic.memory import check_fits

    p1 = build_params(symbol, days, start_ns, overrides={"mu_s": 0.0})  # each venue's, as below
    check_fits({v: p1 for v in venues}, days, f"synthetic {symbol} market on {', '.join(venues)}",
               n_ext=int(rate * days * 1.2) + 64)  # (the latent cascades: a Poisson count, a margin above its mean)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 34])))
    t_end = days * 86400.0
    n_lat = rng.poisson(rate * days)
    lat_t = np.sort(rng.uniform(60.0, t_end - 60.0, n_lat))
    lat_side = np.where(rng.random(n_lat) < 0.55, 1, 2).astype(np.int8)
    registry = SymbolRegistry()
    parts = []
    onsets = {}
    for vi, v in enumerate(venues):
        off = -lead_ms.get(v, 0.0) / 1000.0 + rng.normal(0.0, jitter_ms / 1000.0, n_lat)
        ext = lat_t + off
        order = np.argsort(ext, kind="stable")
        onsets[v] = (ext * NS_PER_S).astype(np.int64) + start_ns
        p = build_params(symbol, days, start_ns, overrides={"mu_s": 0.0})
        rows, _eps = simulate_symbol(p, int(seed) * 1000 + 17 * (vi + 1), f"{symbol}@{v}", ext_t=ext[order],
                                     ext_side=lat_side[order])
        n = len(rows["t_ns"])
        ev = np.zeros(n, dtype=EVENT_DTYPE)
        ev["ts_event"] = rows["t_ns"] + start_ns
        ev["price"] = rows["price"]
        ev["qty"] = rows["qty"]
        ev["side"] = rows["side"]
        ev["kind"] = rows["kind"]
        ev["venue"] = int(Venue.parse(v))
        ev["symbol_id"] = registry.id(v, _venue_symbol(v, symbol))
        ev["flags"] = int(Flag.SYNTHETIC)
        ev = ev[np.argsort(ev["ts_event"], kind="stable")]
        vrng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 34, vi])))
        lat = int(feed_latency_ms * NS_PER_MS) + (vrng.exponential(5.0, n) * NS_PER_MS).astype(np.int64)
        ev["ts_recv"] = ev["ts_event"] + lat
        thr = int(throttle_ms.get(v, 0.0) * NS_PER_MS)
        if thr > 0:
            liq = np.flatnonzero(ev["kind"] == int(Kind.LIQUIDATION))
            keep, push = throttled(ev["ts_event"][liq], thr)
            ev["ts_recv"][liq] = push + lat[liq]
            ev["flags"][liq] |= int(Flag.THROTTLED)
            drop = np.ones(n, bool)
            drop[liq[~keep]] = False
            ev = ev[drop]
        parts.append(ev)
    events = np.concatenate(parts)
    events = events[np.argsort(events["ts_event"], kind="stable")]
    truth = {"t_ns": (lat_t * NS_PER_S).astype(np.int64) + start_ns, "side": lat_side, "onset_ns": onsets}
    return VenueMarket(events, registry, venues, symbol.upper(), lead_ms, throttle_ms, truth)
