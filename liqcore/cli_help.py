"""The description ``liqcore <command> --help`` shows above the arguments, one per command whose module
docstring is for developers (what the module is for, what it may import); read by ``liqcore.cli`` only.

May import: nothing.  A command's new help text goes here, keyed by the command's name."""

DESCRIPTIONS = {
    "detect": r"""Detect liquidation cascades in recorded events.

    liqcore detect PATH... [--format F] [--venue V] [--symbol S] [--json] [--scope venue|instrument]
                   [--instrument-table TOML] [detector parameters]
    liqcore detect PATH... --symbols all [--exclude A,B] [--quote USDT] [--min-volume QUOTE] [--instrument-list FILE]
    liqcore detect --sample

Loads the recordings (any format liqcore.io reads, detected per file), runs the cascade detector
over them in event-time order (every cascade still active at the end of the input is ended there),
and prints one row per cascade: venue, symbol, start, confirm and end (UTC), duration, dominant
side, liquidations, large ones, long/short notional and the threshold in force at confirmation,
then the counts (events, liquidations, skipped by reason, loader rejects, cascades).

--json prints one JSON object per line per cascade instead, with exactly the keys venue, symbol,
start_ns, confirm_ns, end_ns, dominant, n_events, n_large, long_notional, short_notional, threshold;
the counts then go to stderr.  ``--scope instrument`` counts large liquidations (each large against its
own venue's rolling threshold) across the venues of one instrument (Bybit BTCUSDT, Binance BTCUSDT and
OKX BTC-USDT-SWAP are BTC-USDT; ``--instrument-table`` overrides): a row per cross-venue cascade with
the venue that fired first and each venue's share (JSON: the keys above plus instrument, first_venue
and shares).  --sample runs on the small synthetic sample bundled with liqcore
(alone: given with PATH it is an error, never mixed into the recordings).

``--symbols all`` detects every symbol of the input (a whole-market recording) less the ``--exclude`` ones, those
not quoted in ``--quote`` (default USDT) and those whose 24 h turnover is below ``--min-volume`` (quote units):
the quote and the turnover come from the instrument list (``--instrument-list FILE``, else the list ``liqcore run`` /
``record --symbols all`` cached; nothing is fetched); without one, ``--quote`` goes by the symbol's name (said in
a note) and ``--min-volume`` is an error.

An input without a single liquidation (a trades file, top of book only) is an error saying what it
holds (exit 1): no cascade can be found in it, and an empty table would read as "none happened".
``--allow-empty`` accepts it (a note, no cascades, exit 0), as it accepts an input without events.
""",
    "events": r"""Print normalised events from recordings, or a summary per venue/symbol/kind.

    liqcore events PATH... [--format F] [--json] [--kind liquidation,trade] [--symbol X] [--limit N]

Without --json: a table per (venue, symbol, kind) with count, first/last event time (UTC) and the
notional sum (price x qty, liquidations and trades), a top-of-book table per symbol with quotes
(updates, median spread in price units and in basis points of the mid, crossed updates, empty-side
rows), then the rejects by reason, then the load report
per file (rows read, events kept, rows re-ordered, rows rejected by reason, time span, venues /
symbols / kinds found).  With --json: one JSON object per event line (venue, symbol, kind, side, price,
qty, notional, ts_event_ns, ts_recv_ns, and trade_id for a trade with the venue's id) on stdout, and
the load report as one line ``load report: {"files": {...}, "skipped": {...}, "duplicates": N}`` on stderr.
Homemade CSV / Parquet files: --columns ts=T,symbol=s,side=S,price=p,qty=q --ts-unit ms --kind
liquidation --side-means order --venue binance (see docs/data.md).
Formats (detected per file when --format is not given, and line by line in files of JSON or log
lines; .gz/.zst read transparently):
  raw                 one websocket message per line (Bybit, Binance, OKX, Gate; the venue told by shape)
  recorder            {"recv_ns": ..., "venue": ..., "frame": ...} lines, as `liqcore record` writes
  bybit-archive       Bybit liquidation archive lines {"ts", "exchange": "bybit", "stream", "result"}
  binance-log         Binance log lines "2026-03-10 13:10:19 Liquidation: {forceOrder object}"
  jsonl               any mix of the four above, told line by line
  binance-csv         headerless Binance liquidation CSV (s,S,o,f,q,p,ap,X,l,z,T,usd_size[,tier])
  binance-trades-csv  headerless Binance aggTrades CSV (E,symbol,a,p,q,T,m[,usd_size,tier])
  contract-csv        ts_event_ns,venue,symbol,side,price,qty[,kind][,ts_recv_ns][,flags] with header
  parquet             the same columns (what `liqcore convert` writes)
  columns             any CSV or Parquet through --columns (homemade files)
""",
    "backtest": r"""Backtest a strategy (default: the cascade market-maker, ``cascade-mm``) on recordings (any format
``liqcore.load_events`` reads) or on a synthetic market.  The strategy turns the events (and, for
strategies that use it, the cascade detector's records) into signals; the execution model replays
trades and signals into orders, fills and trades.

Examples:
  liqcore backtest data/binance.csv data/binance_trades.csv --out results/
  liqcore backtest --synthetic --days 7 --symbols ETHUSDT,SOLUSDT --seed 3 --report report/
  liqcore backtest --synthetic --days 3 --offset 0.2% --fill touch --json
  liqcore backtest --synthetic --strategy cascade-mm --trail 0.3% --slippage-bps 1
  liqcore backtest DS --scope instrument --trade-venue binance --workers 0   # a dataset of several venues
  liqcore backtest rec/ --symbols all --instruments universe-binance-usdt.json --exclude BTCUSDT   # a whole market

``--symbols all`` backtests a whole-market recording or dataset (``liqcore record --symbols all``): every symbol's
detector runs; the symbols traded are those of the instrument list (``--instruments FILE``; else the list an OKX
recording keeps beside it, ``instruments-okx.json``; else the venue's list cached by ``liqcore run``/``record
--symbols all``, or with ``--rest-url`` the one cached from that URL) less ``--exclude``, ``--quote`` and
``--min-volume``, each on its trading rules (entry, take-profit and stop-loss on its tick, quantity on its lot, its
minimum quantity and notional checked), as the live runner trades them; a cascade on any other symbol is counted
by why it is not traded (``no_instrument``, ``not_traded``, ``no_market_data``: no trade in the data), never filled.
""",
    "sweep": r"""Sweep parameters: every combination of the grid (detector, strategy, execution and risk parameters)
x partitions (one per symbol by default) x date ranges, on a local process pool or a dask cluster.
Detection runs once per detector configuration and partition; every execution variant reuses its
records.  With --out FILE.parquet the run is resumable: every finished task is stored at once in
FILE.parquet.parts/, and a rerun (after a crash or Ctrl-C) skips the cells already done.

Examples:
  liqcore sweep --synthetic --days 30 --grid offset=0.1%,0.15%,0.2%,0.3% --grid take-profit=0.1%,0.15%,0.3%
  liqcore sweep --synthetic --grid grid.toml --samples 200 --sample-seed 1 --out sweep.parquet --plot heat.png
  liqcore sweep data/ds --symbols BTCUSDT,ETHUSDT --start 2026-01-01 --end 2026-02-01 --grid quantile=0.9,0.95,0.99
  liqcore sweep --synthetic --grid stop-loss=0.25%,0.5%,1% --dask local --workers 2
  liqcore sweep --synthetic --grid offset=0.1%,0.2% --scheduler tcp://scheduler:8786 --dask-timeout 5s
  liqcore sweep s3://bucket/ds --grid offset=0.1%,0.2% --scheduler tcp://scheduler:8786 --out s3://bucket/sweep.parquet

A grid file (TOML):
  [grid]
  quantile = [0.9, 0.95, 0.99]
  window = ["30s", "60s"]
  offset = ["0.1%", "0.15%", "0.2%"]
  [sweep]            # optional
  samples = 50       # random search
  seed = 1
  symbols = ["BTCUSDT", "ETHUSDT"]
  ranges = ["2026-01-05:2026-01-20", "2026-01-20:2026-02-04"]
""",
    "compare": r"""Compare strategies on the same inputs: one table of every strategy (default: all eight), in sample
and out of sample, on recordings or on synthetic markets.

Each strategy runs once over the whole input with its own parameters at their defaults (the shared
execution and risk parameters, e.g. fees and slippage, as given); its trades are split by decision
time into walk-forward folds: the span is cut into --folds + 1 equal blocks, fold k trains on block
k and tests on block k + 1.  Nothing is fitted here, so "in" = the trades of the first train
window (block 0) and "out" = the test windows' trades concatenated (blocks 1 .. N); "all" = every
trade.  Columns: trades, win rate (net return > 0), mean return per trade gross (before fees and
funding) and net (after) with a Student-t confidence interval of the mean (--ci), the Sharpe ratio
of daily returns (x sqrt(365)) and the maximum drawdown.

--synthetic runs the default synthetic market and the null market (the same generator with every
effect of liquidations on later prices switched off; --market picks one).  On the null market no
strategy should show a gross edge whose interval lies above zero: such an edge would be a bug or
a leak, and the command says so.  The feature rule flush-reversal-rule is also scored as a binary
prediction ("up by the end of the hour"): hits, hit rate, one-sided binomial p-value against the
50/50 prior, Wilson interval.  A strategy whose inputs are not in the data (flush-reversal-rule
needs funding events) shows "n/a — needs funding" and the others still run.

Examples:
  liqcore compare --synthetic --days 2
  liqcore compare --synthetic --strategies cascade-mm,cascade-fade,liq-trend --folds 5 --plot compare.png
  liqcore compare recordings/ --strategies cascade-mm,zone-bounce --json
  liqcore compare --synthetic --market null --out null.csv
  liqcore compare recordings/ --strategies cascade-mm --trade-venue binance   # venue vs instrument scope
  liqcore compare --synthetic --venues bybit,binance --days 4 --strategies cascade-mm --trade-venue binance
""",
    "record": r"""Record raw websocket frames with their receive times (zstd, hourly files per venue).

    liqcore record --venue bybit --symbols ETHUSDT,SOLUSDT --out DIR [--dataset DS] [--ws-url URL]
                   [--duration S] [--no-book] [--ping-interval 5s] [--stall-timeout 10s]
    liqcore record --venue binance --symbols all [--also BTCUSDT,ETHUSDT] --out DIR
    liqcore record --venue bybit --symbols all [--quote USDT] [--exclude A,B] [--min-volume 5e6] --out DIR

``--symbols all`` records every liquidation of the venue: Binance's all-market ``!forceOrder@arr`` and OKX's
``liquidation-orders`` (SWAP) carry every symbol on one stream; on Bybit the venue's list of linear
perpetuals (its REST API, ``--rest-url`` to override; cached for an hour with the time fetched) gives one
``allLiquidation`` topic per symbol, sharded over as many connections as the venue's limits require, less
``--exclude`` and the symbols whose 24 h turnover is below ``--min-volume`` (quote units).  Trades and the top
of book are recorded for the ``--also`` symbols only.  OKX counts liquidations in contracts: its instrument
list (every swap's ``ctVal``, tick and lot, with the time fetched) is kept in ``--out`` as
``instruments-okx.json`` (merged with one an earlier run left there, and again every
``--instruments-refresh``, default 1 h, so a swap listed while recording is kept too), and every reader of the recording
(``liqcore events``, ``detect``, ``backtest``, ``convert``) sizes the frames with it: base quantity =
contracts x ctVal.

The recorder subscribes to the liquidations and trades of every symbol and, unless ``--no-book``, its
top of book (best bid and ask with their sizes: Binance ``bookTicker``, Bybit ``orderbook.1``, OKX
``bbo-tbt``).  On Bybit it also subscribes to ``tickers`` (mark price, funding rate and open interest).

Each line: ``{"recv_ns":..,"venue":..,"frame":<frame JSON or string>}``; feed losses are recorded
as ``{"recv_ns":..,"venue":..,"gap":{"reason":..}}``; for a stalled socket (nothing received for
``--stall-timeout``) the gap's ``recv_ns`` is the last frame received, where the blind time began.
Read back with ``liqcore events`` / ``liqcore.load_events``.  With ``--dataset DS`` each hourly file
is also converted into the dataset DS as it closes (as ``liqcore convert --dataset`` would), in the
background; a run starts by converting the files of ``--out`` not converted yet, so a recorder that was
stopped or killed catches up.

Exit status 1, with the reason on stderr, when the feed never connected or no frame of market data was
recorded in the run (only subscription acks or pongs): a recorder under cron or systemd must not look healthy
after recording nothing.  A write that fails (a full disk) is said at once, in one log line; the recorder
keeps the files readable up to their last complete block, counts every line it could not write, tries again
every 5 s, and the command exits 1 naming the file, the cause and the count.
""",
    "run": r"""Live runner: websocket feeds, cascade detector, strategy, paper (default) or Bybit gateway.

    liqcore run --venue bybit --symbols ETHUSDT,SOLUSDT,DOGEUSDT            # paper trading on mainnet data
    liqcore run --symbols ETHUSDT --replay recordings/ --speed 10            # offline, against a local fake exchange
    liqcore run --symbols ETHUSDT,SOLUSDT --replay synthetic --live          # the whole live path, offline
    liqcore run --symbols ETHUSDT --live --network testnet                   # real orders (keys: env or 0600 file)
    liqcore run --symbols ETHUSDT --seed-history recordings/                 # thresholds from past liquidations
    liqcore run --venue binance --symbols all --exclude BTCUSDT --min-volume 5e6    # every perpetual of the venue
    liqcore run --venue binance --symbols all --replay rec/ --no-dashboard   # a whole-market recording, offline
    liqcore run --strategy cascade-fade --exits engine --journal s.sqlite --record rec/   # any strategy; the session kept

``--symbols all`` watches every liquidation of the venue (Binance ``!forceOrder@arr``, OKX
``liquidation-orders`` SWAP, Bybit ``allLiquidation.<symbol>`` of every listed perpetual, sharded over
connections); each symbol keeps its own threshold and cascade state.  The venue's instrument list (its REST
API, ``--rest-url`` to override; cached for an hour with the time fetched) gives the traded symbols and each
one's trading rules (tick, lot, minimum quantity and notional): every order is rounded and checked on its
symbol's rules before it leaves, and a cascade on a symbol the list does not hold is refused and counted
(``no_instrument``), never sent.  ``--exclude`` and ``--min-volume`` leave symbols out of trading; trades
(and the top of book) are subscribed for ``--also`` only.

Paper trading a ``--replay`` runs on the recording's receive times: decisions, cooldowns, entry and
hold timeouts follow the replayed clock at any ``--speed``, so the trades are the ones ``liqcore
backtest`` finds on the same recording (a ``--live`` replay too: the fake venue runs in step with the engine,
on the replayed clock, so every rerun sends the same orders).

``--live`` sends real orders through the venue's order gateway (Bybit v5, Binance USD-M, OKX v5 or Gate API v4
USDT futures) and needs its keys, ``<VENUE>_API_KEY``/``<VENUE>_API_SECRET`` (BYBIT_, BINANCE_, OKX_ with
OKX_API_PASSPHRASE, GATE_), in the environment or a key file (``--key-file`` or $LIQCORE_KEY_FILE, mode 0600); keys are never read from the
command line, printed or journaled. ``--replay PATH|synthetic`` starts the fake Bybit exchange on
127.0.0.1 in this process and replays the frames through it (with ``--live``, its test keys are used);
with ``--venue binance`` it replays a Binance recording (what ``liqcore record --venue binance`` writes)
through a fake Binance market stream on 127.0.0.1, on the same path as the live feed.
SIGUSR1 toggles the kill switch (no new entries); so does the file given by ``--kill-switch`` when it
exists. A replay run ends once the whole recording was replayed (or after ``--duration``).
``--web [HOST:]PORT`` serves the web dashboard from this process (read-only, 127.0.0.1 unless a host is
given; another interface needs the token printed at start or ``--web-token-file``; ``--web-control`` adds
the kill-switch and flatten-all buttons); with ``--replay`` the page keeps the final state once the
recording ended, until SIGINT/SIGTERM or ``--duration``.
SIGINT/SIGTERM: resting entries are cancelled, positions keep their TP/SL, the journal is flushed.
Exit status 1, with the reason on stderr, when the market-data feed never connected or received no frame
(a run the user stopped with Ctrl-C before the first market data says "interrupted" and exits 0, as any
interrupted run).
""",
    "features": r"""Named point-in-time features at given times, the list of feature names, or feature bars.

Named features (``family.name@window[:transform]``, see ``--list``) at each time of ``--at``, each
exactly as it was knowable then (events received at or before the time):

  liqcore features --list
  liqcore features --synthetic --days 3 --at 2026-01-06T12:00:00Z,2026-01-06T13:00:00Z       --names liquidations.liq_imbalance@15m:zscore,flow.ofi@5m:zscore,funding.funding_avg@1h --symbols ETHUSDT
  liqcore features recordings/ --at 1767700800000000000 --names price.return@5m --json

Feature bars per (venue, symbol, bar) (``--bar``): liquidations per side, imbalance, rate, taker flow
and order-flow imbalance, prices and returns, funding, detector cascades, and z-scores against the
previous bars.  Every row carries ``available_ns`` = bar close + ``--lag``.

Examples:
  liqcore features --synthetic --days 7 --bar 15m --out features.parquet
  liqcore features recordings/ --bar 1m --zscore-window 96 --lag 5s --out features.csv
  liqcore features data/binance.csv data/binance_trades.csv --symbols BTCUSDT,ETHUSDT --bar 1m
""",
    "study": r"""Research studies.  ``liqcore study [NAME] PATH...|--synthetic``; NAME is one of event (the
default), ic, heatmap, contagion, volatility, oi, microstructure, strategies, distributions, lag, regimes,
lead-lag.

The event study: for every confirmed cascade, the forward return of the last trade price from the
decision time (confirm receive time) to each horizon, signed so that positive = reversion (up after
longs were flushed, down after shorts were), with the max adverse excursion; summarised per symbol
and dominant side (n, mean, median, t-stat, bootstrap CI, share of reversions).  The other studies
print their tables and findings; ``--json`` prints them as JSON, ``--plot PNG`` writes the figures.

A study whose inputs are missing (no trades, no open interest, a single symbol) prints "not
available because ..." and exits with status 1.

Examples:
  liqcore study --synthetic --days 30 --plot study.png
  liqcore study contagion --synthetic --preset contagion --days 5 --plot lead_lag.png
  liqcore study oi recordings/bybit/ --json
  liqcore study lead-lag --synthetic --days 6 --venues bybit,binance --lead bybit=150 --plot lead_lag.png
  liqcore study data/binance.csv data/binance_trades.csv --min-history 20 --refresh 0 --horizons 10s,1m,5m
""",
    "cache": r"""Show or clear liqcore's cache of regenerable data (the synthetic markets built by ``demo``,
``backtest --synthetic``, ``sweep --synthetic`` and ``run --replay synthetic``).

    liqcore cache             # same as: liqcore cache info
    liqcore cache info        # where the cache is, how many files, how large, its size cap
    liqcore cache clear       # delete them (they are rebuilt on demand)
    liqcore cache trim        # delete the least recently used until the cache fits its cap
    liqcore cache export-judge answers.jsonl   # the judge's cached answers as a replay file

The cache is capped (default 1 GB; ``$LIQCORE_CACHE_MAX`` or ``--cache-max SIZE`` such as ``500MB``,
``2GB``, ``0``, ``unlimited``): whenever a market is written, the least recently used ones are deleted
until the cache fits, and a market larger than the cap alone is not cached.

The cache directory is ``$LIQCORE_CACHE_DIR`` when set, else the user cache directory
(``$XDG_CACHE_HOME/liqcore`` or ``~/.cache/liqcore`` on Linux, ``~/Library/Caches/liqcore`` on macOS,
``%LOCALAPPDATA%\liqcore\Cache`` on Windows).  Only liqcore's own files are deleted.  A
``.liqcore-cache/`` directory left in the working directory by older versions is reported and cleared too.
""",
    "dataset": r"""Look after a dataset: ``upgrade`` rewrites, in the layout the writer writes now, the partitions an
older release wrote (an older format, or files without their pages' places: the Parquet offset index, with which a
backtest window reads only the pages it decodes instead of each column chunk from its start).

    liqcore dataset upgrade ds/ --dry-run     # how many partitions an upgrade would rewrite, and why
    liqcore dataset upgrade ds/               # rewrite them (a progress bar; --json for one object)

The events stay the same events (a load reads them back equal); each partition is replaced whole and at once and
keeps its checked mark when its old file is the one marked.  The upgrade holds the dataset's writer lock (a convert
into it waits, and it waits for one up to ``--lock-wait``); an interrupted upgrade leaves each partition old or new,
and running it again goes on where it stopped.  DS may be a URL (``s3://bucket/ds``, any fsspec URL).

Every partition file is judged first: one that is no Parquet file of the event contract (cut short, a directory, a
foreign table, a column of another type) stops the upgrade, named, before anything is rewritten.  Partition files the
dataset's list of checked files (``_liqcore_checked.json``) holds that are gone are named (a read of their partitions
stops at them, naming them); ``--dry-run`` only says so, the upgrade forgets them, so reads go on without their rows.

``verify`` reads every byte of a local dataset's partition files and judges each against its checked mark (the size
and SHA-256 of its bytes, of its footer and of each row group, taken when liqcore wrote it):

    liqcore dataset verify ds/                # verified, damaged, changed, unmarked and gone files, named

A damaged file (its size and footer as written, a row group's bytes not: a byte changed on disk) is refused by every
read, naming it; convert its source into the dataset again with ``--force``.  A changed file (rewritten whole by
another tool) and an unmarked one are read the checking way (bad rows counted and dropped).  The exit status is 1
when a file is damaged or gone, else 0.
""",
    "research": r"""Run every research study and write the findings report.

    liqcore research PATH...|--synthetic [--report DIR] [--json]

Studies (twelve): event, ic, heatmap, contagion, volatility, oi, microstructure, strategies, distributions, lag, regimes,
lead-lag.  With ``--report DIR``:
``FINDINGS.md``, ``index.html`` (figures: cascade examples with the price, heatmap, IC by horizon,
lead/lag, volatility scatter, ...), the PNG files and ``findings.json``, with the research plan's
success criteria each marked met (the 95% interval of the measured value clears the threshold), not
met, or n/a with the reason the input cannot measure it.  A study whose inputs are
missing (no trades, no open interest, a single symbol) is reported as not available, with the reason.

Examples:
  liqcore research --synthetic --report report/
  liqcore research --synthetic --preset null --days 10 --report null-report/
  liqcore research recordings/bybit/ --report report/ --studies event,contagion,oi
  liqcore research --synthetic --studies ic --names liquidations.liq_imbalance@15m:zscore,flow.ofi@5m:zscore
""",
    "download": r"""Download the venues' public archives or tardis.dev's datasets, into a dataset or a directory.

    liqcore download binance-vision --symbols BTCUSDT,ETHUSDT --types aggTrades,bookTicker \
        --from 2024-03-01 --to 2024-03-07 --dataset ds/
    liqcore download bybit-archive --symbols BTCUSDT --from 2024-08-01 --to 2024-08-07 --out files/
    liqcore download okx-archive --symbols BTC-USDT-SWAP --from 2024-08-01 --to 2024-08-07 --dataset ds/
    TARDIS_API_KEY=... liqcore download tardis --exchange binance-futures --symbols BTCUSDT \
        --types liquidations,trades,quotes --from 2024-08-01 --to 2024-08-02 --dataset ds/

Sources: binance-vision (USD-M futures: aggTrades, trades, bookTicker, metrics daily; fundingRate
monthly; --monthly takes the monthly files of aggTrades, trades, bookTicker; every zip checked
against its .CHECKSUM), bybit-archive (trades), okx-archive (trades, aggtrades), tardis (--exchange;
liquidations, trades, quotes, book_snapshot_5, book_snapshot_25, derivative_ticker, incremental_book_L2
into a dataset, any data type with --out).  --from and --to are UTC days, both included.

--dataset converts each file as it arrives, with the readers and checks of `liqcore convert`; a
file already converted is skipped without being fetched.  --out keeps the files as downloaded (a
file already there is skipped).  A file the source does not have (HTTP 404) is listed at the end
(--strict: an error).  429 and 5xx answers and cut connections are retried (--retries), after the
server's Retry-After when it sends one.  Ctrl-C or a kill leaves no half file and no half partition:
run the same command again to resume.

The tardis.dev key comes from TARDIS_API_KEY or --key-file (mode 0600: TARDIS_API_KEY=... or the key
alone), never from the command line, and is never printed.
""",
    "venue": r"""A local fake venue on 127.0.0.1 to try ``liqcore run --live`` offline: the venue's order REST API,
private stream and public market streams on one base URL, with a market replayed through it.

    liqcore venue --venue binance --port 8900                 # the synthetic market as Binance frames
    liqcore venue --venue okx --replay rec/ --speed 10        # an OKX recording (liqcore record --venue okx)

Prints the ``liqcore run --venue V ... --live --key-file F --rest-url ... --ws-url ... --private-ws-url ...``
line that trades on it, and writes the fake's test keys to F (a temporary 0600 file removed on exit, or
``--key-file``).  It streams a top of book (Binance ``bookTicker``, Bybit ``orderbook.1``, OKX ``bbo-tbt``) one
tick either side of the last trade, on each change and re-sent while quiet, so ``liqcore preflight`` with the
same URLs and key file passes.  The replay starts over for each trading session: a client that opened the
private stream (the run) and subscribed trades; a client without one (the preflight) gets a replay of its own
and never consumes the run's.  Each replayed trade moves the fake's matching, so resting limits fill and
brackets trigger.  It serves until Ctrl-C ("interrupted", exit 130) or SIGTERM (exit 0).  Details: the how-to
page "Try live trading offline".
""",
}
