"""The signal contract: what a strategy hands to the execution model (numpy only).

A strategy turns point-in-time inputs (events by receive time, the cascade detector's records,
feature values as they stood) into **signals**: rows of :data:`SIGNAL_DTYPE`.  It never fills orders:
the one execution model (:mod:`liqcore.execution` over the Numba kernel in :mod:`liqcore._jit.sim`)
turns signals into orders, fills and trades, in backtest and paper trading alike.  The rules of that
model are in the strategies page of the documentation.

This module is the floor of the strategy layer: it imports numpy only, so the kernels, the execution
front, the feature store and the strategies can all import it.  A new field or code of the contract
goes here (and the Numba kernel, which imports the codes from here, follows).

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
* ``latency_ns`` -- the order latency of this signal's orders (its entry's arrival at the venue and
  its signal exit), drawn from a measured distribution (``order-latency-from``); 0 = the run's
  ``order-latency``.

**Exit notices** (the streaming form, :class:`liqcore.strategies.SignalStream`): a stream cannot know a signal's exit
time when it emits the signal, so its signals carry ``exit_ns`` = :data:`NEVER` and the stream emits,
when the exit condition becomes true, a row with direction 0, ``skip_code`` :data:`SKIP_EXIT`, the
``tag`` of the signal whose position must close, ``exit_code`` and ``ts_ns`` = that time.  The
execution model treats it exactly as the signal's own ``exit_ns`` = ``ts_ns``: close at the first
print at/after ``ts_ns + order-latency`` (taker, reason ``signal_exit``).  A notice is not a decision
(nothing is counted); a notice for a signal that holds no entry or position changes nothing.
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

ENTRY_LIMIT = 0
ENTRY_MARKET = 1
SKIP_NONE = 0
SKIP_MIXED = 1
SKIP_EXIT = 2  # an exit notice (direction 0): close the position of the signal with this tag
SKIP_AVOID = 3  # an entry inside an avoided time (weekend, news or maintenance window): not traded
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
