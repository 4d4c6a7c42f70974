"""The order gateways of ``liqcore run --live``, one table for the three venues.

Each entry says which class sends the venue's orders (imported when used: an OKX run imports the OKX
gateway, nothing else does), which names its key file holds, and where the venue's REST API and
private websocket are on each network.  Every default comes from the venue's own module
(``liqcore.venues.<venue>``), so a venue's endpoints are written in one place.

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

import importlib
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from liqcore.secrets import Credentials, load_credentials

__all__ = ["GatewayEntry", "GATEWAYS", "entry", "with_venue_path", "venue_urls", "load_keys", "make_gateway"]


def _host(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (its path and query dropped)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _bybit_rest(network: str) -> str:
    from liqcore.venues.bybit import stream

    return stream.REST_ENDPOINTS[network]


def _bybit_private(network: str) -> str:
    from liqcore.venues.bybit import stream

    return stream.PRIVATE_ENDPOINTS[network]


def _binance_rest(network: str) -> str:
    from liqcore.venues.binance import rest

    return rest.BASE_URL if network == "mainnet" else rest.TESTNET_URL


def _binance_private(network: str) -> str:
    # the user-data stream is on the market streams' host; the gateway appends its own path to this base
    from liqcore.venues.binance import stream

    return _host(stream.ENDPOINTS[network])


def _okx_rest(network: str) -> str:
    from liqcore.venues.okx import stream

    return stream.REST_ENDPOINTS[network]


def _okx_private(network: str) -> str:
    from liqcore.venues.okx import stream

    return stream.PRIVATE_ENDPOINTS[network]


def _build_bybit(cls, creds: Credentials, rest_url: str, private_url: str, symbols, network: str, opts: dict):
    return cls(creds.api_key, creds.api_secret, rest_url, private_url, symbols=symbols,
               ping_interval=opts.get("ping_interval", 20.0), stale_after=opts.get("stale_after", 60.0))


def _build_binance(cls, creds: Credentials, rest_url: str, private_url: str, symbols, network: str, opts: dict):
    return cls(creds.api_key, creds.api_secret, rest_url, private_url, symbols=symbols,
               keepalive=opts.get("listen_key_keepalive", 1800.0))


def _build_okx(cls, creds: Credentials, rest_url: str, private_url: str, symbols, network: str, opts: dict):
    return cls(creds.api_key, creds.api_secret, creds.passphrase, rest_url, private_url, symbols=symbols,
               network=network)


@dataclass(frozen=True)
class GatewayEntry:
    """One venue's order gateway: its module and class (imported on use), the names its key file holds,
    the network's default REST base and private websocket, and how the class is constructed."""

    venue: str
    module: str
    cls: str
    credentials: tuple[str, ...]
    rest: Callable[[str], str]
    private_ws: Callable[[str], str]
    build: Callable

    @property
    def passphrase(self) -> bool:
        return len(self.credentials) > 2

    def gateway_class(self):
        """The gateway class; a module that is not there (yet) is a one-line ValueError."""
        try:
            mod = importlib.import_module(self.module)
        except ImportError as exc:
            raise ValueError(f"live: {self.venue} orders need {self.module}, which this installation does not "
                             f"have ({exc.msg if hasattr(exc, 'msg') else exc})") from None
        try:
            return getattr(mod, self.cls)
        except AttributeError:
            raise ValueError(f"live: {self.module} has no {self.cls}") from None


GATEWAYS: dict[str, GatewayEntry] = {
    "bybit": GatewayEntry("bybit", "liqcore.live.bybit_gateway", "BybitGateway",
                          ("BYBIT_API_KEY", "BYBIT_API_SECRET"), _bybit_rest, _bybit_private, _build_bybit),
    "binance": GatewayEntry("binance", "liqcore.live.binance_gateway", "BinanceGateway",
                            ("BINANCE_API_KEY", "BINANCE_API_SECRET"), _binance_rest, _binance_private, _build_binance),
    "okx": GatewayEntry("okx", "liqcore.live.okx_gateway", "OkxGateway",
                        ("OKX_API_KEY", "OKX_API_SECRET", "OKX_API_PASSPHRASE"), _okx_rest, _okx_private, _build_okx),
}


def entry(venue: str) -> GatewayEntry:
    try:
        return GATEWAYS[str(venue).lower()]
    except KeyError:
        raise ValueError(f"live: no order gateway for {venue!r} (bybit, binance, okx)") from None


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
    e = GATEWAYS.get(str(venue).lower())
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
    cls = e.gateway_class()
    return e.build(cls, creds, rest_url or e.rest(network), private_ws_url or e.private_ws(network),
                   list(symbols) if symbols else None, network, opts)
