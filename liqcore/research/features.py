"""Point-in-time feature bars per (venue, symbol, bar) from liquidations, trades and funding.

The details: docs/maintainers/research.md, "Feature bars, how they are built".

May import: ``numpy``, ``pandas``, ``_libs.zscore``, ``config``, ``execution.detect``, ``execution.events``,
``synthetic.memory`` (the memory left, for the bar limit), ``units`` and ``types``.
"""
from __future__ import annotations

import numpy as np

from liqcore._extras import need
from liqcore.execution.events import check_events as _check_events, select_symbols, sort_recv  # noqa: F401
from liqcore.types import CASCADE_DTYPE, Dominant, Kind, Side, SymbolRegistry

__all__ = ["features", "FEATURE_COLUMNS", "MAX_BARS", "bar_limit", "select_symbols", "sort_recv"]

NS_PER_MIN = 60_000_000_000

#: the most bars (rows: symbols x bars from each symbol's first to its last event) one call builds, whatever the
#: memory: the grid is dense while it is built (``dense=False`` only drops the empty rows at the end), and a bar
#: costs about :data:`BAR_BYTES` at the peak, so 50 million bars are about 37 GB.  Fewer where this process has
#: less memory left (:func:`liqcore.synthetic.memory.available_bytes`); more is refused before any of it is
#: allocated, naming the count, the limit and the bar length that fits
MAX_BARS = 50_000_000
#: the peak memory of one bar while the table is built (measured: 16.2 million 1-s bars, 12.4 GB resident)
BAR_BYTES = 750
#: the bar lengths suggested when the one asked for makes too many bars
_BAR_LADDER = ("1ms", "10ms", "100ms", "1s", "5s", "10s", "15s", "30s", "1m", "5m", "15m", "30m", "1h", "4h", "12h",
               "1d", "7d", "30d", "365d")

#: the value columns of :func:`features`, in output order (after the key columns)
FEATURE_COLUMNS = (
    "liq_count", "liq_count_long", "liq_count_short",
    "liq_notional", "liq_notional_long", "liq_notional_short",
    "liq_imbalance", "liq_rate",
    "trade_count", "trade_volume", "trade_notional", "taker_buy_volume", "taker_sell_volume", "ofi",
    "first_price", "last_price", "price", "ret",
    "funding_rate", "mark_price",
    "cascades", "cascades_long", "cascades_short", "cascade_notional",
    "z_liq_imbalance", "z_liq_notional", "z_liq_rate", "z_ofi",
)

_Z_SOURCES = {"z_liq_imbalance": "liq_imbalance", "z_liq_notional": "liq_notional",
              "z_liq_rate": "liq_rate", "z_ofi": "ofi"}


def _confirmed_records(events, records, params):
    if records is None:
        from liqcore.execution.detect import detect
        from liqcore.config import Params

        records, _ = detect(events, params or Params())
    from liqcore.execution.detect import confirmed_records

    return confirmed_records(records)


def bar_limit() -> tuple[int, str]:
    """``(bars, why)``: the most bars one table may have here: :data:`MAX_BARS`, or fewer where the memory this
    process can still use holds fewer (:data:`BAR_BYTES` each)."""
    from liqcore.synthetic.memory import available_bytes

    avail, why = available_bytes()
    if avail is not None and avail // BAR_BYTES < MAX_BARS:
        return int(avail // BAR_BYTES), (f"here: {avail / (1 << 30):.1f} GiB of memory left to this process ({why}), "
                                         f"at about {BAR_BYTES} bytes a bar while the table is built")
    return MAX_BARS, f"a table (about {BAR_BYTES} bytes of memory a bar while it is built)"


def _check_bars(bar, bar_ns: int, n_rows: int, n_bars: np.ndarray, parse_duration) -> None:
    """ValueError naming ``bar`` when ``n_rows`` bars (``n_bars`` per symbol) are more than :func:`bar_limit`:
    how many, the limit, and the shortest bar of :data:`_BAR_LADDER` under it.  Nothing allocated before."""
    if n_rows <= MAX_BARS // 10:  # (a table this small fits anywhere: no look at the memory)
        return
    limit, why = bar_limit()
    if n_rows <= limit:
        return
    from liqcore.units import format_duration

    text = str(bar).strip() if isinstance(bar, str) else format_duration(bar_ns)
    text = f"{text}s" if text[-1:].isdigit() else text  # (a plain number is seconds)
    span = (n_bars.astype(np.float64) - 1) * bar_ns  # per symbol, first to last event (to the bar)
    fits = next((b for b in _BAR_LADDER if float(np.sum(np.floor(span / parse_duration(b, "bar")) + 2)) <= limit),
                None)
    days = float(span.max()) / 86_400e9 if len(span) else 0.0
    hint = f"a --bar of {fits} or longer fits" if fits else "no bar length fits"
    raise ValueError(f"bar: {text} bars over this input ({len(n_bars):,} symbol(s), up to "
                     f"{days:,.1f} days each) would be {n_rows:,} bars, more than the limit of {limit:,} {why}; "
                     f"{hint}, or narrow the input (--symbols, --start/--end)")


def _ffill(values: np.ndarray, valid: np.ndarray, seg_start: np.ndarray) -> np.ndarray:
    """Forward-fill ``values`` where ``valid`` within segments (``seg_start[i]``: first row of row
    i's segment); NaN before the first valid row of a segment."""
    n = len(values)
    idx = np.where(valid, np.arange(n), -1)
    np.maximum.accumulate(idx, out=idx)
    out = np.full(n, np.nan)
    ok = idx >= seg_start
    out[ok] = values[idx[ok]]
    return out


def _last_in_row(rows: np.ndarray, values: np.ndarray, n_rows: int, first: bool = False) -> np.ndarray:
    """Per row, the value of the last (or first) element in input order; NaN for rows without one."""
    out = np.full(n_rows, np.nan)
    if len(rows) == 0:
        return out
    pos = np.arange(len(rows))
    if first:
        sel = np.full(n_rows, len(rows), dtype=np.int64)
        np.minimum.at(sel, rows, pos)
        has = sel < len(rows)
    else:
        sel = np.full(n_rows, -1, dtype=np.int64)
        np.maximum.at(sel, rows, pos)
        has = sel >= 0
    out[has] = values[sel[has]]
    return out


def features(events, registry: SymbolRegistry | None, bar="1m", zscore_window: int = 96, lag="0s",
             symbols=None, *, records: np.ndarray | None = None, params=None, dense: bool = True,
             zscore_min: int | None = None):
    """Feature bars per (venue, symbol, bar) as a pandas DataFrame (columns: ``venue``, ``symbol``,
    ``symbol_id``, ``bar_start`` (UTC), ``bar_start_ns``, ``bar_end_ns``, ``available_ns``, then
    :data:`FEATURE_COLUMNS`).

    ``events``: EVENT_DTYPE in any order (bars use ``ts_recv``).  ``bar`` and ``lag``: durations
    (``1m``, ``15m``, ``0s``...).  ``zscore_window``: bars in the z-score baseline; ``zscore_min``:
    baseline bars needed before a z is given (default ``max(2, zscore_window // 4)``), NaN before.
    ``records``: the detector's records on these events (default: run the compiled detector with
    ``params``, default :class:`liqcore.config.Params`).  ``symbols``: names to keep (None = all).
    Bad prices or quantities (NaN, inf, <= 0; a NaN funding rate) are dropped and counted by reason
    in ``df.attrs["dropped"]``.
    """
    pd = need("research", "pandas")

    from liqcore._libs.detection import RollingZScore
    from liqcore.config import parse_duration

    events = _check_events(events)
    bar_ns = parse_duration(bar, "bar")
    if bar_ns <= 0:
        raise ValueError(f"bar: must be a positive duration; got {bar!r}")
    lag_ns = parse_duration(lag, "lag")
    if isinstance(zscore_window, bool) or not isinstance(zscore_window, (int, np.integer)) or zscore_window < 1:
        raise ValueError(f"zscore_window: must be a positive integer; got {zscore_window!r}")
    zscore_window = int(zscore_window)
    if zscore_min is None:
        zscore_min = min(zscore_window, max(2, zscore_window // 4))
    if not (isinstance(zscore_min, (int, np.integer)) and 1 <= zscore_min <= zscore_window):
        raise ValueError(f"zscore_min: must be an integer in [1, zscore_window={zscore_window}]; got {zscore_min!r}")

    events = sort_recv(select_symbols(events, registry, symbols))
    if records is None and not np.any(events["kind"] == Kind.LIQUIDATION):
        rec = np.zeros(0, CASCADE_DTYPE)
    else:
        rec = _confirmed_records(events, records, params)
    if symbols is not None:
        rec = rec[np.isin(rec["symbol_id"], np.unique(events["symbol_id"]))]

    # ---- validation and categories: bad values are counted and dropped --------------------------
    # one code per event: 0 long liquidated, 1 short liquidated, 2 taker buy, 3 taker sell,
    # 4 funding, 5 mark; -1 = not used (other kinds, bad values, venue-wide rows)
    kind = np.ascontiguousarray(events["kind"])
    side = np.ascontiguousarray(events["side"])
    price = np.ascontiguousarray(events["price"])
    qty = np.ascontiguousarray(events["qty"])
    with np.errstate(invalid="ignore"):
        good = np.isfinite(price) & (price > 0) & np.isfinite(qty) & (qty > 0)
    is_liq, is_trade = kind == Kind.LIQUIDATION, kind == Kind.TRADE
    is_fund, is_mark = kind == Kind.FUNDING, kind == Kind.MARK
    liq_ok = is_liq & good & ((side == Side.LONG) | (side == Side.SHORT))
    trade_ok = is_trade & good & ((side == Side.BUY) | (side == Side.SELL))
    fund_ok = is_fund & np.isfinite(price)
    with np.errstate(invalid="ignore"):
        mark_ok = is_mark & np.isfinite(price) & (price > 0)
    dropped = {
        "bad_liquidation": int(np.count_nonzero(is_liq) - np.count_nonzero(liq_ok)),
        "bad_trade": int(np.count_nonzero(is_trade) - np.count_nonzero(trade_ok)),
        "bad_funding_rate": int(np.count_nonzero(is_fund) - np.count_nonzero(fund_ok)),
        "bad_mark_price": int(np.count_nonzero(is_mark) - np.count_nonzero(mark_ok)),
    }
    code = np.full(len(events), -1, dtype=np.int64)
    code[liq_ok] = side[liq_ok] - int(Side.LONG)            # 0, 1
    code[trade_ok] = side[trade_ok] - int(Side.BUY) + 2     # 2, 3
    code[fund_ok] = 4
    code[mark_ok] = 5
    code[events["symbol_id"] < 0] = -1
    used = np.flatnonzero(code >= 0)
    code = code[used]
    price, qty = price[used], qty[used]
    sid = events["symbol_id"][used].astype(np.int64)
    b = events["ts_recv"][used] // bar_ns

    # ---- the grid: per symbol, the bars from its first to its last event (or cascade) -----------
    rsid = rec["symbol_id"].astype(np.int64)
    rb = rec["confirm_recv_ns"] // bar_ns
    all_sid = np.concatenate([sid, rsid])
    all_b = np.concatenate([b, rb])
    n_sym = int(all_sid.max()) + 1 if len(all_sid) else 0
    big = np.iinfo(np.int64).max
    first = np.full(n_sym, big, dtype=np.int64)
    last = np.full(n_sym, -big, dtype=np.int64)
    np.minimum.at(first, all_sid, all_b)
    np.maximum.at(last, all_sid, all_b)
    present = np.flatnonzero(first != big)
    n_bars = np.zeros(n_sym, dtype=np.int64)
    n_bars[present] = last[present] - first[present] + 1
    row0 = np.concatenate([[0], np.cumsum(n_bars)])[:-1]
    n_rows = int(n_bars.sum())
    _check_bars(bar, bar_ns, n_rows, n_bars[present], parse_duration)
    row_sid = np.repeat(np.arange(n_sym), n_bars)
    row_bar = (np.arange(n_rows) - row0[row_sid]) + first[row_sid]
    seg_start = row0[row_sid]
    row = row0[sid] + (b - first[sid]) if len(sid) else np.zeros(0, np.int64)
    rrow = row0[rsid] + (rb - first[rsid]) if len(rsid) else np.zeros(0, np.int64)

    # ---- sums per (row, category): three bincounts over row * 6 + code -----------------------------
    key = row * 6 + code
    notional = price * qty
    flow = code < 4
    cnt = np.bincount(key, minlength=6 * n_rows).astype(np.int64).reshape(n_rows, 6)
    nsum = np.bincount(key[flow], weights=notional[flow], minlength=6 * n_rows).astype(np.float64).reshape(n_rows, 6)
    qsum = np.bincount(key[flow], weights=qty[flow], minlength=6 * n_rows).astype(np.float64).reshape(n_rows, 6)
    cols: dict[str, np.ndarray] = {}
    cols["liq_count_long"] = cnt[:, 0].copy()
    cols["liq_count_short"] = cnt[:, 1].copy()
    cols["liq_count"] = cnt[:, 0] + cnt[:, 1]
    cols["liq_notional_long"] = nsum[:, 0].copy()
    cols["liq_notional_short"] = nsum[:, 1].copy()
    cols["liq_notional"] = nsum[:, 0] + nsum[:, 1]
    tot = cols["liq_notional"]
    with np.errstate(invalid="ignore", divide="ignore"):
        cols["liq_imbalance"] = np.where(tot > 0, (cols["liq_notional_short"] - cols["liq_notional_long"]) / tot, 0.0)
    cols["liq_rate"] = cols["liq_count"] * (NS_PER_MIN / bar_ns)
    cols["trade_count"] = cnt[:, 2] + cnt[:, 3]
    cols["taker_buy_volume"] = qsum[:, 2].copy()
    cols["taker_sell_volume"] = qsum[:, 3].copy()
    cols["trade_volume"] = qsum[:, 2] + qsum[:, 3]
    cols["trade_notional"] = nsum[:, 2] + nsum[:, 3]
    vol = cols["trade_volume"]
    with np.errstate(invalid="ignore", divide="ignore"):
        cols["ofi"] = np.where(vol > 0, (cols["taker_buy_volume"] - cols["taker_sell_volume"]) / vol, 0.0)
    is_trade, is_fund, is_mark = (code == 2) | (code == 3), code == 4, code == 5
    tr_rows, tr_px = row[is_trade], price[is_trade]
    cols["first_price"] = _last_in_row(tr_rows, tr_px, n_rows, first=True)
    cols["last_price"] = _last_in_row(tr_rows, tr_px, n_rows)
    px = _ffill(cols["last_price"], np.isfinite(cols["last_price"]), seg_start)
    cols["price"] = px
    ret = np.full(n_rows, np.nan)
    if n_rows > 1:
        same = seg_start[1:] == seg_start[:-1]
        prev = np.where(same, px[:-1], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            ret[1:] = px[1:] / prev - 1.0
    cols["ret"] = ret
    f_last = _last_in_row(row[is_fund], price[is_fund], n_rows)
    cols["funding_rate"] = _ffill(f_last, ~np.isnan(f_last), seg_start)
    m_last = _last_in_row(row[is_mark], price[is_mark], n_rows)
    cols["mark_price"] = _ffill(m_last, ~np.isnan(m_last), seg_start)
    dom = rec["dominant"]
    cols["cascades"] = np.bincount(rrow, minlength=n_rows).astype(np.int64)
    cols["cascades_long"] = np.bincount(rrow[dom == Dominant.LONG], minlength=n_rows).astype(np.int64)
    cols["cascades_short"] = np.bincount(rrow[dom == Dominant.SHORT], minlength=n_rows).astype(np.int64)
    cols["cascade_notional"] = np.bincount(rrow, weights=rec["long_notional"] + rec["short_notional"],
                                           minlength=n_rows).astype(np.float64)

    # ---- z-scores: each bar against the previous zscore_window bars of its symbol ---------------
    for zname, src in _Z_SOURCES.items():
        z = np.full(n_rows, np.nan)
        x = cols[src].astype(np.float64)
        for s in present.tolist():
            a, e = int(row0[s]), int(row0[s] + n_bars[s])
            z[a:e] = RollingZScore(zscore_window, zscore_min).update_many(x[a:e])
        cols[zname] = z

    out = {
        "venue": np.array([registry.venue(s).name.lower() if registry is not None and s < len(registry) else "?"
                           for s in range(n_sym)], dtype=object)[row_sid] if n_sym else np.zeros(0, object),
        "symbol": np.array([registry.symbol(s) if registry is not None and s < len(registry) else str(s)
                            for s in range(n_sym)], dtype=object)[row_sid] if n_sym else np.zeros(0, object),
        "symbol_id": row_sid.astype(np.int32),
        "bar_start": pd.to_datetime(row_bar * bar_ns, unit="ns", utc=True),
        "bar_start_ns": row_bar * bar_ns,
        "bar_end_ns": (row_bar + 1) * bar_ns,
        "available_ns": (row_bar + 1) * bar_ns + lag_ns,
    }
    for c in FEATURE_COLUMNS:
        out[c] = cols[c]
    df = pd.DataFrame(out)
    if not dense:
        busy = (cols["liq_count"] > 0) | (cols["trade_count"] > 0) | (cols["cascades"] > 0) \
            | ~np.isnan(f_last) | ~np.isnan(m_last)
        df = df[busy].reset_index(drop=True)
    df.attrs.update({"bar_ns": bar_ns, "lag_ns": lag_ns, "zscore_window": zscore_window,
                     "zscore_min": int(zscore_min), "dropped": {k: v for k, v in dropped.items() if v},
                     "cascades": int(len(rec))})
    return df
