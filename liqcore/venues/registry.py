"""What a venue is to the rest of liqcore: one :class:`VenueSpec` per venue, in one registry.

The rest of the package asks the registry (``venue_spec("okx").sampled_liquidations``, ``spec.part("market")``)
instead of branching on a venue's name.  A venue's facts are plain attributes of its spec; what needs code is a
*part*: a module of the venue's own folder, ``liqcore.venues.<venue>.<part>``, imported only when asked for, so
that registering a venue costs nothing at import.  The parts, each with who asks for it:

* ``parse`` (``parse_obj(obj, sink)``: frames into events, the side convention in its docstring and, where sides
  are a lookup, its tables ``LIQUIDATION_SIDES`` / ``TRADE_SIDES``; the decoder, the venue's generated page),
  ``stream`` (``KINDS``, ``connection_specs``: the public connections; the feed manager), ``watch`` (the frames'
  stream keys; the silent-stream watch);
* ``market`` (candles, whole-market subscriptions, on-demand names, the REST governor's weights; ``liqcore.market``,
  the feed manager, the depth keeper), ``account`` (preflight's signed account reads; ``liqcore preflight``);
* ``samples`` (frames built from values; the warm path, tests), ``fake_streams`` (its public streams in the shared
  fake, ``liqcore.venues.fake_streams``; ``run --replay``, ``liqcore venue``);
* ``rest`` (signing, the signed client), ``codes`` (``CODES``: its answers in the classes of
  :mod:`liqcore.venues.outcomes`) and ``gateway`` (``GATEWAY``, ``build(...)``: its order gateway; ``live.gateways``);
* ``archives`` (``READERS``: its file formats, ``READER_SLOTS``: where ``liqcore.io.registry`` lists them; what its
  tardis liquidations cannot hold: ``liqcore.io.tardis_liquidations``), ``fake`` (``FAKE``: its whole local fake;
  its public names are ``liqcore.testing``'s), ``fake_session`` (``LocalMarketSide``: its side of the local venue's
  market, ``liqcore.testing.fake_session``).

A new venue: a folder ``venues/<name>/`` with those modules and a :class:`VenueSpec` registered from the folder's
``__init__``; or a package of its own that names its spec in the ``liqcore.venues`` entry point group (found by
:func:`load_plugins` when the registry is first asked: docs/how-to/write-a-venue-plugin.md); or, from your own
code, :func:`register`, which also gives it its :class:`liqcore.types.Venue` member.  docs/maintainers/adding-a-venue.md, "Adding a venue", has every fact and
part, the tests each part needs and the checklist; tests/venues/test_custom_venue.py registers one from a test.

May import: ``liqcore.types`` only (the parts are imported by name, on demand; the plugins through
``importlib.metadata``).
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from types import ModuleType

from liqcore.types import VENUE_LOADERS, UnknownVenue, add_venue, drop_venue

__all__ = ["VenueSpec", "register", "unregister", "venue_spec", "spec_or_none", "sampled_liquidations", "venue_names",
           "registered", "UnknownVenue", "part_cache", "part_function", "venue_by_alias", "load_plugins", "ENTRY_POINT_GROUP",
           "PLUGIN_ERRORS", "VenuePluginWarning"]


@dataclass(frozen=True)
class VenueSpec:
    """A venue's facts and where its parts live.

    ``name``: the lower-case name used on the command line and in files; ``code``: its ``liqcore.types.Venue``
    value (the event contract's venue column); ``package``: the dotted package holding its parts.

    Facts the rest of liqcore asks for:

    * ``sampled_liquidations``: the venue's liquidation stream is a sample, not every liquidation (Binance's
      ``forceOrder`` sends at most one per symbol per second; OKX's ``liquidation-orders`` likewise): events from
      it carry ``Flag.SAMPLED`` and counts built from them say so;
    * ``push_batch_ms``: the public streams' push batch (Bybit pushes its liquidations in 500-ms batches; 0: each
      message as it happens), used by the synthetic market's receive times;
    * ``sizes_in_contracts``: order and event sizes are contracts of a ``ctVal`` (OKX), not base units;
    * ``all_market_stream``: the one subscription that carries every symbol's liquidations (None: one topic per
      symbol);
    * ``symbol_style``: ``"concat"`` (``ETHUSDT``), ``"inst_id"`` (``ETH-USDT-SWAP``) or ``"underscore"``
      (``ETH_USDT``, Gate's contract names);
    * ``ticker_stream``: the mark price, funding rate and open interest come on a tickers stream that is asked
      for (Bybit's ``tickers.<symbol>``); ``depth_levels``: a depth subscription names its level count (the
      ``stream`` part's ``check_depth_levels``);
    * ``needs_passphrase``: the API key comes with a passphrase (OKX);
    * ``per_topic_subscriptions``: every symbol's liquidations are a topic of their own, sharded over connections
      by the venue's args limit (Bybit), so topics are added while running;
    * ``rest_depth_snapshots``: a depth book starts from a REST snapshot (Binance, OKX) rather than from the
      stream's own snapshot after a resubscription (Bybit);
    * ``fake``: which local fake replays its recordings in ``liqcore run --replay``: ``"exchange"`` (a whole fake
      venue that also matches orders: ``--replay --live``) or ``"streams"`` (its public market streams alone);
    * ``public_clock``: its public REST time endpoint sets the clock guard's offset in paper trading;
    * ``local_fake``: ``"module:Class"`` of the venue's whole local fake (its order REST, private stream and
      market streams on one port: ``liqcore venue``); None: it has none;
    * ``rules_from_instrument_list``: a paper run on a symbol list takes each symbol's trading rules from the
      venue's instrument list (Binance, OKX); False: the shipped table (Bybit's gateway loads its list itself);
    * ``sampled_before_ns``: the liquidation stream was a sample (one per symbol per second) before this time (ns;
      Bybit's ``allLiquidation`` carries every liquidation since about 2025-02-01 UTC);
    * ``aliases``: other names files give the venue (tardis.dev exchange ids: ``binance-futures``, ``okex-swap``),
      read as its name in a file's venue column;
    * ``example_symbol``: one of its symbols as it spells them, for its documentation page (None: its ETH
      perpetual in its ``symbol_style``, :meth:`example`), so a venue whose names fit no style shows its own.
    """

    name: str
    code: int
    package: str
    sampled_liquidations: bool = False
    push_batch_ms: int = 0
    sizes_in_contracts: bool = False
    all_market_stream: str | None = None
    symbol_style: str = "concat"
    quote: str = "USDT"
    ticker_stream: bool = False
    depth_levels: bool = False
    needs_passphrase: bool = False
    per_topic_subscriptions: bool = False
    rest_depth_snapshots: bool = False
    fake: str = "streams"
    public_clock: bool = False
    local_fake: str | None = None
    rules_from_instrument_list: bool = False
    aliases: tuple = ()
    sampled_before_ns: int = 0
    example_symbol: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def part(self, name: str) -> ModuleType:
        """The venue's module ``name`` (``liqcore.venues.<venue>.<name>``), imported on first use."""
        try:
            return importlib.import_module(f"{self.package}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{self.package}.{name}":
                raise NotImplementedError(f"venue {self.name}: has no {name!r} part ({self.package}.{name})") from None
            raise

    def has_part(self, name: str) -> bool:
        try:
            return importlib.util.find_spec(f"{self.package}.{name}") is not None
        except ModuleNotFoundError:  # (its package is not importable: it has no parts)
            return False

    def instrument_of(self, symbol: str) -> str | None:
        """The venue-neutral instrument (``BASE-USDT``) of one of the venue's symbols, else None."""
        s = str(symbol).upper()
        q = self.quote
        if self.symbol_style == "inst_id":
            tail = f"-{q}-SWAP"
            return s[: -len("-SWAP")] if s.endswith(tail) and len(s) > len(tail) else None
        if self.symbol_style == "underscore":
            tail = f"_{q}"
            return f"{s[: -len(tail)]}-{q}" if s.endswith(tail) and len(s) > len(tail) else None
        if s.endswith(q) and len(s) > len(q) and "-" not in s:
            return f"{s[: -len(q)]}-{q}"
        return None

    def symbol_for(self, base: str) -> str:
        """The venue's symbol of a base asset's USDT perpetual."""
        if self.symbol_style == "underscore":
            return f"{base}_{self.quote}"
        return f"{base}-{self.quote}-SWAP" if self.symbol_style == "inst_id" else f"{base}{self.quote}"

    def example(self) -> str:
        """One of the venue's symbols, as its pages show it: its ``example_symbol``, else its ETH perpetual."""
        return self.example_symbol or self.symbol_for("ETH")


_REGISTRY: dict[str, VenueSpec] = {}
#: tables that keep what they found through the registry (venue code -> a part's function): emptied whenever a
#: venue is registered or forgotten, so that they never answer for a spec that is gone
_CACHES: list[dict] = []


def part_cache(d: dict | None = None) -> dict:
    """``d`` (None: a new dict) for keeping what was found through the registry, emptied on every
    (un)registration."""
    d = {} if d is None else d
    _CACHES.append(d)
    return d


def _forget_found() -> None:
    for d in _CACHES:
        d.clear()


def register(spec: VenueSpec, *, replace: bool = False) -> VenueSpec:
    """Register ``spec`` under its name (a second spec under the same name: ValueError unless ``replace``)."""
    key = spec.name.lower()
    if key != spec.name:
        raise ValueError(f"venue name must be lower case: {spec.name!r}")
    if key in _REGISTRY and not replace and _REGISTRY[key] != spec:
        raise ValueError(f"venue {key!r} is registered already")
    holder = next((s.name for s in _REGISTRY.values() if s.code == spec.code and s.name != key), None)
    if holder is not None:
        raise ValueError(f"venue code {spec.code} is registered already for venue {holder!r}")
    old = _REGISTRY.get(key)
    if old is not None and old.code != spec.code:  # (replaced under a new code: the old code is free again)
        drop_venue(old.code)
    add_venue(spec.code, key)  # (its liqcore.types.Venue member: the built-ins' are there already)
    _REGISTRY[key] = spec
    _forget_found()
    return spec


def unregister(name: str) -> None:
    """Forget a venue (a test that registered its own) and the :class:`~liqcore.types.Venue` member it added."""
    spec = _REGISTRY.pop(str(name).lower(), None)
    if spec is not None:
        drop_venue(spec.code)
        _forget_found()


_BUILTIN = ("bybit", "binance", "okx", "gate")
_LOADED = [False]
#: the entry point group a venue shipped as a package of its own registers under (``pyproject.toml``:
#: ``[project.entry-points."liqcore.venues"]`` ``<name> = "<package>:SPEC"``)
ENTRY_POINT_GROUP = "liqcore.venues"
#: entry point name -> why it was not loaded (one line; also said by a VenuePluginWarning)
PLUGIN_ERRORS: dict[str, str] = {}


class VenuePluginWarning(UserWarning):
    """A plugin of the ``liqcore.venues`` entry point group that could not be loaded (the others are)."""


def _builtin() -> None:
    if not _LOADED[0]:
        _LOADED[0] = True
        # the built-in venues register themselves from their folders' __init__ (cheap: no part imported)
        for name in _BUILTIN:
            importlib.import_module(f"liqcore.venues.{name}")
        load_plugins()


#: ``LIQCORE_VENUE_PLUGINS=off`` (or ``0``, ``no``, ``false``): the entry point group is not looked at, the built-in
#: venues alone are registered (a broken plugin told apart from liqcore; a test suite kept from the plugins installed)
PLUGINS_ENV = "LIQCORE_VENUE_PLUGINS"


def _entry_points():
    import os

    if os.environ.get(PLUGINS_ENV, "").strip().lower() in ("0", "off", "no", "false"):
        return []
    from importlib.metadata import entry_points

    return entry_points(group=ENTRY_POINT_GROUP)


def load_plugins(entry_points=None) -> list[str]:
    """Register the venues of the ``liqcore.venues`` entry point group (``entry_points``: those instead, a test's)
    -> the names registered.  An entry point is named for its venue and loads its :class:`VenueSpec` (``pkg:SPEC``),
    a callable returning one, or a module that registers its venue when imported; its ``package`` holds the parts.
    One that fails (it does not import, names another venue, takes a code already taken) is left out with a
    :class:`VenuePluginWarning` and its reason in :data:`PLUGIN_ERRORS`; the built-in venues and the other
    plugins are registered all the same."""
    if entry_points is None:
        entry_points = _entry_points()
    done = []
    for ep in entry_points:
        try:
            obj = ep.load()
            if callable(obj) and not isinstance(obj, (VenueSpec, ModuleType)):
                obj = obj()
            if isinstance(obj, VenueSpec):
                if obj.name != ep.name:
                    raise ValueError(f"its spec is named {obj.name!r}")
                register(obj)
            elif ep.name not in _REGISTRY:
                raise ValueError(f"{ep.value} registered no venue named {ep.name!r}")
            done.append(ep.name)
            PLUGIN_ERRORS.pop(ep.name, None)
        except Exception as exc:  # noqa: BLE001 - a broken plugin leaves the others and the built-ins working
            why = " ".join(f"{type(exc).__name__}: {exc}".split())
            PLUGIN_ERRORS[ep.name] = why
            import warnings

            # one line: said from the entry point group, not from a line of source (which warn() would print too)
            warnings.warn_explicit(f"venue plugin {ep.name!r} ({ep.value}) not loaded: {why}", VenuePluginWarning,
                                   ENTRY_POINT_GROUP, 0, module=__name__)
    return done


def venue_spec(venue) -> VenueSpec:
    """The spec of a venue given by name, ``Venue`` member or code."""
    _builtin()
    if isinstance(venue, str):
        spec = _REGISTRY.get(venue.strip().lower())
    else:
        try:
            code = int(venue)
        except (TypeError, ValueError, OverflowError):  # (None, a float not a number: no venue's, said as such)
            code = None
        spec = next((s for s in _REGISTRY.values() if s.code == code), None)
    if spec is None:
        raise UnknownVenue(f"venue: expected one of {', '.join(venue_names())}; got {venue!r}")
    return spec


def spec_or_none(venue) -> VenueSpec | None:
    """:func:`venue_spec`, or None for a venue no spec is registered for (``Venue.UNKNOWN``)."""
    try:
        return venue_spec(venue)
    except (UnknownVenue, ValueError):
        return None


def quote_of(venue) -> str:
    """The currency the venue's account equity and P&L lines are said in (its spec's ``quote``), "quote currency"
    for a venue without a registered spec or without one named."""
    return getattr(spec_or_none(venue), "quote", None) or "quote currency"


def venue_by_alias(name) -> str | None:
    """The registered venue's name of ``name`` (its name or one of its ``aliases``, any case), else None."""
    key = str(name or "").strip().lower()
    _builtin()
    if key in _REGISTRY:
        return key
    return next((s.name for s in _REGISTRY.values() if key in s.aliases), None)


def sampled_liquidations(venue) -> bool:
    """Whether the venue's liquidation stream is a sample (False for an unknown venue)."""
    spec = spec_or_none(venue)
    return bool(spec is not None and spec.sampled_liquidations)


def venue_names() -> list[str]:
    """Every registered venue's name, in registration order."""
    _builtin()
    return list(_REGISTRY)


def registered() -> list[VenueSpec]:
    _builtin()
    return list(_REGISTRY.values())


def part_function(cache: dict, venue, part: str, name: str):
    """The function ``name`` of ``venue``'s (a code or name) part ``part``, kept in ``cache`` (a
    :func:`part_cache`); None when no venue is registered by it, it has no such part or the part no such name."""
    try:
        return cache[venue]
    except KeyError:
        pass
    spec = spec_or_none(venue)
    fn = None
    if spec is not None and spec.has_part(part):
        fn = getattr(spec.part(part), name, None)
    cache[venue] = fn
    return fn


VENUE_LOADERS.append(_builtin)  # (a lookup in liqcore.types that misses registers every venue first)
