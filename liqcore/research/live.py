"""The old import path of :mod:`liqcore.features.live` (the named feature store moved to
:mod:`liqcore.features`, below strategies, research and live).  Re-exports every name of the new
module, private ones included, for one release; import from :mod:`liqcore.features.live` instead."""
from liqcore.features import live as _moved

globals().update({k: v for k, v in vars(_moved).items() if not k.startswith("__")})
__all__ = list(getattr(_moved, "__all__", ()))
