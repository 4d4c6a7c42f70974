"""The signal contract: what a strategy hands to the execution model (numpy only).

A strategy turns point-in-time inputs into rows of :data:`SIGNAL_DTYPE`; the one execution model
(``execution`` over ``_jit.sim``) fills them.  The fields, their "use the run's parameter" values and
the exit notices of streaming strategies: docs/reference/execution-model.md, "Signals" and docs/maintainers/strategies.md,
"The signal contract, field by field".

The floor of the strategy layer: it imports numpy only, so the kernels, the execution front, the
features and the strategies can import it.  A new field or code of the contract goes here (the Numba
kernel imports the codes from here).
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "SIGNAL_DTYPE", "ENTRY_LIMIT", "ENTRY_MARKET", "SKIP_NONE", "SKIP_MIXED", "SKIP_EXIT", "NEVER", "USE_PARAM",
    "empty_signals", "sort_signals", "exit_notices", "processing_order",
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
    ("latency_ns", "i8"),
])
"""The signal contract: one row per signal a strategy emits, what the execution model fills.  ``ts_ns`` (the
decision time, int64 ns) and ``ev_idx`` (the index of the event it was decided on), ``symbol_id``,
``direction`` (+1 long, -1 short, 0 none), ``entry`` (:data:`ENTRY_LIMIT` or :data:`ENTRY_MARKET`),
``skip_code`` (:data:`SKIP_NONE`, :data:`SKIP_MIXED`, :data:`SKIP_EXIT`, ...); per-signal overrides of the run's
parameters, NaN or :data:`USE_PARAM` meaning "the run's": ``offset``, ``take_profit``, ``stop_loss``,
``trail`` (fractions of price), ``stop_price``, ``max_hold_ns``, ``entry_timeout_ns``; ``exit_ns`` (a
signal exit's time, :data:`NEVER` for none) and ``exit_code``; ``confidence``, ``size_mult``, ``tag`` and
``latency_ns``.  :func:`empty_signals` makes rows with every field at its neutral value."""

ENTRY_LIMIT = 0
"""A signal's ``entry``: a post-only limit order at the signal's offset from the reference price."""
ENTRY_MARKET = 1
"""A signal's ``entry``: a market order (taker fee, slippage)."""
SKIP_NONE = 0
"""A signal's ``skip_code``: a signal to trade."""
SKIP_MIXED = 1
"""A signal's ``skip_code``: no dominant side (direction 0), counted as ``mixed`` and not traded."""
SKIP_EXIT = 2  # an exit notice (direction 0): close the position of the signal with this tag
"""A signal's ``skip_code``: an exit notice (direction 0), closing the position of the signal with its ``tag``."""
SKIP_AVOID = 3  # an entry inside an avoided time (weekend, news or maintenance window): not traded
NEVER = np.iinfo(np.int64).max  # exit_ns of a signal without a signal exit
"""A signal's ``exit_ns`` when the strategy sets no exit time of its own (the largest int64)."""
USE_PARAM = -1  # max_hold_ns / entry_timeout_ns: the run's parameter
"""A signal's ``max_hold_ns`` or ``entry_timeout_ns``: use the run's parameter."""


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


def exit_notices(ts_ns, ev_idx, symbol_id, tag, exit_code) -> np.ndarray:
    """Exit notices (see the module's docstring): one per element of the (broadcast) arguments."""
    ts = np.atleast_1d(np.asarray(ts_ns, np.int64))
    n = len(ts)
    s = empty_signals(n)
    s["ts_ns"] = ts
    s["ev_idx"] = ev_idx
    s["symbol_id"] = symbol_id
    s["direction"] = 0
    s["entry"] = ENTRY_MARKET
    s["skip_code"] = SKIP_EXIT
    s["tag"] = tag
    s["exit_code"] = exit_code
    return s


def sort_signals(signals: np.ndarray) -> np.ndarray:
    """Signals in processing order: by ``ts_ns``, then ``ev_idx``, exit notices first, then descending
    ``confidence`` (stable: equal keys keep the strategy's order).  Validates the dtype and the fields' ranges."""
    sig = np.asarray(signals)
    if sig.dtype != SIGNAL_DTYPE or sig.ndim != 1:
        raise ValueError("signals: expected a 1-D numpy array of liqcore.strategies.SIGNAL_DTYPE")
    if len(sig):
        if (sig["symbol_id"] < 0).any():
            raise ValueError("signals: symbol_id must be >= 0")
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
    return np.ascontiguousarray(sig[processing_order(sig)])


def processing_order(sig: np.ndarray) -> np.ndarray:
    """The stable order that puts signals in processing order: by ``ts_ns``, then ``ev_idx``, exit
    notices first, then descending ``confidence`` (no validation)."""
    notice = (sig["direction"] == 0) & (sig["skip_code"] == SKIP_EXIT)
    return np.lexsort((-sig["confidence"], ~notice, sig["ev_idx"], sig["ts_ns"]))
