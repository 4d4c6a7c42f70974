"""A venue's whole universe from its public REST API (local servers on 127.0.0.1 laid out as each venue's
documentation shows: Binance exchangeInfo + 24 h tickers, Bybit's paged instruments-info + tickers, OKX's
instruments + tickers), the cache with its fetch time, and `record --symbols all`."""
from __future__ import annotations

import asyncio
import io
import json
import math
import threading
import time
from contextlib import redirect_stderr, redirect_stdout

import orjson
import pytest
from aiohttp import web

from liqcore.market.universe import Universe, UniverseError, fetch_universe, load_universe
from liqcore.venues.registry import venue_spec

from tests.market._venues import N, Server, _binance_app, _bybit_app, _names, _okx_app  # noqa: F401


@pytest.mark.parametrize("venue", ["binance", "bybit", "okx"])
def test_each_venue_lists_its_perpetuals_with_their_rules(venue):
    seen = []
    app = {"binance": _binance_app, "bybit": lambda: _bybit_app(seen), "okx": _okx_app}[venue]()
    with Server(app) as srv:
        u = asyncio.run(fetch_universe(venue, base_url=srv.url))
    assert len(u.symbols) == N and u.source == "venue" and abs(u.age_s()) < 60
    first = u.symbols[0]
    r = u.rules[first]
    assert r.tick_size == 0.0001 and r.qty_step == 10.0 and r.min_qty == 10.0
    if venue == "binance":
        assert u.left_out == {"not_perpetual": 1, "other_quote": 1, "not_trading": 1, "malformed": 1}
        assert r.min_notional == 5.0 and u.turnover["C001USDT"] == 1e6
    if venue == "bybit":
        assert len(seen) == 2 and seen[1]["cursor"] == "250"  # both pages read
        assert u.left_out == {"not_perpetual": 1}
    if venue == "okx":  # contracts of ctVal 10 base units: the lot in base units
        assert first == "C000-USDT-SWAP" and u.left_out == {"not_perpetual": 1} and u.turnover[first] == 2000.0
        # each swap's contract value (its liquidations come in contracts), kept through a selection and the cache
        assert len(u.contract) == N and u.contract[first] == 10.0
        assert Universe.from_json(json.loads(json.dumps(u.to_json()))).contract == u.contract
    else:
        assert u.contract == {}
    # a turnover floor and exclusions
    sel = u.select(exclude=[u.symbols[1], "nosuch"], min_volume=5e6)
    assert u.symbols[1] not in sel.symbols and sel.left_out["excluded"] == 1
    assert set(sel.contract) == (set(sel.symbols) if venue == "okx" else set())
    if venue != "okx":
        assert len(sel.symbols) == 200 and sel.left_out["below_min_volume"] == 199  # (the excluded one was below too)


def test_the_list_is_cached_with_its_time_and_served_when_the_venue_is_down(tmp_path, monkeypatch):
    seen = []
    with Server(_bybit_app(seen)) as srv:
        url = srv.url
        # (the local server stands for the venue's own URL: its stream part's REST base)
        monkeypatch.setitem(venue_spec("bybit").part("stream").REST_ENDPOINTS, "mainnet", url)
        u = asyncio.run(load_universe("bybit", base_url=url, cache_dir=tmp_path))
        assert len(seen) == 2
    path = tmp_path / "universe-bybit-usdt.json"
    saved = json.loads(path.read_text())
    assert saved["fetched_ns"] == u.fetched_ns and len(saved["rules"]) == N
    # no base URL override and a young cache: served from it, the venue not asked
    cached = asyncio.run(load_universe("bybit", cache_dir=tmp_path))
    assert cached.source == "cache" and cached.symbols == u.symbols and cached.rules["C007USDT"] == u.rules["C007USDT"]
    assert "from the cache" in cached.describe()
    # the venue unreachable (its server gone): the cache of any age, with a warning saying how old
    warned = []
    old = asyncio.run(load_universe("bybit", base_url=url, cache_dir=tmp_path, warn=warned.append))
    assert old.symbols == u.symbols and len(warned) == 1 and "cannot reach" in warned[0] and "cached" in warned[0]
    # and without a cache: one line naming the URL
    with pytest.raises(UniverseError, match="cannot reach http://127.0.0.1") as e:
        asyncio.run(load_universe("bybit", base_url=url, cache_dir=tmp_path / "empty"))
    assert "\n" not in str(e.value)


def test_a_venue_error_is_one_line():
    app = web.Application()

    async def bad(_):
        return web.Response(status=418, text="no\nthanks")

    app.router.add_get("/fapi/v1/exchangeInfo", bad)
    with Server(app) as srv:
        with pytest.raises(UniverseError, match="answered HTTP 418") as e:
            asyncio.run(fetch_universe("binance", base_url=srv.url))
    assert "\n" not in str(e.value)
    with pytest.raises(UniverseError, match="venue"):
        asyncio.run(fetch_universe("kraken"))
    assert Universe.from_json(json.loads(json.dumps(
        Universe("bybit", "USDT", {}, {}, 1, {}).to_json()))).fetched_ns == 1


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_record_all_subscribes_every_bybit_perpetual_over_several_connections(tmp_path):
    """1,000 symbols' ``allLiquidation`` topics exceed one connection's 21,000 characters of args: the recorder
    opens two; a liquidation of a long-tail symbol on the second is recorded."""
    from liqcore.cli import main
    from liqcore.live.recorder import read_lines
    from liqcore.testing import FakeExchangeThread
    from liqcore.testing.fake_replay import liquidation_frame

    seen = []
    with Server(_bybit_app(seen, 1000)) as srv:
        ft = FakeExchangeThread()
        fx = ft.start()

        most = [0]
        done = threading.Event()

        def venue():
            deadline = time.monotonic() + 60
            while fx.connections("public") < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not done.is_set():  # until the recorder stops
                most[0] = max(most[0], fx.connections("public"))
                ft.call(fx.push(liquidation_frame("C999USDT", 0.5, 100, "Buy")))
                time.sleep(0.1)

        t = threading.Thread(target=venue, daemon=True)
        err = io.StringIO()
        try:
            t.start()
            with redirect_stdout(io.StringIO()), redirect_stderr(err):
                code = main(["record", "--venue", "bybit", "--symbols", "all", "--also", "C001USDT", "--exclude",
                             "C002USDT", "--rest-url", srv.url, "--out", str(tmp_path / "rec"), "--ws-url",
                             fx.public_ws_url, "--duration", "4", "--flush", "0.1", "--quiet"])
            n_conn = most[0]
        finally:
            done.set()
            t.join(10)
            ft.stop()
    assert code == 0, err.getvalue()
    assert "bybit: 999 USDT perpetuals" in err.getvalue() and "left out: excluded=1" in err.getvalue()
    assert n_conn == 2 and "2 connection(s)" in err.getvalue()
    lines = [orjson.loads(x) for f in sorted((tmp_path / "rec").iterdir()) for x in read_lines(f)]
    topics = [str(x["frame"].get("topic", "")) for x in lines if isinstance(x.get("frame"), dict)]
    assert "allLiquidation.C999USDT" in topics


def test_record_all_refuses_what_an_all_market_stream_cannot_do(tmp_path, capsys):
    from liqcore.cli import main

    assert main(["record", "--venue", "binance", "--symbols", "all", "--exclude", "BTCUSDT", "--out",
                 str(tmp_path)]) != 0
    assert "cannot be narrowed" in capsys.readouterr().err
    assert main(["record", "--venue", "bybit", "--symbols", "BTCUSDT", "--also", "ETHUSDT", "--out", str(tmp_path)]) != 0
    assert "only with --symbols all" in capsys.readouterr().err


@pytest.mark.parametrize("venue, stream", [("binance", "!forceOrder@arr"),
                                           ("okx", '{"channel":"liquidation-orders","instType":"SWAP"}')])
def test_all_market_venues_subscribe_their_one_stream(venue, stream):
    from liqcore.market.streams import whole_market_specs

    specs = whole_market_specs(venue, [], [])
    assert [t for s in specs for t in s.topics] == [stream]
    specs = whole_market_specs(venue, [], ["ETHUSDT"], book=False)
    topics = [t for s in specs for t in s.topics]
    assert topics[0] == stream and len(topics) == 2 and "ETH" in topics[1].upper()
    assert not math.isnan(0.0)


@pytest.mark.parametrize("venue", ["binance", "bybit"])
def test_a_kept_instrument_answer_is_read_by_its_venue_s_market_part(tmp_path, venue):
    """``backtest --instruments FILE`` with the venue's own answer (Binance ``exchangeInfo``, Bybit
    ``instruments-info``): each trading perpetual's rules, read by the venue's market part (``answer_rules``)
    found through the registry, whichever venue the run names; a JSON no venue reads is the one-line error."""
    from liqcore.backtest.rules import load_rules
    from liqcore.venues.fake_universe import binance_exchange_info, bybit_instruments_page, market_instruments

    inst = market_instruments(12)
    answer = (binance_exchange_info(inst) if venue == "binance"
              else {"retCode": 0, "retMsg": "OK", "result": bybit_instruments_page(inst, {"limit": "1000"})})
    (tmp_path / "answer.json").write_text(json.dumps(answer))
    other = "bybit" if venue == "binance" else "binance"
    for named in (venue, other):
        u, source = load_rules(str(tmp_path / "answer.json"), named)
        assert sorted(u.rules) == sorted(inst) and source.endswith("(the venue's answer)")
        s = sorted(inst)[0]
        assert u.rules[s].tick_size == pytest.approx(inst[s]["tickSize"])
    (tmp_path / "other.json").write_text(json.dumps({"data": []}))
    with pytest.raises(ValueError, match=r"^instruments: .*other\.json: expected a liqcore instrument list"):
        load_rules(str(tmp_path / "other.json"), venue)
