"""A convert's files read ahead of its writes (:class:`_ReadAhead`: reading and parsing the next file in a thread
overlaps checking and writing this one), in the order of the days their names carry (:func:`_plan`).

May import: numpy.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

#: a date in a recording file's name (tardis: ``binance-futures_trades_2024-08-01_BTCUSDT.csv.gz``)
_NAME_DATE = r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)"


def _name_day(path) -> int | None:
    """The UTC day (days since 1970) a recording file's name says it holds (one ``YYYY-MM-DD`` in its
    name), or None."""
    import re

    found = set(re.findall(_NAME_DATE, Path(str(path)).name))
    if len(found) != 1:
        return None
    try:
        return int(np.datetime64(found.pop(), "D").astype(np.int64))
    except ValueError:
        return None


def _plan(files, ahead: list) -> list:
    """The order a convert reads the files ``ahead`` (indices into ``files``) in: by the date their names
    say, then as given, when every name says one (a day's trades, quotes and liquidations files one after
    the other, so each day's partitions are written once, then dropped from memory); as given otherwise."""
    days = [_name_day(files[i]) for i in ahead]
    if not ahead or any(d is None for d in days):
        return list(ahead)
    return [i for _d, i in sorted(zip(days, ahead))]


#: the read-ahead of a convert goes on while the files it read and the caller has not taken yet hold at
#: most this many bytes on disk (a day's liquidations file), not past a big one (a day's quotes)
_SMALL_FILE_BYTES = 4 << 20


class _ReadAhead:
    """Loads the files of a convert in a thread, ahead of the writes: reading and parsing the next file
    (pyarrow and numpy, which release the GIL) overlaps checking and writing this one.  The thread starts
    a file once the files it read before and the caller has not taken yet hold at most ``small`` bytes
    on disk (:data:`_SMALL_FILE_BYTES`; 0: once every one was taken): a day's small liquidations file
    read does not stop the next day's quotes from being read while the day before is written (memory:
    the caller's rows, small files up to that budget, and one file being read).  :meth:`get` returns the next file's result (or raises
    its error) in order; :meth:`close` stops the thread after the file it is reading."""

    def __init__(self, files, load, small: int | None = None):
        import queue
        import threading

        self._files, self._load = list(files), load
        self._small = _SMALL_FILE_BYTES if small is None else small
        self._q: queue.Queue = queue.Queue()
        self._cond = threading.Condition()
        self._held = 0  # bytes on disk of the files read and not taken yet
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="liqcore-convert-read", daemon=True)
        if self._files:
            self._thread.start()

    @staticmethod
    def _size(f) -> int:
        try:
            return max(int(os.stat(f).st_size), 1)
        except (OSError, TypeError, ValueError):  # (a file gone: its load says why) counted as big
            return 1 << 62

    def _run(self) -> None:
        for f in self._files:
            with self._cond:
                while self._held > self._small and not self._stop.is_set():  # past the budget: wait
                    self._cond.wait(timeout=0.1)
            if self._stop.is_set():
                return
            try:
                item = (f, self._load(f), None)
            except Exception as exc:  # raised in the caller's thread, by get()
                item = (f, None, exc)
            size = self._size(f)
            with self._cond:
                self._held += size
            self._q.put(item + (size,))
            del item

    def get(self, f):
        import queue

        while True:
            try:
                g, res, exc, size = self._q.get(timeout=0.1)  # (a Ctrl-C is taken within 0.1 s)
            except queue.Empty:
                if not self._thread.is_alive() and self._q.empty():
                    raise RuntimeError(f"convert: the reading thread stopped before {f}") from None
                continue
            with self._cond:
                self._held -= size
                self._cond.notify_all()
            if g is not f:
                raise RuntimeError(f"convert: read {g} where {f} was due")
            if exc is not None:
                raise exc
            return res

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
