"""Journal rows of child orders: the venue's take-profit / stop-loss created from an entry share the entry's
client id but keep their own rows (``(client_id, kind)``), so the entry's venue order id and status survive
the children's updates; a journal of the older layout (keyed by client id alone) is migrated at open."""
from __future__ import annotations

import asyncio
import functools
import sqlite3

import orjson
import pytest

from liqcore.live.engine import Engine
from liqcore.live.journal import Journal

from _live_helpers import PARAMS, cascade_frames, wait_until

wait = functools.partial(wait_until, timeout=10.0)


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_tp_sl_children_keep_their_own_rows(tmp_path):
    from liqcore.venues.bybit.gateway import BybitGateway
    from liqcore.venues.bybit.fake import FakeExchange

    async def main():
        async with FakeExchange() as fx:
            gw = BybitGateway(fx.api_key, fx.api_secret, fx.rest_url, fx.private_ws_url, symbols=["ETHUSDT"],
                              retry_backoff=0.02, timeout=2.0)
            fills = []
            eng = Engine(PARAMS, symbols=["ETHUSDT"], gateway=gw, journal=Journal(tmp_path / "j.sqlite"),
                         on_fill=fills.append)
            await eng.start()
            for f in cascade_frames():
                eng.on_frame("bybit", f, orjson.loads(f)["ts"] * 1_000_000)
            await wait(lambda: eng.books["ETHUSDT"].entry_status == "new")
            cid = eng.books["ETHUSDT"].entry.client_id
            (entry,) = fx.orders_with_link(cid)
            await fx.trade("ETHUSDT", 2994.0)  # fills the entry; the venue attaches TP and SL
            await wait(lambda: any(f.kind == "entry" for f in fills))
            kids = {o.stop_order_type: o for o in fx.venue.orders.values() if o.parent_id == entry.order_id}
            await wait(lambda: eng.journal.order(cid, "sl") is not None and eng.journal.order(cid, "tp") is not None)
            j = eng.journal
            assert j.order(cid)["venue_order_id"] == entry.order_id and j.order(cid)["status"] == "filled"
            assert j.order(cid, "tp")["venue_order_id"] == kids["PartialTakeProfit"].order_id
            assert j.order(cid, "sl")["venue_order_id"] == kids["PartialStopLoss"].order_id
            await fx.trade("ETHUSDT", 2980.0)  # the stop-loss fills, the take-profit is deactivated
            await wait(lambda: any(f.kind == "sl" for f in fills))
            await wait(lambda: (j.order(cid, "tp") or {}).get("status") == "deactivated")
            rows = j.orders_of(cid)
            assert rows["entry"]["status"] == "filled" and rows["entry"]["venue_order_id"] == entry.order_id
            assert rows["sl"]["status"] == "filled" and rows["tp"]["status"] == "deactivated"
            rec = j.recover()
            assert rec.open_orders == {} and rec.child_orders == {}
            await eng.shutdown()
            j.close()

    asyncio.run(main())


_V1_SCHEMA = """
CREATE TABLE log (id INTEGER PRIMARY KEY, ts_ns INTEGER NOT NULL, type TEXT NOT NULL, key TEXT, data TEXT NOT NULL);
CREATE TABLE orders (client_id TEXT PRIMARY KEY, symbol TEXT, kind TEXT, side TEXT, status TEXT, price REAL, qty REAL,
                     filled_qty REAL, avg_price REAL, venue_order_id TEXT, reason TEXT, intent TEXT, created_ns INTEGER,
                     updated_ns INTEGER);
CREATE TABLE positions (symbol TEXT PRIMARY KEY, data TEXT, updated_ns INTEGER);
CREATE TABLE fills (exec_id TEXT PRIMARY KEY, client_id TEXT, symbol TEXT, data TEXT, ts_ns INTEGER);
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT);
"""


def _v1_journal(path, cid="lc-ETH-1-aa"):
    """A journal as the previous layout left it: the TP child's update overwrote the entry's row."""
    intent = {"symbol": "ETHUSDT", "side": "buy", "qty": 0.5, "price": 2995.5, "client_id": cid, "post_only": True,
              "take_profit": 3000.0, "stop_loss": 2988.0, "reduce_only": False, "kind": "entry", "order_type": "limit",
              "decision_ns": 1, "meta": {}}
    upd = dict(client_id=cid, status="filled", symbol="ETHUSDT", venue_order_id="E-1", side="buy", price=2995.5, qty=0.5,
               filled_qty=0.5, avg_price=2995.5, reason="", kind="entry", ts_ns=2)
    tp = dict(upd, status="untriggered", venue_order_id="T-1", side="sell", price=3000.0, filled_qty=0.0, avg_price=0.0,
              kind="tp", ts_ns=3)
    db = sqlite3.connect(str(path))
    db.executescript(_V1_SCHEMA)
    db.execute("INSERT INTO log (ts_ns, type, key, data) VALUES (1, 'intent', ?, ?)", (cid, orjson.dumps(intent).decode()))
    db.execute("INSERT INTO log (ts_ns, type, key, data) VALUES (2, 'order_update', ?, ?)", (cid, orjson.dumps(upd).decode()))
    db.execute("INSERT INTO log (ts_ns, type, key, data) VALUES (3, 'order_update', ?, ?)", (cid, orjson.dumps(tp).decode()))
    db.execute("INSERT INTO orders VALUES (?, 'ETHUSDT', 'entry', 'buy', 'untriggered', 2995.5, 0.5, 0.5, 2995.5, 'T-1', '',"
               " ?, 1, 3)", (cid, orjson.dumps(intent).decode()))
    db.execute("INSERT INTO orders VALUES ('lc-ETH-0-zz', 'ETHUSDT', 'entry', 'buy', 'cancelled', 1, 1, 0, 0, 'E-0', '',"
               " NULL, 0, 0)")  # a row the log cannot rebuild is kept
    db.execute("INSERT INTO log (ts_ns, type, key, data) VALUES (4, 'order_update', 'x', '{\"client_id\": \"x\"}')")  # unreadable
    db.execute("INSERT INTO orders VALUES ('lc-ETH-00-yy', 'ETHUSDT', NULL, 'buy', 'cancelled', 1, 1, 0, 0, 'E-00', '',"
               " NULL, 0, 0)")  # no kind recorded
    db.execute("INSERT INTO state VALUES ('seq', '1')")
    db.commit()
    db.close()
    return cid


def test_old_journal_is_migrated_from_its_log(tmp_path):
    path = tmp_path / "old.sqlite"
    cid = _v1_journal(path)
    with Journal(path) as j:
        assert j.migrated == 1
        assert j.order(cid)["venue_order_id"] == "E-1" and j.order(cid)["status"] == "filled"
        assert j.order(cid, "tp")["venue_order_id"] == "T-1" and j.order(cid, "tp")["status"] == "untriggered"
        assert j.order("lc-ETH-0-zz")["venue_order_id"] == "E-0" and j.order("lc-ETH-00-yy")["venue_order_id"] == "E-00"
        rec = j.recover()
        assert rec.open_orders == {} and list(rec.child_orders) == [(cid, "tp")] and rec.seq == 1
    with Journal(path) as j:  # opened again: already current
        assert j.migrated == 0 and j.order(cid)["venue_order_id"] == "E-1"
        assert j.db.execute("PRAGMA user_version").fetchone()[0] == 3


def test_version_2_journal_gets_the_queue_estimates_table(tmp_path):
    path = tmp_path / "v2.sqlite"
    cid = _v1_journal(path)
    with Journal(path) as j:  # (to version 3)
        pass
    db = sqlite3.connect(str(path))
    db.execute("DROP TABLE queue_estimates")
    db.execute("PRAGMA user_version=2")
    db.commit()
    db.close()
    with Journal(path) as j:
        assert j.migrated == 1 and j.order(cid)["venue_order_id"] == "E-1"
        j.queue_estimate({"client_id": cid, "symbol": "ETHUSDT", "ahead_at_rest": 2.5, "outcome": "filled"})
        row = j.db.execute("SELECT symbol, ahead_at_rest, outcome FROM queue_estimates").fetchall()
        assert row == [("ETHUSDT", 2.5, "filled")]
        assert j.db.execute("PRAGMA user_version").fetchone()[0] == 3


def test_journal_of_unknown_layout_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    db = sqlite3.connect(str(path))
    db.execute("CREATE TABLE orders (venue_order_id TEXT PRIMARY KEY, client_id TEXT, status TEXT)")
    db.commit()
    db.close()
    with pytest.raises(ValueError, match="other.sqlite.*layout"):
        Journal(path)
