"""``python -m liqcore``: the command line (:func:`liqcore.cli.main`).  Importing this module runs nothing
(a documentation tool or a test may import every module of the package)."""
import os
import signal
import sys


def _early_interrupt(signum, frame):  # Ctrl-C while the command line loads: nothing has started
    os.write(2, b"liqcore: interrupted\n")
    os._exit(130)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, _early_interrupt)

    from liqcore.cli import main  # noqa: E402  (after the handler: importing takes a moment)

    sys.exit(main())
