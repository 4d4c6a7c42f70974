"""`liqcore detect FILE --symbols all` on a whole-market recording (Binance's all-market ``!forceOrder@arr``): every
symbol of the recording, narrowed by ``--exclude``, ``--quote`` and ``--min-volume`` as `run` / `record` narrow a
venue's market.  The quote and the 24 h turnover come from the instrument list `run` / `record` cached from a local
venue on 127.0.0.1 (``--rest-url``); without a list, ``--quote`` goes by the symbol's name (a note says so) and
``--min-volume`` is refused in one line.  The symbols kept are detected exactly as a plain `detect` finds them."""
from __future__ import annotations

import asyncio

import orjson
import pytest

from tests.market._venues import Server, _binance_app, write_all_market_recording

LISTED = [f"C{k:03d}USDT" for k in range(12)]  # (the local venue lists C000 .. C399; C000, C010: turnover 0)
UNLISTED = ["NEW1USDT"]  # listed by no venue
OTHER_QUOTE = ["C001USDC"]


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("detect-all") / "binance-all.jsonl"
    write_all_market_recording(path, LISTED + UNLISTED + OTHER_QUOTE, seed=3)
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LIQCORE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _detect(capsys, *argv) -> tuple[int, dict, str]:
    from liqcore.cli import main

    code = main(["detect", *argv, "--json"])
    out = capsys.readouterr()
    rows: dict = {}
    for r in (orjson.loads(x) for x in out.out.splitlines() if x.strip()):
        rows.setdefault(r["symbol"], []).append(r)
    return code, rows, out.err


def test_symbols_all_with_the_cached_list_narrows_by_its_quote_turnover_and_exclude(recording, cache, capsys):
    from liqcore.market.universe import load_universe

    code, every, _ = _detect(capsys, str(recording))
    assert code == 0 and set(every) == set(LISTED + UNLISTED + OTHER_QUOTE)  # (each symbol has its cascades)
    with Server(_binance_app()) as srv:
        asyncio.run(load_universe("binance", base_url=srv.url))  # what run / record --symbols all cache
        code, rows, err = _detect(capsys, str(recording), "--symbols", "all", "--rest-url", srv.url,
                                  "--exclude", "c005usdt", "--min-volume", "1")
    assert code == 0, err
    # C000, C010: a 24 h turnover of 0; C005 excluded; NEW1 no turnover (not listed); C001USDC not quoted in USDT
    kept = set(LISTED) - {"C000USDT", "C010USDT", "C005USDT"}
    assert set(rows) == kept
    assert rows == {s: every[s] for s in kept}  # the same cascades as the whole input's, symbol by symbol
    assert "--symbols all: 9 of the input's 14 symbols" in err
    from liqcore.market.universe import cache_path

    listed = cache_path("binance", "USDT", cache, srv.url)  # (the same list, given as a file)
    code, again, err2 = _detect(capsys, str(recording), "--symbols", "all", "--instrument-list", str(listed),
                                "--exclude", "C005USDT", "--min-volume", "1")
    assert code == 0 and again == rows, err2
    # the quote of the listed symbols is the list's; the two it does not hold (NEW1USDT, C001USDC) go by their name
    assert "note: --quote USDT: 2 binance symbol(s) the instrument list" in err and "suffix" in err


def test_symbols_all_without_a_list_goes_by_the_name_and_says_so(recording, cache, capsys):
    code, every, _ = _detect(capsys, str(recording))
    code, rows, err = _detect(capsys, str(recording), "--symbols", "all", "--exclude", "C003USDT,C004USDT")
    assert code == 0, err
    assert set(rows) == set(LISTED + UNLISTED) - {"C003USDT", "C004USDT"}  # (C001USDC: not quoted in USDT)
    assert rows == {s: every[s] for s in rows}
    assert "note: --quote USDT: no binance USDT instrument list is cached" in err and "suffix" in err
    code, rows, err = _detect(capsys, str(recording), "--symbols", "all", "--quote", "USDC")
    assert code == 0 and set(rows) == set(OTHER_QUOTE), err


def test_min_volume_needs_a_list_with_turnovers_and_the_flags_need_symbols_all(recording, cache, capsys):
    from liqcore.cli import main

    code, rows, err = _detect(capsys, str(recording), "--symbols", "all", "--min-volume", "5e6")
    assert code != 0 and rows == {}
    last = err.strip().splitlines()[-1]
    assert "min-volume" in last and "turnover" in last and "Traceback" not in err and len(err.strip().splitlines()) == 1
    for argv, said in ((["--exclude", "C001USDT"], "exclude: only with --symbols all"),
                       (["--min-volume", "1"], "min-volume: only with --symbols all"),
                       (["--symbols", "all,C001USDT"], "cannot be mixed"),
                       (["--symbols", "all", "--symbol", "C001USDT"], "not both"),
                       (["--symbols", "all", "--exclude", ",".join(LISTED + UNLISTED)], "none of the input's")):
        assert main(["detect", str(recording), *argv]) != 0
        assert said in capsys.readouterr().err, argv
    code, rows, err = _detect(capsys, str(recording), "--symbols", "C002USDT,C007USDT")  # a list: as --symbol
    assert code == 0 and set(rows) == {"C002USDT", "C007USDT"}, err
