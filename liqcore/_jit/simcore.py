"""The execution model's step functions (signals -> orders -> fills -> trades) and the queue rule they share:
one call per event of a symbol, on the state layouts of :mod:`liqcore._jit.simdefs`.  The runs over whole arrays
and the queue at depth: :mod:`liqcore._jit.sim`; twin ``pysrc/execmodel.py``.  Rules: docs/maintainers/strategies.md, "The
execution model, rule by rule".

Why one module: the step functions call each other and compile into one state machine; its sections (the
banners below) keep one job each.  May import: numpy, numba, ``types``, ``signals``, ``codes``, ``_jit.depth``,
``_jit.simdefs`` and ``_jit.simgrid`` (the tick, the lot and the queue's unit).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from liqcore.signals import ENTRY_LIMIT, ENTRY_MARKET, NEVER, SKIP_EXIT, SKIP_MIXED, empty_signals  # noqa: F401
from liqcore._jit import depth as _dp
from liqcore.types import Kind
from liqcore._jit.simgrid import _add_sat, _lot_down, _on_grid, _q_fill, _q_units, _snap, _tk  # noqa: F401
from liqcore._jit.simdefs import (
    C_BELOW_MINIMUM, C_BUSY, C_CASCADES, C_COOLDOWN, C_DAILY_TRADES, C_EXTERNAL, C_FILLS, C_HOURS, C_LEVERAGE,
    C_LOSS_LIMIT, C_MAX_POSITIONS, C_MAX_SYMBOLS, C_MIXED, C_NO_REF, C_ORDERS, C_REJECTED, C_SIGNALS,
    C_SKIPPED, C_UNFILLED, EV_CANCELLED, EV_CLOSED, EV_FILLED, EV_REJECTED, EXIT_COUNT_COLUMN, FLAT, MAX_HOLD,
    NO_TIME, NS_PER_DAY, NS_PER_HOUR, OPEN, PENDING, Q_EPS, REPLACED, RESTING, R_BUSY, R_COOLDOWN,
    R_DAILY_TRADES, R_EXIT, R_HOURS, R_LOSS_LIMIT, R_MAX_POSITIONS, R_MAX_SYMBOLS, R_MIXED, R_NO_POSITION,
    R_NO_REF, R_ORDER, R_SKIPPED, R_UNKNOWN_SYMBOL, SIGNAL_EXIT, STOP_LOSS, STOP_PRICE, TAKE_PROFIT, TIMEOUT,
    TRAIL, _BID,
)  # noqa: F401


# ================================================================================================
# helpers
# ================================================================================================
@njit(cache=True, nogil=True)
def _roll(port, ts):
    """Move the loss-limit anchors to the UTC day / ISO week of ``ts``."""
    p = port[0]
    day = ts // NS_PER_DAY
    if day != p.day:
        p.day = day
        p.day_start_equity = p.equity
        week = (day + 3) // 7  # 1970-01-01 was a Thursday: weeks start on Monday 00:00 UTC
        if week != p.week:
            p.week = week
            p.week_start_equity = p.equity


@njit(cache=True, nogil=True)
def _coin_roll(a, ts):
    """Move a margin-coin account's loss-limit anchors (the state ``a`` that keeps it) to the UTC day / ISO week of
    ``ts``, as :func:`_roll` does the USD equity's; an account not yet started (NaN) stays as it is."""
    if a.coin_equity == a.coin_equity:
        day = ts // NS_PER_DAY
        if day != a.coin_day:
            a.coin_day = day
            a.coin_day_start = a.coin_equity
            week = (day + 3) // 7
            if week != a.coin_week:
                a.coin_week = week
                a.coin_week_start = a.coin_equity


@njit(cache=True, nogil=True)
def _coin_start(a, equity0, price, ts):
    """Start a margin-coin account (if not yet): the run's starting equity (USD) in the coin at ``price``."""
    if a.coin_equity != a.coin_equity:
        a.coin_equity = equity0 / price
        _coin_roll(a, ts)


@njit(cache=True, nogil=True)
def _loss_hit(equity, day_start, week_start, daily, weekly):
    """The daily / weekly loss limit reached: the equity down by ``daily`` (``weekly``) x its value at the start of
    the UTC day (ISO week), in the account's own unit (USD, or an inverse symbol's margin coin)."""
    return (daily > 0.0 and equity - day_start <= -daily * day_start) or (
        weekly > 0.0 and equity - week_start <= -weekly * week_start)


@njit(cache=True, nogil=True)
def _q_join(s, qside, px, grid, unseen, cu):
    """A maker limit at ``px`` on the bid (``qside`` 1) or the ask (-1) joins the book: the size
    ahead of it is the size displayed at its price if that is the best on its side, 0 if it improves
    the best, unknown (inf) if it lies behind the best (``unseen`` 1: 0, hftbacktest's rule) or no quote
    is in force.  Prices compared on the grid (:func:`_tk`).  With depth (``d_on``): the size displayed
    at its level is ahead of it (0: no level there), unknown while the book is.  Sizes in the queue's unit
    (:func:`_q_units`, ``cu``)."""
    if s.d_on != 0:
        s.q_traded = 0.0
        if abs(px) < np.inf and s.d_key == _dp.dkey(px, grid) and s.d_side == qside:
            lvl = _q_units(cu, s.d_lvl, px)
            s.q_ahead = lvl if s.d_known != 0 else np.inf
            s.q_level = lvl
        else:  # its level is looked up by the replay before the next row (run_exec's _d_track)
            s.q_ahead = np.inf
            s.q_level = 0.0
            s.d_rejoin = 1
        return
    best = s.bid if qside > 0 else s.ask
    qty = s.bid_qty if qside > 0 else s.ask_qty
    a = np.inf
    if best == best:
        kp = _tk(px, grid)
        kb = _tk(best, grid)
        if kp == kb:
            a = _q_units(cu, qty, best)
        elif (qside > 0 and kp > kb) or (qside < 0 and kp < kb):
            a = 0.0
        elif unseen != 0 and abs(px) < np.inf:
            a = 0.0
    s.q_ahead = a
    s.q_level = a if a < np.inf else 0.0
    s.q_traded = 0.0


@njit(cache=True, nogil=True)
def _q_depth(s, pw, qside, px, grid, cu):
    """The quote on the maker limit's side changed: what it says of the size displayed at ``px``
    moves the queue ahead (risk-averse, ``pw`` 0: only down to that size; power ``pw``: a fall not
    explained by trades is split between ahead and behind, the share f(ahead)/(f(ahead)+f(behind))
    of it ahead, f(x) = x^pw).  A best behind ``px`` says nothing of it; a best past it: none left."""
    kb = _tk(s.bid if qside > 0 else s.ask, grid)
    kp = _tk(px, grid)
    if kb == kp:
        new = _q_units(cu, s.bid_qty if qside > 0 else s.ask_qty, s.bid if qside > 0 else s.ask)
    elif (qside > 0 and kb < kp) or (qside < 0 and kb > kp):
        new = 0.0
    else:
        return
    _q_move(s, pw, new)


@njit(cache=True, nogil=True)
def _q_move(s, pw, new):
    """The size displayed at the working maker limit's level is now ``new``: the queue ahead moves
    (risk-averse ``pw`` 0: only down to ``new``; power ``pw``: a fall not explained by the prints there
    split between ahead and behind; a rise goes behind it)."""
    if s.q_ahead == np.inf:  # first sight of its level: all of the displayed size is ahead
        s.q_ahead = new
        if s.status == RESTING:  # the entry's queue position, first known
            s.q_first = new
    elif pw <= 0.0:
        if new < s.q_ahead:
            s.q_ahead = new
    else:
        chg = s.q_level - new - s.q_traded
        if chg < 0.0:
            if new < s.q_ahead:
                s.q_ahead = new
        else:
            front = s.q_ahead
            back = s.q_level - front
            if back < 0.0:
                back = 0.0
            fb = back ** pw
            den = fb + front ** pw
            prob = fb / den if den > 0.0 else 1.0
            est = front - (1.0 - prob) * chg + min(back - prob * chg, 0.0)
            s.q_ahead = est if est < new else new
    s.q_level = new
    s.q_traded = 0.0


@njit(cache=True, nogil=True)
def _q_hit(s, price, lim, qside, qty, grid, cu):
    """Does a print at ``price`` (size ``qty``) fill the maker limit ``lim`` on side ``qside`` under
    the queue rule?  Through the price: yes; at it (the same tick): it consumes the queue ahead first,
    and fills the whole order once more than that queue has traded."""
    kp = _tk(price, grid)
    kl = _tk(lim, grid)
    if (qside > 0 and kp < kl) or (qside < 0 and kp > kl):
        return True
    if kp == kl:
        qty = _q_units(cu, qty, price)
        s.q_ahead -= qty
        s.q_traded += qty
        # more traded than was ahead; an exact tie (sizes are decimal lots) is not a fill, whatever the
        # last binary digit of the running difference says
        return s.q_ahead < -Q_EPS * max(qty, 1.0)
    return False


@njit(cache=True, nogil=True)
def _settle(st, par, sid, ts, counts):
    """Time-driven transitions of one symbol at ``ts``: order arrival (post-only check against the
    last print), entry timeout, signal exit before the fill.  Returns EV_* bits."""
    s = st[sid]
    ev = 0
    if s.status == PENDING and ts >= s.arrive_ns:
        lp = s.last_price
        if s.entry_kind == ENTRY_LIMIT and par[sid].queue != 0 and (s.ask > 0.0 if s.side > 0 else s.bid > 0.0):
            lp = s.ask if s.side > 0 else s.bid  # queue: post-only against the quote in force (empty side: none)
        kl = _tk(s.limit_price, par[sid].grid)
        kq = _tk(lp, par[sid].grid)
        if s.entry_kind == ENTRY_LIMIT and ((s.side > 0 and kl >= kq) or (s.side < 0 and kl <= kq)):
            s.status = FLAT
            s.free_ns = _add_sat(s.arrive_ns, par[sid].inbound_ns)  # the venue's refusal reaches the bot
            counts[sid, C_REJECTED] += 1
            return EV_REJECTED
        s.status = RESTING
        if s.entry_kind == ENTRY_LIMIT and par[sid].queue != 0:
            _q_join(s, s.side, s.limit_price, par[sid].grid, par[sid].queue_unseen, par[sid].contract_usd)
            s.q_first = s.q_ahead
    if (s.status == RESTING or s.status == PENDING) and (ts >= s.entry_deadline_ns or ts >= s.exit_due_ns):
        s.status = FLAT
        end = s.entry_deadline_ns if s.entry_deadline_ns < s.exit_due_ns else s.exit_due_ns
        s.free_ns = _add_sat(end, par[sid].inbound_ns)  # the cancel's confirmation reaches the bot
        counts[sid, C_UNFILLED] += 1
        ev |= EV_CANCELLED
    return ev


@njit(cache=True, nogil=True)
def tp_level(price, side, tp_frac, take_profit, grid):
    """The take-profit of a position entered at ``price`` on ``side`` (1 long): ``tp_frac`` from the entry (NaN:
    the symbol's ``take_profit``; below 0: none, +-inf), on the grid's tick away from the market (a long's at or
    below, a short's at or above the exact level)."""
    tp = take_profit if tp_frac != tp_frac else tp_frac
    if side > 0:
        return _on_grid(price * (1.0 + tp), -1, grid) if tp >= 0.0 else np.inf
    return _on_grid(price * (1.0 - tp), 1, grid) if tp >= 0.0 else -np.inf


@njit(cache=True, nogil=True)
def _open(st, port, par, sid, ts, price, counts, capped):
    """The entry fills at ``price``; with ``capped`` the leverage cap applies (no room: the entry is
    cancelled, counted ``leverage``).  Returns 1 if a position was opened."""
    s = st[sid]
    q = par[sid]
    p = port[0]
    inv = q.contract_usd > 0.0
    equity = p.equity  # the account's equity in USD: USD, or an inverse symbol's margin coin at the entry's price
    if inv:
        a = st[q.margin_sid]
        _coin_start(a, p.equity0, price, ts)
        equity = a.coin_equity * price
    base = p.notional if p.notional > 0.0 else equity * p.size
    notional = base * s.size_mult
    if capped and p.leverage > 0.0:
        used = 0.0  # the open positions of the same account (the linear symbols', or the same margin coin's)
        for j in range(st.shape[0]):
            if j != sid and st[j].status == OPEN and (par[j].contract_usd > 0.0) == inv and (
                    not inv or par[j].margin_sid == q.margin_sid):
                used += st[j].notional
        room = p.leverage * equity - used
        if not room > 0.0:
            s.status = FLAT
            counts[sid, C_LEVERAGE] += 1
            return 0
        if notional > room:
            notional = room
    if q.contract_usd > 0.0 and q.whole_contracts != 0:  # inverse: whole contracts of contract_usd USD
        n_ct = math.floor(notional / q.contract_usd + 1e-9)
        if n_ct < 1.0:
            s.status = FLAT
            counts[sid, C_BELOW_MINIMUM] += 1
            return 0
        notional = n_ct * q.contract_usd
        s.p_qty = notional / price
    elif q.lot > 0.0:  # the venue's lot: the quantity down to it, and its minimums checked
        raw = notional / price
        if q.max_qty > 0.0 and raw > q.max_qty:
            raw = q.max_qty
        qty = math.floor(raw / q.lot + 1e-9) * q.lot
        if not qty > 0.0 or qty < q.min_qty - 1e-12 or qty * price < q.min_notional - 1e-9:
            s.status = FLAT
            counts[sid, C_BELOW_MINIMUM] += 1
            return 0
        notional = qty * price
        s.p_qty = qty
    else:
        s.p_qty = notional / price
    s.p_done = s.p_qty
    s.p_fills = 1
    s.p_rest = 0
    s.status = OPEN
    s.entry_ns = ts
    s.seen_ns = _add_sat(ts, q.inbound_ns)
    s.entry_price = price
    if s.hold_ns < 0:
        # the run's hold-timeout; 0 = none (strategies other than cascade-mm may leave it unset)
        s.hold_deadline_ns = ts + q.hold_timeout_ns if q.hold_timeout_ns > 0 else NEVER
    elif s.hold_ns == 0:
        s.hold_deadline_ns = NEVER
    else:
        s.hold_deadline_ns = _add_sat(ts, s.hold_ns)
    sl = s.sl_frac
    if sl != sl:
        sl = q.stop_loss
    s.tp_price = tp_level(price, s.side, s.tp_frac, q.take_profit, q.grid)
    if s.side > 0:
        s.sl_price = _on_grid(price * (1.0 - sl), 1, q.grid) if sl >= 0.0 else -np.inf
    else:
        s.sl_price = _on_grid(price * (1.0 + sl), -1, q.grid) if sl >= 0.0 else np.inf
    s.peak = price
    s.notional = notional
    s.funding = 0.0
    s.funding_coin = 0.0
    s.entry_queue = s.q_first if (q.queue != 0 and s.entry_kind == ENTRY_LIMIT and s.q_first < np.inf) else -1.0
    s.entry_rule = (1 if s.d_on != 0 else 0) if (q.queue != 0 and s.entry_kind == ENTRY_LIMIT) else -1
    if q.queue != 0:
        # the take-profit is a maker limit on the other side
        _q_join(s, -s.side, s.tp_price, q.grid, q.queue_unseen, q.contract_usd)
    day = ts // NS_PER_DAY
    if day != s.fill_day:
        s.fill_day = day
        s.day_fills = 0
    s.day_fills += 1
    counts[sid, C_FILLS] += 1
    return 1


@njit(cache=True, nogil=True)
def _close(st, port, par, sid, ts, price, reason, exit_fee, ledger, counts):
    s = st[sid]
    q = par[sid]
    _roll(port, ts)
    p = port[0]
    entry_fee = q.maker_fee if s.entry_kind == ENTRY_LIMIT else q.taker_fee
    contracts = 0.0
    pnl_coin = 0.0
    equity_coin = 0.0
    usd = s.notional  # the ledger's notional (USD); an inverse trade's whole contracts x contract_usd below
    if q.contract_usd > 0.0:  # inverse: P&L and fees in the coin, the USD P&L that coin at the exit price
        contracts = usd / q.contract_usd
        if q.whole_contracts != 0:
            contracts = math.floor(contracts + 0.5)  # (a whole number: n x contract_usd / contract_usd)
            usd = contracts * q.contract_usd
        fee_coin = entry_fee * usd / s.entry_price + exit_fee * usd / price
        pnl_coin = s.side * usd * (1.0 / s.entry_price - 1.0 / price) - fee_coin - s.funding_coin
        pnl = pnl_coin * price
        fees = fee_coin * price / usd
        ret = pnl / usd
        a = st[q.margin_sid]
        _coin_start(a, p.equity0, s.entry_price, ts)
        _coin_roll(a, ts)
        a.coin_equity += pnl_coin
        equity_coin = a.coin_equity
    else:
        fees = entry_fee + exit_fee * price / s.entry_price  # the exit's fee on its own notional
        ret = s.side * (price - s.entry_price) / s.entry_price - fees - s.funding
        pnl = s.notional * ret
    p.equity += pnl
    k = p.n_trades
    if k < ledger.shape[0]:
        row = ledger[k]
        row.symbol_id = sid
        row.venue = q.venue
        row.side = s.side
        row.cascade_id = s.cascade_id
        row.signal_ns = s.signal_ns
        row.arrive_ns = s.arrive_ns
        row.entry_ns = s.entry_ns
        row.exit_ns = ts
        row.exit_reason = reason
        row.ref_price = s.ref_price
        row.entry_price = s.entry_price
        row.exit_price = price
        row.tp_price = s.tp_price
        row.sl_price = s.sl_price
        row.fees = fees
        row.funding = s.funding
        row.ret = ret
        row.notional = usd
        row.pnl = pnl
        row.equity_after = p.equity
        row.entry_kind = s.entry_kind
        row.exit_code = s.exit_code if reason == SIGNAL_EXIT else 0
        row.confidence = s.confidence
        row.size_mult = s.size_mult
        row.queue_ahead = s.entry_queue
        row.fill_rule = s.entry_rule
        row.fills = s.p_fills if s.p_fills > 0 else 1
        row.filled = s.p_done / s.p_qty if s.p_qty > 0.0 else 1.0
        row.contracts = contracts
        row.pnl_coin = pnl_coin
        row.equity_coin_after = equity_coin
    p.n_trades = k + 1
    s.p_rest = 0
    s.status = FLAT
    s.closing = 0
    s.cooldown_until_ns = ts + q.cooldown_ns
    s.free_ns = _add_sat(ts, q.inbound_ns)  # the close's report reaches the bot
    col = C_EXTERNAL
    if 0 < reason < len(EXIT_COUNT_COLUMN):
        col = EXIT_COUNT_COLUMN[reason]
    counts[sid, col] += 1
    if s.q_on != 0:  # a same-symbol replacement: its entry goes out now that the position is closed
        _place_queued(st, par, sid, ts)


@njit(cache=True, nogil=True)
def _stop(s):
    """(level, reason) of the stop in force of an open position: the tightest of stop-loss,
    trailing stop and stop price (ties in that order)."""
    lvl = s.sl_price
    why = STOP_LOSS
    if s.side > 0:
        if s.trail > 0.0:
            t = s.peak * (1.0 - s.trail)
            if t > lvl:
                lvl = t
                why = TRAIL
        if s.stop_price > lvl:  # False for NaN
            lvl = s.stop_price
            why = STOP_PRICE
    else:
        if s.trail > 0.0:
            t = s.peak * (1.0 + s.trail)
            if t < lvl:
                lvl = t
                why = TRAIL
        if s.stop_price < lvl:
            lvl = s.stop_price
            why = STOP_PRICE
    return lvl, why


@njit(cache=True, nogil=True)
def _taker_px(price, side, slip):
    """A taker's fill price: ``price`` moved against the taker by ``slip`` (a fraction)."""
    if slip != 0.0:
        return price * (1.0 + side * slip)
    return price


#: a partially filled entry's remainder within this share of its size is none: the float rounding of its sizes in base
#: units (an inverse order of 231 contracts at 10 USD and 100: 23.1 - 8.1 = 15.000000000000002 left after 81, which a
#: print of 150 contracts, 15.0, did not reach; the dust filled as a third fill at the next print)
DUST = 1e-12


@njit(cache=True, nogil=True)
def _rest_add(s, x):
    """``x`` more of a partially filled entry fills (at its limit, the position's entry price): all of the
    remainder when ``x`` reaches it (within :data:`DUST` of the entry's size)."""
    left = s.p_qty - s.p_done
    if x >= left - DUST * s.p_qty:
        s.p_done = s.p_qty
        s.p_rest = 0
    else:
        s.p_done += x
    s.notional = s.p_done * s.entry_price
    s.p_fills += 1


@njit(cache=True, nogil=True)
def _rest_fill(s, ts, x):
    """At ``ts``, ``x`` more of a partially filled entry's rest would fill: past the entry's timeout or a due
    signal exit the rest is cancelled instead; nothing happens for ``x`` 0."""
    if ts >= s.entry_deadline_ns or ts >= s.exit_due_ns:
        s.p_rest = 0
    elif x > 0.0:
        _rest_add(s, x)


@njit(cache=True, nogil=True)
def _rest_print(s, q, ts, price, qty):
    """A print while the remainder of a partially filled entry rests (first in its queue): a print through its
    price fills all of it, a print at it that much (down to the lot) (:func:`_rest_fill`)."""
    kp = _tk(price, q.grid)
    ke = _tk(s.entry_price, q.grid)
    x = 0.0
    if (s.side > 0 and kp < ke) or (s.side < 0 and kp > ke):
        x = s.p_qty - s.p_done
    elif kp == ke:
        x = _q_fill(q, _q_units(q.contract_usd, qty, price), s.entry_price)
    _rest_fill(s, ts, x)


@njit(cache=True, nogil=True)
def _exit_due(s):
    """(time, reason) of an open position's timed exit: the earlier of its hold deadline and a due signal exit,
    never before the bot knows of the position (its fill + the way back)."""
    due = s.hold_deadline_ns
    why = s.hold_reason
    if s.exit_due_ns < due:
        due = s.exit_due_ns
        why = s.exit_due_reason
    if due < s.seen_ns:  # the bot closes a position only once it knows of it (inbound 0: due >= the fill)
        due = s.seen_ns
    return due, why


# ================================================================================================
# step functions (one per event kind)
# ================================================================================================
@njit(cache=True, nogil=True)
def step_trade(st, port, par, sid, ts, price, ledger, counts):
    """A trade print of symbol ``sid`` at ``ts`` (receive time): arrival/timeout of the entry, entry
    fill, exits; then the print becomes the symbol's last price.  Returns EV_* bits.  A print of
    unknown size (:func:`step_print` with size 0): under the queue rule it fills only through."""
    return step_print(st, port, par, sid, ts, price, 0.0, ledger, counts)


@njit(cache=True, nogil=True)
def step_print(st, port, par, sid, ts, price, qty, ledger, counts):
    """:func:`step_trade` with the print's size ``qty`` (the queue rule consumes the queue with it)."""
    if sid < 0 or sid >= st.shape[0]:
        return 0
    s = st[sid]
    ev = 0
    if s.status == PENDING or s.status == RESTING:
        ev = _settle(st, par, sid, ts, counts)
    status = s.status
    if status == RESTING:
        q = par[sid]
        if s.entry_kind == ENTRY_MARKET:
            if _open(st, port, par, sid, ts, _taker_px(price, s.side, q.slippage), counts, True):
                ev |= EV_FILLED
            else:
                ev |= EV_CANCELLED
        else:
            lim = s.limit_price
            part = -1.0
            if q.queue != 0:
                hit = _q_hit(s, price, lim, s.side, qty, q.grid, q.contract_usd)
                if hit and q.partial != 0 and _tk(price, q.grid) == _tk(lim, q.grid):
                    part = _q_fill(q, -s.q_ahead, lim)  # printed beyond the queue ahead: that much of it fills
                    if not part > 0.0:
                        hit = False  # less than a lot: nothing fills yet
            else:
                kp = _tk(price, q.grid)
                kl = _tk(lim, q.grid)
                if s.side > 0:
                    hit = kp < kl or (q.touch != 0 and kp == kl)
                else:
                    hit = kp > kl or (q.touch != 0 and kp == kl)
            if hit:
                if _open(st, port, par, sid, ts, lim, counts, True):
                    ev |= EV_FILLED
                    if q.queue != 0:  # a print through the limit filled it, not its queue (fill_rule "print")
                        kp = _tk(price, q.grid)
                        kl = _tk(lim, q.grid)
                        if (kp < kl) if s.side > 0 else (kp > kl):
                            s.entry_rule = -1
                    if part > 0.0 and part < s.p_qty - DUST * s.p_qty:  # partial: the rest rests, first in its queue
                        s.p_done = part
                        s.notional = part * lim
                        s.p_rest = 1
                else:
                    ev |= EV_CANCELLED
    elif status == OPEN:
        q = par[sid]
        if s.p_rest != 0:
            _rest_print(s, q, ts, price, qty)
        due, why = _exit_due(s)
        if ts >= due:
            _close(st, port, par, sid, ts, _taker_px(price, -s.side, q.slippage), why, q.taker_fee, ledger, counts)
            ev |= EV_CLOSED
        elif q.engine_exits != 0 and ts < _add_sat(s.seen_ns, q.order_latency_ns):
            # the engine's exits are not in force yet (it has not learnt of the fill, or its exit orders
            # are on their way out): the trailing stop's peak still follows the prints the engine will read
            if s.trail > 0.0 and ((s.side > 0 and price > s.peak) or (s.side < 0 and price < s.peak)):
                s.peak = price
        else:
            if s.trail > 0.0 and ((s.side > 0 and price > s.peak) or (s.side < 0 and price < s.peak)):
                s.peak = price
            lvl, why = _stop(s)
            kp = _tk(price, q.grid)
            kt = _tk(s.tp_price, q.grid)
            if s.side > 0:
                if price <= lvl:  # the stop is checked before the take-profit
                    _close(st, port, par, sid, ts, _taker_px(price, -1, q.slippage), why, q.taker_fee, ledger, counts)
                    ev |= EV_CLOSED
                elif (kp > kt or (q.touch != 0 and kp == kt)) if q.queue == 0 else \
                        (kp >= kt and _q_hit(s, price, s.tp_price, -1, qty, q.grid, q.contract_usd)):
                    _close(st, port, par, sid, ts, s.tp_price, TAKE_PROFIT, q.maker_fee, ledger, counts)
                    ev |= EV_CLOSED
            else:
                if price >= lvl:
                    _close(st, port, par, sid, ts, _taker_px(price, 1, q.slippage), why, q.taker_fee, ledger, counts)
                    ev |= EV_CLOSED
                elif (kp < kt or (q.touch != 0 and kp == kt)) if q.queue == 0 else \
                        (kp <= kt and _q_hit(s, price, s.tp_price, 1, qty, q.grid, q.contract_usd)):
                    _close(st, port, par, sid, ts, s.tp_price, TAKE_PROFIT, q.maker_fee, ledger, counts)
                    ev |= EV_CLOSED
    s.last_price = price
    s.last_ns = ts
    return ev


@njit(cache=True, nogil=True)
def step_exit(st, par, sid, ts, exit_code, tag):
    """An exit notice decided at ``ts`` for the signal tagged ``tag`` of symbol ``sid``: the strategy's
    exit condition became true now.  The symbol's working entry or position opened by that signal
    gets its signal exit due at ``ts + order-latency`` -- exactly what the signal's own ``exit_ns =
    ts`` would have set (a position already being replaced keeps the earlier of the two times; on a
    tie the signal exit wins, as when the signal carried it).  Not a decision: nothing is counted.
    Returns R_EXIT, or R_NO_POSITION when that signal holds nothing (never placed, or already done)."""
    s = st[sid]
    if s.q_on != 0 and s.q_tag == tag:  # the queued entry of a same-symbol replacement: its exit time
        if ts <= s.q_exit_ns:
            s.q_exit_ns = ts
            s.q_exit_code = exit_code
        return R_EXIT
    if s.status == FLAT or s.cascade_id != tag:
        return R_NO_POSITION
    due = _add_sat(ts, par[sid].order_latency_ns)
    if due <= s.exit_due_ns:
        s.exit_due_ns = due
        s.exit_due_reason = SIGNAL_EXIT
        s.exit_code = exit_code
    return R_EXIT


@njit(cache=True, nogil=True)
def _replaces_same(s, p, direction, confidence):
    """Whether a signal on a symbol that holds a working entry or position replaces it (``replace-same``):
    an entry signal of strictly higher confidence than the held one, not while that one is already
    being closed."""
    return p.replace_same != 0 and direction != 0 and s.closing == 0 and s.q_on == 0 and confidence > s.confidence


@njit(cache=True, nogil=True)
def _queue_entry(s, q, ts, direction, entry, confidence, size_mult, offset, take_profit, stop_loss, trail,
                 stop_price, max_hold_ns, entry_timeout_ns, exit_ns, exit_code, tag):
    """A same-symbol replacement decided at ``ts``: the open position closes at the first print at/after
    ``ts + order-latency`` (taker, reason ``replaced``; an earlier timed exit keeps its time) and the
    new signal's entry waits in the ``q_*`` fields until that close (:func:`_place_queued`)."""
    s.closing = 1
    due = _add_sat(ts, q.order_latency_ns)
    if due < s.exit_due_ns:
        s.exit_due_ns = due
        s.exit_due_reason = REPLACED
    s.q_on = 1
    s.q_side = 1 if direction > 0 else -1
    s.q_entry = entry
    s.q_tag = tag
    s.q_signal_ns = ts
    s.q_hold_ns = max_hold_ns
    s.q_timeout_ns = entry_timeout_ns
    s.q_exit_ns = exit_ns
    s.q_exit_code = exit_code
    s.q_confidence = confidence
    s.q_size_mult = size_mult
    s.q_offset = offset
    s.q_tp = take_profit
    s.q_sl = stop_loss
    s.q_trail = trail
    s.q_stop_price = stop_price
    s.q_latency_ns = q.order_latency_ns  # the signal's own latency (in force during its step), kept for the send


@njit(cache=True, nogil=True)
def _place_queued(st, par, sid, ts):
    """The queued entry of a same-symbol replacement is sent when the replaced position closes at ``ts``:
    it arrives the signal's order latency later (its own drawn latency, else ``order-latency``), its entry
    timeout runs from ``ts``, a limit entry's reference is the last print before the close; everything
    else is the signal's (its decision time stays ``signal_ns``; its signal exit, if any, is due that
    latency after its ``exit_ns``)."""
    s = st[sid]
    q = par[sid]
    s.q_on = 0
    side = s.q_side
    s.side = side
    s.ref_price = s.last_price
    s.entry_kind = s.q_entry
    off = q.offset if s.q_offset != s.q_offset else s.q_offset
    if s.q_entry == ENTRY_LIMIT:
        r = _snap(s.ref_price, q.grid)
        s.limit_price = _on_grid(r * (1.0 - off) if side > 0 else r * (1.0 + off), side, q.grid)
    else:
        s.limit_price = np.nan
    s.status = PENDING
    s.cascade_id = s.q_tag
    s.signal_ns = s.q_signal_ns
    lat = s.q_latency_ns
    s.arrive_ns = ts + lat
    s.entry_deadline_ns = ts + (q.entry_timeout_ns if s.q_timeout_ns < 0 else s.q_timeout_ns)
    tp = s.q_tp
    sl = s.q_sl
    s.tp_frac = tp if (tp != tp or tp > 0.0) else -1.0
    s.sl_frac = sl if (sl != sl or sl > 0.0) else -1.0
    s.trail = s.q_trail if s.q_trail > 0.0 else 0.0
    s.stop_price = s.q_stop_price
    s.hold_ns = s.q_hold_ns
    s.hold_reason = TIMEOUT if s.q_hold_ns < 0 else MAX_HOLD
    s.exit_due_ns = NEVER if s.q_exit_ns == NEVER else _add_sat(s.q_exit_ns, lat)
    s.exit_due_reason = SIGNAL_EXIT
    s.exit_code = s.q_exit_code
    s.closing = 0
    s.confidence = s.q_confidence
    s.size_mult = s.q_size_mult


@njit(cache=True, nogil=True)
def step_entry(st, port, par, sid, ts, direction, skip_code, entry, confidence, size_mult, offset,
               take_profit, stop_loss, trail, stop_price, max_hold_ns, entry_timeout_ns, exit_ns, exit_code,
               tag, counts):
    """One signal (the fields of SIGNAL_DTYPE) of symbol ``sid`` decided at ``ts``.  Places an entry
    (R_ORDER) or returns the reason nothing was placed (R_*)."""
    if sid < 0 or sid >= st.shape[0]:
        return R_UNKNOWN_SYMBOL
    if direction == 0 and skip_code == SKIP_EXIT:
        return step_exit(st, par, sid, ts, exit_code, tag)
    counts[sid, C_CASCADES] += 1
    s = st[sid]
    q = par[sid]
    p = port[0]
    _settle(st, par, sid, ts, counts)
    if direction == 0 and skip_code != SKIP_MIXED:  # the strategy's own decision not to trade
        counts[sid, C_SKIPPED] += 1
        return R_SKIPPED
    same = 0
    if s.status != FLAT:
        if not _replaces_same(s, p, direction, confidence):
            counts[sid, C_BUSY] += 1
            return R_BUSY
        same = 1
    if same == 0 and ts < s.cooldown_until_ns:
        counts[sid, C_COOLDOWN] += 1
        return R_COOLDOWN
    if same == 0 and ts < s.free_ns:  # the bot has not yet heard that its entry / position ended
        counts[sid, C_BUSY] += 1
        return R_BUSY
    if direction == 0:  # mixed: counted after busy and cooldown, as the guide's strategy always did
        counts[sid, C_MIXED] += 1
        return R_MIXED
    counts[sid, C_SIGNALS] += 1
    if q.hours_from >= 0:
        hour = (ts // NS_PER_HOUR) % 24
        if q.hours_from < q.hours_to:
            ok = q.hours_from <= hour < q.hours_to
        else:
            ok = hour >= q.hours_from or hour < q.hours_to
        if not ok:
            counts[sid, C_HOURS] += 1
            return R_HOURS
    _roll(port, ts)
    if q.contract_usd > 0.0:  # an inverse symbol: the limits of its margin coin's account, in the coin
        a = st[q.margin_sid]
        _coin_roll(a, ts)
        hit = a.coin_equity == a.coin_equity and _loss_hit(a.coin_equity, a.coin_day_start, a.coin_week_start,
                                                           p.daily_loss, p.weekly_loss)
    else:
        hit = _loss_hit(p.equity, p.day_start_equity, p.week_start_equity, p.daily_loss, p.weekly_loss)
    if hit:
        counts[sid, C_LOSS_LIMIT] += 1
        return R_LOSS_LIMIT
    if q.daily_trades > 0 and s.fill_day == ts // NS_PER_DAY and s.day_fills >= q.daily_trades:
        counts[sid, C_DAILY_TRADES] += 1
        return R_DAILY_TRADES
    busy = 0
    victim = -1
    for j in range(st.shape[0]):
        if j != sid:
            if st[j].status == PENDING or st[j].status == RESTING:
                _settle(st, par, j, ts, counts)
            o = st[j]
            if o.status != FLAT and o.closing == 0:
                busy += 1
                if victim < 0:
                    victim = j
                else:
                    v = st[victim]
                    if o.confidence < v.confidence or (o.confidence == v.confidence and o.signal_ns < v.signal_ns):
                        victim = j
            elif o.status != FLAT and o.q_on != 0:  # closing for a same-symbol replacement: its slot stays taken
                busy += 1
    cap = p.max_symbols
    over = R_MAX_SYMBOLS
    if busy < p.max_symbols:
        over = -1
        if p.max_positions > 0 and busy >= p.max_positions:
            over = R_MAX_POSITIONS
            cap = p.max_positions
    if over < 0:
        victim = -1
    elif not (p.replace != 0 and victim >= 0 and st[victim].confidence < confidence and busy - 1 < cap
              and (p.max_positions <= 0 or busy - 1 < p.max_positions) and busy - 1 < p.max_symbols):
        if over == R_MAX_SYMBOLS:
            counts[sid, C_MAX_SYMBOLS] += 1
        else:
            counts[sid, C_MAX_POSITIONS] += 1
        return over
    if entry == ENTRY_LIMIT and (s.last_ns == NO_TIME or ts - s.last_ns > q.max_ref_age_ns):
        counts[sid, C_NO_REF] += 1
        return R_NO_REF
    if victim >= 0:
        v = st[victim]
        if v.status == OPEN:
            v.closing = 1
            due = _add_sat(ts, par[victim].order_latency_ns)
            if due < v.exit_due_ns:
                v.exit_due_ns = due
                v.exit_due_reason = REPLACED
        else:
            v.status = FLAT
            counts[victim, C_UNFILLED] += 1
    if same != 0:
        if s.status == OPEN:  # closed first (taker, reason replaced); the new entry is placed after the close
            _queue_entry(s, par[sid], ts, direction, entry, confidence, size_mult, offset, take_profit, stop_loss,
                         trail, stop_price, max_hold_ns, entry_timeout_ns, exit_ns, exit_code, tag)
            counts[sid, C_ORDERS] += 1
            return R_ORDER
        s.status = FLAT  # a working entry is cancelled and the new one takes its place at once
        counts[sid, C_UNFILLED] += 1
    ref = s.last_price
    side = 1 if direction > 0 else -1
    off = q.offset if offset != offset else offset
    s.side = side
    s.ref_price = ref
    s.entry_kind = entry
    if entry == ENTRY_LIMIT:
        r = _snap(ref, q.grid)
        s.limit_price = _on_grid(r * (1.0 - off) if side > 0 else r * (1.0 + off), side, q.grid)
    else:
        s.limit_price = np.nan
    s.status = PENDING
    s.cascade_id = tag
    s.signal_ns = ts
    s.arrive_ns = ts + q.order_latency_ns
    s.entry_deadline_ns = ts + (q.entry_timeout_ns if entry_timeout_ns < 0 else entry_timeout_ns)
    s.tp_frac = take_profit if (take_profit != take_profit or take_profit > 0.0) else -1.0
    s.sl_frac = stop_loss if (stop_loss != stop_loss or stop_loss > 0.0) else -1.0
    s.trail = trail if trail > 0.0 else 0.0
    s.stop_price = stop_price
    s.hold_ns = max_hold_ns
    s.hold_reason = TIMEOUT if max_hold_ns < 0 else MAX_HOLD
    if exit_ns == NEVER:
        s.exit_due_ns = NEVER
    else:
        s.exit_due_ns = _add_sat(exit_ns, q.order_latency_ns)
    s.exit_due_reason = SIGNAL_EXIT
    s.exit_code = exit_code
    s.closing = 0
    s.confidence = confidence
    s.size_mult = size_mult
    counts[sid, C_ORDERS] += 1
    return R_ORDER


@njit(cache=True, nogil=True)
def step_signal(st, port, par, sid, ts, dominant, cascade_id, ledger, counts):
    """A CONFIRMED cascade of symbol ``sid`` decided at ``ts`` (the guide's strategy): dominant long
    -> a long limit entry, short -> a short one, anything else -> mixed.  See :func:`step_entry`."""
    if sid < 0 or sid >= st.shape[0]:
        return R_UNKNOWN_SYMBOL
    d = 1 if dominant == 1 else (-1 if dominant == 2 else 0)
    return step_entry(st, port, par, sid, ts, d, SKIP_MIXED, ENTRY_LIMIT, 1.0, 1.0, np.nan, np.nan, np.nan,
                      par[sid].trail, np.nan, -1, -1, NEVER, 0, cascade_id, counts)


@njit(cache=True, nogil=True)
def step_funding(st, sid, ts, rate):
    """A funding event: an open position pays ``side x rate x last / entry`` (fraction of its notional)."""
    if sid < 0 or sid >= st.shape[0]:
        return
    s = st[sid]
    if s.status == OPEN and s.entry_price > 0.0 and s.last_price == s.last_price:
        s.funding += s.side * rate * s.last_price / s.entry_price
        s.funding_coin += s.side * rate * s.notional / s.last_price  # an inverse contract's, in the coin


@njit(cache=True, nogil=True)
def step_quote(st, par, sid, ts, side, price, qty, counts):
    """A top-of-book row of symbol ``sid`` (``side`` 3 = Side.BUY: the best bid, else the best ask;
    ``price``, displayed ``qty``).  An order due to arrive by ``ts`` arrives first (the post-only
    check sees the quote in force before this row); then the row is in force and, under the queue
    rule, moves the queue of the working maker limit.  Returns EV_* bits."""
    if sid < 0 or sid >= st.shape[0]:
        return 0
    s = st[sid]
    ev = 0
    if s.status == PENDING and ts >= s.arrive_ns:
        ev = _settle(st, par, sid, ts, counts)
    if side == _BID:
        s.bid = price
        s.bid_qty = qty
    else:
        s.ask = price
        s.ask_qty = qty
    s.d_quotes = 1
    q = par[sid]
    if q.queue != 0 and s.d_on == 0:  # with depth, the depth decides the queue
        if s.status == RESTING and s.entry_kind == ENTRY_LIMIT:
            if (side == _BID) == (s.side > 0):
                _q_depth(s, q.queue_pow, s.side, s.limit_price, q.grid, q.contract_usd)
        elif s.status == OPEN and s.tp_price == s.tp_price and abs(s.tp_price) < np.inf:
            if (side == _BID) == (s.side < 0):
                _q_depth(s, q.queue_pow, -s.side, s.tp_price, q.grid, q.contract_usd)
    return ev


@njit(cache=True, nogil=True)
def step_clock(st, port, par, ts, counts):
    """A clock tick: order arrivals and entry timeouts due by ``ts`` on every symbol, loss-limit day
    roll.  Returns EV_* bits (or-ed over symbols)."""
    ev = 0
    for j in range(st.shape[0]):
        if st[j].status == PENDING or st[j].status == RESTING:
            ev |= _settle(st, par, j, ts, counts)
    _roll(port, ts)
    return ev


@njit(cache=True, nogil=True)
def step_price(st, sid, ts, price):
    """Record a print as the symbol's last price without simulating fills (live venue mode)."""
    if 0 <= sid < st.shape[0]:
        st[sid].last_price = price
        st[sid].last_ns = ts


@njit(cache=True, nogil=True)
def external_entry_fill(st, port, par, sid, ts, price, counts):
    """Venue mode: the entry filled at ``price``.  Returns 1 if a working entry became a position."""
    s = st[sid]
    if s.status == PENDING or s.status == RESTING:
        _open(st, port, par, sid, ts, price, counts, False)
        return 1
    return 0


@njit(cache=True, nogil=True)
def external_close(st, port, par, sid, ts, price, reason, ledger, counts):
    """Venue mode: the position closed at ``price`` (reason TAKE_PROFIT is charged the maker fee,
    everything else the taker fee).  Returns 1 if a position was closed (a ledger row was written)."""
    s = st[sid]
    if s.status != OPEN:
        return 0
    q = par[sid]
    fee = q.maker_fee if reason == TAKE_PROFIT else q.taker_fee
    _close(st, port, par, sid, ts, price, reason, fee, ledger, counts)
    return 1


@njit(cache=True, nogil=True)
def external_reject(st, sid, ts, counts):
    """Venue mode: the entry was rejected or cancelled by the venue (no cooldown)."""
    s = st[sid]
    if s.status == PENDING or s.status == RESTING:
        s.status = FLAT
        counts[sid, C_REJECTED] += 1
        return 1
    return 0


# ================================================================================================
# the backtest loop
# ================================================================================================
@njit(cache=True, nogil=True)
def _signal_latency(par, sid, latency_ns):
    """A signal's own order latency (``latency_ns`` > 0, drawn from a measured distribution) in force for
    its step: sets the symbol's ``order_latency_ns``; returns the value it replaced for
    :func:`_restore_latency` (-1: nothing changed)."""
    if latency_ns <= 0 or sid < 0 or sid >= par.shape[0]:
        return -1
    kept = par[sid].order_latency_ns
    par[sid].order_latency_ns = latency_ns
    return kept


@njit(cache=True, nogil=True)
def _restore_latency(par, sid, kept):
    if kept >= 0:
        par[sid].order_latency_ns = kept


#: ``end_ns`` of :func:`run_exec` for one part of a replay cut in time: no end-of-run clock step (the twin's
#: ``end_ns=None``); the last part gets the real end
NO_CLOCK = -(2**63)
