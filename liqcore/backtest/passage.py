"""What a live order or position lets the window plan (:mod:`liqcore.backtest.windows`) pass over, and what it
reads back at the end of a span passed over: where a resting entry's level, or an open position's stop-loss or
take-profit, is first reached (:func:`quiet_until`, from the first-passage blocks where the files index them, else
the row groups' statistics), the last print and the book in force there (:func:`last_in_tail`,
:func:`book_before`), and the signals a flat simulator refuses before it reads any price (:func:`refused`), whose
windows are not read at all.  Why each is the full replay's answer: their docstrings.

May import: numpy, the kernels (``liqcore._jit``), ``signals``, ``types`` and this package's ``row_groups``.
"""
from __future__ import annotations

import functools

import numpy as np

from liqcore.backtest.row_groups import _cells_of, first_block, groups_in, on_grid, rows_within

#: under the queue rule, how far back the book in force is first looked for (and the last print): a second
PRE = 1_000_000_000
#: the last rows of a span passed over from the first-passage blocks (:func:`_tail_from_blocks`; off: read back)
TAIL_FROM_BLOCKS = True
#: the last print of a span passed over taken from the next step's own read of the span's last second, where one
#: is there (:func:`settle_tail`; the look-up, :func:`last_in_tail`, only where none is; off: looked up at once)
DEFER_TAIL = True
#: a QUOTE row's side: BID (Side.BUY) the best bid; any other side the best ask (as the simulator reads them)
BID, ASK = 3, 4
_I64_MAX = 2**63 - 1
#: the first-passage block found by one compiled walk of the block table (:func:`_first_loud`; off: numpy's masks)
FIRST_LOUD = True
#: within the first-passage block, the first row that can reach a level (:func:`_first_loud_row`; off: the block's
#: first receive time, and its whole span read)
ROW_PASSAGE = True
#: a skip found at the grain of rows ends on a whole second of receive time (a sweep's cells then make the same reads)
SECOND = 1_000_000_000


#: what :func:`liqcore._jit.sim.step_entry` answers, for a flat symbol, before it reads a price or the book
REFUSED_WHATEVER_THE_PRINTS = (1, 2, 3, 4, 5, 9, 10)  # R_BUSY, R_COOLDOWN, R_MIXED, R_HOURS, R_LOSS_LIMIT, R_SKIPPED,
# R_DAILY_TRADES (liqcore._jit.simdefs; tests/backtest/test_first_passage.py checks the codes)


def refused(cell, sigs, i: int) -> bool:
    """Whether the simulator of ``cell`` (flat, nothing carried) refuses signal ``sigs[i]`` (a CONFIRMED record's,
    as :func:`~liqcore._jit.sim.records_signals` makes it) for a reason decided before any price or the book is
    read: :func:`~liqcore._jit.sim.step_entry` itself on copies of the state (:func:`~liqcore._jit.sim.entry_code`;
    what a flat simulator's prints change, the last price and the book, is read only after these reasons; the
    parameters it only reads).  One symbol, or several all flat (a selection of several pairs): no working order
    elsewhere to look at.
    ``sigs``: each cell's signals, in a list (cells replayed together, :class:`~liqcore.backtest.stream._Cells`:
    whether every one of them refuses it)."""
    from liqcore._jit import sim

    for c, sg in zip(_cells_of(cell), sigs):
        if len(c.st) != 1 and bool(np.any(c.st["status"] != 0)):  # (several pairs: every one flat)
            return False
        if int(sim.entry_code(c.st, c.port, c.par, c.counts, sg, i)) not in REFUSED_WHATEVER_THE_PRINTS:
            return False
    return True


def quiet_until(cell, clock, b: int, stop: int, fund_recv: np.ndarray, rd, span, defer: bool = False,
                rows: list | None = None) -> int:
    """How far past receive time ``b`` (before ``stop``: the next signal, or the span's end) every
    print is a quiet one for the symbol's working order or position, proven from the bulk row groups'
    statistics: the simulator's own test (``liqcore._jit.sim``: a print that changes only the last
    price) holds for a row group's whole price range -- an open position's stop below and
    take-profit above it (mirrored for a short), no trailing stop to move, its hold and exit
    deadlines after it; a resting limit entry's price below it (a buy), its deadlines after it.
    Nothing happens to a resting buy at L until a trade reaches L, nor to an open position until a
    trade reaches its stop or target or its timer runs out.  The skipped prints' last one is then
    set as the symbol's last price, as the full replay leaves it; the skipped quotes (the queue rule:
    none at or through the limit, the groups' statistics say) only set the book in force, read back by
    the next step that replays quotes (:func:`book_before`).
    Returns the receive time to read on from (``b``: nothing to skip) and the last receive time of the first
    block (else row group) past it that can reach a level (``stop`` or a deadline before it when none does; None:
    not asked).  ``rd``, ``span`` (``lo``,
    ``hi``): the last print is read through the window reader (:func:`last_in_tail`).  ``defer``: it is not
    (nor the book of a resting entry's last second): :attr:`_ClockRows.pending` says which span's it is, and the
    caller's next step, which reads on from the span's end, reads its last second too and settles it
    (:func:`settle_tail`) before it replays a row.  ``rows`` (the caller's ``[run]``, kept across its steps): the
    first passage found at the grain of rows inside the blocks (:func:`_first_loud_row`): the span passed over ends
    on the second of the first row that can reach a level, and the block's rows before it are not read; where that
    row is within the second after ``b`` (nothing to pass over), the steps read on in spans doubling from a second
    (``run``: how many such steps in a row) up to the block's end."""
    from liqcore._jit.sim import RESTING

    g = clock.g
    k = int(fund_recv.searchsorted(b, "left"))
    end0 = min(stop, int(fund_recv[k]) if k < len(fund_recv) else stop)  # (and the orders' deadlines, below)
    best = None  # (to, loud_end) of the live cell whose first passage comes first
    sid = None
    resting = False
    cells = _cells_of(cell)
    st2 = getattr(cell, "st", None)
    if len(cells) > 1 and st2 is not None and st2.ndim == 2 and st2.shape[1] == 1 and FIRST_LOUD \
            and g.get("blocks") is not None:  # (cells stacked, one symbol: each cell's passage from its row at once)
        got = _passage_rows(cell, g, b, end0)
        if got is None:
            return b, None
        best, resting = got
        sid = 0
        cells = ()
    for c in cells:
        live = np.flatnonzero(c.st["status"] != 0)
        if not len(live):
            continue  # (a flat cell: every span is quiet for it; its last price and book are set below)
        if len(live) != 1 or (sid is not None and int(live[0]) != sid):
            return b, None
        sid = int(live[0])
        got = _passage(c, sid, clock, g, b, end0, rd, rows if len(cells) == 1 else None)
        if got is None:
            return b, None
        resting = resting or int(c.st[sid]["status"]) == RESTING
        if best is None or got < best:
            best = got
    if best is None:
        return b, None
    to, loud_end = best
    ids = groups_in(g, b, to) if to > b else ()  # (the groups whose receive times meet [b, to))
    if to <= b or not len(ids):
        return b, loud_end
    if defer:
        clock.tail, clock.skipped = None, rows_within(g, ids, b, to)
        clock.pending = (b, to, ids, sid)
        return to, loud_end
    last = last_in_tail(rd, clock, ids, b, to, *span, resting=resting)
    if last is None:
        return b, loud_end  # an exact tie between the last prints: read them
    if last:
        _set_last(cell, sid, last)
    return to, loud_end


def _set_last(cell, sid: int, last: tuple) -> None:
    """Symbol ``sid``'s last print ``(receive time, price)`` set in every cell of ``cell`` (a stacked
    :class:`~liqcore.backtest.stream._Cells`: its column of states at once)."""
    one = _of_symbol(cell.st, sid)
    one["last_price"], one["last_ns"] = last[1], last[0]


def _of_symbol(st, sid: int):
    """Symbol ``sid``'s states of ``st`` as a view: a cell's one (STATE_DTYPE, a state a symbol), or every cell's
    (stacked, :class:`~liqcore.backtest.stream._Cells`: a row a cell)."""
    return st[:, sid] if st.ndim == 2 else st[sid:sid + 1]


def _passage_rows(cells, g: dict, b: int, end: int):
    """:func:`_passage` of every cell of ``cells`` (:class:`~liqcore.backtest.stream._Cells`, one symbol: its stacked
    states and parameters, a row a cell) from their rows at once, the blocks walked for each live one
    (:func:`liqcore._libs.reading.first_loud`) -> ``((to, loud_end) of the one whose first passage comes first,
    whether one rests)``; None where nothing may be passed over (a cell whose state :func:`_passage` passes over
    nothing for, or no live cell)."""
    from liqcore._jit.sim import RESTING
    from liqcore._libs.reading import first_loud

    s = cells.st[:, 0]
    status = s["status"]
    ks = np.flatnonzero(status != 0)
    if not len(ks):
        return None
    cols = {f: s[f][ks].tolist() for f in _LEVEL_FIELDS}
    grid = cells.par[:, 0]["grid"][ks].tolist()
    blk = g["blocks"]
    tr_min, tr_max, p_min, p_max = blk["tr_min"], blk["tr_max"], blk["p_min"], blk["p_max"]
    base = first_block(g, b)
    best = None
    for j in range(len(ks)):
        gr = float(grid[j])
        got = _levels(lambda f, j=j: cols[f][j], gr)
        if got is None:
            return None  # (a trailing stop, an entry that is not a resting limit: read on)
        mode, lvl, level, due = got
        e = min(due, end)
        i = first_loud(tr_min, tr_max, p_min, p_max, base, b, e, mode, lvl, float(level), gr)
        got = (min(e, int(tr_min[i])), int(tr_max[i])) if i >= 0 else (e, e)
        if best is None or got < best:
            best = got
    return best, bool(np.any(status == RESTING))


#: the fields of a live state :func:`_levels` reads
_LEVEL_FIELDS = ("status", "side", "trail", "hold_deadline_ns", "exit_due_ns", "sl_price", "stop_price", "p_rest",
                 "entry_price", "tp_price", "entry_kind", "entry_deadline_ns", "limit_price")


def _levels(get, grid: float):
    """``(mode, stop-side level, level on the grid, deadline)`` of a live state (``get(field)``: its fields) for the
    first passage (:func:`_first_loud`): an open position (0 a long, 1 a short; its stop, a partial entry's rest
    bounding it, and take-profit; its hold and exit deadlines) or a resting limit entry (2 a buy, 3 a sell; its
    price; its entry and exit deadlines); None where nothing may be passed over (a trailing stop, another state)."""
    from liqcore._jit.sim import OPEN, RESTING
    from liqcore.signals import ENTRY_LIMIT

    status, side = int(get("status")), int(get("side"))
    if status == OPEN:
        if float(get("trail")) > 0.0:
            return None
        lvl, sp = float(get("sl_price")), float(get("stop_price"))
        lvl = (sp if sp > lvl else lvl) if side > 0 else (sp if sp < lvl else lvl)
        if int(get("p_rest")):  # the rest of a partially filled entry fills at a print at or through its price
            lvl = rest_level(lvl, float(get("entry_price")), side, grid)
        return (0 if side > 0 else 1), lvl, on_grid(float(get("tp_price")), grid), \
            min(int(get("hold_deadline_ns")), int(get("exit_due_ns")))
    if status == RESTING and int(get("entry_kind")) == ENTRY_LIMIT:
        return (2 if side > 0 else 3), 0.0, on_grid(float(get("limit_price")), grid), \
            min(int(get("entry_deadline_ns")), int(get("exit_due_ns")))
    return None


def _passage(c, sid: int, clock, g: dict, b: int, end: int, rd, rows):
    """:func:`quiet_until`'s span for one cell whose one live state is symbol ``sid``'s: ``(to, loud_end)``, the
    receive time its rows are quiet up to from ``b`` and the last receive time of the first block (else row group)
    that can reach a level (``end``: the next signal, the span's end or the next funding; the order's deadlines
    before it); None where nothing may be passed over (a trailing stop, an entry that is not a resting limit)."""
    s = c.st[sid]
    grid = float(c.par[sid]["grid"])
    got = _levels(s.__getitem__, grid)
    if got is None:
        return None
    mode, lvl, level, due = got
    tk = functools.partial(on_grid, grid=grid)
    # the first passage: the earliest receive time a row that is not quiet may have (of the blocks, else the groups)
    k = _first_loud(g, b, end, min(due, end), mode, lvl, level, grid, tk)
    end = min(due, end)
    t = None if k is None or rows is None or not ROW_PASSAGE or g.get("blocks") is None else \
        _first_loud_row(rd, clock, k, b, end, mode, lvl, level, grid)
    if t is not None:  # (the first row that can reach a level, at or after ``b``; _I64_MAX: none before ``end``)
        to = loud_end = min(end, t)
        if to < end:
            to = max(b, to - to % SECOND)
            if to > b:
                rows[0] = 0
            else:  # (nothing to pass over: read on, a second, then two, ... up to the block's end)
                loud_end = min(int(g["blocks"]["tr_max"][k]), b + (SECOND << min(rows[0], 20)) - 1)
                rows[0] += 1
    elif k is not None:
        fine = g if g.get("blocks") is None else g["blocks"]
        to, loud_end = min(end, int(fine["tr_min"][k])), int(fine["tr_max"][k])
    else:  # (none before the deadline, the next signal or funding: the step after it starts there)
        to = loud_end = end
    return to, loud_end


#: how far past the rest's price on the grid the stop-side bound is set (a relative margin far above a float
#: product's rounding: a price judged quiet is one whose tick is past the entry's, never one on it)
_REST_MARGIN = 1e-12


def rest_level(lvl: float, entry: float, side: int, grid: float) -> float:
    """The stop-side bound of :func:`_quiet` (modes 0/1: a long is quiet above it, a short below it) for an open
    position whose partially filled entry still rests at ``entry`` (``--partial on``): the simulator fills more of
    it at a print whose tick (``floor(price x grid + 0.5)``) is at or through the entry's, so the bound is the
    farther of the stop ``lvl`` and the price where that tick begins (a hair beyond it: quiet only when surely
    past; the price itself with no grid)."""
    if grid > 0.0:
        ke = float(np.floor(entry * grid + 0.5))
        edge = (ke + 0.5) / grid * (1.0 + _REST_MARGIN) if side > 0 else (ke - 0.5) / grid * (1.0 - _REST_MARGIN)
    else:
        edge = entry
    return max(lvl, edge) if side > 0 else min(lvl, edge)


def _first_loud(g: dict, b: int, end: int, until: int, mode: int, lvl: float, level, grid: float, tk):
    """The place of the first-passage block (in ``g["blocks"]``, else of the group in ``g``'s groups) of
    :func:`quiet_until`: among the blocks that can hold rows received in ``[b, end)``, the one with the earliest
    first receive time before ``until`` whose price range is not quiet for ``mode`` (0/1: an open long / short,
    stop ``lvl``, take-profit ``level`` on the grid; 2/3: a resting buy / sell limit at ``level`` on the grid);
    None for none.  The blocks walked forward by a compiled pass (:func:`liqcore._libs.reading.first_loud`, to the
    first loud block), the groups (files without blocks) by numpy's."""
    blk = g.get("blocks")
    fine, base = g, 0
    if blk is not None:
        base = first_block(g, b)
        if FIRST_LOUD:
            from liqcore._libs.reading import first_loud

            k = first_loud(blk["tr_min"], blk["tr_max"], blk["p_min"], blk["p_max"], base, b, until, mode, lvl,
                           float(level), grid)
            return None if k < 0 else int(k)
        # (the blocks :func:`blocks_in` gives, and those of them that end before ``b``: none is loud)
        fine = blk[base:int(blk["tr_min"].searchsorted(end, "left"))]
    quiet = _quiet(mode, fine["p_min"], fine["p_max"], lvl, level, tk)
    loud = (fine["tr_max"] >= b) & (fine["tr_min"] < until) & ~quiet
    if not loud.any():
        return None
    return base + int(np.argmin(np.where(loud, fine["tr_min"], _I64_MAX)))


def _first_loud_row(rd, clock, k: int, b: int, until: int, mode: int, lvl: float, level, grid: float):
    """The earliest receive time at or after ``b`` of a row that is not quiet for ``mode`` (:func:`_first_loud`'s
    test, of one row's price range: a quote row's bid and ask; a price that is not a number reaches every level),
    among the rows of the first-passage block ``k`` (the first loud one) and of every loud block after it that
    begins before the answer and ``until``; ``_I64_MAX`` for none, None where the blocks' rows cannot be read (a
    group not the bytes of its mark: the block's grain).  Every row received in ``[b, answer)`` is then quiet: the
    blocks before ``k`` are (their ranges are), and a block beginning at or after the answer holds no row received
    before it.  The rows are those of the pages that hold each block (:meth:`~liqcore.backtest.row_groups.
    _ClockRows.block_rows`: the pages the reads share), a row outside the block a real row too."""
    from liqcore._libs.reading import first_loud

    blk = clock.g["blocks"]
    best = _I64_MAX
    while k >= 0:
        got = clock.block_rows(rd, k)
        if got is None:
            return None
        best = min(best, loud_from(*got, b, mode, lvl, float(level), grid))
        k = first_loud(blk["tr_min"], blk["tr_max"], blk["p_min"], blk["p_max"], k + 1, b, min(best, until), mode,
                       lvl, float(level), grid)
    return best


def loud_from(tr: np.ndarray, lo: np.ndarray, hi: np.ndarray, b: int, mode: int, lvl: float, tp: float,
              grid: float) -> int:
    """The earliest receive time ``tr`` at or after ``b`` of a row whose price range ``[lo, hi]`` is not quiet
    for ``mode`` (:func:`_first_loud`'s test, row by row; NaN is not quiet), ``_I64_MAX`` for none."""
    with np.errstate(invalid="ignore"):
        quiet = _quiet(mode, lo, hi, lvl, tp, functools.partial(on_grid, grid=grid))
    t = tr[~quiet & (tr >= b)]
    return int(t.min()) if len(t) else _I64_MAX


def _quiet(mode: int, lo, hi, lvl: float, level, tk):
    """Per price range ``[lo, hi]``: whether it is quiet for ``mode`` (:func:`_first_loud`: 0/1 an open long / short,
    stop ``lvl``, take-profit ``level`` on the grid ``tk``; 2/3 a resting buy / sell limit at ``level``)."""
    if mode == 0:
        return (lo > lvl) & (tk(hi) < level)
    if mode == 1:
        return (hi < lvl) & (tk(lo) > level)
    if mode == 2:
        return tk(lo) > level
    return tk(hi) < level


def settle_tail(cell, rd, clock, pending, pre: np.ndarray, lo: int, hi: int) -> None:
    """Set the last print of a span passed over by :func:`quiet_until` with ``defer`` (``pending``: ``(b, to, the
    groups met, the symbol)``) as the full replay leaves it: the last print of ``pre`` -- the rows the next step
    read of the span's last second (from ``max(b, to - PRE)`` to ``to``), in the full replay's order, so its last
    print is the last one (no tie to judge) -- else, none there, looked up or read back over the whole span
    (:func:`last_in_tail`: the blocks, or the reads where two last prints tie); none received in it: unchanged."""
    b, to, ids, sid = pending
    k = _last_rows(pre)[0]  # (a bad print is no print)
    if k >= 0:
        last = (int(pre["ts_recv"][k]), float(pre["price"][k]))
    else:
        last = last_in_tail(rd, clock, ids, b, to, lo, hi)
        if last is None:  # (two last prints tied in both times: their order is the read's)
            last = last_in_tail(rd, clock, ids, b, to, lo, hi, blocks=False)
    if last:
        _set_last(cell, sid, last)


def last_in_tail(rd, clock, ids, b: int, to: int, lo: int, hi: int, resting: bool = False, blocks: bool = True):
    """:meth:`_ClockRows.last_print` of row groups ``ids`` over ``[b, to)`` read as the window reads
    its rows, back from ``to``: the trades received in the last second before it, then in spans
    doubling back down to ``b``, until the last print is found, as events in the full replay's order,
    so the last one there is the last one (no tie to judge).  A busy symbol's last second holds it: the
    passes over rows are a second's, not those of the latest groups' whole span.  The skipped quotes
    (the queue rule) are not read here: they only set the book in force, which the next step that
    decodes quotes reads back (:func:`book_before`, from ``book_at``); a step that does not cannot
    read the book.  Where the files are indexed the blocks say where those last rows are, and only their
    pages are decoded (:func:`_tail_from_blocks`, the same answer); the reads are the way where they cannot.
    Returns ``(ts_recv, price)``, ``()`` when no print was received in ``[b, to)``; sets
    :attr:`_ClockRows.skipped`.  ``blocks=False``: read back, not looked up."""
    from liqcore.types import Kind

    clock.tail = None
    clock.skipped = rows_within(clock.g, ids, b, to)
    got = _tail_from_blocks(rd, clock, b, to, clock.book and resting) if TAIL_FROM_BLOCKS and blocks else None
    if got is not None:
        return got
    last = None
    a, step = to, PRE
    while a > b and last is None:
        a0 = max(b, a - step)
        # the first read, the last second, takes the quotes too (the queue rule, a ``resting`` entry: the next
        # step replays quotes): the book in force at ``to``, set from them (:func:`book_before`), not read back
        book = a == to and clock.book and resting
        ev = rd.read(lo, hi, kinds=(int(Kind.TRADE), int(Kind.QUOTE)) if book else (int(Kind.TRADE),), recv=(a0, a))
        if book:
            clock.tail = (a0, to, ev)
        k = _last_rows(ev)[0]  # (a bad print is no print)
        if k >= 0:
            last = (int(ev["ts_recv"][k]), float(ev["price"][k]))
        a, step = a0, step * 2
    return () if last is None else last


def _tail_from_blocks(rd, clock, b: int, to: int, book: bool):
    """:func:`last_in_tail` from the first-passage blocks (:meth:`~liqcore.backtest.row_groups._ClockRows.last_rows`):
    the last print received in ``[b, to)`` and, with ``book``, the last best bid and ask received in the last
    second before ``to`` (as the rows :attr:`_ClockRows.tail` keeps: what :func:`put_quotes` takes of that
    second's rows), decoding only the pages that hold them; None where the blocks cannot say (not every file
    indexed, a file not the bytes of its mark, two last rows tied with different values): the caller reads."""
    from liqcore.types import EVENT_DTYPE, Kind

    pr = clock.last_rows(rd, b, to, int(Kind.TRADE))
    if pr is None:
        return None
    if book:
        a0 = max(b, to - PRE)
        q = clock.last_rows(rd, a0, to, int(Kind.QUOTE))
        sid = rd.symbol_id()
        if q is None or sid is None:
            return None
        rows = [(side, x) for side, x in zip((BID, ASK), q) if x]
        ev = np.zeros(len(rows), EVENT_DTYPE)
        for k, (side, x) in enumerate(rows):  # (a QUOTE event of the symbol: all put_quotes reads of it)
            ev[k]["ts_event"], ev[k]["ts_recv"], ev[k]["price"], ev[k]["qty"] = x
            ev[k]["kind"], ev[k]["side"], ev[k]["symbol_id"] = int(Kind.QUOTE), side, sid
        clock.tail = (a0, to, ev)
    return () if not pr[0] else (int(pr[0][1]), float(pr[0][2]))


def put_quotes(st, q: np.ndarray, have: set) -> set:
    """Set the book in force of ``st`` (STATE_DTYPE; stacked, a row a cell: every cell's alike) from the last best
    bid and best ask rows of ``q`` (events in the full replay's order), for the sides not in ``have``; the sides
    set."""
    got = set()
    if len(have) >= 2 or not len(q):
        return got
    for side, k in zip((BID, ASK), _last_rows(q)[1:]):
        if side in have or k < 0:
            continue
        e = q[k]
        sid = int(e["symbol_id"])
        if 0 <= sid < st.shape[-1]:
            col = "bid" if side == BID else "ask"
            one = _of_symbol(st, sid)
            one[col], one[col + "_qty"] = e["price"], e["qty"]
        got.add(side)
    return got


def _last_rows(ev: np.ndarray) -> tuple:
    """The positions of the last print (a finite, positive price), best bid and best ask of events ``ev``, -1 for
    none: one compiled pass back from the end (:func:`liqcore._libs.reading.last_rows`) for the reads' own
    arrays, numpy's masks for any other."""
    from liqcore.types import EVENT_DTYPE, Kind

    if ev.dtype == EVENT_DTYPE and ev.ndim == 1 and ev.flags.c_contiguous:
        from liqcore._libs.reading import last_rows

        return last_rows(ev)
    kd, px = ev["kind"], ev["price"]
    with np.errstate(invalid="ignore"):
        pr = np.flatnonzero((kd == int(Kind.TRADE)) & np.isfinite(px) & (px > 0))
    isq, bid = kd == int(Kind.QUOTE), ev["side"] == BID
    return tuple(int(k[-1]) if len(k) else -1 for k in (pr, np.flatnonzero(isq & bid), np.flatnonzero(isq & ~bid)))


def book_before(cell, rd, pre: np.ndarray, lo: int, hi: int, floor: int, a: int, sids=None) -> None:
    """Between windows the simulator is flat, and a quote there only sets the book in force: set it
    as the full replay leaves it at a window's start, from the last best bid and ask rows received
    before it -- in ``pre`` (the rows read from ``a`` on), else read back from ``a`` in doubling steps
    down to ``floor`` (before it, every row was replayed: the simulator's book is the full replay's).
    ``sids``: the one pair of a selection of several whose book it sets (its rows alone read back)."""
    from liqcore.types import Kind

    have = put_quotes(cell.st, pre, set())
    step = PRE
    while len(have) < 2 and a > floor:
        a0 = max(floor, a - step)
        have |= put_quotes(cell.st, rd.read(lo, hi, kinds=[int(Kind.QUOTE)], recv=(a0, a),
                                                **({} if sids is None else {"sids": sids})), have)
        a, step = a0, step * 2
