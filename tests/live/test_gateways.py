"""The live order gateways' table (``liqcore.live.gateways``): the URL each venue's run connects to from a
``scheme://host:port`` base or a full URL, the network defaults, the key-file names, the gateway built."""
from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from liqcore.live.gateways import entry, load_keys, make_gateway, venue_urls, with_venue_path
from liqcore.secrets import Credentials, Secret
from liqcore.venues.binance import stream as binance_stream
from liqcore.venues.bybit import stream as bybit_stream
from liqcore.venues.okx import stream as okx_stream


def test_a_base_gets_each_venues_documented_paths():
    """Bybit v5 "Connect": ``wss://stream.bybit.com/v5/public/linear`` and ``/v5/private``
    (bybit-exchange/docs, v5/ws/connect.mdx); OKX v5 "Production Trading Services":
    ``wss://ws.okx.com:8443/ws/v5/public`` and ``/ws/v5/private`` (https://www.okx.com/docs-v5/en/
    #overview-production-trading-services); Binance USD-M futures, 2026 routing: regular market data under
    ``wss://fstream.binance.com/market`` ("Binance Futures ... three dedicated WebSocket base URLs: Public
    ... /public, Market ... /market, Private ... /private", Binance announcement, 2026)."""
    b = "ws://127.0.0.1:8900"
    u = venue_urls("bybit", "mainnet", b, "http://127.0.0.1:8900/", b)
    assert (u.ws, u.rest, u.private_ws) == (b + "/v5/public/linear", "http://127.0.0.1:8900", b + "/v5/private")
    u = venue_urls("okx", "mainnet", b, "http://127.0.0.1:8900", b)
    assert (u.ws, u.private_ws) == (b + "/ws/v5/public", b + "/ws/v5/private")
    u = venue_urls("binance", "mainnet", b, "http://127.0.0.1:8900", b)
    assert u.ws == b  # the root: each connection appends its category's path (/public, /market)
    assert {s.url for s in binance_stream.connection_specs(["ETHUSDT"], u.ws, book=True)} == {
        b + "/market/ws", b + "/public/ws"}
    # the paths are the venue modules' own, so a change there flows through
    assert u.ws == b + urlsplit(binance_stream.ENDPOINTS["mainnet"]).path
    assert u.private_ws == b  # the Binance gateway appends its user-data path to the base itself
    assert venue_urls("bybit", "testnet", b).ws == b + urlsplit(bybit_stream.ENDPOINTS["testnet"]).path
    assert venue_urls("okx", "demo", b).ws == b + urlsplit(okx_stream.ENDPOINTS["demo"]).path


def test_a_full_url_is_kept_and_nothing_given_stays_the_networks():
    full = "ws://127.0.0.1:8900/v5/public/linear"
    assert with_venue_path(full, bybit_stream.ENDPOINTS["mainnet"]) == full
    assert with_venue_path("ws://10.0.0.1:1/custom/ws", "wss://x/ws/v5/public") == "ws://10.0.0.1:1/custom/ws"
    assert with_venue_path("ws://h:1/stream?streams=a", "wss://x/market") == "ws://h:1/stream?streams=a"
    assert venue_urls("binance", "mainnet") == venue_urls("binance", "mainnet", None, None, None)
    u = venue_urls("bybit", "mainnet")
    assert (u.ws, u.rest, u.private_ws) == (None, None, None)
    with pytest.raises(ValueError, match="scheme://host"):
        with_venue_path("127.0.0.1:8900", "wss://x/v5/public/linear")


def test_network_defaults_come_from_the_venue_modules():
    assert entry("bybit").rest("testnet") == bybit_stream.REST_ENDPOINTS["testnet"]
    assert entry("bybit").private_ws("demo") == bybit_stream.PRIVATE_ENDPOINTS["demo"]
    assert entry("okx").private_ws("mainnet") == "wss://ws.okx.com:8443/ws/v5/private"
    assert entry("okx").rest("mainnet") == "https://www.okx.com"
    assert entry("binance").rest("mainnet") == "https://fapi.binance.com"
    assert entry("binance").private_ws("mainnet") == "wss://fstream.binance.com"


def test_key_names_per_venue(tmp_path):
    p = tmp_path / "k"
    p.write_text("OKX_API_KEY=k-1234\nOKX_API_SECRET=s-5678\nOKX_API_PASSPHRASE=p-9999\n")
    p.chmod(0o600)
    c = load_keys("okx", p, env={})
    assert (c.api_key.reveal(), c.api_secret.reveal(), c.passphrase.reveal()) == ("k-1234", "s-5678", "p-9999")
    assert "p-9999" not in repr(c) and "s-5678" not in repr(c)
    p.write_text("OKX_API_KEY=k-1234\nOKX_API_SECRET=s-5678\n")
    with pytest.raises(ValueError, match="OKX_API_PASSPHRASE: missing") as e:
        load_keys("okx", p, env={})
    assert "k-1234" not in str(e.value) and "s-5678" not in str(e.value)
    c = load_keys("binance", None, env={"BINANCE_API_KEY": "bk-1111", "BINANCE_API_SECRET": "bs-2222"})
    assert c.api_key.reveal() == "bk-1111" and c.passphrase is None
    with pytest.raises(ValueError, match="no order gateway"):
        entry("kraken")


def test_make_gateway_binance_on_a_base():
    creds = Credentials(Secret("key-abcdef"), Secret("secret-123456"))
    gw = make_gateway("binance", creds, "mainnet", rest_url="http://127.0.0.1:8900",
                      private_ws_url="ws://127.0.0.1:8900", symbols=["ETHUSDT"])
    try:
        assert type(gw).__name__ == "BinanceGateway" and gw.ws_base == "ws://127.0.0.1:8900"
        assert gw.rest.base_url == "http://127.0.0.1:8900" and gw.symbols == ["ETHUSDT"]
        assert "secret-123456" not in repr(gw) and "key-abcdef" not in repr(gw)
    finally:
        asyncio.run(gw.rest.close())
    gw = make_gateway("bybit", creds, "testnet", symbols=["ETHUSDT"])
    assert type(gw).__name__ == "BybitGateway"


@pytest.mark.parametrize("venue", ["bybit", "binance", "okx"])
def test_each_gateway_is_its_venues_registry_part(venue):
    """The gateway ``liqcore run --live`` builds is the venue folder's ``gateway`` part (``venues/<venue>/gateway.py``),
    asked of the registry; its defaults are the venue's ``stream`` part's."""
    from liqcore.venues.registry import venue_spec

    spec = venue_spec(venue)
    part = spec.part("gateway")
    assert part.__name__ == f"liqcore.venues.{venue}.gateway"
    e = entry(venue)
    assert e.gateway_class() is part.GATEWAY and e.module == part.__name__
    assert e.rest("mainnet") == spec.part("stream").rest_url("mainnet")
    assert e.passphrase is spec.needs_passphrase


def test_a_venue_without_a_gateway_part_is_one_line(tmp_path, monkeypatch):
    """A venue registered without a ``gateway`` part (a test's own package, which has none) has no order gateway:
    ``make_gateway`` says so in one line naming the module it looked for."""
    from liqcore.venues.registry import VenueSpec, register, unregister

    (tmp_path / "nogate_venue").mkdir()
    (tmp_path / "nogate_venue" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    register(VenueSpec(name="nogate", code=97, package="nogate_venue"))
    try:
        with pytest.raises(ValueError, match=r"no order gateway for 'nogate' \(nogate_venue\.gateway does not "
                                             r"exist\)") as e:
            make_gateway("nogate", Credentials(Secret("key-abcdef"), Secret("secret-123456")))
        assert "\n" not in str(e.value) and "secret-123456" not in str(e.value)
    finally:
        unregister("nogate")
