"""The research plan's studies: one module per study, each a function
``study_<name>(panel, ...) -> StudyResult``, run by name through :func:`run_study`.

    >>> from liqcore.research.studies import run_study, STUDIES
    >>> res = run_study("contagion", market.events, market.registry)
    >>> res.table            # the main table (pandas)
    >>> res.headline         # the key numbers, plain floats
    >>> res.findings         # plain sentences, including "no effect" when there is none

Every study states when it cannot run ("not available because ..."): ``res.available`` is False,
``res.reason`` says why, and no number is computed from missing inputs.  Significance is judged
with block bootstraps over time (blocks of at least an hour) or with tests on independent units
(days, cells), never with tests that assume independent overlapping returns.

Studies (module = name): ``event`` (post-cascade returns with recovery time, size buckets, hour of
day, regimes), ``ic`` (Spearman IC of features vs forward returns, walk-forward ridge and gradient
boosting), ``heatmap`` (liquidation density by price level, zones, reversal vs break-out against
random levels), ``contagion`` (lead/lag of liquidation rates, conditional cascade probability,
Granger tests), ``volatility`` (liquidation rate vs forward realized volatility against an ATR
baseline), ``oi`` (open-interest changes explained by liquidations; lead/lag), ``microstructure``
(time-of-day/day-of-week clustering, sweeps, absorption), ``strategies`` (the plan's four
strategies backtested through the execution model), ``distributions`` (buy/sell split, liquidation-size
histogram, cascade duration and size distributions), ``lag`` (lead/lag of liquidations against the
1-second return, the "liquidations lag price by 0-5 s" test, the liquidation-to-price-tick delay),
``regimes`` (a two-state hidden-Markov model of volatility and liquidations), ``lead-lag`` (which venue
of one instrument fires first in a cross-venue cascade, in ms, and the venues' price lead).  ``docs/research.md`` describes each.

Layout and rules:

* ``_common.py``: what several studies share: the time units, the input (:class:`Panel`, the
  events split per symbol), the result (:class:`StudyResult`, :func:`unavailable`), the block
  bootstrap, OLS and the number formats.  It imports no study.
* ``<name>.py``: one study, in the same shape: its inputs from the panel -> its tables -> its plots
  (``res.plots``, drawn only when a report asks) -> its findings lines.  A study module imports
  ``_common``, ``liqcore.types``, the feature store and the event study of ``liqcore.research``, and
  the layers research builds on (backtest, strategies, config); never another study module, never
  this package's ``__init__``, never ``liqcore.commands``.
* A new study is one new module ``<name>.py`` with a ``study_<name>`` function, registered in one
  place: the :data:`STUDIES` table below (the CLI's ``liqcore study NAME`` and ``liqcore research``
  read it).
"""
from __future__ import annotations

from liqcore.research.studies._common import (  # noqa: F401  (re-exported: the package's names)
    NS_DAY,
    NS_H,
    NS_MIN,
    NS_S,
    SESSIONS,
    Panel,
    StudyResult,
    block_corr,
    unavailable,
)
from liqcore.research.studies.contagion import study_contagion
from liqcore.research.studies.distributions import study_distributions
from liqcore.research.studies.event import study_event
from liqcore.research.studies.lag import study_lag
from liqcore.research.studies.lead_lag import study_lead_lag
from liqcore.research.studies.heatmap import BIN_LOG, study_heatmap  # noqa: F401
from liqcore.research.studies.ic import (  # noqa: F401
    IC_EXCLUDE,
    IC_EXTRA,
    IC_HORIZONS,
    IC_STEP_NS,
    MODEL_STEP_NS,
    check_ic_names,
    ic_family,
    ic_frame,
    ic_names,
    study_ic,
)
from liqcore.research.studies.microstructure import study_microstructure
from liqcore.research.studies.oi import study_oi
from liqcore.research.studies.regimes import study_regimes
from liqcore.research.studies.strategies import PLAN_STRATEGIES, study_strategies  # noqa: F401
from liqcore.research.studies.volatility import VOL_HORIZONS, study_volatility, vol_frame  # noqa: F401

__all__ = ["StudyResult", "STUDIES", "run_study", "Panel"]

# ------------------------------------------------------------------------------------ registry

STUDIES = {
    "event": study_event,
    "ic": study_ic,
    "heatmap": study_heatmap,
    "contagion": study_contagion,
    "volatility": study_volatility,
    "oi": study_oi,
    "microstructure": study_microstructure,
    "strategies": study_strategies,
    "distributions": study_distributions,
    "lag": study_lag,
    "regimes": study_regimes,
    "lead-lag": study_lead_lag,
}


def run_study(name: str, events_or_panel, registry=None, **kw) -> StudyResult:
    """Run one study by name on events (EVENT_DTYPE) or a :class:`Panel`."""
    if name not in STUDIES:
        raise ValueError(f"study: expected one of {', '.join(STUDIES)}; got {name!r}")
    panel = events_or_panel if isinstance(events_or_panel, Panel) else Panel(events_or_panel, registry,
                                                                           kw.pop("symbols", None))
    kw.pop("symbols", None)
    return STUDIES[name](panel, **kw)
