"""One gateway core: what the Bybit and Binance gateways share lives once, in
liqcore.venues.gateway_core; the venue files keep only what differs."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from liqcore.venues.binance.gateway import BinanceGateway
from liqcore.venues.bybit.gateway import BybitGateway
from liqcore.venues.gateway import OrderIntent
from liqcore.venues.okx.gateway import OkxGateway
from liqcore.venues.gateway_core import VenueGateway

VENUE_DIR = Path(__file__).resolve().parents[2] / "liqcore" / "venues"
VENUES = (VENUE_DIR / "bybit" / "gateway.py", VENUE_DIR / "binance" / "gateway.py", VENUE_DIR / "okx" / "gateway.py")


def _class_defs(path: Path, name: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    return {n.name for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def test_the_venue_gateways_take_the_shared_part_from_the_core():
    hooks = {"_create_error", "_quiet_reconcile", "_open_anything", "_cancel_batch"}  # (each venue's own answer)
    shared = _class_defs(VENUE_DIR / "gateway_core.py", "VenueGateway") - hooks
    assert {"instrument", "round_price", "round_qty", "sync_clock", "known", "check_intent",
            "_after_create_error", "_retry_after_unknown_outcome", "_hold_keys"} <= shared
    for path, cls in zip(VENUES, (BybitGateway, BinanceGateway, OkxGateway)):
        assert issubclass(cls, VenueGateway)
        again = shared & _class_defs(path, cls.__name__)
        assert again == set(), f"{path.name} defines the core's {sorted(again)} again"
        # what a failed create means, how the venue is read again while its stream is quiet, what is open, its batch
        # cancel: the venue's
        assert hooks <= _class_defs(path, cls.__name__)


def _code_lines(path: Path) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        s = " ".join(line.split())
        if s and not s.startswith(("#", "import ", "from ")) and s not in (")", "]", "}", "):", "try:", "else:"):
            out.append(s)
    return out


@pytest.mark.parametrize("pair", [(0, 1), (0, 2), (1, 2)])
def test_no_run_of_six_lines_is_repeated_across_the_venue_gateways(pair):
    a, b = (_code_lines(VENUES[i]) for i in pair)
    runs_b = {tuple(b[i:i + 6]) for i in range(len(b) - 5)}
    repeated = [a[i:i + 6] for i in range(len(a) - 5) if tuple(a[i:i + 6]) in runs_b]
    assert repeated == [], "\n\n".join("\n".join(r) for r in repeated[:3])


@pytest.mark.parametrize("cls, name", [(BybitGateway, "Bybit orderLinkId"), (BinanceGateway, "Binance newClientOrderId"),
                                       (OkxGateway, "OKX clOrdId")])
def test_one_intent_check_names_the_venues_client_id(cls, name):
    gw = cls.__new__(cls)
    bad = OrderIntent(symbol="BTCUSDT", side="buy", qty=1.0, price=100.0, client_id="x" * 37)
    with pytest.raises(ValueError, match=f"client_id: must be 1..36 characters \\({name}\\)"):
        gw.check_intent(bad)
    with pytest.raises(ValueError, match="side: must be 'buy' or 'sell'"):
        gw.check_intent(OrderIntent(symbol="BTCUSDT", side="up", qty=1.0, price=100.0, client_id="a"))


@pytest.mark.parametrize("cls, args", [(BybitGateway, ("k", "s", "http://127.0.0.1:9", "ws://127.0.0.1:9")),
                                       (BinanceGateway, ("k", "s", "http://127.0.0.1:9", "ws://127.0.0.1:9")),
                                       (OkxGateway, ("k", "s", "p", "http://127.0.0.1:9", "ws://127.0.0.1:9"))])
def test_banned_reads_the_governor_the_rest_client_keeps_for_its_host(cls, args):
    """Every venue's REST client keeps its host's governor (``rest.gov``, the process's one for that host): the
    gateway's ``banned()`` asks that one alone (no look-up of governors by host beside it)."""
    from liqcore.venues.governor import governor_for, reset_governors

    reset_governors()
    try:
        gw = cls(*args)
        assert gw.rest.gov is governor_for(gw.name, "http://127.0.0.1:9")
        assert gw.banned() is None
        gw.rest.gov.ban(600, "test: Retry-After 600 s")
        line = gw.banned()
        assert line and line.startswith(f"{gw.name}: IP banned by 127.0.0.1:9") and "until" in line, line
    finally:
        reset_governors()
