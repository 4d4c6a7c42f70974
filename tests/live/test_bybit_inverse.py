"""Bybit v5 inverse contracts (``category=inverse``: ``BTCUSD``, one contract = 1 USD, margined and settled in BTC)
through the Bybit gateway against the fake exchange on loopback, and the fake's inverse rules against Bybit's v5 API
documentation ("Place Order": ``category`` linear / inverse, an inverse ``qty`` in contracts; "Get Execution":
``execValue`` and ``execFee`` of an inverse fill in the coin; "Get Instruments Info": ``contractType``
InversePerpetual, ``settleCoin`` the coin)."""
from __future__ import annotations

import pytest

from liqcore.testing import FakeExchange
from liqcore.venues.fake_book import DEFAULT_INSTRUMENTS, FakeVenue, VenueError
from liqcore.venues.gateway import OrderIntent
from tests.live.test_bybit_gateway import Recorder, make_gw, run

BTCUSD = {"tickSize": 0.5, "qtyStep": 1.0, "minOrderQty": 1.0, "contractType": "InversePerpetual"}
INSTRUMENTS = {**DEFAULT_INSTRUMENTS, "BTCUSD": BTCUSD}


@pytest.mark.integration
def test_an_inverse_order_goes_out_in_contracts_and_its_fills_and_pnl_are_in_the_coin():
    """A post-only BUY of 2,500 BTCUSD contracts (2,500 USD) with a limit take-profit: sent with ``category=inverse``
    and ``qty`` 2500; its fills are 2,500 contracts with fees in BTC (maker 2 bps of 2,500 / price); the venue's
    BTC balance moves by ``2,500 x (1/entry - 1/exit)`` less both fees; a linear symbol beside it stays linear."""
    async def main():
        async with FakeExchange(instruments=INSTRUMENTS) as fx:
            gw = make_gw(fx, symbols=["BTCUSD", "ETHUSDT"])
            rec = Recorder(gw)
            await gw.start()
            try:
                inst = gw.instrument("BTCUSD")
                assert (inst.tick_size, inst.qty_step, inst.min_qty) == (0.5, 1.0, 1.0)
                assert gw.cat("BTCUSD") == "inverse" and gw.cat("ETHUSDT") == "linear"
                await fx.trade("BTCUSD", 30_000.0)
                px, tp, sl = 29_955.0, 30_000.0, 29_880.0
                u = await gw.place(OrderIntent("BTCUSD", "buy", 2_500.0, px, "inv-1", take_profit=tp, stop_loss=sl))
                assert u.status in ("pending", "new")
                (req,) = fx.requests_to("/v5/order/create")
                assert req.body["category"] == "inverse" and req.body["qty"] == "2500" and req.body["price"] == "29955"
                await fx.trade("BTCUSD", px - 0.5)
                await rec.wait(lambda: any(f.kind == "entry" for f in rec.fills))
                f = [f for f in rec.fills if f.kind == "entry"][0]
                assert (f.symbol, f.qty, f.price, f.is_maker) == ("BTCUSD", 2_500.0, px, True)
                assert f.fee == pytest.approx(2_500.0 / px * 0.0002, abs=1e-10)  # BTC, on the venue's 10 decimals
                (pos,) = await gw.positions()
                assert (pos.symbol, pos.side, pos.size, pos.entry_price) == ("BTCUSD", "buy", 2_500.0, px)
                await fx.trade("BTCUSD", tp + 0.5)
                await rec.wait(lambda: any(f.kind == "tp" for f in rec.fills))
                x = [f for f in rec.fills if f.kind == "tp"][0]
                assert x.qty == 2_500.0 and x.price == tp and x.fee == pytest.approx(2_500.0 / tp * 0.0002, abs=1e-10)
                want = 2_500.0 * (1 / px - 1 / tp) - f.fee - x.fee
                assert fx.venue.coin_balance["BTC"] == pytest.approx(want, abs=2e-10)
                assert await gw.positions() == []
                await gw.place(OrderIntent("ETHUSDT", "buy", 0.5, 2_000.0, "lin-1"))
                assert fx.requests_to("/v5/order/create")[-1].body["category"] == "linear"
                assert {o.client_id for o in await gw.open_orders()} == {"lin-1"}
            finally:
                await gw.close()

    run(main())


def test_the_fake_answers_for_the_category_asked_and_refuses_a_symbol_of_the_other():
    """Bybit v5 lists a symbol in one category: an order for ``BTCUSD`` under ``category=linear`` (or ``ETHUSDT``
    under ``inverse``) names no symbol of it (10001); instruments-info answers the category's symbols only."""
    from liqcore.venues.fake_universe import bybit_instruments_page

    v = FakeVenue(instruments=INSTRUMENTS)
    for cat, sym in (("linear", "BTCUSD"), ("inverse", "ETHUSDT")):
        with pytest.raises(VenueError) as e:
            v.create({"category": cat, "symbol": sym, "side": "Buy", "orderType": "Market", "qty": "1"})
        assert e.value.ret_code == 10001
    inv = bybit_instruments_page(INSTRUMENTS, {"category": "inverse"})["list"]
    assert [(r["symbol"], r["contractType"], r["settleCoin"]) for r in inv] == [("BTCUSD", "InversePerpetual", "BTC")]
    assert "BTCUSD" not in {r["symbol"] for r in bybit_instruments_page(INSTRUMENTS, {"category": "linear"})["list"]}
    from liqcore.venues.fake_accounts import FakeAccount, bybit_answer

    fee = bybit_answer(FakeAccount(), "/v5/account/fee-rate", {"category": "inverse", "symbol": "BTCUSD"}, "k",
                       INSTRUMENTS)  # ("Get Fee Rate": category linear or inverse)
    assert fee["category"] == "inverse" and [r["symbol"] for r in fee["list"]] == ["BTCUSD"]


def test_an_inverse_symbols_public_frames_are_read_in_base_units_and_subscribed_on_the_inverse_stream():
    """``allLiquidation.BTCUSD`` of 30,000 contracts (USD) at 30,000: 1 BTC, a notional of 30,000 USD (not 9e8); its
    trades and top of book likewise; a linear symbol's sizes as sent.  Its topics go to ``/v5/public/inverse``."""
    import orjson

    from liqcore.types import Kind
    from liqcore.venues.bybit.parse import parse
    from liqcore.venues.bybit.stream import connection_specs

    def frame(topic, data, **kw):
        return orjson.dumps({"topic": topic, "type": "snapshot", "ts": 1_767_225_600_000, "data": data, **kw})

    liq = parse(frame("allLiquidation.BTCUSD", [{"T": 1_767_225_600_000, "s": "BTCUSD", "S": "Buy", "v": "30000",
                                                  "p": "30000"}]))
    assert (liq["qty"][0], liq["price"][0] * liq["qty"][0]) == (1.0, 30_000.0)
    tr = parse(frame("publicTrade.BTCUSD", [{"T": 1_767_225_600_000, "s": "BTCUSD", "S": "Sell", "v": "600",
                                             "p": "30000", "i": "t1"}]))
    assert tr["qty"][0] == pytest.approx(0.02, rel=1e-12) and tr["kind"][0] == int(Kind.TRADE)
    ob = parse(frame("orderbook.1.BTCUSD", {"s": "BTCUSD", "b": [["29999.5", "59999"]], "a": [["30000", "1500"]]},
                     cts=1_767_225_600_000))
    assert ob["qty"].tolist() == pytest.approx([59_999 / 29_999.5, 1_500 / 30_000], rel=1e-12)
    lin = parse(frame("allLiquidation.BTCUSDT", [{"T": 1_767_225_600_000, "s": "BTCUSDT", "S": "Buy", "v": "0.5",
                                                   "p": "30000"}]))
    assert lin["qty"][0] == 0.5
    specs = {s.url.rsplit("/", 1)[1]: s.symbols for s in connection_specs(["ETHUSDT", "BTCUSD"])}
    assert specs == {"linear": ["ETHUSDT"], "inverse": ["BTCUSD"]}


def test_the_live_decoder_reads_an_inverse_symbols_liquidations_in_base_units():
    """The live decoder's fast paths read a liquidation's size as sent; an inverse symbol's frames take the checked
    parser, registered or not, every time: 30,000 contracts at 30,000 are 1 BTC, as a linear one's 0.5 BTC stays
    0.5 (on the fast path)."""
    import orjson

    from liqcore.types import SymbolRegistry
    from liqcore.venues.decoder import Decoder

    def liq(sym, v, k=0):  # (k: a later liquidation, not a repeat the decoder drops as a duplicate)
        return orjson.dumps({"topic": f"allLiquidation.{sym}", "type": "snapshot", "ts": 1_767_225_600_000 + k,
                             "data": [{"T": 1_767_225_600_000 + k, "s": sym, "S": "Buy", "v": v, "p": "30000"}]})

    for d in (Decoder("bybit", registry=SymbolRegistry([("bybit", "BTCUSD")])), Decoder("bybit"), Decoder("auto")):
        for k in range(3):  # (the first frame of a symbol and the ones after it, its id known)
            now = 1_767_225_600_100_000_000
            got = [d.feed(liq("BTCUSD", "30000", k), now), d.feed(liq("BTCUSDT", "0.5", k), now)]
            assert [float(a["qty"][0]) for a in got] == [1.0, 0.5]
        rows = d.feed_rows(liq("BTCUSD", "60000", 5), 1_767_225_600_100_000_000)
        assert [r[3] for r in rows] == [2.0]
        # the linear symbol went the fast path (its id cached under the frame's bytes), the inverse one never did
        assert (1, b"BTCUSDT") in d._ids and (1, b"BTCUSD") not in d._ids
    legacy = orjson.dumps({"topic": "liquidation.BTCUSD", "type": "snapshot", "ts": 1_767_225_600_000, "data": {
        "updatedTime": 1_767_225_600_000, "symbol": "BTCUSD", "side": "Sell", "size": "3000", "price": "30000"}})
    assert float(Decoder("bybit").feed(legacy, 1_767_225_600_000_000_000)["qty"][0]) == pytest.approx(0.1)


def test_a_recordings_files_read_an_inverse_symbols_liquidations_as_the_live_decoder_does(tmp_path, monkeypatch):
    """The same frames as files: recorder lines, raw lines and Bybit archive lines, an inverse symbol among linear
    ones, through each of the line reader's paths (the compiled scan, its Python fast path, the JSON path): 30,000
    BTCUSD contracts at 30,000 are 1 BTC, never 30,000, and the linear symbol's 0.5 stays 0.5."""
    import orjson

    from liqcore.io import load_files
    from liqcore.venues import lines

    def liq(sym, v, k):
        return {"topic": f"allLiquidation.{sym}", "type": "snapshot", "ts": 1_767_225_600_000 + k,
                "data": [{"T": 1_767_225_600_000 + k, "s": sym, "S": "Buy", "v": v, "p": "30000"}]}

    frames = [liq(*x, k) for k, x in enumerate([("BTCUSDT", "0.5"), ("BTCUSD", "30000"), ("BTCUSDT", "0.5"),
                                                  ("BTCUSD", "60000")])]
    recv = 1_767_225_600_100_000_000
    files = {"rec.jsonl": [orjson.dumps({"recv_ns": recv + k, "venue": "bybit", "frame": f}) for k, f in enumerate(frames)],
             "raw.jsonl": [orjson.dumps(f) for f in frames],
             "archive.jsonl": [orjson.dumps({"ts": 1_767_225_600_100 + k, "exchange": "bybit", "stream": "liquidation",
                                             "symbol": f["data"][0]["s"], "result": {"data": f["data"]}})
                               for k, f in enumerate(frames)]}
    for name, got in files.items():
        (tmp_path / name).write_bytes(b"\n".join(got) + b"\n")
    for scan in (lines._SCAN, None):  # (the compiled scan, and the reader's own Python fast path)
        monkeypatch.setattr(lines, "_SCAN", scan)
        for name in files:
            r = load_files([tmp_path / name])
            got = sorted(zip((r.registry.symbol(int(s)) for s in r.events["symbol_id"]), r.events["qty"].tolist()))
            assert got == [("BTCUSD", 1.0), ("BTCUSD", 2.0), ("BTCUSDT", 0.5), ("BTCUSDT", 0.5)], (name, scan)


def test_the_preflight_reads_an_inverse_symbols_position_and_fees_under_its_category():
    """``liqcore preflight``'s Bybit account checks ask ``/v5/position/list`` and ``/v5/account/fee-rate`` of
    ``BTCUSD`` with ``category=inverse`` (v5 lists it there only), of ``ETHUSDT`` with ``linear``."""
    import asyncio

    from liqcore.venues.bybit.account import FEE_RATE, POSITION_LIST, preflight_checks

    class Kit:  # the preflight's kit, recording the requests (the answers' checks are the preflight's own tests)
        symbols, venue, rows = ["BTCUSD", "ETHUSDT"], "bybit", []
        calls: list = []

        async def call(self, path, params=None, base=None):
            self.calls.append((path, dict(params or {})))
            raise ValueError("not answered here")

        def __getattr__(self, name):  # the kit's row builders (perm_rows, lev_row, fee_rows, ...): not needed here
            return lambda *a, **kw: []

        async def row(self, check, target, fn):
            try:
                await fn()
            except ValueError:  # (not answered)
                pass

    k = Kit()
    asyncio.run(preflight_checks(k))
    asked = {(p, q.get("symbol"), q.get("category")) for p, q in k.calls if p in (POSITION_LIST, FEE_RATE)}
    assert asked == {(POSITION_LIST, "BTCUSD", "inverse"), (FEE_RATE, "BTCUSD", "inverse"),
                     (POSITION_LIST, "ETHUSDT", "linear"), (FEE_RATE, "ETHUSDT", "linear")}
