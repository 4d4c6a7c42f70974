"""An input that yields no usable events is an error naming why (exit 1), unless --allow-empty.

Every command that reads recordings goes through one check (liqcore.io.require_events /
require_usable): detect, events, convert, backtest, sweep, features, study and run --replay.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from liqcore.cli import main
from liqcore.io import NoUsableInput, require_events
from liqcore.dataset.load import load_events

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CSV = ROOT / "liqcore" / "data" / "sample_liquidations.csv"

#: command -> extra arguments it needs besides the input
COMMANDS = {
    "detect": [],
    "events": [],
    "convert": ["--out", "{tmp}/out.parquet"],
    "backtest": ["--no-progress"],
    "sweep": ["--grid", "offset=0.1%", "--no-progress"],
    "features": ["--no-progress"],
    "study": ["--no-progress"],
}


@pytest.fixture
def rejected_file(tmp_path) -> Path:
    """Twelve lines, every one rejected: ten malformed, two liquidations with a zero size."""
    lines = [b"{not json"] * 10 + [
        b'{"topic":"allLiquidation.ETHUSDT","type":"snapshot","ts":1739502302929,"data":[{"T":1739502302929,'
        b'"s":"ETHUSDT","S":"Buy","v":"0","p":"2700"}]}'] * 2
    p = tmp_path / "bad.jsonl"
    p.write_bytes(b"\n".join(lines) + b"\n")
    return p


def _args(cmd: str, tmp_path: Path) -> list[str]:
    return [a.replace("{tmp}", str(tmp_path)) for a in COMMANDS[cmd]]


@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_every_row_rejected_is_an_error_naming_why(cmd, rejected_file, tmp_path, capsys):
    assert main([cmd, str(rejected_file), *_args(cmd, tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert f"no usable events in {rejected_file}: 12 rows rejected (malformed_json 10, non_positive 2)" in err[0]
    assert "--allow-empty" in err[0]


@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_an_empty_directory_is_an_error(cmd, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([cmd, str(empty), *_args(cmd, tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"no usable events in {empty}: no recording files found" in err


@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_allow_empty_says_why_and_exits_0(cmd, rejected_file, tmp_path, capsys):
    assert main([cmd, str(rejected_file), *_args(cmd, tmp_path), "--allow-empty"]) == 0
    err = capsys.readouterr().err
    assert "warning: no usable events in" in err and "12 rows rejected" in err


def test_empty_file_and_selection_that_matches_nothing(tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("ts_event_ns,venue,symbol,side,price,qty\n")
    assert main(["detect", str(empty)]) == 1
    assert "the file holds no records" in capsys.readouterr().err
    assert main(["detect", str(SAMPLE_CSV), "--symbol", "NOSUCHUSDT"]) == 1
    assert "none of its 4,345 events match --symbol NOSUCHUSDT" in capsys.readouterr().err
    assert main(["events", str(SAMPLE_CSV), "--kind", "trade"]) == 1
    assert "match --kind trade" in capsys.readouterr().err
    assert main(["features", str(SAMPLE_CSV), "--symbols", "NOSUCHUSDT", "--no-progress"]) == 1
    assert "match --symbols NOSUCHUSDT" in capsys.readouterr().err


def test_a_usable_input_passes(capsys):
    assert main(["detect", str(SAMPLE_CSV), "--json"]) == 0


def test_python_helper(rejected_file):
    res = load_events(rejected_file)
    with pytest.raises(NoUsableInput, match=r"12 rows rejected \(malformed_json 10, non_positive 2\)") as ei:
        require_events(res, [rejected_file])
    assert isinstance(ei.value, ValueError) and ei.value.exit_code == 1
    assert require_events(res, [rejected_file], allow_empty=True, warn=open(os.devnull, "w")) is False
    assert require_events(load_events(SAMPLE_CSV)) is True


def test_run_replay_of_files_it_cannot_replay(tmp_path, rejected_file, capsys):
    # raw frames without receive times, a Binance recording, a recording of other symbols
    raw = tmp_path / "raw.jsonl"
    raw.write_bytes(b'{"topic":"allLiquidation.ETHUSDT","type":"snapshot","ts":1,"data":[]}\n')
    binance = tmp_path / "binance.jsonl"
    binance.write_bytes(b'{"recv_ns":1,"venue":"binance","frame":{"e":"forceOrder"}}\n' * 3)
    other = tmp_path / "other.jsonl"
    other.write_bytes(b'{"recv_ns":1,"venue":"bybit","frame":{"topic":"publicTrade.BTCUSDT","data":[]}}\n')
    cases = {raw: "1 lines skipped (raw_frame 1); raw_frame: a venue's websocket frame without the recorder's receive time", binance: "3 lines skipped (other_venue 3)",
             other: "1 Bybit frames, none of --symbols ETHUSDT", rejected_file: "12 lines skipped (malformed 10, raw_frame 2)"}
    for path, why in cases.items():
        assert main(["run", "--symbols", "ETHUSDT", "--replay", str(path), "--no-dashboard", "--duration", "1"]) == 1
        err = capsys.readouterr().err
        assert f"no usable events in {path}: {why}" in err, err
        assert "Bybit recorder files" in err


@pytest.mark.integration
def test_run_replay_allow_empty_runs(rejected_file):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-m", "liqcore", "run", "--symbols", "ETHUSDT", "--replay", str(rejected_file),
                        "--no-dashboard", "--duration", "1", "--allow-empty"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "warning: no usable events in" in p.stderr
    assert "paper bybit ETHUSDT" in p.stdout


def test_run_seed_history_without_liquidations(rejected_file, capsys):
    assert main(["run", "--symbols", "ETHUSDT", "--seed-history", str(rejected_file), "--no-dashboard",
                 "--duration", "1"]) == 1
    err = capsys.readouterr().err
    assert f"no usable events in {rejected_file}: no bybit liquidation" in err


@pytest.mark.parametrize("cmd", sorted(COMMANDS))
def test_an_empty_file_is_said_to_be_empty(cmd, tmp_path, capsys):
    """0 bytes, empty once decompressed, or only blank lines: "empty", not "cannot detect the format"."""
    import zstandard

    cases = {"empty.csv": (b"", "the file is empty (0 bytes)"),
             "empty.jsonl.zst": (zstandard.ZstdCompressor().compress(b""), "the file is empty once decompressed"),
             "blank.jsonl": (b"\n \n\n", "the file holds only blank lines")}
    for name, (data, said) in cases.items():
        f = tmp_path / name
        f.write_bytes(data)
        assert main([cmd, str(f), *_args(cmd, tmp_path)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"no usable events in {f}: {said}" in err[0], err
        assert "cannot detect the format" not in err[0]
        assert main([cmd, str(f), *_args(cmd, tmp_path), "--allow-empty"]) == 0
        assert f"warning: no usable events in {f}: {said}" in capsys.readouterr().err


def test_an_empty_file_among_others_is_listed_as_empty_not_skipped(tmp_path, capsys):
    d = tmp_path / "rec"
    d.mkdir()
    (d / "a.csv").write_bytes(SAMPLE_CSV.read_bytes())
    (d / "empty.jsonl").write_bytes(b"")
    res = load_events(d)
    assert not res.skipped and len(res.events) == 4345
    assert res.files[str(d / "empty.jsonl")]["empty"] == "is empty (0 bytes)"
    from liqcore.commands.events import file_row

    assert file_row(str(d / "empty.jsonl"), res.files[str(d / "empty.jsonl")])[-1] == "the file is empty (0 bytes)"
    assert main(["events", str(d)]) == 0
    out = capsys.readouterr()
    assert "cannot detect" not in out.err and "skipped" not in out.err


def test_an_empty_file_among_others_gets_a_warning_and_rejects_name_their_file(tmp_path, capsys):
    """Among other inputs an empty file was only a row of ``events``' table: every reader now says so on
    stderr; and the rejects line says which file the rejected records came from."""
    (tmp_path / "a.csv").write_bytes(SAMPLE_CSV.read_bytes())
    (tmp_path / "empty.jsonl").write_bytes(b"")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"recv_ns":1,"venue":"bybit","frame":{"topic":"x"}}\nnot json\n')
    warned = []
    res = load_events([tmp_path / "a.csv", tmp_path / "empty.jsonl", bad], warn=warned.append)
    assert warned == [f"{tmp_path / 'empty.jsonl'} is empty (0 bytes): no events from it"]
    assert res.rejects_text() == f"malformed_json=1, unknown_topic=1 (from {bad})"
    assert main(["detect", str(tmp_path / "a.csv"), str(tmp_path / "empty.jsonl"), str(bad)]) == 0
    out = capsys.readouterr()
    assert f"warning: {tmp_path / 'empty.jsonl'} is empty (0 bytes): no events from it" in out.err
    assert f"loader rejects: malformed_json=1, unknown_topic=1 (from {bad})" in out.out
    # rejects from two files: each file with its own
    bad2 = tmp_path / "bad2.jsonl"
    bad2.write_text('{"recv_ns":2,"venue":"bybit","frame":{"topic":"y"}}\n')
    res = load_events([tmp_path / "a.csv", bad, bad2], warn=lambda _: None)
    assert res.rejects_text() == (f"malformed_json=1, unknown_topic=2 ({bad}: malformed_json=1, unknown_topic=1; "
                                  f"{bad2}: unknown_topic=1)")


def test_a_compressed_file_cut_before_its_first_record_is_called_cut_short_not_empty(tmp_path, capsys):
    import zstandard

    whole = zstandard.ZstdCompressor().compress(SAMPLE_CSV.read_bytes())
    f = tmp_path / "cut.jsonl.zst"
    f.write_bytes(whole[:20])
    assert main(["events", str(f)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the zstd stream ends early (file cut short?)" in err[0], err
    assert "empty" not in err[0]
