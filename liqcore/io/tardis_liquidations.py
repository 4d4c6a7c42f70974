"""What says a tardis file named liquidations holds trades (:func:`_not_liquidations`): evidence that cannot
occur in the venues' liquidation data, so a busy day of genuine liquidations is never refused.  Used by the
tardis reader (:mod:`liqcore.io.tardis`)."""
from __future__ import annotations

import numpy as np

#: Binance has sent at most one liquidation per symbol per second (the latest of each 1,000 ms) since
#: 2021-04-27: three of one symbol within a second cannot occur in its feed from then on
_BINANCE_THROTTLE_NS = 1_619_481_600_000_000_000
#: venues whose tardis liquidations leave ``id`` empty (Bybit's older ones carry the venue's id)
_NO_LIQ_ID = (2, 3)
_MIN_EVIDENCE = 50  # rows: a few odd rows are not a file of another kind


def _not_liquidations(ev: np.ndarray, ids: np.ndarray) -> str:
    """What says a file named liquidations holds trades ('' when nothing does): a filled ``id`` column
    of distinct values on Binance / OKX (tardis leaves their liquidations' id empty), or Binance rows
    three of a symbol within a second after the throttle (its feed sends at most one per second per
    symbol).  Only evidence that cannot occur in the venue's liquidation data: a busy day of genuine
    liquidations is never refused."""
    n = len(ev)
    if n < _MIN_EVIDENCE or len(ids) != n:
        return ""
    venue, ts, sid = ev["venue"], ev["ts_event"], ev["symbol_id"]
    signs = []
    scope = np.isin(venue, _NO_LIQ_ID)
    filled = ids[scope & (ids != 0)]
    if len(filled) >= _MIN_EVIDENCE and len(filled) * 2 > np.count_nonzero(scope):
        distinct = len(np.unique(filled))
        if distinct * 10 >= len(filled) * 9:
            signs.append(f"distinct trade ids in {len(filled):,} rows, an id tardis leaves empty in liquidations")
    throttled = (venue == 2) & (ts >= _BINANCE_THROTTLE_NS)
    triples = 0
    rows = int(np.count_nonzero(throttled))
    if rows >= _MIN_EVIDENCE:
        t, s = ts[throttled], sid[throttled]
        order = np.lexsort((t, s))
        t, s = t[order], s[order]
        triples = int(np.count_nonzero((s[2:] == s[:-2]) & (t[2:] - t[:-2] < 1_000_000_000)))
        if triples >= _MIN_EVIDENCE and triples * 5 >= rows:
            signs.append(f"{triples:,} times 3 rows of a symbol within 1 s, while Binance sends at most 1 "
                         "liquidation per second per symbol")
    if not signs:
        return ""
    span_s = max(int(ts.max()) - int(ts.min()), 1) / 1e9
    return f"{n:,} rows at {n / span_s:,.1f} rows/s, " + "; ".join(signs)
