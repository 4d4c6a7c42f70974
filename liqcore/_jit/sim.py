"""The execution model: signals -> orders -> fills -> trades, as Numba per-event step functions.

One model for every strategy, backtest and paper trading alike: :func:`run_exec` (whole arrays),
:func:`run_sim` (the cascade market-maker on detector records) and ``backtest.core.StrategyCore`` (one
call per live event) share the step functions; twin ``pysrc/execmodel.py``.  State: ``st``
(:data:`STATE_DTYPE`), ``port`` (:data:`PORT_DTYPE`), ``par`` (:data:`PARAM_DTYPE`), ``ledger``
(:data:`LEDGER_DTYPE`), ``counts`` (``C_*``).  Rules: docs/maintainers/strategies.md, "The execution model, rule by rule".

In parts: the vocabulary and layouts (``simdefs.py``), the queue rule and the step functions
(``simcore.py``), and here the queue rule on its own (the live estimate's), the queue at depth and the runs;
every name of the parts is importable from here.  May import: numpy, numba, ``types``, ``signals``, ``codes``,
``_jit.depth`` and this package's ``simdefs`` and ``simcore``.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from liqcore.signals import ENTRY_LIMIT, ENTRY_MARKET, NEVER, SKIP_EXIT, SKIP_MIXED, empty_signals  # noqa: F401
from liqcore._jit import depth as _dp
from liqcore.types import Kind

from liqcore._jit.simdefs import (
    COUNT_NAMES, C_BELOW_MINIMUM, C_BUSY, C_CASCADES, C_COOLDOWN, C_DAILY_TRADES, C_EXTERNAL, C_FILLS, C_HOURS,
    C_LEVERAGE, C_LOSS_LIMIT, C_MAX_HOLD, C_MAX_POSITIONS, C_MAX_SYMBOLS, C_MIXED, C_NO_REF, C_ORDERS,
    C_REJECTED, C_REPLACED, C_SIGNALS, C_SIGNAL_EXIT, C_SKIPPED, C_STOP_LOSS, C_STOP_PRICE, C_TAKE_PROFIT,
    C_TIMEOUT, C_TRAIL, C_UNFILLED, D_CROSSED, D_CROSSED_REST, D_RULE_CROSSED, EV_CANCELLED, EV_CLOSED,
    EV_FILLED, EV_REJECTED, EXIT_COUNT_COLUMN, EXIT_NAMES, EXTERNAL, FILL_RULE_NAMES, FLAT, LEDGER_DTYPE,
    MAX_HOLD, NO_TIME, NS_PER_DAY, NS_PER_HOUR, N_COUNTS, OPEN, PARAM_DTYPE, PENDING, PORT_DTYPE, Q_EPS,
    REASON_NAMES, REPLACED, RESTING, R_BUSY, R_COOLDOWN, R_DAILY_TRADES, R_EXIT, R_HOURS, R_LOSS_LIMIT,
    R_MAX_POSITIONS, R_MAX_SYMBOLS, R_MIXED, R_NO_POSITION, R_NO_REF, R_ORDER, R_SKIPPED, R_UNKNOWN_SYMBOL,
    SIGNAL_EXIT, STATE_DTYPE, STOP_LOSS, STOP_PRICE, TAKE_PROFIT, TIMEOUT, TRAIL, _BID, _DEPTH, _FUNDING,
    _QUOTE, _TRADE, _reset_spec, new_port, new_state,
)  # noqa: F401  (every name of the parts, from here)
from liqcore._jit.simcore import (
    NO_CLOCK, _add_sat, _close, _exit_due, _lot_down, _on_grid, _open, _place_queued, _q_depth, _q_fill, _q_hit,
    _q_join, _q_move, _q_units, _queue_entry, _replaces_same, _rest_add, _rest_fill, _rest_print, _restore_latency,
    _roll, _settle, _signal_latency, _snap, _stop, _taker_px, _tk, external_close, external_entry_fill,
    external_reject, step_clock, step_entry, step_exit, step_funding, step_price, step_print, step_quote,
    step_signal, step_trade, tp_level,
)  # noqa: F401


# ---- the queue rule on its own (the live queue-position estimate, liqcore.live.queue_estimate) -------
# One resting maker limit per row of a STATE_DTYPE array, moved by exactly the functions the fill model
# uses (_q_join, _q_depth, _q_hit): the live estimate and the backtest cannot drift apart.  The live estimate
# counts sizes as the stream gives them (``cu`` 0: no conversion to contracts, whatever the symbol).

@njit(cache=True, nogil=True)
def queue_rest(st, i, side, price, grid, unseen):
    """Row ``i``'s maker limit (``side`` 1 buy on the bid, -1 sell on the ask, at ``price``) rests now:
    it joins the queue behind the size displayed at its price (the quote in force in the row)."""
    s = st[i]
    s.status = RESTING
    s.side = side
    s.limit_price = price
    _q_join(s, side, price, grid, unseen, 0.0)
    s.q_first = s.q_ahead


@njit(cache=True, nogil=True)
def queue_quote(st, i, side, price, qty, pw, grid):
    """A top-of-book row (``side`` 3 = the best bid, else the best ask) in force on row ``i``; under a
    resting limit on that side it moves the queue ahead (risk-averse ``pw`` 0, else power ``pw``)."""
    s = st[i]
    s.d_quotes = 1
    if side == _BID:
        s.bid = price
        s.bid_qty = qty
    else:
        s.ask = price
        s.ask_qty = qty
    if s.status == RESTING and s.d_on == 0 and (side == _BID) == (s.side > 0):  # (with depth: the depth's)
        _q_depth(s, pw, s.side, s.limit_price, grid, 0.0)


@njit(cache=True, nogil=True)
def queue_rest_depth(st, par, tables, meta, i, side, price, unseen):
    """:func:`queue_rest` with the symbol's depth book (``tables``, ``meta``: :func:`new_depth`; ``par``: its
    queue model and key grid): the limit joins behind the size the depth shows at its level (the fill model's
    :func:`_q_join` then :func:`_d_track`), unknown while the book is."""
    s = st[i]
    s.status = RESTING
    s.entry_kind = ENTRY_LIMIT
    s.side = side
    s.limit_price = price
    _q_join(s, side, price, par[i].grid, unseen, par[i].contract_usd)
    _d_track(st, par, tables, meta, i)
    s.q_first = s.q_ahead


@njit(cache=True, nogil=True)
def queue_depth(st, par, tables, meta, i, ts, side, price, qty, flags, counts):
    """A DEPTH row of row ``i``'s symbol (the live estimate with depth): applied to its depth book and, at the
    resting limit's level, moving its queue exactly as the fill model does (:func:`_d_row`).  True when the
    row crossed the resting limit (the fill model fills it on this row, rule ``depth cross``)."""
    return _d_row(st, par, tables, meta, i, ts, side, price, qty, flags, counts) == D_CROSSED and \
        st[i].status == RESTING


@njit(cache=True, nogil=True)
def queue_depth_settle(st, par, tables, i):
    """Row ``i``'s snapshot run is over (a row of another kind came): its level moves the queue
    (:func:`_d_settle_run`), as the fill model does at the symbol's next row."""
    if st[i].d_pend != 0:
        _d_settle_run(st, par, tables, i)


@njit(cache=True, nogil=True)
def queue_print(st, i, price, qty, grid):
    """A print on row ``i``'s symbol: True when it fills the resting limit under the queue rule (a print
    through the price, or prints at it beyond the queue ahead); the queue ahead is consumed either way."""
    s = st[i]
    if s.status != RESTING:
        return False
    return _q_hit(s, price, s.limit_price, s.side, qty, grid, 0.0)


# ---- the queue at depth (DEPTH rows: the L2 book, liqcore._jit.depth) ---------------------------------
# run_exec keeps each symbol's depth book and, for its working maker limit, the size displayed at the
# limit's level (``d_lvl``), looked up when the limit is placed (:func:`_d_track`) and moved by every
# DEPTH row at that level (:func:`_d_row`); ``_q_join`` puts the limit behind that size.

@njit(cache=True, nogil=True)
def _d_top(tables, meta, sid, bid, grid):
    """(price, size) of the depth book's best level on one side of ``sid`` (NaN, 0: none)."""
    k = meta[sid, _dp.M_BID if bid else _dp.M_ASK]
    if k == _dp.NO_LEVEL:
        return np.nan, 0.0
    return k / (grid if grid > 0.0 else _dp.FINE), _dp.size_at(tables, sid, bid, k)


@njit(cache=True, nogil=True)
def _d_best(s, tables, meta, sid, grid):
    """The depth book's best bid and ask as the book in force (a symbol without top-of-book rows)."""
    s.bid, s.bid_qty = _d_top(tables, meta, sid, True, grid)
    s.ask, s.ask_qty = _d_top(tables, meta, sid, False, grid)


@njit(cache=True, nogil=True)
def _d_working(s):
    """1 when symbol state ``s`` has a maker limit in the queue (a resting limit entry, or a position's
    take-profit)."""
    if s.status == RESTING and s.entry_kind == ENTRY_LIMIT:
        return 1
    return 1 if (s.status == OPEN and abs(s.tp_price) < np.inf) else 0


@njit(cache=True, nogil=True)
def _d_track(st, par, tables, meta, sid):
    """After a step of symbol ``sid``: the level of its working maker limit looked up in the depth book
    when the limit changed (a new entry, a take-profit set at the fill), and a limit that joined before
    its level was known put behind the size displayed there."""
    s = st[sid]
    if s.d_on == 0:
        return
    if (s.status == PENDING or s.status == RESTING) and s.entry_kind == ENTRY_LIMIT:
        px = s.limit_price
        side = s.side
    elif s.status == OPEN and abs(s.tp_price) < np.inf:
        px = s.tp_price
        side = -s.side
    else:
        s.d_key = _dp.NO_LEVEL
        s.d_rejoin = 0
        return
    key = _dp.dkey(px, par[sid].grid)
    if key != s.d_key or side != s.d_side:
        s.d_key = key
        s.d_side = side
        s.d_lvl = _dp.size_at(tables, sid, side > 0, key)
    if s.d_rejoin != 0:
        s.d_rejoin = 0
        lvl = _q_units(par[sid].contract_usd, s.d_lvl, px)
        s.q_ahead = lvl if s.d_known != 0 else np.inf
        s.q_level = lvl
        s.q_traded = 0.0


@njit(cache=True, nogil=True)
def _d_settle_run(st, par, tables, sid):
    """A snapshot run of symbol ``sid`` is over (its next row, of any kind, has come): its working limit's
    level is what the new book shows (0: not listed), which moves the queue as a change of the level would."""
    s = st[sid]
    s.d_pend = 0
    if s.d_key != _dp.NO_LEVEL and _d_working(s) != 0:
        px = s.limit_price if s.status == RESTING else s.tp_price  # the working limit's level
        _q_move(s, par[sid].queue_pow, _q_units(par[sid].contract_usd, s.d_lvl, px))


@njit(cache=True, nogil=True)
def _d_row(st, par, tables, meta, sid, ts, side, price, qty, flags, counts):
    """A DEPTH row of symbol ``sid`` under the queue rule: an order due to arrive by ``ts`` arrives first
    (it joins the book before this row), then the row is applied to the book and, at the working limit's
    level, moves its queue (a fall follows the queue model, a rise goes behind it).  Returns D_CROSSED when
    the row puts size on the other side at or through the working limit's price while the book is known (a
    book cannot stand crossed over a resting limit: everything at its price, the limit included, traded;
    :func:`_d_cross` fills it), else 0."""
    s = st[sid]
    q = par[sid]
    if s.status == PENDING and ts >= s.arrive_ns:
        _settle(st, par, sid, ts, counts)
    if s.d_pend != 0 and not ((flags & _dp._SNAP) != 0 and meta[sid, _dp.M_RUN] == ts):
        _d_settle_run(st, par, tables, sid)  # the run before this row is over
    first = s.d_on == 0
    if (flags & _dp._SNAP) != 0 and meta[sid, _dp.M_RUN] != ts:
        s.d_lvl = 0.0  # a new snapshot run: the level is gone unless the run lists it
    key = _dp.apply_row(tables, meta, sid, ts, side, price, qty, flags, q.grid)
    s.d_on = 1
    s.d_known = meta[sid, _dp.M_KNOWN]
    if s.d_quotes == 0:
        _d_best(s, tables, meta, sid, q.grid)
    if first:  # a limit placed before the symbol's first depth row: its level from now on
        s.d_key = _dp.NO_LEVEL
        _d_track(st, par, tables, meta, sid)
        if _d_working(s) != 0:
            s.q_ahead = np.inf  # its queue unknown until its level is seen
    if (flags & _dp._GAP) != 0:  # the book is unknown: so is the level, until the next snapshot run
        s.d_lvl = 0.0
        return 0
    own = (side == _BID) == (s.d_side > 0)
    if key == s.d_key and own:
        s.d_lvl = qty
    if (flags & _dp._SNAP) != 0:
        s.d_pend = 1  # the queue moves once the run is over (the symbol's next row)
        return 0
    if s.p_rest != 0 and s.status == OPEN and qty > 0.0 and s.d_known != 0 and (side == _BID) != (s.side > 0):
        ke = _dp.dkey(s.entry_price, q.grid)  # the remainder of a partially filled entry, crossed
        if (key <= ke) if s.side > 0 else (key >= ke):
            return D_CROSSED_REST
    if s.d_key == _dp.NO_LEVEL or _d_working(s) == 0:
        return 0
    if own:
        if key == s.d_key:
            _q_move(s, q.queue_pow, _q_units(q.contract_usd, qty, price))
        return 0
    if qty > 0.0 and s.d_known != 0 and ((key <= s.d_key) if s.d_side > 0 else (key >= s.d_key)):
        return D_CROSSED
    return 0


@njit(cache=True, nogil=True)
def _d_cross(st, port, par, sid, ts, ledger, counts, code):
    """A depth row crossed the working maker limit of ``sid`` (:func:`_d_row` returned D_CROSSED): a resting
    entry fills at its limit (rule D_RULE_CROSSED) unless its deadline has passed (then it is cancelled, as a
    print would find it); a take-profit in force fills at its price (not when the position's timed exit is
    due, nor before the engine's exits are in force: a print decides those).  Returns EV_* bits."""
    s = st[sid]
    q = par[sid]
    if code == D_CROSSED_REST:  # the rest of a partially filled entry: all of it, unless it is cancelled by now
        _rest_fill(s, ts, s.p_qty - s.p_done)
        return 0
    if s.status == RESTING:
        ev = _settle(st, par, sid, ts, counts)
        if s.status == RESTING and s.entry_kind == ENTRY_LIMIT:
            if _open(st, port, par, sid, ts, s.limit_price, counts, True):
                s.entry_rule = D_RULE_CROSSED
                ev |= EV_FILLED
            else:
                ev |= EV_CANCELLED
        return ev
    if s.status == OPEN and abs(s.tp_price) < np.inf:
        due, _why = _exit_due(s)
        if ts >= due or (q.engine_exits != 0 and ts < _add_sat(s.seen_ns, q.order_latency_ns)):
            return 0
        _close(st, port, par, sid, ts, s.tp_price, TAKE_PROFIT, q.maker_fee, ledger, counts)
        return EV_CLOSED
    return 0


@njit(cache=True, nogil=True)
def new_depth(n_symbols):
    """Empty depth books for :func:`run_exec` (``tables``, ``meta``: liqcore._jit.depth.new_books)."""
    return _dp.new_books(n_symbols)

@njit(cache=True, nogil=True)
def run_exec(ev, sig, st, port, par, ledger, counts, end_ns, tables=None, meta=None):
    """Replay ``ev`` (EVENT_DTYPE, sorted by ts_recv) merged with signals (SIGNAL_DTYPE, sorted by
    (ts_ns, ev_idx, -confidence): :func:`liqcore.strategies.sort_signals`); at the end settle order
    arrivals / entry timeouts due by ``end_ns``.  Returns the number of trade prints processed.  Only
    TRADE rows are prints and FUNDING rows charge funding; QUOTE top-of-book rows are read by the
    symbols under the queue rule (:func:`step_quote`); DEPTH rows, given the depth books ``tables`` and
    ``meta`` (:func:`new_depth`; kept across the parts of a replay), are the L2 book of the symbols under the
    queue rule (:func:`_d_row`: the queue at depth); every other kind (liquidations, marks, open interest)
    only orders the replay."""
    n = ev.shape[0]
    nr = sig.shape[0]
    nsym = st.shape[0]
    r = 0
    prints = 0
    quotes = False  # quotes matter only to symbols under the queue rule
    for j in range(par.shape[0]):
        if par[j].queue != 0:
            quotes = True
    # the next signal's (time, event index), kept in registers
    nt = sig[0].ts_ns if nr > 0 else NEVER
    ni = sig[0].ev_idx if nr > 0 else NEVER
    for i in range(n):
        e = ev[i]
        t = e.ts_recv
        while nt < t or (nt == t and ni < i):
            g = sig[r]
            if tables is not None:
                if 0 <= g.symbol_id < nsym and st[g.symbol_id].d_pend != 0:
                    _d_settle_run(st, par, tables, g.symbol_id)
            kept = _signal_latency(par, g.symbol_id, g.latency_ns)
            step_entry(st, port, par, g.symbol_id, g.ts_ns, g.direction, g.skip_code, g.entry, g.confidence,
                       g.size_mult, g.offset, g.take_profit, g.stop_loss, g.trail, g.stop_price, g.max_hold_ns,
                       g.entry_timeout_ns, g.exit_ns, g.exit_code, g.tag, counts)
            _restore_latency(par, g.symbol_id, kept)
            if tables is not None:
                if 0 <= g.symbol_id < nsym:
                    _d_track(st, par, tables, meta, g.symbol_id)
            r += 1
            if r < nr:
                nt = sig[r].ts_ns
                ni = sig[r].ev_idx
            else:
                nt = NEVER
                ni = NEVER
        k = e.kind
        if tables is not None:
            sid = e.symbol_id
            if k != _DEPTH and 0 <= sid < nsym and st[sid].d_pend != 0:
                _d_settle_run(st, par, tables, sid)
        if k == _TRADE:
            prints += 1
            sid = e.symbol_id
            price = e.price
            if 0 <= sid < nsym:
                s = st[sid]
                status = s.status
                # quiet prints (nothing but the last price changes) are handled here without a call
                if status == FLAT:
                    s.last_price = price
                    s.last_ns = t
                    continue
                if status == OPEN:
                    if t < s.hold_deadline_ns and t < s.exit_due_ns and s.p_rest == 0:
                        lvl, _w = _stop(s)
                        g = par[sid].grid
                        if s.side > 0:
                            quiet = lvl < price and _tk(price, g) < _tk(s.tp_price, g) and not (
                                s.trail > 0.0 and price > s.peak)
                        else:
                            quiet = price < lvl and _tk(price, g) > _tk(s.tp_price, g) and not (
                                s.trail > 0.0 and price < s.peak)
                        if quiet:
                            s.last_price = price
                            s.last_ns = t
                            continue
                elif status == RESTING and s.entry_kind == ENTRY_LIMIT and t < s.entry_deadline_ns \
                        and t < s.exit_due_ns:
                    g = par[sid].grid
                    kp = _tk(price, g)
                    kl = _tk(s.limit_price, g)
                    if (s.side > 0 and kp > kl) or (s.side < 0 and kp < kl):
                        s.last_price = price
                        s.last_ns = t
                        continue
            step_print(st, port, par, sid, t, price, e.qty, ledger, counts)
            if tables is not None:
                if 0 <= sid < nsym:
                    _d_track(st, par, tables, meta, sid)
        elif k == _FUNDING:
            step_funding(st, e.symbol_id, t, e.price)
        elif k == _QUOTE and quotes:
            sid = e.symbol_id
            if 0 <= sid < nsym:
                s = st[sid]
                status = s.status
                # a quote only updates the book in force unless it may move a working maker limit:
                # an arrival due, or a quote on the limit's side at or past its price
                bid_row = e.side == _BID
                quiet = status == FLAT or (status == PENDING and t < s.arrive_ns) or par[sid].queue == 0
                g = par[sid].grid
                if status == RESTING:
                    quiet = quiet or s.entry_kind != ENTRY_LIMIT or bid_row != (s.side > 0) or (
                        _tk(e.price, g) > _tk(s.limit_price, g) if bid_row else _tk(e.price, g) < _tk(s.limit_price, g))
                elif status == OPEN:
                    quiet = quiet or bid_row != (s.side < 0) or (
                        _tk(e.price, g) > _tk(s.tp_price, g) if bid_row else _tk(e.price, g) < _tk(s.tp_price, g))
                if quiet:
                    s.d_quotes = 1
                    if bid_row:
                        s.bid = e.price
                        s.bid_qty = e.qty
                    else:
                        s.ask = e.price
                        s.ask_qty = e.qty
                    continue
                step_quote(st, par, sid, t, e.side, e.price, e.qty, counts)
                if tables is not None:
                    _d_track(st, par, tables, meta, sid)
        elif k == _DEPTH:
            if tables is not None:
                sid = e.symbol_id
                if 0 <= sid < nsym and sid < meta.shape[0] and par[sid].queue != 0:
                    c = _d_row(st, par, tables, meta, sid, t, e.side, e.price, e.qty, e.flags, counts)
                    if c != 0:
                        _d_cross(st, port, par, sid, t, ledger, counts, c)
                        _d_track(st, par, tables, meta, sid)
    while r < nr:
        g = sig[r]
        if tables is not None:
            if 0 <= g.symbol_id < nsym and st[g.symbol_id].d_pend != 0:
                _d_settle_run(st, par, tables, g.symbol_id)
        kept = _signal_latency(par, g.symbol_id, g.latency_ns)
        step_entry(st, port, par, g.symbol_id, g.ts_ns, g.direction, g.skip_code, g.entry, g.confidence,
                   g.size_mult, g.offset, g.take_profit, g.stop_loss, g.trail, g.stop_price, g.max_hold_ns,
                   g.entry_timeout_ns, g.exit_ns, g.exit_code, g.tag, counts)
        _restore_latency(par, g.symbol_id, kept)
        if tables is not None:
            if 0 <= g.symbol_id < nsym:
                _d_track(st, par, tables, meta, g.symbol_id)
        r += 1
    if end_ns != NO_CLOCK:  # a part of a longer replay: its clock step comes at the real end
        step_clock(st, port, par, end_ns, counts)
    return prints


#: one signal at the "use the run's parameters" values, repeated for a run's records (:func:`records_signals`)
_ONE_SIGNAL = empty_signals(1)


def records_signals(rec_t, rec_idx, rec_sid, rec_dom, rec_cid, par) -> np.ndarray:
    """The guide's strategy's signals from CONFIRMED cascade records (already in decision order): each the
    signal :func:`~liqcore.signals.empty_signals` makes, with the record's own fields (:func:`_record_signals`)."""
    return _record_signals(_ONE_SIGNAL, np.asarray(rec_t, np.int64), np.asarray(rec_idx, np.int64),
                           np.asarray(rec_sid, np.int64), np.asarray(rec_dom, np.int64),
                           np.asarray(rec_cid, np.int64), par)


@njit(cache=True, nogil=True)
def _record_signals(one, rec_t, rec_idx, rec_sid, rec_dom, rec_cid, par):
    """Each record's signal: ``one[0]`` (the "use the run's parameters" signal) with the record's time, event
    index, symbol and tag (the cascade id); long on a long-dominant record (1), short on a short-dominant one (2),
    else direction 0 skipped as mixed; a limit entry; the symbol's trail (none for a symbol without parameters).
    (As numpy field assignments this was most of a window step's hand-over of a record; one call here.)"""
    n = rec_t.shape[0]
    sig = np.empty(n, dtype=one.dtype)
    for i in range(n):
        sig[i] = one[0]
        g = sig[i]
        g.ts_ns = rec_t[i]
        g.ev_idx = rec_idx[i]
        g.symbol_id = rec_sid[i]
        d = rec_dom[i]
        g.direction = 1 if d == 1 else (-1 if d == 2 else 0)
        g.skip_code = 0 if d == 1 or d == 2 else SKIP_MIXED
        g.entry = ENTRY_LIMIT
        sid = rec_sid[i]
        if 0 <= sid < par.shape[0]:
            g.trail = par[sid].trail
        g.tag = rec_cid[i]
    return sig


@njit(cache=True, nogil=True)
def entry_code(st, port, par, counts, sig, i):
    """What :func:`step_entry` answers for signal ``sig[i]`` on copies of ``st``, ``port`` and ``counts`` (they
    are left as they are): the window plan's test of a signal refused whatever the prints
    (:func:`liqcore.backtest.passage.refused`).  One call from Python with arrays: twenty scalar arguments from a
    signal record cost a call from Python a third of a millisecond."""
    g = sig[i]
    return step_entry(st.copy(), port.copy(), par, g.symbol_id, g.ts_ns, g.direction, g.skip_code, g.entry,
                      g.confidence, g.size_mult, g.offset, g.take_profit, g.stop_loss, g.trail, g.stop_price,
                      g.max_hold_ns, g.entry_timeout_ns, g.exit_ns, g.exit_code, g.tag, counts.copy())


_NO_SIGNALS = empty_signals(0)


def run_sim(ev, rec_t, rec_idx, rec_sid, rec_dom, rec_cid, st, port, par, ledger, counts, end_ns, depth=None):
    """The guide's strategy on CONFIRMED cascade records (sorted by (decision time, event index)):
    the records become its signals and :func:`run_exec` replays them (``depth``: the depth books,
    :func:`new_depth`, for DEPTH rows).  Returns the number of trade prints processed."""
    # (most calls of a window plan's steps hand out no record: one empty signal array for all of them, which
    # run_exec only reads)
    sig = records_signals(rec_t, rec_idx, rec_sid, rec_dom, rec_cid, par) if len(rec_t) else _NO_SIGNALS
    if depth is not None:
        return run_exec(ev, sig, st, port, par, ledger, counts, end_ns, depth[0], depth[1])
    return run_exec(ev, sig, st, port, par, ledger, counts, end_ns)


def run_cells(ev, rec_t, rec_idx, rec_sid, rec_dom, rec_cid, st, port, par, ledger, counts, end_ns):
    """:func:`run_sim` of several cells at once (a sweep's cells replayed by one window plan): the same rows and
    records, each cell its own parameters and state -- row ``k`` of ``st`` (cells x symbols), ``port`` (cells x 1),
    ``par`` (cells x symbols), ``ledger`` (cells x rows) and ``counts`` (cells x symbols x counts) -- in one call
    (the calls from Python were most of a cell's cost).  Cell ``k`` ends as ``run_sim`` on its row alone leaves
    it.  Returns the number of trade prints processed (each cell's)."""
    return _run_cells(np.ascontiguousarray(ev), _ONE_SIGNAL, _NO_SIGNALS, np.asarray(rec_t, np.int64),
                      np.asarray(rec_idx, np.int64), np.asarray(rec_sid, np.int64), np.asarray(rec_dom, np.int64),
                      np.asarray(rec_cid, np.int64), st, port, par, ledger, counts, end_ns)


@njit(cache=True, nogil=True)
def _run_cells(ev, one, none, rec_t, rec_idx, rec_sid, rec_dom, rec_cid, st, port, par, ledger, counts, end_ns):
    prints = 0
    nsym = st.shape[1]
    # rows a cell is handed with no record that are all quiet for it (run_exec's own tests, row by row: a print that
    # only sets the last price -- a flat symbol, an open position's print inside its stop and take-profit and before
    # its deadlines, a resting limit's print short of its price --, a quote that only sets the book, funding on no
    # position) leave it as one pass of run_exec does: each symbol's last print and last best bid and ask set.  The
    # rows' figures (their last print and quotes, their price ranges) are found once for every cell.
    fig = np.zeros((nsym, 4), np.int64)  # last print, last bid, last ask (row + 1; 0: none), funding rows
    rng = np.empty((nsym, 4), np.float64)  # lowest and highest print, lowest bid, highest ask
    # (the rows' prints; -1: no cell takes the figures, the call hands out records or they do not hold)
    n_prints = _row_figures(ev, nsym, fig, rng) if rec_t.shape[0] == 0 else -1
    for k in range(st.shape[0]):
        if n_prints >= 0 and _quiet_rows(ev, st[k], par[k], fig, rng):
            books = _quotes_read(par[k])
            for j in range(nsym):
                s = st[k, j]
                if fig[j, 0] > 0:
                    s.last_price = ev[fig[j, 0] - 1].price
                    s.last_ns = ev[fig[j, 0] - 1].ts_recv
                if books:
                    if fig[j, 1] > 0:
                        s.d_quotes = 1
                        s.bid = ev[fig[j, 1] - 1].price
                        s.bid_qty = ev[fig[j, 1] - 1].qty
                    if fig[j, 2] > 0:
                        s.d_quotes = 1
                        s.ask = ev[fig[j, 2] - 1].price
                        s.ask_qty = ev[fig[j, 2] - 1].qty
            if end_ns != NO_CLOCK:
                step_clock(st[k], port[k], par[k], end_ns, counts[k])
            prints = n_prints
            continue
        sig = _record_signals(one, rec_t, rec_idx, rec_sid, rec_dom, rec_cid, par[k]) if rec_t.shape[0] else none
        prints = run_exec(ev, sig, st[k], port[k], par[k], ledger[k], counts[k], end_ns)
    return prints


@njit(cache=True, nogil=True)
def _quotes_read(par):
    """Whether run_exec reads QUOTE rows for a cell of parameters ``par`` (a symbol under the queue rule)."""
    for j in range(par.shape[0]):
        if par[j].queue != 0:
            return True
    return False


@njit(cache=True, nogil=True)
def _row_figures(ev, nsym, fig, rng):
    """Per symbol of rows ``ev``: the positions + 1 of the last print, best bid and best ask and the funding rows'
    count (``fig``), and the lowest and highest print, the lowest bid and the highest ask (``rng``); returns the
    rows' trade prints.  -1 where a print or quote is of no symbol of the replay or its price is not a number (its
    rows then go through run_exec)."""
    prints = 0
    for j in range(nsym):
        fig[j, 0] = 0
        fig[j, 1] = 0
        fig[j, 2] = 0
        fig[j, 3] = 0
        rng[j, 0] = np.inf
        rng[j, 1] = -np.inf
        rng[j, 2] = np.inf
        rng[j, 3] = -np.inf
    for i in range(ev.shape[0]):
        e = ev[i]
        k = e.kind
        sid = e.symbol_id
        if k == _FUNDING and 0 <= sid < nsym:
            fig[sid, 3] += 1  # (step_funding charges an open position)
        if k != _TRADE and k != _QUOTE:
            continue
        px = e.price
        if not (0 <= sid < nsym) or px != px:
            return -1
        if k == _TRADE:
            prints += 1
            fig[sid, 0] = i + 1
            if px < rng[sid, 0]:
                rng[sid, 0] = px
            if px > rng[sid, 1]:
                rng[sid, 1] = px
        elif e.side == _BID:
            fig[sid, 1] = i + 1
            if px < rng[sid, 2]:
                rng[sid, 2] = px
        else:
            fig[sid, 2] = i + 1
            if px > rng[sid, 3]:
                rng[sid, 3] = px
    return prints


@njit(cache=True, nogil=True)
def _quiet_rows(ev, st, par, fig, rng):
    """Whether every print and quote of rows ``ev`` (their figures ``fig``, ``rng``: :func:`_row_figures`) is a quiet
    one for a cell (``st``, ``par``) handed no record, by run_exec's tests of each row, taken over the rows' price
    ranges: a flat symbol; an open position (no trailing stop, no rest of a partial entry) whose prints all lie
    inside its stop and take-profit before its deadlines and whose quotes on its take-profit's side stay short of
    it; a resting limit whose prints all lie short of its price before its deadlines, its quotes too."""
    quotes = _quotes_read(par)
    for j in range(st.shape[0]):
        s = st[j]
        if s.status == FLAT:
            continue
        g = par[j].grid
        has_tr = fig[j, 0] > 0
        t_last = ev[fig[j, 0] - 1].ts_recv if has_tr else 0
        q = quotes and par[j].queue != 0
        if s.side == 0 or (s.status == OPEN and fig[j, 3] > 0):
            return False  # (no side: run_exec's own tests; funding charged to an open position)
        if s.status == OPEN:
            if s.trail > 0.0 or s.p_rest != 0:
                return False
            ktp = _tk(s.tp_price, g)
            if has_tr:
                if not (t_last < s.hold_deadline_ns and t_last < s.exit_due_ns):
                    return False
                lvl, _w = _stop(s)
                if s.side > 0:
                    if not (lvl < rng[j, 0] and _tk(rng[j, 1], g) < ktp):
                        return False
                elif not (rng[j, 1] < lvl and _tk(rng[j, 0], g) > ktp):
                    return False
            if q:
                if s.side > 0:
                    if fig[j, 2] > 0 and not (_tk(rng[j, 3], g) < ktp):
                        return False
                elif fig[j, 1] > 0 and not (_tk(rng[j, 2], g) > ktp):
                    return False
        elif s.status == RESTING and s.entry_kind == ENTRY_LIMIT:
            kl = _tk(s.limit_price, g)
            if has_tr:
                if not (t_last < s.entry_deadline_ns and t_last < s.exit_due_ns):
                    return False
                if s.side > 0:
                    if not (_tk(rng[j, 0], g) > kl):
                        return False
                elif not (_tk(rng[j, 1], g) < kl):
                    return False
            if q:
                if s.side > 0:
                    if fig[j, 1] > 0 and not (_tk(rng[j, 2], g) > kl):
                        return False
                elif fig[j, 2] > 0 and not (_tk(rng[j, 3], g) < kl):
                    return False
        else:
            return False
    return True


@njit(cache=True, nogil=True)
def _guide_spec(s):
    """Reset a symbol's signal spec to the guide's (levels from the parameters, no trail / stop price
    / signal exit) -- for entries and positions set from outside a decision."""
    s.entry_kind = ENTRY_LIMIT
    s.hold_ns = -1
    s.hold_reason = TIMEOUT
    s.exit_due_ns = NEVER
    s.exit_due_reason = SIGNAL_EXIT
    s.exit_code = 0
    s.closing = 0
    s.tp_frac = np.nan
    s.sl_frac = np.nan
    s.trail = 0.0
    s.stop_price = np.nan
    s.confidence = 1.0
    s.size_mult = 1.0


# ================================================================================================
# live-shell steps (venue mode, restarts): the shell changes the core's state only through these
# ================================================================================================
@njit(cache=True, nogil=True)
def external_cancel(st, sid, ts, counts):
    """The working entry was cancelled (entry timeout at the venue, operator, shutdown): it counts as
    unfilled and starts no cooldown.  Returns 1 if a working entry was cancelled."""
    if sid < 0 or sid >= st.shape[0]:
        return 0
    s = st[sid]
    if s.status == PENDING or s.status == RESTING:
        s.status = FLAT
        counts[sid, C_UNFILLED] += 1
        return 1
    return 0


@njit(cache=True, nogil=True)
def amend_entry(st, sid, price):
    """The working entry's limit becomes ``price`` (e.g. the venue's price grid).  Returns 1 if amended."""
    if sid < 0 or sid >= st.shape[0] or not price > 0.0:
        return 0
    s = st[sid]
    if s.status == PENDING or s.status == RESTING:
        s.limit_price = price
        return 1
    return 0


@njit(cache=True, nogil=True)
def set_exit_levels(st, sid, tp_price, sl_price, notional):
    """The open position's take-profit and stop-loss prices (and its notional) become the venue's;
    a value <= 0 keeps the current one.  Returns 1 if a position was updated."""
    if sid < 0 or sid >= st.shape[0]:
        return 0
    s = st[sid]
    if s.status != OPEN:
        return 0
    if tp_price > 0.0:
        s.tp_price = tp_price
    if sl_price > 0.0:
        s.sl_price = sl_price
    if notional > 0.0:
        s.notional = notional
    return 1


@njit(cache=True, nogil=True)
def set_working(st, sid, status, side, price, ref_price, cascade_id, signal_ns, arrive_ns, deadline_ns):
    """A flat symbol gets a working entry (``status`` PENDING or RESTING) placed outside a cascade
    decision (restart, operator).  Returns 1 if the entry was set."""
    if sid < 0 or sid >= st.shape[0] or (status != PENDING and status != RESTING):
        return 0
    s = st[sid]
    if s.status != FLAT:
        return 0
    _guide_spec(s)
    s.status = status
    s.side = side
    s.limit_price = price
    s.ref_price = ref_price
    s.cascade_id = cascade_id
    s.signal_ns = signal_ns
    s.arrive_ns = arrive_ns
    s.entry_deadline_ns = deadline_ns
    return 1


@njit(cache=True, nogil=True)
def set_open(st, sid, side, entry_ns, entry_price, tp_price, sl_price, notional, hold_deadline_ns, funding):
    """A flat or working symbol gets an open position held at the venue (restart, external fill of an
    entry the core did not place).  Returns 1 if the position was set."""
    if sid < 0 or sid >= st.shape[0] or not entry_price > 0.0:
        return 0
    s = st[sid]
    if s.status == OPEN:
        return 0
    _guide_spec(s)
    s.status = OPEN
    s.side = side
    s.entry_ns = entry_ns
    s.entry_price = entry_price
    s.tp_price = tp_price
    s.sl_price = sl_price
    s.notional = notional
    s.hold_deadline_ns = hold_deadline_ns
    s.funding = funding
    s.funding_coin = 0.0
    s.seen_ns = entry_ns  # (a position the bot was told of: known from its entry)
    return 1
