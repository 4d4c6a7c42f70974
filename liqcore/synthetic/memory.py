"""How much memory a synthetic market takes, told before any of it is made (:func:`check_fits`), against how
much this process may still take (:func:`available_bytes`): a length that cannot fit is refused in one line
instead of dying in a ``MemoryError`` deep in the generator (``--days 5000``: 13.3 GiB of uniforms asked for
one symbol alone, a 43-line traceback).

The estimate of a market made whole (:func:`liqcore.synthetic.market.synthetic_market`,
:func:`liqcore.synthetic.venues.venue_market`): the generator's working set for its largest symbol (the
uniforms and the row and episode buffers :func:`liqcore.synthetic.market.simulate_symbol` allocates, sized by
:func:`buffer_sizes`, the sizes it uses) plus :data:`ROW_BYTES` for each row of every symbol's row buffer (the
columns kept, the assembled events, and what a command holds of them besides).

May import: the standard library and ``_jit`` (the generator kernel's parameter indices).
"""
from __future__ import annotations

import math
import os

__all__ = ["ROW_BYTES", "MarketTooLarge", "buffer_sizes", "market_bytes", "available_bytes", "check_fits"]

#: bytes a command holds per row of the generator's row buffers, beyond the largest symbol's working set:
#: measured on ``liqcore backtest --synthetic --days D`` (5 symbols, a new cache; 244,000 rows of the buffers a
#: day): D = 16 and 64, address space (VmPeak) 1.02 and 1.99 GB, 20.2 MB a day, less the working set's 4.6 MB a
#: day: 64 B a row; resident (VmHWM) 22.4 MB a day: 73 B a row; under ``ulimit -v 4000000`` D = 140 peaks at
#: 3.15 GB and D = 166 at 3.93 GB (a buffer doubled on the way: not linear), so 80 B, a margin above both.
#: What it is made of: the kept columns (30 B a row, views of the buffers), the millisecond times (8), the
#: concatenated columns (26), the events (40 B an event, 0.75 events a row)
ROW_BYTES = 80
#: bytes of one row of the generator's row buffers (times, price, qty, side, kind, episode) and of one
#: episode (start, end, side, continues, notional, n, half-life): the arrays simulate_symbol allocates
_BUFFER_ROW, _EPISODE = 8 + 8 + 8 + 1 + 1 + 4, 8 + 8 + 1 + 1 + 8 + 4 + 8


class MarketTooLarge(ValueError):
    """A synthetic market that cannot fit in the memory this process may still use (a ValueError: the
    command line says it in one line)."""


def buffer_sizes(p, n_ext: int = 0) -> tuple[int, int, int]:
    """``(uniforms, rows, episodes)``: the sizes :func:`liqcore.synthetic.market.simulate_symbol` first
    allocates for the parameter vector ``p`` (``n_ext``: externally scheduled shocks), from the rates it
    bounds (a run that needs more doubles them; the bounds are set so that a run rarely does)."""
    from liqcore._jit import synth as k

    t_end = p[k.T_END]
    fmax = 1.0 + p[k.DIURNAL_A]
    base_rate = (p[k.MU_B] / (1.0 - p[k.ETA_B]) + p[k.RATE_T] + p[k.MU_S] * 20.0) * fmax
    steps = t_end * (base_rate * 1.3 + 1.0 / p[k.MARK_DT]) + 1000.0
    n_u = int(steps * 5.0) + 4096
    cap = int(t_end * (base_rate + 1.0 / p[k.MARK_DT] + 1.0 / p[k.FUND_DT])) + 4096
    max_ep = int(p[k.MU_S] * t_end * fmax * 2.0) + 64 + int(n_ext)
    return n_u, cap, max_ep


def market_bytes(params, n_ext: int = 0, row_bytes: int = ROW_BYTES) -> int:
    """Bytes of a market made whole from ``params`` (symbol -> parameter vector): the largest symbol's
    working set (uniforms, row and episode buffers) plus ``row_bytes`` per row buffered over every symbol."""
    work, rows = 0, 0
    for p in params.values():
        n_u, cap, max_ep = buffer_sizes(p, n_ext)
        work = max(work, 8 * n_u + _BUFFER_ROW * cap + _EPISODE * max_ep)
        rows += cap
    return int(work + row_bytes * rows)


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _meminfo_kb(*fields: str) -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            got = {ln.split(":")[0]: int(ln.split()[1]) for ln in fh if ln.split(":")[0] in fields}
    except (OSError, ValueError, IndexError):
        return None
    return sum(got.values()) if len(got) == len(fields) else None


def _cgroup_headroom() -> int | None:
    """Bytes the process's cgroup (v2) may still take: ``memory.max`` less ``memory.current``; None without one."""
    try:
        with open("/proc/self/cgroup") as fh:
            rel = next((ln.strip().split("::", 1)[1] for ln in fh if ln.startswith("0::")), None)
        if rel is None:
            return None
        base = os.path.join("/sys/fs/cgroup", rel.lstrip("/"))
        with open(os.path.join(base, "memory.max")) as fh:
            cap = fh.read().strip()
        if cap == "max":
            return None
        with open(os.path.join(base, "memory.current")) as fh:
            return max(0, int(cap) - int(fh.read().strip()))
    except (OSError, ValueError, StopIteration):
        return None


def available_bytes() -> tuple[int | None, str]:
    """``(bytes, what bounds them)``: the memory this process may still take, the least of its address-space
    limit less the address space it holds (``ulimit -v``; ``resource.getrlimit(RLIMIT_AS)``), the machine's
    available memory and free swap (/proc/meminfo), and its control group's limit less its use; ``(None, "")``
    where none of these can be read."""
    bounds = []
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and soft > 0:
            held = (_status_kb("VmSize") or 0) * 1024
            bounds.append((max(0, soft - held), "its address-space limit, ulimit -v"))
    except (ImportError, OSError, ValueError):
        pass
    mem = _meminfo_kb("MemAvailable", "SwapFree")
    if mem is not None:
        bounds.append((mem * 1024, "the memory and swap free on this machine"))
    cg = _cgroup_headroom()
    if cg is not None:
        bounds.append((cg, "its control group's memory limit"))
    return min(bounds) if bounds else (None, "")


def _size(n: float) -> str:
    if n >= 1e6 * (1 << 30):  # (a length typed as 1e30 days: 8.49e+27 GiB, not its 28 digits)
        return f"{n / (1 << 30):.3g} GiB"
    for unit, f in (("GiB", 1 << 30), ("MiB", 1 << 20)):
        if n >= f:
            return f"{n / f:.1f} {unit}"
    return f"{n / 1024:.0f} KiB"


def check_fits(params, days: float, what: str | None = None, *, n_ext: int = 0, row_bytes: int = ROW_BYTES,
               copies: int = 1, option: str = "days") -> int:
    """The bytes a market of ``params`` (symbol -> parameter vector, ``days`` long; ``what``: its name in the
    message) takes (``copies`` at once: concurrent workers), or :class:`MarketTooLarge` naming the estimate, the memory left and the longest length
    that fits, when it cannot fit in :func:`available_bytes`.  Nothing of the market is allocated before."""
    need = market_bytes(params, n_ext, row_bytes) * max(1, int(copies))
    avail, why = available_bytes()
    if avail is None or need <= avail:
        return need
    per_day = need / days
    fit = avail / per_day if per_day > 0 else 0.0
    fit = math.floor(fit) if fit >= 1 else math.floor(fit * 100) / 100
    what = what or f"synthetic market of {len(params)} symbol(s)"
    many = f" ({copies} at once)" if copies > 1 else ""
    raise MarketTooLarge(
        f"{option}: a {days:g}-day {what}{many} needs about {_size(need)} of memory "
        f"({_size(per_day)} a day), more than the {_size(avail)} this process can still use ({why}); "
        + (f"at most {fit:g} days fit" if fit > 0 else "none fits"))
