"""The synthetic market's generator: seeded, calibrated ticks for several perpetuals (:func:`synthetic_market`).

``synthetic_market(days=30, symbols=(...), seed=7, venue="bybit")`` returns a :class:`Market`: events,
the generator's own cascade episodes (``.truth``) and ``.frames(venue)`` (the venue's ``samples`` part's ``render_synthetic``).  The model,
its calibration, receive times and effect knobs: docs/explanation/synthetic-market.md, "The synthetic market's model" and
"Synthetic-market knobs and presets"; its kernel: ``liqcore/_jit/synth.py`` (twin ``pysrc/synth.py``).

Why one module: the front end (parameters, calibration, the cache key, frames) of one model of the
market.  May import: numpy, ``types``, ``params``, ``_jit``, ``_libs`` (the detector), ``venues`` (the registry) and
this package's ``cache``.
"""
from __future__ import annotations

import hashlib
import json
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from liqcore.synthetic.cache import cache_path, read_market, write_market
from liqcore.venues.registry import venue_spec
from liqcore.types import DEFAULT_VENUE, EVENT_DTYPE, Flag, Kind, SymbolRegistry, Venue

__all__ = [
    "synthetic_market",
    "Market",
    "TRUTH_DTYPE",
    "SYMBOL_SPECS",
    "GENERATOR_VERSION",
    "DEFAULT_START_NS",
    "build_params",
    "simulate_symbol",
    "uniforms",
    "cascade_stats",
    "Effects",
    "PRESETS",
]

#: bump when the model or its defaults change (part of the cache key)
GENERATOR_VERSION = 3

#: 2026-01-05 00:00:00 UTC
DEFAULT_START_NS = 1_767_571_200_000_000_000

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000

#: ground truth of the generator's cascade episodes
TRUTH_DTYPE = np.dtype(
    [
        ("symbol_id", "<i4"),
        ("side", "i1"),  # Side.LONG (longs flushed, price pushed down) or Side.SHORT
        ("reverted", "i1"),  # 1 = the displacement mostly snaps back, 0 = it persists
        ("n", "<i4"),  # liquidations of the episode
        ("start_ns", "<i8"),  # first liquidation (ms grid, like ts_event)
        ("end_ns", "<i8"),  # last liquidation
        ("notional", "<f8"),  # total notional of its liquidations (quote)
        ("half_life_s", "<f8"),  # reversion half-life of the transient displacement
    ],
    align=True,
)

@dataclass(frozen=True)
class SymbolSpec:
    """Per-symbol market description and calibration targets."""

    price: float  # starting price
    price_dec: int  # tick = 10**-price_dec
    qty_dec: int  # lot = 10**-qty_dec
    daily_vol: float  # fraction per day
    p95: float  # target P95 liquidation notional (quote)
    cascades_per_day: float  # target detector cascades per day
    duration_s: float  # target average cascade duration
    bg_per_day: float  # background liquidations per day
    trade_rate: float  # baseline prints per second
    trade_med: float  # median trade notional
    # calibrated by benches/calibrate_synth.py (seeds 101-103, 30 days, the real detector):
    # notional scale / p95, shocks per target cascade, cascade kernel lifetime factor
    scale_ratio: float = 1.0
    shock_ratio: float = 1.0
    beta_ratio: float = 1.0


SYMBOL_SPECS: dict[str, SymbolSpec] = {
    "BTCUSDT": SymbolSpec(90_000.0, 1, 3, 0.025, 200_000.0, 7.4, 14.0, 1000.0, 0.4, 8_000.0, 1.0998, 1.1747, 0.5151),
    "ETHUSDT": SymbolSpec(3_000.0, 2, 2, 0.035, 80_000.0, 9.4, 12.0, 1200.0, 0.35, 5_000.0, 0.9999, 1.2557, 0.5108),
    "SOLUSDT": SymbolSpec(150.0, 2, 1, 0.045, 15_000.0, 6.9, 9.0, 900.0, 0.3, 2_000.0, 1.0355, 1.2535, 0.5005),
    "XRPUSDT": SymbolSpec(2.0, 4, 0, 0.040, 12_000.0, 5.3, 9.0, 700.0, 0.3, 1_500.0, 1.0097, 1.2243, 0.4819),
    "DOGEUSDT": SymbolSpec(0.20, 5, 0, 0.050, 10_000.0, 4.4, 8.0, 600.0, 0.3, 1_000.0, 1.0691, 1.2788, 0.4927),
}
_GENERIC = SymbolSpec(10.0, 4, 1, 0.04, 10_000.0, 5.0, 10.0, 600.0, 0.3, 1_000.0, 1.04, 1.24, 0.50)

# model constants (see the module docstring)
_ETA_B, _BG_KERNEL_S = 0.4, 20.0
_N0, _ETA_C = 2.0, 0.5
_BG_SIG, _BG_MEDIAN = 1.3, 1.0 / 20.0
_C_SIG, _C_MEDIAN = 0.8, 2.0
_DIURNAL_A, _PEAK_SOD, _WEEKEND = 0.35, 15.5 * 3600.0, 0.7
_KAPPA_T, _TRADE_SIG = 15.0, 1.0
_P_LONG, _P_SAME, _BG_P_LONG = 0.62, 0.85, 0.55
_IMPACT = 0.0004
_P_CONT, _PERM_CONT, _PERM_REV = 0.25, 0.9, 0.1
_HL_MED, _HL_SIG, _BG_HL = 40.0, 0.6, 20.0
_TAKER_BIAS = 0.35
_MARK_DT, _FUND_DT = 10.0, 8 * 3600.0
_FUND_MEAN, _FUND_SD = 1e-4, 2e-5  # the funding level's mean; the noise of each 8-hourly print about the level
_VOL_LIQ, _VOL_HL = 0.0, 600.0  # liquidation -> volatility link: off by default


@dataclass(frozen=True)
class Effects:
    """Market-level knobs (the per-symbol ones are generator parameters, see :data:`PRESETS`).

    * ``contagion``: probability that a cascade episode of the ``leader`` symbol opens an episode
      on the same side in every other symbol, ``contagion_lag_s`` later (times a uniform jitter in
      [0.8, 1.2]); 0 (default) = symbols independent.
    * ``open_interest``: emit open interest (OPEN_INTEREST events; Bybit ``tickers`` frames carry
      ``openInterest`` with the mark price) every ``oi_interval_s`` seconds (a multiple of the
      10 s mark interval), on the mark's timestamp.  The open interest is
      ``OI0 + organic(t) - oi_liq_share * (base quantity liquidated so far)``: liquidations close
      positions; ``organic`` is a random walk whose step (per snapshot interval) has
      ``oi_organic`` times the standard deviation of the quantity liquidated per interval, so
      liquidations explain about ``1 / (1 + oi_organic**2)`` of the variance of the changes
      (with ``oi_liq_share`` 1).  Off by default.  Bybit frames carry it in ``tickers`` (with the
      mark price), OKX in ``open-interest`` (``oiCcy``, base units); Binance has no such stream.
    * ``positioning`` / ``funding_regime_sd`` / ``positioning_hl_h`` / ``positioning_market_share``:
      the crowd-positioning regime (:func:`positioning_regime`): the background long share moves
      ``positioning`` per standard deviation of the state, the funding level
      ``funding_regime_sd``; the state's half-life in hours and the share of its variance common to
      every symbol.  On by default (0.15, 0.012 %, 36 h, 0.6); the first two at 0 switch it off.
    * ``crowding_share`` / ``crowding_tau_h`` / ``crowding_jitter``: the leveraged inventory that
      the cascades burn (:func:`crowding_funding`): the share of the funding rate's variance it
      carries (0.3; 0 switches it off), the e-folding time in hours over which it builds before
      a flush (12 h) and the lognormal sigma of each flush's share of it (0.5).    * ``book`` / ``book_depth`` / ``book_thin_hl_s``: top of book (QUOTE rows, :func:`_add_book`):
      before every trade at a new price, the best bid and ask (one tick apart; the trade prints at
      one of them), each showing about ``book_depth`` median trades of size, divided by
      ``1 + L / P95`` where ``L`` is the symbol's liquidation notional decaying with half-life
      ``book_thin_hl_s`` seconds: the displayed size thins in a cascade.  Off in the library's
      default (it adds two rows per trade); the command line's synthetic market turns it on."""

    contagion: float = 0.0
    contagion_lag_s: float = 10.0
    leader: str = "BTCUSDT"
    open_interest: bool = False
    oi_interval_s: float = 30.0
    oi_liq_share: float = 1.0
    oi_organic: float = 1.0
    positioning: float = 0.15
    funding_regime_sd: float = 1.2e-4
    positioning_hl_h: float = 36.0
    positioning_market_share: float = 0.6
    crowding_share: float = 0.3
    crowding_tau_h: float = 12.0
    crowding_jitter: float = 0.5
    book: bool = False
    book_depth: float = 20.0
    book_thin_hl_s: float = 30.0

    def check(self) -> "Effects":
        if not (0.0 <= self.contagion <= 1.0):
            raise ValueError(f"contagion: must be in [0, 1]; got {self.contagion!r}")
        if not (math.isfinite(self.contagion_lag_s) and self.contagion_lag_s >= 0.0):
            raise ValueError(f"contagion_lag_s: must be finite and >= 0; got {self.contagion_lag_s!r}")
        k = self.oi_interval_s / _MARK_DT
        if not (k >= 1 and float(k).is_integer()):
            raise ValueError(f"oi_interval_s: must be a positive multiple of {_MARK_DT:g} s; got {self.oi_interval_s!r}")
        if not (0.0 <= self.oi_liq_share <= 1.0):
            raise ValueError(f"oi_liq_share: must be in [0, 1]; got {self.oi_liq_share!r}")
        if not (math.isfinite(self.oi_organic) and self.oi_organic >= 0.0):
            raise ValueError(f"oi_organic: must be finite and >= 0; got {self.oi_organic!r}")
        if not (0.0 <= self.positioning <= 0.45):
            raise ValueError(f"positioning: must be in [0, 0.45]; got {self.positioning!r}")
        if not (math.isfinite(self.funding_regime_sd) and 0.0 <= self.funding_regime_sd <= 0.01):
            raise ValueError(f"funding_regime_sd: must be in [0, 0.01]; got {self.funding_regime_sd!r}")
        if not (math.isfinite(self.positioning_hl_h) and self.positioning_hl_h > 0.0):
            raise ValueError(f"positioning_hl_h: must be finite and > 0; got {self.positioning_hl_h!r}")
        if not (math.isfinite(self.book_depth) and self.book_depth > 0.0):
            raise ValueError(f"book_depth: must be finite and > 0; got {self.book_depth!r}")
        if not (math.isfinite(self.book_thin_hl_s) and self.book_thin_hl_s > 0.0):
            raise ValueError(f"book_thin_hl_s: must be finite and > 0; got {self.book_thin_hl_s!r}")
        if not (0.0 <= self.crowding_share < 1.0):
            raise ValueError(f"crowding_share: must be in [0, 1); got {self.crowding_share!r}")
        if not (math.isfinite(self.crowding_tau_h) and self.crowding_tau_h > 0.0):
            raise ValueError(f"crowding_tau_h: must be finite and > 0; got {self.crowding_tau_h!r}")
        if not (math.isfinite(self.crowding_jitter) and 0.0 <= self.crowding_jitter <= 3.0):
            raise ValueError(f"crowding_jitter: must be in [0, 3]; got {self.crowding_jitter!r}")
        if not (0.0 <= self.positioning_market_share <= 1.0):
            raise ValueError(f"positioning_market_share: must be in [0, 1]; got {self.positioning_market_share!r}")
        return self


#: named markets: (generator parameter overrides, market-level effects).  ``null``: liquidations
#: move no price (impact 0), no liquidation -> volatility link, no time-of-day or weekend profile,
#: no contagion, open interest purely organic.  The others plant one effect each, strongly.
PRESETS: dict[str, tuple[dict, dict]] = {
    "default": ({}, {}),
    "null": ({"impact": 0.0, "vol_liq": 0.0, "diurnal_a": 0.0, "weekend": 1.0},
             {"contagion": 0.0, "oi_liq_share": 0.0}),
    "reversion": ({"p_cont": 0.0, "perm_rev": 0.0, "hl_med": 120.0}, {}),
    "continuation": ({"p_cont": 1.0, "perm_cont": 1.0}, {}),
    "contagion": ({}, {"contagion": 0.8, "contagion_lag_s": 10.0}),
    "volatility": ({"vol_liq": 1.0, "vol_hl": 600.0}, {}),
    "time_of_day": ({"diurnal_a": 0.9}, {}),
    "open_interest": ({}, {"open_interest": True, "oi_liq_share": 1.0, "oi_organic": 0.5}),
}


def _spec(symbol: str) -> SymbolSpec:
    return SYMBOL_SPECS.get(symbol.upper(), _GENERIC)


#: the most days a synthetic market's length may say (far past what any memory holds: the memory check,
#: :func:`liqcore.synthetic.memory.check_fits`, refuses a long market first; beyond this, days in nanoseconds
#: are no longer a finite float, and that check could not be made)
DAYS_COUNTABLE = 1e290


def check_days(days, name: str = "days") -> float:
    """``days`` as a float when it is a positive number below :data:`DAYS_COUNTABLE`, else ValueError naming
    ``name``."""
    try:
        x = float(days)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a positive number; got {days!r}") from None
    if not (math.isfinite(x) and x > 0):
        raise ValueError(f"{name}: expected a positive number; got {days!r}")
    if x >= DAYS_COUNTABLE:
        raise ValueError(f"{name}: must be a positive number of days below 1e290 (a market's length is counted in "
                         f"nanoseconds); got {x:g}")
    return x


def build_params(symbol: str, days: float, start_ns: int = DEFAULT_START_NS, overrides: dict | None = None) -> np.ndarray:
    """The kernel's parameter vector for one symbol (layout ``liqcore._jit.synth.PARAM_NAMES``)."""
    from liqcore._jit.synth import PARAM_NAMES

    days = check_days(days)
    s = _spec(symbol)
    start_s = start_ns / NS_PER_S
    sod = start_s % 86400.0
    fund_first = (_FUND_DT - (start_s % _FUND_DT)) % _FUND_DT
    # cascade kernel decay from the target duration (beta_ratio is the fitted factor)
    beta_c = 1.0 / (s.duration_s * 0.6 * s.beta_ratio)
    # shocks per day: each shock yields about one detector cascade (shock_ratio is the fitted factor)
    mu_s = s.cascades_per_day * s.shock_ratio / 86400.0
    vals = {
        "t_end": float(days) * 86400.0,
        "x0": math.log(s.price),
        "sigma_s": s.daily_vol / math.sqrt(86400.0),
        "mu_b": s.bg_per_day * (1.0 - _ETA_B) / 86400.0,
        "eta_b": _ETA_B,
        "beta_b": 1.0 / _BG_KERNEL_S,
        "mu_s": mu_s,
        "n0": _N0,
        "eta_c": _ETA_C,
        "beta_c": beta_c,
        "diurnal_a": _DIURNAL_A,
        "peak_sod": _PEAK_SOD,
        "t0_sod": sod,
        "weekend": _WEEKEND,
        "t0_wos": (start_s - 4 * 86400.0) % 604800.0,  # 1970-01-05 was a Monday
        "rate_t": s.trade_rate,
        "kappa_t": _KAPPA_T,
        "trade_med": s.trade_med,
        "trade_sig": _TRADE_SIG,
        "scale": s.p95 * s.scale_ratio,
        "bg_mu": math.log(_BG_MEDIAN),
        "bg_sig": _BG_SIG,
        "c_mu": math.log(_C_MEDIAN),
        "c_sig": _C_SIG,
        "p_long": _P_LONG,
        "p_same": _P_SAME,
        "bg_p_long": _BG_P_LONG,
        "impact": _IMPACT,
        "p_cont": _P_CONT,
        "perm_cont": _PERM_CONT,
        "perm_rev": _PERM_REV,
        "hl_med": _HL_MED,
        "hl_sig": _HL_SIG,
        "bg_hl": _BG_HL,
        "taker_bias": _TAKER_BIAS,
        "price_dec": float(s.price_dec),
        "qty_dec": float(s.qty_dec),
        "mark_dt": _MARK_DT,
        "fund_dt": _FUND_DT,
        "fund_first": fund_first,
        "fund_mean": _FUND_MEAN,
        "fund_sd": _FUND_SD,
        "vol_liq": _VOL_LIQ,
        "vol_hl": _VOL_HL,
    }
    for k, v in (overrides or {}).items():
        if k not in vals:
            raise ValueError(f"overrides: unknown generator parameter {k!r}")
        vals[k] = float(v)
    _validate(vals)
    return np.array([vals[name] for name in PARAM_NAMES], dtype=np.float64)


def _validate(v: dict) -> None:
    for name in ("t_end", "sigma_s", "mu_b", "mu_s", "beta_b", "beta_c", "rate_t", "scale", "trade_med",
                 "hl_med", "bg_hl", "mark_dt", "fund_dt", "vol_liq", "vol_hl", "impact"):
        x = v[name]
        if not (math.isfinite(x) and x >= 0.0):
            raise ValueError(f"{name}: must be finite and >= 0; got {x!r}")
    for name in ("beta_b", "beta_c", "rate_t", "scale", "trade_med", "hl_med", "bg_hl", "mark_dt", "fund_dt",
                 "vol_hl"):
        if v[name] <= 0.0:
            raise ValueError(f"{name}: must be > 0; got {v[name]!r}")
    for name in ("eta_b", "eta_c"):
        if not 0.0 <= v[name] < 1.0:
            raise ValueError(f"{name}: branching ratio must be in [0, 1); got {v[name]!r}")
    for name in ("p_long", "p_same", "bg_p_long", "p_cont", "perm_cont", "perm_rev", "diurnal_a", "weekend"):
        if not 0.0 <= v[name] <= 1.0:
            raise ValueError(f"{name}: must be in [0, 1]; got {v[name]!r}")
    if not 0.0 <= v["taker_bias"] <= 0.5:
        raise ValueError(f"taker_bias: must be in [0, 0.5]; got {v['taker_bias']!r}")
    for name in ("price_dec", "qty_dec"):
        if not (0 <= v[name] <= 12 and float(v[name]).is_integer()):
            raise ValueError(f"{name}: must be an integer in [0, 12]; got {v[name]!r}")


def _symbol_key(symbol: str) -> int:
    return zlib.crc32(symbol.upper().encode())


def uniforms(seed: int, symbol: str, n: int) -> np.ndarray:
    """The first ``n`` uniforms of the symbol's stream (a longer call extends the same sequence)."""
    ss = np.random.SeedSequence([int(seed), _symbol_key(symbol), 0])
    return np.random.Generator(np.random.PCG64(ss)).random(int(n))


def simulate_symbol(p: np.ndarray, seed: int, symbol: str, ext_t: np.ndarray | None = None,
                    ext_side: np.ndarray | None = None, regime: tuple | None = None):
    """Run the kernel for one symbol, growing the uniform pool and buffers until it completes.
    Returns ``(rows, episodes)`` dicts of trimmed arrays (times in ns from the start).  ``ext_t``
    (sorted seconds from the start) / ``ext_side``: externally scheduled shocks (contagion).
    ``regime``: ``(reg_t, reg_p, reg_f)``, the positioning regime (:func:`positioning_regime`;
    None: none, ``bg_p_long`` and ``fund_mean`` throughout)."""
    from liqcore._jit import synth as k

    ext_t = np.zeros(0, np.float64) if ext_t is None else np.ascontiguousarray(ext_t, np.float64)
    ext_side = np.zeros(0, np.int8) if ext_side is None else np.ascontiguousarray(ext_side, np.int8)
    reg = tuple(np.zeros(0, np.float64) for _ in range(3)) if regime is None else tuple(
        np.ascontiguousarray(a, np.float64) for a in regime)

    from liqcore.synthetic.memory import buffer_sizes

    n_u, cap, max_ep = buffer_sizes(p, len(ext_t))  # (the sizes the memory estimate counts)
    while True:
        u = uniforms(seed, symbol, n_u)
        cols = (
            np.empty(cap, np.int64), np.empty(cap, np.float64), np.empty(cap, np.float64),
            np.empty(cap, np.int8), np.empty(cap, np.int8), np.empty(cap, np.int32),
        )
        eps = (
            np.empty(max_ep, np.int64), np.empty(max_ep, np.int64), np.empty(max_ep, np.int8),
            np.empty(max_ep, np.int8), np.empty(max_ep, np.float64), np.empty(max_ep, np.int32),
            np.empty(max_ep, np.float64),
        )
        status, n, n_ep, _used = k.simulate_symbol(p, u, *cols, *eps, ext_t, ext_side, *reg,
                                                   np.zeros(k.STATE_LEN, np.float64))
        if status == k.OK:
            break
        if status == k.OUT_OF_UNIFORMS:
            n_u *= 2
        elif status == k.OUT_OF_ROWS:
            cap *= 2
        else:
            max_ep *= 2
    rows = dict(zip(("t_ns", "price", "qty", "side", "kind", "episode"), (c[:n] for c in cols)))
    episodes = dict(
        zip(("start_ns", "end_ns", "side", "continues", "notional", "n", "half_life"), (e[:n_ep] for e in eps))
    )
    return rows, episodes


# ------------------------------------------------------------------------------------------ Market


@dataclass
class Market:
    """A generated market: events (EVENT_DTYPE, sorted by ts_event, stable), the registry numbering
    them, the generator's ground-truth cascades, and the wire frames of each venue."""

    events: np.ndarray
    registry: SymbolRegistry
    symbols: tuple
    days: float
    seed: int
    venue: str
    params: dict
    truth: np.ndarray
    start_ns: int = DEFAULT_START_NS
    feed_latency_ns: int = 50_000_000
    _recv_seed: int = field(default=0, repr=False)
    cache_path: Path | None = None  # the cache file this market was loaded from or written to (None: not cached)
    from_cache: bool = False

    # -- display -----------------------------------------------------------------------------
    def _overview(self) -> tuple[str, list[tuple[str, str]]]:
        ev = self.events
        kinds = np.bincount(ev["kind"], minlength=max(int(k) for k in Kind) + 1) if len(ev) else []
        per = [(Kind(k).name.lower(), f"{int(n):,}") for k, n in enumerate(kinds) if n]
        if len(ev):
            t0, t1 = (np.datetime64(int(ev["ts_event"].min()), "ns"), np.datetime64(int(ev["ts_event"].max()), "ns"))
            span = f"{str(t0)[:19].replace('T', ' ')} -> {str(t1)[:19].replace('T', ' ')} UTC"
        else:
            span = "no events"
        head = (f"synthetic market ({self.venue}, seed {self.seed}, {self.days:g} d): {', '.join(self.symbols)}; "
                f"{span}; {len(ev):,} events, {len(self.truth):,} injected cascades")
        return head, per

    def __repr__(self) -> str:
        head, per = self._overview()
        return f"<Market {head}; " + ", ".join(f"{k} {n}" for k, n in per) + ">"

    def _repr_html_(self) -> str:
        import html

        head, per = self._overview()
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>{n}</td></tr>" for k, n in per)
        return (f"<div><b>Market</b> {html.escape(head)}<table><thead><tr><th>kind</th><th>events</th></tr>"
                f"</thead><tbody>{rows}</tbody></table></div>")

    # -- venue views -------------------------------------------------------------------------
    def sampled_mask(self, venue: str | None = None) -> np.ndarray:
        """Boolean mask of the events ``venue``'s streams show: every event on Bybit; on Binance
        and OKX the liquidation throttle (a liquidation is shown when >= 1000 ms passed since the
        last one shown for the symbol) removes the rest."""
        v = Venue.parse(venue or self.venue)
        ev = self.events
        mask = np.ones(len(ev), dtype=bool)
        if not venue_spec(v).sampled_liquidations:  # (every liquidation shown)
            return mask
        liq = np.flatnonzero(ev["kind"] == Kind.LIQUIDATION)
        mask[liq] = _throttle(ev["ts_event"][liq], ev["symbol_id"][liq], 1000 * NS_PER_MS)
        return mask

    def frames(self, venue: str | None = None) -> Iterator[tuple[int, bytes]]:
        """``(recv_ns, message bytes)`` in receive order, in ``venue``'s wire format (default: the
        market's venue).  Bybit: allLiquidation (500 ms batches), publicTrade, tickers (snapshot
        then deltas); Binance (combined-stream wrapping): forceOrder (throttled), aggTrade,
        markPriceUpdate (every mark, carrying the funding rate in force: Binance
        has no separate funding message); OKX: liquidation-orders (contracts, throttled), trades, mark-price,
        funding-rate.  For another venue than the market's, receive times follow that venue's
        pushing rules with the same latency model."""
        v = Venue.parse(venue or self.venue)
        ev = self.events if v == Venue.parse(self.venue) else _with_recv(
            self.events, v, self.feed_latency_ns, self._recv_seed, len(self.registry))
        return _render(ev, self.registry, v, self.sampled_mask(v))

    def summary(self) -> dict:
        """Counts per kind and per symbol."""
        ev = self.events
        out = {"events": int(len(ev)), "days": self.days, "venue": self.venue, "symbols": {}}
        for sid, _v, sym in self.registry:
            m = ev["symbol_id"] == sid
            out["symbols"][sym] = {
                Kind(k).name.lower(): int(np.count_nonzero(m & (ev["kind"] == k)))
                for k in (Kind.LIQUIDATION, Kind.TRADE, Kind.MARK, Kind.FUNDING)
            }
            out["symbols"][sym]["episodes"] = int(np.count_nonzero(self.truth["symbol_id"] == sid))
        return out


def _throttle(ts: np.ndarray, sid: np.ndarray, gap_ns: int) -> np.ndarray:
    """Keep an event when >= gap_ns passed since the last KEPT event of the same symbol."""
    keep = np.zeros(len(ts), dtype=bool)
    last: dict[int, int] = {}
    ts_l = ts.tolist()
    sid_l = sid.tolist()
    for i in range(len(ts_l)):
        s = sid_l[i]
        t = ts_l[i]
        prev = last.get(s)
        if prev is None or t - prev >= gap_ns:
            keep[i] = True
            last[s] = t
    return keep


def _set_recv(ev: np.ndarray, venue: Venue, feed_latency_ns: int, recv_seed: int, n_symbols: int) -> None:
    """Set ``ts_recv`` (push time of ``venue`` + jittered feed latency), ``venue`` and ``flags``."""
    from liqcore._jit.synth import recv_times

    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(recv_seed), int(venue), 1])))
    z = rng.standard_normal(len(ev)) if feed_latency_ns > 0 else np.zeros(1)
    spec = venue_spec(int(venue))
    batch_ns = spec.push_batch_ms * NS_PER_MS
    liq_flags = int(Flag.SYNTHETIC) | (int(Flag.SAMPLED) if spec.sampled_liquidations else 0)
    ev["venue"] = int(venue)
    recv_times(ev, z, int(feed_latency_ns), batch_ns, max(n_symbols, 1), int(Flag.SYNTHETIC), liq_flags)


def _with_recv(events: np.ndarray, venue: Venue, feed_latency_ns: int, recv_seed: int, n_symbols: int) -> np.ndarray:
    """A copy of ``events`` as ``venue`` would deliver them (receive times, venue, flags)."""
    ev = events.copy()
    _set_recv(ev, venue, feed_latency_ns, recv_seed, n_symbols)
    return ev


# ------------------------------------------------------------------------------ wire rendering


def _render(ev: np.ndarray, registry: SymbolRegistry, venue: Venue, shown: np.ndarray) -> Iterator[tuple[int, bytes]]:
    order = np.argsort(ev["ts_recv"], kind="stable")
    names = {sid: sym for sid, _v, sym in registry}
    pdec = {sid: _spec(s).price_dec for sid, s in names.items()}
    qdec = {sid: _spec(s).qty_dec for sid, s in names.items()}
    ts_l = ev["ts_event"].tolist()
    recv_l = ev["ts_recv"].tolist()
    px_l = ev["price"].tolist()
    q_l = ev["qty"].tolist()
    sid_l = ev["symbol_id"].tolist()
    side_l = ev["side"].tolist()
    kind_l = ev["kind"].tolist()
    shown_l = shown.tolist()
    order_l = order.tolist()
    # each venue's frames: its samples part's render_synthetic (liqcore.venues.<venue>.samples)
    render = venue_spec(int(venue)).part("samples").render_synthetic
    yield from render(order_l, ts_l, recv_l, px_l, q_l, sid_l, side_l, kind_l, shown_l, names, pdec, qdec, _FUND_MEAN)


# ----------------------------------------------------------------------------------- generation


def _code_digest() -> str:
    """Digest of the generator's code (kernel and front): a changed model never loads a stale entry."""
    h = hashlib.sha256()
    here = Path(__file__).resolve()
    for path in (here, here.parent / "synthetic_cache.py", here.parents[1] / "_jit" / "synth.py"):
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(str(path).encode())
    return h.hexdigest()[:16]


def _cache_key(symbols, days, seed, venue, start_ns, feed_latency_ns, params, eff=None) -> str:
    payload = {
        "version": GENERATOR_VERSION,
        "code": _code_digest(),
        "symbols": list(symbols),
        "days": float(days),
        "seed": int(seed),
        "venue": venue,
        "start_ns": int(start_ns),
        "feed_latency_ns": int(feed_latency_ns),
        "params": {s: [float(x).hex() for x in p] for s, p in params.items()},
    }
    if eff is not None and eff != Effects():  # the default market keeps its key
        payload["effects"] = {f: getattr(eff, f) for f in Effects.__dataclass_fields__}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


def _check_args(days, symbols, seed, venue, start_ns, feed_latency_ns):
    days = check_days(days)
    if isinstance(symbols, str):
        symbols = (symbols,)
    symbols = tuple(str(s).upper() for s in symbols)
    if not symbols or any(not s or not s.isalnum() for s in symbols):
        raise ValueError(f"symbols: expected non-empty alphanumeric symbol names; got {symbols!r}")
    if len(set(symbols)) != len(symbols):
        raise ValueError(f"symbols: duplicates in {symbols!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer; got {seed!r}")
    v = Venue.parse(venue)
    if v == Venue.UNKNOWN:
        raise ValueError(f"venue: expected one of {Venue._known()}")
    if isinstance(start_ns, bool) or not isinstance(start_ns, (int, np.integer)) or start_ns < 0:
        raise ValueError(f"start_ns: expected a non-negative integer (ns since the epoch); got {start_ns!r}")
    if isinstance(feed_latency_ns, bool) or not isinstance(feed_latency_ns, (int, np.integer)) or feed_latency_ns < 0:
        raise ValueError(f"feed_latency_ns: expected a non-negative integer; got {feed_latency_ns!r}")
    return days, symbols, int(seed), v.name.lower(), int(start_ns), int(feed_latency_ns)


def synthetic_market(
    days=30,
    symbols=("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT"),
    seed=7,
    venue=DEFAULT_VENUE,
    start_ns=DEFAULT_START_NS,
    feed_latency_ns=50_000_000,
    cache=True,
    cache_dir=None,
    progress=False,
    overrides: dict | None = None,
    preset: str | None = None,
    effects: "Effects | dict | None" = None,
) -> Market:
    """Generate (or load from the cache) a seeded synthetic market.

    ``overrides`` replaces generator parameters (names of ``liqcore._jit.synth.PARAM_NAMES``) for
    every symbol.  ``preset`` (a name of :data:`PRESETS`) applies a named market first (its
    overrides, then ``overrides``); ``effects`` (:class:`Effects` or a dict of its fields) sets
    the market-level knobs (contagion, open interest) on top of the preset's.  The cache
    (``cache_dir``, else :func:`liqcore.cache.cache_dir`: ``$LIQCORE_CACHE_DIR`` or the user cache
    directory, never the working directory) holds one ``.npz`` per parameter set, keyed by a hash of
    every generator input, :data:`GENERATOR_VERSION` and the generator's code.
    ``Market.cache_path`` names the file used (``None`` when nothing was cached)."""
    days, symbols, seed, venue, start_ns, feed_latency_ns = _check_args(
        days, symbols, seed, venue, start_ns, feed_latency_ns)
    over, eff = {}, {}
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"preset: expected one of {', '.join(PRESETS)}; got {preset!r}")
        over.update(PRESETS[preset][0])
        eff.update(PRESETS[preset][1])
    over.update(overrides or {})
    if isinstance(effects, Effects):
        effects = {f: getattr(effects, f) for f in Effects.__dataclass_fields__}
    for k_, v_ in (effects or {}).items():
        if k_ not in Effects.__dataclass_fields__:
            raise ValueError(f"effects: unknown knob {k_!r}; expected one of {', '.join(Effects.__dataclass_fields__)}")
        eff[k_] = v_
    eff = Effects(**eff).check()
    params = {s: build_params(s, days, start_ns, over) for s in symbols}
    from liqcore._jit.synth import PARAM_NAMES
    from liqcore.synthetic.memory import check_fits

    check_fits(params, days)  # a market that cannot fit: refused in one line before any of it is made

    calib = {s: dict(zip(PARAM_NAMES, map(float, p))) for s, p in params.items()}
    key = _cache_key(symbols, days, seed, venue, start_ns, feed_latency_ns, params, eff)
    registry = SymbolRegistry((venue, s) for s in symbols)
    path = cache_path(cache_dir, key)
    if cache:
        found = read_market(path, EVENT_DTYPE, TRUTH_DTYPE)
        if found is not None:
            return Market(found[0], registry, symbols, days, seed, venue, calib, found[1], start_ns,
                          feed_latency_ns, seed, cache_path=path, from_cache=True)
    events, truth = _generate(symbols, params, seed, Venue.parse(venue), start_ns, feed_latency_ns, registry, progress,
                              eff)
    written = write_market(path, events, truth) if cache else None
    return Market(events, registry, symbols, days, seed, venue, calib, truth, start_ns, feed_latency_ns, seed,
                  cache_path=written)


def _contagion_shocks(eff: Effects, leader_eps: dict, seed: int, symbol: str):
    """The leader's episodes passed on to ``symbol``: each with probability ``contagion``, at the
    leader episode's start + ``contagion_lag_s`` x U[0.8, 1.2], on the same side."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), _symbol_key(symbol), 2])))
    starts = leader_eps["start_ns"] / 1e9
    u = rng.random((len(starts), 2))
    keep = u[:, 0] < eff.contagion
    t = starts[keep] + eff.contagion_lag_s * (0.8 + 0.4 * u[keep, 1])
    order = np.argsort(t, kind="stable")
    return t[order], leader_eps["side"][keep][order].astype(np.int8)


POSITIONING_STEP_S = 3600.0


def positioning_regime(eff: Effects, seed: int, symbol: str, p: np.ndarray):
    """The crowd-positioning regime of ``symbol``: ``(reg_t, reg_p, reg_f)`` for the kernel, or None
    when :class:`Effects` switches it off (``positioning`` and ``funding_regime_sd`` both 0).

    A standardised AR(1) state ``y`` on an hourly grid (half-life ``positioning_hl_h`` hours,
    stationary N(0, 1)), the sum of a market-wide part (share ``positioning_market_share`` of the
    variance, the same for every symbol of the seed) and the symbol's own; ``y < 0`` = the crowd is
    positioned short.  It sets, for the hour: the funding level ``fund_mean + funding_regime_sd * y``
    (each 8-hourly print adds ``fund_sd`` noise) and the long share of background liquidations
    ``bg_p_long + positioning * y`` (clipped to [0.05, 0.95]): a crowd that is short gets its shorts
    liquidated more often.  Cascade episodes (sides, sizes, reversion) do not depend on it.  Drawn
    from its own seeds: it consumes none of the symbol's uniforms."""
    from liqcore._jit import synth as k

    if eff.positioning == 0.0 and eff.funding_regime_sd == 0.0:
        return None
    n = int(math.ceil(p[k.T_END] / POSITIONING_STEP_S)) + 1
    phi = 0.5 ** (POSITIONING_STEP_S / 3600.0 / eff.positioning_hl_h)

    def ar1(tail):
        z = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), *tail]))).standard_normal(n)
        y = np.empty(n)
        y[0] = z[0]
        w = math.sqrt(1.0 - phi * phi)
        for i in range(1, n):
            y[i] = phi * y[i - 1] + w * z[i]
        return y

    a = eff.positioning_market_share
    y = math.sqrt(a) * ar1((4,)) + math.sqrt(1.0 - a) * ar1((_symbol_key(symbol), 4))
    reg_t = np.arange(n, dtype=np.float64) * POSITIONING_STEP_S
    reg_p = np.clip(p[k.BG_P_LONG] + eff.positioning * y, 0.05, 0.95)
    reg_f = p[k.FUND_MEAN] + eff.funding_regime_sd * y
    return reg_t, reg_p, reg_f


CROWDING_SEED_TAIL = 6  # the seed stream of crowding_funding (0 uniforms, 1 receive times, 2-5 other effects)


def crowding_funding(eff: Effects, seed: int, symbol: str, rows: dict, eps: dict, p: np.ndarray) -> None:
    """Add the leveraged inventory the cascades burn to ``symbol``'s funding prints (in place).

    The generative story: before a flush, leveraged positions on its side pile up (the crowd is
    long before a long flush), the crowded side pays funding, and the flush burns that inventory.
    The inventory on side ``s`` at time ``t`` is ``I_s(t) = sum w_k exp(-(t_k - t) / tau)`` over
    the episodes ``k`` of side ``s`` that start after ``t`` (``tau`` = ``crowding_tau_h``; ``w_k``
    = the episode's notional over the median episode notional, times a lognormal jitter of sigma
    ``crowding_jitter`` drawn from its own seed stream: not every flush was preceded by as much
    crowding).  ``c = (I_long - I_short)`` standardised by its stationary mean and standard
    deviation (shot-noise moments from the episode rates); each funding print gets ``sigma_c x c``
    added, ``sigma_c`` chosen so that ``c`` carries ``crowding_share`` of the funding rate's
    variance (the regime's and the print noise's being the rest).

    A print at ``t`` reads the inventory at ``t`` only (it is the state of the market then; the
    flushes it feeds come later, so funding leads the flushes it fuels).  The liquidations, trades
    and marks are left exactly as the kernel made them: only FUNDING rows change, and no uniform
    of the symbol is consumed.  Near the end of the data the inventory of flushes after the end is
    missing (the last ``tau`` or so of prints read a little low)."""
    from liqcore._jit import synth as k

    share = float(eff.crowding_share)
    n_ep = len(eps["start_ns"])
    fund = np.flatnonzero(rows["kind"] == k.FUNDING)
    if share <= 0.0 or n_ep == 0 or not len(fund):
        return
    tau = float(eff.crowding_tau_h) * 3600.0
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), _symbol_key(symbol),
                                                                      CROWDING_SEED_TAIL])))
    jit = float(eff.crowding_jitter)
    notional = np.asarray(eps["notional"], np.float64)
    med = float(np.median(notional))
    w = (notional / med if med > 0 else np.ones(n_ep)) * np.exp(jit * rng.standard_normal(n_ep) - 0.5 * jit * jit)
    tk = np.asarray(eps["start_ns"], np.float64) / 1e9
    t = rows["t_ns"][fund].astype(np.float64) / 1e9
    sign = np.where(np.asarray(eps["side"]) == k.LONG, 1.0, -1.0)
    sw = sign * w
    c = np.empty(len(t))
    for i in range(len(t)):  # print by print (a few a day): the same sums whatever part the print is in
        dt = tk - t[i]
        ahead = dt > 0.0
        c[i] = float(np.dot(np.where(ahead, np.exp(-np.where(ahead, dt, 0.0) / tau), 0.0), sw))
    t_end = float(p[k.T_END])
    lam_l = float(np.sum(sign > 0)) / t_end
    lam_s = float(np.sum(sign < 0)) / t_end
    ew, ew2 = float(np.mean(w)), float(np.mean(w * w))
    mean = (lam_l - lam_s) * tau * ew
    sd = math.sqrt((lam_l + lam_s) * tau / 2.0 * ew2)
    if not sd > 0.0:
        return
    c = (c - mean) / sd
    other = eff.funding_regime_sd ** 2 + float(p[k.FUND_SD]) ** 2
    sigma_c = math.sqrt(share / (1.0 - share) * other)
    rows["price"][fund] = np.floor((rows["price"][fund] + sigma_c * c) * 1e6 + 0.5) / 1e6


def _generate(symbols, params, seed, venue, start_ns, feed_latency_ns, registry, progress, eff=None):
    from liqcore._jit import synth as k

    eff = eff or Effects()
    cols = {f: [] for f in ("t_ms", "price", "qty", "side", "kind")}
    offsets = [0]
    sids = []
    truths = []
    runs = {}
    leader = eff.leader.upper() if eff.contagion > 0 and eff.leader.upper() in symbols else None
    if leader is not None:
        runs[leader] = simulate_symbol(params[leader], seed, leader,
                                       regime=positioning_regime(eff, seed, leader, params[leader]))
    for s in symbols:
        if progress:
            print(f"synthetic market: {s} ...", flush=True)
        if s in runs:
            rows, eps = runs[s]
        elif leader is not None:
            ext_t, ext_side = _contagion_shocks(eff, runs[leader][1], seed, s)
            rows, eps = simulate_symbol(params[s], seed, s, ext_t, ext_side,
                                        regime=positioning_regime(eff, seed, s, params[s]))
        else:
            rows, eps = simulate_symbol(params[s], seed, s, regime=positioning_regime(eff, seed, s, params[s]))
        crowding_funding(eff, seed, s, rows, eps, params[s])
        sid = registry.id(venue, s)
        t_ms = (start_ns + rows["t_ns"]) // NS_PER_MS  # venues stamp milliseconds
        k.make_distinct(t_ms, rows["kind"], rows["side"], rows["price"], rows["qty"], float(_spec(s).qty_dec))
        cols["t_ms"].append(t_ms)
        for f in ("price", "qty", "side", "kind"):
            cols[f].append(rows[f])
        offsets.append(offsets[-1] + len(t_ms))
        sids.append(sid)
        tr = np.zeros(len(eps["start_ns"]), dtype=TRUTH_DTYPE)
        tr["symbol_id"] = sid
        tr["side"] = eps["side"]
        tr["reverted"] = 1 - eps["continues"]
        tr["n"] = eps["n"]
        tr["start_ns"] = (start_ns + eps["start_ns"]) // NS_PER_MS * NS_PER_MS
        tr["end_ns"] = (start_ns + eps["end_ns"]) // NS_PER_MS * NS_PER_MS
        tr["notional"] = eps["notional"]
        tr["half_life_s"] = eps["half_life"]
        truths.append(tr)
    events = np.zeros(offsets[-1], dtype=EVENT_DTYPE)
    k.assemble(*(np.concatenate(cols[f]) for f in ("t_ms", "price", "qty", "side", "kind")),
               np.array(offsets, np.int64), np.array(sids, np.int32), int(venue), events)
    _set_recv(events, venue, feed_latency_ns, seed, len(registry))
    if eff.open_interest:
        events = _add_open_interest(events, eff, seed, start_ns, registry)
    if eff.book:
        events = _add_book(events, eff, seed, registry)
    truth = np.concatenate(truths) if truths else np.zeros(0, TRUTH_DTYPE)
    truth = truth[np.argsort(truth["start_ns"], kind="stable")]
    return events, truth


def _add_book(events: np.ndarray, eff: Effects, seed: int, registry) -> np.ndarray:
    """The top of book (:class:`Effects` ``book``): QUOTE pairs ahead of the trades that move it
    (the kernel ``book_quotes``); the sizes' noise from its own seed (no uniform of the symbols)."""
    from liqcore._jit.synth import book_quotes

    n_sym = len(registry)
    pdec, qdec, depth, thin = (np.ones(n_sym) for _ in range(4))
    for sid, _v, sym in registry:
        sp = _spec(sym)
        pdec[sid], qdec[sid] = sp.price_dec, sp.qty_dec
        depth[sid], thin[sid] = eff.book_depth * sp.trade_med, sp.p95
    n_trades = int((events["kind"] == Kind.TRADE).sum())
    z = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 5]))).standard_normal(2 * n_trades)
    out = np.zeros(len(events) + 2 * n_trades, dtype=EVENT_DTYPE)
    n = book_quotes(events, pdec, qdec, depth, thin, float(eff.book_thin_hl_s), z, out)
    return out[:n]


def _add_open_interest(events: np.ndarray, eff: Effects, seed: int, start_ns: int, registry) -> np.ndarray:
    """Insert an OPEN_INTEREST event right after every ``oi_interval_s / 10 s``-th mark of each
    symbol (same times, same receive time, price = that mark), per :class:`Effects`."""
    every = int(round(eff.oi_interval_s / _MARK_DT))
    is_mark = events["kind"] == Kind.MARK
    idx = np.concatenate([np.flatnonzero(is_mark & (events["symbol_id"] == sid))[::every] for sid, _v, _s in registry]
                         + [np.zeros(0, np.int64)])
    idx = np.sort(idx)
    oi = np.zeros(len(idx), dtype=EVENT_DTYPE)
    oi[:] = events[idx]
    oi["kind"] = int(Kind.OPEN_INTEREST)
    oi["side"] = 0
    liq = events["kind"] == Kind.LIQUIDATION
    for sid, _v, sym in registry:
        mine = np.flatnonzero(oi["symbol_id"] == sid)
        if len(mine) == 0:
            continue
        lot = 10.0 ** -_spec(sym).qty_dec
        lm = liq & (events["symbol_id"] == sid)
        lt, lq = events["ts_event"][lm], events["qty"][lm]
        cum = np.concatenate(([0.0], np.cumsum(lq)))
        t = oi["ts_event"][mine]
        closed = cum[np.searchsorted(lt, t, side="right")]  # liquidated at or before t
        per = np.diff(closed)
        liq_sd = max(float(per.std()) if len(per) > 1 else 0.0, lot)  # liquidated quantity per interval
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), _symbol_key(sym), 3])))
        sd = eff.oi_organic * liq_sd
        organic = np.cumsum(rng.standard_normal(len(mine)) * sd)
        oi0 = 2.0 * (float(lq.sum()) + 5.0 * sd * math.sqrt(len(mine))) + 100.0 * liq_sd
        val = oi0 + organic - eff.oi_liq_share * closed
        sq = 10.0 ** _spec(sym).qty_dec
        oi["qty"][mine] = np.maximum(np.floor(val * sq + 0.5), 1.0) / sq  # on the lot grid, like every quantity
    return np.insert(events, idx + 1, oi)


# ------------------------------------------------------------------------------- calibration


def cascade_stats(market: Market, detector="auto") -> dict:
    """Run the cascade detector with default parameters over the market's liquidations and report,
    per symbol: cascades per day, mean duration (s), median P95 threshold, and the share of detector
    cascades that overlap a ground-truth episode.  ``detector``: "auto" or "cython" (the compiled
    ``liqcore._libs.detection``), or any detector class with the same ``from_params`` / ``run`` API
    (e.g. a reference implementation to compare against)."""
    from liqcore.params import Params
    from liqcore.types import RecordKind

    if isinstance(detector, str):
        if detector not in ("auto", "cython"):
            raise ValueError(f"detector: expected 'auto', 'cython' or a detector class; got {detector!r}")
        from liqcore._libs.detection import CascadeDetector as Det  # type: ignore
    elif callable(getattr(detector, "from_params", None)):
        Det = detector
    else:
        raise ValueError(f"detector: expected 'auto', 'cython' or a detector class; got {detector!r}")
    det = Det.from_params(Params())
    ev = market.events
    liq = ev[ev["kind"] == Kind.LIQUIDATION]
    recs, _counts = det.run(liq, flush=True)
    out = {}
    for sid, _v, sym in market.registry:
        r = recs[(recs["symbol_id"] == sid) & (recs["record"] == RecordKind.ENDED)]
        conf = recs[(recs["symbol_id"] == sid) & (recs["record"] == RecordKind.CONFIRMED)]
        thr = conf["threshold"]
        tr = market.truth[market.truth["symbol_id"] == sid]
        hits = 0
        if len(r) and len(tr):
            # a detector cascade overlaps an episode when [start, end] intersect
            pos = np.searchsorted(tr["start_ns"], r["end_ns"], side="right") - 1
            for k, pidx in enumerate(pos.tolist()):
                if pidx >= 0 and tr["end_ns"][pidx] >= r["start_ns"][k]:
                    hits += 1
        out[sym] = {
            "cascades_per_day": len(r) / market.days,
            "mean_duration_s": float(np.mean((r["end_ns"] - r["start_ns"]) / 1e9)) if len(r) else float("nan"),
            "p95_median": float(np.median(thr)) if len(thr) else float("nan"),
            "long_share": float(np.mean(conf["dominant"] == 1)) if len(conf) else float("nan"),
            "episodes_per_day": len(tr) / market.days,
            "overlap_share": hits / len(r) if len(r) else float("nan"),
            "liquidations_per_day": int(np.count_nonzero(liq["symbol_id"] == sid)) / market.days,
        }
    return out
