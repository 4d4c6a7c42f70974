"""``liqcore journal DB --web``: the finished session's view says what the run and the live dashboard said: the
orders a run counts are its entries (its take-profit and stop-loss brackets are exits, not orders of their own),
the exits and loss limits are the session's own (never "- %"), and the price chart joins the market's price at
each decision with the fills, and says what it joins."""
from __future__ import annotations

import sqlite3

from liqcore.live.journal import Journal
from liqcore.live.web_journal import PRICE_NOTE, journal_view

T0 = 1_795_840_000_000_000_000
S = 1_000_000_000


def _session(path) -> None:
    j = Journal(path)
    j.note("session", {"strategy": "cascade-mm", "mode": "live", "symbols": ["ETH-USDT-SWAP"],
                       "params": {"stop_loss": 0.004, "take_profit": 0.002, "trail": 0.0,
                                  "hold_timeout_ns": 600 * S, "daily_loss": 0.01, "weekly_loss": 0.03}}, T0)
    for k, (ref, fill, tp) in enumerate([(2500.0, 2496.25, 2501.2), (2550.0, 2546.2, 2551.3)]):
        t = T0 + (k + 1) * 10 * S
        cid = f"c{k}"
        j.cascade({"record": "confirmed", "symbol": "ETH-USDT-SWAP", "cascade_id": k, "dominant": "long"}, t)
        j.decision({"symbol": "ETH-USDT-SWAP", "cascade_id": k, "action": "order", "side": "buy", "qty": 1.0,
                    "price": fill, "ref_price": ref, "ts_ns": t, "client_id": cid}, t)
        j.fill({"exec_id": f"e{k}", "client_id": cid, "symbol": "ETH-USDT-SWAP", "kind": "entry", "side": "buy",
                "price": fill, "qty": 1.0, "fee": 0.05}, t + S)
        j.fill({"exec_id": f"x{k}", "client_id": cid, "symbol": "ETH-USDT-SWAP", "kind": "tp", "side": "sell",
                "price": tp, "qty": 1.0, "fee": 0.12}, t + 2 * S)
    j.note("shutdown", {}, T0 + 60 * S)
    j.close()
    db = sqlite3.connect(path)
    db.executemany("INSERT INTO orders (client_id, symbol, kind, side, status, filled_qty) VALUES (?, 'ETH-USDT-SWAP', ?,"
                   " ?, 'filled', 1.0)", [(c, kind, side) for c in ("c0", "c1")
                                          for kind, side in (("entry", "buy"), ("tp", "sell"))])
    db.commit()
    db.close()


def test_the_journal_view_counts_entries_shows_the_sessions_exits_and_says_what_its_price_line_joins(tmp_path):
    _session(tmp_path / "j.sqlite")
    v = journal_view(tmp_path / "j.sqlite")
    snap = v["snapshot"]
    assert (snap["cascades"], snap["orders"], snap["fills"]) == (2, 2, 4), snap
    assert snap["account"]["stops"] == {"stop_loss": 0.004, "take_profit": 0.002, "trail": 0.0,
                                        "hold_timeout_s": 600.0, "daily_loss": 0.01, "weekly_loss": 0.03}
    line = v["history"]["prices"]["ETH-USDT-SWAP"]
    assert [p[1] for p in line] == [2500.0, 2496.25, 2501.2, 2550.0, 2546.2, 2551.3], line
    assert [p[0] for p in line] == sorted(p[0] for p in line)
    assert v["history"]["price_note"] == PRICE_NOTE and "decision" in PRICE_NOTE
