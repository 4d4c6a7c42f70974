"""JSON logs for the live runner: one object per line (``ts``, ``level``, ``logger``, ``msg`` and any
``extra`` fields), to a file or stderr. Values that look like credentials are masked, and so is every value
given to :func:`liqcore.secrets.register_secret`."""
from __future__ import annotations

import logging
import re
import sys
import time

import orjson

from liqcore.secrets import redact_text, registered_secrets

__all__ = ["JsonFormatter", "setup_json_logging", "teardown_json_logging", "redact"]

_SECRET_KEYS = re.compile(r"(secret|api_?key|password|passphrase|sign(ature)?|token)", re.I)
_STD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    """``text`` fit for a log line or an error: every URL in it without its ``user:password@`` and with its
    credential query values as ``***``, and every registered secret scrubbed (:func:`liqcore.secrets.redact_text`)."""
    return redact_text(text, registered_secrets())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for k, v in record.__dict__.items():
            if k in _STD or k.startswith("_"):
                continue
            out[k] = "***" if _SECRET_KEYS.search(k) else v
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(out, default=str).decode()


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (a live dashboard redirects it)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def setup_json_logging(path: str | None = None, level: str | int = "INFO") -> logging.Handler:
    """Route the ``liqcore`` loggers to one JSON line per record (a file, or stderr when ``path`` is None)."""
    handler: logging.Handler = logging.FileHandler(path) if path else _CurrentStderr()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("liqcore")
    for h in list(root.handlers):
        if isinstance(h.formatter, JsonFormatter):
            root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else str(level).upper())
    root.propagate = False
    return handler


def teardown_json_logging(handler: logging.Handler) -> None:
    """Undo :func:`setup_json_logging`: detach and close ``handler`` and let the ``liqcore`` loggers
    propagate again (a command run in-process, e.g. from tests or a notebook, leaves no routing behind)."""
    root = logging.getLogger("liqcore")
    root.removeHandler(handler)
    try:
        handler.close()
    finally:
        if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
            root.propagate = True
            root.setLevel(logging.NOTSET)
