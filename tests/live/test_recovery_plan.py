"""Recovery as pure functions, checked without an engine: a real journal file in, a plan out."""
from __future__ import annotations

import time

import pytest

from liqcore.config import Params
from liqcore.venues.gateway import GatewayError, OrderIntent, OrderUpdate, PositionInfo
from liqcore.live.journal import Journal
from liqcore.live.recovery import reconcile_entry, restore_plan, unknown_positions

PARAMS = Params(min_history=5, history=50, entry_timeout_ns=10_000_000_000)
SYMBOLS = {"ETHUSDT": "bybit:ETHUSDT", "SOLUSDT": "bybit:SOLUSDT", "BTCUSDT": "bybit:BTCUSDT"}
NOW = time.time_ns()


def _intent(sym: str, cid: str, age_s: float) -> OrderIntent:
    return OrderIntent(sym, "buy", 0.5, 2995.5, cid, take_profit=3000.0, stop_loss=2988.0,
                       decision_ns=NOW - int(age_s * 1e9), meta={"cascade_id": 4, "ref_price": 3000.0})


@pytest.fixture
def journal(tmp_path):
    """A journal a crashed engine left: a young and an old pending entry, a cooldown, equity, anchors."""
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        j.intent(_intent("BTCUSDT", "lc-BTC-3-cccccc", 0.2), NOW, seq=3)
        j.intent(_intent("SOLUSDT", "lc-SOL-2-bbbbbb", 30), NOW, seq=2)
        j.intent(_intent("XRPUSDT", "lc-XRP-9-eeeeee", 0.2), NOW, seq=9)  # not traded any more
        eth = _intent("ETHUSDT", "lc-ETH-1-aaaaaa", 5)
        j.position("ETHUSDT", {"side": "buy", "qty": 0.5, "entry_price": 2995.0, "entry_ns": NOW - 1000,
                               "take_profit": 3000.0, "stop_loss": 2988.0, "intent": eth.__dict__ | {"meta": {}}}, NOW)
        j.cooldown("SOLUSDT", NOW + 60_000_000_000, NOW)
        j.set_state("loss_anchors", {"day": 7, "week": 1, "day_start_equity": 990.0, "week_start_equity": 1000.0})
    with Journal(path) as j:
        rec = j.recover()
    return rec


def test_restore_plan_resends_only_the_young_pending_entry(journal):
    plan = restore_plan(journal, SYMBOLS, PARAMS, paper=False, now_ns=NOW)
    assert not plan.empty and plan.seq >= 9
    assert [i.client_id for i in plan.resend] == ["lc-BTC-3-cccccc"]  # the old one waits for the reconcile
    assert set(plan.books) == {"BTCUSDT", "SOLUSDT", "ETHUSDT"}  # XRP is not traded: ignored
    eth = plan.books["ETHUSDT"]
    assert eth.position_qty == 0.5 and eth.entry_price == 2995.0 and eth.entry_status == "filled"
    eth_core = plan.core["symbols"]["bybit:ETHUSDT"]
    assert eth_core["status"] == "open" and eth_core["tp_price"] == 3000.0 and eth_core["sl_price"] == 2988.0
    assert plan.core["symbols"]["bybit:SOLUSDT"]["cooldown_until_ns"] == NOW + 60_000_000_000
    assert plan.books["SOLUSDT"].entry.client_id == "lc-SOL-2-bbbbbb" and plan.books["SOLUSDT"].entry_status == "pending"
    sol = plan.core["symbols"]["bybit:SOLUSDT"]
    assert sol["status"] == "resting" and sol["limit_price"] == 2995.5 and sol["cascade_id"] == 4
    assert sol["entry_deadline_ns"] == plan.books["SOLUSDT"].entry.decision_ns + 10_000_000_000
    assert plan.core["portfolio"] == {"day": 7, "week": 1, "day_start_equity": 990.0, "week_start_equity": 1000.0}
    assert plan.paper == []


def test_restore_plan_in_paper_mode_hands_entries_to_the_paper_venue(journal):
    plan = restore_plan(journal, SYMBOLS, PARAMS, paper=True, now_ns=NOW)
    assert plan.resend == []
    assert sorted((a[0].client_id, a[1]) for a in plan.paper) == [
        ("lc-BTC-3-cccccc", "new"), ("lc-ETH-1-aaaaaa", "filled"), ("lc-SOL-2-bbbbbb", "new")]


def test_restore_plan_a_held_position_takes_no_entry_back(journal):
    plan = restore_plan(journal, SYMBOLS, PARAMS, paper=False, now_ns=NOW, held={"BTCUSDT": 0.5})
    assert "BTCUSDT" not in plan.books and plan.resend == []


def test_restore_plan_of_an_empty_journal_is_empty(tmp_path):
    with Journal(tmp_path / "e.sqlite") as j:
        plan = restore_plan(j.recover(), SYMBOLS, PARAMS, paper=False, now_ns=NOW)
    assert plan.empty and plan.books == {} and plan.resend == []


def test_reconcile_entry_decides_from_the_venue_answer():
    old, young = _intent("ETHUSDT", "lc-ETH-1-aaaaaa", 30), _intent("ETHUSDT", "lc-ETH-1-ffffff", 0.2)
    # old and never reached the venue: closed as stale_intent, never resent
    p = reconcile_entry(old, 0.0, None, PARAMS, NOW)
    assert p.update.status == "cancelled" and p.update.reason == "stale_intent" and p.drop_pending and not p.cancel
    # young and never reached the venue: nothing (the pending intent is sent again)
    p = reconcile_entry(young, 0.0, None, PARAMS, NOW)
    assert p.update is None and not p.drop_pending
    # old and resting: reported, then cancelled
    resting = OrderUpdate(old.client_id, "new", "ETHUSDT", kind="entry")
    p = reconcile_entry(old, 0.0, resting, PARAMS, NOW)
    assert p.update is resting and p.cancel and p.fill is None
    # filled while the engine was down: the missed fill
    filled = OrderUpdate(old.client_id, "filled", "ETHUSDT", qty=0.5, filled_qty=0.5, avg_price=2995.0, kind="entry")
    p = reconcile_entry(old, 0.0, filled, PARAMS, NOW)
    assert p.fill.qty == 0.5 and p.fill.price == 2995.0 and p.fill.exec_id == "reconcile-lc-ETH-1-aaaaaa"
    assert not p.cancel
    # cancelled unfilled-by-the-books: the update ends the entry, no fill after it
    cancelled = OrderUpdate(old.client_id, "cancelled", "ETHUSDT", filled_qty=0.2, kind="entry")
    assert reconcile_entry(old, 0.0, cancelled, PARAMS, NOW).fill is None
    # ... but a partial fill beyond the books' position is applied
    part = OrderUpdate(old.client_id, "partially_filled", "ETHUSDT", filled_qty=0.3, avg_price=2995.5, kind="entry")
    assert reconcile_entry(old, 0.1, part, PARAMS, NOW).fill.qty == pytest.approx(0.2)
    # the venue cannot be asked: an old entry is asked again later, a young one waits
    err = GatewayError("502")
    assert reconcile_entry(old, 0.0, err, PARAMS, NOW).ask_later
    assert not reconcile_entry(young, 0.0, err, PARAMS, NOW).ask_later


def test_unknown_positions_are_the_venue_ones_the_books_lack():
    class B:
        def __init__(self, q):
            self.position_qty = q

    books = {"ETHUSDT": B(0.0), "SOLUSDT": B(2.0)}
    venue = [PositionInfo("ETHUSDT", "buy", 1.5, 2990.0), PositionInfo("SOLUSDT", "sell", 2.0, 150.0),
             PositionInfo("DOGEUSDT", "buy", 9.0, 0.1)]
    assert unknown_positions(venue, books) == [("ETHUSDT", 1.5)]
