"""Research tools for replays of recorded or synthetic liquidations: named point-in-time features
(:func:`historical`, :class:`FeatureStore`, :class:`LiveFeatures`, :func:`register_feature`,
:func:`leak_audit`), point-in-time feature bars (:func:`features`) and the post-cascade event study
(:func:`event_study`, :func:`summarize_study`).

Needs pandas.  Nothing here is imported by ``import liqcore``.

May import: the data contract (``liqcore.types``), the parameter vocabulary (``liqcore.config``),
the kernels (``_libs``, ``_jit``), the readers (``liqcore.io``), ``strategies`` and ``backtest``.
Imported by ``live`` (live features), ``strategies`` (named features) and ``commands``.

A new named feature goes into the feature registry (:mod:`liqcore.features.registry`, :func:`register_feature`); a
new study is one module in the studies package (``studies/``) with the same shape as the others
(inputs -> table -> plot -> findings lines) and one row in its ``STUDIES`` table.
"""
from liqcore.research.audit import AuditResult, leak_audit
from liqcore.research.features import FEATURE_COLUMNS, features
from liqcore.features.live import LiveFeatures
from liqcore.features.registry import (
    NAMED_FEATURES, FeatureNameError, parse_name, register_feature, registered_features, unregister_feature,
)
from liqcore.features.store import FeatureStore, historical
from liqcore.research.study import event_study, summarize_study

__all__ = ["features", "FEATURE_COLUMNS", "event_study", "summarize_study", "historical", "FeatureStore",
           "LiveFeatures", "register_feature", "unregister_feature", "registered_features", "parse_name",
           "FeatureNameError", "NAMED_FEATURES", "leak_audit", "AuditResult"]
