"""How the supervisor starts its parts' processes: each forked from a server that imported them once.

Design rule: light to import (the standard library only), so that `tdcsim sandbox` can start the
fork server first and let it import the parts while the supervisor imports its own code: on two
cores the two imports overlap, and every part then starts in milliseconds. The
fork server forks before any thread or event loop exists in it, which is what makes forking safe.
A program started from a script file (a bench, `pytest` without xdist) has its script imported once
by the fork server, not again by every part (multiprocessing's `__main__` preload).
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext

#: What the fork server imports once, before it forks any part. `__main__`: the starting program's
#: script, if it is one (`python -m` has none), which each part would otherwise import again. The
#: parts' code, which the supervisor never loads (`child.py`). The last two are imported on first use
#: by every part (OpenSSL's backend by its first TLS context, the IDNA codec by its first host name).
PRELOAD = ["__main__", "simulator.sandbox.child", "simulator.sandbox.parts",
           "cryptography.hazmat.backends.openssl", "encodings.idna"]


def context() -> ForkServerContext:
    """The multiprocessing context the parts are started with."""
    chosen = multiprocessing.get_context("forkserver")
    chosen.set_forkserver_preload(PRELOAD)
    return chosen


def warm_up() -> None:
    """Start the fork server now (it imports `PRELOAD` in the background)."""
    context()
    forkserver.ensure_running()
