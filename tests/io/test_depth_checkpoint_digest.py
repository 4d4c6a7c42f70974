"""A depth file's book checkpoints are trusted on the depth file's content (docs/data.md, "Book checkpoints"):
a rewrite of the file with the same size, rows, row groups and receive times but other sizes -- which the
fingerprint alone cannot tell from the file the checkpoints were made of -- is refused, with the reason; a
checkpoint file written before the digest is refused too, and writing the same rows again adds it."""
from __future__ import annotations

import numpy as np
import pytest

from liqcore.types import EVENT_DTYPE, Flag, Kind, Side, SymbolRegistry, Venue

T0 = 1_722_470_400_000_000_000  # 2024-08-01
TICK = 0.1


def _rows(n: int = 100_000, seed: int = 3) -> tuple[np.ndarray, SymbolRegistry]:
    """A snapshot run of 30 levels a side, then ``n`` updates up to 30 ticks behind the best (a fifth of them
    removals), sizes in lots of 0.001, one row per millisecond."""
    rng = np.random.default_rng(seed)
    reg = SymbolRegistry()
    sid = reg.id(Venue.BINANCE, "BTCUSDT")
    k = np.arange(30)
    snap = np.zeros(60, EVENT_DTYPE)
    snap["price"] = np.round(np.concatenate([60_000.0 - k * TICK, 60_000.1 + k * TICK]), 1)
    snap["qty"] = np.round(rng.uniform(0.001, 5.0, 60), 3)
    snap["side"] = np.repeat([int(Side.BUY), int(Side.SELL)], 30)
    snap["flags"] = int(Flag.SNAPSHOT)
    snap["ts_recv"] = T0
    upd = np.zeros(n, EVENT_DTYPE)
    bid = rng.random(n) < 0.5
    behind = rng.integers(0, 30, n)
    upd["price"] = np.round(np.where(bid, 60_000.0 - behind * TICK, 60_000.1 + behind * TICK), 1)
    upd["qty"] = np.where(rng.random(n) < 0.2, 0.0, np.round(rng.uniform(0.001, 5.0, n), 3))
    upd["side"] = np.where(bid, int(Side.BUY), int(Side.SELL))
    upd["ts_recv"] = T0 + (1 + np.arange(n)) * 1_000_000
    out = np.concatenate([snap, upd])
    out["ts_event"] = out["ts_recv"]
    out["kind"], out["symbol_id"], out["venue"] = int(Kind.DEPTH), sid, int(Venue.BINANCE)
    return out, reg


def _write(tmp_path):
    from liqcore.dataset import write_depth
    from liqcore.dataset.depth import DEPTH_DIR

    rows, reg = _rows()
    ds = tmp_path / "ds"
    ds.mkdir()
    write_depth(str(ds), rows, reg)
    (f,) = (ds / DEPTH_DIR).rglob("depth.parquet")
    return ds, f, rows, reg


def _same_size_rewrite(f, rows):
    """The depth file written again as liqcore writes it, one row's size changed by a lot, the one whose change
    leaves the file's size as it was (found by trying rows of the first row group) -> that row's index."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    size = f.stat().st_size
    t = pq.read_table(f)
    q = t.column("qty_ticks").to_numpy()
    enc = {c: "DELTA_BINARY_PACKED" for c in ("ts_recv_ns", "ts_event_ns", "price_ticks")}
    tmp = f.with_name("alt.parquet")
    for i in range(1000, 3000):
        if q[i] == 0:
            continue
        alt = q.copy()
        alt[i] += 1
        a = t.set_column(t.schema.get_field_index("qty_ticks"), "qty_ticks", pa.array(alt))
        from liqcore.dataset.depth import DEPTH_GROUP_ROWS

        from liqcore.io.contract import column_codecs

        pq.write_table(a, tmp, row_group_size=DEPTH_GROUP_ROWS, compression=column_codecs(a.column_names),
                       use_dictionary=["side", "flags"], column_encoding=enc, write_statistics=True)
        if tmp.stat().st_size == size:
            tmp.replace(f)
            return i
    pytest.fail("no same-size rewrite found")


def test_a_same_size_rewrite_with_other_sizes_is_refused(tmp_path):
    from liqcore.dataset.depth import DepthIndex

    ds, f, rows, _reg = _write(tmp_path)
    at = int(rows["ts_recv"][-1])  # the book at the end: every row group's checkpoint
    ix = DepthIndex(str(ds), "binance", "BTCUSDT")
    good = ix.start(at)
    i = _same_size_rewrite(f, rows)
    import pyarrow.parquet as pq

    back = pq.read_table(f)
    assert back.num_rows == len(rows) and int(back.column("qty_ticks")[i].as_py()) != round(rows["qty"][i] * 1000)
    with pytest.raises(ValueError, match="content digest differs"):
        DepthIndex(str(ds), "binance", "BTCUSDT").start(at)
    assert len(good.price)  # (the index read before the rewrite gave a book)


def test_checkpoints_without_a_digest_are_refused_until_written_again(tmp_path):
    import orjson
    import pyarrow.parquet as pq

    from liqcore.dataset import write_depth
    from liqcore.dataset.depth import BOOK_FILE, DepthIndex

    ds, f, rows, reg = _write(tmp_path)
    book = f.with_name(BOOK_FILE)
    t = pq.read_table(book)
    info = orjson.loads(t.schema.metadata[b"liqcore"])
    del info["depth"]["sha256"]  # a checkpoint file written before the digest
    pq.write_table(t.replace_schema_metadata({b"liqcore": orjson.dumps(info)}), book)
    at = int(rows["ts_recv"][-1])  # (in the second row group: its checkpoint holds the book)
    with pytest.raises(ValueError, match="no content digest"):
        DepthIndex(str(ds), "binance", "BTCUSDT").start(at)
    got = write_depth(str(ds), rows, reg)  # the same rows again: nothing added, the checkpoints written again
    assert got["rows_added"] == 0
    a = DepthIndex(str(ds), "binance", "BTCUSDT").start(at)
    assert len(a.price) and len(a.rows)
