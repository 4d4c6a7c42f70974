"""``liqcore run --venue binance --live`` in a child process against the fake Binance on 127.0.0.1 on its bad days,
each fault the one a Binance document describes:

* User Data Streams, "Keepalive User Data Stream": the keepalive (``--listen-key-keepalive``) answered -1125 "This
  listenKey does not exist.": a new listenKey and stream, the fill made meanwhile booked once with its exits;
* "Error Codes" -1007 TIMEOUT ("Send status unknown; execution status unknown.") on the entry's create, the order
  really made: it is found by its client id and managed (filled, protected), never taken for a rejection.

After each, with the run stopped by SIGINT: every order the venue holds is known to the run's journal in the
venue's state, no fill is booked twice, and a position still open holds both its take-profit and stop-loss at
the venue (a flat one none)."""
from __future__ import annotations

import signal
import time

import orjson
import pytest

from tests._bad_days import binance_cascade, binance_cascade_to_entry, binance_run, \
    binance_thread, journal_rows, key_file, on_loop, params, start

from _procs import signal_and_wait, wait_until

pytestmark = pytest.mark.integration


def _fill_entry_and_wait_for_exits(th, fb, child, entry):
    px = float(entry["price"])
    th.call(fb.trade("ETHUSDT", px - 1.0))  # a print through the resting buy: filled

    def brackets():
        return [params(r) for r in fb.requests_to("/fapi/v1/algoOrder", "POST") if r.http_status == 200]
    wait_until(child, lambda: len(brackets()) >= 2, "take-profit and stop-loss placed")
    return brackets()


def _stop_and_summary(child, tmp_path):
    signal_and_wait(child, signal.SIGINT, 60, "liqcore run --venue binance --live")
    out, err = child.communicate()
    assert child.returncode == 0, err.decode()[-2000:]
    return orjson.loads(out.decode().strip().splitlines()[-1]), err.decode()


def _venue_orders_known(fb, tmp_path):
    """Every regular order the venue holds is in the run's journal under the same client id, in the same state."""
    journal = {cid: st for cid, st in journal_rows(tmp_path / "j.sqlite", "SELECT client_id, status FROM orders "
                                                                                 "WHERE kind IN ('entry', 'exit')")}
    names = {"New": "new", "PartiallyFilled": "partially_filled", "Filled": "filled", "Cancelled": "cancelled"}
    for o in fb.venue.orders.values():
        if o.stop_order_type:
            continue
        assert o.order_link_id in journal, (o.order_link_id, journal)
        assert journal[o.order_link_id] == names.get(o.status, o.status), (o.order_link_id, o.status, journal)
    pending = [o for o in fb.venue.orders.values() if o.stop_order_type and o.status == "Untriggered"]
    size = fb.venue.positions["ETHUSDT"].size if "ETHUSDT" in fb.venue.positions else 0.0
    if size:
        assert sorted(o.stop_order_type for o in pending) == ["StopLoss", "TakeProfit"], pending
        assert all(o.qty == abs(size) and o.reduce_only for o in pending), pending
    else:
        assert not pending, pending


@pytest.mark.timeout(240)
def test_cli_listen_key_keepalive_answered_minus_1125_renews_the_stream_and_books_the_missed_fill_once(tmp_path):
    with binance_thread() as (th, fb):
        child = binance_run(tmp_path, fb, ["--listen-key-keepalive", "0.5"])
        entry = binance_cascade_to_entry(th, fb, child)
        cid = entry["newClientOrderId"]
        on_loop(th, fb.expire_listen_keys)  # (the open stream gets nothing from now on)
        _fill_entry_and_wait_for_exits(th, fb, child, entry)
        wait_until(child, lambda: journal_rows(tmp_path / "j.sqlite", f"SELECT 1 FROM fills WHERE client_id='{cid}'"),
                   "the fill made while the listenKey was gone journaled")
        assert -1125 in fb.keepalive_answers
        assert len(fb.requests_to("/fapi/v1/listenKey", "POST")) >= 2
        summary, err = _stop_and_summary(child, tmp_path)
        assert summary["fills_by_kind"]["entry"] == 1, summary["fills_by_kind"]
        _venue_orders_known(fb, tmp_path)


@pytest.mark.timeout(240)
def test_cli_entry_create_answered_minus_1007_with_the_order_made_is_found_and_managed(tmp_path):
    with binance_thread() as (th, fb):
        on_loop(th, lambda: fb.unknown_outcome_next(1, code=-1007, status=408, created=True))
        child = binance_run(tmp_path, fb)
        # (the entry's create is answered -1007 while the venue makes the order)
        entry_posts = []

        def made():  # (the fake makes the order, pushes its events, then records its answer: all three awaited)
            entry_posts[:] = [r for r in fb.requests_to("/fapi/v1/order", "POST")]
            return entry_posts and entry_posts[0].ret_code is not None \
                and fb.orders_with_client_id(entry_posts[0].query["newClientOrderId"])
        _play_cascade(th, fb, child)
        wait_until(child, made, "the entry made at the venue and its create answered")
        cid = entry_posts[0].query["newClientOrderId"]
        assert entry_posts[0].ret_code == -1007 and entry_posts[0].http_status == 408
        wait_until(child, lambda: [r for r in fb.requests_to("/fapi/v1/order", "GET")
                                   if r.query.get("origClientOrderId") == cid], "the order asked for by its client id")
        wait_until(child, lambda: journal_rows(tmp_path / "j.sqlite",
                                               f"SELECT 1 FROM orders WHERE client_id='{cid}' AND status='new'"),
                   "the order journaled as the venue holds it (new)")
        assert len(fb.orders_with_client_id(cid)) == 1
        assert len([r for r in fb.requests_to("/fapi/v1/order", "POST")
                    if r.query.get("newClientOrderId") == cid]) == 1  # never sent twice
        _fill_entry_and_wait_for_exits(th, fb, child, params(entry_posts[0]))
        summary, err = _stop_and_summary(child, tmp_path)
        assert summary["fills_by_kind"]["entry"] == 1
        assert not journal_rows(tmp_path / "j.sqlite", f"SELECT 1 FROM orders WHERE client_id='{cid}' AND status='rejected'")
        _venue_orders_known(fb, tmp_path)


def _play_cascade(th, fb, child):
    """Wait (bounded) until the child subscribed the liquidations, trades and top of book and its user stream is
    connected, then play the cascade (:func:`binance_cascade`, 30 s ago) on the fake's market streams (the entry
    it makes is the caller's to wait for: its create may meet a fault)."""
    wait_until(child, lambda: fb.market.subscribed("ethusdt@forceOrder") and fb.market.subscribed("ethusdt@aggTrade")
               and fb._conns and fb.market.subscribed("ethusdt@bookTicker"), "streams subscribed, user stream connected")
    t0 = int(time.time() * 1000) - 30_000
    for kind, f in binance_cascade(t0):
        on_loop(th, (lambda f=f: fb.market.liquidation(f, "ETHUSDT")) if kind == "liq"
                else (lambda f=f: fb.market.trade(f, "ETHUSDT")))


@pytest.mark.timeout(240)
def test_cli_http_418_with_retry_after_stops_every_request_until_it_ends_and_says_so_once(tmp_path):
    """[General Info, IP Limits] a request of the run answered HTTP 418 with Retry-After 4 s: the ban is said once,
    in one line naming the venue and its end (in the run's log, stderr without --log); nothing reaches the venue
    until it ends (no request of any caller of the run in the ban, its listenKey keepalive every 0.5 s included);
    the signal of a cascade in the ban is skipped, not sent, and said with the ban's line; after the ban requests
    go out again; the run goes on and stops cleanly.  (The ban is met by a keepalive before the cascade is played:
    the signal always comes in a known ban, never as the request that meets it; the gateway's own refusal of a
    create in a ban is tested in-process, test_binance_bad_days.py.)"""
    with binance_thread() as (th, fb):
        child = binance_run(tmp_path, fb, ["--listen-key-keepalive", "0.5"])
        wait_until(child, lambda: fb._conns, "user stream connected")
        on_loop(th, lambda: fb.ban_next(retry_after_s=4))
        wait_until(child, lambda: any(r.http_status == 418 for r in fb.requests), "a request met the ban")
        _play_cascade(th, fb, child)
        wait_until(child, lambda: time.monotonic() > fb.ban_until, "the ban over")
        n = len(fb.requests)
        wait_until(child, lambda: any(r.http_status == 200 for r in fb.requests[n:]), "a request sent after the ban")
        assert fb.requests_in_ban == 0, [(r.method, r.path) for r in fb.requests if r.http_status == 418]
        summary, err = _stop_and_summary(child, tmp_path)
        log = [orjson.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines() if x.strip()]
        bans = [x["msg"] for x in log if x["logger"] == "liqcore.governor" and "IP banned by" in x["msg"]]
        assert len(bans) == 1 and bans[0].startswith("binance: IP banned by 127.0.0.1:") and "until" in bans[0] \
            and "HTTP 418, Retry-After 4 s" in bans[0], bans  # (the --log file takes the run's lines; else stderr)
        assert "\n" not in bans[0]
        # the signal in the known ban: skipped, not sent, said with the ban's line (liqcore.governor.skip)
        skipped = [x["msg"] for x in log if x["logger"] == "liqcore.governor.skip"]
        assert skipped and all("ETHUSDT skipped, not sent into the ban: binance: IP banned by 127.0.0.1:" in m
                               for m in skipped), skipped
        assert not fb.requests_to("/fapi/v1/order", "POST")  # (no entry reached the venue, in the ban or after)
        assert not fb.orders_with_client_id("") and all(o.order_link_id for o in fb.venue.orders.values())
        _venue_orders_known(fb, tmp_path)


@pytest.mark.timeout(240)
def test_cli_start_equity_includes_unrealized_pnl_from_the_v3_account_and_v2_is_never_asked(tmp_path):
    """"Account Information V3": the run's start equity (journaled, and ``equity`` in ``--json``) is the wallet
    plus the unrealized PnL of a position held before the start (here XRPUSDT, +50 USDT); the retired v2
    account paths are never asked."""
    with binance_thread() as (th, fb):
        def setup():
            fb.venue.set_position("XRPUSDT", 100.0, 0.5)
            fb.set_last_price("XRPUSDT", 1.0)  # (+0.5 x 100 = +50 USDT unrealized)
        on_loop(th, setup)
        wallet = fb.venue.wallet_balance
        child = binance_run(tmp_path, fb)
        wait_until(child, lambda: journal_rows(tmp_path / "j.sqlite", "SELECT 1 FROM log WHERE type='equity'"),
                   "the start equity journaled")
        (row,) = journal_rows(tmp_path / "j.sqlite", "SELECT data FROM log WHERE type='equity' AND key='start'")
        assert orjson.loads(row[0])["equity"] == pytest.approx(wallet + 50.0)
        summary, err = _stop_and_summary(child, tmp_path)
        assert not [r.path for r in fb.requests if r.path.startswith("/fapi/v2/")]
        assert fb.requests_to("/fapi/v3/account")
        # said in the unit it was read in, the USDT asset's (the log said "USD" of every venue's figure)
        said = [orjson.loads(x)["msg"] for x in (tmp_path / "log.jsonl").read_bytes().splitlines() if x.strip()]
        assert f"start equity {wallet + 50.0:.2f} USDT (wallet balance + unrealized PnL, read from binance)" in said, \
            [m for m in said if "equity" in m]


@pytest.mark.timeout(240)
def test_cli_fill_during_a_dropped_user_stream_is_booked_once_with_its_exits(tmp_path):
    """The user stream dropped while the entry fills (the events lost with it): after the reconnect the fill comes
    from ``GET /fapi/v1/userTrades`` ("Account Trade List"), booked once, and its exits are placed at once."""
    with binance_thread() as (th, fb):
        child = binance_run(tmp_path, fb)
        entry = binance_cascade_to_entry(th, fb, child)
        cid = entry["newClientOrderId"]

        def stall():
            fb.stalled = True
        on_loop(th, stall)
        th.call(fb.trade("ETHUSDT", float(entry["price"]) - 1.0))  # filled, unseen

        def reopen():
            fb.stalled = False
            fb.drop()
        on_loop(th, reopen)
        wait_until(child, lambda: len([r for r in fb.requests_to("/fapi/v1/algoOrder", "POST")
                                       if r.http_status == 200]) >= 2, "the exits placed for the late fill")
        wait_until(child, lambda: journal_rows(tmp_path / "j.sqlite", f"SELECT 1 FROM fills WHERE client_id='{cid}'"),
                   "the late fill journaled")
        assert fb.requests_to("/fapi/v1/userTrades")
        summary, err = _stop_and_summary(child, tmp_path)
        assert summary["fills_by_kind"]["entry"] == 1
        _venue_orders_known(fb, tmp_path)


@pytest.mark.timeout(240)
def test_cli_exit_cancelled_by_the_venue_is_replaced_and_said_once(tmp_path):
    """"Event: Algo Order Update": the open position's stop-loss CANCELED by the venue: said on
    ``liqcore.protection`` (lost, then replaced), a new stop-loss at the same level under a new clientAlgoId;
    the position is never left without both exits beyond that."""
    with binance_thread() as (th, fb):
        child = binance_run(tmp_path, fb)
        entry = binance_cascade_to_entry(th, fb, child)
        cid = entry["newClientOrderId"]
        exits = _fill_entry_and_wait_for_exits(th, fb, child, entry)
        sl = next(p for p in exits if p["type"] == "STOP_MARKET")
        th.call(fb.venue_cancels_algo(f"{cid}-sl", "CANCELED"))
        wait_until(child, lambda: any(p["clientAlgoId"] == f"{cid[:26]}-r1-sl" for p in
                                      (params(r) for r in fb.requests_to("/fapi/v1/algoOrder", "POST")
                                       if r.http_status == 200)), "the stop-loss placed again")
        new = next(o for o in fb.venue.orders.values() if o.order_link_id == f"{cid[:26]}-r1-sl")
        assert new.status == "Untriggered" and new.trigger_price == float(sl["triggerPrice"])
        summary, err = _stop_and_summary(child, tmp_path)
        log = [orjson.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines() if x.strip()]
        said = [x["msg"] for x in log if x["logger"] == "liqcore.protection"]
        assert len(said) == 2 and "binance" in said[0] and "lost" in said[0] and "replaced" in said[1], said
        _venue_orders_known(fb, tmp_path)


@pytest.mark.timeout(240)
def test_cli_book_depth_snapshot_answered_429_with_retry_after_is_asked_again_only_after_it(tmp_path):
    """``--book depth``: the book waits for ``GET /fapi/v1/depth`` ("Order Book"); answered HTTP 429 with
    Retry-After 2 s ("General Info", HTTP Return Codes), the snapshot (and every other request to the host) waits
    for it through the host's governor, then the book is taken."""
    with binance_thread() as (th, fb):
        def setup():
            fb.market.depth_books["ETHUSDT"] = lambda: (100, [["2999.90", "5"]], [["3000.10", "4"]])
            fb.rate_limit_next(1, path="/fapi/v1/depth", retry_after_s=2)
        on_loop(th, setup)
        child = binance_run(tmp_path, fb, ["--book", "depth"])
        wait_until(child, lambda: fb.market.subscribed("ethusdt@depth@100ms") and fb._conns, "the depth stream subscribed")
        now = int(time.time() * 1000)
        frame = orjson.dumps({"e": "depthUpdate", "E": now, "T": now, "s": "ETHUSDT", "U": 95, "u": 101, "pu": 94,
                              "b": [["2999.90", "6"]], "a": []})
        on_loop(th, lambda: fb.market.write(frame, "ethusdt@depth@100ms"))

        def answered():
            return [r for r in fb.requests_to("/fapi/v1/depth") if r.http_status == 200]
        wait_until(child, answered, "the depth snapshot taken after the 429")
        tries = fb.requests_to("/fapi/v1/depth")
        assert tries[0].http_status == 429
        after = [r for r in fb.requests if r.recv_ns > tries[0].recv_ns]
        gap_s = (after[0].recv_ns - tries[0].recv_ns) / 1e9
        assert gap_s >= 1.9, f"the next request to the host {gap_s:.3f} s after a 429 with Retry-After 2 s"
        assert tries[1].query["limit"] == "1000"
        summary, err = _stop_and_summary(child, tmp_path)


def test_cli_listen_key_keepalive_of_zero_is_one_line_and_a_non_zero_exit(tmp_path):
    kf = key_file(tmp_path, "BINANCE_API_KEY=abc\nBINANCE_API_SECRET=def\n")
    child = start(["--venue", "binance", "--symbols", "ETHUSDT", "--live", "--key-file", str(kf), "--rest-url",
                   "http://127.0.0.1:9", "--ws-url", "ws://127.0.0.1:9", "--private-ws-url", "ws://127.0.0.1:9",
                   "--listen-key-keepalive", "0", "--no-dashboard"])
    out, err = child.communicate(timeout=120)
    lines = err.decode().strip().splitlines()
    assert child.returncode != 0 and len(lines) == 1 and "listen-key-keepalive: must be > 0 seconds" in lines[0], lines
