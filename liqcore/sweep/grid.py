"""The parameter grid of a sweep: checking a grid's names and values, telling detector parameters from
execution/strategy ones, expanding a grid into cells (every combination or a random sample) and
reading a TOML grid file.  A cell is a dict of CLI parameter names to values; the sweep machinery
(:mod:`liqcore.sweep.cells`) runs them."""
from __future__ import annotations

import itertools
import math
import random

from liqcore.config import DETECTOR_PARAMS, Params
from liqcore.params import MAX_GRID_CELLS

__all__ = ["validate_grid", "check_cells", "is_detector", "split_grid", "expand_cells", "load_grid_file"]


def _canon(name: str) -> str:
    return str(name).strip().replace("_", "-")


def validate_grid(grid: dict, base: Params | None = None) -> dict[str, list]:
    """Check names and values (each parsed by its parameter's own parser, and checked with the other parameters
    of ``base``: the sweep's own, e.g. ``partial=on`` under its ``--fill queue``); returns name -> values
    with CLI names.  Unknown names, empty lists and an empty grid are ValueErrors.  A value refused only beside
    ``base`` while another grid parameter may make it valid is left to :func:`check_cells` (each cell's whole
    configuration)."""
    if not grid:
        raise ValueError("grid: empty; give at least one parameter with a list of values")
    out: dict[str, list] = {}
    for name, values in grid.items():
        n = _canon(name)
        if not isinstance(values, (list, tuple)):
            values = [values]
        if not values:
            raise ValueError(f"grid: {n!r} has no values")
        if n in out:
            raise ValueError(f"grid: {n!r} given twice")
        seen = set()
        for v in values:
            k = str(v).strip().lower()
            if k in seen:  # (a cell twice: the same row twice, drawn twice by --samples, two trials of the DSR)
                raise ValueError(f"grid: {n!r} gives {v!r} twice")
            seen.add(k)
        for v in values:
            try:
                Params.from_mapping({n: v}, base=base)
            except ValueError as exc:
                if not _valid_beside(n, v, grid, base):
                    raise ValueError(f"grid: {exc}") from None
        if _field(n) in {"feed_latency_ns", "max_clock_skew_ns", "ping_interval_ns", "stall_timeout_ns",
                         "shutdown_timeout_ns"}:
            raise ValueError(f"grid: {n!r} is not a detector, strategy, execution or risk parameter")
        out[n] = list(values)
    return out


def _field(name: str) -> str | None:
    """The Params field a CLI name sets (None: a strategy's own parameter)."""
    from liqcore.params import param_spec

    spec = param_spec(name)
    return None if spec is None else spec.field


def _valid_beside(name: str, value, grid: dict, base: Params | None, most: int = 256) -> bool:
    """Whether ``name=value`` is valid beside some values of the grid's other parameters (over ``base``; the first
    ``most`` combinations): a value only another grid value makes valid (``partial=on`` with ``fill=queue``)."""
    others = [(_canon(k), v if isinstance(v, (list, tuple)) else [v]) for k, v in grid.items() if _canon(k) != name]
    for combo in itertools.islice(itertools.product(*[vals for _k, vals in others]), most):
        try:
            Params.from_mapping({**{k: c for (k, _v), c in zip(others, combo)}, name: value}, base=base)
        except ValueError:
            continue
        return True
    return False


def check_cells(cells: list[dict], base: Params | None = None) -> None:
    """Refuse, in one line naming the first, a cell whose configuration (its grid values over ``base``) is not a
    valid one (``partial=on`` beside ``fill=through``): every cell is what a lone backtest with its values runs."""
    for c in cells:
        try:
            Params.from_mapping(c, base=base)
        except ValueError as exc:
            cell = ", ".join(f"{k}={v}" for k, v in c.items())
            raise ValueError(f"grid: the cell {cell}: {exc}") from None


def is_detector(name: str) -> bool:
    return bool(Params.from_mapping({name: _probe(name)}).explicit & set(DETECTOR_PARAMS))


def _probe(name: str):
    from liqcore.config import PARAMS

    for s in PARAMS:
        if s.name == name:
            return s.default if s.default is not None else "all"
    raise ValueError(f"grid: unknown parameter {name!r}")


def split_grid(grid: dict[str, list]) -> tuple[list[str], list[str]]:
    """(detector names, execution/strategy names) of a validated grid, in grid order."""
    det = [n for n in grid if is_detector(n)]
    return det, [n for n in grid if n not in det]


#: the most cells a grid expands to whole (a grid beyond it is drawn from with ``samples``)
MAX_CELLS = MAX_GRID_CELLS


def expand_cells(grid: dict[str, list], samples: int | None = None, seed: int = 0) -> list[dict]:
    """Every combination (grid order), or ``samples`` distinct combinations drawn at random with
    ``seed`` (all of them when the grid is smaller)."""
    names = list(grid)
    sizes = [len(grid[n]) for n in names]
    total = math.prod(sizes)
    if (samples is None or samples >= total) and total > MAX_CELLS:
        raise ValueError(f"grid: {total:,} cells ({' x '.join(map(str, sizes))}) is more than {MAX_CELLS:,}; "
                         f"draw some of them with --samples N")
    if samples is None or samples >= total:
        return [dict(zip(names, c)) for c in itertools.product(*(grid[n] for n in names))]
    if samples < 1:
        raise ValueError(f"samples: must be >= 1; got {samples}")
    rng = random.Random(seed)
    picks = sorted(rng.sample(range(total), samples))
    out = []
    for k in picks:
        combo = {}
        for n, size in zip(reversed(names), reversed(sizes)):
            k, i = divmod(k, size)
            combo[n] = grid[n][i]
        out.append({n: combo[n] for n in names})
    return out


def load_grid_file(path) -> tuple[dict[str, list], dict]:
    """A TOML grid file: parameters under ``[grid]`` (or at the top level) as lists of values; an
    optional ``[sweep]`` table with ``samples``, ``seed``, ``symbols``, ``start``, ``end``, ``ranges``."""
    from liqcore.config import load_config

    data = load_config(path, flag="--grid")
    grid = data.get("grid", None)
    opts = data.get("sweep", {})
    if grid is None:
        grid = {k: v for k, v in data.items() if not isinstance(v, dict)}
    if not isinstance(grid, dict) or not isinstance(opts, dict):
        raise ValueError(f"grid: {path}: expected a [grid] table of NAME = [values]")
    known = {"samples", "seed", "symbols", "start", "end", "ranges", "split_days"}
    bad = [k for k in opts if k not in known]
    if bad:
        raise ValueError(f"grid: {path}: unknown [sweep] key(s) {', '.join(bad)}; known: {', '.join(sorted(known))}")
    return grid, {k: _sweep_option(path, k, v) for k, v in opts.items()}


def _sweep_option(path, key: str, v):
    """One ``[sweep]`` value in the form the commands take, or a one-line error naming the file and the key:
    ``samples``/``seed`` whole numbers, ``split_days`` a number of days, ``symbols``/``ranges`` a list of texts (a
    comma-separated text too), ``start``/``end`` a time as text (a TOML date or date-time too)."""
    import datetime as dt

    def bad(what):
        return ValueError(f"grid: {path}: [sweep] {key} must be {what}; got {v!r}")

    if key in ("samples", "seed"):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not isinstance(v, int) or isinstance(v, bool):
            raise bad("a whole number")
        return v
    if key == "split_days":
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise bad("a number of days")
        return v
    if key in ("symbols", "ranges"):
        items = v.split(",") if isinstance(v, str) else v
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise bad("a list of texts (or one comma-separated text)")
        return [x.strip() for x in items if x.strip()]
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if not isinstance(v, str):
        raise bad("a time (text, or a TOML date or date-time)")
    return v
