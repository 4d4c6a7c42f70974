"""Random markets and parameter rows for the simulator tests (kernel vs pysrc twin)."""
from __future__ import annotations

import numpy as np

from liqcore.types import CASCADE_DTYPE, EVENT_DTYPE, Kind, RecordKind, Side

S = 1_000_000_000
MS = 1_000_000
DAY = 86_400 * S


def random_market(seed: int, n_events: int = 600, n_symbols: int = 3, start_ns: int | None = None,
                  cascade_share: float = 0.5, funding_share: float = 0.03):
    """Trades (random walk on a tick grid so prices repeat exactly), liquidations, funding events, and
    CONFIRMED records on a random subset of the liquidations.  Gaps range from 0 (equal timestamps)
    to hours, so order arrival, timeouts, cooldowns and day/week boundaries all occur."""
    rng = np.random.default_rng(seed)
    if start_ns is None:
        start_ns = int(rng.integers(0, 30)) * DAY + int(rng.integers(0, DAY // S)) * S + 1_700_000_000 * S
    gaps = rng.choice(np.array([0, 1 * MS, 20 * MS, 50 * MS, 300 * MS, 1 * S, 3 * S, 20 * S, 90 * S, 400 * S,
                                1800 * S, 5 * 3600 * S], dtype=np.int64),
                      size=n_events, p=[.08, .08, .1, .1, .14, .14, .1, .1, .07, .05, .03, .01])
    ts = start_ns + np.cumsum(gaps)
    kinds = rng.choice([Kind.TRADE, Kind.LIQUIDATION, Kind.FUNDING], size=n_events,
                       p=[1 - 0.2 - funding_share, 0.2, funding_share]).astype(np.int8)
    sid = rng.integers(0, n_symbols, size=n_events).astype(np.int32)
    tick = 0.0005
    steps = np.zeros(n_symbols, dtype=np.int64)
    price = np.empty(n_events)
    base = 100.0 * (1 + np.arange(n_symbols))
    for i in range(n_events):
        j = sid[i]
        steps[j] += int(rng.integers(-3, 4))
        price[i] = base[j] * (1.0 + steps[j] * tick)
    ev = np.zeros(n_events, dtype=EVENT_DTYPE)
    ev["ts_event"] = ts
    ev["ts_recv"] = ts
    ev["kind"] = kinds
    ev["symbol_id"] = sid
    ev["venue"] = 2
    ev["qty"] = rng.uniform(0.1, 5.0, size=n_events)
    ev["price"] = price
    fund = kinds == Kind.FUNDING
    ev["price"][fund] = rng.choice([-0.001, -0.0001, 0.0001, 0.0005, 0.003], size=int(fund.sum()))
    ev["qty"][fund] = 0
    liq = np.flatnonzero(kinds == Kind.LIQUIDATION)
    ev["side"][liq] = rng.choice([Side.LONG, Side.SHORT], size=len(liq))
    ev["side"][kinds == Kind.TRADE] = Side.BUY
    pick = liq[rng.random(len(liq)) < cascade_share]
    rec = np.zeros(len(pick), dtype=CASCADE_DTYPE)
    rec["record"] = RecordKind.CONFIRMED
    rec["event_index"] = pick
    rec["confirm_ns"] = ts[pick]
    rec["confirm_recv_ns"] = ts[pick]
    rec["start_ns"] = ts[pick]
    rec["end_ns"] = ts[pick]
    rec["emit_ns"] = ts[pick]
    rec["symbol_id"] = sid[pick]
    rec["venue"] = 2
    rec["dominant"] = rng.choice([0, 1, 2], size=len(pick), p=[0.1, 0.5, 0.4])
    rec["cascade_id"] = np.arange(len(pick))
    rec["n_large"] = 2
    return ev, rec


def param_rows(n_symbols: int, **kw) -> list[dict]:
    """Kernel PARAM_DTYPE fields as dicts (the twin's input), guide defaults with short timers."""
    base = dict(offset=0.0015, take_profit=0.0015, stop_loss=0.0025, maker_fee=2e-4, taker_fee=5.5e-4,
                entry_timeout_ns=600 * S, hold_timeout_ns=900 * S, cooldown_ns=300 * S, max_ref_age_ns=5 * S,
                order_latency_ns=50 * MS, touch=0, hours_from=-1, hours_to=-1, venue=2)
    base.update(kw)
    return [dict(base) for _ in range(n_symbols)]


def param_array(rows: list[dict]) -> np.ndarray:
    from liqcore._jit.sim import PARAM_DTYPE

    par = np.zeros(len(rows), dtype=PARAM_DTYPE)
    for i, r in enumerate(rows):
        for k, v in r.items():
            par[i][k] = v
    return par


def run_kernel(ev, rec, rows, equity=1.0, daily_loss=0.01, weekly_loss=0.02, max_symbols=4, size=0.25,
               end_ns=None):
    """Run the Numba loop directly; returns (ledger, counts, port, state)."""
    from liqcore._jit import sim

    n = len(rows)
    st = sim.new_state(n)
    port = sim.new_port(equity, daily_loss, weekly_loss, max_symbols, size)
    ledger = np.zeros(len(rec) + 1, dtype=sim.LEDGER_DTYPE)
    counts = np.zeros((n, sim.N_COUNTS), dtype=np.int64)
    order = np.lexsort((rec["event_index"], rec["confirm_recv_ns"]))
    r = rec[order]
    end = int(ev["ts_recv"][-1]) if end_ns is None else end_ns
    sim.run_sim(ev, r["confirm_recv_ns"].astype(np.int64), r["event_index"].astype(np.int64),
                r["symbol_id"].astype(np.int64), r["dominant"].astype(np.int64), r["cascade_id"].astype(np.int64),
                st, port, param_array(rows), ledger, counts, end)
    return ledger[: port[0]["n_trades"]], counts, port, st


def assert_matches_twin(ledger, counts, st, ref, n_sym):
    """The kernel's ledger, counts and queue state equal the pysrc twin's (``ref``: its Model)."""
    from pysrc import execmodel as twin

    assert len(ledger) == len(ref.ledger)
    for got, want in zip(ledger, ref.ledger):
        for name, value in want.items():
            assert got[name] == value or (value != value and got[name] != got[name]), name
    for sid in range(n_sym):
        assert dict(zip(twin.COUNT_NAMES, counts[sid].tolist())) == ref.counts[sid]
        for f in ("status", "q_ahead", "q_level", "q_traded", "bid", "ask", "bid_qty", "ask_qty"):
            a, b = float(st[sid][f]), float(getattr(ref.states[sid], f))
            assert a == b or (a != a and b != b), (sid, f, a, b)
