"""The web page at whole-market scale: symbols ranked by their current anomaly (active cascade, z of the 5-minute
liquidation notional against the symbol's own baseline, purity, last cascade), one page of them per push (never
every row), the chart's prices for its one symbol; the ranking and the paging checked in a headless Chromium."""
from __future__ import annotations

import asyncio
import math
import time
import types

import aiohttp
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqcore.config import Params
from liqcore.live.engine import Engine
from liqcore.live.web import LiveView, WebDashboard
from liqcore.live.web_rank import AnomalyBoard, page_view, rank
from liqcore.testing.fake_replay import liquidation_frame, trade_frame

from _cdp import Browser, require_chromium

pytestmark = pytest.mark.timeout(180)
BIN = 300.0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 150), st.floats(1.0, 1e6), st.booleans()), min_size=1, max_size=80),
       st.integers(0, 170), st.integers(1, 6))
def test_z_and_purity_equal_their_definition(events, now_step, per):
    """Against a brute force over the events: the notional of the rolling window now (``per`` steps of 60 s), its
    baseline of the 24 windows before it (those ending at or after the symbol's first step), the dominant side's
    share; with a first read between two halves of the events (its kept baseline must count the later ones)."""
    b = AnomalyBoard(window_s=60.0 * per, windows=24, step_s=60.0)
    events = [(k % (now_step + 1), x, long_) for k, x, long_ in events]  # (received by now: none after the clock)
    half = len(events) // 2
    now = now_step * 60.0 + 2.0
    for k, x, long_ in events[:half]:
        b.add("S", k * 60.0 + 1.0, x, long_)
    b.anomaly("S", now)
    for k, x, long_ in events[half:]:
        b.add("S", k * 60.0 + 1.0, x, long_)
    z, purity = b.anomaly("S", now)
    first = min(k for k, _, _ in events)

    def window(end):  # long, short of the steps end-per+1 .. end
        lg = sum(x for k, x, long_ in events if end - per < k <= end and long_)
        return lg, sum(x for k, x, long_ in events if end - per < k <= end and not long_)

    cur = window(now_step)
    assert purity == (pytest.approx(max(cur) / sum(cur)) if sum(cur) else None)
    base = [sum(window(now_step - per * j)) for j in range(1, 25) if now_step - per * j >= first]
    if len(base) < 3:
        assert z is None
    else:
        mean = sum(base) / len(base)
        sd = max(1.0, math.sqrt(sum((v - mean) ** 2 for v in base) / (len(base) - 1)))
        assert z == pytest.approx((sum(cur) - mean) / sd, rel=1e-9, abs=1e-9)


def test_rank_puts_active_then_z_then_purity_then_the_latest_cascade():
    b = AnomalyBoard()
    for k in range(5):
        for s in ("A", "B", "C", "D", "E"):
            b.add(s, k * BIN, 1000.0 + 10 * k, True)
    now = 5 * BIN + 1
    b.add("B", now, 9000.0, True)  # the highest z
    b.add("C", now, 5000.0, True)  # one-sided ...
    b.add("D", now, 2500.0, True)
    b.add("D", now, 2500.0, False)  # ... the same z, mixed
    rows = [{"symbol": s, "active": s == "E"} for s in "ABCDE"]
    out = rank(rows, b, now, {"A": 5})
    assert [r["symbol"] for r in out] == ["E", "B", "C", "D", "A"] and [r["rank"] for r in out] == [1, 2, 3, 4, 5]
    assert out[2]["purity"] == 1.0 and out[3]["purity"] == 0.5 and out[2]["z"] == out[3]["z"]


def test_a_page_is_a_slice_of_the_ranking_and_one_chart():
    rows = [{"symbol": f"S{i:02d}", "rank": i + 1} for i in range(60)]
    view = {"snapshot": {"symbols": rows, "equity": 1.0}, "history": {"prices": {"S05": [[1, 2]], "S50": [[1, 3]]}}}
    p = page_view(view, {"page": 1, "per_page": 25})
    s = p["snapshot"]
    assert [r["rank"] for r in s["symbols"]] == list(range(26, 51)) and (s["symbols_total"], s["pages"]) == (60, 3)
    assert p["history"]["prices"] == {"S05": [[1, 2]]} and p["history"]["price_symbols"] == ["S05", "S50"]
    assert page_view(view, {"page": 99, "chart": "S50"})["snapshot"]["page"] == 2  # (clamped)
    assert page_view(view, {"chart": "S50"})["history"]["prices"] == {"S50": [[1, 3]]}
    assert len(page_view(view, {"per_page": 10_000})["snapshot"]["symbols"]) == 60  # (at most 100 a page)


def _market(eng: Engine, syms: list[str], now_s: float) -> None:
    """Six 5-minute bins of ordinary liquidations per symbol (one baseline for all), then the current bin: S07 a large mixed burst, S42 and
    S13 the same notional (S42 one-sided, S13 mixed), a trade of each symbol."""
    cur = math.floor(now_s / BIN) * BIN
    for k in range(6, 0, -1):
        for i, s in enumerate(syms):
            t = int((cur - k * BIN + i) * 1000)
            eng.on_frame("bybit", orjson.dumps(liquidation_frame(s, 10.0, 100.0 + 3 * k, "Buy", t)), t * 10**6)
    for s, parts in (("S07", [("Buy", 3000.0), ("Sell", 3000.0)]), ("S42", [("Buy", 2000.0)]),
                     ("S13", [("Buy", 1000.0), ("Sell", 1000.0)])):
        for j, (side, qty) in enumerate(parts):
            t = int((cur + 1) * 1000) + j
            eng.on_frame("bybit", orjson.dumps(liquidation_frame(s, 10.0, qty, side, t)), t * 10**6)
    for i, s in enumerate(syms):
        t = int((cur + 2) * 1000) + i
        eng.on_frame("bybit", orjson.dumps(trade_frame(s, 10.0, 1, "Buy", t)), t * 10**6)


@pytest.fixture
def chromium() -> str:
    """Chromium's path: the browser tests skip without one, and fail under CI (CI=true), which installs it."""
    return require_chromium()


@pytest.mark.usefixtures("chromium")
def test_sixty_symbols_ranked_and_paged_in_chromium(tmp_path):
    syms = [f"S{i:02d}" for i in range(60)]

    async def main():
        eng = Engine(Params(), symbols=syms)
        runner = types.SimpleNamespace(engine=eng, snapshot=eng.snapshot)
        live = LiveView(runner)  # (the engine's events reach the page's view from now on)
        now_s = time.time()
        _market(eng, syms, now_s)
        # the view's clock stays in the market's current 5-minute bin however long the page takes (a fixed clock:
        # the wall clock would move the burst into the baseline when a bin boundary passes mid-test)
        eng.replay_clock = types.SimpleNamespace(now_ns=int((math.floor(now_s / BIN) * BIN + 10) * 1e9))
        dash = WebDashboard(live, "127.0.0.1", 0, hz=10)
        url = await dash.start()
        rows = "[...document.querySelectorAll('#symbols .symbol-row')].map(r => [...r.cells].map(c => c.textContent))"
        try:
            async with aiohttp.ClientSession() as http:
                async def server(page):
                    async with http.get(f"{url}api/view?page={page}") as r:
                        return (await r.json())["snapshot"]

                first, second = await server(0), await server(1)
            async with Browser(tmp_path / "profile") as b:
                await b.open(url)
                await b.wait_for("document.getElementById('symbols-page').dataset.total === '60'")
                page1 = await b.wait_for(rows)
                sent = await b.eval("[view.snapshot.symbols.length, Object.keys(view.history.prices).length]")
                await b.eval("document.getElementById('page-next').click()")
                await b.wait_for("document.getElementById('symbols-page').dataset.page === '1'")
                page2 = await b.wait_for(rows + ".filter(r => r[0] === '26').length && " + rows)
                pager = await b.eval("document.getElementById('symbols-page').textContent")
                prev_disabled = await b.eval("document.getElementById('page-prev').disabled")
                return first, second, page1, page2, sent, pager, prev_disabled, list(b.errors)
        finally:
            await dash.stop()

    first, second, page1, page2, sent, pager, prev_disabled, errors = asyncio.run(main())
    assert errors == []
    assert (first["symbols_total"], first["pages"], len(first["symbols"])) == (60, 3, 25)
    # the most anomalous first: the largest burst, then equal notional one-sided before mixed
    assert [r["symbol"] for r in first["symbols"][:3]] == ["S07", "S42", "S13"]
    assert first["symbols"][1]["purity"] == 1.0 and first["symbols"][2]["purity"] == 0.5
    zs = [r["z"] for r in first["symbols"] + second["symbols"]]
    assert zs == sorted(zs, reverse=True) and zs[0] > 3  # ranked by z (no cascade is active)
    # the page shows the server's ranking, a page at a time: 25 rows in each push, one chart's prices
    assert [r[:2] for r in page1] == [[str(r["rank"]), r["symbol"]] for r in first["symbols"]]
    assert [r[:2] for r in page2] == [[str(r["rank"]), r["symbol"]] for r in second["symbols"]]
    assert page2[0][0] == "26" and len(page2) == 25 and sent == [25, 1]
    assert pager == "page 2 of 3 (60 symbols, ranked by anomaly now)" and prev_disabled is False


def test_a_whole_market_checklist_goes_as_counts_and_the_page_symbols_rates():
    from liqcore.live.report import per_day_text

    rates = {f"S{i:02d}": float(i) for i in range(12)}  # 0..11 a day: 5-9 within, 0-4 below, 10-11 above
    rows = [{"symbol": s} for s in sorted(rates, key=lambda s: -rates[s])]
    view = {"snapshot": {"symbols": rows, "checklist": {"cascades_per_day": rates, "entries": 3}}, "history": {}}
    ck = page_view(view, {"page": 0, "per_page": 4})["snapshot"]["checklist"]
    assert ck["cascades_per_day"] == {"S11": 11.0, "S10": 10.0, "S09": 9.0, "S08": 8.0} and ck["entries"] == 3
    assert ck["cascades_per_day_summary"] == {"symbols": 12, "within": 5, "below": 5, "above": 2,
                                              "top": [["S11", 11.0], ["S10", 10.0], ["S09", 9.0]]}
    assert per_day_text(rates, 5, 9) == ("12 symbols: 5 within 5-9/day, 5 below, 2 above; "
                                         "most: S11 11.0/day, S10 10.0/day, S09 9.0/day")
    few = {"S01": 6.0, "S02": 1.5}
    assert per_day_text(few, 5, 9) == "S01 6.0/day, S02 1.5/day"  # (a few symbols: each named, as before)
    assert "cascades_per_day_summary" not in page_view(
        {"snapshot": {"symbols": [], "checklist": {"cascades_per_day": few}}}, {})["snapshot"]["checklist"]


def test_every_watched_symbol_with_a_liquidation_is_ranked_traded_or_not():
    """A whole market watches more symbols than it trades: each watched symbol with a liquidation is a row of the
    ranking (z, purity, last cascade) on /api/view, paged like the traded ones, and says it is not tradable;
    the traded ones (their trading rules known) say they are."""
    traded = [f"S{i:02d}" for i in range(60)]
    watched = ["W1", "W2", "W3"]

    async def main():
        from liqcore.venues.instruments import Instrument

        eng = Engine(Params(), symbols=traded)
        # the venue's list holds every traded symbol's rules but S59's (a cascade on it: no_instrument)
        eng.order_manager.use_only({s: Instrument(s, 0.0001, 10.0, 10.0) for s in traded if s != "S59"})
        runner = types.SimpleNamespace(engine=eng, snapshot=eng.snapshot)
        live = LiveView(runner)
        now_s = time.time()
        _market(eng, traded + watched, now_s)
        cur = math.floor(now_s / BIN) * BIN
        t = int((cur + 3) * 1000)  # W2: the largest burst of the market, one-sided
        eng.on_frame("bybit", orjson.dumps(liquidation_frame("W2", 10.0, 9000.0, "Sell", t)), t * 10**6)
        eng.replay_clock = types.SimpleNamespace(now_ns=int((cur + 10) * 1e9))
        dash = WebDashboard(live, "127.0.0.1", 0, hz=10)
        url = await dash.start()
        try:
            async with aiohttp.ClientSession() as http:
                pages = []
                for page in range(3):
                    async with http.get(f"{url}api/view?page={page}&per_page=25") as r:
                        pages.append((await r.json())["snapshot"])
                return pages
        finally:
            await dash.stop()

    pages = asyncio.run(main())
    rows = [r for p in pages for r in p["symbols"]]
    assert pages[0]["symbols_total"] == 63 and pages[0]["pages"] == 3 and len(rows) == 63
    assert [r["rank"] for r in rows] == list(range(1, 64))
    by = {r["symbol"]: r for r in rows}
    assert set(by) == set(traded) | set(watched)
    assert rows[0]["symbol"] == "W2" and rows[0]["z"] > 3 and rows[0]["purity"] > 0.95  # ranked like any symbol
    assert [rows[1]["symbol"], rows[2]["symbol"]] == ["S07", "S42"]
    for s in watched:
        assert by[s]["tradable"] is False and by[s]["venue"] == "bybit" and "z" in by[s] and "last_cascade_ns" in by[s]
    assert all(by[s]["tradable"] is True for s in traded if s != "S59") and by["S59"]["tradable"] is False
