"""Backtest front: detect cascades once, replay trades + cascade records through the Numba tick
simulator, collect the ledger and metrics; sweeps reuse the cascade records.

    >>> from liqcore.backtest import backtest
    >>> res = backtest(market, Params())           # Market, LoadResult, paths, or an event array
    >>> res.summary()["win_rate"], res.per_symbol()["binance:ETHUSDT"]["fills"]
    >>> res.to_json()                               # {"summary": {...}, "trades": [...]}
    >>> res.save("out/")                            # ledger + summary as Parquet and CSV

Why one module: :class:`BacktestResult` and its outputs (the ledger and summary tables, the folder ``save``
writes) are made from the same fields the front functions here fill; split, each half would reach into the
other's.
"""
from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from liqcore.backtest import metrics as M
from liqcore.config import Params
from liqcore.execution.arrays import new_portfolio, symbol_params  # noqa: F401  (re-exported: the old path)
from liqcore.execution.arrays import coin_fees
from liqcore.codes import EXIT_NAMES
from liqcore.execution.detect import confirmed_records, detect  # noqa: F401  (detect re-exported)
from liqcore.execution.events import (  # noqa: F401  (prepare_events, input_kinds re-exported)
    apply_price_grid, check_equity, clean_prints, depth_books, follow_order, input_kinds, prepare_events, queue_fallback,
    recv_order, take_events,
)
from liqcore.execution.replay import at_end, n_symbols, new_replay
from liqcore.execution.latency import apply_feed_latency, apply_order_latency, feed_latency_note, order_latency_note
from liqcore.params import fill_label
from liqcore.strategies import resolve_strategy  # noqa: F401  (re-exported: the old path)
from liqcore.types import CASCADE_DTYPE, EVENT_DTYPE, SymbolRegistry, venue_name

__all__ = ["backtest", "simulate", "simulate_signals", "detect", "sweep", "BacktestResult", "symbol_params",
           "prepare_events", "resolve_strategy", "input_kinds"]

_EXIT_NAMES = EXIT_NAMES  # the old private name
#: the ledger's fill_rule: which rule decided an entry's fill (-1: a print through the limit, or a market entry)
from liqcore._jit.sim import FILL_RULE_NAMES as _FILL_RULES  # noqa: E402


def _recv_order(events: np.ndarray) -> np.ndarray | None:  # the old private name
    return recv_order(events)


def _confirmed(records: np.ndarray) -> np.ndarray:  # the old private name
    return confirmed_records(records, ordered=True)


#: the summary's names of the run's latency notes; a note that can only describe the rows a read decoded
#: (the default read's feed delays) says so in its own name, so no two reads share a field of different meaning
LATENCY_FIELDS = {"order": "order_latency_model", "feed": "feed_latency_model",
                  "feed_rows_read": "feed_latency_model_of_rows_read"}

def _coin_units(coin: str) -> dict:
    return {"pnl": coin, "fees": coin, "pnl_usd": "USD at each exit's price", "fees_usd": "USD at each exit's price",
            "equity_start": coin, "equity_end": coin}


@dataclass
class BacktestResult:
    """Ledger, counts and metrics of one backtest run."""

    params: Params
    registry: SymbolRegistry
    ledger: np.ndarray  # LEDGER_DTYPE of liqcore._jit.sim
    counts: np.ndarray  # (n_symbols, N_COUNTS) int64
    equity0: float
    equity: float
    start_ns: int
    end_ns: int
    records: np.ndarray  # CONFIRMED records used
    n_prints: int = 0
    sim_seconds: float = 0.0
    open_at_end: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # per symbol: 1 position open
    working_at_end: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # per symbol: entry working
    note: str | None = None
    detector_counts: dict = field(default_factory=dict)
    events: np.ndarray | None = field(default=None, repr=False)  # the replayed events (ts_recv order)
    dropped: dict = field(default_factory=dict)  # reason -> events ignored (non-finite / non-positive prices)
    fill_fallback: bool = False  # --fill queue without top of book in the input: filled as through
    binary: dict | None = None  # the signals scored as a binary prediction (strategies that predict one)
    strategy: str = "cascade-mm"  # the strategy that made the signals
    signals: np.ndarray | None = field(default=None, repr=False)  # SIGNAL_DTYPE, in processing order
    strategy_obj: object = field(default=None, repr=False, compare=False)  # names its skip / exit codes
    latency: dict = field(default_factory=dict)  # "order" / "feed": which latency the run used, in words
    #: decisions not sent by reason (no_instrument, not_traded, no_market_data: liqcore.backtest.rules)
    refused: dict = field(default_factory=dict)
    #: the queue at depth: which symbols' depth books are unknown at the span's start, and why (None: none)
    depth_note: str | None = None

    # ---- display (a notebook: the summary table the CLI prints; plots as Figures) -----------------
    def __repr__(self) -> str:
        from liqcore.backtest.report import result_repr

        return result_repr(self)

    def _repr_html_(self) -> str:
        from liqcore.backtest.report import result_html

        return result_html(self)

    def plot(self, symbol: str | None = None):
        """A matplotlib Figure: realised equity over drawdown; with ``symbol`` (``"ETHUSDT"`` or
        ``"bybit:ETHUSDT"``) that symbol's prints with its cascades marked and its trades' entries and
        exits.  The report's PNGs are these same figures."""
        from liqcore.backtest import report

        return report.equity_figure(self) if symbol is None else report.symbol_figure(self, symbol)

    # ---- metrics ---------------------------------------------------------------------------------
    def summary(self) -> dict:
        """Overall counts and metrics (see :mod:`liqcore.backtest.metrics`)."""
        out = M.summarize(self.ledger, self.counts, self.equity0, self.start_ns, self.end_ns,
                          open_at_end=int(self.open_at_end.sum()), working_at_end=int(self.working_at_end.sum()))
        out["equity_start"] = self.equity0
        out["equity_end"] = self.equity
        out["start_ns"] = int(self.start_ns)
        out["end_ns"] = int(self.end_ns)
        out["symbols"] = len(self.registry)
        out["strategy"] = self.strategy
        out["fill_model"] = fill_label(self.params, self.fill_fallback)
        skips = self.skip_counts()
        if skips:
            out["skips"] = skips
        if self.dropped:
            out["dropped"] = dict(self.dropped)
        if self.refused:  # decisions on symbols not traded (no trading rules, left out, no trades in the data)
            out["refused"] = dict(self.refused)
        if self.note:
            out["data_note"] = self.note
        if self.depth_note:
            out["depth_note"] = self.depth_note
        for k, v in self.latency.items():  # which order / feed latency the run used
            out[LATENCY_FIELDS.get(k, f"{k}_latency_model")] = v
        read = getattr(self, "read", None)
        if read:  # a dataset read window-local: the path and the rows of the row groups decoded
            out["read"] = dict(read)
        coin = self.coin_pnl()
        if coin:  # inverse contracts: their P&L in each margin coin (the USD P&L is in the metrics above)
            out["pnl_coin"] = coin
        return out

    def coin_of(self, sid: int) -> str:
        """The margin coin of an inverse contract (``BTCUSD_PERP`` -> ``BTC``)."""
        from liqcore.execution.arrays import margin_coin

        if sid >= len(self.registry):
            return str(sid)
        venue, name = self.registry.lookup(sid)
        return margin_coin(int(venue), name) or name

    def coin_pnl(self) -> dict:
        """Inverse contracts' P&L net of fees and funding and their fees, summed per margin coin in the coin and in
        USD at each exit's price, and that coin's equity (the margin accounts in it, one per venue, summed) at its
        first entry and after its last exit: ``{"BTC": {"pnl": x, "fees": f, "unit": "BTC", "pnl_usd": u,
        "fees_usd": g, "trades": n, "equity_start": a, "equity_end": b, "units": {...}}}`` (empty without inverse
        trades)."""
        out: dict = {}
        if not len(self.ledger) or "contracts" not in self.ledger.dtype.names:
            return out
        accounts: dict = {}  # (venue, coin) -> [equity at the account's start, after its latest exit]
        for r in self.ledger[self.ledger["contracts"] > 0]:
            coin = self.coin_of(int(r["symbol_id"]))
            c = out.setdefault(coin, {"pnl": 0.0, "fees": 0.0, "unit": coin, "pnl_usd": 0.0, "fees_usd": 0.0,
                                      "trades": 0, "units": _coin_units(coin)})
            c["pnl"] += float(r["pnl_coin"])
            c["fees"] += coin_fees(r)
            c["pnl_usd"] += float(r["pnl"])
            c["fees_usd"] += float(r["fees"] * r["notional"])
            c["trades"] += 1
            if "equity_coin_after" in r.dtype.names:
                after = float(r["equity_coin_after"])
                accounts.setdefault((int(r["venue"]), coin), [after - float(r["pnl_coin"]), after])[1] = after
        for (_v, coin), (start, end) in accounts.items():
            c = out[coin]
            c["equity_start"] = c.get("equity_start", 0.0) + start
            c["equity_end"] = c.get("equity_end", 0.0) + end
        return out

    def symbol_name(self, sid: int) -> str:
        if sid < len(self.registry):
            v, s = self.registry.lookup(sid)
            return f"{v.name.lower()}:{s}"
        return f"?:{sid}"

    def per_symbol(self) -> dict[str, dict]:
        """``"venue:SYMBOL" -> summary`` for every symbol with at least one cascade or trade."""
        out = {}
        for sid in range(self.counts.shape[0]):
            if not self.counts[sid].any():
                continue
            mask = self.ledger["symbol_id"] == sid
            out[self.symbol_name(sid)] = M.summarize(
                self.ledger, self.counts, self.equity0, self.start_ns, self.end_ns, mask=mask, symbol_ids=[sid],
                open_at_end=int(self.open_at_end[sid]), working_at_end=int(self.working_at_end[sid]))
        return out

    def skip_counts(self) -> dict[str, int]:
        """Skip signals (direction 0) by the name of their code, mixed excepted (it has its own count)."""
        sig = self.signals
        if sig is None or not len(sig):
            return {}
        # 1: mixed, counted apart; 2: exit notices, not decisions
        sk = sig["skip_code"][(sig["direction"] == 0) & (sig["skip_code"] != 1) & (sig["skip_code"] != 2)]
        codes, n = np.unique(sk, return_counts=True)
        return {self._skip_name(int(c)): int(k) for c, k in zip(codes, n)}

    def _skip_name(self, code: int) -> str:
        if code == 0:
            return "unspecified"
        obj = self.strategy_obj
        return obj.skip_name(code) if obj is not None else f"skip_{code}"

    def _exit_code_name(self, code: int) -> str:
        if code == 0:
            return ""
        obj = self.strategy_obj
        return obj.exit_name(code) if obj is not None else f"exit_{code}"

    def trades(self, detail: bool = False) -> list[dict]:
        """The ledger in the ``--json`` shape: venue, symbol, side, signal_ns, entry_ns, entry_price,
        exit_ns, exit_price, exit_reason, fees (a fraction of the entry notional), fees_quote (the same in quote
        currency: fees x the entry notional), return, limit_price, fill_rule (``--partial on``: fills, filled,
        notional; an inverse contract: contracts, notional_usd, pnl_coin in its ``coin``, pnl_usd at the exit
        price).  ``detail=True`` adds the strategy, the
        signal's tag, entry type, confidence, size multiplier, the signal exit's code name and the
        strategy's ``inputs`` of the signal."""
        out = []
        partial = bool(getattr(self.params, "partial", False)) and getattr(self.params, "fill", "") == "queue"
        sig_by_tag = None
        if detail and self.signals is not None and self.strategy_obj is not None:
            sig_by_tag = {}
            for g in self.signals:
                sig_by_tag.setdefault((int(g["symbol_id"]), int(g["tag"]), int(g["ts_ns"])), g)
        for r in self.ledger:
            sid = int(r["symbol_id"])
            row = {
                "venue": venue_name(int(r["venue"])),
                "symbol": self.registry.symbol(sid) if sid < len(self.registry) else str(sid),
                "side": "long" if r["side"] > 0 else "short",
                "signal_ns": int(r["signal_ns"]),
                "entry_ns": int(r["entry_ns"]),
                "entry_price": float(r["entry_price"]),
                "exit_ns": int(r["exit_ns"]),
                "exit_price": float(r["exit_price"]),
                "exit_reason": _EXIT_NAMES.get(int(r["exit_reason"]), "?"),
                "fees": float(r["fees"]),
                "fees_quote": float(r["fees"] * r["notional"]),
                "return": float(r["ret"]),
                # the entry's limit (a market entry has none) and the rule that decided its fill
                "limit_price": float(r["entry_price"]) if int(r["entry_kind"]) != 1 else None,
                "fill_rule": _FILL_RULES.get(int(r["fill_rule"]), "print"),
            }
            if partial:  # --partial on: the fills that made the position, the share of the order they filled
                row.update(fills=int(r["fills"]), filled=float(r["filled"]), notional=float(r["notional"]))
            if "contracts" in r.dtype.names and r["contracts"] > 0:  # an inverse contract: size and P&L, with units
                coin = self.coin_of(sid)
                row.update(contracts=float(r["contracts"]), notional_usd=float(r["notional"]),
                           pnl_coin=float(r["pnl_coin"]), coin=coin, pnl_usd=float(r["pnl"]),
                           fees_coin=coin_fees(r), fees_usd=float(r["fees"] * r["notional"]),
                           equity_coin=float(r["equity_coin_after"]),
                           units={"pnl_coin": coin, "pnl_usd": "USD at the exit price", "notional_usd": "USD",
                                  "fees_coin": coin, "fees_usd": "USD at the exit price", "equity_coin": coin})
            if detail:
                row.update(strategy=self.strategy, tag=int(r["cascade_id"]),
                           entry="market" if r["entry_kind"] == 1 else "limit", confidence=float(r["confidence"]),
                           size_mult=float(r["size_mult"]), exit_code=self._exit_code_name(int(r["exit_code"])),
                           notional=float(r["notional"]), funding=float(r["funding"]))
                if sig_by_tag is not None:
                    g = sig_by_tag.get((sid, int(r["cascade_id"]), int(r["signal_ns"])))
                    row["inputs"] = self.strategy_obj.inputs(g) if g is not None else {}
            out.append(row)
        return out

    def to_json(self, per_symbol: bool = True) -> dict:
        s = self.summary()
        if per_symbol:
            s["per_symbol"] = self.per_symbol()
        s["params"] = self.params.describe()
        if self.binary is not None:
            s["hourly_binary"] = self.binary
        return {"summary": s, "trades": self.trades()}

    # ---- tables and export ------------------------------------------------------------------------
    def ledger_table(self):
        """The full ledger as a pyarrow Table (names instead of codes, timestamps in ns)."""
        import pyarrow as pa

        L = self.ledger
        cols = {
            "venue": [venue_name(int(v)) for v in L["venue"]],
            "symbol": [self.registry.symbol(int(s)) if s < len(self.registry) else str(s) for s in L["symbol_id"]],
            "side": ["long" if s > 0 else "short" for s in L["side"]],
            "strategy": [self.strategy] * len(L),
            "tag": L["cascade_id"],
            "entry": ["market" if k == 1 else "limit" for k in L["entry_kind"]],
            "exit_reason": [_EXIT_NAMES.get(int(x), "?") for x in L["exit_reason"]],
            "exit_code": [self._exit_code_name(int(x)) for x in L["exit_code"]],
        }
        for name in L.dtype.names:
            if name in ("venue", "side", "exit_reason", "entry_kind", "exit_code"):
                continue
            cols["return" if name == "ret" else name] = L[name]
        cols["fees_quote"] = L["fees"] * L["notional"]  # (fees: a fraction of the entry notional; this: quote units)
        return pa.table(cols)

    def to_frame(self):
        """The ledger as a pandas DataFrame (needs pandas)."""
        return self.ledger_table().to_pandas()

    def summary_table(self):
        """Overall + per-symbol metrics as a pyarrow Table, one row each (``scope`` column).  A nested field of
        the summary (``read``: a window-local read's row counts; ``pnl_coin``: inverse contracts' P&L per coin)
        is flattened into dotted columns (``read.rows_read``, ``pnl_coin.BTC.pnl``...), so CSV can hold the
        table as Parquet does; ``summary.json`` keeps it nested."""
        import pyarrow as pa

        rows = [{"scope": "all", **self.summary()}]
        rows += [{"scope": k, **v} for k, v in self.per_symbol().items()]
        rows = [_flat_row(r, skip=_SUMMARY_TABLE_LEFT_OUT) for r in rows]
        keys = list(dict.fromkeys(k for r in rows for k in r))
        return pa.table({k: [r.get(k) for r in rows] for k in keys})

    def save(self, out_dir: str | Path) -> list[Path]:
        """Write ledger.parquet, ledger.csv, summary.parquet, summary.csv, summary.json into ``out_dir``; returns
        their paths.  The folder is all or nothing: the five files are written into a directory beside it and
        swapped in whole (:func:`liqcore._atomic.building_dir`), so a failure leaves ``out_dir`` as it was
        (not created, or the earlier run's files), never some of the files; where ``out_dir`` also holds other
        files (a ``--report`` in the same folder), the new files are renamed in one by one and those are kept."""
        import orjson
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        from liqcore._atomic import building_dir

        led = self.ledger_table()
        summ = self.summary_table()
        doc = orjson.dumps(self.to_json(), option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
        with building_dir(out_dir, owned=_out_file) as stage:
            for name, write, table in (("ledger.parquet", pq.write_table, led), ("ledger.csv", pcsv.write_csv, led),
                                       ("summary.parquet", pq.write_table, summ),
                                       ("summary.csv", pcsv.write_csv, summ)):
                write(table, str(stage / name))
            (stage / "summary.json").write_bytes(doc)
            for name in OUT_FILES:  # (on the disk before the swap, as atomic_path's files are)
                _fsync(stage / name)
        out = Path(out_dir)
        return [out / name for name in OUT_FILES]


#: the files :meth:`BacktestResult.save` writes (``backtest --out DIR``)
OUT_FILES = ("ledger.parquet", "ledger.csv", "summary.parquet", "summary.csv", "summary.json")
#: summary fields left out of the summary tables (words, and counts by reason: in summary.json only)
_SUMMARY_TABLE_LEFT_OUT = ("data_note", "dropped", "skips", "refused")


def _out_file(name: str) -> bool:
    """The files an ``--out`` folder holds (an earlier run's are replaced, any other file is kept)."""
    return name in OUT_FILES


def _flat_row(row: dict, skip=()) -> dict:
    """``row`` with each nested dict flattened into dotted keys (``{"read": {"rows_read": 5}}`` ->
    ``{"read.rows_read": 5}``, at any depth); the keys in ``skip`` left out."""
    out: dict = {}

    def put(key: str, value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                put(f"{key}.{k}", v)
        else:
            out[key] = value

    for k, v in row.items():
        if k not in skip:
            put(k, v)
    return out


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def simulate(events: np.ndarray, records: np.ndarray, registry: SymbolRegistry | None, params: Params,
             equity: float = 1.0) -> BacktestResult:
    """Replay ``events`` (EVENT_DTYPE) with cascade ``records`` (CASCADE_DTYPE, the detector's output on
    these same events: ``event_index`` refers to ``events`` as given) through the Numba simulator.
    Events not in ts_recv order are stably re-sorted and the records' indices follow them."""
    from liqcore._jit import sim

    check_equity(equity)
    order = recv_order(events)
    rec = np.asarray(records, dtype=CASCADE_DTYPE)
    if order is not None:  # replay in ts_recv order; record indices follow their events
        events = take_events(events, order)
        rec = rec.copy()
        rec["event_index"] = follow_order(order, rec["event_index"])
    else:
        events = np.ascontiguousarray(events)
    events, dropped = clean_prints(events, copy=order is None)
    registry = registry if registry is not None else SymbolRegistry()
    rec = confirmed_records(rec, ordered=True)
    from liqcore.execution.avoid import avoid_records

    rec = avoid_records(rec, params)  # the guide's avoided times (weekends, news, maintenance): no entry
    n_sym = n_symbols(registry, events["symbol_id"], rec["symbol_id"])
    r = new_replay(params, registry, n_sym, equity, len(rec) + 1)
    fallback = queue_fallback(r.par, events)  # --fill queue without top of book: through, said once
    apply_price_grid(r.par, params, events)
    start_ns, end_ns = event_span(events)
    if len(rec):
        end_ns = max(end_ns, int(rec["confirm_recv_ns"].max()))
    sig = None
    if params.order_latency_from:  # measured order latencies: the records' signals carry their draws
        sig = apply_order_latency(sim.records_signals(rec["confirm_recv_ns"], rec["event_index"], rec["symbol_id"],
                                                      rec["dominant"], rec["cascade_id"], r.par), events, params)
    t0 = time.perf_counter()
    book = depth_books(r.par, events)  # the L2 book, when DEPTH rows are given to the queue rule
    if sig is not None:
        n_prints = sim.run_exec(events, sig, r.st, r.port, r.par, r.ledger, r.counts, end_ns,
                                *(book if book is not None else ()))
    else:
        n_prints = sim.run_sim(
            events,
            np.ascontiguousarray(rec["confirm_recv_ns"], dtype=np.int64),
            np.ascontiguousarray(rec["event_index"], dtype=np.int64),
            np.ascontiguousarray(rec["symbol_id"], dtype=np.int64),
            np.ascontiguousarray(rec["dominant"], dtype=np.int64),
            np.ascontiguousarray(rec["cascade_id"], dtype=np.int64),
            r.st, r.port, r.par, r.ledger, r.counts, end_ns, depth=book,
        )
    elapsed = time.perf_counter() - t0
    n_trades = int(r.port[0]["n_trades"])
    open_at_end, working_at_end = at_end(r.st)
    return BacktestResult(
        params=params, registry=registry, ledger=r.ledger[:n_trades].copy(), counts=r.counts,
        equity0=float(equity), equity=float(r.port[0]["equity"]), start_ns=start_ns, end_ns=end_ns, records=rec,
        n_prints=int(n_prints), sim_seconds=elapsed, open_at_end=open_at_end, working_at_end=working_at_end,
        note=M.data_note(events), events=events, dropped=dropped, fill_fallback=fallback,
        latency={"order": order_latency_note(params, sig), "feed": feed_latency_note(events, params.feed_latency_ns,
                                                                                     params.feed_latency_mode)},
    )


def event_span(events: np.ndarray) -> tuple[int, int]:
    """The first and last receive time of ``events`` (receive order) that are not DEPTH rows: the span a
    backtest reports (``start_ns``, ``end_ns``, the base of its exposure) is its events', and depth rows
    received before the first or after the last of them (a day's book kept where its trades are missing)
    leave it as it is, as in every read of a dataset (docs/how-to/backtest.md).  (0, 0): no such event."""
    from liqcore.types import Kind

    if not len(events):
        return 0, 0
    a, b = int(events["ts_recv"][0]), int(events["ts_recv"][-1])
    kind = events["kind"]
    if int(kind[0]) != int(Kind.DEPTH) and int(kind[-1]) != int(Kind.DEPTH):
        return a, b
    k = np.flatnonzero(kind != int(Kind.DEPTH))
    if not len(k):
        return 0, 0
    return int(events["ts_recv"][k[0]]), int(events["ts_recv"][k[-1]])


def _resolve_source(source, registry=None, params: Params | None = None):
    """(events, registry) from a Market / LoadResult (``.events`` + ``.registry``), an event array, or
    paths read with :func:`liqcore.load_events`."""
    if hasattr(source, "events") and hasattr(source, "registry"):
        return apply_feed_latency(source.events, params), source.registry
    if isinstance(source, np.ndarray):
        return apply_feed_latency(source, params), registry
    if isinstance(source, (str, Path)) or (isinstance(source, (list, tuple)) and source
                                           and all(isinstance(p, (str, Path)) for p in source)):
        from liqcore.dataset.load import load_events

        p = params or Params()
        res = load_events(source, registry=registry, feed_latency_ns=p.feed_latency_ns,
                          max_clock_skew_ns=p.max_clock_skew_ns)
        events = res.events
        if p.fill == "queue":  # the queue at depth: a dataset's depth rows replayed too
            from liqcore.dataset import has_depth, is_dataset, with_depth

            paths = [source] if isinstance(source, (str, Path)) else list(source)
            for path in paths:
                if is_dataset(path) and has_depth(path):
                    events = with_depth(events, res.registry, path)
        return apply_feed_latency(events, p), res.registry
    raise ValueError("source: expected a Market/LoadResult, an EVENT_DTYPE array, or file paths")


def simulate_signals(events: np.ndarray, signals: np.ndarray, registry: SymbolRegistry | None, params: Params,
                     equity: float = 1.0, *, strategy=None, rules: dict | None = None,
                     depth_start=None) -> BacktestResult:
    """Replay ``events`` (EVENT_DTYPE) with a strategy's ``signals`` (SIGNAL_DTYPE; ``ev_idx`` refers
    to ``events`` as given) through the execution model.  Events not in ts_recv order are stably
    re-sorted and the signals' indices follow them; signals are put in processing order
    (:func:`liqcore.strategies.sort_signals`).  ``strategy`` (name, class or instance; default
    ``params.strategy``) only names the ledger rows and the codes.  ``rules``: symbol -> its trading rules
    (:class:`liqcore.venues.instruments.Instrument`; :mod:`liqcore.backtest.rules`): its prices on its tick,
    quantities on its lot, minimums checked."""
    from liqcore._jit import sim
    from liqcore.signals import sort_signals

    check_equity(equity)
    obj, params = resolve_strategy(strategy, params)
    from liqcore.execution.avoid import avoid_signals

    sig = avoid_signals(sort_signals(signals), params)  # avoided times (weekends, news, maintenance): skips
    order = recv_order(events)
    if order is not None:
        events = take_events(events, order)
        sig = sig.copy()
        sig["ev_idx"] = follow_order(order, sig["ev_idx"])
        sig = sort_signals(sig)
    else:
        events = np.ascontiguousarray(events)
    events, dropped = clean_prints(events)
    registry = registry if registry is not None else SymbolRegistry()
    n_sym = n_symbols(registry, events["symbol_id"], sig["symbol_id"])
    r = new_replay(params, registry, n_sym, equity, int((sig["direction"] != 0).sum()) + 1)
    sig = apply_order_latency(sig, events, params)  # measured order latencies (order-latency-from): drawn per signal
    fallback = queue_fallback(r.par, events)  # --fill queue without top of book: through, said once
    apply_price_grid(r.par, params, events)
    if rules:  # the venue's rules where they are known (after the grid of the prints: the venue's tick wins)
        from liqcore.backtest.rules import apply_rules

        apply_rules(r.par, registry, rules)
    start_ns, end_ns = event_span(events)
    if len(sig):
        end_ns = max(end_ns, int(sig["ts_ns"].max()))
    t0 = time.perf_counter()
    book = depth_books(r.par, events)  # the L2 book, when DEPTH rows are given to the queue rule
    if depth_start and r.par["queue"].any():  # the books before the span (--start), put back first
        from liqcore.backtest.depth_start import put_back
        from liqcore.backtest.stream import NotStreamable

        book = book if book is not None else sim.new_depth(len(r.par))
        try:
            put_back(depth_start, book, r.st, r.port, r.par, r.ledger, r.counts)
        except NotStreamable as exc:
            raise ValueError(str(exc)) from None
    n_prints = sim.run_exec(events, sig, r.st, r.port, r.par, r.ledger, r.counts, end_ns,
                            *(book if book is not None else ()))
    elapsed = time.perf_counter() - t0
    n_trades = int(r.port[0]["n_trades"])
    open_at_end, working_at_end = at_end(r.st)
    return BacktestResult(
        params=params, registry=registry, ledger=r.ledger[:n_trades].copy(), counts=r.counts,
        equity0=float(equity), equity=float(r.port[0]["equity"]), start_ns=start_ns, end_ns=end_ns,
        records=np.zeros(0, dtype=CASCADE_DTYPE), n_prints=int(n_prints), sim_seconds=elapsed,
        open_at_end=open_at_end, working_at_end=working_at_end,
        note=M.data_note(events), events=events, dropped=dropped, strategy=type(obj).name, signals=sig,
        strategy_obj=obj, fill_fallback=fallback,
        latency={"order": order_latency_note(params, sig), "feed": feed_latency_note(events, params.feed_latency_ns,
                                                                                     params.feed_latency_mode)},
    )


def run_strategy(events: np.ndarray, registry: SymbolRegistry | None, params: Params, strategy=None, *,
                 equity: float = 1.0, records: np.ndarray | None = None, detector=None, rules: dict | None = None,
                 refuse: dict | None = None, depth_start=None) -> BacktestResult:
    """One strategy on prepared events (ts_recv order): inputs check, detection when the strategy
    uses it (unless ``records`` are given), signals, execution model.  ``rules``: symbol -> trading rules
    (:func:`simulate_signals`); ``refuse``: symbol id -> reason (:func:`liqcore.backtest.rules.refusals`):
    that symbol's signals are not sent, the decisions among them counted by reason in ``res.refused``.
    ``depth_start``: the depth books before the span (:func:`liqcore.backtest.depth_start.span_books`), put
    back before its first row."""
    obj, params = resolve_strategy(strategy, params)
    if len(events):  # an empty input (allowed by the caller) has nothing to check
        type(obj).check_inputs(input_kinds(events), params)
    det_counts: dict = {}
    if type(obj).uses_detector and records is None:
        records, det_counts = detect(events, params, detector)
    sig = obj.signals(events, params, registry if registry is not None else SymbolRegistry(), records)
    refused: dict = {}
    if refuse:
        sig, refused = _refuse_signals(sig, refuse)
    res = simulate_signals(events, sig, registry, params, equity, strategy=obj, rules=rules, depth_start=depth_start)
    res.refused = refused
    score = getattr(obj, "binary_evaluation", None)
    if score is not None:  # a strategy that predicts a binary outcome is scored as one as well
        res.binary = score(sig, events)
    if records is not None and type(obj).uses_detector:
        res.records = _confirmed(records)
    res.detector_counts = det_counts
    return res


def _refuse_signals(sig: np.ndarray, refuse: dict) -> tuple[np.ndarray, dict]:
    """``(signals kept, {reason: decisions refused})``: the signals of the symbols in ``refuse`` (symbol id ->
    reason) dropped; each of them but an exit notice counts as a refused decision, as live."""
    from liqcore.backtest.rules import refuse_records
    from liqcore.signals import SKIP_EXIT

    return refuse_records(sig, refuse, counted=~((sig["direction"] == 0) & (sig["skip_code"] == SKIP_EXIT)))


def backtest(source, params: Params | None = None, *, strategy=None, equity: float = 1.0,
             registry: SymbolRegistry | None = None, records: np.ndarray | None = None,
             detector=None, chunk_days: float | None = None, read: str = "auto", traded=None,
             rules: dict | None = None) -> BacktestResult:
    """Run a strategy (default ``params.strategy``, i.e. ``cascade-mm``) through the execution model.

    ``source``: a synthetic Market, a :class:`liqcore.io.LoadResult`, an EVENT_DTYPE array (with
    ``registry``), or recording paths.  ``params``: a :class:`~liqcore.Params`, a mapping of parameter names
    (``{"offset": "0.2%"}``) or None (the defaults).  ``strategy``: a registered name, a
    :class:`liqcore.strategies.Strategy` subclass or instance (a user's own strategy).  ``equity``: the starting
    equity in the account's currency (USDT on USDT-margined contracts, USD on coin-margined ones; default 1.0:
    P&L read as fractions of it; ``liqcore backtest``'s
    ``--equity`` defaults to 10,000).  ``records``:
    the detector's records on these events (detection runs once otherwise, for strategies that use
    it).  ``detector``: an object with ``run(events, flush)`` (default: the compiled
    CascadeDetector built from ``params``).  ``chunk_days``: a partitioned dataset (``source`` its path)
    is read and replayed in time chunks of this many days (default: about a million rows of its densest
    day, :func:`liqcore.backtest.chunked.default_chunk_days`; 0: whole), so memory holds one chunk; the result
    is the same (:mod:`liqcore.backtest.chunked`; the span is loaded whole where chunks would differ).
    ``read``: on a dataset, ``"auto"`` (default; ``"windows"`` is the same) reads only what the strategy
    declares it needs -- a window-local strategy such as ``cascade-mm``: the liquidations, the trade
    rows that time the detector's clock at each, then trades (and the book, under the queue fill rule)
    in its signals' windows (:mod:`liqcore.backtest.windows`), with the full replay's trades and
    records -- and replays every event where that cannot be proven from the dataset's statistics or
    the run needs the whole span (a strategy that reads everything) or ``chunk_days`` is given (the
    full replay's chunks); ``"all"`` always replays every event.  ``traded`` (symbols) and ``rules`` (symbol
    -> :class:`liqcore.venues.instruments.Instrument`): a live session's replay -- a symbol not traded or
    without rules sends nothing (``res.refused``), the others trade on their rules (the span is loaded whole).
    """
    params = params or Params()
    obj, params = resolve_strategy(strategy, params)  # bad names / parameters: before any work
    if read not in ("auto", "windows", "all"):
        raise ValueError(f"read: must be auto, windows or all; got {read!r}")
    if records is None and detector is None and registry is None and traded is None and rules is None:
        res = _dataset_chunked(source, params, obj, equity, chunk_days, read)
        if res is not None:
            return res
    events, registry = _resolve_source(source, registry, params)
    n_future = 0
    if records is None and isinstance(events, np.ndarray) and events.dtype == EVENT_DTYPE:
        # the live engine's clock guard (given records index the events as they are)
        from liqcore.venues.common import drop_future

        events, n_future = drop_future(events, params.max_clock_skew_ns)
    events = prepare_events(events)
    refuse = None
    if traded is not None or rules is not None:
        from liqcore.backtest.rules import session_refusals

        refuse = session_refusals(registry, traded, rules)
    res = run_strategy(events, registry, params, obj, equity=equity, records=records, detector=detector,
                       rules=rules, refuse=refuse)
    if n_future:
        res.dropped["future_time"] = n_future
    return res


def _dataset_chunked(source, params, obj, equity, chunk_days, read="all"):
    """:func:`backtest` of a dataset path read in chunks, or None (not one dataset, no chunks asked,
    or chunks would not give the whole load's result)."""
    from liqcore.backtest.chunked import default_chunk_days
    from liqcore.backtest.stream import NotStreamable

    path = source[0] if isinstance(source, (list, tuple)) and len(source) == 1 else source
    if not isinstance(path, (str, Path)):
        return None
    if chunk_days is not None and not float(chunk_days):
        return None
    from liqcore.dataset import check_selection, is_dataset

    if not is_dataset(path):
        return None
    check_selection(path)  # an empty dataset: the whole read's error
    if read == "windows" or (read == "auto" and chunk_days is None):  # chunk_days asks for the full replay
        try:
            res = backtest_windows(path, params, obj, equity=equity)
        except NotStreamable:
            res = None
        if res is not None:
            if res.n_events:
                type(obj).check_inputs(res.kinds, params)
            return res
    # (the chunk length from every partition's footer: only for the chunked read, not before the window plan)
    days = default_chunk_days(path) if chunk_days is None else float(chunk_days)
    try:
        res = backtest_chunked(path, params, obj, equity=equity, chunk_days=days)
    except NotStreamable:
        return None
    if res.n_events:
        type(obj).check_inputs(res.kinds, params)
    return res


def backtest_chunked(path, params: Params, strategy, *, symbols=None, start_ns: int | None = None,
                     end_ns: int | None = None, equity: float = 1.0, chunk_days: float | None = None,
                     on_chunk=None, **scope) -> BacktestResult:
    """The backtest of the dataset at ``path`` (``symbols``, event and receive times in [start_ns,
    end_ns)) with ``strategy`` (an instance), read and replayed in time chunks of ``chunk_days``
    (:func:`liqcore.backtest.chunked.replay_chunked`): the whole load's result, without its events
    (``events`` is None; ``n_events`` counts them, ``kinds`` names their kinds).  ``scope``:
    ``scope="instrument"``, ``trade_venue``, ``table`` (:func:`~liqcore.backtest.chunked.replay_chunked`).
    :class:`liqcore.backtest.stream.NotStreamable` when chunks would not reproduce the whole load."""
    from liqcore.backtest.chunked import default_chunk_days, replay_chunked

    if chunk_days is None:
        chunk_days = default_chunk_days(path, symbols, start_ns, end_ns)
    f = replay_chunked(path, params, strategy, symbols=symbols, start_ns=start_ns, end_ns=end_ns, equity=equity,
                       chunk_days=chunk_days, on_chunk=on_chunk, **scope)
    extra = {k: f.pop(k) for k in ("detector_counts", "n_events", "kinds")}
    res = BacktestResult(**f)
    res.detector_counts = extra["detector_counts"]
    res.n_events, res.kinds = extra["n_events"], extra["kinds"]
    return res


def backtest_windows(path, params: Params, strategy, *, symbols=None, start_ns: int | None = None,
                     end_ns: int | None = None, equity: float = 1.0) -> BacktestResult:
    """The backtest of the dataset at ``path`` reading liquidations first, then trades only inside the
    signals' windows (:func:`liqcore.backtest.windows.replay_windows`); ``res.read`` says so with
    the rows read.  :class:`liqcore.backtest.stream.NotStreamable` when the strategy needs everything."""
    from liqcore.backtest.windows import replay_windows

    f = replay_windows(path, params, strategy, symbols=symbols, start_ns=start_ns, end_ns=end_ns, equity=equity)
    extra = {k: f.pop(k) for k in ("detector_counts", "n_events", "kinds", "rows_read", "rows_total", "rows_clock",
                                   "clock_rows", "rows_skipped", "clock_indexed", "depth_read", "windows_unread")}
    res = BacktestResult(**f)
    res.detector_counts = extra["detector_counts"]
    res.n_events, res.kinds = extra["n_events"], extra["kinds"]
    res.read = {"path": "windows", "rows_read": extra["rows_read"], "rows_total": extra["rows_total"],
                "rows_clock": extra["rows_clock"], "clock_rows": extra["clock_rows"],
                "rows_skipped": extra["rows_skipped"], "clock_indexed": extra["clock_indexed"],
                "windows_unread": extra["windows_unread"], "depth": extra["depth_read"]}
    return res


_DETECTOR_FIELDS = {"quantile", "history", "min_history", "refresh_ns", "window_ns", "min_large"}


def _sweep_one(values, names, events, records, registry, params, equity):
    """One sweep combination (module level so dask can ship it to workers)."""
    p = Params.from_mapping(dict(zip(names, values)), base=params)
    if p.strategy == "cascade-mm":
        s = simulate(events, records, registry, p, equity).summary()
    else:
        s = run_strategy(events, registry, p, p.strategy, equity=equity, records=records).summary()
    s.pop("data_note", None)
    s.pop("skips", None)
    return {**dict(zip(names, values)), **{_count_column(k): v for k, v in s.items()}}


def _count_column(key: str) -> str:
    """The sweep-table column of summary key ``key``: a count whose name could be read as a parameter
    (``take_profit``, ``stop_loss``, ``hours``...) gets an ``n_`` prefix (``n_take_profit``), and so does
    the third exit count, ``timeout``, as in the sweep command's table."""
    from liqcore.backtest.metrics import COUNT_NAMES
    from liqcore.config import is_parameter_name

    return f"n_{key}" if key == "timeout" or (key in COUNT_NAMES and is_parameter_name(key)) else key


def sweep(source, grid: dict[str, list], params: Params | None = None, *, equity: float = 1.0,
          registry: SymbolRegistry | None = None, progress: bool = True, detector=None, workers: int = 1,
          client=None):
    """Backtest every combination of ``grid`` (parameter name -> values; names as in the CLI/TOML:
    ``offset``, ``take-profit``, ``fill``...) on the SAME cascade records: detection runs once, so only
    strategy / execution / risk parameters may vary.  Returns a :class:`~liqcore.backtest.results.SweepResult`
    (a pandas DataFrame with the best cells in its displays and ``.plot(x=, y=)``; a list of dicts when
    pandas is missing), one row per combination with the parameters and the overall summary.
    Each combination is one simulator pass; ``workers > 1`` runs them on a thread pool (the
    simulator loop releases the GIL); ``client`` (a ``dask.distributed.Client``) runs them on a dask
    cluster instead: events and records are scattered to the workers once, then one task per
    combination.  A progress bar shows when ``progress`` (one updating text line in a notebook)."""
    params = params or Params()
    if not grid:
        raise ValueError("grid: give at least one parameter with a list of values")
    if not hasattr(grid, "items"):
        raise ValueError(f"grid: expected a mapping of parameter name -> values; got {type(grid).__name__}")
    # (one value, a string or a number, is a list of one: never a string's letters)
    grid = {k: [v] if isinstance(v, (str, bytes, int, float)) or not hasattr(v, "__iter__") else list(v)
            for k, v in grid.items()}
    names = list(grid)
    for name in names:
        probe = Params.from_mapping({name: grid[name][0]}) if grid[name] else None
        if probe is None:
            raise ValueError(f"grid: {name!r} has no values")
        changed = {f for f in probe.explicit}
        if changed & _DETECTOR_FIELDS:
            raise ValueError(f"grid: {name!r} is a detector parameter; sweeps reuse one detection")
    if "strategy" in names:
        raise ValueError("grid: 'strategy' cannot vary in a sweep; sweep each strategy on its own")
    strat, params = resolve_strategy(None, params)
    for name in names:  # a strategy parameter of another strategy: an error before any work
        type(strat).check(Params.from_mapping({name: grid[name][0]}, base=params))
    events, registry = _resolve_source(source, registry, params)
    events = prepare_events(events)
    if len(events):
        type(strat).check_inputs(input_kinds(events), params)
    records = detect(events, params, detector)[0] if type(strat).uses_detector else None
    from liqcore.params import MAX_GRID_CELLS as MAX_CELLS

    total = 1
    for n in names:
        total *= len(grid[n])
    if total > MAX_CELLS:
        raise ValueError(f"grid: {total:,} cells is more than {MAX_CELLS:,}; sweep a part of it at a time")
    combos = list(itertools.product(*(grid[n] for n in names)))

    if int(workers) < 1:
        raise ValueError(f"workers: must be >= 1; got {workers!r}")
    rows: list = [None] * len(combos)
    from contextlib import nullcontext

    if progress:  # a rich bar in a terminal, one updating line in a notebook
        from liqcore.progress import progress_bar

        ctx = progress_bar("sweep", len(combos))
    else:
        ctx = nullcontext()
    with ctx as bar:
        if client is not None:
            from distributed import as_completed as dask_completed

            ev_f, rec_f, reg_f = client.scatter([events, records, registry], broadcast=True)
            futures = [client.submit(_sweep_one, c, names, ev_f, rec_f, reg_f, params, equity, pure=False)
                       for c in combos]
            index = {f.key: i for i, f in enumerate(futures)}
            for fut, row in dask_completed(futures, with_results=True):
                rows[index[fut.key]] = row
                if bar is not None:
                    bar.advance()
        else:
            from concurrent.futures import ThreadPoolExecutor, as_completed

            with ThreadPoolExecutor(max_workers=int(workers)) as pool:
                futs = {pool.submit(_sweep_one, c, names, events, records, registry, params, equity): i
                        for i, c in enumerate(combos)}
                for fut in as_completed(futs):
                    rows[futs[fut]] = fut.result()
                    if bar is not None:
                        bar.advance()
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        return rows
    from liqcore.backtest.results import SweepResult

    return SweepResult.of(pd.DataFrame(rows), names)
