"""``liqcore run --live`` from the command line on each venue, in a child process, against the loopback fake
venues laid out like the real ones (one ``scheme://host:port`` base for the public websocket, the REST API
and the private websocket): the signed post-only entry on a confirmed cascade, its fill on the private
stream, the reduce-only take-profit and stop-loss, the entry timeout's cancel, the journal; a wrong key is
one line and a non-zero exit, and no key, secret or passphrase appears in any output."""
from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from liqcore.venues.binance.fake import FakeBinance
from liqcore.testing.fake_exchange import FakeExchangeThread
from liqcore.venues.okx.fake import FakeOkx
from liqcore.venues.binance.samples import agg_trade_frame, liquidation_frame

from _live_helpers import BASELINE, cascade_frames
from _procs import signal_and_wait, wait_until

pytestmark = pytest.mark.integration

DETECTOR = ["--min-history", "5", "--history", "50"]


def key_file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    p = tmp_path / "keys.env"
    p.write_text(text)
    p.chmod(mode)
    return p


def start(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "liqcore", "run", *cmd], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def on_loop(th: FakeExchangeThread, fn):
    """``fn()`` run on the fake venue's event loop (its websocket writes belong to that loop)."""
    async def call():
        return fn()
    return th.call(call())


def binance_cascade(t0_ms: int, symbol: str = "ETHUSDT") -> list[tuple[str, bytes]]:
    """Baseline liquidations one second apart, a reference trade at 3000, then two large long liquidations
    (Binance ``S=SELL``): what confirms a cascade under ``DETECTOR``."""
    out = [("liq", liquidation_frame(symbol, t0_ms + i * 1000, q, 3000.0, "SELL")) for i, q in enumerate(BASELINE)]
    out.append(("trade", agg_trade_frame(symbol, t0_ms + 20_000, 1.0, 3000.0, "SELL")))
    out.append(("liq", liquidation_frame(symbol, t0_ms + 21_000, 10.0, 3000.0, "SELL")))
    out.append(("liq", liquidation_frame(symbol, t0_ms + 22_000, 12.0, 2999.0, "SELL")))
    return out


def params(r) -> dict:
    """A recorded Binance request's parameters (query string and form body)."""
    return {**(r.query or {}), **(r.body or {})}


def on_grid(value: str, step: str) -> bool:
    return Decimal(value) % Decimal(step) == 0


def journal_rows(path: Path, sql: str) -> list[tuple]:
    """Rows of the child's journal, read only (the child may still hold it)."""
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


def outputs(tmp_path: Path, *streams: bytes) -> bytes:
    """Every byte the run left: its stdout and stderr and every file it wrote (journal, its WAL, log)."""
    blob = b"".join(streams)
    for p in tmp_path.rglob("*"):
        if p.is_file() and p.name != "keys.env":
            blob += p.read_bytes()
    return blob


# ------------------------------------------------------------------------------------------------ Binance
def _binance_run(tmp_path, fb, extra=()):
    kf = key_file(tmp_path, f"BINANCE_API_KEY={fb.api_key}\nBINANCE_API_SECRET={fb.api_secret}\n")
    base = f"ws://127.0.0.1:{fb.port}"
    return start(["--venue", "binance", "--symbols", "ETHUSDT", "--live", "--key-file", str(kf), "--ws-url", base,
                  "--rest-url", fb.rest_url, "--private-ws-url", base, "--journal", str(tmp_path / "j.sqlite"),
                  "--json", "--no-dashboard", "--duration", "150", "--log", str(tmp_path / "log.jsonl"),
                  *DETECTOR, *extra])


def _binance_cascade_to_entry(th, fb, child) -> dict:
    """Wait until the child subscribed and its user stream connected, play the cascade, return the entry's
    accepted ``POST /fapi/v1/order`` parameters."""
    wait_until(child, lambda: fb.market.subscribed("ethusdt@forceOrder") and fb.market.subscribed("ethusdt@aggTrade")
               and fb._conns, "market streams subscribed and user stream connected")
    assert child.poll() is None, child.stderr.read().decode()[-2000:]
    # a live run subscribes the top of book whatever the fill rule (the live queue estimate, the silence watch)
    wait_until(child, lambda: fb.market.subscribed("ethusdt@bookTicker"), "the top of book subscribed")
    t0 = int(time.time() * 1000) - 30_000
    for kind, f in binance_cascade(t0):
        on_loop(th, (lambda f=f: fb.market.liquidation(f, "ETHUSDT")) if kind == "liq"
                else (lambda f=f: fb.market.trade(f, "ETHUSDT")))

    def created():
        return [r for r in fb.requests_to("/fapi/v1/order", "POST") if r.http_status == 200]
    wait_until(child, created, "the entry placed")
    assert child.poll() is None, child.stderr.read().decode()[-2000:]
    return params(created()[0])


@pytest.mark.timeout(240)
def test_binance_live_cli_entry_fill_tp_sl_journal(tmp_path):
    """On a confirmed cascade: a signed post-only (GTX) LIMIT entry on ETHUSDT's tick and lot, from the
    venue's exchangeInfo; its fill on the user-data stream; the reduce-only TAKE_PROFIT and STOP_MARKET on
    ``/fapi/v1/algoOrder`` for the filled quantity; all of it journaled; the key in no output."""
    th = FakeExchangeThread(FakeBinance)
    fb = th.start()
    try:
        on_loop(th, lambda: fb.set_last_price("ETHUSDT", 3000.0))
        child = _binance_run(tmp_path, fb)
        entry = _binance_cascade_to_entry(th, fb, child)
        assert entry["type"] == "LIMIT" and entry["timeInForce"] == "GTX" and entry["side"] == "BUY"
        assert entry["signature"] and entry["timestamp"] and "reduceOnly" not in entry
        assert on_grid(entry["price"], "0.01") and on_grid(entry["quantity"], "0.01")
        assert fb.requests_to("/fapi/v1/exchangeInfo"), "the rules come from the venue's exchangeInfo"
        cid = entry["newClientOrderId"]
        wait_until(child, lambda: journal_rows(tmp_path / "j.sqlite",
                                               f"SELECT venue_order_id FROM orders WHERE client_id='{cid}' AND "
                                               "venue_order_id != ''"), "the entry's ack journaled")
        px = float(entry["price"])
        th.call(fb.trade("ETHUSDT", px - 1.0))  # a print through the resting buy: filled
        on_loop(th, lambda: fb.market.trade(agg_trade_frame("ETHUSDT", int(time.time() * 1000), 1.0, px - 1.0,
                                                            "SELL", agg_id=2), "ETHUSDT"))

        def brackets():
            return [params(r) for r in fb.requests_to("/fapi/v1/algoOrder", "POST") if r.http_status == 200]
        wait_until(child, lambda: len(brackets()) >= 2, "take-profit and stop-loss placed")
        algos = {p["type"]: p for p in brackets()}
        assert set(algos) == {"TAKE_PROFIT", "STOP_MARKET"}, algos
        for kind, p in (("tp", algos["TAKE_PROFIT"]), ("sl", algos["STOP_MARKET"])):
            assert p["reduceOnly"] == "true" and p["side"] == "SELL" and p["algoType"] == "CONDITIONAL"
            assert p["clientAlgoId"] == f"{cid}-{kind}" and Decimal(p["quantity"]) == Decimal(entry["quantity"])
            assert on_grid(p["triggerPrice"], "0.01")
        assert float(algos["TAKE_PROFIT"]["triggerPrice"]) > px > float(algos["STOP_MARKET"]["triggerPrice"])
        wait_until(child, lambda: journal_rows(tmp_path / "j.sqlite",
                                               f"SELECT 1 FROM fills WHERE client_id='{cid}'"), "the fill journaled")
        signal_and_wait(child, signal.SIGTERM, 60, "liqcore run --venue binance --live")
        out, err = child.communicate()
        assert child.returncode == 0, err.decode()[-2000:]
        summary = orjson.loads(out.decode().strip().splitlines()[-1])
        assert summary["venue"] == "binance" and summary["mode"] == "live", summary["mode"]
        assert summary["fills_by_kind"]["entry"] == 1 and summary["orders"] >= 1
        status = journal_rows(tmp_path / "j.sqlite", f"SELECT status FROM orders WHERE client_id='{cid}'")
        assert ("filled",) in status, status
        blob = outputs(tmp_path, out, err)
        assert fb.api_key.encode() not in blob and fb.api_secret.encode() not in blob
    finally:
        th.stop()


@pytest.mark.timeout(240)
def test_binance_live_cli_entry_timeout_cancels_at_the_venue(tmp_path):
    """An entry nothing fills is cancelled at the venue (``DELETE /fapi/v1/order`` by its client id) once
    ``--entry-timeout`` passed; the journal says cancelled; no bracket is placed."""
    th = FakeExchangeThread(FakeBinance)
    fb = th.start()
    try:
        on_loop(th, lambda: fb.set_last_price("ETHUSDT", 3000.0))
        child = _binance_run(tmp_path, fb, ["--entry-timeout", "2s"])
        entry = _binance_cascade_to_entry(th, fb, child)
        cid = entry["newClientOrderId"]
        wait_until(child, lambda: [r for r in fb.requests_to("/fapi/v1/order", "DELETE")
                                   if params(r).get("origClientOrderId") == cid], "the entry cancelled at the venue")
        wait_until(child, lambda: ("cancelled",) in journal_rows(tmp_path / "j.sqlite",
                                                                 f"SELECT status FROM orders WHERE client_id='{cid}'"),
                   "the cancel journaled")
        assert fb.orders_with_client_id(cid)[0].status == "Cancelled"
        signal_and_wait(child, signal.SIGTERM, 60, "liqcore run --venue binance --live")
        out, err = child.communicate()
        assert child.returncode == 0, err.decode()[-2000:]
        assert not fb.requests_to("/fapi/v1/algoOrder", "POST")
    finally:
        th.stop()


# ------------------------------------------------------------------------------------------------ Bybit
@pytest.mark.timeout(240)
def test_bybit_live_cli_on_url_bases(tmp_path):
    """The Bybit path on ``scheme://host:port`` bases (``/v5/public/linear``, ``/v5/private`` appended): the
    post-only entry with its attached reduce-only TP/SL, its fill, the journal; the key in no output."""
    th = FakeExchangeThread()
    fx = th.start()
    try:
        kf = key_file(tmp_path, f"BYBIT_API_KEY={fx.api_key}\nBYBIT_API_SECRET={fx.api_secret}\n")
        assert fx.public_ws_url.startswith(f"ws://127.0.0.1:{fx.port}/")
        base = f"ws://127.0.0.1:{fx.port}"
        child = start(["--venue", "bybit", "--symbols", "ETHUSDT", "--live", "--key-file", str(kf), "--ws-url", base,
                       "--rest-url", fx.rest_url, "--private-ws-url", base, "--journal", str(tmp_path / "j.sqlite"),
                       "--json", "--no-dashboard", "--duration", "150", *DETECTOR])
        wait_until(child, lambda: fx.connections("public") >= 1 and fx.connections("private") >= 1, "connected")
        assert child.poll() is None, child.stderr.read().decode()[-2000:]
        wait_until(child, lambda: fx.subscribed("allLiquidation.ETHUSDT") and fx.subscribed("publicTrade.ETHUSDT")
                   and fx.subscribed("orderbook.1.ETHUSDT"), "subscribed (the top of book too: a live run)")
        for f in cascade_frames():
            th.call(fx.push(f))
        wait_until(child, lambda: fx.requests_to("/v5/order/create"), "the entry placed")
        body = fx.requests_to("/v5/order/create")[0].body
        assert body["timeInForce"] == "PostOnly" and body["orderType"] == "Limit"
        assert body.get("takeProfit") and body.get("stopLoss"), body
        cid = body["orderLinkId"]
        wait_until(child, lambda: journal_rows(tmp_path / "j.sqlite",
                                               f"SELECT venue_order_id FROM orders WHERE client_id='{cid}' AND "
                                               "venue_order_id != ''"), "the entry's ack journaled")
        th.call(fx.trade("ETHUSDT", float(body["price"]) - 1.0))
        wait_until(child, lambda: journal_rows(tmp_path / "j.sqlite",
                                               f"SELECT 1 FROM fills WHERE client_id='{cid}'"), "the fill journaled")
        signal_and_wait(child, signal.SIGTERM, 60, "liqcore run --venue bybit --live")
        out, err = child.communicate()
        assert child.returncode == 0, err.decode()[-2000:]
        summary = orjson.loads(out.decode().strip().splitlines()[-1])
        assert summary["fills_by_kind"]["entry"] == 1
        blob = outputs(tmp_path, out, err)
        assert fx.api_key.encode() not in blob and fx.api_secret.encode() not in blob
    finally:
        th.stop()


# ------------------------------------------------------------------------------------------------ OKX
INST = "ETH-USDT-SWAP"  # ctVal 0.1 ETH, lotSz 0.01 contracts, tickSz 0.01 in the fake


def okx_push(th: FakeExchangeThread, fo: FakeOkx, frame: bytes) -> None:
    """One public frame (as OKX sends it) pushed to its channel's subscribers."""
    d = orjson.loads(frame)
    th.call(fo.publish(d["arg"]["channel"], d["arg"], d["data"]))


def okx_cascade(t0_ms: int) -> list[bytes]:
    """The helpers' cascade in OKX's wire format: baseline liquidations of longs (``sell``; sizes in contracts of
    0.1 ETH), a reference trade at 3000, then two large ones: what confirms a cascade under ``DETECTOR``."""
    from liqcore.venues.okx.samples import liquidation_frame, trade_frame

    frames = [liquidation_frame(INST, t0_ms + i * 1000, round(q * 10, 4), 3000.0, "sell") for i, q in enumerate(BASELINE)]
    frames.append(trade_frame(INST, t0_ms + 20_000, 1, 3000.0, "sell"))
    frames.append(liquidation_frame(INST, t0_ms + 21_000, 100, 3000.0, "sell"))
    frames.append(liquidation_frame(INST, t0_ms + 22_000, 120, 2999.0, "sell"))
    return frames


def _okx_run(tmp_path, fo, key=None, secret=None, passphrase=None, duration="150"):
    kf = key_file(tmp_path, f"OKX_API_KEY={key or fo.api_key}\nOKX_API_SECRET={secret or fo.api_secret}\n"
                            f"OKX_API_PASSPHRASE={passphrase or fo.passphrase}\n")
    base = f"ws://127.0.0.1:{fo.port}"
    return start(["--venue", "okx", "--symbols", INST, "--live", "--key-file", str(kf), "--ws-url", base,
                  "--rest-url", f"http://127.0.0.1:{fo.port}", "--private-ws-url", base,
                  "--journal", str(tmp_path / "j.sqlite"), "--json", "--no-dashboard", "--duration", duration,
                  "--log", str(tmp_path / "log.jsonl"), *DETECTOR])


@pytest.mark.timeout(240)
def test_okx_live_cli_entry_fill_tp_sl_journal(tmp_path):
    """``liqcore run --venue okx --live`` on ``scheme://host:port`` bases (``/ws/v5/public``, ``/ws/v5/private``,
    ``/api/v5/...`` appended): on a confirmed cascade a signed ``post_only`` entry in contracts on the
    instrument's ``tickSz`` and ``lotSz``, with a ``clOrdId`` OKX accepts (1-32 letters and digits); its fill
    on the private ``orders`` channel; the reduce-only take-profit and stop-loss (one ``oco`` algo order) for
    the filled contracts; all of it journaled; the top of book (``bbo-tbt``) subscribed; no key, secret or
    passphrase in any output."""
    th = FakeExchangeThread(FakeOkx)
    fo = th.start()
    try:
        on_loop(th, lambda: fo.set_last_price(INST, 3000.0))
        child = _okx_run(tmp_path, fo)
        wait_until(child, lambda: fo.subscribed("liquidation-orders", "public") and fo.subscribed("trades", "public")
                   and fo.subscribed("orders", "private"), "public channels subscribed and private orders subscribed")
        assert child.poll() is None, child.stderr.read().decode()[-2000:]
        assert fo.subscribed("bbo-tbt", "public"), "a live run subscribes the top of book"
        for f in okx_cascade(int(time.time() * 1000) - 30_000):
            okx_push(th, fo, f)

        def created():
            return [r for r in fo.requests_to("/api/v5/trade/order", "POST")
                    if r.http_status == 200 and r.ret_code is None]  # (the fake refuses a bad signature: 50113)
        wait_until(child, created, "the entry placed")
        assert child.poll() is None, child.stderr.read().decode()[-2000:]
        b = created()[0].body
        assert (b["instId"], b["ordType"], b["side"], b["tdMode"]) == (INST, "post_only", "buy", "cross"), b
        assert on_grid(b["px"], "0.01") and on_grid(b["sz"], "0.01") and Decimal(b["sz"]) >= Decimal("0.01")
        cid = b["clOrdId"]
        assert re.fullmatch(r"[A-Za-z0-9]{1,32}", cid), cid
        assert fo.requests_to("/api/v5/public/instruments") and fo.requests_to("/api/v5/market/tickers")
        def orders():
            return journal_rows(tmp_path / "j.sqlite",
                                "SELECT client_id, venue_order_id, status FROM orders WHERE kind='entry'")
        wait_until(child, lambda: [r for r in orders() if r[1]], "the entry's ack journaled")
        jcid = orders()[0][0]
        px = float(b["px"])
        th.call(fo.trade(INST, px - 1.0))  # a print through the resting buy: filled
        wait_until(child, lambda: len(fo.algos()) >= 1, "take-profit and stop-loss placed")
        (algo,) = fo.algos().values()
        assert (algo["ordType"], algo["side"], algo["instId"]) == ("oco", "sell", INST), algo
        assert Decimal(algo["sz"]) == Decimal(b["sz"]), algo
        (sent,) = [r.body for r in fo.requests_to("/api/v5/trade/order-algo", "POST") if r.ret_code is None]
        assert str(sent["reduceOnly"]).lower() == "true" and sent["algoClOrdId"] == algo["algoClOrdId"], sent
        assert float(algo["tpTriggerPx"]) > px > float(algo["slTriggerPx"])
        assert on_grid(algo["tpTriggerPx"], "0.01") and on_grid(algo["slTriggerPx"], "0.01")
        assert re.fullmatch(r"[A-Za-z0-9]{1,32}", algo["algoClOrdId"]), algo["algoClOrdId"]
        wait_until(child, lambda: journal_rows(tmp_path / "j.sqlite",
                                               f"SELECT 1 FROM fills WHERE client_id='{jcid}'"), "the fill journaled")
        signal_and_wait(child, signal.SIGTERM, 60, "liqcore run --venue okx --live")
        out, err = child.communicate()
        assert child.returncode == 0, err.decode()[-2000:]
        assert b"instrument list" not in err, err.decode()[-2000:]  # the rules came from the venue's list
        summary = orjson.loads(out.decode().strip().splitlines()[-1])
        assert summary["venue"] == "okx" and summary["mode"] == "live", summary["mode"]
        assert summary["fills_by_kind"]["entry"] == 1 and summary["orders"] >= 1
        status = journal_rows(tmp_path / "j.sqlite", f"SELECT status FROM orders WHERE client_id='{jcid}'")
        assert ("filled",) in status, status
        blob = outputs(tmp_path, out, err)
        for s in (fo.api_key, fo.api_secret, fo.passphrase):
            assert s.encode() not in blob
    finally:
        th.stop()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("what", ["key", "passphrase"])
def test_okx_wrong_key_or_passphrase_is_one_line_and_never_shown(tmp_path, what):
    """A key OKX does not know (50111) or a wrong passphrase (50105): one line on stderr naming okx, exit 1,
    nothing on stdout; neither the key, the secret nor the passphrase in any output."""
    th = FakeExchangeThread(FakeOkx)
    fo = th.start()
    key = "WRONGkey-7f3a9c2e51" if what == "key" else fo.api_key
    secret = "WRONGsecret-0d4b8e6a77c1" if what == "key" else fo.api_secret
    passphrase = "WRONGpass-5e1c9a" if what == "passphrase" else fo.passphrase
    try:
        child = _okx_run(tmp_path, fo, key, secret, passphrase, duration="60")
        out, err = child.communicate(timeout=90)
        lines = err.decode().strip().splitlines()
        assert child.returncode == 1, err.decode()[-3000:]
        assert len(lines) == 1 and lines[0].startswith("liqcore run: error: "), lines
        assert "okx" in lines[0].lower() and out == b"", lines
        blob = outputs(tmp_path, out, err)
        for s in (key, secret, passphrase):
            assert s.encode() not in blob, s
    finally:
        th.stop()


# ------------------------------------------------------------------------------------------------ wrong keys
@pytest.mark.timeout(120)
@pytest.mark.parametrize("venue", ["bybit", "binance"])
def test_wrong_key_is_one_line_and_never_shown(tmp_path, venue):
    """A key the venue does not know: one line on stderr, exit 1, nothing on stdout but that; neither the
    key nor the secret in any output (stderr, stdout, journal, log)."""
    key, secret = "WRONGkey-7f3a9c2e51", "WRONGsecret-0d4b8e6a77c1"
    prefix = venue.upper()
    kf = key_file(tmp_path, f"{prefix}_API_KEY={key}\n{prefix}_API_SECRET={secret}\n")
    th = FakeExchangeThread(FakeBinance if venue == "binance" else None)
    fx = th.start()
    try:
        base = f"ws://127.0.0.1:{fx.port}"
        child = start(["--venue", venue, "--symbols", "ETHUSDT", "--live", "--key-file", str(kf), "--ws-url", base,
                       "--rest-url", fx.rest_url, "--private-ws-url", base, "--journal", str(tmp_path / "j.sqlite"),
                       "--json", "--no-dashboard", "--duration", "60", *DETECTOR])
        out, err = child.communicate(timeout=90)
        lines = err.decode().strip().splitlines()
        assert child.returncode == 1, err.decode()[-3000:]
        assert len(lines) == 1 and lines[0].startswith("liqcore run: error: "), lines
        assert venue in lines[0] and out == b""
        blob = outputs(tmp_path, out, err)
        assert key.encode() not in blob and secret.encode() not in blob
    finally:
        th.stop()


@pytest.mark.timeout(60)
def test_group_readable_key_file_is_refused_in_one_line(tmp_path):
    kf = key_file(tmp_path, "BINANCE_API_KEY=k-123456789\nBINANCE_API_SECRET=s-987654321\n", mode=0o644)
    child = start(["--venue", "binance", "--symbols", "ETHUSDT", "--live", "--key-file", str(kf),
                   "--ws-url", "ws://127.0.0.1:9", "--no-dashboard"])
    out, err = child.communicate(timeout=50)
    lines = err.decode().strip().splitlines()
    assert child.returncode != 0 and len(lines) == 1, lines
    assert "chmod 600" in lines[0] and b"k-123456789" not in out + err and b"s-987654321" not in out + err


@pytest.mark.timeout(60)
def test_key_file_of_another_venue_is_one_line(tmp_path):
    kf = key_file(tmp_path, "BYBIT_API_KEY=k-123456789\nBYBIT_API_SECRET=s-987654321\n")
    child = start(["--venue", "binance", "--symbols", "ETHUSDT", "--live", "--key-file", str(kf),
                   "--ws-url", "ws://127.0.0.1:9", "--no-dashboard"])
    out, err = child.communicate(timeout=50)
    lines = err.decode().strip().splitlines()
    assert child.returncode != 0 and len(lines) == 1, lines
    assert "BINANCE_API_KEY" in lines[0] and b"k-123456789" not in out + err
