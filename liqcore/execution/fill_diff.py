"""Which entries two fill models fill differently, and why.

The details: docs/explanation/fill-model.md, "Why two fill models fill different entries".

May import: ``numpy``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["fill_differences", "differences_line"]


def _held(ledger, sid, t, cooldown_ns):
    """(busy, cooldown) of symbol ``sid`` at ``t`` in ``ledger``."""
    mine = ledger[ledger["symbol_id"] == sid]
    busy = bool(np.any((mine["signal_ns"] <= t) & (t < mine["exit_ns"])))
    cool = bool(np.any((mine["exit_ns"] <= t) & (t < mine["exit_ns"] + cooldown_ns)))
    return busy, cool


def _one_way(a, b, cooldown_ns, max_symbols, grids_b, rest) -> dict:
    la, lb = a.ledger, b.ledger
    tags_b = set(lb["cascade_id"].tolist())
    out = {"knock-on": 0, "grid": 0, "rule": 0, "other": 0}
    for row in la:
        if int(row["cascade_id"]) in tags_b:
            continue
        sid, t = int(row["symbol_id"]), int(row["signal_ns"])
        busy, cool = _held(lb, sid, t, cooldown_ns)
        capped = max_symbols > 0 and int(np.count_nonzero((lb["signal_ns"] <= t) & (t < lb["exit_ns"]))) >= max_symbols
        g = float(grids_b[sid]) if grids_b is not None and 0 <= sid < len(grids_b) else 0.0
        off_grid = g > 0 and abs(row["entry_price"] * g - round(row["entry_price"] * g)) > 1e-6 and row["entry_kind"] == 0
        if busy or cool or capped:
            out["knock-on"] += 1
        elif off_grid:
            out["grid"] += 1
        else:
            out[rest] += 1
    out["total"] = out["knock-on"] + out["grid"] + out["rule"] + out["other"]
    return out


_LOOSE = {"through": 0, "queue": 1, "touch": 2}


def fill_differences(a, b, grids_a=None, grids_b=None) -> dict:
    """``{"a only": {...}, "b only": {...}}``: entries filled (a ledger row) in run ``a`` and not in run
    ``b`` and the reverse, counted by cause (``knock-on``, ``grid``, ``rule``, ``other``, ``total``).
    ``a``, ``b``: backtest results (``ledger``, ``params``) of the same signals; ``grids_*``: each run's
    price grid per symbol id (ticks per unit; None or 0: none)."""
    la, lb = _LOOSE.get(a.params.fill, 0), _LOOSE.get(b.params.fill, 0)
    p = b.params
    return {"a only": _one_way(a, b, int(p.cooldown_ns), int(p.max_symbols), grids_b, "rule" if la > lb else "other"),
            "b only": _one_way(b, a, int(a.params.cooldown_ns), int(a.params.max_symbols), grids_a,
                               "rule" if lb > la else "other")}


def differences_line(name_a: str, name_b: str, diff: dict) -> str:
    """One line: how many entries fill under one rule only, and why."""

    def part(d):
        why = ", ".join(f"{d[k]} {k}" for k in ("knock-on", "grid", "rule", "other") if d[k])
        return f"{d['total']}" + (f" ({why})" if why else "")

    return (f"{name_a} vs {name_b}: {part(diff['a only'])} entries filled under {name_a} only, "
            f"{part(diff['b only'])} under {name_b} only")
