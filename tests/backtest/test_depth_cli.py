"""``liqcore backtest`` on a hand-made tardis-layout market with an ``incremental_book_L2`` file beside the
trades and liquidations (tests/depth_episodes.py): the queue at the entry's level, 5 ticks behind the best,
decides.  With depth exactly the even episodes fill; controls: the level x1e6 fills none, an empty level
fills at its first print; a level cancelled and refilled behind the order keeps its place; without the
depth file the result is the top-of-book rule's (no book here: through, which never fills at the level)."""
from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from depth_episodes import ARGS, LEVEL, episode_of, write_market

pytestmark = pytest.mark.slow


def backtest(files, *extra):
    r = subprocess.run([sys.executable, "-m", "liqcore", "backtest", *map(str, files), *ARGS, *extra, "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return orjson.loads(r.stdout), r.stderr


def episodes(out):
    return sorted(episode_of(t["entry_ns"]) for t in out["trades"])


def test_with_depth_exactly_the_even_episodes_fill(tmp_path):
    out, _ = backtest(write_market(tmp_path, 8))
    assert out["summary"]["cascades"] == 8 and out["summary"]["orders"] == 8
    assert episodes(out) == [0, 2, 4, 6]
    for t in out["trades"]:
        assert t["fill_rule"] == "queue (depth)"
        assert t["limit_price"] == LEVEL and t["entry_price"] == LEVEL
        assert t["signal_ns"] < t["entry_ns"]  # decided, then filled by a later print


def test_controls(tmp_path):
    big, _ = backtest(write_market(tmp_path / "big", 6, scale=1e6))
    assert big["trades"] == [] and big["summary"]["unfilled"] == 6  # a level of 1e7 is a size, not an error
    empty, _ = backtest(write_market(tmp_path / "empty", 4, queue=0.0))
    assert episodes(empty) == [0, 1, 2, 3]


def test_refill_behind_keeps_the_orders_place(tmp_path):
    out, _ = backtest(write_market(tmp_path, 4, refill=True))
    assert episodes(out) == [0, 1, 2, 3]


def test_without_the_depth_file_the_top_of_book_rule_stands(tmp_path):
    out, err = backtest(write_market(tmp_path, 4, depth=False))
    assert "no top of book in the input: --fill queue falls back to through" in err
    assert out["trades"] == [] and out["summary"]["unfilled"] == 4


def test_a_dataset_with_depth_gives_the_files_result(tmp_path):
    """convert the market (depth included) into a dataset: its backtest under the queue rule replays the
    dataset's depth with its events and fills exactly what the files fill; the Python API too."""
    files = write_market(tmp_path / "raw", 6)
    r = subprocess.run([sys.executable, "-m", "liqcore", "convert", *map(str, files), "--dataset", str(tmp_path / "ds")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    from_files, _ = backtest(files)
    from_ds, err = backtest([tmp_path / "ds"])
    assert episodes(from_ds) == episodes(from_files) == [0, 2, 4]
    assert [t["fill_rule"] for t in from_ds["trades"]] == ["queue (depth)"] * 3
    import liqcore
    from liqcore.config import Params

    res = liqcore.backtest(str(tmp_path / "ds"), Params(fill="queue", offset=0.005, min_history=20, refresh_ns=0))
    assert sorted(episode_of(int(t)) for t in res.ledger["entry_ns"]) == [0, 2, 4]
    assert (res.ledger["fill_rule"] == 1).all()


def test_a_dataset_with_depth_replays_in_chunks_as_whole(tmp_path):
    """The queue at depth on a dataset replays in chunks, each chunk's DEPTH rows read by receive time with its
    events (the depth books kept across chunks): chunks of about a minute, of 15 minutes, and the default give
    the trades of the span loaded whole (``--chunk-days 0``), field for field; refill episodes included."""
    files = write_market(tmp_path / "raw", 6, refill=True)
    r = subprocess.run([sys.executable, "-m", "liqcore", "convert", *map(str, files), "--dataset", str(tmp_path / "ds")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    whole, err = backtest([tmp_path / "ds"], "--chunk-days", "0")
    assert whole["trades"] and {t["fill_rule"] for t in whole["trades"]} == {"queue (depth)"}
    default, err = backtest([tmp_path / "ds"])
    assert default["trades"] == whole["trades"]
    for days in ("0.0007", "0.0104"):
        got, err = backtest([tmp_path / "ds"], "--chunk-days", days)
        assert got["trades"] == whole["trades"], days
    r = subprocess.run([sys.executable, "-m", "liqcore", "backtest", str(tmp_path / "ds"), *ARGS],
                       capture_output=True, text=True, timeout=300)
    # (no quotes here: the window-local read says why it cannot, and the replay goes in chunks, never whole)
    assert r.returncode == 0 and "replaying every event (the queue at depth without quotes" in r.stderr, r.stderr
    assert "reading the span whole" not in r.stderr, r.stderr


def test_partial_on_fills_the_part_printed_beyond_the_queue(tmp_path):
    """``--partial on``: in the even episodes 2 trade beyond the 10 ahead; the order (25 base units: 2,500 USDT of
    the default 10,000 equity at 99.5) fills those 2, the position is 199 USDT, its exits close those 2."""
    files = write_market(tmp_path, 4)
    out, _ = backtest(files, "--partial", "on")
    assert "partial fills" in out["summary"]["fill_model"]
    assert episodes(out) == [0, 2]
    for t in out["trades"]:
        assert t["fills"] == 1 and t["notional"] == pytest.approx(2.0 * LEVEL)
        assert 0.07 < t["filled"] < 0.09  # 2 of about 25
    whole, _ = backtest(files)  # off (the default): the whole order on the same print
    assert [t["entry_ns"] for t in whole["trades"]] == [t["entry_ns"] for t in out["trades"]]
    assert all("filled" not in t for t in whole["trades"])


def test_partial_on_needs_the_queue_rule_and_is_refused_live(tmp_path):
    files = write_market(tmp_path, 1)
    r = subprocess.run([sys.executable, "-m", "liqcore", "backtest", *map(str, files), "--partial", "on"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "partial: --partial on needs --fill queue" in r.stderr
    r = subprocess.run([sys.executable, "-m", "liqcore", "run", "--replay", "synthetic", "--fill", "queue",
                        "--partial", "on", "--duration", "1"], capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "partial: --partial on is a backtest fill model" in r.stderr
