"""The synthetic market: seeded, calibrated ticks for several perpetuals, as events and as wire frames.

* ``market`` -- the generator (:func:`synthetic_market` -> ``Market``; its frames in a venue's wire format are the
  venue's own: its ``samples`` part's ``render_synthetic``);
* ``chunks`` -- a market generated day by day; ``venues`` -- one market seen by several venues;
* ``cache`` -- generated markets kept on disk.

May import: the contract and vocabulary (``types``, ``params``), the kernels (``_jit.synth``, ``_libs``),
``venues`` (instrument tables) and ``cache``; never ``backtest``, ``sweep``, ``research`` or ``live``.
A new effect of the model or a new rendering of the market goes here, as a module of its own.
"""
from __future__ import annotations

from liqcore._lazy import lazy_exports

_LAZY = {
    "synthetic_market": ("liqcore.synthetic.market", "synthetic_market"),
    "Market": ("liqcore.synthetic.market", "Market"),
    "venue_market": ("liqcore.synthetic.venues", "venue_market"),
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
