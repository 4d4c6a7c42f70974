"""`liqcore detect`: through liqcore.cli.main and once as a subprocess."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import orjson
import pytest

from liqcore.cli import main
from liqcore.commands.detect import SAMPLE
from liqcore.dataset.load import load_events
from liqcore._libs.detection import CascadeDetector
from liqcore.types import RecordKind

KEYS = {"venue", "symbol", "start_ns", "confirm_ns", "end_ns", "dominant", "n_events", "n_large",
        "long_notional", "short_notional", "threshold"}


def _json_lines(out: str) -> list[dict]:
    return [orjson.loads(line) for line in out.splitlines() if line.strip()]


def test_sample_json_matches_the_detector(capsys):
    assert main(["detect", "--sample", "--json"]) == 0
    cap = capsys.readouterr()
    rows = _json_lines(cap.out)
    assert rows and all(set(r) == KEYS for r in rows)
    assert "cascades" in cap.err and "events 4345" in cap.err
    # the same numbers straight from the loader and the kernel
    res = load_events([SAMPLE])
    recs, counts = CascadeDetector().run(res.events, flush=True)
    confirmed = recs[recs["record"] == RecordKind.CONFIRMED]
    ended = {int(r["cascade_id"]): r for r in recs[recs["record"] == RecordKind.ENDED]}
    assert len(rows) == len(confirmed) == counts["cascades"] >= 5
    for row, c in zip(rows, confirmed):
        e = ended[int(c["cascade_id"])]
        assert row["symbol"] == res.registry.symbol(c["symbol_id"])
        assert (row["start_ns"], row["confirm_ns"], row["end_ns"]) == (c["start_ns"], c["confirm_ns"], e["end_ns"])
        assert (row["n_events"], row["n_large"]) == (e["n_events"], e["n_large"])
        assert row["long_notional"] == e["long_notional"] and row["threshold"] == c["threshold"]
        assert row["dominant"] in ("long", "short", "mixed")
        assert row["start_ns"] <= row["confirm_ns"] <= row["end_ns"]
    # the injected bursts of the sample are found, with their dominant side
    big = [r for r in rows if r["n_large"] >= 6]
    assert len(big) >= 6
    assert {r["venue"] for r in big} == {"bybit", "binance", "okx"}


def test_table_output_and_filters(capsys):
    assert main(["detect", "--sample", "--venue", "bybit"]) == 0
    out = capsys.readouterr().out
    assert "BTCUSDT" in out and "ETHUSDT" not in out and "SOL-USDT-SWAP" not in out
    assert "liquidation cascades" in out and "cascades" in out.splitlines()[-1]


def test_detector_flags_change_the_result(capsys):
    main(["detect", "--sample", "--json"])
    base = _json_lines(capsys.readouterr().out)
    main(["detect", "--sample", "--json", "--min-large", "5", "--window", "30s", "--quantile", "99%"])
    strict = _json_lines(capsys.readouterr().out)
    assert 0 < len(strict) < len(base)
    assert all(r["n_large"] >= 5 for r in strict)


def test_config_file(tmp_path, capsys):
    cfg = tmp_path / "p.toml"
    cfg.write_text('[params]\nmin_large = 5\nwindow = "30s"\n')
    main(["detect", "--sample", "--json", "--config", str(cfg)])
    from_cfg = _json_lines(capsys.readouterr().out)
    main(["detect", "--sample", "--json", "--min-large", "5", "--window", "30s"])
    assert from_cfg == _json_lines(capsys.readouterr().out)


def test_bad_rows_are_counted(tmp_path, capsys):
    f = tmp_path / "x.csv"
    f.write_text(SAMPLE.read_text() + "1723900000000000000,bybit,BTCUSDT,long,nan,1\n"
                 "1723900000000000001,bybit,BTCUSDT,sideways,100,1\n")
    assert main(["detect", str(f), "--json"]) == 0
    err = capsys.readouterr().err
    assert "loader rejects" in err


def test_empty_missing_and_bad_params(tmp_path, capsys):
    f = tmp_path / "empty.csv"
    f.write_text("ts_event_ns,venue,symbol,side,price,qty\n")
    assert main(["detect", str(f)]) == 1  # no usable events: an error naming why
    assert "no usable events" in capsys.readouterr().err
    assert main(["detect", str(f), "--allow-empty"]) == 0
    assert "no events" in capsys.readouterr().out
    assert main(["detect", str(f), "--json", "--allow-empty"]) == 0
    cap = capsys.readouterr()
    assert cap.out == "" and "no events" in cap.err
    assert main(["detect", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["detect"]) == 2
    assert "PATH" in capsys.readouterr().err
    assert main(["detect", "--sample", "--window", "soon"]) == 2
    assert "window" in capsys.readouterr().err


def test_real_recordings(real_data, capsys):
    d = real_data / "binance-forceorder-2025-12" / "binance.csv"
    if not d.exists():
        pytest.skip("recording missing")
    assert main(["detect", str(d), "--json", "--min-history", "20"]) == 0
    rows = _json_lines(capsys.readouterr().out)
    assert all(set(r) == KEYS and r["venue"] == "binance" for r in rows)


def test_subprocess():
    proc = subprocess.run([sys.executable, "-m", "liqcore", "detect", "--sample", "--json", "--symbol", "ETHUSDT"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    rows = _json_lines(proc.stdout)
    assert rows and {r["symbol"] for r in rows} == {"ETHUSDT"}
    assert np.all([r["end_ns"] >= r["confirm_ns"] for r in rows])


def test_format_flag(capsys):
    assert main(["detect", str(SAMPLE), "--format", "contract-csv", "--json"]) == 0
    forced = _json_lines(capsys.readouterr().out)
    assert main(["detect", str(SAMPLE), "--json"]) == 0
    assert forced == _json_lines(capsys.readouterr().out)
    assert main(["detect", str(SAMPLE), "--format", "bogus"]) == 2
    assert "format" in capsys.readouterr().err
