"""The research plan's studies: one module per study, ``study_<name>(panel, ...)``, run by :func:`run_study`.

Every study says when it cannot run (``res.available``, ``res.reason``) and judges significance with
block bootstraps over time or tests on independent units.  What each measures: docs/how-to/studies.md, "The
studies: `liqcore study NAME`".  ``_common.py`` holds what studies share (units, :class:`Panel`,
:class:`StudyResult`, the bootstrap, OLS) and imports no study.  A study may import ``_common``,
``types``, the feature store, the event study and the layers research builds on (backtest,
strategies, config); never another study, this ``__init__`` or ``commands``.  A new study: one module
``<name>.py`` and its row in :data:`STUDIES` below.
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
