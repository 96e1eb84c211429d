"""How the supervisor starts its parts' processes: each forked from a server that imported them once.

Design rule: light to import (the standard library only; `run_part`, the parts' entry point, imports
their code when a part runs), so that `tdcsim sandbox` can start the
fork server first and let it import the parts while the supervisor imports its own code: on two
cores the two imports overlap, and every part then starts in milliseconds. The
fork server forks before any thread or event loop exists in it, which is what makes forking safe.
A program started from a script file (a bench, `pytest` without xdist, the `tdcsim` console script)
is meant to have its script imported once by the fork server (multiprocessing's `__main__` preload),
but before CPython 3.14 (and its late-2025 3.13 backport) that preload never gets the script's path
(cpython#126631, #137996): each part runs the script again as `__mp_main__` (under `pytest`
~50 ms a part: it imports pytest). A program without a script file (`python -m`, pytest-xdist's
workers) has nothing to run again.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket

    from simulator.sandbox.roles import Role

#: What the fork server imports once, before it forks any part. `__main__`: the starting program's
#: script, if it is one (`python -m` has none; see the module's docstring for the versions where
#: multiprocessing ignores it), which each part would otherwise import again. The
#: parts' code (`child.py` and what it imports), which the supervisor never loads (`roles.py`). The
#: last two are imported on first use by every part (OpenSSL's backend by its first TLS context, the
#: IDNA codec by its first host name).
PRELOAD = ["__main__", "simulator.sandbox.child", "cryptography.hazmat.backends.openssl", "encodings.idna"]


def context() -> ForkServerContext:
    """The multiprocessing context the parts are started with."""
    chosen = multiprocessing.get_context("forkserver")
    chosen.set_forkserver_preload(PRELOAD)
    return chosen


def run_part(role: Role, control: socket.socket) -> None:
    """A part's process: multiprocessing's target, named here so that the supervisor need not import
    the part's code (`child.main`, which the fork server the part is forked from has imported)."""
    from simulator.sandbox import child

    child.main(role, control)


def warm_up() -> None:
    """Start the fork server now (it imports `PRELOAD` in the background)."""
    context()
    forkserver.ensure_running()
