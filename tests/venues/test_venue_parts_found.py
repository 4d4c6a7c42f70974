"""What used to be a table keyed by venue outside ``liqcore/venues/`` is asked of the venue's parts: a venue
registered at run time ("zed", written to ``tmp_path``, no file of liqcore touched) brings its fake's public names
to ``liqcore.testing``, its side of the local venue's market to ``liqcore.testing.fake_session``, tardis.dev's first
days of it to ``liqcore download tardis`` and its feed's one-liquidation-per-second rule to the check that a tardis
liquidations file holds trades."""
from __future__ import annotations

import datetime as dt
import importlib
import sys
import textwrap

import numpy as np
import pytest

CODE = 93
_FILES = {
    "__init__.py": "",
    "fake.py": '''
        """The zed venue's whole local fake (a stand-in: what liqcore.testing hands on)."""
        __all__ = ["FakeZed", "ZED_API_KEY", "FAKE"]
        ZED_API_KEY = "zed-key-1"


        class FakeZed:
            pass


        FAKE = FakeZed
    ''',
    "fake_session.py": '''
        """zed's side of the local venue's market."""


        class LocalMarketSide:
            BOOK_RESEND_S = 2.5

            def __init__(self, fv):
                self.fv = fv

            @staticmethod
            def book_frame(symbol, update_id, t_ms, bid, bid_qty, ask, ask_qty):
                return f"zed {symbol} {update_id} {bid}x{bid_qty} {ask}x{ask_qty}".encode(), None
    ''',
    "archives.py": '''
        """zed's files: none of its own; tardis.dev's days of it and what its liquidation feed cannot hold."""
        READERS = ()
        TARDIS_SPANS = {("zed-futures", "*"): (2021, 3, 4), ("zed-futures", "liquidations"): (2022, 5, 6)}
        ONE_LIQUIDATION_PER_SECOND_SINCE_NS = 1_600_000_000_000_000_000
        TARDIS_LIQUIDATION_IDS_EMPTY = True
    ''',
}


@pytest.fixture
def zed(tmp_path, monkeypatch):
    from liqcore.venues.registry import VenueSpec, register, unregister

    pkg = tmp_path / "zed_venue"
    pkg.mkdir()
    for name, text in _FILES.items():
        (pkg / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    spec = register(VenueSpec(name="zed", code=CODE, package="zed_venue", aliases=("zed-futures",)))
    try:
        yield spec
    finally:
        unregister("zed")
        for m in [m for m in sys.modules if m == "zed_venue" or m.startswith("zed_venue.")]:
            del sys.modules[m]
        sys.modules["liqcore.testing"].__dict__.pop("FakeZed", None)


def test_liqcore_testing_hands_on_its_fake_s_names(zed):
    import liqcore.testing as T

    assert T.FakeZed.__module__ == "zed_venue.fake" and T.ZED_API_KEY == "zed-key-1"
    assert {"FakeZed", "ZED_API_KEY"} <= set(T.__all__) and "FAKE" not in T.__all__
    assert T.FakeOkx.__name__ == "FakeOkx" and T.FakeExchange.__module__ == "liqcore.venues.bybit.fake"


def test_the_local_market_asks_its_side(zed):
    from liqcore.testing.fake_session import book_frame, book_resend_s

    assert book_resend_s("zed") == 2.5
    assert book_frame("zed", "ZED_USDT", 7, 1, "1.5", "2", "1.6", "3") == (b"zed ZED_USDT 7 1.5x2 1.6x3", None)
    assert book_resend_s("bybit") == 3.0 and book_resend_s("binance") == 1.0


def test_download_tardis_knows_its_first_days(zed):
    from liqcore.download.sources import published_span, tardis_spans

    assert tardis_spans()[("zed-futures", "*")] == dt.date(2021, 3, 4)
    today = dt.date(2026, 1, 1)
    assert published_span("tardis", "trades", exchange="zed-futures", today=today).first == dt.date(2021, 3, 4)
    assert published_span("tardis", "liquidations", exchange="zed-futures", today=today).first == dt.date(2022, 5, 6)


def test_a_tardis_liquidations_file_of_its_trades_is_told_by_its_feed_s_rule(zed):
    from liqcore.io.tardis_liquidations import _not_liquidations
    from liqcore.types import EVENT_DTYPE

    n = 300  # (three rows of one symbol each 0.3 s: its feed sends at most one a second)
    ev = np.zeros(n, EVENT_DTYPE)
    ev["venue"] = CODE
    ev["ts_event"] = 1_700_000_000_000_000_000 + np.arange(n) * 100_000_000
    why = _not_liquidations(ev, np.zeros(n, np.int64))
    assert "while zed sends at most 1 liquidation per second per symbol" in why, why
    ev["ts_event"] -= 200_000_000_000_000_000  # (before the rule began: genuine liquidations may come so)
    assert _not_liquidations(ev, np.zeros(n, np.int64)) == ""
