"""A whole-market recording (Binance's all-market ``!forceOrder@arr`` frames over 300 symbols, the recorder's
format): every symbol keeps its own rolling threshold and cascade state, so the cascades found over the whole
market are, symbol by symbol, those of the symbol's liquidations alone; `detect` lists them and the
market-wide episodes."""
from __future__ import annotations

import numpy as np
import orjson
import pytest

from liqcore.types import RecordKind

N_SYMBOLS = 300


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    from tests.market._venues import write_all_market_recording

    path = tmp_path_factory.mktemp("allmkt") / "binance-all.jsonl"
    write_all_market_recording(path, [f"C{k:03d}USDT" for k in range(N_SYMBOLS)])
    return path


def _cascades(rec):
    c = rec[rec["record"] == RecordKind.CONFIRMED]
    e = {int(r["cascade_id"]): r for r in rec[rec["record"] == RecordKind.ENDED]}
    return [(int(x["start_ns"]), int(x["confirm_ns"]), int(e[int(x["cascade_id"])]["end_ns"]),
             int(e[int(x["cascade_id"])]["n_events"]), int(e[int(x["cascade_id"])]["n_large"])) for x in c]


def test_each_symbol_of_the_whole_market_keeps_its_own_threshold_and_cascades(recording):
    from liqcore._libs.detector import CascadeDetector
    from liqcore.io import load_events

    res = load_events([recording])
    ev = res.events
    assert len({res.registry.symbol(int(s)) for s in np.unique(ev["symbol_id"])}) == N_SYMBOLS
    rec, counts = CascadeDetector().run(ev, flush=True)
    assert counts["cascades"] >= N_SYMBOLS  # the bursts (two per symbol) confirm
    rng = np.random.default_rng(0)
    for sid in rng.choice(np.unique(ev["symbol_id"]), 25, replace=False):
        alone, _ = CascadeDetector().run(ev[ev["symbol_id"] == sid], flush=True)
        mine = rec[rec["symbol_id"] == sid]
        assert _cascades(mine) == _cascades(alone) and len(_cascades(alone)) >= 1
        assert np.array_equal(mine[mine["record"] == RecordKind.CONFIRMED]["threshold"],
                              alone[alone["record"] == RecordKind.CONFIRMED]["threshold"])


def test_detect_reads_the_all_market_stream_per_symbol(recording, capsys):
    from liqcore.cli import main

    assert main(["detect", str(recording), "--json", "--market-wide", "5"]) == 0
    rows = [orjson.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    per = [r for r in rows if not r.get("market_wide")]
    wide = [r for r in rows if r.get("market_wide")]
    assert len({r["symbol"] for r in per}) == N_SYMBOLS and {r["venue"] for r in per} == {"binance"}
    assert wide and all(w["n_instruments"] >= 5 for w in wide)
