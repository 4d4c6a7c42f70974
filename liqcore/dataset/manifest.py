"""The dataset's manifest (``MANIFEST``): what was converted into a dataset, keyed by path or URL, with each
convert's filters; read and written whole (object storage: in one request, after the partitions).

May import: orjson, ``_atomic``, ``io.storage`` and this package's ``read``.
"""
from __future__ import annotations

import os
from pathlib import Path

from liqcore._atomic import replace_durably
from liqcore.dataset.read import MANIFEST

__all__ = ["load", "save", "read_manifest", "selection"]


def load(out) -> dict:
    """The manifest of the dataset at ``out`` (a Path or a URL); ``{}`` when there is none."""
    import orjson

    from liqcore.io import storage

    if storage.is_url(out):
        url = storage.join(out, MANIFEST)
        if not storage.isfile(url):
            return {}
        try:
            return orjson.loads(storage.read_bytes(url))
        except orjson.JSONDecodeError:
            raise ValueError(f"dataset: {storage.display(url)} is not valid JSON") from None
    p = out / MANIFEST
    if not p.is_file():
        return {}
    try:
        return orjson.loads(p.read_bytes())
    except orjson.JSONDecodeError:
        raise ValueError(f"dataset: {p} is not valid JSON") from None


def selection(kinds, symbols, days=None) -> dict | None:
    """The filters of a convert as stored in the manifest (None: the whole file); ``days``: ``(first, last)``
    UTC days ``YYYY-MM-DD`` (a month's file cut to the days asked for)."""
    if not kinds and not symbols and not days:
        return None
    out = {"kind": sorted(set(kinds)) if kinds else None, "symbol": sorted(set(symbols)) if symbols else None}
    if days:
        out["days"] = [str(days[0]), str(days[1])]
    return out


def save(out, manifest: dict) -> None:
    """The dataset's manifest written (object storage: whole in one request, after the partitions)."""
    import orjson

    from liqcore.io import storage

    body = orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    if storage.is_url(out):
        storage.write_bytes(storage.join(out, MANIFEST), body)
        return
    tmp = out / f".{MANIFEST}.tmp{os.getpid()}"
    tmp.write_bytes(body)
    replace_durably(tmp, out / MANIFEST)


def read_manifest(out_dir) -> dict:
    """The dataset's manifest (``MANIFEST``): what was converted into it, keyed by path or, for a file
    fetched from a URL, by the URL; ``{}`` when there is none."""
    from liqcore.io import storage

    return load(out_dir if storage.is_url(out_dir) else Path(out_dir))
