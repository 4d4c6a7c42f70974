"""What the feature store takes, checked: feature names, query times, lookbacks, and the finish of a computed
column (its value NaN wherever its reason is not ``OK``).  Used by :mod:`liqcore.features.store` and the live
store; each error names the argument.

May import: numpy and ``_extras`` (pandas for ISO-8601 times).
"""
from __future__ import annotations

import math

import numpy as np

from liqcore._extras import need

__all__ = ["names_list", "parse_times", "check_lookback", "regular_step", "finish"]


def finish(v: np.ndarray, r: np.ndarray):
    """``(values, reasons)``: the values NaN wherever the reason is not 0 (``OK``)."""
    v = np.asarray(v, dtype=np.float64).copy()
    v[r != 0] = np.nan
    return v, np.asarray(r, dtype=np.uint8)


def regular_step(t: np.ndarray) -> int | None:
    """The step of ``t`` when it is a strictly increasing regular grid (or a single time)."""
    if len(t) == 1:
        return 1_000_000_000
    if len(t) < 2:
        return None
    d = np.diff(t)
    step = int(d[0])
    if step > 0 and bool(np.all(d == step)):
        return step
    return None


def check_lookback(lookback, min_periods) -> tuple[int, int]:
    for nm, v in (("lookback", lookback), ("min_periods", min_periods)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{nm}: must be a positive integer; got {v!r}")
    if min_periods > lookback:
        raise ValueError(f"min_periods: must be <= lookback ({lookback}); got {min_periods}")
    if lookback > 10_000:
        raise ValueError(f"lookback: at most 10000; got {lookback}")
    return int(lookback), int(min_periods)


def names_list(names) -> list[str]:
    if isinstance(names, str):
        names = [n for n in names.split(",")]
    out = [str(n).strip() for n in names if str(n).strip()]
    if not out:
        raise ValueError("names: give at least one feature name (see `liqcore features --list`)")
    return out


#: the times int64 nanoseconds since the epoch hold (the least, -2**63, is pandas' NaT)
_TIME_RANGE = "int64 nanoseconds since the epoch hold: 1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z"


def parse_times(times, name: str = "times") -> np.ndarray:
    """Times as int64 ns: integers (ns since the epoch), ISO-8601 strings, datetimes or pandas
    timestamps; a comma-separated string of those.  ValueError naming ``name`` (the option or argument
    that gave them) and the bad one: not a time, or outside what int64 nanoseconds hold."""
    if isinstance(times, str):
        times = [x for x in times.split(",") if x.strip()]
    if isinstance(times, np.ndarray) and times.dtype.kind == "i":
        return times.astype(np.int64)
    if isinstance(times, np.ndarray) and times.dtype.kind == "u":
        if len(times) and int(times.max()) > np.iinfo(np.int64).max:
            raise ValueError(f"{name}: {int(times.max())} is outside the times {_TIME_RANGE}")
        return times.astype(np.int64)
    if isinstance(times, np.ndarray) and times.dtype.kind == "M":
        return times.astype("datetime64[ns]").astype(np.int64)
    if np.isscalar(times) or hasattr(times, "isoformat"):
        times = [times]
    out = []
    for x in times:
        out.append(_one_time(x, name))
    if not out:
        raise ValueError(f"{name}: give at least one time")
    return np.asarray(out, dtype=np.int64)


def _in_range(t: int, x, name: str) -> int:
    if not -(2**63) <= t < 2**63:
        raise ValueError(f"{name}: {x!r} is outside the times {_TIME_RANGE}")
    return t


def _one_time(x, name: str = "times") -> int:
    if isinstance(x, (bool, np.bool_)):
        raise ValueError(f"{name}: {x!r} is not a time")
    if isinstance(x, (int, np.integer)):
        return _in_range(int(x), x, name)
    if isinstance(x, (float, np.floating)):
        if not math.isfinite(x) or x != int(x):
            raise ValueError(f"{name}: {x!r} is not an integer number of ns")
        return _in_range(int(x), x, name)
    s = str(x).strip()
    if s.lstrip("-").isdigit():
        if len(s.lstrip("-")) > 25:  # (beyond int64 by far: not read as a number at all)
            raise ValueError(f"{name}: {s[:30]!r}... is outside the times {_TIME_RANGE}")
        return _in_range(int(s), s, name)
    pd = need("research", "pandas")

    try:
        ts = pd.Timestamp(s)
    except pd.errors.OutOfBoundsDatetime:
        raise ValueError(f"{name}: {s!r} is outside the times {_TIME_RANGE}") from None
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{name}: {s!r} is neither ISO-8601 (2026-01-05T13:00:00Z) nor ns since the epoch") from None
    if ts is pd.NaT:
        raise ValueError(f"{name}: {s!r} is not a time")
    try:  # (pandas holds a far time at a coarser unit: its nanoseconds overflow)
        if ts.tzinfo is None:
            ts = ts.tz_localize("UTC")
        return int(ts.value)
    except (pd.errors.OutOfBoundsDatetime, OverflowError):
        raise ValueError(f"{name}: {s!r} is outside the times {_TIME_RANGE}") from None
