"""`python -m simulator.cli`: the same as the `tdcsim` command."""

from __future__ import annotations

import sys

from simulator.cli.main import main

sys.exit(main())
