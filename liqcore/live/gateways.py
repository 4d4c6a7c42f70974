"""The order gateways of ``liqcore run --live``, asked of the venue registry.

A venue's order gateway is its registry part ``gateway`` (``liqcore.venues.<venue>.gateway``: ``GATEWAY``, the
class, and ``build(creds, rest_url, private_url, symbols, network, opts)``), imported when used: an OKX run imports
the OKX gateway, nothing else does.  Its key file holds ``<VENUE>_API_KEY`` and ``<VENUE>_API_SECRET`` (and
``<VENUE>_API_PASSPHRASE`` for a venue whose spec says ``needs_passphrase``); where the venue's REST API and
private websocket are on each network is its ``stream`` part's ``rest_url(network)`` / ``private_ws_url(network)``,
so a venue's endpoints are written in one place.

URLs given by the user (``--ws-url``, ``--rest-url``, ``--private-ws-url``) are either a full URL (with a
path: used as it is) or a base ``scheme://host:port`` (no path): the venue's documented path is then
appended (:func:`with_venue_path`), so a local server laid out like the venue serves the run:

=========  ============================  ==========================  ====================================
venue      public websocket              private websocket           REST
=========  ============================  ==========================  ====================================
bybit      ``/v5/public/linear``         ``/v5/private``             ``/v5/...`` (the gateway's)
binance    the market-stream base's      the user-data stream's      ``/fapi/...`` (the gateway's)
           path (``/market``, then       (the gateway appends it to
           ``/ws``)                      the base)
okx        ``/ws/v5/public``             ``/ws/v5/private``          ``/api/v5/...`` (the gateway's)
=========  ============================  ==========================  ====================================
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from liqcore.secrets import Credentials, load_credentials
from liqcore.venues.registry import UnknownVenue, registered, spec_or_none, venue_spec

__all__ = ["GatewayEntry", "entry", "with_venue_path", "venue_urls", "load_keys", "make_gateway"]


@dataclass(frozen=True)
class GatewayEntry:
    """One venue's order gateway as the registry gives it: its module (the venue's ``gateway`` part, imported on
    use), the names its key file holds, the network's default REST base and private websocket, and how the class
    is constructed."""

    venue: str
    module: str
    credentials: tuple[str, ...]
    rest: Callable[[str], str]
    private_ws: Callable[[str], str]

    @property
    def passphrase(self) -> bool:
        return len(self.credentials) > 2

    def part(self):
        """The venue's ``gateway`` part; a venue without one, or an installation lacking what it imports, is a
        one-line ValueError."""
        try:
            return venue_spec(self.venue).part("gateway")
        except NotImplementedError:
            raise ValueError(f"live: no order gateway for {self.venue!r} ({self.module} does not exist)") from None
        except ImportError as exc:
            raise ValueError(f"live: {self.venue} orders need {self.module}, which this installation cannot import "
                             f"({exc.msg if hasattr(exc, 'msg') else exc})") from None

    def gateway_class(self):
        """The gateway class (the part's ``GATEWAY``)."""
        try:
            return self.part().GATEWAY
        except AttributeError:
            raise ValueError(f"live: {self.module} has no GATEWAY") from None

    def build(self, creds: Credentials, rest_url: str, private_url: str, symbols, network: str, opts: dict):
        return self.part().build(creds, rest_url, private_url, symbols, network, opts)


def entry(venue: str) -> GatewayEntry:
    """The order gateway of a registered venue (ValueError naming the venues that have one)."""
    try:
        spec = venue_spec(venue)
    except UnknownVenue:
        have = ", ".join(s.name for s in registered() if s.has_part("gateway"))
        raise ValueError(f"live: no order gateway for {venue!r} ({have})") from None
    prefix = spec.name.upper()
    names = (f"{prefix}_API_KEY", f"{prefix}_API_SECRET") + ((f"{prefix}_API_PASSPHRASE",) if spec.needs_passphrase
                                                             else ())

    def rest(network: str) -> str:
        return spec.part("stream").rest_url(network)

    def private_ws(network: str) -> str:
        return spec.part("stream").private_ws_url(network)

    return GatewayEntry(spec.name, f"{spec.package}.gateway", names, rest, private_ws)


def with_venue_path(url: str | None, default: str) -> str | None:
    """``url`` as the run uses it: None stays None; a base (``scheme://host:port``, no path) gets the path
    (and query) of the venue's ``default`` URL; a URL with a path is kept as it is (trailing ``/`` dropped)."""
    if url is None:
        return None
    url = str(url).strip()
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"url: expected scheme://host[:port][/path]; got {url!r}")
    if parts.path.strip("/") or parts.query:
        return url
    d = urlsplit(default)
    return f"{parts.scheme}://{parts.netloc}{d.path.rstrip('/')}" + (f"?{d.query}" if d.query else "")


@dataclass(frozen=True)
class VenueUrls:
    """The run's URLs: the public websocket (None: the network's), the REST base and the private websocket
    (None: the network's; the gateway then takes its entry's default)."""

    ws: str | None
    rest: str | None
    private_ws: str | None


def venue_urls(venue: str, network: str, ws_url: str | None = None, rest_url: str | None = None,
               private_ws_url: str | None = None) -> VenueUrls:
    """``--ws-url`` / ``--rest-url`` / ``--private-ws-url`` of a run on ``venue``, each a base or a full URL
    (:func:`with_venue_path`): the public path from the venue's stream module, the private one from its
    gateway entry; a REST base is the gateway's (it appends the venue's paths itself)."""
    from liqcore.live.feeds import stream_module

    mod = stream_module(venue)
    try:
        public = mod.ENDPOINTS[network]
    except KeyError:
        raise ValueError(f"network: expected one of {', '.join(mod.ENDPOINTS)}; got {network!r}") from None
    spec = spec_or_none(venue)
    e = entry(venue) if spec is not None and spec.has_part("gateway") else None  # (no gateway: no private socket)
    rest = with_venue_path(rest_url, "")
    return VenueUrls(with_venue_path(ws_url, public), rest.rstrip("/") if rest else rest,
                     with_venue_path(private_ws_url, e.private_ws(network)) if e is not None else private_ws_url)


def load_keys(venue: str, key_file=None, env=None) -> Credentials:
    """The venue's API credentials (:func:`liqcore.secrets.load_credentials`: ``--key-file``, else the
    environment, else ``$LIQCORE_KEY_FILE``); OKX's passphrase too."""
    e = entry(venue)
    return load_credentials(e.venue, key_file=key_file, env=env, passphrase=e.passphrase)


def make_gateway(venue: str, creds: Credentials, network: str = "mainnet", *, rest_url: str | None = None,
                 private_ws_url: str | None = None, symbols=None, **opts):
    """The venue's order gateway on ``network`` (``rest_url`` / ``private_ws_url``: overrides, as
    :func:`venue_urls` returns them); ``opts``: the Bybit gateway's ``ping_interval`` / ``stale_after``, the Binance gateway's
    ``listen_key_keepalive`` (s)."""
    e = entry(venue)
    e.part()  # (a venue without a gateway: said before its endpoints are asked for)
    return e.build(creds, rest_url or e.rest(network), private_ws_url or e.private_ws(network),
                   list(symbols) if symbols else None, network, opts)
