"""What a sweep's cells share in a window-local read (``replay_windows(shared=)`` in :mod:`liqcore.backtest.windows`),
keyed by what each piece depends on: the selection's reads (and what is found in them) by the selection and the
reader's clock parameters alone, detection by the detector's parameters too, the window plan's coverage by every
parameter but the offset, take-profit and stop-loss; so a grid of hold-timeouts (or any strategy parameter) keeps
one memo of reads and one detection, however many values it holds.

May import: the standard library.
"""
from __future__ import annotations


def _detection_key(params, strategy) -> str:
    """What the window plan's coverage (:func:`plan_coverage`) depends on: every parameter but the execution grid's
    offset, take-profit and stop-loss (which only the simulator reads), and the strategy; detection and the reads
    are keyed more narrowly (:func:`_detector_key`, :func:`_selection_key`)."""
    d = {k: v for k, v in params.to_dict().items() if k not in ("offset", "take_profit", "stop_loss")}
    return repr((type(strategy).name, sorted(d.items(), key=lambda kv: kv[0])))


def _selection_key(path, syms: tuple, start_ns, end_ns, params) -> tuple:
    """What a selection's reads depend on (:class:`_Reader`): its place and span, the clock skew and feed latency."""
    return str(path), syms, start_ns, end_ns, params.max_clock_skew_ns, int(params.feed_latency_ns or 0)


def _detector_key(params, strategy) -> str:
    """What detection depends on beyond the selection's reads (:func:`_exact_detection`): the detector's parameters
    (``Params.detector_kwargs``: what :meth:`CascadeDetector.from_params` takes from a Params, whose fields hold no
    plausibility bound: the detector's defaults for every one) and the strategy."""
    return repr((type(strategy).name, sorted(params.detector_kwargs().items(), key=lambda kv: kv[0])))


def _shared(shared: dict | None, k0, name, make):
    """``make()``, or (``shared`` given) what it made under the same key ``k0`` (one of the keys above)."""
    if shared is None:
        return make()
    key = (k0, name)
    if key not in shared:
        shared[key] = make()
    return shared[key]


#: what cells replayed together by one plan (:func:`liqcore.backtest.windows.replay_cells`) may differ in: execution parameters only the
#: simulator reads, and the windows' lengths (every other one -- the reads, detection, the clock -- the same for all)
TOGETHER = ("offset", "take_profit", "stop_loss", "hold_timeout_ns", "entry_timeout_ns", "cooldown_ns", "trail")


def together_key(params, strategy) -> str:
    """What cells replayed together by one plan must share: every parameter but :data:`TOGETHER`, the strategy."""
    d = {k: v for k, v in params.to_dict().items() if k not in TOGETHER}
    return repr((type(strategy).name, sorted(d.items(), key=lambda kv: kv[0])))
