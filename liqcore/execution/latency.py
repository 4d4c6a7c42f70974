"""Latency as measured: order latencies drawn from a live session's journal, feed latency said in words.

:func:`split_latency`, :func:`journal_inbound_ns`, :func:`apply_feed_latency`, :func:`apply_order_latency`,
:func:`feed_latency_note`.  The rules (samples, rate buckets, the outbound share, feed latency modes):
docs/explanation/fill-model.md, "Latency" and "Latency as measured: the rules".

May import: numpy, ``types``, ``params`` and ``io.sqlite_reader`` (the journal).
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from liqcore.types import Flag, Kind

__all__ = ["RATE_WINDOW_NS", "RATE_EDGES", "LatencySamples", "journal_latencies", "liquidation_rate", "split_latency",
           "journal_inbound_ns", "rate_bucket", "draw_latencies", "apply_order_latency", "order_latency_note", "apply_feed_latency",
           "feed_latency_note"]

RATE_WINDOW_NS = 60_000_000_000  # the rate is liquidations in the minute up to the send (decision)
#: bucket edges of the liquidation rate (liquidations per minute): [0, 1), [1, 10), [10, 100), [100, inf)
RATE_EDGES = (1.0, 10.0, 100.0)
_LIQ = int(Kind.LIQUIDATION)


@dataclass(frozen=True)
class LatencySamples:
    """Measured order latencies (ns) and the liquidation rate (per minute; NaN = not recorded) at each send."""

    latency_ns: np.ndarray
    rate: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.latency_ns)


def journal_latencies(path) -> LatencySamples:
    """The entry orders' latencies (create written -> the venue's answer) of the journal at ``path``.
    Raises ValueError when the file is not a journal or holds no measured latency."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"order-latency-from: {path} is a directory; expected a live session's journal (its "
                         ".sqlite file)")
    if not p.is_file():
        raise ValueError(f"order-latency-from: {path} does not exist")
    try:
        from liqcore.io.sqlite_reader import open_reader

        db = open_reader(p)  # (closed last: no -wal / -shm left behind)
        rows = db.execute("SELECT type, key, ts_ns, data FROM log WHERE type IN ('sent', 'ack', 'order_update') "
                          "ORDER BY id").fetchall()
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"order-latency-from: {path} is not a liqcore journal ({exc})") from None
    finally:
        try:
            db.close()
        except UnboundLocalError:  # (connect itself failed)
            pass
    sent: dict[str, tuple[int, float]] = {}
    ack: dict[str, int] = {}
    first_update: dict[str, int] = {}
    for type_, key, ts, data in rows:
        d = orjson.loads(data)
        if type_ == "sent":
            if (d.get("kind") or "entry") == "entry" and d.get("sent_ns") and key not in sent:
                r = d.get("liq_per_min")
                sent[key] = (int(d["sent_ns"]), float(r) if r is not None else float("nan"))
        elif type_ == "ack":
            if (d.get("kind") or "entry") == "entry" and d.get("ack_ns") and key not in ack:
                ack[key] = int(d["ack_ns"])
        elif (d.get("kind") or "entry") == "entry" and d.get("status") != "pending" and key not in first_update:
            first_update[key] = int(ts)
    lat, rate = [], []
    for cid, (t_sent, r) in sent.items():
        t_ack = ack.get(cid, first_update.get(cid))
        if t_ack is not None and t_ack >= t_sent:
            lat.append(t_ack - t_sent)
            rate.append(r)
    if not lat:
        raise ValueError(f"order-latency-from: {path} holds no measured order latency (no entry with both its "
                         "create sent and the venue's answer)")
    return LatencySamples(np.asarray(lat, np.int64), np.asarray(rate, float), str(path))


def split_latency(round_trip_ns, split: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(outbound, inbound) ns of measured round trips: ``split`` (0..1) of each on the way out (the order's
    arrival at the venue), the rest on the way back (the answer seen by the bot); outbound + inbound =
    the round trip."""
    if not 0.0 <= split <= 1.0:
        raise ValueError(f"latency-split: must be within 0..1; got {split}")
    rt = np.asarray(round_trip_ns, np.int64)
    out = np.rint(rt * float(split)).astype(np.int64)
    return out, rt - out


def journal_inbound_ns(path, split: float = 0.5) -> int:
    """The way back (ns) of the journal at ``path``'s order latencies: the median of each round trip's
    inbound share (``1 - split`` of it).  The backtest's draws carry each order's way out; the bot learns of
    fills this long after them (ValueError as :func:`journal_latencies`)."""
    p = Path(path)
    key = (str(p), p.stat().st_mtime_ns if p.is_file() else 0, float(split))
    if key not in _INBOUND:
        _out, back = split_latency(journal_latencies(path).latency_ns, split)
        _INBOUND[key] = int(np.median(back))
    return _INBOUND[key]


_INBOUND: dict = {}  # (path, mtime, split) -> journal_inbound_ns


def liquidation_rate(events: np.ndarray, times) -> np.ndarray:
    """Liquidations per minute at each of ``times`` (receive-time clock): the LIQUIDATION events of
    ``events`` received in the minute up to and including that time."""
    t = np.asarray(times, np.int64)
    liq = np.sort(events["ts_recv"][events["kind"] == _LIQ])
    hi = np.searchsorted(liq, t, side="right")
    lo = np.searchsorted(liq, t - RATE_WINDOW_NS, side="right")
    return (hi - lo).astype(float) * (60e9 / RATE_WINDOW_NS)


def rate_bucket(rate) -> np.ndarray:
    """The :data:`RATE_EDGES` bucket (0..3) of each rate; NaN -> -1."""
    r = np.asarray(rate, float)
    b = np.searchsorted(np.asarray(RATE_EDGES), np.nan_to_num(r, nan=0.0), side="right")
    return np.where(np.isnan(r), -1, b).astype(np.int64)


def draw_latencies(samples: LatencySamples, n: int, seed: int, rates=None) -> np.ndarray:
    """``n`` latencies (ns, each >= 1) drawn with replacement from ``samples`` by a generator seeded with
    ``seed``; with ``rates`` (one per draw) each comes from the samples of its rate's bucket (the
    nearest bucket with samples when its own has none; samples without a rate serve every bucket only
    when no sample has one)."""
    rng = np.random.default_rng(int(seed))
    u = rng.random(n)
    lat = np.sort(samples.latency_ns)
    if rates is None:
        pools = {None: lat}
    else:
        sb = rate_bucket(samples.rate)
        order = np.argsort(samples.latency_ns, kind="stable")
        sb = sb[order]
        pools = {b: lat[sb == b] for b in range(len(RATE_EDGES) + 1) if (sb == b).any()}
        if not pools:
            raise ValueError(f"order-latency-by-rate: {samples.source} records no liquidation rate at its sends "
                             "(a journal of an older session); drop order-latency-by-rate")
    out = np.empty(n, np.int64)
    if rates is None:
        idx = np.minimum((u * len(lat)).astype(np.int64), len(lat) - 1)
        out[:] = lat[idx]
    else:
        want = rate_bucket(rates)
        have = np.array(sorted(pools))
        for i in range(n):
            b = int(want[i])
            pool = pools.get(b)
            if pool is None:
                pool = pools[int(have[np.argmin(np.abs(have - b))])]
            out[i] = pool[min(int(u[i] * len(pool)), len(pool) - 1)]
    return np.maximum(out, 1)  # 0 in a signal means "the run's order-latency"


def apply_order_latency(signals: np.ndarray, events: np.ndarray, params) -> np.ndarray:
    """``signals`` with ``latency_ns`` drawn from the journal named by ``params.order_latency_from``
    (a copy; the signals unchanged without one).  Draws follow the signals' processing order."""
    src = getattr(params, "order_latency_from", None)
    if not src:
        return signals
    samples = journal_latencies(src)
    sig = signals.copy()
    rates = liquidation_rate(events, sig["ts_ns"]) if getattr(params, "order_latency_by_rate", False) else None
    rt = draw_latencies(samples, len(sig), int(getattr(params, "latency_seed", 0)), rates)
    out, _back = split_latency(rt, float(getattr(params, "latency_split", 0.5)))
    sig["latency_ns"] = np.maximum(out, 1)  # the way out only: arrival at the venue (0 = the run's order-latency)
    return sig


def order_latency_note(params, signals: np.ndarray | None = None) -> str:
    """Which order latency a run used, in words."""
    src = getattr(params, "order_latency_from", None)
    if not src:
        from liqcore.params import latency_ways

        out, back = latency_ways(params)
        return (f"constant {params.order_latency_ns / 1e6:g} ms round trip (order-latency): {out / 1e6:g} ms out, "
                f"{back / 1e6:g} ms back (latency-split {float(getattr(params, 'latency_split', 0.5)) * 100:g} %)")
    how = "by the liquidation rate at the send" if getattr(params, "order_latency_by_rate", False) else "unconditioned"
    split = float(getattr(params, "latency_split", 0.5))
    text = (f"drawn from the measured order latencies of {src} ({how}, seed {int(getattr(params, 'latency_seed', 0))}), "
            f"outbound {split * 100:g} % of each round trip (latency-split)")
    if signals is not None and len(signals):
        lat = signals["latency_ns"][signals["latency_ns"] > 0]
        if len(lat):
            text += (f": median {np.median(lat) / 1e6:.1f} ms, p99 {np.percentile(lat, 99) / 1e6:.1f} ms "
                     f"over {len(lat):,} signals")
    return text


def apply_feed_latency(events: np.ndarray, params) -> np.ndarray:
    """``feed-latency-mode constant``: every event received at ``ts_event + feed-latency`` (flag
    RECV_ESTIMATED), in that order (a copy); otherwise ``events`` unchanged."""
    if getattr(params, "feed_latency_mode", "recorded") != "constant" or events is None or not len(events):
        return events
    ev = events.copy()
    ev["ts_recv"] = ev["ts_event"] + int(params.feed_latency_ns)
    ev["flags"] |= int(Flag.RECV_ESTIMATED)
    return ev[np.argsort(ev["ts_recv"], kind="stable")]


def feed_latency_note(events: np.ndarray | None, feed_latency_ns: int, mode: str = "recorded") -> str:
    """Which feed latency a replay used, in words: per event from the recorded receive times, the constant
    ``feed-latency`` (events recorded without one), or both; with ``mode`` constant, the constant on all."""
    if events is None or not len(events):
        return "no events"
    if mode == "constant":
        return (f"constant {feed_latency_ns / 1e6:g} ms (feed-latency, feed-latency-mode constant) on all "
                f"{len(events):,} events: recorded receive times not used")
    est = (events["flags"] & int(Flag.RECV_ESTIMATED)) != 0
    n_est = int(est.sum())
    n_rec = len(events) - n_est
    parts = []
    if n_rec:
        rec = slice(None) if n_est == 0 else ~est
        d = (events["ts_recv"][rec] - events["ts_event"][rec]).astype(float)
        # (one partition for both; whole nanoseconds as floats: the 50th percentile is the median exactly)
        med, p99 = np.percentile(d, [50, 99])
        parts.append(f"recorded per event (ts_recv - ts_event) on {n_rec:,} events: median {med / 1e6:.1f} ms, "
                     f"p99 {p99 / 1e6:.1f} ms")
    if n_est:
        parts.append(f"constant {feed_latency_ns / 1e6:g} ms (feed-latency) on {n_est:,} events recorded without a "
                     "receive time")
    return "; ".join(parts)
