"""`liqcore preflight` against local venues (the fake Bybit exchange; the fake Binance order API with the fake
Binance market stream): a healthy account passes (exit 0, every row in the JSON), a silent stream, a read-only key,
a skewed clock and a maker fee above the strategy's assumption each fail (exit 1) naming what failed.  The run is
a real subprocess; the fakes run in this test's loop; every wait has a bound."""
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from liqcore.testing.fake_binance import BINANCE_API_KEY, BINANCE_API_SECRET, FakeBinance
from liqcore.testing.fake_exchange import FakeExchange
from liqcore.testing.fake_replay import liquidation_frame, trade_frame
from liqcore.testing.fake_streams import FakeMarketStream
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
