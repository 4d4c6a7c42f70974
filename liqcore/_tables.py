"""Rich tables that keep their title on one line: a table narrower than its title (two symbol columns
under "backtest summary (rows: metrics; columns: all symbols, then each symbol)") wrapped the title to the
table's width, cutting the header mid-phrase.  :func:`titled_table` makes the table at least as wide as its
title (the console's width still caps it: a title longer than the screen wraps, as any line does)."""
from __future__ import annotations


#: the caption of a table with notional columns: what they are and their unit
NOTIONAL_UNIT = ("notional: price x quantity, in the symbol's quote currency (USDT on USDT-margined contracts, "
                 "USD on coin-margined ones)")


def titled_table(title: str, **kw):
    """``rich.table.Table(title=title, **kw)`` at least ``len(title)`` characters wide."""
    from rich.table import Table

    kw.setdefault("min_width", len(title))
    return Table(title=title, **kw)


def fit_table(console, table):
    """``table`` without its left and right edges (the outer border and the padding beside it: four characters)
    where it is wider than ``console`` with them and no wider without: at 80 columns (a pipe, a file, a
    terminal of that width) the backtest summary of five symbols cut its label ``fills/orders`` to
    ``fills/ord…``.  A table that fits, or one that does not fit either way, is left as it is -> ``table``."""
    from rich.measure import Measurement

    def width() -> int:
        return Measurement.get(console, console.options.update(max_width=1 << 16), table).maximum

    if table.show_edge and width() > console.width:
        table.show_edge = False
        if width() > console.width:
            table.show_edge = True
    return table
