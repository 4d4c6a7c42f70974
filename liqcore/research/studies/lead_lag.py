"""The ``lead-lag`` study: which venue of one instrument fires first in a cascade, by how many ms.

The details: docs/maintainers/research.md, "The `lead-lag` study, in full".

May import: ``numpy``, ``pandas``, ``backtest.report``, ``config``, ``instruments``, ``types`` and this
package's ``_common``.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from liqcore._extras import need
from liqcore.research.studies._common import NS_S, Panel, StudyResult, unavailable
from liqcore.types import Kind, RecordKind, Venue

STEP_MS = 10
MAX_LAG_MS = 1000
SPAN_S = 5


def _boot_median(x: np.ndarray, n_boot: int, ci: float, rng) -> tuple[float, float]:
    if len(x) < 2:
        return math.nan, math.nan
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    med = np.median(x[idx], axis=1)
    a = (1.0 - ci) / 2.0
    return float(np.quantile(med, a)), float(np.quantile(med, 1.0 - a))


def _grid_returns(t: np.ndarray, p: np.ndarray, a: int, n: int, step: int) -> np.ndarray:
    """Log returns of the last trade price on the grid a, a+step, ... (n points)."""
    grid = a + step * np.arange(n)
    k = np.searchsorted(t, grid, side="right") - 1
    if k.size == 0 or k[0] < 0:
        return np.full(n - 1, np.nan)
    lp = np.log(p[k])
    return np.diff(lp)


def _verdict(row: dict, a: str, b: str, slow: str) -> str:
    """A pair's verdict on event time: ``"<venue> leads"`` only when the delay's CI excludes 0 AND lies
    wholly beyond +-``resolution_ms`` (the slower venue's throttle: its first liquidation shown is late by
    up to that); ``"not resolvable at <slow>'s resolution"`` when the CI excludes 0 within it; ``"no
    lead"`` when the CI spans 0; ``"too few"`` without a CI."""
    lo, hi, med, res_ms = row["lo_ms_event"], row["hi_ms_event"], row["median_ms_event"], row["resolution_ms"]
    if row["n"] < 2 or not math.isfinite(lo):
        return "too few"
    if lo <= 0 <= hi:
        return "no lead"
    if lo > res_ms or hi < -res_ms:
        return f"{a if med > 0 else b} leads"
    return f"not resolvable at {_owner(slow, a, b)} resolution"


def _owner(slow: str, a: str, b: str) -> str:
    """Whose throttle sets the resolution: ``"<slow>'s"``, or both venues' on a tie (``slow`` "neither")."""
    return f"{a}'s and {b}'s" if slow == NEITHER else f"{slow}'s"


#: ``slower_venue`` when the two venues' throttles are equal: neither is slower (never the first venue by default)
NEITHER = "neither"


def study_lead_lag(panel: Panel, params=None, table=None, n_boot: int = 2000, ci: float = 0.95, **_) -> StudyResult:
    """See the module."""
    pd = need("research", "pandas")

    from liqcore.config import Params
    from liqcore.instruments import detect_instruments, groups, throttle_ns

    title = "cross-venue lead-lag of liquidation cascades"
    ev = panel.events
    reg = panel.registry
    if reg is None or len(ev) == 0:
        return unavailable("lead-lag", title, "the input holds no events")
    venues_present = sorted({int(v) for v in np.unique(ev["venue"][ev["kind"] == Kind.LIQUIDATION])})
    if len(venues_present) < 2:
        return unavailable("lead-lag", title, "it needs liquidations of one instrument on at least two venues")
    params = params or Params()
    ev_sorted = ev[np.argsort(ev["ts_event"], kind="stable")]
    group, names = groups(reg, table)
    records, shares, counts, _ = detect_instruments(ev_sorted, reg, params, table, group=group)
    conf = records[records["record"] == RecordKind.CONFIRMED]
    by_cid: dict[int, dict[int, tuple]] = {}
    for s in shares:
        by_cid.setdefault(int(s["cascade_id"]), {})[int(s["venue"])] = (int(s["first_large_ns"]),
                                                                        int(s["first_large_recv_ns"]),
                                                                        int(s["symbol_id"]))
    cross = {cid: d for cid, d in by_cid.items() if sum(1 for x in d.values() if x[0] >= 0) >= 2}
    if not cross:
        return unavailable("lead-lag", title, f"no cascade holds large liquidations of two venues "
                                              f"({len(conf)} instrument-scope cascades)")
    rng = np.random.default_rng(0)
    vname = {int(v): Venue(v).name.lower() for v in venues_present}
    # the venues' throttles, from the events (their flags and dates)
    thr_ms = {}
    for v in venues_present:
        lq = ev[(ev["venue"] == v) & (ev["kind"] == Kind.LIQUIDATION)]
        flags = int(np.bitwise_or.reduce(lq["flags"])) if len(lq) else 0
        thr_ms[v] = throttle_ns(v, int(lq["ts_event"][0]) if len(lq) else None, flags) / 1e6
    rows = []
    head = {"cascades": int(len(conf)), "cross_venue_cascades": len(cross)}
    for a, b in itertools.combinations(venues_present, 2):
        de, dr = [], []
        for d in cross.values():
            if a in d and b in d and d[a][0] >= 0 and d[b][0] >= 0:
                de.append((d[b][0] - d[a][0]) / 1e6)
                dr.append((d[b][1] - d[a][1]) / 1e6)
        de, dr = np.array(de), np.array(dr)
        row = {"venue_a": vname[a], "venue_b": vname[b], "n": int(len(de))}
        for lab, x in (("event", de), ("recv", dr)):
            lo, hi = _boot_median(x, n_boot, ci, rng)
            row[f"median_ms_{lab}"] = float(np.median(x)) if len(x) else math.nan
            row[f"lo_ms_{lab}"], row[f"hi_ms_{lab}"] = lo, hi
            row[f"a_first_pct_{lab}"] = 100.0 * float(np.mean(x > 0)) if len(x) else math.nan
        row["resolution_ms"] = float(max(thr_ms[a], thr_ms[b]))
        # the venue with the coarser throttle; on a tie neither is (it said the first venue, beside "<it> leads")
        row["slower_venue"] = (NEITHER if thr_ms[a] == thr_ms[b] else vname[a] if thr_ms[a] > thr_ms[b] else vname[b])
        row["verdict"] = _verdict(row, vname[a], vname[b], row["slower_venue"])
        rows.append(row)
        head[f"{vname[a]}_{vname[b]}_verdict"] = row["verdict"]
        head[f"{vname[a]}_{vname[b]}_median_ms_event"] = row["median_ms_event"]
        head[f"{vname[a]}_{vname[b]}_ci_ms_event"] = [row["lo_ms_event"], row["hi_ms_event"]]
    pairs = pd.DataFrame(rows)
    # which venue fired first (the record's venue: the earliest large liquidation of the cascade)
    first = [int(c["venue"]) for c in conf if int(c["cascade_id"]) in cross]
    fired = pd.DataFrame([{"venue": vname[v], "fired_first": first.count(v),
                           "share_pct": 100.0 * first.count(v) / len(first), "throttle_ms": thr_ms[v]}
                          for v in venues_present])
    # the price lead: trade-price returns on a 10 ms grid around each cross-venue cascade
    starts = np.array([int(c["start_ns"]) for c in conf if int(c["cascade_id"]) in cross], dtype=np.int64)
    trades = {}
    for v in venues_present:
        tr = ev_sorted[(ev_sorted["venue"] == v) & (ev_sorted["kind"] == Kind.TRADE) & (ev_sorted["price"] > 0)]
        trades[v] = (tr["ts_event"].astype(np.int64), tr["price"].astype(np.float64))
    step = STEP_MS * 1_000_000
    n = int(2 * SPAN_S * NS_S // step) + 1
    L = MAX_LAG_MS // STEP_MS
    lags = np.arange(-L, L + 1) * STEP_MS
    curves = {}
    xrows = []
    for a, b in itertools.combinations(venues_present, 2):
        if len(trades[a][0]) < 10 or len(trades[b][0]) < 10:
            continue
        num = np.zeros(len(lags))
        sa = sb = 0.0
        used = 0
        for s in starts:
            ra = _grid_returns(*trades[a], s - SPAN_S * NS_S, n, step)
            rb = _grid_returns(*trades[b], s - SPAN_S * NS_S, n, step)
            if not (np.all(np.isfinite(ra)) and np.all(np.isfinite(rb))):
                continue
            used += 1
            sa += float(ra @ ra)
            sb += float(rb @ rb)
            for i, k in enumerate(range(-L, L + 1)):  # corr(a_t, b_{t+k}): k > 0 = a leads
                if k >= 0:
                    num[i] += float(ra[:len(ra) - k] @ rb[k:])
                else:
                    num[i] += float(ra[-k:] @ rb[:len(rb) + k])
        if used == 0 or sa == 0 or sb == 0:
            continue
        xc = num / math.sqrt(sa * sb)
        curves[(vname[a], vname[b])] = xc
        k = int(np.argmax(xc))
        xrows.append({"venue_a": vname[a], "venue_b": vname[b], "cascades": used,
                      "peak_lag_ms": int(lags[k]), "peak_corr": float(xc[k]),
                      "corr_at_0": float(xc[L])})
        head[f"{vname[a]}_{vname[b]}_price_lead_ms"] = int(lags[k])
    price = pd.DataFrame(xrows)
    res = StudyResult("lead-lag", title, tables={"delays": pairs, "fired_first": fired, "price_lead": price})
    res.headline = head
    pct = int(round(ci * 100))
    for r in rows:
        a, b = r["venue_a"], r["venue_b"]
        lo, hi, med = r["lo_ms_event"], r["hi_ms_event"], r["median_ms_event"]
        if r["n"] < 2 or not math.isfinite(lo):
            res.findings.append(f"{a} vs {b}: {r['n']} cascade(s) with large liquidations on both: too few for a CI.")
            continue
        verdict, res_ms = r["verdict"], r["resolution_ms"]
        if verdict.endswith(" leads"):
            verdict += f" by {abs(med):.0f} ms"
            if res_ms > 0:
                verdict += f" (the CI lies beyond the {res_ms:.0f} ms throttle)"
        elif verdict == "no lead":
            verdict = "no lead (the CI spans 0)"
            if res_ms > 0:
                verdict += f"; a lead under {res_ms:.0f} ms is not resolvable at this pair's slower venue's resolution"
        else:
            verdict = (f"{verdict} (the CI excludes 0 but not the +-{res_ms:.0f} ms of {_owner(r['slower_venue'], a, b)} throttle: a later "
                       f"liquidation replaces the first within each window, so a lead this small cannot be told from "
                       f"the throttle)")
        res.findings.append(
            f"{a} vs {b}: {b}'s first large liquidation comes {med:+.0f} ms after {a}'s (median of {r['n']} "
            f"cross-venue cascades, {pct}% CI [{lo:+.0f}, {hi:+.0f}] ms, event time; receive time "
            f"{r['median_ms_recv']:+.0f} ms [{r['lo_ms_recv']:+.0f}, {r['hi_ms_recv']:+.0f}]): {verdict}.")
    for r in xrows:
        res.findings.append(
            f"price: {r['venue_a']} vs {r['venue_b']} trade-price returns (10 ms grid, +-{SPAN_S} s around "
            f"{r['cascades']} cascades) correlate most at lag {r['peak_lag_ms']:+d} ms (corr {r['peak_corr']:.3f}; "
            f"positive = {r['venue_a']} moves first).")
    res.findings.append("fired first: " + ", ".join(
        f"{r.venue} {r.fired_first} ({r.share_pct:.0f} %)" for r in fired.itertuples()) + ".")
    throttled = [f"{vname[v]} {thr_ms[v]:.0f} ms" for v in venues_present if thr_ms[v] > 0]
    if throttled:
        res.findings.append(
            "throttle bias: " + ", ".join(throttled) + " -- a throttled stream shows at most one liquidation per "
            "symbol per window (the latest), so its first liquidation of a cascade is late by up to its throttle on "
            "event time and on receive time: a delay toward a throttled venue within its throttle is no evidence "
            "that the unthrottled venue leads.")
    else:
        res.findings.append("throttle bias: none of these venues' liquidations is throttled, so first-event times "
                            "are the venues' own.")

    def draw(path, pairs=pairs, curves=curves, lags=lags, cross=cross):
        from liqcore.backtest.report import new_figure
        from liqcore.research.studies._common import finish_figure

        fig, axes = new_figure(1, 2, figsize=(11, 4))
        ax = axes[0]
        for r in rows:
            a, b = r["venue_a"], r["venue_b"]
            ia, ib = (int(Venue.parse(a)), int(Venue.parse(b)))
            x = np.array([(d[ib][0] - d[ia][0]) / 1e6 for d in cross.values()
                          if ia in d and ib in d and d[ia][0] >= 0 and d[ib][0] >= 0])
            if len(x):
                ax.hist(np.clip(x, -2000, 2000), bins=60, alpha=0.5, label=f"{b} - {a} (median {np.median(x):+.0f} ms)")
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel("delay between first large liquidations (ms, event time, clipped at 2 s)")
        ax.set_ylabel("cascades")
        ax.legend(fontsize=8)
        ax = axes[1]
        for (a, b), xc in curves.items():
            ax.plot(lags, xc, label=f"{a} vs {b}")
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel("lag k (ms): return of venue B at t+k against venue A at t")
        ax.set_ylabel("pooled correlation around cascades")
        ax.legend(fontsize=8)
        fig.tight_layout()
        return finish_figure(fig, path, dpi=90)

    res.plots.append(("venue_lead_lag.png", draw))
    return res
