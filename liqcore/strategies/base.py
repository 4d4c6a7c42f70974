"""The signal contract every strategy builds to, and the base class of a strategy.

A strategy turns point-in-time inputs (events by receive time, the cascade detector's records,
feature values as they stood) into **signals**: rows of :data:`SIGNAL_DTYPE`.  It never fills orders:
the one execution model (:mod:`liqcore.backtest.execution`, the Numba kernel in
:mod:`liqcore._jit.sim`) turns signals into orders, fills and trades, in backtest and paper trading
alike.  The rules of that model are in the strategies page of the documentation.

Fields of a signal (``NaN`` / ``-1`` mean "the run's parameter value", see each field):

* ``ts_ns`` -- decision time on the receive-time clock (the ``ts_recv`` of the deciding event, or a
  bar's close).  ``ev_idx`` -- position of the deciding event in the time-ordered event array: the
  signal is processed right AFTER that event (-1 = before the first event); equal ``ts_ns`` are
  ordered by ``ev_idx``, equal ``(ts_ns, ev_idx)`` by descending ``confidence``.
* ``symbol_id``; ``direction`` +1 long, -1 short, 0 = a decision not to trade, counted by
  ``skip_code`` (:data:`SKIP_MIXED` = 1 is counted as ``mixed``, anything else as ``skipped``;
  strategy-specific codes start at 100).
* ``entry`` -- :data:`ENTRY_LIMIT` (post-only limit at ``ref x (1 -/+ offset)``) or
  :data:`ENTRY_MARKET` (taker order, fills at the first trade print at/after arrival).
* ``confidence`` in [0, 1] (ranks simultaneous signals; ``replace`` compares it), ``size_mult``
  (position size multiplier, 1.0 = the run's ``size``).
* ``offset``, ``take_profit``, ``stop_loss`` -- fractions; NaN = the run's parameter; 0 in
  ``take_profit`` / ``stop_loss`` = none.  ``trail`` -- trailing-stop fraction from the best print
  since the entry; 0 or NaN = none.  ``stop_price`` -- an absolute stop-market price; NaN = none.
* ``max_hold_ns`` -- close at the first print at/after fill + max hold (taker); -1 = the run's
  ``hold-timeout``, 0 = none.  ``entry_timeout_ns`` -- unfilled entry cancelled after this; -1 = the
  run's ``entry-timeout``.
* ``exit_ns`` -- signal exit: the strategy's exit condition became true at this time; the position
  is closed at the first print at/after ``exit_ns + order-latency`` (taker).  :data:`NEVER` = no
  signal exit.  ``exit_code`` -- the strategy's reason for it (ledger).  ``tag`` -- the strategy's id
  of the signal (cascade id, bar index, zone id), carried into the ledger.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np

__all__ = [
    "SIGNAL_DTYPE", "ENTRY_LIMIT", "ENTRY_MARKET", "SKIP_NONE", "SKIP_MIXED", "NEVER", "ParamSpec",
    "Strategy", "empty_signals", "sort_signals",
]

SIGNAL_DTYPE = np.dtype([
    ("ts_ns", "i8"),
    ("ev_idx", "i8"),
    ("symbol_id", "i4"),
    ("direction", "i1"),
    ("entry", "i1"),
    ("skip_code", "i2"),
    ("confidence", "f8"),
    ("size_mult", "f8"),
    ("offset", "f8"),
    ("take_profit", "f8"),
    ("stop_loss", "f8"),
    ("trail", "f8"),
    ("stop_price", "f8"),
    ("max_hold_ns", "i8"),
    ("entry_timeout_ns", "i8"),
    ("exit_ns", "i8"),
    ("exit_code", "i2"),
    ("tag", "i8"),
])

ENTRY_LIMIT = 0
ENTRY_MARKET = 1
SKIP_NONE = 0
SKIP_MIXED = 1
NEVER = np.iinfo(np.int64).max  # exit_ns of a signal without a signal exit
USE_PARAM = -1  # max_hold_ns / entry_timeout_ns: the run's parameter


def empty_signals(n: int = 0) -> np.ndarray:
    """``n`` signals with every field at its "use the run's parameters" value: long, limit entry,
    confidence 1, size multiplier 1, NaN fractions, no trail, no stop price, max hold and entry
    timeout from the parameters, no signal exit, ``ev_idx`` -1, tag -1."""
    s = np.zeros(n, dtype=SIGNAL_DTYPE)
    s["ev_idx"] = -1
    s["direction"] = 1
    s["entry"] = ENTRY_LIMIT
    s["confidence"] = 1.0
    s["size_mult"] = 1.0
    for f in ("offset", "take_profit", "stop_loss", "stop_price"):
        s[f] = np.nan
    s["trail"] = 0.0
    s["max_hold_ns"] = USE_PARAM
    s["entry_timeout_ns"] = USE_PARAM
    s["exit_ns"] = NEVER
    s["tag"] = -1
    return s


def sort_signals(signals: np.ndarray) -> np.ndarray:
    """Signals in processing order: by ``ts_ns``, then ``ev_idx``, then descending ``confidence``
    (stable: equal keys keep the strategy's order).  Validates the dtype and the fields' ranges."""
    sig = np.asarray(signals)
    if sig.dtype != SIGNAL_DTYPE or sig.ndim != 1:
        raise ValueError("signals: expected a 1-D numpy array of liqcore.strategies.SIGNAL_DTYPE")
    if len(sig):
        bad = ~np.isin(sig["direction"], (-1, 0, 1))
        if bad.any():
            raise ValueError(f"signals: direction must be -1, 0 or +1; got {int(sig['direction'][bad][0])}")
        if not np.isin(sig["entry"], (ENTRY_LIMIT, ENTRY_MARKET)).all():
            raise ValueError("signals: entry must be ENTRY_LIMIT (0) or ENTRY_MARKET (1)")
        conf = sig["confidence"]
        if not (np.isfinite(conf) & (conf >= 0) & (conf <= 1)).all():
            raise ValueError("signals: confidence must be within [0, 1]")
        m = sig["size_mult"]
        if not (np.isfinite(m) & (m > 0)).all():
            raise ValueError("signals: size_mult must be a positive finite number")
        for f in ("offset", "take_profit", "stop_loss", "trail"):
            v = sig[f]
            if ((v < 0) | np.isinf(v)).any():
                raise ValueError(f"signals: {f} must be a non-negative fraction or NaN")
        sp = sig["stop_price"]
        if (~np.isnan(sp) & ~((sp > 0) & np.isfinite(sp))).any():
            raise ValueError("signals: stop_price must be a positive price or NaN")
        for f in ("max_hold_ns", "entry_timeout_ns"):
            if (sig[f] < USE_PARAM).any():
                raise ValueError(f"signals: {f} must be >= 0 or -1 (the run's parameter)")
    order = np.lexsort((-sig["confidence"], sig["ev_idx"], sig["ts_ns"]))
    return np.ascontiguousarray(sig[order])


@dataclass(frozen=True)
class ParamSpec:
    """A strategy's own parameter in the one vocabulary: ``--name`` on the command line, ``name``
    with ``_`` for ``-`` in TOML, ``params.<field>`` in Python (durations: ``<name>_ns``)."""

    name: str  # dashed CLI name, e.g. "min-notional"
    default: Any
    parse: Callable[[Any, str], Any]  # e.g. liqcore.config.parse_fraction / parse_duration
    help: str
    metavar: str = ""

    @property
    def field(self) -> str:
        from liqcore.config import parse_duration

        f = self.name.replace("-", "_")
        return f + "_ns" if self.parse is parse_duration else f

    def default_value(self) -> Any:
        return None if self.default is None else self.parse(self.default, self.name)

    def format(self, value: Any) -> str:
        from liqcore.config import format_duration, parse_duration, parse_fraction

        if value is None:
            return "none"
        if self.parse is parse_duration:
            return format_duration(value)
        if self.parse is parse_fraction and isinstance(value, float):
            return f"{value * 100:.4g}%"
        return str(value)


class Strategy:
    """Base class of a strategy (signals only; the execution model fills them).

    Subclasses set:

    * ``name`` -- the ``--strategy`` value;
    * ``PARAMS`` -- their own :class:`ParamSpec` s (added to the one vocabulary of parameters);
    * ``DEFAULTS`` -- the strategy's defaults for shared parameters (field -> value in the parsed
      form, e.g. ``{"stop_loss": 0.01, "hold_timeout_ns": 600_000_000_000}``), applied unless the user
      set the parameter;
    * ``needs`` -- the event kinds the strategy requires (``"liquidation"``, ``"trade"``, ``"funding"``);
    * ``uses_detector`` -- True when :meth:`signals` reads the cascade detector's records;
    * ``SKIP_CODES`` / ``EXIT_CODES`` -- names of their strategy-specific codes (>= 100) for reports;

    and implement :meth:`signals`.
    """

    name: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = ()
    DEFAULTS: ClassVar[dict[str, Any]] = {}
    needs: ClassVar[frozenset] = frozenset({"trade"})
    uses_detector: ClassVar[bool] = False
    SKIP_CODES: ClassVar[dict[int, str]] = {}
    EXIT_CODES: ClassVar[dict[int, str]] = {}

    # ---- parameters ---------------------------------------------------------------------------------
    @classmethod
    def param_spec(cls, key: str) -> ParamSpec | None:
        k = str(key)
        for s in cls.PARAMS:
            if k in (s.name, s.name.replace("-", "_"), s.field):
                return s
        return None

    @classmethod
    def resolve(cls, params):
        """``params`` with this strategy selected and its ``DEFAULTS`` applied to the shared
        parameters the user did not set.  Raises ValueError for a parameter that belongs to another
        strategy."""
        from liqcore.config import Params

        if not isinstance(params, Params):
            raise ValueError(f"params: expected liqcore.Params; got {type(params).__name__}")
        import dataclasses

        from liqcore.strategies import is_registered

        cls.check(params)
        out = params
        if out.strategy != cls.name and is_registered(cls):  # a user's unregistered strategy keeps the name
            out = dataclasses.replace(out, strategy=cls.name)
        changes = {k: v for k, v in cls.DEFAULTS.items() if k not in params.explicit}
        if changes:
            out = dataclasses.replace(out, **changes)
        return out

    @classmethod
    def check(cls, params) -> None:
        """A strategy parameter set in ``params`` that this strategy does not have is an error naming
        the strategy (or strategies) it belongs to."""
        from liqcore.strategies import owners_of

        for fld, _ in params.strategy_values:
            if cls.param_spec(fld) is None:
                spec_owners = owners_of(fld)
                name = fld
                for o in spec_owners:
                    s = o.param_spec(fld)
                    if s is not None:
                        name = s.name
                        break
                where = ", ".join(o.name for o in spec_owners) or "no strategy"
                raise ValueError(f"{name}: a parameter of strategy {where}, not of {cls.name}")

    @classmethod
    def value(cls, params, name: str) -> Any:
        """The value of this strategy's parameter ``name`` in ``params`` (the default when unset)."""
        spec = cls.param_spec(name)
        if spec is None:
            raise ValueError(f"{name}: not a parameter of strategy {cls.name}")
        for fld, v in params.strategy_values:
            if fld == spec.field:
                return v
        return spec.default_value()

    @classmethod
    def describe_params(cls, params) -> dict[str, str]:
        """Human-readable values of this strategy's parameters, keyed by CLI name."""
        return {s.name: s.format(cls.value(params, s.name)) for s in cls.PARAMS}

    # ---- inputs -------------------------------------------------------------------------------------
    @classmethod
    def check_inputs(cls, kinds_present: set[str]) -> None:
        """Raise ValueError naming the input kinds this strategy needs and the data lacks."""
        missing = sorted(set(cls.needs) - set(kinds_present))
        if missing:
            raise ValueError(f"strategy {cls.name}: the data has no {', '.join(missing)} events, "
                             f"which this strategy needs")

    # ---- signals ------------------------------------------------------------------------------------
    def signals(self, events: np.ndarray, params, registry, records: np.ndarray | None = None) -> np.ndarray:
        """Signals (SIGNAL_DTYPE) from ``events`` (EVENT_DTYPE, sorted by (ts_recv, input order)) and,
        for strategies that use the detector, its CASCADE_DTYPE ``records`` on those events.
        Strictly point-in-time: a signal at ``ts_ns`` uses only events with ``ts_recv <= ts_ns``."""
        raise NotImplementedError

    def inputs(self, signal) -> dict:
        """The feature values that triggered ``signal`` (for the ledger); empty by default."""
        return {}

    def skip_name(self, code: int) -> str:
        if code == SKIP_MIXED:
            return "mixed"
        return self.SKIP_CODES.get(int(code), f"skip_{int(code)}")

    def exit_name(self, code: int) -> str:
        return self.EXIT_CODES.get(int(code), f"exit_{int(code)}")


def finite_or(x: float, default: float) -> float:
    return default if x is None or not math.isfinite(x) else float(x)
