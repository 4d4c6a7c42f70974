"""Leak audit: every feature recomputed on the input truncated at sampled times.

For each sampled time ``s`` the audit builds a fresh :class:`~liqcore.features.store.FeatureStore`
from the events with ``ts_recv <= s`` only (the data as a process would have had it at ``s``, known
complete up to ``s``) and compares each feature's value at ``s`` with the value the store built on
the whole input gives at ``s``.  A point-in-time feature gives the same number (bit for bit) or null
in both; anything else is a leak: the full-input value used something received after ``s``.

Sampled times: half drawn uniformly over the data, half exact receive times of events (where an
off-by-one at ``t`` would show), seeded.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from liqcore.features.registry import NAMED_FEATURES, parse_name, registered_features
from liqcore.features.store import REASONS, FeatureStore, names_list

__all__ = ["leak_audit", "AuditResult", "Leak", "default_audit_names"]


@dataclass
class Leak:
    t_ns: int
    symbol: str
    name: str
    full: float | None
    truncated: float | None
    full_reason: str = ""
    truncated_reason: str = ""

    def __str__(self) -> str:
        def fmt(v, r):
            return f"null ({r})" if v is None else repr(v)

        return (f"LEAK {self.name} {self.symbol} at t_ns={self.t_ns}: whole input {fmt(self.full, self.full_reason)}, "
                f"input truncated at t {fmt(self.truncated, self.truncated_reason)}")


@dataclass
class AuditResult:
    names: list[str]
    times: np.ndarray
    symbols: list[str]
    checked: int = 0
    non_null: int = 0
    leaks: list[Leak] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.leaks

    def __repr__(self) -> str:
        span = ""
        if len(self.times):
            lo, hi = (str(np.datetime64(int(t), "ns").astype("datetime64[s]")).replace("T", " ") for t in (self.times.min(), self.times.max()))
            span = f" at {len(self.times)} times {lo} .. {hi} UTC"
        head = (f"<AuditResult {'no leak' if self.ok else f'{len(self.leaks)} LEAK(S)'}: {len(self.names)} feature(s) x "
                f"{len(self.symbols)} symbol(s){span}; {self.checked} values checked, {self.non_null} non-null")
        return head + (f"; first: {self.leaks[0]}"[:300] if self.leaks else "") + ">"

    def _repr_html_(self) -> str:
        import html

        rows = "".join(f"<tr><td>{html.escape(l.name)}</td><td>{html.escape(l.symbol)}</td><td>{l.t_ns}</td>"
                       f"<td>{html.escape(repr(l.full))}</td><td>{html.escape(repr(l.truncated))}</td></tr>"
                       for l in self.leaks[:20])
        table = ("<table><thead><tr><th>feature</th><th>symbol</th><th>t (ns)</th><th>whole input</th>"
                 f"<th>input truncated at t</th></tr></thead><tbody>{rows}</tbody></table>") if self.leaks else ""
        return f"<div><b>AuditResult</b>: {html.escape(repr(self)[1:-1])}{table}</div>"

    def to_json(self) -> dict:
        return {"ok": self.ok, "checked": self.checked, "non_null": self.non_null, "names": self.names,
                "symbols": self.symbols, "times_ns": [int(t) for t in self.times],
                "leaks": [l.__dict__ for l in self.leaks]}


def default_audit_names() -> list[str]:
    """Every named feature and every registered one (at a 1m and a 5m:zscore window)."""
    out = list(NAMED_FEATURES)
    for key in registered_features():
        out += [f"{key}@1m", f"{key}@5m:zscore"]
    return out


def sample_times(events: np.ndarray, samples: int, seed: int = 0) -> np.ndarray:
    ts = np.sort(events["ts_recv"])
    if not len(ts):
        raise ValueError("leak audit: no events")
    rng = np.random.default_rng(seed)
    k_uni = samples - samples // 2
    uni = rng.integers(int(ts[0]), int(ts[-1]) + 1, size=k_uni)
    ev = ts[rng.integers(0, len(ts), size=samples // 2)]
    return np.unique(np.concatenate([uni, ev]).astype(np.int64))


def leak_audit(events: np.ndarray, registry, names=None, *, samples: int = 20, seed: int = 0, symbols=None,
               times=None, lookback: int = 96, min_periods: int = 20, params=None, progress=None) -> AuditResult:
    """Audit ``names`` (default: every named and registered feature) on ``events``; see the module doc."""
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise ValueError(f"samples: must be a positive integer; got {samples!r}")
    names = default_audit_names() if names is None else [str(parse_name(n)) for n in names_list(names)]
    full = FeatureStore(events, registry, params=params, lookback=lookback, min_periods=min_periods)
    sids = []
    for s in (symbols if symbols is not None else [None]):
        for sid in full.resolve(s):
            if sid not in sids:
                sids.append(sid)
    t = np.sort(np.asarray(times, dtype=np.int64)) if times is not None else sample_times(full.events, samples, seed)
    sym = {sid: f"{registry.venue(sid).name.lower()}:{registry.symbol(sid)}" for sid in sids}
    res = AuditResult(names, t, [sym[s] for s in sids])
    # whole input: every time at once
    ref = {}
    for sid in sids:
        full._batch = True
        try:
            for n in names:
                ref[(sid, n)] = full.values(n, sid, t)
        finally:
            full._batch = False
            full._clear_cache()
    ts_recv = full.events["ts_recv"]
    for i, s in enumerate(t.tolist()):
        if progress is not None:
            progress(i, len(t), s)
        cut = full.events[: int(np.searchsorted(ts_recv, s, side="right"))]
        if not len(cut):
            continue
        part = FeatureStore(cut, registry, end_ns=s, params=params, lookback=lookback, min_periods=min_periods)
        for sid in sids:
            for n in names:
                fv, fr = ref[(sid, n)]
                pv, pr = part.values(n, sid, np.array([s], np.int64))
                a = None if fr[i] else float(fv[i])
                b = None if pr[0] else float(pv[0])
                res.checked += 1
                res.non_null += a is not None
                same = (a is None and b is None) or (a is not None and b is not None
                                                     and (a == b or (a != a and b != b)))
                if not same:
                    res.leaks.append(Leak(int(s), sym[sid], n, a, b, REASONS[int(fr[i])], REASONS[int(pr[0])]))
            part._clear_cache()
    return res
