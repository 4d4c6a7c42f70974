"""SQLite (WAL) journal of the live engine: every cascade, decision, order, fill, position and equity
change, and the state a restart resumes from (:class:`Journal`).

An order intent is durable in the memory-mapped intent log before its create request is sent; its
rows follow in SQLite.  The durability model, the tables, schema versions and migrations: docs/how-to/journal.md,
"Journal and restart", and docs/reference/journal.md, "The journal's durability model and tables".

Why one module: the intent log and the SQLite journal are one durability protocol, kept together so
the order between the two reads in one place (the file machinery: ``intent_log``; the read-only
queries: ``journal_queries``).  May import: the standard library, orjson and this package's ``intent_log``.
"""
from __future__ import annotations

import dataclasses
import fcntl
import logging
import mmap
import os
import sqlite3
import threading
import time
from pathlib import Path

import orjson

from liqcore.live import intent_log as ilog
from liqcore.live import journal_queries as queries
from liqcore.venues.orders import FINAL_STATUSES

__all__ = ["Journal", "JournalBusy", "TERMINAL_STATUSES", "OPEN_STATUSES", "NEVER_SENT"]

log = logging.getLogger("liqcore.journal")

SCHEMA_VERSION = 3



def _pread_all(fd: int) -> bytes:
    """Every byte of the open file ``fd``, read from its start (its position left as it is)."""
    parts, off = [], 0
    while True:
        b = os.pread(fd, 1 << 20, off)
        if not b:
            return b"".join(parts)
        parts.append(b)
        off += len(b)

class JournalBusy(ValueError):
    """``Journal(path, exclusive=True)`` on a journal another open journal (another process) holds."""

    def __init__(self, path, pid: int | None):
        self.path, self.pid = str(path), pid
        who = f"process {pid}" if pid else "another process"
        super().__init__(f"journal {self.path} is in use by {who} (another `liqcore run`?); one engine writes a "
                         f"journal at a time: stop it, give another --journal, or add --read-only to watch "
                         f"without trading")


def _journal_error(path, exc: sqlite3.Error) -> sqlite3.Error:
    """``exc`` as the same kind of error, its message naming the journal (and, for SQLite's "database or
    disk is full", that no space is left)."""
    msg = str(exc)
    if "disk is full" in msg:
        msg += " (no space left on the journal's file system)"
    err = type(exc)(f"journal {path}: {msg}")
    for attr in ("sqlite_errorcode", "sqlite_errorname"):
        if hasattr(exc, attr):
            try:
                setattr(err, attr, getattr(exc, attr))
            except AttributeError:
                pass
    return err


def _rollback(db: sqlite3.Connection) -> None:
    """Roll back the open transaction, if SQLite has not already (it does after a full disk, an I/O error,
    ...): the error that failed the transaction is the one to report, not "no transaction is active"."""
    if db.in_transaction:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            pass


_ORDER_COLS = ("client_id", "symbol", "kind", "side", "status", "price", "qty", "filled_qty", "avg_price",
               "venue_order_id", "reason", "intent", "created_ns", "updated_ns")

TERMINAL_STATUSES = frozenset(FINAL_STATUSES)
#: the reason of an entry journaled once a shutdown began and never sent to the venue (status ``cancelled``)
NEVER_SENT = "never_sent"
OPEN_STATUSES = frozenset({"pending", "new", "partially_filled", "triggered", "untriggered"})

_ORDERS_TABLE = """CREATE TABLE IF NOT EXISTS orders (client_id TEXT NOT NULL, symbol TEXT,
    kind TEXT NOT NULL DEFAULT 'entry', side TEXT, status TEXT, price REAL, qty REAL, filled_qty REAL, avg_price REAL,
    venue_order_id TEXT, reason TEXT, intent TEXT, created_ns INTEGER, updated_ns INTEGER,
    PRIMARY KEY (client_id, kind))"""

_SCHEMA = _ORDERS_TABLE + ";" + """
CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, ts_ns INTEGER NOT NULL, type TEXT NOT NULL,
                                key TEXT, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS log_type ON log(type, ts_ns);
CREATE TABLE IF NOT EXISTS positions (symbol TEXT PRIMARY KEY, data TEXT, updated_ns INTEGER);
CREATE TABLE IF NOT EXISTS fills (exec_id TEXT PRIMARY KEY, client_id TEXT, symbol TEXT, data TEXT,
                                  ts_ns INTEGER);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS queue_estimates (client_id TEXT PRIMARY KEY, symbol TEXT, side TEXT, price REAL,
    rested_ns INTEGER, ahead_at_rest REAL, level_at_rest REAL, fill_chance_at_rest REAL, ahead_last REAL,
    model_fill_ns INTEGER, end_ns INTEGER, outcome TEXT, queue_model TEXT, book TEXT);
"""
_QUEUE_COLS = ("client_id", "symbol", "side", "price", "rested_ns", "ahead_at_rest", "level_at_rest",
               "fill_chance_at_rest", "ahead_last", "model_fill_ns", "end_ns", "outcome", "queue_model", "book")


def _default(o):
    if dataclasses.is_dataclass(o):
        return o.__dict__
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if hasattr(o, "item"):  # numpy scalar
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _dumps(obj) -> str:
    return orjson.dumps(obj, default=_default, option=orjson.OPT_SERIALIZE_NUMPY).decode()


class Journal:
    """The engine's write-ahead journal (see the module docstring). Not thread-safe: one owner."""

    def __init__(self, path: str | Path, *, batch_interval_s: float = 0.05, batch_max: int = 512,
                 checkpoint_thread: bool = True, checkpoint_interval_s: float = 1.0, write_ahead: str = "log",
                 exclusive: bool = False, lease: bool = False):
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if exclusive:  # (before anything is opened: the holder's files stay untouched)
                holder = ilog.flock_holder(str(path) + ".intents")
                if holder is not None:
                    raise JournalBusy(path, holder)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.migrated = 0  # 1 when an older schema was migrated at open
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
            self.db.executescript(_SCHEMA)
            qcols = {r[1] for r in self.db.execute("PRAGMA table_info(queue_estimates)").fetchall()}
            if "book" not in qcols:  # (a journal written before --book depth: its estimates read the top of book)
                self.db.execute("ALTER TABLE queue_estimates ADD COLUMN book TEXT")
            self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            self.db.close()
            if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
                raise ValueError(f"journal: {self.path} is not a liqcore journal (not an SQLite database); "
                                 f"give another --journal path") from None
            raise _journal_error(self.path, exc) from None
        except BaseException:
            self.db.close()
            raise
        self._pending_extra: list[tuple[str, tuple]] = []
        self._pending: list[tuple] = []
        self.batch_interval_s = batch_interval_s
        self.batch_max = batch_max
        self._last_commit = time.monotonic()
        self.commits = 0
        self.rows = 0
        self.closed = False
        self.replayed_intents = 0
        if write_ahead not in ("log", "commit"):
            raise ValueError(f"write_ahead: expected 'log' or 'commit'; got {write_ahead!r}")
        self._ilog_path = None
        self._ilog_fd = None
        self._ilog_mm = None
        self._ilog_bytes = 0
        #: False when another journal (another process, or another object in this one) holds the intent log
        #: of this database: this one neither replays nor empties it and commits its own intents instead
        self.intent_log_owner = False
        #: set (with a warning in the log) when the mapped intent log was left for plain writes: why
        self.intent_log_fallback = ""
        self._ilog_wfd = None  # the plain-write descriptor after such a fallback
        self._ilog_lease = False  # a write lease on the mapped file (see intent_log.take_lease)
        self._ilog_alert = False  # set by the lease-break signal: check the map before the next store
        self._ilog_id = None  # (st_dev, st_ino) of the mapped file
        self._ilog_next_check = 0.0
        if str(path) != ":memory:":
            self._ilog_path = Path(str(path) + ".intents")
            holder = ilog.flock_holder(self._ilog_path)
            if exclusive and holder is not None:
                self.db.close()
                raise JournalBusy(path, holder)
            # held already (this process or another): not opened at all, so the holder's lease stays
            fd = None if holder is not None else os.open(self._ilog_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                try:  # one owner: released when the file is closed, or when its process dies
                    if fd is None:
                        raise BlockingIOError
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    if fd is not None:
                        os.close(fd)
                        fd = None
                    if exclusive:
                        self.db.close()
                        raise JournalBusy(path, ilog.flock_holder(self._ilog_path)) from None
                else:
                    self.intent_log_owner = True
                    self.replayed_intents = self._replay_intent_log()
                    os.ftruncate(fd, 0)  # replayed (and committed) above
                    if write_ahead == "log":
                        try:
                            ilog.reserve(fd, 0, ilog.INTENT_LOG_MAP_BYTES)
                        except OSError as exc:  # (a full disk, a file-size limit: the message names the file)
                            raise OSError(exc.errno, f"intent log: cannot reserve {ilog.INTENT_LOG_MAP_BYTES:,} bytes "
                                          f"({os.strerror(exc.errno) if exc.errno else exc})",
                                          str(self._ilog_path)) from exc
                        self._ilog_mm = mmap.mmap(fd, ilog.INTENT_LOG_MAP_BYTES)
                        self._ilog_fd, fd = fd, None
                        st = os.fstat(self._ilog_fd)
                        self._ilog_id = (st.st_dev, st.st_ino)
                        self._ilog_lease = lease and ilog.take_lease(self._ilog_fd)
                        if self._ilog_lease:
                            ilog.LEASED.add(self)
            except JournalBusy:
                raise
            except BaseException:
                self.db.close()
                raise
            finally:
                if fd is not None:
                    os.close(fd)
        self._ilog_bytes = 0  # bytes of lines in the intent log since it was last emptied
        self._ckpt_stop = None
        self._ckpt_thread = None
        if checkpoint_thread and str(path) != ":memory:":
            # checkpoints (the only fsyncs in WAL/NORMAL) run on a worker thread, never on the caller's
            self.db.execute("PRAGMA wal_autocheckpoint=0")
            self._ckpt_stop = threading.Event()
            self._ckpt_thread = threading.Thread(target=self._checkpointer, args=(checkpoint_interval_s,),
                                                 name="journal-checkpoint", daemon=True)
            self._ckpt_thread.start()

    def _migrate(self) -> None:
        """Bring a journal of an older schema to :data:`SCHEMA_VERSION` (see the module docstring)."""
        info = self.db.execute("PRAGMA table_info(orders)").fetchall()
        if not info:
            return  # a new file
        cols = {r[1]: r[5] for r in info}  # name -> position in the primary key (0 = not in it)
        pk = {c for c, k in cols.items() if k}
        if pk == {"client_id", "kind"} and set(_ORDER_COLS) <= set(cols):
            if not self.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='queue_estimates'").fetchone():
                self.db.executescript(_SCHEMA)  # version 2: the queue estimates' table added, nothing else changes
                self.migrated = 1
            return
        if pk != {"client_id"} or not set(_ORDER_COLS) <= set(cols):
            raise ValueError(f"journal: {self.path}: the orders table has a layout this version does not know "
                             f"(primary key {sorted(pk)}); move the file aside or give another journal path")
        cur = self.db.cursor()
        cur.execute("BEGIN")
        try:
            cur.execute("ALTER TABLE orders RENAME TO orders_v1")
            cur.execute(_ORDERS_TABLE)
            for ts, type_, data in self.db.execute("SELECT ts_ns, type, data FROM log WHERE type IN ('intent', 'order_update')"
                                                   " ORDER BY id").fetchall():
                try:
                    d = orjson.loads(data)
                    stmts = self._intent_sql(d, data, int(ts), None) if type_ == "intent" else self._update_sql(d, int(ts))
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
                    continue  # a row this layout cannot read: the old table's row is kept below
                for sql, params in stmts:
                    cur.execute(sql, params)
            # rows the log cannot rebuild (none in a journal this package wrote) are kept as they were
            sel = ", ".join("COALESCE(kind, 'entry')" if c == "kind" else c for c in _ORDER_COLS)
            cur.execute(f"INSERT OR IGNORE INTO orders ({', '.join(_ORDER_COLS)}) SELECT {sel} FROM orders_v1")
            cur.execute("DROP TABLE orders_v1")
            cur.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            cur.execute("COMMIT")
        except BaseException:
            _rollback(self.db)
            raise
        self.migrated = 1

    def _checkpointer(self, interval: float) -> None:
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        try:
            while not self._ckpt_stop.wait(interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    pass
        finally:
            conn.close()

    # ------------------------------------------------------------------ writing
    def _log_row(self, ts_ns: int, type_: str, key: str | None, data) -> tuple:
        return (int(ts_ns), type_, key, data if isinstance(data, str) else _dumps(data))

    def _commit(self, extra: list[tuple[str, tuple]] = ()) -> None:
        """One transaction: the pending log rows plus ``extra`` (sql, params) statements."""
        if self.closed:
            raise RuntimeError("journal: closed")
        cur = self.db.cursor()
        cur.execute("BEGIN")
        try:
            if self._pending:
                cur.executemany("INSERT INTO log (ts_ns, type, key, data) VALUES (?,?,?,?)", self._pending)
            for sql, params in self._pending_extra:
                cur.execute(sql, params)
            for sql, params in extra:
                cur.execute(sql, params)
            cur.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(self.db)
            raise _journal_error(self.path, exc) from None
        except BaseException:
            _rollback(self.db)
            raise
        self.rows += len(self._pending) + len(extra) + len(self._pending_extra)
        self._pending.clear()
        if self._pending_extra:
            self._pending_extra.clear()
            if self._ilog_fd is not None and self._ilog_bytes >= ilog.INTENT_LOG_TRUNCATE_BYTES:
                # every logged intent is in SQLite now; below the limit the log keeps its (committed)
                # lines, which a restart's replay skips
                self._ilog_empty()
        self._last_commit = time.monotonic()
        self.commits += 1

    def _batched(self, ts_ns: int, type_: str, key: str | None, data) -> None:
        self._pending.append(self._log_row(ts_ns, type_, key, data))
        if len(self._pending) >= self.batch_max:
            self._commit()

    def maybe_flush(self) -> None:
        """Commit the batched rows once ``batch_interval_s`` has passed (the live engine's clock tick); also
        checks, about once a second, that the mapped intent log is still the file at its path."""
        if self._ilog_mm is not None and (self._ilog_alert or time.monotonic() >= self._ilog_next_check):
            self.check_intent_log()
        if (self._pending or self._pending_extra) and time.monotonic() - self._last_commit >= self.batch_interval_s:
            self._commit()

    @property
    def pending_rows(self) -> int:
        """Rows waiting for the next commit (batched, or kept after a commit failed)."""
        return len(self._pending) + len(self._pending_extra)

    def flush(self) -> None:
        if self._pending or self._pending_extra:
            self._commit()

    def cascade(self, record: dict, ts_ns: int) -> None:
        self._batched(ts_ns, "cascade", str(record.get("symbol", "")), record)

    def decision(self, decision: dict, ts_ns: int) -> None:
        self._batched(ts_ns, "decision", str(decision.get("symbol", "")), decision)

    def note(self, type_: str, data: dict, ts_ns: int, key: str | None = None) -> None:
        """Any other batched record (gaps, risk blocks, start/stop)."""
        self._batched(ts_ns, type_, key, data)

    def equity(self, value: float, ts_ns: int, reason: str = "") -> None:
        self._pending.append(self._log_row(ts_ns, "equity", reason, {"equity": float(value), "reason": reason}))
        self._commit([("INSERT OR REPLACE INTO state (key, value) VALUES ('equity', ?)", (_dumps(float(value)),))])

    def intent(self, intent, ts_ns: int, seq: int | None = None) -> None:
        """Make an order intent durable BEFORE it is sent (status ``pending``).

        The intent is appended to the intent log (one ``write()``: it survives the process being
        killed, like a WAL/NORMAL commit) and its SQLite rows join the next transaction, which
        :meth:`maybe_flush` or the next order record commits; :meth:`recover` replays intents that only
        reached the intent log. ``write_ahead="commit"`` commits to SQLite right here instead."""
        self.intent_rows(self.intent_ahead(intent, ts_ns, seq))

    def intent_ahead(self, intent, ts_ns: int, seq: int | None = None) -> tuple:
        """The durable half of :meth:`intent`: one ``write()`` to the intent log (with
        ``write_ahead="commit"``: the whole intent, committed).  Call :meth:`intent_rows` with the returned
        token on the same stack before anything else uses the journal (the rows' commit may truncate the log)."""
        raw = self.intent_raw(intent)  # dataclasses natively
        ts = int(ts_ns)
        if self._ilog_fd is None:
            self._intent_queue(intent, raw.decode(), ts, seq)
            self._commit()
            return ()
        self.intent_ahead_line(self.intent_line(ts, seq, raw))
        return (intent, raw, ts, seq)

    @staticmethod
    def intent_line(ts_ns: int, seq: int | None, raw: bytes) -> bytes:
        """The intent-log line of an intent serialised as ``raw`` (:meth:`intent_raw`)."""
        return b'{"ts_ns":%d,"seq":%d,"intent":%s}\n' % (ts_ns, -1 if seq is None else int(seq), raw)

    @staticmethod
    def intent_raw(intent) -> bytes:
        """An intent as the journal serialises it."""
        return orjson.dumps(intent, default=_default, option=orjson.OPT_SERIALIZE_NUMPY)

    @property
    def writes_ahead(self) -> bool:
        """True when the write-ahead is one intent-log write (:meth:`intent_ahead_line` can be used)."""
        return self._ilog_fd is not None

    def intent_ahead_line(self, line: bytes) -> None:
        """The durable half of :meth:`intent` for a line already formatted (:meth:`intent_line`): the line
        is appended to the mapped intent log.  Follow it with :meth:`intent_rows` ``((intent, raw, ts_ns,
        seq))`` on the same stack."""
        if self._ilog_alert:  # (a lease break was signalled: the map is left before the store)
            self.check_intent_log()
        try:
            self._ilog_bytes += self._ilog_mm.write(line)
        except (ValueError, AttributeError):  # the map is full (the log is emptied past
            # INTENT_LOG_TRUNCATE_BYTES): grow it
            if self._ilog_wfd is not None:  # the map was left (see check_intent_log): a plain write
                self._ilog_bytes += os.write(self._ilog_wfd, line)
                return
            if self._ilog_mm is None or self._ilog_mm.closed:
                raise RuntimeError("journal: closed, or it writes ahead by commit") from None
            mm = self._ilog_mm
            n = len(mm)
            mm.resize(max(2 * n, self._ilog_bytes + 2 * len(line)))
            try:
                ilog.reserve(self._ilog_fd, n, len(mm) - n)
            except OSError:  # (a full disk: no store may land on a page without its block)
                mm.resize(n)
                raise
            self._ilog_bytes += mm.write(line)

    @property
    def intent_log_bytes(self) -> int:
        """Bytes of lines in the intent log now (the file is longer while open: zero-filled past them)."""
        return self._ilog_bytes

    def touch_ahead(self) -> None:
        """Store into the intent log's page(s) the next line will land on, unchanged, so that the line's
        own copy does not fault: the kernel write-protects a page again once it has written it back, and
        the first store after that costs a page fault.  The live engine calls it on its quiet-feed tick."""
        mm = self._ilog_mm
        if mm is None or mm.closed:
            return
        if not self._ilog_lease or self._ilog_alert:
            # without a lease nothing holds another program's truncation back: the file's size is checked
            # (one fstat, on this quiet tick only) before the store, which would fault past its end
            if not self.check_intent_log(size_only=not self._ilog_alert):
                return
        p = self._ilog_bytes
        n = len(mm)
        if p < n:
            mm[p] = mm[p]
            q = (p // ilog.PAGE + 1) * ilog.PAGE
            if q < n and q - p < 1024:
                mm[q] = mm[q]

    def check_intent_log(self, size_only: bool = False) -> bool:
        """Is the mapped intent log still whole and still the file at its path?  Checked on the quiet and
        clock ticks (never per frame), and at once when a lease break was signalled.  When another program
        truncated or is truncating it (a store into the map past the file's end would kill the process with
        SIGBUS), or replaced or removed it (the lines would go to a file no restart reads), the journal
        commits every intent it holds, leaves the map (then gives up its lease, which lets the other
        program go on) and appends the next lines to the file at the path with plain ``write()`` calls;
        :attr:`intent_log_fallback` says why and a warning is logged.  Returns True while the map is used."""
        mm = self._ilog_mm
        if mm is None or mm.closed:
            return False
        why = ""
        if self._ilog_alert:
            self._ilog_alert = False
            try:
                lease = fcntl.fcntl(self._ilog_fd, fcntl.F_GETLEASE)
            except OSError:
                lease = fcntl.F_UNLCK
            if lease != fcntl.F_WRLCK:  # being broken: another program opened the file
                why = "another program opened it (to truncate or rewrite it?)"
        if not why:
            st = os.fstat(self._ilog_fd)
            if st.st_size < len(mm):
                why = f"another program truncated it to {st.st_size:,} bytes"
            elif not size_only:
                self._ilog_next_check = time.monotonic() + 1.0
                try:
                    cur = os.stat(self._ilog_path)
                except FileNotFoundError:
                    why = "another program removed it"
                else:
                    if (cur.st_dev, cur.st_ino) != self._ilog_id:
                        why = "another program replaced it"
        if not why:
            return True
        self._ilog_leave(why)
        return False

    def _ilog_leave(self, why: str) -> None:
        """Leave the mapped intent log for plain writes (see :meth:`check_intent_log`)."""
        mm, self._ilog_mm = self._ilog_mm, None
        self._ilog_bytes = 0
        mm.close()  # (no store into it from here on: past a truncation that would be a SIGBUS)
        if self._ilog_lease:  # the other program's open goes on now
            self._ilog_lease = False
            ilog.LEASED.discard(self)
            try:
                fcntl.fcntl(self._ilog_fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
            except OSError:
                pass
        try:
            self._ilog_wfd = os.open(self._ilog_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            how = "intents are now appended to it with plain writes (slower, as durable)"
        except OSError as exc:  # no file to write ahead to: each intent is committed to SQLite before it is sent
            os.close(self._ilog_fd)
            self._ilog_fd = None
            how = f"it cannot be reopened ({exc.strerror}): each intent is now committed before it is sent"
        self.intent_log_fallback = f"intent log {self._ilog_path}: {why}; {how}"
        log.warning("%s", self.intent_log_fallback)
        if self._pending_extra:
            self._commit()  # the intents written ahead to the old lines are in SQLite from here on

    def _ilog_empty(self) -> None:
        """Empty the intent log (every line in it committed): its lines are zeroed in place, so the file
        keeps its blocks (nothing to allocate again, nothing that could fail on a full disk)."""
        if self._ilog_wfd is not None:  # (plain writes: the file is emptied)
            os.ftruncate(self._ilog_wfd, 0)
            self._ilog_bytes = 0
            return
        mm = self._ilog_mm
        mm[0:self._ilog_bytes] = bytes(self._ilog_bytes)
        mm.seek(0)
        self._ilog_bytes = 0

    def intent_rows(self, token: tuple) -> None:
        """The SQLite rows of an intent made durable by :meth:`intent_ahead` (they join the next commit)."""
        if token:
            intent, raw, ts, seq = token
            self._intent_queue(intent, raw.decode(), ts, seq)

    def _intent_queue(self, intent, data: str, ts: int, seq: int | None) -> None:
        d = intent.__dict__ if dataclasses.is_dataclass(intent) else dict(intent)
        self._pending.append((ts, "intent", d["client_id"], data))
        self._pending_extra.extend(self._intent_sql(d, data, ts, seq))

    @staticmethod
    def _intent_sql(d: dict, data: str, ts: int, seq: int | None) -> list[tuple[str, tuple]]:
        out = [(
            "INSERT OR IGNORE INTO orders (client_id, symbol, kind, side, status, price, qty, filled_qty, avg_price,"
            " venue_order_id, reason, intent, created_ns, updated_ns) VALUES (?,?,?,?,'pending',?,?,0,0,'','',?,?,?)",
            (d["client_id"], d["symbol"], d.get("kind", "entry"), d["side"], float(d.get("price") or 0.0),
             float(d.get("qty") or 0.0), data, ts, ts),
        )]
        if seq is not None and int(seq) >= 0:
            out.append(("INSERT INTO state (key, value) VALUES ('seq', ?) ON CONFLICT(key) DO UPDATE SET "
                        "value=CAST(MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)",
                        (str(int(seq)),)))
        return out

    def _intents_only_in_log(self) -> list[dict]:
        """The intent-log lines (``{"ts_ns", "seq", "intent"}``) whose intent SQLite does not hold."""
        if self._ilog_path is None or not self._ilog_path.exists():
            return []
        out = []
        if self._ilog_fd is not None:
            # read through this journal's own descriptor: opening the file again would break this journal's own
            # lease on it, and the kernel would hold that open for the lease-break time (45 s) while the one
            # thread that could give the lease up waits in it
            blob = _pread_all(self._ilog_fd)
        else:
            with open(self._ilog_path, "rb") as fh:
                blob = fh.read()
        for line in blob.split(b"\n"):
            line = line.strip(b"\0")  # a log left by a crash is zero-filled past its last line
            if not line:
                continue
            try:
                rec = orjson.loads(line)
                d = rec["intent"]
                d["client_id"], d["symbol"], d["side"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue  # a torn last line: that intent was never sent (the send follows the write)
            if self.db.execute("SELECT 1 FROM orders WHERE client_id=? AND kind=?",
                               (d["client_id"], d.get("kind") or "entry")).fetchone():
                continue
            out.append(rec)
        return out

    def _replay_intent_log(self) -> int:
        """Move intents found only in the intent log into SQLite (after a crash); returns how many."""
        missing = self._intents_only_in_log()
        for rec in missing:
            d = rec["intent"]
            data = _dumps(d)
            self._pending.append((int(rec["ts_ns"]), "intent", d["client_id"], data))
            self._pending_extra.extend(self._intent_sql(d, data, int(rec["ts_ns"]), rec.get("seq")))
        self._commit()
        return len(missing)

    def order_update(self, upd, ts_ns: int | None = None, reopen: bool = False) -> None:
        """Commit a venue order update (ack, fill status, cancel, reject). A terminal status is never
        overwritten by a late non-terminal one, unless ``reopen`` (the venue holds an order the engine had
        dropped as rejected or cancelled: :mod:`liqcore.live.dropped`)."""
        d = upd.__dict__ if dataclasses.is_dataclass(upd) else dict(upd)
        ts = int(ts_ns if ts_ns is not None else (d.get("ts_ns") or time.time_ns()))
        self._pending.append((ts, "order_update", d["client_id"], _dumps(upd)))
        self._commit(self._update_sql(d, ts, reopen))

    @staticmethod
    def _update_sql(d: dict, ts: int, reopen: bool = False) -> list[tuple[str, tuple]]:
        """The statements of one order update on the ``(client_id, kind)`` row."""
        status = d["status"]
        kind = d.get("kind") or "entry"
        if status in TERMINAL_STATUSES or reopen:
            terminal_guard = ""
        elif status == "pending":  # a late REST answer never downgrades a state the stream reported
            terminal_guard = " AND status='pending'"
        else:
            terminal_guard = f" AND status NOT IN {queries.FINAL_SQL}"
        return [
            ("INSERT OR IGNORE INTO orders (client_id, symbol, kind, side, status, price, qty, filled_qty, avg_price,"
             " venue_order_id, reason, intent, created_ns, updated_ns) VALUES (?,?,?,?,?,?,?,?,?,?,?,NULL,?,?)",
             (d["client_id"], d.get("symbol", ""), kind, d.get("side", ""), status,
              float(d.get("price") or 0.0), float(d.get("qty") or 0.0), float(d.get("filled_qty") or 0.0),
              float(d.get("avg_price") or 0.0), d.get("venue_order_id", ""), d.get("reason", ""), ts, ts)),
            ("UPDATE orders SET status=?, filled_qty=MAX(filled_qty, ?), avg_price=CASE WHEN ?>0 THEN ? ELSE avg_price END,"
             " venue_order_id=CASE WHEN ?!='' THEN ? ELSE venue_order_id END, reason=CASE WHEN ?!='' THEN ? ELSE reason END,"
             " updated_ns=? WHERE client_id=? AND kind=?" + terminal_guard,
             (status, float(d.get("filled_qty") or 0.0), float(d.get("avg_price") or 0.0), float(d.get("avg_price") or 0.0),
              d.get("venue_order_id", ""), d.get("venue_order_id", ""), d.get("reason", ""), d.get("reason", ""),
              ts, d["client_id"], kind)),
        ]

    def fill(self, fill, ts_ns: int | None = None) -> bool:
        """Commit a fill; returns False (and writes nothing) for an exec id already journaled."""
        d = fill.__dict__ if dataclasses.is_dataclass(fill) else dict(fill)
        ts = int(ts_ns if ts_ns is not None else (d.get("ts_ns") or time.time_ns()))
        exec_id = d.get("exec_id") or f"{d['client_id']}:{d.get('kind', '')}:{ts}"
        if self.db.execute("SELECT 1 FROM fills WHERE exec_id=?", (exec_id,)).fetchone():
            return False
        data = _dumps(fill)
        self._pending.append((ts, "fill", d["client_id"], data))
        self._commit([("INSERT INTO fills (exec_id, client_id, symbol, data, ts_ns) VALUES (?,?,?,?,?)",
                       (exec_id, d["client_id"], d.get("symbol", ""), data, ts))])
        return True

    def queue_estimate(self, rec: dict) -> None:
        """Commit the live queue estimate of one resting entry that ended (:mod:`liqcore.live.queue_estimate`)."""
        self._commit([(f"INSERT OR REPLACE INTO queue_estimates ({', '.join(_QUEUE_COLS)}) "
                       f"VALUES ({', '.join('?' * len(_QUEUE_COLS))})", tuple(rec.get(c) for c in _QUEUE_COLS))])

    def position(self, symbol: str, data: dict | None, ts_ns: int) -> None:
        """Commit the symbol's position (``None`` = flat)."""
        self._pending.append((int(ts_ns), "position", symbol, _dumps(data)))
        if data is None:
            self._commit([("DELETE FROM positions WHERE symbol=?", (symbol,))])
        else:
            self._commit([("INSERT OR REPLACE INTO positions (symbol, data, updated_ns) VALUES (?,?,?)",
                           (symbol, _dumps(data), int(ts_ns)))])

    def cooldown(self, symbol: str, until_ns: int, ts_ns: int) -> None:
        self._pending.append((int(ts_ns), "cooldown", symbol, _dumps({"until_ns": int(until_ns)})))
        self._commit([("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (f"cooldown:{symbol}", str(int(until_ns))))])

    def set_state(self, key: str, value) -> None:
        self._commit([("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, _dumps(value)))])

    # ------------------------------------------------------------------ reading (liqcore.live.journal_queries)
    def recover(self) -> queries.Recovered:
        """The state to resume from (:func:`liqcore.live.journal_queries.recover`), batched rows committed first."""
        self.flush()
        return queries.recover(self.db)

    def history(self, type_: str | None = None) -> list[dict]:
        """The append-only log (:func:`liqcore.live.journal_queries.history`), batched rows committed first."""
        self.flush()
        return queries.history(self.db, type_)

    def order(self, client_id: str, kind: str = "entry") -> dict | None:
        """The row of one order (:func:`liqcore.live.journal_queries.order`)."""
        return queries.order(self.db, client_id, kind)

    def booked_qty(self, client_id: str, kind: str = "entry") -> float:
        """The quantity of the fills journaled for ``client_id`` (:func:`liqcore.live.journal_queries.booked_qty`)."""
        self.flush()
        return queries.booked_qty(self.db, client_id, kind)

    def open_entries(self) -> list[dict]:
        """The entry rows still open (:data:`OPEN_STATUSES`), batched rows committed first
        (:func:`liqcore.live.journal_queries.open_entries`)."""
        self.flush()
        return queries.open_entries(self.db, OPEN_STATUSES)

    def orders_of(self, client_id: str) -> dict[str, dict]:
        """Every row under ``client_id`` by kind (:func:`liqcore.live.journal_queries.orders_of`)."""
        return queries.orders_of(self.db, client_id)

    def close(self) -> None:
        """Commit what is pending and close.  A clean close (everything pending committed, this journal the
        intent log's owner, every intent in the log held by SQLite) removes the intent log: it holds nothing
        a restart would replay.  SQLite's last connection removes the ``-wal`` and ``-shm`` files."""
        if self.closed:
            return
        flushed = False
        try:
            self.flush()
            flushed = True
        finally:
            self._close_files(remove_intent_log=flushed)

    def _close_files(self, remove_intent_log: bool = False) -> None:
        if self._ilog_lease:
            self._ilog_lease = False
            ilog.LEASED.discard(self)
        if remove_intent_log and self.intent_log_owner and self._ilog_fd is not None \
                and not self._intents_only_in_log():
            # every intent in it is in SQLite; still holding its lock (no other journal owns it meanwhile),
            # and only the file this journal holds: one another program put in its place stays
            try:
                mine, there = os.fstat(self._ilog_fd), os.stat(self._ilog_path)
                if (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino):
                    os.unlink(self._ilog_path)
            except FileNotFoundError:
                pass
        if self._ilog_fd is not None:
            if self._ilog_mm is not None:
                self._ilog_mm.close()
                self._ilog_mm = None
                os.ftruncate(self._ilog_fd, self._ilog_bytes)  # the lines alone, as a plain JSON-lines file
            if self._ilog_wfd is not None:
                os.close(self._ilog_wfd)
                self._ilog_wfd = None
            os.close(self._ilog_fd)
            self._ilog_fd = None
        if self._ckpt_thread is not None:
            self._ckpt_stop.set()
            self._ckpt_thread.join(5)
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass
        self.db.close()
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
