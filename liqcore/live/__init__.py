"""The live shell: market-data feeds, the engine (detector -> strategy -> orders), the paper gateway and the
choice of a venue's (``gateways``: the venue registry's ``gateway`` part), the order journal and recovery, risk
checks, metrics, the dashboard and the recorder.

May import: the data contract (``liqcore.types``, ``liqcore.validate``), the parameter vocabulary
(``liqcore.config``), the kernels (``_libs``), ``venues`` (wire formats, REST/private clients, order gateways),
the readers (``liqcore.io``, and ``liqcore.dataset.load`` for files and datasets together), ``strategies``,
``backtest`` (the paper core :class:`StrategyCore`, the same fill model as a backtest) and ``research`` (live
features), ``secrets``.  Imported only by ``commands`` (and the user's own scripts); ``venues`` never imports it.

A new venue's order gateway goes to its folder, ``liqcore/venues/<venue>/gateway.py`` (a
:class:`liqcore.venues.gateway_core.VenueGateway` implementing :mod:`liqcore.venues.gateway`'s protocol), beside
its wire knowledge (parsers, endpoints, signing, sample frames); a new engine part (a collaborator of the engine)
is one module here.
"""
