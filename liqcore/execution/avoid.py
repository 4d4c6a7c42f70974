"""The trading guide's "avoid" rules as one decision-time gate, the same in backtest, paper and live:
no new entry on weekends (``avoid-weekends``), around scheduled news (``news-calendar``, from
``news-before`` to ``news-after`` around each time) or inside exchange maintenance windows
(``maintenance-calendar``).  Positions already open keep their exits.

The details: docs/maintainers/strategies.md, "The avoid rules, as applied".

May import: ``numpy`` and ``signals``.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np

from liqcore.signals import SKIP_AVOID

__all__ = ["Avoid", "read_calendar", "avoid_signals", "avoid_records"]

NS_PER_DAY = 86_400_000_000_000


def _time_ns(text: str, where: str) -> int:
    t = text.strip()
    try:
        d = _dt.datetime.fromisoformat(t.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{where}: cannot read {t!r} as a UTC time (expected e.g. 2026-01-28T19:00Z)") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.timezone.utc)
    return int(round(d.timestamp() * 1e6)) * 1000


def read_calendar(path, *, windows: bool, name: str) -> list[tuple[int, int, str]]:
    """``(start_ns, end_ns, label)`` per entry of the calendar file at ``path``; ``windows``: each line is
    ``START END [label]`` (else ``TIME [label]``, returned with start = end = the time)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{name}: cannot read {path} ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{name}: {path} is not a text file") from None
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        where = f"{name}: {path} line {i}"
        if windows:
            if len(parts) < 2:
                raise ValueError(f"{where}: expected START END [label]; got {line!r}")
            a, b = _time_ns(parts[0], where), _time_ns(parts[1], where)
            if b <= a:
                raise ValueError(f"{where}: the window ends before it starts")
            out.append((a, b, " ".join(parts[2:])))
        else:
            t = _time_ns(parts[0], where)
            out.append((t, t, " ".join(parts[1:])))
    return out


class Avoid:
    """The avoided times: weekends (UTC Saturday and Sunday) and half-open windows ``[start, end)``."""

    def __init__(self, weekends: bool = False, windows=()):
        self.weekends = bool(weekends)
        w = sorted((int(a), int(b), str(lbl)) for a, b, lbl in windows)
        self.windows = w
        self.starts = np.array([a for a, _, _ in w], dtype=np.int64)
        self.ends = np.array([b for _, b, _ in w], dtype=np.int64)
        # the running maximum of the ends: a time is inside some window iff the latest window starting at or
        # before it ends after it
        self._maxend = np.maximum.accumulate(self.ends) if len(w) else self.ends

    @classmethod
    def from_params(cls, params) -> "Avoid | None":
        """The gate of ``params`` (``avoid-weekends``, ``news-calendar`` with ``news-before`` /
        ``news-after``, ``maintenance-calendar``), or None when nothing is avoided."""
        wins = []
        news = getattr(params, "news_calendar", None)
        if news:
            before, after = int(params.news_before_ns), int(params.news_after_ns)
            wins += [(t - before, t + after, f"news {lbl}".strip()) for t, _, lbl in
                     read_calendar(news, windows=False, name="news-calendar")]
        maint = getattr(params, "maintenance_calendar", None)
        if maint:
            wins += [(a, b, f"maintenance {lbl}".strip()) for a, b, lbl in
                     read_calendar(maint, windows=True, name="maintenance-calendar")]
        weekends = bool(getattr(params, "avoid_weekends", False))
        if not weekends and not wins:
            return None
        return cls(weekends, wins)

    def mask(self, ts_ns) -> np.ndarray:
        """True where a decision at ``ts_ns`` (array) falls in an avoided time."""
        t = np.asarray(ts_ns, dtype=np.int64)
        out = np.zeros(t.shape, dtype=bool)
        if self.weekends:
            out |= ((t // NS_PER_DAY) + 3) % 7 >= 5  # 1970-01-01 was a Thursday (Monday = 0)
        if len(self.starts):
            k = np.searchsorted(self.starts, t, side="right") - 1
            ok = k >= 0
            out[ok] |= self._maxend[k[ok]] > t[ok]
        return out

    def why(self, ts_ns: int) -> str | None:
        """The reason a decision at ``ts_ns`` is avoided (``weekend``, ``news FOMC``, ``maintenance``), or None."""
        t = int(ts_ns)
        if self.weekends and ((t // NS_PER_DAY) + 3) % 7 >= 5:
            return "weekend"
        for a, b, lbl in self.windows:
            if a <= t < b:
                return lbl
            if a > t:
                break
        return None


def avoid_signals(signals: np.ndarray, params) -> np.ndarray:
    """The entry signals (direction != 0) decided in an avoided time turned into skips (direction 0,
    ``skip_code`` :data:`SKIP_AVOID`); exit notices and skips unchanged.  Returns ``signals`` itself when
    nothing is avoided, else a copy."""
    rule = Avoid.from_params(params)
    if rule is None or not len(signals):
        return signals
    hit = (signals["direction"] != 0) & rule.mask(signals["ts_ns"])
    if not hit.any():
        return signals
    out = signals.copy()
    out["direction"][hit] = 0
    out["skip_code"][hit] = SKIP_AVOID
    return out


def avoid_records(records: np.ndarray, params) -> np.ndarray:
    """The cascade records without the CONFIRMED ones decided (``confirm_recv_ns``) in an avoided time."""
    rule = Avoid.from_params(params)
    if rule is None or not len(records):
        return records
    drop = (records["record"] == 1) & rule.mask(records["confirm_recv_ns"])
    return records[~drop] if drop.any() else records
