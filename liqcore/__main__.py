import sys

from liqcore.cli import main

sys.exit(main())
