"""The command line's sub-commands: one module per command (``liqcore <name>``), each exposing
``add_arguments(parser)`` and ``run(args) -> int``; ``inputs.py`` (recordings or a synthetic
market, and the filters), ``outputs.py`` and ``_scale.py`` are the helpers every command shares.

May import: anything in the package (it is the top layer); a command never imports another
command's module, only the shared helpers.  Nothing in ``liqcore`` imports ``commands`` except
``liqcore.cli``, which loads a command's module only when that command runs.

A new command goes here as ``<name>.py`` and one row in ``liqcore.cli.COMMANDS`` (its one-line help
in ``liqcore.cli._HELP``); its parameters come from ``liqcore.config.add_param_arguments``.
"""
