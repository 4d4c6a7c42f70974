"""A whole-market Binance recording for the backtest's ``--symbols all`` tests (the recorder's format, as
``liqcore record --venue binance --symbols all --also ...`` writes it): every symbol's liquidations on the
all-market stream (:func:`tests.market._venues.write_all_market_recording`: 150 small ones over 4 h at one price and
two bursts of four large ones), and for the ``traded`` symbols a trade every 2 s over the bursts' hour at that price,
dipping 3 % for a minute after each burst, through any cascade-mm entry, then coming back."""
from __future__ import annotations

import orjson

from tests.market._venues import T0_MS, write_all_market_recording


def instrument_list(names, tick="0.0001", lot="10", min_notional="5", fetched_ns=T0_MS * 1_000_000) -> dict:
    """The instrument list ``liqcore run/record --symbols all`` cache (universe-binance-usdt.json), ``names`` on
    one grid, each with a 24 h turnover of 1e6 x (its index mod 10) quote units."""
    rule = {"tick_size": float(tick), "qty_step": float(lot), "min_qty": float(lot), "max_qty": None,
            "min_notional": float(min_notional)}
    return {"venue": "binance", "quote": "USDT", "fetched_ns": fetched_ns, "left_out": {},
            "rules": {s: dict(rule) for s in names}, "turnover": {s: 1e6 * (i % 10) for i, s in enumerate(names)},
            "contract": {}}


def write_recording(path, names, traded, seed: int = 7) -> dict:
    """The recording at ``path``; returns each symbol's price."""
    write_all_market_recording(path, names, seed=seed)
    lines = [orjson.loads(x) for x in path.read_bytes().splitlines()]
    bursts: dict = {}
    price = {}
    for x in lines:
        f = x["frame"]["o"]
        price[f["s"]] = float(f["p"])  # (every liquidation of a symbol is at its one price)
        if float(f["q"]) * float(f["p"]) > 4_000:
            bursts.setdefault(f["s"], []).append(int(f["T"]))
    n = 0
    for sym in traded:
        px = price[sym]
        dips = sorted({b for b in bursts[sym]})
        for t in range(T0_MS + 3 * 3600_000 - 120_000, T0_MS + 4 * 3600_000, 2_000):
            p = px * (0.97 if any(d + 2_000 <= t < d + 62_000 for d in dips) else 1.0)
            n += 1
            lines.append({"recv_ns": t * 1_000_000 + 40_000_000, "venue": "binance",
                          "frame": {"e": "aggTrade", "E": t + 1, "s": sym, "a": n, "p": f"{round(p, 4):.4f}",
                                    "q": "500", "f": n, "l": n, "T": t, "m": bool(n % 2)}})
    lines.sort(key=lambda x: x["recv_ns"])
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    return price
