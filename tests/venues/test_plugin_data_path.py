"""The data path of a plugin's venue, the plugin then gone (its package uninstalled), and the command line's venues.

A test venue, "rekt" (code 77; tests/_rekt_venue.py), is registered as a plugin's would be, its recordings written
and converted into a dataset; it is then forgotten (``unregister``: what uninstalling its package leaves) and the
recordings and dataset read again:

* a dataset of it alone is one line naming the venue and the way out (install its plugin package), never the false
  claim that its checked files are not the bytes their marks were taken of; among another venue's partitions, its
  are left out with one warning naming it and their rows, the others read;
* recordings of it alone: the "no usable events" error names the venue and the likely cause; among another
  venue's recordings: one warning naming it and the records left out;
* the venue options' help lists the registered venues, the plugin's included; ``liqcore venue --venue`` takes a
  registered venue that has the parts it needs and refuses one without them in one line naming what it lacks;
* a plugin's venue declares no instruments: its symbols are said once not to be checked, never warned about
  against the built-in venues' names.
"""
from __future__ import annotations

import orjson
import pytest

from _rekt_venue import fill_frame, liq_frame, registered
from liqcore.cli import build_parser, main

T0 = 1_767_225_600_000  # 2026-01-01 in ms
CAUSE = "venue 'rekt' is not registered (is its plugin package installed?)"
NOT_REGISTERED = "venue 'rekt' (partition venue=rekt/) is not a registered venue: install its plugin package"


@pytest.fixture
def rekt(tmp_path, monkeypatch):
    """The venue "rekt" written to ``tmp_path`` as the package ``rekt_venue`` and registered; forgotten after."""
    yield from registered(tmp_path / "src", monkeypatch)


def _rekt_lines(n: int = 6) -> bytes:
    frames = [liq_frame("ROCKET_PERP", T0 + i * 1000, 1.0 + i, 2.5 + i / 100, "LS"[i % 2]) for i in range(n)]
    frames += [fill_frame("ROCKET_PERP", T0 + 500 + i * 1000, 2.0, 2.5, "bs"[i % 2]) for i in range(n)]
    return b"".join(orjson.dumps({"recv_ns": (T0 + 10 + k) * 1_000_000, "venue": "rekt", "frame": f.decode()}) + b"\n"
                    for k, f in enumerate(frames))


def _bybit_lines(n: int = 5) -> bytes:
    return b"".join(orjson.dumps({"recv_ns": (T0 + i) * 1_000_000 + 1000, "venue": "bybit", "frame": {
        "topic": "allLiquidation.BTCUSDT", "type": "snapshot", "ts": T0 + i,
        "data": [{"T": T0 + i, "s": "BTCUSDT", "S": "Buy", "v": "0.1", "p": "65000"}]}}) + b"\n" for i in range(n))


def _recordings(root) -> dict:
    """``rec/`` (rekt's recording alone) and ``mix/`` (it and a Bybit one)."""
    (root / "rec").mkdir()
    (root / "mix").mkdir()
    (root / "rec" / "rekt-20260101T00.jsonl").write_bytes(_rekt_lines())
    (root / "mix" / "rekt-20260101T00.jsonl").write_bytes(_rekt_lines())
    (root / "mix" / "bybit-20260101T00.jsonl").write_bytes(_bybit_lines())
    return {"rec": root / "rec", "mix": root / "mix"}


def _errors(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.strip()]


def _said(err: str) -> list[str]:
    """The warnings and errors of stderr (not ``--json``'s load report)."""
    return [ln for ln in err.splitlines() if ln.startswith(("warning:", "note:", "liqcore "))]


def test_a_dataset_of_a_venue_no_longer_registered_is_one_line_naming_it(rekt, tmp_path, capsys):
    from liqcore.dataset.read import dataset_info, load_dataset, rows_per_partition
    from liqcore.dataset.write import convert_to_dataset
    from liqcore.venues.registry import unregister

    rec = _recordings(tmp_path)
    convert_to_dataset([rec["rec"]], tmp_path / "ds")
    convert_to_dataset([rec["mix"]], tmp_path / "dsmix")
    assert sorted(p.name for p in (tmp_path / "dsmix").glob("venue=*")) == ["venue=bybit", "venue=rekt"]
    unregister("rekt")  # (its plugin package uninstalled)
    capsys.readouterr()
    ds = str(tmp_path / "ds")
    for cmd in (["events", ds], ["backtest", ds, "--no-progress"]):
        assert main(cmd) != 0
        lines = _errors(capsys.readouterr().err)
        assert len(lines) == 1 and NOT_REGISTERED in lines[0] and "marked checked" not in lines[0], lines
        assert lines[0].startswith(f"liqcore {cmd[0]}: error: dataset: {ds}: venue 'rekt'"), lines
    with pytest.raises(ValueError, match="is not a registered venue: install its plugin package"):
        load_dataset(ds)
    # among a registered venue's partitions: they are read, its left out with one warning naming it and its rows
    dsmix = str(tmp_path / "dsmix")
    assert main(["events", dsmix, "--json"]) == 0
    out = capsys.readouterr()
    assert [orjson.loads(ln)["venue"] for ln in out.out.splitlines()] == ["bybit"] * 5
    lines = _said(out.err)
    rows = sum(rows_per_partition(dsmix, [p for p in dataset_info(dsmix) if p[0] == "rekt"]).values())
    assert rows > 0 and len(lines) == 1, lines
    assert lines[0].startswith(f"warning: dataset {dsmix}: 1 partition(s), {rows} rows left out of the read: ")
    assert NOT_REGISTERED in lines[0], lines
    res = load_dataset(dsmix)
    assert len(res.events) == 5 and not res.rejects and "unverified" not in res.files[dsmix]
    assert "marked checked" not in capsys.readouterr().err  # (said once per process: not again)


def test_recordings_of_a_venue_not_registered_name_it(tmp_path, capsys):
    from liqcore.dataset.load import load_events

    rec = _recordings(tmp_path)
    assert main(["events", str(rec["rec"])]) == 1
    lines = _errors(capsys.readouterr().err)
    assert len(lines) == 1 and "no usable events" in lines[0] and "unknown_venue 12" in lines[0], lines
    assert CAUSE in lines[0], lines
    # among a registered venue's recordings: read, the venue's records left out with one warning naming it
    assert main(["events", str(rec["mix"]), "--json"]) == 0
    out = capsys.readouterr()
    assert len(out.out.splitlines()) == 5
    lines = _said(out.err)
    assert lines == [f"warning: 12 record(s) of {rec['mix'] / 'rekt-20260101T00.jsonl'} left out: {CAUSE}"], lines
    res = load_events(rec["mix"], warn=lambda line: None)
    assert res.rejects == {"unknown_venue": 12} and res.warnings == [lines[0][len("warning: "):]]
    # a contract file (CSV) naming it: the same cause
    csv = tmp_path / "rekt.csv"
    csv.write_text("ts_event_ns,venue,symbol,side,price,qty\n" +
                   "".join(f"{(T0 + i) * 1_000_000},rekt,ROCKET_PERP,long,2.5,1\n" for i in range(3)))
    assert main(["events", str(csv)]) == 1
    err = capsys.readouterr().err
    assert "unknown_venue 3" in err and CAUSE in err, err
    # --strict stops at the first such record, naming the venue too
    for path in (csv, rec["rec"]):
        assert main(["events", str(path), "--strict"]) != 0
        err = capsys.readouterr().err
        assert "unknown_venue (venue 'rekt', not registered: is its plugin package installed?)" in err, err


def test_the_venue_options_list_the_registered_venues_plugins_included(rekt, capsys):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for cmd in ("record", "run", "preflight", "events", "detect", "backtest"):
        action = next(a for a in sub.choices[cmd]._actions if "--venue" in a.option_strings)
        assert "bybit" in action.help and "rekt" in action.help and not action.choices, (cmd, action.help)
    action = next(a for a in sub.choices["venue"]._actions if "--venue" in a.option_strings)
    assert action.choices is None and "binance | bybit | gate | okx" in action.help and "rekt" not in action.help
    # a registered venue without the parts the local venue needs: one line naming what it lacks
    assert main(["venue", "--venue", "rekt"]) == 2
    lines = _errors(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0].startswith("liqcore venue: error: venue: liqcore venue cannot play rekt: "
                                                   "it has no whole local fake (its VenueSpec's local_fake"), lines
    for part in ("fake_session", "gateway", "samples"):
        assert f"no '{part}' part (rekt_venue.{part})" in lines[0], lines
    assert "fake_streams" not in lines[0] and lines[0].endswith("(the venues it plays: binance, bybit, gate, okx)")
    assert main(["venue", "--venue", "kraken"]) == 2
    err = capsys.readouterr().err  # (the registry's order: another test may have registered a built-in again)
    listed = err.split("venue: expected one of ", 1)[1].split("; got 'kraken'", 1)[0].split(", ")
    assert sorted(listed) == ["binance", "bybit", "gate", "okx", "rekt"], err


def test_a_plugin_venue_with_the_parts_it_needs_is_played(monkeypatch):
    """A plugin's venue whose package has every part ``liqcore venue`` asks for (here: Binance's parts under
    another name and code) is listed and taken."""
    from liqcore.commands.venue import check_venue, missing, venues
    from liqcore.venues.registry import VenueSpec, register, unregister, venue_spec

    register(VenueSpec(name="rektfull", code=78, package="liqcore.venues.binance", fake="streams",
                       local_fake="liqcore.venues.binance.fake:FakeBinance"))
    try:
        assert "rektfull" in venues() and check_venue("REKTFULL") == "rektfull" and not missing(venue_spec("rektfull"))
        parser = build_parser("venue")
        sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        action = next(a for a in sub.choices["venue"]._actions if "--venue" in a.option_strings)
        assert "rektfull" in action.help
        assert parser.parse_args(["venue", "--venue", "rektfull"]).venue == "rektfull"
    finally:
        unregister("rektfull")


def test_a_plugin_venue_symbols_are_said_once_not_to_be_checked(rekt, capsys):
    from liqcore.commands.inputs import warn_unknown_symbols
    from liqcore.instruments import checks_symbols

    assert checks_symbols("bybit") and not checks_symbols("rekt")
    feed = "; the feed may receive nothing for it"
    assert warn_unknown_symbols(["ROCKET_PERP", "BTC-PERP"], feed, venue="rekt") == []
    assert warn_unknown_symbols(["ROCKET_PERP"], feed, venue="rekt") == []
    lines = _errors(capsys.readouterr().err)
    assert lines == ["note: venue rekt: its symbols are not checked (liqcore knows no instrument list of a venue "
                     "registered from outside it, a plugin's): ROCKET_PERP, BTC-PERP"], lines
    # a built-in venue's symbols are checked as before
    got = warn_unknown_symbols(["ETHUSD"], feed, venue="bybit")
    assert len(got) == 1 and "the closest is ETHUSDT" in got[0]


def test_a_raw_file_of_a_plugins_frames_finds_its_venue_by_their_shape(rekt, tmp_path):
    """A raw file (one frame a line, no envelope naming the venue) of a plugin's frames, mixed with a Bybit frame:
    the plugin's ``parse.is_frame`` claims its own, asked before the built-in venues' shape tests."""
    from liqcore.io import load_files

    bybit = orjson.loads(_bybit_lines(1))["frame"]
    p = tmp_path / "raw.jsonl"
    p.write_bytes(b"\n".join([liq_frame("ROCKET_PERP", T0, 3.0, 2.5, "L"), b'{"op":"subscribed","ch":"rekt"}',
                               fill_frame("ROCKET_PERP", T0 + 500, 2.0, 2.5, "s"), orjson.dumps(bybit)]) + b"\n")
    got = load_files([p], format="raw")
    assert sorted(got.events["venue"].tolist()) == [1, 77, 77]
    assert got.files[str(p)]["rejects"] == {"control": 1}
