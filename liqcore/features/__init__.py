"""Named point-in-time features: the one feature store that strategies, research and live trading read alike.

``registry`` (names ``family[/all].name@window[:transform]``, the catalogue, :func:`register_feature`),
``store`` (:class:`FeatureStore`, :func:`historical`), ``live`` (:class:`LiveFeatures`), ``book``.
The grammar and families: docs/reference/features.md, "Named features".

May import: numpy, ``types``, ``params``, the kernels, ``execution``,
``instruments``, ``market.wide``, ``venues.registry``, ``io`` and the loader of files and datasets (``dataset.load``); pandas only inside functions; never strategies, backtest,
research or live.  A new built-in family goes in ``registry.py`` (batch in ``store.py``, streaming in
``live.py``, equal bit for bit); a user's own feature is registered with :func:`register_feature`.
"""
from liqcore.features.live import LiveFeatures
from liqcore.features.registry import (
    NAMED_FEATURES, FeatureNameError, parse_name, register_feature, registered_features, unregister_feature,
)
from liqcore.features.store import FeatureStore, historical

__all__ = ["historical", "FeatureStore", "LiveFeatures", "register_feature", "unregister_feature",
           "registered_features", "parse_name", "FeatureNameError", "NAMED_FEATURES"]
