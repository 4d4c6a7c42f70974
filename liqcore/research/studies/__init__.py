"""The research studies (a package being split into one module per study; see ``ic``)."""
from liqcore.research.studies import ic as _ic

globals().update({k: v for k, v in vars(_ic).items() if not k.startswith("__")})
__all__ = _ic.__all__
