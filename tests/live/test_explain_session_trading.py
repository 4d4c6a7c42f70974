"""What `journal --explain`'s backtest trades (:func:`liqcore.live.explain.session_trading`): the session's traded
symbols on the rules its note holds; a journal written before the note kept rules: the symbols whose cascades the
session refused for want of rules are left out (not traded in the backtest either)."""
from __future__ import annotations

import math
import sqlite3

import orjson

from liqcore.live.explain import session_trading


def _journal(decisions) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE log (id INTEGER PRIMARY KEY, ts_ns INTEGER NOT NULL, type TEXT NOT NULL, key TEXT, "
               "data TEXT)")
    for i, (sym, reason) in enumerate(decisions):
        db.execute("INSERT INTO log (ts_ns, type, key, data) VALUES (?, 'decision', ?, ?)",
                   (1_000 + i, sym, orjson.dumps({"symbol": sym, "action": "skip" if reason else "order",
                                                  "reason": reason}).decode()))
    return db


def test_the_note_s_rules_are_the_backtest_s():
    db = _journal([("Z001USDT", "no_instrument")])
    session = {"symbols": ["binance:SOLUSDT", "binance:XRPUSDT", "binance:Z001USDT"],
               "rules": {"SOLUSDT": [0.01, 0.1, 0.1, 5.0, None], "XRPUSDT": [0.0001, 1.0, 1.0, 5.0, 1e6]}}
    traded, rules = session_trading(db, session)
    assert traded == {"SOLUSDT", "XRPUSDT", "Z001USDT"}
    sol, xrp = rules["SOLUSDT"], rules["XRPUSDT"]
    assert (sol.tick_size, sol.qty_step, sol.min_qty, sol.min_notional, sol.max_qty) == (0.01, 0.1, 0.1, 5.0, math.inf)
    assert (xrp.tick_size, xrp.max_qty) == (0.0001, 1e6)
    assert set(rules) == {"SOLUSDT", "XRPUSDT"}  # Z001: traded without rules -> no_instrument in the backtest


def test_an_older_journal_leaves_out_the_symbols_refused_for_want_of_rules():
    db = _journal([("SOLUSDT", ""), ("Z001USDT", "no_instrument"), ("XRPUSDT", "cooldown")])
    traded, rules = session_trading(db, {"symbols": ["binance:SOLUSDT", "binance:XRPUSDT", "binance:Z001USDT"]})
    assert traded == {"SOLUSDT", "XRPUSDT"} and rules is None
    assert session_trading(db, {}) == (None, None)  # nothing noted: every symbol, no rules
