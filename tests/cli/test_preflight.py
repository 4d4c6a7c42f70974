"""`liqcore preflight` against local venues (the fake Bybit exchange; the fake Binance order API with the fake
Binance market stream; the fake OKX venue, its REST and public websocket): a healthy account passes (exit 0, every
row in the JSON), a silent stream, a read-only key, a skewed clock, a maker fee above the strategy's assumption and
(OKX) a smallest order above --notional each fail (exit 1) naming what failed.  The run is a real subprocess; the
fakes run in this test's loop; every wait has a bound."""
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from liqcore.venues.binance.fake import BINANCE_API_KEY, BINANCE_API_SECRET, FakeBinance
from liqcore.venues.bybit.fake import FakeExchange
from liqcore.venues.okx.fake import OKX_API_KEY, OKX_API_SECRET, OKX_PASSPHRASE, FakeOkx
from liqcore.testing.fake_replay import liquidation_frame, trade_frame
from liqcore.venues.fake_streams import FakeMarketStream
from liqcore.venues.binance import samples as bn
from liqcore.venues.bybit.samples import orderbook_frame

ROOT = Path(__file__).resolve().parents[2]
BOUND_S = 120.0  # a bound on the whole command, not its expected time (a few seconds)


def _key_file(tmp_path: Path, venue: str, key: str, secret: str) -> Path:
    p = tmp_path / f"{venue}.keys"
    p.write_text(f"{venue.upper()}_API_KEY={key}\n{venue.upper()}_API_SECRET={secret}\n")
    p.chmod(0o600)
    return p


async def _preflight(*args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_API_SECRET")) and k != "LIQCORE_KEY_FILE"}
    env["PYTHONPATH"] = str(ROOT)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "liqcore", "preflight", *args, cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), BOUND_S)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"liqcore preflight {' '.join(args)}: not done within {BOUND_S:g} s") from None
    return proc.returncode, out.decode(), err.decode()


def _rows(out: str) -> dict:
    doc = json.loads(out.strip().splitlines()[-1])
    return {(r["check"], r["target"]): r for r in doc["rows"]}


# ---------------------------------------------------------------------------- Bybit
async def _bybit_flow(fx: FakeExchange) -> None:
    """Trades, liquidations and the top of book of ETHUSDT every 50 ms (the public streams flow)."""
    k = 0
    while True:
        k += 1
        await fx.push(trade_frame("ETHUSDT", 3000, 1.0))
        await fx.push(liquidation_frame("ETHUSDT", 3000, 1.0))
        await fx.push(orderbook_frame("ETHUSDT", 1_700_000_000_000 + k, 2999.9, 1.0, 3000.0, 1.0, update_id=k))
        await asyncio.sleep(0.05)


def _bybit(tmp_path, setup, *extra):
    async def main():
        async with FakeExchange() as fx:
            setup(fx)
            flow = asyncio.ensure_future(_bybit_flow(fx))
            try:
                kf = _key_file(tmp_path, "bybit", fx.api_key, fx.api_secret)
                return await _preflight("--venue", "bybit", "--symbols", "ETHUSDT", "--ws-url", fx.public_ws_url,
                                        "--rest-url", fx.rest_url, "--key-file", str(kf), "--timeout", "5s",
                                        "--notional", "50", *extra)
            finally:
                flow.cancel()

    return asyncio.run(main())


def test_bybit_healthy_account_passes_every_check(tmp_path):
    rc, out, err = _bybit(tmp_path, lambda fx: None, "--json")
    assert rc == 0, err
    rows = _rows(out)
    want = {("rest", None), ("clock", "bybit"), ("stream", "bybit allLiquidation.ETHUSDT"),
            ("stream", "bybit publicTrade.ETHUSDT"), ("stream", "bybit orderbook.1.ETHUSDT"), ("min order", "ETHUSDT"), ("permissions", "trading"),
            ("permissions", "withdrawals"), ("margin mode", "bybit"), ("position mode", "bybit"),
            ("leverage", "ETHUSDT"), ("fees", "ETHUSDT maker"), ("fees", "ETHUSDT taker")}
    got = {(c, t if c != "rest" else None) for c, t in rows}
    assert want <= got, got
    assert all(r["status"] == "PASS" for r in rows.values()), [r for r in rows.values() if r["status"] != "PASS"]
    assert "maker 2.00 bps" in rows[("fees", "ETHUSDT maker")]["detail"]
    assert "5x cross" in rows[("leverage", "ETHUSDT")]["detail"]
    # the key never reaches the output
    fx_key = (tmp_path / "bybit.keys").read_text().split("\n")[0].split("=", 1)[1]
    assert fx_key not in out and fx_key not in err


def test_bybit_silent_stream_fails_naming_it(tmp_path):
    rc, out, err = _bybit(tmp_path, lambda fx: fx.silence("publicTrade.ETHUSDT"), "--json")
    assert rc == 1
    r = _rows(out)[("stream", "bybit publicTrade.ETHUSDT")]
    assert r["status"] == "FAIL" and "silent" in r["detail"]
    assert err.count("\n") == 1 and "stream bybit publicTrade.ETHUSDT" in err  # one line, naming it


def test_bybit_read_only_key_cannot_trade(tmp_path):
    def setup(fx):
        fx.account.read_only = True

    rc, out, err = _bybit(tmp_path, setup)
    assert rc == 1
    assert "cannot trade" in out and "permissions trading" in err
    assert "Traceback" not in err


def test_bybit_skewed_clock_fails(tmp_path):
    def setup(fx):
        fx.time_offset_ms = 20_000  # the venue's clock 20 s ahead: this machine is 20 s behind

    rc, out, err = _bybit(tmp_path, setup, "--json")
    assert rc == 1
    r = _rows(out)[("clock", "bybit")]
    assert r["status"] == "FAIL" and "behind" in r["detail"] and "5000 ms behind" in r["detail"]


def test_bybit_withdrawals_warn_and_hedge_mode_fails(tmp_path):
    def setup(fx):
        fx.account.withdrawals = True
        fx.account.hedge = True

    rc, out, err = _bybit(tmp_path, setup, "--json")
    rows = _rows(out)
    assert rows[("permissions", "withdrawals")]["status"] == "WARN"
    assert rows[("position mode", "bybit")]["status"] == "FAIL"
    assert rc == 1 and "position mode bybit" in err


# ---------------------------------------------------------------------------- Binance
def _binance(tmp_path, setup, *extra):
    async def main():
        async with FakeBinance() as fb, FakeMarketStream("binance") as fs:
            setup(fb, fs)

            async def flow():
                k = 0
                while True:
                    k += 1
                    t = 1_700_000_000_000 + k
                    fs.write(bn.agg_trade_frame("ETHUSDT", t, 0.5, 3000.0, agg_id=k), "ethusdt@aggTrade")
                    fs.write(bn.book_ticker_frame("ETHUSDT", t, 2999.9, 1.0, 3000.0, 1.0, update_id=k),
                             "ethusdt@bookTicker")
                    fs.liquidation(bn.liquidation_frame("ETHUSDT", t, 1.0, 3000.0), "ETHUSDT")
                    await asyncio.sleep(0.05)

            task = asyncio.ensure_future(flow())
            try:
                kf = _key_file(tmp_path, "binance", BINANCE_API_KEY, BINANCE_API_SECRET)
                return await _preflight("--venue", "binance", "--symbols", "ETHUSDT", "--ws-url", fs.ws_url,
                                        "--rest-url", fb.rest_url, "--key-file", str(kf), "--timeout", "5s",
                                        "--notional", "50", "--fill", "queue", "--json", *extra)
            finally:
                task.cancel()

    return asyncio.run(main())


def test_binance_healthy_account_passes(tmp_path):
    rc, out, err = _binance(tmp_path, lambda fb, fs: None)
    assert rc == 0, err
    rows = _rows(out)
    assert rows[("stream", "binance ethusdt@bookTicker")]["status"] == "PASS"
    assert rows[("permissions", "trading")]["status"] == "PASS"
    assert rows[("position mode", "binance")]["detail"] == "one-way"
    assert rows[("margin mode", "binance")]["detail"] == "single-asset"


def test_binance_silent_book_ticker_read_only_key_and_costly_maker_fee_fail(tmp_path):
    def setup(fb, fs):
        fs.silence("ethusdt@bookTicker")
        fb.account.read_only = True
        fb.account.maker_fee = 0.0004  # 4 bps, above the assumed 2 bps and the guide's 2 bps

    rc, out, err = _binance(tmp_path, setup)
    assert rc == 1
    rows = _rows(out)
    assert rows[("stream", "binance ethusdt@bookTicker")]["status"] == "FAIL"
    assert rows[("stream", "binance ethusdt@aggTrade")]["status"] == "PASS"
    assert rows[("permissions", "trading")]["status"] == "FAIL"
    fee = rows[("fees", "ETHUSDT maker")]
    assert fee["status"] == "FAIL" and "4.00 bps" in fee["detail"] and "assumed 2 bps" in fee["detail"]
    assert "stream binance ethusdt@bookTicker" in err and "permissions trading" in err


# ---------------------------------------------------------------------------- OKX
def _okx_key_file(tmp_path: Path, key: str, secret: str, passphrase: str | None) -> Path:
    p = tmp_path / "okx.keys"
    p.write_text(f"OKX_API_KEY={key}\nOKX_API_SECRET={secret}\n" +
                 (f"OKX_API_PASSPHRASE={passphrase}\n" if passphrase is not None else ""))
    p.chmod(0o600)
    return p


def _okx(tmp_path, setup, *extra, passphrase: str | None = OKX_PASSPHRASE, **fake):
    async def main():
        async with FakeOkx(**fake) as fo:
            setup(fo)
            fo.set_last_price("ETH-USDT-SWAP", 3000.0)

            async def flow():
                while True:
                    await fo.trade("ETH-USDT-SWAP", 3000.0, 1.0)
                    await fo.quote("ETH-USDT-SWAP", 2999.99, 5.0, 3000.0, 5.0)
                    await fo.liquidation("ETH-USDT-SWAP", 3000.0, 2.0)
                    await asyncio.sleep(0.05)

            task = asyncio.ensure_future(flow())
            try:
                kf = _okx_key_file(tmp_path, OKX_API_KEY, OKX_API_SECRET, passphrase)
                return await _preflight("--venue", "okx", "--symbols", "ETHUSDT", "--ws-url", fo.public_ws_url,
                                        "--rest-url", fo.rest_url, "--key-file", str(kf), "--timeout", "5s",
                                        "--notional", "50", *extra)
            finally:
                task.cancel()

    return asyncio.run(main())


def test_okx_healthy_account_passes_every_check(tmp_path):
    rc, out, err = _okx(tmp_path, lambda fo: None, "--json")
    assert rc == 0, err
    rows = _rows(out)
    want = {("rest", None), ("clock", "okx"), ("stream", "okx liquidation-orders:SWAP"), ("stream", "okx trades:ETH-USDT-SWAP"),
            ("min order", "ETHUSDT"), ("permissions", "trading"), ("permissions", "withdrawals"),
            ("margin mode", "okx"), ("position mode", "okx"), ("leverage", "ETHUSDT"), ("fees", "ETHUSDT maker"),
            ("fees", "ETHUSDT taker")}
    got = {(c, t if c != "rest" else None) for c, t in rows}
    assert want <= got, got
    assert all(r["status"] == "PASS" for r in rows.values()), [r for r in rows.values() if r["status"] != "PASS"]
    assert "maker 2.00 bps" in rows[("fees", "ETHUSDT maker")]["detail"]
    assert "taker 5.00 bps" in rows[("fees", "ETHUSDT taker")]["detail"]
    assert "10x cross" in rows[("leverage", "ETHUSDT")]["detail"]
    # ETH-USDT-SWAP: minSz 0.01 contracts of ctVal 0.1 ETH = 0.001 ETH, at the last 3000 USDT: 3.00 USDT
    assert "smallest order 3.00 USDT" in rows[("min order", "ETHUSDT")]["detail"]
    assert rows[("position mode", "okx")]["detail"] == "one-way"
    for secret in (OKX_API_KEY, OKX_API_SECRET, OKX_PASSPHRASE):
        assert secret not in out and secret not in err


def test_okx_table_is_printed(tmp_path):
    rc, out, err = _okx(tmp_path, lambda fo: None)
    assert rc == 0, err
    assert "preflight okx ETHUSDT" in out and "0 failed" in out and "liquidation-orders" in out


def test_okx_silent_trades_channel_fails_naming_it(tmp_path):
    rc, out, err = _okx(tmp_path, lambda fo: fo.silenced.add("trades"), "--json")
    assert rc == 1
    rows = _rows(out)
    r = rows[("stream", "okx trades:ETH-USDT-SWAP")]
    assert r["status"] == "FAIL" and "silent" in r["detail"]
    assert rows[("stream", "okx liquidation-orders:SWAP")]["status"] == "PASS"
    assert err.count("\n") == 1 and "stream okx trades:ETH-USDT-SWAP" in err


def test_okx_read_only_key_cannot_trade(tmp_path):
    rc, out, err = _okx(tmp_path, lambda fo: None, read_only_keys={OKX_API_KEY})
    assert rc == 1
    assert "cannot trade" in out and "permissions trading" in err
    assert "Traceback" not in err


def test_okx_skewed_clock_fails(tmp_path):
    rc, out, err = _okx(tmp_path, lambda fo: None, "--json", time_offset_ms=40_000)
    assert rc == 1
    r = _rows(out)[("clock", "okx")]
    assert r["status"] == "FAIL" and "behind" in r["detail"] and "30000 ms behind" in r["detail"]
    # OKX refuses the signed reads too (50102), and the row says so in one line
    assert "code 50102" in _rows(out)[("permissions", "trading")]["detail"]


def test_okx_key_file_without_passphrase_is_one_line_error(tmp_path):
    rc, out, err = _okx(tmp_path, lambda fo: None, passphrase=None)
    assert rc != 0 and out == ""
    assert err.count("\n") == 1 and "OKX_API_PASSPHRASE" in err and "Traceback" not in err
    assert OKX_API_SECRET not in err


def test_okx_wrong_passphrase_fails_the_key_rows_with_okx_code(tmp_path):
    rc, out, err = _okx(tmp_path, lambda fo: None, "--json", passphrase="not-the-passphrase")
    assert rc == 1
    r = _rows(out)[("permissions", "trading")]
    assert r["status"] == "FAIL" and "code 50105" in r["detail"] and "passphrase" in r["detail"]
    assert "not-the-passphrase" not in out and "not-the-passphrase" not in err


def test_okx_demo_network_sends_the_simulated_trading_header(tmp_path):
    # a demo venue refuses a request without x-simulated-trading: 1 (50101), so a PASS shows the header went out
    rc, out, err = _okx(tmp_path, lambda fo: None, "--json", "--network", "demo", demo=True)
    assert rc == 0, err
    rows = _rows(out)
    assert rows[("permissions", "trading")]["status"] == "PASS" and rows[("fees", "ETHUSDT maker")]["status"] == "PASS"


def test_okx_costly_fees_warn_and_fail(tmp_path):
    def setup(fo):
        fo.venue.maker_fee = 0.0004  # 4 bps, above the assumed 2 bps (and the guide's 2 bps)
        fo.venue.taker_fee = 0.0007  # 7 bps, above the assumed 5.5 bps: a warning

    rc, out, err = _okx(tmp_path, setup, "--json")
    assert rc == 1
    rows = _rows(out)
    fee = rows[("fees", "ETHUSDT maker")]
    assert fee["status"] == "FAIL" and "4.00 bps" in fee["detail"] and "assumed 2 bps" in fee["detail"]
    taker = rows[("fees", "ETHUSDT taker")]
    assert taker["status"] == "WARN" and "7.00 bps" in taker["detail"]
    assert "fees ETHUSDT maker" in err


def test_okx_min_order_above_notional_fails(tmp_path):
    # ETH-USDT-SWAP: minSz 0.01 contracts of ctVal 0.1 ETH = 0.001 ETH at the last 3000 USDT: 3.00 USDT > 2 USDT
    rc, out, err = _okx(tmp_path, lambda fo: None, "--json", "--notional", "2")
    assert rc == 1
    r = _rows(out)[("min order", "ETHUSDT")]
    assert r["status"] == "FAIL" and "smallest order 3.00 USDT > --notional 2 USDT" in r["detail"]
    assert "min order ETHUSDT" in err
