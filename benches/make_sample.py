"""Generate liqcore/data/sample_liquidations.csv: the small synthetic sample `liqcore detect --sample`
runs on.

Deterministic (fixed seed): ~12 hours of background liquidations (Poisson arrivals, log-normal
notionals) and a handful of injected cascades (bursts of large liquidations of one dominant side
inside a minute, with the price moving through them) on five series: BTC on Bybit, Binance and OKX
(one instrument on three venues: its cascades hit the three venues together, Bybit first, Binance
0.3 s and OKX 0.8 s later, so ``liqcore detect --sample --scope instrument`` shows cascades spanning
venues), ETH on Binance and SOL on OKX.  Written in
the contract CSV layout ``ts_event_ns,venue,symbol,side,price,qty`` (side = liquidated position).

    python benches/make_sample.py            # rewrite the bundled file
    python benches/make_sample.py -o out.csv
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

SEED = 20240817
T0_NS = 1_723_852_800_000_000_000  # 2024-08-17 00:00:00 UTC
HOURS = 12
S = 1_000_000_000

#: venue, symbol, start price, median background notional (USD), cascades (hour, dominant side, n).
#: The BTC series on Binance and OKX come last so the first three draw the same random numbers as
#: before they were added; their cascades follow Bybit's by a lag (seconds) on the same hours.
BTC_CASCADE_HOURS = ((2.5, "long"), (7.2, "short"), (10.4, "long"))


def _follow(lag_s: float, sizes: tuple[int, ...]):
    return tuple((h + lag_s / 3600.0, side, n) for (h, side), n in zip(BTC_CASCADE_HOURS, sizes))


SYMBOLS = (
    ("bybit", "BTCUSDT", 59_000.0, 8_000.0, _follow(0.0, (14, 9, 6))),
    ("binance", "ETHUSDT", 2_600.0, 4_000.0, ((4.1, "long", 11), (9.3, "short", 16))),
    ("okx", "SOL-USDT-SWAP", 145.0, 1_500.0, ((5.6, "short", 8), (11.0, "long", 12))),
    ("binance", "BTCUSDT", 59_010.0, 10_000.0, _follow(0.3, (10, 7, 5))),
    ("okx", "BTC-USDT-SWAP", 58_990.0, 5_000.0, _follow(0.8, (6, 5, 4))),
)
BACKGROUND_MEAN_GAP_S = 50.0


def generate(seed: int = SEED) -> list[tuple[int, str, str, str, float, float]]:
    rng = np.random.default_rng(seed)
    rows = []
    for venue, symbol, price0, median, cascades in SYMBOLS:
        # background: Poisson arrivals, notionals log-normal around the median, either side
        n = int(HOURS * 3600 / BACKGROUND_MEAN_GAP_S * 1.2)
        gaps = rng.exponential(BACKGROUND_MEAN_GAP_S, n)
        times = np.cumsum(gaps)
        times = times[times < HOURS * 3600]
        walk = np.exp(np.cumsum(rng.normal(0.0, 0.0008, len(times))))
        for t, w in zip(times, walk):
            notional = float(rng.lognormal(np.log(median), 0.8))
            side = "long" if rng.random() < 0.5 else "short"
            price = round(price0 * w, 2)
            rows.append((T0_NS + int(t * S), venue, symbol, side, price, notional / price))
        # cascades: n liquidations within ~40 s, 15-60x the median, 85 % on the dominant side,
        # the price stepping 0.1 % per liquidation in the direction the flushed positions push it
        for hour, dominant, k in cascades:
            t = hour * 3600.0
            price = round(price0 * float(walk[min(int(np.searchsorted(times, t)), len(walk) - 1)]), 2)
            step = -0.001 if dominant == "long" else 0.001
            for _ in range(k):
                t += float(rng.uniform(0.5, 5.0))
                price = round(price * (1 + step), 2)
                side = dominant if rng.random() < 0.85 else ("short" if dominant == "long" else "long")
                notional = float(median * rng.uniform(15.0, 60.0))
                rows.append((T0_NS + int(t * S), venue, symbol, side, price, notional / price))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return rows


def write(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["ts_event_ns", "venue", "symbol", "side", "price", "qty"])
        for ts, venue, symbol, side, price, qty in rows:
            w.writerow([ts, venue, symbol, side, f"{price:.2f}", f"{qty:.6g}"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = Path(__file__).resolve().parents[1] / "liqcore" / "data" / "sample_liquidations.csv"
    ap.add_argument("-o", "--output", type=Path, default=default)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    rows = generate(args.seed)
    write(args.output, rows)
    print(f"wrote {len(rows)} rows to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
