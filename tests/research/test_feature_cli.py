"""`liqcore features` named mode (--list, --at/--names, --json) next to the bars mode."""
from __future__ import annotations

import orjson
import pytest

from liqcore.cli import main
from liqcore.research import NAMED_FEATURES, historical


def test_list_prints_every_name_with_a_definition(capsys):
    assert main(["features", "--list"]) == 0
    out = capsys.readouterr().out
    for n in NAMED_FEATURES:
        assert n in out
    for key in ("liquidations.liq_cascade_flag@W", "oi.oi_velocity@W", "xasset.liq_corr_btc@W", "price.atr@W"):
        assert key in out
    assert "zscore" in out and "rank" in out


def test_at_names_json_matches_historical(capsys):
    names = "liquidations.liq_imbalance@15m:zscore,flow.ofi@5m:zscore,funding.funding_avg@1h"
    at = "2026-01-05T20:00:00Z,1767571100000000000"
    rc = main(["features", "--synthetic", "--days", "1", "--symbols", "BTCUSDT,ETHUSDT", "--at", at, "--names", names,
               "--json", "--no-progress"])
    assert rc == 0
    rows = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 4 and set(rows[0]) >= {"t_ns", "values", "symbol"}
    from liqcore.synthetic.market import synthetic_market

    m = synthetic_market(days=1, symbols=("BTCUSDT", "ETHUSDT"))
    df = historical(at, names, m, symbol="ETHUSDT")
    eth = [r for r in rows if r["symbol"] == "bybit:ETHUSDT"]
    assert eth[0]["values"]["flow.ofi@5m:zscore"] == pytest.approx(df["flow.ofi@5m:zscore"].iloc[0], rel=1e-15)
    assert all(v is None for v in eth[1]["values"].values())  # before the data
    assert eth[1]["null_reasons"]["funding.funding_avg@1h"] == "before the start of the data"


def test_streams_absent_from_the_sample_say_so(tmp_path, capsys):
    """The bundled sample has neither funding nor open interest: both say "stream not in the data"
    (funding_avg once said "the window reaches before the data covers this stream")."""
    from liqcore.data import copy_sample

    rec = copy_sample(tmp_path / "recordings")
    names = "funding.funding_avg@1h,funding.funding_rate@1h,oi.oi_change@1h"
    assert main(["features", str(rec.parent), "--at", "2026-01-05T07:00:00Z", "--names", names, "--json",
                 "--no-progress"]) == 0
    rows = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows and all(set(r["null_reasons"]) == set(names.split(",")) for r in rows)
    for r in rows:
        assert set(r["null_reasons"].values()) == {"stream not in the data"}, r


def test_table_output_and_errors(capsys):
    rc = main(["features", "--synthetic", "--days", "1", "--symbols", "ETHUSDT", "--at", "2026-01-05T20:00:00Z",
               "--names", "flow.ofi@5m,price.return@1m", "--no-progress"])
    assert rc == 0 and "bybit:ETHUSDT" in capsys.readouterr().out
    assert main(["features", "--synthetic", "--days", "1", "--at", "2026-01-05T20:00:00Z",
                 "--names", "flow.ofi@5m:zscor"]) == 2
    assert "did you mean 'zscore'" in capsys.readouterr().err
    assert main(["features", "--synthetic", "--days", "1", "--at", "2026-01-05T20:00:00Z"]) == 2
    assert "give both --at" in capsys.readouterr().err
    assert main(["features", "--synthetic", "--days", "1", "--at", "soon", "--names", "flow.ofi@5m"]) == 2


def test_bar_mode_still_works(tmp_path, capsys):
    out = tmp_path / "bars.csv"
    assert main(["features", "--synthetic", "--days", "0.5", "--symbols", "ETHUSDT", "--bar", "15m", "--out", str(out),
                 "--no-progress"]) == 0
    assert out.stat().st_size > 0


def test_run_rejects_a_bad_feature_name_before_starting(capsys):
    with pytest.raises(SystemExit) as e:  # a usage error, before anything starts
        main(["run", "--features", "flow.ofi@5m,flow.ofi@5x", "--no-dashboard", "--duration", "1"])
    assert e.value.code == 2
    assert "malformed window '5x'" in capsys.readouterr().err


def test_json_notes_the_sampling_of_merged_venues(capsys):
    rc = main(["features", "--synthetic", "--days", "0.5", "--symbols", "ETHUSDT", "--venue", "binance",
               "--at", "2026-01-05T10:00:00Z", "--names", "liquidations/all.liq_volume@5m", "--json", "--no-progress"])
    assert rc == 0
    row = orjson.loads(capsys.readouterr().out.splitlines()[0])
    assert row["values"]["liquidations/all.liq_volume@5m"] is not None
    assert "sampled" in row["sampling"]["binance:ETHUSDT"]
