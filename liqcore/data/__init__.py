"""Sample data bundled with liqcore (synthetic, small, installed with the package).

* :data:`SAMPLE_RECORDING` (``sample-bybit.jsonl.zst``, ~120 KB): 4 h 42 min of Bybit v5 public
  frames for ETHUSDT (``allLiquidation``, ``publicTrade``, ``tickers``) from the synthetic market,
  in the recorder's line format (``{"recv_ns": ..., "venue": "bybit", "frame": {...}}``, zstd), as
  ``liqcore record`` writes them: 180 liquidations, 4,542 trades, two cascades under the default
  parameters.  It is readable by every command and by :func:`liqcore.load_events`, and
  replayable with ``liqcore run --replay``.
* :data:`SAMPLE_LIQUIDATIONS` (``sample_liquidations.csv``): 12 hours of liquidations with injected
  cascades, in the contract CSV layout (``liqcore detect --sample``): BTC on Bybit, Binance and OKX
  (its cascades hit the three venues within a second: ``--scope instrument`` joins them), ETH on
  Binance and SOL on OKX.

``python -m liqcore.data DIR`` copies the recording into DIR (created when missing), as a first
recording to try the commands on, and prints its path.
"""
from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["DATA_DIR", "SAMPLE_RECORDING", "SAMPLE_VENUE", "SAMPLE_LIQUIDATIONS", "sample_recording", "copy_sample"]

DATA_DIR = Path(__file__).resolve().parent
#: the bundled recording, ``sample-<venue>.jsonl.zst`` (its venue in its name: :data:`SAMPLE_VENUE`)
SAMPLE_RECORDING = next(DATA_DIR.glob("sample-*.jsonl.zst"))
SAMPLE_VENUE = SAMPLE_RECORDING.name[len("sample-"):-len(".jsonl.zst")]
SAMPLE_LIQUIDATIONS = DATA_DIR / "sample_liquidations.csv"


def sample_recording() -> Path:
    """Path of the bundled recording of :data:`SAMPLE_VENUE`'s frames (recorder line format, zstd)."""
    return SAMPLE_RECORDING


def copy_sample(dest) -> Path:
    """Copy the bundled recording into directory ``dest`` (created when missing); its new path."""
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise ValueError(f"dest: {dest} exists and is not a directory")
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / SAMPLE_RECORDING.name
    shutil.copyfile(SAMPLE_RECORDING, target)
    return target
