"""`liqcore journal` on a journal with damaged rows: a row that cannot be read (its data not JSON, a JSON list
for an object, text where a price or a time is, a fill without its quantity) is left out and counted -- the report
says how many of which table and type, and judges the rest exactly as it judges the journal without those rows --
never a traceback, never the whole report failed by one row (a log row's ``[1,2]`` was an AttributeError, a fill's
``"price": "abc"`` a TypeError, a ``{not json`` row failed the report naming neither journal nor row).  A directory
given for the journal is said to be one; a damaged SQLite file is one line naming it."""
from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from liqcore.cli import main
from liqcore.live.journal import Journal
from liqcore.live.report import format_report, journal_report

T0 = 1_767_571_200_000_000_000  # 2026-01-05 00:00 UTC
H = 3_600_000_000_000


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    """A paper session of 25 h: 3 confirmed cascades, 2 closed trades, 4 fills, 2 entry orders."""
    path = tmp_path_factory.mktemp("j") / "good.sqlite"
    j = Journal(path, checkpoint_thread=False)
    j.note("session", {"strategy": "cascade-mm", "mode": "paper", "exits": "venue", "venue": "bybit",
                       "symbols": ["bybit:ETHUSDT"], "maker_fee_bps": 2.0, "taker_fee_bps": 5.5}, T0)
    for i in range(3):
        j.cascade({"record": "confirmed", "symbol": "ETHUSDT", "cascade_id": i}, T0 + (i + 1) * H)
    for i, pnl in enumerate((5.0, -2.0)):
        j.note("trade", {"symbol": "ETHUSDT", "side": "long", "pnl": pnl, "exit_reason": "take_profit",
                         "exit_ns": T0 + (i + 2) * H, "exit_price": 3000.0}, T0 + (i + 2) * H, key=f"c{i}")
    j.note("shutdown", {}, T0 + 25 * H)
    j.flush()
    j.close()
    db = sqlite3.connect(path)
    for i in range(4):
        data = {"client_id": f"c{i // 2}", "symbol": "ETHUSDT", "side": "buy", "price": 3000.0 + i, "qty": 0.5,
                "fee": 0.3, "is_maker": True, "kind": "entry" if i % 2 == 0 else "tp"}
        db.execute("INSERT INTO fills (exec_id, client_id, symbol, data, ts_ns) VALUES (?,?,?,?,?)",
                   (f"e{i}", data["client_id"], "ETHUSDT", json.dumps(data), T0 + (i + 1) * H))
    for i in range(2):
        db.execute("INSERT INTO orders (client_id, symbol, kind, side, status, qty, filled_qty) VALUES "
                   "(?, 'ETHUSDT', 'entry', 'buy', 'filled', 0.5, 0.5)", (f"c{i}",))
    db.commit()
    db.close()
    return path


#: damage -> (the SQL that does it, the rows it adds or spoils: (table, log type or None, count))
DAMAGE = {
    "log-list": ("INSERT INTO log (ts_ns, type, key, data) VALUES (%d, 'cascade', 'ETHUSDT', '[1,2]')" % (T0 + H),
                 ("log", "cascade", 1)),
    "log-not-json": ("INSERT INTO log (ts_ns, type, key, data) VALUES (%d, 'cascade', 'ETHUSDT', '{not json')" % (T0 + H),
                     ("log", "cascade", 1)),
    "log-text-time": ("INSERT INTO log (ts_ns, type, key, data) VALUES ('x', 'cascade', 'ETHUSDT', "
                      "'{\"record\":\"confirmed\",\"symbol\":\"ETHUSDT\"}')", ("log", "cascade", 1)),
    "log-symbol-list": ("INSERT INTO log (ts_ns, type, key, data) VALUES (%d, 'cascade', 'ETHUSDT', "
                        "'{\"record\":\"confirmed\",\"symbol\":[1]}')" % (T0 + H), ("log", "cascade", 1)),
    "trade-pnl-text": ("INSERT INTO log (ts_ns, type, key, data) VALUES (%d, 'trade', 'x', '{\"pnl\":\"abc\"}')" % (T0 + H),
                       ("log", "trade", 1)),
    "trade-no-exit-price": ("INSERT INTO log (ts_ns, type, key, data) VALUES (%d, 'trade', 'x', "
                            "'{\"symbol\":\"ETHUSDT\",\"side\":\"long\",\"exit_reason\":\"stop_loss\"}')" % (T0 + H),
                            ("log", "trade", 1)),
    "session-fees-text": ("INSERT INTO log (ts_ns, type, key, data) VALUES (%d, 'session', NULL, "
                          "'{\"maker_fee_bps\":\"abc\",\"symbols\":5}')" % (T0 + 2 * H), ("log", "session", 1)),
    "fills-bad": ("UPDATE fills SET data='{\"price\":\"abc\",\"qty\":null}'", ("fills", None, 4)),
    "fills-not-json": ("UPDATE fills SET data='garbage' WHERE exec_id IN ('e1', 'e3')", ("fills", None, 2)),
    "orders-text-qty": ("UPDATE orders SET filled_qty='abc' WHERE client_id='c1'", ("orders", None, 1)),
}


def _damaged(journal, tmp_path, sql):
    p = tmp_path / "damaged.sqlite"
    shutil.copy(journal, p)
    db = sqlite3.connect(p)
    db.execute(sql)
    db.commit()
    db.close()
    return p


def _figures(rep: dict) -> dict:
    """The report's figures and verdicts (what a damaged row must not change, once left out)."""
    return {k: rep[k] for k in ("session", "cascades", "win_rate", "fill_rate", "fills", "reaction_ms", "targets")}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_row_is_left_out_counted_and_the_rest_judged(journal, tmp_path, capsys, damage):
    sql, (table, type_, n) = DAMAGE[damage]
    good = journal_report(journal)
    assert good["left_out"] == [] and good["cascades"]["total"] == 3 and good["fills"] == 4
    p = _damaged(journal, tmp_path, sql)
    rep = journal_report(p)
    assert rep["left_out"] == [{"table": table, "type": type_, "rows": n}]
    if table == "log":  # an added row left out: the report is the journal's without it
        assert _figures(rep) == _figures(good)
    elif table == "fills":
        assert rep["fills"] == 4 - n and rep["cascades"] == good["cascades"] and rep["win_rate"] == good["win_rate"]
    else:
        assert rep["fill_rate"]["entries"] == 1 and rep["cascades"] == good["cascades"]
    text = format_report(rep)
    where = f"{table} type {type_}" if type_ else table
    assert f"left out: {n} journal row{'s' if n > 1 else ''} that could not be read ({where}: {n})" in text

    assert main(["journal", str(p)]) == 0  # the command: the report, no error
    out = capsys.readouterr()
    assert "left out:" in out.out and "go-live targets" in out.out, out
    assert main(["journal", str(p), "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["left_out"] == [{"table": table, "type": type_, "rows": n}]
    assert out.err.count("\n") == 1 and "warning:" in out.err and str(p) in out.err, out.err


def test_a_directory_or_a_damaged_file_is_one_line_naming_it(journal, tmp_path, capsys):
    assert main(["journal", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"liqcore journal: error: journal: {tmp_path} is a directory, not a journal file "
                           "(the file liqcore run --journal wrote)"), err
    with pytest.raises(ValueError, match="is a directory, not a journal file"):
        journal_report(tmp_path)
    cut = tmp_path / "cut.sqlite"  # a journal cut short: its tables' pages missing
    data = journal.read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    code = main(["journal", str(cut)])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1 and str(cut) in err, err
    assert "damaged" in err or "not a liqcore journal" in err, err
