"""Feature names: the grammar ``family[/all].name@window[:transform]``, the catalogue of built-in
features with their definitions, the named list every tool runs by default, and user registration.

    >>> parse_name("liquidations.liq_imbalance@15m:zscore")
    FeatureName(family='liquidations', name='liq_imbalance', window_ns=900000000000, transform='zscore', merged=False)

A malformed or unknown name raises :class:`FeatureNameError` (a ValueError) that names the bad part
and suggests the nearest known name.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Callable

__all__ = [
    "FeatureName", "FeatureNameError", "BaseFeature", "TRANSFORMS", "FAMILIES", "BUILTIN", "NAMED_FEATURES",
    "parse_name", "register_feature", "unregister_feature", "registered_features", "all_bases",
    "format_window", "MAX_WINDOW_NS", "ATR_BARS", "CORR_BUCKETS",
]

NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
      "h": 3_600_000_000_000, "d": 86_400_000_000_000}
MAX_WINDOW_NS = 30 * NS["d"]
#: bars averaged by price.atr
ATR_BARS = 14
#: buckets of the window in which xasset.liq_corr_btc correlates liquidation counts
CORR_BUCKETS = 30

TRANSFORMS = {
    "none": "the value itself",
    "zscore": "(x - mean) / std of the history (population std); 0 when the history is flat",
    "mean": "mean of the history",
    "std": "population standard deviation of the history",
    "max": "maximum of the history",
    "min": "minimum of the history",
    "rank": "percentile of x in the history: (#below + #equal / 2) / #history, in [0, 1]",
}

_NAME_RE = re.compile(
    r"^(?P<family>[a-z][a-z0-9_]*)(?:/(?P<qual>[^.@:]*))?\.(?P<name>[a-z][a-z0-9_]*)"
    r"@(?P<window>[^:]*)(?::(?P<tf>.*))?$")
_WIN_RE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ns|us|ms|s|m|h|d)$")


class FeatureNameError(ValueError):
    """An unknown or malformed feature name (the message names it and suggests the nearest one)."""


@dataclass(frozen=True)
class BaseFeature:
    """One built-in or registered feature ``family.name`` (any window, any transform)."""

    family: str
    name: str
    definition: str
    #: what the value needs from the data: "liq", "trade", "funding", "oi", "cascade", "btc", "quote", "user"
    needs: str
    default_windows: tuple = ()
    fn: Callable | None = field(default=None, compare=False, repr=False)
    vectorized: bool = False

    @property
    def key(self) -> str:
        return f"{self.family}.{self.name}"


@dataclass(frozen=True)
class FeatureName:
    family: str
    name: str
    window_ns: int
    transform: str = "none"
    merged: bool = False  # family/all: the merged stream of the symbol across venues

    @property
    def key(self) -> str:
        return f"{self.family}.{self.name}"

    def __str__(self) -> str:
        fam = self.family + ("/all" if self.merged else "")
        tf = "" if self.transform == "none" else f":{self.transform}"
        return f"{fam}.{self.name}@{format_window(self.window_ns)}{tf}"


def format_window(ns: int) -> str:
    for unit in ("d", "h", "m", "s", "ms", "us"):
        if ns % NS[unit] == 0:
            return f"{ns // NS[unit]}{unit}"
    return f"{ns}ns"


def _b(family, name, needs, definition, windows=()):
    return BaseFeature(family, name, definition, needs, tuple(windows))


_LIQ_SIDE = "long = liquidated long positions (forced sells), short = liquidated shorts (forced buys)"
BUILTIN: dict[str, BaseFeature] = {b.key: b for b in [
    # -- liquidations --------------------------------------------------------------------------
    _b("liquidations", "liq_volume", "liq", "liquidation notional (price x qty, quote units) received in (t-W, t]",
       ("1s", "5s", "1m", "5m", "15m", "1h")),
    _b("liquidations", "liq_long_volume", "liq", f"notional of liquidated LONG positions in (t-W, t]; {_LIQ_SIDE}", ("1m",)),
    _b("liquidations", "liq_short_volume", "liq", "notional of liquidated SHORT positions in (t-W, t]", ("1m",)),
    _b("liquidations", "liq_buy_volume", "liq", "notional of Buy-side liquidations in (t-W, t], the side convention of the venues "
       "that name the liquidated position (Buy = a long liquidated; = liq_long_volume)", ("1m",)),
    _b("liquidations", "liq_sell_volume", "liq", "notional of Sell-side liquidations in (t-W, t], the side convention of the venues "
       "that name the liquidated position (Sell = a short liquidated; = liq_short_volume)", ("1m",)),
    _b("liquidations", "liq_count", "liq", "number of liquidations received in (t-W, t]", ("1m",)),
    _b("liquidations", "liq_long_count", "liq", "number of liquidated longs in (t-W, t]", ("1m",)),
    _b("liquidations", "liq_short_count", "liq", "number of liquidated shorts in (t-W, t]", ("1m",)),
    _b("liquidations", "liq_imbalance", "liq", "(short - long) / (short + long) of the liquidation notional in (t-W, t], "
       "in [-1, 1]; negative = longs flushed; null with no liquidation in the window", ("5m", "15m")),
    _b("liquidations", "liq_rate", "liq", "liquidations per minute over (t-W, t] (count / minutes of W)", ("1m",)),
    _b("liquidations", "liq_largest", "liq", "largest single liquidation notional in (t-W, t]; null with none", ("5m",)),
    _b("liquidations", "liq_cascade_flag", "cascade", "1 if the cascade detector (default parameters, run causally) "
       "confirmed a cascade of the symbol in (t-W, t], else 0", ("5m",)),
    _b("liquidations", "liq_cascade_count", "cascade", "cascades confirmed in (t-W, t]", ("1h",)),
    _b("liquidations", "market_wide", "cascade", "number of distinct instruments of the whole data (every symbol; one "
       "contract on several venues counts once) whose cascade detector confirmed a cascade in (t-W, t]; >= 3 at 1m is "
       "a market-wide cascade (liqcore.market.wide)", ("1m",)),
    _b("liquidations", "liq_cascade_size", "cascade", "cumulative notional (long + short, at confirmation) of the cascades "
       "confirmed in (t-W, t]; 0 with none", ("5m",)),
    # -- flow ----------------------------------------------------------------------------------
    _b("flow", "taker_buy_volume", "trade", "taker-buy base volume of the trades received in (t-W, t]", ("1m",)),
    _b("flow", "taker_sell_volume", "trade", "taker-sell base volume in (t-W, t]", ("1m",)),
    _b("flow", "taker_buy_notional", "trade", "taker-buy quote notional in (t-W, t]", ("1m",)),
    _b("flow", "taker_sell_notional", "trade", "taker-sell quote notional in (t-W, t]", ("1m",)),
    _b("flow", "volume", "trade", "traded quote notional in (t-W, t]", ("1m",)),
    _b("flow", "ofi", "trade", "order-flow imbalance (taker buy - taker sell) / (taker buy + taker sell) of trade "
       "notional in (t-W, t], in [-1, 1]; null with no trade in the window", ("5m",)),
    _b("flow", "trade_count", "trade", "number of trades received in (t-W, t]", ("1m",)),
    # -- price ---------------------------------------------------------------------------------
    _b("price", "last", "trade", "last trade price received at or before t (W only spaces the history for "
       "transforms)", ("1m",)),
    _b("price", "return", "trade", "p(t) / p(t-W) - 1, p = last trade price received at or before the time", ("1m", "5m", "1h")),
    _b("price", "realized_vol", "trade", "sqrt of the sum of squared log returns of the last price's path over the "
       "window: from p(t-W) to the first trade received in (t-W, t], then between consecutive ones (the path whose "
       "end-to-end return is price.return@W; not annualised; 0 without trades in the window)", ("5m", "1h")),
    _b("price", "range", "trade", "(high - low) / p(t) over the trades in (t-W, t] and p(t-W)", ("5m", "1h")),
    _b("price", "atr", "trade", f"average true range of the {ATR_BARS} bars (t-kW, t-(k-1)W], k=1..{ATR_BARS}, "
       "divided by p(t); TR = max(high, prev close) - min(low, prev close)", ("5m", "1h")),
    # -- funding -------------------------------------------------------------------------------
    _b("funding", "funding_rate", "funding", "last funding rate of this venue received at or before t (W: spacing of "
       "the history for transforms)", ("1h",)),
    _b("funding", "funding_avg", "funding", "mean over (t-W, t] (time-weighted) of the funding rate last known at each "
       "venue carrying the symbol, averaged across those venues; a venue counts once its first rate is known "
       "at t-W", ("1h", "8h")),
    # -- open interest -------------------------------------------------------------------------
    _b("oi", "open_interest", "oi", "last open interest (base units) received at or before t (W: spacing of the "
       "history for transforms)", ("1m",)),
    _b("oi", "oi_change", "oi", "OI(t) - OI(t-W) in base units, OI = last open interest known at the time", ("5m",)),
    _b("oi", "oi_velocity", "oi", "OI(t) / OI(t-W) - 1: relative change of the open interest over the window", ("5m", "1h")),
    # -- cross asset ---------------------------------------------------------------------------
    # -- top of book ---------------------------------------------------------------------------
    _b("book", "spread", "quote", "best ask - best bid (price units) of the top of book last received at or before t; "
       "null when a side is empty (W: spacing of the history for transforms)", ("1m",)),
    _b("book", "spread_bps", "quote", "the spread in basis points of the mid price (bid + ask) / 2, top of book last "
       "received at or before t; null when a side is empty", ("1m",)),
    _b("book", "bid_size", "quote", "displayed size (base units) at the best bid last received at or before t; "
       "0 when the bid side is empty", ("1m",)),
    _b("book", "ask_size", "quote", "displayed size (base units) at the best ask last received at or before t; "
       "0 when the ask side is empty", ("1m",)),
    _b("xasset", "btc_liq", "btc", "BTCUSDT's liquidation notional (same venue) in (t-W, t]", ("30s", "1m")),
    _b("xasset", "btc_liq_lead", "btc", "BTCUSDT's liquidation notional (same venue) one window earlier: in (t-2W, t-W] "
       "(e.g. @30s: BTC liquidations 30 s ago)", ("30s", "1m")),
    _b("xasset", "liq_corr_btc", "btc", f"Pearson correlation of the liquidation counts of the symbol and of BTCUSDT "
       f"in the {CORR_BUCKETS} equal buckets of (t-W, t]; null when either is constant", ("5m", "1h")),
]}
FAMILIES = {
    "liquidations": "forced liquidations of the instrument (per side, counts, imbalance, rate, cascades, largest)",
    "flow": "taker trades: buy/sell volume, order-flow imbalance, trade count",
    "price": "last trade price, return, realized volatility, range, ATR",
    "funding": "funding rates: last rate of the venue, cross-venue time-weighted average",
    "oi": "open interest from ticker data: level, change, velocity",
    "xasset": "cross-asset: BTC's liquidations (current and lagged), correlation of liquidation rates with BTC",
    "book": "top of book (best bid and ask with displayed sizes; per venue): spread, spread in bps, quoted sizes",
}

#: the named features every tool computes by default (the research plan's list, the three signals of
#: the reversal playbook, and every family at a representative window)
NAMED_FEATURES: tuple[str, ...] = (
    # research plan, phase 3: liquidation features
    "liquidations.liq_volume@1s", "liquidations.liq_volume@5s", "liquidations.liq_volume@1m",
    "liquidations.liq_buy_volume@1m", "liquidations.liq_sell_volume@1m",
    "liquidations.liq_long_volume@1m", "liquidations.liq_short_volume@1m",
    "liquidations.liq_count@1m", "liquidations.liq_long_count@1m", "liquidations.liq_short_count@1m",
    "liquidations.liq_imbalance@5m", "liquidations.liq_rate@1m",
    "liquidations.liq_cascade_flag@5m", "liquidations.liq_cascade_count@1h", "liquidations.liq_cascade_size@5m",
    "liquidations.liq_largest@5m",
    # rolling statistics
    "liquidations.liq_volume@5m:mean", "liquidations.liq_volume@5m:std", "liquidations.liq_volume@5m:max",
    "liquidations.liq_volume@15m:mean", "liquidations.liq_volume@15m:std", "liquidations.liq_volume@15m:max",
    "liquidations.liq_volume@1h:mean", "liquidations.liq_volume@1h:std", "liquidations.liq_volume@1h:max",
    "liquidations.liq_imbalance@15m:zscore", "liquidations.liq_rate@1m:zscore", "liquidations.liq_rate@5m:rank",
    # cross-asset
    "xasset.btc_liq@30s", "xasset.btc_liq_lead@30s", "xasset.liq_corr_btc@5m",
    # the reversal playbook's signals
    "flow.ofi@5m:zscore", "funding.funding_avg@1h",
    # flow, price, funding, oi
    "flow.taker_buy_volume@1m", "flow.taker_sell_volume@1m", "flow.volume@1m", "flow.ofi@5m", "flow.trade_count@1m",
    "price.last@1m", "price.return@5m", "price.realized_vol@1h", "price.range@1h", "price.atr@5m",
    "funding.funding_rate@1h",
    "oi.open_interest@1m", "oi.oi_change@5m", "oi.oi_velocity@5m",
    # merged across venues
    "liquidations/all.liq_volume@1m", "liquidations/all.liq_imbalance@15m:zscore",
)

_USER: dict[str, BaseFeature] = {}


def all_bases() -> dict[str, BaseFeature]:
    return {**BUILTIN, **_USER}


def registered_features() -> dict[str, BaseFeature]:
    """The features registered with :func:`register_feature` (``family.name`` -> spec)."""
    return dict(_USER)


def register_feature(name: str, fn: Callable, *, definition: str = "", vectorized: bool = False,
                     replace: bool = False) -> BaseFeature:
    """Register a user feature ``family.name`` (then usable as ``family.name@W[:transform]``).

    ``fn(events, t_ns, window_ns) -> float`` receives the instrument's events (EVENT_DTYPE, in
    receive order) with ``ts_recv <= t_ns`` only, and returns the value at ``t_ns`` (NaN or None
    = null).  With ``vectorized=True`` it is ``fn(events, times_ns, window_ns) -> array`` and gets
    every event of the instrument at once: it must itself use only ``ts_recv <= t`` for each time
    (the leak audit checks that).  Built-in families cannot be replaced.
    """
    m = re.match(r"^([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)$", str(name))
    if not m:
        raise FeatureNameError(f"register_feature: name must be 'family.name' (lowercase, digits, _); got {name!r}")
    fam, nm = m.groups()
    if fam in FAMILIES:
        raise FeatureNameError(f"register_feature: {fam!r} is a built-in family; use your own family name")
    if not callable(fn):
        raise TypeError("register_feature: fn must be callable")
    if name in _USER and not replace:
        raise FeatureNameError(f"register_feature: {name!r} is already registered (replace=True to replace it)")
    spec = BaseFeature(fam, nm, definition or getattr(fn, "__doc__", None) or "user feature", "user", (),
                       fn=fn, vectorized=bool(vectorized))
    _USER[name] = spec
    return spec


def unregister_feature(name: str) -> None:
    _USER.pop(name, None)


def _nearest(word: str, choices) -> str:
    hits = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.4)
    return f"; did you mean {hits[0]!r}?" if hits else ""


def _suggest_full(name: str) -> str:
    cands = list(NAMED_FEATURES) + [f"{b.key}@{(b.default_windows or ('1m',))[0]}" for b in all_bases().values()]
    return _nearest(name, cands)


def parse_window(text: str, name: str = "window") -> int:
    m = _WIN_RE.match(text or "")
    if not m:
        raise FeatureNameError(f"{name}: malformed window {text!r} (expected a number and a unit ns/us/ms/s/m/h/d, "
                               "e.g. 30s, 5m, 1h)")
    ns = int(round(float(m.group(1)) * NS[m.group(2)]))
    if ns <= 0:
        raise FeatureNameError(f"{name}: window {text!r} must be positive")
    if ns > MAX_WINDOW_NS:
        raise FeatureNameError(f"{name}: window {text!r} is longer than the maximum of 30d")
    return ns


def parse_name(name: str) -> FeatureName:
    """Parse and validate ``family[/all].name@window[:transform]`` against the known features."""
    s = str(name).strip()
    m = _NAME_RE.match(s)
    if not m:
        hint = " (missing '@window')" if "@" not in s else ""
        raise FeatureNameError(f"feature {s!r}: malformed name{hint}; expected family.name@window[:transform], "
                               f"e.g. liquidations.liq_imbalance@15m:zscore{_suggest_full(s)}")
    fam, qual, nm, win, tf = m.group("family", "qual", "name", "window", "tf")
    bases = all_bases()
    families = set(FAMILIES) | {b.family for b in bases.values()}
    if fam not in families:
        hits = difflib.get_close_matches(fam, sorted(families), n=1, cutoff=0.4)
        hint = f"; did you mean {hits[0] + s[m.end('family'):]!r}?" if hits else ""
        raise FeatureNameError(f"feature {s!r}: unknown family {fam!r} (known: {', '.join(sorted(families))})"
                               f"{hint}")
    key = f"{fam}.{nm}"
    if key not in bases:
        in_fam = [b.name for b in bases.values() if b.family == fam]
        hits = difflib.get_close_matches(nm, in_fam, n=1, cutoff=0.4)
        tail = s[m.end("name"):]
        hint = f"; did you mean {fam + ('/' + qual if qual is not None else '')}.{hits[0]}{tail!s}?" if hits else ""
        raise FeatureNameError(f"feature {s!r}: unknown feature {nm!r} in family {fam!r} "
                               f"(known: {', '.join(in_fam)}){hint}")
    merged = False
    if qual is not None:
        if qual != "all":
            raise FeatureNameError(f"feature {s!r}: unknown qualifier {'/' + qual!r} (only '/all' exists)")
        if fam != "liquidations":
            raise FeatureNameError(f"feature {s!r}: '/all' (merged across venues) applies to the liquidations "
                                   "family only")
        merged = True
    window_ns = parse_window(win, f"feature {s!r}")
    transform = "none" if tf is None else tf
    if transform not in TRANSFORMS:
        raise FeatureNameError(f"feature {s!r}: unknown transform {transform!r} (known: "
                               f"{', '.join(t for t in TRANSFORMS if t != 'none')}){_nearest(transform, TRANSFORMS)}")
    return FeatureName(fam, nm, window_ns, transform, merged)
