"""Research tools for replays of recorded or synthetic liquidations: point-in-time feature bars
(:func:`features`) and the post-cascade event study (:func:`event_study`, :func:`summarize_study`).

Needs pandas.  Nothing here is imported by ``import liqcore``.
"""
from liqcore.research.features import FEATURE_COLUMNS, features
from liqcore.research.study import event_study, summarize_study

__all__ = ["features", "FEATURE_COLUMNS", "event_study", "summarize_study"]
