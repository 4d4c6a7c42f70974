"""OKX contract sizes: instId -> ``ctVal`` (base units per contract) for USDT-margined swaps.

OKX ``liquidation-orders`` report ``sz`` in CONTRACTS; base quantity = ``sz x ctVal``.  The shipped
table covers the major USDT swaps (values of OKX ``GET /api/v5/public/instruments?instType=SWAP``).
Anything else must come from the caller (``instruments=`` of the Decoder/loader, e.g. a table
fetched from that endpoint and parsed with :func:`parse_okx_instruments`); an unknown instId is a
counted ``unknown_instrument`` reject, never a guess.
"""
from __future__ import annotations

import math
from typing import Mapping

__all__ = ["OKX_CT_VAL", "default_instruments", "parse_okx_instruments", "load_instruments"]

#: ctVal of OKX linear USDT swaps (base currency per contract)
OKX_CT_VAL: Mapping[str, float] = {
    "BTC-USDT-SWAP": 0.01,
    "ETH-USDT-SWAP": 0.1,
    "SOL-USDT-SWAP": 1.0,
    "XRP-USDT-SWAP": 100.0,
    "DOGE-USDT-SWAP": 1000.0,
    "ADA-USDT-SWAP": 100.0,
    "LTC-USDT-SWAP": 1.0,
    "BCH-USDT-SWAP": 0.1,
    "LINK-USDT-SWAP": 1.0,
    "DOT-USDT-SWAP": 1.0,
    "AVAX-USDT-SWAP": 1.0,
    "TRX-USDT-SWAP": 1000.0,
    "ETC-USDT-SWAP": 10.0,
    "PEPE-USDT-SWAP": 10_000_000.0,
    "SHIB-USDT-SWAP": 1_000_000.0,
}


def default_instruments() -> dict[str, float]:
    """A fresh copy of the shipped instId -> ctVal table."""
    return dict(OKX_CT_VAL)


def _check(inst: str, v) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"instruments: ctVal of {inst!r} is not a number: {v!r}") from None
    if not math.isfinite(x) or x <= 0:
        raise ValueError(f"instruments: ctVal of {inst!r} must be finite and > 0, got {v!r}")
    return x


def parse_okx_instruments(payload) -> dict[str, float]:
    """instId -> ctVal from an OKX ``/api/v5/public/instruments`` response (dict, bytes or str)."""
    import orjson

    if isinstance(payload, (bytes, bytearray, memoryview, str)):
        payload = orjson.loads(payload)
    data = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(data, list):
        raise ValueError("instruments: expected an OKX response with a 'data' array")
    out = {}
    for row in data:
        if isinstance(row, dict) and row.get("instId") and row.get("ctVal") not in (None, ""):
            out[str(row["instId"])] = _check(row["instId"], row["ctVal"])
    return out


def load_instruments(mapping_or_path=None) -> dict[str, float]:
    """Shipped defaults updated with a mapping or a JSON file (plain ``{instId: ctVal}`` or an OKX
    instruments response)."""
    table = default_instruments()
    if mapping_or_path is None:
        return table
    if isinstance(mapping_or_path, Mapping):
        table.update({str(k): _check(k, v) for k, v in mapping_or_path.items()})
        return table
    from pathlib import Path

    raw = Path(mapping_or_path).read_bytes()
    import orjson

    obj = orjson.loads(raw)
    if isinstance(obj, dict) and "data" in obj:
        table.update(parse_okx_instruments(obj))
    elif isinstance(obj, dict):
        table.update({str(k): _check(k, v) for k, v in obj.items()})
    else:
        raise ValueError(f"instruments: {mapping_or_path}: expected a JSON object")
    return table
