"""`liqcore run --symbols all` asks the venue for its instrument list again while it runs
(``--instruments-refresh``): against a local Binance REST server whose list changes, a delisted symbol gets no
new order (its resting entry reported, or its position closed with ``--delisted close``), a new listing is
watched, and both are logged and journaled."""
from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time

import orjson
import pytest

from tests.market._venues import Server, _binance_app, wait_for as _wait


def _rows(journal, kind: str) -> list[dict]:
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
            return [orjson.loads(d) for (d,) in db.execute("SELECT data FROM log WHERE type = ?", (kind,))]
    except sqlite3.Error:  # (not created yet, or busy)
        return []


def _entry_status(journal, sym: str):
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
            row = db.execute("SELECT status, price FROM orders WHERE symbol = ? AND kind = 'entry'", (sym,)).fetchone()
    except sqlite3.Error:
        return None
    return row


def _run_bybit_all(ft, venue, names: list, journal, *flags: str) -> int:
    """``liqcore run --venue bybit --symbols all`` on the fake Bybit ``ft`` (its instrument list ``names``, read at
    each refresh, every 0.2 s) while ``venue()`` plays the venue in a thread (it ends the run with SIGINT)."""
    from liqcore.cli import main

    from tests.market._venues import _bybit_app

    t = threading.Thread(target=venue, daemon=True)
    try:
        with Server(_bybit_app([], names=names)) as srv:
            t.start()
            return main(["run", "--venue", "bybit", "--symbols", "all", "--rest-url", srv.url, "--ws-url",
                         ft.fx.public_ws_url, "--instruments-refresh", "0.2s", "--no-dashboard", "--duration", "200",
                         "--json", "--journal", str(journal), "--min-history", "5", "--history", "50",
                         "--notional", "100", *flags])
    finally:
        t.join(30)
        ft.stop()


def _events_total(port: int) -> float:
    """The run's ``liqcore_events_total`` (its Prometheus endpoint on 127.0.0.1), -1 while it does not answer."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return -1.0
    return next((float(ln.split()[-1]) for ln in text.splitlines() if ln.startswith("liqcore_events_total")), -1.0)


def _entry_qty(journal, sym: str) -> float:
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
        return db.execute("SELECT qty FROM orders WHERE symbol = ? AND kind = 'entry'", (sym,)).fetchone()[0]


def _on_grid(x: float, step: str) -> bool:
    """``x`` (as the journal keeps it) a whole number of ``step``s."""
    from decimal import Decimal

    q = Decimal(repr(x)) / Decimal(step)
    return q == q.to_integral_value() and q > 0


@pytest.mark.integration
@pytest.mark.timeout(300)
@pytest.mark.parametrize("delisted", ["report", "close"])
def test_a_refreshed_list_stops_orders_on_delisted_symbols_and_watches_new_listings(delisted, tmp_path, capsys):
    from liqcore.cli import main
    from liqcore.testing.fake_exchange import FakeExchangeThread
    from liqcore.venues.fake_streams import FakeMarketStream
    from liqcore.venues.binance.samples import liquidation_frame

    names = [f"C{i:03d}USDT" for i in range(10)]
    ft = FakeExchangeThread(FakeMarketStream, venue="binance")
    fs = ft.start()
    journal = tmp_path / "s.sqlite"
    steps: dict = {}

    def trade(sym: str, price: float) -> None:
        now = int(time.time() * 1000)
        ft.call(fs.push(orjson.dumps({"e": "aggTrade", "E": now, "s": sym, "a": 1, "p": f"{price:.4f}", "q": "100",
                                      "f": 1, "l": 1, "T": now, "m": False}), f"{sym.lower()}@aggTrade"))

    def cascade(sym: str) -> None:
        """A trade (the reference price), six small liquidations and two large ones 1 s apart."""
        now = int(time.time() * 1000)
        trade(sym, 2.5)
        for i, q in enumerate([50, 10, 30, 20, 40, 15, 1000, 1200]):
            ft.call(fs.push(liquidation_frame(sym, now - 9000 + i * 1000, q, 2.5, "SELL"), "!forceOrder@arr"))

    def decided(sym):
        return [d for d in _rows(journal, "decision") if d["symbol"] == sym]

    def venue():
        deadline = time.monotonic() + 120
        try:
            _wait(lambda: fs.subscribed("!forceOrder@arr") and fs.subscribed("c006usdt@aggTrade"), deadline)
            cascade("C005USDT")  # an entry rests on C005 (the paper venue has no print through it)
            steps["entry"] = _wait(lambda: [d for d in decided("C005USDT") if d["action"] == "order"], deadline)
            if delisted == "close":  # a print through the entry: a position on C005
                trade("C005USDT", 2.0)
                steps["filled"] = _wait(lambda: (_entry_status(journal, "C005USDT") or ("",))[0] == "filled",
                                        deadline)
            names.remove("C005USDT")  # the venue delists C005 and C006 and lists NEW9
            names.remove("C006USDT")
            names.append("NEW9USDT")
            steps["refreshed"] = _wait(lambda: _rows(journal, "instruments"), deadline)
            # the delisted symbols' --also trade streams are unsubscribed; the new listing's stay
            steps["unsubscribed"] = _wait(lambda: not fs.subscribed("c005usdt@aggTrade")
                                          and not fs.subscribed("c006usdt@aggTrade"), deadline)
            steps["kept"] = fs.subscribed("new9usdt@aggTrade") and fs.subscribed("!forceOrder@arr")
            cascade("C006USDT")
            cascade("NEW9USDT")
            steps["decided"] = _wait(lambda: decided("C006USDT") and decided("NEW9USDT"), deadline)
        finally:
            os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=venue, daemon=True)
    try:
        with Server(_binance_app(names)) as srv:
            t.start()
            code = main(["run", "--venue", "binance", "--symbols", "all", "--also", "C005USDT,C006USDT,NEW9USDT",
                         "--rest-url", srv.url, "--ws-url", fs.ws_url, "--instruments-refresh", "0.2s",
                         "--no-dashboard", "--duration", "200", "--json", "--journal", str(journal),
                         "--min-history", "5", "--history", "50", "--notional", "100", "--delisted", delisted])
    finally:
        t.join(30)
        ft.stop()
    out = capsys.readouterr()
    assert code == 0, out.err
    assert all(steps.values()) and len(steps) == (6 if delisted == "close" else 5), (steps, out.err[-3000:])
    summary = orjson.loads(out.out.strip().splitlines()[-1])
    assert summary["instruments"]["left"] == ["C005USDT", "C006USDT"] and summary["instruments"]["joined"] == ["NEW9USDT"]
    # C006: traded at start, delisted since: its cascade is refused before anything is sent
    assert [d["reason"] for d in decided("C006USDT")] == ["no_instrument"]
    # the new listing: traded at once, its entry on its own grid (tick 0.0001, lot 10)
    assert [d["action"] for d in decided("NEW9USDT")] == ["order"]
    assert summary["orders"] == 2  # C005's entry, placed before it was delisted, and NEW9's
    status, price = _entry_status(journal, "NEW9USDT")
    assert _on_grid(price, "0.0001") and _on_grid(_entry_qty(journal, "NEW9USDT"), "10")
    assert "NEW9USDT" in summary["symbols"]
    (row,) = _rows(journal, "instruments")
    assert row["left"] == ["C005USDT", "C006USDT"] and row["joined"] == ["NEW9USDT"]
    gone = {r["symbol"]: r for r in _rows(journal, "delisted")}
    assert set(gone) == {"C005USDT", "C006USDT"}
    assert {s: r["unsubscribed"] for s, r in gone.items()} == {"C005USDT": ["c005usdt@aggTrade"],
                                                               "C006USDT": ["c006usdt@aggTrade"]}
    assert [(r["symbol"], r["traded"]) for r in _rows(journal, "listed")] == [("NEW9USDT", True)]
    if delisted == "report":
        assert gone["C005USDT"]["resting_entry"] and "action" not in gone["C005USDT"]
        assert "C005USDT left the venue's instrument list with resting_entry" in out.err
        assert "the position keeps its exits" in out.err and summary["trades"] == []
    else:  # the position closed at market, at the last print
        assert gone["C005USDT"]["position_qty"] > 0 and gone["C005USDT"]["action"] == "closed"
        assert "its position closed at market" in out.err
        (tr,) = summary["trades"]
        assert tr["symbol"] == "C005USDT" and tr["exit_price"] == pytest.approx(2.0)


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_new_bybit_listing_is_subscribed_and_traded_without_a_restart(tmp_path, capsys):
    """Bybit has one ``allLiquidation`` topic per symbol: a listing that joins the refreshed list is subscribed at
    once (on the connection that has room), becomes a traded symbol of the running engine, data on demand
    subscribes its trades when its first large liquidation arms it, and the cascade that follows places an
    entry rounded to its rules (tick 0.0001, lot 10), all without a restart."""
    from liqcore.testing.fake_exchange import FakeExchangeThread
    from liqcore.testing.fake_replay import liquidation_frame

    from tests._fake_market_run import free_port

    names = [f"C{i:03d}USDT" for i in range(10)]
    ft = FakeExchangeThread()
    fx = ft.start()
    journal = tmp_path / "s.sqlite"
    steps: dict = {}
    port = free_port()

    def venue():
        deadline = time.monotonic() + 120
        try:
            steps["subscribed"] = _wait(lambda: fx.subscribed("allLiquidation.C009USDT"), deadline)
            conns = fx.connections("public")
            names.append("NEW9USDT")
            steps["joined"] = _wait(lambda: fx.subscribed("allLiquidation.NEW9USDT"), deadline)
            steps["same_connection"] = fx.connections("public") == conns  # (the one connection had room)
            now = int(time.time() * 1000)
            for i, q in enumerate([50, 10, 30, 20, 40, 15, 1000]):
                ft.call(fx.push(liquidation_frame("NEW9USDT", 2.5, q, "Buy", now - 9000 + i * 1000)))
            # the large one arms it: its trades are subscribed on demand (the reference price of its entry)
            steps["on_demand"] = _wait(lambda: fx.subscribed("publicTrade.NEW9USDT"), deadline)
            seen = _events_total(port)
            ft.call(fx.trade("NEW9USDT", 2.51237, 100.0))
            # (the trade comes on the on-demand connection: processed before the confirming liquidation is sent)
            steps["traded"] = _wait(lambda: _events_total(port) > seen, deadline)
            ft.call(fx.push(liquidation_frame("NEW9USDT", 2.5, 1200, "Buy", now - 2000)))
            steps["decided"] = _wait(lambda: [d for d in _rows(journal, "decision") if d["symbol"] == "NEW9USDT"],
                                     deadline)
        finally:
            os.kill(os.getpid(), signal.SIGINT)

    code = _run_bybit_all(ft, venue, names, journal, "--on-demand", "5", "--metrics-port", str(port))
    out = capsys.readouterr()
    assert code == 0, out.err
    assert steps == {"subscribed": True, "joined": True, "same_connection": True, "on_demand": True, "traded": True,
                     "decided": True}, out.err[-3000:]
    summary = orjson.loads(out.out.strip().splitlines()[-1])
    assert summary["instruments"]["joined"] == ["NEW9USDT"] and summary["cascades_by_symbol"] == {"NEW9USDT": 1}
    assert [d["action"] for d in _rows(journal, "decision")] == ["order"] and summary["orders"] == 1
    status, price = _entry_status(journal, "NEW9USDT")
    qty = _entry_qty(journal, "NEW9USDT")
    assert _on_grid(price, "0.0001") and _on_grid(qty, "10") and price * qty >= 5.0  # (its minimum notional)
    assert [(r["symbol"], r["traded"]) for r in _rows(journal, "listed")] == [("NEW9USDT", True)]


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_delisted_bybit_symbol_s_topics_are_unsubscribed_and_stay_so_after_a_reconnect(tmp_path, capsys):
    """A symbol the refreshed list no longer holds: the fake Bybit receives the ``unsubscribe`` op for exactly its
    ``allLiquidation`` topic (on the whole-market connection) and its on-demand trade topic (on the data-on-demand
    connection); its resting entry is reported (``--delisted report``) with what was unsubscribed; after the
    venue drops every public connection, the reconnects subscribe the others' topics but never its."""
    from liqcore.testing.fake_exchange import FakeExchangeThread
    from liqcore.testing.fake_replay import liquidation_frame

    names = [f"C{i:03d}USDT" for i in range(10)]
    ft = FakeExchangeThread()
    fx = ft.start()
    journal = tmp_path / "s.sqlite"
    steps: dict = {}
    gone = {"allLiquidation.C005USDT", "publicTrade.C005USDT"}

    def unsubscribed():
        return [(cid, a) for cid, op, args, ok in list(fx.public_ops) if op == "unsubscribe" for a in args]

    def venue():
        deadline = time.monotonic() + 120
        try:
            steps["subscribed"] = _wait(lambda: fx.subscribed("allLiquidation.C009USDT")
                                        and fx.subscribed("publicTrade.C005USDT"), deadline)
            ft.call(fx.trade("C005USDT", 2.5, 100.0))  # (the entry's reference price; nothing prints through it)
            time.sleep(0.2)
            now = int(time.time() * 1000)
            for i, q in enumerate([50, 10, 30, 20, 40, 15, 1000, 1200]):
                ft.call(fx.push(liquidation_frame("C005USDT", 2.5, q, "Buy", now - 9000 + i * 1000)))
            steps["entry"] = _wait(lambda: (_entry_status(journal, "C005USDT") or ("",))[0] == "new", deadline)
            names.remove("C005USDT")  # the venue delists C005
            steps["unsubscribed"] = _wait(lambda: {a for _, a in unsubscribed()} == gone
                                          and _rows(journal, "delisted"), deadline)
            steps["settled"] = _wait(lambda: not any(fx.subscribed(t) for t in gone), deadline)
            n_ops = len(fx.public_ops)
            steps["dropped"] = fx.drop("public") >= 2
            # both connections back (the whole-market one re-sent its one subscribe request: all ten topics)
            steps["resubscribed"] = _wait(lambda: fx.connections("public") == 2 and fx.subscribed(
                "allLiquidation.C009USDT") and fx.subscribed("allLiquidation.C004USDT"), deadline)
            steps["not_again"] = not any(fx.subscribed(t) for t in gone) and not any(
                a in gone for _, op, args, _ in fx.public_ops[n_ops:] if op == "subscribe" for a in args)
        finally:
            os.kill(os.getpid(), signal.SIGINT)

    code = _run_bybit_all(ft, venue, names, journal, "--on-demand", "5", "--book-symbols", "C005USDT")
    out = capsys.readouterr()
    assert code == 0, out.err
    assert steps == {k: True for k in ("subscribed", "entry", "unsubscribed", "settled", "dropped", "resubscribed",
                                       "not_again")}, (steps, out.err[-3000:])
    ops = unsubscribed()
    assert sorted(a for _, a in ops) == sorted(gone)  # exactly its topics, each once
    assert len({cid for cid, _ in ops}) == 2  # (the whole-market connection and the data-on-demand one)
    (row,) = _rows(journal, "delisted")
    assert row["symbol"] == "C005USDT" and row["resting_entry"] and sorted(row["unsubscribed"]) == sorted(gone)
    assert "C005USDT left the venue's instrument list with resting_entry" in out.err
