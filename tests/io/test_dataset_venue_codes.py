"""Venue codes in datasets: any registered venue's code, with datasets of the release before read back unchanged.

``tests/data/dataset-r1`` was written by the release whose in-memory partition key packed the venue in two bits
(``(sid + 1) * 4 + venue``): trades, quotes, liquidations and depth of one symbol of each built-in venue on
2026-01-01, from :func:`_events` below.  It reads back as those events; and a dataset holding venues registered
with codes 4, 5 and 77 beside the built-in three keeps every one apart (before the key was widened, code 4
aliased to the next symbol's venue 0, ``io/save.py`` raised IndexError and depth came back as code 0).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from liqcore.types import Flag, Kind, Side, SymbolRegistry, make_events

DATA = Path(__file__).resolve().parents[1] / "data" / "dataset-r1"
T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z in ns
S = 1_000_000_000


def _events(symbols: dict) -> tuple[np.ndarray, SymbolRegistry]:
    """Six seconds-apart steps per (venue code -> [symbols]): a trade, a quote pair, a liquidation every other
    step, a depth snapshot pair and an update; ``(events in receive order, registry)``."""
    reg = SymbolRegistry()
    rows = []
    for v, names in symbols.items():
        for k, name in enumerate(names):
            sid = reg.id(v, name)
            base = 100.0 * (v + 1) + k
            for i in range(6):
                t = T0 + (v * 10 + k) * S + i * 7 * S
                rows.append((t, t + 5_000_000, base + i, 1.0 + i, sid, int(Side.BUY if i % 2 else Side.SELL),
                             int(Kind.TRADE), v, 0))
                rows.append((t + 1, t + 6_000_000, base + i - 0.5, 2.0, sid, int(Side.BUY), int(Kind.QUOTE), v, 0))
                rows.append((t + 1, t + 6_000_000, base + i + 0.5, 3.0, sid, int(Side.SELL), int(Kind.QUOTE), v, 0))
                if i % 2 == 0:
                    fl = int(Flag.SAMPLED) if v != 1 else 0
                    rows.append((t + 2, t + 7_000_000, base + i, 0.5 + i, sid, int(Side.LONG if i % 4 else Side.SHORT),
                                 int(Kind.LIQUIDATION), v, fl))
                snap = int(Flag.SNAPSHOT)
                rows.append((t + 3, t + 8_000_000, base + i - 1, 4.0, sid, int(Side.BUY), int(Kind.DEPTH), v, snap))
                rows.append((t + 3, t + 8_000_000, base + i + 1, 5.0, sid, int(Side.SELL), int(Kind.DEPTH), v, snap))
                rows.append((t + 4, t + 9_000_000, base + i - 1, 0.0 if i % 3 == 2 else 6.0, sid, int(Side.BUY),
                             int(Kind.DEPTH), v, 0))
    names = ["ts_event", "ts_recv", "price", "qty", "symbol_id", "side", "kind", "venue", "flags"]
    ev = make_events(**{n: np.array(c) for n, c in zip(names, zip(*rows))})
    return ev[np.argsort(ev["ts_recv"], kind="stable")], reg


def _named(ev: np.ndarray, reg) -> list:
    """Each event as a tuple with its (venue code, symbol name) in place of the symbol id, sorted."""
    out = [(int(e["ts_event"]), int(e["ts_recv"]), float(e["price"]), float(e["qty"]), reg.symbol(int(e["symbol_id"])),
            int(e["side"]), int(e["kind"]), int(e["venue"]), int(e["flags"])) for e in ev]
    return sorted(out)


def _read_back(path) -> tuple[list, list]:
    from liqcore.dataset.depth import load_depth
    from liqcore.dataset.read import load_dataset

    res = load_dataset(path)
    depth, dreg = load_depth(path)
    return _named(res.events, res.registry), _named(depth, dreg)


def _expected(symbols):
    ev, reg = _events(symbols)
    depth = ev["kind"] == int(Kind.DEPTH)
    return _named(ev[~depth], reg), _named(ev[depth], reg)


BUILTIN = {1: ["BTCUSDT"], 2: ["BTCUSDT"], 3: ["BTC-USDT-SWAP"]}


def test_dataset_of_the_release_before_reads_back_unchanged(tmp_path):
    """The kept dataset (2-bit venue key era) reads back as the events that wrote it, depth included."""
    path = tmp_path / "ds"
    shutil.copytree(DATA, path)  # (a read may leave a lock or cache beside it: never in the checkout)
    rows, depth = _read_back(path)
    want_rows, want_depth = _expected(BUILTIN)
    assert rows == want_rows and len(rows) == 3 * (6 * 3 + 3)
    assert depth == want_depth and {r[7] for r in depth} == {1, 2, 3}


@pytest.fixture
def more_venues():
    """Venues ``bolt`` (5) and ``rekt`` (77) registered for the test beside the built-in ``gate`` (4), forgotten
    after it."""
    from liqcore.venues.registry import VenueSpec, register, unregister

    names = {"bolt": 5, "rekt": 77}
    for name, code in names.items():
        register(VenueSpec(name=name, code=code, package=f"tests_{name}_venue"), replace=True)
    yield names
    for name in names:
        unregister(name)


def test_dataset_keeps_any_registered_venue_apart(tmp_path, more_venues):
    """Codes 4, 5 and 77 beside 1..3, two symbols each: written and read back with every venue and symbol its
    own (code 4 of symbol 0 was (symbol 1, venue 0) under the 2-bit key), depth too."""
    from liqcore.dataset.write import write_dataset

    symbols = {v: ["BTCUSDT", "ETHUSDT"] for v in (1, 2, 4, 5, 77)}
    ev, reg = _events(symbols)
    write_dataset(ev, tmp_path / "ds", reg)
    parts = sorted(p.name for p in (tmp_path / "ds").glob("venue=*"))
    assert parts == ["venue=binance", "venue=bolt", "venue=bybit", "venue=gate", "venue=rekt"]
    assert sorted(p.name for p in (tmp_path / "ds" / "_depth").glob("venue=*")) == parts
    rows, depth = _read_back(tmp_path / "ds")
    want_rows, want_depth = _expected(symbols)
    assert rows == want_rows
    assert depth == want_depth


def test_contract_parquet_and_events_name_a_registered_venue(tmp_path, more_venues):
    """The contract's Parquet file and ``events`` name a registered venue by its name, and the contract reader
    reads it back under its code."""
    import io

    import orjson

    from liqcore.commands.events import write_json_lines
    from liqcore.io.save import events_to_table

    ev, reg = _events({5: ["BTCUSDT"], 77: ["ETHUSDT"]})
    table = events_to_table(ev, reg)
    assert set(table.column("venue").to_pylist()) == {"bolt", "rekt"}
    out = io.BytesIO()
    write_json_lines(ev, reg, out)
    assert {orjson.loads(line)["venue"] for line in out.getvalue().splitlines()} == {"bolt", "rekt"}


def test_mapped_columns_file_reads_a_registered_venue(tmp_path, more_venues):
    """A CSV read through a column mapping whose venue column names ``rekt`` (code 77) and ``bybit``: each row
    under its venue's code (the symbol table had room for four venue codes: IndexError)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from liqcore.dataset.load import load_events
    from liqcore.io.mapped import make_mapping

    n = 10
    ms = 1_723_075_200_000 + np.arange(n) * 1000
    pcsv.write_csv(pa.table({"T": ms, "s": ["BTCUSDT"] * n, "S": ["BUY", "SELL"] * (n // 2),
                             "p": np.full(n, 61_000.0), "q": np.full(n, 0.5),
                             "ex": ["rekt" if i % 2 else "bybit" for i in range(n)]}), tmp_path / "f.csv")
    res = load_events(tmp_path / "f.csv", columns=make_mapping("ts=T,symbol=s,side=S,price=p,qty=q,venue=ex", "ms",
                                                               "order", "liquidation", None))
    assert sorted(np.unique(res.events["venue"]).tolist()) == [1, 77] and len(res.events) == n
    assert {res.registry.venue(int(s)) for s in res.events["symbol_id"]} == {1, 77}
