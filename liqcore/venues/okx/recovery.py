"""What the OKX gateway does after OKX's bad days: the fills a gap in the private stream missed, and the exits
(take-profit / stop-loss algo orders) OKX cancels or fails while the position is open.

* Missed fills (OKX v5 "Get transaction details (last 3 days)", ``GET /api/v5/trade/fills``): after the private
  socket reconnects, the fills since the last message seen are read (newest first, ``after`` = billId pages to
  older rows) and each of ours not yet reported is booked once, oldest first.
* Exits watched (OKX v5 "WebSocket / Algo orders channel", ``orders-algo`` on ``/ws/v5/business``; "Get algo order
  list", ``GET /api/v5/trade/orders-algo-pending``; "Get algo order details", ``GET /api/v5/trade/order-algo``): a
  bracket's algo that goes ``canceled`` / ``order_failed`` / ``partially_failed`` while its position is open, and
  not by our own cancel, is said lost (``_protection(..., "lost")``) and placed again at once at the same levels
  under a new ``algoClOrdId``; refused, or not confirmed live within :attr:`EXIT_CONFIRM_S` (30 s), the position is
  closed at market, reduce-only (``"closed"``; a placement still out at that bound is cancelled once OKX is found
  to hold it); placed and confirmed: ``"replaced"``.  After a reconnect the pending algos are polled and the same
  rule applies to any bracket's algo that is gone.  The answer to a placement a repair superseded (it came late) is
  not the bracket's: its algo, held after all, is cancelled (``_superseded``).

A mixin of :class:`liqcore.venues.okx.gateway.OkxGateway` (its REST client, bracket table and callbacks).
"""
from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal

from liqcore.venues.gateway import Fill, GatewayError
from liqcore.venues.gateway_core import field_float as _f
from liqcore.venues.numbers import wire_number
from liqcore.venues.okx.rest import OkxAPIError, OkxTransportError

__all__ = ["OkxRecovery", "ALGO_GONE"]

log = logging.getLogger("liqcore.okx.gateway")

#: ``orders-algo`` states of an algo order OKX ended without triggering it (OKX v5 "WebSocket / Algo orders
#: channel", ``state``: live, pause, partially_effective, effective, canceled, order_failed, partially_failed)
ALGO_GONE = ("canceled", "order_failed", "partially_failed")


def _dec(x) -> Decimal:
    return Decimal(repr(float(x))) if isinstance(x, float) else wire_number(str(x), Decimal)


class OkxRecovery:
    """Missed fills and watched exits (see the module)."""

    #: ``GET /api/v5/trade/fills``: rows per page (the documented maximum) and pages read after one gap
    FILLS_PAGE, FILLS_MAX_PAGES = 100, 20
    #: how far before the last private message a gap's fills are asked for (ms): a fill stamped by OKX just
    #: before the last message we saw may have been pushed after it
    FILLS_LOOKBACK_MS = 60_000

    #: how long the fills of a gap are asked for again when the first reading fails (s), backing off to 2 s
    FILLS_RETRY_S = 30.0

    async def _missed_fills_until_read(self, since_ms: float, first: BaseException) -> None:
        """The fills of a gap whose first reading failed (a 5xx, a timeout: OKX busy), asked for again from the
        same start, backing off, for up to :attr:`FILLS_RETRY_S`: a fill of the gap is not left unbooked until
        the next gap or the stop."""
        last, delay = first, self.retry_backoff
        t_end = time.monotonic() + self.FILLS_RETRY_S
        while not self._closing and time.monotonic() < t_end:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
            try:
                await self._missed_fills(since_ms)
                return
            except (OkxAPIError, OkxTransportError) as exc:
                last = exc
        if not self._closing:
            log.error("okx private stream gap: the missed fills could not be read in %.0f s: %s", self.FILLS_RETRY_S, last)

    async def _missed_fills(self, since_ms: float | None = None) -> int:
        """The fills of a gap in the private stream, from OKX v5 "Get transaction details (last 3 days)"
        (``GET /api/v5/trade/fills``: newest first, ``limit`` <= 100, ``after`` = a ``billId`` pages to older
        rows, ``begin`` = the earliest ``ts`` in ms), from the last message seen before the gap (less
        :attr:`FILLS_LOOKBACK_MS`).  Each fill of ours not yet reported is booked, oldest first, EXACTLY ONCE
        (its id ``instId-tradeId`` is the one the ``orders`` channel gives); returns how many were booked."""
        since = self._last_rx_ms if since_ms is None else since_ms
        params = {"instType": "SWAP", "limit": str(self.FILLS_PAGE), "begin": str(int(since - self.FILLS_LOOKBACK_MS))}
        rows: list[dict] = []
        for _ in range(self.FILLS_MAX_PAGES):
            page = await self.rest.request("GET", "/api/v5/trade/fills", params) or []
            rows += [r for r in page if isinstance(r, dict)]
            if len(page) < self.FILLS_PAGE or not page[-1].get("billId"):
                break
            params = {**params, "after": str(page[-1]["billId"])}
        booked = 0
        for r in reversed(rows):
            try:
                booked += await self._book_missed_fill(r)
            except (ValueError, TypeError, KeyError, ArithmeticError) as exc:  # one bad row: counted, the rest go on
                self.stats["bad_events"] += 1
                log.warning("okx missed fill dropped: %s", exc)
        if booked:
            self.stats["fills_recovered"] += booked
            log.warning("okx private stream gap: %d fill(s) booked from GET /api/v5/trade/fills", booked)
        return booked

    async def _book_missed_fill(self, r: dict) -> int:
        """Book one ``/trade/fills`` row of ours not yet reported (its order found by ordId, clOrdId, or asked
        for by ordId); 1 when booked."""
        inst, trade_id = str(r.get("instId") or ""), str(r.get("tradeId") or "")
        if inst not in self._okx or not trade_id or f"{inst}-{trade_id}" in self._seen_set:
            return 0
        who = self._by_ord.get(str(r.get("ordId") or ""))
        if who is None and r.get("clOrdId") in self._cl:
            cid = self._cl[r["clOrdId"]]
            who = (cid, self._intents[cid].kind if cid in self._intents else "entry")
        oid = str(r.get("ordId") or "")
        if who is None and oid and oid not in self._foreign:  # its pushes all missed (a triggered exit): ask OKX
            got = await self.rest.request("GET", "/api/v5/trade/order", {"instId": inst, "ordId": oid})
            row = got[0] if got and isinstance(got[0], dict) else {}
            if row.get("clOrdId") in self._cl or row.get("algoClOrdId") in self._cl:  # (ours: its state reported)
                await self._on_order({k: v for k, v in row.items() if k not in ("tradeId", "fillSz")})
                who = self._by_ord.get(oid)
            else:
                self._foreign.add(oid)
        if who is None:
            return 0  # not an order of this gateway (another client's on the same account)
        cid, kind = who
        exec_id = f"{inst}-{trade_id}"
        if not self._first_seen(exec_id):
            return 0
        ct = self._okx[inst]["ctVal"]
        await self._emit(self._fill_cbs, Fill(cid, self._name(inst), str(r.get("side") or ""), _f(r, "fillPx"),
                                              float(_dec(_f(r, "fillSz")) * ct), -_f(r, "fee"), r.get("execType") == "M",
                                              exec_id, kind,
                                              wire_number(r.get("fillTime") or r.get("ts") or 0, int) * 1_000_000))
        return 1

    # ------------------------------------------------------------------ exits watched
    #: how long a re-placed exit may take to be confirmed live before the position is closed instead (s)
    EXIT_CONFIRM_S = 30.0

    def _bracket_of(self, row: dict):
        inst = str(row.get("instId") or "")
        br = self._bracket.get(inst)
        if br is None or not br.get("placed"):
            return inst, None
        aid, acl = str(row.get("algoId") or ""), str(row.get("algoClOrdId") or "")
        if (aid and aid == br.get("algoId")) or (acl and acl == br.get("acl")):
            return inst, br
        return inst, None

    async def _on_algo(self, row: dict) -> None:
        """One ``orders-algo`` row: a bracket's algo OKX ended without triggering it -> :meth:`_exit_lost`.
        (Our own cancel takes the bracket out of the table before it is sent: its push matches nothing.)"""
        state = str(row.get("state") or "")
        self.stats["algo_events"] += 1
        if state not in ALGO_GONE:
            return
        inst, br = self._bracket_of(row)
        if br is not None:
            why = f"OKX {state} the algo order {row.get('algoClOrdId') or row.get('algoId')}"
            if row.get("failCode"):
                why += f" (failCode {row['failCode']})"
            self._spawn(self._exit_lost(inst, br, why))

    async def _poll_algos(self) -> None:
        """After a reconnect: each bracket's algo is looked for among the pending ones (``GET
        /api/v5/trade/orders-algo-pending``); one not there is asked for (``GET /api/v5/trade/order-algo``) and,
        ended without triggering, handled as lost."""
        for inst, br in list(self._bracket.items()):
            if not br.get("placed") or not br.get("algoId"):
                continue
            try:
                pend = await self.rest.request("GET", "/api/v5/trade/orders-algo-pending",
                                               {"ordType": br.get("ordType") or "oco", "algoClOrdId": br["acl"]})
                if any(str(r.get("algoId")) == br["algoId"] for r in pend or []):
                    continue
                rows = await self.rest.request("GET", "/api/v5/trade/order-algo", {"algoId": br["algoId"]})
            except (OkxAPIError, OkxTransportError) as exc:
                log.warning("okx algo poll of %s failed: %s", br["cid"], exc)
                continue
            for r in rows or []:
                await self._on_algo(r)

    async def _exit_lost(self, inst: str, br: dict, reason: str) -> None:
        if br.get("repairing") or self._bracket.get(inst) is not br:
            return
        br["repairing"] = True
        try:
            await self._repair_exit(inst, br, reason)
        finally:
            br["repairing"] = False

    async def _repair_exit(self, inst: str, br: dict, reason: str) -> None:
        intent = self._intents.get(br["cid"])
        if intent is None:
            return
        sym = self._name(inst)
        kind = "both" if intent.take_profit and intent.stop_loss else ("tp" if intent.take_profit else "sl")
        try:
            await self.positions()
        except GatewayError:
            pass  # (the position last known)
        pos = self._pos_ct.get(inst, 0.0)
        if not pos:  # flat already: nothing to protect
            self._bracket.pop(inst, None)
            return
        self.stats["exits_lost"] += 1
        self._protection(sym, kind, "lost", reason, client_id=br["cid"], algo_id=br.get("algoId", ""))
        gen = br["gen"] = br.get("gen", 0) + 1
        br.update(placed=False, algoId="", acl="", refused="", unknown="")
        self._filled_ct[br["cid"]] = _dec(abs(pos))  # the position's contracts, at the same levels
        try:
            ok = await asyncio.wait_for(self._replace_exit(inst, br, f"-b{gen}"), self.EXIT_CONFIRM_S)
        except asyncio.TimeoutError:
            ok = False
            self._unknown_at_bound(br)
        if ok:
            self.stats["exits_replaced"] += 1
            self._protection(sym, kind, "replaced", f"algo order {br['acl']} live at the same levels", client_id=br["cid"],
                             algo_id=br["algoId"])
            if br.get("stale"):  # (an earlier placement of unknown outcome OKX holds after all: cancelled)
                await self._cancel_stale(inst, br)
            return
        why = br.get("refused") or f"no live exit confirmed within {self.EXIT_CONFIRM_S:g} s"
        close_id = f"{br['cid'][:32]}-x{gen}"
        try:
            u = await self.close_position(sym, close_id)
        except (GatewayError, ValueError) as exc:
            self._protection(sym, kind, "failed", f"{why}; the close at market failed: {exc}", client_id=br["cid"])
            return
        if u.status == "rejected":
            self._protection(sym, kind, "failed", f"{why}; the close at market was refused: {u.reason}", client_id=br["cid"])
            return
        self.stats["exits_closed"] += 1
        self._protection(sym, kind, "closed", f"{why}: the position closed at market, reduce-only", client_id=br["cid"],
                         close_client_id=close_id)
        await self._clear_bracket(inst)  # (a re-placed algo that came late is cancelled)

    @staticmethod
    def _unknown_at_bound(br: dict) -> None:
        """The wait for a repair given up at :attr:`EXIT_CONFIRM_S` while its placement was out (unanswered, or
        its outcome still being asked for): OKX may hold that algo.  Its algoClOrdId goes on ``br``'s ``stale``
        list, cancelled once OKX is found to hold it (:meth:`_cancel_stale`, when the position is flat or the
        bracket has another algo).  One answered (its algoId known) is cancelled by that id; one refused is none."""
        acl = br.get("acl")
        if br.get("placed") and acl and not br.get("algoId") and not br.get("refused") \
                and acl not in br.get("stale", ()):
            br.setdefault("stale", []).append(acl)

    async def _superseded(self, inst: str, br: dict, acl: str) -> None:
        """The placement ``acl`` of ``br``'s algo answered (or still to ask) after a repair placed the exits again
        under another algoClOrdId: its answer is not the bracket's (the repaired algo stays ``br``'s, else its next
        reading finds the first one ended, says the exits lost again and places a third beside the second).  Held
        by OKX after all, it is cancelled (:meth:`_cancel_stale`; one not found out yet, at the next call).  Its
        late fills are still named: ``acl`` stays among the client ids (``_cl``)."""
        log.warning("okx %s: the take-profit/stop-loss placement %s answered after its repair: not the bracket's",
                    inst, acl)
        br.setdefault("stale", []).append(acl)
        await self._cancel_stale(inst, br)

    async def _replace_exit(self, inst: str, br: dict, suffix: str) -> bool:
        """Place the bracket's algo again and wait until OKX lists it pending (bounded by the caller)."""
        if not await self._place_bracket(inst, suffix):
            return False
        attempt = 0
        while True:  # (bounded by the caller's EXIT_CONFIRM_S)
            attempt += 1
            try:
                rows = await self.rest.request("GET", "/api/v5/trade/orders-algo-pending",
                                               {"ordType": br.get("ordType") or "oco", "algoClOrdId": br["acl"]})
                if rows:
                    br["algoId"] = br.get("algoId") or str(rows[0].get("algoId") or "")
                    return True
            except (OkxAPIError, OkxTransportError) as exc:
                log.warning("okx algo %s not confirmed yet: %s", br["acl"], exc)
            await asyncio.sleep(min(1.0, self.retry_backoff * attempt))
