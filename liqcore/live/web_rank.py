"""The web page at whole-market scale: every traded symbol, and every watched one with a liquidation (``tradable``:
False), ranked by its current anomaly, and the view cut to
the page a browser shows (:func:`page_view`), so 400 symbols never cross the websocket whole at 4 Hz.

The details: docs/maintainers/live-feeds.md, "The web page at whole-market scale (liqcore.live.web_rank)".

May import: the standard library this package's ``report``.
"""
from __future__ import annotations

import math

__all__ = ["AnomalyBoard", "rank", "page_view", "page_bounds", "PER_PAGE", "MAX_PER_PAGE", "RECENT_CASCADES"]

#: rows per page by default, and at most
PER_PAGE = 25
MAX_PER_PAGE = 100
#: the market's latest cascades a push carries (the page's cascade table), besides all of the chart symbol's
RECENT_CASCADES = 50


class AnomalyBoard:
    def __init__(self, window_s: float = 300.0, windows: int = 24, step_s: float = 60.0):
        if not (step_s > 0 and window_s >= step_s) or windows < 3:
            raise ValueError("anomaly board: step_s > 0, window_s >= step_s and at least 3 baseline windows")
        self.step_s, self.per, self.windows = float(step_s), max(1, int(round(window_s / step_s))), int(windows)
        self.keep = self.per * (self.windows + 1) + 1  # steps kept per symbol: the window now and its baseline
        self._by: dict[str, dict[int, list]] = {}  # symbol -> {step index: [long notional, short notional]}
        self._first: dict[str, int] = {}  # symbol -> its first step
        #: symbol -> (step now, mean, std, baseline windows) of its last anomaly: the baseline is made again only when
        #: the step rolls over or a liquidation lands before the window now (a late one)
        self._base: dict[str, tuple] = {}

    def add(self, symbol: str, t_s: float, notional: float, long_liquidated: bool) -> None:
        if not (notional > 0 and math.isfinite(notional) and math.isfinite(t_s)):
            return
        k = int(t_s // self.step_s)
        b = self._by.get(symbol)
        if b is None:
            b = self._by[symbol] = {}
            self._first[symbol] = k
        x = b.get(k)
        if x is None:
            x = b[k] = [0.0, 0.0]
            if len(b) > self.keep:
                for old in sorted(b)[:len(b) - self.keep]:
                    del b[old]
        x[0 if long_liquidated else 1] += notional
        self._first[symbol] = min(self._first[symbol], k)
        c = self._base.get(symbol)
        if c is not None and k <= c[0] - self.per:
            del self._base[symbol]

    def _sum(self, b: dict, lo: int, hi: int) -> tuple[float, float]:
        """Long and short notional of the steps ``lo``..``hi`` (inclusive)."""
        lg = sh = 0.0
        for i in range(lo, hi + 1):
            x = b.get(i)
            if x is not None:
                lg += x[0]
                sh += x[1]
        return lg, sh

    def anomaly(self, symbol: str, now_s: float) -> tuple[float | None, float | None]:
        """``(z, purity)`` of ``symbol`` now."""
        b = self._by.get(symbol)
        if not b:
            return None, None
        k, per = int(now_s // self.step_s), self.per
        cur = self._sum(b, k - per + 1, k)
        total = cur[0] + cur[1]
        purity = max(cur) / total if total > 0 else None
        c = self._base.get(symbol)
        if c is None or c[0] != k:
            first = self._first[symbol]
            base = [sum(self._sum(b, k - per * j - per + 1, k - per * j)) for j in range(1, self.windows + 1)
                    if k - per * j >= first]
            if len(base) < 3:
                c = (k, 0.0, 1.0, len(base))
            else:
                mean = sum(base) / len(base)
                c = (k, mean, max(1.0, math.sqrt(sum((x - mean) ** 2 for x in base) / (len(base) - 1))), len(base))
            self._base[symbol] = c
        if c[3] < 3:
            return None, purity
        return (total - c[1]) / c[2], purity


def rank(rows: list[dict], board: AnomalyBoard, now_s: float, last_cascade: dict) -> list[dict]:
    """The rows (each a copy with ``rank``, ``z``, ``purity``, ``last_cascade_ns``), most anomalous first."""
    out = []
    for r in rows:
        z, purity = board.anomaly(r["symbol"], now_s)
        out.append(dict(r, z=z, purity=purity, last_cascade_ns=last_cascade.get(r["symbol"])))
    out.sort(key=lambda r: (not r.get("active"), -(r["z"] if r["z"] is not None else -math.inf),
                            -(r["purity"] if r["purity"] is not None else -1.0), -(r["last_cascade_ns"] or 0),
                            r["symbol"]))
    for i, r in enumerate(out, 1):
        r["rank"] = i
    return out


def page_view(view: dict, prefs: dict | None) -> dict:
    """The view one page shows: the ranked symbol rows of its page (``prefs``: ``page`` from 0, ``per_page``) and
    the price history of its chart symbol (``prefs["chart"]``; default the best-ranked symbol with prices) only.
    ``snapshot.symbols_total``, ``page``, ``pages``, ``per_page`` and ``history.price_symbols`` say what else
    there is; ``history.cascades`` holds the chart symbol's and the market's latest :data:`RECENT_CASCADES`
    (``cascades_total``: how many the view holds)."""
    prefs = prefs or {}
    snap = view.get("snapshot") or {}
    rows = snap.get("symbols") or []
    pg, pages, per = page_bounds(len(rows), prefs)
    shown = rows[pg * per:(pg + 1) * per]
    out_snap = dict(snap, symbols=shown, symbols_total=len(rows), page=pg, pages=pages, per_page=per)
    ck = snap.get("checklist")
    cpd = (ck or {}).get("cascades_per_day") or {}
    if len(cpd) > 10:  # a whole market: the counts, and the rates of the page's symbols
        from liqcore.live.report import TARGETS, per_day_summary

        mine = {r["symbol"] for r in shown}
        out_snap["checklist"] = dict(ck, cascades_per_day={k: v for k, v in cpd.items() if k in mine},
                                     cascades_per_day_summary=per_day_summary(cpd, *TARGETS["cascades_per_day"]))
    hist = view.get("history") or {}
    prices = hist.get("prices") or {}
    chart = prefs.get("chart")
    if chart not in prices:
        chart = next((r["symbol"] for r in rows if r["symbol"] in prices), None)
    out_hist = dict(hist, prices={chart: prices[chart]} if chart in prices else {}, price_symbols=sorted(prices),
                    chart=chart)
    casc = hist.get("cascades") or {}
    n = sum(map(len, casc.values()))
    if n > RECENT_CASCADES:  # a whole market: the chart symbol's and the latest across the market, not every one
        import heapq

        latest = heapq.nlargest(RECENT_CASCADES, ((c["ts_ns"], s, i) for s, q in casc.items() for i, c in enumerate(q)))
        keep: dict = {}
        for _, s, i in latest:
            keep.setdefault(s, set()).add(i)
        out_hist["cascades"] = {s: [c for i, c in enumerate(q) if s == chart or i in keep.get(s, ())]
                                for s, q in casc.items() if s == chart or s in keep}
    out_hist["cascades_total"] = n
    return dict(view, snapshot=out_snap, history=out_hist)


def page_bounds(n: int, prefs: dict | None) -> tuple[int, int, int]:
    """``(page, pages, per_page)`` of ``n`` ranked rows as ``prefs`` asks (page from 0, clamped; per_page 1-100)."""
    prefs = prefs or {}
    per = _int(prefs.get("per_page"), PER_PAGE, 1, MAX_PER_PAGE)
    pages = max(1, -(-n // per))
    return _int(prefs.get("page"), 0, 0, pages - 1), pages, per


def _int(v, default: int, lo: int, hi: int) -> int:
    try:
        x = int(v)
    except (TypeError, ValueError):
        return default
    return min(hi, max(lo, x))
