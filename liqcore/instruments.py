"""Instruments across venues: one id for the same contract on every venue.

The details: docs/data.md, "Instruments across venues".

May import: ``numpy``, ``_libs.detector``, ``_libs.xvenue``, ``types``, ``venues.instruments`` and ``venues.registry``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from liqcore.types import EVENT_DTYPE, Flag, Venue

__all__ = ["Table", "default_table", "load_table", "instrument_of", "groups", "merged_tape", "throttle_ns",
           "known_symbols", "unknown_symbol_note", "checks_symbols",
           "detect_instruments", "retarget"]

#: a sampled liquidation stream's throttle: at most one liquidation per symbol per second
_SAMPLED_NS = 1_000_000_000


def throttle_ns(venue, ts_ns: int | None = None, flags: int | None = None) -> int:
    """The venue's liquidation-stream throttle (ns, 0: every event) at ``ts_ns`` (default: now);
    an event flagged THROTTLED is throttled to one per second whatever its venue, and a SYNTHETIC one
    is throttled only when so flagged (the synthetic market says which stream it throttled)."""
    from liqcore.venues.registry import spec_or_none

    spec = spec_or_none(Venue.parse(venue))  # (its sampled_liquidations, and sampled_before_ns: a sample until then)
    if flags is not None and int(flags) & int(Flag.THROTTLED):
        return _SAMPLED_NS
    if flags is not None and int(flags) & int(Flag.SYNTHETIC):
        return 0
    if spec is None:
        return 0
    if spec.sampled_liquidations or (ts_ns is not None and int(ts_ns) < spec.sampled_before_ns):
        return _SAMPLED_NS
    return 0


@dataclass(frozen=True)
class Table:
    """Instrument id -> {venue name: venue symbol}, and the reverse lookup."""

    rows: Mapping[str, Mapping[str, str]]

    def members(self, instrument: str) -> dict[str, str]:
        try:
            return dict(self.rows[instrument])
        except KeyError:
            raise ValueError(f"instrument: unknown instrument {instrument!r} (known: "
                             f"{', '.join(sorted(self.rows)[:8])}...)") from None

    def lookup(self, venue, symbol: str) -> str | None:
        """The instrument of a (venue, symbol): the table's row, else the naming rule, else None."""
        name = Venue.parse(venue).name.lower()
        sym = str(symbol).upper()
        for inst, row in self.rows.items():
            if str(row.get(name, "")).upper() == sym:
                return inst
        return instrument_of(name, sym)


def instrument_of(venue: str, symbol: str) -> str | None:
    """The venue-neutral instrument (``BASE-USDT``) of a venue's symbol (its spec's ``instrument_of``), else None."""
    from liqcore.venues.registry import spec_or_none

    spec = spec_or_none(venue)
    return spec.instrument_of(symbol) if spec is not None else None


def default_table() -> Table:
    """Every base of the shipped instrument tables, on every venue (each spelling it by its ``symbol_for``)."""
    from liqcore.venues.instruments import shipped_bases
    from liqcore.venues.registry import registered

    specs = registered()
    bases = shipped_bases()
    return Table({f"{b}-USDT": {s.name: s.symbol_for(b) for s in specs} for b in sorted(bases)})


def known_symbols(table: Table | None = None) -> list[str]:
    """Every venue symbol of the instrument table (default: :func:`default_table`), sorted (``BASEUSDT``,
    ``BASE-USDT-SWAP``, as each venue spells it)."""
    t = table or default_table()
    return sorted({str(v).upper() for row in t.rows.values() for v in row.values()})


def checks_symbols(venue) -> bool:
    """Whether a symbol of ``venue`` liqcore does not know can be told: a venue built into liqcore, whose bases the
    shipped instrument tables hold (each spelt as the venue spells it).  A venue registered from outside (a
    plugin's package, a test's) declares no instruments: its symbols are not checked (False), never warned about
    against the built-in venues' names."""
    from liqcore.venues.registry import spec_or_none

    spec = spec_or_none(venue)
    return spec is not None and spec.package.startswith("liqcore.venues.")


def unknown_symbol_note(symbol: str, table: Table | None = None) -> str | None:
    """None when ``symbol`` is a venue symbol of the instrument table; else a sentence saying so and
    naming the closest known symbol by spelling (``ETHUSD`` -> ``... the closest is ETHUSDT``)."""
    import difflib

    sym = str(symbol).strip().upper()
    known = known_symbols(table)
    if sym in known:
        return None
    close = difflib.get_close_matches(sym, known, n=1, cutoff=0.5)
    hint = f"the closest is {close[0]}" if close else f"known: {', '.join(s for s in known if '-' not in s)}"
    return f"symbol {sym} is not an instrument liqcore knows on its venues ({hint})"


def load_table(source: "str | Path | Mapping | None" = None) -> Table:
    """The default table updated with a TOML file (``[instruments.<id>]`` with a key per venue name) or a mapping
    of the same shape."""
    from liqcore.venues.registry import venue_names

    rows = {k: dict(v) for k, v in default_table().rows.items()}
    if source is None:
        return Table(rows)
    if isinstance(source, Mapping):
        over = source.get("instruments", source)
    else:
        try:
            import tomllib  # novm (3.11+: tomli below on 3.10)
        except ModuleNotFoundError:  # (Python 3.10: tomli, the same parser, a dependency there)
            import tomli as tomllib

        p = Path(source)
        if not p.is_file():
            raise ValueError(f"instruments: no such file: {p}")
        try:
            over = tomllib.loads(p.read_text()).get("instruments", {})
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"instruments: {p}: not valid TOML ({e})") from None
    if not isinstance(over, Mapping):
        raise ValueError("instruments: expected a table of instruments")
    for inst, row in over.items():
        if not isinstance(row, Mapping) or not row:
            raise ValueError(f"instruments: {inst}: expected a table of venue = symbol")
        for venue, sym in row.items():
            if venue not in venue_names():
                raise ValueError(f"instruments: {inst}: unknown venue {venue!r} ({', '.join(venue_names())})")
            if not isinstance(sym, str) or not sym:
                raise ValueError(f"instruments: {inst}.{venue}: expected a symbol string")
            # a symbol moved to this instrument leaves its old one
            for other in rows.values():
                if str(other.get(venue, "")).upper() == sym.upper():
                    other.pop(venue)
        rows[str(inst)] = {v: str(s).upper() for v, s in row.items()}
    return Table({k: v for k, v in rows.items() if v})


def groups(registry, table: Table | None = None) -> tuple[np.ndarray, list[str]]:
    """``(group, names)``: ``group[symbol_id]`` for every symbol of ``registry`` (one group per
    instrument; a symbol no instrument holds is a group of its own) and each group's name."""
    table = table or default_table()
    group = np.empty(len(registry), dtype=np.int64)
    names: list[str] = []
    index: dict[str, int] = {}
    for sid, venue, sym in registry:
        inst = table.lookup(venue, sym) if int(venue) else None
        key = inst if inst is not None else f"{venue.name.lower()}:{sym}"
        g = index.get(key)
        if g is None:
            g = index[key] = len(names)
            names.append(key)
        group[sid] = g
    return group, names


def merged_tape(events: np.ndarray, registry, instrument: str, table: Table | None = None) -> np.ndarray:
    """The events of every venue of one instrument (each keeps its venue and symbol_id), in event
    time order (stable: ties keep their input order)."""
    group, names = groups(registry, table)
    if instrument not in names:
        raise ValueError(f"instrument: no events of {instrument!r} in the input")
    g = names.index(instrument)
    sids = np.flatnonzero(group == g)
    m = np.isin(events["symbol_id"], sids)
    out = events[m]
    return out[np.argsort(out["ts_event"], kind="stable")]


def detect_instruments(events: np.ndarray, registry, params, table: Table | None = None, *, flush: bool = True,
                       group: np.ndarray | None = None):
    """Instrument-scope detection: ``(records, shares, counts, names)``.  The per-venue detector
    marks every liquidation large against its own venue's rolling threshold; the cross-venue rule
    (``liqcore._libs.detection``) counts large liquidations across the venues of each instrument.
    ``counts`` are the per-venue detector's, with ``cascades``/``records``/``late`` of the
    instrument rule.  ``names[group]`` names each record's instrument through its ``symbol_id``."""
    from liqcore._libs.detection import CascadeDetector
    from liqcore._libs.detection import detect

    if events.dtype != EVENT_DTYPE:
        raise ValueError("events: expected liqcore.types.EVENT_DTYPE")
    names: list[str] = []
    if group is None:
        group, names = groups(registry, table)
    events = np.ascontiguousarray(events)
    marks = np.zeros(len(events), dtype=np.int8)
    thr = np.full(len(events), np.nan)
    det = CascadeDetector.from_params(params)
    _, counts = det.run(events, flush=False, marks=marks, thresholds=thr)
    records, shares, xc = detect(events, marks, thr, group, params.window_ns, params.min_large, flush=flush)
    counts = dict(counts)
    counts.update(xc)
    return records, shares, counts, names


def retarget(records: np.ndarray, registry, group: np.ndarray, venue) -> tuple[np.ndarray, int]:
    """``(records, n_dropped)``: instrument-scope cascade records moved to the trade venue: each
    record's ``symbol_id`` and ``venue`` become the trade venue's symbol of the same instrument
    (times, notionals and ids unchanged: the decision stays at the confirming liquidation, on any
    venue); a cascade of an instrument the trade venue does not list is dropped (counted)."""
    v = int(Venue.parse(venue))
    target = {}
    for sid, sv, _sym in registry:
        if int(sv) == v:
            target.setdefault(int(group[sid]), sid)
    out = records.copy()
    keep = np.ones(len(out), dtype=bool)
    for i in range(len(out)):
        t = target.get(int(group[int(out["symbol_id"][i])]))
        if t is None:
            keep[i] = False
        else:
            out["symbol_id"][i] = t
            out["venue"][i] = v
    dropped = int(np.count_nonzero(~keep & (out["record"] == 1)))
    return out[keep], dropped
