"""``python -m newswatch.cli``: the command line, as the ``newswatch`` script runs it."""

import sys

from newswatch.cli import main

sys.exit(main())
