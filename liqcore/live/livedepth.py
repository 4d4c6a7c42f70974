"""``liqcore run --book depth``: the traded symbols' L2 books in a live run, for the live queue estimate.

The venue's depth frames become DEPTH rows as a recording's do (:class:`liqcore.venues.depthsync.DepthLines`: its
protocol followed, a break marked as a gap); :class:`liqcore.live.depthkeep.DepthKeeper` gets the snapshots the
books wait for (Binance and OKX: REST; Bybit: a re-subscription), taken in by :meth:`LiveDepth.on_snapshot`.
:func:`attach` puts the books on an engine (``engine.depth``), whose rows they feed: the engine passes DEPTH rows
to the queue estimate only; the detector, the strategy and the paper fills never read them.

May import: the standard library, orjson, ``liqcore.types`` and ``liqcore.venues``.
"""
from __future__ import annotations

import orjson

from liqcore.types import Venue
from liqcore.venues.common import Reject
from liqcore.venues.lines import depth_rows
from liqcore.venues.depthsync import MESSAGE_ERRORS, DepthLines, is_depth_payload



def attach(engine, venue: str) -> "LiveDepth":
    """``venue``'s books on ``engine`` (``engine.depth``), its live queue estimate reading them."""
    d = engine.depth = LiveDepth(venue, engine.decoder(venue).sink)
    d.engine = engine
    engine.queue_est.use_depth()
    return d


class LiveDepth:
    """``venue``'s books: ``frame_rows`` / ``rest_rows`` / ``gap_rows`` give the engine's row tuples
    (EVENT_DTYPE order) of one depth frame, REST snapshot or feed gap (a recording's rows:
    :func:`liqcore.venues.lines.depth_rows`), ids and OKX contract values from ``sink`` (the venue decoder's:
    :class:`liqcore.venues.common.Sink`).  ``bad_frames``: depth frames that did not parse (dropped).
    On an engine (:func:`attach`): :meth:`on_frame`, :meth:`on_snapshot` and :meth:`on_gap` feed it the rows;
    ``keeper`` (a :class:`DepthKeeper`) is asked for the snapshots the books then wait for."""

    engine = None
    keeper = None

    def __init__(self, venue: str, sink):
        self.venue = Venue.parse(venue).name.lower()
        self.code = int(Venue.parse(venue))
        self.sink = sink
        self.lines = DepthLines()
        self.bad_frames = 0

    # ---- on an engine
    def on_frame(self, frame: bytes, recv_ns: int) -> list:
        rows = self.frame_rows(frame, recv_ns)
        if self.keeper is not None:
            self.keeper.poke()  # (a book that now waits for a snapshot: asked for)
        return self.engine._on_rows(rows) if rows else []

    def on_snapshot(self, symbol: str, path: str, body: bytes, doc, recv_ns: int) -> None:
        """A REST snapshot the keeper got: kept in the run's recording (``--record``), then into the books."""
        rec = self.engine.recorder
        if rec is not None:
            rec.write_rest(self.venue, symbol, path, body, recv_ns)
        rows = self.rest_rows(symbol, doc, recv_ns)
        if rows:
            self.engine._on_rows(rows)

    def on_gap(self, events) -> None:
        """GAP events of a lost connection: the venue's books unknown until their next snapshot."""
        if len(events) and int(events["venue"][0]) == self.code:
            rows = self.gap_rows(int(events["ts_recv"][0]))
            if rows:
                self.engine._on_rows(rows)

    def is_depth(self, frame: bytes) -> bool:
        return is_depth_payload(self.venue, frame)

    def frame_rows(self, frame: bytes, recv_ns: int) -> list:
        try:
            got = self.lines.frame(self.venue, orjson.loads(frame))
        except MESSAGE_ERRORS:
            self.bad_frames += 1
            return []
        return self._rows([got] if got is not None else [], recv_ns)

    def rest_rows(self, symbol: str, doc, recv_ns: int) -> list:
        return self._rows([self.lines.rest(self.venue, {"symbol": symbol, "body": doc})], recv_ns)

    def gap_rows(self, recv_ns: int) -> list:
        return self._rows(self.lines.gap(self.venue), recv_ns)

    def _rows(self, got, recv: int) -> list:
        out: list = []
        for item in got:
            try:
                depth_rows(self.sink, self.code, recv, [item], out)
            except Reject:  # (a symbol the registry refuses, an OKX swap without its contract value)
                self.bad_frames += 1
        return out
