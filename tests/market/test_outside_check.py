"""Defects found by running the documented whole-market commands from outside (issue 44's bars), each held here."""
from __future__ import annotations

import asyncio

import pytest

from liqcore.market.universe import UniverseError, load_universe

from tests.market._venues import Server, _binance_app


def test_an_instrument_list_from_one_url_is_never_served_for_another(tmp_path):
    """A list fetched from a mirror or a local test server (``--rest-url``) is cached for that URL only: a run
    against the venue's own URL (or another mirror) that cannot reach it fails in one line naming the URL it
    asked, instead of trading on another server's tick and lot sizes."""
    with Server(_binance_app()) as srv:
        u = asyncio.run(load_universe("binance", base_url=srv.url, cache_dir=tmp_path))
        assert u.rules["C000USDT"].tick_size == 0.0001
        # the same URL, unreachable later: its own cache, with a warning
    warned = []
    again = asyncio.run(load_universe("binance", base_url=srv.url, cache_dir=tmp_path, warn=warned.append))
    assert again.source == "cache" and again.symbols == u.symbols and len(warned) == 1
    # another URL (here unreachable): not served the first one's list
    with pytest.raises(UniverseError, match=r"cannot reach http://127\.0\.0\.1:1/") as e:
        asyncio.run(load_universe("binance", base_url="http://127.0.0.1:1", cache_dir=tmp_path, warn=warned.append))
    assert "\n" not in str(e.value) and len(warned) == 1
    # the venue's own URL (unreachable from a test: 127.0.0.1 only): not served the mirror's list either
    from liqcore.venues.registry import venue_spec

    bases = venue_spec("binance").part("stream").REST_ENDPOINTS
    saved = bases["mainnet"]
    bases["mainnet"] = "http://127.0.0.1:1"
    try:
        with pytest.raises(UniverseError, match="cannot reach"):
            asyncio.run(load_universe("binance", cache_dir=tmp_path, warn=warned.append))
    finally:
        bases["mainnet"] = saved


@pytest.mark.timeout(60)
@pytest.mark.parametrize("command", ["run", "record"])
@pytest.mark.parametrize("symbols", ["all,BTCUSDT", "BTCUSDT,all", "ALL,"])
def test_all_mixed_into_a_symbol_list_is_refused_in_one_line(command, symbols, tmp_path, capsys):
    """``--symbols all,BTCUSDT`` is not a symbol named ALL: refused before anything starts, one line."""
    from liqcore.cli import main

    args = [command, "--venue", "binance", "--symbols", symbols, "--rest-url", "http://127.0.0.1:1"]
    args += (["--replay", str(tmp_path / "none.jsonl"), "--no-dashboard"] if command == "run"
             else ["--out", str(tmp_path / "rec"), "--ws-url", "ws://127.0.0.1:1", "--duration", "2"])
    if symbols == "ALL,":  # a trailing comma is blanks dropped: this is --symbols all, not a symbol named ALL
        assert main(args) != 0  # run: the instrument list's URL unreachable; record: the feed's
        err = capsys.readouterr().err
        assert "symbol ALL" not in err
        assert ("cannot reach http://127.0.0.1:1" if command == "run" else "recording every binance liquidation") in err
        return
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"liqcore {command}: error: symbols: 'all' (every perpetual of the venue) cannot be mixed with "
                   "symbol names; use --symbols all --also S,... or a list of symbols"]


def _market_file(path, *, days: int, seed: int, echo_ms: int | None = None) -> None:
    """Binance ``!forceOrder@arr`` recorder lines (the documented payload) of 6 unrelated symbols over ``days``:
    steady small liquidations and, per symbol, about 4 cascades a day (4 large ones 4 s apart) at independent
    uniform times; ``echo_ms``: every cascade of the first symbol is echoed on each other symbol that much later
    (contagion), on top of their own."""
    import json
    import random

    rng = random.Random(seed)
    syms = ["ARCUSDT", "KAIAUSDT", "TRBUSDT", "ONTUSDT", "FLOWUSDT", "GHSTUSDT"]
    t0, span = 1_767_225_600_000, days * 86_400_000
    rows = []
    first = []
    for k, s in enumerate(syms):
        t = t0 + rng.randint(0, 3000)
        while t < t0 + span:
            t += rng.randint(60_000, 200_000)
            rows.append((t, s, rng.choice("BS"), rng.lognormvariate(4, 0.7)))
        for _ in range(4 * days):
            c = rng.randint(t0 + 3_600_000, t0 + span - 600_000)
            first += [c] if k == 0 else []
            rows += [(c + j * 4000, s, "S", rng.lognormvariate(4, 0.7) * 30) for j in range(4)]
    if echo_ms is not None:
        rows += [(c + echo_ms * k + j * 4000, s, "S", rng.lognormvariate(4, 0.7) * 30)
                 for c in first for k, s in enumerate(syms[1:], 1) for j in range(4)]
    rows.sort()
    last: dict = {}
    with open(path, "w") as f:
        for t, s, side, notional in rows:
            t = max(t, last.get(s, 0) + 1000)  # the venue's throttle: one per symbol per second
            last[s] = t
            q = f"{notional / 2.0:.3f}"
            o = {"s": s, "S": "BUY" if side == "B" else "SELL", "o": "LIMIT", "f": "IOC", "q": q, "p": "2.0000",
                 "ap": "2.0000", "X": "FILLED", "l": q, "z": q, "T": t}
            f.write(json.dumps({"recv_ns": (t + 15) * 1_000_000, "venue": "binance", "frame": {
                "stream": "!forceOrder@arr", "data": {"e": "forceOrder", "E": t + 1, "o": o}}}) + "\n")


@pytest.mark.parametrize("echo_ms, K, verdict", [(None, 2, "within"), (5_000, 3, "OUTSIDE")])
def test_detect_runs_the_market_wide_null_test_on_a_recording(echo_ms, K, verdict, tmp_path, capsys):
    """``detect FILE --market-wide K --chance``: the chance rate of market-wide episodes, from the command line,
    on a recording liqcore did not generate: independent symbols lie within it, a contagion lies outside.  (12
    days: with D days a draw keeps two instruments aligned with probability 1/D, so a short span has little power.)"""
    from liqcore.cli import main

    path = tmp_path / "market.jsonl"
    _market_file(path, days=12, seed=11, echo_ms=echo_ms)
    assert main(["detect", str(path), "--market-wide", str(K), "--chance", "100", "--json"]) == 0
    out, err = capsys.readouterr()
    episodes = sum('"market_wide":true' in x for x in out.splitlines())
    line = next(x for x in err.splitlines() if x.startswith("market-wide episodes:"))
    # (the null counts the whole days of the span: 11 here; the episodes of the last part-day are listed only)
    observed = int(line.split()[2])
    assert 0 < observed <= episodes and " observed over 11 d; " in line, line
    assert line.endswith(f"{verdict} what chance gives"), line
    assert main(["detect", str(path), "--chance"]) == 2
    assert capsys.readouterr().err.strip() == ("liqcore detect: error: chance: the null test of market-wide "
                                               "cascades needs --market-wide K")


def test_the_ranked_page_keeps_every_cascade_decided_between_two_views():
    """A market-wide burst decides more cascades between two views of the page (4 Hz) than the snapshot's eight
    recent decisions: each symbol's last cascade (the ranking's tie-break, the page's column) and its cascade
    history still hold every one."""
    import types

    import orjson

    from liqcore.config import Params
    from liqcore.live.engine import Engine
    from liqcore.live.web import LiveView
    from liqcore.testing.fake_replay import liquidation_frame

    syms = [f"S{i:02d}USDT" for i in range(30)]
    eng = Engine(Params(min_history=10, refresh_ns=0), symbols=syms)
    live = LiveView(types.SimpleNamespace(engine=eng, snapshot=eng.snapshot))
    t0 = 1_767_225_600_000
    for i, s in enumerate(syms):  # a baseline: 12 small liquidations each, 70 s apart (never two in a window)
        for k in range(12):
            t = t0 + k * 70_000 + i
            eng.on_frame("bybit", orjson.dumps(liquidation_frame(s, 10.0, 1.0, "Buy", t)), t * 10**6)
    live()  # a view before the burst
    burst = syms[:20]
    for j in range(2):  # then 20 symbols cascade at once: two large liquidations each
        for i, s in enumerate(burst):
            t = t0 + 900_000 + j * 2000 + i
            eng.on_frame("bybit", orjson.dumps(liquidation_frame(s, 10.0, 500.0, "Buy", t)), t * 10**6)
    decided = {d.symbol: d.ts_ns for d in eng.decision_log.decisions}
    assert set(decided) == set(burst)
    view = live()
    rows = {r["symbol"]: r for r in view["snapshot"]["symbols"]}
    assert {s: rows[s]["last_cascade_ns"] for s in burst} == decided
    assert {s: [c["ts_ns"] for c in q] for s, q in view["history"]["cascades"].items()} == {
        s: [t] for s, t in decided.items()}


def test_another_site_cannot_frame_the_page():
    """A foreign site may link to the page (a top-level navigation is served) but not frame it (clickjacking the
    controls, or showing the view inside its own page): a cross-site frame navigation gets 403, and the page
    itself tells the browser never to be framed."""
    import aiohttp

    from liqcore.live.web import WebDashboard

    view = {"source": "live", "snapshot": {"equity": 10_000.0}, "history": {}}

    async def main():
        dash = WebDashboard(lambda: view, "127.0.0.1", 0, hz=20)
        url = await dash.start()
        out = {}
        try:
            async with aiohttp.ClientSession() as s:
                for dest in ("document", "iframe", "frame", "embed", "object"):
                    async with s.get(url, headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate",
                                                   "Sec-Fetch-Dest": dest}) as r:
                        out[dest] = r.status
                async with s.get(url) as r:
                    out["headers"] = (r.status, r.headers.get("X-Frame-Options"),
                                      r.headers.get("Content-Security-Policy"))
        finally:
            await dash.stop()
        return out

    out = asyncio.run(main())
    assert out["document"] == 200
    assert [out[d] for d in ("iframe", "frame", "embed", "object")] == [403] * 4
    assert out["headers"] == (200, "DENY", "frame-ancestors 'none'")


def test_a_page_push_carries_the_latest_cascades_not_every_symbol_s_history():
    """400 symbols with 20 cascades each: a push carries the chart symbol's cascades and the market's latest 50
    (the page's cascade table), not 8,000 rows at 4 Hz; the count of all is said."""
    from liqcore.live.web_rank import RECENT_CASCADES, page_view

    syms = [f"S{i:03d}USDT" for i in range(400)]
    casc = {s: [{"ts_ns": 10**18 + k * 10**12 + i, "dominant": "long", "action": "none", "detail": "x"}
                for k in range(20)] for i, s in enumerate(syms)}
    view = {"snapshot": {"symbols": [{"symbol": s} for s in syms]},
            "history": {"cascades": casc, "prices": {"S007USDT": [[1.0, 2.0]]}}}
    out = page_view(view, {"page": 0, "per_page": 25, "chart": "S007USDT"})["history"]
    sent = [(s, c["ts_ns"]) for s, q in out["cascades"].items() for c in q]
    latest = sorted(((s, c["ts_ns"]) for s, q in casc.items() for c in q), key=lambda x: -x[1])[:RECENT_CASCADES]
    assert RECENT_CASCADES == 50 and set(latest) <= set(sent)
    assert out["cascades"]["S007USDT"] == casc["S007USDT"]  # the chart's markers: all of its symbol's
    assert len(sent) <= RECENT_CASCADES + 20 and out["cascades_total"] == 8000
    assert page_view({"snapshot": {}, "history": {"cascades": {"A": casc["S000USDT"][:3]}}}, {})["history"][
        "cascades"] == {"A": casc["S000USDT"][:3]}  # (a few: sent as they are)


def test_a_replay_of_raw_all_market_frames_says_they_lack_receive_times(tmp_path, capsys):
    """Binance's own ``!forceOrder@arr`` frames, one per line (what `detect` reads), are not malformed: a replay
    refuses them saying they carry no receive time; a broken line is still counted as malformed."""
    from liqcore.cli import main

    o = {"s": "ARCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "10", "p": "0.1", "ap": "0.1", "X": "FILLED",
         "l": "10", "z": "10", "T": 1767225600000}
    raw = tmp_path / "raw.jsonl"
    raw.write_text('{"stream":"!forceOrder@arr","data":{"e":"forceOrder","E":1767225600001,"o":%s}}\n{"stream":\n'
                   % __import__("json").dumps(o))
    assert main(["detect", str(raw), "--json"]) == 0
    assert "liquidations 1," in capsys.readouterr().err
    assert main(["run", "--venue", "binance", "--symbols", "ARCUSDT", "--replay", str(raw), "--no-dashboard",
                 "--duration", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"liqcore run: error: no usable events in {raw}: 2 lines skipped (malformed 1, raw_frame 1); "
                          "raw_frame: a venue's websocket frame without the recorder's receive time"), err


@pytest.mark.integration
@pytest.mark.timeout(240)
@pytest.mark.parametrize("command", ["run", "record"])
def test_ctrl_c_on_a_whole_market_command_says_interrupted(command, tmp_path):
    """``run`` and ``record`` stop gracefully on Ctrl-C (their summary printed) and say so on stderr, as every
    other command does."""
    import os
    import signal
    import subprocess
    import sys
    import threading
    from pathlib import Path

    from _procs import signal_and_wait, wait_until

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), LIQCORE_CACHE_DIR=str(tmp_path / "cache"))
    with Server(_binance_app()) as srv:
        if command == "run":
            rec = tmp_path / "market.jsonl"
            _market_file(rec, days=2, seed=5)
            args = ["run", "--venue", "binance", "--symbols", "all", "--replay", str(rec), "--rest-url", srv.url,
                    "--no-dashboard", "--speed", "1", "--duration", "200", "--web", "127.0.0.1:0"]
            ready = "web dashboard: http://"
        else:
            args = ["record", "--venue", "binance", "--symbols", "all", "--ws-url", "ws://127.0.0.1:1",
                    "--out", str(tmp_path / "rec"), "--duration", "200"]
            ready = "feed cannot connect"  # (inside its event loop: a connect attempt made)
        p = subprocess.Popen([sys.executable, "-m", "liqcore", *args], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        err: list[str] = []
        reader = threading.Thread(target=lambda: err.extend(iter(p.stderr.readline, "")), daemon=True)
        reader.start()
        wait_until(p, lambda: any(ready in x for x in err), f"{command} started", bound_s=120)
        if command == "run":  # the feed connected and frames replayed (its page says so)
            import urllib.request

            import orjson

            url = next(x for x in err if ready in x).split()[-1]

            def fed() -> bool:
                with urllib.request.urlopen(url + "api/view?per_page=1", timeout=10) as r:
                    feeds = orjson.loads(r.read())["snapshot"]["feeds"]
                return bool(feeds) and feeds[0]["connected"] and feeds[0]["frames"] > 1  # (beyond the ack)

            wait_until(p, fed, "the replay's feed connected", bound_s=120, every_s=0.2)
        assert p.poll() is None, "".join(err)
        signal_and_wait(p, signal.SIGINT, 30, f"{command} after Ctrl-C")
        out = p.stdout.read()
        reader.join(10)
    said = [x for x in err if x.startswith(f"liqcore {command}: interrupted")]
    # (record: its feed never connected, so the recording failed, exit 1 with that reason, as documented)
    assert len(said) == 1 and p.returncode == (0 if command == "run" else 1), "".join(err)[-2000:]
    assert ("paper binance" in out) if command == "run" else out.startswith("recorded 0 frames"), out
