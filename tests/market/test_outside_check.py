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
    import liqcore.market.universe as uni

    saved = uni.REST_URLS["binance"]
    uni.REST_URLS["binance"] = "http://127.0.0.1:1"
    try:
        with pytest.raises(UniverseError, match="cannot reach"):
            asyncio.run(load_universe("binance", cache_dir=tmp_path, warn=warned.append))
    finally:
        uni.REST_URLS["binance"] = saved


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
