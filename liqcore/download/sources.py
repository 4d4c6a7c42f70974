"""The sources ``liqcore download`` knows, laid out as each publishes its files.

The details: docs/maintainers/data.md, "The sources liqcore download knows, laid out as each publishes its files
(liqcore.download.sources)".

May import: the standard library and the venue registry (the venues' tardis spans: their ``archives`` parts).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

__all__ = ["Source", "Unit", "SOURCES", "MARKETS", "COIN_M", "Span", "SPANS", "tardis_spans", "published_span", "plan",
           "parse_day", "source_of"]


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
    #: the HTTP statuses by which the source says it does not have a file (listed at the end, the run goes on):
    #: 404; an object store that does not let anonymous readers list it answers 403 for a key it does not hold
    missing_status: tuple[int, ...] = (404,)
    #: the statuses that refuse the request itself (the key, or the caller's network): one line, the run stops
    refused_status: tuple[int, ...] = (401, 403)
    #: the days served without a key where a key is otherwise needed (tardis: the first day of each month)
    keyless_first_of_month: bool = False
    #: the futures markets it serves apart (``--market``; the first is the default), none: one market
    markets: tuple[str, ...] = ()
    #: where its day files' days start, in hours from UTC midnight: OKX's are UTC+8 days (-8: 16:00 UTC the day
    #: before), so a UTC day's last hours are in the next day's file (download.run cuts each file to the days asked)
    day_start_h: int = 0

    def types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.daily + self.monthly))

    def can_read(self, type_: str) -> bool:
        return type_ in (self.readable if self.readable is not None else self.types())


SOURCES: dict[str, Source] = {
    "binance-vision": Source("binance-vision", "https://data.binance.vision",
                             daily=("aggTrades", "trades", "bookTicker", "metrics"),
                             monthly=("aggTrades", "trades", "bookTicker", "fundingRate"), markets=("usd-m", "coin-m")),
    "bybit-archive": Source("bybit-archive", "https://public.bybit.com", daily=("trades",)),
    # OKX's archive is an object store behind its CDN (static.okx.com: the host OKX's own market-data-history
    # endpoint links each file on): a file it does not have is answered 403 (no public listing), never 404 only
    "okx-archive": Source("okx-archive", "https://static.okx.com", daily=("trades", "aggtrades"),
                          missing_status=(403, 404), refused_status=(401,), day_start_h=-8),
    # tardis.dev: "historical data for the first day of each month is available without an API key"
    # (its downloadable CSV files' documentation); 401 / 403 refuse the key
    "tardis": Source("tardis", "https://datasets.tardis.dev",
                     daily=("liquidations", "trades", "quotes", "book_snapshot_5", "book_snapshot_25",
                            "derivative_ticker", "incremental_book_L2"), needs_key=True, any_type=True, keyless_first_of_month=True),
}


#: binance-vision's futures markets: ``--market`` -> the archive's folder (data/futures/<folder>/...)
MARKETS = {"usd-m": "um", "coin-m": "cm"}
#: data.binance.vision's COIN-M (coin-margined, inverse) futures archive: the same file families as USD-M under
#: data/futures/cm/, plus the daily ``liquidationSnapshot`` files (quantities in contracts: the readers convert them
#: with the symbol's contract size), and the monthly ``fundingRate`` files (a rate: no unit to convert; there is no
#: daily one).  ``metrics`` (open interest in contracts) is kept as downloaded (--out) only.
COIN_M = Source("binance-vision", "https://data.binance.vision",
                daily=("aggTrades", "trades", "bookTicker", "liquidationSnapshot", "metrics"),
                monthly=("aggTrades", "trades", "bookTicker", "fundingRate"),
                readable=("aggTrades", "trades", "bookTicker", "liquidationSnapshot", "fundingRate"))


def source_of(source: str, market: str | None = None) -> Source:
    """The :class:`Source` of ``source`` (binance-vision: of its ``market``, ``usd-m`` by default)."""
    if source not in SOURCES:
        raise ValueError(f"source: unknown source {source!r} (one of {', '.join(SOURCES)})")
    if market in (None, "", "usd-m"):
        return SOURCES[source]
    if source != "binance-vision":
        raise ValueError(f"market: only binance-vision takes --market ({source} serves one market)")
    if market not in MARKETS:
        raise ValueError(f"market: {market!r} is not a binance-vision market (one of {', '.join(MARKETS)})")
    return COIN_M


@dataclass(frozen=True)
class Span:
    """The days a source publishes one data type for: ``first`` .. ``last`` (inclusive; None: no bound known
    on that side, the files' own absence (HTTP 404) tells), why there is none before ``first`` / after
    ``last`` (``before``, ``after``), and what to use instead of the days before / after
    (``older``, ``newer``)."""

    first: _dt.date | None = None
    last: _dt.date | None = None
    after: str = ""
    before: str = ""
    older: str = ""
    newer: str = ""


_D = _dt.date
_BV_INSTEAD_QUOTES = ("for the top of book after that use liqcore download tardis --exchange binance-futures "
                      "--types quotes, or record it as it happens with liqcore record --venue binance")
_BV_OLDER = "for older days use liqcore download tardis --exchange binance-futures (from 2019-11-17)"

#: (source, data type) -> its published span.  data.binance.vision, USD-M futures: every data family starts
#: on 2019-12-31 (the first daily file, e.g. BTCUSDT-aggTrades-2019-12-31.zip; the monthly ones in 2020-01),
#: ``fundingRate`` (monthly) in 2020-01, ``metrics`` on 2020-09-01 (BTCUSDT; other symbols later);
#: ``bookTicker`` stops after 2024-03-31 (daily files missing from 2024-04-01, the 2024-04 monthly file holds
#: a few hours: binance/binance-public-data issues #334 and #380); ``liquidationSnapshot`` stopped after
#: 2024-03-31 too (issue #337) and has since been removed (issue #420): liqcore has no reader for it.
SPANS: dict[tuple[str, str], Span] = {
    ("binance-vision", "aggTrades"): Span(_D(2019, 12, 31), before="data.binance.vision's USD-M archive starts on "
                                          "2019-12-31", older=_BV_OLDER),
    ("binance-vision", "trades"): Span(_D(2019, 12, 31), before="data.binance.vision's USD-M archive starts on "
                                       "2019-12-31", older=_BV_OLDER),
    ("binance-vision", "bookTicker"): Span(None, _D(2024, 3, 31), after="data.binance.vision published USD-M "
                                           "bookTicker files only up to 2024-03-31", newer=_BV_INSTEAD_QUOTES),
    ("binance-vision", "metrics"): Span(_D(2020, 9, 1), before="data.binance.vision's USD-M metrics start on "
                                        "2020-09-01", older="for older open interest use liqcore download tardis "
                                        "--exchange binance-futures --types derivative_ticker (from 2020-05-13)"),
    ("binance-vision", "fundingRate"): Span(_D(2020, 1, 1), before="data.binance.vision's USD-M fundingRate files "
                                            "start in 2020-01", older="for older funding use liqcore download tardis "
                                            "--exchange binance-futures --types derivative_ticker"),
}
_CM = "binance-vision coin-m"
_CM_LIQ = "data.binance.vision published COIN-M liquidationSnapshot files for a span of days only (discontinued)"
_CM_BOOK = "data.binance.vision published COIN-M bookTicker files up to 2024-10-14 only (discontinued)"
#: data.binance.vision, COIN-M futures (keyed by ``binance-vision coin-m``): ``liquidationSnapshot`` daily files exist
#: from 2023-06-25 (BTCUSD_PERP-liquidationSnapshot-2023-06-25.zip the first) to 2024-10-14: the archive stopped
#: them (binance/binance-public-data issue #361, 2024-10-15: "this data is no longer provided"; issue #337: the
#: COIN-M files went on after USD-M's stopped on 2024-03-31); ``bookTicker`` stops on the same day (issue #380: the
#: cm/daily/bookTicker folders last updated 2024-10-15); ``aggTrades`` and ``trades`` go on (no bound known: a
#: day the archive lacks answers 404 and is listed).
SPANS.update({
    (_CM, "liquidationSnapshot"): Span(_D(2023, 6, 25), _D(2024, 10, 14), after=_CM_LIQ, before=_CM_LIQ,
                                       older="for older liquidations use liqcore download tardis --exchange "
                                       "binance-delivery --types liquidations",
                                       newer="for newer liquidations use liqcore download tardis --exchange "
                                       "binance-delivery --types liquidations, or record them with liqcore record"),
    (_CM, "bookTicker"): Span(None, _D(2024, 10, 14), after=_CM_BOOK,
                              newer="for the top of book after that use liqcore download tardis --exchange "
                              "binance-delivery --types quotes"),
})
_NO_LIQ = ("liquidationSnapshot", "data.binance.vision published USD-M liquidationSnapshot files only up to "
           "2024-03-31 and has since removed them; for liquidations use liqcore download tardis --types "
           "liquidations, or record them with liqcore record")

_TARDIS_DOC = "tardis.dev has no {exchange} {type} before {first}"
def tardis_spans() -> dict[tuple[str, str], _dt.date]:
    """(tardis exchange id, data type or ``*``; ``linear``: the first day of a USDT or USDC symbol) -> the first day
    tardis.dev has: every registered venue's ``archives`` part's ``TARDIS_SPANS`` (its "Historical data details"
    pages, quoted there), read once."""
    if not _TARDIS_SPANS:
        from liqcore.venues.registry import registered

        for spec in registered():
            if spec.has_part("archives"):
                for key, ymd in getattr(spec.part("archives"), "TARDIS_SPANS", {}).items():
                    _TARDIS_SPANS[key] = _D(*ymd)
    return _TARDIS_SPANS


def _found() -> dict:
    from liqcore.venues.registry import part_cache

    return part_cache()  # (emptied whenever a venue is registered or forgotten)


_TARDIS_SPANS: dict[tuple[str, str], _dt.date] = _found()


def _utc_today() -> _dt.date:
    return _dt.datetime.now(_dt.timezone.utc).date()


def published_span(source: str, type_: str, *, exchange: str | None = None, symbol: str = "",
                   monthly: bool = False, today: _dt.date | None = None, market: str | None = None) -> Span:
    """The span of days ``source`` publishes ``type_`` for (tardis: of ``exchange`` and ``symbol``;
    binance-vision: of ``market``), its last day at most yesterday (UTC: a day's files come the next day;
    ``monthly``: the last day of the last month that ended)."""
    today = today or _utc_today()
    key = f"{source} {market}" if market not in (None, "", "usd-m") else source
    span = SPANS.get((key, type_), Span())
    if source == "tardis" and exchange:
        spans = tardis_spans()
        first = spans.get((exchange, type_)) or spans.get((exchange, "*"))
        linear = spans.get((exchange, "linear"))
        what = type_
        if linear is not None and symbol.endswith(("USDT", "USDC")) and (first is None or linear > first):
            first, what = linear, f"{type_} of {symbol} (a linear contract)"
        if first is not None:
            span = Span(first, before=_TARDIS_DOC.format(exchange=exchange, type=what, first=first),
                        older="nothing older is published there")
    newest = today - _dt.timedelta(days=1)
    if monthly:
        newest = today.replace(day=1) - _dt.timedelta(days=1)
    if span.last is None or span.last > newest:
        what = "a month's file is published once the month ended" if monthly else \
            "a day's files are published the day after (UTC)"
        span = Span(span.first, newest, after=f"{source} has nothing newer yet: {what}", before=span.before,
                    older=span.older, newer="for today's market use liqcore record")
    return span


def _clip(source: str, t: str, start: _dt.date, end: _dt.date, span: Span, notes: list | None):
    """``(start, end)`` cut to ``span`` (None when nothing is left: a ValueError then names the bound);
    a cut is noted once per type and reason."""
    lo, hi = start, end
    if span.first is not None and lo < span.first:
        if end < span.first:
            raise ValueError(f"from: {source} {t}: {span.before}; the first published day is {span.first}"
                             f"{_whole(span)} (requested {start}..{end}); {span.older}")
        lo = span.first
        _note(notes, f"note: {source} {t}: cut to {lo}..{min(hi, span.last or hi)}: {span.before}; {span.older}")
    if span.last is not None and hi > span.last:
        if start > span.last:
            raise ValueError(f"to: {source} {t}: {span.after}; the last published day is {span.last}"
                             f"{_whole(span)} (requested {start}..{end}); {span.newer}")
        hi = span.last
        _note(notes, f"note: {source} {t}: cut to {lo}..{hi}: {span.after}; {span.newer}")
    return lo, hi


def _whole(span: Span) -> str:
    """`` (published span A..B)`` for a span bounded on both sides, else nothing."""
    return f" (published span {span.first}..{span.last})" if span.first and span.last else ""


def _note(notes: list | None, line: str) -> None:
    if notes is not None and line not in notes:
        notes.append(line)


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


def _market_symbols(symbols: list[str], coin_m: bool) -> None:
    """binance-vision: every symbol of the market asked for (a COIN-M symbol under USD-M or the reverse is a
    ValueError naming ``--market``)."""
    from liqcore.venues.binance.contracts import is_coin_m

    wrong = [s for s in symbols if is_coin_m(s) != coin_m]
    if wrong and coin_m:
        raise ValueError(f"symbols: {', '.join(wrong)}: not COIN-M: a COIN-M symbol is <COIN>USD_PERP or "
                         "<COIN>USD_<YYMMDD> (e.g. BTCUSD_PERP); drop --market coin-m for USD-M symbols")
    if wrong:
        raise ValueError(f"symbols: {', '.join(wrong)}: COIN-M (coin-margined) symbols: add --market coin-m")


def plan(source: str, symbols, types, start: _dt.date, end: _dt.date, *, base_url: str | None = None,
         exchange: str | None = None, monthly: bool = False, notes: list | None = None,
         today: _dt.date | None = None, market: str | None = None) -> list[Unit]:
    """The files of a request, one :class:`Unit` each, ordered by (symbol, period, type).  ``monthly``:
    Binance's monthly files for the types that have them (months overlapping the range); types with
    only one period (``metrics``: daily, ``fundingRate``: monthly) always take theirs.  Each type's days
    are cut to its published span (:func:`published_span`, as of ``today``, default today UTC): a cut is
    appended to ``notes`` (one line each); a type with no published day in the range is a ValueError
    naming the first or last published day and what to use instead.  ``market`` (binance-vision only):
    ``usd-m`` (the default) or ``coin-m``."""
    src = source_of(source, market)
    coin_m = src is COIN_M
    if end < start:
        raise ValueError(f"to: {end} is before --from {start}")
    symbols = [_symbol(source, s) for s in symbols if s.strip()]
    if not symbols:
        raise ValueError("symbols: give at least one symbol")
    if source == "binance-vision":
        _market_symbols(symbols, coin_m)
    known = {t.lower(): t for t in src.types()}  # aggtrades -> aggTrades
    types = [known.get(t.strip().lower(), t.strip()) for t in types if t.strip()] or list(src.daily[:1])
    if source == "binance-vision" and not coin_m and _NO_LIQ[0].lower() in {t.lower() for t in types}:
        raise ValueError(f"types: {_NO_LIQ[1]}")
    unknown = [t for t in types if t not in src.types()]
    if unknown and not src.any_type:
        raise ValueError(f"types: {source} has no {', '.join(unknown)} (it has {', '.join(src.types())})")
    for t in unknown:  # tardis: any data type name it may serve
        if not t.replace("_", "").isalnum():
            raise ValueError(f"types: {t!r} is not a data type name")
    if source == "tardis":
        if not exchange:
            raise ValueError("exchange: tardis needs --exchange (e.g. "
                             f"{', '.join(dict.fromkeys(e for e, _ in tardis_spans()))})")
        if not exchange.replace("-", "").isalnum():
            raise ValueError(f"exchange: {exchange!r} is not an exchange id")
    base = (base_url or src.base_url).rstrip("/")
    units: list[Unit] = []
    for sym in symbols:
        rows: list[tuple[str, str]] = []  # (period, type)
        for t in types:
            month = t in src.monthly and (monthly or t not in src.daily)
            span = published_span(source, t, exchange=exchange, symbol=sym, monthly=month, today=today,
                                  market="coin-m" if coin_m else None)
            where = f"tardis {exchange}" if source == "tardis" else _CM if coin_m else source
            # a day file that starts before UTC midnight (OKX's, UTC+8): the last UTC day's last hours are in the
            # next day's file (each file is cut to the days asked for: download.run)
            last = end + _dt.timedelta(days=1) if src.day_start_h < 0 and not month else end
            lo, hi = _clip(where, t, start, last, span, notes)
            if month:
                rows += [(m, t) for m in _months(lo, hi)]
            else:
                rows += [(d.isoformat(), t) for d in _days(lo, hi)]
        for period, t in sorted(rows):
            units.append(_unit(source, base, sym, t, period, exchange, "cm" if coin_m else "um"))
    return units


def _unit(source: str, base: str, sym: str, t: str, period: str, exchange: str | None, folder: str = "um") -> Unit:
    if source == "binance-vision":
        freq = "monthly" if len(period) == 7 else "daily"
        name = f"{sym}-{t}-{period}.zip"
        url = f"{base}/data/futures/{folder}/{freq}/{t}/{sym}/{name}"
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
