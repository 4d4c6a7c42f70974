"""benches/bench_density.py --direct: the dataset written straight from the generated events is the one
``liqcore convert`` makes of the generated tardis files (the 30-day bench's dataset stands for convert's)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_density", ROOT / "benches" / "bench_density.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("venue", ["binance", "bybit"])
def test_direct_dataset_equals_convert_of_the_files(tmp_path, venue):
    from liqcore.cli import main
    from liqcore.dataset import load_dataset

    b = _bench()
    raw = tmp_path / "raw"
    raw.mkdir()
    for d in range(2):
        b.generate_day(raw, "BTCUSDT", d, 5_000, 150, 4, 3, 9_000, venue=venue)
    files = sorted(str(p) for p in raw.glob("*.csv.gz"))
    assert len(files) == 6  # trades, liquidations, quotes x 2 days
    assert all(Path(f).name.startswith(b.TARDIS_EXCHANGE[venue] + "_") for f in files)
    assert main(["convert", *files, "--dataset", str(tmp_path / "conv")]) == 0
    n = b.write_direct(tmp_path / "direct", ["BTCUSDT"], 2, 5_000, 150, 4, 3, 9_000, venues=(venue,))
    assert n["trades"] == 10_000 and n["quotes"] == 18_000 and n["liquidations"] > 0
    conv = sorted(p.relative_to(tmp_path / "conv") for p in (tmp_path / "conv").rglob("*.parquet"))
    direct = sorted(p.relative_to(tmp_path / "direct") for p in (tmp_path / "direct").rglob("*.parquet"))
    assert conv == direct and len(conv) == 2
    assert all(str(rel).startswith(f"venue={venue}/symbol=BTCUSDT/") for rel in conv)
    for rel in conv:  # the same partition files: rows, trade ids, the checked mark
        a, d = pq.read_table(tmp_path / "conv" / rel), pq.read_table(tmp_path / "direct" / rel)
        assert a.schema.metadata == d.schema.metadata
        assert a.equals(d), rel
    ea, ed = load_dataset(str(tmp_path / "conv")).events, load_dataset(str(tmp_path / "direct")).events
    assert len(ea) == 10_000 + 2 * 18_000 + n["liquidations"]
    assert ea.tobytes() == ed.tobytes()


def test_direct_streams_each_venue_its_own_draw_named_in_its_style(tmp_path):
    """Several venues (``--venues``): a stream per venue and symbol, the symbol in the venue's style (OKX's
    instrument id), each venue's day its own draw, Binance's the draw the single-venue bench always wrote;
    OKX's tardis files (sizes in contracts) are refused, not written wrong."""
    import numpy as np

    from liqcore.dataset import load_dataset

    b = _bench()
    n = b.write_direct(tmp_path / "ds", ["BTCUSDT", "XRPUSDT"], 1, 3_000, 100, 3, 5, 2_000,
                       venues=("binance", "bybit", "okx"))
    assert n["trades"] == 6 * 3_000 and n["quotes"] == 6 * 2_000
    parts = sorted(str(p.parent.relative_to(tmp_path / "ds")) for p in (tmp_path / "ds").rglob("*.parquet"))
    assert parts == [f"venue={v}/symbol={s}/date=2024-08-01" for v, s in (
        ("binance", "BTCUSDT"), ("binance", "XRPUSDT"), ("bybit", "BTCUSDT"), ("bybit", "XRPUSDT"),
        ("okx", "BTC-USDT-SWAP"), ("okx", "XRP-USDT-SWAP"))]
    one = b.write_direct(tmp_path / "one", ["BTCUSDT"], 1, 3_000, 100, 3, 5, 2_000)
    assert one["trades"] == 3_000
    res = load_dataset(str(tmp_path / "ds"))
    ev = res.events
    prices = {}
    for sid in np.unique(ev["symbol_id"]):
        e = ev[(ev["symbol_id"] == sid) & (ev["kind"] == 2)]
        prices[(int(e["venue"][0]), int(sid))] = e["price"]
    assert len(prices) == 6
    # the three BTCUSDT streams: prices near one another (the same market), not the same draw
    btc = [p for p in prices.values() if p.mean() > 1_000]
    assert len(btc) == 3 and all(abs(p.mean() / btc[0].mean() - 1) < 0.1 for p in btc)
    assert not np.array_equal(btc[0], btc[1]) and not np.array_equal(btc[1], btc[2])
    ref = load_dataset(str(tmp_path / "one")).events
    mine = ev[ev["venue"] == 2]
    mine = mine[mine["symbol_id"] == mine["symbol_id"][np.flatnonzero(mine["price"] > 1_000)[0]]]
    assert np.array_equal(mine["price"], ref["price"]) and np.array_equal(mine["ts_event"], ref["ts_event"])
    with pytest.raises(ValueError, match="contracts"):
        b.generate_day(tmp_path, "BTCUSDT", 0, 3_000, 100, 3, 5, 0, venue="okx")
