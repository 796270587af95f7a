"""``python -m newswatch``: the command line, as the ``newswatch`` script runs it."""

import sys

from newswatch.cli import main

sys.exit(main())
