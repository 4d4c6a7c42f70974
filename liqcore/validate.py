"""Plausibility rules for data nobody vetted: one place for every loader, writer, decoder and detector.

Symbols (:func:`safe_name`), times (:data:`TIME_MIN_NS`, :data:`FILE_TIME_MAX_NS`, :func:`time_max_ns`,
the stray test), prices and sizes (:class:`Plausibility`) and the top of book (:func:`crossed_quotes`).
The rules and their reasons: docs/data.md, "What is plausible".

May import: numpy and the standard library only (it sits at the ground, under every reader).  A new
rule goes here, with its paragraph in docs/data.md.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "MAX_SYMBOL_LEN",
    "TIME_MIN_NS",
    "TIME_AHEAD_NS",
    "MAX_TIME_JUMP_NS",
    "Plausibility",
    "DEFAULT_PLAUSIBILITY",
    "valid_symbol",
    "symbol_problem",
    "safe_name",
    "time_max_ns",
    "FILE_TIME_MAX_NS",
    "implausible_times",
    "implausible_values",
    "crossed_quotes",
    "quote_pairs",
]

#: the longest symbol accepted (venues use at most about 25 characters, options included)
MAX_SYMBOL_LEN = 40
#: characters allowed in a symbol besides letters and digits, per venue code (1 Bybit, 2 Binance, 3 OKX)
_EXTRA = {1: "-", 2: "_", 3: "-"}
#: 2017-01-01T00:00:00Z in ns: no perpetual-futures venue data this feed reads is older
TIME_MIN_NS = 1_483_228_800_000_000_000
#: 2100-01-01T00:00:00Z in ns (exclusive): the latest plausible time in a file, fixed so that a load never
#: depends on the day it runs (a time this far out is a unit or parse error, not a recording)
FILE_TIME_MAX_NS = 4_102_444_800_000_000_000 - 1
#: how far past the local clock an event time of a live feed may be (1 day)
TIME_AHEAD_NS = 86_400_000_000_000
#: 2000-01-01 in ns: earlier receive times are not clock readings
CLOCK_MIN_NS = 946_684_800_000_000_000
#: an event time this far from both neighbours (which agree with each other) is a stray (1 day)
MAX_TIME_JUMP_NS = 86_400_000_000_000


@lru_cache(maxsize=65536)
def symbol_problem(venue: int, symbol) -> str | None:
    """Why ``symbol`` is not a symbol of ``venue`` (1 Bybit, 2 Binance, 3 OKX), or None when it is."""
    if symbol.__class__ is not str:
        return "not a string"
    if not symbol:
        return "empty"
    if len(symbol) > MAX_SYMBOL_LEN:
        return f"longer than {MAX_SYMBOL_LEN} characters"
    extra = _EXTRA.get(int(venue), "-_")
    if not symbol[0].isalnum():
        return "does not start with a letter or digit"
    letter = False
    for c in symbol:
        if c.isalpha():
            letter = True
        elif not (c.isdigit() or c in extra):
            return f"character {c!r} is not in the venue's alphabet (letters, digits, {' '.join(extra)})"
    if not letter:
        return "has no letter (looks like a number)"
    return None


def valid_symbol(venue: int, symbol) -> bool:
    """True when ``symbol`` is made of ``venue``'s symbol alphabet (see the module text)."""
    try:
        return symbol_problem(int(venue), symbol) is None
    except TypeError:  # unhashable
        return False


def safe_name(name: str, what: str = "name") -> str:
    """``name`` when it can name a file or directory inside a chosen directory (one path component of
    letters, digits, ``-``, ``_``, ``.`` inside; not ``.``/``..``; at most 100 characters); else
    ValueError naming it.  The last guard of every writer that names a file after a symbol or venue."""
    s = str(name)
    ok = (0 < len(s) <= 100 and s not in (".", "..") and s[0].isalnum()
          and all(c.isalnum() or c in "-_.=" for c in s))
    if not ok:
        raise ValueError(f"{what}: {s[:60]!r}{'...' if len(s) > 60 else ''} cannot name a file "
                         "(letters, digits, '-', '_' and '.' only)")
    return s


def time_max_ns(now_ns: int | None = None) -> int:
    """The latest plausible time of a live feed: now + :data:`TIME_AHEAD_NS` (files use the fixed
    :data:`FILE_TIME_MAX_NS`)."""
    return (time.time_ns() if now_ns is None else int(now_ns)) + TIME_AHEAD_NS


def _strays(ts: np.ndarray, jump: int) -> np.ndarray:
    """Isolated times: further than ``jump`` from both neighbours (in the given order) while those
    neighbours are within ``jump`` of each other; at an end, further than ``jump`` from the next two
    (which agree)."""
    n = len(ts)
    out = np.zeros(n, dtype=bool)
    if n < 3:
        return out
    t = np.asarray(ts, dtype=np.int64)
    d = np.diff(t)
    if int(d.max()) <= jump and int(d.min()) >= -jump:  # the usual stream: no step that large at all
        return out
    d = np.abs(d)  # |t[i+1] - t[i]|
    far_prev = d[:-1] > jump  # for i in 1..n-2
    far_next = d[1:] > jump
    close = np.abs(t[2:] - t[:-2]) <= jump
    out[1:-1] = far_prev & far_next & close
    out[0] = d[0] > jump and d[1] <= jump
    out[-1] = d[-1] > jump and d[-2] <= jump
    return out


def implausible_times(ts_event: np.ndarray, ts_recv: np.ndarray | None = None, *, now_ns: int | None = None,
                      max_time_jump_ns: int | None = MAX_TIME_JUMP_NS, recv_unknown: int = -1,
                      calendar: bool = True) -> np.ndarray:
    """Mask of events (in file order) with an implausible time: ``ts_event`` (or a recorded
    ``ts_recv`` from 2000 on; earlier ones are not clock readings, unless others of the file are and ``calendar``:
    then each is one) outside 2017-01-01 .. the upper bound, or an isolated stray (see :func:`_strays`).  The upper bound is :data:`FILE_TIME_MAX_NS`
    (files: the same result on any day) unless ``now_ns`` is given (a live feed: ``now_ns`` + 1 day).  ``calendar=False`` (a relative clock, e.g. a simulation's)
    skips the calendar bounds of ``ts_event``; ``max_time_jump_ns=None`` skips the stray test."""
    hi = FILE_TIME_MAX_NS if now_ns is None else time_max_ns(now_ns)
    if _usual_times(ts_event, ts_recv, max_time_jump_ns, hi, calendar):
        return np.zeros(len(ts_event), dtype=bool)
    ts = np.ascontiguousarray(ts_event, dtype=np.int64)  # a field of an event array: one pass, not many
    if calendar:
        bad = (ts < TIME_MIN_NS) | (ts > hi)
    else:
        bad = np.zeros(len(ts), dtype=bool)
    if ts_recv is not None:
        tr = np.ascontiguousarray(ts_recv, dtype=np.int64)
        # receive times before 2000 are not clock readings (sequence numbers, test stamps): not judged, unless the
        # file's other receive times are clock readings and its event times calendar times: then one before 2000
        # is a slip (a millisecond stamp read as nanoseconds) that would replay first
        known = tr >= CLOCK_MIN_NS
        bad |= known & ((tr < TIME_MIN_NS) | (tr > hi))
        if calendar and known.any() and not known.all():
            bad |= ~known & (tr != recv_unknown)
    if max_time_jump_ns is not None and len(ts) >= 3 and not bad.any() and (ts_recv is None or known.all()):
        # the usual file: every time inside the calendar, every receive time a clock reading -- the
        # same test as below without gathering the events that are judged (they all are)
        strays = _strays(ts, int(max_time_jump_ns))
        if ts_recv is not None:
            if strays.any():  # receive times judged among the events whose event time stands
                ok = np.flatnonzero(~strays)
                if len(ok) >= 3:
                    strays[ok[_strays(tr[ok], int(max_time_jump_ns))]] = True
            else:
                strays |= _strays(tr, int(max_time_jump_ns))
        return strays
    if max_time_jump_ns is not None and len(ts) >= 3:
        ok = np.flatnonzero(~bad)
        if len(ok) >= 3:
            bad[ok[_strays(ts[ok], int(max_time_jump_ns))]] = True
            ok = np.flatnonzero(~bad)  # receive times judged among the events whose event time stands
            if ts_recv is not None and len(ok) >= 3:
                tr = np.asarray(ts_recv, dtype=np.int64)[ok]
                known = tr >= CLOCK_MIN_NS
                if known.sum() >= 3:
                    kidx = ok[known]
                    bad[kidx[_strays(tr[known], int(max_time_jump_ns))]] = True
    return bad


#: the screens of the usual file judge this many rows at a time (their temporaries: a block's, not a day's)
_SCREEN_BLOCK = 1 << 20


def _spans(n: int, block: int = 0):
    """``(a, b)`` row ranges of about ``block`` rows (:data:`_SCREEN_BLOCK`) covering ``0 .. n``."""
    block = int(block or _SCREEN_BLOCK)
    return [(a, min(a + block, n)) for a in range(0, n, block)]


def _usual_times(ts_event, ts_recv, jump, hi: int, calendar: bool) -> bool:
    """Whether :func:`implausible_times` finds nothing, judged a block of rows at a time without its masks of
    every row: at least 3 events, every event time inside the calendar (when ``calendar``), every receive time
    a clock reading inside it, and no step between neighbours, in either column, larger than ``jump`` (the
    usual file; then its general test, which is run otherwise, marks nothing)."""
    n = len(ts_event)
    if jump is None or n < 3:
        return False
    jump = int(jump)
    for a, b in _spans(n):
        for col, bounded in ((ts_event, calendar), (ts_recv, True)):
            if col is None:
                continue
            c = np.asarray(col[a:b])
            if bounded and (int(c.min()) < TIME_MIN_NS or int(c.max()) > hi):
                return False
            d = np.diff(np.asarray(col[max(a - 1, 0):b]), axis=0).astype(np.int64, copy=False)
            if len(d) and (int(d.max()) > jump or int(d.min()) < -jump):
                return False
    return True


def usual_times_scanned(scan, jump, hi: int, calendar: bool) -> bool:
    """:func:`_usual_times` of an event array's two time columns, from the array's one-pass figures
    (:func:`liqcore._libs.reading.event_scan`: the ranges and the neighbour steps of both columns): the
    same answer (the property tests hold the two equal)."""
    if jump is None or scan.n < 3:
        return False
    jump = int(jump)
    if calendar and (scan.te_min < TIME_MIN_NS or scan.te_max > hi):
        return False
    if scan.tr_min < TIME_MIN_NS or scan.tr_max > hi:
        return False
    return (scan.te_step_max <= jump and scan.te_step_min >= -jump and scan.tr_step_max <= jump
            and scan.tr_step_min >= -jump)


@dataclass(frozen=True)
class Plausibility:
    """The bounds of a plausible liquidation or trade (see the module text).

    ``price_factor``: a price more than this factor above or below the symbol's reference price is
    implausible (10: wider than any real crash of a few minutes).  ``max_notional``: a notional (quote
    currency, e.g. USDT) above this is implausible whatever the symbol (1e10: above the largest
    position any venue's risk limits allow).  ``notional_multiple``: a notional above this multiple
    of the symbol's P95 notional is implausible (10,000).  ``reanchor``: in a stream, this many events
    in a row that disagree with the reference but agree with each other move it.  ``window``:
    neighbours on each side for a batch reference price.  ``reference_age_ns``: a reference older than
    this (1 hour) is none (a symbol seen again after a pause starts afresh)."""

    price_factor: float = 10.0
    max_notional: float = 1e10
    notional_multiple: float = 10_000.0
    reanchor: int = 3
    window: int = 5
    reference_age_ns: int = 3_600_000_000_000

    def __post_init__(self):
        if not self.price_factor > 1.0:
            raise ValueError(f"price_factor: must be > 1; got {self.price_factor!r}")
        if not self.max_notional > 0.0:
            raise ValueError(f"max_notional: must be > 0; got {self.max_notional!r}")
        if not self.notional_multiple > 1.0:
            raise ValueError(f"notional_multiple: must be > 1; got {self.notional_multiple!r}")
        if int(self.reanchor) < 1 or int(self.window) < 1:
            raise ValueError("reanchor, window: must be >= 1")


DEFAULT_PLAUSIBILITY = Plausibility()

_LIQ, _TRADE, _MARK, _QUOTE = 1, 2, 3, 7
_BID, _ASK = 3, 4  # Side.BUY, Side.SELL: a quote row's side of the book


def _off_median(x: np.ndarray, seg: np.ndarray, k: int, limit: float) -> np.ndarray:
    """Mask: |x[i] - median of x[i-k .. i+k] within i's segment| > limit (the lower median when the
    count is even).  Only events within k of a step larger than limit / (2k) can be that far from
    their window's median, so only those windows are sorted."""
    n = len(x)
    off = np.zeros(n, dtype=bool)
    if n < 2:
        return off
    w = 2 * k + 1
    d = np.diff(x)
    step = np.abs(d, out=d) > limit / (2 * k)  # (in place: one temporary of n floats, not two)
    del d
    step &= seg[1:] == seg[:-1]
    if not step.any():
        return off
    near = np.zeros(n + 2 * k + 1, dtype=np.int64)
    j = np.flatnonzero(step)  # a step between j and j+1: events j-k+1 .. j+k are candidates
    np.add.at(near, j + 1, 1)
    np.add.at(near, j + 2 * k + 1, -1)
    cand = np.flatnonzero(np.cumsum(near)[k:n + k] > 0)
    pad_x = np.r_[np.full(k, np.nan), x, np.full(k, np.nan)]
    pad_s = np.r_[np.full(k, -1), seg, np.full(k, -1)]
    win = cand[:, None] + np.arange(w)
    m = np.where(pad_s[win] == seg[cand, None], pad_x[win], np.nan)
    m.sort(axis=1)  # NaN last
    cnt = w - np.isnan(m).sum(axis=1)
    med = m[np.arange(len(cand)), (cnt - 1) // 2]
    off[cand] = np.abs(x[cand] - med) > limit
    return off


def implausible_values(events: np.ndarray, rule: Plausibility = DEFAULT_PLAUSIBILITY) -> tuple[np.ndarray, np.ndarray]:
    """Batch rule over an EVENT_DTYPE array (in file or time order; each symbol's events are taken in
    that order):
    ``(price_bad, notional_bad)`` masks of liquidations and trades with an implausible price or
    notional, and of non-empty quotes with an implausible price (see the module text)."""
    n = len(events)
    price_bad = np.zeros(n, dtype=bool)
    notional_bad = np.zeros(n, dtype=bool)
    if not n:
        return price_bad, notional_bad
    usual = _usual_prices(events, rule)
    if usual == 0:  # the usual book (or marks) alone: no price off, no notional judged
        return price_bad, notional_bad
    kind = events["kind"]
    tradeish = (kind == _LIQ) | (kind == _TRADE)
    if usual is not None:  # no price off, no notional above max_notional: the P95 rule alone
        with np.errstate(over="ignore", invalid="ignore"):
            notional = events["price"] * events["qty"]
        return price_bad, _notional_p95(events, kind, tradeish, notional, price_bad, notional_bad, True, rule)
    quoted = (kind == _QUOTE) & (events["qty"] > 0)  # a non-empty side of the book
    judged = tradeish | quoted
    if not judged.any():
        return price_bad, notional_bad
    price = events["price"]
    if tradeish.any():
        with np.errstate(over="ignore", invalid="ignore"):
            notional = price * events["qty"]
        notional_bad |= tradeish & ~(notional <= rule.max_notional)
    else:  # quotes (marks) only: no notional is judged (n floats not held beside the price test)
        notional = None
    priced = ((kind == _LIQ) | (kind == _TRADE) | (kind == _MARK) | quoted) & (price > 0) & np.isfinite(price)
    judged_px = priced & ~notional_bad
    all_sid = events["symbol_id"]
    one_symbol = int(all_sid.min()) == int(all_sid.max())
    limit = float(np.log(rule.price_factor))
    if one_symbol and judged_px.all():
        # the usual file (one symbol, every price judged): the same test without grouping or gathering
        # (the times' steps read from the rows in place; segment numbers as int32 when they fit)
        seg = np.cumsum(np.r_[True, np.diff(events["ts_event"]) > rule.reference_age_ns],
                        dtype=np.int32 if n < 2**31 else np.int64)
        price_bad |= _off_median(np.log(price), seg, int(rule.window), limit) & judged
        idx = np.zeros(0, dtype=np.int64)
    else:
        idx = np.flatnonzero(judged_px)
    if len(idx):
        sid = all_sid[idx]  # one id per (venue, symbol)
        order = _group_order(sid)  # per symbol, in input order
        po = idx[order]
        s_sid = sid[order]
        s_ts = events["ts_event"][po]
        # segments: a symbol's events with no pause longer than reference_age_ns between them
        seg = np.cumsum(np.r_[True, (s_sid[1:] != s_sid[:-1]) | (np.diff(s_ts) > rule.reference_age_ns)])
        off = _off_median(np.log(price[po]), seg, int(rule.window), limit)
        bad = np.zeros(len(idx), dtype=bool)
        bad[order] = off
        price_bad[idx] = bad & judged[idx]
    if notional is None:  # no trade or liquidation: nothing more to judge
        return price_bad, notional_bad
    return price_bad, _notional_p95(events, kind, tradeish, notional, price_bad, notional_bad, one_symbol, rule)


def _usual_prices(events: np.ndarray, rule: Plausibility) -> int | None:
    """When :func:`implausible_values` finds no price off and no notional above ``max_notional`` -- the usual
    file --, the number of its trades and liquidations (whose notionals the P95 rule still judges); else
    None.  Judged a block of rows at a time without the rule's masks of every row: one symbol; every row a
    liquidation, trade or mark, or a quote of a non-empty side, with a positive finite price (a trade's or
    liquidation's notional at most ``max_notional``); no step between neighbouring prices larger than a
    little under ``log(price_factor) / (2 window)`` in log (so none is that far from its window's median:
    the rule's own test, run otherwise, finds no candidate)."""
    step = float(np.log(rule.price_factor)) / (2 * int(rule.window)) * (1 - 1e-9)  # (a margin: ulps of log)
    n = len(events)
    sid = events["symbol_id"]
    first = int(sid[0])
    trades = 0
    for a, b in _spans(n):
        e = events[a:b]
        k, price, qty = e["kind"], e["price"], e["qty"]
        if int(sid[a:b].min()) != first or int(sid[a:b].max()) != first:
            return None
        k0, k1 = int(k.min()), int(k.max())
        if k0 == k1 == _QUOTE:  # a block of quotes (the usual book): each of a non-empty side?
            if not float(qty.min()) > 0:  # (a NaN fails)
                return None
            nt = 0
        else:
            tradeish = (k == _LIQ) | (k == _TRADE)
            if not bool(np.all(tradeish | (k == _MARK) | ((k == _QUOTE) & (qty > 0)))):
                return None
            nt = int(np.count_nonzero(tradeish))
        with_prev = events["price"][max(a - 1, 0):b]  # (the row before the block: the step into it)
        lo, hi = float(with_prev.min()), float(with_prev.max())
        if not (lo > 0 and hi < np.inf):  # (a NaN fails both)
            return None
        if nt:
            with np.errstate(over="ignore", invalid="ignore"):
                notional = price * qty if nt == len(k) else price[tradeish] * qty[tradeish]
            if not float(notional.max()) <= rule.max_notional:  # (a NaN fails)
                return None
            trades += nt
        if np.log(hi) - np.log(lo) <= step:  # the block's whole range within one step: no step larger
            continue
        d = np.diff(np.log(with_prev))
        if len(d) and not float(np.max(np.abs(d, out=d))) <= step:
            return None
    return trades


def _notional_p95(events, kind, tradeish, notional, price_bad, notional_bad, one_symbol: bool,
                  rule: Plausibility) -> np.ndarray:
    """``notional_bad`` with the trades and liquidations whose notional is above ``notional_multiple`` x
    their symbol's P95 of their kind (over the events not already implausible) marked."""
    ok = tradeish & ~price_bad & ~notional_bad
    if one_symbol and ok.all() and (kind[0] == kind).all():
        # one symbol, one kind, every event judged: one P95 without grouping
        notional_bad |= notional > rule.notional_multiple * np.quantile(notional, 0.95)
    elif ok.any() and one_symbol:
        # one symbol: a P95 per kind (liquidations, trades) over the kind's judged events, without grouping
        is_trade = kind == _TRADE
        for group in (ok & ~is_trade, ok & is_trade):
            if group.any():
                notional_bad |= group & (notional > rule.notional_multiple * np.quantile(notional[group], 0.95))
    elif ok.any():
        sub = np.flatnonzero(ok)
        key = events["symbol_id"][sub].astype(np.int64) * 2 + (kind[sub] == _TRADE)
        n_ok = notional[sub]
        order = _group_order(key)
        k_sorted = key[order]
        bounds = np.flatnonzero(np.r_[True, k_sorted[1:] != k_sorted[:-1], True])
        srt = n_ok[order]
        p95 = np.empty(len(sub))
        for a, b in zip(bounds[:-1], bounds[1:]):
            p95[a:b] = np.quantile(srt[a:b], 0.95)
        too_big = srt > rule.notional_multiple * p95
        notional_bad[sub[order[too_big]]] = True
    return notional_bad


def quote_pairs(events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(bid_index, ask_index)`` of the top-of-book updates in ``events``: a bid row and an ask row
    of one symbol with the same times, next to each other (in either order); a row is in at most one
    update (the first pair wins)."""
    n = len(events)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    kind, side = events["kind"], events["side"]
    if not (kind == _QUOTE).any():  # trades or liquidations only: no book
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a, b = events[:-1], events[1:]
    sides = (side[:-1] != side[1:]) & ((side[:-1] == _BID) | (side[:-1] == _ASK)) & ((side[1:] == _BID) | (side[1:] == _ASK))
    pair = ((kind[:-1] == _QUOTE) & (kind[1:] == _QUOTE) & (a["symbol_id"] == b["symbol_id"])
            & (a["ts_event"] == b["ts_event"]) & (a["ts_recv"] == b["ts_recv"]) & sides)
    j = np.flatnonzero(pair)
    if len(j) > 1:  # overlapping pairs (three rows of one time): keep the first of each run
        j = j[_first_of_overlaps(j)]
    first_is_bid = side[j] == _BID
    return np.where(first_is_bid, j, j + 1), np.where(first_is_bid, j + 1, j)


def _first_of_overlaps(j: np.ndarray) -> np.ndarray:
    """Mask of the pairs to keep among pairs starting at rows ``j`` (increasing): pairs at j and j + 1
    overlap (share a row); in each run of consecutive starts s, s + 1, s + 2... the first pair is kept,
    the next (overlapping it) dropped, and so on: the starts an even distance from the run's first."""
    k = np.arange(len(j))
    start = np.r_[True, j[1:] != j[:-1] + 1]
    first = np.maximum.accumulate(np.where(start, k, 0))
    return (j - j[first]) % 2 == 0


#: crossed_quotes judges this many rows at a time (its temporaries: a block's, not a day's quotes')
_PAIR_BLOCK = 1 << 20


def _pair_at(events: np.ndarray, i: int) -> bool:
    """Whether rows i and i + 1 could form a top-of-book update (:func:`quote_pairs`'s pair test)."""
    a, b = events[i], events[i + 1]
    return bool(a["kind"] == _QUOTE and b["kind"] == _QUOTE and a["symbol_id"] == b["symbol_id"]
                and a["ts_event"] == b["ts_event"] and a["ts_recv"] == b["ts_recv"] and a["side"] != b["side"]
                and a["side"] in (_BID, _ASK) and b["side"] in (_BID, _ASK))


def _pair_cuts(events: np.ndarray, block: int) -> list:
    """Row offsets cutting ``events`` into blocks of about ``block`` rows, each cut at a row ``c`` where
    rows c - 1 and c cannot pair: no update, nor a run of overlapping pairs, spans a cut, so
    :func:`quote_pairs` over each block finds the updates it finds over the whole."""
    n = len(events)
    cuts = [0]
    c = block
    while c < n:
        while c < n and _pair_at(events, c - 1):
            c += 1
        if c >= n:
            break
        cuts.append(c)
        c += block
    cuts.append(n)
    return cuts


def crossed_quotes(events: np.ndarray, block: int | None = None) -> np.ndarray:
    """Mask of the quote rows of crossed top-of-book updates (:func:`quote_pairs`): both sides
    non-empty and the bid at or above the ask (both rows are marked: the number of crossed updates is
    the mask's count / 2).  Judged ``block`` rows at a time (:data:`_PAIR_BLOCK`), cut where no update
    spans the cut (the same mask as the whole at once)."""
    out = np.zeros(len(events), dtype=bool)
    natural = _natural_pairs(events, int(block or _PAIR_BLOCK))
    if natural is not None:  # rows 2i and 2i + 1 are the bid and ask of one update, for every i
        out[0::2] = natural
        out[1::2] = natural
        return out
    cuts = _pair_cuts(events, int(block or _PAIR_BLOCK))
    for a, b in zip(cuts[:-1], cuts[1:]):
        part = events[a:b]
        ib, ia = quote_pairs(part)
        if len(ib):
            qty, price = part["qty"], part["price"]  # the two columns, gathered (not whole rows)
            with np.errstate(invalid="ignore"):
                crossed = (qty[ib] > 0) & (qty[ia] > 0) & (price[ib] >= price[ia])
            out[a + ib[crossed]] = True
            out[a + ia[crossed]] = True
    return out


def _natural_pairs(events: np.ndarray, block: int) -> np.ndarray | None:
    """For quotes laid out as a reader of top of book writes them -- every row 2i a bid and row 2i + 1 the ask
    of the same update (one symbol, the same times) --, the mask of the crossed updates (one per pair); None
    for any other layout.  Then :func:`quote_pairs` pairs exactly rows 2i and 2i + 1 (a row 2i + 1 that
    could pair with row 2i + 2 too starts a pair an odd distance into a run of overlapping pairs, which it
    drops), so this is :func:`crossed_quotes`'s answer without its pairing; judged ``block`` rows at a time."""
    n = len(events)
    if n < 2 or n % 2:
        return None
    crossed = np.zeros(n // 2, dtype=bool)
    step = max(2, block - block % 2)
    for a in range(0, n, step):
        e = events[a:a + step]
        bid, ask = e[0::2], e[1::2]
        k = e["kind"]
        if not (int(k.min()) == int(k.max()) == _QUOTE):
            return None
        if not (int(bid["side"].min()) == int(bid["side"].max()) == _BID
                and int(ask["side"].min()) == int(ask["side"].max()) == _ASK):
            return None
        for f in ("symbol_id", "ts_event", "ts_recv"):
            if not bool(np.array_equal(bid[f], ask[f])):
                return None
        with np.errstate(invalid="ignore"):
            crossed[a // 2:(a + len(e)) // 2] = (bid["qty"] > 0) & (ask["qty"] > 0) & (bid["price"] >= ask["price"])
    return crossed


def _group_order(key: np.ndarray) -> np.ndarray:
    """A stable order grouping equal keys (input order kept inside a group); a radix sort when the keys
    fit 16 bits (dense symbol ids: the usual case)."""
    key = np.asarray(key)
    if len(key) and key.min() >= 0 and key.max() < 32768:
        return np.argsort(key.astype(np.int16), kind="stable")
    return np.argsort(key, kind="stable")
