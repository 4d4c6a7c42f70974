"""A dataset selection's names: ``symbols`` and ``venues`` as the readers take them (one name, a comma list or a list
of names; a symbol in another case as the dataset names it).

May import: the standard library.
"""
from __future__ import annotations

__all__ = ["selection_names", "dataset_symbols"]


def selection_names(names, lower: bool = False) -> list[str] | None:
    """A selection's ``symbols`` or ``venues`` as a list of names: a comma list (``"ETHUSDT,BTCUSDT"``) or an iterable
    of names, each stripped (``lower``: lower-cased, as venue names are); None for none.  A string is never read
    as its letters."""
    if names is None:
        return None
    items = names.split(",") if isinstance(names, str) else [str(x) for x in names]
    out = [x.strip().lower() if lower else x.strip() for x in items if x.strip()]
    return out or None


def dataset_symbols(parts, symbols: list[str]) -> list[str]:
    """``symbols`` as the dataset's partitions ``parts`` name them: a name it holds as given, else the one name it
    holds equal to it in any case (``ethusdt`` -> ``ETHUSDT``), else as given (then missing)."""
    have = {p[1] for p in parts}
    out = []
    for x in symbols:
        if x not in have:
            same = [h for h in have if h.upper() == x.upper()]
            x = same[0] if len(same) == 1 else x
        out.append(x)
    return out
