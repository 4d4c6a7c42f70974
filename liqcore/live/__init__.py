"""The live shell: market-data feeds, the engine (detector -> strategy -> orders), the venue
gateways (paper, Bybit, Binance), the order journal and recovery, risk checks, metrics, the
dashboard and the recorder.

May import: the data contract (``liqcore.types``, ``liqcore.validate``), the parameter vocabulary
(``liqcore.config``), the kernels (``_libs``), ``venues`` (wire formats, REST/private clients), the
readers (``liqcore.io``, and ``liqcore.dataset.load`` for files and datasets together), ``strategies``, ``backtest`` (the paper core :class:`StrategyCore`, the
same fill model as a backtest) and ``research`` (live features), ``secrets``.  Imported only by
``commands`` (and the user's own scripts); ``venues`` never imports it.

A new venue gateway goes here as ``<venue>_gateway.py`` implementing :mod:`liqcore.venues.gateway`'s
protocol, while the venue's wire knowledge (parsers, endpoints, signing, sample frames) goes to
``liqcore/venues/<venue>/``; a new engine part (a collaborator of the engine) is one module here.
"""
