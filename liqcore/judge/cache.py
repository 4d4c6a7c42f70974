"""The judge's answers on disk: a backtest asks a language model once per question, ever.

The details: docs/maintainers/strategies.md, "The judge's answers on disk".

May import: ``_atomic``, ``cache`` and this package's ``core``.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path

__all__ = ["JudgeCache", "FILE_NAME", "request_key"]

FILE_NAME = "judge-answers.sqlite"

_SCHEMA = """CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,   -- sha256 of (url, model, request body)
    url TEXT NOT NULL,
    model TEXT NOT NULL,
    signal TEXT NOT NULL,   -- venue:symbol:ts_ns:LONG|SHORT (the replay file's key)
    direction INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    content TEXT,           -- the model's reply text (NULL: late)
    late_s REAL,            -- the timeout it missed (NULL: answered)
    created REAL NOT NULL
)"""


def request_key(url: str, model: str, body: dict) -> str:
    """The cache key of one request: SHA-256 of the address, the model and the canonical JSON body."""
    blob = json.dumps({"url": url, "model": model, "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class JudgeCache:
    """``JudgeCache(path=None)``: the answers file (default: ``cache_dir() / judge-answers.sqlite``,
    created on first write).  Thread-safe; one short transaction per write."""

    def __init__(self, path: str | Path | None = None) -> None:
        if path is None:
            from liqcore.cache import cache_dir

            path = cache_dir() / FILE_NAME
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def __getstate__(self) -> dict:
        return {"path": self.path}

    def __setstate__(self, d: dict) -> None:
        self.__init__(d["path"])

    def _conn(self, create: bool) -> sqlite3.Connection | None:
        if self._db is None:
            if not self.path.is_file():
                if not create:
                    return None
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), timeout=30.0, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)
            self._db = db
        return self._db

    def get(self, key: str) -> tuple[str | None, float | None] | None:
        """``(content, late_s)`` of an entry (one of them None), or None when the question is new."""
        with self._lock:
            db = self._conn(create=False)
            if db is None:
                return None
            row = db.execute("SELECT content, late_s FROM answers WHERE key = ?", (key,)).fetchone()
        return None if row is None else (row[0], row[1])

    def put(self, key: str, *, url: str, model: str, ctx: dict, content: str | None = None,
            late_s: float | None = None) -> None:
        """Keep a reply (``content``) or a miss (``late_s``); an answer replaces a late entry, a late
        entry never replaces an answer."""
        from liqcore.judge.core import signal_key

        if (content is None) == (late_s is None):
            raise ValueError("judge cache: give either the reply or the timeout it missed")
        row = (key, str(url), str(model), signal_key(ctx), int(ctx["direction"]), str(ctx.get("symbol", "")),
               content, late_s, time.time())
        with self._lock:
            db = self._conn(create=True)
            if content is not None:
                db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            else:
                db.execute("INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE "
                           "SET late_s = excluded.late_s WHERE answers.content IS NULL", row)

    def counts(self) -> dict:
        """``{"answers": n, "late": n}`` held."""
        with self._lock:
            db = self._conn(create=False)
            if db is None:
                return {"answers": 0, "late": 0}
            a, late = db.execute("SELECT COUNT(content), COUNT(late_s) FROM answers").fetchone()
        return {"answers": int(a), "late": int(late)}

    def export(self, out: str | Path, *, model: str | None = None) -> dict:
        """Write the cached answers (of ``model``, or all) as a replay file (JSONL, the format of
        ``--judge replay:FILE``), atomically; a reply that does not parse as an answer is left out
        (a replay would refuse it too: not entered either way), as are late entries (a replay of
        a signal without an answer does not enter, like a late one).  Returns ``{"written",
        "unparsable", "late"}``."""
        from liqcore._atomic import write_text
        from liqcore.judge.core import JudgeError, parse_answer

        with self._lock:
            db = self._conn(create=False)
            rows = [] if db is None else db.execute(
                "SELECT signal, direction, symbol, content, model FROM answers"
                + (" WHERE model = ?" if model else "") + " ORDER BY signal, created",
                (model,) if model else ()).fetchall()
        lines, bad, late, seen = [], 0, 0, {}
        for signal, direction, symbol, content, _m in rows:
            if content is None:
                late += 1
                continue
            try:
                v = parse_answer(content, int(direction))
            except JudgeError:
                bad += 1
                continue
            seen[signal] = json.dumps({"key": signal, "answer": v.answer(int(direction), symbol)})
        lines = list(seen.values())
        write_text(out, "".join(x + "\n" for x in lines))
        return {"written": len(lines), "unparsable": bad, "late": late}

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
