"""Running the cascade detector once over an event array, and :func:`confirmed_records`: the one
place the CONFIRMED records (the ones strategies and the execution model act on) are taken."""
from __future__ import annotations

import numpy as np

from liqcore.types import CASCADE_DTYPE, RecordKind

__all__ = ["detect", "confirmed_records"]


def detect(events: np.ndarray, params, detector=None) -> tuple[np.ndarray, dict]:
    """Run the cascade detector ONCE over ``events`` (batch path); returns (records, counts).
    ``params``: a :class:`liqcore.Params` (the detector's parameters); ``detector``: an object with
    ``run(events, flush)`` (default: the compiled CascadeDetector built from ``params``)."""
    if detector is None:
        try:
            from liqcore._libs.detection import CascadeDetector
        except ImportError as exc:  # pragma: no cover - unbuilt extension
            raise ValueError(f"detector: the compiled CascadeDetector is not built ({exc}); "
                             "run `python setup.py build_ext --inplace`") from None
        detector = CascadeDetector.from_params(params)
    records, counts = detector.run(events, flush=True)
    return np.asarray(records, dtype=CASCADE_DTYPE), dict(counts)


def confirmed_records(records: np.ndarray, *, ordered: bool = False) -> np.ndarray:
    """The CONFIRMED rows of ``records`` (CASCADE_DTYPE; a new array).  ``ordered``: in decision
    order, by (``confirm_recv_ns``, ``event_index``), as the execution model replays them."""
    rec = np.asarray(records, dtype=CASCADE_DTYPE)
    rec = rec[rec["record"] == int(RecordKind.CONFIRMED)]
    if ordered:
        rec = rec[np.lexsort((rec["event_index"], rec["confirm_recv_ns"]))]
    return rec
