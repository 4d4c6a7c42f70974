"""Venue wire knowledge: one sub-package per exchange (``bybit/``, ``binance/``, ``okx/``) holding
its frame parsers, stream specs, REST and private-stream clients and signing; plus what the venues
share (``common.py``: the sink and coercions; ``numbers.py``: the one reading of a venue's number;
``spec.py``: connection specs; ``orders.py``: fill and order-update records; ``instruments.py``;
``decoder.py``: the live decoder with its compiled fast path ``_scan.pyx``; the order gateways' shared
machinery: ``gateway.py``, the protocol the engine calls, ``gateway_core.py``, the core every venue's
``<venue>/gateway.py`` subclasses, ``ratelimit.py``).

May import: the data contract (``liqcore.types``, ``liqcore.validate``) and ``liqcore.secrets``
only -- never ``live``, ``backtest``, ``strategies`` or ``commands``.  Imported by the readers
(``liqcore.io``, ``liqcore.dataset``), ``backtest``, ``live`` and ``commands``.

A new venue is a new folder ``venues/<venue>/`` (parse, stream, rest; the raw frame it parses in
each parser's docstring) with its spec registered in the venue registry (``registry.py``), or a package of
its own registered through the ``liqcore.venues`` entry point group; the shared modules here find a venue's
parts through the registry and never import a venue's folder.  A new message of a known venue goes into
that venue's ``parse.py``.
"""
