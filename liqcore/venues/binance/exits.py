"""The exits of the Binance USD-M gateway: its take-profit and stop-loss as conditional (algo) orders, placed
idempotently by clientAlgoId, held until the venue has them, repaired when the venue ends one, and the position
closed at market when they cannot be made whole.  :class:`BinanceExits` is a part of
:class:`liqcore.venues.binance.gateway.BinanceGateway` (its state: the gateway's brackets by symbol).

May import: ``venues.binance`` (``rest``, ``codes``), ``venues.gateway``, ``venues.numbers`` and ``venues.outcomes``.
"""
from __future__ import annotations

import asyncio
import logging
import time

from liqcore.venues.binance.codes import what_of
from liqcore.venues.binance.rest import BinanceAPIError, BinanceBanned, BinanceTransportError
from liqcore.venues.gateway import GatewayError, OrderUpdate
from liqcore.venues.numbers import wire_number
from liqcore.venues.outcomes import BANNED, DUPLICATE, RATE_LIMITED, UNKNOWN

__all__ = ["BinanceExits"]

log = logging.getLogger("liqcore.binance.gateway")

ERR_NO_SUCH_ORDER, ERR_UNKNOWN_ORDER, ERR_DUPLICATE, ERR_POST_ONLY = -2013, -2011, -4116, -5022
#: the algo statuses of a conditional order ended without being triggered ("Event: Algo Order Update", Algo Status:
#: CANCELED, EXPIRED = cancelled by the system, REJECTED = denied by the matching engine, e.g. a margin check)
_GONE_UNTRIGGERED = ("CANCELED", "EXPIRED", "REJECTED")

#: an algo order's ``algoStatus`` while it may still trigger (USD-M futures user data streams, "Event: Algo Order
#: Update": NEW, TRIGGERING; then TRIGGERED, FINISHED, CANCELED, REJECTED, EXPIRED)
_ALGO_WORKING = ("NEW", "TRIGGERING")


def _what(exc: BaseException) -> str:
    """The class of a failed request (:mod:`liqcore.venues.binance.codes`): a transport failure is unknown."""
    if isinstance(exc, BinanceBanned):
        return BANNED
    if isinstance(exc, BinanceAPIError):
        return what_of(exc.code, exc.http_status)
    return UNKNOWN


class BinanceExits:
    """The bracket of each position (take-profit, stop-loss) of :class:`~liqcore.venues.binance.gateway.BinanceGateway`."""

    async def _algo(self, symbol: str, caid: str, params: dict, report: bool = True) -> str:
        """Create one conditional order idempotently: ``"placed"`` (the venue holds it: answered, a duplicate
        clientAlgoId, or found by a query of the clientAlgoId after an unknown outcome), ``"refused"`` (reported
        as a ``rejected`` update of the exit when ``report``) or ``"unknown"`` (not confirmed after the bounded
        attempts, or a ban)."""
        for attempt in range(1, self.max_create_attempts + 1):
            try:
                await self.rest.request("POST", "/fapi/v1/algoOrder", params, limiter=self.limiter)
                return "placed"
            except BinanceBanned as exc:
                log.error("binance %s not sent: %s", caid, exc.msg)
                return "unknown"
            except BinanceAPIError as exc:
                what = _what(exc)
                if what == DUPLICATE:
                    return "placed"
                if what == RATE_LIMITED:
                    await asyncio.sleep(self.retry_backoff * attempt)
                    continue
                if what != UNKNOWN:
                    log.error("binance %s rejected: %s %s", caid, exc.code, exc.msg)
                    if report:
                        await self._emit(self._update_cbs, OrderUpdate(
                            self._bracket.get(symbol, {}).get("cid", caid), "rejected", symbol, reason=f"{exc.code} {exc.msg}",
                            kind="tp" if caid.endswith("-tp") else "sl", ts_ns=time.time_ns()))
                    return "refused"
            except BinanceTransportError:
                pass
            # an unknown outcome: does the venue hold it?
            st = await self._algo_status(symbol, caid)
            if st in ("NEW", "TRIGGERING", "TRIGGERED", "FINISHED"):
                return "placed"
            await asyncio.sleep(self.retry_backoff * attempt)
        log.error("binance %s: conditional order not confirmed after %d attempts", caid, self.max_create_attempts)
        return "unknown"

    async def _algo_status(self, symbol: str, caid: str) -> str | None:
        """The venue's ``algoStatus`` of a clientAlgoId (``GET /fapi/v1/algoOrder``), ``""`` when it holds none
        (-2013), None when it did not say."""
        try:
            d = await self.rest.request("GET", "/fapi/v1/algoOrder", {"symbol": symbol, "clientAlgoId": caid})
        except BinanceAPIError as exc:
            return "" if exc.code == ERR_NO_SUCH_ORDER else None
        except BinanceTransportError:
            return None
        return str((d or {}).get("algoStatus") or "")

    def _exit_params(self, symbol: str, kind: str, caid: str, qty: float, close: str) -> dict:
        """The ``POST /fapi/v1/algoOrder`` of a take-profit (a TAKE_PROFIT limit at its trigger) or a stop-loss
        (STOP_MARKET), reduce-only, on the contract price."""
        intent = self._intents[self._bracket[symbol]["cid"]]
        if kind == "tp":
            tp = self._px(symbol, intent.take_profit)
            return {"algoType": "CONDITIONAL", "symbol": symbol, "side": close, "type": "TAKE_PROFIT",
                    "quantity": self._qty(symbol, qty), "price": tp, "triggerPrice": tp, "timeInForce": "GTC",
                    "reduceOnly": "true", "workingType": "CONTRACT_PRICE", "clientAlgoId": caid}
        return {"algoType": "CONDITIONAL", "symbol": symbol, "side": close, "type": "STOP_MARKET",
                "quantity": self._qty(symbol, qty), "triggerPrice": self._px(symbol, intent.stop_loss),
                "reduceOnly": "true", "workingType": "CONTRACT_PRICE", "clientAlgoId": caid}

    async def _place_bracket(self, symbol: str, qty: float) -> None:
        br = self._bracket.get(symbol)
        if br is None or br["placed"]:
            return
        br["placed"] = True
        intent = self._intents.get(br["cid"])
        if intent is None:
            return
        close = "SELL" if intent.side == "buy" else "BUY"
        base = br["cid"][:32]
        br["qty"], br["close"] = qty, close
        self.stats["brackets"] += 1
        for suffix in ("tp", "sl"):
            self._algo_cid[f"{base}-{suffix}"] = br["cid"]
        missing = []
        for kind, level in (("tp", intent.take_profit), ("sl", intent.stop_loss)):
            if level:
                br[kind] = f"{base}-{kind}"
                got = await self._algo(symbol, br[kind], self._exit_params(symbol, kind, br[kind], qty, close))
                if self._bracket.get(symbol) is not br:  # (cleared or retired meanwhile: no exit may outlive it)
                    if got != "refused":
                        self._cancelling.add(br[kind])
                        await self._cancel_algo(symbol, br[kind])
                    continue
                if got != "placed":
                    missing.append((kind, got))
        if missing and self._bracket.get(symbol) is br:
            self._spawn(self._exits_unplaced(symbol, br, missing))

    async def _exits_unplaced(self, symbol: str, br: dict, missing: list[tuple[str, str]]) -> None:
        """Exits of a fresh position whose placement was refused or has an unknown outcome (a ban, 5xx, timeouts):
        said ``lost`` at once (the order manager's 30 s watchdog counts from now), then placed again under the SAME
        clientAlgoId (idempotent: an exit the venue did create answers as a duplicate), waiting out a ban, until
        ``exit_confirm_s``; placed: ``replaced``; else the position is closed at market (:meth:`_close_unprotected`)."""
        kinds = [k for k, _ in missing]
        what = kinds[0] if len(kinds) == 1 else "both"
        self.stats["exits_unplaced"] += 1
        self._protection(symbol, what, "lost", "placement " + ", ".join(f"{k} {g}" for k, g in missing),
                         client_id=br["cid"])
        todo = {k: br[k] for k in kinds}
        got = await self._hold_exits(symbol, br, todo, time.monotonic() + self.exit_confirm_s)
        if self._bracket.get(symbol) is not br:
            return  # (the position closed meanwhile: its bracket was cleared)
        if got == "placed":
            self.stats["exits_replaced"] += 1
            self._protection(symbol, what, "replaced", "placed after " + ", ".join(f"{k} {g}" for k, g in missing),
                             client_id=br["cid"])
            return
        await self._close_unprotected(symbol, br, what, got, list(todo.values()))

    async def _hold_exits(self, symbol: str, br: dict, todo: dict[str, str], deadline: float) -> str:
        """Place the exits ``todo`` (kind -> clientAlgoId) of ``br`` until the venue holds them all (``"placed"``), one
        is refused (``"refused"``), the position is gone, or ``deadline`` (monotonic s) passes (``"unknown"``).  Nothing
        is sent into a ban: each round waits for its end first (bounded by the deadline)."""
        attempt = 0
        while todo:
            left = deadline - time.monotonic()
            if left <= 0:
                return "unknown"
            ban = self.rest.gov.ban_left()
            if ban > 0:
                await asyncio.sleep(min(ban, left))
                continue
            if self._bracket.get(symbol) is not br:
                return "unknown"  # (the position closed: its bracket was cleared, nothing to protect)
            for kind, caid in list(todo.items()):
                try:
                    got = await asyncio.wait_for(self._algo(symbol, caid, self._exit_params(
                        symbol, kind, caid, br.get("qty", 0.0), br["close"]), report=False), max(left, 0.01))
                except asyncio.TimeoutError:
                    return "unknown"
                if got == "refused":
                    return got
                if got == "placed":
                    del todo[kind]
                    if self._bracket.get(symbol) is not br:  # (cleared meanwhile: the exit must not outlive it)
                        self._cancelling.add(caid)
                        await self._cancel_algo(symbol, caid)
                        return "unknown"
            if todo:
                attempt += 1
                await asyncio.sleep(min(self.retry_backoff * attempt, max(0.0, deadline - time.monotonic())))
        return "placed"

    async def _close_unprotected(self, symbol: str, br: dict, kind: str, got: str, caids: list[str]) -> None:
        """An exit that could not be made whole (``got``): the position is closed at market, reduce-only (``closed``;
        ``failed`` when that fails too); the exits asked for are cancelled if they appear after all."""
        cid = br["cid"]
        n = br["n"] = br.get("n", 0) + 1
        self._cancelling.update(caids)
        try:
            u = await self.close_position(symbol, f"{cid[:26]}-x{n}")
        except GatewayError as exc:
            self._protection(symbol, kind, "failed", f"exit {got} and the market close failed: {exc}", client_id=cid)
            return
        self.stats["exits_closed"] += 1
        self._protection(symbol, kind, "closed", f"exit {got} when placed again: closed at market ({u.status})",
                         client_id=cid, close_client_id=u.client_id)

    async def _clear_bracket(self, symbol: str, expected: dict | None = None) -> None:
        """The position is flat: ``symbol``'s bracket is done (kept in ``_cleared``: a late trade of one of its exits
        is still named) and its exits are cancelled.  ``expected``: clear only that bracket (a newer one of the
        symbol is left alone)."""
        if expected is not None and self._bracket.get(symbol) is not expected:
            return
        br = self._bracket.pop(symbol, None)
        if br is None:
            return
        self._cleared.append((symbol, br))
        await self._cancel_exits(symbol, br)

    def _retire_bracket(self, symbol: str) -> None:
        """A new entry with exits for ``symbol`` while the previous bracket is still held (its position closed by an
        exit the gateway learnt of by reconciliation, the flat position not read yet): the previous bracket is done.
        It is kept in ``_cleared`` (a late trade of its exits is still named, :meth:`_role_of`) and the exits it
        placed are cancelled at the venue, else the other exit (the stop-loss after the take-profit) rests and
        fires against the next position."""
        br = self._bracket.pop(symbol, None)
        if br is None:
            return
        self._cleared.append((symbol, br))
        if br["placed"]:
            self.stats["brackets_retired"] = self.stats.get("brackets_retired", 0) + 1
            log.warning("binance %s: a new entry while the exits of %s are held: they are cancelled", symbol, br["cid"])
            self._spawn(self._cancel_exits(symbol, br))

    async def _cancel_exits(self, symbol: str, br: dict) -> None:
        """Cancel the exits of the bracket ``br`` (no longer ``symbol``'s current one)."""
        for caid in (br.get("tp"), br.get("sl")):
            if not caid:
                continue
            self._cancelling.add(caid)  # (its CANCELED is ours: not a lost exit)
            await self._cancel_algo(symbol, caid)

    async def _cancel_algo(self, symbol: str, caid: str) -> bool:
        """Cancel an exit (``DELETE /fapi/v1/algoOrder``).  A cancel whose outcome is unknown (HTTP 408/5xx,
        -1006, -1007, a timeout) or rate limited is never taken as done: the exit is queried (``GET
        /fapi/v1/algoOrder``) and the cancel sent again until the venue no longer holds it working (at most
        ``max_create_attempts`` rounds, then said once; the reconnect's resync of the open algo orders meets it
        again).  True when the venue holds it no longer."""
        last = ""
        for attempt in range(1, self.max_create_attempts + 1):
            try:
                await self.rest.request("DELETE", "/fapi/v1/algoOrder", {"symbol": symbol, "clientAlgoId": caid},
                                        limiter=self.limiter)
                return True
            except BinanceAPIError as exc:
                if exc.code in (ERR_UNKNOWN_ORDER, ERR_NO_SUCH_ORDER):
                    return True
                if _what(exc) not in (UNKNOWN, RATE_LIMITED):
                    log.warning("binance cancel of %s refused: %s", caid, exc)
                    return False
                last = str(exc)
            except BinanceTransportError as exc:
                last = str(exc)
            status = await self._algo_status(symbol, caid)
            if status is not None and status not in _ALGO_WORKING:
                return True  # ("": not held; CANCELED, FINISHED, EXPIRED, ...: ended)
            self.stats["ambiguous"] += 1
            log.warning("binance cancel of %s: outcome unknown (%s); the exit is %s: cancelling again", caid, last,
                        status or "not known")
            await asyncio.sleep(self.retry_backoff * attempt)
        log.error("binance cancel of %s: outcome still unknown after %d attempts (%s)", caid, self.max_create_attempts,
                  last)
        return False

    # ------------------------------------------------------------------ exits the venue ends
    async def _position_amt(self, symbol: str) -> float | None:
        """The signed position of ``symbol`` now (``GET /fapi/v3/positionRisk``), None when the venue did not say."""
        try:
            rows = await self.rest.request("GET", "/fapi/v3/positionRisk", {"symbol": symbol})
        except (BinanceAPIError, BinanceTransportError):
            return None
        amt = sum(wire_number(r.get("positionAmt") or 0) for r in rows or [] if r.get("symbol") == symbol)
        self._pos_qty[symbol] = amt
        return amt

    async def _exit_lost(self, symbol: str, kind: str, caid: str, reason: str) -> None:
        """An open position's take-profit or stop-loss ended by the venue, not by us (``ALGO_UPDATE`` CANCELED /
        EXPIRED / REJECTED, or gone from the open algo orders after a reconnect): said (``lost``), then placed again
        at once at the same level under a new clientAlgoId (``replaced``); refused, or not confirmed within
        ``exit_confirm_s``: the position is closed at market, reduce-only (``closed``; ``failed`` if that fails)."""
        br = self._bracket.get(symbol)
        if br is None or br.get(kind) != caid or caid in br.setdefault("repairing", set()):
            return
        br["repairing"].add(caid)
        try:
            amt = await self._position_amt(symbol)
            if amt == 0:
                return  # (flat: the venue ended the exit with the position; nothing to protect)
            self.stats["exits_lost"] += 1
            cid = br["cid"]
            self._protection(symbol, kind, "lost", reason, client_id=cid, client_algo_id=caid)
            n = br["n"] = br.get("n", 0) + 1
            new = f"{cid[:26]}-r{n}-{kind}"
            self._algo_cid[new] = cid
            if amt:
                br["qty"] = abs(amt)
            got = await self._hold_exits(symbol, br, {kind: new}, time.monotonic() + self.exit_confirm_s)
            if got == "placed":
                br[kind] = new
                self.stats["exits_replaced"] += 1
                self._protection(symbol, kind, "replaced", f"placed again as {new}", client_id=cid, client_algo_id=new)
                return
            if self._bracket.get(symbol) is br:
                await self._close_unprotected(symbol, br, kind, got, [new])
        finally:
            br["repairing"].discard(caid)

    async def _check_exits(self) -> None:
        """After a reconnect: every exit of an open position must still be pending at the venue
        (``GET /fapi/v1/openAlgoOrders``); one that is gone and ended not triggered (CANCELED / EXPIRED /
        REJECTED) is a lost exit (:meth:`_exit_lost`)."""
        for sym, br in list(self._bracket.items()):
            if not br["placed"] or not self._pos_qty.get(sym):
                continue
            try:
                rows = await self.rest.request("GET", "/fapi/v1/openAlgoOrders", {"symbol": sym})
            except (BinanceAPIError, BinanceTransportError) as exc:
                log.warning("binance open algo orders of %s: %s", sym, exc)
                continue
            pending = {str(r.get("clientAlgoId") or "") for r in rows or [] if isinstance(r, dict)}
            for kind in ("tp", "sl"):
                caid = br.get(kind)
                if not caid or caid in pending or caid in self._cancelling:
                    continue
                st = await self._algo_status(sym, caid)
                if st in _GONE_UNTRIGGERED:
                    await self._exit_lost(sym, kind, caid, f"{st} at the venue (found after a reconnect)")
