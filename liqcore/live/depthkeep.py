"""``liqcore record --depth``: each recorded symbol's depth stream kept whole, its venue's protocol followed.

The recorder writes every depth frame as it comes; :class:`DepthKeeper` runs the same protocol state machines
the reader of the recording runs (:class:`liqcore.venues.depthsync.DepthLines`, on the same lines in the same
order) and, whenever a book waits for a snapshot, gets one: Binance ``GET /fapi/v1/depth?symbol=S&limit=1000``
and OKX ``GET /api/v5/market/books?instId=I&sz=400`` (the answer written to the recording as a ``rest`` line,
where the reader takes it), Bybit a re-subscription of the ``orderbook.N.S`` topic (the venue sends a snapshot on
subscribe).  A book waits at its first update, after a sequence break (Binance ``pu`` not the previous ``u``,
OKX ``prevSeqId`` not the previous ``seqId``, Bybit a ``u`` that does not increase), after a snapshot older than
the stream, and after every gap line (a lost connection).  Rules: docs/explanation/live-engine.md, "Depth streams".

May import: the standard library, aiohttp, orjson, ``liqcore.interrupt`` and ``liqcore.venues``.
"""
from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlencode

import orjson

from liqcore.interrupt import end_tasks
from liqcore.venues.depthsync import MESSAGE_ERRORS, DepthLines, is_depth_payload
from liqcore.venues.governor import VenueBanned
from liqcore.venues.registry import venue_spec

log = logging.getLogger("liqcore.record")
HOUR_NS = 3600 * 1_000_000_000

#: snapshot requests of one venue in flight at once: after a gap every book waits for one, and they are asked
#: for a few at a time (paced by the governor's window), never all at once
SNAPSHOTS_IN_FLIGHT = 2
#: a snapshot asked for again after this long without one (s), doubling up to RETRY_MAX_S
RETRY_S = 1.0
RETRY_MAX_S = 30.0


class DepthKeeper:
    """``venue``'s depth books of a recording (``rec``: :class:`liqcore.live.recorder.Recorder`) kept whole:
    :meth:`frame` after each frame written, :meth:`gap` after each gap line written; ``resubscribe(topic)``:
    Bybit's re-subscription (the feed manager's); ``rest_base``: the venue's REST base URL (None: its
    network's).  :meth:`close` ends the snapshot requests in flight.  ``counts``: snapshots fetched,
    re-subscriptions, failed requests, frames that did not parse.

    A live run's books (``--book depth``) pass their own ``lines`` (fed by the engine, :meth:`poke` after each
    depth frame) and ``on_snapshot(symbol, path, body, doc, recv_ns)``, which takes each REST snapshot in
    (by default: written to ``rec`` as a ``rest`` line, then into ``lines``)."""

    def __init__(self, venue: str, rec=None, *, rest_base: str | None = None, network: str = "mainnet",
                 resubscribe=None, depth_topic=None, timeout_s: float = 10.0, lines=None, on_snapshot=None,
                 hourly: bool = True, clock=time.time_ns):
        self.venue = venue
        self.clock = clock  # (the receive time of a REST answer)
        #: the books start again at each UTC hour (the recorder's files); a live run's books (``--book depth``) go on
        self.hourly = bool(hourly)
        self._hour = None
        self.rec = rec
        self.lines = lines if lines is not None else DepthLines()
        self.on_snapshot = on_snapshot or self._record
        # the venue's REST base of the network (its stream part's REST_ENDPOINTS) and snapshot request (its market
        # part's DEPTH_SNAPSHOT: path, query of a symbol)
        spec = venue_spec(venue)
        bases = getattr(spec.part("stream"), "REST_ENDPOINTS", {}) if spec.has_part("stream") else {}
        self.rest_base = (rest_base or bases.get(network, "")).rstrip("/")
        self.resubscribe = resubscribe
        self.depth_topic = depth_topic
        self.timeout_s = float(timeout_s)
        self._tasks: dict[str, asyncio.Task] = {}
        self._in_flight: asyncio.Semaphore | None = None
        self._session = None
        self.counts = {"snapshots": 0, "resubscribed": 0, "failed": 0, "bad_frames": 0}

    # ---- the lines the recorder wrote, in its order
    def frame(self, payload: bytes, recv_ns: int) -> None:
        self._roll(recv_ns)
        if not is_depth_payload(self.venue, payload):
            return
        try:
            frame = orjson.loads(payload)
            self.lines.frame(self.venue, frame)
        except MESSAGE_ERRORS:
            self.counts["bad_frames"] += 1  # (the reader counts and drops the same frame)
            return
        self._act()

    def gap(self, recv_ns: int | None = None) -> None:
        """A gap line written (at ``recv_ns``): every book of the venue unknown until its next snapshot."""
        if recv_ns is not None:
            self._roll(recv_ns)
        self.lines.gap(self.venue)

    def _roll(self, recv_ns: int) -> None:
        """A line of the UTC hour of ``recv_ns`` written: in a new hour (a new file), the books start again."""
        if not self.hourly:
            return
        h = int(recv_ns) // HOUR_NS
        if self._hour is None or h < self._hour:  # (a line received late, of the hour before: no new start)
            self._hour = h if self._hour is None else self._hour
            return
        if h > self._hour:
            self._hour = h
            self.lines.reset(self.venue, resubscribe=True)
            self._act()  # (Bybit: subscribed again now; Binance and OKX: at their next update)

    def poke(self) -> None:
        """The books' lines changed (a live run's engine fed a depth frame): ask for the snapshots now needed."""
        self._act()

    def _record(self, sym: str, path: str, body: bytes, doc, recv: int) -> None:
        self.rec.write_rest(self.venue, sym, path, body, recv)
        self.lines.rest(self.venue, {"symbol": sym, "body": doc})

    # ---- snapshots
    def _act(self) -> None:
        for sym in self.lines.wanting(self.venue):
            t = self._tasks.get(sym)
            if t is None or t.done():
                self._tasks[sym] = asyncio.ensure_future(self._get(sym))

    async def _get(self, sym: str) -> None:
        wait = RETRY_S
        while self._wants(sym):
            try:
                if venue_spec(self.venue).rest_depth_snapshots:
                    await self._fetch(sym)
                else:  # (the stream's own snapshot after a resubscription)
                    await self._resubscribe(sym)
            except asyncio.CancelledError:
                raise
            except VenueBanned as ban:  # (the host bans this IP: nothing is asked of it until the ban ends)
                self.counts["failed"] += 1
                log.warning("depth: no snapshot of %s %s: %s", self.venue, sym, ban)
                await asyncio.sleep(max(ban.seconds_left, RETRY_S))
                continue
            except Exception as e:  # noqa: BLE001 - any failure: said once, asked for again
                self.counts["failed"] += 1
                if self.counts["failed"] == 1 or wait >= RETRY_MAX_S:
                    log.warning("depth: no snapshot of %s %s (%s); asking again in %.0f s", self.venue, sym,
                                str(e) or type(e).__name__, wait)
            if not self._wants(sym):
                return
            await asyncio.sleep(wait)
            wait = min(RETRY_MAX_S, 2 * wait)

    def _wants(self, sym: str) -> bool:
        s = self.lines.syncs.get((self.venue, sym))
        return s is not None and s.wants_snapshot()

    async def _resubscribe(self, sym: str) -> None:
        if self.resubscribe is None or self.depth_topic is None:
            raise RuntimeError("no re-subscription for this feed")
        self.resubscribe(self.depth_topic(sym))
        self.counts["resubscribed"] += 1

    async def _fetch(self, sym: str) -> None:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        if self._in_flight is None:
            self._in_flight = asyncio.Semaphore(SNAPSHOTS_IN_FLIGHT)
        path, query = venue_spec(self.venue).part("market").DEPTH_SNAPSHOT
        url = f"{self.rest_base}{path}?{urlencode(query(sym))}"
        market = venue_spec(self.venue).part("market")
        async with self._in_flight:
            # the host's governor (shared with the venue's order gateway in this process), the snapshot's weight
            gov, weight, observe = market.governed(self.rest_base, path, query(sym))
            await gov.acquire(weight, f"GET {path}")  # (waits out a 429's Retry-After; VenueBanned in a ban)
            async with self._session.get(url) as r:
                body = await r.read()
                recv = self.clock()
                observe(gov, r.status, r.headers)
                if r.status != 200:
                    raise RuntimeError(f"HTTP {r.status} from {path}: {body[:200].decode('utf-8', 'replace')}")
        doc = orjson.loads(body)
        err = market.snapshot_error(doc)
        if err is not None:
            raise RuntimeError(f"{path}: {err}")
        self._roll(recv)  # (the answer's line may open the next hour's file)
        if not self._wants(sym):
            return  # (a gap line or a new hour reset the book meanwhile: it waits for the stream first)
        self.on_snapshot(sym, path, body, doc, recv)
        self.counts["snapshots"] += 1

    async def close(self) -> None:
        try:
            await end_tasks(list(self._tasks.values()))
        finally:  # (a Ctrl-C meanwhile is passed on once the session is closed)
            self._tasks.clear()
            if self._session is not None:
                await self._session.close()
                self._session = None
