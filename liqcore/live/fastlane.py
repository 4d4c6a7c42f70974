"""The fast lane: an entry prepared before its cascade confirms (an object the engine owns).

The details: docs/maintainers/live-gateways.md, "The fast lane (liqcore.live.fastlane)".

May import: the standard library.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import replace

log = logging.getLogger("liqcore.live")

#: decision fields a prepared entry must share with the core's real decision
_SAME = ("side", "price", "ref_price", "notional", "take_profit", "stop_loss", "entry")
#: placeholders of the decision time and cascade id in a prepared intent (filled in when it fires)
_TS_MARK, _CID_MARK = -7_345_678_901_234_567_891, -6_234_567_890_123
_MARKS = re.compile(rb"(%d|%d)" % (_TS_MARK, _CID_MARK))


class FastLane:
    """Prepared entries (see the module docstring), an object the engine owns.

    Given at construction (never rebound): ``orders`` (the :class:`OrderManager`: its core, gateway, journal,
    books, sequence and loop, and the building blocks ``entry_intent`` / ``book_entry`` / ``written``),
    ``detector``, ``core_idx`` (symbol id -> core index of the traded symbols), ``held`` (the engine's
    coalesced idle prints: a symbol with one is not fired), ``registry`` and ``enabled`` (the detector-driven
    strategy in venue mode).

    Calls back: ``blocked()`` (kill switch or halt: nothing fires), ``last_event_wall()`` (the receive time
    the preview decides at) and ``on_error()``.

    Exposes: ``prearm`` (switch), ``arms`` (symbol id -> prepared entry), ``pre`` (decisions the lane made
    this frame, read by the order path), ``counts`` (armed, fired, fallback, mismatch), :meth:`on` ,
    :meth:`rearm`, :meth:`fire`, :meth:`take_fired` and :meth:`orphans`."""

    #: a prepared request is signed again after this long (Bybit accepts a timestamp within its receive
    #: window of the server time, 5 s by default)
    arm_ttl_ns = 1_000_000_000

    def __init__(self, orders, detector, core_idx: dict, held: dict, registry, *, enabled: bool, blocked,
                 last_event_wall, on_error):
        self.orders = orders
        self.detector = detector
        self.core_idx = core_idx
        self.held = held
        self.registry = registry
        self.enabled = enabled
        self.blocked = blocked
        self.last_event_wall = last_event_wall
        self.on_error = on_error
        self.prearm = True
        self.arms: dict[int, dict] = {}  # symbol id -> prepared entry
        self.fired: dict[int, tuple] = {}  # symbol id -> (cascade id, intent, token, sent, levels)
        self.pre: dict[int, tuple] = {}  # symbol id -> (cascade id, the core's decision) made by the lane
        self.counts = {"armed": 0, "fired": 0, "fallback": 0, "mismatch": 0}

    def on(self) -> bool:
        om = self.orders
        j = om.journal
        return (self.prearm and self.enabled and om.loop is not None
                and om.gateway.can_prepare and (j is None or j.writes_ahead)
                and not om.stopping and not om.closing)

    # ---------------------------------------------------------------- preparing
    def rearm(self, sids=None) -> int:
        """Prepare (or refresh) the entries of ``sids`` (default: every traded symbol); returns how many
        symbols are armed.  Cheap when nothing changed: a prepared entry is kept while the symbol's core
        state, the portfolio, the symbols' statuses, the client-id sequence and the signature are current."""
        if not self.on():
            if self.arms:
                self.arms.clear()
            return 0
        det = self.detector
        books, core = self.orders.books, self.orders.core
        now = time.time_ns()
        for sid in (self.core_idx if sids is None else sids):
            ci = self.core_idx.get(sid)
            if ci is None:
                continue
            book = books.get(core.symbol(ci))
            if not det.armable(sid) or book is None or book.entry is not None or book.position_qty:
                self.arms.pop(sid, None)
                continue
            key = self._arm_key(ci)
            arm = self.arms.get(sid)
            if arm is not None and arm["key"] == key and now - arm["made_ns"] < self.arm_ttl_ns:
                continue
            try:  # decided as of the latest receive time (the confirming event's is later)
                arm = self._arm(sid, ci, key, now, self.last_event_wall() or now)
            except Exception:  # preparing is an optimisation: the order path decides without it
                self.on_error()
                log.exception("preparing the entry of symbol %s failed", sid)
                arm = None
            if arm is None:
                self.arms.pop(sid, None)
            else:
                self.arms[sid] = arm
                self.counts["armed"] += 1
        return len(self.arms)

    def _arm_key(self, ci: int) -> tuple:
        om = self.orders
        core = om.core
        return (core.st[ci:ci + 1].tobytes(), core.port.tobytes(), core.st["status"].tobytes(), om.seq,
                om.notional, om.instrument_key(core.symbol(ci)))

    def _arm(self, sid: int, ci: int, key: tuple, now: int, ts: int) -> dict | None:
        venue, sym = self.registry.lookup(sid)
        om = self.orders
        seq = om.seq + 1
        journal = om.journal
        sides = {}
        for dom in (1, 2):  # dominant long, short (a mixed cascade places nothing)
            res, fractions = om.core.preview_cascade(ci, ts, dom)
            if res["action"] != "order":
                continue
            intent, _, levels = om.entry_intent(sym, venue, res, ci, seq, _TS_MARK, _CID_MARK, fractions)
            if intent is None:
                continue
            prepared = om.gateway.prepare(intent)
            if prepared is None:
                continue
            parts = _MARKS.split(journal.intent_raw(intent) if journal is not None else b"")
            if journal is not None and [parts[1], parts[3]] != [b"%d" % _TS_MARK, b"%d" % _CID_MARK]:
                continue  # (the serialised intent must hold each placeholder once, time first)
            sides[dom] = {"res": {k: res.get(k) for k in _SAME}, "intent": intent, "levels": levels,
                          "request": prepared[0], "body": prepared[1], "raw": parts[0::2]}
        if not sides:
            return None
        return {"key": key, "made_ns": now, "seq": seq, "ci": ci, "sides": sides}

    # ---------------------------------------------------------------- firing
    def fire(self, sid: int) -> None:
        """The detector just emitted records for an armed symbol: when one confirms a cascade, decide it on
        the core and, when the decision is the prepared one, write the intent-log line and the prepared
        create.  Called from the engine's event loop (``Engine._on_rows``) right after ``update``; the order path follows
        on this stack."""
        arm = self.arms.pop(sid)
        conf = self.detector.last_confirmed()
        if conf is None or conf[0] != sid:
            return
        _, cid, dom, ts = conf
        side = arm["sides"].get(dom)
        ci = arm["ci"]
        om = self.orders
        if (side is None or ci in self.held or self.blocked() or om.gateway.banned() is not None
                or om.seq + 1 != arm["seq"]
                or time.time_ns() - arm["made_ns"] >= self.arm_ttl_ns or not self.on()):
            self.counts["fallback"] += 1
            return
        res = om.core.on_cascade({"symbol_idx": ci, "ts_ns": ts, "dominant": dom, "cascade_id": cid})
        self.pre[sid] = (cid, res)  # the order path uses this decision (the core decided once)
        if res["action"] != "order":
            return
        want = side["res"]
        for k in _SAME:
            if res.get(k) != want[k]:
                self.counts["mismatch"] += 1
                return
        gw = om.gateway
        if not gw.fire_ready():
            self.counts["fallback"] += 1
            return
        seq = arm["seq"]
        j = om.journal
        raw = None
        if j is not None:
            p = side["raw"]
            raw = b"%s%d%s%d%s" % (p[0], ts, p[1], cid, p[2])
            j.intent_ahead_line(j.intent_line(ts, seq, raw))
        sent = gw.fire(side["request"])
        # -- written; the rest is bookkeeping
        intent = replace(side["intent"], decision_ns=ts, meta={**side["intent"].meta, "cascade_id": cid})
        gw.fired(intent, sent, side["body"])
        self.fired[sid] = (cid, intent, (intent, raw, ts, seq) if j is not None else (), sent, side["levels"])
        self.counts["fired"] += 1

    def take_fired(self, sid: int, cascade_id: int) -> tuple | None:
        """The entry the lane wrote for cascade ``cascade_id`` of ``sid`` (for :meth:`OrderManager.adopt`), or
        None: the order path places the order itself."""
        fired = self.fired.pop(sid, None)
        return fired if fired is not None and fired[0] == cascade_id else None

    def orphans(self) -> None:
        """Entries the lane wrote that the order path did not adopt: handed to the order manager (journaled,
        followed like any other, reported as an error)."""
        for sid, (cid, intent, token, sent, _levels) in list(self.fired.items()):
            del self.fired[sid]
            self.orders.adopt_orphan(cid, intent, token, sent)
