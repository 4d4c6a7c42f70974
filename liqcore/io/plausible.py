"""The plausibility rule applied to every file's events as it is read (:func:`_sane`, built on
:mod:`liqcore.validate`), and the check that a forced headerless format fits the file
(:func:`_check_fit`: the column that looks wrong is named)."""
from __future__ import annotations

import numpy as np

import liqcore.io.registry as _registry
from liqcore.io.base import FileState
from liqcore.venues.common import RECV_CLOCK_MIN_NS, RECV_UNKNOWN

#: rejects that say a record is not what its format claims (a forced format that does not fit)
_MISFIT = frozenset({"bad_symbol", "bad_time", "implausible_time", "non_numeric", "non_finite", "non_positive",
                     "bad_side", "bad_row", "missing_field", "unknown_format", "implausible_price",
                     "implausible_notional"})


def _columns(fmt: str) -> tuple:
    """A headerless CSV format's columns by position (empty: not one)."""
    r = _registry.REGISTRY.find(fmt)
    return r.columns if r is not None else ()


def _own_clock(fmt: str) -> bool:
    """liqcore's own columns (contract CSV, Parquet, datasets): may hold a relative clock."""
    r = _registry.REGISTRY.find(fmt)
    return r.own_clock if r is not None else fmt == "dataset"


def _column_label(fmt: str, field: str) -> str:
    cols = _columns(fmt)
    if cols and field in cols:
        return f"column {cols.index(field) + 1} ({field})"
    if field in ("s", "symbol"):
        return "the symbol column"
    return f"column {field!r}" if field else "its records"


def _sane(arr: np.ndarray, st: FileState, forced: bool) -> np.ndarray:
    """See :func:`sane_ids` (without trade ids)."""
    return sane_ids(arr, None, st, forced)[0]


def sane_ids(arr: np.ndarray, ids, st: FileState, forced: bool, segments=None, scan=None):
    """One file's events (in file order) without the implausible ones (liqcore.validate: times outside
    2017 .. 2100 or stray from their neighbours, prices off the symbol's reference by 10x,
    absurd notionals), each counted.  With a forced headerless CSV format, a file most of whose records
    fail, or whose price column steps by exactly 1 like an id, raises ValueError naming the column.
    ``segments``: the first row of each of several files laid end to end (a dataset's partitions, in
    scan order): a time is judged a stray among the neighbours of its own file only.  ``scan``: ``arr``'s
    :func:`liqcore._libs.reading.event_scan` when the caller has it (the usual file's times are then judged
    from its figures, without a pass per figure)."""
    from liqcore.validate import (FILE_TIME_MAX_NS, MAX_TIME_JUMP_NS, crossed_quotes, implausible_times,
                                  implausible_values, usual_times_scanned)

    sink = st.sink
    if len(arr):
        # liqcore's own format may hold a relative clock (a simulation's): every time before 2000
        te_max = scan.te_max if scan is not None else int(arr["ts_event"].max())
        calendar = not _own_clock(st.fmt) or te_max >= RECV_CLOCK_MIN_NS
        if (segments is None or len(segments) <= 1) and scan is not None and usual_times_scanned(
                scan, MAX_TIME_JUMP_NS, FILE_TIME_MAX_NS, calendar):
            tbad = np.zeros(0, dtype=bool)  # the usual file: no implausible time (implausible_times' first test)
        elif segments is None or len(segments) <= 1:
            tbad = implausible_times(arr["ts_event"], arr["ts_recv"], recv_unknown=RECV_UNKNOWN, calendar=calendar)
        else:
            te, tr = arr["ts_event"], arr["ts_recv"]
            tbad = np.zeros(len(arr), dtype=bool)
            ends = [int(x) for x in segments[1:]] + [len(arr)]
            for a, b in zip((int(x) for x in segments), ends):
                tbad[a:b] = implausible_times(te[a:b], tr[a:b], recv_unknown=RECV_UNKNOWN, calendar=calendar)
        n = int(np.count_nonzero(tbad))
        if n:
            sink.count("implausible_time", n)
            st.culprits[("implausible_time", "T")] = st.culprits.get(("implausible_time", "T"), 0) + n
            arr = arr[~tbad]
            ids = ids[~tbad] if ids is not None else None
    if len(arr):
        pbad, nbad = implausible_values(arr)
        nbad &= ~pbad
        for mask, reason, col in ((pbad, "implausible_price", "p"), (nbad, "implausible_notional", "q")):
            n = int(np.count_nonzero(mask))
            if n:
                sink.count(reason, n)
                st.culprits[(reason, col)] = st.culprits.get((reason, col), 0) + n
        if pbad.any() or nbad.any():
            arr = arr[~(pbad | nbad)]
            ids = ids[~(pbad | nbad)] if ids is not None else None
        n = _crossed_updates(arr, crossed_quotes)
        if n:  # a crossed book (bid >= ask): counted, kept
            sink.count("crossed_book", n)
    if forced and _columns(st.fmt):  # headerless columns read by position: garbage if they do not fit
        _check_fit(arr, st)
    if st.strict:
        found = {k[0]: v for k, v in st.culprits.items() if k[0] in ("implausible_time", "implausible_price",
                                                                     "implausible_notional")}
        if found:
            raise ValueError(f"{st.path}: " + ", ".join(f"{k} in {v:,} event(s)" for k, v in sorted(found.items())))
    return arr, ids


def _crossed_updates(arr: np.ndarray, crossed_quotes) -> int:
    """How many top-of-book updates of ``arr`` are crossed (:func:`liqcore.validate.crossed_quotes`' count
    of rows / 2): for quotes laid out as a reader of top of book writes them (bid row, then its ask) in one
    compiled pass (:func:`liqcore._libs.reading.natural_pairs`), else by the rule's pairing."""
    from liqcore._libs.reading import natural_pairs

    natural = natural_pairs(arr)
    if natural is not None:  # rows 2i and 2i + 1 are one update's: the rule pairs exactly them
        return int(np.count_nonzero(natural))
    return int(np.count_nonzero(crossed_quotes(arr))) // 2


def _check_fit(arr: np.ndarray, st: FileState) -> None:
    """A forced format that does not fit the file: ValueError naming the column that looks wrong."""
    fmt = st.fmt
    misfit = {k: v for k, v in st.culprits.items() if k[0] in _MISFIT}
    n_bad = sum(misfit.values())
    total = max(st.records, n_bad + len(arr))
    if total and n_bad * 2 > total:
        (reason, field), n = max(misfit.items(), key=lambda kv: kv[1])
        raise ValueError(f"format: {st.path} does not fit --format {fmt}: {_column_label(fmt, field)} looks wrong "
                         f"({reason} in {n:,} of {total:,} rows); check the file's columns or let the format "
                         "be detected")
    # a price column that steps by exactly 1 (an id, not a price)
    tradeish = arr[(arr["kind"] == 1) | (arr["kind"] == 2)] if len(arr) else arr
    if len(tradeish) >= 10:
        for sid in np.unique(tradeish["symbol_id"])[:50]:
            p = tradeish["price"][tradeish["symbol_id"] == sid]
            if len(p) < 10:
                continue
            d = np.diff(p)
            if np.all(p == np.round(p)) and np.count_nonzero(d == 1.0) * 2 > len(d):
                raise ValueError(f"format: {st.path} does not fit --format {fmt}: {_column_label(fmt, 'p')} "
                                 f"steps by exactly 1 like an id ({int(np.count_nonzero(d == 1.0)):,} of "
                                 f"{len(d):,} steps), not a price")


def future_mask(events: np.ndarray, max_skew_ns) -> np.ndarray:
    """The events :func:`liqcore.venues.common.drop_future` drops."""
    if max_skew_ns is None or not len(events):
        return np.zeros(len(events), dtype=bool)
    recv = events["ts_recv"]
    return (recv >= RECV_CLOCK_MIN_NS) & (events["ts_event"] - recv > int(max_skew_ns))
