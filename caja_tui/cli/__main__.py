"""`python -m caja_tui.cli`: the `caja` command."""

import sys

from . import main

sys.exit(main())
