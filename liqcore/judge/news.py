"""News providers: the day's headlines for a symbol, shown to the judge.

None is configured by default: the judge then sees no news and the decision matrix's "no news" row
applies (a strong, aligned signal enters at medium confidence; a medium one does not enter).

:class:`FileNews` reads a JSONL file, one headline a line::

    {"ts": "2026-03-10T12:55:00Z", "symbol": "ETHUSDT", "title": "...", "stance": -1}

``ts`` an ISO-8601 UTC time or integer nanoseconds since the epoch; ``symbol`` the traded symbol or its
base asset (``ETH``), or ``*`` for market-wide news; ``stance`` optional: +1 bullish, -1 bearish (what
the decision matrix reads without a language model: a headline agrees with a long when bullish).  A
signal at ``t`` is shown the headlines of its UTC day received at or before ``t`` (point in time).
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

DAY_NS = 86_400 * 10**9


def news_stance(headlines: list, direction: int) -> str:
    """``agrees`` / ``none`` / ``contradicts``: the headlines' stances against a signal of ``direction``
    (a contradicting headline wins over an agreeing one; headlines without a stance do not count)."""
    st = {int(h.get("stance") or 0) for h in headlines}
    if -direction in st:
        return "contradicts"
    return "agrees" if direction in st else "none"


class NewsProvider:
    """The interface: :meth:`headlines` ``(context) -> [{"title", "ts_ns", "stance"?...}]`` (a coroutine),
    the signal's day's headlines known at ``context["ts_ns"]``.  ``instant`` providers (no I/O) also
    answer :meth:`headlines_now`."""

    instant = False

    async def headlines(self, ctx: dict) -> list[dict]:
        return self.headlines_now(ctx)

    def headlines_now(self, ctx: dict) -> list[dict]:
        raise NotImplementedError


def _ts_ns(v) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str):
        d = datetime.fromisoformat(v.replace("Z", "+00:00"))
        if d.tzinfo is None:
            d = d.replace(tzinfo=timezone.utc)
        return int(d.timestamp() * 1e9)
    raise ValueError("ts must be an ISO-8601 time or integer nanoseconds")


class FileNews(NewsProvider):
    """Headlines from a JSONL file (see the module docstring)."""

    instant = True

    def __init__(self, path) -> None:
        p = Path(path)
        if not p.is_file():
            raise ValueError(f"judge-news: {p} is not a file")
        self.rows: list[dict] = []
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                row = {"ts_ns": _ts_ns(r["ts"]), "symbol": str(r["symbol"]).upper(), "title": str(r["title"])}
                if r.get("stance") is not None:
                    if r["stance"] not in (-1, 0, 1):
                        raise ValueError("stance")
                    row["stance"] = int(r["stance"])
            except (ValueError, KeyError, TypeError):
                raise ValueError(f"judge-news: {p} line {n}: expected {{\"ts\", \"symbol\", \"title\", "
                                 f"\"stance\" (optional -1/0/1)}}") from None
            self.rows.append(row)
        self.rows.sort(key=lambda r: r["ts_ns"])

    def headlines_now(self, ctx: dict) -> list[dict]:
        t = int(ctx["ts_ns"])
        day0 = t - t % DAY_NS
        sym = str(ctx.get("symbol", "")).upper()
        names = {sym, "*"}
        for quote in ("USDT", "USDC", "USD"):
            if sym.endswith(quote) and len(sym) > len(quote):
                names.add(sym[: -len(quote)])
        return [dict(r) for r in self.rows if day0 <= r["ts_ns"] <= t and r["symbol"] in names]
