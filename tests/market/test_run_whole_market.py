"""`liqcore run --venue binance --symbols all --replay FILE` on a recording of Binance's all-market
``!forceOrder@arr`` pushes over 300 symbols: the recording goes through a fake Binance market stream on
127.0.0.1 and the live feed's code path; the run finds, symbol by symbol, the cascades `liqcore detect FILE`
finds, and orders only the symbols whose trading rules the venue's instrument list (a local REST server)
holds, each on its own grid (tick 0.0001, lot 10); a cascade on an unlisted symbol is refused and counted."""
from __future__ import annotations

import sqlite3
from decimal import Decimal

import orjson
import pytest

from tests.market._venues import Server, _binance_app, _bybit_app, write_all_market_recording

LISTED = [f"C{k:03d}USDT" for k in range(295)]  # (the local venue lists C000 .. C399)
UNLISTED = [f"NEW{k}USDT" for k in range(5)]  # listed by no venue: no trading rules
TRADED_TOO = LISTED[:5]  # their trades recorded and subscribed (--also): the paper venue fills on them


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("allrun") / "binance-all.jsonl"
    write_all_market_recording(path, LISTED + UNLISTED, seed=7, trades=TRADED_TOO + UNLISTED[:1])
    return path


@pytest.fixture(scope="module")
def bybit_recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("allrun") / "bybit-all.jsonl"
    write_all_market_recording(path, LISTED + UNLISTED, seed=7, trades=TRADED_TOO + UNLISTED[:1], venue="bybit")
    return path


def _same_cascades(journal, expected: dict) -> None:
    """The run's journaled cascades are ``expected`` (detect's, symbol -> {(start, confirm, dominant, end,
    events, large)}): confirmed at the same moments, symbol by symbol, and those the replay saw end (a cascade
    still open when the recording stops is ended by detect's flush alone) end alike, the dominant side too."""
    with sqlite3.connect(journal) as db:
        logged = [orjson.loads(d) for (d,) in db.execute("SELECT data FROM log WHERE type = 'cascade'")]
    confirmed, ended = {}, {}
    for c in logged:
        key = (c["start_ns"], c["confirm_ns"])
        if c["record"] == "confirmed":
            confirmed.setdefault(c["symbol"], set()).add(key)
        else:
            ended.setdefault(c["symbol"], set()).add(key + (c["dominant"], c["end_ns"], c["n_events"], c["n_large"]))
    assert confirmed == {s: {x[:2] for x in v} for s, v in expected.items()}
    assert sum(map(len, ended.values())) >= len(expected) / 2 and all(v <= expected[s] for s, v in ended.items())


def _detect(recording, capsys, *params) -> dict:
    from liqcore.cli import main

    assert main(["detect", str(recording), "--json", *params]) == 0
    rows = [orjson.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    out: dict = {}
    for r in rows:
        out.setdefault(r["symbol"], set()).add((r["start_ns"], r["confirm_ns"], r["dominant"], r["end_ns"],
                                                r["n_events"], r["n_large"]))
    return out


@pytest.mark.integration
@pytest.mark.timeout(600)
@pytest.mark.parametrize("venue", ["binance", "bybit"])
def test_run_all_replays_a_whole_market_recording_with_detect_s_cascades_and_orders_only_listed_symbols(
        venue, request, tmp_path, capsys):
    """Binance: one all-market stream carries the unlisted symbols too (their cascades are found and refused,
    ``no_instrument``), and the ones --exclude and --min-volume leave out (``not_traded``); Bybit: only the
    selected symbols' ``allLiquidation`` topics are subscribed."""
    from liqcore.cli import main

    recording = request.getfixturevalue("recording" if venue == "binance" else "bybit_recording")
    expected = _detect(recording, capsys)
    assert len(expected) == len(LISTED) + len(UNLISTED)
    journal = tmp_path / "s.sqlite"
    with Server(_binance_app() if venue == "binance" else _bybit_app([])) as srv:
        code = main(["run", "--venue", venue, "--symbols", "all", "--also", ",".join(TRADED_TOO),
                     "--replay", str(recording), "--rest-url", srv.url, "--no-dashboard", "--duration", "540",
                     "--journal", str(journal), "--json", "--notional", "1234.5",
                     "--exclude", LISTED[11], "--min-volume", "1"])  # (C000, C010, ...: a 24 h turnover of 0)
    out = capsys.readouterr()
    assert code == 0, out.err
    narrowed = {LISTED[11], *LISTED[::10]}
    assert f"{venue}: 359 USDT perpetuals" in out.err and "below_min_volume=40, excluded=1" in out.err
    summary = orjson.loads(out.out.strip().splitlines()[-1])
    assert summary["venue"] == venue and len(summary["symbols"]) == 359 and not narrowed & set(summary["symbols"])
    if venue == "bybit":  # (the topics of the unlisted and left-out symbols are not subscribed, but --also's)
        expected = {s: v for s, v in expected.items() if s in TRADED_TOO or (s not in UNLISTED and s not in narrowed)}
    else:  # listed, but left out of trading
        assert summary["decided"]["not_traded"] == sum(len(expected[s]) for s in narrowed)
    with sqlite3.connect(journal) as db:
        orders = db.execute("SELECT symbol, price, qty, intent FROM orders WHERE kind = 'entry'").fetchall()
    _same_cascades(journal, expected)  # every symbol's cascades, as detect finds them
    assert summary["cascades_by_symbol"] == {s: len(v) for s, v in expected.items()}
    # a cascade on a symbol without trading rules: refused, counted, never sent
    refused = summary["decided"].get("no_instrument", 0)
    assert refused == (sum(len(expected[s]) for s in UNLISTED) if venue == "binance" else 0)
    assert refused or venue == "bybit"
    assert orders and {s for s, *_ in orders} <= set(TRADED_TOO) - narrowed
    for sym, price, qty, intent in orders:
        i = orjson.loads(intent)
        p, q = Decimal(str(i["price"])), Decimal(str(i["qty"]))
        assert p % Decimal("0.0001") == 0 and q % 10 == 0 and q >= 10 and p * q >= 5  # tick, lot, minimums
        assert p * q <= Decimal("1234.5")  # the quantity rounds down to the lot


def test_run_all_refuses_a_replay_with_none_of_its_streams(tmp_path, capsys):
    from liqcore.cli import main

    rec = tmp_path / "bybit.jsonl"
    rec.write_bytes(orjson.dumps({"recv_ns": 1_767_225_600_000_000_000, "venue": "bybit",
                                  "frame": {"topic": "allLiquidation.C001USDT", "data": []}}) + b"\n")
    with Server(_binance_app()) as srv:
        code = main(["run", "--venue", "binance", "--symbols", "all", "--replay", str(rec), "--rest-url", srv.url,
                     "--no-dashboard", "--duration", "30"])
    err = capsys.readouterr().err
    assert code == 1 and "Binance recorder files" in err and len(err.strip().splitlines()[-1]) < 400


def test_list_flags_need_symbols_all(capsys):
    from liqcore.cli import main

    assert main(["run", "--venue", "binance", "--symbols", "ETHUSDT", "--exclude", "BTCUSDT", "--no-dashboard"]) != 0
    assert "exclude: only with --symbols all" in capsys.readouterr().err
    # refused before the venue is asked for anything (no server here: asking would fail differently)
    assert main(["run", "--venue", "binance", "--symbols", "all", "--scope", "instrument", "--no-dashboard"]) != 0
    assert "--scope instrument takes a list" in capsys.readouterr().err
    assert main(["run", "--venue", "binance", "--symbols", "all", "--instruments-refresh", "soon", "--no-dashboard"]) != 0
    assert "instruments-refresh" in capsys.readouterr().err


@pytest.fixture(scope="module")
def split(recording, tmp_path_factory):
    """The recording cut at 2 h: the first part (75 liquidations a symbol, no burst yet) seeds, the rest
    is replayed (its bursts come after 3 h: without the seed no symbol has its 100 liquidations by then)."""
    from tests.market._venues import T0_MS

    d = tmp_path_factory.mktemp("split")
    cut = (T0_MS + 2 * 3600_000) * 1_000_000
    lines = recording.read_bytes().splitlines(keepends=True)
    early = [x for x in lines if orjson.loads(x)["recv_ns"] < cut]
    (d / "early.jsonl").write_bytes(b"".join(early))
    (d / "late.jsonl").write_bytes(b"".join(x for x in lines if orjson.loads(x)["recv_ns"] >= cut))
    return d / "early.jsonl", d / "late.jsonl"


@pytest.mark.integration
@pytest.mark.timeout(600)
@pytest.mark.parametrize("seed_from", ["recording", "dataset"])
def test_seed_history_warm_starts_every_symbol_of_the_whole_market(split, recording, seed_from, tmp_path, capsys):
    """--seed-history (a recording, or the dataset converted from it) gives each of the 300 symbols its own
    threshold history: the replayed part's cascades are those detect finds on the whole recording."""
    from liqcore.cli import main

    early, late = split
    expected = _detect(recording, capsys)
    assert main(["detect", str(late), "--json"]) in (0, 1)  # the late part alone: no symbol has its history
    assert not [x for x in capsys.readouterr().out.splitlines() if x.strip()]
    seed = early
    if seed_from == "dataset":
        seed = tmp_path / "ds"
        assert main(["convert", str(early), "--dataset", str(seed)]) == 0
    capsys.readouterr()
    with Server(_binance_app()) as srv:
        code = main(["run", "--venue", "binance", "--symbols", "all", "--replay", str(late), "--rest-url", srv.url,
                     "--seed-history", str(seed), "--no-dashboard", "--duration", "540", "--json",
                     "--journal", str(tmp_path / "s.sqlite")])
    out = capsys.readouterr()
    assert code == 0, out.err
    _same_cascades(tmp_path / "s.sqlite", expected)
    assert len(expected) == len(LISTED) + len(UNLISTED)


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_run_all_on_okx_sizes_a_long_tail_swap_with_its_listed_contract_value(tmp_path, capsys):
    """OKX counts liquidations in contracts: the instrument list's ctVal of every swap (C123-USDT-SWAP: 10
    base units, in no shipped table) sizes them, so the long-tail swap's cascade is found, not rejected."""
    import os
    import signal
    import threading
    import time

    from liqcore.cli import main
    from liqcore.testing.fake_exchange import FakeExchangeThread
    from liqcore.venues.fake_streams import FakeMarketStream
    from liqcore.venues.okx.samples import liquidation_frame

    from tests.market._venues import _okx_app

    stream = '{"channel":"liquidation-orders","instType":"SWAP"}'
    ft = FakeExchangeThread(FakeMarketStream, venue="okx")
    fs = ft.start()
    journal = tmp_path / "s.sqlite"
    seen = {}

    def venue():
        deadline = time.monotonic() + 120
        while not fs.subscribed(stream) and time.monotonic() < deadline:
            time.sleep(0.02)
        t0 = int(time.time() * 1000) - 30_000
        sizes = [5, 1, 3, 2, 4, 1.5, 100, 120]  # contracts: six small, then two large 1 s apart
        for i, sz in enumerate(sizes):
            ft.call(fs.push(liquidation_frame("C123-USDT-SWAP", t0 + i * 1000, sz, 2.5), stream))
        while time.monotonic() < deadline:  # until the run has journaled the cascade
            try:
                with sqlite3.connect(f"file:{journal}?mode=ro", uri=True) as db:
                    seen["rows"] = db.execute("SELECT data FROM log WHERE type = 'cascade'").fetchall()
                if seen["rows"]:
                    break
            except sqlite3.Error:
                pass
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=venue, daemon=True)
    try:
        with Server(_okx_app()) as srv:
            t.start()
            code = main(["run", "--venue", "okx", "--symbols", "all", "--rest-url", srv.url, "--ws-url", fs.ws_url,
                         "--no-dashboard", "--duration", "150", "--json", "--journal", str(journal),
                         "--min-history", "5", "--history", "50"])
    finally:
        t.join(30)
        ft.stop()
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = orjson.loads(out.out.strip().splitlines()[-1])
    assert summary["cascades_by_symbol"] == {"C123-USDT-SWAP": 1}
    assert not summary["decoder"].get("unknown_instrument")
    (c,) = [orjson.loads(d) for (d,) in seen["rows"] if orjson.loads(d)["record"] == "confirmed"]
    assert c["long_notional"] == pytest.approx((100 + 120) * 10 * 2.5, rel=1e-9)  # contracts x ctVal x price


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_binance_symbol_list_trades_on_the_venue_s_rules_not_the_shipped_table(recording, tmp_path, capsys):
    """A list on Binance: its symbols' rules come from the venue's instrument list (the shipped table holds
    Bybit's grids of five majors): a long-tail symbol's orders go out on its tick and lot; a symbol the venue
    does not list is said at start and its cascades are refused (no_instrument)."""
    from liqcore.cli import main

    sym = TRADED_TOO[1]
    with Server(_binance_app()) as srv:
        code = main(["run", "--venue", "binance", "--symbols", f"{sym},{UNLISTED[0]}", "--replay", str(recording),
                     "--rest-url", srv.url, "--no-dashboard", "--duration", "300", "--json", "--notional", "1234.5",
                     "--journal", str(tmp_path / "s.sqlite")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert f"binance lists no USDT perpetual {UNLISTED[0]}" in out.err
    summary = orjson.loads(out.out.strip().splitlines()[-1])
    assert summary["decided"]["no_instrument"] == summary["cascades_by_symbol"][UNLISTED[0]] > 0
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        orders = db.execute("SELECT symbol, intent FROM orders WHERE kind = 'entry'").fetchall()
    assert orders and {s for s, _ in orders} == {sym}
    for _, intent in orders:
        i = orjson.loads(intent)
        p, q = Decimal(str(i["price"])), Decimal(str(i["qty"]))
        assert p % Decimal("0.0001") == 0 and q % 10 == 0 and q >= 10 and p * q <= Decimal("1234.5")


def test_the_fake_binance_stream_routes_each_push_to_its_streams():
    from liqcore.venues.binance.fake_streams import streams as binance_streams
    from liqcore.venues.binance.samples import book_ticker_frame, liquidation_frame, trade_frame

    assert binance_streams(liquidation_frame("ARCUSDT", 1, 2.0, 3.0)) == ("!forceOrder@arr", "arcusdt@forceOrder")
    assert binance_streams(trade_frame("ARCUSDT", 1, 2.0, 3.0)) == ("arcusdt@trade",)
    assert binance_streams(trade_frame("ARCUSDT", 1, 2.0, 3.0, stream=True)) == ("arcusdt@trade",)  # combined
    assert binance_streams(book_ticker_frame("ARCUSDT", 1, 1.0, 2.0, 1.1, 2.0)) == ("arcusdt@bookTicker",)
    assert binance_streams(orjson.dumps({"e": "aggTrade", "s": "ARCUSDT", "p": "1"})) == ("arcusdt@aggTrade",)
    assert binance_streams(b'{"result":null,"id":1}') == () and binance_streams(b'{"e":"kline","s":"X"}') == ()


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_run_all_on_real_binance_liquidations_finds_detect_s_cascades(real_data, tmp_path, capsys):
    """Real ``!forceOrder@arr`` liquidations (January 2025, 3,510 over 221 symbols, USDC-settled ones among
    them) as the recorder writes them: the run's cascades per symbol are detect's on the same recording, and
    the symbols the (USDT) instrument list does not hold are refused."""
    from liqcore.cli import main
    from liqcore.venues.binance.parse import restore_symbol

    lines = []
    for ln in (real_data / "binance-forceorder-2025-01" / "binance.csv").read_text().splitlines():
        f = ln.split(",")
        if len(f) < 11 or f[0] == "s":
            continue
        t = int(f[10])
        o = dict(zip(("s", "S", "o", "f", "q", "p", "ap", "X", "l", "z"), [restore_symbol(f[0].strip()), *f[1:10]]))
        lines.append((t * 1_000_000 + 50_000_000, {"e": "forceOrder", "E": t, "o": {**o, "T": t}}))
    lines.sort(key=lambda x: x[0])
    rec = tmp_path / "real.jsonl"
    rec.write_bytes(b"".join(orjson.dumps({"recv_ns": t, "venue": "binance", "frame": fr}) + b"\n" for t, fr in lines))
    symbols = {fr["o"]["s"] for _, fr in lines}
    usdt = sorted(s for s in symbols if s.endswith("USDT"))
    assert len(symbols) > 200 and len(usdt) < len(symbols)
    params = ["--min-history", "5", "--history", "50"]
    expected = _detect(rec, capsys, *params)
    assert sum(map(len, expected.values())) >= 20
    with Server(_binance_app(usdt)) as srv:
        code = main(["run", "--venue", "binance", "--symbols", "all", "--replay", str(rec), "--rest-url", srv.url,
                     "--no-dashboard", "--duration", "540", "--json", "--journal", str(tmp_path / "s.sqlite"), *params])
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = orjson.loads(out.out.strip().splitlines()[-1])
    _same_cascades(tmp_path / "s.sqlite", expected)
    unlisted = sum(len(v) for s, v in expected.items() if s not in usdt)
    assert summary["decided"].get("no_instrument", 0) == unlisted
