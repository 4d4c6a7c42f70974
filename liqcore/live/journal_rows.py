"""A finished session's journal read for its reports: the go-live report (``report``), the web view of the session
(``web_journal``) and the live-vs-backtest explanation (``explain``) all read its rows through :class:`JournalRows`.

A row that cannot be read -- its data not a JSON object, its time not a whole number, a field a reader uses of the
wrong type (text for a price, a list for a symbol) -- is left out and counted by table and type
(:attr:`JournalRows.left_out`, :func:`left_out_text`), never a reader failed by one row; a path that is no journal
(a directory, a damaged file, another SQLite file) is one line naming it (:func:`read_journal`).

May import: the standard library, orjson and ``io.sqlite_reader``.
"""
from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import orjson

__all__ = ["JournalRows", "journal_rows", "read_journal", "left_out_text", "utc_day", "SESSION_NOTE"]

SESSION_NOTE = "session"  # the journal note an engine writes at start: strategy, exits, mode, fee model

#: what a field a reader reads can be wrong with: the row is left out (:class:`JournalRows`), never the reader failed
_BAD_ROW = (ValueError, TypeError, KeyError, AttributeError, OverflowError, OSError)


def utc_day(ts: int) -> str:
    """A nanosecond stamp's UTC day: ``2026-01-05``."""
    import datetime as _dt

    return _dt.datetime.fromtimestamp(ts / 1e9, tz=_dt.timezone.utc).strftime("%Y-%m-%d")


def _numbers(d: dict, *keys: str, required: tuple = ()) -> None:
    """Each of ``keys`` absent, null or a finite number (or a number's text); ``required``: present, not null."""
    for k in keys:
        v = d.get(k)
        if v is None:
            if k in required:
                raise KeyError(k)
            continue
        if not math.isfinite(float(v)):
            raise ValueError(k)


def _reals(d: dict, *keys: str) -> None:
    """Each of ``keys`` absent, null or a finite number itself (a field a reader computes with as it is)."""
    for k in keys:
        v = d.get(k)
        if v is not None and (not isinstance(v, (int, float)) or not math.isfinite(v)):
            raise TypeError(k)


def _stamps(d: dict, *keys: str) -> None:
    """Each of ``keys`` absent, null or a whole number of ns (or its text)."""
    for k in keys:
        if d.get(k) is not None:
            int(d[k])


def _texts(d: dict, *keys: str) -> None:
    for k in keys:
        if d.get(k) is not None and not isinstance(d[k], str):
            raise TypeError(k)


def _of(d: dict, key: str, types) -> None:
    if d.get(key) is not None and not isinstance(d[key], types):
        raise TypeError(key)


def _keys(d: dict, *keys: str) -> None:
    """Each of ``keys`` absent, null, a number or text (a field a reader looks rows up by)."""
    for k in keys:
        _of(d, k, (str, int, float))


def _check_session(ts: int, d: dict) -> None:
    _texts(d, "venue")
    _numbers(d, "equity")
    _reals(d, "maker_fee_bps", "taker_fee_bps")
    _of(d, "symbols", (list, tuple))
    _of(d, "params", dict)
    _of(d, "explicit", (list, tuple))
    _of(d, "rules", dict)
    for r in (d.get("rules") or {}).values():  # symbol -> [tick, step, min qty, min notional, (max qty or null)]
        if not isinstance(r, (list, tuple)) or len(r) < 4 or any(not isinstance(x, (int, float)) for x in r[:4]) \
                or (len(r) > 4 and r[4] is not None and not isinstance(r[4], (int, float))):
            raise TypeError("rules")


def _check_cascade(ts: int, d: dict) -> None:
    _texts(d, "symbol")
    _keys(d, "cascade_id")
    utc_day(ts)  # (a time the calendar cannot hold)


def _check_decision(ts: int, d: dict) -> None:
    _texts(d, "symbol", "action", "reason")
    _keys(d, "cascade_id")
    _stamps(d, "ts_ns")


def _check_trade(ts: int, d: dict) -> None:
    _texts(d, "symbol", "side")
    level = d.get("exit_reason") in ("take_profit", "stop_loss")  # (its exit judged against the level)
    if level and not isinstance(d.get("side"), str):
        raise TypeError("side")
    _numbers(d, "pnl", "fees_coin", "exit_price", "funding", required=("exit_price",) if level else ())
    _numbers(d, *(("pnl_coin",) if "pnl_coin" in d else ()), required=("pnl_coin",))
    _stamps(d, "exit_ns", "signal_ns")
    _of(d, "pnl_units", dict)


#: the log rows' checks by type (the fields the readers read); a type not named: a JSON object is enough
_LOG_CHECKS = {
    SESSION_NOTE: _check_session,
    "cascade": _check_cascade,
    "decision": _check_decision,
    "trade": _check_trade,
    "equity": lambda ts, d: _numbers(d, "equity"),
    "sent": lambda ts, d: _reals(d, "sent_ns", "recv_ns"),
    "intent": lambda ts, d: (_stamps(d, "decision_ns"), _texts(d, "symbol")),
    "ack": lambda ts, d: _stamps(d, "ack_ns", "venue_ns"),
    "order_update": lambda ts, d: _texts(d, "status", "kind", "reason"),
    "trading_stop": lambda ts, d: (_numbers(d, "take_profit", "stop_loss"), _texts(d, "symbol")),
    "unknown": lambda ts, d: (_texts(d, "reason"), _keys(d, "what")),
    "unknown_resolved": lambda ts, d: (_keys(d, "what"), _reals(d, "seconds")),
    "protection": lambda ts, d: (_texts(d, "reason"), _reals(d, "unprotected_s")),
}


def _check_fill(d: dict) -> None:
    _numbers(d, "price", "qty", required=("price", "qty"))
    _numbers(d, "fee")
    _texts(d, "symbol", "kind")
    _keys(d, "client_id")
    _stamps(d, "ts_ns")


def _check_queue(q: dict) -> None:
    _reals(q, "ahead_at_rest", "fill_chance_at_rest", "ahead_last")
    _stamps(q, "model_fill_ns")


def _row(t, d, check) -> dict | None:
    """A row's data (its time ``t`` a whole number, ``d`` a JSON object that passes ``check(t, data)``, when given);
    None for a row that cannot be read."""
    try:
        if not isinstance(t, int):
            raise TypeError("ts_ns")
        data = orjson.loads(d)
        if not isinstance(data, dict):
            raise TypeError("data")
        if check is not None:
            check(t, data)
    except _BAD_ROW:
        return None
    return data


class JournalRows:
    """The journal's rows as its readers read them (``db``: an open sqlite3 connection).  A row that cannot be read
    -- its data not a JSON object, its time not a whole number, a field a reader uses of the wrong type (text for a
    price, a list for a cascade) -- is left out and counted by table and type (:attr:`left_out`); the readers
    judge the rest.  One instance shared by the readers of one journal counts each row once."""

    def __init__(self, db):
        self.db = db
        self._bad: dict[tuple[str, str], set] = defaultdict(set)
        for rid, ty in db.execute("SELECT id, type FROM log WHERE typeof(ts_ns) != 'integer'"):
            self._bad[("log", str(ty))].add(rid)

    def rows(self, type_: str) -> list[tuple[int, str | None, dict]]:
        """The log rows of ``type_`` as ``(ts_ns, key, data)``, in the order written."""
        check = _LOG_CHECKS.get(type_)
        out = []
        for rid, t, k, d in self.db.execute("SELECT id, ts_ns, key, data FROM log WHERE type=? ORDER BY id",
                                            (type_,)):
            data = _row(t, d, check)
            if data is None:
                self._bad[("log", type_)].add(rid)
                continue
            out.append((t, k, data))
        return out

    def fill_rows(self) -> list[tuple[int, str | None, dict]]:
        """The fills as ``(ts_ns, symbol, data)`` (the table's time and symbol), in time order."""
        out = []
        for rid, t, sym, d in self.db.execute("SELECT rowid, ts_ns, symbol, data FROM fills ORDER BY ts_ns"):
            data = _row(t, d, lambda _t, x: _check_fill(x))
            if data is None:
                self._bad[("fills", "")].add(rid)
                continue
            out.append((t, sym, data))
        return out

    def fills(self) -> list[dict]:
        """The fills' data, in time order."""
        return [d for _, _, d in self.fill_rows()]

    def orders(self) -> list[dict]:
        """The ``orders`` table's rows as dicts by column."""
        cols = [c[1] for c in self.db.execute("PRAGMA table_info(orders)")]
        out = []
        for rid, *r in self.db.execute("SELECT rowid, * FROM orders"):
            o = dict(zip(cols, r))
            try:
                _numbers(o, "filled_qty")
            except _BAD_ROW:
                self._bad[("orders", "")].add(rid)
                continue
            out.append(o)
        return out

    def positions(self) -> dict[str, dict]:
        """symbol -> the position the journal still holds open (``positions`` table; a null position: ``{}``)."""
        out = {}
        for rid, sym, d in self.db.execute("SELECT rowid, symbol, data FROM positions"):
            try:
                data = orjson.loads(d) if d is not None else None
                if data is not None and not isinstance(data, dict):
                    raise TypeError("data")
                _numbers(data or {}, "qty", "entry_price", "price", "stop_loss", "take_profit")
            except _BAD_ROW:
                self._bad[("positions", "")].add(rid)
                continue
            out[sym] = data or {}
        return out

    def queue_estimates(self) -> dict:
        """client id -> the live queue estimate of the entry, by column (table ``queue_estimates``; {} in a journal
        written before it existed)."""
        try:
            cur = self.db.execute("SELECT rowid, * FROM queue_estimates")
        except sqlite3.OperationalError:
            return {}
        names = [c[0] for c in cur.description][1:]
        out = {}
        for rid, *r in cur.fetchall():
            q = dict(zip(names, r))
            try:
                _check_queue(q)
            except _BAD_ROW:
                self._bad[("queue_estimates", "")].add(rid)
                continue
            out[r[0]] = q
        return out

    def stamps(self, where: str, *args) -> list[int]:
        """``ts_ns`` of the log rows ``where`` (SQL) whose time is a whole number (the others: counted above)."""
        return [t for t, in self.db.execute(f"SELECT ts_ns FROM log WHERE typeof(ts_ns) = 'integer' AND ({where})",
                                            args)]

    @property
    def left_out(self) -> list[dict]:
        """The rows left out: ``[{"table", "type" (log rows; else None), "rows"}]``, by table and type."""
        return [{"table": t, "type": ty or None, "rows": len(ids)} for (t, ty), ids in sorted(self._bad.items())]


def journal_rows(db) -> JournalRows:
    """``db`` read as :class:`JournalRows`: itself when it is one (a reader shared with the report), else a new
    reader of the connection."""
    return db if isinstance(db, JournalRows) else JournalRows(db)


def left_out_text(left: list[dict]) -> str:
    """``13 journal rows that could not be read (log type cascade: 1, fills: 12)``."""
    n = sum(x["rows"] for x in left)
    parts = ", ".join(f"{x['table']}{' type ' + x['type'] if x['type'] else ''}: {x['rows']}" for x in left)
    return f"{n} journal row{'s' if n != 1 else ''} that could not be read ({parts})"


@contextmanager
def read_journal(path):
    """The journal at ``path`` opened read-only as :class:`JournalRows` for the ``with`` block, closed after it (no
    -wal / -shm left behind).  ValueError, one line naming it, when ``path`` is not a journal: a directory, absent, not
    an SQLite database, damaged (also when its tables turn out unreadable within the block), another database."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"journal: {path} is a directory, not a journal file (liqcore run --journal FILE)")
    if not p.is_file():
        raise ValueError(f"journal: {path} does not exist")
    from liqcore.io.sqlite_reader import open_reader

    try:
        db = open_reader(p)
    except sqlite3.DatabaseError as exc:
        raise ValueError(_unreadable(path, exc)) from None
    try:
        db.execute("SELECT 1 FROM log LIMIT 1")
        yield JournalRows(db)
    except sqlite3.DatabaseError as exc:  # a damaged file that opened: its tables cannot be read through
        raise ValueError(_unreadable(path, exc)) from None
    finally:
        db.close()


def _unreadable(path, exc: sqlite3.DatabaseError) -> str:
    """One line: why the journal at ``path`` cannot be read (not a database, damaged, not a liqcore journal)."""
    why = " ".join(str(exc).split())
    if "malformed" in why or "corrupt" in why:
        return f"journal: {path} is damaged and cannot be read ({why})"
    if "not a database" in why:
        return f"journal: {path} is not a liqcore journal (not an SQLite database)"
    return f"journal: {path} is not a liqcore journal ({why})"
