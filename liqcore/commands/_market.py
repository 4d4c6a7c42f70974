"""``--symbols all`` for the commands that watch a venue's whole market (``record``, ``run``): the flags that
narrow it, their checks, and the venue's instrument list (:mod:`liqcore.market.universe`) narrowed by them."""
from __future__ import annotations

import asyncio

__all__ = ["add_universe_arguments", "recording_symbols", "check_list_flags", "select_universe", "fetch_selection",
           "symbol_list", "list_rules", "whole_market", "traded_symbols",
           "add_cached_list_argument"]


def add_universe_arguments(p, *, also: str | None, narrowed: str) -> None:
    """``--also``, ``--exclude``, ``--quote``, ``--min-volume`` (``also``: what the --also symbols get, None: no
    ``--also``; ``narrowed``: what --exclude and --min-volume leave out)."""
    if also is not None:
        p.add_argument("--also", default="", metavar="SYMS",
                       help=f"--symbols all: the symbols whose trades (and top of book) are {also} too (comma list)")
    p.add_argument("--exclude", default="", metavar="SYMS", help=f"--symbols all: symbols {narrowed} (comma list)")
    p.add_argument("--quote", default="USDT", help="--symbols all: the settlement currency (default USDT)")
    p.add_argument("--min-volume", type=float, default=None, metavar="QUOTE",
                   help=f"--symbols all: symbols whose 24 h turnover is below QUOTE units {narrowed}")


def add_cached_list_argument(p) -> None:
    """``--rest-url URL`` of a command that reads a recording (``detect``, ``backtest``): the instrument list
    ``run`` / ``record --symbols all`` cached from that REST base URL; nothing is fetched."""
    p.add_argument("--rest-url", default=None, metavar="URL",
                   help="--symbols all: the instrument list liqcore run / record --symbols all cached from this REST "
                        "base URL (a mirror, a test server: each URL's list is cached apart); nothing is fetched")


def symbol_list(text: str) -> list[str]:
    """A comma list of symbols, upper case, blanks dropped."""
    return [s.strip().upper() for s in str(text or "").split(",") if s.strip()]


def whole_market(text: str) -> bool:
    """``--symbols all`` (any case; blanks and stray commas dropped)."""
    return symbol_list(text) == ["ALL"]


def traded_symbols(text: str) -> list[str]:
    """A ``--symbols`` list (not ``all``): at least one name, and ``all`` not mixed into it."""
    syms = symbol_list(text)
    if not syms:
        raise ValueError("symbols: give at least one symbol, e.g. --symbols ETHUSDT,SOLUSDT")
    if "ALL" in syms:
        raise ValueError("symbols: 'all' (every perpetual of the venue) cannot be mixed with symbol names; "
                         "use --symbols all --also S,... or a list of symbols")
    return syms


def check_list_flags(args) -> None:
    """A symbol list (not ``--symbols all``): the flags that narrow a whole market are refused."""
    for name in ("also", "exclude"):
        if getattr(args, name, ""):
            raise ValueError(f"{name}: only with --symbols all")
    if getattr(args, "min_volume", None) is not None:
        raise ValueError("min-volume: only with --symbols all")


def select_universe(args, venue: str, rest_url: str | None):
    """``(universe, selected)``: the venue's instrument list (its REST API at ``rest_url``, else the cached one
    while it is younger than an hour, else the venue's own URL) and the same less ``--exclude`` and the symbols
    below ``--min-volume``; a selection left empty fails in one line."""
    return asyncio.run(fetch_selection(args, venue, rest_url))


async def fetch_selection(args, venue: str, rest_url: str | None, max_age_s: float = 3600.0):
    """:func:`select_universe` in a running loop (``max_age_s``: how old a cached list may be served)."""
    from liqcore.market.universe import load_universe

    u = await load_universe(venue, base_url=rest_url, quote=args.quote, max_age_s=max_age_s)
    sel = u.select(exclude=symbol_list(args.exclude), min_volume=args.min_volume)
    if not sel.symbols:
        raise ValueError(f"symbols: no {args.quote} perpetual of {venue} is left after --exclude / --min-volume")
    return u, sel


def list_rules(args, venue: str, symbols: list[str]) -> dict | None:
    """A symbol list traded on Binance or OKX (paper; the spec's ``rules_from_instrument_list``): each symbol's
    trading rules from the venue's instrument list (its REST API at ``--rest-url``, else the cache or the venue's own URL); a listed symbol the venue does
    not hold is said on stderr (its cascades are refused: ``no_instrument``).  None (the shipped table, Bybit's
    grids of the majors) for Bybit (its gateway loads the venue's list), for a replay or a ``--ws-url`` feed
    without ``--rest-url`` (the venue is not the one the run talks to), or when the list cannot be had (said)."""
    import sys

    from liqcore.market.universe import UniverseError, load_universe
    from liqcore.venues.registry import venue_spec

    if not venue_spec(venue).rules_from_instrument_list:
        return None
    if not args.rest_url and (args.replay or args.ws_url):
        # a replay: the rules the venue ships, when it ships some (its market part's shipped_rules: Gate's bundled
        # contract list), else the shipped table
        market = venue_spec(venue).part("market") if venue_spec(venue).has_part("market") else None
        shipped = getattr(market, "shipped_rules", None)
        if shipped is None:
            return None
        rules = shipped()
        return {s: rules[s] for s in symbols if s in rules}
    try:
        u = asyncio.run(load_universe(venue, base_url=args.rest_url, quote=args.quote))
    except UniverseError as e:
        print(f"warning: {e}; orders follow the shipped instrument table", file=sys.stderr)
        return None
    missing = [s for s in symbols if s not in u.rules]
    if missing:
        print(f"warning: {venue} lists no {args.quote} perpetual {','.join(missing)}: its cascades are refused "
              "(no_instrument)", file=sys.stderr)
    return {s: u.rules[s] for s in symbols if s in u.rules}


def recording_symbols(args, registry, venues, path: str | None = None) -> tuple[list[int], list[str]]:
    """``--symbols all`` on a recording (``detect``): ``(ids, notes)``, the registry ids of every symbol of
    ``venues`` (venue names) in it less the ``--exclude`` ones, those not quoted in ``--quote`` and (``--min-volume``)
    those whose 24 h turnover is below the floor.  The quote and the turnover are the instrument list's
    (``path``, else the list ``run``/``record --symbols all`` cached from the venue or ``--rest-url``;
    nothing is fetched); a symbol the list does not hold, or without a list, is judged by its name's suffix (said
    in ``notes``); ``--min-volume`` without a list that holds turnovers fails in one line."""
    from liqcore.backtest.rules import load_rules, quote_of

    quote, ex = str(args.quote).upper(), set(symbol_list(args.exclude))
    if args.min_volume is not None and not args.min_volume >= 0:
        raise ValueError(f"min-volume: must be >= 0 quote units; got {args.min_volume}")
    if path and len(venues) != 1:
        raise ValueError(f"instrument-list: one venue's instrument list; the input holds {', '.join(venues)} "
                         "(select one with --venue)")
    ids, notes = [], []
    for venue in venues:
        try:
            u, source = load_rules(path, venue, quote, base_url=args.rest_url)
        except ValueError:
            if path:  # (the file given is unreadable: said, never passed over)
                raise
            u, source = None, ""
        listed = u is not None and u.source != "file" and u.quote.upper() == quote  # (its symbols: quoted in it)
        if args.min_volume is not None and (u is None or not u.turnover):
            raise ValueError(f"min-volume: the 24 h turnover of {venue}'s symbols comes from its instrument list, "
                             f"and {'none is cached' if u is None else source + ' holds none'}: give --instrument-list "
                             f"FILE (the list liqcore run / record --symbols all cache) or leave --min-volume out")
        by_name = 0
        for sid, v, sym in registry:
            if v.name.lower() != venue or sym.upper() in ex:
                continue
            if listed and sym in u.rules:
                ok = True
            else:
                ok, by_name = quote_of(sym, quote), by_name + 1
            if ok and args.min_volume is not None and not (u.turnover.get(sym, float("nan")) >= args.min_volume):
                ok = False
            if ok:
                ids.append(int(sid))
        if by_name:
            where = (f"no {venue} {quote} instrument list is cached (`liqcore record --venue {venue} --symbols all` "
                     "caches one; or give --instrument-list FILE)" if u is None else
                     f"{by_name} {venue} symbol(s) the instrument list {source} does not hold" if listed else
                     f"the instrument list {source} does not say each symbol's quote")
            notes.append(f"note: --quote {quote}: {where}: judged by the name's suffix (…{quote}, …-{quote}-SWAP)")
    return ids, notes
