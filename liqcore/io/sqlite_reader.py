"""Reading an SQLite database another program may be writing (a live session's journal) without leaving
files behind.

A journal is in WAL mode: every connection to it uses its ``-wal`` and ``-shm`` files, and the last one
to close removes them, unless it was opened read-only (``mode=ro``), which cannot, so a read-only reader
that closes last leaves both on disk.  :func:`open_reader` opens the file read-write where the file
allows it, with ``PRAGMA query_only`` so this connection still writes nothing, and SQLite's own rule
removes the two files when it closes last (a writer still open keeps them, as it must).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["open_reader"]


def open_reader(path) -> sqlite3.Connection:
    """A connection that only reads the SQLite database at ``path`` (which must exist): read-write where
    the file allows it, ``query_only`` either way (see the module docstring)."""
    p = Path(path)
    try:
        db = sqlite3.connect(f"file:{p}?mode=rw", uri=True)
    except sqlite3.OperationalError:  # (no write permission on the directory, say) read-only: as before
        return sqlite3.connect(f"file:{p}?mode=ro", uri=True)
    try:
        db.execute("PRAGMA query_only=1")
    except sqlite3.DatabaseError:
        db.close()
        raise
    return db
