"""``liqcore run --venue okx --live`` in a child process on one of OKX's bad days, against the fake OKX v5 venue on
127.0.0.1, each fault from its document:

* the entry's create answered 50004 (OKX v5 "Error Code": "does not mean that the request was successful or
  failed, please check the request result") with the order really created: asked for by clOrdId, never rejected,
  never sent twice;
* the entry fills while the private socket is open but mute (OKX v5 "WebSocket: Connect"), then the connection
  drops: after the reconnect the fill comes from ``GET /api/v5/trade/fills`` ("Get transaction details (last 3
  days)"), booked once, its take-profit / stop-loss placed;
* OKX cancels that algo order (``orders-algo`` on ``/ws/v5/business``): said on stderr in one line, placed again;
* SIGINT: every order OKX holds is one liqcore knows, no fill doubled or lost.
"""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from liqcore.testing.fake_exchange import FakeExchangeThread
from liqcore.venues.okx.fake import FakeOkx

from _live_helpers import BASELINE
from _procs import signal_and_wait, wait_until

pytestmark = pytest.mark.integration

DETECTOR = ["--min-history", "5", "--history", "50"]
INST = "ETH-USDT-SWAP"  # ctVal 0.1 ETH in the fake


def _journal(path: Path, sql: str) -> list[tuple]:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return []
    try:
        return con.execute(sql).fetchall()
    except sqlite3.Error:
        return []
    finally:
        con.close()


def _cascade(t0_ms: int) -> list[bytes]:
    from liqcore.venues.okx.samples import liquidation_frame, trade_frame

    frames = [liquidation_frame(INST, t0_ms + i * 1000, round(q * 10, 4), 3000.0, "sell") for i, q in enumerate(BASELINE)]
    frames.append(trade_frame(INST, t0_ms + 20_000, 1, 3000.0, "sell"))
    frames.append(liquidation_frame(INST, t0_ms + 21_000, 100, 3000.0, "sell"))
    frames.append(liquidation_frame(INST, t0_ms + 22_000, 120, 2999.0, "sell"))
    return frames


def _sync(th: FakeExchangeThread, fn):
    async def call():
        return fn()
    return th.call(call())


@pytest.mark.timeout(240)
def test_okx_live_run_through_unknown_create_mute_socket_missed_fill_and_a_cancelled_exit(tmp_path):
    th = FakeExchangeThread(FakeOkx)
    fo = th.start()
    try:
        _sync(th, lambda: fo.set_last_price(INST, 3000.0))
        kf = tmp_path / "keys.env"
        kf.write_text(f"OKX_API_KEY={fo.api_key}\nOKX_API_SECRET={fo.api_secret}\nOKX_API_PASSPHRASE={fo.passphrase}\n")
        kf.chmod(0o600)
        base = f"ws://127.0.0.1:{fo.port}"
        journal = tmp_path / "j.sqlite"
        child = subprocess.Popen([sys.executable, "-m", "liqcore", "run", "--venue", "okx", "--symbols", INST, "--live",
                                  "--key-file", str(kf), "--ws-url", base, "--rest-url", f"http://127.0.0.1:{fo.port}",
                                  "--private-ws-url", base, "--journal", str(journal), "--json", "--no-dashboard",
                                  "--duration", "150", "--log", str(tmp_path / "log.jsonl"), *DETECTOR],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_until(child, lambda: fo.subscribed("liquidation-orders", "public") and fo.subscribed("trades", "public")
                   and fo.subscribed("orders", "private") and fo.subscribed("orders-algo", "business"),
                   "public, private and business channels subscribed")
        # the entry's create: processed by OKX, answered 50004 (outcome unknown)
        _sync(th, lambda: fo.answer_code_next("50004", "/api/v5/trade/order", process=True))
        for f in _cascade(int(time.time() * 1000) - 30_000):
            d = orjson.loads(f)
            th.call(fo.publish(d["arg"]["channel"], d["arg"], d["data"]))
        wait_until(child, lambda: fo.requests_to("/api/v5/trade/order", "GET"), "the entry asked for by clOrdId")
        posts = fo.requests_to("/api/v5/trade/order", "POST")
        assert len(posts) == 1 and posts[0].ret_code == "50004", [(r.ret_code, r.fault) for r in posts]
        cl = posts[0].body["clOrdId"]
        assert len([o for o in fo.orders_with_client_id(cl) if o.status == "New"]) == 1
        wait_until(child, lambda: _journal(journal, "SELECT status FROM orders WHERE kind='entry' AND venue_order_id != ''"),
                   "the entry journaled with OKX's ordId")
        assert _journal(journal, "SELECT status FROM orders WHERE kind='entry'")[0][0] != "rejected"
        # the entry fills while the private socket is mute; then the socket drops
        _sync(th, lambda: fo.mute("private"))
        px = float(posts[0].body["px"])
        th.call(fo.trade(INST, px - 1.0))
        assert len(fo.fills()) == 1
        _sync(th, lambda: fo.drop("private"))
        wait_until(child, lambda: fo.requests_to("/api/v5/trade/fills", "GET") and len(fo.algos()) == 1,
                   "the missed fill fetched and its take-profit / stop-loss placed")
        wait_until(child, lambda: _journal(journal, "SELECT 1 FROM fills"), "the fill journaled")
        # OKX cancels the algo order of its own accord
        (acl,) = fo.algos()
        th.call(fo.cancel_algo_by_venue(acl))
        wait_until(child, lambda: [a for a in fo.algos().values() if a["state"] == "live"], "the exit placed again")
        signal_and_wait(child, signal.SIGINT, 60, "liqcore run --venue okx --live")
        out, err = child.communicate()
        assert child.returncode == 0, err.decode()[-3000:]
        # the one line on liqcore.protection (its stderr notice is the run's wiring): lost, then replaced
        logs = [orjson.loads(ln) for ln in (tmp_path / "log.jsonl").read_bytes().splitlines() if ln.strip()]
        said = [r["msg"] for r in logs if r.get("logger") == "liqcore.protection"]
        assert len(said) == 2 and "position unprotected" in said[0] and "replaced" in said[1], said
        assert "okx" in said[0] and "ETH" in said[0] and "canceled" in said[0], said
        # invariants: every order OKX holds is one liqcore journaled; the fill booked once
        from liqcore.venues.okx.rest import okx_client_id

        known = {r[0] for r in _journal(journal, "SELECT client_id FROM orders")}
        ours = {okx_client_id(k) for k in known} | {okx_client_id(f"{k}-b{g}") for k in known for g in ("", 1, 2, 3)}
        live = [o for o in fo.venue.orders.values() if o.status in ("New", "PartiallyFilled")]
        assert all(o.order_link_id in ours for o in live), (live, known)
        algos = [a for a in fo.algos().values() if a["state"] == "live"]
        assert all(a["algoClOrdId"] in ours for a in algos), (algos, known)
        # after SIGINT no entry is left resting, and a position left open keeps its take-profit and stop-loss
        assert not [o for o in live if not o.reduce_only], live
        pos = fo.venue.positions[INST].size
        assert pos == 0 or [a for a in algos if float(a["sz"]) == abs(pos)], (pos, algos)
        fills = _journal(journal, "SELECT exec_id FROM fills")
        assert len(fills) == len(fo.fills()) == 1, fills
        summary = orjson.loads(out.decode().strip().splitlines()[-1])
        assert summary["fills_by_kind"]["entry"] == 1
        blob = out + err + b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "keys.env")
        for secret in (fo.api_key, fo.api_secret, fo.passphrase):  # (no key, secret or passphrase in any output)
            assert secret.encode() not in blob
    finally:
        th.stop()
