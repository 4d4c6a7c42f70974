"""The journal's read-only queries: the state a restart resumes from (:class:`Recovered`), the append-only
history, and the rows of one order.  Each takes the journal's SQLite connection; the
:class:`~liqcore.live.journal.Journal` flushes its batched rows before it asks (its ``recover``, ``history``,
``order`` and ``orders_of``).
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import orjson

from liqcore.venues.orders import FINAL_STATUSES

__all__ = ["Recovered", "recover", "history", "order", "orders_of", "open_entries"]

#: the final statuses as an SQL list (``status NOT IN FINAL_SQL``: an order still open)
FINAL_SQL = "(" + ",".join(f"'{s}'" for s in FINAL_STATUSES) + ")"


@dataclass
class Recovered:
    """What a restart resumes from."""

    open_orders: dict[str, dict] = field(default_factory=dict)  # client_id -> entry/exit order row (+ "intent")
    child_orders: dict[tuple[str, str], dict] = field(default_factory=dict)  # (entry client_id, tp|sl) -> row
    positions: dict[str, dict] = field(default_factory=dict)  # symbol -> position dict
    cooldowns: dict[str, int] = field(default_factory=dict)  # symbol -> cooldown end (ns)
    equity: float | None = None
    seq: int = 0
    exec_ids: set[str] = field(default_factory=set)
    state: dict[str, object] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.open_orders or self.positions or self.cooldowns or self.equity is not None or self.seq)


def recover(db: sqlite3.Connection) -> Recovered:
    """The state to resume from: open orders, positions, cooldowns, equity, the id sequence."""
    rec = Recovered()
    cols = [d[1] for d in db.execute("PRAGMA table_info(orders)")]
    for row in db.execute(f"SELECT * FROM orders WHERE status NOT IN {FINAL_SQL}"):
        r = dict(zip(cols, row))
        r["intent"] = orjson.loads(r["intent"]) if r.get("intent") else None
        if r.get("kind") in ("tp", "sl"):
            rec.child_orders[(r["client_id"], r["kind"])] = r
        else:
            rec.open_orders[r["client_id"]] = r
    for sym, data in db.execute("SELECT symbol, data FROM positions"):
        rec.positions[sym] = orjson.loads(data)
    for key, value in db.execute("SELECT key, value FROM state"):
        if key.startswith("cooldown:"):
            rec.cooldowns[key[len("cooldown:"):]] = int(value)
        elif key == "equity":
            rec.equity = float(orjson.loads(value))
        elif key == "seq":
            rec.seq = int(value)
        else:
            rec.state[key] = orjson.loads(value)
    rec.exec_ids = {r[0] for r in db.execute("SELECT exec_id FROM fills")}
    return rec


def history(db: sqlite3.Connection, type_: str | None = None) -> list[dict]:
    """The append-only log's rows (of one ``type_``, or all), in the order they were written."""
    q = "SELECT ts_ns, type, key, data FROM log" + (" WHERE type=?" if type_ else "") + " ORDER BY id"
    return [{"ts_ns": t, "type": ty, "key": k, "data": orjson.loads(d)}
            for t, ty, k, d in db.execute(q, (type_,) if type_ else ())]


def order(db: sqlite3.Connection, client_id: str, kind: str = "entry") -> dict | None:
    """The row of one order: ``kind`` ``entry`` (or ``exit``, a market close under its own client id),
    or ``tp`` / ``sl`` for the take-profit / stop-loss the venue created from the entry ``client_id``."""
    cols = [d[1] for d in db.execute("PRAGMA table_info(orders)")]
    row = db.execute("SELECT * FROM orders WHERE client_id=? AND kind=?", (client_id, kind)).fetchone()
    if row is None and kind == "entry":  # an exit order is the only row of its client id
        row = db.execute("SELECT * FROM orders WHERE client_id=? AND kind='exit'", (client_id,)).fetchone()
    return dict(zip(cols, row)) if row else None


def orders_of(db: sqlite3.Connection, client_id: str) -> dict[str, dict]:
    """Every row under ``client_id`` by kind (the entry and its TP/SL children)."""
    cols = [d[1] for d in db.execute("PRAGMA table_info(orders)")]
    return {r[cols.index("kind")]: dict(zip(cols, r))
            for r in db.execute("SELECT * FROM orders WHERE client_id=?", (client_id,))}


def booked_qty(db: sqlite3.Connection, client_id: str, kind: str = "entry") -> float:
    """The quantity (base units) of the fills journaled for ``client_id`` with ``kind``."""
    return sum(float(d.get("qty") or 0.0) for d in (orjson.loads(r[0]) for r in db.execute(
        "SELECT data FROM fills WHERE client_id=?", (client_id,))) if d.get("kind") == kind)


def open_entries(db: sqlite3.Connection, statuses) -> list[dict]:
    """The entry rows whose status is one of ``statuses`` (the open ones), oldest first."""
    st = sorted(statuses)
    return [{"client_id": c, "symbol": s, "status": x} for c, s, x in db.execute(
        f"SELECT client_id, symbol, status FROM orders WHERE kind='entry' AND status IN ({','.join('?' * len(st))})"
        " ORDER BY created_ns", st)]
