"""`liqcore run --symbols all` asks the venue for its instrument list again while it runs
(``--instruments-refresh``): against a local Binance REST server whose list changes, a delisted symbol gets no
new order (its resting entry reported), a new listing is watched, and both are logged and journaled."""
from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time

import orjson
import pytest

from tests.market._venues import Server, _binance_app


def _rows(journal, kind: str) -> list[dict]:
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
            return [orjson.loads(d) for (d,) in db.execute("SELECT data FROM log WHERE type = ?", (kind,))]
    except sqlite3.Error:  # (not created yet, or busy)
        return []


def _wait(cond, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_refreshed_list_stops_orders_on_delisted_symbols_and_watches_new_listings(tmp_path, capsys):
    from liqcore.cli import main
    from liqcore.testing.fake_exchange import FakeExchangeThread
    from liqcore.testing.fake_streams import FakeMarketStream
    from liqcore.venues.binance.samples import liquidation_frame

    names = [f"C{i:03d}USDT" for i in range(10)]
    ft = FakeExchangeThread(FakeMarketStream, venue="binance")
    fs = ft.start()
    journal = tmp_path / "s.sqlite"
    steps: dict = {}

    def cascade(sym: str) -> None:
        """A trade (the reference price), six small liquidations and two large ones 1 s apart."""
        now = int(time.time() * 1000)
        ft.call(fs.push(orjson.dumps({"e": "aggTrade", "E": now, "s": sym, "a": 1, "p": "2.5000", "q": "100",
                                      "f": 1, "l": 1, "T": now, "m": False}), f"{sym.lower()}@aggTrade"))
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
            names.remove("C005USDT")  # the venue delists C005 and C006 and lists NEW9
            names.remove("C006USDT")
            names.append("NEW9USDT")
            steps["refreshed"] = _wait(lambda: _rows(journal, "instruments"), deadline)
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
                         "--min-history", "5", "--history", "50", "--notional", "100"])
    finally:
        t.join(30)
        ft.stop()
    out = capsys.readouterr()
    assert code == 0, out.err
    assert steps == {"entry": True, "refreshed": True, "decided": True}, out.err[-3000:]
    summary = orjson.loads(out.out.strip().splitlines()[-1])
    assert summary["instruments"]["left"] == ["C005USDT", "C006USDT"] and summary["instruments"]["joined"] == ["NEW9USDT"]
    # C006: traded at start, delisted since: its cascade is refused before anything is sent
    assert [d["reason"] for d in decided("C006USDT")] == ["no_instrument"]
    assert [d["reason"] for d in decided("NEW9USDT")] == ["not_traded"]  # watched; traded from the next start
    assert summary["orders"] == 1  # C005's entry, placed before it was delisted
    (row,) = _rows(journal, "instruments")
    assert row["left"] == ["C005USDT", "C006USDT"] and row["joined"] == ["NEW9USDT"]
    delisted = {r["symbol"]: r for r in _rows(journal, "delisted")}
    assert set(delisted) == {"C005USDT", "C006USDT"} and delisted["C005USDT"]["resting_entry"]
    assert [r["symbol"] for r in _rows(journal, "listed")] == ["NEW9USDT"]
    assert "C005USDT left the venue's instrument list with resting_entry" in out.err
