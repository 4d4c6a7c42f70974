"""Market-wide cascades: cascades confirming on several unrelated instruments at once.

The details: docs/maintainers/research.md, "Market-wide cascades, the rule".

May import: ``numpy``, ``instruments`` and ``types``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liqcore.types import CASCADE_DTYPE, Dominant, RecordKind, dominant_of

__all__ = ["MARKET_WIDE_DTYPE", "market_wide", "market_wide_records", "confirmations", "market_wide_count", "chance_rate",
           "ChanceRate", "DEFAULT_WINDOW_NS", "DEFAULT_MIN_INSTRUMENTS"]

DEFAULT_WINDOW_NS = 60_000_000_000
DEFAULT_MIN_INSTRUMENTS = 3
DAY_NS = 86_400_000_000_000

#: one row per market-wide episode
MARKET_WIDE_DTYPE = np.dtype([
    ("start_ns", "<i8"),  # the first confirmation in the window when the count reached K
    ("confirm_ns", "<i8"),  # the confirmation that brought the count to K: the decision time
    ("end_ns", "<i8"),  # when fewer than K instruments were left in the window (or the input's end)
    ("long_notional", "<f8"),  # liquidated longs' notional (quote units) of the episode's confirmations
    ("short_notional", "<f8"),
    ("n_instruments", "<i4"),  # the most distinct instruments in the window during the episode
    ("n_cascades", "<i4"),  # confirmations in the episode (those in the window when it began, then each later one)
    ("episode_id", "<i4"),
    ("dominant", "i1"),  # Dominant across the market
    ("open_at_end", "i1"),  # 1: the episode was still open at the input's end (end_ns = that end)
])


def _check(window_ns, min_instruments) -> tuple[int, int]:
    W, K = int(window_ns), int(min_instruments)
    if W <= 0:
        raise ValueError(f"market-wide window: must be > 0 ns; got {window_ns!r}")
    if K < 2:
        raise ValueError(f"market-wide: at least 2 instruments make a market-wide cascade; got {min_instruments!r}")
    return W, K


def market_wide(times, groups, long_notional=None, short_notional=None, *, window_ns: int = DEFAULT_WINDOW_NS,
                min_instruments: int = DEFAULT_MIN_INSTRUMENTS, end_ns: int | None = None) -> np.ndarray:
    """Market-wide episodes (:data:`MARKET_WIDE_DTYPE`) from confirmations at ``times`` (ns, any order: taken
    in time order, ties in input order) of instruments ``groups`` (ints: equal = the same contract), with
    their long / short notionals (default 0).  ``end_ns``: the end of the input (default: the last
    confirmation; an episode still open there ends at it, flagged ``open_at_end``)."""
    W, K = _check(window_ns, min_instruments)
    t_all = np.asarray(times, dtype=np.int64)
    g_all = np.asarray(groups, dtype=np.int64)
    n = len(t_all)
    if len(g_all) != n:
        raise ValueError("market-wide: times and groups differ in length")
    ln = np.zeros(n) if long_notional is None else np.asarray(long_notional, dtype=np.float64)
    sn = np.zeros(n) if short_notional is None else np.asarray(short_notional, dtype=np.float64)
    order = np.argsort(t_all, kind="stable")
    out: list[tuple] = []
    last: dict[int, int] = {}  # instrument -> its latest confirmation
    win: list[int] = []  # indices (into order) of the confirmations in (t - W, t]
    w0 = 0
    ep = None  # the open episode: [start, confirm, L, S, n_instruments, n_cascades]

    def kth_last() -> int:
        return sorted(last.values(), reverse=True)[K - 1]

    def close(at: int, open_at_end: int) -> None:
        nonlocal ep
        s, c, L, S, ni, nc = ep
        out.append((s, c, at, L, S, ni, nc, len(out), dominant_of(L, S), open_at_end))
        ep = None

    j = 0
    while j < n:
        t = int(t_all[order[j]])
        k = j + 1
        while k < n and int(t_all[order[k]]) == t:  # confirmations at one time arrive together
            k += 1
        if ep is not None and len(last) >= K:
            e = kth_last() + W
            if e < t:  # every instrument but K-1 left the window before these confirmations
                close(e, 0)
        # the window (t - W, t]
        while w0 < len(win) and int(t_all[order[win[w0]]]) <= t - W:
            w0 += 1
        batch = order[j:k]
        win.extend(range(j, k))
        for i in batch:
            last[int(g_all[i])] = t
        for g in [g for g, x in last.items() if x <= t - W]:
            del last[g]
        cnt = len(last)
        if ep is None:
            if cnt >= K:
                idx = [order[m] for m in win[w0:]]
                ep = [int(t_all[idx[0]]), t, float(ln[idx].sum()), float(sn[idx].sum()), cnt, len(idx)]
        elif cnt < K:  # the K-th instrument left the window at this very time: the episode ended here
            close(t, 0)
        else:
            ep[2] += float(ln[batch].sum())
            ep[3] += float(sn[batch].sum())
            ep[4] = max(ep[4], cnt)
            ep[5] += len(batch)
        j = k
    if ep is not None:
        e = kth_last() + W
        stop = int(t_all[order[-1]]) if end_ns is None else int(end_ns)
        if e <= stop:
            close(e, 0)
        else:
            close(stop, 1)
    res = np.zeros(len(out), dtype=MARKET_WIDE_DTYPE)
    for k, row in enumerate(out):
        res[k] = row
    return res


def _confirmed(records) -> np.ndarray:
    rec = np.asarray(records)
    if rec.dtype != CASCADE_DTYPE:
        raise ValueError("market-wide: expected cascade records (liqcore.types.CASCADE_DTYPE)")
    return rec[rec["record"] == int(RecordKind.CONFIRMED)]


def _groups_of(rec: np.ndarray, registry, table) -> np.ndarray:
    if registry is None:
        return rec["symbol_id"].astype(np.int64)
    from liqcore.instruments import groups

    g, _ = groups(registry, table)
    return g[rec["symbol_id"]]


def confirmations(records, registry=None, table=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CONFIRMED rows of the detector's ``records`` (CASCADE_DTYPE) and, for each, its instrument group
    (each symbol mapped as :func:`market_wide_records` maps it): ``(rows, confirm_recv_ns, groups)``, the input
    :func:`market_wide` and :func:`chance_rate` take."""
    rec = _confirmed(records)
    return rec, rec["confirm_recv_ns"], _groups_of(rec, registry, table)


def market_wide_records(records, registry=None, *, window_ns: int = DEFAULT_WINDOW_NS,
                        min_instruments: int = DEFAULT_MIN_INSTRUMENTS, table=None,
                        end_ns: int | None = None) -> np.ndarray:
    """Market-wide episodes from the cascade detector's records (CASCADE_DTYPE; the CONFIRMED rows are
    used, at their ``confirm_recv_ns``).  ``registry`` (a :class:`liqcore.types.SymbolRegistry`) maps each
    record's symbol to its instrument through ``table`` (default :func:`liqcore.instruments.default_table`);
    without one, each symbol id is its own instrument."""
    rec, times, groups_ = confirmations(records, registry, table)
    return market_wide(times, groups_, rec["long_notional"],
                       rec["short_notional"], window_ns=window_ns, min_instruments=min_instruments, end_ns=end_ns)


def market_wide_count(times, groups, at, *, window_ns: int = DEFAULT_WINDOW_NS) -> np.ndarray:
    """``count(t)`` for every ``t`` of ``at``: distinct instruments with a confirmation in ``(t - W, t]``.
    Each instrument is present on the union of ``[x, x + W)`` over its confirmations ``x``; the count is
    the number of those unions holding ``t``."""
    W = int(window_ns)
    if W <= 0:
        raise ValueError(f"market-wide window: must be > 0 ns; got {window_ns!r}")
    t_all = np.asarray(times, dtype=np.int64)
    g_all = np.asarray(groups, dtype=np.int64)
    at = np.asarray(at, dtype=np.int64)
    if len(t_all) == 0:
        return np.zeros(len(at), dtype=np.int64)
    o = np.lexsort((t_all, g_all))
    t, g = t_all[o], g_all[o]
    # merge each instrument's intervals [x, x + W): a new interval starts where the previous one of the
    # same instrument ended before it
    new = np.ones(len(t), dtype=bool)
    new[1:] = (g[1:] != g[:-1]) | (t[1:] >= t[:-1] + W)
    starts = t[new]
    last_of_run = np.r_[np.flatnonzero(new)[1:] - 1, len(t) - 1]
    ends = t[last_of_run] + W
    starts.sort()
    ends.sort()
    # present at t: started at or before t, not yet ended (end > t)
    return np.searchsorted(starts, at, "right") - np.searchsorted(ends, at, "right")


@dataclass(frozen=True)
class ChanceRate:
    """Market-wide episodes observed against those independent instruments give by chance."""

    observed: int  # episodes in the data
    null_mean: float  # mean episodes over the shifted draws
    low: float  # 2.5th percentile of the draws
    high: float  # 97.5th percentile
    p_value: float  # two-sided: share of draws at least as far from the null mean as the observed
    draws: int
    span_days: int

    @property
    def within(self) -> bool:
        """The observed count lies in the draws' 95 % interval (what independent instruments give)."""
        return self.low <= self.observed <= self.high

    def __str__(self) -> str:
        return (f"market-wide episodes: {self.observed} observed over {self.span_days} d; chance (independent "
                f"instruments, {self.draws} day-shifted draws): mean {self.null_mean:.1f}, 95 % interval "
                f"[{self.low:g}, {self.high:g}], p = {self.p_value:.3f}")


def chance_rate(times, groups, *, start_ns: int, end_ns: int, window_ns: int = DEFAULT_WINDOW_NS,
                min_instruments: int = DEFAULT_MIN_INSTRUMENTS, draws: int = 200, seed: int = 0) -> ChanceRate:
    """The chance rate of market-wide episodes: each instrument's confirmations shifted by its own random
    whole number of days, circularly within ``[start_ns, start_ns + D days)`` (``D`` = the whole days of the
    span; confirmations past them are left out of both counts), ``draws`` times.  The days are dealt without
    repeats while they last (instruments beyond ``D`` start another round), so no two instruments keep their
    alignment unless there are more of them than days."""
    W, K = _check(window_ns, min_instruments)
    days = (int(end_ns) - int(start_ns)) // DAY_NS
    if days < 2:
        raise ValueError("market-wide chance rate: needs a span of at least 2 whole days")
    t = np.asarray(times, dtype=np.int64)
    g = np.asarray(groups, dtype=np.int64)
    span = days * DAY_NS
    keep = (t >= start_ns) & (t < start_ns + span)
    t, g = t[keep] - int(start_ns), g[keep]
    observed = len(market_wide(t, g, window_ns=W, min_instruments=K))
    rng = np.random.default_rng(seed)
    uniq, inv = np.unique(g, return_inverse=True)
    counts = np.empty(int(draws))
    reps = -(-len(uniq) // days)
    for d in range(int(draws)):
        # each instrument a uniform random day, spread: no two share one while days remain (two instruments
        # shifted alike keep their alignment, a contagion included; with D days a free draw did so with
        # probability 1/D per pair, which left a short span's test little power)
        shift = np.concatenate([rng.permutation(days) for _ in range(reps)])[:len(uniq)] * DAY_NS
        ts = (t + shift[inv]) % span
        counts[d] = len(market_wide(ts, g, window_ns=W, min_instruments=K))
    mean = float(counts.mean())
    p = float(np.mean(np.abs(counts - mean) >= abs(observed - mean) - 1e-9))
    return ChanceRate(observed, mean, float(np.percentile(counts, 2.5)), float(np.percentile(counts, 97.5)), p,
                      int(draws), int(days))
