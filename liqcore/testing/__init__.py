"""Shipped test kit: a fake Bybit v5 exchange on loopback (REST + public/private websockets, fill model,
fault injection), a fake Binance USD-M venue (order REST + user stream), a fake OKX v5 venue (REST, public /
private / business websockets: the OKX venue's ``fake`` part, ``liqcore.venues.okx.fake``), fake Binance and OKX market streams
(with their instrument lists: a whole market of 400 perpetuals, ``fake_universe``; a market-wide crash played on
them, ``fake_crash``), the account endpoints a preflight reads (``fake_accounts``: permissions, modes, leverage,
fees) and helpers to build or replay venue frames.  Every public stream can be silenced (``silence(stream)``:
acknowledged when subscribed, never sent).  Names load lazily (no aiohttp at import).

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
    "FakeExchange": "liqcore.testing.fake_exchange",
    "FakeExchangeThread": "liqcore.testing.fake_exchange",
    "Faults": "liqcore.testing.fake_exchange",
    "HttpFault": "liqcore.testing.fake_exchange",
    "FakeRequest": "liqcore.testing.fake_exchange",
    "DEFAULT_API_KEY": "liqcore.testing.fake_exchange",
    "DEFAULT_API_SECRET": "liqcore.testing.fake_exchange",
    "FakeBinance": "liqcore.venues.binance.fake",
    "BINANCE_API_KEY": "liqcore.venues.binance.fake",
    "BINANCE_API_SECRET": "liqcore.venues.binance.fake",
    "FakeOkx": "liqcore.venues.okx.fake",
    "OKX_API_KEY": "liqcore.venues.okx.fake",
    "OKX_API_SECRET": "liqcore.venues.okx.fake",
    "OKX_PASSPHRASE": "liqcore.venues.okx.fake",
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
    "CrashPlay": "liqcore.testing.fake_crash",
    "crash_symbols": "liqcore.testing.fake_crash",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, {name: (mod, name) for name, mod in _EXPORTS.items()})
