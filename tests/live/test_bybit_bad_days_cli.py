"""``liqcore run --venue bybit --live`` as a subprocess against the fake Bybit exchange on 127.0.0.1, on the venue's
bad days: an IP ban (Bybit v5 "Rate Limit", HTTP IP limit: HTTP 403 "access too frequent") said in one line; an
entry whose create is answered retCode 10000 "Server Timeout" ("Error Codes") though the venue created it, filled
while the private stream cannot connect, and booked once from ``/v5/execution/list``."""
from __future__ import annotations

import signal

import orjson
import pytest

from tests._bad_days import bybit_run, journal_rows, venue_thread

from _live_helpers import cascade_frames
from _procs import signal_and_wait, wait_until

pytestmark = pytest.mark.integration


@pytest.mark.timeout(120)
def test_run_against_a_banned_host_says_so_in_one_line(tmp_path):
    """Rate Limit, HTTP IP limit: the host answers 403 "access too frequent": the run stops at once with one line
    naming bybit and the ban (the time it ends), and sends nothing more to the host after the 403."""
    with venue_thread() as (th, fx):
        fx.ban(3600)
        child = bybit_run(tmp_path, fx, "60")
        out, err = child.communicate(timeout=90)
        lines = err.decode().strip().splitlines()
        assert child.returncode == 1, err.decode()[-3000:]
        # the ban said once by the governor (a log line), then the run's one-line error naming the venue and ban
        assert len(lines) == 2 and lines[-1].startswith("liqcore run: error: "), lines
        gov = orjson.loads(lines[0])
        assert gov["logger"] == "liqcore.governor" and gov["msg"].startswith("bybit: IP banned by 127.0.0.1:")
        assert "bybit" in lines[-1] and "IP banned" in lines[-1] and "until" in lines[-1], lines
        assert sum(1 for r in fx.requests if r.http_status == 403) == 1, [(r.path, r.http_status) for r in fx.requests]


@pytest.mark.timeout(240)
def test_run_entry_server_timeout_then_fill_during_a_disconnect_is_booked_once(tmp_path):
    """Error Codes 10000 "Server Timeout" with the order created: the run asks by orderLinkId and manages the order
    (never journaled rejected); its fill during a private-stream outage is journaled once after the reconnect."""
    with venue_thread() as (th, fx):
        child = bybit_run(tmp_path, fx)
        wait_until(child, lambda: fx.connections("public") >= 1 and fx.connections("private") >= 1, "connected")
        wait_until(child, lambda: fx.subscribed("allLiquidation.ETHUSDT") and fx.subscribed("orderbook.1.ETHUSDT"),
                   "subscribed")
        fx.ret_code_next(1, code=10000, message="Server Timeout", path="/v5/order/create", process=True)
        for f in cascade_frames():
            th.call(fx.push(f))
        wait_until(child, lambda: fx.requests_to("/v5/order/create"), "the entry placed")
        body = fx.requests_to("/v5/order/create")[0].body
        cid = body["orderLinkId"]
        jr = tmp_path / "j.sqlite"
        wait_until(child, lambda: [r for r in fx.requests_to("/v5/order/realtime") if r.query.get("orderLinkId") == cid],
                   "the order asked for by its orderLinkId")
        wait_until(child, lambda: journal_rows(jr, f"SELECT venue_order_id FROM orders WHERE client_id='{cid}' AND "
                                            "venue_order_id != ''"), "the entry known with its venue id")
        assert len(fx.orders_with_link(cid)) == 1 and len(fx.requests_to("/v5/order/create")) == 1
        fx.refuse_private = True
        assert fx.drop("private") == 1
        th.call(fx.trade("ETHUSDT", float(body["price"]) - 1.0))  # fills while the private stream is down
        fx.refuse_private = False
        wait_until(child, lambda: journal_rows(jr, f"SELECT 1 FROM fills WHERE client_id='{cid}'"), "the fill journaled")
        assert [o.stop_order_type for o in fx.venue.open_orders("ETHUSDT") if o.stop_order_type]  # its exits
        signal_and_wait(child, signal.SIGTERM, 60, "liqcore run --venue bybit --live")
        out, err = child.communicate()
        assert child.returncode == 0, err.decode()[-2000:]
        assert len(journal_rows(jr, f"SELECT 1 FROM fills WHERE client_id='{cid}'")) == 1
        statuses = {s for (s,) in journal_rows(jr, f"SELECT status FROM orders WHERE client_id='{cid}'")}
        assert "rejected" not in statuses, statuses
        summary = orjson.loads(out.decode().strip().splitlines()[-1])
        assert summary["fills_by_kind"]["entry"] == 1
