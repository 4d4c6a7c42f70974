"""The bundled sample recording (liqcore.data): format, size, content, helpers."""
from __future__ import annotations

import numpy as np
import pytest

import liqcore.data as data
from liqcore.io import detect_format
from liqcore.dataset.load import load_events
from liqcore.types import Kind, Venue


def test_sample_recording_is_a_small_bybit_recorder_file_with_cascades():
    path = data.sample_recording()
    assert path == data.SAMPLE_RECORDING and path.name.endswith(".jsonl.zst")
    assert path.stat().st_size < 300_000
    assert detect_format(path) == "recorder"
    res = load_events(path)
    assert res.rejects == {} and res.duplicates == 0
    ev = res.events
    assert (ev["venue"] == Venue.BYBIT).all()
    kinds = np.bincount(ev["kind"], minlength=7)
    assert kinds[Kind.LIQUIDATION] >= 150 and kinds[Kind.TRADE] >= 1000 and kinds[Kind.MARK] > 0
    from liqcore import CascadeDetector, Params

    _, counts = CascadeDetector.from_params(Params()).run(ev, flush=True)
    assert counts["cascades"] >= 1  # under the default parameters


def test_sample_recording_replays_through_the_fake_exchange_reader():
    from liqcore.testing.fake_replay import read_recording

    stats: dict = {}
    frames = list(read_recording(data.sample_recording(), "bybit", stats=stats))
    assert stats == {} and len(frames) > 5000
    assert all(a[0] <= b[0] for a, b in zip(frames, frames[1:]))  # receive order


def test_copy_sample(tmp_path, capsys):
    from liqcore.data.__main__ import main

    assert main([str(tmp_path / "a" / "b")]) == 0
    out = capsys.readouterr().out.strip()
    assert out.endswith("sample-bybit.jsonl.zst")
    assert (tmp_path / "a" / "b" / "sample-bybit.jsonl.zst").read_bytes() == data.SAMPLE_RECORDING.read_bytes()
    f = tmp_path / "file"
    f.write_text("x")
    assert main([str(f)]) == 2
    assert "not a directory" in capsys.readouterr().err
    with pytest.raises(ValueError):
        data.copy_sample(f)
