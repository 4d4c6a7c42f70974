"""The parameter vocabulary: one set of names for CLI flags, TOML keys and Python fields.

The details: docs/maintainers/design.md, "The parameter vocabulary".

May import: ``units``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from typing import Any, Callable

from liqcore.units import (  # noqa: F401  (the parsers the specs below name)
    DURATION_MAX_NS,
    INT64_MAX,
    format_duration,
    parse_bool,
    parse_bps,
    parse_duration,
    parse_fee,
    parse_fraction,
    parse_hours,
    parse_nonneg_float,
    parse_nonneg_int,
    parse_pos_int,
    parse_signed_fraction,
    parse_whole,
)

__all__ = ["param_spec", 
    "Params",
    "PARAMS",
    "DETECTOR_PARAMS",
    "STRATEGY_PARAMS",
    "PRESETS",
    "RULES",
    "validate_params",
    "check_scale",
    "is_parameter_name",
    "set_strategy_registry",
    "strategy_registry",
]


# ---- the one hook to the strategy registry ------------------------------------------------------
_registry_loader: Callable[[], Any] | None = None


def set_strategy_registry(loader: Callable[[], Any] | None) -> None:
    """Install the strategy registry: ``loader()`` returns an object with ``get_strategy(name)``,
    ``find_param(key)``, ``strategy_names()`` and ``all_strategies()`` (the :mod:`liqcore.strategies`
    module), loaded on first need.  :mod:`liqcore.strategies` installs itself when imported, and
    the root package :mod:`liqcore` installs a loader that imports it; ``None`` removes it."""
    global _registry_loader
    _registry_loader = loader


def strategy_registry() -> Any:
    """The installed strategy registry, or None (the vocabulary alone: shared parameters only)."""
    return _registry_loader() if _registry_loader is not None else None


def _need_registry() -> Any:
    reg = strategy_registry()
    if reg is None:
        raise ValueError("strategy: no strategy registry installed (import liqcore.strategies)")
    return reg


def _quantile(value: Any, name: str) -> float:
    return parse_fraction(value, name, signed=True)


def _history(value: Any, name: str) -> int:
    """A whole number >= 1, unbounded here: its range is :data:`RULES`' (what the detector allocates per
    symbol), which names it."""
    return parse_whole(value, name, minimum=1, maximum=None)


def _fill(value: Any, name: str) -> str:
    s = str(value).strip().lower()
    if s not in ("through", "touch", "queue"):
        raise ValueError(f"{name}: expected 'through', 'touch' or 'queue'; got {value!r}")
    return s


def _queue_model(value: Any, name: str) -> str:
    """'risk-averse' or 'prob:N' (N > 0, the power of hftbacktest's probability queue model)."""
    s = str(value).strip().lower()
    if s == "risk-averse":
        return s
    if s.startswith("prob:"):
        try:
            n = float(s[5:])
        except ValueError:
            n = float("nan")
        if n > 0 and n < float("inf"):
            return f"prob:{n:g}"
    raise ValueError(f"{name}: expected 'risk-averse' or 'prob:N' with N > 0; got {value!r}")


def _queue_unseen(value: Any, name: str) -> str:
    s = str(value).strip().lower()
    if s not in ("seen", "empty"):
        raise ValueError(f"{name}: expected 'seen' or 'empty'; got {value!r}")
    return s


def _price_grid(value: Any, name: str) -> str:
    s = str(value).strip().lower()
    if s not in ("tick", "off", "auto"):
        raise ValueError(f"{name}: expected 'tick', 'off' or 'auto'; got {value!r}")
    return s


def fill_label(params, fallback: bool = False) -> str:
    """The fill model and order latency a result came from, in words: ``queue (risk-averse),
    order latency 100 ms round trip: 50 ms out, 50 ms back``; ``fallback``: the queue rule fell back to ``through`` (no top of book)."""
    rule = getattr(params, "fill", "through")
    if rule == "queue":
        rule = "through (queue asked; no top of book in the input)" if fallback else \
            f"queue ({getattr(params, 'queue_model', 'risk-averse')}" + (
                ", unseen levels empty" if getattr(params, "queue_unseen", "seen") == "empty" else "") + (
                ", partial fills)" if getattr(params, "partial", False) else ")")
    if getattr(params, "price_grid", "off") == "auto" or getattr(params, "fill", "") == "queue":
        rule += ", limits on the price grid"
    journal = getattr(params, "order_latency_from", "") or ""
    if journal:  # drawn per order from a live session's measured latencies
        by_rate = " by the liquidation rate" if getattr(params, "order_latency_by_rate", False) else ""
        split = float(getattr(params, "latency_split", 0.5))
        return (f"{rule}, order latency drawn from {journal}{by_rate} (seed {getattr(params, 'latency_seed', 0)}, "
                f"outbound {split * 100:g} % of each round trip){_exits_note(params)}")
    out, back = latency_ways(params)
    return (f"{rule}, order latency {getattr(params, 'order_latency_ns', 0) / 1e6:g} ms round trip: "
            f"{out / 1e6:g} ms out, {back / 1e6:g} ms back{_exits_note(params)}")


def _exits_note(params) -> str:
    """``--exits engine`` changes the fills' exits (they wait for the way back and out): the label says so."""
    return ", exits watched by the engine" if getattr(params, "exits", "venue") == "engine" else ""


def latency_ways(params) -> tuple[int, int]:
    """(outbound, inbound) ns of the constant ``order-latency`` (a round trip): ``latency-split`` of it on
    the way out (decision to the order's arrival at the venue), the rest on the way back (the venue's
    answers and pushes to the bot).  The default 100 ms round trip at 50 % is 50 ms each way."""
    rt = int(getattr(params, "order_latency_ns", 0) or 0)
    split = float(getattr(params, "latency_split", 0.5))
    out = int(round(rt * split))
    return out, rt - out


def queue_power(model: str) -> float:
    """The kernel's ``queue_pow`` of a queue model: 0 for 'risk-averse', N for 'prob:N'."""
    return float(model[5:]) if model.startswith("prob:") else 0.0


def _exits(value: Any, name: str) -> str:
    s = str(value).strip().lower()
    if s not in ("venue", "engine"):
        raise ValueError(f"{name}: expected 'venue' or 'engine'; got {value!r}")
    return s


def _feed_mode(value: Any, name: str) -> str:
    s = str(value).strip().lower()
    if s not in ("recorded", "constant"):
        raise ValueError(f"{name}: expected 'recorded' or 'constant'; got {value!r}")
    return s


def _size(value: Any, name: str) -> float:
    return parse_fraction(value, name, signed=True)


def _strategy(value: Any, name: str) -> str:
    s = str(value).strip().lower()
    if not s:
        raise ValueError(f"{name}: expected a strategy name")
    if s != "cascade-mm":  # the default needs no registry look-up (keeps Params() import-light)
        _need_registry().get_strategy(s)
    return s


@dataclass(frozen=True)
class _Spec:
    name: str  # CLI / vocabulary name, with dashes
    field: str  # Python / TOML name
    parse: Any
    default: Any
    help: str
    group: str  # "detector" | "strategy" | "risk" | "execution" | "feed"
    metavar: str = ""


def _opt_path(value: Any, name: str) -> str | None:
    """A file path, or None (``None``, ``""`` or ``"none"``)."""
    if value is None:
        return None
    v = str(value).strip()
    if not v or v.lower() == "none":
        return None
    return v


PARAMS: tuple[_Spec, ...] = (
    _Spec("quantile", "quantile", _quantile, 0.95, "q of the large-liquidation threshold", "detector", "Q"),
    _Spec("history", "history", _history, 1000, "N, liquidations kept per (venue, symbol)", "detector", "N"),
    _Spec("min-history", "min_history", parse_nonneg_int, 100, "liquidations seen before a threshold exists", "detector", "N"),
    _Spec("refresh", "refresh_ns", parse_duration, "1h", "how often the threshold is recomputed (0 = every event)", "detector", "DUR"),
    _Spec("window", "window_ns", parse_duration, "60s", "W, the cascade cluster window", "detector", "DUR"),
    _Spec("min-large", "min_large", parse_pos_int, 2, "k, large liquidations that confirm a cascade", "detector", "K"),
    _Spec("strategy", "strategy", _strategy, "cascade-mm", "the strategy that makes the signals", "strategy", "NAME"),
    _Spec("offset", "offset", parse_signed_fraction, "0.15%", "entry distance from the reference price (BTC preset 0.10%)", "strategy", "FRAC"),
    _Spec("take-profit", "take_profit", parse_signed_fraction, "0.15%", "take-profit distance from the fill (BTC preset 0.50%)", "strategy", "FRAC"),
    _Spec("stop-loss", "stop_loss", parse_signed_fraction, "0.25%", "stop-loss distance from the fill", "strategy", "FRAC"),
    _Spec("entry-timeout", "entry_timeout_ns", parse_duration, "30m", "unfilled entry cancelled after", "strategy", "DUR"),
    _Spec("hold-timeout", "hold_timeout_ns", parse_duration, "30m", "open position closed at market after (the maximum hold)", "strategy", "DUR"),
    _Spec("cooldown", "cooldown_ns", parse_duration, "5m", "cooldown after a position closes", "strategy", "DUR"),
    _Spec("trail", "trail", parse_signed_fraction, 0.0, "trailing stop from the best print since the entry (0 = none)", "strategy", "FRAC"),
    _Spec("max-ref-age", "max_ref_age_ns", parse_duration, "5s", "oldest usable reference trade", "strategy", "DUR"),
    _Spec("order-latency", "order_latency_ns", parse_duration, "100ms",
          "the order's round trip (create sent -> the venue's answer back, like a ping): latency-split of it on "
          "the way out (decision to arrival at the venue), the rest on the way back (the bot learns of a fill "
          "that much after it)", "execution", "DUR"),
    _Spec("feed-latency", "feed_latency_ns", parse_duration, "0", "event time to receive time when a replay has none recorded", "execution", "DUR"),
    _Spec("feed-latency-mode", "feed_latency_mode", _feed_mode, "recorded",
          "'recorded': each event at its recorded receive time (feed-latency only where none was recorded); "
          "'constant': every event at its event time + feed-latency", "execution", "MODE"),
    # measured order latency: drawn per signal from a live session's journal (create sent -> venue answer)
    _Spec("order-latency-from", "order_latency_from", _opt_path, None,
          "a live session's journal: each order's latency drawn from the latencies it measured (create sent to "
          "the venue's answer) instead of the constant order-latency; --order-latency JOURNAL says the same", "execution", "PATH"),
    _Spec("order-latency-by-rate", "order_latency_by_rate", parse_bool, False,
          "with order-latency-from: draw from the samples sent at a liquidation rate (per minute) like the one at "
          "the decision (on/off)", "execution", "on|off"),
    _Spec("latency-seed", "latency_seed", parse_nonneg_int, 0, "seed of the order-latency draws (same seed, same fills)",
          "execution", "N"),
    _Spec("latency-split", "latency_split", parse_signed_fraction, "50%",
          "the outbound share of a measured round trip (create sent -> the venue's answer): the order's arrival at "
          "the venue (post-only check, queue join) comes that share of it after the send, the answer's way back "
          "the rest; the same split applies to a constant order-latency", "execution", "FRAC"),
    # clock guard: an event stamped further ahead of its receive time is rejected (counted future_time)
    _Spec("max-clock-skew", "max_clock_skew_ns", parse_duration, "5s",
          "events whose venue time is this far ahead of their receive time are rejected (future_time)", "execution", "DUR"),
    _Spec("maker-fee-bps", "maker_fee_bps", parse_fee, 2.0, "maker fee in basis points", "execution", "BPS"),
    _Spec("taker-fee-bps", "taker_fee_bps", parse_fee, 5.5, "taker fee in basis points", "execution", "BPS"),
    _Spec("slippage-bps", "slippage_bps", parse_bps, 0.0, "taker fills (market entries, stops, timed and signal exits) move this much against the taker", "execution", "BPS"),
    _Spec("fill", "fill", _fill, "through", "fill rule: 'through' (strictly through the limit), 'touch' or 'queue' (behind the displayed size)", "execution", "RULE"),
    _Spec("price-grid", "price_grid", _price_grid, "tick", "maker limits (entries, take-profits) on each symbol's price grid: 'tick' (default: the instrument's tick and qty step, as paper and live round them; a symbol without one as computed), 'off' (as computed) or 'auto' (the grid read from its trade prints; --fill queue implies it)", "execution", "GRID"),
    _Spec("queue-model", "queue_model", _queue_model, "risk-averse", "fill queue: how a fall in displayed size moves the queue ahead ('risk-averse' or 'prob:N')", "execution", "MODEL"),
    _Spec("partial", "partial", parse_bool, False, "fill queue: a print at a limit entry's price that brings the traded size past the queue ahead by less than the order fills that part; the position opens with it (exits for the filled size) and the rest keeps resting until the entry's timeout (on/off)", "execution", "on|off"),
    _Spec("queue-unseen", "queue_unseen", _queue_unseen, "seen", "fill queue: a limit behind the best has ahead of it the size displayed when its level is first the best ('seen') or nothing ('empty': hftbacktest on a top-of-book feed)", "execution", "RULE"),
    _Spec("daily-loss", "daily_loss", parse_signed_fraction, "1%", "daily loss limit as a fraction of equity (stop for the UTC day; 0 = none)", "risk", "FRAC"),
    _Spec("weekly-loss", "weekly_loss", parse_signed_fraction, "2%", "weekly loss limit as a fraction of equity (0 = none)", "risk", "FRAC"),
    _Spec("max-symbols", "max_symbols", parse_pos_int, 4, "symbols with open positions at once", "risk", "N"),
    _Spec("size", "size", _size, 0.25, "position notional per trade, as a fraction of equity", "risk", "FRAC"),
    _Spec("max-positions", "max_positions", parse_nonneg_int, 0, "open positions and working entries at once (0 = only max-symbols)", "risk", "N"),
    _Spec("replace-weakest", "replace_weakest", parse_bool, False, "at the position cap, a signal of higher confidence closes the weakest position and takes its place (on/off)", "risk", "on|off"),
    _Spec("replace-same", "replace_same", parse_bool, False, "a signal of higher confidence on a symbol that holds a position closes it and opens its own after the close (on/off)", "risk", "on|off"),
    _Spec("daily-trades", "daily_trades", parse_nonneg_int, 0, "positions opened per symbol per UTC day (0 = no cap)", "risk", "N"),
    _Spec("leverage", "leverage", parse_nonneg_float, 10.0, "cap on the sum of open notionals, in multiples of equity (at most 10; 0 = no cap)", "risk", "X"),
    _Spec("notional", "notional", parse_nonneg_float, 0.0, "fixed position notional in quote units instead of size x equity (0 = use size)", "risk", "QUOTE"),
    _Spec("hours", "hours", parse_hours, None, "UTC trading hours filter, e.g. 13-18 (default: all)", "risk", "H-H"),
    # the trading guide's "avoid" rules: no new entry at these times (positions already open keep their exits)
    _Spec("avoid-weekends", "avoid_weekends", parse_bool, False, "no new entry on Saturdays and Sundays, UTC (on/off)", "risk", "on|off"),
    _Spec("news-calendar", "news_calendar", _opt_path, None, "file of scheduled news times (FOMC, CPI, ...): no new entry from news-before to news-after around each", "risk", "PATH"),
    _Spec("news-before", "news_before_ns", parse_duration, "30m", "avoided time before each news time", "risk", "DUR"),
    _Spec("news-after", "news_after_ns", parse_duration, "1h", "avoided time after each news time", "risk", "DUR"),
    _Spec("maintenance-calendar", "maintenance_calendar", _opt_path, None, "file of exchange maintenance windows: no new entry inside them", "risk", "PATH"),
    # live: the guide's "fill rate below 40 % -> reduce size", a standing alarm
    _Spec("fill-alarm", "fill_alarm", parse_signed_fraction, "40%", "alarm when the fill rate of the last fill-alarm-entries ended entries is below this (0 = off)", "risk", "FRAC"),
    _Spec("fill-alarm-entries", "fill_alarm_entries", parse_pos_int, 20, "ended entries the fill-rate alarm looks at (and waits for)", "risk", "N"),
    # live market-data sockets (run, record): a heartbeat every ping-interval; a socket that received
    # nothing at all for stall-timeout is replaced and counted as down from its last frame
    _Spec("ping-interval", "ping_interval_ns", parse_duration, "5s", "heartbeat on every market-data socket", "feed", "DUR"),
    _Spec("stall-timeout", "stall_timeout_ns", parse_duration, "10s",
          "a feed socket silent this long is stalled: replaced, down from its last frame (> ping-interval)", "feed", "DUR"),
    # one subscribed stream silent while its connection's other streams flow (liqcore.live.silence): reported by
    # name, re-subscribed; a connection with nothing for this long where a stream normally flows: reconnected
    _Spec("silent-after", "silent_after_ns", parse_duration, "60s",
          "a subscribed stream never heard for this long while the venue's others flow is silent: reported, "
          "re-subscribed (0 = off)", "feed", "DUR"),
    # live exits: the venue's own take-profit / stop-loss / trailing stop, or all watched by the engine
    _Spec("exits", "exits", _exits, "venue",
          "live exits: 'venue' (take-profit, stop-loss and trailing stop held by the venue where it has them; the "
          "rest watched by the engine) or 'engine' (every exit watched by the engine and closed at market)",
          "execution", "WHO"),
    # live shutdown
    _Spec("shutdown-timeout", "shutdown_timeout_ns", parse_duration, "5s",
          "on stop, time to cancel and confirm every working entry before exiting", "execution", "DUR"),
)
_BY_FIELD = {s.field: s for s in PARAMS}
_BY_NAME = {s.name: s for s in PARAMS}


def param_spec(name: str):
    """The parameter a command-line name (``take-profit``) sets, None for a name no parameter has."""
    return _BY_NAME.get(name)
DETECTOR_PARAMS = tuple(s.field for s in PARAMS if s.group == "detector")
STRATEGY_PARAMS = tuple(s.field for s in PARAMS if s.group not in ("detector", "feed"))

#: Per-symbol presets from the trading guide: base-asset prefix -> field overrides.
PRESETS: dict[str, dict[str, Any]] = {
    "BTC": {"offset": 0.0010, "take_profit": 0.0050, "stop_loss": 0.0025},
}


# ---- validation: the allowed values of every parameter, in one place ------------------------------
# field -> (low, high, bounds, why): bounds "[]" closed, "[)" half-open...; None = no bound.
# * Price distances (offset, take-profit, stop-loss) are fractions of a price below 100 %: a buy limit,
#   a short's take-profit or a long's stop at or below zero is meaningless.  Take-profit and stop-loss
#   must be > 0 (zero would exit at the fill).
# * A negative offset is refused: entries are post-only limits, and one placed at a better-than-market
#   price would take liquidity, so the venue (and the fill model) rejects it.  An offset of 0 (at the
#   reference price) is allowed.
# * Fees: a negative maker fee is a rebate, which some venues pay (down to -10 bps accepted); taker fees
#   are >= 0; both at most 100 bps (1 %).
# * Loss limits are fractions of equity in [0, 100 %]; 0 switches the limit off.
# * size: notional per trade as a fraction of equity, > 0 and at most 100 (above 1 = leverage).
RULES: dict[str, tuple[Any, Any, str, str]] = {
    "quantile": (0.0, 1.0, "[]", ""),
    "history": (1, 1_000_000, "[]", "liquidations kept per symbol; the detector allocates room for them per symbol"),
    "min_history": (0, None, "[", ""),
    "refresh_ns": (0, None, "[", ""),
    "window_ns": (0, None, "(", ""),
    "min_large": (1, None, "[", ""),
    "offset": (0.0, 1.0, "[)", "0 = at the reference price; a negative offset would cross the market, "
                               "where a post-only entry is rejected"),
    "take_profit": (0.0, 1.0, "[)", "0 = none, for strategies other than cascade-mm"),
    "stop_loss": (0.0, 1.0, "[)", "0 = none, for strategies other than cascade-mm"),
    "entry_timeout_ns": (0, None, "(", ""),
    "hold_timeout_ns": (0, None, "[", "0 = none, for strategies other than cascade-mm"),
    "cooldown_ns": (0, None, "[", ""),
    "max_ref_age_ns": (0, None, "(", ""),
    "order_latency_ns": (0, None, "[", ""),
    "feed_latency_ns": (0, None, "[", ""),
    "latency_seed": (0, None, "[", ""),
    "latency_split": (0.0, 1.0, "[]", "0 = all of a round trip on the way back, 1 = all on the way out"),
    "maker_fee_bps": (-10.0, 100.0, "[]", "negative = a maker rebate"),
    "taker_fee_bps": (0.0, 100.0, "[]", ""),
    "daily_loss": (0.0, 1.0, "[]", "0 = no limit"),
    "weekly_loss": (0.0, 1.0, "[]", "0 = no limit"),
    "max_symbols": (1, None, "[", ""),
    "size": (0.0, 100.0, "(]", "notional per trade as a fraction of equity"),
    "max_clock_skew_ns": (0, None, "[", "venue time allowed ahead of receive time"),
    "ping_interval_ns": (0, None, "(", ""),
    "stall_timeout_ns": (0, None, "(", "must also be longer than ping-interval"),
    "silent_after_ns": (0, None, "[", "0 = off"),
    "shutdown_timeout_ns": (0, None, "(", ""),
    "trail": (0.0, 1.0, "[)", "0 = no trailing stop"),
    "slippage_bps": (0.0, 1000.0, "[]", ""),
    "max_positions": (0, None, "[", "0 = only max-symbols"),
    "daily_trades": (0, None, "[", "0 = no cap"),
    "leverage": (0.0, 10.0, "[]", "the trading guide: never above 10x; 0 = no cap"),
    "news_before_ns": (0, None, "[", ""),
    "news_after_ns": (0, None, "[", ""),
    "fill_alarm": (0.0, 1.0, "[]", "0 = no alarm"),
    "fill_alarm_entries": (1, None, "[", ""),
    "notional": (0.0, None, "[", "0 = size x equity"),
}
_PCT_FIELDS = {"offset", "take_profit", "stop_loss", "daily_loss", "weekly_loss", "trail"}
#: price distances given as a bare number (no ``%``) above this fraction are refused as a likely
#: slip (``--offset 0.2`` meaning 0.2 %, read as 20 %): a larger distance is written with its ``%``
SCALE_LIMIT = 0.05
_SCALE_FIELDS = ("offset", "take_profit", "stop_loss", "trail")


def check_scale(fname: str, raw: Any) -> None:
    """ValueError when ``raw``, the user's value of price distance ``fname`` (offset, take-profit,
    stop-loss, trail), is a bare number above :data:`SCALE_LIMIT` (5 %) and below 100 (from 100 on, the
    range rule speaks): such a distance needs its ``%`` (``20%``) to be taken; one of 1 or more (``15``)
    is out of range as a fraction and is most likely a percent without its sign, and says so."""
    if fname not in _SCALE_FIELDS or isinstance(raw, bool):
        return
    if isinstance(raw, str):
        t = raw.strip()
        if t.endswith("%"):
            return
        try:
            x = float(t)
        except ValueError:
            return  # the parser names what is wrong
    elif isinstance(raw, (int, float)):
        x = float(raw)
    else:
        return
    if SCALE_LIMIT < x < 1.0:
        name = _BY_FIELD[fname].name
        raise ValueError(f"{name}: {x:g} without a % sign is the fraction {x:g}, i.e. {x * 100:g}% of the price "
                         f"(more than {SCALE_LIMIT * 100:g}% is unusual for a price distance); for {x:g} percent "
                         f"write {x:g}% (or {x / 100:g}); if you do mean {x * 100:g} percent, write {x * 100:g}%")
    if 1.0 <= x < 100.0:  # a percent typed without its sign: the range rule alone would say "got 1500%"
        name = _BY_FIELD[fname].name
        raise ValueError(f"{name}: {x:g} without a % sign is the fraction {x:g}, i.e. {x * 100:g}% of the price, "
                         f"beyond the 100% a price distance can be; for {x:g} percent write {x:g}% (or {x / 100:g})")


def _show(fname: str, v: Any) -> str:
    if fname.endswith("_ns"):
        return format_duration(v) if v >= 0 else f"{v / 1e9:g}s"
    if fname in _PCT_FIELDS:
        return f"{v * 100:g}%"
    if fname.endswith("parse_bps"):
        return f"{v:g} bps"
    return f"{v:g}" if isinstance(v, float) else str(v)


def validate_params(p: Any) -> None:
    """Check every field of ``p`` against :data:`RULES`; ValueError naming the first bad field."""
    for fname, (lo, hi, bounds, why) in RULES.items():
        v = getattr(p, fname, None)
        if v is None:
            continue
        ok = (lo is None or (v >= lo if bounds[0] == "[" else v > lo)) and \
             (hi is None or (v <= hi if bounds[-1] == "]" else v < hi))
        if ok:
            continue
        name = _BY_FIELD[fname].name if fname in _BY_FIELD else fname
        if hi is None:
            rng = f"{'>=' if bounds[0] == '[' else '>'} {_show(fname, lo)}"
        else:
            rng = f"within {bounds[0]}{_show(fname, lo)}, {_show(fname, hi)}{bounds[-1]}"
        raise ValueError(f"{name}: must be {rng}{f' ({why})' if why else ''}; got {_show(fname, v)}")
    if getattr(p, "partial", False) and getattr(p, "fill", "through") != "queue":
        raise ValueError(f"partial: --partial on needs --fill queue (the size traded beyond the queue ahead is what "
                         f"fills); got --fill {getattr(p, 'fill', 'through')}")
    if getattr(p, "fill", "through") == "queue" and getattr(p, "price_grid", "tick") == "off":
        raise ValueError("price-grid: off cannot go with --fill queue (the queue rule compares prints and quotes on "
                         "each symbol's price grid: --price-grid tick or auto); got --price-grid off")
    if getattr(p, "strategy", "cascade-mm") == "cascade-mm":
        # the guide's strategy always places both levels: 0 would put them at the fill price
        for fname in ("take_profit", "stop_loss", "hold_timeout_ns"):
            if getattr(p, fname) <= 0:
                raise ValueError(f"{_BY_FIELD[fname].name}: must be > {_show(fname, 0)} for the cascade-mm strategy "
                                 "(it always places a take-profit and a stop-loss and closes after the hold "
                                 f"timeout); got {_show(fname, getattr(p, fname))}")


#: the most cells a parameter grid expands to whole (``liqcore.sweep`` and ``liqcore.backtest.sweep``: a grid beyond
#: it is drawn from, never a list of millions of cells built before any work)
MAX_GRID_CELLS = 1_000_000


def as_params(params) -> "Params":
    """``params`` as a :class:`Params`: None the defaults, a mapping of parameter names (CLI/TOML names, or field
    names) :meth:`Params.from_mapping`'s; a string, number or sequence a ValueError in one line; any other object
    as it is (a Params, or an object that answers as one)."""
    if params is None:
        return Params()
    if isinstance(params, Params):
        return params
    if hasattr(params, "items") and hasattr(params, "keys"):
        return Params.from_mapping(dict(params))
    if isinstance(params, (str, bytes, int, float, list, tuple, set)):
        raise ValueError(f"params: expected a Params or a mapping of parameter names to values; got "
                         f"{type(params).__name__}")
    return params


@dataclass(frozen=True)
class Params:
    """Every tunable of detector, strategy, execution and risk, with its default (the trading guide's, for
    the default strategy ``cascade-mm``: see the documentation's Concepts page, "the guide").

    Construct with the parameters' names and units (``Params(window="30s", offset="0.2%")``), with
    the field values (``Params(window_ns=30_000_000_000)``), or from a mapping of strings via
    :meth:`from_mapping` (``Params.from_mapping({"window": "30s"})``).  ``explicit`` names the fields
    the user set; per-symbol presets never override those.
    """

    quantile: float = 0.95
    history: int = 1000
    min_history: int = 100
    refresh_ns: int = 3_600_000_000_000
    window_ns: int = 60_000_000_000
    min_large: int = 2
    strategy: str = "cascade-mm"
    offset: float = 0.0015
    take_profit: float = 0.0015
    stop_loss: float = 0.0025
    entry_timeout_ns: int = 1_800_000_000_000
    hold_timeout_ns: int = 1_800_000_000_000
    cooldown_ns: int = 300_000_000_000
    trail: float = 0.0
    max_ref_age_ns: int = 5_000_000_000
    order_latency_ns: int = 100_000_000  # a round trip: latency_ways() splits it
    feed_latency_ns: int = 0
    feed_latency_mode: str = "recorded"
    order_latency_from: str | None = None
    order_latency_by_rate: bool = False
    latency_seed: int = 0
    latency_split: float = 0.5
    max_clock_skew_ns: int = 5_000_000_000  # clock guard (see PARAMS)
    maker_fee_bps: float = 2.0
    taker_fee_bps: float = 5.5
    slippage_bps: float = 0.0
    fill: str = "through"
    queue_model: str = "risk-averse"
    queue_unseen: str = "seen"
    partial: bool = False
    price_grid: str = "tick"
    daily_loss: float = 0.01
    weekly_loss: float = 0.02
    max_symbols: int = 4
    size: float = 0.25
    max_positions: int = 0
    replace_weakest: bool = False
    replace_same: bool = False
    daily_trades: int = 0
    leverage: float = 10.0
    notional: float = 0.0
    hours: tuple[int, int] | None = None
    avoid_weekends: bool = False
    news_calendar: str | None = None
    news_before_ns: int = 1_800_000_000_000
    news_after_ns: int = 3_600_000_000_000
    maintenance_calendar: str | None = None
    fill_alarm: float = 0.40
    fill_alarm_entries: int = 20
    ping_interval_ns: int = 5_000_000_000
    stall_timeout_ns: int = 10_000_000_000
    silent_after_ns: int = 60_000_000_000
    exits: str = "venue"
    shutdown_timeout_ns: int = 5_000_000_000
    #: strategy parameters (``(field, value)`` pairs, sorted): each strategy's own vocabulary, read
    #: as attributes (``params.min_notional``); see :mod:`liqcore.strategies`
    strategy_values: tuple = ()
    explicit: frozenset = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self):
        # validate everything through the same parsers the CLI uses
        for spec in PARAMS:
            v = getattr(self, spec.field)
            if spec.field == "hours":
                object.__setattr__(self, "hours", parse_hours(v, spec.name))
            elif spec.parse is parse_duration and not isinstance(v, str):
                # numeric values of *_ns fields are nanoseconds already
                # (the kernels' int64 bound: the user's values are held to 100 years where they come in,
                # :meth:`from_mapping` and ``Params(...)``; a copy may carry an internal "never", 1 << 62)
                object.__setattr__(self, spec.field, _duration_field(v, spec.name, INT64_MAX))
            else:
                object.__setattr__(self, spec.field, spec.parse(v, spec.name))
        validate_params(self)
        if self.stall_timeout_ns <= self.ping_interval_ns:
            raise ValueError("stall-timeout: must be longer than ping-interval, or a quiet live feed would be dropped")
        sv = self.strategy_values
        if isinstance(sv, dict):
            sv = tuple(sv.items())
        if not isinstance(sv, tuple) or not all(isinstance(x, tuple) and len(x) == 2 for x in sv):
            raise ValueError("strategy_values: expected (field, value) pairs")
        object.__setattr__(self, "strategy_values", tuple(sorted(sv, key=lambda x: x[0])))

    def __getattr__(self, name: str) -> Any:
        # strategy parameters: the value set by the user, else the selected strategy's default
        if name.startswith("__") or name in ("strategy_values", "strategy", "explicit"):
            raise AttributeError(name)
        for fld, v in self.strategy_values:
            if fld == name:
                return v
        reg = strategy_registry()
        if reg is None:
            raise AttributeError(f"'Params' object has no attribute {name!r}")
        try:
            cls = reg.get_strategy(self.strategy)
        except ValueError:
            cls = None
        spec = cls.param_spec(name) if cls is not None else None
        if spec is not None and spec.field == name:
            return spec.default_value()
        spec = reg.find_param(name)
        if spec is not None and spec.field == name:
            raise AttributeError(f"{spec.name}: not a parameter of strategy {self.strategy}")
        raise AttributeError(f"'Params' object has no attribute {name!r}")

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, mapping: dict[str, Any], base: "Params | None" = None) -> "Params":
        """Build from CLI/TOML names (``min-history``, ``min_history`` or ``min_history`` field names,
        ``window`` or ``window_ns``); raw strings are parsed; unknown keys -> ValueError.  Strategy
        parameters (``min-notional``...) go to ``strategy_values``; whether they belong to the
        selected strategy is checked when the strategy runs (:meth:`Strategy.resolve`)."""
        values = {}
        svalues: dict[str, Any] = {}
        for key, raw in mapping.items():
            if raw is None:
                continue
            k = str(key).replace("_", "-")
            spec = _BY_NAME.get(k)
            if spec is not None:
                check_scale(spec.field, raw)
                # user-facing name: plain numbers of durations are seconds, strings carry units
                values[spec.field] = spec.parse(raw, spec.name) if spec.field != "hours" else raw
                continue
            spec = _BY_FIELD.get(str(key))
            if spec is None:
                sspec = _strategy_spec(key)
                if sspec is None:
                    import difflib

                    names = [s.name for s in PARAMS]
                    near = difflib.get_close_matches(k, names, n=1, cutoff=0.75)
                    hint = f" (did you mean {near[0]!r}?)" if near else ""
                    raise ValueError(f"unknown parameter {key!r}{hint}; known: {', '.join(names)}, "
                                     "and the strategies' own parameters")
                if str(key) == sspec.field and sspec.field != sspec.name.replace("-", "_") \
                        and not isinstance(raw, str):
                    # Python field name of a duration (``bar_ns``): numbers are nanoseconds
                    svalues[sspec.field] = _duration_field(raw, sspec.name)
                else:
                    svalues[sspec.field] = sspec.parse(raw, sspec.name)
                continue
            if spec.parse is parse_duration and not isinstance(raw, str):
                raw = _duration_field(raw, spec.name)  # Python field name: *_ns numbers are nanoseconds
            values[spec.field] = raw
        base = base or cls()
        explicit = set(base.explicit) | set(values) | set(svalues)
        if svalues:
            merged = dict(base.strategy_values)
            merged.update(svalues)
            values["strategy_values"] = tuple(sorted(merged.items()))
        return dataclasses.replace(base, **values, explicit=frozenset(explicit))

    def replace(self, **changes) -> "Params":
        """A copy with ``changes`` (field names; strategy parameters by their field names too)."""
        own = {f.name for f in fields(self)}
        core = {k: v for k, v in changes.items() if k in own}
        rest = {k: v for k, v in changes.items() if k not in own}
        out = self
        if rest:
            out = Params.from_mapping(rest, base=self)
        explicit = set(out.explicit) | set(core)
        return dataclasses.replace(out, **core, explicit=frozenset(explicit))

    def for_symbol(self, symbol: str) -> "Params":
        """Apply the per-symbol preset (the guide's BTC exception) to fields the user did not set."""
        if self.strategy != "cascade-mm":  # the presets are the guide strategy's
            return self
        sym = str(symbol).upper()
        for prefix, overrides in PRESETS.items():
            if sym.startswith(prefix):
                changes = {k: v for k, v in overrides.items() if k not in self.explicit}
                if changes:
                    return dataclasses.replace(self, **changes)
        return self

    # ---- views ----------------------------------------------------------------------------------
    def detector_kwargs(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in DETECTOR_PARAMS}

    def to_dict(self, names: bool = False) -> dict[str, Any]:
        out = {}
        for spec in PARAMS:
            out[spec.name if names else spec.field] = getattr(self, spec.field)
        return out

    def describe(self) -> dict[str, str]:
        """Human-readable values keyed by CLI name (durations as 60s, fractions as %)."""
        out = {}
        for spec in PARAMS:
            if spec.group == "feed":  # live socket settings: no bearing on detection or results
                continue
            v = getattr(self, spec.field)
            if spec.field.endswith("_ns"):
                out[spec.name] = format_duration(v)
            elif spec.parse in (parse_fraction, parse_signed_fraction) and isinstance(v, float):
                out[spec.name] = f"{v * 100:.4g}%"
            elif spec.field == "hours":
                out[spec.name] = "all" if v is None else f"{v[0]}-{v[1]}"
            elif isinstance(v, bool):
                out[spec.name] = "on" if v else "off"
            elif v is None or v == "":  # (an optional input not given: a file, a calendar)
                out[spec.name] = "not set"
            else:
                out[spec.name] = str(v)
        reg = strategy_registry()
        if reg is not None and (self.strategy != "cascade-mm" or self.strategy_values):
            try:
                out.update(reg.get_strategy(self.strategy).describe_params(self))
            except ValueError:
                pass
            for fld, v in self.strategy_values:
                sp = reg.find_param(fld)
                if sp is not None and sp.name not in out:
                    out[sp.name] = sp.format(v)
        return out


def _duration_field(v: Any, name: str, limit: int = DURATION_MAX_NS) -> int:
    """The nanoseconds of a duration given by its field name (``window_ns=30_000_000_000``): a number from 0
    to ``limit`` (:data:`DURATION_MAX_NS`, 100 years, as :func:`parse_duration` takes; the largest int64 for the
    copies the package makes itself), else ValueError naming ``name``."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise ValueError(f"{name}: must be a non-negative duration, at most 36500d (100 years); got {v!r}")
    if v > limit:
        raise ValueError(f"{name}: must be at most "
                         f"{'36500d (100 years)' if limit == DURATION_MAX_NS else f'{limit} ns'}; got {v!r} ns")
    return int(v)


def _strategy_spec(key: Any):
    """The spec of a strategy parameter named ``key`` (any registered strategy), or None."""
    reg = strategy_registry()
    return reg.find_param(str(key)) if reg is not None else None


def is_parameter_name(name: Any) -> bool:
    """Whether ``name`` names a parameter (CLI/TOML name with ``-`` or ``_``, Python field name, or a
    strategy's own parameter): result tables keep such names for parameters, never for metrics."""
    key = str(name)
    return (key.replace("_", "-") in _BY_NAME or key in _BY_FIELD or _strategy_spec(key) is not None
            or _strategy_spec(key.replace("_", "-")) is not None)


# ---- Python takes the vocabulary's names and units too ------------------------------------------
#: ``window`` -> the ``window_ns`` spec, ... (the names that differ from their field)
_VOCABULARY = {s.name.replace("-", "_"): s for s in PARAMS if s.name.replace("-", "_") != s.field}
_dataclass_init = Params.__init__


def _params_init(self, *args, **kwargs):
    """``Params(window="30s", offset="0.2%", take_profit=0.003)``: the CLI/TOML names (``_`` for ``-``)
    with their units (durations ``50ms``/``60s``/``5m``, plain numbers = seconds; fractions ``0.2%``
    or ``0.002``), or the field names (``window_ns=30_000_000_000``: numbers are nanoseconds).  The
    parameters given are explicit (per-symbol presets never override them)."""
    given = set()
    svalues: dict[str, Any] = {}
    for key in list(kwargs):
        spec = _VOCABULARY.get(key)
        if spec is not None:
            if spec.field in kwargs:
                raise TypeError(f"Params: give {key} or {spec.field}, not both")
            value = kwargs.pop(key)
            kwargs[spec.field] = spec.parse(value, spec.name)
            given.add(spec.field)
        elif key in _BY_FIELD:
            given.add(key)
            if "explicit" not in kwargs:  # the user's call (copies made by dataclasses.replace carry explicit)
                check_scale(key, kwargs[key])
                if _BY_FIELD[key].parse is parse_duration and not isinstance(kwargs[key], str):
                    kwargs[key] = _duration_field(kwargs[key], _BY_FIELD[key].name)  # (at most 100 years)
        elif key not in ("explicit", "strategy_values"):
            sspec = _strategy_spec(key)
            if sspec is None:
                known = ", ".join(s.name.replace("-", "_") for s in PARAMS)
                raise TypeError(f"Params: unknown parameter {key!r}; known: {known}, and the strategies' "
                                "own parameters")
            svalues[key] = kwargs.pop(key)
    if svalues:  # a strategy's own parameters (``min_notional=2e6``): parsed like the CLI/TOML names
        sv = Params.from_mapping(svalues).strategy_values
        kwargs["strategy_values"] = tuple(sorted({**dict(kwargs.get("strategy_values") or ()), **dict(sv)}.items()))
        given |= {f for f, _ in sv}
    if "explicit" not in kwargs and given:
        kwargs["explicit"] = frozenset(given)
    _dataclass_init(self, *args, **kwargs)


_params_init.__signature__ = __import__("inspect").signature(_dataclass_init)  # help(Params) shows the fields
Params.__init__ = _params_init
