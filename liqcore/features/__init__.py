"""Named point-in-time features: the one feature store that strategies, research and live trading
read alike.

* :mod:`~liqcore.features.registry` -- feature names (``family[/all].name@window[:transform]``), the
  built-in catalogue, user registration (:func:`register_feature`).
* :mod:`~liqcore.features.store` -- :class:`FeatureStore` / :func:`historical`: any named feature at
  any times, exactly as it was knowable (batch, over a recording or a synthetic market).
* :mod:`~liqcore.features.live` -- :class:`LiveFeatures`: the same numbers kept current from a stream.

May import: numpy, :mod:`liqcore.types`, :mod:`liqcore.signals`, :mod:`liqcore.config`, the kernels
(``liqcore._jit``, ``liqcore._libs``), :mod:`liqcore.execution` (detection, receive order) and, for
reading recordings, :mod:`liqcore.io`; pandas only inside the functions that return tables.  Never
strategies, backtest, research or live (``tests/test_layering.py`` checks it).  Studies and reports
built on the features stay in :mod:`liqcore.research`.

A new built-in feature family or name goes in ``registry.py`` (with its batch computation in
``store.py`` and its streaming one in ``live.py``, which must agree bit for bit); a user's own feature
is registered with :func:`register_feature`, not added here.
"""
from liqcore.features.live import LiveFeatures
from liqcore.features.registry import (
    NAMED_FEATURES, FeatureNameError, parse_name, register_feature, registered_features, unregister_feature,
)
from liqcore.features.store import FeatureStore, historical

__all__ = ["historical", "FeatureStore", "LiveFeatures", "register_feature", "unregister_feature",
           "registered_features", "parse_name", "FeatureNameError", "NAMED_FEATURES"]
