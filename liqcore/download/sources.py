"""The sources ``liqcore download`` knows, laid out as each publishes its files.

The details: docs/commands.md, "The sources liqcore download knows, laid out as each publishes its files
(liqcore.download.sources)".

May import: the standard library.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

__all__ = ["Source", "Unit", "SOURCES", "plan", "parse_day"]


@dataclass(frozen=True)
class Unit:
    """One file to fetch: what it holds (``type``, ``symbol``, ``period``: a day ``YYYY-MM-DD`` or a
    month ``YYYY-MM``), where it is (``url``; ``checksum_url``: its ``.CHECKSUM``, or None), and the
    name it is kept under (``name``)."""

    source: str
    type: str
    symbol: str
    period: str
    url: str
    name: str
    checksum_url: str | None = None

    @property
    def label(self) -> str:
        return f"{self.symbol} {self.type} {self.period}"


@dataclass(frozen=True)
class Source:
    """A source: its name, default address, the types it serves (``daily`` / ``monthly``: the types
    with files of that period), those a reader of liqcore reads (``readable``: needed for
    ``--dataset``; None: the same as the types) and whether it needs an API key."""

    name: str
    base_url: str
    daily: tuple[str, ...]
    monthly: tuple[str, ...] = ()
    readable: tuple[str, ...] | None = None
    needs_key: bool = False
    any_type: bool = False  # tardis: any data type it serves (the list above is what liqcore reads)

    def types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.daily + self.monthly))

    def can_read(self, type_: str) -> bool:
        return type_ in (self.readable if self.readable is not None else self.types())


SOURCES: dict[str, Source] = {
    "binance-vision": Source("binance-vision", "https://data.binance.vision",
                             daily=("aggTrades", "trades", "bookTicker", "metrics"),
                             monthly=("aggTrades", "trades", "bookTicker", "fundingRate")),
    "bybit-archive": Source("bybit-archive", "https://public.bybit.com", daily=("trades",)),
    "okx-archive": Source("okx-archive", "https://www.okx.com", daily=("trades", "aggtrades")),
    "tardis": Source("tardis", "https://datasets.tardis.dev",
                     daily=("liquidations", "trades", "quotes", "book_snapshot_5", "book_snapshot_25",
                            "derivative_ticker"), needs_key=True, any_type=True),
}


def parse_day(text: str, what: str) -> _dt.date:
    """``YYYY-MM-DD`` -> a date; ValueError naming the flag otherwise."""
    try:
        return _dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not a date YYYY-MM-DD") from None


def _days(start: _dt.date, end: _dt.date):
    d = start
    while d <= end:
        yield d
        d += _dt.timedelta(days=1)


def _months(start: _dt.date, end: _dt.date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _symbol(source: str, s: str) -> str:
    s = s.strip()
    if source == "tardis":  # as tardis's own client names them: BTC/USD, BTC:USD -> BTC-USD
        s = s.replace(":", "-").replace("/", "-").upper()
    else:
        s = s.upper()
    if not s or any(c in s for c in "/\\?#%& ") or s in (".", ".."):
        raise ValueError(f"symbols: {s!r} is not a symbol")
    return s


def plan(source: str, symbols, types, start: _dt.date, end: _dt.date, *, base_url: str | None = None,
         exchange: str | None = None, monthly: bool = False) -> list[Unit]:
    """The files of a request, one :class:`Unit` each, ordered by (symbol, period, type).  ``monthly``:
    Binance's monthly files for the types that have them (months overlapping the range); types with
    only one period (``metrics``: daily, ``fundingRate``: monthly) always take theirs."""
    if source not in SOURCES:
        raise ValueError(f"source: unknown source {source!r} (one of {', '.join(SOURCES)})")
    src = SOURCES[source]
    if end < start:
        raise ValueError(f"to: {end} is before --from {start}")
    symbols = [_symbol(source, s) for s in symbols if s.strip()]
    if not symbols:
        raise ValueError("symbols: give at least one symbol")
    known = {t.lower(): t for t in src.types()}  # aggtrades -> aggTrades
    types = [known.get(t.strip().lower(), t.strip()) for t in types if t.strip()] or list(src.daily[:1])
    unknown = [t for t in types if t not in src.types()]
    if unknown and not src.any_type:
        raise ValueError(f"types: {source} has no {', '.join(unknown)} (it has {', '.join(src.types())})")
    for t in unknown:  # tardis: any data type name it may serve
        if not t.replace("_", "").isalnum():
            raise ValueError(f"types: {t!r} is not a data type name")
    if source == "tardis":
        if not exchange:
            raise ValueError("exchange: tardis needs --exchange (e.g. binance-futures, bybit, okex-swap)")
        if not exchange.replace("-", "").isalnum():
            raise ValueError(f"exchange: {exchange!r} is not an exchange id")
    base = (base_url or src.base_url).rstrip("/")
    units: list[Unit] = []
    for sym in symbols:
        rows: list[tuple[str, str]] = []  # (period, type)
        for t in types:
            month = t in src.monthly and (monthly or t not in src.daily)
            if month:
                rows += [(m, t) for m in _months(start, end)]
            else:
                rows += [(d.isoformat(), t) for d in _days(start, end)]
        for period, t in sorted(rows):
            units.append(_unit(source, base, sym, t, period, exchange))
    return units


def _unit(source: str, base: str, sym: str, t: str, period: str, exchange: str | None) -> Unit:
    if source == "binance-vision":
        freq = "monthly" if len(period) == 7 else "daily"
        name = f"{sym}-{t}-{period}.zip"
        url = f"{base}/data/futures/um/{freq}/{t}/{sym}/{name}"
        return Unit(source, t, sym, period, url, name, url + ".CHECKSUM")
    if source == "bybit-archive":
        name = f"{sym}{period}.csv.gz"
        return Unit(source, t, sym, period, f"{base}/trading/{sym}/{name}", name)
    if source == "okx-archive":
        name = f"{sym}-{t}-{period}.zip"
        return Unit(source, t, sym, period, f"{base}/cdn/okex/traderecords/{t}/daily/{period.replace('-', '')}/{name}",
                    name)
    y, m, d = period.split("-")
    return Unit(source, t, sym, period, f"{base}/v1/{exchange}/{t}/{y}/{m}/{d}/{sym}.csv.gz",
                f"{exchange}_{t}_{period}_{sym}.csv.gz")
