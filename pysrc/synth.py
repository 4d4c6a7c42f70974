"""Reference twin of ``liqcore._jit.synth``: the synthetic market of one symbol, written for clarity.

This is the specification of the generator and the oracle the Numba kernel is checked against
(bit for bit, on short horizons).  Both consume the SAME pool of pre-drawn uniforms (drawn by the
front with ``numpy.random.Generator(PCG64(...))``) in the same order, and use the same float
expressions, so their outputs are identical.

The model of one symbol, in continuous time ``t`` (seconds from the start of the horizon):

* Background liquidations: a self-exciting (Hawkes) process with exponential kernel,
  ``lambda_b(t) = mu_b * f(t) + E_b(t)``; every background liquidation adds ``eta_b * beta_b`` to
  ``E_b``, which decays at rate ``beta_b`` (branching ratio ``eta_b < 1``).  Notionals are
  lognormal (``scale * exp(bg_mu + bg_sig * Z)``), sides LONG with probability ``bg_p_long`` (or,
  when a positioning regime is given, the regime's long share in force: ``reg_p`` below).
* Cascade episodes: shocks arrive as a Poisson process of rate ``mu_s * f(t)``.  A shock opens an
  episode (side LONG w.p. ``p_long``; "continues" w.p. ``p_cont``; a reversion half-life drawn
  lognormally), emits one cascade liquidation at once and adds ``n0 * beta_c`` to the cascade
  intensity ``C(t)``.  Every cascade liquidation adds ``eta_c * beta_c`` to ``C``, which decays at
  rate ``beta_c``: a second Hawkes channel, branching ratio ``eta_c < 1``.  Cascade notionals are
  heavier (``scale * exp(c_mu + c_sig * Z)``) and mostly on the episode's side (``p_same``).
* Price: ``log p = x + d_bg + d_c``.  ``x`` is a Brownian motion (``sigma_s`` per sqrt second)
  plus the permanent part of forced-flow impact; ``d_bg`` and ``d_c`` are transient displacements
  that decay exponentially (background half-life ``bg_hl``; cascade: the episode's half-life).  A
  liquidation of notional ``N`` moves the log price by ``impact * sqrt(N / scale)`` (square-root
  impact; down for a LONG liquidated, up for a SHORT).  A cascade liquidation puts the share
  ``perm_cont`` (episode continues) or ``perm_rev`` (episode snaps back) of it into ``x`` and the
  rest into ``d_c``; background impact is all transient.  So cascades overshoot and mostly revert.
* Trades: Poisson arrivals of rate ``rate_t * f(t) + kappa_t * C(t)`` (activity raises the print
  rate); lognormal notionals; the taker side leans with the forced flow in proportion to the
  cascade share of the trade intensity.  A taker BUY prints at the ask, a SELL at the bid.
* Mark prices every ``mark_dt`` seconds (the mid on the tick grid) and funding every ``fund_dt``
  seconds (first at ``fund_first``), rate ``fund_mean + fund_sd * Z`` on a 1e-6 grid (with a
  positioning regime: the regime's funding level in force, ``reg_f``, instead of ``fund_mean``).
* Positioning regime (optional, exogenous: drawn by the front from its own seed): piecewise constant,
  ``reg_p[i]`` / ``reg_f[i]`` in force from ``reg_t[i]`` seconds (the first from the start) -- the
  long share of background liquidations and the funding level.  It consumes no uniform.
* ``f(t) = 1 + diurnal_a * cos(2 pi (t0_sod + t - peak_sod) / 86400)``: a daily activity cycle,
  times ``weekend`` (<= 1) on Saturdays and Sundays UTC (``(t0_wos + t) mod 604800 >= 432000``).

Simulation: Ogata thinning.  Every intensity only decays between events, so the sum of the
current intensities (with ``f`` at its maximum ``1 + diurnal_a``) bounds the total intensity until
the next event.  A proposal ``t + Exp(bound)`` is accepted as one of the components in proportion
to its intensity, or rejected.  Marks and funding are fixed-time events processed before a
proposal that would pass them (the proposal is then discarded; it is memoryless).

Prices and quantities are integers of ticks / lots divided by a power of ten
(``price = k / 10**price_dec``), so every price is on the tick grid and formats exactly.

Randomness: ``u`` is a float64 array of uniforms in [0, 1).  ``exponential = -log(1 - u) / rate``;
``normal = sqrt(-2 log(1 - u1)) * cos(2 pi u2)`` (Box-Muller, one normal per two uniforms).

Result columns (one row per event, in time order): ``t_ns`` (int64 ns from the start), ``price``,
``qty``, ``side``, ``kind``, ``episode`` (cascade episode index of a cascade liquidation, else -1).
Episodes: start/end time (ns from the start; end = last cascade liquidation), side, continues flag,
total notional, number of liquidations, half-life (s).
"""
from __future__ import annotations

import math

import numpy as np

# ---- the parameter vector layout (shared with the kernel; a test checks they agree) -------------
PARAM_NAMES = (
    "t_end",  # horizon, seconds
    "x0",  # log of the starting price
    "sigma_s",  # diffusion, log-price per sqrt(second)
    "mu_b",  # background liquidation immigrant rate, 1/s
    "eta_b",  # background branching ratio
    "beta_b",  # background kernel decay rate, 1/s
    "mu_s",  # cascade shock rate, 1/s
    "n0",  # expected cascade immigrants per shock (besides the shock's own liquidation)
    "eta_c",  # cascade branching ratio
    "beta_c",  # cascade kernel decay rate, 1/s
    "diurnal_a",  # amplitude of the daily activity cycle
    "peak_sod",  # second of the UTC day where activity peaks
    "t0_sod",  # second of the UTC day at t = 0
    "weekend",  # activity factor on Saturdays and Sundays (UTC), <= 1
    "t0_wos",  # second of the UTC week (Monday 00:00 = 0) at t = 0
    "rate_t",  # base trade rate, 1/s
    "kappa_t",  # extra trades per unit of cascade liquidation intensity
    "trade_med",  # median trade notional (quote)
    "trade_sig",  # lognormal sigma of trade notionals
    "scale",  # notional scale (quote); impact is measured in sqrt(N / scale)
    "bg_mu",  # background notional: log median relative to scale
    "bg_sig",
    "c_mu",  # cascade notional: log median relative to scale
    "c_sig",
    "p_long",  # share of episodes that flush longs
    "p_same",  # share of an episode's liquidations on the episode's side
    "bg_p_long",  # share of background liquidations that are longs
    "impact",  # log-price impact of a liquidation of notional == scale
    "p_cont",  # share of episodes whose displacement persists
    "perm_cont",  # permanent share of impact in a continuing episode
    "perm_rev",  # permanent share of impact in a reverting episode
    "hl_med",  # median reversion half-life of an episode, s
    "hl_sig",  # lognormal sigma of the half-life
    "bg_hl",  # half-life of background displacement, s
    "taker_bias",  # max extra probability of a taker trading with the forced flow
    "price_dec",  # decimals of the price tick (tick = 10**-price_dec)
    "qty_dec",  # decimals of the lot (lot = 10**-qty_dec)
    "mark_dt",  # seconds between mark prices
    "fund_dt",  # seconds between fundings
    "fund_first",  # seconds to the first funding
    "fund_mean",
    "fund_sd",
    "vol_liq",  # liquidation -> volatility: diffusion variance times (1 + vol_liq * V), V the volatility state
    "vol_hl",  # half-life of the volatility state V (s); every cascade liquidation adds 1 to V
)
P = {name: i for i, name in enumerate(PARAM_NAMES)}
N_PARAMS = len(PARAM_NAMES)

# event kinds and sides (liqcore.types values)
LONG, SHORT, BUY, SELL, NONE = 1, 2, 3, 4, 0
LIQUIDATION, TRADE, MARK, FUNDING = 1, 2, 3, 4

#: status codes of a run
OK, OUT_OF_UNIFORMS, OUT_OF_ROWS, OUT_OF_EPISODES = 0, 1, 2, 3


#: most uniforms one step of the loop may consume (checked before every step)
MAX_DRAWS_PER_STEP = 16


class Uniforms:
    """Sequential reader of the pre-drawn uniform pool."""

    def __init__(self, u: np.ndarray):
        self.u = u
        self.i = 0

    def remaining(self) -> int:
        return len(self.u) - self.i

    def next(self) -> float:
        v = float(self.u[self.i])
        self.i += 1
        return v

    def exponential(self, rate: float) -> float:
        return -math.log(1.0 - self.next()) / rate

    def normal(self) -> float:
        u1 = self.next()
        u2 = self.next()
        return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def to_ticks_round(value: float, dec: float) -> float:
    """Nearest integer number of ticks (as a float), at least 1."""
    k = float(math.floor(value * 10.0**dec + 0.5))
    return max(k, 1.0)


class Book:
    """The price state: Brownian + permanent part ``x`` and two decaying displacements."""

    def __init__(self, x0: float, vol_liq: float = 0.0, th_v: float = 1.0):
        self.x = x0
        self.d_bg = 0.0
        self.d_c = 0.0
        self.t = 0.0  # time of the last update
        self.v = 0.0  # volatility state: +1 per cascade liquidation, decays at rate th_v
        self.vol_liq = vol_liq
        self.th_v = th_v

    def advance(self, t: float, sigma_s: float, th_bg: float, th_c: float, rng: Uniforms) -> None:
        """Diffuse from the last update to ``t`` with variance ``sigma_s**2 (1 + vol_liq V) dt`` (V at
        the start of the step), then decay the displacements and V."""
        dt = t - self.t
        z = rng.normal()
        self.x = self.x + sigma_s * math.sqrt(1.0 + self.vol_liq * self.v) * math.sqrt(dt) * z
        self.d_bg = self.d_bg * math.exp(-th_bg * dt)
        self.d_c = self.d_c * math.exp(-th_c * dt)
        self.v = self.v * math.exp(-self.th_v * dt)
        self.t = t

    def mid(self) -> float:
        return math.exp(self.x + self.d_bg + self.d_c)


def bid_ask_ticks(mid: float, dec: float) -> tuple[float, float]:
    """(bid, ask) in ticks: ask = ceil(mid), bid = ask - 1 (at least 1 tick)."""
    ask = float(math.ceil(mid * 10.0**dec))
    if ask < 2.0:
        ask = 2.0
    return ask - 1.0, ask


def activity(t: float, diurnal_a: float, peak_sod: float, t0_sod: float, weekend: float, t0_wos: float) -> float:
    """The activity factor f(t): daily cycle, damped on weekends.  At most ``1 + diurnal_a``."""
    f = 1.0 + diurnal_a * math.cos(2.0 * math.pi * (t0_sod + t - peak_sod) / 86400.0)
    if (t0_wos + t) % 604800.0 >= 432000.0:
        f = f * weekend
    return f


def simulate_symbol(p: np.ndarray, u: np.ndarray, capacity: int, max_episodes: int,
                    ext_t: np.ndarray | None = None, ext_side: np.ndarray | None = None,
                    reg_t: np.ndarray | None = None, reg_p: np.ndarray | None = None,
                    reg_f: np.ndarray | None = None, state: dict | None = None):
    """Simulate one symbol.  Returns ``(status, n_rows, n_episodes, n_uniforms_used, rows, episodes)``
    where ``rows`` is a dict of column arrays and ``episodes`` a dict of episode arrays, both
    trimmed.  ``status`` is OK or one of the OUT_OF_* codes (outputs then partial).

    ``ext_t`` (sorted seconds) / ``ext_side``: externally scheduled shocks (contagion from another
    symbol).  Each opens an episode on the given side, like a shock of the symbol's own process but
    without drawing the side; it is handled like a fixed-time event (before a proposal that would
    pass it, which is then discarded) and takes precedence over a mark or funding at or after it.

    ``reg_t`` (sorted seconds) / ``reg_p`` / ``reg_f``: the positioning regime (empty or None: none;
    then ``bg_p_long`` and ``fund_mean`` hold throughout).

    ``state``: a dict, empty for a fresh run; at the stop it receives the loop state (and the episode
    arrays); called again with it and the unused uniforms, the run continues where it stopped
    (OUT_OF_UNIFORMS and OUT_OF_ROWS stop at the top of a step): the parts' rows are the whole run's."""
    rng = Uniforms(u)
    reg_t = np.zeros(0) if reg_t is None else reg_t
    n_reg = len(reg_t)

    def regime(t):
        """(background long share, funding level) in force at ``t``."""
        if n_reg == 0:
            return p[P["bg_p_long"]], p[P["fund_mean"]]
        i = max(int(np.searchsorted(reg_t, t, side="right")) - 1, 0)
        return float(reg_p[i]), float(reg_f[i])

    ext_t = np.zeros(0) if ext_t is None else ext_t
    ext_side = np.zeros(0, np.int8) if ext_side is None else ext_side
    n_ext = len(ext_t)
    i_ext = 0
    t_end = p[P["t_end"]]
    sigma_s = p[P["sigma_s"]]
    mu_b, eta_b, beta_b = p[P["mu_b"]], p[P["eta_b"]], p[P["beta_b"]]
    mu_s, n0, eta_c, beta_c = p[P["mu_s"]], p[P["n0"]], p[P["eta_c"]], p[P["beta_c"]]
    diurnal_a, peak_sod, t0_sod = p[P["diurnal_a"]], p[P["peak_sod"]], p[P["t0_sod"]]
    weekend, t0_wos = p[P["weekend"]], p[P["t0_wos"]]
    rate_t, kappa_t = p[P["rate_t"]], p[P["kappa_t"]]
    scale, impact = p[P["scale"]], p[P["impact"]]
    pdec, qdec = p[P["price_dec"]], p[P["qty_dec"]]
    mark_dt, fund_dt = p[P["mark_dt"]], p[P["fund_dt"]]
    th_bg = math.log(2.0) / p[P["bg_hl"]]

    rows = {
        "t_ns": np.zeros(capacity, np.int64),
        "price": np.zeros(capacity, np.float64),
        "qty": np.zeros(capacity, np.float64),
        "side": np.zeros(capacity, np.int8),
        "kind": np.zeros(capacity, np.int8),
        "episode": np.full(capacity, -1, np.int32),
    }
    eps = {
        "start_ns": np.zeros(max_episodes, np.int64),
        "end_ns": np.zeros(max_episodes, np.int64),
        "side": np.zeros(max_episodes, np.int8),
        "continues": np.zeros(max_episodes, np.int8),
        "notional": np.zeros(max_episodes, np.float64),
        "n": np.zeros(max_episodes, np.int32),
        "half_life": np.zeros(max_episodes, np.float64),
    }
    n = 0
    n_ep = 0
    status = OK

    book = Book(p[P["x0"]], p[P["vol_liq"]], math.log(2.0) / p[P["vol_hl"]])
    e_b = 0.0  # background excitation
    c = 0.0  # cascade intensity
    ep = -1  # current episode
    ep_side = LONG
    ep_cont = 0
    th_c = th_bg
    t = 0.0
    next_mark = 0.0
    next_fund = p[P["fund_first"]]
    fmax = 1.0 + diurnal_a
    scale_p = 10.0**pdec
    scale_q = 10.0**qdec
    if state:  # resume where the previous part stopped
        (t, e_b, c, ep, ep_side, ep_cont, th_c, next_mark, next_fund, i_ext, n_ep) = state["loop"]
        book.x, book.d_bg, book.d_c, book.t, book.v = state["book"]
        eps = state["eps"]

    def emit(t_, price, qty, side, kind, episode):
        nonlocal n, status
        if n >= capacity:
            status = OUT_OF_ROWS
            return False
        rows["t_ns"][n] = int(t_ * 1e9)
        rows["price"][n] = price
        rows["qty"][n] = qty
        rows["side"][n] = side
        rows["kind"][n] = kind
        rows["episode"][n] = episode
        n += 1
        return True

    def liquidation(t_, side, notional, cascade):
        """Impact, then the forced order prints at the bid (long flushed) or ask (short flushed)."""
        move = impact * math.sqrt(notional / scale)
        if side == LONG:
            move = -move
        if cascade:
            perm = p[P["perm_cont"]] if ep_cont == 1 else p[P["perm_rev"]]
            book.x = book.x + perm * move
            book.d_c = book.d_c + (1.0 - perm) * move
        else:
            book.d_bg = book.d_bg + move
        bid, ask = bid_ask_ticks(book.mid(), pdec)
        k = bid if side == LONG else ask
        price = k / scale_p
        q = to_ticks_round(notional / price, qdec)
        return price, q / scale_q

    def cascade_liquidation(t_):
        """One liquidation of the current episode: mostly on its side, heavier notional."""
        if rng.next() < p[P["p_same"]]:
            side = ep_side
        else:
            side = SHORT if ep_side == LONG else LONG
        notional = scale * math.exp(p[P["c_mu"]] + p[P["c_sig"]] * rng.normal())
        price, qty = liquidation(t_, side, notional, True)
        if not emit(t_, price, qty, side, LIQUIDATION, ep):
            return False
        eps["end_ns"][ep] = int(t_ * 1e9)
        eps["notional"][ep] += price * qty
        eps["n"][ep] += 1
        book.v = book.v + 1.0
        return True

    while True:
        if rng.remaining() < MAX_DRAWS_PER_STEP:
            status = OUT_OF_UNIFORMS  # the caller draws a longer pool and runs again
            break
        if n >= capacity:  # a step writes at most one row: stop before it, resumable
            status = OUT_OF_ROWS
            break
        bound = (mu_b + rate_t + mu_s) * fmax + e_b + c * (1.0 + kappa_t)
        t_prop = t + rng.exponential(bound)
        t_fixed = min(next_mark, next_fund)
        t_ext = float(ext_t[i_ext]) if i_ext < n_ext else math.inf
        if t_ext < t_fixed and t_ext <= t_prop:
            # an external shock: a new episode on the given side
            if t_ext >= t_end:
                i_ext = n_ext
                continue
            dt = t_ext - t
            e_b = e_b * math.exp(-beta_b * dt)
            c = c * math.exp(-beta_c * dt)
            t = t_ext
            book.advance(t, sigma_s, th_bg, th_c, rng)
            if n_ep >= max_episodes:
                status = OUT_OF_EPISODES
                break
            ep = n_ep
            n_ep += 1
            ep_side = int(ext_side[i_ext])
            i_ext += 1
            ep_cont = 1 if rng.next() < p[P["p_cont"]] else 0
            hl = p[P["hl_med"]] * math.exp(p[P["hl_sig"]] * rng.normal())
            th_c = math.log(2.0) / hl
            eps["start_ns"][ep] = int(t * 1e9)
            eps["side"][ep] = ep_side
            eps["continues"][ep] = ep_cont
            eps["half_life"][ep] = hl
            c = c + n0 * beta_c
            if not cascade_liquidation(t):
                break
            c = c + eta_c * beta_c
            continue
        if t_fixed <= t_prop:
            if t_fixed >= t_end:
                break
            dt = t_fixed - t
            e_b = e_b * math.exp(-beta_b * dt)
            c = c * math.exp(-beta_c * dt)
            t = t_fixed
            book.advance(t, sigma_s, th_bg, th_c, rng)
            if next_fund <= next_mark:
                rate = math.floor((regime(t)[1] + p[P["fund_sd"]] * rng.normal()) * 1e6 + 0.5) / 1e6
                if not emit(t, rate, 0.0, NONE, FUNDING, -1):
                    break
                next_fund = next_fund + fund_dt
            else:
                k = to_ticks_round(book.mid(), pdec)
                if not emit(t, k / scale_p, 0.0, NONE, MARK, -1):
                    break
                next_mark = next_mark + mark_dt
            continue
        if t_prop >= t_end:
            break
        dt = t_prop - t
        e_b = e_b * math.exp(-beta_b * dt)
        c = c * math.exp(-beta_c * dt)
        t = t_prop
        f = activity(t, diurnal_a, peak_sod, t0_sod, weekend, t0_wos)
        lam_b = mu_b * f + e_b
        lam_c = c
        lam_t = rate_t * f + kappa_t * c
        lam_s = mu_s * f
        v = rng.next() * bound
        if v < lam_b:
            # a background liquidation
            book.advance(t, sigma_s, th_bg, th_c, rng)
            side = LONG if rng.next() < regime(t)[0] else SHORT
            notional = scale * math.exp(p[P["bg_mu"]] + p[P["bg_sig"]] * rng.normal())
            price, qty = liquidation(t, side, notional, False)
            if not emit(t, price, qty, side, LIQUIDATION, -1):
                break
            e_b = e_b + eta_b * beta_b
        elif v < lam_b + lam_c:
            # a follow-on liquidation of the current episode
            book.advance(t, sigma_s, th_bg, th_c, rng)
            if not cascade_liquidation(t):
                break
            c = c + eta_c * beta_c
        elif v < lam_b + lam_c + lam_t:
            # a trade
            book.advance(t, sigma_s, th_bg, th_c, rng)
            lean = p[P["taker_bias"]] * (kappa_t * c / lam_t)
            p_sell = 0.5 + lean if ep_side == LONG else 0.5 - lean
            side = SELL if rng.next() < p_sell else BUY
            notional = p[P["trade_med"]] * math.exp(p[P["trade_sig"]] * rng.normal())
            bid, ask = bid_ask_ticks(book.mid(), pdec)
            price = (ask if side == BUY else bid) / scale_p
            qty = to_ticks_round(notional / price, qdec) / scale_q
            if not emit(t, price, qty, side, TRADE, -1):
                break
        elif v < lam_b + lam_c + lam_t + lam_s:
            # a shock opens a new episode with its first liquidation
            book.advance(t, sigma_s, th_bg, th_c, rng)
            if n_ep >= max_episodes:
                status = OUT_OF_EPISODES
                break
            ep = n_ep
            n_ep += 1
            ep_side = LONG if rng.next() < p[P["p_long"]] else SHORT
            ep_cont = 1 if rng.next() < p[P["p_cont"]] else 0
            hl = p[P["hl_med"]] * math.exp(p[P["hl_sig"]] * rng.normal())
            th_c = math.log(2.0) / hl
            eps["start_ns"][ep] = int(t * 1e9)
            eps["side"][ep] = ep_side
            eps["continues"][ep] = ep_cont
            eps["half_life"][ep] = hl
            c = c + n0 * beta_c
            if not cascade_liquidation(t):
                break
            c = c + eta_c * beta_c
        # else: rejected proposal

    if state is not None:
        state["loop"] = (t, e_b, c, ep, ep_side, ep_cont, th_c, next_mark, next_fund, i_ext, n_ep)
        state["book"] = (book.x, book.d_bg, book.d_c, book.t, book.v)
        state["eps"] = eps
    out_rows = {k: v[:n].copy() for k, v in rows.items()}
    out_eps = {k: v[:n_ep].copy() for k, v in eps.items()}
    return status, n, n_ep, rng.i, out_rows, out_eps


# ---- assembling the event array (twins of liqcore._jit.synth.make_distinct / assemble / recv_times)

NS_PER_MS = 1_000_000


def make_distinct(t_ms, kind, side, price, qty, qty_dec) -> int:
    """A liquidation or trade identical (kind, side, price, qty) to an earlier row of the same
    symbol and millisecond gets one more lot, until unique.  Edits ``qty`` in place."""
    scale_q = 10.0**qty_dec
    seen_by_ms: dict[int, set] = {}
    changed = 0
    for i in range(len(t_ms)):
        if kind[i] not in (LIQUIDATION, TRADE):
            continue
        seen = seen_by_ms.setdefault(int(t_ms[i]), set())
        key = (int(kind[i]), int(side[i]), float(price[i]), float(qty[i]))
        bumped = False
        while key in seen:
            qty[i] = (math.floor(qty[i] * scale_q + 0.5) + 1.0) / scale_q
            key = (int(kind[i]), int(side[i]), float(price[i]), float(qty[i]))
            bumped = True
        seen.add(key)
        changed += bumped
    return changed


def assemble(t_ms, price, qty, side, kind, offsets, sids, venue, out) -> None:
    """The per-symbol runs, merged into ``out`` by event time: a stable sort of the concatenation."""
    order = sorted(range(len(t_ms)), key=lambda j: int(t_ms[j]))  # sorted() is stable
    run_of = np.searchsorted(offsets, np.arange(len(t_ms)), side="right") - 1
    for i, j in enumerate(order):
        ts = int(t_ms[j]) * NS_PER_MS
        out[i] = (ts, ts, price[j], qty[j], sids[run_of[j]], side[j], kind[j], venue, 0)


def recv_times(ev, z, feed_latency_ns, batch_ns, n_symbols, flags, liq_flags) -> None:
    """ts_recv = push time + latency (``feed_latency_ns * exp(0.25 z)``); with ``batch_ns`` > 0
    liquidations are pushed at the end of their (symbol, batch slot), sharing the first one's
    latency.  Sets ``flags`` (``liq_flags`` on liquidations)."""
    batch_latency: dict[tuple[int, int], int] = {}
    for i in range(len(ev)):
        lat = int(feed_latency_ns * math.exp(0.25 * z[i])) if feed_latency_ns > 0 else 0
        ts = int(ev[i]["ts_event"])
        if ev[i]["kind"] == LIQUIDATION:
            ev[i]["flags"] = liq_flags
            if batch_ns > 0:
                b = ts // batch_ns
                lat = batch_latency.setdefault((int(ev[i]["symbol_id"]), b), lat)
                ev[i]["ts_recv"] = (b + 1) * batch_ns + lat
                continue
        else:
            ev[i]["flags"] = flags
        ev[i]["ts_recv"] = ts + lat


def book_quotes(ev, pdec, qdec, depth, thin, hl_s, z, out) -> int:
    """The synthetic top of book (the kernel's ``book_quotes``): before every trade whose price is not
    already the best on its side (taker BUY at the ask, SELL at the bid; one-tick spread), a quote
    pair (BUY row = best bid, SELL row = best ask) at the trade's times; displayed size per side
    ``depth * exp(0.5 z) / (1 + L / thin)`` quote units on the lot grid (>= 1 lot), ``L`` the
    symbol's liquidation notional decaying with half-life ``hl_s`` s.  Returns the rows written."""
    nsym = len(pdec)
    last_bid = [-1.0] * nsym
    liq = [0.0] * nsym
    liq_t = [0] * nsym
    lam = math.log(2.0) / (hl_s * 1e9)
    j = k = 0
    for e in ev:
        s = int(e["symbol_id"])
        kind = int(e["kind"])
        if kind == 1 and 0 <= s < nsym:
            liq[s] = liq[s] * math.exp(-lam * (int(e["ts_event"]) - liq_t[s])) + float(e["price"]) * float(e["qty"])
            liq_t[s] = int(e["ts_event"])
        elif kind == 2 and 0 <= s < nsym:
            sp = 10.0 ** float(pdec[s])
            kt = math.floor(float(e["price"]) * sp + 0.5)
            kb = kt - 1.0 if int(e["side"]) == 3 else float(kt)
            if kb != last_bid[s]:
                last_bid[s] = kb
                f = 1.0 + liq[s] * math.exp(-lam * (int(e["ts_event"]) - liq_t[s])) / float(thin[s])
                sq = 10.0 ** float(qdec[s])
                for r in range(2):
                    px = (kb + r) / sp
                    q = math.floor(float(depth[s]) * math.exp(0.5 * float(z[k])) / f / px * sq + 0.5)
                    k += 1
                    out[j] = (e["ts_event"], e["ts_recv"], px, max(q, 1.0) / sq, s, 3 + r, 7, e["venue"], e["flags"])
                    j += 1
        out[j] = e
        j += 1
    return j
