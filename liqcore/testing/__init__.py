"""Shipped test kit: a fake Bybit v5 exchange on loopback (REST + public/private websockets, fill model,
fault injection), a fake Binance USD-M venue (order REST + user stream), a fake OKX v5 venue (REST, public /
private / business websockets: the OKX venue's ``fake`` part, ``liqcore.venues.okx.fake``), fake Binance and OKX market streams
(with their instrument lists: a whole market of 400 perpetuals, ``fake_universe``; a market-wide crash played on
the fake Binance stream, ``CrashPlay``, Binance's ``liqcore/venues/binance/crash.py``), the account endpoints a preflight reads (``fake_accounts``: permissions, modes, leverage,
fees) and helpers to build or replay venue frames.  Every public stream can be silenced (``silence(stream)``:
acknowledged when subscribed, never sent).  Names load lazily (no aiohttp at import); a venue's fake names (``FakeExchange``, Bybit's, ``FakeBinance``,
``OKX_API_KEY``, ...) are found through the venue registry, from each venue's ``fake`` part.

Shipped so that users can test their own gateways and strategies against a venue without the
network.  May import: the data contract (``liqcore.types``, ``liqcore.validate``), ``venues`` (the fakes'
shared order book and loopback base, ``venues.fake_book`` and ``venues.loopback``, and the venue folders'
fakes) and the readers (``liqcore.io``, to replay recordings); never ``live`` (the fakes stand on the wire
side of it).
Imported by the tests and by ``commands`` (``run --replay``).

A fake of a new venue goes to its folder as ``liqcore/venues/<venue>/fake.py`` (the registry's ``fake`` part,
``FAKE``) on :class:`LoopbackVenue` and the shared order book (``liqcore/venues/fake_book.py``); its frames come
from the same folder.
"""
from __future__ import annotations

from liqcore._lazy import lazy_exports


_EXPORTS = {
    "FakeExchangeThread": "liqcore.testing.fake_exchange",
    "FakeExchangeInLoop": "liqcore.testing.fake_exchange",
    "Faults": "liqcore.venues.loopback",
    "HttpFault": "liqcore.venues.loopback",
    "FakeRequest": "liqcore.venues.loopback",
    "FakeAccount": "liqcore.venues.fake_accounts",
    "FakeVenue": "liqcore.venues.fake_book",
    "FakeOrder": "liqcore.venues.fake_book",
    "FakePosition": "liqcore.venues.fake_book",
    "DEFAULT_INSTRUMENTS": "liqcore.venues.fake_book",
    "read_recording": "liqcore.testing.fake_replay",
    "synthetic_frames": "liqcore.testing.fake_replay",
    "frames_from_objects": "liqcore.testing.fake_replay",
    "trade_frame": "liqcore.testing.fake_replay",
    "liquidation_frame": "liqcore.testing.fake_replay",
    "FakeMarketStream": "liqcore.venues.fake_streams",
    "market_instruments": "liqcore.venues.fake_universe",
}



def _venue_fakes() -> dict:
    """name -> module of every registered venue's ``fake`` part's public names (its ``FAKE`` left out): the fake
    Binance and OKX venues (``FakeBinance``, ``OKX_API_KEY``, ...), a new venue's fake with them."""
    from liqcore.venues.registry import registered

    out = {}
    for spec in registered():
        if spec.has_part("fake"):
            mod = spec.part("fake")
            for name in getattr(mod, "__all__", ()):
                if name != "FAKE" and name not in _EXPORTS:
                    out.setdefault(name, mod.__name__)
    return out


_shared_getattr, _shared_dir = lazy_exports(__name__, {name: (mod, name) for name, mod in _EXPORTS.items()})


def __getattr__(name: str):
    if name in _EXPORTS:
        return _shared_getattr(name)
    if name == "__all__":
        return sorted({*_EXPORTS, *_venue_fakes()})
    mod = _venue_fakes().get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    import sys

    value = getattr(importlib.import_module(mod), name)
    sys.modules[__name__].__dict__[name] = value
    return value


def __dir__():
    return sorted({*_shared_dir(), *_venue_fakes()})
