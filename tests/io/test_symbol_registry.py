"""The symbol registry's ids: dense from 0, given on first sight; an id it never gave (negative, past its last) is
one line naming it, never Python's from-the-end answer (-1 is the contract's venue-wide id), and a symbol with no
name is refused, never registered as "NONE"."""
from __future__ import annotations

import pickle

import pytest

from liqcore.types import SymbolRegistry, UnknownSymbolId, Venue


def test_ids_it_gave_and_ids_it_never_gave():
    r = SymbolRegistry([("bybit", "ethusdt"), ("binance", "SOLUSDT")])
    assert r.id("bybit", "ETHUSDT") == 0 and r.get("binance", "solusdt") == 1 and len(r) == 2
    assert r.symbol(1) == "SOLUSDT" and r.venue(0) == Venue.BYBIT and r.lookup(1) == (Venue.BINANCE, "SOLUSDT")
    for bad in (-1, 2, 7):
        for ask in (r.symbol, r.venue, r.lookup):
            with pytest.raises(UnknownSymbolId, match=rf"^symbol id {bad}: no such id in this registry \(it holds 2: 0..1\)$"):
                ask(bad)
    with pytest.raises(IndexError, match="it holds none"):  # (an IndexError still, for code that caught one)
        SymbolRegistry().symbol(0)
    back = pickle.loads(pickle.dumps(r))
    assert back.items() == r.items() and back.id("okx", "BTC-USDT-SWAP") == 2


@pytest.mark.parametrize("name", [None, "", "  ", 5])
def test_a_symbol_with_no_name_is_refused(name):
    r = SymbolRegistry()
    with pytest.raises(ValueError, match="symbol: expected a symbol's name"):
        r.id("bybit", name)
    assert len(r) == 0
