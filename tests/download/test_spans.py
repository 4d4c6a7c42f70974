"""Each source publishes each data type for a span of days only: a request wholly outside it is refused in one
line before any transfer (naming the last or first published day and what to use instead), a request partly
outside is cut to the span with one line saying so, and no request is made for a day outside it (a real HTTP
server on 127.0.0.1 laid out as the source, its request log checked)."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from liqcore.download.sources import SPANS, plan, published_span, tardis_spans
from tests.download._archive_server import ArchiveServer, binance_vision, tardis

ROOT = Path(__file__).resolve().parents[2]
KEY = "TD.span-key-never-shown-24680"
TODAY = dt.date(2026, 11, 25)


def _cli(*args: str, env_key: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TARDIS_API_KEY"}
    env["PYTHONPATH"] = str(ROOT)
    if env_key is not None:
        env["TARDIS_API_KEY"] = env_key
    return subprocess.run([sys.executable, "-m", "liqcore", "download", *args, "--no-progress", "--backoff", "50ms"],
                          env=env, capture_output=True, text=True, timeout=300)


def test_binance_vision_spans_as_published():
    """binance/binance-public-data issue #334 ("Many USDⓢ-M bookTicker data is missing starting from April 1st,
    2024": "daily files are missing from 2024-04-01 ... monthly file (2024-04) contains data only for first few
    hours") and #380 (UM BTCUSDT bookTicker "last updated : 2024-03-31"); issue #337 ("USDT-M
    liquidationSnapshot data missing after 2024-03-31") and #420 (the files "have been entirely removed");
    the USD-M archive's first daily file is BTCUSDT-aggTrades-2019-12-31.zip (data.binance.vision listing)."""
    bt = published_span("binance-vision", "bookTicker", today=TODAY)
    assert bt.last == dt.date(2024, 3, 31) and "tardis" in bt.newer and "liqcore record" in bt.newer
    assert published_span("binance-vision", "bookTicker", monthly=True, today=TODAY).last == dt.date(2024, 3, 31)
    agg = published_span("binance-vision", "aggTrades", today=TODAY)
    assert (agg.first, agg.last) == (dt.date(2019, 12, 31), dt.date(2026, 11, 24))  # a day's files the day after
    assert published_span("binance-vision", "aggTrades", monthly=True, today=TODAY).last == dt.date(2026, 10, 31)
    assert SPANS[("binance-vision", "metrics")].first == dt.date(2020, 9, 1)
    with pytest.raises(ValueError, match="liquidationSnapshot files only up to 2024-03-31.*tardis"):
        plan("binance-vision", ["BTCUSDT"], ["liquidationSnapshot"], dt.date(2023, 1, 1), dt.date(2023, 1, 2))


def test_tardis_spans_as_published():
    """docs.tardis.dev "Historical Data Details": Binance USDT Futures "historical data for all it's instruments
    is available since 2019-11-17"; Bybit Derivatives "all its inverse contracts is available since 2019-11-07
    (for linear contracts since 2020-05-28)", "Liquidations datasets are available since 2020-12-18"; OKX Swap
    "available since 2019-03-30", "Liquidations datasets are available since 2020-12-18"; downloadable CSV
    files: "CSV datasets for a given day are available on the next day"."""
    f = lambda ex, t, s="BTCUSDT": published_span("tardis", t, exchange=ex, symbol=s, today=TODAY).first  # noqa: E731
    assert f("binance-futures", "liquidations") == dt.date(2019, 11, 17)
    assert f("bybit", "trades", "BTCUSD") == dt.date(2019, 11, 7) and f("bybit", "trades") == dt.date(2020, 5, 28)
    assert f("bybit", "liquidations") == dt.date(2020, 12, 18) == f("okex-swap", "liquidations", "BTC-USDT-SWAP")
    assert f("okex-swap", "trades", "BTC-USDT-SWAP") == tardis_spans()[("okex-swap", "*")]
    assert f("bitmex", "trades", "XBTUSD") is None  # no span known: the archive's own 404s tell
    assert published_span("tardis", "trades", exchange="bitmex", today=TODAY).last == dt.date(2026, 11, 24)


def test_plan_cuts_each_type_to_its_span_and_says_so():
    notes: list[str] = []
    units = plan("binance-vision", ["BTCUSDT"], ["aggTrades", "bookTicker"], dt.date(2024, 3, 30),
                 dt.date(2024, 4, 2), notes=notes, today=TODAY)
    assert [u.label for u in units if u.type == "bookTicker"] == ["BTCUSDT bookTicker 2024-03-30",
                                                                 "BTCUSDT bookTicker 2024-03-31"]
    assert len([u for u in units if u.type == "aggTrades"]) == 4
    assert len(notes) == 1 and "bookTicker: cut to 2024-03-30..2024-03-31" in notes[0] and "tardis" in notes[0]
    notes = []
    units = plan("tardis", ["BTCUSDT"], ["trades"], dt.date(2026, 11, 23), dt.date(2026, 12, 5),
                 exchange="binance-futures", notes=notes, today=TODAY)
    assert [u.period for u in units] == ["2026-11-23", "2026-11-24"] and "the day after" in notes[0]
    with pytest.raises(ValueError, match=r"^to: .*the last published day is 2026-11-24"):
        plan("binance-vision", ["BTCUSDT"], ["trades"], dt.date(2026, 11, 25), dt.date(2026, 11, 26), today=TODAY)


def test_a_request_wholly_outside_is_refused_in_one_line_before_any_transfer(tmp_path):
    files = binance_vision(["BTCUSDT"], ["2025-01-01"], types=("bookTicker",))  # (served: never asked for)
    with ArchiveServer(files) as srv:
        r = _cli("binance-vision", "--symbols", "BTCUSDT", "--types", "bookTicker", "--from", "2025-01-01",
                 "--to", "2025-01-01", "--out", str(tmp_path / "out"), "--base-url", srv.url)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1, r.stderr
        assert "the last published day is 2024-03-31" in lines[0] and "liqcore download tardis" in lines[0]
        assert "liqcore record" in lines[0] and srv.log == []
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_request_partly_outside_is_cut_and_no_out_of_span_day_is_asked_for(tmp_path):
    days = ("2024-03-30", "2024-03-31", "2024-04-01", "2024-04-02")
    files = binance_vision(["BTCUSDT"], days, types=("aggTrades", "bookTicker"))  # the server has all of them
    with ArchiveServer(files) as srv:
        r = _cli("binance-vision", "--symbols", "BTCUSDT", "--types", "aggTrades,bookTicker", "--from", days[0],
                 "--to", days[-1], "--out", str(tmp_path / "out"), "--base-url", srv.url)
        assert r.returncode == 0, r.stderr
        cut = [ln for ln in r.stderr.splitlines() if ln.startswith("note: ")]
        assert len(cut) == 1 and "bookTicker: cut to 2024-03-30..2024-03-31" in cut[0], r.stderr
        asked = {p for p, _t, _s, _a in srv.log}
        assert not [p for p in asked if "bookTicker" in p and ("2024-04-01" in p or "2024-04-02" in p)]
        assert len([p for p in asked if "bookTicker" in p and p.endswith(".zip")]) == 2
        assert len([p for p in asked if "aggTrades" in p and p.endswith(".zip")]) == 4
    assert "aggTrades: 4 file(s), 4 day(s)" in r.stderr and "bookTicker: 2 file(s), 2 day(s)" in r.stderr


def test_tardis_before_its_first_day_refused_or_cut_without_a_request(tmp_path):
    files = tardis("bybit", "BTCUSDT", ("2020-12-17", "2020-12-18"), types=("liquidations",))
    with ArchiveServer(files, key=KEY) as srv:
        base = ("tardis", "--exchange", "bybit", "--symbols", "BTCUSDT", "--types", "liquidations",
                "--out", str(tmp_path / "out"), "--base-url", srv.url)
        r = _cli(*base, "--from", "2020-12-01", "--to", "2020-12-17", env_key=KEY)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1, r.stderr
        assert "the first published day is 2020-12-18" in lines[0] and srv.log == []
        r = _cli(*base, "--from", "2020-12-17", "--to", "2020-12-18", env_key=KEY)
        assert r.returncode == 0, r.stderr
        assert any(ln.startswith("note: tardis bybit liquidations: cut to 2020-12-18..2020-12-18")
                   for ln in r.stderr.splitlines()), r.stderr
        assert [p for p, _t, _s, _a in srv.log] == ["/v1/bybit/liquidations/2020/12/18/BTCUSDT.csv.gz"]
        assert KEY not in r.stdout + r.stderr
