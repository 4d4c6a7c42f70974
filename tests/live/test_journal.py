"""SQLite journal: write-ahead intents, terminal-status guard, recovery, survival of SIGKILL."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from liqcore.config import Params
from liqcore.venues.gateway import Fill, OrderIntent, OrderUpdate
from liqcore.live.intent_log import INTENT_LOG_TRUNCATE_BYTES
from liqcore.live.journal import Journal

pytestmark = pytest.mark.timeout(60)

T = 1_763_683_200 * 10**9  # Friday 2025-11-21 00:00 UTC


def intent(cid="lc-ETH-1-ab", side="buy"):
    return OrderIntent(symbol="ETHUSDT", side=side, qty=0.5, price=2496.25, client_id=cid, take_profit=2500.0,
                       stop_loss=2490.0)


def test_intent_update_fill_position_recover(tmp_path):
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        j.cascade({"symbol": "ETHUSDT", "dominant": "long"}, T)
        j.intent(intent(), T + 1, seq=1)
        j.order_update(OrderUpdate("lc-ETH-1-ab", "new", symbol="ETHUSDT", venue_order_id="v1"), T + 2)
        j.intent(intent("lc-ETH-2-cd"), T + 3, seq=2)
        j.order_update(OrderUpdate("lc-ETH-2-cd", "rejected", symbol="ETHUSDT", reason="EC_PostOnlyWillTakeLiquidity"), T + 4)
        j.order_update(OrderUpdate("lc-ETH-2-cd", "new", symbol="ETHUSDT"), T + 5)  # late ack: ignored
        assert j.fill(Fill("lc-ETH-1-ab", "ETHUSDT", "buy", 2496.25, 0.5, 0.25, True, exec_id="e1"), T + 6)
        assert not j.fill(Fill("lc-ETH-1-ab", "ETHUSDT", "buy", 2496.25, 0.5, 0.25, True, exec_id="e1"), T + 6)
        j.position("ETHUSDT", {"side": "buy", "size": 0.5, "entry_price": 2496.25}, T + 6)
        j.cooldown("SOLUSDT", T + 300 * 10**9, T + 7)
        j.equity(10_012.5, T + 8, "close")
    with Journal(path) as j:
        rec = j.recover()
        assert list(rec.open_orders) == ["lc-ETH-1-ab"]
        o = rec.open_orders["lc-ETH-1-ab"]
        assert o["status"] == "new" and o["venue_order_id"] == "v1" and o["intent"]["take_profit"] == 2500.0
        assert j.order("lc-ETH-2-cd")["status"] == "rejected"
        assert j.order("lc-ETH-2-cd")["reason"] == "EC_PostOnlyWillTakeLiquidity"
        assert rec.positions == {"ETHUSDT": {"side": "buy", "size": 0.5, "entry_price": 2496.25}}
        assert rec.cooldowns == {"SOLUSDT": T + 300 * 10**9}
        assert rec.equity == 10_012.5 and rec.seq == 2 and rec.exec_ids == {"e1"}
        types = [h["type"] for h in j.history()]
        assert types.count("intent") == 2 and types.count("fill") == 1 and "cascade" in types
        j.position("ETHUSDT", None, T + 9)
        assert j.recover().positions == {}


def test_batched_records_commit_with_next_order_record(tmp_path):
    count = "SELECT COUNT(*) FROM log"
    with Journal(tmp_path / "c.sqlite", batch_interval_s=3600, write_ahead="commit") as j:
        j.decision({"symbol": "ETHUSDT", "action": "buy"}, T)
        assert j.db.execute(count).fetchone()[0] == 0
        j.intent(intent(), T)  # commits at once, with the batched decision
        assert j.db.execute(count).fetchone()[0] == 2
    with Journal(tmp_path / "l.sqlite", batch_interval_s=3600) as j:
        j.decision({"symbol": "ETHUSDT", "action": "buy"}, T)
        j.intent(intent(), T)  # durable in the intent log; SQLite follows with the next order record
        assert j.db.execute(count).fetchone()[0] == 0 and j.intent_log_bytes > 0
        j.order_update(OrderUpdate("lc-ETH-1-ab", "new", symbol="ETHUSDT", venue_order_id="v"), T + 1)
        # committed; the log keeps its line (it is emptied only past INTENT_LOG_TRUNCATE_BYTES)
        size = j.intent_log_bytes
        assert j.db.execute(count).fetchone()[0] == 3 and 0 < size < INTENT_LOG_TRUNCATE_BYTES
        assert j.order("lc-ETH-1-ab")["status"] == "new"
    with Journal(tmp_path / "l.sqlite", batch_interval_s=3600) as j:  # the committed intent is not replayed
        assert j.replayed_intents == 0 and j.intent_log_bytes == 0
        assert j.order("lc-ETH-1-ab")["status"] == "new" and len(j.history("intent")) == 1


def test_intent_log_truncated_past_its_size_limit_and_committed_intents_never_replayed(tmp_path, monkeypatch):
    """Below the size limit a commit leaves the intent log alone (no truncate on the reaction path);
    once past it the next commit empties it; a restart replays only the intents SQLite lacks, so an
    intent whose order already moved on (filled, rejected) is never brought back as pending."""
    import liqcore.live.intent_log as jm

    path = tmp_path / "t.sqlite"
    with Journal(path, batch_interval_s=3600) as j:
        line = None
        for i in range(3):
            cid = f"lc-ETH-{i}-ab"
            j.intent(intent(cid), T + i, seq=i)
            j.order_update(OrderUpdate(cid, "filled" if i != 1 else "rejected", symbol="ETHUSDT",
                                       venue_order_id=f"v{i}"), T + i)
            line = line or j.intent_log_bytes
        assert j.intent_log_bytes == 3 * line  # three commits, never truncated
        tok = j.intent_ahead(intent("lc-ETH-9-zz"), T + 9, seq=9)  # durable, rows never queued
        del tok
    with Journal(path, batch_interval_s=3600) as j:
        assert j.replayed_intents == 1  # only the one SQLite lacked
        assert j.order("lc-ETH-0-ab")["status"] == "filled" and j.order("lc-ETH-1-ab")["status"] == "rejected"
        assert j.order("lc-ETH-9-zz")["status"] == "pending" and len(j.history("intent")) == 4
        monkeypatch.setattr(jm, "INTENT_LOG_TRUNCATE_BYTES", 2 * line)
        j.intent(intent("lc-ETH-10-a"), T + 10)
        j.flush()
        assert 0 < j.intent_log_bytes < 2 * line  # below the limit: kept
        j.intent(intent("lc-ETH-11-b"), T + 11)
        j.flush()
        assert j.intent_log_bytes == 0 and not j._ilog_path.read_bytes().strip(b"\0")  # past it: emptied at the commit
        j.intent_ahead(intent("lc-ETH-12-c"), T + 12)  # killed before its rows were queued
        assert j.intent_log_bytes > 0
    with Journal(path) as j:  # the one intent left in the log is replayed (its rows were never committed)
        assert j.replayed_intents == 1 and j.order("lc-ETH-12-c")["status"] == "pending"
        assert [j.order(f"lc-ETH-{i}-ab")["status"] for i in range(3)] == ["filled", "rejected", "filled"]


@pytest.mark.timeout(60)
def test_sigkill_loses_nothing_committed(tmp_path):
    """A child journals intents and acks in a loop and is SIGKILLed mid-run; every ack it printed
    (i.e. every one committed) is in the journal afterwards."""
    path = tmp_path / "k.sqlite"
    code = textwrap.dedent(f"""
        import sys
        from liqcore.live.journal import Journal
        from liqcore.venues.gateway import OrderIntent, OrderUpdate
        j = Journal({str(path)!r})
        i = 0
        while True:
            cid = "lc-X-%d" % i
            j.intent(OrderIntent("ETHUSDT", "buy", 1.0, 100.0, cid), {T} + i, seq=i)
            j.order_update(OrderUpdate(cid, "new", symbol="ETHUSDT", venue_order_id="v%d" % i), {T} + i)
            j.decision({{"symbol": "ETHUSDT", "i": i}}, {T} + i)
            print(cid, flush=True)
            i += 1
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    acked = []
    for line in p.stdout:
        acked.append(line.strip())
        if len(acked) >= 300:
            break
    p.kill()
    p.wait(10)
    assert p.returncode == -9
    with Journal(path) as j:
        rec = j.recover()
        for cid in acked:
            row = j.order(cid)
            assert row is not None and row["status"] == "new" and row["venue_order_id"] == "v" + cid.split("-")[-1]
        assert rec.seq >= len(acked) - 1



@pytest.mark.timeout(60)
def test_sigkill_after_the_write_ahead_replays_intents_only_the_mapped_log_holds(tmp_path):
    """Intents copied into the mapped intent log (their SQLite rows never queued) and the process killed
    at once: the next open finds them in the zero-filled log and replays each once, torn tail ignored."""
    import liqcore.live.intent_log as jm

    path = tmp_path / "m.sqlite"
    code = textwrap.dedent(f"""
        import os, signal, sys
        from liqcore.live.journal import Journal
        from liqcore.venues.gateway import OrderIntent
        j = Journal({str(path)!r})
        for i in range(5):
            j.intent_ahead(OrderIntent("ETHUSDT", "buy", 1.0, 100.0 + i, "lc-M-%d" % i), {T} + i, seq=i)
        j.touch_ahead()
        j._ilog_mm.write(b'{{"ts_ns":1,"seq":9,"intent":{{"client_id":"lc-torn"')  # killed mid-line
        print(j.intent_log_bytes, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert p.returncode == -9, p.stderr
    raw = (tmp_path / "m.sqlite.intents").read_bytes()
    n = int(p.stdout)
    assert len(raw) == jm.INTENT_LOG_MAP_BYTES and raw[:n].count(b"\n") == 5 and b"lc-torn" in raw[n:]
    with Journal(path) as j:
        assert j.replayed_intents == 5 and j.intent_log_bytes == 0
        assert [j.order(f"lc-M-{i}")["status"] for i in range(5)] == ["pending"] * 5
        assert j.order("lc-torn") is None and j.recover().seq == 4
    assert not (tmp_path / "m.sqlite.intents").exists()  # closed cleanly, every intent in SQLite: removed
    with Journal(path) as j:
        assert j.replayed_intents == 0


def test_intent_log_grows_past_its_map_and_is_trimmed_to_its_lines_at_close(tmp_path, monkeypatch):
    import liqcore.live.intent_log as jm

    monkeypatch.setattr(jm, "INTENT_LOG_MAP_BYTES", 4096)
    path = tmp_path / "g.sqlite"
    with Journal(path, batch_interval_s=3600) as j:
        lines = []
        for i in range(40):  # ~9 KiB of lines, never committed
            before = j.intent_log_bytes
            j.touch_ahead()  # stores the bytes already there: changes nothing
            j.intent_ahead(intent(f"lc-G-{i}"), T + i, seq=i)
            lines.append(j._ilog_path.read_bytes()[before:j.intent_log_bytes])
        assert len(j._ilog_mm) > 4096 and j.intent_log_bytes > 4096
        body = j._ilog_path.read_bytes()
        assert body[:j.intent_log_bytes] == b"".join(lines) and not body[j.intent_log_bytes:].strip(b"\0")
        assert all(ln.endswith(b"\n") and ln.count(b"\n") == 1 for ln in lines)
        assert [Journal.intent_line(T + i, i, Journal.intent_raw(intent(f"lc-G-{i}"))) for i in range(40)] == lines
    assert (tmp_path / "g.sqlite.intents").read_bytes() == b"".join(lines)  # a plain JSON-lines file again
    with Journal(path) as j:
        assert j.replayed_intents == 40 and len(j.history("intent")) == 40
    with pytest.raises(RuntimeError, match="closed"):
        j.intent_ahead_line(b"{}\n")


def _cascade(eng, t_ms, ref, side="Buy", base=True):
    """Paper engine frames: baseline liquidations, a reference print, two large liquidations."""
    import orjson

    from liqcore.testing.fake_replay import liquidation_frame, trade_frame

    frames = []
    if base:
        frames += [liquidation_frame("ETHUSDT", 3000, q, side, t_ms + i) for i, q in enumerate((0.5, 0.1, 0.3, 0.2, 0.4))]
    frames += [trade_frame("ETHUSDT", ref, 1, "Sell", t_ms + 1000), liquidation_frame("ETHUSDT", 3000, 10, side, t_ms + 1100),
               liquidation_frame("ETHUSDT", 3000, 12, side, t_ms + 1200)]
    out = []
    for f in frames:
        out += eng.on_frame("bybit", orjson.dumps(f), f["ts"] * 10**6)
    return out


def _print(eng, t_ms, px):
    import orjson

    from liqcore.testing.fake_replay import trade_frame

    eng.on_frame("bybit", orjson.dumps(trade_frame("ETHUSDT", px, 1, "Sell", t_ms)), t_ms * 10**6)


def test_one_set_of_risk_checks_survives_a_restart(tmp_path):
    """Hours, busy, cooldown and the loss limits are the strategy core's (the backtest's step functions);
    the dashboard's day PnL and limit flags read that same state, also after a restart from the journal
    (a second, separately kept risk state read 0 there while the restored limit still refused entries)."""
    import asyncio

    from liqcore.live.engine import Engine
    from liqcore.live.risk import RiskView

    p = Params.from_mapping({"min-history": 5, "history": 50, "window": "3s", "refresh": "30d", "hours": "13-18", "size": 1.0,
                             "stop-loss": "1%", "cooldown": "1m", "daily-loss": "1%", "weekly-loss": "5%"})
    j = Journal(tmp_path / "r.sqlite")
    eng = Engine(p, symbols=["ETHUSDT"], journal=j, equity=10_000.0)
    assert isinstance(eng.risk, RiskView) and eng.risk.core is eng.core
    noon = (T + 12 * 3600 * 10**9) // 10**6
    assert [d.reason for d in _cascade(eng, noon, 3000.0)] == ["hours"]
    t = (T + 14 * 3600 * 10**9) // 10**6
    ds = _cascade(eng, t, 3000.0, base=False)
    assert ds[0].action == "order" and ds[0].side == "buy"
    assert [d.reason for d in _cascade(eng, t + 5000, 3000.0, base=False)] == ["busy"]
    _print(eng, t + 9000, ds[0].price - 1)  # through the limit: filled
    _print(eng, t + 10_000, ds[0].price * 0.985)  # through the 1 % stop: closed at a loss > 1 % of equity
    snap = eng.snapshot()
    assert eng.books["ETHUSDT"].trades == 1 and snap["day_pnl"] < -100.0 and snap["daily_limit"]
    assert snap["day_pnl"] == pytest.approx(eng.equity - 10_000.0)
    assert [d.reason for d in _cascade(eng, t + 20_000, 3000.0, base=False)] == ["cooldown"]
    assert [d.reason for d in _cascade(eng, t + 90_000, 3000.0, base=False)] == ["loss_limit"]
    assert eng.snapshot()["blocked"] == {"hours": 1, "busy": 1, "cooldown": 1, "loss_limit": 1}
    j.close()
    # restart: the same limits, and the same numbers on the dashboard
    eng2 = Engine(p, symbols=["ETHUSDT"], journal=Journal(tmp_path / "r.sqlite"), equity=10_000.0)
    asyncio.run(eng2.start())
    snap2 = eng2.snapshot()
    assert snap2["day_pnl"] == pytest.approx(snap["day_pnl"]) and snap2["daily_limit"]
    assert [d.reason for d in _cascade(eng2, t + 200_000, 3000.0)] == ["loss_limit"]  # (re-warmed detector)
    # next UTC day: the daily limit is lifted (the weekly one is not reached), the view follows
    nxt = t + 86_400_000
    eng2.on_clock(nxt * 10**6)
    assert eng2.snapshot()["day_pnl"] == 0.0 and not eng2.snapshot()["daily_limit"]
    assert _cascade(eng2, nxt, 3000.0, base=False)[0].action == "order"
    eng2.journal.close()


def test_kill_switch_file_and_signal_toggle(tmp_path):
    from liqcore.live.risk import KillSwitch

    k = KillSwitch(tmp_path / "STOP")
    assert not k.killed
    (tmp_path / "STOP").write_text("")
    assert k.killed
    (tmp_path / "STOP").unlink()
    assert k.toggle() and k.killed
    assert not k.toggle() and not k.killed


@pytest.mark.timeout(60)
def test_intent_survives_sigkill_before_any_commit(tmp_path):
    """The intent log makes an intent durable with one write(): killed before SQLite saw it, the
    restart replays it as a pending order with its sequence number."""
    path = tmp_path / "w.sqlite"
    code = textwrap.dedent(f"""
        import os, signal
        from liqcore.live.journal import Journal
        from liqcore.venues.gateway import OrderIntent
        j = Journal({str(path)!r}, batch_interval_s=3600)
        j.intent(OrderIntent("ETHUSDT", "buy", 0.5, 2995.5, "lc-ETH-7-aa", take_profit=3000.0), {T}, seq=7)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    p = subprocess.run([sys.executable, "-c", code], timeout=30)
    assert p.returncode == -9
    with Journal(path) as j:
        assert j.replayed_intents == 1
        rec = j.recover()
        assert list(rec.open_orders) == ["lc-ETH-7-aa"] and rec.open_orders["lc-ETH-7-aa"]["status"] == "pending"
        assert rec.open_orders["lc-ETH-7-aa"]["intent"]["take_profit"] == 3000.0 and rec.seq == 7
    with Journal(path) as j:  # replayed once, not again
        assert j.replayed_intents == 0 and len(j.history("intent")) == 1


def test_intent_ahead_alone_survives_sigkill_and_rows_equal_intent(tmp_path):
    """intent_ahead is the durable half (killed right after it, before its rows were queued: replayed);
    intent_ahead + intent_rows leave the same rows as intent()."""
    path = tmp_path / "a.sqlite"
    code = textwrap.dedent(f"""
        import os, signal
        from liqcore.live.journal import Journal
        from liqcore.venues.gateway import OrderIntent
        j = Journal({str(path)!r}, batch_interval_s=3600)
        j.intent_ahead(OrderIntent("ETHUSDT", "sell", 0.5, 3004.5, "lc-ETH-9-bb"), {T}, seq=9)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    p = subprocess.run([sys.executable, "-c", code], timeout=30)
    assert p.returncode == -9
    with Journal(path) as j:
        assert j.replayed_intents == 1
        rec = j.recover()
        assert rec.open_orders["lc-ETH-9-bb"]["status"] == "pending" and rec.seq == 9
    rows = []
    for name, split in (("one.sqlite", False), ("two.sqlite", True)):
        with Journal(tmp_path / name) as j:
            if split:
                j.intent_rows(j.intent_ahead(intent(), T, seq=3))
            else:
                j.intent(intent(), T, seq=3)
            j.flush()
            rows.append((j.order("lc-ETH-1-ab"), j.history("intent"), j.recover().seq))
    assert rows[0] == rows[1] and rows[0][0]["status"] == "pending" and rows[0][2] == 3
    with Journal(tmp_path / "c.sqlite", write_ahead="commit") as j:  # commit mode: durable in SQLite at once
        tok = j.intent_ahead(intent("lc-ETH-2-cc"), T, seq=4)
        assert j.order("lc-ETH-2-cc")["status"] == "pending"
        j.intent_rows(tok)
        j.flush()
        assert len(j.history("intent")) == 1


def test_a_second_journal_on_the_same_file_leaves_the_owners_intent_log_alone(tmp_path):
    """An inspector (a report, a test) opening a journal a live engine holds must neither replay nor empty
    nor trim the owner's mapped intent log; it commits its own intents instead."""
    path = tmp_path / "o.sqlite"
    with Journal(path, batch_interval_s=3600) as owner:
        owner.intent_ahead(intent("lc-O-1"), T, seq=1)
        n = owner.intent_log_bytes
        with Journal(path, batch_interval_s=3600) as other:
            assert owner.intent_log_owner and not other.intent_log_owner and not other.writes_ahead
            assert other.replayed_intents == 0 and other.order("lc-O-1") is None
            other.intent(intent("lc-O-2"), T + 1, seq=2)  # committed at once
            assert other.order("lc-O-2")["status"] == "pending"
        owner.intent_ahead(intent("lc-O-3"), T + 2, seq=3)  # still mapped, still the whole file
        assert owner.intent_log_bytes > n and owner._ilog_path.read_bytes()[:n].count(b"\n") == 1
    with Journal(path) as j:  # the owner's two intents were never committed: replayed once
        assert j.intent_log_owner and j.replayed_intents == 2
        assert {r["key"] for r in j.history("intent")} == {"lc-O-1", "lc-O-2", "lc-O-3"}


def test_intent_log_blocks_reserved_at_open_and_a_full_disk_is_a_clear_error(tmp_path, monkeypatch):
    """The mapped log's blocks are allocated when it is opened: a store into a mapped page without a block
    would be a SIGBUS on a full disk, an allocation failure at open is an OSError naming the intent log."""
    import errno
    import os

    import liqcore.live.intent_log as jm

    with Journal(tmp_path / "r.sqlite") as j:
        st = os.stat(j._ilog_path)
        assert st.st_size == jm.INTENT_LOG_MAP_BYTES and st.st_blocks * 512 >= jm.INTENT_LOG_MAP_BYTES

    def full(fd, off, n):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jm.os, "posix_fallocate", full)
    with pytest.raises(OSError, match="intent log: cannot reserve"):
        Journal(tmp_path / "r.sqlite")
    monkeypatch.undo()
    with Journal(tmp_path / "r.sqlite") as j:  # the failed open released the log and closed its database
        assert j.intent_log_owner and j.writes_ahead


def test_intent_log_growth_on_a_full_disk_raises_and_leaves_no_unbacked_page(tmp_path, monkeypatch):
    import errno

    import liqcore.live.intent_log as jm

    monkeypatch.setattr(jm, "INTENT_LOG_MAP_BYTES", 4096)
    with Journal(tmp_path / "f.sqlite", batch_interval_s=3600) as j:
        i = 0
        while j.intent_log_bytes + 400 < 4096:
            j.intent_ahead(intent(f"lc-F-{i}"), T + i, seq=i)
            i += 1
        kept = j.intent_log_bytes

        def full(fd, off, n):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(jm.os, "posix_fallocate", full)
        with pytest.raises(OSError, match="intent log: cannot reserve"):
            for k in range(5):
                j.intent_ahead(intent(f"lc-F-x{k}"), T + 100 + k, seq=100 + k)
        assert len(j._ilog_mm) == 4096 and j._ilog_path.stat().st_size == 4096  # shrunk back: no unbacked page
        assert j.intent_log_bytes >= kept and j._ilog_path.read_bytes()[:j.intent_log_bytes].endswith(b"\n")
        monkeypatch.undo()  # the disk has room again: the log grows
        monkeypatch.setattr(jm, "INTENT_LOG_MAP_BYTES", 4096)
        j.intent_ahead(intent("lc-F-y"), T + 200, seq=200)
        assert len(j._ilog_mm) > 4096 and j._ilog_path.read_bytes()[:j.intent_log_bytes].count(b"lc-F-y") == 1
