"""Files that another writer closes (``liqcore record``'s hourly files) converted into a dataset as
they close: one background thread, in the order the files were handed over, each through
:func:`liqcore.dataset.convert_to_dataset` (the readers, checks and manifest of ``convert``: a file
already converted unchanged is skipped, so handing a file over twice costs nothing).  The writer
never waits for a conversion; a file that cannot be converted is said in one line and counted, and
the writer goes on."""
from __future__ import annotations

import queue
import sys
import threading
from pathlib import Path

__all__ = ["DatasetFeeder"]


class DatasetFeeder:
    """``submit(path)`` hands a closed file over; :meth:`close` converts what is left (``wait=True``)
    or only finishes the file being converted (``wait=False``: Ctrl-C; the rest is converted by the
    next run, which hands the directory's files over again).  Counts: ``converted``, ``skipped``
    (already converted), ``rows_added``, ``failed`` (path -> why)."""

    def __init__(self, dataset, *, lock_wait: float | None = None, feed_latency_ns: int = 0, warn=None):
        self.dataset, self.lock_wait, self.feed_latency_ns = dataset, lock_wait, feed_latency_ns
        self._warn = warn or (lambda line: print(line, file=sys.stderr, flush=True))
        self._q: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self.converted = self.skipped = self.rows_added = 0
        self.failed: dict[str, str] = {}
        self._thread = threading.Thread(target=self._run, name="liqcore-record-dataset", daemon=True)
        self._thread.start()

    def submit(self, path) -> None:
        self._q.put(Path(path))

    def _run(self) -> None:
        from liqcore.dataset import convert_to_dataset

        while True:
            path = self._q.get()
            if path is None or self._stop.is_set():
                return
            try:
                res = convert_to_dataset([path], self.dataset, feed_latency_ns=self.feed_latency_ns,
                                         lock_wait=self.lock_wait, warn=self._warn)
            except (ValueError, OSError) as exc:
                why = " ".join(str(exc).split())
                self.failed[str(path)] = why
                self._warn(f"record: {path} was not converted into {self.dataset}: {why}")
                continue
            self.converted += len(res["converted"])
            self.skipped += len(res["skipped"])
            self.rows_added += int(res["rows_added"])

    def close(self, wait: bool = True, timeout: float | None = None) -> bool:
        """Stop the thread: after the files handed over (``wait``), else after the current one.  True
        when it has stopped within ``timeout``."""
        if not wait:
            self._stop.set()
        self._q.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def summary(self) -> str:
        bad = f", {len(self.failed)} not converted (named above)" if self.failed else ""
        return (f"dataset {self.dataset}: {self.converted} file(s) converted, {self.skipped} already in it{bad}; "
                f"{self.rows_added} new rows")
