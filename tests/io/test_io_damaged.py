"""Damaged inputs are loaded as far as they go and named: a compressed file cut short warns with the
file and how much was read; of a directory, a file that cannot be read is skipped by name and the
rest load (``--strict`` stops at it); rejects name the file they came from."""
from __future__ import annotations

import gzip
import json
import random
import re
import zlib

import numpy as np
import orjson
import pytest
import zstandard

from liqcore.cli import main
from liqcore.dataset.load import load_events

T0 = 1739502303204


def _lines(n: int, start: int = 0) -> bytes:
    out = []
    for i in range(start, start + n):
        out.append(json.dumps({"topic": "allLiquidation.BTCUSDT", "type": "snapshot", "ts": T0 + i,
                               "data": [{"T": T0 + i, "s": "BTCUSDT", "S": "Sell", "v": "0.01",
                                         "p": str(50000 + i % 997)}]}))
    return ("\n".join(out) + "\n").encode()


def _complete_lines_gz(blob: bytes) -> int:
    """Complete lines an independent decoder gets out of a cut gzip stream."""
    return zlib.decompressobj(31).decompress(blob).count(b"\n")


def _complete_lines_zst(blob: bytes) -> int:
    return zstandard.ZstdDecompressor().decompressobj().decompress(blob).count(b"\n")


@pytest.mark.parametrize("suffix", ["gz", "zst"])
def test_a_cut_compressed_file_loads_up_to_the_cut_and_says_so(tmp_path, capsysbinary, suffix):
    data = _lines(20_000)
    blob = gzip.compress(data) if suffix == "gz" else zstandard.ZstdCompressor().compress(data)
    cut = blob[: len(blob) // 2]
    path = tmp_path / f"rec.jsonl.{suffix}"
    path.write_bytes(cut)
    expect = (_complete_lines_gz if suffix == "gz" else _complete_lines_zst)(cut)
    assert 0 < expect < 20_000
    assert main(["events", str(path), "--json"]) == 0
    out, err = capsysbinary.readouterr()
    assert out.count(b"\n") == expect  # every complete line before the cut, nothing invented
    err = err.decode()
    kind = "gzip" if suffix == "gz" else "zstd"
    assert f"warning: {path}: the {kind} stream ends early" in err
    assert f"of {len(cut):,} compressed bytes" in err and f"({expect:,} events loaded from it)" in err
    # the library reports it too, to a caller's own sink
    said = []
    res = load_events(path, warn=said.append)
    assert len(res.events) == expect and res.rejects.get("truncated_file") == 1
    assert len(said) == 1 and said == res.warnings and str(path) in said[0]


def test_whole_and_multi_member_files_load_silently_and_corrupt_data_is_named(tmp_path, capsys):
    # two gzip members (an appending writer) and zero padding: every line, no warning
    path = tmp_path / "two.jsonl.gz"
    path.write_bytes(gzip.compress(_lines(300)) + gzip.compress(_lines(200, 300)) + b"\0" * 16)
    said = []
    assert len(load_events(path, warn=said.append).events) == 500 and said == []
    # a corrupted byte in the middle of a zstd frame: none of that frame is kept (what it decoded before its
    # checksum failed may be garbage), the frames before it are; the file is named as cut short at the frame
    rnd = random.Random(1)
    noisy = b"".join(line[:-1] + f',"id":"{rnd.getrandbits(64):016x}"'.encode() + b"}\n"
                     for line in _lines(20_000).splitlines())  # ~ 200 kB compressed
    cz = zstandard.ZstdCompressor(write_checksum=True)
    good = cz.compress(noisy[:noisy.index(b"\n", len(noisy) // 2) + 1])
    blob = bytearray(cz.compress(noisy[noisy.index(b"\n", len(noisy) // 2) + 1:]))
    assert len(blob) > 75_000
    blob[len(blob) * 3 // 4] ^= 0xFF
    bad = tmp_path / "bad.jsonl.zst"
    bad.write_bytes(good + bytes(blob))
    res = load_events(bad, warn=said.append)
    assert len(said) == 1 and said[0].startswith(f"{bad}: corrupt zstd data (")
    assert f"the zstd frame at compressed byte {len(good):,} is damaged" in said[0], said[0]
    first = load_events(_write(tmp_path / "first.jsonl.zst", good)).events
    assert len(res.events) == len(first) == noisy[:noisy.index(b"\n", len(noisy) // 2) + 1].count(b"\n")
    assert (res.events == first).all()
    # its only frame damaged: nothing of it is kept, the file is refused in one line
    only = _write(tmp_path / "only.jsonl.zst", bytes(blob))
    with pytest.raises(ValueError, match=r"not a readable zstd file \(the zstd frame at compressed byte 0 is damaged"):
        load_events(only)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _bad_files(d):
    (d / "notes.csv").write_text("hello world\nnothing to see\n")
    (d / "fake.jsonl.gz").write_bytes(b"this is not gzip at all\n")
    (d / "junk.parquet").write_bytes(b"PAR1 not really parquet")
    (d / "short.csv").write_text("ts_event_ns,venue,symbol\n1,bybit,BTCUSDT\n")
    return ["notes.csv", "fake.jsonl.gz", "junk.parquet", "short.csv"]


def test_a_directory_with_unreadable_files_loads_the_rest_and_names_each(tmp_path, capsysbinary, monkeypatch):
    d = tmp_path / "recs"
    d.mkdir()
    (d / "a.jsonl").write_bytes(_lines(100))
    (d / "b.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(_lines(50, 100)))
    bad = _bad_files(d)
    assert main(["events", str(d), "--json"]) == 0
    out, err = capsysbinary.readouterr()
    assert out.count(b"\n") == 150
    err = err.decode()
    for name in bad:
        assert f"warning: skipped {d / name}: " in err, name
    assert "cannot detect the format" in err and "not a readable gzip file" in err
    assert "lacks column(s)" in err and "Traceback" not in err
    # the summary table lists the skipped files with the reason
    monkeypatch.chdir(tmp_path)
    assert main(["events", "recs"]) == 0
    out = capsysbinary.readouterr().out.decode()
    assert re.search(r"recs/short\.csv\s+│ skipped", out) and "lacks column(s) side, price, qty" in out
    # --strict stops at the first file that cannot be read, one line naming it
    assert main(["events", str(d), "--strict"]) == 2
    err = capsysbinary.readouterr().err.decode().strip().splitlines()
    assert len(err) == 1 and str(d / "fake.jsonl.gz") in err[0]
    # convert --dataset converts the readable files and does not mark the others converted
    ds = tmp_path / "ds"
    assert main(["convert", str(d), "--dataset", str(ds)]) == 0
    err = capsysbinary.readouterr().err.decode()
    assert "converted 2 file(s), skipped 0 already converted, 4 unreadable" in err
    assert all(f"skipped {d / name}: " in err for name in bad)
    manifest = orjson.loads((ds / "_liqcore_manifest.json").read_bytes())
    assert sorted(p.rsplit("/", 1)[-1] for p in manifest) == ["a.jsonl", "b.jsonl.zst"]
    # nothing readable at all: one line naming the files
    only_bad = tmp_path / "only_bad"
    only_bad.mkdir()
    _bad_files(only_bad)
    assert main(["events", str(only_bad)]) == 2
    err = capsysbinary.readouterr().err.decode()
    assert "none of the 4 files could be read" in err and "Traceback" not in err


def test_rejects_name_the_file_they_came_from(tmp_path, capsys):
    d = tmp_path / "unrelated"
    d.mkdir()
    (d / "book.jsonl").write_text(json.dumps({"topic": "kline.1.BTCUSDT", "type": "snapshot", "ts": T0,
                                              "data": {}}) + "\n")
    assert main(["events", str(d)]) == 1
    err = capsys.readouterr().err
    assert "1 rows rejected (unknown_topic 1) in " + str(d / "book.jsonl") in err


@pytest.mark.parametrize("suffix", ["gz", "zst"])
def test_a_cut_recording_replays_up_to_the_cut_and_says_so(tmp_path, suffix):
    """`liqcore run --replay` reads recorder files through read_recording: same rule."""
    from liqcore.testing.fake_replay import read_recording

    lines = b"".join(orjson.dumps({"recv_ns": (T0 + i) * 1_000_000, "venue": "bybit", "frame": json.loads(line)})
                     + b"\n" for i, line in enumerate(_lines(20_000).splitlines()))
    blob = gzip.compress(lines) if suffix == "gz" else zstandard.ZstdCompressor().compress(lines)
    cut = blob[: len(blob) // 2]
    d = tmp_path / "recs"
    d.mkdir()
    path = d / f"bybit-20250214T03.jsonl.{suffix}"
    path.write_bytes(cut)
    expect = (_complete_lines_gz if suffix == "gz" else _complete_lines_zst)(cut)
    said, stats = [], {}
    frames = list(read_recording(d, "bybit", stats=stats, warn=said.append))
    assert len(frames) == expect and stats["truncated_file"] == 1 and stats.get("malformed") == 1
    assert [t for t, _ in frames] == [(T0 + i) * 1_000_000 for i in range(expect)]
    assert len(said) == 1 and said[0].startswith(f"{path}: the {'gzip' if suffix == 'gz' else 'zstd'} stream ends early")


def _trades_csv(n: int) -> bytes:
    """Headerless Binance trade rows as third-party recorders write them (binance-trades-csv)."""
    return "".join(f"{1723705562482 + i}, BTCUSDT, {2291080928 + i}, {58100 + i % 50}.5, 0.01,{1723705562477 + i}, "
                   f"{'True' if i % 2 else 'False'}\n" for i in range(n)).encode()


def test_a_small_cut_csv_gz_loads_up_to_the_cut_alone_and_among_others(tmp_path, capsysbinary):
    """A .csv.gz cut with less than 64 KiB before the cut: the look inside it (is it a tardis CSV?) read its
    head whole and failed with EOFError (a traceback; in a directory, the whole load)."""
    cut = gzip.compress(_trades_csv(2000))[:3000]
    expect = _complete_lines_gz(cut)
    assert 0 < expect < 2000
    path = tmp_path / "t.csv.gz"
    path.write_bytes(cut)
    said = []
    res = load_events(path, warn=said.append)
    assert len(res.events) == expect and res.rejects.get("truncated_file") == 1
    assert res.files[str(path)]["format"] == "binance-trades-csv"
    assert len(said) == 1 and said[0].startswith(f"{path}: the gzip stream ends early")
    assert main(["events", str(path), "--json"]) == 0
    out, err = capsysbinary.readouterr()
    assert out.count(b"\n") == expect and b"Traceback" not in err and b"the gzip stream ends early" in err
    # among others: the others load too, the cut one up to its cut
    d = tmp_path / "d"
    d.mkdir()
    (d / "t.csv.gz").write_bytes(cut)
    (d / "more.jsonl").write_bytes(_lines(10))
    assert main(["convert", str(d), "--out", str(tmp_path / "o.parquet")]) == 0
    err = capsysbinary.readouterr().err.decode()
    assert f"wrote {expect + 10} events" in err and "Traceback" not in err and "skipped" not in err


def test_a_small_cut_tardis_csv_gz_loads_up_to_the_cut(tmp_path):
    """The tardis reader read the header from the head whole: EOFError on a file cut within 64 KiB."""
    rows = "".join(f"binance-futures,BTCUSDT,{1723680000000000 + i * 1000},{1723680000000500 + i * 1000},{i},buy,"
                   f"58000.5,0.01\n" for i in range(3000))
    cut = gzip.compress(("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n" + rows).encode())[:3000]
    path = tmp_path / "binance-futures_trades_2024-08-15_BTCUSDT.csv.gz"
    path.write_bytes(cut)
    res = load_events(path, warn=lambda _: None)
    assert res.files[str(path)]["format"] == "tardis-trades"
    assert len(res.events) == _complete_lines_gz(cut) - 1 and res.rejects.get("truncated_file") == 1


def test_a_csv_zst_cut_before_its_first_record_is_called_cut_short(tmp_path, capsys):
    """A .csv.zst with nothing decodable before the cut was called empty (the detection's look inside)."""
    cut = zstandard.ZstdCompressor().compress(_trades_csv(2000))[:3000]
    assert _complete_lines_zst(cut) == 0
    path = tmp_path / "t.csv.zst"
    path.write_bytes(cut)
    assert main(["events", str(path)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the zstd stream ends early (file cut short?)" in err[0], err
    assert "nothing before the cut" in err[0] and "empty" not in err[0]
    # cut after some of it: like gzip, up to the cut, said
    blob = zstandard.ZstdCompressor().compress(_trades_csv(20_000))
    cut = blob[: len(blob) // 2]
    expect = _complete_lines_zst(cut)
    assert expect > 0
    path.write_bytes(cut)
    said = []
    res = load_events(path, warn=said.append)
    assert len(res.events) == expect and res.rejects.get("truncated_file") == 1
    assert len(said) == 1 and said[0].startswith(f"{path}: the zstd stream ends early")


# ------------------------------------------------------------------ a bit flipped inside a gzip member

_TARDIS_HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
_BYBIT_HEADER = "timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,homeNotional,foreignNotional"


def _two_halves(kind: str) -> tuple[str, bytes, bytes]:
    """(file name, first half, second half) of a file of ``kind``, cut between two rows (a header in the first)."""
    if kind == "jsonl":  # JSON lines, read line by line
        return "rec.jsonl.gz", _lines(6000), _lines(6000, 6000)
    if kind == "tardis":  # the tardis CSV reader (pyarrow; its own decompression when that fails)
        rows = [f"binance-futures,BTCUSDT,{1723680000000000 + i * 1000},{1723680000000500 + i * 1000},{i},"
                f"{'buy' if i % 3 else 'sell'},{58000.5 + i % 97},{0.001 * (i % 13 + 1):.3f}\n" for i in range(16_000)]
        head = _TARDIS_HEADER + "\n"
        return ("binance-futures_trades_2024-08-15_BTCUSDT.csv.gz", (head + "".join(rows[:8000])).encode(),
                "".join(rows[8000:]).encode())
    if kind == "bybit-archive":  # a venue's archive reader (pyarrow's typed read, then the text one)
        rows = [f"{1_704_067_200 + i * 0.01:.4f},BTCUSDT,{'Buy' if i % 3 else 'Sell'},{0.001 * (i % 13 + 1):.3f},"
                f"{42000 + i % 97},PlusTick,id{i},1,1,1\n" for i in range(16_000)]
        return "BTCUSDT2024-01-01.csv.gz", (_BYBIT_HEADER + "\n" + "".join(rows[:8000])).encode(), \
            "".join(rows[8000:]).encode()
    data = _trades_csv(16_000)  # binance-trades-csv: the whole file decoded at once
    cut = data.index(b"\n", len(data) // 2) + 1
    return "t.csv.gz", data[:cut], data[cut:]


def _flipped(blob: bytes, at: int) -> bytes:
    b = bytearray(blob)
    b[at] ^= 0x10
    return bytes(b)


@pytest.mark.parametrize("small_blocks", [False, True], ids=["whole-member-held", "member-partly-read"])
@pytest.mark.parametrize("kind", ["jsonl", "tardis", "bybit-archive", "binance-trades-csv"])
def test_a_bit_flipped_in_a_gzip_member_drops_that_members_rows(tmp_path, monkeypatch, kind, small_blocks):
    """A flipped bit decodes to rows (plausible ones too) until zlib's check fails at the member's end: they were
    kept.  Now the member's text is dropped and the file read as cut short at the member's start: the rows of the
    members before it, exactly, ``truncated_file`` counted, the damage named.  Small blocks: some of the member's
    text was handed on before the check failed, and the file is read again up to the member; same result."""
    import liqcore.venues.files as files_mod

    if small_blocks:
        monkeypatch.setattr(files_mod, "BLOCK_BYTES", 4093)
    name, first, second = _two_halves(kind)
    g1, g2 = gzip.compress(first, mtime=0), gzip.compress(second, mtime=0)
    good = tmp_path / "good"
    good.mkdir()
    (good / name).write_bytes(g1)  # the first member alone: what the damaged file must give
    want = load_events(good / name, warn=lambda _: None)
    assert len(want.events) > 1000
    path = tmp_path / name
    path.write_bytes(_flipped(g1 + g2, len(g1) + len(g2) // 2))
    with pytest.raises(zlib.error):  # (the flip is caught by zlib, at the member's end at the latest)
        zlib.decompressobj(31).decompress(path.read_bytes()[len(g1):])
    said = []
    got = load_events(path, warn=said.append)
    assert len(got.events) == len(want.events)  # no row of the damaged member
    assert np.array_equal(got.events, want.events)
    assert got.rejects.get("truncated_file") == 1
    if kind in ("jsonl", "binance-trades-csv"):
        assert len(said) == 1 and said[0].startswith(f"{path}: corrupt gzip data (the gzip member at compressed "
                                                     f"byte {len(g1):,} is damaged: Error -3 ")
        assert f"from {len(g1):,} of {len(g1) + len(g2):,} compressed bytes" in said[0]


@pytest.mark.parametrize("small_blocks", [False, True])
def test_a_file_whose_only_gzip_member_is_damaged_is_refused(tmp_path, monkeypatch, capsys, small_blocks):
    """No member before the damaged one: nothing can be trusted, the file is refused with one line naming it and
    the damage (among others: skipped, named)."""
    import liqcore.venues.files as files_mod

    if small_blocks:
        monkeypatch.setattr(files_mod, "BLOCK_BYTES", 4093)
    name, first, second = _two_halves("tardis")
    blob = gzip.compress(first + second, mtime=0)
    path = tmp_path / name
    path.write_bytes(_flipped(blob, len(blob) // 2))
    with pytest.raises(ValueError) as err:
        load_events(path, warn=lambda _: None)
    msg = str(err.value)
    assert str(path) in msg and "\n" not in msg
    assert f"{path}: not a readable gzip file (the gzip member at compressed byte 0 is damaged: Error -3 " in msg
    (tmp_path / "more.jsonl").write_bytes(_lines(10))
    assert main(["convert", str(tmp_path), "--out", str(tmp_path / "o.parquet")]) == 0
    err = capsys.readouterr().err
    assert "wrote 10 events" in err and f"skipped {path}: " in err and "Traceback" not in err


def test_convert_writes_no_row_of_a_damaged_gzip_member(tmp_path, capsys):
    """``liqcore convert`` of a recording whose second gzip member is damaged writes the first member's rows."""
    g1, g2 = gzip.compress(_lines(6000), mtime=0), gzip.compress(_lines(6000, 6000), mtime=0)
    path = tmp_path / "rec.jsonl.gz"
    path.write_bytes(_flipped(g1 + g2, len(g1) + len(g2) // 2))
    out = tmp_path / "o.parquet"
    assert main(["convert", str(path), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "wrote 6,000 events" in err or "wrote 6000 events" in err, err
    assert f"{path}: corrupt gzip data (the gzip member at compressed byte {len(g1):,} is damaged" in err
    back = load_events(out)
    assert len(back.events) == 6000 and int(back.events["ts_event"].max()) == (T0 + 5999) * 1_000_000


@pytest.mark.parametrize("small_blocks", [False, True])
def test_blocks_of_a_damaged_gzip_member_held_or_read_again_agree(tmp_path, small_blocks):
    """The text of a damaged member still held is dropped at once; one partly handed on raises DamagedMember, and
    ``Blocks(path, damaged=exc)`` reads the members before it: the same bytes, the same note."""
    from liqcore.venues.files import Blocks, DamagedMember

    first, second = _lines(3000), _lines(3000, 3000)
    g1, g2 = gzip.compress(first, mtime=0), gzip.compress(second, mtime=0)
    path = tmp_path / "rec.jsonl.gz"
    path.write_bytes(_flipped(g1 + g2, len(g1) + len(g2) // 2))
    held = Blocks(path)
    text = b"".join(held)
    assert text == first and held.truncated and held.consumed == len(g1)
    size = 1 << 12 if small_blocks else None
    blk = Blocks(path, size)
    if small_blocks:
        with pytest.raises(DamagedMember) as exc:
            b"".join(blk)
        assert exc.value.start == len(g1) and str(path) in str(exc.value)
        blk = Blocks(path, size, damaged=exc.value)
    assert b"".join(blk) == first and blk.truncated and blk.lines == held.lines == 3000
    assert blk.truncation_note() == held.truncation_note()


@pytest.mark.parametrize("small_blocks", [False, True])
def test_a_recording_with_a_damaged_gzip_member_replays_the_members_before_it(tmp_path, monkeypatch, small_blocks):
    """`read_recording` streams: the damaged member's lines held are dropped; where some went out before zlib's
    check failed (small blocks) they cannot be taken back, and the warning says so; the stream never breaks."""
    import liqcore.venues.files as files_mod
    from liqcore.testing.fake_replay import read_recording

    if small_blocks:
        monkeypatch.setattr(files_mod, "BLOCK_BYTES", 4093)

    def rec(lines: bytes) -> bytes:
        return b"".join(orjson.dumps({"recv_ns": (T0 + i) * 1_000_000, "venue": "bybit", "frame": json.loads(line)})
                        + b"\n" for i, line in enumerate(lines.splitlines()))

    g1, g2 = gzip.compress(rec(_lines(3000)), mtime=0), gzip.compress(rec(_lines(3000, 3000)), mtime=0)
    d = tmp_path / "recs"
    d.mkdir()
    path = d / "bybit-20250214T03.jsonl.gz"
    path.write_bytes(_flipped(g1 + g2, len(g1) + len(g2) // 2))
    said, stats = [], {}
    frames = list(read_recording(d, "bybit", stats=stats, warn=said.append))
    assert stats["truncated_file"] == 1 and len(said) == 1
    assert said[0].startswith(f"{path}: corrupt gzip data (the gzip member at compressed byte {len(g1):,} is damaged")
    if small_blocks:
        assert len(frames) > 3000 and "some of its text went out before that was found" in said[0]
    else:
        assert len(frames) == 3000 and "went out" not in said[0]


def _depth_recording(first_u: int, n: int, t0_ns: int, snapshot: bool = False) -> bytes:
    """Recorder lines of Binance USD-M depth: (a REST snapshot at ``first_u``, then) ``n`` chained
    ``depthUpdate`` events from ``first_u`` (each ``pu`` the previous ``u``), one level each, 1 ms apart."""
    out = []
    if snapshot:
        body = {"lastUpdateId": first_u, "E": t0_ns // 1_000_000, "T": t0_ns // 1_000_000,
                "bids": [["100.0", "5"]], "asks": [["100.5", "1"]]}
        out.append(orjson.dumps({"recv_ns": t0_ns, "venue": "binance",
                                 "rest": {"symbol": "BTCUSDT", "path": "/fapi/v1/depth", "body": body}}))
    for i in range(n):
        u = first_u + i
        ms = t0_ns // 1_000_000 + 1 + i
        lvl = [[f"{99.0 - (i % 50) * 0.1:.1f}", f"{1 + i % 7}"]]
        ev = {"e": "depthUpdate", "E": ms, "T": ms, "s": "BTCUSDT", "U": u, "u": u, "pu": u - 1,
              "b": lvl if i % 2 else [], "a": [] if i % 2 else [[f"{101.0 + (i % 50) * 0.1:.1f}", "2"]]}
        out.append(orjson.dumps({"recv_ns": ms * 1_000_000, "venue": "binance", "frame": ev}))
    return b"\n".join(out) + b"\n"


def test_the_depth_books_carried_into_a_file_read_again_after_a_damaged_member_are_the_previous_files(
        tmp_path, monkeypatch):
    """Two hourly depth recordings read in one load: the books go on from the first file into the second.  The
    second's later gzip member is damaged, and (small blocks) some of its text went out before zlib's check failed,
    so that file is read again up to the member.  That reading starts from the books the first file left, not from
    where the damaged member's first reading had taken them: the DEPTH rows equal those of the second file's good
    member alone after the first file, with no gap."""
    import liqcore.venues.files as files_mod
    from liqcore.types import Flag, Kind

    monkeypatch.setattr(files_mod, "BLOCK_BYTES", 4093)
    h = 1_739_502_000 * 1_000_000_000
    first = _depth_recording(1000, 500, h, snapshot=True)
    m1 = _depth_recording(1500, 2000, h + 3_600_000_000_000)
    m2 = _depth_recording(3500, 4000, h + 3_700_000_000_000)
    g1, g2 = gzip.compress(m1, mtime=0), gzip.compress(m2, mtime=0)
    good, bad = tmp_path / "good", tmp_path / "bad"
    for d in (good, bad):
        d.mkdir()
        (d / "binance-20250214T02.jsonl").write_bytes(first)
    (good / "binance-20250214T03.jsonl.gz").write_bytes(g1)
    (bad / "binance-20250214T03.jsonl.gz").write_bytes(_flipped(g1 + g2, len(g1) + len(g2) * 3 // 4))

    def depth(d):
        said = []
        r = load_events(sorted(d.iterdir()), warn=said.append)
        ev = r.events[r.events["kind"] == Kind.DEPTH]
        return ev[np.argsort(ev["ts_recv"], kind="stable")], r, said

    want, _, _ = depth(good)
    assert len(want) == 1 + 1 + 2500 and not (want["flags"] & Flag.DEPTH_GAP).any()
    got, res, said = depth(bad)
    assert res.rejects.get("truncated_file") == 1 and len(said) == 1 and "is damaged" in said[0], said
    assert not (got["flags"] & Flag.DEPTH_GAP).any()
    assert np.array_equal(got, want)
