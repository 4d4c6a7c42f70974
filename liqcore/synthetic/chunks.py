"""One symbol's synthetic market generated in parts: the same events as
:func:`liqcore.synthetic.market.synthetic_market` for that symbol alone, in event-time order, without
ever holding the whole span (memory: one part's rows and uniforms).

The generator kernel stops at the top of a step when its uniforms or its row buffer run out and
resumes from its saved state (:data:`liqcore._jit.synth.STATE_LEN`); the uniforms come from the same
PCG64 stream drawn block after block.  The front's passes are cut where they cannot tell: a part's
rows are finished (duplicate-free within a millisecond, receive times set) up to the start of the
last push slot they reach (Bybit pushes liquidations in 500 ms batches; other venues: the last
millisecond), the rest waits for the next part.  The funding prints' crowding term reads the flushes
still to come: a first pass through the generator collects the span's episodes (rows dropped as they
come), the second yields the parts.  Markets with open interest or contagion (which need the whole
span or several symbols) are not generated this way.
"""
from __future__ import annotations

import numpy as np

from liqcore.venues.registry import venue_spec
from liqcore.types import DEFAULT_VENUE

NS_PER_MS = 1_000_000
#: uniforms drawn per block (8 MB) and rows per kernel call
U_BLOCK = 1 << 20
ROW_BLOCK = 1 << 18


def symbol_rows(p: np.ndarray, seed: int, symbol: str, regime=None, u_block: int = U_BLOCK,
                row_block: int = ROW_BLOCK, episodes: dict | None = None):
    """Yield the kernel's rows of one symbol part after part: dicts of ``t_ns``, ``price``, ``qty``,
    ``side``, ``kind`` (the columns :func:`liqcore.synthetic.market.simulate_symbol` returns).
    ``episodes`` (a dict, optional) receives the whole run's cascade episodes when the last part is out
    (the second dict :func:`~liqcore.synthetic.market.simulate_symbol` returns)."""
    from liqcore._jit import synth as k
    from liqcore.synthetic.market import _symbol_key

    gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), _symbol_key(symbol), 0])))
    reg = tuple(np.zeros(0, np.float64) for _ in range(3)) if regime is None else tuple(
        np.ascontiguousarray(a, np.float64) for a in regime)
    t_end = p[k.T_END]
    fmax = 1.0 + p[k.DIURNAL_A]
    max_ep = int(p[k.MU_S] * t_end * fmax * 2.0) + 64  # as the whole run sizes them
    eps = (np.empty(max_ep, np.int64), np.empty(max_ep, np.int64), np.empty(max_ep, np.int8),
           np.empty(max_ep, np.int8), np.empty(max_ep, np.float64), np.empty(max_ep, np.int32),
           np.empty(max_ep, np.float64))
    state = np.zeros(k.STATE_LEN, np.float64)
    u = gen.random(int(u_block))
    ext_t, ext_side = np.zeros(0, np.float64), np.zeros(0, np.int8)
    while True:
        cols = (np.empty(row_block, np.int64), np.empty(row_block, np.float64), np.empty(row_block, np.float64),
                np.empty(row_block, np.int8), np.empty(row_block, np.int8), np.empty(row_block, np.int32))
        status, n, n_ep, used = k.simulate_symbol(p, u, *cols, *eps, ext_t, ext_side, *reg, state)
        if n:
            yield dict(zip(("t_ns", "price", "qty", "side", "kind"), (c[:n] for c in cols[:5])))
        if status == k.OK:
            if episodes is not None:
                episodes.update(zip(("start_ns", "end_ns", "side", "continues", "notional", "n", "half_life"),
                                    (e[:n_ep].copy() for e in eps)))
            return
        if status == k.OUT_OF_EPISODES:
            raise RuntimeError("synthetic market: more cascade episodes than the generator's bound")
        u = u[used:]
        if status == k.OUT_OF_UNIFORMS:
            u = np.concatenate([u, gen.random(int(u_block))])


def market_chunks(symbol: str, days: float, seed: int = 7, venue: str = DEFAULT_VENUE, start_ns: int | None = None,
                  feed_latency_ns: int = 50_000_000, u_block: int | None = None, row_block: int | None = None):
    """Yield ``(events, registry)``: the events of ``synthetic_market(days, (symbol,), seed, venue)``
    (default effects) in consecutive parts, event-time order; concatenated, exactly that market's."""
    from liqcore._jit import synth as k
    from liqcore.synthetic import market as S
    from liqcore.types import EVENT_DTYPE, SymbolRegistry, Venue

    days, symbols, seed, venue_s, start_ns, feed_latency_ns = S._check_args(
        days, (symbol,), seed, venue, S.DEFAULT_START_NS if start_ns is None else start_ns, feed_latency_ns)
    eff = S.Effects().check()
    if eff.open_interest or eff.contagion > 0:
        raise ValueError("synthetic market: open interest or contagion cannot be generated in parts")
    sym = symbols[0]
    v = Venue.parse(venue_s)
    p = S.build_params(sym, days, start_ns, {})
    registry = SymbolRegistry([(venue_s, sym)])
    sid = registry.id(v, sym)
    qdec = float(S._spec(sym).qty_dec)
    slot = venue_spec(v).push_batch_ms or 1  # ms: a push batch (see recv_times) or one millisecond
    zgen = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(v), 1])))
    pend = None  # rows not finished yet (the last slot reached)
    regime = S.positioning_regime(eff, seed, sym, p)
    rows_iter = symbol_rows(p, seed, sym, regime, u_block or U_BLOCK, row_block or ROW_BLOCK)
    if eff.crowding_share > 0:
        # a funding print reads the inventory of the flushes still to come (crowding_funding): a first
        # pass runs the generator through the span for its episodes only (rows dropped part by part)
        episodes: dict = {}
        for _ in symbol_rows(p, seed, sym, regime, u_block or U_BLOCK, row_block or ROW_BLOCK, episodes):
            pass
        rows_iter = _with_crowding(rows_iter, eff, seed, sym, episodes, p)
    done = False
    while not done:
        try:
            rows = next(rows_iter)
            t_ms = (start_ns + rows["t_ns"]) // NS_PER_MS
            cols = [t_ms, rows["price"], rows["qty"], rows["side"], rows["kind"]]
        except StopIteration:
            done, cols = True, None
        if pend is not None and cols is not None:
            cols = [np.concatenate([a, b]) for a, b in zip(pend, cols)]
        elif cols is None:
            cols = pend
        if cols is None or not len(cols[0]):
            continue
        if done:
            cut = len(cols[0])
        else:
            last_slot = int(cols[0][-1]) // slot * slot
            cut = int(np.searchsorted(cols[0], last_slot, "left"))
        pend = [c[cut:].copy() for c in cols]
        if not cut:
            continue
        t_ms, price, qty, side, kind = (np.ascontiguousarray(c[:cut]) for c in cols)
        price, qty = price.copy(), qty.copy()
        k.make_distinct(t_ms, kind, side, price, qty, qdec)
        ev = np.zeros(cut, dtype=EVENT_DTYPE)
        k.assemble(t_ms, price, qty, side, kind, np.array([0, cut], np.int64), np.array([sid], np.int32),
                   int(v), ev)
        _recv(ev, v, feed_latency_ns, zgen)
        yield ev, registry


def _with_crowding(rows_iter, eff, seed: int, symbol: str, episodes: dict, p: np.ndarray):
    """The parts of ``rows_iter`` with the crowding term on their funding prints, from the whole run's
    ``episodes`` (:func:`liqcore.synthetic.market.crowding_funding`, print by print: the whole
    market's values)."""
    from liqcore.synthetic.market import crowding_funding

    for rows in rows_iter:
        crowding_funding(eff, seed, symbol, rows, episodes, p)
        yield rows


def _recv(ev, venue, feed_latency_ns: int, zgen) -> None:
    """:func:`liqcore.synthetic.market._set_recv` on one part, the normal draws continuing ``zgen``."""
    from liqcore._jit.synth import recv_times
    from liqcore.types import Flag

    z = zgen.standard_normal(len(ev)) if feed_latency_ns > 0 else np.zeros(1)
    spec = venue_spec(int(venue))
    batch_ns = spec.push_batch_ms * NS_PER_MS
    liq_flags = int(Flag.SYNTHETIC) | (int(Flag.SAMPLED) if spec.sampled_liquidations else 0)
    ev["venue"] = int(venue)
    recv_times(ev, z, int(feed_latency_ns), batch_ns, 1, int(Flag.SYNTHETIC), liq_flags)
