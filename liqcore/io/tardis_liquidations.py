"""What says a tardis file named liquidations holds trades (:func:`_not_liquidations`): evidence that cannot
occur in the venues' liquidation data, so a busy day of genuine liquidations is never refused.  Used by the
tardis reader (:mod:`liqcore.io.tardis`).  What each venue's data cannot hold is its ``archives`` part's:
``TARDIS_LIQUIDATION_IDS_EMPTY`` (tardis leaves its liquidations' ``id`` empty) and
``ONE_LIQUIDATION_PER_SECOND_SINCE_NS`` (its feed has sent at most one liquidation per symbol per second since
then)."""
from __future__ import annotations

import numpy as np

from liqcore.venues.registry import registered

_MIN_EVIDENCE = 50  # rows: a few odd rows are not a file of another kind


def _archive_facts() -> tuple[list[int], list[tuple[int, int, str]]]:
    """(codes of the venues whose tardis liquidations leave ``id`` empty, [(code, one per second since ns,
    name)] of those whose feed sends at most one liquidation per symbol per second), from their ``archives``."""
    empty, throttled = [], []
    for spec in registered():
        if not spec.has_part("archives"):
            continue
        part = spec.part("archives")
        if getattr(part, "TARDIS_LIQUIDATION_IDS_EMPTY", False):
            empty.append(spec.code)
        since = getattr(part, "ONE_LIQUIDATION_PER_SECOND_SINCE_NS", None)
        if since is not None:
            throttled.append((spec.code, int(since), spec.name))
    return empty, throttled


def _not_liquidations(ev: np.ndarray, ids: np.ndarray) -> str:
    """What says a file named liquidations holds trades ('' when nothing does): a filled ``id`` column
    of distinct values on a venue whose liquidations' id tardis leaves empty (Binance, OKX), or rows three of a
    symbol within a second on a venue whose feed sends at most one per second per symbol, after it began to
    (Binance).  Only evidence that cannot occur in the venue's liquidation data: a busy day of genuine
    liquidations is never refused."""
    n = len(ev)
    if n < _MIN_EVIDENCE or len(ids) != n:
        return ""
    venue, ts, sid = ev["venue"], ev["ts_event"], ev["symbol_id"]
    signs = []
    no_ids, one_per_s = _archive_facts()
    scope = np.isin(venue, no_ids)
    filled = ids[scope & (ids != 0)]
    if len(filled) >= _MIN_EVIDENCE and len(filled) * 2 > np.count_nonzero(scope):
        distinct = len(np.unique(filled))
        if distinct * 10 >= len(filled) * 9:
            signs.append(f"distinct trade ids in {len(filled):,} rows, an id tardis leaves empty in liquidations")
    for code, since_ns, name in one_per_s:
        throttled = (venue == code) & (ts >= since_ns)
        rows = int(np.count_nonzero(throttled))
        if rows < _MIN_EVIDENCE:
            continue
        t, s = ts[throttled], sid[throttled]
        order = np.lexsort((t, s))
        t, s = t[order], s[order]
        triples = int(np.count_nonzero((s[2:] == s[:-2]) & (t[2:] - t[:-2] < 1_000_000_000)))
        if triples >= _MIN_EVIDENCE and triples * 5 >= rows:
            signs.append(f"{triples:,} times 3 rows of a symbol within 1 s, while {name} sends at most 1 "
                         "liquidation per second per symbol")
    if not signs:
        return ""
    span_s = max(int(ts.max()) - int(ts.min()), 1) / 1e9
    return f"{n:,} rows at {n / span_s:,.1f} rows/s, " + "; ".join(signs)
