"""A synthetic market's cache that cannot be written is said once, as not caching: the backtest does not print the
cache's folder as if the market were kept there; a writable one is named."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("writable", [False, True])
def test_an_unwritable_cache_is_said_once(tmp_path, capsys, monkeypatch, writable):
    import liqcore.synthetic.cache as sc
    from liqcore.cli import main

    where = tmp_path / "cache" if writable else "/proc/nope"
    monkeypatch.setenv("LIQCORE_CACHE_DIR", str(where))
    monkeypatch.setattr(sc, "UNWRITABLE", {})
    capsys.readouterr()
    assert main(["backtest", "--synthetic", "--days", "1", "--seed", "5", "--symbols", "BTCUSDT,ETHUSDT"]) == 0
    got = capsys.readouterr()
    lines = [ln for ln in (got.out + got.err).splitlines() if "cache" in ln]
    if writable:
        assert lines == [f"market cache: {where} ('liqcore cache info' / 'liqcore cache clear')"], lines
    else:
        assert len(lines) == 1 and lines[0].startswith(
            "synthetic market: not cached: the cache directory /proc/nope cannot be written"), lines
