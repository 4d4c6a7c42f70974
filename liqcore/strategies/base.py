"""The base class of a strategy (:class:`Strategy`), its parameters (:class:`ParamSpec`) and its
streaming form (:class:`SignalStream`).

The signal contract (:data:`SIGNAL_DTYPE`, the entry / skip codes, :func:`empty_signals`,
:func:`exit_notices`, :func:`sort_signals`) lives in :mod:`liqcore.signals`; its names are
re-exported here, the old import path, so ``from liqcore.strategies.base import SIGNAL_DTYPE`` keeps
working.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np

from liqcore.units import parse_bool, parse_number, parse_whole
from liqcore.signals import (  # noqa: F401  (the signal contract, re-exported: the old import path)
    ENTRY_LIMIT,
    ENTRY_MARKET,
    NEVER,
    SIGNAL_DTYPE,
    SKIP_EXIT,
    SKIP_MIXED,
    SKIP_NONE,
    USE_PARAM,
    empty_signals,
    exit_notices,
    processing_order,
    sort_signals,
)

__all__ = [
    "SIGNAL_DTYPE", "ENTRY_LIMIT", "ENTRY_MARKET", "SKIP_NONE", "SKIP_MIXED", "SKIP_EXIT", "NEVER", "ParamSpec",
    "Strategy", "SignalStream", "READS_ALL", "READS_LIQUIDATIONS", "READS_WINDOWS", "empty_signals", "sort_signals", "exit_notices",
]

#: what a strategy reads of a dataset (:attr:`Strategy.reads`): every event
READS_ALL = "all"
#: liquidations only (and the other rare kinds: marks, funding, gaps), never a trade or a quote
READS_LIQUIDATIONS = "liquidations"
#: liquidations for its signals, trades only in each signal's window (:meth:`Strategy.window_ns`)
READS_WINDOWS = "windows"


def _parse_str(value: Any, name: str) -> str:
    return str(value)


#: plain types given as a parameter's parser become these (same object for the same type)
_TYPE_PARSERS = {float: parse_number, int: parse_whole, bool: parse_bool, str: _parse_str}


@dataclass(frozen=True)
class ParamSpec:
    """A strategy's own parameter in the one vocabulary: ``--name`` on the command line, ``name``
    with ``_`` for ``-`` in TOML, ``params.<field>`` in Python (durations: ``<name>_ns``).

    ``parse(raw, name)`` turns a raw value (a flag's string, a TOML value, a Python value) into the
    parameter's value and raises ValueError naming the parameter on bad input; the plain types
    ``float``, ``int``, ``bool`` and ``str`` are accepted as parsers too."""

    name: str  # dashed CLI name, e.g. "min-notional"
    default: Any
    parse: Callable[[Any, str], Any]  # e.g. liqcore.units.parse_fraction / parse_duration, or float
    help: str = ""
    metavar: str = ""

    def __post_init__(self):
        name = str(self.name).strip().replace("_", "-")
        if not name or not all(c.isalnum() or c == "-" for c in name):
            raise ValueError(f"ParamSpec: a parameter name like 'min-notional'; got {self.name!r}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "parse", _TYPE_PARSERS.get(self.parse, self.parse))
        if not callable(self.parse):
            raise ValueError(f"ParamSpec {name}: parse must be callable")


    @property
    def field(self) -> str:
        from liqcore.units import parse_duration

        f = self.name.replace("-", "_")
        return f + "_ns" if self.parse is parse_duration else f

    def default_value(self) -> Any:
        return None if self.default is None else self.parse(self.default, self.name)

    def format(self, value: Any) -> str:
        from liqcore.units import format_duration, parse_duration, parse_fraction

        if value is None:
            return "none"
        if self.parse is parse_duration:
            return format_duration(value)
        if (self.parse is parse_fraction or getattr(self.parse, "is_fraction", False)) and isinstance(value, float):
            return f"{value * 100:.4g}%"
        return str(value)


def as_spec(x: Any) -> ParamSpec:
    """A :class:`ParamSpec` from a spec, a ``(name, default, parse, help[, metavar])`` tuple or a
    mapping with those keys (``type`` is accepted for ``parse``)."""
    if isinstance(x, ParamSpec):
        return x
    if isinstance(x, (tuple, list)):
        return ParamSpec(*x)
    if isinstance(x, dict):
        d = dict(x)
        if "type" in d and "parse" not in d:
            d["parse"] = d.pop("type")
        return ParamSpec(**d)
    raise ValueError(f"PARAMS: expected ParamSpec entries; got {x!r}")


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
    * ``reads`` -- what a dataset backtest must read for it: :data:`READS_ALL` (every event: signals
      from continuous features; the default), :data:`READS_LIQUIDATIONS` (liquidations only, e.g.
      detection) or :data:`READS_WINDOWS` (liquidations for the signals, then trades only inside each
      signal's window, :meth:`window_ns`);
    * ``SKIP_CODES`` / ``EXIT_CODES`` -- names of their strategy-specific codes (>= 100) for reports;

    and implement :meth:`signals`.
    """

    name: ClassVar[str] = ""
    PARAMS: ClassVar[tuple[ParamSpec, ...]] = ()
    DEFAULTS: ClassVar[dict[str, Any]] = {}
    needs: ClassVar[frozenset] = frozenset({"trade"})
    uses_detector: ClassVar[bool] = False
    reads: ClassVar[str] = "all"
    SKIP_CODES: ClassVar[dict[int, str]] = {}
    EXIT_CODES: ClassVar[dict[int, str]] = {}

    # ---- parameters ---------------------------------------------------------------------------------
    @classmethod
    def window_ns(cls, params) -> tuple[int, int]:
        """For a :data:`READS_WINDOWS` strategy: ``(before, after)`` in ns, the events a signal at ``t``
        can depend on lie in ``[t - before, t + after)``: ``before`` covers the reference trade its
        entry prices from (``max-ref-age``), ``after`` its last possible exit -- the order latency
        to place, the entry timeout, the hold timeout, the order latency to exit, plus one second.  A
        backtest still reads on past ``after`` while a position or order is live (the bound is a
        plan, never a cut)."""
        lat = int(getattr(params, "order_latency_ns", 0) or 0)
        before = int(getattr(params, "max_ref_age_ns", 0) or 0) + 1
        after = 2 * lat + int(getattr(params, "entry_timeout_ns", 0) or 0) \
            + int(getattr(params, "hold_timeout_ns", 0) or 0) + 1_000_000_000
        return before, after

    @classmethod
    def specs(cls) -> tuple[ParamSpec, ...]:
        """The strategy's parameter specs (tuple / mapping entries of PARAMS normalised)."""
        return tuple(as_spec(p) for p in cls.PARAMS)

    @classmethod
    def param_spec(cls, key: str) -> ParamSpec | None:
        k = str(key)
        for s in cls.specs():
            if k in (s.name, s.name.replace("-", "_"), s.field):
                return s
        return None

    @classmethod
    def resolve(cls, params):
        """``params`` with this strategy selected and its ``DEFAULTS`` applied to the shared
        parameters the user did not set.  Raises ValueError for a parameter that belongs to another
        strategy."""
        from liqcore.params import Params

        if not isinstance(params, Params):
            raise ValueError(f"params: expected liqcore.Params; got {type(params).__name__}")
        import dataclasses

        from liqcore.params import strategy_registry

        cls.check(params)
        out = params
        if out.strategy != cls.name and strategy_registry().is_registered(cls):  # a user's unregistered strategy keeps the name
            out = dataclasses.replace(out, strategy=cls.name)
        changes = {k: v for k, v in cls.DEFAULTS.items() if k not in params.explicit}
        if changes:
            out = dataclasses.replace(out, **changes)
        return out

    @classmethod
    def check(cls, params) -> None:
        """A strategy parameter set in ``params`` that this strategy does not have is an error naming
        the strategy (or strategies) it belongs to."""
        from liqcore.params import strategy_registry

        owners_of = strategy_registry().owners_of

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
        return {s.name: s.format(cls.value(params, s.name)) for s in cls.specs()}

    # ---- inputs -------------------------------------------------------------------------------------
    @classmethod
    def needs_for(cls, params=None) -> frozenset:
        """The input kinds this strategy needs with ``params`` (a rule that reads an input may be
        switched off); :attr:`needs` when ``params`` is None."""
        return frozenset(cls.needs)

    @classmethod
    def check_inputs(cls, kinds_present: set[str], params=None) -> None:
        """Raise ValueError naming the input kinds this strategy needs (with ``params``) and the data lacks."""
        missing = sorted(set(cls.needs_for(params)) - set(kinds_present))
        if missing:
            raise ValueError(f"strategy {cls.name}: the data has no {', '.join(missing)} events, "
                             f"which this strategy needs")

    # ---- a run without a decision ----------------------------------------------------------------
    def why_no_decision(self, res) -> str | None:
        """Why a run (``res``: a :class:`liqcore.backtest.run.BacktestResult` of this strategy) took no decision, in
        words with the numbers that decided it, or None when this strategy cannot tell.  A strategy on the
        detector: when the detector confirmed no cascade, its counts against its threshold's history."""
        counts = getattr(res, "detector_counts", None) or {}
        if not type(self).uses_detector or counts.get("cascades", 1) != 0:
            return None
        p = res.params
        why = (f"the detector confirmed no cascade: {int(counts.get('liquidations', 0)):,} liquidations, "
               f"{int(counts.get('large', 0)):,} of them large (above the {p.quantile:g} quantile of the symbol's "
               f"last {p.history:,} liquidations, once {p.min_history:,} are known)")
        ev = getattr(res, "events", None)
        if ev is not None and len(ev):
            liq = ev["symbol_id"][ev["kind"] == 1]
            if len(liq):
                per = np.bincount(liq[liq >= 0])
                top = int(per.argmax())
                if int(per[top]) < p.min_history:
                    why += (f"; no symbol has that history: the most is {int(per[top]):,} liquidations "
                            f"({res.registry.symbol(top)}), --min-history lowers it")
        return why

    # ---- signals ------------------------------------------------------------------------------------
    def signals(self, events: np.ndarray, params, registry, records: np.ndarray | None = None) -> np.ndarray:
        """Signals (SIGNAL_DTYPE) from ``events`` (EVENT_DTYPE, sorted by (ts_recv, input order)) and,
        for strategies that use the detector, its CASCADE_DTYPE ``records`` on those events.
        Strictly point-in-time: a signal at ``ts_ns`` uses only events with ``ts_recv <= ts_ns``."""
        raise NotImplementedError

    def inputs(self, signal) -> dict:
        """The feature values that triggered ``signal`` (for the ledger); empty by default."""
        return {}

    def stream(self, params, registry) -> "SignalStream":
        """The streaming form of the strategy (live and paper trading): one :class:`SignalStream`
        for all symbols, fed every event in receive order.  On a recording it yields exactly the
        rows of :meth:`signals`, except that exits decided after a signal come as exit notices
        (see :class:`SignalStream`).  Strategies without a streaming form raise ValueError."""
        raise ValueError(f"strategy {self.name or type(self).__name__}: has no streaming form "
                         "(implement Strategy.stream returning a SignalStream)")

    def skip_name(self, code: int) -> str:
        if code == SKIP_MIXED:
            return "mixed"
        if code == 3:  # liqcore.signals.SKIP_AVOID
            return "avoid"
        return self.SKIP_CODES.get(int(code), f"skip_{int(code)}")

    def exit_name(self, code: int) -> str:
        return self.EXIT_CODES.get(int(code), f"exit_{int(code)}")


def finite_or(x: float, default: float) -> float:
    return default if x is None or not math.isfinite(x) else float(x)


_NO_SIGNALS = np.zeros(0, dtype=SIGNAL_DTYPE)
_NO_SIGNALS.flags.writeable = False


class SignalStream:
    """The streaming form of a strategy: the same rules as its batch :meth:`Strategy.signals`, one
    event at a time (``Strategy.stream(params, registry)`` makes one for all symbols).

    * ``uses_detector`` -- True: the caller passes the cascade detector's records of each event
      (CASCADE_DTYPE rows the detector emitted while processing it) to :meth:`on_event`.  Records
      the detector emits between events (``tick`` / ``gap`` on a quiet feed) go with the next
      event's call, before that event's own records: they happened before it.
    * :meth:`on_event` ``(ev, records=()) -> (before, after)``: ``ev`` is one EVENT_DTYPE row, in
      receive-time order.  ``before`` = signals decided at times before ``ev["ts_recv"]`` that this
      event reveals (bar closes, delayed decisions, exits at a window's expiry): hand them to the
      execution model BEFORE the event; ``after`` = signals decided at this event (``ts_ns`` =
      ``ev["ts_recv"]``): hand them over AFTER it.  Both are SIGNAL_DTYPE arrays, usually empty.
    * ``ev_idx`` of a streamed row is the running event counter: the number of events seen before
      it (minus 1 for ``before`` rows), so that on a recording the rows equal the batch rows.
    * Signals carry ``exit_ns`` = :data:`NEVER`; when a signal's exit condition becomes true the
      stream emits an **exit notice** (direction 0, ``skip_code`` :data:`SKIP_EXIT`, the signal's
      ``tag`` and ``exit_code``, ``ts_ns`` = that time) -- the batch ``exit_ns`` of the signal.
    * :meth:`on_clock` ``(ts_ns)``: signals decided at times ``<= ts_ns`` that no event revealed yet
      (bar closes on a quiet feed); a later event never emits them again.
    * Within one returned array, rows are in processing order (time, event index, exit notices
      before entries, then descending confidence).

    A decision at a time equal to the last event's receive time is revealed by the next event or by
    :meth:`on_clock`; a recording that ends exactly on a bar close therefore needs one
    ``on_clock(last ts_recv)`` to give that close.
    """

    uses_detector: bool = False

    def __init__(self, strategy, params, registry):
        self.strategy = strategy
        self.params = params
        self.registry = registry
        self.n = 0  # events seen

    # ---- the interface --------------------------------------------------------------------------
    def on_event(self, ev, records=()) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def on_clock(self, ts_ns: int) -> np.ndarray:
        return _NO_SIGNALS

    def snapshot(self) -> dict:
        raise ValueError(f"{type(self).__name__}: no snapshot (restart the stream from a warm-up feed instead)")

    def restore(self, state: dict) -> None:
        raise ValueError(f"{type(self).__name__}: no restore (restart the stream from a warm-up feed instead)")

    # ---- helpers --------------------------------------------------------------------------------
    @staticmethod
    def empty() -> np.ndarray:
        return _NO_SIGNALS

    @staticmethod
    def pack(rows: list) -> np.ndarray:
        """SIGNAL_DTYPE rows (arrays) -> one array in processing order (see the class docstring)."""
        rows = [r for r in rows if len(r)]
        if not rows:
            return _NO_SIGNALS
        out = rows[0] if len(rows) == 1 else np.concatenate(rows)
        if len(out) > 1:
            out = out[processing_order(out)]
        return out
