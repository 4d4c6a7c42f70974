"""``liqcore run --venue gate --live`` in a child process on one of Gate's bad days, against the fake Gate venue on
127.0.0.1, each fault from its document:

* the entry's create answered HTTP 500 ``INTERNAL`` (Gate API v4 "label list", server errors: "Internal server
  error") with the order really created: asked for by its ``text``, never rejected, never sent twice;
* the entry fills while the private socket is open but mute, then the connection drops: after the reconnect the fill
  comes from ``GET /api/v4/futures/usdt/my_trades``, booked once, its take-profit / stop-loss placed as
  price-triggered orders;
* Gate ends the take-profit of its own accord (``futures.autoorders``: finished, ``expired``): said on the
  protection log in one line, placed again;
* SIGINT: every order Gate holds is one liqcore journaled, no entry rests, no fill doubled or lost, no key or
  secret in any output.
"""
from __future__ import annotations

import signal
import time

import orjson
import pytest

from liqcore.testing.fake_exchange import FakeExchangeThread
from liqcore.venues.gate.fake import FakeGate
from liqcore.venues.gate.rest import gate_text
from tests.live.test_live_cli_venues import DETECTOR, journal_rows, key_file, on_loop, start

from _live_helpers import BASELINE
from _procs import signal_and_wait, wait_until

pytestmark = pytest.mark.integration

C = "ETH_USDT"  # quanto_multiplier 0.01 ETH in the fake
ORDERS = "/api/v4/futures/usdt/orders"


def gate_cascade(t0_ms: int) -> list[bytes]:
    """Liquidated longs (contracts of 0.01 ETH), a trade at 3000, then two large ones: a cascade under DETECTOR."""
    from liqcore.venues.gate.samples import liquidation_frame, trade_frame

    frames = [liquidation_frame(C, t0_ms + i * 1000, round(q * 100), 3000.0, "long") for i, q in enumerate(BASELINE)]
    frames.append(trade_frame(C, t0_ms + 20_000, 1, 3000.0, "sell"))
    frames.append(liquidation_frame(C, t0_ms + 21_000, 1000, 3000.0, "long"))
    frames.append(liquidation_frame(C, t0_ms + 22_000, 1200, 2999.0, "long"))
    return frames


def gate_run(tmp_path, fg, duration="150"):
    kf = key_file(tmp_path, f"GATE_API_KEY={fg.api_key}\nGATE_API_SECRET={fg.api_secret}\n")
    base = f"ws://127.0.0.1:{fg.port}"
    return start(["--venue", "gate", "--symbols", C, "--live", "--key-file", str(kf), "--ws-url", base,
                  "--rest-url", fg.rest_url, "--private-ws-url", base, "--journal", str(tmp_path / "j.sqlite"),
                  "--json", "--no-dashboard", "--duration", duration, "--log", str(tmp_path / "log.jsonl"), *DETECTOR])


@pytest.mark.timeout(240)
def test_gate_live_run_through_unknown_create_mute_socket_missed_fill_and_an_exit_gate_ends(tmp_path):
    th = FakeExchangeThread(FakeGate)
    fg = th.start()
    try:
        on_loop(th, lambda: fg.venue.last_price.__setitem__(C, 3000.0))
        child = gate_run(tmp_path, fg)
        journal = tmp_path / "j.sqlite"
        wait_until(child, lambda: fg.subscribed('{"channel":"futures.public_liquidates","payload":["!all"]}')
                   and fg.subscribed('{"channel":"futures.trades","payload":["ETH_USDT"]}')
                   and fg.subscribed("futures.orders") and fg.subscribed("futures.autoorders"),
                   "public and private channels subscribed")
        on_loop(th, lambda: fg.answer_label_next("INTERNAL", ORDERS, process=True))
        for f in gate_cascade(int(time.time() * 1000) - 30_000):
            th.call(fg.publish(f))
        wait_until(child, lambda: [r for r in fg.requests if r.method == "GET" and r.path.startswith(ORDERS + "/")],
                   "the entry asked for by its text")
        posts = fg.requests_to(ORDERS, "POST")
        assert len(posts) == 1 and posts[0].ret_code == "INTERNAL", [(r.ret_code, r.fault) for r in posts]
        text = posts[0].body["text"]
        assert len([o for o in fg.orders_with_text(text) if o["status"] == "open"]) == 1
        wait_until(child, lambda: journal_rows(journal, "SELECT status FROM orders WHERE kind='entry' AND "
                                                        "venue_order_id != ''"), "the entry journaled with Gate's id")
        assert journal_rows(journal, "SELECT status FROM orders WHERE kind='entry'")[0][0] != "rejected"
        # the entry fills while the private socket is mute; then the socket drops
        on_loop(th, fg.mute)
        th.call(fg.trade(C, float(posts[0].body["price"]) - 1.0))
        assert len(fg.venue.executions) == 1
        on_loop(th, fg.drop)
        wait_until(child, lambda: fg.requests_to("/api/v4/futures/usdt/my_trades", "GET")
                   and len(fg.auto_orders("open")) == 2, "the missed fill read and its take-profit / stop-loss placed")
        wait_until(child, lambda: journal_rows(journal, "SELECT 1 FROM fills"), "the fill journaled")
        # Gate ends the take-profit of its own accord
        tp = next(r["initial"]["text"] for r in fg.auto_orders("open") if r["initial"]["text"].endswith("-tp1"))
        th.call(fg.end_auto_by_venue(tp, "expired"))
        wait_until(child, lambda: any(r["initial"]["text"].endswith("-tp3") for r in fg.auto_orders("open")),
                   "the take-profit placed again")
        signal_and_wait(child, signal.SIGINT, 60, "liqcore run --venue gate --live")
        out, err = child.communicate()
        assert child.returncode == 0, err.decode()[-3000:]
        logs = [orjson.loads(ln) for ln in (tmp_path / "log.jsonl").read_bytes().splitlines() if ln.strip()]
        said = [r["msg"] for r in logs if r.get("logger") == "liqcore.protection"]
        assert len(said) == 2 and "position unprotected" in said[0] and "replaced" in said[1], said
        assert "gate" in said[0] and "expired" in said[0], said
        # invariants: every order Gate holds is one liqcore journaled; the fill booked once; no entry resting
        known = {r[0] for r in journal_rows(journal, "SELECT client_id FROM orders")}
        ours = {gate_text(k) for k in known} | {gate_text(k, f"-{w}{n}") for k in known for w in ("tp", "sl")
                                                 for n in range(1, 6)}
        live = [o for o in fg.venue.orders.values() if o.status in ("New", "PartiallyFilled", "Untriggered")]
        assert all(fg._text.get(o.order_id) in ours for o in live), (live, known)
        assert not [o for o in live if not o.reduce_only], live
        pos = fg.venue.positions[C].size
        autos = fg.auto_orders("open")
        assert pos == 0 or len(autos) == 2 and all(abs(float(a["initial"]["size"])) == abs(pos) for a in autos)
        fills = journal_rows(journal, "SELECT exec_id FROM fills")
        assert len(fills) == len(fg.venue.executions) == 1, fills
        summary = orjson.loads(out.decode().strip().splitlines()[-1])
        assert summary["fills_by_kind"]["entry"] == 1
        blob = out + err + b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "keys.env")
        for secret in (fg.api_key, fg.api_secret):
            assert secret.encode() not in blob
    finally:
        th.stop()
