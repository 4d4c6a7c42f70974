"""The queue fill rule through the fronts: the synthetic market's top of book (kernel = twin,
thinning in cascades), the fall-back without a book (a real CLI run), sweeps and single backtests
agreeing under every fill rule, and every result naming the fill model it came from."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest

from liqcore.backtest.run import backtest, sweep
from liqcore.synthetic.market import synthetic_market
from liqcore.config import Params
from liqcore.execution.events import NO_BOOK_WARNING, price_grids
from liqcore.types import Kind
from _session_env import child_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def book_market():
    return synthetic_market(days=2, symbols=("ETHUSDT", "SOLUSDT"), seed=11, cache=False,
                            effects={"book": True})


def test_book_is_a_quote_pair_before_each_trade_at_a_new_price(book_market):
    ev = book_market.events
    plain = synthetic_market(days=2, symbols=("ETHUSDT", "SOLUSDT"), seed=11, cache=False)
    # the book only adds rows: the market without it is the same market
    assert np.array_equal(ev[ev["kind"] != Kind.QUOTE], plain.events)
    assert not (plain.events["kind"] == Kind.QUOTE).any()
    q = np.flatnonzero(ev["kind"] == Kind.QUOTE)
    assert len(q) and len(q) % 2 == 0
    bid, ask = ev[q[0::2]], ev[q[1::2]]
    assert (bid["side"] == 3).all() and (ask["side"] == 4).all() and (bid["ts_recv"] == ask["ts_recv"]).all()
    assert (bid["qty"] > 0).all() and (ask["qty"] > 0).all()
    for sid, tick in ((0, 0.01), (1, 0.01)):
        mine = (bid["symbol_id"] == sid)
        assert np.allclose(ask["price"][mine] - bid["price"][mine], tick)  # a one-tick spread
    # each pair is followed by the trade it prices: a buy at the ask, a sell at the bid
    nxt = ev[q[1::2] + 1]
    assert (nxt["kind"] == Kind.TRADE).all()
    assert np.array_equal(np.where(nxt["side"] == 3, ask["price"], bid["price"]), nxt["price"])
    assert np.array_equal(price_grids(ev, 2), [100.0, 100.0])


def test_book_kernel_equals_its_twin_and_thins_in_cascades(book_market):
    from liqcore._jit.synth import book_quotes as kernel
    from pysrc.synth import book_quotes as twin

    plain = synthetic_market(days=2, symbols=("ETHUSDT", "SOLUSDT"), seed=11, cache=False).events
    sub = plain[:30_000]
    z = np.random.default_rng(3).standard_normal(2 * len(sub))
    args = (np.array([2.0, 2.0]), np.array([2.0, 1.0]), np.array([1e5, 4e4]), np.array([8e4, 1.5e4]), 30.0, z)
    a, b = np.zeros(3 * len(sub), plain.dtype), np.zeros(3 * len(sub), plain.dtype)
    na, nb = kernel(sub, *args, a), twin(sub, *args, b)
    assert na == nb > len(sub) and a[:na].tobytes() == b[:nb].tobytes()
    # displayed notional inside the cascade episodes (the generator's truth) vs outside: thinner
    ev, truth = book_market.events, book_market.truth
    for sid in (0, 1):
        qt = ev[(ev["symbol_id"] == sid) & (ev["kind"] == Kind.QUOTE)]
        eps = truth[truth["symbol_id"] == sid]
        k = np.searchsorted(eps["start_ns"], qt["ts_event"], "right") - 1
        inside = (k >= 0) & (qt["ts_event"] <= eps["end_ns"][np.maximum(k, 0)])
        notional = qt["price"] * qt["qty"]
        assert inside.sum() > 100
        assert np.median(notional[inside]) < 0.6 * np.median(notional[~inside])


def test_sweep_rows_equal_single_backtests_under_every_fill_rule(book_market):
    table = sweep(book_market, {"fill": ["through", "queue", "touch"]}, Params(), equity=10_000.0, progress=False)
    assert len(table) == 3
    fills = {}
    for _, row in table.iterrows():
        single = backtest(book_market, Params(fill=row["fill"]), equity=10_000.0).summary()
        assert row["fills"] == single["fills"] and row["total_return"] == single["total_return"]
        assert row["fill_model"] == single["fill_model"]
        fills[row["fill"]] = row["fill_model"]
    assert fills["queue"] == "queue (risk-averse), limits on the price grid, order latency 100 ms round trip: 50 ms out, 50 ms back"
    assert fills["through"] == "through, order latency 100 ms round trip: 50 ms out, 50 ms back"


def _cli(*args, env_extra=None):
    env = child_env(keep_cache=False)
    env["PYTHONPATH"] = str(ROOT)
    env["LIQCORE_CACHE_DIR"] = env_extra
    return subprocess.run([sys.executable, "-m", "liqcore", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)


def test_cli_queue_without_book_says_so_once_and_fills_as_through(tmp_path):
    common = ["backtest", "--synthetic", "--days", "2", "--symbols", "ETHUSDT,SOLUSDT", "--no-progress", "--json"]
    # (both on the grid of the prints, which --fill queue implies; sizes as computed, not on the tick's qty step)
    q = _cli(*common, "--fill", "queue", "--price-grid", "auto", "--knob", "book=0", env_extra=str(tmp_path))
    t = _cli(*common, "--fill", "through", "--price-grid", "auto", env_extra=str(tmp_path))
    assert q.returncode == 0 and t.returncode == 0, q.stderr + t.stderr
    assert q.stderr.count(NO_BOOK_WARNING) == 1 and NO_BOOK_WARNING not in t.stderr
    sq, st = orjson.loads(q.stdout)["summary"], orjson.loads(t.stdout)["summary"]
    assert sq["fill_model"].startswith("through (queue asked; no top of book in the input)")
    for k in ("fills", "orders", "trades", "total_return"):
        assert sq[k] == st[k], k
    # with its book (the command line's market under --fill queue), the queue rule runs
    b = _cli(*common, "--fill", "queue", env_extra=str(tmp_path))
    assert b.returncode == 0 and NO_BOOK_WARNING not in b.stderr
    assert orjson.loads(b.stdout)["summary"]["fill_model"].startswith("queue (risk-averse)")


def test_compare_shows_the_guide_strategy_under_each_fill_rule(book_market):
    from liqcore.backtest.compare import compare, fill_variant

    res = compare(book_market.events, book_market.registry, ["cascade-mm"], Params(), n_folds=2)
    names = list(dict.fromkeys(r["strategy"] for r in res.rows))
    assert names == ["cascade-mm"] + [fill_variant(f) for f in ("through", "queue", "touch")]
    assert res.row("cascade-mm", "all")["fill"] == "through, order latency 100 ms round trip: 50 ms out, 50 ms back"
    assert res.row(fill_variant("queue"), "all")["fill"].startswith("queue (risk-averse), limits on the price grid")


def test_demo_prints_the_strategy_under_each_fill_rule(tmp_path):
    r = _cli("demo", "--days", "2", "--symbols", "ETHUSDT,SOLUSDT", "--no-report", "--no-progress",
             "--cache-dir", str(tmp_path), env_extra=str(tmp_path))
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())  # the console wraps long lines
    assert "fill: through, order latency 100 ms round trip: 50 ms out, 50 ms back" in out
    for rule in ("through, limits on the price grid", "queue (risk-averse), limits on the price grid",
                 "touch, limits on the price grid"):
        assert f"{rule}, order latency 100 ms round trip: 50 ms out, 50 ms back:" in out
    assert NO_BOOK_WARNING not in r.stderr  # the demo's market has its book


def test_the_price_grid_is_the_greatest_common_step_of_the_prints():
    """No two prints one tick apart still show the tick (3000, 2995.51, 2995, 3005: 0.01, not their smallest
    step 0.51, which put a live 2995.5 entry at 2995.23); float32-spelled prices too; prices on no decimal
    grid keep their smallest step."""
    from liqcore.types import EVENT_DTYPE

    def grid(prices):
        ev = np.zeros(len(prices), EVENT_DTYPE)
        ev["kind"] = Kind.TRADE
        ev["price"] = prices
        return float(price_grids(ev, 1)[0])

    assert grid([3000.0, 2995.51, 2995.0, 3005.0]) == 100.0
    assert grid(np.float32([300.21, 300.2, 300.25, 301.0]).astype(float)) == 100.0
    assert grid([60000.5, 60001.0, 60010.0]) == 2.0
    odd = [1.0, 1.0 + np.pi / 1e3, 1.0 + np.e / 1e2]
    assert grid(odd) == pytest.approx(1.0 / (np.pi / 1e3))
    assert grid([5.0]) == 0.0


def test_the_price_grid_is_read_from_each_symbols_first_prints():
    """The grid is read from each symbol's first GRID_PRINTS (262,144) prints, as a backtest read in chunks
    knows it after its first chunks (docs/explanation/fill-model.md, "When prices are compared as floats"): a 0.01 print
    among them makes the grid 0.01; the same print after them leaves it at 0.1."""
    from liqcore.execution.events import GRID_PRINTS
    from liqcore.types import EVENT_DTYPE

    rng = np.random.default_rng(4)
    prices = np.round(3000.0 + rng.integers(-500, 500, GRID_PRINTS + 1000) / 10.0, 1)
    ev = np.zeros(len(prices), EVENT_DTYPE)
    ev["kind"] = Kind.TRADE
    late = prices.copy()
    late[GRID_PRINTS + 10] = 3000.01
    ev["price"] = late
    assert float(price_grids(ev, 1)[0]) == 10.0
    early = prices.copy()
    early[GRID_PRINTS - 10] = 3000.01
    ev2 = ev.copy()
    ev2["price"] = early
    assert float(price_grids(ev2, 1)[0]) == 100.0