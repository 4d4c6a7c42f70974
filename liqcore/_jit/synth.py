"""Numba kernels of the synthetic market: one symbol's liquidations, trades, marks and fundings.

The model, the parameter vector and the order in which uniforms are consumed are specified by the
reference twin ``pysrc/synth.py`` (read it first); this kernel produces the same rows bit for bit.
Everything random comes from the pre-drawn uniform pool ``u`` (the front draws it with
``numpy.random.Generator(PCG64(...))``), so a run is a pure function of ``(p, u)``.

``simulate_symbol(p, u, t_ns, price, qty, side, kind, episode, ep_start, ep_end, ep_side,
ep_cont, ep_notional, ep_n, ep_hl, ext_t, ext_side, reg_t, reg_p, reg_f, state) -> (status, n_rows, n_episodes,
n_uniforms_used)`` fills the
preallocated output arrays; status ``OUT_OF_UNIFORMS`` / ``OUT_OF_ROWS`` / ``OUT_OF_EPISODES`` asks
the caller to grow the pool or the buffers and run again.  ``state`` (``STATE_LEN`` float64, zeros for
a fresh run) receives the loop state at the stop; called again with it (the unused uniforms first, the
episode arrays kept) the run continues: OUT_OF_UNIFORMS and OUT_OF_ROWS stop at the top of a step.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

# parameter vector layout (identical to pysrc.synth.PARAM_NAMES; a test checks it)
PARAM_NAMES = (
    "t_end", "x0", "sigma_s", "mu_b", "eta_b", "beta_b", "mu_s", "n0", "eta_c", "beta_c",
    "diurnal_a", "peak_sod", "t0_sod", "weekend", "t0_wos", "rate_t", "kappa_t", "trade_med", "trade_sig", "scale",
    "bg_mu", "bg_sig", "c_mu", "c_sig", "p_long", "p_same", "bg_p_long", "impact", "p_cont",
    "perm_cont", "perm_rev", "hl_med", "hl_sig", "bg_hl", "taker_bias", "price_dec", "qty_dec",
    "mark_dt", "fund_dt", "fund_first", "fund_mean", "fund_sd", "vol_liq", "vol_hl",
)
N_PARAMS = len(PARAM_NAMES)
(T_END, X0, SIGMA_S, MU_B, ETA_B, BETA_B, MU_S, N0, ETA_C, BETA_C, DIURNAL_A, PEAK_SOD, T0_SOD,
 WEEKEND, T0_WOS, RATE_T, KAPPA_T, TRADE_MED, TRADE_SIG, SCALE, BG_MU, BG_SIG, C_MU, C_SIG, P_LONG, P_SAME,
 BG_P_LONG, IMPACT, P_CONT, PERM_CONT, PERM_REV, HL_MED, HL_SIG, BG_HL, TAKER_BIAS, PRICE_DEC,
 QTY_DEC, MARK_DT, FUND_DT, FUND_FIRST, FUND_MEAN, FUND_SD, VOL_LIQ, VOL_HL) = range(N_PARAMS)

LONG, SHORT, BUY, SELL, NONE = 1, 2, 3, 4, 0
LIQUIDATION, TRADE, MARK, FUNDING = 1, 2, 3, 4
OK, OUT_OF_UNIFORMS, OUT_OF_ROWS, OUT_OF_EPISODES = 0, 1, 2, 3
MAX_DRAWS_PER_STEP = 16

# book state slots (_V: the volatility state excited by cascade liquidations)
_X, _D_BG, _D_C, _T, _V = 0, 1, 2, 3, 4

#: the loop state a run saves in ``state`` when it stops (``state[S_SET] = 1``) and resumes from when
#: called again with it: a run cut into parts (more uniforms, fresh row buffers) gives the whole run's rows
(S_SET, S_T, S_E_B, S_C, S_EP, S_EP_SIDE, S_EP_CONT, S_TH_C, S_NEXT_MARK, S_NEXT_FUND, S_I_EXT, S_I_REG,
 S_N_EP, S_BOOK) = range(14)
STATE_LEN = S_BOOK + 5


@njit(cache=True, inline="always")
def _normal(u, ui):
    u1 = u[ui[0]]
    u2 = u[ui[0] + 1]
    ui[0] += 2
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


@njit(cache=True, inline="always")
def _uniform(u, ui):
    v = u[ui[0]]
    ui[0] += 1
    return v


@njit(cache=True, inline="always")
def _advance(book, t, sigma_s, th_bg, th_c, u, ui, vol_liq, th_v):
    dt = t - book[_T]
    z = _normal(u, ui)
    book[_X] = book[_X] + sigma_s * math.sqrt(1.0 + vol_liq * book[_V]) * math.sqrt(dt) * z
    book[_D_BG] = book[_D_BG] * math.exp(-th_bg * dt)
    book[_D_C] = book[_D_C] * math.exp(-th_c * dt)
    book[_V] = book[_V] * math.exp(-th_v * dt)
    book[_T] = t


@njit(cache=True, inline="always")
def _mid(book):
    return math.exp(book[_X] + book[_D_BG] + book[_D_C])


@njit(cache=True, inline="always")
def _ask_ticks(mid, dec):
    ask = float(math.ceil(mid * 10.0**dec))
    if ask < 2.0:
        ask = 2.0
    return ask


@njit(cache=True, inline="always")
def _to_ticks_round(value, dec):
    k = float(math.floor(value * 10.0**dec + 0.5))
    return max(k, 1.0)


@njit(cache=True, inline="always")
def _liquidation(p, book, side, notional, cascade, ep_cont, pdec, qdec, scale_p, scale_q, out):
    move = p[IMPACT] * math.sqrt(notional / p[SCALE])
    if side == LONG:
        move = -move
    if cascade:
        perm = p[PERM_CONT] if ep_cont == 1 else p[PERM_REV]
        book[_X] = book[_X] + perm * move
        book[_D_C] = book[_D_C] + (1.0 - perm) * move
    else:
        book[_D_BG] = book[_D_BG] + move
    ask = _ask_ticks(_mid(book), pdec)
    k = ask - 1.0 if side == LONG else ask
    price = k / scale_p
    out[0] = price
    out[1] = _to_ticks_round(notional / price, qdec) / scale_q


@njit(cache=True, nogil=True)
def simulate_symbol(p, u, t_ns, price, qty, side, kind, episode,
                    ep_start, ep_end, ep_side, ep_cont_arr, ep_notional, ep_n, ep_hl, ext_t, ext_side,
                    reg_t, reg_p, reg_f, state):
    capacity = t_ns.shape[0]
    max_episodes = ep_start.shape[0]
    ui = np.zeros(1, np.int64)
    book = np.zeros(5, np.float64)
    pq = np.zeros(2, np.float64)

    t_end = p[T_END]
    sigma_s = p[SIGMA_S]
    mu_b = p[MU_B]
    eta_b = p[ETA_B]
    beta_b = p[BETA_B]
    mu_s = p[MU_S]
    n0 = p[N0]
    eta_c = p[ETA_C]
    beta_c = p[BETA_C]
    diurnal_a = p[DIURNAL_A]
    peak_sod = p[PEAK_SOD]
    t0_sod = p[T0_SOD]
    weekend = p[WEEKEND]
    t0_wos = p[T0_WOS]
    rate_t = p[RATE_T]
    kappa_t = p[KAPPA_T]
    scale = p[SCALE]
    pdec = p[PRICE_DEC]
    qdec = p[QTY_DEC]
    mark_dt = p[MARK_DT]
    fund_dt = p[FUND_DT]
    th_bg = math.log(2.0) / p[BG_HL]
    vol_liq = p[VOL_LIQ]
    th_v = math.log(2.0) / p[VOL_HL]
    n_ext = ext_t.shape[0]
    i_ext = 0
    n_reg = reg_t.shape[0]
    i_reg = 0

    n = 0
    n_ep = 0
    status = OK
    book[_X] = p[X0]
    e_b = 0.0
    c = 0.0
    ep = -1
    ep_side_cur = LONG
    ep_cont = 0
    th_c = th_bg
    t = 0.0
    next_mark = 0.0
    next_fund = p[FUND_FIRST]
    fmax = 1.0 + diurnal_a
    scale_p = 10.0**pdec
    scale_q = 10.0**qdec
    n_u = u.shape[0]
    if state[S_SET] != 0.0:  # resume where the previous part stopped (at the top of a step)
        t = state[S_T]
        e_b = state[S_E_B]
        c = state[S_C]
        ep = int(state[S_EP])
        ep_side_cur = int(state[S_EP_SIDE])
        ep_cont = int(state[S_EP_CONT])
        th_c = state[S_TH_C]
        next_mark = state[S_NEXT_MARK]
        next_fund = state[S_NEXT_FUND]
        i_ext = int(state[S_I_EXT])
        i_reg = int(state[S_I_REG])
        n_ep = int(state[S_N_EP])
        for j in range(5):
            book[j] = state[S_BOOK + j]

    while True:
        if n_u - ui[0] < MAX_DRAWS_PER_STEP:
            status = OUT_OF_UNIFORMS
            break
        if n >= capacity:  # a step writes at most one row: stop before it, resumable
            status = OUT_OF_ROWS
            break
        bound = (mu_b + rate_t + mu_s) * fmax + e_b + c * (1.0 + kappa_t)
        t_prop = t + (-math.log(1.0 - _uniform(u, ui)) / bound)
        t_fixed = min(next_mark, next_fund)
        t_ext = ext_t[i_ext] if i_ext < n_ext else math.inf
        if t_ext < t_fixed and t_ext <= t_prop:
            # an externally scheduled shock (contagion from another symbol): opens an episode on
            # the given side; the proposal is discarded like at a fixed-time event
            if t_ext >= t_end:
                i_ext = n_ext
                continue
            dt = t_ext - t
            e_b = e_b * math.exp(-beta_b * dt)
            c = c * math.exp(-beta_c * dt)
            t = t_ext
            _advance(book, t, sigma_s, th_bg, th_c, u, ui, vol_liq, th_v)
            if n_ep >= max_episodes:
                status = OUT_OF_EPISODES
                break
            ep = n_ep
            n_ep += 1
            ep_side_cur = ext_side[i_ext]
            i_ext += 1
            ep_cont = 1 if _uniform(u, ui) < p[P_CONT] else 0
            hl = p[HL_MED] * math.exp(p[HL_SIG] * _normal(u, ui))
            th_c = math.log(2.0) / hl
            ep_start[ep] = int(t * 1e9)
            ep_end[ep] = 0
            ep_side[ep] = ep_side_cur
            ep_cont_arr[ep] = ep_cont
            ep_notional[ep] = 0.0
            ep_n[ep] = 0
            ep_hl[ep] = hl
            c = c + n0 * beta_c
            if _uniform(u, ui) < p[P_SAME]:
                s = ep_side_cur
            else:
                s = SHORT if ep_side_cur == LONG else LONG
            notional = scale * math.exp(p[C_MU] + p[C_SIG] * _normal(u, ui))
            _liquidation(p, book, s, notional, True, ep_cont, pdec, qdec, scale_p, scale_q, pq)
            if n >= capacity:
                status = OUT_OF_ROWS
                break
            t_ns[n] = int(t * 1e9)
            price[n] = pq[0]
            qty[n] = pq[1]
            side[n] = s
            kind[n] = LIQUIDATION
            episode[n] = ep
            n += 1
            ep_end[ep] = int(t * 1e9)
            ep_notional[ep] += pq[0] * pq[1]
            ep_n[ep] += 1
            book[_V] = book[_V] + 1.0
            c = c + eta_c * beta_c
            continue
        if t_fixed <= t_prop:
            if t_fixed >= t_end:
                break
            dt = t_fixed - t
            e_b = e_b * math.exp(-beta_b * dt)
            c = c * math.exp(-beta_c * dt)
            t = t_fixed
            _advance(book, t, sigma_s, th_bg, th_c, u, ui, vol_liq, th_v)
            if n >= capacity:
                status = OUT_OF_ROWS
                break
            if next_fund <= next_mark:
                while i_reg + 1 < n_reg and reg_t[i_reg + 1] <= t:
                    i_reg += 1
                level = reg_f[i_reg] if n_reg > 0 else p[FUND_MEAN]
                rate = math.floor((level + p[FUND_SD] * _normal(u, ui)) * 1e6 + 0.5) / 1e6
                t_ns[n] = int(t * 1e9)
                price[n] = rate
                qty[n] = 0.0
                side[n] = NONE
                kind[n] = FUNDING
                episode[n] = -1
                n += 1
                next_fund = next_fund + fund_dt
            else:
                k = _to_ticks_round(_mid(book), pdec)
                t_ns[n] = int(t * 1e9)
                price[n] = k / scale_p
                qty[n] = 0.0
                side[n] = NONE
                kind[n] = MARK
                episode[n] = -1
                n += 1
                next_mark = next_mark + mark_dt
            continue
        if t_prop >= t_end:
            break
        dt = t_prop - t
        e_b = e_b * math.exp(-beta_b * dt)
        c = c * math.exp(-beta_c * dt)
        t = t_prop
        f = 1.0 + diurnal_a * math.cos(2.0 * math.pi * (t0_sod + t - peak_sod) / 86400.0)
        if (t0_wos + t) % 604800.0 >= 432000.0:
            f = f * weekend
        lam_b = mu_b * f + e_b
        lam_c = c
        lam_t = rate_t * f + kappa_t * c
        lam_s = mu_s * f
        v = _uniform(u, ui) * bound
        if v < lam_b:
            _advance(book, t, sigma_s, th_bg, th_c, u, ui, vol_liq, th_v)
            while i_reg + 1 < n_reg and reg_t[i_reg + 1] <= t:
                i_reg += 1
            p_bg = reg_p[i_reg] if n_reg > 0 else p[BG_P_LONG]
            s = LONG if _uniform(u, ui) < p_bg else SHORT
            notional = scale * math.exp(p[BG_MU] + p[BG_SIG] * _normal(u, ui))
            _liquidation(p, book, s, notional, False, ep_cont, pdec, qdec, scale_p, scale_q, pq)
            if n >= capacity:
                status = OUT_OF_ROWS
                break
            t_ns[n] = int(t * 1e9)
            price[n] = pq[0]
            qty[n] = pq[1]
            side[n] = s
            kind[n] = LIQUIDATION
            episode[n] = -1
            n += 1
            e_b = e_b + eta_b * beta_b
            continue
        is_trade = False
        is_cascade = False
        if v < lam_b + lam_c:
            _advance(book, t, sigma_s, th_bg, th_c, u, ui, vol_liq, th_v)
            is_cascade = True
        elif v < lam_b + lam_c + lam_t:
            _advance(book, t, sigma_s, th_bg, th_c, u, ui, vol_liq, th_v)
            is_trade = True
        elif v < lam_b + lam_c + lam_t + lam_s:
            _advance(book, t, sigma_s, th_bg, th_c, u, ui, vol_liq, th_v)
            if n_ep >= max_episodes:
                status = OUT_OF_EPISODES
                break
            ep = n_ep
            n_ep += 1
            ep_side_cur = LONG if _uniform(u, ui) < p[P_LONG] else SHORT
            ep_cont = 1 if _uniform(u, ui) < p[P_CONT] else 0
            hl = p[HL_MED] * math.exp(p[HL_SIG] * _normal(u, ui))
            th_c = math.log(2.0) / hl
            ep_start[ep] = int(t * 1e9)
            ep_end[ep] = 0
            ep_side[ep] = ep_side_cur
            ep_cont_arr[ep] = ep_cont
            ep_notional[ep] = 0.0
            ep_n[ep] = 0
            ep_hl[ep] = hl
            c = c + n0 * beta_c
            is_cascade = True
        if is_trade:
            lean = p[TAKER_BIAS] * (kappa_t * c / lam_t)
            p_sell = 0.5 + lean if ep_side_cur == LONG else 0.5 - lean
            s = SELL if _uniform(u, ui) < p_sell else BUY
            notional = p[TRADE_MED] * math.exp(p[TRADE_SIG] * _normal(u, ui))
            ask = _ask_ticks(_mid(book), pdec)
            px = (ask if s == BUY else ask - 1.0) / scale_p
            q = _to_ticks_round(notional / px, qdec) / scale_q
            if n >= capacity:
                status = OUT_OF_ROWS
                break
            t_ns[n] = int(t * 1e9)
            price[n] = px
            qty[n] = q
            side[n] = s
            kind[n] = TRADE
            episode[n] = -1
            n += 1
        elif is_cascade:
            if _uniform(u, ui) < p[P_SAME]:
                s = ep_side_cur
            else:
                s = SHORT if ep_side_cur == LONG else LONG
            notional = scale * math.exp(p[C_MU] + p[C_SIG] * _normal(u, ui))
            _liquidation(p, book, s, notional, True, ep_cont, pdec, qdec, scale_p, scale_q, pq)
            if n >= capacity:
                status = OUT_OF_ROWS
                break
            t_ns[n] = int(t * 1e9)
            price[n] = pq[0]
            qty[n] = pq[1]
            side[n] = s
            kind[n] = LIQUIDATION
            episode[n] = ep
            n += 1
            ep_end[ep] = int(t * 1e9)
            ep_notional[ep] += pq[0] * pq[1]
            ep_n[ep] += 1
            book[_V] = book[_V] + 1.0
            c = c + eta_c * beta_c
    state[S_SET] = 1.0
    state[S_T] = t
    state[S_E_B] = e_b
    state[S_C] = c
    state[S_EP] = ep
    state[S_EP_SIDE] = ep_side_cur
    state[S_EP_CONT] = ep_cont
    state[S_TH_C] = th_c
    state[S_NEXT_MARK] = next_mark
    state[S_NEXT_FUND] = next_fund
    state[S_I_EXT] = i_ext
    state[S_I_REG] = i_reg
    state[S_N_EP] = n_ep
    for j in range(5):
        state[S_BOOK + j] = book[j]
    return status, n, n_ep, ui[0]


# ------------------------------------------------------------------- assembling the event array

NS_PER_MS = 1_000_000


@njit(cache=True, nogil=True)
def make_distinct(t_ms, kind, side, price, qty, qty_dec):
    """Within one symbol's rows (time-sorted, ``t_ms`` in ms): a liquidation or trade identical to
    an earlier one of the same millisecond (kind, side, price, qty) gets one more lot, until it is
    unique.  Returns the number of rows changed."""
    n = t_ms.shape[0]
    scale_q = 10.0**qty_dec
    changed = 0
    g = 0
    while g < n:
        ms = t_ms[g]
        h = g + 1
        while h < n and t_ms[h] == ms:
            h += 1
        for i in range(g + 1, h):
            if kind[i] != 1 and kind[i] != 2:
                continue
            bumped = False
            again = True
            while again:
                again = False
                for j in range(g, i):
                    if kind[j] == kind[i] and side[j] == side[i] and price[j] == price[i] and qty[j] == qty[i]:
                        qty[i] = (math.floor(qty[i] * scale_q + 0.5) + 1.0) / scale_q
                        bumped = True
                        again = True
                        break
            if bumped:
                changed += 1
        g = h
    return changed


@njit(cache=True, nogil=True)
def assemble(t_ms, price, qty, side, kind, offsets, sids, venue, out):
    """Merge the per-symbol runs (concatenated; run ``s`` is ``[offsets[s], offsets[s+1])``, each
    sorted by ``t_ms``, event time in ms) into ``out`` (EVENT_DTYPE) by ``ts_event``; ties go to the
    earlier run, then to input order (the order of a stable sort of the concatenation)."""
    k = offsets.shape[0] - 1
    pos = offsets[:-1].copy()
    n = out.shape[0]
    for i in range(n):
        best = -1
        best_t = 0
        for s in range(k):
            if pos[s] < offsets[s + 1]:
                tt = t_ms[pos[s]]
                if best < 0 or tt < best_t:
                    best = s
                    best_t = tt
        j = pos[best]
        pos[best] += 1
        out[i]["ts_event"] = best_t * NS_PER_MS
        out[i]["ts_recv"] = best_t * NS_PER_MS
        out[i]["price"] = price[j]
        out[i]["qty"] = qty[j]
        out[i]["symbol_id"] = sids[best]
        out[i]["side"] = side[j]
        out[i]["kind"] = kind[j]
        out[i]["venue"] = venue
        out[i]["flags"] = 0


@njit(cache=True, nogil=True)
def recv_times(ev, z, feed_latency_ns, batch_ns, n_symbols, flags, liq_flags):
    """Set ``ts_recv`` = push time + latency and ``flags``.  Latency = ``feed_latency_ns *
    exp(0.25 z)`` (truncated to ns; 0 when ``feed_latency_ns`` is 0).  With ``batch_ns > 0``
    liquidations are pushed in batches at the end of each ``batch_ns`` slot of event time, and
    every liquidation of a (symbol, slot) batch shares the latency of its first one."""
    last_batch = np.full(n_symbols, -1, np.int64)
    last_lat = np.zeros(n_symbols, np.int64)
    for i in range(ev.shape[0]):
        lat = 0
        if feed_latency_ns > 0:
            lat = np.int64(feed_latency_ns * math.exp(0.25 * z[i]))
        ts = ev[i]["ts_event"]
        if ev[i]["kind"] == 1:
            ev[i]["flags"] = liq_flags
            if batch_ns > 0:
                s = ev[i]["symbol_id"]
                b = ts // batch_ns
                if b != last_batch[s]:
                    last_batch[s] = b
                    last_lat[s] = lat
                ev[i]["ts_recv"] = (b + 1) * batch_ns + last_lat[s]
                continue
        else:
            ev[i]["flags"] = flags
        ev[i]["ts_recv"] = ts + lat


@njit(cache=True, nogil=True)
def book_quotes(ev, pdec, qdec, depth, thin, hl_s, z, out):
    """The top of book of the synthetic market: before every trade (kind 2) whose price is not the
    best on its side already (a taker BUY prints at the ask, a SELL at the bid; the spread is one
    tick), a quote pair -- a Side.BUY row (best bid) then a Side.SELL row (best ask) at the trade's
    times -- is written to ``out`` ahead of the trade; every other row is copied.  Displayed size of
    each side: ``depth[s] * exp(0.5 z) / (1 + L / thin[s])`` quote units at that price, on the lot
    grid (at least one lot), where ``L`` is the symbol's liquidation notional decaying with half-life
    ``hl_s`` seconds (event time): the book thins in a cascade.  ``z``: one standard normal per
    quote row, consumed in order.  ``pdec``/``qdec``/``depth``/``thin``: per symbol id.  Returns
    the number of rows written."""
    nsym = pdec.shape[0]
    last_bid = np.full(nsym, -1.0)
    liq = np.zeros(nsym)
    liq_t = np.zeros(nsym, np.int64)
    lam = math.log(2.0) / (hl_s * 1e9)
    j = 0
    k = 0
    for i in range(ev.shape[0]):
        e = ev[i]
        s = e["symbol_id"]
        if e["kind"] == 1 and 0 <= s < nsym:
            liq[s] = liq[s] * math.exp(-lam * (e["ts_event"] - liq_t[s])) + e["price"] * e["qty"]
            liq_t[s] = e["ts_event"]
        elif e["kind"] == 2 and 0 <= s < nsym:
            sp = 10.0 ** pdec[s]
            kt = math.floor(e["price"] * sp + 0.5)
            kb = kt - 1.0 if e["side"] == 3 else kt
            if kb != last_bid[s]:
                last_bid[s] = kb
                f = 1.0 + liq[s] * math.exp(-lam * (e["ts_event"] - liq_t[s])) / thin[s]
                sq = 10.0 ** qdec[s]
                for r in range(2):
                    px = (kb + r) / sp
                    q = math.floor(depth[s] * math.exp(0.5 * z[k]) / f / px * sq + 0.5)
                    k += 1
                    o = out[j]
                    o["ts_event"] = e["ts_event"]
                    o["ts_recv"] = e["ts_recv"]
                    o["price"] = px
                    o["qty"] = max(q, 1.0) / sq
                    o["symbol_id"] = s
                    o["side"] = 3 + r
                    o["kind"] = 7
                    o["venue"] = e["venue"]
                    o["flags"] = e["flags"]
                    j += 1
        out[j] = e
        j += 1
    return j
