"""A new listing traded without a restart: :func:`admit` makes symbols traded symbols of a running engine.

The details: docs/maintainers/live-feeds.md, "A new listing traded without a restart (liqcore.live.admit)".

May import: the standard library.
"""
from __future__ import annotations

import logging

__all__ = ["admit"]

log = logging.getLogger("liqcore.listing")


def admit(engine, venue: str, symbols) -> list[str]:
    """Make ``symbols`` (``venue``'s spelling) traded symbols of the running ``engine``; returns the ones added
    (a symbol traded already is left as it is)."""
    new = [s for s in dict.fromkeys(str(x).strip().upper() for x in symbols) if s and s not in engine._by_symbol]
    if not new:
        return []
    core = engine.core
    idx = core.add_symbols([f"{venue}:{s}" for s in new])
    for s, ci in zip(new, idx):
        sid = engine.registry.id(venue, s)
        engine.traded.append((venue, s))
        engine._core_idx[sid] = ci
        engine._by_symbol[s] = (sid, ci)
    om = engine.order_manager
    om.add_books(new)
    engine.queue_est.add(new)
    gw = engine.gateway
    if engine.paper:
        gw.bind(core, {s: ci for s, (_, ci) in engine._by_symbol.items()})
    else:
        if isinstance(getattr(gw, "symbols", None), list):
            gw.symbols.extend(new)
        load = getattr(gw, "load_instruments", None)
        if load is not None:  # (its order bodies are built from its own instrument table)
            om.spawn(_load(load, new))
    return new


async def _load(load, symbols) -> None:
    try:
        await load(symbols)
    except Exception as e:  # the venue's rules of the order manager still round and check every order
        log.warning("gateway: instruments of the new listings %s not loaded (%s)", ",".join(symbols), e)
