"""The stop's reading of the venue before it books (the order manager's shutdown,
:meth:`liqcore.live.orders.OrderManager.cancel_all`).

A private stream can go mute without closing: what happened meanwhile (an entry filled, a take-profit filled) is
not known until the venue is asked.  So a stop asks the gateway to read the venue's fills, orders and positions
once (:meth:`liqcore.venues.gateway.Gateway.reconcile`; what it finds comes through the gateway's callbacks, each
fill once), bounded by the shutdown deadline, and only then books the final states it learned.  A fill is never
inferred from an order's state: an entry the venue reports more filled than its booked fills is named
unreconciled instead (its journal row stays open; the next start settles it with the venue).

May import: ``asyncio``, ``logging`` and :mod:`liqcore.venues.gateway`.
"""
from __future__ import annotations

import asyncio
import logging

from liqcore.venues.gateway import GatewayError, OrderUpdate

__all__ = ["read_venue", "split_finals"]

log = logging.getLogger("liqcore.engine")


async def read_venue(gateway, left_s: float) -> str:
    """``gateway.reconcile()`` within ``left_s`` seconds: ``"yes"``, or why the venue was not read (said once)."""
    try:
        if left_s <= 0:
            raise asyncio.TimeoutError
        done = "yes" if await asyncio.wait_for(gateway.reconcile(), left_s) else "not read"
    except asyncio.TimeoutError:
        done = f"not read before the shutdown deadline ({max(left_s, 0.0):.2f} s left)"
    except GatewayError as exc:
        done = f"the venue could not be read: {exc}"
    except Exception as exc:  # (a stop books what it knows whatever a venue's reading raised)
        log.exception("shutdown: reading the venue again failed")
        done = f"the venue's reading failed: {type(exc).__name__}: {exc}"
    if done != "yes":
        log.warning("shutdown: the venue's fills, orders and positions were not read again (%s): the journal "
                    "holds what the private stream reported", done)
    return done


def split_finals(finals: list[OrderUpdate], done: str, booked_qty) -> tuple[list[OrderUpdate], list[dict]]:
    """The terminal states a stop learned (``finals``) after the venue's reading (``done``: :func:`read_venue`'s
    answer): those to book, and the entries the venue reports more filled than their booked fills
    (``booked_qty(client_id)``, base units) as ``{"symbol", "client_id", "venue_filled", "booked", "reason"}``
    (said in one error line)."""
    book, out = [], []
    for u in finals:
        booked = booked_qty(u.client_id)
        if u.filled_qty > booked + 1e-12:
            out.append({"symbol": u.symbol, "client_id": u.client_id, "venue_filled": u.filled_qty, "booked": booked,
                        "reason": f"reconcile {done}" if done != "yes" else "the venue's fills of it were not found"})
        else:
            book.append(u)
    if out:
        log.error("shutdown: %d entries booked unreconciled (the venue reports more filled than the journal holds; "
                  "their fills were not read): %s", len(out),
                  ", ".join(f"{u['symbol']} {u['client_id']} ({u['reason']})" for u in out))
    return book, out
