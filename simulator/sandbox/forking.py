"""How the supervisor starts its parts' processes: each forked from a server that imported them once.

Design rule: light to import (the standard library only), so that `tdcsim sandbox` can start the
fork server first and let it import the parts while the supervisor imports the admin API and the
console: on two cores the two imports overlap, and every part then starts in milliseconds. The
fork server forks before any thread or event loop exists in it, which is what makes forking safe.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext

#: What the fork server imports once, before it forks any part.
PRELOAD = ["simulator.sandbox.child"]


def context() -> ForkServerContext:
    """The multiprocessing context the parts are started with."""
    chosen = multiprocessing.get_context("forkserver")
    chosen.set_forkserver_preload(PRELOAD)
    return chosen


def warm_up() -> None:
    """Start the fork server now (it imports `PRELOAD` in the background)."""
    context()
    forkserver.ensure_running()
